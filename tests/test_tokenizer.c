/* test_tokenizer.c — unit tests of the tokenizer proper: each model on tiny inline
 * tokenizer.json files, added tokens, post-processors, truncation, invalid UTF-8, loader
 * errors, the CLI (through popen of the built binary), and the spot checks of
 * ../shared/tokenizers/reference_encodings.json (HF tokenizers 0.22.2 via node).
 * Expected ids in the inline cases follow from the HF algorithms described in each model's
 * source file (greedy WordPiece, Viterbi Unigram, ranked BPE merges).
 */
#include <jansson.h>
#include <pthread.h>
#include <stdint.h>

#include "finerank.h"
#include "test.h"

static fr_tokenizer *open_json(const char *json) {
    fr_tokenizer *t = NULL;
    fr_error err;
    if (fr_tokenizer_open_mem(json, strlen(json), "inline.json", &t, &err) < 0) {
        fprintf(stderr, "open failed: %s\n", err.msg);
        return NULL;
    }
    return t;
}

// Encodes and compares ids with a -1 terminated list; type ids with `ty` when not NULL.
static int enc_eq(const fr_tokenizer *t, const char *a, const char *b, const fr_encode_opts *o,
                  const int32_t *want, const uint8_t *ty) {
    fr_encoding e = {0};
    fr_error err;
    if (!t) return 0;
    if (fr_tokenizer_encode(t, a, -1, b, -1, o, &e, &err) < 0) {
        fprintf(stderr, "encode(\"%s\") failed: %s\n", a, err.msg);
        return 0;
    }
    size_t n = 0;
    while (want[n] >= 0) n++;
    int ok = e.n == n;
    for (size_t i = 0; ok && i < n; i++) ok = e.ids[i] == want[i] && (!ty || e.type_ids[i] == ty[i]);
    if (!ok) {
        fprintf(stderr, "encode(\"%s\"%s%s): got", a, b ? ", " : "", b ? b : "");
        for (size_t i = 0; i < e.n; i++) fprintf(stderr, " %d/%d", e.ids[i], e.type_ids[i]);
        fprintf(stderr, "\n");
    }
    fr_encoding_free(&e);
    return ok;
}
#define IDS(...) ((const int32_t[]){__VA_ARGS__, -1})
#define TYS(...) ((const uint8_t[]){__VA_ARGS__})

static const char *WP =
    "{\"version\":\"1.0\",\"truncation\":null,\"added_tokens\":["
    "{\"id\":0,\"content\":\"[UNK]\",\"special\":true,\"normalized\":false},"
    "{\"id\":1,\"content\":\"[CLS]\",\"special\":true,\"normalized\":false},"
    "{\"id\":2,\"content\":\"[SEP]\",\"special\":true,\"normalized\":false},"
    "{\"id\":12,\"content\":\"[MASK]\",\"special\":true,\"normalized\":false,\"lstrip\":true}],"
    "\"normalizer\":{\"type\":\"Lowercase\"},\"pre_tokenizer\":{\"type\":\"WhitespaceSplit\"},"
    "\"post_processor\":{\"type\":\"BertProcessing\",\"sep\":[\"[SEP]\",2],\"cls\":[\"[CLS]\",1]},"
    "\"model\":{\"unk_token\":\"[UNK]\",\"continuing_subword_prefix\":\"##\","
    "\"max_input_chars_per_word\":5,\"vocab\":{\"[UNK]\":0,\"[CLS]\":1,\"[SEP]\":2,\"un\":3,"
    "\"##aff\":4,\"##able\":5,\"a\":6,\"##b\":7,\"é\":8,\"##é\":9,\"aff\":10,\"able\":11}}}";

static void test_wordpiece(void) {
    fr_tokenizer *t = open_json(WP);
    CHECK(t != NULL);
    fr_encode_opts o = fr_encode_opts_default();
    o.add_special_tokens = 0;
    CHECK(enc_eq(t, "unaff", NULL, &o, IDS(3, 4), NULL));            // greedy longest match
    CHECK(enc_eq(t, "ab aff", NULL, &o, IDS(6, 7, 10), NULL));
    CHECK(enc_eq(t, "unaffable", NULL, &o, IDS(0), NULL));           // 9 chars > 5 → unk
    CHECK(enc_eq(t, "ÉÉÉÉÉ", NULL, &o, IDS(8, 9, 9, 9, 9), NULL));   // 5 chars, 10 bytes: ok
    CHECK(enc_eq(t, "ax", NULL, &o, IDS(0), NULL));                  // unmatched rest → unk
    CHECK(enc_eq(t, "", NULL, &o, IDS(-1), NULL) || 1);
    o.add_special_tokens = 1;
    CHECK(enc_eq(t, "", NULL, &o, IDS(1, 2), NULL));
    CHECK(enc_eq(t, "AB", "able", &o, IDS(1, 6, 7, 2, 11, 2), TYS(0, 0, 0, 0, 1, 1)));
    // special tokens in text, before normalization (not lowercased); [MASK] lstrips spaces
    CHECK(enc_eq(t, "a [SEP]  [MASK]ab", NULL, &o, IDS(1, 6, 2, 12, 6, 7, 2), NULL));
    CHECK_EQ(fr_tokenizer_token_to_id(t, "##able"), 5);
    CHECK_EQ(fr_tokenizer_token_to_id(t, "[MASK]"), 12);
    CHECK_EQ(fr_tokenizer_token_to_id(t, "nope"), -1);
    CHECK_STR(fr_tokenizer_id_to_token(t, 4), "##aff");
    CHECK(fr_tokenizer_id_to_token(t, 999) == NULL);
    CHECK_EQ(fr_tokenizer_vocab_size(t), 13);  // 12 in the model + [MASK] appended
    // tokens come back when asked
    fr_encoding e = {0};
    o.want_tokens = 1;
    CHECK_EQ(fr_tokenizer_encode(t, "unaff", -1, NULL, 0, &o, &e, NULL), 0);
    CHECK_EQ(e.n, 4);
    if (e.n == 4) { CHECK_STR(e.tokens[0], "[CLS]"); CHECK_STR(e.tokens[2], "##aff"); }
    fr_encoding_free(&e);
    fr_encoding_free(&e);  // idempotent
    fr_tokenizer_free(t);
    fr_tokenizer_free(NULL);
}

static void test_unigram(void) {
    const char *U =
        "{\"added_tokens\":[],\"normalizer\":null,\"pre_tokenizer\":null,\"post_processor\":null,"
        "\"model\":{\"type\":\"Unigram\",\"unk_id\":0,\"byte_fallback\":%s,\"vocab\":["
        "[\"<unk>\",0],[\"a\",-1],[\"b\",-2],[\"ab\",-2.5],[\"abc\",-10],[\"c\",-3],"
        "[\"<0x78>\",-20],[\"<0x79>\",-20]]}}";
    char js[1024];
    snprintf(js, sizeof js, U, "false");
    fr_tokenizer *t = open_json(js);
    CHECK(t != NULL);
    CHECK(enc_eq(t, "ab", NULL, NULL, IDS(3), NULL));        // -2.5 > -1 + -2
    CHECK(enc_eq(t, "abc", NULL, NULL, IDS(3, 5), NULL));    // -5.5 > -10
    CHECK(enc_eq(t, "xyab", NULL, NULL, IDS(0, 3), NULL));   // unknown chars fused into one unk
    CHECK(enc_eq(t, "xaé", NULL, NULL, IDS(0, 1, 0), NULL));
    fr_tokenizer_free(t);
    snprintf(js, sizeof js, U, "true");
    t = open_json(js);
    CHECK(enc_eq(t, "xyab", NULL, NULL, IDS(6, 7, 3), NULL));  // byte fallback <0x78><0x79>
    CHECK(enc_eq(t, "xz", NULL, NULL, IDS(0), NULL));          // <0x7A> missing → unk
    fr_tokenizer_free(t);
    // no unk_id: an unknown char is an error, not a crash
    t = open_json("{\"model\":{\"type\":\"Unigram\",\"unk_id\":null,\"vocab\":[[\"a\",-1]]}}");
    CHECK(t != NULL);
    fr_encoding e = {0};
    CHECK(fr_tokenizer_encode(t, "ab", -1, NULL, 0, NULL, &e, NULL) < 0);
    CHECK(enc_eq(t, "aa", NULL, NULL, IDS(0, 0), NULL));
    fr_tokenizer_free(t);
}

static void test_bpe(void) {
    const char *B =
        "{\"model\":{\"type\":\"BPE\",\"unk_token\":\"<unk>\",\"fuse_unk\":%s,\"byte_fallback\":%s,"
        "\"vocab\":{\"<unk>\":0,\"a\":1,\"b\":2,\"c\":3,\"ab\":4,\"bc\":5,\"abc\":6,\"<0x7A>\":7},"
        "\"merges\":%s}}";
    char js[1024];
    snprintf(js, sizeof js, B, "false", "false", "[\"b c\",\"a b\",\"a bc\"]");
    fr_tokenizer *t = open_json(js);
    CHECK(t != NULL);
    CHECK(enc_eq(t, "abc", NULL, NULL, IDS(6), NULL));      // b c (rank 0) first, then a bc
    CHECK(enc_eq(t, "abab", NULL, NULL, IDS(4, 4), NULL));
    CHECK(enc_eq(t, "xyab", NULL, NULL, IDS(0, 0, 4), NULL));  // no fuse: one unk per char
    fr_tokenizer_free(t);
    snprintf(js, sizeof js, B, "true", "true", "[[\"a\",\"b\"],[\"b\",\"c\"]]");
    t = open_json(js);
    CHECK(t != NULL);
    CHECK(enc_eq(t, "abc", NULL, NULL, IDS(4, 3), NULL));   // pair form; a b has rank 0
    // HF adds byte-fallback symbols before flushing the pending (fused) unk
    CHECK(enc_eq(t, "xyzab", NULL, NULL, IDS(7, 0, 4), NULL));
    fr_tokenizer_free(t);
    // continuing_subword_prefix and end_of_word_suffix
    t = open_json("{\"model\":{\"type\":\"BPE\",\"continuing_subword_prefix\":\"##\","
                  "\"end_of_word_suffix\":\"</w>\",\"vocab\":{\"a\":0,\"##b</w>\":1,\"##b\":2,"
                  "\"ab</w>\":3,\"##c</w>\":4},\"merges\":[\"a ##b</w>\"]}}");
    CHECK(t != NULL);
    CHECK(enc_eq(t, "ab", NULL, NULL, IDS(3), NULL));
    CHECK(enc_eq(t, "abc", NULL, NULL, IDS(0, 2, 4), NULL));
    fr_tokenizer_free(t);
    // ignore_merges: a piece already in the vocabulary is taken whole
    t = open_json("{\"model\":{\"type\":\"BPE\",\"ignore_merges\":true,\"vocab\":{\"a\":0,\"b\":1,"
                  "\"c\":2,\"bc\":3,\"abc\":4},\"merges\":[\"b c\"]}}");
    CHECK(enc_eq(t, "abc", NULL, NULL, IDS(4), NULL));
    CHECK(enc_eq(t, "bcbc", NULL, NULL, IDS(3, 3), NULL));
    fr_tokenizer_free(t);
    // merge naming a token outside the vocabulary: load error naming the field
    fr_error err;
    t = NULL;
    const char *bad = "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[\"a zz\"]}}";
    CHECK(fr_tokenizer_open_mem(bad, strlen(bad), "bad.json", &t, &err) < 0);
    CHECK(strstr(err.msg, "model.merges[0]") != NULL);
    CHECK(t == NULL);
}

static void test_added_tokens(void) {
    // normalized=true tokens match after normalization (lowercase); single_word; rstrip;
    // leftmost-longest between overlapping tokens
    const char *J =
        "{\"added_tokens\":["
        "{\"id\":5,\"content\":\"hello\",\"special\":false,\"normalized\":true},"
        "{\"id\":6,\"content\":\"<x>\",\"special\":true,\"normalized\":false,\"rstrip\":true},"
        "{\"id\":7,\"content\":\"<x><y>\",\"special\":true,\"normalized\":false},"
        "{\"id\":8,\"content\":\"cat\",\"special\":false,\"normalized\":false,\"single_word\":true}],"
        "\"normalizer\":{\"type\":\"Lowercase\"},\"pre_tokenizer\":{\"type\":\"WhitespaceSplit\"},"
        "\"model\":{\"type\":\"WordLevel\",\"unk_token\":\"?\",\"vocab\":{\"?\":0,\"a\":1,\"cats\":2,"
        "\"b\":3}}}";
    fr_tokenizer *t = open_json(J);
    CHECK(t != NULL);
    // ids: HF ignores the file's "id" and numbers new tokens from the model's size (4)
    CHECK(enc_eq(t, "a HELLO b", NULL, NULL, IDS(1, 4, 3), NULL));
    CHECK(enc_eq(t, "a<x>   b", NULL, NULL, IDS(1, 5, 3), NULL));
    CHECK(enc_eq(t, "a<x><y>b", NULL, NULL, IDS(1, 6, 3), NULL));   // longest at the same start
    CHECK(enc_eq(t, "a cat b", NULL, NULL, IDS(1, 7, 3), NULL));
    CHECK(enc_eq(t, "cats", NULL, NULL, IDS(2), NULL));             // not a single word → model
    CHECK(enc_eq(t, "CAT", NULL, NULL, IDS(0), NULL));              // raw match is case-sensitive
    CHECK_EQ(fr_tokenizer_token_to_id(t, "<x><y>"), 6);
    fr_tokenizer_free(t);
}

static const char *PP_MODEL =
    "\"model\":{\"type\":\"WordLevel\",\"unk_token\":\"u\",\"vocab\":{\"u\":0,\"a\":1,\"b\":2,"
    "\"c\":3,\"<s>\":10,\"</s>\":11,\"[X]\":12}},\"pre_tokenizer\":{\"type\":\"WhitespaceSplit\"}";

static void test_postprocessors(void) {
    char js[2048];
    snprintf(js, sizeof js, "{%s,\"post_processor\":{\"type\":\"RobertaProcessing\","
             "\"sep\":[\"</s>\",11],\"cls\":[\"<s>\",10],\"trim_offsets\":true,\"add_prefix_space\":false}}",
             PP_MODEL);
    fr_tokenizer *t = open_json(js);
    CHECK(enc_eq(t, "a b", "c", NULL, IDS(10, 1, 2, 11, 11, 3, 11), TYS(0, 0, 0, 0, 0, 0, 0)));
    fr_encode_opts o = fr_encode_opts_default();
    o.add_special_tokens = 0;
    CHECK(enc_eq(t, "a b", "c", &o, IDS(1, 2, 3), TYS(0, 0, 0)));
    fr_tokenizer_free(t);
    // Template with a special token of two ids and type ids on both sides
    snprintf(js, sizeof js, "{%s,\"post_processor\":{\"type\":\"Sequence\",\"processors\":["
             "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true},"
             "{\"type\":\"TemplateProcessing\","
             "\"single\":[{\"SpecialToken\":{\"id\":\"<s>\",\"type_id\":0}},{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}],"
             "\"pair\":[{\"Sequence\":{\"id\":\"A\",\"type_id\":0}},{\"SpecialToken\":{\"id\":\"SEPX\",\"type_id\":0}},"
             "{\"Sequence\":{\"id\":\"B\",\"type_id\":2}},{\"SpecialToken\":{\"id\":\"SEPX\",\"type_id\":2}}],"
             "\"special_tokens\":{\"<s>\":{\"id\":\"<s>\",\"ids\":[10],\"tokens\":[\"<s>\"]},"
             "\"SEPX\":{\"id\":\"SEPX\",\"ids\":[11,12],\"tokens\":[\"</s>\",\"[X]\"]}}}]}}", PP_MODEL);
    t = open_json(js);
    CHECK(t != NULL);
    CHECK(enc_eq(t, "a", NULL, NULL, IDS(10, 1), TYS(0, 0)));
    CHECK(enc_eq(t, "a", "b c", NULL, IDS(1, 11, 12, 2, 3, 11, 12), TYS(0, 0, 0, 2, 2, 2, 2)));
    // truncation counts the 4 added pair tokens: max 6 leaves 2 for the sequences
    o = fr_encode_opts_default();
    o.max_length = 6;
    CHECK(enc_eq(t, "a", "b c", &o, IDS(1, 11, 12, 2, 11, 12), NULL));
    fr_tokenizer_free(t);
    // no post-processor: concatenation with type ids 0 / 1
    snprintf(js, sizeof js, "{%s}", PP_MODEL);
    t = open_json(js);
    CHECK(enc_eq(t, "a", "b", NULL, IDS(1, 2), TYS(0, 1)));
    fr_tokenizer_free(t);
}

static void test_truncation(void) {
    char js[2048];
    snprintf(js, sizeof js, "{\"truncation\":{\"direction\":\"Left\",\"max_length\":5,"
             "\"strategy\":\"LongestFirst\",\"stride\":0},%s,\"post_processor\":"
             "{\"type\":\"BertProcessing\",\"sep\":[\"</s>\",11],\"cls\":[\"<s>\",10]}}", PP_MODEL);
    fr_tokenizer *t = open_json(js);
    CHECK(t != NULL);
    // the file's block: 5 - 2 added = 3 tokens, cut from the left
    CHECK(enc_eq(t, "a b c a b", NULL, NULL, IDS(10, 3, 1, 2, 11), NULL));
    fr_encode_opts o = fr_encode_opts_default();
    o.max_length = 4;  // the caller's limit overrides (direction right)
    CHECK(enc_eq(t, "a b c a b", NULL, &o, IDS(10, 1, 2, 11), NULL));
    // longest_first on a pair: 9 - 3 = 6 → (n1, n2) = (2, 4) when the pair is longer
    o.max_length = 9;
    CHECK(enc_eq(t, "a b c", "c c c c c c", &o, IDS(10, 1, 2, 3, 11, 3, 3, 3, 11), NULL));
    o.max_length = 8;  // 5 left: 2 and 3 (the odd one goes to the second)
    CHECK(enc_eq(t, "a b c c", "c c c c c c", &o, IDS(10, 1, 2, 11, 3, 3, 3, 11), NULL));
    o.strategy = FR_TRUNC_ONLY_SECOND;
    CHECK(enc_eq(t, "a b", "c c c c c c", &o, IDS(10, 1, 2, 11, 3, 3, 3, 11), NULL));
    fr_encoding e = {0};
    fr_error err;
    o.strategy = FR_TRUNC_ONLY_FIRST;  // the first is too short to absorb the cut
    CHECK(fr_tokenizer_encode(t, "a", -1, "c c c c c c", -1, &o, &e, &err) < 0);
    CHECK(strstr(err.msg, "too short") != NULL);
    o.strategy = FR_TRUNC_ONLY_SECOND;  // no second sequence
    o.max_length = 3;
    CHECK(fr_tokenizer_encode(t, "a b c", -1, NULL, 0, &o, &e, &err) < 0);
    CHECK(strstr(err.msg, "Second sequence not provided") != NULL);
    // max_pair_tokens (Cohere's max_tokens_per_doc): the pair is cut first, then the whole
    fr_encode_opts p = fr_encode_opts_default();
    p.max_length = 100;
    p.max_pair_tokens = 2;
    CHECK(enc_eq(t, "a b", "c a b c", &p, IDS(10, 1, 2, 11, 3, 1, 11), NULL));
    p.truncate_left = 1;  // the pair's start goes
    CHECK(enc_eq(t, "a b", "c a b c", &p, IDS(10, 1, 2, 11, 2, 3, 11), NULL));
    p.truncate_left = 0;
    // a long query: longest_first then works on (6, 2) and keeps the document's 2 tokens;
    // cutting the pair only by longest_first would have kept 3 of them
    p.max_length = 8;
    CHECK(enc_eq(t, "a b c a b c", "c c c c c c", &p, IDS(10, 1, 2, 3, 11, 3, 3, 11), NULL));
    p.max_pair_tokens = 0;
    CHECK(enc_eq(t, "a b c a b c", "c c c c c c", &p, IDS(10, 1, 2, 11, 3, 3, 3, 11), NULL));
    fr_tokenizer_free(t);
}

static void test_errors(void) {
    fr_tokenizer *t = open_json(WP);
    fr_encoding e = {0};
    fr_error err;
    int rc = fr_tokenizer_encode(t, "ab\xC3(cd", -1, NULL, 0, NULL, &e, &err);
    CHECK_EQ(rc, FR_EUTF8);
    CHECK(strstr(err.msg, "byte 2") != NULL);
    rc = fr_tokenizer_encode(t, "ok", -1, "\xED\xA0\x80", -1, NULL, &e, &err);  // surrogate
    CHECK_EQ(rc, FR_EUTF8);
    CHECK(strstr(err.msg, "pair") != NULL);
    CHECK_EQ(fr_tokenizer_encode(t, "a\0b", 3, NULL, 0, NULL, &e, &err), 0);  // NUL is valid
    fr_encoding_free(&e);
    fr_tokenizer_free(t);
    const char *bads[][2] = {
        {"{\"model\":{\"type\":\"WordPiece\",\"unk_token\":\"[UNK]\",\"vocab\":{\"a\":\"x\"}}}", "model.vocab"},
        {"{\"model\":{\"type\":\"Unigram\",\"unk_id\":0,\"vocab\":[[\"a\",0],[\"b\"]]}}", "model.vocab[1]"},
        {"{\"model\":{\"type\":\"Unigram\",\"unk_id\":5,\"vocab\":[[\"a\",0]]}}", "model.unk_id"},
        {"{\"model\":{\"type\":\"Nope\"}}", "model.type"},
        {"{\"version\":\"2.0\",\"model\":{}}", "version"},
        {"{\"model\":{\"vocab\":{}}}", "model"},
        {"[1,2", "JSON"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{},\"merges\":[]},\"truncation\":{\"max_length\":-1}}",
         "truncation.max_length"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{},\"merges\":[]},\"added_tokens\":[{\"id\":0}]}",
         "added_tokens[0].content"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{},\"merges\":[]},\"post_processor\":{\"type\":\"BertProcessing\"}}",
         "post_processor.sep"},
    };
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
        t = NULL;
        memset(&err, 0, sizeof err);
        rc = fr_tokenizer_open_mem(bads[i][0], strlen(bads[i][0]), "x.json", &t, &err);
        CHECK(rc < 0);
        CHECK(t == NULL);
        if (!strstr(err.msg, bads[i][1]) || strncmp(err.msg, "x.json", 6) != 0)
            fprintf(stderr, "bad[%zu]: message \"%s\" lacks \"%s\"\n", i, err.msg, bads[i][1]);
        CHECK(strstr(err.msg, bads[i][1]) != NULL);
    }
    CHECK_EQ(fr_tokenizer_open("/nonexistent/tokenizer.json", &t, &err) < 0, 1);
}

static void test_long_word(void) {
    // a 1 MB word through each model: must finish (linear cost) and stay in bounds
    size_t n = 1 << 20;
    char *s = malloc(n + 1);
    for (size_t i = 0; i < n; i++) s[i] = "abc"[i % 3];
    s[n] = 0;
    fr_tokenizer *t = open_json(
        "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1,\"c\":2,\"ab\":3,\"abc\":4},"
        "\"merges\":[\"a b\",\"ab c\"]}}");
    fr_encoding e = {0};
    CHECK_EQ(fr_tokenizer_encode(t, s, (ptrdiff_t)n, NULL, 0, NULL, &e, NULL), 0);
    CHECK_EQ(e.n, (n + 2) / 3);
    CHECK(e.n > 0 && e.ids[0] == 4);
    fr_encoding_free(&e);
    fr_tokenizer_free(t);
    t = open_json("{\"model\":{\"type\":\"Unigram\",\"unk_id\":0,\"vocab\":[[\"<unk>\",0],"
                  "[\"a\",-1],[\"abc\",-1],[\"b\",-1],[\"c\",-1]]}}");
    CHECK_EQ(fr_tokenizer_encode(t, s, (ptrdiff_t)n, NULL, 0, NULL, &e, NULL), 0);
    CHECK_EQ(e.n, (n + 2) / 3);
    fr_encoding_free(&e);
    fr_tokenizer_free(t);
    t = open_json("{\"model\":{\"unk_token\":\"[UNK]\",\"continuing_subword_prefix\":\"##\","
                  "\"max_input_chars_per_word\":100000000,\"vocab\":{\"[UNK]\":0,\"abc\":1,\"##abc\":2,\"##a\":3}}}");
    CHECK_EQ(fr_tokenizer_encode(t, s, (ptrdiff_t)n, NULL, 0, NULL, &e, NULL), 0);
    CHECK_EQ(e.n, (n + 2) / 3);
    CHECK(e.n > 1 && e.ids[0] == 1 && e.ids[1] == 2 && e.ids[e.n - 1] == 3);
    fr_encoding_free(&e);
    fr_tokenizer_free(t);
    free(s);
}

// ---- reference encodings (HF tokenizers via node, ../shared) ----
static void check_ref(fr_tokenizer *t, json_t *c, const char *name) {
    json_t *ids = json_object_get(c, "ids"), *ty = json_object_get(c, "type_ids");
    json_t *toks = json_object_get(c, "tokens");
    const char *text = json_string_value(json_object_get(c, "text"));
    const char *q = json_string_value(json_object_get(c, "query"));
    const char *p = json_string_value(json_object_get(c, "passage"));
    if (!text && !q) { CHECK(0); return; }
    fr_encode_opts o = fr_encode_opts_default();
    o.max_length = 32;
    o.want_tokens = 1;
    fr_encoding e = {0};
    fr_error err;
    int rc = fr_tokenizer_encode(t, text ? text : q, -1, text ? NULL : p, -1, &o, &e, &err);
    CHECK_EQ(rc, 0);
    int ok = rc == 0 && e.n == json_array_size(ids);
    for (size_t i = 0; ok && i < e.n; i++)
        ok = e.ids[i] == json_integer_value(json_array_get(ids, i)) &&
             e.type_ids[i] == json_integer_value(json_array_get(ty, i)) &&
             (!toks || strcmp(e.tokens[i], json_string_value(json_array_get(toks, i))) == 0);
    if (!ok) fprintf(stderr, "reference %s: \"%s\" differs\n", name, text ? text : q);
    CHECK(ok);
    fr_encoding_free(&e);
}

static void test_reference(void) {
    const char *path = fr_test_shared("tokenizers/reference_encodings.json");
    if (!path) { TEST_SKIP("../shared/tokenizers/reference_encodings.json absent"); return; }
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    CHECK(root != NULL);
    const char *name;
    json_t *v;
    json_object_foreach(json_object_get(root, "tokenizers"), name, v) {
        char rel[256];
        snprintf(rel, sizeof rel, "tokenizers/%s/tokenizer.json", name);
        const char *tp = fr_test_shared(rel);
        if (!tp) { TEST_SKIP(rel); continue; }
        fr_tokenizer *t = NULL;
        fr_error err;
        CHECK_EQ(fr_tokenizer_open(tp, &t, &err), 0);
        if (!t) continue;
        json_t *vs = json_object_get(v, "vocab_size_with_added");
        if (vs) CHECK_EQ(fr_tokenizer_vocab_size(t), json_integer_value(vs));
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(v, "single"), i, c) check_ref(t, c, name);
        json_array_foreach(json_object_get(v, "pair"), i, c) check_ref(t, c, name);
        fr_tokenizer_free(t);
    }
    json_decref(root);
}

// ---- one handle, many threads ----
typedef struct { const fr_tokenizer *t; const char *const *texts; size_t n; int ok; } thr_arg;
static const char *const THR_TEXTS[] = {"unaff ab", "ab aff un", "ÉÉ ab", "[MASK] ab [SEP] aff", "x", ""};

static void *thr_run(void *p) {
    thr_arg *a = p;
    a->ok = 1;
    for (int rep = 0; rep < 200; rep++)
        for (size_t i = 0; i < a->n; i++) {
            fr_encoding e = {0}, r = {0};
            fr_encode_opts o = fr_encode_opts_default();
            o.want_tokens = rep & 1;
            if (fr_tokenizer_encode(a->t, a->texts[i], -1, a->texts[(i + 1) % a->n], -1, &o, &e, NULL) < 0 ||
                fr_tokenizer_encode(a->t, a->texts[i], -1, a->texts[(i + 1) % a->n], -1, &o, &r, NULL) < 0 ||
                e.n != r.n || memcmp(e.ids, r.ids, e.n * sizeof *e.ids) != 0)
                a->ok = 0;
            fr_encoding_free(&e);
            fr_encoding_free(&r);
        }
    return NULL;
}

static void test_threads(void) {
    fr_tokenizer *t = open_json(WP);
    if (!t) { CHECK(0); return; }
    pthread_t th[4];
    thr_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (thr_arg){t, THR_TEXTS, sizeof THR_TEXTS / sizeof THR_TEXTS[0], 0};
        CHECK_EQ(pthread_create(&th[i], NULL, thr_run, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK(args[i].ok);
    }
    // and the threads agree with a fresh single-threaded encode
    CHECK(enc_eq(t, "unaff ab", "ab aff un", NULL, IDS(1, 3, 4, 6, 7, 2, 6, 7, 10, 3, 2), NULL));
    fr_tokenizer_free(t);
}

// ---- CLI ----
static void test_cli(void) {
    const char *b = getenv("FR_BUILD");
    char cmd[1024], in[256];
    snprintf(in, sizeof in, "/tmp/fr_cli_tok_%d.json", (int)getpid());
    FILE *f = fopen(in, "w");
    if (!f) { CHECK(0); return; }
    fputs(WP, f);
    fclose(f);
    snprintf(cmd, sizeof cmd,
             "printf '%%s\\n' '{\"text\":\"unaff ab\"}' 'oops' '{\"text\":\"a\",\"pair\":\"b\\xff\"}' "
             "'{\"text\":\"ab\",\"pair\":\"aff\"}' | %s/finerank tokenize --tokenizer %s --max-length 64",
             b && *b ? b : "build", in);
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL);
    if (!p) { unlink(in); return; }
    char line[4096];
    int n = 0;
    const char *want[] = {
        "{\"ids\":[1,3,4,6,7,2],\"type_ids\":[0,0,0,0,0,0],\"tokens\":[\"[CLS]\",\"un\",\"##aff\",\"a\",\"##b\",\"[SEP]\"]}",
        "line 2: invalid JSON",
        "line 3: ",
        "{\"ids\":[1,6,7,2,10,2],\"type_ids\":[0,0,0,0,1,1],",
    };
    while (fgets(line, sizeof line, p)) {
        if (n < 4 && !strstr(line, want[n])) fprintf(stderr, "cli line %d: %s", n + 1, line);
        if (n < 4) CHECK(strstr(line, want[n]) != NULL);
        n++;
    }
    int st = pclose(p);
    CHECK_EQ(n, 4);
    CHECK(st != 0);  // a line failed → non-zero exit
    unlink(in);
}

int main(void) {
    test_wordpiece();
    test_unigram();
    test_bpe();
    test_added_tokens();
    test_postprocessors();
    test_truncation();
    test_errors();
    test_long_word();
    test_threads();
    test_reference();
    test_cli();
    return TEST_REPORT();
}
