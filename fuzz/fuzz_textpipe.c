/* fuzz_textpipe.c — libFuzzer target for the tokenizer text pipeline: the input is a JSON
 * spec, a NUL byte, then text. The spec is {"normalizer": N, "pre_tokenizer": P} (either
 * may be absent), or one bare normalizer / pre-tokenizer object. The text is cut at its first
 * invalid UTF-8 sequence (callers validate), normalized, then pre-tokenized, once from offset
 * 0 and once as a section at offset 1 (Metaspace "first").
 * Checks beyond "no crash, no out-of-bounds access": the normalized string stays valid UTF-8
 * and NUL-terminated with orig[len] = the section end; pieces are non-empty and inside the
 * output buffer.
 */
#include <string.h>

#include <utf8proc.h>

#include "base/base.h"
#include "tok/textpipe.h"

static size_t valid_prefix(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate(s + i, (utf8proc_ssize_t)(n - i), &cp);
        if (k <= 0) break;
        i += (size_t)k;
    }
    return i;
}

static void run(const fr__normalizer *nz, const fr__pretok *pt, const char *text, size_t len, uint32_t shift) {
    fr__nstr s;
    if (fr__nstr_init(&s, text, len, shift) < 0) return;
    if (fr__normalizer_apply(nz, &s) == 0) {
        if (s.s[s.len] != 0 || s.orig[s.len] != shift + len) __builtin_trap();
        if (valid_prefix((const uint8_t *)s.s, s.len) != s.len) __builtin_trap();
        fr__pieces out = {0};
        if (fr__pretok_apply(pt, &s, &out) == 0) {
            for (size_t i = 0; i < out.n; i++)
                if (out.len[i] == 0 || (size_t)out.off[i] + out.len[i] > out.text.len) __builtin_trap();
        }
        fr__pieces_free(&out);
        if (s.len > 1) {  // slicing on a character boundary
            size_t mid = s.len / 2;
            while (mid < s.len && ((unsigned char)s.s[mid] & 0xC0) == 0x80) mid++;
            fr__nstr sl;
            if (fr__nstr_slice(&s, mid, s.len, &sl) == 0) fr__nstr_free(&sl);
        }
    }
    fr__nstr_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *nul = memchr(data, 0, size);
    size_t spec_len = nul ? (size_t)(nul - data) : size;
    const char *text = nul ? (const char *)nul + 1 : "";
    size_t text_len = nul ? size - spec_len - 1 : 0;
    text_len = valid_prefix((const uint8_t *)text, text_len);

    json_t *j = json_loadb((const char *)data, spec_len, JSON_DECODE_ANY, NULL);
    if (!j) return 0;
    fr__normalizer *nz = NULL;
    fr__pretok *pt = NULL;
    fr_error err;
    if (json_is_object(j) && (json_object_get(j, "normalizer") || json_object_get(j, "pre_tokenizer"))) {
        if (fr__normalizer_parse(json_object_get(j, "normalizer"), &nz, &err) < 0) nz = NULL;
        if (fr__pretok_parse(json_object_get(j, "pre_tokenizer"), &pt, &err) < 0) pt = NULL;
    } else {
        if (fr__normalizer_parse(j, &nz, &err) < 0) nz = NULL;
        if (fr__pretok_parse(j, &pt, &err) < 0) pt = NULL;
    }
    if (nz || pt) {
        run(nz, pt, text, text_len, 0);
        run(nz, pt, text, text_len, 1);
    }
    fr__normalizer_free(nz);
    fr__pretok_free(pt);
    json_decref(j);
    return 0;
}
