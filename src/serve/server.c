/* server.c — finerank's HTTP server on libmicrohttpd: routing, body limits, health, info,
 * metrics, the search and ingestion routes; the rerank routes hand off to rerank.c.
 *
 *   POST /v1/rerank            Cohere v1 (or Jina when "model" starts with "jina")
 *   POST /v2/rerank            Cohere v2
 *   POST /rerank               Hugging Face TEI
 *   POST /v1/search            {query, ...any pipeline config field, "retriever" included} →
 *                              the pipeline's result
 *                              JSON, each hit with its stored fields (text, date, source, ...)
 *   POST /v1/documents         a JSON array of documents, or NDJSON; 200 once committed
 *   DELETE /v1/documents/{id}  200 once committed, 404 when absent
 *   GET /health                200 {"status":"ready"}; 503 while loading or draining
 *   GET /info                  model, index, limits, version
 *   GET /metrics               Prometheus text (metrics.c)
 *
 * Threads: a fixed set, whatever the number of clients. libmicrohttpd's internal pool of
 * IO_THREADS epoll threads reads requests and writes responses for every connection (a client
 * sending one byte per second costs a socket and a buffer, not a thread) under a connection
 * limit, a per-IP limit and an idle timeout, and answers the cheap routes (health, info,
 * metrics, errors) itself. A request for a slow route (rerank, search, documents) is handed,
 * body complete, to a FIFO served by `workers` request threads, and its connection is
 * suspended (MHD_suspend_connection) until the worker has the answer and resumes it; the
 * I/O thread then sends it. The FIFO holds at most max_queue requests: beyond, 429 with
 * Retry-After at once (as a full scorer queue, batcher.c). So 64 concurrent clients cost
 * 64 sockets, and at most `workers` requests tokenise, run the pipeline or wait on the
 * scorer pool at a time. Bodies are accumulated by hand (no PostProcessor: bodies are JSON)
 * up to max_body_bytes — a larger Content-Length is answered 413 before the body is read. The
 * scorer pool (batcher.c) is shared by every rerank request and by the search pipeline's
 * cross-encoder. The index: one reader handle, reopened under a write lock after each
 * commit; one writer handle, opened at the first write, serialised by a mutex.
 * Draining (SIGTERM in the CLI): stop accepting, 503 to new requests, wait for in-flight ones
 * up to drain_timeout_s; requests then still waiting for a worker get 503, not a run.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "serve/serve.h"

enum { ST_LOADING = 0, ST_READY, ST_DRAINING };

// Reading and writing sockets is cheap next to scoring; two threads keep one slow write from
// stalling every other connection.
#define IO_THREADS 2

typedef struct conn conn;

struct fr_server {
    fr_server_opts o;
    char *host, *index_dir, *model_dir, *model_name;
    struct MHD_Daemon *d;
    int port;
    atomic_int state;
    atomic_int inflight;
    atomic_int answering;           // resumed by a worker, response not yet completed
    int drained;
    fr__limits lim;
    fr__metrics *mx;
    fr__serve_ctx ctx;
    fr_model *model;
    fr_pipeline_config cfg;
    // index
    pthread_rwlock_t ix_lock;       // readers: search; writer: reopen after a commit
    pthread_mutex_t wr_lock;        // one write (add/delete + commit) at a time
    fr_index *ix;                   // reader
    fr_index *wix;                  // writer (opened on first write)
    fr_pipeline *pipe;
    // request workers
    pthread_mutex_t wq_mu;
    pthread_cond_t wq_cv;
    conn *wq_head, *wq_tail;        // suspended connections waiting for a worker
    int wq_len;
    int wq_stop;
    int n_workers;
    pthread_t *workers;
};

fr_server_opts fr_server_opts_default(void) {
    return (fr_server_opts){.host = "127.0.0.1", .port = 8080, .max_body_bytes = 32u << 20,
                            .max_documents = 10000, .max_json_depth = 32,
                            .max_query_bytes = 65536, .scorer_threads = 0,
                            .max_batch_tokens = 8192, .max_queue = 64, .max_connections = 256,
                            .per_ip_connections = 0, .timeout_s = 60, .drain_timeout_s = 30,
                            .workers = 0};
}

// ---- connection state ----
struct conn {
    double t0;
    fr__buf body;
    int too_big;
    int counted;                    // in s->inflight
    // a slow route: filled by a worker while the connection is suspended
    struct MHD_Connection *c;
    char *url;                      // (malloc'd)
    int is_delete;
    int status;                     // 0 until a worker has answered
    char *out;                      // the answer's body (malloc'd; reply() takes it)
    const char *score_type;
    int resumed;                    // counted in s->answering
    conn *next;                     // work queue link
};

static enum MHD_Result send_body(struct MHD_Connection *c, int status, const char *ctype,
                                 char *body, const char *score_type, int retry_after) {
    size_t len = body ? strlen(body) : 0;
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body ? body : (char *)"",
                                                             body ? MHD_RESPMEM_MUST_FREE
                                                                  : MHD_RESPMEM_PERSISTENT);
    if (!r) { free(body); return MHD_NO; }
    MHD_add_response_header(r, "Content-Type", ctype);
    if (score_type) MHD_add_response_header(r, "X-Finerank-Score-Type", score_type);
    if (retry_after) MHD_add_response_header(r, "Retry-After", "1");
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ok;
}

static const char *route_name(const char *url) {
    if (!strncmp(url, "/v1/documents", 13)) return "/v1/documents";
    static const char *const known[] = {"/v1/rerank", "/v2/rerank", "/rerank", "/v1/search",
                                        "/health", "/info", "/metrics"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (!strcmp(url, known[i])) return known[i];
    return "other";
}

static enum MHD_Result reply(fr_server *s, struct MHD_Connection *c, conn *st, const char *url,
                             int status, char *body, const char *score_type) {
    fr__metrics_request(s->mx, route_name(url), status, (fr__mono_ms() - st->t0) / 1e3);
    return send_body(c, status, "application/json", body, score_type, status == 429);
}

static enum MHD_Result reply_err(fr_server *s, struct MHD_Connection *c, conn *st, const char *url,
                                 const fr__http_err *e) {
    return reply(s, c, st, url, e->status, fr__http_err_json(e), NULL);
}

// ---- search scorer ----
// fr_semantic_fn through the shared batcher: the pipeline's fine sort joins rerank requests'
// forward batches.
static int batched_scorer(void *ctx, const char *query, const char *const *passages, size_t n,
                          double *scores, fr_error *err) {
    fr_server *s = ctx;
    fr__serve_ctx *c = &s->ctx;
    size_t nl = (size_t)c->info.num_labels;
    fr_encoding *enc = calloc(n, sizeof *enc);
    fr_seq *seqs = calloc(n, sizeof *seqs);
    float *lg = calloc(n * nl, sizeof *lg);
    unsigned char *ok = calloc(n, 1);
    int rc = FR_ENOMEM;
    if (!enc || !seqs || !lg || !ok) { fr__err(err, rc, "out of memory"); goto out; }
    fr_encode_opts o = fr_encode_opts_default();
    o.max_length = c->info.max_length;
    for (size_t i = 0; i < n; i++) {
        if ((rc = fr_tokenizer_encode(c->tok, query, -1, passages[i], -1, &o, &enc[i], err)) < 0)
            goto out;
        seqs[i] = (fr_seq){enc[i].ids, enc[i].type_ids, enc[i].n};
    }
    if ((rc = fr__batcher_score(c->batcher, seqs, n, 0, lg, ok, err)) < 0) goto out;
    for (size_t i = 0; i < n; i++) {
        const float *l = lg + i * nl;
        scores[i] = nl == 2 ? (float)(1.0 / (1.0 + exp((double)l[0] - (double)l[1])))
                            : (float)(1.0 / (1.0 + exp(-(double)l[0])));
    }
out:
    if (enc)
        for (size_t i = 0; i < n; i++) fr_encoding_free(&enc[i]);
    free(enc);
    free(seqs);
    free(lg);
    free(ok);
    return rc;
}

// ---- routes ----
static int route_search(fr_server *s, const char *body, size_t len, char **out, fr__http_err *e) {
    if (!s->ix) return fr__http_fail(e, 404, "", "no index is served (start with --index DIR)");
    json_t *root = NULL;
    if (fr__json_body(body, len, s->lim.max_json_depth, &root, e) < 0) return -1;
    int rc = -1;
    fr_result res = {0};
    json_t *rj = NULL;
    char *q = NULL;
    if (!json_is_object(root)) { fr__http_fail(e, 422, "body", "expected a JSON object"); goto out; }
    json_t *qv = json_object_get(root, "query");
    if (!qv || !json_is_string(qv)) { fr__http_fail(e, 422, "query", qv ? "expected a string" : "missing"); goto out; }
    if (!json_string_length(qv)) { fr__http_fail(e, 422, "query", "must not be empty"); goto out; }
    q = strndup(json_string_value(qv), json_string_length(qv));
    json_object_del(root, "query");
    fr_pipeline_config cfg = s->cfg;
    fr_error fe;
    if (json_object_size(root)) {
        char *js = json_dumps(root, JSON_COMPACT);
        int arc = js ? fr_pipeline_config_apply_json(&cfg, js, strlen(js), "request", &fe) : FR_ENOMEM;
        free(js);
        if (arc < 0) {
            const char *m = arc == FR_ENOMEM ? "out of memory" : fe.msg;
            if (!strncmp(m, "request: ", 9)) m += 9;
            fr__http_fail(e, arc == FR_ENOMEM ? 500 : 422, "", "%s", m);
            goto out;
        }
    }
    if (cfg.k > 10000 || cfg.candidates > 100000) {
        fr__http_fail(e, 422, cfg.k > 10000 ? "k" : "candidates", "too large");
        goto out;
    }
    // A request may ask for more scan threads than the server's default, but not more than
    // the machine has: each is a thread started per request.
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int max_threads = s->cfg.retriever.threads > cpus ? s->cfg.retriever.threads : (int)cpus;
    if (cfg.retriever.threads > max_threads) {
        fr__http_fail(e, 422, "retriever.threads", "at most %d (the server's CPUs)", max_threads);
        goto out;
    }
    pthread_rwlock_rdlock(&s->ix_lock);
    int prc = fr_pipeline_run(s->pipe, q, &cfg, &res, &fe);
    if (prc < 0) {
        pthread_rwlock_unlock(&s->ix_lock);
        fr__http_fail(e, prc == FR_EINVAL || prc == FR_ERANGE ? 422 : prc == FR_EBUSY ? 429 : 500,
                      "", "%s", fe.msg);
        goto out;
    }
    char *js = fr_result_to_json(&res, q, cfg.explain);
    rj = js ? json_loads(js, 0, NULL) : NULL;
    free(js);
    json_t *arr = rj ? json_object_get(rj, "results") : NULL;
    for (size_t i = 0; arr && i < res.n && i < json_array_size(arr); i++) {
        fr_doc d;
        if (fr_index_doc(s->ix, res.items[i].doc, &d, &fe) < 0) continue;
        json_t *h = json_array_get(arr, i);
        if (d.text) json_object_set_new(h, "text", json_stringn(d.text, d.text_len));
        if (d.date) json_object_set_new(h, "date", json_stringn(d.date, d.date_len));
        if (d.source) json_object_set_new(h, "source", json_stringn(d.source, d.source_len));
        if (d.lang) json_object_set_new(h, "lang", json_stringn(d.lang, d.lang_len));
        if (!isnan(d.authority)) json_object_set_new(h, "authority", json_real(d.authority));
        if (d.meta) {
            json_t *m = json_loadb(d.meta, d.meta_len, 0, NULL);
            if (m) json_object_set_new(h, "meta", m);
        }
    }
    pthread_rwlock_unlock(&s->ix_lock);
    *out = rj ? json_dumps(rj, JSON_COMPACT) : NULL;
    if (!*out) { fr__http_fail(e, 500, "", "out of memory"); goto out; }
    rc = 0;
out:
    fr_result_free(&res);
    json_decref(rj);
    json_decref(root);
    free(q);
    return rc;
}

// Opens the writer on first use. Called with wr_lock held.
static int writer(fr_server *s, fr__http_err *e) {
    if (s->wix) return 0;
    fr_error fe;
    fr_index_opts io = fr_index_opts_default();
    int rc = fr_index_build(s->index_dir, &io, &s->wix, &fe);
    if (rc < 0)
        return fr__http_fail(e, rc == FR_EBUSY ? 503 : 500, "", "index writer: %s", fe.msg);
    return 0;
}

// Commit, then make the new snapshot visible to searches.
static int commit_and_reopen(fr_server *s, fr__http_err *e) {
    fr_error fe;
    int rc = fr_index_commit(s->wix, &fe);
    if (rc < 0) {
        fr_index_rollback(s->wix, NULL);
        return fr__http_fail(e, rc == FR_ENOSPC ? 507 : 500, "", "commit: %s", fe.msg);
    }
    pthread_rwlock_wrlock(&s->ix_lock);
    rc = fr_index_reopen(s->ix, &fe);
    pthread_rwlock_unlock(&s->ix_lock);
    if (rc < 0) return fr__http_fail(e, 500, "", "reopen: %s (the commit is durable)", fe.msg);
    return 0;
}

static int route_add(fr_server *s, const char *body, size_t len, char **out, fr__http_err *e) {
    if (!s->ix) return fr__http_fail(e, 404, "", "no index is served (start with --index DIR)");
    size_t p = 0;
    while (p < len && strchr(" \t\r\n", body[p])) p++;
    if (p == len) return fr__http_fail(e, 422, "body", "no documents");
    pthread_mutex_lock(&s->wr_lock);
    int rc = writer(s, e);
    size_t added = 0;
    fr_error fe;
    char field[64];
    if (rc < 0) goto out;
    if (body[p] == '[') {
        json_t *root = NULL;
        if ((rc = fr__json_body(body, len, s->lim.max_json_depth, &root, e)) < 0) goto out;
        size_t i;
        json_t *v;
        json_array_foreach(root, i, v) {
            snprintf(field, sizeof field, "documents[%zu]", i);
            char *js = json_is_object(v) ? json_dumps(v, JSON_COMPACT) : NULL;
            if (!js) { rc = fr__http_fail(e, 422, field, "expected a document object"); break; }
            rc = fr_index_add(s->wix, js, strlen(js), &fe);
            free(js);
            if (rc < 0) { rc = fr__http_fail(e, 422, field, "%s", fe.msg); break; }
            added++;
        }
        json_decref(root);
    } else {
        size_t line = 0;
        for (size_t a = 0; a < len;) {
            size_t b = a;
            while (b < len && body[b] != '\n') b++;
            line++;
            size_t x = a;
            while (x < b && strchr(" \t\r", body[x])) x++;
            if (x < b) {
                snprintf(field, sizeof field, "line %zu", line);
                json_t *v = NULL;
                if ((rc = fr__json_body(body + a, b - a, s->lim.max_json_depth, &v, e)) < 0) {
                    snprintf(e->field, sizeof e->field, "%s", field);
                    break;
                }
                json_decref(v);
                rc = fr_index_add(s->wix, body + a, b - a, &fe);
                if (rc < 0) { rc = fr__http_fail(e, 422, field, "%s", fe.msg); break; }
                added++;
            }
            a = b + 1;
        }
    }
    if (rc < 0) { fr_index_rollback(s->wix, NULL); goto out; }
    if ((rc = commit_and_reopen(s, e)) < 0) goto out;
    fr_index_stats st;
    uint64_t gen = fr_index_stats_get(s->ix, &st, NULL) == 0 ? st.generation : 0;
    json_t *o = json_pack("{sisbsI}", "added", (json_int_t)added, "durable", 1, "generation",
                          (json_int_t)gen);
    *out = json_dumps(o, JSON_COMPACT);
    json_decref(o);
out:
    pthread_mutex_unlock(&s->wr_lock);
    return rc < 0 ? -1 : 0;
}

static int route_delete(fr_server *s, const char *id, char **out, fr__http_err *e) {
    if (!s->ix) return fr__http_fail(e, 404, "", "no index is served (start with --index DIR)");
    if (!*id) return fr__http_fail(e, 404, "id", "missing document id");
    pthread_mutex_lock(&s->wr_lock);
    int rc = writer(s, e);
    fr_error fe;
    if (rc < 0) goto out;
    if ((rc = fr_index_delete(s->wix, id, &fe)) < 0) {
        if (rc != FR_ENOTFOUND) fr_index_rollback(s->wix, NULL);  // else writes stay refused
        rc = fr__http_fail(e, rc == FR_ENOTFOUND ? 404 : 500, "id", "%s", fe.msg);
        goto out;
    }
    if ((rc = commit_and_reopen(s, e)) < 0) goto out;
    json_t *o = json_pack("{sssb}", "deleted", id, "durable", 1);
    *out = json_dumps(o, JSON_COMPACT);
    json_decref(o);
out:
    pthread_mutex_unlock(&s->wr_lock);
    return rc < 0 ? -1 : 0;
}

static char *info_json(fr_server *s) {
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string("finerank"));
    json_object_set_new(o, "version", json_string(FR_VERSION));
    if (s->model) {
        const fr_model_info *i = &s->ctx.info;
        json_object_set_new(o, "model", json_pack("{ss ss ss ss si si si si ss}", "id", s->model_name,
            "architecture", i->architecture, "dtype", i->weights_dtype, "activation", i->activation,
            "max_length", i->max_length, "layers", i->layers, "hidden", i->hidden,
            "num_labels", i->num_labels, "score_type", "probability"));
    } else {
        json_object_set_new(o, "model", json_null());
    }
    if (s->ix) {
        fr_index_stats st;
        pthread_rwlock_rdlock(&s->ix_lock);
        int ok = fr_index_stats_get(s->ix, &st, NULL) == 0;
        fr_index_embedding em;
        json_t *emb = json_null();
        if (fr_index_embedding_get(s->ix, &em, NULL) == 0) {
            emb = json_pack("{ss si ss sI sI}", "model", em.model, "dim", em.dim, "vec",
                            fr_vec_type_name(em.type),
                            "vectors", (json_int_t)em.n_vectors, "missing", (json_int_t)em.n_missing);
        }
        pthread_rwlock_unlock(&s->ix_lock);
        json_t *ij = ok ? json_pack("{ss sI sI}", "dir", s->index_dir, "documents", (json_int_t)st.n_live,
                                    "generation", (json_int_t)st.generation) : NULL;
        if (ij) json_object_set_new(ij, "embedding", emb);
        else json_decref(emb);
        json_object_set_new(o, "index", ij ? ij : json_null());
    } else {
        json_object_set_new(o, "index", json_null());
    }
    json_object_set_new(o, "limits", json_pack("{sI sI si sI si si si si si si}",
        "max_body_bytes", (json_int_t)s->o.max_body_bytes, "max_documents", (json_int_t)s->o.max_documents,
        "max_json_depth", s->o.max_json_depth, "max_query_bytes", (json_int_t)s->o.max_query_bytes,
        "max_batch_tokens", s->o.max_batch_tokens, "max_queue", s->o.max_queue,
        "scorer_threads", s->o.scorer_threads, "max_connections", s->o.max_connections,
        "per_ip_connections", s->o.per_ip_connections, "timeout_s", s->o.timeout_s));
    json_object_set_new(json_object_get(o, "limits"), "workers", json_integer(s->o.workers));
    json_object_set_new(o, "routes", json_pack("[sssssssss]", "POST /v1/rerank", "POST /v2/rerank",
        "POST /rerank", "POST /v1/search", "POST /v1/documents", "DELETE /v1/documents/{id}",
        "GET /health", "GET /info", "GET /metrics"));
    char *js = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return js;
}

// ---- dispatch ----
// The cheap routes and every early error, answered on the I/O thread. Returns 1 with *res set
// when answered; 0 when the request belongs to a worker (run_work).
static int dispatch_quick(fr_server *s, struct MHD_Connection *c, conn *st, const char *url,
                          const char *method, enum MHD_Result *res) {
    fr__http_err e = {0};
    int is_get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
    int is_post = !strcmp(method, "POST");
    if (!strcmp(url, "/health")) {
        int state = atomic_load(&s->state);
        const char *txt = state == ST_READY ? "ready" : state == ST_LOADING ? "loading" : "draining";
        char *b = NULL;
        if (asprintf(&b, "{\"status\":\"%s\"}", txt) < 0) b = NULL;
        *res = reply(s, c, st, url, state == ST_READY ? 200 : 503, b, NULL);
        return 1;
    }
    if (atomic_load(&s->state) != ST_READY) {
        fr__http_fail(&e, 503, "", atomic_load(&s->state) == ST_LOADING ? "loading" : "draining");
        *res = reply_err(s, c, st, url, &e);
        return 1;
    }
    const char *rn = route_name(url);
    if (!strcmp(rn, "other")) {
        fr__http_fail(&e, 404, "", "no route %s %s", method, url);
        *res = reply_err(s, c, st, url, &e);
        return 1;
    }
    if (!strcmp(url, "/info") || !strcmp(url, "/metrics")) {
        if (!is_get) {
            fr__http_fail(&e, 405, "", "use GET");
            *res = reply_err(s, c, st, url, &e);
        } else if (url[1] == 'i') {
            *res = reply(s, c, st, url, 200, info_json(s), NULL);
        } else {
            fr__metrics_queue(s->mx, s->ctx.batcher ? fr__batcher_depth(s->ctx.batcher) : 0);
            fr__metrics_request(s->mx, "/metrics", 200, (fr__mono_ms() - st->t0) / 1e3);
            *res = send_body(c, 200, "text/plain; version=0.0.4", fr__metrics_render(s->mx), NULL, 0);
        }
        return 1;
    }
    if (!strncmp(url, "/v1/documents/", 14)) {
        if (!strcmp(method, "DELETE")) return 0;
        fr__http_fail(&e, 405, "", "use DELETE");
        *res = reply_err(s, c, st, url, &e);
        return 1;
    }
    if (!is_post) {
        fr__http_fail(&e, 405, "", "use POST");
        *res = reply_err(s, c, st, url, &e);
        return 1;
    }
    return 0;
}

// A slow route, on a worker thread: fills st->status, st->out, st->score_type.
static void run_work(fr_server *s, conn *st) {
    fr__http_err e = {0};
    char *out = NULL;
    const char *stype = NULL, *url = st->url;
    const char *body = st->body.data ? st->body.data : "";
    size_t len = st->body.len;
    int rc;
    if (st->is_delete) {
        rc = route_delete(s, url + 14, &out, &e);
    } else if (!strcmp(url, "/v1/search")) {
        rc = route_search(s, body, len, &out, &e);
    } else if (!strcmp(url, "/v1/documents")) {
        rc = route_add(s, body, len, &out, &e);
    } else {
        fr__dialect d = !strcmp(url, "/v1/rerank") ? FR__DIALECT_COHERE_V1
                      : !strcmp(url, "/v2/rerank") ? FR__DIALECT_COHERE_V2 : FR__DIALECT_TEI;
        fr__rr_req r;
        rc = fr__rr_parse(d, body, len, &s->lim, &s->cfg, &r, &e);
        if (rc == 0) {
            rc = fr__rerank_run(&s->ctx, &r, &out, &stype, &e);
            fr__rr_free(&r);
        }
    }
    if (rc < 0) {
        free(out);
        st->status = e.status;
        st->out = fr__http_err_json(&e);
        st->score_type = NULL;
    } else {
        st->status = 200;
        st->out = out;
        st->score_type = stype;
    }
    fr__buf_free(&st->body);  // the answer is all the connection still needs
}

// ---- request workers ----
static void *request_worker(void *arg) {
    fr_server *s = arg;
    pthread_mutex_lock(&s->wq_mu);
    for (;;) {
        while (!s->wq_head && !s->wq_stop) pthread_cond_wait(&s->wq_cv, &s->wq_mu);
        conn *st = s->wq_head;
        if (!st) break;  // stopping, and the queue is empty
        s->wq_head = st->next;
        if (!s->wq_head) s->wq_tail = NULL;
        s->wq_len--;
        // Still queued when the server stops (fr_server_free: the drain is over or timed out):
        // answered 503 at once, not run, so SIGTERM exits within --drain-timeout.
        int stopping = s->wq_stop;
        pthread_mutex_unlock(&s->wq_mu);
        if (stopping) {
            fr__http_err e = {0};
            fr__http_fail(&e, 503, "", "draining: the server stopped before this request started");
            fr__buf_free(&st->body);
            st->status = 503;
            st->out = fr__http_err_json(&e);
            st->score_type = NULL;
        } else {
            run_work(s, st);
        }
        st->resumed = 1;
        atomic_fetch_add(&s->answering, 1);
        // After this st belongs to the I/O thread again (it may already be sending).
        MHD_resume_connection(st->c);
        pthread_mutex_lock(&s->wq_mu);
    }
    pthread_mutex_unlock(&s->wq_mu);
    return NULL;
}

// Suspends the connection and queues it for a worker; 429 when max_queue are waiting.
static enum MHD_Result enqueue(fr_server *s, struct MHD_Connection *c, conn *st, const char *url,
                               const char *method) {
    st->url = strdup(url);
    if (!st->url) return MHD_NO;
    st->is_delete = !strcmp(method, "DELETE");
    st->c = c;
    pthread_mutex_lock(&s->wq_mu);
    if (s->wq_stop || s->wq_len >= s->o.max_queue) {
        int n = s->wq_len;
        pthread_mutex_unlock(&s->wq_mu);
        fr__http_err e;
        fr__http_fail(&e, 429, "", "overloaded: %d requests are waiting for a worker (max_queue); "
                      "retry later", n);
        return reply_err(s, c, st, url, &e);
    }
    // Suspended before a worker can see it: the worker's resume always follows this suspend.
    MHD_suspend_connection(c);
    if (s->wq_tail) s->wq_tail->next = st;
    else s->wq_head = st;
    s->wq_tail = st;
    s->wq_len++;
    pthread_cond_signal(&s->wq_cv);
    pthread_mutex_unlock(&s->wq_mu);
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **con_cls) {
    fr_server *s = cls;
    conn *st = *con_cls;
    if (!st) {
        st = calloc(1, sizeof *st);
        if (!st) return MHD_NO;
        st->t0 = fr__mono_ms();
        st->counted = 1;
        atomic_fetch_add(&s->inflight, 1);
        *con_cls = st;
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl) {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(cl, &end, 10);
            if (errno || end == cl || v > s->o.max_body_bytes) {
                st->too_big = 1;
                fr__http_err e;
                fr__http_fail(&e, 413, "body", "Content-Length %s exceeds the limit of %zu bytes",
                              cl, s->o.max_body_bytes);
                return reply_err(s, c, st, url, &e);
            }
        }
        return MHD_YES;
    }
    if (*upload_size) {
        if (!st->too_big) {
            if (st->body.len + *upload_size > s->o.max_body_bytes) {
                st->too_big = 1;
                fr__buf_free(&st->body);
            } else if (fr__buf_append(&st->body, upload, *upload_size) < 0) {
                return MHD_NO;
            }
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (st->status) {  // resumed: a worker has the answer
        char *out = st->out;
        st->out = NULL;
        return reply(s, c, st, url, st->status, out, st->score_type);
    }
    if (st->too_big) {
        fr__http_err e;
        fr__http_fail(&e, 413, "body", "more than %zu bytes", s->o.max_body_bytes);
        return reply_err(s, c, st, url, &e);
    }
    enum MHD_Result res;
    if (dispatch_quick(s, c, st, url, method, &res)) return res;
    return enqueue(s, c, st, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    fr_server *s = cls;
    conn *st = *con_cls;
    if (!st) return;
    if (st->counted) atomic_fetch_sub(&s->inflight, 1);
    if (st->resumed) atomic_fetch_sub(&s->answering, 1);
    fr__buf_free(&st->body);
    free(st->url);
    free(st->out);
    free(st);
    *con_cls = NULL;
}

// ---- lifecycle ----
static int load(fr_server *s, fr_error *err) {
    int rc;
    s->cfg = fr_pipeline_config_default();
    if (s->o.config_path && (rc = fr_pipeline_config_load(&s->cfg, s->o.config_path, err)) < 0)
        return fr__err_prefix(err, rc, "config");
    if (!s->model_dir && s->cfg.model[0] && !(s->model_dir = strdup(s->cfg.model)))
        return fr__err(err, FR_ENOMEM, "out of memory");
    s->cfg.model[0] = 0;  // the server's model is shared through the batcher, not reopened
    if (s->model_dir) {
        fr_model_opts mo = fr_model_opts_default();  // its tokenizer serves every route
        mo.dtype = s->o.dtype;
        if ((rc = fr_model_open(s->model_dir, &mo, &s->model, err)) < 0)
            return fr__err_prefix(err, rc, "model");
        fr_model_get_info(s->model, &s->ctx.info);
        if (!(s->ctx.tok = fr_model_tokenizer(s->model)))
            return fr__err(err, FR_ENOTFOUND, "model: %s has no tokenizer.json", s->model_dir);
        int threads = s->o.scorer_threads > 0 ? s->o.scorer_threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
        if (threads < 1) threads = 1;
        s->o.scorer_threads = threads;
        if ((rc = fr__batcher_new(s->model, threads, s->o.max_batch_tokens, s->o.max_queue, s->o.fuse_batches, s->mx,
                                  &s->ctx.batcher, err)) < 0)
            return rc;
        s->ctx.model = s->model;
        if (!s->model_name) {  // the directory's basename, trailing slashes ignored
            size_t n = strlen(s->model_dir);
            while (n > 1 && s->model_dir[n - 1] == '/') n--;
            size_t b = n;
            while (b > 0 && s->model_dir[b - 1] != '/') b--;
            s->model_name = strndup(s->model_dir + b, n - b);
        }
        s->ctx.model_name = s->model_name;
    }
    if (s->index_dir) {
        fr_index_opts io = fr_index_opts_default();
        rc = fr_index_open(s->index_dir, &io, &s->ix, err);
        if (rc == FR_ENOTFOUND) {  // a new index: create it empty, so documents can be posted
            fr_index *w = NULL;
            if ((rc = fr_index_build(s->index_dir, &io, &w, err)) == 0) rc = fr_index_commit(w, err);
            fr_index_close(w);
            if (rc == 0) rc = fr_index_open(s->index_dir, &io, &s->ix, err);
        }
        if (rc < 0) return fr__err_prefix(err, rc, "index");
        // an index with embeddings: its model is loaded now, so dense and hybrid requests
        // ("retriever" fields) do not pay for it and a missing model fails the start
        fr_index_embedding em;
        if (fr_index_embedding_get(s->ix, &em, NULL) == 0 && (rc = fr_index_load_embedder(s->ix, err)) < 0)
            return fr__err_prefix(err, rc, "index");
        // and packed for the config's retriever.query_dtype (a request asking for another
        // type packs it once, on first use)
        if ((rc = fr_retriever_prepare(s->ix, &s->cfg.retriever, err)) < 0)
            return fr__err_prefix(err, rc, "index");
        if ((rc = fr_pipeline_new(s->ix, &s->cfg, &s->pipe, err)) < 0) return fr__err_prefix(err, rc, "pipeline");
        if (s->model) fr_pipeline_set_scorer(s->pipe, batched_scorer, s, "cross-encoder");
    }
    return 0;
}

static int start_workers(fr_server *s, fr_error *err) {
    if (s->o.workers <= 0) {  // enough to keep the scorer pool fed while others tokenise
        int t = s->o.scorer_threads > 0 ? s->o.scorer_threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
        s->o.workers = 2 * (t > 0 ? t : 1);
        if (s->o.workers < 4) s->o.workers = 4;
    }
    s->workers = calloc((size_t)s->o.workers, sizeof *s->workers);
    if (!s->workers) return fr__err(err, FR_ENOMEM, "out of memory");
    for (int i = 0; i < s->o.workers; i++) {
        if (pthread_create(&s->workers[i], NULL, request_worker, s) != 0)
            return fr__err(err, FR_ENOMEM, "cannot start request worker %d", i);
        s->n_workers++;
    }
    return 0;
}

static void stop_workers(fr_server *s) {
    pthread_mutex_lock(&s->wq_mu);
    s->wq_stop = 1;  // workers answer what is queued with 503 (each resumes its connection), then exit
    pthread_cond_broadcast(&s->wq_cv);
    pthread_mutex_unlock(&s->wq_mu);
    for (int i = 0; i < s->n_workers; i++) pthread_join(s->workers[i], NULL);
    s->n_workers = 0;
    free(s->workers);
    s->workers = NULL;
}

int fr_server_start(const fr_server_opts *opts, fr_server **out, fr_error *err) {
    *out = NULL;
    fr_server *s = calloc(1, sizeof *s);
    if (!s) return fr__err(err, FR_ENOMEM, "out of memory");
    s->o = opts ? *opts : fr_server_opts_default();
    pthread_rwlock_init(&s->ix_lock, NULL);
    pthread_mutex_init(&s->wr_lock, NULL);
    pthread_mutex_init(&s->wq_mu, NULL);
    pthread_cond_init(&s->wq_cv, NULL);
    int rc = FR_ENOMEM;
    s->host = strdup(s->o.host ? s->o.host : "127.0.0.1");
    s->index_dir = s->o.index_dir ? strdup(s->o.index_dir) : NULL;
    s->model_dir = s->o.model_dir ? strdup(s->o.model_dir) : NULL;
    s->model_name = s->o.model_name ? strdup(s->o.model_name) : NULL;
    s->o.host = s->host;
    if (!s->host || fr__metrics_new(&s->mx) < 0) { fr__err(err, rc, "out of memory"); goto fail; }
    if (!s->o.max_body_bytes) s->o.max_body_bytes = 32u << 20;
    if (!s->o.max_documents) s->o.max_documents = 10000;
    if (s->o.max_json_depth <= 0) s->o.max_json_depth = 32;
    if (!s->o.max_query_bytes) s->o.max_query_bytes = 65536;
    if (s->o.max_queue <= 0) s->o.max_queue = 64;
    if (s->o.max_connections <= 0) s->o.max_connections = 256;
    if (s->o.timeout_s <= 0) s->o.timeout_s = 60;
    s->lim = (fr__limits){s->o.max_documents, s->o.max_json_depth, s->o.max_query_bytes};

    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)s->o.port);
    if (s->o.port < 0 || s->o.port > 65535 || inet_pton(AF_INET, s->host, &sa.sin_addr) != 1) {
        rc = fr__err(err, FR_EINVAL, "listen %s:%d: expected an IPv4 address and a port in [0, 65535]",
                     s->host, s->o.port);
        goto fail;
    }
    atomic_init(&s->state, ST_LOADING);
    if ((rc = start_workers(s, err)) < 0) goto fail;
    s->d = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC,
                            0, NULL, NULL, on_request, s,
                            // libmicrohttpd splits the connection limit across the pool
                            MHD_OPTION_THREAD_POOL_SIZE,
                            (unsigned)(s->o.max_connections >= 2 * IO_THREADS ? IO_THREADS : 1),
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)s->o.max_connections,
                            MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)(s->o.per_ip_connections > 0 ? s->o.per_ip_connections : 0),
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)s->o.timeout_s,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                            MHD_OPTION_END);
    if (!s->d) {
        rc = fr__err(err, FR_EIO, "listen %s:%d: %s", s->host, s->o.port, strerror(errno ? errno : EADDRINUSE));
        goto fail;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : s->o.port;
    if ((rc = load(s, err)) < 0) goto fail;
    atomic_store(&s->state, ST_READY);
    *out = s;
    return 0;
fail:
    fr_server_free(s);
    return rc;
}

int fr_server_port(const fr_server *s) { return s->port; }

void fr_server_drain(fr_server *s) {
    if (!s || s->drained) return;
    s->drained = 1;
    atomic_store(&s->state, ST_DRAINING);
    if (!s->d) return;
    MHD_quiesce_daemon(s->d);  // the listening socket closes: no new connections
    double until = fr__mono_ms() + 1e3 * (s->o.drain_timeout_s > 0 ? s->o.drain_timeout_s : 30);
    // A request is in flight from its first header to the end of its response; idle
    // keep-alive connections are not, and MHD_stop_daemon closes them.
    while (atomic_load(&s->inflight) > 0 && fr__mono_ms() < until) usleep(5000);
}

void fr_server_free(fr_server *s) {
    if (!s) return;
    if (s->d && atomic_load(&s->state) == ST_READY) fr_server_drain(s);
    // Workers first: each resumes the connection it holds, so none is suspended when the
    // daemon stops (libmicrohttpd refuses to stop with suspended connections).
    stop_workers(s);
    // The answers the workers gave last (past the drain timeout: 503s) are sent before the
    // daemon stops, which would close their connections unanswered.
    double until = fr__mono_ms() + 1e3 * s->o.timeout_s;
    while (s->d && atomic_load(&s->answering) > 0 && fr__mono_ms() < until) usleep(1000);
    if (s->d) MHD_stop_daemon(s->d);
    fr_pipeline_free(s->pipe);
    fr__batcher_free(s->ctx.batcher);
    fr_model_free(s->model);
    fr_index_close(s->wix);
    fr_index_close(s->ix);
    fr__metrics_free(s->mx);
    pthread_rwlock_destroy(&s->ix_lock);
    pthread_mutex_destroy(&s->wr_lock);
    pthread_mutex_destroy(&s->wq_mu);
    pthread_cond_destroy(&s->wq_cv);
    free(s->host);
    free(s->index_dir);
    free(s->model_dir);
    free(s->model_name);
    free(s);
}
