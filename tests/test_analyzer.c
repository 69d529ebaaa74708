/* test_analyzer.c — the index analyzer: folding, segmentation, stopwords, stemming, CJK. */
#include "finerank.h"
#include "test.h"

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
    return TEST_REPORT();
}
