/* test_vectors.c — exact top-k vector search: F32 results equal a double-precision scalar
 * reference; int8 results (ids and bit-for-bit scores) equal a scalar reference written here
 * from the quantisation documented in src/index/vectors.c, for row counts that are not
 * multiples of the kernel's 8-row blocks, padded dims, k up to n, many exact ties, and 1..9
 * threads; ties order by id, and int8 keeps top-10 overlap >= 0.99 with F32 on random
 * normalised vectors (20,000 × 384; the 1M × 384 case is bench/embed).
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

// ---- the int8 reference (scalar, from the documented formulas) ----
// Rows: scale = max|x| / 127, q = nearbyint(x * (127 / max|x|)) clamped to ±127. Query: int16
// with qmax = min(32767, floor((2^31 - 1) / (127 dim))), the same way. Score of row r:
// (float)(exact integer dot) * (s_query * s_row), sorted by score desc, id asc.
static float ref_quant(const float *x, int dim, float lim, int *q) {
    float m = 0;
    for (int i = 0; i < dim; i++) m = fabsf(x[i]) > m ? fabsf(x[i]) : m;
    float scale = m > 0 ? m / lim : 1.0f, inv = m > 0 ? lim / m : 0.0f;
    for (int i = 0; i < dim; i++) {
        float r = nearbyintf(x[i] * inv);
        q[i] = (int)(r > lim ? lim : r < -lim ? -lim : r);
    }
    return scale;
}

static int ref_cmp(const void *a, const void *b) {
    const fr_vec_hit *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

// OUT: all (n) hits, best first.
static void ref_i8_search(const float *rows, size_t n, int dim, const float *query, fr_vec_hit *all) {
    double lim = 2147483647.0 / (127.0 * dim);
    float qmax = lim > 32767 ? 32767.0f : (float)floor(lim);
    int *qq = malloc((size_t)dim * sizeof *qq), *qr = malloc((size_t)dim * sizeof *qr);
    float qs = ref_quant(query, dim, qmax, qq);
    for (size_t r = 0; r < n; r++) {
        float rs = ref_quant(rows + r * dim, dim, 127.0f, qr);
        long long dot = 0;
        for (int d = 0; d < dim; d++) dot += (long long)qq[d] * qr[d];
        all[r] = (fr_vec_hit){(uint32_t)r, (float)(int32_t)dot * (qs * rs)};
    }
    qsort(all, n, sizeof *all, ref_cmp);
    free(qq);
    free(qr);
}

// int8 search equals the reference exactly for every thread count and several k; rows are
// n random unit vectors, the last `dups` of them copies of earlier rows (exact ties).
static void check_i8_exact(size_t n, int dim, size_t dups) {
    fr_error err;
    uint64_t saved = rng;  // its own random stream: the overlap check below keeps its data
    rng = 0x2545F4914F6CDD1Dull ^ n;
    float *x = malloc(n * (size_t)dim * sizeof *x), *q = malloc(4 * (size_t)dim * sizeof *q);
    normal_rows(x, n - dups, dim);
    for (size_t i = n - dups; i < n; i++) memcpy(x + i * dim, x + ((i * 7) % 50) * dim, (size_t)dim * sizeof *x);
    normal_rows(q, 4, dim);
    memcpy(q + 3 * dim, x + 3 * dim, (size_t)dim * sizeof *q);  // a query equal to a (duplicated) row
    fr_vecs *v = NULL;
    CHECK_EQ(fr_vecs_new(dim, FR_VEC_I8, &v, &err), 0);
    CHECK_EQ(fr_vecs_add(v, x, n, &err), 0);
    fr_vec_hit *ref = malloc(n * sizeof *ref), *got = malloc(n * sizeof *got);
    size_t ks[] = {1, 10, 100, n - 1, n}, bad = 0, runs = 0;
    for (int j = 0; j < 4; j++) {
        ref_i8_search(x, n, dim, q + j * dim, ref);
        for (size_t a = 0; a < sizeof ks / sizeof *ks; a++)
            for (int t = 1; t <= 9; t += (t < 3 ? 1 : 3)) {
                size_t m = 0;
                CHECK_EQ(fr_vecs_search(v, q + j * dim, ks[a], t, got, &m, &err), 0);
                bad += m != ks[a] || memcmp(got, ref, m * sizeof *got) != 0;
                runs++;
            }
    }
    printf("test_vectors: int8 == scalar reference (%zu x %d, %zu duplicate rows): %zu of %zu searches\n", n,
           dim, dups, runs - bad, runs);
    CHECK_EQ(bad, 0);
    fr_vecs_free(v);
    free(x);
    free(q);
    free(ref);
    free(got);
    rng = saved;
}

int main(int argc, char **argv) {
    // the names the CLI and HTTP use, both ways
    for (int t = FR_VEC_F32; t <= FR_VEC_I8_RESCORE; t++) {
        fr_vec_type back = FR_VEC_F32;
        CHECK_EQ(fr_vec_type_parse(fr_vec_type_name((fr_vec_type)t), &back), 0);
        CHECK_EQ(back, t);
    }
    CHECK_STR(fr_vec_type_name(FR_VEC_I8_RESCORE), "int8-rescore");
    fr_vec_type other;
    CHECK_EQ(fr_vec_type_parse("int4", &other), FR_EINVAL);
    CHECK_EQ(fr_vec_type_parse(NULL, &other), FR_EINVAL);
    // exactness of the int8 kernels: 8-row blocks, tails, thread splits, padding, ties
    check_i8_exact(9001, 384, 0);
    check_i8_exact(4099, 100, 600);
    check_i8_exact(2053, 1027, 0);   // dim > 516: the query range narrows so int32 cannot wrap
    if (argc > 1 && !strcmp(argv[1], "--exact-only")) return TEST_REPORT();
    // ... and again with the portable kernel (FINERANK_ISA=ref), in a child process: the kernel
    // is picked once per process
    if (!getenv("FINERANK_ISA")) {
        char cmd[4200], out[4096];
        snprintf(cmd, sizeof cmd, "FINERANK_ISA=ref '%s' --exact-only 2>&1", argv[0]);
        int rc = fr_test_run(cmd, out, sizeof out);
        CHECK_EQ(rc, 0);
        int ok = strstr(out, "100 of 100 searches") != NULL && strstr(out, " 0 failed") != NULL;
        CHECK(ok);
        printf("test_vectors: the portable kernel (FINERANK_ISA=ref): %s\n", ok ? "exact too" : out);
    }
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
        if (ty == 0) {
            // a path too long to name its directory is refused, not fsynced as a cut-off name
            static char longp[4150];
            memset(longp, 'a', sizeof longp - 1);
            longp[0] = '/';
            CHECK_EQ(fr_vecs_save(src, longp, &meta, &err), FR_EINVAL);
            CHECK(strstr(err.msg, "path too long") != NULL);
        }
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
