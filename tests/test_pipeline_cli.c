/* test_pipeline_cli.c — `finerank search` and `finerank eval` with the pipeline flags, run as
 * a user would (the built binary on the sample corpus): config-file precedence, --set,
 * --explain/--json output, errors naming their field, eval through the pipeline. */
#include <stdlib.h>

#include "test.h"

static char bin[512], dir[] = "/tmp/fr_test_pcli_XXXXXX";

int main(void) {
    const char *b = getenv("FR_BUILD");
    snprintf(bin, sizeof bin, "%s/finerank", b && *b ? b : "build");
    if (access(bin, X_OK) != 0 || access("data/sample/corpus.jsonl", R_OK) != 0) {
        TEST_SKIP("finerank binary or data/sample/corpus.jsonl absent");
        return TEST_REPORT();
    }
    CHECK(mkdtemp(dir) != NULL);
    static char out[65536], cmd[2048];
    snprintf(cmd, sizeof cmd, "%s index build --corpus data/sample/corpus.jsonl --index %s/ix 2>&1",
             bin, dir);
    CHECK_EQ(fr_test_run(cmd, out, sizeof out), 0);

    // The demo config, explained: every factor is printed.
    snprintf(cmd, sizeof cmd, "%s search --index %s/ix --query 'hypertension treatment target' "
             "--config data/sample/pipeline.json --diversity 1 --explain 2>&1", bin, dir);
    CHECK_EQ(fr_test_run(cmd, out, sizeof out), 0);
    CHECK(strstr(out, "htn-guideline-2023") != NULL);
    CHECK(strstr(out, "semantic") && strstr(out, "timeliness") && strstr(out, "authority") &&
          strstr(out, "stage-1 #"));
    // The guideline is listed before the self-media post and the 2010 data.
    const char *g = strstr(out, "htn-guideline-2023"), *s = strstr(out, "htn-selfmedia-2024");
    CHECK(g && (!s || g < s));

    // Flags override the config file whatever their order; --set reaches any field.
    snprintf(cmd, sizeof cmd, "%s search --index %s/ix --query 'diabetes blood sugar control' "
             "--k 2 --config data/sample/pipeline.json --set diversity.idf=candidates --json 2>&1",
             bin, dir);
    CHECK_EQ(fr_test_run(cmd, out, sizeof out), 0);
    CHECK(strstr(out, "\"rank\":2") && !strstr(out, "\"rank\":3"));  // --k 2 beat the file's 5
    CHECK(strstr(out, "\"reranker\":\"proximity\"") != NULL);

    // Deadline: reported in the output.
    snprintf(cmd, sizeof cmd, "%s search --index %s/ix --query 'diabetes' --deadline-ms 0.0001 "
             "--json 2>&1", bin, dir);
    CHECK_EQ(fr_test_run(cmd, out, sizeof out), 0);
    CHECK(strstr(out, "\"deadline_hit\":true") != NULL);

    // Errors name the field (exit status 2: usage).
    snprintf(cmd, sizeof cmd, "%s search --index %s/ix --query x --diversity 1.5 2>&1", bin, dir);
    CHECK_EQ(fr_test_run(cmd, out, sizeof out), 2);
    CHECK(strstr(out, "diversity") && strstr(out, "outside [0, 1]"));
    snprintf(cmd, sizeof cmd, "%s search --index %s/ix --query x --freshness 'gauss:decay=0.5' 2>&1",
             bin, dir);
    CHECK_EQ(fr_test_run(cmd, out, sizeof out), 2);
    CHECK(strstr(out, "freshness scale") != NULL);
    snprintf(cmd, sizeof cmd, "printf '{\"diversity\": {\"cap\": -1}}' > %s/bad.json && "
             "%s search --index %s/ix --query x --config %s/bad.json 2>&1", dir, bin, dir, dir);
    CHECK_EQ(fr_test_run(cmd, out, sizeof out), 2);
    CHECK(strstr(out, "bad.json: diversity.cap") != NULL);
    snprintf(cmd, sizeof cmd, "%s search --index %s/ix --query x --model /nonexistent 2>&1", bin, dir);
    CHECK_EQ(fr_test_run(cmd, out, sizeof out), 1);
    CHECK(strstr(out, "model") != NULL);

    // Without pipeline flags, search stays plain BM25 (the index helper's output format).
    snprintf(cmd, sizeof cmd, "%s search --index %s/ix --query insulin --k 1 2>&1", bin, dir);
    CHECK_EQ(fr_test_run(cmd, out, sizeof out), 0);
    CHECK(!strstr(out, "query terms:") && strstr(out, "diab-insulin"));

    // eval through the pipeline: a tiny judged query set on the sample.
    snprintf(cmd, sizeof cmd,
             "printf '{\"_id\": \"q1\", \"text\": \"insulin injection\"}\\n"
             "{\"_id\": \"q2\", \"text\": \"quantum entanglement\"}\\n' > %s/q.jsonl && "
             "printf 'query-id\\tcorpus-id\\tscore\\nq1\\tdiab-insulin-01\\t1\\n"
             "q2\\tquantum-en-01\\t1\\n' > %s/qrels.tsv && "
             "%s eval --index %s/ix --queries %s/q.jsonl --qrels %s/qrels.tsv "
             "--config data/sample/pipeline.json --k 50 2>&1", dir, dir, bin, dir, dir, dir);
    CHECK_EQ(fr_test_run(cmd, out, sizeof out), 0);
    CHECK(strstr(out, "nDCG@10") != NULL);
    CHECK(strstr(out, "2 judged") != NULL);

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK_EQ(system(cmd), 0);
    return TEST_REPORT();
}
