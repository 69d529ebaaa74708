/* index.c — the fr_index handle: open / build (writer lock), document parsing (JSON lines),
 * add / update / delete, segment flushes by memory budget, the commit protocol, rollback,
 * optimize (merge), stored-document access and statistics. Scoring lives in search.c, the
 * file formats in segment.h and commit.h.
 *
 * Durability: a document is acknowledged when fr_index_commit returns 0. Commit flushes the
 * pending segment (written and fsynced; with an embedding model, also its vectors file,
 * segvec.c, written pending → fsync → rename), writes tombstone files, fsyncs the directory, then
 * writes COMMIT.pending → fsync → rename → fsync dir. A crash at any point leaves the old
 * COMMIT or the new one; files it does not name are garbage, removed by the next writer.
 * Readers map the segments named by COMMIT; the writer unlinks obsolete files only after a
 * new COMMIT is durable, and open mappings survive the unlink (POSIX), so readers keep their
 * snapshot. A reader racing a writer's cleanup retries open with the newer COMMIT.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <utf8proc.h>

#include "index/index_impl.h"
#include "text/analyzer.h"

fr_index_opts fr_index_opts_default(void) {
    fr_index_opts o = {0};
    o.lang = "english";
    // Robertson's classic values, the defaults of Lucene/Elasticsearch and SQLite FTS5. Anserini's
    // 0.9/0.4 (tuned on MS MARCO) tie FTS5 on Cranfield; 1.2/0.75 beat both peers there
    // (bench/bm25/README.md). --k1/--b override.
    o.k1 = 1.2;
    o.b = 0.75;
    o.title_weight = 3;
    o.analyzer = fr_analyzer_opts_default();
    o.mem_budget = (size_t)256 << 20;
    o.verify_checksums = 1;
    o.sync = 1;
    o.threads = 1;
    return o;
}

// ---- snapshot ----

static void segref_free(fr__segref *r) {
    fr__segvec_close(r);
    fr__seg_free(r->seg);
    free(r->deleted);
    free(r->K);
    memset(r, 0, sizeof *r);
}

static void drop_segs(fr_index *ix) {
    for (uint32_t i = 0; i < ix->n_segs; i++) segref_free(&ix->segs[i]);
    ix->n_segs = 0;
}

static int push_seg(fr_index *ix, fr__segref *r, fr_error *err) {
    if (ix->n_segs == ix->segs_cap) {
        uint32_t nc = ix->segs_cap ? ix->segs_cap * 2 : 8;
        fr__segref *p = realloc(ix->segs, nc * sizeof *p);
        if (!p) return fr__err(err, FR_ENOMEM, "%s: out of memory", ix->dir);
        ix->segs = p;
        ix->segs_cap = nc;
    }
    ix->segs[ix->n_segs++] = *r;
    return 0;
}

// Opens segment `name` with an empty deletion bitmap. OUT: *r. verify: check its CRC
// (not for a segment this process just wrote: reading it back would only fill the page
// cache and the writer's RSS).
static int open_segref(fr_index *ix, const char *name, int verify, fr__segref *r,
                       fr_error *err) {
    memset(r, 0, sizeof *r);
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", ix->dir, name);
    int rc = fr__seg_open_file(path, name, verify, &r->seg, err);
    if (rc < 0) return rc;
    snprintf(r->name, sizeof r->name, "%s", name);
    r->deleted = calloc((size_t)r->seg->n_docs / 8 + 1, 1);
    if (!r->deleted) {
        segref_free(r);
        return fr__err(err, FR_ENOMEM, "%s: out of memory", name);
    }
    if (r->seg->title_weight != ix->tw) {
        segref_free(r);
        return fr__err(err, FR_ECORRUPT, "%s: title weight %u differs from the index's %u",
                       name, r->seg->title_weight, ix->tw);
    }
    return 0;
}

int fr__index_refresh_stats(fr_index *ix, fr_error *err) {
    uint64_t N = 0, sdl = 0, st = 0, sx = 0;
    for (uint32_t i = 0; i < ix->n_segs; i++) {
        fr__segref *r = &ix->segs[i];
        if (N + r->seg->n_docs > UINT32_MAX - 1)
            return fr__err(err, FR_ERANGE, "%s: more than 2^32 documents", ix->dir);
        r->base = (uint32_t)N;
        N += r->seg->n_docs;
        sdl += r->seg->sum_dl;
        st += r->seg->sum_title;
        sx += r->seg->sum_text;
    }
    ix->N = N;
    ix->sum_dl = sdl;
    ix->sum_title = st;
    ix->sum_text = sx;
    ix->avgdl = N ? (double)sdl / (double)N : 1.0;
    if (ix->avgdl <= 0) ix->avgdl = 1.0;
    for (uint32_t i = 0; i < ix->n_segs; i++) {
        fr__segref *r = &ix->segs[i];
        float *K = realloc(r->K, ((size_t)r->seg->n_docs + 1) * sizeof *K);
        if (!K) return fr__err(err, FR_ENOMEM, "%s: out of memory", ix->dir);
        r->K = K;
        // BM25 length normalisation, Robertson & Zaragoza 2009 eq. 3.15
        for (uint32_t d = 0; d < r->seg->n_docs; d++)
            K[d] = (float)(ix->k1 * (1.0 - ix->b + ix->b * (double)r->seg->docs[d].dl / ix->avgdl));
    }
    return 0;
}

// Loads the snapshot named by COMMIT, replacing the current one only on success (on
// failure the handle keeps its previous snapshot).
static int load_commit(fr_index *ix, fr_error *err) {
    fr__commit c;
    int rc = fr__commit_read(ix->dir, &c, err);
    if (rc < 0) return rc;
    fr__segref *old = ix->segs;
    uint32_t old_n = ix->n_segs, old_cap = ix->segs_cap, old_tw = ix->tw;
    char old_lang[32];
    memcpy(old_lang, ix->lang, sizeof old_lang);
    double old_k1 = ix->k1, old_b = ix->b;
    uint64_t old_gen = ix->generation, old_next = ix->next_id;
    fr__embed_conf old_emb = ix->emb;
    ix->emb = c.emb;
    ix->segs = NULL;
    ix->n_segs = ix->segs_cap = 0;
    snprintf(ix->lang, sizeof ix->lang, "%s", c.lang[0] ? c.lang : "english");
    ix->k1 = c.k1;
    ix->b = c.b;
    ix->tw = c.title_weight;
    ix->generation = c.generation;
    ix->next_id = c.next_id;
    for (uint32_t i = 0; i < c.n_segs; i++) {
        fr__segref r;
        rc = open_segref(ix, c.segs[i].name, ix->opts.verify_checksums, &r, err);
        if (rc < 0) goto fail;
        if (r.seg->n_docs != c.segs[i].n_docs) {
            segref_free(&r);
            rc = fr__err(err, FR_ECORRUPT, "%s: COMMIT says %u docs, segment has %u",
                         c.segs[i].name, c.segs[i].n_docs, r.seg->n_docs);
            goto fail;
        }
        if (c.segs[i].del[0]) {
            rc = fr__tomb_read(ix->dir, c.segs[i].del, r.deleted, r.seg->n_docs, &r.n_deleted, err);
            if (rc < 0) { segref_free(&r); goto fail; }
            snprintf(r.del, sizeof r.del, "%s", c.segs[i].del);
        }
        if (c.segs[i].vec[0] &&
            (rc = fr__segvec_open(ix, &r, c.segs[i].vec, ix->opts.verify_checksums, err)) < 0) {
            segref_free(&r);
            goto fail;
        }
        r.committed = 1;
        if ((rc = push_seg(ix, &r, err)) < 0) { segref_free(&r); goto fail; }
    }
    if ((rc = fr__index_refresh_stats(ix, err)) < 0) goto fail;
    fr__commit_free(&c);
    for (uint32_t i = 0; i < old_n; i++) segref_free(&old[i]);
    free(old);
    if (strcmp(old_emb.model, ix->emb.model) || old_emb.dim != ix->emb.dim) {
        fr_embedder_free(ix->embedder);  // another model now: reopened on first use
        ix->embedder = NULL;
    }
    return 0;
fail:
    fr__commit_free(&c);
    drop_segs(ix);
    free(ix->segs);
    ix->segs = old;
    ix->n_segs = old_n;
    ix->segs_cap = old_cap;
    ix->tw = old_tw;
    memcpy(ix->lang, old_lang, sizeof old_lang);
    ix->k1 = old_k1;
    ix->b = old_b;
    ix->generation = old_gen;
    ix->next_id = old_next;
    ix->emb = old_emb;
    fr__index_refresh_stats(ix, NULL);
    return rc;
}

// A writer may remove the files of an older commit between our reading COMMIT and opening
// its segments: retry with the newer COMMIT.
static int load_commit_retry(fr_index *ix, fr_error *err) {
    int rc = 0;
    for (int attempt = 0; attempt <= 20; attempt++) {
        rc = load_commit(ix, err);
        if (rc != FR_ENOTFOUND) break;
        struct stat st;
        char p[4200];
        snprintf(p, sizeof p, "%s/COMMIT", ix->dir);
        if (stat(p, &st) < 0) break;
        usleep(1000);
    }
    return rc;
}

// ---- open / close ----

static int handle_new(const char *dir, const fr_index_opts *opts, fr_index **out, fr_error *err) {
    *out = NULL;
    if (strlen(dir) >= 4000) return fr__err(err, FR_EINVAL, "index directory path too long");
    fr_index *ix = calloc(1, sizeof *ix);
    if (!ix) return fr__err(err, FR_ENOMEM, "out of memory");
    snprintf(ix->dir, sizeof ix->dir, "%s", dir);
    ix->opts = opts ? *opts : fr_index_opts_default();
    ix->opts.lang = NULL;  // not retained; ix->lang holds it
    ix->opts.embed_model = ix->opts.query_prompt = ix->opts.doc_prompt = NULL;  // ix->emb
    ix->lock_fd = -1;
    pthread_mutex_init(&ix->an_mu, NULL);
    pthread_mutex_init(&ix->emb_mu, NULL);
    *out = ix;
    return 0;
}

static int make_query_analyzer(fr_index *ix, fr_error *err) {
    int rc = fr_analyzer_new(ix->lang, &ix->opts.analyzer, &ix->an, err);
    return rc < 0 ? fr__err_prefix(err, rc, "%s", ix->dir) : 0;
}

int fr_index_open(const char *dir, const fr_index_opts *opts, fr_index **out, fr_error *err) {
    fr_index *ix;
    *out = NULL;
    int rc = handle_new(dir, opts, &ix, err);
    if (rc < 0) return rc;
    rc = load_commit_retry(ix, err);
    if (rc == 0) rc = make_query_analyzer(ix, err);
    if (rc < 0) {
        fr_index_close(ix);
        return rc;
    }
    *out = ix;
    return 0;
}

int fr_index_reopen(fr_index *ix, fr_error *err) {
    if (ix->writer) return fr__err(err, FR_EINVAL, "%s: reopen is for readers", ix->dir);
    fr__commit c;
    int rc = fr__commit_read(ix->dir, &c, err);
    if (rc < 0) return rc;
    uint64_t g = c.generation;
    fr__commit_free(&c);
    if (g == ix->generation) return 0;
    return load_commit_retry(ix, err);
}

static int is_garbage(const char *name) {
    return !strncmp(name, "seg_", 4) || !strcmp(name, "COMMIT.pending");
}

// Removes files no commit or pending state references (crash leftovers).
static void remove_garbage(fr_index *ix) {
    DIR *d = opendir(ix->dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!is_garbage(e->d_name)) continue;
        int used = 0;
        for (uint32_t i = 0; i < ix->n_segs && !used; i++) {
            char ivf[FR__NAME];
            used = !strcmp(ix->segs[i].name, e->d_name) || !strcmp(ix->segs[i].del, e->d_name) ||
                   !strcmp(ix->segs[i].vec, e->d_name) ||
                   (fr__segvec_ivf_name(ix->segs[i].vec, ivf) && !strcmp(ivf, e->d_name));
        }
        if (ix->cur && !strcmp(ix->cur_name, e->d_name)) used = 1;
        if (!used) {
            char p[4400];
            snprintf(p, sizeof p, "%s/%s", ix->dir, e->d_name);
            unlink(p);
        }
    }
    closedir(d);
}

int fr_index_build(const char *dir, const fr_index_opts *opts, fr_index **out, fr_error *err) {
    fr_index *ix;
    *out = NULL;
    int rc = handle_new(dir, opts, &ix, err);
    if (rc < 0) return rc;
    ix->writer = 1;
    char p[4200];
    if (mkdir(dir, 0755) == 0) {
        // the new directory's entry is durable only once its parent is fsynced
        snprintf(p, sizeof p, "%s", dir);
        size_t pl = strlen(p);
        while (pl > 1 && p[pl - 1] == '/') p[--pl] = 0;
        char *slash = strrchr(p, '/');
        if (!slash) snprintf(p, sizeof p, ".");
        else slash[slash == p] = 0;  // "/x" → "/"
        if (ix->opts.sync && (rc = fr__io_fsync_dir(p, err)) < 0) goto fail;
    } else if (errno != EEXIST) {
        rc = fr__err(err, fr__io_errno_code(errno), "%s: mkdir: %s", dir, strerror(errno));
        goto fail;
    }
    snprintf(p, sizeof p, "%s/LOCK", dir);
    ix->lock_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (ix->lock_fd < 0) {
        rc = fr__err(err, fr__io_errno_code(errno), "%s: %s", p, strerror(errno));
        goto fail;
    }
    if (flock(ix->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        rc = fr__err(err, errno == EWOULDBLOCK ? FR_EBUSY : FR_EIO,
                     "%s: another writer holds the index lock", dir);
        goto fail;
    }
    rc = load_commit(ix, err);
    if (rc == FR_ENOTFOUND) {  // a new index: settings from opts, empty first commit
        fr_index_opts o = opts ? *opts : fr_index_opts_default();
        fr_analyzer *probe = NULL;
        if (!(o.k1 >= 0 && o.k1 < 1000) || !(o.b >= 0 && o.b <= 1) || o.title_weight < 0 ||
            o.title_weight > 16) {
            rc = fr__err(err, FR_EINVAL, "%s: k1 must be in [0, 1000), b in [0, 1], title "
                         "weight in 0..16", dir);
            goto fail;
        }
        snprintf(ix->lang, sizeof ix->lang, "%s", o.lang && *o.lang ? o.lang : "english");
        if ((rc = fr_analyzer_new(ix->lang, &ix->opts.analyzer, &probe, err)) < 0) goto fail;
        fr_analyzer_free(probe);
        ix->k1 = o.k1;
        ix->b = o.b;
        ix->tw = (uint32_t)o.title_weight;
        fr__commit c = {0};
        if ((o.embed_model || o.ann) && (rc = fr__segvec_configure(ix, &o, 1, err)) < 0) goto fail;
        c.emb = ix->emb;
        snprintf(c.lang, sizeof c.lang, "%s", ix->lang);
        c.k1 = ix->k1;
        c.b = ix->b;
        c.title_weight = ix->tw;
        if ((rc = fr__commit_write(dir, &c, ix->opts.sync, NULL, err)) < 0) goto fail;
        rc = fr__index_refresh_stats(ix, err);
    } else if (rc == 0 && opts && (opts->embed_model || opts->ann)) {
        rc = fr__segvec_configure(ix, opts, 0, err);
    }
    if (rc < 0) goto fail;
    remove_garbage(ix);
    if ((rc = make_query_analyzer(ix, err)) < 0) goto fail;
    *out = ix;
    return 0;
fail:
    fr_index_close(ix);
    return rc;
}

void fr_index_close(fr_index *ix) {
    if (!ix) return;
    if (ix->cur) fr__segw_abort(ix->cur);
    free(ix->cur_del);
    drop_segs(ix);
    free(ix->segs);
    fr_analyzer_free(ix->an);
    for (uint32_t i = 0; i < ix->n_langs; i++) fr_analyzer_free(ix->langs[i].a);
    free(ix->obsolete);
    fr_embedder_free(ix->embedder);
    if (ix->lock_fd >= 0) close(ix->lock_fd);  // releases the flock
    pthread_mutex_destroy(&ix->an_mu);
    pthread_mutex_destroy(&ix->emb_mu);
    free(ix);
}

// ---- documents: parsing ----

// A document's date (src/base/date.c grammar) as Unix seconds, rounded down. err may be NULL.
static int parse_date(const char *s, size_t n, int64_t *t, fr_error *err) {
    int64_t ms;
    int rc = fr_date_parse(s, n, "\"date\"", &ms, err);
    if (rc < 0) return rc;
    *t = fr__ms_to_s(ms);
    return 0;
}

typedef struct parsed {
    json_t *root;
    fr__newdoc nd;
    char idbuf[32];
    char *meta;   // json_dumps of meta, malloc'd
    char *scratch; // fast path: unescaped strings, malloc'd
} parsed;

static void parsed_free(parsed *p) {
    json_decref(p->root);
    free(p->meta);
    free(p->scratch);
    p->root = NULL;
    p->meta = NULL;
    p->scratch = NULL;
}

static int str_field(json_t *o, const char *key, const char **s, size_t *n, const char **bad) {
    json_t *v = json_object_get(o, key);
    *s = NULL;
    *n = 0;
    if (!v || json_is_null(v)) return 0;
    if (!json_is_string(v)) { *bad = key; return -1; }
    *s = json_string_value(v);
    *n = json_string_length(v);
    return 0;
}

// ---- documents: the fast path ----
// jansson builds a tree of malloc'd nodes per document, about a fifth of the build time.
// Most corpora are flat objects of strings (BEIR: "_id", "title", "text", "metadata": {}),
// so this scanner handles exactly that subset — ASCII keys, strings with the two-character
// escapes, finite JSON numbers, null/true/false, and "{}" as meta — and returns 0 ("not
// handled") for anything else (\u escapes, nested values, duplicate keys, invalid UTF-8,
// type errors), which then goes through jansson for the full grammar and the error message.
// tests/test_index.c checks it against jansson field by field.

static size_t skip_ws(const char *s, size_t i, size_t n) {
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
    return i;
}

// A JSON string at s[i] == '"'. OUT: *out/*olen (into s when there are no escapes, else
// appended to *scr), *end (index after the closing quote). 0: not handled.
static int fast_string(const char *s, size_t i, size_t n, fr__buf *scr, size_t *off,
                       size_t *olen, int *in_scr, size_t *end) {
    size_t j = ++i;
    int esc = 0;
    while (j < n && s[j] != '"') {
        uint8_t c = (uint8_t)s[j];
        if (c < 0x20) return 0;
        if (c == '\\') {
            if (j + 1 >= n || !strchr("\"\\/bfnrt", s[j + 1]) || !s[j + 1]) return 0;
            esc = 1;
            j += 2;
            continue;
        }
        if (c >= 0x80) {
            utf8proc_int32_t cp;
            utf8proc_ssize_t k = utf8proc_iterate((const uint8_t *)s + j, (utf8proc_ssize_t)(n - j), &cp);
            if (k <= 0) return 0;
            j += (size_t)k;
            continue;
        }
        j++;
    }
    if (j >= n) return 0;
    *end = j + 1;
    if (!esc) {
        *off = i;
        *olen = j - i;
        *in_scr = 0;
        return 1;
    }
    *off = scr->len;
    *in_scr = 1;
    for (size_t k = i; k < j; k++) {
        char c = s[k];
        if (c == '\\') {
            char e = s[++k];
            c = e == 'b' ? '\b' : e == 'f' ? '\f' : e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' : e;
        }
        if (fr__buf_putc(scr, c) < 0) return 0;
    }
    *olen = scr->len - *off;
    return fr__buf_putc(scr, 0) == 0;  // keeps strings apart
}

// A JSON number at s[i]. OUT: *v, *end. 0: not a number.
static int fast_number(const char *s, size_t i, size_t n, double *v, size_t *end) {
    size_t j = i;
    if (j < n && s[j] == '-') j++;
    if (j >= n || s[j] < '0' || s[j] > '9') return 0;
    if (s[j] == '0') j++;
    else while (j < n && s[j] >= '0' && s[j] <= '9') j++;
    if (j < n && s[j] == '.') {
        j++;
        if (j >= n || s[j] < '0' || s[j] > '9') return 0;
        while (j < n && s[j] >= '0' && s[j] <= '9') j++;
    }
    if (j < n && (s[j] == 'e' || s[j] == 'E')) {
        j++;
        if (j < n && (s[j] == '+' || s[j] == '-')) j++;
        if (j >= n || s[j] < '0' || s[j] > '9') return 0;
        while (j < n && s[j] >= '0' && s[j] <= '9') j++;
    }
    char tmp[64];
    if (j - i >= sizeof tmp) return 0;
    memcpy(tmp, s + i, j - i);
    tmp[j - i] = 0;
    *v = strtod(tmp, NULL);
    *end = j;
    return isfinite(*v);
}

enum { K_ID, K_UID, K_TEXT, K_TITLE, K_DATE, K_SOURCE, K_LANG, K_AUTH, K_META, K_METADATA, K_N };
static const char *const fast_keys[K_N] = {"id", "_id", "text", "title", "date", "source",
                                           "lang", "authority", "meta", "metadata"};

static int fast_parse(const char *s, size_t n, parsed *p) {
    enum { V_ABSENT, V_NULL, V_STR, V_NUM, V_EMPTYOBJ, V_OTHER };
    int type[K_N] = {0};
    size_t off[K_N] = {0}, len[K_N] = {0};
    int in_scr[K_N] = {0};
    double num[K_N] = {0};
    fr__buf scr = {0};
    size_t i = skip_ws(s, 0, n);
    if (i >= n || s[i] != '{') return 0;
    i = skip_ws(s, i + 1, n);
    if (i < n && s[i] == '}') goto no;  // {} : let jansson say what is missing
    for (;;) {
        if (i >= n || s[i] != '"') goto no;
        size_t ks = i + 1, ke = ks;
        while (ke < n && s[ke] != '"') {
            if (s[ke] == '\\' || (uint8_t)s[ke] >= 0x80 || (uint8_t)s[ke] < 0x20) goto no;
            ke++;
        }
        if (ke >= n) goto no;
        int key = -1;
        for (int k = 0; k < K_N; k++)
            if (strlen(fast_keys[k]) == ke - ks && !memcmp(fast_keys[k], s + ks, ke - ks)) key = k;
        i = skip_ws(s, ke + 1, n);
        if (i >= n || s[i] != ':') goto no;
        i = skip_ws(s, i + 1, n);
        if (i >= n) goto no;
        int t;
        size_t vo = 0, vl = 0, end;
        int vs = 0;
        double v = 0;
        if (s[i] == '"') {
            if (!fast_string(s, i, n, &scr, &vo, &vl, &vs, &end)) goto no;
            t = V_STR;
        } else if (s[i] == 'n' && n - i >= 4 && !memcmp(s + i, "null", 4)) {
            t = V_NULL; end = i + 4;
        } else if (s[i] == 't' && n - i >= 4 && !memcmp(s + i, "true", 4)) {
            t = V_OTHER; end = i + 4;
        } else if (s[i] == 'f' && n - i >= 5 && !memcmp(s + i, "false", 5)) {
            t = V_OTHER; end = i + 5;
        } else if (s[i] == '{') {
            size_t j = skip_ws(s, i + 1, n);
            if (j >= n || s[j] != '}') goto no;  // nested content: jansson
            t = V_EMPTYOBJ; end = j + 1;
        } else if (fast_number(s, i, n, &v, &end)) {
            t = V_NUM;
        } else goto no;
        if (key >= 0) {
            if (type[key] != V_ABSENT) goto no;  // duplicate key
            type[key] = t;
            off[key] = vo;
            len[key] = vl;
            in_scr[key] = vs;
            num[key] = v;
        }
        i = skip_ws(s, end, n);
        if (i < n && s[i] == ',') { i = skip_ws(s, i + 1, n); continue; }
        if (i < n && s[i] == '}') break;
        goto no;
    }
    if (skip_ws(s, i + 1, n) != n) goto no;
    // the same field rules as the jansson path; anything it would reject goes there
    int idk = type[K_ID] == V_ABSENT || type[K_ID] == V_NULL ? K_UID : K_ID;
    if (type[idk] != V_STR || len[idk] == 0 || len[idk] > 4096 || type[K_TEXT] != V_STR) goto no;
    for (int k = K_TITLE; k <= K_LANG; k++)
        if (type[k] != V_ABSENT && type[k] != V_NULL && type[k] != V_STR) goto no;
    if (type[K_AUTH] != V_ABSENT && type[K_AUTH] != V_NULL && type[K_AUTH] != V_NUM) goto no;
    int mk = type[K_META] == V_ABSENT || type[K_META] == V_NULL ? K_METADATA : K_META;
    if (type[mk] != V_ABSENT && type[mk] != V_NULL && type[mk] != V_EMPTYOBJ) goto no;
    p->scratch = scr.data;  // owned by p from here on; fields may point into it
    scr.data = NULL;
    fr__newdoc *nd = &p->nd;
    static const int map[][2] = {{K_TEXT, FLD_TEXT}, {K_TITLE, FLD_TITLE}, {K_DATE, FLD_DATE},
                                 {K_SOURCE, FLD_SOURCE}, {K_LANG, FLD_LANG}};
    for (size_t m = 0; m < sizeof map / sizeof map[0]; m++) {
        int k = map[m][0];
        if (type[k] != V_STR) continue;
        nd->fields[map[m][1]] = (in_scr[k] ? p->scratch : s) + off[k];
        nd->lens[map[m][1]] = len[k];
    }
    nd->fields[FLD_ID] = (in_scr[idk] ? p->scratch : s) + off[idk];
    nd->lens[FLD_ID] = len[idk];
    if (memchr(nd->fields[FLD_ID], 0, nd->lens[FLD_ID])) return 0;
    if (nd->fields[FLD_DATE]) {
        if (parse_date(nd->fields[FLD_DATE], nd->lens[FLD_DATE], &nd->date, NULL) < 0) return 0;
        nd->has_date = 1;
    }
    if (type[K_AUTH] == V_NUM) {
        nd->authority = num[K_AUTH];
        nd->has_authority = 1;
    }
    if (type[mk] == V_EMPTYOBJ) {
        nd->fields[FLD_META] = "{}";
        nd->lens[FLD_META] = 2;
    }
    return 1;
no:
    fr__buf_free(&scr);
    return 0;
}

// Parses one JSON document. On failure fills err with the reason (no location prefix).
static int parse_doc_jansson(const char *json, size_t len, parsed *p, fr_error *err);

static int parse_doc(const char *json, size_t len, parsed *p, fr_error *err) {
    memset(p, 0, sizeof *p);
    if (fast_parse(json, len, p)) return 0;
    parsed_free(p);
    return parse_doc_jansson(json, len, p, err);
}

// Test hook: the fields of a parsed document as one string "field=value|..." (fast: 1 = the
// fast path only, returns 1 if it handled the input; 0 = jansson only). Returns < 0 on error.
int fr__doc_parse_dump(const char *json, size_t len, int fast, char *out, size_t cap) {
    parsed p;
    memset(&p, 0, sizeof p);
    int rc;
    if (fast) rc = fast_parse(json, len, &p) ? 0 : 1;
    else rc = parse_doc_jansson(json, len, &p, NULL);
    if (rc == 0) {
        size_t o = 0;
        for (int i = 0; i < FR__N_FIELDS && o < cap; i++)
            o += (size_t)snprintf(out + o, cap - o, "%d=%s:%.*s|", i, p.nd.fields[i] ? "set" : "null",
                                  (int)p.nd.lens[i], p.nd.fields[i] ? p.nd.fields[i] : "");
        if (o < cap)
            snprintf(out + o, cap - o, "date=%d:%lld|auth=%d:%.17g", p.nd.has_date,
                     (long long)p.nd.date, p.nd.has_authority, p.nd.authority);
    }
    parsed_free(&p);
    return fast ? (rc == 0) : rc;
}

static int parse_doc_jansson(const char *json, size_t len, parsed *p, fr_error *err) {
    memset(p, 0, sizeof *p);
    json_error_t je;
    p->root = json_loadb(json, len, JSON_DECODE_INT_AS_REAL * 0, &je);
    if (!p->root) return fr__err(err, FR_EFORMAT, "invalid JSON at column %d: %s", je.column, je.text);
    if (!json_is_object(p->root)) {
        parsed_free(p);
        return fr__err(err, FR_EFORMAT, "a document must be a JSON object");
    }
    json_t *o = p->root;
    fr__newdoc *nd = &p->nd;
    json_t *id = json_object_get(o, "id");
    if (!id || json_is_null(id)) id = json_object_get(o, "_id");
    if (json_is_integer(id)) {
        snprintf(p->idbuf, sizeof p->idbuf, "%lld", (long long)json_integer_value(id));
        nd->fields[FLD_ID] = p->idbuf;
        nd->lens[FLD_ID] = strlen(p->idbuf);
    } else if (json_is_string(id) && json_string_length(id) > 0) {
        nd->fields[FLD_ID] = json_string_value(id);
        nd->lens[FLD_ID] = json_string_length(id);
    } else {
        parsed_free(p);
        return fr__err(err, FR_EFORMAT, "missing \"id\" (a non-empty string)");
    }
    if (memchr(nd->fields[FLD_ID], 0, nd->lens[FLD_ID]) || nd->lens[FLD_ID] > 4096) {
        parsed_free(p);
        return fr__err(err, FR_EFORMAT, "\"id\" contains a NUL character or is over 4096 bytes");
    }
    const char *bad = NULL;
    json_t *text = json_object_get(o, "text");
    if (!json_is_string(text)) {
        parsed_free(p);
        return fr__err(err, FR_EFORMAT, "missing \"text\" (a string)");
    }
    nd->fields[FLD_TEXT] = json_string_value(text);
    nd->lens[FLD_TEXT] = json_string_length(text);
    if (str_field(o, "title", &nd->fields[FLD_TITLE], &nd->lens[FLD_TITLE], &bad) < 0 ||
        str_field(o, "date", &nd->fields[FLD_DATE], &nd->lens[FLD_DATE], &bad) < 0 ||
        str_field(o, "source", &nd->fields[FLD_SOURCE], &nd->lens[FLD_SOURCE], &bad) < 0 ||
        str_field(o, "lang", &nd->fields[FLD_LANG], &nd->lens[FLD_LANG], &bad) < 0) {
        parsed_free(p);
        return fr__err(err, FR_EFORMAT, "\"%s\" must be a string", bad);
    }
    if (nd->fields[FLD_DATE]) {
        if (parse_date(nd->fields[FLD_DATE], nd->lens[FLD_DATE], &nd->date, err) < 0) {
            parsed_free(p);
            return FR_EFORMAT;
        }
        nd->has_date = 1;
    }
    json_t *au = json_object_get(o, "authority");
    if (au && !json_is_null(au)) {
        if (!json_is_number(au) || !isfinite(json_number_value(au))) {
            parsed_free(p);
            return fr__err(err, FR_EFORMAT, "\"authority\" must be a number");
        }
        nd->authority = json_number_value(au);
        nd->has_authority = 1;
    }
    json_t *meta = json_object_get(o, "meta");
    if (!meta || json_is_null(meta)) meta = json_object_get(o, "metadata");
    if (meta && !json_is_null(meta)) {
        p->meta = json_dumps(meta, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
        if (!p->meta) {
            parsed_free(p);
            return fr__err(err, FR_ENOMEM, "cannot serialise \"meta\"");
        }
        nd->fields[FLD_META] = p->meta;
        nd->lens[FLD_META] = strlen(p->meta);
    }
    return 0;
}

// ---- writes ----

static int need_writer(fr_index *ix, fr_error *err) {
    return ix->writer ? 0 : fr__err(err, FR_EINVAL, "%s: opened read-only", ix->dir);
}

// A failed write (not bad input: nothing of a malformed document is applied) can leave the
// uncommitted state half-done — an update's old copy deleted, its new one lost with the
// segment that failed to flush. Committing that would lose an acknowledged document, so
// every later change is refused until fr_index_rollback. Returns rc.
static int note_failure(fr_index *ix, int rc) {
    if (rc < 0 && rc != FR_EFORMAT && rc != FR_EUTF8 && rc != FR_ENOTFOUND) ix->broken = 1;
    return rc;
}

static int need_intact(fr_index *ix, fr_error *err) {
    int rc = need_writer(ix, err);
    if (rc == 0 && ix->broken)
        rc = fr__err(err, FR_EIO, "%s: an earlier write failed, so the changes since the last "
                     "commit may be incomplete; fr_index_rollback discards them", ix->dir);
    return rc;
}

// The analyzer for a document's "lang" from a per-thread cache (slots, *n_slots); def is
// that thread's analyzer of the index language.
static fr_analyzer *pick_analyzer(fr_index *ix, fr_analyzer *def, fr__langslot *slots,
                                  uint32_t *n_slots, const char *lang, size_t n) {
    if (!lang || !n || n >= 32) return def;
    for (uint32_t i = 0; i < *n_slots; i++)
        if (strlen(slots[i].lang) == n && !memcmp(slots[i].lang, lang, n))
            return slots[i].a ? slots[i].a : def;
    if (*n_slots == FR__MAX_LANGS) return def;
    char l[32];
    memcpy(l, lang, n);
    l[n] = 0;
    fr_analyzer *a = NULL;
    if (strcasecmp(l, ix->lang) != 0) fr_analyzer_new(l, &ix->opts.analyzer, &a, NULL);
    snprintf(slots[*n_slots].lang, 32, "%s", l);
    slots[(*n_slots)++].a = a;  // NULL: unknown language, use the index default
    return a ? a : def;
}

static fr_analyzer *analyzer_for(fr_index *ix, const char *lang, size_t n) {
    return pick_analyzer(ix, ix->an, ix->langs, &ix->n_langs, lang, n);
}

static int flush_cur(fr_index *ix, fr_error *err) {
    if (!ix->cur) return 0;
    uint32_t n = fr__segw_n_docs(ix->cur);
    fr__segw *w = ix->cur;
    ix->cur = NULL;
    if (n == 0) {
        fr__segw_abort(w);
        return 0;
    }
    int rc = fr__segw_finish(w, ix->opts.sync, err);
    if (rc < 0) {
        if (ix->cur_del) memset(ix->cur_del, 0, ix->cur_del_cap);
        return rc;  // the pending documents are lost: the caller reports the error
    }
    fr__segref r;
    rc = open_segref(ix, ix->cur_name, 0, &r, err);
    if (rc == 0 && (rc = fr__segvec_embed(ix, &r, err)) < 0) segref_free(&r);
    if (rc == 0) {
        for (uint32_t d = 0; d < n; d++)
            if (d / 8 < ix->cur_del_cap && ((ix->cur_del[d >> 3] >> (d & 7)) & 1)) {
                r.deleted[d >> 3] |= (uint8_t)(1u << (d & 7));
                r.n_deleted++;
            }
        r.del_dirty = r.n_deleted > 0;
        rc = push_seg(ix, &r, err);
        if (rc < 0) segref_free(&r);
    }
    if (ix->cur_del) memset(ix->cur_del, 0, ix->cur_del_cap);
    if (rc == 0) rc = fr__index_refresh_stats(ix, err);
    return rc;
}

// Marks every live document with this id deleted. Returns 1 if one was found.
static int delete_id(fr_index *ix, const char *id, size_t len, fr_error *err) {
    int found = 0;
    for (uint32_t i = 0; i < ix->n_segs; i++) {
        fr__segref *r = &ix->segs[i];
        uint32_t d;
        int rc = fr__seg_find(r->seg, id, len, &d, err);
        if (rc == FR_ENOTFOUND) continue;
        if (rc < 0) return rc;
        if (fr__is_deleted(r, d)) continue;
        r->deleted[d >> 3] |= (uint8_t)(1u << (d & 7));
        r->n_deleted++;
        r->del_dirty = 1;
        found = 1;
    }
    uint32_t d;
    if (ix->cur && fr__segw_find(ix->cur, id, len, &d) == 0) {
        if (d / 8 >= ix->cur_del_cap) {
            size_t nc = ix->cur_del_cap ? ix->cur_del_cap : 1024;
            while (nc <= d / 8) nc *= 2;
            uint8_t *p = realloc(ix->cur_del, nc);
            if (!p) return fr__err(err, FR_ENOMEM, "out of memory");
            memset(p + ix->cur_del_cap, 0, nc - ix->cur_del_cap);
            ix->cur_del = p;
            ix->cur_del_cap = nc;
        }
        if (!((ix->cur_del[d >> 3] >> (d & 7)) & 1)) {
            ix->cur_del[d >> 3] |= (uint8_t)(1u << (d & 7));
            found = 1;
        }
    }
    return found;
}

static int add_parsed(fr_index *ix, parsed *p, fr_error *err) {
    int rc = delete_id(ix, p->nd.fields[FLD_ID], p->nd.lens[FLD_ID], err);  // update
    if (rc < 0) return rc;
    if (!ix->cur) {
        snprintf(ix->cur_name, sizeof ix->cur_name, "seg_%llu.frs", (unsigned long long)ix->next_id++);
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", ix->dir, ix->cur_name);
        if ((rc = fr__segw_new(path, ix->cur_name, (int)ix->tw, ix->opts.sync, &ix->cur, err)) < 0) return rc;
    }
    fr_analyzer *an = analyzer_for(ix, p->nd.fields[FLD_LANG], p->nd.lens[FLD_LANG]);
    uint32_t d;
    if ((rc = fr__segw_add(ix->cur, &p->nd, an, &d, err)) < 0) return rc;
    if (fr__segw_mem(ix->cur) > ix->opts.mem_budget) rc = flush_cur(ix, err);
    return rc;
}

int fr_index_add(fr_index *ix, const char *json, size_t len, fr_error *err) {
    int rc = need_intact(ix, err);
    if (rc < 0) return rc;
    parsed p;
    if ((rc = parse_doc(json, len, &p, err)) < 0) return rc;
    rc = note_failure(ix, add_parsed(ix, &p, err));
    parsed_free(&p);
    return rc;
}

static void unlink_name(fr_index *ix, const char *name);

// ---- parallel bulk add ----
// fr_index_add_jsonl with threads > 1 on a regular file. The file is cut into byte ranges;
// range k holds the lines that START in [k * split, (k + 1) * split) (a line crossing a cut
// belongs to the range it starts in). Threads claim ranges in order and build each into its
// own segments (analyzers and a memory budget of mem_budget / threads per thread). The
// segments are then appended to the snapshot in range order, so global doc numbers are the
// input order, exactly as the sequential path numbers them; the segment boundaries differ,
// which changes no score (df, N and avgdl are sums over segments). Replacement by id
// ("last occurrence wins") is resolved after the build, over the old segments and the new
// ones together. Errors: with --on-error fail, ranges after the first failing one stop
// early and the earliest failing line is reported; line numbers are range-local while
// building and made absolute from the per-range line counts afterwards.

size_t fr__index_split_bytes;

typedef struct prange {
    uint64_t start, end;                // byte range of line starts
    char (*segs)[FR__NAME];             // segments built from this range, in order
    uint32_t n_segs, segs_cap;
    size_t lines, added, skipped;
    int rc;                             // < 0: fatal error at local line err_line
    size_t err_line;
    fr_error e;                         // message of rc (no location)
    size_t bad_line;                    // first skipped line (0: none)
    fr_error bad;
} prange;

typedef struct pctx {
    fr_index *ix;
    const char *path;
    fr_on_error on_error;
    prange *r;
    uint32_t n_ranges;
    uint32_t next;                      // next range to claim (atomic)
    uint32_t fail;                      // first range with a fatal error (atomic)
    pthread_mutex_t mu;                 // ix->next_id
    size_t budget;                      // per-thread segment memory
} pctx;

static int range_push_seg(prange *r, const char *name) {
    if (r->n_segs == r->segs_cap) {
        uint32_t nc = r->segs_cap ? r->segs_cap * 2 : 4;
        char (*p)[FR__NAME] = realloc(r->segs, nc * sizeof *p);
        if (!p) return FR_ENOMEM;
        r->segs = p;
        r->segs_cap = nc;
    }
    snprintf(r->segs[r->n_segs++], FR__NAME, "%s", name);
    return 0;
}

static int range_flush(pctx *c, prange *r, fr__segw **w, const char *name) {
    if (!*w) return 0;
    fr__segw *x = *w;
    *w = NULL;
    if (fr__segw_n_docs(x) == 0) {
        fr__segw_abort(x);
        return 0;
    }
    int rc = fr__segw_finish(x, c->ix->opts.sync, &r->e);
    if (rc < 0) return rc;
    if (range_push_seg(r, name) < 0) {
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", c->ix->dir, name);
        unlink(p);
        return fr__err(&r->e, FR_ENOMEM, "out of memory");
    }
    return 0;
}

static void range_fail(pctx *c, uint32_t k) {
    uint32_t cur = __atomic_load_n(&c->fail, __ATOMIC_ACQUIRE);
    while (k < cur && !__atomic_compare_exchange_n(&c->fail, &cur, k, 0, __ATOMIC_ACQ_REL,
                                                   __ATOMIC_ACQUIRE)) {}
}

static void build_range(pctx *c, uint32_t k, FILE *f, fr_analyzer *def, fr__langslot *slots,
                        uint32_t *n_slots, char **line, size_t *cap) {
    fr_index *ix = c->ix;
    prange *r = &c->r[k];
    fr__segw *w = NULL;
    char name[FR__NAME];
    int rc = 0;
    uint64_t pos = r->start;
    if (pos > 0) {  // skip the line that started in the previous range
        if (fseeko(f, (off_t)(pos - 1), SEEK_SET) < 0) {
            rc = fr__err(&r->e, FR_EIO, "seek: %s", strerror(errno));
            goto done;
        }
        int ch = getc(f);  // the byte before start: pos is already the offset after it
        while (ch != '\n' && ch != EOF) {
            ch = getc(f);
            if (ch != EOF) pos++;
        }
    } else if (fseeko(f, 0, SEEK_SET) < 0) {
        rc = fr__err(&r->e, FR_EIO, "seek: %s", strerror(errno));
        goto done;
    }
    ssize_t n;
    while (pos < r->end && (n = getline(line, cap, f)) >= 0) {
        pos += (uint64_t)n;
        size_t lineno = ++r->lines;
        if ((lineno & 255) == 0 && __atomic_load_n(&c->fail, __ATOMIC_ACQUIRE) < k) break;
        size_t len = (size_t)n;
        char *s = *line;
        while (len && (s[len - 1] == '\n' || s[len - 1] == '\r')) len--;
        size_t i = 0;
        while (i < len && (s[i] == ' ' || s[i] == '\t')) i++;
        if (i == len) continue;
        parsed p;
        fr_error e = {0};
        rc = parse_doc(s, len, &p, &e);
        if (rc < 0) {
            if (c->on_error == FR_ON_ERROR_FAIL) {
                r->e = e;
                r->err_line = lineno;
                goto done;
            }
            if (!r->bad_line) {
                r->bad_line = lineno;
                r->bad = e;
            }
            r->skipped++;
            rc = 0;
            continue;
        }
        if (!w) {
            pthread_mutex_lock(&c->mu);
            snprintf(name, sizeof name, "seg_%llu.frs", (unsigned long long)ix->next_id++);
            pthread_mutex_unlock(&c->mu);
            char path[4200];
            snprintf(path, sizeof path, "%s/%s", ix->dir, name);
            rc = fr__segw_new(path, name, (int)ix->tw, ix->opts.sync, &w, &r->e);
        }
        if (rc == 0) {
            fr_analyzer *an = pick_analyzer(ix, def, slots, n_slots, p.nd.fields[FLD_LANG],
                                            p.nd.lens[FLD_LANG]);
            uint32_t d;
            rc = fr__segw_add(w, &p.nd, an, &d, &r->e);
        }
        parsed_free(&p);
        if (rc == 0 && fr__segw_mem(w) > c->budget) rc = range_flush(c, r, &w, name);
        if (rc < 0) {
            r->err_line = lineno;
            goto done;
        }
        r->added++;
    }
    if (ferror(f)) rc = fr__err(&r->e, FR_EIO, "read error");
    else rc = range_flush(c, r, &w, name);
    if (rc < 0) r->err_line = r->lines;
done:
    fr__segw_abort(w);
    r->rc = rc;
    if (rc < 0) range_fail(c, k);
}

static void *par_worker(void *arg) {
    pctx *c = arg;
    fr_index *ix = c->ix;
    fr__langslot slots[FR__MAX_LANGS];
    uint32_t n_slots = 0;
    fr_analyzer *def = NULL;
    char *line = NULL;
    size_t cap = 0;
    fr_error e = {0};
    int rc = fr_analyzer_new(ix->lang, &ix->opts.analyzer, &def, &e);
    FILE *f = rc < 0 ? NULL : fopen(c->path, "rb");
    if (rc == 0 && !f) rc = fr__err(&e, fr__io_errno_code(errno), "%s", strerror(errno));
    for (;;) {
        uint32_t k = __atomic_fetch_add(&c->next, 1, __ATOMIC_ACQ_REL);
        if (k >= c->n_ranges || k > __atomic_load_n(&c->fail, __ATOMIC_ACQUIRE)) break;
        if (rc < 0) {  // could not set up: this range fails
            c->r[k].rc = rc;
            c->r[k].e = e;
            range_fail(c, k);
            break;
        }
        build_range(c, k, f, def, slots, &n_slots, &line, &cap);
    }
    free(line);
    if (f) fclose(f);
    fr_analyzer_free(def);
    for (uint32_t i = 0; i < n_slots; i++) fr_analyzer_free(slots[i].a);
    return NULL;
}

static void mark_deleted(fr__segref *r, uint32_t d) {
    if (fr__is_deleted(r, d)) return;
    r->deleted[d >> 3] |= (uint8_t)(1u << (d & 7));
    r->n_deleted++;
    r->del_dirty = 1;
}

static int same_id(const fr__seg *a, uint32_t da, const fr__seg *b, uint32_t db, fr_error *err) {
    fr_doc x, y;
    int rc = fr__seg_doc(a, da, &x, err);
    if (rc == 0) rc = fr__seg_doc(b, db, &y, err);
    if (rc < 0) return rc;
    return x.id_len == y.id_len && !memcmp(x.id, y.id, x.id_len);
}

// Replacement by id for segments [first, n_segs) just appended: every earlier document
// (old segments, or earlier in the new ones) with the id of a new one is deleted, as the
// sequential path's delete_id does document by document.
static int dedup_new(fr_index *ix, uint32_t first, fr_error *err) {
    uint64_t total = 0;
    for (uint32_t s = first; s < ix->n_segs; s++) total += ix->segs[s].seg->n_docs;
    if (!total) return 0;
    int rc = 0;
    // against the old segments: by hash (binary search), then the stored ids
    for (uint32_t s = first; s < ix->n_segs && first > 0; s++) {
        const fr__seg *ns = ix->segs[s].seg;
        for (uint32_t i = 0; i < ns->n_docs; i++) {
            uint64_t h = ns->ids[i].hash;
            for (uint32_t o = 0; o < first; o++) {
                fr__segref *r = &ix->segs[o];
                const fr__seg *os = r->seg;
                uint32_t lo = 0, hi = os->n_docs;
                while (lo < hi) {
                    uint32_t mid = lo + (hi - lo) / 2;
                    if (os->ids[mid].hash < h) lo = mid + 1;
                    else hi = mid;
                }
                for (uint32_t j = lo; j < os->n_docs && os->ids[j].hash == h; j++) {
                    uint32_t d = os->ids[j].doc;
                    if (d >= os->n_docs)
                        return fr__err(err, FR_ECORRUPT, "%s: id map entry out of range", os->name);
                    if (fr__is_deleted(r, d)) continue;
                    if ((rc = same_id(os, d, ns, ns->ids[i].doc, err)) < 0) return rc;
                    if (rc) mark_deleted(r, d);
                }
            }
        }
    }
    // among the new segments: open addressing on the id hash; the later position wins
    uint64_t cap = 16;
    while (cap < total * 2) cap *= 2;
    struct slot { uint64_t hash; uint32_t seg, doc; } *t = malloc(cap * sizeof *t);
    if (!t) return fr__err(err, FR_ENOMEM, "%s: out of memory", ix->dir);
    for (uint64_t i = 0; i < cap; i++) t[i].seg = UINT32_MAX;
    rc = 0;
    for (uint32_t s = first; s < ix->n_segs && rc == 0; s++) {
        const fr__seg *ns = ix->segs[s].seg;
        for (uint32_t i = 0; i < ns->n_docs && rc == 0; i++) {
            uint64_t h = ns->ids[i].hash;
            uint32_t d = ns->ids[i].doc;
            if (d >= ns->n_docs) {
                rc = fr__err(err, FR_ECORRUPT, "%s: id map entry out of range", ns->name);
                break;
            }
            uint64_t at = (h ^ (h >> 29)) & (cap - 1);
            for (;; at = (at + 1) & (cap - 1)) {
                struct slot *e = &t[at];
                if (e->seg == UINT32_MAX) {
                    e->hash = h;
                    e->seg = s;
                    e->doc = d;
                    break;
                }
                if (e->hash != h) continue;
                int same = same_id(ix->segs[e->seg].seg, e->doc, ns, d, err);
                if (same < 0) { rc = same; break; }
                if (!same) continue;
                if (e->seg < s || (e->seg == s && e->doc < d)) {
                    mark_deleted(&ix->segs[e->seg], e->doc);
                    e->seg = s;
                    e->doc = d;
                } else {
                    mark_deleted(&ix->segs[s], d);
                }
                break;
            }
        }
    }
    free(t);
    return rc;
}

static int add_jsonl_par(fr_index *ix, const char *path, uint64_t size, unsigned threads,
                         fr_on_error on_error, size_t *n_added, size_t *n_skipped,
                         fr_error *err) {
    int rc = flush_cur(ix, err);  // documents added before come first
    if (rc < 0) return rc;
    uint64_t split = fr__index_split_bytes;
    if (!split) {  // several ranges per thread for balance, not so many tiny segments
        split = size / ((uint64_t)threads * 2) + 1;
        if (split < ((uint64_t)16 << 20)) split = (uint64_t)16 << 20;
    }
    pctx c = {0};
    c.ix = ix;
    c.path = path;
    c.on_error = on_error;
    c.n_ranges = (uint32_t)((size + split - 1) / split);
    if (c.n_ranges == 0) c.n_ranges = 1;
    c.fail = UINT32_MAX;
    c.budget = ix->opts.mem_budget / threads;
    c.r = calloc(c.n_ranges, sizeof *c.r);
    if (!c.r) return fr__err(err, FR_ENOMEM, "out of memory");
    for (uint32_t k = 0; k < c.n_ranges; k++) {
        c.r[k].start = (uint64_t)k * split;
        c.r[k].end = k + 1 == c.n_ranges ? UINT64_MAX : (uint64_t)(k + 1) * split;
    }
    pthread_mutex_init(&c.mu, NULL);
    if (threads > c.n_ranges) threads = c.n_ranges;
    pthread_t tid[64];
    unsigned started = 0;
    for (; started < threads - 1 && started < 63; started++)
        if (pthread_create(&tid[started], NULL, par_worker, &c) != 0) break;
    par_worker(&c);  // this thread works too
    for (unsigned i = 0; i < started; i++) pthread_join(tid[i], NULL);
    pthread_mutex_destroy(&c.mu);
    // results, in range order
    size_t added = 0, skipped = 0, line0 = 1;
    uint32_t fail = c.fail;
    int first_bad = 1;
    rc = 0;
    for (uint32_t k = 0; k < c.n_ranges && k <= fail; k++) {
        prange *r = &c.r[k];
        added += r->added;
        skipped += r->skipped;
        if (r->bad_line && first_bad) {
            fr__err(err, r->bad.code, "%s:%zu: %s", path, line0 + r->bad_line - 1, r->bad.msg);
            first_bad = 0;
        }
        if (k == fail) {
            rc = r->rc;
            fr__err(err, rc, "%s:%zu: %s", path, line0 + (r->err_line ? r->err_line - 1 : 0),
                    r->e.msg);
        }
        line0 += r->lines;
    }
    uint32_t first = ix->n_segs;
    for (uint32_t k = 0; k < c.n_ranges; k++)
        for (uint32_t i = 0; i < c.r[k].n_segs; i++) {
            if (rc == 0) {
                fr__segref sr;
                rc = open_segref(ix, c.r[k].segs[i], 0, &sr, err);
                if (rc == 0 && (rc = fr__segvec_embed(ix, &sr, err)) < 0) segref_free(&sr);
                else if (rc == 0 && (rc = push_seg(ix, &sr, err)) < 0) segref_free(&sr);
                if (rc == 0) continue;
            }
            unlink_name(ix, c.r[k].segs[i]);  // not in the snapshot: garbage
        }
    if (rc == 0) rc = dedup_new(ix, first, err);
    if (rc == 0) rc = fr__index_refresh_stats(ix, err);
    for (uint32_t k = 0; k < c.n_ranges; k++) free(c.r[k].segs);
    free(c.r);
    if (n_added) *n_added = added;
    if (n_skipped) *n_skipped = skipped;
    return rc;
}

// fr_index_opts.threads resolved: 0 → online CPUs; 1..64.
static unsigned index_threads(const fr_index *ix) {
    long nc = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned threads = ix->opts.threads > 0 ? (unsigned)ix->opts.threads : nc > 0 ? (unsigned)nc : 1;
    return threads > 64 ? 64 : threads;
}

int fr_index_add_jsonl(fr_index *ix, const char *path, fr_on_error on_error,
                       size_t *n_added, size_t *n_skipped, fr_error *err) {
    size_t added = 0, skipped = 0;
    if (n_added) *n_added = 0;
    if (n_skipped) *n_skipped = 0;
    int rc = need_intact(ix, err);
    if (rc < 0) return rc;
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f) return fr__err(err, fr__io_errno_code(errno), "%s: %s", path, strerror(errno));
    unsigned threads = index_threads(ix);
    struct stat st;
    if (threads > 1 && f != stdin && fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode)) {
        fclose(f);
        return note_failure(ix, add_jsonl_par(ix, path, (uint64_t)st.st_size, threads, on_error,
                                              n_added, n_skipped, err));
    }
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t n;
    int first_bad = 1;
    rc = 0;
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        size_t len = (size_t)n;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
        size_t k = 0;
        while (k < len && (line[k] == ' ' || line[k] == '\t')) k++;
        if (k == len) continue;
        parsed p;
        fr_error e = {0};
        rc = parse_doc(line, len, &p, &e);
        if (rc < 0) {
            if (first_bad || on_error == FR_ON_ERROR_FAIL)
                fr__err(err, rc, "%s:%zu: %s", path, lineno, e.msg);
            first_bad = 0;
            if (on_error == FR_ON_ERROR_FAIL) break;
            skipped++;
            rc = 0;
            continue;
        }
        rc = note_failure(ix, add_parsed(ix, &p, err));
        parsed_free(&p);
        if (rc < 0) {
            fr__err_prefix(err, rc, "%s:%zu", path, lineno);
            break;
        }
        added++;
    }
    if (rc == 0 && ferror(f)) rc = fr__err(err, FR_EIO, "%s: read error", path);
    free(line);
    if (f != stdin) fclose(f);
    if (n_added) *n_added = added;
    if (n_skipped) *n_skipped = skipped;
    return rc;
}

int fr_index_delete(fr_index *ix, const char *id, fr_error *err) {
    int rc = need_intact(ix, err);
    if (rc < 0) return rc;
    rc = note_failure(ix, delete_id(ix, id, strlen(id), err));
    if (rc < 0) return rc;
    return rc ? 0 : fr__err(err, FR_ENOTFOUND, "%s: no document with id \"%s\"", ix->dir, id);
}

// A vectors file goes with its IVF file (segvec.c).
static void unlink_name(fr_index *ix, const char *name) {
    char p[4200], ivf[FR__NAME];
    snprintf(p, sizeof p, "%s/%s", ix->dir, name);
    unlink(p);
    if (fr__segvec_ivf_name(name, ivf)) unlink_name(ix, ivf);
}

int fr__index_add_obsolete(fr_index *ix, const char *name) {
    if (!name[0]) return 0;
    char ivf[FR__NAME];
    if (fr__segvec_ivf_name(name, ivf) && fr__index_add_obsolete(ix, ivf) < 0) return FR_ENOMEM;
    if (ix->n_obsolete == ix->obsolete_cap) {
        uint32_t nc = ix->obsolete_cap ? ix->obsolete_cap * 2 : 16;
        char (*p)[FR__NAME] = realloc(ix->obsolete, nc * sizeof *p);
        if (!p) return FR_ENOMEM;
        ix->obsolete = p;
        ix->obsolete_cap = nc;
    }
    snprintf(ix->obsolete[ix->n_obsolete++], FR__NAME, "%s", name);
    return 0;
}

int fr_index_commit(fr_index *ix, fr_error *err) {
    int rc = need_intact(ix, err);
    if (rc < 0) return rc;
    if ((rc = note_failure(ix, flush_cur(ix, err))) < 0) return rc;
    uint64_t gen = ix->generation + 1;
    fr__commit c = {0};
    c.generation = gen;
    c.next_id = ix->next_id;
    snprintf(c.lang, sizeof c.lang, "%s", ix->lang);
    c.k1 = ix->k1;
    c.b = ix->b;
    c.title_weight = ix->tw;
    c.emb = ix->emb;
    c.n_segs = ix->n_segs;
    c.segs = calloc(ix->n_segs + 1, sizeof *c.segs);
    if (!c.segs) return fr__err(err, FR_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < ix->n_segs; i++) {
        fr__segref *r = &ix->segs[i];
        fr__commit_seg *cs = &c.segs[i];
        snprintf(cs->name, sizeof cs->name, "%s", r->name);
        snprintf(cs->del, sizeof cs->del, "%s", r->del);
        snprintf(cs->vec, sizeof cs->vec, "%s", r->vec);
        cs->n_docs = r->seg->n_docs;
        cs->n_deleted = r->n_deleted;
        if (r->del_dirty) {
            char base[FR__NAME];
            snprintf(base, sizeof base, "%.*s", (int)(strlen(r->name) - 4), r->name);
            snprintf(cs->del, sizeof cs->del, "%.20s_%llu.del", base, (unsigned long long)gen);
            rc = fr__tomb_write(ix->dir, cs->del, r->deleted, r->seg->n_docs, ix->opts.sync, err);
            if (rc < 0) goto done;
        }
    }
    // new segment and tombstone files must be durable names before COMMIT points at them
    if (ix->opts.sync && (rc = fr__io_fsync_dir(ix->dir, err)) < 0) goto done;
    int renamed = 0;
    rc = fr__commit_write(ix->dir, &c, ix->opts.sync, &renamed, err);
    if (!renamed) goto done;
    // COMMIT names the new state: adopt it (a retry must not rewrite the tombstone files it
    // names), then, once durable, remove what no commit references any more. After a failed
    // directory fsync the old COMMIT may come back with a crash, so its files stay (obsolete)
    // until a later commit is durable.
    ix->generation = gen;
    for (uint32_t i = 0; i < ix->n_segs; i++) {
        fr__segref *r = &ix->segs[i];
        if (strcmp(r->del, c.segs[i].del)) fr__index_add_obsolete(ix, r->del);
        snprintf(r->del, sizeof r->del, "%s", c.segs[i].del);
        r->del_dirty = 0;
        r->committed = 1;
    }
    if (rc < 0) goto done;
    for (uint32_t i = 0; i < ix->n_obsolete; i++) unlink_name(ix, ix->obsolete[i]);
    ix->n_obsolete = 0;
done:
    fr__commit_free(&c);
    return rc;
}

int fr_index_rollback(fr_index *ix, fr_error *err) {
    int rc = need_writer(ix, err);
    if (rc < 0) return rc;
    if (ix->cur) fr__segw_abort(ix->cur);
    ix->cur = NULL;
    if (ix->cur_del) memset(ix->cur_del, 0, ix->cur_del_cap);
    ix->n_obsolete = 0;
    rc = load_commit(ix, err);
    ix->broken = rc < 0;
    remove_garbage(ix);
    return rc;
}

// ---- optimize ----

int fr_index_optimize(fr_index *ix, fr_error *err) {
    int rc = fr_index_commit(ix, err);
    if (rc < 0) return rc;
    uint32_t n_old = ix->n_segs;
    if (n_old == 0 || (n_old == 1 && ix->segs[0].n_deleted == 0)) return 0;
    const fr__seg **segs = malloc(n_old * sizeof *segs);
    const uint8_t **dels = malloc(n_old * sizeof *dels);
    if (!segs || !dels) {
        free(segs);
        free(dels);
        return fr__err(err, FR_ENOMEM, "%s: out of memory", ix->dir);
    }
    for (uint32_t i = 0; i < n_old; i++) {
        segs[i] = ix->segs[i].seg;
        dels[i] = ix->segs[i].deleted;
    }
    char name[FR__NAME], path[4200];
    snprintf(name, sizeof name, "seg_%llu.frs", (unsigned long long)ix->next_id++);
    snprintf(path, sizeof path, "%s/%s", ix->dir, name);
    uint32_t n_docs = 0;
    rc = fr__seg_merge(segs, dels, n_old, path, ix->opts.sync, (int)index_threads(ix), &n_docs,
                       err);
    free(segs);
    free(dels);
    if (rc < 0) return fr__err_prefix(err, rc, "%s: optimize", ix->dir);
    fr__segref r;
    if (n_docs == 0) {  // every document was deleted: an empty index
        unlink(path);
        memset(&r, 0, sizeof r);
    } else if ((rc = open_segref(ix, name, 0, &r, err)) < 0) {
        unlink(path);
        return rc;
    } else if ((rc = fr__segvec_merge(ix, ix->segs, n_old, &r, err)) < 0) {
        segref_free(&r);
        unlink(path);
        return rc;
    }
    char vec[FR__NAME];
    snprintf(vec, sizeof vec, "%s", n_docs ? r.vec : "");
    fr__segref *old = ix->segs;
    ix->segs = NULL;
    ix->n_segs = ix->segs_cap = 0;
    if (n_docs && (rc = push_seg(ix, &r, err)) < 0) segref_free(&r);
    uint32_t n_obs = ix->n_obsolete;
    for (uint32_t i = 0; i < n_old && rc == 0; i++) {
        fr__index_add_obsolete(ix, old[i].name);
        fr__index_add_obsolete(ix, old[i].del);
        fr__index_add_obsolete(ix, old[i].vec);
    }
    uint64_t gen0 = ix->generation;
    if (rc == 0) rc = fr__index_refresh_stats(ix, err);
    if (rc == 0) rc = fr_index_commit(ix, err);
    if (rc < 0 && ix->generation == gen0) {  // back to the old snapshot; the merged file is garbage
        for (uint32_t i = 0; i < ix->n_segs; i++) segref_free(&ix->segs[i]);
        free(ix->segs);
        unlink(path);
        if (vec[0]) unlink_name(ix, vec);
        ix->segs = old;
        ix->n_segs = ix->segs_cap = n_old;
        ix->n_obsolete = n_obs;
        fr__index_refresh_stats(ix, NULL);
        return rc;
    }
    // done, or the merge's COMMIT is in place but its directory fsync failed (rc < 0): the
    // handle keeps the merged snapshot that COMMIT names, the old files stay obsolete
    for (uint32_t i = 0; i < n_old; i++) segref_free(&old[i]);
    free(old);
    return rc;
}

// ---- reading ----

static fr__segref *seg_of(fr_index *ix, uint32_t doc, uint32_t *local) {
    uint32_t lo = 0, hi = ix->n_segs;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (ix->segs[mid].base + ix->segs[mid].seg->n_docs <= doc) lo = mid + 1;
        else hi = mid;
    }
    if (lo == ix->n_segs || doc < ix->segs[lo].base) return NULL;
    *local = doc - ix->segs[lo].base;
    return &ix->segs[lo];
}

int fr_index_doc(fr_index *ix, uint32_t doc, fr_doc *out, fr_error *err) {
    uint32_t l;
    fr__segref *r = seg_of(ix, doc, &l);
    if (!r) {
        memset(out, 0, sizeof *out);
        return fr__err(err, FR_ERANGE, "%s: doc %u out of range (%llu docs)", ix->dir, doc,
                       (unsigned long long)ix->N);
    }
    int rc = fr__seg_doc(r->seg, l, out, err);
    if (rc == 0) out->deleted = fr__is_deleted(r, l);
    return rc;
}

int fr_index_find(fr_index *ix, const char *id, uint32_t *doc, fr_error *err) {
    size_t len = strlen(id);
    for (uint32_t i = ix->n_segs; i-- > 0;) {
        fr__segref *r = &ix->segs[i];
        uint32_t d;
        int rc = fr__seg_find(r->seg, id, len, &d, err);
        if (rc == FR_ENOTFOUND) continue;
        if (rc < 0) return rc;
        if (fr__is_deleted(r, d)) continue;
        *doc = r->base + d;
        return 0;
    }
    return fr__err(err, FR_ENOTFOUND, "%s: no document with id \"%s\"", ix->dir, id);
}

int fr_index_doc_terms(fr_index *ix, uint32_t doc, fr_terms *out, fr_error *err) {
    fr_doc d;
    int rc = fr_index_doc(ix, doc, &d, err);
    if (rc < 0) return rc;
    pthread_mutex_lock(&ix->an_mu);
    fr_analyzer *a = NULL;
    if (d.lang && strcasecmp(d.lang, ix->lang) != 0) fr_analyzer_new(d.lang, &ix->opts.analyzer, &a, NULL);
    fr_analyzer *use = a ? a : ix->an;
    uint32_t base = out->n ? out->pos[out->n - 1] + 1 : 0;
    rc = 0;
    if (d.title) rc = fr__analyze_append(use, d.title, (ptrdiff_t)d.title_len, base, out, err);
    uint32_t base2 = out->n ? out->pos[out->n - 1] + 1 : base;
    if (rc == 0) rc = fr__analyze_append(use, d.text, (ptrdiff_t)d.text_len, base2, out, err);
    fr_analyzer_free(a);
    pthread_mutex_unlock(&ix->an_mu);
    return rc;
}

int fr_index_analyze(fr_index *ix, const char *text, ptrdiff_t len, fr_terms *out,
                     fr_error *err) {
    pthread_mutex_lock(&ix->an_mu);
    int rc = fr_analyze_terms(ix->an, text, len, out, err);
    pthread_mutex_unlock(&ix->an_mu);
    return rc;
}

int fr_index_stats_get(fr_index *ix, fr_index_stats *out, fr_error *err) {
    memset(out, 0, sizeof *out);
    out->n_docs = ix->N;
    out->n_segments = ix->n_segs;
    uint64_t del = 0;
    for (uint32_t i = 0; i < ix->n_segs; i++) {
        del += ix->segs[i].n_deleted;
        out->n_terms += ix->segs[i].seg->n_terms;
        out->bytes += ix->segs[i].seg->len;
    }
    out->n_live = ix->N - del;
    out->avg_dl = ix->N ? (double)ix->sum_dl / (double)ix->N : 0;
    out->avg_title_len = ix->N ? (double)ix->sum_title / (double)ix->N : 0;
    out->avg_text_len = ix->N ? (double)ix->sum_text / (double)ix->N : 0;
    out->k1 = ix->k1;
    out->b = ix->b;
    out->title_weight = (int)ix->tw;
    out->generation = ix->generation;
    snprintf(out->lang, sizeof out->lang, "%s", ix->lang);
    return 0;
}

uint32_t fr_index_n_docs(fr_index *ix) { return (uint32_t)ix->N; }
