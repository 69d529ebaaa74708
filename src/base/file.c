/* file.c — whole-file reads and read-only mmaps with errors that name the path. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"

static int errno_code(int e) {
    switch (e) {
    case ENOENT: return FR_ENOTFOUND;
    case ENOMEM: return FR_ENOMEM;
    case ENOSPC: return FR_ENOSPC;
    default: return FR_EIO;
    }
}

int fr__read_file(const char *path, char **data, size_t *len, fr_error *err) {
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fr__err(err, errno_code(errno), "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        int e = errno;
        close(fd);
        return fr__err(err, FR_EIO, "%s: %s", path, S_ISDIR(st.st_mode) ? "is a directory"
                                                  : strerror(e ? e : EINVAL));
    }
    size_t cap = (size_t)st.st_size;
    char *buf = malloc(cap + 1);
    if (!buf) {
        close(fd);
        return fr__err(err, FR_ENOMEM, "%s: cannot allocate %zu bytes", path, cap + 1);
    }
    size_t n = 0;
    while (n < cap) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            free(buf);
            close(fd);
            return fr__err(err, FR_EIO, "%s: read: %s", path, strerror(e));
        }
        if (r == 0) break;  // file shrank while reading: take what is there
        n += (size_t)r;
    }
    close(fd);
    buf[n] = 0;
    *data = buf;
    *len = n;
    return 0;
}

int fr__mmap_open(const char *path, fr__mmap *m, fr_error *err) {
    m->data = NULL;
    m->len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fr__err(err, errno_code(errno), "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return fr__err(err, FR_EIO, "%s: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return fr__err(err, FR_EIO, "%s: not a regular file", path);
    }
    if (st.st_size == 0) {
        close(fd);
        return 0;
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (p == MAP_FAILED) return fr__err(err, FR_EIO, "%s: mmap: %s", path, strerror(e));
    m->data = p;
    m->len = (size_t)st.st_size;
    return 0;
}

void fr__mmap_close(fr__mmap *m) {
    if (m->data) munmap((void *)m->data, m->len);
    m->data = NULL;
    m->len = 0;
}
