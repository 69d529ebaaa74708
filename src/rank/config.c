/* config.c — the pipeline configuration: defaults, a JSON file, JSON overrides (HTTP) and
 * key=value overrides (CLI flags), all through one table of fields so that each field has
 * one name, one parser and one error message everywhere.
 *
 * Format (JSON object; every field optional; docs/pipeline.md is the reference):
 *   {
 *     "candidates": 1000,          N1, BM25 candidates                       (integer >= 1)
 *     "rerank_top": 100,           N2, candidates fine-sorted                (integer >= 0)
 *     "k": 10,                     results returned                          (integer >= 1)
 *     "reranker": "auto",          auto | cross-encoder | proximity | none
 *     "model": "",                 cross-encoder model directory
 *     "rm3": false,                or {"enabled": true, "fb_docs": 10, "fb_terms": 10,
 *                                      "orig_weight": 0.5}
 *     "synonyms": "",              synonyms file ("heating => heat dissipation, thermal")
 *     "synonym_weight": 0.5,       BM25 weight of the added terms
 *     "filters": {"source": "", "lang": "", "date_from": "", "date_to": ""},
 *     "freshness": "none",         spec string (finerank.h) or {"function": "gauss",
 *                                  "scale": "3y", "offset": "0d", "decay": 0.5,
 *                                  "origin": "now", "missing": 1} or {"steps": "<=2y:1.2",
 *                                  "else": 1, "missing": 1}
 *     "authority": "field",        spec string or {"table": {"guideline": 1.0},
 *                                  "default": 1.0, "field": true}
 *     "combine": "product",        or "sum:semantic=0.7,..." or {"mode": "sum",
 *                                  "semantic": 0.7, "timeliness": 0.15, "authority": 0.15}
 *     "diversity": 1.0,            λ, or {"lambda": 1.0, "cap": 0, "cap_field": "source",
 *                                      "idf": "candidates"}  (MMR's idf: candidates | index)
 *     "explain": false,
 *     "deadline_ms": 0,            0: no latency budget
 *     "now": "now",                the clock for timeliness (a date makes runs reproducible)
 *     "retriever": "bm25",         bm25 | dense | hybrid, or {"mode": "hybrid", "fusion": "rrf",
 *                                  "rrf_k": 60, "dense_weight": 0.5, "fusion_depth": 100,
 *                                  "threads": 1, "query_dtype": "f32", "nprobe": "default"}
 *                                  (candidates: src/rank/retriever.c; nprobe: IVF lists per
 *                                  segment, "default", "exact" (= 0) or a count)
 *   }
 * Unknown fields are errors (a typo must not silently change nothing).
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "base/base.h"

fr_pipeline_config fr_pipeline_config_default(void) {
    fr_pipeline_config c;
    memset(&c, 0, sizeof c);
    c.candidates = 1000;
    c.rerank_top = 100;
    c.k = 10;
    c.reranker = FR_RERANK_AUTO;
    c.rm3_fb_docs = 10;
    c.rm3_fb_terms = 10;
    c.rm3_orig_weight = 0.5;
    c.synonym_weight = 0.5;
    c.date_from_ms = INT64_MIN;
    c.date_to_ms = INT64_MAX;
    c.freshness = fr_freshness_default();
    c.authority = fr_authority_default();
    c.combine = fr_combine_default();
    c.lambda = 1.0;
    strcpy(c.cap_field, "source");
    // MMR's idf over the candidates: at 1M documents the index's idf costs ~5,000 dictionary
    // lookups per query (≈ 40 ms here) for no visible gain in diversity (docs/pipeline.md).
    c.mmr_local_idf = 1;
    c.retriever = fr_retriever_opts_default();
    return c;
}

// ---- scalar parsers ----

static int set_size(const char *key, const char *v, size_t lo, size_t hi, size_t *out,
                    fr_error *err) {
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (end == v || *end || errno || x < (long long)lo || (unsigned long long)x > hi)
        return fr__err(err, FR_EINVAL, "%s: expected an integer in [%zu, %zu], got '%.40s'", key,
                       lo, hi, v);
    *out = (size_t)x;
    return 0;
}

static int set_double(const char *key, const char *v, double lo, double hi, double *out,
                      fr_error *err) {
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (end == v || *end || errno || !isfinite(x))
        return fr__err(err, FR_EINVAL, "%s: expected a number, got '%.40s'", key, v);
    if (x < lo || x > hi)
        return fr__err(err, FR_ERANGE, "%s: %g is outside [%g, %g]", key, x, lo, hi);
    *out = x;
    return 0;
}

static int set_bool(const char *key, const char *v, int *out, fr_error *err) {
    if (!strcmp(v, "true") || !strcmp(v, "1")) { *out = 1; return 0; }
    if (!strcmp(v, "false") || !strcmp(v, "0")) { *out = 0; return 0; }
    return fr__err(err, FR_EINVAL, "%s: expected true or false, got '%.40s'", key, v);
}

static int set_str(const char *key, const char *v, char *dst, size_t cap, fr_error *err) {
    size_t n = strlen(v);
    if (n >= cap) return fr__err(err, FR_ERANGE, "%s: longer than %zu bytes", key, cap - 1);
    memcpy(dst, v, n + 1);
    return 0;
}

static int set_date(const char *key, const char *v, int64_t none, int64_t *out, fr_error *err) {
    if (!*v) { *out = none; return 0; }
    return fr_date_parse(v, strlen(v), key, out, err);
}

// ---- the field table ----

int fr_pipeline_config_set(fr_pipeline_config *c, const char *key, const char *v,
                           fr_error *err) {
    int rc;
    size_t z;
    if (!strcmp(key, "candidates")) return set_size(key, v, 1, 1000000, &c->candidates, err);
    if (!strcmp(key, "rerank_top")) return set_size(key, v, 0, 100000, &c->rerank_top, err);
    if (!strcmp(key, "k")) return set_size(key, v, 1, 100000, &c->k, err);
    if (!strcmp(key, "reranker")) {
        static const char *names[] = {"auto", "none", "proximity", "cross-encoder"};
        for (int i = 0; i < 4; i++)
            if (!strcmp(v, names[i])) { c->reranker = (fr_rerank_kind)i; return 0; }
        return fr__err(err, FR_EINVAL, "reranker: expected auto, cross-encoder, proximity or "
                       "none, got '%.40s'", v);
    }
    if (!strcmp(key, "model")) return set_str(key, v, c->model, sizeof c->model, err);
    if (!strcmp(key, "rm3") || !strcmp(key, "rm3.enabled")) return set_bool(key, v, &c->rm3, err);
    if (!strcmp(key, "rm3.fb_docs")) return set_size(key, v, 1, 1000, &c->rm3_fb_docs, err);
    if (!strcmp(key, "rm3.fb_terms")) return set_size(key, v, 1, 1000, &c->rm3_fb_terms, err);
    if (!strcmp(key, "rm3.orig_weight"))
        return set_double(key, v, 0, 1, &c->rm3_orig_weight, err);
    if (!strcmp(key, "synonyms")) return set_str(key, v, c->synonyms, sizeof c->synonyms, err);
    if (!strcmp(key, "synonym_weight")) return set_double(key, v, 0, 100, &c->synonym_weight, err);
    if (!strcmp(key, "filters.source"))
        return set_str(key, v, c->filter_source, sizeof c->filter_source, err);
    if (!strcmp(key, "filters.lang"))
        return set_str(key, v, c->filter_lang, sizeof c->filter_lang, err);
    if (!strcmp(key, "filters.date_from")) return set_date(key, v, INT64_MIN, &c->date_from_ms, err);
    if (!strcmp(key, "filters.date_to")) return set_date(key, v, INT64_MAX, &c->date_to_ms, err);
    if (!strcmp(key, "freshness")) {
        if ((rc = fr_freshness_parse(v, &c->freshness, err)) < 0) return rc;
        return 0;
    }
    if (!strcmp(key, "authority")) {
        if (!strcmp(v, "field")) { c->authority = fr_authority_default(); return 0; }
        return fr_authority_parse(v, &c->authority, err);
    }
    if (!strcmp(key, "combine")) return fr_combine_parse(v, &c->combine, err);
    if (!strcmp(key, "diversity") || !strcmp(key, "diversity.lambda"))
        return set_double(key, v, 0, 1, &c->lambda, err);
    if (!strcmp(key, "diversity.cap")) {
        if ((rc = set_size(key, v, 0, 100000, &z, err)) < 0) return rc;
        c->cap = (int)z;
        return 0;
    }
    if (!strcmp(key, "diversity.cap_field")) {
        if (strcmp(v, "source") != 0 && (strncmp(v, "meta.", 5) != 0 || !v[5]))
            return fr__err(err, FR_EINVAL, "diversity.cap_field: expected source or meta.FIELD, "
                           "got '%.40s'", v);
        return set_str(key, v, c->cap_field, sizeof c->cap_field, err);
    }
    if (!strcmp(key, "diversity.idf")) {
        if (!strcmp(v, "index")) { c->mmr_local_idf = 0; return 0; }
        if (!strcmp(v, "candidates")) { c->mmr_local_idf = 1; return 0; }
        return fr__err(err, FR_EINVAL, "diversity.idf: expected index or candidates, got '%.40s'", v);
    }
    if (!strcmp(key, "retriever") || !strcmp(key, "retriever.mode")) {
        static const char *names[] = {"bm25", "dense", "hybrid"};
        for (int i = 0; i < 3; i++)
            if (!strcmp(v, names[i])) { c->retriever.kind = (fr_retriever_kind)i; return 0; }
        return fr__err(err, FR_EINVAL, "%s: expected bm25, dense or hybrid, got '%.40s'", key, v);
    }
    if (!strcmp(key, "retriever.fusion")) {
        if (!strcmp(v, "rrf")) { c->retriever.fusion = FR_FUSE_RRF; return 0; }
        if (!strcmp(v, "weighted")) { c->retriever.fusion = FR_FUSE_WEIGHTED; return 0; }
        return fr__err(err, FR_EINVAL, "%s: expected rrf or weighted, got '%.40s'", key, v);
    }
    if (!strcmp(key, "retriever.rrf_k")) return set_double(key, v, 0, 1e6, &c->retriever.rrf_k, err);
    if (!strcmp(key, "retriever.dense_weight"))
        return set_double(key, v, 0, 1, &c->retriever.dense_weight, err);
    if (!strcmp(key, "retriever.fusion_depth"))
        return set_size(key, v, 1, 1000000, &c->retriever.depth, err);
    if (!strcmp(key, "retriever.query_dtype")) {
        fr_dtype d;
        if (fr_dtype_parse(v, &d) < 0)
            return fr__err(err, FR_EINVAL, "%s: expected f32, bf16 or int8, got '%.40s'", key, v);
        c->retriever.query_dtype = d;
        return 0;
    }
    if (!strcmp(key, "retriever.nprobe")) {  // IVF lists per segment: "default", "exact" or N
        if (!strcmp(v, "default") || !strcmp(v, "-1")) { c->retriever.nprobe = -1; return 0; }
        if (!strcmp(v, "exact")) { c->retriever.nprobe = 0; return 0; }
        if ((rc = set_size(key, v, 0, 65536, &z, err)) < 0) return rc;
        c->retriever.nprobe = (int)z;
        return 0;
    }
    if (!strcmp(key, "retriever.threads")) {
        if ((rc = set_size(key, v, 1, 256, &z, err)) < 0) return rc;
        c->retriever.threads = (int)z;
        return 0;
    }
    if (!strcmp(key, "explain")) return set_bool(key, v, &c->explain, err);
    if (!strcmp(key, "deadline_ms")) return set_double(key, v, 0, 3.6e6, &c->deadline_ms, err);
    if (!strcmp(key, "now")) {
        if (!strcmp(v, "now") || !*v) { c->now_ms = 0; return 0; }
        return fr_date_parse(v, strlen(v), key, &c->now_ms, err);
    }
    return fr__err(err, FR_EINVAL, "unknown field '%.60s'", key);
}

// ---- JSON ----

// A scalar JSON value as the string the setter takes. OUT: buf.
static int scalar_str(const json_t *v, const char *key, char *buf, size_t cap, fr_error *err) {
    if (json_is_string(v)) {
        if (json_string_length(v) >= cap || strlen(json_string_value(v)) != json_string_length(v))
            return fr__err(err, FR_EINVAL, "%s: string too long or contains NUL", key);
        memcpy(buf, json_string_value(v), json_string_length(v) + 1);
    } else if (json_is_integer(v)) {
        snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
    } else if (json_is_real(v)) {
        snprintf(buf, cap, "%.17g", json_real_value(v));
    } else if (json_is_boolean(v)) {
        snprintf(buf, cap, "%s", json_is_true(v) ? "true" : "false");
    } else if (json_is_null(v)) {
        buf[0] = 0;
    } else {
        return fr__err(err, FR_EINVAL, "%s: expected a string, number or boolean", key);
    }
    return 0;
}

static int obj_spec_freshness(const json_t *o, fr__buf *b, fr_error *err) {
    const char *key;
    json_t *v;
    char val[256];
    const json_t *fn = json_object_get(o, "function"), *steps = json_object_get(o, "steps");
    if (fn && steps) return fr__err(err, FR_EINVAL, "freshness: give either function or steps");
    if (fn) {
        if (!json_is_string(fn))
            return fr__err(err, FR_EINVAL, "freshness.function: expected exp, gauss or linear");
        fr__buf_printf(b, "%s:", json_string_value(fn));
    } else if (steps) {
        if (!json_is_string(steps))
            return fr__err(err, FR_EINVAL, "freshness.steps: expected a string like <=2y:1.2");
        fr__buf_printf(b, "step:%s", json_string_value(steps));
    } else {
        return fr__err(err, FR_EINVAL, "freshness: an object needs \"function\" or \"steps\"");
    }
    json_object_foreach((json_t *)o, key, v) {
        if (!strcmp(key, "function") || !strcmp(key, "steps")) continue;
        char k2[80];
        snprintf(k2, sizeof k2, "freshness.%.60s", key);
        int rc = scalar_str(v, k2, val, sizeof val, err);
        if (rc < 0) return rc;
        if (strchr(val, ',')) return fr__err(err, FR_EINVAL, "%s: unexpected ','", k2);
        fr__buf_printf(b, "%s%s=%s", b->data[b->len - 1] == ':' ? "" : ",", key, val);
    }
    return 0;
}

static int obj_spec_authority(const json_t *o, fr__buf *b, fr_error *err) {
    const char *key, *src;
    json_t *v, *w;
    json_object_foreach((json_t *)o, key, v) {
        if (!strcmp(key, "table")) {
            if (!json_is_object(v))
                return fr__err(err, FR_EINVAL, "authority.table: expected an object "
                               "{\"source\": coefficient}");
            json_object_foreach(v, src, w) {
                if (!json_is_number(w))
                    return fr__err(err, FR_EINVAL, "authority.table.%.60s: expected a number", src);
                if (strchr(src, ','))
                    return fr__err(err, FR_EINVAL, "authority.table: source '%.60s' contains ','",
                                   src);
                fr__buf_printf(b, "%s%s:%.17g", b->len ? "," : "", src, json_number_value(w));
            }
        } else if (!strcmp(key, "default")) {
            if (!json_is_number(v))
                return fr__err(err, FR_EINVAL, "authority.default: expected a number");
            fr__buf_printf(b, "%sdefault=%.17g", b->len ? "," : "", json_number_value(v));
        } else if (!strcmp(key, "field")) {
            if (!json_is_boolean(v))
                return fr__err(err, FR_EINVAL, "authority.field: expected true or false");
            fr__buf_printf(b, "%s%s", b->len ? "," : "", json_is_true(v) ? "field" : "nofield");
        } else {
            return fr__err(err, FR_EINVAL, "authority: unknown field '%.60s' (table, default, "
                           "field)", key);
        }
    }
    if (!b->len) fr__buf_printf(b, "field");
    return 0;
}

static int obj_spec_combine(const json_t *o, fr__buf *b, fr_error *err) {
    const char *key;
    json_t *v;
    const json_t *mode = json_object_get(o, "mode");
    if (!mode || !json_is_string(mode))
        return fr__err(err, FR_EINVAL, "combine.mode: expected product or sum");
    fr__buf_printf(b, "%s", json_string_value(mode));
    int first = 1;
    json_object_foreach((json_t *)o, key, v) {
        if (!strcmp(key, "mode")) continue;
        if (!json_is_number(v))
            return fr__err(err, FR_EINVAL, "combine.%.60s: expected a number", key);
        fr__buf_printf(b, "%s%s=%.17g", first ? ":" : ",", key, json_number_value(v));
        first = 0;
    }
    return 0;
}

static int apply_obj(fr_pipeline_config *c, const json_t *o, const char *prefix, fr_error *err) {
    const char *key;
    json_t *v;
    char full[128], val[1100];
    json_object_foreach((json_t *)o, key, v) {
        snprintf(full, sizeof full, "%s%.100s", prefix, key);
        int rc;
        if (json_is_object(v)) {
            fr__buf b = {0};
            fr__buf_reserve(&b, 64);
            if (!b.data) return fr__err(err, FR_ENOMEM, "out of memory");
            if (!*prefix && !strcmp(key, "freshness")) rc = obj_spec_freshness(v, &b, err);
            else if (!*prefix && !strcmp(key, "authority")) rc = obj_spec_authority(v, &b, err);
            else if (!*prefix && !strcmp(key, "combine")) rc = obj_spec_combine(v, &b, err);
            else if (!*prefix && (!strcmp(key, "filters") || !strcmp(key, "diversity") ||
                                  !strcmp(key, "rm3") || !strcmp(key, "retriever"))) {
                char p2[128];
                snprintf(p2, sizeof p2, "%s.", key);
                rc = apply_obj(c, v, p2, err);
                fr__buf_free(&b);
                if (rc < 0) return rc;
                continue;
            } else {
                rc = fr__err(err, FR_EINVAL, "%s: unexpected object", full);
            }
            if (rc == 0) rc = fr_pipeline_config_set(c, full, b.data, err);
            fr__buf_free(&b);
            if (rc < 0) return rc;
            continue;
        }
        if ((rc = scalar_str(v, full, val, sizeof val, err)) < 0) return rc;
        if ((rc = fr_pipeline_config_set(c, full, val, err)) < 0) return rc;
    }
    return 0;
}

int fr_pipeline_config_apply_json(fr_pipeline_config *cfg, const char *json, size_t len,
                                  const char *name, fr_error *err) {
    if (!name) name = "config";
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return fr__err(err, FR_EFORMAT, "%s: line %d column %d: %s", name, je.line, je.column,
                       je.text);
    if (!json_is_object(root)) {
        json_decref(root);
        return fr__err(err, FR_EFORMAT, "%s: expected a JSON object", name);
    }
    fr_pipeline_config tmp = *cfg;
    int rc = apply_obj(&tmp, root, "", err);
    json_decref(root);
    if (rc < 0) return fr__err_prefix(err, rc, "%s", name);
    *cfg = tmp;
    return 0;
}

int fr_pipeline_config_load(fr_pipeline_config *cfg, const char *path, fr_error *err) {
    char *data = NULL;
    size_t len = 0;
    int rc = fr__read_file(path, &data, &len, err);
    if (rc < 0) return rc;
    rc = fr_pipeline_config_apply_json(cfg, data, len, path, err);
    free(data);
    return rc;
}

static void fmt_date_field(json_t *o, const char *key, int64_t ms, int64_t none) {
    if (ms == none) {
        json_object_set_new(o, key, json_string(""));
        return;
    }
    char b[32];
    time_t t = (time_t)fr__ms_to_s(ms);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_object_set_new(o, key, json_string(b));
}

char *fr_pipeline_config_to_json(const fr_pipeline_config *c) {
    static const char *rr[] = {"auto", "none", "proximity", "cross-encoder"};
    char spec[1024];
    json_t *o = json_object(), *f = json_object(), *d = json_object(), *r = json_object();
    json_object_set_new(o, "candidates", json_integer((json_int_t)c->candidates));
    json_object_set_new(o, "rerank_top", json_integer((json_int_t)c->rerank_top));
    json_object_set_new(o, "k", json_integer((json_int_t)c->k));
    json_object_set_new(o, "reranker", json_string(rr[c->reranker]));
    json_object_set_new(o, "model", json_string(c->model));
    json_object_set_new(r, "enabled", json_boolean(c->rm3));
    json_object_set_new(r, "fb_docs", json_integer((json_int_t)c->rm3_fb_docs));
    json_object_set_new(r, "fb_terms", json_integer((json_int_t)c->rm3_fb_terms));
    json_object_set_new(r, "orig_weight", json_real(c->rm3_orig_weight));
    json_object_set_new(o, "rm3", r);
    json_object_set_new(o, "synonyms", json_string(c->synonyms));
    json_object_set_new(o, "synonym_weight", json_real(c->synonym_weight));
    json_object_set_new(f, "source", json_string(c->filter_source));
    json_object_set_new(f, "lang", json_string(c->filter_lang));
    fmt_date_field(f, "date_from", c->date_from_ms, INT64_MIN);
    fmt_date_field(f, "date_to", c->date_to_ms, INT64_MAX);
    json_object_set_new(o, "filters", f);
    fr_freshness_format(&c->freshness, spec, sizeof spec);
    json_object_set_new(o, "freshness", json_string(spec));
    fr__buf b = {0};
    for (int i = 0; i < c->authority.n; i++)
        fr__buf_printf(&b, "%s:%g,", c->authority.source[i], c->authority.coef[i]);
    fr__buf_printf(&b, "default=%g,%s", c->authority.dflt, c->authority.use_field ? "field" : "nofield");
    json_object_set_new(o, "authority", json_string(b.data ? b.data : ""));
    fr__buf_free(&b);
    if (c->combine.mode == FR_COMBINE_SUM)
        snprintf(spec, sizeof spec, "sum:semantic=%g,timeliness=%g,authority=%g",
                 c->combine.w_semantic, c->combine.w_timeliness, c->combine.w_authority);
    else
        snprintf(spec, sizeof spec, "product");
    json_object_set_new(o, "combine", json_string(spec));
    json_object_set_new(d, "lambda", json_real(c->lambda));
    json_object_set_new(d, "cap", json_integer(c->cap));
    json_object_set_new(d, "cap_field", json_string(c->cap_field));
    json_object_set_new(d, "idf", json_string(c->mmr_local_idf ? "candidates" : "index"));
    json_object_set_new(o, "diversity", d);
    json_object_set_new(o, "explain", json_boolean(c->explain));
    json_object_set_new(o, "deadline_ms", json_real(c->deadline_ms));
    if (c->now_ms) fmt_date_field(o, "now", c->now_ms, 0);
    else json_object_set_new(o, "now", json_string("now"));
    static const char *rk[] = {"bm25", "dense", "hybrid"};
    json_t *rt = json_object();
    json_object_set_new(rt, "mode", json_string(rk[c->retriever.kind <= FR_RETRIEVER_HYBRID ? c->retriever.kind : 0]));
    json_object_set_new(rt, "fusion", json_string(c->retriever.fusion == FR_FUSE_WEIGHTED ? "weighted" : "rrf"));
    json_object_set_new(rt, "rrf_k", json_real(c->retriever.rrf_k));
    json_object_set_new(rt, "dense_weight", json_real(c->retriever.dense_weight));
    json_object_set_new(rt, "fusion_depth", json_integer((json_int_t)c->retriever.depth));
    json_object_set_new(rt, "threads", json_integer(c->retriever.threads));
    json_object_set_new(rt, "query_dtype", json_string(fr_dtype_name(c->retriever.query_dtype)));
    json_object_set_new(rt, "nprobe", c->retriever.nprobe < 0 ? json_string("default")
                                                              : json_integer(c->retriever.nprobe));
    json_object_set_new(o, "retriever", rt);
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}
