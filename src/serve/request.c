/* request.c — HTTP request bodies of the rerank routes → fr__rr_req, for every dialect:
 *
 *   Cohere v1 / Jina  {model?, query, documents: [string | {"text": ...} | object],
 *                      top_n?, return_documents?, rank_fields?, max_chunks_per_doc?}
 *                     (max_chunks_per_doc: long documents score as their best chunk, as
 *                     Cohere v1; absent, they are truncated as in Cohere v2)
 *   Cohere v2         {model, query, documents: [string], top_n?, max_tokens_per_doc?}
 *   TEI               {query, texts: [string], raw_scores?, return_text?, truncate?,
 *                      truncation_direction?}
 *   finerank (all)    documents may be objects carrying "date", "authority", "source";
 *                     request fields "freshness", "authority_table", "combine", "diversity",
 *                     "explain", "deadline_ms", "now", "long_docs" (pipeline config syntax)
 *
 * Unknown fields are ignored, as the originals do. Errors name the field: syntax, invalid
 * UTF-8 and nesting depth are 400; wrong types and values are 422 (axum's Json rejection,
 * which TEI uses, draws the same line). Workload: bodies up to tens of MB from untrusted
 * clients; the depth and UTF-8 pre-scan is one linear pass before jansson sees the bytes
 * (jansson's own depth limit is 2048 and its UTF-8 error names no offset).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "serve/serve.h"

// ---- errors ----
int fr__http_fail(fr__http_err *e, int status, const char *field, const char *fmt, ...) {
    e->status = status;
    snprintf(e->field, sizeof e->field, "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return -1;
}

char *fr__http_err_json(const fr__http_err *e) {
    const char *type = e->status == 429 ? "Overloaded" : e->status == 413 ? "Validation"
                     : e->status == 503 ? "Unhealthy" : e->status >= 500 ? "Backend"
                     : e->status == 404 || e->status == 405 ? "NotFound" : "Validation";
    char full[600];
    if (e->field[0]) snprintf(full, sizeof full, "%s: %s", e->field, e->msg);
    else snprintf(full, sizeof full, "%s", e->msg);
    json_t *o = json_object();
    json_object_set_new(o, "message", json_string(full));
    json_object_set_new(o, "error", json_string(full));
    json_object_set_new(o, "error_type", json_string(type));
    json_object_set_new(o, "field", e->field[0] ? json_string(e->field) : json_null());
    // json_string returns NULL on invalid UTF-8: messages quote input only after validation.
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

// ---- body pre-scan ----
// Length of the valid UTF-8 sequence at p (RFC 3629: no overlongs, surrogates, > U+10FFFF),
// 0 when invalid.
static size_t utf8_seq(const unsigned char *p, size_t n) {
    unsigned c = p[0];
    if (c < 0x80) return 1;
    size_t len;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c == 0xE0) len = 3, lo = 0xA0;
    else if (c == 0xED) len = 3, hi = 0x9F;
    else if (c >= 0xE1 && c <= 0xEF) len = 3;
    else if (c == 0xF0) len = 4, lo = 0x90;
    else if (c >= 0xF1 && c <= 0xF3) len = 4;
    else if (c == 0xF4) len = 4, hi = 0x8F;
    else return 0;
    if (n < len) return 0;
    if (p[1] < lo || p[1] > hi) return 0;
    for (size_t i = 2; i < len; i++)
        if (p[i] < 0x80 || p[i] > 0xBF) return 0;
    return len;
}

int fr__json_body(const char *body, size_t len, int max_depth, json_t **root, fr__http_err *e) {
    *root = NULL;
    const unsigned char *p = (const unsigned char *)body;
    int depth = 0, in_str = 0;
    for (size_t i = 0; i < len;) {
        unsigned char c = p[i];
        if (c >= 0x80) {
            size_t k = utf8_seq(p + i, len - i);
            if (!k) return fr__http_fail(e, 400, "body", "invalid UTF-8 at byte %zu", i);
            i += k;
            continue;
        }
        if (in_str) {
            if (c == '\\') i++;
            else if (c == '"') in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > max_depth)
                return fr__http_fail(e, 400, "body", "JSON nesting deeper than %d at byte %zu",
                                     max_depth, i);
        } else if (c == ']' || c == '}') {
            depth--;
        }
        i++;
    }
    if (len == 0) return fr__http_fail(e, 400, "body", "empty body (expected a JSON object)");
    json_error_t je;
    json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!j) return fr__http_fail(e, 400, "body", "malformed JSON at byte %d: %s", je.position, je.text);
    *root = j;
    return 0;
}

// ---- field helpers ----
// An integer field: absent → keeps *out; otherwise an integer in [lo, hi].
static int get_int(const json_t *o, const char *key, long long lo, long long hi, long long *out,
                   fr__http_err *e) {
    const json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) return 0;
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d != floor(d) || !(d >= (double)lo && d <= (double)hi))
            return fr__http_fail(e, 422, key, "expected an integer in [%lld, %lld], got %g", lo, hi, d);
        *out = (long long)d;
        return 0;
    }
    if (!json_is_integer(v)) return fr__http_fail(e, 422, key, "expected an integer");
    long long x = json_integer_value(v);
    if (x < lo || x > hi)
        return fr__http_fail(e, 422, key, "expected an integer in [%lld, %lld], got %lld", lo, hi, x);
    *out = x;
    return 0;
}

static int get_bool(const json_t *o, const char *key, int *out, fr__http_err *e) {
    const json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) return 0;
    if (!json_is_boolean(v)) return fr__http_fail(e, 422, key, "expected true or false");
    *out = json_is_true(v);
    return 0;
}

// rank_fields: "key: value" lines in the listed order (Cohere ranks structured documents on
// the values of these fields, in order; YAML-like is what Cohere recommends for them).
static int join_fields(const json_t *doc, const json_t *fields, const char *dkey, size_t i,
                       fr__rr_doc *d, fr__http_err *e) {
    fr__buf b = {0};
    size_t k;
    const json_t *f;
    json_array_foreach(fields, k, f) {
        const char *key = json_string_value(f);
        const json_t *v = json_object_get(doc, key);
        if (!v || json_is_null(v)) continue;
        if (b.len) fr__buf_putc(&b, '\n');
        fr__buf_printf(&b, "%s: ", key);
        if (json_is_string(v)) {
            fr__buf_append(&b, json_string_value(v), json_string_length(v));
        } else {
            char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            if (s) fr__buf_append(&b, s, strlen(s));
            free(s);
        }
    }
    if (!b.data) {
        char field[64];
        snprintf(field, sizeof field, "%s[%zu]", dkey, i);
        return fr__http_fail(e, 422, field, "none of rank_fields is present");
    }
    d->owned = b.data;
    d->text = b.data;
    d->len = b.len;
    return 0;
}

static int parse_doc(const json_t *v, const char *dkey, size_t i, const json_t *rank_fields,
                     fr__rr_doc *d, fr__http_err *e) {
    char field[96];
    if (json_is_string(v)) {
        d->text = json_string_value(v);
        d->len = json_string_length(v);
        return 0;
    }
    snprintf(field, sizeof field, "%s[%zu]", dkey, i);
    if (!json_is_object(v))
        return fr__http_fail(e, 422, field, "expected a string or an object with \"text\"");
    if (rank_fields) {
        if (join_fields(v, rank_fields, dkey, i, d, e) < 0) return -1;
    } else {
        const json_t *t = json_object_get(v, "text");
        snprintf(field, sizeof field, "%s[%zu].text", dkey, i);
        if (!t) return fr__http_fail(e, 422, field, "missing (or give rank_fields)");
        if (!json_is_string(t)) return fr__http_fail(e, 422, field, "expected a string");
        d->text = json_string_value(t);
        d->len = json_string_length(t);
    }
    const json_t *dt = json_object_get(v, "date");
    if (dt && !json_is_null(dt)) {
        snprintf(field, sizeof field, "%s[%zu].date", dkey, i);
        if (!json_is_string(dt)) return fr__http_fail(e, 422, field, "expected an ISO 8601 string");
        fr_error fe;
        if (fr_date_parse(json_string_value(dt), json_string_length(dt), "date", &d->date_ms,
                          &fe) < 0)
            return fr__http_fail(e, 422, field, "%s", fe.msg);
        d->has_date = 1;
    }
    const json_t *au = json_object_get(v, "authority");
    if (au && !json_is_null(au)) {
        snprintf(field, sizeof field, "%s[%zu].authority", dkey, i);
        if (!json_is_number(au)) return fr__http_fail(e, 422, field, "expected a number");
        d->authority = json_number_value(au);
        d->has_authority = 1;
    }
    const json_t *so = json_object_get(v, "source");
    if (so && !json_is_null(so)) {
        snprintf(field, sizeof field, "%s[%zu].source", dkey, i);
        if (!json_is_string(so)) return fr__http_fail(e, 422, field, "expected a string");
        d->source = json_string_value(so);
    }
    return 0;
}

// The finerank extensions: mapped onto the pipeline config's JSON fields so that they have
// one syntax and one error message everywhere.
static int parse_ext(const json_t *o, const fr_pipeline_config *base, fr__rr_req *r,
                     fr__http_err *e) {
    static const char *const direct[] = {"freshness", "combine", "diversity", "explain",
                                         "deadline_ms", "now"};
    json_t *cfg = json_object();
    for (size_t i = 0; i < sizeof direct / sizeof direct[0]; i++) {
        json_t *v = json_object_get(o, direct[i]);
        if (v && !json_is_null(v)) json_object_set(cfg, direct[i], v);
    }
    json_t *at = json_object_get(o, "authority_table");
    if (at && !json_is_null(at)) {
        if (json_is_object(at)) json_object_set_new(cfg, "authority", json_pack("{sO}", "table", at));
        else json_object_set(cfg, "authority", at);
    }
    r->ext = *base;
    r->has_ext = json_object_size(cfg) > 0;
    int rc = 0;
    if (r->has_ext) {
        char *s = json_dumps(cfg, JSON_COMPACT);
        fr_error fe;
        if (!s) rc = fr__http_fail(e, 500, "", "out of memory");
        else if (fr_pipeline_config_apply_json(&r->ext, s, strlen(s), "request", &fe) < 0) {
            // "request: diversity.lambda: 1.5 is outside [0, 1]" → field "diversity.lambda"
            const char *m = fe.msg;
            if (!strncmp(m, "request: ", 9)) m += 9;
            const char *colon = strstr(m, ": ");
            char field[96] = "";
            if (colon && (size_t)(colon - m) < sizeof field) {
                memcpy(field, m, (size_t)(colon - m));
                field[colon - m] = 0;
                m = colon + 2;
            }
            if (!strcmp(field, "authority")) snprintf(field, sizeof field, "authority_table");
            rc = fr__http_fail(e, 422, field, "%s", m);
        }
        free(s);
    }
    json_decref(cfg);
    if (rc < 0) return rc;
    const json_t *ld = json_object_get(o, "long_docs");
    if (ld && !json_is_null(ld)) {
        const char *s = json_string_value(ld);
        if (!s) return fr__http_fail(e, 422, "long_docs", "expected truncate, max, mean or first");
        if (!strcmp(s, "truncate")) r->long_docs = FR_LONG_TRUNCATE;
        else if (!strcmp(s, "max")) r->long_docs = FR_LONG_MAX;
        else if (!strcmp(s, "mean")) r->long_docs = FR_LONG_MEAN;
        else if (!strcmp(s, "first")) r->long_docs = FR_LONG_FIRST;
        else return fr__http_fail(e, 422, "long_docs", "expected truncate, max, mean or first");
    }
    return 0;
}

// ---- parse ----
int fr__rr_parse(fr__dialect d, const char *body, size_t len, const fr__limits *lim,
                 const fr_pipeline_config *base, fr__rr_req *r, fr__http_err *e) {
    memset(r, 0, sizeof *r);
    r->dialect = d;
    if (fr__json_body(body, len, lim->max_json_depth, &r->root, e) < 0) return -1;
    const json_t *o = r->root;
    if (!json_is_object(o)) {
        fr__http_fail(e, 422, "body", "expected a JSON object");
        goto fail;
    }
    // model (optional everywhere; Jina is recognised by it on /v1/rerank)
    const json_t *mv = json_object_get(o, "model");
    if (mv && !json_is_null(mv)) {
        if (!json_is_string(mv)) { fr__http_fail(e, 422, "model", "expected a string"); goto fail; }
        r->model = json_string_value(mv);
        if (d == FR__DIALECT_COHERE_V1 && !strncmp(r->model, "jina", 4)) r->dialect = d = FR__DIALECT_JINA;
    }
    // query
    const json_t *q = json_object_get(o, "query");
    if (!q || json_is_null(q)) { fr__http_fail(e, 422, "query", "missing"); goto fail; }
    if (!json_is_string(q)) { fr__http_fail(e, 422, "query", "expected a string"); goto fail; }
    r->query = json_string_value(q);
    r->query_len = json_string_length(q);
    size_t nonblank = 0;
    for (size_t i = 0; i < r->query_len; i++)
        if (!strchr(" \t\r\n", r->query[i])) nonblank++;
    if (!nonblank) { fr__http_fail(e, 422, "query", "must not be empty"); goto fail; }
    if (r->query_len > lim->max_query_bytes) {
        fr__http_fail(e, 422, "query", "%zu bytes exceed the limit of %zu", r->query_len,
                      lim->max_query_bytes);
        goto fail;
    }
    // documents / texts
    const char *dkey = d == FR__DIALECT_TEI ? "texts" : "documents";
    const json_t *docs = json_object_get(o, dkey);
    if (!docs || json_is_null(docs)) { fr__http_fail(e, 422, dkey, "missing"); goto fail; }
    if (!json_is_array(docs)) { fr__http_fail(e, 422, dkey, "expected an array"); goto fail; }
    r->n_docs = json_array_size(docs);
    if (r->n_docs == 0) { fr__http_fail(e, 422, dkey, "must not be empty"); goto fail; }
    if (r->n_docs > lim->max_documents) {
        fr__http_fail(e, 422, dkey, "%zu documents exceed the limit of %zu", r->n_docs,
                      lim->max_documents);
        goto fail;
    }
    const json_t *rf = json_object_get(o, "rank_fields");
    if (rf && json_is_null(rf)) rf = NULL;
    if (rf) {
        if (!json_is_array(rf) || !json_array_size(rf)) {
            fr__http_fail(e, 422, "rank_fields", "expected a non-empty array of strings");
            goto fail;
        }
        size_t k;
        const json_t *f;
        json_array_foreach(rf, k, f) if (!json_is_string(f)) {
            fr__http_fail(e, 422, "rank_fields", "expected a non-empty array of strings");
            goto fail;
        }
    }
    r->docs = calloc(r->n_docs, sizeof *r->docs);
    if (!r->docs) { fr__http_fail(e, 500, "", "out of memory"); goto fail; }
    for (size_t i = 0; i < r->n_docs; i++) {
        if (parse_doc(json_array_get(docs, i), dkey, i, rf, &r->docs[i], e) < 0) goto fail;
    }
    // top_n and the per-dialect options
    long long top_n = (long long)r->n_docs;
    if (get_int(o, "top_n", 1, 1000000000LL, &top_n, e) < 0) goto fail;
    r->top_n = (size_t)top_n < r->n_docs ? (size_t)top_n : r->n_docs;
    r->return_documents = d == FR__DIALECT_JINA;
    r->truncate = d != FR__DIALECT_TEI;
    if (d == FR__DIALECT_TEI) {
        if (get_bool(o, "return_text", &r->return_documents, e) < 0) goto fail;
        if (get_bool(o, "raw_scores", &r->raw_scores, e) < 0) goto fail;
        if (get_bool(o, "truncate", &r->truncate, e) < 0) goto fail;
        const json_t *td = json_object_get(o, "truncation_direction");
        if (td && !json_is_null(td)) {
            const char *s = json_string_value(td);
            if (!s || (strcmp(s, "Right") && strcmp(s, "right") && strcmp(s, "Left") && strcmp(s, "left"))) {
                fr__http_fail(e, 422, "truncation_direction", "expected Left or Right");
                goto fail;
            }
            // As TEI: LongestFirst with this direction on both sequences (tokenizers'
            // TruncationParams.direction), so Left keeps each one's end.
            r->truncate_left = s[0] == 'L' || s[0] == 'l';
        }
    } else {
        if (get_bool(o, "return_documents", &r->return_documents, e) < 0) goto fail;
    }
    long long mt = 0;
    if (get_int(o, "max_tokens_per_doc", 1, 1000000000LL, &mt, e) < 0) goto fail;
    r->max_tokens_per_doc = (int)(mt > 1 << 30 ? 1 << 30 : mt);
    long long mc = 0;
    if (get_int(o, "max_chunks_per_doc", 1, 1000000LL, &mc, e) < 0) goto fail;
    r->max_chunks = (int)mc;
    if (parse_ext(o, base, r, e) < 0) goto fail;
    // Cohere v1: a long document is split into chunks (finerank's windows), at most
    // max_chunks_per_doc of them from its start, and scores as its best chunk. An explicit
    // long_docs wins (mean/first then see only those chunks too).
    const json_t *ld = json_object_get(o, "long_docs");
    if (mc && (!ld || json_is_null(ld))) r->long_docs = FR_LONG_MAX;
    return 0;
fail:
    fr__rr_free(r);
    return -1;
}

void fr__rr_free(fr__rr_req *r) {
    if (!r) return;
    if (r->docs)
        for (size_t i = 0; i < r->n_docs; i++) free(r->docs[i].owned);
    free(r->docs);
    json_decref(r->root);
    memset(r, 0, sizeof *r);
}
