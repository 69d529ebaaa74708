/* nn.h — float32 kernels for transformer encoders: dense layers (OpenBLAS sgemm; nn/skinny.c
 * for a few rows), fused
 * bias + activation, residual + LayerNorm, row softmax, single-head attention.
 * All matrices are row-major; weights use PyTorch's nn.Linear layout (out_features, in_features).
 * Kernels are single-threaded: callers parallelise over sequences (see model/encoder.c).
 */
#ifndef FR_NN_H
#define FR_NN_H

#include <stddef.h>

typedef enum { FR__NN_NONE, FR__NN_GELU, FR__NN_GELU_TANH, FR__NN_RELU, FR__NN_TANH } fr__nn_act;

// y (m, n) with row stride ldy = act(x (m, k) · W^T + b); W (n, k), b (n) or NULL.
void fr__nn_linear(const float *x, size_t m, size_t k, const float *w, const float *b, size_t n,
                   float *y, size_t ldy, fr__nn_act act);

// The same for m <= FR__NN_SKINNY_M rows without OpenBLAS (nn/skinny.c: W read in place, no
// packing); fr__nn_linear calls it for such m. Results agree with sgemm to float rounding.
// Only AVX2 + FMA builds take it (its portable path is a plain loop, slower than sgemm).
#if defined(__AVX2__) && defined(__FMA__)
#define FR__NN_SKINNY_M 20
#else
#define FR__NN_SKINNY_M 0
#endif
void fr__nn_linear_skinny(const float *x, size_t m, size_t k, const float *w, const float *b,
                          size_t n, float *y, size_t ldy, fr__nn_act act);

// x (m, n) = LayerNorm(x + r) with gamma g, beta b, eps (r may be NULL).
void fr__nn_layernorm(float *x, const float *r, size_t m, size_t n, const float *g, const float *b,
                      float eps);

// In place: row-wise softmax of s (m, n).
void fr__nn_softmax(float *s, size_t m, size_t n);

// Applies act to x[0..n).
void fr__nn_act_apply(float *x, size_t n, fr__nn_act act);

// One head of scaled dot-product attention over one sequence of L tokens:
// out (L, d) with row stride ldo = softmax(q k^T * scale) v; q, k, v (L, d) with row stride ld.
// scratch holds L * L floats.
// On CPUs where the avx512 dense table is dispatched (nn/gemm.h), heads with d % 16 == 0 run
// fused in attn_avx512.c; otherwise OpenBLAS sgemm + fr__nn_softmax.
void fr__nn_attention(const float *q, const float *k, const float *v, size_t ld, size_t L,
                      size_t d, float scale, float *out, size_t ldo, float *scratch);
// The sgemm path alone (tests compare the two).
void fr__nn_attention_sgemm(const float *q, const float *k, const float *v, size_t ld, size_t L,
                            size_t d, float scale, float *out, size_t ldo, float *scratch);
// attn_avx512.c: the fused path; -1 (nothing written) for shapes it does not take. Only on a
// CPU with AVX-512F.
int fr__nn_attention_avx512(const float *q, const float *k, const float *v, size_t ld, size_t L,
                            size_t d, float scale, float *out, size_t ldo, float *scratch);

// Single-threaded sgemm throughput in GFLOP/s on an (m, k) x (k, n) product, for benchmarks.
double fr__nn_gemm_gflops(size_t m, size_t n, size_t k, double seconds);

#endif
