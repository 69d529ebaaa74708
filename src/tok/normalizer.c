/* normalizer.c — normalized strings (fr__nstr) and the Hugging Face normalizers.
 * (skeleton: identity only; real components follow)
 */
#include <string.h>

#include "tok/textpipe.h"

// ---- normalized string ----
static int nstr_reserve(fr__nstr *s, size_t need) {
    if (need <= s->cap) return 0;
    size_t cap = s->cap ? s->cap : 16;
    while (cap < need) {
        if (cap > SIZE_MAX / 8) return FR_ENOMEM;
        cap *= 2;
    }
    char *ns = realloc(s->s, cap + 1);
    if (!ns) return FR_ENOMEM;
    s->s = ns;
    uint32_t *no = realloc(s->orig, (cap + 1) * sizeof *no);
    if (!no) return FR_ENOMEM;
    s->orig = no;
    s->cap = cap;
    return 0;
}

int fr__nstr_init(fr__nstr *s, const char *text, size_t len, uint32_t shift) {
    memset(s, 0, sizeof *s);
    if (len > UINT32_MAX - (size_t)shift) return FR_ERANGE;
    if (nstr_reserve(s, len) < 0) { fr__nstr_free(s); return FR_ENOMEM; }
    memcpy(s->s, text, len);
    s->s[len] = 0;
    uint32_t cs = 0;
    for (size_t i = 0; i < len; i++) {
        if (((unsigned char)text[i] & 0xC0) != 0x80) cs = (uint32_t)i;
        s->orig[i] = shift + cs;
    }
    s->orig[len] = shift + (uint32_t)len;
    s->len = len;
    s->shift = shift;
    return 0;
}

int fr__nstr_slice(const fr__nstr *s, size_t start, size_t end, fr__nstr *out) {
    memset(out, 0, sizeof *out);
    if (start > end || end > s->len) return FR_EINVAL;
    size_t n = end - start;
    if (nstr_reserve(out, n) < 0) { fr__nstr_free(out); return FR_ENOMEM; }
    memcpy(out->s, s->s + start, n);
    out->s[n] = 0;
    memcpy(out->orig, s->orig + start, n * sizeof *out->orig);
    out->orig[n] = s->orig[end];
    out->len = n;
    out->shift = s->orig[start];
    return 0;
}

void fr__nstr_free(fr__nstr *s) {
    if (!s) return;
    free(s->s);
    free(s->orig);
    memset(s, 0, sizeof *s);
}

// ---- normalizers ----
struct fr__normalizer {
    int type;
};

int fr__normalizer_parse(const json_t *j, fr__normalizer **out, fr_error *err) {
    *out = NULL;
    if (!j || json_is_null(j)) return 0;
    return fr__err(err, FR_EUNSUPPORTED, "normalizer: not implemented yet");
}

int fr__normalizer_apply(const fr__normalizer *n, fr__nstr *s) {
    (void)s;
    if (!n) return 0;
    return FR_EUNSUPPORTED;
}

void fr__normalizer_free(fr__normalizer *n) { free(n); }
