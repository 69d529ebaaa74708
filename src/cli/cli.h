/* cli.h — the finerank command-line tool: one cmd_<name>() per subcommand, each in its own
 * cmd_<name>.c; main.c dispatches. Only the CLI prints and exits. */
#ifndef FR_CLI_H
#define FR_CLI_H

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
_Noreturn void cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
