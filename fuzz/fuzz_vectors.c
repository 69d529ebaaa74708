/* fuzz_vectors.c — libFuzzer target for the vectors file reader (fr_vecs_load_mem,
 * src/index/vectors.c): arbitrary bytes must give a clean error or a matrix that searches
 * without reading out of bounds. The CRC would reject nearly every mutation, so the target
 * also rewrites the trailing CRC to match, reaching the structural checks.
 * Seeds: fuzz/corpus/vectors/ (version 2 files, with an int8 transform in *_xform.bin, and
 * version 1 files *_v1.bin; tests/test_vectors.c writes them with FR_WRITE_SEEDS=1). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "finerank.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    for (int fix = 0; fix < 2; fix++) {
        uint8_t *b = malloc(size + 1);
        if (!b) return 0;
        memcpy(b, data, size);
        if (fix && size >= 4) {
            uint32_t c = (uint32_t)crc32(crc32(0L, Z_NULL, 0), b, (uInt)(size - 4));
            memcpy(b + size - 4, &c, 4);
        }
        fr_vecs *v = NULL;
        fr_vecs_meta meta;
        fr_error err;
        if (fr_vecs_load_mem(b, size, "fuzz", &v, &meta, &err) == 0) {
            int dim = fr_vecs_dim(v);
            float *q = calloc((size_t)dim, sizeof *q);
            fr_vec_hit hits[4];
            size_t n;
            if (q) {
                q[0] = 1;
                if (fr_vecs_search(v, q, 4, 1, hits, &n, &err) != 0 || n > fr_vecs_count(v)) abort();
                if (strlen(meta.model) >= sizeof meta.model) abort();
            }
            free(q);
            fr_vecs_free(v);
        }
        free(b);
    }
    return 0;
}
