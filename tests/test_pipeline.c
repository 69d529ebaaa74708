/* test_pipeline.c — the pipeline end to end on the bundled sample corpus
 * (data/sample/corpus.jsonl): ordering effects of timeliness, authority and diversity, the
 * deadline path, synonyms, filters, caps, explanations and configuration errors. */
#include <stdlib.h>
#include <time.h>

#include "finerank.h"
#include "test.h"

static char dir[] = "/tmp/fr_test_pipeline_XXXXXX";
static fr_index *ix;

static int rank_of(const fr_result *r, const char *id) {
    for (size_t i = 0; i < r->n; i++)
        if (r->items[i].id && !strcmp(r->items[i].id, id)) return (int)i + 1;
    return 0;  // absent
}

static const fr_ranked *find(const fr_result *r, const char *id) {
    int k = rank_of(r, id);
    return k ? &r->items[k - 1] : NULL;
}

static fr_pipeline_config base(void) {
    fr_pipeline_config c = fr_pipeline_config_default();
    fr_error err;
    c.reranker = FR_RERANK_NONE;  // semantic = BM25 / max BM25: no model, deterministic
    c.k = 10;
    c.explain = 1;
    fr_pipeline_config_set(&c, "now", "2025-06-01", &err);
    return c;
}

static int run(fr_pipeline *p, const char *q, const fr_pipeline_config *c, fr_result *r) {
    fr_error err = {0};
    int rc = fr_pipeline_run(p, q, c, r, &err);
    if (rc < 0) fprintf(stderr, "run '%s': %s\n", q, err.msg);
    return rc;
}

// A semantic scorer that gives the two hypertension "target" documents the same score, so
// that only the signals can separate them (equal semantics).
static int equal_scorer(void *ctx, const char *query, const char *const *passages, size_t n,
                        double *scores, fr_error *err) {
    (void)ctx, (void)query, (void)err;
    for (size_t i = 0; i < n; i++)
        scores[i] = strstr(passages[i], "Hypertension treatment targets") ? 0.8 : 0.2;
    return 0;
}

static void test_timeliness(fr_pipeline *p) {
    fr_error err = {0};
    const char *q = "hypertension treatment target blood pressure";
    fr_pipeline_config c = base();
    c.reranker = FR_RERANK_MODEL;
    c.k = 50;
    fr_pipeline_set_scorer(p, equal_scorer, NULL, "equal");
    c.authority = fr_authority_default();
    CHECK_EQ(fr_authority_parse("none", &c.authority, &err), 0);
    fr_result r = {0};

    // Equal semantics, no signals: a tie, broken by stage-1 order.
    CHECK_EQ(run(p, q, &c, &r), 0);
    const fr_ranked *g = find(&r, "htn-guideline-2023"), *h = find(&r, "htn-hospital-2010");
    CHECK(g && h);
    if (g && h) {
        CHECK_NEAR(g->semantic, h->semantic, 0);
        CHECK_NEAR(g->score, h->score, 0);
    }
    CHECK_STR(r.reranker, "equal");
    fr_result_free(&r);

    // Timeliness: the 2023 guideline above the 2010 hospital data.
    CHECK_EQ(fr_freshness_parse("gauss:scale=3y,offset=180d", &c.freshness, &err), 0);
    CHECK_EQ(run(p, q, &c, &r), 0);
    int rg = rank_of(&r, "htn-guideline-2023"), rh = rank_of(&r, "htn-hospital-2010");
    CHECK(rg > 0 && rh > 0 && rg < rh);
    g = find(&r, "htn-guideline-2023");
    h = find(&r, "htn-hospital-2010");
    if (g && h) {
        CHECK(g->timeliness > 0.5);
        CHECK(h->timeliness < 0.01);
        // final = semantic × timeliness × authority (authority 1 here)
        CHECK_NEAR(g->score, g->semantic * g->timeliness, 1e-12);
    }
    fr_result_free(&r);

    // A step table does the same: ≤ 3 years 1.2, ≥ 10 years 0.7.
    CHECK_EQ(fr_freshness_parse("<=3y:1.2,>=10y:0.7", &c.freshness, &err), 0);
    CHECK_EQ(run(p, q, &c, &r), 0);
    g = find(&r, "htn-guideline-2023");
    h = find(&r, "htn-hospital-2010");
    CHECK(g && h);
    if (g && h) {
        CHECK_NEAR(g->timeliness, 1.2, 0);  // 2023-06-01: 731 days before now
        CHECK_NEAR(h->timeliness, 0.7, 0);
        CHECK(rank_of(&r, "htn-guideline-2023") < rank_of(&r, "htn-hospital-2010"));
    }
    fr_result_free(&r);
    fr_pipeline_set_scorer(p, NULL, NULL, NULL);
}

static void test_authority(fr_pipeline *p) {
    fr_error err = {0};
    const char *q = "hypertension treatment target blood pressure";
    fr_pipeline_config c = base();
    fr_result r = {0};
    // Without authority the keyword-stuffed self-media article wins on BM25.
    CHECK_EQ(fr_authority_parse("none", &c.authority, &err), 0);
    CHECK_EQ(run(p, q, &c, &r), 0);
    CHECK_EQ(rank_of(&r, "htn-selfmedia-2024"), 1);
    CHECK(rank_of(&r, "htn-guideline-2023") > 1);
    fr_result_free(&r);
    // With the source table it falls below the guideline.
    CHECK_EQ(fr_authority_parse("guideline:1.0,self-media:0.6", &c.authority, &err), 0);
    CHECK_EQ(run(p, q, &c, &r), 0);
    int rg = rank_of(&r, "htn-guideline-2023"), rs = rank_of(&r, "htn-selfmedia-2024");
    CHECK(rg > 0 && rs > 0 && rg < rs);
    const fr_ranked *s = find(&r, "htn-selfmedia-2024");
    if (s) {
        CHECK_NEAR(s->authority, 0.6, 0);
        CHECK_NEAR(s->score, s->semantic * 0.6, 1e-12);
    }
    fr_result_free(&r);
    // The documents' own authority field (default spec) does it too: 0.6 vs 1.0.
    c.authority = fr_authority_default();
    CHECK_EQ(run(p, q, &c, &r), 0);
    CHECK(rank_of(&r, "htn-guideline-2023") < rank_of(&r, "htn-selfmedia-2024"));
    fr_result_free(&r);
}

static void test_diversity(fr_pipeline *p) {
    const char *q = "diabetes blood sugar control";
    fr_pipeline_config c = base();
    fr_result r = {0};
    c.k = 5;
    // λ = 1: three sugar-control documents fill the top 3.
    CHECK_EQ(run(p, q, &c, &r), 0);
    int re = rank_of(&r, "dm-exercise-01");
    CHECK(re > 3);
    for (size_t i = 0; i < 3 && i < r.n; i++) CHECK(strncmp(r.items[i].id, "dm-sugar-", 9) == 0);
    fr_result_free(&r);
    // λ = 0.5 asks for diversity: exercise management makes the top 3 (idf from the index).
    c.lambda = 0.5;
    c.mmr_local_idf = 0;
    CHECK_EQ(run(p, q, &c, &r), 0);
    re = rank_of(&r, "dm-exercise-01");
    CHECK(re >= 1 && re <= 3);
    CHECK(strncmp(r.items[0].id, "dm-sugar-", 9) == 0);  // the most relevant stays first
    const fr_ranked *e = find(&r, "dm-exercise-01");
    if (e) {
        CHECK(e->max_sim > 0 && e->max_sim < 0.4);
        CHECK_NEAR(e->diversity_penalty, 0.5 * e->max_sim, 1e-12);
    }
    // The sugar documents ranked after it carry a larger penalty.
    for (size_t i = 1; i < r.n; i++)
        if (!strncmp(r.items[i].id, "dm-sugar-", 9) && e) CHECK(r.items[i].max_sim > e->max_sim);
    fr_result_free(&r);
    // Same with MMR's idf taken from the candidates (the default).
    c.mmr_local_idf = 1;
    CHECK_EQ(run(p, q, &c, &r), 0);
    re = rank_of(&r, "dm-exercise-01");
    CHECK(re >= 1 && re <= 3);
    fr_result_free(&r);

    // A cap of 1 per source: the top 5 have 5 different sources.
    c = base();
    c.k = 5;
    c.cap = 1;
    CHECK_EQ(run(p, q, &c, &r), 0);
    CHECK_EQ(r.n, 5);
    for (size_t i = 0; i < r.n; i++)
        for (size_t j = 0; j < i; j++) CHECK(strcmp(r.items[i].source, r.items[j].source) != 0);
    fr_result_free(&r);
    // A cap on a meta field.
    strcpy(c.cap_field, "meta.topic");
    c.cap = 2;
    CHECK_EQ(run(p, q, &c, &r), 0);
    int sugar = 0;
    for (size_t i = 0; i < r.n; i++) sugar += !strncmp(r.items[i].id, "dm-sugar-", 9);
    CHECK(sugar <= 2);
    fr_result_free(&r);
}

// Sleeps 20 ms per call: with a 30 ms budget, the first batches are scored, the rest not.
static int slow_scorer(void *ctx, const char *query, const char *const *passages, size_t n,
                       double *scores, fr_error *err) {
    (void)ctx, (void)query, (void)passages, (void)err;
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    for (size_t i = 0; i < n; i++) scores[i] = 1.0 - 0.01 * (double)i;  // reverses each batch
    return 0;
}

static void test_deadline(fr_pipeline *p) {
    const char *q = "diabetes blood sugar phone battery travel garden water heat";
    fr_pipeline_config c = base();
    c.reranker = FR_RERANK_MODEL;
    c.k = 40;
    c.deadline_ms = 30;
    fr_pipeline_set_scorer(p, slow_scorer, NULL, "slow");
    fr_result r = {0};
    CHECK_EQ(run(p, q, &c, &r), 0);
    CHECK(r.n_rerank >= 24);
    CHECK_EQ(r.deadline_hit, 1);
    CHECK(r.n_scored >= 8 && r.n_scored < r.n_rerank);
    CHECK_EQ(r.n_scored % 8, 0);
    // Scored documents first, then every unscored one in stage-1 order.
    size_t first_unscored = r.n;
    for (size_t i = 0; i < r.n; i++)
        if (!r.items[i].scored) { first_unscored = i; break; }
    CHECK_EQ(first_unscored, r.n_scored);
    for (size_t i = first_unscored; i < r.n; i++) {
        CHECK(!r.items[i].scored);
        CHECK_EQ(r.items[i].stage1_rank, i + 1);
        CHECK(isnan(r.items[i].semantic));
    }
    char *js = fr_result_to_json(&r, q, 1);
    CHECK(js && strstr(js, "\"deadline_hit\":true") && strstr(js, "keep their stage-1 order"));
    free(js);
    fr_result_free(&r);
    // Without a budget everything is scored.
    c.deadline_ms = 0;
    c.rerank_top = 16;
    CHECK_EQ(run(p, q, &c, &r), 0);
    CHECK_EQ(r.deadline_hit, 0);
    CHECK_EQ(r.n_scored, 16);
    fr_result_free(&r);
    fr_pipeline_set_scorer(p, NULL, NULL, NULL);
}

static void test_synonyms_filters_explain(void) {
    fr_error err = {0};
    char path[] = "/tmp/fr_test_syn_XXXXXX";
    int fd = mkstemp(path);
    const char *rules = "# demo\nheating => heat dissipation, thermal\n";
    CHECK(fd >= 0 && write(fd, rules, strlen(rules)) == (ssize_t)strlen(rules));
    close(fd);
    fr_pipeline_config c = base();
    snprintf(c.synonyms, sizeof c.synonyms, "%s", path);
    fr_pipeline *p = NULL;
    CHECK_EQ(fr_pipeline_new(ix, &c, &p, &err), 0);
    fr_result r = {0};
    CHECK_EQ(run(p, "phone heating", &c, &r), 0);
    CHECK(r.query_terms && strstr(r.query_terms, "thermal^0.5") && strstr(r.query_terms, "dissip"));
    CHECK(rank_of(&r, "phone-heat-02") > 0);  // "Thermal throttling explained": no "heating"
    fr_result_free(&r);
    fr_pipeline_free(p);
    unlink(path);

    // A bad synonyms file is an error naming file and line.
    char bad[] = "/tmp/fr_test_syn_XXXXXX";
    fd = mkstemp(bad);
    CHECK(fd >= 0 && write(fd, "ok, fine\n => x\n", 15) == 15);
    close(fd);
    snprintf(c.synonyms, sizeof c.synonyms, "%s", bad);
    CHECK(fr_pipeline_new(ix, &c, &p, &err) < 0);
    CHECK(strstr(err.msg, bad) && strstr(err.msg, ":2:"));
    unlink(bad);

    // Filters.
    c = base();
    CHECK_EQ(fr_pipeline_new(ix, &c, &p, &err), 0);
    strcpy(c.filter_source, "guideline");
    CHECK_EQ(run(p, "diabetes blood pressure", &c, &r), 0);
    CHECK(r.n > 0);
    for (size_t i = 0; i < r.n; i++) CHECK_STR(r.items[i].source, "guideline");
    fr_result_free(&r);
    c = base();
    CHECK_EQ(fr_pipeline_config_set(&c, "filters.date_from", "2023-01-01", &err), 0);
    CHECK_EQ(run(p, "diabetes", &c, &r), 0);
    CHECK(r.n > 0);
    for (size_t i = 0; i < r.n; i++) CHECK(strcmp(r.items[i].date, "2023-01-01") >= 0);
    fr_result_free(&r);

    // Chinese: CJK bigrams find the Chinese documents.
    c = base();
    CHECK_EQ(run(p, "量子纠缠", &c, &r), 0);
    CHECK(rank_of(&r, "quantum-zh-01") == 1 || rank_of(&r, "quantum-zh-02") == 1);
    fr_result_free(&r);

    // Explanations carry every factor.
    c = base();
    CHECK_EQ(run(p, "insulin injection", &c, &r), 0);
    char *js = fr_result_to_json(&r, "insulin injection", 1);
    const char *keys[] = {"\"bm25\"", "\"stage1_rank\"", "\"semantic\"", "\"timeliness\"",
                          "\"authority\"", "\"final\"", "\"diversity_penalty\"", "\"max_sim\""};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) CHECK(js && strstr(js, keys[i]));
    free(js);
    CHECK(r.n > 0 && !strncmp(r.items[0].id, "diab-insulin", 12));
    fr_result_free(&r);

    // The proximity reranker (the default without a model): semantic in [0, 1], max 1.
    c = base();
    c.reranker = FR_RERANK_AUTO;
    CHECK_EQ(run(p, "insulin injection technique", &c, &r), 0);
    CHECK_STR(r.reranker, "proximity");
    CHECK(r.n > 0 && r.n_scored == r.n_rerank);
    double mx = 0;
    for (size_t i = 0; i < r.n; i++) {
        CHECK(r.items[i].semantic >= 0 && r.items[i].semantic <= 1);
        if (r.items[i].semantic > mx) mx = r.items[i].semantic;
    }
    CHECK_NEAR(mx, 1.0, 1e-12);
    CHECK(r.n > 0 && !strncmp(r.items[0].id, "diab-insulin", 12));
    fr_result_free(&r);
    // The pipeline's proximity scores equal fr_proximity_rerank_terms' (src/rank/proximity.c).
    {
        const char *pq = "blood sugar control diabetes";
        fr_pipeline_config pc = base();
        pc.reranker = FR_RERANK_PROXIMITY;
        pc.k = 100;
        CHECK_EQ(fr_authority_parse("none", &pc.authority, &err), 0);
        CHECK_EQ(run(p, pq, &pc, &r), 0);
        fr_terms qt = {0};
        CHECK_EQ(fr_index_analyze(ix, pq, -1, &qt, &err), 0);
        fr_search_opts so = fr_search_opts_default();
        so.k = 1000;
        fr_hit hits[1000];
        size_t nh = 0;
        CHECK_EQ(fr_index_search_terms(ix, &qt, &so, hits, &nh, &err), 0);
        fr_prox_opts po = fr_prox_opts_default();
        po.depth = 100;
        CHECK_EQ(fr_proximity_rerank_terms(ix, &qt, &po, hits, nh, &err), 0);
        double hmx = nh ? hits[0].score : 0;
        size_t matched = 0;
        for (size_t i = 0; i < r.n; i++)
            for (size_t j = 0; j < nh; j++)
                if (hits[j].doc == r.items[i].doc) {
                    CHECK_NEAR(r.items[i].semantic, hits[j].score / hmx, 1e-12);
                    matched++;
                }
        CHECK_EQ(matched, r.n);
        CHECK(r.n >= 10);
        fr_terms_free(&qt);
        fr_result_free(&r);
    }

    // RM3 expansion in stage 1.
    c.rm3 = 1;
    c.rm3_fb_docs = 3;
    CHECK_EQ(run(p, "insulin injection", &c, &r), 0);
    CHECK(r.query_terms && strstr(r.query_terms, "RM3"));
    CHECK(r.n > 0 && r.n_candidates >= 5);
    fr_result_free(&r);

    // No terms (only stopwords): empty result, not an error.
    CHECK_EQ(run(p, "the of and", &c, &r), 0);
    CHECK_EQ(r.n, 0);
    fr_result_free(&r);

    // The cross-encoder path, with a tiny random-weight checkpoint (nn's test fixture): the
    // semantic score is the model's relevance for the passage "title\ntext".
    if (access("tests/data/models/bert-gelu/config.json", R_OK) == 0) {
        fr_pipeline_config mc = base();
        strcpy(mc.model, "tests/data/models/bert-gelu");
        fr_pipeline *mp = NULL;
        CHECK_EQ(fr_pipeline_new(ix, &mc, &mp, &err), 0);
        if (mp) {
            mc.reranker = FR_RERANK_AUTO;
            CHECK_EQ(run(mp, "insulin injection", &mc, &r), 0);
            CHECK_STR(r.reranker, "cross-encoder");
            CHECK(r.n > 0 && r.n_scored == r.n_rerank);
            fr_model *m = NULL;
            CHECK_EQ(fr_model_open("tests/data/models/bert-gelu", NULL, &m, &err), 0);
            for (size_t i = 0; m && i < r.n; i++) {
                fr_doc d;
                CHECK_EQ(fr_index_doc(ix, r.items[i].doc, &d, &err), 0);
                char pass[4096];
                snprintf(pass, sizeof pass, "%s\n%s", d.title, d.text);
                const char *pp = pass;
                fr_rerank_score rs;
                fr_score_opts so = fr_score_opts_default();
                CHECK_EQ(fr_model_rerank(m, "insulin injection", &pp, NULL, 1, &so, &rs, &err), 0);
                CHECK_NEAR(r.items[i].semantic, rs.relevance, 1e-6);
            }
            fr_model_free(m);
            fr_result_free(&r);
            fr_pipeline_free(mp);
        }
    } else {
        TEST_SKIP("tests/data/models/bert-gelu absent");
    }

    // Errors name their field.
    c = base();
    c.reranker = FR_RERANK_MODEL;
    CHECK(fr_pipeline_run(p, "x", &c, &r, &err) < 0);
    CHECK(strstr(err.msg, "reranker") != NULL);
    c = base();
    c.lambda = 2;
    CHECK(fr_pipeline_run(p, "x", &c, &r, &err) < 0);
    CHECK(strstr(err.msg, "diversity.lambda") != NULL);
    fr_pipeline_free(p);
    c = base();
    strcpy(c.model, "/nonexistent/model");
    CHECK(fr_pipeline_new(ix, &c, &p, &err) < 0);
    CHECK(strstr(err.msg, "model") != NULL);
    CHECK(p == NULL);
}

int main(void) {
    fr_error err = {0};
    if (access("data/sample/corpus.jsonl", R_OK) != 0) {
        TEST_SKIP("data/sample/corpus.jsonl not found (run from the repository root)");
        return TEST_REPORT();
    }
    CHECK(mkdtemp(dir) != NULL);
    fr_index_opts io = fr_index_opts_default();
    io.sync = 0;
    fr_index *w = NULL;
    size_t added = 0;
    CHECK_EQ(fr_index_build(dir, &io, &w, &err), 0);
    CHECK_EQ(fr_index_add_jsonl(w, "data/sample/corpus.jsonl", FR_ON_ERROR_FAIL, &added, NULL, &err), 0);
    CHECK_EQ(added, 200);
    CHECK_EQ(fr_index_commit(w, &err), 0);
    fr_index_close(w);
    CHECK_EQ(fr_index_open(dir, NULL, &ix, &err), 0);
    if (!ix) {
        fprintf(stderr, "%s\n", err.msg);
        return TEST_REPORT();
    }
    fr_pipeline *p = NULL;
    fr_pipeline_config c = base();
    CHECK_EQ(fr_pipeline_new(ix, &c, &p, &err), 0);
    test_timeliness(p);
    test_authority(p);
    test_diversity(p);
    test_deadline(p);
    fr_pipeline_free(p);
    test_synonyms_filters_explain();
    fr_index_close(ix);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK_EQ(system(cmd), 0);
    return TEST_REPORT();
}
