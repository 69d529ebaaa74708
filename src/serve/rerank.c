/* rerank.c — one rerank request end to end: tokenise each (query, document) pair as
 * sentence-transformers' CrossEncoder does (pair truncation longest-first to the model's
 * max_length), score through the shared batcher, map logits to relevance (sigmoid for one
 * label, softmax's positive class for two), apply finerank's extensions (timeliness ×
 * authority combined with the relevance, MMR diversity, deadline) and write the dialect's
 * response:
 *   Cohere / Jina  {id, results: [{index, relevance_score, document?}], meta: {api_version,
 *                   billed_units, tokens}, usage: {total_tokens}, model, score_type}
 *   TEI            [{index, score, text?}]  (score type in the X-Finerank-Score-Type header)
 * With deadline_ms, sequences not started by the deadline stay unscored: score 0, ranked
 * after the scored ones in input order, and the Cohere/Jina body says "deadline_hit": true.
 * Long-document windows (long_docs max/mean/first, Cohere's max_chunks_per_doc) are the
 * model's own window sequences (fr__pair_seqs_build, as fr_model_rerank), scored through the
 * same batcher, so they share batches, the queue limit and deadline_ms (a document none of
 * whose windows ran by the deadline is unscored). Workload: 10..1000 documents per request;
 * tokenisation runs on the request's worker thread (server.c), in parallel with the scorer
 * pool.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "model/model.h"
#include "serve/serve.h"

// ---- tokens ----
// Encodes pair i into *enc. 413 when a TEI request without truncate does not fit.
static int encode_pair(fr__serve_ctx *c, const fr__rr_req *r, size_t i, fr_encoding *enc,
                       fr__http_err *e) {
    const fr__rr_doc *d = &r->docs[i];
    const char *dkey = r->dialect == FR__DIALECT_TEI ? "texts" : "documents";
    char field[64];
    snprintf(field, sizeof field, "%s[%zu]", dkey, i);
    fr_encode_opts o = fr_encode_opts_default();
    o.max_length = c->info.max_length;
    o.strategy = FR_TRUNC_LONGEST_FIRST;
    o.truncate_left = r->truncate_left;
    o.max_pair_tokens = r->max_tokens_per_doc;  // the document first, then the pair
    fr_error fe;
    if (!r->truncate) {
        fr_encode_opts full = o;
        full.max_length = 1 << 30;
        if (fr_tokenizer_encode(c->tok, r->query, (ptrdiff_t)r->query_len, d->text,
                                (ptrdiff_t)d->len, &full, enc, &fe) < 0)
            return fr__http_fail(e, 422, field, "%s", fe.msg);
        if (enc->n > (size_t)c->info.max_length)
            return fr__http_fail(e, 413, field, "the pair has %zu tokens but the model takes at "
                                 "most %d (set \"truncate\": true)", enc->n, c->info.max_length);
        return 0;
    }
    if (fr_tokenizer_encode(c->tok, r->query, (ptrdiff_t)r->query_len, d->text, (ptrdiff_t)d->len,
                            &o, enc, &fe) < 0)
        return fr__http_fail(e, 422, field, "%s", fe.msg);
    return 0;
}

static double relevance(int num_labels, const float *lg) {
    // As nn's rerank.c and sentence-transformers: sigmoid(logit) or softmax(logits)[1].
    if (num_labels == 2) return (float)(1.0 / (1.0 + exp((double)lg[0] - (double)lg[1])));
    return (float)(1.0 / (1.0 + exp(-(double)lg[0])));
}

// ---- ordering ----
typedef struct scored_doc {
    size_t idx;
    int scored;
    double raw, rel, timeliness, authority, final;
    double max_sim, penalty;
} scored_doc;

static int by_final(const void *a, const void *b) {
    const scored_doc *x = a, *y = b;
    if (x->scored != y->scored) return y->scored - x->scored;
    if (x->scored && x->final != y->final) return x->final > y->final ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

// MMR over the scored prefix of sd (already sorted by final): reorders it in place.
static int diversify(const fr__rr_req *r, scored_doc *sd, size_t n, fr__http_err *e) {
    fr_analyzer *an = NULL;
    fr_terms *terms = calloc(n, sizeof *terms);
    size_t *nt = calloc(n, sizeof *nt);
    char ***tl = calloc(n, sizeof *tl);
    fr_mmr_item *items = calloc(n, sizeof *items);
    size_t *order = calloc(n, sizeof *order);
    double *msim = calloc(n, sizeof *msim);
    scored_doc *copy = malloc(n * sizeof *copy);
    fr_mmr_vectors *mv = NULL;
    fr_error fe;
    int rc = -1;
    if (!terms || !nt || !tl || !items || !order || !msim || !copy) {
        fr__http_fail(e, 500, "", "out of memory");
        goto out;
    }
    if (fr_analyzer_new("english", NULL, &an, &fe) < 0) {
        fr__http_fail(e, 500, "diversity", "%s", fe.msg);
        goto out;
    }
    double minf = INFINITY;
    for (size_t i = 0; i < n; i++) if (sd[i].final < minf) minf = sd[i].final;
    for (size_t i = 0; i < n; i++) {
        const fr__rr_doc *d = &r->docs[sd[i].idx];
        if (fr_analyze_terms(an, d->text, (ptrdiff_t)d->len, &terms[i], &fe) < 0) {
            fr__http_fail(e, 500, "diversity", "%s", fe.msg);
            goto out;
        }
        tl[i] = terms[i].terms;
        nt[i] = terms[i].n;
        items[i].rel = minf < 0 ? sd[i].final - minf : sd[i].final;  // MMR needs rel >= 0
        items[i].group = r->ext.cap > 0 ? d->source : NULL;
    }
    if (fr_mmr_vectors_build(tl, nt, n, NULL, NULL, items, &mv, &fe) < 0) {
        fr__http_fail(e, 500, "diversity", "%s", fe.msg);
        goto out;
    }
    fr_mmr_opts mo = {.lambda = r->ext.lambda, .cap = r->ext.cap, .k = r->top_n};
    if (fr_mmr_rank(items, n, &mo, order, msim, NULL, &fe) < 0) {
        fr__http_fail(e, 422, "diversity", "%s", fe.msg);
        goto out;
    }
    memcpy(copy, sd, n * sizeof *copy);
    for (size_t k = 0; k < n; k++) {
        sd[k] = copy[order[k]];
        sd[k].max_sim = msim[order[k]];
        sd[k].penalty = (1 - r->ext.lambda) * sd[k].max_sim;
    }
    rc = 0;
out:
    fr_mmr_vectors_free(mv);
    if (terms)
        for (size_t i = 0; i < n; i++) fr_terms_free(&terms[i]);
    free(terms);
    free(nt);
    free(tl);
    free(items);
    free(order);
    free(msim);
    free(copy);
    fr_analyzer_free(an);
    return rc;
}

// ---- response ----
static void make_id(char *buf, size_t cap) {
    static atomic_ulong counter;
    unsigned long n = atomic_fetch_add(&counter, 1) + 1;
    uint64_t x = (uint64_t)fr__mono_ms() * 0x9E3779B97F4A7C15ull ^ (uint64_t)n * 0xBF58476D1CE4E5B9ull;
    uint64_t y = x * 0x94D049BB133111EBull ^ (x >> 31);
    snprintf(buf, cap, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(x >> 32), (unsigned)(x >> 16) & 0xffff,
             (unsigned)x & 0xfff, (unsigned)((y >> 48) & 0x3fff) | 0x8000,
             (unsigned long long)(y & 0xffffffffffffull));
}

static json_t *explain_of(const scored_doc *s, int has_ext) {
    json_t *x = json_object();
    json_object_set_new(x, "scored", json_boolean(s->scored));
    json_object_set_new(x, "raw_score", s->scored ? json_real(s->raw) : json_null());
    json_object_set_new(x, "semantic", s->scored ? json_real(s->rel) : json_null());
    if (has_ext) {
        json_object_set_new(x, "timeliness", json_real(s->timeliness));
        json_object_set_new(x, "authority", json_real(s->authority));
        json_object_set_new(x, "max_sim", json_real(s->max_sim));
        json_object_set_new(x, "diversity_penalty", json_real(s->penalty));
    }
    json_object_set_new(x, "final", s->scored ? json_real(s->final) : json_null());
    return x;
}

int fr__rerank_run(fr__serve_ctx *c, fr__rr_req *r, char **json, const char **score_type,
                   fr__http_err *e) {
    *json = NULL;
    if (!c->model || !c->tok)
        return fr__http_fail(e, 503, "", "no model loaded (start the server with --model DIR)");
    size_t n = r->n_docs, nl = (size_t)c->info.num_labels;
    double t0 = fr__mono_ms();
    double deadline = r->ext.deadline_ms > 0 ? t0 + r->ext.deadline_ms : 0;
    fr_encoding *enc = calloc(n, sizeof *enc);
    fr_seq *seqs = calloc(n, sizeof *seqs);
    float *lg = calloc(n * nl, sizeof *lg);
    unsigned char *ok = calloc(n, 1);
    scored_doc *sd = calloc(n, sizeof *sd);
    fr_rerank_score *rs = NULL;
    fr__pair_seqs ps = {0};
    float *wlg = NULL;          // (ps.count * nl) window logits
    unsigned char *wok = NULL;  // (ps.count)
    const char **texts = NULL;
    ptrdiff_t *lens = NULL;
    json_t *out = NULL;
    int rc = -1;
    size_t total_tokens = 0;
    if (!enc || !seqs || !lg || !ok || !sd) { fr__http_fail(e, 500, "", "out of memory"); goto done; }

    if (r->long_docs == FR_LONG_TRUNCATE) {
        for (size_t i = 0; i < n; i++) {
            if (encode_pair(c, r, i, &enc[i], e) < 0) goto done;
            seqs[i] = (fr_seq){enc[i].ids, enc[i].type_ids, enc[i].n};
            total_tokens += enc[i].n;
        }
        fr_error fe;
        int brc = fr__batcher_score(c->batcher, seqs, n, deadline, lg, ok, &fe);
        if (brc == FR_EBUSY) { fr__http_fail(e, 429, "", "overloaded: %s; retry later", fe.msg); goto done; }
        if (brc < 0) { fr__http_fail(e, 500, "", "scoring failed: %s", fe.msg); goto done; }
        for (size_t i = 0; i < n; i++) {
            sd[i].idx = i;
            sd[i].scored = ok[i];
            if (ok[i]) {
                sd[i].raw = lg[i * nl + (nl == 2 ? 1 : 0)];
                sd[i].rel = relevance((int)nl, lg + i * nl);
            }
        }
    } else {
        // Windows (long_docs, max_chunks_per_doc): the model's window sequences, scored in the
        // shared batches like any other request, then each document's best / mean / first.
        rs = calloc(n, sizeof *rs);
        texts = calloc(n, sizeof *texts);
        lens = calloc(n, sizeof *lens);
        if (!rs || !texts || !lens) { fr__http_fail(e, 500, "", "out of memory"); goto done; }
        for (size_t i = 0; i < n; i++) texts[i] = r->docs[i].text, lens[i] = (ptrdiff_t)r->docs[i].len;
        fr_score_opts so = fr_score_opts_default();
        so.long_docs = r->long_docs;
        so.max_windows = r->max_chunks;
        fr_error fe;
        char *q = strndup(r->query, r->query_len);
        int mrc = q ? fr__pair_seqs_build(c->model, q, texts, lens, n, &so, &ps, &fe) : FR_ENOMEM;
        free(q);
        if (mrc < 0) {
            fr__http_fail(e, mrc == FR_ENOMEM ? 500 : 422, "long_docs", "%s",
                          mrc == FR_ENOMEM ? "out of memory" : fe.msg);
            goto done;
        }
        wlg = malloc((ps.count ? ps.count : 1) * nl * sizeof *wlg);
        wok = malloc(ps.count ? ps.count : 1);
        if (!wlg || !wok) { fr__http_fail(e, 500, "", "out of memory"); goto done; }
        int brc = fr__batcher_score(c->batcher, ps.seqs, ps.count, deadline, wlg, wok, &fe);
        if (brc == FR_EBUSY) { fr__http_fail(e, 429, "", "overloaded: %s; retry later", fe.msg); goto done; }
        if (brc < 0) { fr__http_fail(e, 500, "", "scoring failed: %s", fe.msg); goto done; }
        fr__pair_seqs_aggregate(c->model, &ps, wlg, wok, r->long_docs, n, rs);
        for (size_t k = 0; k < ps.count; k++) total_tokens += ps.seqs[k].n;
        for (size_t i = 0; i < n; i++)  // a document none of whose windows ran: unscored
            sd[i] = (scored_doc){.idx = i, .scored = rs[i].windows > 0, .raw = rs[i].raw,
                                 .rel = rs[i].relevance};
    }

    // Signals: final = combine(relevance, timeliness, authority) when asked for.
    int64_t now = r->ext.now_ms ? r->ext.now_ms : fr_now_ms();
    size_t n_scored = 0;
    for (size_t i = 0; i < n; i++) {
        scored_doc *s = &sd[i];
        const fr__rr_doc *d = &r->docs[i];
        n_scored += s->scored;
        s->timeliness = fr_freshness_weight(&r->ext.freshness, d->has_date, d->date_ms, now);
        s->authority = fr_authority_weight(&r->ext.authority, d->source, d->has_authority, d->authority);
        if (r->raw_scores) s->final = s->raw;
        else if (r->has_ext) s->final = fr_combine_score(&r->ext.combine, s->rel, s->timeliness, s->authority);
        else s->final = s->rel;
    }
    qsort(sd, n, sizeof *sd, by_final);
    if (r->has_ext && r->ext.lambda < 1 && n_scored > 1 && diversify(r, sd, n_scored, e) < 0) goto done;
    *score_type = r->raw_scores ? "logit" : r->has_ext ? "combined" : "probability";

    // Response.
    json_t *arr = json_array();
    for (size_t k = 0; k < r->top_n; k++) {
        const scored_doc *s = &sd[k];
        const fr__rr_doc *d = &r->docs[s->idx];
        json_t *it = json_object();
        json_object_set_new(it, "index", json_integer((json_int_t)s->idx));
        // Unscored (past deadline_ms): 0, after every scored document, in input order; the
        // response says "deadline_hit" (clients' schemas want a number here).
        json_t *score = json_real(s->scored ? s->final : 0.0);
        json_object_set_new(it, r->dialect == FR__DIALECT_TEI ? "score" : "relevance_score", score);
        if (r->return_documents) {
            if (r->dialect == FR__DIALECT_TEI) {
                json_object_set_new(it, "text", json_stringn(d->text, d->len));
            } else {
                json_t *orig = json_array_get(json_object_get(r->root, "documents"), s->idx);
                if (json_is_object(orig)) json_object_set(it, "document", orig);
                else json_object_set_new(it, "document", json_pack("{ss%}", "text", d->text, d->len));
            }
        }
        if (r->ext.explain) json_object_set_new(it, "explain", explain_of(s, r->has_ext));
        json_array_append_new(arr, it);
    }
    if (r->dialect == FR__DIALECT_TEI) {
        out = arr;
    } else {
        char id[40];
        make_id(id, sizeof id);
        out = json_object();
        json_object_set_new(out, "id", json_string(id));
        json_object_set_new(out, "results", arr);
        const char *ver = r->dialect == FR__DIALECT_COHERE_V2 ? "2" : "1";
        json_object_set_new(out, "meta", json_pack("{s{ss}s{si}s{si}}", "api_version", "version", ver,
                                                   "billed_units", "search_units", 1, "tokens",
                                                   "input_tokens", (json_int_t)total_tokens));
        json_object_set_new(out, "usage", json_pack("{si}", "total_tokens", (json_int_t)total_tokens));
        json_object_set_new(out, "model", json_string(r->model ? r->model : c->model_name));
        json_object_set_new(out, "score_type", json_string(*score_type));
        if (n_scored < n) {
            json_object_set_new(out, "deadline_hit", json_true());
            json_object_set_new(out, "scored", json_integer((json_int_t)n_scored));
        }
    }
    *json = json_dumps(out, JSON_COMPACT);
    if (!*json) { fr__http_fail(e, 500, "", "out of memory"); goto done; }
    rc = 0;
done:
    json_decref(out);
    if (enc)
        for (size_t i = 0; i < n; i++) fr_encoding_free(&enc[i]);
    free(enc);
    free(seqs);
    free(lg);
    free(ok);
    free(sd);
    free(rs);
    fr__pair_seqs_free(&ps);
    free(wlg);
    free(wok);
    free(texts);
    free(lens);
    return rc;
}
