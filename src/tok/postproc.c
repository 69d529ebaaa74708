/* postproc.c — post-processors of Hugging Face tokenizers 0.22.2 (processors/ *.rs):
 * BertProcessing, RobertaProcessing, TemplateProcessing, ByteLevel (ids unchanged) and
 * Sequence; with no post-processor, the encodings are concatenated (default_process).
 *
 * HF's PostProcessor::process sets every token of sequence i to type id i, runs
 * process_encodings on the list of encodings, then merges the list. We keep the same list
 * shape (segments) so that Sequence chains behave the same: each processor maps a list of
 * segments to a new list, and the final concatenation is the output.
 *
 * JSON: {"type": "BertProcessing", "sep": [tok, id], "cls": [tok, id]}
 *       {"type": "RobertaProcessing", "sep": [..], "cls": [..], "trim_offsets", "add_prefix_space"}
 *       {"type": "TemplateProcessing", "single": [piece...], "pair": [piece...],
 *        "special_tokens": {name: {"id": name, "ids": [..], "tokens": [..]}}}
 *         piece = {"Sequence": {"id": "A"|"B", "type_id": n}} | {"SpecialToken": {"id": s, "type_id": n}}
 *       {"type": "ByteLevel", ...}   {"type": "Sequence", "processors": [...]}
 */
#include <string.h>

#include "tok/tok.h"

typedef enum { PP_BERT, PP_ROBERTA, PP_TEMPLATE, PP_BYTELEVEL, PP_SEQUENCE } pp_kind;

typedef struct {
    int is_seq;        // 1: Sequence piece, 0: special token
    int seq;           // 0 = A, 1 = B
    uint32_t type_id;
    size_t special;    // index into specials
} tpl_piece;

typedef struct {
    char *name;
    int32_t *ids;
    char **tokens;
    size_t n;
} tpl_special;

struct fr__postproc {
    pp_kind kind;
    char *cls_tok, *sep_tok;  // Bert / Roberta
    int32_t cls_id, sep_id;
    tpl_piece *single, *pair;
    size_t n_single, n_pair;
    tpl_special *specials;
    size_t n_specials;
    size_t added_single, added_pair;
    fr__postproc **procs;  // Sequence
    size_t n_procs;
};

// ---- parsing ----
static int parse_tok_pair(const json_t *j, const char *path, const char *key, char **tok,
                          int32_t *id, fr_error *err) {
    json_t *v = json_object_get(j, key);
    if (!json_is_array(v) || json_array_size(v) != 2 || !json_is_string(json_array_get(v, 0)) ||
        !json_is_integer(json_array_get(v, 1)) || json_integer_value(json_array_get(v, 1)) < 0 ||
        json_integer_value(json_array_get(v, 1)) > 0x7FFFFFFE)
        return fr__err(err, FR_EFORMAT, "%s.%s: expected [token, id]", path, key);
    *tok = strdup(json_string_value(json_array_get(v, 0)));
    *id = (int32_t)json_integer_value(json_array_get(v, 1));
    return *tok ? 0 : fr__err(err, FR_ENOMEM, "%s: out of memory", path);
}

static int parse_template(fr__postproc *p, const json_t *arr, const char *path, const char *key,
                          tpl_piece **out, size_t *n_out, fr_error *err) {
    if (!json_is_array(arr)) return fr__err(err, FR_EFORMAT, "%s.%s: expected an array", path, key);
    size_t n = json_array_size(arr);
    tpl_piece *ps = calloc(n ? n : 1, sizeof *ps);
    if (!ps) return fr__err(err, FR_ENOMEM, "%s: out of memory", path);
    *out = ps;
    *n_out = n;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(arr, i);
        json_t *sq = json_object_get(e, "Sequence"), *sp = json_object_get(e, "SpecialToken");
        json_t *body = sq ? sq : sp;
        if (!json_is_object(body) || json_object_size(e) != 1)
            return fr__err(err, FR_EFORMAT, "%s.%s[%zu]: expected {\"Sequence\": ..} or {\"SpecialToken\": ..}",
                           path, key, i);
        json_t *id = json_object_get(body, "id"), *ty = json_object_get(body, "type_id");
        if (!json_is_string(id))
            return fr__err(err, FR_EFORMAT, "%s.%s[%zu].id: expected a string", path, key, i);
        if (!json_is_integer(ty) || json_integer_value(ty) < 0 || json_integer_value(ty) > 255)
            return fr__err(err, FR_EFORMAT, "%s.%s[%zu].type_id: expected an integer in [0, 255]",
                           path, key, i);
        ps[i].type_id = (uint32_t)json_integer_value(ty);
        const char *ids = json_string_value(id);
        if (sq) {
            ps[i].is_seq = 1;
            if (strcmp(ids, "A") == 0) ps[i].seq = 0;
            else if (strcmp(ids, "B") == 0) ps[i].seq = 1;
            else return fr__err(err, FR_EFORMAT, "%s.%s[%zu].id: expected \"A\" or \"B\"", path, key, i);
        } else {
            size_t k;
            for (k = 0; k < p->n_specials; k++)
                if (strcmp(p->specials[k].name, ids) == 0) break;
            // HF does not validate on load; a missing token fails when the template is used
            ps[i].special = k == p->n_specials ? SIZE_MAX : k;
        }
    }
    return 0;
}

static int parse_template_proc(fr__postproc *p, const json_t *j, const char *path, fr_error *err) {
    json_t *sp = json_object_get(j, "special_tokens");
    if (sp && !json_is_object(sp))
        return fr__err(err, FR_EFORMAT, "%s.special_tokens: expected an object", path);
    size_t n = sp ? json_object_size(sp) : 0;
    p->specials = calloc(n ? n : 1, sizeof *p->specials);
    if (!p->specials) return fr__err(err, FR_ENOMEM, "%s: out of memory", path);
    const char *k;
    json_t *v;
    if (sp) json_object_foreach(sp, k, v) {
        tpl_special *s = &p->specials[p->n_specials++];
        s->name = strdup(k);
        if (!s->name) return fr__err(err, FR_ENOMEM, "%s: out of memory", path);
        json_t *ids = json_object_get(v, "ids"), *toks = json_object_get(v, "tokens");
        if (!json_is_array(ids) || !json_is_array(toks))
            return fr__err(err, FR_EFORMAT, "%s.special_tokens[\"%.60s\"]: expected ids and tokens arrays",
                           path, k);
        if (json_array_size(ids) != json_array_size(toks))
            return fr__err(err, FR_EFORMAT,
                           "%s.special_tokens[\"%.60s\"]: SpecialToken: ids and tokens must be of the same length",
                           path, k);
        s->n = json_array_size(ids);
        s->ids = calloc(s->n ? s->n : 1, sizeof *s->ids);
        s->tokens = calloc(s->n ? s->n : 1, sizeof *s->tokens);
        if (!s->ids || !s->tokens) return fr__err(err, FR_ENOMEM, "%s: out of memory", path);
        for (size_t i = 0; i < s->n; i++) {
            json_t *id = json_array_get(ids, i), *t = json_array_get(toks, i);
            if (!json_is_integer(id) || json_integer_value(id) < 0 || json_integer_value(id) > 0x7FFFFFFE ||
                !json_is_string(t))
                return fr__err(err, FR_EFORMAT, "%s.special_tokens[\"%.60s\"].ids[%zu]: expected an id and a token",
                               path, k, i);
            s->ids[i] = (int32_t)json_integer_value(id);
            s->tokens[i] = strdup(json_string_value(t));
            if (!s->tokens[i]) return fr__err(err, FR_ENOMEM, "%s: out of memory", path);
        }
    }
    int rc;
    if ((rc = parse_template(p, json_object_get(j, "single"), path, "single", &p->single, &p->n_single, err)) < 0 ||
        (rc = parse_template(p, json_object_get(j, "pair"), path, "pair", &p->pair, &p->n_pair, err)) < 0)
        return rc;
    for (size_t i = 0; i < p->n_single; i++)
        if (!p->single[i].is_seq && p->single[i].special != SIZE_MAX) p->added_single += p->specials[p->single[i].special].n;
    for (size_t i = 0; i < p->n_pair; i++)
        if (!p->pair[i].is_seq && p->pair[i].special != SIZE_MAX) p->added_pair += p->specials[p->pair[i].special].n;
    return 0;
}

int fr__postproc_parse(const json_t *j, const char *path, fr__postproc **out, fr_error *err) {
    *out = NULL;
    if (!j || json_is_null(j)) return 0;
    if (!json_is_object(j)) return fr__err(err, FR_EFORMAT, "%s: expected an object", path);
    const char *type = json_string_value(json_object_get(j, "type"));
    if (!type) return fr__err(err, FR_EFORMAT, "%s.type: expected a string", path);
    fr__postproc *p = calloc(1, sizeof *p);
    if (!p) return fr__err(err, FR_ENOMEM, "%s: out of memory", path);
    int rc = 0;
    if (strcmp(type, "BertProcessing") == 0 || strcmp(type, "RobertaProcessing") == 0) {
        p->kind = type[0] == 'B' ? PP_BERT : PP_ROBERTA;
        if ((rc = parse_tok_pair(j, path, "sep", &p->sep_tok, &p->sep_id, err)) < 0 ||
            (rc = parse_tok_pair(j, path, "cls", &p->cls_tok, &p->cls_id, err)) < 0)
            goto fail;
        p->added_single = 2;
        p->added_pair = p->kind == PP_BERT ? 3 : 4;
    } else if (strcmp(type, "TemplateProcessing") == 0) {
        p->kind = PP_TEMPLATE;
        if ((rc = parse_template_proc(p, j, path, err)) < 0) goto fail;
    } else if (strcmp(type, "ByteLevel") == 0) {
        p->kind = PP_BYTELEVEL;
    } else if (strcmp(type, "Sequence") == 0) {
        p->kind = PP_SEQUENCE;
        json_t *ps = json_object_get(j, "processors");
        if (!json_is_array(ps)) { rc = fr__err(err, FR_EFORMAT, "%s.processors: expected an array", path); goto fail; }
        p->procs = calloc(json_array_size(ps) + 1, sizeof *p->procs);
        if (!p->procs) { rc = fr__err(err, FR_ENOMEM, "%s: out of memory", path); goto fail; }
        for (size_t i = 0; i < json_array_size(ps); i++) {
            char sub[256];
            snprintf(sub, sizeof sub, "%s.processors[%zu]", path, i);
            json_t *e = json_array_get(ps, i);
            if (json_is_null(e)) { rc = fr__err(err, FR_EFORMAT, "%s: expected an object", sub); goto fail; }
            if ((rc = fr__postproc_parse(e, sub, &p->procs[p->n_procs], err)) < 0) goto fail;
            p->n_procs++;
            p->added_single += fr__postproc_added(p->procs[i], 0);
            p->added_pair += fr__postproc_added(p->procs[i], 1);
        }
    } else {
        rc = fr__err(err, FR_EUNSUPPORTED, "%s.type: unknown post-processor \"%.60s\"", path, type);
        goto fail;
    }
    *out = p;
    return 0;
fail:
    fr__postproc_free(p);
    return rc;
}

void fr__postproc_free(fr__postproc *p) {
    if (!p) return;
    free(p->cls_tok);
    free(p->sep_tok);
    free(p->single);
    free(p->pair);
    for (size_t i = 0; i < p->n_specials; i++) {
        free(p->specials[i].name);
        free(p->specials[i].ids);
        for (size_t k = 0; k < p->specials[i].n; k++)
            if (p->specials[i].tokens) free(p->specials[i].tokens[k]);
        free(p->specials[i].tokens);
    }
    free(p->specials);
    for (size_t i = 0; i < p->n_procs; i++) fr__postproc_free(p->procs[i]);
    free(p->procs);
    free(p);
}

size_t fr__postproc_added(const fr__postproc *p, int is_pair) {
    if (!p) return 0;
    return is_pair ? p->added_pair : p->added_single;
}

// ---- applying ----
// A list of segments (HF's Vec<Encoding>); segments own their fr__enc.
typedef struct { fr__enc *v; size_t n; } seglist;

static void segs_free(seglist *s) {
    for (size_t i = 0; i < s->n; i++) fr__enc_free(&s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

static int seg_new(seglist *s, size_t cap_hint, int want_tokens, fr__enc **out) {
    fr__enc *nv = realloc(s->v, (s->n + 1) * sizeof *nv);
    if (!nv) return FR_ENOMEM;
    s->v = nv;
    fr__enc *e = &s->v[s->n++];
    memset(e, 0, sizeof *e);
    e->want_tokens = want_tokens;
    (void)cap_hint;
    *out = e;
    return 0;
}

static int push_all(fr__enc *e, const int32_t *ids, char *const *toks, size_t n, uint8_t type) {
    for (size_t i = 0; i < n; i++) {
        int rc = fr__enc_push(e, ids[i], toks[i], strlen(toks[i]));
        if (rc < 0) return rc;
        e->type_ids[e->n - 1] = type;
    }
    return 0;
}

static int push_one(fr__enc *e, int32_t id, const char *tok, uint8_t type) {
    int rc = fr__enc_push(e, id, tok, strlen(tok));
    if (rc == 0) e->type_ids[e->n - 1] = type;
    return rc;
}

static int copy_seg(fr__enc *dst, const fr__enc *src, int set_type, uint8_t type) {
    size_t n0 = dst->n;
    int rc = fr__enc_append(dst, src, 0, src->n);
    if (rc == 0 && set_type && src->n) memset(dst->type_ids + n0, type, src->n);
    return rc;
}

static int process(const fr__postproc *p, seglist *in, int add_special, int want_tokens,
                   seglist *out, fr_error *err) {
    int rc = 0;
    fr__enc *e;
    switch (p->kind) {
    case PP_BYTELEVEL:
        *out = *in;  // ids unchanged (only offsets are trimmed in HF)
        in->v = NULL;
        in->n = 0;
        return 0;
    case PP_SEQUENCE: {
        seglist cur = *in;
        in->v = NULL;
        in->n = 0;
        for (size_t i = 0; i < p->n_procs; i++) {
            seglist nx = {0};
            rc = process(p->procs[i], &cur, add_special, want_tokens, &nx, err);
            segs_free(&cur);
            if (rc < 0) { segs_free(&nx); return rc; }
            cur = nx;
        }
        *out = cur;
        return 0;
    }
    case PP_BERT:
    case PP_ROBERTA:
        if (p->kind == PP_ROBERTA)  // "Roberta is weird, and every encoding is type_id=0"
            for (size_t i = 0; i < in->n; i++)
                if (in->v[i].n) memset(in->v[i].type_ids, 0, in->v[i].n);
        if (!add_special) {
            *out = *in;
            in->v = NULL;
            in->n = 0;
            return 0;
        }
        for (size_t i = 0; i < in->n && rc == 0; i++) {
            if ((rc = seg_new(out, 0, want_tokens, &e)) < 0) break;
            if (i == 0) {
                if ((rc = push_one(e, p->cls_id, p->cls_tok, 0)) < 0 ||
                    (rc = copy_seg(e, &in->v[i], 0, 0)) < 0 ||
                    (rc = push_one(e, p->sep_id, p->sep_tok, 0)) < 0)
                    break;
            } else if (p->kind == PP_BERT) {
                if ((rc = copy_seg(e, &in->v[i], 0, 0)) < 0 ||
                    (rc = push_one(e, p->sep_id, p->sep_tok, 1)) < 0)
                    break;
            } else {
                if ((rc = push_one(e, p->sep_id, p->sep_tok, 0)) < 0 ||
                    (rc = copy_seg(e, &in->v[i], 1, 0)) < 0 ||
                    (rc = push_one(e, p->sep_id, p->sep_tok, 0)) < 0)
                    break;
            }
        }
        return rc;
    case PP_TEMPLATE: {
        const tpl_piece *t;
        size_t nt;
        if (in->n == 1) { t = p->single; nt = p->n_single; }
        else if (in->n == 2) { t = p->pair; nt = p->n_pair; }
        else return fr__err(err, FR_EINVAL, "TemplateProcessing: expected 1 or 2 encodings, got %zu", in->n);
        for (size_t i = 0; i < nt && rc == 0; i++) {
            if (t[i].is_seq) {
                if ((size_t)t[i].seq >= in->n)
                    return fr__err(err, FR_EINVAL, "TemplateProcessing: template uses sequence B without a pair");
                if ((rc = seg_new(out, 0, want_tokens, &e)) < 0) break;
                rc = copy_seg(e, &in->v[t[i].seq], 1, (uint8_t)t[i].type_id);
            } else if (add_special) {
                if (t[i].special == SIZE_MAX)
                    return fr__err(err, FR_EFORMAT, "TemplateProcessing: Missing SpecialToken in the template");
                const tpl_special *s = &p->specials[t[i].special];
                if ((rc = seg_new(out, 0, want_tokens, &e)) < 0) break;
                rc = push_all(e, s->ids, s->tokens, s->n, (uint8_t)t[i].type_id);
            }
        }
        return rc;
    }
    }
    return fr__err(err, FR_EINTERNAL, "post-processor: bad kind");
}

int fr__postproc_apply(const fr__postproc *p, fr__enc *encs, size_t n_enc, int add_special,
                       fr__enc *out, fr_error *err) {
    int rc = 0;
    if (!p) {
        for (size_t i = 0; i < n_enc && rc == 0; i++) rc = fr__enc_append(out, &encs[i], 0, encs[i].n);
        return rc;
    }
    // HF process(): sequence i gets type id i, then process_encodings, then merge.
    seglist in = {0}, res = {0};
    for (size_t i = 0; i < n_enc; i++) {
        fr__enc *e;
        if ((rc = seg_new(&in, 0, out->want_tokens, &e)) < 0) goto done;
        if ((rc = copy_seg(e, &encs[i], 1, (uint8_t)i)) < 0) goto done;
    }
    if ((rc = process(p, &in, add_special, out->want_tokens, &res, err)) < 0) goto done;
    for (size_t i = 0; i < res.n && rc == 0; i++) rc = fr__enc_append(out, &res.v[i], 0, res.v[i].n);
done:
    segs_free(&in);
    segs_free(&res);
    return rc;
}
