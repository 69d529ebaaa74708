/* proximity.c — the no-model term-proximity reranker: BM25 plus the term-proximity score
 * of Büttcher, Clarke & Lushman, "Term proximity scoring for ad-hoc retrieval on very large
 * text collections", SIGIR 2006 (the "BM25TP" of the later literature).
 *
 * Formula. Walk the document's query-term occurrences in position order. For every two
 * consecutive occurrences t_j at p_j and t_k at p_k of DIFFERENT query terms (no other query
 * term between them):
 *     acc(t_j) += w(t_k) / (p_k - p_j)^2,     acc(t_k) += w(t_j) / (p_k - p_j)^2
 * with w(t) the term's BM25 idf (Lucene's, as the index scores). Then
 *     TP(D) = sum_t min(1, w(t)) * acc(t) * (k1 + 1) / (acc(t) + K),
 *     K = k1 * ((1 - b) + b * |D| / avgdl)
 *     score(D) = BM25(D) + TP(D)
 * i.e. the accumulators are saturated like term frequencies in BM25, and a pair of query
 * terms counts by how rare the partner is and how close (inverse square distance). Positions
 * are those of the analyzed stream (stopwords leave no gap; title then text, continuing).
 * The paper uses the BM25 parameters for K; so do we (the index's k1 and b), so nothing here
 * was tuned on the evaluation collections.
 *
 * Why not SDM: the Sequential Dependence Model needs collection statistics of ordered and
 * unordered windows (#1, #uw8) for its Dirichlet-smoothed bigram features, i.e. a positional
 * index over the whole collection; BM25TP needs only the candidates' own term positions,
 * which the index gives by re-analysing their stored text (fr_index_doc_terms).
 *
 * Workload: reranking the top 100 (default) of one query: ~100 documents × a few hundred
 * terms; the cost is re-analysing the stored text, not the scoring.
 */
#include <math.h>
#include <string.h>

#include "base/base.h"
#include "finerank.h"

// ---- scoring (pure) ----

double fr_proximity_score(const fr_prox_doc *doc, const double *w, size_t n_q, double k1,
                          double b, double avgdl) {
    // acc is small (query terms); a VLA would be unbounded on the stack, so cap it.
    double acc_small[64], *acc = acc_small;
    if (n_q > 64) {
        acc = calloc(n_q, sizeof *acc);
        if (!acc) return 0;  // degrade to plain BM25 rather than fail a search
    } else {
        memset(acc, 0, n_q * sizeof *acc);
    }
    int64_t last = -1;       // query-term index of the previous occurrence
    uint32_t last_pos = 0;
    for (size_t i = 0; i < doc->n; i++) {
        int32_t t = doc->qidx[i];
        if (t < 0 || (size_t)t >= n_q) continue;
        if (last >= 0 && last != t && doc->pos[i] > last_pos) {
            double d = (double)(doc->pos[i] - last_pos);
            acc[last] += w[t] / (d * d);
            acc[t] += w[last] / (d * d);
        }
        last = t;
        last_pos = doc->pos[i];
    }
    double K = k1 * ((1 - b) + b * (avgdl > 0 ? doc->dl / avgdl : 1));
    double tp = 0;
    for (size_t t = 0; t < n_q; t++)
        if (acc[t] > 0) tp += fmin(1.0, w[t]) * acc[t] * (k1 + 1) / (acc[t] + K);
    if (acc != acc_small) free(acc);
    return tp;
}

// ---- reranking through the index ----

fr_prox_opts fr_prox_opts_default(void) {
    return (fr_prox_opts){.depth = 100, .k1 = -1, .b = -1, .scale = 1};
}

// Distinct query terms in first-occurrence order. OUT: *uniq (pointers into q->terms).
static size_t distinct_terms(const fr_terms *q, const char **uniq) {
    size_t n = 0;
    for (size_t i = 0; i < q->n; i++) {
        size_t j = 0;
        while (j < n && strcmp(uniq[j], q->terms[i])) j++;
        if (j == n) uniq[n++] = q->terms[i];
    }
    return n;
}

static int cmp_hit(const void *a, const void *b) {
    const fr_hit *x = a, *y = b;
    if (x->score > y->score) return -1;
    if (x->score < y->score) return 1;
    return (x->doc > y->doc) - (x->doc < y->doc);
}

int fr_proximity_rerank_terms(fr_index *ix, const fr_terms *query, const fr_prox_opts *opts,
                              fr_hit *hits, size_t n_hits, fr_error *err) {
    fr_prox_opts o = opts ? *opts : fr_prox_opts_default();
    fr_index_stats st;
    int rc = fr_index_stats_get(ix, &st, err);
    if (rc < 0) return rc;
    double k1 = o.k1 >= 0 ? o.k1 : st.k1, b = o.b >= 0 ? o.b : st.b;
    double avgdl = st.avg_title_len + st.avg_text_len;  // unweighted, as |D| below
    size_t depth = o.depth < n_hits ? o.depth : n_hits;
    if (depth == 0 || query->n == 0) return 0;

    const char **uniq = malloc(query->n * sizeof *uniq);
    double *w = malloc(query->n * sizeof *w);
    int32_t *qidx = NULL;
    size_t qcap = 0;
    fr_terms dt = {0};
    if (!uniq || !w) goto nomem;
    size_t n_q = distinct_terms(query, uniq);
    for (size_t t = 0; t < n_q; t++) w[t] = fr_index_idf(ix, uniq[t], strlen(uniq[t]));
    for (size_t h = 0; h < depth; h++) {
        fr_terms_free(&dt);
        rc = fr_index_doc_terms(ix, hits[h].doc, &dt, err);
        if (rc < 0) goto fail;
        if (dt.n > qcap) {
            int32_t *q2 = realloc(qidx, dt.n * sizeof *q2);
            if (!q2) goto nomem;
            qidx = q2;
            qcap = dt.n;
        }
        for (size_t i = 0; i < dt.n; i++) {
            qidx[i] = -1;
            for (size_t t = 0; t < n_q; t++)
                if (!strcmp(dt.terms[i], uniq[t])) {
                    qidx[i] = (int32_t)t;
                    break;
                }
        }
        fr_prox_doc d = {.qidx = qidx, .pos = dt.pos, .n = dt.n, .dl = (double)dt.n};
        hits[h].score += o.scale * fr_proximity_score(&d, w, n_q, k1, b, avgdl);
    }
    // The proximity part is >= 0, so the reranked head still scores at least as high as
    // every candidate below it: the tail keeps its order and scores.
    qsort(hits, depth, sizeof *hits, cmp_hit);
    rc = 0;
    goto done;
nomem:
    rc = fr__err(err, FR_ENOMEM, "proximity rerank: out of memory");
fail:
done:
    fr_terms_free(&dt);
    free(qidx);
    free(uniq);
    free(w);
    return rc;
}

int fr_proximity_rerank(fr_index *ix, const char *query, ptrdiff_t len,
                        const fr_prox_opts *opts, fr_hit *hits, size_t n_hits, fr_error *err) {
    fr_terms q = {0};
    int rc = fr_index_analyze(ix, query, len, &q, err);
    if (rc == 0) rc = fr_proximity_rerank_terms(ix, &q, opts, hits, n_hits, err);
    fr_terms_free(&q);
    return rc;
}
