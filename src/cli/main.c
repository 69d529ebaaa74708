/* main.c — `finerank <command> [options]`: dispatches to the subcommands in cmd_*.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "cli/cli.h"
#include "finerank.h"

int cmd_tokenize(int argc, char **argv);
int cmd_rerank(int argc, char **argv);
int cmd_index(int argc, char **argv);
int cmd_search(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_embed(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_pull(int argc, char **argv);
int cmd_models(int argc, char **argv);

static const fr_cli_cmd commands[] = {
    {"tokenize", cmd_tokenize, "encode JSON lines with a tokenizer.json, as Hugging Face does"},
    {"rerank", cmd_rerank, "score (query, document) pairs with a cross-encoder, best first"},
    {"index", cmd_index, "build and maintain a BM25 index (build, add, delete, optimize, stats)"},
    {"search", cmd_search, "search an index: BM25, then the ranking pipeline when asked"},
    {"eval", cmd_eval, "score a run against qrels (nDCG@10, MAP, recall, MRR) as trec_eval does"},
    {"embed", cmd_embed, "embed JSON lines with a bi-encoder"},
    {"serve", cmd_serve, "HTTP server: Cohere/Jina/TEI rerank, search, ingestion"},
    {"pull", cmd_pull, "download a model from the Hugging Face hub into its cache"},
    {"models", cmd_models, "list the models in the Hugging Face cache"},
};

const char *cli_opt(int argc, char **argv, int *i, const char *name) {
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0) return NULL;
    if (a[n] == '=') return a + n + 1;
    if (a[n] != 0) return NULL;
    if (*i + 1 >= argc) cli_usage_error("%s needs a value", name);
    return argv[++*i];
}

_Noreturn void cli_usage_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "finerank: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(2);
}

long cli_parse_long(const char *opt, const char *s, long lo, long hi) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        cli_usage_error("%s: expected an integer in [%ld, %ld], got '%s'", opt, lo, hi, s);
    return v;
}

double cli_parse_double(const char *opt, const char *s) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end) cli_usage_error("%s: expected a number, got '%s'", opt, s);
    return v;
}

int cli_parse_vec_type(const char *s) {
    fr_vec_type t;
    if (fr_vec_type_parse(s, &t) < 0)
        cli_usage_error("--vec: expected f32, int8, int8-rescore or int8-refine, got '%s'", s);
    return (int)t;
}

int64_t cli_parse_date(const char *opt, const char *s) {
    fr_error err = {0};
    int64_t ms;
    if (fr_date_parse(s, strlen(s), opt, &ms, &err) < 0) cli_usage_error("%s", err.msg);
    return fr__ms_to_s(ms);
}

static void usage(FILE *f) {
    fprintf(f, "finerank %s — reranking engine for retrieval-augmented generation\n\n"
               "usage: finerank <command> [options]   (finerank <command> --help)\n\ncommands:\n",
            FR_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("finerank %s\n", FR_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "finerank: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
