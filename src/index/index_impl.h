/* index_impl.h — the fr_index handle shared by index.c (lifecycle, writes, commits) and
 * search.c (scoring). A snapshot is the list of segment references below; doc numbers are
 * base + local doc in segment order. */
#ifndef FR_INDEX_IMPL_H
#define FR_INDEX_IMPL_H

#include <pthread.h>

#include "index/commit.h"
#include "index/segment.h"

typedef struct fr__segref {
    fr__seg *seg;
    char name[FR__NAME];
    char del[FR__NAME];         // tombstone file of the last commit ("" none)
    uint8_t *deleted;           // (ceil(n_docs / 8)) bitmap
    uint32_t n_deleted;
    int del_dirty;              // deletions not yet committed
    int committed;              // listed in the last COMMIT
    uint32_t base;              // first global doc number
    float *K;                   // (n_docs) k1 * (1 - b + b * dl / avgdl)
    char vec[FR__NAME];         // embeddings file ("" none), src/index/segvec.c
    fr__mmap vmap;              // its mapping
    fr_vecs *vecs;              // (n_docs rows) a view into vmap, NULL without vectors
    fr__mmap imap;              // the vectors' IVF file (src/index/ivf.c), if any
    struct fr__ivf *ivf;        // a view into imap, NULL: dense search scans every row
} fr__segref;

#define FR__MAX_LANGS 32

// Per-document language → analyzer cache (a = NULL: unknown language, use the default).
typedef struct fr__langslot { char lang[32]; fr_analyzer *a; } fr__langslot;

struct fr_index {
    char dir[4096];
    int writer, lock_fd;
    int broken;  // a write since the last commit failed midway: the uncommitted state may hold
                 // an update's deletion without its new document, so only rollback may follow
    fr_index_opts opts;
    char lang[32];
    double k1, b;
    uint32_t tw;
    uint64_t generation, next_id;
    // snapshot
    fr__segref *segs;
    uint32_t n_segs, segs_cap;
    uint64_t N, sum_dl, sum_title, sum_text;
    double avgdl;
    // query analyzer (analyzers are not thread-safe)
    pthread_mutex_t an_mu;
    fr_analyzer *an;
    // writer state
    fr__segw *cur;
    char cur_name[FR__NAME];
    uint8_t *cur_del; size_t cur_del_cap;   // bitmap over cur's docs
    fr__langslot langs[FR__MAX_LANGS];
    uint32_t n_langs;
    char (*obsolete)[FR__NAME];             // files to remove after the next commit
    uint32_t n_obsolete, obsolete_cap;
    // embeddings (segvec.c): the recorded model; the embedder is opened on first use
    fr__embed_conf emb;
    pthread_mutex_t emb_mu;
    fr_embedder *embedder;
};

static inline int fr__is_deleted(const fr__segref *r, uint32_t d) {
    return (r->deleted[d >> 3] >> (d & 7)) & 1;
}

// Recomputes N, avgdl and the K arrays after the segment list changed (index.c).
int fr__index_refresh_stats(fr_index *ix, fr_error *err);

// ---- per-segment embeddings (segvec.c) ----
// Maps r's vectors file `name` (checked against the segment and ix->emb; CRC when verify).
int fr__segvec_open(fr_index *ix, fr__segref *r, const char *name, int verify, fr_error *err);
void fr__segvec_close(fr__segref *r);
// Embeds every document of r (a segment this writer just wrote) with the recorded model and
// writes seg_<n>.frv durably, then maps it into r. No-op when the index has no model.
int fr__segvec_embed(fr_index *ix, fr__segref *r, fr_error *err);
// The vectors of the merged segment `name` (live rows of the sources, in merge order: no
// re-embedding), written and mapped into r. No-op unless every source has vectors.
int fr__segvec_merge(fr_index *ix, const fr__segref *src, uint32_t n_src, fr__segref *r,
                     fr_error *err);
// The embedder of the recorded model, opened on first use (thread-safe). OUT: *out (owned
// by ix).
int fr__index_embedder(fr_index *ix, fr_embedder **out, fr_error *err);
// fr_index_embed_query with the dense layers in dtype (an fr_dtype, or -1: the embedder's own;
// fr_embed_opts.dtype): the retriever's query_dtype.
int fr__index_embed_query(fr_index *ix, const char *query, int dtype, float *out, fr_error *err);
// Name of segment seg_<n>.frs's vectors file number id: seg_<n>_<id>.frv. OUT: out.
void fr__segvec_name(const char *seg, uint64_t id, char out[FR__NAME]);
// The IVF file that goes with vectors file vec (seg_<n>_<id>.frv → seg_<n>_<id>.ivf): it is
// written, kept, made obsolete and removed with it. Returns 0 (out "") when vec is no .frv.
int fr__segvec_ivf_name(const char *vec, char out[FR__NAME]);
// Top-k of segment r's rows for dense search: through its IVF when it has one and nprobe != 0
// (nprobe < 0: FR__IVF_NPROBE_DEFAULT), else the exact scan. OUT: out (k), *n_out.
int fr__segvec_search(const fr__segref *r, const float *q, size_t k, int threads, int nprobe,
                      fr_vec_hit *out, size_t *n_out, fr_error *err);
// The conf for model/type/prompts (NULL prompts: the model's "query" / "passage" ones). OUT: *c.
int fr__embed_conf_make(const char *model, fr_vec_type type, const char *query_prompt,
                        const char *doc_prompt, const fr_embedder *e, fr__embed_conf *c,
                        fr_error *err);
// fr_index_build's embedding options: a new index (is_new) records o->embed_model; an
// existing one keeps its model (another is FR_EINVAL) or, when empty, records it. o->ann
// (with the recorded or given model) sets the IVF setting that later vectors are built with.
int fr__segvec_configure(fr_index *ix, const fr_index_opts *o, int is_new, fr_error *err);
// FR_EINVAL naming how to add embeddings (and the old vectors.bin, if present).
int fr__index_no_model(const fr_index *ix, fr_error *err);
// Queues a file for removal after the next durable commit (index.c).
int fr__index_add_obsolete(fr_index *ix, const char *name);

// Test hook: bytes per input range of the parallel bulk add (0: derived from the file size).
extern size_t fr__index_split_bytes;

#endif
