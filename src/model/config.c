/* config.c — reads a model directory's config.json, config_sentence_transformers.json and
 * tokenizer_config.json into fr__model_config (format notes in config.h). Only the fields that
 * change the math are read; anything that would make finerank compute a different function
 * than transformers (another architecture, relative positions, an unknown activation,
 * more than two labels) is an FR_EUNSUPPORTED error rather than a wrong score.
 */
#include "model/config.h"

#include <jansson.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

// Limits far above any released reranker; they keep size arithmetic and allocations sane.
#define MAX_HIDDEN 16384
#define MAX_LAYERS 256
#define MAX_INTER (4 * 16384)
#define MAX_VOCAB (4 * 1024 * 1024)
#define MAX_POS (1 << 20)

static const struct { const char *arch, *model_type; fr__family family; int head; } ARCHS[] = {
    {"BertForSequenceClassification", "bert", FR__FAMILY_BERT, 1},
    {"RobertaForSequenceClassification", "roberta", FR__FAMILY_ROBERTA, 1},
    {"XLMRobertaForSequenceClassification", "xlm-roberta", FR__FAMILY_ROBERTA, 1},
    // Bare backbones, as sentence-transformers saves bi-encoders (no classification head).
    {"BertModel", "bert", FR__FAMILY_BERT, 0},
    {"RobertaModel", "roberta", FR__FAMILY_ROBERTA, 0},
    {"XLMRobertaModel", "xlm-roberta", FR__FAMILY_ROBERTA, 0},
};

static int get_int(json_t *root, const char *name, const char *key, int lo, int hi, int def,
                   int *out, fr_error *err) {
    json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v)) {
        if (def == INT32_MIN) return fr__err(err, FR_EFORMAT, "%s: missing \"%s\"", name, key);
        *out = def;
        return 0;
    }
    if (!json_is_integer(v))
        return fr__err(err, FR_EFORMAT, "%s: \"%s\" is not an integer", name, key);
    json_int_t x = json_integer_value(v);
    if (x < lo || x > hi)
        return fr__err(err, FR_ERANGE, "%s: \"%s\" = %lld is outside [%d, %d]", name, key,
                       (long long)x, lo, hi);
    *out = (int)x;
    return 0;
}

// Maps a torch activation class path to the relevance mapping. Returns 0 if known.
static int set_activation(fr__model_config *c, const char *path, const char *source) {
    snprintf(c->st_activation, sizeof c->st_activation, "%s", path);
    snprintf(c->activation_source, sizeof c->activation_source, "%s", source);
    // Sigmoid and Identity are what CrossEncoder records; with one label, Identity means the
    // caller wanted raw logits, which fr_rerank_score.raw already carries, so relevance stays
    // the sigmoid (the [0, 1] mapping CrossEncoder uses by default). Two labels: softmax.
    c->relevance = c->num_labels == 2 ? FR__REL_SOFTMAX : FR__REL_SIGMOID;
    return 0;
}

int fr__model_config_parse(const char *json, size_t len, const char *name, fr__model_config *c,
                           fr_error *err) {
    memset(c, 0, sizeof *c);
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) return fr__err(err, FR_EFORMAT, "%s: %s at line %d", name, je.text, je.line);
    int rc = 0;
    if (!json_is_object(root)) { rc = fr__err(err, FR_EFORMAT, "%s: not a JSON object", name); goto out; }

    json_t *archs = json_object_get(root, "architectures"), *mt = json_object_get(root, "model_type");
    const char *arch = json_is_array(archs) ? json_string_value(json_array_get(archs, 0)) : NULL;
    const char *model_type = json_string_value(mt);
    if (!arch && model_type) {
        // No "architectures": transformers' AutoModel builds the bare backbone of model_type.
        for (size_t i = 3; i < sizeof ARCHS / sizeof ARCHS[0]; i++)
            if (!strcmp(model_type, ARCHS[i].model_type)) arch = ARCHS[i].arch;
    }
    if (!arch) {
        rc = fr__err(err, FR_EUNSUPPORTED, "%s: no \"architectures\"; cannot tell the model head "
                     "(model_type %.40s)", name, model_type ? model_type : "missing");
        goto out;
    }
    int found = -1;
    for (size_t i = 0; i < sizeof ARCHS / sizeof ARCHS[0]; i++)
        if (!strcmp(arch, ARCHS[i].arch)) found = (int)i;
    if (found < 0) {
        rc = fr__err(err, FR_EUNSUPPORTED, "%s: unsupported architecture %.80s (supported: "
                     "BertForSequenceClassification, RobertaForSequenceClassification, "
                     "XLMRobertaForSequenceClassification, BertModel, RobertaModel, XLMRobertaModel)", name, arch);
        goto out;
    }
    if (model_type && strcmp(model_type, ARCHS[found].model_type)) {
        rc = fr__err(err, FR_EUNSUPPORTED, "%s: model_type \"%.40s\" does not match architecture %s",
                     name, model_type, arch);
        goto out;
    }
    snprintf(c->architecture, sizeof c->architecture, "%s", arch);
    snprintf(c->model_type, sizeof c->model_type, "%s", ARCHS[found].model_type);
    c->family = ARCHS[found].family;
    c->has_head = ARCHS[found].head;

    json_t *pet = json_object_get(root, "position_embedding_type");
    if (pet && !json_is_null(pet) && (!json_is_string(pet) || strcmp(json_string_value(pet), "absolute"))) {
        rc = fr__err(err, FR_EUNSUPPORTED, "%s: position_embedding_type \"%.40s\" is not supported "
                     "(only \"absolute\")", name, json_is_string(pet) ? json_string_value(pet) : "?");
        goto out;
    }
    const char *act = json_string_value(json_object_get(root, "hidden_act"));
    if (!act) act = "gelu";  // transformers' default for BERT and RoBERTa configs
    if (!strcmp(act, "gelu")) c->act = FR__ACT_GELU;
    else if (!strcmp(act, "gelu_new") || !strcmp(act, "gelu_pytorch_tanh") || !strcmp(act, "gelu_fast"))
        c->act = FR__ACT_GELU_TANH;  // all three are 0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x^3)))
    else if (!strcmp(act, "relu")) c->act = FR__ACT_RELU;
    else {
        rc = fr__err(err, FR_EUNSUPPORTED, "%s: hidden_act \"%.40s\" is not supported (gelu, gelu_new, "
                     "gelu_pytorch_tanh, relu)", name, act);
        goto out;
    }
    snprintf(c->hidden_act_name, sizeof c->hidden_act_name, "%s", act);

    if ((rc = get_int(root, name, "hidden_size", 1, MAX_HIDDEN, INT32_MIN, &c->hidden, err)) < 0 ||
        (rc = get_int(root, name, "num_hidden_layers", 1, MAX_LAYERS, INT32_MIN, &c->layers, err)) < 0 ||
        (rc = get_int(root, name, "num_attention_heads", 1, MAX_HIDDEN, INT32_MIN, &c->heads, err)) < 0 ||
        (rc = get_int(root, name, "intermediate_size", 1, MAX_INTER, INT32_MIN, &c->intermediate, err)) < 0 ||
        (rc = get_int(root, name, "vocab_size", 1, MAX_VOCAB, INT32_MIN, &c->vocab_size, err)) < 0 ||
        (rc = get_int(root, name, "max_position_embeddings", 1, MAX_POS, 512,
                      &c->max_position_embeddings, err)) < 0 ||
        (rc = get_int(root, name, "type_vocab_size", 1, 1024, 2, &c->type_vocab_size, err)) < 0 ||
        (rc = get_int(root, name, "pad_token_id", 0, MAX_VOCAB, c->family == FR__FAMILY_ROBERTA ? 1 : 0,
                      &c->pad_token_id, err)) < 0)
        goto out;
    if (c->hidden % c->heads) {
        rc = fr__err(err, FR_EFORMAT, "%s: hidden_size %d is not a multiple of num_attention_heads %d",
                     name, c->hidden, c->heads);
        goto out;
    }
    json_t *eps = json_object_get(root, "layer_norm_eps");
    c->layer_norm_eps = 1e-12;
    if (eps && !json_is_null(eps)) {
        if (!json_is_number(eps) || !(json_number_value(eps) > 0) || !(json_number_value(eps) < 1)) {
            rc = fr__err(err, FR_EFORMAT, "%s: layer_norm_eps must be a number in (0, 1)", name);
            goto out;
        }
        c->layer_norm_eps = json_number_value(eps);
    }
    // num_labels: transformers derives it from id2label; a bare num_labels also counts; the
    // PretrainedConfig default is 2.
    json_t *id2label = json_object_get(root, "id2label");
    int nl = 2;
    if (json_is_object(id2label)) nl = (int)json_object_size(id2label);
    else if ((rc = get_int(root, name, "num_labels", 1, 1 << 20, 2, &nl, err)) < 0) goto out;
    if (!c->has_head) nl = 1;  // no classifier: labels are meaningless
    if (nl != 1 && nl != 2) {
        rc = fr__err(err, FR_EUNSUPPORTED, "%s: %d labels; rerankers have 1 (a relevance logit) or 2 "
                     "(not relevant, relevant)", name, nl);
        goto out;
    }
    c->num_labels = nl;
    if (c->family == FR__FAMILY_ROBERTA) {
        // create_position_ids_from_input_ids: positions run from padding_idx + 1.
        if (c->pad_token_id >= c->max_position_embeddings - 1) {
            rc = fr__err(err, FR_EFORMAT, "%s: pad_token_id %d leaves no positions in a table of %d",
                         name, c->pad_token_id, c->max_position_embeddings);
            goto out;
        }
        c->position_offset = c->pad_token_id + 1;
    }
    c->max_length = c->max_position_embeddings - c->position_offset;

    // CrossEncoder's activation, newest convention first.
    set_activation(c, "", "default");
    json_t *st = json_object_get(root, "sentence_transformers");
    const char *a = json_is_object(st) ? json_string_value(json_object_get(st, "activation_fn")) : NULL;
    if (a) set_activation(c, a, "config.json sentence_transformers.activation_fn");
    else if ((a = json_string_value(json_object_get(root, "sbert_ce_default_activation_function"))))
        set_activation(c, a, "config.json sbert_ce_default_activation_function");
out:
    json_decref(root);
    return rc;
}

int fr__model_config_parse_st(const char *json, size_t len, const char *name,
                              fr__model_config *c, fr_error *err) {
    json_error_t je;
    json_t *root = json_loadb(json, len, 0, &je);
    if (!root) return fr__err(err, FR_EFORMAT, "%s: %s at line %d", name, je.text, je.line);
    const char *a = json_is_object(root) ? json_string_value(json_object_get(root, "activation_fn")) : NULL;
    if (a && !c->st_activation[0]) set_activation(c, a, "config_sentence_transformers.json activation_fn");
    json_decref(root);
    return 0;
}

int fr__model_config_parse_tokcfg(const char *json, size_t len, const char *name,
                                  fr__model_config *c, fr_error *err) {
    json_error_t je;
    // model_max_length is often int(1e30), beyond json_int_t: read integers as doubles
    json_t *root = json_loadb(json, len, JSON_DECODE_INT_AS_REAL, &je);
    if (!root) return fr__err(err, FR_EFORMAT, "%s: %s at line %d", name, je.text, je.line);
    json_t *v = json_is_object(root) ? json_object_get(root, "model_max_length") : NULL;
    // transformers writes int(1e30) when no limit is known; the position table caps it anyway.
    if (json_is_number(v)) {
        double x = json_number_value(v);
        if (x >= 1 && x < c->max_length) c->max_length = (int)x;
    }
    json_decref(root);
    return 0;
}

static int read_opt(const char *dir, const char *file, char **text, size_t *len, fr_error *err) {
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, file) >= sizeof path)
        return fr__err(err, FR_EINVAL, "%s: path too long", dir);
    *text = NULL;
    if (access(path, F_OK) != 0) return 0;
    return fr__read_file(path, text, len, err);
}

int fr__model_config_load(const char *dir, fr__model_config *c, fr_error *err) {
    char *text = NULL;
    size_t len = 0;
    int rc = read_opt(dir, "config.json", &text, &len, err);
    if (rc < 0) return rc;
    if (!text) return fr__err(err, FR_ENOTFOUND, "%s/config.json: no such file", dir);
    rc = fr__model_config_parse(text, len, "config.json", c, err);
    free(text);
    if (rc < 0) return rc;
    if ((rc = read_opt(dir, "config_sentence_transformers.json", &text, &len, err)) < 0) return rc;
    if (text) {
        rc = fr__model_config_parse_st(text, len, "config_sentence_transformers.json", c, err);
        free(text);
        if (rc < 0) return rc;
    }
    if ((rc = read_opt(dir, "tokenizer_config.json", &text, &len, err)) < 0) return rc;
    if (text) {
        rc = fr__model_config_parse_tokcfg(text, len, "tokenizer_config.json", c, err);
        free(text);
    }
    return rc;
}
