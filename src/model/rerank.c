/* rerank.c — (query, passage) text pairs → scores: tokenisation with the model's tokenizer,
 * truncation or long-document windows, relevance mapping. */
#include "model/model.h"

int fr__model_open_tokenizer(fr_model *m, const char *dir, const fr_model_opts *opts, fr_error *err) {
    (void)dir; (void)opts; (void)err;
    m->tok = NULL;
    return 0;
}

void fr__model_close_tokenizer(fr_model *m) { (void)m; }

int fr_model_rerank(const fr_model *m, const char *query, const char *const *docs,
                    const ptrdiff_t *doc_lens, size_t n, const fr_score_opts *opts,
                    fr_rerank_score *scores, fr_error *err) {
    (void)m; (void)query; (void)docs; (void)doc_lens; (void)n; (void)opts; (void)scores;
    return fr__err(err, FR_EUNSUPPORTED, "fr_model_rerank: tokenizer not available yet");
}
