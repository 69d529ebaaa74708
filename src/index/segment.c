/* segment.c — the validated, mmapped reader of segment files (format in segment.h): section
 * table checks at open, dictionary lookup by binary search, stored-document access, id
 * lookup, and postings cursors that decode one 128-posting block at a time.
 * Tuned for query time: a cursor skips whole blocks through the skip table without decoding
 * them, and decodes a block by copying it to a padded scratch buffer and unpacking with
 * unaligned 64-bit loads. Every offset read from the file is checked before it is followed.
 */
#include <string.h>

#include <zlib.h>

#include "index/segment.h"

uint64_t fr__id_hash(const char *id, size_t len) {
    uint64_t h = 14695981039346656037ull;  // FNV-1a 64
    for (size_t i = 0; i < len; i++) h = (h ^ (uint8_t)id[i]) * 1099511628211ull;
    return h;
}

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

// ---- open ----

int fr__seg_open_mem(const uint8_t *data, size_t len, const char *name, int verify,
                     fr__seg **out, fr_error *err) {
    *out = NULL;
    if (len < FR__SEG_HEADER + FR__SEG_FOOTER)
        return fr__err(err, FR_ECORRUPT, "%s: truncated: %zu bytes, a segment has at least %d",
                       name, len, FR__SEG_HEADER + FR__SEG_FOOTER);
    if (memcmp(data, FR__SEG_MAGIC, 8) != 0)
        return fr__err(err, FR_ECORRUPT, "%s: not a finerank segment (bad magic)", name);
    if (rd32(data + 8) != FR__SEG_VERSION)
        return fr__err(err, FR_EUNSUPPORTED, "%s: segment version %u, this build reads %d",
                       name, rd32(data + 8), FR__SEG_VERSION);
    const uint8_t *foot = data + len - FR__SEG_FOOTER;
    if (memcmp(data + len - 8, FR__SEG_END, 8) != 0)
        return fr__err(err, FR_ECORRUPT, "%s: truncated or corrupt: no end magic", name);
    if (verify) {
        uint32_t want = rd32(foot + 144);
        uLong crc = crc32(0L, Z_NULL, 0);
        size_t n = len - 16, done = 0;
        while (done < n) {
            size_t k = n - done > (1u << 30) ? (1u << 30) : n - done;
            crc = crc32(crc, data + done, (uInt)k);
            done += k;
        }
        if ((uint32_t)crc != want)
            return fr__err(err, FR_ECHECKSUM, "%s: checksum mismatch (stored %08x, computed %08x)",
                           name, want, (uint32_t)crc);
    }
    fr__seg *s = calloc(1, sizeof *s);
    if (!s) return fr__err(err, FR_ENOMEM, "%s: out of memory", name);
    snprintf(s->name, sizeof s->name, "%s", name);
    s->data = data;
    s->len = len;
    s->n_docs = rd32(foot + 128);
    s->n_terms = rd32(foot + 132);
    s->title_weight = rd32(foot + 136);
    uint64_t limit = len - FR__SEG_FOOTER;
    fr__section sec[FR__N_SECTIONS];
    static const char *const sec_names[] = {"STORE", "STOREIX", "DOCS", "STRS", "IDS",
                                            "TERMS", "TERMSTR", "POSTINGS"};
    for (int i = 0; i < FR__N_SECTIONS; i++) {
        sec[i].off = rd64(foot + 16 * i);
        sec[i].len = rd64(foot + 16 * i + 8);
        if (sec[i].off < FR__SEG_HEADER || sec[i].off > limit || sec[i].len > limit - sec[i].off ||
            (sec[i].off & 7)) {
            fr__err(err, FR_ECORRUPT, "%s: section %s [%llu, +%llu) outside the file body "
                    "(%llu bytes) or misaligned", name, sec_names[i],
                    (unsigned long long)sec[i].off, (unsigned long long)sec[i].len,
                    (unsigned long long)limit);
            goto fail;
        }
    }
    uint64_t nd = s->n_docs, nt = s->n_terms;
    if (sec[SEC_STOREIX].len != (nd + 1) * 8 || sec[SEC_DOCS].len != nd * sizeof(fr__docinfo) ||
        sec[SEC_IDS].len != nd * sizeof(fr__ident) ||
        sec[SEC_TERMS].len != nt * sizeof(fr__terminfo)) {
        fr__err(err, FR_ECORRUPT, "%s: section sizes do not match %u docs / %u terms", name,
                s->n_docs, s->n_terms);
        goto fail;
    }
    if (s->title_weight > 16) {
        fr__err(err, FR_ECORRUPT, "%s: title weight %u out of range", name, s->title_weight);
        goto fail;
    }
    s->store = data + sec[SEC_STORE].off;
    s->store_len = sec[SEC_STORE].len;
    s->store_ix = (const uint64_t *)(data + sec[SEC_STOREIX].off);
    s->docs = (const fr__docinfo *)(data + sec[SEC_DOCS].off);
    s->strs = data + sec[SEC_STRS].off;
    s->strs_len = sec[SEC_STRS].len;
    s->ids = (const fr__ident *)(data + sec[SEC_IDS].off);
    s->terms = (const fr__terminfo *)(data + sec[SEC_TERMS].off);
    s->termstr = (const char *)data + sec[SEC_TERMSTR].off;
    s->termstr_len = sec[SEC_TERMSTR].len;
    s->post = data + sec[SEC_POSTINGS].off;
    s->post_len = sec[SEC_POSTINGS].len;
    if (s->strs_len < 8 || (s->n_strs = rd32(s->strs)) == 0 ||
        (uint64_t)s->n_strs > (s->strs_len - 4) / 4 - 1) {
        fr__err(err, FR_ECORRUPT, "%s: string table malformed", name);
        goto fail;
    }
    for (uint32_t i = 0; i < s->n_docs; i++) {
        const fr__docinfo *d = &s->docs[i];
        if ((uint64_t)d->text_len + (uint64_t)s->title_weight * d->title_len != d->dl ||
            d->source >= s->n_strs || d->lang >= s->n_strs) {
            fr__err(err, FR_ECORRUPT, "%s: doc %u: bad length or string reference", name, i);
            goto fail;
        }
        s->sum_title += d->title_len;
        s->sum_text += d->text_len;
        s->sum_dl += d->dl;
    }
    *out = s;
    return 0;
fail:
    free(s);
    return err ? err->code : FR_ECORRUPT;
}

int fr__seg_open_file(const char *path, const char *name, int verify, fr__seg **out,
                      fr_error *err) {
    fr__mmap m;
    *out = NULL;
    int rc = fr__mmap_open(path, &m, err);
    if (rc < 0) return rc;
    rc = fr__seg_open_mem(m.data, m.len, name, verify, out, err);
    if (rc < 0) {
        fr__mmap_close(&m);
        return rc;
    }
    (*out)->map = m;
    return 0;
}

void fr__seg_free(fr__seg *s) {
    if (!s) return;
    fr__mmap_close(&s->map);
    free(s);
}

// ---- dictionary, strings, stored docs, ids ----

static int term_at(const fr__seg *s, uint32_t i, const char **p, size_t *n, fr_error *err) {
    const fr__terminfo *t = &s->terms[i];
    if ((uint64_t)t->str_off + t->str_len > s->termstr_len)
        return fr__err(err, FR_ECORRUPT, "%s: term %u string out of bounds", s->name, i);
    *p = s->termstr + t->str_off;
    *n = t->str_len;
    return 0;
}

int fr__seg_term(const fr__seg *s, const char *term, size_t len, const fr__terminfo **ti,
                 fr_error *err) {
    *ti = NULL;
    uint32_t lo = 0, hi = s->n_terms;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        const char *p = NULL;
        size_t n = 0;
        int rc = term_at(s, mid, &p, &n, err);
        if (rc < 0) return rc;
        int c = memcmp(p, term, n < len ? n : len);
        if (c == 0) c = n < len ? -1 : n > len ? 1 : 0;
        if (c == 0) {
            const fr__terminfo *t = &s->terms[mid];
            uint64_t need = (uint64_t)t->n_blocks * sizeof(fr__skip);
            if (t->df == 0 || t->df > s->n_docs ||
                t->n_blocks != (t->df + FR__BLOCK - 1) / FR__BLOCK || t->post_off > s->post_len ||
                t->post_len > s->post_len - t->post_off || need > t->post_len ||
                (t->post_off & 3))
                return fr__err(err, FR_ECORRUPT, "%s: term %u: postings header malformed",
                               s->name, mid);
            *ti = t;
            return 0;
        }
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return 0;
}

int fr__seg_str(const fr__seg *s, uint32_t i, const char **p, size_t *n, fr_error *err) {
    if (i >= s->n_strs) return fr__err(err, FR_ECORRUPT, "%s: string %u out of range", s->name, i);
    uint32_t a = rd32(s->strs + 4 + 4 * (size_t)i), b = rd32(s->strs + 8 + 4 * (size_t)i);
    uint64_t base = 8 + 4 * (uint64_t)s->n_strs;
    if (a > b || base + b > s->strs_len)
        return fr__err(err, FR_ECORRUPT, "%s: string %u out of bounds", s->name, i);
    *p = (const char *)s->strs + base + a;
    *n = b - a;
    return 0;
}

int fr__seg_doc(const fr__seg *s, uint32_t d, fr_doc *out, fr_error *err) {
    memset(out, 0, sizeof *out);
    if (d >= s->n_docs) return fr__err(err, FR_ERANGE, "%s: doc %u out of range", s->name, d);
    uint64_t a = s->store_ix[d], b = s->store_ix[d + 1];
    if (a > b || b > s->store_len || b - a < 4 * FR__N_FIELDS)
        return fr__err(err, FR_ECORRUPT, "%s: doc %u: stored record out of bounds", s->name, d);
    const uint8_t *r = s->store + a;
    uint64_t pos = 4 * FR__N_FIELDS, end = b - a;
    const char *f[FR__N_FIELDS];
    size_t fl[FR__N_FIELDS];
    for (int i = 0; i < FR__N_FIELDS; i++) {
        uint32_t n = rd32(r + 4 * i);
        if (n > end || pos > end - n - 1 || r[pos + n] != 0)
            return fr__err(err, FR_ECORRUPT, "%s: doc %u: stored field %d out of bounds", s->name,
                           d, i);
        f[i] = (const char *)r + pos;
        fl[i] = n;
        pos += (uint64_t)n + 1;
    }
    const fr__docinfo *di = &s->docs[d];
    out->id = f[FLD_ID]; out->id_len = fl[FLD_ID];
    out->title = f[FLD_TITLE]; out->title_len = fl[FLD_TITLE];
    out->text = f[FLD_TEXT]; out->text_len = fl[FLD_TEXT];
#define OPT_FIELD(k, dst)                                                           \
    do {                                                                            \
        out->dst = fl[k] ? f[k] : NULL;                                             \
        out->dst##_len = fl[k];                                                     \
    } while (0)
    OPT_FIELD(FLD_DATE, date);
    OPT_FIELD(FLD_SOURCE, source);
    OPT_FIELD(FLD_LANG, lang);
    OPT_FIELD(FLD_META, meta);
#undef OPT_FIELD
    if (!fl[FLD_TITLE]) out->title = NULL;
    out->date_unix = (di->flags & 1) ? di->date : INT64_MIN;
    out->authority = (di->flags & 2) ? di->authority : __builtin_nan("");
    return 0;
}

int fr__seg_find(const fr__seg *s, const char *id, size_t len, uint32_t *doc, fr_error *err) {
    uint64_t h = fr__id_hash(id, len);
    uint32_t lo = 0, hi = s->n_docs;
    while (lo < hi) {  // first entry with hash >= h
        uint32_t mid = lo + (hi - lo) / 2;
        if (s->ids[mid].hash < h) lo = mid + 1;
        else hi = mid;
    }
    int found = 0;
    for (uint32_t i = lo; i < s->n_docs && s->ids[i].hash == h; i++) {
        uint32_t d = s->ids[i].doc;
        if (d >= s->n_docs) return fr__err(err, FR_ECORRUPT, "%s: id map entry out of range", s->name);
        fr_doc fd;
        int rc = fr__seg_doc(s, d, &fd, err);
        if (rc < 0) return rc;
        if (fd.id_len == len && !memcmp(fd.id, id, len)) { *doc = d; found = 1; }  // last wins
    }
    return found ? 0 : FR_ENOTFOUND;
}

// ---- postings ----

int fr__cursor_init(fr__cursor *c, const fr__seg *s, const fr__terminfo *ti, fr_error *err) {
    c->seg = s;
    c->skip = (const fr__skip *)(s->post + ti->post_off);
    c->n_blocks = ti->n_blocks;
    c->df = ti->df;
    c->blocks = s->post + ti->post_off + (uint64_t)ti->n_blocks * sizeof(fr__skip);
    c->blocks_len = ti->post_len - (uint64_t)ti->n_blocks * sizeof(fr__skip);
    c->blk = 0;
    c->decoded = 0;
    c->i = c->n = 0;
    c->doc = 0;
    return fr__cursor_advance(c, 0, err);
}

static int decode_block(fr__cursor *c, fr_error *err) {
    const fr__seg *s = c->seg;
    uint32_t j = c->blk;
    uint64_t start = j ? c->skip[j - 1].end : 0, end = c->skip[j].end;
    uint32_t n = j + 1 < c->n_blocks ? FR__BLOCK : c->df - FR__BLOCK * (c->n_blocks - 1);
    if (start > end || end > c->blocks_len || end - start < 2)
        return fr__err(err, FR_ECORRUPT, "%s: postings block out of bounds", s->name);
    const uint8_t *p = c->blocks + start;
    uint32_t db = p[0], tb = p[1];
    uint64_t bits = (uint64_t)n * (db + tb), bytes = (bits + 7) / 8;
    if (db > 32 || tb > 32 || bytes > end - start - 2)
        return fr__err(err, FR_ECORRUPT, "%s: postings block header malformed", s->name);
    uint8_t buf[FR__BLOCK * 8 + 16];
    memcpy(buf, p + 2, bytes);
    memset(buf + bytes, 0, 8);
    int64_t prev = j ? (int64_t)c->skip[j - 1].last_doc : -1;
    uint64_t mask_d = db == 32 ? 0xffffffffu : ((1ull << db) - 1);
    uint64_t mask_t = tb == 32 ? 0xffffffffu : ((1ull << tb) - 1);
    uint64_t bp = 0;
    for (uint32_t i = 0; i < n; i++, bp += db) {
        uint64_t w;
        memcpy(&w, buf + (bp >> 3), 8);
        int64_t d = prev + 1 + (int64_t)((w >> (bp & 7)) & mask_d);
        if (d >= (int64_t)s->n_docs)
            return fr__err(err, FR_ECORRUPT, "%s: posting doc out of range", s->name);
        c->docs[i] = (uint32_t)d;
        prev = d;
    }
    if (prev != (int64_t)c->skip[j].last_doc)
        return fr__err(err, FR_ECORRUPT, "%s: postings block disagrees with its skip entry", s->name);
    uint32_t max_tf = c->skip[j].max_tf;
    for (uint32_t i = 0; i < n; i++, bp += tb) {
        uint64_t w;
        memcpy(&w, buf + (bp >> 3), 8);
        uint64_t tf = ((w >> (bp & 7)) & mask_t) + 1;
        if (tf > max_tf) return fr__err(err, FR_ECORRUPT, "%s: tf above the block maximum", s->name);
        c->tfs[i] = (uint32_t)tf;
    }
    c->n = n;
    c->i = 0;
    c->decoded = 1;
    return 0;
}

const fr__skip *fr__cursor_shallow(fr__cursor *c, uint32_t target) {
    while (c->blk < c->n_blocks && c->skip[c->blk].last_doc < target) {
        c->blk++;
        c->decoded = 0;
    }
    return c->blk < c->n_blocks ? &c->skip[c->blk] : NULL;
}

int fr__cursor_advance(fr__cursor *c, uint32_t target, fr_error *err) {
    if (c->decoded && c->doc >= target) return 0;
    if (!fr__cursor_shallow(c, target)) {
        c->doc = UINT32_MAX;
        return 0;
    }
    if (!c->decoded) {
        int rc = decode_block(c, err);
        if (rc < 0) { c->doc = UINT32_MAX; c->blk = c->n_blocks; return rc; }
    }
    uint32_t i = c->i;
    while (i < c->n && c->docs[i] < target) i++;
    if (i == c->n) {  // skip said the block ends >= target: only a corrupt block gets here
        c->doc = UINT32_MAX;
        c->blk = c->n_blocks;
        return fr__err(err, FR_ECORRUPT, "%s: postings block order broken", c->seg->name);
    }
    c->i = i;
    c->doc = c->docs[i];
    return 0;
}

int fr__cursor_next(fr__cursor *c, fr_error *err) {
    if (c->doc == UINT32_MAX) return 0;
    if (c->i + 1 < c->n) {
        c->i++;
        c->doc = c->docs[c->i];
        return 0;
    }
    return fr__cursor_advance(c, c->doc + 1, err);
}
