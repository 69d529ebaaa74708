/* unicode.h — the Unicode character predicates and UTF-8 helpers the text pipeline needs,
 * each matching the Rust function Hugging Face tokenizers calls (see unicode.c).
 */
#ifndef FR_TOK_UNICODE_H
#define FR_TOK_UNICODE_H

#include <stddef.h>
#include <stdint.h>

// Decodes the code point at s[*i] (valid UTF-8 assumed; a stray byte decodes as itself) and
// advances *i past it.
uint32_t fr__u8_next(const char *s, size_t len, size_t *i);
// Bytes of the UTF-8 sequence starting with lead byte b (1 for stray bytes).
static inline size_t fr__u8_len(unsigned char b) {
    return b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
}
size_t fr__u8_put(uint32_t cp, char out[4]);  // returns 1..4

int fr__u_category(uint32_t cp);            // utf8proc category (UTF8PROC_CATEGORY_*)
int fr__u_is_whitespace(uint32_t cp);       // Rust char::is_whitespace (White_Space)
int fr__u_is_numeric(uint32_t cp);          // Rust char::is_numeric (Nd, Nl, No)
int fr__u_is_punctuation(uint32_t cp);      // unicode_categories is_punctuation (P*, Unicode 8.0)
int fr__u_is_bert_punc(uint32_t cp);        // ASCII punctuation or P*
int fr__u_is_other(uint32_t cp);            // unicode_categories is_other: Cc Cf Co Cs (Unicode 8.0)
int fr__u_is_mark_nonspacing(uint32_t cp);  // unicode_categories Mn (Unicode 8.0)
int fr__u_is_onig_word(uint32_t cp);        // Oniguruma Unicode \w
int fr__u_is_rust_word(uint32_t cp);        // Rust regex crate Unicode \w
int fr__u_is_mark(uint32_t cp);             // is_combining_mark (M, Unicode 9.0)
// Rust char::to_lowercase: writes up to 3 code points to out, returns the count.
int fr__u_to_lower(uint32_t cp, uint32_t out[3]);

// ---- generated tables (unicode_tables.c, scripts/tok/gen_unicode_tables.py) ----
typedef struct fr__u_range {
    uint32_t a, b;  // inclusive
    uint16_t cat;   // General_Category as ('L' << 8) | 'u' (fr__u_age15 only)
} fr__u_range;
extern const fr__u_range fr__u_ages[], fr__u_age15[], fr__u_otheralpha[];
extern const size_t fr__u_ages_n, fr__u_age15_n, fr__u_otheralpha_n;
extern const fr__u_range fr__u_scripts[];  // unicode_scripts.c
extern const size_t fr__u_scripts_n;
extern const char *const fr__u_script_names[];
extern const int fr__u_script_han, fr__u_script_hiragana, fr__u_script_katakana;
// The UnicodeScripts pre-tokenizer's fixed_script(): 0 = Any (space, and everything its
// Unicode 9.0 table lacks); Hiragana, Katakana and U+30FC count as Han.
int fr__u_script(uint32_t cp);
// Index of the range holding cp, or -1 (ranges sorted, disjoint).
long fr__u_find(const fr__u_range *r, size_t n, uint32_t cp);
// When cp was assigned (DerivedAge 15.0): 80 = by Unicode 8.0, 90 = in 9.0, 150 = in 10.0..15.0,
// 0 = unassigned in 15.0.
int fr__u_age(uint32_t cp);
// Canonical combining class / decomposition as unicode-normalization-alignments (Unicode 9.0)
// sees them: code points assigned later are inert starters.
int fr__u_nf_inert(uint32_t cp);

#endif
