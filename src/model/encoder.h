/* encoder.h — BERT / RoBERTa / XLM-RoBERTa sequence-classification encoders over packed
 * batches: weights bound from safetensors by their Hugging Face names, and the forward pass.
 */
#ifndef FR_MODEL_ENCODER_H
#define FR_MODEL_ENCODER_H

#include "model/config.h"
#include "model/safetensors.h"
#include "nn/gemm.h"

typedef struct fr__layer {
    const float *wq, *bq, *wk, *bk, *wv, *bv;  // (H, H), (H)
    const float *wo, *bo;                      // attention.output.dense (H, H), (H)
    const float *ln1_g, *ln1_b;                // attention.output.LayerNorm (H)
    const float *w1, *b1;                      // intermediate.dense (I, H), (I)
    const float *w2, *b2;                      // output.dense (H, I), (H)
    const float *ln2_g, *ln2_b;                // output.LayerNorm (H)
} fr__layer;

typedef struct fr__encoder {
    fr__model_config cfg;
    fr__st st;                   // the mmapped checkpoint (F32 weights point into it)
    const float *word;           // (vocab, H)
    const float *pos;            // (max_position_embeddings, H)
    const float *type;           // (type_vocab_size, H)
    const float *emb_g, *emb_b;  // embeddings.LayerNorm (H)
    fr__layer *layers;           // (layers)
    const float *head_w, *head_b;  // BERT pooler.dense / RoBERTa classifier.dense (H, H), (H)
    const float *out_w, *out_b;    // BERT classifier / RoBERTa classifier.out_proj (labels, H)
    const char *weights_dtype;   // of the word embeddings, as stored
    void **owned;                // widened / realigned copies, freed with the encoder
    size_t n_owned;
    fr__wtype dtype;             // compute type of the per-layer dense layers
    fr__dense *dense;            // = packs[dtype].dense: (layers, 4): qkv (fused), attention
                                 // out, ffn in, ffn out; NULL at F32 (float weights, sgemm)
    struct fr__pack {            // per compute type (BF16, INT8; F32 stays NULL)
        fr__dense *dense;        // (layers, 4) as above, or NULL: not packed
        void *mem;               // one arena holding every layer's packed weights, in the
                                 // order a forward pass reads them (huge pages when >= 2 MiB)
    } packs[3];
} fr__encoder;

// Binds every tensor the architecture needs from dir's checkpoint, checking names, shapes,
// dtypes and finiteness. OUT: *enc (zero it first); free with fr__encoder_close.
int fr__encoder_open(const char *dir, fr__encoder *enc, fr_error *err);
void fr__encoder_close(fr__encoder *enc);

// Repacks the per-layer dense weights as BF16 or INT8 (gemm.h); F32 is a no-op. Embeddings,
// attention, LayerNorms and the classification head stay float32.
int fr__encoder_set_dtype(fr__encoder *enc, fr__wtype t, fr_error *err);
// Packs the dense layers as t too (beside the default type) for fr__encoder_hidden_as; a no-op
// for F32 or when done. Not thread-safe: callers serialise it (embed.c packs under a mutex)
// and publish packs[t] to other threads only after it returns.
int fr__encoder_pack(fr__encoder *enc, fr__wtype t, fr_error *err);

// Per-thread activations for up to max_tokens packed tokens and sequences of up to max_len.
typedef struct fr__scratch {
    size_t max_tokens, max_len;
    float *x;       // (T, H)   hidden states
    float *qkv;     // (T, 3H)  query | key | value
    float *ctx;     // (T, H)   attention output before the projection
    float *tmp;     // (T, H)   projection outputs before the residual LayerNorm
    float *inter;   // (T, I)   feed-forward intermediate
    float *scores;  // (L, L)   one head's attention matrix
    float *cls;     // (B, H)   first-token states, then the head's hidden layer
    void *qbuf;     // fr__dense_scratch_bytes(T, I): per-token int8 activations and scales
} fr__scratch;
int fr__scratch_init(fr__scratch *s, const fr__model_config *c, size_t max_tokens, size_t max_len,
                     size_t max_seqs);
void fr__scratch_free(fr__scratch *s);

// The encoder without its head: returns the last hidden states (T, H) of the n packed
// sequences (T = sum of lengths), a pointer into s valid until its next use.
const float *fr__encoder_hidden(const fr__encoder *e, const fr_seq *seqs, size_t n, fr__scratch *s);
// The same with the dense layers computed as t (packed beforehand by fr__encoder_pack, or the
// float weights for F32) instead of the default type.
const float *fr__encoder_hidden_as(const fr__encoder *e, fr__wtype t, const fr_seq *seqs, size_t n,
                                   fr__scratch *s);

// Forward pass over n sequences packed back to back (ids/types of seqs[i] are used as is;
// the caller has validated ids < vocab and lengths <= max positions).
// OUT: logits (n, num_labels).
void fr__encoder_forward(const fr__encoder *enc, const fr_seq *seqs, size_t n, fr__scratch *s,
                         float *logits);

// Online CPUs, clamped to [1, 256]: the default worker count of models and embedders.
int fr__online_cpus(void);

// Splits `sorted` (sequences ordered by length) into batches of about `budget` tokens, with a
// multiple of `threads` batches when the request is small enough that whole-budget batches
// would leave threads idle. OUT: bstart (n + 1 entries; batch b is [bstart[b], bstart[b+1])),
// *max_tokens and *max_seqs (the largest batch's tokens and sequences). Returns the batch count.
size_t fr__plan_batches(const fr_seq *sorted, size_t n, size_t total, size_t threads,
                        size_t budget, size_t *bstart, size_t *max_tokens, size_t *max_seqs);

#endif
