/* gemm_avx512.c — AVX512-VNNI + AVX512-BF16 kernels of gemm.h (Intel Cooper Lake / Sapphire
 * Rapids and later, AMD Zen 4 and later; Ice Lake / Cascade Lake have VNNI without BF16 and
 * get the avx2 table), on gemm.h's FR__LAYOUT_ZMM panels. The default
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
 * Why our own kernels: Debian's OpenBLAS (0.3.21) declares cblas_sbgemm but is built
 * without it (no sbgemm symbol in libopenblas.so.0), and its sgemm has no int8 path; oneDNN
 * (Debian libdnnl 2.6) has VNNI/BF16 matmuls but was not measured against these kernels yet.
 * Measured here (bench/model/README.md): int8 350-390 GOP/s per thread on the encoder's
 * shapes, ~80% of the vpdpbusd register-only peak and 3.5-4x OpenBLAS sgemm; bf16 ~2x sgemm.
 *
 * Workload: token rows (hundreds to thousands) × 384..1536 channels, k = 384 or 1536. Rows are
 * blocked by MB so their activation bytes stay in L2 while 64-channel weight panels stream.
 * And a query's few rows (4..30 tokens) with cold weights (a vector scan between two queries
 * evicts them): the tiles are instantiated per row count (a 4-row tail no longer computes six),
 * and for m <= MB each group's first row tile prefetches the next weight group into L2, so
 * the stream of weights overlaps the vpdpbusd work (MiniLM-L6, 10 tokens, int8, cold: 1.3 →
 * 0.9 ms per query with encoder.c's huge-page weight arena; bench/embed/README.md "Query
 * dtype").
 */
#include "nn/gemm.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

#define TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx512bf16,fma")))
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

// acc + Σ4 x_u8 · w_s8 per dword lane (vpdpbusd) as inline asm: with the intrinsic, GCC 12
// copied every accumulator to a fresh register each k step once q8_tile was inlined with a
// constant row count (2 to 6 vmovdqa per vpdpbusd, measured ~15% slower per query); the
// "+v" constraint makes it accumulate in place. Same instruction, same integer result.
TARGET static inline __m512i dpbusd(__m512i acc, __m512i x, __m512i w) {
    __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(x), "v"(w));
    return acc;
}

// The 6-row × 4-panel micro-kernels below name their 24 accumulators (c<row><panel>) rather
// than index an array: with an array GCC 12 copied every accumulator each k step (3x the
// instructions). Row and panel tails reuse the last valid row / panel pointer and store
// nothing for it, so there is one kernel per dtype.
#define ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)
// channel masks of the four panels: lanes < nvalid - 16 v
#define PANEL_MASKS                                                                                 \
    const __mmask16 m0 = lanes((ptrdiff_t)nvalid), m1 = lanes((ptrdiff_t)nvalid - 16),                \
                    m2 = lanes((ptrdiff_t)nvalid - 32), m3 = lanes((ptrdiff_t)nvalid - 48)
// panel pointers, clamped to the last of nv
#define PANEL_PTRS(T, w, ps)                                                                        \
    const T *w0 = (w), *w1 = nv > 1 ? w0 + (ps) : w0, *w2 = nv > 2 ? w0 + 2 * (ps) : w1,          \
            *w3 = nv > 3 ? w0 + 3 * (ps) : w2

// Rows a[0..mr) (u8, stride kp) × nv <= 4 16-channel panels from w (panel stride kp * 16
// bytes): y = fmaf(acc, xs_r * scale_j, b_j) for channels < nvalid. pf: NULL, or 64 · kp
// bytes (the next 4-panel group) to prefetch into L2 during this pass, 256 bytes per k step.
// Always inlined into q8_tile_<mr>[_pf] below, where mr and pf are constants: the rows past
// mr then cost nothing (their accumulators are dead), where a runtime mr computed all six.
TARGET static inline __attribute__((always_inline)) void
q8_tile(const uint8_t *a, size_t kp, int mr, int nv, const int8_t *w, const int32_t *wsum,
        const float *xs, const float *scale, const float *b, float *y, size_t ldy, size_t nvalid,
        const int8_t *pf) {
    PANEL_PTRS(int8_t, w, kp * 16);
#define ROWPTR(r) const uint8_t *a##r = a + (r < mr ? r : mr - 1) * kp;
#define ROWPTR16(r) const uint16_t *a##r = a + (r < mr ? r : mr - 1) * kp;
    ROWS(ROWPTR)
    // wsum and scale have np entries: panels past nv reuse the last one (never stored)
    const int32_t *ws1 = nv > 1 ? wsum + 16 : wsum, *ws2 = nv > 2 ? wsum + 32 : ws1,
                  *ws3 = nv > 3 ? wsum + 48 : ws2;
    const __m512i s0 = _mm512_loadu_si512(wsum), s1 = _mm512_loadu_si512(ws1),
                  s2 = _mm512_loadu_si512(ws2), s3 = _mm512_loadu_si512(ws3);
#define INIT(r) __m512i c##r##0 = _mm512_setzero_si512(), c##r##1 = c##r##0, c##r##2 = c##r##0, c##r##3 = c##r##0;
    ROWS(INIT)
    for (size_t c = 0, o = 0; c < kp; c += 4, o += 64) {
        if (pf) {
            _mm_prefetch((const char *)pf + 4 * o, _MM_HINT_T1);
            _mm_prefetch((const char *)pf + 4 * o + 64, _MM_HINT_T1);
            _mm_prefetch((const char *)pf + 4 * o + 128, _MM_HINT_T1);
            _mm_prefetch((const char *)pf + 4 * o + 192, _MM_HINT_T1);
        }
        const __m512i v0 = _mm512_loadu_si512(w0 + o), v1 = _mm512_loadu_si512(w1 + o),
                      v2 = _mm512_loadu_si512(w2 + o), v3 = _mm512_loadu_si512(w3 + o);
#define STEP(r)                                                                                     \
    {                                                                                               \
        const __m512i x = _mm512_set1_epi32(load_dword(a##r + c));                                  \
        c##r##0 = dpbusd(c##r##0, x, v0);                                                         \
        c##r##1 = dpbusd(c##r##1, x, v1);                                                         \
        c##r##2 = dpbusd(c##r##2, x, v2);                                                         \
        c##r##3 = dpbusd(c##r##3, x, v3);                                                         \
    }
        ROWS(STEP)
#undef STEP
    }
    PANEL_MASKS;
    const __m512 sw0 = _mm512_loadu_ps(scale), sw1 = _mm512_maskz_loadu_ps(m1, scale + 16),
                 sw2 = _mm512_maskz_loadu_ps(m2, scale + 32), sw3 = _mm512_maskz_loadu_ps(m3, scale + 48);
    const __m512 b0 = _mm512_maskz_loadu_ps(m0, b), b1 = _mm512_maskz_loadu_ps(m1, b + 16),
                 b2 = _mm512_maskz_loadu_ps(m2, b + 32), b3 = _mm512_maskz_loadu_ps(m3, b + 48);
#define OUT(r, v)                                                                                   \
    _mm512_mask_storeu_ps(y + r * ldy + 16 * v, m##v,                                               \
                          _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(c##r##v, s##v)), _mm512_mul_ps(sx, sw##v), b##v));
#define STORE(r)                                                                                    \
    if (r < mr) {                                                                                   \
        const __m512 sx = _mm512_set1_ps(xs[r]);                                                    \
        OUT(r, 0) OUT(r, 1) OUT(r, 2) OUT(r, 3)                                                     \
    }
    ROWS(STORE)
#undef OUT
#undef STORE
#undef INIT
}

// q8_tile with mr rows, without / with the prefetch: the table q8 picks from.
typedef void (*q8_tile_fn)(const uint8_t *, size_t, int, const int8_t *, const int32_t *,
                           const float *, const float *, const float *, float *, size_t, size_t,
                           const int8_t *);
#define TILE_FN(R)                                                                                  \
    TARGET static void q8_tile_##R(const uint8_t *a, size_t kp, int nv, const int8_t *w,           \
                                   const int32_t *wsum, const float *xs, const float *scale,       \
                                   const float *b, float *y, size_t ldy, size_t nvalid,            \
                                   const int8_t *pf) {                                             \
        (void)pf;                                                                                   \
        q8_tile(a, kp, R, nv, w, wsum, xs, scale, b, y, ldy, nvalid, NULL);                         \
    }                                                                                               \
    TARGET static void q8_tile_##R##_pf(const uint8_t *a, size_t kp, int nv, const int8_t *w,      \
                                        const int32_t *wsum, const float *xs, const float *scale,  \
                                        const float *b, float *y, size_t ldy, size_t nvalid,       \
                                        const int8_t *pf) {                                        \
        q8_tile(a, kp, R, nv, w, wsum, xs, scale, b, y, ldy, nvalid, pf);                           \
    }
TILE_FN(1) TILE_FN(2) TILE_FN(3) TILE_FN(4) TILE_FN(5) TILE_FN(6)
#undef TILE_FN
static const q8_tile_fn tile_fns[2][MR + 1] = {
    {NULL, q8_tile_1, q8_tile_2, q8_tile_3, q8_tile_4, q8_tile_5, q8_tile_6},
    {NULL, q8_tile_1_pf, q8_tile_2_pf, q8_tile_3_pf, q8_tile_4_pf, q8_tile_5_pf, q8_tile_6_pf},
};

// Few rows (m <= MB: a query's tokens) read each weight group once from memory, and the
// weights are cold (a query's layers follow a vector scan that evicted them): the first row
// tile of a group prefetches the next group into L2, so its loads overlap this group's
// vpdpbusd work rather than stall on DRAM. Many rows re-read every group from L2 per row
// tile, and the hardware prefetcher keeps up; they take no prefetch.
TARGET static void q8(const fr__dense *d, const int8_t *xq, const float *xs, size_t m, float *y,
                      size_t ldy) {
    const size_t kp = d->kp, npanel = d->np / 16;
    const int few = m <= MB;
    for (size_t i0 = 0; i0 < m; i0 += MB) {
        size_t i1 = i0 + MB < m ? i0 + MB : m;
        for (size_t p = 0; p < npanel; p += NV) {
            size_t j = p * 16;
            int nv = npanel - p < NV ? (int)(npanel - p) : NV;
            const int8_t *pf = few && p + 2 * NV <= npanel ? d->q + (p + NV) * kp * 16 : NULL;  // a full group  // a full group
            for (size_t i = i0; i < i1; i += MR, pf = NULL) {
                int mr = i1 - i < MR ? (int)(i1 - i) : MR;
                tile_fns[pf != NULL][mr]((const uint8_t *)xq + i * kp, kp, nv, d->q + p * kp * 16,
                                         d->wsum + j, xs + i, d->scale + j, d->b + j,
                                         y + i * ldy + j, ldy, d->n - j, pf);
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

// acc + Σ2 x_bf16 · w_bf16 per f32 lane (vdpbf16ps), in place: as dpbusd above.
TARGET static inline __m512 dpbf16(__m512 acc, __m512bh x, __m512bh w) {
    __asm__("vdpbf16ps %2, %1, %0" : "+v"(acc) : "v"(x), "v"(w));
    return acc;
}

// Rows xb[0..mr) (bf16, stride kp) × nv <= 4 panels; y = acc + b for channels < nvalid. pf:
// NULL or the next 4-panel group (64 · kp bf16), prefetched into L2 at 256 bytes per k pair.
// Inlined with constant mr and pf as q8_tile is.
TARGET static inline __attribute__((always_inline)) void
bf16_tile(const uint16_t *a, size_t kp, int mr, int nv, const uint16_t *w, const float *b, float *y,
          size_t ldy, size_t nvalid, const uint16_t *pf) {
    PANEL_PTRS(uint16_t, w, kp * 16);
    ROWS(ROWPTR16)
#define INIT(r) __m512 c##r##0 = _mm512_setzero_ps(), c##r##1 = c##r##0, c##r##2 = c##r##0, c##r##3 = c##r##0;
    ROWS(INIT)
    for (size_t c = 0, o = 0; c < kp; c += 2, o += 32) {
        if (pf) {
            const char *p = (const char *)(pf + 4 * o);  // 256 bytes per k pair
            _mm_prefetch(p, _MM_HINT_T1);
            _mm_prefetch(p + 64, _MM_HINT_T1);
            _mm_prefetch(p + 128, _MM_HINT_T1);
            _mm_prefetch(p + 192, _MM_HINT_T1);
        }
        const __m512bh v0 = (__m512bh)_mm512_loadu_si512(w0 + o), v1 = (__m512bh)_mm512_loadu_si512(w1 + o),
                       v2 = (__m512bh)_mm512_loadu_si512(w2 + o), v3 = (__m512bh)_mm512_loadu_si512(w3 + o);
#define STEP(r)                                                                                     \
    {                                                                                               \
        const __m512bh x = (__m512bh)_mm512_set1_epi32(load_dword(a##r + c));                       \
        c##r##0 = dpbf16(c##r##0, x, v0);                                                           \
        c##r##1 = dpbf16(c##r##1, x, v1);                                                           \
        c##r##2 = dpbf16(c##r##2, x, v2);                                                           \
        c##r##3 = dpbf16(c##r##3, x, v3);                                                           \
    }
        ROWS(STEP)
#undef STEP
    }
    PANEL_MASKS;
    const __m512 b0 = _mm512_maskz_loadu_ps(m0, b), b1 = _mm512_maskz_loadu_ps(m1, b + 16),
                 b2 = _mm512_maskz_loadu_ps(m2, b + 32), b3 = _mm512_maskz_loadu_ps(m3, b + 48);
#define OUT(r, v) _mm512_mask_storeu_ps(y + r * ldy + 16 * v, m##v, _mm512_add_ps(c##r##v, b##v));
#define STORE(r)                                                                                    \
    if (r < mr) { OUT(r, 0) OUT(r, 1) OUT(r, 2) OUT(r, 3) }
    ROWS(STORE)
#undef OUT
#undef STORE
#undef INIT
}

typedef void (*bf16_tile_fn)(const uint16_t *, size_t, int, const uint16_t *, const float *,
                             float *, size_t, size_t, const uint16_t *);
#define TILE_FN(R)                                                                                  \
    TARGET static void bf16_tile_##R(const uint16_t *a, size_t kp, int nv, const uint16_t *w,      \
                                     const float *b, float *y, size_t ldy, size_t nvalid,          \
                                     const uint16_t *pf) {                                         \
        (void)pf;                                                                                   \
        bf16_tile(a, kp, R, nv, w, b, y, ldy, nvalid, NULL);                                        \
    }                                                                                               \
    TARGET static void bf16_tile_##R##_pf(const uint16_t *a, size_t kp, int nv, const uint16_t *w, \
                                          const float *b, float *y, size_t ldy, size_t nvalid,     \
                                          const uint16_t *pf) {                                    \
        bf16_tile(a, kp, R, nv, w, b, y, ldy, nvalid, pf);                                          \
    }
TILE_FN(1) TILE_FN(2) TILE_FN(3) TILE_FN(4) TILE_FN(5) TILE_FN(6)
#undef TILE_FN
static const bf16_tile_fn bf16_fns[2][MR + 1] = {
    {NULL, bf16_tile_1, bf16_tile_2, bf16_tile_3, bf16_tile_4, bf16_tile_5, bf16_tile_6},
    {NULL, bf16_tile_1_pf, bf16_tile_2_pf, bf16_tile_3_pf, bf16_tile_4_pf, bf16_tile_5_pf,
     bf16_tile_6_pf},
};

// Few rows prefetch the next weight group as q8 does.
TARGET static void bf16(const fr__dense *d, const float *x, size_t m, float *y, size_t ldy,
                        void *scratch) {
    const size_t kp = d->kp, npanel = d->np / 16;
    uint16_t *xb = scratch;  // (m, kp): fr__dense_scratch_bytes has 2 * m * round_up(k, 32)
    to_bf16(x, m, d->k, kp, xb);
    const int few = m <= MB;
    for (size_t i0 = 0; i0 < m; i0 += MB) {
        size_t i1 = i0 + MB < m ? i0 + MB : m;
        for (size_t p = 0; p < npanel; p += NV) {
            size_t j = p * 16;
            int nv = npanel - p < NV ? (int)(npanel - p) : NV;
            const uint16_t *pf = few && p + 2 * NV <= npanel ? d->bf + (p + NV) * kp * 16 : NULL;
            for (size_t i = i0; i < i1; i += MR, pf = NULL) {
                int mr = i1 - i < MR ? (int)(i1 - i) : MR;
                bf16_fns[pf != NULL][mr](xb + i * kp, kp, nv, d->bf + p * kp * 16, d->b + j,
                                         y + i * ldy + j, ldy, d->n - j, pf);
            }
        }
    }
}

const fr__gemm_isa fr__gemm_avx512 = {"avx512", supported, FR__LAYOUT_ZMM, quant_rows, q8, bf16};
