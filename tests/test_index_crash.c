/* test_index_crash.c — crash safety: a child process adds batches of documents and commits
 * (fsync on), reporting each acknowledged batch through a pipe; the parent SIGKILLs it at a
 * random moment, then checks that the index opens, that every acknowledged document is
 * found with its exact stored text, and that the first unacknowledged batch is either
 * wholly visible (committed just before the kill) or not at all. Every 20th batch the child
 * also optimizes, so kills land inside merges too. FR_CRASH_CYCLES overrides the 200 cycles.
 * The cycles run twice: without embeddings, then with an embedding model recorded in the
 * index, where each commit also writes the new segment's vectors file and each merge carries
 * rows over; then every acknowledged document must also have its vector: the index opens
 * with none missing (open checks each file against its segment) and each document of the
 * last acknowledged batch is its own nearest neighbour when queried with its own embedding
 * (so rows line up with documents). A third run stores int8-rescore rows after a first commit
 * of 20 documents: every vectors file, written or merged under kills, must then carry the int8
 * transform fitted on those 20 (src/index/segvec.c), and search stays exact (F32 rescoring).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "finerank.h"
#include "index/ivf.h"
#include "index_util.h"
#include "test.h"

#define BATCH 5

static void doc_json(char *buf, size_t n, int b, int i) {
    snprintf(buf, n, "{\"id\":\"b%d-%d\",\"title\":\"batch %d\",\"text\":\"document %d of batch %d "
                     "alpha%d beta%d gamma\"}", b, i, b, i, b, b % 17, i);
}

static void doc_text(char *buf, size_t n, int b, int i) {
    snprintf(buf, n, "document %d of batch %d alpha%d beta%d gamma", i, b, b % 17, i);
}

static const char *model;  // NULL: the run without embeddings
static fr_embedder *emb;   // model, opened by the parent
static fr_vec_type vtype;  // the stored rows (int8-rescore: int8 with the transform, exact scores)
#define SEED_DOCS 20       // with int8 rows: the first commit's documents, the transform's sample
static int ivf;            // the run with IVF indexes (every segment)
static long kill_ms = 60;  // a child is killed 0..kill_ms after its start

// Each document of batch b, queried with its own passage embedding, ranks first.
static int self_nearest(fr_index *rd, int b) {
    char text[600], id[64];
    float v[64];
    fr_embed_opts eo = fr_embed_opts_default();
    eo.prompt_name = "passage";
    fr_search_opts so = fr_search_opts_default();
    so.k = 1;
    for (int i = 0; i < BATCH; i++) {
        // the stored passage is "title text"
        char t[256];
        doc_text(t, sizeof t, b, i);
        snprintf(text, sizeof text, "batch %d %s", b, t);
        const char *p = text;
        fr_hit h;
        size_t n = 0;
        fr_doc d;
        if (fr_embedder_embed(emb, &p, 1, &eo, v, NULL) < 0 ||
            fr_index_search_dense(rd, v, &so, 1, &h, &n, NULL) < 0 || n != 1 ||
            fr_index_doc(rd, h.doc, &d, NULL) < 0)
            return 0;
        snprintf(id, sizeof id, "b%d-%d", b, i);
        if (strcmp(d.id, id) || fabs(h.score - 1.0) > 1e-4) return 0;
    }
    return 1;
}

static _Noreturn void child(const char *dir, int wfd, int start) {
    fr_index_opts o = fr_index_opts_default();
    o.embed_model = model;
    o.vec_type = vtype;
    o.ann = ivf ? FR_ANN_IVF : FR_ANN_NONE;
    o.ivf_lists = 2;
    fr_index *ix = NULL;
    if (fr_index_build(dir, &o, &ix, NULL) < 0) _exit(3);
    char buf[512];
    for (int b = start;; b++) {
        for (int i = 0; i < BATCH; i++) {
            doc_json(buf, sizeof buf, b, i);
            if (fr_index_add(ix, buf, strlen(buf), NULL) < 0) _exit(4);
        }
        if (fr_index_commit(ix, NULL) < 0) _exit(5);
        if (write(wfd, &b, sizeof b) != sizeof b) _exit(6);
        if (b % 20 == 19 && fr_index_optimize(ix, NULL) < 0) _exit(7);
    }
}

static void run(int cycles) {
    char dir[256];
    if (!tmp_dir(dir, sizeof dir, "crash")) { CHECK(0); return; }
    fr_index_opts o = fr_index_opts_default();
    o.embed_model = model;
    o.vec_type = vtype;
    o.ann = ivf ? FR_ANN_IVF : FR_ANN_NONE;
    o.ivf_lists = 2;
    fr_index *ix = NULL;
    fr_error err = {0};
    CHECK_EQ(fr_index_build(dir, &o, &ix, &err), 0);  // an empty first commit
    char buf[512], want[512];
    // int8 rows: a first segment large enough to fit the int8 transform, which every later
    // (5-document) segment inherits and every merge keeps
    for (int i = 0; vtype != FR_VEC_F32 && i < SEED_DOCS; i++) {
        snprintf(buf, sizeof buf, "{\"id\":\"seed%d\",\"text\":\"seed document %d w%d\"}", i, i, i * 7 % 13);
        CHECK_EQ(fr_index_add(ix, buf, strlen(buf), &err), 0);
    }
    if (vtype != FR_VEC_F32) CHECK_EQ(fr_index_commit(ix, &err), 0);
    fr_index_close(ix);
    uint64_t seed = (uint64_t)time(NULL);
    int acked = -1, opened = 0, missing = 0, partial = 0, bad_text = 0, child_fail = 0;
    int bad_vec = 0, unfitted = 0;
    for (int c = 0; c < cycles; c++) {
        int p[2];
        if (pipe(p) < 0) { CHECK(0); break; }
        pid_t pid = fork();
        if (pid == 0) {
            close(p[0]);
            child(dir, p[1], acked + 1);
        }
        close(p[1]);
        long ns = (long)(rng_next(&seed) % (uint64_t)(kill_ms * 1000000));
        struct timespec ts = {ns / 1000000000, ns % 1000000000};  // 0..kill_ms
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int st;
        waitpid(pid, &st, 0);
        if (!(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)) child_fail++;
        int b;
        while (read(p[0], &b, sizeof b) == sizeof b)
            if (b > acked) acked = b;
        close(p[0]);
        fr_index *rd = NULL;
        if (fr_index_open(dir, &o, &rd, &err) < 0) {
            fprintf(stderr, "cycle %d: open failed: %s\n", c, err.msg);
            continue;
        }
        opened++;
        for (int bb = 0; bb <= acked; bb++)
            for (int i = 0; i < BATCH; i++) {
                uint32_t d;
                snprintf(buf, sizeof buf, "b%d-%d", bb, i);
                fr_doc doc;
                if (fr_index_find(rd, buf, &d, NULL) < 0) { missing++; continue; }
                doc_text(want, sizeof want, bb, i);
                if (fr_index_doc(rd, d, &doc, NULL) < 0 || strcmp(doc.text, want)) bad_text++;
            }
        int seen = 0;
        for (int i = 0; i < BATCH; i++) {
            uint32_t d;
            snprintf(buf, sizeof buf, "b%d-%d", acked + 1, i);
            seen += fr_index_find(rd, buf, &d, NULL) == 0;
        }
        if (seen != 0 && seen != BATCH) partial++;
        if (model) {
            fr_index_embedding em;
            if (fr_index_embedding_get(rd, &em, NULL) < 0 || em.n_missing ||
                (ivf && em.n_ivf != em.n_vectors) ||
                em.n_vectors < (uint64_t)(acked + 1) * BATCH || (acked >= 0 && !self_nearest(rd, acked)))
                bad_vec++;
            int files = 0;
            if (vtype != FR_VEC_F32 && files_fitted(dir, SEED_DOCS, &files) != files) unfitted++;
        }
        fr_index_close(rd);
    }
    CHECK_EQ(opened, cycles);
    CHECK_EQ(missing, 0);
    CHECK_EQ(bad_text, 0);
    CHECK_EQ(partial, 0);
    CHECK_EQ(child_fail, 0);
    CHECK_EQ(bad_vec, 0);
    CHECK_EQ(unfitted, 0);  // every vectors file has the first segment's transform
    CHECK(acked >= 10);  // the children made progress
    printf("crash test%s%s: %d cycles, %d batches acknowledged\n",
           !model ? "" : vtype == FR_VEC_F32 ? " (with vectors)" : " (with int8-rescore vectors, one transform)",
           ivf ? " and IVF" : "", cycles, acked + 1);
    rm_rf(dir);
}

int main(void) {
    int cycles = getenv("FR_CRASH_CYCLES") ? atoi(getenv("FR_CRASH_CYCLES")) : 200;
    run(cycles);
    model = "tests/data/models/embed-bert-cls";
    fr_error err;
    CHECK_EQ(fr_embedder_open(model, NULL, &emb, &err), 0);
    if (emb) run(cycles / 2);
    vtype = FR_VEC_I8_RESCORE;
    if (emb) run(cycles / 4);
    vtype = FR_VEC_F32;
    ivf = 1;  // every segment (>= BATCH rows) also gets an IVF, written before its COMMIT
    fr__ivf_min_rows = 1;
    kill_ms = 150;  // each commit also runs k-means: give children time to get through some
    if (emb) run(cycles / 2);
    fr_embedder_free(emb);
    return TEST_REPORT();
}
