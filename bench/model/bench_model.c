/* bench_model.c — finerank's side of bench/model/run.sh.
 *
 *   bench_model MODEL_DIR PAIRS_JSON THREADS REPS LOGITS_OUT
 *
 * Scores the fixed pairs (token ids, from make_minilm.py) REPS times with THREADS threads and
 * prints one JSON line: best wall time, pairs/s, achieved GFLOP/s, the harness's own sgemm
 * peak with the same thread count (THREADS concurrent single-threaded OpenBLAS sgemm calls on a
 * (2048 x 384) x (384 x 1536) product, the encoder's commonest shape) and peak RSS.
 * Writes the logits (one per line) to LOGITS_OUT for the cross-engine agreement check.
 */
#include <cblas.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "finerank.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct { float *a, *b, *c; int m, n, k, reps; } gemm_job;
static void *gemm_run(void *p) {
    gemm_job *g = p;
    for (int r = 0; r < g->reps; r++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, g->m, g->n, g->k, 1.0f, g->a, g->k, g->b,
                    g->k, 0.0f, g->c, g->n);
    return NULL;
}

// Aggregate GFLOP/s of `threads` concurrent single-threaded sgemm calls (best of 3).
static double gemm_peak(int threads) {
    int m = 2048, n = 1536, k = 384, reps = 4;
    gemm_job jobs[64];
    pthread_t t[64];
    for (int i = 0; i < threads; i++) {
        jobs[i] = (gemm_job){malloc((size_t)m * k * 4), malloc((size_t)n * k * 4), malloc((size_t)m * n * 4), m, n, k, reps};
        for (size_t j = 0; j < (size_t)m * k; j++) jobs[i].a[j] = (float)(j % 7) * 0.1f;
        for (size_t j = 0; j < (size_t)n * k; j++) jobs[i].b[j] = (float)(j % 5) * 0.1f;
    }
    gemm_run(&jobs[0]);  // warm up
    double best = 0;
    for (int trial = 0; trial < 3; trial++) {
        double t0 = now();
        for (int i = 1; i < threads; i++) pthread_create(&t[i], NULL, gemm_run, &jobs[i]);
        gemm_run(&jobs[0]);
        for (int i = 1; i < threads; i++) pthread_join(t[i], NULL);
        double g = 2.0 * m * n * k * reps * threads / (now() - t0) / 1e9;
        if (g > best) best = g;
    }
    for (int i = 0; i < threads; i++) { free(jobs[i].a); free(jobs[i].b); free(jobs[i].c); }
    return best;
}

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: bench_model MODEL_DIR PAIRS_JSON THREADS REPS LOGITS_OUT\n");
        return 2;
    }
    int threads = atoi(argv[3]), reps = atoi(argv[4]);
    fr_error err;
    fr_model *m = NULL;
    fr_model_opts mo = fr_model_opts_default();
    mo.threads = threads;
    mo.load_tokenizer = 0;
    if (fr_model_open(argv[1], &mo, &m, &err) < 0) { fprintf(stderr, "%s\n", err.msg); return 1; }
    json_error_t je;
    json_t *root = json_load_file(argv[2], 0, &je);
    if (!root) { fprintf(stderr, "%s: %s\n", argv[2], je.text); return 1; }
    size_t n = json_array_size(root), tokens = 0;
    fr_seq *seqs = calloc(n, sizeof *seqs);
    for (size_t i = 0; i < n; i++) {
        json_t *ids = json_object_get(json_array_get(root, i), "ids");
        json_t *ty = json_object_get(json_array_get(root, i), "types");
        size_t L = json_array_size(ids);
        int32_t *a = malloc(L * sizeof *a);
        uint8_t *b = malloc(L);
        for (size_t j = 0; j < L; j++) {
            a[j] = (int32_t)json_integer_value(json_array_get(ids, j));
            b[j] = (uint8_t)json_integer_value(json_array_get(ty, j));
        }
        seqs[i] = (fr_seq){a, b, L};
        tokens += L;
    }
    float *lg = malloc(n * sizeof *lg);
    fr_score_opts so = fr_score_opts_default();
    so.threads = threads;
    if (fr_model_score_ids(m, seqs, n, &so, lg, &err) < 0) { fprintf(stderr, "%s\n", err.msg); return 1; }
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        fr_model_score_ids(m, seqs, n, &so, lg, &err);
        double dt = now() - t0;
        if (dt < best) best = dt;
    }
    fr_model_info info;
    fr_model_get_info(m, &info);
    double H = info.hidden, In = info.intermediate, L = (double)tokens / n, flops = 0;
    // per token and layer: Q, K, V, O projections 4·2H², FFN 2·2HI, attention 2·2·L·H
    flops = (double)tokens * info.layers * (8 * H * H + 4 * H * In + 4 * L * H);
    double peak = gemm_peak(threads);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    FILE *f = fopen(argv[5], "w");
    for (size_t i = 0; i < n; i++) fprintf(f, "%.7g\n", lg[i]);
    fclose(f);
    printf("{\"engine\": \"finerank\", \"seq_len\": %.0f, \"pairs\": %zu, \"threads\": %d, \"best_s\": %.4f, "
           "\"pairs_per_s\": %.1f, \"gflops\": %.1f, \"gemm_peak_gflops\": %.1f, \"pct_peak\": %.1f, "
           "\"peak_rss_mb\": %.1f, \"openblas_core\": \"%s\"}\n",
           L, n, threads, best, n / best, flops / best / 1e9, peak, 100 * flops / best / 1e9 / peak,
           ru.ru_maxrss / 1024.0, openblas_get_corename());
    fr_model_free(m);
    return 0;
}
