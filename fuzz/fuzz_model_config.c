/* fuzz_model_config.c — libFuzzer target for the model directory's JSON readers: the input is
 * parsed as config.json, then (whatever the outcome) as config_sentence_transformers.json and
 * tokenizer_config.json on top of a valid configuration. Must never crash; a configuration
 * that parses must satisfy the invariants the encoder relies on. */
#include <string.h>

#include "model/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fr__model_config c;
    fr_error err;
    if (fr__model_config_parse((const char *)data, size, "config.json", &c, &err) == 0) {
        FR_ASSERT(c.hidden > 0 && c.heads > 0 && c.hidden % c.heads == 0);
        FR_ASSERT(c.num_labels == 1 || c.num_labels == 2);
        FR_ASSERT(c.max_length >= 1 && c.max_length + c.position_offset <= c.max_position_embeddings);
    }
    static const char base[] = "{\"architectures\":[\"RobertaForSequenceClassification\"],"
                               "\"hidden_size\":8,\"num_hidden_layers\":1,\"num_attention_heads\":2,"
                               "\"intermediate_size\":16,\"vocab_size\":10,\"max_position_embeddings\":20}";
    if (fr__model_config_parse(base, sizeof base - 1, "base", &c, &err) == 0) {
        fr__model_config_parse_st((const char *)data, size, "st.json", &c, &err);
        fr__model_config_parse_tokcfg((const char *)data, size, "tokenizer_config.json", &c, &err);
        FR_ASSERT(c.max_length >= 1 && c.max_length <= 18);
    }
    return 0;
}
