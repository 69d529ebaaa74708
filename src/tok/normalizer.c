/* normalizer.c — normalized strings (fr__nstr) and the Hugging Face normalizers, byte-exact
 * with tokenizers 0.22 (the normalizers folder and tokenizer/normalizer.rs).
 *
 * Layout: an fr__nstr is the normalized UTF-8 plus one original offset per byte (see
 * textpipe.h). Every normalizer reads the string once and builds a fresh one with
 * fr__nstr_push, each output character aligned to the original character it came from
 * (characters HF inserts in front of everything align to the section start); cost is linear
 * in the input. Precompiled lives in precompiled.c, the Unicode predicates in unicode.c.
 *
 * Workload: short texts (queries, passages of a few hundred words) one after another; the
 * ASCII fast paths matter more than anything else.
 *
 * Regexes (Replace with a "Regex" pattern) run on PCRE2 with the Oniguruma-only escapes
 * rewritten, see fr__regex_compile in pretokenizer.c.
 */
#include <string.h>

#include <utf8proc.h>

#include "tok/textpipe.h"
#include "tok/unicode.h"

// ---- normalized string ----
static int nstr_reserve(fr__nstr *s, size_t need) {
    if (need <= s->cap && s->s) return 0;
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
    if (len) memcpy(s->s, text, len);
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

int fr__nstr_push(fr__nstr *s, const char *b, size_t n, uint32_t orig) {
    size_t need;
    if (fr__add_overflow(s->len, n, &need)) return FR_ENOMEM;
    if (nstr_reserve(s, need) < 0) return FR_ENOMEM;
    if (n) memcpy(s->s + s->len, b, n);
    for (size_t i = 0; i < n; i++) s->orig[s->len + i] = orig;
    s->len += n;
    s->s[s->len] = 0;
    return 0;
}

void fr__nstr_commit(fr__nstr *dst, fr__nstr *src) {
    uint32_t end = dst->orig ? dst->orig[dst->len] : dst->shift;
    if (!src->s && nstr_reserve(src, 0) < 0) {  // empty result: keep dst's buffers
        dst->len = 0;
        dst->s[0] = 0;
        dst->orig[0] = end;
        return;
    }
    free(dst->s);
    free(dst->orig);
    dst->s = src->s;
    dst->orig = src->orig;
    dst->len = src->len;
    dst->cap = src->cap;
    dst->s[dst->len] = 0;
    dst->orig[dst->len] = end;
    memset(src, 0, sizeof *src);
}

void fr__nstr_free(fr__nstr *s) {
    if (!s) return;
    free(s->s);
    free(s->orig);
    memset(s, 0, sizeof *s);
}

// Appends s's bytes [a, b) with their own alignment.
static int push_span(fr__nstr *o, const fr__nstr *s, size_t a, size_t b) {
    if (a >= b) return 0;
    int rc = fr__nstr_push(o, s->s + a, b - a, 0);
    if (rc == 0) memcpy(o->orig + o->len - (b - a), s->orig + a, (b - a) * sizeof *o->orig);
    return rc;
}

static int push_cp(fr__nstr *o, uint32_t cp, uint32_t orig) {
    char b[4];
    return fr__nstr_push(o, b, fr__u8_put(cp, b), orig);
}

// NormalizedString::transform with HF's alignment rules: cps[i] replaces the character at the
// cursor (change <= 0; then -change more characters are removed) or is inserted (change > 0,
// aligned to the character before the cursor, or to the section start at the very start).
// The cursor starts after `initial` characters. Changes that do not add up (HF's Precompiled
// loses the removal of leading characters) shift alignments exactly as they do in HF.
int fr__nstr_transform(fr__nstr *s, const uint32_t *cps, const int32_t *changes, size_t n, size_t initial) {
    fr__nstr o = {0};
    size_t cur = 0;
    for (size_t k = 0; k < initial && cur < s->len; k++) cur += fr__u8_len((unsigned char)s->s[cur]);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t org;
        if (changes[i] > 0) {
            org = cur >= 1 ? s->orig[cur - 1] : s->shift;
        } else {
            org = cur < s->len ? s->orig[cur] : s->orig[s->len];
            if (cur < s->len) cur += fr__u8_len((unsigned char)s->s[cur]);
            for (int32_t r = 0; r < -changes[i] && cur < s->len; r++) cur += fr__u8_len((unsigned char)s->s[cur]);
        }
        if (cur > s->len) cur = s->len;
        if ((rc = push_cp(&o, cps[i], org)) < 0) { fr__nstr_free(&o); return rc; }
    }
    fr__nstr_commit(s, &o);
    return 0;
}

// ---- normalizer objects ----
enum {
    N_BERT, N_PRECOMPILED, N_NFC, N_NFD, N_NFKC, N_NFKD, N_LOWERCASE, N_STRIP_ACCENTS,
    N_STRIP, N_REPLACE, N_PREPEND, N_SEQUENCE, N_NMT, N_BYTELEVEL
};

struct fr__normalizer {
    int type;
    int clean_text, chinese, strip_accents, lowercase;  // BertNormalizer
    int left, right;                                     // Strip
    fr__regex *re;                                       // Replace (Regex)
    char *pattern;                                       // Replace (String), NUL-terminated
    size_t pattern_len;
    char *content;                                       // Replace content / Prepend
    size_t content_len;
    fr__precompiled *pc;                                 // Precompiled
    fr__normalizer **seq;                                // (n_seq) Sequence
    size_t n_seq;
};

void fr__normalizer_free(fr__normalizer *n) {
    if (!n) return;
    for (size_t i = 0; i < n->n_seq; i++) fr__normalizer_free(n->seq[i]);
    free(n->seq);
    fr__regex_free(n->re);
    free(n->pattern);
    free(n->content);
    fr__precompiled_free(n->pc);
    free(n);
}

// ---- BertNormalizer ----
static int is_chinese_char(uint32_t c) {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
           (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

// clean_text and handle_chinese_chars in one pass (they commute: clean_text never produces a
// CJK character and the chinese step never produces one clean_text would change).
static int bert_clean_chinese(const fr__normalizer *n, fr__nstr *s) {
    fr__nstr o = {0};
    int rc = 0;
    for (size_t i = 0; i < s->len;) {
        // printable ASCII passes both steps unchanged: copy runs of it at once
        size_t run = i;
        while (run < s->len && (unsigned char)s->s[run] >= 0x20 && (unsigned char)s->s[run] < 0x7F) run++;
        if (run > i) {
            if ((rc = push_span(&o, s, i, run)) < 0) goto fail;
            i = run;
            continue;
        }
        size_t at = i;
        uint32_t c = fr__u8_next(s->s, s->len, &i);
        uint32_t org = s->orig[at];
        if (n->clean_text) {
            if (c == '\t' || c == '\n' || c == '\r') c = ' ';
            else if (c == 0 || c == 0xFFFD || fr__u_is_other(c)) continue;
            else if (fr__u_is_whitespace(c)) c = ' ';
        }
        if (n->chinese && is_chinese_char(c)) {
            // HF emits (' ', 0), (c, +1), (' ', +1): all three align to c
            if ((rc = push_cp(&o, ' ', org)) < 0 ||
                (rc = push_cp(&o, c, org)) < 0 || (rc = push_cp(&o, ' ', org)) < 0)
                goto fail;
        } else if ((rc = push_cp(&o, c, org)) < 0) {
            goto fail;
        }
    }
    fr__nstr_commit(s, &o);
    return 0;
fail:
    fr__nstr_free(&o);
    return rc;
}

// ---- Unicode normalization forms ----
static int is_hangul_vt(int32_t c) {
    return (c >= 0x1161 && c <= 0x1175) || (c >= 0x11A8 && c <= 0x11C2);
}

// A normalization segment may start at decomposed code point d when nothing before it can
// reorder with it or compose with it: a starter that is never the second of a pair.
static int segment_start(int32_t d) {
    const utf8proc_property_t *p = utf8proc_get_property(d);
    if (p->combining_class != 0) return 0;
    if (p->comb_index != UINT16_MAX && p->comb_index >= 0x8000) return 0;
    return !is_hangul_vt(d);
}

// Normalizes one segment and writes it to o with HF's alignments. buf[0..n) are the
// decomposed code points and chg[i] their HF change (0 for the first code point of each input
// character, +1 for the others), as unicode-normalization-alignments produces them; src[0..ns)
// are the original offsets of the segment's input characters, prev the one before the segment
// (or the section start). Canonical ordering moves (code point, change) pairs; a composite
// gets its starter's change plus (change - 1) for each code point it absorbs. The changes then
// drive HF's transform cursor over the input characters: alignments are positional, exactly
// as HF computes them. work/wchg/used are scratch of n entries.
static int flush_segment(fr__nstr *o, int32_t *buf, int32_t *chg, size_t n, const uint32_t *src, size_t ns,
                         uint32_t prev, int opts, int32_t *work, int32_t *wchg, unsigned char *used) {
    if (!n) return 0;
    // canonical ordering: a stable insertion sort of each run of non-starters by combining
    // class (utf8proc_normalize_utf32 only composes). Runs are short: segments are capped.
    for (size_t i = 1; i < n; i++) {
        int ci = utf8proc_get_property(buf[i])->combining_class;
        if (!ci) continue;
        int32_t v = buf[i], t = chg[i];
        size_t j = i;
        while (j > 0) {
            int cj = utf8proc_get_property(buf[j - 1])->combining_class;
            if (cj <= ci) break;
            buf[j] = buf[j - 1];
            chg[j] = chg[j - 1];
            j--;
        }
        buf[j] = v;
        chg[j] = t;
    }
    size_t m = n;
    if ((opts & UTF8PROC_COMPOSE) && n > 1) {
        memcpy(work, buf, n * sizeof *work);
        utf8proc_ssize_t r = utf8proc_normalize_utf32(work, (utf8proc_ssize_t)n, (utf8proc_option_t)opts);
        if (r < 0) return FR_EINTERNAL;
        m = (size_t)r;
        memset(used, 0, n);
        size_t j = 0;
        for (size_t k = 0; k < m; k++) {
            while (j < n && used[j]) j++;
            if (j >= n) return FR_EINTERNAL;
            int32_t c = chg[j];
            used[j] = 1;
            if (work[k] != buf[j]) {
                // a composite starting at buf[j]: find the code points it absorbed
                int32_t d[32];
                int bc = 0;
                utf8proc_ssize_t nd = utf8proc_decompose_char(work[k], d, 32, UTF8PROC_DECOMPOSE, &bc);
                for (utf8proc_ssize_t x = 1; x < nd && x < 32; x++)
                    for (size_t q = j + 1; q < n; q++)
                        if (!used[q] && buf[q] == d[x]) { used[q] = 1; c += chg[q] - 1; break; }
            }
            wchg[k] = c;
        }
    } else {
        memcpy(work, buf, n * sizeof *work);
        memcpy(wchg, chg, n * sizeof *wchg);
    }
    size_t cur = 0;
    for (size_t k = 0; k < m; k++) {
        uint32_t org;
        if (wchg[k] > 0) {
            org = cur > 0 ? src[cur - 1] : prev;
        } else {
            org = cur < ns ? src[cur] : (ns ? src[ns - 1] : prev);
            cur += 1 + (size_t)(-wchg[k]);
        }
        int rc = push_cp(o, (uint32_t)work[k], org);
        if (rc < 0) return rc;
    }
    return 0;
}

// NFD/NFKD/NFC/NFKC. The text is cut into segments that normalize independently (each starts
// at a starter that cannot compose backwards), which keeps the work linear; a run of more
// than 256 code points without such a start is cut anyway (canonical reordering is quadratic
// in a run's length; real text never has runs that long: Unicode's stream-safe limit is 30
// non-starters).
static int unicode_nf(fr__nstr *s, int compose, int compat) {
    int opts = UTF8PROC_STABLE | (compose ? UTF8PROC_COMPOSE : UTF8PROC_DECOMPOSE) |
               (compat ? UTF8PROC_COMPAT : 0);
    // fast path: pure ASCII is invariant under every form
    size_t a = 0;
    while (a < s->len && (unsigned char)s->s[a] < 0x80) a++;
    if (a == s->len) return 0;

    fr__nstr o = {0};
    int32_t *buf = NULL, *work = NULL, *chg = NULL, *wchg = NULL;
    uint32_t *src = NULL;
    unsigned char *used = NULL;
    size_t nbuf = 0, nsrc = 0, cap = 0;
    uint32_t prev = s->shift;  // original offset of the character before the segment
    int rc = 0, prev_inert = 0;
    for (size_t i = 0; i < s->len;) {
        size_t at = i;
        uint32_t c = fr__u8_next(s->s, s->len, &i);
        int32_t tmp[32];
        int last_bc = 0;
        // HF's tables are Unicode 9.0: a later code point is an inert starter there, so it
        // gets a segment of its own and is not decomposed
        int inert = fr__u_nf_inert(c);
        utf8proc_ssize_t d = 1;
        tmp[0] = (int32_t)c;
        if (!inert) d = utf8proc_decompose_char((utf8proc_int32_t)c, tmp, 32, (utf8proc_option_t)opts, &last_bc);
        if (d < 1 || d > 32) { rc = FR_EINTERNAL; goto fail; }
        if (nbuf && (inert || prev_inert || segment_start(tmp[0]) || nbuf > 256)) {
            if ((rc = flush_segment(&o, buf, chg, nbuf, src, nsrc, prev, opts, work, wchg, used)) < 0) goto fail;
            prev = src[nsrc - 1];
            nbuf = nsrc = 0;
        }
        if (nbuf + (size_t)d > cap) {
            size_t nc = cap ? cap * 2 : 64;
            while (nc < nbuf + (size_t)d) nc *= 2;
            int32_t *nb = realloc(buf, nc * sizeof *nb);
            if (nb) buf = nb;
            int32_t *nw = realloc(work, nc * sizeof *nw);
            if (nw) work = nw;
            int32_t *nch = realloc(chg, nc * sizeof *nch);
            if (nch) chg = nch;
            int32_t *nwc = realloc(wchg, nc * sizeof *nwc);
            if (nwc) wchg = nwc;
            uint32_t *nsr = realloc(src, nc * sizeof *nsr);
            if (nsr) src = nsr;
            unsigned char *nu = realloc(used, nc);
            if (nu) used = nu;
            if (!nb || !nw || !nch || !nwc || !nsr || !nu) { rc = FR_ENOMEM; goto fail; }
            cap = nc;
        }
        for (utf8proc_ssize_t k = 0; k < d; k++) {
            buf[nbuf + (size_t)k] = tmp[k];
            chg[nbuf + (size_t)k] = k > 0;
        }
        nbuf += (size_t)d;
        src[nsrc++] = s->orig[at];  // nsrc <= nbuf <= cap
        prev_inert = inert;
    }
    if ((rc = flush_segment(&o, buf, chg, nbuf, src, nsrc, prev, opts, work, wchg, used)) < 0) goto fail;
    fr__nstr_commit(s, &o);
fail:
    free(buf);
    free(work);
    free(chg);
    free(wchg);
    free(src);
    free(used);
    if (rc < 0) fr__nstr_free(&o);
    return rc;
}

// ---- per-character maps ----
static int lowercase(fr__nstr *s) {
    size_t a = 0;  // ASCII prefix is lowercased in place
    for (; a < s->len && (unsigned char)s->s[a] < 0x80; a++)
        if (s->s[a] >= 'A' && s->s[a] <= 'Z') s->s[a] += 32;
    if (a == s->len) return 0;
    fr__nstr o = {0};
    int rc = fr__nstr_push(&o, s->s, a, 0);
    if (rc < 0) goto fail;
    memcpy(o.orig, s->orig, a * sizeof *o.orig);
    for (size_t i = a; i < s->len;) {
        size_t at = i;
        uint32_t c = fr__u8_next(s->s, s->len, &i), l[3];
        int k = fr__u_to_lower(c, l);
        for (int j = 0; j < k; j++)
            if ((rc = push_cp(&o, l[j], s->orig[at])) < 0) goto fail;
    }
    fr__nstr_commit(s, &o);
    return 0;
fail:
    fr__nstr_free(&o);
    return rc;
}

// Removes marks: StripAccents removes every M (is_combining_mark), BertNormalizer's
// strip_accents only Mn (is_mark_nonspacing). Neither decomposes first by itself.
static int strip_marks(fr__nstr *s, int all_marks) {
    fr__nstr o = {0};
    int rc = 0;
    for (size_t i = 0; i < s->len;) {
        size_t run = i;  // ASCII is never a mark
        while (run < s->len && (unsigned char)s->s[run] < 0x80) run++;
        if (run > i) {
            if ((rc = push_span(&o, s, i, run)) < 0) goto fail;
            i = run;
            continue;
        }
        size_t at = i;
        uint32_t c = fr__u8_next(s->s, s->len, &i);
        if (all_marks ? fr__u_is_mark(c) : fr__u_is_mark_nonspacing(c)) continue;
        if ((rc = fr__nstr_push(&o, s->s + at, i - at, s->orig[at])) < 0) goto fail;
    }
    fr__nstr_commit(s, &o);
    return 0;
fail:
    fr__nstr_free(&o);
    return rc;
}

static int nmt(fr__nstr *s) {  // normalizers/unicode.rs Nmt
    fr__nstr o = {0};
    int rc = 0;
    for (size_t i = 0; i < s->len;) {
        size_t at = i;
        uint32_t c = fr__u8_next(s->s, s->len, &i);
        if ((c >= 1 && c <= 8) || c == 0xB || (c >= 0xE && c <= 0x1F) || c == 0x7F || c == 0x8F ||
            c == 0x9F)
            continue;
        if (c == 9 || c == 0xA || c == 0xC || c == 0xD || c == 0x1680 || (c >= 0x200B && c <= 0x200F) ||
            c == 0x2028 || c == 0x2029 || c == 0x2581 || c == 0xFEFF || c == 0xFFFD)
            c = ' ';
        if ((rc = push_cp(&o, c, s->orig[at])) < 0) goto fail;
    }
    fr__nstr_commit(s, &o);
    return 0;
fail:
    fr__nstr_free(&o);
    return rc;
}

static int bytelevel_norm(fr__nstr *s) {  // every byte → its GPT-2 character
    fr__nstr o = {0};
    int rc = 0;
    for (size_t i = 0; i < s->len; i++)
        if ((rc = push_cp(&o, fr__bytelevel_char((unsigned char)s->s[i]), s->orig[i])) < 0) goto fail;
    fr__nstr_commit(s, &o);
    return 0;
fail:
    fr__nstr_free(&o);
    return rc;
}

static int strip(fr__nstr *s, int left, int right) {
    size_t a = 0, b = s->len;
    if (left)
        while (a < b) {
            size_t i = a;
            if (!fr__u_is_whitespace(fr__u8_next(s->s, s->len, &i))) break;
            a = i;
        }
    if (right)
        while (b > a) {
            size_t st = b - 1;
            while (st > a && ((unsigned char)s->s[st] & 0xC0) == 0x80) st--;
            size_t i = st;
            if (!fr__u_is_whitespace(fr__u8_next(s->s, s->len, &i))) break;
            b = st;
        }
    if (a == 0 && b == s->len) return 0;
    uint32_t end = s->orig[s->len];
    memmove(s->s, s->s + a, b - a);
    memmove(s->orig, s->orig + a, (b - a) * sizeof *s->orig);
    s->len = b - a;
    s->s[s->len] = 0;
    s->orig[s->len] = end;
    return 0;
}

static int prepend(fr__nstr *s, const char *p, size_t n) {
    if (!s->len || !n) return 0;  // HF prepends only to a non-empty string
    fr__nstr o = {0};
    int rc = fr__nstr_push(&o, p, n, s->orig[0]);
    if (rc == 0) rc = fr__nstr_push(&o, s->s, s->len, 0);
    if (rc < 0) { fr__nstr_free(&o); return rc; }
    memcpy(o.orig + n, s->orig, s->len * sizeof *o.orig);
    fr__nstr_commit(s, &o);
    return 0;
}

// NormalizedString::replace: every non-overlapping match (literal, left to right; or regex,
// Oniguruma find_iter semantics) is replaced by content, whose characters align to the last
// character of the match (HF inserts them after removing the match; an empty match takes the
// previous character's alignment, or the section start).
int fr__nstr_replace(fr__nstr *s, const char *pat, size_t pat_len, const fr__regex *re,
                     const char *content, size_t content_len) {
    fr__nstr o = {0};
    int rc = 0;
    size_t pos = 0;
    fr__matches m = {0};
    if (re) {
        if ((rc = fr__regex_find_all(re, s->s, s->len, &m)) < 0) goto fail;
    } else if (pat_len) {
        if ((rc = fr__literal_find_all(pat, pat_len, s->s, s->len, &m)) < 0) goto fail;
    }
    if (!m.n) { fr__matches_free(&m); return 0; }
    for (size_t k = 0; k < m.n; k++) {
        size_t a = m.start[k], b = m.end[k];
        if ((rc = fr__nstr_push(&o, s->s + pos, a - pos, 0)) < 0) goto fail;
        memcpy(o.orig + o.len - (a - pos), s->orig + pos, (a - pos) * sizeof *o.orig);
        uint32_t org;
        if (b > a) {
            size_t st = b - 1;
            while (st > a && ((unsigned char)s->s[st] & 0xC0) == 0x80) st--;
            org = s->orig[st];
        } else {
            org = a > 0 ? s->orig[a - 1] : s->shift;
        }
        if ((rc = fr__nstr_push(&o, content, content_len, org)) < 0) goto fail;
        pos = b;
    }
    if ((rc = fr__nstr_push(&o, s->s + pos, s->len - pos, 0)) < 0) goto fail;
    memcpy(o.orig + o.len - (s->len - pos), s->orig + pos, (s->len - pos) * sizeof *o.orig);
    fr__matches_free(&m);
    fr__nstr_commit(s, &o);
    return 0;
fail:
    fr__matches_free(&m);
    fr__nstr_free(&o);
    return rc;
}

// ---- apply ----
int fr__normalizer_apply(const fr__normalizer *n, fr__nstr *s) {
    if (!n) return 0;
    int rc = 0;
    switch (n->type) {
    case N_BERT:
        if ((n->clean_text || n->chinese) && (rc = bert_clean_chinese(n, s)) < 0) return rc;
        if (n->strip_accents) {
            if ((rc = unicode_nf(s, 0, 0)) < 0 || (rc = strip_marks(s, 0)) < 0) return rc;
        }
        if (n->lowercase) rc = lowercase(s);
        return rc;
    case N_PRECOMPILED: return fr__precompiled_apply(n->pc, s);
    case N_NFC: return unicode_nf(s, 1, 0);
    case N_NFD: return unicode_nf(s, 0, 0);
    case N_NFKC: return unicode_nf(s, 1, 1);
    case N_NFKD: return unicode_nf(s, 0, 1);
    case N_LOWERCASE: return lowercase(s);
    case N_STRIP_ACCENTS: return strip_marks(s, 1);
    case N_STRIP: return strip(s, n->left, n->right);
    case N_REPLACE:
        return fr__nstr_replace(s, n->pattern, n->pattern_len, n->re, n->content, n->content_len);
    case N_PREPEND: return prepend(s, n->content, n->content_len);
    case N_NMT: return nmt(s);
    case N_BYTELEVEL: return bytelevel_norm(s);
    case N_SEQUENCE:
        for (size_t i = 0; i < n->n_seq; i++)
            if ((rc = fr__normalizer_apply(n->seq[i], s)) < 0) return rc;
        return 0;
    }
    return FR_EINTERNAL;
}

// ---- parse ----
// Shared with pretokenizer.c; contract in textpipe.h.
int fr__json_get_bool(const json_t *j, const char *key, int dflt, int *out, const char *path,
                      fr_error *err) {
    json_t *v = json_object_get(j, key);
    if ((!v || json_is_null(v)) && dflt < 0) return fr__err(err, FR_EFORMAT, "%s: missing field `%s`", path, key);
    if (!v || json_is_null(v)) { *out = dflt; return 0; }
    if (!json_is_boolean(v)) return fr__err(err, FR_EFORMAT, "%s.%s: expected a boolean", path, key);
    *out = json_is_true(v);
    return 0;
}

static int get_string(const json_t *j, const char *key, char **out, size_t *len, const char *path,
                      fr_error *err) {
    json_t *v = json_object_get(j, key);
    if (!json_is_string(v)) return fr__err(err, FR_EFORMAT, "%s.%s: expected a string", path, key);
    size_t n = json_string_length(v);
    *out = malloc(n + 1);
    if (!*out) return fr__err(err, FR_ENOMEM, "%s: out of memory", path);
    memcpy(*out, json_string_value(v), n);
    (*out)[n] = 0;
    *len = n;
    return 0;
}

static int parse_at(const json_t *j, const char *path, int depth, fr__normalizer **out, fr_error *err) {
    *out = NULL;
    if (!j || json_is_null(j)) return 0;
    if (depth > 32) return fr__err(err, FR_EFORMAT, "%s: nested too deeply", path);
    if (!json_is_object(j)) return fr__err(err, FR_EFORMAT, "%s: expected an object", path);
    const char *type = json_string_value(json_object_get(j, "type"));
    if (!type && !json_object_get(j, "type")) {
        // tokenizers also accepts a normalizer without "type" when its fields identify one of
        // the struct variants (serde untagged fallback), in its variant order
        if (json_object_get(j, "clean_text") || json_object_get(j, "handle_chinese_chars")) type = "BertNormalizer";
        else if (json_object_get(j, "strip_left") || json_object_get(j, "strip_right")) type = "Strip";
        else if (json_object_get(j, "normalizers")) type = "Sequence";
        else if (json_object_get(j, "precompiled_charsmap")) type = "Precompiled";
        else if (json_object_get(j, "pattern")) type = "Replace";
        else if (json_object_get(j, "prepend")) type = "Prepend";
    }
    if (!type) return fr__err(err, FR_EFORMAT, "%s.type: expected a string", path);
    fr__normalizer *n = calloc(1, sizeof *n);
    if (!n) return fr__err(err, FR_ENOMEM, "%s: out of memory", path);
    int rc = 0;
    if (!strcmp(type, "BertNormalizer")) {
        n->type = N_BERT;
        if ((rc = fr__json_get_bool(j, "clean_text", -1, &n->clean_text, path, err)) < 0 ||
            (rc = fr__json_get_bool(j, "handle_chinese_chars", -1, &n->chinese, path, err)) < 0 ||
            (rc = fr__json_get_bool(j, "lowercase", -1, &n->lowercase, path, err)) < 0)
            goto fail;
        // strip_accents: null (or absent) means "same as lowercase"
        if ((rc = fr__json_get_bool(j, "strip_accents", n->lowercase, &n->strip_accents, path, err)) < 0) goto fail;
    } else if (!strcmp(type, "Precompiled")) {
        n->type = N_PRECOMPILED;
        json_t *v = json_object_get(j, "precompiled_charsmap");
        if (!json_is_string(v)) {
            rc = fr__err(err, FR_EFORMAT, "%s.precompiled_charsmap: expected a base64 string", path);
            goto fail;
        }
        if ((rc = fr__precompiled_new(json_string_value(v), json_string_length(v), &n->pc, err)) < 0) {
            fr__err_prefix(err, rc, "%s", path);
            goto fail;
        }
    } else if (!strcmp(type, "NFC")) n->type = N_NFC;
    else if (!strcmp(type, "NFD")) n->type = N_NFD;
    else if (!strcmp(type, "NFKC")) n->type = N_NFKC;
    else if (!strcmp(type, "NFKD")) n->type = N_NFKD;
    else if (!strcmp(type, "Lowercase")) n->type = N_LOWERCASE;
    else if (!strcmp(type, "StripAccents")) n->type = N_STRIP_ACCENTS;
    else if (!strcmp(type, "Nmt")) n->type = N_NMT;
    else if (!strcmp(type, "ByteLevel")) n->type = N_BYTELEVEL;
    else if (!strcmp(type, "Strip")) {
        n->type = N_STRIP;
        if ((rc = fr__json_get_bool(j, "strip_left", -1, &n->left, path, err)) < 0 ||
            (rc = fr__json_get_bool(j, "strip_right", -1, &n->right, path, err)) < 0)
            goto fail;
    } else if (!strcmp(type, "Replace")) {
        n->type = N_REPLACE;
        char sub[256];
        snprintf(sub, sizeof sub, "%s.pattern", path);
        if ((rc = fr__pattern_parse(json_object_get(j, "pattern"), sub, &n->pattern, &n->pattern_len,
                                    &n->re, err)) < 0 ||
            (rc = get_string(j, "content", &n->content, &n->content_len, path, err)) < 0)
            goto fail;
    } else if (!strcmp(type, "Prepend")) {
        n->type = N_PREPEND;
        if ((rc = get_string(j, "prepend", &n->content, &n->content_len, path, err)) < 0) goto fail;
    } else if (!strcmp(type, "Sequence")) {
        n->type = N_SEQUENCE;
        json_t *arr = json_object_get(j, "normalizers");
        if (!json_is_array(arr)) {
            rc = fr__err(err, FR_EFORMAT, "%s.normalizers: expected an array", path);
            goto fail;
        }
        size_t k = json_array_size(arr);
        n->seq = calloc(k ? k : 1, sizeof *n->seq);
        if (!n->seq) { rc = fr__err(err, FR_ENOMEM, "%s: out of memory", path); goto fail; }
        for (size_t i = 0; i < k; i++) {
            char sub[256];
            snprintf(sub, sizeof sub, "%s.normalizers[%zu]", path, i);
            if ((rc = parse_at(json_array_get(arr, i), sub, depth + 1, &n->seq[n->n_seq], err)) < 0) goto fail;
            if (n->seq[n->n_seq]) n->n_seq++;
        }
    } else {
        rc = fr__err(err, FR_EUNSUPPORTED, "%s.type: unknown normalizer \"%.64s\"", path, type);
        goto fail;
    }
    *out = n;
    return 0;
fail:
    fr__normalizer_free(n);
    return rc;
}

int fr__normalizer_parse(const json_t *j, fr__normalizer **out, fr_error *err) {
    return parse_at(j, "normalizer", 0, out, err);
}
