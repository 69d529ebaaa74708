/* io.c — file-system wrappers with fault injection and the CRC32-keeping buffered writer
 * (see io.h). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "index/io.h"

int (*fr__io_fault)(fr__io_op op, const char *path);

static int fault(fr__io_op op, const char *path) {
    if (!fr__io_fault) return 0;
    int e = fr__io_fault(op, path);
    if (e) errno = e;
    return e;
}

int fr__io_errno_code(int e) {
    switch (e) {
    case ENOENT: return FR_ENOTFOUND;
    case ENOMEM: return FR_ENOMEM;
    case ENOSPC: case EDQUOT: return FR_ENOSPC;
    default: return FR_EIO;
    }
}

static int sys_err(fr_error *err, const char *call, const char *path) {
    int e = errno;
    return fr__err(err, fr__io_errno_code(e), "%s: %s: %s", path, call, strerror(e));
}

int fr__io_open_write(const char *path, int *fd, fr_error *err) {
    *fd = -1;
    if (fault(FR__IO_OPEN, path)) return sys_err(err, "open", path);
    int f = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (f < 0) return sys_err(err, "open", path);
    *fd = f;
    return 0;
}

int fr__io_write(int fd, const char *path, const void *p, size_t n, fr_error *err) {
    const char *c = p;
    while (n > 0) {
        if (fault(FR__IO_WRITE, path)) return sys_err(err, "write", path);
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return sys_err(err, "write", path);
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

int fr__io_pwrite(int fd, const char *path, const void *p, size_t n, uint64_t off, fr_error *err) {
    const char *c = p;
    while (n > 0) {
        if (fault(FR__IO_WRITE, path)) return sys_err(err, "write", path);
        ssize_t w = pwrite(fd, c, n, (off_t)off);
        if (w < 0) {
            if (errno == EINTR) continue;
            return sys_err(err, "write", path);
        }
        c += w;
        off += (uint64_t)w;
        n -= (size_t)w;
    }
    return 0;
}

int fr__io_fsync(int fd, const char *path, fr_error *err) {
    if (fault(FR__IO_FSYNC, path) || fsync(fd) < 0) return sys_err(err, "fsync", path);
    return 0;
}

int fr__io_fsync_dir(const char *dir, fr_error *err) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return sys_err(err, "open", dir);
    int rc = fr__io_fsync(fd, dir, err);
    close(fd);
    return rc;
}

int fr__io_rename(const char *from, const char *to, fr_error *err) {
    if (fault(FR__IO_RENAME, to) || rename(from, to) < 0) return sys_err(err, "rename", to);
    return 0;
}

// ---- buffered writer ----

int fr__wfile_open(fr__wfile *w, const char *path, fr_error *err) {
    memset(w, 0, sizeof *w);
    w->fd = -1;
    snprintf(w->path, sizeof w->path, "%s", path);
    w->cap = 1 << 20;
    w->buf = malloc(w->cap);
    if (!w->buf) return fr__err(err, FR_ENOMEM, "%s: out of memory", path);
    w->crc = (uint32_t)crc32(0L, Z_NULL, 0);
    int rc = fr__io_open_write(path, &w->fd, err);
    if (rc < 0) {
        free(w->buf);
        w->buf = NULL;
    }
    return rc;
}

// Writes p[0..n) at w->flushed and starts writeback of whole chunks (w->writeback).
static int put(fr__wfile *w, const void *p, size_t n, fr_error *err) {
    int rc = fr__io_pwrite(w->fd, w->path, p, n, w->flushed, err);
    if (rc < 0) return rc;
    w->flushed += n;
#ifdef SYNC_FILE_RANGE_WRITE
    if (w->writeback && w->flushed - w->wb_from >= FR__WRITEBACK_CHUNK) {
        // advice-like: an error here would show again at the fsync, which reports it
        (void)sync_file_range(w->fd, (off_t)w->wb_from, (off_t)(w->flushed - w->wb_from),
                              SYNC_FILE_RANGE_WRITE);
        w->wb_from = w->flushed;
    }
#endif
    return 0;
}

int fr__wfile_flush(fr__wfile *w, fr_error *err) {
    if (!w->len) return 0;
    int rc = put(w, w->buf, w->len, err);
    w->len = 0;
    return rc;
}

int fr__wfile_write(fr__wfile *w, const void *p, size_t n, fr_error *err) {
    const uint8_t *c = p;
    size_t done = 0;
    while (done < n) {  // zlib's crc32 takes uInt lengths: feed in chunks
        size_t k = n - done > (1u << 30) ? (1u << 30) : n - done;
        w->crc = (uint32_t)crc32(w->crc, c + done, (uInt)k);
        done += k;
    }
    w->off += n;
    if (w->len + n > w->cap) {
        int rc = fr__wfile_flush(w, err);
        if (rc < 0) return rc;
        if (n >= w->cap) return put(w, c, n, err);
    }
    memcpy(w->buf + w->len, c, n);
    w->len += n;
    return 0;
}

int fr__wfile_pad8(fr__wfile *w, fr_error *err) {
    static const uint8_t zeros[8];
    size_t pad = (size_t)((8 - (w->off & 7)) & 7);
    return pad ? fr__wfile_write(w, zeros, pad, err) : 0;
}

int fr__wfile_finish(fr__wfile *w, int sync, fr_error *err) {
    int rc = fr__wfile_flush(w, err);
    if (rc == 0 && sync) rc = fr__io_fsync(w->fd, w->path, err);
    if (close(w->fd) < 0 && rc == 0) rc = sys_err(err, "close", w->path);
    w->fd = -1;
    free(w->buf);
    w->buf = NULL;
    return rc;
}

int fr__wfile_open_at(fr__wfile *w, const fr__wfile *owner, uint64_t off, fr_error *err) {
    memset(w, 0, sizeof *w);
    w->fd = owner->fd;
    w->borrowed = 1;
    snprintf(w->path, sizeof w->path, "%s", owner->path);
    w->cap = 1 << 20;
    w->buf = malloc(w->cap);
    if (!w->buf) return fr__err(err, FR_ENOMEM, "%s: out of memory", w->path);
    w->crc = (uint32_t)crc32(0L, Z_NULL, 0);
    w->start = w->off = w->flushed = w->wb_from = off;
    w->writeback = owner->writeback;
    return 0;
}

void fr__wfile_release(fr__wfile *w) {
    free(w->buf);
    w->buf = NULL;
    w->fd = -1;
}

void fr__wfile_append(fr__wfile *w, const fr__wfile *part) {
    FR_ASSERT(w->len == 0 && w->off == part->start && w->flushed == part->start);
    w->crc = (uint32_t)crc32_combine(w->crc, part->crc, (z_off_t)(part->off - part->start));
    w->off = part->off;
    w->flushed = part->flushed;
    w->wb_from = part->wb_from;
}

void fr__wfile_abort(fr__wfile *w) {
    if (w->borrowed) {
        fr__wfile_release(w);
        return;
    }
    if (w->fd >= 0) close(w->fd);
    w->fd = -1;
    free(w->buf);
    w->buf = NULL;
    if (w->path[0]) unlink(w->path);
    w->path[0] = 0;
}

// ---- a file replaced whole ----

// <path>.pending and path's directory ("/x" -> "/", "x" -> "."); 0, or -1 when either does not fit.
static int pending_paths(const char *path, char pending[4200], char dir[4096]) {
    if ((size_t)snprintf(pending, 4200, "%s.pending", path) >= 4200 || (size_t)snprintf(dir, 4096, "%s", path) >= 4096)
        return -1;
    char *slash = strrchr(dir, '/');
    if (slash) slash[slash == dir] = 0;
    else snprintf(dir, 4096, ".");
    return 0;
}

int fr__wfile_open_pending(fr__wfile *w, const char *path, fr_error *err) {
    char pending[4200], dir[4096];
    if (pending_paths(path, pending, dir) < 0) return fr__err(err, FR_EINVAL, "%.100s...: path too long", path);
    return fr__wfile_open(w, pending, err);
}

int fr__wfile_replace(fr__wfile *w, const char *path, int sync, fr_error *err) {
    char pending[4200], dir[4096];
    int fits = pending_paths(path, pending, dir) == 0;
    FR_ASSERT(fits);  // checked by fr__wfile_open_pending
    uint32_t crc = w->crc;
    int rc = fr__wfile_write(w, &crc, 4, err);
    if (rc < 0) {
        fr__wfile_abort(w);
        return rc;
    }
    if ((rc = fr__wfile_finish(w, sync, err)) < 0 || (rc = fr__io_rename(pending, path, err)) < 0) {
        unlink(pending);
        return rc;
    }
    return sync ? fr__io_fsync_dir(dir, err) : 0;
}
