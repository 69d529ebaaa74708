/* test_gz.h — reading gzipped golden files (tests/data/ goldens are .jsonl.gz) line by line,
 * for tests that include zlib. Kept out of test.h so the other tests need no zlib header.
 */
#ifndef FR_TEST_GZ_H
#define FR_TEST_GZ_H

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

// Reads the next line of f, of any length, into *line (malloc'ed by the caller with *cap
// bytes; realloc'ed and *cap doubled as needed, the caller frees it). Returns the line's
// length including its '\n', or 0 at the end of the file.
static inline size_t fr_test_gz_line(gzFile f, char **line, size_t *cap) {
    size_t len = 0;
    (*line)[0] = 0;
    while (gzgets(f, *line + len, (int)(*cap - len))) {
        len += strlen(*line + len);
        if (len && (*line)[len - 1] == '\n') break;
        *line = realloc(*line, *cap *= 2);
    }
    return len;
}

#endif
