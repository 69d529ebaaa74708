/* test_index.c — the BM25 index: add / search / stored fields / update / delete / filters,
 * pruned top-k equal to exhaustive scoring on random queries, JSON-lines errors, the writer
 * lock, optimize, corrupt files, Cranfield quality (skipped when ../shared is absent). */
#include <fcntl.h>
#include <math.h>

#include "finerank.h"
#include "index_util.h"
#include "test.h"

static fr_index_opts quiet_opts(void) {
    fr_index_opts o = fr_index_opts_default();
    o.sync = 0;
    return o;
}

static int add(fr_index *ix, const char *json) { return fr_index_add(ix, json, strlen(json), NULL); }

static const char *top_id(fr_index *ix, const char *q, fr_search_opts *so) {
    static char id[64];
    fr_hit h[10];
    size_t n = 0;
    fr_search_opts d = fr_search_opts_default();
    if (!so) so = &d;
    so->k = 10;
    if (fr_index_search(ix, q, -1, so, h, &n, NULL) < 0 || n == 0) return "(none)";
    fr_doc doc;
    if (fr_index_doc(ix, h[0].doc, &doc, NULL) < 0) return "(bad)";
    snprintf(id, sizeof id, "%s", doc.id);
    return id;
}

static void test_basic(void) {
    char dir[256];
    if (!tmp_dir(dir, sizeof dir, "basic")) { CHECK(0); return; }
    fr_index_opts o = quiet_opts();
    fr_index *ix = NULL;
    fr_error err = {0};
    CHECK_EQ(fr_index_build(dir, &o, &ix, &err), 0);
    CHECK_EQ(add(ix, "{\"id\":\"a\",\"title\":\"Wing flutter\",\"text\":\"Flutter of swept wings at high speed.\","
                     "\"date\":\"2021-03-04\",\"source\":\"nasa\",\"authority\":0.5,\"lang\":\"en\","
                     "\"meta\":{\"k\":[1,2,{\"x\":null}]}}"), 0);
    CHECK_EQ(add(ix, "{\"_id\":\"b\",\"text\":\"Boundary layer transition on a flat plate.\","
                     "\"date\":\"2019-12-31T23:00:00Z\",\"source\":\"arc\",\"metadata\":{\"y\":1}}"), 0);
    CHECK_EQ(add(ix, "{\"id\":\"c\",\"title\":\"\xE7\xB3\x96\xE5\xB0\xBF\xE7\x97\x85\xE9\xA5\xAE\xE9\xA3\x9F\xE7\xA6\x81\xE5\xBF\x8C\","
                     "\"text\":\"diet\",\"lang\":\"zh\"}"), 0);
    CHECK_EQ(add(ix, "{\"id\":\"d\",\"text\":\"Heat transfer in hypersonic flow over a flat plate.\",\"source\":\"nasa\"}"), 0);
    // bad documents are rejected whole
    CHECK_EQ(add(ix, "{\"id\":\"x\"}"), FR_EFORMAT);
    CHECK_EQ(add(ix, "{\"text\":\"no id\"}"), FR_EFORMAT);
    CHECK_EQ(add(ix, "{\"id\":\"y\",\"text\":\"t\",\"date\":\"2021-02-30\"}"), FR_EFORMAT);
    CHECK_EQ(add(ix, "{\"id\":\"y\",\"text\":\"t\",\"authority\":\"high\"}"), FR_EFORMAT);
    CHECK_EQ(add(ix, "[1,2]"), FR_EFORMAT);
    CHECK_EQ(add(ix, "{\"id\":\"y\",\"text\":\"t\""), FR_EFORMAT);
    // a reader sees nothing before the first commit of documents
    fr_index *rd = NULL;
    CHECK_EQ(fr_index_open(dir, &o, &rd, &err), 0);
    if (rd) CHECK_EQ(fr_index_n_docs(rd), 0);
    CHECK_EQ(fr_index_commit(ix, &err), 0);
    if (rd) {
        CHECK_EQ(fr_index_n_docs(rd), 0);   // snapshot
        CHECK_EQ(fr_index_reopen(rd, &err), 0);
        CHECK_EQ(fr_index_n_docs(rd), 4);
    }
    CHECK_STR(top_id(rd, "flutter of wings", NULL), "a");
    CHECK_STR(top_id(rd, "flat plate heat", NULL), "d");
    CHECK_STR(top_id(rd, "\xE7\xB3\x96\xE5\xB0\xBF\xE7\x97\x85", NULL), "c");  // 糖尿病
    // stored fields verbatim
    uint32_t dn = 99;
    CHECK_EQ(fr_index_find(rd, "a", &dn, &err), 0);
    fr_doc d;
    CHECK_EQ(fr_index_doc(rd, dn, &d, &err), 0);
    CHECK_STR(d.id, "a");
    CHECK_STR(d.title, "Wing flutter");
    CHECK_STR(d.text, "Flutter of swept wings at high speed.");
    CHECK_STR(d.date, "2021-03-04");
    CHECK_STR(d.source, "nasa");
    CHECK_STR(d.lang, "en");
    CHECK_STR(d.meta, "{\"k\":[1,2,{\"x\":null}]}");
    CHECK_NEAR(d.authority, 0.5, 0);
    CHECK_EQ(d.date_unix, 1614816000);
    CHECK_EQ(fr_index_find(rd, "b", &dn, &err), 0);
    CHECK_EQ(fr_index_doc(rd, dn, &d, &err), 0);
    CHECK(d.title == NULL);
    CHECK(isnan(d.authority));
    CHECK_EQ(d.date_unix, 1577833200);
    CHECK_STR(d.meta, "{\"y\":1}");
    CHECK_EQ(fr_index_find(rd, "zzz", &dn, NULL), FR_ENOTFOUND);
    CHECK_EQ(fr_index_doc(rd, 4, &d, NULL), FR_ERANGE);
    // filters
    fr_search_opts so = fr_search_opts_default();
    so.source = "arc";
    CHECK_STR(top_id(rd, "flat plate heat", &so), "b");
    so = fr_search_opts_default();
    so.source = "nobody";
    CHECK_STR(top_id(rd, "flat plate", &so), "(none)");
    so = fr_search_opts_default();
    so.date_from = 1577836800;  // 2020-01-01: b (2019-12-31T23:00Z) out, d (undated) out
    CHECK_STR(top_id(rd, "flat plate", &so), "(none)");
    so.date_from = 1500000000;
    CHECK_STR(top_id(rd, "flat plate", &so), "b");
    so = fr_search_opts_default();
    so.lang = "en";
    CHECK_STR(top_id(rd, "wing plate", &so), "a");
    // per-doc terms and stats
    fr_terms t = {0};
    CHECK_EQ(fr_index_find(rd, "a", &dn, &err), 0);
    CHECK_EQ(fr_index_doc_terms(rd, dn, &t, &err), 0);
    CHECK(t.n == 7 && !strcmp(t.terms[0], "wing") && !strcmp(t.terms[2], "flutter") && t.pos[6] == 6);
    fr_terms_free(&t);
    CHECK_EQ(fr_index_df(rd, "plate", 5), 2);
    CHECK_EQ(fr_index_df(rd, "nothing", 7), 0);
    CHECK_NEAR(fr_index_idf(rd, "plate", 5), log(1 + (4 - 2 + 0.5) / (2 + 0.5)), 1e-12);
    fr_index_stats st;
    CHECK_EQ(fr_index_stats_get(rd, &st, &err), 0);
    CHECK_EQ(st.n_docs, 4);
    CHECK_EQ(st.title_weight, 3);
    // update and delete
    CHECK_EQ(add(ix, "{\"id\":\"a\",\"text\":\"completely different supersonic inlet\"}"), 0);
    CHECK_EQ(fr_index_delete(ix, "b", &err), 0);
    CHECK_EQ(fr_index_delete(ix, "b", NULL), FR_ENOTFOUND);
    CHECK_EQ(fr_index_delete(ix, "nope", NULL), FR_ENOTFOUND);
    CHECK_EQ(fr_index_commit(ix, &err), 0);
    CHECK_EQ(fr_index_reopen(rd, &err), 0);
    CHECK_STR(top_id(rd, "supersonic inlet", NULL), "a");
    CHECK_STR(top_id(rd, "flutter", NULL), "(none)");
    CHECK_STR(top_id(rd, "flat plate", NULL), "d");
    CHECK_EQ(fr_index_find(rd, "b", &dn, NULL), FR_ENOTFOUND);
    CHECK_EQ(fr_index_stats_get(rd, &st, &err), 0);
    CHECK_EQ(st.n_live, 3);     // a (new), c, d
    CHECK_EQ(st.n_docs, 5);     // + old a, b until optimize
    // one writer at a time
    fr_index *w2 = NULL;
    CHECK_EQ(fr_index_build(dir, &o, &w2, &err), FR_EBUSY);
    CHECK(w2 == NULL);
    // rollback discards pending writes
    CHECK_EQ(add(ix, "{\"id\":\"e\",\"text\":\"rolled back\"}"), 0);
    CHECK_EQ(fr_index_delete(ix, "d", &err), 0);
    CHECK_EQ(fr_index_rollback(ix, &err), 0);
    CHECK_EQ(fr_index_commit(ix, &err), 0);
    CHECK_EQ(fr_index_reopen(rd, &err), 0);
    CHECK_EQ(fr_index_find(rd, "e", &dn, NULL), FR_ENOTFOUND);
    CHECK_EQ(fr_index_find(rd, "d", &dn, NULL), 0);
    // optimize drops deleted documents and keeps the live ones
    CHECK_EQ(fr_index_optimize(ix, &err), 0);
    CHECK_EQ(fr_index_reopen(rd, &err), 0);
    CHECK_EQ(fr_index_stats_get(rd, &st, &err), 0);
    CHECK_EQ(st.n_docs, 3);
    CHECK_EQ(st.n_live, 3);
    CHECK_EQ(st.n_segments, 1);
    CHECK_STR(top_id(rd, "supersonic inlet", NULL), "a");
    CHECK_EQ(fr_index_find(rd, "c", &dn, &err), 0);
    CHECK_EQ(fr_index_doc(rd, dn, &d, &err), 0);
    CHECK_STR(d.lang, "zh");
    fr_index_close(rd);
    fr_index_close(ix);
    // after close the lock is free again; an existing index keeps its settings
    o.title_weight = 7;
    CHECK_EQ(fr_index_build(dir, &o, &ix, &err), 0);
    if (ix) {
        CHECK_EQ(fr_index_stats_get(ix, &st, &err), 0);
        CHECK_EQ(st.title_weight, 3);
    }
    fr_index_close(ix);
    fr_index_close(NULL);
    rm_rf(dir);
}

static void test_jsonl(void) {
    char dir[256], corpus[300];
    if (!tmp_dir(dir, sizeof dir, "jsonl")) { CHECK(0); return; }
    snprintf(corpus, sizeof corpus, "%s.jsonl", dir);
    FILE *f = fopen(corpus, "w");
    fprintf(f, "{\"id\":\"1\",\"text\":\"one\"}\n\n{\"id\":\"2\",\"text\":\"two\"}\n"
               "{\"id\":\"3\",\"text\":\"three\",\"date\":\"yesterday\"}\n{\"id\":\"4\",\"text\":\"four\"}\n");
    fclose(f);
    fr_index_opts o = quiet_opts();
    fr_index *ix = NULL;
    fr_error err = {0};
    CHECK_EQ(fr_index_build(dir, &o, &ix, &err), 0);
    size_t a = 0, s = 0;
    CHECK_EQ(fr_index_add_jsonl(ix, corpus, FR_ON_ERROR_FAIL, &a, &s, &err), FR_EFORMAT);
    CHECK_EQ(a, 2);
    CHECK(strstr(err.msg, ".jsonl:4: \"date\"") != NULL);
    CHECK_EQ(fr_index_rollback(ix, &err), 0);
    CHECK_EQ(fr_index_add_jsonl(ix, corpus, FR_ON_ERROR_SKIP, &a, &s, &err), 0);
    CHECK_EQ(a, 3);
    CHECK_EQ(s, 1);
    CHECK_EQ(fr_index_commit(ix, &err), 0);
    CHECK_EQ(fr_index_n_docs(ix), 3);
    CHECK_EQ(fr_index_add_jsonl(ix, "/nonexistent/x.jsonl", FR_ON_ERROR_SKIP, &a, &s, &err), FR_ENOTFOUND);
    fr_index_close(ix);
    unlink(corpus);
    rm_rf(dir);
}

// Pruned (block-max MaxScore) top-k must equal exhaustive scoring, bit for bit.
static void test_exact_topk(void) {
    char dir[256];
    if (!tmp_dir(dir, sizeof dir, "exact")) { CHECK(0); return; }
    fr_index_opts o = quiet_opts();
    o.mem_budget = 1 << 20;  // several segments
    fr_index *ix = NULL;
    fr_error err = {0};
    CHECK_EQ(fr_index_build(dir, &o, &ix, &err), 0);
    if (!ix) return;
    uint64_t seed = 42;
    char buf[8192], id[32];
    int n_docs = 6000;
    for (int i = 0; i < n_docs; i++) {
        snprintf(id, sizeof id, "d%d", i);
        gen_doc(buf, sizeof buf, id, &seed, 5 + (int)(rng_next(&seed) % 120), 800);
        if (add(ix, buf) < 0) { CHECK(0); break; }
        if (i % 2000 == 1999) CHECK_EQ(fr_index_commit(ix, &err), 0);
    }
    // optimize without deletions keeps every score bit for bit (same N, avgdl, df)
    fr_index_stats st;
    fr_index_stats_get(ix, &st, &err);
    CHECK(st.n_segments >= 3);
    static char ids_before[50][20][16];
    static double sc_before[50][20];
    uint64_t qseed = 99;
    for (int pass = 0; pass < 2; pass++) {
        qseed = 99;
        int diff = 0;
        for (int q = 0; q < 50; q++) {
            char qs[64];
            snprintf(qs, sizeof qs, "w%d w%d w%d", zipf_word(&qseed, 900), zipf_word(&qseed, 900),
                     zipf_word(&qseed, 900));
            fr_hit h[20];
            size_t n = 0;
            fr_search_opts so = fr_search_opts_default();
            so.k = 20;
            CHECK_EQ(fr_index_search(ix, qs, -1, &so, h, &n, &err), 0);
            for (size_t i = 0; i < 20; i++) {
                fr_doc d = {0};
                if (i < n) fr_index_doc(ix, h[i].doc, &d, NULL);
                const char *idv = i < n ? d.id : "";
                double scv = i < n ? h[i].score : 0;
                if (pass == 0) { snprintf(ids_before[q][i], 16, "%s", idv); sc_before[q][i] = scv; }
                else if (strcmp(ids_before[q][i], idv) || sc_before[q][i] != scv) diff++;
            }
        }
        if (pass == 0) CHECK_EQ(fr_index_optimize(ix, &err), 0);
        else CHECK_EQ(diff, 0);
    }
    fr_index_stats_get(ix, &st, &err);
    CHECK_EQ(st.n_segments, 1);
    CHECK_EQ(st.n_docs, n_docs);
    for (int i = n_docs; i < n_docs + 2000; i++) {
        snprintf(id, sizeof id, "d%d", i);
        gen_doc(buf, sizeof buf, id, &seed, 5 + (int)(rng_next(&seed) % 120), 800);
        if (add(ix, buf) < 0) { CHECK(0); break; }
    }
    n_docs += 2000;
    for (int i = 0; i < 300; i++) {
        snprintf(id, sizeof id, "d%d", (int)(rng_next(&seed) % n_docs));
        fr_index_delete(ix, id, NULL);
    }
    CHECK_EQ(fr_index_commit(ix, &err), 0);
    fr_index_stats_get(ix, &st, &err);
    CHECK(st.n_segments >= 2);
    static fr_hit a[1000], b[1000];
    int mismatches = 0, nonempty = 0;
    for (int q = 0; q < 400; q++) {
        fr_terms t = {0};
        int nt = 1 + (int)(rng_next(&seed) % 6);
        for (int j = 0; j < nt; j++) {
            char w[16];
            snprintf(w, sizeof w, "w%d", zipf_word(&seed, 900));
            fr_index_analyze(ix, w, -1, &t, NULL);
        }
        if (q % 3 == 0)
            for (size_t j = 0; j < t.n; j++) t.weight[j] = 0.1f + (float)(rng_next(&seed) % 100) / 25.0f;
        static const size_t ks[] = {1, 3, 10, 100, 1000};
        fr_search_opts so = fr_search_opts_default();
        so.k = ks[q % 5];
        if (q % 7 == 0) so.source = "src1";
        if (q % 11 == 0) { so.date_from = 1578268800; so.date_to = 1579046400; }  // Jan 6-15
        size_t na = 0, nb = 0;
        CHECK_EQ(fr_index_search_terms(ix, &t, &so, a, &na, &err), 0);
        so.exhaustive = 1;
        CHECK_EQ(fr_index_search_terms(ix, &t, &so, b, &nb, &err), 0);
        int same = na == nb;
        for (size_t i = 0; same && i < na; i++) same = a[i].doc == b[i].doc && a[i].score == b[i].score;
        for (size_t i = 1; same && i < na; i++)
            same = a[i - 1].score > a[i].score || (a[i - 1].score == a[i].score && a[i - 1].doc < a[i].doc);
        if (!same) mismatches++;
        if (na) nonempty++;
        fr_terms_free(&t);
    }
    CHECK_EQ(mismatches, 0);
    CHECK(nonempty > 300);
    // after a merge that drops deleted documents: one segment, still exact
    CHECK_EQ(fr_index_optimize(ix, &err), 0);
    fr_index_stats_get(ix, &st, &err);
    CHECK_EQ(st.n_segments, 1);
    CHECK_EQ(st.n_docs, st.n_live);
    CHECK(st.n_docs < (uint64_t)n_docs);
    mismatches = 0;
    for (int q = 0; q < 100; q++) {
        char qs[64];
        snprintf(qs, sizeof qs, "w%d w%d", zipf_word(&seed, 900), zipf_word(&seed, 900));
        fr_search_opts so = fr_search_opts_default();
        so.k = q % 2 ? 10 : 1000;
        size_t na = 0, nb = 0;
        CHECK_EQ(fr_index_search(ix, qs, -1, &so, a, &na, &err), 0);
        so.exhaustive = 1;
        CHECK_EQ(fr_index_search(ix, qs, -1, &so, b, &nb, &err), 0);
        int same = na == nb;
        for (size_t i = 0; same && i < na; i++) same = a[i].doc == b[i].doc && a[i].score == b[i].score;
        mismatches += !same;
    }
    CHECK_EQ(mismatches, 0);
    uint32_t dn;
    CHECK_EQ(fr_index_find(ix, "d7999", &dn, &err) == 0 || fr_index_find(ix, "d7998", &dn, &err) == 0, 1);
    fr_index_close(ix);
    rm_rf(dir);
}

static void test_corrupt(void) {
    char dir[256];
    if (!tmp_dir(dir, sizeof dir, "corrupt")) { CHECK(0); return; }
    fr_index_opts o = quiet_opts();
    fr_index *ix = NULL;
    fr_error err = {0};
    CHECK_EQ(fr_index_build(dir, &o, &ix, &err), 0);
    uint64_t seed = 7;
    char buf[8192], id[32];
    for (int i = 0; i < 300; i++) {
        snprintf(id, sizeof id, "d%d", i);
        gen_doc(buf, sizeof buf, id, &seed, 30, 200);
        add(ix, buf);
    }
    CHECK_EQ(fr_index_commit(ix, &err), 0);
    fr_index_close(ix);
    char seg[4200];
    snprintf(seg, sizeof seg, "%s/seg_0.frs", dir);
    struct stat stt;
    CHECK_EQ(stat(seg, &stt), 0);
    int fd = open(seg, O_RDWR);
    uint8_t byte;
    CHECK_EQ(pread(fd, &byte, 1, stt.st_size / 2), 1);
    byte ^= 0x10;
    CHECK_EQ(pwrite(fd, &byte, 1, stt.st_size / 2), 1);
    CHECK_EQ(fr_index_open(dir, &o, &ix, &err), FR_ECHECKSUM);
    CHECK(strstr(err.msg, "seg_0.frs: checksum mismatch") != NULL);
    CHECK_EQ(ftruncate(fd, stt.st_size - 100), 0);
    CHECK_EQ(fr_index_open(dir, &o, &ix, &err), FR_ECORRUPT);
    CHECK(strstr(err.msg, "seg_0.frs") != NULL);
    close(fd);
    snprintf(seg, sizeof seg, "%s/COMMIT", dir);
    fd = open(seg, O_RDWR);
    CHECK_EQ(pwrite(fd, "X", 1, 20), 1);
    close(fd);
    CHECK_EQ(fr_index_open(dir, &o, &ix, &err), FR_ECHECKSUM);
    CHECK(ix == NULL);
    rm_rf(dir);
    CHECK_EQ(fr_index_open("/nonexistent/idx", &o, &ix, &err), FR_ENOTFOUND);
}

// nDCG@10 (graded gains, ideal over all judged documents) of BM25 on Cranfield.
static void test_cranfield(void) {
    const char *c = fr_test_shared("data/cranfield/corpus.jsonl");
    if (!c) { TEST_SKIP("../shared/data/cranfield absent"); return; }
    char corpus[4096], queries[4096], qrels[4096];
    snprintf(corpus, sizeof corpus, "%s", c);
    snprintf(queries, sizeof queries, "%.*s/queries.jsonl", (int)(strlen(corpus) - 13), corpus);
    snprintf(qrels, sizeof qrels, "%.*s/qrels/test.tsv", (int)(strlen(corpus) - 13), corpus);
    char dir[256];
    if (!tmp_dir(dir, sizeof dir, "cran")) { CHECK(0); return; }
    fr_index_opts o = quiet_opts();
    fr_index *ix = NULL;
    fr_error err = {0};
    CHECK_EQ(fr_index_build(dir, &o, &ix, &err), 0);
    size_t a = 0, s = 0;
    CHECK_EQ(fr_index_add_jsonl(ix, corpus, FR_ON_ERROR_FAIL, &a, &s, &err), 0);
    CHECK_EQ(a, 1400);
    CHECK_EQ(fr_index_commit(ix, &err), 0);
    // qrels: query-id corpus-id score
    static int gain[226][1401];
    memset(gain, 0, sizeof gain);
    FILE *f = fopen(qrels, "r");
    char line[8192];
    while (f && fgets(line, sizeof line, f)) {
        int q, d, g;
        if (sscanf(line, "%d %d %d", &q, &d, &g) == 3 && q > 0 && q <= 225 && d > 0 && d <= 1400)
            gain[q][d] = g;
    }
    if (f) fclose(f);
    f = fopen(queries, "r");
    double sum = 0;
    int nq = 0;
    while (f && fgets(line, sizeof line, f)) {
        char *t = strstr(line, "\"text\": \""), *idp = strstr(line, "\"_id\": \"");
        if (!t || !idp) continue;
        int q = atoi(idp + 8);
        t += 9;
        char *e = strstr(t, "\", ");
        if (e) *e = 0;
        fr_hit h[10];
        size_t n = 0;
        fr_search_opts so = fr_search_opts_default();
        CHECK_EQ(fr_index_search(ix, t, -1, &so, h, &n, &err), 0);
        double dcg = 0, idcg = 0;
        for (size_t i = 0; i < n; i++) {
            fr_doc d;
            fr_index_doc(ix, h[i].doc, &d, NULL);
            dcg += gain[q][atoi(d.id)] / log2((double)i + 2);
        }
        int g[1401], ng = 0;
        for (int d = 1; d <= 1400; d++) if (gain[q][d] > 0) g[ng++] = gain[q][d];
        for (int i = 0; i < ng; i++)  // sort descending
            for (int j = i + 1; j < ng; j++) if (g[j] > g[i]) { int x = g[i]; g[i] = g[j]; g[j] = x; }
        for (int i = 0; i < ng && i < 10; i++) idcg += g[i] / log2((double)i + 2);
        if (ng) { sum += idcg > 0 ? dcg / idcg : 0; nq++; }
    }
    if (f) fclose(f);
    CHECK_EQ(nq, 225);
    double ndcg = nq ? sum / nq : 0;
    printf("cranfield BM25 nDCG@10 = %.4f (defaults: k1 1.2, b 0.75, title weight 3)\n", ndcg);
    CHECK(ndcg >= 0.3623);  // Xapian 0.3548, SQLite FTS5 0.3623 (../shared/data/README.md)
    fr_index_close(ix);
    rm_rf(dir);
}

int fr__doc_parse_dump(const char *json, size_t len, int fast, char *out, size_t cap);

// The fast JSON path must agree with jansson on everything it accepts.
static void test_fast_json(void) {
    static const struct { const char *json; int fast; } cases[] = {
        {"{\"_id\": \"1\", \"title\": \"t\", \"text\": \"x y\", \"metadata\": {}}", 1},
        {"  {\"id\":\"a\\\"b\",\"text\":\"line\\nnext \\\\ \\/ \\t\"}  \n", 1},
        {"{\"id\":\"a\",\"text\":\"\\u00e9t\\u00e9\"}", 0},
        {"{\"id\":\"a\",\"text\":\"b\",\"meta\":{\"k\":[1,{\"z\":null}]}}", 0},
        {"{\"id\":\"a\",\"text\":\"b\",\"text\":\"c\"}", 0},
        {"{\"id\":17,\"text\":\"b\"}", 0},
        {"{\"id\":\"a\",\"text\":\"b\",\"authority\":1e3,\"x\":true,\"y\":-0.5,\"z\":null}", 1},
        {"{\"id\":\"a\",\"text\":\"b\",\"authority\":-0.25e-2}", 1},
        {"{\"id\":\"a\",\"text\":\"b\",\"authority\":1e400}", 0},
        {"{\"id\":\"a\",\"text\":\"b\"} x", 0},
        {"{\"id\":null,\"_id\":\"z\",\"text\":\"b\",\"title\":null,\"meta\":null,\"metadata\":{ }}", 1},
        {"{\"id\":\"a\",\"text\":\"b\",\"date\":\"2021-13-01\"}", 0},
        {"{\"id\":\"a\",\"text\":\"\xE7\xB3\x96\xE5\xB0\xBF\",\"date\":\"2021-02-03T04:05:06+01:00\",\"source\":\"s\",\"lang\":\"zh\"}", 1},
        {"{\"id\":\"a\",\"text\":\"b\tc\"}", 0},
        {"{\"id\":\"a\",\"text\":5}", 0},
        {"{\"id\":\"a\",\"text\":\"b\",\"extra\":[1,2]}", 0},
        {"{\"id\":\"a\",\"text\":\"b\xFF\"}", 0},
        {"{\"id\":\"\",\"text\":\"b\"}", 0},
        {"{\"id\":\"a\",\"text\":\"b\",\"authority\":01}", 0},
        {"{\"id\":\"a\",\"text\":\"b\",}", 0},
        {"{}", 0},
        {"{\"id\":\"a\",\"text\":\"b\",\"title\":\"x\\", 0},
    };
    char a[8192], b[8192];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *j = cases[i].json;
        int handled = fr__doc_parse_dump(j, strlen(j), 1, a, sizeof a);
        CHECK_EQ(handled, cases[i].fast);
        if (handled != cases[i].fast) fprintf(stderr, "case %zu: %s\n", i, j);
        if (handled) {
            CHECK_EQ(fr__doc_parse_dump(j, strlen(j), 0, b, sizeof b), 0);
            CHECK_STR(a, b);
        }
    }
    uint64_t seed = 5;
    char buf[8192], id[32];
    int agree = 0;
    for (int i = 0; i < 200; i++) {
        snprintf(id, sizeof id, "g%d", i);
        gen_doc(buf, sizeof buf, id, &seed, 50, 500);
        if (fr__doc_parse_dump(buf, strlen(buf), 1, a, sizeof a) == 1 &&
            fr__doc_parse_dump(buf, strlen(buf), 0, b, sizeof b) == 0 && !strcmp(a, b))
            agree++;
    }
    CHECK_EQ(agree, 200);
}

int main(void) {
    test_fast_json();
    test_basic();
    test_jsonl();
    test_exact_topk();
    test_corrupt();
    test_cranfield();
    return TEST_REPORT();
}
