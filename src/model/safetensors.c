/* safetensors.c — strict, mmapped reader of safetensors checkpoints (format in safetensors.h).
 *
 * Owns: parsing and validating one file's header (jansson), the sharded index, dtype
 * widening to float32. The workload is a one-time load of a few hundred tensors; lookups are
 * a binary search over names sorted once. Nothing here trusts the file: every length and
 * offset is checked with overflow-safe arithmetic before any tensor byte is touched.
 */
#include "model/safetensors.h"

#include <jansson.h>
#include <string.h>
#include <unistd.h>

// Largest header accepted: the reference implementation's limit (100 MB).
#define ST_MAX_HEADER (100u * 1000u * 1000u)

static const struct { const char *name; size_t size; } DTYPES[FR__DT_COUNT] = {
    [FR__DT_F32] = {"F32", 4},   [FR__DT_F16] = {"F16", 2},   [FR__DT_BF16] = {"BF16", 2},
    [FR__DT_F64] = {"F64", 8},   [FR__DT_I64] = {"I64", 8},   [FR__DT_I32] = {"I32", 4},
    [FR__DT_I16] = {"I16", 2},   [FR__DT_I8] = {"I8", 1},     [FR__DT_U8] = {"U8", 1},
    [FR__DT_U16] = {"U16", 2},   [FR__DT_U32] = {"U32", 4},   [FR__DT_U64] = {"U64", 8},
    [FR__DT_BOOL] = {"BOOL", 1}, [FR__DT_F8_E4M3] = {"F8_E4M3", 1},
    [FR__DT_F8_E5M2] = {"F8_E5M2", 1},
};

const char *fr__st_dtype_name(fr__st_dtype dt) {
    return (unsigned)dt < FR__DT_COUNT ? DTYPES[dt].name : "?";
}
size_t fr__st_dtype_size(fr__st_dtype dt) {
    return (unsigned)dt < FR__DT_COUNT ? DTYPES[dt].size : 0;
}

// ---- parsing one file ----
static int cmp_offset(const void *a, const void *b) {
    const fr__st_tensor *x = a, *y = b;
    // data is still the begin offset cast to a pointer at this point (see parse_entry)
    uintptr_t u = (uintptr_t)x->data, v = (uintptr_t)y->data;
    if (u != v) return u < v ? -1 : 1;
    return x->nbytes < y->nbytes ? -1 : x->nbytes > y->nbytes;
}
static int cmp_name(const void *a, const void *b) {
    return strcmp(((const fr__st_tensor *)a)->name, ((const fr__st_tensor *)b)->name);
}

void fr__st_tensors_free(fr__st_tensor *t, size_t n) {
    if (!t) return;
    for (size_t i = 0; i < n; i++) free(t[i].name);
    free(t);
}

// json integer >= 0 that fits size_t
static int json_size(const json_t *v, size_t *out) {
    if (!json_is_integer(v)) return -1;
    json_int_t x = json_integer_value(v);
    if (x < 0) return -1;
    *out = (size_t)x;
    return 0;
}

// Fills t from one header entry; t->data temporarily holds the begin offset.
static int parse_entry(const char *file, const char *name, json_t *v, fr__st_tensor *t,
                       fr_error *err) {
    if (!json_is_object(v))
        return fr__err(err, FR_EFORMAT, "%s: tensor '%s': header entry is not an object", file, name);
    json_t *dt = json_object_get(v, "dtype"), *shape = json_object_get(v, "shape"),
           *offs = json_object_get(v, "data_offsets");
    if (!json_is_string(dt))
        return fr__err(err, FR_EFORMAT, "%s: tensor '%s': missing or non-string dtype", file, name);
    int d = -1;
    for (int i = 0; i < FR__DT_COUNT; i++)
        if (!strcmp(json_string_value(dt), DTYPES[i].name)) d = i;
    if (d < 0)
        return fr__err(err, FR_EUNSUPPORTED, "%s: tensor '%s': unsupported dtype '%.32s'", file,
                       name, json_string_value(dt));
    t->dtype = (fr__st_dtype)d;
    if (!json_is_array(shape))
        return fr__err(err, FR_EFORMAT, "%s: tensor '%s': missing or non-array shape", file, name);
    if (json_array_size(shape) > FR__ST_MAX_DIMS)
        return fr__err(err, FR_EUNSUPPORTED, "%s: tensor '%s': %zu dimensions (at most %d)", file,
                       name, json_array_size(shape), FR__ST_MAX_DIMS);
    t->ndim = (int)json_array_size(shape);
    size_t nelem = 1;
    for (int i = 0; i < t->ndim; i++) {
        if (json_size(json_array_get(shape, (size_t)i), &t->shape[i]) < 0)
            return fr__err(err, FR_EFORMAT, "%s: tensor '%s': shape[%d] is not a non-negative integer",
                           file, name, i);
        if (fr__mul_overflow(nelem, t->shape[i], &nelem))
            return fr__err(err, FR_EFORMAT, "%s: tensor '%s': element count overflows", file, name);
    }
    t->nelem = nelem;
    size_t nbytes;
    if (fr__mul_overflow(nelem, DTYPES[d].size, &nbytes))
        return fr__err(err, FR_EFORMAT, "%s: tensor '%s': byte size overflows", file, name);
    size_t begin, end;
    if (!json_is_array(offs) || json_array_size(offs) != 2 ||
        json_size(json_array_get(offs, 0), &begin) < 0 || json_size(json_array_get(offs, 1), &end) < 0)
        return fr__err(err, FR_EFORMAT, "%s: tensor '%s': data_offsets must be [begin, end] "
                       "non-negative integers", file, name);
    if (end < begin)
        return fr__err(err, FR_EFORMAT, "%s: tensor '%s': data_offsets end %zu < begin %zu", file,
                       name, end, begin);
    if (end - begin != nbytes)
        return fr__err(err, FR_EFORMAT, "%s: tensor '%s': shape needs %zu bytes (%zu x %s) but "
                       "data_offsets span %zu", file, name, nbytes, nelem, DTYPES[d].name, end - begin);
    t->nbytes = nbytes;
    t->data = (const uint8_t *)(uintptr_t)begin;
    return 0;
}

int fr__st_parse(const uint8_t *buf, size_t len, const char *file, fr__st_tensor **tensors,
                 size_t *n_out, fr_error *err) {
    *tensors = NULL;
    *n_out = 0;
    if (len < 8)
        return fr__err(err, FR_EFORMAT, "%s: file is %zu bytes, shorter than the 8-byte header "
                       "length", file, len);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = (hl << 8) | buf[i];
    if (hl > len - 8)
        return fr__err(err, FR_EFORMAT, "%s: header length %llu exceeds the %zu bytes after it",
                       file, (unsigned long long)hl, len - 8);
    if (hl > ST_MAX_HEADER)
        return fr__err(err, FR_EFORMAT, "%s: header length %llu exceeds the %u-byte limit", file,
                       (unsigned long long)hl, ST_MAX_HEADER);
    if (hl < 2 || buf[8] != '{')
        return fr__err(err, FR_EFORMAT, "%s: header does not start with a JSON object", file);
    json_error_t je;
    json_t *root = json_loadb((const char *)buf + 8, (size_t)hl, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return fr__err(err, FR_EFORMAT, "%s: header JSON: %s at byte %d", file, je.text,
                       je.position + 8);
    int rc = 0;
    fr__st_tensor *t = NULL;
    size_t n = 0;
    if (!json_is_object(root)) {
        rc = fr__err(err, FR_EFORMAT, "%s: header is not a JSON object", file);
        goto fail;
    }
    size_t cap = json_object_size(root);
    t = calloc(cap ? cap : 1, sizeof *t);
    if (!t) { rc = fr__err(err, FR_ENOMEM, "%s: out of memory", file); goto fail; }
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        if (!strcmp(key, "__metadata__")) {
            if (!json_is_object(v)) {
                rc = fr__err(err, FR_EFORMAT, "%s: __metadata__ is not an object", file);
                goto fail;
            }
            continue;
        }
        if (!*key) { rc = fr__err(err, FR_EFORMAT, "%s: tensor with an empty name", file); goto fail; }
        if ((rc = parse_entry(file, key, v, &t[n], err)) < 0) goto fail;
        if (!(t[n].name = strdup(key))) { rc = fr__err(err, FR_ENOMEM, "%s: out of memory", file); goto fail; }
        t[n].file = file;
        n++;
    }
    // Contiguity: sorted by offset, each tensor begins where the previous ended, the first at
    // 0 and the last at the end of the data section (as safetensors' own validate() demands).
    size_t data_len = len - 8 - (size_t)hl;
    qsort(t, n, sizeof *t, cmp_offset);
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        size_t b = (size_t)(uintptr_t)t[i].data;
        if (b != at) {
            if (b < at)
                rc = fr__err(err, FR_EFORMAT, "%s: tensor '%s' (bytes %zu..%zu) overlaps '%s'", file,
                             t[i].name, b, b + t[i].nbytes, i ? t[i - 1].name : "?");
            else
                rc = fr__err(err, FR_EFORMAT, "%s: tensor '%s' begins at byte %zu of the data section, "
                             "leaving a gap after byte %zu", file, t[i].name, b, at);
            goto fail;
        }
        if (t[i].nbytes > data_len - at) {
            rc = fr__err(err, FR_EFORMAT, "%s: tensor '%s' ends at data byte %zu but the data section "
                         "has %zu", file, t[i].name, b + t[i].nbytes, data_len);
            goto fail;
        }
        at = b + t[i].nbytes;
        t[i].data = buf + 8 + hl + b;
    }
    if (at != data_len) {
        rc = fr__err(err, FR_EFORMAT, "%s: tensors cover %zu bytes but the data section has %zu",
                     file, at, data_len);
        goto fail;
    }
    qsort(t, n, sizeof *t, cmp_name);
    json_decref(root);
    *tensors = t;
    *n_out = n;
    return 0;
fail:
    json_decref(root);
    fr__st_tensors_free(t, n);
    return rc;
}

// ---- files and shards ----
static int add_file(fr__st *st, const char *dir, const char *base, fr__st_tensor **t, size_t *n,
                    fr_error *err) {
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, base) >= sizeof path)
        return fr__err(err, FR_EINVAL, "%s: path too long", dir);
    fr__mmap *maps = realloc(st->maps, (st->n_files + 1) * sizeof *maps);
    if (!maps) return fr__err(err, FR_ENOMEM, "out of memory");
    st->maps = maps;
    char **files = realloc(st->files, (st->n_files + 1) * sizeof *files);
    if (!files) return fr__err(err, FR_ENOMEM, "out of memory");
    st->files = files;
    if (!(files[st->n_files] = strdup(base))) return fr__err(err, FR_ENOMEM, "out of memory");
    int rc = fr__mmap_open(path, &maps[st->n_files], err);
    if (rc < 0) { free(files[st->n_files]); return rc; }
    st->n_files++;
    return fr__st_parse(maps[st->n_files - 1].data, maps[st->n_files - 1].len,
                        files[st->n_files - 1], t, n, err);
}

// Appends src to st->t (takes ownership of the names).
static int merge(fr__st *st, fr__st_tensor *src, size_t n, fr_error *err) {
    fr__st_tensor *t = realloc(st->t, (st->n + n + 1) * sizeof *t);
    if (!t) { fr__st_tensors_free(src, n); return fr__err(err, FR_ENOMEM, "out of memory"); }
    memcpy(t + st->n, src, n * sizeof *src);
    st->t = t;
    st->n += n;
    free(src);
    return 0;
}

int fr__st_open(const char *dir, fr__st *st, fr_error *err) {
    char path[4096];
    fr__st_tensor *t = NULL;
    size_t n = 0;
    json_t *root = NULL;
    int rc;
    if ((size_t)snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir) >= sizeof path)
        return fr__err(err, FR_EINVAL, "%s: path too long", dir);
    if (access(path, F_OK) != 0) {
        if ((rc = add_file(st, dir, "model.safetensors", &t, &n, err)) < 0) goto fail;
        fr__st_tensor *got = t;
        t = NULL;  // merge takes ownership, also on failure
        if ((rc = merge(st, got, n, err)) < 0) goto fail;
        return 0;
    }
    char *text = NULL;
    size_t len;
    if ((rc = fr__read_file(path, &text, &len, err)) < 0) goto fail;
    json_error_t je;
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    free(text);
    if (!root) {
        rc = fr__err(err, FR_EFORMAT, "model.safetensors.index.json: %s at line %d", je.text, je.line);
        goto fail;
    }
    json_t *wm = json_object_get(root, "weight_map");
    if (!json_is_object(wm) || json_object_size(wm) == 0) {
        rc = fr__err(err, FR_EFORMAT, "model.safetensors.index.json: missing or empty weight_map");
        goto fail;
    }
    const char *key;
    json_t *v;
    // Open each distinct shard once, in order of first mention.
    json_object_foreach(wm, key, v) {
        const char *f = json_string_value(v);
        if (!f || !*f || strchr(f, '/') || !strcmp(f, "..") || !strcmp(f, ".")) {
            rc = fr__err(err, FR_EFORMAT, "model.safetensors.index.json: tensor '%s': bad shard "
                         "file name", key);
            goto fail;
        }
        int seen = 0;
        for (size_t i = 0; i < st->n_files; i++) seen |= !strcmp(st->files[i], f);
        if (seen) continue;
        if ((rc = add_file(st, dir, f, &t, &n, err)) < 0) goto fail;
        fr__st_tensor *got = t;
        t = NULL;
        if ((rc = merge(st, got, n, err)) < 0) goto fail;
    }
    qsort(st->t, st->n, sizeof *st->t, cmp_name);
    for (size_t i = 1; i < st->n; i++)
        if (!strcmp(st->t[i].name, st->t[i - 1].name)) {
            rc = fr__err(err, FR_EFORMAT, "tensor '%s' appears in both %s and %s", st->t[i].name,
                         st->t[i - 1].file, st->t[i].file);
            goto fail;
        }
    // Every tensor the index lists must be in the shard it names.
    json_object_foreach(wm, key, v) {
        const fr__st_tensor *x = fr__st_get(st, key);
        if (!x || strcmp(x->file, json_string_value(v))) {
            rc = fr__err(err, FR_EFORMAT, "model.safetensors.index.json lists tensor '%s' in %s "
                         "but it is not there", key, json_string_value(v));
            goto fail;
        }
    }
    json_decref(root);
    return 0;
fail:
    json_decref(root);
    fr__st_tensors_free(t, n);
    fr__st_close(st);
    return rc;
}

void fr__st_close(fr__st *st) {
    if (!st) return;
    fr__st_tensors_free(st->t, st->n);
    for (size_t i = 0; i < st->n_files; i++) {
        fr__mmap_close(&st->maps[i]);
        free(st->files[i]);
    }
    free(st->maps);
    free(st->files);
    memset(st, 0, sizeof *st);
}

const fr__st_tensor *fr__st_get(const fr__st *st, const char *name) {
    size_t lo = 0, hi = st->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, st->t[mid].name);
        if (!c) return &st->t[mid];
        if (c < 0) hi = mid; else lo = mid + 1;
    }
    return NULL;
}

// ---- dtype conversion ----
// IEEE 754 binary16 → binary32, exact (subnormals, inf, NaN included).
static float f16_to_f32(uint16_t h) {
    uint32_t s = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff, u;
    if (e == 0x1f) u = s | 0x7f800000u | (m << 13);
    else if (e) u = s | ((e + 112) << 23) | (m << 13);
    else if (!m) u = s;
    else {  // subnormal: normalise
        e = 113;
        while (!(m & 0x400)) { m <<= 1; e--; }
        u = s | (e << 23) | ((m & 0x3ff) << 13);
    }
    float f;
    memcpy(&f, &u, 4);
    return f;
}

int fr__st_to_f32(const fr__st_tensor *t, float *dst, fr_error *err) {
    const uint8_t *p = t->data;
    switch (t->dtype) {
    case FR__DT_F32: memcpy(dst, p, t->nelem * 4); return 0;
    case FR__DT_F16:
        for (size_t i = 0; i < t->nelem; i++) dst[i] = f16_to_f32((uint16_t)(p[2 * i] | p[2 * i + 1] << 8));
        return 0;
    case FR__DT_BF16:
        for (size_t i = 0; i < t->nelem; i++) {
            uint32_t u = (uint32_t)(p[2 * i] | p[2 * i + 1] << 8) << 16;
            memcpy(&dst[i], &u, 4);
        }
        return 0;
    default:
        return fr__err(err, FR_EUNSUPPORTED, "%s: tensor '%s': dtype %s is not supported (F32, F16, "
                       "BF16 are)", t->file, t->name, fr__st_dtype_name(t->dtype));
    }
}
