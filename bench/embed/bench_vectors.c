/* bench_vectors.c N DIM QUERIES K [TYPES=f32,int8,int8+rescore] [OVERLAP=1] [APPROX=]
 * — exact top-K vector
 * search latency over N random unit vectors of DIM floats, on 1 and 2 threads: p50 / p99 per
 * query in ms (one markdown row per type and thread count). Queries: half near a stored vector
 * (0.3 noise), half random. TYPES picks the matrices (a comma list; also int8-refine); bench/embed/run.sh links
 * this file against main's library and the branch's and runs both in one go.
 * With OVERLAP=1, top-10 and top-100 overlap with F32 of int8, int8 + rescoring, int8-refine
 * and int8 without the quantisation transform (the version-1 scheme), on two corpora:
 *  - random: the timing corpus (isotropic: the worst case for int8, top-10 gaps ~1e-3);
 *  - clustered: anisotropic vectors shaped like sentence embeddings (a shared mean direction
 *    with a few large "rogue" dimensions, 1000 topic clusters, a power-law per-dimension
 *    spread); queries near a document and near a topic centre;
 * and, with REALEMB=DIR, real embeddings (DIR/docs.f32, DIR/queries.f32: REALDIM floats per
 * row, default 512). OVERLAP=2 runs the quantiser study instead (study(): variants outside the
 * library, QVARS picks them; REALONLY=1 skips the synthetic corpora).
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
    fr_vecs *v[5];  // f32, int8, int8+rescore, int8 without the transform, int8-refine
} mats;

// want: (5) which of mats' matrices to make.
static void mats_new(mats *m, const int *want, int D) {
    static const fr_vec_type ty[5] = {FR_VEC_F32, FR_VEC_I8, FR_VEC_I8_RESCORE, FR_VEC_I8, 3 /* FR_VEC_I8_REFINE */};
    fr_error err;
    for (int i = 0; i < 5; i++) {  // main's library has no type 3: its v[4] stays NULL
        m->v[i] = NULL;
        if (want[i]) fr_vecs_new(D, ty[i], &m->v[i], &err);
    }
}

// Rows x (n, D) into every matrix; the first call (first = 1) gives the library's int8 its
// transform sample (it fits one to the first rows added, 4096 here as an index segment gives
// it), and the matrix "without" its first 8 rows alone: too few to fit, so it keeps version 1's
// plain per-row quantisation. (main's library fits nothing: its two int8 rows are the same.)
static void mats_add(mats *m, const float *x, size_t n, int D, int first) {
    fr_error err;
    for (int i = 0; i < 5; i++)
        if (m->v[i] && i != 3) fr_vecs_add(m->v[i], x, n, &err);
    if (!m->v[3]) return;
    size_t head = first && n > 8 ? 8 : 0;
    if (head) fr_vecs_add(m->v[3], x, head, &err);
    fr_vecs_add(m->v[3], x + head * D, n - head, &err);
}

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
        r10 += common(ht, nt, hi, ni, 10, mark) / 10.0;
        rk += common(ht, nt, hi, ni, K, mark) / (double)K;
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
            r10 += common(ht, nt, ha, na, 10, mark) / 10.0;
            rk += common(ht, nt, ha, na, K, mark) / (double)K;
        }
        qsort(lat, Q, sizeof *lat, cmpd);
        printf("| %s | 1-bit, %s x K rescored | %.1f | %.1f | %.4f | %.4f |\n", name, f, lat[Q / 2],
               lat[(size_t)(0.99 * (double)(Q - 1))], r10 / Q, rk / Q);
        fflush(stdout);
        free(cand);
    }
    free(ht); free(hi); free(ha); free(dist); free(mark); free(lat);
}

static void build(const corpus *c, size_t N, size_t Q, const int *want, mats *m, float *keep,
                  approx *ap, float **all_out) {
    int D = c->D;
    mats_new(m, want, D);
    float *chunk = malloc(4096 * (size_t)D * sizeof *chunk), *all = all_out ? malloc(N * (size_t)D * sizeof *all) : NULL;
    for (size_t s = 0; s < N; s += 4096) {
        size_t n = N - s < 4096 ? N - s : 4096;
        corpus_chunk(c, N, Q, s, n, chunk, keep);
        mats_add(m, chunk, n, D, s == 0);
        if (ap) approx_add(ap, s, chunk, n);
        if (all) memcpy(all + s * D, chunk, n * D * sizeof(float));
    }
    if (all_out) *all_out = all;
    free(chunk);
}

// Top-10 and top-100 overlap of each matrix with F32 (near-document queries are the first half).
static void overlap_report(const char *name, const mats *m, const float *q, size_t Q, int D, size_t N) {
    fr_error err;
    fr_vec_hit hf[100], hi[100];
    size_t ov[5][2] = {{0}}, ov100[5] = {0};  // matrix, near/other
    uint8_t *mark = calloc(N, 1);
    for (size_t j = 0; j < Q; j++) {
        size_t a, b;
        fr_vecs_search(m->v[0], q + j * D, 100, 2, hf, &a, &err);
        for (int i = 1; i < 5; i++) {
            if (!m->v[i]) continue;
            fr_vecs_search(m->v[i], q + j * D, 100, 2, hi, &b, &err);
            ov[i][j >= Q / 2] += common(hf, a, hi, b, 10, mark);
            ov100[i] += common(hf, a, hi, b, 100, mark);
        }
    }
    static const char *what[] = {"", "int8", "int8+rescore", "int8 without the transform (version 1)",
                                 "int8-refine (int8 + 2 bits for the candidates)"};
    for (int i = 1; i < 5; i++)
        if (m->v[i])
            printf("| %s | %zu | %s | %.4f | %.4f | %.4f | %.4f |\n", name, N, what[i], (ov[i][0] + ov[i][1]) / (10.0 * Q),
                   ov[i][0] / (10.0 * (Q / 2)), ov[i][1] / (10.0 * (Q - Q / 2)), ov100[i] / (100.0 * Q));
    free(mark);
}


// ---- quantiser study (OVERLAP=2; a prototype, outside the library) ----
// Each variant quantises every row as x ≈ mu + s_row · (w ⊙ c), c int8 in [-127, 127],
// s_row = clip(row) / 127, and is searched exactly over its dequantised rows (a float query:
// the library's int16 query adds ~1e-5 relative error, far below int8's). Overlap @10 and @100
// with F32 exact search.
typedef struct qvar { const char *name; int centre; double wpow; double clip; int rbits; int best; } qvar;

static void study(const char *name, const float *all, size_t N, int D, const fr_vecs *ref, const float *q,
                  size_t Q) {
    static const qvar vars[] = {
        {"per-row int8 (the library's)", 0, 0, 0, 0, 0},
        {"centred", 1, 0, 0, 0, 0},
        {"centred, w = std", 1, 1, 0, 0, 0},
        {"centred, w = std^0.5", 1, 0.5, 0, 0, 0},
        {"centred, w = std^0.75", 1, 0.75, 0, 0, 0},
        {"centred, w = std^0.25", 1, 0.25, 0, 0, 0},
        {"centred, w = std^0.5, best scale", 1, 0.5, 0, 0, 1},
        {"centred, w = std^0.5, +1 refinement bit", 1, 0.5, 0, 1, 0},
        {"centred, w = std^0.5, +2 refinement bits", 1, 0.5, 0, 2, 0},
        {"per-row int8, +1 refinement bit", 0, 0, 0, 1, 0},
    };
    fr_error err;
    double *sum = calloc((size_t)D, sizeof *sum), *sq = calloc((size_t)D, sizeof *sq);
    for (size_t i = 0; i < N * D; i++) sum[i % D] += all[i];
    float *mu = malloc((size_t)D * sizeof *mu), *sd = malloc((size_t)D * sizeof *sd);
    for (int d = 0; d < D; d++) mu[d] = (float)(sum[d] / (double)N);
    for (size_t i = 0; i < N * D; i++) { double t = all[i] - mu[i % D]; sq[i % D] += t * t; }
    for (int d = 0; d < D; d++) sd[d] = (float)sqrt(sq[d] / (double)N);
    float *chunk = malloc(4096 * (size_t)D * sizeof *chunk), y[4096], w[4096];
    size_t K = 100, nr, nv;
    fr_vec_hit *hr = malloc(Q * K * sizeof *hr), *hv = malloc(K * sizeof *hv);
    size_t *nrs = malloc(Q * sizeof *nrs);
    uint8_t *mark = calloc(N, 1);
    for (size_t j = 0; j < Q; j++) { fr_vecs_search(ref, q + j * D, K, 2, hr + j * K, &nr, &err); nrs[j] = nr; }
    for (size_t vi = 0; vi < sizeof vars / sizeof *vars; vi++) {
        const qvar *V = &vars[vi];
        const char *pick = getenv("QVARS");  // e.g. ",0,3,8," (default: all)
        char tag[16];
        snprintf(tag, sizeof tag, ",%zu,", vi);
        if (pick && !strstr(pick, tag)) continue;
        for (int d = 0; d < D; d++) w[d] = V->wpow ? (float)pow(sd[d] > 1e-12f ? sd[d] : 1e-12f, V->wpow) : 1.0f;
        fr_vecs *m = NULL;
        fr_vecs_new(D, FR_VEC_F32, &m, &err);
        for (size_t s = 0; s < N; s += 4096) {
            size_t n = N - s < 4096 ? N - s : 4096;
            for (size_t i = 0; i < n; i++) {
                const float *x = all + (s + i) * D;
                float *o = chunk + i * D;
                double mx = 0, ss = 0;
                for (int d = 0; d < D; d++) {
                    y[d] = (x[d] - (V->centre ? mu[d] : 0)) / w[d];
                    mx = fabs(y[d]) > mx ? fabs(y[d]) : mx;
                    ss += (double)y[d] * y[d];
                }
                if (V->clip && V->clip * sqrt(ss / D) < mx) mx = V->clip * sqrt(ss / D);
                float sc = mx > 0 ? (float)(mx / 127) : 1;
                if (V->best) {  // the scale in [0.7, 1] x max/127 with the least squared error
                    double be = INFINITY;
                    float bs = sc;
                    for (int t = 0; t <= 30; t++) {
                        float s2 = sc * (0.7f + 0.01f * t);
                        double e = 0;
                        for (int d = 0; d < D; d++) {
                            float c = nearbyintf(y[d] / s2);
                            c = c > 127 ? 127 : c < -127 ? -127 : c;
                            e += (double)(y[d] - s2 * c) * (y[d] - s2 * c);
                        }
                        if (e < be) { be = e; bs = s2; }
                    }
                    sc = bs;
                }
                for (int d = 0; d < D; d++) {
                    float c = nearbyintf(y[d] / sc);
                    c = c > 127 ? 127 : c < -127 ? -127 : c;
                    if (V->rbits) {  // residual in [-1/2, 1/2] quantised to 2^rbits levels
                        float r = y[d] / sc - c, L = (float)(1 << V->rbits);
                        float k = floorf((r + 0.5f) * L);
                        k = k > L - 1 ? L - 1 : k < 0 ? 0 : k;
                        c += (k + 0.5f) / L - 0.5f;
                    }
                    o[d] = (V->centre ? mu[d] : 0) + sc * w[d] * c;
                }
            }
            fr_vecs_add(m, chunk, n, &err);
        }
        double o10 = 0, o100 = 0;
        for (size_t j = 0; j < Q; j++) {
            fr_vecs_search(m, q + j * D, K, 2, hv, &nv, &err);
            o10 += common(hr + j * K, nrs[j], hv, nv, 10, mark) / 10.0;
            o100 += common(hr + j * K, nrs[j], hv, nv, 100, mark) / 100.0;
        }
        printf("| %s | %zu | %s | %.4f | %.4f |\n", name, N, V->name, o10 / Q, o100 / Q);
        fflush(stdout);
        fr_vecs_free(m);
    }
    free(sum); free(sq); free(mu); free(sd); free(chunk); free(hr); free(hv); free(nrs); free(mark);
}

// ---- real embeddings (REALEMB=DIR: docs.f32 and queries.f32, REALDIM floats per row) ----
static float *read_rows(const char *dir, const char *name, int D, size_t *n) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    *n = (size_t)len / ((size_t)D * sizeof(float));
    float *x = malloc(*n * (size_t)D * sizeof *x + 1);
    if (x && fread(x, sizeof(float) * (size_t)D, *n, f) != *n) { free(x); x = NULL; }
    fclose(f);
    return x;
}

// The overlap report (study = 0) or the quantiser study (1) on the real embeddings, if any.
static void real_report(int do_study) {
    const char *dir = getenv("REALEMB");
    int D = getenv("REALDIM") ? atoi(getenv("REALDIM")) : 512;
    size_t N = 0, Q = 0;
    if (!dir || D < 1) return;
    float *x = read_rows(dir, "docs.f32", D, &N), *q = read_rows(dir, "queries.f32", D, &Q);
    if (!x || !q || N < 100 || Q < 2) {
        fprintf(stderr, "REALEMB=%s: no docs.f32 / queries.f32 of %d-float rows\n", dir, D);
        return;
    }
    char name[64];
    snprintf(name, sizeof name, "real (%d-d)", D);
    if (do_study) {
        mats m;
        int w1[5] = {1, 0, 0, 0, 0};
        mats_new(&m, w1, D);
        for (size_t s = 0; s < N; s += 4096) mats_add(&m, x + s * D, N - s < 4096 ? N - s : 4096, D, s == 0);
        study(name, x, N, D, m.v[0], q, Q);
        fr_vecs_free(m.v[0]);
    } else {
        mats m;
        int w5[5] = {1, 1, 1, 1, 1};
        mats_new(&m, w5, D);
        for (size_t s = 0; s < N; s += 4096) mats_add(&m, x + s * D, N - s < 4096 ? N - s : 4096, D, s == 0);
        overlap_report(name, &m, q, Q, D, N);
        for (int i = 0; i < 5; i++) fr_vecs_free(m.v[i]);
    }
    free(x);
    free(q);
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
    if (do_overlap == 2) {  // the quantiser study only
        printf("| corpus | rows | quantiser | overlap@10 | overlap@100 |\n|---|---|---|---|---|\n");
        float *q = malloc(Q * (size_t)D * sizeof *q), *keep = malloc(Q * (size_t)D * sizeof *keep);
        float *all = NULL;
        for (int cl = 0; cl < 2 && !getenv("REALONLY"); cl++) {
            corpus c;
            corpus_init(&c, cl, D);
            mats m;
            int w1[5] = {1, 0, 0, 0, 0};
            build(&c, N, Q, w1, &m, keep, NULL, &all);
            queries(&c, Q, keep, q);
            study(cl ? "clustered" : "random", all, N, D, m.v[0], q, Q);
            fr_vecs_free(m.v[0]);
            free(all);
        }
        real_report(1);
        return 0;
    }
    if (do_overlap == 1 && getenv("REALONLY")) {  // the real embeddings' overlap only
        printf("| corpus | rows | matrix | top-10 overlap with f32 | first half of the queries | second half "
               "| top-100 overlap |\n|---|---|---|---|---|---|---|\n");
        real_report(0);
        return 0;
    }
    static const char *names[] = {"f32", "int8", "int8+rescore", "-", "int8-refine"};
    int timed[5] = {0}, want[5] = {0};
    for (int i = 0; i < 5; i++) {  // membership in the comma list
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
    mats m;
    if (do_overlap) want[3] = want[4] = 1;
    build(&c, N, Q, want, &m, keep, app, NULL);
    queries(&c, Q, keep, q);
    fr_error err;
    fr_vec_hit *h = malloc(K * sizeof *h);
    double *lat = malloc(Q * sizeof *lat);
    printf("| vectors | type | threads | p50 ms | p99 ms |\n|---|---|---|---|---|\n");
    for (int ty = 0; ty < 5; ty++)
        for (int t = 1; t <= 2 && timed[ty] && m.v[ty]; t++) {
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
        printf("\n| corpus | rows | matrix | top-10 overlap with f32 | near-document queries | other queries "
               "| top-100 overlap |\n|---|---|---|---|---|---|---|\n");
        overlap_report("random", &m, q, Q, D, N);
    }
    for (int i = 0; i < 5; i++) fr_vecs_free(m.v[i]);
    corpus_init(&c, 1, D);
    int want_all[5] = {1, 1, !!do_overlap, !!do_overlap, !!do_overlap};
    build(&c, N, Q, want_all, &m, keep, app, NULL);
    queries(&c, Q, keep, q);
    if (do_overlap) overlap_report("clustered", &m, q, Q, D, N);
    if (factors) approx_report("clustered", &m, app, q, Q, K, factors);
    for (int i = 0; i < 5; i++) fr_vecs_free(m.v[i]);
    if (do_overlap) real_report(0);
    return 0;
}
