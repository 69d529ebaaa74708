/* precompiled.c — SentencePiece's "precompiled_charsmap" normalizer, as Hugging Face
 * tokenizers runs it (crate spm_precompiled + normalizers/precompiled.rs, tokenizers 0.22).
 *
 * Format (after base64): u32 LE trie_size (bytes), then trie_size/4 u32 LE units of a Darts
 * double-array trie keyed by UTF-8 bytes, then a blob of NUL-terminated UTF-8 replacement
 * strings; a trie leaf's value is a byte offset into that blob. Unit layout (Darts-clone):
 * bit 8 = has_leaf, label = unit & (0x80000000 | 0xFF), value = unit & 0x7FFFFFFF,
 * offset = (unit >> 10) << ((unit & 0x200) >> 6); a child of node n with byte c sits at
 * n ^ offset(n) ^ c.
 *
 * Behaviour reproduced exactly, oddities included (alignments too, see replace_items): the text is cut into extended grapheme
 * clusters (utf8proc); a cluster shorter than 6 bytes is looked up whole, and the SHORTEST
 * trie prefix that is a key replaces the whole cluster; otherwise (or if no prefix matched)
 * each character is looked up alone the same way. A NUL byte ends a key.
 * The base64 decoder is hand-written: it is 30 lines and no Debian library offers a strict
 * standard-alphabet decoder without pulling in a crypto stack.
 * Untrusted charsmaps: every array access is bounds-checked; a leaf value outside the blob or
 * off a character boundary makes apply fail with FR_ECORRUPT (the Rust crate would panic).
 */
#include <string.h>

#include <utf8proc.h>

#include "tok/textpipe.h"
#include "tok/unicode.h"

struct fr__precompiled {
    uint32_t *units;  // (n_units) trie
    size_t n_units;
    char *blob;       // (blob_len) replacement strings, NUL-separated
    size_t blob_len;
};

// ---- base64 ----
static int b64val(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

// Strict standard base64 with padding (as the base64 crate's STANDARD engine).
static int b64_decode(const char *s, size_t n, unsigned char **out, size_t *out_len) {
    if (n % 4) return -1;
    unsigned char *o = malloc(n / 4 * 3 + 1);
    if (!o) return FR_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4], pad = 0;
        for (int j = 0; j < 4; j++) {
            unsigned char c = (unsigned char)s[i + j];
            if (c == '=' && i + 4 == n && j >= 2) { v[j] = 0; pad++; continue; }
            if (pad) { free(o); return -1; }
            v[j] = b64val(c);
            if (v[j] < 0) { free(o); return -1; }
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        o[k++] = (unsigned char)(w >> 16);
        if (pad < 2) o[k++] = (unsigned char)(w >> 8);
        if (pad < 1) o[k++] = (unsigned char)w;
        // non-canonical trailing bits are rejected by the Rust crate too
        if ((pad == 1 && (w & 0xFF)) || (pad == 2 && (w & 0xFFFF))) { free(o); return -1; }
    }
    *out = o;
    *out_len = k;
    return 0;
}

// ---- parse ----
int fr__precompiled_new(const char *b64, size_t len, fr__precompiled **out, fr_error *err) {
    *out = NULL;
    unsigned char *raw = NULL;
    size_t n = 0;
    int rc = b64_decode(b64, len, &raw, &n);
    if (rc == FR_ENOMEM) return fr__err(err, FR_ENOMEM, "precompiled_charsmap: out of memory");
    if (rc < 0) return fr__err(err, FR_EFORMAT, "precompiled_charsmap: invalid base64");
    fr__precompiled *p = calloc(1, sizeof *p);
    if (!p) { free(raw); return fr__err(err, FR_ENOMEM, "precompiled_charsmap: out of memory"); }
    if (n < 4) { rc = fr__err(err, FR_EFORMAT, "precompiled_charsmap: %zu bytes, need 4", n); goto fail; }
    uint32_t trie_size = (uint32_t)raw[0] | (uint32_t)raw[1] << 8 | (uint32_t)raw[2] << 16 |
                         (uint32_t)raw[3] << 24;
    size_t nu = trie_size / 4;
    if (nu > (n - 4) / 4) {
        rc = fr__err(err, FR_EFORMAT, "precompiled_charsmap: trie of %u bytes but only %zu follow",
                     trie_size, n - 4);
        goto fail;
    }
    if (nu == 0) { rc = fr__err(err, FR_EFORMAT, "precompiled_charsmap: empty trie"); goto fail; }
    p->units = malloc(nu * sizeof *p->units);
    const unsigned char *rest = raw + 4 + nu * 4;
    p->blob_len = n - 4 - nu * 4;
    p->blob = malloc(p->blob_len + 1);
    if (!p->units || !p->blob) { rc = fr__err(err, FR_ENOMEM, "precompiled_charsmap: out of memory"); goto fail; }
    for (size_t i = 0; i < nu; i++) {
        const unsigned char *u = raw + 4 + 4 * i;
        p->units[i] = (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 | (uint32_t)u[3] << 24;
    }
    p->n_units = nu;
    memcpy(p->blob, rest, p->blob_len);
    p->blob[p->blob_len] = 0;
    if (utf8proc_decompose((const utf8proc_uint8_t *)p->blob, (utf8proc_ssize_t)p->blob_len, NULL, 0, 0) < 0) {
        rc = fr__err(err, FR_EFORMAT, "precompiled_charsmap: replacement strings are not valid UTF-8");
        goto fail;
    }
    free(raw);
    *out = p;
    return 0;
fail:
    free(raw);
    fr__precompiled_free(p);
    return rc;
}

void fr__precompiled_free(fr__precompiled *p) {
    if (!p) return;
    free(p->units);
    free(p->blob);
    free(p);
}

// ---- lookup ----
static inline uint32_t u_offset(uint32_t u) { return (u >> 10) << ((u & (1u << 9)) >> 6); }

// Shortest prefix of key[0..n) that is a trie key. Returns 1 and its replacement, 0 if none,
// FR_ECORRUPT for a value outside the blob.
static int lookup(const fr__precompiled *p, const char *key, size_t n, const char **rep, size_t *rep_len) {
    size_t pos = 0;
    uint32_t unit = p->units[0];
    pos ^= u_offset(unit);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)key[i];
        if (c == 0) break;
        pos ^= c;
        if (pos >= p->n_units) return 0;
        unit = p->units[pos];
        if ((unit & (0x80000000u | 0xFFu)) != c) return 0;
        pos ^= u_offset(unit);
        if ((unit >> 8) & 1) {
            if (pos >= p->n_units) return 0;
            size_t v = p->units[pos] & 0x7FFFFFFFu;
            if (v > p->blob_len) return FR_ECORRUPT;
            // a replacement must start on a character boundary of the blob
            if (v < p->blob_len && ((unsigned char)p->blob[v] & 0xC0) == 0x80) return FR_ECORRUPT;
            *rep = p->blob + v;
            *rep_len = strlen(p->blob + v);
            return 1;
        }
    }
    return 0;
}

// ---- apply ----
// The (char, change) list HF's precompiled.rs builds, with its replace() helper: the new
// characters get change 0, the last (new - old) of them +1 when the replacement is longer;
// when it is shorter, the difference is charged to the last entry of the list so far (and
// lost when the list is empty: removals at the very start shift the alignment of what
// follows, which decides Metaspace prepend_scheme "first"; reproduced on purpose).
typedef struct items {
    uint32_t *cp;
    int32_t *ch;
    size_t n, cap;
} items;

static int items_push(items *t, uint32_t cp, int32_t ch) {
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        uint32_t *c = realloc(t->cp, cap * sizeof *c);
        if (!c) return FR_ENOMEM;
        t->cp = c;
        int32_t *h = realloc(t->ch, cap * sizeof *h);
        if (!h) return FR_ENOMEM;
        t->ch = h;
        t->cap = cap;
    }
    t->cp[t->n] = cp;
    t->ch[t->n] = ch;
    t->n++;
    return 0;
}

static size_t count_chars(const char *s, size_t n) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += ((unsigned char)s[i] & 0xC0) != 0x80;
    return k;
}

static int replace_items(items *t, const char *old, size_t old_len, const char *rep, size_t rep_len) {
    long diff = (long)count_chars(rep, rep_len) - (long)count_chars(old, old_len);
    for (size_t i = 0; i < rep_len;) {
        uint32_t c = fr__u8_next(rep, rep_len, &i);
        int rc = items_push(t, c, 0);
        if (rc < 0) return rc;
    }
    if (diff > 0)
        for (long k = 0; k < diff && (size_t)k < t->n; k++) t->ch[t->n - 1 - (size_t)k] = 1;
    else if (diff < 0 && t->n)
        t->ch[t->n - 1] += (int32_t)diff;
    return 0;
}

int fr__precompiled_apply(const fr__precompiled *p, fr__nstr *s) {
    items t = {0};
    int rc = 0, modified = 0;
    size_t gstart = 0;
    // one extended grapheme cluster [gstart, gend) per iteration
    while (gstart < s->len) {
        size_t j = gstart;
        utf8proc_int32_t c1 = (utf8proc_int32_t)fr__u8_next(s->s, s->len, &j);
        utf8proc_int32_t state = 0;  // a cluster starts after a break: the machine starts afresh
        size_t gend = j;
        while (gend < s->len) {
            size_t k = gend;
            utf8proc_int32_t c2 = (utf8proc_int32_t)fr__u8_next(s->s, s->len, &k);
            if (utf8proc_grapheme_break_stateful(c1, c2, &state)) break;
            c1 = c2;
            gend = k;
        }
        const char *g = s->s + gstart;
        size_t glen = gend - gstart;
        const char *rep;
        size_t rlen;
        int done = 0;
        if (glen < 6) {
            int r = lookup(p, g, glen, &rep, &rlen);
            if (r < 0) { rc = r; goto fail; }
            if (r > 0) {
                modified = 1;
                if ((rc = replace_items(&t, g, glen, rep, rlen)) < 0) goto fail;
                done = 1;
            }
        }
        for (size_t a = gstart; !done && a < gend;) {
            size_t b = a;
            uint32_t c = fr__u8_next(s->s, s->len, &b);
            int r = lookup(p, s->s + a, b - a, &rep, &rlen);
            if (r < 0) { rc = r; goto fail; }
            if (r > 0) {
                modified = 1;
                rc = replace_items(&t, s->s + a, b - a, rep, rlen);
            } else {
                rc = items_push(&t, c, 0);
            }
            if (rc < 0) goto fail;
            a = b;
        }
        gstart = gend;
    }
    if (modified) rc = fr__nstr_transform(s, t.cp, t.ch, t.n, 0);
fail:
    free(t.cp);
    free(t.ch);
    return rc;
}
