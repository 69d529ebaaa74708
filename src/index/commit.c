/* commit.c — COMMIT and tombstone files (format in commit.h): small, CRC-checked, written
 * through the fault-injectable io layer. */
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "index/commit.h"
#include "index/io.h"

#define COMMIT_HEAD 88
#define COMMIT_SEG1 (2 * FR__NAME + 8)      // version 1 segment entry
#define COMMIT_SEG2 (3 * FR__NAME + 8)      // version 2: + vectors file
#define COMMIT_EMB 24                       // version 2 embedding head

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

static int name_ok(const char *s) {
    if (!memchr(s, 0, FR__NAME)) return 0;
    for (const char *p = s; *p; p++)
        if (*p == '/' || *p == '\\' || (uint8_t)*p < 0x20) return 0;
    return strcmp(s, ".") && strcmp(s, "..");
}

int fr__commit_read(const char *dir, fr__commit *c, fr_error *err) {
    memset(c, 0, sizeof *c);
    char path[4200];
    snprintf(path, sizeof path, "%s/COMMIT", dir);
    char *data = NULL;
    size_t len = 0;
    int rc = fr__read_file(path, &data, &len, err);
    if (rc == FR_ENOTFOUND)
        return fr__err(err, rc, "%s: not a finerank index (no COMMIT file)", dir);
    if (rc < 0) return rc;
    const uint8_t *p = (const uint8_t *)data;
    if (len < COMMIT_HEAD + 4 || memcmp(p, "FRCOMMIT", 8)) {
        rc = fr__err(err, FR_ECORRUPT, "%s: not a finerank commit file", path);
        goto fail;
    }
    uint32_t version = rd32(p + 8);
    if (version != 1 && version != 2) {
        rc = fr__err(err, FR_EUNSUPPORTED, "%s: commit version %u", path, version);
        goto fail;
    }
    uint32_t n = rd32(p + 12);
    size_t segs_at = COMMIT_HEAD, seg_size = COMMIT_SEG1;
    uint32_t ml = 0, ql = 0, dl = 0;
    if (version == 2) {  // the embedding head and strings come before the segments
        if (len < COMMIT_HEAD + COMMIT_EMB + 4) {
            rc = fr__err(err, FR_ECORRUPT, "%s: truncated commit", path);
            goto fail;
        }
        ml = rd32(p + COMMIT_HEAD + 8);
        ql = rd32(p + COMMIT_HEAD + 12);
        dl = rd32(p + COMMIT_HEAD + 16);
        if (ml >= sizeof c->emb.model || ql >= sizeof c->emb.query_prompt ||
            dl >= sizeof c->emb.doc_prompt) {
            rc = fr__err(err, FR_ECORRUPT, "%s: embedding model strings too long", path);
            goto fail;
        }
        segs_at = COMMIT_HEAD + COMMIT_EMB + (size_t)ml + ql + dl;
        seg_size = COMMIT_SEG2;
    }
    if ((uint64_t)n * seg_size + segs_at + 4 != len) {
        rc = fr__err(err, FR_ECORRUPT, "%s: %zu bytes do not hold %u segments", path, len, n);
        goto fail;
    }
    if ((uint32_t)crc32(0, p, (uInt)(len - 4)) != rd32(p + len - 4)) {
        rc = fr__err(err, FR_ECHECKSUM, "%s: checksum mismatch", path);
        goto fail;
    }
    if (version == 2) {
        const uint8_t *e = p + COMMIT_HEAD, *str = e + COMMIT_EMB;
        c->emb.type = rd32(e);
        c->emb.dim = rd32(e + 4);
        c->emb.ivf_lists = rd32(e + 20);
        memcpy(c->emb.model, str, ml);
        memcpy(c->emb.query_prompt, str + ml, ql);
        memcpy(c->emb.doc_prompt, str + ml + ql, dl);
        if (memchr(c->emb.model, 0, ml) || memchr(c->emb.query_prompt, 0, ql) ||
            memchr(c->emb.doc_prompt, 0, dl) || c->emb.type > 3 || c->emb.dim > 65536 ||
            (!c->emb.dim) != (!ml) || c->emb.ivf_lists > 65536 || (c->emb.ivf_lists && !ml)) {
            rc = fr__err(err, FR_ECORRUPT, "%s: bad embedding model record", path);
            goto fail;
        }
    }
    memcpy(&c->generation, p + 16, 8);
    memcpy(&c->next_id, p + 24, 8);
    memcpy(c->lang, p + 32, 32);
    c->lang[31] = 0;
    memcpy(&c->k1, p + 64, 8);
    memcpy(&c->b, p + 72, 8);
    c->title_weight = rd32(p + 80);
    c->n_segs = n;
    c->segs = calloc(n ? n : 1, sizeof *c->segs);
    if (!c->segs) { rc = fr__err(err, FR_ENOMEM, "%s: out of memory", path); goto fail; }
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *s = p + segs_at + (size_t)i * seg_size;
        memcpy(c->segs[i].name, s, FR__NAME);
        memcpy(c->segs[i].del, s + FR__NAME, FR__NAME);
        if (version == 2) memcpy(c->segs[i].vec, s + 2 * FR__NAME, FR__NAME);
        c->segs[i].n_docs = rd32(s + seg_size - 8);
        c->segs[i].n_deleted = rd32(s + seg_size - 4);
        if (!name_ok(c->segs[i].name) || !c->segs[i].name[0] || !name_ok(c->segs[i].del) ||
            !name_ok(c->segs[i].vec) || (c->segs[i].vec[0] && !c->emb.dim)) {
            rc = fr__err(err, FR_ECORRUPT, "%s: segment %u has a bad file name", path, i);
            goto fail;
        }
    }
    if (!(c->k1 >= 0 && c->k1 < 1000) || !(c->b >= 0 && c->b <= 1) || c->title_weight > 16) {
        rc = fr__err(err, FR_ECORRUPT, "%s: BM25 settings out of range", path);
        goto fail;
    }
    free(data);
    return 0;
fail:
    free(data);
    fr__commit_free(c);
    return rc;
}

void fr__commit_free(fr__commit *c) {
    free(c->segs);
    c->segs = NULL;
    c->n_segs = 0;
}

static int write_durable(const char *dir, const char *name, const void *p, size_t n, int sync,
                         int atomic, int *renamed, fr_error *err) {
    char path[4200], tmp[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s/%s.pending", dir, name);
    const char *target = atomic ? tmp : path;
    int fd;
    int rc = fr__io_open_write(target, &fd, err);
    if (rc < 0) return rc;
    rc = fr__io_write(fd, target, p, n, err);
    if (rc == 0 && sync) rc = fr__io_fsync(fd, target, err);
    close(fd);
    if (rc == 0 && atomic) rc = fr__io_rename(tmp, path, err);
    if (rc < 0) {
        unlink(target);
        return rc;
    }
    if (renamed) *renamed = 1;
    if (sync && atomic) rc = fr__io_fsync_dir(dir, err);
    return rc;
}

int fr__commit_write(const char *dir, const fr__commit *c, int sync, int *renamed,
                     fr_error *err) {
    if (renamed) *renamed = 0;
    uint32_t ml = (uint32_t)strnlen(c->emb.model, sizeof c->emb.model - 1);
    uint32_t ql = (uint32_t)strnlen(c->emb.query_prompt, sizeof c->emb.query_prompt - 1);
    uint32_t dl = (uint32_t)strnlen(c->emb.doc_prompt, sizeof c->emb.doc_prompt - 1);
    size_t segs_at = COMMIT_HEAD + COMMIT_EMB + (size_t)ml + ql + dl;
    size_t len = segs_at + (size_t)c->n_segs * COMMIT_SEG2 + 4;
    uint8_t *p = calloc(1, len);
    if (!p) return fr__err(err, FR_ENOMEM, "COMMIT: out of memory");
    memcpy(p, "FRCOMMIT", 8);
    uint32_t v = 2;
    memcpy(p + 8, &v, 4);
    memcpy(p + 12, &c->n_segs, 4);
    memcpy(p + 16, &c->generation, 8);
    memcpy(p + 24, &c->next_id, 8);
    memcpy(p + 32, c->lang, strnlen(c->lang, 31));
    memcpy(p + 64, &c->k1, 8);
    memcpy(p + 72, &c->b, 8);
    memcpy(p + 80, &c->title_weight, 4);
    uint8_t *e = p + COMMIT_HEAD;
    uint32_t hd[6] = {c->emb.type, ml ? c->emb.dim : 0, ml, ql, dl, ml ? c->emb.ivf_lists : 0};
    memcpy(e, hd, sizeof hd);
    memcpy(e + COMMIT_EMB, c->emb.model, ml);
    memcpy(e + COMMIT_EMB + ml, c->emb.query_prompt, ql);
    memcpy(e + COMMIT_EMB + ml + ql, c->emb.doc_prompt, dl);
    for (uint32_t i = 0; i < c->n_segs; i++) {
        uint8_t *s = p + segs_at + (size_t)i * COMMIT_SEG2;
        memcpy(s, c->segs[i].name, strnlen(c->segs[i].name, FR__NAME - 1));
        memcpy(s + FR__NAME, c->segs[i].del, strnlen(c->segs[i].del, FR__NAME - 1));
        memcpy(s + 2 * FR__NAME, c->segs[i].vec, strnlen(c->segs[i].vec, FR__NAME - 1));
        memcpy(s + 3 * FR__NAME, &c->segs[i].n_docs, 4);
        memcpy(s + 3 * FR__NAME + 4, &c->segs[i].n_deleted, 4);
    }
    uint32_t crc = (uint32_t)crc32(0, p, (uInt)(len - 4));
    memcpy(p + len - 4, &crc, 4);
    int rc = write_durable(dir, "COMMIT", p, len, sync, 1, renamed, err);
    free(p);
    return rc;
}

int fr__tomb_write(const char *dir, const char *name, const uint8_t *del, uint32_t n_docs,
                   int sync, fr_error *err) {
    uint32_t count = 0;
    for (uint32_t d = 0; d < n_docs; d++) count += (del[d >> 3] >> (d & 7)) & 1;
    size_t len = 16 + (size_t)count * 4 + 4;
    uint8_t *p = malloc(len);
    if (!p) return fr__err(err, FR_ENOMEM, "%s: out of memory", name);
    memcpy(p, "FRDEL001", 8);
    memcpy(p + 8, &n_docs, 4);
    memcpy(p + 12, &count, 4);
    size_t o = 16;
    for (uint32_t d = 0; d < n_docs; d++)
        if ((del[d >> 3] >> (d & 7)) & 1) { memcpy(p + o, &d, 4); o += 4; }
    uint32_t crc = (uint32_t)crc32(0, p, (uInt)(len - 4));
    memcpy(p + len - 4, &crc, 4);
    int rc = write_durable(dir, name, p, len, sync, 0, NULL, err);
    free(p);
    return rc;
}

int fr__tomb_read(const char *dir, const char *name, uint8_t *del, uint32_t n_docs,
                  uint32_t *count, fr_error *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *data = NULL;
    size_t len = 0;
    *count = 0;
    int rc = fr__read_file(path, &data, &len, err);
    if (rc < 0) return rc;
    const uint8_t *p = (const uint8_t *)data;
    uint32_t cnt = len >= 20 ? rd32(p + 12) : 0;
    if (len < 20 || memcmp(p, "FRDEL001", 8) || rd32(p + 8) != n_docs ||
        (uint64_t)cnt * 4 + 20 != len) {
        free(data);
        return fr__err(err, FR_ECORRUPT, "%s: malformed tombstone file", path);
    }
    if ((uint32_t)crc32(0, p, (uInt)(len - 4)) != rd32(p + len - 4)) {
        free(data);
        return fr__err(err, FR_ECHECKSUM, "%s: checksum mismatch", path);
    }
    int64_t prev = -1;
    for (uint32_t i = 0; i < cnt; i++) {
        uint32_t d = rd32(p + 16 + 4 * (size_t)i);
        if ((int64_t)d <= prev || d >= n_docs) {
            free(data);
            return fr__err(err, FR_ECORRUPT, "%s: tombstone %u out of order or range", path, i);
        }
        del[d >> 3] |= (uint8_t)(1u << (d & 7));
        prev = d;
    }
    *count = cnt;
    free(data);
    return 0;
}
