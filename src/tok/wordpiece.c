/* wordpiece.c — the WordPiece model (and WordLevel, its subset) of Hugging Face tokenizers
 * 0.22.2 (models/wordpiece/mod.rs, models/wordlevel/mod.rs).
 *
 * WordPiece: greedy longest-match-first from the left; pieces after the first carry
 * continuing_subword_prefix ("##"); a word longer than max_input_chars_per_word chars, or
 * one with an unmatchable rest, becomes the single unk token. The search for the longest
 * match starts at most max-key-length bytes ahead (a longer substring cannot be in the
 * vocabulary), so cost stays linear in the word length for any max_input_chars_per_word.
 * WordLevel: the whole piece is looked up, else unk_token.
 *
 * JSON: {"type"?: "WordPiece", "unk_token": s, "continuing_subword_prefix": s,
 *        "max_input_chars_per_word": n, "vocab": {token: id, ...}}
 */
#include <string.h>

#include "tok/tok.h"

struct fr__wordpiece {
    fr__vocab vocab;
    char *unk;            // unk_token
    char *prefix;         // continuing_subword_prefix
    size_t prefix_len;
    size_t max_chars;     // max_input_chars_per_word
    int wordlevel;
    char **id_to_tok;     // (n_ids) borrowed from vocab.arena, NULL where no token
    size_t n_ids;
};

static int build_reverse(const fr__vocab *v, char ***out, size_t *n_out) {
    size_t n = 0;
    for (size_t i = 0; i < v->n; i++)
        if ((size_t)v->ent[i].val + 1 > n) n = (size_t)v->ent[i].val + 1;
    char **r = calloc(n ? n : 1, sizeof *r);
    if (!r) return FR_ENOMEM;
    for (size_t i = 0; i < v->n; i++) r[v->ent[i].val] = v->arena + v->ent[i].off;
    *out = r;
    *n_out = n;
    return 0;
}

// Parses a {token: id} object into v. Ids must fit int32.
static int parse_vocab_map(const json_t *j, const char *path, fr__vocab *v, fr_error *err) {
    if (!json_is_object(j)) return fr__err(err, FR_EFORMAT, "%s.vocab: expected an object", path);
    const char *k;
    json_t *val;
    json_object_foreach((json_t *)j, k, val) {
        if (!json_is_integer(val) || json_integer_value(val) < 0 ||
            json_integer_value(val) > 0x7FFFFFFE)
            return fr__err(err, FR_EFORMAT, "%s.vocab[\"%.60s\"]: expected an id in [0, 2^31)",
                           path, k);
        size_t kl = strlen(k);
        if (fr__utf8_valid_prefix(k, kl) != kl)
            return fr__err(err, FR_EFORMAT, "%s.vocab: key is not valid UTF-8", path);
        if (fr__vocab_put(v, k, kl, (int32_t)json_integer_value(val)) < 0)
            return fr__err(err, FR_ENOMEM, "%s.vocab: out of memory", path);
    }
    return 0;
}
int fr__parse_vocab_map(const json_t *j, const char *path, fr__vocab *v, fr_error *err) {
    return parse_vocab_map(j, path, v, err);
}

static char *dup_str(const json_t *j) {
    const char *s = json_string_value(j);
    return s ? strdup(s) : NULL;
}

int fr__wordpiece_parse(const json_t *j, const char *path, int wordlevel, fr__wordpiece **out,
                        fr_error *err) {
    int rc;
    fr__wordpiece *m = calloc(1, sizeof *m);
    if (!m) return fr__err(err, FR_ENOMEM, "%s: out of memory", path);
    m->wordlevel = wordlevel;
    json_t *vocab = json_object_get(j, "vocab");
    json_t *unk = json_object_get(j, "unk_token");
    if (!vocab) { rc = fr__err(err, FR_EFORMAT, "%s: missing field vocab", path); goto fail; }
    if ((rc = parse_vocab_map(vocab, path, &m->vocab, err)) < 0) goto fail;
    if (!unk || !json_is_string(unk)) {
        rc = fr__err(err, FR_EFORMAT, "%s.unk_token: expected a string", path);
        goto fail;
    }
    m->unk = dup_str(unk);
    if (!wordlevel) {
        json_t *pre = json_object_get(j, "continuing_subword_prefix");
        json_t *mx = json_object_get(j, "max_input_chars_per_word");
        if (pre && !json_is_string(pre)) {
            rc = fr__err(err, FR_EFORMAT, "%s.continuing_subword_prefix: expected a string", path);
            goto fail;
        }
        m->prefix = pre ? dup_str(pre) : strdup("##");
        if (mx && (!json_is_integer(mx) || json_integer_value(mx) < 0)) {
            rc = fr__err(err, FR_EFORMAT,
                         "%s.max_input_chars_per_word: expected a non-negative integer", path);
            goto fail;
        }
        m->max_chars = mx ? (size_t)json_integer_value(mx) : 100;
    } else {
        m->prefix = strdup("");
    }
    if (!m->unk || !m->prefix) { rc = fr__err(err, FR_ENOMEM, "%s: out of memory", path); goto fail; }
    m->prefix_len = strlen(m->prefix);
    if ((rc = build_reverse(&m->vocab, &m->id_to_tok, &m->n_ids)) < 0) {
        rc = fr__err(err, rc, "%s: out of memory", path);
        goto fail;
    }
    *out = m;
    return 0;
fail:
    fr__wordpiece_free(m);
    return rc;
}

void fr__wordpiece_free(fr__wordpiece *m) {
    if (!m) return;
    fr__vocab_free(&m->vocab);
    free(m->unk);
    free(m->prefix);
    free(m->id_to_tok);
    free(m);
}

const fr__vocab *fr__wordpiece_vocab(const fr__wordpiece *m) { return &m->vocab; }

const char *fr__wordpiece_id_to_token(const fr__wordpiece *m, int32_t id) {
    return id >= 0 && (size_t)id < m->n_ids ? m->id_to_tok[id] : NULL;
}

static int push_unk(const fr__wordpiece *m, fr__enc *out, fr_error *err) {
    int32_t id = fr__vocab_get(&m->vocab, m->unk, strlen(m->unk));
    if (id < 0)
        return fr__err(err, FR_EFORMAT, "WordPiece error: Missing %s token from the vocabulary",
                       m->unk);
    return fr__enc_push(out, id, m->unk, strlen(m->unk));
}

int fr__wordpiece_tokenize(const fr__wordpiece *m, const char *s, size_t len, fr__enc *out,
                           fr_error *err) {
    if (m->wordlevel) {
        int32_t id = fr__vocab_get(&m->vocab, s, len);
        if (id >= 0) return fr__enc_push(out, id, s, len);
        id = fr__vocab_get(&m->vocab, m->unk, strlen(m->unk));
        if (id < 0) return fr__err(err, FR_EFORMAT, "WordLevel error: Missing UNK token from the vocabulary");
        return fr__enc_push(out, id, m->unk, strlen(m->unk));
    }
    size_t nchars = 0;
    for (size_t i = 0; i < len; i++) nchars += ((unsigned char)s[i] & 0xC0) != 0x80;
    if (nchars > m->max_chars) return push_unk(m, out, err);

    size_t n0 = out->n, text0 = out->text.len;
    char stackbuf[256];
    char *buf = stackbuf;
    size_t maxk = m->vocab.max_klen;
    size_t need = m->prefix_len + (len < maxk ? len : maxk);
    if (need > sizeof stackbuf) {
        buf = malloc(need);
        if (!buf) return FR_ENOMEM;
    }
    memcpy(buf, m->prefix, m->prefix_len);
    int rc = 0;
    size_t start = 0;
    while (start < len) {
        size_t pl = start > 0 ? m->prefix_len : 0;
        size_t end = len;
        if (end - start + pl > maxk) {  // longer keys cannot exist: back off to a boundary
            end = start + (maxk >= pl ? maxk - pl : 0);
            while (end > start && end < len && ((unsigned char)s[end] & 0xC0) == 0x80) end--;
        }
        int32_t id = -1;
        while (start < end) {
            memcpy(buf + m->prefix_len, s + start, end - start);
            const char *key = start > 0 ? buf : buf + m->prefix_len;
            id = fr__vocab_get(&m->vocab, key, pl + end - start);
            if (id >= 0) {
                if ((rc = fr__enc_push(out, id, key, pl + end - start)) < 0) goto done;
                break;
            }
            end--;
            while (end > start && ((unsigned char)s[end] & 0xC0) == 0x80) end--;
        }
        if (id < 0) {  // unmatchable: the whole word is unk
            out->n = n0;
            out->text.len = text0;
            rc = push_unk(m, out, err);
            goto done;
        }
        start = end;
    }
done:
    if (buf != stackbuf) free(buf);
    return rc;
}
