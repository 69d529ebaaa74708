/* test_normalizer.c — normalizers against the HF oracle goldens
 * (tests/data/tok/textpipe/, from scripts/tok/gen_textpipe_goldens.js), plus alignment,
 * error and linear-time checks.
 */
#include <utf8proc.h>

#include "base/base.h"
#include "tok/textpipe.h"
#include "tok/unicode.h"
#include "textpipe_golden.h"

static int normalize(const fr__normalizer *n, const char *text, size_t len, fr__nstr *s) {
    int rc = fr__nstr_init(s, text, len, 0);
    return rc ? rc : fr__normalizer_apply(n, s);
}

static void test_cases(void) {
    json_t *lines = golden_lines("tests/data/tok/textpipe/cases.jsonl.gz");
    CHECK(lines != NULL);
    if (!lines) return;
    size_t specs = 0, ok = 0, bad = 0;
    for (size_t li = 1; li < json_array_size(lines); li++) {
        json_t *l = json_array_get(lines, li);
        if (strcmp(json_string_value(json_object_get(l, "kind")), "normalizer")) continue;
        const char *name = json_string_value(json_object_get(l, "name"));
        json_t *root, *spec = golden_spec(json_object_get(l, "spec"), &root);
        if (!spec) {
            TEST_SKIP("normalizer spec from ../shared absent (set FR_SHARED)");
            continue;
        }
        specs++;
        fr__normalizer *n = NULL;
        fr_error err = {0};
        int rc = fr__normalizer_parse(spec, &n, &err);
        if (json_object_get(l, "error")) {
            CHECK(rc < 0);
            json_decref(root);
            continue;
        }
        CHECK_EQ(rc, 0);
        if (rc) { fprintf(stderr, "%s: %s\n", name, err.msg); json_decref(root); continue; }
        json_t *cases = json_object_get(l, "cases");
        for (size_t i = 0; i < json_array_size(cases); i++) {
            json_t *c = json_array_get(cases, i);
            json_t *in = json_array_get(c, 0), *want = json_array_get(c, 1);
            fr__nstr s;
            rc = normalize(n, json_string_value(in), json_string_length(in), &s);
            if (rc == 0 && s.len == json_string_length(want) && !memcmp(s.s, json_string_value(want), s.len)) {
                ok++;
            } else {
                bad++;
                if (bad < 20)
                    fprintf(stderr, "normalizer %s: case %zu \"%s\": got \"%s\" (rc %d), want \"%s\"\n", name, i,
                            json_string_value(in), rc ? "" : s.s, rc, json_string_value(want));
            }
            fr__nstr_free(&s);
        }
        fr__normalizer_free(n);
        json_decref(root);
    }
    printf("normalizer cases: %zu specs, %zu identical, %zu different\n", specs, ok, bad);
    CHECK(ok > 0);
    CHECK_EQ(bad, 0);
    json_decref(lines);
}

// Every code point alone through the per-character normalizers. Code points utf8proc 2.8
// (Unicode 15) leaves unassigned are skipped (Rust's tables are Unicode 16).
static void test_sweep(void) {
    json_t *lines = golden_lines("tests/data/tok/textpipe/sweep.jsonl.gz");
    CHECK(lines != NULL);
    if (!lines) return;
    fr__buf cls = {0};
    for (size_t li = 1; li < json_array_size(lines); li++) {
        json_t *l = json_array_get(lines, li);
        if (strcmp(json_string_value(json_object_get(l, "kind")), "normalizer")) continue;
        const char *name = json_string_value(json_object_get(l, "name"));
        json_t *root, *spec = golden_spec(json_object_get(l, "spec"), &root);
        if (!spec) { TEST_SKIP("sweep spec from ../shared absent (set FR_SHARED)"); continue; }
        fr__normalizer *n = NULL;
        CHECK_EQ(fr__normalizer_parse(spec, &n, NULL), 0);
        size_t tested = 0, bad = 0, skipped = 0;
        GOLDEN_FOR_EACH_CP(json_object_get(l, "runs"), cp, want, {
            char u[4];
            size_t ul = fr__u8_put(cp, u);
            fr__nstr s;
            int rc = normalize(n, u, ul, &s);
            if (rc == 0 && s.len == ul && !memcmp(s.s, u, ul)) golden_class("=", 1, "", 0, &cls);
            else if (rc == 0) golden_class(s.s, s.len, u, ul, &cls);
            if (rc || strcmp(cls.data, want)) {
                if (fr__u_category(cp) == UTF8PROC_CATEGORY_CN) skipped++;
                else if (++bad < 10 || getenv("FR_TEST_VERBOSE"))
                    fprintf(stderr, "sweep %s: U+%04X got \"%s\" want \"%s\"\n", name, cp, cls.data, want);
            }
            tested++;
            fr__nstr_free(&s);
        });
        printf("normalizer sweep %s: %zu code points, %zu different, %zu unassigned-in-utf8proc skipped\n",
               name, tested, bad, skipped);
        CHECK_EQ(bad, 0);
        fr__normalizer_free(n);
        json_decref(root);
    }
    fr__buf_free(&cls);
    json_decref(lines);
}

// HF's alignment of each normalized character (its original start, in code points) — what
// Metaspace prepend_scheme "first" and the added-token slicing depend on.
static void test_align(void) {
    json_t *lines = golden_lines("tests/data/tok/textpipe/align.jsonl.gz");
    CHECK(lines != NULL);
    if (!lines) return;
    size_t ok = 0, bad = 0, specs = 0;
    for (size_t li = 1; li < json_array_size(lines); li++) {
        json_t *l = json_array_get(lines, li);
        const char *name = json_string_value(json_object_get(l, "name"));
        json_t *root, *spec = golden_spec(json_object_get(l, "spec"), &root);
        if (!spec) { TEST_SKIP("alignment spec from ../shared absent (set FR_SHARED)"); continue; }
        specs++;
        fr__normalizer *n = NULL;
        CHECK_EQ(fr__normalizer_parse(spec, &n, NULL), 0);
        json_t *cases = json_object_get(l, "cases");
        for (size_t i = 0; i < json_array_size(cases); i++) {
            json_t *c = json_array_get(cases, i);
            const char *in = json_string_value(json_array_get(c, 0));
            size_t inl = json_string_length(json_array_get(c, 0));
            json_t *want = json_array_get(c, 1);
            uint32_t *cpi = malloc((inl + 1) * sizeof *cpi);  // byte offset -> code point index
            uint32_t k = 0;
            for (size_t b = 0; b <= inl; b++) {
                cpi[b] = k;
                if (b < inl && ((unsigned char)in[b] & 0xC0) != 0x80 && b + 1 <= inl) {
                    // counted at the next lead byte
                }
                if (b + 1 <= inl && b < inl && (b + 1 == inl || ((unsigned char)in[b + 1] & 0xC0) != 0x80)) k++;
            }
            fr__nstr s;
            int rc = normalize(n, in, inl, &s);
            size_t m = 0, good = rc == 0;
            for (size_t b = 0; good && b < s.len; b++) {
                if (((unsigned char)s.s[b] & 0xC0) == 0x80) continue;
                json_t *w = json_array_get(want, m++);
                if (!w || (long long)cpi[s.orig[b]] != json_integer_value(w)) good = 0;
            }
            if (good && m != json_array_size(want)) good = 0;
            if (good) ok++;
            else if (++bad < 10) {
                fprintf(stderr, "align %s: case %zu \"%s\": got", name, i, in);
                for (size_t b = 0; rc == 0 && b < s.len; b++)
                    if (((unsigned char)s.s[b] & 0xC0) != 0x80) fprintf(stderr, " %u", cpi[s.orig[b]]);
                char *wd = json_dumps(want, 0);
                fprintf(stderr, " want %s\n", wd);
                free(wd);
            }
            if (rc == 0) fr__nstr_free(&s);
            free(cpi);
        }
        fr__normalizer_free(n);
        json_decref(root);
    }
    printf("normalizer alignments: %zu specs, %zu texts identical, %zu different\n", specs, ok, bad);
    CHECK(ok > 0);
    CHECK_EQ(bad, 0);
    json_decref(lines);
}

static json_t *js(const char *s) { return json_loads(s, 0, NULL); }

static void test_alignment(void) {
    // orig: each normalized byte points at the start of its original character
    json_t *j = js("{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"NFD\"},{\"type\":\"Lowercase\"},"
                   "{\"type\":\"Prepend\",\"prepend\":\"_\"}]}");
    fr__normalizer *n = NULL;
    CHECK_EQ(fr__normalizer_parse(j, &n, NULL), 0);
    fr__nstr s;
    CHECK_EQ(fr__nstr_init(&s, "xÉa", 4, 10), 0);  // original offsets 10..14
    CHECK_EQ(fr__normalizer_apply(n, &s), 0);
    CHECK_STR(s.s, "_xe\xcc\x81" "a");
    CHECK_EQ(s.orig[0], 10);  // prepended: aligned to the first character
    CHECK_EQ(s.orig[1], 10);
    CHECK_EQ(s.orig[2], 11);
    CHECK_EQ(s.orig[3], 11);  // the combining acute comes from É
    CHECK_EQ(s.orig[5], 13);
    CHECK_EQ(s.orig[6], 14);  // original end
    CHECK_EQ(s.shift, 10);
    fr__nstr sl;
    CHECK_EQ(fr__nstr_slice(&s, 2, 5, &sl), 0);
    CHECK_STR(sl.s, "e\xcc\x81");
    CHECK_EQ(sl.shift, 11);
    fr__nstr_free(&sl);
    fr__nstr_free(&s);
    fr__normalizer_free(n);
    json_decref(j);
    // Strip keeps the shift of the string but moves its first byte's alignment
    j = js("{\"type\":\"Strip\",\"strip_left\":true,\"strip_right\":true}");
    CHECK_EQ(fr__normalizer_parse(j, &n, NULL), 0);
    CHECK_EQ(fr__nstr_init(&s, "  ab ", 5, 0), 0);
    CHECK_EQ(fr__normalizer_apply(n, &s), 0);
    CHECK_STR(s.s, "ab");
    CHECK_EQ(s.shift, 0);
    CHECK_EQ(s.orig[0], 2);
    CHECK_EQ(s.orig[2], 5);
    fr__nstr_free(&s);
    fr__normalizer_free(n);
    json_decref(j);
}

static void test_errors(void) {
    const char *bad[] = {
        "{\"type\":\"Nope\"}", "{\"no\":1}", "[1]", "{\"type\":\"Replace\",\"pattern\":{\"Regex\":\"(\"},\"content\":\"\"}",
        "{\"type\":\"Replace\",\"pattern\":{\"X\":\"a\"},\"content\":\"\"}", "{\"type\":\"Precompiled\",\"precompiled_charsmap\":\"!!\"}",
        "{\"type\":\"Precompiled\",\"precompiled_charsmap\":\"AAAA\"}", "{\"type\":\"Precompiled\",\"precompiled_charsmap\":\"/////w==\"}",
        "{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"NFC\"},{\"type\":\"Bad\"}]}", "{\"type\":\"Prepend\"}",
        "{\"type\":\"BertNormalizer\",\"lowercase\":3}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *j = js(bad[i]);
        fr__normalizer *n = (fr__normalizer *)1;
        fr_error err = {0};
        CHECK(j != NULL);
        CHECK(fr__normalizer_parse(j, &n, &err) < 0);
        CHECK(n == NULL);
        CHECK(strncmp(err.msg, "normalizer", 10) == 0);
        json_decref(j);
    }
    json_t *j = js("{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"NFC\"},{\"type\":\"Bad\"}]}");
    fr_error err = {0};
    fr__normalizer *n;
    fr__normalizer_parse(j, &n, &err);
    CHECK(strstr(err.msg, "normalizer.normalizers[1].type") != NULL);
    json_decref(j);
    CHECK_EQ(fr__normalizer_parse(json_null(), &n, NULL), 0);
    CHECK(n == NULL);
    fr__nstr s;
    CHECK_EQ(fr__nstr_init(&s, "Ab", 2, 0), 0);
    CHECK_EQ(fr__normalizer_apply(NULL, &s), 0);
    CHECK_STR(s.s, "Ab");
    fr__nstr_free(&s);
    fr__normalizer_free(NULL);
}

// Long inputs finish (a quadratic step would time the test out): a 1 MB word, 100k
// combining marks, 10k CJK characters through every normalizer.
static void test_long(void) {
    size_t n1 = 1 << 20;
    char *w = malloc(n1 + 1);
    for (size_t i = 0; i < n1; i++) w[i] = (char)('a' + i % 26);
    size_t n2 = 200000;
    char *marks = malloc(n2 + 2);
    marks[0] = 'a';
    for (size_t i = 1; i + 1 < n2; i += 2) { marks[i] = (char)0xCC; marks[i + 1] = (char)(i % 4 ? 0x81 : 0xA3); }
    const char *specs[] = {
        "{\"type\":\"BertNormalizer\",\"clean_text\":true,\"handle_chinese_chars\":true,\"lowercase\":true}", "{\"type\":\"NFKC\"}", "{\"type\":\"NFD\"}",
        "{\"type\":\"Replace\",\"pattern\":{\"Regex\":\" {2,}\"},\"content\":\"_\"}", "{\"type\":\"Lowercase\"}",
    };
    for (size_t k = 0; k < sizeof specs / sizeof *specs; k++) {
        json_t *j = js(specs[k]);
        fr__normalizer *n = NULL;
        CHECK_EQ(fr__normalizer_parse(j, &n, NULL), 0);
        fr__nstr s;
        CHECK_EQ(normalize(n, w, n1, &s), 0);
        CHECK_EQ(s.len, n1);
        fr__nstr_free(&s);
        CHECK_EQ(normalize(n, marks, n2 - 1, &s), 0);
        CHECK(s.len > 0);
        fr__nstr_free(&s);
        fr__normalizer_free(n);
        json_decref(j);
    }
    free(w);
    free(marks);
}

int main(void) {
    test_cases();
    test_sweep();
    test_align();
    test_alignment();
    test_errors();
    test_long();
    return TEST_REPORT();
}
