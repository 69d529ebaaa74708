/* test_fusion.c — reciprocal rank fusion and the normalised weighted sum against
 * hand-computed cases (the arithmetic is written out next to each check).
 */
#include "finerank.h"
#include "test.h"

int main(void) {
    // A (BM25): d1 10, d2 8, d3 5.   B (dense): d3 0.9, d4 0.8, d1 0.1.
    fr_hit a[] = {{1, 10}, {2, 8}, {3, 5}}, b[] = {{3, 0.9}, {4, 0.8}, {1, 0.1}};
    const fr_hit *lists[] = {a, b};
    size_t lens[] = {3, 3}, n;
    fr_hit out[6];
    fr_error err;
    fr_fuse_opts o = fr_fuse_opts_default();
    CHECK_EQ(o.method, FR_FUSE_RRF);
    CHECK_NEAR(o.rrf_k, 60, 0);
    // RRF k=60: d1 = 1/61 + 1/63 = 0.0322664585, d3 = 1/63 + 1/61 (tie: lower doc first),
    // d2 = 1/62 = 0.0161290323, d4 = 1/62 (tie).
    CHECK_EQ(fr_fuse(lists, lens, 2, &o, out, &n, &err), 0);
    CHECK_EQ(n, 4);
    CHECK_EQ(out[0].doc, 1);
    CHECK_EQ(out[1].doc, 3);
    CHECK_EQ(out[2].doc, 2);
    CHECK_EQ(out[3].doc, 4);
    CHECK_NEAR(out[0].score, 0.0322664585, 1e-10);
    CHECK_NEAR(out[1].score, 0.0322664585, 1e-10);
    CHECK_NEAR(out[2].score, 0.0161290323, 1e-10);
    // RRF k=0, weights 2 and 1: d1 = 2/1 + 1/3 = 2.3333, d3 = 2/3 + 1/1 = 1.6667, d2 = 2/2 = 1,
    // d4 = 1/2.
    double w21[] = {2, 1};
    o.rrf_k = 0;
    o.weights = w21;
    CHECK_EQ(fr_fuse(lists, lens, 2, &o, out, &n, &err), 0);
    CHECK_EQ(out[0].doc, 1);
    CHECK_NEAR(out[0].score, 7.0 / 3, 1e-12);
    CHECK_EQ(out[1].doc, 3);
    CHECK_NEAR(out[1].score, 5.0 / 3, 1e-12);
    CHECK_EQ(out[2].doc, 2);
    CHECK_NEAR(out[2].score, 1.0, 1e-12);
    CHECK_EQ(out[3].doc, 4);
    CHECK_NEAR(out[3].score, 0.5, 1e-12);
    // Weighted, default weights 1/2: A normalised d1 1, d2 (8-5)/5 = 0.6, d3 0; B normalised
    // d3 1, d4 (0.8-0.1)/0.8 = 0.875, d1 0. d1 = 0.5, d3 = 0.5, d4 = 0.4375, d2 = 0.3.
    o = fr_fuse_opts_default();
    o.method = FR_FUSE_WEIGHTED;
    CHECK_EQ(fr_fuse(lists, lens, 2, &o, out, &n, &err), 0);
    CHECK_EQ(n, 4);
    CHECK_EQ(out[0].doc, 1);
    CHECK_NEAR(out[0].score, 0.5, 1e-12);
    CHECK_EQ(out[1].doc, 3);
    CHECK_NEAR(out[1].score, 0.5, 1e-12);
    CHECK_EQ(out[2].doc, 4);
    CHECK_NEAR(out[2].score, 0.4375, 1e-12);
    CHECK_EQ(out[3].doc, 2);
    CHECK_NEAR(out[3].score, 0.3, 1e-12);
    // Weighted 0.3 / 0.7: d3 = 0.7, d4 = 0.6125, d1 = 0.3, d2 = 0.18.
    double w37[] = {0.3, 0.7};
    o.weights = w37;
    CHECK_EQ(fr_fuse(lists, lens, 2, &o, out, &n, &err), 0);
    CHECK_EQ(out[0].doc, 3);
    CHECK_NEAR(out[0].score, 0.7, 1e-12);
    CHECK_EQ(out[1].doc, 4);
    CHECK_NEAR(out[1].score, 0.6125, 1e-12);
    CHECK_EQ(out[2].doc, 1);
    CHECK_NEAR(out[2].score, 0.3, 1e-12);
    CHECK_EQ(out[3].doc, 2);
    CHECK_NEAR(out[3].score, 0.18, 1e-12);
    // one list with equal scores: all normalise to 1 (ties by doc); an empty second list
    fr_hit c[] = {{9, 2}, {7, 2}};
    const fr_hit *l2[] = {c, NULL};
    size_t n2[] = {2, 0};
    o = fr_fuse_opts_default();
    o.method = FR_FUSE_WEIGHTED;
    CHECK_EQ(fr_fuse(l2, n2, 2, &o, out, &n, &err), 0);
    CHECK_EQ(n, 2);
    CHECK_EQ(out[0].doc, 7);
    CHECK_NEAR(out[0].score, 0.5, 1e-12);
    // errors: a doc twice in one list, NaN, bad k, negative weight; nothing at all
    fr_hit dup[] = {{1, 3}, {1, 2}};
    const fr_hit *l3[] = {dup};
    size_t n3[] = {2};
    CHECK_EQ(fr_fuse(l3, n3, 1, NULL, out, &n, &err), FR_EINVAL);
    CHECK(strstr(err.msg, "twice") != NULL);
    fr_hit nan_[] = {{1, NAN}};
    const fr_hit *l4[] = {nan_};
    size_t n4[] = {1};
    CHECK_EQ(fr_fuse(l4, n4, 1, NULL, out, &n, &err), FR_EINVAL);
    o = fr_fuse_opts_default();
    o.rrf_k = -1;
    CHECK_EQ(fr_fuse(lists, lens, 2, &o, out, &n, &err), FR_EINVAL);
    double wneg[] = {1, -1};
    o = fr_fuse_opts_default();
    o.weights = wneg;
    CHECK_EQ(fr_fuse(lists, lens, 2, &o, out, &n, &err), FR_EINVAL);
    CHECK_EQ(fr_fuse(NULL, NULL, 0, NULL, out, &n, &err), 0);
    CHECK_EQ(n, 0);
    return TEST_REPORT();
}
