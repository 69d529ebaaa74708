/* bench.h — the few helpers every benchmark program shares (header-only, so a benchmark still
 * builds with one `cc` line against any revision's library): a monotonic clock and a
 * comparator for sorting latencies before reading percentiles off them.
 */
#ifndef FR_BENCH_H
#define FR_BENCH_H

#include <time.h>

// Seconds on the monotonic clock.
static inline double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

// qsort comparator for doubles, ascending.
static inline int cmpd(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

#endif
