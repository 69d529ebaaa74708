/* gemm.c — reduced-precision dense layers: weight packing (BF16 rounding, INT8 per-channel
 * quantisation into the panel layouts of gemm.h), run-time ISA dispatch, and fr__dense_apply
 * (activation quantisation, kernel, activation function).
 *
 * Dispatch: cpuid once (__builtin_cpu_supports), the first supported table in `tables`
 * (fastest first), or the one FINERANK_ISA names. Workload: thousands of token rows × 384..1536 features per call, from one
 * worker thread per sequence batch.
 */
#include "nn/gemm.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

// ---- dispatch ----
// Fastest first. AVX-VNNI (VEX, ymm: Alder Lake, Zen 5 client) would slot in between avx512
// and avx2; no machine here has it to test on.
static const fr__gemm_isa *const tables[] = {&fr__gemm_avx512, &fr__gemm_avx2, &fr__gemm_ref};
static const fr__gemm_isa *best;
static pthread_once_t best_once = PTHREAD_ONCE_INIT;

static void pick(void) {
    const char *force = getenv("FINERANK_ISA");
    for (int pass = 0; pass < 2; pass++)  // pass 0 honours FINERANK_ISA, pass 1 ignores it
        for (size_t i = 0; i < sizeof tables / sizeof *tables; i++) {
            if (!pass && (!force || strcmp(force, tables[i]->name))) continue;
            if (tables[i]->supported()) { best = tables[i]; return; }
        }
    best = &fr__gemm_ref;
}

const fr__gemm_isa *fr__gemm_isa_best(void) {
    pthread_once(&best_once, pick);
    return best;
}

// ---- packing ----
static size_t round_up(size_t x, size_t m) { return (x + m - 1) / m * m; }

// Quantises one weight row (k) to q (k) per gemm.h's INT8 rule. Returns its scale (0 for an
// all-zero row, whose q is all zero).
static float quant_row(const float *r, size_t k, int8_t *q) {
    float amax = 0;
    for (size_t c = 0; c < k; c++) amax = fmaxf(amax, fabsf(r[c]));
    memset(q, 0, k);
    if (amax == 0) return 0;
    float inv = 127.0f / amax;
    for (size_t c = 0; c < k; c++) {
        float v = nearbyintf(r[c] * inv);
        q[c] = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
    }
    return amax / 127.0f;
}

int fr__dense_pack(fr__dense *d, fr__wtype type, const float *const *ws, const float *const *bs,
                   const size_t *ns, size_t nw, size_t k) {
    return fr__dense_pack_isa(d, fr__gemm_isa_best(), type, ws, bs, ns, nw, k);
}

int fr__dense_pack_isa(fr__dense *d, const fr__gemm_isa *isa, fr__wtype type,
                       const float *const *ws, const float *const *bs, const size_t *ns,
                       size_t nw, size_t k) {
    return fr__dense_pack_in(d, isa, type, ws, bs, ns, nw, k, NULL);
}

size_t fr__dense_weight_bytes(const fr__gemm_isa *isa, fr__wtype type, size_t n, size_t k) {
    const int zmm = isa->layout == FR__LAYOUT_ZMM;
    size_t b;
    if (type == FR__WT_INT8) b = round_up(n, zmm ? 16 : 4) * round_up(k ? k : 1, zmm ? 4 : 32) * (zmm ? 1 : 2);
    else b = round_up(n, 16) * (zmm ? round_up(k, 2) : k) * sizeof(uint16_t);
    return round_up(b ? b : 1, 64);
}

int fr__dense_pack_in(fr__dense *d, const fr__gemm_isa *isa, fr__wtype type,
                      const float *const *ws, const float *const *bs, const size_t *ns, size_t nw,
                      size_t k, void *mem) {
    FR_ASSERT(type == FR__WT_BF16 || type == FR__WT_INT8);
    memset(d, 0, sizeof *d);
    const int zmm = isa->layout == FR__LAYOUT_ZMM;
    d->borrowed = mem != NULL;
    const float **rows = NULL;
    int8_t *qrow = NULL;
    d->type = type;
    d->isa = isa;
    d->k = k;
    for (size_t i = 0; i < nw; i++) d->n += ns[i];
    size_t n = d->n;
    d->b = calloc(n ? n : 1, sizeof *d->b);
    // row(j): the weight row of output channel j across the concatenated matrices
    rows = malloc((n ? n : 1) * sizeof *rows);
    if (!d->b || !rows) goto oom;
    for (size_t i = 0, j = 0; i < nw; i++)
        for (size_t r = 0; r < ns[i]; r++, j++) {
            rows[j] = ws[i] + r * k;
            if (bs && bs[i]) d->b[j] = bs[i][r];
        }
    if (type == FR__WT_INT8) {
        d->np = round_up(n, zmm ? 16 : 4);
        d->kp = round_up(k ? k : 1, zmm ? 4 : 32);
        d->q = mem ? mem : calloc(d->np * d->kp * (zmm ? 1 : 2), 1);
        d->scale = calloc(d->np, sizeof *d->scale);
        d->wsum = zmm ? calloc(d->np, sizeof *d->wsum) : NULL;
        qrow = malloc(k ? k : 1);
        if (!d->q || !d->scale || (zmm && !d->wsum) || !qrow) goto oom;
        size_t nkb = d->kp / 32;
        for (size_t j = 0; j < n; j++) {
            d->scale[j] = quant_row(rows[j], k, qrow);
            if (zmm) {
                // (np/16, kp/4, 16, 4)
                int8_t *panel = d->q + (j / 16) * d->kp * 16 + (j % 16) * 4;
                int32_t sum = 0;
                for (size_t c = 0; c < k; c++) {
                    panel[(c / 4) * 64 + c % 4] = qrow[c];
                    sum += qrow[c];
                }
                d->wsum[j] = -128 * sum;  // |sum| <= 127 k: no overflow below k = 2^17
            } else {
                int8_t *panel = d->q + (j / 4) * nkb * 256 + (j % 4) * 32;
                for (size_t c = 0; c < k; c++) {
                    panel[(c / 32) * 256 + c % 32] = (int8_t)(qrow[c] < 0 ? -qrow[c] : qrow[c]);  // |q|
                    panel[(c / 32) * 256 + 128 + c % 32] = qrow[c];                              // q
                }
            }
        }
    } else {
        d->np = round_up(n, 16);
        d->kp = zmm ? round_up(k, 2) : k;
        d->bf = mem ? mem : calloc(d->np * (d->kp ? d->kp : 1), sizeof *d->bf);
        if (!d->bf) goto oom;
        for (size_t j = 0; j < n; j++) {
            uint16_t *panel = d->bf + (j / 16) * d->kp * 16;
            for (size_t c = 0; c < k; c++) {
                uint16_t h = fr__bf16_from_f32(rows[j][c]);
                if (zmm) panel[(c / 2) * 32 + (j % 16) * 2 + c % 2] = h;  // (kp/2, 16, 2)
                else panel[c * 16 + j % 16] = h;                          // (k, 16)
            }
        }
    }
    free(rows);
    free(qrow);
    return 0;
oom:
    free(rows);
    free(qrow);
    fr__dense_free(d);
    return FR_ENOMEM;
}

void fr__dense_free(fr__dense *d) {
    if (!d) return;
    free(d->b);
    if (!d->borrowed) {
        free(d->q);
        free(d->bf);
    }
    free(d->scale);
    free(d->wsum);
    memset(d, 0, sizeof *d);
}

// ---- apply ----
// INT8: m scales, then the (m, kp) activation bytes at a 64-byte offset; BF16 (avx512): the
// (m, kp) bf16 activations. The larger of the two.
size_t fr__dense_scratch_bytes(size_t m, size_t k) {
    return m * round_up(k ? k : 1, 32) * 2 + m * sizeof(float) + 64;
}

void fr__dense_apply(const fr__dense *d, const float *x, size_t m, float *y, size_t ldy,
                     fr__nn_act act, void *scratch) {
    if (!m) return;
    if (d->type == FR__WT_INT8) {
        // scales first (4-aligned), then the (m, kp) int8 rows (32-aligned offset)
        float *xs = scratch;
        int8_t *xq = (int8_t *)scratch + round_up(m * sizeof(float), 64);
        d->isa->quant_rows(x, m, d->k, d->kp, xq, xs);
        d->isa->q8(d, xq, xs, m, y, ldy);
    } else {
        d->isa->bf16(d, x, m, y, ldy, scratch);
    }
    if (act != FR__NN_NONE)
        for (size_t i = 0; i < m; i++) fr__nn_act_apply(y + i * ldy, d->n, act);
}
