/* test.h — a tiny test harness (redis testhelp.h style). Each test file is a plain main()
 * that calls CHECK*() and ends with `return TEST_REPORT();`, which prints
 * "<name>: P passed, F failed[, S skipped]" and returns the exit status.
 * TEST_SKIP(msg) records a skipped group (e.g. a fixture from ../shared is absent).
 * fr_test_shared(rel) gives the path of a file under ../shared (or $FR_SHARED), or NULL.
 * fr_test_run(cmd, out, cap) runs a shell command (the CLI tests) and captures its output.
 */
#ifndef FR_TEST_H
#define FR_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int test_passed_, test_failed_, test_skipped_;

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (cond) test_passed_++;                                                       \
        else {                                                                          \
            test_failed_++;                                                             \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);    \
        }                                                                               \
    } while (0)

#define CHECK_EQ(a, b)                                                                  \
    do {                                                                                \
        long long a_ = (long long)(a), b_ = (long long)(b);                             \
        if (a_ == b_) test_passed_++;                                                   \
        else {                                                                          \
            test_failed_++;                                                             \
            fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %s (%lld != %lld)\n",        \
                    __FILE__, __LINE__, #a, #b, a_, b_);                                \
        }                                                                               \
    } while (0)

#define CHECK_STR(a, b)                                                                 \
    do {                                                                                \
        const char *a_ = (a), *b_ = (b);                                                \
        if (a_ && b_ && strcmp(a_, b_) == 0) test_passed_++;                            \
        else {                                                                          \
            test_failed_++;                                                             \
            fprintf(stderr, "%s:%d: CHECK_STR failed: %s == %s (\"%s\" != \"%s\")\n",   \
                    __FILE__, __LINE__, #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
        }                                                                               \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                           \
    do {                                                                                \
        double a_ = (double)(a), b_ = (double)(b);                                      \
        if (fabs(a_ - b_) <= (tol)) test_passed_++;                                     \
        else {                                                                          \
            test_failed_++;                                                             \
            fprintf(stderr, "%s:%d: CHECK_NEAR failed: %s ~ %s (%.9g vs %.9g, tol %g)\n", \
                    __FILE__, __LINE__, #a, #b, a_, b_, (double)(tol));                 \
        }                                                                               \
    } while (0)

#define TEST_SKIP(msg)                                                                  \
    do {                                                                                \
        test_skipped_++;                                                                \
        fprintf(stderr, "SKIP %s: %s\n", __FILE__, msg);                                \
    } while (0)

static inline const char *fr_test_shared(const char *rel) {
    static char path[4096];
    const char *root = getenv("FR_SHARED");
    if (!root || !*root) root = "../shared";
    snprintf(path, sizeof path, "%s/%s", root, rel);
    return access(path, R_OK) == 0 ? path : NULL;
}

// Reads a whole file. Returns a malloc'd, NUL-terminated buffer (caller frees) with its length
// in *len (the NUL not counted; 0 on failure), or NULL when it cannot be opened or read in full.
static inline char *fr_test_slurp(const char *path, size_t *len) {
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = n >= 0 ? malloc((size_t)n + 1) : NULL;
    size_t got = b ? fread(b, 1, (size_t)n, f) : 0;
    fclose(f);
    if (!b || got != (size_t)n) {
        free(b);
        return NULL;
    }
    b[got] = 0;
    *len = got;
    return b;
}

// Runs cmd through popen; OUT: what it writes to stdout (and to stderr when cmd redirects
// it), at most cap-1 bytes, NUL-terminated. Returns the exit status, or -1 when cmd could not
// run or did not exit normally.
static inline int fr_test_run(const char *cmd, char *out, size_t cap) {
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#define TEST_REPORT() test_report_(__FILE__)
static inline int test_report_(const char *file) {
    const char *name = strrchr(file, '/');
    name = name ? name + 1 : file;
    printf("%s: %d passed, %d failed", name, test_passed_, test_failed_);
    if (test_skipped_) printf(", %d skipped", test_skipped_);
    printf("\n");
    return test_failed_ ? 1 : 0;
}

#endif
