/* cmd_tokenize.c — `finerank tokenize --tokenizer PATH [--max-length N]
 *                   [--truncation longest_first|only_first|only_second]`
 *
 * Reads JSON lines {"text": "...", "pair": "..."} (pair optional) on stdin and writes one
 * JSON line per input: {"ids": [...], "type_ids": [...], "tokens": [...]}, or
 * {"error": "line N: ..."} for a line that cannot be read or encoded; the other lines still
 * run. Exit status 0 only if every line succeeded (1 otherwise, 2 for usage errors).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "finerank.h"

static void help(void) {
    printf("usage: finerank tokenize --tokenizer PATH [--max-length N]\n"
           "                         [--truncation longest_first|only_first|only_second]\n"
           "  stdin:  JSON lines {\"text\": \"...\", \"pair\": \"...\"} (pair optional)\n"
           "  stdout: one line per input {\"ids\": [...], \"type_ids\": [...], \"tokens\": [...]}\n"
           "          or {\"error\": \"line N: ...\"}\n"
           "  --max-length N  truncate to N tokens, special tokens included (default: the\n"
           "                  tokenizer.json's own truncation block, if any)\n");
}

static void put_error(long line, const char *msg) {
    char buf[700];
    snprintf(buf, sizeof buf, "line %ld: %s", line, msg);
    json_t *o = json_object();
    json_t *m = json_string(buf);  // NULL only if the message is not UTF-8
    json_object_set_new(o, "error", m ? m : json_string("error message not printable"));
    char *s = json_dumps(o, JSON_COMPACT);
    if (s) puts(s);
    free(s);
    json_decref(o);
}

int cmd_tokenize(int argc, char **argv) {
    const char *path = NULL;
    fr_encode_opts opts = fr_encode_opts_default();
    opts.want_tokens = 1;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) { help(); return 0; }
        else if ((v = cli_opt(argc, argv, &i, "--tokenizer"))) path = v;
        else if ((v = cli_opt(argc, argv, &i, "--max-length")))
            opts.max_length = (int)cli_parse_long("--max-length", v, 1, 1 << 30);
        else if ((v = cli_opt(argc, argv, &i, "--truncation"))) {
            if (strcmp(v, "longest_first") == 0) opts.strategy = FR_TRUNC_LONGEST_FIRST;
            else if (strcmp(v, "only_first") == 0) opts.strategy = FR_TRUNC_ONLY_FIRST;
            else if (strcmp(v, "only_second") == 0) opts.strategy = FR_TRUNC_ONLY_SECOND;
            else cli_usage_error("--truncation: expected longest_first, only_first or only_second");
        } else cli_usage_error("tokenize: unknown option '%s' (see --help)", argv[i]);
    }
    if (!path) cli_usage_error("tokenize: --tokenizer PATH is required (see --help)");
    fr_error err;
    fr_tokenizer *tok = NULL;
    if (fr_tokenizer_open(path, &tok, &err) < 0) {
        fprintf(stderr, "finerank tokenize: %s\n", err.msg);
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long lineno = 0, failed = 0;
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
        json_error_t jerr;
        json_t *o = json_loadb(line, (size_t)n, JSON_ALLOW_NUL, &jerr);
        json_t *t = o ? json_object_get(o, "text") : NULL, *p = o ? json_object_get(o, "pair") : NULL;
        char msg[600];
        if (!o) {
            snprintf(msg, sizeof msg, "invalid JSON: %s", jerr.text);
            put_error(lineno, msg);
            failed++;
            continue;
        }
        if (!json_is_string(t) || (p && !json_is_null(p) && !json_is_string(p))) {
            put_error(lineno, "expected {\"text\": string, \"pair\": string (optional)}");
            json_decref(o);
            failed++;
            continue;
        }
        fr_encoding enc = {0};
        int has_pair = json_is_string(p);
        int rc = fr_tokenizer_encode(tok, json_string_value(t), (ptrdiff_t)json_string_length(t),
                                     has_pair ? json_string_value(p) : NULL,
                                     has_pair ? (ptrdiff_t)json_string_length(p) : 0, &opts, &enc, &err);
        if (rc < 0) {
            put_error(lineno, err.msg);
            failed++;
        } else {
            json_t *out = json_object(), *ids = json_array(), *ty = json_array(), *tk = json_array();
            for (size_t i = 0; i < enc.n; i++) {
                json_array_append_new(ids, json_integer(enc.ids[i]));
                json_array_append_new(ty, json_integer(enc.type_ids[i]));
                json_array_append_new(tk, json_stringn(enc.tokens[i], strlen(enc.tokens[i])));
            }
            json_object_set_new(out, "ids", ids);
            json_object_set_new(out, "type_ids", ty);
            json_object_set_new(out, "tokens", tk);
            char *s = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
            if (s) puts(s);
            free(s);
            json_decref(out);
        }
        fr_encoding_free(&enc);
        json_decref(o);
    }
    free(line);
    fr_tokenizer_free(tok);
    if (failed) fprintf(stderr, "finerank tokenize: %ld of %ld lines failed\n", failed, lineno);
    return failed ? 1 : 0;
}
