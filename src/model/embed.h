/* embed.h — library-internal parts of embed.c: the sentence-transformers module readers
 * (modules.json, <pooling>/config.json) on bytes, so that fuzz/fuzz_st_modules.c can drive
 * them without a model directory. Formats are documented in embed.c.
 */
#ifndef FR_MODEL_EMBED_H
#define FR_MODEL_EMBED_H

#include "base/base.h"

// The module chain: Transformer (a subfolder or the model directory itself), Pooling, then
// an optional Normalize; anything else is FR_EUNSUPPORTED, paths leaving the directory
// FR_EFORMAT.
typedef struct fr__st_modules {
    char transformer[256];      // the backbone's subfolder ("": the model directory)
    char pooling[256];          // the subfolder holding the pooling config.json
    int normalize;              // 1: a Normalize module follows
} fr__st_modules;
int fr__st_modules_parse(const char *json, size_t len, fr__st_modules *out, fr_error *err);

// Pooling config for a backbone of `hidden` units; name prefixes errors. pool holds embed.c's
// POOL_* bits (several concatenate), n_modes their count (>= 1), name "cls", "mean+max", ...
typedef struct fr__st_pooling {
    int pool, n_modes;
    char name[64];
} fr__st_pooling;
int fr__st_pooling_parse(const char *json, size_t len, int hidden, const char *name,
                         fr__st_pooling *out, fr_error *err);

#endif
