/* pattern.c — Hugging Face's `Pattern` (a String or a Regex) for the Replace normalizer and
 * the Split pre-tokenizer, and GPT-2's byte-level alphabet.
 *
 * HF compiles regexes with Oniguruma (Ruby syntax). We use PCRE2 (UTF + UCP, JIT) and
 * rewrite the escapes whose meaning differs, so that the patterns real tokenizers use
 * (GPT-2, RoBERTa, Llama-3, Qwen2, ` {2,}`) match the same text:
 *   \s, \S   Oniguruma: White_Space. PCRE2 UCP: Z + \t\n\v\f\r, i.e. without U+0085.
 *   \w, \W   Oniguruma: Latin-1 letters/digits/² ³ ¹ ¼ ½ ¾, above U+00FF Alphabetic + M + Nd
 *            + Pc (see fr__u_is_onig_word). PCRE2 10.42: L + N + '_'.
 *   \h, \H   Oniguruma: hex digit. PCRE2: horizontal space.
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
#define WS_IN "\\s\\x{85}"
#define WORD_IN                                                                      \
    "\\p{L}\\p{M}\\p{Nd}\\p{Nl}\\p{Pc}\\x{B2}\\x{B3}\\x{B9}\\x{BC}-\\x{BE}\\x{24B6}-\\x{24E9}" \
    "\\x{1F130}-\\x{1F149}\\x{1F150}-\\x{1F169}\\x{1F170}-\\x{1F189}"
#define HEX_IN "0-9a-fA-F"

static int translate(const char *p, size_t n, fr__buf *o) {
    int in_class = 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char c = p[i];
        if (c == '\\' && i + 1 < n) {
            char e = p[++i];
            const char *rep = NULL;
            switch (e) {
            case 's': rep = in_class ? WS_IN : "[" WS_IN "]"; break;
            case 'S': rep = in_class ? "\\S" : "[^" WS_IN "]"; break;
            case 'w': rep = in_class ? WORD_IN : "[" WORD_IN "]"; break;
            case 'W': rep = in_class ? "\\W" : "[^" WORD_IN "]"; break;
            case 'h': rep = in_class ? HEX_IN : "[" HEX_IN "]"; break;
            case 'H': rep = in_class ? "\\H" : "[^" HEX_IN "]"; break;
            case 'u':
                {
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
                }
                break;
            default: break;
            }
            if (rep) rc = fr__buf_append(o, rep, strlen(rep));
            else {
                char two[2] = {'\\', e};
                rc = fr__buf_append(o, two, 2);
            }
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
