/* test_fusion.c — reciprocal rank fusion and the normalised weighted sum against
 * hand-computed cases (the arithmetic is written out next to each check).
 */
#include "finerank.h"
#include "test.h"

// ---- a reference: the definition written out (a doc's contributions summed in list order,
// then a sort by score, ties by doc), against fr_fuse's radix sorts on random lists ----
static uint64_t rng = 88172645463325252ull;
static uint64_t next(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }

static int ref_cmp(const void *a, const void *b) {
    const fr_hit *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return x->doc < y->doc ? -1 : x->doc > y->doc;
}

static size_t ref_fuse(const fr_hit *const *lists, const size_t *lens, size_t nl, const fr_fuse_opts *o,
                       fr_hit *out) {
    size_t n = 0;
    for (size_t l = 0; l < nl; l++)
        for (size_t r = 0; r < lens[l]; r++) {
            size_t j = 0;
            while (j < n && out[j].doc != lists[l][r].doc) j++;
            if (j == n) out[n++] = (fr_hit){lists[l][r].doc, 0};
        }
    for (size_t j = 0; j < n; j++) {
        double s = 0;
        for (size_t l = 0; l < nl; l++) {
            double w = o->weights ? o->weights[l] : o->method == FR_FUSE_RRF ? 1.0 : 1.0 / (double)nl;
            double mn = 0, mx = 0;
            for (size_t r = 0; r < lens[l]; r++) {
                double x = lists[l][r].score;
                if (!r || x < mn) mn = x;
                if (!r || x > mx) mx = x;
            }
            for (size_t r = 0; r < lens[l]; r++)
                if (lists[l][r].doc == out[j].doc)
                    s += o->method == FR_FUSE_RRF ? w / (o->rrf_k + (double)(r + 1))
                                                  : w * (mx > mn ? (lists[l][r].score - mn) / (mx - mn) : 1.0);
        }
        out[j].score = s;
    }
    qsort(out, n, sizeof *out, ref_cmp);
    return n;
}

static void test_random_vs_reference(void) {
    enum { MAXL = 4, MAXN = 300 };
    static fr_hit lists[MAXL][MAXN], got[MAXL * MAXN], want[MAXL * MAXN];
    int bad = 0;
    for (int round = 0; round < 400 && !bad; round++) {
        size_t nl = 1 + next() % MAXL, lens[MAXL];
        const fr_hit *lp[MAXL];
        // docs from a small range (many shared between lists) or a wide one (ids above 2^24);
        // scores from a few values (ties, -0 and +0) or spread out
        uint32_t span = round % 3 == 0 ? 50 : round % 3 == 1 ? 400 : 0xFFFFFFF0u;
        for (size_t l = 0; l < nl; l++) {
            lens[l] = next() % (round % 5 ? MAXN : 40);
            if (lens[l] > span) lens[l] = span;
            for (size_t r = 0; r < lens[l]; r++) {
                uint32_t d;
                int dup;
                do {  // distinct docs within a list
                    d = (uint32_t)(next() % span);
                    dup = 0;
                    for (size_t q = 0; q < r; q++) dup |= lists[l][q].doc == d;
                } while (dup);
                double s = round & 1 ? (double)(int)(next() % 5) - 2 : (double)(next() % 100000) / 7.0 - 5000;
                if (s == 0 && next() % 2) s = -0.0;
                lists[l][r] = (fr_hit){d, s};
            }
            lp[l] = lists[l];
        }
        fr_fuse_opts o = fr_fuse_opts_default();
        double w[MAXL] = {0.3, 1.7, 0, 2.5};
        if (round % 4 >= 2) o.method = FR_FUSE_WEIGHTED;
        if (round % 8 >= 4) o.weights = w;
        if (round % 7 == 0) o.rrf_k = 0;
        size_t n, nw = ref_fuse(lp, lens, nl, &o, want);
        fr_error err;
        if (fr_fuse(lp, lens, nl, &o, got, &n, &err) < 0 || n != nw) { bad = 1; break; }
        for (size_t i = 0; i < n; i++)
            if (got[i].doc != want[i].doc || got[i].score != want[i].score) bad = 1;
    }
    CHECK_EQ(bad, 0);
}

int main(void) {
    test_random_vs_reference();
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
