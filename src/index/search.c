/* search.c — BM25 top-k over a snapshot: query preparation (merged duplicate terms, global
 * df and idf), filters, and two evaluators that return the same ranking:
 *
 *  - exhaustive: every posting of every query term is scored into a per-segment accumulator;
 *  - MaxScore with block-max bounds (Turtle & Flood 1995; Ding & Suel 2011 for the block
 *    maxima), document at a time: query terms sorted by their upper bound; the lowest ones
 *    whose bounds sum to at most the current k-th score are "non-essential" and only
 *    probed (through the skip table, shallowly first) for candidates found by the essential
 *    ones; a candidate is dropped as soon as its partial score plus the remaining bounds
 *    cannot beat the k-th score.
 *
 * Exactness: a term's contribution is w * tf / (tf + K[d]) with w = weight * idf * (k1 + 1)
 * and K[d] = k1 * (1 - b + b * dl / avgdl) (BM25, Robertson & Zaragoza 2009 eq. 3.15);
 * a block's bound is the same function at (max tf, min dl) of the block, hence >= every
 * contribution in it up to a few ulps of rounding (covered by the margin below).
 * A document's final score is always summed in query-term order, in both evaluators, so
 * they agree to the bit; bounds are compared with a 1e-9 relative margin to absorb the
 * summation-order differences of partial sums. Ties: lower doc number first (documents are
 * visited in increasing doc number, so a later equal score never displaces an earlier one).
 * Tuned for: 2–6 term queries, k = 10 … 1000, millions of documents.
 */
#include <math.h>
#include <string.h>

#include "index/index_impl.h"

fr_search_opts fr_search_opts_default(void) {
    fr_search_opts o = {0};
    o.k = 10;
    o.date_from = INT64_MIN;
    o.date_to = INT64_MAX;
    o.nprobe = -1;
    return o;
}

// ---- query terms ----

typedef struct qterm {
    const char *term;
    size_t len;
    double weight, idf, w;      // w = weight * idf * (k1 + 1)
    uint64_t df;
} qterm;

static double idf_of(uint64_t N, uint64_t df) {
    // Lucene's BM25 idf: log(1 + (N - n + 0.5) / (n + 0.5)), always > 0
    return log(1.0 + ((double)N - (double)df + 0.5) / ((double)df + 0.5));
}

uint64_t fr_index_df(fr_index *ix, const char *term, size_t len) {
    uint64_t df = 0;
    for (uint32_t i = 0; i < ix->n_segs; i++) {
        const fr__terminfo *ti;
        if (fr__seg_term(ix->segs[i].seg, term, len, &ti, NULL) == 0 && ti) df += ti->df;
    }
    return df;
}

double fr_index_idf(fr_index *ix, const char *term, size_t len) {
    return idf_of(ix->N, fr_index_df(ix, term, len));
}

static inline double contrib(double w, float K, uint32_t tf) {
    return w * (double)tf / ((double)tf + (double)K);
}

static inline float k_of(const fr_index *ix, uint32_t dl) {
    return (float)(ix->k1 * (1.0 - ix->b + ix->b * (double)dl / ix->avgdl));
}

static inline int cannot_beat(double bound, double thr) { return bound * (1.0 + 1e-9) <= thr; }

// ---- top-k heap (min-heap on "worse") ----

typedef struct heap {
    fr_hit *h;
    size_t n, k;
} heap;

static inline int better(double sa, uint32_t da, double sb, uint32_t db) {
    return sa > sb || (sa == sb && da < db);
}

static void sift_down(heap *hp, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < hp->n && better(hp->h[m].score, hp->h[m].doc, hp->h[l].score, hp->h[l].doc)) m = l;
        if (r < hp->n && better(hp->h[m].score, hp->h[m].doc, hp->h[r].score, hp->h[r].doc)) m = r;
        if (m == i) return;
        fr_hit t = hp->h[i]; hp->h[i] = hp->h[m]; hp->h[m] = t;
        i = m;
    }
}

// Offers a hit; returns 1 if the heap changed.
static int heap_offer(heap *hp, uint32_t doc, double s) {
    if (hp->n < hp->k) {
        size_t i = hp->n++;
        hp->h[i] = (fr_hit){doc, s};
        while (i > 0) {
            size_t p = (i - 1) / 2;
            if (!better(hp->h[p].score, hp->h[p].doc, hp->h[i].score, hp->h[i].doc)) break;
            fr_hit t = hp->h[i]; hp->h[i] = hp->h[p]; hp->h[p] = t;
            i = p;
        }
        return 1;
    }
    if (!better(s, doc, hp->h[0].score, hp->h[0].doc)) return 0;
    hp->h[0] = (fr_hit){doc, s};
    sift_down(hp, 0);
    return 1;
}

static double heap_threshold(const heap *hp) { return hp->n < hp->k ? -INFINITY : hp->h[0].score; }

static int cmp_hits(const void *a, const void *b) {
    const fr_hit *x = a, *y = b;
    if (better(x->score, x->doc, y->score, y->doc)) return -1;
    if (better(y->score, y->doc, x->score, x->doc)) return 1;
    return 0;
}

// ---- filters ----

typedef struct filt {
    int64_t from, to;
    int dated;
    uint32_t source, lang;      // STRS index in the current segment; UINT32_MAX: no filter
} filt;

// Resolves string filters for a segment. Returns 0 when no document of it can pass.
static int filt_prepare(const fr__seg *s, const fr_search_opts *o, filt *f) {
    f->from = o->date_from;
    f->to = o->date_to;
    f->dated = o->date_from != INT64_MIN || o->date_to != INT64_MAX;
    f->source = f->lang = UINT32_MAX;
    const char *want[2] = {o->source, o->lang};
    uint32_t *slot[2] = {&f->source, &f->lang};
    for (int k = 0; k < 2; k++) {
        if (!want[k]) continue;
        size_t wl = strlen(want[k]);
        uint32_t found = UINT32_MAX - 1;  // matches nothing
        for (uint32_t i = 1; i < s->n_strs; i++) {
            const char *p;
            size_t n;
            if (fr__seg_str(s, i, &p, &n, NULL) == 0 && n == wl && !memcmp(p, want[k], n)) {
                found = i;
                break;
            }
        }
        if (found == UINT32_MAX - 1) return 0;
        *slot[k] = found;
    }
    return 1;
}

static inline int filt_pass(const filt *f, const fr__docinfo *di) {
    if (f->dated && (!(di->flags & 1) || di->date < f->from || di->date > f->to)) return 0;
    if (f->source != UINT32_MAX && di->source != f->source) return 0;
    if (f->lang != UINT32_MAX && di->lang != f->lang) return 0;
    return 1;
}

// ---- evaluators ----

typedef struct scur {
    fr__cursor c;
    uint32_t qi;        // index into the query terms
    double w, ub;       // weight, bound over the whole list in this segment
} scur;

static double block_bound(const fr_index *ix, const scur *sc, const fr__skip *sk) {
    return contrib(sc->w, k_of(ix, sk->min_dl), sk->max_tf);
}

static int exhaustive_seg(fr_index *ix, fr__segref *r, const filt *f, scur *cs, uint32_t m,
                          heap *hp, fr_error *err) {
    uint32_t n = r->seg->n_docs;
    double *acc = calloc((size_t)n + 1, sizeof *acc);
    uint8_t *hit = calloc((size_t)n + 1, 1);
    int rc = 0;
    if (!acc || !hit) { rc = fr__err(err, FR_ENOMEM, "search: out of memory"); goto done; }
    // cs is in query-term order here
    for (uint32_t j = 0; j < m && rc == 0; j++) {
        fr__cursor *c = &cs[j].c;
        while (c->doc != UINT32_MAX) {
            acc[c->doc] += contrib(cs[j].w, r->K[c->doc], fr__cursor_tf(c));
            hit[c->doc] = 1;
            if ((rc = fr__cursor_next(c, err)) < 0) break;
        }
    }
    for (uint32_t d = 0; d < n && rc == 0; d++)
        if (hit[d] && !fr__is_deleted(r, d) && filt_pass(f, &r->seg->docs[d]))
            heap_offer(hp, r->base + d, acc[d]);
done:
    free(acc);
    free(hit);
    return rc;
}

static int cmp_ub(const void *a, const void *b) {
    const scur *x = a, *y = b;
    return x->ub < y->ub ? -1 : x->ub > y->ub ? 1 : (x->qi < y->qi ? -1 : x->qi > y->qi);
}

#define WIN 4096  // documents per window (MaxScore in windows, as Lucene's MaxScoreBulkScorer)

// Document-at-a-time MaxScore, evaluated window by window: inside a window of WIN docs the
// essential lists are scored term at a time into per-term arrays (no per-document cursor
// juggling), then each candidate of the window probes the non-essential lists, most
// promising first, and is dropped as soon as its bound falls to the k-th score.
static int maxscore_seg(fr_index *ix, fr__segref *r, const filt *f, scur *cs, uint32_t m,
                        uint32_t nq, heap *hp, fr_error *err) {
    int rc = 0;
    for (uint32_t j = 0; j < m; j++) {
        double ub = 0;
        for (uint32_t b = 0; b < cs[j].c.n_blocks; b++) {
            double x = block_bound(ix, &cs[j], &cs[j].c.skip[b]);
            if (x > ub) ub = x;
        }
        cs[j].ub = ub;
    }
    qsort(cs, m, sizeof *cs, cmp_ub);
    double *prefix = malloc((m + 1) * sizeof *prefix);     // sum of ub of cs[0 .. j)
    double *win = malloc((size_t)m * WIN * sizeof *win);   // (m, WIN) contributions
    uint64_t *bits = calloc((size_t)m * (WIN / 64), 8);    // (m, WIN / 64) term matched doc
    double *contribs = malloc(nq * sizeof *contribs);
    uint8_t *present = calloc(nq, 1);
    uint64_t cand[WIN / 64];
    if (!prefix || !win || !bits || !contribs || !present) {
        rc = fr__err(err, FR_ENOMEM, "search: out of memory");
        goto done;
    }
    prefix[0] = 0;
    for (uint32_t j = 0; j < m; j++) prefix[j + 1] = prefix[j] + cs[j].ub;
    double thr = heap_threshold(hp);
    uint32_t fe = 0;  // cs[0 .. fe) are non-essential
    while (fe < m && cannot_beat(prefix[fe + 1], thr)) fe++;
    const fr__docinfo *docs = r->seg->docs;
    uint32_t n_docs = r->seg->n_docs;
    while (fe < m) {
        uint32_t dmin = UINT32_MAX;
        for (uint32_t j = fe; j < m; j++)
            if (cs[j].c.doc < dmin) dmin = cs[j].c.doc;
        if (dmin == UINT32_MAX || dmin >= n_docs) break;
        uint32_t base = dmin - dmin % WIN;
        uint64_t end = (uint64_t)base + WIN;
        uint32_t few = fe;  // the essential set of this window
        memset(cand, 0, sizeof cand);
        for (uint32_t j = few; j < m; j++) {
            uint64_t *bj = bits + (size_t)j * (WIN / 64);
            double *wj = win + (size_t)j * WIN;
            memset(bj, 0, WIN / 8);
            fr__cursor *c = &cs[j].c;
            double w = cs[j].w;
            const float *Kd = r->K;
            while (c->doc < end) {
                // the rest of the decoded block in a tight loop, then the next block
                uint32_t i = c->i, n = c->n;
                const uint32_t *bd = c->docs, *bt = c->tfs;
                for (; i < n && bd[i] < end; i++) {
                    uint32_t off = bd[i] - base;
                    wj[off] = contrib(w, Kd[bd[i]], bt[i]);
                    bj[off >> 6] |= 1ull << (off & 63);
                }
                if (i < n) {
                    c->i = i;
                    c->doc = bd[i];
                    break;
                }
                c->i = n - 1;
                c->doc = bd[n - 1];
                if ((rc = fr__cursor_next(c, err)) < 0) goto done;
            }
            for (int k = 0; k < WIN / 64; k++) cand[k] |= bj[k];
        }
        for (int k = 0; k < WIN / 64; k++) {
            for (uint64_t word = cand[k]; word; word &= word - 1) {
                uint32_t off = (uint32_t)(k * 64 + __builtin_ctzll(word));
                uint32_t d = base + off;
                if (fr__is_deleted(r, d) || !filt_pass(f, &docs[d])) continue;
                double s = 0;
                for (uint32_t j = few; j < m; j++)
                    if ((bits[(size_t)j * (WIN / 64) + (off >> 6)] >> (off & 63)) & 1) {
                        double c = win[(size_t)j * WIN + off];
                        contribs[cs[j].qi] = c;
                        present[cs[j].qi] = 1;
                        s += c;
                    }
                int ok = 1;
                float K = r->K[d];
                for (uint32_t j = few; j-- > 0;) {
                    if (cannot_beat(s + prefix[j + 1], thr)) { ok = 0; break; }
                    const fr__skip *sk = fr__cursor_shallow(&cs[j].c, d);
                    if (!sk) continue;
                    // the block that may hold d bounds this term's contribution to d
                    if (cannot_beat(s + block_bound(ix, &cs[j], sk) + prefix[j], thr)) { ok = 0; break; }
                    if ((rc = fr__cursor_advance(&cs[j].c, d, err)) < 0) goto done;
                    if (cs[j].c.doc == d) {
                        double c = contrib(cs[j].w, K, fr__cursor_tf(&cs[j].c));
                        contribs[cs[j].qi] = c;
                        present[cs[j].qi] = 1;
                        s += c;
                    }
                }
                if (ok) {
                    double fs = 0;  // the final score, summed in query-term order
                    for (uint32_t q = 0; q < nq; q++)
                        if (present[q]) fs += contribs[q];
                    if ((hp->n < hp->k || fs > thr) && heap_offer(hp, d + r->base, fs)) {
                        thr = heap_threshold(hp);
                        while (fe < m && cannot_beat(prefix[fe + 1], thr)) fe++;
                    }
                }
                memset(present, 0, nq);
            }
        }
    }
done:
    free(prefix);
    free(win);
    free(bits);
    free(contribs);
    free(present);
    return rc;
}

// ---- entry points ----

static int search_q(fr_index *ix, qterm *q, uint32_t nq, const fr_search_opts *opts,
                    fr_hit *hits, size_t *n_hits, fr_error *err) {
    heap hp = {hits, 0, opts->k};
    int rc = 0;
    scur *cs = NULL;
    if (nq == 0 || opts->k == 0) goto out;
    cs = malloc(nq * sizeof *cs);
    if (!cs) return fr__err(err, FR_ENOMEM, "search: out of memory");
    for (uint32_t si = 0; si < ix->n_segs && rc == 0; si++) {
        fr__segref *r = &ix->segs[si];
        filt f;
        if (r->n_deleted == r->seg->n_docs || !filt_prepare(r->seg, opts, &f)) continue;
        uint32_t m = 0;
        for (uint32_t i = 0; i < nq; i++) {
            const fr__terminfo *ti;
            if ((rc = fr__seg_term(r->seg, q[i].term, q[i].len, &ti, err)) < 0) goto out;
            if (!ti) continue;
            cs[m].qi = i;
            cs[m].w = q[i].w;
            if ((rc = fr__cursor_init(&cs[m].c, r->seg, ti, err)) < 0) goto out;
            m++;
        }
        if (m == 0) continue;
        rc = opts->exhaustive ? exhaustive_seg(ix, r, &f, cs, m, &hp, err)
                              : maxscore_seg(ix, r, &f, cs, m, nq, &hp, err);
    }
out:
    free(cs);
    if (rc < 0) {
        *n_hits = 0;
        return rc;
    }
    qsort(hits, hp.n, sizeof *hits, cmp_hits);
    *n_hits = hp.n;
    return 0;
}

int fr_index_search_terms(fr_index *ix, const fr_terms *terms, const fr_search_opts *opts,
                          fr_hit *hits, size_t *n_hits, fr_error *err) {
    fr_search_opts def = fr_search_opts_default();
    if (!opts) opts = &def;
    *n_hits = 0;
    qterm *q = calloc(terms->n + 1, sizeof *q);
    if (!q) return fr__err(err, FR_ENOMEM, "search: out of memory");
    uint32_t nq = 0;
    for (size_t i = 0; i < terms->n; i++) {
        double wt = terms->weight ? terms->weight[i] : 1.0;
        if (!(wt > 0) || !isfinite(wt)) continue;  // MaxScore bounds need positive weights
        const char *t = terms->terms[i];
        size_t len = strlen(t);
        uint32_t j = 0;
        while (j < nq && !(q[j].len == len && !memcmp(q[j].term, t, len))) j++;
        if (j < nq) { q[j].weight += wt; continue; }  // a repeated term counts once per use
        q[nq++] = (qterm){t, len, wt, 0, 0, 0};
    }
    uint32_t keep = 0;
    for (uint32_t i = 0; i < nq; i++) {
        q[i].df = fr_index_df(ix, q[i].term, q[i].len);
        if (!q[i].df) continue;
        q[i].idf = idf_of(ix->N, q[i].df);
        q[i].w = q[i].weight * q[i].idf * (ix->k1 + 1.0);
        q[keep++] = q[i];
    }
    int rc = search_q(ix, q, keep, opts, hits, n_hits, err);
    free(q);
    return rc;
}

int fr_index_search(fr_index *ix, const char *query, ptrdiff_t len, const fr_search_opts *opts,
                    fr_hit *hits, size_t *n_hits, fr_error *err) {
    fr_terms t = {0};
    *n_hits = 0;
    int rc = fr_index_analyze(ix, query, len, &t, err);
    if (rc == 0) rc = fr_index_search_terms(ix, &t, opts, hits, n_hits, err);
    fr_terms_free(&t);
    return rc;
}

// ---- dense ----
// Exact top-k by dot product over the segments' embeddings (segvec.c). Each segment is
// searched for k + its deleted count rows, which always holds its k best live ones; with
// filters that may not be enough, so the segment is searched again 4x deeper until k pass
// or every row was seen. The per-segment lists (score descending, ties by lower doc) merge
// into the global top k with the same order, so results match one scan of all rows. A segment
// with an IVF (src/index/ivf.c) scans only so->nprobe of its lists unless nprobe is 0.

static int hit_before(const fr_hit *a, const fr_hit *b) {
    return a->score > b->score || (a->score == b->score && a->doc < b->doc);
}

int fr_index_search_dense(fr_index *ix, const float *q, const fr_search_opts *so, int threads,
                          fr_hit *hits, size_t *n_hits, fr_error *err) {
    fr_search_opts def = fr_search_opts_default();
    if (!so) so = &def;
    *n_hits = 0;
    size_t k = so->k;
    if (!ix->emb.model[0]) return fr__index_no_model(ix, err);
    if (!q || (k && !hits)) return fr__err(err, FR_EINVAL, "fr_index_search_dense: NULL argument");
    if (!k) return 0;
    fr_vec_hit *vh = NULL;
    fr_hit *seg = NULL, *merged = NULL;
    size_t vcap = 0, n = 0;
    int rc = 0;
    seg = malloc(k * sizeof *seg);
    merged = malloc(k * sizeof *merged);
    if (!seg || !merged) { rc = fr__err(err, FR_ENOMEM, "dense search: out of memory"); goto out; }
    for (uint32_t s = 0; s < ix->n_segs; s++) {
        fr__segref *r = &ix->segs[s];
        uint32_t nd = r->seg->n_docs;
        if (r->n_deleted >= nd) continue;
        if (!r->vecs) {
            rc = fr__err(err, FR_EINVAL, "%s: segment %s has no vectors (finerank embed --model %s "
                         "--index %s adds them)", ix->dir, r->name, ix->emb.model, ix->dir);
            goto out;
        }
        filt f;
        if (!filt_prepare(r->seg, so, &f)) continue;
        size_t want = k + r->n_deleted, got = 0;
        for (;;) {
            if (want > nd) want = nd;
            if (want > vcap) {
                fr_vec_hit *p = realloc(vh, want * sizeof *p);
                if (!p) { rc = fr__err(err, FR_ENOMEM, "dense search: out of memory"); goto out; }
                vh = p;
                vcap = want;
            }
            size_t nv = 0;
            if ((rc = fr__segvec_search(r, q, want, threads, so->nprobe, vh, &nv, err)) < 0) goto out;
            got = 0;
            for (size_t i = 0; i < nv && got < k; i++) {
                uint32_t d = vh[i].id;
                if (d >= nd || fr__is_deleted(r, d) || !filt_pass(&f, &r->seg->docs[d])) continue;
                seg[got++] = (fr_hit){r->base + d, vh[i].score};
            }
            if (got == k || want == nd || nv < want) break;  // nv < want: an IVF's lists ran out
            want = want > nd / 4 ? nd : want * 4;
        }
        // merge the two sorted lists (n so far, got from this segment) into the best k
        size_t a = 0, b = 0, m = 0;
        while (m < k && (a < n || b < got))
            merged[m++] = b == got || (a < n && hit_before(&hits[a], &seg[b])) ? hits[a++] : seg[b++];
        memcpy(hits, merged, m * sizeof *hits);
        n = m;
    }
out:
    free(vh);
    free(seg);
    free(merged);
    *n_hits = rc < 0 ? 0 : n;
    return rc;
}
