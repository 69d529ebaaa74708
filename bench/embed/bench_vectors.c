/* bench_vectors.c N DIM QUERIES K [TYPES=f32,int8,int8+rescore] [OVERLAP=1] — exact top-K vector
 * search latency over N random unit vectors of DIM floats, on 1 and 2 threads: p50 / p99 per
 * query in ms (one markdown row per type and thread count). Queries: half near a stored vector
 * (0.3 noise), half random. TYPES picks the matrices (a comma list); bench/embed/run.sh links
 * this file against main's library and the branch's and runs both in one go.
 * With OVERLAP=1, int8's top-10 overlap with F32 (and int8 + rescoring's) on two corpora:
 *  - random: the timing corpus (isotropic: the worst case for int8, top-10 gaps ~1e-3);
 *  - clustered: anisotropic vectors shaped like sentence embeddings (a shared mean direction
 *    with a few large "rogue" dimensions, 1000 topic clusters, a power-law per-dimension
 *    spread); queries near a document and near a topic centre. Also int8 over the rows
 *    centred on the corpus mean (q·x = q·(x − μ) + q·μ, the last term the same for every
 *    row: the ranking is unchanged and the int8 range shrinks), to size that option.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>

#include "finerank.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static double uni(void) {
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}
static float gauss(void) {  // Box-Muller on xorshift
    double u1 = uni() + 1.0 / 9007199254740992.0, u2 = uni();
    return (float)(sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2));
}
static void normalize(float *x, int d) {
    double s = 0;
    for (int i = 0; i < d; i++) s += (double)x[i] * x[i];
    for (int i = 0; i < d; i++) x[i] = (float)(x[i] / sqrt(s));
}
static void unit(float *x, int d) {
    for (int i = 0; i < d; i++) x[i] = gauss();
    normalize(x, d);
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

// ---- corpora ----
typedef struct corpus {
    int clustered, D;
    float *mean, *centres, *spread;  // clustered: (D), (1000, D), (D)
} corpus;

static void corpus_init(corpus *c, int clustered, int D) {
    *c = (corpus){clustered, D, NULL, NULL, NULL};
    if (!clustered) return;
    c->mean = malloc((size_t)D * sizeof(float));
    c->spread = malloc((size_t)D * sizeof(float));
    c->centres = malloc(1000 * (size_t)D * sizeof(float));
    unit(c->mean, D);
    for (int i = 0; i < 4; i++) c->mean[(i * 97) % D] += 1.5f * (i & 1 ? -1 : 1);  // rogue dimensions
    normalize(c->mean, D);
    for (int i = 0; i < D; i++) c->spread[i] = (float)pow(1.0 + i, -0.5);
    for (int j = 0; j < 1000; j++) unit(c->centres + (size_t)j * D, D);
}

// One document vector: random (isotropic), or 0.6·mean + 0.6·centre_j + 0.5·noise with the
// noise's per-dimension spread decaying as (1+i)^-1/2 (in a fixed random order of dimensions).
static void corpus_doc(const corpus *c, float *x) {
    int D = c->D;
    if (!c->clustered) { unit(x, D); return; }
    const float *ce = c->centres + (size_t)(uni() * 1000) * D;
    float nz[4096];
    double ss = 0;
    for (int i = 0; i < D; i++) { nz[i] = gauss() * c->spread[(i * 131) % D]; ss += (double)nz[i] * nz[i]; }
    for (int i = 0; i < D; i++) x[i] = 0.6f * c->mean[i] + 0.6f * ce[i] + 0.5f * (float)(nz[i] / sqrt(ss));
    normalize(x, D);
}

typedef struct mats {
    fr_vecs *v[4];  // f32, int8, int8+rescore, int8 of centred rows
} mats;

// N documents into the matrices wanted (want[i]); keep: the rows the near queries start from.
static void build(const corpus *c, size_t N, size_t Q, const int *want, mats *m, float *keep, float *mu) {
    fr_error err;
    int D = c->D;
    static const fr_vec_type ty[4] = {FR_VEC_F32, FR_VEC_I8, FR_VEC_I8_RESCORE, FR_VEC_I8};
    for (int i = 0; i < 4; i++) {
        m->v[i] = NULL;
        if (want[i]) fr_vecs_new(D, ty[i], &m->v[i], &err);
    }
    float *chunk = malloc(4096 * (size_t)D * sizeof *chunk), *all = want[3] ? malloc(N * (size_t)D * sizeof *all) : NULL;
    double *sum = calloc((size_t)D, sizeof *sum);
    for (size_t s = 0; s < N; s += 4096) {
        size_t n = N - s < 4096 ? N - s : 4096;
        for (size_t i = 0; i < n; i++) corpus_doc(c, chunk + i * D);
        for (size_t j = 0; j < Q / 2; j++) {
            size_t r = j * (N / (Q / 2 + 1));
            if (r >= s && r < s + n) memcpy(keep + j * D, chunk + (r - s) * D, D * sizeof(float));
        }
        for (int i = 0; i < 3; i++)
            if (m->v[i]) fr_vecs_add(m->v[i], chunk, n, &err);
        if (all) memcpy(all + s * D, chunk, n * D * sizeof(float));
        for (size_t i = 0; i < n * D; i++) sum[i % D] += chunk[i];
    }
    for (int d = 0; d < D; d++) mu[d] = (float)(sum[d] / (double)N);
    if (all) {
        for (size_t i = 0; i < N * D; i++) all[i] -= mu[i % D];
        fr_vecs_add(m->v[3], all, N, &err);
    }
    free(all);
    free(sum);
    free(chunk);
}

// Queries: half near a kept document (+0.3 noise), half random (random corpus) or near a topic
// centre (clustered: centre + 0.5 noise, renormalised).
static void queries(const corpus *c, size_t Q, const float *keep, float *q) {
    int D = c->D;
    for (size_t j = 0; j < Q; j++) {
        unit(q + j * D, D);
        if (j < Q / 2) {
            for (int d = 0; d < D; d++) q[j * D + d] = keep[j * D + d] + 0.3f * q[j * D + d];
        } else if (c->clustered) {
            const float *ce = c->centres + (size_t)(uni() * 1000) * D;
            for (int d = 0; d < D; d++) q[j * D + d] = 0.6f * c->mean[d] + 0.6f * ce[d] + 0.5f * q[j * D + d];
            normalize(q + j * D, D);
        }
    }
}

static size_t overlap10(const fr_vec_hit *a, const fr_vec_hit *b) {
    size_t o = 0;
    for (size_t x = 0; x < 10; x++)
        for (size_t y = 0; y < 10; y++) o += a[x].id == b[y].id;
    return o;
}

static void overlap_report(const char *name, const mats *m, const float *q, size_t Q, int D) {
    fr_error err;
    fr_vec_hit hf[10], hi[10];
    size_t ov[4][2] = {{0}};  // matrix, near/other
    for (size_t j = 0; j < Q; j++) {
        size_t a, b;
        fr_vecs_search(m->v[0], q + j * D, 10, 2, hf, &a, &err);
        for (int i = 1; i < 4; i++) {
            if (!m->v[i]) continue;
            fr_vecs_search(m->v[i], q + j * D, 10, 2, hi, &b, &err);
            ov[i][j >= Q / 2] += overlap10(hf, hi);
        }
    }
    static const char *what[] = {"", "int8", "int8+rescore", "int8, rows centred on the corpus mean"};
    for (int i = 1; i < 4; i++)
        if (m->v[i])
            printf("| %s | %s | %.4f | %.4f | %.4f |\n", name, what[i], (ov[i][0] + ov[i][1]) / (10.0 * Q),
                   ov[i][0] / (10.0 * (Q / 2)), ov[i][1] / (10.0 * (Q - Q / 2)));
}

int main(int argc, char **argv) {
    size_t N = argc > 1 ? strtoull(argv[1], 0, 10) : 1000000;
    int D = argc > 2 ? atoi(argv[2]) : 384;
    size_t Q = argc > 3 ? strtoull(argv[3], 0, 10) : 50, K = argc > 4 ? strtoull(argv[4], 0, 10) : 1000;
    const char *types = argc > 5 ? argv[5] : "f32,int8,int8+rescore";
    int do_overlap = argc > 6 ? atoi(argv[6]) : 1;
    if (D < 1 || D > 4096 || Q < 2) return 2;
    static const char *names[] = {"f32", "int8", "int8+rescore"};
    int timed[3] = {0}, want[4] = {0};
    for (int i = 0; i < 3; i++) {  // membership in the comma list
        char list[256];
        snprintf(list, sizeof list, ",%s,", types);
        char item[32];
        snprintf(item, sizeof item, ",%s,", names[i]);
        want[i] = timed[i] = strstr(list, item) != NULL;
    }
    if (do_overlap) want[0] = want[1] = want[2] = 1;
    corpus c;
    corpus_init(&c, 0, D);
    float *q = malloc(Q * (size_t)D * sizeof *q), *keep = malloc(Q * (size_t)D * sizeof *keep);
    float *mu = malloc((size_t)D * sizeof *mu);
    mats m;
    build(&c, N, Q, want, &m, keep, mu);
    queries(&c, Q, keep, q);
    fr_error err;
    fr_vec_hit *h = malloc(K * sizeof *h);
    double *lat = malloc(Q * sizeof *lat);
    printf("| vectors | type | threads | p50 ms | p99 ms |\n|---|---|---|---|---|\n");
    for (int ty = 0; ty < 3; ty++)
        for (int t = 1; t <= 2 && timed[ty]; t++) {
            size_t n;
            fr_vecs_search(m.v[ty], q, K, t, h, &n, &err);  // warm-up
            for (size_t j = 0; j < Q; j++) {
                double t0 = now();
                fr_vecs_search(m.v[ty], q + j * D, K, t, h, &n, &err);
                lat[j] = (now() - t0) * 1e3;
            }
            qsort(lat, Q, sizeof *lat, cmpd);
            printf("| %zu x %d | %s | %d | %.1f | %.1f |\n", N, D, names[ty], t, lat[Q / 2],
                   lat[(size_t)(0.99 * (double)(Q - 1))]);
            fflush(stdout);
        }
    if (!do_overlap) return 0;
    printf("\n| corpus | matrix | top-10 overlap with f32 | near-document queries | other queries |\n"
           "|---|---|---|---|---|\n");
    overlap_report("random", &m, q, Q, D);
    for (int i = 0; i < 4; i++) fr_vecs_free(m.v[i]);
    corpus_init(&c, 1, D);
    int want_all[4] = {1, 1, 0, 1};
    build(&c, N, Q, want_all, &m, keep, mu);
    queries(&c, Q, keep, q);
    overlap_report("clustered", &m, q, Q, D);
    return 0;
}
