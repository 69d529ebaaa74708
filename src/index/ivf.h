/* ivf.h — library-internal interface of src/index/ivf.c, the approximate dense index (an
 * inverted file over a spherical k-means coarse quantiser) kept beside a segment's vectors
 * file. The file format and the choices behind it are documented in ivf.c.
 */
#ifndef FR_INDEX_IVF_H
#define FR_INDEX_IVF_H

#include "base/base.h"

typedef struct fr__ivf fr__ivf;

// Segments with fewer rows stay exact (no .ivf): their scan costs less than the centroids'.
// A variable so that tests can build IVFs over small segments.
extern uint32_t fr__ivf_min_rows;
#define FR__IVF_MIN_ROWS 50000
// nprobe of queries that do not choose one (fr_search_opts.nprobe -1): see ivf.c.
#define FR__IVF_NPROBE_DEFAULT FR_IVF_NPROBE_DEFAULT

// The number of lists for n rows when the index asks for "auto" (ivf.c says why).
uint32_t fr__ivf_auto_lists(size_t n);

// Trains nlist centroids on v's rows (nlist 0: fr__ivf_auto_lists; clamped to the row count),
// assigns every row and writes the index to path as <path>.pending → fsync → rename → directory
// fsync (the fsyncs only when sync). frv_crc is the CRC32 trailer of the vectors file it
// indexes: the tag a reader checks. Deterministic for given rows and nlist.
int fr__ivf_build(const fr_vecs *v, uint32_t nlist, uint32_t frv_crc, const char *path, int sync,
                  fr_error *err);

// Validates an .ivf image (magic, sizes, list offsets, row ids; the CRC when verify) and checks
// that it indexes v (rows, dim, type) as written with the vectors file whose CRC32 trailer is
// frv_crc. The result points INTO data, which must outlive it. OUT: *out (fr__ivf_free).
// Errors: FR_EFORMAT (not an IVF file / malformed), FR_ECORRUPT (checksum, or another vectors
// file's index), FR_ENOMEM.
int fr__ivf_view(const void *data, size_t len, const char *name, int verify, const fr_vecs *v,
                 uint32_t frv_crc, fr__ivf **out, fr_error *err);
void fr__ivf_free(fr__ivf *ivf);   // NULL is a no-op
uint32_t fr__ivf_lists(const fr__ivf *ivf);

// The best k of the rows in the nprobe lists whose centroids score highest against q
// (nprobe >= lists: every row, i.e. exactly fr_vecs_search), scored by fr__vecs_search_ids on
// `threads` threads; the first call copies the rows list by list (thread-safe, the copy lives
// with ivf). v must be the matrix the view was checked against. OUT: out (k), *n_out
// (fewer than k when the probed lists hold fewer rows), *n_scanned (rows scored; may be NULL).
int fr__ivf_search(const fr__ivf *ivf, const fr_vecs *v, const float *q, size_t k, uint32_t nprobe,
                   int threads, fr_vec_hit *out, size_t *n_out, size_t *n_scanned, fr_error *err);

#endif
