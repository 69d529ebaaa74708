/* fuzz_hub_json.c — the JSON `finerank pull` reads from the network (src/hub/manifest.c):
 * the model-info API answer, config.json and model.safetensors.index.json. The first input
 * byte picks the parser; every accepted file name must be a safe relative path. */
#include <stdint.h>
#include <string.h>

#include "hub/hub.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const char *json = (const char *)data + 1;
    size_t len = size - 1;
    fr_error err;
    char commit[41];
    char **files = NULL;
    size_t n = 0;
    switch (data[0] % 3) {
    case 0:
        if (fr__hub_parse_info(json, len, commit, &files, &n, &err) == 0) {
            FR_ASSERT(fr__hub_is_commit(commit));
            for (size_t i = 0; i < n; i++) FR_ASSERT(fr__hub_valid_relpath(files[i]));
        }
        break;
    case 1:
        fr__hub_check_config(json, len, &err);
        break;
    default:
        if (fr__hub_parse_shards(json, len, &files, &n, &err) == 0)
            for (size_t i = 0; i < n; i++) FR_ASSERT(fr__hub_valid_relpath(files[i]));
        break;
    }
    fr__hub_strv_free(files, n);
    return 0;
}
