/* buf.c — a growable, always NUL-terminated byte buffer (geometric growth). */
#include <string.h>

#include "base/base.h"

int fr__buf_reserve(fr__buf *b, size_t extra) {
    size_t need;
    if (fr__add_overflow(b->len, extra, &need) || fr__add_overflow(need, 1, &need))
        return FR_ENOMEM;
    if (need <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) { cap = need; break; }
        cap *= 2;
    }
    char *p = realloc(b->data, cap);
    if (!p) return FR_ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int fr__buf_append(fr__buf *b, const void *p, size_t n) {
    if (fr__buf_reserve(b, n) < 0) return FR_ENOMEM;
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
    return 0;
}

int fr__buf_putc(fr__buf *b, char c) { return fr__buf_append(b, &c, 1); }

int fr__buf_printf(fr__buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return FR_EINVAL;
    if (fr__buf_reserve(b, (size_t)n) < 0) return FR_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void fr__buf_free(fr__buf *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
