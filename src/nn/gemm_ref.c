/* gemm_ref.c — the portable C kernels of gemm.h: the definition of what every ISA variant
 * must compute. INT8: bit-identical (integer dot products, then the one rounding of
 * fmaf(acc, sx * sw, b)). BF16: each output is fmaf-accumulated over k in increasing order
 * from 0, then the bias is added — the AVX2 kernel does the same per lane, so it matches
 * bit for bit too (tests/test_quant.c checks both).
 * Straight loops over the packed panels; not tuned (the AVX2 path is the fast one).
 */
#include <math.h>
#include <string.h>

#include "nn/gemm.h"

// Per row: scale = max|x| / 127, q = round_half_even(x * (127 / max|x|)). nearbyintf rounds
// in the current mode (to nearest even), as cvtps2dq does.
static void quant_rows(const float *x, size_t m, size_t k, size_t kp, int8_t *xq, float *xs) {
    for (size_t i = 0; i < m; i++) {
        const float *r = x + i * k;
        int8_t *q = xq + i * kp;
        float amax = 0;
        for (size_t c = 0; c < k; c++) amax = fmaxf(amax, fabsf(r[c]));
        memset(q, 0, kp);
        xs[i] = amax / 127.0f;
        if (amax == 0) continue;
        float inv = 127.0f / amax;
        for (size_t c = 0; c < k; c++) {
            float v = nearbyintf(r[c] * inv);
            q[c] = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
        }
    }
}

static void q8(const fr__dense *d, const int8_t *xq, const float *xs, size_t m, float *y,
               size_t ldy) {
    size_t nkb = d->kp / 32;
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < d->n; j++) {
            const int8_t *w = d->q + (j / 4) * nkb * 256 + 128 + (j % 4) * 32, *a = xq + i * d->kp;
            int32_t acc = 0;
            for (size_t c = 0; c < d->kp; c++) acc += (int32_t)a[c] * w[(c / 32) * 256 + c % 32];
            y[i * ldy + j] = fmaf((float)acc, xs[i] * d->scale[j], d->b[j]);
        }
}

static void bf16(const fr__dense *d, const float *x, size_t m, float *y, size_t ldy,
                 void *scratch) {
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < d->n; j++) {
            const uint16_t *w = d->bf + (j / 16) * d->k * 16 + j % 16;
            float acc = 0;
            for (size_t c = 0; c < d->k; c++) acc = fmaf(x[i * d->k + c], fr__bf16_to_f32(w[c * 16]), acc);
            y[i * ldy + j] = acc + d->b[j];
        }
}

static int always(void) { return 1; }

const fr__gemm_isa fr__gemm_ref = {"ref", always, FR__LAYOUT_PAIRS, quant_rows, q8, bf16};
