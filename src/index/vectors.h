/* vectors.h — library-internal parts of src/index/vectors.c (the file format is documented
 * there): zero-copy views over a mapped vectors file, durable writes with the index's sync
 * setting, and streamed row copies for merges. The index keeps one such file per segment
 * (src/index/segvec.c).
 */
#ifndef FR_INDEX_VECTORS_H
#define FR_INDEX_VECTORS_H

#include "base/base.h"

// Validates a vectors file image (magic, version, type, dim, sizes; the CRC when verify) and
// returns a matrix whose rows point INTO data: data must outlive it, and it must never be
// added to. OUT: *out (free with fr__vecs_view_free), *meta when not NULL.
int fr__vecs_view(const void *data, size_t len, const char *name, int verify, fr_vecs **out,
                  fr_vecs_meta *meta, fr_error *err);
void fr__vecs_view_free(fr_vecs *v);   // NULL is a no-op; does not touch the mapping

// fr_vecs_save with a choice of sync (0: no fsync of the file or directory, for indexes
// opened with sync off).
int fr__vecs_write(const fr_vecs *v, const char *path, const fr_vecs_meta *meta, int sync,
                   fr_error *err);

// The rows of src[0..n_src) not set in del[s] (bitmaps, NULL: keep all), in order, as one
// file written as fr__vecs_write does; rows are copied unchanged (int8 rows keep their
// scales: a merge never re-quantises) and streamed, never gathered in memory.
int fr__vecs_write_rows(const fr_vecs *const *src, const uint8_t *const *del, uint32_t n_src,
                        const char *path, const fr_vecs_meta *meta, int sync, fr_error *err);

fr_vec_type fr__vecs_type(const fr_vecs *v);

// ---- the int8 transform (vectors.c's header) ----
// fr_vecs_add fits it to the first rows added to an empty int8 matrix when they are at least
// this many (and keeps it only where it lowers the estimated score error); fewer leave none
// (mu = 0, w = 1).
#define FR__VECS_FIT_MIN 16
// Gives the empty int8 matrix dst src's transform (none when src has none); FR_EINVAL when dst
// has rows or a transform, or no int8 rows, or dims differ.
int fr__vecs_xform_copy(fr_vecs *dst, const fr_vecs *src, fr_error *err);
uint32_t fr__vecs_fit_n(const fr_vecs *v);  // rows the transform was fitted on; 0: none
// OUT: *mu, *w (dim floats each, living as long as v), both NULL when v has no transform.
void fr__vecs_xform(const fr_vecs *v, const float **mu, const float **w);
// 1 when a and b quantise the same way (both untransformed, or equal mu and w bit for bit).
int fr__vecs_same_xform(const fr_vecs *a, const fr_vecs *b);

// The query side of an int8 scan over v's rows (I8, I8_RESCORE, I8_REFINE: the scan's scores,
// before the rescoring those two do in fr_vecs_search), computed here and only here
// (fr_vecs_search and any other scan of these rows use it): qq (stride int16s, caller's) is
// q ⊙ w quantised to int16 as documented in vectors.c. OUT: *qscale, *bias. Row r then scores
//     s = (float)dot(qq, q8[r]) * (*qscale * scale[r]);   s += *bias when fr__vecs_fit_n(v) > 0
// (bias = q·mu, the same for every row of v but not across matrices: scores of different
// matrices stay comparable only with it). FR_EINVAL when q ⊙ w overflows; FR_ENOMEM.
int fr__vecs_query_i8(const fr_vecs *v, const float *query, int16_t *qq, float *qscale, float *bias,
                      fr_error *err);
// A copy of rows ids[0..n) of v in that order (each < fr_vecs_count(v)), as stored: no
// re-quantisation, so every row scores exactly as in v. Of I8_RESCORE rows only the int8 part
// (type I8: what the scan reads; rescoring reads v's float rows). Any per-row or per-matrix
// data the scan uses must be copied here too. OUT: *out (fr_vecs_free).
int fr__vecs_gather(const fr_vecs *v, const uint32_t *ids, size_t n, fr_vecs **out, fr_error *err);

typedef struct fr__vecs_range { uint32_t lo, hi; } fr__vecs_range;  // rows [lo, hi)

// fr_vecs_search(orig, ...) restricted to some of its rows, read from copy =
// fr__vecs_gather(orig, map, ...): scans rows [lo, hi) of each range of copy (contiguous, so at
// the speed of the full scan), with the same query preparation, kernels and scores; a hit's id
// is map[row] and ties order by it, I8_RESCORE candidates are rescored with orig's float rows.
// So the hits are the best k of those rows of orig exactly as fr_vecs_search orders them,
// whatever the thread count. The list scan of an IVF index (src/index/ivf.c).
int fr__vecs_search_gathered(const fr_vecs *orig, const fr_vecs *copy, const uint32_t *map,
                             const fr__vecs_range *rg, size_t n_rg, const float *query, size_t k,
                             int threads, fr_vec_hit *out, size_t *n_out, fr_error *err);
// Row r as floats (dim): F32 rows as stored, int8 rows dequantised (q · scale). For k-means.
void fr__vecs_row_f32(const fr_vecs *v, size_t r, float *out);

#endif
