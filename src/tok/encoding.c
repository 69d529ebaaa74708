/* encoding.c — the encoding under construction (fr__enc) and pair truncation.
 *
 * An fr__enc holds parallel arrays ids / type_ids and, only when the caller wants token
 * strings, offsets of NUL-terminated strings in one text arena (tokens cost nothing on the
 * hot path otherwise). Truncation follows Hugging Face tokenizers 0.22.2
 * utils/truncation.rs truncate_encodings() and Encoding::truncate() with stride 0 (the
 * overflowing parts HF keeps are not needed by a reranker and are dropped).
 */
#include <string.h>

#include "tok/tok.h"

// ---- encoding ----
static int enc_reserve(fr__enc *e, size_t extra) {
    if (e->n + extra <= e->cap) return 0;
    size_t cap = e->cap ? e->cap : 32;
    while (cap < e->n + extra) {
        if (cap > SIZE_MAX / 16) return FR_ENOMEM;
        cap *= 2;
    }
    int32_t *ids = realloc(e->ids, cap * sizeof *ids);
    if (!ids) return FR_ENOMEM;
    e->ids = ids;
    uint8_t *ty = realloc(e->type_ids, cap);
    if (!ty) return FR_ENOMEM;
    e->type_ids = ty;
    if (e->want_tokens) {
        uint32_t *to = realloc(e->tok_off, cap * sizeof *to);
        if (!to) return FR_ENOMEM;
        e->tok_off = to;
    }
    e->cap = cap;
    return 0;
}

int fr__enc_push(fr__enc *e, int32_t id, const char *tok, size_t tok_len) {
    if (e->n == e->cap && enc_reserve(e, 1) < 0) return FR_ENOMEM;
    if (e->want_tokens) {
        if (e->text.len + tok_len + 1 > UINT32_MAX) return FR_ERANGE;
        e->tok_off[e->n] = (uint32_t)e->text.len;
        if (fr__buf_append(&e->text, tok, tok_len) < 0 || fr__buf_putc(&e->text, 0) < 0)
            return FR_ENOMEM;
    }
    e->ids[e->n] = id;
    e->type_ids[e->n] = 0;
    e->n++;
    return 0;
}

int fr__enc_append(fr__enc *dst, const fr__enc *src, size_t start, size_t count) {
    if (count == 0) return 0;
    if (enc_reserve(dst, count) < 0) return FR_ENOMEM;
    memcpy(dst->ids + dst->n, src->ids + start, count * sizeof *dst->ids);
    memcpy(dst->type_ids + dst->n, src->type_ids + start, count);
    if (dst->want_tokens) {
        for (size_t i = 0; i < count; i++) {
            const char *t = src->want_tokens ? src->text.data + src->tok_off[start + i] : "";
            size_t tl = strlen(t);
            if (dst->text.len + tl + 1 > UINT32_MAX) return FR_ERANGE;
            dst->tok_off[dst->n + i] = (uint32_t)dst->text.len;
            if (fr__buf_append(&dst->text, t, tl) < 0 || fr__buf_putc(&dst->text, 0) < 0)
                return FR_ENOMEM;
        }
    }
    dst->n += count;
    return 0;
}

void fr__enc_truncate(fr__enc *e, size_t keep, int left) {
    if (keep >= e->n) return;
    if (left) {
        size_t drop = e->n - keep;
        memmove(e->ids, e->ids + drop, keep * sizeof *e->ids);
        memmove(e->type_ids, e->type_ids + drop, keep);
        // token strings stay in the arena; only their offsets move
        if (e->want_tokens) memmove(e->tok_off, e->tok_off + drop, keep * sizeof *e->tok_off);
    }
    e->n = keep;
}

void fr__enc_free(fr__enc *e) {
    if (!e) return;
    free(e->ids);
    free(e->type_ids);
    free(e->tok_off);
    fr__buf_free(&e->text);
    e->ids = NULL;
    e->type_ids = NULL;
    e->tok_off = NULL;
    e->n = e->cap = 0;
}

// ---- truncation ----
int fr__truncate(fr__enc *a, fr__enc *b, const fr__trunc *t, fr_error *err) {
    size_t max = t->max_length;
    if (max == 0) {  // HF: truncate(0) empties both
        a->n = 0;
        if (b) b->n = 0;
        return 0;
    }
    size_t total = a->n + (b ? b->n : 0);
    if (total <= max) return 0;
    size_t to_remove = total - max;
    if (t->strategy == FR_TRUNC_LONGEST_FIRST) {
        if (!b) {
            fr__enc_truncate(a, total - to_remove, t->left);
            return 0;
        }
        size_t n1 = a->n, n2 = b->n;
        int swap = 0;
        if (n1 > n2) { size_t x = n1; n1 = n2; n2 = x; swap = 1; }
        if (n1 > max) n2 = n1;
        else n2 = n1 > max - n1 ? n1 : max - n1;
        if (n1 + n2 > max) {
            n1 = max / 2;
            n2 = n1 + max % 2;
        }
        if (swap) { size_t x = n1; n1 = n2; n2 = x; }
        fr__enc_truncate(a, n1, t->left);
        fr__enc_truncate(b, n2, t->left);
        return 0;
    }
    fr__enc *target = a;
    if (t->strategy == FR_TRUNC_ONLY_SECOND) {
        if (!b)
            return fr__err(err, FR_EINVAL,
                           "Truncation error: Second sequence not provided");
        target = b;
    }
    if (target->n > to_remove) {
        fr__enc_truncate(target, target->n - to_remove, t->left);
        return 0;
    }
    return fr__err(err, FR_ERANGE,
                   "Truncation error: Sequence to truncate too short to respect the provided "
                   "max_length");
}
