/* test_embed.c — bi-encoder embeddings against PyTorch goldens, and bad model directories.
 * For each tests/data/models/embed-* checkpoint (scripts/model/make_embed_checkpoints.py), every
 * golden (text, prompt) is embedded in one mixed-length call per prompt and compared with the
 * reference: max |error| <= 1e-4. Then one-by-one and single-threaded runs agree to 1e-5,
 * literal prompts equal the named ones, and malformed module files give errors, not crashes.
 */
#include <jansson.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <zlib.h>

#include "finerank.h"
#include "test.h"

typedef struct item {
    char *text;
    int prompt;      // 0 none, 1 query, 2 passage
    float *emb;
    size_t dim;
} item;

static size_t load_golden(const char *path, item **out) {
    gzFile f = gzopen(path, "rb");
    if (!f) return 0;
    size_t cap = 1 << 16, n = 0, np = 0, cp = 0;
    char *line = malloc(cap);
    item *p = NULL;
    for (;;) {
        size_t len = 0;
        line[0] = 0;
        while (gzgets(f, line + len, (int)(cap - len))) {
            len += strlen(line + len);
            if (len && line[len - 1] == '\n') break;
            line = realloc(line, cap *= 2);
        }
        if (!len) break;
        if (n++ == 0) continue;
        json_t *o = json_loads(line, 0, NULL);
        if (!o) break;
        if (np == cp) p = realloc(p, (cp = cp ? 2 * cp : 64) * sizeof *p);
        item *q = &p[np++];
        q->text = strdup(json_string_value(json_object_get(o, "text")));
        const char *pr = json_string_value(json_object_get(o, "prompt"));
        q->prompt = !pr ? 0 : !strcmp(pr, "query") ? 1 : 2;
        json_t *e = json_object_get(o, "embedding");
        q->dim = json_array_size(e);
        q->emb = malloc(q->dim * sizeof *q->emb);
        for (size_t i = 0; i < q->dim; i++) q->emb[i] = (float)json_number_value(json_array_get(e, i));
        json_decref(o);
    }
    free(line);
    gzclose(f);
    *out = p;
    return np;
}

static const char *PROMPTS[] = {NULL, "query", "passage"};

static void check_model(const char *name, int want_normalized) {
    char dir[256], gold[300];
    snprintf(dir, sizeof dir, "tests/data/models/%s", name);
    snprintf(gold, sizeof gold, "%s/golden.jsonl.gz", dir);
    item *it = NULL;
    size_t n = load_golden(gold, &it);
    CHECK(n >= 300);
    fr_error err = {0};
    fr_embedder *e = NULL;
    fr_embedder_opts oo = fr_embedder_opts_default();
    oo.threads = 2;
    int rc = fr_embedder_open(dir, &oo, &e, &err);
    CHECK_EQ(rc, 0);
    if (rc < 0) { fprintf(stderr, "%s\n", err.msg); return; }
    size_t dim = (size_t)fr_embedder_dim(e);
    CHECK_EQ(dim, it[0].dim);
    fr_embedder_info info;
    fr_embedder_get_info(e, &info);
    CHECK_EQ(info.normalize, want_normalized);
    CHECK_EQ(info.n_prompts, 2);
    double worst = 0, worst_single = 0, worst_lit = 0;
    size_t compared = 0;
    for (int p = 0; p < 3; p++) {
        const char **texts = malloc(n * sizeof *texts);
        size_t *idx = malloc(n * sizeof *idx), m = 0;
        for (size_t i = 0; i < n; i++)
            if (it[i].prompt == p) { idx[m] = i; texts[m++] = it[i].text; }
        float *v = malloc(m * dim * sizeof *v), *w = malloc(m * dim * sizeof *w);
        fr_embed_opts eo = fr_embed_opts_default();
        eo.prompt_name = PROMPTS[p];
        rc = fr_embedder_embed(e, texts, m, &eo, v, &err);
        CHECK_EQ(rc, 0);
        for (size_t k = 0; k < m; k++)
            for (size_t d = 0; d < dim; d++) {
                double diff = fabs((double)v[k * dim + d] - it[idx[k]].emb[d]);
                if (diff > worst) worst = diff;
            }
        compared += m;
        // one at a time, one thread, tiny batches: same numbers
        eo.threads = 1;
        eo.batch_tokens = 7;
        for (size_t k = 0; k < m; k += 13) {
            CHECK_EQ(fr_embedder_embed(e, &texts[k], 1, &eo, w, &err), 0);
            for (size_t d = 0; d < dim; d++) {
                double diff = fabs((double)v[k * dim + d] - w[d]);
                if (diff > worst_single) worst_single = diff;
            }
        }
        // the literal prompt text gives the same as the named prompt
        if (p) {
            eo = fr_embed_opts_default();
            eo.prompt = fr_embedder_prompt(e, PROMPTS[p]);
            CHECK(eo.prompt != NULL);
            CHECK_EQ(fr_embedder_embed(e, texts, m, &eo, w, &err), 0);
            for (size_t k = 0; k < m * dim; k++)
                if (fabs((double)v[k] - w[k]) > worst_lit) worst_lit = fabs((double)v[k] - w[k]);
        }
        if (want_normalized) {
            double ss = 0;
            for (size_t d = 0; d < dim; d++) ss += (double)v[d] * v[d];
            CHECK_NEAR(ss, 1.0, 1e-5);
        }
        free(texts);
        free(idx);
        free(v);
        free(w);
    }
    CHECK_EQ(compared, n);
    CHECK(worst <= 1e-4);
    CHECK(worst_single <= 1e-5);
    CHECK(worst_lit <= 1e-6);
    printf("%s: %zu embeddings, max |finerank - torch| = %.3g, batch/thread variation %.3g\n", name,
           compared, worst, worst_single);
    // an unknown prompt name is an error, and the passage/document alias works
    fr_embed_opts eo = fr_embed_opts_default();
    eo.prompt_name = "classification";
    float *v = malloc(dim * sizeof *v);
    const char *t = "x";
    CHECK_EQ(fr_embedder_embed(e, &t, 1, &eo, v, &err), FR_ENOTFOUND);
    CHECK(fr_embedder_prompt(e, "document") == fr_embedder_prompt(e, "passage"));
    free(v);
    for (size_t i = 0; i < n; i++) { free(it[i].text); free(it[i].emb); }
    free(it);
    fr_embedder_free(e);
}

// ---- bad directories ----
static char tmp[] = "/tmp/fr_embed_XXXXXX";
static const char *SRC = "tests/data/models/embed-bert-cls";

static void spit(const char *name, const char *data) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", tmp, name);
    unlink(p);
    if (!data) return;
    FILE *f = fopen(p, "wb");
    fwrite(data, 1, strlen(data), f);
    fclose(f);
}

static const char *FILES[] = {"config.json", "model.safetensors", "tokenizer.json", "modules.json",
                              "1_Pooling/config.json", "config_sentence_transformers.json",
                              "sentence_bert_config.json"};

// A fresh copy of embed-bert-cls with `name` replaced by data (NULL: removed).
static void fixture(const char *name, const char *data) {
    char p[512];
    snprintf(p, sizeof p, "%s/1_Pooling", tmp);
    mkdir(p, 0755);
    for (size_t i = 0; i < sizeof FILES / sizeof FILES[0]; i++) {
        size_t n;
        snprintf(p, sizeof p, "%s/%s", SRC, FILES[i]);
        char *b = fr_test_slurp(p, &n);
        snprintf(p, sizeof p, "%s/%s", tmp, FILES[i]);
        unlink(p);
        if (name && !strcmp(name, FILES[i])) {
            spit(FILES[i], data);
        } else {
            FILE *f = fopen(p, "wb");
            fwrite(b, 1, n, f);
            fclose(f);
        }
        free(b);
    }
}

static int open_err(fr_error *err) {
    fr_embedder *e = NULL;
    int rc = fr_embedder_open(tmp, NULL, &e, err);
    fr_embedder_free(e);
    return rc;
}

static void test_bad(void) {
    fr_error err = {0};
    fixture(NULL, NULL);
    CHECK_EQ(open_err(&err), 0);
    // no modules.json: mean pooling, no normalisation
    fixture("modules.json", NULL);
    fr_embedder *e = NULL;
    CHECK_EQ(fr_embedder_open(tmp, NULL, &e, &err), 0);
    fr_embedder_info info;
    if (e) {
        fr_embedder_get_info(e, &info);
        CHECK_STR(info.pooling, "mean");
        CHECK_EQ(info.normalize, 0);
        fr_embedder_free(e);
    }
    fixture("modules.json", "[{\"idx\":0,\"name\":\"0\",\"path\":\"\",\"type\":\"sentence_transformers.models.Transformer\"},"
            "{\"idx\":1,\"name\":\"1\",\"path\":\"1_Pooling\",\"type\":\"sentence_transformers.models.Pooling\"},"
            "{\"idx\":2,\"name\":\"2\",\"path\":\"2_Dense\",\"type\":\"sentence_transformers.models.Dense\"}]");
    CHECK_EQ(open_err(&err), FR_EUNSUPPORTED);
    CHECK(strstr(err.msg, "Dense") != NULL);
    fixture("modules.json", "[{\"idx\":0,\"path\":\"../..\",\"type\":\"sentence_transformers.models.Transformer\"}]");
    CHECK_EQ(open_err(&err) < 0, 1);
    fixture("modules.json", "{\"a\": 1}");
    CHECK_EQ(open_err(&err), FR_EFORMAT);
    fixture("modules.json", "[{\"idx\":0,\"name\":\"0\",\"path\":\"\",\"type\":\"sentence_transformers.models.Transformer\"}]");
    CHECK_EQ(open_err(&err), FR_EFORMAT);
    fixture("modules.json", "[1, 2");
    CHECK_EQ(open_err(&err), FR_EFORMAT);
    fixture("1_Pooling/config.json", NULL);
    CHECK_EQ(open_err(&err), FR_ENOTFOUND);
    fixture("1_Pooling/config.json", "{\"word_embedding_dimension\": 32}");
    CHECK_EQ(open_err(&err), FR_EFORMAT);
    fixture("1_Pooling/config.json", "{\"word_embedding_dimension\": 31, \"pooling_mode_cls_token\": true}");
    CHECK_EQ(open_err(&err), FR_EFORMAT);
    fixture("1_Pooling/config.json", "{\"pooling_mode_weightedmean_tokens\": true}");
    CHECK_EQ(open_err(&err), FR_EUNSUPPORTED);
    fixture("1_Pooling/config.json", "{\"pooling_mode_cls_token\": true, \"pooling_mode_mean_tokens\": true,"
            " \"pooling_mode_max_tokens\": true}");
    e = NULL;
    CHECK_EQ(fr_embedder_open(tmp, NULL, &e, &err), 0);
    if (e) {
        fr_embedder_get_info(e, &info);
        CHECK_STR(info.pooling, "cls+max+mean");
        CHECK_EQ(info.dim, 96);
        float v[96];
        const char *t = "bm25 ranks documents";
        CHECK_EQ(fr_embedder_embed(e, &t, 1, NULL, v, &err), 0);
        double ss = 0;
        for (int i = 0; i < 96; i++) ss += (double)v[i] * v[i];
        CHECK_NEAR(ss, 1.0, 1e-5);
        fr_embedder_free(e);
    }
    fixture("config_sentence_transformers.json", "{\"prompts\": {\"query\": 3}}");
    CHECK_EQ(open_err(&err), FR_EFORMAT);
    fixture("config_sentence_transformers.json", "{\"prompts\": {\"q\": \"x\"}, \"default_prompt_name\": \"z\"}");
    CHECK_EQ(open_err(&err), FR_EFORMAT);
    fixture("sentence_bert_config.json", "{\"max_seq_length\": 8, \"do_lower_case\": true}");
    CHECK_EQ(open_err(&err), FR_EUNSUPPORTED);
    fixture("tokenizer.json", NULL);
    CHECK_EQ(open_err(&err), FR_ENOTFOUND);
    // a bare config without "architectures" is the model_type's backbone
    size_t n;
    char p[512];
    snprintf(p, sizeof p, "%s/config.json", SRC);
    char *cfg = fr_test_slurp(p, &n), *a = strstr(cfg, "\"architectures\"");
    CHECK(a != NULL);
    if (a) {
        char *end = strchr(a, ']');
        memmove(a, end + 2, strlen(end + 2) + 1);  // drop `"architectures": [...],`
        fixture("config.json", cfg);
        CHECK_EQ(open_err(&err), 0);
    }
    free(cfg);
    // a cross-encoder refuses a bi-encoder checkpoint
    fr_model *m = NULL;
    CHECK_EQ(fr_model_open(SRC, NULL, &m, &err), FR_EUNSUPPORTED);
    CHECK(strstr(err.msg, "fr_embedder_open") != NULL);
    fr_model_free(m);
    fr_embedder_free(NULL);
    // the max_seq_length cap truncates
    fixture("sentence_bert_config.json", "{\"max_seq_length\": 4}");
    e = NULL;
    CHECK_EQ(fr_embedder_open(tmp, NULL, &e, &err), 0);
    if (e) {
        fr_embedder_get_info(e, &info);
        CHECK_EQ(info.max_length, 4);
        float v1[32], v2[32];
        const char *t1 = "the of and to in is", *t2 = "the of and to";  // 4 tokens: [CLS] the of [SEP]
        fr_embed_opts eo = fr_embed_opts_default();
        eo.prompt_name = "passage";
        CHECK_EQ(fr_embedder_embed(e, &t1, 1, &eo, v1, &err), 0);
        CHECK_EQ(fr_embedder_embed(e, &t2, 1, &eo, v2, &err), 0);
        CHECK(memcmp(v1, v2, sizeof v1) == 0);
        fr_embedder_free(e);
    }
}

// ---- CLI ----
static void test_cli(void) {
    const char *b = getenv("FR_BUILD");
    char bin[512], in[] = "/tmp/fr_embed_cli_XXXXXX", cmd[2048];
    snprintf(bin, sizeof bin, "%s/finerank", b && *b ? b : "build");
    if (access(bin, X_OK) != 0) { TEST_SKIP("finerank binary not built"); return; }
    int fd = mkstemp(in);
    FILE *f = fdopen(fd, "w");
    fputs("{\"text\": \"what is bm25\"}\nnot json\n{\"text\": 3}\n{\"text\": \"heat transfer\"}\n", f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s embed --model %s --prefix query --batch 2 < %s 2>/dev/null", bin, SRC, in);
    FILE *p = popen(cmd, "r");
    json_t *out[8] = {0};
    size_t n = 0, cap = 0;
    char *line = NULL;
    while (getline(&line, &cap, p) > 0)
        if (n < 8) out[n++] = json_loads(line, 0, NULL);
    free(line);
    int st = pclose(p);
    CHECK_EQ(WIFEXITED(st) ? WEXITSTATUS(st) : -1, 1);  // two bad lines
    CHECK_EQ(n, 4);
    fr_embedder *e = NULL;
    fr_error err;
    CHECK_EQ(fr_embedder_open(SRC, NULL, &e, &err), 0);
    const char *texts[] = {"what is bm25", "heat transfer"};
    float v[2 * 32];
    fr_embed_opts eo = fr_embed_opts_default();
    eo.prompt_name = "query";
    CHECK_EQ(fr_embedder_embed(e, texts, 2, &eo, v, &err), 0);
    for (size_t k = 0; k < 4 && k < n; k++) {
        CHECK(out[k] != NULL);
        json_t *emb = json_object_get(out[k], "embedding");
        if (k == 1 || k == 2) { CHECK(json_object_get(out[k], "error") != NULL); continue; }
        CHECK_EQ(json_array_size(emb), 32);
        double worst = 0;
        for (size_t d = 0; d < json_array_size(emb) && d < 32; d++) {
            double x = fabs(json_number_value(json_array_get(emb, d)) - v[(k ? 1 : 0) * 32 + d]);
            if (x > worst) worst = x;
        }
        CHECK(worst < 1e-7);
    }
    for (size_t k = 0; k < n; k++) json_decref(out[k]);
    // an unknown prompt name is a usage error
    snprintf(cmd, sizeof cmd, "%s embed --model %s --prefix nope < %s 2>/dev/null >/dev/null", bin, SRC, in);
    st = system(cmd);
    CHECK_EQ(WIFEXITED(st) ? WEXITSTATUS(st) : -1, 2);
    fr_embedder_free(e);
    unlink(in);

    // hybrid retrieval end to end: index, backfill the segments' vectors, dense and hybrid search
    char d[] = "/tmp/fr_embed_idx_XXXXXX";
    if (!mkdtemp(d)) return;
    snprintf(cmd, sizeof cmd, "%s/c.jsonl", d);
    f = fopen(cmd, "w");
    fputs("{\"id\": \"a\", \"title\": \"bm25\", \"text\": \"bm25 ranks documents\"}\n"
          "{\"id\": \"b\", \"text\": \"the wing of a supersonic aircraft\"}\n"
          "{\"id\": \"c\", \"text\": \"heat transfer in laminar flow\"}\n", f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s index build --corpus %s/c.jsonl --index %s/ix >/dev/null 2>&1 && "
             "%s embed --model %s --index %s/ix 2>/dev/null", bin, d, d, bin, SRC, d);
    CHECK_EQ(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s search --index %s/ix --query 'bm25 documents' --retriever dense --json", bin, d);
    p = popen(cmd, "r");
    line = NULL;
    cap = 0;
    json_t *dense = getline(&line, &cap, p) > 0 ? json_loads(line, 0, NULL) : NULL;
    pclose(p);
    snprintf(cmd, sizeof cmd, "%s search --index %s/ix --query 'bm25 documents' --retriever hybrid --json", bin, d);
    p = popen(cmd, "r");
    json_t *hy = getline(&line, &cap, p) > 0 ? json_loads(line, 0, NULL) : NULL;
    pclose(p);
    free(line);
    json_t *dh = json_object_get(dense, "hits"), *hh = json_object_get(hy, "hits");
    CHECK_EQ(json_array_size(dh), 3);
    CHECK_EQ(json_array_size(hh), 3);
    // only "a" matches BM25: RRF gives it 1/61 + 1/(60 + its dense rank)
    int rank_a = 0;
    for (size_t i = 0; i < json_array_size(dh); i++)
        if (!strcmp(json_string_value(json_object_get(json_array_get(dh, i), "id")), "a")) rank_a = (int)i + 1;
    CHECK(rank_a >= 1);
    CHECK_STR(json_string_value(json_object_get(json_array_get(hh, 0), "id")), "a");
    CHECK_NEAR(json_number_value(json_object_get(json_array_get(hh, 0), "score")), 1.0 / 61 + 1.0 / (60 + rank_a), 1e-12);
    json_decref(dense);
    json_decref(hy);
    // eval takes the same retriever flags
    snprintf(cmd, sizeof cmd, "%s/q.jsonl", d);
    f = fopen(cmd, "w");
    fputs("{\"_id\": \"q1\", \"text\": \"bm25 documents\"}\n", f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s/qrels.tsv", d);
    f = fopen(cmd, "w");
    fputs("q1\ta\t1\n", f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s eval --index %s/ix --queries %s/q.jsonl --qrels %s/qrels.tsv --retriever hybrid "
             "--fusion weighted 2>/dev/null | grep -q 'MRR@10 *1.0000'", bin, d, d, d);
    CHECK_EQ(system(cmd), 0);
    // the vectors follow the index: a deleted document is gone from dense results, an added
    // one is embedded by `index add` with the recorded model
    snprintf(cmd, sizeof cmd, "%s index delete --index %s/ix --id b >/dev/null 2>&1 && echo "
             "'{\"id\": \"n\", \"text\": \"new doc\"}' > %s/n.jsonl && %s index add --index %s/ix "
             "--corpus %s/n.jsonl >/dev/null 2>&1 && %s search --index %s/ix --query x --retriever dense "
             "--k 10 | cut -f2 | sort | tr '\\n' ' ' | grep -qx 'a c n '", bin, d, d, bin, d, d, bin, d);
    CHECK_EQ(system(cmd), 0);
    // the stored vector type is fixed when the model is recorded: asking `index add` for
    // another one is refused with the command that converts, not silently ignored
    snprintf(cmd, sizeof cmd, "%s index add --index %s/ix --corpus %s/n.jsonl --vec int8 2>&1 | "
             "grep -q 'stores f32 vectors, not int8; change the type with finerank embed'", bin, d, d);
    CHECK_EQ(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s index add --index %s/ix --corpus %s/n.jsonl --vec f32 >/dev/null 2>&1",
             bin, d, d);
    CHECK_EQ(system(cmd), 0);
    // an index without a model, with the old sidecar file: a clear error naming the backfill
    snprintf(cmd, sizeof cmd, "%s index build --corpus %s/c.jsonl --index %s/ix2 >/dev/null 2>&1 && touch "
             "%s/ix2/vectors.bin && %s search --index %s/ix2 --query x --retriever dense 2>&1 | "
             "grep -q 'vectors.bin is the old single-file format.*finerank embed --model M --index'",
             bin, d, d, d, bin, d);
    CHECK_EQ(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "rm -rf %s", d);
    CHECK_EQ(system(cmd), 0);
}

// --dtype bf16 / int8 (fr_embedder_opts.dtype): the dense layers repacked; embeddings stay
// close to f32 (cosine), the info says which kernels ran, and the CLI flag reaches the library.
static void test_dtype(void) {
    static const char *texts[] = {"what is bm25", "heat transfer in laminar flow", "a", "the wing of "
                                  "a supersonic aircraft at high angles of attack"};
    fr_error err;
    fr_embedder *ef = NULL;
    fr_embedder_opts oo = fr_embedder_opts_default();
    CHECK_EQ(fr_embedder_open(SRC, &oo, &ef, &err), 0);
    if (!ef) return;
    size_t dim = (size_t)fr_embedder_dim(ef);
    float *vf = malloc(4 * dim * sizeof *vf), *vq = malloc(4 * dim * sizeof *vq);
    CHECK_EQ(fr_embedder_embed(ef, texts, 4, NULL, vf, &err), 0);
    fr_embedder_info info;
    fr_embedder_get_info(ef, &info);
    CHECK_STR(info.compute_dtype, "f32");
    CHECK_STR(info.kernel_isa, "sgemm");
    for (fr_dtype dt = FR_DTYPE_BF16; dt <= FR_DTYPE_INT8; dt++) {
        fr_embedder *eq = NULL;
        oo.dtype = dt;
        CHECK_EQ(fr_embedder_open(SRC, &oo, &eq, &err), 0);
        if (!eq) continue;
        fr_embedder_get_info(eq, &info);
        CHECK_STR(info.compute_dtype, fr_dtype_name(dt));
        CHECK(info.kernel_isa && strcmp(info.kernel_isa, "sgemm") != 0);
        CHECK_EQ(fr_embedder_embed(eq, texts, 4, NULL, vq, &err), 0);
        double worst = 1;
        for (size_t k = 0; k < 4; k++) {
            double d = 0, a = 0, b = 0;
            for (size_t j = 0; j < dim; j++) {
                d += (double)vf[k * dim + j] * vq[k * dim + j];
                a += (double)vf[k * dim + j] * vf[k * dim + j];
                b += (double)vq[k * dim + j] * vq[k * dim + j];
            }
            double c = d / sqrt(a * b);
            if (c < worst) worst = c;
        }
        printf("embed --dtype %s (%s kernels): min cosine to f32 %.6f\n", fr_dtype_name(dt), info.kernel_isa, worst);
        CHECK(worst > (dt == FR_DTYPE_BF16 ? 0.999 : 0.99));
        fr_embedder_free(eq);
    }
    oo.dtype = (fr_dtype)9;
    fr_embedder *bad = NULL;
    CHECK_EQ(fr_embedder_open(SRC, &oo, &bad, &err), FR_EINVAL);
    CHECK(bad == NULL);
    fr_embedder_free(ef);
    free(vf);
    free(vq);
    // the CLI: --dtype int8 runs, a bad value and --index with --dtype are usage errors
    const char *b = getenv("FR_BUILD");
    char bin[512], cmd[1024], out[4096];
    snprintf(bin, sizeof bin, "%s/finerank", b && *b ? b : "build");
    if (access(bin, X_OK) != 0) { TEST_SKIP("finerank binary not built"); return; }
    snprintf(cmd, sizeof cmd, "echo '{\"text\": \"what is bm25\"}' | %s embed --model %s --dtype int8", bin, SRC);
    CHECK_EQ(fr_test_run(cmd, out, sizeof out), 0);
    CHECK(strstr(out, "\"embedding\"") != NULL);
    snprintf(cmd, sizeof cmd, "%s embed --model %s --dtype int4 < /dev/null", bin, SRC);
    CHECK_EQ(fr_test_run(cmd, out, sizeof out), 2);
    snprintf(cmd, sizeof cmd, "%s embed --model %s --index %s/nope --dtype int8", bin, SRC, tmp);
    CHECK_EQ(fr_test_run(cmd, out, sizeof out), 2);
}

// Query dtype (fr_embed_opts.dtype, the retriever's query_dtype): an f32 embedder computes a
// call in int8 / bf16 on request. Each golden text embedded alone (a query's few rows: the
// kernels' few-row path) must be (1) bit-identical to an embedder opened in that dtype, and
// (2) within the stated cosine bound of the PyTorch f32 golden: int8 >= 0.999, bf16 >= 0.9999
// (measured on these random-weight checkpoints: int8 min 0.99978 / 0.99983, bf16 0.99999; the
// MiniLM-L6-shaped benchmark model gives int8 >= 0.99995, bench/embed/README.md).
typedef struct qjob { const fr_embedder *e; const char *text; float *out; int rc; } qjob;
static void *qjob_run(void *arg) {
    qjob *j = arg;
    fr_embed_opts eo = fr_embed_opts_default();
    eo.dtype = FR_DTYPE_INT8;
    fr_error err;
    j->rc = fr_embedder_embed(j->e, &j->text, 1, &eo, j->out, &err);
    return NULL;
}

static double cosine(const float *a, const float *b, size_t n) {
    double d = 0, x = 0, y = 0;
    for (size_t i = 0; i < n; i++) {
        d += (double)a[i] * b[i];
        x += (double)a[i] * a[i];
        y += (double)b[i] * b[i];
    }
    return d / sqrt(x * y);
}

static void test_query_dtype(const char *name) {
    char dir[256], gold[300];
    snprintf(dir, sizeof dir, "tests/data/models/%s", name);
    snprintf(gold, sizeof gold, "%s/golden.jsonl.gz", dir);
    item *it = NULL;
    size_t n = load_golden(gold, &it);
    fr_error err;
    fr_embedder *ef = NULL, *eo8[3] = {0};
    fr_embedder_opts oo = fr_embedder_opts_default();
    oo.threads = 1;
    CHECK_EQ(fr_embedder_open(dir, &oo, &ef, &err), 0);
    for (fr_dtype dt = FR_DTYPE_BF16; dt <= FR_DTYPE_INT8; dt++) {
        oo.dtype = dt;
        CHECK_EQ(fr_embedder_open(dir, &oo, &eo8[dt], &err), 0);
    }
    if (!ef || !eo8[1] || !eo8[2] || !n) goto done;
    // several threads asking for int8 first, at once: one packing, the same results
    {
        size_t dim = (size_t)fr_embedder_dim(ef);
        float *outs = calloc(4 * dim, sizeof *outs);
        qjob jobs[4];
        pthread_t tids[4];
        for (int t = 0; t < 4; t++) {
            jobs[t] = (qjob){ef, it[0].text, outs + (size_t)t * dim, -1};
            CHECK_EQ(pthread_create(&tids[t], NULL, qjob_run, &jobs[t]), 0);
        }
        for (int t = 0; t < 4; t++) {
            pthread_join(tids[t], NULL);
            CHECK_EQ(jobs[t].rc, 0);
        }
        for (int t = 1; t < 4; t++) CHECK(memcmp(outs, outs + (size_t)t * dim, dim * sizeof *outs) == 0);
        free(outs);
    }
    CHECK_EQ(fr_embedder_prepare(ef, FR_DTYPE_BF16, &err), 0);
    CHECK_EQ(fr_embedder_prepare(ef, FR_DTYPE_BF16, &err), 0);  // done: a no-op
    CHECK_EQ(fr_embedder_prepare(ef, (fr_dtype)7, &err), FR_EINVAL);
    double worst[3] = {1, 1, 1};
    size_t dim = it[0].dim, differ = 0;
    float *v = malloc(dim * sizeof *v), *w = malloc(dim * sizeof *w);
    for (size_t i = 0; i < n; i++) {
        fr_embed_opts eo = fr_embed_opts_default();
        eo.prompt_name = PROMPTS[it[i].prompt];
        for (fr_dtype dt = FR_DTYPE_BF16; dt <= FR_DTYPE_INT8; dt++) {
            eo.dtype = (int)dt;
            if (fr_embedder_embed(ef, (const char *const *)&it[i].text, 1, &eo, v, &err) != 0) { CHECK(0); break; }
            eo.dtype = -1;  // the embedder opened in dt, its own type
            if (fr_embedder_embed(eo8[dt], (const char *const *)&it[i].text, 1, &eo, w, &err) != 0) { CHECK(0); break; }
            differ += memcmp(v, w, dim * sizeof *v) != 0;
            double c = cosine(v, it[i].emb, dim);
            if (c < worst[dt]) worst[dt] = c;
        }
    }
    CHECK_EQ(differ, 0);
    CHECK(worst[FR_DTYPE_BF16] >= 0.9999);
    CHECK(worst[FR_DTYPE_INT8] >= 0.999);
    printf("%s: %zu texts one by one, min cosine to the PyTorch f32 golden: bf16 %.6f, int8 %.6f\n",
           name, n, worst[FR_DTYPE_BF16], worst[FR_DTYPE_INT8]);
    fr_embed_opts bad = fr_embed_opts_default();
    bad.dtype = 3;
    CHECK_EQ(fr_embedder_embed(ef, (const char *const *)&it[0].text, 1, &bad, v, &err), FR_EINVAL);
    free(v);
    free(w);
done:
    fr_embedder_free(ef);
    fr_embedder_free(eo8[1]);
    fr_embedder_free(eo8[2]);
    for (size_t i = 0; i < n; i++) {
        free(it[i].text);
        free(it[i].emb);
    }
    free(it);
}

int main(void) {
    check_model("embed-bert-cls", 1);
    check_model("embed-xlmr-mean", 0);
    test_query_dtype("embed-bert-cls");
    test_query_dtype("embed-xlmr-mean");
    if (!mkdtemp(tmp)) { perror("mkdtemp"); return 1; }
    test_bad();
    test_cli();
    test_dtype();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", tmp);
    return TEST_REPORT();
}
