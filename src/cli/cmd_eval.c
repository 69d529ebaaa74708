/* cmd_eval.c — `finerank eval`: runs BEIR queries against an index (BM25, optionally RM3
 * expansion and the proximity reranker), or reads any TREC run file, and prints nDCG@10,
 * MAP@1000, Recall@100, Recall@1000 and MRR@10 as trec_eval computes them
 * (src/rank/metrics.c). Also times queries (--latency) for bench/bm25/speed.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "finerank.h"

static void usage(FILE *f) {
    fprintf(f,
        "usage: finerank eval --qrels QRELS.tsv --run-in RUN.trec [--per-query FILE]\n"
        "       finerank eval --index DIR --queries QUERIES.jsonl --qrels QRELS.tsv [--k 1000]\n"
        "                     [--run OUT.trec] [--tag NAME] [--rerank none|proximity]\n"
        "                     [--depth 100] [--rm3] [--fb-docs 10] [--fb-terms 10]\n"
        "                     [--orig-weight 0.5] [--per-query FILE] [--latency]\n"
        "                     [pipeline flags, as finerank search: --config, --model, ...]\n"
        "                     [--retriever bm25|dense|hybrid ... as finerank search]\n"
        "Prints nDCG@10, MAP@1000, R@100, R@1000, MRR@10 computed as trec_eval -c does\n"
        "(graded gains, ideal over all judged documents, every judged query counted).\n"
        "--run-in scores any TREC run file; --run writes the run; --per-query writes\n"
        "'qid ndcg10 map1000 recall100 recall1000 mrr10' lines; --latency times each query\n"
        "(search + rerank + reading ids, one thread) and prints p50/p99 (--qrels optional).\n");
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// Nearest-rank percentile of sorted xs.
static double pct(const double *xs, size_t n, double p) {
    if (!n) return 0;
    size_t r = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (r < 1) r = 1;
    if (r > n) r = n;
    return xs[r - 1];
}

typedef struct eval_args {
    const char *index, *queries, *qrels, *run_in, *run_out, *per_query, *tag;
    size_t k;
    int proximity, rm3, latency;
    fr_prox_opts po;
    fr_rm3_opts ro;
    cli_pipeline *pl;  // not NULL: pipeline flags were given (src/cli/pipeline_cli.c)
    fr_retriever_opts ro_ret;  // --retriever bm25|dense|hybrid ... (pipeline config fields)
} eval_args;

// Runs every query against the index. OUT: *out (the run), and latencies if wanted.
static int run_index(const eval_args *a, fr_run **out, double **lat_out, size_t *n_lat) {
    if (a->pl) return cli_pipeline_eval_run(a->index, a->queries, a->k, a->pl, out, lat_out, n_lat);
    fr_error err = {0};
    fr_index *ix = NULL;
    fr_queries qs = {0};
    fr_run *run = NULL;
    fr_hit *hits = NULL;
    double *lat = NULL;
    int rc = 1;
    if (fr_queries_read(a->queries, &qs, &err) < 0 || fr_index_open(a->index, NULL, &ix, &err) < 0 ||
        (a->ro_ret.kind != FR_RETRIEVER_BM25 && fr_index_load_embedder(ix, &err) < 0)) {
        fprintf(stderr, "finerank eval: %s\n", err.msg);
        goto done;
    }
    hits = calloc(a->k, sizeof *hits);
    lat = calloc(qs.n ? qs.n : 1, sizeof *lat);
    if (!hits || !lat || fr_run_new(&run) < 0) {
        fprintf(stderr, "finerank eval: out of memory\n");
        goto done;
    }
    fr_search_opts so = fr_search_opts_default();
    so.k = a->k;
    for (size_t i = 0; i < qs.n; i++) {
        size_t n = 0;
        double t0 = now_ms();
        int r = a->rm3 ? fr_rm3_search(ix, qs.q[i].text, -1, &so, &a->ro, hits, &n, &err)
                       : fr_retrieve(ix, qs.q[i].text, &a->ro_ret, &so, hits, &n, &err);
        if (r == 0 && a->proximity) {
            fr_prox_opts po = a->po;
            if (a->rm3) {  // RM3 weighs each original query term by orig_weight / |q|
                fr_terms q = {0};
                r = fr_index_analyze(ix, qs.q[i].text, -1, &q, &err);
                if (q.n) po.scale = a->ro.orig_weight / (double)q.n;
                fr_terms_free(&q);
            }
            if (r == 0) r = fr_proximity_rerank(ix, qs.q[i].text, -1, &po, hits, n, &err);
        }
        for (size_t h = 0; r == 0 && h < n; h++) {
            fr_doc d;
            r = fr_index_doc(ix, hits[h].doc, &d, &err);
            if (r == 0 && fr_run_add(run, qs.q[i].id, d.id, hits[h].score) < 0) {
                fprintf(stderr, "finerank eval: out of memory\n");
                goto done;
            }
        }
        lat[i] = now_ms() - t0;
        if (r < 0) {
            fprintf(stderr, "finerank eval: query '%s': %s\n", qs.q[i].id, err.msg);
            goto done;
        }
    }
    *out = run;
    run = NULL;
    *lat_out = lat;
    lat = NULL;
    *n_lat = qs.n;
    rc = 0;
done:
    fr_run_free(run);
    free(hits);
    free(lat);
    fr_queries_free(&qs);
    fr_index_close(ix);
    return rc;
}

int cmd_eval(int argc, char **argv) {
    eval_args a = {.k = 1000, .po = fr_prox_opts_default(), .ro = fr_rm3_opts_default()};
    const char *v;
    cli_pipeline pl;
    cli_pipeline_init(&pl);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if ((v = cli_opt(argc, argv, &i, "--index"))) a.index = v;
        else if ((v = cli_opt(argc, argv, &i, "--queries"))) a.queries = v;
        else if ((v = cli_opt(argc, argv, &i, "--qrels"))) a.qrels = v;
        else if ((v = cli_opt(argc, argv, &i, "--run-in"))) a.run_in = v;
        else if ((v = cli_opt(argc, argv, &i, "--run"))) a.run_out = v;
        else if ((v = cli_opt(argc, argv, &i, "--per-query"))) a.per_query = v;
        else if ((v = cli_opt(argc, argv, &i, "--tag"))) a.tag = v;
        else if ((v = cli_opt(argc, argv, &i, "--k"))) a.k = (size_t)cli_parse_long("--k", v, 1, 1000000);
        else if ((v = cli_opt(argc, argv, &i, "--depth")))
            a.po.depth = (size_t)cli_parse_long("--depth", v, 0, 1000000);
        else if ((v = cli_opt(argc, argv, &i, "--fb-docs")))
            a.ro.fb_docs = (size_t)cli_parse_long("--fb-docs", v, 0, 10000);
        else if ((v = cli_opt(argc, argv, &i, "--fb-terms")))
            a.ro.fb_terms = (size_t)cli_parse_long("--fb-terms", v, 0, 10000);
        else if ((v = cli_opt(argc, argv, &i, "--orig-weight"))) {
            a.ro.orig_weight = cli_parse_double("--orig-weight", v);
            if (!(a.ro.orig_weight >= 0 && a.ro.orig_weight <= 1))
                cli_usage_error("--orig-weight: expected a number in [0, 1]");
        } else if ((v = cli_opt(argc, argv, &i, "--rerank"))) {
            if (!strcmp(v, "proximity")) a.proximity = 1;
            else if (!strcmp(v, "none")) a.proximity = 0;
            else cli_usage_error("--rerank: expected none or proximity, got '%s'", v);
        } else if (!strcmp(argv[i], "--rm3")) a.rm3 = 1;
        else if (!strcmp(argv[i], "--latency")) a.latency = 1;
        else if (cli_pipeline_opt(argc, argv, &i, &pl)) continue;
        else cli_usage_error("eval: unknown option '%s' (finerank eval --help)", argv[i]);
    }
    cli_pipeline_finish(&pl);
    a.ro_ret = pl.cfg.retriever;  // the retriever flags, with or without the pipeline
    if (pl.used) {  // the whole pipeline, configured as for `finerank search`
        if (a.rm3) {  // eval's own RM3/proximity flags map onto the pipeline's fields
            pl.cfg.rm3 = 1;
            pl.cfg.rm3_fb_docs = a.ro.fb_docs;
            pl.cfg.rm3_fb_terms = a.ro.fb_terms;
            pl.cfg.rm3_orig_weight = a.ro.orig_weight;
        }
        if (a.proximity) pl.cfg.reranker = FR_RERANK_PROXIMITY;
        a.pl = &pl;
    }
    if (a.run_in && (a.index || a.queries))
        cli_usage_error("eval: --run-in scores a run file; it takes no --index/--queries");
    if (!a.run_in && !(a.index && a.queries))
        cli_usage_error("eval: needs --run-in RUN, or --index DIR and --queries FILE");
    if (!a.qrels && !a.latency && !a.run_out)
        cli_usage_error("eval: --qrels is required (unless only --run or --latency is wanted)");
    if (!pl.used && a.rm3 && a.ro_ret.kind != FR_RETRIEVER_BM25)
        cli_usage_error("eval: --rm3 expands BM25; with --retriever dense|hybrid use the pipeline "
                        "(--pipeline --rm3)");
    if (a.run_in && (a.latency || a.rm3 || a.proximity || a.run_out))
        cli_usage_error("eval: --latency, --rm3, --rerank and --run need --index");

    fr_error err = {0};
    fr_run *run = NULL;
    fr_qrels *qr = NULL;
    double *lat = NULL;
    size_t n_lat = 0;
    fr_eval ev = {0};
    int rc = 1;
    if (a.run_in) {
        if (fr_run_read(a.run_in, &run, &err) < 0) goto err;
    } else if (run_index(&a, &run, &lat, &n_lat) != 0) {
        goto done;
    }
    if (a.run_out && fr_run_write(run, a.run_out, a.tag, &err) < 0) goto err;
    if (a.latency) {
        double total = 0;
        for (size_t i = 0; i < n_lat; i++) total += lat[i];
        qsort(lat, n_lat, sizeof *lat, cmp_double);
        printf("queries    %zu (k=%zu, one thread)\nlatency_p50_ms %.3f\nlatency_p99_ms %.3f\n"
               "latency_mean_ms %.3f\nqps %.1f\n", n_lat, a.k, pct(lat, n_lat, 50),
               pct(lat, n_lat, 99), n_lat ? total / (double)n_lat : 0,
               total > 0 ? (double)n_lat / (total / 1e3) : 0);
    }
    if (a.qrels) {
        if (fr_qrels_read(a.qrels, &qr, &err) < 0 || fr_eval_run(qr, run, &ev, &err) < 0)
            goto err;
        printf("queries    %zu judged, %zu with results, %zu run queries without judgments\n",
               ev.n_queries, ev.n_run_queries, ev.n_ignored);
        printf("nDCG@10    %.4f\nMAP@1000   %.4f\nR@100      %.4f\nR@1000     %.4f\n"
               "MRR@10     %.4f\n", ev.mean.ndcg10, ev.mean.map1000, ev.mean.recall100,
               ev.mean.recall1000, ev.mean.mrr10);
        if (a.per_query) {
            FILE *f = fopen(a.per_query, "w");
            if (!f) {
                fprintf(stderr, "finerank eval: %s: cannot write\n", a.per_query);
                goto done;
            }
            for (size_t i = 0; i < ev.n_queries; i++) {
                const fr_eval_query *q = &ev.per_query[i];
                fprintf(f, "%s\t%.6f\t%.6f\t%.6f\t%.6f\t%.6f\n", q->qid, q->m.ndcg10,
                        q->m.map1000, q->m.recall100, q->m.recall1000, q->m.mrr10);
            }
            if (fclose(f) != 0) {
                fprintf(stderr, "finerank eval: %s: write failed\n", a.per_query);
                goto done;
            }
        }
    }
    rc = 0;
    goto done;
err:
    fprintf(stderr, "finerank eval: %s\n", err.msg);
done:
    fr_eval_free(&ev);
    fr_qrels_free(qr);
    fr_run_free(run);
    free(lat);
    return rc;
}
