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

#ifdef __cplusplus
}
#endif
#endif
