/* fusion.c — merging ranked lists from several retrievers (BM25, dense) into one.
 *
 * Methods:
 *   RRF (reciprocal rank fusion, Cormack, Clarke & Büttcher, SIGIR 2009):
 *       score(d) = Σ_lists w_i / (k + rank_i(d)), rank 1-based, absent lists add 0; k = 60.
 *   Weighted sum of min-max normalised scores (the "convex combination" of Bruch et al.,
 *   "An Analysis of Fusion Functions for Hybrid Retrieval", TOIS 2023):
 *       norm_i(d) = (s_i(d) - min_i) / (max_i - min_i) over list i (1 when max_i == min_i),
 *       score(d) = Σ_lists w_i · norm_i(d), absent lists add 0.
 * Weights default to 1 for RRF and 1 / n_lists for the weighted sum.
 * Output: every document of any list once, best first, ties by doc number ascending.
 * Workload: 2 lists of 100..1000 hits per query; a sort by doc number does the join.
 */
#include <string.h>

#include "base/base.h"

fr_fuse_opts fr_fuse_opts_default(void) {
    return (fr_fuse_opts){.method = FR_FUSE_RRF, .rrf_k = 60, .weights = NULL};
}

typedef struct entry { uint32_t doc; uint32_t list; double contrib; } entry;

static int by_doc(const void *a, const void *b) {
    const entry *x = a, *y = b;
    if (x->doc != y->doc) return x->doc < y->doc ? -1 : 1;
    return x->list < y->list ? -1 : x->list > y->list;
}

static int by_score(const void *a, const void *b) {
    const fr_hit *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return x->doc < y->doc ? -1 : x->doc > y->doc;
}

int fr_fuse(const fr_hit *const *lists, const size_t *lens, size_t n_lists, const fr_fuse_opts *opts,
            fr_hit *out, size_t *n_out, fr_error *err) {
    fr_fuse_opts o = opts ? *opts : fr_fuse_opts_default();
    *n_out = 0;
    if (n_lists && (!lists || !lens)) return fr__err(err, FR_EINVAL, "fr_fuse: NULL lists");
    if (o.method != FR_FUSE_RRF && o.method != FR_FUSE_WEIGHTED)
        return fr__err(err, FR_EINVAL, "fr_fuse: unknown method %d", (int)o.method);
    if (o.method == FR_FUSE_RRF && !(o.rrf_k >= 0 && o.rrf_k < 1e9))
        return fr__err(err, FR_EINVAL, "fr_fuse: rrf_k must be in [0, 1e9)");
    size_t total = 0;
    for (size_t l = 0; l < n_lists; l++) {
        if (lens[l] && !lists[l]) return fr__err(err, FR_EINVAL, "fr_fuse: list %zu is NULL", l);
        if (o.weights && !(o.weights[l] >= 0 && o.weights[l] < 1e9))
            return fr__err(err, FR_EINVAL, "fr_fuse: weight %zu must be in [0, 1e9)", l);
        total += lens[l];
    }
    if (!total) return 0;
    entry *e = malloc(total * sizeof *e);
    if (!e) return fr__err(err, FR_ENOMEM, "out of memory");
    size_t at = 0;
    for (size_t l = 0; l < n_lists; l++) {
        double w = o.weights ? o.weights[l] : o.method == FR_FUSE_RRF ? 1.0 : 1.0 / (double)n_lists;
        double mn = 0, mx = 0;
        for (size_t r = 0; r < lens[l]; r++) {
            double s = lists[l][r].score;
            if (s != s) { free(e); return fr__err(err, FR_EINVAL, "fr_fuse: list %zu hit %zu score is NaN", l, r); }
            if (!r || s < mn) mn = s;
            if (!r || s > mx) mx = s;
        }
        for (size_t r = 0; r < lens[l]; r++) {
            double c;
            if (o.method == FR_FUSE_RRF) c = w / (o.rrf_k + (double)(r + 1));
            else c = w * (mx > mn ? (lists[l][r].score - mn) / (mx - mn) : 1.0);
            e[at++] = (entry){lists[l][r].doc, (uint32_t)l, c};
        }
    }
    qsort(e, total, sizeof *e, by_doc);
    size_t n = 0;
    for (size_t i = 0; i < total; i++) {
        if (i && e[i].doc == e[i - 1].doc && e[i].list == e[i - 1].list) {
            uint32_t d = e[i].doc, l = e[i].list;
            free(e);
            return fr__err(err, FR_EINVAL, "fr_fuse: doc %u appears twice in list %u", d, l);
        }
        if (n && out[n - 1].doc == e[i].doc) out[n - 1].score += e[i].contrib;
        else out[n++] = (fr_hit){e[i].doc, e[i].contrib};
    }
    free(e);
    qsort(out, n, sizeof *out, by_score);
    *n_out = n;
    return 0;
}
