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
} fr__segref;

#define FR__MAX_LANGS 32

// Per-document language → analyzer cache (a = NULL: unknown language, use the default).
typedef struct fr__langslot { char lang[32]; fr_analyzer *a; } fr__langslot;

struct fr_index {
    char dir[4096];
    int writer, lock_fd;
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
};

static inline int fr__is_deleted(const fr__segref *r, uint32_t d) {
    return (r->deleted[d >> 3] >> (d & 7)) & 1;
}

// Recomputes N, avgdl and the K arrays after the segment list changed (index.c).
int fr__index_refresh_stats(fr_index *ix, fr_error *err);

// Test hook: bytes per input range of the parallel bulk add (0: derived from the file size).
extern size_t fr__index_split_bytes;

#endif
