/* mem.c — allocation of large arrays on transparent huge pages. Scans and random probes over
 * tens to hundreds of MB (vector rows, packed model weights, the analyzer's stem cache) run at
 * the memory bandwidth only when the TLB and the hardware prefetchers are not stopped at every
 * 4 KiB page: 2 MiB pages gave 23 -> 32 GB/s on one core of the benchmark machine
 * (bench/embed/bench_membw.c). Linux's "madvise" THP mode (Debian's default) needs the
 * advice before the pages are first touched, so it is given here, at allocation.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/base.h"

void *fr__alloc_huge(size_t bytes) {
    const size_t huge = (size_t)2 << 20;
    void *p = NULL;
    if (posix_memalign(&p, bytes >= huge ? huge : 64, bytes ? bytes : 1)) return NULL;
#ifdef MADV_HUGEPAGE
    if (bytes >= huge) madvise(p, (bytes + 4095) & ~(size_t)4095, MADV_HUGEPAGE);  // a hint: failure is harmless
#endif
    return p;
}

void *fr__alloc_huge_zero(size_t bytes) {
    void *p = fr__alloc_huge(bytes);
    if (p) memset(p, 0, bytes);
    return p;
}
