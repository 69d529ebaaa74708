/* finerank — a reranking engine for retrieval-augmented generation.
 *
 * Usage: open an index, configure the two-stage pipeline with a cross-encoder, run, free.
 * Every call returns 0 or a negative FR_E* code and fills the optional fr_error.
 *
 *   fr_error err;
 *   fr_index *ix = NULL;
 *   fr_pipeline *p = NULL;
 *   fr_result res = {0};
 *   fr_pipeline_config cfg = fr_pipeline_config_default(); // BM25 1000 → rerank 100 → k 10
 *   if (fr_pipeline_config_set(&cfg, "model", "ms-marco-MiniLM-L-6-v2", &err) < 0 ||
 *       fr_pipeline_config_set(&cfg, "freshness", "gauss:scale=3y", &err) < 0 ||
 *       fr_pipeline_config_set(&cfg, "retriever", "hybrid", &err) < 0 || // BM25 + dense, RRF
 *                                                        // (index built with --embed-model)
 *       fr_index_open("idx", NULL, &ix, &err) < 0 ||   // a directory from `finerank index`
 *       fr_pipeline_new(ix, &cfg, &p, &err) < 0 ||       // loads the model (dir, repo id, alias)
 *       fr_pipeline_run(p, "diabetes dietary taboos", NULL, &res, &err) < 0) {
 *       fprintf(stderr, "%s\n", err.msg);               // names the file, field or byte
 *   } else {
 *       for (size_t i = 0; i < res.n; i++)                // every factor is in res.items[i]
 *           printf("%s %.4f\n", res.items[i].id, res.items[i].score);
 *   }
 *   fr_result_free(&res);
 *   fr_pipeline_free(p);                                 // every _free(NULL) is a no-op
 *   fr_index_close(ix);
 *
 * Below: fr_tokenizer_* (Hugging Face tokenizers), fr_model_* (cross-encoders: score pairs
 * directly), fr_embedder_* / fr_vecs_* (bi-encoders, vector search), fr_hub_* (model
 * downloads), fr_index_* (BM25 and per-segment embeddings), fr_retrieve (bm25 | dense |
 * hybrid candidates), fr_eval_* (metrics), the pipeline's parts (signals, MMR), fr_server_*
 * (HTTP).
 *
 * Conventions (see STYLE.md): opaque handles with _open/_free; plain structs for options and
 * results; failures return FR_E* (< 0) and fill an optional caller-owned fr_error, so that
 * one handle can serve many threads without a shared "last error" slot. The library never
 * prints and never exits.
 */
#ifndef FINERANK_H
#define FINERANK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FR_VERSION "0.1.0"

// ---- errors ----
// One table generates the enum and fr_strerror() (libuv's UV_ERRNO_MAP).
#define FR_ERRNO_MAP(X)                                                    \
    X(NOMEM,    -1,  "out of memory")                                      \
    X(IO,       -2,  "I/O error")                                          \
    X(NOTFOUND, -3,  "not found")                                          \
    X(FORMAT,   -4,  "malformed input file")                               \
    X(UNSUPPORTED, -5, "unsupported feature")                              \
    X(INVAL,    -6,  "invalid argument")                                   \
    X(UTF8,     -7,  "invalid UTF-8")                                      \
    X(RANGE,    -8,  "value out of range")                                 \
    X(CORRUPT,  -9,  "corrupt data")                                       \
    X(BUSY,     -10, "resource busy")                                      \
    X(NOSPC,    -11, "no space left on device")                            \
    X(TIMEOUT,  -12, "deadline exceeded")                                  \
    X(NET,      -13, "network error")                                      \
    X(AUTH,     -14, "not authorized")                                     \
    X(CHECKSUM, -15, "checksum mismatch")                                  \
    X(INTERNAL, -16, "internal error")

typedef enum {
#define FR__ERR_ENUM(name, val, str) FR_E##name = val,
    FR_ERRNO_MAP(FR__ERR_ENUM)
#undef FR__ERR_ENUM
} fr_errno;

// A detailed error: code plus a human message naming the file, field or byte offset.
// Caller-owned; pass NULL where the detail is not wanted.
typedef struct fr_error {
    int code;
    char msg[512];
} fr_error;

// Static string for a code ("invalid UTF-8"); never NULL.
const char *fr_strerror(int code);

// ---- tokenizer ----
// Hugging Face "fast tokenizer" files (tokenizer.json): normalizers, pre-tokenizers,
// WordPiece / Unigram / BPE models, added tokens, post-processors, pair truncation.
// One handle is immutable after open and may be used from many threads at once.
typedef struct fr_tokenizer fr_tokenizer;

typedef enum {
    FR_TRUNC_LONGEST_FIRST = 0,
    FR_TRUNC_ONLY_FIRST = 1,
    FR_TRUNC_ONLY_SECOND = 2,
} fr_trunc_strategy;

typedef struct fr_encode_opts {
    int add_special_tokens;     // 1 (default): apply the post-processor's template
    int max_length;             // > 0: truncate to this many tokens, specials included;
                                // 0: use the file's own truncation block (none if absent)
    fr_trunc_strategy strategy; // used when max_length > 0
    int truncate_left;          // used when max_length > 0: 1 drops tokens from the start of
                                // each sequence (HF TruncationDirection::Left), 0 from the end
    int want_tokens;            // 1: fill fr_encoding.tokens as well as ids
    int max_pair_tokens;        // > 0: the pair (second sequence) is first cut to this many
                                // tokens (from the end; the start with truncate_left), then
                                // max_length applies to the whole (Cohere's max_tokens_per_doc)
} fr_encode_opts;

fr_encode_opts fr_encode_opts_default(void);

// An encoding. All arrays have n entries and are owned by the struct: fr_encoding_free().
typedef struct fr_encoding {
    size_t n;
    int32_t *ids;
    uint8_t *type_ids;
    char **tokens;              // NULL unless opts.want_tokens; each a NUL-terminated string
} fr_encoding;

// Opens a tokenizer.json. OUT: *out, free with fr_tokenizer_free.
int fr_tokenizer_open(const char *path, fr_tokenizer **out, fr_error *err);
// Same, from a buffer (not retained). `name` is used in error messages.
int fr_tokenizer_open_mem(const char *json, size_t len, const char *name,
                          fr_tokenizer **out, fr_error *err);
void fr_tokenizer_free(fr_tokenizer *tok);

// Encodes `text` (and `pair` when not NULL). Lengths of -1 mean NUL-terminated.
// Invalid UTF-8 gives FR_EUTF8 with the byte offset in err->msg.
// OUT: *enc, which must be zeroed or already freed; release it with fr_encoding_free().
int fr_tokenizer_encode(const fr_tokenizer *tok, const char *text, ptrdiff_t text_len,
                        const char *pair, ptrdiff_t pair_len, const fr_encode_opts *opts,
                        fr_encoding *enc, fr_error *err);
void fr_encoding_free(fr_encoding *enc);

// Vocabulary size including added tokens; id → token string (NULL when out of range;
// the pointer lives as long as the tokenizer); token string → id (-1 when absent).
size_t fr_tokenizer_vocab_size(const fr_tokenizer *tok);
const char *fr_tokenizer_id_to_token(const fr_tokenizer *tok, int32_t id);
int32_t fr_tokenizer_token_to_id(const fr_tokenizer *tok, const char *token);

// ---- model ----
// Cross-encoder rerankers in Hugging Face layout: a directory with config.json,
// model.safetensors (or model.safetensors.index.json + shards), tokenizer.json,
// tokenizer_config.json and, when present, sentence-transformers' config files.
// Architectures: BertForSequenceClassification, RobertaForSequenceClassification,
// XLMRobertaForSequenceClassification (anything else: FR_EUNSUPPORTED, "unsupported
// architecture X"). Weights F32 (mmapped, used in place), F16/BF16 (widened to float32 once at
// open); fr_model_opts.dtype may repack the encoder's dense layers as bf16 or int8 at open. One handle is immutable after open and may be used from many threads at once; every
// call allocates its own scratch. finerank parallelises over sequences itself and asks OpenBLAS
// to run single-threaded (openblas_set_num_threads(1) at open).
//
//   fr_model *m = NULL;
//   if (fr_model_open("ms-marco-MiniLM-L-6-v2", NULL, &m, &err) < 0) { ... err.msg ... }
//   const char *docs[] = {"BM25 ranks documents", "Paris is in France"};
//   fr_rerank_score s[2];
//   fr_score_opts so = fr_score_opts_default();   // truncate to the model's max_length
//   if (fr_model_rerank(m, "what is bm25?", docs, NULL, 2, &so, s, &err) == 0)
//       printf("%f %f\n", s[0].relevance, s[0].raw);   // sigmoid(logit), logit
//   fr_model_free(m);
typedef struct fr_model fr_model;

// Compute type of the encoder's dense layers (attention, softmax, LayerNorms, embeddings and
// the classification head always run in float32):
//   FR_DTYPE_F32   the checkpoint's weights widened to float32, OpenBLAS sgemm (exact)
//   FR_DTYPE_BF16  weights rounded to bfloat16 at open, float32 accumulation
//   FR_DTYPE_INT8  weights int8 per output channel at open, activations int8 per token at
//                  run time (both symmetric), int32 accumulation
typedef enum { FR_DTYPE_F32 = 0, FR_DTYPE_BF16 = 1, FR_DTYPE_INT8 = 2 } fr_dtype;
// "f32" | "bf16" | "int8" (also "float32", "bfloat16"). OUT: *out. FR_EINVAL if unknown.
int fr_dtype_parse(const char *s, fr_dtype *out);
const char *fr_dtype_name(fr_dtype d);  // "f32", "bf16", "int8"; static string

typedef struct fr_model_opts {
    int threads;        // default worker threads per call; 0: all online CPUs
    int load_tokenizer; // 1 (default): open dir/tokenizer.json for fr_model_rerank
    fr_dtype dtype;     // FR_DTYPE_F32 (default)
} fr_model_opts;
fr_model_opts fr_model_opts_default(void);

// Opens a model directory. OUT: *out, free with fr_model_free (NULL is a no-op).
int fr_model_open(const char *dir, const fr_model_opts *opts, fr_model **out, fr_error *err);
void fr_model_free(fr_model *m);

// What was loaded. Strings live as long as the model.
typedef struct fr_model_info {
    const char *architecture;   // "BertForSequenceClassification", ...
    const char *model_type;     // "bert", "roberta", "xlm-roberta"
    const char *weights_dtype;  // "F32", "F16", "BF16" (as stored; compute is float32)
    const char *hidden_act;     // "gelu", "gelu_new", "gelu_pytorch_tanh", "relu"
    int hidden, layers, heads, intermediate, vocab_size, max_position_embeddings;
    int num_labels;             // 1 or 2
    int positive_label;         // the logit reported as raw_score: 0 for 1 label, 1 for 2
    int max_length;             // tokens per pair, specials included (tokenizer_config's
                                // model_max_length, capped by the position table)
    const char *activation;     // relevance mapping: "sigmoid" or "softmax"
    const char *activation_source; // where it came from (config key or "default")
    const char *recorded_activation; // the sentence-transformers class path found ("" if none);
                                // relevance is always in [0, 1]: an Identity recorded for one
                                // label still gets the sigmoid (raw carries the logit)
    int has_tokenizer;
    const char *compute_dtype;  // "f32", "bf16", "int8" (fr_model_opts.dtype)
    const char *kernel_isa;     // reduced-precision kernels in use: "avx512", "avx2", "ref"; "sgemm" at f32
} fr_model_info;
void fr_model_get_info(const fr_model *m, fr_model_info *out);
// The model directory's tokenizer.json, opened by fr_model_open (opts.load_tokenizer), or NULL
// when it was not loaded or the directory has none. Owned by the model: valid until
// fr_model_free(m); never free it. Immutable, so any number of threads may encode with it.
const fr_tokenizer *fr_model_tokenizer(const fr_model *m);

// One tokenised sequence (specials included). type_ids may be NULL (all 0); RoBERTa-family
// models ignore them, as transformers does (their tokenizers return no token_type_ids).
typedef struct fr_seq {
    const int32_t *ids;
    const uint8_t *type_ids;
    size_t n;
} fr_seq;

typedef enum {
    FR_LONG_TRUNCATE = 0,   // truncate each pair to max_length (the tokenizer's pair truncation)
    FR_LONG_MAX = 1,        // split the passage into overlapping windows; best window's score
    FR_LONG_MEAN = 2,       // mean of the windows' raw scores
    FR_LONG_FIRST = 3,      // first window only
} fr_long_docs;

typedef struct fr_score_opts {
    int threads;            // 0: the model's default
    int batch_tokens;       // token budget per forward batch and thread; 0: 2048
    int max_length;         // 0: the model's max_length; larger than it is FR_ERANGE
    fr_trunc_strategy truncation;  // FR_LONG_TRUNCATE's strategy (default longest_first)
    int truncate_left;      // FR_LONG_TRUNCATE: 1 cuts from the left (HF direction Left)
    fr_long_docs long_docs;
    int window_stride;      // windows: passage tokens shared by neighbours; 0: a quarter of
                            // the passage window
    int max_windows;        // windows: at most this many per passage, from its start (the
                            // rest is not scored, as Cohere's max_chunks_per_doc); 0: all
} fr_score_opts;
fr_score_opts fr_score_opts_default(void);

// Scores pre-tokenised sequences. OUT: logits (n * num_labels floats, row-major).
// A sequence longer than the position table or with an id outside the vocabulary is FR_ERANGE.
// Results do not depend on batch composition or thread count (within float rounding).
int fr_model_score_ids(const fr_model *m, const fr_seq *seqs, size_t n, const fr_score_opts *opts,
                       float *logits, fr_error *err);

typedef struct fr_rerank_score {
    float raw;              // the positive-class logit
    float relevance;        // in [0, 1]: fr_model_info.activation applied to the logits
    int windows;            // forward passes aggregated (1 unless long_docs is a window mode)
} fr_rerank_score;

// Scores (query, docs[i]) pairs with the model's tokenizer, as sentence-transformers'
// CrossEncoder.predict does. Lengths of -1 mean NUL-terminated (doc_lens may be NULL).
// OUT: scores[n], in input order. An empty query is FR_EINVAL.
int fr_model_rerank(const fr_model *m, const char *query, const char *const *docs,
                    const ptrdiff_t *doc_lens, size_t n, const fr_score_opts *opts,
                    fr_rerank_score *scores, fr_error *err);

// ---- embeddings ----
// Bi-encoders as sentence-transformers saves them: a Hugging Face backbone (BertModel,
// RobertaModel, XLMRobertaModel, a bare model_type, or a *ForSequenceClassification checkpoint
// whose head is ignored) plus modules.json (Transformer → Pooling → optional Normalize),
// 1_Pooling/config.json (CLS, mean, max, mean_sqrt_len, last-token; several concatenate in
// sentence-transformers' order), sentence_bert_config.json (max_seq_length) and
// config_sentence_transformers.json ("prompts", "default_prompt_name"). Without modules.json:
// mean pooling, no normalisation (what sentence-transformers does for a plain HF model).
// A Dense module or weighted-mean pooling is FR_EUNSUPPORTED. One handle is immutable after
// open and may be used from many threads at once.
//
//   fr_embedder *e = NULL;
//   if (fr_embedder_open("bge-small-en-v1.5", NULL, &e, &err) < 0) { ... err.msg ... }
//   fr_embed_opts eo = fr_embed_opts_default();
//   eo.prompt_name = "query";                      // config's "prompts" entry, if any
//   float *v = malloc(fr_embedder_dim(e) * sizeof *v);
//   if (fr_embedder_embed(e, (const char *[]){"what is bm25?"}, 1, &eo, v, &err) == 0) ...
//   fr_embedder_free(e);
typedef struct fr_embedder fr_embedder;

typedef struct fr_embedder_opts {
    int threads;                // default worker threads per call; 0: all online CPUs
    fr_dtype dtype;             // dense-layer compute type, as fr_model_opts.dtype (FR_DTYPE_F32)
} fr_embedder_opts;
fr_embedder_opts fr_embedder_opts_default(void);

// Opens a bi-encoder directory. OUT: *out, free with fr_embedder_free (NULL is a no-op).
int fr_embedder_open(const char *dir, const fr_embedder_opts *opts, fr_embedder **out,
                     fr_error *err);
void fr_embedder_free(fr_embedder *e);

// Floats per embedding (hidden size times the number of pooling modes).
int fr_embedder_dim(const fr_embedder *e);

typedef struct fr_embedder_info {
    const char *architecture;   // "BertModel", ...
    int dim, hidden, layers, max_length;  // max_length: tokens per text, specials included
    const char *pooling;        // "cls", "mean", "max", "mean_sqrt_len", "lasttoken", or
                                // several joined by '+'
    int normalize;              // 1: L2-normalised (2_Normalize)
    int n_prompts;              // entries of config_sentence_transformers.json "prompts"
    const char *default_prompt; // default_prompt_name, or NULL
    const char *compute_dtype;  // "f32", "bf16", "int8" (fr_embedder_opts.dtype)
    const char *kernel_isa;     // as fr_model_info.kernel_isa
} fr_embedder_info;
// Strings live as long as the embedder.
void fr_embedder_get_info(const fr_embedder *e, fr_embedder_info *out);
// The prompt text stored under `name` ("query", "passage", ...); "passage" and "document"
// stand in for each other. NULL when the model has none by that name.
const char *fr_embedder_prompt(const fr_embedder *e, const char *name);

typedef struct fr_embed_opts {
    int threads;                // 0: the embedder's default
    int batch_tokens;           // token budget per forward batch and thread; 0: 2048
    const char *prompt_name;    // a "prompts" key; NULL: default_prompt_name (none if unset).
                                // A name the model lacks is FR_ENOTFOUND.
    const char *prompt;         // literal prefix (e5's "query: "); overrides prompt_name
    int dtype;                  // -1 (default): the embedder's fr_embedder_opts.dtype; else an
                                // fr_dtype for this call's dense layers, e.g. int8 queries
                                // against f32 document vectors (packed on first use; the
                                // packed copy adds 1/4 (int8) or 1/2 (bf16) of the dense
                                // layers' f32 bytes to the handle)
} fr_embed_opts;
fr_embed_opts fr_embed_opts_default(void);
// Packs the dense layers for dtype now (a few tens of ms for MiniLM-sized models) rather than
// on the first fr_embedder_embed that asks for it; a no-op when done. Thread-safe, also
// beside running embeds.
int fr_embedder_prepare(fr_embedder *e, fr_dtype dtype, fr_error *err);

// Embeds n texts (NUL-terminated UTF-8): prompt + text, truncated to max_length tokens, as
// SentenceTransformer.encode does. OUT: out (n * dim floats, row-major, caller-owned).
// Results do not depend on batch composition or thread count (within float rounding).
int fr_embedder_embed(const fr_embedder *e, const char *const *texts, size_t n,
                      const fr_embed_opts *opts, float *out, fr_error *err);

// Exact top-k vector search: a growable in-memory matrix of embeddings searched by brute-force
// SIMD dot product (AVX2/FMA). FR_VEC_I8 stores each vector as int8 with one float scale
// (symmetric per-vector quantisation, after centring on the corpus mean and evening out the
// per-dimension spread when that helps: a transform fitted to the FIRST rows added, when they
// are at least 16 — add a representative first batch; 4x smaller and faster than F32; top-10
// overlap with F32 0.98-0.99 on random unit vectors, 0.97-0.99 on clustered anisotropic ones:
// bench/embed/README.md); FR_VEC_I8_RESCORE gives F32's exact results at near int8 speed.
// Results do not depend on the thread count.
// Not thread-safe for add; search may run concurrently with searches.
typedef struct fr_vecs fr_vecs;
typedef enum {
    FR_VEC_F32 = 0,
    FR_VEC_I8 = 1,
    FR_VEC_I8_RESCORE = 2,  // int8 scan, exact F32 rescoring of the best max(4k, k + 100)
    FR_VEC_I8_REFINE = 3,   // int8 scan, the best max(2k, k + 100) rescored with 2 more bits
                            // per element (1.25x int8's memory; top-10 overlap 0.99+: see bench)
} fr_vec_type;
// "f32", "int8", "int8-rescore", "int8-refine" (the CLI's --vec and the HTTP /info names);
// static strings.
const char *fr_vec_type_name(fr_vec_type t);
int fr_vec_type_parse(const char *s, fr_vec_type *out);  // FR_EINVAL for any other string
typedef struct fr_vec_hit {
    uint32_t id;    // row number, in insertion order
    float score;    // dot product (int8: dequantised)
} fr_vec_hit;
// OUT: *out, free with fr_vecs_free (NULL is a no-op).
int fr_vecs_new(int dim, fr_vec_type type, fr_vecs **out, fr_error *err);
void fr_vecs_free(fr_vecs *v);
// Appends n vectors (n * dim floats, copied / quantised). Non-finite values are FR_EINVAL, as
// are int8 rows that overflow float under the matrix's int8 transform (then nothing is added).
int fr_vecs_add(fr_vecs *v, const float *x, size_t n, fr_error *err);
size_t fr_vecs_count(const fr_vecs *v);
int fr_vecs_dim(const fr_vecs *v);
// The k best rows for query (dim floats) by dot product, best first (ties: lower id first),
// on `threads` threads (0 or 1: the caller's). OUT: out[0..*n_out), *n_out = min(k, count).
int fr_vecs_search(const fr_vecs *v, const float *query, size_t k, int threads, fr_vec_hit *out,
                   size_t *n_out, fr_error *err);
// Files (format in src/index/vectors.c): written to PATH.pending, fsynced, renamed over PATH,
// directory fsynced, so PATH is always a complete old or new file. meta tags what the rows
// belong to (an index generation, the model that made them).
typedef struct fr_vecs_meta {
    uint64_t generation;
    char model[1024];
} fr_vecs_meta;
int fr_vecs_save(const fr_vecs *v, const char *path, const fr_vecs_meta *meta, fr_error *err);
// OUT: *out (free with fr_vecs_free), *meta when not NULL. Truncated, corrupt (CRC32) or
// inconsistent files are FR_EFORMAT / FR_ECORRUPT.
int fr_vecs_load(const char *path, fr_vecs **out, fr_vecs_meta *meta, fr_error *err);
int fr_vecs_load_mem(const void *data, size_t len, const char *name, fr_vecs **out,
                     fr_vecs_meta *meta, fr_error *err);

// ---- hub ----
// Models from the Hugging Face hub, stored in Hugging Face's own cache layout so that files
// fetched by Python tools (huggingface_hub, transformers) are reused and vice versa:
//   $HF_HUB_CACHE/models--ORG--NAME/blobs/ETAG            file contents (sha256 for LFS files,
//                                                         git sha1 otherwise)
//                                  /snapshots/COMMIT/FILE  symlink → ../../blobs/ETAG
//                                  /refs/REVISION          the commit a branch or tag points to
// Environment, as huggingface_hub reads it: HF_HUB_CACHE (or HUGGINGFACE_HUB_CACHE, else
// $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub),
// HF_ENDPOINT (https://huggingface.co), HF_TOKEN (else $HF_HOME/token), HF_HUB_OFFLINE.

// Progress of one file: `done` of `total` bytes (total 0 when unknown). Called often.
typedef void (*fr_hub_progress_fn)(void *ud, const char *file, uint64_t done, uint64_t total);

typedef struct fr_hub_opts {
    const char *revision;          // branch, tag or commit; NULL: "main"
    const char *const *include;    // extra fnmatch() patterns over the repo's files
    size_t n_include;
    const char *endpoint;          // NULL: $HF_ENDPOINT or https://huggingface.co
    const char *token;             // NULL: $HF_TOKEN or $HF_HOME/token; "": send none
    const char *cache_dir;         // NULL: from the environment (see above)
    int offline;                   // -1 (default): $HF_HUB_OFFLINE; 1: never use the network
    int retries;                   // resumes after a dropped connection, per file (default 3)
    fr_hub_progress_fn progress;   // NULL: silent
    void *progress_ud;
} fr_hub_opts;

fr_hub_opts fr_hub_opts_default(void);

// Short names for the reranker families finerank supports ("bge-reranker-v2-m3" →
// "BAAI/bge-reranker-v2-m3"); returns `name` itself when it is not an alias. Static strings.
const char *fr_hub_alias(const char *name);

// Downloads what the engine needs from `repo_id` (a repo id or an alias): config.json (its
// `architectures` are checked before anything large is fetched), tokenizer files,
// sentence-transformers configs when present, the safetensors weights (single or sharded)
// and every file matching opts->include. Resumes partial downloads, verifies checksums,
// and never leaves a half-written file visible. Safe to run concurrently with itself and
// with huggingface_hub on the same cache. OUT: *snapshot_dir, malloc'd, caller frees.
int fr_hub_pull(const char *repo_id, const fr_hub_opts *opts, char **snapshot_dir,
                fr_error *err);

// What `--model ARG` means: an existing path is used as is; otherwise ARG is a repo id or an
// alias (optionally "REPO@REVISION") resolved from the cache, never from the network.
// OUT: *dir, malloc'd, caller frees.
int fr_hub_resolve(const char *model_arg, char **dir, fr_error *err);

// One cached snapshot, for `finerank models`. All strings owned by the list.
typedef struct fr_hub_cached {
    char *repo_id;       // "BAAI/bge-reranker-base"
    char *commit;        // 40 hex digits (the snapshot folder's name)
    char *refs;          // refs pointing at it, comma-separated ("main"), "" when none
    char *dir;           // the snapshot folder
    uint64_t bytes;      // sum of the sizes of its files
    size_t n_files;
} fr_hub_cached;

// Lists the cached snapshots of models under cache_dir (NULL: from the environment), sorted by
// repo id. OUT: *list (free with fr_hub_cached_free), *n.
int fr_hub_list_cached(const char *cache_dir, fr_hub_cached **list, size_t *n, fr_error *err);
void fr_hub_cached_free(fr_hub_cached *list, size_t n);

// ---- index ----
// The first stage: a crash-safe BM25 index over JSON-lines documents, and the analyzer that
// turns text into index terms (the same analyzer at index and at query time).
//
//   fr_index_opts io = fr_index_opts_default();        // lang "english", k1 1.2, b 0.75
//   fr_index *ix = NULL;
//   fr_index_build("idx", &io, &ix, &err);             // create (or open) for writing
//   fr_index_add_jsonl(ix, "corpus.jsonl", FR_ON_ERROR_SKIP, NULL, &err);
//   fr_index_commit(ix, &err);                          // durable once this returns 0
//   fr_search_opts so = fr_search_opts_default();       // k = 10
//   fr_hit hits[10]; size_t n;
//   fr_index_search(ix, "wing slipstream", -1, &so, hits, &n, &err);
//   fr_doc d; fr_index_doc(ix, hits[0].doc, &d, &err);  // d.id, d.title ... live until close
//   fr_index_close(ix);

// -- analyzer --
// Text → terms: NFKC + Unicode case folding (utf8proc), optional accent folding, word
// segmentation (runs of letters/marks/digits; an apostrophe or period between letters and a
// period/comma between digits stay inside a word, as UAX #29 MidLetter/MidNum), English
// possessive "'s" dropped, stopwords, Snowball stemming (libstemmer); Han, Hiragana,
// Katakana and Hangul runs become overlapping character bigrams (a lone CJK character is a
// unigram), so "糖尿病饮食禁忌" is searchable without a dictionary.
// An analyzer is NOT thread-safe (the stemmer and the stem cache are mutable): one per thread.
typedef struct fr_analyzer fr_analyzer;

typedef struct fr_analyzer_opts {
    int stem;           // 1 (default): Snowball-stem words of the language
    int stopwords;      // 1 (default): drop the language's stopwords (built-in lists)
    int fold_accents;   // 1 (default): strip combining marks after NFKD ("café" → "cafe")
    int max_term_bytes; // terms longer than this are dropped (default 64)
} fr_analyzer_opts;

fr_analyzer_opts fr_analyzer_opts_default(void);

// lang: a libstemmer algorithm name or ISO 639-1 code ("english"/"en", "porter", "french"/
// "fr", ...; NULL → "english"; "none" → no stemming and no stopwords). opts NULL → defaults.
// Unknown languages give FR_EUNSUPPORTED. OUT: *out, free with fr_analyzer_free.
int fr_analyzer_new(const char *lang, const fr_analyzer_opts *opts, fr_analyzer **out,
                    fr_error *err);
void fr_analyzer_free(fr_analyzer *a);

// Called once per term, in text order. term is NOT NUL-terminated and lives only during the
// call. pos is the term's position (0, 1, 2, ...; stopwords leave no gap; each CJK bigram
// takes one position). Return nonzero to stop (fr_analyze then returns that value).
typedef int (*fr_term_fn)(void *ud, const char *term, size_t len, uint32_t pos);

// Analyzes text (len -1: NUL-terminated). Invalid UTF-8 bytes are treated as separators
// (documents from the wild must still index). Returns 0 or the callback's nonzero value.
// pos_base is added to every position (to analyze title and text as one stream).
int fr_analyze(fr_analyzer *a, const char *text, ptrdiff_t len, uint32_t pos_base,
               fr_term_fn fn, void *ud);

// A list of analyzed terms, owned by the struct: fr_terms_free(). terms[i] are NUL-terminated.
typedef struct fr_terms {
    size_t n;
    char **terms;       // (n) the terms, in text order
    uint32_t *pos;      // (n) their positions
    float *weight;      // (n) query weights (1.0 from fr_analyze_terms); callers may edit
} fr_terms;

// Same as fr_analyze, collecting into *out (appends; zero it first).
int fr_analyze_terms(fr_analyzer *a, const char *text, ptrdiff_t len, fr_terms *out,
                     fr_error *err);
void fr_terms_free(fr_terms *t);

// -- index --
// A directory holding immutable segment files, per-segment tombstone files and one COMMIT
// file naming the live set (format: src/index/segment.h and src/index/commit.h). A handle is
// either a writer (fr_index_build; takes the directory's flock, one writer at a time) or a
// reader (fr_index_open) on the snapshot of the last commit. Searches on one handle may run
// from several threads at once; writes (add/delete/commit) from one thread at a time.
// Scoring: BM25 (Robertson & Zaragoza 2009) with Lucene's idf log(1 + (N - n + 0.5)/(n + 0.5)),
// title and text combined as simple BM25F: tf = tf_text + title_weight * tf_title, length =
// len_text + title_weight * len_title, one k1 and b (Robertson, Zaragoza & Taylor 2004).
// N, avgdl and df count documents deleted since the last optimize (as Lucene does).
typedef struct fr_index fr_index;

typedef enum { FR_ANN_NONE = 0, FR_ANN_IVF = 1 } fr_ann_kind;

typedef struct fr_index_opts {
    const char *lang;       // default analyzer language ("english"); per-doc "lang" honoured
    double k1, b;           // BM25 (1.2, 0.75 as Lucene/Elasticsearch)
    int title_weight;       // BM25F title weight, an integer 0..16 (default 3; 2..6 beat
                            // 0..1 on Cranfield at every k1, b tried)
    fr_analyzer_opts analyzer;
    size_t mem_budget;      // bytes of postings buffered before a segment is flushed
                            // (default 256 MiB)
    int verify_checksums;   // 1 (default): CRC-check every segment on open
    int sync;               // 1 (default): fsync on commit (0 only for benchmarks/tests)
    int threads;            // builder threads for fr_index_add_jsonl on a regular file, and
                            // 2 or more: fr_index_optimize writes its documents and its
                            // postings on two threads (default 1; 0: online CPUs). Same
                            // index bytes at any count.
    // Embeddings for dense / hybrid retrieval (fr_index_build only). A new index, or one with
    // no documents and no model yet, records the model; every segment then stores its
    // documents' vectors (computed at add, carried over by merges). An existing index keeps
    // its recorded model: another one is FR_EINVAL (re-embed with fr_index_set_embedding).
    const char *embed_model;  // bi-encoder directory, repo id or alias (NULL: none)
    fr_vec_type vec_type;     // stored rows: FR_VEC_F32 (default), FR_VEC_I8, FR_VEC_I8_RESCORE, _I8_REFINE
    const char *query_prompt; // literal query prefix (NULL: the model's "query" prompt, if any)
    const char *doc_prompt;   // literal passage prefix (NULL: the model's "passage" prompt)
    // Approximate dense index (src/index/ivf.c): with FR_ANN_IVF every segment of at least
    // 50,000 rows gets an inverted file over k-means centroids, built when its vectors are
    // written (add, optimize, backfill) and kept as the index's setting (recorded by the next
    // commit; an existing index can opt in, its older segments stay exact until optimize).
    fr_ann_kind ann;          // FR_ANN_NONE (default: exact scans only) or FR_ANN_IVF
    int ivf_lists;            // lists per segment (0: about sqrt(rows), a power of two)
} fr_index_opts;

fr_index_opts fr_index_opts_default(void);

// Creates the index in dir (made if missing) or opens an existing one for writing; the
// settings of an existing index (lang, k1, b, title_weight) win over opts. Takes the writer
// lock: FR_EBUSY if another writer holds it. OUT: *out, release with fr_index_close.
int fr_index_build(const char *dir, const fr_index_opts *opts, fr_index **out, fr_error *err);
// Opens the last commit of dir read-only (no lock). FR_ENOTFOUND when there is no commit.
int fr_index_open(const char *dir, const fr_index_opts *opts, fr_index **out, fr_error *err);
// Re-reads COMMIT if it changed since open (readers only); hits' doc numbers change. On
// failure the handle keeps its snapshot. Not concurrent with searches on the same handle.
int fr_index_reopen(fr_index *ix, fr_error *err);
// Releases the handle (uncommitted writes are discarded). NULL is a no-op.
void fr_index_close(fr_index *ix);

typedef enum { FR_ON_ERROR_FAIL = 0, FR_ON_ERROR_SKIP = 1 } fr_on_error;

// Adds one document given as one JSON object (a JSON-lines line): "id" (or BEIR "_id",
// string, required), "text" (string, required), optional "title", "date" (ISO 8601 date or
// date-time), "source" (string), "authority" (number), "lang", "meta" (or BEIR "metadata",
// any JSON value, stored verbatim). A document whose id exists replaces it (update).
// Invisible to readers until fr_index_commit. Bad input: FR_EFORMAT, nothing added.
int fr_index_add(fr_index *ix, const char *json, size_t len, fr_error *err);

// Adds every line of a JSON-lines file (path "-" = stdin). A bad line gives
// "FILE:LINE: reason" and is never half-added: with FR_ON_ERROR_FAIL the call stops there
// (the lines before it stay pending: fr_index_rollback discards them); with FR_ON_ERROR_SKIP
// the line is skipped and counted. OUT (optional): n_added, n_skipped. err receives the first
// bad line's message. Blank lines are ignored.
int fr_index_add_jsonl(fr_index *ix, const char *path, fr_on_error on_error,
                       size_t *n_added, size_t *n_skipped, fr_error *err);

// Deletes the document with this id (committed or pending). FR_ENOTFOUND if absent.
int fr_index_delete(fr_index *ix, const char *id, fr_error *err);

// Makes every add/delete so far durable: flushes a segment, writes tombstones, writes
// COMMIT.pending, fsyncs, renames it to COMMIT, fsyncs the directory. On failure the previous
// commit stays intact (FR_ENOSPC / FR_EIO name the file). Deletions and already flushed
// segments stay pending for a retry; documents whose segment flush failed are dropped. A
// failure of the final directory fsync is reported although the new COMMIT is in place
// (its durability is unknown). A writer handle searches what it has flushed or committed.
int fr_index_commit(fr_index *ix, fr_error *err);

// Discards every add/delete since the last commit (flushed segments included). After a write
// of add/delete/commit failed (an I/O error, not bad input), the pending changes may be half
// applied — an update's old copy deleted, its new copy lost — so every later add, delete and
// commit is FR_EIO until this is called.
int fr_index_rollback(fr_index *ix, fr_error *err);

// Merges every segment into one, dropping deleted documents, and commits.
int fr_index_optimize(fr_index *ix, fr_error *err);

// -- search --
typedef struct fr_search_opts {
    size_t k;               // number of hits wanted (default 10)
    int64_t date_from;      // filter: date >= date_from (Unix seconds; INT64_MIN: none)
    int64_t date_to;        // filter: date <= date_to (INT64_MAX: none); undated docs fail
                            // any date filter
    const char *source;     // filter: exact source (NULL: none)
    const char *lang;       // filter: exact lang (NULL: none)
    int exhaustive;         // 1: score every posting (no pruning) — for tests
    int nprobe;             // dense search in segments with an IVF index: lists scanned per
                            // segment (-1, the default: FR_IVF_NPROBE_DEFAULT; 0: exact scan
                            // of every row; >= the segment's lists: exact too)
} fr_search_opts;
#define FR_IVF_NPROBE_DEFAULT 32

fr_search_opts fr_search_opts_default(void);

// A hit: doc is the document number in this handle's snapshot (valid until close/reopen).
typedef struct fr_hit {
    uint32_t doc;
    double score;
} fr_hit;

// Top-k documents by BM25 for the query text (analyzed with the index's default analyzer;
// every term OR-ed; a repeated term counts once per occurrence). Ordered by score
// descending, ties by doc number ascending; exactly the exhaustive top-k (Block-Max
// MaxScore pruning). OUT: hits (caller array of >= opts->k entries), *n_hits.
int fr_index_search(fr_index *ix, const char *query, ptrdiff_t len, const fr_search_opts *opts,
                    fr_hit *hits, size_t *n_hits, fr_error *err);
// Same, for already analyzed terms with weights: score = sum_i weight_i * bm25(term_i)
// (RM3 expansion). Terms are not analyzed again.
int fr_index_search_terms(fr_index *ix, const fr_terms *terms, const fr_search_opts *opts,
                          fr_hit *hits, size_t *n_hits, fr_error *err);

// -- embeddings --
// The recorded embedding model. Strings live until the next reopen/close. FR_ENOTFOUND when
// the index has none.
typedef struct fr_index_embedding {
    const char *model;          // as given at build (directory, repo id or alias)
    int dim;
    fr_vec_type type;
    const char *query_prompt, *doc_prompt;  // literal prefixes ("" none)
    uint64_t n_vectors;         // rows over the snapshot's segments (deleted docs included)
    uint64_t n_missing;         // documents of segments without vectors (backfill pending)
    fr_ann_kind ann;            // the index's approximate index setting (fr_index_opts.ann)
    int ivf_lists;              // its lists per segment (0: automatic)
    uint64_t n_ivf;             // rows in segments that have an IVF (the rest scan exactly)
} fr_index_embedding;
int fr_index_embedding_get(fr_index *ix, fr_index_embedding *out, fr_error *err);
// Writers: records model (with type and prompts as in fr_index_opts) and embeds every segment
// that lacks vectors — all of them when the model or type differs from the recorded one —
// as new files that the next fr_index_commit makes live (a crash before it keeps the old
// commit and its vectors). The backfill of `finerank embed --index`.
int fr_index_set_embedding(fr_index *ix, const char *model, fr_vec_type type,
                           const char *query_prompt, const char *doc_prompt, fr_error *err);
// Writers: the approximate index setting for vectors written from now on (as fr_index_opts
// ann / ivf_lists; FR_ANN_NONE stops building IVFs, existing ones stay in use until their
// segments are merged). Recorded by the next commit. FR_EINVAL without an embedding model.
int fr_index_set_ann(fr_index *ix, fr_ann_kind ann, int ivf_lists, fr_error *err);
// Opens the recorded model now (it is otherwise opened on the first dense query); a server
// calls this at start. Safe from many threads.
int fr_index_load_embedder(fr_index *ix, fr_error *err);
// Embeds query with the recorded model and query prompt. OUT: out (dim floats).
int fr_index_embed_query(fr_index *ix, const char *query, float *out, fr_error *err);
// Dense top so->k by dot product with q (dim floats) over every segment's vectors, on
// `threads` threads (0: 1); deleted documents never appear, so's filters apply. A segment
// without vectors is FR_EINVAL naming the backfill. Segments with an IVF index (fr_index_opts
// ann) scan so->nprobe lists each: approximate, and fewer than so->k hits when the probed
// lists hold fewer live rows that pass the filters. OUT: hits (so->k), *n_hits.
int fr_index_search_dense(fr_index *ix, const float *q, const fr_search_opts *so, int threads,
                          fr_hit *hits, size_t *n_hits, fr_error *err);

// Stored fields of one document; strings point into the index mapping and live until
// fr_index_close/reopen. Absent fields are NULL (date_unix INT64_MIN, authority NAN).
// Strings are NUL-terminated; *_len give their lengths.
typedef struct fr_doc {
    const char *id;     size_t id_len;
    const char *title;  size_t title_len;
    const char *text;   size_t text_len;
    const char *date;   size_t date_len;      // as given in the input
    const char *source; size_t source_len;
    const char *lang;   size_t lang_len;
    const char *meta;   size_t meta_len;      // compact JSON of "meta"/"metadata"
    double authority;
    int64_t date_unix;
    int deleted;        // 1 when deleted in this snapshot
} fr_doc;

int fr_index_doc(fr_index *ix, uint32_t doc, fr_doc *out, fr_error *err);
// Looks up a live document by id. OUT: *doc. FR_ENOTFOUND if absent.
int fr_index_find(fr_index *ix, const char *id, uint32_t *doc, fr_error *err);
// The analyzed terms of a document (title then text, positions continuing) — for proximity
// and RM3. Appends to *out (zero it first). Uses the index's analyzer for the doc's lang.
int fr_index_doc_terms(fr_index *ix, uint32_t doc, fr_terms *out, fr_error *err);
// Analyzes text with the index's default analyzer (query side for proximity/RM3).
int fr_index_analyze(fr_index *ix, const char *text, ptrdiff_t len, fr_terms *out,
                     fr_error *err);

typedef struct fr_index_stats {
    uint64_t n_docs;        // documents in the snapshot, deleted included (BM25's N)
    uint64_t n_live;        // documents not deleted
    uint64_t n_segments;
    uint64_t n_terms;       // sum over segments of distinct terms
    uint64_t bytes;         // bytes of the segment files
    double avg_dl;          // BM25F average document length
    double avg_title_len, avg_text_len;  // average field lengths in terms
    double k1, b;
    int title_weight;
    uint64_t generation;    // commit generation
    char lang[32];
} fr_index_stats;

int fr_index_stats_get(fr_index *ix, fr_index_stats *out, fr_error *err);
// Document frequency of an analyzed term (deleted docs included, as N). 0 when absent.
uint64_t fr_index_df(fr_index *ix, const char *term, size_t len);
// BM25 idf of a term under this snapshot's statistics.
double fr_index_idf(fr_index *ix, const char *term, size_t len);
// Number of documents in the snapshot (doc numbers are 0 .. n-1).
uint32_t fr_index_n_docs(fr_index *ix);

// ---- evaluation ----
// Relevance judgments (qrels), query sets and TREC run files, and the five metrics of the
// first-stage benchmark computed exactly as trec_eval 10.0 computes them (src/rank/metrics.c):
//   ndcg10     = ndcg_cut.10   graded gain = qrel grade, log2(rank+1) discount, ideal over all
//                              judged documents of the query
//   map1000    = map  -M1000   every grade >= 1 counts as relevant
//   recall100  = recall.100,  recall1000 = recall.1000
//   mrr10      = recip_rank -M10 (0 when no relevant document in the first 10)
// A run is sorted as trec_eval sorts it (score descending, ties by docid descending, byte
// order), and the means are taken over every query of the qrels (trec_eval -c): a judged
// query the run misses scores 0; a run query without judgments is ignored.
//
//   fr_qrels *qr; fr_run *run; fr_eval ev;
//   fr_qrels_read("qrels/test.tsv", &qr, &err);
//   fr_run_read("bm25.trec", &run, &err);
//   fr_eval_run(qr, run, &ev, &err);       // ev.mean.ndcg10, ev.per_query[i].m.map1000 ...
//   fr_eval_free(&ev); fr_run_free(run); fr_qrels_free(qr);

// Judgments: "query-id corpus-id score" lines (BEIR qrels TSV; a first line whose last field
// is not an integer is a header and skipped) or "qid iter docid rel" (TREC qrels); fields split
// on tabs/spaces; blank lines and '#' lines skipped. A repeated (qid, docid) is FR_EFORMAT,
// as in trec_eval. Negative grades are kept as "judged but unjudged" (trec_eval's pool value).
typedef struct fr_qrels fr_qrels;
// OUT: *out, free with fr_qrels_free. `name` is used in error messages ("qrels.tsv:12: ...").
int fr_qrels_read(const char *path, fr_qrels **out, fr_error *err);
int fr_qrels_parse(const char *data, size_t len, const char *name, fr_qrels **out,
                   fr_error *err);
void fr_qrels_free(fr_qrels *qr);
size_t fr_qrels_n_queries(const fr_qrels *qr);
// Grade of (qid, docid); INT32_MIN when not judged.
int32_t fr_qrels_grade(const fr_qrels *qr, const char *qid, const char *docid);

// Queries: BEIR queries.jsonl, one object a line with "_id" (or "id"; a string or an integer)
// and "text"; other keys ignored. Arrays owned by the struct: fr_queries_free().
typedef struct fr_query {
    char *id;
    char *text;
} fr_query;
typedef struct fr_queries {
    size_t n;
    fr_query *q;       // (n) in file order
} fr_queries;
int fr_queries_read(const char *path, fr_queries *out, fr_error *err);
int fr_queries_parse(const char *data, size_t len, const char *name, fr_queries *out,
                     fr_error *err);
void fr_queries_free(fr_queries *qs);

// A run: (qid, docid, score) triples, i.e. a TREC run file "qid Q0 docid rank score tag"
// (rank and tag are ignored on reading, as trec_eval does; blank and '#' lines skipped).
typedef struct fr_run fr_run;
int fr_run_new(fr_run **out);
void fr_run_free(fr_run *run);
// Copies the strings. A docid repeated within one query is reported by fr_eval_run.
int fr_run_add(fr_run *run, const char *qid, const char *docid, double score);
size_t fr_run_size(const fr_run *run);
int fr_run_read(const char *path, fr_run **out, fr_error *err);
int fr_run_parse(const char *data, size_t len, const char *name, fr_run **out, fr_error *err);
// Writes the run, each query's lines in trec_eval order with ranks 1.., scores printed so
// that they read back exactly (%.15g, or %.17g where that is needed). Queries in order of
// first appearance. tag NULL → "finerank".
int fr_run_write(const fr_run *run, const char *path, const char *tag, fr_error *err);

typedef struct fr_metrics {
    double ndcg10, map1000, recall100, recall1000, mrr10;
} fr_metrics;

typedef struct fr_eval_query {
    const char *qid;   // points into the qrels (lives as long as it)
    fr_metrics m;
    size_t n_ret;      // documents the run returned for the query (before any cutoff)
    size_t n_rel;      // judged documents with grade >= 1
} fr_eval_query;

typedef struct fr_eval {
    size_t n_queries;          // queries of the qrels (the -c denominator)
    size_t n_run_queries;      // of those, queries the run has results for
    size_t n_ignored;          // run queries without judgments (ignored)
    fr_metrics mean;
    fr_eval_query *per_query;  // (n_queries) in qid byte order, as trec_eval -q prints them
} fr_eval;

// Scores run against qrels. OUT: *out, release with fr_eval_free. FR_EFORMAT when a query
// of the run lists a docid twice (trec_eval refuses such runs too).
int fr_eval_run(const fr_qrels *qr, const fr_run *run, fr_eval *out, fr_error *err);
void fr_eval_free(fr_eval *ev);

// ---- no-model reranking ----
// What finerank does with the first stage's candidates when no neural model is configured
// (src/rank/proximity.c, src/rank/rm3.c; formulas and sources in those files' headers).

// Term proximity: BM25 + the BM25TP proximity score of Büttcher, Clarke & Lushman (SIGIR
// 2006) over the first `depth` candidates, from their re-analysed stored text.
typedef struct fr_prox_opts {
    size_t depth;     // candidates reranked (default 100); the rest keep their order
    double k1, b;     // accumulator saturation; < 0 (default): the index's BM25 k1, b
    double scale;     // TP multiplier (default 1). After RM3, whose scores weigh each
                      // original query term by orig_weight / |q|, pass that to keep BM25
                      // and TP on one scale (fr_rm3_search does not rescale TP itself)
} fr_prox_opts;
fr_prox_opts fr_prox_opts_default(void);

// One document's analyzed term stream, as query-term indices (pure scoring input).
typedef struct fr_prox_doc {
    const int32_t *qidx;   // (n) index of the query term at each position, -1 for others
    const uint32_t *pos;   // (n) positions, ascending
    size_t n;
    double dl;             // document length in terms
} fr_prox_doc;
// The proximity part TP(D) (>= 0) for distinct query terms with idf weights w (n_q).
double fr_proximity_score(const fr_prox_doc *doc, const double *w, size_t n_q, double k1,
                          double b, double avgdl);

// Reranks hits[0..n_hits) (sorted by score, as fr_index_search gives them) in place:
// score += TP over the first opts->depth, which are re-sorted (ties by doc number).
int fr_proximity_rerank(fr_index *ix, const char *query, ptrdiff_t len,
                        const fr_prox_opts *opts, fr_hit *hits, size_t n_hits, fr_error *err);
int fr_proximity_rerank_terms(fr_index *ix, const fr_terms *query, const fr_prox_opts *opts,
                              fr_hit *hits, size_t n_hits, fr_error *err);

// RM3 pseudo-relevance feedback (Lavrenko & Croft 2001), as Anserini's Rm3Reranker.
typedef struct fr_rm3_opts {
    size_t fb_docs;        // feedback documents (default 10)
    size_t fb_terms;       // expansion terms (default 10)
    double orig_weight;    // weight of the original query (default 0.5)
    double max_df_ratio;   // terms in more than this share of documents are not used (0.1)
} fr_rm3_opts;
fr_rm3_opts fr_rm3_opts_default(void);

// Share of the collection's documents that contain term (for the df filter).
typedef double (*fr_rm3_df_ratio_fn)(void *ud, const char *term, size_t len);

// Pure expansion: from the analyzed query, the analyzed feedback documents and their
// first-pass scores, the weighted expanded query (weights sum to 1, heaviest first).
// df_ratio may be NULL (no df filter). OUT: *out, release with fr_terms_free.
int fr_rm3_expand(const fr_terms *query, const fr_terms *fb_docs, const double *fb_scores,
                  size_t n_fb, const fr_rm3_opts *opts, fr_rm3_df_ratio_fn df_ratio, void *ud,
                  fr_terms *out, fr_error *err);

// First pass, expansion, second pass; same contract as fr_index_search.
int fr_rm3_search(fr_index *ix, const char *query, ptrdiff_t len, const fr_search_opts *so,
                  const fr_rm3_opts *ro, fr_hit *hits, size_t *n_hits, fr_error *err);
int fr_rm3_search_terms(fr_index *ix, const fr_terms *query, const fr_search_opts *so,
                        const fr_rm3_opts *ro, fr_hit *hits, size_t *n_hits, fr_error *err);

// ---- pipeline ----
// The second half of two-stage retrieval (src/rank/): business signals (timeliness and
// authority, src/rank/signals.c), diversity (MMR, src/rank/mmr.c) and the pipeline that runs
// candidates → fine sort → signals → MMR → top k (src/rank/pipeline.c, docs/pipeline.md).
// Specs, configs and signal structs are plain data: copy them by value to override per query.

// Dates and durations. fr_date_parse is the one ISO 8601 parser (documents, filters, specs):
// "YYYY[-MM[-DD]]" and "YYYY-MM-DD(T| )hh:mm[:ss[.f+]][Z|±hh[:mm]|±hhmm]" (no zone = UTC;
// "2023" = 2023-01-01; 24:00 = next day 00:00; grammar in src/base/date.c). `field` names the
// value in error messages ("date: '2023-13-01': month 13 out of range"). OUT: *ms, Unix ms.
int fr_date_parse(const char *s, size_t len, const char *field, int64_t *ms, fr_error *err);
// "30d", "2y", "1.5h", "250ms": a decimal number and one of ms s m h d w y (y = 365 d).
int fr_duration_parse(const char *s, size_t len, const char *field, int64_t *ms, fr_error *err);
// Milliseconds since the Unix epoch, from the system clock.
int64_t fr_now_ms(void);

// Timeliness: a weight from a document's age. Decay functions exactly as Elasticsearch's
// function_score defines them, on distance d = max(0, |date − origin| − offset) in ms:
//   exp:    exp(ln(decay)/scale · d)
//   gauss:  exp(d² · ln(decay) / scale²)      (= exp(−d²/2σ²) with σ² = −scale²/(2 ln decay))
//   linear: max(0, (s − d)/s), s = scale/(1 − decay)
// or a step table over age = max(0, origin − date), first matching rule wins.
// Spec syntax (fr_freshness_parse): "none" |
//   "exp|gauss|linear:scale=DUR[,offset=DUR][,decay=X][,origin=DATE|now][,missing=X]" |
//   "[step:]OPDUR:W{,OPDUR:W}[,else=W][,missing=W]" with OP one of <= < >= >,
//   e.g. "<=2y:1.2,>=10y:0.7". Defaults: offset 0, decay 0.5, origin now, else 1, missing 1.
typedef enum {
    FR_FRESH_NONE = 0,
    FR_FRESH_EXP,
    FR_FRESH_GAUSS,
    FR_FRESH_LINEAR,
    FR_FRESH_STEP,
} fr_fresh_kind;

#define FR_FRESH_MAX_STEPS 16
typedef struct fr_fresh_step {
    char op[3];                 // "<=", "<", ">=", ">"
    int64_t age_ms;
    double weight;
} fr_fresh_step;

typedef struct fr_freshness {
    fr_fresh_kind kind;
    int has_origin;             // 0: origin = the query's "now"
    int64_t origin_ms;
    int64_t scale_ms, offset_ms;
    double decay;               // in (0, 1)
    double missing;             // weight for documents without a date (the neutral value)
    double otherwise;           // step tables: weight when no rule matches
    int n_steps;
    fr_fresh_step steps[FR_FRESH_MAX_STEPS];
} fr_freshness;

fr_freshness fr_freshness_default(void);  // FR_FRESH_NONE, missing 1
// Parses a spec into *out (fully overwritten on success, untouched on failure).
int fr_freshness_parse(const char *spec, fr_freshness *out, fr_error *err);
// The weight of a document dated date_ms (has_date 0: the `missing` value); now_ms is the
// origin when the spec has none.
double fr_freshness_weight(const fr_freshness *f, int has_date, int64_t date_ms, int64_t now_ms);
// A canonical spec string for explanations ("gauss:scale=1095d,offset=0d,decay=0.5,...").
void fr_freshness_format(const fr_freshness *f, char *buf, size_t cap);

// Authority: a coefficient per document. Table entries match the document's `source` exactly;
// otherwise the document's own `authority` number is used (unless "nofield"), otherwise
// `default`. Spec: "none" | "ITEM{,ITEM}" with ITEM = SOURCE:X | default=X | field | nofield,
// e.g. "guideline:1.0,self-media:0.7,default=0.9".
#define FR_AUTH_MAX 32
typedef struct fr_authority {
    int use_field;              // 1 (default): a document's `authority` field applies
    double dflt;                // 1.0
    int n;
    char source[FR_AUTH_MAX][64];
    double coef[FR_AUTH_MAX];
} fr_authority;

fr_authority fr_authority_default(void);
int fr_authority_parse(const char *spec, fr_authority *out, fr_error *err);
// source may be NULL; has_auth says whether the document carries an `authority` number.
// Negative or non-finite values count as 0.
double fr_authority_weight(const fr_authority *a, const char *source, int has_auth, double auth);

// Combination of the per-document factors. product (default): semantic × timeliness ×
// authority; sum: ws·semantic + wt·timeliness + wa·authority.
// Spec: "product" | "sum[:semantic=X,timeliness=X,authority=X]" (sum defaults 0.7/0.15/0.15).
typedef enum { FR_COMBINE_PRODUCT = 0, FR_COMBINE_SUM = 1 } fr_combine_mode;
typedef struct fr_combine {
    fr_combine_mode mode;
    double w_semantic, w_timeliness, w_authority;
} fr_combine;

fr_combine fr_combine_default(void);
int fr_combine_parse(const char *spec, fr_combine *out, fr_error *err);
double fr_combine_score(const fr_combine *c, double semantic, double timeliness, double authority);

// MMR (Carbonell & Goldstein 1998): greedily picks
//   argmax_{d ∉ S} λ·rel(d)/max rel − (1 − λ)·max_{s ∈ S} cos(d, s)
// over sparse document vectors (TF-IDF over analyzed terms; fr_mmr_vectors builds them).
// λ = 1 is plain relevance order. With cap > 0, at most `cap` documents of one group enter
// the list before every document within its group's cap has been placed (over-cap documents
// are demoted, not dropped).
typedef struct fr_mmr_item {
    double rel;                 // relevance, >= 0 (the combined score)
    const char *group;          // cap group (source or a meta field), NULL: none
    size_t n;                   // sparse vector: n (term, weight) pairs, terms ascending
    const uint32_t *terms;
    const float *w;
} fr_mmr_item;

typedef struct fr_mmr_opts {
    double lambda;              // in [0, 1]
    int cap;                    // 0: no cap
    size_t k;                   // MMR picks the first k ranks (0: all n); the rest follow in
                                // relevance order (keeps the cost O(n·k) cosines)
} fr_mmr_opts;

// Orders the n items. OUT (caller-allocated, n entries each; any may be NULL):
// order[r] = index of the item at rank r; max_sim[i] = max cosine of item i to the items
// ranked above it when it was picked; mmr[i] = its MMR score then (for ranks >= k: its
// normalized relevance and max_sim 0). Ties go to the lower index.
int fr_mmr_rank(const fr_mmr_item *items, size_t n, const fr_mmr_opts *opts, size_t *order,
                double *max_sim, double *mmr, fr_error *err);
// Cosine of two sparse vectors (terms ascending); 0 when either is empty.
double fr_mmr_cosine(const fr_mmr_item *a, const fr_mmr_item *b);

// TF-IDF vectors for n documents given as analyzed term lists (terms[i]: n_terms[i]
// NUL-terminated strings): w(t, d) = tf(t, d) · idf(t) with Lucene's BM25 idf
// ln(1 + (N − df + 0.5)/(df + 0.5)), always > 0. df and N come from df_fn (e.g. the index)
// when not NULL, else from the n documents themselves.
// OUT: items[i].n/terms/w (rel and group untouched), pointing into *out, which owns them:
// free with fr_mmr_vectors_free.
typedef struct fr_mmr_vectors fr_mmr_vectors;
typedef uint64_t (*fr_df_fn)(void *ctx, const char *term, size_t len, uint64_t *n_docs);
int fr_mmr_vectors_build(char **const *terms, const size_t *n_terms, size_t n,
                         fr_df_fn df_fn, void *df_ctx, fr_mmr_item *items,
                         fr_mmr_vectors **out, fr_error *err);
void fr_mmr_vectors_free(fr_mmr_vectors *v);

// -- fusion --
// Hybrid retrieval: several ranked lists (BM25, dense) → one. Formulas in src/rank/fusion.c.
typedef enum {
    FR_FUSE_RRF = 0,        // reciprocal rank fusion: Σ w_i / (rrf_k + rank_i)
    FR_FUSE_WEIGHTED = 1,   // Σ w_i · min-max normalised score_i
} fr_fuse_method;
typedef struct fr_fuse_opts {
    fr_fuse_method method;  // RRF
    double rrf_k;           // 60
    const double *weights;  // one per list; NULL: 1 (RRF) or 1 / n_lists (weighted)
} fr_fuse_opts;
fr_fuse_opts fr_fuse_opts_default(void);
// Fuses n_lists lists (each best first, a doc at most once per list). OUT: out (caller array of
// at least Σ lens entries), *n_out: every doc once, best first, ties by doc number ascending.
int fr_fuse(const fr_hit *const *lists, const size_t *lens, size_t n_lists, const fr_fuse_opts *opts,
            fr_hit *out, size_t *n_out, fr_error *err);

// -- retrieval --
// The candidate stage of hybrid retrieval (src/rank/retriever.c): BM25 (fr_index_search),
// dense (the query embedded with the index's recorded model, fr_index_search_dense) or both
// fused. One set of options for the library, the CLI (--retriever ...) and the server
// (fields of the pipeline config's "retriever" section).
typedef enum {
    FR_RETRIEVER_BM25 = 0,
    FR_RETRIEVER_DENSE = 1,
    FR_RETRIEVER_HYBRID = 2,    // BM25 and dense lists fused
} fr_retriever_kind;
typedef struct fr_retriever_opts {
    fr_retriever_kind kind;     // bm25
    fr_fuse_method fusion;      // rrf
    double rrf_k;               // 60
    double dense_weight;        // weighted fusion: dense weight, BM25 gets 1 - it (0.5)
    size_t depth;               // hybrid: hits taken from each list (100; at least k)
    int threads;                // threads of the dense scan (1); hybrid with >= 2 also runs
                                // BM25 on a second thread beside the query embedding
    fr_dtype query_dtype;       // dense layers of the query embedding (f32): int8 or bf16
                                // embed queries ~4x / ~2x faster against vectors stored in
                                // any type (bench/embed/README.md "Query dtype": cosine to
                                // the f32 query >= 0.9999 on the benchmark model)
    int nprobe;                 // IVF lists scanned per segment, as fr_search_opts.nprobe
                                // (-1: the default; 0: exact); overrides so->nprobe
} fr_retriever_opts;
fr_retriever_opts fr_retriever_opts_default(void);
// The top so->k for query; so's filters apply to both lists. A dense or hybrid retriever on
// an index without embeddings is FR_EINVAL naming how to add them. Safe from many threads
// (the embedder is loaded once per index handle). OUT: hits (so->k), *n_hits.
int fr_retrieve(fr_index *ix, const char *query, const fr_retriever_opts *ro,
                const fr_search_opts *so, fr_hit *hits, size_t *n_hits, fr_error *err);
// Loads what a dense or hybrid ro needs before the first query (the index's embedding model,
// and its weights packed for ro->query_dtype); a no-op for bm25 or an index without
// embeddings. A server calls it at start. Safe from many threads.
int fr_retriever_prepare(fr_index *ix, const fr_retriever_opts *ro, fr_error *err);
// Fuses a BM25 list and a dense list (each best first) as ro says: RRF with rrf_k, or the
// weighted sum with weights (1 - dense_weight, dense_weight). OUT: out (nb + nd entries),
// *n_out.
int fr_retriever_fuse(const fr_retriever_opts *ro, const fr_hit *bm25, size_t nb,
                      const fr_hit *dense, size_t nd, fr_hit *out, size_t *n_out,
                      fr_error *err);

// -- pipeline config --
// Every knob of the pipeline, as plain data (copy to override per query). Loaded from a JSON
// file (docs/pipeline.md lists every field with its default), overridden by JSON fragments
// (HTTP requests) and by key=value pairs (CLI flags), all through the same field table, so a
// field has one name everywhere: "candidates", "diversity.lambda", "filters.source", ...
typedef enum {
    FR_RERANK_AUTO = 0,         // the cross-encoder when a model is configured, else proximity
    FR_RERANK_NONE,             // semantic = BM25 / max BM25 of the candidates
    FR_RERANK_PROXIMITY,        // the term-proximity reranker (no model)
    FR_RERANK_MODEL,            // the cross-encoder (needs "model")
} fr_rerank_kind;

typedef struct fr_pipeline_config {
    size_t candidates;          // N1: BM25 candidates (1000)
    size_t rerank_top;          // N2: candidates fine-sorted (100)
    size_t k;                   // results returned (10)
    fr_rerank_kind reranker;    // auto
    char model[1024];           // cross-encoder model directory ("": none)
    int rm3;                    // 0: RM3 expansion of the BM25 query (ir helper's rm3.c)
    size_t rm3_fb_docs;         // 10
    size_t rm3_fb_terms;        // 10
    double rm3_orig_weight;     // 0.5
    char synonyms[1024];        // synonyms file ("": none); format in docs/pipeline.md
    double synonym_weight;      // BM25 weight of terms added by synonyms (0.5)
    char filter_source[128];    // exact source ("": any)
    char filter_lang[32];       // exact lang ("": any)
    int64_t date_from_ms;       // INT64_MIN: none
    int64_t date_to_ms;         // INT64_MAX: none
    fr_freshness freshness;     // none
    fr_authority authority;     // the document's own `authority` field, else 1
    fr_combine combine;         // product
    double lambda;              // MMR λ (1: no diversity)
    int cap;                    // at most cap documents per group ahead of the rest (0: off)
    char cap_field[64];         // "source" or "meta.FIELD" (default "source")
    int mmr_local_idf;          // 1 (default): MMR's idf over the fine-sorted candidates (no
                                // dictionary lookups); 0: the collection's idf from the index
    int explain;                // 0
    double deadline_ms;         // latency budget for the whole query (0: none)
    int64_t now_ms;             // the clock for timeliness (0: the system clock)
    fr_retriever_opts retriever; // the candidate stage: bm25 (default), dense or hybrid
} fr_pipeline_config;

fr_pipeline_config fr_pipeline_config_default(void);
// Applies a JSON object on top of *cfg (unlisted fields keep their values). `name` prefixes
// error messages: "pipeline.json: diversity.lambda: 1.5 is outside [0, 1]". On failure *cfg
// is unchanged.
int fr_pipeline_config_apply_json(fr_pipeline_config *cfg, const char *json, size_t len,
                                  const char *name, fr_error *err);
// Reads a JSON file and applies it (as above, named by its path).
int fr_pipeline_config_load(fr_pipeline_config *cfg, const char *path, fr_error *err);
// Sets one field from a string ("diversity.lambda", "0.7"); the CLI's flags use this.
int fr_pipeline_config_set(fr_pipeline_config *cfg, const char *key, const char *value,
                           fr_error *err);
// The effective config as a JSON object (malloc'd; caller frees). NULL on out of memory.
char *fr_pipeline_config_to_json(const fr_pipeline_config *cfg);

// -- pipeline --
// candidates (BM25 top N1 over the query plus synonyms [+ RM3], filtered) → fine sort of the
// top N2 (cross-encoder or proximity; semantic score in [0, 1]) → signals (timeliness ×
// authority, combined with semantic) → MMR → top k. A pipeline is bound to one index and
// holds the loaded synonyms and model; runs may use per-query configs.
typedef struct fr_pipeline fr_pipeline;

// A semantic scorer: scores[i] in [0, 1] for (query, passages[i]), i < n. Called with small
// batches (the pipeline checks its deadline between calls). Return 0 or FR_E*.
typedef int (*fr_semantic_fn)(void *ctx, const char *query, const char *const *passages,
                              size_t n, double *scores, fr_error *err);

// cfg supplies the synonyms file and model loaded once. ix must outlive the pipeline.
// OUT: *out, free with fr_pipeline_free.
int fr_pipeline_new(fr_index *ix, const fr_pipeline_config *cfg, fr_pipeline **out,
                    fr_error *err);
void fr_pipeline_free(fr_pipeline *p);
// Replaces the fine-sort scorer (used by FR_RERANK_MODEL), e.g. a remote model or a test
// double; name appears in results ("cross-encoder"). ctx must outlive the pipeline.
void fr_pipeline_set_scorer(fr_pipeline *p, fr_semantic_fn fn, void *ctx, const char *name);

// One ranked document with every factor of its score.
typedef struct fr_ranked {
    uint32_t doc;               // document number in the index snapshot
    const char *id, *title, *source, *date;  // point into the index (live until it closes)
    double bm25;                // stage-1 score
    size_t stage1_rank;         // 1-based rank among the candidates
    int scored;                 // 1: fine-sorted; 0: beyond N2 or past the deadline
    double semantic;            // in [0, 1] (NAN when not scored)
    double timeliness, authority;
    double score;               // combine(semantic, timeliness, authority) = "final"
    double max_sim;             // max TF-IDF cosine to the documents ranked above (MMR)
    double diversity_penalty;   // (1 − λ)·max_sim
    double mmr;                 // λ·score/max score − penalty (the MMR objective)
} fr_ranked;

typedef struct fr_result {
    size_t n;                   // ranked documents (<= k)
    fr_ranked *items;           // (n) owned: fr_result_free
    size_t n_candidates;        // stage-1 hits
    size_t n_rerank;            // documents sent to the fine sort (min(N2, n_candidates))
    size_t n_scored;            // of those, scored before the deadline
    int deadline_hit;           // 1: the fine sort stopped early; the rest kept stage-1 order
    char reranker[32];          // "cross-encoder", "proximity", "none"
    char retriever[16];         // "bm25", "dense", "hybrid"
    char *query_terms;          // the BM25 query after synonyms/RM3 ("term^w ...", owned)
    double ms_candidates, ms_rerank, ms_signals, ms_mmr, ms_total;
} fr_result;

// Runs one query. cfg NULL: the config given to fr_pipeline_new. OUT: *res (zero it first or
// pass one already freed), release with fr_result_free.
int fr_pipeline_run(fr_pipeline *p, const char *query, const fr_pipeline_config *cfg,
                    fr_result *res, fr_error *err);
void fr_result_free(fr_result *res);
// The result as one JSON object {"query", "reranker", "deadline_hit", "timing_ms", "results":
// [{"rank", "id", "title", "score", "explain": {...}}]} (explain only when asked); malloc'd.
char *fr_result_to_json(const fr_result *res, const char *query, int explain);

// ---- server ----
// The HTTP server (src/serve/): Cohere v1/v2 and Jina (POST /v1/rerank, /v2/rerank) and
// Hugging Face TEI (POST /rerank) rerank routes with finerank's signal extensions, the full
// pipeline (POST /v1/search), durable ingestion (POST /v1/documents, DELETE
// /v1/documents/{id}), GET /health, /info, /metrics. docs: src/serve/server.c's header.
// Concurrent rerank requests share forward batches under a token budget (a scorer pool fed by
// a bounded queue; full → 429 Retry-After). Either index_dir or model_dir may be NULL.
typedef struct fr_server fr_server;

typedef struct fr_server_opts {
    const char *host;           // "127.0.0.1"
    int port;                   // 8080; 0: an ephemeral port (fr_server_port tells which)
    const char *index_dir;      // NULL: no /v1/search, no /v1/documents
    const char *model_dir;      // NULL: rerank routes answer 503 "no model loaded"
    const char *config_path;    // pipeline config (JSON), NULL: defaults
    const char *model_name;     // reported as "model" (NULL: the model directory's basename)
    size_t max_body_bytes;      // 413 beyond (32 MiB)
    size_t max_documents;       // per request (10000)
    int max_json_depth;         // nesting depth of a request body (32)
    size_t max_query_bytes;     // (65536)
    int scorer_threads;         // forward-pass workers (0: online CPUs)
    int max_batch_tokens;       // tokens per forward batch across requests (8192)
    int max_queue;              // requests waiting for a worker, and rerank jobs queued or
                                // running in the scorer pool, before 429 (64)
    int fuse_batches;           // 0 (default): a request's scores never depend on other
                                // requests (bitwise); 1: one GEMM across requests (within 1e-5)
    int max_connections;        // open connections (256)
    int per_ip_connections;     // open connections per client address (0: no limit)
    int timeout_s;              // idle connection timeout in seconds (60)
    int drain_timeout_s;        // fr_server_drain waits at most this long (30)
    int workers;                // request threads for rerank/search/documents; other clients
                                // wait in a queue of max_queue (0: 2 × scorer threads, >= 4)
    fr_dtype dtype;             // the model's compute type (FR_DTYPE_F32)
} fr_server_opts;

fr_server_opts fr_server_opts_default(void);

// Loads the model/index/config and starts listening (own threads). OUT: *out, stop and release
// with fr_server_free. Errors name the failing part ("model: ...", "listen 127.0.0.1:80: ...").
int fr_server_start(const fr_server_opts *opts, fr_server **out, fr_error *err);
// The port actually bound.
int fr_server_port(const fr_server *s);
// Stops accepting connections, answers 503 to new requests on open ones and waits (at most
// drain_timeout_s) for the requests in flight to finish. Safe to call from any thread once.
void fr_server_drain(fr_server *s);
// Drains if not done, stops every thread and releases everything. NULL is a no-op.
void fr_server_free(fr_server *s);

#ifdef __cplusplus
}
#endif
#endif
