/* segvec.c — the index's embeddings, stored per segment: the recorded model (COMMIT version
 * 2, commit.h), one immutable vectors file per segment, the embedder that makes them, and the
 * backfill that adds them to an index built without a model. Dense search over them is in
 * search.c (it shares the filters of BM25).
 *
 * Files: seg_<n>_<id>.frv holds segment seg_<n>.frs's rows, one per document in segment doc
 * order (deleted documents keep their row so that row = local doc number), in the format of
 * src/index/vectors.c (magic "FRVECS02" = version 2, type, dim, n, model, the int8 transform,
 * rows, CRC32; version 1 files, without a transform, are still read). <id>
 * comes from the index's file counter (as segment numbers), so a new file never overwrites
 * one that a commit, or this writer's snapshot, still names. A file is written as .pending, fsynced,
 * renamed and the directory fsynced before any COMMIT points at it (the commit protocol of
 * index.c); names no COMMIT references are garbage for the next writer.
 *
 * When vectors are made: the writer embeds a segment right after flushing it (index add,
 * build), with the recorded model and document prompt, "title text" as the passage. A merge
 * (optimize) copies the live rows of its sources unchanged (int8 rows keep their scales) when
 * they share one int8 transform, as every segment of an index written by this version does
 * once FIT_ROWS documents have been embedded (see "the int8 transform" below). A
 * segment may lack vectors (index built without a model, then fr_index_set_embedding
 * records one): BM25 ignores that; dense search reports it.
 *
 * Readers map each file and search it in place (fr__vecs_view), so opening an index costs no
 * copy of its vectors; with verify_checksums the CRC is checked on open, as for segments.
 *
 * Approximate index: when the index opted in (fr__embed_conf.ivf_lists, kept in COMMIT), every
 * vectors file of at least fr__ivf_min_rows rows gets seg_<n>_<id>.ivf (src/index/ivf.c),
 * written durably right after it and before any COMMIT names it. COMMIT does not name the
 * .ivf: it goes with its .frv everywhere (kept, made obsolete, unlinked and collected as
 * garbage together; index.c), and the reader ties it to that .frv by the .frv's CRC. A merge
 * builds a new IVF over the merged rows; the backfill builds missing ones for kept rows.
 * The embedder is opened on first use under a mutex; after that it is immutable and shared
 * by concurrent queries.
 */
#include <string.h>
#include <unistd.h>

#include "index/index_impl.h"
#include "index/ivf.h"
#include "index/vectors.h"

#define EMBED_BATCH 256  // documents per fr_embedder_embed call (it packs them by length)
#define FIT_ROWS 4096    // a segment's first rows, added at once: the int8 transform's sample

void fr__segvec_name(const char *seg, uint64_t id, char out[FR__NAME]) {
    size_t n = strlen(seg);
    if (n > 4 && !strcmp(seg + n - 4, ".frs")) n -= 4;
    snprintf(out, FR__NAME, "%.*s_%llu.frv", (int)(n > 20 ? 20 : n), seg, (unsigned long long)id);
}

int fr__segvec_ivf_name(const char *vec, char out[FR__NAME]) {
    size_t n = strlen(vec);
    out[0] = 0;
    if (n <= 4 || n >= FR__NAME || strcmp(vec + n - 4, ".frv")) return 0;
    snprintf(out, FR__NAME, "%.*s.ivf", (int)(n - 4), vec);
    return 1;
}

// ---- files ----

// The IVF file of vectors file vec: OUT name, path (in ix's directory); 0 when vec is not a
// vectors file name.
static int ivf_path(const fr_index *ix, const char *vec, char name[FR__NAME], char path[4200]) {
    if (!fr__segvec_ivf_name(vec, name)) return 0;
    snprintf(path, 4200, "%s/%s", ix->dir, name);
    return 1;
}

// The CRC32 trailer of r's mapped vectors file: the tag that ties an IVF file to it.
static uint32_t frv_crc(const fr__segref *r) {
    uint32_t tag;
    memcpy(&tag, (const uint8_t *)r->vmap.data + r->vmap.len - 4, 4);
    return tag;
}

// Maps the IVF file of r's vectors (r->vec) when there is one, checked against r->vecs and
// the vectors file's CRC trailer. None: r->ivf stays NULL (exact scans: small segments, or an
// index that opted in after this segment was written). A file that is there but does not
// check out is FR_ECORRUPT, as for a damaged vectors file: it was written and fsynced before
// the COMMIT that names the vectors, so only damage or tampering gets it wrong.
static int ivf_attach(fr_index *ix, fr__segref *r, int verify, fr_error *err) {
    char name[FR__NAME], path[4200];
    if (!ivf_path(ix, r->vec, name, path)) return 0;
    if (access(path, F_OK) != 0) return 0;
    fr__mmap m;
    int rc = fr__mmap_open(path, &m, err);
    if (rc < 0) return rc;
    fr__ivf *ivf = NULL;
    if ((rc = fr__ivf_view(m.data, m.len, name, verify, r->vecs, frv_crc(r), &ivf, err)) < 0) {
        fr__mmap_close(&m);
        if (rc != FR_EFORMAT) return rc;
        if (err) err->code = FR_ECORRUPT;
        return FR_ECORRUPT;
    }
    r->imap = m;
    r->ivf = ivf;
    return 0;
}

// Builds the IVF of r's freshly written vectors when the index asks for one (ivf_lists: 0
// none, 1 auto, else the number of lists) and r is large enough, then maps it.
static int ivf_make(fr_index *ix, uint32_t ivf_lists, fr__segref *r, fr_error *err) {
    if (!ivf_lists || !r->vecs || fr_vecs_count(r->vecs) < fr__ivf_min_rows) return 0;
    char name[FR__NAME], path[4200];
    if (!ivf_path(ix, r->vec, name, path)) return 0;
    int rc = fr__ivf_build(r->vecs, ivf_lists == 1 ? 0 : ivf_lists, frv_crc(r), path, ix->opts.sync, err);
    if (rc == 0 && (rc = ivf_attach(ix, r, 0, err)) < 0) unlink(path);
    return rc < 0 ? fr__err_prefix(err, rc, "%s: IVF", r->name) : 0;
}

int fr__segvec_search(const fr__segref *r, const float *q, size_t k, int threads, int nprobe,
                      fr_vec_hit *out, size_t *n_out, fr_error *err) {
    if (!r->ivf || nprobe == 0) return fr_vecs_search(r->vecs, q, k, threads, out, n_out, err);
    return fr__ivf_search(r->ivf, r->vecs, q, k, nprobe < 0 ? FR__IVF_NPROBE_DEFAULT : (uint32_t)nprobe,
                          threads, out, n_out, NULL, err);
}

int fr__segvec_open(fr_index *ix, fr__segref *r, const char *name, int verify, fr_error *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", ix->dir, name);
    fr__mmap m;
    int rc = fr__mmap_open(path, &m, err);
    if (rc < 0) return rc;
    fr_vecs *v = NULL;
    if ((rc = fr__vecs_view(m.data, m.len, name, verify, &v, NULL, err)) < 0) {
        fr__mmap_close(&m);
        if (rc != FR_EFORMAT) return rc;
        if (err) err->code = FR_ECORRUPT;  // a damaged index file, as for segments
        return FR_ECORRUPT;
    }
    if (fr_vecs_count(v) != r->seg->n_docs || (uint32_t)fr_vecs_dim(v) != ix->emb.dim ||
        (uint32_t)fr__vecs_type(v) != ix->emb.type) {
        rc = fr__err(err, FR_ECORRUPT, "%s: %zu vectors of %d dims (%s), but segment %s has %u "
                     "documents and the index records %u dims (%s)", name, fr_vecs_count(v),
                     fr_vecs_dim(v), fr_vec_type_name(fr__vecs_type(v)), r->name, r->seg->n_docs,
                     ix->emb.dim, fr_vec_type_name((fr_vec_type)ix->emb.type));
        fr__vecs_view_free(v);
        fr__mmap_close(&m);
        return rc;
    }
    fr__segvec_close(r);
    r->vmap = m;
    r->vecs = v;
    snprintf(r->vec, sizeof r->vec, "%s", name);
    if ((rc = ivf_attach(ix, r, verify, err)) < 0) fr__segvec_close(r);
    return rc;
}

void fr__segvec_close(fr__segref *r) {
    fr__ivf_free(r->ivf);
    if (r->imap.data) fr__mmap_close(&r->imap);
    r->ivf = NULL;
    memset(&r->imap, 0, sizeof r->imap);
    fr__vecs_view_free(r->vecs);
    if (r->vmap.data) fr__mmap_close(&r->vmap);
    r->vecs = NULL;
    memset(&r->vmap, 0, sizeof r->vmap);
    r->vec[0] = 0;
}

// Removes the IVF file of vectors file `name` (a crashed writer's leftover under a name this
// writer is about to reuse would otherwise be attached to, and fail the checks of, new rows).
static void unlink_ivf(const fr_index *ix, const char *name) {
    char p[4200], ivf[FR__NAME];
    if (ivf_path(ix, name, ivf, p)) unlink(p);
}

// Removes a vectors file and its IVF file.
static void unlink_in(const fr_index *ix, const char *name) {
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", ix->dir, name);
    unlink(p);
    unlink_ivf(ix, name);
}

// Writes v as r's new vectors file (a fresh name) and maps it into r.
static int save_and_map(fr_index *ix, const fr__embed_conf *conf, fr__segref *r, fr_vecs *v,
                        fr_error *err) {
    char name[FR__NAME], path[4200];
    fr__segvec_name(r->name, ix->next_id++, name);
    snprintf(path, sizeof path, "%s/%s", ix->dir, name);
    fr_vecs_meta meta = {.generation = ix->generation + 1};
    snprintf(meta.model, sizeof meta.model, "%s", conf->model);
    unlink_ivf(ix, name);
    int rc = fr__vecs_write(v, path, &meta, ix->opts.sync, err);
    if (rc < 0) return rc;
    fr__embed_conf keep = ix->emb;
    ix->emb = *conf;  // the checks of fr__segvec_open compare with the conf being written
    rc = fr__segvec_open(ix, r, name, 0, err);
    ix->emb = keep;
    if (rc == 0 && (rc = ivf_make(ix, conf->ivf_lists, r, err)) < 0) fr__segvec_close(r);
    if (rc < 0) unlink_in(ix, name);
    return rc;
}

// ---- the int8 transform ----
// int8 rows are quantised after a transform (corpus mean, per-dimension spread: vectors.c) that
// belongs to the whole index, not to one segment, so that a merge copies rows unchanged:
// every new vectors file takes the transform fitted on the largest sample among the index's
// files of the same model, unless its own first FIT_ROWS rows are a larger sample (then it
// fits its own, and later files inherit that one). So the first FIT_ROWS documents embedded
// fix the transform for good; an index that grew from small segments refits until a segment
// of FIT_ROWS documents has been written. A merge whose sources differ (an index from before
// version 2 files, or one that grew from small segments) writes the transform fitted on the
// most rows and re-quantises the other sources' rows (fr__vecs_write_rows).

// The matrix whose transform a new file of `rows` rows takes, from the files of a[0..na) and
// b[0..nb) (either may be NULL); NULL: fit its own (or none, under FR__VECS_FIT_MIN rows).
static const fr_vecs *xform_like(const fr__segref *a, uint32_t na, const fr__segref *b, uint32_t nb,
                                 uint32_t rows) {
    const fr_vecs *best = NULL;
    for (uint32_t i = 0; i < na + nb; i++) {
        const fr_vecs *v = i < na ? a[i].vecs : b[i - na].vecs;
        if (v && fr__vecs_fit_n(v) > (best ? fr__vecs_fit_n(best) : 0)) best = v;
    }
    uint32_t own = rows < FIT_ROWS ? rows : FIT_ROWS;
    return best && fr__vecs_fit_n(best) >= own ? best : NULL;
}

// ---- embedding ----

// Embeds every document of r with embedder e under conf, quantising int8 rows with like's
// transform (NULL: fitted to r's first FIT_ROWS rows, which fr_vecs_add receives at once).
// OUT: *out (free with fr_vecs_free).
static int embed_rows(const fr__embed_conf *conf, fr_embedder *e, const fr__segref *r, const fr_vecs *like,
                      fr_vecs **out, fr_error *err) {
    *out = NULL;
    fr_vecs *v = NULL;
    float *emb = NULL;
    char *texts[EMBED_BATCH] = {0};
    int rc = fr_vecs_new((int)conf->dim, (fr_vec_type)conf->type, &v, err);
    if (rc < 0) return rc;
    if (like && conf->type != FR_VEC_F32 && (rc = fr__vecs_xform_copy(v, like, err)) < 0) goto done;
    emb = malloc((size_t)FIT_ROWS * conf->dim * sizeof *emb);
    if (!emb) { rc = fr__err(err, FR_ENOMEM, "%s: out of memory", r->name); goto done; }
    fr_embed_opts eo = fr_embed_opts_default();
    eo.prompt = conf->doc_prompt;
    uint32_t n = r->seg->n_docs, held = 0;  // held: rows embedded into emb, not yet added
    for (uint32_t lo = 0; lo < n; lo += EMBED_BATCH) {
        uint32_t m = n - lo < EMBED_BATCH ? n - lo : EMBED_BATCH;
        for (uint32_t i = 0; i < m; i++) {
            fr_doc d;
            if ((rc = fr__seg_doc(r->seg, lo + i, &d, err)) < 0) goto done;
            size_t tl = d.title ? d.title_len : 0, xl = d.text ? d.text_len : 0;
            free(texts[i]);
            if (!(texts[i] = malloc(tl + xl + 2))) {
                rc = fr__err(err, FR_ENOMEM, "%s: out of memory", r->name);
                goto done;
            }
            // the passage as `finerank embed` has always built it: title, a space, text
            size_t o = 0;
            if (tl) memcpy(texts[i], d.title, tl), o = tl;
            if (tl && xl) texts[i][o++] = ' ';
            if (xl) memcpy(texts[i] + o, d.text, xl), o += xl;
            texts[i][o] = 0;
        }
        rc = fr_embedder_embed(e, (const char *const *)texts, m, &eo, emb + (size_t)held * conf->dim, err);
        held += m;
        if (rc == 0 && (held + EMBED_BATCH > FIT_ROWS || lo + m == n)) {  // emb full, or the end
            rc = fr_vecs_add(v, emb, held, err);
            held = 0;
        }
        if (rc < 0) {
            fr__err_prefix(err, rc, "%s: embedding docs %u..%u", r->name, lo, lo + m - 1);
            goto done;
        }
    }
done:
    for (int i = 0; i < EMBED_BATCH; i++) free(texts[i]);
    free(emb);
    if (rc < 0) fr_vecs_free(v);
    else *out = v;
    return rc;
}

static int embed_seg(fr_index *ix, const fr__embed_conf *conf, fr_embedder *e, fr__segref *r,
                     const fr_vecs *like, fr_error *err) {
    fr_vecs *v = NULL;
    int rc = embed_rows(conf, e, r, like, &v, err);
    if (rc == 0) rc = save_and_map(ix, conf, r, v, err);
    fr_vecs_free(v);
    return rc;
}

int fr__segvec_embed(fr_index *ix, fr__segref *r, fr_error *err) {
    if (!ix->emb.model[0]) return 0;
    fr_embedder *e;
    int rc = fr__index_embedder(ix, &e, err);
    if (rc == 0)
        rc = embed_seg(ix, &ix->emb, e, r, xform_like(ix->segs, ix->n_segs, NULL, 0, r->seg->n_docs), err);
    return rc;
}

int fr__segvec_merge(fr_index *ix, const fr__segref *src, uint32_t n_src, fr__segref *r,
                     fr_error *err) {
    if (!ix->emb.model[0]) return 0;
    for (uint32_t s = 0; s < n_src; s++)
        if (!src[s].vecs) return fr__segvec_embed(ix, r, err);  // nothing to carry: embed
    uint64_t live = 0;
    for (uint32_t s = 0; s < n_src; s++) live += src[s].seg->n_docs - src[s].n_deleted;
    if (live != r->seg->n_docs)
        return fr__err(err, FR_ECORRUPT, "%s: %llu live rows for %u merged documents", r->name,
                       (unsigned long long)live, r->seg->n_docs);
    const fr_vecs **vs = malloc((n_src + 1) * sizeof *vs);
    const uint8_t **dels = malloc((n_src + 1) * sizeof *dels);
    char name[FR__NAME], path[4200];
    int rc = 0;
    if (!vs || !dels) { rc = fr__err(err, FR_ENOMEM, "%s: out of memory", r->name); goto done; }
    for (uint32_t s = 0; s < n_src; s++) {
        vs[s] = src[s].vecs;
        dels[s] = src[s].deleted;
    }
    fr__segvec_name(r->name, ix->next_id++, name);
    snprintf(path, sizeof path, "%s/%s", ix->dir, name);
    fr_vecs_meta meta = {.generation = ix->generation + 1};
    snprintf(meta.model, sizeof meta.model, "%s", ix->emb.model);
    unlink_ivf(ix, name);
    if ((rc = fr__vecs_write_rows(vs, dels, n_src, path, &meta, ix->opts.sync, err)) < 0) goto done;
    // the merged rows get a new IVF (the sources' lists do not carry over: new centroids)
    if ((rc = fr__segvec_open(ix, r, name, 0, err)) == 0 &&
        (rc = ivf_make(ix, ix->emb.ivf_lists, r, err)) < 0)
        fr__segvec_close(r);
    if (rc < 0) unlink_in(ix, name);
done:
    free(vs);
    free(dels);
    return rc;
}

// ---- the model ----

static int open_embedder(const char *model, uint32_t want_dim, fr_embedder **out, fr_error *err) {
    int rc = fr_embedder_open(model, NULL, out, err);
    if (rc < 0) return fr__err_prefix(err, rc, "embedding model");
    if (want_dim && (uint32_t)fr_embedder_dim(*out) != want_dim) {
        rc = fr__err(err, FR_EINVAL, "embedding model %s gives %d dims but the index records %u",
                     model, fr_embedder_dim(*out), want_dim);
        fr_embedder_free(*out);
        *out = NULL;
    }
    return rc;
}

int fr__index_no_model(const fr_index *ix, fr_error *err) {
    char p[4200];
    snprintf(p, sizeof p, "%s/vectors.bin", ix->dir);
    if (access(p, F_OK) == 0)  // the sidecar file of earlier versions, tied to one generation
        return fr__err(err, FR_EINVAL, "%s: vectors.bin is the old single-file format and is no "
                       "longer read: run finerank embed --model M --index %s to store vectors "
                       "with the index's segments, then delete vectors.bin", ix->dir, ix->dir);
    return fr__err(err, FR_EINVAL, "%s: the index has no embedding model (finerank index build "
                   "--embed-model M, or finerank embed --model M --index %s)", ix->dir, ix->dir);
}

int fr__index_embedder(fr_index *ix, fr_embedder **out, fr_error *err) {
    *out = NULL;
    if (!ix->emb.model[0]) return fr__index_no_model(ix, err);
    pthread_mutex_lock(&ix->emb_mu);
    int rc = 0;
    if (!ix->embedder) rc = open_embedder(ix->emb.model, ix->emb.dim, &ix->embedder, err);
    *out = ix->embedder;
    pthread_mutex_unlock(&ix->emb_mu);
    return rc;
}

int fr_index_load_embedder(fr_index *ix, fr_error *err) {
    fr_embedder *e;
    return fr__index_embedder(ix, &e, err);
}

int fr__index_embed_query(fr_index *ix, const char *query, int dtype, float *out, fr_error *err) {
    fr_embedder *e;
    int rc = fr__index_embedder(ix, &e, err);
    if (rc < 0) return rc;
    fr_embed_opts eo = fr_embed_opts_default();
    eo.prompt = ix->emb.query_prompt;
    eo.threads = 1;  // one short text: threads would only add start-up cost
    eo.dtype = dtype;
    return fr_embedder_embed(e, &query, 1, &eo, out, err);
}

int fr_index_embed_query(fr_index *ix, const char *query, float *out, fr_error *err) {
    return fr__index_embed_query(ix, query, -1, out, err);
}

int fr_index_embedding_get(fr_index *ix, fr_index_embedding *out, fr_error *err) {
    memset(out, 0, sizeof *out);
    if (!ix->emb.model[0])
        return fr__err(err, FR_ENOTFOUND, "%s: the index has no embedding model", ix->dir);
    out->model = ix->emb.model;
    out->dim = (int)ix->emb.dim;
    out->type = (fr_vec_type)ix->emb.type;
    out->query_prompt = ix->emb.query_prompt;
    out->doc_prompt = ix->emb.doc_prompt;
    out->ann = ix->emb.ivf_lists ? FR_ANN_IVF : FR_ANN_NONE;
    out->ivf_lists = ix->emb.ivf_lists > 1 ? (int)ix->emb.ivf_lists : 0;
    for (uint32_t i = 0; i < ix->n_segs; i++) {
        if (ix->segs[i].ivf) out->n_ivf += fr_vecs_count(ix->segs[i].vecs);
        if (ix->segs[i].vecs) out->n_vectors += fr_vecs_count(ix->segs[i].vecs);
        else out->n_missing += ix->segs[i].seg->n_docs;
    }
    return 0;
}

int fr__embed_conf_make(const char *model, fr_vec_type type, const char *query_prompt,
                        const char *doc_prompt, const fr_embedder *e, fr__embed_conf *c,
                        fr_error *err) {
    memset(c, 0, sizeof *c);
    if (type < FR_VEC_F32 || type > FR_VEC_I8_REFINE)
        return fr__err(err, FR_EINVAL, "vector type %d: expected f32, int8, int8-rescore or int8-refine",
                       (int)type);
    const char *qp = query_prompt ? query_prompt : fr_embedder_prompt(e, "query");
    const char *dp = doc_prompt ? doc_prompt : fr_embedder_prompt(e, "passage");
    if (!qp) qp = "";
    if (!dp) dp = "";
    if (!*model || strlen(model) >= sizeof c->model || strlen(qp) >= sizeof c->query_prompt ||
        strlen(dp) >= sizeof c->doc_prompt)
        return fr__err(err, FR_EINVAL, "embedding model name or prompt empty or too long");
    snprintf(c->model, sizeof c->model, "%s", model);
    snprintf(c->query_prompt, sizeof c->query_prompt, "%s", qp);
    snprintf(c->doc_prompt, sizeof c->doc_prompt, "%s", dp);
    c->dim = (uint32_t)fr_embedder_dim(e);
    c->type = (uint32_t)type;
    return 0;
}

// ---- configuration ----

// Opens o->embed_model and makes it the index's model (ix->emb, ix->embedder).
static int record_model(fr_index *ix, const fr_index_opts *o, fr_error *err) {
    fr_embedder *e = NULL;
    int rc = open_embedder(o->embed_model, 0, &e, err);
    if (rc == 0)
        rc = fr__embed_conf_make(o->embed_model, o->vec_type, o->query_prompt, o->doc_prompt, e,
                                 &ix->emb, err);
    if (rc < 0) {
        fr_embedder_free(e);
        return rc;
    }
    fr_embedder_free(ix->embedder);
    ix->embedder = e;
    return 0;
}

// The IVF setting of o (fr__embed_conf.ivf_lists). OUT: *lists.
static int ann_lists(const fr_index_opts *o, uint32_t *lists, fr_error *err) {
    *lists = 0;
    if (o->ann == FR_ANN_NONE) return 0;
    if (o->ann != FR_ANN_IVF) return fr__err(err, FR_EINVAL, "unknown approximate index kind %d", (int)o->ann);
    if (o->ivf_lists < 0 || o->ivf_lists == 1 || o->ivf_lists > 65536)
        return fr__err(err, FR_EINVAL, "IVF lists %d: expected 2..65536, or 0 for automatic", o->ivf_lists);
    *lists = o->ivf_lists ? (uint32_t)o->ivf_lists : 1;
    return 0;
}

// Records lists as the index's IVF setting (fr__embed_conf.ivf_lists); IVFs need its model.
static int set_ivf_lists(fr_index *ix, uint32_t lists, fr_error *err) {
    if (lists && !ix->emb.model[0])
        return fr__err(err, FR_EINVAL, "%s: an approximate index needs an embedding model "
                       "(--embed-model)", ix->dir);
    ix->emb.ivf_lists = lists;
    return 0;
}

int fr_index_set_ann(fr_index *ix, fr_ann_kind ann, int ivf_lists, fr_error *err) {
    if (!ix->writer) return fr__err(err, FR_EINVAL, "%s: opened read-only", ix->dir);
    fr_index_opts o = fr_index_opts_default();
    o.ann = ann;
    o.ivf_lists = ivf_lists;
    uint32_t lists;
    int rc = ann_lists(&o, &lists, err);
    return rc < 0 ? rc : set_ivf_lists(ix, lists, err);
}

int fr__segvec_configure(fr_index *ix, const fr_index_opts *o, int is_new, fr_error *err) {
    uint32_t lists;
    int rc = ann_lists(o, &lists, err);
    if (rc < 0) return rc;
    // an index that opted in keeps its IVF setting unless this build asks for another one
    if (!o->embed_model)  // --ann alone (o->ann is IVF): the recorded model's vectors get IVFs from now on
        return set_ivf_lists(ix, lists, err);
    if (is_new || !strcmp(o->embed_model, ix->emb.model)) {
        if (is_new && (rc = record_model(ix, o, err)) < 0) return rc;
        if (lists) ix->emb.ivf_lists = lists;
        return 0;
    }
    if (ix->emb.model[0])
        return fr__err(err, FR_EINVAL, "%s: the index embeds with %s, not %s (finerank embed "
                       "--model M --index DIR re-embeds it with another model)", ix->dir,
                       ix->emb.model, o->embed_model);
    if (ix->N)
        return fr__err(err, FR_EINVAL, "%s: the index has documents but no embedding model; add "
                       "their vectors with finerank embed --model %s --index %s", ix->dir,
                       o->embed_model, ix->dir);
    if ((rc = record_model(ix, o, err)) == 0) ix->emb.ivf_lists = lists;  // empty: recorded by the next commit
    return rc;
}

// ---- backfill ----

int fr_index_set_embedding(fr_index *ix, const char *model, fr_vec_type type,
                           const char *query_prompt, const char *doc_prompt, fr_error *err) {
    if (!ix->writer) return fr__err(err, FR_EINVAL, "%s: opened read-only", ix->dir);
    if (!model) return fr__err(err, FR_EINVAL, "fr_index_set_embedding: no model");
    fr_embedder *e = NULL;
    fr__embed_conf conf;
    fr__segref *tmp = NULL;
    int rc = open_embedder(model, 0, &e, err);
    if (rc == 0) rc = fr__embed_conf_make(model, type, query_prompt, doc_prompt, e, &conf, err);
    if (rc < 0) goto done;
    conf.ivf_lists = ix->emb.ivf_lists;  // the index's IVF setting holds for the new vectors
    // the same model, type and prompts: only segments without vectors need work
    int same = !strcmp(conf.model, ix->emb.model) && conf.type == ix->emb.type &&
               conf.dim == ix->emb.dim && !strcmp(conf.query_prompt, ix->emb.query_prompt) &&
               !strcmp(conf.doc_prompt, ix->emb.doc_prompt);
    // New files go into copies of the segment refs; the snapshot changes only once all are
    // written, so a failure leaves the handle as it was (and the new files as garbage).
    tmp = calloc(ix->n_segs + 1, sizeof *tmp);
    if (!tmp) { rc = fr__err(err, FR_ENOMEM, "out of memory"); goto done; }
    uint32_t i = 0;
    for (; i < ix->n_segs; i++) {
        if (same && ix->segs[i].vecs) {
            // vectors kept: an index that opted in since gets their missing IVF (a new file
            // beside a committed .frv, renamed into place whole: readers see it or not)
            if (!ix->segs[i].ivf && (rc = ivf_make(ix, conf.ivf_lists, &ix->segs[i], err)) < 0) break;
            continue;
        }
        tmp[i].seg = ix->segs[i].seg;
        snprintf(tmp[i].name, sizeof tmp[i].name, "%s", ix->segs[i].name);
        // the transform: from this model's files, the untouched ones (same) and the new ones
        const fr_vecs *like =
            xform_like(same ? ix->segs : NULL, same ? ix->n_segs : 0, tmp, i, tmp[i].seg->n_docs);
        if ((rc = embed_seg(ix, &conf, e, &tmp[i], like, err)) < 0) break;
    }
    if (rc < 0) {
        for (uint32_t j = 0; j <= i && j < ix->n_segs; j++)
            if (tmp[j].vecs) {
                unlink_in(ix, tmp[j].vec);
                fr__segvec_close(&tmp[j]);
            }
        goto done;
    }
    for (uint32_t j = 0; j < ix->n_segs; j++) {
        fr__segref *r = &ix->segs[j];
        if (!tmp[j].vecs) continue;
        // a committed file stays until the commit that replaces it is durable
        if (r->vec[0] && r->committed) fr__index_add_obsolete(ix, r->vec);
        else if (r->vec[0]) unlink_in(ix, r->vec);  // this writer's own, never committed
        fr__segvec_close(r);
        r->vmap = tmp[j].vmap;
        r->vecs = tmp[j].vecs;
        r->imap = tmp[j].imap;
        r->ivf = tmp[j].ivf;
        snprintf(r->vec, sizeof r->vec, "%s", tmp[j].vec);
    }
    ix->emb = conf;
    pthread_mutex_lock(&ix->emb_mu);
    fr_embedder_free(ix->embedder);
    ix->embedder = e;
    e = NULL;
    pthread_mutex_unlock(&ix->emb_mu);
done:
    free(tmp);
    fr_embedder_free(e);
    return rc;
}
