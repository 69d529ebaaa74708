/* io.h — the index's write path to the file system: every write, fsync, rename and unlink of
 * src/index goes through these wrappers so that tests can inject failures (ENOSPC, EIO) at
 * the N-th call of an operation (fault injection, tests/test_index_faults.c), and a buffered
 * sequential file writer that keeps a running CRC32 (zlib) of what it wrote.
 */
#ifndef FR_INDEX_IO_H
#define FR_INDEX_IO_H

#include <stdint.h>
#include <sys/types.h>

#include "base/base.h"

// ---- fault injection (tests only) ----
typedef enum { FR__IO_WRITE, FR__IO_FSYNC, FR__IO_RENAME, FR__IO_OPEN, FR__IO_N_OPS } fr__io_op;
// Returns an errno to fail this call with, or 0 to let it run. NULL (default): no faults.
// Process-global, set only by tests before they touch an index.
extern int (*fr__io_fault)(fr__io_op op, const char *path);

// ---- wrappers: return 0 or an FR_E* code with err naming path and call ----
int fr__io_open_write(const char *path, int *fd, fr_error *err);       // O_CREAT|O_TRUNC
int fr__io_write(int fd, const char *path, const void *p, size_t n, fr_error *err);
int fr__io_pwrite(int fd, const char *path, const void *p, size_t n, uint64_t off, fr_error *err);
int fr__io_fsync(int fd, const char *path, fr_error *err);
int fr__io_fsync_dir(const char *dir, fr_error *err);
int fr__io_rename(const char *from, const char *to, fr_error *err);
int fr__io_errno_code(int e);

// ---- buffered sequential writer with CRC32 ----
typedef struct fr__wfile {
    int fd;
    char path[4096];
    uint8_t *buf;       // (cap) pending bytes
    size_t len, cap;
    uint64_t off;       // bytes written so far (flushed + buffered)
    uint32_t crc;       // CRC32 of every byte written so far
    int writeback;      // set by the caller when it will fsync: start writeback early
    uint64_t start;     // offset of the first byte (0, or fr__wfile_open_at's)
    uint64_t flushed;   // offset of the next byte to hand to the kernel (pwrite)
    uint64_t wb_from;   // writeback started up to here
    int borrowed;       // fd belongs to another writer (fr__wfile_open_at)
} fr__wfile;

int fr__wfile_open(fr__wfile *w, const char *path, fr_error *err);
// With w->writeback set, every FR__WRITEBACK_CHUNK bytes flushed are handed to the disk at
// once (sync_file_range, Linux) instead of waiting in the page cache for the final fsync:
// writing a segment then overlaps the disk with the CPU work that produces the next bytes,
// and the fsync at the end has little left to do. Durability is still the fsync's job.
#define FR__WRITEBACK_CHUNK ((uint64_t)32 << 20)
int fr__wfile_write(fr__wfile *w, const void *p, size_t n, fr_error *err);
int fr__wfile_pad8(fr__wfile *w, fr_error *err);                 // zero bytes up to 8-alignment
int fr__wfile_flush(fr__wfile *w, fr_error *err);
// Flushes, fsyncs (when sync) and closes; on failure the file is closed too.
int fr__wfile_finish(fr__wfile *w, int sync, fr_error *err);
void fr__wfile_abort(fr__wfile *w);                               // close and unlink

// ---- a file replaced whole: <path>.pending written, fsynced, renamed over path, dir fsynced ----
// Opens <path>.pending for writing (FR_EINVAL when path is too long for it and its directory).
int fr__wfile_open_pending(fr__wfile *w, const char *path, fr_error *err);
// Ends a writer opened by fr__wfile_open_pending: appends the CRC32 trailer of every byte
// written, flushes, fsyncs (when sync), closes, renames <path>.pending over path, and fsyncs
// path's directory (when sync). On failure the .pending file is removed and w is closed.
int fr__wfile_replace(fr__wfile *w, const char *path, int sync, fr_error *err);

// A second writer into owner's file from offset off on, with its own buffer and its own CRC
// (of its bytes only), so that two threads can write disjoint parts of one file (merge.c).
// It never closes the file: fr__wfile_release frees its buffer (after a final flush).
int fr__wfile_open_at(fr__wfile *w, const fr__wfile *owner, uint64_t off, fr_error *err);
void fr__wfile_release(fr__wfile *w);
// Continues w after the bytes part wrote (w flushed up to part->start): offsets and the
// running CRC then cover both, as if w had written part's bytes itself.
void fr__wfile_append(fr__wfile *w, const fr__wfile *part);

#endif
