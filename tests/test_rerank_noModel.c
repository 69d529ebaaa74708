/* test_rerank_noModel.c — the pure parts of the no-model rerankers: the BM25TP proximity
 * score (src/rank/proximity.c) and the RM3 expansion (src/rank/rm3.c), against values worked
 * out by hand from the formulas in those files' headers.
 */
#include "finerank.h"
#include "test.h"

static void proximity(void) {
    // Query terms A (idf 2) and B (idf 0.5). Document: A B x A (positions 0..3).
    double w[] = {2.0, 0.5};
    int32_t qidx[] = {0, 1, -1, 0};
    uint32_t pos[] = {0, 1, 2, 3};
    fr_prox_doc d = {qidx, pos, 4, 4.0};
    // pairs: (A@0,B@1) d=1: acc A += 0.5, acc B += 2; (B@1,A@3) d=2: acc B += 2/4, acc A += 0.5/4
    // acc A = 0.625, acc B = 2.5; K = 1.2 * (0.5 + 0.5 * 4/4) = 1.2
    double want = 1.0 * 0.625 * 2.2 / (0.625 + 1.2) + 0.5 * 2.5 * 2.2 / (2.5 + 1.2);
    CHECK_NEAR(fr_proximity_score(&d, w, 2, 1.2, 0.5, 4.0), want, 1e-12);
    CHECK_NEAR(want, 1.49666790077749, 1e-12);

    // Longer documents saturate less: K grows with |D|/avgdl, the score falls.
    fr_prox_doc d_long = {qidx, pos, 4, 8.0};
    CHECK(fr_proximity_score(&d_long, w, 2, 1.2, 0.5, 4.0) < want);

    // Closer pairs score higher: "A B" beats "A x x B".
    int32_t near_q[] = {0, 1}, far_q[] = {0, -1, -1, 1};
    uint32_t near_p[] = {0, 1}, far_p[] = {0, 1, 2, 3};
    fr_prox_doc dn = {near_q, near_p, 2, 4}, df = {far_q, far_p, 4, 4};
    CHECK(fr_proximity_score(&dn, w, 2, 1.2, 0.5, 4) > fr_proximity_score(&df, w, 2, 1.2, 0.5, 4));

    // Repeats of one term, a one-term query, and no occurrences give 0.
    int32_t same[] = {0, 0, 0};
    fr_prox_doc ds = {same, pos, 3, 4};
    CHECK_NEAR(fr_proximity_score(&ds, w, 2, 1.2, 0.5, 4), 0, 0);
    CHECK_NEAR(fr_proximity_score(&d, w, 1, 1.2, 0.5, 4), 0, 0);  // index 1 out of range: ignored
    int32_t none[] = {-1, -1};
    fr_prox_doc d0 = {none, pos, 2, 4};
    CHECK_NEAR(fr_proximity_score(&d0, w, 2, 1.2, 0.5, 4), 0, 0);
    fr_prox_doc empty = {NULL, NULL, 0, 0};
    CHECK_NEAR(fr_proximity_score(&empty, w, 2, 1.2, 0.5, 0), 0, 0);

    // Gaps in positions (another field, a dropped term) count as distance.
    uint32_t gap_p[] = {0, 3};
    fr_prox_doc dg = {near_q, gap_p, 2, 4};
    double acc_a = 0.5 / 9, acc_b = 2.0 / 9;
    CHECK_NEAR(fr_proximity_score(&dg, w, 2, 1.2, 0.5, 4),
               acc_a * 2.2 / (acc_a + 1.2) + 0.5 * acc_b * 2.2 / (acc_b + 1.2), 1e-12);
}

static fr_terms make_terms(const char **t, size_t n) {
    fr_terms x = {0};
    x.terms = calloc(n ? n : 1, sizeof *x.terms);
    x.pos = calloc(n ? n : 1, sizeof *x.pos);
    x.weight = calloc(n ? n : 1, sizeof *x.weight);
    for (size_t i = 0; i < n; i++) {
        x.terms[i] = strdup(t[i]);
        x.pos[i] = (uint32_t)i;
        x.weight[i] = 1;
    }
    x.n = n;
    return x;
}

static double df_cc_common(void *ud, const char *term, size_t len) {
    (void)ud;
    return len == 2 && !memcmp(term, "cc", 2) ? 0.5 : 0.01;
}

static void rm3(void) {
    const char *q[] = {"aa", "bb"};
    const char *d1[] = {"aa", "cc", "cc", "dd", "x"};  // "x" is too short to feed back
    const char *d2[] = {"cc", "ee"};
    fr_terms query = make_terms(q, 2);
    fr_terms docs[2] = {make_terms(d1, 5), make_terms(d2, 2)};
    double scores[] = {2.0, 1.0};
    fr_rm3_opts o = fr_rm3_opts_default();
    CHECK_EQ(o.fb_docs, 10);
    CHECK_EQ(o.fb_terms, 10);
    CHECK_NEAR(o.orig_weight, 0.5, 0);
    o.fb_terms = 2;
    fr_terms out = {0};
    fr_error err = {0};
    // d1 → {cc:2, aa:1} (pruned to 2; aa beats dd on bytes), norm 3; d2 → {cc:1, ee:1}, norm 2
    // RM: cc = 2/3*2 + 1/2*1 = 11/6, aa = 2/3, ee = 1/2 → top 2 {cc, aa} / 2.5
    // final: aa = .5*.5 + .5*(2/3)/2.5, cc = .5*(11/6)/2.5, bb = .25
    CHECK_EQ(fr_rm3_expand(&query, docs, scores, 2, &o, NULL, NULL, &out, &err), 0);
    CHECK_EQ(out.n, 3);
    if (out.n == 3) {
        CHECK_STR(out.terms[0], "aa");
        CHECK_NEAR(out.weight[0], 0.25 + 0.5 * (2.0 / 3) / 2.5, 1e-6);
        CHECK_STR(out.terms[1], "cc");
        CHECK_NEAR(out.weight[1], 0.5 * (11.0 / 6) / 2.5, 1e-6);
        CHECK_STR(out.terms[2], "bb");
        CHECK_NEAR(out.weight[2], 0.25, 1e-6);
        CHECK_NEAR(out.weight[0] + out.weight[1] + out.weight[2], 1, 1e-6);
    }
    fr_terms_free(&out);

    // The df filter drops "cc" (in half the documents): d1 → {aa, dd}, d2 → {ee}.
    // RM: aa = 1/2*2 = 1, dd = 1, ee = 1 → top 2 by bytes {aa, dd} / 2
    CHECK_EQ(fr_rm3_expand(&query, docs, scores, 2, &o, df_cc_common, NULL, &out, &err), 0);
    CHECK_EQ(out.n, 3);
    if (out.n == 3) {
        CHECK_STR(out.terms[0], "aa");
        CHECK_NEAR(out.weight[0], 0.25 + 0.25, 1e-6);
        CHECK_STR(out.terms[1], "bb");
        CHECK_STR(out.terms[2], "dd");
        CHECK_NEAR(out.weight[2], 0.25, 1e-6);
    }
    fr_terms_free(&out);

    // No feedback documents: the query alone, with all the weight (a repeat counts twice).
    const char *q3[] = {"aa", "bb", "aa"};
    fr_terms query3 = make_terms(q3, 3);
    CHECK_EQ(fr_rm3_expand(&query3, NULL, NULL, 0, &o, NULL, NULL, &out, &err), 0);
    CHECK_EQ(out.n, 2);
    if (out.n == 2) {
        CHECK_STR(out.terms[0], "aa");
        CHECK_NEAR(out.weight[0], 2.0 / 3, 1e-6);
    }
    fr_terms_free(&out);
    fr_terms_free(&query3);
    fr_terms_free(&query);
    fr_terms_free(&docs[0]);
    fr_terms_free(&docs[1]);
}

int main(void) {
    proximity();
    rm3();
    return TEST_REPORT();
}
