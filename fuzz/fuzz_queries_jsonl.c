/* fuzz_queries_jsonl.c — fr_queries_parse (BEIR queries.jsonl) on arbitrary bytes. */
#include <stdint.h>

#include "finerank.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fr_queries qs;
    fr_error err;
    if (fr_queries_parse((const char *)data, size, "fuzz", &qs, &err) == 0) fr_queries_free(&qs);
    return 0;
}
