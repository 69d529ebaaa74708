/* test_vectors.c — exact top-k vector search: F32 results equal a double-precision scalar
 * reference; int8 results (ids and bit-for-bit scores) equal a scalar reference written here
 * from the quantisation documented in src/index/vectors.c, for row counts that are not
 * multiples of the kernel's 8-row blocks, padded dims, k up to n, many exact ties, and 1..9
 * threads; ties order by id, and int8 keeps top-10 overlap >= 0.99 with F32 on random
 * normalised vectors (20,000 × 384; the 1M × 384 case is bench/embed).
 */
#include <zlib.h>

#include "finerank.h"
#include "index/vectors.h"
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

// Rows shaped like sentence embeddings (as bench/embed's clustered corpus, smaller): a shared
// mean direction with a few large "rogue" dimensions, 200 topics, noise of norm 0.5 whose
// per-dimension spread decays as (1+i)^-1/2; unit length.
static void aniso_rows(float *x, size_t n, int dim) {
    float *mean = malloc((size_t)dim * sizeof *mean), *ce = malloc(200 * (size_t)dim * sizeof *ce);
    normal_rows(mean, 1, dim);
    for (int i = 0; i < 4; i++) mean[(i * 97) % dim] += 1.5f * (i & 1 ? -1 : 1);
    normal_rows(ce, 200, dim);
    float *nz = malloc((size_t)dim * sizeof *nz);
    for (size_t i = 0; i < n; i++) {
        const float *c = ce + (i * 7919 % 200) * dim;
        double ss = 0, sn = 0;
        for (int d = 0; d < dim; d++) {
            nz[d] = (float)(gauss() / sqrt(1.0 + d));
            sn += (double)nz[d] * nz[d];
        }
        for (int d = 0; d < dim; d++) {
            x[i * dim + d] = 0.6f * mean[d] + 0.6f * c[d] + 0.5f * (float)(nz[d] / sqrt(sn));
            ss += (double)x[i * dim + d] * x[i * dim + d];
        }
        for (int d = 0; d < dim; d++) x[i * dim + d] = (float)(x[i * dim + d] / sqrt(ss));
    }
    free(nz);
    free(mean);
    free(ce);
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

// OUT: all (n) hits, best first. mu, w: the matrix's transform (NULL: none): rows quantised as
// y = (x - mu) / w, the query as q * w, and q·mu (summed in double) added to every score.
// OUT: fine[r] (when not NULL), row r's int8-refine score: each element's residual
// t = y·127/max|y| − q coded as k = clamp(floor((t + 1/2)·4), 0, 3); the int8 score plus the
// row's scale times Σ over groups g of 4 elements (stride / 4 of them, in order) of
// Σ_j (q * w)[4g+j] · (2k − 3)/8 (j in order; q * w zero past dim), all in float.
static void ref_i8_search(const float *rows, size_t n, int dim, const float *mu, const float *w,
                          const float *query, fr_vec_hit *all, float *fine) {
    double lim = 2147483647.0 / (127.0 * dim);
    float qmax = lim > 32767 ? 32767.0f : (float)floor(lim);
    int *qq = malloc((size_t)dim * sizeof *qq), *qr = malloc((size_t)dim * sizeof *qr);
    float *y = malloc((size_t)dim * sizeof *y);
    double b = 0;
    for (int d = 0; d < dim; d++) {
        y[d] = mu ? query[d] * w[d] : query[d];
        b += mu ? (double)query[d] * mu[d] : 0;
    }
    float qs = ref_quant(y, dim, qmax, qq), bias = (float)b;
    size_t stride = ((size_t)dim + 31) / 32 * 32;
    float *qw = calloc(stride, sizeof *qw);
    int *kc = calloc(stride, sizeof *kc);
    for (int d = 0; d < dim; d++) qw[d] = mu ? query[d] * w[d] : query[d];
    for (size_t r = 0; r < n; r++) {
        for (int d = 0; d < dim; d++) y[d] = mu ? (rows[r * dim + d] - mu[d]) / w[d] : rows[r * dim + d];
        float rs = ref_quant(y, dim, 127.0f, qr);
        float fine_corr = 0;
        if (fine) {
            float m = 0;
            for (int d = 0; d < dim; d++) m = fabsf(y[d]) > m ? fabsf(y[d]) : m;
            float inv = m > 0 ? 127.0f / m : 0.0f;
            for (int d = 0; d < dim; d++) {
                float k = floorf((y[d] * inv - (float)qr[d] + 0.5f) * 4.0f);
                kc[d] = k < 0 ? 0 : k > 3 ? 3 : (int)k;
            }
            for (size_t g = 0; g < stride / 4; g++) {
                float t = 0;
                for (size_t j = 0; j < 4; j++) t += qw[4 * g + j] * (float)(2 * kc[4 * g + j] - 3) * 0.125f;
                fine_corr += t;
            }
        }
        long long dot = 0;
        for (int d = 0; d < dim; d++) dot += (long long)qq[d] * qr[d];
        float s = (float)(int32_t)dot * (qs * rs);
        if (mu) s = s + bias;
        all[r] = (fr_vec_hit){(uint32_t)r, s};
        if (fine) fine[r] = s + rs * fine_corr;
    }
    qsort(all, n, sizeof *all, ref_cmp);
    free(qq);
    free(qr);
    free(y);
    free(qw);
    free(kc);
}

// int8 search equals the reference exactly for every thread count and several k; rows are
// n random unit vectors, the last `dups` of them copies of earlier rows (exact ties), added in
// a first call of `first` rows (>= FR__VECS_FIT_MIN: the transform is fitted to them; fewer:
// none) and a second of the rest. aniso: rows shaped like embeddings (aniso_rows), for which a
// transform is chosen; else isotropic (where none may be). ty: FR_VEC_I8, or FR_VEC_I8_REFINE
// (its max(2k, k + 100) best by int8 score, rescored as ref_i8_search's `fine`).
static void check_i8_exact(size_t n, int dim, size_t dups, size_t first, int aniso, fr_vec_type ty) {
    fr_error err;
    uint64_t saved = rng;  // its own random stream: the overlap check below keeps its data
    rng = 0x2545F4914F6CDD1Dull ^ n;
    float *x = malloc(n * (size_t)dim * sizeof *x), *q = malloc(4 * (size_t)dim * sizeof *q);
    if (aniso) aniso_rows(x, n - dups, dim);
    else normal_rows(x, n - dups, dim);
    for (size_t i = n - dups; i < n; i++) memcpy(x + i * dim, x + ((i * 7) % 50) * dim, (size_t)dim * sizeof *x);
    normal_rows(q, 4, dim);
    memcpy(q + 3 * dim, x + 3 * dim, (size_t)dim * sizeof *q);  // a query equal to a (duplicated) row
    fr_vecs *v = NULL;
    CHECK_EQ(fr_vecs_new(dim, ty, &v, &err), 0);
    CHECK_EQ(fr_vecs_add(v, x, first, &err), 0);
    CHECK_EQ(fr_vecs_add(v, x + first * dim, n - first, &err), 0);
    size_t fit = fr__vecs_fit_n(v);
    CHECK(fit == 0 || fit == first);
    if (first < FR__VECS_FIT_MIN || aniso) CHECK_EQ(fit, first < FR__VECS_FIT_MIN ? 0 : first);
    const float *mu, *w;
    fr__vecs_xform(v, &mu, &w);
    fr_vec_hit *ref = malloc(n * sizeof *ref), *got = malloc(n * sizeof *got), *exp = malloc(n * sizeof *exp);
    float *fine = malloc(n * sizeof *fine);
    size_t ks[] = {1, 10, 100, n - 1, n}, bad = 0, runs = 0;
    for (int j = 0; j < 4; j++) {
        ref_i8_search(x, n, dim, mu, w, q + j * dim, ref, fine);
        for (size_t a = 0; a < sizeof ks / sizeof *ks; a++) {
            size_t wide = ks[a] * 2 > ks[a] + 100 ? ks[a] * 2 : ks[a] + 100;
            if (wide > n) wide = n;
            memcpy(exp, ref, n * sizeof *exp);
            if (ty == FR_VEC_I8_REFINE) {
                for (size_t i = 0; i < wide; i++) exp[i].score = fine[exp[i].id];
                qsort(exp, wide, sizeof *exp, ref_cmp);
            }
            for (int t = 1; t <= 9; t += (t < 3 ? 1 : 3)) {
                size_t m = 0;
                CHECK_EQ(fr_vecs_search(v, q + j * dim, ks[a], t, got, &m, &err), 0);
                bad += m != ks[a] || memcmp(got, exp, m * sizeof *got) != 0;
                runs++;
            }
        }
    }
    printf("test_vectors: %s == scalar reference (%zu x %d, %zu duplicate rows, transform fitted on %zu): "
           "%zu of %zu searches\n", fr_vec_type_name(ty), n, dim, dups, fit, runs - bad, runs);
    CHECK_EQ(bad, 0);
    fr_vecs_free(v);
    free(x);
    free(q);
    free(ref);
    free(got);
    free(exp);
    free(fine);
    rng = saved;
}

static size_t n_common(const fr_vec_hit *a, size_t na, const fr_vec_hit *b, size_t nb) {
    size_t o = 0;
    for (size_t x = 0; x < na; x++)
        for (size_t y = 0; y < nb; y++) o += a[x].id == b[y].id;
    return o;
}

// int8 with the transform vs F32 exact search on anisotropic rows (n x 384, queries near a row
// or between two rows): top-10 overlap above a bound, and above int8 without the transform
// (rows first added 8 at a time: too few to fit one).
static void check_clustered(void) {
    fr_error err;
    uint64_t saved = rng;  // its own random stream, as check_i8_exact
    rng = 0x9E3779B97F4A7C15ull;
    const int dim = 384;
    const size_t n = 20000, nq = 40, k = 10;
    float *x = malloc(n * dim * sizeof *x), *q = malloc(nq * dim * sizeof *q);
    aniso_rows(x, n, dim);
    for (size_t j = 0; j < nq; j++)
        for (int d = 0; d < dim; d++)
            q[j * dim + d] = j < nq / 2 ? x[(j * 331) * dim + d] + 0.02f * (float)gauss()
                                        : 0.5f * (x[(j * 331) * dim + d] + x[(j * 331 + 1) * dim + d]);
    fr_vecs *vf = NULL, *vt = NULL, *vn = NULL, *vr = NULL;
    CHECK_EQ(fr_vecs_new(dim, FR_VEC_F32, &vf, &err), 0);
    CHECK_EQ(fr_vecs_new(dim, FR_VEC_I8, &vt, &err), 0);
    CHECK_EQ(fr_vecs_new(dim, FR_VEC_I8, &vn, &err), 0);
    CHECK_EQ(fr_vecs_new(dim, FR_VEC_I8_REFINE, &vr, &err), 0);
    CHECK_EQ(fr_vecs_add(vf, x, n, &err), 0);
    CHECK_EQ(fr_vecs_add(vt, x, n, &err), 0);
    CHECK_EQ(fr_vecs_add(vr, x, n, &err), 0);
    CHECK_EQ(fr_vecs_add(vn, x, 8, &err), 0);
    CHECK_EQ(fr_vecs_add(vn, x + 8 * dim, n - 8, &err), 0);
    CHECK_EQ(fr__vecs_fit_n(vt), n);
    CHECK_EQ(fr__vecs_fit_n(vn), 0);
    fr_vec_hit hf[10], ht[10], hn[10], hr[10];
    size_t nf, nt, nn, nr, ot = 0, on = 0, orf = 0;
    double worst = 0;
    for (size_t j = 0; j < nq; j++) {
        CHECK_EQ(fr_vecs_search(vf, q + j * dim, k, 1, hf, &nf, &err), 0);
        CHECK_EQ(fr_vecs_search(vt, q + j * dim, k, 2, ht, &nt, &err), 0);
        CHECK_EQ(fr_vecs_search(vn, q + j * dim, k, 2, hn, &nn, &err), 0);
        CHECK_EQ(fr_vecs_search(vr, q + j * dim, k, 2, hr, &nr, &err), 0);
        ot += n_common(hf, nf, ht, nt);
        on += n_common(hf, nf, hn, nn);
        orf += n_common(hf, nf, hr, nr);
        // scores stay dot products (q·mu added back): close to the exact ones
        for (size_t a = 0; a < nt; a++) {
            double s = 0;
            for (int d = 0; d < dim; d++) s += (double)q[j * dim + d] * x[ht[a].id * dim + d];
            worst = fabs(s - ht[a].score) > worst ? fabs(s - ht[a].score) : worst;
        }
    }
    double fo = (double)ot / (double)(nq * k), fn = (double)on / (double)(nq * k), fr = (double)orf / (double)(nq * k);
    printf("test_vectors: clustered %zu x %d, top-%zu overlap with F32: int8 %.4f with the transform, %.4f "
           "without, int8-refine %.4f; max |score - exact| %.2g\n", n, dim, k, fo, fn, fr, worst);
    CHECK(fr >= 0.99);
    CHECK(fo >= 0.97);        // 0.985 when written (the 100k / 1M bench: bench/embed/README.md)
    CHECK(fo >= fn + 0.05);   // 0.885 without
    CHECK(worst < 2e-3);
    fr_vecs_free(vf);
    fr_vecs_free(vt);
    fr_vecs_free(vn);
    fr_vecs_free(vr);
    free(x);
    free(q);
    rng = saved;
}

// A copy of a file's bytes with its trailing CRC32 recomputed (to reach the checks after it).
// A fuzz seed file (fuzz/corpus/...), written when FR_WRITE_SEEDS is set.
static void write_seed(const char *path, const char *buf, size_t len) {
    FILE *g = fopen(path, "wb");
    if (!g) return;
    fwrite(buf, 1, len, g);
    fclose(g);
}

static void fix_crc(char *buf, size_t len) {
    uint32_t c = (uint32_t)crc32(crc32(0L, Z_NULL, 0), (const Bytef *)buf, (uInt)(len - 4));
    memcpy(buf + len - 4, &c, 4);
}

static int same_hits(const fr_vecs *a, const fr_vecs *b, const float *q, size_t k) {
    fr_vec_hit x1[64], x2[64];
    size_t a1 = 0, a2 = 0;
    fr_error err;
    if (k > 64 || fr_vecs_search(a, q, k, 1, x1, &a1, &err) || fr_vecs_search(b, q, k, 2, x2, &a2, &err)) return 0;
    return a1 == a2 && memcmp(x1, x2, a1 * sizeof *x1) == 0;
}

// Version-1 files (the seeds fuzz/corpus/vectors/*_v1.bin, written before the transform by the
// save round trip in main: rows `rows`, 5 x 3) still load, copied and as views, and search
// exactly as the same rows added now (5 rows: too few for a transform, as version 1 had none).
static void check_v1(const float *rows, const float *qv) {
    static const char *names[] = {"f32", "i8", "i8r"};
    fr_error err;
    for (int ty = 0; ty < 3; ty++) {
        char path[200];
        snprintf(path, sizeof path, "fuzz/corpus/vectors/%s_v1.bin", names[ty]);
        size_t len = 0;
        char *buf = fr_test_slurp(path, &len);
        CHECK(buf != NULL);
        if (!buf) continue;
        CHECK(len > 8 && !memcmp(buf, "FRVECS01", 8));
        fr_vecs *fresh = NULL, *back = NULL, *view = NULL;
        fr_vecs_meta m;
        CHECK_EQ(fr_vecs_new(3, (fr_vec_type)ty, &fresh, &err), 0);
        CHECK_EQ(fr_vecs_add(fresh, rows, 5, &err), 0);
        CHECK_EQ(fr_vecs_load_mem(buf, len, path, &back, &m, &err), 0);
        CHECK_EQ(fr__vecs_view(buf, len, path, 1, &view, NULL, &err), 0);
        if (back && view) {
            CHECK_EQ(fr__vecs_fit_n(back), 0);
            CHECK_STR(m.model, "models/e5-small");
            CHECK(same_hits(fresh, back, qv, 5));
            CHECK(same_hits(fresh, view, qv, 5));
        }
        fr_vecs_free(fresh);
        fr_vecs_free(back);
        fr__vecs_view_free(view);
        free(buf);
    }
}

// Version 2 with a transform: int8, int8+rescore and int8-refine matrices of anisotropic rows survive a
// save / load round trip (copy and view) bit for bit, transform included; truncations, a
// flipped byte and a bad transform (w = 0, NaN mu: CRC fixed up) are clean errors. The files are
// the fuzz seeds fuzz/corpus/{vectors,segvec}/*_xform.bin (FR_WRITE_SEEDS=1 rewrites them).
static void check_xform_files(const char *dir) {
    fr_error err;
    const int dim = 40;
    const size_t n = 64;
    float x[64 * 40], q[40];
    aniso_rows(x, n, dim);
    for (int d = 0; d < dim; d++) q[d] = x[5 * dim + d] + x[9 * dim + d];
    for (int ty = 1; ty <= 3; ty++) {
        char path[300], seed[300];
        fr_vecs *src = NULL, *back = NULL, *view = NULL;
        CHECK_EQ(fr_vecs_new(dim, (fr_vec_type)ty, &src, &err), 0);
        CHECK_EQ(fr_vecs_add(src, x, n, &err), 0);
        CHECK_EQ(fr__vecs_fit_n(src), n);
        fr_vecs_meta meta = {.generation = 7};
        snprintf(meta.model, sizeof meta.model, "m");
        snprintf(path, sizeof path, "%s/x%d.bin", dir, ty);
        CHECK_EQ(fr_vecs_save(src, path, &meta, &err), 0);
        size_t len = 0;
        char *buf = fr_test_slurp(path, &len);
        CHECK(buf && len > 8 && !memcmp(buf, "FRVECS02", 8));
        if (!buf) { fr_vecs_free(src); continue; }
        CHECK_EQ(fr_vecs_load_mem(buf, len, "x", &back, NULL, &err), 0);
        CHECK_EQ(fr__vecs_view(buf, len, "x", 0, &view, NULL, &err), 0);
        if (back && view) {
            CHECK_EQ(fr__vecs_fit_n(back), n);
            CHECK(fr__vecs_same_xform(src, back) && fr__vecs_same_xform(src, view));
            CHECK(same_hits(src, back, q, 20));
            CHECK(same_hits(src, view, q, 20));
        }
        fr_vecs_free(back);
        fr__vecs_view_free(view);
        for (int corpus = 0; corpus < 2 && getenv("FR_WRITE_SEEDS"); corpus++) {
            snprintf(seed, sizeof seed, "fuzz/corpus/%s/%s_xform.bin", corpus ? "segvec" : "vectors",
                     ty == 3 ? "i8f" : ty == 2 ? "i8r" : "i8");
            write_seed(seed, buf, len);
        }
        for (size_t cut = 0; cut < len; cut += 5) {
            back = NULL;
            CHECK(fr_vecs_load_mem(buf, cut, "cut", &back, NULL, &err) < 0);
            CHECK(back == NULL);
        }
        // the transform sits after the 40-byte header and the model name ("m", padded to 8)
        size_t at_w = 48 + (size_t)dim * sizeof(float);
        float bad[2] = {0.0f, NAN};
        for (int b = 0; b < 2; b++) {
            char *c = malloc(len);
            memcpy(c, buf, len);
            memcpy(c + (b ? 48 : at_w), &bad[b], sizeof(float));  // w[0] = 0, then mu[0] = NaN
            fix_crc(c, len);
            back = NULL;
            CHECK_EQ(fr_vecs_load_mem(c, len, "bad", &back, NULL, &err), FR_EFORMAT);
            CHECK(strstr(err.msg, "transform") != NULL);
            CHECK_EQ(fr__vecs_view(c, len, "bad", 0, &view, NULL, &err), FR_EFORMAT);
            free(c);
        }
        {  // a valid transform (w > 0, finite) under which rows overflow float: w = 1e-44
            // (subnormal), fitted on "more rows" than src so that a merge takes it. Rows
            // quantised under it were stored with an infinite scale (NaN into the int8 casts):
            // files that fr_vecs_load then refused. Now adding or merging such rows fails.
            char *c = malloc(len);
            memcpy(c, buf, len);
            uint32_t fit = (uint32_t)n + 1000;
            memcpy(c + 36, &fit, 4);
            for (int d = 0; d < dim; d++) {
                float tiny = 1e-44f;
                memcpy(c + at_w + (size_t)d * sizeof(float), &tiny, sizeof(float));
            }
            fix_crc(c, len);
            back = NULL;
            CHECK_EQ(fr_vecs_load_mem(c, len, "tiny", &back, NULL, &err), 0);
            if (back) {
                char p2[300];
                snprintf(p2, sizeof p2, "%s/tiny%d.bin", dir, ty);
                int rc = fr_vecs_add(back, x, 1, &err);
                CHECK_EQ(rc, FR_EINVAL);  // |x − mu| / 1e-44 > FLT_MAX
                if (rc == 0) {  // then what was stored must load again
                    fr_vecs *again = NULL;
                    CHECK_EQ(fr_vecs_save(back, p2, NULL, &err), 0);
                    CHECK_EQ(fr_vecs_load(p2, &again, NULL, &err), 0);
                    fr_vecs_free(again);
                } else {
                    CHECK(strstr(err.msg, "transform") != NULL);
                    CHECK_EQ(fr_vecs_count(back), n);
                }
                // a merge into back's transform re-quantises src's rows
                const fr_vecs *two[2] = {src, back};
                rc = fr__vecs_write_rows(two, NULL, 2, p2, NULL, 0, &err);
                CHECK_EQ(rc, FR_EINVAL);
                if (rc == 0) {
                    fr_vecs *again = NULL;
                    CHECK_EQ(fr_vecs_load(p2, &again, NULL, &err), 0);
                    fr_vecs_free(again);
                } else {
                    CHECK(strstr(err.msg, "transform") != NULL);
                    CHECK(access(p2, F_OK) != 0);  // nothing written
                }
                unlink(p2);
                fr_vecs_free(back);
                back = NULL;
            }
            free(c);
        }
        buf[len / 2] ^= 0x40;
        CHECK_EQ(fr_vecs_load_mem(buf, len, "flip", &back, NULL, &err), FR_ECORRUPT);
        free(buf);
        fr_vecs_free(src);
    }
}

// A merge (fr__vecs_write_rows) of int8 matrices with different transforms: A fitted on 3000
// rows, B on 1000 others, C on none (first added 8 at a time), with deleted rows. The output
// takes A's transform (the most rows fitted); A's live rows are copied (their scores equal A's
// own, bit for bit), B's and C's re-quantised (scores within twice int8's error of exact).
static void check_merge(const char *dir, fr_vec_type ty) {
    fr_error err;
    const int dim = 384;
    const size_t na = 3000, nb = 1000, nc = 500, n = na + nb + nc;
    float *x = malloc(n * dim * sizeof *x);
    aniso_rows(x, n, dim);
    fr_vecs *a = NULL, *b = NULL, *c = NULL, *m = NULL;
    CHECK_EQ(fr_vecs_new(dim, ty, &a, &err), 0);
    CHECK_EQ(fr_vecs_new(dim, ty, &b, &err), 0);
    CHECK_EQ(fr_vecs_new(dim, ty, &c, &err), 0);
    CHECK_EQ(fr_vecs_add(a, x, na, &err), 0);
    CHECK_EQ(fr_vecs_add(b, x + na * dim, nb, &err), 0);
    CHECK_EQ(fr_vecs_add(c, x + (na + nb) * dim, 8, &err), 0);
    CHECK_EQ(fr_vecs_add(c, x + (na + nb + 8) * dim, nc - 8, &err), 0);
    CHECK(fr__vecs_fit_n(a) == na && fr__vecs_fit_n(b) == nb && fr__vecs_fit_n(c) == 0);
    CHECK(!fr__vecs_same_xform(a, b) && !fr__vecs_same_xform(a, c));
    uint8_t *da = calloc(na / 8 + 1, 1), *db = calloc(nb / 8 + 1, 1);
    for (size_t i = 0; i < na; i += 3) da[i >> 3] |= (uint8_t)(1 << (i & 7));  // every third
    for (size_t i = 1; i < nb; i += 5) db[i >> 3] |= (uint8_t)(1 << (i & 7));
    const fr_vecs *src[3] = {b, a, c};  // A not first: the choice is by rows fitted
    const uint8_t *del[3] = {db, da, NULL};
    char path[300];
    snprintf(path, sizeof path, "%s/merged.frv", dir);
    CHECK_EQ(fr__vecs_write_rows(src, del, 3, path, NULL, 0, &err), 0);
    CHECK_EQ(fr_vecs_load(path, &m, NULL, &err), 0);
    // merged row -> original row (x) and source
    size_t *orig = malloc(n * sizeof *orig), live = 0;
    for (size_t i = 0; i < nb; i++) if (!((db[i >> 3] >> (i & 7)) & 1)) orig[live++] = na + i;
    for (size_t i = 0; i < na; i++) if (!((da[i >> 3] >> (i & 7)) & 1)) orig[live++] = i;
    for (size_t i = 0; i < nc; i++) orig[live++] = na + nb + i;
    if (m) {
        CHECK_EQ(fr_vecs_count(m), live);
        CHECK(fr__vecs_same_xform(m, a));
        fr_vec_hit *ha = malloc(na * sizeof *ha), *hm = malloc(live * sizeof *hm);
        float *sa = malloc(na * sizeof *sa);
        size_t nh, copied = 0, requant = 0;
        double worst = 0;
        for (int j = 0; j < 3; j++) {
            const float *q = x + (size_t)(j * 1777 % n) * dim;
            CHECK_EQ(fr_vecs_search(a, q, na, 1, ha, &nh, &err), 0);
            for (size_t i = 0; i < nh; i++) sa[ha[i].id] = ha[i].score;
            CHECK_EQ(fr_vecs_search(m, q, live, 2, hm, &nh, &err), 0);
            CHECK_EQ(nh, live);
            for (size_t i = 0; i < nh; i++) {
                size_t o = orig[hm[i].id];
                if (o < na) {
                    copied += hm[i].score == sa[o];
                    continue;
                }
                double s = 0;
                for (int d = 0; d < dim; d++) s += (double)q[d] * x[o * dim + d];
                worst = fabs(s - hm[i].score) > worst ? fabs(s - hm[i].score) : worst;
                requant++;
            }
        }
        printf("test_vectors: %s merge of 3 transforms: %zu copied rows' scores equal the source's; %zu "
               "re-quantised within %.2g of exact\n", fr_vec_type_name(ty), copied, requant, worst);
        CHECK_EQ(copied, 3 * (na - (na + 2) / 3));
        CHECK(worst < 5e-3);  // two roundings (dequantise, re-quantise): 3.4e-3 when written
        free(ha);
        free(hm);
        free(sa);
    }
    fr_vecs_free(a);
    fr_vecs_free(b);
    fr_vecs_free(c);
    fr_vecs_free(m);
    free(orig);
    free(da);
    free(db);
    free(x);
}

// Rows and queries of tiny (subnormal) magnitude quantise as the same vectors scaled up do:
// 127 / max|x| overflowed float there, and 0 · inf = NaN went into the int8 / int16 casts and
// the 2-bit refinement codes (undefined behaviour; int8-refine stored wrong codes: the zero
// elements of such a row came back as -3/8 of a step instead of +1/8).
static void check_tiny(void) {
    const float big = 18446744073709551616.0f;  // 2^64: scaling by it is exact
    for (int t = FR_VEC_I8; t <= FR_VEC_I8_REFINE; t++) {
        float x[2 * 8] = {1e-39f, 0, -3e-40f, 0, 0, 2e-40f, 0, 0};
        for (int d = 0; d < 8; d++) x[8 + d] = x[d] * big;
        fr_vecs *v = NULL;
        CHECK_EQ(fr_vecs_new(8, (fr_vec_type)t, &v, NULL), 0);
        CHECK_EQ(fr_vecs_add(v, x, 2, NULL), 0);
        float a[8], b[8];
        fr__vecs_row_f32(v, 0, a);
        fr__vecs_row_f32(v, 1, b);
        int same = 1;
        for (int d = 0; d < 8; d++)  // a = b / 2^64, up to subnormal rounding
            same &= fabs((double)a[d] * big - b[d]) <= 1e-3 * fabs((double)b[d]) + 1e-30;
        CHECK(same);
        float q[8] = {1e-39f, 1e-39f, 0, 0, 0, 0, 0, 0};
        fr_vec_hit h[2];
        size_t n = 0;
        CHECK_EQ(fr_vecs_search(v, q, 2, 1, h, &n, NULL), 0);
        CHECK_EQ(n, 2);
        fr_vecs_free(v);
    }
}

int main(int argc, char **argv) {
    // the names the CLI and HTTP use, both ways
    for (int t = FR_VEC_F32; t <= FR_VEC_I8_REFINE; t++) {
        fr_vec_type back = FR_VEC_F32;
        CHECK_EQ(fr_vec_type_parse(fr_vec_type_name((fr_vec_type)t), &back), 0);
        CHECK_EQ(back, t);
    }
    CHECK_STR(fr_vec_type_name(FR_VEC_I8_RESCORE), "int8-rescore");
    CHECK_STR(fr_vec_type_name(FR_VEC_I8_REFINE), "int8-refine");
    fr_vec_type other;
    CHECK_EQ(fr_vec_type_parse("int4", &other), FR_EINVAL);
    CHECK_EQ(fr_vec_type_parse(NULL, &other), FR_EINVAL);
    // exactness of the int8 kernels: 8-row blocks, tails, thread splits, padding, ties
    check_i8_exact(9001, 384, 0, 9001, 1, FR_VEC_I8);
    check_i8_exact(4099, 100, 600, 1000, 1, FR_VEC_I8);
    check_i8_exact(2053, 1027, 0, 2053, 1, FR_VEC_I8);  // dim > 516: the query range narrows
    check_i8_exact(3001, 384, 100, 15, 1, FR_VEC_I8);   // no transform: the version-1 formula
    check_i8_exact(3001, 384, 0, 3001, 0, FR_VEC_I8);   // isotropic: whichever the fit chose
    check_i8_exact(4099, 100, 600, 1000, 1, FR_VEC_I8_REFINE);
    check_i8_exact(3001, 384, 100, 15, 1, FR_VEC_I8_REFINE);
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
    check_clustered();
    check_tiny();
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
    // I8_REFINE: int8 scan, candidates rescored with 2 more bits: top-10 overlap with F32
    CHECK_EQ(fr_vecs_new(dim, FR_VEC_I8_REFINE, &vr, &err), 0);
    CHECK_EQ(fr_vecs_add(vr, x, n, &err), 0);
    size_t ovr = 0;
    for (size_t j = 0; j < nq; j++) {
        CHECK_EQ(fr_vecs_search(vf, q + j * dim, k, 1, hf, &nf, &err), 0);
        CHECK_EQ(fr_vecs_search(vr, q + j * dim, k, 2, hi, &ni, &err), 0);
        ovr += n_common(hf, nf, hi, ni);
    }
    printf("test_vectors: int8-refine top-%zu overlap with F32 %.4f\n", k, (double)ovr / (double)(nq * k));
    CHECK(ovr >= nq * k * 99 / 100);
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
            write_seed(seed, buf, len);
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
    check_v1(rows, qv);
    check_xform_files(dir);
    check_merge(dir, FR_VEC_I8);
    check_merge(dir, FR_VEC_I8_REFINE);
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
