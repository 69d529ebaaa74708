/* test_serve.c — the HTTP server end to end, in-process on 127.0.0.1 and ephemeral ports,
 * with the tiny random-weight BERT from tests/data/models/bert-gelu and an index of
 * data/sample: every route, the response shapes of Cohere v1/v2, Jina and TEI field by field,
 * scores equal to a direct forward pass, 32 parallel clients equal to a lone one, 64 mixed
 * rerank/search clients equal to lone ones without a server thread per client, overload →
 * 429 (never a crash or hang), a slow client does not block others, a bad-input corpus → the
 * right status, and `finerank serve` draining on SIGTERM with exit status 0.
 * Every socket has a receive timeout, every loop a bound. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

#include "finerank.h"
#include "serve/serve.h"
#include "test.h"

#define MODEL "tests/data/models/bert-gelu"

// ---- a tiny HTTP/1.1 client ----
typedef struct resp {
    int status;
    char *head;     // status line and headers
    char *body;
    size_t len;
    json_t *json;
} resp;

static void resp_free(resp *r) {
    free(r->head);
    free(r->body);
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

static int dial(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = {60, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) { close(fd); return -1; }
    return fd;
}

static int send_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k <= 0) return -1;
        p += k, n -= (size_t)k;
    }
    return 0;
}

// Reads the whole response (Connection: close) and splits it. 0 ok, -1 on failure.
static int read_resp(int fd, resp *r) {
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (n + 4096 > cap) buf = realloc(buf, cap *= 2);
        ssize_t k = recv(fd, buf + n, cap - n - 1, 0);
        if (k <= 0) break;
        n += (size_t)k;
    }
    buf[n] = 0;
    char *sep = strstr(buf, "\r\n\r\n");
    if (!sep || sscanf(buf, "HTTP/1.%*d %d", &r->status) != 1) { free(buf); return -1; }
    r->head = strndup(buf, (size_t)(sep - buf));
    r->len = n - (size_t)(sep + 4 - buf);
    r->body = strndup(sep + 4, r->len);
    r->json = json_loadb(r->body, r->len, JSON_DECODE_ANY, NULL);
    free(buf);
    return 0;
}

static int http(int port, const char *method, const char *path, const char *body, size_t len,
                resp *r) {
    memset(r, 0, sizeof *r);
    int fd = dial(port);
    if (fd < 0) return -1;
    if (body && len == (size_t)-1) len = strlen(body);
    char hdr[512];
    int hn = snprintf(hdr, sizeof hdr, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                      "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                      method, path, body ? len : 0);
    int rc = send_all(fd, hdr, (size_t)hn);
    if (!rc && body && len) send_all(fd, body, len);  // the server may answer early (413)
    rc = read_resp(fd, r);
    close(fd);
    return rc;
}

static const char *hdr_get(const resp *r, const char *name, char *out, size_t cap) {
    char key[64];
    snprintf(key, sizeof key, "\r\n%s:", name);
    const char *p = strcasestr(r->head, key);
    if (!p) return NULL;
    p += strlen(key);
    while (*p == ' ') p++;
    size_t k = strcspn(p, "\r\n");
    snprintf(out, cap, "%.*s", (int)(k < cap ? k : cap - 1), p);
    return out;
}

// ---- fixtures ----
static int g_port;
static const char *DOCS[] = {
    "Dietary taboos for people with diabetes: sugary drinks and white bread.",
    "Insulin injection technique for type 1 diabetes.",
    "The weather today is sunny with light wind.",
    "Exercise management lowers blood glucose in type 2 diabetes.",
    "Quantum entanglement links particles across distance.",
    "Blood sugar control: monitoring glucose and HbA1c.",
};
#define NDOCS (sizeof DOCS / sizeof DOCS[0])

static char *rerank_body(const char *extra) {
    json_t *o = json_pack("{ss}", "query", "diabetes diet sugar");
    json_t *a = json_array();
    for (size_t i = 0; i < NDOCS; i++) json_array_append_new(a, json_string(DOCS[i]));
    json_object_set_new(o, "documents", a);
    if (extra) {
        json_t *x = json_loads(extra, 0, NULL);
        json_object_update(o, x);
        json_decref(x);
    }
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

// A rerank body of n documents cycling through DOCS (the long requests of the queue, overload
// and drain tests), with "deadline_ms" when deadline_ms > 0. Caller frees.
static char *big_body(int n, int deadline_ms) {
    json_t *o = json_pack("{ss}", "query", "blood glucose diet");
    if (deadline_ms > 0) json_object_set_new(o, "deadline_ms", json_integer(deadline_ms));
    json_t *a = json_array();
    for (int i = 0; i < n; i++) json_array_append_new(a, json_string(DOCS[(size_t)i % NDOCS]));
    json_object_set_new(o, "documents", a);
    char *body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return body;
}

// Relevance of each DOCS[i] computed directly: tokenizer + fr_model_score_ids + sigmoid.
static double g_direct[NDOCS], g_logit[NDOCS];
static void direct_scores(void) {
    fr_model *m = NULL;
    fr_tokenizer *tok = NULL;
    fr_error err;
    fr_model_opts mo = fr_model_opts_default();
    CHECK(fr_model_open(MODEL, &mo, &m, &err) == 0);
    CHECK(fr_tokenizer_open(MODEL "/tokenizer.json", &tok, &err) == 0);
    if (!m || !tok) return;
    fr_model_info info;
    fr_model_get_info(m, &info);
    // As the server does for a lone request: one chunk, one single-threaded forward call.
    fr_encoding enc[NDOCS];
    fr_seq s[NDOCS];
    memset(enc, 0, sizeof enc);
    fr_encode_opts o = fr_encode_opts_default();
    o.max_length = info.max_length;
    size_t total = 0;
    for (size_t i = 0; i < NDOCS; i++) {
        CHECK(fr_tokenizer_encode(tok, "diabetes diet sugar", -1, DOCS[i], -1, &o, &enc[i], &err) == 0);
        s[i] = (fr_seq){enc[i].ids, enc[i].type_ids, enc[i].n};
        total += enc[i].n;
    }
    // The batcher's chunks for a 2-thread pool: greedy runs of <= ceil(total / 2) tokens,
    // each one single-threaded forward call.
    float lg[NDOCS];
    size_t target = (total + 1) / 2, a = 0;
    while (a < NDOCS) {
        size_t e = a, t = 0;
        while (e < NDOCS && (e == a || t + s[e].n <= target)) t += s[e++].n;
        fr_score_opts so = fr_score_opts_default();
        so.threads = 1;
        so.batch_tokens = (int)t + 1;
        CHECK(fr_model_score_ids(m, s + a, e - a, &so, lg + a, &err) == 0);
        a = e;
    }
    // The library's own text path (fr_model_rerank, as `finerank rerank`) agrees within nn's
    // batch-composition bound: same tokenisation and truncation.
    fr_rerank_score rs[NDOCS];
    CHECK(fr_model_rerank(m, "diabetes diet sugar", DOCS, NULL, NDOCS, NULL, rs, &err) == 0);
    for (size_t i = 0; i < NDOCS; i++) CHECK_NEAR(rs[i].raw, lg[i], 1e-5);
    for (size_t i = 0; i < NDOCS; i++) {
        g_logit[i] = lg[i];
        g_direct[i] = (float)(1.0 / (1.0 + exp(-(double)lg[i])));
        fr_encoding_free(&enc[i]);
    }
    fr_tokenizer_free(tok);
    fr_model_free(m);
}

static int build_index(const char *dir) {
    fr_index *ix = NULL;
    fr_error err;
    fr_index_opts io = fr_index_opts_default();
    io.sync = 0;
    if (fr_index_build(dir, &io, &ix, &err) < 0) return -1;
    int rc = fr_index_add_jsonl(ix, "data/sample/corpus.jsonl", FR_ON_ERROR_FAIL, NULL, NULL, &err);
    if (rc == 0) rc = fr_index_commit(ix, &err);
    fr_index_close(ix);
    return rc;
}

// ---- shapes ----
static void test_cohere_v1(void) {
    char *b = rerank_body(NULL);
    resp r;
    CHECK(http(g_port, "POST", "/v1/rerank", b, (size_t)-1, &r) == 0);
    CHECK_EQ(r.status, 200);
    json_t *o = r.json;
    CHECK(json_is_string(json_object_get(o, "id")));
    json_t *res = json_object_get(o, "results");
    CHECK_EQ(json_array_size(res), NDOCS);
    double prev = 2;
    int seen[NDOCS] = {0};
    size_t i;
    json_t *it;
    json_array_foreach(res, i, it) {
        json_t *ix = json_object_get(it, "index"), *sc = json_object_get(it, "relevance_score");
        CHECK(json_is_integer(ix) && json_is_real(sc));
        CHECK(json_object_get(it, "document") == NULL);  // v1 default: return_documents false
        size_t k = (size_t)json_integer_value(ix);
        if (k < NDOCS) {
            seen[k]++;
            // exactly the direct forward pass
            CHECK(json_real_value(sc) == g_direct[k]);
        }
        CHECK(json_real_value(sc) <= prev);
        prev = json_real_value(sc);
        CHECK(prev >= 0 && prev <= 1);
    }
    for (size_t k = 0; k < NDOCS; k++) CHECK_EQ(seen[k], 1);
    json_t *meta = json_object_get(o, "meta");
    CHECK_STR(json_string_value(json_object_get(json_object_get(meta, "api_version"), "version")), "1");
    CHECK(json_integer_value(json_object_get(json_object_get(meta, "billed_units"), "search_units")) == 1);
    json_int_t toks = json_integer_value(json_object_get(json_object_get(meta, "tokens"), "input_tokens"));
    CHECK(toks > (json_int_t)NDOCS * 5);
    CHECK_EQ(json_integer_value(json_object_get(json_object_get(o, "usage"), "total_tokens")), toks);
    CHECK_STR(json_string_value(json_object_get(o, "model")), "bert-gelu");
    CHECK_STR(json_string_value(json_object_get(o, "score_type")), "probability");
    resp_free(&r);
    free(b);

    // return_documents, top_n, object documents echoed whole, rank_fields
    b = strdup("{\"query\":\"diabetes\",\"top_n\":2,\"return_documents\":true,\"unknown_field\":[1],"
               "\"documents\":[\"a b c\",{\"text\":\"diabetes diet\",\"id\":\"x7\"},\"sugar\"]}");
    CHECK(http(g_port, "POST", "/v1/rerank", b, (size_t)-1, &r) == 0);
    CHECK_EQ(r.status, 200);
    res = json_object_get(r.json, "results");
    CHECK_EQ(json_array_size(res), 2);
    json_array_foreach(res, i, it) {
        json_t *d = json_object_get(it, "document");
        CHECK(json_is_string(json_object_get(d, "text")));
        if (json_integer_value(json_object_get(it, "index")) == 1)
            CHECK_STR(json_string_value(json_object_get(d, "id")), "x7");
    }
    resp_free(&r);
    free(b);
    b = strdup("{\"query\":\"q\",\"rank_fields\":[\"title\",\"body\"],\"documents\":[{\"title\":\"t\","
               "\"body\":\"b\"},{\"title\":\"u\"}]}");
    CHECK(http(g_port, "POST", "/v1/rerank", b, (size_t)-1, &r) == 0);
    CHECK_EQ(r.status, 200);
    CHECK_EQ(json_array_size(json_object_get(r.json, "results")), 2);
    resp_free(&r);
    free(b);
}

static void test_cohere_v2_jina(void) {
    char *b = rerank_body("{\"model\":\"rerank-v3.5\",\"top_n\":3,\"max_tokens_per_doc\":4}");
    resp r;
    CHECK(http(g_port, "POST", "/v2/rerank", b, (size_t)-1, &r) == 0);
    CHECK_EQ(r.status, 200);
    CHECK_EQ(json_array_size(json_object_get(r.json, "results")), 3);
    CHECK(json_object_get(json_array_get(json_object_get(r.json, "results"), 0), "document") == NULL);
    CHECK_STR(json_string_value(json_object_get(json_object_get(json_object_get(r.json, "meta"),
                                "api_version"), "version")), "2");
    CHECK_STR(json_string_value(json_object_get(r.json, "model")), "rerank-v3.5");
    resp_free(&r);
    free(b);
    // max_tokens_per_doc cuts the document before the pair is fitted to max_length, also when
    // the query is long: 100 "the" (one token each) scores exactly as the 4-token document
    {
        char q[1024] = "", d100[1024] = "", body[4096];
        for (int i = 0; i < 100; i++) strcat(q, i ? " diabetes" : "diabetes");
        for (int i = 0; i < 100; i++) strcat(d100, i ? " the" : "the");
        double sc[2] = {-1, -2};
        for (int v = 0; v < 2; v++) {
            snprintf(body, sizeof body, "{\"query\":\"%s\",\"documents\":[\"%s\"]%s}", q,
                     v ? "the the the the" : d100, v ? "" : ",\"max_tokens_per_doc\":4");
            CHECK(http(g_port, "POST", "/v2/rerank", body, (size_t)-1, &r) == 0);
            CHECK_EQ(r.status, 200);
            sc[v] = json_number_value(json_object_get(json_array_get(json_object_get(r.json, "results"), 0),
                                                      "relevance_score"));
            resp_free(&r);
        }
        CHECK(sc[0] == sc[1]);
    }
    // Jina: same path as Cohere v1, return_documents defaults to true
    b = rerank_body("{\"model\":\"jina-reranker-v2-base-multilingual\"}");
    CHECK(http(g_port, "POST", "/v1/rerank", b, (size_t)-1, &r) == 0);
    CHECK_EQ(r.status, 200);
    json_t *first = json_array_get(json_object_get(r.json, "results"), 0);
    size_t k = (size_t)json_integer_value(json_object_get(first, "index"));
    CHECK(k < NDOCS && !strcmp(json_string_value(json_object_get(json_object_get(first, "document"), "text")), DOCS[k]));
    CHECK(json_integer_value(json_object_get(json_object_get(r.json, "usage"), "total_tokens")) > 0);
    CHECK_STR(json_string_value(json_object_get(r.json, "model")), "jina-reranker-v2-base-multilingual");
    resp_free(&r);
    free(b);
}

static void test_tei(void) {
    json_t *o = json_pack("{ss}", "query", "diabetes diet sugar");
    json_t *a = json_array();
    for (size_t i = 0; i < NDOCS; i++) json_array_append_new(a, json_string(DOCS[i]));
    json_object_set_new(o, "texts", a);
    json_object_set_new(o, "return_text", json_true());
    json_object_set_new(o, "raw_scores", json_true());
    json_object_set_new(o, "truncate", json_true());
    char *b = json_dumps(o, JSON_COMPACT);
    resp r;
    CHECK(http(g_port, "POST", "/rerank", b, (size_t)-1, &r) == 0);
    CHECK_EQ(r.status, 200);
    CHECK(json_is_array(r.json));
    CHECK_EQ(json_array_size(r.json), NDOCS);
    size_t i;
    json_t *it;
    json_array_foreach(r.json, i, it) {
        size_t k = (size_t)json_integer_value(json_object_get(it, "index"));
        CHECK(k < NDOCS);
        if (k >= NDOCS) continue;
        CHECK(json_real_value(json_object_get(it, "score")) == (double)(float)g_logit[k]);
        CHECK_STR(json_string_value(json_object_get(it, "text")), DOCS[k]);
        CHECK_EQ(json_object_size(it), 3);
    }
    char h[64];
    CHECK(hdr_get(&r, "X-Finerank-Score-Type", h, sizeof h) && !strcmp(h, "logit"));
    resp_free(&r);
    free(b);
    // defaults: no text, probability scores; a long pair without truncate → 413
    json_object_del(o, "return_text");
    json_object_del(o, "raw_scores");
    b = json_dumps(o, JSON_COMPACT);
    CHECK(http(g_port, "POST", "/rerank", b, (size_t)-1, &r) == 0);
    CHECK_EQ(r.status, 200);
    CHECK_EQ(json_object_size(json_array_get(r.json, 0)), 2);
    resp_free(&r);
    free(b);
    char longdoc[4000] = "{\"query\":\"q\",\"texts\":[\"";
    for (int w = 0; w < 200; w++) strcat(longdoc, "word ");
    strcat(longdoc, "\"]");
    char with_trunc[4100];
    snprintf(with_trunc, sizeof with_trunc, "%s,\"truncate\":true}", longdoc);
    strcat(longdoc, "}");
    CHECK(http(g_port, "POST", "/rerank", longdoc, (size_t)-1, &r) == 0);
    CHECK_EQ(r.status, 413);
    CHECK_STR(json_string_value(json_object_get(r.json, "field")), "texts[0]");
    resp_free(&r);
    CHECK(http(g_port, "POST", "/rerank", with_trunc, (size_t)-1, &r) == 0);
    CHECK_EQ(r.status, 200);
    resp_free(&r);
    json_decref(o);
}

// The logit of one (query, doc) pair scored directly, truncated to the model's max_length
// longest-first from the given side (as TEI does for truncation_direction), as a lone
// one-document request is scored: one single-threaded forward call.
static double direct_logit(const char *query, const char *doc, int left) {
    fr_model *m = NULL;
    fr_error err;
    fr_model_opts mo = fr_model_opts_default();
    if (fr_model_open(MODEL, &mo, &m, &err) < 0) return NAN;
    fr_model_info info;
    fr_model_get_info(m, &info);
    fr_encode_opts o = fr_encode_opts_default();
    o.max_length = info.max_length;
    o.truncate_left = left;
    fr_encoding enc = {0};
    float lg = NAN;
    if (fr_tokenizer_encode(fr_model_tokenizer(m), query, -1, doc, -1, &o, &enc, &err) == 0) {
        fr_seq sq = {enc.ids, enc.type_ids, enc.n};
        fr_score_opts so = fr_score_opts_default();
        so.threads = 1;
        so.batch_tokens = (int)enc.n + 1;
        if (fr_model_score_ids(m, &sq, 1, &so, &lg, &err) < 0) lg = NAN;
    }
    fr_encoding_free(&enc);
    fr_model_free(m);
    return lg;
}

static void test_tei_left(void) {
    // A document whose start and end differ, longer than the model's 64 positions: Left keeps
    // its end, Right its start; each equals the direct score of that truncation.
    char doc[2048] = "";
    for (int w = 0; w < 40; w++) strcat(doc, "insulin glucose ");
    for (int w = 0; w < 40; w++) strcat(doc, "weather wind ");
    double want[2] = {direct_logit("diabetes diet sugar", doc, 0),
                      direct_logit("diabetes diet sugar", doc, 1)};
    CHECK(want[0] != want[1]);
    static const char *const dirs[] = {"Right", "Left"};
    for (int left = 0; left < 2; left++) {
        json_t *o = json_pack("{ss s[s] sb sb ss}", "query", "diabetes diet sugar", "texts", doc,
                              "raw_scores", 1, "truncate", 1, "truncation_direction", dirs[left]);
        char *b = json_dumps(o, JSON_COMPACT);
        resp r;
        CHECK(http(g_port, "POST", "/rerank", b, (size_t)-1, &r) == 0);
        CHECK_EQ(r.status, 200);
        double got = json_real_value(json_object_get(json_array_get(r.json, 0), "score"));
        CHECK(got == (double)(float)want[left]);
        resp_free(&r);
        free(b);
        json_decref(o);
    }
}

// Cohere v1 max_chunks_per_doc: a long document scores as its best chunk (window), at most
// max_chunks_per_doc chunks from its start. The document: filler for chunks 1-2, then a tail
// (in chunk 3) that scores above the filler; 2 chunks miss it, 10 reach it.
static void test_max_chunks(void) {
    fr_model *m = NULL;
    fr_error err;
    fr_model_opts mo = fr_model_opts_default();
    CHECK(fr_model_open(MODEL, &mo, &m, &err) == 0);
    if (!m) return;
    const char *q = "diabetes diet sugar";
    char doc[8192];
    float want[2] = {0, 0};
    int found = 0;
    // The random model's taste decides which filler scores low and which tail scores high:
    // take the first (filler, tail) whose chunk 3 beats the filler clearly.
    static const char *const fillers[] = {"weather", "quantum", "wind", "the", "sunny",
                                          "particles", "distance", "light", "today", "links"};
    for (size_t f = 0; f < sizeof fillers / sizeof *fillers && !found; f++) {
        for (size_t t = 0; t < NDOCS && !found; t++) {
            doc[0] = 0;
            for (int w = 0; w < 120; w++) strcat(doc, fillers[f]), strcat(doc, " ");
            strcat(doc, DOCS[t]);
            strcat(doc, " ");
            strcat(doc, DOCS[t]);
            fr_rerank_score rs[2];
            const char *d[1] = {doc};
            for (int k = 0; k < 2; k++) {
                fr_score_opts so = fr_score_opts_default();
                so.threads = 1;
                so.long_docs = FR_LONG_MAX;
                so.max_windows = k ? 10 : 2;
                CHECK(fr_model_rerank(m, q, d, NULL, 1, &so, &rs[k], &err) == 0);
            }
            CHECK_EQ(rs[0].windows, 2);
            CHECK(rs[1].windows > 2 && rs[1].windows <= 10);
            if (rs[1].relevance > rs[0].relevance + 1e-3) {
                found = 1;
                want[0] = rs[0].relevance;
                want[1] = rs[1].relevance;
            }
        }
    }
    fr_model_free(m);
    CHECK(found);
    if (!found) return;
    for (int k = 0; k < 2; k++) {
        json_t *o = json_pack("{ss s[s] si}", "query", q, "documents", doc, "max_chunks_per_doc",
                              k ? 10 : 2);
        char *b = json_dumps(o, JSON_COMPACT);
        resp r;
        CHECK(http(g_port, "POST", "/v1/rerank", b, (size_t)-1, &r) == 0);
        CHECK_EQ(r.status, 200);
        json_t *it = json_array_get(json_object_get(r.json, "results"), 0);
        // the server scores the windows in the batcher's chunks: equal within nn's
        // batch-composition bound
        CHECK_NEAR(json_real_value(json_object_get(it, "relevance_score")), want[k], 1e-5);
        resp_free(&r);
        free(b);
        json_decref(o);
    }
    // without max_chunks_per_doc the document is truncated: the filler alone
    json_t *o = json_pack("{ss s[s]}", "query", q, "documents", doc);
    char *b = json_dumps(o, JSON_COMPACT);
    resp r;
    CHECK(http(g_port, "POST", "/v1/rerank", b, (size_t)-1, &r) == 0);
    CHECK_EQ(r.status, 200);
    json_t *it = json_array_get(json_object_get(r.json, "results"), 0);
    CHECK(json_real_value(json_object_get(it, "relevance_score")) < (double)want[1]);
    resp_free(&r);
    free(b);
    json_decref(o);
}

// max_chunks_per_doc with an empty document and a query longer than max_length: the empty
// passage has no windows, so its pair is truncated like any other (was a 683-token sequence
// the scorer refused: 500, and in fused mode the error of every request in the batch).
static void test_max_chunks_empty_doc(void) {
    char q[2048] = "";
    for (int i = 0; i < 40; i++) strcat(q, "diabetes diet sugar ");
    fr_model *m = NULL;
    fr_error err;
    fr_model_opts mo = fr_model_opts_default();
    CHECK(fr_model_open(MODEL, &mo, &m, &err) == 0);
    if (m) {
        const char *d[2] = {"", "sugar"};
        fr_rerank_score rs[2];
        fr_score_opts so = fr_score_opts_default();
        so.threads = 1;
        so.long_docs = FR_LONG_MAX;
        so.max_windows = 3;
        CHECK_EQ(fr_model_rerank(m, q, d, NULL, 2, &so, rs, &err), 0);
        CHECK_EQ(rs[0].windows, 1);
        fr_model_free(m);
    }
    json_t *o = json_pack("{ss s[ss] si}", "query", q, "documents", "", "sugar", "max_chunks_per_doc", 3);
    char *b = json_dumps(o, JSON_COMPACT);
    resp r;
    CHECK(http(g_port, "POST", "/v1/rerank", b, (size_t)-1, &r) == 0);
    CHECK_EQ(r.status, 200);
    CHECK_EQ(json_array_size(json_object_get(r.json, "results")), 2);
    resp_free(&r);
    free(b);
    json_decref(o);
}

static void test_extensions(void) {
    const char *b = "{\"query\":\"diabetes guideline\",\"explain\":true,\"now\":\"2024-01-01\","
                    "\"freshness\":\"exp:scale=365d\",\"authority_table\":{\"guideline\":1.0,"
                    "\"self-media\":0.5},\"documents\":["
                    "{\"text\":\"diabetes guideline\",\"date\":\"2023-06-01\",\"source\":\"guideline\"},"
                    "{\"text\":\"diabetes guideline\",\"date\":\"2010-06-01\",\"source\":\"guideline\"},"
                    "{\"text\":\"diabetes guideline\",\"date\":\"2023-06-01\",\"source\":\"self-media\"}]}";
    resp r;
    CHECK(http(g_port, "POST", "/v1/rerank", b, (size_t)-1, &r) == 0);
    CHECK_EQ(r.status, 200);
    json_t *res = json_object_get(r.json, "results");
    // same text: the recent guideline first, the self-media one (0.5) above the 2010 one
    CHECK_EQ(json_integer_value(json_object_get(json_array_get(res, 0), "index")), 0);
    CHECK_EQ(json_integer_value(json_object_get(json_array_get(res, 1), "index")), 2);
    json_t *ex = json_object_get(json_array_get(res, 1), "explain");
    CHECK_NEAR(json_real_value(json_object_get(ex, "authority")), 0.5, 1e-12);
    CHECK(json_real_value(json_object_get(ex, "timeliness")) < 1);
    CHECK_STR(json_string_value(json_object_get(r.json, "score_type")), "combined");
    resp_free(&r);
    // bad extension values name their field
    CHECK(http(g_port, "POST", "/v1/rerank", "{\"query\":\"q\",\"documents\":[\"a\"],\"diversity\":2}",
               (size_t)-1, &r) == 0);
    CHECK_EQ(r.status, 422);
    CHECK(r.json && strstr(json_string_value(json_object_get(r.json, "message")), "diversity"));
    resp_free(&r);
    CHECK(http(g_port, "POST", "/v1/rerank", "{\"query\":\"q\",\"documents\":[{\"text\":\"a\",\"date\":\"2023-13-01\"}]}",
               (size_t)-1, &r) == 0);
    CHECK_EQ(r.status, 422);
    CHECK_STR(json_string_value(json_object_get(r.json, "field")), "documents[0].date");
    resp_free(&r);
    // long documents: windows aggregated by the model (fr_model_rerank), one result per document
    {
        char lb[3000] = "{\"query\":\"diabetes\",\"long_docs\":\"max\",\"explain\":true,\"documents\":[\"";
        for (int w = 0; w < 100; w++) strcat(lb, "diabetes diet sugar ");
        strcat(lb, "\",\"short\"]}");
        CHECK(http(g_port, "POST", "/v1/rerank", lb, (size_t)-1, &r) == 0);
        CHECK_EQ(r.status, 200);
        CHECK_EQ(json_array_size(json_object_get(r.json, "results")), 2);
        resp_free(&r);
    }
    // diversity: the duplicate of the best document drops below a different one
    b = "{\"query\":\"sugar control\",\"diversity\":0.3,\"documents\":[\"sugar control diet\","
        "\"sugar control diet\",\"exercise management walking\"]}";
    CHECK(http(g_port, "POST", "/v1/rerank", b, (size_t)-1, &r) == 0);
    CHECK_EQ(r.status, 200);
    res = json_object_get(r.json, "results");
    CHECK_EQ(json_array_size(res), 3);
    CHECK_EQ(json_integer_value(json_object_get(json_array_get(res, 2), "index")) != 2, 1);
    resp_free(&r);
}

// ---- concurrency ----
typedef struct client_arg {
    const char *body;
    char *results;      // the "results" array, compact JSON
    _Atomic int status; // polled by the main thread while the client runs (test_retry_after)
} client_arg;

static void *client(void *p) {
    client_arg *a = p;
    resp r;
    if (http(g_port, "POST", "/v1/rerank", a->body, (size_t)-1, &r) == 0) {
        a->status = r.status;
        a->results = json_dumps(json_object_get(r.json, "results"), JSON_COMPACT);
        resp_free(&r);
    }
    return NULL;
}

static void test_parallel(void) {
    // 40 documents of mixed lengths so that batches mix requests
    json_t *o = json_pack("{ss}", "query", "blood glucose diet");
    json_t *a = json_array();
    for (int i = 0; i < 40; i++) {
        char d[1024] = "";
        for (int w = 0; w <= i % 9; w++) strcat(d, DOCS[(size_t)(i + w) % NDOCS]), strcat(d, " ");
        json_array_append_new(a, json_string(d));
    }
    json_object_set_new(o, "documents", a);
    char *body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    client_arg lone = {.body = body};
    client(&lone);
    CHECK_EQ(lone.status, 200);
    enum { N = 32 };
    client_arg args[N];
    pthread_t t[N];
    for (int i = 0; i < N; i++) {
        args[i] = (client_arg){.body = body};
        pthread_create(&t[i], NULL, client, &args[i]);
    }
    int same = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        same += args[i].status == 200 && lone.results && args[i].results &&
                !strcmp(lone.results, args[i].results);
        free(args[i].results);
    }
    CHECK_EQ(same, N);
    free(lone.results);
    free(body);
}

// ---- 64 clients ----
// 32 rerank and 32 search clients at once, released together: every one gets exactly a lone
// client's results, and the server serves them without a thread per connection (the
// process never holds more than its threads before the clients plus the 64 client threads).
typedef struct mixed_arg {
    const char *path, *body;
    char *results;
    int status;
    pthread_barrier_t *go;
} mixed_arg;

static void *mixed_client(void *p) {
    mixed_arg *a = p;
    if (a->go) pthread_barrier_wait(a->go);
    resp r;
    if (http(g_port, "POST", a->path, a->body, (size_t)-1, &r) == 0) {
        a->status = r.status;
        a->results = json_dumps(json_object_get(r.json, "results"), JSON_COMPACT);
        resp_free(&r);
    }
    return NULL;
}

static int count_threads(void) {
    int n = 0;
    DIR *d = opendir("/proc/self/task");
    if (!d) return -1;
    for (struct dirent *e; (e = readdir(d));) n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static atomic_int g_sampling, g_max_threads;
static void *thread_sampler(void *p) {
    (void)p;
    while (atomic_load(&g_sampling)) {
        int n = count_threads();
        if (n > atomic_load(&g_max_threads)) atomic_store(&g_max_threads, n);
        usleep(500);
    }
    return NULL;
}

static void test_parallel64(void) {
    char *rr = rerank_body(NULL);
    const char *sb = "{\"query\":\"diabetes diet sugar\",\"k\":10}";
    mixed_arg lone_r = {.path = "/v1/rerank", .body = rr}, lone_s = {.path = "/v1/search", .body = sb};
    mixed_client(&lone_r);
    mixed_client(&lone_s);
    CHECK_EQ(lone_r.status, 200);
    CHECK_EQ(lone_s.status, 200);
    CHECK(lone_s.results && strlen(lone_s.results) > 2);
    enum { N = 64 };
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, N);
    atomic_store(&g_sampling, 1);
    atomic_store(&g_max_threads, 0);
    pthread_t sampler;
    pthread_create(&sampler, NULL, thread_sampler, NULL);
    usleep(5000);
    int base = count_threads();
    mixed_arg args[N];
    pthread_t t[N];
    for (int i = 0; i < N; i++) {
        args[i] = i % 2 ? (mixed_arg){.path = "/v1/search", .body = sb, .go = &go}
                        : (mixed_arg){.path = "/v1/rerank", .body = rr, .go = &go};
        pthread_create(&t[i], NULL, mixed_client, &args[i]);
    }
    int same = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        const char *want = i % 2 ? lone_s.results : lone_r.results;
        same += args[i].status == 200 && want && args[i].results && !strcmp(want, args[i].results);
        free(args[i].results);
    }
    atomic_store(&g_sampling, 0);
    pthread_join(sampler, NULL);
    pthread_barrier_destroy(&go);
    CHECK_EQ(same, N);
    CHECK(base > 0);
    CHECK(atomic_load(&g_max_threads) <= base + N);
    free(lone_r.results);
    free(lone_s.results);
    free(rr);
}

// A server of the test model with so's other settings on any free port, made the one that
// http() and client() talk to. OUT: *saved, the port they talked to before (stop_server
// restores it). NULL (a failed check) when it does not start.
static fr_server *start_server(fr_server_opts *so, int *saved) {
    so->port = 0;
    so->model_dir = MODEL;
    fr_server *s = NULL;
    fr_error err;
    CHECK(fr_server_start(so, &s, &err) == 0);
    if (!s) return NULL;
    *saved = g_port;
    g_port = fr_server_port(s);
    return s;
}

static void stop_server(fr_server *s, int saved) {
    g_port = saved;
    fr_server_free(s);
}

static void test_overload(void) {
    fr_server_opts so = fr_server_opts_default();
    so.max_queue = 1;
    so.scorer_threads = 1;
    int saved;
    fr_server *s = start_server(&so, &saved);
    if (!s) return;
    char *body = big_body(400, 0);
    enum { N = 12 };
    client_arg args[N];
    pthread_t t[N];
    for (int i = 0; i < N; i++) {
        args[i] = (client_arg){.body = body};
        pthread_create(&t[i], NULL, client, &args[i]);
    }
    int ok = 0, busy = 0, other = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        if (args[i].status == 200) ok++;
        else if (args[i].status == 429) busy++;
        else other++;
        free(args[i].results);
    }
    CHECK(ok >= 1);
    CHECK(busy >= 1);
    CHECK_EQ(other, 0);
    resp r;
    // 429 carries Retry-After: provoke one deterministically with a held queue slot
    CHECK(http(g_port, "GET", "/health", NULL, 0, &r) == 0);
    CHECK_EQ(r.status, 200);
    resp_free(&r);
    CHECK(http(g_port, "GET", "/metrics", NULL, 0, &r) == 0);
    CHECK(r.body && strstr(r.body, "finerank_requests_total{route=\"/v1/rerank\",status=\"429\"}"));
    CHECK(r.body && strstr(r.body, "finerank_batch_size_bucket"));
    resp_free(&r);
    free(body);
    stop_server(s, saved);
}

static void *retry_after_client(void *p) {
    resp *r = p;
    const char *body = "{\"query\":\"q\",\"documents\":[\"a\"]}";
    http(g_port, "POST", "/v1/rerank", body, (size_t)-1, r);
    return NULL;
}

static void test_retry_after(void) {
    // max_queue 1 and a long request in flight: the next request gets 429 + Retry-After
    fr_server_opts so = fr_server_opts_default();
    so.max_queue = 1;
    so.scorer_threads = 1;
    int saved;
    fr_server *s = start_server(&so, &saved);
    if (!s) return;
    char *body = big_body(3000, 0);
    client_arg big = {.body = body};
    pthread_t t;
    pthread_create(&t, NULL, client, &big);
    // Probe only once the big request holds the queue's one slot (finerank_queue_depth 1 in
    // /metrics); otherwise a probe can win the slot and the big request gets the 429.
    for (int tries = 0; tries < 2000 && !big.status; tries++) {
        resp m;
        int depth = 0;
        if (http(g_port, "GET", "/metrics", NULL, 0, &m) == 0 && m.body) {
            const char *q = strstr(m.body, "\nfinerank_queue_depth ");
            if (q) depth = atoi(q + strlen("\nfinerank_queue_depth "));
        }
        resp_free(&m);
        if (depth >= 1) break;
        usleep(1000);
    }
    int got429 = 0;
    for (int tries = 0; tries < 200 && !got429; tries++) {
        resp r;
        retry_after_client(&r);
        char h[32];
        if (r.status == 429) got429 = hdr_get(&r, "Retry-After", h, sizeof h) && atoi(h) >= 1;
        resp_free(&r);
        if (big.status) break;  // the big one finished before we saw a 429
        usleep(2000);
    }
    pthread_join(t, NULL);
    CHECK(got429);
    // deadline: a 3000-document request with a 1 ms budget is answered with the unscored rest
    // in input order
    json_t *od = json_loads(body, 0, NULL);
    json_object_set_new(od, "deadline_ms", json_real(1));
    char *bd = json_dumps(od, JSON_COMPACT);
    json_decref(od);
    resp rd;
    CHECK(http(g_port, "POST", "/v1/rerank", bd, (size_t)-1, &rd) == 0);
    CHECK_EQ(rd.status, 200);
    CHECK(json_is_true(json_object_get(rd.json, "deadline_hit")));
    json_int_t scored = json_integer_value(json_object_get(rd.json, "scored"));
    CHECK(scored < 3000);
    json_t *last = json_array_get(json_object_get(rd.json, "results"), 2999);
    CHECK_EQ(json_integer_value(json_object_get(last, "index")), 2999);
    CHECK(json_real_value(json_object_get(last, "relevance_score")) == 0.0);
    resp_free(&rd);
    free(bd);
    CHECK_EQ(big.status, 200);
    free(big.results);
    free(body);
    stop_server(s, saved);
}

static void test_slow_client(void) {
    int fd = dial(g_port);
    CHECK(fd >= 0);
    const char *h = "POST /v1/rerank HTTP/1.1\r\nHost: x\r\nContent-Length: 60\r\n\r\n{";
    send_all(fd, h, strlen(h));
    // while the slow body trickles in (one byte at a time), other requests complete
    for (int i = 0; i < 3; i++) {
        send_all(fd, " ", 1);
        double t0 = (double)clock() / CLOCKS_PER_SEC;
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        resp r;
        CHECK(http(g_port, "GET", "/health", NULL, 0, &r) == 0);
        CHECK_EQ(r.status, 200);
        resp_free(&r);
        char *body = rerank_body(NULL);
        CHECK(http(g_port, "POST", "/v2/rerank", body, (size_t)-1, &r) == 0);
        CHECK_EQ(r.status, 200);
        resp_free(&r);
        free(body);
        clock_gettime(CLOCK_MONOTONIC, &b);
        CHECK((b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9 < 10);
        (void)t0;
        usleep(300000);
    }
    close(fd);
}

// ---- bad input ----
typedef struct bad_case {
    const char *path, *body;
    int status;
    const char *field;
} bad_case;

static void test_bad_input(void) {
    static const bad_case cases[] = {
        {"/v1/rerank", "{\"query\":\"a\",", 400, "body"},
        {"/v1/rerank", "", 400, "body"},
        {"/v1/rerank", "nul", 400, "body"},
        {"/v1/rerank", "{\"query\":\"a\",\"query\":\"b\",\"documents\":[\"x\"]}", 400, "body"},
        {"/v1/rerank", "[1,2]", 422, "body"},
        {"/v1/rerank", "{\"documents\":[\"x\"]}", 422, "query"},
        {"/v1/rerank", "{\"query\":5,\"documents\":[\"x\"]}", 422, "query"},
        {"/v1/rerank", "{\"query\":\"  \",\"documents\":[\"x\"]}", 422, "query"},
        {"/v1/rerank", "{\"query\":\"a\"}", 422, "documents"},
        {"/v1/rerank", "{\"query\":\"a\",\"documents\":\"x\"}", 422, "documents"},
        {"/v1/rerank", "{\"query\":\"a\",\"documents\":[]}", 422, "documents"},
        {"/v1/rerank", "{\"query\":\"a\",\"documents\":[null]}", 422, "documents[0]"},
        {"/v1/rerank", "{\"query\":\"a\",\"documents\":[\"x\",{\"text\":7}]}", 422, "documents[1].text"},
        {"/v1/rerank", "{\"query\":\"a\",\"documents\":[\"x\"],\"top_n\":-1}", 422, "top_n"},
        {"/v1/rerank", "{\"query\":\"a\",\"documents\":[\"x\"],\"top_n\":0}", 422, "top_n"},
        {"/v1/rerank", "{\"query\":\"a\",\"documents\":[\"x\"],\"top_n\":1e30}", 422, "top_n"},
        {"/v1/rerank", "{\"query\":\"a\",\"documents\":[\"x\"],\"top_n\":2.5}", 422, "top_n"},
        {"/v1/rerank", "{\"query\":\"a\",\"documents\":[\"x\"],\"top_n\":\"3\"}", 422, "top_n"},
        {"/v1/rerank", "{\"query\":\"a\",\"documents\":[\"x\"],\"top_n\":123456789012345678901234567890}", 400, "body"},
        {"/v1/rerank", "{\"query\":\"a\",\"documents\":[\"x\"],\"top_n\":1e999}", 400, "body"},
        {"/v1/rerank", "{\"query\":\"a\",\"documents\":[\"x\"],\"return_documents\":\"yes\"}", 422, "return_documents"},
        {"/v1/rerank", "{\"query\":\"a\",\"documents\":[\"x\"],\"rank_fields\":[1]}", 422, "rank_fields"},
        {"/v1/rerank", "{\"query\":\"a\",\"documents\":[\"x\"],\"long_docs\":\"all\"}", 422, "long_docs"},
        {"/v1/rerank", "{\"query\":\"a\\u0000\",\"documents\":[\"x\"]}", 400, "body"},
        {"/v1/rerank", "{\"query\":\"\xff\xfe\",\"documents\":[\"x\"]}", 400, "body"},
        {"/v1/rerank", "{\"query\":\"\xed\xa0\x80\",\"documents\":[\"x\"]}", 400, "body"},
        {"/v1/rerank", "{\"query\":\"\xc0\xaf\",\"documents\":[\"x\"]}", 400, "body"},
        {"/v2/rerank", "{\"query\":\"a\",\"documents\":[\"x\"],\"max_tokens_per_doc\":0}", 422, "max_tokens_per_doc"},
        {"/rerank", "{\"query\":\"a\",\"texts\":[\"x\"],\"truncation_direction\":\"Up\"}", 422, "truncation_direction"},
        {"/rerank", "{\"query\":\"a\",\"documents\":[\"x\"]}", 422, "texts"},
        {"/rerank", "{\"query\":\"a\",\"texts\":[\"x\"],\"raw_scores\":1}", 422, "raw_scores"},
        {"/v1/search", "{\"k\":3}", 422, "query"},
        {"/v1/search", "{\"query\":\"a\",\"diversity\":\"x\"}", 422, ""},
        {"/v1/search", "{\"query\":\"a\",\"candidatez\":3}", 422, ""},
        {"/v1/search", "{\"query\":\"a\",\"retriever\":{\"mode\":\"bm25\",\"threads\":256}}", 422,
         "retriever.threads"},
        {"/v1/nothing", "{}", 404, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        resp r;
        int rc = http(g_port, "POST", cases[i].path, cases[i].body, (size_t)-1, &r);
        CHECK_EQ(rc, 0);
        if (r.status != cases[i].status)
            fprintf(stderr, "case %zu (%s %s): status %d: %s\n", i, cases[i].path, cases[i].body,
                    r.status, r.body ? r.body : "");
        CHECK_EQ(r.status, cases[i].status);
        CHECK(json_is_string(json_object_get(r.json, "message")));
        if (cases[i].field[0]) {
            const char *f = json_string_value(json_object_get(r.json, "field"));
            if (!f || strcmp(f, cases[i].field))
                fprintf(stderr, "case %zu: field %s, want %s\n", i, f ? f : "null", cases[i].field);
            CHECK(f && !strcmp(f, cases[i].field));
        }
        resp_free(&r);
    }
    // deep nesting
    char deep[4096];
    size_t n = 0;
    n += (size_t)snprintf(deep, sizeof deep, "{\"query\":\"a\",\"documents\":[\"x\"],\"z\":");
    for (int i = 0; i < 1000; i++) deep[n++] = '[';
    for (int i = 0; i < 1000; i++) deep[n++] = ']';
    deep[n++] = '}';
    resp r;
    CHECK(http(g_port, "POST", "/v1/rerank", deep, n, &r) == 0);
    CHECK_EQ(r.status, 400);
    CHECK(r.body && strstr(r.body, "nesting"));
    resp_free(&r);
    // wrong method, GET on a POST route
    CHECK(http(g_port, "GET", "/v1/rerank", NULL, 0, &r) == 0);
    CHECK_EQ(r.status, 405);
    resp_free(&r);
    // 100 MB body: 413 from Content-Length, before the body is read
    size_t big = 100u << 20;
    char *huge = malloc(big);
    memset(huge, ' ', big);
    CHECK(http(g_port, "POST", "/v1/rerank", huge, big, &r) == 0);
    CHECK_EQ(r.status, 413);
    resp_free(&r);
    free(huge);
    // chunked body past the limit (no Content-Length): 413 after the limit
    int fd = dial(g_port);
    const char *h = "POST /v1/rerank HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n";
    send_all(fd, h, strlen(h));
    char chunk[70000];
    int cn = snprintf(chunk, sizeof chunk, "%x\r\n", 65536);
    memset(chunk + cn, ' ', 65536);
    memcpy(chunk + cn + 65536, "\r\n", 2);
    int sent_ok = 1;
    for (int i = 0; i < 40 && sent_ok; i++) sent_ok = send_all(fd, chunk, (size_t)cn + 65538) == 0;
    if (sent_ok) send_all(fd, "0\r\n\r\n", 5);
    memset(&r, 0, sizeof r);
    CHECK(read_resp(fd, &r) == 0);
    CHECK_EQ(r.status, 413);
    resp_free(&r);
    close(fd);
    // too many documents
    fr_server_opts d = fr_server_opts_default();
    json_t *o = json_pack("{ss}", "query", "q");
    json_t *a = json_array();
    for (size_t i = 0; i <= d.max_documents; i++) json_array_append_new(a, json_string("d"));
    json_object_set_new(o, "documents", a);
    char *body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    CHECK(http(g_port, "POST", "/v1/rerank", body, (size_t)-1, &r) == 0);
    CHECK_EQ(r.status, 422);
    CHECK_STR(json_string_value(json_object_get(r.json, "field")), "documents");
    resp_free(&r);
    free(body);
    // still alive
    CHECK(http(g_port, "GET", "/health", NULL, 0, &r) == 0);
    CHECK_EQ(r.status, 200);
    resp_free(&r);
}

// ---- search and documents ----
static void test_search_documents(void) {
    resp r;
    CHECK(http(g_port, "POST", "/v1/search", "{\"query\":\"diabetes diet\",\"k\":3,\"explain\":true}",
               (size_t)-1, &r) == 0);
    CHECK_EQ(r.status, 200);
    json_t *res = json_object_get(r.json, "results");
    CHECK_EQ(json_array_size(res), 3);
    CHECK(json_is_string(json_object_get(json_array_get(res, 0), "text")));
    CHECK(json_is_object(json_object_get(json_array_get(res, 0), "explain")));
    CHECK_STR(json_string_value(json_object_get(r.json, "reranker")), "cross-encoder");
    resp_free(&r);
    // ingestion: JSON array, durable, visible to search
    CHECK(http(g_port, "POST", "/v1/documents",
               "[{\"id\":\"zz-1\",\"text\":\"xylophone zebra quokka\"},{\"id\":\"zz-2\",\"text\":\"quokka\"}]",
               (size_t)-1, &r) == 0);
    CHECK_EQ(r.status, 200);
    CHECK_EQ(json_integer_value(json_object_get(r.json, "added")), 2);
    CHECK(json_is_true(json_object_get(r.json, "durable")));
    resp_free(&r);
    CHECK(http(g_port, "POST", "/v1/search", "{\"query\":\"xylophone quokka\",\"k\":5}", (size_t)-1, &r) == 0);
    CHECK_EQ(json_array_size(json_object_get(r.json, "results")), 2);
    const char *id0 = json_string_value(json_object_get(json_array_get(json_object_get(r.json, "results"), 0), "id"));
    CHECK(id0 && (!strcmp(id0, "zz-1") || !strcmp(id0, "zz-2")));
    resp_free(&r);
    // NDJSON with a bad line: 422 naming the line, nothing added
    CHECK(http(g_port, "POST", "/v1/documents", "{\"id\":\"zz-3\",\"text\":\"quokka\"}\n{\"id\":\"zz-4\"}\n",
               (size_t)-1, &r) == 0);
    CHECK_EQ(r.status, 422);
    CHECK_STR(json_string_value(json_object_get(r.json, "field")), "line 2");
    resp_free(&r);
    CHECK(http(g_port, "POST", "/v1/documents", "{\"id\":\"zz-3\",\"text\":\"quokka\"}\n", (size_t)-1, &r) == 0);
    CHECK_EQ(r.status, 200);
    resp_free(&r);
    CHECK(http(g_port, "POST", "/v1/search", "{\"query\":\"quokka\",\"k\":5}", (size_t)-1, &r) == 0);
    CHECK_EQ(json_array_size(json_object_get(r.json, "results")), 3);
    resp_free(&r);
    // delete: durable, then gone; again → 404
    CHECK(http(g_port, "DELETE", "/v1/documents/zz-1", NULL, 0, &r) == 0);
    CHECK_EQ(r.status, 200);
    resp_free(&r);
    CHECK(http(g_port, "DELETE", "/v1/documents/zz-1", NULL, 0, &r) == 0);
    CHECK_EQ(r.status, 404);
    resp_free(&r);
    CHECK(http(g_port, "POST", "/v1/search", "{\"query\":\"xylophone\",\"k\":5}", (size_t)-1, &r) == 0);
    CHECK_EQ(json_array_size(json_object_get(r.json, "results")), 0);
    resp_free(&r);
    CHECK(http(g_port, "GET", "/info", NULL, 0, &r) == 0);
    CHECK_EQ(r.status, 200);
    CHECK_EQ(json_integer_value(json_object_get(json_object_get(r.json, "index"), "documents")), 202);
    CHECK_EQ(json_integer_value(json_object_get(json_object_get(r.json, "model"), "max_length")), 64);
    CHECK(json_is_null(json_object_get(json_object_get(r.json, "index"), "embedding")));
    resp_free(&r);
}

// ---- fused batches: a request the model refuses fails alone ----
typedef struct bjob {
    fr__batcher *b;
    const fr_seq *seqs;
    size_t n;
    float *lg;           // n * num_labels
    unsigned char *sc;   // n
    int rc;
} bjob;

static void *bjob_run(void *p) {
    bjob *j = p;
    fr_error e;
    j->rc = fr__batcher_score(j->b, j->seqs, j->n, 0, j->lg, j->sc, &e);
    return NULL;
}

static void test_fused_isolation(void) {
    fr_model *m = NULL;
    fr_error err;
    CHECK_EQ(fr_model_open(MODEL, NULL, &m, &err), 0);
    fr__batcher *b = NULL;
    if (!m || fr__batcher_new(m, 1, 8192, 64, 1, NULL, &b, &err) < 0) {
        CHECK(0);
        fr_model_free(m);
        return;
    }
    enum { NBIG = 3000 };
    static int32_t ids[60], good_ids[5] = {2, 111, 111, 111, 3}, bad_ids[3] = {2, 1 << 30, 3};
    static uint8_t types[60];
    static fr_seq big[NBIG];
    static float lg[NBIG * 4], glg[4], blg[4];
    static unsigned char sc[NBIG], gsc[1], bsc[1];
    for (int i = 0; i < 60; i++) ids[i] = 111;
    for (int i = 0; i < NBIG; i++) big[i] = (fr_seq){ids, types, 60};
    fr_seq good = {good_ids, types, 5}, bad = {bad_ids, types, 3};
    // a lone good request: its reference score
    bjob jg = {b, &good, 1, glg, gsc, 0};
    bjob_run(&jg);
    CHECK_EQ(jg.rc, 0);
    float want = glg[0];
    // A long job holds the one worker while a good and a bad request queue behind it; they
    // then share one fused batch. The bad one has an id outside the vocabulary.
    bjob jbig = {b, big, NBIG, lg, sc, 0}, jb = {b, &bad, 1, blg, bsc, 0};
    jg.rc = -1;
    glg[0] = 0;
    pthread_t t[3];
    pthread_create(&t[0], NULL, bjob_run, &jbig);
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    pthread_create(&t[1], NULL, bjob_run, &jg);
    pthread_create(&t[2], NULL, bjob_run, &jb);
    for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
    CHECK_EQ(jbig.rc, 0);
    CHECK(jb.rc < 0);
    CHECK_EQ(jg.rc, 0);   // was the bad request's error when they shared the batch
    CHECK_NEAR(glg[0], want, 1e-5);
    fr__batcher_free(b);
    fr_model_free(m);
}

// ---- fused batches: one GEMM across requests, scores within nn's 1e-5 bound ----
static void test_fused(void) {
    fr_server_opts so = fr_server_opts_default();
    so.fuse_batches = 1;
    so.scorer_threads = 2;
    int saved;
    fr_server *s = start_server(&so, &saved);
    if (!s) return;
    char *body = rerank_body(NULL);
    enum { N = 8 };
    client_arg args[N];
    pthread_t t[N];
    for (int i = 0; i < N; i++) {
        args[i] = (client_arg){.body = body};
        pthread_create(&t[i], NULL, client, &args[i]);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        CHECK_EQ(args[i].status, 200);
        json_t *res = args[i].results ? json_loads(args[i].results, 0, NULL) : NULL;
        CHECK_EQ(json_array_size(res), NDOCS);
        size_t k;
        json_t *it;
        json_array_foreach(res, k, it) {
            size_t ix = (size_t)json_integer_value(json_object_get(it, "index"));
            if (ix < NDOCS) CHECK_NEAR(json_real_value(json_object_get(it, "relevance_score")), g_direct[ix], 1e-5);
        }
        json_decref(res);
        free(args[i].results);
    }
    free(body);
    stop_server(s, saved);
}

// ---- drain timeout with queued requests ----
// One worker busy with a long request, a second request queued behind it, a 1 s drain: the
// queued one is answered 503 when the server stops instead of running after the timeout
// (SIGTERM used to wait for every queued request, whatever --drain-timeout said), and both
// answers reach their clients (the daemon used to stop before sending what the workers
// finished after the timeout: the connection closed with no response).
static void test_drain_queued(void) {
    fr_server_opts so = fr_server_opts_default();
    so.scorer_threads = 1;
    so.workers = 1;
    so.max_documents = 100000;
    so.drain_timeout_s = 1;
    int saved;
    fr_server *s = start_server(&so, &saved);
    if (!s) return;
    char *body = big_body(20000, 8000);
    client_arg big = {.body = body}, small = {.body = "{\"query\":\"diet\",\"documents\":[\"sugar\"]}"};
    pthread_t tb, ts;
    pthread_create(&tb, NULL, client, &big);
    for (int tries = 0; tries < 5000; tries++) {  // until the big one is being scored
        resp m;
        int depth = 0;
        if (http(g_port, "GET", "/metrics", NULL, 0, &m) == 0 && m.body) {
            const char *q = strstr(m.body, "\nfinerank_queue_depth ");
            if (q) depth = atoi(q + strlen("\nfinerank_queue_depth "));
        }
        resp_free(&m);
        if (depth >= 1) break;
        usleep(1000);
    }
    pthread_create(&ts, NULL, client, &small);
    usleep(300000);  // the small one reaches the worker queue (else it gets the drain's 503 anyway)
    fr_server_drain(s);
    fr_server_free(s);
    pthread_join(tb, NULL);
    pthread_join(ts, NULL);
    CHECK_EQ(big.status, 200);
    CHECK_EQ(small.status, 503);
    free(big.results);
    free(small.results);
    free(body);
    g_port = saved;
}

// ---- per-IP connection limit, no model ----
static void test_limits_no_model(void) {
    fr_server_opts so = fr_server_opts_default();
    so.port = 0;
    so.per_ip_connections = 2;
    fr_server *s = NULL;
    fr_error err;
    CHECK(fr_server_start(&so, &s, &err) == 0);
    if (!s) return;
    int port = fr_server_port(s);
    int a = dial(port), b = dial(port);
    CHECK(a >= 0 && b >= 0);
    send_all(a, "GET /hea", 8);  // two connections held open mid-request
    send_all(b, "GET /hea", 8);
    usleep(100000);
    resp r;
    int rc = http(port, "GET", "/health", NULL, 0, &r);
    CHECK(rc != 0 || r.status != 200);  // the third from this address is refused
    resp_free(&r);
    close(a);
    close(b);
    usleep(200000);
    CHECK(http(port, "GET", "/health", NULL, 0, &r) == 0);
    CHECK_EQ(r.status, 200);
    resp_free(&r);
    // rerank routes without a model: 503 naming the cause; search without an index: 404
    CHECK(http(port, "POST", "/v1/rerank", "{\"query\":\"q\",\"documents\":[\"a\"]}", (size_t)-1, &r) == 0);
    CHECK_EQ(r.status, 503);
    CHECK(r.body && strstr(r.body, "no model"));
    resp_free(&r);
    CHECK(http(port, "POST", "/v1/search", "{\"query\":\"q\"}", (size_t)-1, &r) == 0);
    CHECK_EQ(r.status, 404);
    resp_free(&r);
    fr_server_free(s);
}

// ---- the CLI: finerank serve, SIGTERM ----
static void test_cli_sigterm(const char *ixdir) {
    const char *build = getenv("FR_BUILD") ? getenv("FR_BUILD") : "build";
    char exe[256];
    snprintf(exe, sizeof exe, "%s/finerank", build);
    if (access(exe, X_OK) != 0) { TEST_SKIP("build/finerank not built"); return; }
    int pfd[2];
    CHECK(pipe(pfd) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pfd[1], 1);
        close(pfd[0]);
        execl(exe, exe, "serve", "--model", MODEL, "--index", ixdir, "--port", "0", (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    char line[512] = "";
    size_t n = 0;
    struct timeval tv = {30, 0};
    fd_set fs;
    while (n + 1 < sizeof line && !strchr(line, '\n')) {
        FD_ZERO(&fs);
        FD_SET(pfd[0], &fs);
        if (select(pfd[0] + 1, &fs, NULL, NULL, &tv) <= 0) break;
        ssize_t k = read(pfd[0], line + n, sizeof line - 1 - n);
        if (k <= 0) break;
        n += (size_t)k;
        line[n] = 0;
    }
    const char *p = strstr(line, "127.0.0.1:");
    int port = p ? atoi(p + 10) : 0;
    CHECK(port > 0);
    if (port > 0) {
        int saved = g_port;
        g_port = port;
        resp r;
        char *body = rerank_body(NULL);
        CHECK(http(port, "POST", "/v1/rerank", body, (size_t)-1, &r) == 0);
        CHECK_EQ(r.status, 200);
        resp_free(&r);
        // a request in flight when SIGTERM arrives still completes
        client_arg a = {.body = body};
        pthread_t t;
        pthread_create(&t, NULL, client, &a);
        usleep(20000);
        kill(pid, SIGTERM);
        pthread_join(t, NULL);
        CHECK(a.status == 200 || a.status == 0 || a.status == 503);
        free(a.results);
        free(body);
        g_port = saved;
    } else {
        kill(pid, SIGTERM);
    }
    int st = 0;
    for (int i = 0; i < 300; i++) {
        if (waitpid(pid, &st, WNOHANG) == pid) break;
        if (i == 299) { kill(pid, SIGKILL); waitpid(pid, &st, 0); }
        usleep(100000);
    }
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    close(pfd[0]);
}

// ---- dense and hybrid search: an index with embeddings, "retriever" per request ----
static void test_dense_hybrid(const char *plain_ixdir) {
    static const char *EMB = "tests/data/models/embed-bert-cls";
    char dir[] = "/tmp/fr_test_serve_dense_XXXXXX";
    if (!mkdtemp(dir)) { CHECK(0); return; }
    fr_index_opts io = fr_index_opts_default();
    io.embed_model = EMB;
    fr_index *w = NULL;
    fr_error err;
    CHECK_EQ(fr_index_build(dir, &io, &w, &err), 0);
    static const char *docs[] = {"cat food for young cats", "dogs bark at night", "a kitten is a young cat",
                                 "interest rates rise", "young people and pets", "cats chase mice"};
    char buf[256];
    for (int i = 0; i < 6; i++) {
        snprintf(buf, sizeof buf, "{\"id\":\"e%d\",\"text\":\"%s\"}", i, docs[i]);
        CHECK_EQ(fr_index_add(w, buf, strlen(buf), &err), 0);
    }
    CHECK_EQ(fr_index_commit(w, &err), 0);
    fr_index_close(w);
    fr_server_opts so = fr_server_opts_default();
    so.port = 0;
    so.index_dir = dir;
    fr_server *s = NULL;
    CHECK_EQ(fr_server_start(&so, &s, &err), 0);
    if (!s) return;
    int port = fr_server_port(s);
    // /info names the index's embedding model
    resp ri;
    CHECK(http(port, "GET", "/info", NULL, 0, &ri) == 0);
    json_t *ie = json_object_get(json_object_get(ri.json, "index"), "embedding");
    CHECK_STR(json_string_value(json_object_get(ie, "model")), EMB);
    CHECK_EQ(json_integer_value(json_object_get(ie, "dim")), 32);
    CHECK_STR(json_string_value(json_object_get(ie, "vec")), "f32");
    CHECK_EQ(json_integer_value(json_object_get(ie, "vectors")), 6);
    resp_free(&ri);
    // the expected lists, from the library on its own handle
    fr_index *ix = NULL;
    CHECK_EQ(fr_index_open(dir, NULL, &ix, &err), 0);
    static const char *bodies[] = {
        "{\"query\":\"young cat\",\"k\":4,\"retriever\":\"dense\"}",
        "{\"query\":\"young cat\",\"k\":4,\"retriever\":{\"mode\":\"hybrid\",\"fusion\":\"rrf\",\"rrf_k\":60,"
        "\"fusion_depth\":6},\"candidates\":6,\"rerank_top\":0}",
        // the query embedded in int8 against the f32 vectors
        "{\"query\":\"young cat\",\"k\":4,\"retriever\":{\"mode\":\"dense\",\"query_dtype\":\"int8\"}}"};
    for (int b = 0; b < 3; b++) {
        fr_retriever_opts ro = fr_retriever_opts_default();
        ro.kind = b == 1 ? FR_RETRIEVER_HYBRID : FR_RETRIEVER_DENSE;
        ro.depth = 6;
        if (b == 2) ro.query_dtype = FR_DTYPE_INT8;
        fr_search_opts sopt = fr_search_opts_default();
        sopt.k = b == 1 ? 6 : 4;
        fr_hit want[8];
        size_t nw = 0;
        CHECK_EQ(fr_retrieve(ix, "young cat", &ro, &sopt, want, &nw, &err), 0);
        resp r;
        CHECK(http(port, "POST", "/v1/search", bodies[b], (size_t)-1, &r) == 0);
        CHECK_EQ(r.status, 200);
        CHECK_STR(json_string_value(json_object_get(r.json, "retriever")), b == 1 ? "hybrid" : "dense");
        json_t *res = json_object_get(r.json, "results");
        CHECK_EQ(json_array_size(res), 4);
        for (size_t i = 0; i < json_array_size(res) && i < nw; i++) {
            fr_doc d;
            CHECK_EQ(fr_index_doc(ix, want[i].doc, &d, &err), 0);
            CHECK_STR(json_string_value(json_object_get(json_array_get(res, i), "id")), d.id);
        }
        resp_free(&r);
    }
    fr_index_close(ix);
    // a posted document is embedded with the index's model and found by dense search
    resp r;
    CHECK(http(port, "POST", "/v1/documents", "[{\"id\":\"new\",\"text\":\"a kitten is a young cat\"}]",
               (size_t)-1, &r) == 0);
    CHECK_EQ(r.status, 200);
    resp_free(&r);
    CHECK(http(port, "POST", "/v1/search", "{\"query\":\"young cat\",\"k\":10,\"retriever\":\"dense\"}",
               (size_t)-1, &r) == 0);
    CHECK_EQ(r.status, 200);
    CHECK_EQ(json_array_size(json_object_get(r.json, "results")), 7);
    resp_free(&r);
    // a bad retriever field: 422 naming it
    CHECK(http(port, "POST", "/v1/search", "{\"query\":\"q\",\"retriever\":\"sparse\"}", (size_t)-1, &r) == 0);
    CHECK_EQ(r.status, 422);
    CHECK(r.body && strstr(r.body, "retriever"));
    resp_free(&r);
    CHECK(http(port, "POST", "/v1/search", "{\"query\":\"q\",\"retriever\":{\"query_dtype\":\"int4\"}}",
               (size_t)-1, &r) == 0);
    CHECK_EQ(r.status, 422);
    CHECK(r.body && strstr(r.body, "retriever.query_dtype"));
    resp_free(&r);
    fr_server_free(s);
    // an index without embeddings: dense is a 422 that names the backfill
    so.index_dir = plain_ixdir;
    s = NULL;
    CHECK_EQ(fr_server_start(&so, &s, &err), 0);
    if (s) {
        CHECK(http(fr_server_port(s), "POST", "/v1/search", "{\"query\":\"diet\",\"retriever\":\"hybrid\"}",
                   (size_t)-1, &r) == 0);
        CHECK_EQ(r.status, 422);
        CHECK(r.body && strstr(r.body, "finerank embed"));
        resp_free(&r);
        fr_server_free(s);
    }
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    if (access(MODEL "/model.safetensors", R_OK) != 0 || access("data/sample/corpus.jsonl", R_OK) != 0) {
        TEST_SKIP("tests/data/models/bert-gelu or data/sample missing");
        return TEST_REPORT();
    }
    char ixdir[] = "/tmp/fr_test_serve_XXXXXX";
    CHECK(mkdtemp(ixdir) != NULL);
    CHECK(build_index(ixdir) == 0);
    direct_scores();
    fr_server_opts so = fr_server_opts_default();
    so.port = 0;
    so.model_dir = MODEL;
    so.index_dir = ixdir;
    so.max_body_bytes = 1u << 20;  // the chunked-body case below passes it with 2.5 MB
    so.scorer_threads = 2;         // direct_scores() reproduces a 2-thread pool's chunks
    fr_server *s = NULL;
    fr_error err;
    int rc = fr_server_start(&so, &s, &err);
    CHECK_EQ(rc, 0);
    if (rc < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return TEST_REPORT();
    }
    g_port = fr_server_port(s);
    CHECK(g_port > 0);
    resp r;
    CHECK(http(g_port, "GET", "/health", NULL, 0, &r) == 0);
    CHECK_EQ(r.status, 200);
    CHECK_STR(json_string_value(json_object_get(r.json, "status")), "ready");
    resp_free(&r);

    test_cohere_v1();
    test_cohere_v2_jina();
    test_tei();
    test_tei_left();
    test_max_chunks();
    test_max_chunks_empty_doc();
    test_extensions();
    test_parallel();
    test_parallel64();
    test_slow_client();
    test_bad_input();
    test_search_documents();
    fr_server_free(s);
    test_overload();
    test_retry_after();
    test_drain_queued();
    test_limits_no_model();
    test_fused();
    test_fused_isolation();
    test_dense_hybrid(ixdir);
    test_cli_sigterm(ixdir);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", ixdir);
    CHECK(system(cmd) == 0);
    return TEST_REPORT();
}
