/* test_tok_conformance.c — replays every golden of tests/data/tok (see
 * TOK_GOLDEN_FORMAT.md: produced by scripts/tok/gen_goldens.js with the HF tokenizers
 * oracle) and counts exact matches of ids and type_ids per tokenizer. A mismatch prints the
 * first few differing cases. Tokenizers from ../shared are skipped with a message when
 * absent. FR_CONF_ONLY=<name> restricts the run to one tokenizer.
 */
#include <jansson.h>
#include <zlib.h>

#include "finerank.h"
#include "test.h"

#define DIR "tests/data/tok/"

// Under AddressSanitizer (make SANITIZE=...) every 4th golden is replayed, to keep the
// sanitizer run short; the plain `make check` replays them all.
#if defined(__SANITIZE_ADDRESS__)
#define STRIDE 4
#else
#define STRIDE 1
#endif

// Reads one line (without '\n') from a gz stream into *buf. Returns length, or -1 at EOF.
static long gz_line(gzFile f, char **buf, size_t *cap) {
    size_t n = 0;
    for (;;) {
        if (n + 4096 > *cap) {
            *cap = *cap ? *cap * 2 : 65536;
            *buf = realloc(*buf, *cap);
        }
        if (!gzgets(f, *buf + n, (int)(*cap - n))) return n ? (long)n : -1;
        n += strlen(*buf + n);
        if (n && (*buf)[n - 1] == '\n') { (*buf)[--n] = 0; return (long)n; }
    }
}

typedef struct { char *text, *pair; size_t tl, pl; int has_pair; } tcase;


static void print_ids(const char *label, const int32_t *ids, const uint8_t *ty, size_t n) {
    fprintf(stderr, "    %s (%zu):", label, n);
    for (size_t i = 0; i < n && i < 40; i++) fprintf(stderr, " %d/%d", ids[i], ty[i]);
    fprintf(stderr, n > 40 ? " ...\n" : "\n");
}

int main(void) {
    json_error_t jerr;
    json_t *list = json_load_file(DIR "tokenizers.json", 0, &jerr);
    CHECK(list != NULL);
    if (!list) return TEST_REPORT();
    // corpus
    gzFile cf = gzopen(DIR "corpus.jsonl.gz", "rb");
    CHECK(cf != NULL);
    if (!cf) return TEST_REPORT();
    tcase *cases = NULL;
    size_t n_cases = 0, cap_cases = 0, lcap = 0;
    char *line = NULL;
    long ll;
    size_t bad_lines = 0;
    while ((ll = gz_line(cf, &line, &lcap)) >= 0) {
        json_t *o = json_loadb(line, (size_t)ll, JSON_ALLOW_NUL, &jerr);
        if (!o) { bad_lines++; continue; }
        if (n_cases == cap_cases) {
            cap_cases = cap_cases ? cap_cases * 2 : 8192;
            cases = realloc(cases, cap_cases * sizeof *cases);
        }
        tcase *c = &cases[n_cases++];
        memset(c, 0, sizeof *c);
        json_t *t = json_object_get(o, "text"), *p = json_object_get(o, "pair");
        c->tl = json_string_length(t);
        c->text = malloc(c->tl + 1);
        memcpy(c->text, json_string_value(t) ? json_string_value(t) : "", c->tl + 1);
        if (json_is_string(p)) {
            c->has_pair = 1;
            c->pl = json_string_length(p);
            c->pair = malloc(c->pl + 1);
            memcpy(c->pair, json_string_value(p), c->pl + 1);
        }
        json_decref(o);
    }
    gzclose(cf);
    CHECK_EQ(bad_lines, 0);
    CHECK(n_cases >= 6000);
    const char *only = getenv("FR_CONF_ONLY");

    size_t idx;
    json_t *ent;
    json_array_foreach(list, idx, ent) {
        const char *name = json_string_value(json_object_get(ent, "name"));
        const char *path = json_string_value(json_object_get(ent, "path"));
        if (!name || !path) { CHECK(0); continue; }
        if (only && strcmp(only, name) != 0) continue;
        char msg[512];
        if (strncmp(path, "shared:", 7) == 0) {
            const char *sp = fr_test_shared(path + 7);
            if (!sp) {
                snprintf(msg, sizeof msg, "%s: %s absent", name, path);
                TEST_SKIP(msg);
                continue;
            }
            path = sp;
        }
        fr_tokenizer *tok = NULL;
        fr_error err;
        int rc = fr_tokenizer_open(path, &tok, &err);
        if (rc < 0) fprintf(stderr, "%s: open failed: %s\n", name, err.msg);
        CHECK_EQ(rc, 0);
        if (rc < 0) continue;
        char gpath[512];
        snprintf(gpath, sizeof gpath, DIR "%s.golden.gz", name);
        gzFile gf = gzopen(gpath, "rb");
        CHECK(gf != NULL);
        if (!gf) { fr_tokenizer_free(tok); continue; }
        size_t total = 0, exact = 0, shown = 0, bad_err = 0;
        long failed_i[64];
        size_t n_failed_i = 0;
        int first = 1;
        size_t seen = 0;
        while ((ll = gz_line(gf, &line, &lcap)) >= 0) {
            json_t *g = json_loadb(line, (size_t)ll, 0, &jerr);
            if (!g) { CHECK(g != NULL); continue; }
            if (first) { first = 0; CHECK(json_object_get(g, "_header") != NULL); json_decref(g); continue; }
            if (STRIDE > 1 && (seen++ % STRIDE) != 0) { json_decref(g); continue; }
            json_int_t i = json_integer_value(json_object_get(g, "i"));
            if (i < 0 || (size_t)i >= n_cases) { CHECK(0); json_decref(g); continue; }
            tcase *c = &cases[i];
            fr_encode_opts o = fr_encode_opts_default();
            json_t *tr = json_object_get(g, "trunc");
            if (json_is_object(tr)) {
                o.max_length = (int)json_integer_value(json_object_get(tr, "max_length"));
                const char *s = json_string_value(json_object_get(tr, "strategy"));
                o.strategy = !s || strcmp(s, "longest_first") == 0 ? FR_TRUNC_LONGEST_FIRST
                             : strcmp(s, "only_first") == 0        ? FR_TRUNC_ONLY_FIRST
                                                                    : FR_TRUNC_ONLY_SECOND;
                const char *dir = json_string_value(json_object_get(tr, "direction"));
                o.truncate_left = dir && strcmp(dir, "left") == 0;
            }
            fr_encoding enc = {0};
            rc = fr_tokenizer_encode(tok, c->text, (ptrdiff_t)c->tl, c->has_pair ? c->pair : NULL,
                                     (ptrdiff_t)c->pl, &o, &enc, &err);
            total++;
            json_t *gid = json_object_get(g, "ids"), *gty = json_object_get(g, "type_ids");
            int ok;
            if (json_object_get(g, "error")) {
                ok = rc < 0;
            } else {
                ok = rc == 0 && json_array_size(gid) == enc.n && json_array_size(gty) == enc.n;
                for (size_t k = 0; ok && k < enc.n; k++)
                    ok = json_integer_value(json_array_get(gid, k)) == enc.ids[k] &&
                         json_integer_value(json_array_get(gty, k)) == enc.type_ids[k];
            }
            if (ok) {
                exact++;
            } else {
                if (n_failed_i < 64 && (!n_failed_i || failed_i[n_failed_i - 1] != (long)i))
                    failed_i[n_failed_i++] = (long)i;
                if (rc < 0) bad_err++;
                if (shown++ < 4) {
                    fprintf(stderr, "  %s case i=%lld trunc=%s\n    text: \"%.200s\"%s\n", name,
                            (long long)i, json_is_object(tr) ? "yes" : "null", c->text,
                            c->has_pair ? " (pair)" : "");
                    if (c->has_pair) fprintf(stderr, "    pair: \"%.200s\"\n", c->pair);
                    if (json_object_get(g, "error"))
                        fprintf(stderr, "    expected error: %s\n",
                                json_string_value(json_object_get(g, "error")));
                    else {
                        size_t gn = json_array_size(gid);
                        int32_t *ei = calloc(gn + 1, sizeof *ei);
                        uint8_t *et = calloc(gn + 1, 1);
                        for (size_t k = 0; k < gn; k++) {
                            ei[k] = (int32_t)json_integer_value(json_array_get(gid, k));
                            et[k] = (uint8_t)json_integer_value(json_array_get(gty, k));
                        }
                        print_ids("expected", ei, et, gn);
                        free(ei);
                        free(et);
                    }
                    if (rc < 0) fprintf(stderr, "    got error: %s\n", err.msg);
                    else print_ids("got     ", enc.ids, enc.type_ids, enc.n);
                }
            }
            fr_encoding_free(&enc);
            json_decref(g);
        }
        gzclose(gf);
        printf("conformance %-26s %zu/%zu exact (ids + type_ids)%s", name, exact, total,
               bad_err ? " (some unexpected errors)" : "");
        printf("\n");
        if (n_failed_i) {
            fprintf(stderr, "  %s failing corpus lines:", name);
            for (size_t k = 0; k < n_failed_i; k++) fprintf(stderr, " %ld", failed_i[k]);
            fprintf(stderr, "\n");
        }
        fflush(stdout);
        CHECK(total > 0);
        CHECK_EQ(exact, total);
        fr_tokenizer_free(tok);
    }
    for (size_t i = 0; i < n_cases; i++) { free(cases[i].text); free(cases[i].pair); }
    free(cases);
    free(line);
    json_decref(list);
    return TEST_REPORT();
}
