/* bpe.c — the BPE model of Hugging Face tokenizers 0.22.2 (models/bpe/model.rs merge_word,
 * word.rs merge_all, serialization.rs).
 *
 * A piece starts as one symbol per char (with continuing_subword_prefix on all but the
 * first and end_of_word_suffix on the last; unknown chars become byte-fallback <0xXX>
 * symbols, or unk_token — fused when fuse_unk — or vanish when there is no unk_token).
 * Then, exactly as HF's merge_all: a min-heap ordered by (merge rank, position) holds the
 * candidate pairs; a popped candidate is applied if its left symbol is still alive, has a
 * right neighbour and that pair still merges into the same new id; new neighbouring pairs
 * are pushed. O(n log n) for a word of n chars, so a 1 MB word is fine.
 * ignore_merges: a piece that is itself in the vocabulary is emitted as is.
 *
 * Merges: a hash table keyed by (left id << 32 | right id) → (rank, new id); a duplicate
 * pair keeps the later rank, as HF's HashMap collect does.
 *
 * JSON: {"type"?: "BPE", "vocab": {tok: id}, "merges": ["a b", ...] | [["a", "b"], ...],
 *        "unk_token"?, "continuing_subword_prefix"?, "end_of_word_suffix"?, "fuse_unk"?,
 *        "byte_fallback"?, "ignore_merges"?, "dropout"? (must be null, 0 or absent)}
 */
#include <string.h>

#include "tok/tok.h"

int fr__parse_vocab_map(const json_t *j, const char *path, fr__vocab *v, fr_error *err);

struct fr__bpe {
    fr__vocab vocab;
    char **id_to_tok;       // (n_ids) borrowed from vocab.arena
    size_t n_ids;
    struct merge_slot { uint64_t key; uint32_t rank, new_id; } *mt;  // (mcap) key UINT64_MAX = empty
    size_t mcap, n_merges;
    int32_t *char_id;       // (0x800) id of the one-char token for code points < U+0800, -1 if
                            // none; only when there is no prefix / suffix (NULL otherwise)
    char *unk, *prefix, *suffix;  // NULL when absent
    int fuse_unk, byte_fallback, ignore_merges;
    int32_t byte_ids[256];
};

static inline uint64_t mhash(uint64_t k) {
    k ^= k >> 31;
    k *= 0x9E3779B97F4A7C15ull;
    k ^= k >> 29;
    return k;
}

static inline int merge_find(const fr__bpe *m, uint32_t a, uint32_t b, uint32_t *rank,
                             uint32_t *nid) {
    uint64_t key = (uint64_t)a << 32 | b;
    size_t j = mhash(key) & (m->mcap - 1);
    for (;;) {
        const struct merge_slot *e = &m->mt[j];
        if (e->key == key) { *rank = e->rank; *nid = e->new_id; return 1; }
        if (e->key == UINT64_MAX) return 0;
        j = (j + 1) & (m->mcap - 1);
    }
}

static void merge_put(fr__bpe *m, uint32_t a, uint32_t b, uint32_t rank, uint32_t nid) {
    uint64_t key = (uint64_t)a << 32 | b;
    size_t j = mhash(key) & (m->mcap - 1);
    while (m->mt[j].key != UINT64_MAX && m->mt[j].key != key) j = (j + 1) & (m->mcap - 1);
    if (m->mt[j].key == UINT64_MAX) m->n_merges++;
    m->mt[j] = (struct merge_slot){key, rank, nid};
}

static int opt_str(const json_t *j, const char *key, const char *path, char **out, fr_error *err) {
    json_t *v = json_object_get(j, key);
    *out = NULL;
    if (!v || json_is_null(v)) return 0;
    if (!json_is_string(v)) return fr__err(err, FR_EFORMAT, "%s.%s: expected a string", path, key);
    *out = strdup(json_string_value(v));
    return *out ? 0 : FR_ENOMEM;
}
static int opt_bool(const json_t *j, const char *key, const char *path, int *out, fr_error *err) {
    json_t *v = json_object_get(j, key);
    if (!v || json_is_null(v)) return 0;
    if (!json_is_boolean(v)) return fr__err(err, FR_EFORMAT, "%s.%s: expected a boolean", path, key);
    *out = json_is_true(v);
    return 0;
}

int fr__bpe_parse(const json_t *j, const char *path, fr__bpe **out, fr_error *err) {
    int rc;
    fr__bpe *m = calloc(1, sizeof *m);
    char *tmp = NULL;
    if (!m) return fr__err(err, FR_ENOMEM, "%s: out of memory", path);
    json_t *vocab = json_object_get(j, "vocab"), *merges = json_object_get(j, "merges");
    if (!vocab || !merges) { rc = fr__err(err, FR_EFORMAT, "%s: Missing vocab/merges", path); goto fail; }
    if ((rc = fr__parse_vocab_map(vocab, path, &m->vocab, err)) < 0) goto fail;
    if ((rc = opt_str(j, "unk_token", path, &m->unk, err)) < 0 ||
        (rc = opt_str(j, "continuing_subword_prefix", path, &m->prefix, err)) < 0 ||
        (rc = opt_str(j, "end_of_word_suffix", path, &m->suffix, err)) < 0 ||
        (rc = opt_bool(j, "fuse_unk", path, &m->fuse_unk, err)) < 0 ||
        (rc = opt_bool(j, "byte_fallback", path, &m->byte_fallback, err)) < 0 ||
        (rc = opt_bool(j, "ignore_merges", path, &m->ignore_merges, err)) < 0) {
        if (rc == FR_ENOMEM) fr__err(err, rc, "%s: out of memory", path);
        goto fail;
    }
    json_t *dr = json_object_get(j, "dropout");
    if (dr && !json_is_null(dr)) {
        if (!json_is_number(dr) || json_number_value(dr) < 0 || json_number_value(dr) > 1) {
            rc = fr__err(err, FR_EFORMAT, "%s.dropout: Dropout should be between 0 and 1", path);
            goto fail;
        }
        if (json_number_value(dr) != 0) {
            rc = fr__err(err, FR_EUNSUPPORTED, "%s.dropout: BPE dropout is random; not supported", path);
            goto fail;
        }
    }
    // reverse vocabulary
    for (size_t i = 0; i < m->vocab.n; i++)
        if ((size_t)m->vocab.ent[i].val + 1 > m->n_ids) m->n_ids = (size_t)m->vocab.ent[i].val + 1;
    m->id_to_tok = calloc(m->n_ids ? m->n_ids : 1, sizeof *m->id_to_tok);
    if (!m->id_to_tok) { rc = fr__err(err, FR_ENOMEM, "%s: out of memory", path); goto fail; }
    for (size_t i = 0; i < m->vocab.n; i++) m->id_to_tok[m->vocab.ent[i].val] = m->vocab.arena + m->vocab.ent[i].off;
    // merges
    if (!json_is_array(merges)) { rc = fr__err(err, FR_EFORMAT, "%s.merges: expected an array", path); goto fail; }
    size_t nm = json_array_size(merges);
    m->mcap = 16;
    while (m->mcap < 2 * nm + 2) m->mcap *= 2;
    m->mt = malloc(m->mcap * sizeof *m->mt);
    if (!m->mt) { rc = fr__err(err, FR_ENOMEM, "%s: out of memory", path); goto fail; }
    for (size_t i = 0; i < m->mcap; i++) m->mt[i].key = UINT64_MAX;
    size_t plen = m->prefix ? strlen(m->prefix) : 0;
    size_t rank = 0;
    for (size_t i = 0; i < nm; i++) {
        json_t *e = json_array_get(merges, i);
        const char *a, *b;
        size_t al, bl;
        if (json_is_string(e)) {
            const char *s = json_string_value(e);
            size_t sl = json_string_length(e);
            if (sl >= 8 && memcmp(s, "#version", 8) == 0) continue;  // legacy header line
            const char *sp = memchr(s, ' ', sl);
            if (!sp || memchr(sp + 1, ' ', sl - (size_t)(sp + 1 - s))) {
                rc = fr__err(err, FR_EFORMAT, "%s.merges[%zu]: Merges text file invalid at line %zu",
                             path, i, rank + 1);
                goto fail;
            }
            a = s; al = (size_t)(sp - s);
            b = sp + 1; bl = sl - al - 1;
        } else if (json_is_array(e) && json_array_size(e) == 2 &&
                   json_is_string(json_array_get(e, 0)) && json_is_string(json_array_get(e, 1))) {
            a = json_string_value(json_array_get(e, 0));
            al = json_string_length(json_array_get(e, 0));
            b = json_string_value(json_array_get(e, 1));
            bl = json_string_length(json_array_get(e, 1));
        } else {
            rc = fr__err(err, FR_EFORMAT, "%s.merges[%zu]: expected \"a b\" or [a, b]", path, i);
            goto fail;
        }
        int32_t ia = fr__vocab_get(&m->vocab, a, al), ib = fr__vocab_get(&m->vocab, b, bl);
        if (ia < 0 || ib < 0) {
            rc = fr__err(err, FR_EFORMAT, "%s.merges[%zu]: Merge token out of vocabulary: %.*s", path,
                         i, (int)(ia < 0 ? (al > 80 ? 80 : al) : (bl > 80 ? 80 : bl)), ia < 0 ? a : b);
            goto fail;
        }
        size_t skip = plen <= bl ? plen : bl;  // HF slices b[prefix_len..]
        if (plen > bl || (skip && ((unsigned char)b[skip] & 0xC0) == 0x80 && skip < bl)) {
            rc = fr__err(err, FR_EFORMAT, "%s.merges[%zu]: merge shorter than the subword prefix", path, i);
            goto fail;
        }
        free(tmp);
        tmp = malloc(al + bl + 1);
        if (!tmp) { rc = fr__err(err, FR_ENOMEM, "%s: out of memory", path); goto fail; }
        memcpy(tmp, a, al);
        memcpy(tmp + al, b + skip, bl - skip);
        int32_t in = fr__vocab_get(&m->vocab, tmp, al + bl - skip);
        if (in < 0) {
            rc = fr__err(err, FR_EFORMAT, "%s.merges[%zu]: Merge token out of vocabulary: %.*s", path, i,
                         (int)(al + bl - skip > 80 ? 80 : al + bl - skip), tmp);
            goto fail;
        }
        merge_put(m, (uint32_t)ia, (uint32_t)ib, (uint32_t)rank, (uint32_t)in);
        rank++;
    }
    for (int b = 0; b < 256; b++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", b);
        m->byte_ids[b] = fr__vocab_get(&m->vocab, name, 6);
    }
    if ((!m->prefix || !*m->prefix) && (!m->suffix || !*m->suffix)) {
        m->char_id = malloc(0x800 * sizeof *m->char_id);
        if (!m->char_id) { rc = fr__err(err, FR_ENOMEM, "%s: out of memory", path); goto fail; }
        for (uint32_t cp = 0; cp < 0x800; cp++) {
            char u[2];
            size_t ul = 1;
            if (cp < 0x80) u[0] = (char)cp;
            else { u[0] = (char)(0xC0 | (cp >> 6)); u[1] = (char)(0x80 | (cp & 0x3F)); ul = 2; }
            m->char_id[cp] = fr__vocab_get(&m->vocab, u, ul);
        }
    }
    free(tmp);
    *out = m;
    return 0;
fail:
    free(tmp);
    fr__bpe_free(m);
    return rc;
}

void fr__bpe_free(fr__bpe *m) {
    if (!m) return;
    fr__vocab_free(&m->vocab);
    free(m->id_to_tok);
    free(m->mt);
    free(m->char_id);
    free(m->unk);
    free(m->prefix);
    free(m->suffix);
    free(m);
}

const fr__vocab *fr__bpe_vocab(const fr__bpe *m) { return &m->vocab; }
const char *fr__bpe_id_to_token(const fr__bpe *m, int32_t id) {
    return id >= 0 && (size_t)id < m->n_ids ? m->id_to_tok[id] : NULL;
}

// ---- merging ----
typedef struct { int32_t c, prev, next; uint32_t len; } symbol;
typedef struct { uint32_t rank, pos, new_id; } cand;

static inline int cand_less(cand x, cand y) {
    return x.rank != y.rank ? x.rank < y.rank : x.pos < y.pos;
}
static void heap_push(cand *h, size_t *n, cand c) {
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!cand_less(c, h[p])) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = c;
}
static cand heap_pop(cand *h, size_t *n) {
    cand top = h[0], last = h[--*n];
    size_t i = 0, cnt = *n;
    for (;;) {
        size_t l = 2 * i + 1;
        if (l >= cnt) break;
        size_t s = (l + 1 < cnt && cand_less(h[l + 1], h[l])) ? l + 1 : l;
        if (!cand_less(h[s], last)) break;
        h[i] = h[s];
        i = s;
    }
    if (cnt) h[i] = last;
    return top;
}

typedef struct { symbol *sym; size_t n, cap; int on_stack; } word;

static int word_add(word *w, int32_t c, size_t len) {
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 64;
        symbol *s = w->on_stack ? malloc(cap * sizeof *s) : realloc(w->sym, cap * sizeof *s);
        if (!s) return FR_ENOMEM;
        if (w->on_stack) memcpy(s, w->sym, w->n * sizeof *s);
        w->on_stack = 0;
        w->sym = s;
        w->cap = cap;
    }
    int32_t n = (int32_t)w->n;
    if (n > 0) w->sym[n - 1].next = n;
    w->sym[n] = (symbol){c, n - 1, -1, (uint32_t)len};
    w->n++;
    return 0;
}

int fr__bpe_tokenize(const fr__bpe *m, const char *s, size_t len, fr__enc *out, fr_error *err) {
    if (len == 0) return 0;
    if (len > 0x7FFFFFF0) return fr__err(err, FR_ERANGE, "BPE: piece too long");
    if (m->ignore_merges) {
        int32_t id = fr__vocab_get(&m->vocab, s, len);
        if (id >= 0) return fr__enc_push(out, id, s, len);
    }
    int rc = 0;
    symbol wstack[64];
    cand hstack[160];
    word w = {wstack, 0, 64, 1};
    cand *heap = hstack;
    char sbuf[128];
    char *buf = sbuf;
    size_t plen = m->prefix ? strlen(m->prefix) : 0, slen = m->suffix ? strlen(m->suffix) : 0;
    size_t bcap = plen + slen + 4;
    if (bcap > sizeof sbuf) {
        buf = malloc(bcap);
        if (!buf) return FR_ENOMEM;
    }
    int32_t unk_id = -1;
    size_t unk_len = 0;
    int have_unk = 0;
    for (size_t i = 0; i < len;) {
        size_t cl = (size_t)fr__utf8_len((unsigned char)s[i]);
        if (i + cl > len) cl = len - i;
        size_t kl = 0;
        int32_t id;
        unsigned char c0 = (unsigned char)s[i];
        if (m->char_id && cl <= 2) {  // one-char token table (byte-level alphabets live here)
            uint32_t cp = cl == 1 ? c0 : ((c0 & 0x1Fu) << 6) | ((unsigned char)s[i + 1] & 0x3Fu);
            id = m->char_id[cp];
            memcpy(buf, s + i, cl);
            kl = cl;
        } else {
            if (i > 0 && m->prefix) { memcpy(buf, m->prefix, plen); kl = plen; }
            memcpy(buf + kl, s + i, cl);
            kl += cl;
            if (i + cl == len && m->suffix) { memcpy(buf + kl, m->suffix, slen); kl += slen; }
            id = fr__vocab_get(&m->vocab, buf, kl);
        }
        if (id >= 0) {
            if (have_unk) {
                if ((rc = word_add(&w, unk_id, unk_len)) < 0) goto done;
                have_unk = 0;
            }
            if ((rc = word_add(&w, id, cl)) < 0) goto done;
        } else {
            int done_fb = 0;
            if (m->byte_fallback) {
                int all = 1;
                for (size_t k = 0; k < kl; k++)
                    if (m->byte_ids[(unsigned char)buf[k]] < 0) { all = 0; break; }
                if (all) {
                    for (size_t k = 0; k < kl; k++)
                        if ((rc = word_add(&w, m->byte_ids[(unsigned char)buf[k]], 1)) < 0) goto done;
                    done_fb = 1;
                }
            }
            if (!done_fb && m->unk) {
                int32_t uid = fr__vocab_get(&m->vocab, m->unk, strlen(m->unk));
                if (uid < 0) {
                    rc = fr__err(err, FR_EFORMAT, "Unk token `%s` not found in the vocabulary", m->unk);
                    goto done;
                }
                if (have_unk && m->fuse_unk) unk_len += cl;
                else {
                    if (have_unk && (rc = word_add(&w, unk_id, unk_len)) < 0) goto done;
                    unk_id = uid;
                    unk_len = cl;
                    have_unk = 1;
                }
            }
        }
        i += cl;
    }
    if (have_unk && (rc = word_add(&w, unk_id, unk_len)) < 0) goto done;

    // merge_all
    if (w.n > 1) {
        size_t hcap = 160, hn = 0;
        if (w.n * 2 + 16 > hcap) {
            hcap = w.n * 2 + 16;
            heap = malloc(hcap * sizeof *heap);
            if (!heap) { rc = FR_ENOMEM; goto done; }
        }
        for (size_t i = 0; i + 1 < w.n; i++) {
            uint32_t r, nid;
            if (merge_find(m, (uint32_t)w.sym[i].c, (uint32_t)w.sym[i + 1].c, &r, &nid))
                heap_push(heap, &hn, (cand){r, (uint32_t)i, nid});
        }
        while (hn) {
            cand top = heap_pop(heap, &hn);
            symbol *cur = &w.sym[top.pos];
            if (cur->len == 0 || cur->next == -1) continue;
            symbol right = w.sym[cur->next];
            uint32_t r, nid;
            if (!merge_find(m, (uint32_t)cur->c, (uint32_t)right.c, &r, &nid) || nid != top.new_id)
                continue;
            int32_t next_pos = cur->next;
            cur->c = (int32_t)top.new_id;
            cur->len += right.len;
            cur->next = right.next;
            w.sym[next_pos].len = 0;
            if (right.next > -1 && (size_t)right.next < w.n) w.sym[right.next].prev = (int32_t)top.pos;
            if (hn + 2 > hcap) {
                cand *nh = heap == hstack ? malloc(2 * hcap * sizeof *nh) : realloc(heap, 2 * hcap * sizeof *nh);
                if (!nh) { rc = FR_ENOMEM; goto done; }
                if (heap == hstack) memcpy(nh, hstack, hn * sizeof *nh);
                heap = nh;
                hcap *= 2;
            }
            if (cur->prev >= 0 && merge_find(m, (uint32_t)w.sym[cur->prev].c, (uint32_t)cur->c, &r, &nid))
                heap_push(heap, &hn, (cand){r, (uint32_t)cur->prev, nid});
            if (cur->next >= 0 && (size_t)cur->next < w.n &&
                merge_find(m, (uint32_t)cur->c, (uint32_t)w.sym[cur->next].c, &r, &nid))
                heap_push(heap, &hn, (cand){r, top.pos, nid});
        }
    }
    for (size_t i = 0; i < w.n; i++) {
        if (w.sym[i].len == 0) continue;
        const char *t = out->want_tokens ? fr__bpe_id_to_token(m, w.sym[i].c) : NULL;
        if ((rc = fr__enc_push(out, w.sym[i].c, t ? t : "", t ? strlen(t) : 0)) < 0) goto done;
    }
done:
    if (buf != sbuf) free(buf);
    if (w.sym != wstack) free(w.sym);
    if (heap != hstack) free(heap);
    return rc;
}
