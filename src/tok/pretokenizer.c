/* pretokenizer.c — the Hugging Face pre-tokenizers (skeleton: whole string = one piece). */
#include <string.h>

#include "tok/textpipe.h"

// ---- pieces ----
static int pieces_push(fr__pieces *p, const char *b, size_t n) {
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        uint32_t *o = realloc(p->off, cap * sizeof *o);
        if (!o) return FR_ENOMEM;
        p->off = o;
        uint32_t *l = realloc(p->len, cap * sizeof *l);
        if (!l) return FR_ENOMEM;
        p->len = l;
        p->cap = cap;
    }
    if (p->text.len > UINT32_MAX || n > UINT32_MAX - p->text.len) return FR_ERANGE;
    p->off[p->n] = (uint32_t)p->text.len;
    p->len[p->n] = (uint32_t)n;
    if (fr__buf_append(&p->text, b, n) < 0) return FR_ENOMEM;
    p->n++;
    return 0;
}

void fr__pieces_clear(fr__pieces *p) {
    p->n = 0;
    p->text.len = 0;
    if (p->text.data) p->text.data[0] = 0;
}

void fr__pieces_free(fr__pieces *p) {
    if (!p) return;
    fr__buf_free(&p->text);
    free(p->off);
    free(p->len);
    memset(p, 0, sizeof *p);
}

// ---- pre-tokenizers ----
struct fr__pretok {
    int type;
};

int fr__pretok_parse(const json_t *j, fr__pretok **out, fr_error *err) {
    *out = NULL;
    if (!j || json_is_null(j)) return 0;
    return fr__err(err, FR_EUNSUPPORTED, "pre_tokenizer: not implemented yet");
}

int fr__pretok_apply(const fr__pretok *p, const fr__nstr *s, fr__pieces *out) {
    if (!p) return s->len ? pieces_push(out, s->s, s->len) : 0;
    return FR_EUNSUPPORTED;
}

void fr__pretok_free(fr__pretok *p) { free(p); }

int fr__pretok_is_bytelevel(const fr__pretok *p) { (void)p; return 0; }
