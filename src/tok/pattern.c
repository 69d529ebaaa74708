/* pattern.c — Hugging Face's `Pattern` (a String or a Regex) for the Replace normalizer and
 * the Split pre-tokenizer, and GPT-2's byte-level alphabet.
 *
 * HF compiles regexes with Oniguruma (Ruby syntax). We use PCRE2 (UTF + UCP, JIT) and
 * rewrite the escapes whose meaning differs, so that the patterns real tokenizers use
 * (GPT-2, RoBERTa, Llama-3, Qwen2, ` {2,}`) match the same text:
 *   \s, \S   Oniguruma: White_Space. PCRE2 10.42 UCP differs (U+0085, U+180E): spelled out.
 *   \w, \W   Oniguruma: Latin-1 letters/digits/² ³ ¹ ¼ ½ ¾, above U+00FF Alphabetic + M + Nd
 *            + Pc (see fr__u_is_onig_word). PCRE2 10.42: L + N + '_'.
 *   \h, \H   Oniguruma: hex digit. PCRE2: horizontal space.
 *   \p{X}    X a General_Category: PCRE2 10.42 has Unicode 14 tables, Oniguruma 15; the
 *            Unicode 15.0 additions (unicode_tables.c) are added to the class.
 *   \uHHHH   Ruby syntax; PCRE2 wants \x{HHHH}.
 *   ^ $      Ruby anchors are line anchors: PCRE2_MULTILINE.
 * Inside a character class \S, \W, \H keep PCRE2's meaning (no real pattern uses them).
 * Iteration follows the onig crate's find_iter: an empty match right where the previous match
 * ended is skipped by advancing one character.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <string.h>

#include "tok/textpipe.h"
#include "tok/unicode.h"

struct fr__regex {
    pcre2_code *code;
};

// ---- translation ----
#define WS_IN "\\t\\n\\x0B\\f\\r\\x20\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}"
#define HEX_IN "0-9a-fA-F"

// Appends the Unicode 15.0 additions whose General_Category matches prop ("L", "Nd", ...) as
// class ranges: PCRE2 10.42's tables stop at Unicode 14, Oniguruma's do not.
static int add_age15(fr__buf *o, const char *prop, size_t plen) {
    if (plen < 1 || plen > 2) return 0;
    for (size_t i = 0; i < fr__u_age15_n; i++) {
        const fr__u_range *r = &fr__u_age15[i];
        if ((r->cat >> 8) != (unsigned char)prop[0]) continue;
        if (plen == 2 && (r->cat & 0xFF) != (unsigned char)prop[1]) continue;
        int rc = fr__buf_printf(o, "\\x{%X}-\\x{%X}", r->a, r->b);
        if (rc < 0) return rc;
    }
    return 0;
}

// Oniguruma's \w members above U+00FF (see fr__u_is_onig_word), for use inside a class.
static int add_word(fr__buf *o) {
    int rc = fr__buf_printf(o, "\\p{L}\\p{M}\\p{Nd}\\p{Nl}\\p{Pc}\\x{B2}\\x{B3}\\x{B9}\\x{BC}-\\x{BE}");
    for (size_t i = 0; rc == 0 && i < fr__u_otheralpha_n; i++)
        rc = fr__buf_printf(o, "\\x{%X}-\\x{%X}", fr__u_otheralpha[i].a, fr__u_otheralpha[i].b);
    if (rc == 0) rc = add_age15(o, "L", 1);
    if (rc == 0) rc = add_age15(o, "M", 1);
    if (rc == 0) rc = add_age15(o, "Nd", 2);
    if (rc == 0) rc = add_age15(o, "Nl", 2);
    return rc;
}

static int translate(const char *p, size_t n, fr__buf *o) {
    int in_class = 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char c = p[i];
        if (c == '\\' && i + 1 < n) {
            char e = p[++i];
            switch (e) {
            case 's': rc = fr__buf_printf(o, in_class ? WS_IN : "[" WS_IN "]"); continue;
            case 'S': rc = fr__buf_printf(o, in_class ? "\\S" : "[^" WS_IN "]"); continue;
            case 'h': rc = fr__buf_printf(o, in_class ? HEX_IN : "[" HEX_IN "]"); continue;
            case 'H': rc = fr__buf_printf(o, in_class ? "\\H" : "[^" HEX_IN "]"); continue;
            case 'w':
            case 'W':
                if (in_class && e == 'W') { rc = fr__buf_printf(o, "\\W"); continue; }
                if (!in_class) rc = fr__buf_printf(o, e == 'w' ? "[" : "[^");
                if (rc == 0) rc = add_word(o);
                if (rc == 0 && !in_class) rc = fr__buf_putc(o, ']');
                continue;
            case 'p':
            case 'P': {
                // \p{X} / \pX with X a General_Category: add the Unicode 15 members
                const char *prop = NULL;
                size_t plen = 0, skip = 0;
                if (i + 1 < n && p[i + 1] == '{') {
                    const char *close = memchr(p + i + 2, '}', n - i - 2);
                    if (close) { prop = p + i + 2; plen = (size_t)(close - prop); skip = plen + 2; }
                } else if (i + 1 < n) {
                    prop = p + i + 1; plen = 1; skip = 1;
                }
                int gc = prop && plen >= 1 && plen <= 2 && prop[0] >= 'A' && prop[0] <= 'Z' &&
                         (plen == 1 || (prop[1] >= 'a' && prop[1] <= 'z'));
                if (!gc || (in_class && e == 'P')) {
                    char two[2] = {'\\', e};
                    rc = fr__buf_append(o, two, 2);
                    continue;
                }
                if (!in_class) rc = fr__buf_printf(o, e == 'p' ? "[" : "[^");
                if (rc == 0) rc = fr__buf_printf(o, "\\p{%.*s}", (int)plen, prop);
                if (rc == 0) rc = add_age15(o, prop, plen);
                if (rc == 0 && !in_class) rc = fr__buf_putc(o, ']');
                i += skip;
                continue;
            }
            case 'u': {
                size_t k = 0;
                while (k < 4 && i + 1 + k < n &&
                       ((p[i + 1 + k] >= '0' && p[i + 1 + k] <= '9') ||
                        ((p[i + 1 + k] | 32) >= 'a' && (p[i + 1 + k] | 32) <= 'f')))
                    k++;
                if (k == 4) {
                    rc = fr__buf_printf(o, "\\x{%.4s}", p + i + 1);
                    i += 4;
                    continue;
                }
                break;
            }
            default: break;
            }
            char two[2] = {'\\', e};
            rc = fr__buf_append(o, two, 2);
            continue;
        }
        if (!in_class && c == '[') {
            in_class = 1;
            rc = fr__buf_putc(o, c);
            // a ']' right after '[' or '[^' is literal
            if (i + 1 < n && p[i + 1] == '^') { rc = rc ? rc : fr__buf_putc(o, '^'); i++; }
            if (i + 1 < n && p[i + 1] == ']') { rc = rc ? rc : fr__buf_putc(o, ']'); i++; }
            continue;
        }
        if (in_class && c == ']') in_class = 0;
        rc = fr__buf_putc(o, c);
    }
    return rc;
}

int fr__regex_compile(const char *pat, size_t len, fr__regex **out, fr_error *err) {
    *out = NULL;
    fr__buf t = {0};
    if (translate(pat, len, &t) < 0 || fr__buf_reserve(&t, 0) < 0) {
        fr__buf_free(&t);
        return fr__err(err, FR_ENOMEM, "regex: out of memory");
    }
    int ec;
    PCRE2_SIZE eo;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)t.data, t.len,
                                     PCRE2_UTF | PCRE2_UCP | PCRE2_MULTILINE, &ec, &eo, NULL);
    fr__buf_free(&t);
    if (!code) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(ec, msg, sizeof msg);
        return fr__err(err, FR_EFORMAT, "regex \"%.80s\": %s", pat, (const char *)msg);
    }
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // optional: falls back to the interpreter
    fr__regex *re = malloc(sizeof *re);
    if (!re) {
        pcre2_code_free(code);
        return fr__err(err, FR_ENOMEM, "regex: out of memory");
    }
    re->code = code;
    *out = re;
    return 0;
}

void fr__regex_free(fr__regex *re) {
    if (!re) return;
    pcre2_code_free(re->code);
    free(re);
}

// ---- matching ----
static int matches_push(fr__matches *m, size_t a, size_t b) {
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 16;
        size_t *s = realloc(m->start, cap * sizeof *s);
        if (!s) return FR_ENOMEM;
        m->start = s;
        size_t *e = realloc(m->end, cap * sizeof *e);
        if (!e) return FR_ENOMEM;
        m->end = e;
        m->cap = cap;
    }
    m->start[m->n] = a;
    m->end[m->n] = b;
    m->n++;
    return 0;
}

void fr__matches_free(fr__matches *m) {
    free(m->start);
    free(m->end);
    memset(m, 0, sizeof *m);
}

int fr__regex_find_all(const fr__regex *re, const char *s, size_t len, fr__matches *m) {
    if (!len) return 0;  // HF: an empty input has no match, not even an empty one
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re->code, NULL);
    if (!md) return FR_ENOMEM;
    int rc = 0;
    size_t pos = 0;
    size_t last_end = (size_t)-1;
    while (pos <= len) {
        int r = pcre2_match(re->code, (PCRE2_SPTR)s, len, pos, PCRE2_NO_UTF_CHECK, md, NULL);
        if (r == PCRE2_ERROR_JIT_STACKLIMIT)
            r = pcre2_match(re->code, (PCRE2_SPTR)s, len, pos, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, md, NULL);
        if (r == PCRE2_ERROR_NOMATCH) break;
        if (r < 0) { rc = FR_ERANGE; break; }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        size_t a = ov[0], b = ov[1];
        if (b < a) { rc = FR_EINTERNAL; break; }  // \K tricks; never in real patterns
        if (a == b && last_end == b) {
            if (pos >= len) break;
            pos += fr__u8_len((unsigned char)s[pos]);
            continue;
        }
        if ((rc = matches_push(m, a, b)) < 0) break;
        last_end = b;
        pos = b;
    }
    pcre2_match_data_free(md);
    return rc;
}

int fr__literal_find_all(const char *pat, size_t plen, const char *s, size_t len, fr__matches *m) {
    size_t pos = 0;
    while (plen && pos + plen <= len) {
        const char *h = memmem(s + pos, len - pos, pat, plen);
        if (!h) break;
        size_t a = (size_t)(h - s);
        int rc = matches_push(m, a, a + plen);
        if (rc < 0) return rc;
        pos = a + plen;
    }
    return 0;
}

// ---- JSON ----
int fr__pattern_parse(const json_t *j, const char *path, char **lit, size_t *lit_len, fr__regex **re,
                      fr_error *err) {
    *lit = NULL;
    *lit_len = 0;
    *re = NULL;
    json_t *v;
    if (json_is_object(j) && (v = json_object_get(j, "String")) && json_is_string(v)) {
        size_t n = json_string_length(v);
        *lit = malloc(n + 1);
        if (!*lit) return fr__err(err, FR_ENOMEM, "%s: out of memory", path);
        memcpy(*lit, json_string_value(v), n + 1);
        *lit_len = n;
        return 0;
    }
    if (json_is_object(j) && (v = json_object_get(j, "Regex")) && json_is_string(v)) {
        int rc = fr__regex_compile(json_string_value(v), json_string_length(v), re, err);
        if (rc < 0) fr__err_prefix(err, rc, "%s", path);
        return rc;
    }
    return fr__err(err, FR_EFORMAT, "%s: expected {\"String\": ...} or {\"Regex\": ...}", path);
}

// ---- byte-level alphabet ----
// GPT-2 bytes_to_unicode: printable Latin-1 bytes map to themselves, the other 68 bytes to
// U+0100.. in byte order.
uint32_t fr__bytelevel_char(unsigned char b) {
    if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174) return b;
    uint32_t k = b <= 32 ? b : b <= 160 ? (uint32_t)b - 127 + 33 : 33 + 34;
    return 256 + k;
}
