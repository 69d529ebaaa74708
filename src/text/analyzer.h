/* analyzer.h — internal entry points of the analyzer (src/text/analyzer.c); the public API
 * is fr_analyzer_* / fr_analyze in finerank.h. */
#ifndef FR_TEXT_ANALYZER_H
#define FR_TEXT_ANALYZER_H

#include "finerank.h"

// Appends the terms of text to *out with positions starting at pos_base.
int fr__analyze_append(fr_analyzer *a, const char *text, ptrdiff_t len, uint32_t pos_base,
                       fr_terms *out, fr_error *err);

#endif
