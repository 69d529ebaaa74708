/* bench_model.c — finerank's side of bench/model/run.sh.
 *
 *   bench_model MODEL_DIR PAIRS_JSON THREADS REPS LOGITS_OUT [DTYPE]
 *   bench_model MODEL_DIR --e2e THREADS REPS DTYPE      (needs MODEL_DIR/tokenizer.json)
 *
 * DTYPE: f32 (default), bf16 or int8 (fr_model_opts.dtype). The JSON line also carries
 * peaks measured here by tight register-only loops on THREADS threads: f32 FMA
 * (vfmadd231ps ymm, and zmm where the CPU has AVX-512; 2 FLOP per lane), int8 multiply-add as
 * the AVX2 kernel does it (vpsignb + vpmaddubsw + vpmaddwd + vpaddd, 2 OP per int8 pair) and,
 * with AVX512-VNNI / AVX512-BF16, as the avx512 kernels do it (vpdpbusd zmm: 128 OP;
 * vdpbf16ps zmm: 64 FLOP) — the ceilings for % of peak. "% int8 peak" and "% bf16 peak" use
 * the loop of the kernel table that ran (kernel_isa); "% FMA peak" the larger FMA loop.
 * DTYPE "all": f32, bf16 and int8 models in one process, passes interleaved (f32, bf16, int8,
 * f32, ...) and the best of REPS kept for each, so that load from other jobs on a shared
 * machine hits all three alike; prints one JSON line per dtype (logits of the int8 model).
 * --e2e: the 100 passages x 128 tokens job end to end through fr_model_rerank (tokenisation
 * of the query and 100 text passages included, truncated to 128 tokens).
 *
 * Scores the fixed pairs (token ids, from make_minilm.py) REPS times with THREADS threads and
 * prints one JSON line: best wall time, pairs/s, achieved GFLOP/s, the harness's own sgemm
 * peak with the same thread count (THREADS concurrent single-threaded OpenBLAS sgemm calls on a
 * (2048 x 384) x (384 x 1536) product, the encoder's commonest shape) and peak RSS.
 * Writes the logits (one per line) to LOGITS_OUT for the cross-engine agreement check.
 */
#include <cblas.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <immintrin.h>

#include "finerank.h"
#include "../bench.h"


typedef struct { float *a, *b, *c; int m, n, k, reps; } gemm_job;
static void *gemm_run(void *p) {
    gemm_job *g = p;
    for (int r = 0; r < g->reps; r++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, g->m, g->n, g->k, 1.0f, g->a, g->k, g->b,
                    g->k, 0.0f, g->c, g->n);
    return NULL;
}

// Aggregate GFLOP/s of `threads` concurrent single-threaded sgemm calls (best of 3).
static double gemm_peak(int threads) {
    int m = 2048, n = 1536, k = 384, reps = 4;
    gemm_job jobs[64];
    pthread_t t[64];
    for (int i = 0; i < threads; i++) {
        jobs[i] = (gemm_job){malloc((size_t)m * k * 4), malloc((size_t)n * k * 4), malloc((size_t)m * n * 4), m, n, k, reps};
        for (size_t j = 0; j < (size_t)m * k; j++) jobs[i].a[j] = (float)(j % 7) * 0.1f;
        for (size_t j = 0; j < (size_t)n * k; j++) jobs[i].b[j] = (float)(j % 5) * 0.1f;
    }
    gemm_run(&jobs[0]);  // warm up
    double best = 0;
    for (int trial = 0; trial < 3; trial++) {
        double t0 = now();
        for (int i = 1; i < threads; i++) pthread_create(&t[i], NULL, gemm_run, &jobs[i]);
        gemm_run(&jobs[0]);
        for (int i = 1; i < threads; i++) pthread_join(t[i], NULL);
        double g = 2.0 * m * n * k * reps * threads / (now() - t0) / 1e9;
        if (g > best) best = g;
    }
    for (int i = 0; i < threads; i++) { free(jobs[i].a); free(jobs[i].b); free(jobs[i].c); }
    return best;
}

// ---- register-only peak loops ----
#define PEAK_ITERS 20000000L
static void *fma_loop(void *out) {
    // 10 independent chains: FMA latency (4 cycles) x 2 pipes needs at least 8 in flight
    __m256 x = _mm256_set1_ps(1.0000001f), y = _mm256_set1_ps(0.9999999f);
    __m256 a0 = _mm256_set1_ps(0), a1 = _mm256_set1_ps(1), a2 = _mm256_set1_ps(2), a3 = _mm256_set1_ps(3),
           a4 = _mm256_set1_ps(4), a5 = _mm256_set1_ps(5), a6 = _mm256_set1_ps(6), a7 = _mm256_set1_ps(7),
           a8 = _mm256_set1_ps(8), a9 = _mm256_set1_ps(9);
    for (long it = 0; it < PEAK_ITERS; it++) {
        a0 = _mm256_fmadd_ps(a0, x, y); a1 = _mm256_fmadd_ps(a1, x, y); a2 = _mm256_fmadd_ps(a2, x, y);
        a3 = _mm256_fmadd_ps(a3, x, y); a4 = _mm256_fmadd_ps(a4, x, y); a5 = _mm256_fmadd_ps(a5, x, y);
        a6 = _mm256_fmadd_ps(a6, x, y); a7 = _mm256_fmadd_ps(a7, x, y); a8 = _mm256_fmadd_ps(a8, x, y);
        a9 = _mm256_fmadd_ps(a9, x, y);
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                             _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
    _mm256_storeu_ps(out, _mm256_add_ps(s, _mm256_add_ps(a8, a9)));
    return NULL;
}
static void *i8_loop(void *out) {
    // the AVX2 kernel's inner step (gemm_avx2.c), register-only: 8 multiply-adds of 32 int8
    // pairs per iteration into 4 accumulators (vpaddd has latency 1: 4 chains suffice)
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i wa = _mm256_set1_epi8(3), ws = _mm256_set1_epi8(-7), x0 = _mm256_set1_epi8(-5),
            x1 = _mm256_set1_epi8(9);
    __m256i c0 = _mm256_setzero_si256(), c1 = c0, c2 = c0, c3 = c0;
#define I8STEP(c, x) c = _mm256_add_epi32(c, _mm256_madd_epi16(_mm256_maddubs_epi16(wa, _mm256_sign_epi8(x, ws)), ones))
    for (long it = 0; it < PEAK_ITERS / 2; it++) {
        __asm__ volatile("" : "+x"(wa), "+x"(ws));  // keep the products inside the loop
        I8STEP(c0, x0); I8STEP(c1, x1);
        __asm__ volatile("" : "+x"(wa), "+x"(ws));
        I8STEP(c2, x0); I8STEP(c3, x1);
        __asm__ volatile("" : "+x"(wa), "+x"(ws));
        I8STEP(c0, x0); I8STEP(c1, x1);
        __asm__ volatile("" : "+x"(wa), "+x"(ws));
        I8STEP(c2, x0); I8STEP(c3, x1);
    }
#undef I8STEP
    _mm256_storeu_si256(out, _mm256_add_epi32(_mm256_add_epi32(c0, c1), _mm256_add_epi32(c2, c3)));
    return NULL;
}
#define T512 __attribute__((target("avx512f,avx512bw,avx512vnni,avx512bf16")))
// 12 independent zmm chains each (latency 4-5 cycles x 2 pipes), named rather than an array
// (GCC 12 kept an array of accumulators in memory); same shape for all three.
#define LOOP512(name, T, init, step, fold)                                                 \
    T512 static void *name(void *out) {                                                    \
        T a0 = init(0), a1 = init(1), a2 = init(2), a3 = init(3), a4 = init(4), a5 = init(5);  \
        T a6 = init(6), a7 = init(7), a8 = init(8), a9 = init(9), a10 = init(10), a11 = init(11); \
        __m512i x = _mm512_set1_epi32(0x3f803f80), y = _mm512_set1_epi32(0x3f7f3f7f);     \
        for (long it = 0; it < PEAK_ITERS / 2; it++) {                                     \
            __asm__ volatile("" : "+v"(x), "+v"(y));                                       \
            a0 = step(a0, x, y); a1 = step(a1, x, y); a2 = step(a2, x, y);                 \
            a3 = step(a3, x, y); a4 = step(a4, x, y); a5 = step(a5, x, y);                 \
            a6 = step(a6, x, y); a7 = step(a7, x, y); a8 = step(a8, x, y);                 \
            a9 = step(a9, x, y); a10 = step(a10, x, y); a11 = step(a11, x, y);             \
        }                                                                                  \
        a0 = fold(fold(fold(a0, a1), fold(a2, a3)), fold(fold(a4, a5), fold(a6, a7)));     \
        a0 = fold(a0, fold(fold(a8, a9), fold(a10, a11)));                                 \
        _mm256_storeu_si256(out, _mm512_castsi512_si256((__m512i)a0));                     \
        return NULL;                                                                       \
    }
#define INIT_PS(i) _mm512_set1_ps((float)(i))
#define INIT_EPI(i) _mm512_set1_epi32(i)
#define STEP_FMA(a, x, y) _mm512_fmadd_ps(a, (__m512)x, (__m512)y)
#define STEP_DPBUSD(a, x, y) _mm512_dpbusd_epi32(a, x, y)
#define STEP_DPBF16(a, x, y) _mm512_dpbf16_ps(a, (__m512bh)x, (__m512bh)y)
LOOP512(fma512_loop, __m512, INIT_PS, STEP_FMA, _mm512_add_ps)
LOOP512(dpbusd_loop, __m512i, INIT_EPI, STEP_DPBUSD, _mm512_add_epi32)
LOOP512(dpbf16_loop, __m512, INIT_PS, STEP_DPBF16, _mm512_add_ps)
static int have_avx512(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bf16");
}

// Aggregate G(FL)OP/s of `threads` copies of loop; ops per iteration given.
static double loop_peak(int threads, void *(*loop)(void *), double ops_per_call) {
    pthread_t t[64];
    float sink[64][8];
    double t0 = now();
    for (int i = 1; i < threads; i++) pthread_create(&t[i], NULL, loop, sink[i]);
    loop(sink[0]);
    for (int i = 1; i < threads; i++) pthread_join(t[i], NULL);
    return ops_per_call * threads / (now() - t0) / 1e9;
}

static const char *words[] = {"the", "ranking", "of", "documents", "search", "engine", "query", "model",
    "retrieval", "passage", "score", "relevance", "neural", "index", "term", "frequency", "language",
    "system", "results", "users", "information", "data", "learning", "vector", "dense", "sparse",
    "paris", "france", "river", "city", "history", "science", "energy", "water", "protein", "cell"};

static int e2e(fr_model *m, int threads, int reps, const char *dtype) {
    enum { N = 100 };
    static char text[N][2048];
    const char *docs[N];
    unsigned r = 12345;
    for (int i = 0; i < N; i++) {
        size_t at = 0;
        for (int w = 0; w < 200; w++) {  // ~200 words: well past 128 tokens, then truncated
            r = r * 1103515245u + 12345u;
            at += (size_t)snprintf(text[i] + at, sizeof text[i] - at, "%s ", words[(r >> 16) % (sizeof words / sizeof *words)]);
        }
        docs[i] = text[i];
    }
    fr_rerank_score sc[N];
    fr_score_opts so = fr_score_opts_default();
    so.threads = threads;
    so.max_length = 128;
    fr_error err;
    if (fr_model_rerank(m, "what is neural passage ranking for search", docs, NULL, N, &so, sc, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    double best = 1e30;
    for (int k = 0; k < reps; k++) {
        double t0 = now();
        fr_model_rerank(m, "what is neural passage ranking for search", docs, NULL, N, &so, sc, &err);
        if (now() - t0 < best) best = now() - t0;
    }
    fr_model_info mi;
    fr_model_get_info(m, &mi);
    printf("{\"engine\": \"finerank-%s e2e\", \"kernel_isa\": \"%s\", \"pairs\": %d, \"max_length\": 128, "
           "\"threads\": %d, \"best_s\": %.4f}\n", dtype, mi.kernel_isa, N, threads, best);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: bench_model MODEL_DIR PAIRS_JSON THREADS REPS LOGITS_OUT [DTYPE]\n"
                        "       bench_model MODEL_DIR --e2e THREADS REPS DTYPE\n");
        return 2;
    }
    int threads = atoi(argv[3]), reps = atoi(argv[4]), is_e2e = !strcmp(argv[2], "--e2e");
    const char *dtype = is_e2e ? argv[5] : argc > 6 ? argv[6] : "f32";
    fr_error err;
    fr_model *m = NULL;
    fr_model_opts mo = fr_model_opts_default();
    mo.threads = threads;
    mo.load_tokenizer = is_e2e;
    int all = !strcmp(dtype, "all");
    if (!all && fr_dtype_parse(dtype, &mo.dtype) < 0) { fprintf(stderr, "bad dtype %s\n", dtype); return 2; }
    if (fr_model_open(argv[1], &mo, &m, &err) < 0) { fprintf(stderr, "%s\n", err.msg); return 1; }
    if (is_e2e) {
        int rc = e2e(m, threads, reps, dtype);
        fr_model_free(m);
        return rc;
    }
    json_error_t je;
    json_t *root = json_load_file(argv[2], 0, &je);
    if (!root) { fprintf(stderr, "%s: %s\n", argv[2], je.text); return 1; }
    size_t n = json_array_size(root), tokens = 0;
    fr_seq *seqs = calloc(n, sizeof *seqs);
    for (size_t i = 0; i < n; i++) {
        json_t *ids = json_object_get(json_array_get(root, i), "ids");
        json_t *ty = json_object_get(json_array_get(root, i), "types");
        size_t L = json_array_size(ids);
        int32_t *a = malloc(L * sizeof *a);
        uint8_t *b = malloc(L);
        for (size_t j = 0; j < L; j++) {
            a[j] = (int32_t)json_integer_value(json_array_get(ids, j));
            b[j] = (uint8_t)json_integer_value(json_array_get(ty, j));
        }
        seqs[i] = (fr_seq){a, b, L};
        tokens += L;
    }
    float *lg = malloc(n * sizeof *lg);
    fr_score_opts so = fr_score_opts_default();
    so.threads = threads;
    if (all) {
        fr_model *ms[3] = {m, NULL, NULL};
        double bests[3] = {1e30, 1e30, 1e30};
        for (int d = 1; d < 3; d++) {
            mo.dtype = (fr_dtype)d;
            if (fr_model_open(argv[1], &mo, &ms[d], &err) < 0) { fprintf(stderr, "%s\n", err.msg); return 1; }
        }
        for (int r = -1; r < reps; r++)
            for (int d = 0; d < 3; d++) {
                double t0 = now();
                fr_model_score_ids(ms[d], seqs, n, &so, lg, &err);
                if (r >= 0 && now() - t0 < bests[d]) bests[d] = now() - t0;  // r = -1: warm-up
            }
        for (int d = 0; d < 3; d++) {
            fr_model_info mi;
            fr_model_get_info(ms[d], &mi);
            printf("{\"engine\": \"finerank interleaved\", \"dtype\": \"%s\", \"kernel_isa\": \"%s\", "
                   "\"seq_len\": %.0f, \"pairs\": %zu, \"threads\": %d, \"best_s\": %.4f, \"pairs_per_s\": %.1f}\n",
                   fr_dtype_name((fr_dtype)d), mi.kernel_isa, (double)tokens / n, n, threads, bests[d], n / bests[d]);
        }
        for (int d = 1; d < 3; d++) fr_model_free(ms[d]);
        m = ms[0];
        fr_model_free(m);
        return 0;
    }
    if (fr_model_score_ids(m, seqs, n, &so, lg, &err) < 0) { fprintf(stderr, "%s\n", err.msg); return 1; }
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        fr_model_score_ids(m, seqs, n, &so, lg, &err);
        double dt = now() - t0;
        if (dt < best) best = dt;
    }
    fr_model_info info;
    fr_model_get_info(m, &info);
    double H = info.hidden, In = info.intermediate, L = (double)tokens / n, flops = 0;
    // per token and layer: Q, K, V, O projections 4·2H², FFN 2·2HI, attention 2·2·L·H
    flops = (double)tokens * info.layers * (8 * H * H + 4 * H * In + 4 * L * H);
    double peak = gemm_peak(threads);
    double fma_peak = loop_peak(threads, fma_loop, PEAK_ITERS * 10.0 * 16);
    double i8_peak = loop_peak(threads, i8_loop, PEAK_ITERS / 2 * 8.0 * 64);
    double fma512 = 0, vnni = 0, dpbf16 = 0;
    if (have_avx512()) {
        fma512 = loop_peak(threads, fma512_loop, PEAK_ITERS / 2 * 12.0 * 32);
        vnni = loop_peak(threads, dpbusd_loop, PEAK_ITERS / 2 * 12.0 * 128);
        dpbf16 = loop_peak(threads, dpbf16_loop, PEAK_ITERS / 2 * 12.0 * 64);
    }
    if (fma512 > fma_peak) fma_peak = fma512;
    int on512 = !strcmp(info.kernel_isa, "avx512");
    double i8_ref = on512 ? vnni : i8_peak, bf_ref = on512 ? dpbf16 : fma_peak;
    double achieved = flops / best / 1e9;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    FILE *f = fopen(argv[5], "w");
    for (size_t i = 0; i < n; i++) fprintf(f, "%.7g\n", lg[i]);
    fclose(f);
    printf("{\"engine\": \"finerank%s%s\", \"dtype\": \"%s\", \"kernel_isa\": \"%s\", \"seq_len\": %.0f, "
           "\"pairs\": %zu, \"threads\": %d, \"best_s\": %.4f, "
           "\"pairs_per_s\": %.1f, \"gflops\": %.1f, \"gemm_peak_gflops\": %.1f, \"pct_peak\": %.1f, "
           "\"fma_peak_gflops\": %.1f, \"int8_peak_gops\": %.1f, \"vnni_peak_gops\": %.1f, "
           "\"dpbf16_peak_gflops\": %.1f, \"pct_fma_peak\": %.1f, \"pct_int8_peak\": %.1f, \"pct_bf16_peak\": %.1f, "
           "\"peak_rss_mb\": %.1f, \"openblas_core\": \"%s\"}\n",
           strcmp(dtype, "f32") ? "-" : "", strcmp(dtype, "f32") ? dtype : "", dtype, info.kernel_isa,
           L, n, threads, best, n / best, achieved, peak, 100 * achieved / peak, fma_peak, i8_peak, vnni,
           dpbf16, 100 * achieved / fma_peak, 100 * achieved / i8_ref, 100 * achieved / bf_ref,
           ru.ru_maxrss / 1024.0, openblas_get_corename());
    fr_model_free(m);
    return 0;
}
