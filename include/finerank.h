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

// ---- pipeline ----
// The second half of two-stage retrieval (src/rank/): business signals (timeliness and
// authority, src/rank/signals.c), diversity (MMR, src/rank/mmr.c) and the pipeline that runs
// candidates → fine sort → signals → MMR → top k (src/rank/pipeline.c, docs/pipeline.md).
// Specs, configs and signal structs are plain data: copy them by value to override per query.

// Dates and durations. fr_date_parse accepts exactly ISO 8601 calendar dates "YYYY-MM-DD" and
// date-times "YYYY-MM-DDThh:mm[:ss[.f+]][Z|±hh:mm|±hhmm]" (no zone = UTC). `field` names the
// value in error messages ("date: '2023-13-01': month 13 out of range"). OUT: *ms, Unix ms.
int fr_date_parse(const char *s, size_t len, const char *field, int64_t *ms, fr_error *err);
// "30d", "2y", "1.5h", "250ms": a decimal number and one of ms s m h d w y (y = 365 d).
int fr_duration_parse(const char *s, size_t len, const char *field, int64_t *ms, fr_error *err);
// Milliseconds since the Unix epoch, from the system clock.
int64_t fr_now_ms(void);

// Timeliness: a weight from a document's age. Decay functions exactly as Elasticsearch's
// function_score defines them, on distance d = max(0, |date − origin| − offset) in ms:
//   exp:    exp(ln(decay)/scale · d)
//   gauss:  exp(d² · ln(decay) / scale²)      (= exp(−d²/2σ²) with σ² = −scale²/(2 ln decay))
//   linear: max(0, (s − d)/s), s = scale/(1 − decay)
// or a step table over age = max(0, origin − date), first matching rule wins.
// Spec syntax (fr_freshness_parse): "none" |
//   "exp|gauss|linear:scale=DUR[,offset=DUR][,decay=X][,origin=DATE|now][,missing=X]" |
//   "[step:]OPDUR:W{,OPDUR:W}[,else=W][,missing=W]" with OP one of <= < >= >,
//   e.g. "<=2y:1.2,>=10y:0.7". Defaults: offset 0, decay 0.5, origin now, else 1, missing 1.
typedef enum {
    FR_FRESH_NONE = 0,
    FR_FRESH_EXP,
    FR_FRESH_GAUSS,
    FR_FRESH_LINEAR,
    FR_FRESH_STEP,
} fr_fresh_kind;

#define FR_FRESH_MAX_STEPS 16
typedef struct fr_fresh_step {
    char op[3];                 // "<=", "<", ">=", ">"
    int64_t age_ms;
    double weight;
} fr_fresh_step;

typedef struct fr_freshness {
    fr_fresh_kind kind;
    int has_origin;             // 0: origin = the query's "now"
    int64_t origin_ms;
    int64_t scale_ms, offset_ms;
    double decay;               // in (0, 1)
    double missing;             // weight for documents without a date (the neutral value)
    double otherwise;           // step tables: weight when no rule matches
    int n_steps;
    fr_fresh_step steps[FR_FRESH_MAX_STEPS];
} fr_freshness;

fr_freshness fr_freshness_default(void);  // FR_FRESH_NONE, missing 1
// Parses a spec into *out (fully overwritten on success, untouched on failure).
int fr_freshness_parse(const char *spec, fr_freshness *out, fr_error *err);
// The weight of a document dated date_ms (has_date 0: the `missing` value); now_ms is the
// origin when the spec has none.
double fr_freshness_weight(const fr_freshness *f, int has_date, int64_t date_ms, int64_t now_ms);
// A canonical spec string for explanations ("gauss:scale=1095d,offset=0d,decay=0.5,...").
void fr_freshness_format(const fr_freshness *f, char *buf, size_t cap);

// Authority: a coefficient per document. Table entries match the document's `source` exactly;
// otherwise the document's own `authority` number is used (unless "nofield"), otherwise
// `default`. Spec: "none" | "ITEM{,ITEM}" with ITEM = SOURCE:X | default=X | field | nofield,
// e.g. "guideline:1.0,self-media:0.7,default=0.9".
#define FR_AUTH_MAX 32
typedef struct fr_authority {
    int use_field;              // 1 (default): a document's `authority` field applies
    double dflt;                // 1.0
    int n;
    char source[FR_AUTH_MAX][64];
    double coef[FR_AUTH_MAX];
} fr_authority;

fr_authority fr_authority_default(void);
int fr_authority_parse(const char *spec, fr_authority *out, fr_error *err);
// source may be NULL; has_auth says whether the document carries an `authority` number.
// Negative or non-finite values count as 0.
double fr_authority_weight(const fr_authority *a, const char *source, int has_auth, double auth);

// Combination of the per-document factors. product (default): semantic × timeliness ×
// authority; sum: ws·semantic + wt·timeliness + wa·authority.
// Spec: "product" | "sum[:semantic=X,timeliness=X,authority=X]" (sum defaults 0.7/0.15/0.15).
typedef enum { FR_COMBINE_PRODUCT = 0, FR_COMBINE_SUM = 1 } fr_combine_mode;
typedef struct fr_combine {
    fr_combine_mode mode;
    double w_semantic, w_timeliness, w_authority;
} fr_combine;

fr_combine fr_combine_default(void);
int fr_combine_parse(const char *spec, fr_combine *out, fr_error *err);
double fr_combine_score(const fr_combine *c, double semantic, double timeliness, double authority);

// MMR (Carbonell & Goldstein 1998): greedily picks
//   argmax_{d ∉ S} λ·rel(d)/max rel − (1 − λ)·max_{s ∈ S} cos(d, s)
// over sparse document vectors (TF-IDF over analyzed terms; fr_mmr_vectors builds them).
// λ = 1 is plain relevance order. With cap > 0, at most `cap` documents of one group enter
// the list before every document within its group's cap has been placed (over-cap documents
// are demoted, not dropped).
typedef struct fr_mmr_item {
    double rel;                 // relevance, >= 0 (the combined score)
    const char *group;          // cap group (source or a meta field), NULL: none
    size_t n;                   // sparse vector: n (term, weight) pairs, terms ascending
    const uint32_t *terms;
    const float *w;
} fr_mmr_item;

typedef struct fr_mmr_opts {
    double lambda;              // in [0, 1]
    int cap;                    // 0: no cap
    size_t k;                   // MMR picks the first k ranks (0: all n); the rest follow in
                                // relevance order (keeps the cost O(n·k) cosines)
} fr_mmr_opts;

// Orders the n items. OUT (caller-allocated, n entries each; any may be NULL):
// order[r] = index of the item at rank r; max_sim[i] = max cosine of item i to the items
// ranked above it when it was picked; mmr[i] = its MMR score then (for ranks >= k: its
// normalized relevance and max_sim 0). Ties go to the lower index.
int fr_mmr_rank(const fr_mmr_item *items, size_t n, const fr_mmr_opts *opts, size_t *order,
                double *max_sim, double *mmr, fr_error *err);
// Cosine of two sparse vectors (terms ascending); 0 when either is empty.
double fr_mmr_cosine(const fr_mmr_item *a, const fr_mmr_item *b);

// TF-IDF vectors for n documents given as analyzed term lists (terms[i]: n_terms[i]
// NUL-terminated strings): w(t, d) = tf(t, d) · idf(t) with Lucene's BM25 idf
// ln(1 + (N − df + 0.5)/(df + 0.5)), always > 0. df and N come from df_fn (e.g. the index)
// when not NULL, else from the n documents themselves.
// OUT: items[i].n/terms/w (rel and group untouched), pointing into *out, which owns them:
// free with fr_mmr_vectors_free.
typedef struct fr_mmr_vectors fr_mmr_vectors;
typedef uint64_t (*fr_df_fn)(void *ctx, const char *term, size_t len, uint64_t *n_docs);
int fr_mmr_vectors_build(char **const *terms, const size_t *n_terms, size_t n,
                         fr_df_fn df_fn, void *df_ctx, fr_mmr_item *items,
                         fr_mmr_vectors **out, fr_error *err);
void fr_mmr_vectors_free(fr_mmr_vectors *v);

#ifdef __cplusplus
}
#endif
#endif
