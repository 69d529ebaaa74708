/* bench_ivf.c N DIM QUERIES K NPROBES [LISTS=0] [TYPE=int8] [REAL=file.f32 [REALQ=file.f32]]
 * — the IVF approximate dense index (src/index/ivf.c) against the exact scan, on the corpora
 * of vec_corpus.h (random, then clustered; N rows of DIM floats each) and, with REAL, on real
 * sentence embeddings (a raw little-endian f32 file of rows of DIM floats: the first
 * QUERIES/2 rows' neighbourhoods give the near queries, the next QUERIES/2 rows are held out
 * of the corpus and are the other queries; with REALQ, the first QUERIES rows of that file
 * are the queries instead, e.g. the benchmark's real query embeddings).
 * Per corpus: the rows stored as TYPE (int8 or f32), the IVF built over them (LISTS lists, 0:
 * automatic) with its build time; then for the exact scan and each nprobe in the comma list
 * NPROBES, p50 / p99 ms per query on 1 and 2 threads and recall@10 / recall@K against exact
 * F32 search (ground truth: the same rows as floats). One markdown row each.
 * Links the library's internal IVF entry points (-Isrc), so it builds against this tree
 * only (bench/embed/run.sh's IVF=... part).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "finerank.h"
#include "../bench.h"
#include "vec_corpus.h"
#include "base/base.h"
#include "index/ivf.h"

typedef struct run {
    const char *corpus;
    fr_vecs *truth, *v;         // F32 rows (ground truth), the searched rows
    const float *q;             // (Q, D)
    size_t Q, K;
    int D;
    fr_vec_hit *gt;             // (Q, K) exact F32 top K
    size_t *ngt;
    unsigned char *mark;
} run;

// One search method over every query: p50 / p99 on 1 and 2 threads, recall vs F32.
static void measure(run *r, const char *what, const fr__ivf *ivf, uint32_t nprobe) {
    fr_error err;
    fr_vec_hit *h = malloc(r->K * sizeof *h);
    double *lat = malloc(r->Q * sizeof *lat), p50[2], p99[2], r10 = 0, rk = 0, rows = 0, r10h[2] = {0, 0};
    for (int t = 1; t <= 2; t++) {
        for (size_t j = 0; j <= r->Q; j++) {  // j == Q: one warm-up pass first (query 0)
            const float *q = r->q + (j == r->Q ? 0 : j) * (size_t)r->D;
            size_t n = 0, m = fr_vecs_count(r->v);
            double t0 = now();
            int rc = ivf ? fr__ivf_search(ivf, r->v, q, r->K, nprobe, t, h, &n, &m, &err)
                         : fr_vecs_search(r->v, q, r->K, t, h, &n, &err);
            double ms = (now() - t0) * 1e3;
            if (rc < 0) { fprintf(stderr, "search: %s\n", err.msg); exit(1); }
            if (j == r->Q) continue;
            lat[j] = ms;
            if (t == 1) {
                rows += (double)m;
                const fr_vec_hit *g = r->gt + j * r->K;
                double c10 = common(g, r->ngt[j], h, n, 10, r->mark) / 10.0;
                r10 += c10;
                r10h[j >= r->Q / 2] += c10;
                rk += common(g, r->ngt[j], h, n, r->K, r->mark) / (double)r->K;
            }
        }
        qsort(lat, r->Q, sizeof *lat, cmpd);
        p50[t - 1] = lat[r->Q / 2];
        p99[t - 1] = lat[(size_t)(0.99 * (double)(r->Q - 1))];
    }
    printf("| %s | %s | %.1f%% | %.2f / %.2f | %.2f / %.2f | %.3f (%.3f / %.3f) | %.3f |\n", r->corpus, what,
           100.0 * rows / (double)r->Q / (double)fr_vecs_count(r->v), p50[0], p99[0], p50[1], p99[1],
           r10 / (double)r->Q, r10h[0] / (double)(r->Q / 2), r10h[1] / (double)(r->Q - r->Q / 2),
           rk / (double)r->Q);
    fflush(stdout);
    free(h);
    free(lat);
}

static void bench(run *r, uint32_t lists, const char *nprobes) {
    fr_error err;
    size_t N = fr_vecs_count(r->v);
    r->gt = malloc(r->Q * r->K * sizeof *r->gt);
    r->ngt = malloc(r->Q * sizeof *r->ngt);
    r->mark = calloc(N, 1);
    for (size_t j = 0; j < r->Q; j++)
        fr_vecs_search(r->truth, r->q + j * (size_t)r->D, r->K, 2, r->gt + j * r->K, &r->ngt[j], &err);
    char path[] = "/tmp/finerank-bench-ivf.ivf";
    double t0 = now();
    if (fr__ivf_build(r->v, lists, 0, path, 0, &err) < 0) { fprintf(stderr, "build: %s\n", err.msg); exit(1); }
    double build_s = now() - t0;
    size_t len = 0;
    char *data = NULL;
    fr__ivf *ivf = NULL;
    if (fr__read_file(path, &data, &len, &err) < 0 || fr__ivf_view(data, len, path, 1, r->v, 0, &ivf, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    unlink(path);
    printf("| %s | IVF build: %u lists, %.1f s, %.1f MB | | | | | |\n", r->corpus, fr__ivf_lists(ivf), build_s,
           (double)len / 1e6);
    measure(r, "exact", NULL, 0);
    char list[256];
    snprintf(list, sizeof list, "%s", nprobes);
    for (char *s = strtok(list, ","); s; s = strtok(NULL, ",")) {
        char what[64];
        snprintf(what, sizeof what, "IVF nprobe %s", s);
        measure(r, what, ivf, (uint32_t)atoi(s));
    }
    fr__ivf_free(ivf);
    free(data);
    free(r->gt);
    free(r->ngt);
    free(r->mark);
}

// The synthetic corpus c: N rows into truth (F32) and v (type), Q queries into q.
static void synth(const corpus *c, size_t N, size_t Q, fr_vec_type type, run *r, float *q) {
    fr_error err;
    int D = c->D;
    fr_vecs_new(D, FR_VEC_F32, &r->truth, &err);
    fr_vecs_new(D, type, &r->v, &err);
    float *chunk = malloc(4096 * (size_t)D * sizeof *chunk), *keep = malloc(Q * (size_t)D * sizeof *keep);
    for (size_t s = 0; s < N; s += 4096) {
        size_t n = N - s < 4096 ? N - s : 4096;
        corpus_chunk(c, N, Q, s, n, chunk, keep);
        fr_vecs_add(r->truth, chunk, n, &err);
        fr_vecs_add(r->v, chunk, n, &err);
    }
    queries(c, Q, keep, q);
    free(chunk);
    free(keep);
}

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: bench_ivf N DIM QUERIES K NPROBES [LISTS] [int8|f32] [REAL.f32]\n");
        return 2;
    }
    size_t N = strtoull(argv[1], 0, 10), Q = strtoull(argv[3], 0, 10), K = strtoull(argv[4], 0, 10);
    int D = atoi(argv[2]);
    const char *nprobes = argv[5];
    uint32_t lists = argc > 6 ? (uint32_t)atoi(argv[6]) : 0;
    fr_vec_type type = argc > 7 && !strcmp(argv[7], "f32") ? FR_VEC_F32 : FR_VEC_I8;
    const char *real = argc > 8 ? argv[8] : NULL, *realq = argc > 9 ? argv[9] : NULL;
    if (D < 1 || D > 4096 || Q < 2 || !K) return 2;
    float *q = malloc(Q * (size_t)D * sizeof *q);
    printf("| corpus | search | rows scanned | 1 thread p50 / p99 ms | 2 threads p50 / p99 ms | recall@10 (near-doc / other queries) | "
           "recall@%zu |\n|---|---|---|---|---|---|---|\n", K);
    for (int clustered = 0; clustered < 2 && !real; clustered++) {
        corpus c;
        corpus_init(&c, clustered, D);
        run r = {.corpus = clustered ? "clustered" : "random", .Q = Q, .K = K, .D = D, .q = q};
        synth(&c, N, Q, type, &r, q);
        bench(&r, lists, nprobes);
        fr_vecs_free(r.truth);
        fr_vecs_free(r.v);
    }
    if (real) {  // rows [0, n - Q/2) are the corpus, the last Q/2 rows are held-out queries
        fr_error err;
        char *data = NULL;
        size_t len = 0;
        if (fr__read_file(real, &data, &len, &err) < 0) { fprintf(stderr, "%s\n", err.msg); return 1; }
        const float *x = (const float *)(const void *)data;
        size_t n = len / ((size_t)D * sizeof(float));
        if (n < Q + 1) return 2;
        size_t nc = n - Q / 2;
        if (nc > N) nc = N;
        run r = {.corpus = "real", .Q = Q, .K = K, .D = D, .q = q};
        fr_vecs_new(D, FR_VEC_F32, &r.truth, &err);
        fr_vecs_new(D, type, &r.v, &err);
        fr_vecs_add(r.truth, x, nc, &err);
        fr_vecs_add(r.v, x, nc, &err);
        for (size_t j = 0; j < Q / 2; j++) {  // near a stored row: that row + 0.3 noise, renormalised
            float *qj = q + j * (size_t)D;
            unit(qj, D);
            for (int d = 0; d < D; d++) qj[d] = x[(j * (nc / (Q / 2 + 1))) * (size_t)D + d] + 0.3f * qj[d];
            normalize(qj, D);
        }
        memcpy(q + (Q / 2) * (size_t)D, x + (n - (Q - Q / 2)) * (size_t)D, (Q - Q / 2) * (size_t)D * sizeof *q);
        char *qd = NULL;
        size_t ql = 0;
        if (realq) {  // the given queries instead
            if (fr__read_file(realq, &qd, &ql, &err) < 0) { fprintf(stderr, "%s\n", err.msg); return 1; }
            if (ql / ((size_t)D * sizeof(float)) < Q) { fprintf(stderr, "%s: fewer than %zu queries\n", realq, Q); return 2; }
            memcpy(q, qd, Q * (size_t)D * sizeof *q);
            free(qd);
            nc = n < N ? n : N;  // no held-out rows needed
            fr_vecs_free(r.truth);
            fr_vecs_free(r.v);
            fr_vecs_new(D, FR_VEC_F32, &r.truth, &err);
            fr_vecs_new(D, type, &r.v, &err);
            fr_vecs_add(r.truth, x, nc, &err);
            fr_vecs_add(r.v, x, nc, &err);
        }
        bench(&r, lists, nprobes);
        free(data);
    }
    return 0;
}
