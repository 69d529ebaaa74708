/* skinny.c — dense layers y = act(x · W^T + b) for a few rows: the query side of retrieval
 * (one 4..30-token query through a bi-encoder), where OpenBLAS is the wrong tool.
 *
 * Why: sgemm packs the weight matrix into panels on every call. With a (1536, 384) FFN weight
 * and m = 10 query tokens the packing reads and writes all of W for only 10 multiply-adds per
 * element: `perf record -e cpu-clock` of a MiniLM-L6 query embedding put 66% of the time in
 * sgemm_incopy (the packing) and 29% in the kernel. Here W is read in place, once per call,
 * in its PyTorch (n, k) row-major layout: every output y[i][j] is the dot product of x row i
 * and W row j, so a block of four W rows (4·k floats, 6 KiB at k = 384, in L1) is streamed
 * once and dotted with every x row (m·k floats, in L2).
 *
 * Kernel: 2 x rows × 4 W rows, eight 8-lane f32 FMA accumulators along k (enough
 * independent chains to cover the FMA latency on two pipes), reduced with one hadd tree per
 * 2×4 tile. f32 accumulation, like sgemm; the sum order differs from OpenBLAS's, so results
 * agree with it to float rounding, not bit for bit (tests/test_nn.c).
 * Weights are cold: a query's dense layers read 42 MB (MiniLM-L6, f32), and the vector scan
 * between two queries evicts them. So while the first rows run on block j, block j + 2 is
 * prefetched into L2 (_MM_HINT_T1: into L1 it evicted the x rows and the current block and
 * was no faster than no prefetch; with L2 the FFN layers ran 1.5x faster cold).
 * Workload: m <= FR__NN_SKINNY_M (nn.h), k and n in the hundreds to thousands. Measured with
 * cold weights (MiniLM shapes, one thread, 2026-11-28): 1.2-2x faster than sgemm per matrix at
 * m = 10; a whole layer's six products 1.26x faster at m = 16, 1.14x at 20, even at 24, slower
 * above (sgemm's packing pays off once W is reused by more rows).
 */
#include "nn/nn.h"

#include <string.h>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

#ifndef PF_AHEAD
#define PF_AHEAD 2
#endif

// (sum a0, sum a1, sum a2, sum a3)
static inline __m128 hsum4x8(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
    __m256 t = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
    return _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
}

// y[i][j..j+4) for rows x0 (and x1 unless NULL) and W rows w0 (four rows of k).
// pf: the first row of the block PF_AHEAD blocks on (prefetched during this pass) or NULL.
static void tile(const float *x0, const float *x1, const float *w0, size_t k, float *y0,
                 float *y1, const float *pf) {
    const float *w1 = w0 + k, *w2 = w1 + k, *w3 = w2 + k;
    __m256 a00 = _mm256_setzero_ps(), a01 = a00, a02 = a00, a03 = a00;
    __m256 a10 = a00, a11 = a00, a12 = a00, a13 = a00;
    size_t p = 0;
    if (x1) {
        for (; p + 8 <= k; p += 8) {
            if (pf) {
                _mm_prefetch((const char *)(pf + p), _MM_HINT_T1);
                _mm_prefetch((const char *)(pf + k + p), _MM_HINT_T1);
                _mm_prefetch((const char *)(pf + 2 * k + p), _MM_HINT_T1);
                _mm_prefetch((const char *)(pf + 3 * k + p), _MM_HINT_T1);
            }
            __m256 v0 = _mm256_loadu_ps(x0 + p), v1 = _mm256_loadu_ps(x1 + p), c;
            c = _mm256_loadu_ps(w0 + p); a00 = _mm256_fmadd_ps(v0, c, a00); a10 = _mm256_fmadd_ps(v1, c, a10);
            c = _mm256_loadu_ps(w1 + p); a01 = _mm256_fmadd_ps(v0, c, a01); a11 = _mm256_fmadd_ps(v1, c, a11);
            c = _mm256_loadu_ps(w2 + p); a02 = _mm256_fmadd_ps(v0, c, a02); a12 = _mm256_fmadd_ps(v1, c, a12);
            c = _mm256_loadu_ps(w3 + p); a03 = _mm256_fmadd_ps(v0, c, a03); a13 = _mm256_fmadd_ps(v1, c, a13);
        }
    } else {
        for (; p + 8 <= k; p += 8) {
            if (pf) {
                _mm_prefetch((const char *)(pf + p), _MM_HINT_T1);
                _mm_prefetch((const char *)(pf + k + p), _MM_HINT_T1);
                _mm_prefetch((const char *)(pf + 2 * k + p), _MM_HINT_T1);
                _mm_prefetch((const char *)(pf + 3 * k + p), _MM_HINT_T1);
            }
            __m256 v0 = _mm256_loadu_ps(x0 + p);
            a00 = _mm256_fmadd_ps(v0, _mm256_loadu_ps(w0 + p), a00);
            a01 = _mm256_fmadd_ps(v0, _mm256_loadu_ps(w1 + p), a01);
            a02 = _mm256_fmadd_ps(v0, _mm256_loadu_ps(w2 + p), a02);
            a03 = _mm256_fmadd_ps(v0, _mm256_loadu_ps(w3 + p), a03);
        }
    }
    float s0[4], s1[4];
    _mm_storeu_ps(s0, hsum4x8(a00, a01, a02, a03));
    _mm_storeu_ps(s1, hsum4x8(a10, a11, a12, a13));
    for (; p < k; p++) {  // k not a multiple of 8
        s0[0] += x0[p] * w0[p]; s0[1] += x0[p] * w1[p]; s0[2] += x0[p] * w2[p]; s0[3] += x0[p] * w3[p];
        if (x1) { s1[0] += x1[p] * w0[p]; s1[1] += x1[p] * w1[p]; s1[2] += x1[p] * w2[p]; s1[3] += x1[p] * w3[p]; }
    }
    for (int c = 0; c < 4; c++) y0[c] += s0[c];
    if (x1)
        for (int c = 0; c < 4; c++) y1[c] += s1[c];
}
#endif

static float dot(const float *a, const float *b, size_t k) {
    float s = 0;
    for (size_t p = 0; p < k; p++) s += a[p] * b[p];
    return s;
}

void fr__nn_linear_skinny(const float *x, size_t m, size_t k, const float *w, const float *b,
                          size_t n, float *y, size_t ldy, fr__nn_act act) {
    for (size_t i = 0; i < m; i++) {
        if (b) memcpy(y + i * ldy, b, n * sizeof *y);
        else memset(y + i * ldy, 0, n * sizeof *y);
    }
    size_t j = 0;
#if defined(__AVX2__) && defined(__FMA__)
    for (; j + 4 <= n; j += 4) {
        const float *pf = j + (PF_AHEAD + 1) * 4 <= n ? w + (j + PF_AHEAD * 4) * k : NULL;
        size_t i = 0;
        for (; i + 2 <= m; i += 2, pf = NULL)
            tile(x + i * k, x + (i + 1) * k, w + j * k, k, y + i * ldy + j, y + (i + 1) * ldy + j, pf);
        if (i < m) tile(x + i * k, NULL, w + j * k, k, y + i * ldy + j, NULL, pf);
    }
#endif
    for (; j < n; j++)
        for (size_t i = 0; i < m; i++) y[i * ldy + j] += dot(x + i * k, w + j * k, k);
    if (act != FR__NN_NONE)
        for (size_t i = 0; i < m; i++) fr__nn_act_apply(y + i * ldy, n, act);
}
