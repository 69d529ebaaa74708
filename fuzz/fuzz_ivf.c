/* fuzz_ivf.c — libFuzzer target for the IVF index reader (fr__ivf_view, src/index/ivf.c):
 * arbitrary bytes must give a clean error, or an index whose searches stay in bounds. The
 * reader checks an .ivf against the vectors it indexes, so the target builds a matrix of the
 * shape the header claims (small shapes only) and passes the header's own tag: mutations then
 * reach the structural checks. Each input runs as is and with its trailing CRC rewritten to
 * match, with and without checksum verification.
 * Seeds: fuzz/corpus/ivf/, written by this file's generator over the same rows:
 *   cc -DFUZZ_IVF_SEEDS -std=c11 -D_GNU_SOURCE -Iinclude -Isrc fuzz/fuzz_ivf.c \
 *      build/libfinerank.a $(pkg-config --libs openblas jansson libutf8proc libpcre2-8 zlib) \
 *      -lstemmer -lm -lpthread -o /tmp/gen_ivf && /tmp/gen_ivf fuzz/corpus/ivf
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "finerank.h"
#include "index/ivf.h"

// n deterministic rows of dim floats (a few directions with a wobble) as type. OUT: *out.
static int make_rows(uint32_t dim, uint64_t n, uint32_t type, fr_vecs **out) {
    *out = NULL;
    if (!dim || dim > 64 || !n || n > 4096 || type > FR_VEC_I8_REFINE) return -1;
    float *x = malloc((size_t)n * dim * sizeof *x);
    if (!x) return -1;
    for (uint64_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < dim; j++)
            x[i * dim + j] = (float)sin((double)((i % 7) * 13 + j) + 0.01 * (double)i);
    int rc = fr_vecs_new((int)dim, (fr_vec_type)type, out, NULL);
    if (rc == 0) rc = fr_vecs_add(*out, x, (size_t)n, NULL);
    free(x);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 32) {
        fr__ivf *ivf = NULL;
        if (fr__ivf_view(data, size, "fuzz", 1, NULL, 0, &ivf, NULL) == 0) abort();  // too short
        return 0;
    }
    uint32_t dim, type, tag;
    uint64_t n;
    memcpy(&dim, data + 8, 4);
    memcpy(&n, data + 16, 8);
    memcpy(&type, data + 24, 4);
    memcpy(&tag, data + 28, 4);
    fr_vecs *v = NULL;
    if (make_rows(dim, n, type, &v) < 0) {
        fr_vecs_free(v);
        return 0;
    }
    for (int fix = 0; fix < 2; fix++) {
        uint8_t *b = malloc(size);
        if (!b) break;
        memcpy(b, data, size);
        if (fix) {
            uint32_t c = (uint32_t)crc32_z(0L, b, size - 4);
            memcpy(b + size - 4, &c, 4);
        }
        for (int verify = 0; verify < 2; verify++) {
            fr__ivf *ivf = NULL;
            fr_error err;
            if (fr__ivf_view(b, size, "fuzz", verify, v, tag, &ivf, &err) < 0) {
                if (!err.msg[0]) abort();  // every error says why
                continue;
            }
            float q[64] = {1, -0.5f, 0.25f};
            fr_vec_hit hits[8];
            size_t nh = 0, scanned = 0;
            for (uint32_t np = 1; np <= fr__ivf_lists(ivf) + 1; np++) {
                if (fr__ivf_search(ivf, v, q, 8, np, 2, hits, &nh, &scanned, &err) != 0) abort();
                if (nh > 8 || scanned > n) abort();
                for (size_t i = 0; i < nh; i++) {
                    if (hits[i].id >= n) abort();
                    for (size_t j = 0; j < i; j++)
                        if (hits[j].id == hits[i].id) abort();  // a row in two lists
                }
                if (np > 64) break;
            }
            fr__ivf_free(ivf);
        }
        free(b);
    }
    fr_vecs_free(v);
    return 0;
}

#ifdef FUZZ_IVF_SEEDS
int main(int argc, char **argv) {
    static const struct { uint32_t dim, n, type, lists; const char *name; } seeds[] = {
        {8, 64, 0, 4, "f32_64x8_4.ivf"}, {16, 200, 1, 8, "i8_200x16_8.ivf"},
        {5, 33, 2, 3, "i8r_33x5_3.ivf"}, {3, 7, 1, 7, "i8_7x3_7.ivf"}, {12, 100, 3, 4, "i8f_100x12_4.ivf"}};
    for (size_t i = 0; i < sizeof seeds / sizeof *seeds && argc > 1; i++) {
        fr_vecs *v = NULL;
        char path[512];
        fr_error err;
        snprintf(path, sizeof path, "%s/%s", argv[1], seeds[i].name);
        if (make_rows(seeds[i].dim, seeds[i].n, seeds[i].type, &v) < 0 ||
            fr__ivf_build(v, seeds[i].lists, 0x5eed0000u + (uint32_t)i, path, 0, &err) < 0) {
            fprintf(stderr, "%s: failed\n", path);
            return 1;
        }
        fr_vecs_free(v);
    }
    return 0;
}
#endif
