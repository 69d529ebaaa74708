/* cmd_rerank.c — `finerank rerank --model DIR --query TEXT [--docs FILE] [--top-n N]
 *                 [--max-length N] [--long-docs truncate|max|mean|first] [--stride N]
 *                 [--truncation longest_first|only_second] [--threads N] [--batch-tokens N]
 *                 [--info] [--dtype f32|bf16|int8]`
 *
 * Documents come one per line from FILE or stdin: a JSON object with a "text" string (its
 * other fields are passed through to the output) or, for any line that is not such an object,
 * the plain line itself. Output: one JSON line per document, best first:
 *   {"index": i, "relevance_score": s, "raw_score": logit, ...passed-through fields}
 * (plus "windows": k with a window mode). Ties keep input order. Exit status 0 on success,
 * 1 on a model or scoring error, 2 for usage errors. --info writes what was loaded (architecture,
 * weights dtype, max_length, labels, and which relevance mapping was applied and why) as one
 * JSON line on stderr.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "finerank.h"

static void help(void) {
    printf("usage: finerank rerank --model DIR --query TEXT [--docs FILE] [--top-n N]\n"
           "                       [--max-length N] [--long-docs truncate|max|mean|first]\n"
           "                       [--stride N] [--truncation longest_first|only_second]\n"
           "                       [--threads N] [--batch-tokens N] [--info]\n"
           "                       [--dtype f32|bf16|int8]\n"
           "  DIR: a Hugging Face cross-encoder (config.json, model.safetensors, tokenizer.json)\n"
           "  documents: one per line from FILE or stdin, JSON {\"text\": ..., other fields} or plain text\n"
           "  stdout: best first, {\"index\", \"relevance_score\", \"raw_score\", ...other fields}\n"
           "  --long-docs: truncate (default, as sentence-transformers' CrossEncoder) or split long\n"
           "               passages into windows sharing --stride tokens and take the max / mean /\n"
           "               first window's score\n");
}

typedef struct doc {
    char *text;
    json_t *fields;  // the JSON object minus "text", or NULL for a plain line
} doc;

typedef struct { size_t i; float s; } ranked;
static int cmp_rank(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    if (x->s != y->s) return x->s > y->s ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

int cmd_rerank(int argc, char **argv) {
    const char *dir = NULL, *query = NULL, *docs_path = NULL;
    long top_n = -1;
    int info = 0;
    fr_score_opts so = fr_score_opts_default();
    fr_model_opts mo = fr_model_opts_default();
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { help(); return 0; }
        else if (!strcmp(argv[i], "--info")) info = 1;
        else if ((v = cli_opt(argc, argv, &i, "--model"))) dir = v;
        else if ((v = cli_opt(argc, argv, &i, "--query"))) query = v;
        else if ((v = cli_opt(argc, argv, &i, "--docs"))) docs_path = v;
        else if ((v = cli_opt(argc, argv, &i, "--top-n"))) top_n = cli_parse_long("--top-n", v, 0, 1L << 40);
        else if ((v = cli_opt(argc, argv, &i, "--max-length")))
            so.max_length = (int)cli_parse_long("--max-length", v, 1, 1 << 20);
        else if ((v = cli_opt(argc, argv, &i, "--stride")))
            so.window_stride = (int)cli_parse_long("--stride", v, 1, 1 << 20);
        else if ((v = cli_opt(argc, argv, &i, "--threads")))
            mo.threads = so.threads = (int)cli_parse_long("--threads", v, 1, 1024);
        else if ((v = cli_opt(argc, argv, &i, "--dtype"))) {
            if (fr_dtype_parse(v, &mo.dtype) < 0) cli_usage_error("--dtype: expected f32, bf16 or int8");
        } else if ((v = cli_opt(argc, argv, &i, "--batch-tokens")))
            so.batch_tokens = (int)cli_parse_long("--batch-tokens", v, 1, 1 << 24);
        else if ((v = cli_opt(argc, argv, &i, "--long-docs"))) {
            if (!strcmp(v, "truncate")) so.long_docs = FR_LONG_TRUNCATE;
            else if (!strcmp(v, "max")) so.long_docs = FR_LONG_MAX;
            else if (!strcmp(v, "mean")) so.long_docs = FR_LONG_MEAN;
            else if (!strcmp(v, "first")) so.long_docs = FR_LONG_FIRST;
            else cli_usage_error("--long-docs: expected truncate, max, mean or first");
        } else if ((v = cli_opt(argc, argv, &i, "--truncation"))) {
            if (!strcmp(v, "longest_first")) so.truncation = FR_TRUNC_LONGEST_FIRST;
            else if (!strcmp(v, "only_second")) so.truncation = FR_TRUNC_ONLY_SECOND;
            else cli_usage_error("--truncation: expected longest_first or only_second");
        } else cli_usage_error("rerank: unknown option '%s' (see --help)", argv[i]);
    }
    if (!dir || !query) cli_usage_error("rerank: --model DIR and --query TEXT are required (see --help)");
    if (!*query) cli_usage_error("rerank: --query must not be empty");

    FILE *in = stdin;
    if (docs_path && !(in = fopen(docs_path, "r"))) {
        fprintf(stderr, "finerank rerank: %s: cannot open\n", docs_path);
        return 1;
    }
    doc *docs = NULL;
    size_t n = 0, cap = 0;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    int rc = 1;
    while ((len = getline(&line, &lcap, in)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
        line[len] = 0;
        if (n == cap) {
            cap = cap ? 2 * cap : 256;
            doc *d = realloc(docs, cap * sizeof *d);
            if (!d) { fprintf(stderr, "finerank rerank: out of memory\n"); goto out; }
            docs = d;
        }
        doc *d = &docs[n];
        d->fields = NULL;
        d->text = NULL;
        json_t *o = len && line[0] == '{' ? json_loadb(line, (size_t)len, 0, NULL) : NULL;
        if (o && json_is_string(json_object_get(o, "text"))) {
            d->text = strdup(json_string_value(json_object_get(o, "text")));
            json_object_del(o, "text");
            d->fields = o;
        } else {
            json_decref(o);
            d->text = strdup(line);
        }
        if (!d->text) { fprintf(stderr, "finerank rerank: out of memory\n"); goto out; }
        n++;
    }
    fr_error err;
    fr_model *m = NULL;
    if (fr_model_open(dir, &mo, &m, &err) < 0) {
        fprintf(stderr, "finerank rerank: %s\n", err.msg);
        goto out;
    }
    if (info) {
        fr_model_info mi;
        fr_model_get_info(m, &mi);
        json_t *j = json_pack("{s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:s, s:s, s:s?, s:s, s:s}",
                              "architecture", mi.architecture, "weights_dtype", mi.weights_dtype,
                              "hidden_act", mi.hidden_act, "layers", mi.layers, "hidden", mi.hidden,
                              "max_length", mi.max_length, "num_labels", mi.num_labels,
                              "positive_label", mi.positive_label, "relevance", mi.activation,
                              "relevance_source", mi.activation_source, "recorded_activation",
                              mi.recorded_activation, "compute_dtype", mi.compute_dtype,
                              "kernel_isa", mi.kernel_isa);
        char *js = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        if (js) fprintf(stderr, "%s\n", js);
        free(js);
        json_decref(j);
    }
    const char **texts = malloc((n ? n : 1) * sizeof *texts);
    fr_rerank_score *scores = malloc((n ? n : 1) * sizeof *scores);
    ranked *order = malloc((n ? n : 1) * sizeof *order);
    if (!texts || !scores || !order) {
        fprintf(stderr, "finerank rerank: out of memory\n");
    } else {
        for (size_t i = 0; i < n; i++) texts[i] = docs[i].text;
        if (fr_model_rerank(m, query, texts, NULL, n, &so, scores, &err) < 0) {
            fprintf(stderr, "finerank rerank: %s\n", err.msg);
        } else {
            for (size_t i = 0; i < n; i++) order[i] = (ranked){i, scores[i].relevance};
            qsort(order, n, sizeof *order, cmp_rank);
            size_t k = top_n >= 0 && (size_t)top_n < n ? (size_t)top_n : n;
            for (size_t r = 0; r < k; r++) {
                size_t i = order[r].i;
                json_t *o = json_object();
                json_object_set_new(o, "index", json_integer((json_int_t)i));
                json_object_set_new(o, "relevance_score", json_real(scores[i].relevance));
                json_object_set_new(o, "raw_score", json_real(scores[i].raw));
                if (so.long_docs != FR_LONG_TRUNCATE)
                    json_object_set_new(o, "windows", json_integer(scores[i].windows));
                if (docs[i].fields) json_object_update_missing(o, docs[i].fields);
                char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9));
                if (s) puts(s);
                free(s);
                json_decref(o);
            }
            rc = 0;
        }
    }
    free(texts);
    free(scores);
    free(order);
    fr_model_free(m);
out:
    for (size_t i = 0; i < n; i++) {
        free(docs[i].text);
        json_decref(docs[i].fields);
    }
    free(docs);
    free(line);
    if (in != stdin) fclose(in);
    return rc;
}
