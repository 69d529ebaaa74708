/* batcher.c — the scorer pool: concurrent rerank requests share forward batches.
 *
 * As Hugging Face TEI's max-batch-tokens queue: each request is a job (its tokenised
 * sequences) appended to one FIFO; a worker takes sequences from the head (across jobs, up to
 * max_batch_tokens, in fused mode; see below), runs one fr_model_score_ids call on them
 * (threads = 1: the pool is the parallelism) and hands each logit row back to its job. A job
 * larger than the budget is spread over several batches (and workers); a job whose deadline
 * has passed has its unstarted sequences skipped. At most max_queue jobs are queued or
 * running: the next caller gets FR_EBUSY at once (the server answers 429 Retry-After).
 *
 * Scores equal a lone request's exactly. fr_model_score_ids packs a batch's rows into one
 * GEMM, and OpenBLAS's rounding for a row depends on the GEMM's row count (measured: the same
 * sequence scores -1.69211161 alone and -1.69211102 among 4+ copies). So each job is cut into
 * chunks of <= min(max_batch_tokens, its tokens / threads) tokens that depend on the job alone
 * (greedy, input order). In exact mode (default) a worker takes one chunk at a time, in FIFO
 * order, and runs it as one forward call; in fused mode (fuse = 1: faster for many tiny
 * requests, scores within nn's 1e-5 batch-composition bound) its batch is one chunk of each
 * of the next jobs under the budget, one fused call. Either way the chunks of one job go to
 * different workers, so a lone request keeps every worker busy.
 * Workload: 2..64 concurrent requests of 10..1000 passages, 30..512 tokens each.
 */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "serve/serve.h"

typedef struct job {
    const fr_seq *seqs;
    size_t n;
    size_t *cstart;             // (n_chunks + 1) chunk boundaries, from the job alone
    size_t n_chunks;
    size_t next;                // first chunk not yet taken by a worker
    size_t done;                // sequences finished (scored or skipped)
    double deadline;
    float *logits;
    unsigned char *scored;
    int rc;
    fr_error err;
    struct job *qnext;          // FIFO link while next < n
} job;

struct fr__batcher {
    const fr_model *model;
    int num_labels;
    size_t budget;
    int max_queue;
    int fuse;
    fr__metrics *mx;
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    job *head, *tail;
    int jobs;                   // queued or running
    int stop;
    int n_threads;
    pthread_t *threads;
};

double fr__mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

// One batch entry: sequence `idx` of job `j`.
typedef struct slot {
    job *j;
    size_t idx;
} slot;

#define MAX_RUNS 256  // chunks per worker batch

// Hands batch entries [a, e) their logits (lg, batch order) or the error rc/err. Called
// with b->mu held; the caller wakes the waiting requests.
static void record(fr__batcher *b, const slot *sl, const float *lg, size_t a, size_t e, int rc,
                   const fr_error *err) {
    for (size_t i = a; i < e; i++) {
        job *j = sl[i].j;
        if (rc < 0) {
            if (!j->rc) j->rc = rc, j->err = *err;
        } else {
            memcpy(j->logits + sl[i].idx * (size_t)b->num_labels, lg + i * (size_t)b->num_labels,
                   (size_t)b->num_labels * sizeof *lg);
            j->scored[sl[i].idx] = 1;
        }
        j->done++;
    }
}

static void *worker(void *arg) {
    fr__batcher *b = arg;
    size_t run[MAX_RUNS + 1];   // start of each chunk in the batch arrays
    size_t cap = 256;
    slot *sl = malloc(cap * sizeof *sl);
    fr_seq *seqs = malloc(cap * sizeof *seqs);
    float *lg = malloc(cap * (size_t)b->num_labels * sizeof *lg);
    if (!sl || !seqs || !lg) goto out;  // fr__batcher_new checks that workers started
    pthread_mutex_lock(&b->mu);
    for (;;) {
        while (!b->stop && !b->head) pthread_cond_wait(&b->work, &b->mu);
        if (!b->head) break;  // stop and nothing queued
        // Gather whole chunks in FIFO order, at most one chunk of each job: a job's chunks
        // then spread over the workers (a lone request uses all of them). Exact mode takes
        // one chunk (each chunk is its own forward call anyway, so more would only delay the
        // head job); fused mode adds the next jobs' chunks until the token budget.
        size_t n = 0, tokens = 0, nrun = 0;
        double now = fr__mono_ms();
        job *prev = NULL, *j = b->head;
        int full = 0;
        while (j && !full) {
            job *next = j->qnext;
            if (j->deadline > 0 && now >= j->deadline && j->next < j->n_chunks) {
                j->done += j->n - j->cstart[j->next];  // skipped
                j->next = j->n_chunks;
            }
            if (j->next < j->n_chunks) {
                size_t a = j->cstart[j->next], e = j->cstart[j->next + 1], t = 0;
                for (size_t i = a; i < e; i++) t += j->seqs[i].n;
                if (n && (tokens + t > b->budget || n + (e - a) > cap)) {
                    full = 1;
                } else {
                    if (e - a > cap) {  // grow the worker's arrays (rare: > cap tiny sequences)
                        size_t nc = e - a;
                        slot *s2 = realloc(sl, nc * sizeof *sl);
                        if (s2) sl = s2;
                        fr_seq *q2 = realloc(seqs, nc * sizeof *seqs);
                        if (q2) seqs = q2;
                        float *l2 = realloc(lg, nc * (size_t)b->num_labels * sizeof *lg);
                        if (l2) lg = l2;
                        if (!s2 || !q2 || !l2) break;  // retried by the next pass
                        cap = nc;
                    }
                    run[nrun++] = n;
                    for (size_t i = a; i < e; i++) {
                        sl[n] = (slot){j, i};
                        seqs[n++] = j->seqs[i];
                    }
                    tokens += t;
                    j->next++;
                    if (!b->fuse || nrun == MAX_RUNS || tokens >= b->budget) full = 1;
                }
            }
            if (j->next == j->n_chunks) {  // every chunk taken: off the queue
                if (prev) prev->qnext = next;
                else b->head = next;
                if (b->tail == j) b->tail = prev;
                if (j->done == j->n) pthread_cond_broadcast(&b->done);
            } else {
                prev = j;
            }
            j = next;
        }
        if (!n) continue;
        run[nrun] = n;
        pthread_mutex_unlock(&b->mu);
        fr_score_opts so = fr_score_opts_default();
        so.threads = 1;
        fr_error err;
        int rc = -1;
        if (b->fuse) {
            so.batch_tokens = (int)(tokens + 1);
            rc = fr_model_score_ids(b->model, seqs, n, &so, lg, &err);
        }
        if (b->mx) fr__metrics_batch(b->mx, n, tokens);
        if (rc == 0) {
            pthread_mutex_lock(&b->mu);
            record(b, sl, lg, 0, n, 0, NULL);
        } else {
            // One chunk per call: exact mode always; in fused mode after the fused call
            // failed, so that a request the model refuses fails alone, not its neighbours.
            pthread_mutex_lock(&b->mu);
            for (size_t r = 0; r < nrun; r++) {
                size_t a = run[r], e = run[r + 1], t = 0;
                for (size_t i = a; i < e; i++) t += seqs[i].n;
                so.batch_tokens = (int)(t + 1);
                pthread_mutex_unlock(&b->mu);
                int rr = fr_model_score_ids(b->model, seqs + a, e - a, &so,
                                            lg + a * (size_t)b->num_labels, &err);
                pthread_mutex_lock(&b->mu);
                record(b, sl, lg, a, e, rr, &err);
            }
        }
        pthread_cond_broadcast(&b->done);
    }
    pthread_mutex_unlock(&b->mu);
out:
    free(sl);
    free(seqs);
    free(lg);
    return NULL;
}

int fr__batcher_new(const fr_model *model, int threads, int max_batch_tokens, int max_queue,
                    int fuse, fr__metrics *mx, fr__batcher **out, fr_error *err) {
    *out = NULL;
    fr__batcher *b = calloc(1, sizeof *b);
    if (!b) return fr__err(err, FR_ENOMEM, "out of memory");
    fr_model_info info;
    fr_model_get_info(model, &info);
    b->model = model;
    b->num_labels = info.num_labels;
    b->budget = (size_t)(max_batch_tokens > 0 ? max_batch_tokens : 8192);
    if (b->budget < (size_t)info.max_length) b->budget = (size_t)info.max_length;
    b->max_queue = max_queue > 0 ? max_queue : 64;
    b->mx = mx;
    b->fuse = fuse;
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->work, NULL);
    pthread_cond_init(&b->done, NULL);
    b->threads = calloc((size_t)threads, sizeof *b->threads);
    if (!b->threads) {
        fr__batcher_free(b);
        return fr__err(err, FR_ENOMEM, "out of memory");
    }
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&b->threads[i], NULL, worker, b) != 0) {
            fr__batcher_free(b);
            return fr__err(err, FR_ENOMEM, "scorer: cannot start thread %d", i);
        }
        b->n_threads++;
    }
    *out = b;
    return 0;
}

void fr__batcher_free(fr__batcher *b) {
    if (!b) return;
    pthread_mutex_lock(&b->mu);
    b->stop = 1;
    pthread_cond_broadcast(&b->work);
    pthread_mutex_unlock(&b->mu);
    for (int i = 0; i < b->n_threads; i++) pthread_join(b->threads[i], NULL);
    free(b->threads);
    pthread_cond_destroy(&b->work);
    pthread_cond_destroy(&b->done);
    pthread_mutex_destroy(&b->mu);
    free(b);
}

int fr__batcher_depth(fr__batcher *b) {
    pthread_mutex_lock(&b->mu);
    int d = b->jobs;
    pthread_mutex_unlock(&b->mu);
    return d;
}

int fr__batcher_score(fr__batcher *b, const fr_seq *seqs, size_t n, double deadline,
                      float *logits, unsigned char *scored, fr_error *err) {
    memset(scored, 0, n);
    if (!n) return 0;
    job j = {.seqs = seqs, .n = n, .deadline = deadline, .logits = logits, .scored = scored};
    j.cstart = malloc((n + 1) * sizeof *j.cstart);
    if (!j.cstart) return fr__err(err, FR_ENOMEM, "out of memory");
    // Chunks of about total / threads tokens (at most the budget), so that a lone request
    // still keeps every worker busy; a function of the job and the pool size only.
    size_t total = 0, t = 0;
    for (size_t i = 0; i < n; i++) total += seqs[i].n;
    size_t target = (total + (size_t)b->n_threads - 1) / (size_t)b->n_threads;
    if (target > b->budget) target = b->budget;
    j.cstart[0] = 0;
    for (size_t i = 0; i < n; i++) {
        if (i && t + seqs[i].n > target) j.cstart[++j.n_chunks] = i, t = 0;
        t += seqs[i].n;
    }
    j.cstart[++j.n_chunks] = n;
    pthread_mutex_lock(&b->mu);
    if (b->stop || b->jobs >= b->max_queue) {
        int q = b->jobs;
        pthread_mutex_unlock(&b->mu);
        free(j.cstart);
        return fr__err(err, FR_EBUSY, "%d requests are queued or running (max_queue)", q);
    }
    b->jobs++;
    if (b->mx) fr__metrics_queue(b->mx, b->jobs);
    if (b->tail) b->tail->qnext = &j;
    else b->head = &j;
    b->tail = &j;
    pthread_cond_broadcast(&b->work);
    while (j.done < j.n) pthread_cond_wait(&b->done, &b->mu);
    b->jobs--;
    if (b->mx) fr__metrics_queue(b->mx, b->jobs);
    pthread_mutex_unlock(&b->mu);
    free(j.cstart);
    if (j.rc < 0) {
        if (err) *err = j.err;
        return j.rc;
    }
    return 0;
}
