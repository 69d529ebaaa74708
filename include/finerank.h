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

// ---- hub ----
// Models from the Hugging Face hub, stored in Hugging Face's own cache layout so that files
// fetched by Python tools (huggingface_hub, transformers) are reused and vice versa:
//   $HF_HUB_CACHE/models--ORG--NAME/blobs/ETAG            file contents (sha256 for LFS files,
//                                                         git sha1 otherwise)
//                                  /snapshots/COMMIT/FILE  symlink → ../../blobs/ETAG
//                                  /refs/REVISION          the commit a branch or tag points to
// Environment, as huggingface_hub reads it: HF_HUB_CACHE (or HUGGINGFACE_HUB_CACHE, else
// $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub),
// HF_ENDPOINT (https://huggingface.co), HF_TOKEN (else $HF_HOME/token), HF_HUB_OFFLINE.

// Progress of one file: `done` of `total` bytes (total 0 when unknown). Called often.
typedef void (*fr_hub_progress_fn)(void *ud, const char *file, uint64_t done, uint64_t total);

typedef struct fr_hub_opts {
    const char *revision;          // branch, tag or commit; NULL: "main"
    const char *const *include;    // extra fnmatch() patterns over the repo's files
    size_t n_include;
    const char *endpoint;          // NULL: $HF_ENDPOINT or https://huggingface.co
    const char *token;             // NULL: $HF_TOKEN or $HF_HOME/token; "": send none
    const char *cache_dir;         // NULL: from the environment (see above)
    int offline;                   // -1 (default): $HF_HUB_OFFLINE; 1: never use the network
    int retries;                   // resumes after a dropped connection, per file (default 3)
    fr_hub_progress_fn progress;   // NULL: silent
    void *progress_ud;
} fr_hub_opts;

fr_hub_opts fr_hub_opts_default(void);

// Short names for the reranker families finerank supports ("bge-reranker-v2-m3" →
// "BAAI/bge-reranker-v2-m3"); returns `name` itself when it is not an alias. Static strings.
const char *fr_hub_alias(const char *name);

// Downloads what the engine needs from `repo_id` (a repo id or an alias): config.json (its
// `architectures` are checked before anything large is fetched), tokenizer files,
// sentence-transformers configs when present, the safetensors weights (single or sharded)
// and every file matching opts->include. Resumes partial downloads, verifies checksums,
// and never leaves a half-written file visible. Safe to run concurrently with itself and
// with huggingface_hub on the same cache. OUT: *snapshot_dir, malloc'd, caller frees.
int fr_hub_pull(const char *repo_id, const fr_hub_opts *opts, char **snapshot_dir,
                fr_error *err);

// What `--model ARG` means: an existing path is used as is; otherwise ARG is a repo id or an
// alias (optionally "REPO@REVISION") resolved from the cache, never from the network.
// OUT: *dir, malloc'd, caller frees.
int fr_hub_resolve(const char *model_arg, char **dir, fr_error *err);

// One cached snapshot, for `finerank models`. All strings owned by the list.
typedef struct fr_hub_cached {
    char *repo_id;       // "BAAI/bge-reranker-base"
    char *commit;        // 40 hex digits (the snapshot folder's name)
    char *refs;          // refs pointing at it, comma-separated ("main"), "" when none
    char *dir;           // the snapshot folder
    uint64_t bytes;      // sum of the sizes of its files
    size_t n_files;
} fr_hub_cached;

// Lists the cached snapshots of models under cache_dir (NULL: from the environment), sorted by
// repo id. OUT: *list (free with fr_hub_cached_free), *n.
int fr_hub_list_cached(const char *cache_dir, fr_hub_cached **list, size_t *n, fr_error *err);
void fr_hub_cached_free(fr_hub_cached *list, size_t n);

#ifdef __cplusplus
}
#endif
#endif
