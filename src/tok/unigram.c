/* unigram.c — the Unigram (SentencePiece) model of Hugging Face tokenizers 0.22.2
 * (models/unigram/model.rs encode_optimized + tokenize, trie.rs).
 *
 * Viterbi over byte positions: from each char start, every vocabulary piece that is a prefix
 * of the rest (found by walking a byte trie) extends the best path ending there; when no
 * single-char piece exists, an unk node of score min_score - 10 covers that char. Ties keep
 * the first candidate (strict >), as HF does, and the trie yields shorter pieces first.
 * Backtracking fuses consecutive unk nodes into one piece; a piece that is not in the
 * vocabulary (fused unks) becomes byte-fallback tokens <0xXX> when all of them exist, else
 * unk_id.
 *
 * Trie: the byte trie of trie.c (one hash probe per step; a few MB for a 250k-piece
 * vocabulary). Cost is O(len × longest piece) for a word of len bytes.
 *
 * JSON: {"type"?: "Unigram", "unk_id": n|null, "vocab": [[piece, score], ...],
 *        "byte_fallback"?: bool}
 */
#include <string.h>

#include "tok/tok.h"

#define K_UNK_PENALTY 10.0

struct fr__unigram {
    fr__vocab vocab;       // piece → id (last id wins on duplicates, as HF token_to_ids)
    char **pieces;         // (n) piece strings, borrowed from `strs`
    double *scores;        // (n)
    char *strs;            // arena of pieces
    size_t n;
    int unk_id;            // -1: none
    int byte_fallback;
    double min_score;
    fr__trie trie;         // pieces; leaf: token id ending at node, or -1
    int32_t byte_ids[256]; // id of <0xXX> or -1
    int32_t root[256];     // children of the root, looked up directly (every position starts here)
};

static int trie_insert(fr__unigram *m, const char *s, size_t len, int32_t id) {
    uint32_t node;
    if (fr__trie_insert(&m->trie, s, len, &node) < 0) return FR_ENOMEM;
    if (len) m->trie.leaf[node] = id;  // HF's trie never yields the empty piece
    return 0;
}

int fr__unigram_parse(const json_t *j, const char *path, fr__unigram **out, fr_error *err) {
    int rc;
    fr__unigram *m = calloc(1, sizeof *m);
    if (!m) return fr__err(err, FR_ENOMEM, "%s: out of memory", path);
    json_t *vocab = json_object_get(j, "vocab");
    json_t *unk = json_object_get(j, "unk_id");
    json_t *bf = json_object_get(j, "byte_fallback");
    if (!json_is_array(vocab)) {
        rc = fr__err(err, FR_EFORMAT, "%s.vocab: %s", path, vocab ? "expected an array" : "Missing vocab");
        goto fail;
    }
    m->unk_id = -1;
    if (unk && !json_is_null(unk)) {
        if (!json_is_integer(unk) || json_integer_value(unk) < 0) {
            rc = fr__err(err, FR_EFORMAT, "%s.unk_id: expected a non-negative integer", path);
            goto fail;
        }
        if (json_array_size(vocab) == 0) {
            rc = fr__err(err, FR_EFORMAT, "%s.vocab: Unable to load vocab EmptyVocabulary", path);
            goto fail;
        }
        if ((size_t)json_integer_value(unk) >= json_array_size(vocab)) {
            rc = fr__err(err, FR_EFORMAT, "%s.unk_id: Unable to load vocab UnkIdNotInVocabulary", path);
            goto fail;
        }
        m->unk_id = (int)json_integer_value(unk);
    }
    if (bf && !json_is_null(bf)) {
        if (!json_is_boolean(bf)) {
            rc = fr__err(err, FR_EFORMAT, "%s.byte_fallback: expected a boolean", path);
            goto fail;
        }
        m->byte_fallback = json_is_true(bf);
    }
    m->n = json_array_size(vocab);
    if (m->n > 0x7FFFFFFE) { rc = fr__err(err, FR_ERANGE, "%s.vocab: too many pieces", path); goto fail; }
    m->pieces = calloc(m->n ? m->n : 1, sizeof *m->pieces);
    m->scores = calloc(m->n ? m->n : 1, sizeof *m->scores);
    if (!m->pieces || !m->scores) { rc = fr__err(err, FR_ENOMEM, "%s: out of memory", path); goto fail; }
    size_t total = 0;
    for (size_t i = 0; i < m->n; i++) {
        json_t *e = json_array_get(vocab, i);
        if (!json_is_array(e) || json_array_size(e) != 2 || !json_is_string(json_array_get(e, 0)) ||
            !json_is_number(json_array_get(e, 1))) {
            rc = fr__err(err, FR_EFORMAT, "%s.vocab[%zu]: expected [piece, score]", path, i);
            goto fail;
        }
        total += json_string_length(json_array_get(e, 0)) + 1;
    }
    m->strs = malloc(total ? total : 1);
    if (!m->strs) { rc = fr__err(err, FR_ENOMEM, "%s: out of memory", path); goto fail; }
    if (fr__trie_init(&m->trie, 1024) < 0) {
        rc = fr__err(err, FR_ENOMEM, "%s: out of memory", path);
        goto fail;
    }
    m->min_score = 1.0 / 0.0;
    for (int b = 0; b < 256; b++) m->byte_ids[b] = -1;
    size_t off = 0;
    for (size_t i = 0; i < m->n; i++) {
        json_t *e = json_array_get(vocab, i);
        const char *p = json_string_value(json_array_get(e, 0));
        size_t pl = json_string_length(json_array_get(e, 0));
        if (fr__utf8_valid_prefix(p, pl) != pl || memchr(p, 0, pl)) {
            rc = fr__err(err, FR_EFORMAT, "%s.vocab[%zu]: piece is not valid UTF-8 text", path, i);
            goto fail;
        }
        memcpy(m->strs + off, p, pl + 1);
        m->pieces[i] = m->strs + off;
        off += pl + 1;
        double sc = json_number_value(json_array_get(e, 1));
        m->scores[i] = sc;
        if (sc < m->min_score) m->min_score = sc;
        if (fr__vocab_put(&m->vocab, p, pl, (int32_t)i) < 0 ||
            trie_insert(m, p, pl, (int32_t)i) < 0) {
            rc = fr__err(err, FR_ENOMEM, "%s: out of memory", path);
            goto fail;
        }
    }
    for (int b = 0; b < 256; b++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", b);
        m->byte_ids[b] = fr__vocab_get(&m->vocab, name, 6);
        m->root[b] = fr__trie_child(&m->trie, 0, (unsigned char)b);
    }
    *out = m;
    return 0;
fail:
    fr__unigram_free(m);
    return rc;
}

void fr__unigram_free(fr__unigram *m) {
    if (!m) return;
    fr__vocab_free(&m->vocab);
    free(m->pieces);
    free(m->scores);
    free(m->strs);
    fr__trie_free(&m->trie);
    free(m);
}

size_t fr__unigram_size(const fr__unigram *m) { return m->n; }
int32_t fr__unigram_token_to_id(const fr__unigram *m, const char *s, size_t len) {
    return fr__vocab_get(&m->vocab, s, len);
}
const char *fr__unigram_id_to_token(const fr__unigram *m, int32_t id) {
    return id >= 0 && (size_t)id < m->n ? m->pieces[id] : NULL;
}

// ---- encoding ----
typedef struct { double score; int32_t start; int32_t id; } best_node;

// Emits piece s[a, b) as HF Unigram::tokenize does for one string of encode()'s output.
// `known` is the Viterbi node's id (the id HF's token_to_ids lookup returns for a piece it
// found in the trie), or -1 for a fused run of unknowns, which is looked up as HF does.
static int emit(const fr__unigram *m, const char *s, size_t a, size_t b, int32_t known,
                fr__enc *out, fr_error *err) {
    int32_t id = known >= 0 ? known : fr__vocab_get(&m->vocab, s + a, b - a);
    if (id >= 0) return fr__enc_push(out, id, s + a, b - a);
    if (m->byte_fallback) {
        int all = 1;
        for (size_t i = a; i < b; i++)
            if (m->byte_ids[(unsigned char)s[i]] < 0) { all = 0; break; }
        if (all) {
            for (size_t i = a; i < b; i++) {
                char name[8];
                snprintf(name, sizeof name, "<0x%02X>", (unsigned char)s[i]);
                int rc = fr__enc_push(out, m->byte_ids[(unsigned char)s[i]], name, 6);
                if (rc < 0) return rc;
            }
            return 0;
        }
    }
    if (m->unk_id < 0)
        return fr__err(err, FR_EINVAL, "Encountered an unknown token but `unk_id` is missing");
    return fr__enc_push(out, m->unk_id, s + a, b - a);
}

int fr__unigram_tokenize(const fr__unigram *m, const char *s, size_t len, fr__enc *out,
                         fr_error *err) {
    if (len == 0) return 0;
    if (len > 0x7FFFFFF0) return fr__err(err, FR_ERANGE, "Unigram: piece too long");
    best_node *best = malloc((len + 1) * sizeof *best);
    // backtracking produces pieces right to left: (start, end) pairs, reversed at the end
    uint32_t *segs = malloc(3 * (len + 1) * sizeof *segs);  // (start, end, id or -1)
    if (!best || !segs) { free(best); free(segs); return FR_ENOMEM; }
    for (size_t i = 0; i <= len; i++) { best[i].start = -1; best[i].score = 0; best[i].id = 0; }
    const unsigned char *u = (const unsigned char *)s;
    double unk_score = m->min_score - K_UNK_PENALTY;
    int rc = 0;
    size_t pos = 0;
    while (pos < len) {
        double base = best[pos].score;
        size_t mblen = (size_t)fr__utf8_len(u[pos]);
        if (pos + mblen > len) mblen = len - pos;
        int has_single = 0;
        uint32_t node = 0;
        for (size_t k = pos; k < len; k++) {
            int32_t c = k == pos ? m->root[u[k]] : fr__trie_child(&m->trie, node, u[k]);
            if (c < 0) break;
            node = (uint32_t)c;
            int32_t leaf = m->trie.leaf[node];
            if (leaf < 0) continue;
            size_t kp = k + 1;
            // HF looks the piece up in token_to_ids: the last duplicate's id and score,
            // which is what trie_insert left in the leaf
            int32_t id = leaf;
            double cand = m->scores[id] + base;
            best_node *t = &best[kp];
            if (t->start < 0 || cand > t->score) {
                t->score = cand;
                t->start = (int32_t)pos;
                t->id = id;
            }
            if (kp - pos == mblen) has_single = 1;
        }
        if (!has_single) {
            best_node *t = &best[pos + mblen];
            double cand = unk_score + base;
            if (t->start < 0 || cand > t->score) {
                if (m->unk_id < 0) {
                    rc = fr__err(err, FR_EINVAL, "Encountered an unknown token but `unk_id` is missing");
                    goto done;
                }
                t->score = cand;
                t->start = (int32_t)pos;
                t->id = m->unk_id;
            }
        }
        pos += mblen;
    }
    size_t nseg = 0;
    size_t end = len, unk_end = 0;
    int in_unk = 0;
    while (end > 0) {
        best_node *nd = &best[end];
        size_t st = (size_t)nd->start;
        if (nd->id == m->unk_id) {  // fuse_unk is always on for Unigram
            if (!in_unk) { in_unk = 1; unk_end = end; }
        } else {
            if (in_unk) {
                segs[3 * nseg] = (uint32_t)end;
                segs[3 * nseg + 1] = (uint32_t)unk_end;
                segs[3 * nseg + 2] = UINT32_MAX;
                nseg++;
                in_unk = 0;
            }
            segs[3 * nseg] = (uint32_t)st;
            segs[3 * nseg + 1] = (uint32_t)end;
            segs[3 * nseg + 2] = (uint32_t)nd->id;
            nseg++;
        }
        end = st;
    }
    if (in_unk) {
        segs[3 * nseg] = 0;
        segs[3 * nseg + 1] = (uint32_t)unk_end;
        segs[3 * nseg + 2] = UINT32_MAX;
        nseg++;
    }
    for (size_t i = nseg; i-- > 0;)
        if ((rc = emit(m, s, segs[3 * i], segs[3 * i + 1], (int32_t)segs[3 * i + 2], out, err)) < 0)
            goto done;
done:
    free(best);
    free(segs);
    return rc;
}
