/* test_analyzer.c — the index analyzer: folding, segmentation, stopwords, stemming, CJK. */
#include "finerank.h"
#include "test.h"
#include "text/analyzer.h"

// Joins the terms of text with spaces ("term@pos" when with_pos).
static const char *run(fr_analyzer *a, const char *text, int with_pos) {
    static char out[4096];
    fr_terms t = {0};
    out[0] = 0;
    if (fr_analyze_terms(a, text, -1, &t, NULL) < 0) return "(error)";
    size_t o = 0;
    for (size_t i = 0; i < t.n && o < sizeof out - 64; i++) {
        if (with_pos) o += (size_t)snprintf(out + o, sizeof out - o, "%s%s@%u", i ? " " : "", t.terms[i], t.pos[i]);
        else o += (size_t)snprintf(out + o, sizeof out - o, "%s%s", i ? " " : "", t.terms[i]);
    }
    fr_terms_free(&t);
    return out;
}

static int stop_after_two(void *ud, const char *t, size_t n, uint32_t pos) {
    int *c = ud;
    return ++*c == 2 ? 7 : 0;
}

// ---- ASCII fast path vs Unicode path ----
// Random texts glued from fragments (ASCII words in any case, digits, numbers with . , ;,
// apostrophes, possessives, punctuation, accented and decomposed letters, U+2019, ligatures,
// fullwidth and superscript forms, Greek, Cyrillic, Arabic digits, CJK, Hangul, invalid and
// truncated UTF-8, NULs) with ASCII whitespace, other separators or nothing between them;
// the analyzer with its fast path must give exactly the terms and positions of the analyzer
// without it (which sends everything through utf8proc).

static uint64_t rng(uint64_t *s) {
    *s ^= *s << 13; *s ^= *s >> 7; *s ^= *s << 17;
    return *s;
}

static const char *const frags[] = {
    "the", "The", "QUICK", "brown", "Foxes", "jumped", "over", "lazy", "dogs'", "running",
    "aerodynamics", "flows", "boundary-layer", "x", "A", "i", "3", "42", "007", "3.14",
    "1,000", "1;2", "2.5e10", "U.S.A", "e.g.", "end.", "don't", "John's", "JOHN'S", "'quoted'",
    "rock'n'roll", "a'1", "1'a", "a.1", "1.a", "a,b", "...", ".5", "5.", ",", ";", "'", ".",
    "!", "?", "(x)", "[y]", "{z}", "-", "_", "/", "@home", "#tag", "$9.99", "50%", "a&b",
    "\"q\"", "~", "^", "`", "|", "\\", "<b>", "=", "+", "*",
    "supercalifragilisticexpialidocious", "antidisestablishmentarianism", "abcdefghijklm",
    "abcdefghijkl", "abcdefghijk",
    "Caf\xC3\xA9", "CAF\xC3\x89", "cafe\xCC\x81", "na\xC3\xAFve", "stra\xC3\x9F" "e",
    "\xC3\xA9", "\xCC\x81", "\xCC\x81x", "John\xE2\x80\x99s", "\xE2\x80\x99",
    "\xEF\xAC\x81nance", "\xEF\xBC\xA1\xEF\xBC\xA2", "x\xC2\xB2", "\xC2\xBD",
    "\xCE\xA3\xCE\xAF\xCF\x83\xCF\x85\xCF\x86\xCE\xBF\xCF\x82",  // Σίσυφος
    "\xD0\x9C\xD0\xBE\xD1\x81\xD0\xBA\xD0\xB2\xD0\xB0",          // Москва
    "\xD9\xA3\xD9\xA4",                                                 // ٣٤
    "\xE7\xB3\x96\xE5\xB0\xBF\xE7\x97\x85",                                 // 糖尿病
    "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E", "\xED\x95\x9C\xEA\xB5\xAD",
    "\xE3\x80\x80", "\xC2\xA0", "\xE2\x80\x94", "\xE2\x80\x9C", "\xE2\x80\xA6",
    "\xFF", "\xC3", "\xE2\x80", "\xF0\x9F\x98\x80", "\xED\xA0\x80", "\xC0\xAF",
};
static const char *const seps[] = {" ", " ", " ", " ", "  ", "\t", "\n", "\r\n", "", "", "-",
                                   ".", ",", "'", "/"};

typedef struct tbuf { char s[1 << 16]; size_t n; } tbuf;

static int dump_term(void *ud, const char *t, size_t n, uint32_t pos) {
    tbuf *b = ud;
    if (b->n + n + 16 < sizeof b->s) b->n += (size_t)snprintf(b->s + b->n, sizeof b->s - b->n, "%.*s@%u|", (int)n, t, pos);
    return 0;
}

static void test_fast_path_matches_unicode(void) {
    const char *langs[] = {"english", "none", "french", "german"};
    static tbuf fast, slow;
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    int mismatches = 0, n_ascii = 0, n_mixed = 0;
    for (int l = 0; l < 4; l++) {
        fr_analyzer_opts o = fr_analyzer_opts_default();
        if (l == 1) o.stem = 0;
        if (l == 3) o.fold_accents = 0;
        fr_analyzer *af = NULL, *as = NULL;
        CHECK_EQ(fr_analyzer_new(langs[l], &o, &af, NULL), 0);
        CHECK_EQ(fr_analyzer_new(langs[l], &o, &as, NULL), 0);
        if (!af || !as) return;
        fr__analyzer_set_ascii_fast(as, 0);
        for (int it = 0; it < 3000; it++) {
            char text[4096];
            size_t n = 0;
            int ascii_only = (int)(rng(&seed) % 3) == 0, nul = 0;
            int k = 1 + (int)(rng(&seed) % 40);
            for (int f = 0; f < k; f++) {
                const char *fr;
                do fr = frags[rng(&seed) % (sizeof frags / sizeof frags[0])];
                while (ascii_only && (uint8_t)fr[strspn(fr, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;'!?()[]{}-_/@#$%&\"~^`|\\<>=+*")] != 0);
                const char *sp = seps[rng(&seed) % (sizeof seps / sizeof seps[0])];
                size_t a = strlen(fr), b = strlen(sp);
                if (n + a + b + 1 >= sizeof text) break;
                memcpy(text + n, fr, a);
                n += a;
                if (!ascii_only && rng(&seed) % 50 == 0) { text[n++] = 0; nul = 1; }
                memcpy(text + n, sp, b);
                n += b;
            }
            text[n] = 0;
            int is_ascii = !nul;
            for (size_t i = 0; i < n; i++) is_ascii &= (uint8_t)text[i] < 0x80;
            n_ascii += is_ascii;
            n_mixed += !is_ascii;
            uint32_t base = (uint32_t)(rng(&seed) % 5);
            fast.n = slow.n = 0;
            int rf = fr_analyze(af, text, (ptrdiff_t)n, base, dump_term, &fast);
            int rs = fr_analyze(as, text, (ptrdiff_t)n, base, dump_term, &slow);
            if (rf != rs || fast.n != slow.n || memcmp(fast.s, slow.s, fast.n)) {
                if (mismatches++ < 3)
                    fprintf(stderr, "%s: fast/unicode differ on [%.*s]:\n  fast    %.*s\n  unicode %.*s\n",
                            langs[l], (int)n, text, (int)fast.n, fast.s, (int)slow.n, slow.s);
            }
        }
        fr_analyzer_free(af);
        fr_analyzer_free(as);
    }
    CHECK_EQ(mismatches, 0);
    CHECK(n_ascii > 2000);  // both kinds were exercised
    CHECK(n_mixed > 2000);
}

int main(void) {
    fr_analyzer *en = NULL, *raw = NULL, *fr = NULL;
    fr_error err = {0};
    CHECK_EQ(fr_analyzer_new(NULL, NULL, &en, &err), 0);
    fr_analyzer_opts o = fr_analyzer_opts_default();
    o.stem = 0;
    o.stopwords = 0;
    CHECK_EQ(fr_analyzer_new("none", &o, &raw, &err), 0);
    CHECK_EQ(fr_analyzer_new("fr", NULL, &fr, &err), 0);
    fr_analyzer *bad = NULL;
    CHECK_EQ(fr_analyzer_new("klingon", NULL, &bad, &err), FR_EUNSUPPORTED);
    CHECK(bad == NULL);

    // stopwords leave no gap, stemming, case folding
    CHECK_STR(run(en, "The Quick brown foxes jumped over the lazy dogs", 1),
              "quick@0 brown@1 fox@2 jump@3 over@4 lazi@5 dog@6");
    // possessive, apostrophes inside words, numbers with separators, acronyms
    CHECK_STR(run(raw, "don't John's 3.14 1,000 U.S.A end. 'quoted'", 0),
              "don't john's 3.14 1,000 u.s.a end quoted");
    CHECK_STR(run(en, "John's book", 0), "john book");
    CHECK_STR(run(en, "John\xE2\x80\x99s book", 0), "john book");
    // NFKC: ligature, full-width letters, superscript digit; accents folded
    CHECK_STR(run(raw, "\xEF\xAC\x81nance \xEF\xBC\xA1\xEF\xBC\xA2\xEF\xBC\xA3 x\xC2\xB2", 0),
              "finance abc x2");
    CHECK_STR(run(raw, "Caf\xC3\xA9 CAF\xC3\x89 cafe\xCC\x81 na\xC3\xAFve", 0),
              "cafe cafe cafe naive");
    // Unicode case folding: German sharp s folds to "ss", Greek final sigma to sigma
    CHECK_STR(run(raw, "STRASSE stra\xC3\x9F" "e", 0), "strasse strasse");
    // CJK bigrams, lone CJK char as unigram, Hangul, kana, mixed scripts
    CHECK_STR(run(en, "\xE7\xB3\x96\xE5\xB0\xBF\xE7\x97\x85\xE9\xA5\xAE\xE9\xA3\x9F\xE7\xA6\x81\xE5\xBF\x8C", 0),
              "\xE7\xB3\x96\xE5\xB0\xBF \xE5\xB0\xBF\xE7\x97\x85 \xE7\x97\x85\xE9\xA5\xAE "
              "\xE9\xA5\xAE\xE9\xA3\x9F \xE9\xA3\x9F\xE7\xA6\x81 \xE7\xA6\x81\xE5\xBF\x8C");
    CHECK_STR(run(en, "\xE7\xB3\x96 diet", 0), "\xE7\xB3\x96 diet");
    CHECK_STR(run(raw, "\xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4", 1),  // 한국어
              "\xED\x95\x9C\xEA\xB5\xAD@0 \xEA\xB5\xAD\xEC\x96\xB4@1");
    CHECK_STR(run(raw, "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E" "text", 0),  // 日本語text
              "\xE6\x97\xA5\xE6\x9C\xAC \xE6\x9C\xAC\xE8\xAA\x9E text");
    // invalid UTF-8 and NUL bytes are separators, never errors
    CHECK_STR(run(raw, "abc\xFF" "def \xC3 ghi", 0), "abc def ghi");
    {
        fr_terms t = {0};
        CHECK_EQ(fr_analyze_terms(raw, "ab\0cd", 5, &t, NULL), 0);
        CHECK_EQ(t.n, 2);
        fr_terms_free(&t);
    }
    // French stemmer and stopwords (accent-folded: "même" is a stopword)
    CHECK_STR(run(fr, "continuellement", 0), "continuel");
    CHECK_STR(run(fr, "Le chat et la souris de m\xC3\xAAme", 0), "chat sour");
    // callback stop value is returned
    int c = 0;
    CHECK_EQ(fr_analyze(raw, "a b c d", -1, 0, stop_after_two, &c), 7);
    CHECK_EQ(c, 2);
    // appending continues positions; cache gives identical results when reused
    {
        fr_terms t = {0};
        CHECK_EQ(fr_analyze_terms(en, "wing flow", -1, &t, NULL), 0);
        CHECK_EQ(fr_analyze_terms(en, "flows", -1, &t, NULL), 0);
        CHECK_EQ(t.n, 3);
        if (t.n == 3) { CHECK_STR(t.terms[2], "flow"); CHECK_EQ(t.pos[2], 2); CHECK(t.weight[2] == 1.0f); }
        fr_terms_free(&t);
    }
    for (int i = 0; i < 3; i++) CHECK_STR(run(en, "aerodynamics of wings", 0), "aerodynam wing");
    // overlong terms are dropped
    char longw[300];
    memset(longw, 'x', 299);
    longw[299] = 0;
    CHECK_STR(run(en, longw, 0), "");
    fr_analyzer_free(en);
    fr_analyzer_free(raw);
    fr_analyzer_free(fr);
    fr_analyzer_free(NULL);
    test_fast_path_matches_unicode();
    return TEST_REPORT();
}
