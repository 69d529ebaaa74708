/* merge.c — merges segments into one (fr_index_optimize): live documents are renumbered in
 * segment order, their stored records and columns copied, and every term's postings merged
 * from the source segments' cursors and re-blocked with fresh block-max skip data. No text
 * is analyzed again, so a merge costs about one sequential read and write of the index.
 * Memory: the doc maps (4 B per source doc), the new columns (~60 B per live doc), one
 * term's postings at a time and the term strings. Every source read goes through the
 * validating reader, so a corrupt source aborts the merge with its error.
 *
 * Two halves, run on two threads when the caller allows: the documents half writes STORE,
 * STOREIX, DOCS, STRS and IDS (copying the records, mostly memcpy + CRC + write), the terms
 * half writes POSTINGS, TERMS and TERMSTR (decoding and re-encoding blocks). Both halves'
 * sizes up to POSTINGS are known before anything is written (record lengths come from the
 * sources' STOREIX, the string table is built first), so the terms half writes from its
 * final offset with its own CRC, and the file's CRC is the two CRCs combined
 * (crc32_combine). The bytes are those of writing the halves one after the other, which is
 * what a single thread does.
 */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "index/segment.h"

static int cmp_ids(const void *a, const void *b) {
    const fr__ident *x = a, *y = b;
    if (x->hash != y->hash) return x->hash < y->hash ? -1 : 1;
    return x->doc < y->doc ? -1 : x->doc > y->doc;
}

static int term_cmp(const char *a, size_t an, const char *b, size_t bn) {
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : (an < bn ? -1 : an > bn);
}

static uint64_t pad8(uint64_t off) { return (off + 7) & ~(uint64_t)7; }

// What both halves read (built before they start) and what each writes.
typedef struct mctx {
    const fr__seg *const *segs;
    uint32_t n_segs, N;         // sources, live documents
    uint32_t **maps;            // (n_segs) source doc → merged doc (UINT32_MAX: deleted)
    uint32_t *base;             // (n_segs) merged number of a source's doc 0 when it has no
                                // deletions (its map is then base + doc), else UINT32_MAX
    fr__docinfo *dinfo;         // (N) merged columns (source / lang already remapped)
    uint32_t *dl;               // (N) dinfo[].dl, for fr__postings_write
    const fr__strtab *strs;
    fr__section *sec;           // each half fills its own sections
    fr__wfile *f;               // the documents half's writer (owns the file)
    fr__wfile tf;               // the terms half's writer (shares f's fd, starts at post_off)
    uint64_t post_off;          // where POSTINGS starts
    uint32_t n_terms;           // OUT of the terms half
    int rc_docs, rc_terms;
    fr_error err_docs, err_terms;
} mctx;

#define SECTION(f, id, ptr, bytes)                                                  \
    do {                                                                            \
        if ((rc = fr__wfile_pad8((f), err)) < 0) goto fail;                         \
        m->sec[id].off = (f)->off;                                                  \
        m->sec[id].len = (bytes);                                                   \
        if ((bytes) != 0 && (rc = fr__wfile_write((f), (ptr), (bytes), err)) < 0) goto fail; \
    } while (0)

// ---- documents half: STORE, STOREIX, DOCS, STRS, IDS ----

static int write_docs(mctx *m, fr_error *err) {
    int rc = 0;
    fr__wfile *f = m->f;
    uint32_t N = m->N;
    uint64_t *store_ix = malloc(((size_t)N + 1) * sizeof *store_ix);
    fr__ident *ids = malloc(((size_t)N + 1) * sizeof *ids);
    if (!store_ix || !ids) { rc = fr__err(err, FR_ENOMEM, "merge: out of memory"); goto fail; }
    m->sec[SEC_STORE].off = FR__SEG_HEADER;
    for (uint32_t s = 0; s < m->n_segs; s++) {
        const fr__seg *g = m->segs[s];
        for (uint32_t d = 0; d < g->n_docs; d++) {
            uint32_t nd = m->maps[s][d];
            if (nd == UINT32_MAX) continue;
            fr_doc doc;  // validates the record
            if ((rc = fr__seg_doc(g, d, &doc, err)) < 0) goto fail;
            uint64_t a = g->store_ix[d], b = g->store_ix[d + 1];
            store_ix[nd] = f->off - FR__SEG_HEADER;
            if ((rc = fr__wfile_write(f, g->store + a, b - a, err)) < 0) goto fail;
            ids[nd] = (fr__ident){fr__id_hash(doc.id, doc.id_len), nd, 0};
        }
    }
    m->sec[SEC_STORE].len = f->off - FR__SEG_HEADER;
    store_ix[N] = m->sec[SEC_STORE].len;
    SECTION(f, SEC_STOREIX, store_ix, ((size_t)N + 1) * 8);
    SECTION(f, SEC_DOCS, m->dinfo, (size_t)N * sizeof *m->dinfo);
    if ((rc = fr__wfile_pad8(f, err)) < 0) goto fail;
    m->sec[SEC_STRS].off = f->off;
    if ((rc = fr__strtab_write(f, m->strs, err)) < 0) goto fail;
    m->sec[SEC_STRS].len = f->off - m->sec[SEC_STRS].off;
    qsort(ids, N, sizeof *ids, cmp_ids);
    SECTION(f, SEC_IDS, ids, (size_t)N * sizeof *ids);
    if ((rc = fr__wfile_pad8(f, err)) < 0) goto fail;
    FR_ASSERT(f->off == m->post_off);  // the precomputed layout (merge_layout) holds
    rc = fr__wfile_flush(f, err);
fail:
    free(store_ix);
    free(ids);
    return rc;
}

// ---- terms half: POSTINGS, TERMS, TERMSTR ----

static int write_terms(mctx *m, fr_error *err) {
    int rc = 0;
    fr__wfile *f = &m->tf;
    const fr__seg *const *segs = m->segs;
    uint32_t n_segs = m->n_segs, N = m->N;
    uint32_t *tpos = calloc(n_segs + 1, sizeof *tpos);     // next term per segment
    uint32_t *docs = malloc(((size_t)N + 1) * sizeof *docs);
    uint32_t *tfs = malloc(((size_t)N + 1) * sizeof *tfs);
    fr__terminfo *tinfo = NULL;
    size_t tinfo_cap = 0;
    fr__skip *skips = NULL;
    fr__buf body = {0}, termstr = {0};
    if (!tpos || !docs || !tfs) { rc = fr__err(err, FR_ENOMEM, "merge: out of memory"); goto fail; }
    // POSTINGS: k-way merge of the sorted dictionaries
    m->sec[SEC_POSTINGS].off = f->off;
    uint32_t nt = 0;
    for (;;) {
        const char *best = NULL;
        size_t best_n = 0;
        for (uint32_t s = 0; s < n_segs; s++) {
            if (tpos[s] >= segs[s]->n_terms) continue;
            const fr__terminfo *t = &segs[s]->terms[tpos[s]];
            if ((uint64_t)t->str_off + t->str_len > segs[s]->termstr_len) {
                rc = fr__err(err, FR_ECORRUPT, "%s: term string out of bounds", segs[s]->name);
                goto fail;
            }
            const char *p = segs[s]->termstr + t->str_off;
            if (!best || term_cmp(p, t->str_len, best, best_n) < 0) { best = p; best_n = t->str_len; }
        }
        if (!best) break;
        // sources are sorted, so merged terms strictly increase; a source out of order shows here
        if (nt && term_cmp(best, best_n, termstr.data + tinfo[nt - 1].str_off, tinfo[nt - 1].str_len) <= 0) {
            rc = fr__err(err, FR_ECORRUPT, "merge: a source dictionary is out of order");
            goto fail;
        }
        uint32_t n = 0;
        for (uint32_t s = 0; s < n_segs; s++) {
            if (tpos[s] >= segs[s]->n_terms) continue;
            const fr__terminfo *t = &segs[s]->terms[tpos[s]];
            if (term_cmp(segs[s]->termstr + t->str_off, t->str_len, best, best_n) != 0) continue;
            const fr__seg *g = segs[s];
            const fr__terminfo *ti = t;  // validated as fr__seg_term does, without its search
            uint64_t need = (uint64_t)ti->n_blocks * sizeof(fr__skip);
            if (ti->df == 0 || ti->df > g->n_docs ||
                ti->n_blocks != (ti->df + FR__BLOCK - 1) / FR__BLOCK || ti->post_off > g->post_len ||
                ti->post_len > g->post_len - ti->post_off || need > ti->post_len || (ti->post_off & 3)) {
                rc = fr__err(err, FR_ECORRUPT, "%s: term %u: postings header malformed", g->name, tpos[s]);
                goto fail;
            }
            tpos[s]++;
            fr__cursor c;
            if ((rc = fr__cursor_init(&c, segs[s], ti, err)) < 0) goto fail;
            // no deletions: skip the map, whose lookups were cache misses at 1M documents
            const uint32_t *map = m->maps[s], base = m->base[s];
            while (c.doc != UINT32_MAX) {
                uint32_t nd = base != UINT32_MAX ? base + c.doc : map[c.doc];
                if (nd != UINT32_MAX) {
                    if (n >= N || (n && nd <= docs[n - 1])) {
                        rc = fr__err(err, FR_ECORRUPT, "%s: postings out of order", segs[s]->name);
                        goto fail;
                    }
                    docs[n] = nd;
                    tfs[n] = fr__cursor_tf(&c);
                    n++;
                }
                if ((rc = fr__cursor_next(&c, err)) < 0) goto fail;
            }
        }
        if (n == 0) continue;  // only deleted documents had it
        if (nt == tinfo_cap) {
            size_t nc = tinfo_cap ? tinfo_cap * 2 : 4096;
            fr__terminfo *p = realloc(tinfo, nc * sizeof *p);
            if (!p) { rc = fr__err(err, FR_ENOMEM, "merge: out of memory"); goto fail; }
            tinfo = p;
            tinfo_cap = nc;
        }
        uint64_t post_off = f->off - m->sec[SEC_POSTINGS].off;
        uint32_t nb;
        if ((rc = fr__postings_write(f, docs, tfs, n, m->dl, &skips, &body, &nb, err)) < 0) goto fail;
        if (termstr.len + best_n > UINT32_MAX) { rc = fr__err(err, FR_ERANGE, "merge: dictionary too large"); goto fail; }
        tinfo[nt++] = (fr__terminfo){(uint32_t)termstr.len, (uint32_t)best_n, n, nb, post_off,
                                     f->off - m->sec[SEC_POSTINGS].off - post_off};
        if (fr__buf_append(&termstr, best, best_n) < 0) { rc = fr__err(err, FR_ENOMEM, "merge: out of memory"); goto fail; }
    }
    m->sec[SEC_POSTINGS].len = f->off - m->sec[SEC_POSTINGS].off;
    SECTION(f, SEC_TERMS, tinfo, (size_t)nt * sizeof *tinfo);
    SECTION(f, SEC_TERMSTR, termstr.data, termstr.len);
    m->n_terms = nt;
    rc = fr__wfile_flush(f, err);
fail:
    free(tpos); free(docs); free(tfs); free(tinfo); free(skips);
    fr__buf_free(&body);
    fr__buf_free(&termstr);
    return rc;
}

#undef SECTION

static void *terms_thread(void *arg) {
    mctx *m = arg;
    m->rc_terms = write_terms(m, &m->err_terms);
    return NULL;
}

// Offset of POSTINGS: the documents half's sections, each padded to 8 as SECTION does.
static uint64_t merge_layout(uint64_t store_len, uint32_t N, const fr__strtab *strs) {
    uint64_t cnt = strs->n ? strs->n : 1;  // as fr__strtab_write writes it
    uint64_t off = FR__SEG_HEADER + store_len;
    off = pad8(off) + ((uint64_t)N + 1) * 8;                        // STOREIX
    off = pad8(off) + (uint64_t)N * sizeof(fr__docinfo);             // DOCS
    off = pad8(off) + 4 + cnt * 4 + 4 + strs->bytes.len;            // STRS
    off = pad8(off) + (uint64_t)N * sizeof(fr__ident);               // IDS
    return pad8(off);
}

int fr__seg_merge(const fr__seg *const *segs, const uint8_t *const *del, uint32_t n_segs,
                  const char *path, int sync, int threads, uint32_t *n_docs_out, fr_error *err) {
    int rc = 0;
    uint32_t **maps = calloc(n_segs + 1, sizeof *maps);
    uint32_t **smap = calloc(n_segs + 1, sizeof *smap);   // source STRS index → merged
    uint32_t *base = calloc(n_segs + 1, sizeof *base);
    fr__docinfo *dinfo = NULL;
    uint32_t *dl = NULL;
    fr__strtab strs = {0};
    fr__wfile f = {.fd = -1};
    fr__section sec[FR__N_SECTIONS];
    int opened = 0;
    uint32_t tw = n_segs ? segs[0]->title_weight : 0;
    if (!maps || !smap || !base) { rc = fr__err(err, FR_ENOMEM, "merge: out of memory"); goto fail; }
    uint64_t total = 0, store_len = 0;
    for (uint32_t s = 0; s < n_segs; s++) {
        const fr__seg *g = segs[s];
        if (g->title_weight != tw) { rc = fr__err(err, FR_EINVAL, "merge: title weights differ"); goto fail; }
        maps[s] = malloc(((size_t)g->n_docs + 1) * sizeof **maps);
        smap[s] = malloc(((size_t)g->n_strs + 1) * sizeof **smap);
        if (!maps[s] || !smap[s]) { rc = fr__err(err, FR_ENOMEM, "merge: out of memory"); goto fail; }
        base[s] = total < UINT32_MAX ? (uint32_t)total : UINT32_MAX;
        for (uint32_t d = 0; d < g->n_docs; d++) {
            int dead = del && del[s] && ((del[s][d >> 3] >> (d & 7)) & 1);
            maps[s][d] = dead ? UINT32_MAX : (uint32_t)total;
            total += !dead;
            if (dead) {
                base[s] = UINT32_MAX;
                continue;
            }
            uint64_t a = g->store_ix[d], b = g->store_ix[d + 1];
            if (a > b || b > g->store_len)
                { rc = fr__err(err, FR_ECORRUPT, "%s: doc %u: stored record out of bounds", g->name, d); goto fail; }
            store_len += b - a;
        }
        for (uint32_t i = 0; i < g->n_strs; i++) {
            const char *p;
            size_t n;
            if ((rc = fr__seg_str(g, i, &p, &n, err)) < 0) goto fail;
            smap[s][i] = fr__strtab_intern(&strs, p, n);
            if (smap[s][i] == UINT32_MAX) { rc = fr__err(err, FR_ENOMEM, "merge: out of memory"); goto fail; }
        }
    }
    if (total >= UINT32_MAX - 1) { rc = fr__err(err, FR_ERANGE, "merge: too many documents"); goto fail; }
    uint32_t N = (uint32_t)total;
    dinfo = malloc(((size_t)N + 1) * sizeof *dinfo);
    dl = malloc(((size_t)N + 1) * sizeof *dl);
    if (!dinfo || !dl) { rc = fr__err(err, FR_ENOMEM, "merge: out of memory"); goto fail; }
    for (uint32_t s = 0; s < n_segs; s++) {  // DOCS was validated at open (source, lang)
        const fr__seg *g = segs[s];
        for (uint32_t d = 0; d < g->n_docs; d++) {
            uint32_t nd = maps[s][d];
            if (nd == UINT32_MAX) continue;
            dinfo[nd] = g->docs[d];
            dinfo[nd].source = smap[s][g->docs[d].source];
            dinfo[nd].lang = smap[s][g->docs[d].lang];
            dl[nd] = dinfo[nd].dl;
        }
    }
    if ((rc = fr__wfile_open(&f, path, err)) < 0) goto fail;
    opened = 1;
    f.writeback = sync;
    uint8_t hdr[FR__SEG_HEADER] = {0};
    memcpy(hdr, FR__SEG_MAGIC, 8);
    uint32_t v = FR__SEG_VERSION;
    memcpy(hdr + 8, &v, 4);
    if ((rc = fr__wfile_write(&f, hdr, sizeof hdr, err)) < 0) goto fail;
    mctx m = {.segs = segs, .n_segs = n_segs, .N = N, .maps = maps, .base = base, .dinfo = dinfo, .dl = dl,
              .strs = &strs, .sec = sec, .f = &f};
    m.post_off = merge_layout(store_len, N, &strs);
    if ((rc = fr__wfile_open_at(&m.tf, &f, m.post_off, err)) < 0) goto fail;
    pthread_t tid;
    int spawned = threads > 1 && pthread_create(&tid, NULL, terms_thread, &m) == 0;
    m.rc_docs = write_docs(&m, &m.err_docs);
    if (spawned) pthread_join(tid, NULL);
    else m.rc_terms = m.rc_docs < 0 ? 0 : write_terms(&m, &m.err_terms);
    fr__wfile_release(&m.tf);
    // the first failure in file order is the one reported
    if (m.rc_docs < 0 || m.rc_terms < 0) {
        rc = m.rc_docs < 0 ? m.rc_docs : m.rc_terms;
        fr__err(err, rc, "%s", m.rc_docs < 0 ? m.err_docs.msg : m.err_terms.msg);
        goto fail;
    }
    fr__wfile_append(&f, &m.tf);
    if ((rc = fr__seg_footer(&f, sec, N, m.n_terms, tw, err)) < 0) goto fail;
    rc = fr__wfile_finish(&f, sync, err);
    opened = 0;
    if (rc < 0) unlink(path);
    else *n_docs_out = N;
fail:
    if (opened) fr__wfile_abort(&f);
    for (uint32_t s = 0; maps && s < n_segs; s++) free(maps[s]);
    for (uint32_t s = 0; smap && s < n_segs; s++) free(smap[s]);
    free(maps); free(smap); free(base); free(dinfo); free(dl);
    fr__strtab_free(&strs);
    return rc;
}
