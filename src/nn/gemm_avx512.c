/* gemm_avx512.c — AVX512-VNNI + AVX512-BF16 kernels of gemm.h (Intel Cooper Lake / Sapphire
 * Rapids and later, AMD Zen 4 and later), on gemm.h's FR__LAYOUT_ZMM panels. The default
 * build is -march=x86-64-v3, so every function that touches zmm carries a target attribute
 * (TARGET below; a per-function attribute rather than Makefile flags or #pragma GCC target,
 * which clang ignores) and the table is only picked when cpuid says so (supported(), which is
 * compiled without it so that it runs on any x86-64).
 *
 * INT8: vpdpbusd multiplies four u8 × s8 pairs per dword lane and adds them to an int32 lane
 * without saturation. Activations are the same symmetric per-token int8 values as every other
 * table (quant_rows here equals gemm_ref.c's bit for bit), stored offset by +128 as u8; each
 * accumulator starts at the channel's -128 · Σ_k q (packed by gemm.c), so after the k loop it
 * holds Σ_k a·q exactly — the ref kernel's integer — and the fused dequantise
 * fmaf(acc, sx * sw, b) is the same float operation: the outputs are bit-identical to ref and
 * avx2. (Products <= 255 · 127, four per lane: no int32 overflow below k ≈ 66,000.)
 * Micro-kernel 6 rows × 64 channels: 24 zmm accumulators, 4 weight zmm, 1 broadcast; per 4-wide
 * k step 4 weight loads + 6 dword broadcasts feed 24 vpdpbusd (1,536 multiply-adds).
 *
 * BF16: vdpbf16ps multiplies bf16 pairs and accumulates in f32, so activations are rounded to
 * bf16 (vcvtneps2bf16, round to nearest even) once per call into scratch. This is the one
 * place where a table departs from ref's results: ref and avx2 keep activations in f32. Error
 * vs ref per output is at most about 2^-9 · Σ_k |x_k w_k| from the activation rounding, plus
 * f32 summation-order differences (≤ k · 2^-24 · Σ_k |x_k w_k|); vdpbf16ps also treats
 * denormal inputs as zero and flushes denormal results. tests/test_quant.c checks
 * |y - y_ref| <= 2^-8 · Σ_k |x_k w_k| + k · 2^-23 · Σ_k |x_k w_k| + 1e-6, and the model-level
 * bars (Spearman, top-10, max |logit err|) on every checkpoint.
 * Same 6 × 64 micro-kernel: per k pair, 4 weight loads + 6 broadcasts feed 24 vdpbf16ps.
 *
 * Workload: token rows (hundreds to thousands) × 384..1536 channels, k = 384 or 1536. Rows are
 * blocked by MB so their activation bytes stay in L2 while 64-channel weight panels stream.
 */
#include "nn/gemm.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

#define TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx512bf16,fma")))
#define INLINE static inline __attribute__((always_inline)) TARGET
#define MB 96  // activation rows per cache block
#define MR 6   // rows per micro-kernel
#define NV 4   // 16-channel panels per micro-kernel

static int supported(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni") &&
           __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("fma");
}

// Lanes [0, n) of a 16-lane mask (n may be <= 0 or >= 16).
static inline __mmask16 lanes(ptrdiff_t n) {
    return n >= 16 ? (__mmask16)0xffff : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

static inline int32_t load_dword(const void *p) {
    int32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

// ---- int8 ----
// As gemm_ref.c's quant_rows (same amax, scale, round-half-even, clamp), stored as q + 128.
TARGET static void quant_rows(const float *x, size_t m, size_t k, size_t kp, int8_t *xq, float *xs) {
    const __m512 absmask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
    const __m512i lo = _mm512_set1_epi32(-127), hi = _mm512_set1_epi32(127),
                  off = _mm512_set1_epi32(128);
    for (size_t i = 0; i < m; i++) {
        const float *r = x + i * k;
        int8_t *q = xq + i * kp;
        __m512 vm = _mm512_setzero_ps();
        for (size_t c = 0; c < k; c += 16)
            vm = _mm512_max_ps(vm, _mm512_and_ps(absmask, _mm512_maskz_loadu_ps(lanes((ptrdiff_t)(k - c)), r + c)));
        float amax = _mm512_reduce_max_ps(vm);
        xs[i] = amax / 127.0f;
        if (amax == 0) { memset(q, 128, kp); continue; }
        __m512 vi = _mm512_set1_ps(127.0f / amax);
        for (size_t c = 0; c < kp; c += 16) {
            __m512 v = _mm512_maskz_loadu_ps(lanes((ptrdiff_t)k - (ptrdiff_t)c), r + c);
            __m512i t = _mm512_cvtps_epi32(_mm512_mul_ps(v, vi));  // round to nearest even
            t = _mm512_add_epi32(_mm512_min_epi32(_mm512_max_epi32(t, lo), hi), off);
            _mm_mask_storeu_epi8(q + c, lanes((ptrdiff_t)kp - (ptrdiff_t)c), _mm512_cvtepi32_epi8(t));
        }
    }
}

// Rows a[0..mr) (u8, stride kp) × nv 16-channel panels from w (panel stride kp * 16 bytes).
// y = fmaf(acc, xs_r * scale_j, b_j) for the channels < nvalid.
INLINE void q8_tile(const uint8_t *a, size_t kp, const int mr, const int nv, const int8_t *w,
                    const int32_t *wsum, const float *xs, const float *scale, const float *b,
                    float *y, size_t ldy, size_t nvalid) {
    __m512i acc[MR][NV];
    for (int v = 0; v < nv; v++) {
        __m512i s = _mm512_loadu_si512(wsum + 16 * v);
        for (int r = 0; r < mr; r++) acc[r][v] = s;
    }
    const size_t ps = kp * 16;
    for (size_t c = 0; c < kp; c += 4, w += 64) {
        __m512i wv[NV];
        for (int v = 0; v < nv; v++) wv[v] = _mm512_loadu_si512(w + v * ps);
        for (int r = 0; r < mr; r++) {
            __m512i xv = _mm512_set1_epi32(load_dword(a + r * kp + c));
            for (int v = 0; v < nv; v++) acc[r][v] = _mm512_dpbusd_epi32(acc[r][v], xv, wv[v]);
        }
    }
    for (int v = 0; v < nv; v++) {
        __mmask16 mk = lanes((ptrdiff_t)nvalid - 16 * v);
        __m512 sw = _mm512_loadu_ps(scale + 16 * v), bv = _mm512_maskz_loadu_ps(mk, b + 16 * v);
        for (int r = 0; r < mr; r++) {
            __m512 o = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[r][v]),
                                       _mm512_mul_ps(_mm512_set1_ps(xs[r]), sw), bv);
            _mm512_mask_storeu_ps(y + r * ldy + 16 * v, mk, o);
        }
    }
}

#define Q8_ROWS(NVC)                                                                                  \
    switch (mr) {                                                                                     \
    case 6: q8_tile(a, kp, 6, NVC, w, wsum, xsr, sc, b, yr, ldy, nvalid); break;                     \
    case 5: q8_tile(a, kp, 5, NVC, w, wsum, xsr, sc, b, yr, ldy, nvalid); break;                     \
    case 4: q8_tile(a, kp, 4, NVC, w, wsum, xsr, sc, b, yr, ldy, nvalid); break;                     \
    case 3: q8_tile(a, kp, 3, NVC, w, wsum, xsr, sc, b, yr, ldy, nvalid); break;                     \
    case 2: q8_tile(a, kp, 2, NVC, w, wsum, xsr, sc, b, yr, ldy, nvalid); break;                     \
    default: q8_tile(a, kp, 1, NVC, w, wsum, xsr, sc, b, yr, ldy, nvalid); break;                    \
    }

TARGET static void q8(const fr__dense *d, const int8_t *xq, const float *xs, size_t m, float *y,
                      size_t ldy) {
    const size_t kp = d->kp, npanel = d->np / 16;
    for (size_t i0 = 0; i0 < m; i0 += MB) {
        size_t i1 = i0 + MB < m ? i0 + MB : m;
        for (size_t p = 0; p < npanel; p += NV) {
            size_t j = p * 16, nvalid = d->n - j;
            int nv = npanel - p < NV ? (int)(npanel - p) : NV;
            const int8_t *w = d->q + p * kp * 16;
            const int32_t *wsum = d->wsum + j;
            const float *sc = d->scale + j, *b = d->b + j;
            for (size_t i = i0; i < i1; i += MR) {
                const uint8_t *a = (const uint8_t *)xq + i * kp;
                const float *xsr = xs + i;
                float *yr = y + i * ldy + j;
                int mr = i1 - i < MR ? (int)(i1 - i) : MR;
                switch (nv) {
                case 4: Q8_ROWS(4); break;
                case 3: Q8_ROWS(3); break;
                case 2: Q8_ROWS(2); break;
                default: Q8_ROWS(1); break;
                }
            }
        }
    }
}

// ---- bf16 ----
// x (m, k) f32 -> xb (m, kp) bf16, round to nearest even, padding column zero.
TARGET static void to_bf16(const float *x, size_t m, size_t k, size_t kp, uint16_t *xb) {
    for (size_t i = 0; i < m; i++)
        for (size_t c = 0; c < kp; c += 16) {
            __m512 v = _mm512_maskz_loadu_ps(lanes((ptrdiff_t)k - (ptrdiff_t)c), x + i * k + c);
            __m256i h = (__m256i)_mm512_cvtneps_pbh(v);
            _mm256_mask_storeu_epi16(xb + i * kp + c, lanes((ptrdiff_t)kp - (ptrdiff_t)c), h);
        }
}

// Rows xb[0..mr) (bf16, stride kp) × nv panels; y = acc + b for channels < nvalid.
INLINE void bf16_tile(const uint16_t *xb, size_t kp, const int mr, const int nv, const uint16_t *w,
                      const float *b, float *y, size_t ldy, size_t nvalid) {
    __m512 acc[MR][NV];
    for (int r = 0; r < mr; r++)
        for (int v = 0; v < nv; v++) acc[r][v] = _mm512_setzero_ps();
    const size_t ps = kp * 16;
    for (size_t c = 0; c < kp; c += 2, w += 32) {
        __m512bh wv[NV];
        for (int v = 0; v < nv; v++) wv[v] = (__m512bh)_mm512_loadu_si512(w + v * ps);
        for (int r = 0; r < mr; r++) {
            __m512bh xv = (__m512bh)_mm512_set1_epi32(load_dword(xb + r * kp + c));
            for (int v = 0; v < nv; v++) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], xv, wv[v]);
        }
    }
    for (int v = 0; v < nv; v++) {
        __mmask16 mk = lanes((ptrdiff_t)nvalid - 16 * v);
        __m512 bv = _mm512_maskz_loadu_ps(mk, b + 16 * v);
        for (int r = 0; r < mr; r++)
            _mm512_mask_storeu_ps(y + r * ldy + 16 * v, mk, _mm512_add_ps(acc[r][v], bv));
    }
}

#define BF_ROWS(NVC)                                                                                 \
    switch (mr) {                                                                                    \
    case 6: bf16_tile(a, kp, 6, NVC, w, b, yr, ldy, nvalid); break;                                 \
    case 5: bf16_tile(a, kp, 5, NVC, w, b, yr, ldy, nvalid); break;                                 \
    case 4: bf16_tile(a, kp, 4, NVC, w, b, yr, ldy, nvalid); break;                                 \
    case 3: bf16_tile(a, kp, 3, NVC, w, b, yr, ldy, nvalid); break;                                 \
    case 2: bf16_tile(a, kp, 2, NVC, w, b, yr, ldy, nvalid); break;                                 \
    default: bf16_tile(a, kp, 1, NVC, w, b, yr, ldy, nvalid); break;                                \
    }

TARGET static void bf16(const fr__dense *d, const float *x, size_t m, float *y, size_t ldy,
                        void *scratch) {
    const size_t kp = d->kp, npanel = d->np / 16;
    uint16_t *xb = scratch;  // (m, kp): fr__dense_scratch_bytes has 2 * m * round_up(k, 32)
    to_bf16(x, m, d->k, kp, xb);
    for (size_t i0 = 0; i0 < m; i0 += MB) {
        size_t i1 = i0 + MB < m ? i0 + MB : m;
        for (size_t p = 0; p < npanel; p += NV) {
            size_t j = p * 16, nvalid = d->n - j;
            int nv = npanel - p < NV ? (int)(npanel - p) : NV;
            const uint16_t *w = d->bf + p * kp * 16;
            const float *b = d->b + j;
            for (size_t i = i0; i < i1; i += MR) {
                const uint16_t *a = xb + i * kp;
                float *yr = y + i * ldy + j;
                int mr = i1 - i < MR ? (int)(i1 - i) : MR;
                switch (nv) {
                case 4: BF_ROWS(4); break;
                case 3: BF_ROWS(3); break;
                case 2: BF_ROWS(2); break;
                default: BF_ROWS(1); break;
                }
            }
        }
    }
}

const fr__gemm_isa fr__gemm_avx512 = {"avx512", supported, FR__LAYOUT_ZMM, quant_rows, q8, bf16};
