/* manifest.c — the three JSON documents that decide what `finerank pull` downloads:
 *
 *   GET /api/models/REPO/revision/REV   {"sha": "<40 hex>", "siblings": [{"rfilename": F}, ...]}
 *   config.json                         {"architectures": ["XLMRobertaForSequenceClassification"],
 *                                        "model_type": "xlm-roberta", ...}
 *   model.safetensors.index.json        {"metadata": {...}, "weight_map": {"tensor": "shard", ...}}
 *
 * All three come from the network and are untrusted: parsed with jansson, every field
 * type-checked, every file name checked by fr__hub_valid_relpath() before it becomes a path.
 * Documents are small (the largest, a shard index, is ~100 KB); nothing here is hot.
 */
#include <jansson.h>
#include <string.h>

#include "hub/hub.h"

// The architectures the engine implements (cross-encoders, and the bare encoders used for
// embeddings), and the model_type values they go with for configs without `architectures`.
static const char *const supported_arch[] = {
    "BertForSequenceClassification", "RobertaForSequenceClassification",
    "XLMRobertaForSequenceClassification", "BertModel", "XLMRobertaModel",
};
static const char *const supported_type[] = {"bert", "roberta", "xlm-roberta"};

void fr__hub_strv_free(char **v, size_t n) {
    if (!v) return;
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

static json_t *load(const char *json, size_t len, const char *what, fr_error *err) {
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
    if (!root) {
        fr__err(err, FR_EFORMAT, "%s: invalid JSON at line %d column %d: %s", what, je.line,
                je.column, je.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        fr__err(err, FR_EFORMAT, "%s: expected a JSON object", what);
        return NULL;
    }
    return root;
}

// Appends s to the growing vector; with `dedupe`, only when not already present (shard
// indexes name a handful of files many times; sibling lists are already distinct).
static int strv_add(char ***v, size_t *n, size_t *cap, const char *s, int dedupe) {
    for (size_t i = 0; dedupe && i < *n; i++)
        if (!strcmp((*v)[i], s)) return 0;
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        char **nv = realloc(*v, nc * sizeof *nv);
        if (!nv) return FR_ENOMEM;
        *v = nv;
        *cap = nc;
    }
    size_t l = strlen(s) + 1;
    if (!((*v)[*n] = malloc(l))) return FR_ENOMEM;
    memcpy((*v)[*n], s, l);
    ++*n;
    return 0;
}

// ---- model info ----

int fr__hub_parse_info(const char *json, size_t len, char commit[41], char ***files, size_t *n,
                       fr_error *err) {
    *files = NULL;
    *n = 0;
    commit[0] = 0;
    json_t *root = load(json, len, "model info", err);
    if (!root) return err ? err->code : FR_EFORMAT;
    int rc = 0;
    size_t cap = 0;
    const char *sha = json_string_value(json_object_get(root, "sha"));
    json_t *sib = json_object_get(root, "siblings");
    if (!sha || !fr__hub_is_commit(sha)) {
        rc = fr__err(err, FR_EFORMAT, "model info: 'sha' is not a 40-digit commit hash");
        goto fail;
    }
    if (!json_is_array(sib)) {
        rc = fr__err(err, FR_EFORMAT, "model info: 'siblings' is not a list");
        goto fail;
    }
    memcpy(commit, sha, 41);
    size_t i;
    json_t *it;
    json_array_foreach(sib, i, it) {
        const char *f = json_string_value(json_object_get(it, "rfilename"));
        if (!f || strlen(f) != json_string_length(json_object_get(it, "rfilename")) ||
            !fr__hub_valid_relpath(f))
            continue;  // no name, an embedded NUL, or a name that would escape the snapshot
        if (strv_add(files, n, &cap, f, 0) < 0) {
            rc = fr__err(err, FR_ENOMEM, "out of memory");
            goto fail;
        }
    }
    json_decref(root);
    return 0;
fail:
    json_decref(root);
    fr__hub_strv_free(*files, *n);
    *files = NULL;
    *n = 0;
    return rc;
}

// ---- config.json ----

static int in(const char *s, const char *const *set, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(s, set[i])) return 1;
    return 0;
}

int fr__hub_check_config(const char *json, size_t len, fr_error *err) {
    json_t *root = load(json, len, "config.json", err);
    if (!root) return err ? err->code : FR_EFORMAT;
    int rc = 0;
    json_t *archs = json_object_get(root, "architectures");
    const char *type = json_string_value(json_object_get(root, "model_type"));
    size_t n_arch = sizeof supported_arch / sizeof supported_arch[0];
    if (json_is_array(archs) && json_array_size(archs) > 0) {
        // transformers instantiates architectures[0]; every listed one must be runnable
        // for the file to mean what the engine will compute.
        size_t i;
        json_t *a;
        json_array_foreach(archs, i, a) {
            const char *s = json_string_value(a);
            if (!s || !in(s, supported_arch, n_arch)) {
                rc = fr__err(err, FR_EUNSUPPORTED,
                             "config.json: architecture '%.100s' is not supported by finerank "
                             "(supported: BertForSequenceClassification, "
                             "RobertaForSequenceClassification, "
                             "XLMRobertaForSequenceClassification, BertModel, XLMRobertaModel)",
                             s ? s : "(not a string)");
                break;
            }
        }
    } else if (!type || !in(type, supported_type, 3)) {
        rc = fr__err(err, FR_EUNSUPPORTED,
                     "config.json: no 'architectures', and model_type '%.100s' is not one "
                     "finerank supports (bert, roberta, xlm-roberta)",
                     type ? type : "(missing)");
    }
    json_decref(root);
    return rc;
}

// ---- shard index ----

int fr__hub_parse_shards(const char *json, size_t len, char ***files, size_t *n, fr_error *err) {
    *files = NULL;
    *n = 0;
    json_t *root = load(json, len, "model.safetensors.index.json", err);
    if (!root) return err ? err->code : FR_EFORMAT;
    int rc = 0;
    size_t cap = 0;
    json_t *map = json_object_get(root, "weight_map");
    if (!json_is_object(map) || json_object_size(map) == 0) {
        rc = fr__err(err, FR_EFORMAT, "model.safetensors.index.json: no 'weight_map' object");
        goto fail;
    }
    const char *key;
    json_t *v;
    json_object_foreach(map, key, v) {
        const char *f = json_string_value(v);
        if (!f || strlen(f) != json_string_length(v) || !fr__hub_valid_relpath(f)) {
            rc = fr__err(err, FR_EFORMAT,
                         "model.safetensors.index.json: weight_map['%.100s'] is not a safe "
                         "file name", key);
            goto fail;
        }
        if (strv_add(files, n, &cap, f, 1) < 0) {
            rc = fr__err(err, FR_ENOMEM, "out of memory");
            goto fail;
        }
    }
    json_decref(root);
    return 0;
fail:
    json_decref(root);
    fr__hub_strv_free(*files, *n);
    *files = NULL;
    *n = 0;
    return rc;
}
