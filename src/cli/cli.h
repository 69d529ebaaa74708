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
int cli_parse_vec_type(const char *s);  // f32 | int8 | int8-rescore | int8-refine → fr_vec_type
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

// The retriever flags (--retriever, --fusion, ...) are pipeline config fields ("retriever"
// section) parsed by cli_pipeline_opt; cli_retriever_usage() describes them.
const char *cli_retriever_usage(void);

#endif
