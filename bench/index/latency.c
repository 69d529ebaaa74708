/* bench/index/latency.c — single-thread BM25 top-k latency of an index, in thread CPU time
 * (CLOCK_THREAD_CPUTIME_ID, so that a loaded, shared machine does not inflate it; set WALL=1
 * for wall-clock time) — pruned (block-max MaxScore) and, with a 5th argument, exhaustive.
 * Queries: 2–6 words drawn from the texts of every 50th document of the corpus (seeded).
 *
 *   cc -O2 -Iinclude bench/index/latency.c build/libfinerank.a -ljansson -lutf8proc \
 *      -lstemmer -lz -lm -lpthread -o build/index_latency
 *   build/index_latency INDEX_DIR CORPUS.jsonl N_QUERIES K [exhaustive]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "finerank.h"

static double now_ms(void) {
    struct timespec t;
    clock_gettime(getenv("WALL") ? CLOCK_MONOTONIC : CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

static int cmpd(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s INDEX CORPUS N_QUERIES K [exhaustive]\n", argv[0]);
        return 2;
    }
    fr_index_opts o = fr_index_opts_default();
    o.verify_checksums = 0;
    fr_index *ix;
    fr_error err;
    if (fr_index_open(argv[1], &o, &ix, &err) < 0) { fprintf(stderr, "%s\n", err.msg); return 1; }
    int nq = atoi(argv[3]);
    size_t k = (size_t)atol(argv[4]);
    FILE *f = fopen(argv[2], "r");
    if (!f || nq <= 0 || k == 0) { fprintf(stderr, "bad arguments\n"); return 2; }
    char *line = NULL, **qs = calloc((size_t)nq, sizeof *qs);
    size_t cap = 0;
    int got = 0;
    srand(7);
    while (got < nq && getline(&line, &cap, f) > 0) {
        if (rand() % 50) continue;
        char *t = strstr(line, "\"text\":\"");
        if (!t) continue;
        t += 8;
        char *e = strchr(t, '"');
        if (e) *e = 0;
        char *w[4000];
        int nw = 0;
        for (char *p = strtok(t, " "); p && nw < 4000; p = strtok(NULL, " ")) w[nw++] = p;
        if (!nw) continue;
        int m = 2 + rand() % 5;
        char q[1024] = "";
        for (int i = 0; i < m; i++) {
            strncat(q, w[rand() % nw], 100);
            strcat(q, " ");
        }
        qs[got++] = strdup(q);
    }
    fr_search_opts so = fr_search_opts_default();
    so.k = k;
    so.exhaustive = argc > 5;
    fr_hit *h = malloc(k * sizeof *h);
    double *lat = malloc((size_t)got * sizeof *lat), total = 0;
    size_t n;
    for (int i = 0; i < got; i++) {  // warm-up pass
        if (fr_index_search(ix, qs[i], -1, &so, h, &n, &err) < 0) { fprintf(stderr, "%s\n", err.msg); return 1; }
    }
    for (int i = 0; i < got; i++) {
        double a = now_ms();
        fr_index_search(ix, qs[i], -1, &so, h, &n, &err);
        lat[i] = now_ms() - a;
        total += lat[i];
    }
    qsort(lat, (size_t)got, sizeof *lat, cmpd);
    printf("k=%zu %s %s queries=%d p50=%.2f ms p99=%.2f ms mean=%.2f ms\n", k,
           so.exhaustive ? "exhaustive" : "pruned", getenv("WALL") ? "wall" : "cpu", got,
           lat[got / 2], lat[got * 99 / 100], total / got);
    fr_index_close(ix);
    return 0;
}
