/* test_quant.c — reduced-precision dense layers (src/nn/gemm*.c) and the encoder at
 * --dtype bf16 / int8.
 *  1. Kernels: every ISA table this CPU runs equals the portable reference bit for bit (int8:
 *     integer math; bf16: same fmaf order), and both stay within the analytic quantisation
 *     bound of the float32 product.
 *  2. Models: the committed random-weight checkpoints and a MiniLM-L6-shaped one generated here
 *     from a seed (vocab cut to 1000 to stay small): per-query Spearman of scores vs F32, top-10
 *     order, max |logit error|. Numbers are printed; FR_QUANT_PAIRS=N scores N MiniLM pairs
 *     (default 200, to keep CI short).
 */
#include <ftw.h>
#include <sys/wait.h>
#include <stdint.h>

#include "finerank.h"
#include "nn/gemm.h"
#include "test.h"

// ---- deterministic random numbers ----
static uint64_t rng = 88172645463325252ull;
static uint32_t rnd(void) {
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (uint32_t)(rng >> 32);
}
static float unif(void) { return (float)(rnd() / 4294967296.0); }
static float gauss(void) {
    float u = (float)((rnd() + 1.0) / 4294967297.0), v = unif();  // u in (0, 1]
    return sqrtf(-2.0f * logf(u)) * cosf(6.2831853f * v);
}

// ---- kernels ----
static void test_bf16_rounding(void) {
    union { uint32_t u; float f; } v;
    v.u = 0x3f808000u; CHECK_EQ(fr__bf16_from_f32(v.f), 0x3f80);  // tie -> even
    v.u = 0x3f818000u; CHECK_EQ(fr__bf16_from_f32(v.f), 0x3f82);  // tie -> even (up)
    v.u = 0x3f808001u; CHECK_EQ(fr__bf16_from_f32(v.f), 0x3f81);  // above tie -> up
    v.u = 0x3f807fffu; CHECK_EQ(fr__bf16_from_f32(v.f), 0x3f80);
    v.u = 0x7f7fffffu; CHECK_EQ(fr__bf16_from_f32(v.f), 0x7f80);  // FLT_MAX rounds to inf
    CHECK(fr__bf16_to_f32(0x3f80) == 1.0f);
    CHECK(fr__bf16_to_f32(fr__bf16_from_f32(-2.5f)) == -2.5f);
}

// Every ISA table, portable reference first; tables this CPU cannot run are skipped.
static const fr__gemm_isa *const isas[3] = {&fr__gemm_ref, &fr__gemm_avx2, &fr__gemm_avx512};
enum { N_ISA = 3 };

// One shape: packs W (n, k) as two concatenated blocks for every ISA table this CPU runs,
// compares each with the reference: INT8 bit for bit on all; BF16 bit for bit on avx2, and
// within gemm_avx512.c's stated bound on avx512 (it rounds activations to bf16).
static void check_shape(size_t m, size_t n, size_t k, float xscale) {
    float *x = malloc(m * k * sizeof *x), *w = malloc(n * k * sizeof *w), *b = malloc(n * sizeof *b);
    float *yf = malloc(m * n * sizeof *yf), *yr = malloc(m * n * sizeof *yr);
    float *ya = malloc(m * n * sizeof *ya);
    double *mag = malloc(m * n * sizeof *mag);  // sum_k |x w|
    void *scr = malloc(fr__dense_scratch_bytes(m, k));
    for (size_t i = 0; i < m * k; i++) x[i] = gauss() * xscale;
    for (size_t i = 0; i < n * k; i++) w[i] = gauss() / sqrtf((float)k);
    for (size_t i = 0; i < n; i++) b[i] = gauss() * 0.1f;
    if (m > 1) for (size_t c = 0; c < k; c++) x[k + c] = 0;  // an all-zero row
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double s = b[j], a = 0;
            for (size_t c = 0; c < k; c++) {
                s += (double)x[i * k + c] * w[j * k + c];
                a += fabs((double)x[i * k + c] * w[j * k + c]);
            }
            yf[i * n + j] = (float)s;
            mag[i * n + j] = a;
        }
    size_t n0 = n / 3, ns[2] = {n0, n - n0};
    const float *ws[2] = {w, w + n0 * k}, *bs[2] = {b, b + n0};
    for (int t = 0; t < 2; t++) {
        fr__wtype wt = t ? FR__WT_INT8 : FR__WT_BF16;
        fr__dense d;
        CHECK_EQ(fr__dense_pack_isa(&d, &fr__gemm_ref, wt, ws, bs, ns, 2, k), 0);
        CHECK_EQ(d.n, n);
        fr__dense_apply(&d, x, m, yr, n, FR__NN_NONE, scr);
        for (int v = 1; v < N_ISA; v++) {
            if (!isas[v]->supported()) continue;
            fr__dense dv;
            CHECK_EQ(fr__dense_pack_isa(&dv, isas[v], wt, ws, bs, ns, 2, k), 0);
            CHECK(dv.isa == isas[v]);
            fr__dense_apply(&dv, x, m, ya, n, FR__NN_NONE, scr);
            if (t || isas[v]->layout == FR__LAYOUT_PAIRS) {
                int same = memcmp(yr, ya, m * n * sizeof *yr) == 0;  // bit-identical
                CHECK(same);
                if (!same)
                    fprintf(stderr, "  %s %s differs from ref at m %zu n %zu k %zu\n", isas[v]->name,
                            t ? "int8" : "bf16", m, n, k);
            } else {
                // gemm_avx512.c: |y - y_ref| <= 2^-8 sum|x w| + k 2^-23 sum|x w| + 1e-6
                int bad = 0;
                for (size_t e = 0; e < m * n; e++)
                    bad += fabs((double)ya[e] - yr[e]) > mag[e] * (1.0 / 256 + (double)k / 8388608) + 1e-6;
                CHECK_EQ(bad, 0);
            }
            fr__dense_free(&dv);
        }
        // Bound vs float32: bf16, |dw| <= 2^-9 |w| per weight; int8, per product
        // |x w - x' w'| <= |x| sw/2 + (|w| + sw/2) sx/2; plus float rounding of the sums.
        int bad = 0;
        for (size_t i = 0; i < m; i++) {
            float amax = 0;
            for (size_t c = 0; c < k; c++) amax = fmaxf(amax, fabsf(x[i * k + c]));
            float sx = amax / 127;
            for (size_t j = 0; j < n; j++) {
                float wmax = 0;
                for (size_t c = 0; c < k; c++) wmax = fmaxf(wmax, fabsf(w[j * k + c]));
                float sw = wmax / 127;
                double bound = 0, mg = fabs(b[j]);
                for (size_t c = 0; c < k; c++) {
                    double xa = fabs(x[i * k + c]), wa = fabs(w[j * k + c]);
                    mg += xa * wa;
                    bound += t ? xa * sw / 2 + (wa + sw / 2) * sx / 2 : xa * wa / 256;
                }
                bound += mg * 2e-6 + 1e-6;
                if (fabs((double)yr[i * n + j] - yf[i * n + j]) > bound) bad++;
            }
        }
        CHECK_EQ(bad, 0);
        // the activation after the product is the float32 one (on the dispatched table)
        fr__dense db;
        CHECK_EQ(fr__dense_pack(&db, wt, ws, bs, ns, 2, k), 0);
        CHECK(db.isa == fr__gemm_isa_best());
        fr__dense_apply(&db, x, m, ya, n, FR__NN_GELU, scr);
        fr__dense_apply(&db, x, m, yr, n, FR__NN_NONE, scr);
        for (size_t i = 0; i < m; i++) fr__nn_act_apply(yr + i * n, n, FR__NN_GELU);
        CHECK(memcmp(yr, ya, m * n * sizeof *yr) == 0);
        fr__dense_free(&db);
        fr__dense_free(&d);
        fr__dense_free(&d);  // idempotent
    }
    free(x); free(w); free(b); free(yf); free(yr); free(ya); free(mag); free(scr);
}

// Extreme int8 values: every |a| = |w| = 127 (vpmaddubsw's s16 pair sums at their largest;
// vpdpbusd's u8 activations at 1 and 255), over a long k with a tail, on every table.
static void check_extremes(size_t k) {
    float *x = malloc(2 * k * sizeof *x), *w = malloc(5 * k * sizeof *w), y[10], yr[10];
    for (size_t c = 0; c < k; c++) { x[c] = -1; x[k + c] = (c & 1) ? 2.0f : -2.0f; }
    for (size_t c = 0; c < 5 * k; c++) w[c] = (c / k) & 1 ? -1.0f : 1.0f;
    const float *ws[1] = {w};
    size_t n5 = 5;
    void *scr = malloc(fr__dense_scratch_bytes(2, k));
    for (int v = 0; v < N_ISA; v++) {
        if (!isas[v]->supported()) continue;
        fr__dense d;
        CHECK_EQ(fr__dense_pack_isa(&d, isas[v], FR__WT_INT8, ws, NULL, &n5, 1, k), 0);
        fr__dense_apply(&d, x, 2, v ? y : yr, 5, FR__NN_NONE, scr);
        fr__dense_free(&d);
        if (!v) {
            CHECK(yr[0] == -(float)k && yr[1] == (float)k && yr[4] == -(float)k);
            CHECK(yr[5] == (k % 2 ? -2.0f : 0.0f));
        } else {
            CHECK(memcmp(y, yr, sizeof y) == 0);
        }
    }
    free(x); free(w); free(scr);
}

static void test_kernels(void) {
    // k: 1, not a multiple of 2 / 4 / 32 / 64, and the model's 384 / 1536; n: 16-channel
    // panel tails and 4-panel group tails; m: 6-row tile tails and more than one row block.
    static const size_t shapes[][3] = {{1, 1, 1}, {2, 3, 5}, {3, 5, 7}, {7, 17, 33}, {13, 20, 64},
                                       {69, 37, 70}, {130, 48, 384}, {9, 100, 1536}, {6, 64, 3},
                                       {5, 65, 6}, {12, 81, 383}, {200, 33, 130}, {1, 113, 97},
                                       {8, 16, 2}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        check_shape(shapes[s][0], shapes[s][1], shapes[s][2], s % 2 ? 3.0f : 0.5f);
    // A query's few rows: every row count of one and two 6-row tiles (gemm_avx512.c's kernels
    // specialised per count), n = 200 (13 panels: groups that prefetch the next one, a
    // 1-panel last group), and the 96-row block edge.
    for (size_t m = 1; m <= 12; m++) check_shape(m, 200, 384, m % 2 ? 3.0f : 0.5f);
    check_shape(96, 130, 64, 1.0f);
    check_shape(97, 130, 64, 1.0f);
    check_extremes(256);
    check_extremes(4099);
    for (int v = 1; v < N_ISA; v++)
        if (!isas[v]->supported()) {
            char msg[160];
            snprintf(msg, sizeof msg, "this CPU lacks the %s table's features: only the other tables ran",
                     isas[v]->name);
            TEST_SKIP(msg);
        }
    CHECK(fr__gemm_isa_best() != NULL);
    printf("dense kernels: dispatched table %s\n", fr__gemm_isa_best()->name);
}

// ---- fused AVX-512 attention (nn/attn_avx512.c) vs the sgemm path ----
static void test_attention(void) {
    if (!fr__gemm_avx512.supported()) { TEST_SKIP("no AVX-512: the fused attention kernel not run"); return; }
    static const size_t Ls[] = {1, 7, 15, 16, 17, 40, 64, 128, 200};
    static const size_t ds[] = {16, 32, 64, 8, 24};
    int ran = 0;
    double worst = 0;
    for (size_t a = 0; a < sizeof ds / sizeof *ds; a++)
        for (size_t b = 0; b < sizeof Ls / sizeof *Ls; b++) {
            size_t d = ds[a], L = Ls[b], ld = 3 * d + 5, ldo = d + 3;
            float *qkv = malloc(L * ld * sizeof *qkv), *sc = malloc(L * L * sizeof *sc);
            float *o1 = calloc(L * ldo, sizeof *o1), *o2 = calloc(L * ldo, sizeof *o2);
            for (size_t i = 0; i < L * ld; i++) qkv[i] = gauss() * 1.5f;
            float scale = 1.0f / sqrtf((float)d);
            fr__nn_attention_sgemm(qkv, qkv + d, qkv + 2 * d, ld, L, d, scale, o1, ldo, sc);
            int rc = fr__nn_attention_avx512(qkv, qkv + d, qkv + 2 * d, ld, L, d, scale, o2, ldo, sc);
            int takes = d % 16 == 0 && (d + 8) * ((L + 15) / 16 * 16) <= L * L;
            CHECK_EQ(rc, takes ? 0 : -1);
            if (rc == 0) {
                ran++;
                int bad = 0;
                for (size_t i = 0; i < L; i++)
                    for (size_t c = 0; c < ldo; c++) {
                        double e = fabs((double)o1[i * ldo + c] - o2[i * ldo + c]);
                        if (c >= d) bad += o2[i * ldo + c] != 0;  // nothing past d written
                        else if (e > 1e-5 * (1 + fabs(o1[i * ldo + c]))) bad++;
                        if (c < d && e > worst) worst = e;
                    }
                CHECK_EQ(bad, 0);
            }
            free(qkv); free(sc); free(o1); free(o2);
        }
    CHECK_EQ(ran, 9);
    printf("fused attention: %d shapes, max |avx512 - sgemm| %.3g\n", ran, worst);
}

// ---- model-level accuracy ----
typedef struct { size_t i; float v; } iv;
static int cmp_iv(const void *a, const void *b) {
    const iv *x = a, *y = b;
    return x->v < y->v ? -1 : x->v > y->v ? 1 : (x->i > y->i) - (x->i < y->i);
}
static void ranks(const float *v, size_t n, double *r) {
    iv *a = malloc(n * sizeof *a);
    for (size_t i = 0; i < n; i++) a[i] = (iv){i, v[i]};
    qsort(a, n, sizeof *a, cmp_iv);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && a[j + 1].v == a[i].v) j++;
        for (size_t t = i; t <= j; t++) r[a[t].i] = (i + j) / 2.0;
        i = j + 1;
    }
    free(a);
}
static double spearman(const float *a, const float *b, size_t n) {
    double *ra = malloc(n * sizeof *ra), *rb = malloc(n * sizeof *rb), ma = 0, mb = 0;
    ranks(a, n, ra); ranks(b, n, rb);
    for (size_t i = 0; i < n; i++) { ma += ra[i]; mb += rb[i]; }
    ma /= (double)n; mb /= (double)n;
    double sab = 0, saa = 0, sbb = 0;
    for (size_t i = 0; i < n; i++) {
        sab += (ra[i] - ma) * (rb[i] - mb);
        saa += (ra[i] - ma) * (ra[i] - ma);
        sbb += (rb[i] - mb) * (rb[i] - mb);
    }
    free(ra); free(rb);
    return saa > 0 && sbb > 0 ? sab / sqrt(saa * sbb) : 1.0;
}
static int top10_same(const float *a, const float *b, size_t n) {
    iv *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    for (size_t i = 0; i < n; i++) { x[i] = (iv){i, -a[i]}; y[i] = (iv){i, -b[i]}; }
    qsort(x, n, sizeof *x, cmp_iv); qsort(y, n, sizeof *y, cmp_iv);
    int same = 1;
    for (size_t i = 0; i < 10 && i < n; i++) same &= x[i].i == y[i].i;
    free(x); free(y);
    return same;
}

typedef struct { double min_rho, mean_rho, max_err, spread; int top10, queries, rho_ok; } acc_stats;

// Scores n_q queries x per_q passages (random ids; [CLS] q [SEP] p [SEP]) at F32, then at
// BF16 and INT8. OUT: st[0] (bf16), st[1] (int8).
static void model_accuracy(const char *dir, size_t n_q, size_t per_q, size_t max_p, acc_stats st[2]) {
    fr_model_opts mo = fr_model_opts_default();
    mo.load_tokenizer = 0;
    fr_model *mf = NULL, *mq = NULL;
    fr_error err;
    int rc = fr_model_open(dir, &mo, &mf, &err);
    CHECK_EQ(rc, 0);
    if (rc < 0) { fprintf(stderr, "%s: %s\n", dir, err.msg); return; }
    fr_model_info info;
    fr_model_get_info(mf, &info);
    size_t V = (size_t)info.vocab_size, nl = (size_t)info.num_labels, pos = (size_t)info.positive_label;
    size_t maxlen = (size_t)info.max_position_embeddings - 2 < max_p ? (size_t)info.max_position_embeddings - 2 : max_p;
    size_t n = n_q * per_q;
    int32_t *ids = malloc(n * maxlen * sizeof *ids);
    uint8_t *types = malloc(n * maxlen);
    fr_seq *seqs = malloc(n * sizeof *seqs);
    float *lf = malloc(n * nl * sizeof *lf), *lq = malloc(n * nl * sizeof *lq);
    float *sf = malloc(per_q * sizeof *sf), *sq = malloc(per_q * sizeof *sq);
    for (size_t q = 0; q < n_q; q++) {
        size_t ql = 3 + rnd() % 8;
        int32_t qt[16];
        for (size_t t = 0; t < ql; t++) qt[t] = (int32_t)(5 + rnd() % (V - 5));
        for (size_t p = 0; p < per_q; p++) {
            size_t i = q * per_q + p, L = ql + 3 + 4 + rnd() % (maxlen - ql - 3 - 4 + 1);
            int32_t *s = ids + i * maxlen;
            uint8_t *ty = types + i * maxlen;
            size_t at = 0;
            s[at++] = 1;
            for (size_t t = 0; t < ql; t++) s[at++] = qt[t];
            s[at++] = 2;
            while (at < L - 1) s[at++] = (int32_t)(5 + rnd() % (V - 5));
            s[at++] = 2;
            for (size_t t = 0; t < L; t++) ty[t] = t > ql + 1;
            seqs[i] = (fr_seq){s, ty, L};
        }
    }
    fr_score_opts so = fr_score_opts_default();
    so.threads = 2;
    CHECK_EQ(fr_model_score_ids(mf, seqs, n, &so, lf, &err), 0);
    for (fr_dtype dt = FR_DTYPE_BF16; dt <= FR_DTYPE_INT8; dt++) {
    acc_stats *sp = &st[dt - FR_DTYPE_BF16];
    *sp = (acc_stats){2, 0, 0, 0, 0, (int)n_q, 0};
    mo.dtype = dt;
    CHECK_EQ(fr_model_open(dir, &mo, &mq, &err), 0);
    fr_model_get_info(mq, &info);
    CHECK_STR(info.compute_dtype, fr_dtype_name(dt));
    CHECK_EQ(fr_model_score_ids(mq, seqs, n, &so, lq, &err), 0);
    fr_model_free(mq);
#define st (*sp)
    for (size_t q = 0; q < n_q; q++) {
        double mean = 0, var = 0;
        for (size_t p = 0; p < per_q; p++) mean += lf[(q * per_q + p) * nl + pos] / (double)per_q;
        for (size_t p = 0; p < per_q; p++) {
            double dv = lf[(q * per_q + p) * nl + pos] - mean;
            var += dv * dv / (double)per_q;
        }
        st.spread += sqrt(var) / (double)n_q;
        for (size_t p = 0; p < per_q; p++) {
            size_t i = q * per_q + p;
            sf[p] = lf[i * nl + pos];
            sq[p] = lq[i * nl + pos];
            for (size_t l = 0; l < nl; l++) {
                double e = fabs((double)lf[i * nl + l] - lq[i * nl + l]);
                if (e > st.max_err) st.max_err = e;
            }
        }
        double rho = spearman(sf, sq, per_q);
        st.mean_rho += rho / (double)n_q;
        if (rho < st.min_rho) st.min_rho = rho;
        st.rho_ok += rho >= 0.995;
        st.top10 += top10_same(sf, sq, per_q);
    }
    printf("  %-22s %-4s %4zu pairs: Spearman min %.4f mean %.4f (>= 0.995: %2d/%d), top-10 same "
           "%2d/%d, max |logit err| %.3g (F32 logit std within a query %.3g)\n",
           strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir, fr_dtype_name(dt), n, st.min_rho,
           st.mean_rho, st.rho_ok, st.queries, st.top10, st.queries, st.max_err, st.spread);
#undef st
    }
    free(ids); free(types); free(seqs); free(lf); free(lq); free(sf); free(sq);
    fr_model_free(mf);
}

// ---- a MiniLM-L6-shaped checkpoint ----
static FILE *st_out;
static char st_hdr[1 << 16];
static size_t st_hlen, st_off;
typedef struct { char name[128]; size_t d0, d1; float std, mean; } tspec;
static tspec specs[128];
static size_t n_specs;
static void spec(const char *name, size_t d0, size_t d1, float std, float mean) {
    tspec *t = &specs[n_specs++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->d0 = d0; t->d1 = d1; t->std = std; t->mean = mean;
}

static int write_minilm(const char *dir, size_t V) {
    const size_t H = 384, I = 1536, P = 512;
    const float sc = 0.5f;  // bench/model/make_minilm.py: random_weights(scale=0.5)
    char name[128];
    n_specs = 0;
    spec("bert.embeddings.word_embeddings.weight", V, H, 0.5f * sc, 0);
    spec("bert.embeddings.position_embeddings.weight", P, H, 0.3f * sc, 0);
    spec("bert.embeddings.token_type_embeddings.weight", 2, H, 0.3f * sc, 0);
    spec("bert.embeddings.LayerNorm.weight", H, 0, 0.1f * sc, 1);
    spec("bert.embeddings.LayerNorm.bias", H, 0, 0.05f * sc, 0);
    static const char *lin[] = {"attention.self.query", "attention.self.key", "attention.self.value",
                                "attention.output.dense", "intermediate.dense", "output.dense"};
    for (int l = 0; l < 6; l++) {
        for (int j = 0; j < 6; j++) {
            size_t o = j == 4 ? I : H, in = j == 5 ? I : H;
            snprintf(name, sizeof name, "bert.encoder.layer.%d.%s.weight", l, lin[j]);
            spec(name, o, in, sc / sqrtf((float)in), 0);
            snprintf(name, sizeof name, "bert.encoder.layer.%d.%s.bias", l, lin[j]);
            spec(name, o, 0, 0.05f * sc, 0);
        }
        for (int j = 0; j < 2; j++) {
            const char *ln = j ? "output.LayerNorm" : "attention.output.LayerNorm";
            snprintf(name, sizeof name, "bert.encoder.layer.%d.%s.weight", l, ln);
            spec(name, H, 0, 0.1f * sc, 1);
            snprintf(name, sizeof name, "bert.encoder.layer.%d.%s.bias", l, ln);
            spec(name, H, 0, 0.05f * sc, 0);
        }
    }
    spec("bert.pooler.dense.weight", H, H, sc / sqrtf((float)H), 0);
    spec("bert.pooler.dense.bias", H, 0, 0.05f * sc, 0);
    spec("classifier.weight", 1, H, sc / sqrtf((float)H), 0);
    spec("classifier.bias", 1, 0, 0.05f * sc, 0);
    st_hlen = 0; st_off = 0;
    st_hlen += (size_t)snprintf(st_hdr + st_hlen, sizeof st_hdr - st_hlen, "{");
    for (size_t i = 0; i < n_specs; i++) {
        size_t ne = specs[i].d0 * (specs[i].d1 ? specs[i].d1 : 1);
        char shape[64];
        if (specs[i].d1) snprintf(shape, sizeof shape, "%zu,%zu", specs[i].d0, specs[i].d1);
        else snprintf(shape, sizeof shape, "%zu", specs[i].d0);
        st_hlen += (size_t)snprintf(st_hdr + st_hlen, sizeof st_hdr - st_hlen,
                                    "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[%s],\"data_offsets\":[%zu,%zu]}",
                                    i ? "," : "", specs[i].name, shape, st_off, st_off + ne * 4);
        st_off += ne * 4;
    }
    st_hlen += (size_t)snprintf(st_hdr + st_hlen, sizeof st_hdr - st_hlen, "}");
    while (st_hlen % 8) st_hdr[st_hlen++] = ' ';
    char path[512];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    if (!(st_out = fopen(path, "wb"))) return -1;
    uint64_t hl = st_hlen;
    fwrite(&hl, 8, 1, st_out);
    fwrite(st_hdr, 1, st_hlen, st_out);
    float *buf = malloc((V > I ? V : I) * H * sizeof *buf);  // the largest tensor
    for (size_t i = 0; i < n_specs; i++) {
        size_t ne = specs[i].d0 * (specs[i].d1 ? specs[i].d1 : 1);
        for (size_t e = 0; e < ne; e++) buf[e] = specs[i].mean + gauss() * specs[i].std;
        fwrite(buf, 4, ne, st_out);
    }
    free(buf);
    if (fclose(st_out)) return -1;
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fprintf(f, "{\"architectures\": [\"BertForSequenceClassification\"], \"model_type\": \"bert\", "
               "\"hidden_size\": 384, \"num_hidden_layers\": 6, \"num_attention_heads\": 12, "
               "\"intermediate_size\": 1536, \"hidden_act\": \"gelu\", \"layer_norm_eps\": 1e-12, "
               "\"max_position_embeddings\": 512, \"type_vocab_size\": 2, \"vocab_size\": %zu, "
               "\"pad_token_id\": 0, \"id2label\": {\"0\": \"LABEL_0\"}, \"label2id\": {\"LABEL_0\": 0}}\n", V);
    return fclose(f);
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb; (void)flag; (void)ftw;
    return remove(p);
}

static void test_models(void) {
    static const char *dirs[] = {"tests/data/models/bert-gelu", "tests/data/models/bert-gelunew-2labels",
                                 "tests/data/models/roberta", "tests/data/models/xlm-roberta",
                                 "tests/data/models/bert-f16", "tests/data/models/xlm-roberta-bf16"};
    printf("committed random-weight checkpoints, 20 queries x 50 passages each:\n");
    // Regression guards, looser than the bars (which the printed numbers are read
    // against): random weights give tightly spaced scores, the hard case for ranking.
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
        acc_stats s[2];
        model_accuracy(dirs[i], 20, 50, 48, s);
        CHECK(s[0].max_err < 0.05 && s[0].min_rho >= 0.995);
        CHECK(s[1].max_err < 0.3 && s[1].mean_rho > 0.99);
    }
    char dir[] = "/tmp/fr_quant_XXXXXX";
    if (!mkdtemp(dir)) { TEST_SKIP("mkdtemp failed"); return; }
    CHECK_EQ(write_minilm(dir, 1000), 0);
    const char *np = getenv("FR_QUANT_PAIRS");
    size_t pairs = np ? (size_t)atol(np) : 100, per_q = 20;
    if (pairs < per_q) pairs = per_q;
    printf("MiniLM-L6 shape (vocab 1000), %zu queries x %zu passages of 12..48 tokens:\n",
           pairs / per_q, per_q);
    acc_stats s[2];
    model_accuracy(dir, pairs / per_q, per_q, 48, s);
    CHECK(s[0].max_err < 0.01 && s[0].mean_rho > 0.995);
    CHECK(s[1].max_err < 0.05 && s[1].mean_rho > 0.97);
    nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void test_api(void) {
    fr_dtype d = FR_DTYPE_F32;
    CHECK_EQ(fr_dtype_parse("int8", &d), 0); CHECK_EQ(d, FR_DTYPE_INT8);
    CHECK_EQ(fr_dtype_parse("bf16", &d), 0); CHECK_EQ(d, FR_DTYPE_BF16);
    CHECK_EQ(fr_dtype_parse("f32", &d), 0); CHECK_EQ(d, FR_DTYPE_F32);
    CHECK(fr_dtype_parse("int4", &d) < 0);
    CHECK_STR(fr_dtype_name(FR_DTYPE_INT8), "int8");
    fr_model_opts mo = fr_model_opts_default();
    CHECK_EQ(mo.dtype, FR_DTYPE_F32);
    mo.dtype = (fr_dtype)7;
    fr_model *m = NULL;
    fr_error err;
    CHECK_EQ(fr_model_open("tests/data/models/bert-gelu", &mo, &m, &err), FR_EINVAL);
    CHECK(m == NULL);
    mo.dtype = FR_DTYPE_F32;
    CHECK_EQ(fr_model_open("tests/data/models/bert-gelu", &mo, &m, &err), 0);
    fr_model_info info;
    fr_model_get_info(m, &info);
    CHECK_STR(info.compute_dtype, "f32");
    CHECK_STR(info.kernel_isa, "sgemm");
    fr_model_free(m);
}

// `finerank rerank --dtype`: the CLI's scores are the library's at that dtype; bad values are
// usage errors (exit 2).
static void test_cli(void) {
    char bin[512], cmd[2048], docs[] = "/tmp/fr_test_quant_XXXXXX";
    const char *b = getenv("FR_BUILD");
    snprintf(bin, sizeof bin, "%s/finerank", b && *b ? b : "build");
    if (access(bin, X_OK) != 0) { TEST_SKIP("finerank binary not built"); return; }
    int fd = mkstemp(docs);
    FILE *f = fdopen(fd, "w");
    const char *texts[] = {"bm25 ranks documents by term frequency", "heat transfer in laminar flow",
                           "the wing of a supersonic aircraft"};
    for (int i = 0; i < 3; i++) fprintf(f, "%s\n", texts[i]);
    fclose(f);
    const char *M = "tests/data/models/bert-gelu";
    fr_model_opts mo = fr_model_opts_default();
    mo.dtype = FR_DTYPE_INT8;
    fr_model *m = NULL;
    fr_error err;
    CHECK_EQ(fr_model_open(M, &mo, &m, &err), 0);
    fr_rerank_score sc[3];
    CHECK_EQ(fr_model_rerank(m, "what is bm25", texts, NULL, 3, NULL, sc, &err), 0);
    fr_model_free(m);
    snprintf(cmd, sizeof cmd, "%s rerank --model %s --query 'what is bm25' --dtype int8 --docs %s 2>/dev/null",
             bin, M, docs);
    FILE *p = popen(cmd, "r");
    char line[4096];
    int n = 0, match = 0;
    while (p && fgets(line, sizeof line, p)) {
        int idx;
        double raw;
        const char *r = strstr(line, "\"raw_score\":");
        if (sscanf(line, "{\"index\": %d", &idx) == 1 && r && sscanf(r + 12, " %lf", &raw) == 1 &&
            idx >= 0 && idx < 3 && fabs(raw - sc[idx].raw) < 1e-5)
            match++;
        n++;
    }
    CHECK_EQ(p ? pclose(p) : -1, 0);
    CHECK_EQ(n, 3);
    CHECK_EQ(match, 3);
    snprintf(cmd, sizeof cmd, "%s rerank --model %s --query q --dtype int4 --docs %s >/dev/null 2>&1", bin, M, docs);
    int st = system(cmd);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 2);
    remove(docs);
}

int main(void) {
    test_bf16_rounding();
    test_cli();
    test_kernels();
    test_attention();
    test_api();
    test_models();
    return TEST_REPORT();
}
