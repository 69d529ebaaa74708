/* test_pipeline_config.c — the pipeline config: defaults, JSON file and overrides, flags,
 * and errors that name their field. */
#include "finerank.h"
#include "test.h"

static int apply(fr_pipeline_config *c, const char *json, fr_error *err) {
    return fr_pipeline_config_apply_json(c, json, strlen(json), "pipeline.json", err);
}

static void test_defaults(void) {
    fr_pipeline_config c = fr_pipeline_config_default();
    CHECK_EQ(c.candidates, 1000);
    CHECK_EQ(c.rerank_top, 100);
    CHECK_EQ(c.k, 10);
    CHECK_EQ(c.reranker, FR_RERANK_AUTO);
    CHECK_NEAR(c.lambda, 1.0, 0);
    CHECK_EQ(c.freshness.kind, FR_FRESH_NONE);
    CHECK_EQ(c.combine.mode, FR_COMBINE_PRODUCT);
    CHECK_EQ(c.authority.use_field, 1);
    CHECK_STR(c.cap_field, "source");
    CHECK_EQ(c.date_from_ms, INT64_MIN);
}

static void test_json(void) {
    fr_error err = {0};
    fr_pipeline_config c = fr_pipeline_config_default();
    const char *j =
        "{\"candidates\": 500, \"rerank_top\": 50, \"k\": 5, \"reranker\": \"proximity\","
        " \"rm3\": {\"enabled\": true, \"fb_docs\": 5},"
        " \"filters\": {\"source\": \"guideline\", \"date_from\": \"2015-01-01\"},"
        " \"freshness\": {\"function\": \"gauss\", \"scale\": \"3y\", \"decay\": 0.5,"
        "                 \"origin\": \"2024-01-01\", \"missing\": 0.9},"
        " \"authority\": {\"table\": {\"guideline\": 1.0, \"self-media\": 0.7}, \"default\": 0.8},"
        " \"combine\": {\"mode\": \"sum\", \"semantic\": 0.6, \"timeliness\": 0.2,"
        "               \"authority\": 0.2},"
        " \"diversity\": {\"lambda\": 0.6, \"cap\": 2, \"cap_field\": \"meta.topic\"},"
        " \"explain\": true, \"deadline_ms\": 250, \"now\": \"2024-06-01\"}";
    CHECK_EQ(apply(&c, j, &err), 0);
    if (err.msg[0]) fprintf(stderr, "%s\n", err.msg);
    CHECK_EQ(c.candidates, 500);
    CHECK_EQ(c.rerank_top, 50);
    CHECK_EQ(c.k, 5);
    CHECK_EQ(c.reranker, FR_RERANK_PROXIMITY);
    CHECK_EQ(c.rm3, 1);
    CHECK_EQ(c.rm3_fb_docs, 5);
    CHECK_STR(c.filter_source, "guideline");
    CHECK_EQ(c.date_from_ms, 1420070400000LL);  // date -u -d 2015-01-01 +%s
    CHECK_EQ(c.freshness.kind, FR_FRESH_GAUSS);
    CHECK_EQ(c.freshness.scale_ms, 3 * 365 * 86400000LL);
    CHECK_NEAR(c.freshness.missing, 0.9, 0);
    CHECK_EQ(c.freshness.has_origin, 1);
    CHECK_EQ(c.authority.n, 2);
    CHECK_NEAR(fr_authority_weight(&c.authority, "self-media", 0, 0), 0.7, 0);
    CHECK_NEAR(fr_authority_weight(&c.authority, "blog", 0, 0), 0.8, 0);
    CHECK_EQ(c.combine.mode, FR_COMBINE_SUM);
    CHECK_NEAR(c.combine.w_semantic, 0.6, 1e-12);
    CHECK_NEAR(c.lambda, 0.6, 0);
    CHECK_EQ(c.cap, 2);
    CHECK_STR(c.cap_field, "meta.topic");
    CHECK_EQ(c.mmr_local_idf, 1);  // default: candidates
    CHECK_EQ(fr_pipeline_config_set(&c, "diversity.idf", "index", &err), 0);
    CHECK_EQ(c.mmr_local_idf, 0);
    CHECK_EQ(fr_pipeline_config_set(&c, "diversity.idf", "candidates", &err), 0);
    CHECK_EQ(c.mmr_local_idf, 1);
    CHECK_EQ(c.explain, 1);
    CHECK_NEAR(c.deadline_ms, 250, 0);
    CHECK_EQ(c.now_ms, 1717200000000LL);  // date -u -d 2024-06-01 +%s

    // Per-query overrides: a second fragment changes only what it names.
    CHECK_EQ(apply(&c, "{\"k\": 3, \"diversity\": 0.9, \"freshness\": \"<=2y:1.2,>=10y:0.7\"}",
                   &err), 0);
    CHECK_EQ(c.k, 3);
    CHECK_NEAR(c.lambda, 0.9, 0);
    CHECK_EQ(c.cap, 2);
    CHECK_EQ(c.freshness.kind, FR_FRESH_STEP);
    CHECK_EQ(c.candidates, 500);

    // Flags go through the same fields.
    CHECK_EQ(fr_pipeline_config_set(&c, "candidates", "2000", &err), 0);
    CHECK_EQ(c.candidates, 2000);
    CHECK_EQ(fr_pipeline_config_set(&c, "authority", "guideline:1.0,self-media:0.7", &err), 0);
    CHECK_EQ(c.authority.n, 2);
    CHECK_EQ(fr_pipeline_config_set(&c, "freshness", "exp:scale=365d", &err), 0);
    CHECK_EQ(c.freshness.kind, FR_FRESH_EXP);

    // The effective config round-trips through its JSON form.
    char *s = fr_pipeline_config_to_json(&c);
    CHECK(s != NULL);
    fr_pipeline_config d = fr_pipeline_config_default();
    CHECK_EQ(apply(&d, s, &err), 0);
    if (err.msg[0]) fprintf(stderr, "%s\n%s\n", err.msg, s);
    CHECK_EQ(d.candidates, 2000);
    CHECK_EQ(d.freshness.kind, FR_FRESH_EXP);
    CHECK_EQ(d.freshness.scale_ms, c.freshness.scale_ms);
    CHECK_EQ(d.authority.n, 2);
    CHECK_EQ(d.date_from_ms, c.date_from_ms);
    CHECK_EQ(d.now_ms, c.now_ms);
    CHECK_EQ(d.combine.mode, FR_COMBINE_SUM);
    free(s);
}

static void test_errors(void) {
    struct { const char *json, *want; } bad[] = {
        {"{\"candidates\": 0}", "pipeline.json: candidates: expected an integer"},
        {"{\"candidates\": \"many\"}", "pipeline.json: candidates:"},
        {"{\"k\": -1}", "pipeline.json: k:"},
        {"{\"candidats\": 10}", "pipeline.json: unknown field 'candidats'"},
        {"{\"diversity\": {\"lambda\": 1.5}}", "pipeline.json: diversity.lambda: 1.5 is outside"},
        {"{\"diversity\": {\"cap_field\": \"author\"}}", "diversity.cap_field"},
        {"{\"diversity\": {\"lamda\": 0.5}}", "unknown field 'diversity.lamda'"},
        {"{\"diversity\": {\"idf\": \"corpus\"}}", "diversity.idf: expected index or candidates"},
        {"{\"filters\": {\"date_from\": \"2015-13-01\"}}", "filters.date_from: '2015-13-01': month 13"},
        {"{\"freshness\": \"gauss:scale=3q\"}", "freshness scale"},
        {"{\"freshness\": {\"function\": \"gauss\", \"decay\": 2, \"scale\": \"1y\"}}",
         "freshness decay"},
        {"{\"freshness\": {\"scale\": \"1y\"}}", "freshness: an object needs"},
        {"{\"authority\": {\"table\": {\"guideline\": \"high\"}}}", "authority.table.guideline"},
        {"{\"authority\": {\"tabel\": {}}}", "authority: unknown field 'tabel'"},
        {"{\"combine\": \"max\"}", "combine:"},
        {"{\"reranker\": \"bert\"}", "reranker: expected auto"},
        {"{\"explain\": \"yes\"}", "explain: expected true or false"},
        {"{\"deadline_ms\": -5}", "deadline_ms: -5 is outside"},
        {"{\"model\": [1]}", "model: expected a string"},
        {"{\"now\": \"yesterday\"}", "now: 'yesterday'"},
        {"[1, 2]", "pipeline.json: expected a JSON object"},
        {"{\"k\": 5,}", "pipeline.json: line 1"},
        {"{\"k\": 5, \"k\": 6}", "pipeline.json: line 1"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fr_error err = {0};
        fr_pipeline_config c = fr_pipeline_config_default();
        CHECK(apply(&c, bad[i].json, &err) < 0);
        if (!strstr(err.msg, bad[i].want))
            fprintf(stderr, "json %s: message '%s' lacks '%s'\n", bad[i].json, err.msg, bad[i].want);
        CHECK(strstr(err.msg, bad[i].want) != NULL);
        CHECK_EQ(c.k, 10);  // unchanged on failure
    }
    // Unchanged on failure even when earlier fields were valid.
    fr_error err = {0};
    fr_pipeline_config c = fr_pipeline_config_default();
    CHECK(apply(&c, "{\"k\": 3, \"candidates\": 0}", &err) < 0);
    CHECK_EQ(c.k, 10);
    CHECK(fr_pipeline_config_load(&c, "/nonexistent/pipeline.json", &err) < 0);
    CHECK(strstr(err.msg, "/nonexistent/pipeline.json") != NULL);
    CHECK(fr_pipeline_config_set(&c, "diversity", "x", &err) < 0);
    CHECK(strstr(err.msg, "diversity: expected a number") != NULL);
}

int main(void) {
    test_defaults();
    test_json();
    test_errors();
    return TEST_REPORT();
}
