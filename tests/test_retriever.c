/* test_retriever.c — the candidate stage in the library (src/rank/retriever.c) and the
 * pipeline's "retriever" config section: on a tiny index with the random-weight bi-encoder
 * tests/data/models/embed-bert-cls stored per segment, hybrid results equal RRF and the
 * weighted sum computed here by hand from the BM25 list (fr_index_search) and a dense list
 * made independently (the embedder called directly, dot products in double); the pipeline
 * with "retriever": "hybrid" yields the same candidates; filters hold on both lists; the
 * config fields parse from JSON and key=value and print back; concurrent pipeline runs on
 * one handle (the embedder loaded lazily, once) agree; hybrid with threads >= 2 (BM25 beside
 * the query embedding) returns exactly the sequential results, and the same error on an
 * index without embeddings.
 */
#include <pthread.h>

#include "finerank.h"
#include "index_util.h"
#include "test.h"

static const char *MODEL = "tests/data/models/embed-bert-cls";
#define NDOC 10

static const char *texts[NDOC] = {
    "cat food for young cats", "dogs bark loudly at night", "stock markets fell sharply",
    "a kitten is a young cat", "rain is expected tomorrow", "the bank raised interest rates",
    "young people and their pets", "dense retrieval uses embeddings", "cats chase mice",
    "the recipe needs two eggs"};

static fr_index *ix;
static fr_pipeline *pipe_;
static const char *QUERY = "young cat";

// The dense list by hand: every doc's passage ("title text"; no titles here) embedded with
// the model's passage prompt, the query with its query prompt (its dense layers in qdtype,
// -1: f32), dot products in double.
static size_t dense_by_hand_as(fr_embedder *e, const char *query, int qdtype, fr_hit *out) {
    float q[64], v[64];
    fr_embed_opts eo = fr_embed_opts_default();
    eo.prompt_name = "query";
    eo.dtype = qdtype;
    CHECK_EQ(fr_embedder_embed(e, &query, 1, &eo, q, NULL), 0);
    eo.prompt_name = "passage";
    eo.dtype = -1;
    for (int i = 0; i < NDOC; i++) {
        CHECK_EQ(fr_embedder_embed(e, &texts[i], 1, &eo, v, NULL), 0);
        double d = 0;
        for (int j = 0; j < fr_embedder_dim(e); j++) d += (double)q[j] * v[j];
        out[i] = (fr_hit){(uint32_t)i, d};
    }
    for (int i = 0; i < NDOC; i++)  // selection sort: score desc, doc asc
        for (int j = i + 1; j < NDOC; j++)
            if (out[j].score > out[i].score || (out[j].score == out[i].score && out[j].doc < out[i].doc)) {
                fr_hit t = out[i]; out[i] = out[j]; out[j] = t;
            }
    return NDOC;
}
static size_t dense_by_hand(fr_embedder *e, const char *query, fr_hit *out) {
    return dense_by_hand_as(e, query, -1, out);
}

static double rank_term(const fr_hit *l, size_t n, uint32_t doc, double k) {
    for (size_t r = 0; r < n; r++)
        if (l[r].doc == doc) return 1.0 / (k + (double)(r + 1));
    return 0;
}

static double norm_term(const fr_hit *l, size_t n, uint32_t doc) {
    double mn = 0, mx = 0;
    for (size_t r = 0; r < n; r++) {
        if (!r || l[r].score < mn) mn = l[r].score;
        if (!r || l[r].score > mx) mx = l[r].score;
    }
    for (size_t r = 0; r < n; r++)
        if (l[r].doc == doc) return mx > mn ? (l[r].score - mn) / (mx - mn) : 1.0;
    return -1;  // absent
}

// fused[i] for every doc, by hand; then the order (score desc, doc asc).
static void fuse_by_hand(const fr_hit *b, size_t nb, const fr_hit *d, size_t nd, int weighted,
                         double dw, fr_hit *out, size_t *n_out) {
    size_t n = 0;
    for (uint32_t doc = 0; doc < NDOC; doc++) {
        double s;
        int in = 0;
        if (weighted) {
            double x = norm_term(b, nb, doc), y = norm_term(d, nd, doc);
            in = x >= 0 || y >= 0;
            s = (x >= 0 ? (1 - dw) * x : 0) + (y >= 0 ? dw * y : 0);
        } else {
            double x = rank_term(b, nb, doc, 60), y = rank_term(d, nd, doc, 60);
            in = x > 0 || y > 0;
            s = x + y;
        }
        if (in) out[n++] = (fr_hit){doc, s};
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (out[j].score > out[i].score || (out[j].score == out[i].score && out[j].doc < out[i].doc)) {
                fr_hit t = out[i]; out[i] = out[j]; out[j] = t;
            }
    *n_out = n;
}

static void check_same(const fr_hit *got, size_t ng, const fr_hit *want, size_t nw, double tol) {
    CHECK_EQ(ng, nw);
    for (size_t i = 0; i < ng && i < nw; i++) {
        if (got[i].doc != want[i].doc || fabs(got[i].score - want[i].score) > tol)
            fprintf(stderr, "rank %zu: doc %u %.9f, want doc %u %.9f\n", i, got[i].doc,
                    got[i].score, want[i].doc, want[i].score);
        CHECK_EQ(got[i].doc, want[i].doc);
        CHECK(fabs(got[i].score - want[i].score) <= tol);
    }
}

static void test_fusion(fr_embedder *e) {
    fr_error err;
    fr_hit bm[NDOC], de[NDOC], want[2 * NDOC], got[2 * NDOC];
    size_t nb = 0, nw = 0, ng = 0;
    fr_search_opts so = fr_search_opts_default();
    so.k = 8;  // the lists' depth: BM25 matches fewer docs, so some are in one list only
    CHECK_EQ(fr_index_search(ix, QUERY, -1, &so, bm, &nb, &err), 0);
    CHECK(nb >= 3 && nb < 8);  // "young", "cat" match several docs
    dense_by_hand(e, QUERY, de);
    // dense alone: the library's list equals the hand-made one (F32 rows: 1e-5)
    fr_retriever_opts ro = fr_retriever_opts_default();
    ro.kind = FR_RETRIEVER_DENSE;
    so.k = NDOC;
    CHECK_EQ(fr_retrieve(ix, QUERY, &ro, &so, got, &ng, &err), 0);
    check_same(got, ng, de, NDOC, 1e-5);
    // hybrid RRF, depth max(5, k) = 8 from each list, k 8
    ro.kind = FR_RETRIEVER_HYBRID;
    ro.depth = 5;
    so.k = 8;
    fuse_by_hand(bm, nb, de, 8, 0, 0, want, &nw);
    CHECK(nw > 8);
    CHECK_EQ(fr_retrieve(ix, QUERY, &ro, &so, got, &ng, &err), 0);
    check_same(got, ng, want, nw < 8 ? nw : 8, 1e-12);
    // weighted, dense weight 0.7
    ro.fusion = FR_FUSE_WEIGHTED;
    ro.dense_weight = 0.7;
    fuse_by_hand(bm, nb, de, 8, 1, 0.7, want, &nw);
    CHECK_EQ(fr_retrieve(ix, QUERY, &ro, &so, got, &ng, &err), 0);
    check_same(got, ng, want, nw < 8 ? nw : 8, 1e-5);  // min-max stretches float dots
    // filters hold on both lists
    ro.fusion = FR_FUSE_RRF;
    so.source = "odd";
    so.k = NDOC;
    CHECK_EQ(fr_retrieve(ix, QUERY, &ro, &so, got, &ng, &err), 0);
    CHECK(ng >= 1);
    for (size_t i = 0; i < ng; i++) CHECK_EQ(got[i].doc % 2, 1);

    // the pipeline's candidates: hybrid, no fine sort, MMR off → exactly the fused list
    fr_pipeline_config cfg = fr_pipeline_config_default();
    const char *js = "{\"retriever\": {\"mode\": \"hybrid\", \"fusion_depth\": 5}, "
                     "\"candidates\": 8, \"k\": 8, \"reranker\": \"none\"}";
    CHECK_EQ(fr_pipeline_config_apply_json(&cfg, js, strlen(js), "t", &err), 0);
    CHECK_EQ(cfg.retriever.kind, FR_RETRIEVER_HYBRID);
    CHECK_EQ(cfg.retriever.depth, 5);
    fuse_by_hand(bm, nb, de, 8, 0, 0, want, &nw);  // depth max(5, candidates 8)
    fr_result res = {0};
    CHECK_EQ(fr_pipeline_run(pipe_, QUERY, &cfg, &res, &err), 0);
    CHECK_STR(res.retriever, "hybrid");
    CHECK_STR(res.reranker, "none");
    CHECK_EQ(res.n, nw < 8 ? nw : 8);
    for (size_t i = 0; i < res.n && i < nw; i++) {
        CHECK_EQ(res.items[i].doc, want[i].doc);
        CHECK(fabs(res.items[i].bm25 - want[i].score) < 1e-12);
    }
    char *json = fr_result_to_json(&res, QUERY, 0);
    CHECK(json && strstr(json, "\"retriever\":\"hybrid\"") != NULL);
    free(json);
    fr_result_free(&res);
    // retriever.nprobe (IVF lists per segment): default -1, "exact" = 0, a count, bad values
    // refused; serialised back as given
    cfg = fr_pipeline_config_default();
    CHECK_EQ(cfg.retriever.nprobe, -1);
    const char *jn = "{\"retriever\": {\"mode\": \"dense\", \"nprobe\": 8}}";
    CHECK_EQ(fr_pipeline_config_apply_json(&cfg, jn, strlen(jn), "t", &err), 0);
    CHECK_EQ(cfg.retriever.nprobe, 8);
    char *cj = fr_pipeline_config_to_json(&cfg);
    CHECK(cj && strstr(cj, "\"nprobe\": 8") != NULL);
    free(cj);
    CHECK_EQ(fr_pipeline_config_set(&cfg, "retriever.nprobe", "exact", &err), 0);
    CHECK_EQ(cfg.retriever.nprobe, 0);
    CHECK_EQ(fr_pipeline_config_set(&cfg, "retriever.nprobe", "default", &err), 0);
    CHECK_EQ(cfg.retriever.nprobe, -1);
    CHECK_EQ(fr_pipeline_config_set(&cfg, "retriever.nprobe", "-3", &err), FR_EINVAL);
    CHECK_EQ(fr_pipeline_config_set(&cfg, "retriever.nprobe", "many", &err), FR_EINVAL);
    // no IVF in this index: every nprobe is the exact scan
    fr_hit ex[NDOC], ap[NDOC];
    size_t ne = 0, na = 0;
    fr_retriever_opts rd = fr_retriever_opts_default();
    rd.kind = FR_RETRIEVER_DENSE;
    so = fr_search_opts_default();
    so.k = NDOC;
    CHECK_EQ(fr_retrieve(ix, QUERY, &rd, &so, ex, &ne, &err), 0);
    rd.nprobe = 1;
    CHECK_EQ(fr_retrieve(ix, QUERY, &rd, &so, ap, &na, &err), 0);
    CHECK_EQ(na, ne);
    for (size_t i = 0; i < na && i < ne; i++) CHECK(ap[i].doc == ex[i].doc && ap[i].score == ex[i].score);
    // dense through the pipeline; "auto" without a model reranks with "none"
    cfg = fr_pipeline_config_default();
    CHECK_EQ(fr_pipeline_config_set(&cfg, "retriever", "dense", &err), 0);
    cfg.candidates = NDOC;
    cfg.k = 3;
    CHECK_EQ(fr_pipeline_run(pipe_, QUERY, &cfg, &res, &err), 0);
    CHECK_STR(res.reranker, "none");
    CHECK_EQ(res.n, 3);
    for (size_t i = 0; i < res.n; i++) CHECK_EQ(res.items[i].doc, de[i].doc);
    fr_result_free(&res);
}

// threads 1 runs BM25, embedding, scan in sequence; 2 and 3 run BM25 on a second thread
// beside the embedding. Same hits, same scores (==), for both fusions, with and without filters.
static void test_overlap(void) {
    static const char *queries[] = {"young cat", "interest rates and markets", "zebra", "the"};
    fr_error err;
    for (size_t qi = 0; qi < sizeof queries / sizeof *queries; qi++)
        for (int fusion = 0; fusion < 2; fusion++)
            for (int filt = 0; filt < 2; filt++) {
                fr_hit want[NDOC], got[NDOC];
                size_t nw = 0, ng = 0;
                fr_retriever_opts ro = fr_retriever_opts_default();
                ro.kind = FR_RETRIEVER_HYBRID;
                ro.fusion = fusion ? FR_FUSE_WEIGHTED : FR_FUSE_RRF;
                ro.depth = 4;
                fr_search_opts so = fr_search_opts_default();
                so.k = 6;
                if (filt) so.source = "even";
                ro.threads = 1;
                CHECK_EQ(fr_retrieve(ix, queries[qi], &ro, &so, want, &nw, &err), 0);
                CHECK(nw >= 1);
                for (int t = 2; t <= 3; t++) {
                    ro.threads = t;
                    CHECK_EQ(fr_retrieve(ix, queries[qi], &ro, &so, got, &ng, &err), 0);
                    CHECK_EQ(ng, nw);
                    for (size_t i = 0; i < ng && i < nw; i++) {
                        CHECK_EQ(got[i].doc, want[i].doc);
                        CHECK(got[i].score == want[i].score);
                    }
                }
            }
}

// An index without embeddings: the same error whichever order hybrid runs in.
static void test_overlap_error(void) {
    char dir[256];
    if (!tmp_dir(dir, sizeof dir, "retriever_noemb")) { CHECK(0); return; }
    fr_index_opts o = fr_index_opts_default();
    o.threads = 1;
    fr_index *w = NULL, *r = NULL;
    fr_error err;
    CHECK_EQ(fr_index_build(dir, &o, &w, &err), 0);
    const char *doc = "{\"id\":\"a\",\"text\":\"young cat\"}";
    CHECK_EQ(fr_index_add(w, doc, strlen(doc), &err), 0);
    CHECK_EQ(fr_index_commit(w, &err), 0);
    fr_index_close(w);
    CHECK_EQ(fr_index_open(dir, NULL, &r, &err), 0);
    fr_retriever_opts ro = fr_retriever_opts_default();
    ro.kind = FR_RETRIEVER_HYBRID;
    fr_hit hits[4];
    size_t n = 99;
    char msg1[sizeof err.msg];
    CHECK_EQ(fr_retrieve(r, "young cat", &ro, NULL, hits, &n, &err), FR_EINVAL);
    CHECK_EQ(n, 0);
    snprintf(msg1, sizeof msg1, "%s", err.msg);
    ro.threads = 2;
    n = 99;
    CHECK_EQ(fr_retrieve(r, "young cat", &ro, NULL, hits, &n, &err), FR_EINVAL);
    CHECK_EQ(n, 0);
    CHECK_STR(err.msg, msg1);
    fr_index_close(r);
    rm_rf(dir);
}

static void test_config(void) {
    fr_error err;
    fr_pipeline_config c = fr_pipeline_config_default();
    CHECK_EQ(c.retriever.kind, FR_RETRIEVER_BM25);
    CHECK_EQ(c.retriever.depth, 100);
    CHECK(c.retriever.rrf_k == 60 && c.retriever.dense_weight == 0.5);
    CHECK_EQ(fr_pipeline_config_set(&c, "retriever.fusion", "weighted", &err), 0);
    CHECK_EQ(c.retriever.fusion, FR_FUSE_WEIGHTED);
    CHECK_EQ(fr_pipeline_config_set(&c, "retriever.rrf_k", "10", &err), 0);
    CHECK_EQ(fr_pipeline_config_set(&c, "retriever.dense_weight", "1.5", &err), FR_ERANGE);
    CHECK_EQ(fr_pipeline_config_set(&c, "retriever", "sparse", &err), FR_EINVAL);
    CHECK(strstr(err.msg, "bm25, dense or hybrid") != NULL);
    const char *bad = "{\"retriever\": {\"mode\": \"hybrid\", \"depht\": 3}}";
    CHECK_EQ(fr_pipeline_config_apply_json(&c, bad, strlen(bad), "req", &err), FR_EINVAL);
    CHECK(strstr(err.msg, "retriever.depht") != NULL);
    const char *ok = "{\"retriever\": \"hybrid\"}";
    CHECK_EQ(fr_pipeline_config_apply_json(&c, ok, strlen(ok), "req", &err), 0);
    CHECK_EQ(c.retriever.kind, FR_RETRIEVER_HYBRID);
    char *s = fr_pipeline_config_to_json(&c);
    fr_pipeline_config back = fr_pipeline_config_default();
    CHECK(s != NULL);
    CHECK_EQ(fr_pipeline_config_apply_json(&back, s, strlen(s), "roundtrip", &err), 0);
    CHECK_EQ(back.retriever.kind, FR_RETRIEVER_HYBRID);
    CHECK_EQ(back.retriever.fusion, FR_FUSE_WEIGHTED);
    CHECK(back.retriever.rrf_k == 10);
    CHECK_EQ(back.retriever.query_dtype, FR_DTYPE_F32);
    free(s);
    CHECK_EQ(fr_pipeline_config_set(&c, "retriever.query_dtype", "int8", &err), 0);
    CHECK_EQ(c.retriever.query_dtype, FR_DTYPE_INT8);
    CHECK_EQ(fr_pipeline_config_set(&c, "retriever.query_dtype", "int4", &err), FR_EINVAL);
    CHECK(strstr(err.msg, "f32, bf16 or int8") != NULL);
    s = fr_pipeline_config_to_json(&c);
    CHECK(s && strstr(s, "\"query_dtype\": \"int8\"") != NULL);
    back = fr_pipeline_config_default();
    CHECK_EQ(fr_pipeline_config_apply_json(&back, s, strlen(s), "roundtrip", &err), 0);
    CHECK_EQ(back.retriever.query_dtype, FR_DTYPE_INT8);
    free(s);
}

// query_dtype int8 / bf16: the query embedded in that type against the f32 document vectors,
// in fr_retrieve (dense, hybrid in sequence and overlapped) and through the pipeline config.
static void test_query_dtype(fr_embedder *e) {
    fr_error err;
    fr_hit want[NDOC], got[2 * NDOC], seq[2 * NDOC], f32[NDOC];
    size_t ng = 0, ns = 0;
    dense_by_hand(e, QUERY, f32);
    for (fr_dtype dt = FR_DTYPE_BF16; dt <= FR_DTYPE_INT8; dt++) {
        fr_retriever_opts ro = fr_retriever_opts_default();
        ro.kind = FR_RETRIEVER_DENSE;
        ro.query_dtype = dt;
        CHECK_EQ(fr_retriever_prepare(ix, &ro, &err), 0);
        fr_search_opts so = fr_search_opts_default();
        so.k = NDOC;
        dense_by_hand_as(e, QUERY, (int)dt, want);
        CHECK_EQ(fr_retrieve(ix, QUERY, &ro, &so, got, &ng, &err), 0);
        check_same(got, ng, want, NDOC, 1e-5);
        // every document's score is the f32 query's within 5e-3 (a unit-norm model: cosines;
        // this tiny random model has near-ties, so ranks may swap)
        double worst = 0;
        for (size_t i = 0; i < ng; i++)
            for (int j = 0; j < NDOC; j++)
                if (f32[j].doc == got[i].doc && fabs(got[i].score - f32[j].score) > worst)
                    worst = fabs(got[i].score - f32[j].score);
        printf("query_dtype %s: max |score - f32 score| %.2e\n", fr_dtype_name(dt), worst);
        CHECK(worst < 5e-3);
        // hybrid: overlapped (threads 2) equals in sequence
        ro.kind = FR_RETRIEVER_HYBRID;
        so.k = 8;
        ro.threads = 1;
        CHECK_EQ(fr_retrieve(ix, QUERY, &ro, &so, seq, &ns, &err), 0);
        ro.threads = 2;
        CHECK_EQ(fr_retrieve(ix, QUERY, &ro, &so, got, &ng, &err), 0);
        check_same(got, ng, seq, ns, 0);
    }
    fr_retriever_opts bad = fr_retriever_opts_default();
    bad.kind = FR_RETRIEVER_DENSE;
    bad.query_dtype = (fr_dtype)5;
    CHECK_EQ(fr_retrieve(ix, QUERY, &bad, NULL, got, &ng, &err), FR_EINVAL);
    CHECK(strstr(err.msg, "query_dtype") != NULL);
    // the pipeline: "query_dtype" in the retriever section
    fr_pipeline_config cfg = fr_pipeline_config_default();
    const char *js = "{\"retriever\": {\"mode\": \"dense\", \"query_dtype\": \"int8\"}, "
                     "\"candidates\": 10, \"k\": 3, \"reranker\": \"none\"}";
    CHECK_EQ(fr_pipeline_config_apply_json(&cfg, js, strlen(js), "t", &err), 0);
    CHECK_EQ(cfg.retriever.query_dtype, FR_DTYPE_INT8);
    dense_by_hand_as(e, QUERY, FR_DTYPE_INT8, want);
    fr_result res = {0};
    CHECK_EQ(fr_pipeline_run(pipe_, QUERY, &cfg, &res, &err), 0);
    CHECK_EQ(res.n, 3);
    for (size_t i = 0; i < res.n; i++) CHECK_EQ(res.items[i].doc, want[i].doc);
    fr_result_free(&res);
}

// ---- concurrency ----
typedef struct { uint32_t docs[NDOC]; size_t n; int rc; } run_out;

static void *runner(void *arg) {
    run_out *o = arg;
    fr_pipeline_config cfg = fr_pipeline_config_default();
    cfg.retriever.kind = FR_RETRIEVER_HYBRID;
    cfg.reranker = FR_RERANK_NONE;
    cfg.k = 5;
    for (int it = 0; it < 20 && o->rc == 0; it++) {
        fr_result res = {0};
        o->rc = fr_pipeline_run(pipe_, QUERY, &cfg, &res, NULL);
        o->n = res.n;
        for (size_t i = 0; i < res.n; i++) o->docs[i] = res.items[i].doc;
        fr_result_free(&res);
    }
    return NULL;
}

static void test_threads(const char *dir) {
    // a fresh handle: the embedder is first loaded by racing queries
    fr_pipeline_free(pipe_);
    fr_index_close(ix);
    fr_error err;
    CHECK_EQ(fr_index_open(dir, NULL, &ix, &err), 0);
    CHECK_EQ(fr_pipeline_new(ix, NULL, &pipe_, &err), 0);
    run_out o[4] = {{{0}, 0, 0}};
    pthread_t t[4];
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, runner, &o[i]);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < 4; i++) {
        CHECK_EQ(o[i].rc, 0);
        CHECK_EQ(o[i].n, 5);
        CHECK(!memcmp(o[i].docs, o[0].docs, sizeof o[0].docs));
    }
}

int main(void) {
    fr_embedder *e = NULL;
    fr_error err;
    char dir[256];
    if (fr_embedder_open(MODEL, NULL, &e, &err) < 0 || !tmp_dir(dir, sizeof dir, "retriever")) {
        CHECK(0);
        return TEST_REPORT();
    }
    fr_index_opts o = fr_index_opts_default();
    o.embed_model = MODEL;
    o.threads = 1;
    fr_index *w = NULL;
    CHECK_EQ(fr_index_build(dir, &o, &w, &err), 0);
    char buf[256];
    for (int i = 0; i < NDOC; i++) {
        snprintf(buf, sizeof buf, "{\"id\":\"d%d\",\"text\":\"%s\",\"source\":\"%s\"}", i,
                 texts[i], i % 2 ? "odd" : "even");
        CHECK_EQ(fr_index_add(w, buf, strlen(buf), &err), 0);
        if (i == 4) CHECK_EQ(fr_index_commit(w, &err), 0);  // two segments
    }
    CHECK_EQ(fr_index_commit(w, &err), 0);
    fr_index_close(w);
    CHECK_EQ(fr_index_open(dir, NULL, &ix, &err), 0);
    CHECK_EQ(fr_pipeline_new(ix, NULL, &pipe_, &err), 0);
    test_fusion(e);
    test_config();
    test_query_dtype(e);
    test_overlap();
    test_overlap_error();
    test_threads(dir);
    fr_pipeline_free(pipe_);
    fr_index_close(ix);
    fr_embedder_free(e);
    rm_rf(dir);
    return TEST_REPORT();
}
