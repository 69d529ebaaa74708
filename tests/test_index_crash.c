/* test_index_crash.c — crash safety: a child process adds batches of documents and commits
 * (fsync on), reporting each acknowledged batch through a pipe; the parent SIGKILLs it at a
 * random moment, then checks that the index opens, that every acknowledged document is
 * found with its exact stored text, and that the first unacknowledged batch is either
 * wholly visible (committed just before the kill) or not at all. Every 20th batch the child
 * also optimizes, so kills land inside merges too. FR_CRASH_CYCLES overrides the 200 cycles.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "finerank.h"
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

static _Noreturn void child(const char *dir, int wfd, int start) {
    fr_index_opts o = fr_index_opts_default();
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

int main(void) {
    char dir[256];
    if (!tmp_dir(dir, sizeof dir, "crash")) { CHECK(0); return TEST_REPORT(); }
    int cycles = getenv("FR_CRASH_CYCLES") ? atoi(getenv("FR_CRASH_CYCLES")) : 200;
    fr_index_opts o = fr_index_opts_default();
    fr_index *ix = NULL;
    fr_error err = {0};
    CHECK_EQ(fr_index_build(dir, &o, &ix, &err), 0);  // an empty first commit
    fr_index_close(ix);
    uint64_t seed = (uint64_t)time(NULL);
    int acked = -1, opened = 0, missing = 0, partial = 0, bad_text = 0, child_fail = 0;
    char buf[512], want[512];
    for (int c = 0; c < cycles; c++) {
        int p[2];
        if (pipe(p) < 0) { CHECK(0); break; }
        pid_t pid = fork();
        if (pid == 0) {
            close(p[0]);
            child(dir, p[1], acked + 1);
        }
        close(p[1]);
        struct timespec ts = {0, (long)(rng_next(&seed) % 60000000)};  // 0-60 ms
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
        fr_index_close(rd);
    }
    CHECK_EQ(opened, cycles);
    CHECK_EQ(missing, 0);
    CHECK_EQ(bad_text, 0);
    CHECK_EQ(partial, 0);
    CHECK_EQ(child_fail, 0);
    CHECK(acked >= 10);  // the children made progress
    printf("crash test: %d cycles, %d batches acknowledged\n", cycles, acked + 1);
    rm_rf(dir);
    return TEST_REPORT();
}
