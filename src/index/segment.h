/* segment.h — one immutable segment file (seg_<id>.frs): its on-disk format, the validated
 * reader (segment.c) and the in-memory builder that writes it (segwriter.c).
 *
 * FORMAT (version 1, little-endian, every section 8-byte aligned; sections are listed in the
 * footer's table in the order below, and appear in the file in the order STORE, STOREIX,
 * DOCS, STRS, IDS, POSTINGS, TERMS, TERMSTR):
 *
 *   header   16 B   magic "FRSEG\r\n\x1a", u32 version = 1, u32 0
 *   STORE           stored documents, one record each (format below)
 *   STOREIX         u64 offsets[n_docs + 1] into STORE (record i = [off[i], off[i+1]))
 *   DOCS            fr__docinfo[n_docs] (40 B each)
 *   STRS            u32 count, u32 offs[count + 1], bytes: the distinct "source" / "lang"
 *                   values; string 0 is "" (absent). DOCS refer to them by index.
 *   IDS             fr__ident[n_docs] sorted by (hash, doc): FNV-1a 64 of the id → doc
 *   TERMS           fr__terminfo[n_terms] sorted by term bytes (memcmp, then length)
 *   TERMSTR         term bytes referenced by TERMS
 *   POSTINGS        per term, at terminfo.post_off (4-aligned): fr__skip[n_blocks], then
 *                   the blocks.
 *                   Block j holds FR__BLOCK (128) postings (the last one df % 128, or 128):
 *                   u8 doc_bits, u8 tf_bits, then count doc gaps (doc - prev - 1, prev of
 *                   the first block = -1) bit-packed LSB-first with doc_bits bits each, then
 *                   count values tf - 1 with tf_bits bits each (tf = tf_text +
 *                   title_weight * tf_title). skip[j] = {last doc, end offset of the block
 *                   relative to the first block, max tf, min length (fr__docinfo.dl) in the
 *                   block} — the block-max bound for pruning.
 *   footer  160 B   fr__section[8] {u64 off, u64 len} for the 8 sections above (in order),
 *                   u32 n_docs, u32 n_terms, u32 title_weight, u32 0,
 *                   u32 crc32 (zlib) of every byte before it, u32 0, magic "FRSEGEND"
 *
 * Store record: u32 lens[7] for id, title, text, date, source, lang, meta (each string is
 * followed by one NUL byte in the record, so readers can hand out C strings).
 *
 * Validation: open checks magics, version, the CRC (optional: it reads the whole file),
 * every section's bounds and alignment and every fixed-size array's length. Records, terms,
 * skip tables and blocks are validated when touched (offsets, bit widths, doc numbers
 * strictly increasing and < n_docs, last doc of a block = its skip entry): a corrupt file
 * yields FR_ECORRUPT with the segment name, never a read out of bounds.
 */
#ifndef FR_INDEX_SEGMENT_H
#define FR_INDEX_SEGMENT_H

#include <stdint.h>

#include "base/base.h"
#include "index/io.h"

#define FR__SEG_MAGIC "FRSEG\r\n\x1a"
#define FR__SEG_END "FRSEGEND"
#define FR__SEG_VERSION 1
#define FR__SEG_HEADER 16
#define FR__SEG_FOOTER 160
#define FR__BLOCK 128
#define FR__N_SECTIONS 8
#define FR__N_FIELDS 7

enum { SEC_STORE, SEC_STOREIX, SEC_DOCS, SEC_STRS, SEC_IDS, SEC_TERMS, SEC_TERMSTR, SEC_POSTINGS };
enum { FLD_ID, FLD_TITLE, FLD_TEXT, FLD_DATE, FLD_SOURCE, FLD_LANG, FLD_META };

typedef struct fr__docinfo {
    uint32_t dl;            // BM25F length: text_len + title_weight * title_len
    uint32_t title_len;     // terms in the title
    uint32_t text_len;      // terms in the text
    uint32_t source;        // index into STRS (0: none)
    uint32_t lang;          // index into STRS (0: none)
    uint32_t flags;         // bit 0: has date; bit 1: has authority
    int64_t date;           // Unix seconds (UTC)
    double authority;
} fr__docinfo;

typedef struct fr__ident {
    uint64_t hash;
    uint32_t doc;
    uint32_t pad;
} fr__ident;

typedef struct fr__terminfo {
    uint32_t str_off, str_len;  // into TERMSTR
    uint32_t df, n_blocks;
    uint64_t post_off, post_len; // into POSTINGS
} fr__terminfo;

typedef struct fr__skip {
    uint32_t last_doc, end, max_tf, min_dl;
} fr__skip;

typedef struct fr__section {
    uint64_t off, len;
} fr__section;

uint64_t fr__id_hash(const char *id, size_t len);

// ---- reader ----
typedef struct fr__seg {
    char name[64];          // file name inside the index directory (for messages)
    fr__mmap map;           // owned when from a file
    const uint8_t *data;
    size_t len;
    uint32_t n_docs, n_terms, title_weight;
    const uint8_t *store; uint64_t store_len;
    const uint64_t *store_ix;
    const fr__docinfo *docs;
    const uint8_t *strs; uint64_t strs_len; uint32_t n_strs;
    const fr__ident *ids;
    const fr__terminfo *terms;
    const char *termstr; uint64_t termstr_len;
    const uint8_t *post; uint64_t post_len;
    uint64_t sum_title, sum_text, sum_dl;  // computed at open (validates DOCS)
} fr__seg;

// Opens a segment over bytes (not copied; they must outlive the segment). verify: check CRC.
int fr__seg_open_mem(const uint8_t *data, size_t len, const char *name, int verify,
                     fr__seg **out, fr_error *err);
int fr__seg_open_file(const char *path, const char *name, int verify, fr__seg **out,
                      fr_error *err);
void fr__seg_free(fr__seg *s);

// Finds a term. OUT: *ti (NULL when absent). FR_ECORRUPT on bad dictionary entries.
int fr__seg_term(const fr__seg *s, const char *term, size_t len, const fr__terminfo **ti,
                 fr_error *err);
// Reads stored fields of local doc d into out (pointers into the segment).
int fr__seg_doc(const fr__seg *s, uint32_t d, fr_doc *out, fr_error *err);
// String i of STRS. OUT: *p, *n. FR_ECORRUPT when out of range.
int fr__seg_str(const fr__seg *s, uint32_t i, const char **p, size_t *n, fr_error *err);
// Local doc with this id (verified against the stored id), or FR_ENOTFOUND.
int fr__seg_find(const fr__seg *s, const char *id, size_t len, uint32_t *doc, fr_error *err);

// Postings cursor over one term of one segment. Blocks are decoded on demand.
typedef struct fr__cursor {
    const fr__seg *seg;
    const fr__skip *skip;       // (n_blocks)
    const uint8_t *blocks;      // first block
    uint64_t blocks_len;
    uint32_t n_blocks, df;
    uint32_t blk;               // current block (n_blocks: exhausted)
    int decoded;                // block blk decoded into docs/tfs
    uint32_t i, n;              // position in / size of the decoded block
    uint32_t doc;               // current doc (UINT32_MAX when exhausted)
    uint32_t docs[FR__BLOCK], tfs[FR__BLOCK];
} fr__cursor;

int fr__cursor_init(fr__cursor *c, const fr__seg *s, const fr__terminfo *ti, fr_error *err);
// Moves to the first posting with doc >= target (no-op if already there). Exhausted:
// c->doc == UINT32_MAX.
int fr__cursor_advance(fr__cursor *c, uint32_t target, fr_error *err);
int fr__cursor_next(fr__cursor *c, fr_error *err);
static inline uint32_t fr__cursor_tf(const fr__cursor *c) { return c->tfs[c->i]; }
// Moves the block pointer (without decoding) to the block that may hold target; returns
// that block's skip entry or NULL when past the end.
const fr__skip *fr__cursor_shallow(fr__cursor *c, uint32_t target);

// ---- builder ----
typedef struct fr__segw fr__segw;

// A document ready to be added: analyzed and parsed by index.c.
typedef struct fr__newdoc {
    const char *fields[FR__N_FIELDS];   // NULL = absent
    size_t lens[FR__N_FIELDS];
    int has_date, has_authority;
    int64_t date;
    double authority;
} fr__newdoc;

// sync: the file will be fsynced at finish (its writeback starts early, see io.h).
int fr__segw_new(const char *path, const char *name, int title_weight, int sync, fr__segw **out,
                 fr_error *err);
// Adds one document. terms: (n) term ids from fr__segw_term; title_n of them from the title.
// Returns the new local doc number via *doc.
int fr__segw_add(fr__segw *w, const fr__newdoc *nd, fr_analyzer *an, uint32_t *doc,
                 fr_error *err);
uint32_t fr__segw_n_docs(const fr__segw *w);
size_t fr__segw_mem(const fr__segw *w);
// Local doc of a pending id (the last one added with that id) or FR_ENOTFOUND.
int fr__segw_find(const fr__segw *w, const char *id, size_t len, uint32_t *doc);
// Writes the remaining sections and the footer, fsyncs (when sync) and frees w.
int fr__segw_finish(fr__segw *w, int sync, fr_error *err);
// Removes the partial file and frees w. NULL is a no-op.
void fr__segw_abort(fr__segw *w);

// Appends the footer (section table, counts, CRC, end magic) after padding to 8.
int fr__seg_footer(fr__wfile *f, const fr__section *sec, uint32_t n_docs, uint32_t n_terms,
                   uint32_t title_weight, fr_error *err);

// A STRS table being built: distinct strings → index (0 = "").
typedef struct fr__strtab {
    fr__buf bytes;
    uint32_t *offs;     // (cap) start of string i
    uint32_t n, cap;
    uint32_t *slots;    // (slot_cap) open addressing, string index (0 = empty)
    uint32_t slot_cap;
} fr__strtab;
// Index of s (added if new); 0 for NULL/empty; UINT32_MAX when out of memory.
uint32_t fr__strtab_intern(fr__strtab *t, const char *s, size_t n);
int fr__strtab_write(fr__wfile *f, const fr__strtab *t, fr_error *err);
void fr__strtab_free(fr__strtab *t);

// Writes one term's postings (skip table, blocks, padding to 4) at f's current offset.
// docs: (n) strictly increasing, tfs: (n) >= 1, dl: (n_docs) the new segment's
// fr__docinfo.dl column (for min dl; 4 B a doc rather than the 40 B docinfo, so that it
// stays in cache while rare terms' postings jump over it).
// *skips and *body are scratch buffers the caller frees. OUT: *n_blocks.
int fr__postings_write(fr__wfile *f, const uint32_t *docs, const uint32_t *tfs, uint32_t n,
                       const uint32_t *dl, fr__skip **skips, fr__buf *body,
                       uint32_t *n_blocks, fr_error *err);

// Merges the live documents of segs (in order) into one new segment file at path: stored
// records copied, postings merged term by term and re-blocked (no re-analysis). del: per
// segment deletion bitmaps (NULL entries: none). OUT: *n_docs of the new segment.
// threads >= 2: the documents and the postings are written on two threads (same bytes).
int fr__seg_merge(const fr__seg *const *segs, const uint8_t *const *del, uint32_t n_segs,
                  const char *path, int sync, int threads, uint32_t *n_docs, fr_error *err);

#endif
