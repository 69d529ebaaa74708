/* model.h — the fr_model handle shared by model.c (open, scoring) and rerank.c (text pairs,
 * long-document windows). Internal. */
#ifndef FR_MODEL_MODEL_H
#define FR_MODEL_MODEL_H

#include "model/encoder.h"

struct fr_model {
    fr__encoder enc;
    int threads;            // default workers per call
    fr_tokenizer *tok;      // dir/tokenizer.json, NULL when absent or not asked for
};

// rerank.c: opens dir/tokenizer.json when opts->load_tokenizer (absent file: tok stays NULL)
// and checks that its ids fit the embedding table.
int fr__model_open_tokenizer(fr_model *m, const char *dir, const fr_model_opts *opts, fr_error *err);
void fr__model_close_tokenizer(fr_model *m);
// Longest sequence the position table allows.
int fr__model_max_positions(const fr_model *m);

#endif
