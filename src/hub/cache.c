/* cache.c — the Hugging Face hub cache on disk, laid out exactly as huggingface_hub
 * (file_download.py, constants.py) lays it out, so both tools share one cache:
 *
 *   CACHE/models--ORG--NAME/blobs/ETAG              the bytes; ETAG is the sha256 of an LFS
 *                                                   file or the git blob sha1 of a small one
 *                          /blobs/ETAG.incomplete   a download in progress (resumable)
 *                          /snapshots/COMMIT/PATH   symlink → ../../blobs/ETAG (one ../ more
 *                                                   per folder in PATH)
 *                          /refs/REVISION           the commit hash, no newline
 *   CACHE/.locks/models--ORG--NAME/ETAG.lock        flock()ed while a blob is downloaded
 *
 * CACHE is $HF_HUB_CACHE, else $HUGGINGFACE_HUB_CACHE, else $HF_HOME/hub, else
 * $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub (constants.py).
 * Also here: the model aliases, `--model` resolution and the cache listing. Everything is
 * small-file metadata work; no file contents are read.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hub/hub.h"

// ---- paths ----

static char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

static char *joinf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *joinf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *p = NULL;
    if (vasprintf(&p, fmt, ap) < 0) p = NULL;
    va_end(ap);
    return p;
}

static int env_set(const char *name) {
    const char *v = getenv(name);
    return v && *v;
}

int fr__hub_cache_dir(const char *override, char **out, fr_error *err) {
    char *p = NULL;
    if (override && *override) p = xstrdup(override);
    else if (env_set("HF_HUB_CACHE")) p = xstrdup(getenv("HF_HUB_CACHE"));
    else if (env_set("HUGGINGFACE_HUB_CACHE")) p = xstrdup(getenv("HUGGINGFACE_HUB_CACHE"));
    else if (env_set("HF_HOME")) p = joinf("%s/hub", getenv("HF_HOME"));
    else if (env_set("XDG_CACHE_HOME")) p = joinf("%s/huggingface/hub", getenv("XDG_CACHE_HOME"));
    else if (env_set("HOME")) p = joinf("%s/.cache/huggingface/hub", getenv("HOME"));
    else return fr__err(err, FR_EINVAL, "no cache folder: set HF_HUB_CACHE or HOME");
    if (!p) return fr__err(err, FR_ENOMEM, "out of memory");
    // expanduser() for the common "~/..." spelling
    if (p[0] == '~' && (p[1] == '/' || !p[1]) && env_set("HOME")) {
        char *q = joinf("%s%s", getenv("HOME"), p + 1);
        free(p);
        if (!(p = q)) return fr__err(err, FR_ENOMEM, "out of memory");
    }
    *out = p;
    return 0;
}

char *fr__hub_repo_dir(const char *cache, const char *repo_id) {
    // repo_folder_name(): "models--" + repo_id with "/" replaced by "--"
    fr__buf b = {0};
    if (fr__buf_printf(&b, "%s/models--", cache) < 0) goto fail;
    for (const char *s = repo_id; *s; s++) {
        if (*s == '/' ? fr__buf_append(&b, "--", 2) < 0 : fr__buf_putc(&b, *s) < 0) goto fail;
    }
    return b.data;
fail:
    fr__buf_free(&b);
    return NULL;
}

int fr__hub_is_commit(const char *s) {
    size_t i = 0;
    for (; s[i]; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
    return i == 40;
}

int fr__hub_valid_repo_id(const char *r) {
    // validate_repo_id(): [\w\-.]{1,96} with at most one "/", no "--" or "..", no leading or
    // trailing "-" / "." in a part.
    size_t n = strlen(r), slashes = 0;
    if (n == 0 || n > 96) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = r[i];
        if (c == '/') {
            if (++slashes > 1 || i == 0 || i + 1 == n) return 0;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return 0;
        if (i + 1 < n && ((c == '-' && r[i + 1] == '-') || (c == '.' && r[i + 1] == '.')))
            return 0;
    }
    return 1;
}

int fr__hub_valid_relpath(const char *p) {
    size_t n = strlen(p);
    if (n == 0 || n > 1000 || p[0] == '/') return 0;
    const char *comp = p;
    for (size_t i = 0; i <= n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '/' || c == 0) {
            size_t len = (size_t)(p + i - comp);
            if (len == 0 || (len == 1 && comp[0] == '.') ||
                (len == 2 && comp[0] == '.' && comp[1] == '.'))
                return 0;
            comp = p + i + 1;
        } else if (c < 0x20 || c == 0x7f || c == '\\') {
            return 0;
        }
    }
    return 1;
}

static int errno_code(int e) {
    return e == ENOSPC || e == EDQUOT ? FR_ENOSPC : e == ENOENT ? FR_ENOTFOUND : FR_EIO;
}

int fr__hub_mkdirs(const char *path, fr_error *err) {
    char *p = xstrdup(path);
    if (!p) return fr__err(err, FR_ENOMEM, "out of memory");
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == 0) {
            char c = *s;
            *s = 0;
            if (mkdir(p, 0777) < 0 && errno != EEXIST) {
                int e = errno;
                int rc = fr__err(err, errno_code(e), "cannot create folder %s: %s", p,
                                 strerror(e));
                free(p);
                return rc;
            }
            *s = c;
            if (!c) break;
        }
    }
    free(p);
    return 0;
}

static char *parent_of(const char *path) {
    char *d = xstrdup(path);
    if (!d) return NULL;
    char *slash = strrchr(d, '/');
    if (slash && slash != d) *slash = 0;
    return d;
}

// A name for a temporary sibling of `path` that no other thread or process uses.
static char *tmp_sibling(const char *path) {
    static unsigned long counter;
    unsigned long k = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
    return joinf("%s.tmp.%ld.%lu", path, (long)getpid(), k);
}

// ---- refs and links ----

int fr__hub_read_ref(const char *repo_dir, const char *revision, char commit[41]) {
    if (fr__hub_is_commit(revision)) {
        memcpy(commit, revision, 41);
        return 0;
    }
    if (!fr__hub_valid_relpath(revision)) return FR_EINVAL;
    char *path = joinf("%s/refs/%s", repo_dir, revision);
    if (!path) return FR_ENOMEM;
    char buf[64];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    free(path);
    if (fd < 0) return FR_ENOTFOUND;
    ssize_t r = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (r < 40) return FR_ENOTFOUND;
    buf[r] = 0;
    while (r > 0 && (buf[r - 1] == '\n' || buf[r - 1] == ' ' || buf[r - 1] == '\r')) buf[--r] = 0;
    if (!fr__hub_is_commit(buf)) return FR_ENOTFOUND;
    memcpy(commit, buf, 41);
    return 0;
}

int fr__hub_write_ref(const char *repo_dir, const char *revision, const char *commit,
                      fr_error *err) {
    if (!strcmp(revision, commit)) return 0;
    if (!fr__hub_valid_relpath(revision))
        return fr__err(err, FR_EINVAL, "invalid revision '%s'", revision);
    int rc = 0;
    char *path = joinf("%s/refs/%s", repo_dir, revision), *dir = NULL, *tmp = NULL;
    if (!path || !(dir = parent_of(path)) || !(tmp = tmp_sibling(path))) {
        rc = fr__err(err, FR_ENOMEM, "out of memory");
        goto fail;
    }
    char cur[41];
    if (fr__hub_read_ref(repo_dir, revision, cur) == 0 && !strcmp(cur, commit)) goto fail;
    if ((rc = fr__hub_mkdirs(dir, err)) < 0) goto fail;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0 || write(fd, commit, 40) != 40) {
        int e = errno;
        if (fd >= 0) close(fd);
        unlink(tmp);
        rc = fr__err(err, errno_code(e), "cannot write %s: %s", path, strerror(e));
        goto fail;
    }
    close(fd);
    if (rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        rc = fr__err(err, errno_code(e), "cannot write %s: %s", path, strerror(e));
    }
fail:
    free(path);
    free(dir);
    free(tmp);
    return rc;
}

int fr__hub_link(const char *repo_dir, const char *commit, const char *file, const char *etag,
                 fr_error *err) {
    int rc = 0;
    fr__buf target = {0};
    char *ptr = joinf("%s/snapshots/%s/%s", repo_dir, commit, file), *dir = NULL, *tmp = NULL;
    if (!ptr || !(dir = parent_of(ptr)) || !(tmp = tmp_sibling(ptr))) goto oom;
    // os.path.relpath(blob, dirname(pointer)): up from snapshots/COMMIT and each subfolder
    if (fr__buf_append(&target, "../../", 6) < 0) goto oom;
    for (const char *s = file; *s; s++)
        if (*s == '/' && fr__buf_append(&target, "../", 3) < 0) goto oom;
    if (fr__buf_printf(&target, "blobs/%s", etag) < 0) goto oom;

    char have[PATH_MAX];
    ssize_t hn = readlink(ptr, have, sizeof have - 1);
    if (hn >= 0) {
        have[hn] = 0;
        if (!strcmp(have, target.data)) goto done;  // already right (maybe another puller)
    }
    if ((rc = fr__hub_mkdirs(dir, err)) < 0) goto done;
    if (symlink(target.data, tmp) < 0 || rename(tmp, ptr) < 0) {
        int e = errno;
        unlink(tmp);
        rc = fr__err(err, errno_code(e), "cannot link %s → %s: %s", ptr, target.data,
                     strerror(e));
    }
    goto done;
oom:
    rc = fr__err(err, FR_ENOMEM, "out of memory");
done:
    fr__buf_free(&target);
    free(ptr);
    free(dir);
    free(tmp);
    return rc;
}

int fr__hub_lock(const char *cache, const char *repo_id, const char *etag, int *fd,
                 fr_error *err) {
    *fd = -1;
    int rc = 0;
    char *repo = fr__hub_repo_dir("", repo_id);  // "/models--ORG--NAME"
    char *dir = repo ? joinf("%s/.locks%s", cache, repo) : NULL;
    char *path = dir ? joinf("%s/%s.lock", dir, etag) : NULL;
    if (!path) {
        rc = fr__err(err, FR_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = fr__hub_mkdirs(dir, err)) < 0) goto done;
    int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (f < 0) {
        rc = fr__err(err, errno_code(errno), "cannot open lock %s: %s", path, strerror(errno));
        goto done;
    }
    while (flock(f, LOCK_EX) < 0) {
        if (errno == EINTR) continue;
        rc = fr__err(err, FR_EIO, "cannot lock %s: %s", path, strerror(errno));
        close(f);
        goto done;
    }
    *fd = f;
done:
    free(repo);
    free(dir);
    free(path);
    return rc;
}

void fr__hub_unlock(int fd) {
    if (fd < 0) return;
    flock(fd, LOCK_UN);
    close(fd);
}

// ---- aliases and --model resolution ----

static const char *const aliases[][2] = {
    {"bge-reranker-base", "BAAI/bge-reranker-base"},
    {"bge-reranker-large", "BAAI/bge-reranker-large"},
    {"bge-reranker-v2-m3", "BAAI/bge-reranker-v2-m3"},
    {"bce-reranker-base_v1", "maidalun1020/bce-reranker-base_v1"},
    {"ms-marco-MiniLM-L-6-v2", "cross-encoder/ms-marco-MiniLM-L-6-v2"},
    {"ms-marco-TinyBERT-L-2-v2", "cross-encoder/ms-marco-TinyBERT-L-2-v2"},
    {"mmarco-mMiniLMv2", "cross-encoder/mmarco-mMiniLMv2-L12-H384-v1"},
};

const char *fr_hub_alias(const char *name) {
    if (!name) return name;
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (!strcmp(name, aliases[i][0])) return aliases[i][1];
    return name;
}

int fr_hub_resolve(const char *model_arg, char **dir, fr_error *err) {
    *dir = NULL;
    struct stat st;
    if (!model_arg || !*model_arg) return fr__err(err, FR_EINVAL, "empty model name");
    if (stat(model_arg, &st) == 0) {
        if (!(*dir = xstrdup(model_arg))) return fr__err(err, FR_ENOMEM, "out of memory");
        return 0;
    }
    int rc = 0;
    char *cache = NULL, *repo_dir = NULL, *snap = NULL, *name = xstrdup(model_arg);
    if (!name) return fr__err(err, FR_ENOMEM, "out of memory");
    char *at = strchr(name, '@');
    const char *revision = "main";
    if (at) {
        *at = 0;
        revision = at + 1;
    }
    const char *repo_id = fr_hub_alias(name);
    if (!fr__hub_valid_repo_id(repo_id) || !*revision) {
        rc = fr__err(err, FR_ENOTFOUND, "%s: no such file or folder, and not a model id",
                     model_arg);
        goto done;
    }
    if ((rc = fr__hub_cache_dir(NULL, &cache, err)) < 0) goto done;
    if (!(repo_dir = fr__hub_repo_dir(cache, repo_id))) goto oom;
    char commit[41];
    if (fr__hub_read_ref(repo_dir, revision, commit) < 0) {
        rc = fr__err(err, FR_ENOTFOUND,
                     "%s is not in the cache (%s): run `finerank pull %s%s%s` first",
                     repo_id, cache, repo_id, at ? " --revision " : "", at ? revision : "");
        goto done;
    }
    if (!(snap = joinf("%s/snapshots/%s", repo_dir, commit))) goto oom;
    char *cfg = joinf("%s/config.json", snap);
    if (!cfg) goto oom;
    int ok = stat(cfg, &st) == 0;
    free(cfg);
    if (!ok) {
        rc = fr__err(err, FR_ENOTFOUND,
                     "%s@%s: the cached snapshot %s has no config.json: run `finerank pull %s`",
                     repo_id, revision, snap, repo_id);
        goto done;
    }
    *dir = snap;
    snap = NULL;
    goto done;
oom:
    rc = fr__err(err, FR_ENOMEM, "out of memory");
done:
    free(name);
    free(cache);
    free(repo_dir);
    free(snap);
    return rc;
}

// ---- listing ----

// Sums the sizes of the files below `dir` (following the snapshot symlinks to the blobs).
static void tally(const char *dir, int depth, uint64_t *bytes, size_t *n) {
    if (depth > 16) return;
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char *p = joinf("%s/%s", dir, e->d_name);
        struct stat st;
        if (p && stat(p, &st) == 0) {
            if (S_ISDIR(st.st_mode)) tally(p, depth + 1, bytes, n);
            else if (S_ISREG(st.st_mode)) {
                *bytes += (uint64_t)st.st_size;
                ++*n;
            }
        }
        free(p);
    }
    closedir(d);
}

// Appends to `refs` (comma-separated) every ref below refs_dir/prefix naming `commit`.
static void find_refs(const char *repo_dir, const char *prefix, const char *commit, int depth,
                      fr__buf *refs) {
    if (depth > 8) return;
    char *dir = joinf("%s/refs%s%s", repo_dir, *prefix ? "/" : "", prefix);
    DIR *d = dir ? opendir(dir) : NULL;
    free(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char *rel = *prefix ? joinf("%s/%s", prefix, e->d_name) : xstrdup(e->d_name);
        if (!rel) continue;
        char c[41];
        if (fr__hub_read_ref(repo_dir, rel, c) == 0) {
            if (!strcmp(c, commit)) {
                if (refs->len) fr__buf_putc(refs, ',');
                fr__buf_printf(refs, "%s", rel);
            }
        } else {
            find_refs(repo_dir, rel, commit, depth + 1, refs);
        }
        free(rel);
    }
    closedir(d);
}

static void free_entry(fr_hub_cached *c) {
    free(c->repo_id);
    free(c->commit);
    free(c->refs);
    free(c->dir);
}

static int cmp_cached(const void *a, const void *b) {
    const fr_hub_cached *x = a, *y = b;
    int c = strcmp(x->repo_id, y->repo_id);
    return c ? c : strcmp(x->commit, y->commit);
}

int fr_hub_list_cached(const char *cache_dir, fr_hub_cached **list, size_t *n, fr_error *err) {
    *list = NULL;
    *n = 0;
    char *cache = NULL;
    int rc = fr__hub_cache_dir(cache_dir, &cache, err);
    if (rc < 0) return rc;
    DIR *d = opendir(cache);
    if (!d) {
        int e = errno;
        rc = e == ENOENT ? 0 : fr__err(err, FR_EIO, "%s: %s", cache, strerror(e));
        free(cache);
        return rc;
    }
    fr_hub_cached *v = NULL;
    size_t len = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "models--", 8) != 0) continue;
        // "models--ORG--NAME" → "ORG/NAME"
        fr__buf id = {0};
        for (const char *s = e->d_name + 8; *s; s++) {
            if (s[0] == '-' && s[1] == '-') {
                fr__buf_putc(&id, '/');
                s++;
            } else {
                fr__buf_putc(&id, *s);
            }
        }
        char *repo_dir = joinf("%s/%s", cache, e->d_name);
        char *snaps = repo_dir ? joinf("%s/snapshots", repo_dir) : NULL;
        DIR *sd = snaps ? opendir(snaps) : NULL;
        struct dirent *se;
        while (sd && (se = readdir(sd)) && id.data) {
            if (se->d_name[0] == '.') continue;
            if (len == cap) {
                size_t nc = cap ? cap * 2 : 8;
                fr_hub_cached *nv = realloc(v, nc * sizeof *v);
                if (!nv) break;
                v = nv;
                cap = nc;
            }
            fr_hub_cached *c = &v[len];
            memset(c, 0, sizeof *c);
            fr__buf refs = {0};
            fr__buf_putc(&refs, 0);
            refs.len = 0;
            find_refs(repo_dir, "", se->d_name, 0, &refs);
            c->repo_id = xstrdup(id.data);
            c->commit = xstrdup(se->d_name);
            c->refs = refs.data;
            c->dir = joinf("%s/%s", snaps, se->d_name);
            if (!c->repo_id || !c->commit || !c->refs || !c->dir) {
                free_entry(c);  // the slot is reused
                continue;
            }
            tally(c->dir, 0, &c->bytes, &c->n_files);
            len++;
        }
        if (sd) closedir(sd);
        free(snaps);
        free(repo_dir);
        fr__buf_free(&id);
    }
    closedir(d);
    free(cache);
    if (len) qsort(v, len, sizeof *v, cmp_cached);
    *list = v;
    *n = len;
    return 0;
}

void fr_hub_cached_free(fr_hub_cached *list, size_t n) {
    if (!list) return;
    for (size_t i = 0; i < n; i++) free_entry(&list[i]);
    free(list);
}
