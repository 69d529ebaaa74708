/* test_ivf.c — the IVF approximate dense index (src/index/ivf.c) and the gathered-row scan it
 * uses (src/index/vectors.c):
 *  - a gathered, list-ordered copy scanned over all its ranges equals fr_vecs_search exactly
 *    (ids and bit-identical scores) for F32, int8 and int8 + rescoring, on 1, 2 and 3 threads;
 *  - nprobe = nlist equals exact search; on a clustered set (well-separated topics) a few
 *    lists give recall@10 >= 0.95, and results do not depend on the thread count;
 *  - builds are deterministic (same bytes twice);
 *  - damaged files (truncated, flipped byte, wrong vectors, bad offsets / ids, a row in two
 *    lists) are clean errors, never crashes;
 *  - in an index (tiny model, the row threshold lowered): add, optimize, rollback, reopen and
 *    backfill keep exactly one .ivf per .frv of a large-enough segment, garbage goes, a
 *    corrupt .ivf fails the open (FR_ECORRUPT) and a missing one falls back to exact scans.
 */
#include <fcntl.h>

#include <zlib.h>

#include "finerank.h"
#include "index/ivf.h"
#include "index/vectors.h"
#include "index_util.h"
#include "test.h"

#define DIM 24
#define TOPICS 12
#define PER 150
#define N (TOPICS * PER)

static uint64_t seed = 42;
static float gauss(void) {
    double u1 = ((double)(rng_next(&seed) >> 11) + 1) / 9007199254740993.0;
    double u2 = (double)(rng_next(&seed) >> 11) / 9007199254740992.0;
    return (float)(sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2));
}
static void unit(float *x, float noise, const float *around) {
    double s = 0;
    for (int i = 0; i < DIM; i++) {
        x[i] = (around ? around[i] : 0) + noise * gauss();
        s += (double)x[i] * x[i];
    }
    for (int i = 0; i < DIM; i++) x[i] = (float)(x[i] / sqrt(s));
}

// N rows around TOPICS random unit centres (noise 0.15 per dimension), in shuffled order.
static void corpus(float *x, float *centres) {
    for (int t = 0; t < TOPICS; t++) unit(centres + t * DIM, 1, NULL);
    for (int i = 0; i < N; i++) unit(x + (size_t)i * DIM, 0.15f, centres + (size_t)((i * 7) % TOPICS) * DIM);
}

static int same_hits(const fr_vec_hit *a, size_t na, const fr_vec_hit *b, size_t nb) {
    if (na != nb) return 0;
    for (size_t i = 0; i < na; i++)
        if (a[i].id != b[i].id || memcmp(&a[i].score, &b[i].score, sizeof a[i].score)) return 0;
    return 1;
}

static char *slurp(const char *path, size_t *len) {
    char *d = NULL;
    if (fr__read_file(path, &d, len, NULL) < 0) return NULL;
    return d;
}

// ---- the gathered scan ----
// Every vector type, on x and on x shifted by a shared direction (anisotropic rows, for which
// the int8 types fit their quantisation transform: the copy must carry it, and int8-refine
// must rescore from the original).
static void test_gathered(const float *x) {
    static const fr_vec_type types[] = {FR_VEC_F32, FR_VEC_I8, FR_VEC_I8_RESCORE, FR_VEC_I8_REFINE};
    uint32_t *perm = malloc(N * sizeof *perm);
    float *xs = malloc((size_t)N * DIM * sizeof *xs), shift[DIM];
    unit(shift, 1, NULL);
    for (size_t i = 0; i < (size_t)N * DIM; i++) xs[i] = x[i] + 1.5f * shift[i % DIM];
    for (uint32_t i = 0; i < N; i++) perm[i] = i;
    for (uint32_t i = N - 1; i > 0; i--) {
        uint32_t j = (uint32_t)(rng_next(&seed) % (i + 1)), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    fr__vecs_range rg[3] = {{0, 500}, {500, 501}, {501, N}};  // odd sizes: tails of the 8-row blocks
    for (int ti = 0; ti < 8; ti++) {
        fr_vecs *v = NULL, *c = NULL;
        CHECK_EQ(fr_vecs_new(DIM, types[ti % 4], &v, NULL), 0);
        CHECK_EQ(fr_vecs_add(v, ti < 4 ? x : xs, N, NULL), 0);
        if (ti > 4) CHECK(fr__vecs_fit_n(v) > 0);  // the shifted int8 rows have a transform
        CHECK_EQ(fr__vecs_gather(v, perm, N, &c, NULL), 0);
        for (int qi = 0; qi < 4; qi++) {
            float q[DIM];
            unit(q, 1, NULL);
            fr_vec_hit a[50], b[50];
            size_t na = 0, nb = 0;
            CHECK_EQ(fr_vecs_search(v, q, 50, 1, a, &na, NULL), 0);
            for (int t = 1; t <= 3; t++) {
                CHECK_EQ(fr__vecs_search_gathered(v, c, perm, rg, 3, q, 50, t, b, &nb, NULL), 0);
                CHECK(same_hits(a, na, b, nb));
            }
            // a subset: rows of the copy [0, 500) only = the exact best of those rows
            fr_vec_hit s[20];
            size_t ns = 0, ok = 1;
            CHECK_EQ(fr__vecs_search_gathered(v, c, perm, rg, 1, q, 20, 2, s, &ns, NULL), 0);
            CHECK_EQ(ns, 20);
            for (size_t i = 0; i < ns; i++) {
                int in = 0;
                for (uint32_t j = 0; j < 500; j++) in |= perm[j] == s[i].id;
                ok &= in;
            }
            CHECK(ok);
        }
        fr_vecs_free(c);
        fr_vecs_free(v);
    }
    free(xs);
    free(perm);
}

// ---- build, search, recall ----
static void test_search(const float *x, const float *centres, const char *dir) {
    char path[300], path2[300];
    snprintf(path, sizeof path, "%s/a.ivf", dir);
    snprintf(path2, sizeof path2, "%s/b.ivf", dir);
    fr_vecs *v = NULL;
    CHECK_EQ(fr_vecs_new(DIM, FR_VEC_I8, &v, NULL), 0);
    CHECK_EQ(fr_vecs_add(v, x, N, NULL), 0);
    fr_error err;
    CHECK_EQ(fr__ivf_build(v, 16, 0xabcd1234u, path, 1, &err), 0);
    CHECK_EQ(fr__ivf_build(v, 16, 0xabcd1234u, path2, 0, &err), 0);
    size_t la = 0, lb = 0;
    char *a = slurp(path, &la), *b = slurp(path2, &lb);
    CHECK(a && b && la == lb && !memcmp(a, b, la));  // deterministic
    free(b);
    fr__ivf *ivf = NULL;
    CHECK_EQ(fr__ivf_view(a, la, "a.ivf", 1, v, 0xabcd1234u, &ivf, &err), 0);
    if (!ivf) { fr_vecs_free(v); free(a); return; }
    CHECK_EQ(fr__ivf_lists(ivf), 16);
    double recall = 0;
    int nq = 40;
    for (int qi = 0; qi < nq; qi++) {
        float q[DIM];
        unit(q, 0.15f, centres + (size_t)(qi % TOPICS) * DIM);
        fr_vec_hit e[10], h[10], h2[10];
        size_t ne = 0, nh = 0, nh2 = 0, scanned = 0;
        CHECK_EQ(fr_vecs_search(v, q, 10, 1, e, &ne, NULL), 0);
        CHECK_EQ(fr__ivf_search(ivf, v, q, 10, 16, 2, h, &nh, &scanned, NULL), 0);
        CHECK(same_hits(e, ne, h, nh) && scanned == N);  // every list: exact
        CHECK_EQ(fr__ivf_search(ivf, v, q, 10, 3, 1, h, &nh, &scanned, NULL), 0);
        CHECK(scanned < N / 2);
        CHECK_EQ(fr__ivf_search(ivf, v, q, 10, 3, 3, h2, &nh2, NULL, NULL), 0);
        CHECK(same_hits(h, nh, h2, nh2));  // thread count does not matter
        for (size_t i = 0; i < ne; i++)
            for (size_t j = 0; j < nh; j++) recall += e[i].id == h[j].id;
    }
    recall /= 10.0 * nq;
    fprintf(stderr, "test_ivf: recall@10 with 3 of 16 lists: %.3f\n", recall);
    CHECK(recall >= 0.95);
    fr__ivf_free(ivf);

    // damaged files
    uint32_t nlist, off0;
    memcpy(&nlist, a + 12, 4);
    size_t offs = 32 + (size_t)nlist * DIM * 4;
    CHECK_EQ(fr__ivf_view(a, la - 1, "t", 1, v, 0xabcd1234u, &ivf, &err), FR_EFORMAT);
    CHECK_EQ(fr__ivf_view(a, 20, "t", 1, v, 0xabcd1234u, &ivf, &err), FR_EFORMAT);
    CHECK_EQ(fr__ivf_view(a, la, "t", 1, v, 0x1234u, &ivf, &err), FR_ECORRUPT);  // other vectors
    a[40] ^= 1;
    CHECK_EQ(fr__ivf_view(a, la, "t", 1, v, 0xabcd1234u, &ivf, &err), FR_ECORRUPT);  // checksum
    CHECK(strstr(err.msg, "checksum") != NULL);
    a[40] ^= 1;
    memcpy(&off0, a + offs + 4, 4);
    uint32_t bad = N + 5;
    memcpy(a + offs + 4, &bad, 4);  // list 0 ends past the rows (checksum not verified)
    CHECK_EQ(fr__ivf_view(a, la, "t", 0, v, 0xabcd1234u, &ivf, &err), FR_EFORMAT);
    memcpy(a + offs + 4, &off0, 4);
    size_t ids = offs + ((size_t)nlist + 1) * 4;
    memcpy(a + ids, &bad, 4);  // a row id out of range
    CHECK_EQ(fr__ivf_view(a, la, "t", 0, v, 0xabcd1234u, &ivf, &err), FR_EFORMAT);
    fr_vecs *other = NULL;
    CHECK_EQ(fr_vecs_new(DIM, FR_VEC_F32, &other, NULL), 0);
    CHECK_EQ(fr_vecs_add(other, x, N, NULL), 0);
    CHECK_EQ(fr__ivf_view(b = slurp(path, &lb), lb, "t", 1, other, 0xabcd1234u, &ivf, &err), FR_ECORRUPT);
    free(b);
    fr_vecs_free(other);
    fr_vecs_free(v);
    free(a);
    unlink(path);
    unlink(path2);
}

// ---- a row in two lists ----
// Every row belongs to exactly one list: a file whose lists share a row (and so miss another),
// even with a valid checksum, is malformed. Accepted, it made an approximate search return one
// document twice (and a hybrid query fail in fusion: "doc appears twice").
static void test_dup_ids(const float *x, const char *dir) {
    char path[300];
    snprintf(path, sizeof path, "%s/d.ivf", dir);
    fr_vecs *v = NULL;
    CHECK_EQ(fr_vecs_new(DIM, FR_VEC_F32, &v, NULL), 0);
    CHECK_EQ(fr_vecs_add(v, x, 8, NULL), 0);
    fr_error err;
    CHECK_EQ(fr__ivf_build(v, 2, 7u, path, 0, &err), 0);
    size_t len = 0;
    char *a = slurp(path, &len);
    CHECK(a != NULL && len == 32 + 2 * DIM * 4 + 3 * 4 + 8 * 4 + 4);
    if (a && len == 32 + 2 * DIM * 4 + 3 * 4 + 8 * 4 + 4) {
        // lists {0,1,2,3} and {0,1,2,3}: each ascending and in range, rows 4..7 in none
        uint32_t off[3] = {0, 4, 8}, ids[8] = {0, 1, 2, 3, 0, 1, 2, 3};
        size_t o = 32 + 2 * DIM * 4;
        memcpy(a + o, off, sizeof off);
        memcpy(a + o + sizeof off, ids, sizeof ids);
        uint32_t c = (uint32_t)crc32_z(0L, (const Bytef *)a, len - 4);
        memcpy(a + len - 4, &c, 4);
        fr__ivf *ivf = NULL;
        for (int verify = 0; verify < 2; verify++) {
            CHECK_EQ(fr__ivf_view(a, len, "d.ivf", verify, v, 7u, &ivf, &err), FR_EFORMAT);
            if (ivf) {
                float q[DIM] = {1};
                fr_vec_hit h[8];
                size_t nh = 0;
                CHECK_EQ(fr__ivf_search(ivf, v, q, 8, 1, 1, h, &nh, NULL, NULL), 0);
                for (size_t i = 1; i < nh; i++) CHECK(h[i].id != h[i - 1].id);
                fr__ivf_free(ivf);
                ivf = NULL;
            }
        }
    }
    free(a);
    fr_vecs_free(v);
    unlink(path);
}

// ---- in an index ----
static const char *MODEL = "tests/data/models/embed-bert-cls";

static void add_docs(fr_index *ix, int from, int to) {
    static const char *words[] = {"cat", "dog", "bank", "rain", "stock", "eggs", "garden", "ball",
                                  "night", "market", "kitten", "water"};
    for (int i = from; i < to; i++) {
        char buf[256];
        snprintf(buf, sizeof buf, "{\"id\":\"d%d\",\"text\":\"%s %s %s number %d\"}", i, words[i % 12],
                 words[(i / 12) % 12], words[(i * 5) % 12], i);
        CHECK_EQ(fr_index_add(ix, buf, strlen(buf), NULL), 0);
    }
}

static size_t dense(fr_index *ix, const char *query, int nprobe, fr_hit *h, size_t k) {
    float q[64];
    size_t n = 0;
    fr_search_opts so = fr_search_opts_default();
    so.k = k;
    so.nprobe = nprobe;
    CHECK_EQ(fr_index_embed_query(ix, query, q, NULL), 0);
    CHECK_EQ(fr_index_search_dense(ix, q, &so, 2, h, &n, NULL), 0);
    return n;
}

static void test_index(void) {
    char dir[256];
    if (!tmp_dir(dir, sizeof dir, "ivf")) { CHECK(0); return; }
    fr__ivf_min_rows = 30;  // segments of >= 30 rows get an IVF
    fr_index_opts o = fr_index_opts_default();
    o.embed_model = MODEL;
    o.ann = FR_ANN_IVF;
    o.ivf_lists = 4;
    fr_index *ix = NULL;
    fr_error err;
    CHECK_EQ(fr_index_build(dir, &o, &ix, &err), 0);
    if (!ix) return;
    add_docs(ix, 0, 40);
    CHECK_EQ(fr_index_commit(ix, &err), 0);
    add_docs(ix, 40, 50);  // a small segment: exact
    CHECK_EQ(fr_index_commit(ix, &err), 0);
    CHECK_EQ(count_files(dir, ".frv"), 2);
    CHECK_EQ(count_files(dir, ".ivf"), 1);
    fr_index_embedding em;
    CHECK_EQ(fr_index_embedding_get(ix, &em, &err), 0);
    CHECK_EQ(em.ann, FR_ANN_IVF);
    CHECK_EQ(em.ivf_lists, 4);
    CHECK_EQ(em.n_ivf, 40);
    fr_hit ex[50], ap[50];
    size_t ne = dense(ix, "cat and kitten", 0, ex, 50), na = dense(ix, "cat and kitten", 4, ap, 50);
    CHECK_EQ(ne, 50);
    CHECK_EQ(na, 50);  // every list = exact
    for (size_t i = 0; i < ne && i < na; i++) CHECK(ex[i].doc == ap[i].doc && ex[i].score == ap[i].score);
    na = dense(ix, "cat and kitten", 1, ap, 50);  // one list of 4 in the large segment
    CHECK(na < 50 && na >= 10);
    {  // the retriever's nprobe reaches the scan (and wins over so->nprobe)
        fr_hit rh[50];
        size_t nr = 0;
        fr_retriever_opts ro = fr_retriever_opts_default();
        ro.kind = FR_RETRIEVER_DENSE;
        ro.nprobe = 1;
        ro.threads = 3;
        fr_search_opts so = fr_search_opts_default();
        so.k = 50;
        so.nprobe = 0;
        CHECK_EQ(fr_retrieve(ix, "cat and kitten", &ro, &so, rh, &nr, &err), 0);
        CHECK_EQ(nr, na);
        for (size_t i = 0; i < nr && i < na; i++) CHECK(rh[i].doc == ap[i].doc && rh[i].score == ap[i].score);
    }
    fr_index_close(ix);

    // a reader opens the IVF (the setting is in COMMIT)
    CHECK_EQ(fr_index_open(dir, NULL, &ix, &err), 0);
    if (!ix) return;
    CHECK_EQ(fr_index_embedding_get(ix, &em, &err), 0);
    CHECK_EQ(em.n_ivf, 40);
    CHECK_EQ(em.ann, FR_ANN_IVF);
    CHECK(dense(ix, "cat and kitten", 1, ap, 50) == na);
    fr_index_close(ix);

    // later writers keep building IVFs; rollback removes the uncommitted segment's files
    CHECK_EQ(fr_index_build(dir, NULL, &ix, &err), 0);
    if (!ix) return;
    add_docs(ix, 50, 90);
    CHECK_EQ(fr_index_commit(ix, &err), 0);
    CHECK_EQ(count_files(dir, ".ivf"), 2);
    add_docs(ix, 90, 130);
    CHECK_EQ(fr_index_commit(ix, NULL) < 0 ? 0 : 1, 1);  // committed: 3 IVFs
    CHECK_EQ(count_files(dir, ".ivf"), 3);
    // optimize: one segment, one new IVF, the old files gone
    CHECK_EQ(fr_index_optimize(ix, &err), 0);
    CHECK_EQ(count_files(dir, ".frv"), 1);
    CHECK_EQ(count_files(dir, ".ivf"), 1);
    CHECK_EQ(fr_index_embedding_get(ix, &em, &err), 0);
    CHECK_EQ(em.n_ivf, 130);
    ne = dense(ix, "rain on the market", 0, ex, 50);
    na = dense(ix, "rain on the market", 4, ap, 50);
    CHECK(ne == 50 && na == 50);
    for (size_t i = 0; i < ne && i < na; i++) CHECK(ex[i].doc == ap[i].doc && ex[i].score == ap[i].score);
    fr_index_close(ix);

    // a damaged IVF fails the open; without it the segment is scanned exactly
    char ivf[512];
    CHECK(find_file(dir, ".ivf", ivf, sizeof ivf));
    size_t len = 0;
    char *d = slurp(ivf, &len);
    CHECK(d != NULL);
    if (d) {
        d[len / 2] ^= 0x40;
        FILE *f = fopen(ivf, "wb");
        fwrite(d, 1, len, f);
        fclose(f);
        CHECK_EQ(fr_index_open(dir, NULL, &ix, &err), FR_ECORRUPT);
        CHECK(strstr(err.msg, ".ivf") != NULL);
        free(d);
    }
    unlink(ivf);
    CHECK_EQ(fr_index_open(dir, NULL, &ix, &err), 0);
    if (ix) {
        CHECK_EQ(fr_index_embedding_get(ix, &em, &err), 0);
        CHECK_EQ(em.n_ivf, 0);
        na = dense(ix, "rain on the market", 1, ap, 50);
        CHECK_EQ(na, 50);
        for (size_t i = 0; i < ne && i < na; i++) CHECK(ex[i].doc == ap[i].doc);
        fr_index_close(ix);
    }
    // a writer leaves a crash's leftover .ivf (no COMMIT names its vectors) as garbage
    snprintf(ivf, sizeof ivf, "%s/seg_99_999.ivf", dir);
    FILE *f = fopen(ivf, "wb");
    if (f) fclose(f);
    CHECK_EQ(fr_index_build(dir, NULL, &ix, &err), 0);
    CHECK(access(ivf, F_OK) != 0);
    fr_index_close(ix);
    rm_rf(dir);

    // an index opts in later: its backfill (fr_index_set_embedding) builds IVFs, --ann without
    // a model is refused
    if (!tmp_dir(dir, sizeof dir, "ivf2")) { CHECK(0); return; }
    fr_index_opts p = fr_index_opts_default();
    p.ann = FR_ANN_IVF;
    CHECK_EQ(fr_index_build(dir, &p, &ix, &err), FR_EINVAL);
    CHECK_EQ(fr_index_build(dir, NULL, &ix, &err), 0);
    if (!ix) return;
    add_docs(ix, 0, 40);
    CHECK_EQ(fr_index_commit(ix, &err), 0);
    fr_index_close(ix);
    p.embed_model = MODEL;
    CHECK_EQ(fr_index_build(dir, &p, &ix, &err), FR_EINVAL);  // documents but no model: backfill first
    CHECK_EQ(fr_index_build(dir, NULL, &ix, &err), 0);
    if (!ix) return;
    CHECK_EQ(fr_index_set_embedding(ix, MODEL, FR_VEC_I8, NULL, NULL, &err), 0);
    CHECK_EQ(fr_index_commit(ix, &err), 0);
    CHECK_EQ(count_files(dir, ".ivf"), 0);
    fr_index_close(ix);
    p.embed_model = NULL;
    p.ivf_lists = 1;
    CHECK_EQ(fr_index_build(dir, &p, &ix, &err), FR_EINVAL);  // 1 list: refused
    p.ivf_lists = 0;
    CHECK_EQ(fr_index_build(dir, &p, &ix, &err), 0);  // opt in (automatic lists)
    if (!ix) return;
    add_docs(ix, 40, 80);
    CHECK_EQ(fr_index_commit(ix, &err), 0);
    CHECK_EQ(count_files(dir, ".ivf"), 1);  // the new segment; the old one stays exact
    CHECK_EQ(fr_index_embedding_get(ix, &em, &err), 0);
    CHECK_EQ(em.ivf_lists, 0);
    CHECK_EQ(em.n_ivf, 40);
    // the backfill with the same model and type builds the old segment's missing IVF only
    CHECK_EQ(fr_index_set_embedding(ix, MODEL, FR_VEC_I8, NULL, NULL, &err), 0);
    CHECK_EQ(count_files(dir, ".ivf"), 2);
    CHECK_EQ(count_files(dir, ".frv"), 2);
    CHECK_EQ(fr_index_embedding_get(ix, &em, &err), 0);
    CHECK_EQ(em.n_ivf, 80);
    CHECK_EQ(fr_index_set_embedding(ix, MODEL, FR_VEC_F32, NULL, NULL, &err), 0);  // re-embed all
    CHECK_EQ(fr_index_embedding_get(ix, &em, &err), 0);
    CHECK_EQ(em.n_ivf, 80);
    CHECK_EQ(fr_index_commit(ix, &err), 0);
    CHECK_EQ(count_files(dir, ".ivf"), 2);
    CHECK_EQ(count_files(dir, ".frv"), 2);
    fr_index_close(ix);
    rm_rf(dir);
    fr__ivf_min_rows = FR__IVF_MIN_ROWS;
}

int main(void) {
    float *x = malloc((size_t)N * DIM * sizeof *x), centres[TOPICS * DIM];
    corpus(x, centres);
    char dir[256];
    test_gathered(x);
    if (tmp_dir(dir, sizeof dir, "ivfu")) {
        test_search(x, centres, dir);
        test_dup_ids(x, dir);
        rmdir(dir);
    }
    free(x);
    test_index();
    return TEST_REPORT();
}
