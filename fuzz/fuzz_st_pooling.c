/* fuzz_st_pooling.c — libFuzzer target for the bi-encoder's pooling config reader
 * (1_Pooling/config.json; fr__st_pooling_parse, src/model/embed.c): arbitrary bytes give a
 * clean error or at least one pooling mode, no more than the five known ones, with a
 * NUL-terminated name. Read for hidden sizes 32 and 384 (the seeds' word_embedding_dimension
 * must match). Seeds: fuzz/corpus/st_pooling/ (the test checkpoints' configs and variants). */
#include <stdint.h>
#include <string.h>

#include "model/embed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const int hidden[] = {32, 384};
    for (int i = 0; i < 2; i++) {
        fr__st_pooling p;
        fr_error err;
        if (fr__st_pooling_parse((const char *)data, size, hidden[i], "1_Pooling/config.json", &p, &err) == 0) {
            FR_ASSERT(p.n_modes >= 1 && p.n_modes <= 5 && p.pool > 0 && p.pool < 32);
            FR_ASSERT(memchr(p.name, 0, sizeof p.name) && p.name[0]);
        }
    }
    return 0;
}
