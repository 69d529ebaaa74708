/* rerank.c — (query, passage) text pairs → scores, as sentence-transformers' CrossEncoder
 * computes them: the model's tokenizer encodes each pair with special tokens, truncated to
 * max_length (longest_first by default, CrossEncoder's truncation=True), the encoder gives
 * logits, and the relevance is sigmoid(logit) for one label or softmax(logits)[1] for two.
 *
 * Long documents, beyond what CrossEncoder offers: with FR_LONG_MAX / MEAN / FIRST the passage
 * is cut into overlapping windows instead of truncated. Window k is
 *     prefix + passage[k·step, k·step + W) + suffix
 * where prefix / suffix are the special tokens and query ids the post-processor puts around
 * the passage (found by locating the passage's own ids, encoded alone, in the untruncated pair
 * encoding — HF tokenizers encode the two sequences independently, so they match), W fills
 * max_length, and neighbours share `window_stride` tokens (default W/4); `max_windows` keeps
 * only the first windows (the rest of the passage is not scored). The query is cut to
 * leave at least half of max_length to the passage. Scores aggregate by max or mean of the
 * raw logit and of the relevance, or take the first window (which equals only_second
 * truncation).
 */
#include <limits.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "model/model.h"

// ---- tokenizer ----
int fr__model_open_tokenizer(fr_model *m, const char *dir, const fr_model_opts *opts, fr_error *err) {
    m->tok = NULL;
    if (!opts->load_tokenizer) return 0;
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/tokenizer.json", dir) >= sizeof path)
        return fr__err(err, FR_EINVAL, "%s: path too long", dir);
    if (access(path, F_OK) != 0) return 0;  // fr_model_rerank will say so; ids still work
    int rc = fr_tokenizer_open(path, &m->tok, err);
    if (rc < 0) return fr__err_prefix(err, rc, "%s", dir);
    size_t v = fr_tokenizer_vocab_size(m->tok);
    if (v > (size_t)m->enc.cfg.vocab_size)
        return fr__err(err, FR_EFORMAT, "%s: tokenizer.json has %zu tokens but the embedding table "
                       "has %d rows", dir, v, m->enc.cfg.vocab_size);
    return 0;
}

void fr__model_close_tokenizer(fr_model *m) {
    fr_tokenizer_free(m->tok);
    m->tok = NULL;
}

// ---- relevance ----
static float relevance(const fr__model_config *c, const float *lg) {
    if (c->num_labels == 2) return (float)(1.0 / (1.0 + exp((double)lg[0] - (double)lg[1])));
    return (float)(1.0 / (1.0 + exp(-(double)lg[0])));
}

// ---- windows ----
// fr__pair_seqs (model.h) grows as a list of sequences whose ids/types live in one arena
// (offsets until fr__pair_seqs_build finishes it).
static int sl_add(fr__pair_seqs *s, size_t doc, const int32_t *a, const uint8_t *ta, size_t na,
                  const int32_t *b, const uint8_t *tb, size_t nb, const int32_t *c,
                  const uint8_t *tc, size_t nc) {
    size_t need = na + nb + nc;
    if (s->len + need > s->cap) {
        size_t cap = s->cap ? s->cap : 1024;
        while (cap < s->len + need) cap *= 2;
        int32_t *ids = realloc(s->ids, cap * sizeof *ids);
        if (!ids) return FR_ENOMEM;
        s->ids = ids;
        uint8_t *ty = realloc(s->types, cap);
        if (!ty) return FR_ENOMEM;
        s->types = ty;
        s->cap = cap;
    }
    if (s->count == s->scap) {
        size_t cap = s->scap ? 2 * s->scap : 64;
        size_t *st = realloc(s->start, cap * sizeof *st);
        if (!st) return FR_ENOMEM;
        s->start = st;
        size_t *n = realloc(s->n, cap * sizeof *n);
        if (!n) return FR_ENOMEM;
        s->n = n;
        size_t *o = realloc(s->owner, cap * sizeof *o);
        if (!o) return FR_ENOMEM;
        s->owner = o;
        s->scap = cap;
    }
    s->start[s->count] = s->len;
    s->n[s->count] = need;
    s->owner[s->count++] = doc;
    memcpy(s->ids + s->len, a, na * sizeof *a);
    memcpy(s->types + s->len, ta, na);
    s->len += na;
    if (nb) {
        memcpy(s->ids + s->len, b, nb * sizeof *b);
        memcpy(s->types + s->len, tb, nb);
        s->len += nb;
    }
    if (nc) {
        memcpy(s->ids + s->len, c, nc * sizeof *c);
        memcpy(s->types + s->len, tc, nc);
        s->len += nc;
    }
    return 0;
}

void fr__pair_seqs_free(fr__pair_seqs *s) {
    if (!s) return;
    free(s->ids);
    free(s->types);
    free(s->start);
    free(s->n);
    free(s->owner);
    free(s->seqs);
    memset(s, 0, sizeof *s);
}

// Appends the windows of one (query, passage) pair. full: the untruncated pair encoding with
// specials; p: the passage alone without specials; q: the query alone without specials.
static int add_windows(fr__pair_seqs *s, size_t doc, const fr_encoding *full, const fr_encoding *p,
                       const fr_encoding *q, size_t max_len, size_t stride, size_t max_windows,
                       fr_error *err) {
    size_t P = p->n, N = full->n;
    if (N <= max_len || P == 0)  // fits (or nothing to split): the plain pair
        return sl_add(s, doc, full->ids, full->type_ids, N, NULL, NULL, 0, NULL, NULL, 0);
    // Locate the passage: the last place its ids occur in the pair encoding.
    size_t off = SIZE_MAX;
    for (size_t o = N - P + 1; o-- > 0;)
        if (!memcmp(full->ids + o, p->ids, P * sizeof *p->ids)) { off = o; break; }
    if (off == SIZE_MAX)
        return fr__err(err, FR_EINTERNAL, "document %zu: passage tokens not found in the pair "
                       "encoding", doc);
    size_t pre = off, suf = N - off - P;
    const int32_t *pid = full->ids + off;
    const uint8_t *pty = full->type_ids + off;
    // Query too long: keep [lead specials] q[:keep] [middle specials] so the passage gets at
    // least half of max_length.
    int32_t *qids = NULL;
    uint8_t *qty = NULL;
    const int32_t *prefix = full->ids;
    const uint8_t *prefix_ty = full->type_ids;
    size_t min_w = max_len / 2;
    if (pre + suf + min_w > max_len) {
        size_t lead = SIZE_MAX;
        for (size_t o = 0; q->n && o + q->n <= pre; o++)
            if (!memcmp(full->ids + o, q->ids, q->n * sizeof *q->ids)) { lead = o; break; }
        size_t mid = lead == SIZE_MAX ? 0 : pre - lead - q->n;
        if (lead == SIZE_MAX || lead + mid + suf + min_w > max_len)
            return fr__err(err, FR_ERANGE, "document %zu: max_length %zu leaves no room for passage "
                           "windows", doc, max_len);
        size_t keep = max_len - min_w - (lead + mid + suf);
        qids = malloc((lead + keep + mid) * sizeof *qids + 1);
        qty = malloc(lead + keep + mid + 1);
        if (!qids || !qty) {
            free(qids);
            free(qty);
            return fr__err(err, FR_ENOMEM, "out of memory");
        }
        memcpy(qids, full->ids, (lead + keep) * sizeof *qids);
        memcpy(qty, full->type_ids, lead + keep);
        memcpy(qids + lead + keep, full->ids + lead + q->n, mid * sizeof *qids);
        memcpy(qty + lead + keep, full->type_ids + lead + q->n, mid);
        prefix = qids;
        prefix_ty = qty;
        pre = lead + keep + mid;
    }
    size_t W = max_len - pre - suf;
    size_t overlap = stride ? stride : W / 4;
    if (overlap >= W) overlap = W - 1;
    size_t step = W - overlap;
    for (size_t st = 0, k = 1;; st += step, k++) {
        size_t w = P - st < W ? P - st : W;
        int rc = sl_add(s, doc, prefix, prefix_ty, pre, pid + st, pty + st, w, full->ids + off + P,
                        full->type_ids + off + P, suf);
        if (rc < 0) {
            free(qids);
            free(qty);
            return fr__err(err, rc, "out of memory");
        }
        if ((max_windows && k >= max_windows) || st + W >= P) break;
    }
    free(qids);
    free(qty);
    return 0;
}

// ---- pair sequences ----
int fr__pair_seqs_build(const fr_model *m, const char *query, const char *const *docs,
                        const ptrdiff_t *doc_lens, size_t n, const fr_score_opts *opts,
                        fr__pair_seqs *out, fr_error *err) {
    memset(out, 0, sizeof *out);
    fr_score_opts o = opts ? *opts : fr_score_opts_default();
    const fr__model_config *c = &m->enc.cfg;
    if (!m->tok)
        return fr__err(err, FR_EUNSUPPORTED, "the model directory has no tokenizer.json; score token "
                       "ids with fr_model_score_ids");
    if (!query || !*query) return fr__err(err, FR_EINVAL, "empty query");
    if (n && !docs) return fr__err(err, FR_EINVAL, "fr_model_rerank: NULL documents");
    if (o.max_length < 0 || o.window_stride < 0 || o.max_windows < 0)
        return fr__err(err, FR_EINVAL, "negative max_length, window_stride or max_windows");
    int maxpos = fr__model_max_positions(m);
    if (o.max_length > maxpos)
        return fr__err(err, FR_ERANGE, "max_length %d exceeds the model's %d positions", o.max_length, maxpos);
    size_t max_len = (size_t)(o.max_length ? o.max_length : c->max_length);
    if ((unsigned)o.long_docs > FR_LONG_FIRST) return fr__err(err, FR_EINVAL, "unknown long_docs mode");
    if (!n) return 0;

    int rc = 0;
    fr__pair_seqs *sl = out;
    fr_encoding full = {0}, p = {0}, q = {0};
    fr_encode_opts eo = fr_encode_opts_default();
    fr_encode_opts raw = fr_encode_opts_default();
    raw.add_special_tokens = 0;
    raw.max_length = INT_MAX / 2;  // no truncation, whatever the file says
    if (o.long_docs == FR_LONG_TRUNCATE) {
        eo.max_length = (int)max_len;
        eo.strategy = o.truncation;
        eo.truncate_left = o.truncate_left;
    } else {
        eo.max_length = INT_MAX / 2;
        if ((rc = fr_tokenizer_encode(m->tok, query, -1, NULL, 0, &raw, &q, err)) < 0) {
            fr__err_prefix(err, rc, "query");
            goto out;
        }
    }
    for (size_t i = 0; i < n; i++) {
        const char *d = docs[i] ? docs[i] : "";
        ptrdiff_t dl = doc_lens ? doc_lens[i] : -1;
        if (!docs[i]) dl = 0;
        if ((rc = fr_tokenizer_encode(m->tok, query, -1, d, dl, &eo, &full, err)) < 0) {
            fr__err_prefix(err, rc, "document %zu", i);
            goto out;
        }
        if (o.long_docs == FR_LONG_TRUNCATE) {
            if (full.n > max_len) {  // e.g. only_second with a query longer than max_length
                rc = fr__err(err, FR_ERANGE, "document %zu: the pair needs %zu tokens after "
                             "truncation, max_length is %zu", i, full.n, max_len);
                goto out;
            }
            rc = sl_add(sl, i, full.ids, full.type_ids, full.n, NULL, NULL, 0, NULL, NULL, 0);
            if (rc < 0) { fr__err(err, rc, "out of memory"); goto out; }
        } else {
            if ((rc = fr_tokenizer_encode(m->tok, d, dl, NULL, 0, &raw, &p, err)) < 0) {
                fr__err_prefix(err, rc, "document %zu", i);
                goto out;
            }
            if (!p.n && full.n > max_len) {
                // An empty passage has no windows: its pair truncated (the query cut), not a
                // sequence longer than the model's positions that the scorer would refuse.
                fr_encode_opts to = eo;
                to.max_length = (int)max_len;
                to.strategy = FR_TRUNC_LONGEST_FIRST;
                fr_encoding_free(&full);
                if ((rc = fr_tokenizer_encode(m->tok, query, -1, d, dl, &to, &full, err)) < 0) {
                    fr__err_prefix(err, rc, "document %zu", i);
                    goto out;
                }
            }
            size_t mw = o.long_docs == FR_LONG_FIRST ? 1 : (size_t)o.max_windows;
            if ((rc = add_windows(sl, i, &full, &p, &q, max_len, (size_t)o.window_stride, mw,
                                  err)) < 0)
                goto out;
            fr_encoding_free(&p);
        }
        fr_encoding_free(&full);
    }
    sl->seqs = malloc((sl->count ? sl->count : 1) * sizeof *sl->seqs);
    if (!sl->seqs) { rc = fr__err(err, FR_ENOMEM, "out of memory"); goto out; }
    for (size_t k = 0; k < sl->count; k++)
        sl->seqs[k] = (fr_seq){sl->ids + sl->start[k], sl->types + sl->start[k], sl->n[k]};
out:
    fr_encoding_free(&full);
    fr_encoding_free(&p);
    fr_encoding_free(&q);
    if (rc < 0) fr__pair_seqs_free(sl);
    return rc;
}

void fr__pair_seqs_aggregate(const fr_model *m, const fr__pair_seqs *ps, const float *logits,
                             const unsigned char *scored, fr_long_docs mode, size_t n_docs,
                             fr_rerank_score *scores) {
    const fr__model_config *c = &m->enc.cfg;
    size_t nl = (size_t)c->num_labels;
    for (size_t i = 0; i < n_docs; i++) scores[i] = (fr_rerank_score){0, 0, 0};
    for (size_t k = 0; k < ps->count; k++) {
        if (scored && !scored[k]) continue;
        fr_rerank_score *s = &scores[ps->owner[k]];
        float raw_k = logits[k * nl + nl - 1], rel_k = relevance(c, logits + k * nl);
        if (!s->windows || mode != FR_LONG_MAX) {
            s->raw = s->windows && mode == FR_LONG_MEAN ? s->raw + raw_k : raw_k;
            s->relevance = s->windows && mode == FR_LONG_MEAN ? s->relevance + rel_k : rel_k;
        } else {
            if (raw_k > s->raw) s->raw = raw_k;
            if (rel_k > s->relevance) s->relevance = rel_k;
        }
        s->windows++;
    }
    if (mode == FR_LONG_MEAN)
        for (size_t i = 0; i < n_docs; i++)
            if (scores[i].windows) {
                scores[i].raw /= (float)scores[i].windows;
                scores[i].relevance /= (float)scores[i].windows;
            }
}

// ---- rerank ----
int fr_model_rerank(const fr_model *m, const char *query, const char *const *docs,
                    const ptrdiff_t *doc_lens, size_t n, const fr_score_opts *opts,
                    fr_rerank_score *scores, fr_error *err) {
    fr_score_opts o = opts ? *opts : fr_score_opts_default();
    if (n && !scores) return fr__err(err, FR_EINVAL, "fr_model_rerank: NULL scores");
    fr__pair_seqs ps;
    int rc = fr__pair_seqs_build(m, query, docs, doc_lens, n, &o, &ps, err);
    if (rc < 0 || !n) return rc;
    float *lg = malloc((ps.count ? ps.count : 1) * (size_t)m->enc.cfg.num_labels * sizeof *lg);
    if (!lg) rc = fr__err(err, FR_ENOMEM, "out of memory");
    else if ((rc = fr_model_score_ids(m, ps.seqs, ps.count, &o, lg, err)) == 0)
        fr__pair_seqs_aggregate(m, &ps, lg, NULL, o.long_docs, n, scores);
    free(lg);
    fr__pair_seqs_free(&ps);
    return rc;
}
