/* test_index_par.c — the parallel bulk add (fr_index_opts.threads > 1) builds the same index
 * as the sequential one: same documents in the same global order, same deletions by id
 * replacement, bit-identical search hits and scores before and after optimize, and the
 * same --on-error line numbers and counts. Small input ranges force many ranges and
 * segments per thread. */
#include <pthread.h>

#include "finerank.h"
#include "index_util.h"
#include "test.h"

extern size_t fr__index_split_bytes;  // src/index/index.c test hook

#define N_DOCS 3000

// A corpus with replaced ids (some within one range, some across), a few per-doc
// languages, blank lines and (bad != 0) malformed lines.
static void write_corpus(const char *path, int bad) {
    FILE *f = fopen(path, "w");
    uint64_t s = 42;
    char buf[8192], id[32];
    for (int i = 0; i < N_DOCS; i++) {
        int r = (int)(rng_next(&s) % 100);
        if (r < 5 && i > 10) snprintf(id, sizeof id, "d%d", (int)(rng_next(&s) % (uint64_t)i));
        else snprintf(id, sizeof id, "d%d", i);
        gen_doc(buf, sizeof buf, id, &s, 5 + (int)(rng_next(&s) % 60), 400);
        fputs(buf, f);
        fputc('\n', f);
        if (r == 7) fputs("\n", f);
        if (r == 9) fputs("{\"id\":\"fr1\",\"lang\":\"french\",\"text\":\"les chanteuses chantaient w1\"}\n", f);
        if (bad && (i == 1500 || i == 2500)) fputs("{\"id\":\"x\",\"text\":3}\n", f);
    }
    fclose(f);
}

static fr_index *build(const char *dir, const char *corpus, int threads, fr_on_error oe,
                       int *rc, size_t *added, size_t *skipped, fr_error *err) {
    fr_index_opts o = fr_index_opts_default();
    o.sync = 0;
    o.threads = threads;
    o.mem_budget = 8 << 20;
    fr_index *ix = NULL;
    if (fr_index_build(dir, &o, &ix, err) < 0) return NULL;
    *rc = fr_index_add_jsonl(ix, corpus, oe, added, skipped, err);
    return ix;
}

static int same_hits(fr_index *a, fr_index *b) {
    const char *qs[] = {"w1 w2", "w3 w7 w11", "w100 w5", "w0", "w250 w399 w17 w2",
                        "w42 w43 w44 w45 w46 w47"};
    int ok = 1;
    for (size_t q = 0; q < sizeof qs / sizeof qs[0]; q++) {
        fr_hit ha[100], hb[100];
        size_t na = 0, nb = 0;
        fr_search_opts so = fr_search_opts_default();
        so.k = 100;
        fr_error err = {0};
        if (fr_index_search(a, qs[q], -1, &so, ha, &na, &err) < 0 ||
            fr_index_search(b, qs[q], -1, &so, hb, &nb, &err) < 0 || na != nb || na == 0) {
            fprintf(stderr, "query '%s': %zu vs %zu hits\n", qs[q], na, nb);
            ok = 0;
        }
        for (size_t i = 0; ok && i < na; i++) {
            fr_doc da, db;
            if (ha[i].doc != hb[i].doc || memcmp(&ha[i].score, &hb[i].score, sizeof(double)) ||
                fr_index_doc(a, ha[i].doc, &da, NULL) < 0 || fr_index_doc(b, hb[i].doc, &db, NULL) < 0 ||
                strcmp(da.id, db.id)) {
                fprintf(stderr, "query '%s' hit %zu: doc %u %.17g vs %u %.17g\n", qs[q], i,
                        ha[i].doc, ha[i].score, hb[i].doc, hb[i].score);
                ok = 0;
            }
        }
    }
    return ok;
}

// Reads the one segment file of dir (after optimize). OUT: *data (caller frees), *len.
static int read_only_segment(const char *dir, char **data, size_t *len) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    struct dirent *e;
    char path[4200] = "";
    int n = 0;
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, "seg_", 4) && strstr(e->d_name, ".frs")) {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            n++;
        }
    closedir(d);
    if (n != 1) return -1;
    *data = fr_test_slurp(path, len);
    return *data ? 0 : -1;
}

static void test_same_index(void) {
    char da[256], db[256], corpus[300];
    if (!tmp_dir(da, sizeof da, "par1") || !tmp_dir(db, sizeof db, "par2")) { CHECK(0); return; }
    snprintf(corpus, sizeof corpus, "%s.jsonl", da);
    write_corpus(corpus, 0);
    fr__index_split_bytes = 20000;
    fr_error err = {0};
    int rc1 = -1, rc2 = -1;
    size_t a1 = 0, a2 = 0, s1 = 0, s2 = 0;
    fr_index *a = build(da, corpus, 1, FR_ON_ERROR_FAIL, &rc1, &a1, &s1, &err);
    fr_index *b = build(db, corpus, 2, FR_ON_ERROR_FAIL, &rc2, &a2, &s2, &err);
    CHECK(a && b);
    if (!a || !b) goto out;
    CHECK_EQ(rc1, 0);
    CHECK_EQ(rc2, 0);
    CHECK_EQ(a1, a2);
    CHECK_EQ(fr_index_commit(a, &err), 0);
    CHECK_EQ(fr_index_commit(b, &err), 0);
    fr_index_stats sa, sb;
    fr_index_stats_get(a, &sa, NULL);
    fr_index_stats_get(b, &sb, NULL);
    CHECK_EQ(sa.n_docs, sb.n_docs);
    CHECK_EQ(sa.n_live, sb.n_live);
    CHECK(sa.n_live < sa.n_docs);  // replacements happened
    CHECK(sb.n_segments > 4);      // many ranges were built
    CHECK(same_hits(a, b));
    // every document, in the same order, with the same deletion state
    int docs_ok = 1;
    for (uint32_t d = 0; d < fr_index_n_docs(a); d++) {
        fr_doc x, y;
        if (fr_index_doc(a, d, &x, NULL) < 0 || fr_index_doc(b, d, &y, NULL) < 0 ||
            strcmp(x.id, y.id) || x.deleted != y.deleted || x.text_len != y.text_len)
            docs_ok = 0;
    }
    CHECK(docs_ok);
    // adding the corpus again replaces every document in both (old-segment dedup)
    CHECK_EQ(fr_index_add_jsonl(a, corpus, FR_ON_ERROR_FAIL, NULL, NULL, &err), 0);
    CHECK_EQ(fr_index_add_jsonl(b, corpus, FR_ON_ERROR_FAIL, NULL, NULL, &err), 0);
    CHECK_EQ(fr_index_commit(a, &err), 0);
    CHECK_EQ(fr_index_commit(b, &err), 0);
    fr_index_stats_get(a, &sa, NULL);
    fr_index_stats_get(b, &sb, NULL);
    CHECK_EQ(sb.n_live, sa.n_live);
    CHECK_EQ(sb.n_docs, 2 * (sb.n_docs / 2));
    CHECK(same_hits(a, b));
    CHECK_EQ(fr_index_optimize(a, &err), 0);
    CHECK_EQ(fr_index_optimize(b, &err), 0);
    fr_index_stats_get(a, &sa, NULL);
    fr_index_stats_get(b, &sb, NULL);
    CHECK_EQ(sa.n_docs, sb.n_docs);
    CHECK_EQ(sb.n_segments, 1);
    CHECK(same_hits(a, b));
    // a (threads 1) merged on one thread, b (threads 2) on two: the same bytes
    char *ma = NULL, *mb = NULL;
    size_t la = 0, lb = 0;
    CHECK_EQ(read_only_segment(da, &ma, &la), 0);
    CHECK_EQ(read_only_segment(db, &mb, &lb), 0);
    CHECK(ma && mb && la > 0 && la == lb && !memcmp(ma, mb, la));
    free(ma);
    free(mb);
out:
    fr_index_close(a);
    fr_index_close(b);
    fr__index_split_bytes = 0;
    unlink(corpus);
    rm_rf(da);
    rm_rf(db);
}

// --on-error: the same first bad line, counts, and nothing visible after a failure.
static void test_errors(void) {
    char da[256], db[256], corpus[300];
    if (!tmp_dir(da, sizeof da, "pare1") || !tmp_dir(db, sizeof db, "pare2")) { CHECK(0); return; }
    snprintf(corpus, sizeof corpus, "%s.jsonl", da);
    write_corpus(corpus, 1);
    fr__index_split_bytes = 20000;
    for (int mode = 0; mode < 2; mode++) {
        fr_on_error oe = mode ? FR_ON_ERROR_SKIP : FR_ON_ERROR_FAIL;
        fr_error e1 = {0}, e2 = {0};
        int rc1 = 1, rc2 = 1;
        size_t a1 = 0, a2 = 0, s1 = 0, s2 = 0;
        fr_index *a = build(da, corpus, 1, oe, &rc1, &a1, &s1, &e1);
        fr_index *b = build(db, corpus, 2, oe, &rc2, &a2, &s2, &e2);
        CHECK(a && b);
        CHECK_EQ(rc1, mode ? 0 : FR_EFORMAT);
        CHECK_EQ(rc2, rc1);
        CHECK_EQ(a2, a1);
        CHECK_EQ(s2, s1);
        CHECK_EQ(s1, mode ? 2u : 0u);
        CHECK_STR(e2.msg, e1.msg);
        CHECK(strstr(e1.msg, ".jsonl:") != NULL);
        if (a && b && mode == 0) {
            fr_error err;
            CHECK_EQ(fr_index_rollback(b, &err), 0);
            CHECK_EQ(fr_index_n_docs(b), 0);
        }
        if (a && b && mode == 1) {
            fr_error err;
            CHECK_EQ(fr_index_commit(a, &err), 0);
            CHECK_EQ(fr_index_commit(b, &err), 0);
            CHECK(same_hits(a, b));
            CHECK_EQ(fr_index_n_docs(a), fr_index_n_docs(b));
            for (uint32_t d = 0; d < fr_index_n_docs(a); d++) {
                fr_doc x, y;
                if (fr_index_doc(a, d, &x, NULL) < 0 || fr_index_doc(b, d, &y, NULL) < 0 ||
                    strcmp(x.id, y.id)) {
                    fprintf(stderr, "doc %u: %s vs %s\n", d, x.id, y.id);
                    CHECK(0);
                    break;
                }
            }
        }
        fr_index_close(a);
        fr_index_close(b);
        rm_rf(da);
        rm_rf(db);
        mkdir(da, 0755);
        mkdir(db, 0755);
    }
    fr__index_split_bytes = 0;
    if (!getenv("KEEP")) unlink(corpus);
    rm_rf(da);
    rm_rf(db);
}

int main(void) {
    test_same_index();
    test_errors();
    return TEST_REPORT();
}
