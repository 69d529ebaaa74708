/* tok.h — internal interface of the tokenizer proper (src/tok/): the string→id vocabulary
 * map, the three (four) models, the added vocabulary, post-processors and truncation, and
 * the growable encoding they all append to. The text half (normalizers, pre-tokenizers)
 * lives behind textpipe.h; tokenizer.c wires both into fr_tokenizer_encode().
 *
 * Every component is parsed once from its tokenizer.json value, is immutable afterwards
 * (so one fr_tokenizer serves many threads) and takes per-call scratch from the caller.
 * Behaviour follows Hugging Face tokenizers 0.22.2; each file names the Rust source it
 * matches.
 */
#ifndef FR_TOK_H
#define FR_TOK_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"

// ---- vocabulary map ----
// Open-addressing hash map from byte strings to int32 ids; the strings are copied into one
// arena. Tuned for 30k–250k entries looked up millions of times per second.
typedef struct fr__vocab {
    char *arena;          // all keys, back to back
    size_t arena_len, arena_cap;
    uint64_t *slots;      // (cap) 0 = empty, else hash tag (high 32 bits) | (entry index + 1)
    struct fr__vocab_ent { uint32_t off, len; int32_t val; } *ent;  // (n) key in arena, id
    size_t n, ncap, cap;  // entries, entry capacity, slot count (power of two)
    uint32_t max_klen;    // longest key, bounds greedy searches
} fr__vocab;

// Inserts or overwrites (a later insert of the same key replaces the id, as a Rust
// HashMap built by collect() does). Returns 0 or FR_ENOMEM.
int fr__vocab_put(fr__vocab *v, const char *key, size_t len, int32_t id);
int32_t fr__vocab_get(const fr__vocab *v, const char *key, size_t len);  // -1 if absent
void fr__vocab_free(fr__vocab *v);
uint64_t fr__hash_bytes(const void *p, size_t n);

// ---- encoding under construction ----
// ids / type ids and (when want_tokens) token strings stored in `text` at tok_off[i], NUL
// terminated. One fr__enc per input sequence, then the post-processor concatenates.
typedef struct fr__enc {
    int32_t *ids;        // (n)
    uint8_t *type_ids;   // (n)
    uint32_t *tok_off;   // (n) offsets into text; only when want_tokens
    size_t n, cap;
    fr__buf text;
    int want_tokens;
} fr__enc;

int fr__enc_push(fr__enc *e, int32_t id, const char *tok, size_t tok_len);
int fr__enc_append(fr__enc *dst, const fr__enc *src, size_t start, size_t count);
void fr__enc_truncate(fr__enc *e, size_t keep, int left);  // keep `keep` tokens
void fr__enc_free(fr__enc *e);

// ---- models ----
typedef enum { FR__MODEL_WORDPIECE, FR__MODEL_UNIGRAM, FR__MODEL_BPE, FR__MODEL_WORDLEVEL } fr__model_kind;
typedef struct fr__model fr__model;

// Parses tokenizer.json "model" (with or without a "type" key). Errors name the field under
// `path` ("model.vocab[17]: ..."). OUT: *out, free with fr__model_free.
int fr__model_parse(const json_t *j, const char *path, fr__model **out, fr_error *err);
void fr__model_free(fr__model *m);
// Appends the tokens of one pre-tokenized piece (valid UTF-8) to `out`.
int fr__model_tokenize(const fr__model *m, const char *s, size_t len, fr__enc *out,
                       fr_error *err);
size_t fr__model_vocab_size(const fr__model *m);           // as HF get_vocab_size()
int32_t fr__model_token_to_id(const fr__model *m, const char *s, size_t len);
const char *fr__model_id_to_token(const fr__model *m, int32_t id);  // NULL if none

// Per-model constructors used by fr__model_parse (each file owns one).
typedef struct fr__wordpiece fr__wordpiece;
int fr__wordpiece_parse(const json_t *j, const char *path, int wordlevel, fr__wordpiece **out,
                        fr_error *err);
void fr__wordpiece_free(fr__wordpiece *m);
int fr__wordpiece_tokenize(const fr__wordpiece *m, const char *s, size_t len, fr__enc *out,
                           fr_error *err);
const fr__vocab *fr__wordpiece_vocab(const fr__wordpiece *m);
const char *fr__wordpiece_id_to_token(const fr__wordpiece *m, int32_t id);

typedef struct fr__unigram fr__unigram;
int fr__unigram_parse(const json_t *j, const char *path, fr__unigram **out, fr_error *err);
void fr__unigram_free(fr__unigram *m);
int fr__unigram_tokenize(const fr__unigram *m, const char *s, size_t len, fr__enc *out,
                         fr_error *err);
size_t fr__unigram_size(const fr__unigram *m);
int32_t fr__unigram_token_to_id(const fr__unigram *m, const char *s, size_t len);
const char *fr__unigram_id_to_token(const fr__unigram *m, int32_t id);

typedef struct fr__bpe fr__bpe;
int fr__bpe_parse(const json_t *j, const char *path, fr__bpe **out, fr_error *err);
void fr__bpe_free(fr__bpe *m);
int fr__bpe_tokenize(const fr__bpe *m, const char *s, size_t len, fr__enc *out, fr_error *err);
const fr__vocab *fr__bpe_vocab(const fr__bpe *m);
const char *fr__bpe_id_to_token(const fr__bpe *m, int32_t id);

// ---- post-processors ----
typedef struct fr__postproc fr__postproc;
// JSON null → *out = NULL (HF's default_process: concatenation, type ids 0 / 1).
int fr__postproc_parse(const json_t *j, const char *path, fr__postproc **out, fr_error *err);
void fr__postproc_free(fr__postproc *p);
size_t fr__postproc_added(const fr__postproc *p, int is_pair);  // HF added_tokens()
// Concatenates encs[0..n_enc) (n_enc 1 or 2) into *out through the processor. type_ids in
// encs are set by the caller (0 / 1) and may be rewritten.
int fr__postproc_apply(const fr__postproc *p, fr__enc *encs, size_t n_enc, int add_special,
                       fr__enc *out, fr_error *err);

// ---- truncation ----
typedef struct fr__trunc {
    int enabled;
    size_t max_length;
    int strategy;  // fr_trunc_strategy
    int left;      // direction Left
    size_t stride;
} fr__trunc;
// HF utils/truncation.rs truncate_encodings(); pair may be NULL.
int fr__truncate(fr__enc *a, fr__enc *b, const fr__trunc *t, fr_error *err);

// ---- byte trie (trie.c; used by unigram.c and added.c) ----
typedef struct fr__trie {
    uint64_t *ekeys;   // (ecap) edge key (node << 8 | byte) + 1; 0 = empty slot
    uint32_t *echild;  // (ecap) child node of the edge
    size_t ecap, n_edges;
    int32_t *leaf;     // (n_nodes) id ending at the node, or -1; set by the caller
    size_t n_nodes, nodes_cap;
    size_t init_cap;   // first size of both tables (a power of two)
} fr__trie;
// Empties *t and creates the root (node 0); init_cap (a power of two) sizes the first tables.
// Free with fr__trie_free even on failure.
int fr__trie_init(fr__trie *t, size_t init_cap);
// Walks s[0..len) from the root, adding the missing nodes; OUT: *node, the node s ends at
// (0 when len == 0). The caller sets leaf[*node].
int fr__trie_insert(fr__trie *t, const char *s, size_t len, uint32_t *node);
void fr__trie_free(fr__trie *t);  // frees the tables; *t is left empty
static inline uint64_t fr__trie_hash(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return k;
}
// Child of node along byte b, or -1. Needs an initialised trie.
static inline int32_t fr__trie_child(const fr__trie *t, uint32_t node, unsigned char b) {
    uint64_t key = ((uint64_t)node << 8 | b) + 1;
    size_t j = fr__trie_hash(key) & (t->ecap - 1);
    for (;;) {
        uint64_t k = t->ekeys[j];
        if (k == key) return (int32_t)t->echild[j];
        if (!k) return -1;
        j = (j + 1) & (t->ecap - 1);
    }
}

// ---- UTF-8 and Unicode classes ----
// Length of the valid UTF-8 prefix (Rust str rules: no overlongs, surrogates, > U+10FFFF).
size_t fr__utf8_valid_prefix(const char *s, size_t len);
// Decodes the char at s (valid UTF-8); returns its byte length.
static inline int fr__utf8_dec(const unsigned char *s, uint32_t *cp) {
    unsigned c = s[0];
    if (c < 0x80) { *cp = c; return 1; }
    if (c < 0xE0) { *cp = ((c & 0x1Fu) << 6) | (s[1] & 0x3Fu); return 2; }
    if (c < 0xF0) { *cp = ((c & 0x0Fu) << 12) | ((s[1] & 0x3Fu) << 6) | (s[2] & 0x3Fu); return 3; }
    *cp = ((c & 0x07u) << 18) | ((s[1] & 0x3Fu) << 12) | ((s[2] & 0x3Fu) << 6) | (s[3] & 0x3Fu);
    return 4;
}
static inline int fr__utf8_len(unsigned char c) {
    return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}
int fr__uni_is_word(uint32_t cp);   // Rust regex \w (Unicode)
int fr__uni_is_space(uint32_t cp);  // Rust regex \s (White_Space)

#endif
