/* hub.c — `finerank pull`: the Hugging Face hub download protocol over libcurl, following
 * huggingface_hub's hf_hub_download (file_download.py) step for step so that the cache it
 * leaves is the one Python tools expect (layout in cache.c):
 *
 *   1. GET  ENDPOINT/api/models/REPO/revision/REV  → commit `sha` and the file list `siblings`.
 *   2. Per file, unless snapshots/COMMIT/FILE already exists:
 *      HEAD ENDPOINT/REPO/resolve/COMMIT/FILE (Accept-Encoding: identity; only relative
 *      redirects followed, as _request_wrapper(follow_relative_redirects=True) does) →
 *      X-Repo-Commit, ETag or X-Linked-Etag (quotes and W/ stripped), X-Linked-Size or
 *      Content-Length, and for LFS files a 302 Location on another host (the CDN).
 *   3. blobs/ETAG exists → only the snapshot symlink is written (no GET).
 *   4. Otherwise, under the per-blob flock: GET the Location (Authorization dropped when the
 *      host differs, as huggingface_hub pops it), appending to blobs/ETAG.incomplete from
 *      its current size with `Range: bytes=N-`; a dropped connection resumes the same way
 *      (opts.retries times). Then the size and the hash are checked — sha256 for a 64-hex
 *      ETag (LFS), git's sha1 of "blob SIZE\0DATA" for a 40-hex one — and the file is
 *      renamed to blobs/ETAG. A mismatch deletes it. Readers never see a partial blob.
 *   5. refs/REV ← COMMIT once every file is in place, so `--model REPO` only ever resolves to
 *      a complete snapshot.
 *
 * What is fetched: config.json first (its architectures are checked before any weights),
 * the tokenizer files, the sentence-transformers configs when the repo has them, then
 * model.safetensors or model.safetensors.index.json and its shards, then --include matches.
 * Tuned for a handful of files, a few of them gigabytes: one curl handle per pull, bytes
 * streamed straight to disk, the hash computed once over the finished file.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "hub/hub.h"

#define DEFAULT_ENDPOINT "https://huggingface.co"
#define MAX_API_BODY (64u << 20)  // a model-info response with tens of thousands of files
#define MAX_ERR_BODY 2048

fr_hub_opts fr_hub_opts_default(void) {
    fr_hub_opts o = {0};
    o.offline = -1;
    o.retries = 3;
    return o;
}

// ---- pull context ----

typedef struct pull {
    const fr_hub_opts *o;
    const char *repo_id;     // after alias expansion
    const char *revision;
    char *cache;             // cache root
    char *repo_dir;          // cache/models--ORG--NAME
    char *endpoint;          // without trailing '/'
    char *token;             // NULL: none
    char commit[41];
    CURL *curl;
    fr__buf url;             // scratch
} pull;

static char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

static int truthy(const char *v) {
    // constants._is_true(): "1", "ON", "YES", "TRUE" in any case
    return v && (!strcmp(v, "1") || !strcasecmp(v, "on") || !strcasecmp(v, "yes") ||
                 !strcasecmp(v, "true"));
}

// HF_TOKEN, else the legacy HUGGING_FACE_HUB_TOKEN, else the file `hf auth login` writes.
static char *env_token(void) {
    const char *t = getenv("HF_TOKEN");
    if (!t || !*t) t = getenv("HUGGING_FACE_HUB_TOKEN");
    if (t && *t) return xstrdup(t);
    char path[4096];
    const char *p = getenv("HF_TOKEN_PATH");
    if (p && *p) snprintf(path, sizeof path, "%s", p);
    else if (getenv("HF_HOME") && *getenv("HF_HOME"))
        snprintf(path, sizeof path, "%s/token", getenv("HF_HOME"));
    else if (getenv("XDG_CACHE_HOME") && *getenv("XDG_CACHE_HOME"))
        snprintf(path, sizeof path, "%s/huggingface/token", getenv("XDG_CACHE_HOME"));
    else if (getenv("HOME"))
        snprintf(path, sizeof path, "%s/.cache/huggingface/token", getenv("HOME"));
    else return NULL;
    char *data;
    size_t len;
    if (fr__read_file(path, &data, &len, NULL) < 0) return NULL;
    while (len && (data[len - 1] == '\n' || data[len - 1] == '\r' || data[len - 1] == ' '))
        data[--len] = 0;
    if (!len || memchr(data, '\n', len)) {
        free(data);
        return NULL;
    }
    return data;
}

// ---- http ----

typedef struct resp {
    long status;
    char *location, *etag, *linked_etag, *commit, *linked_size, *length, *range;
    char *error_code, *error_message;
    fr__buf body;            // API body, or the first bytes of an error body
    size_t body_max;
    // download into a file
    int fd;                  // -1: no file
    uint64_t offset;         // bytes already in the file when the request was sent
    uint64_t written;        // bytes written by this request
    uint64_t total;          // expected final size (0 unknown), for progress
    int started, bad_range, overflow, werrno;
    const char *file;        // for progress
    const fr_hub_opts *o;
    CURL *h;
} resp;

static void resp_clear_headers(resp *r) {
    char **h[] = {&r->location, &r->etag, &r->linked_etag, &r->commit, &r->linked_size,
                  &r->length, &r->range, &r->error_code, &r->error_message};
    for (size_t i = 0; i < sizeof h / sizeof h[0]; i++) {
        free(*h[i]);
        *h[i] = NULL;
    }
}

static void resp_free(resp *r) {
    resp_clear_headers(r);
    fr__buf_free(&r->body);
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud) {
    resp *r = ud;
    size_t n = size * nmemb;
    if (n >= 5 && !memcmp(p, "HTTP/", 5)) {  // a new response (after a followed redirect)
        resp_clear_headers(r);
        return n;
    }
    const char *colon = memchr(p, ':', n);
    if (!colon) return n;
    size_t klen = (size_t)(colon - p);
    const char *v = colon + 1, *end = p + n;
    while (v < end && (*v == ' ' || *v == '\t')) v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ')) end--;
    static const struct { const char *name; size_t off; } known[] = {
        {"location", offsetof(resp, location)},
        {"etag", offsetof(resp, etag)},
        {"x-linked-etag", offsetof(resp, linked_etag)},
        {"x-repo-commit", offsetof(resp, commit)},
        {"x-linked-size", offsetof(resp, linked_size)},
        {"content-length", offsetof(resp, length)},
        {"content-range", offsetof(resp, range)},
        {"x-error-code", offsetof(resp, error_code)},
        {"x-error-message", offsetof(resp, error_message)},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        if (strlen(known[i].name) != klen || strncasecmp(p, known[i].name, klen)) continue;
        char **slot = (char **)((char *)r + known[i].off);
        free(*slot);
        *slot = strndup(v, (size_t)(end - v));
        break;
    }
    return n;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud) {
    resp *r = ud;
    size_t n = size * nmemb;
    if (!r->started) {
        // The final response's headers are complete (libcurl skips the bodies of the
        // redirects it follows): decide what to do with the body before its first byte.
        r->started = 1;
        curl_easy_getinfo(r->h, CURLINFO_RESPONSE_CODE, &r->status);
        if (r->fd >= 0 && r->status == 200 && r->offset > 0) {
            // the server ignored our Range and sends the whole file: start the file over
            if (ftruncate(r->fd, 0) < 0) {
                r->werrno = errno;
                return 0;
            }
            r->offset = 0;
        } else if (r->fd >= 0 && r->status == 206) {
            // "Content-Range: bytes START-END/TOTAL" must start where our file ends
            unsigned long long start = 0;
            if (!r->range || sscanf(r->range, "bytes %llu-", &start) != 1 ||
                start != r->offset) {
                r->bad_range = 1;
                if (ftruncate(r->fd, 0) < 0) r->werrno = errno;
                return 0;
            }
        }
    }
    if (r->fd < 0 || r->status < 200 || r->status >= 300) {
        size_t keep = r->body.len < r->body_max ? r->body_max - r->body.len : 0;
        if (r->fd < 0 && keep < n) return 0;  // an API answer larger than any real one
        if (fr__buf_append(&r->body, p, keep < n ? keep : n) < 0) return 0;
        return n;
    }
    if (r->total && r->offset + r->written + n > r->total) {
        r->overflow = 1;  // more than the hub announced: never let a server fill the disk
        return 0;
    }
    for (size_t done = 0; done < n;) {
        ssize_t w = write(r->fd, p + done, n - done);
        if (w < 0) {
            if (errno == EINTR) continue;
            r->werrno = errno;
            return 0;  // aborts the transfer with CURLE_WRITE_ERROR
        }
        done += (size_t)w;
    }
    r->written += n;
    if (r->o->progress)
        r->o->progress(r->o->progress_ud, r->file, r->offset + r->written, r->total);
    return n;
}

typedef struct req {
    const char *method;      // "HEAD" or "GET"
    const char *url;
    int auth;                // send Authorization
    int follow;              // let libcurl follow redirects
    uint64_t range_from;     // > 0: Range: bytes=N-
} req;

static CURLcode perform(pull *c, const req *q, resp *r) {
    CURL *h = c->curl;
    curl_easy_reset(h);
    struct curl_slist *hdrs = NULL;
    char line[4200];
    hdrs = curl_slist_append(hdrs, "Accept-Encoding: identity");
    if (q->auth && c->token) {
        snprintf(line, sizeof line, "Authorization: Bearer %.4096s", c->token);
        hdrs = curl_slist_append(hdrs, line);
    }
    if (q->range_from) {
        snprintf(line, sizeof line, "Range: bytes=%llu-", (unsigned long long)q->range_from);
        hdrs = curl_slist_append(hdrs, line);
    }
    curl_easy_setopt(h, CURLOPT_URL, q->url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "finerank/" FR_VERSION);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, q->follow ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
    // libcurl drops our Authorization header itself when a followed redirect changes host
    // (CURLOPT_UNRESTRICTED_AUTH stays 0).
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);   // a stalled connection fails after
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);   // a minute instead of hanging
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    if (!strcmp(q->method, "HEAD")) curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    r->h = h;
    CURLcode cc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(hdrs);
    return cc;
}

// "scheme://host:port" of a URL, or of `rel` resolved against `base`. OUT: *abs (resolved
// URL) when not NULL. Returns NULL on a malformed URL.
static char *origin(const char *base, const char *rel, char **abs) {
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *res = NULL;
    if (!u || curl_url_set(u, CURLUPART_URL, base, 0) ||
        (rel && curl_url_set(u, CURLUPART_URL, rel, 0)) ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT))
        goto done;
    if (abs && curl_url_get(u, CURLUPART_URL, abs, 0)) goto done;
    if (asprintf(&res, "%s://%s:%s", scheme, host, port) < 0) res = NULL;
done:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return res;
}

static int net_error(pull *c, CURLcode cc, const char *what, fr_error *err) {
    if (cc == CURLE_COULDNT_RESOLVE_HOST || cc == CURLE_COULDNT_CONNECT ||
        cc == CURLE_COULDNT_RESOLVE_PROXY)
        return fr__err(err, FR_ENET,
                       "cannot reach %s (%s): check the network, or set HF_HUB_OFFLINE=1 to use "
                       "models already in the cache", c->endpoint, curl_easy_strerror(cc));
    if (cc == CURLE_OPERATION_TIMEDOUT)
        return fr__err(err, FR_ETIMEOUT, "%s: the connection to %s timed out", what,
                       c->endpoint);
    return fr__err(err, FR_ENET, "%s: %s", what, curl_easy_strerror(cc));
}

// Turns an HTTP error status into the message a user can act on, the way
// hf_raise_for_status reads X-Error-Code.
static int status_error(pull *c, const resp *r, const char *file, fr_error *err) {
    const char *code = r->error_code ? r->error_code : "";
    const char *what = file ? file : "model info";
    int denied = r->status == 401 || r->status == 403;
    // A file refused after the model info was served means a gated repo (the hub serves a
    // gated repo's info to anyone); so does a refused token.
    if (!strcmp(code, "GatedRepo") || (denied && file) ||
        (denied && c->token && strcmp(code, "RepoNotFound")))
        return fr__err(err, FR_EAUTH,
                       "%s is gated or private (HTTP %ld): accept the license at %s/%s and "
                       "set HF_TOKEN to a token of that account%s",
                       c->repo_id, r->status, c->endpoint, c->repo_id,
                       c->token ? " (the token sent was refused)" : "");
    if (!strcmp(code, "RevisionNotFound"))
        return fr__err(err, FR_ENOTFOUND, "%s: no revision '%s' (HTTP %ld)", c->repo_id,
                       c->revision, r->status);
    if (!strcmp(code, "EntryNotFound") || (file && r->status == 404))
        return fr__err(err, FR_ENOTFOUND, "%s@%s: no file '%s' (HTTP %ld)", c->repo_id,
                       c->revision, what, r->status);
    if (!strcmp(code, "RepoNotFound") || r->status == 401 || r->status == 404)
        // the hub answers 401 for a repo that does not exist, to hide private ones
        return fr__err(err, r->status == 401 && strcmp(code, "RepoNotFound") ? FR_EAUTH
                                                                              : FR_ENOTFOUND,
                       "%s: no such repository on %s (HTTP %ld); check the name, or, if it is "
                       "private or gated, accept the license at %s/%s and set HF_TOKEN",
                       c->repo_id, c->endpoint, r->status, c->endpoint, c->repo_id);
    if (r->status == 403)
        return fr__err(err, FR_EAUTH,
                       "%s: access refused (HTTP 403): accept the license at %s/%s and set "
                       "HF_TOKEN", c->repo_id, c->endpoint, c->repo_id);
    return fr__err(err, FR_ENET, "%s: %s answered HTTP %ld%s%s", what, c->endpoint, r->status,
                   r->error_message ? ": " : "", r->error_message ? r->error_message : "");
}

// ---- model info ----

static int get_info(pull *c, char ***files, size_t *n, fr_error *err) {
    // model_info(): /api/models/{repo_id}/revision/{quote(revision, safe="")}
    char *qrev = curl_easy_escape(c->curl, c->revision, 0);
    c->url.len = 0;
    int rc = qrev ? fr__buf_printf(&c->url, "%s/api/models/%s/revision/%s", c->endpoint,
                                   c->repo_id, qrev)
                  : FR_ENOMEM;
    curl_free(qrev);
    if (rc < 0) return fr__err(err, FR_ENOMEM, "out of memory");
    resp r = {.fd = -1, .body_max = MAX_API_BODY, .o = c->o};
    req q = {.method = "GET", .url = c->url.data, .auth = 1, .follow = 1};
    CURLcode cc = perform(c, &q, &r);
    if (cc != CURLE_OK) rc = cc == CURLE_WRITE_ERROR
                                 ? fr__err(err, FR_EFORMAT, "model info: answer over 64 MiB")
                                 : net_error(c, cc, "model info", err);
    else if (r.status != 200) rc = status_error(c, &r, NULL, err);
    else if ((rc = fr__hub_parse_info(r.body.data ? r.body.data : "", r.body.len, c->commit,
                                      files, n, err)) < 0)
        fr__err_prefix(err, rc, "%s/api/models/%s", c->endpoint, c->repo_id);
    resp_free(&r);
    return rc;
}

// ---- one file ----

static char *header_etag(const resp *r) {
    // _normalize_etag(): X-Linked-Etag wins; strip a weak "W/" prefix and the quotes
    const char *e = r->linked_etag ? r->linked_etag : r->etag;
    if (!e) return NULL;
    if (!strncmp(e, "W/", 2)) e += 2;
    size_t n = strlen(e);
    while (n && *e == '"') e++, n--;
    while (n && e[n - 1] == '"') n--;
    if (n == 0 || n > 128 || e[0] == '.') return NULL;
    for (size_t i = 0; i < n; i++) {
        char ch = e[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              ch == '-' || ch == '_' || ch == '.'))
            return NULL;  // becomes a file name under blobs/: nothing that could escape it
    }
    return strndup(e, n);
}

static int is_hex(const char *s, size_t n) {
    if (strlen(s) != n) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
    return 1;
}

// Hashes a finished download the way the ETag was computed: sha256 of the bytes for LFS
// (64 hex digits), git's blob id sha1("blob <size>\0" + bytes) for regular files (40).
// Returns 0 if it matches, FR_ECHECKSUM (message names both digests) if not, 1 when the
// ETag is neither form and cannot be checked.
static int verify(const char *path, const char *etag, uint64_t size, const char *file,
                  fr_error *err) {
    int lfs = is_hex(etag, 64), git = is_hex(etag, 40);
    if (!lfs && !git) return 1;
    int rc = 0, fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fr__err(err, FR_EIO, "%s: %s", path, strerror(errno));
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    char *buf = malloc(1 << 20);
    if (!md || !buf || !EVP_DigestInit_ex(md, lfs ? EVP_sha256() : EVP_sha1(), NULL)) {
        rc = fr__err(err, FR_ENOMEM, "out of memory");
        goto done;
    }
    if (git) {
        char hdr[64];
        int hn = snprintf(hdr, sizeof hdr, "blob %llu", (unsigned long long)size);
        EVP_DigestUpdate(md, hdr, (size_t)hn + 1);  // the NUL is part of the header
    }
    for (;;) {
        ssize_t r = read(fd, buf, 1 << 20);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            rc = fr__err(err, FR_EIO, "%s: read: %s", path, strerror(errno));
            goto done;
        }
        if (r == 0) break;
        EVP_DigestUpdate(md, buf, (size_t)r);
    }
    unsigned char dig[EVP_MAX_MD_SIZE];
    unsigned dn = 0;
    EVP_DigestFinal_ex(md, dig, &dn);
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    for (unsigned i = 0; i < dn; i++) snprintf(hex + 2 * i, 3, "%02x", dig[i]);
    if (strcmp(hex, etag))
        rc = fr__err(err, FR_ECHECKSUM,
                     "%s: checksum mismatch (the hub says %s %s, the download hashes to %s)",
                     file, lfs ? "sha256" : "git sha1", etag, hex);
done:
    free(buf);
    EVP_MD_CTX_free(md);
    close(fd);
    return rc;
}

static uint64_t parse_u64(const char *s, int *ok) {
    char *end;
    errno = 0;
    unsigned long long v = s ? strtoull(s, &end, 10) : 0;
    *ok = s && *s >= '0' && *s <= '9' && !errno && *end == 0;
    return *ok ? (uint64_t)v : 0;
}

// GETs `url` into `tmp` (appending from its current size), retrying dropped connections.
static int download(pull *c, const char *file, const char *url, int auth, const char *tmp,
                    uint64_t size, int size_ok, fr_error *err) {
    int rc = 0;
    for (int attempt = 0;; attempt++) {
        struct stat st;
        uint64_t off = stat(tmp, &st) == 0 ? (uint64_t)st.st_size : 0;
        if (size_ok && off > size) {  // longer than the file: start over
            if (truncate(tmp, 0) < 0 && errno != ENOENT)
                return fr__err(err, FR_EIO, "%s: %s", tmp, strerror(errno));
            off = 0;
        }
        if (size_ok && off == size && size > 0) return 0;  // finished before an interruption
        if (size_ok) {
            struct statvfs vfs;
            if (statvfs(c->repo_dir, &vfs) == 0 &&
                (uint64_t)vfs.f_bavail * vfs.f_frsize < size - off)
                return fr__err(err, FR_ENOSPC,
                               "%s: disk full: %llu MB more needed in %s, %llu MB free",
                               file,
                               (unsigned long long)((size - off) >> 20), c->cache,
                               (unsigned long long)(((uint64_t)vfs.f_bavail * vfs.f_frsize) >> 20));
        }
        if (attempt > 1) usleep(500000u * (unsigned)(attempt - 1));  // back off a little
        int fd = open(tmp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
        if (fd < 0)
            return fr__err(err, errno == ENOSPC ? FR_ENOSPC : FR_EIO, "%s: %s", tmp,
                           strerror(errno));
        resp r = {.fd = fd, .offset = off, .total = size_ok ? size : 0, .file = file,
                  .body_max = MAX_ERR_BODY, .o = c->o};
        req q = {.method = "GET", .url = url, .auth = auth, .follow = 1, .range_from = off};
        CURLcode cc = perform(c, &q, &r);  // on_body copes with a server ignoring Range
        close(fd);
        int retry = 0;
        if (r.werrno) {
            int e = r.werrno;
            rc = fr__err(err, e == ENOSPC || e == EDQUOT || e == EFBIG ? FR_ENOSPC : FR_EIO,
                         "%s: %s while writing %s (%llu bytes kept; free space and run the "
                         "command again to resume)", file,
                         e == ENOSPC || e == EDQUOT ? "disk full" : strerror(e), tmp,
                         (unsigned long long)(off + r.written));
        } else if (r.overflow) {
            unlink(tmp);
            rc = fr__err(err, FR_ECHECKSUM,
                         "%s: the server sent more than the %llu bytes the hub announced; the "
                         "download was discarded, run the command again", file,
                         (unsigned long long)size);
        } else if (r.status == 416 && off > 0) {
            if (truncate(tmp, 0) < 0) rc = fr__err(err, FR_EIO, "%s: %s", tmp, strerror(errno));
            retry = 1;  // our partial file does not fit the server's: start over
        } else if (r.bad_range) {
            retry = 1;
        } else if (cc == CURLE_OK && r.status >= 200 && r.status < 300) {
            rc = 0;
        } else if (cc == CURLE_OK && auth) {
            rc = status_error(c, &r, file, err);
        } else if (cc == CURLE_OK) {
            // the CDN's signed URL refused (expired, throttled): a fresh pull signs anew
            rc = fr__err(err, FR_ENET, "%s: the download server answered HTTP %ld; run the "
                         "command again (%llu bytes kept)", file, r.status,
                         (unsigned long long)(off + r.written));
        } else if (attempt < c->o->retries &&
                   (cc == CURLE_PARTIAL_FILE || cc == CURLE_RECV_ERROR ||
                    cc == CURLE_GOT_NOTHING || cc == CURLE_OPERATION_TIMEDOUT ||
                    cc == CURLE_HTTP2_STREAM || cc == CURLE_SEND_ERROR)) {
            retry = 1;
        } else {
            net_error(c, cc, file, err);
            rc = fr__err_prefix(err, FR_ENET, "download interrupted after %llu bytes, which "
                                "are kept: run the command again to resume",
                                (unsigned long long)(off + r.written));
        }
        resp_free(&r);
        if (!retry || rc < 0) return rc;
        if (attempt >= c->o->retries + 2)
            return fr__err(err, FR_ENET, "%s: the server keeps answering unusable ranges", file);
    }
}

// urlparse(location).netloc != "": "//host/..." or "scheme://host/..." (RFC 3986 scheme
// characters before the first ':'), as opposed to a relative redirect ("/ORG/NEW/resolve/..").
static int has_netloc(const char *loc) {
    if (loc[0] == '/' && loc[1] == '/') return 1;
    const char *s = loc;
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z'))) return 0;
    while ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
           *s == '+' || *s == '-' || *s == '.')
        s++;
    return s[0] == ':' && s[1] == '/' && s[2] == '/';
}

// Makes snapshots/COMMIT/FILE present, downloading its blob unless the cache has it.
static int fetch(pull *c, const char *file, fr_error *err) {
    int rc = 0, lock = -1;
    char *ptr = NULL, *qfile = NULL, *etag = NULL, *dl = NULL, *blob = NULL, *tmp = NULL;
    char *o1 = NULL, *o2 = NULL;
    resp r = {.fd = -1, .body_max = MAX_ERR_BODY, .o = c->o};
    struct stat st;
    if (asprintf(&ptr, "%s/snapshots/%s/%s", c->repo_dir, c->commit, file) < 0) {
        ptr = NULL;
        goto oom;
    }
    if (stat(ptr, &st) == 0 && S_ISREG(st.st_mode)) goto done;  // cached (by us or Python)

    // hf_hub_url(): quote(filename) keeps '/'; the commit needs no quoting
    fr__buf u = {0};
    for (const char *s = file; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        int keep = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                   (ch >= '0' && ch <= '9') || ch == '/' || ch == '-' || ch == '_' ||
                   ch == '.' || ch == '~';
        if ((keep ? fr__buf_putc(&u, (char)ch) : fr__buf_printf(&u, "%%%02X", ch)) < 0) {
            fr__buf_free(&u);
            goto oom;
        }
    }
    qfile = u.data;
    c->url.len = 0;
    if (fr__buf_printf(&c->url, "%s/%s/resolve/%s/%s", c->endpoint, c->repo_id, c->commit,
                       qfile) < 0)
        goto oom;

    // HEAD, following relative redirects only (a renamed repo), never the CDN one
    char *url = xstrdup(c->url.data);
    if (!url) goto oom;
    for (int hops = 0;; hops++) {
        req q = {.method = "HEAD", .url = url, .auth = 1};
        resp_clear_headers(&r);
        CURLcode cc = perform(c, &q, &r);
        if (cc != CURLE_OK) {
            rc = net_error(c, cc, file, err);
            free(url);
            goto done;
        }
        if (r.status >= 300 && r.status < 400 && r.location && hops < 10 &&
            !has_netloc(r.location)) {
            char *next = NULL;
            char *org = origin(url, r.location, &next);
            free(org);
            free(url);
            url = next ? xstrdup(next) : NULL;
            curl_free(next);
            if (!url) {
                rc = fr__err(err, FR_EFORMAT, "%s: bad redirect", file);
                goto done;
            }
            continue;
        }
        break;
    }
    if (r.status >= 400 || r.status < 200 || (r.status >= 300 && !r.location)) {
        rc = status_error(c, &r, file, err);
        free(url);
        goto done;
    }
    if (!r.commit) {
        rc = fr__err(err, FR_EFORMAT,
                     "%s: %s sent no X-Repo-Commit header; is HF_ENDPOINT a Hugging Face hub?",
                     file, c->endpoint);
        free(url);
        goto done;
    }
    if (!(etag = header_etag(&r))) {
        rc = fr__err(err, FR_EFORMAT, "%s: %s sent no usable ETag", file, c->endpoint);
        free(url);
        goto done;
    }
    int size_ok = 0;
    uint64_t size = parse_u64(r.linked_size ? r.linked_size : r.length, &size_ok);
    // the file comes from the Location of a redirect (the CDN), else from the resolve URL
    if (r.status >= 300 && r.location) {
        char *abs = NULL;
        o2 = origin(url, r.location, &abs);
        dl = abs ? xstrdup(abs) : NULL;
        curl_free(abs);
    } else {
        dl = xstrdup(url);
        o2 = origin(url, NULL, NULL);
    }
    o1 = origin(c->endpoint, NULL, NULL);
    free(url);
    if (!dl || !o1 || !o2) {
        rc = fr__err(err, FR_EFORMAT, "%s: bad download URL", file);
        goto done;
    }
    // the token goes only to the hub's own host (huggingface_hub pops "authorization")
    int auth = !strcmp(o1, o2);

    if (asprintf(&blob, "%s/blobs/%s", c->repo_dir, etag) < 0) {
        blob = NULL;
        goto oom;
    }
    if (asprintf(&tmp, "%s.incomplete", blob) < 0) {
        tmp = NULL;
        goto oom;
    }
    if (stat(blob, &st) != 0) {
        char *blobs = NULL;
        if (asprintf(&blobs, "%s/blobs", c->repo_dir) < 0) goto oom;
        rc = fr__hub_mkdirs(blobs, err);
        free(blobs);
        if (rc < 0 || (rc = fr__hub_lock(c->cache, c->repo_id, etag, &lock, err)) < 0) goto done;
        if (stat(blob, &st) != 0) {  // nobody finished it while we waited for the lock
            if ((rc = download(c, file, dl, auth, tmp, size, size_ok, err)) < 0) goto done;
            if (stat(tmp, &st) != 0) {
                rc = fr__err(err, FR_EIO, "%s: %s vanished during the download", file, tmp);
                goto done;
            }
            if (size_ok && (uint64_t)st.st_size != size) {
                unlink(tmp);
                rc = fr__err(err, FR_ECHECKSUM,
                             "%s: downloaded %lld bytes but the hub announced %llu; the "
                             "download was discarded, run the command again", file,
                             (long long)st.st_size, (unsigned long long)size);
                goto done;
            }
            int v = verify(tmp, etag, (uint64_t)st.st_size, file, err);
            if (v < 0) {
                if (v == FR_ECHECKSUM) {
                    unlink(tmp);
                    fr__err_prefix(err, v, "download discarded, run the command again");
                }
                rc = v;
                goto done;
            }
            int fd = open(tmp, O_RDONLY | O_CLOEXEC);
            if (fd >= 0) {
                fsync(fd);
                close(fd);
            }
            if (rename(tmp, blob) < 0) {
                rc = fr__err(err, FR_EIO, "cannot move %s to %s: %s", tmp, blob,
                             strerror(errno));
                goto done;
            }
        }
    }
    rc = fr__hub_link(c->repo_dir, c->commit, file, etag, err);
    goto done;
oom:
    rc = fr__err(err, FR_ENOMEM, "out of memory");
done:
    fr__hub_unlock(lock);
    resp_free(&r);
    free(ptr);
    free(qfile);
    free(etag);
    free(dl);
    free(blob);
    free(tmp);
    free(o1);
    free(o2);
    return rc;
}

// ---- pull ----

static int has(char **v, size_t n, const char *s) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i], s)) return 1;
    return 0;
}

static int fetch_and_read(pull *c, const char *file, char **data, size_t *len, fr_error *err) {
    int rc = fetch(c, file, err);
    if (rc < 0) return rc;
    char *p = NULL;
    if (asprintf(&p, "%s/snapshots/%s/%s", c->repo_dir, c->commit, file) < 0)
        return fr__err(err, FR_ENOMEM, "out of memory");
    rc = fr__read_file(p, data, len, err);
    free(p);
    return rc;
}

// The sentence-transformers files, fetched when the repo has them.
static const char *const optional_files[] = {
    "tokenizer_config.json", "special_tokens_map.json", "modules.json",
    "config_sentence_transformers.json", "sentence_bert_config.json", "1_Pooling/config.json",
};

// HF_HUB_OFFLINE: the snapshot must already hold what the engine needs.
static int pull_offline(pull *c, fr_error *err) {
    if (fr__hub_read_ref(c->repo_dir, c->revision, c->commit) < 0)
        return fr__err(err, FR_ENOTFOUND,
                       "%s@%s is not in the cache (%s) and HF_HUB_OFFLINE is set: pull it "
                       "once with the network on", c->repo_id, c->revision, c->cache);
    const char *need[] = {"config.json", "tokenizer.json"};
    char *p = NULL;
    struct stat st;
    for (size_t i = 0; i < 2; i++) {
        if (asprintf(&p, "%s/snapshots/%s/%s", c->repo_dir, c->commit, need[i]) < 0)
            return fr__err(err, FR_ENOMEM, "out of memory");
        int ok = stat(p, &st) == 0;
        free(p);
        if (!ok)
            return fr__err(err, FR_ENOTFOUND,
                           "%s@%s: the cached snapshot lacks %s and HF_HUB_OFFLINE is set",
                           c->repo_id, c->revision, need[i]);
    }
    if (asprintf(&p, "%s/snapshots/%s/model.safetensors", c->repo_dir, c->commit) < 0)
        return fr__err(err, FR_ENOMEM, "out of memory");
    int single = stat(p, &st) == 0;
    free(p);
    if (single) return 0;
    char *data;
    size_t len;
    if (asprintf(&p, "%s/snapshots/%s/model.safetensors.index.json", c->repo_dir,
                 c->commit) < 0)
        return fr__err(err, FR_ENOMEM, "out of memory");
    int rc = fr__read_file(p, &data, &len, NULL);
    free(p);
    if (rc < 0)
        return fr__err(err, FR_ENOTFOUND,
                       "%s@%s: the cached snapshot has no safetensors weights and "
                       "HF_HUB_OFFLINE is set", c->repo_id, c->revision);
    char **shards = NULL;
    size_t ns = 0;
    rc = fr__hub_parse_shards(data, len, &shards, &ns, err);
    free(data);
    for (size_t i = 0; rc == 0 && i < ns; i++) {
        if (asprintf(&p, "%s/snapshots/%s/%s", c->repo_dir, c->commit, shards[i]) < 0) {
            rc = fr__err(err, FR_ENOMEM, "out of memory");
            break;
        }
        if (stat(p, &st) != 0)
            rc = fr__err(err, FR_ENOTFOUND,
                         "%s@%s: the cached snapshot lacks %s and HF_HUB_OFFLINE is set",
                         c->repo_id, c->revision, shards[i]);
        free(p);
    }
    fr__hub_strv_free(shards, ns);
    return rc;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

int fr_hub_pull(const char *repo_id, const fr_hub_opts *opts, char **snapshot_dir,
                fr_error *err) {
    *snapshot_dir = NULL;
    fr_hub_opts defaults = fr_hub_opts_default();
    const fr_hub_opts *o = opts ? opts : &defaults;
    pull c = {.o = o};
    char **files = NULL, **shards = NULL;
    size_t n_files = 0, n_shards = 0;
    char *data = NULL;
    size_t len = 0;
    int rc = 0;

    c.repo_id = fr_hub_alias(repo_id ? repo_id : "");
    c.revision = o->revision && *o->revision ? o->revision : "main";
    if (!fr__hub_valid_repo_id(c.repo_id))
        return fr__err(err, FR_EINVAL, "'%s' is not a model id (ORG/NAME) or a known alias",
                       repo_id ? repo_id : "");
    if (!fr__hub_valid_relpath(c.revision))
        return fr__err(err, FR_EINVAL, "invalid revision '%s'", c.revision);
    if ((rc = fr__hub_cache_dir(o->cache_dir, &c.cache, err)) < 0) return rc;
    if (!(c.repo_dir = fr__hub_repo_dir(c.cache, c.repo_id))) goto oom;

    int offline = o->offline >= 0 ? o->offline
                                  : truthy(getenv("HF_HUB_OFFLINE")) ||
                                        truthy(getenv("TRANSFORMERS_OFFLINE"));
    if (offline) {
        if ((rc = pull_offline(&c, err)) < 0) goto done;
        goto success;
    }

    const char *ep = o->endpoint && *o->endpoint ? o->endpoint
                     : getenv("HF_ENDPOINT") && *getenv("HF_ENDPOINT") ? getenv("HF_ENDPOINT")
                                                                      : DEFAULT_ENDPOINT;
    if (!(c.endpoint = xstrdup(ep))) goto oom;
    for (size_t n = strlen(c.endpoint); n > 1 && c.endpoint[n - 1] == '/';) c.endpoint[--n] = 0;
    c.token = o->token ? (*o->token ? xstrdup(o->token) : NULL) : env_token();
    if (c.token && strpbrk(c.token, "\r\n")) {
        rc = fr__err(err, FR_EINVAL, "HF_TOKEN contains a line break");
        goto done;
    }
    pthread_once(&curl_once, curl_init);
    if (!(c.curl = curl_easy_init())) goto oom;

    if ((rc = get_info(&c, &files, &n_files, err)) < 0) {
        if (rc == FR_ENET || rc == FR_ETIMEOUT) {
            // say so when the cache could serve the model without the network
            fr_error quiet = {0};
            if (pull_offline(&c, &quiet) == 0 && err)
                fr__err_prefix(err, rc, "%s@%s is cached (commit %.12s) and usable with "
                               "HF_HUB_OFFLINE=1; updating it failed", c.repo_id, c.revision,
                               c.commit);
        }
        goto done;
    }

    // Plan before fetching anything large: what the engine needs must be there.
    if (!has(files, n_files, "config.json")) {
        rc = fr__err(err, FR_EUNSUPPORTED, "%s@%s has no config.json: not a transformers model",
                     c.repo_id, c.revision);
        goto done;
    }
    if (!has(files, n_files, "tokenizer.json")) {
        rc = fr__err(err, FR_EUNSUPPORTED,
                     "%s@%s has no tokenizer.json: finerank needs the fast-tokenizer file",
                     c.repo_id, c.revision);
        goto done;
    }
    int sharded = !has(files, n_files, "model.safetensors");
    if (sharded && !has(files, n_files, "model.safetensors.index.json")) {
        rc = fr__err(err, FR_EUNSUPPORTED,
                     "%s@%s has no safetensors weights (model.safetensors or "
                     "model.safetensors.index.json); finerank does not read pytorch_model.bin",
                     c.repo_id, c.revision);
        goto done;
    }
    for (size_t k = 0; k < o->n_include; k++) {
        size_t hits = 0;
        for (size_t i = 0; i < n_files; i++) hits += fnmatch(o->include[k], files[i], 0) == 0;
        if (!hits) {
            rc = fr__err(err, FR_ENOTFOUND, "%s@%s: --include '%s' matches no file", c.repo_id,
                         c.revision, o->include[k]);
            goto done;
        }
    }

    // config.json first: refuse an architecture the engine cannot run before the weights
    if ((rc = fetch_and_read(&c, "config.json", &data, &len, err)) < 0) goto done;
    if ((rc = fr__hub_check_config(data, len, err)) < 0) {
        fr__err_prefix(err, rc, "%s", c.repo_id);
        goto done;
    }
    free(data);
    data = NULL;
    if ((rc = fetch(&c, "tokenizer.json", err)) < 0) goto done;
    for (size_t i = 0; i < sizeof optional_files / sizeof optional_files[0]; i++)
        if (has(files, n_files, optional_files[i]) &&
            (rc = fetch(&c, optional_files[i], err)) < 0)
            goto done;
    if (!sharded) {
        if ((rc = fetch(&c, "model.safetensors", err)) < 0) goto done;
    } else {
        const char *idx = "model.safetensors.index.json";
        if ((rc = fetch_and_read(&c, idx, &data, &len, err)) < 0) goto done;
        if ((rc = fr__hub_parse_shards(data, len, &shards, &n_shards, err)) < 0) goto done;
        for (size_t i = 0; i < n_shards; i++) {
            if (!has(files, n_files, shards[i])) {
                rc = fr__err(err, FR_ENOTFOUND, "%s: %s names shard '%s', which the repo lacks",
                             c.repo_id, idx, shards[i]);
                goto done;
            }
        }
        for (size_t i = 0; i < n_shards; i++)
            if ((rc = fetch(&c, shards[i], err)) < 0) goto done;
    }
    for (size_t k = 0; k < o->n_include; k++)
        for (size_t i = 0; i < n_files; i++)
            if (fnmatch(o->include[k], files[i], 0) == 0 && (rc = fetch(&c, files[i], err)) < 0)
                goto done;
    if ((rc = fr__hub_write_ref(c.repo_dir, c.revision, c.commit, err)) < 0) goto done;

success:
    if (asprintf(snapshot_dir, "%s/snapshots/%s", c.repo_dir, c.commit) < 0) {
        *snapshot_dir = NULL;
        goto oom;
    }
    rc = 0;
    goto done;
oom:
    rc = fr__err(err, FR_ENOMEM, "out of memory");
done:
    if (c.curl) curl_easy_cleanup(c.curl);
    fr__buf_free(&c.url);
    fr__hub_strv_free(files, n_files);
    fr__hub_strv_free(shards, n_shards);
    free(data);
    free(c.cache);
    free(c.repo_dir);
    free(c.endpoint);
    if (c.token) memset(c.token, 0, strlen(c.token));
    free(c.token);
    return rc;
}
