/* vec_corpus.h — the synthetic embedding corpora of bench_vectors.c and bench_ivf.c
 * (header-only, as bench.h, so each benchmark still builds with one `cc` line):
 *  - random: isotropic unit vectors (the worst case for int8 and for any clustering index);
 *  - clustered: anisotropic vectors shaped like sentence embeddings (a shared mean direction
 *    with a few large "rogue" dimensions, 1000 topic clusters, a power-law per-dimension
 *    spread).
 * and their queries (half near a stored document, half random or near a topic centre), and
 * the overlap of two hit lists (common()).
 * Deterministic: one fixed-seed xorshift generator.
 */
#ifndef FR_BENCH_VEC_CORPUS_H
#define FR_BENCH_VEC_CORPUS_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

// Rows [s, s + n) of an N-row corpus into chunk (n x D), drawn in order; among them the rows
// j * (N / (Q/2 + 1)), j < Q/2, are also copied to keep + j * D: the documents the first half
// of the queries are drawn near (queries()).
static void corpus_chunk(const corpus *c, size_t N, size_t Q, size_t s, size_t n, float *chunk, float *keep) {
    int D = c->D;
    for (size_t i = 0; i < n; i++) corpus_doc(c, chunk + i * D);
    for (size_t j = 0; j < Q / 2; j++) {
        size_t r = j * (N / (Q / 2 + 1));
        if (r >= s && r < s + n) memcpy(keep + j * D, chunk + (r - s) * D, (size_t)D * sizeof(float));
    }
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

// |a ∩ b| over the first k of each (ids < the corpus size; mark: that many zeroed bytes, left
// zeroed). Needs finerank.h's fr_vec_hit.
static size_t common(const fr_vec_hit *a, size_t na, const fr_vec_hit *b, size_t nb, size_t k,
                     unsigned char *mark) {
    size_t c = 0;
    na = na < k ? na : k;
    nb = nb < k ? nb : k;
    for (size_t i = 0; i < na; i++) mark[a[i].id] = 1;
    for (size_t i = 0; i < nb; i++) c += mark[b[i].id];
    for (size_t i = 0; i < na; i++) mark[a[i].id] = 0;
    return c;
}

#endif
