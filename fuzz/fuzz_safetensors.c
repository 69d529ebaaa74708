/* fuzz_safetensors.c — libFuzzer target for the safetensors header parser and the dtype
 * widening: any byte string must give 0 or an FR_E* error, never a crash or an out-of-bounds
 * read (tensor data pointers must stay inside the input). */
#include <string.h>

#include "model/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fr__st_tensor *t = NULL;
    size_t n = 0;
    fr_error err;
    if (fr__st_parse(data, size, "fuzz.safetensors", &t, &n, &err) == 0) {
        for (size_t i = 0; i < n; i++) {
            FR_ASSERT(t[i].data >= data && t[i].nbytes <= size - (size_t)(t[i].data - data));
            if (t[i].nelem <= 4096) {
                float f[4096];
                fr__st_to_f32(&t[i], f, &err);
            }
        }
    }
    fr__st_tensors_free(t, n);
    return 0;
}
