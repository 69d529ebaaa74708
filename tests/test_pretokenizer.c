/* test_pretokenizer.c — pre-tokenizers against the HF oracle goldens
 * (tests/data/tok/textpipe/, from scripts/tok/gen_textpipe_goldens.js), plus Metaspace's
 * "first" on shifted sections, errors and long inputs.
 */
#include <utf8proc.h>

#include "base/base.h"
#include "tok/textpipe.h"
#include "tok/unicode.h"
#include "textpipe_golden.h"

static int pretok(const fr__pretok *p, const char *text, size_t len, uint32_t shift, fr__pieces *out) {
    fr__nstr s;
    int rc = fr__nstr_init(&s, text, len, shift);
    if (rc) return rc;
    fr__pieces_clear(out);
    rc = fr__pretok_apply(p, &s, out);
    fr__nstr_free(&s);
    return rc;
}

static int same_pieces(const fr__pieces *p, json_t *want) {
    if (p->n != json_array_size(want)) return 0;
    for (size_t i = 0; i < p->n; i++) {
        json_t *w = json_array_get(want, i);
        if (p->len[i] != json_string_length(w) || memcmp(p->text.data + p->off[i], json_string_value(w), p->len[i]))
            return 0;
    }
    return 1;
}

static void print_pieces(const fr__pieces *p) {
    fprintf(stderr, "[");
    for (size_t i = 0; i < p->n; i++) fprintf(stderr, "%s\"%.*s\"", i ? "," : "", (int)p->len[i], p->text.data + p->off[i]);
    fprintf(stderr, "]");
}

static void test_cases(void) {
    json_t *lines = golden_lines("tests/data/tok/textpipe/cases.jsonl.gz");
    CHECK(lines != NULL);
    if (!lines) return;
    size_t specs = 0, ok = 0, bad = 0;
    fr__pieces out = {0};
    for (size_t li = 1; li < json_array_size(lines); li++) {
        json_t *l = json_array_get(lines, li);
        if (strcmp(json_string_value(json_object_get(l, "kind")), "pre_tokenizer")) continue;
        const char *name = json_string_value(json_object_get(l, "name"));
        json_t *root, *spec = golden_spec(json_object_get(l, "spec"), &root);
        if (!spec) { TEST_SKIP("pre_tokenizer spec from ../shared absent (set FR_SHARED)"); continue; }
        specs++;
        fr__pretok *p = NULL;
        fr_error err = {0};
        int rc = fr__pretok_parse(spec, &p, &err);
        if (json_object_get(l, "error")) {
            if (rc >= 0) fprintf(stderr, "pre_tokenizer %s: parsed, oracle says %s\n", name,
                                 json_string_value(json_object_get(l, "error")));
            CHECK(rc < 0);
            fr__pretok_free(p);
            json_decref(root);
            continue;
        }
        CHECK_EQ(rc, 0);
        if (rc) { fprintf(stderr, "%s: %s\n", name, err.msg); json_decref(root); continue; }
        json_t *cases = json_object_get(l, "cases");
        for (size_t i = 0; i < json_array_size(cases); i++) {
            json_t *c = json_array_get(cases, i);
            json_t *in = json_array_get(c, 0), *want = json_array_get(c, 1);
            rc = pretok(p, json_string_value(in), json_string_length(in), 0, &out);
            if (rc == 0 && same_pieces(&out, want)) {
                ok++;
            } else {
                bad++;
                if (bad < 20) {
                    char *w = json_dumps(want, JSON_ENSURE_ASCII * 0);
                    fprintf(stderr, "pre_tokenizer %s: case %zu \"%s\" (rc %d): got ", name, i, json_string_value(in), rc);
                    print_pieces(&out);
                    fprintf(stderr, " want %s\n", w);
                    free(w);
                }
            }
        }
        fr__pretok_free(p);
        json_decref(root);
    }
    fr__pieces_free(&out);
    printf("pre_tokenizer cases: %zu specs, %zu identical, %zu different\n", specs, ok, bad);
    CHECK(ok > 0);
    CHECK_EQ(bad, 0);
    json_decref(lines);
}

// "a" + c + "b" for every code point c; the class is the pieces joined by '|', c as "X".
static void test_sweep(void) {
    json_t *lines = golden_lines("tests/data/tok/textpipe/sweep.jsonl.gz");
    CHECK(lines != NULL);
    if (!lines) return;
    fr__buf cls = {0}, joined = {0};
    fr__pieces out = {0};
    for (size_t li = 1; li < json_array_size(lines); li++) {
        json_t *l = json_array_get(lines, li);
        if (strcmp(json_string_value(json_object_get(l, "kind")), "pre_tokenizer")) continue;
        const char *name = json_string_value(json_object_get(l, "name"));
        fr__pretok *p = NULL;
        CHECK_EQ(fr__pretok_parse(json_object_get(l, "spec"), &p, NULL), 0);
        size_t tested = 0, bad = 0, skipped = 0;
        GOLDEN_FOR_EACH_CP(json_object_get(l, "runs"), cp, want, {
            char u[8] = "a";
            size_t ul = fr__u8_put(cp, u + 1);
            u[1 + ul] = 'b';
            int rc = pretok(p, u, ul + 2, 0, &out);
            // join pieces with '|' (a piece never contains '|' here except c itself, which
            // golden_class rewrites first)
            fr__buf_reserve(&cls, 0);
            cls.len = 0;
            for (size_t i = 0; rc == 0 && i < out.n; i++) {
                golden_class(out.text.data + out.off[i], out.len[i], u + 1, ul, &joined);
                if (i) fr__buf_putc(&cls, '|');
                fr__buf_append(&cls, joined.data, joined.len);
            }
            if (rc || strcmp(cls.data ? cls.data : "", want)) {
                if (fr__u_category(cp) == UTF8PROC_CATEGORY_CN) skipped++;
                else if (++bad < 10 || getenv("FR_TEST_VERBOSE"))
                    fprintf(stderr, "sweep %s: U+%04X got \"%s\" want \"%s\"\n", name, cp, cls.data, want);
            }
            tested++;
        });
        printf("pre_tokenizer sweep %s: %zu code points, %zu different, %zu unassigned-in-utf8proc skipped\n",
               name, tested, bad, skipped);
        CHECK_EQ(bad, 0);
        fr__pretok_free(p);
    }
    fr__pieces_free(&out);
    fr__buf_free(&cls);
    fr__buf_free(&joined);
    json_decref(lines);
}

static json_t *js(const char *s) { return json_loads(s, 0, NULL); }

static void test_first(void) {
    // prepend_scheme "first": only a string whose original offset is 0 gets the prefix
    json_t *j = js("{\"type\":\"Metaspace\",\"replacement\":\"\\u2581\",\"prepend_scheme\":\"first\",\"split\":true}");
    fr__pretok *p = NULL;
    fr__pieces out = {0};
    CHECK_EQ(fr__pretok_parse(j, &p, NULL), 0);
    CHECK_EQ(pretok(p, "hi you", 6, 0, &out), 0);
    CHECK_EQ(out.n, 2);
    CHECK(out.len[0] == 5 && !memcmp(out.text.data, "\xe2\x96\x81hi", 5));
    CHECK_EQ(pretok(p, "hi you", 6, 7, &out), 0);  // a section after an added token
    CHECK_EQ(out.n, 2);
    CHECK(out.len[0] == 2 && !memcmp(out.text.data, "hi", 2));
    fr__pretok_free(p);
    json_decref(j);
    CHECK_EQ(fr__pretok_parse(json_null(), &p, NULL), 0);
    CHECK(p == NULL);
    CHECK_EQ(pretok(NULL, "a b", 3, 0, &out), 0);
    CHECK_EQ(out.n, 1);
    CHECK_EQ(pretok(NULL, "", 0, 0, &out), 0);
    CHECK_EQ(out.n, 0);
    fr__pieces_free(&out);
    j = js("{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true}");
    CHECK_EQ(fr__pretok_parse(j, &p, NULL), 0);
    CHECK(fr__pretok_is_bytelevel(p));
    fr__pretok_free(p);
    json_decref(j);
}

static void test_errors(void) {
    const char *bad[] = {
        "{\"type\":\"Nope\"}", "[3]", "{\"type\":\"Split\",\"pattern\":{\"Regex\":\"[\"},\"behavior\":\"Isolated\",\"invert\":false}",
        "{\"type\":\"Split\",\"pattern\":{\"String\":\"a\"},\"behavior\":\"Sideways\"}",
        "{\"type\":\"Metaspace\",\"replacement\":\"ab\"}", "{\"type\":\"Metaspace\",\"replacement\":\"_\",\"prepend_scheme\":\"x\"}",
        "{\"type\":\"CharDelimiterSplit\"}", "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Bad\"}]}",
        "{\"type\":\"Digits\",\"individual_digits\":\"yes\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *j = js(bad[i]);
        fr__pretok *p = (fr__pretok *)1;
        fr_error err = {0};
        CHECK(j != NULL);
        CHECK(fr__pretok_parse(j, &p, &err) < 0);
        CHECK(p == NULL);
        CHECK(strncmp(err.msg, "pre_tokenizer", 13) == 0);
        json_decref(j);
    }
}

// Long inputs: a 1 MB word, 1 MB of spaces, 10k CJK, through the regex and char splitters.
static void test_long(void) {
    size_t n = 1 << 20;
    char *w = malloc(n), *sp = malloc(n);
    for (size_t i = 0; i < n; i++) { w[i] = (char)('a' + i % 26); sp[i] = ' '; }
    sp[n - 1] = 'x';
    const char *specs[] = {
        "{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true}", "{\"type\":\"BertPreTokenizer\"}", "{\"type\":\"Whitespace\"}",
        "{\"type\":\"Metaspace\",\"replacement\":\"_\",\"prepend_scheme\":\"always\",\"split\":true}",
        "{\"type\":\"Split\",\"pattern\":{\"Regex\":\"(?i:'s|'t)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+\"},\"behavior\":\"Isolated\",\"invert\":false}",
    };
    fr__pieces out = {0};
    for (size_t k = 0; k < sizeof specs / sizeof *specs; k++) {
        json_t *j = js(specs[k]);
        CHECK(j != NULL);
        fr__pretok *p = NULL;
        CHECK_EQ(fr__pretok_parse(j, &p, NULL), 0);
        CHECK_EQ(pretok(p, w, n, 0, &out), 0);
        CHECK(out.n >= 1);
        CHECK_EQ(pretok(p, sp, n, 0, &out), 0);
        CHECK(out.n >= 1);
        fr__pretok_free(p);
        json_decref(j);
    }
    fr__pieces_free(&out);
    free(w);
    free(sp);
}

int main(void) {
    test_cases();
    test_sweep();
    test_first();
    test_errors();
    test_long();
    return TEST_REPORT();
}
