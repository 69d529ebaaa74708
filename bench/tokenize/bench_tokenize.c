/* bench_tokenize.c — single-thread tokenizer throughput: encodes every line of a JSON-lines
 * corpus (gzip or plain; {"text", "pair"?}) with each tokenizer.json given, repeating until
 * at least --seconds have passed, and prints one line per tokenizer:
 *   <name> all inputs=N tokens=T seconds=S tokens_per_s=X      (texts and pairs)
 *   <name> singles inputs=N tokens=T seconds=S tokens_per_s=X  (texts without a pair only,
 *                                     the subset HF's npm encodeBatch accepts)
 * `--linear` also times one word of 256 KiB and of 1 MiB through each tokenizer and prints
 * the time ratio (4.0 means linear cost).
 * usage: bench_tokenize [--seconds S] [--linear] CORPUS NAME=PATH...
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "finerank.h"
#include "../bench.h"

typedef struct { char *text, *pair; size_t tl, pl; } input;


static input *load(const char *path, size_t *n_out) {
    gzFile f = gzopen(path, "rb");
    if (!f) { fprintf(stderr, "cannot open %s\n", path); exit(1); }
    size_t cap = 1 << 20, len = 0;
    char *all = malloc(cap);
    int r;
    while ((r = gzread(f, all + len, (unsigned)(cap - len - 1))) > 0) {
        len += (size_t)r;
        if (cap - len < 65536) all = realloc(all, cap *= 2);
    }
    gzclose(f);
    all[len] = 0;
    input *in = NULL;
    size_t n = 0, icap = 0;
    for (char *p = all; *p;) {
        char *e = strchr(p, '\n');
        size_t ll = e ? (size_t)(e - p) : strlen(p);
        json_t *o = json_loadb(p, ll, JSON_ALLOW_NUL, NULL);
        if (o && json_is_string(json_object_get(o, "text"))) {
            if (n == icap) in = realloc(in, (icap = icap ? icap * 2 : 4096) * sizeof *in);
            json_t *t = json_object_get(o, "text"), *q = json_object_get(o, "pair");
            in[n].tl = json_string_length(t);
            in[n].text = memcpy(malloc(in[n].tl + 1), json_string_value(t), in[n].tl + 1);
            in[n].pair = NULL;
            in[n].pl = 0;
            if (json_is_string(q)) {
                in[n].pl = json_string_length(q);
                in[n].pair = memcpy(malloc(in[n].pl + 1), json_string_value(q), in[n].pl + 1);
            }
            n++;
        }
        json_decref(o);
        p = e ? e + 1 : p + ll;
    }
    free(all);
    *n_out = n;
    return in;
}

static double time_word(fr_tokenizer *t, size_t n) {
    char *s = malloc(n + 1);
    for (size_t i = 0; i < n; i++) s[i] = "abcdefghij"[(i * 7 + i / 13) % 10];
    s[n] = 0;
    fr_encoding e = {0};
    fr_encode_opts o = fr_encode_opts_default();
    double t0 = now();
    if (fr_tokenizer_encode(t, s, (ptrdiff_t)n, NULL, 0, &o, &e, NULL) < 0) fprintf(stderr, "encode failed\n");
    double dt = now() - t0;
    fr_encoding_free(&e);
    free(s);
    return dt;
}

int main(int argc, char **argv) {
    double min_s = 2.0;
    int linear = 0, i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--seconds") && i + 1 < argc) min_s = atof(argv[++i]);
        else if (!strcmp(argv[i], "--linear")) linear = 1;
        else { fprintf(stderr, "unknown option %s\n", argv[i]); return 2; }
    }
    if (i >= argc) { fprintf(stderr, "usage: bench_tokenize [--seconds S] [--linear] CORPUS NAME=PATH...\n"); return 2; }
    size_t n;
    input *in = load(argv[i++], &n);
    for (; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq) continue;
        *eq = 0;
        fr_tokenizer *t;
        fr_error err;
        if (fr_tokenizer_open(eq + 1, &t, &err) < 0) { fprintf(stderr, "%s\n", err.msg); return 1; }
        for (int singles = 0; singles < 2; singles++) {
            fr_encode_opts o = fr_encode_opts_default();
            fr_encoding e = {0};
            size_t tokens = 0, inputs = 0, errors = 0;
            for (size_t k = 0; k < n; k++) {  // warm-up pass
                if (singles && in[k].pair) continue;
                if (fr_tokenizer_encode(t, in[k].text, (ptrdiff_t)in[k].tl, in[k].pair, (ptrdiff_t)in[k].pl, &o, &e, NULL) < 0) errors++;
                fr_encoding_free(&e);
            }
            double t0 = now(), dt;
            do {
                for (size_t k = 0; k < n; k++) {
                    if (singles && in[k].pair) continue;
                    if (fr_tokenizer_encode(t, in[k].text, (ptrdiff_t)in[k].tl, in[k].pair, (ptrdiff_t)in[k].pl, &o, &e, NULL) == 0)
                        tokens += e.n;
                    fr_encoding_free(&e);
                    inputs++;
                }
                dt = now() - t0;
            } while (dt < min_s);
            printf("%s %s inputs=%zu tokens=%zu seconds=%.3f tokens_per_s=%.0f errors=%zu\n", argv[i],
                   singles ? "singles" : "all", inputs, tokens, dt, tokens / dt, errors);
        }
        if (linear) {
            double a = time_word(t, 256 << 10), b = time_word(t, 1 << 20);
            printf("%s linear: 256KiB word %.4fs, 1MiB word %.4fs, ratio %.2f (4.0 = linear)\n", argv[i],
                   a, b, b / a);
        }
        fflush(stdout);
        fr_tokenizer_free(t);
    }
    for (size_t k = 0; k < n; k++) { free(in[k].text); free(in[k].pair); }
    free(in);
    return 0;
}
