/* model.h — the fr_model handle shared by model.c (open, scoring) and rerank.c (text pairs,
 * long-document windows); the pair-sequence steps are also used by the server (serve/rerank.c).
 * Internal. */
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

// ---- pair sequences (rerank.c) ----
// fr_model_rerank in three steps, so that a caller can score the sequences its own way (the
// server's shared batcher): build, score seqs[0..count), aggregate.
typedef struct fr__pair_seqs {
    fr_seq *seqs;           // (count) the forward sequences, into the arena below
    size_t *owner;          // (count) the document each sequence belongs to
    size_t count;
    // arena: ids/types of every sequence; start/n per sequence
    int32_t *ids;
    uint8_t *types;
    size_t len, cap;
    size_t *start, *n;
    size_t scap;
} fr__pair_seqs;

// Tokenises n (query, document) pairs as fr_model_rerank does under opts (truncation, or
// long_docs windows with window_stride / max_windows). OUT: *out, release with
// fr__pair_seqs_free (also on failure; it is then empty).
int fr__pair_seqs_build(const fr_model *m, const char *query, const char *const *docs,
                        const ptrdiff_t *doc_lens, size_t n, const fr_score_opts *opts,
                        fr__pair_seqs *out, fr_error *err);
// Document scores from the sequences' logits (count * num_labels): one sequence each, or the
// max / mean / first of a document's windows. scored: NULL, or per sequence 0 to leave it out
// (a document none of whose sequences was scored gets windows = 0).
void fr__pair_seqs_aggregate(const fr_model *m, const fr__pair_seqs *ps, const float *logits,
                             const unsigned char *scored, fr_long_docs mode, size_t n_docs,
                             fr_rerank_score *scores);
void fr__pair_seqs_free(fr__pair_seqs *s);

#endif
