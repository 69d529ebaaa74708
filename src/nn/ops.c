/* ops.c — the element-wise and row-wise kernels of a BERT-style encoder, float32:
 * fused bias + activation after a dense layer, residual + LayerNorm, row softmax, one
 * attention head, and the dense layer itself (OpenBLAS cblas_sgemm, the fastest sgemm packaged
 * for this CPU; writing our own would not beat it).
 *
 * Tuned for the packed layout of model/encoder.c: (tokens, features) rows, thousands of rows
 * per call. Accuracy follows PyTorch: GELU is the exact erf form (torch.nn.functional.gelu) or
 * the tanh approximation (transformers' NewGELUActivation); LayerNorm uses the biased variance
 * (torch.nn.functional.layer_norm), accumulated in double here so rounding stays below
 * PyTorch's own.
 */
#include "nn/nn.h"

#include <cblas.h>
#include <math.h>

// ---- activations ----
// GELU, exact: x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2))  (Hendrycks & Gimpel 2016, eq. 1).
// erf by the Abramowitz & Stegun 7.1.26-style rational form is too coarse (1.5e-7 absolute is
// fine, but needs expf anyway); glibc's erff is correctly rounded to < 1 ulp, so use it and
// let the exp-free fast path below handle the saturated tails.
static inline float gelu(float x) {
    if (x > 10.0f) return x;
    if (x < -10.0f) return 0.0f;
    return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
}
// GELU, tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
// (transformers activations.py NewGELUActivation; torch gelu(approximate="tanh")).
static inline float gelu_tanh(float x) {
    return 0.5f * x * (1.0f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)));
}

void fr__nn_act_apply(float *x, size_t n, fr__nn_act act) {
    switch (act) {
    case FR__NN_NONE: break;
    case FR__NN_GELU: for (size_t i = 0; i < n; i++) x[i] = gelu(x[i]); break;
    case FR__NN_GELU_TANH: for (size_t i = 0; i < n; i++) x[i] = gelu_tanh(x[i]); break;
    case FR__NN_RELU: for (size_t i = 0; i < n; i++) x[i] = x[i] > 0 ? x[i] : 0.0f; break;
    case FR__NN_TANH: for (size_t i = 0; i < n; i++) x[i] = tanhf(x[i]); break;
    }
}

// ---- dense ----
void fr__nn_linear(const float *x, size_t m, size_t k, const float *w, const float *b, size_t n,
                   float *y, size_t ldy, fr__nn_act act) {
    if (!m) return;
    // y = x · W^T: W is (n, k) row-major, i.e. (k, n) column-major — sgemm's "transpose B".
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)n, (int)k, 1.0f, x, (int)k,
                w, (int)k, 0.0f, y, (int)ldy);
    for (size_t i = 0; i < m; i++) {
        float *r = y + i * ldy;
        if (b)
            for (size_t j = 0; j < n; j++) r[j] += b[j];
        fr__nn_act_apply(r, n, act);
    }
}

// ---- normalisation ----
void fr__nn_layernorm(float *x, const float *r, size_t m, size_t n, const float *g, const float *b,
                      float eps) {
    for (size_t i = 0; i < m; i++) {
        float *row = x + i * n;
        if (r)
            for (size_t j = 0; j < n; j++) row[j] += r[i * n + j];
        double s = 0;
        for (size_t j = 0; j < n; j++) s += row[j];
        double mean = s / (double)n, v = 0;
        for (size_t j = 0; j < n; j++) v += ((double)row[j] - mean) * ((double)row[j] - mean);
        float inv = (float)(1.0 / sqrt(v / (double)n + (double)eps)), mu = (float)mean;
        for (size_t j = 0; j < n; j++) row[j] = (row[j] - mu) * inv * g[j] + b[j];
    }
}

void fr__nn_softmax(float *s, size_t m, size_t n) {
    for (size_t i = 0; i < m; i++) {
        float *row = s + i * n, mx = row[0];
        for (size_t j = 1; j < n; j++) mx = row[j] > mx ? row[j] : mx;
        float sum = 0;
        for (size_t j = 0; j < n; j++) sum += (row[j] = expf(row[j] - mx));
        float inv = 1.0f / sum;
        for (size_t j = 0; j < n; j++) row[j] *= inv;
    }
}

// ---- attention ----
void fr__nn_attention(const float *q, const float *k, const float *v, size_t ld, size_t L,
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
