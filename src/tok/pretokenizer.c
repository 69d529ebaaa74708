/* pretokenizer.c — the Hugging Face pre-tokenizers, byte-exact with tokenizers 0.22
 * (the pre_tokenizers folder, NormalizedString::split and PreTokenizedString::split).
 *
 * Layout: a pre-tokenizer turns one normalized string into a list of splits. Internally a
 * list of splits is one byte buffer plus one original offset per byte (the alignment
 * fr__nstr carries) and, per split, its start, length and HF `original_shift` (the original
 * offset of its first byte: Metaspace's prepend_scheme "first" looks at it). Every step reads
 * one list and writes the next (two buffers swap), so a Sequence costs one pass per member
 * and no allocation per split. Empty splits are dropped after every step, as HF does.
 *
 * Splitting follows NormalizedString::split: the pattern yields (range, is_match) pieces
 * covering the text (a character predicate: one match per matching character; a regex:
 * one per match, gaps in between), then the SplitDelimiterBehavior decides what is kept
 * and merged.
 *
 * Workload: short texts; Whitespace/BertPreTokenizer/WhitespaceSplit/Punctuation/Digits use
 * hand-written character classes (no regex engine) so the common BERT path stays cheap.
 */
#include <string.h>

#include "tok/textpipe.h"
#include "tok/unicode.h"

// ---- pieces ----
static int pieces_push(fr__pieces *p, const char *b, size_t n) {
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        uint32_t *o = realloc(p->off, cap * sizeof *o);
        if (!o) return FR_ENOMEM;
        p->off = o;
        uint32_t *l = realloc(p->len, cap * sizeof *l);
        if (!l) return FR_ENOMEM;
        p->len = l;
        p->cap = cap;
    }
    if (p->text.len > UINT32_MAX || n > UINT32_MAX - p->text.len) return FR_ERANGE;
    p->off[p->n] = (uint32_t)p->text.len;
    p->len[p->n] = (uint32_t)n;
    if (fr__buf_append(&p->text, b, n) < 0) return FR_ENOMEM;
    p->n++;
    return 0;
}

void fr__pieces_clear(fr__pieces *p) {
    p->n = 0;
    p->text.len = 0;
    if (p->text.data) p->text.data[0] = 0;
}

void fr__pieces_free(fr__pieces *p) {
    if (!p) return;
    fr__buf_free(&p->text);
    free(p->off);
    free(p->len);
    memset(p, 0, sizeof *p);
}

// ---- split lists ----
typedef struct splits {
    char *s;          // (len) bytes of all splits, back to back
    uint32_t *orig;   // (len) original offset per byte
    size_t len, cap;
    size_t n, ncap;
    size_t *off, *sz; // (n) split i is s[off[i], off[i] + sz[i])
    uint32_t *shift;  // (n) HF original_shift of split i
} splits;

static void splits_free(splits *l) {
    free(l->s);
    free(l->orig);
    free(l->off);
    free(l->sz);
    free(l->shift);
    memset(l, 0, sizeof *l);
}

static void splits_clear(splits *l) { l->len = l->n = 0; }

static int bytes_reserve(splits *l, size_t extra) {
    size_t need;
    if (fr__add_overflow(l->len, extra, &need)) return FR_ENOMEM;
    if (need <= l->cap) return 0;
    size_t cap = l->cap ? l->cap : 64;
    while (cap < need) {
        if (cap > SIZE_MAX / 8) return FR_ENOMEM;
        cap *= 2;
    }
    char *s = realloc(l->s, cap);
    if (!s) return FR_ENOMEM;
    l->s = s;
    uint32_t *o = realloc(l->orig, cap * sizeof *o);
    if (!o) return FR_ENOMEM;
    l->orig = o;
    l->cap = cap;
    return 0;
}

// Starts a new (empty) split with the given shift; bytes are added with add_bytes.
static int split_begin(splits *l, uint32_t shift) {
    if (l->n == l->ncap) {
        size_t cap = l->ncap ? l->ncap * 2 : 16;
        size_t *o = realloc(l->off, cap * sizeof *o);
        if (!o) return FR_ENOMEM;
        l->off = o;
        size_t *z = realloc(l->sz, cap * sizeof *z);
        if (!z) return FR_ENOMEM;
        l->sz = z;
        uint32_t *h = realloc(l->shift, cap * sizeof *h);
        if (!h) return FR_ENOMEM;
        l->shift = h;
        l->ncap = cap;
    }
    l->off[l->n] = l->len;
    l->sz[l->n] = 0;
    l->shift[l->n] = shift;
    l->n++;
    return 0;
}

// Appends bytes to the last split; orig == NULL aligns them all to `one`.
static int add_bytes(splits *l, const char *b, const uint32_t *orig, uint32_t one, size_t n) {
    if (!n) return 0;
    if (bytes_reserve(l, n) < 0) return FR_ENOMEM;
    memcpy(l->s + l->len, b, n);
    if (orig) memcpy(l->orig + l->len, orig, n * sizeof *orig);
    else
        for (size_t i = 0; i < n; i++) l->orig[l->len + i] = one;
    l->len += n;
    l->sz[l->n - 1] += n;
    return 0;
}

// Adds a split copied from (b, orig, n) unless empty; its shift is the original offset of
// its first byte (HF: slice() → parent shift + converted start).
static int add_split(splits *l, const char *b, const uint32_t *orig, size_t n) {
    if (!n) return 0;
    int rc = split_begin(l, orig[0]);
    return rc ? rc : add_bytes(l, b, orig, 0, n);
}

// ---- split by pattern ----
enum { B_REMOVED, B_ISOLATED, B_MERGED_PREV, B_MERGED_NEXT, B_CONTIGUOUS };

// One (range, is_match) piece of a split, as Pattern::find_matches returns.
typedef struct piece {
    size_t a, b;
    int match;
} piece;

typedef struct piecelist {
    piece *p;
    size_t n, cap;
} piecelist;

static int pl_push(piecelist *l, size_t a, size_t b, int match) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        piece *p = realloc(l->p, cap * sizeof *p);
        if (!p) return FR_ENOMEM;
        l->p = p;
        l->cap = cap;
    }
    l->p[l->n++] = (piece){a, b, match};
    return 0;
}

// Applies the behavior to the (range, is_match) list and adds the kept ranges of the text
// (t, orig) to out (NormalizedString::split).
static int split_apply(const char *t, const uint32_t *orig, piecelist *pl, int behavior, splits *out) {
    int rc = 0;
    piece *p = pl->p;
    size_t n = pl->n, k = 0;
    switch (behavior) {
    case B_REMOVED:
        for (size_t i = 0; i < n; i++)
            if (!p[i].match && (rc = add_split(out, t + p[i].a, orig + p[i].a, p[i].b - p[i].a)) < 0) return rc;
        return 0;
    case B_ISOLATED:
        for (size_t i = 0; i < n; i++)
            if ((rc = add_split(out, t + p[i].a, orig + p[i].a, p[i].b - p[i].a)) < 0) return rc;
        return 0;
    case B_CONTIGUOUS: {  // merge consecutive pieces with the same is_match
        int prev = 0;
        for (size_t i = 0; i < n; i++) {
            int m = p[i].match;  // read before p[k] (k <= i) is overwritten
            if (m == prev && k > 0) p[k - 1].b = p[i].b;
            else p[k++] = (piece){p[i].a, p[i].b, 0};
            prev = m;
        }
        break;
    }
    case B_MERGED_PREV: {  // a match joins the piece before it
        int prev = 0;
        for (size_t i = 0; i < n; i++) {
            int m = p[i].match;
            if (m && !prev && k > 0) p[k - 1].b = p[i].b;
            else p[k++] = (piece){p[i].a, p[i].b, 0};
            prev = m;
        }
        break;
    }
    case B_MERGED_NEXT: {  // a match joins the piece after it (scan from the end)
        int prev = 0;
        size_t w = n;  // kept pieces are written to the tail, in order
        for (size_t i = n; i-- > 0;) {
            int m = p[i].match;
            if (m && !prev && w < n) p[w].a = p[i].a;
            else p[--w] = (piece){p[i].a, p[i].b, 0};
            prev = m;
        }
        for (size_t i = w; i < n; i++) p[k++] = p[i];
        break;
    }
    default: return FR_EINTERNAL;
    }
    for (size_t i = 0; i < k; i++)
        if ((rc = add_split(out, t + p[i].a, orig + p[i].a, p[i].b - p[i].a)) < 0) return rc;
    return 0;
}

// Character predicates used as patterns.
enum { C_WHITESPACE, C_BERT_PUNC, C_NUMERIC, C_CHAR };

static int char_is(int pred, uint32_t c, uint32_t arg) {
    switch (pred) {
    case C_WHITESPACE: return fr__u_is_whitespace(c);
    case C_BERT_PUNC: return fr__u_is_bert_punc(c);
    case C_NUMERIC: return fr__u_is_numeric(c);
    default: return c == arg;
    }
}

// (range, is_match) list for a character predicate: every matching character is a match.
static int pieces_by_char(const char *t, size_t n, int pred, uint32_t arg, piecelist *pl) {
    size_t last = 0;
    int rc;
    for (size_t i = 0; i < n;) {
        size_t at = i;
        uint32_t c = fr__u8_next(t, n, &i);
        if (!char_is(pred, c, arg)) continue;
        if (last < at && (rc = pl_push(pl, last, at, 0)) < 0) return rc;
        if ((rc = pl_push(pl, at, i, 1)) < 0) return rc;
        last = i;
    }
    if (last < n && (rc = pl_push(pl, last, n, 0)) < 0) return rc;
    return 0;
}

// (range, is_match) list from a match list (regex or literal), flags flipped if invert.
static int pieces_from_matches(size_t n, const fr__matches *m, int invert, piecelist *pl) {
    size_t prev = 0;
    int rc;
    for (size_t i = 0; i < m->n; i++) {
        if (prev != m->start[i] && (rc = pl_push(pl, prev, m->start[i], invert)) < 0) return rc;
        if ((rc = pl_push(pl, m->start[i], m->end[i], !invert)) < 0) return rc;
        prev = m->end[i];
    }
    if (prev != n && (rc = pl_push(pl, prev, n, invert)) < 0) return rc;
    return 0;
}

// ---- pre-tokenizer objects ----
enum {
    P_BERT, P_WHITESPACE, P_WHITESPACE_SPLIT, P_METASPACE, P_PUNCTUATION, P_DIGITS, P_SPLIT,
    P_BYTELEVEL, P_CHAR_DELIM, P_SEQUENCE, P_SCRIPTS
};
enum { PREPEND_ALWAYS, PREPEND_NEVER, PREPEND_FIRST };

struct fr__pretok {
    int type;
    int behavior;        // Punctuation, Split
    int invert;          // Split
    int individual;      // Digits
    uint32_t ch;         // Metaspace replacement, CharDelimiterSplit delimiter
    char rep[4];         // Metaspace replacement in UTF-8
    size_t rep_len;
    int prepend;         // Metaspace PREPEND_*
    int split;           // Metaspace
    int add_prefix_space, use_regex;  // ByteLevel
    char *lit;           // Split (String)
    size_t lit_len;
    fr__regex *re;       // Split (Regex), ByteLevel
    fr__pretok **seq;    // (n_seq) Sequence
    size_t n_seq;
};

void fr__pretok_free(fr__pretok *p) {
    if (!p) return;
    for (size_t i = 0; i < p->n_seq; i++) fr__pretok_free(p->seq[i]);
    free(p->seq);
    free(p->lit);
    fr__regex_free(p->re);
    free(p);
}

int fr__pretok_is_bytelevel(const fr__pretok *p) {
    if (!p) return 0;
    if (p->type == P_BYTELEVEL) return 1;
    for (size_t i = 0; i < p->n_seq; i++)
        if (fr__pretok_is_bytelevel(p->seq[i])) return 1;
    return 0;
}

// ---- steps ----
// Whitespace: the matches of `\w+|[^\w\s]+`, everything else dropped. This one regex is
// compiled with Rust's regex crate (whitespace.rs), not Oniguruma: \w is Unicode Word.
static int step_whitespace(const char *t, const uint32_t *orig, size_t n, splits *out) {
    size_t run = 0;
    int cls = 0;  // 0: none, 1: word run, 2: other run
    int rc;
    for (size_t i = 0; i < n;) {
        size_t at = i;
        uint32_t c = fr__u8_next(t, n, &i);
        int k = fr__u_is_rust_word(c) ? 1 : fr__u_is_whitespace(c) ? 0 : 2;
        if (k != cls) {
            if (cls && (rc = add_split(out, t + run, orig + run, at - run)) < 0) return rc;
            run = at;
            cls = k;
        }
    }
    if (cls && (rc = add_split(out, t + run, orig + run, n - run)) < 0) return rc;
    return 0;
}

// UnicodeScripts: a split starts wherever the script changes (spaces belong to any script);
// text before the first character with a script (leading spaces) is dropped, as in HF.
static int step_scripts(const char *t, const uint32_t *orig, size_t n, splits *out) {
    int last = -1;          // HF last_script: None (-1) or a script other than Any
    size_t start = (size_t)-1;
    int rc;
    for (size_t i = 0; i < n;) {
        size_t at = i;
        int sc = fr__u_script(fr__u8_next(t, n, &i));
        if (sc != 0 && sc != last) {
            if (start != (size_t)-1 && (rc = add_split(out, t + start, orig + start, at - start)) < 0) return rc;
            start = at;
        }
        if (sc != 0) last = sc;
    }
    if (start != (size_t)-1) return add_split(out, t + start, orig + start, n - start);
    return 0;
}

static int step_char(const char *t, const uint32_t *orig, size_t n, int pred, uint32_t arg, int behavior,
                     piecelist *pl, splits *out) {
    pl->n = 0;
    int rc = pieces_by_char(t, n, pred, arg, pl);
    return rc ? rc : split_apply(t, orig, pl, behavior, out);
}

static int step_matches(const char *t, const uint32_t *orig, size_t n, const fr__regex *re, const char *lit,
                        size_t lit_len, int invert, int behavior, piecelist *pl, splits *out) {
    fr__matches m = {0};
    int rc = 0;
    pl->n = 0;
    if (re) rc = fr__regex_find_all(re, t, n, &m);
    else if (lit_len) rc = fr__literal_find_all(lit, lit_len, t, n, &m);
    if (rc == 0) rc = pieces_from_matches(n, &m, invert, pl);
    fr__matches_free(&m);
    return rc ? rc : split_apply(t, orig, pl, behavior, out);
}

// A scratch string (bytes + alignment) for the steps that rewrite a split first.
typedef struct scratch {
    char *s;
    uint32_t *orig;
    size_t len, cap;
} scratch;

static int sc_push(scratch *x, const char *b, size_t n, const uint32_t *orig, uint32_t one) {
    if (!n) return 0;
    size_t need;
    if (fr__add_overflow(x->len, n, &need)) return FR_ENOMEM;
    if (need > x->cap) {
        size_t cap = x->cap ? x->cap : 64;
        while (cap < need) {
            if (cap > SIZE_MAX / 8) return FR_ENOMEM;
            cap *= 2;
        }
        char *s = realloc(x->s, cap);
        if (!s) return FR_ENOMEM;
        x->s = s;
        uint32_t *o = realloc(x->orig, cap * sizeof *o);
        if (!o) return FR_ENOMEM;
        x->orig = o;
        x->cap = cap;
    }
    memcpy(x->s + x->len, b, n);
    if (orig) memcpy(x->orig + x->len, orig, n * sizeof *orig);
    else
        for (size_t i = 0; i < n; i++) x->orig[x->len + i] = one;
    x->len += n;
    return 0;
}

// Metaspace: ' ' → replacement (aligned to the space), prepend per scheme, then split on the
// replacement character with MergedWithNext (or keep whole).
static int step_metaspace(const fr__pretok *p, const char *t, const uint32_t *orig, size_t n, uint32_t shift,
                          scratch *x, piecelist *pl, splits *out) {
    int rc = 0;
    x->len = 0;
    // after ' ' → replacement, the split starts with the replacement iff it started with
    // either; HF's prepend() does nothing to an empty string
    int starts = n > 0 && (t[0] == ' ' || (n >= p->rep_len && memcmp(t, p->rep, p->rep_len) == 0));
    int pre = n > 0 && !starts &&
              (p->prepend == PREPEND_ALWAYS || (p->prepend == PREPEND_FIRST && shift == 0));
    if (pre && (rc = sc_push(x, p->rep, p->rep_len, NULL, orig[0])) < 0) return rc;
    size_t last = 0;
    for (size_t i = 0; i < n; i++) {
        if (t[i] != ' ') continue;
        if ((rc = sc_push(x, t + last, i - last, orig + last, 0)) < 0 ||
            (rc = sc_push(x, p->rep, p->rep_len, NULL, orig[i])) < 0)
            return rc;
        last = i + 1;
    }
    if ((rc = sc_push(x, t + last, n - last, orig + last, 0)) < 0) return rc;
    if (!p->split) {
        if (!x->len) return 0;
        if ((rc = split_begin(out, shift)) < 0) return rc;
        return add_bytes(out, x->s, x->orig, 0, x->len);
    }
    return step_char(x->s, x->orig, x->len, C_CHAR, p->ch, B_MERGED_NEXT, pl, out);
}

// ByteLevel: optional leading space, optional GPT-2 regex split (Isolated), then every byte
// of every split becomes its GPT-2 character (aligned to the byte's character).
static int step_bytelevel(const fr__pretok *p, const char *t, const uint32_t *orig, size_t n, uint32_t shift,
                          scratch *x, piecelist *pl, splits *tmp, splits *out) {
    int rc = 0;
    x->len = 0;
    if (p->add_prefix_space && n > 0 && t[0] != ' ' && (rc = sc_push(x, " ", 1, NULL, orig[0])) < 0) return rc;
    if ((rc = sc_push(x, t, n, orig, 0)) < 0) return rc;
    splits_clear(tmp);
    if (p->use_regex) {
        if ((rc = step_matches(x->s, x->orig, x->len, p->re, NULL, 0, 0, B_ISOLATED, pl, tmp)) < 0) return rc;
    } else if (x->len) {
        if ((rc = split_begin(tmp, shift)) < 0 || (rc = add_bytes(tmp, x->s, x->orig, 0, x->len)) < 0) return rc;
    }
    for (size_t k = 0; k < tmp->n; k++) {
        if ((rc = split_begin(out, tmp->shift[k])) < 0) return rc;
        const char *b = tmp->s + tmp->off[k];
        const uint32_t *o = tmp->orig + tmp->off[k];
        for (size_t i = 0; i < tmp->sz[k]; i++) {
            char u[4];
            size_t ul = fr__u8_put(fr__bytelevel_char((unsigned char)b[i]), u);
            if ((rc = add_bytes(out, u, NULL, o[i], ul)) < 0) return rc;
        }
    }
    return 0;
}

typedef struct ctx {
    splits a, b, tmp;
    scratch x;
    piecelist pl;
} ctx;

// Runs one (non-Sequence) pre-tokenizer over every split of in, writing out.
static int run_one(const fr__pretok *p, ctx *c, const splits *in, splits *out) {
    int rc = 0;
    for (size_t k = 0; k < in->n && rc == 0; k++) {
        const char *t = in->s + in->off[k];
        const uint32_t *o = in->orig + in->off[k];
        size_t n = in->sz[k];
        uint32_t sh = in->shift[k];
        switch (p->type) {
        case P_WHITESPACE: rc = step_whitespace(t, o, n, out); break;
        case P_SCRIPTS: rc = step_scripts(t, o, n, out); break;
        case P_WHITESPACE_SPLIT: rc = step_char(t, o, n, C_WHITESPACE, 0, B_REMOVED, &c->pl, out); break;
        case P_BERT:
            splits_clear(&c->tmp);
            rc = step_char(t, o, n, C_WHITESPACE, 0, B_REMOVED, &c->pl, &c->tmp);
            for (size_t j = 0; j < c->tmp.n && rc == 0; j++)
                rc = step_char(c->tmp.s + c->tmp.off[j], c->tmp.orig + c->tmp.off[j], c->tmp.sz[j],
                               C_BERT_PUNC, 0, B_ISOLATED, &c->pl, out);
            break;
        case P_PUNCTUATION: rc = step_char(t, o, n, C_BERT_PUNC, 0, p->behavior, &c->pl, out); break;
        case P_DIGITS:
            rc = step_char(t, o, n, C_NUMERIC, 0, p->individual ? B_ISOLATED : B_CONTIGUOUS, &c->pl, out);
            break;
        case P_CHAR_DELIM: rc = step_char(t, o, n, C_CHAR, p->ch, B_REMOVED, &c->pl, out); break;
        case P_SPLIT:
            rc = step_matches(t, o, n, p->re, p->lit, p->lit_len, p->invert, p->behavior, &c->pl, out);
            break;
        case P_METASPACE: rc = step_metaspace(p, t, o, n, sh, &c->x, &c->pl, out); break;
        case P_BYTELEVEL: rc = step_bytelevel(p, t, o, n, sh, &c->x, &c->pl, &c->tmp, out); break;
        default: rc = FR_EINTERNAL;
        }
    }
    return rc;
}

// Applies p to *cur (flattening Sequences), swapping the result into *cur.
static int run(const fr__pretok *p, ctx *c, splits **cur, splits **other) {
    if (p->type == P_SEQUENCE) {
        for (size_t i = 0; i < p->n_seq; i++) {
            int rc = run(p->seq[i], c, cur, other);
            if (rc < 0) return rc;
        }
        return 0;
    }
    splits_clear(*other);
    int rc = run_one(p, c, *cur, *other);
    splits *t = *cur;
    *cur = *other;
    *other = t;
    return rc;
}

int fr__pretok_apply(const fr__pretok *p, const fr__nstr *s, fr__pieces *out) {
    if (!p) return s->len ? pieces_push(out, s->s, s->len) : 0;
    if (!s->len) return 0;
    ctx c = {0};
    splits *cur = &c.a, *other = &c.b;
    int rc = split_begin(cur, s->shift);
    if (rc == 0) rc = add_bytes(cur, s->s, s->orig, 0, s->len);
    if (rc == 0) rc = run(p, &c, &cur, &other);
    for (size_t k = 0; rc == 0 && k < cur->n; k++)
        if (cur->sz[k]) rc = pieces_push(out, cur->s + cur->off[k], cur->sz[k]);
    splits_free(&c.a);
    splits_free(&c.b);
    splits_free(&c.tmp);
    free(c.x.s);
    free(c.x.orig);
    free(c.pl.p);
    return rc;
}

// ---- parse ----
// A JSON string holding exactly one character. OUT: *cp.
static int get_char(const json_t *j, const char *key, uint32_t dflt, uint32_t *cp, const char *path,
                    fr_error *err) {
    json_t *v = json_object_get(j, key);
    if (!v) { *cp = dflt; return 0; }
    const char *s = json_string_value(v);
    size_t n = json_string_length(v), i = 0;
    if (!s || n == 0) return fr__err(err, FR_EFORMAT, "%s.%s: expected a one-character string", path, key);
    *cp = fr__u8_next(s, n, &i);
    if (i != n) return fr__err(err, FR_EFORMAT, "%s.%s: expected a one-character string", path, key);
    return 0;
}

static int get_behavior(const json_t *j, int dflt, int *out, const char *path, fr_error *err) {
    json_t *v = json_object_get(j, "behavior");
    if (!v) { *out = dflt; return 0; }
    const char *s = json_string_value(v);
    static const char *names[] = {"Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"};
    for (int i = 0; s && i < 5; i++)
        if (!strcmp(s, names[i])) { *out = i; return 0; }
    return fr__err(err, FR_EFORMAT, "%s.behavior: unknown split behavior", path);
}

// Oniguruma pattern of the GPT-2 ByteLevel pre-tokenizer (pre_tokenizers/byte_level.rs).
static const char GPT2_RE[] = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

static int parse_at(const json_t *j, const char *path, int depth, fr__pretok **out, fr_error *err) {
    *out = NULL;
    if (!j || json_is_null(j)) return 0;
    if (depth > 32) return fr__err(err, FR_EFORMAT, "%s: nested too deeply", path);
    if (!json_is_object(j)) return fr__err(err, FR_EFORMAT, "%s: expected an object", path);
    const char *type = json_string_value(json_object_get(j, "type"));
    if (!type) return fr__err(err, FR_EFORMAT, "%s.type: expected a string", path);
    fr__pretok *p = calloc(1, sizeof *p);
    if (!p) return fr__err(err, FR_ENOMEM, "%s: out of memory", path);
    int rc = 0;
    if (!strcmp(type, "BertPreTokenizer")) p->type = P_BERT;
    else if (!strcmp(type, "Whitespace")) p->type = P_WHITESPACE;
    else if (!strcmp(type, "WhitespaceSplit")) p->type = P_WHITESPACE_SPLIT;
    else if (!strcmp(type, "UnicodeScripts")) p->type = P_SCRIPTS;
    else if (!strcmp(type, "Punctuation")) {
        p->type = P_PUNCTUATION;
        rc = get_behavior(j, B_ISOLATED, &p->behavior, path, err);
    } else if (!strcmp(type, "Digits")) {
        p->type = P_DIGITS;
        rc = fr__json_get_bool(j, "individual_digits", -1, &p->individual, path, err);
    } else if (!strcmp(type, "CharDelimiterSplit")) {
        p->type = P_CHAR_DELIM;
        rc = get_char(j, "delimiter", 0, &p->ch, path, err);
        if (rc == 0 && !json_object_get(j, "delimiter"))
            rc = fr__err(err, FR_EFORMAT, "%s.delimiter: missing", path);
    } else if (!strcmp(type, "Split")) {
        p->type = P_SPLIT;
        char sub[256];
        snprintf(sub, sizeof sub, "%s.pattern", path);
        if ((rc = fr__pattern_parse(json_object_get(j, "pattern"), sub, &p->lit, &p->lit_len, &p->re, err)) == 0 &&
            (rc = get_behavior(j, -1, &p->behavior, path, err)) == 0 && p->behavior < 0)
            rc = fr__err(err, FR_EFORMAT, "%s.behavior: missing", path);
        if (rc == 0) rc = fr__json_get_bool(j, "invert", -1, &p->invert, path, err);
    } else if (!strcmp(type, "Metaspace")) {
        p->type = P_METASPACE;
        if (!json_object_get(j, "replacement")) {
            rc = fr__err(err, FR_EFORMAT, "%s.replacement: missing", path);
            goto fail;
        }
        if ((rc = get_char(j, "replacement", 0x2581, &p->ch, path, err)) < 0) goto fail;
        p->rep_len = fr__u8_put(p->ch, p->rep);
        if ((rc = fr__json_get_bool(j, "split", 1, &p->split, path, err)) < 0) goto fail;
        // prepend_scheme (default always); a legacy add_prefix_space may sit beside it, and
        // tokenizers 0.22 rejects add_prefix_space=false unless the scheme is "never"
        json_t *ps = json_object_get(j, "prepend_scheme");
        p->prepend = PREPEND_ALWAYS;
        if (ps && !json_is_null(ps)) {
            const char *s = json_string_value(ps);
            if (s && !strcmp(s, "always")) p->prepend = PREPEND_ALWAYS;
            else if (s && !strcmp(s, "never")) p->prepend = PREPEND_NEVER;
            else if (s && !strcmp(s, "first")) p->prepend = PREPEND_FIRST;
            else { rc = fr__err(err, FR_EFORMAT, "%s.prepend_scheme: expected always, never or first", path); goto fail; }
        }
        int aps;
        if ((rc = fr__json_get_bool(j, "add_prefix_space", 1, &aps, path, err)) < 0) goto fail;
        if (!aps && p->prepend != PREPEND_NEVER) {
            rc = fr__err(err, FR_EFORMAT, "%s: add_prefix_space does not match declared prepend_scheme", path);
            goto fail;
        }
    } else if (!strcmp(type, "ByteLevel")) {
        p->type = P_BYTELEVEL;
        int trim;
        if ((rc = fr__json_get_bool(j, "add_prefix_space", -1, &p->add_prefix_space, path, err)) < 0 ||
            (rc = fr__json_get_bool(j, "trim_offsets", -1, &trim, path, err)) < 0 ||
            (rc = fr__json_get_bool(j, "use_regex", 1, &p->use_regex, path, err)) < 0)
            goto fail;
        if (p->use_regex && (rc = fr__regex_compile(GPT2_RE, sizeof GPT2_RE - 1, &p->re, err)) < 0) goto fail;
    } else if (!strcmp(type, "Sequence")) {
        p->type = P_SEQUENCE;
        json_t *arr = json_object_get(j, "pretokenizers");
        if (!json_is_array(arr)) { rc = fr__err(err, FR_EFORMAT, "%s.pretokenizers: expected an array", path); goto fail; }
        size_t k = json_array_size(arr);
        p->seq = calloc(k ? k : 1, sizeof *p->seq);
        if (!p->seq) { rc = fr__err(err, FR_ENOMEM, "%s: out of memory", path); goto fail; }
        for (size_t i = 0; i < k; i++) {
            char sub[256];
            snprintf(sub, sizeof sub, "%s.pretokenizers[%zu]", path, i);
            if ((rc = parse_at(json_array_get(arr, i), sub, depth + 1, &p->seq[p->n_seq], err)) < 0) goto fail;
            if (p->seq[p->n_seq]) p->n_seq++;
        }
    } else {
        rc = fr__err(err, FR_EUNSUPPORTED, "%s.type: unknown pre-tokenizer \"%.64s\"", path, type);
    }
    if (rc < 0) goto fail;
    *out = p;
    return 0;
fail:
    fr__pretok_free(p);
    return rc;
}

int fr__pretok_parse(const json_t *j, fr__pretok **out, fr_error *err) {
    return parse_at(j, "pre_tokenizer", 0, out, err);
}
