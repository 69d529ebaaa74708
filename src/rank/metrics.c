/* metrics.c — retrieval evaluation: relevance judgments (qrels), BEIR query sets, TREC run
 * files, and nDCG@10, MAP@1000, Recall@100/1000, MRR@10 computed exactly as trec_eval 10.0
 * computes ndcg_cut.10, map (-M1000), recall.100/.1000 and recip_rank (-M10) with -c.
 *
 * What "exactly" means, from trec_eval's source (usnistgov/trec_eval, form_res_rels.c and
 * m_ndcg_cut.c, m_map.c, m_recall.c, m_recip_rank.c, meas_avg.c):
 *  - a query's results are sorted by score descending, ties by docid descending (strcmp), and
 *    only then cut to the first 1000 (-M1000): the file's rank column is ignored;
 *  - a document is relevant when its grade >= 1 (relevance_level 1); nDCG's gain is the raw
 *    grade, discount log2(rank + 1), and the ideal DCG ranks every judged document of the
 *    query by grade (not only the retrieved ones); an ideal of 0 leaves DCG unnormalised (0);
 *  - AP divides by the number of relevant judged documents, retrieved or not;
 *  - -c: means are over every query of the qrels; queries of the run without judgments are
 *    ignored. A docid twice in one query's results is refused, as trec_eval refuses it.
 * The reference numbers in tests/data/metrics_trec_eval.txt come from the real trec_eval
 * (scripts/bench/trec_eval_goldens.py); the two agree to trec_eval's printed 4 decimals.
 *
 * Layout: strings (qids, docids) are interned in one growable pool per object and referred
 * to by offset while parsing (the pool moves as it grows), resolved to pointers once the
 * object is complete. Tuned for BEIR-sized sets: 10^2–10^4 queries × 1000 results, sorted
 * with qsort; nothing here is on a query's hot path.
 */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <string.h>

#include "base/base.h"
#include "rank/metrics.h"

// ---- line splitting ----
// Input files are untrusted: any bytes, no NUL terminator required, any line length.

typedef struct field {
    const char *p;
    size_t n;
} field;

#define MAX_FIELDS 8

// Splits [p, end) on spaces/tabs/\r\v\f into at most MAX_FIELDS fields; returns the number
// of fields seen (which may exceed MAX_FIELDS; only the first MAX_FIELDS are stored).
static size_t split_fields(const char *p, const char *end, field *f) {
    size_t n = 0;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\v' || *p == '\f'))
            p++;
        if (p >= end) break;
        const char *s = p;
        while (p < end && !(*p == ' ' || *p == '\t' || *p == '\r' || *p == '\v' || *p == '\f'))
            p++;
        if (n < MAX_FIELDS) f[n] = (field){s, (size_t)(p - s)};
        n++;
    }
    return n;
}

// Reads the next line of [*p, end) that has a field and is not a '#' comment, advancing *p
// past it and counting every line read (blank and comment ones too) in *line. OUT: f, as
// split_fields fills it. Returns the number of fields (≥ 1), or 0 at the end of the data.
static size_t next_record(const char **p, const char *end, uint32_t *line, field *f) {
    while (*p < end) {
        const char *nl = memchr(*p, '\n', (size_t)(end - *p));
        const char *le = nl ? nl : end;
        (*line)++;
        size_t nf = split_fields(*p, le, f);
        *p = nl ? nl + 1 : end;
        if (nf != 0 && f[0].p[0] != '#') return nf;
    }
    return 0;
}

// A signed decimal integer of at most 9 digits (grades are small; trec_eval uses atol).
static int parse_int(field f, int32_t *out) {
    size_t i = 0;
    int neg = 0;
    if (i < f.n && (f.p[i] == '-' || f.p[i] == '+')) neg = f.p[i++] == '-';
    if (i == f.n || f.n - i > 9) return -1;
    int32_t v = 0;
    for (; i < f.n; i++) {
        if (f.p[i] < '0' || f.p[i] > '9') return -1;
        v = v * 10 + (f.p[i] - '0');
    }
    *out = neg ? -v : v;
    return 0;
}

static int parse_score(field f, double *out) {
    char tmp[64];
    if (f.n == 0 || f.n >= sizeof tmp) return -1;
    memcpy(tmp, f.p, f.n);
    tmp[f.n] = 0;
    char *e;
    errno = 0;
    double v = strtod(tmp, &e);
    if (*e || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

static int has_nul(field f) { return memchr(f.p, 0, f.n) != NULL; }

// Interns a field as a NUL-terminated string; OUT: *off, its offset in the pool.
static int intern(fr__buf *pool, const char *p, size_t n, size_t *off) {
    *off = pool->len;
    if (fr__buf_append(pool, p, n) < 0 || fr__buf_putc(pool, 0) < 0) return FR_ENOMEM;
    return 0;
}

// Grows *arr (of element size sz) to hold at least need elements.
static int grow(void **arr, size_t *cap, size_t need, size_t sz) {
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap * 2 : 256, bytes;
    while (c < need) c *= 2;
    if (fr__mul_overflow(c, sz, &bytes)) return FR_ENOMEM;
    void *p = realloc(*arr, bytes);
    if (!p) return FR_ENOMEM;
    *arr = p;
    *cap = c;
    return 0;
}

// ---- qrels ----

typedef struct judg {
    size_t qoff, doff;       // pool offsets while parsing
    const char *qid, *doc;   // resolved after parsing
    int32_t grade;
    uint32_t line;
} judg;

typedef struct qrange {
    const char *qid;
    size_t begin, end;       // judgments [begin, end) of j, sorted by docid
} qrange;

struct fr_qrels {
    fr__buf pool;
    judg *j;                 // (n) sorted by (qid, docid)
    size_t n, cap;
    qrange *q;               // (nq) sorted by qid
    size_t nq;
};

static int cmp_judg(const void *a, const void *b) {
    const judg *x = a, *y = b;
    int c = strcmp(x->qid, y->qid);
    return c ? c : strcmp(x->doc, y->doc);
}

void fr_qrels_free(fr_qrels *qr) {
    if (!qr) return;
    fr__buf_free(&qr->pool);
    free(qr->j);
    free(qr->q);
    free(qr);
}

size_t fr_qrels_n_queries(const fr_qrels *qr) { return qr ? qr->nq : 0; }

int fr_qrels_parse(const char *data, size_t len, const char *name, fr_qrels **out,
                   fr_error *err) {
    *out = NULL;
    if (!name) name = "qrels";
    fr_qrels *qr = calloc(1, sizeof *qr);
    if (!qr) return fr__err(err, FR_ENOMEM, "%s: out of memory", name);
    int rc = 0;
    const char *p = data, *end = data + len;
    uint32_t line = 0;
    int seen_content = 0;
    field f[MAX_FIELDS];
    size_t nf;
    while ((nf = next_record(&p, end, &line, f)) != 0) {
        int first = !seen_content;
        seen_content = 1;
        if (nf != 3 && nf != 4) {
            if (first && nf >= 2) continue;  // a header such as "query-id corpus-id"
            rc = fr__err(err, FR_EFORMAT,
                         "%s:%u: expected 'query-id corpus-id score' (3 fields) or "
                         "'qid iter docid rel' (4 fields), got %zu fields", name, line, nf);
            goto fail;
        }
        int32_t grade;
        if (parse_int(f[nf - 1], &grade) < 0) {
            if (first) continue;  // BEIR header "query-id corpus-id score"
            rc = fr__err(err, FR_EFORMAT, "%s:%u: relevance '%.*s' is not an integer", name,
                         line, (int)(f[nf - 1].n > 40 ? 40 : f[nf - 1].n), f[nf - 1].p);
            goto fail;
        }
        field fq = f[0], fd = f[nf - 2];
        if (has_nul(fq) || has_nul(fd)) {
            rc = fr__err(err, FR_EFORMAT, "%s:%u: NUL byte in an id", name, line);
            goto fail;
        }
        if (grow((void **)&qr->j, &qr->cap, qr->n + 1, sizeof *qr->j) < 0) goto nomem;
        judg *j = &qr->j[qr->n];
        if (intern(&qr->pool, fq.p, fq.n, &j->qoff) < 0 ||
            intern(&qr->pool, fd.p, fd.n, &j->doff) < 0)
            goto nomem;
        j->grade = grade;
        j->line = line;
        qr->n++;
    }
    for (size_t i = 0; i < qr->n; i++) {
        qr->j[i].qid = qr->pool.data + qr->j[i].qoff;
        qr->j[i].doc = qr->pool.data + qr->j[i].doff;
    }
    if (qr->n) qsort(qr->j, qr->n, sizeof *qr->j, cmp_judg);
    size_t nq = 0;
    for (size_t i = 0; i < qr->n; i++) {
        if (i > 0 && !strcmp(qr->j[i].qid, qr->j[i - 1].qid)) {
            if (!strcmp(qr->j[i].doc, qr->j[i - 1].doc)) {
                uint32_t a = qr->j[i - 1].line, b = qr->j[i].line;
                rc = fr__err(err, FR_EFORMAT, "%s:%u: query '%.64s' judges document '%.64s' "
                             "again (first on line %u)", name, a > b ? a : b, qr->j[i].qid,
                             qr->j[i].doc, a < b ? a : b);
                goto fail;
            }
        } else {
            nq++;
        }
    }
    if (nq) {
        qr->q = calloc(nq, sizeof *qr->q);
        if (!qr->q) goto nomem;
    }
    for (size_t i = 0; i < qr->n; i++) {
        if (i == 0 || strcmp(qr->j[i].qid, qr->j[i - 1].qid)) {
            if (qr->nq) qr->q[qr->nq - 1].end = i;
            qr->q[qr->nq++] = (qrange){qr->j[i].qid, i, qr->n};
        }
    }
    *out = qr;
    return 0;
nomem:
    rc = fr__err(err, FR_ENOMEM, "%s: out of memory", name);
fail:
    fr_qrels_free(qr);
    return rc;
}

int fr_qrels_read(const char *path, fr_qrels **out, fr_error *err) {
    char *data;
    size_t len;
    *out = NULL;
    int rc = fr__read_file(path, &data, &len, err);
    if (rc < 0) return rc;
    rc = fr_qrels_parse(data, len, path, out, err);
    free(data);
    return rc;
}

static const qrange *find_query(const fr_qrels *qr, const char *qid) {
    size_t lo = 0, hi = qr->nq;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(qr->q[mid].qid, qid);
        if (c == 0) return &qr->q[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

static const judg *find_judg(const fr_qrels *qr, const qrange *q, const char *doc) {
    size_t lo = q->begin, hi = q->end;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(qr->j[mid].doc, doc);
        if (c == 0) return &qr->j[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

int32_t fr_qrels_grade(const fr_qrels *qr, const char *qid, const char *docid) {
    const qrange *q = qr ? find_query(qr, qid) : NULL;
    const judg *j = q ? find_judg(qr, q, docid) : NULL;
    return j ? j->grade : INT32_MIN;
}

// ---- queries ----

void fr_queries_free(fr_queries *qs) {
    if (!qs) return;
    for (size_t i = 0; i < qs->n; i++) {
        free(qs->q[i].id);
        free(qs->q[i].text);
    }
    free(qs->q);
    qs->q = NULL;
    qs->n = 0;
}

typedef struct qref {
    const char *id;
    uint32_t line;
} qref;

static int cmp_qref(const void *a, const void *b) {
    return strcmp(((const qref *)a)->id, ((const qref *)b)->id);
}

int fr_queries_parse(const char *data, size_t len, const char *name, fr_queries *out,
                     fr_error *err) {
    if (!name) name = "queries";
    fr_queries qs = {0};
    size_t cap = 0;
    uint32_t *lines = NULL;
    size_t lcap = 0;
    qref *refs = NULL;
    int rc = 0;
    const char *p = data, *end = data + len;
    uint32_t line = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *s = p;
        p = nl ? nl + 1 : end;
        line++;
        while (s < le && isspace((unsigned char)*s)) s++;
        if (s == le) continue;
        json_error_t je;
        json_t *o = json_loadb(s, (size_t)(le - s), JSON_REJECT_DUPLICATES, &je);
        if (!o) {
            rc = fr__err(err, FR_EFORMAT, "%s:%u: invalid JSON at column %d: %s", name, line,
                         je.column, je.text);
            goto fail;
        }
        json_t *id = json_object_get(o, "_id");
        if (!id) id = json_object_get(o, "id");
        json_t *text = json_object_get(o, "text");
        char idbuf[32];
        const char *ids = NULL;
        size_t idn = 0;
        if (json_is_string(id)) {
            ids = json_string_value(id);
            idn = json_string_length(id);
        } else if (json_is_integer(id)) {
            snprintf(idbuf, sizeof idbuf, "%lld", (long long)json_integer_value(id));
            ids = idbuf;
            idn = strlen(idbuf);
        }
        const char *why = !json_is_object(o) ? "a line must be a JSON object"
                          : !ids ? "\"_id\" (or \"id\") must be a string or an integer"
                          : !json_is_string(text) ? "\"text\" must be a string"
                          : idn == 0 ? "empty query id"
                          : memchr(ids, 0, idn) || memchr(json_string_value(text), 0,
                                                           json_string_length(text))
                              ? "NUL character in a string"
                              : NULL;
        if (why) {
            json_decref(o);
            rc = fr__err(err, FR_EFORMAT, "%s:%u: %s", name, line, why);
            goto fail;
        }
        if (grow((void **)&qs.q, &cap, qs.n + 1, sizeof *qs.q) < 0 ||
            grow((void **)&lines, &lcap, qs.n + 1, sizeof *lines) < 0) {
            json_decref(o);
            goto nomem;
        }
        qs.q[qs.n].id = strndup(ids, idn);
        qs.q[qs.n].text = strndup(json_string_value(text), json_string_length(text));
        lines[qs.n] = line;
        qs.n++;
        json_decref(o);
        if (!qs.q[qs.n - 1].id || !qs.q[qs.n - 1].text) goto nomem;
    }
    if (qs.n) {
        refs = malloc(qs.n * sizeof *refs);
        if (!refs) goto nomem;
        for (size_t i = 0; i < qs.n; i++) refs[i] = (qref){qs.q[i].id, lines[i]};
        qsort(refs, qs.n, sizeof *refs, cmp_qref);
        for (size_t i = 1; i < qs.n; i++)
            if (!strcmp(refs[i].id, refs[i - 1].id)) {
                uint32_t a = refs[i - 1].line, b = refs[i].line;
                rc = fr__err(err, FR_EFORMAT, "%s:%u: query id '%.64s' repeats line %u", name,
                             a > b ? a : b, refs[i].id, a < b ? a : b);
                goto fail;
            }
    }
    free(refs);
    free(lines);
    *out = qs;
    return 0;
nomem:
    rc = fr__err(err, FR_ENOMEM, "%s: out of memory", name);
fail:
    free(refs);
    free(lines);
    fr_queries_free(&qs);
    return rc;
}

int fr_queries_read(const char *path, fr_queries *out, fr_error *err) {
    char *data;
    size_t len;
    *out = (fr_queries){0};
    int rc = fr__read_file(path, &data, &len, err);
    if (rc < 0) return rc;
    rc = fr_queries_parse(data, len, path, out, err);
    free(data);
    return rc;
}

// ---- runs ----

typedef struct rentry {
    size_t qoff, doff;
    const char *qid, *doc;   // resolved by resolve_run()
    double score;
    size_t seq;              // insertion order
    size_t qfirst;           // seq of the first entry of this qid (for writing)
} rentry;

struct fr_run {
    fr__buf pool;
    rentry *e;               // (n) in insertion order
    size_t n, cap;
};

int fr_run_new(fr_run **out) {
    *out = calloc(1, sizeof **out);
    return *out ? 0 : FR_ENOMEM;
}

void fr_run_free(fr_run *run) {
    if (!run) return;
    fr__buf_free(&run->pool);
    free(run->e);
    free(run);
}

size_t fr_run_size(const fr_run *run) { return run ? run->n : 0; }

static int run_add(fr_run *run, const char *q, size_t qn, const char *d, size_t dn,
                   double score) {
    if (grow((void **)&run->e, &run->cap, run->n + 1, sizeof *run->e) < 0) return FR_ENOMEM;
    rentry *e = &run->e[run->n];
    // Consecutive results of one query share the interned qid.
    const rentry *prev = run->n ? &run->e[run->n - 1] : NULL;
    if (prev && strlen(run->pool.data + prev->qoff) == qn &&
        !memcmp(run->pool.data + prev->qoff, q, qn)) {
        e->qoff = prev->qoff;
    } else if (intern(&run->pool, q, qn, &e->qoff) < 0) {
        return FR_ENOMEM;
    }
    if (intern(&run->pool, d, dn, &e->doff) < 0) return FR_ENOMEM;
    e->score = score;
    e->seq = run->n;
    run->n++;
    return 0;
}

int fr_run_add(fr_run *run, const char *qid, const char *docid, double score) {
    if (!run || !qid || !docid || !*qid || !*docid || !isfinite(score)) return FR_EINVAL;
    return run_add(run, qid, strlen(qid), docid, strlen(docid), score);
}

int fr_run_parse(const char *data, size_t len, const char *name, fr_run **out,
                 fr_error *err) {
    *out = NULL;
    if (!name) name = "run";
    fr_run *run;
    if (fr_run_new(&run) < 0) return fr__err(err, FR_ENOMEM, "%s: out of memory", name);
    const char *p = data, *end = data + len;
    uint32_t line = 0;
    int rc = 0;
    field f[MAX_FIELDS];
    size_t nf;
    while ((nf = next_record(&p, end, &line, f)) != 0) {
        if (nf != 6) {
            rc = fr__err(err, FR_EFORMAT, "%s:%u: expected 'qid Q0 docid rank score tag' "
                         "(6 fields), got %zu", name, line, nf);
            goto fail;
        }
        double score;
        if (parse_score(f[4], &score) < 0) {
            rc = fr__err(err, FR_EFORMAT, "%s:%u: score '%.*s' is not a finite number", name,
                         line, (int)(f[4].n > 40 ? 40 : f[4].n), f[4].p);
            goto fail;
        }
        if (has_nul(f[0]) || has_nul(f[2])) {
            rc = fr__err(err, FR_EFORMAT, "%s:%u: NUL byte in an id", name, line);
            goto fail;
        }
        if (run_add(run, f[0].p, f[0].n, f[2].p, f[2].n, score) < 0) {
            rc = fr__err(err, FR_ENOMEM, "%s: out of memory", name);
            goto fail;
        }
    }
    *out = run;
    return 0;
fail:
    fr_run_free(run);
    return rc;
}

int fr_run_read(const char *path, fr_run **out, fr_error *err) {
    char *data;
    size_t len;
    *out = NULL;
    int rc = fr__read_file(path, &data, &len, err);
    if (rc < 0) return rc;
    rc = fr_run_parse(data, len, path, out, err);
    free(data);
    return rc;
}

static void resolve_run(fr_run *run) {
    for (size_t i = 0; i < run->n; i++) {
        run->e[i].qid = run->pool.data + run->e[i].qoff;
        run->e[i].doc = run->pool.data + run->e[i].doff;
    }
}

// trec_eval's order within a query (form_res_rels.c comp_sim_docno): score descending, then
// docid descending.
static int cmp_rank(const rentry *x, const rentry *y) {
    if (x->score > y->score) return -1;
    if (x->score < y->score) return 1;
    return strcmp(y->doc, x->doc);
}

static int cmp_qid_rank(const void *a, const void *b) {
    const rentry *x = *(const rentry *const *)a, *y = *(const rentry *const *)b;
    int c = strcmp(x->qid, y->qid);
    return c ? c : cmp_rank(x, y);
}

static int cmp_write_order(const void *a, const void *b) {
    const rentry *x = *(const rentry *const *)a, *y = *(const rentry *const *)b;
    if (x->qfirst != y->qfirst) return x->qfirst < y->qfirst ? -1 : 1;
    return cmp_rank(x, y);
}

// Sorts pointers to the run's entries by (qid, trec_eval rank). OUT: *out (caller frees).
static int sorted_entries(fr_run *run, rentry ***out) {
    resolve_run(run);
    *out = NULL;
    if (!run->n) return 0;
    rentry **v = malloc(run->n * sizeof *v);
    if (!v) return FR_ENOMEM;
    for (size_t i = 0; i < run->n; i++) v[i] = &run->e[i];
    qsort(v, run->n, sizeof *v, cmp_qid_rank);
    *out = v;
    return 0;
}

// Shortest of %.15g / %.17g that reads back as the same double.
static void fmt_score(char *b, size_t n, double s) {
    snprintf(b, n, "%.15g", s);
    if (strtod(b, NULL) != s) snprintf(b, n, "%.17g", s);
}

int fr_run_write(const fr_run *crun, const char *path, const char *tag, fr_error *err) {
    fr_run *run = (fr_run *)crun;  // only the resolved pointers and qfirst are written
    if (!tag) tag = "finerank";
    rentry **v = NULL;
    FILE *f = NULL;
    int rc = sorted_entries(run, &v);
    if (rc < 0) return fr__err(err, rc, "%s: out of memory", path);
    // The group of each qid goes where the qid first appeared.
    for (size_t i = 0; i < run->n;) {
        size_t j = i, first = v[i]->seq;
        while (j < run->n && !strcmp(v[j]->qid, v[i]->qid)) {
            if (v[j]->seq < first) first = v[j]->seq;
            j++;
        }
        for (size_t k = i; k < j; k++) v[k]->qfirst = first;
        i = j;
    }
    if (run->n) qsort(v, run->n, sizeof *v, cmp_write_order);
    f = fopen(path, "w");
    if (!f) {
        rc = fr__err(err, FR_EIO, "%s: %s", path, strerror(errno));
        goto done;
    }
    size_t rank = 0;
    for (size_t i = 0; i < run->n; i++) {
        rank = (i > 0 && v[i]->qid == v[i - 1]->qid) ? rank + 1 : 1;
        char sc[40];
        fmt_score(sc, sizeof sc, v[i]->score);
        if (fprintf(f, "%s Q0 %s %zu %s %s\n", v[i]->qid, v[i]->doc, rank, sc, tag) < 0) {
            rc = fr__err(err, FR_EIO, "%s: write: %s", path, strerror(errno));
            goto done;
        }
    }
    if (fflush(f) != 0 || ferror(f))
        rc = fr__err(err, FR_EIO, "%s: write: %s", path, strerror(errno));
done:
    if (f && fclose(f) != 0 && rc == 0)
        rc = fr__err(err, FR_EIO, "%s: close: %s", path, strerror(errno));
    free(v);
    return rc;
}

// ---- metrics ----

static int cmp_grade_desc(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x < y) - (x > y);
}

void fr__metrics_query(const int32_t *rel, size_t n_ret, const int32_t *grades,
                       size_t n_judged, int32_t *scratch, fr_metrics *m) {
    *m = (fr_metrics){0};
    size_t num_rel = 0;
    for (size_t i = 0; i < n_judged; i++) num_rel += grades[i] >= 1;

    // nDCG@10 (m_ndcg_cut.c): DCG over the first 10, ideal over all judged grades.
    double dcg = 0;
    for (size_t i = 0; i < n_ret && i < 10; i++)
        if (rel[i] > 0) dcg += (double)rel[i] / log2((double)(i + 2));
    memcpy(scratch, grades, n_judged * sizeof *grades);
    if (n_judged) qsort(scratch, n_judged, sizeof *scratch, cmp_grade_desc);
    double idcg = 0;
    for (size_t i = 0; i < n_judged && i < 10 && scratch[i] > 0; i++)
        idcg += (double)scratch[i] / log2((double)(i + 2));
    m->ndcg10 = idcg > 0 ? dcg / idcg : dcg;

    // AP over the first 1000 (m_map.c with -M1000).
    size_t seen = 0;
    double sum = 0;
    for (size_t i = 0; i < n_ret && i < 1000; i++) {
        if (rel[i] >= 1) {
            seen++;
            sum += (double)seen / (double)(i + 1);
            if (i < 100) m->recall100 += 1;
        }
    }
    if (seen) m->map1000 = sum / (double)num_rel;
    if (num_rel) {  // m_recall.c: 0 when nothing is relevant
        m->recall100 /= (double)num_rel;
        m->recall1000 = (double)seen / (double)num_rel;
    } else {
        m->recall100 = 0;
    }
    // Reciprocal rank of the first relevant document within the first 10.
    for (size_t i = 0; i < n_ret && i < 10; i++)
        if (rel[i] >= 1) {
            m->mrr10 = 1.0 / (double)(i + 1);
            break;
        }
}

void fr_eval_free(fr_eval *ev) {
    if (!ev) return;
    free(ev->per_query);
    *ev = (fr_eval){0};
}

static int cmp_doc_ptr(const void *a, const void *b) {
    return strcmp((*(const rentry *const *)a)->doc, (*(const rentry *const *)b)->doc);
}

int fr_eval_run(const fr_qrels *qr, const fr_run *crun, fr_eval *out, fr_error *err) {
    fr_run *run = (fr_run *)crun;  // resolve_run() only refreshes cached pointers
    *out = (fr_eval){0};
    rentry **v = NULL, **byd = NULL;
    int32_t *rel = NULL, *grades = NULL, *scratch = NULL;
    size_t max_judged = 0;
    int rc = sorted_entries(run, &v);
    if (rc < 0) goto nomem;
    for (size_t i = 0; i < qr->nq; i++)
        if (qr->q[i].end - qr->q[i].begin > max_judged) max_judged = qr->q[i].end - qr->q[i].begin;
    out->n_queries = qr->nq;
    out->per_query = calloc(qr->nq ? qr->nq : 1, sizeof *out->per_query);
    rel = malloc((run->n ? run->n : 1) * sizeof *rel);
    byd = malloc((run->n ? run->n : 1) * sizeof *byd);
    grades = malloc((max_judged ? max_judged : 1) * sizeof *grades);
    scratch = malloc((max_judged ? max_judged : 1) * sizeof *scratch);
    if (!out->per_query || !rel || !byd || !grades || !scratch) goto nomem;
    for (size_t i = 0; i < qr->nq; i++) out->per_query[i].qid = qr->q[i].qid;

    // Walk the run's query groups (sorted by qid) against the qrels' queries.
    for (size_t i = 0; i < run->n;) {
        size_t j = i;
        while (j < run->n && !strcmp(v[j]->qid, v[i]->qid)) j++;
        const qrange *q = find_query(qr, v[i]->qid);
        if (!q) {
            out->n_ignored++;
            i = j;
            continue;
        }
        size_t n_ret = j - i;
        memcpy(byd, v + i, n_ret * sizeof *byd);
        qsort(byd, n_ret, sizeof *byd, cmp_doc_ptr);
        for (size_t k = 1; k < n_ret; k++)
            if (!strcmp(byd[k]->doc, byd[k - 1]->doc)) {
                rc = fr__err(err, FR_EFORMAT, "run: query '%.64s' lists document '%.64s' "
                             "twice", v[i]->qid, byd[k]->doc);
                goto fail;
            }
        for (size_t k = 0; k < n_ret; k++) {
            const judg *jg = find_judg(qr, q, v[i + k]->doc);
            rel[k] = jg ? jg->grade : -1;   // -1: not in the pool (RELVALUE_NONPOOL)
        }
        size_t nj = q->end - q->begin;
        for (size_t k = 0; k < nj; k++) grades[k] = qr->j[q->begin + k].grade;
        fr_eval_query *eq = &out->per_query[q - qr->q];
        fr__metrics_query(rel, n_ret, grades, nj, scratch, &eq->m);
        eq->n_ret = n_ret;
        out->n_run_queries++;
        i = j;
    }
    // Relevant counts for every judged query (also those the run missed), then the -c means
    // in qid order, as trec_eval accumulates them.
    for (size_t i = 0; i < qr->nq; i++) {
        fr_eval_query *eq = &out->per_query[i];
        for (size_t k = qr->q[i].begin; k < qr->q[i].end; k++) eq->n_rel += qr->j[k].grade >= 1;
        out->mean.ndcg10 += eq->m.ndcg10;
        out->mean.map1000 += eq->m.map1000;
        out->mean.recall100 += eq->m.recall100;
        out->mean.recall1000 += eq->m.recall1000;
        out->mean.mrr10 += eq->m.mrr10;
    }
    if (qr->nq) {
        double n = (double)qr->nq;
        out->mean.ndcg10 /= n;
        out->mean.map1000 /= n;
        out->mean.recall100 /= n;
        out->mean.recall1000 /= n;
        out->mean.mrr10 /= n;
    }
    rc = 0;
    goto done;
nomem:
    rc = fr__err(err, FR_ENOMEM, "eval: out of memory");
fail:
    fr_eval_free(out);
done:
    free(v);
    free(byd);
    free(rel);
    free(grades);
    free(scratch);
    return rc;
}
