/* test_index_faults.c — fault injection: the N-th write / fsync / rename / open of a commit
 * fails with ENOSPC or EIO (through the io layer's test hook, src/index/io.h), for every N
 * until the commit gets through. Each failure must be a clean FR_ENOSPC / FR_EIO with a
 * message naming the file, the previous commit must stay intact (all its documents, none of
 * the failed commit's), and a later writer must commit normally. The same for optimize.
 * Everything runs twice: without embeddings, and with an embedding model recorded, where
 * every segment flush and merge also writes, fsyncs and renames a vectors file; then the
 * intact state also has every document's vector (none missing, dense search finds exactly
 * the ten committed documents). A third run adds IVF indexes (fr_index_opts.ann, the row
 * threshold lowered to 1): every flush and merge also writes an .ivf, and the intact state has
 * an IVF for every vectors file (none missing, none that fails its checks). */
#include <errno.h>

#include "finerank.h"
#include "index/io.h"
#include "index/ivf.h"
#include "index_util.h"
#include "test.h"

static int fail_op = -1, fail_at = 0, count = 0, fail_errno = ENOSPC;
static const char *const op_names[] = {"write", "fsync", "rename", "open"};  // fr__io_op order

// The hook fails the at-th operation of kind op (counted from now) with errno e.
static void arm(int op, int at, int e) {
    fail_op = op;
    fail_at = at;
    count = 0;
    fail_errno = e;
}
static const char *model;  // NULL: the run without embeddings
static int ivf;            // the run with IVF indexes (with model)

// With a model: no segment lacks vectors, and dense search returns the n live documents.
static int vectors_ok(fr_index *rd, size_t n_live) {
    if (!model) return 1;
    fr_index_embedding em;
    float q[64];
    fr_hit h[40];
    size_t n = 0;
    fr_search_opts so = fr_search_opts_default();
    so.k = 40;
    return fr_index_embedding_get(rd, &em, NULL) == 0 && em.n_missing == 0 &&
           (!ivf || em.n_ivf == em.n_vectors) && fr_index_embed_query(rd, "stable", q, NULL) == 0 &&
           fr_index_search_dense(rd, q, &so, 1, h, &n, NULL) == 0 && n == n_live;
}

static int hook(fr__io_op op, const char *path) {
    if ((int)op != fail_op) return 0;
    return ++count == fail_at ? fail_errno : 0;
}

static int add_doc_e(fr_index *ix, const char *id, const char *text, fr_error *err) {
    char buf[256];
    snprintf(buf, sizeof buf, "{\"id\":\"%s\",\"text\":\"%s\"}", id, text);
    return fr_index_add(ix, buf, strlen(buf), err);
}
static int add_doc(fr_index *ix, const char *id, const char *text) {
    return add_doc_e(ix, id, text, NULL);
}

// The failed commit got through completely (its COMMIT was renamed into place before the
// directory fsync failed): every new document and the deletion are visible.
static int state_new(const char *dir) {
    fr_index *rd = NULL;
    fr_index_opts o = fr_index_opts_default();
    if (fr_index_open(dir, &o, &rd, NULL) < 0) return 0;
    fr_hit h[30];
    size_t n = 0;
    fr_search_opts so = fr_search_opts_default();
    so.k = 30;
    int ok = fr_index_search(rd, "volatile", -1, &so, h, &n, NULL) == 0 && n == 20;
    uint32_t d;
    ok = ok && fr_index_find(rd, "base3", &d, NULL) == FR_ENOTFOUND && vectors_ok(rd, 29);
    fr_index_close(rd);
    return ok;
}

// The committed state: base0..base9 present with their text, no "new*" document.
static int state_intact(const char *dir) {
    fr_index *rd = NULL;
    fr_index_opts o = fr_index_opts_default();
    if (fr_index_open(dir, &o, &rd, NULL) < 0) return 0;
    int ok = 1;
    char id[32];
    for (int i = 0; i < 10; i++) {
        uint32_t d;
        fr_doc doc;
        snprintf(id, sizeof id, "base%d", i);
        if (fr_index_find(rd, id, &d, NULL) < 0 || fr_index_doc(rd, d, &doc, NULL) < 0 ||
            strcmp(doc.text, "stable text")) ok = 0;
    }
    fr_hit h[10];
    size_t n = 0;
    fr_search_opts so = fr_search_opts_default();
    if (fr_index_search(rd, "volatile", -1, &so, h, &n, NULL) < 0 || n != 0) ok = 0;
    if (fr_index_search(rd, "stable", -1, &so, h, &n, NULL) < 0 || n != 10) ok = 0;
    if (!vectors_ok(rd, 10)) ok = 0;
    fr_index_close(rd);
    return ok;
}

static void run(void) {
    char dir[256];
    if (!tmp_dir(dir, sizeof dir, "faults")) { CHECK(0); return; }
    fr_index_opts o = fr_index_opts_default();
    o.embed_model = model;
    o.ann = ivf ? FR_ANN_IVF : FR_ANN_NONE;
    o.ivf_lists = 2;
    fr_index *ix = NULL;
    fr_error err = {0};
    CHECK_EQ(fr_index_build(dir, &o, &ix, &err), 0);
    char id[32];
    for (int i = 0; i < 10; i++) {
        snprintf(id, sizeof id, "base%d", i);
        add_doc(ix, id, "stable text");
    }
    CHECK_EQ(fr_index_commit(ix, &err), 0);
    fr_index_close(ix);
    CHECK(state_intact(dir));
    fr__io_fault = hook;
    for (int op = 0; op < FR__IO_N_OPS; op++) {
        int failures = 0, clean = 0, intact = 0;
        for (int n = 1; n < 100; n++) {
            arm(op, n, n % 2 ? ENOSPC : EIO);
            ix = NULL;
            int rc = fr_index_build(dir, &o, &ix, &err);
            int in_commit = 0;
            for (int i = 0; rc == 0 && i < 20; i++) {
                snprintf(id, sizeof id, "new%d", i);
                rc = add_doc_e(ix, id, "volatile text", &err);
            }
            if (rc == 0) rc = fr_index_delete(ix, "base3", &err);
            if (rc == 0) { in_commit = 1; rc = fr_index_commit(ix, &err); }
            fail_op = -1;
            if (rc == 0) {  // the fault was never reached: undo and move to the next op
                for (int i = 0; i < 20; i++) {
                    snprintf(id, sizeof id, "new%d", i);
                    fr_index_delete(ix, id, NULL);
                }
                add_doc(ix, "base3", "stable text");
                CHECK_EQ(fr_index_commit(ix, &err), 0);
                fr_index_close(ix);
                break;
            }
            failures++;
            if ((rc == FR_ENOSPC || rc == FR_EIO) && strstr(err.msg, op_names[op]) && strstr(err.msg, dir))
                clean++;
            else
                fprintf(stderr, "%s #%d: rc %d: %s\n", op_names[op], n, rc, err.msg);
            fr_index_close(ix);
            if (state_intact(dir)) intact++;
            else if (in_commit && op == FR__IO_FSYNC && state_new(dir)) {
                // the directory fsync after the rename failed: durability unknown, reported
                // as an error, but the index is consistent. Restore the base state.
                intact++;
                ix = NULL;
                CHECK_EQ(fr_index_build(dir, &o, &ix, &err), 0);
                for (int i = 0; i < 20; i++) {
                    snprintf(id, sizeof id, "new%d", i);
                    fr_index_delete(ix, id, NULL);
                }
                add_doc(ix, "base3", "stable text");
                CHECK_EQ(fr_index_commit(ix, &err), 0);
                fr_index_close(ix);
            }
        }
        CHECK(failures >= 1);
        CHECK_EQ(clean, failures);
        CHECK_EQ(intact, failures);
        printf("%s%s: %d injected failures, all clean, last commit intact\n", op_names[op],
               ivf ? " (with vectors and IVF)" : model ? " (with vectors)" : "", failures);
    }
    // optimize under faults: the index stays at the last commit (its documents are those of
    // the merged segment, so the state is the same whether or not the merge's COMMIT got
    // through; a failed directory fsync after that COMMIT's rename must not remove the
    // merged files it names)
    int opt_failures = 0, opt_intact = 0;
    for (int op = 0; op < FR__IO_N_OPS; op++)
    for (int n = 1; n < 50; n++) {
        arm(op, n, fail_errno);  // the errno the build loop above left
        ix = NULL;
        int rc = fr_index_build(dir, &o, &ix, &err);
        if (rc == 0) {
            add_doc(ix, "newx", "volatile");
            fr_index_delete(ix, "newx", NULL);
            rc = fr_index_optimize(ix, &err);
        }
        fail_op = -1;
        fr_index_close(ix);
        if (rc == 0) break;
        opt_failures++;
        if (state_intact(dir)) opt_intact++;
        else fprintf(stderr, "optimize, %s #%d: not intact after: %s\n", op_names[op], n, err.msg);
    }
    CHECK_EQ(opt_intact, opt_failures);
    fr__io_fault = NULL;
    CHECK(state_intact(dir));
    // and a normal writer commits afterwards
    CHECK_EQ(fr_index_build(dir, &o, &ix, &err), 0);
    CHECK_EQ(add_doc(ix, "after", "works"), 0);
    CHECK_EQ(fr_index_commit(ix, &err), 0);
    fr_index_close(ix);
    rm_rf(dir);
}

// The backfill's index: NBASE documents without a model in two segments, of 17 (enough rows
// for the int8 transform: the backfill fits it there) and 3 (which inherit it).
#define NBASE 20
static void base_index(const char *dir, const fr_index_opts *o) {
    fr_index *ix = NULL;
    fr_error err;
    char id[32], text[64];
    CHECK_EQ(fr_index_build(dir, o, &ix, &err), 0);
    for (int i = 0; i < NBASE; i++) {
        snprintf(id, sizeof id, "base%d", i);
        snprintf(text, sizeof text, "stable text w%d w%d", i, i * 7 % 11);
        add_doc(ix, id, text);
        if (i == 16) CHECK_EQ(fr_index_commit(ix, &err), 0);
    }
    CHECK_EQ(fr_index_commit(ix, &err), 0);
    fr_index_close(ix);
}

// The backfill (fr_index_set_embedding + commit) under faults: every injected failure is a
// clean error and the index stays at its last commit (no model, every document) — or, when
// only the directory fsync after COMMIT's rename failed, has the model with every vector.
// dir emptied and rebuilt as base_index makes it, with no fault injected meanwhile; the hook
// is re-armed afterwards.
static void rebase(const char *dir, const fr_index_opts *o) {
    rm_rf(dir);
    CHECK(mkdir(dir, 0700) == 0);
    fr__io_fault = NULL;
    base_index(dir, o);
    fr__io_fault = hook;
}

static void run_backfill(void) {
    char dir[256];
    if (!tmp_dir(dir, sizeof dir, "faults_bf")) { CHECK(0); return; }
    fr_index_opts o = fr_index_opts_default();
    fr_index *ix = NULL;
    fr_error err = {0};
    base_index(dir, &o);
    const char *emb = "tests/data/models/embed-bert-cls";
    fr__io_fault = hook;
    for (int op = 0; op < FR__IO_N_OPS; op++) {
        int failures = 0, clean = 0, intact = 0;
        for (int n = 1; n < 100; n++) {
            arm(op, n, n % 2 ? ENOSPC : EIO);
            ix = NULL;
            int rc = fr_index_build(dir, &o, &ix, &err);
            if (rc == 0) rc = fr_index_set_embedding(ix, emb, FR_VEC_I8, NULL, NULL, &err);
            if (rc == 0) rc = fr_index_commit(ix, &err);
            fail_op = -1;
            fr_index_close(ix);
            fr_index *rd = NULL;
            fr_index_embedding em;
            int opened = fr_index_open(dir, &o, &rd, NULL) == 0;
            int has = opened && fr_index_embedding_get(rd, &em, NULL) == 0;
            fr_hit h[NBASE];
            size_t nh = 0;
            fr_search_opts so = fr_search_opts_default();
            so.k = NBASE;
            int docs = opened && fr_index_search(rd, "stable", -1, &so, h, &nh, NULL) == 0 && nh == NBASE;
            model = emb;
            int vecs = has && em.n_missing == 0 && em.n_vectors == NBASE && vectors_ok(rd, NBASE);
            model = NULL;
            fr_index_close(rd);
            if (rc == 0) {
                CHECK(docs && vecs);
                CHECK_EQ(files_fitted(dir, 17, NULL), 2);  // the 17's transform, inherited by the 3
                break;
            }
            failures++;
            if ((rc == FR_ENOSPC || rc == FR_EIO) && strstr(err.msg, op_names[op])) clean++;
            else fprintf(stderr, "backfill %s #%d: rc %d: %s\n", op_names[op], n, rc, err.msg);
            if (docs && (!has || (op == FR__IO_FSYNC && vecs))) intact++;
            if (has) rebase(dir, &o);  // the commit got through: back to no model for the next fault
        }
        CHECK(failures >= 1);
        CHECK_EQ(clean, failures);
        CHECK_EQ(intact, failures);
        printf("backfill %s: %d injected failures, all clean, last commit intact\n", op_names[op], failures);
        rebase(dir, &o);  // reset for the next op: an index without a model again
    }
    fr__io_fault = NULL;
    rm_rf(dir);
}

// A commit whose COMMIT was renamed into place but whose directory fsync then failed, retried
// on the same handle: the retry must not rewrite the files that COMMIT names (its tombstones
// were named after the generation, which the failed commit did not advance), so a retry that
// fails in turn still leaves an index that opens with the first commit's state.
static const char *dir_path;
static int dir_fsyncs;
static int hook_dir(fr__io_op op, const char *path) {
    if (op == FR__IO_FSYNC && !strcmp(path, dir_path) && ++dir_fsyncs == 2) return EIO;
    return 0;
}

static void run_retry(void) {
    char dir[256];
    if (!tmp_dir(dir, sizeof dir, "faults_rt")) { CHECK(0); return; }
    fr_index_opts o = fr_index_opts_default();
    fr_index *ix = NULL, *rd = NULL;
    fr_error err = {0};
    char id[32];
    CHECK_EQ(fr_index_build(dir, &o, &ix, &err), 0);
    for (int i = 0; i < 10; i++) {
        snprintf(id, sizeof id, "base%d", i);
        add_doc(ix, id, "stable text");
    }
    CHECK_EQ(fr_index_commit(ix, &err), 0);
    CHECK_EQ(fr_index_delete(ix, "base3", &err), 0);
    dir_path = dir;
    dir_fsyncs = 0;
    fr__io_fault = hook_dir;  // the fsync after COMMIT's rename (the second of the directory)
    CHECK_EQ(fr_index_commit(ix, &err), FR_EIO);
    CHECK_EQ(dir_fsyncs, 2);
    CHECK_EQ(fr_index_delete(ix, "base4", &err), 0);
    arm(FR__IO_WRITE, 1, ENOSPC);  // the retry fails at its first write (a tombstone file)
    fr__io_fault = hook;
    CHECK_EQ(fr_index_commit(ix, &err), FR_ENOSPC);
    fr__io_fault = NULL;
    fail_op = -1;
    fr_index_close(ix);
    uint32_t d;
    CHECK_EQ(fr_index_open(dir, &o, &rd, &err), 0);
    if (rd) {
        CHECK_EQ(fr_index_find(rd, "base3", &d, NULL), FR_ENOTFOUND);
        CHECK_EQ(fr_index_find(rd, "base4", &d, NULL), 0);
        CHECK_EQ(fr_index_find(rd, "base5", &d, NULL), 0);
    }
    fr_index_close(rd);
    rm_rf(dir);
}

// An update whose new copy is lost with a segment that failed to flush must not commit the
// old copy's deletion: after the failure every change is refused until rollback, and the
// rollback leaves the committed copy in place.
static void run_update_lost(void) {
    char dir[256];
    if (!tmp_dir(dir, sizeof dir, "faults_up")) { CHECK(0); return; }
    fr_index_opts o = fr_index_opts_default();
    fr_index *ix = NULL, *rd = NULL;
    fr_error err = {0};
    CHECK_EQ(fr_index_build(dir, &o, &ix, &err), 0);
    CHECK_EQ(add_doc(ix, "keep", "acknowledged text"), 0);
    CHECK_EQ(fr_index_commit(ix, &err), 0);
    CHECK_EQ(add_doc(ix, "keep", "replacement text"), 0);  // deletes the committed copy
    arm(FR__IO_WRITE, 1, ENOSPC);  // the flush of the segment holding the replacement fails
    fr__io_fault = hook;
    CHECK_EQ(fr_index_commit(ix, &err), FR_ENOSPC);
    fr__io_fault = NULL;
    fail_op = -1;
    CHECK_EQ(fr_index_commit(ix, &err), FR_EIO);  // would have dropped "keep" altogether
    CHECK(strstr(err.msg, "fr_index_rollback") != NULL);
    CHECK_EQ(add_doc(ix, "other", "more text"), FR_EIO);
    CHECK_EQ(fr_index_delete(ix, "keep", &err), FR_EIO);
    CHECK_EQ(fr_index_rollback(ix, &err), 0);
    CHECK_EQ(add_doc(ix, "other", "more text"), 0);
    CHECK_EQ(fr_index_commit(ix, &err), 0);
    fr_index_close(ix);
    uint32_t d;
    CHECK_EQ(fr_index_open(dir, &o, &rd, &err), 0);
    if (rd) {
        CHECK_EQ(fr_index_find(rd, "keep", &d, NULL), 0);
        CHECK_EQ(fr_index_find(rd, "other", &d, NULL), 0);
        fr_hit h[4];
        size_t n = 0;
        fr_search_opts so = fr_search_opts_default();
        CHECK_EQ(fr_index_search(rd, "acknowledged", -1, &so, h, &n, NULL), 0);
        CHECK_EQ(n, 1);
    }
    fr_index_close(rd);
    rm_rf(dir);
}

// A new index's directory entry must be durable too: building an index in a directory that
// does not exist yet fsyncs its parent (else a crash could lose the whole, committed index).
static char parent_path[256];
static int parent_fsyncs;
static int hook_parent(fr__io_op op, const char *path) {
    if (op == FR__IO_FSYNC && !strcmp(path, parent_path)) parent_fsyncs++;
    return 0;
}

static void run_new_dir(void) {
    char dir[300];
    if (!tmp_dir(parent_path, sizeof parent_path, "faults_nd")) { CHECK(0); return; }
    snprintf(dir, sizeof dir, "%s/idx", parent_path);
    fr_index_opts o = fr_index_opts_default();
    fr_index *ix = NULL;
    fr_error err = {0};
    parent_fsyncs = 0;
    fr__io_fault = hook_parent;
    CHECK_EQ(fr_index_build(dir, &o, &ix, &err), 0);
    fr__io_fault = NULL;
    CHECK_EQ(parent_fsyncs, 1);
    fr_index_close(ix);
    rm_rf(parent_path);
}

int main(void) {
    run_new_dir();
    run_retry();
    run_update_lost();
    run();
    model = "tests/data/models/embed-bert-cls";
    run();
    ivf = 1;
    fr__ivf_min_rows = 1;  // every vectors file gets one (n_ivf == n_vectors)
    run();
    ivf = 0;
    fr__ivf_min_rows = FR__IVF_MIN_ROWS;
    model = NULL;
    run_backfill();
    return TEST_REPORT();
}
