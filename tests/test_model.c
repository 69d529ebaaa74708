/* test_model.c — exactness of the cross-encoder forward pass against PyTorch goldens.
 * For every checkpoint under tests/data/models (made by scripts/model/make_checkpoints.py), all
 * >= 300 golden pairs are scored in one mixed-length call and compared with the reference
 * logits: max |error| <= 1e-4 for F32 weights, <= 2e-2 for F16/BF16. Then the same pairs are
 * scored one by one, in other batch sizes and with other thread counts: <= 1e-5 apart.
 */
#include <jansson.h>
#include <pthread.h>
#include <zlib.h>

#include "finerank.h"
#include "test.h"
#include "test_gz.h"

typedef struct pair {
    int32_t *ids;
    uint8_t *types;
    size_t n;
    float logits[2];
} pair;

// Reads golden.jsonl.gz: header line, then one pair per line. Returns the pair count.
static size_t load_golden(const char *path, pair **out, int *num_labels) {
    gzFile f = gzopen(path, "rb");
    if (!f) return 0;
    size_t cap = 1 << 16, n = 0, np = 0, cp = 0;
    char *line = malloc(cap);
    pair *p = NULL;
    for (;;) {
        if (!fr_test_gz_line(f, &line, &cap)) break;
        if (n++ == 0) continue;  // header
        json_t *o = json_loads(line, 0, NULL);
        if (!o) break;
        json_t *ids = json_object_get(o, "ids"), *types = json_object_get(o, "types"),
               *lg = json_object_get(o, "logits");
        if (np == cp) p = realloc(p, (cp = cp ? 2 * cp : 64) * sizeof *p);
        pair *q = &p[np++];
        q->n = json_array_size(ids);
        q->ids = malloc(q->n * sizeof *q->ids + 1);
        q->types = malloc(q->n + 1);
        for (size_t i = 0; i < q->n; i++) {
            q->ids[i] = (int32_t)json_integer_value(json_array_get(ids, i));
            q->types[i] = (uint8_t)json_integer_value(json_array_get(types, i));
        }
        *num_labels = (int)json_array_size(lg);
        for (size_t i = 0; i < json_array_size(lg) && i < 2; i++)
            q->logits[i] = (float)json_number_value(json_array_get(lg, i));
        json_decref(o);
    }
    free(line);
    gzclose(f);
    *out = p;
    return np;
}

static double max_diff(const float *a, const float *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - (double)b[i]));
    return m;
}

// Concurrent callers on one handle: each thread scores every pair and must match `ref`.
typedef struct conc { const fr_model *m; const fr_seq *seqs; size_t n; const float *ref; int nl; double diff; int rc; } conc;
static void *conc_run(void *p) {
    conc *c = p;
    float *out = malloc(c->n * 2 * sizeof *out);
    fr_score_opts so = fr_score_opts_default();
    so.threads = 2;
    c->rc = fr_model_score_ids(c->m, c->seqs, c->n, &so, out, NULL);
    c->diff = max_diff(out, c->ref, c->n * (size_t)c->nl);
    free(out);
    return NULL;
}

static void check_checkpoint(const char *name, double tol) {
    char dir[512], gold[600];
    snprintf(dir, sizeof dir, "tests/data/models/%s", name);
    snprintf(gold, sizeof gold, "%s/golden.jsonl.gz", dir);
    pair *p = NULL;
    int nl = 0;
    size_t n = load_golden(gold, &p, &nl);
    CHECK(n >= 300);
    fr_model *m = NULL;
    fr_error err = {0};
    fr_model_opts mo = fr_model_opts_default();
    mo.threads = 2;
    int rc = fr_model_open(dir, &mo, &m, &err);
    CHECK_EQ(rc, 0);
    if (rc < 0) { fprintf(stderr, "%s: %s\n", name, err.msg); return; }
    fr_model_info info;
    fr_model_get_info(m, &info);
    CHECK_EQ(info.num_labels, nl);

    fr_seq *seqs = malloc(n * sizeof *seqs);
    float *want = malloc(n * 2 * sizeof *want), *got = malloc(n * 2 * sizeof *got),
          *alt = malloc(n * 2 * sizeof *alt);
    for (size_t i = 0; i < n; i++) {
        seqs[i] = (fr_seq){p[i].ids, p[i].types, p[i].n};
        for (int k = 0; k < nl; k++) want[i * nl + k] = p[i].logits[k];
    }
    fr_score_opts so = fr_score_opts_default();
    so.threads = 1;
    CHECK_EQ(fr_model_score_ids(m, seqs, n, &so, got, &err), 0);
    double e = max_diff(got, want, n * nl);
    printf("%-22s %s %zu pairs, %d label(s): max |logit - torch| = %.3g (tol %g)\n", name,
           info.weights_dtype, n, nl, e, tol);
    CHECK(e <= tol);

    // Batch composition and thread count do not change the scores.
    double inv = 0;
    int configs[][2] = {{2, 0}, {2, 64}, {1, 100000}, {3, 300}};
    for (size_t c = 0; c < sizeof configs / sizeof configs[0]; c++) {
        so.threads = configs[c][0];
        so.batch_tokens = configs[c][1];
        CHECK_EQ(fr_model_score_ids(m, seqs, n, &so, alt, &err), 0);
        inv = fmax(inv, max_diff(alt, got, n * nl));
    }
    so = fr_score_opts_default();
    for (size_t i = 0; i < n; i += 7) {  // singly, and as the tail of a shifted sub-batch
        CHECK_EQ(fr_model_score_ids(m, seqs + i, 1, &so, alt, &err), 0);
        inv = fmax(inv, max_diff(alt, got + i * nl, (size_t)nl));
    }
    CHECK_EQ(fr_model_score_ids(m, seqs + 5, n - 5, &so, alt, &err), 0);
    inv = fmax(inv, max_diff(alt, got + 5 * nl, (n - 5) * nl));
    conc cs[3];
    pthread_t th[3];
    for (int t = 0; t < 3; t++) {
        cs[t] = (conc){m, seqs, n, got, nl, 0, 0};
        pthread_create(&th[t], NULL, conc_run, &cs[t]);
    }
    for (int t = 0; t < 3; t++) {
        pthread_join(th[t], NULL);
        CHECK_EQ(cs[t].rc, 0);
        inv = fmax(inv, cs[t].diff);
    }
    printf("%-22s batch/thread/concurrent-caller invariance: max diff %.3g\n", name, inv);
    CHECK(inv <= 1e-5);

    for (size_t i = 0; i < n; i++) { free(p[i].ids); free(p[i].types); }
    free(p); free(seqs); free(want); free(got); free(alt);
    fr_model_free(m);
}

int main(void) {
    check_checkpoint("bert-gelu", 1e-4);
    check_checkpoint("bert-gelunew-2labels", 1e-4);
    check_checkpoint("roberta", 1e-4);
    check_checkpoint("xlm-roberta", 1e-4);
    check_checkpoint("bert-sharded", 1e-4);
    check_checkpoint("bert-f16", 2e-2);
    check_checkpoint("xlm-roberta-bf16", 2e-2);
    fr_model_free(NULL);
    return TEST_REPORT();
}
