/* test_model_cli.c — `finerank rerank` end to end: JSON-line and plain documents, pass-through
 * fields, best-first order, --top-n, window modes, scores equal to the library's, usage and
 * model errors, and a 10,000-document run.
 */
#include <jansson.h>

#include "finerank.h"
#include "test.h"

static char bin[512];

// Runs the CLI with documents from `docs_file`; returns the parsed output lines.
static size_t run(const char *args, const char *docs_file, json_t **out, size_t max, int *status) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s rerank %s --docs %s 2>/dev/null", bin, args, docs_file);
    FILE *p = popen(cmd, "r");
    size_t n = 0;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, p) > 0)
        if (n < max) out[n++] = json_loads(line, 0, NULL);
    free(line);
    int st = pclose(p);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return n;
}

int main(void) {
    const char *b = getenv("FR_BUILD");
    snprintf(bin, sizeof bin, "%s/finerank", b && *b ? b : "build");
    if (access(bin, X_OK) != 0) {
        TEST_SKIP("finerank binary not built");
        return TEST_REPORT();
    }
    char docs[] = "/tmp/fr_test_cli_XXXXXX";
    int fd = mkstemp(docs);
    FILE *f = fdopen(fd, "w");
    const char *texts[] = {"bm25 ranks documents by term frequency", "the wing of a supersonic aircraft",
                           "", "中国人民大学", "heat transfer in laminar flow"};
    fprintf(f, "{\"text\": \"%s\", \"id\": \"a\", \"n\": 1}\n", texts[0]);
    fprintf(f, "%s\n", texts[1]);
    fprintf(f, "{\"text\": \"\", \"id\": \"empty\"}\n");
    fprintf(f, "{\"text\": \"%s\", \"meta\": {\"x\": [1, 2]}}\n", texts[3]);
    fprintf(f, "{\"id\": \"no text field, so the line itself is the text\"}\n");
    fclose(f);

    const char *M = "tests/data/models/bert-gelu";
    json_t *o[16] = {0};
    int st;
    char args[1024];
    snprintf(args, sizeof args, "--model %s --query 'what is bm25'", M);
    size_t n = run(args, docs, o, 16, &st);
    CHECK_EQ(st, 0);
    CHECK_EQ(n, 5);
    // library scores for comparison
    fr_model *m = NULL;
    fr_error err;
    CHECK_EQ(fr_model_open(M, NULL, &m, &err), 0);
    const char *lib_docs[5] = {texts[0], texts[1], texts[2], texts[3],
                               "{\"id\": \"no text field, so the line itself is the text\"}"};
    fr_rerank_score s[5];
    CHECK_EQ(fr_model_rerank(m, "what is bm25", lib_docs, NULL, 5, NULL, s, &err), 0);
    double prev = 2, d = 0;
    int seen = 0;
    for (size_t i = 0; i < n && o[i]; i++) {
        size_t idx = (size_t)json_integer_value(json_object_get(o[i], "index"));
        double rel = json_number_value(json_object_get(o[i], "relevance_score"));
        CHECK(rel <= prev);
        prev = rel;
        CHECK(idx < 5);
        if (idx >= 5) continue;
        seen |= 1 << idx;
        d = fmax(d, fabs(rel - s[idx].relevance));
        d = fmax(d, fabs(json_number_value(json_object_get(o[i], "raw_score")) - s[idx].raw));
        if (idx == 0) {
            CHECK_STR(json_string_value(json_object_get(o[i], "id")), "a");
            CHECK_EQ(json_integer_value(json_object_get(o[i], "n")), 1);
            CHECK(json_object_get(o[i], "text") == NULL);
        }
        if (idx == 3) CHECK_EQ(json_array_size(json_object_get(json_object_get(o[i], "meta"), "x")), 2);
    }
    CHECK_EQ(seen, 31);
    CHECK(d < 1e-6);
    for (size_t i = 0; i < n; i++) json_decref(o[i]);

    snprintf(args, sizeof args, "--model %s --query wing --top-n 2 --long-docs max --stride 2 --threads 2", M);
    n = run(args, docs, o, 16, &st);
    CHECK_EQ(st, 0);
    CHECK_EQ(n, 2);
    CHECK(n && json_integer_value(json_object_get(o[0], "windows")) == 1);
    for (size_t i = 0; i < n; i++) json_decref(o[i]);

    snprintf(args, sizeof args, "--model %s --query wing --long-docs sideways", M);
    run(args, docs, o, 16, &st);
    CHECK_EQ(st, 2);
    snprintf(args, sizeof args, "--model tests/data/models/none --query wing");
    run(args, docs, o, 16, &st);
    CHECK_EQ(st, 1);
    snprintf(args, sizeof args, "--model %s --query wing --max-length 100000", M);
    run(args, docs, o, 16, &st);
    CHECK_EQ(st, 1);

    // 10,000 documents through the library: every score equals the document scored alone.
    size_t many = 10000;
    const char **big = malloc(many * sizeof *big);
    char (*bufs)[64] = malloc(many * sizeof *bufs);
    fr_rerank_score *bs = malloc(many * sizeof *bs);
    for (size_t i = 0; i < many; i++) {
        snprintf(bufs[i], sizeof bufs[i], "%s %zu", texts[i % 5], i % 97);
        big[i] = bufs[i];
    }
    CHECK_EQ(fr_model_rerank(m, "laminar flow", big, NULL, many, NULL, bs, &err), 0);
    d = 0;
    for (size_t i = 0; i < many; i += 1111) {
        CHECK_EQ(fr_model_rerank(m, "laminar flow", &big[i], NULL, 1, NULL, s, &err), 0);
        d = fmax(d, fabs(s[0].raw - bs[i].raw));
    }
    CHECK(d <= 1e-5);
    free(big); free(bufs); free(bs);
    fr_model_free(m);
    unlink(docs);
    return TEST_REPORT();
}
