/* pipeline.c — two-stage retrieval end to end, explainable:
 *
 *   1. candidates  BM25 top N1 over the analyzed query, plus synonym terms (weight
 *                  synonym_weight) [and RM3 terms], with the source/lang/date filters;
 *                  or, by the config's "retriever" section (src/rank/retriever.c), the
 *                  dense top N1 (query embedded by the index's recorded model), or both
 *                  lists (max(fusion_depth, N1) each, BM25 as above) fused and cut to N1.
 *                  The stage-1 score ("bm25" in fr_ranked) is then the dot product or the
 *                  fused score; reranker "auto" without a model is "none" there, since
 *                  the proximity reranker refines BM25 scores
 *   2. fine sort   the top N2 candidates get a semantic score in [0, 1]: the cross-encoder's
 *                  relevance when a model is configured, else the proximity reranker's score
 *                  divided by its maximum over the N2 ("none": BM25 / max BM25). Scored in
 *                  small batches; when the deadline passes, the remaining candidates stay
 *                  unscored and keep their stage-1 order after the scored ones.
 *   3. signals     timeliness(date) and authority(source, authority); score =
 *                  combine(semantic, timeliness, authority) (product by default)
 *   4. diversity   MMR over the scored documents (TF-IDF cosine of their analyzed terms, idf
 *                  from the index), optional per-group cap
 *   5. top k       with every factor recorded (fr_ranked) for explanations
 *
 * Workload: one query at a time per call, N1 ≈ 1000, N2 ≈ 100, k ≈ 10; the fine sort
 * dominates (a cross-encoder takes milliseconds per passage), everything else is a few
 * milliseconds. A pipeline holds only immutable state after fr_pipeline_new (synonyms, the
 * model); runs share the index handle, so concurrent runs on one pipeline are as safe as
 * concurrent fr_index_search/fr_index_analyze calls on that handle.
 */
#include <jansson.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "rank/synonyms.h"

#define BATCH 8  // passages per scorer call: the deadline granularity

struct fr_pipeline {
    fr_index *ix;
    fr_pipeline_config cfg;
    fr__synonyms *syn;
    fr_semantic_fn scorer;      // the fine-sort scorer for FR_RERANK_MODEL (NULL: none)
    void *scorer_ctx;
    char scorer_name[32];
    void *model;                // the cross-encoder opened from cfg.model (owned)
};

// ---- the cross-encoder and proximity adapters ----

// fr_semantic_fn over a cross-encoder: its relevance score (sigmoid or the activation the
// model's sentence-transformers config records) is already in [0, 1].
static int model_scorer(void *ctx, const char *query, const char *const *passages, size_t n,
                        double *scores, fr_error *err) {
    fr_rerank_score rs[BATCH];
    fr_score_opts so = fr_score_opts_default();
    for (size_t o = 0; o < n; o += BATCH) {
        size_t m = n - o < BATCH ? n - o : BATCH;
        int rc = fr_model_rerank((const fr_model *)ctx, query, passages + o, NULL, m, &so, rs, err);
        if (rc < 0) return rc;
        for (size_t j = 0; j < m; j++) scores[o + j] = rs[j].relevance;
    }
    return 0;
}

static int open_model(fr_pipeline *p, fr_error *err) {
    if (!p->cfg.model[0])
        return fr__err(err, FR_EINVAL, "reranker: cross-encoder asked for but \"model\" is empty");
    fr_model_opts mo = fr_model_opts_default();
    fr_model *m = NULL;
    int rc = fr_model_open(p->cfg.model, &mo, &m, err);
    if (rc < 0) return fr__err_prefix(err, rc, "model");
    p->model = m;
    fr_pipeline_set_scorer(p, model_scorer, m, "cross-encoder");
    return 0;
}

static void close_model(fr_pipeline *p) {
    fr_model_free((fr_model *)p->model);
    p->model = NULL;
}

// The proximity reranker's score of one candidate: BM25 + scale·TP(D), the BM25TP proximity
// part of Büttcher, Clarke & Lushman (SIGIR 2006) as src/rank/proximity.c computes it in
// fr_proximity_rerank_terms (same statistics, same query-term weights: idf of each distinct
// query term). Done here rather than through that call so that each candidate is analyzed
// once and its terms serve MMR too (analysis dominates both stages); test_pipeline checks
// that the scores equal fr_proximity_rerank_terms'.
typedef struct prox_ctx {
    const char **uniq;  // (n_q) distinct query terms, first-occurrence order
    double *w;          // (n_q) their idf
    size_t n_q;
    int32_t *qidx;      // (cap) scratch: query-term index of each document position
    size_t cap;
    double k1, b, avgdl, scale;
} prox_ctx;

static int prox_init(fr_pipeline *p, const fr_terms *q, double scale, prox_ctx *x, fr_error *err) {
    memset(x, 0, sizeof *x);
    fr_index_stats st;
    int rc = fr_index_stats_get(p->ix, &st, err);
    if (rc < 0) return rc;
    fr_prox_opts po = fr_prox_opts_default();
    x->k1 = po.k1 >= 0 ? po.k1 : st.k1;
    x->b = po.b >= 0 ? po.b : st.b;
    x->avgdl = st.avg_title_len + st.avg_text_len;
    x->scale = scale * po.scale;
    x->uniq = malloc((q->n + 1) * sizeof *x->uniq);
    x->w = malloc((q->n + 1) * sizeof *x->w);
    if (!x->uniq || !x->w) return fr__err(err, FR_ENOMEM, "proximity: out of memory");
    for (size_t i = 0; i < q->n; i++) {
        size_t j = 0;
        while (j < x->n_q && strcmp(x->uniq[j], q->terms[i])) j++;
        if (j == x->n_q) x->uniq[x->n_q++] = q->terms[i];
    }
    for (size_t t = 0; t < x->n_q; t++)
        x->w[t] = fr_index_idf(p->ix, x->uniq[t], strlen(x->uniq[t]));
    return 0;
}

static void prox_free(prox_ctx *x) {
    free(x->uniq);
    free(x->w);
    free(x->qidx);
}

static int prox_score(prox_ctx *x, const fr_terms *dt, double bm25, double *out, fr_error *err) {
    if (dt->n > x->cap) {
        int32_t *q2 = realloc(x->qidx, dt->n * sizeof *q2);
        if (!q2) return fr__err(err, FR_ENOMEM, "proximity: out of memory");
        x->qidx = q2;
        x->cap = dt->n;
    }
    for (size_t i = 0; i < dt->n; i++) {
        x->qidx[i] = -1;
        for (size_t t = 0; t < x->n_q; t++)
            if (!strcmp(dt->terms[i], x->uniq[t])) { x->qidx[i] = (int32_t)t; break; }
    }
    fr_prox_doc d = {.qidx = x->qidx, .pos = dt->pos, .n = dt->n, .dl = (double)dt->n};
    *out = bm25 + (x->n_q ? x->scale * fr_proximity_score(&d, x->w, x->n_q, x->k1, x->b, x->avgdl) : 0);
    return 0;
}

static double mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

// ---- setup ----

static int index_analyze(void *ctx, const char *text, size_t len, fr_terms *out, fr_error *err) {
    return fr_index_analyze((fr_index *)ctx, text, (ptrdiff_t)len, out, err);
}

int fr_pipeline_new(fr_index *ix, const fr_pipeline_config *cfg, fr_pipeline **out,
                    fr_error *err) {
    *out = NULL;
    if (!ix) return fr__err(err, FR_EINVAL, "pipeline: no index");
    fr_pipeline *p = calloc(1, sizeof *p);
    if (!p) return fr__err(err, FR_ENOMEM, "pipeline: out of memory");
    p->ix = ix;
    p->cfg = cfg ? *cfg : fr_pipeline_config_default();
    int rc = 0;
    if (p->cfg.synonyms[0]) {
        char *text = NULL;
        size_t len = 0;
        if ((rc = fr__read_file(p->cfg.synonyms, &text, &len, err)) < 0) {
            fr__err_prefix(err, rc, "synonyms");
            goto fail;
        }
        rc = fr__synonyms_parse(text, len, p->cfg.synonyms, index_analyze, ix, &p->syn, err);
        free(text);
        if (rc < 0) goto fail;
    }
    if (p->cfg.model[0] || p->cfg.reranker == FR_RERANK_MODEL) {
        rc = open_model(p, err);
        if (rc < 0) goto fail;
    }
    *out = p;
    return 0;
fail:
    fr_pipeline_free(p);
    return rc;
}

void fr_pipeline_free(fr_pipeline *p) {
    if (!p) return;
    fr__synonyms_free(p->syn);
    close_model(p);
    free(p);
}

void fr_pipeline_set_scorer(fr_pipeline *p, fr_semantic_fn fn, void *ctx, const char *name) {
    p->scorer = fn;
    p->scorer_ctx = ctx;
    snprintf(p->scorer_name, sizeof p->scorer_name, "%s", name ? name : "custom");
}

// ---- stage helpers ----

static uint64_t index_df(void *ctx, const char *term, size_t len, uint64_t *n_docs) {
    fr_index *ix = ctx;
    *n_docs = fr_index_n_docs(ix);
    return fr_index_df(ix, term, len);
}

static void format_terms(const fr_terms *q, char **out) {
    fr__buf b = {0};
    for (size_t i = 0; i < q->n; i++) {
        fr__buf_printf(&b, "%s%s", i ? " " : "", q->terms[i]);
        if (q->weight && q->weight[i] != 1.0f) fr__buf_printf(&b, "^%g", (double)q->weight[i]);
    }
    if (!b.data) fr__buf_printf(&b, "%s", "");
    *out = b.data;  // NULL only on out of memory: the field is then absent
}

// The cap group of a document: its source, or the value of one "meta" field (strings as
// they are, other JSON values in compact form). OUT: malloc'd string or NULL (no group).
static char *group_of(const fr_doc *d, const char *cap_field) {
    if (!strcmp(cap_field, "source")) return d->source ? strdup(d->source) : NULL;
    if (!d->meta || strncmp(cap_field, "meta.", 5) != 0) return NULL;
    json_t *m = json_loadb(d->meta, d->meta_len, 0, NULL);
    json_t *v = m && json_is_object(m) ? json_object_get(m, cap_field + 5) : NULL;
    char *g = NULL;
    if (v && json_is_string(v)) g = strdup(json_string_value(v));
    else if (v && !json_is_null(v)) g = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(m);
    return g;
}

// Passage text for the cross-encoder: "title\ntext" (or text alone). OUT: malloc'd.
static char *passage_of(const fr_doc *d) {
    size_t tl = d->title ? d->title_len : 0, xl = d->text ? d->text_len : 0;
    char *s = malloc(tl + xl + 2);
    if (!s) return NULL;
    size_t o = 0;
    if (tl) memcpy(s, d->title, tl), o = tl, s[o++] = '\n';
    if (xl) memcpy(s + o, d->text, xl), o += xl;
    s[o] = 0;
    return s;
}

static int check_config(const fr_pipeline *p, const fr_pipeline_config *c, fr_error *err) {
    if (c->k < 1) return fr__err(err, FR_EINVAL, "k: must be >= 1");
    if (c->candidates < 1) return fr__err(err, FR_EINVAL, "candidates: must be >= 1");
    if ((unsigned)c->retriever.kind > FR_RETRIEVER_HYBRID || c->retriever.depth < 1 ||
        !(c->retriever.dense_weight >= 0 && c->retriever.dense_weight <= 1) ||
        c->retriever.threads < 1 || c->retriever.threads > 256 || c->retriever.nprobe < -1 ||
        c->retriever.nprobe > 65536)
        return fr__err(err, FR_EINVAL, "retriever: mode, fusion_depth, dense_weight, threads or "
                       "nprobe out of range");
    if (!(c->lambda >= 0 && c->lambda <= 1))
        return fr__err(err, FR_EINVAL, "diversity.lambda: must be in [0, 1]");
    if (c->reranker == FR_RERANK_MODEL && !p->scorer)
        return fr__err(err, FR_EINVAL, "reranker: cross-encoder asked for but no model is loaded "
                       "(set \"model\" when the pipeline is created)");
    if (c->model[0] && strcmp(c->model, p->cfg.model) != 0)
        return fr__err(err, FR_EINVAL, "model: '%s' differs from the pipeline's model '%s' (a "
                       "model is loaded once, with the pipeline)", c->model, p->cfg.model);
    if (c->synonyms[0] && strcmp(c->synonyms, p->cfg.synonyms) != 0)
        return fr__err(err, FR_EINVAL, "synonyms: '%s' differs from the pipeline's synonyms "
                       "file (loaded once, with the pipeline)", c->synonyms);
    return 0;
}

// ---- run ----

int fr_pipeline_run(fr_pipeline *p, const char *query, const fr_pipeline_config *cfg,
                    fr_result *res, fr_error *err) {
    memset(res, 0, sizeof *res);
    if (!cfg) cfg = &p->cfg;
    if (!query) return fr__err(err, FR_EINVAL, "query: missing");
    int rc = check_config(p, cfg, err);
    if (rc < 0) return rc;
    double t0 = mono_ms(), t1, t2, t3;
    int64_t now = cfg->now_ms ? cfg->now_ms : fr_now_ms();
    fr_terms q = {0};
    fr_hit *hits = NULL;
    fr_ranked *all = NULL;          // (nh) every candidate, stage-1 order
    fr_doc *docs = NULL;            // (nh) stored fields, fetched for the ones we touch
    unsigned char *have = NULL;     // (nh) docs[i] fetched
    char **passages = NULL;         // (BATCH)
    double *sc = NULL;              // (n2) raw fine-sort scores
    fr_terms *dterms = NULL;        // (n2) analyzed terms (proximity and MMR share them)
    unsigned char *analyzed = NULL; // (n2) dterms[i] filled
    char ***tl = NULL;              // (n_scored) views of dterms[i].terms
    size_t *tn = NULL;              // (n_scored)
    char **groups = NULL;           // (n_scored) cap groups (owned)
    fr_mmr_item *mi = NULL;         // (n_scored)
    fr_mmr_vectors *mv = NULL;
    size_t *order = NULL;           // (n_scored)
    double *msim = NULL, *mmr = NULL;
    size_t nh = 0, n2 = 0, done = 0;

    // 1. candidates
    if ((rc = fr_index_analyze(p->ix, query, -1, &q, err)) < 0) goto fail;
    if (p->syn && (rc = fr__synonyms_expand(p->syn, &q, (float)cfg->synonym_weight, NULL)) < 0) {
        fr__err(err, rc, "synonyms: out of memory");
        goto fail;
    }
    format_terms(&q, &res->query_terms);
    fr_search_opts so = fr_search_opts_default();
    so.k = cfg->candidates;
    if (cfg->date_from_ms != INT64_MIN)
        so.date_from = cfg->date_from_ms / 1000 + (cfg->date_from_ms % 1000 > 0);
    if (cfg->date_to_ms != INT64_MAX)
        so.date_to = fr__ms_to_s(cfg->date_to_ms);
    so.source = cfg->filter_source[0] ? cfg->filter_source : NULL;
    so.lang = cfg->filter_lang[0] ? cfg->filter_lang : NULL;
    const fr_retriever_opts *rt = &cfg->retriever;
    size_t n1 = cfg->candidates, depth = n1;
    if (rt->kind == FR_RETRIEVER_HYBRID && rt->depth > depth) depth = rt->depth;
    so.k = depth;
    // hybrid: BM25 (depth), dense (depth), fused (2 depth)
    hits = malloc((rt->kind == FR_RETRIEVER_HYBRID ? 4 * depth : depth) * sizeof *hits);
    if (!hits) { rc = fr__err(err, FR_ENOMEM, "pipeline: out of memory"); goto fail; }
    if (rt->kind == FR_RETRIEVER_DENSE) {
        // no BM25 list
    } else if (q.n > 0 && cfg->rm3) {
        // RM3 (Lavrenko & Croft 2001, as Anserini; src/rank/rm3.c): a first pass, the
        // expansion from the top fb_docs, and the second pass that gives the candidates.
        fr_rm3_opts ro = fr_rm3_opts_default();
        ro.fb_docs = cfg->rm3_fb_docs;
        ro.fb_terms = cfg->rm3_fb_terms;
        ro.orig_weight = cfg->rm3_orig_weight;
        if ((rc = fr_rm3_search_terms(p->ix, &q, &so, &ro, hits, &nh, err)) < 0) goto fail;
        char *t = NULL;
        if (res->query_terms && asprintf(&t, "%s + RM3(%zu docs, %zu terms)", res->query_terms,
                                         ro.fb_docs, ro.fb_terms) > 0) {
            free(res->query_terms);
            res->query_terms = t;
        }
    } else if (q.n > 0 && (rc = fr_index_search_terms(p->ix, &q, &so, hits, &nh, err)) < 0) {
        goto fail;
    }
    if (rt->kind != FR_RETRIEVER_BM25) {
        fr_retriever_opts d = *rt;
        d.kind = FR_RETRIEVER_DENSE;
        fr_hit *dh = rt->kind == FR_RETRIEVER_DENSE ? hits : hits + depth;
        size_t nd = 0, nf = 0;
        if ((rc = fr_retrieve(p->ix, query, &d, &so, dh, &nd, err)) < 0) goto fail;
        if (rt->kind == FR_RETRIEVER_DENSE) {
            nh = nd;
        } else {
            if ((rc = fr_retriever_fuse(rt, hits, nh, dh, nd, hits + 2 * depth, &nf, err)) < 0)
                goto fail;
            nh = nf < n1 ? nf : n1;
            memmove(hits, hits + 2 * depth, nh * sizeof *hits);
        }
    }
    res->n_candidates = nh;
    snprintf(res->retriever, sizeof res->retriever, "%s",
             rt->kind == FR_RETRIEVER_DENSE ? "dense" : rt->kind == FR_RETRIEVER_HYBRID ? "hybrid" : "bm25");
    t1 = mono_ms();
    res->ms_candidates = t1 - t0;

    all = calloc(nh + 1, sizeof *all);
    docs = calloc(nh + 1, sizeof *docs);
    have = calloc(nh + 1, 1);
    if (!all || !docs || !have) { rc = fr__err(err, FR_ENOMEM, "pipeline: out of memory"); goto fail; }
    for (size_t i = 0; i < nh; i++) {
        all[i].doc = hits[i].doc;
        all[i].bm25 = hits[i].score;
        all[i].stage1_rank = i + 1;
        all[i].semantic = all[i].score = all[i].mmr = NAN;
        all[i].timeliness = all[i].authority = NAN;
    }
    n2 = cfg->rerank_top < nh ? cfg->rerank_top : nh;
    res->n_rerank = n2;
    dterms = calloc(n2 + 1, sizeof *dterms);
    analyzed = calloc(n2 + 1, 1);
    if (!dterms || !analyzed) { rc = fr__err(err, FR_ENOMEM, "pipeline: out of memory"); goto fail; }
    size_t need = n2 > cfg->k ? n2 : (cfg->k < nh ? cfg->k : nh);
    for (size_t i = 0; i < need; i++) {
        if ((rc = fr_index_doc(p->ix, all[i].doc, &docs[i], err)) < 0) goto fail;
        have[i] = 1;
        all[i].id = docs[i].id;
        all[i].title = docs[i].title;
        all[i].source = docs[i].source;
        all[i].date = docs[i].date;
    }

    // 2. fine sort
    fr_rerank_kind kind = cfg->reranker;
    if (kind == FR_RERANK_AUTO)
        kind = p->scorer ? FR_RERANK_MODEL
             : cfg->retriever.kind == FR_RETRIEVER_BM25 ? FR_RERANK_PROXIMITY : FR_RERANK_NONE;
    sc = calloc(n2 + 1, sizeof *sc);
    if (!sc) { rc = fr__err(err, FR_ENOMEM, "pipeline: out of memory"); goto fail; }
    if (kind == FR_RERANK_PROXIMITY) {
        // The original query's terms (not the expansions) drive proximity.
        fr_terms q0 = {0};
        prox_ctx px;
        memset(&px, 0, sizeof px);
        rc = fr_index_analyze(p->ix, query, -1, &q0, err);
        // After RM3, whose scores weigh each original term by orig_weight/|q|, TP is scaled
        // the same way so that BM25 and TP stay on one scale (as src/rank/proximity.h says).
        double tp_scale = 1.0;
        if (cfg->rm3 && q0.n) tp_scale = cfg->rm3_orig_weight / (double)q0.n;
        if (rc == 0) rc = prox_init(p, &q0, tp_scale, &px, err);
        while (rc == 0 && done < n2) {
            // Check the deadline every 8 documents, as for the cross-encoder's batches.
            if (done % BATCH == 0 && cfg->deadline_ms > 0 && mono_ms() - t0 >= cfg->deadline_ms) {
                res->deadline_hit = 1;
                break;
            }
            if ((rc = fr_index_doc_terms(p->ix, all[done].doc, &dterms[done], err)) < 0) break;
            analyzed[done] = 1;
            if ((rc = prox_score(&px, &dterms[done], all[done].bm25, &sc[done], err)) < 0) break;
            done++;
        }
        prox_free(&px);
        fr_terms_free(&q0);
        if (rc < 0) {
            goto fail;
        } else {
            double mx = 0;
            for (size_t i = 0; i < done; i++) if (sc[i] > mx) mx = sc[i];
            for (size_t i = 0; i < done; i++) all[i].semantic = mx > 0 ? fmax(0, sc[i]) / mx : 0;
            snprintf(res->reranker, sizeof res->reranker, "proximity");
        }
    }
    if (kind == FR_RERANK_MODEL) {
        passages = calloc(BATCH, sizeof *passages);
        if (!passages) { rc = fr__err(err, FR_ENOMEM, "pipeline: out of memory"); goto fail; }
        while (done < n2) {
            if (cfg->deadline_ms > 0 && mono_ms() - t0 >= cfg->deadline_ms) {
                res->deadline_hit = 1;
                break;
            }
            size_t m = n2 - done < BATCH ? n2 - done : BATCH;
            for (size_t j = 0; j < m; j++) {
                passages[j] = passage_of(&docs[done + j]);
                if (!passages[j]) { rc = fr__err(err, FR_ENOMEM, "pipeline: out of memory"); break; }
            }
            if (rc == 0)
                rc = p->scorer(p->scorer_ctx, query, (const char *const *)passages, m, sc + done, err);
            for (size_t j = 0; j < m; j++) free(passages[j]), passages[j] = NULL;
            if (rc < 0) { fr__err_prefix(err, rc, "%s", p->scorer_name); goto fail; }
            for (size_t j = 0; j < m; j++) {
                double s = sc[done + j];
                all[done + j].semantic = isfinite(s) ? fmin(1, fmax(0, s)) : 0;
            }
            done += m;
        }
        snprintf(res->reranker, sizeof res->reranker, "%s", p->scorer_name);
    }
    if (kind == FR_RERANK_NONE) {
        double mx = n2 ? all[0].bm25 : 0;
        for (size_t i = 0; i < n2; i++) all[i].semantic = mx > 0 ? all[i].bm25 / mx : 0;
        done = n2;
        snprintf(res->reranker, sizeof res->reranker, "none");
    }
    res->n_scored = done;
    for (size_t i = 0; i < done; i++) all[i].scored = 1;
    t2 = mono_ms();
    res->ms_rerank = t2 - t1;

    // 3. signals (also for the unscored documents shown, for their explanation)
    for (size_t i = 0; i < need; i++) {
        const fr_doc *d = &docs[i];
        int has_date = d->date_unix != INT64_MIN;
        all[i].timeliness = fr_freshness_weight(&cfg->freshness, has_date,
                                                has_date ? d->date_unix * 1000 : 0, now);
        all[i].authority = fr_authority_weight(&cfg->authority, d->source,
                                               !isnan(d->authority), d->authority);
        if (all[i].scored)
            all[i].score = fr_combine_score(&cfg->combine, all[i].semantic, all[i].timeliness,
                                            all[i].authority);
    }
    t3 = mono_ms();
    res->ms_signals = t3 - t2;

    // 4. diversity (MMR; with λ = 1 and no cap it is a stable sort by score)
    size_t ns = done;
    mi = calloc(ns + 1, sizeof *mi);
    order = malloc((ns + 1) * sizeof *order);
    msim = calloc(ns + 1, sizeof *msim);
    mmr = calloc(ns + 1, sizeof *mmr);
    groups = calloc(ns + 1, sizeof *groups);
    if (!mi || !order || !msim || !mmr || !groups) {
        rc = fr__err(err, FR_ENOMEM, "pipeline: out of memory");
        goto fail;
    }
    for (size_t i = 0; i < ns; i++) mi[i].rel = fmax(0, all[i].score);
    if (ns && cfg->lambda < 1) {
        tl = calloc(ns, sizeof *tl);
        tn = calloc(ns, sizeof *tn);
        if (!tl || !tn) { rc = fr__err(err, FR_ENOMEM, "pipeline: out of memory"); goto fail; }
        for (size_t i = 0; i < ns; i++) {
            if (!analyzed[i]) {
                if ((rc = fr_index_doc_terms(p->ix, all[i].doc, &dterms[i], err)) < 0) goto fail;
                analyzed[i] = 1;
            }
            tl[i] = dterms[i].terms;
            tn[i] = dterms[i].n;
        }
        if ((rc = fr_mmr_vectors_build(tl, tn, ns, cfg->mmr_local_idf ? NULL : index_df, p->ix,
                                       mi, &mv, err)) < 0)
            goto fail;
    }
    if (ns && cfg->cap > 0) {
        for (size_t i = 0; i < ns; i++) mi[i].group = groups[i] = group_of(&docs[i], cfg->cap_field);
    }
    fr_mmr_opts mo = {cfg->lambda, cfg->cap, cfg->k};
    if ((rc = fr_mmr_rank(mi, ns, &mo, order, msim, mmr, err)) < 0) goto fail;
    double t4 = mono_ms();
    res->ms_mmr = t4 - t3;

    // 5. top k: the scored documents in MMR order, then the unscored in stage-1 order.
    size_t k = cfg->k < nh ? cfg->k : nh;
    res->items = calloc(k + 1, sizeof *res->items);
    if (!res->items) { rc = fr__err(err, FR_ENOMEM, "pipeline: out of memory"); goto fail; }
    for (size_t r = 0; r < k; r++) {
        size_t i = r < ns ? order[r] : r;  // unscored: stage-1 positions ns, ns+1, ...
        fr_ranked *o = &res->items[r];
        *o = all[i];
        if (r < ns) {
            o->max_sim = msim[i];
            o->diversity_penalty = (1 - cfg->lambda) * msim[i];
            o->mmr = mmr[i];
        }
    }
    res->n = k;
    res->ms_total = mono_ms() - t0;
    rc = 0;
    goto done_;
fail:
    fr_result_free(res);
done_:
    fr_terms_free(&q);
    free(hits);
    free(all);
    free(docs);
    free(have);
    free(passages);
    free(sc);
    if (dterms) for (size_t i = 0; i < n2; i++) fr_terms_free(&dterms[i]);
    free(dterms);
    free(analyzed);
    free(tl);
    free(tn);
    if (groups) for (size_t i = 0; i < done; i++) free(groups[i]);
    free(groups);
    free(mi);
    fr_mmr_vectors_free(mv);
    free(order);
    free(msim);
    free(mmr);
    return rc;
}

void fr_result_free(fr_result *res) {
    if (!res) return;
    free(res->items);
    free(res->query_terms);
    memset(res, 0, sizeof *res);
}

// ---- JSON ----

static json_t *num_or_null(double v) {
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *str_or_null(const char *s) {
    return s ? json_string(s) : json_null();
}

char *fr_result_to_json(const fr_result *res, const char *query, int explain) {
    json_t *o = json_object(), *arr = json_array(), *t = json_object();
    json_object_set_new(o, "query", str_or_null(query));
    json_object_set_new(o, "reranker", json_string(res->reranker));
    json_object_set_new(o, "retriever", json_string(res->retriever));
    json_object_set_new(o, "query_terms", str_or_null(res->query_terms));
    json_object_set_new(o, "candidates", json_integer((json_int_t)res->n_candidates));
    json_object_set_new(o, "reranked", json_integer((json_int_t)res->n_rerank));
    json_object_set_new(o, "scored", json_integer((json_int_t)res->n_scored));
    json_object_set_new(o, "deadline_hit", json_boolean(res->deadline_hit));
    if (res->deadline_hit) {
        char note[160];
        snprintf(note, sizeof note, "deadline: fine sort stopped after %zu of %zu documents; "
                 "the rest keep their stage-1 order", res->n_scored, res->n_rerank);
        json_object_set_new(o, "note", json_string(note));
    }
    json_object_set_new(t, "candidates", json_real(res->ms_candidates));
    json_object_set_new(t, "rerank", json_real(res->ms_rerank));
    json_object_set_new(t, "signals", json_real(res->ms_signals));
    json_object_set_new(t, "mmr", json_real(res->ms_mmr));
    json_object_set_new(t, "total", json_real(res->ms_total));
    json_object_set_new(o, "timing_ms", t);
    for (size_t r = 0; r < res->n; r++) {
        const fr_ranked *x = &res->items[r];
        json_t *h = json_object();
        json_object_set_new(h, "rank", json_integer((json_int_t)(r + 1)));
        json_object_set_new(h, "id", str_or_null(x->id));
        json_object_set_new(h, "title", str_or_null(x->title));
        json_object_set_new(h, "score", num_or_null(x->scored ? x->score : NAN));
        if (explain) {
            json_t *e = json_object();
            json_object_set_new(e, "bm25", json_real(x->bm25));
            json_object_set_new(e, "stage1_rank", json_integer((json_int_t)x->stage1_rank));
            json_object_set_new(e, "scored", json_boolean(x->scored));
            json_object_set_new(e, "semantic", num_or_null(x->semantic));
            json_object_set_new(e, "timeliness", num_or_null(x->timeliness));
            json_object_set_new(e, "authority", num_or_null(x->authority));
            json_object_set_new(e, "final", num_or_null(x->scored ? x->score : NAN));
            json_object_set_new(e, "max_sim", json_real(x->max_sim));
            json_object_set_new(e, "diversity_penalty", json_real(x->diversity_penalty));
            json_object_set_new(e, "mmr", num_or_null(x->scored ? x->mmr : NAN));
            json_object_set_new(e, "source", str_or_null(x->source));
            json_object_set_new(e, "date", str_or_null(x->date));
            json_object_set_new(h, "explain", e);
        }
        json_array_append_new(arr, h);
    }
    json_object_set_new(o, "results", arr);
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}
