/* bench_pipeline.c — end-to-end latency of the ranking pipeline, broken down by stage, one
 * query at a time on one thread (bench/pipeline/run.sh drives it).
 *
 *   bench_pipeline INDEX QUERIES.jsonl [--config FILE] [--queries N] [--warmup N]
 *
 * Default pipeline (the issue's): BM25 candidates 1000 → proximity rerank of the top 100 →
 * signals (gauss freshness, authority field) → MMR λ = 0.7 → top 10. For each query it
 * records fr_result's stage times; prints p50/p99/mean per stage and in total, and, in the
 * same run, plain BM25 top-1000 (fr_index_search) for the ratio. Timing only: no assertions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "finerank.h"

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// Nearest-rank percentile; sorts xs.
static double pct(double *xs, size_t n, double p) {
    if (!n) return 0;
    qsort(xs, n, sizeof *xs, cmp);
    size_t r = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (r < 1) r = 1;
    if (r > n) r = n;
    return xs[r - 1];
}

static double mean(const double *xs, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += xs[i];
    return n ? s / (double)n : 0;
}

static void row(const char *name, double *xs, size_t n) {
    double m = mean(xs, n);
    double p50 = pct(xs, n, 50), p99 = pct(xs, n, 99);
    printf("%-22s %9.3f %9.3f %9.3f\n", name, p50, p99, m);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: bench_pipeline INDEX QUERIES.jsonl [--config FILE] "
                        "[--queries N] [--warmup N]\n");
        return 2;
    }
    const char *cfg_path = NULL;
    size_t max_q = 1000, warmup = 20;
    for (int i = 3; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--config")) cfg_path = argv[i + 1];
        else if (!strcmp(argv[i], "--queries")) max_q = (size_t)atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--warmup")) warmup = (size_t)atol(argv[i + 1]);
        else { fprintf(stderr, "unknown option %s\n", argv[i]); return 2; }
    }
    fr_error err = {0};
    fr_index *ix = NULL;
    fr_queries qs = {0};
    fr_pipeline *p = NULL;
    fr_pipeline_config c = fr_pipeline_config_default();
    c.candidates = 1000;
    c.rerank_top = 100;
    c.k = 10;
    c.reranker = FR_RERANK_PROXIMITY;
    c.lambda = 0.7;
    if (fr_freshness_parse("gauss:scale=3y,offset=180d", &c.freshness, &err) < 0 ||
        (cfg_path && fr_pipeline_config_load(&c, cfg_path, &err) < 0) ||
        fr_index_open(argv[1], NULL, &ix, &err) < 0 || fr_queries_read(argv[2], &qs, &err) < 0 ||
        fr_pipeline_new(ix, &c, &p, &err) < 0) {
        fprintf(stderr, "bench_pipeline: %s\n", err.msg);
        return 1;
    }
    size_t n = qs.n < max_q ? qs.n : max_q;
    double *tot = calloc(n + 1, sizeof *tot), *cand = calloc(n + 1, sizeof *cand);
    double *rer = calloc(n + 1, sizeof *rer), *sig = calloc(n + 1, sizeof *sig);
    double *mmr = calloc(n + 1, sizeof *mmr), *bm25 = calloc(n + 1, sizeof *bm25);
    fr_hit *hits = calloc(1000, sizeof *hits);
    if (!tot || !cand || !rer || !sig || !mmr || !bm25 || !hits) return 1;
    for (size_t i = 0; i < warmup && i < n; i++) {  // fault in the mapping, warm the caches
        fr_result r = {0};
        fr_pipeline_run(p, qs.q[i].text, NULL, &r, &err);
        fr_result_free(&r);
    }
    size_t cands = 0;
    for (size_t i = 0; i < n; i++) {
        fr_result r = {0};
        double t0 = now_ms();
        if (fr_pipeline_run(p, qs.q[i].text, NULL, &r, &err) < 0) {
            fprintf(stderr, "bench_pipeline: %s\n", err.msg);
            return 1;
        }
        tot[i] = now_ms() - t0;
        cand[i] = r.ms_candidates;
        rer[i] = r.ms_rerank;
        sig[i] = r.ms_signals;
        mmr[i] = r.ms_mmr;
        cands += r.n_candidates;
        fr_result_free(&r);
        fr_search_opts so = fr_search_opts_default();
        so.k = 1000;
        size_t nh = 0;
        t0 = now_ms();
        if (fr_index_search(ix, qs.q[i].text, -1, &so, hits, &nh, &err) < 0) {
            fprintf(stderr, "bench_pipeline: %s\n", err.msg);
            return 1;
        }
        bm25[i] = now_ms() - t0;
    }
    fr_index_stats st;
    fr_index_stats_get(ix, &st, &err);
    printf("index %s: %llu documents; %zu queries (after %zu warm-up), one thread\n", argv[1],
           (unsigned long long)st.n_live, n, warmup);
    printf("pipeline: candidates %zu -> %s rerank %zu -> signals -> MMR lambda %g -> top %zu; "
           "mean candidates per query %.0f\n", c.candidates,
           c.reranker == FR_RERANK_NONE ? "no" : "proximity", c.rerank_top, c.lambda, c.k,
           n ? (double)cands / (double)n : 0);
    printf("MMR idf from the %s\n", c.mmr_local_idf ? "candidates" : "index");
    printf("%-22s %9s %9s %9s\n", "stage (ms)", "p50", "p99", "mean");
    row("candidates (BM25+syn)", cand, n);
    row("fine sort (proximity)", rer, n);
    row("signals", sig, n);
    row("MMR", mmr, n);
    double mt = mean(tot, n), mb = mean(bm25, n);
    row("total", tot, n);
    row("BM25 top-1000 alone", bm25, n);
    printf("total / BM25-alone (mean): %.2f\n", mb > 0 ? mt / mb : 0);
    free(tot), free(cand), free(rer), free(sig), free(mmr), free(bm25), free(hits);
    fr_pipeline_free(p);
    fr_queries_free(&qs);
    fr_index_close(ix);
    return 0;
}
