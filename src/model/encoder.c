/* encoder.c — BertForSequenceClassification, RobertaForSequenceClassification and
 * XLMRobertaForSequenceClassification forward passes, float32, on packed batches.
 *
 * Math (transformers modeling_bert.py / modeling_roberta.py, eval mode, no dropout):
 *   e   = LayerNorm((word[id] + token_type[type]) + position[p])
 *         BERT: p = 0..L-1; RoBERTa/XLM-R: p = pad + (number of non-pad ids up to and
 *         including this one), or pad for a pad id (create_position_ids_from_input_ids);
 *         token types are always 0 for RoBERTa-family models (their tokenizers do not return
 *         token_type_ids, so transformers uses its zero buffer).
 *   layer: a = LayerNorm(Wo · softmax(Q K^T / sqrt(d)) V + bo + h); h' = LayerNorm(W2 act(W1 a + b1) + b2 + a)
 *   head:  logits = Wout · tanh(Whead · h[first token] + bhead) + bout
 *          (BERT: pooler.dense then classifier; RoBERTa: classifier.dense then out_proj).
 *
 * Layout: every token of a batch is packed into one (T, features) matrix so the dense layers
 * are a single GEMM with no padding rows; attention runs per sequence and head on strided
 * views of the packed (T, 3H) query|key|value matrix. Nothing in a sequence's result depends
 * on its batch neighbours (each GEMM output row depends only on its own input row).
 * Weights: F32 tensors are used in place from the mmapped file (copied only if misaligned);
 * F16/BF16 are widened to float32 once at open. fr__encoder_set_dtype repacks the six
 * per-layer dense layers (Q|K|V fused, attention output, FFN in/out) as BF16 or INT8
 * (nn/gemm.h); everything else stays float32.
 */
#include "model/encoder.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn.h"

// ---- binding weights ----
static int keep(fr__encoder *e, void *p) {
    void **o = realloc(e->owned, (e->n_owned + 1) * sizeof *o);
    if (!o) { free(p); return FR_ENOMEM; }
    e->owned = o;
    o[e->n_owned++] = p;
    return 0;
}

// Binds tensor `name` of shape (d0) or (d0, d1) (d1 == 0 for a vector) as float32.
static int bind(fr__encoder *e, const char *name, size_t d0, size_t d1, const float **out,
                fr_error *err) {
    const fr__st_tensor *t = fr__st_get(&e->st, name);
    if (!t) {
        // Checkpoints from TF-era conversions name LayerNorm parameters gamma/beta
        // (transformers renames them at load).
        char alt[256];
        size_t n = strlen(name);
        if (n > 7 && n < 200 && !strcmp(name + n - 7, ".weight") && strstr(name, "LayerNorm")) {
            snprintf(alt, sizeof alt, "%.*s.gamma", (int)(n - 7), name);
            t = fr__st_get(&e->st, alt);
        } else if (n > 5 && n < 200 && !strcmp(name + n - 5, ".bias") && strstr(name, "LayerNorm")) {
            snprintf(alt, sizeof alt, "%.*s.beta", (int)(n - 5), name);
            t = fr__st_get(&e->st, alt);
        }
    }
    if (!t)
        return fr__err(err, FR_EFORMAT, "checkpoint has no tensor '%s' (needed by %s)", name,
                       e->cfg.architecture);
    int ok = d1 ? (t->ndim == 2 && t->shape[0] == d0 && t->shape[1] == d1)
                : (t->ndim == 1 && t->shape[0] == d0);
    if (!ok) {
        char have[128] = "", want[64];
        size_t at = 0;
        for (int i = 0; i < t->ndim && at < sizeof have - 24; i++)
            at += (size_t)snprintf(have + at, sizeof have - at, "%s%zu", i ? ", " : "", t->shape[i]);
        if (d1) snprintf(want, sizeof want, "%zu, %zu", d0, d1);
        else snprintf(want, sizeof want, "%zu", d0);
        return fr__err(err, FR_EFORMAT, "%s: tensor '%s' has shape [%s] but config.json implies [%s]",
                       t->file, t->name, have, want);
    }
    const float *p;
    if (t->dtype == FR__DT_F32 && ((uintptr_t)t->data & 3) == 0) {
        p = (const float *)(const void *)t->data;
    } else {
        if (t->dtype != FR__DT_F32 && t->dtype != FR__DT_F16 && t->dtype != FR__DT_BF16)
            return fr__err(err, FR_EUNSUPPORTED, "%s: tensor '%s' has dtype %s (supported: F32, F16, "
                           "BF16)", t->file, t->name, fr__st_dtype_name(t->dtype));
        float *f = malloc(t->nelem ? t->nelem * sizeof *f : 1);
        if (!f) return fr__err(err, FR_ENOMEM, "tensor '%s': cannot allocate %zu floats", t->name, t->nelem);
        int rc = fr__st_to_f32(t, f, err);
        if (rc < 0) { free(f); return rc; }
        if (keep(e, f) < 0) return fr__err(err, FR_ENOMEM, "out of memory");
        p = f;
    }
    for (size_t i = 0; i < t->nelem; i++)
        if (!isfinite(p[i]))
            return fr__err(err, FR_ECORRUPT, "%s: tensor '%s' element %zu is %s", t->file, t->name, i,
                           isnan(p[i]) ? "NaN" : "infinite");
    *out = p;
    return 0;
}

int fr__encoder_open(const char *dir, fr__encoder *e, fr_error *err) {
    int rc = fr__model_config_load(dir, &e->cfg, err);
    if (rc < 0) return rc;
    if ((rc = fr__st_open(dir, &e->st, err)) < 0) return rc;
    const fr__model_config *c = &e->cfg;
    const char *P = c->family == FR__FAMILY_BERT ? "bert." : "roberta.";
    // Bare backbones (BertModel, XLMRobertaModel) are saved without the model prefix.
    if (!c->has_head && !fr__st_get(&e->st, c->family == FR__FAMILY_BERT
                                                ? "bert.embeddings.word_embeddings.weight"
                                                : "roberta.embeddings.word_embeddings.weight"))
        P = "";
    size_t H = (size_t)c->hidden, I = (size_t)c->intermediate;
    char name[256];
#define BIND(d0, d1, dst, ...)                                                      \
    do {                                                                            \
        snprintf(name, sizeof name, __VA_ARGS__);                                   \
        if ((rc = bind(e, name, (d0), (d1), (dst), err)) < 0) goto fail;            \
    } while (0)
    // Vocabulary: the embedding table decides; a different vocab_size in config.json means
    // the ids the tokenizer produces would index the wrong rows.
    snprintf(name, sizeof name, "%sembeddings.word_embeddings.weight", P);
    const fr__st_tensor *wt = fr__st_get(&e->st, name);
    if (wt && wt->ndim == 2 && wt->shape[0] != (size_t)c->vocab_size) {
        rc = fr__err(err, FR_EFORMAT, "%s: '%s' has %zu rows but config.json vocab_size is %d", wt->file,
                     name, wt->shape[0], c->vocab_size);
        goto fail;
    }
    e->weights_dtype = wt ? fr__st_dtype_name(wt->dtype) : "?";
    BIND((size_t)c->vocab_size, H, &e->word, "%sembeddings.word_embeddings.weight", P);
    BIND((size_t)c->max_position_embeddings, H, &e->pos, "%sembeddings.position_embeddings.weight", P);
    BIND((size_t)c->type_vocab_size, H, &e->type, "%sembeddings.token_type_embeddings.weight", P);
    BIND(H, 0, &e->emb_g, "%sembeddings.LayerNorm.weight", P);
    BIND(H, 0, &e->emb_b, "%sembeddings.LayerNorm.bias", P);
    e->layers = calloc((size_t)c->layers, sizeof *e->layers);
    if (!e->layers) { rc = fr__err(err, FR_ENOMEM, "out of memory"); goto fail; }
    for (int l = 0; l < c->layers; l++) {
        fr__layer *L = &e->layers[l];
        const char *A = "attention";
        BIND(H, H, &L->wq, "%sencoder.layer.%d.%s.self.query.weight", P, l, A);
        BIND(H, 0, &L->bq, "%sencoder.layer.%d.%s.self.query.bias", P, l, A);
        BIND(H, H, &L->wk, "%sencoder.layer.%d.%s.self.key.weight", P, l, A);
        BIND(H, 0, &L->bk, "%sencoder.layer.%d.%s.self.key.bias", P, l, A);
        BIND(H, H, &L->wv, "%sencoder.layer.%d.%s.self.value.weight", P, l, A);
        BIND(H, 0, &L->bv, "%sencoder.layer.%d.%s.self.value.bias", P, l, A);
        BIND(H, H, &L->wo, "%sencoder.layer.%d.%s.output.dense.weight", P, l, A);
        BIND(H, 0, &L->bo, "%sencoder.layer.%d.%s.output.dense.bias", P, l, A);
        BIND(H, 0, &L->ln1_g, "%sencoder.layer.%d.%s.output.LayerNorm.weight", P, l, A);
        BIND(H, 0, &L->ln1_b, "%sencoder.layer.%d.%s.output.LayerNorm.bias", P, l, A);
        BIND(I, H, &L->w1, "%sencoder.layer.%d.intermediate.dense.weight", P, l);
        BIND(I, 0, &L->b1, "%sencoder.layer.%d.intermediate.dense.bias", P, l);
        BIND(H, I, &L->w2, "%sencoder.layer.%d.output.dense.weight", P, l);
        BIND(H, 0, &L->b2, "%sencoder.layer.%d.output.dense.bias", P, l);
        BIND(H, 0, &L->ln2_g, "%sencoder.layer.%d.output.LayerNorm.weight", P, l);
        BIND(H, 0, &L->ln2_b, "%sencoder.layer.%d.output.LayerNorm.bias", P, l);
    }
    // A layer past num_hidden_layers means config and weights disagree.
    snprintf(name, sizeof name, "%sencoder.layer.%d.output.dense.weight", P, c->layers);
    if (fr__st_get(&e->st, name)) {
        rc = fr__err(err, FR_EFORMAT, "checkpoint has tensor '%s' but config.json num_hidden_layers "
                     "is %d", name, c->layers);
        goto fail;
    }
    size_t nl = (size_t)c->num_labels;
    if (!c->has_head) {
        // bi-encoders use the last hidden states (fr__encoder_hidden); a pooler is ignored
    } else if (c->family == FR__FAMILY_BERT) {
        BIND(H, H, &e->head_w, "%spooler.dense.weight", P);
        BIND(H, 0, &e->head_b, "%spooler.dense.bias", P);
        BIND(nl, H, &e->out_w, "classifier.weight");
        BIND(nl, 0, &e->out_b, "classifier.bias");
    } else {
        BIND(H, H, &e->head_w, "classifier.dense.weight");
        BIND(H, 0, &e->head_b, "classifier.dense.bias");
        BIND(nl, H, &e->out_w, "classifier.out_proj.weight");
        BIND(nl, 0, &e->out_b, "classifier.out_proj.bias");
    }
#undef BIND
    return 0;
fail:
    fr__encoder_close(e);
    return rc;
}

int fr__encoder_set_dtype(fr__encoder *e, fr__wtype t, fr_error *err) {
    int rc = fr__encoder_pack(e, t, err);
    if (rc < 0) return rc;
    e->dtype = t;
    e->dense = e->packs[t].dense;
    return 0;
}

// Packed weights are cold at every query of a retrieval loop (the vector scan between two
// queries evicts them) and a query's few tokens leave the kernels bound by how fast they
// stream in: one arena in forward order, on huge pages (fr__alloc_huge_zero), lets the hardware
// prefetcher run across 4 KiB boundaries and matrices without a TLB miss per page
// (bench_membw: 23 → 32 GB/s on one core with huge pages; a 10-token int8 MiniLM-L6 query,
// cold, 1.16 → see bench/embed/README.md "Query dtype").
int fr__encoder_pack(fr__encoder *e, fr__wtype t, fr_error *err) {
    if (t == FR__WT_F32 || e->packs[t].dense) return 0;
    size_t nl = (size_t)e->cfg.layers, H = (size_t)e->cfg.hidden, I = (size_t)e->cfg.intermediate;
    const fr__gemm_isa *isa = fr__gemm_isa_best();
    // the four matrices of a layer: (n, k)
    const size_t shape[4][2] = {{3 * H, H}, {H, H}, {I, H}, {H, I}};
    size_t bytes = 0;
    for (int j = 0; j < 4; j++) bytes += fr__dense_weight_bytes(isa, t, shape[j][0], shape[j][1]);
    bytes *= nl;
    fr__dense *D = calloc(nl ? nl * 4 : 1, sizeof *D);
    uint8_t *mem = fr__alloc_huge_zero(bytes);  // the packers rely on zero padding
    if (!D || !mem) {
        free(D);
        free(mem);
        return fr__err(err, FR_ENOMEM, "out of memory packing %zu bytes of weights", bytes);
    }
    size_t at = 0;
    for (size_t l = 0; l < nl; l++) {
        const fr__layer *L = &e->layers[l];
        const float *qkv_w[3] = {L->wq, L->wk, L->wv}, *qkv_b[3] = {L->bq, L->bk, L->bv};
        const float *const *ws[4] = {qkv_w, &L->wo, &L->w1, &L->w2};
        const float *const *bs[4] = {qkv_b, &L->bo, &L->b1, &L->b2};
        const size_t ns[4][3] = {{H, H, H}, {H}, {I}, {H}};
        for (int j = 0; j < 4; j++) {
            int rc = fr__dense_pack_in(&D[l * 4 + (size_t)j], isa, t, ws[j], bs[j], ns[j], j ? 1 : 3,
                                       shape[j][1], mem + at);
            at += fr__dense_weight_bytes(isa, t, shape[j][0], shape[j][1]);
            if (rc < 0) {
                for (size_t i = 0; i < nl * 4; i++) fr__dense_free(&D[i]);
                free(D);
                free(mem);
                return fr__err(err, FR_ENOMEM, "out of memory packing layer %zu", l);
            }
        }
    }
    e->packs[t].dense = D;
    e->packs[t].mem = mem;
    return 0;
}

void fr__encoder_close(fr__encoder *e) {
    if (!e) return;
    for (int t = 0; t < 3; t++) {
        if (e->packs[t].dense)
            for (size_t i = 0; i < (size_t)e->cfg.layers * 4; i++) fr__dense_free(&e->packs[t].dense[i]);
        free(e->packs[t].dense);
        free(e->packs[t].mem);
    }
    for (size_t i = 0; i < e->n_owned; i++) free(e->owned[i]);
    free(e->owned);
    free(e->layers);
    fr__st_close(&e->st);
    memset(e, 0, sizeof *e);
}

// ---- scratch ----
int fr__scratch_init(fr__scratch *s, const fr__model_config *c, size_t T, size_t L, size_t B) {
    memset(s, 0, sizeof *s);
    size_t H = (size_t)c->hidden, I = (size_t)c->intermediate;
    s->max_tokens = T;
    s->max_len = L;
    s->x = malloc(T * H * sizeof(float));
    s->qkv = malloc(T * 3 * H * sizeof(float));
    s->ctx = malloc(T * H * sizeof(float));
    s->tmp = malloc(T * H * sizeof(float));
    s->inter = malloc(T * I * sizeof(float));
    s->scores = malloc(L * L * sizeof(float));
    s->cls = malloc(2 * B * H * sizeof(float));
    s->qbuf = malloc(fr__dense_scratch_bytes(T, I > H ? I : H));
    if (!s->x || !s->qkv || !s->ctx || !s->tmp || !s->inter || !s->scores || !s->cls || !s->qbuf) {
        fr__scratch_free(s);
        return FR_ENOMEM;
    }
    return 0;
}

void fr__scratch_free(fr__scratch *s) {
    free(s->x);
    free(s->qkv);
    free(s->ctx);
    free(s->tmp);
    free(s->inter);
    free(s->scores);
    free(s->cls);
    free(s->qbuf);
    memset(s, 0, sizeof *s);
}

// ---- forward ----
static void embed(const fr__encoder *e, const fr_seq *seqs, size_t n, float *x) {
    const fr__model_config *c = &e->cfg;
    size_t H = (size_t)c->hidden;
    int roberta = c->family == FR__FAMILY_ROBERTA;
    int pad = c->pad_token_id;
    size_t t = 0;
    for (size_t i = 0; i < n; i++) {
        int count = 0;
        for (size_t j = 0; j < seqs[i].n; j++, t++) {
            int32_t id = seqs[i].ids[j];
            size_t type = !roberta && seqs[i].type_ids ? seqs[i].type_ids[j] : 0;
            size_t p = roberta ? (id != pad ? (size_t)(pad + ++count) : (size_t)pad) : j;
            const float *w = e->word + (size_t)id * H, *ty = e->type + type * H, *po = e->pos + p * H;
            float *row = x + t * H;
            for (size_t h = 0; h < H; h++) row[h] = (w[h] + ty[h]) + po[h];
        }
    }
}

// Dense layer `slot` (gemm.h order) of layer l: sgemm on the float weights (P NULL), or the
// packed BF16 / INT8 kernels of P (layers, 4).
static void dense(const fr__dense *P, int l, int slot, const float *x, size_t T, size_t k,
                  const float *w, const float *b, size_t n, float *y, size_t ldy, fr__nn_act act,
                  fr__scratch *s) {
    if (P) fr__dense_apply(&P[(size_t)l * 4 + (size_t)slot], x, T, y, ldy, act, s->qbuf);
    else fr__nn_linear(x, T, k, w, b, n, y, ldy, act);
}

static fr__nn_act nn_act(fr__hidden_act a) {
    return a == FR__ACT_GELU ? FR__NN_GELU : a == FR__ACT_GELU_TANH ? FR__NN_GELU_TANH : FR__NN_RELU;
}

const float *fr__encoder_hidden(const fr__encoder *e, const fr_seq *seqs, size_t n, fr__scratch *s) {
    return fr__encoder_hidden_as(e, e->dtype, seqs, n, s);
}

const float *fr__encoder_hidden_as(const fr__encoder *e, fr__wtype wt, const fr_seq *seqs, size_t n,
                                   fr__scratch *s) {
    const fr__dense *P = e->packs[wt].dense;
    FR_ASSERT(wt == FR__WT_F32 || P);  // fr__encoder_pack first
    const fr__model_config *c = &e->cfg;
    size_t H = (size_t)c->hidden, I = (size_t)c->intermediate, nh = (size_t)c->heads, d = H / nh;
    float eps = (float)c->layer_norm_eps, scale = (float)(1.0 / sqrt((double)d));
    size_t T = 0;
    for (size_t i = 0; i < n; i++) T += seqs[i].n;
    FR_ASSERT(T <= s->max_tokens);
    float *x = s->x, *tmp = s->tmp;  // swapped after each residual LayerNorm
    embed(e, seqs, n, x);
    fr__nn_layernorm(x, NULL, T, H, e->emb_g, e->emb_b, eps);
    for (int l = 0; l < c->layers; l++) {
        const fr__layer *L = &e->layers[l];
        if (P) {  // one fused (3H, H) product
            fr__dense_apply(&P[(size_t)l * 4], x, T, s->qkv, 3 * H, FR__NN_NONE, s->qbuf);
        } else {
            fr__nn_linear(x, T, H, L->wq, L->bq, H, s->qkv, 3 * H, FR__NN_NONE);
            fr__nn_linear(x, T, H, L->wk, L->bk, H, s->qkv + H, 3 * H, FR__NN_NONE);
            fr__nn_linear(x, T, H, L->wv, L->bv, H, s->qkv + 2 * H, 3 * H, FR__NN_NONE);
        }
        size_t t = 0;
        for (size_t i = 0; i < n; i++) {
            size_t len = seqs[i].n;
            FR_ASSERT(len <= s->max_len);
            for (size_t h = 0; h < nh; h++) {
                const float *q = s->qkv + t * 3 * H + h * d;
                fr__nn_attention(q, q + H, q + 2 * H, 3 * H, len, d, scale, s->ctx + t * H + h * d, H,
                                 s->scores);
            }
            t += len;
        }
        dense(P, l, 1, s->ctx, T, H, L->wo, L->bo, H, tmp, H, FR__NN_NONE, s);
        fr__nn_layernorm(tmp, x, T, H, L->ln1_g, L->ln1_b, eps);
        float *sw = x; x = tmp; tmp = sw;
        dense(P, l, 2, x, T, H, L->w1, L->b1, I, s->inter, I, nn_act(c->act), s);
        dense(P, l, 3, s->inter, T, I, L->w2, L->b2, H, tmp, H, FR__NN_NONE, s);
        fr__nn_layernorm(tmp, x, T, H, L->ln2_g, L->ln2_b, eps);
        sw = x; x = tmp; tmp = sw;
    }
    return x;
}

void fr__encoder_forward(const fr__encoder *e, const fr_seq *seqs, size_t n, fr__scratch *s,
                         float *logits) {
    const fr__model_config *c = &e->cfg;
    size_t H = (size_t)c->hidden;
    const float *x = fr__encoder_hidden(e, seqs, n, s);
    // Head on the first token ([CLS] / <s>) of each sequence.
    float *cls = s->cls, *hid = s->cls + n * H;
    size_t t = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(cls + i * H, x + t * H, H * sizeof(float));
        t += seqs[i].n;
    }
    fr__nn_linear(cls, n, H, e->head_w, e->head_b, H, hid, H, FR__NN_TANH);
    fr__nn_linear(hid, n, H, e->out_w, e->out_b, (size_t)c->num_labels, logits,
                  (size_t)c->num_labels, FR__NN_NONE);
}
