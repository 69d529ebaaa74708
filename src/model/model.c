/* model.c — the public fr_model API: open a model directory, describe it, and score batches
 * of tokenised sequences on several threads.
 *
 * Workload: a request scores tens to thousands of (query, passage) pairs of 16..512 tokens.
 * Sequences are sorted by length (longest first), packed into batches of about
 * batch_tokens tokens (fewer when that leaves a thread idle), and worker threads take batches
 * from a shared counter. Each worker owns its scratch for the whole call, so one fr_model
 * serves any number of concurrent callers. OpenBLAS runs single-threaded: parallelism is over
 * batches, which scales better than splitting each small GEMM and keeps every row's result
 * independent of how the batch was formed.
 */
#include <cblas.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "model/encoder.h"
#include "model/model.h"

// ---- open / free ----
fr_model_opts fr_model_opts_default(void) {
    return (fr_model_opts){.threads = 0, .load_tokenizer = 1};
}

fr_score_opts fr_score_opts_default(void) {
    return (fr_score_opts){.threads = 0, .batch_tokens = 0, .max_length = 0,
                           .truncation = FR_TRUNC_LONGEST_FIRST, .long_docs = FR_LONG_TRUNCATE,
                           .window_stride = 0, .max_windows = 0};
}

static int open_dir(const char *dir, const fr_model_opts *opts, fr_model **out,
                    fr_error *err) {
    *out = NULL;
    fr_model_opts o = opts ? *opts : fr_model_opts_default();
    if (!dir) return fr__err(err, FR_EINVAL, "fr_model_open: no directory");
    if (o.threads < 0 || o.threads > 1024)
        return fr__err(err, FR_EINVAL, "fr_model_open: threads %d out of range", o.threads);
    fr_model *m = calloc(1, sizeof *m);
    if (!m) return fr__err(err, FR_ENOMEM, "out of memory");
    int rc = fr__encoder_open(dir, &m->enc, err);
    if (rc < 0) {
        fr__err_prefix(err, rc, "%s", dir);
        free(m);
        return rc;
    }
    if (!m->enc.cfg.has_head) {
        rc = fr__err(err, FR_EUNSUPPORTED, "%s: unsupported architecture %s for reranking: no "
                     "classification head (a bi-encoder: open it with fr_embedder_open)", dir, m->enc.cfg.architecture);
        fr_model_free(m);
        return rc;
    }
    if ((unsigned)o.dtype > FR_DTYPE_INT8) {
        fr_model_free(m);
        return fr__err(err, FR_EINVAL, "fr_model_open: unknown dtype %d", (int)o.dtype);
    }
    if ((rc = fr__encoder_set_dtype(&m->enc, (fr__wtype)o.dtype, err)) < 0) {
        fr_model_free(m);
        return rc;
    }
    m->threads = o.threads ? o.threads : fr__online_cpus();
    if ((rc = fr__model_open_tokenizer(m, dir, &o, err)) < 0) {
        fr_model_free(m);
        return rc;
    }
    openblas_set_num_threads(1);
    *out = m;
    return 0;
}

// `dir` may also be a Hugging Face repo id ("ORG/NAME[@REV]") or an alias, resolved from the
// local hub cache (src/hub/cache.c); a path that exists is used as it is.
int fr_model_open(const char *dir, const fr_model_opts *opts, fr_model **out, fr_error *err) {
    *out = NULL;
    if (!dir) return fr__err(err, FR_EINVAL, "fr_model_open: no directory");
    char *resolved = NULL;
    int rc = fr_hub_resolve(dir, &resolved, err);
    if (rc < 0) return rc;
    rc = open_dir(resolved, opts, out, err);
    free(resolved);
    return rc;
}

void fr_model_free(fr_model *m) {
    if (!m) return;
    fr__model_close_tokenizer(m);
    fr__encoder_close(&m->enc);
    free(m);
}

const fr_tokenizer *fr_model_tokenizer(const fr_model *m) { return m ? m->tok : NULL; }

void fr_model_get_info(const fr_model *m, fr_model_info *out) {
    const fr__model_config *c = &m->enc.cfg;
    memset(out, 0, sizeof *out);
    out->architecture = c->architecture;
    out->model_type = c->model_type;
    out->weights_dtype = m->enc.weights_dtype;
    out->hidden_act = c->hidden_act_name;
    out->hidden = c->hidden;
    out->layers = c->layers;
    out->heads = c->heads;
    out->intermediate = c->intermediate;
    out->vocab_size = c->vocab_size;
    out->max_position_embeddings = c->max_position_embeddings;
    out->num_labels = c->num_labels;
    out->positive_label = c->num_labels - 1;
    out->max_length = c->max_length;
    out->activation = c->relevance == FR__REL_SOFTMAX ? "softmax" : "sigmoid";
    out->activation_source = c->activation_source;
    out->recorded_activation = c->st_activation;
    out->has_tokenizer = m->tok != NULL;
    out->compute_dtype = fr_dtype_name((fr_dtype)m->enc.dtype);
    out->kernel_isa = m->enc.dense ? m->enc.dense[0].isa->name : "sgemm";
}

int fr_dtype_parse(const char *s, fr_dtype *out) {
    if (!s) return FR_EINVAL;
    if (!strcmp(s, "f32") || !strcmp(s, "float32") || !strcmp(s, "fp32")) *out = FR_DTYPE_F32;
    else if (!strcmp(s, "bf16") || !strcmp(s, "bfloat16")) *out = FR_DTYPE_BF16;
    else if (!strcmp(s, "int8") || !strcmp(s, "i8")) *out = FR_DTYPE_INT8;
    else return FR_EINVAL;
    return 0;
}

const char *fr_dtype_name(fr_dtype d) {
    return d == FR_DTYPE_BF16 ? "bf16" : d == FR_DTYPE_INT8 ? "int8" : "f32";
}

// ---- scoring ----
typedef struct job {
    const fr_model *m;
    const fr_seq *seqs;        // sorted by length, longest first
    const size_t *bstart;      // batch b covers seqs[bstart[b], bstart[b + 1])
    size_t n_batches, max_tokens, max_len, max_seqs;
    float *logits;             // (n, num_labels) in sorted order
    atomic_size_t next;
    atomic_int rc;
} job;

static void *worker(void *arg) {
    job *j = arg;
    fr__scratch s;
    if (fr__scratch_init(&s, &j->m->enc.cfg, j->max_tokens, j->max_len, j->max_seqs) < 0) {
        atomic_store(&j->rc, FR_ENOMEM);
        return NULL;
    }
    size_t nl = (size_t)j->m->enc.cfg.num_labels, b;
    while ((b = atomic_fetch_add(&j->next, 1)) < j->n_batches && atomic_load(&j->rc) == 0) {
        size_t lo = j->bstart[b], hi = j->bstart[b + 1];
        fr__encoder_forward(&j->m->enc, j->seqs + lo, hi - lo, &s, j->logits + lo * nl);
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

int fr__model_max_positions(const fr_model *m) {
    return m->enc.cfg.max_position_embeddings - m->enc.cfg.position_offset;
}

int fr_model_score_ids(const fr_model *m, const fr_seq *seqs, size_t n, const fr_score_opts *opts,
                       float *logits, fr_error *err) {
    fr_score_opts o = opts ? *opts : fr_score_opts_default();
    const fr__model_config *c = &m->enc.cfg;
    if (!n) return 0;
    if (!seqs || !logits) return fr__err(err, FR_EINVAL, "fr_model_score_ids: NULL argument");
    if (o.threads < 0 || o.batch_tokens < 0)
        return fr__err(err, FR_EINVAL, "fr_model_score_ids: negative threads or batch_tokens");
    size_t maxpos = (size_t)fr__model_max_positions(m);
    for (size_t i = 0; i < n; i++) {
        if (!seqs[i].n || !seqs[i].ids)
            return fr__err(err, FR_EINVAL, "sequence %zu is empty (it needs at least the first "
                           "special token)", i);
        if (seqs[i].n > maxpos)
            return fr__err(err, FR_ERANGE, "sequence %zu has %zu tokens; the model has %zu positions",
                           i, seqs[i].n, maxpos);
        for (size_t j = 0; j < seqs[i].n; j++) {
            if (seqs[i].ids[j] < 0 || seqs[i].ids[j] >= c->vocab_size)
                return fr__err(err, FR_ERANGE, "sequence %zu token %zu: id %d is outside the "
                               "vocabulary of %d", i, j, (int)seqs[i].ids[j], c->vocab_size);
            if (c->family == FR__FAMILY_BERT && seqs[i].type_ids &&
                seqs[i].type_ids[j] >= c->type_vocab_size)
                return fr__err(err, FR_ERANGE, "sequence %zu token %zu: type id %d but "
                               "type_vocab_size is %d", i, j, seqs[i].type_ids[j], c->type_vocab_size);
        }
    }
    int rc = 0;
    by_len *order = malloc(n * sizeof *order);
    fr_seq *sorted = malloc(n * sizeof *sorted);
    size_t *bstart = malloc((n + 1) * sizeof *bstart);
    size_t nl = (size_t)c->num_labels;
    float *lg = malloc(n * nl * sizeof *lg);
    pthread_t *tids = NULL;
    if (!order || !sorted || !bstart || !lg) { rc = fr__err(err, FR_ENOMEM, "out of memory"); goto out; }
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        order[i] = (by_len){seqs[i].n, i};
        total += seqs[i].n;
    }
    qsort(order, n, sizeof *order, cmp_len);
    for (size_t i = 0; i < n; i++) sorted[i] = seqs[order[i].idx];

    // Batches: about `budget` tokens each, and a multiple of the thread count when the
    // request is small enough that whole-budget batches would leave threads idle.
    size_t threads = (size_t)(o.threads ? o.threads : m->threads);
    size_t budget = (size_t)(o.batch_tokens ? o.batch_tokens : 2048);
    size_t max_tokens, max_seqs;
    size_t n_batches = fr__plan_batches(sorted, n, total, threads, budget, bstart, &max_tokens,
                                        &max_seqs);

    job j = {.m = m, .seqs = sorted, .bstart = bstart, .n_batches = n_batches,
             .max_tokens = max_tokens, .max_len = sorted[0].n, .max_seqs = max_seqs, .logits = lg};
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
    if ((rc = atomic_load(&j.rc)) < 0) {
        fr__err(err, rc, "cannot allocate activations for %zu tokens", max_tokens);
        goto out;
    }
    for (size_t i = 0; i < n; i++) memcpy(logits + order[i].idx * nl, lg + i * nl, nl * sizeof *lg);
out:
    free(tids);
    free(order);
    free(sorted);
    free(bstart);
    free(lg);
    return rc;
}

// ---- shared with embed.c ----

int fr__online_cpus(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 256 ? 256 : (int)n;
}

size_t fr__plan_batches(const fr_seq *sorted, size_t n, size_t total, size_t threads,
                        size_t budget, size_t *bstart, size_t *max_tokens, size_t *max_seqs) {
    size_t nb = (total + budget - 1) / budget;
    nb = (nb + threads - 1) / threads * threads;
    size_t target = (total + nb - 1) / nb;
    size_t n_batches = 0, cur = 0, first = 0;
    *max_tokens = *max_seqs = 0;
    bstart[0] = 0;
    for (size_t i = 0; i < n; i++) {
        if (cur && cur + sorted[i].n > target) {
            bstart[++n_batches] = i;
            if (i - first > *max_seqs) *max_seqs = i - first;
            first = i;
            cur = 0;
        }
        cur += sorted[i].n;
        if (cur > *max_tokens) *max_tokens = cur;
    }
    bstart[++n_batches] = n;
    if (n - first > *max_seqs) *max_seqs = n - first;
    return n_batches;
}
