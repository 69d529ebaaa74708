/* synonyms.h — internal: user synonym rules for query expansion (format in synonyms.c). */
#ifndef FR_RANK_SYNONYMS_H
#define FR_RANK_SYNONYMS_H

#include "finerank.h"

typedef struct fr__synonyms fr__synonyms;

// Analyzes text (len bytes, not NUL-terminated) into terms, appending to *out.
typedef int (*fr__analyze_fn)(void *ctx, const char *text, size_t len, fr_terms *out,
                              fr_error *err);

// Parses a synonyms file's text; `name` prefixes errors ("syn.txt:3: ..."). OUT: *out, free
// with fr__synonyms_free (NULL is a no-op).
int fr__synonyms_parse(const char *text, size_t len, const char *name, fr__analyze_fn an,
                       void *ctx, fr__synonyms **out, fr_error *err);
void fr__synonyms_free(fr__synonyms *s);
size_t fr__synonyms_count(const fr__synonyms *s);
// Appends to q the right sides of the rules whose left side occurs in q's original terms,
// with the given weight, skipping terms already present. OUT (optional): *n_added.
int fr__synonyms_expand(const fr__synonyms *s, fr_terms *q, float weight, size_t *n_added);

#endif
