/* bench_hybrid.c INDEX QUERIES [MODEL] [K=1000] [NQ=200] [DTYPES=f32] [NPROBE=0] — does hybrid retrieval stay within
 * 1.5x of BM25's latency (issue 8)? Per query, one thread for BM25, as `finerank search`:
 *   bm25    fr_index_search top-K
 *   dense   fr_vecs_search top-K over one int8 row per document (random unit vectors of 384
 *           dims stand in for the embeddings: the scan costs the same), 2 threads. The library's
 *           fr_index_search_dense drops deleted documents by a bitmap test per hit
 *           (src/index/search.c); this index has none, so the hits are taken as they are (this
 *           stage used to fetch every hit's stored document with fr_index_doc, ~0.3 ms per
 *           query that the library does not spend)
 *   embed   with MODEL (a bi-encoder directory, e.g. make_minilm_embed.py's MiniLM-L6 shape):
 *           fr_embedder_embed of the query text, 2 threads
 *   hybrid  bm25 + [embed +] dense + fr_fuse (RRF, k = 60) of the two top-K lists, in sequence
 *           (the order fr_retrieve runs them with threads = 1, and main's fr_retrieve always)
 *   hybrid, overlapped  bm25 on a second thread while this one embeds the query and runs the
 *           dense scan (2 threads), then fusion: the order fr_retrieve (src/rank/retriever.c)
 *           runs them with threads >= 2. Its fused list is checked against the sequential one.
 *   dense, no embedding before it  the same scan again right after a BM25 search (per query,
 *           interleaved with the above): does the embedder slow the scan that follows it?
 *   embed query, DTYPE  with DTYPES a comma list (f32,bf16,int8): per dtype, a dense scan
 *           (it evicts the weights from the caches, as between two real queries) and then
 *           fr_embedder_embed of the query on one thread with an embedder opened with that
 *           dtype: per-query latency with cold weights, the dtypes interleaved per query. Also
 *           min / mean cosine of each dtype's embedding to f32's (when listed; else the
 *           first's). The other stages embed with the first dtype.
 * fr_retrieve's defaults are depth 100 and a 1-thread scan; this measures top-K lists and a
 * 2-thread scan. p50 / p99 in ms over NQ queries (the first NQ of QUERIES, {"text": ...} lines)
 * after one warm-up pass, and hybrid p50 / bm25 p50. Link against two builds of libfinerank
 * to compare them in one run (bench/embed/run.sh does). Prints a markdown table row per stage.
 * Built with -DBENCH_IVF (this tree only: it links src/index/ivf.c's internal entry points) and
 * NPROBE > 0, the dense stage scans an IVF index over the rows instead (src/index/ivf.c,
 * automatic lists, built before the timed passes) probing NPROBE lists, as `--ann ivf` segments
 * are searched; the mean share of rows scanned is printed (random rows make balanced lists:
 * on clustered data a given nprobe scans more rows, bench_ivf.c measures that and recall).
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "finerank.h"
#include "../bench.h"
#ifdef BENCH_IVF
#include <unistd.h>

#include "base/base.h"
#include "index/ivf.h"
static fr__ivf *ivf;        // NULL: exact scans
static uint32_t nprobe;
static double scanned;      // rows scanned, summed over dense_run calls
static size_t n_scans;
#endif

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static float gauss(void) {  // a sum of 4 uniforms: random directions, cheap to draw 4e8 times
    double u = 0;
    for (int i = 0; i < 4; i++) {
        rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
        u += (double)(rng >> 11) / 9007199254740992.0;
    }
    return (float)(u - 2);
}
static void unit(float *x, int d) {
    double s = 0;
    for (int i = 0; i < d; i++) { x[i] = gauss(); s += (double)x[i] * x[i]; }
    for (int i = 0; i < d; i++) x[i] = (float)(x[i] / sqrt(s));
}
static void die(const char *what, fr_error *err) {
    fprintf(stderr, "bench_hybrid: %s: %s\n", what, err->msg);
    exit(1);
}

enum { BM25, EMBED, DENSE, FUSE, HYBRID, OVERLAP, DENSE_ALONE, NSTAGE };
#define MAXDT 4

typedef struct { fr_index *ix; const char *q; const fr_search_opts *so; fr_hit *hits; size_t n; } bm25_job;
static void *bm25_run(void *arg) {
    bm25_job *j = arg;
    fr_error err;
    if (fr_index_search(j->ix, j->q, -1, j->so, j->hits, &j->n, &err) < 0) die("search", &err);
    return NULL;
}

// dense top-K of query vector qv over v (the index has no deleted documents). OUT: dn, *nd.
static void dense_run(fr_index *ix, const fr_vecs *v, const float *qv, size_t K, fr_vec_hit *vh,
                      fr_hit *dn, size_t *nd) {
    (void)ix;
    fr_error err;
    size_t nv;
    *nd = 0;
#ifdef BENCH_IVF
    if (ivf) {
        size_t m = 0;
        if (fr__ivf_search(ivf, v, qv, K, nprobe, 2, vh, &nv, &m, &err) < 0) die("ivf search", &err);
        scanned += (double)m;
        n_scans++;
    } else
#endif
    if (fr_vecs_search(v, qv, K, 2, vh, &nv, &err) < 0) die("vecs search", &err);
    for (size_t i = 0; i < nv; i++) dn[(*nd)++] = (fr_hit){vh[i].id, vh[i].score};
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: bench_hybrid INDEX QUERIES [MODEL|-] [K=1000] [NQ=200] [DTYPES=f32] [NPROBE=0]\n");
        return 2;
    }
    const char *model = argc > 3 && strcmp(argv[3], "-") ? argv[3] : NULL;
    size_t K = argc > 4 ? strtoull(argv[4], 0, 10) : 1000, NQ = argc > 5 ? strtoull(argv[5], 0, 10) : 200;
    const int D = 384;
    fr_dtype dts[MAXDT];
    int ndt = 0;
    {
        char buf[256];
        snprintf(buf, sizeof buf, "%s", argc > 6 ? argv[6] : "f32");
        for (char *t = strtok(buf, ","); t && ndt < MAXDT; t = strtok(NULL, ","))
            if (fr_dtype_parse(t, &dts[ndt++]) < 0) { fprintf(stderr, "bench_hybrid: dtype %s?\n", t); return 2; }
        if (!ndt) dts[ndt++] = FR_DTYPE_F32;
    }
    fr_error err;
    fr_index *ix = NULL;
    if (fr_index_open(argv[1], NULL, &ix, &err) < 0) die(argv[1], &err);
    size_t N = fr_index_n_docs(ix);
    // queries
    FILE *f = fopen(argv[2], "r");
    if (!f) { perror(argv[2]); return 1; }
    char **qs = calloc(NQ, sizeof *qs), line[4096];
    size_t nq = 0;
    while (nq < NQ && fgets(line, sizeof line, f)) {
        char *t = strstr(line, "\"text\": \"");
        if (!t) continue;
        t += 9;
        char *e = strchr(t, '"');
        if (e) *e = 0;
        qs[nq++] = strdup(t);
    }
    fclose(f);
    // one int8 row per document, and one query vector per query
    fr_vecs *v = NULL;
    if (fr_vecs_new(D, FR_VEC_I8, &v, &err) < 0) die("vecs", &err);
    float *chunk = malloc(4096 * (size_t)D * sizeof *chunk), *qv = malloc(nq * (size_t)D * sizeof *qv);
    for (size_t s = 0; s < N; s += 4096) {
        size_t m = N - s < 4096 ? N - s : 4096;
        for (size_t i = 0; i < m; i++) unit(chunk + i * D, D);
        if (fr_vecs_add(v, chunk, m, &err) < 0) die("add", &err);
    }
    for (size_t j = 0; j < nq; j++) unit(qv + j * D, D);
    char *ivf_data = NULL;
#ifdef BENCH_IVF
    nprobe = argc > 7 ? (uint32_t)strtoul(argv[7], 0, 10) : 0;
    if (nprobe) {
        char path[] = "/tmp/finerank-bench-hybrid.ivf";
        size_t len = 0;
        double t0 = now();
        if (fr__ivf_build(v, 0, 0, path, 0, &err) < 0 || fr__read_file(path, &ivf_data, &len, &err) < 0 ||
            fr__ivf_view(ivf_data, len, path, 1, v, 0, &ivf, &err) < 0)
            die("ivf", &err);
        unlink(path);
        fprintf(stderr, "bench_hybrid: IVF of %u lists built in %.1f s; nprobe %u\n", fr__ivf_lists(ivf),
                now() - t0, nprobe);
    }
#endif
    fr_embedder *embs[MAXDT] = {0}, *emb = NULL;
    for (int t = 0; model && t < ndt; t++) {
        fr_embedder_opts eo = fr_embedder_opts_default();
        eo.threads = 2;
        eo.dtype = dts[t];
        if (fr_embedder_open(model, &eo, &embs[t], &err) < 0) die(model, &err);
        if (fr_embedder_dim(embs[t]) != D) { fprintf(stderr, "bench_hybrid: model dim is not %d\n", D); return 1; }
        fr_embedder_info inf;
        fr_embedder_get_info(embs[t], &inf);
        fprintf(stderr, "bench_hybrid: embedder %s: kernels %s\n", inf.compute_dtype, inf.kernel_isa);
    }
    emb = embs[0];
    int ref = 0;  // the embeddings cosines compare with: f32's when listed
    for (int t = 0; t < ndt; t++)
        if (dts[t] == FR_DTYPE_F32) ref = t;
    double *elat[MAXDT], cos_min[MAXDT], cos_sum[MAXDT];
    float *qd[MAXDT];
    for (int t = 0; t < ndt; t++) {
        elat[t] = calloc(nq, sizeof(double));
        qd[t] = malloc((size_t)D * sizeof(float));
        cos_min[t] = 2;
        cos_sum[t] = 0;
    }
    fr_hit *bm = malloc(K * sizeof *bm), *dn = malloc(K * sizeof *dn), *fused = malloc(2 * K * sizeof *fused);
    fr_vec_hit *vh = malloc(K * sizeof *vh);
    float *qe = malloc((size_t)D * sizeof *qe);
    double *lat[NSTAGE];
    for (int s = 0; s < NSTAGE; s++) lat[s] = calloc(nq, sizeof(double));
    fr_search_opts so = fr_search_opts_default();
    so.k = K;
    fr_fuse_opts fo = fr_fuse_opts_default();
    fr_hit *bm2 = malloc(K * sizeof *bm2), *dn2 = malloc(K * sizeof *dn2), *fused2 = malloc(2 * K * sizeof *fused2);
    for (int pass = 0; pass < 2; pass++)  // pass 0 warms the page cache and the allocator
        for (size_t j = 0; j < nq; j++) {
            size_t nb, nf, nd = 0;
            double t0 = now();
            if (fr_index_search(ix, qs[j], -1, &so, bm, &nb, &err) < 0) die("search", &err);
            double t1 = now();
            fr_embed_opts eo = fr_embed_opts_default();
            if (emb && fr_embedder_embed(emb, (const char *const *)&qs[j], 1, &eo, qe, &err) < 0) die("embed", &err);
            double t2 = now();
            dense_run(ix, v, qv + j * D, K, vh, dn, &nd);
            double t3 = now();
            const fr_hit *lists[2] = {bm, dn};
            size_t lens[2] = {nb, nd};
            if (fr_fuse(lists, lens, 2, &fo, fused, &nf, &err) < 0) die("fuse", &err);
            double t4 = now();
            lat[BM25][j] = (t1 - t0) * 1e3;
            lat[EMBED][j] = (t2 - t1) * 1e3;
            lat[DENSE][j] = (t3 - t2) * 1e3;
            lat[FUSE][j] = (t4 - t3) * 1e3;
            lat[HYBRID][j] = (t4 - t0) * 1e3;
            // overlapped: BM25 on a second thread beside the embedding and the dense scan
            size_t nd2 = 0, nf2;
            t0 = now();
            bm25_job bj = {ix, qs[j], &so, bm2, 0};
            pthread_t tid;
            if (pthread_create(&tid, NULL, bm25_run, &bj) != 0) { fprintf(stderr, "pthread_create\n"); return 1; }
            if (emb && fr_embedder_embed(emb, (const char *const *)&qs[j], 1, &eo, qe, &err) < 0) die("embed", &err);
            dense_run(ix, v, qv + j * D, K, vh, dn2, &nd2);
            pthread_join(tid, NULL);
            const fr_hit *lists2[2] = {bm2, dn2};
            size_t lens2[2] = {bj.n, nd2};
            if (fr_fuse(lists2, lens2, 2, &fo, fused2, &nf2, &err) < 0) die("fuse", &err);
            lat[OVERLAP][j] = (now() - t0) * 1e3;
            int same = nf2 == nf;
            for (size_t i = 0; same && i < nf; i++)
                same = fused[i].doc == fused2[i].doc && fused[i].score == fused2[i].score;
            if (!same) {
                fprintf(stderr, "bench_hybrid: query %zu: overlapped fusion differs\n", j);
                return 1;
            }
            // the same scan after BM25 alone, interleaved with the above so that load changes
            // over the run hit both measurements alike
            if (fr_index_search(ix, qs[j], -1, &so, bm2, &nb, &err) < 0) die("search", &err);
            t0 = now();
            dense_run(ix, v, qv + j * D, K, vh, dn2, &nd2);
            lat[DENSE_ALONE][j] = (now() - t0) * 1e3;
            // per dtype: a scan (cold weights), then one embedding on one thread
            for (int t = 0; model && t < ndt; t++) {
                dense_run(ix, v, qv + j * D, K, vh, dn2, &nd2);
                fr_embed_opts e1 = fr_embed_opts_default();
                e1.threads = 1;
                t0 = now();
                if (fr_embedder_embed(embs[t], (const char *const *)&qs[j], 1, &e1, qd[t], &err) < 0) die("embed", &err);
                elat[t][j] = (now() - t0) * 1e3;
            }
            for (int t = 0; model && pass == 1 && t < ndt; t++) {
                double dot = 0, n0 = 0, n1 = 0;
                for (int c = 0; c < D; c++) {
                    dot += (double)qd[ref][c] * qd[t][c];
                    n0 += (double)qd[ref][c] * qd[ref][c];
                    n1 += (double)qd[t][c] * qd[t][c];
                }
                double cs = dot / sqrt(n0 * n1);
                cos_sum[t] += cs;
                if (cs < cos_min[t]) cos_min[t] = cs;
            }
        }
#ifdef BENCH_IVF
    if (ivf) printf("| %zu | top-%zu | dense: IVF, nprobe %u of %u lists, %.1f%% of the rows scanned | | |\n", N, K,
                    nprobe, fr__ivf_lists(ivf), 100.0 * scanned / (double)n_scans / (double)N);
#endif
    static const char *names[] = {"bm25", "embed query", "dense int8 (2 threads)", "rrf fusion",
                                  "hybrid, in sequence", "hybrid, bm25 beside embedding + scan",
                                  "dense int8 (2 threads), no embedding before it"};
    double p50[NSTAGE];
    for (int s = 0; s < NSTAGE; s++) {
        qsort(lat[s], nq, sizeof(double), cmpd);
        p50[s] = lat[s][nq / 2];
        if (s == EMBED && !emb) continue;
        printf("| %zu | top-%zu | %s | %.2f | %.2f |\n", N, K, names[s], p50[s], lat[s][(size_t)(0.99 * (double)(nq - 1))]);
    }
    printf("| %zu | top-%zu | hybrid p50 / bm25 p50: in sequence, overlapped | %.2fx, %.2fx | |\n", N, K,
           p50[HYBRID] / p50[BM25], p50[OVERLAP] / p50[BM25]);
    for (int t = 0; model && t < ndt; t++) {
        qsort(elat[t], nq, sizeof(double), cmpd);
        printf("| %zu | top-%zu | embed query %s (1 thread, cold weights) | %.3f | %.3f | cosine to %s: min %.6f, mean %.6f |\n",
               N, K, fr_dtype_name(dts[t]), elat[t][nq / 2], elat[t][(size_t)(0.99 * (double)(nq - 1))],
               fr_dtype_name(dts[ref]), cos_min[t], cos_sum[t] / (double)nq);
        fr_embedder_free(embs[t]);
    }
#ifdef BENCH_IVF
    fr__ivf_free(ivf);
#endif
    free(ivf_data);
    fr_vecs_free(v);
    fr_index_close(ix);
    return 0;
}
