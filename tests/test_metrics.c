/* test_metrics.c — src/rank/metrics.c: hand-computed metric values, trec_eval's tie order
 * and -c averaging, the qrels / queries / run readers and their errors, the run writer's
 * exact round trip, and the values the real trec_eval prints for a synthetic qrels + run
 * (tests/data/metrics_trec_eval.txt.gz, from scripts/bench/trec_eval_goldens.py).
 */
#include <stdint.h>
#include <zlib.h>

#include "finerank.h"
#include "rank/metrics.h"
#include "test.h"

static void hand_computed(void) {
    // judged: d1=3 d2=2 d3=0 d4=1 (3 relevant); ranking: d3, d1, (unjudged), d4.
    int32_t grades[] = {3, 2, 0, 1}, scratch[4];
    int32_t rel[] = {0, 3, -1, 1};
    fr_metrics m;
    fr__metrics_query(rel, 4, grades, 4, scratch, &m);
    // DCG = 3/log2(3) + 1/log2(5); IDCG = 3/log2(2) + 2/log2(3) + 1/log2(4)
    double dcg = 3 / log2(3.0) + 1 / log2(5.0), idcg = 3 + 2 / log2(3.0) + 0.5;
    CHECK_NEAR(m.ndcg10, dcg / idcg, 1e-12);
    CHECK_NEAR(m.ndcg10, 0.48793245901154, 1e-12);
    CHECK_NEAR(m.map1000, (1.0 / 2 + 2.0 / 4) / 3, 1e-12);
    CHECK_NEAR(m.recall100, 2.0 / 3, 1e-12);
    CHECK_NEAR(m.recall1000, 2.0 / 3, 1e-12);
    CHECK_NEAR(m.mrr10, 0.5, 1e-12);

    // One relevant document at rank 11: outside nDCG@10 and MRR@10, inside MAP and recall.
    int32_t rel11[11] = {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 4};
    int32_t g1[] = {4};
    fr__metrics_query(rel11, 11, g1, 1, scratch, &m);
    CHECK_NEAR(m.ndcg10, 0, 0);
    CHECK_NEAR(m.mrr10, 0, 0);
    CHECK_NEAR(m.map1000, 1.0 / 11, 1e-12);
    CHECK_NEAR(m.recall100, 1, 0);

    // Nothing relevant: everything 0 (trec_eval leaves the values at 0).
    int32_t g0[] = {0, 0, -1};
    int32_t r0[] = {0, 0};
    fr__metrics_query(r0, 2, g0, 3, scratch, &m);
    CHECK(m.ndcg10 == 0 && m.map1000 == 0 && m.recall100 == 0 && m.recall1000 == 0 &&
          m.mrr10 == 0);

    // Results beyond 1000 do not count (-M1000); a relevant doc at rank 1001 is missed.
    static int32_t big[1001];
    for (int i = 0; i < 1001; i++) big[i] = -1;
    big[1000] = 1;
    int32_t g2[] = {1, 2};
    fr__metrics_query(big, 1001, g2, 2, scratch, &m);
    CHECK(m.map1000 == 0 && m.recall1000 == 0);
    big[99] = 2;  // rank 100 counts for recall@100
    fr__metrics_query(big, 1001, g2, 2, scratch, &m);
    CHECK_NEAR(m.recall100, 0.5, 1e-15);
    CHECK_NEAR(m.map1000, (1.0 / 100) / 2, 1e-15);
}

static void qrels_reader(void) {
    fr_error err = {0};
    fr_qrels *qr = NULL;
    const char *beir = "query-id\tcorpus-id\tscore\n1\t12\t2\n1\t13\t1\n\n2\t5\t0\n";
    CHECK_EQ(fr_qrels_parse(beir, strlen(beir), "t.tsv", &qr, &err), 0);
    CHECK_EQ(fr_qrels_n_queries(qr), 2);
    CHECK_EQ(fr_qrels_grade(qr, "1", "12"), 2);
    CHECK_EQ(fr_qrels_grade(qr, "2", "5"), 0);
    CHECK_EQ(fr_qrels_grade(qr, "2", "12"), INT32_MIN);
    CHECK_EQ(fr_qrels_grade(qr, "3", "12"), INT32_MIN);
    fr_qrels_free(qr);

    const char *trec = "# comment\n301 0 FBIS-1 1\n301 0 FBIS-2 -1\r\n302 0 LA-9 3";
    CHECK_EQ(fr_qrels_parse(trec, strlen(trec), "t.qrels", &qr, &err), 0);
    CHECK_EQ(fr_qrels_grade(qr, "301", "FBIS-2"), -1);
    CHECK_EQ(fr_qrels_grade(qr, "302", "LA-9"), 3);
    fr_qrels_free(qr);

    const char *dup = "1 a 1\n2 b 1\n1 a 2\n";
    CHECK_EQ(fr_qrels_parse(dup, strlen(dup), "d.tsv", &qr, &err), FR_EFORMAT);
    CHECK(qr == NULL);
    CHECK(strstr(err.msg, "d.tsv:3:") && strstr(err.msg, "line 1"));
    const char *bad = "1 a 1\n1 b x\n";
    CHECK_EQ(fr_qrels_parse(bad, strlen(bad), "b.tsv", &qr, &err), FR_EFORMAT);
    CHECK(strstr(err.msg, "b.tsv:2:") != NULL);
    const char *wide = "1 a 1\n1 b c d e\n";
    CHECK_EQ(fr_qrels_parse(wide, strlen(wide), "w.tsv", &qr, &err), FR_EFORMAT);
    CHECK(strstr(err.msg, "5 fields") != NULL);
    const char nul[] = "1 a\0b 1\n";
    CHECK_EQ(fr_qrels_parse(nul, sizeof nul - 1, "n.tsv", &qr, &err), FR_EFORMAT);
    CHECK_EQ(fr_qrels_read("/nonexistent/qrels.tsv", &qr, &err), FR_ENOTFOUND);
}

static void queries_reader(void) {
    fr_error err = {0};
    fr_queries qs = {0};
    const char *ok = "{\"_id\": \"1\", \"text\": \"what is lift\", \"metadata\": {}}\n\n"
                     "  {\"id\": 7, \"text\": \"\\u00e9t\\u00e9\"}\n";
    CHECK_EQ(fr_queries_parse(ok, strlen(ok), "q.jsonl", &qs, &err), 0);
    CHECK_EQ(qs.n, 2);
    if (qs.n == 2) {
        CHECK_STR(qs.q[0].id, "1");
        CHECK_STR(qs.q[0].text, "what is lift");
        CHECK_STR(qs.q[1].id, "7");
        CHECK_STR(qs.q[1].text, "\xc3\xa9t\xc3\xa9");
    }
    fr_queries_free(&qs);
    fr_queries_free(&qs);  // freeing twice is harmless

    struct { const char *in, *want; } bad[] = {
        {"{\"_id\":\"1\",\"text\":\"a\"}\n{\"_id\":\"2\"}\n", "q.jsonl:2: \"text\""},
        {"{\"_id\":\"1\",\"text\":\"a\"}\n[1,2]\n", "q.jsonl:2: a line must"},
        {"{\"_id\":\"1\",\"text\":\"a\"}\n{\"_id\":\"1\",\"text\":\"b\"}\n", "repeats line 1"},
        {"{\"_id\":\"1\",\"text\":\"a\"", "q.jsonl:1: invalid JSON"},
        {"{\"_id\":1.5,\"text\":\"a\"}", "\"_id\""},
        {"{\"_id\":\"a\\u0000b\",\"text\":\"a\"}", "NUL"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_EQ(fr_queries_parse(bad[i].in, strlen(bad[i].in), "q.jsonl", &qs, &err),
                 FR_EFORMAT);
        CHECK(strstr(err.msg, bad[i].want) != NULL);
        CHECK(qs.n == 0 && qs.q == NULL);
    }
}

static void run_io_and_ties(void) {
    fr_error err = {0};
    fr_run *run = NULL;
    // Equal scores: trec_eval ranks docid descending in byte order, so "9" > "10" > "1".
    const char *txt = "q1 Q0 1 1 5.5 t\nq1 Q0 10 2 5.5 t\n# c\nq1 Q0 9 3 5.5 t\nq9 Q0 z 1 1 t\n";
    CHECK_EQ(fr_run_parse(txt, strlen(txt), "r.trec", &run, &err), 0);
    CHECK_EQ(fr_run_size(run), 4);
    const char *qtxt = "q1 0 9 1\nq1 0 1 2\nq2 0 a 1\n";
    fr_qrels *qr = NULL;
    CHECK_EQ(fr_qrels_parse(qtxt, strlen(qtxt), "q", &qr, &err), 0);
    fr_eval ev = {0};
    CHECK_EQ(fr_eval_run(qr, run, &ev, &err), 0);
    // q1 ranking 9 (rel 1), 10 (not judged), 1 (rel 2): AP = (1/1 + 2/3) / 2.
    CHECK_EQ(ev.n_queries, 2);
    CHECK_EQ(ev.n_run_queries, 1);
    CHECK_EQ(ev.n_ignored, 1);  // q9 has no judgments
    CHECK_STR(ev.per_query[0].qid, "q1");
    CHECK_NEAR(ev.per_query[0].m.map1000, (1 + 2.0 / 3) / 2, 1e-12);
    CHECK_NEAR(ev.per_query[0].m.mrr10, 1, 0);
    CHECK_NEAR(ev.per_query[0].m.ndcg10, (1 + 2 / 2.0) / (2 + 1 / log2(3.0)), 1e-12);
    CHECK_EQ(ev.per_query[1].n_ret, 0);
    CHECK_EQ(ev.per_query[1].n_rel, 1);
    // -c: q2 (judged, not in the run) counts as 0 in the mean.
    CHECK_NEAR(ev.mean.map1000, (1 + 2.0 / 3) / 2 / 2, 1e-12);
    fr_eval_free(&ev);
    fr_eval_free(&ev);

    // Write and read back: same order, ranks 1.., scores exact.
    fr_run *r2 = NULL;
    CHECK_EQ(fr_run_new(&r2), 0);
    CHECK_EQ(fr_run_add(r2, "b", "x", 0.1 + 0.2), 0);
    CHECK_EQ(fr_run_add(r2, "b", "y", 1.0 / 3), 0);
    CHECK_EQ(fr_run_add(r2, "a", "x", 2.5), 0);
    CHECK_EQ(fr_run_add(r2, "a", "x2", NAN), FR_EINVAL);
    CHECK_EQ(fr_run_add(r2, "", "x2", 1), FR_EINVAL);
    char path[] = "/tmp/fr_test_metrics_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    CHECK_EQ(fr_run_write(r2, path, "t", &err), 0);
    FILE *f = fopen(path, "r");
    char lines[3][128] = {{0}};
    for (int i = 0; f && i < 3; i++)
        if (!fgets(lines[i], sizeof lines[i], f)) lines[i][0] = 0;
    if (f) fclose(f);
    CHECK_STR(lines[0], "b Q0 y 1 0.33333333333333331 t\n");  // %.15g would not round-trip
    fr_run *r3 = NULL;
    CHECK_EQ(fr_run_read(path, &r3, &err), 0);
    unlink(path);
    CHECK_EQ(fr_run_size(r3), 3);
    const char *q2 = "b 0 y 1\nb 0 x 1\na 0 x 1\n";
    fr_qrels *qr2 = NULL;
    CHECK_EQ(fr_qrels_parse(q2, strlen(q2), "q", &qr2, &err), 0);
    fr_eval e2 = {0}, e3 = {0};
    CHECK_EQ(fr_eval_run(qr2, r2, &e2, &err), 0);
    CHECK_EQ(fr_eval_run(qr2, r3, &e3, &err), 0);
    CHECK(memcmp(&e2.mean, &e3.mean, sizeof e2.mean) == 0);
    fr_eval_free(&e2);
    fr_eval_free(&e3);
    fr_run_free(r2);
    fr_run_free(r3);
    fr_qrels_free(qr2);

    // Malformed runs and duplicate documents.
    const char *five = "q1 Q0 d 1 2.0\n";
    fr_run *rb = NULL;
    CHECK_EQ(fr_run_parse(five, strlen(five), "r", &rb, &err), FR_EFORMAT);
    CHECK(strstr(err.msg, "r:1:") != NULL);
    const char *nan = "q1 Q0 d 1 nan t\n";
    CHECK_EQ(fr_run_parse(nan, strlen(nan), "r", &rb, &err), FR_EFORMAT);
    const char *dupd = "q1 Q0 1 1 2 t\nq1 Q0 1 2 1 t\n";
    CHECK_EQ(fr_run_parse(dupd, strlen(dupd), "r", &rb, &err), 0);
    CHECK_EQ(fr_eval_run(qr, rb, &ev, &err), FR_EFORMAT);
    CHECK(strstr(err.msg, "twice") != NULL);
    CHECK(ev.per_query == NULL);
    fr_run_free(rb);
    fr_run_free(run);
    fr_qrels_free(qr);
    fr_run_free(NULL);
    fr_qrels_free(NULL);
}

// ---- golden from the real trec_eval ----

static char *gunzip_file(const char *path, size_t *len) {
    gzFile g = gzopen(path, "rb");
    if (!g) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    int r;
    while (buf && (r = gzread(g, buf + n, (unsigned)(cap - n))) > 0) {
        n += (size_t)r;
        if (n == cap) {
            char *nb = realloc(buf, 2 * cap + 1);
            if (!nb) { free(buf); buf = NULL; break; }
            buf = nb;
            cap *= 2;
        }
    }
    gzclose(g);
    if (buf) buf[n] = 0;
    *len = n;
    return buf;
}

static double *metric_field(fr_metrics *m, const char *name) {
    if (!strcmp(name, "ndcg10")) return &m->ndcg10;
    if (!strcmp(name, "map1000")) return &m->map1000;
    if (!strcmp(name, "recall100")) return &m->recall100;
    if (!strcmp(name, "recall1000")) return &m->recall1000;
    if (!strcmp(name, "mrr10")) return &m->mrr10;
    return NULL;
}

static void trec_eval_golden(void) {
    size_t len;
    char *data = gunzip_file("tests/data/metrics_trec_eval.txt.gz", &len);
    CHECK(data != NULL);
    if (!data) return;
    char *qs = strstr(data, "[qrels]\n"), *rs = strstr(data, "[run]\n"),
         *es = strstr(data, "[expect]\n");
    CHECK(qs && rs && es && qs < rs && rs < es);
    if (!(qs && rs && es)) { free(data); return; }
    qs += 8; rs += 6; es += 9;
    fr_error err = {0};
    fr_qrels *qr = NULL;
    fr_run *run = NULL;
    fr_eval ev = {0};
    CHECK_EQ(fr_qrels_parse(qs, (size_t)(rs - 6 - qs), "golden qrels", &qr, &err), 0);
    CHECK_EQ(fr_run_parse(rs, (size_t)(es - 9 - rs), "golden run", &run, &err), 0);
    CHECK_EQ(fr_eval_run(qr, run, &ev, &err), 0);
    int n = 0, bad = 0;
    for (char *line = strtok(es, "\n"); line; line = strtok(NULL, "\n")) {
        char name[32], qid[64];
        double want;
        if (sscanf(line, "%31s %63s %lf", name, qid, &want) != 3) continue;
        double *got = NULL;
        if (!strcmp(qid, "all")) {
            got = metric_field(&ev.mean, name);
        } else {
            for (size_t i = 0; i < ev.n_queries; i++)
                if (!strcmp(ev.per_query[i].qid, qid)) got = metric_field(&ev.per_query[i].m, name);
        }
        n++;
        // trec_eval prints %.4f: agreement means |ours - printed| <= half a unit of 1e-4.
        if (!got || fabs(*got - want) > 0.5e-4 + 1e-12) {
            bad++;
            fprintf(stderr, "golden: %s %s: trec_eval %.4f, finerank %.6f\n", name, qid, want,
                    got ? *got : NAN);
        }
    }
    CHECK_EQ(n, 275);
    CHECK_EQ(bad, 0);
    CHECK_EQ(ev.n_queries, 54);  // 60 queries, 6 of them run-only (no judgments)
    CHECK_EQ(ev.n_ignored, 6);
    fr_eval_free(&ev);
    fr_run_free(run);
    fr_qrels_free(qr);
    free(data);
}

int main(void) {
    hand_computed();
    qrels_reader();
    queries_reader();
    run_io_and_ties();
    trec_eval_golden();
    return TEST_REPORT();
}
