/* test_segvec.c — embeddings stored with the index, per segment (src/index/segvec.c):
 * dense search over several segments equals a brute-force scan of vectors embedded directly
 * with the same model (so rows line up with documents); deleted and replaced documents never
 * come back; optimize carries rows over unchanged; an index built without a model keeps
 * working for BM25 and gets vectors by backfill; a different model is refused; damaged,
 * truncated or mismatched vector files give clean errors; the COMMIT records the model; the
 * int8 transform is fitted once, inherited by later segments and kept by optimize (test_xform).
 * Model: the tiny random-weight bi-encoder tests/data/models/embed-bert-cls (CLS pooling,
 * normalised, query prompt "Represent this sentence ...", empty passage prompt).
 */
#include <dirent.h>
#include <fcntl.h>

#include "finerank.h"
#include "index/vectors.h"
#include "index_util.h"
#include "test.h"

static const char *MODEL = "tests/data/models/embed-bert-cls";
#define NDOC 12

static const char *texts[NDOC] = {
    "the cat sat on the mat", "dogs bark loudly at night", "stock markets fell sharply",
    "a kitten is a young cat", "rain is expected tomorrow", "the bank raised interest rates",
    "bm25 is a ranking function", "dense retrieval uses embeddings", "cats chase mice",
    "the recipe needs two eggs", "football season starts soon", "gardens need water"};

static void add(fr_index *ix, int i, const char *text) {
    char buf[256];
    snprintf(buf, sizeof buf, "{\"id\":\"d%d\",\"text\":\"%s\",\"source\":\"%s\"}", i, text,
             i % 2 ? "odd" : "even");
    CHECK_EQ(fr_index_add(ix, buf, strlen(buf), NULL), 0);
}

// Brute force: embed every live document and the query directly, score by dot product.
// OUT: ids (best first) of the top k live docs among those with live[i] set.
static size_t brute(fr_embedder *e, const char *query, const char *const *txt, const int *live,
                    size_t k, int *ids, double *scores) {
    int dim = fr_embedder_dim(e);
    float q[64], v[64];
    fr_embed_opts eo = fr_embed_opts_default();
    eo.prompt_name = "query";
    if (fr_embedder_embed(e, &query, 1, &eo, q, NULL) < 0) return 0;
    eo.prompt_name = "passage";
    double s[NDOC];
    for (int i = 0; i < NDOC; i++) {
        s[i] = -1e9;
        if (!live[i] || fr_embedder_embed(e, &txt[i], 1, &eo, v, NULL) < 0) continue;
        double d = 0;
        for (int j = 0; j < dim; j++) d += (double)q[j] * v[j];
        s[i] = d;
    }
    size_t n = 0;
    for (; n < k; n++) {
        int best = -1;
        for (int i = 0; i < NDOC; i++) {
            int taken = 0;
            for (size_t j = 0; j < n; j++) taken |= ids[j] == i;
            if (live[i] && !taken && (best < 0 || s[i] > s[best])) best = i;
        }
        if (best < 0) break;
        ids[n] = best;
        scores[n] = s[best];
    }
    return n;
}

// Dense search through the index; checks it against brute() (ids in order, scores 1e-5).
static void check_dense(fr_index *ix, fr_embedder *e, const char *query, const char *const *txt,
                        const int *live, size_t k) {
    float q[64];
    fr_hit hits[NDOC];
    size_t n = 0;
    fr_error err;
    fr_search_opts so = fr_search_opts_default();
    so.k = k;
    CHECK_EQ(fr_index_embed_query(ix, query, q, &err), 0);
    CHECK_EQ(fr_index_search_dense(ix, q, &so, 1, hits, &n, &err), 0);
    int ids[NDOC];
    double sc[NDOC];
    size_t nb = brute(e, query, txt, live, k, ids, sc);
    CHECK_EQ(n, nb);
    for (size_t i = 0; i < n && i < nb; i++) {
        fr_doc d;
        CHECK_EQ(fr_index_doc(ix, hits[i].doc, &d, NULL), 0);
        CHECK(!d.deleted);
        char want[16];
        snprintf(want, sizeof want, "d%d", ids[i]);
        if (strcmp(d.id, want) || fabs(hits[i].score - sc[i]) > 1e-5)
            fprintf(stderr, "rank %zu: %s %.6f, want %s %.6f\n", i, d.id, hits[i].score, want, sc[i]);
        CHECK_STR(d.id, want);
        CHECK(fabs(hits[i].score - sc[i]) < 1e-5);
    }
}

// The name of the first file in dir ending in suffix. OUT: out.
static void test_segments(fr_embedder *e) {
    char dir[256];
    if (!tmp_dir(dir, sizeof dir, "segvec")) { CHECK(0); return; }
    fr_index_opts o = fr_index_opts_default();
    o.embed_model = MODEL;
    o.threads = 1;
    fr_index *ix = NULL;
    fr_error err;
    CHECK_EQ(fr_index_build(dir, &o, &ix, &err), 0);
    const char *txt[NDOC];
    int live[NDOC];
    for (int i = 0; i < NDOC; i++) { txt[i] = texts[i]; live[i] = 1; }
    for (int i = 0; i < 6; i++) add(ix, i, texts[i]);
    CHECK_EQ(fr_index_commit(ix, &err), 0);
    for (int i = 6; i < NDOC; i++) add(ix, i, texts[i]);
    CHECK_EQ(fr_index_commit(ix, &err), 0);
    CHECK_EQ(count_files(dir, ".frv"), 2);
    // deletions and an update (the old row must not come back; the new text is searched)
    CHECK_EQ(fr_index_delete(ix, "d3", &err), 0);
    live[3] = 0;
    add(ix, 8, "a kitten is a young cat");  // d8 now holds d3's old text
    txt[8] = "a kitten is a young cat";
    CHECK_EQ(fr_index_commit(ix, &err), 0);
    fr_index_close(ix);

    fr_index *rd = NULL;
    CHECK_EQ(fr_index_open(dir, NULL, &rd, &err), 0);
    fr_index_embedding em;
    CHECK_EQ(fr_index_embedding_get(rd, &em, &err), 0);
    CHECK_STR(em.model, MODEL);
    CHECK_EQ(em.dim, 32);
    CHECK_EQ(em.type, FR_VEC_F32);
    CHECK_STR(em.query_prompt, "Represent this sentence for searching relevant passages: ");
    CHECK_STR(em.doc_prompt, "");
    CHECK_EQ(em.n_vectors, 13);  // 12 + the update's new row; deleted rows stay
    CHECK_EQ(em.n_missing, 0);
    check_dense(rd, e, "young cat", txt, live, 10);
    check_dense(rd, e, "money and banks", txt, live, NDOC);
    // filters apply to dense search too
    {
        float q[64];
        fr_hit h[NDOC];
        size_t n = 0;
        fr_search_opts so = fr_search_opts_default();
        so.k = NDOC;
        so.source = "odd";
        CHECK_EQ(fr_index_embed_query(rd, "young cat", q, &err), 0);
        CHECK_EQ(fr_index_search_dense(rd, q, &so, 1, h, &n, &err), 0);
        CHECK_EQ(n, 5);  // d1 d5 d7 d9 d11 (d3 deleted)
        for (size_t i = 0; i < n; i++) {
            fr_doc d;
            fr_index_doc(rd, h[i].doc, &d, NULL);
            CHECK(d.source && !strcmp(d.source, "odd") && !d.deleted);
        }
    }
    fr_index_close(rd);

    // optimize carries the live rows over without re-embedding: identical scores
    float q[64];
    fr_hit before[NDOC], after[NDOC];
    size_t nb = 0, na = 0;
    fr_search_opts so = fr_search_opts_default();
    so.k = NDOC;
    fr_index_opts o2 = fr_index_opts_default();
    o2.threads = 2;  // optimize writes documents and postings on two threads
    CHECK_EQ(fr_index_build(dir, &o2, &ix, &err), 0);
    CHECK_EQ(fr_index_embed_query(ix, "dense retrieval", q, &err), 0);
    CHECK_EQ(fr_index_search_dense(ix, q, &so, 1, before, &nb, &err), 0);
    CHECK_EQ(fr_index_optimize(ix, &err), 0);
    CHECK_EQ(fr_index_search_dense(ix, q, &so, 1, after, &na, &err), 0);
    CHECK_EQ(na, nb);
    CHECK_EQ(na, NDOC - 1);
    for (size_t i = 0; i < na && i < nb; i++) {
        fr_doc x;
        fr_index_doc(ix, after[i].doc, &x, NULL);
        CHECK(after[i].score == before[i].score);
        CHECK(x.id && !x.deleted);
    }
    CHECK_EQ(count_files(dir, ".frv"), 1);
    // a different model is refused on an index that has one
    fr_index_close(ix);
    o.embed_model = "tests/data/models/embed-xlmr-mean";
    CHECK_EQ(fr_index_build(dir, &o, &ix, &err), FR_EINVAL);
    CHECK(strstr(err.msg, "embed-bert-cls") != NULL);

    // damage: a flipped byte (CRC), a truncated file, a file of the wrong segment size
    char vf[4400];
    CHECK(find_file(dir, ".frv", vf, sizeof vf));
    FILE *f = fopen(vf, "r+b");
    CHECK(f != NULL);
    if (f) {
        fseek(f, 100, SEEK_SET);
        int c = fgetc(f);
        fseek(f, 100, SEEK_SET);
        fputc(c ^ 0x40, f);
        fclose(f);
    }
    CHECK_EQ(fr_index_open(dir, NULL, &rd, &err), FR_ECORRUPT);
    CHECK(strstr(err.msg, ".frv") != NULL);
    fr_index_opts nv = fr_index_opts_default();
    nv.verify_checksums = 0;  // unchecked: opens and searches in bounds
    CHECK_EQ(fr_index_open(dir, &nv, &rd, &err), 0);
    if (rd) {
        CHECK_EQ(fr_index_search_dense(rd, q, &so, 1, after, &na, &err), 0);
        CHECK_EQ(na, NDOC - 1);
        fr_index_close(rd);
    }
    CHECK_EQ(truncate(vf, 300), 0);
    CHECK_EQ(fr_index_open(dir, &nv, &rd, &err), FR_ECORRUPT);
    CHECK(strstr(err.msg, "do not fit") != NULL);
    CHECK_EQ(truncate(vf, 10), 0);
    CHECK_EQ(fr_index_open(dir, &nv, &rd, &err), FR_ECORRUPT);
    CHECK_EQ(unlink(vf), 0);
    CHECK_EQ(fr_index_open(dir, NULL, &rd, &err), FR_ENOTFOUND);
    CHECK(strstr(err.msg, ".frv") != NULL);
    rm_rf(dir);
}

// An index without a model: BM25 works, dense is a clear error; backfill adds vectors (and a
// vec type change re-embeds every segment); add after backfill embeds the new documents.
static void test_backfill(fr_embedder *e) {
    char dir[256];
    if (!tmp_dir(dir, sizeof dir, "segvec_bf")) { CHECK(0); return; }
    fr_index *ix = NULL;
    fr_error err;
    CHECK_EQ(fr_index_build(dir, NULL, &ix, &err), 0);
    for (int i = 0; i < 6; i++) add(ix, i, texts[i]);
    CHECK_EQ(fr_index_commit(ix, &err), 0);
    fr_hit h[NDOC];
    size_t n = 0;
    fr_search_opts so = fr_search_opts_default();
    CHECK_EQ(fr_index_search(ix, "cat", -1, &so, h, &n, &err), 0);
    CHECK_EQ(n, 2);
    float q[64] = {0};
    CHECK_EQ(fr_index_search_dense(ix, q, &so, 1, h, &n, &err), FR_EINVAL);
    CHECK(strstr(err.msg, "finerank embed") != NULL);
    CHECK_EQ(fr_index_embed_query(ix, "cat", q, &err), FR_EINVAL);
    fr_index_embedding em;
    CHECK_EQ(fr_index_embedding_get(ix, &em, &err), FR_ENOTFOUND);
    // a model on an index with documents: refused with the backfill's name
    fr_index_close(ix);
    fr_index_opts o = fr_index_opts_default();
    o.embed_model = MODEL;
    CHECK_EQ(fr_index_build(dir, &o, &ix, &err), FR_EINVAL);
    CHECK(strstr(err.msg, "finerank embed") != NULL);
    CHECK_EQ(fr_index_build(dir, NULL, &ix, &err), 0);
    CHECK_EQ(fr_index_set_embedding(ix, MODEL, FR_VEC_F32, NULL, NULL, &err), 0);
    for (int i = 6; i < NDOC; i++) add(ix, i, texts[i]);
    CHECK_EQ(fr_index_commit(ix, &err), 0);
    fr_index_close(ix);
    CHECK_EQ(count_files(dir, ".frv"), 2);
    fr_index *rd = NULL;
    CHECK_EQ(fr_index_open(dir, NULL, &rd, &err), 0);
    const char *txt[NDOC];
    int live[NDOC];
    for (int i = 0; i < NDOC; i++) { txt[i] = texts[i]; live[i] = 1; }
    check_dense(rd, e, "young cat", txt, live, 5);
    fr_index_close(rd);
    // int8 rows: every segment re-embedded, the old files removed after the commit
    CHECK_EQ(fr_index_build(dir, NULL, &ix, &err), 0);
    CHECK_EQ(fr_index_set_embedding(ix, MODEL, FR_VEC_I8, NULL, NULL, &err), 0);
    CHECK_EQ(fr_index_commit(ix, &err), 0);
    CHECK_EQ(fr_index_embedding_get(ix, &em, &err), 0);
    CHECK_EQ(em.type, FR_VEC_I8);
    CHECK_EQ(em.n_vectors, NDOC);
    so.k = 3;
    CHECK_EQ(fr_index_embed_query(ix, "young cat", q, &err), 0);
    CHECK_EQ(fr_index_search_dense(ix, q, &so, 1, h, &n, &err), 0);
    CHECK_EQ(n, 3);
    fr_index_close(ix);
    CHECK_EQ(count_files(dir, ".frv"), 2);
    rm_rf(dir);
}

// Every vectors file of dir as a view, in name order. OUT: v[0..n) (free with xf_free), the
// mappings in bufs. Returns n.
static int xf_open(const char *dir, fr_vecs **v, char **bufs, int cap) {
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d)) && n < cap) {
        size_t l = strlen(e->d_name), len = 0;
        if (l < 5 || strcmp(e->d_name + l - 4, ".frv")) continue;
        char p[4400];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        bufs[n] = fr_test_slurp(p, &len);
        if (bufs[n] && fr__vecs_view(bufs[n], len, p, 1, &v[n], NULL, NULL) == 0) n++;
        else free(bufs[n]);
    }
    if (d) closedir(d);
    return n;
}

static void xf_free(fr_vecs **v, char **bufs, int n) {
    for (int i = 0; i < n; i++) {
        fr__vecs_view_free(v[i]);
        free(bufs[i]);
    }
}

static void add_gen(fr_index *ix, int lo, int hi, uint64_t *s) {
    char buf[2048], id[32];
    for (int i = lo; i < hi; i++) {
        snprintf(id, sizeof id, "g%d", i);
        gen_doc(buf, sizeof buf, id, s, 12, 300);
        CHECK_EQ(fr_index_add(ix, buf, strlen(buf), NULL), 0);
    }
}

// The int8 transform (src/index/segvec.c) through the index: a first segment of 8 documents
// (too few: none), one of 40 (fits its own), one of 20 (inherits the 40's, bit for bit); an
// optimize merges all three under the 40's transform (the 8 rows re-quantised) and dense
// search after it is within int8 error of before; a backfill to int8-rescore (then int8-refine)
// re-embeds under one new transform (the merged segment's, fitted on its 68 rows).
static void test_xform(void) {
    char dir[256];
    if (!tmp_dir(dir, sizeof dir, "segvec_xf")) { CHECK(0); return; }
    fr_index_opts o = fr_index_opts_default();
    o.embed_model = MODEL;
    o.vec_type = FR_VEC_I8;
    o.threads = 1;
    fr_index *ix = NULL;
    fr_error err;
    uint64_t s = 42;
    CHECK_EQ(fr_index_build(dir, &o, &ix, &err), 0);
    int sizes[3] = {8, 40, 20}, lo = 0;
    for (int k = 0; k < 3; k++) {
        add_gen(ix, lo, lo + sizes[k], &s);
        lo += sizes[k];
        CHECK_EQ(fr_index_commit(ix, &err), 0);
    }
    fr_vecs *v[8];
    char *bufs[8];
    int n = xf_open(dir, v, bufs, 8), by_fit[3] = {-1, -1, -1};
    CHECK_EQ(n, 3);
    for (int i = 0; i < n; i++) {
        size_t rows = fr_vecs_count(v[i]);
        int k = rows == 8 ? 0 : rows == 40 ? 1 : 2;
        by_fit[k] = i;
    }
    if (n == 3 && by_fit[0] >= 0 && by_fit[1] >= 0 && by_fit[2] >= 0) {
        CHECK_EQ(fr__vecs_fit_n(v[by_fit[0]]), 0);
        CHECK_EQ(fr__vecs_fit_n(v[by_fit[1]]), 40);
        CHECK_EQ(fr__vecs_fit_n(v[by_fit[2]]), 40);
        CHECK(fr__vecs_same_xform(v[by_fit[1]], v[by_fit[2]]));
    }
    float q[64];
    fr_hit before[68], after[68];
    size_t nb = 0, na = 0;
    fr_search_opts so = fr_search_opts_default();
    so.k = 68;
    CHECK_EQ(fr_index_embed_query(ix, "w3 w7 w12", q, &err), 0);
    CHECK_EQ(fr_index_search_dense(ix, q, &so, 1, before, &nb, &err), 0);
    CHECK_EQ(fr_index_optimize(ix, &err), 0);
    CHECK_EQ(fr_index_search_dense(ix, q, &so, 1, after, &na, &err), 0);
    CHECK(na == 68 && nb == 68);
    fr_vecs *m[8];
    char *mb[8];
    int nm = xf_open(dir, m, mb, 8);
    CHECK_EQ(nm, 1);
    if (nm == 1 && n == 3 && by_fit[1] >= 0) CHECK(fr__vecs_same_xform(m[0], v[by_fit[1]]));
    // the same documents and scores within int8 error (the 8 re-quantised rows moved a little)
    double worst = 0;
    size_t same_doc = 0;
    for (size_t i = 0; i < na && i < nb; i++) {
        fr_doc a, b;
        CHECK_EQ(fr_index_doc(ix, after[i].doc, &a, NULL), 0);
        for (size_t j = 0; j < nb; j++) {
            CHECK_EQ(fr_index_doc(ix, before[j].doc, &b, NULL), 0);  // doc numbers change: by id
            if (a.id && b.id && !strcmp(a.id, b.id)) {
                same_doc++;
                worst = fabs(after[i].score - before[j].score) > worst ? fabs(after[i].score - before[j].score) : worst;
            }
        }
    }
    printf("test_segvec: int8 transform through optimize: %zu of %zu documents found again, max score "
           "change %.2g\n", same_doc, na, worst);
    CHECK_EQ(same_doc, 68);
    CHECK(worst < 0.02);
    xf_free(m, mb, nm);
    xf_free(v, bufs, n);
    // backfill: every segment re-embedded as int8-rescore, one transform fitted to the new rows;
    // then as int8-refine: the same (and dense search below finds every document)
    static const fr_vec_type refill[] = {FR_VEC_I8_RESCORE, FR_VEC_I8_REFINE};
    for (int t = 0; t < 2; t++) {
        CHECK_EQ(fr_index_set_embedding(ix, MODEL, refill[t], NULL, NULL, &err), 0);
        CHECK_EQ(fr_index_commit(ix, &err), 0);
        nm = xf_open(dir, m, mb, 8);
        CHECK_EQ(nm, 1);
        if (nm == 1) {
            CHECK_EQ(fr__vecs_type(m[0]), refill[t]);
            CHECK_EQ(fr__vecs_fit_n(m[0]), 68);
        }
        xf_free(m, mb, nm);
    }
    CHECK_EQ(fr_index_search_dense(ix, q, &so, 1, after, &na, &err), 0);
    CHECK_EQ(na, 68);
    fr_index_close(ix);
    rm_rf(dir);
}

int main(void) {
    fr_embedder *e = NULL;
    fr_error err;
    if (fr_embedder_open(MODEL, NULL, &e, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        CHECK(0);
        return TEST_REPORT();
    }
    test_segments(e);
    test_backfill(e);
    test_xform();
    fr_embedder_free(e);
    return TEST_REPORT();
}
