/* test_model_hub.c — `--model` accepts a repo id or an alias everywhere: fr_model_open and
 * fr_embedder_open resolve a name that is not a directory from the Hugging Face cache
 * (HF_HUB_CACHE), exactly as a pulled snapshot would lie there (blobs + snapshot symlinks +
 * refs/main), and a name that is neither says to run `finerank pull`. */
#include <limits.h>
#include <sys/stat.h>

#include "test.h"
#include "finerank.h"

#define COMMIT "0123456789abcdef0123456789abcdef01234567"

// Lays out CACHE/models--ORG--NAME as huggingface_hub does, with the snapshot's files as
// symlinks to the blobs (here: to the committed fixture files themselves).
static int lay_out(const char *cache, const char *org_name, const char *fixture) {
    char repo[1024], snap[1200], cmd[16384], abs[PATH_MAX];
    if (!realpath(fixture, abs) || strlen(abs) > 1024 || strlen(cache) > 512) return -1;
    snprintf(repo, sizeof repo, "%s/models--%s", cache, org_name);
    snprintf(snap, sizeof snap, "%s/snapshots/" COMMIT, repo);
    snprintf(cmd, sizeof cmd,
             "mkdir -p '%s' '%s/refs' && printf %%s " COMMIT " > '%s/refs/main' && "
             "for f in '%s'/*; do ln -s \"$f\" '%s'/; done",
             snap, repo, repo, abs, snap);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
    char cache[] = "/tmp/fr_test_model_hub_XXXXXX";
    if (!mkdtemp(cache)) { CHECK(0); return TEST_REPORT(); }
    CHECK_EQ(lay_out(cache, "test--bert-gelu", "tests/data/models/bert-gelu"), 0);
    CHECK_EQ(lay_out(cache, "cross-encoder--ms-marco-MiniLM-L-6-v2",
                     "tests/data/models/bert-gelu"), 0);
    CHECK_EQ(lay_out(cache, "test--embed-bert-cls", "tests/data/models/embed-bert-cls"), 0);
    setenv("HF_HUB_CACHE", cache, 1);
    setenv("HF_HUB_OFFLINE", "1", 1);

    fr_error err = {0};
    const char *docs[] = {"blood sugar control", "exercise management for diabetes"};
    fr_score_opts so = fr_score_opts_default();
    fr_rerank_score direct[2], by_id[2], by_alias[2];
    fr_model *m = NULL;
    CHECK_EQ(fr_model_open("tests/data/models/bert-gelu", NULL, &m, &err), 0);
    CHECK_EQ(fr_model_rerank(m, "diabetes diet", docs, NULL, 2, &so, direct, &err), 0);
    fr_model_free(m);
    m = NULL;
    CHECK_EQ(fr_model_open("test/bert-gelu", NULL, &m, &err), 0);
    if (m) CHECK_EQ(fr_model_rerank(m, "diabetes diet", docs, NULL, 2, &so, by_id, &err), 0);
    fr_model_free(m);
    m = NULL;
    CHECK_EQ(fr_model_open("ms-marco-MiniLM-L-6-v2", NULL, &m, &err), 0);  // alias
    if (m) CHECK_EQ(fr_model_rerank(m, "diabetes diet", docs, NULL, 2, &so, by_alias, &err), 0);
    fr_model_free(m);
    m = NULL;
    for (int i = 0; i < 2; i++) {
        CHECK(direct[i].raw == by_id[i].raw);
        CHECK(direct[i].raw == by_alias[i].raw);
    }

    // Neither a directory nor a cached model: the error says what to do.
    CHECK(fr_model_open("test/not-pulled", NULL, &m, &err) < 0);
    CHECK(m == NULL);
    CHECK(strstr(err.msg, "finerank pull test/not-pulled") != NULL);

    // Bi-encoders resolve the same way.
    fr_embedder *e = NULL;
    CHECK_EQ(fr_embedder_open("test/embed-bert-cls", NULL, &e, &err), 0);
    fr_embedder_free(e);

    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", cache);
    CHECK_EQ(system(cmd), 0);
    return TEST_REPORT();
}
