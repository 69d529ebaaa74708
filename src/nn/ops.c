/* ops.c — the element-wise and row-wise kernels of a BERT-style encoder, float32:
 * fused bias + activation after a dense layer, residual + LayerNorm, row softmax, one
 * attention head, and the dense layer itself (OpenBLAS cblas_sgemm, the fastest sgemm packaged
 * for this CPU; writing our own would not beat it).
 *
 * Where the avx512 dense table is dispatched (nn/gemm.h), attention heads run fused in
 * attn_avx512.c instead of the two sgemm calls and the softmax pass here.
 *
 * Tuned for the packed layout of model/encoder.c: (tokens, features) rows, thousands of rows
 * per call. Accuracy follows PyTorch: GELU is the exact erf form (torch.nn.functional.gelu) or
 * the tanh approximation (transformers' NewGELUActivation); LayerNorm uses the biased variance
 * (torch.nn.functional.layer_norm), accumulated in double here so rounding stays below
 * PyTorch's own.
 */
#include "nn/nn.h"
#include "nn/gemm.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

// ---- vector math (AVX2 + FMA; scalar fallback when built without them) ----
// exp: Cephes expf — x = n·ln2 + r, |r| <= ln2/2, e^r by a degree-6 polynomial, 2^n through the
// exponent bits; about 1 ulp. Inputs are clamped to the normal range (e^-87.3 ~ 1.2e-38 instead
// of a subnormal), which changes nothing at softmax or GELU scale.
// erf: Abramowitz & Stegun 7.1.26, |error| <= 1.5e-7 — the size of one float32 ulp at 1, so
// GELU(x) = 0.5x(1 + erf(x/sqrt 2)) stays within float rounding of torch's exact erf GELU.
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define FR_AVX2 1
static inline __m256 exp8(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.33654f)), _mm256_set1_ps(88.37626f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    __m256 y = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(y, _mm256_castsi256_ps(e));
}
static inline __m256 gelu8(__m256 x) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 z = _mm256_mul_ps(_mm256_andnot_ps(sign, x), _mm256_set1_ps(0.70710678118654752f));
    __m256 t = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_fmadd_ps(z, _mm256_set1_ps(0.3275911f),
                                                                   _mm256_set1_ps(1.0f)));
    __m256 p = _mm256_set1_ps(1.061405429f);
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.453152027f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.421413741f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.284496736f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.254829592f));
    p = _mm256_mul_ps(p, t);
    __m256 erf_abs = _mm256_fnmadd_ps(p, exp8(_mm256_mul_ps(_mm256_xor_ps(z, sign), z)),
                                      _mm256_set1_ps(1.0f));
    __m256 erf = _mm256_or_ps(erf_abs, _mm256_and_ps(x, sign));  // erf is odd
    return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), x), _mm256_add_ps(_mm256_set1_ps(1.0f), erf));
}
// tanh(y) = 1 - 2 / (e^{2y} + 1); 0.5x(1 + tanh(y)) = x - x / (e^{2y} + 1)
static inline __m256 gelu_tanh8(__m256 x) {
    __m256 x3 = _mm256_mul_ps(_mm256_mul_ps(x, x), x);
    __m256 y = _mm256_mul_ps(_mm256_set1_ps(0.7978845608028654f),
                             _mm256_fmadd_ps(x3, _mm256_set1_ps(0.044715f), x));
    __m256 e = exp8(_mm256_add_ps(y, y));
    return _mm256_sub_ps(x, _mm256_div_ps(x, _mm256_add_ps(e, _mm256_set1_ps(1.0f))));
}
static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
static inline float hmax8(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
#endif

// ---- activations ----
// GELU, exact: x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2))  (Hendrycks & Gimpel 2016, eq. 1),
// torch.nn.functional.gelu. Tails use glibc's erff in the scalar path.
static inline float gelu(float x) { return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f)); }
// GELU, tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
// (transformers activations.py NewGELUActivation; torch gelu(approximate="tanh")).
static inline float gelu_tanh(float x) {
    return 0.5f * x * (1.0f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)));
}

void fr__nn_act_apply(float *x, size_t n, fr__nn_act act) {
    size_t i = 0;
#ifdef FR_AVX2
    if (act == FR__NN_GELU)
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, gelu8(_mm256_loadu_ps(x + i)));
    else if (act == FR__NN_GELU_TANH)
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, gelu_tanh8(_mm256_loadu_ps(x + i)));
#endif
    switch (act) {
    case FR__NN_NONE: break;
    case FR__NN_GELU: for (; i < n; i++) x[i] = gelu(x[i]); break;
    case FR__NN_GELU_TANH: for (; i < n; i++) x[i] = gelu_tanh(x[i]); break;
    case FR__NN_RELU: for (; i < n; i++) x[i] = x[i] > 0 ? x[i] : 0.0f; break;
    case FR__NN_TANH: for (; i < n; i++) x[i] = tanhf(x[i]); break;
    }
}

// ---- dense ----
void fr__nn_linear(const float *x, size_t m, size_t k, const float *w, const float *b, size_t n,
                   float *y, size_t ldy, fr__nn_act act) {
    if (!m) return;
    if (m <= FR__NN_SKINNY_M) {  // a query's few tokens: sgemm would spend most time packing W
        fr__nn_linear_skinny(x, m, k, w, b, n, y, ldy, act);
        return;
    }
    // y = b (broadcast), then y += x · W^T in sgemm (beta = 1): one pass over y fewer than
    // zeroing in sgemm and adding the bias afterwards. W is (n, k) row-major, i.e. (k, n)
    // column-major — sgemm's "transpose B".
    for (size_t i = 0; i < m; i++) {
        if (b) memcpy(y + i * ldy, b, n * sizeof *y);
        else memset(y + i * ldy, 0, n * sizeof *y);
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)n, (int)k, 1.0f, x, (int)k,
                w, (int)k, 1.0f, y, (int)ldy);
    if (act != FR__NN_NONE)
        for (size_t i = 0; i < m; i++) fr__nn_act_apply(y + i * ldy, n, act);
}

// ---- normalisation ----
void fr__nn_layernorm(float *x, const float *r, size_t m, size_t n, const float *g, const float *b,
                      float eps) {
    for (size_t i = 0; i < m; i++) {
        float *row = x + i * n;
        const float *rr = r ? r + i * n : NULL;
        size_t j = 0;
        float mean, var;
#ifdef FR_AVX2
        __m256 acc = _mm256_setzero_ps();
        for (; j + 8 <= n; j += 8) {
            __m256 v = _mm256_loadu_ps(row + j);
            if (rr) v = _mm256_add_ps(v, _mm256_loadu_ps(rr + j));
            _mm256_storeu_ps(row + j, v);
            acc = _mm256_add_ps(acc, v);
        }
        float s = hsum8(acc);
        for (; j < n; j++) s += (row[j] += rr ? rr[j] : 0.0f);
        mean = s / (float)n;
        __m256 mu = _mm256_set1_ps(mean), acc2 = _mm256_setzero_ps();
        for (j = 0; j + 8 <= n; j += 8) {
            __m256 d = _mm256_sub_ps(_mm256_loadu_ps(row + j), mu);
            acc2 = _mm256_fmadd_ps(d, d, acc2);
        }
        float v2 = hsum8(acc2);
        for (; j < n; j++) v2 += (row[j] - mean) * (row[j] - mean);
        var = v2 / (float)n;
#else
        double s = 0;
        for (; j < n; j++) s += (row[j] += rr ? rr[j] : 0.0f);
        mean = (float)(s / (double)n);
        double v = 0;
        for (j = 0; j < n; j++) v += ((double)row[j] - mean) * ((double)row[j] - mean);
        var = (float)(v / (double)n);
#endif
        float inv = 1.0f / sqrtf(var + eps);
        for (j = 0; j < n; j++) row[j] = (row[j] - mean) * inv * g[j] + b[j];
    }
}

void fr__nn_softmax(float *s, size_t m, size_t n) {
    for (size_t i = 0; i < m; i++) {
        float *row = s + i * n, mx = row[0];
        size_t j = 0;
#ifdef FR_AVX2
        if (n >= 8) {
            __m256 vm = _mm256_loadu_ps(row);
            for (j = 8; j + 8 <= n; j += 8) vm = _mm256_max_ps(vm, _mm256_loadu_ps(row + j));
            mx = hmax8(vm);
        }
        for (; j < n; j++) mx = row[j] > mx ? row[j] : mx;
        __m256 vmx = _mm256_set1_ps(mx), acc = _mm256_setzero_ps();
        for (j = 0; j + 8 <= n; j += 8) {
            __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(row + j), vmx));
            _mm256_storeu_ps(row + j, e);
            acc = _mm256_add_ps(acc, e);
        }
        float sum = hsum8(acc);
#else
        for (j = 1; j < n; j++) mx = row[j] > mx ? row[j] : mx;
        float sum = 0;
        j = 0;
#endif
        for (; j < n; j++) sum += (row[j] = expf(row[j] - mx));
        float inv = 1.0f / sum;
        for (j = 0; j < n; j++) row[j] *= inv;
    }
}

// ---- attention ----
void fr__nn_attention(const float *q, const float *k, const float *v, size_t ld, size_t L,
                      size_t d, float scale, float *out, size_t ldo, float *scratch) {
    if (fr__gemm_isa_best() == &fr__gemm_avx512 &&
        fr__nn_attention_avx512(q, k, v, ld, L, d, scale, out, ldo, scratch) == 0)
        return;
    fr__nn_attention_sgemm(q, k, v, ld, L, d, scale, out, ldo, scratch);
}

void fr__nn_attention_sgemm(const float *q, const float *k, const float *v, size_t ld, size_t L,
                            size_t d, float scale, float *out, size_t ldo, float *scratch) {
    // scores (L, L) = scale · q k^T
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)L, (int)L, (int)d, scale, q, (int)ld,
                k, (int)ld, 0.0f, scratch, (int)L);
    fr__nn_softmax(scratch, L, L);
    // out (L, d) = P v
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)L, (int)d, (int)L, 1.0f, scratch,
                (int)L, v, (int)ld, 0.0f, out, (int)ldo);
}

double fr__nn_gemm_gflops(size_t m, size_t n, size_t k, double seconds) {
    return seconds > 0 ? 2.0 * (double)m * (double)n * (double)k / seconds / 1e9 : 0;
}
