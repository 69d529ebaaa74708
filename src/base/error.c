/* error.c — fr_strerror() from the FR_ERRNO_MAP table, and filling fr_error. */
#include <string.h>

#include "base/base.h"

const char *fr_strerror(int code) {
    switch (code) {
    case 0: return "success";
#define FR__ERR_STR(name, val, str) case val: return str;
        FR_ERRNO_MAP(FR__ERR_STR)
#undef FR__ERR_STR
    default: return "unknown error";
    }
}

_Noreturn void fr__assert_fail(const char *expr, const char *file, int line) {
    // The one place library code writes to stderr: a broken invariant is a bug in finerank.
    fprintf(stderr, "finerank: assertion failed: %s (%s:%d)\n", expr, file, line);
    abort();
}

int fr__err(fr_error *err, int code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

int fr__err_prefix(fr_error *err, int code, const char *fmt, ...) {
    if (!err) return code;
    char old[sizeof err->msg];
    memcpy(old, err->msg, sizeof old);
    old[sizeof old - 1] = 0;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n + 2 < sizeof err->msg) {
        // "prefix: old", cut to fit; built by hand so no format can truncate.
        size_t at = (size_t)n, room = sizeof err->msg - at - 1;
        memcpy(err->msg + at, ": ", 2);
        at += 2;
        room -= 2;
        size_t k = strlen(old);
        if (k > room) k = room;
        memcpy(err->msg + at, old, k);
        err->msg[at + k] = 0;
    }
    if (err->code == 0) err->code = code;
    return err->code;
}
