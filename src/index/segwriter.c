/* segwriter.c — builds one segment (format in segment.h) from analyzed documents.
 *
 * Layout in memory while building: a term table (open addressing over an entries vector;
 * term bytes in an arena) whose entries each own a growable byte list of (doc gap, tf)
 * varints; per-document fixed columns (fr__docinfo, store offsets, id hashes and id bytes).
 * Stored fields are NOT buffered: they stream to the segment file as documents arrive
 * (STORE is the file's first section), so memory is postings + columns only, and the caller
 * flushes a segment when fr__segw_mem() passes its budget (bounded RSS at any corpus size).
 * Per document, term frequencies are counted in the term entries themselves (last_doc /
 * cur_tf) and the touched entries are appended once at the end of the document — no
 * per-document hash map. Tuned for index-build throughput.
 */
#include <string.h>

#include "index/segment.h"
#include "text/analyzer.h"

static uint32_t serial_counter;  // distinguishes builders in analyzer memos

typedef struct tentry {
    uint32_t hash, len, str_off;    // term bytes at arena[str_off .. + len)
    uint32_t last_doc;              // doc + 1 of the last occurrence (0: none)
    uint32_t posted;                // doc + 1 of the last posting written (0: none)
    uint32_t cur_tf, df;
    uint8_t *post;                  // varint (gap, tf) pairs
    uint32_t plen, pcap;
} tentry;

struct fr__segw {
    fr__wfile f;
    char name[64];
    uint32_t tw;                    // title weight
    tentry *ents; uint32_t n_ents, ents_cap;
    uint32_t *slots; uint32_t cap;  // entry index + 1, 0 empty
    fr__buf arena;
    // documents
    fr__docinfo *docs; uint64_t *store_ix; uint64_t *id_hash; uint32_t *id_off;
    uint32_t n, dcap;
    fr__buf idbytes;                // id strings, NUL-terminated
    uint32_t *id_slots; uint32_t id_cap;  // open addressing doc + 1 by id hash
    fr__strtab strs;                // source and lang values
    // per-document scratch
    uint32_t *touched; uint32_t n_touched, touched_cap;
    uint32_t *toks; uint32_t n_toks, toks_cap;  // entry of each token of the current field
    // (touched and toks are per-document scratch, left out of mem: flush points, and so
    // segment boundaries, stay those of earlier versions)
    uint32_t cur_doc, title_n, text_n;
    int oom, finished;
    uint32_t serial;                // this builder's tag in analyzer memos
    size_t mem;
};

static inline int eq_bytes(const char *a, const char *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i]) return 0;
    return 1;
}

static uint32_t hash32(const char *s, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h ^ (h >> 15);
}

uint32_t fr__segw_n_docs(const fr__segw *w) { return w->n; }
size_t fr__segw_mem(const fr__segw *w) { return w->mem; }

int fr__segw_new(const char *path, const char *name, int title_weight, int sync, fr__segw **out,
                 fr_error *err) {
    *out = NULL;
    fr__segw *w = calloc(1, sizeof *w);
    if (!w) return fr__err(err, FR_ENOMEM, "%s: out of memory", name);
    w->f.fd = -1;
    w->serial = __atomic_add_fetch(&serial_counter, 1, __ATOMIC_RELAXED);
    snprintf(w->name, sizeof w->name, "%s", name);
    w->tw = (uint32_t)title_weight;
    w->cap = 1u << 16;
    w->slots = calloc(w->cap, sizeof *w->slots);
    w->id_cap = 1u << 12;
    w->id_slots = calloc(w->id_cap, sizeof *w->id_slots);
    if (!w->slots || !w->id_slots) goto oom;
    int rc = fr__wfile_open(&w->f, path, err);
    if (rc < 0) {
        fr__segw_abort(w);
        return rc;
    }
    w->f.writeback = sync;
    uint8_t hdr[FR__SEG_HEADER] = {0};
    memcpy(hdr, FR__SEG_MAGIC, 8);
    uint32_t v = FR__SEG_VERSION;
    memcpy(hdr + 8, &v, 4);
    if ((rc = fr__wfile_write(&w->f, hdr, sizeof hdr, err)) < 0) {
        fr__segw_abort(w);
        return rc;
    }
    w->mem = w->cap * 4 + w->id_cap * 4;
    *out = w;
    return 0;
oom:
    fr__segw_abort(w);
    return fr__err(err, FR_ENOMEM, "%s: out of memory", name);
}

void fr__segw_abort(fr__segw *w) {
    if (!w) return;
    if (!w->finished) fr__wfile_abort(&w->f);
    for (uint32_t i = 0; i < w->n_ents; i++) free(w->ents[i].post);
    free(w->ents);
    free(w->slots);
    fr__buf_free(&w->arena);
    free(w->docs);
    free(w->store_ix);
    free(w->id_hash);
    free(w->id_off);
    fr__buf_free(&w->idbytes);
    free(w->id_slots);
    fr__strtab_free(&w->strs);
    free(w->touched);
    free(w->toks);
    free(w);
}

// ---- terms ----

static int grow_slots(fr__segw *w) {
    uint32_t ncap = w->cap * 2;
    uint32_t *ns = calloc(ncap, sizeof *ns);
    if (!ns) return FR_ENOMEM;
    for (uint32_t i = 0; i < w->n_ents; i++) {
        uint32_t j = w->ents[i].hash & (ncap - 1);
        while (ns[j]) j = (j + 1) & (ncap - 1);
        ns[j] = i + 1;
    }
    free(w->slots);
    w->mem += (size_t)(ncap - w->cap) * 4;
    w->slots = ns;
    w->cap = ncap;
    return 0;
}

static tentry *term_get(fr__segw *w, const char *t, size_t len) {
    uint32_t h = hash32(t, len);
    uint32_t j = h & (w->cap - 1);
    for (;;) {
        uint32_t e = w->slots[j];
        if (!e) break;
        tentry *te = &w->ents[e - 1];
        if (te->hash == h && te->len == len && eq_bytes(w->arena.data + te->str_off, t, len))
            return te;
        j = (j + 1) & (w->cap - 1);
    }
    if (w->n_ents == w->ents_cap) {
        uint32_t nc = w->ents_cap ? w->ents_cap * 2 : 4096;
        tentry *ne = realloc(w->ents, nc * sizeof *ne);
        if (!ne) return NULL;
        w->mem += (size_t)(nc - w->ents_cap) * sizeof *ne;
        w->ents = ne;
        w->ents_cap = nc;
    }
    size_t before = w->arena.cap;
    if (w->arena.len + len > UINT32_MAX - 1 || fr__buf_append(&w->arena, t, len) < 0) return NULL;
    w->mem += w->arena.cap - before;
    tentry *te = &w->ents[w->n_ents];
    memset(te, 0, sizeof *te);
    te->hash = h;
    te->len = (uint32_t)len;
    te->str_off = (uint32_t)(w->arena.len - len);
    w->slots[j] = ++w->n_ents;
    if (w->n_ents * 2 > w->cap && grow_slots(w) < 0) return NULL;
    return &w->ents[w->n_ents - 1];
}

// The analyzer's callback: resolves the term to its entry (through the analyzer's memo when
// it has one, else the term table) and queues the entry; count_field() then counts the
// field's tokens. Queuing lets the entry's cache line be prefetched here and used a few
// dozen tokens later: at a million documents most rare terms' entries are cache misses,
// and counting token by token paid each one in turn.
static int on_term(void *ud, const char *t, size_t len, uint32_t pos, uint64_t *memo) {
    fr__segw *w = ud;
    uint32_t e;
    if (memo && (uint32_t)(*memo >> 32) == w->serial) {
        e = (uint32_t)*memo;
    } else {
        tentry *te = term_get(w, t, len);
        if (!te) { w->oom = 1; return FR_ENOMEM; }
        e = (uint32_t)(te - w->ents);
        if (memo) *memo = ((uint64_t)w->serial << 32) | (uint64_t)e;
    }
    __builtin_prefetch(&w->ents[e], 1);
    if (w->n_toks == w->toks_cap) {
        uint32_t nc = w->toks_cap ? w->toks_cap * 2 : 1024;
        uint32_t *p = realloc(w->toks, nc * sizeof *p);
        if (!p) { w->oom = 1; return FR_ENOMEM; }
        w->toks = p;
        w->toks_cap = nc;
    }
    w->toks[w->n_toks++] = e;
    return 0;
}

// Term frequencies of the queued tokens of one field (title: weight tw): per document, each
// entry's count lives in the entry (last_doc / cur_tf) and its first occurrence appends it to
// touched. Returns FR_ENOMEM if touched cannot grow.
static int count_field(fr__segw *w, int title) {
    uint32_t n = w->n_toks;
    w->n_toks = 0;
    if (w->touched_cap - w->n_touched < n) {
        size_t nc = w->touched_cap ? w->touched_cap : 1024;
        while (nc - w->n_touched < n) nc *= 2;
        if (nc > UINT32_MAX) { w->oom = 1; return FR_ENOMEM; }
        uint32_t *p = realloc(w->touched, nc * sizeof *p);
        if (!p) { w->oom = 1; return FR_ENOMEM; }
        w->touched = p;
        w->touched_cap = (uint32_t)nc;
    }
    uint32_t inc = title ? w->tw : 1, doc1 = w->cur_doc + 1;
    for (uint32_t i = 0; i < n; i++) {
        if (i + 16 < n) __builtin_prefetch(&w->ents[w->toks[i + 16]], 1);
        uint32_t e = w->toks[i];
        tentry *te = &w->ents[e];
        if (te->last_doc != doc1) {
            te->last_doc = doc1;
            te->cur_tf = 0;
            w->touched[w->n_touched++] = e;
        }
        te->cur_tf += inc;
    }
    if (title) w->title_n += n;
    else w->text_n += n;
    return 0;
}

static int put_varint(fr__segw *w, tentry *te, uint32_t v) {
    if (te->plen + 5 > te->pcap) {
        uint32_t nc = te->pcap ? te->pcap * 2 : 8;
        uint8_t *p = realloc(te->post, nc);
        if (!p) return FR_ENOMEM;
        w->mem += nc - te->pcap;
        te->post = p;
        te->pcap = nc;
    }
    while (v >= 0x80) { te->post[te->plen++] = (uint8_t)(v | 0x80); v >>= 7; }
    te->post[te->plen++] = (uint8_t)v;
    return 0;
}

// ---- strings and ids ----

static uint32_t intern(fr__segw *w, const char *s, size_t n) {
    return fr__strtab_intern(&w->strs, s, n);
}

static int id_insert(fr__segw *w, uint32_t doc) {
    if ((w->n + 1) * 2 > w->id_cap) {
        uint32_t ncap = w->id_cap * 2;
        uint32_t *ns = calloc(ncap, sizeof *ns);
        if (!ns) return FR_ENOMEM;
        for (uint32_t d = 0; d < w->n; d++) {
            uint32_t j = (uint32_t)w->id_hash[d] & (ncap - 1);
            while (ns[j]) j = (j + 1) & (ncap - 1);
            ns[j] = d + 1;
        }
        free(w->id_slots);
        w->mem += (size_t)(ncap - w->id_cap) * 4;
        w->id_slots = ns;
        w->id_cap = ncap;
    }
    uint32_t j = (uint32_t)w->id_hash[doc] & (w->id_cap - 1);
    while (w->id_slots[j]) j = (j + 1) & (w->id_cap - 1);
    w->id_slots[j] = doc + 1;
    return 0;
}

int fr__segw_find(const fr__segw *w, const char *id, size_t len, uint32_t *doc) {
    uint64_t h = fr__id_hash(id, len);
    int found = 0;
    for (uint32_t j = (uint32_t)h & (w->id_cap - 1); w->id_slots[j]; j = (j + 1) & (w->id_cap - 1)) {
        uint32_t d = w->id_slots[j] - 1;
        if (w->id_hash[d] != h) continue;
        const char *s = w->idbytes.data + w->id_off[d];
        if (strlen(s) == len && !memcmp(s, id, len) && (!found || d > *doc)) {
            *doc = d;
            found = 1;
        }
    }
    return found ? 0 : FR_ENOTFOUND;
}

// ---- add ----

int fr__segw_add(fr__segw *w, const fr__newdoc *nd, fr_analyzer *an, uint32_t *doc,
                 fr_error *err) {
    if (w->n == UINT32_MAX - 1) return fr__err(err, FR_ERANGE, "%s: segment full", w->name);
    if (w->n == w->dcap) {
        uint32_t nc = w->dcap ? w->dcap * 2 : 1024;
        fr__docinfo *d = realloc(w->docs, nc * sizeof *d);
        if (d) w->docs = d;
        uint64_t *s = realloc(w->store_ix, ((size_t)nc + 1) * sizeof *s);
        if (s) w->store_ix = s;
        uint64_t *h = realloc(w->id_hash, nc * sizeof *h);
        if (h) w->id_hash = h;
        uint32_t *o = realloc(w->id_off, nc * sizeof *o);
        if (o) w->id_off = o;
        if (!d || !s || !h || !o) return fr__err(err, FR_ENOMEM, "%s: out of memory", w->name);
        w->mem += (size_t)(nc - w->dcap) * (sizeof *d + 8 + 8 + 4);
        w->dcap = nc;
    }
    uint32_t d = w->n;
    // analyze first: an out-of-memory failure leaves no trace of the doc in the postings
    // except counts of touched entries, which are reset below.
    w->cur_doc = d;
    w->n_touched = 0;
    w->n_toks = 0;
    w->title_n = w->text_n = 0;
    int rc = 0;
    if (nd->fields[FLD_TITLE]) {
        rc = fr__analyze_memo(an, nd->fields[FLD_TITLE], (ptrdiff_t)nd->lens[FLD_TITLE], 0, on_term, w);
        if (rc == 0) rc = count_field(w, 1);
    }
    if (rc == 0 && nd->fields[FLD_TEXT]) {
        rc = fr__analyze_memo(an, nd->fields[FLD_TEXT], (ptrdiff_t)nd->lens[FLD_TEXT], w->title_n,
                              on_term, w);
        if (rc == 0) rc = count_field(w, 0);
    }
    uint32_t src = intern(w, nd->fields[FLD_SOURCE], nd->lens[FLD_SOURCE]);
    uint32_t lang = intern(w, nd->fields[FLD_LANG], nd->lens[FLD_LANG]);
    size_t ib = w->idbytes.cap;
    if (rc == 0 && (src == UINT32_MAX || lang == UINT32_MAX || w->idbytes.len > UINT32_MAX / 2 ||
                    fr__buf_append(&w->idbytes, nd->fields[FLD_ID], nd->lens[FLD_ID]) < 0 ||
                    fr__buf_putc(&w->idbytes, 0) < 0))
        rc = FR_ENOMEM;
    if (rc < 0) {
        for (uint32_t i = 0; i < w->n_touched; i++) w->ents[w->touched[i]].last_doc = 0;
        return fr__err(err, rc, "%s: %s while indexing a document", w->name, fr_strerror(rc));
    }
    w->mem += w->idbytes.cap - ib;
    // stored record, streamed to the file
    uint64_t store_off = w->f.off - FR__SEG_HEADER;
    uint32_t lens[FR__N_FIELDS];
    for (int i = 0; i < FR__N_FIELDS; i++) lens[i] = nd->fields[i] ? (uint32_t)nd->lens[i] : 0;
    rc = fr__wfile_write(&w->f, lens, sizeof lens, err);
    for (int i = 0; rc == 0 && i < FR__N_FIELDS; i++) {
        if (lens[i]) rc = fr__wfile_write(&w->f, nd->fields[i], lens[i], err);
        if (rc == 0) rc = fr__wfile_write(&w->f, "", 1, err);
    }
    if (rc < 0) {
        for (uint32_t i = 0; i < w->n_touched; i++) w->ents[w->touched[i]].last_doc = 0;
        w->idbytes.len -= nd->lens[FLD_ID] + 1;
        return rc;
    }
    // postings (cannot fail half-way except for OOM, which poisons the builder)
    for (uint32_t i = 0; i < w->n_touched; i++) {
        if (i + 8 < w->n_touched) {  // the tail of a rare term's list is a cache miss
            const tentry *nx = &w->ents[w->touched[i + 8]];
            if (nx->post) __builtin_prefetch(nx->post + nx->plen, 1);
        }
        tentry *te = &w->ents[w->touched[i]];
        if (!te->cur_tf) continue;  // only title terms with title_weight 0
        if (put_varint(w, te, d - te->posted) < 0 || put_varint(w, te, te->cur_tf) < 0) {
            w->oom = 1;
            return fr__err(err, FR_ENOMEM, "%s: out of memory", w->name);
        }
        te->posted = d + 1;
        te->df++;
    }
    fr__docinfo *di = &w->docs[d];
    memset(di, 0, sizeof *di);
    di->title_len = w->title_n;
    di->text_len = w->text_n;
    di->dl = w->text_n + w->tw * w->title_n;
    di->source = src;
    di->lang = lang;
    di->flags = (nd->has_date ? 1u : 0) | (nd->has_authority ? 2u : 0);
    di->date = nd->has_date ? nd->date : 0;
    di->authority = nd->has_authority ? nd->authority : 0;
    w->store_ix[d] = store_off;
    w->id_hash[d] = fr__id_hash(nd->fields[FLD_ID], nd->lens[FLD_ID]);
    w->id_off[d] = (uint32_t)(w->idbytes.len - nd->lens[FLD_ID] - 1);
    w->n++;
    if (id_insert(w, d) < 0) {
        w->oom = 1;
        return fr__err(err, FR_ENOMEM, "%s: out of memory", w->name);
    }
    *doc = d;
    return 0;
}

// ---- finish ----

static int cmp_terms(const void *a, const void *b, void *ud) {
    const fr__segw *w = ud;
    const tentry *x = &w->ents[*(const uint32_t *)a], *y = &w->ents[*(const uint32_t *)b];
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(w->arena.data + x->str_off, w->arena.data + y->str_off, n);
    return c ? c : (x->len < y->len ? -1 : x->len > y->len);
}

static int cmp_ids(const void *a, const void *b) {
    const fr__ident *x = a, *y = b;
    if (x->hash != y->hash) return x->hash < y->hash ? -1 : 1;
    return x->doc < y->doc ? -1 : x->doc > y->doc;
}

static uint32_t bits_of(uint32_t v) { return v ? 32 - (uint32_t)__builtin_clz(v) : 0; }

// Packs n values of b bits LSB-first into out at bit *bp (out zeroed from bit *bp on, with
// >= 8 bytes to spare after the last value). Values gather in a 64-bit accumulator stored 4
// bytes at a time: a read-modify-write of 8 unaligned bytes per value made every value wait
// for the previous one's store (overlapping store-to-load forwarding).
static void pack(uint8_t *out, const uint32_t *v, uint32_t n, uint32_t b, uint64_t *bp) {
    if (b == 0 || n == 0) return;
    uint8_t *o = out + (*bp >> 3);
    unsigned nb = (unsigned)(*bp & 7);  // bits held in acc, < 32 between values
    uint64_t acc;
    memcpy(&acc, o, 8);                 // the partial first byte; zeros above it
    for (uint32_t i = 0; i < n; i++) {
        acc |= (uint64_t)v[i] << nb;    // nb < 32, b <= 32: fits in 64 bits
        nb += b;
        if (nb >= 32) {
            memcpy(o, &acc, 4);
            o += 4;
            acc >>= 32;
            nb -= 32;
        }
    }
    memcpy(o, &acc, 8);
    *bp += (uint64_t)n * b;
}

int fr__postings_write(fr__wfile *f, const uint32_t *docs, const uint32_t *tfs, uint32_t n,
                       const uint32_t *dl, fr__skip **skips, fr__buf *body,
                       uint32_t *n_blocks, fr_error *err) {
    uint32_t nb = (n + FR__BLOCK - 1) / FR__BLOCK;
    fr__skip *ns = realloc(*skips, ((size_t)nb + 1) * sizeof *ns);
    if (!ns) return fr__err(err, FR_ENOMEM, "%s: out of memory", f->path);
    *skips = ns;
    body->len = 0;
    int64_t last = -1;
    for (uint32_t b = 0; b < nb; b++) {
        uint32_t s0 = b * FR__BLOCK, cnt = n - s0 < FR__BLOCK ? n - s0 : FR__BLOCK;
        uint32_t gaps[FR__BLOCK], tv[FR__BLOCK], mg = 0, mt = 0, max_tf = 0, min_dl = UINT32_MAX;
        for (uint32_t i = 0; i < cnt; i++) {
            gaps[i] = (uint32_t)((int64_t)docs[s0 + i] - last - 1);
            last = docs[s0 + i];
            tv[i] = tfs[s0 + i] - 1;
            mg |= gaps[i];
            mt |= tv[i];
            if (tfs[s0 + i] > max_tf) max_tf = tfs[s0 + i];
            if (dl[docs[s0 + i]] < min_dl) min_dl = dl[docs[s0 + i]];
        }
        uint32_t db = bits_of(mg), tb = bits_of(mt);
        size_t bytes = ((size_t)cnt * (db + tb) + 7) / 8;
        uint8_t tmp[FR__BLOCK * 8 + 16];
        memset(tmp, 0, bytes + 8);
        uint64_t bp = 0;
        pack(tmp, gaps, cnt, db, &bp);
        pack(tmp, tv, cnt, tb, &bp);
        uint8_t h[2] = {(uint8_t)db, (uint8_t)tb};
        if (fr__buf_append(body, h, 2) < 0 || fr__buf_append(body, tmp, bytes) < 0)
            return fr__err(err, FR_ENOMEM, "%s: out of memory", f->path);
        ns[b] = (fr__skip){(uint32_t)last, (uint32_t)body->len, max_tf, min_dl};
    }
    // pad to 4 so that the next term's skip table is aligned
    while (body->len & 3)
        if (fr__buf_putc(body, 0) < 0) return fr__err(err, FR_ENOMEM, "%s: out of memory", f->path);
    int rc = fr__wfile_write(f, ns, (size_t)nb * sizeof *ns, err);
    if (rc == 0) rc = fr__wfile_write(f, body->data, body->len, err);
    *n_blocks = nb;
    return rc;
}

int fr__seg_footer(fr__wfile *f, const fr__section *sec, uint32_t n_docs, uint32_t n_terms,
                   uint32_t title_weight, fr_error *err) {
    int rc = fr__wfile_pad8(f, err);
    if (rc < 0) return rc;
    uint8_t foot[FR__SEG_FOOTER] = {0};
    for (int i = 0; i < FR__N_SECTIONS; i++) {
        memcpy(foot + 16 * i, &sec[i].off, 8);
        memcpy(foot + 16 * i + 8, &sec[i].len, 8);
    }
    uint32_t meta[4] = {n_docs, n_terms, title_weight, 0};
    memcpy(foot + 128, meta, 16);
    if ((rc = fr__wfile_write(f, foot, 144, err)) < 0) return rc;
    uint32_t crc[2] = {f->crc, 0};  // CRC of every byte before it
    memcpy(foot + 144, crc, 8);
    memcpy(foot + 152, FR__SEG_END, 8);
    return fr__wfile_write(f, foot + 144, 16, err);
}

// ---- string tables (STRS) ----

uint32_t fr__strtab_intern(fr__strtab *t, const char *s, size_t n) {
    if (!s || !n) return 0;
    if (!t->n) {  // string 0 is ""
        t->offs = malloc(16 * sizeof *t->offs);
        t->slots = calloc(64, sizeof *t->slots);
        if (!t->offs || !t->slots) return UINT32_MAX;
        t->cap = 16;
        t->slot_cap = 64;
        t->offs[0] = 0;
        t->n = 1;
    }
    uint32_t h = hash32(s, n);
    uint32_t j = h & (t->slot_cap - 1);
    for (; t->slots[j]; j = (j + 1) & (t->slot_cap - 1)) {
        uint32_t i = t->slots[j];
        uint32_t st = t->offs[i], en = i + 1 < t->n ? t->offs[i + 1] : (uint32_t)t->bytes.len;
        if (en - st == n && !memcmp(t->bytes.data + st, s, n)) return i;
    }
    if (t->n == UINT32_MAX - 2 || t->bytes.len + n > UINT32_MAX / 2) return UINT32_MAX;
    if (t->n == t->cap) {
        uint32_t *p = realloc(t->offs, (size_t)t->cap * 2 * sizeof *p);
        if (!p) return UINT32_MAX;
        t->offs = p;
        t->cap *= 2;
    }
    t->offs[t->n] = (uint32_t)t->bytes.len;
    if (fr__buf_append(&t->bytes, s, n) < 0) return UINT32_MAX;
    t->slots[j] = t->n;
    uint32_t id = t->n++;
    if (t->n * 2 > t->slot_cap) {
        uint32_t nc = t->slot_cap * 2;
        uint32_t *ns = calloc(nc, sizeof *ns);
        if (!ns) return UINT32_MAX;
        for (uint32_t i = 1; i < t->n; i++) {
            uint32_t st = t->offs[i], en = i + 1 < t->n ? t->offs[i + 1] : (uint32_t)t->bytes.len;
            uint32_t k = hash32(t->bytes.data + st, en - st) & (nc - 1);
            while (ns[k]) k = (k + 1) & (nc - 1);
            ns[k] = i;
        }
        free(t->slots);
        t->slots = ns;
        t->slot_cap = nc;
    }
    return id;
}

int fr__strtab_write(fr__wfile *f, const fr__strtab *t, fr_error *err) {
    // u32 count, u32 offs[count + 1], bytes; string 0 = "" (offs[0] = offs[1] = 0)
    uint32_t cnt = t->n ? t->n : 1, zero = 0, total = (uint32_t)t->bytes.len;
    int rc = fr__wfile_write(f, &cnt, 4, err);
    if (rc == 0) rc = t->n ? fr__wfile_write(f, t->offs, (size_t)cnt * 4, err) : fr__wfile_write(f, &zero, 4, err);
    if (rc == 0) rc = fr__wfile_write(f, &total, 4, err);
    if (rc == 0 && total) rc = fr__wfile_write(f, t->bytes.data, total, err);
    return rc;
}

void fr__strtab_free(fr__strtab *t) {
    fr__buf_free(&t->bytes);
    free(t->offs);
    free(t->slots);
    memset(t, 0, sizeof *t);
}

int fr__segw_finish(fr__segw *w, int sync, fr_error *err) {
    int rc = 0;
    uint32_t *order = NULL, *docs = NULL, *tfs = NULL, *dl = NULL;
    fr__terminfo *tinfo = NULL;
    fr__ident *ids = NULL;
    uint8_t *blk = NULL;
    fr__skip *skips = NULL;
    fr__buf body = {0};
    if (w->oom) { rc = fr__err(err, FR_ENOMEM, "%s: out of memory while building", w->name); goto fail; }
    fr__section sec[FR__N_SECTIONS];
    sec[SEC_STORE].off = FR__SEG_HEADER;
    sec[SEC_STORE].len = w->f.off - FR__SEG_HEADER;
    w->store_ix[w->n] = sec[SEC_STORE].len;
#define SECTION(id, ptr, bytes)                                                     \
    do {                                                                            \
        if ((rc = fr__wfile_pad8(&w->f, err)) < 0) goto fail;                       \
        sec[id].off = w->f.off;                                                     \
        sec[id].len = (bytes);                                                      \
        if ((bytes) != 0 && (rc = fr__wfile_write(&w->f, (ptr), (bytes), err)) < 0) goto fail; \
    } while (0)
    SECTION(SEC_STOREIX, w->store_ix, ((size_t)w->n + 1) * 8);
    SECTION(SEC_DOCS, w->docs, (size_t)w->n * sizeof(fr__docinfo));
    // STRS
    if ((rc = fr__wfile_pad8(&w->f, err)) < 0) goto fail;
    sec[SEC_STRS].off = w->f.off;
    if ((rc = fr__strtab_write(&w->f, &w->strs, err)) < 0) goto fail;
    sec[SEC_STRS].len = w->f.off - sec[SEC_STRS].off;
    // IDS
    ids = malloc(((size_t)w->n + 1) * sizeof *ids);
    if (!ids) { rc = fr__err(err, FR_ENOMEM, "%s: out of memory", w->name); goto fail; }
    for (uint32_t d = 0; d < w->n; d++) ids[d] = (fr__ident){w->id_hash[d], d, 0};
    qsort(ids, w->n, sizeof *ids, cmp_ids);
    SECTION(SEC_IDS, ids, (size_t)w->n * sizeof *ids);
    // POSTINGS
    order = malloc(((size_t)w->n_ents + 1) * sizeof *order);
    tinfo = calloc((size_t)w->n_ents + 1, sizeof *tinfo);
    docs = malloc(((size_t)w->n + 1) * sizeof *docs);
    tfs = malloc(((size_t)w->n + 1) * sizeof *tfs);
    dl = malloc(((size_t)w->n + 1) * sizeof *dl);
    if (!order || !tinfo || !docs || !tfs || !dl) { rc = fr__err(err, FR_ENOMEM, "%s: out of memory", w->name); goto fail; }
    for (uint32_t d = 0; d < w->n; d++) dl[d] = w->docs[d].dl;
    uint32_t nt = 0;
    for (uint32_t i = 0; i < w->n_ents; i++)
        if (w->ents[i].df) order[nt++] = i;
    qsort_r(order, nt, sizeof *order, cmp_terms, w);
    if ((rc = fr__wfile_pad8(&w->f, err)) < 0) goto fail;
    sec[SEC_POSTINGS].off = w->f.off;
    uint32_t str_off = 0;
    for (uint32_t k = 0; k < nt; k++) {
        // terms in sorted order visit entries and lists at random: fetch a few ahead
        if (k + 8 < nt) __builtin_prefetch(&w->ents[order[k + 8]]);
        if (k + 4 < nt) __builtin_prefetch(w->ents[order[k + 4]].post);
        tentry *te = &w->ents[order[k]];
        // decode the varint list
        uint32_t p = 0, prev = 0, n = 0;
        while (p < te->plen && n < te->df) {
            uint32_t v[2];
            for (int f = 0; f < 2; f++) {
                uint32_t x = 0, sh = 0;
                while (te->post[p] & 0x80) { x |= (uint32_t)(te->post[p++] & 0x7f) << sh; sh += 7; }
                x |= (uint32_t)te->post[p++] << sh;
                v[f] = x;
            }
            prev += v[0];  // posted: gaps are d - (previous doc + 1)
            docs[n] = prev;
            tfs[n] = v[1];
            prev++;
            n++;
        }
        FR_ASSERT(n == te->df);
        uint64_t post_off = w->f.off - sec[SEC_POSTINGS].off;
        uint32_t nb;
        if ((rc = fr__postings_write(&w->f, docs, tfs, n, dl, &skips, &body, &nb, err)) < 0)
            goto fail;
        tinfo[k] = (fr__terminfo){str_off, te->len, te->df, nb, post_off,
                                  w->f.off - sec[SEC_POSTINGS].off - post_off};
        str_off += te->len;
        free(te->post);
        te->post = NULL;
    }
    sec[SEC_POSTINGS].len = w->f.off - sec[SEC_POSTINGS].off;
    SECTION(SEC_TERMS, tinfo, (size_t)nt * sizeof *tinfo);
    if ((rc = fr__wfile_pad8(&w->f, err)) < 0) goto fail;
    sec[SEC_TERMSTR].off = w->f.off;
    for (uint32_t k = 0; k < nt; k++) {
        if (k + 8 < nt) __builtin_prefetch(&w->ents[order[k + 8]]);
        if (k + 4 < nt) __builtin_prefetch(w->arena.data + w->ents[order[k + 4]].str_off);
        tentry *te = &w->ents[order[k]];
        if ((rc = fr__wfile_write(&w->f, w->arena.data + te->str_off, te->len, err)) < 0) goto fail;
    }
    sec[SEC_TERMSTR].len = w->f.off - sec[SEC_TERMSTR].off;
#undef SECTION
    if ((rc = fr__seg_footer(&w->f, sec, w->n, nt, w->tw, err)) < 0) goto fail;
    rc = fr__wfile_finish(&w->f, sync, err);
    if (rc < 0) goto fail;
    w->finished = 1;
    free(order); free(docs); free(tfs); free(dl); free(tinfo); free(ids); free(blk); free(skips);
    fr__buf_free(&body);
    fr__segw_abort(w);  // frees memory; the file is complete and closed (fd = -1, buf NULL)
    return 0;
fail:
    free(order); free(docs); free(tfs); free(dl); free(tinfo); free(ids); free(blk); free(skips);
    fr__buf_free(&body);
    fr__segw_abort(w);
    return rc;
}
