/* gemm_avx2.c — AVX2 + FMA kernels of gemm.h (Haswell and later, AMD Zen). Results equal
 * gemm_ref.c's bit for bit (see there).
 *
 * INT8, no VNNI: vpsignb moves each weight's sign onto the activation, vpmaddubsw multiplies
 * |w| (u8, stored packed beside w) by sign(w)·a (s8) and adds pairs into s16 (exact: |a|,
 * |w| <= 127), vpmaddwd by ones widens pairs into s32: 4 ops per 32 multiply-adds, bound by
 * the two multiply pipes. A 2-row x 4-channel micro-kernel keeps 8 accumulators + 2
 * activation rows + ones in registers (with |a| and a both live it spilled); rows are
 * blocked by MB so a block of quantised activations stays in L1/L2 while each 4-channel
 * weight panel (8 * kp bytes) streams past it.
 * BF16: a 6-row x 16-channel micro-kernel (12 ymm accumulators): per k, two 8-lane bf16 loads
 * widened by vpmovzxwd + vpslld 16, six broadcasts, twelve FMAs.
 */
#include "nn/gemm.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

#define MB 64  // activation rows per cache block

static int supported(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

// ---- int8 ----
static void quant_rows(const float *x, size_t m, size_t k, size_t kp, int8_t *xq, float *xs) {
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    for (size_t i = 0; i < m; i++) {
        const float *r = x + i * k;
        int8_t *q = xq + i * kp;
        __m256 vm = _mm256_setzero_ps();
        size_t c = 0;
        for (; c + 8 <= k; c += 8) vm = _mm256_max_ps(vm, _mm256_and_ps(absmask, _mm256_loadu_ps(r + c)));
        __m128 s = _mm_max_ps(_mm256_castps256_ps128(vm), _mm256_extractf128_ps(vm, 1));
        s = _mm_max_ps(s, _mm_movehl_ps(s, s));
        s = _mm_max_ss(s, _mm_movehdup_ps(s));
        float amax = _mm_cvtss_f32(s);
        for (; c < k; c++) amax = fmaxf(amax, fabsf(r[c]));
        memset(q, 0, kp);
        xs[i] = amax / 127.0f;
        if (amax == 0) continue;
        float inv = 127.0f / amax;
        __m256 vi = _mm256_set1_ps(inv);
        for (c = 0; c + 32 <= k; c += 32) {
            __m256i a = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(r + c), vi));
            __m256i b = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(r + c + 8), vi));
            __m256i e = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(r + c + 16), vi));
            __m256i f = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(r + c + 24), vi));
            // packs work per 128-bit lane: reorder dwords back to memory order afterwards
            __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(a, b), _mm256_packs_epi32(e, f));
            p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
            _mm256_storeu_si256((__m256i *)(void *)(q + c), p);
        }
        for (; c < k; c++) {
            float v = nearbyintf(r[c] * inv);
            q[c] = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
        }
    }
}

// Sums each of four s32x8 accumulators: [sum a, sum b, sum c, sum d].
static inline __m128i hsum4(__m256i a, __m256i b, __m256i c, __m256i d) {
    __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(a, b), _mm256_hadd_epi32(c, d));
    return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

// acc += sum over pairs of |w| * (sign(w) * x)  ==  w * x
#define DOT(acc, x, wa, ws) \
    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(wa, _mm256_sign_epi8(x, ws)), ones))

static void q8(const fr__dense *d, const int8_t *xq, const float *xs, size_t m, float *y,
               size_t ldy) {
    const size_t kp = d->kp, nkb = kp / 32, npanel = d->np / 4;
    const __m256i ones = _mm256_set1_epi16(1);
    for (size_t i0 = 0; i0 < m; i0 += MB) {
        size_t i1 = i0 + MB < m ? i0 + MB : m;
        for (size_t p = 0; p < npanel; p++) {
            const int8_t *wp = d->q + p * nkb * 256;
            size_t j = p * 4, nv = d->n - j < 4 ? d->n - j : 4;
            __m128 sw = _mm_loadu_ps(d->scale + j);
            float bb[4] = {0, 0, 0, 0};
            memcpy(bb, d->b + j, nv * sizeof *bb);
            __m128 vb = _mm_loadu_ps(bb);
            for (size_t i = i0; i < i1; i += 2) {
                const int8_t *a0 = xq + i * kp, *a1 = i + 1 < i1 ? a0 + kp : a0;
                __m256i c00 = _mm256_setzero_si256(), c01 = c00, c02 = c00, c03 = c00;
                __m256i c10 = c00, c11 = c00, c12 = c00, c13 = c00;
                const int8_t *w = wp;
                for (size_t kb = 0; kb < nkb; kb++, w += 256) {
                    __m256i x0 = _mm256_loadu_si256((const __m256i *)(const void *)(a0 + kb * 32));
                    __m256i x1 = _mm256_loadu_si256((const __m256i *)(const void *)(a1 + kb * 32));
#define W(o) _mm256_loadu_si256((const __m256i *)(const void *)(w + (o)))
                    __m256i wa = W(0), ws = W(128);
                    DOT(c00, x0, wa, ws); DOT(c10, x1, wa, ws);
                    wa = W(32); ws = W(160);
                    DOT(c01, x0, wa, ws); DOT(c11, x1, wa, ws);
                    wa = W(64); ws = W(192);
                    DOT(c02, x0, wa, ws); DOT(c12, x1, wa, ws);
                    wa = W(96); ws = W(224);
                    DOT(c03, x0, wa, ws); DOT(c13, x1, wa, ws);
#undef W
                }
                float out[4];
                // y = fmaf(acc, sx * sw, b), as gemm_ref.c
                __m128 r0 = _mm_fmadd_ps(_mm_cvtepi32_ps(hsum4(c00, c01, c02, c03)),
                                         _mm_mul_ps(_mm_set1_ps(xs[i]), sw), vb);
                _mm_storeu_ps(out, r0);
                memcpy(y + i * ldy + j, out, nv * sizeof *out);
                if (i + 1 < i1) {
                    __m128 r1 = _mm_fmadd_ps(_mm_cvtepi32_ps(hsum4(c10, c11, c12, c13)),
                                             _mm_mul_ps(_mm_set1_ps(xs[i + 1]), sw), vb);
                    _mm_storeu_ps(out, r1);
                    memcpy(y + (i + 1) * ldy + j, out, nv * sizeof *out);
                }
            }
        }
    }
}

// ---- bf16 ----
static inline __m256 widen(const uint16_t *p) {
    __m128i h = _mm_loadu_si128((const __m128i *)(const void *)p);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

// Rows x[0..mr) (stride k) times one 16-channel panel; acc order per lane as gemm_ref.c.
static inline __attribute__((always_inline)) void bf16_tile(const float *x, size_t k, int mr,
                                                            const uint16_t *w, float *y,
                                                            size_t ldy, const float *b, size_t nv) {
    __m256 acc[6][2];
#pragma GCC unroll 6
    for (int r = 0; r < 6; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    for (size_t c = 0; c < k; c++, w += 16) {
        __m256 w0 = widen(w), w1 = widen(w + 8);
#pragma GCC unroll 6
        for (int r = 0; r < mr; r++) {
            __m256 xv = _mm256_broadcast_ss(x + r * k + c);
            acc[r][0] = _mm256_fmadd_ps(xv, w0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(xv, w1, acc[r][1]);
        }
    }
    __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 6
    for (int r = 0; r < mr; r++) {
        float out[16];
        _mm256_storeu_ps(out, _mm256_add_ps(acc[r][0], b0));
        _mm256_storeu_ps(out + 8, _mm256_add_ps(acc[r][1], b1));
        memcpy(y + r * ldy, out, nv * sizeof *out);
    }
}

static void bf16(const fr__dense *d, const float *x, size_t m, float *y, size_t ldy,
                 void *scratch) {
    const size_t k = d->k, npanel = d->np / 16;
    for (size_t i0 = 0; i0 < m; i0 += MB) {
        size_t i1 = i0 + MB < m ? i0 + MB : m;
        for (size_t p = 0; p < npanel; p++) {
            size_t j = p * 16, nv = d->n - j < 16 ? d->n - j : 16;
            float bb[16] = {0};
            memcpy(bb, d->b + j, nv * sizeof *bb);
            const uint16_t *w = d->bf + p * k * 16;
            for (size_t i = i0; i < i1; i += 6) {
                const float *xr = x + i * k;
                float *yr = y + i * ldy + j;
                switch (i1 - i < 6 ? i1 - i : 6) {
                case 6: bf16_tile(xr, k, 6, w, yr, ldy, bb, nv); break;
                case 5: bf16_tile(xr, k, 5, w, yr, ldy, bb, nv); break;
                case 4: bf16_tile(xr, k, 4, w, yr, ldy, bb, nv); break;
                case 3: bf16_tile(xr, k, 3, w, yr, ldy, bb, nv); break;
                case 2: bf16_tile(xr, k, 2, w, yr, ldy, bb, nv); break;
                default: bf16_tile(xr, k, 1, w, yr, ldy, bb, nv); break;
                }
            }
        }
    }
}

const fr__gemm_isa fr__gemm_avx2 = {"avx2", supported, FR__LAYOUT_PAIRS, quant_rows, q8, bf16};
