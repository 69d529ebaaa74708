/* metrics.c — the server's Prometheus metrics (text exposition format 0.0.4):
 *   finerank_requests_total{route,status}            counter
 *   finerank_request_duration_seconds{route}         histogram
 *   finerank_queue_depth                             gauge (rerank requests queued or running)
 *   finerank_batch_size                              histogram (sequences per forward batch)
 *   finerank_batch_tokens                            histogram (tokens per forward batch)
 *   finerank_tokens_scored_total, finerank_pairs_scored_total   counters
 * Layout: fixed tables indexed by route and status slot under one mutex; a few hundred
 * nanoseconds per request, far below a forward pass.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "serve/serve.h"

static const char *const ROUTES[] = {"/v1/rerank", "/v2/rerank", "/rerank", "/v1/search",
                                     "/v1/documents", "/health", "/info", "/metrics", "other"};
#define N_ROUTES (sizeof ROUTES / sizeof ROUTES[0])
static const int STATUSES[] = {200, 400, 404, 405, 413, 422, 429, 500, 503};
#define N_STATUS (sizeof STATUSES / sizeof STATUSES[0] + 1)  // + "other"
static const double LAT_BUCKETS[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define N_LAT (sizeof LAT_BUCKETS / sizeof LAT_BUCKETS[0])
static const double SIZE_BUCKETS[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512};
#define N_SIZE (sizeof SIZE_BUCKETS / sizeof SIZE_BUCKETS[0])
static const double TOK_BUCKETS[] = {128, 512, 1024, 2048, 4096, 8192, 16384, 32768};
#define N_TOK (sizeof TOK_BUCKETS / sizeof TOK_BUCKETS[0])

typedef struct hist {
    uint64_t bucket[16];    // cumulative counts are computed when rendering
    uint64_t count;
    double sum;
} hist;

struct fr__metrics {
    pthread_mutex_t mu;
    uint64_t requests[N_ROUTES][N_STATUS];
    hist latency[N_ROUTES];
    hist batch_size, batch_tokens;
    uint64_t tokens, pairs;
    int queue;
};

int fr__metrics_new(fr__metrics **out) {
    fr__metrics *m = calloc(1, sizeof *m);
    if (!m) return FR_ENOMEM;
    pthread_mutex_init(&m->mu, NULL);
    *out = m;
    return 0;
}

void fr__metrics_free(fr__metrics *m) {
    if (!m) return;
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static void observe(hist *h, const double *bounds, size_t nb, double v) {
    size_t i = 0;
    while (i < nb && v > bounds[i]) i++;
    h->bucket[i]++;   // i == nb: +Inf only
    h->count++;
    h->sum += v;
}

void fr__metrics_request(fr__metrics *m, const char *route, int status, double seconds) {
    size_t r = N_ROUTES - 1, s = N_STATUS - 1;
    for (size_t i = 0; i + 1 < N_ROUTES; i++)
        if (!strcmp(route, ROUTES[i])) { r = i; break; }
    for (size_t i = 0; i + 1 < N_STATUS; i++)
        if (status == STATUSES[i]) { s = i; break; }
    pthread_mutex_lock(&m->mu);
    m->requests[r][s]++;
    observe(&m->latency[r], LAT_BUCKETS, N_LAT, seconds);
    pthread_mutex_unlock(&m->mu);
}

void fr__metrics_batch(fr__metrics *m, size_t seqs, size_t tokens) {
    pthread_mutex_lock(&m->mu);
    observe(&m->batch_size, SIZE_BUCKETS, N_SIZE, (double)seqs);
    observe(&m->batch_tokens, TOK_BUCKETS, N_TOK, (double)tokens);
    m->tokens += tokens;
    m->pairs += seqs;
    pthread_mutex_unlock(&m->mu);
}

void fr__metrics_queue(fr__metrics *m, int depth) {
    pthread_mutex_lock(&m->mu);
    m->queue = depth;
    pthread_mutex_unlock(&m->mu);
}

static void render_hist(fr__buf *b, const char *name, const char *labels, const hist *h,
                        const double *bounds, size_t nb) {
    uint64_t cum = 0;
    for (size_t i = 0; i < nb; i++) {
        cum += h->bucket[i];
        fr__buf_printf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, *labels ? "," : "",
                       bounds[i], (unsigned long long)cum);
    }
    fr__buf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, *labels ? "," : "",
                   (unsigned long long)h->count);
    fr__buf_printf(b, "%s_sum%s%s%s %.9g\n", name, *labels ? "{" : "", labels, *labels ? "}" : "",
                   h->sum);
    fr__buf_printf(b, "%s_count%s%s%s %llu\n", name, *labels ? "{" : "", labels,
                   *labels ? "}" : "", (unsigned long long)h->count);
}

char *fr__metrics_render(fr__metrics *m) {
    fr__buf b = {0};
    pthread_mutex_lock(&m->mu);
    fr__buf_printf(&b, "# HELP finerank_requests_total HTTP requests by route and status.\n"
                       "# TYPE finerank_requests_total counter\n");
    for (size_t r = 0; r < N_ROUTES; r++)
        for (size_t s = 0; s < N_STATUS; s++) {
            if (!m->requests[r][s]) continue;
            char st[16];
            if (s + 1 < N_STATUS) snprintf(st, sizeof st, "%d", STATUSES[s]);
            else snprintf(st, sizeof st, "other");
            fr__buf_printf(&b, "finerank_requests_total{route=\"%s\",status=\"%s\"} %llu\n",
                           ROUTES[r], st, (unsigned long long)m->requests[r][s]);
        }
    fr__buf_printf(&b, "# HELP finerank_request_duration_seconds Request latency by route.\n"
                       "# TYPE finerank_request_duration_seconds histogram\n");
    for (size_t r = 0; r < N_ROUTES; r++) {
        if (!m->latency[r].count) continue;
        char lab[64];
        snprintf(lab, sizeof lab, "route=\"%s\"", ROUTES[r]);
        render_hist(&b, "finerank_request_duration_seconds", lab, &m->latency[r], LAT_BUCKETS, N_LAT);
    }
    fr__buf_printf(&b, "# HELP finerank_queue_depth Rerank requests queued or being scored.\n"
                       "# TYPE finerank_queue_depth gauge\nfinerank_queue_depth %d\n", m->queue);
    fr__buf_printf(&b, "# HELP finerank_batch_size Sequences per forward batch.\n"
                       "# TYPE finerank_batch_size histogram\n");
    render_hist(&b, "finerank_batch_size", "", &m->batch_size, SIZE_BUCKETS, N_SIZE);
    fr__buf_printf(&b, "# HELP finerank_batch_tokens Tokens per forward batch.\n"
                       "# TYPE finerank_batch_tokens histogram\n");
    render_hist(&b, "finerank_batch_tokens", "", &m->batch_tokens, TOK_BUCKETS, N_TOK);
    fr__buf_printf(&b, "# HELP finerank_tokens_scored_total Tokens through the cross-encoder.\n"
                       "# TYPE finerank_tokens_scored_total counter\n"
                       "finerank_tokens_scored_total %llu\n"
                       "# HELP finerank_pairs_scored_total (query, passage) sequences scored.\n"
                       "# TYPE finerank_pairs_scored_total counter\n"
                       "finerank_pairs_scored_total %llu\n",
                   (unsigned long long)m->tokens, (unsigned long long)m->pairs);
    pthread_mutex_unlock(&m->mu);
    return b.data;
}
