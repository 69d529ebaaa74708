/* embed.c — the public fr_embedder API: sentence-transformers bi-encoders (backbone → pooling
 * → optional L2 normalisation) over the same encoder as the cross-encoders.
 *
 * Files read (sentence-transformers 2.x/3.x layout, formats as SentenceTransformer.load reads
 * them):
 *   modules.json            [{"idx", "name", "path", "type"}], types
 *                           sentence_transformers.models.Transformer (path "" or a subfolder),
 *                           .Pooling (path with config.json), .Normalize (no files needed)
 *   <pool>/config.json      word_embedding_dimension, pooling_mode_{cls_token, max_tokens,
 *                           mean_tokens, mean_sqrt_len_tokens, weightedmean_tokens, lasttoken},
 *                           include_prompt
 *   sentence_bert_config.json  max_seq_length, do_lower_case
 *   config_sentence_transformers.json  prompts {name: text}, default_prompt_name
 * Math (sentence_transformers/models/Pooling.py, Normalize.py): CLS = h[0]; mean =
 * sum(h) / max(n, 1e-9) over the text's tokens (specials and prompt included); max = max over
 * tokens; mean_sqrt_len = sum(h) / sqrt(n); lasttoken = h[n-1]; several modes concatenate in
 * the order cls, max, mean, mean_sqrt_len, lasttoken. Normalize = x / max(||x||2, 1e-12).
 *
 * Workload: index-time batches of thousands of passages (64..512 tokens) and single queries.
 * Texts are sorted by length and packed into batches of about batch_tokens tokens; worker
 * threads take batches from a shared counter, each with its own scratch (as model.c does).
 */
#include <cblas.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "model/embed.h"
#include "model/encoder.h"

enum { POOL_CLS = 1, POOL_MAX = 2, POOL_MEAN = 4, POOL_MEAN_SQRT = 8, POOL_LAST = 16 };

struct fr_embedder {
    fr__encoder enc;
    fr_tokenizer *tok;
    int pool;                 // POOL_* bits
    int n_modes;
    int dim;                  // hidden * n_modes
    int normalize;
    int max_length;           // tokens per text, specials included
    int threads;
    char pooling_name[64];
    char **prompt_names, **prompt_texts;  // (n_prompts) each
    int n_prompts;
    char *default_prompt;
    // Other compute types than the one opened with (fr_embed_opts.dtype: int8 queries against
    // f32 documents), packed once on first use or by fr_embedder_prepare. packed[t] is set,
    // with release order, after enc.packs[t] is complete, so readers need no lock.
    pthread_mutex_t pack_mu;
    atomic_int packed[3];
};

// ---- open ----
fr_embedder_opts fr_embedder_opts_default(void) {
    return (fr_embedder_opts){.threads = 0, .dtype = FR_DTYPE_F32};
}

fr_embed_opts fr_embed_opts_default(void) {
    return (fr_embed_opts){.threads = 0, .batch_tokens = 0, .prompt_name = NULL, .prompt = NULL,
                           .dtype = -1};
}

static int read_json(const char *dir, const char *sub, const char *file, int required, json_t **out,
                     fr_error *err) {
    char path[4096];
    *out = NULL;
    if ((size_t)snprintf(path, sizeof path, "%s%s%s/%s", dir, *sub ? "/" : "", sub, file) >= sizeof path)
        return fr__err(err, FR_EINVAL, "%s: path too long", dir);
    if (access(path, F_OK) != 0)
        return required ? fr__err(err, FR_ENOTFOUND, "%s: no such file", path) : 0;
    char *text = NULL;
    size_t len = 0;
    int rc = fr__read_file(path, &text, &len, err);
    if (rc < 0) return rc;
    json_error_t je;
    *out = json_loadb(text, len, 0, &je);
    free(text);
    if (!*out) return fr__err(err, FR_EFORMAT, "%s: %s at line %d", path, je.text, je.line);
    if (!json_is_object(*out) && !json_is_array(*out)) {
        json_decref(*out);
        *out = NULL;
        return fr__err(err, FR_EFORMAT, "%s: not a JSON object or array", path);
    }
    return 0;
}

static int flag(json_t *o, const char *key) { return json_is_true(json_object_get(o, key)); }

static int parse_pooling(json_t *pc, int hidden, const char *name, fr__st_pooling *p,
                         fr_error *err) {
    memset(p, 0, sizeof *p);
    if (!json_is_object(pc)) return fr__err(err, FR_EFORMAT, "%s: not a JSON object", name);
    json_t *dim = json_object_get(pc, "word_embedding_dimension");
    if (dim && (!json_is_integer(dim) || json_integer_value(dim) != hidden))
        return fr__err(err, FR_EFORMAT, "%s: word_embedding_dimension is not the hidden size %d", name,
                       hidden);
    if (flag(pc, "pooling_mode_weightedmean_tokens"))
        return fr__err(err, FR_EUNSUPPORTED, "%s: pooling_mode_weightedmean_tokens is not supported", name);
    json_t *ip = json_object_get(pc, "include_prompt");
    if (ip && json_is_false(ip))
        return fr__err(err, FR_EUNSUPPORTED, "%s: include_prompt false is not supported", name);
    static const struct { const char *key, *label; int bit; } M[] = {
        {"pooling_mode_cls_token", "cls", POOL_CLS},
        {"pooling_mode_max_tokens", "max", POOL_MAX},
        {"pooling_mode_mean_tokens", "mean", POOL_MEAN},
        {"pooling_mode_mean_sqrt_len_tokens", "mean_sqrt_len", POOL_MEAN_SQRT},
        {"pooling_mode_lasttoken", "lasttoken", POOL_LAST},
    };
    size_t at = 0;
    for (size_t i = 0; i < sizeof M / sizeof M[0]; i++)
        if (flag(pc, M[i].key)) {
            p->pool |= M[i].bit;
            p->n_modes++;
            at += (size_t)snprintf(p->name + at, sizeof p->name - at, "%s%s", at ? "+" : "", M[i].label);
        }
    if (!p->n_modes) return fr__err(err, FR_EFORMAT, "%s: no pooling mode is set", name);
    return 0;
}

static int parse_modules(json_t *mods, fr__st_modules *out, fr_error *err) {
    memset(out, 0, sizeof *out);
    if (!json_is_array(mods)) return fr__err(err, FR_EFORMAT, "modules.json: not a JSON array");
    int stage = 0;  // 0: want Transformer, 1: want Pooling, 2: Normalize allowed, 3: done
    for (size_t i = 0; i < json_array_size(mods); i++) {
        json_t *m = json_array_get(mods, i);
        const char *type = json_string_value(json_object_get(m, "type"));
        const char *path = json_string_value(json_object_get(m, "path"));
        if (!type || !path) return fr__err(err, FR_EFORMAT, "modules.json: module %zu has no type or path", i);
        if (strstr(path, "..") || path[0] == '/')
            return fr__err(err, FR_EFORMAT, "modules.json: module %zu path '%.100s' leaves the model "
                           "directory", i, path);
        if (strlen(path) >= sizeof out->pooling)
            return fr__err(err, FR_EFORMAT, "modules.json: module %zu path is too long", i);
        const char *t = strrchr(type, '.');
        t = t ? t + 1 : type;
        if (!strcmp(t, "Transformer") && stage == 0) {
            snprintf(out->transformer, sizeof out->transformer, "%s", path);
            stage = 1;
        } else if (!strcmp(t, "Pooling") && stage == 1) {
            snprintf(out->pooling, sizeof out->pooling, "%s", path);
            stage = 2;
        } else if (!strcmp(t, "Normalize") && stage == 2) {
            out->normalize = 1;
            stage = 3;
        } else {
            return fr__err(err, FR_EUNSUPPORTED, "modules.json: module %zu (%.100s) is not supported "
                           "here (supported: Transformer, then Pooling, then optional Normalize)", i, type);
        }
    }
    if (stage < 2) return fr__err(err, FR_EFORMAT, "modules.json: needs a Transformer and a Pooling module");
    return 0;
}

static int load_bytes(const char *json, size_t len, const char *name, json_t **out, fr_error *err) {
    json_error_t je;
    *out = json_loadb(json, len, 0, &je);
    return *out ? 0 : fr__err(err, FR_EFORMAT, "%s: %s at line %d", name, je.text, je.line);
}

int fr__st_modules_parse(const char *json, size_t len, fr__st_modules *out, fr_error *err) {
    json_t *m = NULL;
    memset(out, 0, sizeof *out);
    int rc = load_bytes(json, len, "modules.json", &m, err);
    if (rc == 0) rc = parse_modules(m, out, err);
    json_decref(m);
    return rc;
}

int fr__st_pooling_parse(const char *json, size_t len, int hidden, const char *name,
                         fr__st_pooling *out, fr_error *err) {
    json_t *p = NULL;
    memset(out, 0, sizeof *out);
    int rc = load_bytes(json, len, name, &p, err);
    if (rc == 0) rc = parse_pooling(p, hidden, name, out, err);
    json_decref(p);
    return rc;
}

static int parse_st_config(fr_embedder *e, json_t *st, fr_error *err) {
    json_t *pr = json_object_get(st, "prompts");
    if (json_is_object(pr) && json_object_size(pr)) {
        size_t n = json_object_size(pr);
        e->prompt_names = calloc(n, sizeof *e->prompt_names);
        e->prompt_texts = calloc(n, sizeof *e->prompt_texts);
        if (!e->prompt_names || !e->prompt_texts) return fr__err(err, FR_ENOMEM, "out of memory");
        const char *k;
        json_t *v;
        json_object_foreach(pr, k, v) {
            if (!json_is_string(v))
                return fr__err(err, FR_EFORMAT, "config_sentence_transformers.json: prompt '%.60s' is "
                               "not a string", k);
            int i = e->n_prompts++;
            e->prompt_names[i] = strdup(k);
            e->prompt_texts[i] = strdup(json_string_value(v));
            if (!e->prompt_names[i] || !e->prompt_texts[i]) return fr__err(err, FR_ENOMEM, "out of memory");
        }
    }
    const char *d = json_string_value(json_object_get(st, "default_prompt_name"));
    if (d) {
        if (!fr_embedder_prompt(e, d))
            return fr__err(err, FR_EFORMAT, "config_sentence_transformers.json: default_prompt_name "
                           "'%.60s' is not in prompts", d);
        if (!(e->default_prompt = strdup(d))) return fr__err(err, FR_ENOMEM, "out of memory");
    }
    return 0;
}

static int open_dir(const char *dir, const fr_embedder_opts *opts, fr_embedder **out,
                    fr_error *err) {
    *out = NULL;
    fr_embedder_opts o = opts ? *opts : fr_embedder_opts_default();
    if (!dir) return fr__err(err, FR_EINVAL, "fr_embedder_open: no directory");
    if (o.threads < 0 || o.threads > 1024)
        return fr__err(err, FR_EINVAL, "fr_embedder_open: threads %d out of range", o.threads);
    if ((unsigned)o.dtype > FR_DTYPE_INT8)
        return fr__err(err, FR_EINVAL, "fr_embedder_open: unknown dtype %d", (int)o.dtype);
    fr_embedder *e = calloc(1, sizeof *e);
    if (!e) return fr__err(err, FR_ENOMEM, "out of memory");
    pthread_mutex_init(&e->pack_mu, NULL);
    json_t *mods = NULL, *sb = NULL, *st = NULL;
    char tdir[4096], path[4200];
    int rc = read_json(dir, "", "modules.json", 0, &mods, err);
    if (rc < 0) goto fail;
    fr__st_modules sm = {0};
    if (mods && (rc = parse_modules(mods, &sm, err)) < 0) goto fail;
    if ((size_t)snprintf(tdir, sizeof tdir, "%s%s%s", dir, *sm.transformer ? "/" : "", sm.transformer) >=
        sizeof tdir) {
        rc = fr__err(err, FR_EINVAL, "path too long");
        goto fail;
    }
    // Pooling needs the hidden size: the backbone is opened first.
    if ((rc = fr__encoder_open(tdir, &e->enc, err)) < 0) goto fail;
    if ((rc = fr__encoder_set_dtype(&e->enc, (fr__wtype)o.dtype, err)) < 0) goto fail;
    atomic_store(&e->packed[FR__WT_F32], 1);
    atomic_store(&e->packed[o.dtype], 1);
    if (mods) {
        json_t *pc = NULL;
        fr__st_pooling pl;
        if ((rc = read_json(dir, sm.pooling, "config.json", 1, &pc, err)) < 0) goto fail;
        rc = parse_pooling(pc, e->enc.cfg.hidden, "1_Pooling/config.json", &pl, err);
        json_decref(pc);
        if (rc < 0) goto fail;
        e->pool = pl.pool;
        e->n_modes = pl.n_modes;
        snprintf(e->pooling_name, sizeof e->pooling_name, "%s", pl.name);
        e->normalize = sm.normalize;
    } else {
        e->pool = POOL_MEAN;
        e->n_modes = 1;
        snprintf(e->pooling_name, sizeof e->pooling_name, "mean");
    }
    e->dim = e->enc.cfg.hidden * e->n_modes;
    e->max_length = e->enc.cfg.max_length;
    if ((rc = read_json(tdir, "", "sentence_bert_config.json", 0, &sb, err)) < 0) goto fail;
    if (sb) {
        json_t *ms = json_object_get(sb, "max_seq_length");
        if (json_is_integer(ms) && json_integer_value(ms) >= 1 && json_integer_value(ms) < e->max_length)
            e->max_length = (int)json_integer_value(ms);
        if (flag(sb, "do_lower_case")) {
            rc = fr__err(err, FR_EUNSUPPORTED, "sentence_bert_config.json: do_lower_case is not supported");
            goto fail;
        }
    }
    if ((rc = read_json(dir, "", "config_sentence_transformers.json", 0, &st, err)) < 0) goto fail;
    if (st && (rc = parse_st_config(e, st, err)) < 0) goto fail;
    snprintf(path, sizeof path, "%s/tokenizer.json", tdir);
    if ((rc = fr_tokenizer_open(path, &e->tok, err)) < 0) goto fail;
    if (fr_tokenizer_vocab_size(e->tok) > (size_t)e->enc.cfg.vocab_size) {
        rc = fr__err(err, FR_EFORMAT, "tokenizer.json has %zu tokens but the embedding table has %d rows",
                     fr_tokenizer_vocab_size(e->tok), e->enc.cfg.vocab_size);
        goto fail;
    }
    e->threads = o.threads ? o.threads : fr__online_cpus();
    openblas_set_num_threads(1);
    json_decref(mods);
    json_decref(sb);
    json_decref(st);
    *out = e;
    return 0;
fail:
    json_decref(mods);
    json_decref(sb);
    json_decref(st);
    fr_embedder_free(e);
    return fr__err_prefix(err, rc, "%s", dir);
}

// `dir` may also be a Hugging Face repo id ("ORG/NAME[@REV]") or an alias, resolved from the
// local hub cache (src/hub/cache.c); a path that exists is used as it is.
int fr_embedder_open(const char *dir, const fr_embedder_opts *opts, fr_embedder **out, fr_error *err) {
    *out = NULL;
    if (!dir) return fr__err(err, FR_EINVAL, "fr_embedder_open: no directory");
    char *resolved = NULL;
    int rc = fr_hub_resolve(dir, &resolved, err);
    if (rc < 0) return rc;
    rc = open_dir(resolved, opts, out, err);
    free(resolved);
    return rc;
}

void fr_embedder_free(fr_embedder *e) {
    if (!e) return;
    pthread_mutex_destroy(&e->pack_mu);
    fr_tokenizer_free(e->tok);
    fr__encoder_close(&e->enc);
    for (int i = 0; i < e->n_prompts; i++) {
        free(e->prompt_names[i]);
        free(e->prompt_texts[i]);
    }
    free(e->prompt_names);
    free(e->prompt_texts);
    free(e->default_prompt);
    free(e);
}

int fr_embedder_dim(const fr_embedder *e) { return e->dim; }

int fr_embedder_prepare(fr_embedder *e, fr_dtype dtype, fr_error *err) {
    if ((unsigned)dtype > FR_DTYPE_INT8)
        return fr__err(err, FR_EINVAL, "fr_embedder_prepare: unknown dtype %d", (int)dtype);
    if (atomic_load(&e->packed[dtype])) return 0;
    pthread_mutex_lock(&e->pack_mu);
    int rc = 0;
    if (!atomic_load(&e->packed[dtype])) {
        rc = fr__encoder_pack(&e->enc, (fr__wtype)dtype, err);
        if (rc == 0) atomic_store(&e->packed[dtype], 1);
    }
    pthread_mutex_unlock(&e->pack_mu);
    return rc;
}

void fr_embedder_get_info(const fr_embedder *e, fr_embedder_info *out) {
    memset(out, 0, sizeof *out);
    out->architecture = e->enc.cfg.architecture;
    out->dim = e->dim;
    out->hidden = e->enc.cfg.hidden;
    out->layers = e->enc.cfg.layers;
    out->max_length = e->max_length;
    out->pooling = e->pooling_name;
    out->normalize = e->normalize;
    out->n_prompts = e->n_prompts;
    out->default_prompt = e->default_prompt;
    out->compute_dtype = fr_dtype_name((fr_dtype)e->enc.dtype);
    out->kernel_isa = e->enc.dense ? e->enc.dense[0].isa->name : "sgemm";
}

const char *fr_embedder_prompt(const fr_embedder *e, const char *name) {
    if (!name) return NULL;
    for (int pass = 0; pass < 2; pass++) {
        const char *want = name;
        if (pass == 1) {
            if (!strcmp(name, "passage")) want = "document";
            else if (!strcmp(name, "document")) want = "passage";
            else break;
        }
        for (int i = 0; i < e->n_prompts; i++)
            if (e->prompt_names[i] && !strcmp(e->prompt_names[i], want)) return e->prompt_texts[i];
    }
    return NULL;
}

// ---- pooling ----
// h: (T, H) hidden states of the batch; writes one (dim) row per sequence into out.
static void pool(const fr_embedder *e, const float *h, const fr_seq *seqs, size_t n, float *const *out) {
    size_t H = (size_t)e->enc.cfg.hidden, t = 0;
    for (size_t i = 0; i < n; i++) {
        const float *x = h + t * H;  // (len, H)
        size_t len = seqs[i].n;
        float *o = out[i];
        if (e->pool & POOL_CLS) { memcpy(o, x, H * sizeof *o); o += H; }
        if (e->pool & POOL_MAX) {
            for (size_t k = 0; k < H; k++) {
                float m = x[k];
                for (size_t j = 1; j < len; j++) m = x[j * H + k] > m ? x[j * H + k] : m;
                o[k] = m;
            }
            o += H;
        }
        if (e->pool & (POOL_MEAN | POOL_MEAN_SQRT)) {
            for (size_t k = 0; k < H; k++) {
                double sum = 0;
                for (size_t j = 0; j < len; j++) sum += x[j * H + k];
                if (e->pool & POOL_MEAN) o[k] = (float)(sum / (double)len);
                if (e->pool & POOL_MEAN_SQRT)
                    o[k + (e->pool & POOL_MEAN ? H : 0)] = (float)(sum / sqrt((double)len));
            }
            o += H * (size_t)(!!(e->pool & POOL_MEAN) + !!(e->pool & POOL_MEAN_SQRT));
        }
        if (e->pool & POOL_LAST) { memcpy(o, x + (len - 1) * H, H * sizeof *o); }
        if (e->normalize) {
            double ss = 0;
            for (int k = 0; k < e->dim; k++) ss += (double)out[i][k] * out[i][k];
            double nrm = sqrt(ss);
            float inv = (float)(1.0 / (nrm > 1e-12 ? nrm : 1e-12));
            for (int k = 0; k < e->dim; k++) out[i][k] *= inv;
        }
        t += len;
    }
}

// ---- embedding ----
typedef struct job {
    const fr_embedder *e;
    fr__wtype wt;              // compute type of the dense layers
    const fr_seq *seqs;        // sorted by length, longest first
    float *const *rows;        // output row of each sorted sequence
    const size_t *bstart;      // batch b covers seqs[bstart[b], bstart[b + 1])
    size_t n_batches, max_tokens, max_len, max_seqs;
    atomic_size_t next;
    atomic_int rc;
} job;

static void *worker(void *arg) {
    job *j = arg;
    fr__scratch s;
    if (fr__scratch_init(&s, &j->e->enc.cfg, j->max_tokens, j->max_len, j->max_seqs) < 0) {
        atomic_store(&j->rc, FR_ENOMEM);
        return NULL;
    }
    size_t b;
    while ((b = atomic_fetch_add(&j->next, 1)) < j->n_batches && atomic_load(&j->rc) == 0) {
        size_t lo = j->bstart[b], hi = j->bstart[b + 1];
        const float *h = fr__encoder_hidden_as(&j->e->enc, j->wt, j->seqs + lo, hi - lo, &s);
        pool(j->e, h, j->seqs + lo, hi - lo, j->rows + lo);
    }
    fr__scratch_free(&s);
    return NULL;
}

typedef struct { size_t len, idx; } by_len;
static int cmp_len(const void *a, const void *b) {
    const by_len *x = a, *y = b;
    if (x->len != y->len) return x->len > y->len ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

int fr_embedder_embed(const fr_embedder *e, const char *const *texts, size_t n,
                      const fr_embed_opts *opts, float *out, fr_error *err) {
    fr_embed_opts o = opts ? *opts : fr_embed_opts_default();
    if (!n) return 0;
    if (!texts || !out) return fr__err(err, FR_EINVAL, "fr_embedder_embed: NULL argument");
    if (o.threads < 0 || o.batch_tokens < 0)
        return fr__err(err, FR_EINVAL, "fr_embedder_embed: negative threads or batch_tokens");
    if (o.dtype < -1 || o.dtype > FR_DTYPE_INT8)
        return fr__err(err, FR_EINVAL, "fr_embedder_embed: unknown dtype %d", o.dtype);
    fr__wtype wt = o.dtype < 0 ? e->enc.dtype : (fr__wtype)o.dtype;
    // the handle is shared and logically immutable: packing another type is a one-time,
    // locked cache fill (fr_embedder_prepare)
    int prc = fr_embedder_prepare((fr_embedder *)(uintptr_t)e, (fr_dtype)wt, err);
    if (prc < 0) return prc;
    const char *prefix = o.prompt;
    if (!prefix) {
        const char *name = o.prompt_name ? o.prompt_name : e->default_prompt;
        if (name && !(prefix = fr_embedder_prompt(e, name)))
            return fr__err(err, FR_ENOTFOUND, "the model has no prompt named '%.60s' (%d prompts in "
                           "config_sentence_transformers.json)", name, e->n_prompts);
    }
    size_t plen = prefix ? strlen(prefix) : 0;
    int rc = 0;
    fr_encoding *encs = calloc(n, sizeof *encs);
    fr_seq *sorted = malloc(n * sizeof *sorted);
    float **rows = malloc(n * sizeof *rows);
    by_len *order = malloc(n * sizeof *order);
    size_t *bstart = malloc((n + 1) * sizeof *bstart);
    char *buf = NULL;
    size_t bcap = 0;
    pthread_t *tids = NULL;
    if (!encs || !sorted || !rows || !order || !bstart) { rc = fr__err(err, FR_ENOMEM, "out of memory"); goto out; }
    fr_encode_opts eo = fr_encode_opts_default();
    eo.max_length = e->max_length;
    eo.strategy = FR_TRUNC_LONGEST_FIRST;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (!texts[i]) { rc = fr__err(err, FR_EINVAL, "text %zu is NULL", i); goto out; }
        size_t tl = strlen(texts[i]);
        if (plen + tl + 1 > bcap) {
            bcap = (plen + tl + 1) * 2;
            char *nb = realloc(buf, bcap);
            if (!nb) { rc = fr__err(err, FR_ENOMEM, "out of memory"); goto out; }
            buf = nb;
        }
        if (plen) memcpy(buf, prefix, plen);
        memcpy(buf + plen, texts[i], tl + 1);
        if ((rc = fr_tokenizer_encode(e->tok, buf, (ptrdiff_t)(plen + tl), NULL, 0, &eo, &encs[i], err)) < 0) {
            fr__err_prefix(err, rc, "text %zu", i);
            goto out;
        }
        if (!encs[i].n) { rc = fr__err(err, FR_EINVAL, "text %zu encodes to no tokens", i); goto out; }
        for (size_t j = 0; j < encs[i].n; j++)
            if (encs[i].ids[j] < 0 || encs[i].ids[j] >= e->enc.cfg.vocab_size) {
                rc = fr__err(err, FR_ERANGE, "text %zu: token id %d is outside the vocabulary", i,
                             (int)encs[i].ids[j]);
                goto out;
            }
        if (encs[i].type_ids && e->enc.cfg.family == FR__FAMILY_BERT)
            for (size_t j = 0; j < encs[i].n; j++)
                if (encs[i].type_ids[j] >= e->enc.cfg.type_vocab_size) {
                    rc = fr__err(err, FR_ERANGE, "text %zu: type id %d out of range", i, encs[i].type_ids[j]);
                    goto out;
                }
        order[i] = (by_len){encs[i].n, i};
        total += encs[i].n;
    }
    qsort(order, n, sizeof *order, cmp_len);
    for (size_t i = 0; i < n; i++) {
        const fr_encoding *en = &encs[order[i].idx];
        sorted[i] = (fr_seq){en->ids, en->type_ids, en->n};
        rows[i] = out + order[i].idx * (size_t)e->dim;
    }
    size_t threads = (size_t)(o.threads ? o.threads : e->threads);
    size_t budget = (size_t)(o.batch_tokens ? o.batch_tokens : 2048);
    size_t max_tokens, max_seqs;
    size_t n_batches = fr__plan_batches(sorted, n, total, threads, budget, bstart, &max_tokens,
                                        &max_seqs);
    job j = {.e = e, .wt = wt, .seqs = sorted, .rows = rows, .bstart = bstart, .n_batches = n_batches,
             .max_tokens = max_tokens, .max_len = sorted[0].n, .max_seqs = max_seqs};
    atomic_init(&j.next, 0);
    atomic_init(&j.rc, 0);
    if (threads > n_batches) threads = n_batches;
    size_t started = 0;
    if (threads > 1) {
        tids = malloc((threads - 1) * sizeof *tids);
        for (; tids && started < threads - 1; started++)
            if (pthread_create(&tids[started], NULL, worker, &j) != 0) break;
    }
    worker(&j);
    for (size_t t = 0; t < started; t++) pthread_join(tids[t], NULL);
    if ((rc = atomic_load(&j.rc)) < 0)
        fr__err(err, rc, "cannot allocate activations for %zu tokens", max_tokens);
out:
    if (encs)
        for (size_t i = 0; i < n; i++) fr_encoding_free(&encs[i]);
    free(encs);
    free(sorted);
    free(rows);
    free(order);
    free(bstart);
    free(buf);
    free(tids);
    return rc;
}
