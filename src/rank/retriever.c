/* retriever.c — the candidate stage of hybrid retrieval: BM25, dense, or both fused.
 *
 *   bm25    fr_index_search (the analyzed query; the pipeline adds synonyms and RM3)
 *   dense   the query embedded with the index's recorded model and query prompt
 *           (fr_index_embed_query), exact top-k by dot product over every segment's stored
 *           vectors (fr_index_search_dense); tombstoned documents never appear
 *   hybrid  max(depth, k) hits from each, fused (src/rank/fusion.c): RRF with rrf_k, or the
 *           min-max normalised weighted sum with weights (1 - dense_weight, dense_weight);
 *           the top k of the fused list
 * Filters (date, source, lang) apply to both lists, so a filtered-out document cannot come
 * back through the dense side. Scores: BM25, the dot product, or the fused score.
 * query_dtype: the query is embedded with the dense layers in int8 or bf16 (the index's one
 * embedder, its weights packed for that type once, fr_embedder_prepare) while the stored
 * document vectors stay whatever they were built as: a 10-token MiniLM-L6 query costs ~0.9 ms
 * in int8 against ~4.4 ms in f32 with the weights cold (bench/embed/README.md, "Query dtype").
 * Workload: one query per call, k and depth 10..1000; the embedder (one short text, one
 * thread) and the dense scan dominate. The index handle holds the embedder, loaded once, and
 * every call only reads shared state, so concurrent calls are safe.
 *
 * Hybrid with threads >= 2: BM25 runs on a second thread while this one embeds the query and
 * runs the dense scan (`threads` threads; the two sides share nothing but the read-only
 * index), then fusion. So a hybrid query costs max(BM25, embedding + scan) + fusion: with an
 * int8 query (~0.9 ms) and an IVF scan (~1 ms) that is about BM25's own ~2 ms at 1M documents
 * (issue 8's "hybrid adds <= 50% to BM25"; bench/embed/README.md). The scan used to wait for
 * BM25, which only pays when the scan is the exact one and wants both cores. The lists, and
 * so the fused result, are the ones the sequential order computes (tests/test_retriever.c
 * compares them); on failure the error is the one the sequential order would report (BM25's
 * first). threads = 1 stays sequential: a server running one request per core gains nothing
 * from splitting one.
 */
#include <pthread.h>
#include <string.h>

#include "base/base.h"
#include "index/index_impl.h"  // fr__index_embedder, fr__index_embed_query: the index's embedder

fr_retriever_opts fr_retriever_opts_default(void) {
    fr_retriever_opts o;
    memset(&o, 0, sizeof o);
    o.kind = FR_RETRIEVER_BM25;
    o.fusion = FR_FUSE_RRF;
    o.rrf_k = 60;
    o.dense_weight = 0.5;
    o.depth = 100;
    o.threads = 1;
    o.nprobe = -1;
    return o;
}

int fr_retriever_fuse(const fr_retriever_opts *ro, const fr_hit *bm25, size_t nb,
                      const fr_hit *dense, size_t nd, fr_hit *out, size_t *n_out,
                      fr_error *err) {
    fr_fuse_opts fo = fr_fuse_opts_default();
    fo.method = ro->fusion;
    fo.rrf_k = ro->rrf_k;
    double w[2] = {1 - ro->dense_weight, ro->dense_weight};
    if (ro->fusion == FR_FUSE_WEIGHTED) fo.weights = w;
    const fr_hit *lists[2] = {bm25, dense};
    size_t lens[2] = {nb, nd};
    return fr_fuse(lists, lens, 2, &fo, out, n_out, err);
}

int fr_retriever_prepare(fr_index *ix, const fr_retriever_opts *ro, fr_error *err) {
    fr_index_embedding em;
    if (!ro || ro->kind == FR_RETRIEVER_BM25 || fr_index_embedding_get(ix, &em, NULL) < 0) return 0;
    fr_embedder *e;
    int rc = fr__index_embedder(ix, &e, err);
    return rc < 0 ? rc : fr_embedder_prepare(e, ro->query_dtype, err);
}

// The query's embedding. OUT: *q (the index's dim floats; caller frees; NULL when the index
// has no embeddings, which the scan reports).
static int embed(fr_index *ix, const char *query, fr_dtype dtype, float **q, fr_error *err) {
    fr_index_embedding em;
    *q = NULL;
    if (fr_index_embedding_get(ix, &em, NULL) < 0) return 0;  // the scan names the backfill
    if (!(*q = malloc((size_t)em.dim * sizeof **q))) return fr__err(err, FR_ENOMEM, "retriever: out of memory");
    int rc = fr__index_embed_query(ix, query, (int)dtype, *q, err);
    if (rc < 0) {
        free(*q);
        *q = NULL;
    }
    return rc;
}

// Dense top so->k for an embedded query (q NULL: the index has no embeddings, and the scan
// returns the error that names the backfill). OUT: hits (so->k), *n.
static int scan(fr_index *ix, const float *q, const fr_search_opts *so, int threads, fr_hit *hits,
                size_t *n, fr_error *err) {
    float none = 0;
    *n = 0;
    return fr_index_search_dense(ix, q ? q : &none, so, threads, hits, n, err);
}

static int dense(fr_index *ix, const char *query, const fr_retriever_opts *ro,
                 const fr_search_opts *so, fr_hit *hits, size_t *n, fr_error *err) {
    float *q;
    int rc = embed(ix, query, ro->query_dtype, &q, err);
    if (rc == 0) rc = scan(ix, q, so, ro->threads, hits, n, err);
    free(q);
    return rc;
}

typedef struct bm25_job {
    fr_index *ix;
    const char *query;
    const fr_search_opts *so;
    fr_hit *hits;  // so->k
    size_t n;
    int rc;
    fr_error err;
} bm25_job;

static void *bm25_run(void *arg) {
    bm25_job *j = arg;
    j->rc = fr_index_search(j->ix, j->query, -1, j->so, j->hits, &j->n, &j->err);
    return NULL;
}

int fr_retrieve(fr_index *ix, const char *query, const fr_retriever_opts *ro,
                const fr_search_opts *so, fr_hit *hits, size_t *n_hits, fr_error *err) {
    fr_retriever_opts def = fr_retriever_opts_default();
    fr_search_opts sdef = fr_search_opts_default();
    if (!ro) ro = &def;
    if (!so) so = &sdef;
    fr_search_opts sp = *so;  // the retriever's nprobe wins (so's is BM25 callers' default)
    sp.nprobe = ro->nprobe;
    so = &sp;
    *n_hits = 0;
    if (!query) return fr__err(err, FR_EINVAL, "retriever: no query");
    if (ro->kind == FR_RETRIEVER_BM25) return fr_index_search(ix, query, -1, so, hits, n_hits, err);
    if ((unsigned)ro->query_dtype > FR_DTYPE_INT8)
        return fr__err(err, FR_EINVAL, "retriever: unknown query_dtype %d", (int)ro->query_dtype);
    if (ro->kind == FR_RETRIEVER_DENSE) return dense(ix, query, ro, so, hits, n_hits, err);
    if (ro->kind != FR_RETRIEVER_HYBRID)
        return fr__err(err, FR_EINVAL, "retriever: unknown kind %d", (int)ro->kind);
    size_t k = so->k, depth = ro->depth > k ? ro->depth : k, nd = 0, n = 0;
    fr_hit *buf = malloc((4 * depth + 1) * sizeof *buf);  // BM25, dense, fused (2 depth)
    if (!buf) return fr__err(err, FR_ENOMEM, "retriever: out of memory");
    fr_search_opts o = *so;
    o.k = depth;
    bm25_job bj = {.ix = ix, .query = query, .so = &o, .hits = buf};
    pthread_t tid;
    int overlap = ro->threads > 1 && pthread_create(&tid, NULL, bm25_run, &bj) == 0;
    if (!overlap) bm25_run(&bj);
    float *q = NULL;
    int rc = overlap ? 0 : bj.rc;  // sequential: no embedding after a failed BM25 (overlapped:
                                   // bj.rc is the other thread's until the join)
    if (overlap || rc == 0) rc = embed(ix, query, ro->query_dtype, &q, err);
    if (rc == 0) rc = scan(ix, q, &o, ro->threads, buf + depth, &nd, err);
    if (overlap) pthread_join(tid, NULL);
    if (bj.rc < 0) {
        rc = bj.rc;
        if (err) *err = bj.err;
    }
    if (rc == 0) rc = fr_retriever_fuse(ro, buf, bj.n, buf + depth, nd, buf + 2 * depth, &n, err);
    if (rc == 0) {
        *n_hits = n < k ? n : k;
        memcpy(hits, buf + 2 * depth, *n_hits * sizeof *hits);
    }
    free(q);
    free(buf);
    return rc;
}
