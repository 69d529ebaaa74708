/* test_model_rerank.c — text in, scores out: fr_model_rerank on the golden (query, passage)
 * texts must reproduce the PyTorch logits of the HF-tokenised pairs (tokenizer + model end to
 * end, max |error| <= 1e-4 F32 / 2e-2 F16/BF16), relevance must be the sigmoid / softmax of
 * the logits, and the long-document windows must agree with truncation where they coincide:
 * a pair that fits scores the same in every mode, and the first window of a long passage with
 * a short query is exactly only_second truncation (= the golden longest_first encoding).
 */
#include <jansson.h>
#include <zlib.h>

#include "finerank.h"
#include "test.h"
#include "test_gz.h"

typedef struct gpair {
    char *q, *p;
    size_t n, qn, pn;
    float logits[2];
} gpair;

static size_t load(const char *path, gpair **out, int *nl) {
    gzFile f = gzopen(path, "rb");
    if (!f) return 0;
    size_t cap = 1 << 16, n = 0, np = 0;
    char *line = malloc(cap);
    gpair *p = calloc(400, sizeof *p);
    for (;;) {
        if (!fr_test_gz_line(f, &line, &cap)) break;
        if (n++ == 0) continue;
        json_t *o = json_loads(line, 0, NULL);
        if (!o || np >= 400) break;
        gpair *g = &p[np++];
        g->q = strdup(json_string_value(json_object_get(o, "q")));
        g->p = strdup(json_string_value(json_object_get(o, "p")));
        g->n = json_array_size(json_object_get(o, "ids"));
        g->qn = json_array_size(json_object_get(o, "q_ids"));
        g->pn = json_array_size(json_object_get(o, "p_ids"));
        json_t *lg = json_object_get(o, "logits");
        *nl = (int)json_array_size(lg);
        for (int i = 0; i < *nl && i < 2; i++) g->logits[i] = (float)json_number_value(json_array_get(lg, i));
        json_decref(o);
    }
    free(line);
    gzclose(f);
    *out = p;
    return np;
}

static void check(const char *name, double tol, size_t specials) {
    char dir[256], path[300];
    snprintf(dir, sizeof dir, "tests/data/models/%s", name);
    snprintf(path, sizeof path, "%s/golden.jsonl.gz", dir);
    gpair *g = NULL;
    int nl = 1;
    size_t n = load(path, &g, &nl);
    CHECK(n >= 300);
    fr_error err;
    fr_model *m = NULL;
    CHECK_EQ(fr_model_open(dir, NULL, &m, &err), 0);
    if (!m) { fprintf(stderr, "%s\n", err.msg); return; }
    fr_model_info info;
    fr_model_get_info(m, &info);
    CHECK(info.has_tokenizer);
    // Scoring needs a query: golden pairs with an empty query are checked for the error.
    const char **docs = malloc(n * sizeof *docs);
    size_t *idx = malloc(n * sizeof *idx), k = 0;
    fr_rerank_score *s = malloc(n * sizeof *s), *w = malloc(n * sizeof *w);
    for (size_t i = 0; i < n; i++) {
        if (!*g[i].q) {
            CHECK_EQ(fr_model_rerank(m, g[i].q, (const char *const *)&g[i].p, NULL, 1, NULL, s, &err), FR_EINVAL);
            continue;
        }
        idx[k++] = i;
    }
    // group by query: rerank takes one query and many documents
    double e = 0, erel = 0;
    size_t scored = 0;
    for (size_t a = 0; a < k; a++) {
        gpair *x = &g[idx[a]];
        docs[0] = x->p;
        CHECK_EQ(fr_model_rerank(m, x->q, docs, NULL, 1, NULL, s, &err), 0);
        e = fmax(e, fabs(s[0].raw - x->logits[nl - 1]));
        double rel = nl == 2 ? 1 / (1 + exp(x->logits[0] - x->logits[1])) : 1 / (1 + exp(-x->logits[0]));
        erel = fmax(erel, fabs(s[0].relevance - rel));
        CHECK_EQ(s[0].windows, 1);
        scored++;
    }
    printf("%-22s rerank(text) %zu pairs: max |raw - torch| = %.3g, max |relevance - ref| = %.3g (%s)\n",
           name, scored, e, erel, info.activation);
    CHECK(e <= tol);
    CHECK(erel <= tol);

    // One query, many documents in one call (mixed lengths), windows vs truncation.
    const char *q = "rerank";
    size_t nd = 0;
    gpair **gd = malloc(n * sizeof *gd);
    for (size_t i = 0; i < n; i += 2) {  // every other golden passage keeps the test short
        gd[nd] = &g[i];
        docs[nd++] = g[i].p;
    }
    fr_score_opts o = fr_score_opts_default();
    CHECK_EQ(fr_model_rerank(m, q, docs, NULL, nd, &o, s, &err), 0);
    size_t max_len = (size_t)info.max_length;
    double d_fit = 0, d_first = 0;
    int order_ok = 1;
    size_t long_docs = 0, n_first = 0;
    for (int mode = FR_LONG_MAX; mode <= FR_LONG_FIRST; mode++) {
        o.long_docs = (fr_long_docs)mode;
        CHECK_EQ(fr_model_rerank(m, q, docs, NULL, nd, &o, w, &err), 0);
        for (size_t i = 0; i < nd; i++) {
            // the query "rerank" is one or two tokens in every test vocabulary
            int fits = gd[i]->pn + specials + 2 <= max_len && gd[i]->pn + specials + 1 < max_len / 2;
            if (fits) d_fit = fmax(d_fit, fabs(w[i].raw - s[i].raw));
            if (mode == FR_LONG_FIRST) {
                CHECK_EQ(w[i].windows, 1);
                if (gd[i]->pn > max_len) { d_first = fmax(d_first, fabs(w[i].raw - s[i].raw)); n_first++; }
            }
            if (mode == FR_LONG_MAX && gd[i]->pn > 2 * max_len) {
                long_docs++;
                order_ok &= w[i].windows >= 3;
            }
        }
    }
    // max >= mean for every document
    fr_rerank_score *mx = malloc(nd * sizeof *mx), *mean = malloc(nd * sizeof *mean);
    o.long_docs = FR_LONG_MAX;
    CHECK_EQ(fr_model_rerank(m, q, docs, NULL, nd, &o, mx, &err), 0);
    o.long_docs = FR_LONG_MEAN;
    CHECK_EQ(fr_model_rerank(m, q, docs, NULL, nd, &o, mean, &err), 0);
    for (size_t i = 0; i < nd; i++) order_ok &= mx[i].raw >= mean[i].raw - 1e-6f && mx[i].windows == mean[i].windows;
    o.window_stride = 3;
    CHECK_EQ(fr_model_rerank(m, q, docs, NULL, nd, &o, mean, &err), 0);
    o.max_length = 100000;
    CHECK_EQ(fr_model_rerank(m, q, docs, NULL, nd, &o, mean, &err), FR_ERANGE);
    printf("%-22s windows: fit-mode diff %.3g, first-window vs truncation diff %.3g over %zu long docs, "
           "%zu docs with >= 3 windows\n", name, d_fit, d_first, n_first, long_docs);
    CHECK(d_fit <= 1e-5);
    CHECK(d_first <= 1e-5);
    CHECK(n_first > 40);
    CHECK(order_ok);
    free(mx); free(mean); free(gd);
    for (size_t i = 0; i < n; i++) { free(g[i].q); free(g[i].p); }
    free(g); free(docs); free(idx); free(s); free(w);
    fr_model_free(m);
}

int main(void) {
    check("bert-gelu", 1e-4, 3);
    check("bert-gelunew-2labels", 1e-4, 3);
    check("roberta", 1e-4, 4);
    check("xlm-roberta", 1e-4, 4);
    check("bert-sharded", 1e-4, 3);
    check("bert-f16", 2e-2, 3);
    check("xlm-roberta-bf16", 2e-2, 4);

    fr_error err;
    fr_model *m = NULL;
    fr_model_opts mo = fr_model_opts_default();
    mo.load_tokenizer = 0;
    CHECK_EQ(fr_model_open("tests/data/models/bert-gelu", &mo, &m, &err), 0);
    const char *d = "x";
    fr_rerank_score s;
    CHECK_EQ(fr_model_rerank(m, "q", &d, NULL, 1, NULL, &s, &err), FR_EUNSUPPORTED);
    fr_model_free(m);

    // A query too long for windows: it is cut so the passage keeps half of max_length.
    CHECK_EQ(fr_model_open("tests/data/models/bert-gelu", NULL, &m, &err), 0);
    char lq[2048] = "", ld[8192] = "";
    for (int i = 0; i < 50; i++) strcat(lq, i % 2 ? "wing " : "laminar flow ");
    for (int i = 0; i < 200; i++) strcat(ld, i % 3 ? "pressure " : "heat transfer ");
    const char *ldp = ld;
    fr_score_opts o = fr_score_opts_default();
    for (int mode = FR_LONG_MAX; mode <= FR_LONG_FIRST; mode++) {
        o.long_docs = (fr_long_docs)mode;
        CHECK_EQ(fr_model_rerank(m, lq, &ldp, NULL, 1, &o, &s, &err), 0);
        CHECK(mode == FR_LONG_FIRST ? s.windows == 1 : s.windows >= 6);
        CHECK(s.relevance > 0 && s.relevance < 1);
    }
    o.long_docs = FR_LONG_TRUNCATE;
    o.truncation = FR_TRUNC_ONLY_SECOND;  // the query alone exceeds max_length: an error
    CHECK(fr_model_rerank(m, lq, &ldp, NULL, 1, &o, &s, &err) < 0);
    fr_model_free(m);
    return TEST_REPORT();
}
