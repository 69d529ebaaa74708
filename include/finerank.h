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

// ---- evaluation ----
// Relevance judgments (qrels), query sets and TREC run files, and the five metrics of the
// first-stage benchmark computed exactly as trec_eval 10.0 computes them (src/rank/metrics.c):
//   ndcg10     = ndcg_cut.10   graded gain = qrel grade, log2(rank+1) discount, ideal over all
//                              judged documents of the query
//   map1000    = map  -M1000   every grade >= 1 counts as relevant
//   recall100  = recall.100,  recall1000 = recall.1000
//   mrr10      = recip_rank -M10 (0 when no relevant document in the first 10)
// A run is sorted as trec_eval sorts it (score descending, ties by docid descending, byte
// order), and the means are taken over every query of the qrels (trec_eval -c): a judged
// query the run misses scores 0; a run query without judgments is ignored.
//
//   fr_qrels *qr; fr_run *run; fr_eval ev;
//   fr_qrels_read("qrels/test.tsv", &qr, &err);
//   fr_run_read("bm25.trec", &run, &err);
//   fr_eval_run(qr, run, &ev, &err);       // ev.mean.ndcg10, ev.per_query[i].m.map1000 ...
//   fr_eval_free(&ev); fr_run_free(run); fr_qrels_free(qr);

// Judgments: "query-id corpus-id score" lines (BEIR qrels TSV; a first line whose last field
// is not an integer is a header and skipped) or "qid iter docid rel" (TREC qrels); fields split
// on tabs/spaces; blank lines and '#' lines skipped. A repeated (qid, docid) is FR_EFORMAT,
// as in trec_eval. Negative grades are kept as "judged but unjudged" (trec_eval's pool value).
typedef struct fr_qrels fr_qrels;
// OUT: *out, free with fr_qrels_free. `name` is used in error messages ("qrels.tsv:12: ...").
int fr_qrels_read(const char *path, fr_qrels **out, fr_error *err);
int fr_qrels_parse(const char *data, size_t len, const char *name, fr_qrels **out,
                   fr_error *err);
void fr_qrels_free(fr_qrels *qr);
size_t fr_qrels_n_queries(const fr_qrels *qr);
// Grade of (qid, docid); INT32_MIN when not judged.
int32_t fr_qrels_grade(const fr_qrels *qr, const char *qid, const char *docid);

// Queries: BEIR queries.jsonl, one object a line with "_id" (or "id"; a string or an integer)
// and "text"; other keys ignored. Arrays owned by the struct: fr_queries_free().
typedef struct fr_query {
    char *id;
    char *text;
} fr_query;
typedef struct fr_queries {
    size_t n;
    fr_query *q;       // (n) in file order
} fr_queries;
int fr_queries_read(const char *path, fr_queries *out, fr_error *err);
int fr_queries_parse(const char *data, size_t len, const char *name, fr_queries *out,
                     fr_error *err);
void fr_queries_free(fr_queries *qs);

// A run: (qid, docid, score) triples, i.e. a TREC run file "qid Q0 docid rank score tag"
// (rank and tag are ignored on reading, as trec_eval does; blank and '#' lines skipped).
typedef struct fr_run fr_run;
int fr_run_new(fr_run **out);
void fr_run_free(fr_run *run);
// Copies the strings. A docid repeated within one query is reported by fr_eval_run.
int fr_run_add(fr_run *run, const char *qid, const char *docid, double score);
size_t fr_run_size(const fr_run *run);
int fr_run_read(const char *path, fr_run **out, fr_error *err);
int fr_run_parse(const char *data, size_t len, const char *name, fr_run **out, fr_error *err);
// Writes the run, each query's lines in trec_eval order with ranks 1.., scores printed so
// that they read back exactly (%.15g, or %.17g where that is needed). Queries in order of
// first appearance. tag NULL → "finerank".
int fr_run_write(const fr_run *run, const char *path, const char *tag, fr_error *err);

typedef struct fr_metrics {
    double ndcg10, map1000, recall100, recall1000, mrr10;
} fr_metrics;

typedef struct fr_eval_query {
    const char *qid;   // points into the qrels (lives as long as it)
    fr_metrics m;
    size_t n_ret;      // documents the run returned for the query (before any cutoff)
    size_t n_rel;      // judged documents with grade >= 1
} fr_eval_query;

typedef struct fr_eval {
    size_t n_queries;          // queries of the qrels (the -c denominator)
    size_t n_run_queries;      // of those, queries the run has results for
    size_t n_ignored;          // run queries without judgments (ignored)
    fr_metrics mean;
    fr_eval_query *per_query;  // (n_queries) in qid byte order, as trec_eval -q prints them
} fr_eval;

// Scores run against qrels. OUT: *out, release with fr_eval_free. FR_EFORMAT when a query
// of the run lists a docid twice (trec_eval refuses such runs too).
int fr_eval_run(const fr_qrels *qr, const fr_run *run, fr_eval *out, fr_error *err);
void fr_eval_free(fr_eval *ev);

#ifdef __cplusplus
}
#endif
#endif
