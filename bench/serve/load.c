/* load.c — a small closed-loop HTTP load client for bench/serve/run.sh, and the in-process
 * baseline it is compared with.
 *
 *   load http PORT PATH BODY_FILE CLIENTS SECONDS
 *       CLIENTS threads each send POST PATH (one connection per request) back to back for
 *       SECONDS; prints requests/s and latency p50/p99 over every completed request.
 *   load direct MODEL_DIR BODY_FILE THREADS REPS
 *       the same rerank work without HTTP: parse the body's query/documents, tokenise,
 *       fr_model_score_ids with THREADS threads, REPS times (what `finerank rerank` does per
 *       request); prints requests/s and p50/p99.
 * Output is one line "mode=... clients=... rps=... p50_ms=... p99_ms=... errors=...".
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "finerank.h"

char *openblas_get_corename(void);

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(1); }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (fread(b, 1, (size_t)n, f) != (size_t)n) { perror(path); exit(1); }
    b[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return b;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *mode, int clients, double *lat, size_t n, double secs, int errors) {
    qsort(lat, n, sizeof *lat, cmp_d);
    // nearest-rank percentiles: the smallest latency with >= p% of samples at or below it
    double p50 = n ? lat[(size_t)ceil(0.50 * (double)n) - 1] : NAN;
    double p99 = n ? lat[(size_t)ceil(0.99 * (double)n) - 1] : NAN;
    printf("mode=%s clients=%d requests=%zu rps=%.2f p50_ms=%.1f p99_ms=%.1f errors=%d\n", mode,
           clients, n, (double)n / secs, p50, p99, errors);
}

// ---- http ----
static int g_port;
static const char *g_path;
static char *g_req;
static size_t g_req_len;
static double g_end;

typedef struct worker {
    double *lat;
    size_t n, cap;
    int errors;
} worker;

static int one_request(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = {600, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g_port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) { close(fd); return -1; }
    size_t off = 0;
    while (off < g_req_len) {
        ssize_t k = send(fd, g_req + off, g_req_len - off, MSG_NOSIGNAL);
        if (k <= 0) { close(fd); return -1; }
        off += (size_t)k;
    }
    char buf[65536];
    int status = 0;
    size_t got = 0;
    for (;;) {
        ssize_t k = recv(fd, buf + (got < 64 ? got : 0), got < 64 ? sizeof buf - got : sizeof buf, 0);
        if (k <= 0) break;
        if (got < 64 && got + (size_t)k >= 12) sscanf(buf, "HTTP/1.%*d %d", &status);
        got += (size_t)k;
    }
    close(fd);
    return status;
}

static void *http_worker(void *p) {
    worker *w = p;
    while (now_ms() < g_end) {
        double t0 = now_ms();
        int st = one_request();
        double dt = now_ms() - t0;
        if (st != 200) { w->errors++; continue; }
        if (w->n == w->cap) w->lat = realloc(w->lat, (w->cap = w->cap ? 2 * w->cap : 256) * sizeof *w->lat);
        w->lat[w->n++] = dt;
    }
    return NULL;
}

static int run_http(int argc, char **argv) {
    if (argc < 7) return 2;
    g_port = atoi(argv[2]);
    g_path = argv[3];
    size_t blen;
    char *body = slurp(argv[4], &blen);
    int clients = atoi(argv[5]);
    double secs = atof(argv[6]);
    g_req = malloc(blen + 512);
    g_req_len = (size_t)sprintf(g_req, "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                                "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                                g_path, blen);
    memcpy(g_req + g_req_len, body, blen);
    g_req_len += blen;
    worker *w = calloc((size_t)clients, sizeof *w);
    pthread_t *t = calloc((size_t)clients, sizeof *t);
    double t0 = now_ms();
    g_end = t0 + secs * 1e3;
    for (int i = 0; i < clients; i++) pthread_create(&t[i], NULL, http_worker, &w[i]);
    size_t n = 0;
    int errors = 0;
    for (int i = 0; i < clients; i++) pthread_join(t[i], NULL), n += w[i].n, errors += w[i].errors;
    double el = (now_ms() - t0) / 1e3;
    double *lat = malloc((n + 1) * sizeof *lat);
    size_t k = 0;
    for (int i = 0; i < clients; i++) memcpy(lat + k, w[i].lat, w[i].n * sizeof *lat), k += w[i].n;
    report(g_path, clients, lat, n, el, errors);
    return 0;
}

// ---- direct ----
static int run_direct(int argc, char **argv) {
    if (argc < 6) return 2;
    fr_error err;
    fr_model *m = NULL;
    fr_model_opts mo = fr_model_opts_default();
    if (fr_model_open(argv[2], &mo, &m, &err) < 0) { fprintf(stderr, "%s\n", err.msg); return 1; }
    const fr_tokenizer *tok = fr_model_tokenizer(m);  // the model's own (as the server)
    if (!tok) { fprintf(stderr, "%s: no tokenizer.json\n", argv[2]); return 1; }
    fr_model_info info;
    fr_model_get_info(m, &info);
    json_t *b = json_load_file(argv[3], 0, NULL);
    const char *q = json_string_value(json_object_get(b, "query"));
    json_t *docs = json_object_get(b, "documents");
    size_t n = json_array_size(docs);
    int threads = atoi(argv[4]), reps = atoi(argv[5]);
    double *lat = malloc((size_t)reps * sizeof *lat);
    fr_encoding *enc = calloc(n, sizeof *enc);
    fr_seq *seqs = calloc(n, sizeof *seqs);
    float *lg = calloc(n * (size_t)info.num_labels, sizeof *lg);
    size_t tokens = 0;
    double t0 = now_ms();
    for (int r = 0; r < reps; r++) {
        double a = now_ms();
        fr_encode_opts o = fr_encode_opts_default();
        o.max_length = info.max_length;
        tokens = 0;
        for (size_t i = 0; i < n; i++) {
            fr_encoding_free(&enc[i]);
            fr_tokenizer_encode(tok, q, -1, json_string_value(json_array_get(docs, i)), -1, &o, &enc[i], &err);
            seqs[i] = (fr_seq){enc[i].ids, enc[i].type_ids, enc[i].n};
            tokens += enc[i].n;
        }
        fr_score_opts so = fr_score_opts_default();
        so.threads = threads;
        if (fr_model_score_ids(m, seqs, n, &so, lg, &err) < 0) { fprintf(stderr, "%s\n", err.msg); return 1; }
        lat[r] = now_ms() - a;
    }
    double el = (now_ms() - t0) / 1e3;
    fprintf(stderr, "direct: %zu documents, %zu tokens per request, OpenBLAS core %s\n", n, tokens,
            openblas_get_corename());
    report("direct", threads, lat, (size_t)reps, el, 0);
    return 0;
}

int main(int argc, char **argv) {
    int rc = 2;
    if (argc > 1 && !strcmp(argv[1], "http")) rc = run_http(argc, argv);
    else if (argc > 1 && !strcmp(argv[1], "direct")) rc = run_direct(argc, argv);
    if (rc == 2)
        fprintf(stderr, "usage: load http PORT PATH BODY_FILE CLIENTS SECONDS\n"
                        "       load direct MODEL_DIR BODY_FILE THREADS REPS\n");
    return rc;
}
