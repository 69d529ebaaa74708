/* test_nn.c — the few-row dense layer (src/nn/skinny.c) against a double-precision reference
 * y = act(x · W^T + b): every tile shape and tail (m odd and even, n not a multiple of 4, k not
 * a multiple of 8), a row stride wider than n, bias and no bias, an activation; and
 * fr__nn_linear on both sides of FR__NN_SKINNY_M (skinny below, OpenBLAS above) against the
 * same reference, so the switch between them changes results only by float rounding.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "nn/nn.h"
#include "test.h"

static uint64_t rng = 88172645463325252ull;
static float urand(void) {
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (float)((double)(rng >> 11) / 9007199254740992.0 * 2 - 1);
}

// max |y - ref| / (1 + |ref|) over the (m, n) block of y (row stride ldy); untouched padding
// columns must keep their sentinel.
static double check(size_t m, size_t k, size_t n, int use_bias, fr__nn_act act, int skinny) {
    size_t ldy = n + 3;
    float *x = malloc(m * k * sizeof *x), *w = malloc(n * k * sizeof *w), *b = malloc(n * sizeof *b);
    float *y = malloc(m * ldy * sizeof *y);
    for (size_t i = 0; i < m * k; i++) x[i] = urand();
    for (size_t i = 0; i < n * k; i++) w[i] = urand() / sqrtf((float)k);
    for (size_t i = 0; i < n; i++) b[i] = urand();
    for (size_t i = 0; i < m * ldy; i++) y[i] = 12345.0f;
    if (skinny) fr__nn_linear_skinny(x, m, k, w, use_bias ? b : NULL, n, y, ldy, act);
    else fr__nn_linear(x, m, k, w, use_bias ? b : NULL, n, y, ldy, act);
    double worst = 0;
    for (size_t i = 0; i < m; i++) {
        for (size_t j = 0; j < n; j++) {
            double s = use_bias ? b[j] : 0;
            for (size_t p = 0; p < k; p++) s += (double)x[i * k + p] * w[j * k + p];
            if (act == FR__NN_GELU) s = 0.5 * s * (1 + erf(s / sqrt(2.0)));
            double e = fabs(y[i * ldy + j] - s) / (1 + fabs(s));
            if (e > worst) worst = e;
        }
        for (size_t j = n; j < ldy; j++) CHECK(y[i * ldy + j] == 12345.0f);
    }
    free(x); free(w); free(b); free(y);
    return worst;
}

int main(void) {
    static const size_t ms[] = {1, 2, 3, 5, 10, 31, 32};
    static const size_t ks[] = {1, 7, 8, 17, 384, 387};
    static const size_t ns[] = {1, 3, 4, 5, 9, 64};
    double worst = 0;
    for (size_t a = 0; a < sizeof ms / sizeof *ms; a++)
        for (size_t c = 0; c < sizeof ks / sizeof *ks; c++)
            for (size_t d = 0; d < sizeof ns / sizeof *ns; d++)
                for (int bias = 0; bias < 2; bias++) {
                    double e = check(ms[a], ks[c], ns[d], bias, bias ? FR__NN_GELU : FR__NN_NONE, 1);
                    if (e > worst) worst = e;
                    CHECK(e < 1e-5);
                }
    // fr__nn_linear below and above the switch: a MiniLM-shaped FFN layer
    double below = check(FR__NN_SKINNY_M ? FR__NN_SKINNY_M : 1, 384, 1536, 1, FR__NN_GELU, 0);
    double above = check(FR__NN_SKINNY_M + 1, 384, 1536, 1, FR__NN_GELU, 0);
    CHECK(below < 1e-5);
    CHECK(above < 1e-5);
    printf("skinny: max rel error %.2e; fr__nn_linear m=%d %.2e, m=%d (sgemm) %.2e\n", worst,
           FR__NN_SKINNY_M, below, FR__NN_SKINNY_M + 1, above);
    return TEST_REPORT();
}
