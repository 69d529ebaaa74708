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

#endif
