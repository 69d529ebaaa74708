/* signals.c — per-document business signals for the pipeline's third stage: timeliness (a
 * weight from the document's `date`), authority (a coefficient from its `authority` field or
 * a source → coefficient table), and their combination with the semantic score. Also owns
 * duration parsing ("30d", "2y"), which the specs need (dates: src/base/date.c).
 *
 * Data: every spec parses into a plain, fixed-size struct (finerank.h) so that a pipeline
 * config can be copied by value and overridden per query without ownership questions.
 * Workload: a few hundred documents per query, so clarity beats speed; each weight is a
 * handful of flops.
 *
 * Decay functions follow Elasticsearch's function_score exactly (DecayFunctionBuilder and
 * {Exponential,Gauss,Linear}DecayFunctionBuilder): distance d = max(0, |v − origin| − offset)
 * in milliseconds for dates;
 *   exp:    exp(λ·d),           λ  = ln(decay)/scale
 *   gauss:  exp(0.5·d²/σ'),     σ' = 0.5·scale²/ln(decay)   (i.e. exp(−d²/2σ²), σ² = −scale²/(2 ln decay))
 *   linear: max(0, (s − d)/s),  s  = scale/(1 − decay)
 * ES requires scale > 0 and 0 < decay < 1, and returns 1 for documents lacking the field;
 * we return the configurable `missing` value (default 1, ES's behaviour).
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/base.h"

#define MS_PER_DAY 86400000LL

// ---- dates ----

int64_t fr_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// ---- durations ----

int fr_duration_parse(const char *s, size_t len, const char *field, int64_t *ms, fr_error *err) {
    if (!field) field = "duration";
    char tmp[64];
    if (len == 0 || len >= sizeof tmp)
        return fr__err(err, FR_EINVAL, "%s: expected a duration such as 30d or 2y", field);
    memcpy(tmp, s, len);
    tmp[len] = 0;
    size_t i = 0;
    while (i < len && (isdigit((unsigned char)tmp[i]) || tmp[i] == '.')) i++;
    char *end;
    errno = 0;
    double v = i ? strtod(tmp, &end) : 0;
    if (i == 0 || end != tmp + i || errno || !isfinite(v))
        return fr__err(err, FR_EINVAL, "%s: '%s': expected a number then a unit (ms s m h d w y)",
                       field, tmp);
    static const struct { const char *u; double ms; } units[] = {
        {"ms", 1}, {"s", 1e3}, {"m", 6e4}, {"h", 3.6e6}, {"d", 8.64e7},
        {"w", 6.048e8}, {"y", 3.1536e10},  // y = 365 days, w = 7 days (finerank extensions)
    };
    for (size_t k = 0; k < sizeof units / sizeof units[0]; k++) {
        if (strcmp(tmp + i, units[k].u) != 0) continue;
        double r = v * units[k].ms;
        if (r > 1e17)  // ~3 million years: beyond any date we parse
            return fr__err(err, FR_ERANGE, "%s: '%s' is too large", field, tmp);
        *ms = (int64_t)llround(r);
        return 0;
    }
    return fr__err(err, FR_EINVAL, "%s: '%s': unknown unit '%s' (use ms s m h d w y)", field,
                   tmp, tmp + i);
}

// ---- spec tokenizing ----
// Specs are comma-separated items; items are "key=value" or "key:value".

typedef struct item {
    const char *p;
    size_t n;
} item;

// Next comma-separated item of *s (whitespace-trimmed); 0 at the end.
static int next_item(const char **s, item *it) {
    const char *p = *s;
    while (*p == ' ' || *p == '\t') p++;
    if (!*p) return 0;
    const char *e = strchr(p, ',');
    if (!e) e = p + strlen(p);
    const char *t = e;
    while (t > p && (t[-1] == ' ' || t[-1] == '\t')) t--;
    it->p = p;
    it->n = (size_t)(t - p);
    *s = *e ? e + 1 : e;
    return 1;
}

static int parse_num(const char *p, size_t n, const char *field, double lo, double hi,
                     double *out, fr_error *err) {
    char tmp[64];
    while (n && (*p == ' ' || *p == '\t')) p++, n--;
    if (n == 0 || n >= sizeof tmp) return fr__err(err, FR_EINVAL, "%s: expected a number", field);
    memcpy(tmp, p, n);
    tmp[n] = 0;
    char *end;
    errno = 0;
    double v = strtod(tmp, &end);
    if (end == tmp || *end || errno || !isfinite(v))
        return fr__err(err, FR_EINVAL, "%s: '%s' is not a number", field, tmp);
    if (v < lo || v > hi)
        return fr__err(err, FR_ERANGE, "%s: %g is outside [%g, %g]", field, v, lo, hi);
    *out = v;
    return 0;
}

static int key_is(const item *it, const char *key, const char **val, size_t *vn) {
    size_t k = strlen(key);
    if (it->n <= k || memcmp(it->p, key, k) != 0 || it->p[k] != '=') return 0;
    *val = it->p + k + 1;
    *vn = it->n - k - 1;
    return 1;
}

// ---- timeliness ----

fr_freshness fr_freshness_default(void) {
    fr_freshness f;
    memset(&f, 0, sizeof f);
    f.kind = FR_FRESH_NONE;
    f.decay = 0.5;
    f.missing = 1.0;
    f.otherwise = 1.0;
    return f;
}

static int parse_step(const item *it, fr_freshness *f, fr_error *err) {
    const char *p = it->p;
    size_t n = it->n, opn = (n >= 2 && p[1] == '=') ? 2 : 1;
    fr_fresh_step st;
    memset(&st, 0, sizeof st);
    if (n < 2 || (p[0] != '<' && p[0] != '>'))
        return fr__err(err, FR_EINVAL, "freshness: step '%.*s': expected <=AGE:W, <AGE:W, "
                       ">=AGE:W or >AGE:W", (int)n, p);
    memcpy(st.op, p, opn);
    const char *colon = memchr(p, ':', n);
    if (!colon)
        return fr__err(err, FR_EINVAL, "freshness: step '%.*s': missing ':WEIGHT'", (int)n, p);
    int rc = fr_duration_parse(p + opn, (size_t)(colon - p) - opn, "freshness step age",
                               &st.age_ms, err);
    if (rc < 0) return rc;
    rc = parse_num(colon + 1, n - (size_t)(colon + 1 - p), "freshness step weight", 0, 1e6,
                   &st.weight, err);
    if (rc < 0) return rc;
    if (f->n_steps >= FR_FRESH_MAX_STEPS)
        return fr__err(err, FR_ERANGE, "freshness: more than %d steps", FR_FRESH_MAX_STEPS);
    f->steps[f->n_steps++] = st;
    return 0;
}

int fr_freshness_parse(const char *spec, fr_freshness *out, fr_error *err) {
    fr_freshness f = fr_freshness_default();
    if (!spec) return fr__err(err, FR_EINVAL, "freshness: missing spec");
    while (*spec == ' ') spec++;
    const char *rest = spec;
    if (!strcmp(spec, "none") || !*spec) {
        *out = f;
        return 0;
    }
    static const struct { const char *name; fr_fresh_kind kind; } kinds[] = {
        {"exp", FR_FRESH_EXP}, {"gauss", FR_FRESH_GAUSS}, {"linear", FR_FRESH_LINEAR},
        {"step", FR_FRESH_STEP},
    };
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        size_t n = strlen(kinds[k].name);
        if (!strncmp(spec, kinds[k].name, n) && (spec[n] == ':' || spec[n] == 0)) {
            f.kind = kinds[k].kind;
            rest = spec + n + (spec[n] == ':');
        }
    }
    if (f.kind == FR_FRESH_NONE) {
        if (*spec != '<' && *spec != '>')
            return fr__err(err, FR_EINVAL, "freshness: '%.40s': expected none, exp:, gauss:, "
                           "linear:, step: or a step table such as <=2y:1.2,>=10y:0.7", spec);
        f.kind = FR_FRESH_STEP;
    }
    int have_scale = 0, rc;
    item it;
    while (next_item(&rest, &it)) {
        const char *v;
        size_t vn;
        if (key_is(&it, "missing", &v, &vn)) {
            rc = parse_num(v, vn, "freshness missing", 0, 1e6, &f.missing, err);
        } else if (key_is(&it, "origin", &v, &vn)) {
            if (vn == 3 && !memcmp(v, "now", 3)) {
                f.has_origin = 0;
                rc = 0;
            } else {
                rc = fr_date_parse(v, vn, "freshness origin", &f.origin_ms, err);
                f.has_origin = rc == 0;
            }
        } else if (f.kind == FR_FRESH_STEP) {
            if (key_is(&it, "else", &v, &vn))
                rc = parse_num(v, vn, "freshness else", 0, 1e6, &f.otherwise, err);
            else
                rc = parse_step(&it, &f, err);
        } else if (key_is(&it, "scale", &v, &vn)) {
            rc = fr_duration_parse(v, vn, "freshness scale", &f.scale_ms, err);
            have_scale = 1;
        } else if (key_is(&it, "offset", &v, &vn)) {
            rc = fr_duration_parse(v, vn, "freshness offset", &f.offset_ms, err);
        } else if (key_is(&it, "decay", &v, &vn)) {
            rc = parse_num(v, vn, "freshness decay", 0, 1, &f.decay, err);
            if (rc == 0 && (f.decay <= 0 || f.decay >= 1))  // as ES: ln(decay) must be finite, < 0
                rc = fr__err(err, FR_ERANGE, "freshness decay: %g must be in (0, 1)", f.decay);
        } else {
            rc = fr__err(err, FR_EINVAL, "freshness: unknown item '%.*s' (scale= offset= decay= "
                         "origin= missing=)", (int)(it.n > 60 ? 60 : it.n), it.p);
        }
        if (rc < 0) return rc;
    }
    if (f.kind == FR_FRESH_STEP && f.n_steps == 0)
        return fr__err(err, FR_EINVAL, "freshness: step table has no rules");
    if (f.kind != FR_FRESH_STEP && (!have_scale || f.scale_ms <= 0))
        return fr__err(err, FR_EINVAL, "freshness scale: a %s decay needs scale > 0 (e.g. "
                       "scale=365d)", f.kind == FR_FRESH_EXP ? "exp" :
                       f.kind == FR_FRESH_GAUSS ? "gauss" : "linear");
    *out = f;
    return 0;
}

static int step_matches(const fr_fresh_step *st, int64_t age) {
    if (st->op[0] == '<') return st->op[1] == '=' ? age <= st->age_ms : age < st->age_ms;
    return st->op[1] == '=' ? age >= st->age_ms : age > st->age_ms;
}

double fr_freshness_weight(const fr_freshness *f, int has_date, int64_t date_ms, int64_t now_ms) {
    if (f->kind == FR_FRESH_NONE) return 1.0;
    if (!has_date) return f->missing;
    int64_t origin = f->has_origin ? f->origin_ms : now_ms;
    if (f->kind == FR_FRESH_STEP) {
        int64_t age = origin - date_ms;  // future-dated documents have age 0
        if (age < 0) age = 0;
        for (int i = 0; i < f->n_steps; i++)
            if (step_matches(&f->steps[i], age)) return f->steps[i].weight;
        return f->otherwise;
    }
    double diff = fabs((double)date_ms - (double)origin);
    double d = fmax(0.0, diff - (double)f->offset_ms);
    double scale = (double)f->scale_ms;
    switch (f->kind) {
    case FR_FRESH_EXP:
        return exp(log(f->decay) / scale * d);
    case FR_FRESH_GAUSS: {
        double sigma = 0.5 * scale * scale / log(f->decay);  // ES GaussDecayFunction.processScale
        return exp(0.5 * d * d / sigma);
    }
    case FR_FRESH_LINEAR: {
        double s = scale / (1.0 - f->decay);
        return fmax(0.0, (s - d) / s);
    }
    default:
        return 1.0;
    }
}

// Shortest unit that represents ms exactly.
static void fmt_dur(int64_t ms, char *b, size_t cap) {
    static const struct { const char *u; int64_t ms; } units[] = {
        {"y", 31536000000LL}, {"d", 86400000LL}, {"h", 3600000LL}, {"m", 60000LL}, {"s", 1000LL},
    };
    for (size_t k = 0; k < sizeof units / sizeof units[0]; k++)
        if (ms != 0 && ms % units[k].ms == 0) {
            snprintf(b, cap, "%lld%s", (long long)(ms / units[k].ms), units[k].u);
            return;
        }
    snprintf(b, cap, "%lldms", (long long)ms);
}

static void fmt_date(int64_t ms, char *b, size_t cap) {
    time_t t = (time_t)fr__ms_to_s(ms);
    struct tm tm;
    gmtime_r(&t, &tm);
    if (ms % MS_PER_DAY == 0) strftime(b, cap, "%Y-%m-%d", &tm);
    else strftime(b, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void fr_freshness_format(const fr_freshness *f, char *buf, size_t cap) {
    fr__buf b = {0};
    char t1[32], t2[32];
    if (f->kind == FR_FRESH_NONE) {
        fr__buf_printf(&b, "none");
    } else if (f->kind == FR_FRESH_STEP) {
        for (int i = 0; i < f->n_steps; i++) {
            fmt_dur(f->steps[i].age_ms, t1, sizeof t1);
            fr__buf_printf(&b, "%s%s%s:%g", i ? "," : "", f->steps[i].op, t1, f->steps[i].weight);
        }
        fr__buf_printf(&b, ",else=%g", f->otherwise);
    } else {
        fmt_dur(f->scale_ms, t1, sizeof t1);
        fmt_dur(f->offset_ms, t2, sizeof t2);
        fr__buf_printf(&b, "%s:scale=%s,offset=%s,decay=%g",
                       f->kind == FR_FRESH_EXP ? "exp" : f->kind == FR_FRESH_GAUSS ? "gauss" : "linear",
                       t1, t2, f->decay);
    }
    if (f->kind != FR_FRESH_NONE) {
        if (f->has_origin) {
            fmt_date(f->origin_ms, t1, sizeof t1);
            fr__buf_printf(&b, ",origin=%s", t1);
        }
        fr__buf_printf(&b, ",missing=%g", f->missing);
    }
    if (cap) snprintf(buf, cap, "%s", b.data ? b.data : "");
    fr__buf_free(&b);
}

// ---- authority ----

fr_authority fr_authority_default(void) {
    fr_authority a;
    memset(&a, 0, sizeof a);
    a.use_field = 1;
    a.dflt = 1.0;
    return a;
}

int fr_authority_parse(const char *spec, fr_authority *out, fr_error *err) {
    fr_authority a = fr_authority_default();
    if (!spec) return fr__err(err, FR_EINVAL, "authority: missing spec");
    if (!strcmp(spec, "none")) {
        a.use_field = 0;
        *out = a;
        return 0;
    }
    item it;
    int rc;
    while (next_item(&spec, &it)) {
        const char *v;
        size_t vn;
        if (key_is(&it, "default", &v, &vn)) {
            if ((rc = parse_num(v, vn, "authority default", 0, 1e6, &a.dflt, err)) < 0) return rc;
            continue;
        }
        if (it.n == 5 && !memcmp(it.p, "field", 5)) { a.use_field = 1; continue; }
        if (it.n == 7 && !memcmp(it.p, "nofield", 7)) { a.use_field = 0; continue; }
        // SOURCE:X, split at the last colon so that sources may contain ':'.
        const char *colon = NULL;
        for (size_t k = it.n; k-- > 0;)
            if (it.p[k] == ':') { colon = it.p + k; break; }
        size_t sn = colon ? (size_t)(colon - it.p) : 0;
        if (!colon || sn == 0)
            return fr__err(err, FR_EINVAL, "authority: item '%.*s': expected SOURCE:COEF, "
                           "default=X, field or nofield", (int)(it.n > 60 ? 60 : it.n), it.p);
        if (sn >= sizeof a.source[0])
            return fr__err(err, FR_ERANGE, "authority: source name longer than %zu bytes",
                           sizeof a.source[0] - 1);
        if (a.n >= FR_AUTH_MAX)
            return fr__err(err, FR_ERANGE, "authority: more than %d sources", FR_AUTH_MAX);
        char field[96];
        snprintf(field, sizeof field, "authority '%.*s'", (int)sn, it.p);
        if ((rc = parse_num(colon + 1, it.n - sn - 1, field, 0, 1e6, &a.coef[a.n], err)) < 0)
            return rc;
        memcpy(a.source[a.n], it.p, sn);
        a.source[a.n][sn] = 0;
        a.n++;
    }
    *out = a;
    return 0;
}

double fr_authority_weight(const fr_authority *a, const char *source, int has_auth, double auth) {
    if (source)
        for (int i = 0; i < a->n; i++)
            if (!strcmp(a->source[i], source)) return a->coef[i];
    if (has_auth && a->use_field) return isfinite(auth) && auth > 0 ? auth : 0.0;
    return a->dflt;
}

// ---- combination ----

fr_combine fr_combine_default(void) {
    fr_combine c = {FR_COMBINE_PRODUCT, 0.7, 0.15, 0.15};
    return c;
}

int fr_combine_parse(const char *spec, fr_combine *out, fr_error *err) {
    fr_combine c = fr_combine_default();
    if (!spec) return fr__err(err, FR_EINVAL, "combine: missing spec");
    if (!strcmp(spec, "product")) { *out = c; return 0; }
    if (strncmp(spec, "sum", 3) != 0 || (spec[3] != 0 && spec[3] != ':'))
        return fr__err(err, FR_EINVAL, "combine: '%.40s': expected product or "
                       "sum[:semantic=X,timeliness=X,authority=X]", spec);
    c.mode = FR_COMBINE_SUM;
    const char *rest = spec + 3 + (spec[3] == ':');
    item it;
    int rc;
    while (next_item(&rest, &it)) {
        const char *v;
        size_t vn;
        if (key_is(&it, "semantic", &v, &vn))
            rc = parse_num(v, vn, "combine semantic", 0, 1e6, &c.w_semantic, err);
        else if (key_is(&it, "timeliness", &v, &vn))
            rc = parse_num(v, vn, "combine timeliness", 0, 1e6, &c.w_timeliness, err);
        else if (key_is(&it, "authority", &v, &vn))
            rc = parse_num(v, vn, "combine authority", 0, 1e6, &c.w_authority, err);
        else
            rc = fr__err(err, FR_EINVAL, "combine: unknown weight '%.*s' (semantic= timeliness= "
                         "authority=)", (int)(it.n > 60 ? 60 : it.n), it.p);
        if (rc < 0) return rc;
    }
    *out = c;
    return 0;
}

double fr_combine_score(const fr_combine *c, double semantic, double timeliness, double authority) {
    if (c->mode == FR_COMBINE_SUM)
        return c->w_semantic * semantic + c->w_timeliness * timeliness + c->w_authority * authority;
    return semantic * timeliness * authority;
}
