/* textpipe.h — the text half of a Hugging Face tokenizer: normalizers and pre-tokenizers
 * (internal interface between src/tok/normalizer.c, src/tok/pretokenizer.c and the
 * tokenizer proper in src/tok/tokenizer.c). Helpers: pattern.c (HF's String/Regex pattern on
 * PCRE2, GPT-2 byte alphabet), precompiled.c (SentencePiece charsmap), unicode.c and
 * unicode_tables.c (the Unicode predicates of the Rust crates HF uses, at their versions).
 * Conformance: tests/test_normalizer.c, tests/test_pretokenizer.c against goldens from
 * scripts/tok/gen_textpipe_goldens.js (the HF oracle), including per-code-point sweeps and
 * alignments.
 *
 * Data flow for one input section (a run of the original text between added tokens):
 *   fr__nstr  (original bytes → normalized bytes, with alignment to the original)
 *     → fr__normalizer_apply()           (in place)
 *     → [tokenizer.c splits on normalized added tokens with fr__nstr_slice()]
 *     → fr__pretok_apply()               (→ fr__pieces: the strings the model sees)
 *
 * Alignment: orig[i] is the byte offset in the ORIGINAL input (the whole text given to
 * encode, not the section) of the start of the original character that normalized byte i
 * came from, as Hugging Face's NormalizedString alignments do (their `.0`); orig[len] is the
 * original end offset of the section. `shift` is the original offset of the section itself
 * (HF's original_shift): Metaspace's prepend_scheme "first" prepends only when the string it
 * sees has shift 0 (HF: `normalized.offsets_original().0 == 0`).
 */
#ifndef FR_TEXTPIPE_H
#define FR_TEXTPIPE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"

// ---- normalized string ----
typedef struct fr__nstr {
    char *s;         // (len + 1) bytes, NUL-terminated, valid UTF-8
    uint32_t *orig;  // (len + 1) entries, see above
    size_t len, cap;
    uint32_t shift;  // original offset of this string's start (HF original_shift)
} fr__nstr;

// Initialises from original text [text, text+len) that starts at original offset `shift`.
// The caller has validated UTF-8. OUT: *s, release with fr__nstr_free.
int fr__nstr_init(fr__nstr *s, const char *text, size_t len, uint32_t shift);
// A copy of normalized bytes [start, end) (on char boundaries) with their alignment, as HF's
// NormalizedString::slice(Range::Normalized): shift = parent shift + offset of orig[start]
// relative to the parent's original start.
int fr__nstr_slice(const fr__nstr *s, size_t start, size_t end, fr__nstr *out);
void fr__nstr_free(fr__nstr *s);
// Appends bytes b[0..n) (whole characters) all aligned to original offset `orig` (used by the
// normalizers to build their output; s->orig[len] is kept as the section's original end).
int fr__nstr_push(fr__nstr *s, const char *b, size_t n, uint32_t orig);
// Replaces dst's bytes and alignment with src's (keeps dst->shift and its original end), and
// frees src. The normalizers build into a fresh string, then commit it with this.
void fr__nstr_commit(fr__nstr *dst, fr__nstr *src);

// ---- patterns (pattern.c): HF's Pattern (String / Regex), regexes on PCRE2 ----
typedef struct fr__regex fr__regex;
// Compiles an Oniguruma (Ruby syntax) pattern as HF's SysRegex would, on PCRE2. OUT: *out.
int fr__regex_compile(const char *pat, size_t len, fr__regex **out, fr_error *err);
void fr__regex_free(fr__regex *re);
// Match list: byte ranges [start[i], end[i]) in increasing order (empty matches possible).
typedef struct fr__matches {
    size_t n, cap;
    size_t *start, *end;
} fr__matches;
// All matches of re in s[0..len) with Oniguruma find_iter semantics (an empty match right
// after the previous match is skipped). Appends to m. FR_ERANGE if PCRE2 hits its limits.
int fr__regex_find_all(const fr__regex *re, const char *s, size_t len, fr__matches *m);
// Non-overlapping occurrences of pat (plen > 0), left to right. Appends to m.
int fr__literal_find_all(const char *pat, size_t plen, const char *s, size_t len, fr__matches *m);
void fr__matches_free(fr__matches *m);
// Parses {"String": "..."} or {"Regex": "..."} (path names the field in errors). OUT: either
// *lit (malloc'd, NUL-terminated, *lit_len bytes) or *re.
int fr__pattern_parse(const json_t *j, const char *path, char **lit, size_t *lit_len, fr__regex **re,
                      fr_error *err);
// GPT-2's byte → character map (bytes_to_unicode).
uint32_t fr__bytelevel_char(unsigned char b);
// NormalizedString::replace (literal pat, or re when not NULL), see normalizer.c.
int fr__nstr_replace(fr__nstr *s, const char *pat, size_t pat_len, const fr__regex *re,
                     const char *content, size_t content_len);

// NormalizedString::transform: cps[i] with HF change changes[i] (see normalizer.c), cursor
// starting after `initial` characters; rebuilds s with HF's alignments.
int fr__nstr_transform(fr__nstr *s, const uint32_t *cps, const int32_t *changes, size_t n, size_t initial);

// ---- precompiled (SentencePiece charsmap, precompiled.c) ----
typedef struct fr__precompiled fr__precompiled;
// b64: the base64 "precompiled_charsmap". OUT: *out (free with fr__precompiled_free).
int fr__precompiled_new(const char *b64, size_t len, fr__precompiled **out, fr_error *err);
// Normalizes s as tokenizers' Precompiled normalizer does (per extended grapheme cluster).
int fr__precompiled_apply(const fr__precompiled *p, fr__nstr *s);
void fr__precompiled_free(fr__precompiled *p);

// ---- normalizers ----
// BertNormalizer, Precompiled, NFC, NFD, NFKC, NFKD, Lowercase, StripAccents, Strip,
// Replace, Prepend, Sequence (and the legacy forms real files use).
typedef struct fr__normalizer fr__normalizer;
// j is the tokenizer.json "normalizer" value; JSON null gives *out = NULL (identity).
// Errors name the field: "normalizer.normalizers[1].pattern: ...".
int fr__normalizer_parse(const json_t *j, fr__normalizer **out, fr_error *err);

// Reads the boolean field j[key] of a normalizer or pre-tokenizer (defined in normalizer.c,
// shared with pretokenizer.c): absent or null → dflt, or an error when dflt < 0 (a field
// tokenizers' serde requires); anything else but a bool → an error naming path.key.
int fr__json_get_bool(const json_t *j, const char *key, int dflt, int *out, const char *path,
                      fr_error *err);
int fr__normalizer_apply(const fr__normalizer *n, fr__nstr *s);  // NULL n: no-op
void fr__normalizer_free(fr__normalizer *n);

// ---- pre-tokenizers ----
// BertPreTokenizer, Whitespace, WhitespaceSplit, Metaspace, Punctuation, Digits, Split,
// ByteLevel, Sequence, CharDelimiterSplit, UnicodeScripts.
typedef struct fr__pretok fr__pretok;

// The output: pieces whose bytes live in `text`; piece i is text[off[i], off[i]+len[i]).
typedef struct fr__pieces {
    fr__buf text;
    size_t n, cap;
    uint32_t *off, *len;
} fr__pieces;

int fr__pretok_parse(const json_t *j, fr__pretok **out, fr_error *err);  // null → NULL
// Appends the pieces of `s` to `out` (does not clear it). NULL p: the whole string is one
// piece (an empty string gives no piece).
int fr__pretok_apply(const fr__pretok *p, const fr__nstr *s, fr__pieces *out);
void fr__pretok_free(fr__pretok *p);
void fr__pieces_clear(fr__pieces *p);
void fr__pieces_free(fr__pieces *p);

// ByteLevel pre-tokenizers mean the model's vocabulary is in GPT-2's byte→char alphabet; the
// ByteLevel decoder/post-processor need nothing else from here.
int fr__pretok_is_bytelevel(const fr__pretok *p);

#endif
