/* bench_membw.c [MB=384] [REPS=20] [FILE] — the read bandwidth this machine gives a streaming
 * scan, the ceiling for brute-force vector search (1M x 384 int8 rows = 384 MB per query).
 *  1. Sums an anonymous buffer of MB megabytes with AVX2 loads on 1 and 2 threads (contiguous
 *     halves, as fr_vecs_search splits rows), with 4 KiB pages and with transparent huge pages
 *     (madvise(MADV_HUGEPAGE)): GB/s (best and median of REPS passes), ms per pass.
 *  2. With FILE (written here, MB megabytes, then removed): the same sum over an mmap of the file,
 *     as a search over mapped index rows would read it, 1 thread: the first pass after the pages
 *     were dropped from the page cache (posix_fadvise DONTNEED on this file only: disk reads),
 *     the first pass of a fresh mapping over cached pages (minor faults), a later pass, and a
 *     MAP_POPULATE mapping (faults taken in mmap, timed separately).
 * Part of bench/embed/run.sh; no finerank code involved.
 */
#include <fcntl.h>
#include <unistd.h>
#include <immintrin.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include "../bench.h"

typedef struct { const uint8_t *p; size_t len; uint64_t sum; } job;

static void *sum(void *arg) {  // 4 independent accumulators, 128 bytes per iteration
    job *j = arg;
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i < j->len; i += 128) {
        a0 = _mm256_add_epi64(a0, _mm256_load_si256((const __m256i *)(const void *)(j->p + i)));
        a1 = _mm256_add_epi64(a1, _mm256_load_si256((const __m256i *)(const void *)(j->p + i + 32)));
        a2 = _mm256_add_epi64(a2, _mm256_load_si256((const __m256i *)(const void *)(j->p + i + 64)));
        a3 = _mm256_add_epi64(a3, _mm256_load_si256((const __m256i *)(const void *)(j->p + i + 96)));
    }
    __m256i a = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
    uint64_t o[4];
    _mm256_storeu_si256((__m256i *)(void *)o, a);
    j->sum = o[0] + o[1] + o[2] + o[3];
    return NULL;
}


int main(int argc, char **argv) {
    size_t mb = argc > 1 ? strtoull(argv[1], 0, 10) : 384;
    int reps = argc > 2 ? atoi(argv[2]) : 20;
    size_t len = mb << 20;
    printf("| pages | threads | best GB/s | median GB/s | ms per %zu MB pass |\n|---|---|---|---|---|\n", mb);
    for (int huge = 0; huge < 2; huge++) {
        uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return 1;
        madvise(p, len, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
        for (size_t i = 0; i < len; i++) p[i] = (uint8_t)(i * 2654435761u >> 13);  // fault in
        double *t = malloc((size_t)reps * sizeof *t);
        for (int T = 1; T <= 2; T++) {
            for (int r = 0; r < reps; r++) {
                job j[2];
                pthread_t tid;
                double t0 = now();
                for (int k = 0; k < T; k++) j[k] = (job){p + len / T * k, len / T, 0};
                if (T == 2) pthread_create(&tid, NULL, sum, &j[1]);
                sum(&j[0]);
                if (T == 2) pthread_join(tid, NULL);
                t[r] = now() - t0;
                if (j[0].sum == 42) puts("");  // keep the sums live
            }
            qsort(t, (size_t)reps, sizeof *t, cmpd);
            printf("| %s | %d | %.1f | %.1f | %.1f |\n", huge ? "THP (madvise)" : "4 KiB", T, len / t[0] / 1e9,
                   len / t[reps / 2] / 1e9, t[reps / 2] * 1e3);
        }
        free(t);
        munmap(p, len);
    }
    if (argc > 3) {  // a mapped file: page-cache-cold, first touch, warm, MAP_POPULATE
        const char *path = argv[3];
        int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
        if (fd < 0) return 1;
        uint8_t *buf = malloc(1 << 20);
        for (size_t i = 0; i < (1u << 20); i++) buf[i] = (uint8_t)(i * 2654435761u >> 13);
        for (size_t i = 0; i < mb; i++)
            if (write(fd, buf, 1 << 20) != 1 << 20) return 1;
        fsync(fd);
        free(buf);
        printf("\n| mapped file (%zu MB, 1 thread) | ms | GB/s |\n|---|---|---|\n", mb);
        posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        for (int mode = 0; mode < 3; mode++) {
            double t0 = now();
            uint8_t *p = mmap(NULL, len, PROT_READ, MAP_SHARED | (mode == 2 ? MAP_POPULATE : 0), fd, 0);
            if (p == MAP_FAILED) return 1;
            double t1 = now();
            static const char *first[] = {"first pass, page cache cold (disk)", "first pass, cached pages (minor faults)",
                                          "first pass after MAP_POPULATE"};
            for (int pass = 0; pass < (mode == 1 ? 2 : 1); pass++) {
                job j = {p, len, 0};
                double a = now();
                sum(&j);
                double b = now();
                if (j.sum == 42) puts("");
                printf("| %s | %.1f | %.1f |\n", pass ? "later pass" : first[mode], (b - a) * 1e3, len / (b - a) / 1e9);
            }
            if (mode == 2) printf("| (mmap with MAP_POPULATE itself) | %.1f | |\n", (t1 - t0) * 1e3);
            munmap(p, len);
        }
        close(fd);
        unlink(path);
    }
    return 0;
}
