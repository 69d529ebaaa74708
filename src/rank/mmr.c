/* mmr.c — diversity for the pipeline's fourth stage: Maximal Marginal Relevance
 * (Carbonell & Goldstein, "The use of MMR, diversity-based reranking for reordering
 * documents and producing summaries", SIGIR 1998):
 *
 *   MMR = argmax_{D_i ∈ R \ S} [ λ·Sim1(D_i, Q) − (1 − λ)·max_{D_j ∈ S} Sim2(D_i, D_j) ]
 *
 * Sim1 is the pipeline's combined score divided by its maximum over the candidates (so both
 * terms live in [0, 1] and λ means the same thing for every query); Sim2 is the cosine of
 * TF-IDF vectors over analyzed terms — no embedding model needed — with raw tf and idf from
 * the index or from the candidates themselves (fr_mmr_vectors_build's df_fn). An optional per-group cap
 * (per `source` or a `meta` field) demotes a group's documents beyond the cap below every
 * document still within its group's cap.
 *
 * Data layout: sparse vectors as parallel arrays (term id ascending, float weight); term ids
 * are dense numbers assigned per call by a small open-addressing hash of the candidates'
 * terms. Workload: ~100 candidates of a few hundred terms, k ≈ 10 picks, so the greedy loop
 * keeps for each candidate its running max similarity and computes O(n·k) sparse cosines by
 * merging sorted term lists.
 */
#include <math.h>
#include <string.h>

#include "base/base.h"

// ---- cosine ----

static double norm2(const fr_mmr_item *a) {
    double s = 0;
    for (size_t i = 0; i < a->n; i++) s += (double)a->w[i] * a->w[i];
    return s;
}

static double dot(const fr_mmr_item *a, const fr_mmr_item *b) {
    double s = 0;
    size_t i = 0, j = 0;
    while (i < a->n && j < b->n) {
        if (a->terms[i] < b->terms[j]) i++;
        else if (a->terms[i] > b->terms[j]) j++;
        else s += (double)a->w[i++] * b->w[j++];
    }
    return s;
}

double fr_mmr_cosine(const fr_mmr_item *a, const fr_mmr_item *b) {
    double na = norm2(a), nb = norm2(b);
    if (na <= 0 || nb <= 0) return 0;
    return dot(a, b) / sqrt(na * nb);
}

// ---- greedy selection ----

static int group_eq(const char *a, const char *b) {
    return a && b && strcmp(a, b) == 0;
}

int fr_mmr_rank(const fr_mmr_item *items, size_t n, const fr_mmr_opts *opts, size_t *order,
                double *max_sim, double *mmr, fr_error *err) {
    if (!opts || !(opts->lambda >= 0 && opts->lambda <= 1))
        return fr__err(err, FR_EINVAL, "diversity lambda: must be in [0, 1]");
    if (opts->cap < 0) return fr__err(err, FR_EINVAL, "diversity cap: must be >= 0");
    if (n == 0) return 0;
    double *norm = NULL, *best = NULL;  // (n) sqrt(norm2); (n) running max cosine to S
    unsigned char *taken = NULL;        // (n)
    size_t *picked = NULL;              // (n) indices in rank order
    int rc = FR_ENOMEM;
    norm = malloc(n * sizeof *norm);
    best = calloc(n, sizeof *best);
    taken = calloc(n, 1);
    picked = malloc(n * sizeof *picked);
    if (!norm || !best || !taken || !picked) goto fail;

    double max_rel = 0;
    for (size_t i = 0; i < n; i++) {
        norm[i] = sqrt(norm2(&items[i]));
        if (items[i].rel > max_rel) max_rel = items[i].rel;
    }
    double lam = opts->lambda;
    size_t k = opts->k == 0 || opts->k > n ? n : opts->k;
    for (size_t r = 0; r < n; r++) {
        size_t arg = n;
        double arg_score = -INFINITY;
        int use_cap = opts->cap > 0;
        for (int pass = 0; pass < 2 && arg == n; pass++, use_cap = 0) {
            for (size_t i = 0; i < n; i++) {
                if (taken[i]) continue;
                if (use_cap && items[i].group) {
                    int cnt = 0;
                    for (size_t q = 0; q < r; q++)
                        cnt += group_eq(items[picked[q]].group, items[i].group);
                    if (cnt >= opts->cap) continue;
                }
                double rel = max_rel > 0 ? items[i].rel / max_rel : 0;
                // Past rank k: plain relevance order, no more cosines.
                double s = r < k ? lam * rel - (1 - lam) * best[i] : rel;
                if (s > arg_score) arg = i, arg_score = s;
            }
        }
        FR_ASSERT(arg < n);
        taken[arg] = 1;
        picked[r] = arg;
        if (order) order[r] = arg;
        if (max_sim) max_sim[arg] = r < k ? best[arg] : 0;
        if (mmr) mmr[arg] = arg_score;
        if (r + 1 < k && lam < 1) {
            for (size_t i = 0; i < n; i++) {
                if (taken[i] || norm[i] <= 0 || norm[arg] <= 0) continue;
                double c = dot(&items[i], &items[arg]) / (norm[i] * norm[arg]);
                if (c > best[i]) best[i] = c;
            }
        }
    }
    rc = 0;
fail:
    free(norm);
    free(best);
    free(taken);
    free(picked);
    return rc < 0 ? fr__err(err, rc, "mmr: out of memory") : 0;
}

// ---- TF-IDF vectors ----

struct fr_mmr_vectors {
    uint32_t *terms;  // (total) term ids, per document ascending
    float *w;         // (total) tf·idf weights
};

typedef struct vocab {
    const char **key;  // (cap) NULL = empty slot; points into the caller's strings
    uint64_t *hash;    // (cap) full hashes: most probes end without a strcmp
    uint32_t *id;      // (cap)
    double *idf;       // (n_ids)
    uint32_t *df;      // (n_ids) local document frequency
    uint32_t *last;    // (n_ids) 1 + the last document that contained the term
    uint32_t *slot;    // (n_ids) its entry in that document's vector
    size_t cap, n_ids;
} vocab;

static uint64_t fnv1a(const char *s) {
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

// Id of term s, added if new (cap is sized for every term up front, so it never fills).
static uint32_t vocab_id(vocab *v, const char *s) {
    uint64_t hv = fnv1a(s);
    size_t m = v->cap - 1, h = (size_t)hv & m;
    while (v->key[h]) {
        if (v->hash[h] == hv && !strcmp(v->key[h], s)) return v->id[h];
        h = (h + 1) & m;
    }
    v->key[h] = s;
    v->hash[h] = hv;
    v->id[h] = (uint32_t)v->n_ids;
    return (uint32_t)v->n_ids++;
}

typedef struct tw {
    uint32_t t;
    float w;
} tw;

static int cmp_tw(const void *a, const void *b) {
    uint32_t x = ((const tw *)a)->t, y = ((const tw *)b)->t;
    return x < y ? -1 : x > y;
}

int fr_mmr_vectors_build(char **const *terms, const size_t *n_terms, size_t n,
                         fr_df_fn df_fn, void *df_ctx, fr_mmr_item *items,
                         fr_mmr_vectors **out, fr_error *err) {
    *out = NULL;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += n_terms[i];
    vocab v = {0};
    fr_mmr_vectors *mv = calloc(1, sizeof *mv);
    tw *scratch = NULL;  // (max n_terms) one document's (term, tf) pairs
    size_t max_nt = 0;
    for (size_t i = 0; i < n; i++) if (n_terms[i] > max_nt) max_nt = n_terms[i];
    v.cap = 16;
    while (v.cap < 2 * total + 16) v.cap <<= 1;
    v.key = calloc(v.cap, sizeof *v.key);
    v.hash = malloc(v.cap * sizeof *v.hash);
    v.id = malloc(v.cap * sizeof *v.id);
    v.last = calloc(total + 1, sizeof *v.last);
    v.slot = malloc((total + 1) * sizeof *v.slot);
    v.idf = malloc((total + 1) * sizeof *v.idf);
    v.df = calloc(total + 1, sizeof *v.df);
    scratch = malloc((max_nt + 1) * sizeof *scratch);
    if (mv) {
        mv->terms = malloc((total + 1) * sizeof *mv->terms);
        mv->w = malloc((total + 1) * sizeof *mv->w);
    }
    if (!mv || !v.key || !v.hash || !v.id || !v.idf || !v.df || !v.last || !v.slot || !scratch ||
        !mv->terms || !mv->w)
        goto nomem;

    // Pass 1: ids, and each document's distinct terms with tf; local df.
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        size_t m = n_terms[i], u = 0;
        // tf by a per-term "last document" mark; then sort the distinct terms by id.
        for (size_t j = 0; j < m; j++) {
            uint32_t id = vocab_id(&v, terms[i][j]);
            if (v.last[id] == i + 1) {
                scratch[v.slot[id]].w += 1.0f;
            } else {
                v.last[id] = (uint32_t)(i + 1);
                v.slot[id] = (uint32_t)u;
                scratch[u++] = (tw){id, 1.0f};
            }
        }
        qsort(scratch, u, sizeof *scratch, cmp_tw);
        for (size_t j = 0; j < u; j++) {
            mv->terms[off + j] = scratch[j].t;
            mv->w[off + j] = scratch[j].w;  // tf for now
            v.df[scratch[j].t]++;
        }
        items[i].terms = mv->terms + off;
        items[i].w = mv->w + off;
        items[i].n = u;
        off += u;
    }
    // idf per term: from the index when given, else from these n documents.
    for (size_t h = 0; h < v.cap; h++) {
        if (!v.key[h]) continue;
        uint32_t id = v.id[h];
        double df = v.df[id], N = (double)n;
        if (df_fn) {
            uint64_t nd = 0;
            uint64_t d = df_fn(df_ctx, v.key[h], strlen(v.key[h]), &nd);
            if (nd > 0) {
                N = (double)nd;
                df = d > nd ? (double)nd : (double)d;
            }
        }
        v.idf[id] = log(1 + (N - df + 0.5) / (df + 0.5));  // Lucene BM25 idf
    }
    for (size_t j = 0; j < off; j++) mv->w[j] = (float)(mv->w[j] * v.idf[mv->terms[j]]);
    free(v.key);
    free(v.hash);
    free(v.id);
    free(v.idf);
    free(v.df);
    free(v.last);
    free(v.slot);
    free(scratch);
    *out = mv;
    return 0;
nomem:
    free(v.key);
    free(v.hash);
    free(v.last);
    free(v.slot);
    free(v.id);
    free(v.idf);
    free(v.df);
    free(scratch);
    fr_mmr_vectors_free(mv);
    return fr__err(err, FR_ENOMEM, "mmr: out of memory building TF-IDF vectors");
}

void fr_mmr_vectors_free(fr_mmr_vectors *v) {
    if (!v) return;
    free(v->terms);
    free(v->w);
    free(v);
}
