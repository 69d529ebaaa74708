/* added.c — the added vocabulary, following Hugging Face tokenizers 0.22.2
 * tokenizer/added_vocabulary.rs and the tokenizer.json loader (serialization.rs).
 *
 * Loading: every entry of "added_tokens" goes through add_tokens() in file order: special
 * tokens are remembered; each new token gets the id of its content in the added map or the
 * model vocabulary, else the next free id (the file's "id" is only checked by HF, not used).
 * The patterns are split in two sets by each entry's `normalized` flag: the raw set is
 * matched on the original text, the normalized set (contents passed through the
 * normalizer) on each normalized section. The flags used while matching are those of the
 * last entry that received the id (HF's added_tokens_map_r).
 *
 * Matching: HF uses Aho-Corasick leftmost-longest; we walk a byte trie from each position
 * (a first-byte table skips most positions) and take the first position with a match and
 * its longest pattern, then resume after that match's end (a match dropped by single_word
 * still consumes its bytes, as find_iter does). Cost: O(len × longest pattern).
 */
#include <string.h>

#include "tok/added.h"

typedef struct {
    char *content;
    size_t len;
    int32_t id;
    uint8_t single_word, lstrip, rstrip, normalized, special;
} added_tok;

typedef struct {
    fr__trie trie;      // leaf: pattern id (token id) or -1; n_nodes == 0 until the first add
    uint8_t first[256];
    size_t n_patterns;
} matcher;

struct fr__added {
    added_tok *toks;       // (n) file entries, in order
    size_t n;
    fr__vocab map;         // content → id
    added_tok **by_id_tok; // flags per id: sorted (id, tok) pairs
    int32_t *by_id;
    size_t n_by_id;
    matcher raw, norm;
    size_t n_new;
    int32_t max_id;
};

// ---- matcher (a byte trie, trie.c) ----
static int matcher_add(matcher *m, const char *s, size_t len, int32_t id) {
    if (len == 0) return 0;  // an empty pattern never splits anything useful
    uint32_t node;
    if (!m->trie.n_nodes && fr__trie_init(&m->trie, 64) < 0) return FR_ENOMEM;
    if (fr__trie_insert(&m->trie, s, len, &node) < 0) return FR_ENOMEM;
    if (m->trie.leaf[node] < 0) m->trie.leaf[node] = id;  // first of duplicate patterns wins
    m->first[(unsigned char)s[0]] = 1;
    m->n_patterns++;
    return 0;
}
static void matcher_free(matcher *m) { fr__trie_free(&m->trie); }

// ---- loading ----
static int get_flag(const json_t *e, const char *k, int def, int *out) {
    json_t *v = json_object_get(e, k);
    if (!v || json_is_null(v)) { *out = def; return 0; }
    if (!json_is_boolean(v)) return -1;
    *out = json_is_true(v);
    return 0;
}

static int32_t token_to_id(const fr__added *a, const fr__model *model, const char *s, size_t len) {
    int32_t id = fr__vocab_get(&a->map, s, len);
    return id >= 0 ? id : fr__model_token_to_id(model, s, len);
}

static const added_tok *flags_of(const fr__added *a, int32_t id) {
    size_t lo = 0, hi = a->n_by_id;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (a->by_id[mid] < id) lo = mid + 1;
        else hi = mid;
    }
    return lo < a->n_by_id && a->by_id[lo] == id ? a->by_id_tok[lo] : NULL;
}

static int same_tok(const added_tok *x, const added_tok *y) {
    return x->len == y->len && memcmp(x->content, y->content, x->len) == 0 &&
           x->single_word == y->single_word && x->lstrip == y->lstrip && x->rstrip == y->rstrip &&
           x->normalized == y->normalized && x->special == y->special;
}

int fr__added_parse(const json_t *j, const fr__model *model, const fr__normalizer *norm,
                    fr__added **out, fr_error *err) {
    int rc = 0;
    fr__added *a = calloc(1, sizeof *a);
    fr__nstr ns = {0};
    added_tok **lst = NULL;
    if (!a) return fr__err(err, FR_ENOMEM, "added_tokens: out of memory");
    a->max_id = -1;
    if (j && !json_is_null(j) && !json_is_array(j)) {
        rc = fr__err(err, FR_EFORMAT, "added_tokens: expected an array");
        goto fail;
    }
    size_t n = j ? json_array_size(j) : 0;
    a->toks = calloc(n ? n : 1, sizeof *a->toks);
    a->by_id = calloc(n ? n : 1, sizeof *a->by_id);
    a->by_id_tok = calloc(n ? n : 1, sizeof *a->by_id_tok);
    lst = calloc(2 * n + 1, sizeof *lst);
    if (!a->toks || !a->by_id || !a->by_id_tok || !lst) { rc = fr__err(err, FR_ENOMEM, "added_tokens: out of memory"); goto fail; }
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(j, i);
        json_t *c = json_object_get(e, "content");
        if (!json_is_string(c)) { rc = fr__err(err, FR_EFORMAT, "added_tokens[%zu].content: expected a string", i); goto fail; }
        added_tok *t = &a->toks[a->n++];
        t->len = json_string_length(c);
        t->content = malloc(t->len + 1);
        if (!t->content) { rc = fr__err(err, FR_ENOMEM, "added_tokens: out of memory"); goto fail; }
        memcpy(t->content, json_string_value(c), t->len + 1);
        if (fr__utf8_valid_prefix(t->content, t->len) != t->len) {
            rc = fr__err(err, FR_EFORMAT, "added_tokens[%zu].content: not valid UTF-8", i);
            goto fail;
        }
        int sw, ls, rs, sp, no;
        if (get_flag(e, "special", 0, &sp) < 0 || get_flag(e, "single_word", 0, &sw) < 0 ||
            get_flag(e, "lstrip", 0, &ls) < 0 || get_flag(e, "rstrip", 0, &rs) < 0 ||
            get_flag(e, "normalized", !sp, &no) < 0) {
            rc = fr__err(err, FR_EFORMAT, "added_tokens[%zu]: flags must be booleans", i);
            goto fail;
        }
        t->special = (uint8_t)sp; t->single_word = (uint8_t)sw; t->lstrip = (uint8_t)ls;
        t->rstrip = (uint8_t)rs; t->normalized = (uint8_t)no;
        t->id = -1;
    }
    // 1. special tokens list (first occurrence of each content)
    size_t n_spec = 0;
    fr__vocab spec_set = {0};
    for (size_t i = 0; i < a->n; i++) {
        added_tok *t = &a->toks[i];
        if (t->special && t->len && fr__vocab_get(&spec_set, t->content, t->len) < 0) {
            if (fr__vocab_put(&spec_set, t->content, t->len, 1) < 0) { fr__vocab_free(&spec_set); rc = FR_ENOMEM; goto fail; }
            lst[n_spec++] = t;
        }
    }
    // 2. ids, in file order
    int64_t next_id = (int64_t)fr__model_vocab_size(model);
    size_t n_added_list = 0;
    added_tok **added_list = lst + a->n;
    for (size_t i = 0; i < a->n; i++) {
        added_tok *t = &a->toks[i];
        if (!t->len) continue;
        int existing = 0;
        // HF's `existing` set compares all fields; only a content seen before can match
        if (fr__vocab_get(&a->map, t->content, t->len) >= 0)
            for (size_t k = 0; k < i && !existing; k++)
            if (a->toks[k].id >= 0 && same_tok(&a->toks[k], t)) existing = 1;
        if (existing) continue;
        int32_t id = token_to_id(a, model, t->content, t->len);
        if (id < 0) {
            if (next_id > 0x7FFFFFFE) { fr__vocab_free(&spec_set); rc = fr__err(err, FR_ERANGE, "added_tokens: too many ids"); goto fail; }
            id = (int32_t)next_id++;
        }
        t->id = id;
        if (fr__vocab_put(&a->map, t->content, t->len, id) < 0) { fr__vocab_free(&spec_set); rc = FR_ENOMEM; goto fail; }
        // flags per id: the last token given this id
        const added_tok *prev = flags_of(a, id);
        if (prev) {
            for (size_t k = 0; k < a->n_by_id; k++)
                if (a->by_id[k] == id) a->by_id_tok[k] = t;
        } else {
            size_t pos = a->n_by_id;
            while (pos > 0 && a->by_id[pos - 1] > id) {
                a->by_id[pos] = a->by_id[pos - 1];
                a->by_id_tok[pos] = a->by_id_tok[pos - 1];
                pos--;
            }
            a->by_id[pos] = id;
            a->by_id_tok[pos] = t;
            a->n_by_id++;
            if (fr__model_token_to_id(model, t->content, t->len) < 0) a->n_new++;
        }
        if (id > a->max_id) a->max_id = id;
        if (fr__vocab_get(&spec_set, t->content, t->len) < 0) added_list[n_added_list++] = t;
    }
    fr__vocab_free(&spec_set);
    // 3. the two matchers: special tokens first, then the others (HF refresh_added_tokens)
    for (size_t pass = 0; pass < 2; pass++) {
        size_t cnt = pass == 0 ? n_spec : n_added_list;
        added_tok **L = pass == 0 ? lst : added_list;
        for (size_t i = 0; i < cnt; i++) {
            added_tok *t = L[i];
            int32_t id = token_to_id(a, model, t->content, t->len);
            if (id < 0) continue;
            if (!t->normalized) {
                if (matcher_add(&a->raw, t->content, t->len, id) < 0) { rc = FR_ENOMEM; goto fail; }
            } else {
                if (fr__nstr_init(&ns, t->content, t->len, 0) < 0 ||
                    fr__normalizer_apply(norm, &ns) < 0) {
                    rc = fr__err(err, FR_EFORMAT, "added_tokens: cannot normalize \"%.60s\"", t->content);
                    goto fail;
                }
                if (matcher_add(&a->norm, ns.s, ns.len, id) < 0) { rc = FR_ENOMEM; goto fail; }
                fr__nstr_free(&ns);
            }
        }
    }
    free(lst);
    *out = a;
    return 0;
fail:
    if (rc == FR_ENOMEM) fr__err(err, rc, "added_tokens: out of memory");
    fr__nstr_free(&ns);
    free(lst);
    fr__added_free(a);
    return rc;
}

void fr__added_free(fr__added *a) {
    if (!a) return;
    for (size_t i = 0; i < a->n; i++) free(a->toks[i].content);
    free(a->toks);
    fr__vocab_free(&a->map);
    free(a->by_id);
    free(a->by_id_tok);
    matcher_free(&a->raw);
    matcher_free(&a->norm);
    free(a);
}

int32_t fr__added_token_to_id(const fr__added *a, const char *s, size_t len) {
    return fr__vocab_get(&a->map, s, len);
}
const char *fr__added_id_to_token(const fr__added *a, int32_t id) {
    const added_tok *t = flags_of(a, id);
    return t ? t->content : NULL;
}
size_t fr__added_count_new(const fr__added *a) { return a->n_new; }
int32_t fr__added_max_id(const fr__added *a) { return a->max_id; }

// ---- splitting ----
static int ends_with_word(const char *s, size_t end) {  // Rust regex \w$ on s[..end]
    if (end == 0) return 0;
    size_t i = end - 1;
    while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80) i--;
    uint32_t cp;
    fr__utf8_dec((const unsigned char *)s + i, &cp);
    return fr__uni_is_word(cp);
}
static int starts_with_word(const char *s, size_t start, size_t len) {
    if (start >= len) return 0;
    uint32_t cp;
    fr__utf8_dec((const unsigned char *)s + start, &cp);
    return fr__uni_is_word(cp);
}

static int push_split(fr__split **sp, size_t *n, size_t *cap, size_t a, size_t b, int32_t id) {
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        fr__split *ns = realloc(*sp, c * sizeof *ns);
        if (!ns) return FR_ENOMEM;
        *sp = ns;
        *cap = c;
    }
    (*sp)[(*n)++] = (fr__split){(uint32_t)a, (uint32_t)b, id};
    return 0;
}

int fr__added_split(const fr__added *a, int normalized, const char *s, size_t len,
                    fr__split **splits, size_t *n, size_t *cap) {
    *n = 0;
    if (len == 0) return 0;
    const matcher *m = normalized ? &a->norm : &a->raw;
    const unsigned char *u = (const unsigned char *)s;
    size_t start_offset = 0, pos = 0;
    if (m->n_patterns) {
        while (pos < len) {
            if (!m->first[u[pos]]) { pos++; continue; }
            uint32_t node = 0;
            int32_t best = -1;
            size_t best_end = 0;
            for (size_t k = pos; k < len; k++) {
                int32_t c = fr__trie_child(&m->trie, node, u[k]);
                if (c < 0) break;
                node = (uint32_t)c;
                if (m->trie.leaf[node] >= 0) { best = m->trie.leaf[node]; best_end = k + 1; }
            }
            if (best < 0) { pos++; continue; }
            size_t mstart = pos, mend = best_end;
            pos = best_end;  // find_iter resumes after the match
            const added_tok *t = flags_of(a, best);
            if (t && t->single_word) {
                int start_space = mstart == 0 || !ends_with_word(s, mstart);
                int stop_space = mend == len || !starts_with_word(s, mend, len);
                if (!start_space || !stop_space) continue;
            }
            if (t && t->lstrip) {
                size_t ns = mstart;
                while (ns > 0) {  // start of the trailing \s* of s[..mstart]
                    size_t i = ns - 1;
                    while (i > 0 && (u[i] & 0xC0) == 0x80) i--;
                    uint32_t cp;
                    fr__utf8_dec(u + i, &cp);
                    if (!fr__uni_is_space(cp)) break;
                    ns = i;
                }
                mstart = ns > start_offset ? ns : start_offset;
            }
            if (t && t->rstrip) {
                while (mend < len) {
                    uint32_t cp;
                    int l = fr__utf8_dec(u + mend, &cp);
                    if (!fr__uni_is_space(cp)) break;
                    mend += (size_t)l;
                }
            }
            if (start_offset < mstart && push_split(splits, n, cap, start_offset, mstart, -1) < 0)
                return FR_ENOMEM;
            if (push_split(splits, n, cap, mstart, mend, best) < 0) return FR_ENOMEM;
            start_offset = mend;
        }
    }
    if (start_offset != len && push_split(splits, n, cap, start_offset, len, -1) < 0) return FR_ENOMEM;
    return 0;
}
