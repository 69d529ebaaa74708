/* cmd_search.c — `finerank search`: BM25 top-k from an index, printed as a ranked list or
 * JSON. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "finerank.h"

int fr__parse_date(const char *s, size_t n, int64_t *t);  // src/index/index.c

static void usage(FILE *f) {
    fprintf(f, "usage: finerank search --index DIR --query TEXT [--k N] [--json]\n"
               "                       [--date-from DATE] [--date-to DATE] [--source S] [--lang L]\n"
               "                       [--exhaustive]\n"
               "                       [--retriever bm25|dense|hybrid] [--embed-model DIR]\n"
               "                       [--fusion rrf|weighted] [--rrf-k 60] [--dense-weight 0.5]\n"
               "                       [--fusion-depth 100]\n"
               "  dense / hybrid read DIR/vectors.bin (finerank embed --model M --index DIR);\n"
               "  the filters apply to the BM25 list only\n%s", cli_pipeline_usage());
}

int cmd_search(int argc, char **argv) {
    // Pipeline flags (--model, --explain, ...; src/cli/pipeline_cli.c) run the full pipeline.
    if (cli_search_wants_pipeline(argc, argv)) return cli_search_pipeline(argc, argv);
    const char *dir = NULL, *query = NULL;
    size_t k = 10;
    int json = 0;
    fr_search_opts so = fr_search_opts_default();
    const char *retriever = "bm25", *embed_model = NULL;
    fr_fuse_opts fo = fr_fuse_opts_default();
    double dense_weight = 0.5;
    size_t depth = 100;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if ((v = cli_opt(argc, argv, &i, "--index"))) dir = v;
        else if ((v = cli_opt(argc, argv, &i, "--query"))) query = v;
        else if ((v = cli_opt(argc, argv, &i, "--k"))) k = (size_t)cli_parse_long("--k", v, 1, 1000000);
        else if ((v = cli_opt(argc, argv, &i, "--source"))) so.source = v;
        else if ((v = cli_opt(argc, argv, &i, "--lang"))) so.lang = v;
        else if ((v = cli_opt(argc, argv, &i, "--date-from"))) {
            if (fr__parse_date(v, strlen(v), &so.date_from) < 0) cli_usage_error("--date-from: not an ISO 8601 date: '%s'", v);
        } else if ((v = cli_opt(argc, argv, &i, "--date-to"))) {
            if (fr__parse_date(v, strlen(v), &so.date_to) < 0) cli_usage_error("--date-to: not an ISO 8601 date: '%s'", v);
        } else if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "--exhaustive")) so.exhaustive = 1;
        else if ((v = cli_opt(argc, argv, &i, "--retriever"))) retriever = v;
        else if ((v = cli_opt(argc, argv, &i, "--embed-model"))) embed_model = v;
        else if ((v = cli_opt(argc, argv, &i, "--fusion"))) {
            if (!strcmp(v, "rrf")) fo.method = FR_FUSE_RRF;
            else if (!strcmp(v, "weighted")) fo.method = FR_FUSE_WEIGHTED;
            else cli_usage_error("--fusion: expected rrf or weighted");
        } else if ((v = cli_opt(argc, argv, &i, "--rrf-k"))) fo.rrf_k = cli_parse_double("--rrf-k", v);
        else if ((v = cli_opt(argc, argv, &i, "--dense-weight"))) dense_weight = cli_parse_double("--dense-weight", v);
        else if ((v = cli_opt(argc, argv, &i, "--fusion-depth")))
            depth = (size_t)cli_parse_long("--fusion-depth", v, 1, 1000000);
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { usage(stdout); return 0; }
        else cli_usage_error("search: unknown option '%s'", argv[i]);
    }
    if (!dir || !query) { usage(stderr); return 2; }
    int mode = !strcmp(retriever, "bm25") ? 0 : !strcmp(retriever, "dense") ? 1 : !strcmp(retriever, "hybrid") ? 2 : -1;
    if (mode < 0) cli_usage_error("--retriever: expected bm25, dense or hybrid");
    if (!(dense_weight >= 0 && dense_weight <= 1)) cli_usage_error("--dense-weight: expected a number in [0, 1]");
    if (depth < k) depth = k;
    so.k = mode == 2 ? depth : k;
    fr_error err = {0};
    fr_index *ix = NULL;
    if (fr_index_open(dir, NULL, &ix, &err) < 0) {
        fprintf(stderr, "finerank search: %s\n", err.msg);
        return 1;
    }
    // hits: (2 · depth) — BM25 list, then the dense list, then fused in place of both
    fr_hit *hits = malloc(3 * (depth > k ? depth : k) * sizeof *hits);
    size_t n = 0;
    int rc = hits ? 0 : FR_ENOMEM;
    if (!rc && mode == 0) rc = fr_index_search(ix, query, -1, &so, hits, &n, &err);
    else if (!rc && mode == 1) rc = cli_dense_search(ix, dir, embed_model, query, k, hits, &n, &err);
    else if (!rc) {
        size_t nb = 0, nd = 0;
        fr_hit *bm = hits, *de = hits + depth, *fused = hits + 2 * depth;
        double w[2] = {fo.method == FR_FUSE_RRF ? 1 : 1 - dense_weight, fo.method == FR_FUSE_RRF ? 1 : dense_weight};
        fo.weights = w;
        if ((rc = fr_index_search(ix, query, -1, &so, bm, &nb, &err)) == 0 &&
            (rc = cli_dense_search(ix, dir, embed_model, query, depth, de, &nd, &err)) == 0) {
            const fr_hit *lists[2] = {bm, de};
            size_t lens[2] = {nb, nd};
            fr_hit *tmp = malloc((nb + nd) * sizeof *tmp + 1);
            if (!tmp) rc = FR_ENOMEM;
            else if ((rc = fr_fuse(lists, lens, 2, &fo, tmp, &n, &err)) == 0) {
                if (n > k) n = k;
                memcpy(fused, tmp, n * sizeof *tmp);
                memmove(hits, fused, n * sizeof *hits);
            }
            free(tmp);
        }
    }
    if (rc < 0) {
        fprintf(stderr, "finerank search: %s\n", hits ? err.msg : "out of memory");
        free(hits);
        fr_index_close(ix);
        return 1;
    }
    json_t *arr = json ? json_array() : NULL;
    for (size_t i = 0; i < n; i++) {
        fr_doc d;
        if (fr_index_doc(ix, hits[i].doc, &d, &err) < 0) {
            fprintf(stderr, "finerank search: %s\n", err.msg);
            continue;
        }
        if (json) {
            json_t *h = json_object();
            json_object_set_new(h, "id", json_stringn(d.id, d.id_len));
            json_object_set_new(h, "score", json_real(hits[i].score));
            if (d.title) json_object_set_new(h, "title", json_stringn(d.title, d.title_len));
            json_array_append_new(arr, h);
        } else {
            printf("%zu\t%s\t%.6f\t%.*s\n", i + 1, d.id, hits[i].score,
                   d.title ? (int)(d.title_len > 120 ? 120 : d.title_len) : 0, d.title ? d.title : "");
        }
    }
    if (json) {
        json_t *o = json_pack("{s:o}", "hits", arr);
        char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (s) puts(s);
        free(s);
        json_decref(o);
    }
    free(hits);
    fr_index_close(ix);
    return 0;
}
