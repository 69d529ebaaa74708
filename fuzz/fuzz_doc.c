/* fuzz_doc.c — libFuzzer target for the JSON-lines document parser (src/index/index.c): the
 * fast path for flat documents must never read out of bounds and, whenever it accepts an
 * input, must produce exactly the fields jansson's full parser produces.
 * Seeds: fuzz/corpus/doc/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int fr__doc_parse_dump(const char *json, size_t len, int fast, char *out, size_t cap);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char a[1 << 16], b[1 << 16];
    a[0] = b[0] = 0;
    int fast = fr__doc_parse_dump((const char *)data, size, 1, a, sizeof a);
    int slow = fr__doc_parse_dump((const char *)data, size, 0, b, sizeof b);
    if (fast == 1 && (slow != 0 || strcmp(a, b) != 0)) abort();
    return 0;
}
