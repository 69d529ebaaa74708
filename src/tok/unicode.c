/* unicode.c — Unicode predicates matching the Rust functions Hugging Face tokenizers 0.22
 * calls, built on utf8proc's tables (Debian 12: utf8proc 2.8, Unicode 15.0).
 *
 * Rust's std tables are Unicode 16 (tokenizers 0.22.2's toolchain); the few Unicode 16
 * case pairs utf8proc 2.8 lacks are patched in fr__u_to_lower. Other Unicode 16 additions
 * (unassigned for utf8proc) are the known residual difference; tests skip code points that
 * utf8proc reports as unassigned.
 * The unicode_categories crate (is_punctuation, is_other, is_mark_nonspacing: BertNormalizer,
 * BertPreTokenizer, Punctuation) has Unicode 8.0 tables: code points assigned later are
 * unassigned there (fr__u_after8), and U+166D was still Po.
 * White_Space is a fixed 25-code-point list (stable since Unicode 6.3), spelled out here
 * because utf8proc has no property for it.
 */
#include <utf8proc.h>

#include "tok/unicode.h"

// ---- UTF-8 ----
uint32_t fr__u8_next(const char *s, size_t len, size_t *i) {
    const unsigned char *p = (const unsigned char *)s + *i;
    size_t n = fr__u8_len(p[0]);
    if (*i + n > len) n = 1;
    uint32_t cp;
    switch (n) {
    case 1: cp = p[0]; break;
    case 2: cp = ((uint32_t)(p[0] & 0x1F) << 6) | (p[1] & 0x3F); break;
    case 3: cp = ((uint32_t)(p[0] & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3F); break;
    default:
        cp = ((uint32_t)(p[0] & 0x07) << 18) | ((uint32_t)(p[1] & 0x3F) << 12) |
             ((uint32_t)(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
    }
    *i += n;
    return cp;
}

size_t fr__u8_put(uint32_t cp, char out[4]) {
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

// ---- categories ----
int fr__u_category(uint32_t cp) {
    if (cp > 0x10FFFF) return UTF8PROC_CATEGORY_CN;
    return utf8proc_category((utf8proc_int32_t)cp);
}

int fr__u_is_whitespace(uint32_t cp) {
    if (cp < 0x80) return (cp >= 9 && cp <= 13) || cp == 32;
    switch (cp) {
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F:
    case 0x3000:
        return 1;
    default:
        return cp >= 0x2000 && cp <= 0x200A;
    }
}

int fr__u_is_numeric(uint32_t cp) {
    if (cp < 0x80) return cp >= '0' && cp <= '9';
    int c = fr__u_category(cp);
    return c == UTF8PROC_CATEGORY_ND || c == UTF8PROC_CATEGORY_NL || c == UTF8PROC_CATEGORY_NO;
}

long fr__u_find(const fr__u_range *r, size_t n, uint32_t cp) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < r[mid].a) hi = mid;
        else if (cp > r[mid].b) lo = mid + 1;
        else return (long)mid;
    }
    return -1;
}

int fr__u_age(uint32_t cp) {
    long i = fr__u_find(fr__u_ages, fr__u_ages_n, cp);
    return i < 0 ? 0 : fr__u_ages[i].cat;
}

int fr__u_script(uint32_t cp) {
    if (cp == ' ') return 0;
    if (cp == 0x30FC) return fr__u_script_han;
    long i = fr__u_find(fr__u_scripts, fr__u_scripts_n, cp);
    if (i < 0) return 0;
    int k = fr__u_scripts[i].cat;
    return k == fr__u_script_hiragana || k == fr__u_script_katakana ? fr__u_script_han : k;
}

static int after8(uint32_t cp) { return cp >= 0x80 && fr__u_age(cp) > 80; }

int fr__u_nf_inert(uint32_t cp) { return cp >= 0x80 && fr__u_age(cp) > 90; }

int fr__u_is_punctuation(uint32_t cp) {
    // Po in Unicode 8.0, recategorised since: CANADIAN SYLLABICS CHI SIGN (So),
    // SHARADA SANDHI MARK (Mn)
    if (cp == 0x166D || cp == 0x111C9) return 1;
    int c = fr__u_category(cp);
    return c >= UTF8PROC_CATEGORY_PC && c <= UTF8PROC_CATEGORY_PO && !after8(cp);
}

int fr__u_is_bert_punc(uint32_t cp) {
    if (cp < 0x80)
        return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
               (cp >= 123 && cp <= 126);
    return fr__u_is_punctuation(cp);
}

int fr__u_is_other(uint32_t cp) {
    int c = fr__u_category(cp);
    return (c == UTF8PROC_CATEGORY_CC || c == UTF8PROC_CATEGORY_CF || c == UTF8PROC_CATEGORY_CO ||
            c == UTF8PROC_CATEGORY_CS) && !after8(cp);
}

int fr__u_is_mark_nonspacing(uint32_t cp) {
    if (cp < 0x300) return 0;
    // categories in Unicode 8.0 that changed since: HANUNOO SIGN PAMUDPOD was Mn; MONGOLIAN
    // LETTER ALI GALI BALUDA/THREE BALUDA, JAVANESE CONSONANT SIGN KERET, SHARADA SANDHI MARK
    // were not
    if (cp == 0x1734) return 1;
    if (cp == 0x1885 || cp == 0x1886 || cp == 0xA9BD || cp == 0x111C9) return 0;
    return fr__u_category(cp) == UTF8PROC_CATEGORY_MN && !after8(cp);
}

// Oniguruma's Unicode \w as HF's onig build behaves (probed through the oracle): below
// U+0100 its Latin-1 table, i.e. letters, digits, '_' and the No characters ² ³ ¹ ¼ ½ ¾;
// above, Alphabetic + Mark + Nd + Pc (UTS #18 without Join_Control). Alphabetic = L + Nl +
// Other_Alphabetic; the Other_Alphabetic code points outside M are the circled/squared Latin
// letters (So).
int fr__u_is_onig_word(uint32_t cp) {
    if (cp < 0x80)
        return (cp >= '0' && cp <= '9') || (cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z') ||
               cp == '_';
    int c = fr__u_category(cp);
    if (cp < 0x100) return c <= UTF8PROC_CATEGORY_LO || (c >= UTF8PROC_CATEGORY_ND && c <= UTF8PROC_CATEGORY_NO);
    if (fr__u_find(fr__u_otheralpha, fr__u_otheralpha_n, cp) >= 0) return 1;
    return (c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_ND) || c == UTF8PROC_CATEGORY_NL ||
           c == UTF8PROC_CATEGORY_PC;
}

// Rust regex crate's \w (UTS #18 Word): Alphabetic + M + Nd + Pc + Join_Control.
int fr__u_is_rust_word(uint32_t cp) {
    if (cp < 0x80)
        return (cp >= '0' && cp <= '9') || (cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z') ||
               cp == '_';
    if (cp == 0x200C || cp == 0x200D) return 1;
    if (fr__u_find(fr__u_otheralpha, fr__u_otheralpha_n, cp) >= 0) return 1;
    int c = fr__u_category(cp);
    return (c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_ND) || c == UTF8PROC_CATEGORY_NL ||
           c == UTF8PROC_CATEGORY_PC;
}

int fr__u_is_mark(uint32_t cp) {
    if (cp < 0x300) return 0;
    // Unicode 9.0 categories: VEDIC SIGN ARDHAVISARGA/ROTATED ARDHAVISARGA were Mc, SHARADA
    // SANDHI MARK was Po
    if (cp == 0x1CF2 || cp == 0x1CF3) return 1;
    if (cp == 0x111C9) return 0;
    int c = fr__u_category(cp);
    return c >= UTF8PROC_CATEGORY_MN && c <= UTF8PROC_CATEGORY_ME && fr__u_age(cp) <= 90;
}

// ---- case ----
int fr__u_to_lower(uint32_t cp, uint32_t out[3]) {
    if (cp < 0x80) {
        out[0] = (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
        return 1;
    }
    // SpecialCasing.txt's only unconditional multi-code-point lowercase mapping.
    if (cp == 0x130) { out[0] = 'i'; out[1] = 0x307; return 2; }
    // Unicode 16.0 case pairs missing from utf8proc 2.8 (Unicode 15.0).
    if (cp == 0x1C89) { out[0] = 0x1C8A; return 1; }
    if (cp == 0xA7CB) { out[0] = 0x0264; return 1; }
    if (cp == 0xA7CC) { out[0] = 0xA7CD; return 1; }
    if (cp == 0xA7DA) { out[0] = 0xA7DB; return 1; }
    if (cp == 0xA7DC) { out[0] = 0x019B; return 1; }
    if (cp >= 0x10D50 && cp <= 0x10D65) { out[0] = cp + 0x20; return 1; }
    if (cp > 0x10FFFF) { out[0] = cp; return 1; }
    out[0] = (uint32_t)utf8proc_tolower((utf8proc_int32_t)cp);
    return 1;
}
