/* cmd_search.c — `finerank search`: the top k from an index by the chosen retriever (BM25,
 * dense or hybrid: fr_retrieve), printed as a ranked list or JSON; with pipeline flags, the
 * whole pipeline (pipeline_cli.c). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "finerank.h"

static void usage(FILE *f) {
    fprintf(f, "usage: finerank search --index DIR --query TEXT [--k N] [--json]\n"
               "                       [--date-from DATE] [--date-to DATE] [--source S] [--lang L]\n"
               "                       [--exhaustive]\n%s%s", cli_retriever_usage(), cli_pipeline_usage());
}

int cmd_search(int argc, char **argv) {
    // Pipeline flags (--model, --explain, ...; src/cli/pipeline_cli.c) run the full pipeline.
    if (cli_search_wants_pipeline(argc, argv)) return cli_search_pipeline(argc, argv);
    const char *dir = NULL, *query = NULL;
    size_t k = 10;
    int json = 0;
    fr_search_opts so = fr_search_opts_default();
    cli_pipeline pl;  // only the retriever flags reach it here (others mean pipeline mode)
    cli_pipeline_init(&pl);
    for (int i = 1; i < argc; i++) {
        const char *v;
        if ((v = cli_opt(argc, argv, &i, "--index"))) dir = v;
        else if ((v = cli_opt(argc, argv, &i, "--query"))) query = v;
        else if ((v = cli_opt(argc, argv, &i, "--k"))) k = (size_t)cli_parse_long("--k", v, 1, 1000000);
        else if ((v = cli_opt(argc, argv, &i, "--source"))) so.source = v;
        else if ((v = cli_opt(argc, argv, &i, "--lang"))) so.lang = v;
        else if ((v = cli_opt(argc, argv, &i, "--date-from"))) {
            so.date_from = cli_parse_date("--date-from", v);
        } else if ((v = cli_opt(argc, argv, &i, "--date-to"))) {
            so.date_to = cli_parse_date("--date-to", v);
        } else if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "--exhaustive")) so.exhaustive = 1;
        else if (cli_pipeline_opt(argc, argv, &i, &pl)) continue;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { usage(stdout); return 0; }
        else cli_usage_error("search: unknown option '%s'", argv[i]);
    }
    if (!dir || !query) { usage(stderr); return 2; }
    so.k = k;
    cli_pipeline_finish(&pl);
    fr_error err = {0};
    fr_index *ix = NULL;
    if (fr_index_open(dir, NULL, &ix, &err) < 0) {
        fprintf(stderr, "finerank search: %s\n", err.msg);
        return 1;
    }
    fr_hit *hits = malloc(k * sizeof *hits);
    size_t n = 0;
    if (!hits || fr_retrieve(ix, query, &pl.cfg.retriever, &so, hits, &n, &err) < 0) {
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
