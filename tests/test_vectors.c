/* test_vectors.c — exact top-k vector search: F32 results equal a double-precision scalar
 * reference, thread counts agree, ties order by id, and int8 keeps top-10 overlap >= 0.99 with
 * F32 on random normalised vectors (20,000 × 384; the 1M × 384 case is bench/embed).
 */
#include "finerank.h"
#include "test.h"

static uint64_t rng = 88172645463325252ull;
static double gauss(void) {
    double u = 0;
    for (int i = 0; i < 12; i++) {
        rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
        u += (double)(rng >> 11) / 9007199254740992.0;
    }
    return u - 6;
}

static void normal_rows(float *x, size_t n, int dim) {
    for (size_t i = 0; i < n; i++) {
        double ss = 0;
        for (int d = 0; d < dim; d++) { x[i * dim + d] = (float)gauss(); ss += (double)x[i * dim + d] * x[i * dim + d]; }
        for (int d = 0; d < dim; d++) x[i * dim + d] = (float)(x[i * dim + d] / sqrt(ss));
    }
}

int main(void) {
    const int dim = 384;
    const size_t n = 20000, nq = 40, k = 10;
    float *x = malloc(n * dim * sizeof *x), *q = malloc(nq * dim * sizeof *q);
    normal_rows(x, n, dim);
    // queries: half pure noise, half near a stored vector (as real queries sit near documents)
    normal_rows(q, nq, dim);
    for (size_t i = 0; i < nq / 2; i++)
        for (int d = 0; d < dim; d++) q[i * dim + d] = 0.3f * q[i * dim + d] + x[(i * 97) * dim + d];
    fr_error err;
    fr_vecs *vf = NULL, *vi = NULL;
    CHECK_EQ(fr_vecs_new(dim, FR_VEC_F32, &vf, &err), 0);
    CHECK_EQ(fr_vecs_new(dim, FR_VEC_I8, &vi, &err), 0);
    // added in two pieces: growth keeps earlier rows
    CHECK_EQ(fr_vecs_add(vf, x, 1234, &err), 0);
    CHECK_EQ(fr_vecs_add(vf, x + 1234 * dim, n - 1234, &err), 0);
    CHECK_EQ(fr_vecs_add(vi, x, n, &err), 0);
    CHECK_EQ(fr_vecs_count(vf), n);
    CHECK_EQ(fr_vecs_dim(vi), dim);
    fr_vec_hit hf[1000], hi[1000], h2[1000];
    size_t nf, ni, n2, overlap = 0, exact = 0;
    double worst = 0;
    double *ref = malloc(n * sizeof *ref);
    for (size_t j = 0; j < nq; j++) {
        const float *qq = q + j * dim;
        CHECK_EQ(fr_vecs_search(vf, qq, k, 1, hf, &nf, &err), 0);
        CHECK_EQ(nf, k);
        // reference: double dot products, full sort by (score desc, id asc)
        for (size_t r = 0; r < n; r++) {
            double s = 0;
            for (int d = 0; d < dim; d++) s += (double)qq[d] * x[r * dim + d];
            ref[r] = s;
        }
        // each returned score equals the reference, and nothing outside beats the last one
        for (size_t t = 0; t < nf; t++) {
            double d = fabs(hf[t].score - ref[hf[t].id]);
            if (d > worst) worst = d;
            if (t) CHECK(hf[t - 1].score >= hf[t].score);
        }
        size_t better = 0;
        for (size_t r = 0; r < n; r++) better += ref[r] > (double)hf[nf - 1].score + 1e-5;
        exact += better <= k - 1;
        // threads agree exactly
        CHECK_EQ(fr_vecs_search(vf, qq, k, 3, h2, &n2, &err), 0);
        CHECK(n2 == nf && memcmp(h2, hf, nf * sizeof *hf) == 0);
        CHECK_EQ(fr_vecs_search(vi, qq, k, 1, hi, &ni, &err), 0);
        CHECK_EQ(fr_vecs_search(vi, qq, k, 2, h2, &n2, &err), 0);
        CHECK(n2 == ni && memcmp(h2, hi, ni * sizeof *hi) == 0);
        for (size_t a = 0; a < nf; a++)
            for (size_t b = 0; b < ni; b++) overlap += hf[a].id == hi[b].id;
    }
    CHECK(worst < 1e-5);
    CHECK_EQ(exact, nq);
    double ov = (double)overlap / (double)(nq * k);
    printf("test_vectors: F32 max |score - double ref| %.2g; int8 top-%zu overlap with F32 %.4f "
           "(%zu queries, %zu x %d)\n", worst, k, ov, nq, n, dim);
    CHECK(ov >= 0.99);
    // top-1000 agrees between 1 and 2 threads, F32 and int8
    CHECK_EQ(fr_vecs_search(vf, q, 1000, 1, hf, &nf, &err), 0);
    CHECK_EQ(fr_vecs_search(vf, q, 1000, 2, h2, &n2, &err), 0);
    CHECK(nf == 1000 && n2 == 1000 && memcmp(hf, h2, sizeof hf) == 0);
    // I8_RESCORE: int8 scan, exact F32 results (same ids and scores as F32 here)
    fr_vecs *vr = NULL;
    CHECK_EQ(fr_vecs_new(dim, FR_VEC_I8_RESCORE, &vr, &err), 0);
    CHECK_EQ(fr_vecs_add(vr, x, n, &err), 0);
    size_t same = 0;
    for (size_t j = 0; j < nq; j++) {
        CHECK_EQ(fr_vecs_search(vf, q + j * dim, k, 1, hf, &nf, &err), 0);
        CHECK_EQ(fr_vecs_search(vr, q + j * dim, k, 2, hi, &ni, &err), 0);
        CHECK_EQ(ni, k);
        same += nf == ni && memcmp(hf, hi, nf * sizeof *hf) == 0;
    }
    printf("test_vectors: int8+rescore top-%zu identical to F32 for %zu of %zu queries\n", k, same, nq);
    CHECK_EQ(same, nq);
    fr_vecs_free(vr);
    // ties: identical rows come back in id order; k > count returns count rows
    fr_vecs *t = NULL;
    CHECK_EQ(fr_vecs_new(3, FR_VEC_I8, &t, &err), 0);
    float rows[] = {1, 0, 0, 0, 1, 0, 1, 0, 0, -1, 0, 0, 1, 0, 0};
    CHECK_EQ(fr_vecs_add(t, rows, 5, &err), 0);
    float qv[3] = {2, 0.5f, 0};
    CHECK_EQ(fr_vecs_search(t, qv, 10, 1, hi, &ni, &err), 0);
    CHECK_EQ(ni, 5);
    CHECK_EQ(hi[0].id, 0);
    CHECK_EQ(hi[1].id, 2);
    CHECK_EQ(hi[2].id, 4);
    CHECK_EQ(hi[3].id, 1);
    CHECK_EQ(hi[4].id, 3);
    CHECK_NEAR(hi[0].score, 2.0, 0.02);
    CHECK_NEAR(hi[3].score, 0.5, 0.02);
    CHECK_NEAR(hi[4].score, -2.0, 0.02);
    // errors
    float bad[3] = {NAN, 0, 0};
    CHECK_EQ(fr_vecs_add(t, bad, 1, &err), FR_EINVAL);
    CHECK_EQ(fr_vecs_search(t, bad, 1, 1, hi, &ni, &err), FR_EINVAL);
    CHECK_EQ(fr_vecs_count(t), 5);
    fr_vecs *z = NULL;
    CHECK_EQ(fr_vecs_new(0, FR_VEC_F32, &z, &err), FR_EINVAL);
    CHECK(z == NULL);
    CHECK_EQ(fr_vecs_search(t, qv, 0, 1, hi, &ni, &err), 0);
    CHECK_EQ(ni, 0);
    fr_vecs_free(NULL);
    // save / load round trip (both types), bad files, and the fuzz seeds
    char dir[] = "/tmp/fr_vecs_XXXXXX", path[300], seed[400];
    CHECK(mkdtemp(dir) != NULL);
    for (int ty = 0; ty < 3; ty++) {
        fr_vecs *src = ty == 1 ? t : NULL, *back = NULL;
        if (ty != 1) {
            CHECK_EQ(fr_vecs_new(3, ty ? FR_VEC_I8_RESCORE : FR_VEC_F32, &src, &err), 0);
            CHECK_EQ(fr_vecs_add(src, rows, 5, &err), 0);
        }
        fr_vecs_meta meta = {.generation = 42 + (uint64_t)ty}, m2;
        snprintf(meta.model, sizeof meta.model, "models/e5-small");
        snprintf(path, sizeof path, "%s/v%d.bin", dir, ty);
        CHECK_EQ(fr_vecs_save(src, path, &meta, &err), 0);
        CHECK_EQ(fr_vecs_load(path, &back, &m2, &err), 0);
        if (back) {
            CHECK_EQ(fr_vecs_count(back), 5);
            CHECK_EQ(m2.generation, 42 + ty);
            CHECK_STR(m2.model, "models/e5-small");
            fr_vec_hit x1[5], x2[5];
            size_t a1, a2;
            CHECK_EQ(fr_vecs_search(src, qv, 5, 1, x1, &a1, &err), 0);
            CHECK_EQ(fr_vecs_search(back, qv, 5, 1, x2, &a2, &err), 0);
            CHECK(a1 == 5 && a2 == 5 && memcmp(x1, x2, sizeof x1) == 0);
        }
        fr_vecs_free(back);
        size_t len;
        FILE *f = fopen(path, "rb");
        char *buf = malloc(1 << 16);
        len = fread(buf, 1, 1 << 16, f);
        fclose(f);
        // fuzz seeds are these files (fuzz/corpus/vectors/); regenerate with FR_WRITE_SEEDS=1
        if (getenv("FR_WRITE_SEEDS")) {
            snprintf(seed, sizeof seed, "fuzz/corpus/vectors/%s.bin", ty == 2 ? "i8r" : ty ? "i8" : "f32");
            FILE *g = fopen(seed, "wb");
            fwrite(buf, 1, len, g);
            fclose(g);
        }
        // every truncation and a flipped byte are clean errors
        for (size_t cut = 0; cut < len; cut += 7) {
            back = NULL;
            CHECK(fr_vecs_load_mem(buf, cut, "cut", &back, NULL, &err) < 0);
            CHECK(back == NULL);
        }
        buf[len / 2] ^= 0x40;
        back = NULL;
        CHECK_EQ(fr_vecs_load_mem(buf, len, "flip", &back, NULL, &err), FR_ECORRUPT);
        free(buf);
        if (ty != 1) fr_vecs_free(src);
    }
    snprintf(path, sizeof path, "%s/none.bin", dir);
    fr_vecs *none = NULL;
    CHECK(fr_vecs_load(path, &none, NULL, &err) < 0);
    snprintf(seed, sizeof seed, "rm -rf %s", dir);
    CHECK_EQ(system(seed), 0);
    fr_vecs_free(t);
    fr_vecs_free(vf);
    fr_vecs_free(vi);
    free(x);
    free(q);
    free(ref);
    return TEST_REPORT();
}
