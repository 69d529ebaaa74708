/* cmd_embed.c — `finerank embed --model DIR [--prefix query|passage|NAME] [--prompt TEXT]
 *                [--threads N] [--batch N] [--dtype f32|bf16|int8]`
 *
 * Reads JSON lines {"text": "..."} on stdin and writes one line {"embedding": [floats]} per
 * input, in input order, or {"error": "line N: ..."} for a line that cannot be read or
 * embedded (the other lines still run). Lines are embedded in groups of --batch (default 256)
 * so one call packs many texts. Exit status 0 only if every line succeeded (1 otherwise,
 * 2 for usage errors).
 *
 * `finerank embed --model DIR --index IDX [--vec f32|int8|int8-rescore|int8-refine]` instead records the
 * model in the index and stores the embeddings of every segment that lacks them (all of them
 * when the model or vector type changes) as a new commit — the backfill for an index built
 * without --embed-model. From then on `index add` embeds new documents itself.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "cli/cli.h"
#include "finerank.h"

static void help(void) {
    printf("usage: finerank embed --model DIR [--prefix query|passage|NAME] [--prompt TEXT]\n"
           "                      [--threads N] [--batch N] [--dtype f32|bf16|int8]\n"
           "  stdin:  JSON lines {\"text\": \"...\"}\n"
           "  stdout: one line per input {\"embedding\": [...]} or {\"error\": \"line N: ...\"}\n"
           "  --prefix NAME  the model's prompt of that name (config_sentence_transformers.json\n"
           "                 \"prompts\"; e5/BGE query and passage prefixes)\n"
           "  --prompt TEXT  a literal prefix instead (e.g. \"query: \")\n"
           "  --dtype T      dense-layer compute type: f32 (default), bf16, int8 (stdin mode\n"
           "                 only: index embeddings stay f32 so queries and documents match)\n"
           "  --index IDX [--vec f32|int8|int8-rescore|int8-refine] [--prompt TEXT] [--query-prompt TEXT]\n"
           "                 record the model in the index and store the embeddings of its\n"
           "                 segments (a new commit; later index adds embed new documents), for\n"
           "                 search --retriever dense|hybrid, instead of reading stdin. --prompt\n"
           "                 is the passage prefix (default: the model's \"passage\" prompt)\n");
}

static void put_error(long line, const char *msg) {
    char buf[700];
    snprintf(buf, sizeof buf, "line %ld: %s", line, msg);
    json_t *o = json_object();
    json_t *m = json_string(buf);
    json_object_set_new(o, "error", m ? m : json_string("error message not printable"));
    char *s = json_dumps(o, JSON_COMPACT);
    if (s) puts(s);
    free(s);
    json_decref(o);
}

static void put_vec(const float *v, int dim) {
    fputs("{\"embedding\":[", stdout);
    for (int i = 0; i < dim; i++) printf(i ? ",%.9g" : "%.9g", (double)v[i]);
    fputs("]}\n", stdout);
}

typedef struct pending {
    long lineno;
    char *text;   // NULL: the error in msg
    char msg[600];
} pending;

// Embeds and prints a group; a failing group is retried line by line to name the bad line.
static long flush(const fr_embedder *e, const fr_embed_opts *eo, pending *p, size_t n, float *out) {
    long failed = 0;
    const char **texts = malloc(n * sizeof *texts);
    size_t *at = malloc(n * sizeof *at), m = 0;
    int dim = fr_embedder_dim(e);
    fr_error err;
    for (size_t i = 0; i < n; i++)
        if (p[i].text) { at[i] = m; texts[m++] = p[i].text; }
    int rc = m ? fr_embedder_embed(e, texts, m, eo, out, &err) : 0;
    for (size_t i = 0; i < n; i++) {
        if (!p[i].text) { put_error(p[i].lineno, p[i].msg); failed++; continue; }
        if (rc == 0) { put_vec(out + at[i] * (size_t)dim, dim); continue; }
        if (fr_embedder_embed(e, (const char *const *)&p[i].text, 1, eo, out, &err) == 0) put_vec(out, dim);
        else { put_error(p[i].lineno, err.msg); failed++; }
    }
    for (size_t i = 0; i < n; i++) free(p[i].text);
    free(texts);
    free(at);
    return failed;
}

// ---- index embeddings (backfill) ----
static int embed_index(const char *model, const char *dir, int vec, const char *doc_prompt,
                       const char *query_prompt) {
    fr_error err;
    fr_index *ix = NULL;
    if (fr_index_build(dir, NULL, &ix, &err) < 0 ||
        fr_index_set_embedding(ix, model, (fr_vec_type)vec, query_prompt, doc_prompt, &err) < 0 ||
        fr_index_commit(ix, &err) < 0) {
        fprintf(stderr, "finerank embed: %s\n", err.msg);
        fr_index_close(ix);
        return 1;
    }
    fr_index_embedding em;
    if (fr_index_embedding_get(ix, &em, &err) == 0)
        fprintf(stderr, "finerank embed: %llu vectors of %d dims (%s) stored with the segments of %s\n",
                (unsigned long long)em.n_vectors, em.dim,
                vec == FR_VEC_I8_RESCORE ? "int8+f32" : fr_vec_type_name((fr_vec_type)vec), dir);
    fr_index_close(ix);
    return 0;
}

int cmd_embed(int argc, char **argv) {
    const char *dir = NULL, *index = NULL, *query_prompt = NULL;
    int vec = FR_VEC_F32;
    fr_embed_opts eo = fr_embed_opts_default();
    fr_embedder_opts oo = fr_embedder_opts_default();
    size_t batch = 256;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) { help(); return 0; }
        else if ((v = cli_opt(argc, argv, &i, "--model"))) dir = v;
        else if ((v = cli_opt(argc, argv, &i, "--index"))) index = v;
        else if ((v = cli_opt(argc, argv, &i, "--vec"))) vec = cli_parse_vec_type(v);
        else if (!strcmp(argv[i], "--int8")) vec = FR_VEC_I8;
        else if (!strcmp(argv[i], "--int8-rescore")) vec = FR_VEC_I8_RESCORE;
        else if ((v = cli_opt(argc, argv, &i, "--query-prompt"))) query_prompt = v;
        else if ((v = cli_opt(argc, argv, &i, "--prefix"))) eo.prompt_name = v;
        else if ((v = cli_opt(argc, argv, &i, "--prompt"))) eo.prompt = v;
        else if ((v = cli_opt(argc, argv, &i, "--threads")))
            oo.threads = (int)cli_parse_long("--threads", v, 1, 1024);
        else if ((v = cli_opt(argc, argv, &i, "--dtype"))) {
            if (fr_dtype_parse(v, &oo.dtype) < 0) cli_usage_error("--dtype: expected f32, bf16 or int8");
        } else if ((v = cli_opt(argc, argv, &i, "--batch")))
            batch = (size_t)cli_parse_long("--batch", v, 1, 1 << 20);
        else cli_usage_error("embed: unknown option '%s' (see --help)", argv[i]);
    }
    if (!dir) cli_usage_error("embed: --model DIR is required (see --help)");
    if (index) {
        if (eo.prompt_name) cli_usage_error("embed --index: use --prompt TEXT (a literal prefix)");
        if (oo.dtype != FR_DTYPE_F32)
            cli_usage_error("embed --index: --dtype is for stdin mode (index embeddings are f32, as "
                            "the query embeddings that search computes)");
        return embed_index(dir, index, vec, eo.prompt, query_prompt);
    }
    fr_error err;
    fr_embedder *e = NULL;
    if (fr_embedder_open(dir, &oo, &e, &err) < 0) {
        fprintf(stderr, "finerank embed: %s\n", err.msg);
        return 1;
    }
    if (eo.prompt_name && !eo.prompt && !fr_embedder_prompt(e, eo.prompt_name)) {
        fprintf(stderr, "finerank embed: %s has no prompt named '%s' (use --prompt TEXT for a literal "
                "prefix)\n", dir, eo.prompt_name);
        fr_embedder_free(e);
        return 2;
    }
    pending *p = calloc(batch, sizeof *p);
    float *out = malloc(batch * (size_t)fr_embedder_dim(e) * sizeof *out);
    if (!p || !out) {
        fprintf(stderr, "finerank embed: out of memory\n");
        return 1;
    }
    char *line = NULL;
    size_t cap = 0, np = 0;
    ssize_t n;
    long lineno = 0, failed = 0;
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
        json_error_t jerr;
        json_t *o = json_loadb(line, (size_t)n, 0, &jerr);
        json_t *t = o ? json_object_get(o, "text") : NULL;
        pending *q = &p[np++];
        q->lineno = lineno;
        q->text = NULL;
        if (!o) snprintf(q->msg, sizeof q->msg, "invalid JSON: %s", jerr.text);
        else if (!json_is_string(t)) snprintf(q->msg, sizeof q->msg, "expected {\"text\": string}");
        else if (!(q->text = strdup(json_string_value(t)))) snprintf(q->msg, sizeof q->msg, "out of memory");
        json_decref(o);
        if (np == batch) {
            failed += flush(e, &eo, p, np, out);
            np = 0;
        }
    }
    if (np) failed += flush(e, &eo, p, np, out);
    free(line);
    free(p);
    free(out);
    fr_embedder_free(e);
    if (failed) fprintf(stderr, "finerank embed: %ld of %ld lines failed\n", failed, lineno);
    return failed ? 1 : 0;
}
