/* serve.h — internals of the HTTP server shared by src/serve/ (one file per noun) (not public API):
 *   request.c   JSON bodies of the rerank dialects → fr__rr_req (pure; fuzzed)
 *   batcher.c   the scorer pool: forward batches across requests under a token budget
 *   metrics.c   Prometheus counters and histograms
 *   rerank.c    a parsed rerank request → tokens → scores → signals/MMR → response JSON
 *   server.c    libmicrohttpd, routing, limits, health/info/metrics, search, documents
 */
#ifndef FR_SERVE_SERVE_H
#define FR_SERVE_SERVE_H

#include <jansson.h>
#include <stdint.h>

#include "finerank.h"

// ---- errors ----
// An HTTP error: status plus the offending field ("documents[3].text", "body", "top_n").
typedef struct fr__http_err {
    int status;
    char field[96];
    char msg[400];
} fr__http_err;

int fr__http_fail(fr__http_err *e, int status, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
// The error as the JSON body every route returns: {"message", "error", "error_type", "field"}
// ("message" for Cohere clients, "error"/"error_type" for TEI clients). malloc'd.
char *fr__http_err_json(const fr__http_err *e);

// ---- request ----
typedef enum {
    FR__DIALECT_COHERE_V1 = 0,   // POST /v1/rerank (return_documents default false)
    FR__DIALECT_COHERE_V2,       // POST /v2/rerank (documents never echoed unless asked)
    FR__DIALECT_JINA,            // POST /v1/rerank with "model": "jina-…" (default true)
    FR__DIALECT_TEI,             // POST /rerank
} fr__dialect;

typedef struct fr__limits {
    size_t max_documents;
    int max_json_depth;
    size_t max_query_bytes;
} fr__limits;

typedef struct fr__rr_doc {
    const char *text;           // the text scored (into req->root, or `owned`)
    size_t len;
    char *owned;                // rank_fields concatenation (malloc'd) or NULL
    int has_date;
    int64_t date_ms;
    int has_authority;
    double authority;
    const char *source;         // NULL: none
} fr__rr_doc;

typedef struct fr__rr_req {
    fr__dialect dialect;
    json_t *root;               // the parsed body; every string below points into it
    const char *model;          // NULL: absent
    const char *query;
    size_t query_len;
    size_t n_docs;
    fr__rr_doc *docs;           // (n_docs)
    size_t top_n;               // <= n_docs
    int return_documents;
    int raw_scores;             // TEI: report the logit
    int truncate;               // 0 (TEI default): a pair past the window is an error
    int truncate_left;          // TEI truncation_direction Left: cut each sequence's start
    int max_tokens_per_doc;     // 0: none (cut the passage to this many tokens)
    fr_long_docs long_docs;
    int max_chunks;             // max_chunks_per_doc: windows per document (0: all)
    int has_ext;                // any signal/diversity extension asked for
    fr_pipeline_config ext;     // freshness, authority, combine, lambda, cap, explain,
                                // deadline_ms, now_ms (on top of the server's config)
} fr__rr_req;

// Parses a rerank body. base: the server's pipeline config (the extensions apply on top).
// On failure fills *e (400 syntax / UTF-8 / depth, 422 types and values) and returns < 0;
// *out is then already released. OUT: *out, release with fr__rr_free.
int fr__rr_parse(fr__dialect d, const char *body, size_t len, const fr__limits *lim,
                 const fr_pipeline_config *base, fr__rr_req *out, fr__http_err *e);
void fr__rr_free(fr__rr_req *r);

// Body-level checks shared by every JSON route: valid UTF-8, nesting depth <= max_depth,
// then json_loadb. OUT: *root (a new reference). 400 on failure.
int fr__json_body(const char *body, size_t len, int max_depth, json_t **root, fr__http_err *e);

// ---- metrics ----
typedef struct fr__metrics fr__metrics;
int fr__metrics_new(fr__metrics **out);
void fr__metrics_free(fr__metrics *m);
void fr__metrics_request(fr__metrics *m, const char *route, int status, double seconds);
void fr__metrics_batch(fr__metrics *m, size_t seqs, size_t tokens);
void fr__metrics_queue(fr__metrics *m, int depth);
// Prometheus text exposition format 0.0.4. malloc'd.
char *fr__metrics_render(fr__metrics *m);

// ---- batcher ----
typedef struct fr__batcher fr__batcher;
// fuse 0 (exact): each request's chunk is its own forward call, so scores never depend on
// other requests; 1: one fused call per batch (see batcher.c).
int fr__batcher_new(const fr_model *model, int threads, int max_batch_tokens, int max_queue,
                    int fuse, fr__metrics *mx, fr__batcher **out, fr_error *err);
// Finishes the queued work, joins the workers. NULL is a no-op.
void fr__batcher_free(fr__batcher *b);
// Scores n sequences, sharing forward batches with other callers; blocks until done.
// deadline: CLOCK_MONOTONIC ms after which sequences not yet started are skipped (0: none).
// OUT: logits (n * num_labels), scored[i] = 1 when sequence i was scored.
// FR_EBUSY: the queue is full (nothing was queued).
int fr__batcher_score(fr__batcher *b, const fr_seq *seqs, size_t n, double deadline,
                      float *logits, unsigned char *scored, fr_error *err);
int fr__batcher_depth(fr__batcher *b);
double fr__mono_ms(void);

// ---- rerank ----
typedef struct fr__serve_ctx {
    const fr_model *model;      // NULL: no model
    fr_model_info info;
    const fr_tokenizer *tok;    // the model's tokenizer.json (fr_model_tokenizer: owned by
                                // the model)
    fr__batcher *batcher;
    fr__metrics *metrics;
    const char *model_name;
} fr__serve_ctx;

// Runs a parsed request. OUT: *json (malloc'd body), *score_type ("probability", "logit",
// "combined"). Errors fill *e (429 when the queue is full, 413 TEI too long, 503 no model).
int fr__rerank_run(fr__serve_ctx *c, fr__rr_req *r, char **json, const char **score_type,
                   fr__http_err *e);

#endif
