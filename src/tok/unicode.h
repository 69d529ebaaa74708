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
int fr__u_is_punctuation(uint32_t cp);      // unicode_categories is_punctuation (P*)
int fr__u_is_bert_punc(uint32_t cp);        // ASCII punctuation or P*
int fr__u_is_other(uint32_t cp);            // unicode_categories is_other as HF sees it: Cc Cf Co Cs
int fr__u_is_mark_nonspacing(uint32_t cp);  // Mn
int fr__u_is_onig_word(uint32_t cp);        // Oniguruma Unicode \w
int fr__u_is_rust_word(uint32_t cp);        // Rust regex crate Unicode \w
int fr__u_is_mark(uint32_t cp);             // M (Mn Mc Me): unicode-normalization is_combining_mark
// Rust char::to_lowercase: writes up to 3 code points to out, returns the count.
int fr__u_to_lower(uint32_t cp, uint32_t out[3]);

#endif
