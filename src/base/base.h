/* base.h — internal helpers every module uses: error reporting into fr_error, always-on
 * assertions for programmer errors, a growable byte buffer, whole-file reading and mmap.
 * Not part of the public API (internal non-static names are fr__*).
 */
#ifndef FR_BASE_H
#define FR_BASE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "finerank.h"

// ---- assertions ----
// Always on, for programmer errors only (shape mismatches, broken invariants). Bad input from
// files, users or the network must return an FR_E* code instead.
#define FR_ASSERT(cond)                                                               \
    do {                                                                              \
        if (!(cond)) fr__assert_fail(#cond, __FILE__, __LINE__);                      \
    } while (0)
_Noreturn void fr__assert_fail(const char *expr, const char *file, int line);

// ---- errors ----
// Fills err (if not NULL) with code and a printf-style message; returns code, so that
// `return fr__err(err, FR_EFORMAT, "%s: bad", name);` reads naturally.
int fr__err(fr_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
// Prefixes an existing message: "ctx: <old message>". Returns err->code (or code if err NULL).
int fr__err_prefix(fr_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

// ---- growable buffer ----
typedef struct fr__buf {
    char *data;  // always NUL-terminated when cap > 0
    size_t len;
    size_t cap;
} fr__buf;

int fr__buf_reserve(fr__buf *b, size_t extra);          // FR_ENOMEM on failure
int fr__buf_append(fr__buf *b, const void *p, size_t n);
int fr__buf_putc(fr__buf *b, char c);
int fr__buf_printf(fr__buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fr__buf_free(fr__buf *b);

// ---- large arrays (src/base/mem.c) ----
// Memory for a large array that is streamed or probed at random: from 2 MiB up, 2 MiB-aligned
// and marked MADV_HUGEPAGE (transparent huge pages); below, 64-byte (cache-line) aligned. Not
// zeroed. free() releases it. NULL when out of memory.
void *fr__alloc_huge(size_t bytes);
// The same, zeroed.
void *fr__alloc_huge_zero(size_t bytes);

// ---- files ----
// Reads a whole file into a malloc'd, NUL-terminated buffer. OUT: *data (caller frees), *len.
int fr__read_file(const char *path, char **data, size_t *len, fr_error *err);

// A read-only mapping of a whole file (an empty file maps to data == NULL, len == 0).
typedef struct fr__mmap {
    const uint8_t *data;
    size_t len;
} fr__mmap;
int fr__mmap_open(const char *path, fr__mmap *m, fr_error *err);
void fr__mmap_close(fr__mmap *m);

// ---- time ----
// Unix ms → Unix seconds, rounded down (so dates before 1970 land in the right second).
static inline int64_t fr__ms_to_s(int64_t ms) { return ms / 1000 - (ms % 1000 < 0); }

// ---- overflow-checked arithmetic ----
static inline int fr__mul_overflow(size_t a, size_t b, size_t *out) {
    return __builtin_mul_overflow(a, b, out);
}
static inline int fr__add_overflow(size_t a, size_t b, size_t *out) {
    return __builtin_add_overflow(a, b, out);
}

#endif
