/* synonyms.c — user synonym rules for query expansion in the pipeline's first stage.
 *
 * File format (UTF-8 text, one rule a line, as Solr's SynonymFilter "solr" format):
 *   # comment                                   blank lines and '#' lines are ignored
 *   heating => heat dissipation, thermal        one-way: the left side adds the right side
 *   sugar control, glycemic control, glucose control   equivalence: each adds the others
 * Every side is analyzed with the index's analyzer, so "Heating" matches "heating" and
 * multi-word sides are term sequences. A rule fires when its left side occurs as contiguous
 * terms of the analyzed query; its right-side terms are then added to the BM25 query with
 * the configured synonym weight (a bag of terms, not a phrase), each at most once.
 *
 * Layout: rules as arrays of analyzed term lists (fr_terms). Workload: tens to thousands of
 * rules, matched against queries of a few terms: a linear scan per query is fine.
 */
#include <stdint.h>
#include <string.h>

#include "base/base.h"
#include "rank/synonyms.h"

typedef struct rule {
    fr_terms lhs;
    fr_terms rhs;  // every right-side term, concatenated
} rule;

struct fr__synonyms {
    rule *rules;
    size_t n, cap;
};

void fr__synonyms_free(fr__synonyms *s) {
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) {
        fr_terms_free(&s->rules[i].lhs);
        fr_terms_free(&s->rules[i].rhs);
    }
    free(s->rules);
    free(s);
}

static int add_rule(fr__synonyms *s, rule *r) {
    if (s->n == s->cap) {
        size_t nc = s->cap ? 2 * s->cap : 16;
        rule *nr = realloc(s->rules, nc * sizeof *nr);
        if (!nr) return FR_ENOMEM;
        s->rules = nr;
        s->cap = nc;
    }
    s->rules[s->n++] = *r;
    return 0;
}

// Splits [p, e) at commas into trimmed pieces; calls fn for each non-empty one.
typedef struct piece {
    const char *p;
    size_t n;
} piece;

static size_t split(const char *p, const char *e, piece *out, size_t max) {
    size_t k = 0;
    while (p <= e && k < max) {
        const char *c = memchr(p, ',', (size_t)(e - p));
        if (!c) c = e;
        const char *a = p, *b = c;
        while (a < b && (*a == ' ' || *a == '\t')) a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\r')) b--;
        if (b > a) out[k++] = (piece){a, (size_t)(b - a)};
        p = c + 1;
    }
    return k;
}

static int analyze_into(fr__analyze_fn an, void *ctx, piece pc, fr_terms *t, fr_error *err) {
    return an(ctx, pc.p, pc.n, t, err);
}

// Adds the rule lhs → rhs[0..n_rhs) but rhs[skip] (skip = SIZE_MAX: none) with both sides
// analyzed; a side left with no term (only stopwords) has nothing to match or add, so the
// rule is dropped. On failure nothing is added and the error comes from an (or FR_ENOMEM).
static int add_expansion(fr__synonyms *s, fr__analyze_fn an, void *ctx, piece lhs,
                         const piece *rhs, size_t n_rhs, size_t skip, fr_error *err) {
    rule r = {0};
    int rc;
    if ((rc = analyze_into(an, ctx, lhs, &r.lhs, err)) < 0) goto fail;
    for (size_t j = 0; j < n_rhs; j++)
        if (j != skip && (rc = analyze_into(an, ctx, rhs[j], &r.rhs, err)) < 0) goto fail;
    if (r.lhs.n == 0 || r.rhs.n == 0) {
        rc = 0;
        goto fail;
    }
    if ((rc = add_rule(s, &r)) < 0) goto fail;
    return 0;
fail:
    fr_terms_free(&r.lhs);
    fr_terms_free(&r.rhs);
    return rc;
}

#define MAX_PIECES 64

int fr__synonyms_parse(const char *text, size_t len, const char *name, fr__analyze_fn an,
                       void *ctx, fr__synonyms **out, fr_error *err) {
    *out = NULL;
    fr__synonyms *s = calloc(1, sizeof *s);
    if (!s) return fr__err(err, FR_ENOMEM, "%s: out of memory", name);
    const char *p = text, *end = text + len;
    int line = 0, rc = 0;
    piece pcs[MAX_PIECES];
    while (p < end) {
        line++;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        const char *a = p;
        while (a < e && (*a == ' ' || *a == '\t' || *a == '\r')) a++;
        const char *next = nl ? nl + 1 : end;
        if (a == e || *a == '#') { p = next; continue; }
        if (memchr(a, 0, (size_t)(e - a))) {
            rc = fr__err(err, FR_EFORMAT, "%s:%d: NUL byte in rule", name, line);
            goto fail;
        }
        const char *arrow = NULL;
        for (const char *q = a; q + 1 < e; q++)
            if (q[0] == '=' && q[1] == '>') { arrow = q; break; }
        if (arrow) {
            size_t nl_ = split(a, arrow, pcs, MAX_PIECES);
            size_t nr = split(arrow + 2, e, pcs + nl_, MAX_PIECES - nl_);
            if (nl_ == 0 || nr == 0) {
                rc = fr__err(err, FR_EFORMAT, "%s:%d: '=>' needs terms on both sides", name, line);
                goto fail;
            }
            // Each left-side alternative gets the whole right side.
            for (size_t i = 0; i < nl_; i++)
                if ((rc = add_expansion(s, an, ctx, pcs[i], pcs + nl_, nr, SIZE_MAX, err)) < 0)
                    goto fail_line;
        } else {
            size_t n = split(a, e, pcs, MAX_PIECES);
            if (n < 2) {
                rc = fr__err(err, FR_EFORMAT, "%s:%d: expected 'a => b, c' or 'a, b, c'", name, line);
                goto fail;
            }
            // Equivalence: each term expands to all the others.
            for (size_t i = 0; i < n; i++)
                if ((rc = add_expansion(s, an, ctx, pcs[i], pcs, n, i, err)) < 0) goto fail_line;
        }
        p = next;
    }
    *out = s;
    return 0;
fail_line:
    if (rc == FR_ENOMEM) fr__err(err, rc, "%s:%d: out of memory", name, line);
    else fr__err_prefix(err, rc, "%s:%d", name, line);
fail:
    fr__synonyms_free(s);
    return rc;
}

size_t fr__synonyms_count(const fr__synonyms *s) {
    return s ? s->n : 0;
}

static int has_term(const fr_terms *q, const char *t) {
    for (size_t i = 0; i < q->n; i++)
        if (!strcmp(q->terms[i], t)) return 1;
    return 0;
}

static int push_term(fr_terms *q, const char *t, float w) {
    size_t n = q->n + 1;
    char **terms = realloc(q->terms, n * sizeof *terms);
    if (!terms) return FR_ENOMEM;
    q->terms = terms;
    uint32_t *pos = realloc(q->pos, n * sizeof *pos);
    if (!pos) return FR_ENOMEM;
    q->pos = pos;
    float *wt = realloc(q->weight, n * sizeof *wt);
    if (!wt) return FR_ENOMEM;
    q->weight = wt;
    char *c = strdup(t);
    if (!c) return FR_ENOMEM;
    q->terms[q->n] = c;
    q->pos[q->n] = q->n ? q->pos[q->n - 1] + 1 : 0;
    q->weight[q->n] = w;
    q->n = n;
    return 0;
}

int fr__synonyms_expand(const fr__synonyms *s, fr_terms *q, float weight, size_t *n_added) {
    size_t n_orig = q->n, added = 0;
    if (n_added) *n_added = 0;
    if (!s) return 0;
    for (size_t r = 0; r < s->n; r++) {
        const rule *ru = &s->rules[r];
        int hit = 0;
        for (size_t i = 0; !hit && i + ru->lhs.n <= n_orig; i++) {
            size_t j = 0;
            while (j < ru->lhs.n && !strcmp(q->terms[i + j], ru->lhs.terms[j])) j++;
            hit = j == ru->lhs.n;
        }
        if (!hit) continue;
        for (size_t j = 0; j < ru->rhs.n; j++) {
            if (has_term(q, ru->rhs.terms[j])) continue;
            if (push_term(q, ru->rhs.terms[j], weight) < 0) return FR_ENOMEM;
            added++;
        }
    }
    if (n_added) *n_added = added;
    return 0;
}
