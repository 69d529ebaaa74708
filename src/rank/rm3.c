/* rm3.c — pseudo-relevance feedback by RM3 (Lavrenko & Croft, "Relevance-based language
 * models", SIGIR 2001; RM3 = RM1 interpolated with the query, Abdul-Jaleel et al., UMass at
 * TREC 2004), as Anserini implements it (io.anserini.rerank.lib.Rm3Reranker), with its
 * defaults fbDocs = 10, fbTerms = 10, originalQueryWeight = 0.5:
 *
 *   1. first pass: BM25 top fbDocs documents D_1..D_m with scores s_i;
 *   2. each D_i becomes a term-frequency vector over its analyzed terms, keeping only
 *      feedback-worthy terms (2–20 characters; in at most 10% of the documents, Anserini's
 *      df-ratio stopword heuristic), pruned to its fbTerms most frequent terms;
 *   3. P(w|R) ∝ sum_i tf_i(w) / |D_i| * s_i  (|D_i| = L1 norm of the pruned vector), pruned
 *      to the fbTerms heaviest terms and L1-normalised;
 *   4. P'(w) = λ * P(w|Q) + (1 − λ) * P(w|R), λ = originalQueryWeight, P(w|Q) the query's
 *      L1-normalised term counts;
 *   5. second pass: score(D) = sum_w P'(w) * bm25(w, D) over the index.
 * Departures from Anserini, both for languages other than English: the character test is
 * on Unicode code points (Anserini also requires [a-z0-9]+, which would drop every
 * non-ASCII term), and equal weights are ordered by term bytes so that results are
 * deterministic (Java's sort leaves that to hash order).
 *
 * Workload: one expansion per query over ~10 documents of a few hundred terms: sorting
 * small arrays, no hash tables.
 */
#include <math.h>
#include <string.h>

#include "base/base.h"
#include "finerank.h"

fr_rm3_opts fr_rm3_opts_default(void) {
    return (fr_rm3_opts){.fb_docs = 10, .fb_terms = 10, .orig_weight = 0.5,
                         .max_df_ratio = 0.1};
}

// ---- expansion (pure) ----

typedef struct tw {
    const char *term;
    double w;
} tw;

static int cmp_term(const void *a, const void *b) {
    return strcmp(((const tw *)a)->term, ((const tw *)b)->term);
}

// Heaviest first; equal weights by term bytes.
static int cmp_weight(const void *a, const void *b) {
    const tw *x = a, *y = b;
    if (x->w > y->w) return -1;
    if (x->w < y->w) return 1;
    return strcmp(x->term, y->term);
}

// Sorts v by term and sums the weights of equal terms; returns the new length.
static size_t merge_equal(tw *v, size_t n) {
    if (n == 0) return 0;
    qsort(v, n, sizeof *v, cmp_term);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m > 0 && !strcmp(v[m - 1].term, v[i].term)) v[m - 1].w += v[i].w;
        else v[m++] = v[i];
    }
    return m;
}

static size_t utf8_chars(const char *s) {
    size_t n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

int fr_rm3_expand(const fr_terms *query, const fr_terms *fb_docs, const double *fb_scores,
                  size_t n_fb, const fr_rm3_opts *opts, fr_rm3_df_ratio_fn df_ratio, void *ud,
                  fr_terms *out, fr_error *err) {
    fr_rm3_opts o = opts ? *opts : fr_rm3_opts_default();
    *out = (fr_terms){0};
    size_t total = query->n;
    for (size_t i = 0; i < n_fb; i++) total += fb_docs[i].n;
    tw *all = malloc((total ? total : 1) * sizeof *all);   // feedback (term, weight) pairs
    tw *doc = malloc((total ? total : 1) * sizeof *doc);   // one document's vector
    tw *q = malloc((query->n ? query->n : 1) * sizeof *q);
    size_t n_all = 0;
    if (!all || !doc || !q) goto nomem;

    for (size_t i = 0; i < n_fb; i++) {
        size_t nd = 0;
        for (size_t k = 0; k < fb_docs[i].n; k++) doc[nd++] = (tw){fb_docs[i].terms[k], 1};
        nd = merge_equal(doc, nd);  // term frequencies
        size_t kept = 0;
        for (size_t k = 0; k < nd; k++) {
            size_t nc = utf8_chars(doc[k].term);
            if (nc < 2 || nc > 20) continue;
            if (df_ratio && df_ratio(ud, doc[k].term, strlen(doc[k].term)) > o.max_df_ratio)
                continue;
            doc[kept++] = doc[k];
        }
        qsort(doc, kept, sizeof *doc, cmp_weight);
        if (kept > o.fb_terms) kept = o.fb_terms;
        double norm = 0;
        for (size_t k = 0; k < kept; k++) norm += doc[k].w;
        if (norm <= 0.001) continue;  // as Anserini: skip documents with no usable terms
        for (size_t k = 0; k < kept; k++)
            all[n_all++] = (tw){doc[k].term, doc[k].w / norm * fb_scores[i]};
    }
    n_all = merge_equal(all, n_all);
    qsort(all, n_all, sizeof *all, cmp_weight);
    if (n_all > o.fb_terms) n_all = o.fb_terms;
    double rn = 0;
    for (size_t k = 0; k < n_all; k++) rn += all[k].w;
    size_t nq = 0;
    for (size_t k = 0; k < query->n; k++) q[nq++] = (tw){query->terms[k], 1};
    nq = merge_equal(q, nq);
    double qn = 0;
    for (size_t k = 0; k < nq; k++) qn += q[k].w;

    // Interpolate over the union: reuse doc[] for the combined list.
    // Without feedback terms the query keeps all the weight (the weights still sum to 1).
    double lambda = rn > 0 ? o.orig_weight : 1.0;
    size_t nu = 0;
    for (size_t k = 0; k < nq; k++) doc[nu++] = (tw){q[k].term, lambda * q[k].w / qn};
    if (rn > 0)
        for (size_t k = 0; k < n_all; k++)
            doc[nu++] = (tw){all[k].term, (1 - o.orig_weight) * all[k].w / rn};
    nu = merge_equal(doc, nu);
    qsort(doc, nu, sizeof *doc, cmp_weight);

    out->terms = calloc(nu ? nu : 1, sizeof *out->terms);
    out->pos = calloc(nu ? nu : 1, sizeof *out->pos);
    out->weight = calloc(nu ? nu : 1, sizeof *out->weight);
    if (!out->terms || !out->pos || !out->weight) goto nomem;
    for (size_t k = 0; k < nu; k++) {
        out->terms[k] = strdup(doc[k].term);
        if (!out->terms[k]) goto nomem;
        out->pos[k] = (uint32_t)k;
        out->weight[k] = (float)doc[k].w;
        out->n = k + 1;
    }
    free(all);
    free(doc);
    free(q);
    return 0;
nomem:
    fr_terms_free(out);
    free(all);
    free(doc);
    free(q);
    return fr__err(err, FR_ENOMEM, "rm3: out of memory");
}

// ---- search through the index ----

typedef struct df_ctx {
    fr_index *ix;
    double n_docs;
} df_ctx;

static double index_df_ratio(void *ud, const char *term, size_t len) {
    df_ctx *c = ud;
    return c->n_docs > 0 ? (double)fr_index_df(c->ix, term, len) / c->n_docs : 0;
}

int fr_rm3_search_terms(fr_index *ix, const fr_terms *query, const fr_search_opts *so,
                        const fr_rm3_opts *ro, fr_hit *hits, size_t *n_hits, fr_error *err) {
    fr_rm3_opts o = ro ? *ro : fr_rm3_opts_default();
    fr_search_opts s1 = so ? *so : fr_search_opts_default();
    size_t k = s1.k;
    *n_hits = 0;
    if (o.fb_docs == 0 || query->n == 0) return fr_index_search_terms(ix, query, &s1, hits, n_hits, err);
    fr_hit *fb = calloc(o.fb_docs, sizeof *fb);
    fr_terms *docs = calloc(o.fb_docs, sizeof *docs);
    double *scores = calloc(o.fb_docs, sizeof *scores);
    fr_terms expanded = {0};
    size_t n_fb = 0;
    int rc;
    if (!fb || !docs || !scores) {
        rc = fr__err(err, FR_ENOMEM, "rm3: out of memory");
        goto done;
    }
    s1.k = o.fb_docs;
    rc = fr_index_search_terms(ix, query, &s1, fb, &n_fb, err);
    if (rc < 0) goto done;
    for (size_t i = 0; i < n_fb; i++) {
        rc = fr_index_doc_terms(ix, fb[i].doc, &docs[i], err);
        if (rc < 0) goto done;
        scores[i] = fb[i].score;
    }
    df_ctx dc = {ix, (double)fr_index_n_docs(ix)};
    rc = fr_rm3_expand(query, docs, scores, n_fb, &o, index_df_ratio, &dc, &expanded, err);
    if (rc < 0) goto done;
    s1.k = k;
    rc = fr_index_search_terms(ix, &expanded, &s1, hits, n_hits, err);
done:
    for (size_t i = 0; docs && i < o.fb_docs; i++) fr_terms_free(&docs[i]);
    fr_terms_free(&expanded);
    free(fb);
    free(docs);
    free(scores);
    return rc;
}

int fr_rm3_search(fr_index *ix, const char *query, ptrdiff_t len, const fr_search_opts *so,
                  const fr_rm3_opts *ro, fr_hit *hits, size_t *n_hits, fr_error *err) {
    fr_terms q = {0};
    *n_hits = 0;
    int rc = fr_index_analyze(ix, query, len, &q, err);
    if (rc == 0) rc = fr_rm3_search_terms(ix, &q, so, ro, hits, n_hits, err);
    fr_terms_free(&q);
    return rc;
}
