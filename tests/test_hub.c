/* test_hub.c — `finerank pull` against a fake Hugging Face hub started here on 127.0.0.1
 * (libmicrohttpd, ephemeral ports). The fake serves what huggingface.co serves to
 * huggingface_hub: /api/models/REPO/revision/REV (sha + siblings), HEAD/GET
 * /REPO/resolve/REV/FILE with ETag / X-Repo-Commit, and for LFS files a 302 to a second
 * server (the "CDN", another port = another host) with X-Linked-Etag / X-Linked-Size; the
 * CDN honours Range. Knobs inject failures (cut connection, wrong bytes, ignored Range,
 * 404 for a listed file) and counters record every request, so the tests can assert what
 * went over the wire. No request ever leaves the loopback interface.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <microhttpd.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "finerank.h"
#include "hub/hub.h"
#include "test.h"

// ---- fake hub ----

typedef struct hfile {
    const char *name;
    unsigned char *data;
    size_t len;
    int lfs;
    char oid[65];  // sha256 (LFS) or git blob sha1: the ETag the hub sends
} hfile;

typedef struct hrepo {
    const char *id;
    char sha[41];
    hfile files[12];
    size_t n;
    int gated;     // resolve needs "Authorization: Bearer good-token"
} hrepo;

static struct {
    struct MHD_Daemon *hub, *cdn;
    int hub_port, cdn_port;
    char endpoint[64];
    hrepo repos[12];
    size_t n_repos;
    pthread_mutex_t mu;
    int n_req, n_api, n_head, n_hub_get, n_cdn_get, n_range;
    int cdn_saw_auth, hub_saw_auth;
    char last_range[64];
    // failure injection (CDN side, by file name)
    const char *cut_file;
    size_t cut_at;
    int cut_times;
    const char *corrupt_file;
    const char *oversize_file;  // served with 1000 extra bytes
    int cdn_status;             // != 0: the CDN answers every request with this status
    int ignore_range;
    const char *missing_file;  // listed in siblings but 404 on resolve
    int slow;                  // microseconds of sleep per CDN chunk
} F = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void hexify(const unsigned char *d, unsigned n, char *out) {
    for (unsigned i = 0; i < n; i++) snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void digest(const EVP_MD *md, const void *hdr, size_t hn, const void *p, size_t n,
                   char *out) {
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned dn = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    EVP_DigestInit_ex(c, md, NULL);
    if (hn) EVP_DigestUpdate(c, hdr, hn);
    EVP_DigestUpdate(c, p, n);
    EVP_DigestFinal_ex(c, d, &dn);
    EVP_MD_CTX_free(c);
    hexify(d, dn, out);
}

static hrepo *add_repo(const char *id, const char *sha) {
    hrepo *r = &F.repos[F.n_repos++];
    memset(r, 0, sizeof *r);
    r->id = id;
    snprintf(r->sha, sizeof r->sha, "%s", sha);
    return r;
}

static hfile *add_file(hrepo *r, const char *name, const void *data, size_t len, int lfs) {
    hfile *f = &r->files[r->n++];
    f->name = name;
    f->data = malloc(len ? len : 1);
    memcpy(f->data, data, len);
    f->len = len;
    f->lfs = lfs;
    if (lfs) {
        digest(EVP_sha256(), NULL, 0, data, len, f->oid);
    } else {
        char hdr[64];
        int hn = snprintf(hdr, sizeof hdr, "blob %zu", len);
        digest(EVP_sha1(), hdr, (size_t)hn + 1, data, len, f->oid);
    }
    return f;
}

static hfile *add_text(hrepo *r, const char *name, const char *text) {
    return add_file(r, name, text, strlen(text), 0);
}

static hfile *add_random(hrepo *r, const char *name, size_t len, unsigned seed) {
    unsigned char *p = malloc(len);
    for (size_t i = 0; i < len; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (unsigned char)(seed >> 16);
    }
    hfile *f = add_file(r, name, p, len, 1);
    free(p);
    return f;
}

static hrepo *find_repo(const char *path, const char **rest) {
    for (size_t i = 0; i < F.n_repos; i++) {
        size_t n = strlen(F.repos[i].id);
        if (!strncmp(path, F.repos[i].id, n) && path[n] == '/') {
            *rest = path + n + 1;
            return &F.repos[i];
        }
    }
    return NULL;
}

static hfile *find_file(hrepo *r, const char *name) {
    for (size_t i = 0; r && i < r->n; i++)
        if (!strcmp(r->files[i].name, name)) return &r->files[i];
    return NULL;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const void *body,
                             size_t len, const char *const *hdrs) {
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    for (size_t i = 0; hdrs && hdrs[i]; i += 2) MHD_add_response_header(r, hdrs[i], hdrs[i + 1]);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result error_reply(struct MHD_Connection *c, unsigned status,
                                   const char *code) {
    const char *h[] = {"X-Error-Code", code, "X-Error-Message", code, NULL};
    return reply(c, status, code, strlen(code), h);
}

static enum MHD_Result hub_handler(void *cls, struct MHD_Connection *c, const char *url,
                                   const char *method, const char *version,
                                   const char *upload, size_t *upload_size, void **state) {
    pthread_mutex_lock(&F.mu);
    F.n_req++;
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (auth) F.hub_saw_auth++;
    int authed = auth && !strcmp(auth, "Bearer good-token");
    const char *rest;
    char buf[512];
    enum MHD_Result ret;
    // a renamed repo: the hub answers with a relative redirect to the new name
    const char *old = strstr(url, "/test/renamed/");
    if (old && (old == url || old == url + 11)) {
        if (strcmp(method, "HEAD")) F.n_hub_get++;
        else F.n_head++;
        snprintf(buf, sizeof buf, "%.*s/test/tiny/%s", (int)(old - url), url, old + 14);
        const char *h[] = {"Location", buf, NULL};
        ret = reply(c, 307, "", 0, h);
        pthread_mutex_unlock(&F.mu);
        return ret;
    }
    if (!strncmp(url, "/api/models/", 12)) {
        F.n_api++;
        hrepo *r = find_repo(url + 12, &rest);
        if (!r) {
            ret = error_reply(c, 401, "RepoNotFound");
        } else if (strncmp(rest, "revision/", 9) ||
                   (strcmp(rest + 9, "main") && strcmp(rest + 9, r->sha))) {
            ret = error_reply(c, 404, "RevisionNotFound");
        } else {
            fr__buf b = {0};
            fr__buf_printf(&b, "{\"id\":\"%s\",\"sha\":\"%s\",\"siblings\":[", r->id, r->sha);
            for (size_t i = 0; i < r->n; i++)
                fr__buf_printf(&b, "%s{\"rfilename\":\"%s\"}", i ? "," : "", r->files[i].name);
            fr__buf_printf(&b, "]}");
            const char *h[] = {"Content-Type", "application/json", NULL};
            ret = reply(c, 200, b.data, b.len, h);
            fr__buf_free(&b);
        }
        pthread_mutex_unlock(&F.mu);
        return ret;
    }
    hrepo *r = find_repo(url + 1, &rest);
    const char *slash = r && !strncmp(rest, "resolve/", 8) ? strchr(rest + 8, '/') : NULL;
    if (!strcmp(method, "HEAD")) F.n_head++;
    else F.n_hub_get++;
    if (!r) {
        ret = error_reply(c, 401, "RepoNotFound");
    } else if (!slash) {
        ret = error_reply(c, 404, "EntryNotFound");
    } else if (r->gated && !authed) {
        ret = error_reply(c, 401, "GatedRepo");
    } else if (strncmp(rest + 8, r->sha, 40) && strncmp(rest + 8, "main/", 5)) {
        ret = error_reply(c, 404, "RevisionNotFound");
    } else {
        hfile *f = find_file(r, slash + 1);
        if (!f || (F.missing_file && !strcmp(F.missing_file, f->name))) {
            ret = error_reply(c, 404, "EntryNotFound");
        } else if (!f->lfs) {
            char etag[80], len[32];
            snprintf(etag, sizeof etag, "\"%s\"", f->oid);
            snprintf(len, sizeof len, "%zu", f->len);
            const char *h[] = {"ETag", etag, "X-Repo-Commit", r->sha, NULL};
            ret = reply(c, 200, f->data, f->len, h);
        } else {
            char etag[80], linked[80], size[32];
            snprintf(etag, sizeof etag, "\"pointer-%.20s\"", f->oid);
            snprintf(linked, sizeof linked, "\"%s\"", f->oid);
            snprintf(size, sizeof size, "%zu", f->len);
            snprintf(buf, sizeof buf, "http://127.0.0.1:%d/cdn/%s", F.cdn_port, f->oid);
            const char *h[] = {"ETag", etag, "X-Linked-Etag", linked, "X-Linked-Size", size,
                               "X-Repo-Commit", r->sha, "Location", buf, NULL};
            ret = reply(c, 302, "", 0, h);
        }
    }
    pthread_mutex_unlock(&F.mu);
    return ret;
}

typedef struct cut_ctx {
    hfile *f;
    size_t start, end;  // serve [start, end), then drop the connection if end < len
    int slow;
} cut_ctx;

static ssize_t cut_reader(void *cls, uint64_t pos, char *buf, size_t max) {
    cut_ctx *k = cls;
    size_t at = k->start + (size_t)pos;
    if (at >= k->end) return MHD_CONTENT_READER_END_WITH_ERROR;
    size_t n = k->end - at < max ? k->end - at : max;
    if (n > 16384) n = 16384;
    if (k->slow) usleep((useconds_t)k->slow);
    memcpy(buf, k->f->data + at, n);
    return (ssize_t)n;
}

static enum MHD_Result cdn_handler(void *cls, struct MHD_Connection *c, const char *url,
                                   const char *method, const char *version,
                                   const char *upload, size_t *upload_size, void **state) {
    pthread_mutex_lock(&F.mu);
    F.n_req++;
    F.n_cdn_get++;
    if (MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization")) F.cdn_saw_auth++;
    hfile *f = NULL;
    for (size_t i = 0; !f && i < F.n_repos; i++)
        for (size_t j = 0; j < F.repos[i].n; j++)
            if (!strncmp(url, "/cdn/", 5) && !strcmp(url + 5, F.repos[i].files[j].oid))
                f = &F.repos[i].files[j];
    if (!f || F.cdn_status) {
        unsigned st = f ? (unsigned)F.cdn_status : 404;
        pthread_mutex_unlock(&F.mu);
        return error_reply(c, st, "NoSuchKey");
    }
    size_t start = 0;
    const char *range = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Range");
    if (range) {
        F.n_range++;
        snprintf(F.last_range, sizeof F.last_range, "%s", range);
        unsigned long long s;
        if (!F.ignore_range && sscanf(range, "bytes=%llu-", &s) == 1) start = (size_t)s;
    }
    if (start >= f->len && f->len) {
        pthread_mutex_unlock(&F.mu);
        return error_reply(c, 416, "InvalidRange");
    }
    cut_ctx *k = malloc(sizeof *k);
    k->f = f;
    k->start = start;
    k->end = f->len;
    k->slow = F.slow;
    if (F.cut_file && !strcmp(F.cut_file, f->name) && F.cut_times > 0 && F.cut_at > start) {
        F.cut_times--;
        k->end = F.cut_at;
    }
    int corrupt = F.corrupt_file && !strcmp(F.corrupt_file, f->name);
    int oversize = F.oversize_file && !strcmp(F.oversize_file, f->name);
    pthread_mutex_unlock(&F.mu);
    struct MHD_Response *r;
    if (oversize) {
        size_t n = f->len - start + 1000;
        unsigned char *more = calloc(1, n);
        memcpy(more, f->data + start, f->len - start);
        r = MHD_create_response_from_buffer(n, more, MHD_RESPMEM_MUST_FREE);
        free(k);
    } else if (corrupt) {
        unsigned char *bad = malloc(f->len - start);
        memcpy(bad, f->data + start, f->len - start);
        bad[(f->len - start) / 2] ^= 0x5a;
        r = MHD_create_response_from_buffer(f->len - start, bad, MHD_RESPMEM_MUST_FREE);
        free(k);
    } else {
        r = MHD_create_response_from_callback(f->len - start, 16384, cut_reader, k, free);
    }
    unsigned status = 200;
    if (start) {
        char cr[96];
        snprintf(cr, sizeof cr, "bytes %zu-%zu/%zu", start, f->len - 1, f->len);
        MHD_add_response_header(r, "Content-Range", cr);
        status = 206;
    }
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static int start_fake(void) {
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION;
    struct sockaddr_in lo = {.sin_family = AF_INET, .sin_port = 0};
    lo.sin_addr.s_addr = htonl(INADDR_LOOPBACK);  // loopback only, an ephemeral port
    F.hub = MHD_start_daemon(flags, 0, NULL, NULL, hub_handler, NULL, MHD_OPTION_SOCK_ADDR,
                             (struct sockaddr *)&lo, MHD_OPTION_END);
    F.cdn = MHD_start_daemon(flags, 0, NULL, NULL, cdn_handler, NULL, MHD_OPTION_SOCK_ADDR,
                             (struct sockaddr *)&lo, MHD_OPTION_END);
    if (!F.hub || !F.cdn) return -1;
    F.hub_port = MHD_get_daemon_info(F.hub, MHD_DAEMON_INFO_BIND_PORT)->port;
    F.cdn_port = MHD_get_daemon_info(F.cdn, MHD_DAEMON_INFO_BIND_PORT)->port;
    snprintf(F.endpoint, sizeof F.endpoint, "http://127.0.0.1:%d", F.hub_port);
    return 0;
}

static void reset_knobs(void) {
    pthread_mutex_lock(&F.mu);
    F.cut_file = F.corrupt_file = F.missing_file = F.oversize_file = NULL;
    F.cut_times = 0;
    F.ignore_range = F.slow = F.cdn_status = 0;
    F.cdn_saw_auth = F.hub_saw_auth = 0;
    F.last_range[0] = 0;
    pthread_mutex_unlock(&F.mu);
}

static int counter(int *p) {
    pthread_mutex_lock(&F.mu);
    int v = *p;
    pthread_mutex_unlock(&F.mu);
    return v;
}

// ---- helpers ----

static char root[256];

static const char *cache_dir(const char *name) {
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", root, name);
    return p;
}

static fr_hub_opts opts_for(const char *cache) {
    fr_hub_opts o = fr_hub_opts_default();
    o.endpoint = F.endpoint;
    o.cache_dir = cache;
    o.token = "";
    o.offline = 0;
    return o;
}

static int file_equals(const char *path, const hfile *f) {
    char *d;
    size_t n;
    if (fr__read_file(path, &d, &n, NULL) < 0) return 0;
    int ok = n == f->len && !memcmp(d, f->data, n);
    free(d);
    return ok;
}

static int exists(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int exists(const char *fmt, ...) {
    char p[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p, sizeof p, fmt, ap);
    va_end(ap);
    struct stat st;
    return lstat(p, &st) == 0;
}

static hrepo *tiny, *shard, *gated, *gpt, *big, *pyrepo;

static const char *CONFIG_BERT =
    "{\"architectures\": [\"BertForSequenceClassification\"], \"model_type\": \"bert\"}";
static const char *TOKENIZER = "{\"version\": \"1.0\", \"model\": {\"type\": \"WordPiece\"}}";

static void add_common(hrepo *r, const char *config) {
    add_text(r, ".gitattributes", "*.safetensors filter=lfs\n");
    add_text(r, "config.json", config);
    add_text(r, "tokenizer.json", TOKENIZER);
    add_text(r, "tokenizer_config.json", "{\"do_lower_case\": true}");
    add_text(r, "README.md", "# a model\n");
}

static void setup_repos(void) {
    tiny = add_repo("test/tiny", "1111111111111111111111111111111111111111");
    add_common(tiny, CONFIG_BERT);
    add_text(tiny, "modules.json", "[]");
    add_text(tiny, "1_Pooling/config.json", "{\"pooling_mode_cls_token\": true}");
    add_random(tiny, "model.safetensors", 200000, 1);
    add_random(tiny, "pytorch_model.bin", 1000, 2);  // never fetched (not needed)

    shard = add_repo("test/sharded", "2222222222222222222222222222222222222222");
    add_common(shard, "{\"architectures\": [\"XLMRobertaForSequenceClassification\"]}");
    add_text(shard, "model.safetensors.index.json",
             "{\"metadata\": {\"total_size\": 1}, \"weight_map\": {"
             "\"a.weight\": \"model-00001-of-00002.safetensors\","
             "\"b.weight\": \"model-00002-of-00002.safetensors\","
             "\"c.weight\": \"model-00001-of-00002.safetensors\"}}");
    add_random(shard, "model-00001-of-00002.safetensors", 70000, 3);
    add_random(shard, "model-00002-of-00002.safetensors", 50000, 4);

    gated = add_repo("test/gated", "3333333333333333333333333333333333333333");
    gated->gated = 1;
    add_common(gated, CONFIG_BERT);
    add_random(gated, "model.safetensors", 5000, 5);

    gpt = add_repo("test/gpt", "4444444444444444444444444444444444444444");
    add_common(gpt, "{\"architectures\": [\"GPT2LMHeadModel\"], \"model_type\": \"gpt2\"}");
    add_random(gpt, "model.safetensors", 300000, 6);

    big = add_repo("test/big", "5555555555555555555555555555555555555555");
    add_common(big, "{\"architectures\": [\"XLMRobertaModel\"]}");
    add_random(big, "model.safetensors", 1500000, 7);

    pyrepo = add_repo("test/python", "6666666666666666666666666666666666666666");
    add_common(pyrepo, CONFIG_BERT);
    add_random(pyrepo, "model.safetensors", 40000, 8);
}

// ---- cases ----

static void test_fresh_download_and_reuse(void) {
    const char *cache = cache_dir("fresh");
    fr_hub_opts o = opts_for(cache);
    o.token = "good-token";
    char *dir = NULL;
    fr_error err = {0};
    int cdn0 = counter(&F.n_cdn_get);
    int rc = fr_hub_pull("test/tiny", &o, &dir, &err);
    CHECK_EQ(rc, 0);
    if (rc) fprintf(stderr, "  %s\n", err.msg);
    char want[1024];
    snprintf(want, sizeof want, "%s/models--test--tiny/snapshots/%s", cache, tiny->sha);
    CHECK_STR(dir, want);
    // every needed file is in the snapshot with the right bytes; unneeded ones are not
    const char *needed[] = {"config.json", "tokenizer.json", "tokenizer_config.json",
                            "modules.json", "1_Pooling/config.json", "model.safetensors"};
    for (size_t i = 0; i < 6; i++) {
        char p[1200];
        snprintf(p, sizeof p, "%s/%s", want, needed[i]);
        CHECK(file_equals(p, find_file(tiny, needed[i])));
    }
    CHECK(!exists("%s/pytorch_model.bin", want));
    CHECK(!exists("%s/README.md", want));
    // huggingface_hub's exact layout: relative symlinks into blobs/, refs/main = commit
    char link[512], p[1200];
    snprintf(p, sizeof p, "%s/model.safetensors", want);
    ssize_t ln = readlink(p, link, sizeof link - 1);
    CHECK(ln > 0);
    if (ln > 0) {
        link[ln] = 0;
        char exp[128];
        snprintf(exp, sizeof exp, "../../blobs/%s", find_file(tiny, "model.safetensors")->oid);
        CHECK_STR(link, exp);
    }
    snprintf(p, sizeof p, "%s/1_Pooling/config.json", want);
    ln = readlink(p, link, sizeof link - 1);
    CHECK(ln > 0);
    if (ln > 0) {
        link[ln] = 0;
        char exp[128];
        snprintf(exp, sizeof exp, "../../../blobs/%s",
                 find_file(tiny, "1_Pooling/config.json")->oid);
        CHECK_STR(link, exp);
    }
    snprintf(p, sizeof p, "%s/models--test--tiny/refs/main", cache);
    char *ref;
    size_t rn;
    CHECK_EQ(fr__read_file(p, &ref, &rn, NULL), 0);
    if (ref) {
        CHECK_EQ(rn, 40);  // no newline, as huggingface_hub writes it
        CHECK(!strncmp(ref, tiny->sha, 40));
        free(ref);
    }
    CHECK(!exists("%s/models--test--tiny/blobs/%s.incomplete", cache,
                  find_file(tiny, "model.safetensors")->oid));
    CHECK(exists("%s/.locks/models--test--tiny/%s.lock", cache,
                 find_file(tiny, "model.safetensors")->oid));
    CHECK_EQ(counter(&F.n_cdn_get) - cdn0, 1);
    CHECK(counter(&F.hub_saw_auth) > 0);
    CHECK_EQ(counter(&F.cdn_saw_auth), 0);  // the token never goes to the CDN's host
    free(dir);

    // cache reuse: only the model-info call goes out; no HEAD, no blob GET
    int head0 = counter(&F.n_head), get0 = counter(&F.n_hub_get);
    cdn0 = counter(&F.n_cdn_get);
    rc = fr_hub_pull("test/tiny", &o, &dir, &err);
    CHECK_EQ(rc, 0);
    CHECK_STR(dir, want);
    CHECK_EQ(counter(&F.n_head), head0);
    CHECK_EQ(counter(&F.n_hub_get), get0);
    CHECK_EQ(counter(&F.n_cdn_get), cdn0);
    free(dir);

    // offline: no request at all, the snapshot comes from refs/main
    int req0 = counter(&F.n_req);
    o.offline = 1;
    rc = fr_hub_pull("test/tiny", &o, &dir, &err);
    CHECK_EQ(rc, 0);
    CHECK_STR(dir, want);
    free(dir);
    o.offline = -1;  // from the environment this time
    setenv("HF_HUB_OFFLINE", "1", 1);
    rc = fr_hub_pull("test/sharded", &o, &dir, &err);
    CHECK_EQ(rc, FR_ENOTFOUND);
    CHECK(strstr(err.msg, "HF_HUB_OFFLINE") != NULL);
    CHECK(dir == NULL);
    unsetenv("HF_HUB_OFFLINE");
    CHECK_EQ(counter(&F.n_req), req0);

    // --model resolution from the cache: repo id, repo@revision, plain paths
    setenv("HF_HUB_CACHE", cache, 1);
    CHECK_EQ(fr_hub_resolve("test/tiny", &dir, &err), 0);
    CHECK_STR(dir, want);
    free(dir);
    CHECK_EQ(fr_hub_resolve("test/tiny@main", &dir, &err), 0);
    CHECK_STR(dir, want);
    free(dir);
    CHECK_EQ(fr_hub_resolve(want, &dir, &err), 0);
    CHECK_STR(dir, want);
    free(dir);
    CHECK_EQ(fr_hub_resolve("test/absent", &dir, &err), FR_ENOTFOUND);
    CHECK(strstr(err.msg, "finerank pull test/absent") != NULL);
    CHECK_EQ(fr_hub_resolve("bge-reranker-v2-m3", &dir, &err), FR_ENOTFOUND);
    CHECK(strstr(err.msg, "BAAI/bge-reranker-v2-m3") != NULL);
    CHECK_EQ(counter(&F.n_req), req0);

    // `finerank models`
    fr_hub_cached *list = NULL;
    size_t n = 0;
    CHECK_EQ(fr_hub_list_cached(NULL, &list, &n, &err), 0);
    CHECK_EQ(n, 1);
    if (n == 1) {
        CHECK_STR(list[0].repo_id, "test/tiny");
        CHECK_STR(list[0].refs, "main");
        CHECK_STR(list[0].commit, tiny->sha);
        CHECK_EQ(list[0].n_files, 6);
        size_t total = 0;
        for (size_t i = 0; i < 6; i++) total += find_file(tiny, needed[i])->len;
        CHECK_EQ(list[0].bytes, total);
    }
    fr_hub_cached_free(list, n);
    unsetenv("HF_HUB_CACHE");
}

static void test_resume(void) {
    const char *cache = cache_dir("resume");
    fr_hub_opts o = opts_for(cache);
    hfile *w = find_file(tiny, "model.safetensors");
    char *dir = NULL;
    fr_error err = {0};
    // a connection cut mid-file is resumed with Range by the retry loop
    reset_knobs();
    F.cut_file = "model.safetensors";
    F.cut_at = 100000;
    F.cut_times = 1;
    int rc = fr_hub_pull("test/tiny", &o, &dir, &err);
    CHECK_EQ(rc, 0);
    if (rc) fprintf(stderr, "  %s\n", err.msg);
    CHECK_STR(F.last_range, "bytes=100000-");
    char p[1200];
    snprintf(p, sizeof p, "%s/model.safetensors", dir ? dir : "");
    CHECK(file_equals(p, w));
    free(dir);
    dir = NULL;

    // without retries the pull fails, keeps the partial file, and the next pull resumes it
    cache = cache_dir("resume2");
    o = opts_for(cache);
    o.retries = 0;
    reset_knobs();
    F.cut_file = "model.safetensors";
    F.cut_at = 120000;
    F.cut_times = 1;
    rc = fr_hub_pull("test/tiny", &o, &dir, &err);
    CHECK_EQ(rc, FR_ENET);
    CHECK(strstr(err.msg, "resume") != NULL);
    CHECK(dir == NULL);
    struct stat st;
    snprintf(p, sizeof p, "%s/models--test--tiny/blobs/%s.incomplete", cache, w->oid);
    CHECK(stat(p, &st) == 0 && st.st_size == 120000);
    CHECK(!exists("%s/models--test--tiny/blobs/%s", cache, w->oid));
    CHECK(!exists("%s/models--test--tiny/refs/main", cache));  // no ref to a partial snapshot
    CHECK(!exists("%s/models--test--tiny/snapshots/%s/model.safetensors", cache, tiny->sha));
    rc = fr_hub_pull("test/tiny", &o, &dir, &err);
    CHECK_EQ(rc, 0);
    CHECK_STR(F.last_range, "bytes=120000-");
    snprintf(p, sizeof p, "%s/model.safetensors", dir ? dir : "");
    CHECK(file_equals(p, w));
    free(dir);
    dir = NULL;

    // a server that ignores Range: the file is started over, and still comes out right
    cache = cache_dir("resume3");
    o = opts_for(cache);
    o.retries = 2;
    reset_knobs();
    F.cut_file = "model.safetensors";
    F.cut_at = 50000;
    F.cut_times = 1;
    F.ignore_range = 1;
    rc = fr_hub_pull("test/tiny", &o, &dir, &err);
    CHECK_EQ(rc, 0);
    CHECK_STR(F.last_range, "bytes=50000-");
    snprintf(p, sizeof p, "%s/model.safetensors", dir ? dir : "");
    CHECK(file_equals(p, w));
    free(dir);
    reset_knobs();
}

static void test_checksum_mismatch(void) {
    const char *cache = cache_dir("corrupt");
    fr_hub_opts o = opts_for(cache);
    hfile *w = find_file(tiny, "model.safetensors");
    char *dir = NULL;
    fr_error err = {0};
    reset_knobs();
    F.corrupt_file = "model.safetensors";
    int rc = fr_hub_pull("test/tiny", &o, &dir, &err);
    CHECK_EQ(rc, FR_ECHECKSUM);
    CHECK(strstr(err.msg, "checksum mismatch") != NULL);
    CHECK(strstr(err.msg, w->oid) != NULL);
    CHECK(strstr(err.msg, "again") != NULL);
    CHECK(dir == NULL);
    CHECK(!exists("%s/models--test--tiny/blobs/%s.incomplete", cache, w->oid));
    CHECK(!exists("%s/models--test--tiny/blobs/%s", cache, w->oid));
    CHECK(!exists("%s/models--test--tiny/snapshots/%s/model.safetensors", cache, tiny->sha));
    CHECK(!exists("%s/models--test--tiny/refs/main", cache));
    // a server sending more than announced is cut off and its bytes discarded
    reset_knobs();
    F.oversize_file = "model.safetensors";
    rc = fr_hub_pull("test/tiny", &o, &dir, &err);
    CHECK_EQ(rc, FR_ECHECKSUM);
    CHECK(strstr(err.msg, "more than the 200000 bytes") != NULL);
    CHECK(!exists("%s/models--test--tiny/blobs/%s.incomplete", cache, w->oid));
    CHECK(!exists("%s/models--test--tiny/blobs/%s", cache, w->oid));
    reset_knobs();
    rc = fr_hub_pull("test/tiny", &o, &dir, &err);  // the retry the message advises
    CHECK_EQ(rc, 0);
    free(dir);
}

static void test_http_errors(void) {
    const char *cache = cache_dir("errors");
    fr_hub_opts o = opts_for(cache);
    char *dir = NULL;
    fr_error err = {0};
    char want[256];
    reset_knobs();
    // gated without a token: 401 with the license URL and HF_TOKEN
    int rc = fr_hub_pull("test/gated", &o, &dir, &err);
    CHECK_EQ(rc, FR_EAUTH);
    snprintf(want, sizeof want, "accept the license at %s/test/gated", F.endpoint);
    CHECK(strstr(err.msg, want) != NULL);
    CHECK(strstr(err.msg, "HF_TOKEN") != NULL);
    // a wrong token is refused the same way, and says so
    o.token = "bad-token";
    rc = fr_hub_pull("test/gated", &o, &dir, &err);
    CHECK_EQ(rc, FR_EAUTH);
    CHECK(strstr(err.msg, "refused") != NULL);
    // HF_TOKEN from the environment is used when opts.token is NULL
    o.token = NULL;
    setenv("HF_TOKEN", "good-token", 1);
    rc = fr_hub_pull("test/gated", &o, &dir, &err);
    CHECK_EQ(rc, 0);
    unsetenv("HF_TOKEN");
    free(dir);
    dir = NULL;
    o.token = "";
    // no such repo (the hub answers 401 RepoNotFound)
    rc = fr_hub_pull("test/nope", &o, &dir, &err);
    CHECK_EQ(rc, FR_ENOTFOUND);
    CHECK(strstr(err.msg, "no such repository") != NULL);
    // no such revision
    o.revision = "v9";
    rc = fr_hub_pull("test/tiny", &o, &dir, &err);
    CHECK_EQ(rc, FR_ENOTFOUND);
    CHECK(strstr(err.msg, "no revision 'v9'") != NULL);
    o.revision = NULL;
    // a listed file the resolve endpoint does not have: 404
    F.missing_file = "tokenizer.json";
    rc = fr_hub_pull("test/tiny", &o, &dir, &err);
    CHECK_EQ(rc, FR_ENOTFOUND);
    CHECK(strstr(err.msg, "no file 'tokenizer.json'") != NULL);
    reset_knobs();
    // the CDN refuses (an expired signature): not a licence problem, a retry
    F.cdn_status = 403;
    rc = fr_hub_pull("test/tiny", &o, &dir, &err);
    CHECK_EQ(rc, FR_ENET);
    CHECK(strstr(err.msg, "download server answered HTTP 403") != NULL);
    reset_knobs();
    // --include that matches nothing is reported before downloading
    const char *inc[] = {"*.onnx"};
    o.include = inc;
    o.n_include = 1;
    rc = fr_hub_pull("test/tiny", &o, &dir, &err);
    CHECK_EQ(rc, FR_ENOTFOUND);
    CHECK(strstr(err.msg, "*.onnx") != NULL);
    // an --include that matches adds the file
    inc[0] = "*.md";
    rc = fr_hub_pull("test/tiny", &o, &dir, &err);
    CHECK_EQ(rc, 0);
    CHECK(exists("%s/README.md", dir ? dir : ""));
    free(dir);
    dir = NULL;
    o.include = NULL;
    o.n_include = 0;
    // invalid repo ids never reach the network
    int req0 = counter(&F.n_req);
    CHECK_EQ(fr_hub_pull("../etc", &o, &dir, &err), FR_EINVAL);
    CHECK_EQ(fr_hub_pull("a--b/c", &o, &dir, &err), FR_EINVAL);
    CHECK_EQ(counter(&F.n_req), req0);
    // no network: nothing listens on port 1
    o.endpoint = "http://127.0.0.1:1";
    rc = fr_hub_pull("test/tiny", &o, &dir, &err);
    CHECK_EQ(rc, FR_ENET);
    CHECK(strstr(err.msg, "cannot reach") != NULL);
    CHECK(strstr(err.msg, "HF_HUB_OFFLINE") != NULL);
    CHECK(strstr(err.msg, "is cached") != NULL);  // test/tiny was pulled into this cache
    rc = fr_hub_pull("test/sharded", &o, &dir, &err);
    CHECK_EQ(rc, FR_ENET);
    CHECK(strstr(err.msg, "is cached") == NULL);
}

// A renamed repo: the API call and the HEADs follow the hub's relative redirects; the files
// are stored under the name asked for, as huggingface_hub stores them.
static void test_renamed(void) {
    const char *cache = cache_dir("renamed");
    fr_hub_opts o = opts_for(cache);
    char *dir = NULL;
    fr_error err = {0};
    reset_knobs();
    int rc = fr_hub_pull("test/renamed", &o, &dir, &err);
    CHECK_EQ(rc, 0);
    if (rc) fprintf(stderr, "  %s\n", err.msg);
    char want[1024], p[1200];
    snprintf(want, sizeof want, "%s/models--test--renamed/snapshots/%s", cache, tiny->sha);
    CHECK_STR(dir, want);
    snprintf(p, sizeof p, "%s/model.safetensors", want);
    CHECK(file_equals(p, find_file(tiny, "model.safetensors")));
    free(dir);
}

typedef struct prog {
    int calls;
    uint64_t last_done, last_total;
    char last_file[64];
} prog;

static void on_progress(void *ud, const char *file, uint64_t done, uint64_t total) {
    prog *p = ud;
    p->calls++;
    p->last_done = done;
    p->last_total = total;
    snprintf(p->last_file, sizeof p->last_file, "%s", file);
}

// A pinned commit as the revision: no ref is written; progress reaches the announced size.
static void test_commit_revision_and_progress(void) {
    const char *cache = cache_dir("pinned");
    fr_hub_opts o = opts_for(cache);
    prog pr = {0};
    o.revision = tiny->sha;
    o.progress = on_progress;
    o.progress_ud = &pr;
    char *dir = NULL;
    fr_error err = {0};
    reset_knobs();
    int rc = fr_hub_pull("test/tiny", &o, &dir, &err);
    CHECK_EQ(rc, 0);
    CHECK(!exists("%s/models--test--tiny/refs", cache));
    CHECK(pr.calls >= 6);
    CHECK_STR(pr.last_file, "model.safetensors");
    CHECK_EQ(pr.last_done, find_file(tiny, "model.safetensors")->len);
    CHECK_EQ(pr.last_total, find_file(tiny, "model.safetensors")->len);
    free(dir);
    char arg[128];
    snprintf(arg, sizeof arg, "test/tiny@%s", tiny->sha);
    setenv("HF_HUB_CACHE", cache, 1);
    CHECK_EQ(fr_hub_resolve(arg, &dir, &err), 0);
    CHECK(dir && strstr(dir, tiny->sha) != NULL);
    free(dir);
    CHECK_EQ(fr_hub_resolve("test/tiny", &dir, &err), FR_ENOTFOUND);  // no refs/main
    unsetenv("HF_HUB_CACHE");
}

static void test_sharded(void) {
    const char *cache = cache_dir("sharded");
    fr_hub_opts o = opts_for(cache);
    char *dir = NULL;
    fr_error err = {0};
    int cdn0 = counter(&F.n_cdn_get);
    int rc = fr_hub_pull("test/sharded", &o, &dir, &err);
    CHECK_EQ(rc, 0);
    if (rc) fprintf(stderr, "  %s\n", err.msg);
    const char *names[] = {"model.safetensors.index.json", "model-00001-of-00002.safetensors",
                           "model-00002-of-00002.safetensors", "config.json"};
    for (size_t i = 0; i < 4; i++) {
        char p[1200];
        snprintf(p, sizeof p, "%s/%s", dir ? dir : "", names[i]);
        CHECK(file_equals(p, find_file(shard, names[i])));
    }
    CHECK_EQ(counter(&F.n_cdn_get) - cdn0, 2);
    free(dir);
    // offline resolution checks the shards are there
    o.offline = 1;
    CHECK_EQ(fr_hub_pull("test/sharded", &o, &dir, &err), 0);
    free(dir);
    char p[1200];
    snprintf(p, sizeof p, "%s/models--test--sharded/snapshots/%s/model-00002-of-00002.safetensors",
             cache, shard->sha);
    unlink(p);
    CHECK_EQ(fr_hub_pull("test/sharded", &o, &dir, &err), FR_ENOTFOUND);
    CHECK(strstr(err.msg, "model-00002-of-00002.safetensors") != NULL);
}

typedef struct pull_job {
    const char *cache;
    int rc;
    char *dir;
    fr_error err;
} pull_job;

static void *pull_thread(void *arg) {
    pull_job *j = arg;
    fr_hub_opts o = opts_for(j->cache);
    j->rc = fr_hub_pull("test/big", &o, &j->dir, &j->err);
    return NULL;
}

static void test_concurrent(void) {
    const char *cache = cache_dir("concurrent");
    reset_knobs();
    F.slow = 2000;  // 2 ms per 16 KiB: the two pulls overlap
    int cdn0 = counter(&F.n_cdn_get);
    pull_job a = {.cache = cache}, b = {.cache = cache};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, pull_thread, &a);
    pthread_create(&tb, NULL, pull_thread, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    CHECK_EQ(a.rc, 0);
    CHECK_EQ(b.rc, 0);
    if (a.rc) fprintf(stderr, "  a: %s\n", a.err.msg);
    if (b.rc) fprintf(stderr, "  b: %s\n", b.err.msg);
    CHECK_STR(a.dir, b.dir);
    char p[1200];
    snprintf(p, sizeof p, "%s/model.safetensors", a.dir ? a.dir : "");
    CHECK(file_equals(p, find_file(big, "model.safetensors")));
    // the per-blob lock: the second puller waited and reused the first one's blob
    CHECK_EQ(counter(&F.n_cdn_get) - cdn0, 1);
    free(a.dir);
    free(b.dir);

    // two processes as well (flock is per open file, so threads and processes alike)
    cache = cache_dir("concurrent2");
    cdn0 = counter(&F.n_cdn_get);
    pid_t kid = fork();
    if (kid == 0) {
        fr_hub_opts o = opts_for(cache);
        char *dir = NULL;
        _exit(fr_hub_pull("test/big", &o, &dir, NULL) == 0 ? 0 : 1);
    }
    pull_job c = {.cache = cache};
    pull_thread(&c);
    int status = -1;
    waitpid(kid, &status, 0);
    CHECK_EQ(c.rc, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    snprintf(p, sizeof p, "%s/model.safetensors", c.dir ? c.dir : "");
    CHECK(file_equals(p, find_file(big, "model.safetensors")));
    CHECK_EQ(counter(&F.n_cdn_get) - cdn0, 1);
    free(c.dir);
    reset_knobs();
}

// A cache written by huggingface_hub (made by hand here): reused without downloading.
static void test_python_layout(void) {
    const char *cache = cache_dir("python");
    char repo[600], p[1200], t[256];
    snprintf(repo, sizeof repo, "%s/models--test--python", cache);
    snprintf(p, sizeof p, "%s/blobs", repo);
    fr__hub_mkdirs(p, NULL);
    snprintf(p, sizeof p, "%s/snapshots/%s", repo, pyrepo->sha);
    fr__hub_mkdirs(p, NULL);
    snprintf(p, sizeof p, "%s/refs", repo);
    fr__hub_mkdirs(p, NULL);
    for (size_t i = 0; i < pyrepo->n; i++) {
        hfile *f = &pyrepo->files[i];
        snprintf(p, sizeof p, "%s/blobs/%s", repo, f->oid);
        FILE *fp = fopen(p, "wb");
        fwrite(f->data, 1, f->len, fp);
        fclose(fp);
        if (!strcmp(f->name, "model.safetensors")) continue;  // see below
        snprintf(p, sizeof p, "%s/snapshots/%s/%s", repo, pyrepo->sha, f->name);
        snprintf(t, sizeof t, "../../blobs/%s", f->oid);
        CHECK_EQ(symlink(t, p), 0);
    }
    snprintf(p, sizeof p, "%s/refs/main", repo);
    FILE *fp = fopen(p, "wb");
    fputs(pyrepo->sha, fp);
    fclose(fp);

    // the weights' blob is there but not linked (Python fetched it for another revision):
    // one HEAD to learn its ETag, no GET
    fr_hub_opts o = opts_for(cache);
    char *dir = NULL;
    fr_error err = {0};
    int head0 = counter(&F.n_head), cdn0 = counter(&F.n_cdn_get), get0 = counter(&F.n_hub_get);
    int rc = fr_hub_pull("test/python", &o, &dir, &err);
    CHECK_EQ(rc, 0);
    if (rc) fprintf(stderr, "  %s\n", err.msg);
    CHECK_EQ(counter(&F.n_head) - head0, 1);
    CHECK_EQ(counter(&F.n_cdn_get), cdn0);
    CHECK_EQ(counter(&F.n_hub_get), get0);
    snprintf(p, sizeof p, "%s/model.safetensors", dir ? dir : "");
    CHECK(file_equals(p, find_file(pyrepo, "model.safetensors")));
    free(dir);
    // and now fully linked: offline works, and nothing at all is fetched online
    head0 = counter(&F.n_head);
    rc = fr_hub_pull("test/python", &o, &dir, &err);
    CHECK_EQ(rc, 0);
    CHECK_EQ(counter(&F.n_head), head0);
    free(dir);
}

static void test_unsupported_arch(void) {
    const char *cache = cache_dir("gpt");
    fr_hub_opts o = opts_for(cache);
    char *dir = NULL;
    fr_error err = {0};
    int cdn0 = counter(&F.n_cdn_get);
    int rc = fr_hub_pull("test/gpt", &o, &dir, &err);
    CHECK_EQ(rc, FR_EUNSUPPORTED);
    CHECK(strstr(err.msg, "GPT2LMHeadModel") != NULL);
    CHECK_EQ(counter(&F.n_cdn_get), cdn0);  // the weights were never requested
    CHECK(!exists("%s/models--test--gpt/blobs/%s", cache,
                  find_file(gpt, "model.safetensors")->oid));
    CHECK(dir == NULL);
}

// Disk full while writing: RLIMIT_FSIZE makes write() fail (EFBIG) in a child process.
static void test_disk_full(void) {
    const char *cache = cache_dir("full");
    pid_t kid = fork();
    if (kid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {100000, 100000};
        setrlimit(RLIMIT_FSIZE, &rl);
        fr_hub_opts o = opts_for(cache);
        char *dir = NULL;
        fr_error err = {0};
        int rc = fr_hub_pull("test/tiny", &o, &dir, &err);
        _exit(rc == FR_ENOSPC && strstr(err.msg, "model.safetensors") ? 0 : 1);
    }
    int status = -1;
    waitpid(kid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

// ---- parsers and names ----

static void test_parsers(void) {
    CHECK(fr__hub_valid_repo_id("BAAI/bge-reranker-v2-m3"));
    CHECK(fr__hub_valid_repo_id("gpt2"));
    CHECK(!fr__hub_valid_repo_id("a/b/c"));
    CHECK(!fr__hub_valid_repo_id("a/.."));
    CHECK(!fr__hub_valid_repo_id("/abs"));
    CHECK(!fr__hub_valid_repo_id(""));
    CHECK(fr__hub_valid_relpath("1_Pooling/config.json"));
    CHECK(!fr__hub_valid_relpath("../x"));
    CHECK(!fr__hub_valid_relpath("a/../x"));
    CHECK(!fr__hub_valid_relpath("/etc/passwd"));
    CHECK(!fr__hub_valid_relpath("a//b"));
    CHECK(!fr__hub_valid_relpath("a\\b"));
    CHECK_STR(fr_hub_alias("bge-reranker-base"), "BAAI/bge-reranker-base");
    CHECK_STR(fr_hub_alias("mmarco-mMiniLMv2"), "cross-encoder/mmarco-mMiniLMv2-L12-H384-v1");
    CHECK_STR(fr_hub_alias("bce-reranker-base_v1"), "maidalun1020/bce-reranker-base_v1");
    CHECK_STR(fr_hub_alias("org/other"), "org/other");

    char sha[41];
    char **files = NULL;
    size_t n = 0;
    fr_error err = {0};
    const char *info = "{\"sha\":\"0123456789abcdef0123456789abcdef01234567\",\"siblings\":["
                       "{\"rfilename\":\"config.json\"},{\"rfilename\":\"../evil\"},"
                       "{\"rfilename\":7},{\"rfilename\":\"a/b.json\"}]}";
    CHECK_EQ(fr__hub_parse_info(info, strlen(info), sha, &files, &n, &err), 0);
    CHECK_EQ(n, 2);  // the unsafe and the non-string names are dropped
    if (n == 2) {
        CHECK_STR(files[0], "config.json");
        CHECK_STR(files[1], "a/b.json");
    }
    fr__hub_strv_free(files, n);
    const char *bad = "{\"sha\":\"main\",\"siblings\":[]}";
    CHECK_EQ(fr__hub_parse_info(bad, strlen(bad), sha, &files, &n, &err), FR_EFORMAT);
    CHECK_EQ(fr__hub_parse_info("[1", 2, sha, &files, &n, &err), FR_EFORMAT);

    const char *c1 = "{\"architectures\":[\"RobertaForSequenceClassification\"]}";
    const char *c2 = "{\"model_type\":\"xlm-roberta\"}";
    const char *c3 = "{\"architectures\":[\"T5ForConditionalGeneration\"]}";
    CHECK_EQ(fr__hub_check_config(c1, strlen(c1), &err), 0);
    CHECK_EQ(fr__hub_check_config(c2, strlen(c2), &err), 0);
    CHECK_EQ(fr__hub_check_config(c3, strlen(c3), &err), FR_EUNSUPPORTED);
    CHECK(strstr(err.msg, "T5ForConditionalGeneration") != NULL);

    const char *idx = "{\"weight_map\":{\"a\":\"s1\",\"b\":\"s2\",\"c\":\"s1\"}}";
    CHECK_EQ(fr__hub_parse_shards(idx, strlen(idx), &files, &n, &err), 0);
    CHECK_EQ(n, 2);
    fr__hub_strv_free(files, n);
    const char *evil = "{\"weight_map\":{\"a\":\"../../x\"}}";
    CHECK_EQ(fr__hub_parse_shards(evil, strlen(evil), &files, &n, &err), FR_EFORMAT);
    CHECK(files == NULL);
}

int main(int argc, char **argv) {
    // Isolate from the user's environment: their cache, token, proxies, offline setting.
    const char *vars[] = {"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE",
                          "TRANSFORMERS_OFFLINE", "HF_ENDPOINT", "HF_HUB_CACHE",
                          "HUGGINGFACE_HUB_CACHE", "http_proxy", "HTTP_PROXY", "https_proxy",
                          "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "HF_TOKEN_PATH"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) unsetenv(vars[i]);
    snprintf(root, sizeof root, "/tmp/fr_test_hub.XXXXXX");
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    setenv("HF_HOME", root, 1);  // no token file there
    setenv("NO_PROXY", "127.0.0.1", 1);
    test_parsers();
    setup_repos();
    if (start_fake() < 0) {
        TEST_SKIP("cannot start the fake hub on 127.0.0.1");
        return TEST_REPORT();
    }
    if (argc > 1 && !strcmp(argv[1], "--serve")) {  // manual checks of the CLI
        printf("HF_ENDPOINT=%s\n", F.endpoint);
        fflush(stdout);
        sleep(argc > 2 ? (unsigned)atoi(argv[2]) : 60);
        rmdir(root);
        return 0;
    }
    test_fresh_download_and_reuse();
    test_resume();
    test_checksum_mismatch();
    test_http_errors();
    test_sharded();
    test_renamed();
    test_commit_revision_and_progress();
    test_concurrent();
    test_python_layout();
    test_unsupported_arch();
    test_disk_full();
    MHD_stop_daemon(F.hub);
    MHD_stop_daemon(F.cdn);
    for (size_t i = 0; i < F.n_repos; i++)
        for (size_t j = 0; j < F.repos[i].n; j++) free(F.repos[i].files[j].data);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", root);
    return TEST_REPORT();
}
