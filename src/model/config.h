/* config.h — what a Hugging Face model directory's JSON files say about the math.
 *
 * config.json (transformers PretrainedConfig / BertConfig / RobertaConfig): architectures,
 * model_type, hidden_size, num_hidden_layers, num_attention_heads, intermediate_size,
 * hidden_act, layer_norm_eps, max_position_embeddings, type_vocab_size, vocab_size,
 * pad_token_id, id2label / num_labels, position_embedding_type (absolute only), and
 * sentence-transformers' CrossEncoder activation ("sentence_transformers": {"activation_fn"}
 * since v4, "sbert_ce_default_activation_function" before). config_sentence_transformers.json
 * may also carry "activation_fn". tokenizer_config.json gives model_max_length.
 */
#ifndef FR_MODEL_CONFIG_H
#define FR_MODEL_CONFIG_H

#include "base/base.h"

typedef enum { FR__FAMILY_BERT, FR__FAMILY_ROBERTA } fr__family;
typedef enum { FR__ACT_GELU, FR__ACT_GELU_TANH, FR__ACT_RELU } fr__hidden_act;
typedef enum { FR__REL_SIGMOID, FR__REL_SOFTMAX } fr__relevance;

typedef struct fr__model_config {
    char architecture[64];
    char model_type[32];
    char hidden_act_name[32];
    fr__family family;
    int has_head;            // 1: *ForSequenceClassification; 0: a bare backbone (bi-encoders)
    fr__hidden_act act;
    int hidden, layers, heads, intermediate;
    double layer_norm_eps;
    int max_position_embeddings, type_vocab_size, vocab_size, pad_token_id;
    int num_labels;
    int position_offset;     // first position id: 0 (BERT) or pad_token_id + 1 (RoBERTa)
    int max_length;          // usable tokens per sequence (see fr__model_config_finish)
    fr__relevance relevance;
    char activation_source[96];
    char st_activation[96];  // the recorded activation class path, "" when none
} fr__model_config;

// Parses config.json text. `name` is used in messages. OUT: *c (fully overwritten).
int fr__model_config_parse(const char *json, size_t len, const char *name, fr__model_config *c,
                           fr_error *err);
// Applies config_sentence_transformers.json (activation_fn) when config.json recorded none.
int fr__model_config_parse_st(const char *json, size_t len, const char *name,
                              fr__model_config *c, fr_error *err);
// Applies tokenizer_config.json's model_max_length (capped by the position table).
int fr__model_config_parse_tokcfg(const char *json, size_t len, const char *name,
                                  fr__model_config *c, fr_error *err);
// Reads all three from dir (the latter two optional).
int fr__model_config_load(const char *dir, fr__model_config *c, fr_error *err);

#endif
