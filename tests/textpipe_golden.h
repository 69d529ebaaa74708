/* textpipe_golden.h — shared by test_normalizer.c and test_pretokenizer.c: reads the goldens
 * of scripts/tok/gen_textpipe_goldens.js (the .jsonl.gz files in tests/data/tok/textpipe) and resolves
 * spec references into ../shared ("shared:<path>#<field>.<field>[i]").
 */
#ifndef FR_TEXTPIPE_GOLDEN_H
#define FR_TEXTPIPE_GOLDEN_H

#include <jansson.h>
#include <string.h>
#include <zlib.h>

#include "test.h"

// All JSON lines of a gzip'd JSONL file (NULL if unreadable). Caller json_decref()s.
static json_t *golden_lines(const char *path) {
    gzFile f = gzopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap);
    int n;
    while (buf && (n = gzread(f, buf + len, (unsigned)(cap - len - 1))) > 0) {
        len += (size_t)n;
        if (cap - len < 2) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) { free(buf); buf = NULL; break; }
            buf = nb;
            cap *= 2;
        }
    }
    gzclose(f);
    if (!buf) return NULL;
    buf[len] = 0;
    json_t *arr = json_array();
    for (char *p = buf; *p;) {
        char *e = strchr(p, '\n');
        if (e) *e = 0;
        if (*p) {
            json_error_t je;
            json_t *j = json_loads(p, JSON_ALLOW_NUL, &je);
            if (!j) {
                fprintf(stderr, "%s: bad golden line: %s\n", path, je.text);
                json_decref(arr);
                free(buf);
                return NULL;
            }
            json_array_append_new(arr, j);
        }
        if (!e) break;
        p = e + 1;
    }
    free(buf);
    return arr;
}

// Resolves a golden's "spec": inline JSON (new reference) or "shared:<file>#<path>" read from
// ../shared (NULL when absent). *root receives what to json_decref afterwards.
static json_t *golden_spec(json_t *spec, json_t **root) {
    *root = NULL;
    if (!json_is_string(spec)) { *root = json_incref(spec); return spec; }
    const char *s = json_string_value(spec);
    if (strncmp(s, "shared:", 7)) return NULL;
    char file[1024];
    const char *hash = strchr(s, '#');
    if (!hash || (size_t)(hash - s - 7) >= sizeof file) return NULL;
    memcpy(file, s + 7, (size_t)(hash - s - 7));
    file[hash - s - 7] = 0;
    const char *p = fr_test_shared(file);
    if (!p) return NULL;
    json_error_t je;
    json_t *r = json_load_file(p, 0, &je);
    if (!r) return NULL;
    json_t *v = r;
    char part[128];
    for (const char *q = hash + 1; v && *q;) {
        size_t k = strcspn(q, ".");
        if (k >= sizeof part) { v = NULL; break; }
        memcpy(part, q, k);
        part[k] = 0;
        q += k + (q[k] == '.');
        char *br = strchr(part, '[');
        long idx = -1;
        if (br) { idx = strtol(br + 1, NULL, 10); *br = 0; }
        v = json_object_get(v, part);
        if (v && idx >= 0) v = json_array_get(v, (size_t)idx);
    }
    if (!v) { json_decref(r); return NULL; }
    *root = r;
    return v;
}

// out with every occurrence of needle written as "X" (JavaScript split/join semantics).
static void golden_class(const char *out, size_t n, const char *needle, size_t nl, fr__buf *b) {
    b->len = 0;
    fr__buf_reserve(b, 0);
    b->data[0] = 0;
    for (size_t i = 0; i < n;) {
        if (nl && i + nl <= n && memcmp(out + i, needle, nl) == 0) {
            fr__buf_putc(b, 'X');
            i += nl;
        } else {
            fr__buf_putc(b, out[i]);
            i++;
        }
    }
}

// Under ASan the sweep visits every code point below U+0800 and every 13th above (a full
// sweep is 1.1M code points per component; the plain build does them all).
#if defined(__SANITIZE_ADDRESS__)
#define GOLDEN_STRIDE(cp) ((cp) < 0x800 || (cp) % 13 == 0)
#else
#define GOLDEN_STRIDE(cp) 1
#endif

// Iterates a sweep's runs: runs BODY with CP and CLS for every code point 0..0x10FFFF except
// surrogates.
#define GOLDEN_FOR_EACH_CP(runs, CP, CLS, BODY)                                          \
    do {                                                                                \
        size_t nr_ = json_array_size(runs);                                             \
        for (size_t r_ = 0; r_ < nr_; r_++) {                                           \
            json_t *run_ = json_array_get(runs, r_);                                    \
            uint32_t a_ = (uint32_t)json_integer_value(json_array_get(run_, 0));        \
            uint32_t b_ = r_ + 1 < nr_                                                  \
                ? (uint32_t)json_integer_value(json_array_get(json_array_get(runs, r_ + 1), 0)) \
                : 0x110000;                                                             \
            const char *CLS = json_string_value(json_array_get(run_, 1));               \
            for (uint32_t CP = a_; CP < b_; CP++) {                                     \
                if ((CP >= 0xD800 && CP <= 0xDFFF) || !GOLDEN_STRIDE(CP)) continue;      \
                BODY                                                                    \
            }                                                                           \
        }                                                                               \
    } while (0)

#endif
