/* cmd_embed.c — `finerank embed --model DIR [--prefix query|passage|NAME] [--prompt TEXT]
 *                [--threads N] [--batch N]`
 *
 * Reads JSON lines {"text": "..."} on stdin and writes one line {"embedding": [floats]} per
 * input, in input order, or {"error": "line N: ..."} for a line that cannot be read or
 * embedded (the other lines still run). Lines are embedded in groups of --batch (default 256)
 * so one call packs many texts. Exit status 0 only if every line succeeded (1 otherwise,
 * 2 for usage errors).
 *
 * `finerank embed --model DIR --index IDX [--vec f32|int8|int8-rescore]` instead records the
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
           "                      [--threads N] [--batch N]\n"
           "  stdin:  JSON lines {\"text\": \"...\"}\n"
           "  stdout: one line per input {\"embedding\": [...]} or {\"error\": \"line N: ...\"}\n"
           "  --prefix NAME  the model's prompt of that name (config_sentence_transformers.json\n"
           "                 \"prompts\"; e5/BGE query and passage prefixes)\n"
           "  --prompt TEXT  a literal prefix instead (e.g. \"query: \")\n"
           "  --index IDX [--vec f32|int8|int8-rescore] [--prompt TEXT] [--query-prompt TEXT]\n"
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
                vec == FR_VEC_I8_RESCORE ? "int8+f32" : vec == FR_VEC_I8 ? "int8" : "f32", dir);
    fr_index_close(ix);
    return 0;
}

// ---- retrievers ----
void cli_retriever_init(cli_retriever *r) {
    memset(r, 0, sizeof *r);
    r->fuse = fr_fuse_opts_default();
    r->dense_weight = 0.5;
    r->depth = 100;
}

const char *cli_retriever_usage(void) {
    return "retrieval: [--retriever bm25|dense|hybrid] [--fusion rrf|weighted]\n"
           "           [--rrf-k 60] [--dense-weight 0.5] [--fusion-depth 100]\n"
           "  dense / hybrid use the embeddings stored with the index (index build --embed-model M,\n"
           "  or finerank embed --model M --index DIR) and its recorded model\n";
}

int cli_retriever_opt(int argc, char **argv, int *i, cli_retriever *r) {
    const char *v;
    if ((v = cli_opt(argc, argv, i, "--retriever"))) {
        if (!strcmp(v, "bm25")) r->mode = 0;
        else if (!strcmp(v, "dense")) r->mode = 1;
        else if (!strcmp(v, "hybrid")) r->mode = 2;
        else cli_usage_error("--retriever: expected bm25, dense or hybrid");
    } else if ((v = cli_opt(argc, argv, i, "--fusion"))) {
        if (!strcmp(v, "rrf")) r->fuse.method = FR_FUSE_RRF;
        else if (!strcmp(v, "weighted")) r->fuse.method = FR_FUSE_WEIGHTED;
        else cli_usage_error("--fusion: expected rrf or weighted");
    } else if ((v = cli_opt(argc, argv, i, "--rrf-k"))) {
        r->fuse.rrf_k = cli_parse_double("--rrf-k", v);
        if (!(r->fuse.rrf_k >= 0)) cli_usage_error("--rrf-k: expected a number >= 0");
    } else if ((v = cli_opt(argc, argv, i, "--dense-weight"))) {
        r->dense_weight = cli_parse_double("--dense-weight", v);
        if (!(r->dense_weight >= 0 && r->dense_weight <= 1)) cli_usage_error("--dense-weight: expected [0, 1]");
    } else if ((v = cli_opt(argc, argv, i, "--fusion-depth")))
        r->depth = (size_t)cli_parse_long("--fusion-depth", v, 1, 1000000);
    else return 0;
    return 1;
}

int cli_retriever_open(cli_retriever *r, fr_index *ix, const char *dir, fr_error *err) {
    return r->mode == 0 ? 0 : fr_index_load_embedder(ix, err);
}

void cli_retriever_close(cli_retriever *r) { (void)r; }

static int dense(cli_retriever *r, fr_index *ix, const char *query, size_t k, fr_hit *hits, size_t *n_hits,
                 fr_error *err) {
    *n_hits = 0;
    fr_index_embedding em;
    int rc = fr_index_embedding_get(ix, &em, err);
    if (rc < 0) return rc;
    float *q = malloc((size_t)em.dim * sizeof *q);
    if (!q) return fr__err(err, FR_ENOMEM, "out of memory");
    fr_search_opts so = fr_search_opts_default();
    so.k = k;
    rc = fr_index_embed_query(ix, query, q, err);
    if (rc == 0) rc = fr_index_search_dense(ix, q, &so, 2, hits, n_hits, err);
    free(q);
    return rc;
}

int cli_retriever_search(cli_retriever *r, fr_index *ix, const char *query, const fr_search_opts *so,
                         size_t k, fr_hit *hits, size_t *n_hits, fr_error *err) {
    fr_search_opts o = *so;
    *n_hits = 0;
    if (r->mode == 0) {
        o.k = k;
        return fr_index_search(ix, query, -1, &o, hits, n_hits, err);
    }
    if (r->mode == 1) return dense(r, ix, query, k, hits, n_hits, err);
    size_t depth = r->depth < k ? k : r->depth, nb = 0, nd = 0, n = 0;
    fr_hit *buf = malloc(4 * depth * sizeof *buf);  // BM25 (depth), dense (depth), fused (2 depth)
    if (!buf) return fr__err(err, FR_ENOMEM, "out of memory");
    o.k = depth;
    int rc = fr_index_search(ix, query, -1, &o, buf, &nb, err);
    if (rc == 0) rc = dense(r, ix, query, depth, buf + depth, &nd, err);
    if (rc == 0) {
        const fr_hit *lists[2] = {buf, buf + depth};
        size_t lens[2] = {nb, nd};
        fr_fuse_opts fo = r->fuse;
        if (fo.method == FR_FUSE_WEIGHTED) {
            r->w[0] = 1 - r->dense_weight;
            r->w[1] = r->dense_weight;
            fo.weights = r->w;
        }
        rc = fr_fuse(lists, lens, 2, &fo, buf + 2 * depth, &n, err);
    }
    if (rc == 0) {
        *n_hits = n < k ? n : k;
        memcpy(hits, buf + 2 * depth, *n_hits * sizeof *hits);
    }
    free(buf);
    return rc;
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
        else if ((v = cli_opt(argc, argv, &i, "--batch")))
            batch = (size_t)cli_parse_long("--batch", v, 1, 1 << 20);
        else cli_usage_error("embed: unknown option '%s' (see --help)", argv[i]);
    }
    if (!dir) cli_usage_error("embed: --model DIR is required (see --help)");
    if (index) {
        if (eo.prompt_name) cli_usage_error("embed --index: use --prompt TEXT (a literal prefix)");
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
