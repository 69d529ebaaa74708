/* pipeline_cli.c — the pipeline's command-line flags, shared by `finerank search` and
 * `finerank eval`, and `finerank search` in pipeline mode (any pipeline flag, or --pipeline):
 * defaults ← --config FILE ← flags, then fr_pipeline_run and a ranked, optionally
 * explained, listing (text or JSON). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "finerank.h"

// Flag → config field. Flags without a value are handled separately.
static const struct { const char *flag, *field; } FLAGS[] = {
    {"--model", "model"},           {"--k", "k"},
    {"--candidates", "candidates"}, {"--rerank-top", "rerank_top"},
    {"--reranker", "reranker"},     {"--freshness", "freshness"},
    {"--authority", "authority"},   {"--combine", "combine"},
    {"--diversity", "diversity"},   {"--cap", "diversity.cap"},
    {"--cap-field", "diversity.cap_field"}, {"--synonyms", "synonyms"},
    {"--source", "filters.source"}, {"--lang", "filters.lang"},
    {"--date-from", "filters.date_from"}, {"--date-to", "filters.date_to"},
    {"--now", "now"},               {"--deadline-ms", "deadline_ms"},
    // the candidate stage (src/rank/retriever.c); like --k and the filters, these alone do
    // not switch `search` into pipeline mode: plain search runs fr_retrieve
    {"--retriever", "retriever"},   {"--fusion", "retriever.fusion"},
    {"--rrf-k", "retriever.rrf_k"}, {"--dense-weight", "retriever.dense_weight"},
    {"--fusion-depth", "retriever.fusion_depth"}, {"--dense-threads", "retriever.threads"},
    {"--query-dtype", "retriever.query_dtype"},
    {"--nprobe", "retriever.nprobe"},
};

void cli_pipeline_init(cli_pipeline *pl) {
    memset(pl, 0, sizeof *pl);
    pl->cfg = fr_pipeline_config_default();
}

static void set_or_die(cli_pipeline *pl, const char *flag, const char *field, const char *v) {
    fr_error err = {0};
    if (fr_pipeline_config_set(&pl->cfg, field, v, &err) < 0)
        cli_usage_error("%s: %s", flag, err.msg);
}

int cli_pipeline_opt(int argc, char **argv, int *i, cli_pipeline *pl) {
    const char *v;
    if ((v = cli_opt(argc, argv, i, "--config"))) {
        pl->config = v;  // applied by cli_pipeline_finish, under the flags
        pl->used = 1;
        return 1;
    }
    for (size_t k = 0; k < sizeof FLAGS / sizeof FLAGS[0]; k++) {
        if ((v = cli_opt(argc, argv, i, FLAGS[k].flag))) {
            set_or_die(pl, FLAGS[k].flag, FLAGS[k].field, v);  // early, clear errors
            if (pl->n_set < CLI_PIPELINE_MAX_FLAGS) {
                pl->set[pl->n_set][0] = FLAGS[k].flag;
                pl->set[pl->n_set][1] = FLAGS[k].field;
                pl->set[pl->n_set][2] = v;
                pl->n_set++;
            }
            // --k, filters, dates and the retriever alone do not switch `search` into pipeline
            // mode.
            if (strcmp(FLAGS[k].flag, "--k") && strcmp(FLAGS[k].flag, "--source") &&
                strcmp(FLAGS[k].flag, "--lang") && strcmp(FLAGS[k].flag, "--date-from") &&
                strcmp(FLAGS[k].flag, "--date-to") && strncmp(FLAGS[k].field, "retriever", 9))
                pl->used = 1;
            return 1;
        }
    }
    if ((v = cli_opt(argc, argv, i, "--set"))) {  // any config field: --set rm3.fb_docs=5
        const char *eq = strchr(v, '=');
        if (!eq || eq == v) cli_usage_error("--set: expected FIELD=VALUE, got '%s'", v);
        static char fields[CLI_PIPELINE_MAX_FLAGS][64];
        size_t n = (size_t)(eq - v);
        if (n >= sizeof fields[0]) cli_usage_error("--set: field name too long");
        if (pl->n_set < CLI_PIPELINE_MAX_FLAGS) {
            memcpy(fields[pl->n_set], v, n);
            fields[pl->n_set][n] = 0;
            set_or_die(pl, "--set", fields[pl->n_set], eq + 1);
            pl->set[pl->n_set][0] = "--set";
            pl->set[pl->n_set][1] = fields[pl->n_set];
            pl->set[pl->n_set][2] = eq + 1;
            pl->n_set++;
        }
        pl->used = 1;
        return 1;
    }
    if (!strcmp(argv[*i], "--explain")) {
        pl->explain = 1;
        pl->used = 1;
        return 1;
    }
    if (!strcmp(argv[*i], "--rm3")) {
        pl->rm3 = 1;
        pl->used = 1;
        return 1;
    }
    if (!strcmp(argv[*i], "--pipeline")) {
        pl->used = 1;
        return 1;
    }
    return 0;
}

void cli_pipeline_finish(cli_pipeline *pl) {
    pl->cfg = fr_pipeline_config_default();
    if (pl->config) {
        fr_error err = {0};
        if (fr_pipeline_config_load(&pl->cfg, pl->config, &err) < 0)
            cli_usage_error("--config: %s", err.msg);
    }
    for (int k = 0; k < pl->n_set; k++) set_or_die(pl, pl->set[k][0], pl->set[k][1], pl->set[k][2]);
    if (pl->explain) pl->cfg.explain = 1;
    if (pl->rm3) pl->cfg.rm3 = 1;
}

const char *cli_pipeline_usage(void) {
    return "  pipeline: [--pipeline] [--config FILE] [--model DIR] [--k N] [--candidates N1]\n"
           "            [--rerank-top N2] [--reranker auto|cross-encoder|proximity|none]\n"
           "            [--freshness SPEC] [--authority SPEC] [--combine SPEC]\n"
           "            [--diversity LAMBDA] [--cap N] [--cap-field source|meta.F]\n"
           "            [--synonyms FILE] [--rm3] [--now DATE] [--deadline-ms MS] [--explain]\n"
           "            [--set FIELD=VALUE] (any config field, e.g. diversity.idf=candidates)\n"
           "            (docs/pipeline.md; flags override the config file)\n";
}

#define STR_(x) #x
#define STR(x) STR_(x)
const char *cli_retriever_usage(void) {
    return "  retrieval: [--retriever bm25|dense|hybrid] [--fusion rrf|weighted] [--rrf-k 60]\n"
           "             [--dense-weight 0.5] [--fusion-depth 100] [--dense-threads 1]\n"
           "             [--query-dtype f32|bf16|int8] (the query embedding's dense layers)\n"
           "             [--nprobe N|exact] (lists an IVF index scans per segment; default "
           STR(FR_IVF_NPROBE_DEFAULT) ")\n"
           "            (dense / hybrid use the embeddings stored with the index and its\n"
           "             recorded model: index build --embed-model M, or finerank embed\n"
           "             --model M --index DIR; the filters apply to both lists)\n";
}

static void print_text(const fr_result *r, const fr_pipeline_config *c) {
    printf("query terms: %s\n", r->query_terms ? r->query_terms : "");
    printf("stages: %zu candidates (%s) → fine sort %zu/%zu (%s) → signals → MMR λ=%g%s → top %zu"
           "   [%.2f ms: candidates %.2f, rerank %.2f, signals %.2f, mmr %.2f]\n",
           r->n_candidates, r->retriever, r->n_scored, r->n_rerank, r->reranker, c->lambda,
           c->cap ? " + cap" : "", r->n, r->ms_total, r->ms_candidates, r->ms_rerank,
           r->ms_signals, r->ms_mmr);
    if (c->explain) {
        char fs[512];
        fr_freshness_format(&c->freshness, fs, sizeof fs);
        printf("signals: freshness %s · authority ", fs);
        for (int i = 0; i < c->authority.n; i++)
            printf("%s:%g,", c->authority.source[i], c->authority.coef[i]);
        printf("%sdefault=%g · combine %s\n", c->authority.use_field ? "field," : "",
               c->authority.dflt, c->combine.mode == FR_COMBINE_SUM ? "sum" : "product "
               "(final = semantic × timeliness × authority)");
    }
    if (r->deadline_hit)
        printf("deadline: fine sort stopped after %zu of %zu documents; the rest keep their "
               "stage-1 order\n", r->n_scored, r->n_rerank);
    for (size_t i = 0; i < r->n; i++) {
        const fr_ranked *x = &r->items[i];
        char fin[32];
        if (x->scored) snprintf(fin, sizeof fin, "%.4f", x->score);
        else snprintf(fin, sizeof fin, "unscored");
        printf("%2zu. %-20s %8s  [%s, %s]  %.70s\n", i + 1, x->id ? x->id : "?", fin,
               x->source ? x->source : "-", x->date ? x->date : "undated",
               x->title ? x->title : "");
        if (!c->explain) continue;
        if (x->scored && c->lambda < 1)
            printf("      bm25 %.3f (stage-1 #%zu) · semantic %.3f · timeliness %.3f · authority "
                   "%.3f → final %.4f · diversity: max sim %.3f, penalty %.3f, mmr %.3f\n",
                   x->bm25, x->stage1_rank, x->semantic, x->timeliness, x->authority, x->score,
                   x->max_sim, x->diversity_penalty, x->mmr);
        else if (x->scored)
            printf("      bm25 %.3f (stage-1 #%zu) · semantic %.3f · timeliness %.3f · authority "
                   "%.3f → final %.4f · diversity off (λ = 1)\n", x->bm25, x->stage1_rank,
                   x->semantic, x->timeliness, x->authority, x->score);
        else
            printf("      bm25 %.3f (stage-1 #%zu) · not fine-sorted: keeps its stage-1 order · "
                   "timeliness %.3f · authority %.3f\n", x->bm25, x->stage1_rank, x->timeliness,
                   x->authority);
    }
}

int cli_pipeline_search(const char *dir, const char *query, int json, cli_pipeline *pl) {
    fr_error err = {0};
    fr_index *ix = NULL;
    fr_pipeline *p = NULL;
    fr_result r = {0};
    int status = 1;
    if (fr_index_open(dir, NULL, &ix, &err) < 0) goto fail;
    if (fr_pipeline_new(ix, &pl->cfg, &p, &err) < 0) goto fail;
    if (fr_pipeline_run(p, query, NULL, &r, &err) < 0) goto fail;
    if (json) {
        char *s = fr_result_to_json(&r, query, pl->cfg.explain);
        if (s) puts(s);
        free(s);
    } else {
        print_text(&r, &pl->cfg);
    }
    status = 0;
fail:
    if (status) fprintf(stderr, "finerank search: %s\n", err.msg);
    fr_result_free(&r);
    fr_pipeline_free(p);
    fr_index_close(ix);
    return status;
}

// ---- `finerank search` in pipeline mode ----

int cli_search_wants_pipeline(int argc, char **argv) {
    static const char *const only[] = {
        "--pipeline", "--config", "--model", "--candidates", "--rerank-top", "--reranker",
        "--freshness", "--authority", "--combine", "--diversity", "--cap", "--cap-field",
        "--synonyms", "--now", "--deadline-ms", "--explain", "--rm3", "--set",
    };
    for (int i = 1; i < argc; i++)
        for (size_t k = 0; k < sizeof only / sizeof only[0]; k++) {
            size_t n = strlen(only[k]);
            if (!strncmp(argv[i], only[k], n) && (argv[i][n] == 0 || argv[i][n] == '='))
                return 1;
        }
    return 0;
}

int cli_search_pipeline(int argc, char **argv) {
    const char *dir = NULL, *query = NULL;
    int json = 0;
    cli_pipeline pl;
    cli_pipeline_init(&pl);
    for (int i = 1; i < argc; i++) {
        const char *v;
        if ((v = cli_opt(argc, argv, &i, "--index"))) dir = v;
        else if ((v = cli_opt(argc, argv, &i, "--query"))) query = v;
        else if (!strcmp(argv[i], "--json")) json = 1;
        else if (cli_pipeline_opt(argc, argv, &i, &pl)) continue;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: finerank search --index DIR --query TEXT [--json]\n%s",
                   cli_pipeline_usage());
            return 0;
        } else cli_usage_error("search: unknown option '%s'", argv[i]);
    }
    if (!dir || !query) cli_usage_error("search: --index and --query are required");
    cli_pipeline_finish(&pl);
    return cli_pipeline_search(dir, query, json, &pl);
}

// ---- `finerank eval` through the pipeline ----

int cli_pipeline_eval_run(const char *dir, const char *queries, size_t k, cli_pipeline *pl,
                          fr_run **out, double **lat_out, size_t *n_lat) {
    fr_error err = {0};
    fr_index *ix = NULL;
    fr_pipeline *p = NULL;
    fr_queries qs = {0};
    fr_run *run = NULL;
    double *lat = NULL;
    int rc = 1;
    pl->cfg.k = k;  // the run is ranked to eval's depth: scored documents, then stage-1 order
    if (fr_queries_read(queries, &qs, &err) < 0 || fr_index_open(dir, NULL, &ix, &err) < 0 ||
        fr_pipeline_new(ix, &pl->cfg, &p, &err) < 0)
        goto fail;
    lat = calloc(qs.n ? qs.n : 1, sizeof *lat);
    if (!lat || fr_run_new(&run) < 0) {
        snprintf(err.msg, sizeof err.msg, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < qs.n; i++) {
        fr_result r = {0};
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        if (fr_pipeline_run(p, qs.q[i].text, NULL, &r, &err) < 0) {
            char m[sizeof err.msg];
            snprintf(m, sizeof m, "%s", err.msg);
            snprintf(err.msg, sizeof err.msg, "query '%.60s': %.400s", qs.q[i].id, m);
            goto fail;
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        lat[i] = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
        // trec_eval orders by score: write the pipeline's order as descending scores.
        for (size_t j = 0; j < r.n; j++)
            if (fr_run_add(run, qs.q[i].id, r.items[j].id, (double)(r.n - j)) < 0) {
                fr_result_free(&r);
                snprintf(err.msg, sizeof err.msg, "out of memory");
                goto fail;
            }
        fr_result_free(&r);
    }
    *out = run;
    run = NULL;
    *lat_out = lat;
    lat = NULL;
    *n_lat = qs.n;
    rc = 0;
fail:
    if (rc) fprintf(stderr, "finerank eval: %s\n", err.msg);
    fr_run_free(run);
    free(lat);
    fr_pipeline_free(p);
    fr_queries_free(&qs);
    fr_index_close(ix);
    return rc;
}
