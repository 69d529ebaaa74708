/* gemm.c — reduced-precision dense layers: weight packing (BF16 rounding, INT8 per-channel
 * quantisation into the panel layouts of gemm.h), run-time ISA dispatch, and fr__dense_apply
 * (activation quantisation, kernel, activation function).
 *
 * Dispatch: cpuid once (__builtin_cpu_supports), the first supported table in `tables`
 * (fastest first). Workload: thousands of token rows × 384..1536 features per call, from one
 * worker thread per sequence batch.
 */
#include "nn/gemm.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

// ---- dispatch ----
// Fastest first. An AVX-512-VNNI table slots in ahead of avx2 once it can be tested.
static const fr__gemm_isa *const tables[] = {&fr__gemm_avx2, &fr__gemm_ref};
static const fr__gemm_isa *best;
static pthread_once_t best_once = PTHREAD_ONCE_INIT;

static void pick(void) {
    const char *force = getenv("FINERANK_ISA");
    for (size_t i = 0; i < sizeof tables / sizeof *tables; i++) {
        if (force && *force && strcmp(force, tables[i]->name)) continue;
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

int fr__dense_pack(fr__dense *d, fr__wtype type, const float *const *ws, const float *const *bs,
                   const size_t *ns, size_t nw, size_t k) {
    FR_ASSERT(type == FR__WT_BF16 || type == FR__WT_INT8);
    memset(d, 0, sizeof *d);
    d->type = type;
    d->isa = fr__gemm_isa_best();
    d->k = k;
    for (size_t i = 0; i < nw; i++) d->n += ns[i];
    size_t n = d->n;
    d->b = calloc(n ? n : 1, sizeof *d->b);
    if (!d->b) goto oom;
    // row(j): the weight row of output channel j across the concatenated matrices
    const float **rows = malloc((n ? n : 1) * sizeof *rows);
    if (!rows) goto oom;
    for (size_t i = 0, j = 0; i < nw; i++)
        for (size_t r = 0; r < ns[i]; r++, j++) {
            rows[j] = ws[i] + r * k;
            if (bs && bs[i]) d->b[j] = bs[i][r];
        }
    if (type == FR__WT_INT8) {
        d->np = round_up(n, 4);
        d->kp = round_up(k ? k : 1, 32);
        d->q = calloc(d->np * d->kp * 2, 1);
        d->scale = calloc(d->np, sizeof *d->scale);
        if (!d->q || !d->scale) { free(rows); goto oom; }
        size_t nkb = d->kp / 32;
        for (size_t j = 0; j < n; j++) {
            float amax = 0;
            for (size_t c = 0; c < k; c++) amax = fmaxf(amax, fabsf(rows[j][c]));
            if (amax == 0) continue;  // an all-zero channel: q = 0, scale = 0
            float inv = 127.0f / amax;
            d->scale[j] = amax / 127.0f;
            int8_t *panel = d->q + (j / 4) * nkb * 256 + (j % 4) * 32;
            for (size_t c = 0; c < k; c++) {
                float v = nearbyintf(rows[j][c] * inv);
                v = v > 127 ? 127 : v < -127 ? -127 : v;
                panel[(c / 32) * 256 + c % 32] = (int8_t)fabsf(v);       // |q|
                panel[(c / 32) * 256 + 128 + c % 32] = (int8_t)v;        // q
            }
        }
    } else {
        d->np = round_up(n, 16);
        d->kp = k;
        d->bf = calloc(d->np * (k ? k : 1), sizeof *d->bf);
        if (!d->bf) { free(rows); goto oom; }
        for (size_t j = 0; j < n; j++) {
            uint16_t *panel = d->bf + (j / 16) * k * 16 + j % 16;
            for (size_t c = 0; c < k; c++) panel[c * 16] = fr__bf16_from_f32(rows[j][c]);
        }
    }
    free(rows);
    return 0;
oom:
    fr__dense_free(d);
    return FR_ENOMEM;
}

void fr__dense_free(fr__dense *d) {
    if (!d) return;
    free(d->b);
    free(d->q);
    free(d->scale);
    free(d->bf);
    memset(d, 0, sizeof *d);
}

// ---- apply ----
size_t fr__dense_scratch_bytes(size_t m, size_t k) {
    return m * round_up(k ? k : 1, 32) + m * sizeof(float) + 64;
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
        d->isa->bf16(d, x, m, y, ldy);
    }
    if (act != FR__NN_NONE)
        for (size_t i = 0; i < m; i++) fr__nn_act_apply(y + i * ldy, d->n, act);
}
