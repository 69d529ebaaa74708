/* analyzer.h — internal entry points of the analyzer (src/text/analyzer.c); the public API
 * is fr_analyzer_* / fr_analyze in finerank.h. */
#ifndef FR_TEXT_ANALYZER_H
#define FR_TEXT_ANALYZER_H

#include "finerank.h"

// Appends the terms of text to *out with positions starting at pos_base.
int fr__analyze_append(fr_analyzer *a, const char *text, ptrdiff_t len, uint32_t pos_base,
                       fr_terms *out, fr_error *err);

// Like fr_analyze, but the callback also gets a per-word memo slot (NULL for terms that do
// not come from the word cache, e.g. CJK bigrams): 64 bits the caller may set and will find
// again the next time the same word is analyzed by this analyzer (until the cache is
// cleared, which zeroes it). The segment builder keeps its term-table entry there, which
// saves a second hash lookup per token. The pointer is valid only during the call.
typedef int (*fr__term_memo_fn)(void *ud, const char *term, size_t len, uint32_t pos,
                                uint64_t *memo);
int fr__analyze_memo(fr_analyzer *a, const char *text, ptrdiff_t len, uint32_t pos_base,
                     fr__term_memo_fn fn, void *ud);

// Test hook: on = 0 sends all text through the Unicode path (NFKC with utf8proc and code
// point segmentation), which the ASCII fast path must match term for term.
void fr__analyzer_set_ascii_fast(fr_analyzer *a, int on);

#endif
