/* commit.h — the index directory's COMMIT file and per-segment tombstone files.
 *
 * Directory: COMMIT (the live snapshot), LOCK (flock'd by the one writer), seg_<n>.frs
 * (segments, segment.h), seg_<n>.frv (the segment's embeddings, src/index/vectors.c format,
 * one row per doc in segment order) and its IVF index seg_<n>.ivf if any (src/index/ivf.c:
 * not named by COMMIT, it goes with the .frv of the same name), seg_<n>_<gen>.del (tombstones of segment n written by
 * commit gen).
 * Anything else named seg_* or COMMIT.pending is garbage from a crash and is removed by the
 * next writer.
 *
 * COMMIT (version 1, little-endian): magic "FRCOMMIT", u32 version, u32 n_segs,
 * u64 generation, u64 next segment number, char lang[32], f64 k1, f64 b, u32 title_weight,
 * u32 0, then n_segs × {char name[40], char del[40] ("" = none), u32 n_docs, u32 n_deleted},
 * then u32 crc32 of every byte before it. Written as COMMIT.pending → fsync → rename to
 * COMMIT → fsync of the directory, so a reader sees the old or the new commit, never a mix.
 *
 * COMMIT version 2 (written since embeddings were added; version 1 is still read): the same
 * 88-byte head, then the embedding model: u32 vec type (fr_vec_type), u32 dim (0: no model),
 * u32 model_len, u32 query_prompt_len, u32 doc_prompt_len, u32 ivf_lists (fr__embed_conf;
 * 0 before IVF indexes existed, and readers of that time ignore it), the three strings (no NULs),
 * then n_segs × {char name[40], char del[40], char vec[40] ("" = no vectors), u32 n_docs,
 * u32 n_deleted}, then the CRC as above.
 *
 * Tombstones (version 1): magic "FRDEL001", u32 n_docs, u32 count, u32 docs[count] strictly
 * increasing and < n_docs, u32 crc32 of every byte before it.
 */
#ifndef FR_INDEX_COMMIT_H
#define FR_INDEX_COMMIT_H

#include <stdint.h>

#include "base/base.h"

#define FR__NAME 40

typedef struct fr__commit_seg {
    char name[FR__NAME];
    char del[FR__NAME];
    char vec[FR__NAME];     // embeddings file ("" none)
    uint32_t n_docs, n_deleted;
} fr__commit_seg;

// The index's embedding model, recorded so that `index add` and dense queries use the model
// the stored vectors came from. Prompts are the literal prefixes (resolved from the model's
// "prompts" when the index was configured), so a later model config change cannot skew them.
typedef struct fr__embed_conf {
    char model[1024];       // repo id, alias or path as given ("" = no model)
    uint32_t dim;           // floats per embedding
    uint32_t type;          // fr_vec_type of the stored rows
    char query_prompt[256], doc_prompt[256];
    uint32_t ivf_lists;     // approximate index per segment (src/index/ivf.c): 0 none, 1 IVF
                            // with an automatic list count, N >= 2 IVF with N lists
} fr__embed_conf;

typedef struct fr__commit {
    uint64_t generation, next_id;
    char lang[32];
    double k1, b;
    uint32_t title_weight;
    uint32_t n_segs;
    fr__commit_seg *segs;   // (n_segs) malloc'd
    fr__embed_conf emb;
} fr__commit;

// Reads dir/COMMIT. FR_ENOTFOUND when absent; FR_ECORRUPT / FR_ECHECKSUM when damaged.
int fr__commit_read(const char *dir, fr__commit *c, fr_error *err);
// Writes dir/COMMIT durably (pending → fsync → rename → fsync dir). OUT: *renamed (may be
// NULL) = 1 once COMMIT names the new state, even when the directory fsync after that fails:
// the caller must then neither reuse the new commit's names nor remove the files it names.
int fr__commit_write(const char *dir, const fr__commit *c, int sync, int *renamed,
                     fr_error *err);
void fr__commit_free(fr__commit *c);

// Writes a tombstone file dir/name for the set bits of del (n_docs bits). Durable if sync.
int fr__tomb_write(const char *dir, const char *name, const uint8_t *del, uint32_t n_docs,
                   int sync, fr_error *err);
// Reads dir/name into del (n_docs bits, caller-zeroed). OUT: *count.
int fr__tomb_read(const char *dir, const char *name, uint8_t *del, uint32_t n_docs,
                  uint32_t *count, fr_error *err);

#endif
