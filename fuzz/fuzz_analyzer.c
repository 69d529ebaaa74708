/* fuzz_analyzer.c — libFuzzer target for the index analyzer (src/text/analyzer.c): arbitrary
 * bytes (invalid UTF-8, NULs, combining marks, CJK, apostrophes, digits) through the English
 * and the plain analyzers. Checks the invariants callers rely on: terms are non-empty, at most
 * max_term_bytes long (CJK bigrams: 8), valid UTF-8, positions strictly increasing; and the
 * ASCII fast path gives exactly the terms and positions of the Unicode path (a second
 * English analyzer with fr__analyzer_set_ascii_fast(0)).
 * Seeds: fuzz/corpus/analyzer/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "finerank.h"
#include "text/analyzer.h"

static fr_analyzer *en, *raw, *en_slow;

static void check(const fr_terms *t) {
    for (size_t i = 0; i < t->n; i++) {
        size_t n = strlen(t->terms[i]);
        if (n == 0 || n > 200) abort();
        if (utf8proc_iterate((const uint8_t *)t->terms[i], -1, &(utf8proc_int32_t){0}) < 0) abort();
        const uint8_t *p = (const uint8_t *)t->terms[i];
        for (size_t k = 0; k < n;) {
            utf8proc_int32_t c;
            utf8proc_ssize_t r = utf8proc_iterate(p + k, (utf8proc_ssize_t)(n - k), &c);
            if (r <= 0) abort();
            k += (size_t)r;
        }
        if (i && t->pos[i] <= t->pos[i - 1]) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!en && fr_analyzer_new("english", NULL, &en, NULL) < 0) abort();
    if (!en_slow) {
        if (fr_analyzer_new("english", NULL, &en_slow, NULL) < 0) abort();
        fr__analyzer_set_ascii_fast(en_slow, 0);
    }
    if (!raw) {
        fr_analyzer_opts o = fr_analyzer_opts_default();
        o.stem = o.stopwords = 0;
        o.fold_accents = 0;
        if (fr_analyzer_new("none", &o, &raw, NULL) < 0) abort();
    }
    fr_terms t = {0}, u = {0};
    int rc = fr_analyze_terms(en, (const char *)data, (ptrdiff_t)size, &t, NULL);
    if (rc == 0) check(&t);
    if (fr_analyze_terms(en_slow, (const char *)data, (ptrdiff_t)size, &u, NULL) != rc) abort();
    if (rc == 0) {
        if (t.n != u.n) abort();
        for (size_t i = 0; i < t.n; i++)
            if (t.pos[i] != u.pos[i] || strcmp(t.terms[i], u.terms[i])) abort();
    }
    fr_terms_free(&t);
    fr_terms_free(&u);
    if (fr_analyze_terms(raw, (const char *)data, (ptrdiff_t)size, &t, NULL) == 0) check(&t);
    fr_terms_free(&t);
    return 0;
}
