/* analyzer.c — the index analyzer: text → terms with positions, identical at index and query
 * time (fr_analyzer_* / fr_analyze in finerank.h).
 *
 * Pipeline: (1) invalid UTF-8 bytes become spaces; (2) NFKC + Unicode case folding (+ accent
 * folding = strip combining marks) with utf8proc_map — pure-ASCII text skips this and is
 * lower-cased in place, the common case for English corpora; (3) word segmentation: a word is
 * a run of letters, marks and digits (Unicode categories L*, M*, N*); an apostrophe (U+0027,
 * U+2019) or a period between two letters and a period or comma between two digits stay
 * inside the word, as the MidLetter / MidNumLet / MidNum rules of UAX #29 do; Han, Hiragana,
 * Katakana and Hangul characters are not word characters but form CJK runs, emitted as
 * overlapping bigrams (a one-character run as a unigram), as Lucene's CJKBigramFilter does;
 * (4) English possessive "'s" is dropped (Lucene's EnglishPossessiveFilter); (5) stopwords
 * (built-in lists: Lucene's English set; the most frequent Snowball stopwords for French,
 * German, Spanish, Italian, Portuguese and Dutch) are dropped without leaving a position gap;
 * (6) Snowball stemming with libstemmer.
 *
 * Tuned for indexing throughput: stemming costs ~100-300 ns a word, so each analyzer keeps a
 * cache word → stem (or → stopword) in an open-addressing table over an arena; Zipfian
 * vocabularies hit it > 99% of the time. The cache is cleared when it reaches 1M entries.
 * At a million documents the table is tens of MB and each lookup of a rarer word is a cache
 * miss, the largest single cost of indexing: so an entry is 32 bytes (two per cache line,
 * the table 64-byte aligned) and holds words of up to 12 bytes inline (95% of English
 * tokens), so that a lookup touches one line; longer words are compared in the arena.
 *
 * ASCII fast path: a stretch of pure ASCII (no NUL) between two ASCII whitespace characters
 * is lower-cased in place and segmented with a byte class table, skipping utf8proc; only the
 * stretches holding other bytes go through the Unicode path (sanitize, utf8proc_map, code
 * point segmentation). Cutting the text there cannot change the result: an ASCII space, tab
 * or newline is a separator in segmentation, NFKC-stable, a starter that nothing composes or
 * reorders across, and never inside a UTF-8 sequence; case folding is context-free. The two
 * paths are compared on a generated varied corpus by tests/test_analyzer.c
 * (fr__analyzer_set_ascii_fast turns the fast path off).
 * Not thread-safe (one analyzer per thread).
 */
#include <string.h>
#include <strings.h>

#include <libstemmer.h>
#include <utf8proc.h>

#include "base/base.h"
#include "text/analyzer.h"

// ---- languages and stopwords ----

// Lucene's EnglishAnalyzer.ENGLISH_STOP_WORDS_SET (33 words).
static const char *const stop_en[] = {
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is",
    "it", "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there",
    "these", "they", "this", "to", "was", "will", "with", NULL};

// Other languages: the most frequent function words of the Snowball stop lists
// (snowballstem.org/algorithms/*/stop.txt), folded as the analyzer folds text (lower case,
// accents stripped when fold_accents, which is how they are compared).
static const char *const stop_fr[] = {
    "au", "aux", "avec", "ce", "ces", "dans", "de", "des", "du", "elle", "en", "et", "eux",
    "il", "je", "la", "le", "les", "leur", "lui", "ma", "mais", "me", "meme", "mes", "moi",
    "mon", "ne", "nos", "notre", "nous", "on", "ou", "par", "pas", "pour", "qu", "que", "qui",
    "sa", "se", "ses", "son", "sur", "ta", "te", "tes", "toi", "ton", "tu", "un", "une", "vos",
    "votre", "vous", "c", "d", "j", "l", "a", "m", "n", "s", "t", "y", "est", "sont", NULL};
static const char *const stop_de[] = {
    "aber", "als", "am", "an", "auch", "auf", "aus", "bei", "bin", "bis", "das", "dass", "dem",
    "den", "der", "des", "die", "du", "ein", "eine", "einem", "einen", "einer", "eines", "er",
    "es", "fur", "hat", "ich", "ihr", "im", "in", "ist", "mit", "nach", "nicht", "noch", "oder",
    "sich", "sie", "sind", "so", "und", "uber", "um", "von", "vor", "war", "wie", "wir", "zu",
    "zum", "zur", NULL};
static const char *const stop_es[] = {
    "a", "al", "algo", "como", "con", "de", "del", "el", "ella", "en", "entre", "es", "esta",
    "este", "esto", "ha", "la", "las", "le", "les", "lo", "los", "mas", "me", "mi", "muy", "ni",
    "no", "nos", "o", "para", "pero", "por", "que", "se", "si", "sin", "sobre", "su", "sus",
    "te", "tu", "un", "una", "uno", "y", "ya", "yo", NULL};
static const char *const stop_it[] = {
    "a", "ad", "al", "alla", "anche", "che", "chi", "con", "da", "dal", "dei", "del", "della",
    "di", "e", "ed", "gli", "ha", "i", "il", "in", "io", "la", "le", "lo", "ma", "mi", "ne",
    "nel", "nella", "non", "o", "per", "piu", "se", "si", "su", "sua", "suo", "tra", "un",
    "una", "uno", NULL};
static const char *const stop_pt[] = {
    "a", "ao", "as", "com", "como", "da", "das", "de", "do", "dos", "e", "ela", "ele", "em",
    "entre", "era", "essa", "esse", "esta", "eu", "foi", "ha", "isso", "ja", "lhe", "mais",
    "mas", "me", "na", "nao", "nas", "no", "nos", "o", "os", "ou", "para", "pela", "pelo",
    "por", "que", "se", "sem", "seu", "sua", "um", "uma", NULL};
static const char *const stop_nl[] = {
    "aan", "al", "als", "bij", "dat", "de", "den", "der", "die", "dit", "een", "en", "er",
    "het", "hij", "ik", "in", "is", "je", "maar", "met", "naar", "niet", "nog", "of", "om",
    "ook", "op", "te", "tot", "uit", "van", "voor", "was", "wat", "ze", "zich", "zij", "zijn",
    NULL};

typedef struct lang_stop {
    const char *algorithm;
    const char *const *words;
} lang_stop;

static const lang_stop stops[] = {
    {"english", stop_en}, {"porter", stop_en}, {"french", stop_fr}, {"german", stop_de},
    {"spanish", stop_es}, {"italian", stop_it}, {"portuguese", stop_pt}, {"dutch", stop_nl},
    {NULL, NULL}};

typedef struct lang_alias {
    const char *name;       // accepted spelling
    const char *algorithm;  // libstemmer algorithm
} lang_alias;

static const lang_alias aliases[] = {
    {"en", "english"}, {"eng", "english"}, {"fr", "french"}, {"de", "german"},
    {"es", "spanish"}, {"it", "italian"}, {"pt", "portuguese"}, {"nl", "dutch"},
    {"sv", "swedish"}, {"no", "norwegian"}, {"nb", "norwegian"}, {"da", "danish"},
    {"fi", "finnish"}, {"ru", "russian"}, {"hu", "hungarian"}, {"ro", "romanian"},
    {"tr", "turkish"}, {"ar", "arabic"}, {"el", "greek"}, {"ga", "irish"},
    {"id", "indonesian"}, {"lt", "lithuanian"}, {"ne", "nepali"}, {"ta", "tamil"},
    {"hy", "armenian"}, {"eu", "basque"}, {"ca", "catalan"}, {"sr", "serbian"},
    {"yi", "yiddish"}, {NULL, NULL}};

// ---- stem cache ----

#define CACHE_MAX (1u << 20)

#define KEY_INLINE 12

typedef struct cache_ent {  // 32 bytes: two per cache line
    uint64_t memo;          // the caller's memo for this word (fr__analyze_memo), 0 = none
    uint32_t hash;
    uint32_t val_off;       // arena offset of the stem, 0 = stopword
    uint16_t key_len;       // 0 = empty slot (words are never empty)
    uint16_t val_len;
    char key[KEY_INLINE];   // the word if key_len <= KEY_INLINE, else its arena offset (u32)
} cache_ent;
_Static_assert(sizeof(cache_ent) == 32, "cache_ent must stay 32 bytes");

struct fr_analyzer {
    char lang[32];
    int english;
    fr_analyzer_opts opts;
    struct sb_stemmer *stemmer;     // NULL: no stemming
    const char *const *stop;        // NULL-terminated list or NULL
    cache_ent *slots;               // (cap)
    uint32_t cap, used;
    fr__buf arena;                  // cache strings; offset 0 is a reserved byte
    fr__buf norm;                   // scratch: sanitized / folded text
    int ascii_fast;                 // 0: every byte through the Unicode path (tests)
    uint32_t *cjk;                  // scratch: a CJK run's code points
    size_t cjk_cap;
    char word[256];                 // scratch: one word
};

// ---- word hash ----
// The stem cache's hash: 8 bytes at a time (FNV-1a's byte loop cost as much as the rest of a
// cache hit). Loads never leave [s, s + n): short words use two overlapping loads. Mixing is
// multiply + xor-shift with odd 64-bit constants; the hash only places entries in memory, so
// it decides speed, never results.
static inline uint64_t ld64(const char *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline uint64_t ld32(const char *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t mix64(uint64_t x) {
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ull;
    x ^= x >> 32;
    return x;
}

static inline uint32_t hash_word(const char *s, size_t n) {
    uint64_t a, b;
    if (n > 16) {
        uint64_t h = 0;
        for (size_t i = 0; i + 16 < n; i += 16)
            h = mix64(h ^ ld64(s + i) ^ (ld64(s + i + 8) * 0x9e3779b97f4a7c15ull));
        a = ld64(s + n - 16) ^ h;
        b = ld64(s + n - 8);
    } else if (n >= 8) {
        a = ld64(s);
        b = ld64(s + n - 8);
    } else if (n >= 4) {
        a = ld32(s);
        b = ld32(s + n - 4);
    } else {
        a = n ? ((uint64_t)(uint8_t)s[0] << 16) | ((uint64_t)(uint8_t)s[n >> 1] << 8) | (uint8_t)s[n - 1] : 0;
        b = 0;
    }
    return (uint32_t)mix64((a ^ ((uint64_t)n << 56)) * 0x9e3779b97f4a7c15ull ^ b * 0xc2b2ae3d27d4eb4full);
}

// A zeroed table of cap entries on a cache-line boundary (entries never straddle lines);
// large tables ask for transparent huge pages: lookups are random over tens of MB, and 4 KiB
// pages would add a TLB miss to most cache misses.
static cache_ent *table_new(uint32_t cap) {
    return fr__alloc_huge_zero((size_t)cap * sizeof(cache_ent));
}

static void cache_reset(fr_analyzer *a) {
    memset(a->slots, 0, sizeof(cache_ent) * a->cap);
    a->used = 0;
    a->arena.len = 1;
}

fr_analyzer_opts fr_analyzer_opts_default(void) {
    fr_analyzer_opts o = {.stem = 1, .stopwords = 1, .fold_accents = 1, .max_term_bytes = 64};
    return o;
}

int fr_analyzer_new(const char *lang, const fr_analyzer_opts *opts, fr_analyzer **out,
                    fr_error *err) {
    *out = NULL;
    if (!lang || !*lang) lang = "english";
    fr_analyzer *a = calloc(1, sizeof *a);
    if (!a) return fr__err(err, FR_ENOMEM, "analyzer: out of memory");
    a->opts = opts ? *opts : fr_analyzer_opts_default();
    if (a->opts.max_term_bytes <= 0 || a->opts.max_term_bytes > 200) a->opts.max_term_bytes = 200;
    const char *alg = lang;
    for (const lang_alias *l = aliases; l->name; l++)
        if (!strcasecmp(l->name, lang)) alg = l->algorithm;
    snprintf(a->lang, sizeof a->lang, "%s", alg);
    for (char *p = a->lang; *p; p++) *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    if (strcmp(a->lang, "none") != 0) {
        a->english = !strcmp(a->lang, "english") || !strcmp(a->lang, "porter");
        if (a->opts.stem) {
            a->stemmer = sb_stemmer_new(a->lang, "UTF_8");
            if (!a->stemmer) {
                free(a);
                return fr__err(err, FR_EUNSUPPORTED,
                               "analyzer: no Snowball stemmer for language '%s'", lang);
            }
        }
        if (a->opts.stopwords)
            for (const lang_stop *l = stops; l->algorithm; l++)
                if (!strcmp(l->algorithm, a->lang)) a->stop = l->words;
    }
    a->ascii_fast = 1;
    a->cap = 1u << 12;
    a->slots = table_new(a->cap);
    if (!a->slots || fr__buf_putc(&a->arena, 0) < 0) {
        fr_analyzer_free(a);
        return fr__err(err, FR_ENOMEM, "analyzer: out of memory");
    }
    *out = a;
    return 0;
}

void fr_analyzer_free(fr_analyzer *a) {
    if (!a) return;
    if (a->stemmer) sb_stemmer_delete(a->stemmer);
    free(a->slots);
    fr__buf_free(&a->arena);
    fr__buf_free(&a->norm);
    free(a->cjk);
    free(a);
}

static int cache_grow(fr_analyzer *a) {
    uint32_t ncap = a->cap * 2;
    cache_ent *ns = table_new(ncap);
    if (!ns) return FR_ENOMEM;
    for (uint32_t i = 0; i < a->cap; i++) {
        cache_ent *e = &a->slots[i];
        if (!e->key_len) continue;
        uint32_t j = e->hash & (ncap - 1);
        while (ns[j].key_len) j = (j + 1) & (ncap - 1);
        ns[j] = *e;
    }
    free(a->slots);
    a->slots = ns;
    a->cap = ncap;
    return 0;
}

static int is_stop(const fr_analyzer *a, const char *w, size_t n) {
    if (!a->stop) return 0;
    for (const char *const *s = a->stop; *s; s++)
        if (strlen(*s) == n && !memcmp(*s, w, n)) return 1;
    return 0;
}

static inline int eq_bytes(const char *a, const char *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i]) return 0;
    return 1;
}

static inline const char *ent_key(const fr_analyzer *a, const cache_ent *e) {
    if (e->key_len <= KEY_INLINE) return e->key;
    uint32_t off;
    memcpy(&off, e->key, 4);
    return a->arena.data + off;
}

// Looks up / computes the term for a folded word (h = hash_word(w, n)). OUT: *term, *tlen (NULL: drop the word),
// *memo (the entry's memo slot, valid until the next call).
static int stem_word(fr_analyzer *a, const char *w, size_t n, uint32_t h, const char **term,
                     size_t *tlen, uint64_t **memo) {
    uint32_t j = h & (a->cap - 1);
    for (;;) {
        cache_ent *e = &a->slots[j];
        if (!e->key_len) break;
        if (e->hash == h && e->key_len == n && eq_bytes(ent_key(a, e), w, n)) {
            *term = e->val_off ? a->arena.data + e->val_off : NULL;
            *tlen = e->val_len;
            *memo = &e->memo;
            return 0;
        }
        j = (j + 1) & (a->cap - 1);
    }
    // miss: compute
    const char *val = w;
    size_t vlen = n;
    int stop = is_stop(a, w, n);
    if (!stop && a->stemmer) {
        const sb_symbol *s = sb_stemmer_stem(a->stemmer, (const sb_symbol *)w, (int)n);
        if (!s) return FR_ENOMEM;
        val = (const char *)s;
        vlen = (size_t)sb_stemmer_length(a->stemmer);
    }
    if (a->used >= CACHE_MAX || a->arena.len > (1u << 30)) {
        cache_reset(a);
    } else if ((a->used + 1) * 2 > a->cap) {
        if (cache_grow(a) < 0) return FR_ENOMEM;
    }
    j = h & (a->cap - 1);
    while (a->slots[j].key_len) j = (j + 1) & (a->cap - 1);
    // val may point into the stemmer's buffer: copy it (and a long key) into the arena.
    if (fr__buf_reserve(&a->arena, n + vlen + 2) < 0) return FR_ENOMEM;
    cache_ent e = {.hash = h, .key_len = (uint16_t)n, .val_len = (uint16_t)vlen};
    if (n <= KEY_INLINE) {
        memcpy(e.key, w, n);
    } else {
        uint32_t off = (uint32_t)a->arena.len;
        memcpy(e.key, &off, 4);
        fr__buf_append(&a->arena, w, n);
        fr__buf_putc(&a->arena, 0);
    }
    if (!stop) {
        e.val_off = (uint32_t)a->arena.len;
        fr__buf_append(&a->arena, val, vlen);
        fr__buf_putc(&a->arena, 0);
    }
    a->slots[j] = e;
    a->used++;
    *memo = &a->slots[j].memo;
    *term = stop ? NULL : a->arena.data + e.val_off;
    *tlen = stop ? 0 : vlen;
    return 0;
}

// ---- character classes ----

enum { C_SEP, C_WORD, C_LETTER_ONLY_MID, C_NUM_MID, C_BOTH_MID, C_CJK };

static int is_cjk(int32_t c) {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x20000 && c <= 0x2FA1F) || (c >= 0xF900 && c <= 0xFAFF) ||
           (c >= 0x3040 && c <= 0x309F) || (c >= 0x30A0 && c <= 0x30FF) ||
           (c >= 0x31F0 && c <= 0x31FF) || (c >= 0xFF66 && c <= 0xFF9F) ||
           (c >= 0xAC00 && c <= 0xD7AF) || (c >= 0x1100 && c <= 0x11FF) ||
           (c >= 0x3130 && c <= 0x318F) || c == 0x3005 || c == 0x30FC;
}

// Class of each ASCII character, shared by both paths: letters and digits are word
// characters, ' joins letters, , and ; join digits, . joins either (UAX #29 MidLetter,
// MidNum, MidNumLet), everything else separates.
static const char ascii_cls[129] =
    "00000000000000000000000000000000"   //   0- 31 controls
    "00000002000030401111111111030000"   //  32- 63 ' ' .. '?': ' , . 0-9 ;
    "01111111111111111111111111100000"   //  64- 95 '@' .. '_': A-Z
    "01111111111111111111111111100000";  //  96-127 '`' .. DEL: a-z
#define ASCII_CLS(c) (ascii_cls[(c)] - '0')

static int cls_of(int32_t c) {
    if (c < 128) return ASCII_CLS(c);
    if (c == 0x2019) return C_LETTER_ONLY_MID;
    if (is_cjk(c)) return C_CJK;
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ME: case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
        return C_WORD;
    default:
        return C_SEP;
    }
}

static int is_digit_cp(int32_t c) {
    return (c >= '0' && c <= '9') || (c >= 128 && utf8proc_category(c) == UTF8PROC_CATEGORY_ND);
}

// Decodes one code point of valid UTF-8 at s[i] (len bytes). OUT: *cp. Returns its length.
static inline size_t dec(const uint8_t *s, size_t i, size_t len, int32_t *cp) {
    if (s[i] < 0x80) { *cp = s[i]; return 1; }
    utf8proc_int32_t c;
    utf8proc_ssize_t k = utf8proc_iterate(s + i, (utf8proc_ssize_t)(len - i), &c);
    if (k <= 0) { *cp = ' '; return 1; }
    *cp = c;
    return (size_t)k;
}

// ---- analysis ----

// Words wait in a short FIFO before their stem-cache lookup: each is hashed and its slot
// prefetched when it is found, and looked up only when PEND more words have been found
// (or at a flush), so that the lookups overlap their cache misses instead of paying them
// one after another. The FIFO is emptied in order before anything else is emitted (CJK
// bigrams) and at the end of each segmented buffer (the words point into it), so terms,
// positions and callback order are exactly those of one-by-one lookups.
#define PEND 16  // a power of two

typedef struct pend_word {
    const char *w;
    uint32_t n, h;
} pend_word;

typedef struct run_ctx {
    fr_analyzer *a;
    fr_term_fn fn;
    fr__term_memo_fn mfn;   // used instead of fn when set
    void *ud;
    uint32_t pos;
    uint32_t head, n_pend;  // FIFO: pend[(head + i) % PEND], i < n_pend
    pend_word pend[PEND];
} run_ctx;

static int emit_memo(run_ctx *r, const char *t, size_t n, uint64_t *memo) {
    int rc = r->mfn ? r->mfn(r->ud, t, n, r->pos, memo) : r->fn(r->ud, t, n, r->pos);
    r->pos++;
    return rc;
}

static int emit(run_ctx *r, const char *t, size_t n) { return emit_memo(r, t, n, NULL); }

// Looks up and emits the oldest queued word.
static int pop_word(run_ctx *r) {
    const pend_word *p = &r->pend[r->head];
    r->head = (r->head + 1) & (PEND - 1);
    r->n_pend--;
    const char *t;
    size_t tn;
    uint64_t *memo = NULL;
    if (stem_word(r->a, p->w, p->n, p->h, &t, &tn, &memo) < 0) return FR_ENOMEM;
    if (!t || tn == 0) return 0;
    return emit_memo(r, t, tn, memo);
}

static int flush_words(run_ctx *r) {
    while (r->n_pend) {
        int rc = pop_word(r);
        if (rc) {
            r->n_pend = 0;
            return rc;
        }
    }
    return 0;
}

static int emit_word(run_ctx *r, const char *w, size_t n) {
    fr_analyzer *a = r->a;
    if (a->english && n >= 2 && w[n - 1] == 's') {  // possessive: "'s" / "’s"
        if (w[n - 2] == '\'') n -= 2;
        else if (n >= 4 && (uint8_t)w[n - 4] == 0xE2 && (uint8_t)w[n - 3] == 0x80 &&
                 (uint8_t)w[n - 2] == 0x99) n -= 4;
    }
    if (n == 0 || n > (size_t)a->opts.max_term_bytes) return 0;
    if (!a->stemmer && !a->stop) return emit(r, w, n);  // no cache, nothing queued
    if (r->n_pend == PEND) {
        int rc = pop_word(r);
        if (rc) return rc;
    }
    uint32_t h = hash_word(w, n);
    __builtin_prefetch(&a->slots[h & (a->cap - 1)]);
    r->pend[(r->head + r->n_pend++) & (PEND - 1)] = (pend_word){w, (uint32_t)n, h};
    return 0;
}

static int emit_cjk(run_ctx *r, const uint32_t *cp, size_t n) {
    int rc = flush_words(r);
    if (rc) return rc;
    char buf[8];
    for (size_t i = 0; i < n; i++) {
        if (n > 1 && i + 1 == n) break;
        size_t k = (size_t)utf8proc_encode_char((utf8proc_int32_t)cp[i], (utf8proc_uint8_t *)buf);
        if (n > 1) k += (size_t)utf8proc_encode_char((utf8proc_int32_t)cp[i + 1],
                                                     (utf8proc_uint8_t *)buf + k);
        rc = emit(r, buf, k);
        if (rc) return rc;
    }
    return 0;
}

// Segments normalized (folded, valid UTF-8) text s[0..len).
static int segment(run_ctx *r, const uint8_t *s, size_t len) {
    fr_analyzer *a = r->a;
    size_t i = 0;
    while (i < len) {
        int32_t c;
        size_t k = dec(s, i, len, &c);
        int cl = cls_of(c);
        if (cl == C_WORD) {
            size_t start = i, end = i + k;
            int32_t prev = c;
            i += k;
            while (i < len) {
                k = dec(s, i, len, &c);
                int cc = cls_of(c);
                if (cc == C_WORD) { prev = c; i += k; end = i; continue; }
                if (cc == C_SEP || cc == C_CJK || i + k >= len) break;
                // a "mid" character continues the word only between two suitable chars
                int32_t nx;
                size_t k2 = dec(s, i + k, len, &nx);
                if (cls_of(nx) != C_WORD) break;
                int pd = is_digit_cp(prev), nd = is_digit_cp(nx);
                int ok = (cc == C_LETTER_ONLY_MID && !pd && !nd) ||
                         (cc == C_NUM_MID && pd && nd) ||
                         (cc == C_BOTH_MID && pd == nd);
                if (!ok) break;
                prev = nx;
                i += k + k2;
                end = i;
            }
            size_t n = end - start;
            if (n <= sizeof a->word) {
                int rc = emit_word(r, (const char *)s + start, n);
                if (rc) return rc;
            }
            continue;
        }
        if (cl == C_CJK) {
            size_t n = 0;
            while (i < len) {
                k = dec(s, i, len, &c);
                if (cls_of(c) != C_CJK) break;
                if (n == a->cjk_cap) {
                    size_t nc = a->cjk_cap ? a->cjk_cap * 2 : 64;
                    uint32_t *p = realloc(a->cjk, nc * sizeof *p);
                    if (!p) return FR_ENOMEM;
                    a->cjk = p;
                    a->cjk_cap = nc;
                }
                a->cjk[n++] = (uint32_t)c;
                i += k;
            }
            int rc = emit_cjk(r, a->cjk, n);
            if (rc) return rc;
            continue;
        }
        i += k;
    }
    return flush_words(r);
}

// segment() for lower-cased ASCII without NUL: the same rules on bytes, with the class
// table instead of decoding and utf8proc (no CJK here; digits are 0-9).
static int segment_ascii(run_ctx *r, const uint8_t *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        if (ASCII_CLS(s[i]) != C_WORD) { i++; continue; }
        size_t start = i;
        uint8_t prev = s[i++];
        while (i < len) {
            int cc = ASCII_CLS(s[i]);
            if (cc == C_WORD) { prev = s[i++]; continue; }
            if (cc == C_SEP || i + 1 >= len) break;
            uint8_t nx = s[i + 1];
            if (ASCII_CLS(nx) != C_WORD) break;
            int pd = prev <= '9', nd = nx <= '9';  // word characters: 0-9 < A-Z < a-z
            int ok = (cc == C_LETTER_ONLY_MID && !pd && !nd) || (cc == C_NUM_MID && pd && nd) ||
                     (cc == C_BOTH_MID && pd == nd);
            if (!ok) break;
            prev = nx;
            i += 2;
        }
        size_t n = i - start;
        if (n <= sizeof r->a->word) {
            int rc = emit_word(r, (const char *)s + start, n);
            if (rc) return rc;
        }
    }
    return flush_words(r);
}

// The Unicode path over text[0..n): sanitize, NFKC + case folding (+ mark stripping), segment.
static int analyze_unicode(fr_analyzer *a, const uint8_t *s, size_t n, run_ctx *r) {
    // sanitize: invalid sequences and NULs → space
    a->norm.len = 0;
    if (fr__buf_reserve(&a->norm, n) < 0) return FR_ENOMEM;
    for (size_t i = 0; i < n;) {
        if (s[i] && s[i] < 0x80) { a->norm.data[a->norm.len++] = (char)s[i]; i++; continue; }
        utf8proc_int32_t c;
        utf8proc_ssize_t k = utf8proc_iterate(s + i, (utf8proc_ssize_t)(n - i), &c);
        if (k <= 0 || c == 0) { a->norm.data[a->norm.len++] = ' '; i++; continue; }
        memcpy(a->norm.data + a->norm.len, s + i, (size_t)k);
        a->norm.len += (size_t)k;
        i += (size_t)k;
    }
    a->norm.data[a->norm.len] = 0;
    utf8proc_uint8_t *mapped = NULL;
    int flags = UTF8PROC_STABLE | UTF8PROC_COMPAT | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD;
    if (a->opts.fold_accents) flags |= UTF8PROC_STRIPMARK;
    utf8proc_ssize_t m = utf8proc_map((const utf8proc_uint8_t *)a->norm.data,
                                      (utf8proc_ssize_t)a->norm.len, &mapped, flags);
    if (m < 0) return m == UTF8PROC_ERROR_NOMEM ? FR_ENOMEM : FR_EUTF8;
    int rc = segment(r, mapped, (size_t)m);
    free(mapped);
    return rc;
}

// The ASCII path over text[0..n) (ASCII, no NUL): lower-case, segment.
static int analyze_ascii(fr_analyzer *a, const uint8_t *s, size_t n, run_ctx *r) {
    a->norm.len = 0;
    if (fr__buf_reserve(&a->norm, n) < 0) return FR_ENOMEM;
    uint8_t *d = (uint8_t *)a->norm.data;
    for (size_t i = 0; i < n; i++) d[i] = (uint8_t)((unsigned)(s[i] - 'A') < 26u ? s[i] + 32 : s[i]);
    return segment_ascii(r, d, n);
}

static inline int is_ascii_space(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Cuts text into stretches at ASCII whitespace (see the file header for why that is exact):
// a stretch whose bytes are all ASCII and not NUL takes the ASCII path, any other the
// Unicode path; positions run on across stretches (r->pos).
static int analyze(fr_analyzer *a, const char *text, ptrdiff_t len, run_ctx r) {
    size_t n = len < 0 ? strlen(text) : (size_t)len;
    const uint8_t *s = (const uint8_t *)text;
    if (!a->ascii_fast) return analyze_unicode(a, s, n, &r);
    size_t i = 0;
    while (i < n) {
        size_t j = i;  // first byte that needs the Unicode path
        while (j < n && s[j] && s[j] < 0x80) j++;
        if (j == n) return analyze_ascii(a, s + i, n - i, &r);
        size_t k = j;  // start of the stretch holding s[j]: just after whitespace
        while (k > i && !is_ascii_space(s[k - 1])) k--;
        if (k > i) {
            int rc = analyze_ascii(a, s + i, k - i, &r);
            if (rc) return rc;
        }
        size_t e = j + 1;  // its end: the next whitespace
        while (e < n && !is_ascii_space(s[e])) e++;
        int rc = analyze_unicode(a, s + k, e - k, &r);
        if (rc) return rc;
        i = e;
    }
    return 0;
}

int fr_analyze(fr_analyzer *a, const char *text, ptrdiff_t len, uint32_t pos_base,
               fr_term_fn fn, void *ud) {
    run_ctx r = {a, fn, NULL, ud, pos_base, 0, 0, {{0}}};
    return analyze(a, text, len, r);
}

int fr__analyze_memo(fr_analyzer *a, const char *text, ptrdiff_t len, uint32_t pos_base,
                     fr__term_memo_fn fn, void *ud) {
    run_ctx r = {a, NULL, fn, ud, pos_base, 0, 0, {{0}}};
    return analyze(a, text, len, r);
}

void fr__analyzer_set_ascii_fast(fr_analyzer *a, int on) { a->ascii_fast = on; }

// ---- term lists ----

typedef struct collect_ctx {
    fr_terms *t;
    size_t cap;
} collect_ctx;

// Reallocates the three parallel arrays of t (terms, pos, weight) to cap entries, cap >= t->n.
// On failure each array that did move is kept (all still hold t->n entries): FR_ENOMEM.
static int terms_resize(fr_terms *t, size_t cap) {
    char **tt = realloc(t->terms, cap * sizeof *tt);
    if (tt) t->terms = tt;
    uint32_t *pp = realloc(t->pos, cap * sizeof *pp);
    if (pp) t->pos = pp;
    float *ww = realloc(t->weight, cap * sizeof *ww);
    if (ww) t->weight = ww;
    return !tt || !pp || !ww ? FR_ENOMEM : 0;
}

static int collect(void *ud, const char *term, size_t len, uint32_t pos) {
    collect_ctx *c = ud;
    fr_terms *t = c->t;
    if (t->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 16;
        if (terms_resize(t, nc) < 0) return FR_ENOMEM;
        c->cap = nc;
    }
    char *s = malloc(len + 1);
    if (!s) return FR_ENOMEM;
    memcpy(s, term, len);
    s[len] = 0;
    t->terms[t->n] = s;
    t->pos[t->n] = pos;
    t->weight[t->n] = 1.0f;
    t->n++;
    return 0;
}

int fr__analyze_append(fr_analyzer *a, const char *text, ptrdiff_t len, uint32_t pos_base,
                       fr_terms *out, fr_error *err) {
    // capacity is not stored in fr_terms: grow from n to the next power of two
    collect_ctx c = {out, 0};
    if (out->n) {
        size_t cap = 16;
        while (cap < out->n) cap *= 2;
        // arrays were allocated with capacity >= n; realloc to cap to know it exactly
        if (terms_resize(out, cap) < 0) return fr__err(err, FR_ENOMEM, "analyze: out of memory");
        c.cap = cap;
    }
    int rc = fr_analyze(a, text, len, pos_base, collect, &c);
    if (rc < 0) return fr__err(err, rc, "analyze: %s", fr_strerror(rc));
    return 0;
}

int fr_analyze_terms(fr_analyzer *a, const char *text, ptrdiff_t len, fr_terms *out,
                     fr_error *err) {
    uint32_t base = out->n ? out->pos[out->n - 1] + 1 : 0;
    return fr__analyze_append(a, text, len, base, out, err);
}

void fr_terms_free(fr_terms *t) {
    if (!t) return;
    for (size_t i = 0; i < t->n; i++) free(t->terms[i]);
    free(t->terms);
    free(t->pos);
    free(t->weight);
    memset(t, 0, sizeof *t);
}
