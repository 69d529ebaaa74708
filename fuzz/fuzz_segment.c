/* fuzz_segment.c — libFuzzer target for the segment reader (src/index/segment.c): opens the
 * input as a segment (without the CRC check, so that mutations reach the structural
 * validation), then walks everything a query or a document fetch can touch: every
 * dictionary entry looked up by its own bytes, every postings list decoded to the end
 * (and advanced with skips), every stored document, every id lookup and string. Also opens
 * the input with the CRC check and a few truncations of it. Any out-of-bounds read is a bug;
 * errors are expected. Seeds: fuzz/corpus/segment/ (scripts/gen_segment_seeds.sh). */
#include <stdint.h>
#include <string.h>

#include "index/segment.h"

static void walk(const uint8_t *data, size_t size, int verify) {
    fr__seg *s = NULL;
    if (fr__seg_open_mem(data, size, "fuzz", verify, &s, NULL) < 0) return;
    uint32_t nt = s->n_terms < 2000 ? s->n_terms : 2000;
    for (uint32_t i = 0; i < nt; i++) {
        const fr__terminfo *t = &s->terms[i];
        if ((uint64_t)t->str_off + t->str_len > s->termstr_len) continue;
        const fr__terminfo *ti = NULL;
        if (fr__seg_term(s, s->termstr + t->str_off, t->str_len, &ti, NULL) < 0 || !ti) continue;
        fr__cursor c;
        if (fr__cursor_init(&c, s, ti, NULL) < 0) continue;
        uint32_t steps = 0;
        while (c.doc != UINT32_MAX && steps++ < 100000) {
            volatile uint32_t tf = fr__cursor_tf(&c);
            (void)tf;
            if (fr__cursor_next(&c, NULL) < 0) break;
        }
        if (fr__cursor_init(&c, s, ti, NULL) == 0) {
            fr__cursor_shallow(&c, 300);
            fr__cursor_advance(&c, 300, NULL);
            fr__cursor_advance(&c, 5000, NULL);
        }
    }
    uint32_t nd = s->n_docs < 2000 ? s->n_docs : 2000;
    for (uint32_t d = 0; d < nd; d++) {
        fr_doc doc;
        if (fr__seg_doc(s, d, &doc, NULL) == 0) {
            uint32_t back;
            fr__seg_find(s, doc.id, doc.id_len, &back, NULL);
        }
    }
    for (uint32_t i = 0; i < s->n_strs && i < 100; i++) {
        const char *p;
        size_t n;
        fr__seg_str(s, i, &p, &n, NULL);
    }
    const fr__terminfo *ti;
    fr__seg_term(s, "zzzz", 4, &ti, NULL);
    fr__seg_term(s, "", 0, &ti, NULL);
    uint32_t d;
    fr__seg_find(s, "d1", 2, &d, NULL);
    fr__seg_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    // the reader needs 8-byte alignment, as an mmap gives: copy into an aligned buffer of
    // exactly `size` bytes (malloc's alignment), so that ASan still sees overreads
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    walk(buf, size, 0);
    walk(buf, size, 1);
    free(buf);
    for (size_t cut = 1; cut <= 3 && size > 0; cut++) {  // truncations
        size_t n = size - size / (cut + 1);
        uint8_t *t = malloc(n ? n : 1);
        if (!t) return 0;
        memcpy(t, data, n);
        walk(t, n, 0);
        free(t);
    }
    return 0;
}
