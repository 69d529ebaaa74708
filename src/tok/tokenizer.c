/* tokenizer.c — fr_tokenizer: tokenizer.json loading and the encode pipeline, following
 * Hugging Face tokenizers 0.22.2 (tokenizer/mod.rs encode → encode_single_sequence →
 * post_process; tokenizer/serialization.rs; models/mod.rs for the model without "type").
 *
 * Per input sequence:
 *   validate UTF-8 → split on raw added tokens (original text) → for each other section:
 *   normalize → split on normalized added tokens → pre-tokenize → model
 * then truncation (max_length minus the post-processor's added tokens) and the
 * post-processor. The handle is immutable; each call allocates its own scratch, so one
 * handle serves many threads. Tuned for short query/passage pairs (tens to thousands of
 * bytes) encoded at high rate.
 *
 * tokenizer.json top level: {"version": "1.0", "truncation": null|{...}, "padding": ignored,
 *   "added_tokens": [...], "normalizer", "pre_tokenizer", "model", "post_processor",
 *   "decoder": ignored}
 */
#include <string.h>

#include "tok/added.h"
#include "tok/textpipe.h"
#include "tok/tok.h"

struct fr__model {
    fr__model_kind kind;
    fr__wordpiece *wp;  // WordPiece and WordLevel
    fr__unigram *ug;
    fr__bpe *bpe;
};

struct fr_tokenizer {
    fr__normalizer *norm;
    fr__pretok *pretok;
    fr__model *model;
    fr__added *added;
    fr__postproc *post;
    fr__trunc trunc;  // the file's own truncation block
};

// ---- model dispatch ----
int fr__model_parse(const json_t *j, const char *path, fr__model **out, fr_error *err) {
    if (!json_is_object(j)) return fr__err(err, FR_EFORMAT, "%s: expected an object", path);
    fr__model *m = calloc(1, sizeof *m);
    if (!m) return fr__err(err, FR_ENOMEM, "%s: out of memory", path);
    json_t *type = json_object_get(j, "type");
    const char *t = json_string_value(type);
    int rc;
    if (type && !t) { rc = fr__err(err, FR_EFORMAT, "%s.type: expected a string", path); goto fail; }
    if (!t) {  // legacy files: infer as HF's untagged ModelWrapper (BPE, WordPiece, WordLevel, Unigram)
        json_t *vocab = json_object_get(j, "vocab");
        if (json_object_get(j, "merges")) t = "BPE";
        else if (json_is_array(vocab)) t = "Unigram";
        else if (json_object_get(j, "continuing_subword_prefix") &&
                 json_object_get(j, "max_input_chars_per_word"))
            t = "WordPiece";
        else if (json_object_get(j, "unk_token")) t = "WordLevel";
        else { rc = fr__err(err, FR_EFORMAT, "%s: cannot infer the model type (no \"type\" key)", path); goto fail; }
    }
    if (strcmp(t, "WordPiece") == 0 || strcmp(t, "WordLevel") == 0) {
        m->kind = t[4] == 'P' ? FR__MODEL_WORDPIECE : FR__MODEL_WORDLEVEL;
        rc = fr__wordpiece_parse(j, path, m->kind == FR__MODEL_WORDLEVEL, &m->wp, err);
    } else if (strcmp(t, "Unigram") == 0) {
        m->kind = FR__MODEL_UNIGRAM;
        rc = fr__unigram_parse(j, path, &m->ug, err);
    } else if (strcmp(t, "BPE") == 0) {
        m->kind = FR__MODEL_BPE;
        rc = fr__bpe_parse(j, path, &m->bpe, err);
    } else {
        rc = fr__err(err, FR_EUNSUPPORTED, "%s.type: unknown model \"%.60s\"", path, t);
    }
    if (rc < 0) goto fail;
    *out = m;
    return 0;
fail:
    fr__model_free(m);
    return rc;
}

void fr__model_free(fr__model *m) {
    if (!m) return;
    fr__wordpiece_free(m->wp);
    fr__unigram_free(m->ug);
    fr__bpe_free(m->bpe);
    free(m);
}

int fr__model_tokenize(const fr__model *m, const char *s, size_t len, fr__enc *out,
                       fr_error *err) {
    switch (m->kind) {
    case FR__MODEL_WORDPIECE:
    case FR__MODEL_WORDLEVEL: return fr__wordpiece_tokenize(m->wp, s, len, out, err);
    case FR__MODEL_UNIGRAM: return fr__unigram_tokenize(m->ug, s, len, out, err);
    case FR__MODEL_BPE: return fr__bpe_tokenize(m->bpe, s, len, out, err);
    }
    return FR_EINTERNAL;
}

size_t fr__model_vocab_size(const fr__model *m) {
    switch (m->kind) {
    case FR__MODEL_WORDPIECE:
    case FR__MODEL_WORDLEVEL: return fr__wordpiece_vocab(m->wp)->n;
    case FR__MODEL_UNIGRAM: return fr__unigram_size(m->ug);
    case FR__MODEL_BPE: return fr__bpe_vocab(m->bpe)->n;
    }
    return 0;
}

int32_t fr__model_token_to_id(const fr__model *m, const char *s, size_t len) {
    switch (m->kind) {
    case FR__MODEL_WORDPIECE:
    case FR__MODEL_WORDLEVEL: return fr__vocab_get(fr__wordpiece_vocab(m->wp), s, len);
    case FR__MODEL_UNIGRAM: return fr__unigram_token_to_id(m->ug, s, len);
    case FR__MODEL_BPE: return fr__vocab_get(fr__bpe_vocab(m->bpe), s, len);
    }
    return -1;
}

const char *fr__model_id_to_token(const fr__model *m, int32_t id) {
    switch (m->kind) {
    case FR__MODEL_WORDPIECE:
    case FR__MODEL_WORDLEVEL: return fr__wordpiece_id_to_token(m->wp, id);
    case FR__MODEL_UNIGRAM: return fr__unigram_id_to_token(m->ug, id);
    case FR__MODEL_BPE: return fr__bpe_id_to_token(m->bpe, id);
    }
    return NULL;
}

// ---- loading ----
static int parse_truncation(const json_t *j, fr__trunc *t, fr_error *err) {
    memset(t, 0, sizeof *t);
    if (!j || json_is_null(j)) return 0;
    if (!json_is_object(j)) return fr__err(err, FR_EFORMAT, "truncation: expected an object or null");
    json_t *ml = json_object_get(j, "max_length"), *st = json_object_get(j, "strategy");
    json_t *dir = json_object_get(j, "direction"), *stride = json_object_get(j, "stride");
    if (!json_is_integer(ml) || json_integer_value(ml) < 0)
        return fr__err(err, FR_EFORMAT, "truncation.max_length: expected a non-negative integer");
    t->max_length = (size_t)json_integer_value(ml);
    const char *s = json_string_value(st);
    if (!st || json_is_null(st) || (s && strcmp(s, "LongestFirst") == 0)) t->strategy = FR_TRUNC_LONGEST_FIRST;
    else if (s && strcmp(s, "OnlyFirst") == 0) t->strategy = FR_TRUNC_ONLY_FIRST;
    else if (s && strcmp(s, "OnlySecond") == 0) t->strategy = FR_TRUNC_ONLY_SECOND;
    else return fr__err(err, FR_EFORMAT, "truncation.strategy: expected LongestFirst, OnlyFirst or OnlySecond");
    const char *d = json_string_value(dir);
    if (!dir || json_is_null(dir) || (d && strcmp(d, "Right") == 0)) t->left = 0;
    else if (d && strcmp(d, "Left") == 0) t->left = 1;
    else return fr__err(err, FR_EFORMAT, "truncation.direction: expected Left or Right");
    if (stride && !json_is_null(stride)) {
        if (!json_is_integer(stride) || json_integer_value(stride) < 0)
            return fr__err(err, FR_EFORMAT, "truncation.stride: expected a non-negative integer");
        t->stride = (size_t)json_integer_value(stride);
    }
    t->enabled = 1;
    return 0;
}

int fr_tokenizer_open_mem(const char *json, size_t len, const char *name, fr_tokenizer **out,
                          fr_error *err) {
    if (!name) name = "tokenizer.json";
    *out = NULL;
    if (err) { err->code = 0; err->msg[0] = 0; }
    json_error_t jerr;
    json_t *root = json_loadb(json, len, 0, &jerr);
    if (!root)
        return fr__err(err, FR_EFORMAT, "%s: JSON error at line %d column %d: %s", name, jerr.line,
                       jerr.column, jerr.text);
    int rc;
    fr_tokenizer *tok = calloc(1, sizeof *tok);
    if (!tok) { rc = fr__err(err, FR_ENOMEM, "%s: out of memory", name); goto fail; }
    if (!json_is_object(root)) { rc = fr__err(err, FR_EFORMAT, "%s: expected a JSON object", name); goto fail; }
    json_t *ver = json_object_get(root, "version");
    if (ver && (!json_is_string(ver) || strcmp(json_string_value(ver), "1.0") != 0)) {
        rc = fr__err(err, FR_EUNSUPPORTED, "%s: version: Unknown tokenizer version '%.40s'", name,
                     json_is_string(ver) ? json_string_value(ver) : "?");
        goto fail;
    }
    json_t *model = json_object_get(root, "model");
    if (!model) { rc = fr__err(err, FR_EFORMAT, "%s: model: missing", name); goto fail; }
    if ((rc = parse_truncation(json_object_get(root, "truncation"), &tok->trunc, err)) < 0 ||
        (rc = fr__normalizer_parse(json_object_get(root, "normalizer"), &tok->norm, err)) < 0 ||
        (rc = fr__pretok_parse(json_object_get(root, "pre_tokenizer"), &tok->pretok, err)) < 0 ||
        (rc = fr__model_parse(model, "model", &tok->model, err)) < 0 ||
        (rc = fr__postproc_parse(json_object_get(root, "post_processor"), "post_processor",
                                 &tok->post, err)) < 0 ||
        (rc = fr__added_parse(json_object_get(root, "added_tokens"), tok->model, tok->norm,
                              &tok->added, err)) < 0) {
        fr__err_prefix(err, rc, "%s", name);
        goto fail;
    }
    json_decref(root);
    *out = tok;
    return 0;
fail:
    json_decref(root);
    fr_tokenizer_free(tok);
    return rc;
}

int fr_tokenizer_open(const char *path, fr_tokenizer **out, fr_error *err) {
    char *data = NULL;
    size_t len = 0;
    *out = NULL;
    int rc = fr__read_file(path, &data, &len, err);
    if (rc < 0) return rc;
    const char *base = strrchr(path, '/');
    rc = fr_tokenizer_open_mem(data, len, base ? base + 1 : path, out, err);
    free(data);
    return rc;
}

void fr_tokenizer_free(fr_tokenizer *tok) {
    if (!tok) return;
    fr__normalizer_free(tok->norm);
    fr__pretok_free(tok->pretok);
    fr__model_free(tok->model);
    fr__added_free(tok->added);
    fr__postproc_free(tok->post);
    free(tok);
}

// ---- encoding ----
typedef struct {
    fr__split *s1, *s2;
    size_t n1, c1, n2, c2;
    fr__pieces pieces;
} scratch;

static int encode_seq(const fr_tokenizer *tok, const char *text, size_t len, scratch *sc,
                      fr__enc *out, fr_error *err) {
    int rc = fr__added_split(tok->added, 0, text, len, &sc->s1, &sc->n1, &sc->c1);
    if (rc < 0) return fr__err(err, rc, "out of memory");
    for (size_t i = 0; i < sc->n1; i++) {
        fr__split sp = sc->s1[i];
        if (sp.id >= 0) {
            if ((rc = fr__enc_push(out, sp.id, text + sp.start, sp.end - sp.start)) < 0) return rc;
            continue;
        }
        fr__nstr ns;
        if ((rc = fr__nstr_init(&ns, text + sp.start, sp.end - sp.start, sp.start)) < 0)
            return fr__err(err, rc, "normalizer: cannot allocate");
        if ((rc = fr__normalizer_apply(tok->norm, &ns)) < 0) {
            fr__nstr_free(&ns);
            return fr__err(err, rc, "normalizer failed");
        }
        if ((rc = fr__added_split(tok->added, 1, ns.s, ns.len, &sc->s2, &sc->n2, &sc->c2)) < 0) {
            fr__nstr_free(&ns);
            return fr__err(err, rc, "out of memory");
        }
        for (size_t k = 0; k < sc->n2 && rc == 0; k++) {
            fr__split sq = sc->s2[k];
            if (sq.id >= 0) {
                rc = fr__enc_push(out, sq.id, ns.s + sq.start, sq.end - sq.start);
                continue;
            }
            fr__pieces_clear(&sc->pieces);
            // always slice, even the whole string: HF's slice moves original_shift to the
            // original offset of the first normalized char (a stripped leading space makes
            // it 1, and Metaspace prepend_scheme "first" then does not prepend)
            fr__nstr sub;
            if ((rc = fr__nstr_slice(&ns, sq.start, sq.end, &sub)) < 0) break;
            rc = fr__pretok_apply(tok->pretok, &sub, &sc->pieces);
            fr__nstr_free(&sub);
            if (rc < 0) { fr__err(err, rc, "pre-tokenizer failed"); break; }
            for (size_t p = 0; p < sc->pieces.n && rc == 0; p++)
                rc = fr__model_tokenize(tok->model, sc->pieces.text.data + sc->pieces.off[p],
                                        sc->pieces.len[p], out, err);
        }
        fr__nstr_free(&ns);
        if (rc < 0) return rc;
    }
    return 0;
}

fr_encode_opts fr_encode_opts_default(void) {
    fr_encode_opts o;
    memset(&o, 0, sizeof o);
    o.add_special_tokens = 1;
    o.max_length = 0;
    o.strategy = FR_TRUNC_LONGEST_FIRST;
    o.truncate_left = 0;
    o.want_tokens = 0;
    return o;
}

static int check_utf8(const char *what, const char *s, size_t len, fr_error *err) {
    size_t ok = fr__utf8_valid_prefix(s, len);
    if (ok != len)
        return fr__err(err, FR_EUTF8, "%s: invalid UTF-8 at byte %zu (0x%02X)", what, ok,
                       (unsigned char)s[ok]);
    if (len > 0x7FFFFFF0) return fr__err(err, FR_ERANGE, "%s: input longer than 2 GiB", what);
    return 0;
}

int fr_tokenizer_encode(const fr_tokenizer *tok, const char *text, ptrdiff_t text_len,
                        const char *pair, ptrdiff_t pair_len, const fr_encode_opts *opts,
                        fr_encoding *enc, fr_error *err) {
    memset(enc, 0, sizeof *enc);
    if (err) { err->code = 0; err->msg[0] = 0; }
    if (!tok || !text) return fr__err(err, FR_EINVAL, "fr_tokenizer_encode: NULL tokenizer or text");
    fr_encode_opts def = fr_encode_opts_default();
    if (!opts) opts = &def;
    size_t tl = text_len < 0 ? strlen(text) : (size_t)text_len;
    size_t pl = pair ? (pair_len < 0 ? strlen(pair) : (size_t)pair_len) : 0;
    int rc;
    if ((rc = check_utf8("text", text, tl, err)) < 0) return rc;
    if (pair && (rc = check_utf8("pair", pair, pl, err)) < 0) return rc;

    scratch sc = {0};
    fr__enc seq[2] = {{0}, {0}}, out = {0};
    seq[0].want_tokens = seq[1].want_tokens = out.want_tokens = opts->want_tokens != 0;
    size_t n_seq = pair ? 2 : 1;
    for (size_t i = 0; i < n_seq; i++) {
        rc = encode_seq(tok, i ? pair : text, i ? pl : tl, &sc, &seq[i], err);
        if (rc < 0) {
            if (err && !err->msg[0]) fr__err(err, rc, "%s: encoding failed", i ? "pair" : "text");
            goto done;
        }
    }
    if (pair && opts->max_pair_tokens > 0 && seq[1].n > (size_t)opts->max_pair_tokens)
        fr__enc_truncate(&seq[1], (size_t)opts->max_pair_tokens, opts->truncate_left != 0);
    // truncation: the caller's max_length wins over the file's block
    fr__trunc tr = tok->trunc;
    if (opts->max_length > 0) {
        tr.enabled = 1;
        tr.max_length = (size_t)opts->max_length;
        tr.strategy = opts->strategy;
        tr.left = opts->truncate_left != 0;
        tr.stride = 0;
    }
    if (tr.enabled) {
        size_t n_added = fr__postproc_added(tok->post, pair != NULL);
        if (opts->add_special_tokens && n_added > 0) {
            // HF subtracts with usize arithmetic; a limit below the added count wraps (no cut)
            tr.max_length = tr.max_length >= n_added ? tr.max_length - n_added : SIZE_MAX;
        }
        if (tr.stride && tr.max_length != SIZE_MAX && tr.stride >= tr.max_length) {
            rc = fr__err(err, FR_EINVAL, "truncation: stride %zu must be below max_length %zu",
                         tr.stride, tr.max_length);
            goto done;
        }
        if ((rc = fr__truncate(&seq[0], pair ? &seq[1] : NULL, &tr, err)) < 0) goto done;
    }
    for (size_t i = 0; i < n_seq; i++)
        if (seq[i].n) memset(seq[i].type_ids, (int)i, seq[i].n);
    if ((rc = fr__postproc_apply(tok->post, seq, n_seq, opts->add_special_tokens != 0, &out, err)) < 0)
        goto done;
    enc->n = out.n;
    enc->ids = out.ids ? out.ids : malloc(sizeof *enc->ids);
    enc->type_ids = out.type_ids ? out.type_ids : malloc(1);
    out.ids = NULL;
    out.type_ids = NULL;
    if (!enc->ids || !enc->type_ids) { rc = fr__err(err, FR_ENOMEM, "out of memory"); goto done; }
    if (opts->want_tokens) {
        // one block: n pointers, then the strings
        size_t bytes = (out.n + 1) * sizeof(char *) + out.text.len + 1;
        char **toks = malloc(bytes);
        if (!toks) { rc = fr__err(err, FR_ENOMEM, "out of memory"); goto done; }
        char *base = (char *)(toks + out.n + 1);
        if (out.text.len) memcpy(base, out.text.data, out.text.len);
        base[out.text.len] = 0;
        for (size_t i = 0; i < out.n; i++) toks[i] = base + out.tok_off[i];
        toks[out.n] = NULL;
        enc->tokens = toks;
    }
done:
    if (rc < 0) fr_encoding_free(enc);
    fr__enc_free(&seq[0]);
    fr__enc_free(&seq[1]);
    fr__enc_free(&out);
    free(sc.s1);
    free(sc.s2);
    fr__pieces_free(&sc.pieces);
    return rc;
}

void fr_encoding_free(fr_encoding *enc) {
    if (!enc) return;
    free(enc->ids);
    free(enc->type_ids);
    free(enc->tokens);  // one block (pointers and strings)
    memset(enc, 0, sizeof *enc);
}

// ---- vocabulary ----
size_t fr_tokenizer_vocab_size(const fr_tokenizer *tok) {
    return fr__model_vocab_size(tok->model) + fr__added_count_new(tok->added);
}

const char *fr_tokenizer_id_to_token(const fr_tokenizer *tok, int32_t id) {
    const char *s = fr__added_id_to_token(tok->added, id);
    return s ? s : fr__model_id_to_token(tok->model, id);
}

int32_t fr_tokenizer_token_to_id(const fr_tokenizer *tok, const char *token) {
    size_t n = strlen(token);
    int32_t id = fr__added_token_to_id(tok->added, token, n);
    return id >= 0 ? id : fr__model_token_to_id(tok->model, token, n);
}
