/* bench_vectors.c N DIM QUERIES K [TYPES=f32,int8,int8+rescore] [OVERLAP=1] [APPROX=]
 * — exact top-K vector
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
 * With APPROX = a comma list of oversampling factors (e.g. 4,10,30): a prototype of an
 * approximate first pass, to size whether finerank needs one (it is not in the library):
 * one sign bit per dimension per row (D/8 bytes, 48 MB at 1M x 384), Hamming distance to the
 * query's sign bits on 2 threads, the R = factor x K nearest rows rescored with int8 rows
 * (per-row scale max|x|/127, float query), top K. Reports p50 / p99 ms and recall@10 and
 * recall@K against F32 exact search (exact int8's recall beside it), on both corpora.
 */
#include <pthread.h>
#ifdef __AVX2__
#include <immintrin.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>

#include "finerank.h"
#include "../bench.h"
#include "vec_corpus.h"

typedef struct mats {
    fr_vecs *v[4];  // f32, int8, int8+rescore, int8 of centred rows
} mats;

// N documents into the matrices wanted (want[i]); keep: the rows the near queries start from.
// ---- approximate first pass (APPROX) ----
typedef struct approx {
    size_t N, W;       // rows, 64-bit words per code
    int D;
    uint64_t *codes;   // (N, W) sign bits
    int8_t *q8;        // (N, D) rows, symmetric int8
    float *scale;      // (N)
} approx;

static void approx_add(approx *a, size_t at, const float *x, size_t n) {
    int D = a->D;
    for (size_t i = 0; i < n; i++) {
        const float *r = x + i * D;
        uint64_t *c = a->codes + (at + i) * a->W;
        memset(c, 0, a->W * sizeof *c);
        float mx = 0;
        for (int d = 0; d < D; d++) {
            if (r[d] > 0) c[d / 64] |= 1ull << (d % 64);
            mx = fabsf(r[d]) > mx ? fabsf(r[d]) : mx;
        }
        float sc = mx > 0 ? mx / 127 : 1;
        a->scale[at + i] = sc;
        for (int d = 0; d < D; d++) a->q8[(at + i) * D + d] = (int8_t)lrintf(r[d] / sc);
    }
}

typedef struct ham_part {
    const approx *a;
    const uint64_t *qc;
    size_t lo, hi;
    uint16_t *dist;
    size_t hist[4097];
} ham_part;

static void *ham_scan(void *arg) {
    ham_part *p = arg;
    size_t W = p->a->W;
    static __thread size_t h4[4][4097];  // four histograms: no store-forwarding chain on a bin
    memset(h4, 0, sizeof h4);
    const uint64_t *qc = p->qc;
    for (size_t i = p->lo; i < p->hi; i++) {
        const uint64_t *c = p->a->codes + i * W;
        unsigned h = 0;
        if (W == 6)  // 384 dims: unrolled
            h = (unsigned)(__builtin_popcountll(c[0] ^ qc[0]) + __builtin_popcountll(c[1] ^ qc[1]) +
                           __builtin_popcountll(c[2] ^ qc[2]) + __builtin_popcountll(c[3] ^ qc[3]) +
                           __builtin_popcountll(c[4] ^ qc[4]) + __builtin_popcountll(c[5] ^ qc[5]));
        else
            for (size_t w = 0; w < W; w++) h += (unsigned)__builtin_popcountll(c[w] ^ qc[w]);
        p->dist[i] = (uint16_t)h;
        h4[i & 3][h]++;
    }
    for (size_t b = 0; b <= (size_t)p->a->D; b++) p->hist[b] = h4[0][b] + h4[1][b] + h4[2][b] + h4[3][b];
    return NULL;
}

static float dot_q8(const float *q, const int8_t *r, int D) {
    int d = 0;
    float s = 0;
#ifdef __AVX2__
    __m256 acc = _mm256_setzero_ps();
    for (; d + 8 <= D; d += 8) {
        __m256 x = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(r + d))));
        acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + d), x, acc);
    }
    float t[8];
    _mm256_storeu_ps(t, acc);
    for (int i = 0; i < 8; i++) s += t[i];
#endif
    for (; d < D; d++) s += q[d] * r[d];
    return s;
}

static int cmp_hit(const void *x, const void *y) {
    const fr_vec_hit *a = x, *b = y;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

// Top K of q: Hamming first pass (2 threads), R rows rescored. OUT: out (K), returns count.
static size_t approx_search(const approx *a, const float *q, size_t K, size_t R, uint16_t *dist,
                            fr_vec_hit *cand, fr_vec_hit *out) {
    uint64_t qc[64] = {0};
    for (int d = 0; d < a->D; d++)
        if (q[d] > 0) qc[d / 64] |= 1ull << (d % 64);
    ham_part p[2];
    pthread_t t;
    for (int i = 0; i < 2; i++) p[i] = (ham_part){a, qc, a->N * i / 2, a->N * (i + 1) / 2, dist, {0}};  // hist set by ham_scan
    pthread_create(&t, NULL, ham_scan, &p[1]);
    ham_scan(&p[0]);
    pthread_join(t, NULL);
    size_t thr = 0, below = 0;  // rows with distance < thr are all taken; ties at thr fill up
    while (thr <= (size_t)a->D && below + p[0].hist[thr] + p[1].hist[thr] <= R) {
        below += p[0].hist[thr] + p[1].hist[thr];
        thr++;
    }
    size_t n = 0, ties = R - below;
    for (size_t i = 0; i < a->N && n < R; i++) {
        if (dist[i] > thr) continue;
        if (dist[i] == thr) { if (!ties) continue; ties--; }
        cand[n++] = (fr_vec_hit){(uint32_t)i, dot_q8(q, a->q8 + i * a->D, a->D) * a->scale[i]};
    }
    qsort(cand, n, sizeof *cand, cmp_hit);
    if (n > K) n = K;
    memcpy(out, cand, n * sizeof *out);
    return n;
}

static size_t common(const fr_vec_hit *a, size_t na, const fr_vec_hit *b, size_t nb, size_t k,
                     uint8_t *mark, size_t N) {
    size_t o = 0;
    (void)N;
    for (size_t i = 0; i < na && i < k; i++) mark[a[i].id] = 1;
    for (size_t i = 0; i < nb && i < k; i++) o += mark[b[i].id];
    for (size_t i = 0; i < na && i < k; i++) mark[a[i].id] = 0;
    return o;
}

static void approx_report(const char *name, const mats *m, const approx *a, const float *q, size_t Q,
                          size_t K, const char *factors) {
    fr_error err;
    int D = a->D;
    size_t nt, ni, na;
    fr_vec_hit *ht = malloc(K * sizeof *ht), *hi = malloc(K * sizeof *hi), *ha = malloc(K * sizeof *ha);
    uint16_t *dist = malloc(a->N * sizeof *dist);
    uint8_t *mark = calloc(a->N, 1);
    double *lat = malloc(Q * sizeof *lat);
    // exact int8 against F32, for reference
    double r10 = 0, rk = 0;
    for (size_t j = 0; j < Q; j++) {
        fr_vecs_search(m->v[0], q + j * D, K, 2, ht, &nt, &err);
        fr_vecs_search(m->v[1], q + j * D, K, 2, hi, &ni, &err);
        r10 += common(ht, nt, hi, ni, 10, mark, a->N) / 10.0;
        rk += common(ht, nt, hi, ni, K, mark, a->N) / (double)K;
    }
    printf("| %s | exact int8 | | | %.4f | %.4f |\n", name, r10 / Q, rk / Q);
    char list[256];
    snprintf(list, sizeof list, "%s", factors);
    for (char *f = strtok(list, ","); f; f = strtok(NULL, ",")) {
        size_t R = (size_t)atoi(f) * K;
        if (R > a->N) R = a->N;
        fr_vec_hit *cand = malloc(R * sizeof *cand);
        r10 = rk = 0;
        approx_search(a, q, K, R, dist, cand, ha);  // warm-up
        for (size_t j = 0; j < Q; j++) {
            double t0 = now();
            na = approx_search(a, q + j * D, K, R, dist, cand, ha);
            lat[j] = (now() - t0) * 1e3;
            fr_vecs_search(m->v[0], q + j * D, K, 2, ht, &nt, &err);
            r10 += common(ht, nt, ha, na, 10, mark, a->N) / 10.0;
            rk += common(ht, nt, ha, na, K, mark, a->N) / (double)K;
        }
        qsort(lat, Q, sizeof *lat, cmpd);
        printf("| %s | 1-bit, %s x K rescored | %.1f | %.1f | %.4f | %.4f |\n", name, f, lat[Q / 2],
               lat[(size_t)(0.99 * (double)(Q - 1))], r10 / Q, rk / Q);
        fflush(stdout);
        free(cand);
    }
    free(ht); free(hi); free(ha); free(dist); free(mark); free(lat);
}

static void build(const corpus *c, size_t N, size_t Q, const int *want, mats *m, float *keep, float *mu,
                  approx *ap) {
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
        if (ap) approx_add(ap, s, chunk, n);
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
    const char *factors = argc > 7 && *argv[7] ? argv[7] : NULL;
    approx ap = {N, ((size_t)D + 63) / 64, D, NULL, NULL, NULL}, *app = NULL;
    if (factors) {
        ap.codes = malloc(N * ap.W * sizeof *ap.codes);
        ap.q8 = malloc(N * (size_t)D);
        ap.scale = malloc(N * sizeof *ap.scale);
        app = &ap;
    }
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
    if (factors) want[0] = want[1] = 1;
    corpus c;
    corpus_init(&c, 0, D);
    float *q = malloc(Q * (size_t)D * sizeof *q), *keep = malloc(Q * (size_t)D * sizeof *keep);
    float *mu = malloc((size_t)D * sizeof *mu);
    mats m;
    build(&c, N, Q, want, &m, keep, mu, app);
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
    if (factors) {
        printf("\n| corpus | search | p50 ms | p99 ms | recall@10 vs f32 | recall@%zu vs f32 |\n"
               "|---|---|---|---|---|---|\n", K);
        approx_report("random", &m, app, q, Q, K, factors);
    }
    if (!do_overlap && !factors) return 0;
    if (do_overlap) {
        printf("\n| corpus | matrix | top-10 overlap with f32 | near-document queries | other queries |\n"
               "|---|---|---|---|---|\n");
        overlap_report("random", &m, q, Q, D);
    }
    for (int i = 0; i < 4; i++) fr_vecs_free(m.v[i]);
    corpus_init(&c, 1, D);
    int want_all[4] = {1, 1, !!do_overlap, !!do_overlap};
    build(&c, N, Q, want_all, &m, keep, mu, app);
    queries(&c, Q, keep, q);
    if (do_overlap) overlap_report("clustered", &m, q, Q, D);
    if (factors) approx_report("clustered", &m, app, q, Q, K, factors);
    return 0;
}
