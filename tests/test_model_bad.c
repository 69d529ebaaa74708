/* test_model_bad.c — bad model directories and bad inputs get clear errors, never a crash or a
 * wrong score: missing and corrupt files, unknown architectures, mismatched shapes, vocabulary
 * / embedding mismatch, NaN weights, unsupported dtypes and config values, out-of-range ids,
 * over-long and empty sequences, and a 10,000-sequence request.
 */
#include <sys/stat.h>

#include "finerank.h"
#include "model/config.h"
#include "model/safetensors.h"
#include "test.h"

static const char *SRC = "tests/data/models/bert-gelu";
static char tmp[256];

static void spit(const char *dir, const char *name, const char *data, size_t len) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    fwrite(data, 1, len, f);
    fclose(f);
}

// A fresh copy of bert-gelu in tmp with `name`'s content replaced by data (NULL: removed).
static void fixture(const char *name, const char *data, size_t len) {
    const char *files[] = {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"};
    for (size_t i = 0; i < 4; i++) {
        char p[512];
        size_t n;
        snprintf(p, sizeof p, "%s/%s", SRC, files[i]);
        char *b = fr_test_slurp(p, &n);
        snprintf(p, sizeof p, "%s/%s", tmp, files[i]);
        unlink(p);
        if (name && !strcmp(name, files[i])) {
            if (data) spit(tmp, files[i], data, len);
        } else {
            spit(tmp, files[i], b, n);
        }
        free(b);
    }
}

// bert-gelu's config.json with `from` replaced by `to`.
static void config_with(const char *from, const char *to) {
    char p[512];
    size_t n;
    snprintf(p, sizeof p, "%s/config.json", SRC);
    char *b = fr_test_slurp(p, &n), *at = strstr(b, from);
    FR_ASSERT(at);
    char out[8192];
    int k = snprintf(out, sizeof out, "%.*s%s%s", (int)(at - b), b, to, at + strlen(from));
    fixture("config.json", out, (size_t)k);
    free(b);
}

static int open_err(fr_error *err) {
    fr_model *m = NULL;
    memset(err, 0, sizeof *err);
    int rc = fr_model_open(tmp, NULL, &m, err);
    fr_model_free(m);
    if (rc < 0) printf("  expected error: %s\n", err->msg);
    return rc;
}

static void test_dirs(void) {
    fr_error err;
    fr_model *m = NULL;
    CHECK_EQ(fr_model_open("tests/data/models/does-not-exist", NULL, &m, &err), FR_ENOTFOUND);
    CHECK(m == NULL);
    fixture(NULL, NULL, 0);
    CHECK_EQ(open_err(&err), 0);
    fixture("model.safetensors", NULL, 0);
    CHECK_EQ(open_err(&err), FR_ENOTFOUND);
    fixture("config.json", NULL, 0);
    CHECK_EQ(open_err(&err), FR_ENOTFOUND);
    fixture("config.json", "{\"architectures\": [", 19);
    CHECK_EQ(open_err(&err), FR_EFORMAT);

    const char *archs[] = {"DebertaV2ForSequenceClassification", "JinaBertForSequenceClassification",
                           "Qwen3ForSequenceClassification", "BertModel"};
    for (size_t i = 0; i < 4; i++) {
        config_with("BertForSequenceClassification", archs[i]);
        CHECK_EQ(open_err(&err), FR_EUNSUPPORTED);
        CHECK(strstr(err.msg, "unsupported architecture") && strstr(err.msg, archs[i]));
    }
    config_with("\"absolute\"", "\"relative_key\"");
    CHECK_EQ(open_err(&err), FR_EUNSUPPORTED);
    config_with("\"gelu\"", "\"swish\"");
    CHECK_EQ(open_err(&err), FR_EUNSUPPORTED);
    config_with("\"LABEL_0\"\n", "\"LABEL_0\", \"1\": \"b\", \"2\": \"c\"\n");
    CHECK_EQ(open_err(&err), FR_EUNSUPPORTED);
    config_with("\"hidden_size\": 32", "\"hidden_size\": 48");
    CHECK_EQ(open_err(&err), FR_EFORMAT);
    CHECK(strstr(err.msg, "has shape") != NULL);
    config_with("\"hidden_size\": 32", "\"hidden_size\": 30");  // not a multiple of 4 heads
    CHECK_EQ(open_err(&err), FR_EFORMAT);
    config_with("\"vocab_size\": 442", "\"vocab_size\": 30522");
    CHECK_EQ(open_err(&err), FR_EFORMAT);
    CHECK(strstr(err.msg, "vocab_size") != NULL);
    config_with("\"num_hidden_layers\": 2", "\"num_hidden_layers\": 3");
    CHECK_EQ(open_err(&err), FR_EFORMAT);
    CHECK(strstr(err.msg, "layer.2") != NULL);
    config_with("\"num_hidden_layers\": 2", "\"num_hidden_layers\": 1");
    CHECK_EQ(open_err(&err), FR_EFORMAT);
    config_with("\"hidden_size\": 32", "\"hidden_size\": -32");
    CHECK_EQ(open_err(&err), FR_ERANGE);
    config_with("\"hidden_size\": 32", "\"hidden_size\": \"32\"");
    CHECK_EQ(open_err(&err), FR_EFORMAT);
    config_with("\"layer_norm_eps\": 1e-12", "\"layer_norm_eps\": -1");
    CHECK_EQ(open_err(&err), FR_EFORMAT);
    // a tokenizer whose ids run past the embedding table (roberta's 461 tokens vs 442 rows)
    size_t n;
    char *tj = fr_test_slurp("tests/data/models/roberta/tokenizer.json", &n);
    fixture("tokenizer.json", tj, n);
    free(tj);
    CHECK_EQ(open_err(&err), FR_EFORMAT);
    CHECK(strstr(err.msg, "tokenizer.json has 461 tokens") != NULL);
    fixture("tokenizer.json", "{\"model\": 3}", 12);
    CHECK(open_err(&err) < 0);
}

// Patches the safetensors file: replaces the first `from` in the header by `to` (same length)
// or overwrites bytes at an offset.
static void weights_patched(const char *from, const char *to, long at, const void *bytes, size_t nb,
                            size_t truncate_to) {
    char p[512];
    size_t n;
    snprintf(p, sizeof p, "%s/model.safetensors", SRC);
    char *b = fr_test_slurp(p, &n);
    if (from) {
        char *x = memmem(b, n, from, strlen(from));
        FR_ASSERT(x && strlen(from) == strlen(to));
        memcpy(x, to, strlen(to));
    }
    if (bytes) memcpy(b + (at < 0 ? (long)n + at : at), bytes, nb);
    fixture("model.safetensors", b, truncate_to ? truncate_to : n);
    free(b);
}

static void test_weights(void) {
    fr_error err;
    float nan = NAN;
    weights_patched(NULL, NULL, -4, &nan, 4, 0);  // last tensor's last element
    CHECK_EQ(open_err(&err), FR_ECORRUPT);
    CHECK(strstr(err.msg, "NaN") != NULL);
    weights_patched(NULL, NULL, 0, NULL, 0, 1000);  // truncated
    CHECK_EQ(open_err(&err), FR_EFORMAT);
    weights_patched(NULL, NULL, 0, NULL, 0, 5);
    CHECK_EQ(open_err(&err), FR_EFORMAT);
    uint64_t huge = 1ull << 40;
    weights_patched(NULL, NULL, 0, &huge, 8, 0);
    CHECK_EQ(open_err(&err), FR_EFORMAT);
    CHECK(strstr(err.msg, "header length") != NULL);
    // classifier.bias is F32 [1]; as I32 it has the same size but is not a float tensor
    weights_patched("\"classifier.bias\":{\"dtype\":\"F32\"", "\"classifier.bias\":{\"dtype\":\"I32\"", 0,
                    NULL, 0, 0);
    CHECK_EQ(open_err(&err), FR_EUNSUPPORTED);
    CHECK(strstr(err.msg, "classifier.bias") != NULL);
    weights_patched("\"classifier.bias\":{\"dtype\":\"F32\"", "\"classifier.bias\":{\"dtype\":\"Q4K\"", 0,
                    NULL, 0, 0);
    CHECK_EQ(open_err(&err), FR_EUNSUPPORTED);
    weights_patched("\"classifier.bias\":{\"dtype\":\"F32\"", "\"classifier.bias\":{\"dtype\":\"F16\"", 0,
                    NULL, 0, 0);  // 2 bytes per element no longer matches the 4-byte span
    CHECK_EQ(open_err(&err), FR_EFORMAT);
    CHECK(strstr(err.msg, "classifier.bias") != NULL);
}

// Builds a one-file safetensors image from a header string and data length.
static size_t st_image(char *buf, const char *header, size_t data_len) {
    uint64_t hl = strlen(header);
    memcpy(buf, &hl, 8);
    memcpy(buf + 8, header, hl);
    memset(buf + 8 + hl, 0, data_len);
    return 8 + hl + data_len;
}

static int st_parse(const char *header, size_t data_len, fr_error *err) {
    static char buf[4096];
    size_t n = st_image(buf, header, data_len);
    fr__st_tensor *t = NULL;
    size_t nt = 0;
    int rc = fr__st_parse((const uint8_t *)buf, n, "x.safetensors", &t, &nt, err);
    fr__st_tensors_free(t, nt);
    return rc;
}

static void test_safetensors(void) {
    fr_error err;
    CHECK_EQ(st_parse("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, &err), 0);
    CHECK_EQ(st_parse("{}", 0, &err), 0);
    CHECK_EQ(st_parse("{}", 4, &err), FR_EFORMAT);  // trailing bytes
    CHECK_EQ(st_parse("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, &err), FR_EFORMAT);
    CHECK_EQ(st_parse("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, &err), FR_EFORMAT);
    CHECK_EQ(st_parse("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                      "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, &err), FR_EFORMAT);
    CHECK(strstr(err.msg, "overlaps") != NULL);
    CHECK_EQ(st_parse("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                      "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}}", 16, &err), FR_EFORMAT);
    CHECK(strstr(err.msg, "gap") != NULL);
    CHECK_EQ(st_parse("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, &err), FR_EFORMAT);
    CHECK_EQ(st_parse("{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,8]}}",
                      8, &err), FR_EFORMAT);
    CHECK_EQ(st_parse("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, &err), FR_EFORMAT);
    CHECK_EQ(st_parse("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                      "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 16, &err), FR_EFORMAT);
    CHECK_EQ(st_parse("[1,2]", 0, &err), FR_EFORMAT);
    CHECK_EQ(st_parse("{\"__metadata__\":{\"format\":\"pt\"}}", 0, &err), 0);
    CHECK_EQ(st_parse("{\"__metadata__\":3}", 0, &err), FR_EFORMAT);
    CHECK_EQ(st_parse("{\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}", 4, &err), 0);
    CHECK_EQ(st_parse("{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}", 0, &err), 0);

    // f16 / bf16 widening
    fr__st_tensor t = {.name = "t", .file = "f", .nelem = 4, .dtype = FR__DT_F16};
    uint16_t h[4] = {0x3c00, 0xc000, 0x0001, 0x7bff};  // 1, -2, smallest subnormal, 65504
    float f[4];
    t.data = (const uint8_t *)h;
    CHECK_EQ(fr__st_to_f32(&t, f, &err), 0);
    CHECK(f[0] == 1.0f && f[1] == -2.0f && f[2] == ldexpf(1.0f, -24) && f[3] == 65504.0f);
    uint16_t bf[2] = {0x3f80, 0xc0a0};  // 1, -5
    t.dtype = FR__DT_BF16;
    t.nelem = 2;
    t.data = (const uint8_t *)bf;
    CHECK_EQ(fr__st_to_f32(&t, f, &err), 0);
    CHECK(f[0] == 1.0f && f[1] == -5.0f);
}

static void test_sharded(void) {
    fr_error err;
    fr_model *m = NULL;
    const char *S = "tests/data/models/bert-sharded";
    const char *files[] = {"config.json", "model-00001-of-00002.safetensors",
                           "model-00002-of-00002.safetensors", "model.safetensors.index.json"};
    for (size_t i = 0; i < 4; i++) {
        char p[512];
        size_t n;
        snprintf(p, sizeof p, "%s/%s", S, files[i]);
        char *b = fr_test_slurp(p, &n);
        if (i == 3) {  // point one tensor at the other shard
            char *x = strstr(b, "\"classifier.bias\": \"model-00001");
            if (x) memcpy(x + strlen("\"classifier.bias\": \"model-0000"), "2", 1);
            else if ((x = strstr(b, "\"classifier.bias\": \"model-00002")))
                memcpy(x + strlen("\"classifier.bias\": \"model-0000"), "1", 1);
            CHECK(x != NULL);
        }
        spit(tmp, files[i], b, n);
        free(b);
    }
    char p[512];
    snprintf(p, sizeof p, "%s/model.safetensors", tmp);
    unlink(p);
    CHECK_EQ(fr_model_open(tmp, NULL, &m, &err), FR_EFORMAT);
    CHECK(strstr(err.msg, "classifier.bias") != NULL);
    const char *j1 = "{\"weight_map\": {\"a\": \"../x\"}}";
    spit(tmp, "model.safetensors.index.json", j1, strlen(j1));
    CHECK_EQ(fr_model_open(tmp, NULL, &m, &err), FR_EFORMAT);
    const char *j2 = "{\"weight_map\": {\"a\": \"nope.safetensors\"}}";
    spit(tmp, "model.safetensors.index.json", j2, strlen(j2));
    CHECK_EQ(fr_model_open(tmp, NULL, &m, &err), FR_ENOTFOUND);
    for (size_t i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/%s", tmp, files[i]);
        unlink(p);
    }
}

static void test_inputs(void) {
    fr_error err;
    fr_model *m = NULL;
    CHECK_EQ(fr_model_open(SRC, NULL, &m, &err), 0);
    if (!m) return;
    int32_t ids[3] = {2, 100, 3};
    uint8_t types[3] = {0, 0, 1};
    fr_seq s = {ids, types, 3};
    float lg[2];
    CHECK_EQ(fr_model_score_ids(m, &s, 1, NULL, lg, &err), 0);
    ids[1] = 442;
    CHECK_EQ(fr_model_score_ids(m, &s, 1, NULL, lg, &err), FR_ERANGE);
    ids[1] = -1;
    CHECK_EQ(fr_model_score_ids(m, &s, 1, NULL, lg, &err), FR_ERANGE);
    ids[1] = 100;
    types[1] = 2;
    CHECK_EQ(fr_model_score_ids(m, &s, 1, NULL, lg, &err), FR_ERANGE);
    types[1] = 0;
    s.n = 0;
    CHECK_EQ(fr_model_score_ids(m, &s, 1, NULL, lg, &err), FR_EINVAL);
    int32_t longer[65] = {2};
    fr_seq sl = {longer, NULL, 65};
    CHECK_EQ(fr_model_score_ids(m, &sl, 1, NULL, lg, &err), FR_ERANGE);
    sl.n = 64;
    CHECK_EQ(fr_model_score_ids(m, &sl, 1, NULL, lg, &err), 0);
    CHECK(isfinite(lg[0]));
    CHECK_EQ(fr_model_score_ids(m, &sl, 0, NULL, lg, &err), 0);

    // 10,000 sequences in one call: each equals its score alone.
    size_t n = 10000;
    fr_seq *many = malloc(n * sizeof *many);
    int32_t *buf = malloc(n * 8 * sizeof *buf);
    float *out = malloc(n * sizeof *out);
    for (size_t i = 0; i < n; i++) {
        size_t len = 3 + i % 6;
        buf[i * 8] = 2;
        for (size_t j = 1; j < len; j++) buf[i * 8 + j] = (int32_t)(5 + (i * 31 + j * 7) % 400);
        buf[i * 8 + len - 1] = 3;
        many[i] = (fr_seq){buf + i * 8, NULL, len};
    }
    fr_score_opts so = fr_score_opts_default();
    so.threads = 2;
    CHECK_EQ(fr_model_score_ids(m, many, n, &so, out, &err), 0);
    double d = 0;
    for (size_t i = 0; i < n; i += 997) {
        CHECK_EQ(fr_model_score_ids(m, &many[i], 1, NULL, lg, &err), 0);
        d = fmax(d, fabs(lg[0] - out[i]));
    }
    CHECK(d <= 1e-5);
    free(many); free(buf); free(out);
    fr_model_free(m);
}

static void test_config_parse(void) {
    fr__model_config c;
    fr_error err;
    const char *ok = "{\"architectures\":[\"XLMRobertaForSequenceClassification\"],\"model_type\":"
                     "\"xlm-roberta\",\"hidden_size\":8,\"num_hidden_layers\":1,\"num_attention_heads\":2,"
                     "\"intermediate_size\":16,\"vocab_size\":10,\"max_position_embeddings\":514,"
                     "\"pad_token_id\":1,\"type_vocab_size\":1,\"id2label\":{\"0\":\"LABEL_0\"},"
                     "\"sentence_transformers\":{\"activation_fn\":\"torch.nn.modules.activation.Sigmoid\"}}";
    CHECK_EQ(fr__model_config_parse(ok, strlen(ok), "c", &c, &err), 0);
    CHECK_EQ(c.max_length, 512);
    CHECK_EQ(c.position_offset, 2);
    CHECK_EQ(c.num_labels, 1);
    CHECK_EQ(c.layer_norm_eps == 1e-12, 1);
    CHECK(strstr(c.activation_source, "sentence_transformers") != NULL);
    const char *tc = "{\"model_max_length\": 1000000000000000019884624838656}";
    CHECK_EQ(fr__model_config_parse_tokcfg(tc, strlen(tc), "t", &c, &err), 0);
    CHECK_EQ(c.max_length, 512);
    tc = "{\"model_max_length\": 128}";
    CHECK_EQ(fr__model_config_parse_tokcfg(tc, strlen(tc), "t", &c, &err), 0);
    CHECK_EQ(c.max_length, 128);
    const char *two = "{\"architectures\":[\"BertForSequenceClassification\"],\"hidden_size\":8,"
                      "\"num_hidden_layers\":1,\"num_attention_heads\":2,\"intermediate_size\":16,"
                      "\"vocab_size\":10}";  // no id2label: transformers' default is 2 labels
    CHECK_EQ(fr__model_config_parse(two, strlen(two), "c", &c, &err), 0);
    CHECK_EQ(c.num_labels, 2);
    CHECK_EQ(c.relevance, FR__REL_SOFTMAX);
    const char *mt = "{\"architectures\":[\"BertForSequenceClassification\"],\"model_type\":\"roberta\"}";
    CHECK_EQ(fr__model_config_parse(mt, strlen(mt), "c", &c, &err), FR_EUNSUPPORTED);
    const char *na = "{\"model_type\":\"deberta-v2\"}";
    CHECK_EQ(fr__model_config_parse(na, strlen(na), "c", &c, &err), FR_EUNSUPPORTED);
}

int main(void) {
    snprintf(tmp, sizeof tmp, "/tmp/fr_test_model_XXXXXX");
    if (!mkdtemp(tmp)) { perror("mkdtemp"); return 1; }
    test_dirs();
    test_weights();
    test_safetensors();
    test_sharded();
    test_inputs();
    test_config_parse();
    const char *files[] = {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"};
    for (size_t i = 0; i < 4; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", tmp, files[i]);
        unlink(p);
    }
    rmdir(tmp);
    return TEST_REPORT();
}
