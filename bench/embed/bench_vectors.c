/* bench_vectors.c N DIM QUERIES K — exact top-K vector search latency over N random unit
 * vectors of DIM floats (F32, int8, int8 + F32 rescoring), on 1 and 2 threads: p50 / p99 per query in ms, and
 * int8's top-10 overlap with F32. Queries: half near a stored vector (0.3 noise), half random.
 * Prints one JSON line per (type, threads) and a markdown table. Part of bench/embed/run.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>

#include "finerank.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static float gauss(void) {  // Box-Muller on xorshift
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    double u1 = ((rng >> 11) + 1.0) / 9007199254740993.0;
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    double u2 = (rng >> 11) / 9007199254740992.0;
    return (float)(sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2));
}
static void unit(float *x, int d) {
    double s = 0;
    for (int i = 0; i < d; i++) { x[i] = gauss(); s += (double)x[i] * x[i]; }
    for (int i = 0; i < d; i++) x[i] = (float)(x[i] / sqrt(s));
}
static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}
static int cmpd(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    size_t N = argc > 1 ? strtoull(argv[1], 0, 10) : 1000000;
    int D = argc > 2 ? atoi(argv[2]) : 384;
    size_t Q = argc > 3 ? strtoull(argv[3], 0, 10) : 50, K = argc > 4 ? strtoull(argv[4], 0, 10) : 1000;
    fr_error err;
    fr_vecs *vf, *vi, *vr;
    fr_vecs_new(D, FR_VEC_F32, &vf, &err);
    fr_vecs_new(D, FR_VEC_I8, &vi, &err);
    fr_vecs_new(D, FR_VEC_I8_RESCORE, &vr, &err);
    float *chunk = malloc(4096 * (size_t)D * sizeof *chunk), *q = malloc(Q * (size_t)D * sizeof *q);
    float *keep = malloc(Q * (size_t)D * sizeof *keep);
    for (size_t s = 0; s < N; s += 4096) {
        size_t m = N - s < 4096 ? N - s : 4096;
        for (size_t i = 0; i < m; i++) unit(chunk + i * D, D);
        for (size_t j = 0; j < Q / 2; j++)  // remember the rows the near queries start from
            if (j * (N / (Q / 2 + 1)) >= s && j * (N / (Q / 2 + 1)) < s + m)
                memcpy(keep + j * D, chunk + (j * (N / (Q / 2 + 1)) - s) * D, D * sizeof(float));
        fr_vecs_add(vf, chunk, m, &err);
        fr_vecs_add(vi, chunk, m, &err);
        fr_vecs_add(vr, chunk, m, &err);
    }
    for (size_t j = 0; j < Q; j++) {
        unit(q + j * D, D);
        if (j < Q / 2) {
            for (int d = 0; d < D; d++) q[j * D + d] = keep[j * D + d] + 0.3f * q[j * D + d];
        }
    }
    fr_vec_hit *h = malloc(K * sizeof *h), *h10f = malloc(Q * 10 * sizeof *h), *h10i = malloc(Q * 10 * sizeof *h);
    double *lat = malloc(Q * sizeof *lat);
    printf("| vectors | type | threads | p50 ms | p99 ms | top-%zu |\n|---|---|---|---|---|---|\n", K);
    static const char *names[] = {"f32", "int8", "int8+rescore"};
    for (int ty = 0; ty < 3; ty++)
        for (int t = 1; t <= 2; t++) {
            fr_vecs *v = ty == 2 ? vr : ty ? vi : vf;
            size_t n;
            fr_vecs_search(v, q, K, t, h, &n, &err);  // warm-up
            for (size_t j = 0; j < Q; j++) {
                double t0 = now();
                fr_vecs_search(v, q + j * D, K, t, h, &n, &err);
                lat[j] = (now() - t0) * 1e3;
            }
            qsort(lat, Q, sizeof *lat, cmpd);
            printf("| %zu x %d | %s | %d | %.1f | %.1f | %zu |\n", N, D, names[ty], t, lat[Q / 2],
                   lat[(size_t)(0.99 * (double)(Q - 1))], n);
            fflush(stdout);
        }
    size_t ov = 0, ovn = 0, ovr = 0, ovx = 0;
    for (size_t j = 0; j < Q; j++) {
        size_t a, b;
        fr_vecs_search(vf, q + j * D, 10, 2, h10f + j * 10, &a, &err);
        fr_vecs_search(vi, q + j * D, 10, 2, h10i + j * 10, &b, &err);
        size_t o = 0;
        for (size_t x = 0; x < 10; x++)
            for (size_t y = 0; y < 10; y++) o += h10f[j * 10 + x].id == h10i[j * 10 + y].id;
        ov += o;
        fr_vecs_search(vr, q + j * D, 10, 2, h10i + j * 10, &b, &err);
        for (size_t x = 0; x < 10; x++)
            for (size_t y = 0; y < 10; y++) ovx += h10f[j * 10 + x].id == h10i[j * 10 + y].id;
        if (j < Q / 2) ovn += o; else ovr += o;
    }
    printf("\nint8 top-10 overlap with f32: %.4f overall (near-document queries %.4f, random queries %.4f), %zu queries\n",
           ov / (10.0 * Q), ovn / (10.0 * (Q / 2)), ovr / (10.0 * (Q - Q / 2)), Q);
    printf("int8+rescore top-10 overlap with f32: %.4f\n", ovx / (10.0 * Q));
    return 0;
}
