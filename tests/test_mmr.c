/* test_mmr.c — MMR selection, cosine, caps and TF-IDF vectors against hand-computed values. */
#include "finerank.h"
#include "test.h"

// Term ids: 0 sugar, 1 control, 2 blood, 3 diet, 4 exercise, 5 management, 6 diabetes.
static const uint32_t tA[] = {0, 1, 6}, tB[] = {0, 1, 2}, tC[] = {0, 1, 3}, tD[] = {4, 5, 6};
static const float ones[] = {1, 1, 1};

static void sugar_items(fr_mmr_item *it) {
    // Three "sugar control" documents and one on "exercise management". Pairwise cosines by
    // hand (unit weights, 3 terms each): A·B = A·C = B·C = 2/3, A·D = 1/3, B·D = C·D = 0.
    memset(it, 0, 4 * sizeof *it);
    it[0] = (fr_mmr_item){1.00, "guideline", 3, tA, ones};
    it[1] = (fr_mmr_item){0.95, "guideline", 3, tB, ones};
    it[2] = (fr_mmr_item){0.90, "hospital", 3, tC, ones};
    it[3] = (fr_mmr_item){0.70, "news", 3, tD, ones};
}

static void test_cosine(void) {
    fr_mmr_item it[4];
    sugar_items(it);
    CHECK_NEAR(fr_mmr_cosine(&it[0], &it[1]), 2.0 / 3, 1e-7);
    CHECK_NEAR(fr_mmr_cosine(&it[0], &it[3]), 1.0 / 3, 1e-7);
    CHECK_NEAR(fr_mmr_cosine(&it[1], &it[3]), 0.0, 0);
    static const uint32_t ta[] = {1, 2}, tb[] = {2, 5};
    static const float wa[] = {3, 4}, wb[] = {4, 3};
    fr_mmr_item a = {0, NULL, 2, ta, wa}, b = {0, NULL, 2, tb, wb}, e = {0, NULL, 0, NULL, NULL};
    CHECK_NEAR(fr_mmr_cosine(&a, &b), 16.0 / 25, 1e-7);  // dot 4·4 = 16, norms 5 and 5
    CHECK_NEAR(fr_mmr_cosine(&a, &e), 0.0, 0);
}

static void test_sugar_exercise(void) {
    fr_error err = {0};
    fr_mmr_item it[4];
    sugar_items(it);
    size_t order[4];
    double sim[4], mmr[4];

    // λ = 1: relevance order.
    fr_mmr_opts o = {1.0, 0, 0};
    CHECK_EQ(fr_mmr_rank(it, 4, &o, order, sim, mmr, &err), 0);
    CHECK_EQ(order[0], 0); CHECK_EQ(order[1], 1); CHECK_EQ(order[2], 2); CHECK_EQ(order[3], 3);

    // λ = 0.5 (diversity): after A, B scores 0.5·0.95 − 0.5·2/3 = 0.141667,
    // C 0.5·0.90 − 0.5·2/3 = 0.116667, D 0.5·0.70 − 0.5·1/3 = 0.183333 → D is second.
    o.lambda = 0.5;
    CHECK_EQ(fr_mmr_rank(it, 4, &o, order, sim, mmr, &err), 0);
    CHECK_EQ(order[0], 0);
    CHECK_EQ(order[1], 3);  // exercise management makes the top 3 (indeed the top 2)
    CHECK_EQ(order[2], 1);
    CHECK_EQ(order[3], 2);
    CHECK_NEAR(mmr[0], 0.5, 1e-12);
    CHECK_NEAR(mmr[3], 0.35 - 1.0 / 6, 1e-7);
    CHECK_NEAR(sim[3], 1.0 / 3, 1e-7);
    // Third pick: B 0.475 − 0.5·max(2/3, 0) = 0.141667, C 0.45 − 1/3 = 0.116667.
    CHECK_NEAR(mmr[1], 0.475 - 1.0 / 3, 1e-7);
    CHECK_NEAR(sim[1], 2.0 / 3, 1e-7);

    // λ = 0.7: B 0.665 − 0.3·2/3 = 0.465 beats D 0.49 − 0.1 = 0.39; then C 0.63 − 0.2 = 0.43
    // beats D 0.39: with little diversity asked the exercise document stays fourth.
    o.lambda = 0.7;
    CHECK_EQ(fr_mmr_rank(it, 4, &o, order, NULL, mmr, &err), 0);
    CHECK_EQ(order[0], 0); CHECK_EQ(order[1], 1); CHECK_EQ(order[2], 2); CHECK_EQ(order[3], 3);
    CHECK_NEAR(mmr[1], 0.465, 1e-7);
    CHECK_NEAR(mmr[2], 0.43, 1e-7);

    // k = 1: only the first pick is MMR; the rest follow relevance order.
    o.lambda = 0.5;
    o.k = 1;
    CHECK_EQ(fr_mmr_rank(it, 4, &o, order, sim, NULL, &err), 0);
    CHECK_EQ(order[1], 1); CHECK_EQ(order[2], 2); CHECK_EQ(order[3], 3);
    CHECK_NEAR(sim[1], 0.0, 0);

    // Cap 1 per group (λ = 1): the second "guideline" document is demoted below the others.
    fr_mmr_opts c = {1.0, 1, 0};
    CHECK_EQ(fr_mmr_rank(it, 4, &c, order, NULL, NULL, &err), 0);
    CHECK_EQ(order[0], 0); CHECK_EQ(order[1], 2); CHECK_EQ(order[2], 3); CHECK_EQ(order[3], 1);

    // Bad options are errors naming the field.
    fr_mmr_opts bad = {1.5, 0, 0};
    CHECK_EQ(fr_mmr_rank(it, 4, &bad, order, NULL, NULL, &err), FR_EINVAL);
    CHECK(strstr(err.msg, "lambda") != NULL);
    CHECK_EQ(fr_mmr_rank(it, 0, &o, order, NULL, NULL, &err), 0);
}

static uint64_t df_fixed(void *ctx, const char *term, size_t len, uint64_t *n_docs) {
    (void)ctx;
    *n_docs = 100;
    return len == 5 && !memcmp(term, "sugar", 5) ? 50 : 1;
}

static void test_vectors(void) {
    fr_error err = {0};
    char *d0[] = {"sugar", "control", "sugar"}, *d1[] = {"sugar", "exercise"};
    char **docs[] = {d0, d1};
    size_t nt[] = {3, 2};
    fr_mmr_item it[2];
    memset(it, 0, sizeof it);
    fr_mmr_vectors *v = NULL;
    CHECK_EQ(fr_mmr_vectors_build(docs, nt, 2, NULL, NULL, it, &v, &err), 0);
    // Local statistics: N = 2, df(sugar) = 2 → idf ln(1 + 0.5/2.5) = ln 1.2;
    // df(control) = df(exercise) = 1 → idf ln(1 + 1.5/1.5) = ln 2.
    CHECK_EQ(it[0].n, 2);
    CHECK_EQ(it[1].n, 2);
    double ls = log(1.2), l2 = log(2.0);
    CHECK_EQ(it[0].terms[0], 0);             // "sugar" got id 0
    CHECK_NEAR(it[0].w[0], 2 * ls, 1e-6);    // tf 2
    CHECK_NEAR(it[0].w[1], l2, 1e-6);
    double want = (2 * ls * ls) / (sqrt(4 * ls * ls + l2 * l2) * sqrt(ls * ls + l2 * l2));
    CHECK_NEAR(fr_mmr_cosine(&it[0], &it[1]), want, 1e-6);  // = 0.11843...
    CHECK_NEAR(want, 0.1184338, 1e-6);
    fr_mmr_vectors_free(v);

    // Index statistics: N = 100, df(sugar) = 50 → ln(1 + 50.5/50.5) = ln 2; others df 1 →
    // ln(1 + 99.5/1.5).
    CHECK_EQ(fr_mmr_vectors_build(docs, nt, 2, df_fixed, NULL, it, &v, &err), 0);
    CHECK_NEAR(it[1].w[0], l2, 1e-6);
    CHECK_NEAR(it[1].w[1], log(1 + 99.5 / 1.5), 1e-5);
    fr_mmr_vectors_free(v);
    fr_mmr_vectors_free(NULL);
}

int main(void) {
    test_cosine();
    test_sugar_exercise();
    test_vectors();
    return TEST_REPORT();
}
