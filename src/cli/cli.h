/* cli.h — the finerank command-line tool: one cmd_<name>() per subcommand, each in its own
 * cmd_<name>.c; main.c dispatches. Only the CLI prints and exits. */
#ifndef FR_CLI_H
#define FR_CLI_H

#include <stdint.h>

typedef struct fr_cli_cmd {
    const char *name;
    int (*run)(int argc, char **argv);  // argv[0] is the subcommand name
    const char *summary;
} fr_cli_cmd;

// Small option helpers shared by the subcommands.
// Returns the value of --name VALUE or --name=VALUE at argv[*i], advancing *i; NULL if
// argv[*i] is not that option. Exits with a usage error if the value is missing.
const char *cli_opt(int argc, char **argv, int *i, const char *name);
long cli_parse_long(const char *opt, const char *s, long lo, long hi);
double cli_parse_double(const char *opt, const char *s);
// An ISO 8601 date or date-time (src/base/date.c) as Unix seconds; usage error otherwise.
int64_t cli_parse_date(const char *opt, const char *s);
_Noreturn void cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

// ---- pipeline flags (pipeline_cli.c) ----
// The pipeline's flags for `search` and `eval`: cli_pipeline_opt() consumes one flag at
// argv[*i] (returns 1) or leaves it (0); cli_pipeline_finish() builds cfg as defaults ←
// --config FILE ← flags. `used` is set by any flag that asks for the pipeline (--pipeline,
// --config, --model, --explain, ...; not --k or the filters alone).
#include "finerank.h"
#define CLI_PIPELINE_MAX_FLAGS 64
typedef struct cli_pipeline {
    fr_pipeline_config cfg;
    const char *config;
    const char *set[CLI_PIPELINE_MAX_FLAGS][3];  // flag, field, value in command-line order
    int n_set;
    int explain, rm3;
    int used;
} cli_pipeline;
void cli_pipeline_init(cli_pipeline *pl);
int cli_pipeline_opt(int argc, char **argv, int *i, cli_pipeline *pl);
void cli_pipeline_finish(cli_pipeline *pl);
const char *cli_pipeline_usage(void);
// `finerank search` through the pipeline: prints the ranked list (text or JSON); exit status.
int cli_pipeline_search(const char *dir, const char *query, int json, cli_pipeline *pl);
// 1 when argv holds a pipeline-only flag; cmd_search then hands over to cli_search_pipeline,
// which parses the whole command line (search's own flags included).
int cli_search_wants_pipeline(int argc, char **argv);
int cli_search_pipeline(int argc, char **argv);
// `finerank eval` through the pipeline: every query of the BEIR queries file, ranked to
// depth k. OUT: *out (the run), *lat_out (n_lat per-query latencies in ms, malloc'd).
// Returns 0, or 1 after printing the error.
int cli_pipeline_eval_run(const char *dir, const char *queries, size_t k, cli_pipeline *pl,
                          fr_run **out, double **lat_out, size_t *n_lat);

// ---- dense and hybrid retrieval (cmd_embed.c) ----
// The index's embeddings live in DIR/vectors.bin (fr_vecs_save: crash-safe replace), one row
// per doc number, tagged with the index generation they were computed for and the model.
// `finerank embed --model M --index DIR [--int8]` writes it; search and eval read it.
typedef struct cli_retriever {
    int mode;                 // 0 bm25 (default), 1 dense, 2 hybrid
    const char *embed_model;  // NULL: the model recorded in vectors.bin
    fr_fuse_opts fuse;        // RRF, k 60
    double dense_weight;      // weighted fusion: dense 0.5, BM25 1 - it
    size_t depth;             // hybrid: candidates from each retriever (100, at least k)
    fr_vecs *vecs;            // loaded by cli_retriever_open
    fr_embedder *emb;
    double w[2];
} cli_retriever;
void cli_retriever_init(cli_retriever *r);
// Consumes --retriever, --embed-model, --fusion, --rrf-k, --dense-weight, --fusion-depth at
// argv[*i] (returns 1) or leaves it (0).
int cli_retriever_opt(int argc, char **argv, int *i, cli_retriever *r);
const char *cli_retriever_usage(void);
// Loads vectors.bin and the model when the mode needs them (checks the index generation).
int cli_retriever_open(cli_retriever *r, fr_index *ix, const char *dir, fr_error *err);
// Top k for the query by the chosen retriever; so carries BM25's filters. OUT: hits (k).
int cli_retriever_search(cli_retriever *r, fr_index *ix, const char *query, const fr_search_opts *so,
                         size_t k, fr_hit *hits, size_t *n_hits, fr_error *err);
void cli_retriever_close(cli_retriever *r);

#endif
