/* finerank — a reranking engine for retrieval-augmented generation.
 *
 * Usage (the whole life of a query; every call returns 0 or a negative FR_E* code):
 *
 *   fr_error err;                                   // detailed message on failure
 *   fr_tokenizer *tok = NULL;
 *   if (fr_tokenizer_open("model/tokenizer.json", &tok, &err) < 0) {
 *       fprintf(stderr, "%s\n", err.msg);           // "tokenizer.json: model.vocab: ..."
 *       return 1;
 *   }
 *   fr_encode_opts opts = fr_encode_opts_default(); // the file's truncation, specials added
 *   opts.max_length = 512;
 *   fr_encoding enc = {0};
 *   if (fr_tokenizer_encode(tok, "what is BM25?", -1, "BM25 ranks documents", -1,
 *                           &opts, &enc, &err) == 0) {
 *       for (size_t i = 0; i < enc.n; i++) printf("%d ", enc.ids[i]);
 *   }
 *   fr_encoding_free(&enc);
 *   fr_tokenizer_free(tok);                          // NULL is a no-op
 *
 * Conventions (see STYLE.md): opaque handles with _open/_free; plain structs for options and
 * results; failures return FR_E* (< 0) and fill an optional caller-owned fr_error, so that
 * one handle can serve many threads without a shared "last error" slot. The library never
 * prints and never exits.
 */
#ifndef FINERANK_H
#define FINERANK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FR_VERSION "0.1.0"

// ---- errors ----
// One table generates the enum and fr_strerror() (libuv's UV_ERRNO_MAP).
#define FR_ERRNO_MAP(X)                                                    \
    X(NOMEM,    -1,  "out of memory")                                      \
    X(IO,       -2,  "I/O error")                                          \
    X(NOTFOUND, -3,  "not found")                                          \
    X(FORMAT,   -4,  "malformed input file")                               \
    X(UNSUPPORTED, -5, "unsupported feature")                              \
    X(INVAL,    -6,  "invalid argument")                                   \
    X(UTF8,     -7,  "invalid UTF-8")                                      \
    X(RANGE,    -8,  "value out of range")                                 \
    X(CORRUPT,  -9,  "corrupt data")                                       \
    X(BUSY,     -10, "resource busy")                                      \
    X(NOSPC,    -11, "no space left on device")                            \
    X(TIMEOUT,  -12, "deadline exceeded")                                  \
    X(NET,      -13, "network error")                                      \
    X(AUTH,     -14, "not authorized")                                     \
    X(CHECKSUM, -15, "checksum mismatch")                                  \
    X(INTERNAL, -16, "internal error")

typedef enum {
#define FR__ERR_ENUM(name, val, str) FR_E##name = val,
    FR_ERRNO_MAP(FR__ERR_ENUM)
#undef FR__ERR_ENUM
} fr_errno;

// A detailed error: code plus a human message naming the file, field or byte offset.
// Caller-owned; pass NULL where the detail is not wanted.
typedef struct fr_error {
    int code;
    char msg[512];
} fr_error;

// Static string for a code ("invalid UTF-8"); never NULL.
const char *fr_strerror(int code);

// ---- tokenizer ----
// Hugging Face "fast tokenizer" files (tokenizer.json): normalizers, pre-tokenizers,
// WordPiece / Unigram / BPE models, added tokens, post-processors, pair truncation.
// One handle is immutable after open and may be used from many threads at once.
typedef struct fr_tokenizer fr_tokenizer;

typedef enum {
    FR_TRUNC_LONGEST_FIRST = 0,
    FR_TRUNC_ONLY_FIRST = 1,
    FR_TRUNC_ONLY_SECOND = 2,
} fr_trunc_strategy;

typedef struct fr_encode_opts {
    int add_special_tokens;     // 1 (default): apply the post-processor's template
    int max_length;             // > 0: truncate to this many tokens, specials included;
                                // 0: use the file's own truncation block (none if absent)
    fr_trunc_strategy strategy; // used when max_length > 0
    int want_tokens;            // 1: fill fr_encoding.tokens as well as ids
} fr_encode_opts;

fr_encode_opts fr_encode_opts_default(void);

// An encoding. All arrays have n entries and are owned by the struct: fr_encoding_free().
typedef struct fr_encoding {
    size_t n;
    int32_t *ids;
    uint8_t *type_ids;
    char **tokens;              // NULL unless opts.want_tokens; each a NUL-terminated string
} fr_encoding;

// Opens a tokenizer.json. OUT: *out, free with fr_tokenizer_free.
int fr_tokenizer_open(const char *path, fr_tokenizer **out, fr_error *err);
// Same, from a buffer (not retained). `name` is used in error messages.
int fr_tokenizer_open_mem(const char *json, size_t len, const char *name,
                          fr_tokenizer **out, fr_error *err);
void fr_tokenizer_free(fr_tokenizer *tok);

// Encodes `text` (and `pair` when not NULL). Lengths of -1 mean NUL-terminated.
// Invalid UTF-8 gives FR_EUTF8 with the byte offset in err->msg.
// OUT: *enc, which must be zeroed or already freed; release it with fr_encoding_free().
int fr_tokenizer_encode(const fr_tokenizer *tok, const char *text, ptrdiff_t text_len,
                        const char *pair, ptrdiff_t pair_len, const fr_encode_opts *opts,
                        fr_encoding *enc, fr_error *err);
void fr_encoding_free(fr_encoding *enc);

// Vocabulary size including added tokens; id → token string (NULL when out of range;
// the pointer lives as long as the tokenizer); token string → id (-1 when absent).
size_t fr_tokenizer_vocab_size(const fr_tokenizer *tok);
const char *fr_tokenizer_id_to_token(const fr_tokenizer *tok, int32_t id);
int32_t fr_tokenizer_token_to_id(const fr_tokenizer *tok, const char *token);

// ---- model ----
// Cross-encoder rerankers in Hugging Face layout: a directory with config.json,
// model.safetensors (or model.safetensors.index.json + shards), tokenizer.json,
// tokenizer_config.json and, when present, sentence-transformers' config files.
// Architectures: BertForSequenceClassification, RobertaForSequenceClassification,
// XLMRobertaForSequenceClassification (anything else: FR_EUNSUPPORTED, "unsupported
// architecture X"). Weights F32 (mmapped, used in place), F16/BF16 (widened to float32 once at
// open). One handle is immutable after open and may be used from many threads at once; every
// call allocates its own scratch. finerank parallelises over sequences itself and asks OpenBLAS
// to run single-threaded (openblas_set_num_threads(1) at open).
//
//   fr_model *m = NULL;
//   if (fr_model_open("ms-marco-MiniLM-L-6-v2", NULL, &m, &err) < 0) { ... err.msg ... }
//   const char *docs[] = {"BM25 ranks documents", "Paris is in France"};
//   fr_rerank_score s[2];
//   fr_score_opts so = fr_score_opts_default();   // truncate to the model's max_length
//   if (fr_model_rerank(m, "what is bm25?", docs, NULL, 2, &so, s, &err) == 0)
//       printf("%f %f\n", s[0].relevance, s[0].raw);   // sigmoid(logit), logit
//   fr_model_free(m);
typedef struct fr_model fr_model;

typedef struct fr_model_opts {
    int threads;        // default worker threads per call; 0: all online CPUs
    int load_tokenizer; // 1 (default): open dir/tokenizer.json for fr_model_rerank
} fr_model_opts;
fr_model_opts fr_model_opts_default(void);

// Opens a model directory. OUT: *out, free with fr_model_free (NULL is a no-op).
int fr_model_open(const char *dir, const fr_model_opts *opts, fr_model **out, fr_error *err);
void fr_model_free(fr_model *m);

// What was loaded. Strings live as long as the model.
typedef struct fr_model_info {
    const char *architecture;   // "BertForSequenceClassification", ...
    const char *model_type;     // "bert", "roberta", "xlm-roberta"
    const char *weights_dtype;  // "F32", "F16", "BF16" (as stored; compute is float32)
    const char *hidden_act;     // "gelu", "gelu_new", "gelu_pytorch_tanh", "relu"
    int hidden, layers, heads, intermediate, vocab_size, max_position_embeddings;
    int num_labels;             // 1 or 2
    int positive_label;         // the logit reported as raw_score: 0 for 1 label, 1 for 2
    int max_length;             // tokens per pair, specials included (tokenizer_config's
                                // model_max_length, capped by the position table)
    const char *activation;     // relevance mapping: "sigmoid" or "softmax"
    const char *activation_source; // where it came from (config key or "default")
    const char *recorded_activation; // the sentence-transformers class path found ("" if none);
                                // relevance is always in [0, 1]: an Identity recorded for one
                                // label still gets the sigmoid (raw carries the logit)
    int has_tokenizer;
} fr_model_info;
void fr_model_get_info(const fr_model *m, fr_model_info *out);

// One tokenised sequence (specials included). type_ids may be NULL (all 0); RoBERTa-family
// models ignore them, as transformers does (their tokenizers return no token_type_ids).
typedef struct fr_seq {
    const int32_t *ids;
    const uint8_t *type_ids;
    size_t n;
} fr_seq;

typedef enum {
    FR_LONG_TRUNCATE = 0,   // truncate each pair to max_length (the tokenizer's pair truncation)
    FR_LONG_MAX = 1,        // split the passage into overlapping windows; best window's score
    FR_LONG_MEAN = 2,       // mean of the windows' raw scores
    FR_LONG_FIRST = 3,      // first window only
} fr_long_docs;

typedef struct fr_score_opts {
    int threads;            // 0: the model's default
    int batch_tokens;       // token budget per forward batch and thread; 0: 2048
    int max_length;         // 0: the model's max_length; larger than it is FR_ERANGE
    fr_trunc_strategy truncation;  // FR_LONG_TRUNCATE's strategy (default longest_first)
    fr_long_docs long_docs;
    int window_stride;      // windows: passage tokens shared by neighbours; 0: a quarter of
                            // the passage window
} fr_score_opts;
fr_score_opts fr_score_opts_default(void);

// Scores pre-tokenised sequences. OUT: logits (n * num_labels floats, row-major).
// A sequence longer than the position table or with an id outside the vocabulary is FR_ERANGE.
// Results do not depend on batch composition or thread count (within float rounding).
int fr_model_score_ids(const fr_model *m, const fr_seq *seqs, size_t n, const fr_score_opts *opts,
                       float *logits, fr_error *err);

typedef struct fr_rerank_score {
    float raw;              // the positive-class logit
    float relevance;        // in [0, 1]: fr_model_info.activation applied to the logits
    int windows;            // forward passes aggregated (1 unless long_docs is a window mode)
} fr_rerank_score;

// Scores (query, docs[i]) pairs with the model's tokenizer, as sentence-transformers'
// CrossEncoder.predict does. Lengths of -1 mean NUL-terminated (doc_lens may be NULL).
// OUT: scores[n], in input order. An empty query is FR_EINVAL.
int fr_model_rerank(const fr_model *m, const char *query, const char *const *docs,
                    const ptrdiff_t *doc_lens, size_t n, const fr_score_opts *opts,
                    fr_rerank_score *scores, fr_error *err);

#ifdef __cplusplus
}
#endif
#endif
