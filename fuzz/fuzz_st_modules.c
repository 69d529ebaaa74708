/* fuzz_st_modules.c — libFuzzer target for the bi-encoder's modules.json reader
 * (fr__st_modules_parse, src/model/embed.c): arbitrary bytes give a clean error or a module
 * chain whose paths are NUL-terminated, stay inside the model directory (no "..", not
 * absolute) and whose flags are 0/1. Seeds: fuzz/corpus/st_modules/ (the test checkpoints'
 * modules.json and variants). */
#include <stdint.h>
#include <string.h>

#include "model/embed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fr__st_modules m;
    fr_error err;
    if (fr__st_modules_parse((const char *)data, size, &m, &err) == 0) {
        FR_ASSERT(memchr(m.transformer, 0, sizeof m.transformer) && memchr(m.pooling, 0, sizeof m.pooling));
        FR_ASSERT(!strstr(m.transformer, "..") && m.transformer[0] != '/');
        FR_ASSERT(!strstr(m.pooling, "..") && m.pooling[0] != '/');
        FR_ASSERT(m.normalize == 0 || m.normalize == 1);
    } else {
        FR_ASSERT(err.code < 0 && memchr(err.msg, 0, sizeof err.msg));
    }
    return 0;
}
