/* added.h — the added vocabulary (HF tokenizer/added_vocabulary.rs): added and special
 * tokens, split off the original text (normalized=false) or the normalized text
 * (normalized=true) before pre-tokenization. Internal to src/tok/. */
#ifndef FR_TOK_ADDED_H
#define FR_TOK_ADDED_H

#include "tok/textpipe.h"
#include "tok/tok.h"

typedef struct fr__added fr__added;

// One split: bytes [start, end) of the searched string; id >= 0 for an added token.
typedef struct fr__split {
    uint32_t start, end;
    int32_t id;
} fr__split;

// Parses tokenizer.json "added_tokens" (NULL/absent = none) and assigns ids as HF's
// AddedVocabulary::add_tokens does (the model's id when the content is in its vocabulary,
// else the next id from the model's vocabulary size). Normalized tokens are matched in
// their normalized form, so the normalizer is needed here. OUT: *out.
int fr__added_parse(const json_t *j, const fr__model *model, const fr__normalizer *norm,
                    fr__added **out, fr_error *err);
void fr__added_free(fr__added *a);
// Splits s[0, len) on added tokens (normalized = 0: the raw-text set, 1: the normalized set),
// HF find_matches(): leftmost-longest, single_word / lstrip / rstrip. Empty input → no split.
// OUT: *splits (caller frees), *n.
int fr__added_split(const fr__added *a, int normalized, const char *s, size_t len,
                    fr__split **splits, size_t *n, size_t *cap);
int32_t fr__added_token_to_id(const fr__added *a, const char *s, size_t len);  // -1 if none
const char *fr__added_id_to_token(const fr__added *a, int32_t id);
size_t fr__added_count_new(const fr__added *a);  // added ids not in the model vocabulary
int32_t fr__added_max_id(const fr__added *a);    // -1 if none

#endif
