/* fuzz_encode.c — libFuzzer target for encoding: one fixed small tokenizer per model kind
 * (inline tokenizer.json: WordPiece + BERT, Unigram + Metaspace + byte fallback, byte-level
 * BPE + RoBERTa, with added tokens using lstrip / rstrip / single_word / normalized) encodes
 * arbitrary bytes as text and pair under options taken from the first input byte.
 * Input layout: [flags byte][text bytes][0xFF separator][pair bytes] (pair only if a 0xFF
 * is present; 0xFF never occurs in valid UTF-8).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "finerank.h"

static const char *const JSONS[] = {
    "{\"added_tokens\":[{\"id\":0,\"content\":\"[UNK]\",\"special\":true,\"normalized\":false},"
    "{\"id\":1,\"content\":\"[CLS]\",\"special\":true,\"normalized\":false},"
    "{\"id\":2,\"content\":\"[SEP]\",\"special\":true,\"normalized\":false},"
    "{\"id\":9,\"content\":\"[MASK]\",\"special\":true,\"normalized\":false,\"lstrip\":true,\"rstrip\":true},"
    "{\"id\":10,\"content\":\"ab\",\"special\":false,\"normalized\":true,\"single_word\":true}],"
    "\"normalizer\":{\"type\":\"BertNormalizer\",\"clean_text\":true,\"handle_chinese_chars\":true,"
    "\"strip_accents\":null,\"lowercase\":true},\"pre_tokenizer\":{\"type\":\"BertPreTokenizer\"},"
    "\"post_processor\":{\"type\":\"BertProcessing\",\"sep\":[\"[SEP]\",2],\"cls\":[\"[CLS]\",1]},"
    "\"model\":{\"unk_token\":\"[UNK]\",\"continuing_subword_prefix\":\"##\",\"max_input_chars_per_word\":20,"
    "\"vocab\":{\"[UNK]\":0,\"[CLS]\":1,\"[SEP]\":2,\"a\":3,\"##b\":4,\"b\":5,\"##a\":6,\"东\":7,\"é\":8}}}",

    "{\"added_tokens\":[{\"id\":1,\"content\":\"</s>\",\"special\":true,\"normalized\":false}],"
    "\"normalizer\":{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"NFKC\"},{\"type\":\"Strip\",\"strip_left\":false,\"strip_right\":true}]},"
    "\"pre_tokenizer\":{\"type\":\"Metaspace\",\"replacement\":\"\\u2581\",\"prepend_scheme\":\"first\",\"split\":true},"
    "\"post_processor\":{\"type\":\"TemplateProcessing\",\"single\":[{\"Sequence\":{\"id\":\"A\",\"type_id\":0}},"
    "{\"SpecialToken\":{\"id\":\"</s>\",\"type_id\":0}}],\"pair\":[{\"Sequence\":{\"id\":\"A\",\"type_id\":0}},"
    "{\"SpecialToken\":{\"id\":\"</s>\",\"type_id\":0}},{\"Sequence\":{\"id\":\"B\",\"type_id\":1}},"
    "{\"SpecialToken\":{\"id\":\"</s>\",\"type_id\":1}}],\"special_tokens\":{\"</s>\":{\"id\":\"</s>\",\"ids\":[1],\"tokens\":[\"</s>\"]}}},"
    "\"model\":{\"type\":\"Unigram\",\"unk_id\":0,\"byte_fallback\":true,\"vocab\":[[\"<unk>\",0],[\"</s>\",0],"
    "[\"\\u2581\",-2],[\"a\",-1],[\"ab\",-1.5],[\"\\u2581a\",-1.2],[\"b\",-2],[\"<0x41>\",-5],[\"<0xC3>\",-5],[\"<0xA9>\",-5]]}}",

    "{\"truncation\":{\"max_length\":12,\"strategy\":\"LongestFirst\",\"stride\":0,\"direction\":\"Left\"},"
    "\"added_tokens\":[{\"id\":0,\"content\":\"<s>\",\"special\":true,\"normalized\":true},"
    "{\"id\":2,\"content\":\"</s>\",\"special\":true,\"normalized\":true},"
    "{\"id\":9,\"content\":\"<mask>\",\"special\":true,\"normalized\":false,\"lstrip\":true}],"
    "\"normalizer\":null,\"pre_tokenizer\":{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":true},"
    "\"post_processor\":{\"type\":\"RobertaProcessing\",\"sep\":[\"</s>\",2],\"cls\":[\"<s>\",0],\"trim_offsets\":true,\"add_prefix_space\":false},"
    "\"model\":{\"type\":\"BPE\",\"unk_token\":null,\"fuse_unk\":false,\"byte_fallback\":false,"
    "\"vocab\":{\"<s>\":0,\"<unk>\":1,\"</s>\":2,\"a\":3,\"b\":4,\"\\u0120\":5,\"ab\":6,\"\\u0120a\":7,\"\\u0120ab\":8},"
    "\"merges\":[\"a b\",\"\\u0120 a\",\"\\u0120a b\"]}}",
};
#define N_TOK (sizeof JSONS / sizeof JSONS[0])

static fr_tokenizer *toks[N_TOK];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!toks[0]) {
        for (size_t i = 0; i < N_TOK; i++)
            if (fr_tokenizer_open_mem(JSONS[i], strlen(JSONS[i]), "fuzz", &toks[i], NULL) < 0) abort();
    }
    if (size < 1) return 0;
    uint8_t flags = data[0];
    const char *text = (const char *)data + 1;
    size_t n = size - 1;
    const char *sep = memchr(text, 0xFF, n);
    const char *pair = NULL;
    size_t tl = n, pl = 0;
    if (sep) {
        tl = (size_t)(sep - text);
        pair = sep + 1;
        pl = n - tl - 1;
    }
    fr_encode_opts o = fr_encode_opts_default();
    o.add_special_tokens = (flags & 1) == 0;
    o.want_tokens = (flags & 2) != 0;
    o.max_length = (flags & 4) ? (flags >> 5) * 3 + 1 : 0;
    o.strategy = (fr_trunc_strategy)((flags >> 3) % 3);
    fr_encoding e = {0};
    fr_error err;
    for (size_t i = 0; i < N_TOK; i++) {
        if (fr_tokenizer_encode(toks[i], text, (ptrdiff_t)tl, pair, (ptrdiff_t)pl, &o, &e, &err) == 0) {
            for (size_t k = 0; k < e.n; k++)
                if (e.ids[k] < 0 || (o.want_tokens && !e.tokens[k])) abort();
        }
        fr_encoding_free(&e);
    }
    return 0;
}
