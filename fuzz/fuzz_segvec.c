/* fuzz_segvec.c — libFuzzer target for the index's per-segment vectors reader
 * (fr__vecs_view, src/index/vectors.c; used by src/index/segvec.c to map seg_<n>_<id>.frv):
 * arbitrary bytes must give a clean error or a zero-copy matrix whose rows all lie inside the
 * input, which is then searched without reading out of bounds. Run unverified (the CRC would reject nearly every mutation), as an index opened
 * with verify_checksums = 0 does, and once verified. Seeds: fuzz/corpus/segvec/ (version 1
 * files, and version 2 with an int8 transform: *_xform.bin). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "index/vectors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *b = malloc(size + 1);  // an exact-size copy, so ASan sees any overread
    if (!b) return 0;
    memcpy(b, data, size);
    for (int verify = 0; verify < 2; verify++) {
        fr_vecs *v = NULL;
        fr_vecs_meta meta;
        fr_error err;
        if (fr__vecs_view(b, size, "fuzz", verify, &v, &meta, &err) != 0) continue;
        int dim = fr_vecs_dim(v);
        float *q = calloc((size_t)dim, sizeof *q);
        if (q) {
            q[0] = 1;
            fr_vec_hit hits[4];
            size_t n;
            if (fr_vecs_search(v, q, 4, 1, hits, &n, &err) != 0 || n > fr_vecs_count(v)) abort();
            if (fr__vecs_type(v) > FR_VEC_I8_REFINE || strlen(meta.model) >= sizeof meta.model) abort();
        }
        free(q);
        fr__vecs_view_free(v);
    }
    free(b);
    return 0;
}
