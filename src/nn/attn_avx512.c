/* attn_avx512.c — one attention head in float32 with AVX-512F, fused: scores, softmax and
 * the P·V product for blocks of 8 query rows, without the three OpenBLAS calls of ops.c's
 * generic path. At MiniLM's shapes (head dim 32, 64..256 tokens) each head is a tiny GEMM
 * pair for which OpenBLAS spends about as long packing as multiplying; once the int8/bf16
 * dense layers got fast, those calls and the softmax pass were a quarter of the profile
 * (perf, 100 x 128 tokens at int8).
 *
 * Math: the same as ops.c (scores = scale · q k^T, softmax with the row max subtracted,
 * Cephes-style exp, out = P v), in another summation order, and the 1/sum normalisation is
 * applied to the output row instead of to P: results differ from the sgemm path by float
 * rounding only (tests/test_model.c holds both within 1e-4 of PyTorch; test_ops-style checks
 * in tests/test_quant.c compare the two paths on random heads).
 *
 * Layout: K is transposed once per head into scratch as kt (d, Lp), Lp = L rounded up to 16
 * (zero padding), so a 16-key chunk of scores is d broadcast-FMAs per query row; the block's
 * score rows p (8, Lp) follow it in scratch. Needs d a multiple of 16 up to 64 and
 * (d + 8) · Lp <= L · L floats of scratch (the caller's L × L score buffer); otherwise
 * fr__nn_attention_avx512 returns -1 and ops.c takes the sgemm path (short sequences).
 * Compiled with a target attribute (the default build is x86-64-v3); ops.c calls it only
 * when the AVX-512 dense table is the dispatched one (fr__gemm_isa_best), so FINERANK_ISA
 * switches both together.
 */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "nn/nn.h"

#define TARGET __attribute__((target("avx512f,avx512dq,fma")))
#define RB 8  // query rows per block

// e^x as ops.c's exp8 (Cephes expf polynomial, inputs clamped to the normal range), 16 lanes.
TARGET static inline __m512 exp16(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.33654f)), _mm512_set1_ps(88.37626f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    __m512 y = _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(y, _mm512_castsi512_ps(e));
}

// Accumulators are named (a0..a7), not an array: GCC 12 keeps arrays of vectors in memory.
#define ROWS8(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)

TARGET int fr__nn_attention_avx512(const float *q, const float *k, const float *v, size_t ld,
                                   size_t L, size_t d, float scale, float *out, size_t ldo,
                                   float *scratch) {
    size_t Lp = (L + 15) & ~(size_t)15;
    if (d == 0 || d % 16 || d > 64 || L == 0 || (d + RB) * Lp > L * L) return -1;
    float *kt = scratch, *p = scratch + d * Lp;  // kt (d, Lp), p (RB, Lp)
    for (size_t c = 0; c < d; c++) {
        for (size_t j = 0; j < L; j++) kt[c * Lp + j] = k[j * ld + c];
        for (size_t j = L; j < Lp; j++) kt[c * Lp + j] = 0;
    }
    const __mmask16 last = (__mmask16)(L % 16 ? (1u << (L % 16)) - 1 : 0xffff);
    const __m512 vscale = _mm512_set1_ps(scale);
    for (size_t i0 = 0; i0 < L; i0 += RB) {
        size_t rb = L - i0 < RB ? L - i0 : RB;
        // query rows of the block; a short block repeats its last row (results not stored)
#define QROW(r) const float *q##r = q + (i0 + (r < rb ? r : rb - 1)) * ld;
        ROWS8(QROW)
        // scores: p[r][j] = scale · q_r · k_j, 16 keys at a time
        for (size_t j = 0; j < Lp; j += 16) {
#define ZERO(r) __m512 a##r = _mm512_setzero_ps();
            ROWS8(ZERO)
            for (size_t c = 0; c < d; c++) {
                __m512 kv = _mm512_loadu_ps(kt + c * Lp + j);
#define QK(r) a##r = _mm512_fmadd_ps(_mm512_set1_ps(q##r[c]), kv, a##r);
                ROWS8(QK)
            }
#define PST(r) _mm512_storeu_ps(p + r * Lp + j, _mm512_mul_ps(a##r, vscale));
            ROWS8(PST)
        }
        // softmax numerators in place; inv[r] = 1 / row sum
        float inv[RB];
        for (size_t r = 0; r < rb; r++) {
            float *row = p + r * Lp;
            __m512 vm = _mm512_set1_ps(-INFINITY);
            for (size_t j = 0; j + 16 < Lp; j += 16) vm = _mm512_max_ps(vm, _mm512_loadu_ps(row + j));
            vm = _mm512_mask_max_ps(vm, last, vm, _mm512_loadu_ps(row + Lp - 16));
            __m512 mx = _mm512_set1_ps(_mm512_reduce_max_ps(vm)), sum = _mm512_setzero_ps();
            for (size_t j = 0; j < Lp; j += 16) {
                __m512 e = exp16(_mm512_sub_ps(_mm512_loadu_ps(row + j), mx));
                if (j + 16 == Lp) e = _mm512_maskz_mov_ps(last, e);  // padding keys: 0
                _mm512_storeu_ps(row + j, e);
                sum = _mm512_add_ps(sum, e);
            }
            inv[r] = 1.0f / _mm512_reduce_add_ps(sum);
        }
        // out_r = inv_r · sum_j p[r][j] v_j, 16 output columns at a time
        for (size_t c0 = 0; c0 < d; c0 += 16) {
            ROWS8(ZERO)
            for (size_t j = 0; j < L; j++) {
                __m512 vv = _mm512_loadu_ps(v + j * ld + c0);
#define PV(r) a##r = _mm512_fmadd_ps(_mm512_set1_ps(p[r * Lp + j]), vv, a##r);
                ROWS8(PV)
            }
#define OST(r) \
    if (r < rb) _mm512_storeu_ps(out + (i0 + r) * ldo + c0, _mm512_mul_ps(a##r, _mm512_set1_ps(inv[r])));
            ROWS8(OST)
        }
    }
    return 0;
}
