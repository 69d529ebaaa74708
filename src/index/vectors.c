/* vectors.c — exact top-k search over a dense matrix of embeddings by brute-force dot
 * product (inner product = cosine for L2-normalised embeddings).
 *
 * Layout: n rows of `stride` elements, stride = dim rounded up to 32 with zero padding so the
 * SIMD loops have no tails.
 *   FR_VEC_F32: float rows (n, stride).
 *   FR_VEC_I8_RESCORE: both; the int8 scan keeps max(4k, k + 100) candidates, which are
 *               rescored exactly with the float rows (int8 scan speed, F32 results; 5x memory
 *               of I8).
 *   FR_VEC_I8:  int8 rows (n, stride) plus one float scale per row, after a per-matrix
 *               transform (mu, w: dim floats each): y = (x − mu) / w, scale = max|y| / 127,
 *               q = round(y / scale) in [-127, 127] (symmetric per-vector quantisation of y),
 *               so x ≈ mu + scale · (w ⊙ q). The query q is multiplied by w and quantised to
 *               int16 (range set so int32 cannot overflow), the integer dot product is exact,
 *               and score = dot(q16(q ⊙ w), q8_row) · s_query · s_row + q·mu: the error is the
 *               rows' rounding alone (an int8 query doubled the error variance and cost top-10
 *               overlap on random unit vectors, 0.98 vs 0.99+). q·mu is the same for every
 *               row of the matrix but is added anyway, so scores stay dot products, comparable
 *               across matrices (the index's segments) with different transforms.
 *   FR_VEC_I8_REFINE: I8's rows and scales plus 2 bits per element (n, stride / 4 bytes):
 *               the rounding residual t = y / scale − q in [-1/2, 1/2] coded as k = clamp(
 *               floor((t + 1/2) · 4), 0, 3), read back as q + (2k − 3) / 8 (a quarter of
 *               int8's rounding error). The int8 scan keeps max(2k, k + 100) candidates
 *               (I8_RESCORE: max(4k, k + 100)) and adds to each one's int8 score its
 *               residuals' share against the float query q ⊙ w, scale · Σ_d (q ⊙ w)_d
 *               (2k_d − 3) / 8 (a table look-up per 4 elements: refine()). 1.25x I8's memory (I8_RESCORE: 5x); top-10 overlap with F32
 *               0.996 on random and clustered 100k-row corpora where I8 has 0.982 / 0.9855.
 *   The transform: sentence embeddings share a large mean direction with a few "rogue"
 *               dimensions, so max|x| is set by components every row shares and the per-row
 *               scale wastes most of the int8 range on them; centring removes them and w
 *               evens out the per-dimension spread. fr_vecs_add fits it to the first rows
 *               added to an empty matrix (at least FR__VECS_FIT_MIN = 16, vectors.h): mu =
 *               their mean, w = 1, std^0.5 or std (per-dimension standard deviation, floored
 *               at 1e-3 · the largest), whichever gives the least mean squared score error on
 *               that sample with its own rows as queries — and none (mu = 0, w = 1, scores
 *               bit-identical to version 1) unless it beats no transform by 5%: isotropic
 *               vectors keep the plain scheme. Top-10 overlap with F32 (bench/embed/README.md):
 *               clustered anisotropic corpus 0.9645 → 0.9855 at 100k rows, 0.921 → 0.975 at
 *               1M; random unit vectors and real USE-lite embeddings (near-isotropic: 0.994 at
 *               136,776 rows, where every transform lost a little) unchanged, no transform
 *               being chosen. Where the fitted
 *               transform comes from in an index (shared by segments, so merges copy rows):
 *               src/index/segvec.c. fr__vecs_query_i8 is the only place the query side is
 *               computed (search here, and any other scan of these rows).
 * Kernels: AVX2 + FMA (the default build targets x86-64-v3). int8 rows are widened to int16
 *   (vpmovsxbw) and multiplied with the int16 query by vpmaddwd into int32 lanes, eight rows
 *   per step read in address order, their sums gathered by one hadd tree, scored and tested
 *   against the heap's threshold in one register. A portable kernel (FINERANK_ISA=ref, and
 *   builds without __AVX2__) computes the same integers, hence the same results. Rows live
 *   on transparent huge pages (fr__alloc_huge): the 1M x 384 int8 scan reads 384 MB per query and
 *   runs at ~0.8-0.9x of the machine's read bandwidth (bench/embed/README.md).
 * File (fr_vecs_save / fr_vecs_load; little-endian, written as <path>.pending, fsynced,
 * renamed over <path>, directory fsynced — the index's commit protocol):
 *   0   "FRVECS02"                 magic (version 2; "FRVECS01", version 1, is still read: no
 *                                  transform, the u32 at 36 ignored; only version 2 is written)
 *   8   u32 type (0 F32, 1 I8, 2 I8_RESCORE, 3 I8_REFINE), u32 dim, u64 n, u64 generation (caller's tag: the index
 *       commit the vectors belong to), u32 model_len, u32 fit_n (rows the int8 transform was
 *       fitted on; 0: none; never set for F32)
 *   40  model path (model_len bytes), zero-padded to 8
 *   ..  if fit_n > 0: mu (dim floats), w (dim floats, > 0), zero-padded to 8; all finite
 *   ..  rows: I8 / I8_RESCORE / I8_REFINE: n·stride int8 then n float scales; I8_REFINE: then
 *       n·stride/4 bytes of 2-bit codes (element d in bits 2(d%4) of byte d/4); F32 /
 *       I8_RESCORE: n·stride floats (stride as above)
 *   end u32 CRC32 (zlib) of every byte before it
 *   A file written from several matrices (a merge, fr__vecs_write_rows) takes the transform
 *   fitted on the most rows (then: the source with the most live rows); int8 rows of sources
 *   under that transform are copied unchanged, the others re-quantised (from their float rows
 *   for I8_RESCORE, else from their dequantised int8 rows: two roundings for those rows).
 * Workload: 10^5..10^6 rows of 384..1024 dims, top-10..1000 per query. Rows are split into
 * contiguous chunks that the threads claim as they go; each thread keeps a k-sized min-heap
 * and the heaps are merged. Ties order by ascending row id, so results do not depend on the
 * thread count or on which thread scanned which chunk.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "base/base.h"
#include "index/io.h"
#include "index/vectors.h"
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define HAVE_AVX2 1
#endif

#define HAS_F32(v) ((v)->type == FR_VEC_F32 || (v)->type == FR_VEC_I8_RESCORE)  // float rows kept
#define HAS_I8(v) ((v)->type != FR_VEC_F32)            // int8 rows kept (I8, I8_RESCORE, I8_REFINE)
#define HAS_RB(v) ((v)->type == FR_VEC_I8_REFINE)      // 2-bit refinement codes kept
#define RESCORED(v) ((v)->type == FR_VEC_I8_RESCORE || (v)->type == FR_VEC_I8_REFINE)

struct fr_vecs {
    int dim, stride;
    fr_vec_type type;
    size_t n, cap;
    float *f;        // (cap, stride) for FR_VEC_F32 and FR_VEC_I8_RESCORE
    int8_t *q;       // (cap, stride) for FR_VEC_I8
    float *scale;    // (cap) for FR_VEC_I8
    uint8_t *rb;     // (cap, stride / 4) for FR_VEC_I8_REFINE: 2-bit codes, element d of a row
                     // in bits 2(d%4).. of byte d/4
    // the int8 transform (I8 types): x ≈ mu + scale[r] · (w ⊙ q[r]); NULL (fit_n 0): mu = 0,
    // w = 1. Owned unless the matrix is a view (then they point into the mapping).
    float *mu, *w;   // (dim), (dim)
    uint32_t fit_n;  // rows the transform was fitted on; 0: none
};

// ---- kernels ----
static float dot_f32(const float *a, const float *b, int n) {
#ifdef HAVE_AVX2
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    for (int i = 0; i < n; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    }
    __m256 s = _mm256_add_ps(s0, s1);
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
    return _mm_cvtss_f32(h);
#else
    float s = 0;
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
#endif
}

// q: the query as int16 (stride), x: a row as int8 (stride); n is a multiple of 32. |q| <= qmax
// and |x| <= 127, and qmax keeps the whole sum (hence every partial sum) below 2^31. The scan
// uses dot8_i16_i8; this one-row kernel serves the tails of a thread's range and the tests'
// view of "the reference": both compute the same exact integer.
static int32_t dot_i16_i8(const int16_t *q, const int8_t *x, int n) {
#ifdef HAVE_AVX2
    __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
    for (int i = 0; i < n; i += 32) {
        __m256i x0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(x + i)));
        __m256i x1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(x + i + 16)));
        acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(x0, _mm256_loadu_si256((const __m256i *)(const void *)(q + i))));
        acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(x1, _mm256_loadu_si256((const __m256i *)(const void *)(q + i + 16))));
    }
    __m256i acc = _mm256_add_epi32(acc0, acc1);
    __m128i h = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4e));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xb1));
    return _mm_cvtsi128_si32(h);
#else
    int64_t s = 0;
    for (int i = 0; i < n; i++) s += (int32_t)q[i] * x[i];
    return (int32_t)s;
#endif
}

#ifdef HAVE_AVX2
static inline __m256i madd_row(__m256i acc, const int8_t *x, __m256i q) {
    __m256i w = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)x));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(w, q));
}

// One row's eight int32 lane sums (no horizontal sum): two independent chains over n int8.
static inline __m256i row_lanes(const int16_t *q, const int8_t *x, size_t n) {
    __m256i a0 = _mm256_setzero_si256(), a1 = a0;
    for (size_t i = 0; i < n; i += 32) {
        a0 = madd_row(a0, x + i, _mm256_loadu_si256((const __m256i *)(const void *)(q + i)));
        a1 = madd_row(a1, x + i + 16, _mm256_loadu_si256((const __m256i *)(const void *)(q + i + 16)));
    }
    return _mm256_add_epi32(a0, a1);
}

// Eight consecutive rows (x: 8 rows of n int8, n a multiple of 32), read in address order (the
// order the hardware prefetcher follows; interleaving the eight rows column by column ran at
// half the speed), and one transpose-and-add (hadd tree) that yields the eight sums in one
// register instead of eight horizontal sums. Lane j of the result is row j's exact dot
// product (integer adds in any order give the same int32, and no partial sum can overflow,
// see quantize16).
static inline __m256i dot8_i16_i8(const int16_t *q, const int8_t *x, size_t n) {
    __m256i a0 = row_lanes(q, x, n), a1 = row_lanes(q, x + n, n), a2 = row_lanes(q, x + 2 * n, n);
    __m256i a3 = row_lanes(q, x + 3 * n, n), a4 = row_lanes(q, x + 4 * n, n), a5 = row_lanes(q, x + 5 * n, n);
    __m256i a6 = row_lanes(q, x + 6 * n, n), a7 = row_lanes(q, x + 7 * n, n);
    // hadd(hadd(a0,a1),hadd(a2,a3)) = [a0..a3 low-half sums | a0..a3 high-half sums]
    __m256i t0 = _mm256_hadd_epi32(_mm256_hadd_epi32(a0, a1), _mm256_hadd_epi32(a2, a3));
    __m256i t1 = _mm256_hadd_epi32(_mm256_hadd_epi32(a4, a5), _mm256_hadd_epi32(a6, a7));
    return _mm256_add_epi32(_mm256_permute2x128_si256(t0, t1, 0x20), _mm256_permute2x128_si256(t0, t1, 0x31));
}
#endif

// ---- int8 block kernels and their dispatch ----
// out[j] = the exact dot product of the int16 query q with row j of 8 consecutive int8 rows
// (x: 8 rows of n, n a multiple of 32). Every variant computes the same integers.
typedef void (*dot8_fn)(const int16_t *q, const int8_t *x, size_t n, int32_t *out);

static void dot8_ref(const int16_t *q, const int8_t *x, size_t n, int32_t *out) {
    for (int j = 0; j < 8; j++) {
        int64_t s = 0;
        for (size_t i = 0; i < n; i++) s += (int32_t)q[i] * x[j * n + i];
        out[j] = (int32_t)s;
    }
}

#ifdef HAVE_AVX2
static void dot8_avx2(const int16_t *q, const int8_t *x, size_t n, int32_t *out) {
    _mm256_storeu_si256((__m256i *)(void *)out, dot8_i16_i8(q, x, n));
}

static int has_avx2(void) { return __builtin_cpu_supports("avx2"); }
#endif
static int has_ref(void) { return 1; }

// Fastest first; FINERANK_ISA=ref forces the portable one (tests check both), as for the
// encoder's kernels (gemm.c). No AVX-512 VNNI variant: vpdpwssd (a third of the AVX2 loop's
// instructions) ran no faster on the benchmark's Zen 4, where one core's scan already streams
// at ~0.9x of the huge-page read bandwidth (bench/embed/README.md).
static const struct kernel {
    const char *name;
    int (*supported)(void);
    dot8_fn dot8;
} kernels[] = {
#ifdef HAVE_AVX2
    {"avx2", has_avx2, dot8_avx2},
#endif
    {"ref", has_ref, dot8_ref},
};
static dot8_fn best_dot8;
static pthread_once_t best_once = PTHREAD_ONCE_INIT;

static void pick(void) {
    const char *force = getenv("FINERANK_ISA");
    for (int pass = 0; pass < 2 && !best_dot8; pass++)  // pass 0 honours FINERANK_ISA
        for (size_t i = 0; i < sizeof kernels / sizeof *kernels && !best_dot8; i++)
            if ((pass || !force || !*force || !strcmp(force, kernels[i].name)) && kernels[i].supported())
                best_dot8 = kernels[i].dot8;
}

static dot8_fn dot8_best(void) {
    pthread_once(&best_once, pick);
    return best_dot8;
}

// x · inv, inv = lim / m for a vector whose largest magnitude is m (quantize, quantize16):
// the float product, except where lim / m overflows float (m below lim / FLT_MAX, a vector
// of subnormal magnitude): there 0 · inf would be NaN (an undefined cast to int8 / int16, and
// garbage refinement codes) and every other element ±inf, so the product is taken in double
// with dinv = lim / m. Normal vectors keep their results bit for bit.
static inline float to_range(float x, float inv, double dinv) {
    return isfinite(inv) ? x * inv : (float)((double)x * dinv);
}

// Symmetric per-vector int8 quantisation of y = (x − mu) / w (dim; mu = 0, w = 1 when NULL)
// into q (stride, zero-padded); returns the row's scale. With rb (stride / 4 bytes, zeroed
// here), also each element's rounding residual t = y / scale − q in [-1/2, 1/2] as a 2-bit
// code k = clamp(floor((t + 1/2) · 4), 0, 3), standing for q + (2k − 3) / 8. tmp: (dim) scratch.
// Returns +inf (codes zeroed) when y overflows float: a row that transform cannot represent (a
// tiny w from a damaged or crafted file, or elements near FLT_MAX), which callers refuse.
static float quantize(const float *x, const float *mu, const float *w, int dim, int stride, int8_t *q,
                      uint8_t *rb, float *tmp) {
    if (mu) {
        for (int i = 0; i < dim; i++) tmp[i] = (x[i] - mu[i]) / w[i];
        x = tmp;
    }
    float m = 0;
    for (int i = 0; i < dim; i++) m = fabsf(x[i]) > m ? fabsf(x[i]) : m;
    if (!isfinite(m)) {
        memset(q, 0, (size_t)stride);
        if (rb) memset(rb, 0, (size_t)stride / 4);
        return INFINITY;
    }
    float scale = m > 0 ? m / 127.0f : 1.0f, inv = m > 0 ? 127.0f / m : 0.0f;
    double dinv = m > 0 ? 127.0 / m : 0.0;
    for (int i = 0; i < dim; i++) {
        float r = nearbyintf(to_range(x[i], inv, dinv));
        q[i] = (int8_t)(r > 127 ? 127 : r < -127 ? -127 : r);
    }
    memset(q + dim, 0, (size_t)(stride - dim));
    if (rb) {
        memset(rb, 0, (size_t)stride / 4);
        for (int i = 0; i < dim; i++) {
            float k = floorf((to_range(x[i], inv, dinv) - (float)q[i] + 0.5f) * 4.0f);
            rb[i / 4] |= (uint8_t)((k < 0 ? 0 : k > 3 ? 3 : (int)k) << (2 * (i % 4)));
        }
    }
    return scale;
}

// Element d of row x (int8 q, codes rb) refined: q + (2k − 3) / 8.
static inline float refined(const int8_t *q, const uint8_t *rb, int d) {
    return (float)q[d] + (float)(2 * ((rb[d / 4] >> (2 * (d % 4))) & 3) - 3) * 0.125f;
}

// ---- the int8 transform ----
// Mean squared score error of quantising rows `rows` of x (n, D) under (mu, w) (NULL: none),
// the queries being other rows of x (queries resemble documents): the mean over rows i and
// queries j of (x_j · (x_i − x̂_i))². tmp: (2 D) floats, c: (stride) int8.
static double score_err(const fr_vecs *v, const float *x, size_t n, const float *mu, const float *w,
                        float *tmp, int8_t *c) {
    size_t D = (size_t)v->dim, R = n < 256 ? n : 256, P = n < 32 ? n : 32;
    double e = 0;
    for (size_t a = 0; a < R; a++) {
        const float *xi = x + (a * n / R) * D;
        float *err = tmp + D, s = quantize(xi, mu, w, v->dim, v->stride, c, NULL, tmp);
        for (size_t d = 0; d < D; d++) err[d] = xi[d] - (mu ? mu[d] + s * (w[d] * c[d]) : s * c[d]);
        for (size_t b = 0; b < P; b++) {
            const float *q = x + ((b * n / P + n / (2 * P)) % n) * D;  // offset from the rows
            double t = 0;
            for (size_t d = 0; d < D; d++) t += (double)q[d] * err[d];
            e += t * t;
        }
    }
    return e / (double)(R * P);
}

// Fits the transform to x (n, D): mu = the rows' mean, w = a power of the per-dimension
// standard deviation (floored at 1e-3 · the largest, so a constant dimension cannot blow up).
// Candidates: none, centred (w = 1), w = std^0.5, w = std — which is best depends on the data
// (bench/embed/README.md: on the clustered corpus std^0.5 won at 100k rows and std at 1M; on
// isotropic vectors nothing helps). Each is scored by score_err on the sample; the best is
// kept if it beats no transform by 5%, else none (fit_n stays 0: isotropic data keep the
// version-1 quantisation). Sums in double in row order: deterministic.
static int fit(fr_vecs *v, const float *x, size_t n, fr_error *err) {
    size_t D = (size_t)v->dim;
    double *sum = calloc(2 * D, sizeof *sum), *sq = sum + D;
    float *mu = malloc(D * sizeof *mu), *w = malloc(4 * D * sizeof *w), *tmp = malloc(2 * D * sizeof *tmp);
    int8_t *c = malloc((size_t)v->stride);
    int rc = 0;
    if (!sum || !mu || !w || !tmp || !c) { rc = fr__err(err, FR_ENOMEM, "out of memory"); goto out; }
    for (size_t i = 0; i < n; i++)
        for (size_t d = 0; d < D; d++) sum[d] += x[i * D + d];
    for (size_t d = 0; d < D; d++) mu[d] = (float)(sum[d] / (double)n);
    for (size_t i = 0; i < n; i++)
        for (size_t d = 0; d < D; d++) {
            double t = (double)x[i * D + d] - mu[d];
            sq[d] += t * t;
        }
    double top = 0;
    for (size_t d = 0; d < D; d++) {
        sq[d] = sqrt(sq[d] / (double)n);
        top = sq[d] > top ? sq[d] : top;
    }
    for (size_t d = 0; d < D; d++) {  // w for candidates 1..3 at w + (k-1) D
        double sd = top > 0 ? (sq[d] > 1e-3 * top ? sq[d] : 1e-3 * top) : 1.0;
        w[d] = 1.0f;
        w[D + d] = (float)sqrt(sd);
        w[2 * D + d] = (float)sd;
    }
    double best = 0.95 * score_err(v, x, n, NULL, NULL, tmp, c);
    int pick = 0;
    for (int k = 1; k <= 3; k++) {
        double e = score_err(v, x, n, mu, w + (size_t)(k - 1) * D, tmp, c);
        if (e < best) best = e, pick = k;
    }
    if (pick) {
        memmove(w, w + (size_t)(pick - 1) * D, D * sizeof *w);
        v->mu = mu;
        v->w = w;
        v->fit_n = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
        mu = w = NULL;
    }
out:
    free(sum);
    free(mu);
    free(w);
    free(tmp);
    free(c);
    return rc;
}

void fr__vecs_xform(const fr_vecs *v, const float **mu, const float **w) {
    *mu = v->fit_n ? v->mu : NULL;
    *w = v->fit_n ? v->w : NULL;
}

int fr__vecs_xform_copy(fr_vecs *dst, const fr_vecs *src, fr_error *err) {
    if (!src->fit_n) return 0;
    if (dst->n || dst->mu || dst->dim != src->dim || !HAS_I8(dst))
        return fr__err(err, FR_EINVAL, "fr__vecs_xform_copy: matrix not empty, float-only, or dims differ");
    size_t D = (size_t)dst->dim;
    if (!(dst->mu = malloc(D * sizeof(float))) || !(dst->w = malloc(D * sizeof(float)))) {
        free(dst->mu);
        dst->mu = NULL;
        return fr__err(err, FR_ENOMEM, "out of memory");
    }
    memcpy(dst->mu, src->mu, D * sizeof(float));
    memcpy(dst->w, src->w, D * sizeof(float));
    dst->fit_n = src->fit_n;
    return 0;
}

uint32_t fr__vecs_fit_n(const fr_vecs *v) { return v->fit_n; }

int fr__vecs_same_xform(const fr_vecs *a, const fr_vecs *b) {
    if (a->dim != b->dim || !a->fit_n != !b->fit_n) return 0;
    size_t bytes = (size_t)a->dim * sizeof(float);
    return !a->fit_n || (!memcmp(a->mu, b->mu, bytes) && !memcmp(a->w, b->w, bytes));
}

// The query side of int8 search: int16 with the largest range for which the whole dot product
// fits in int32 (32767 up to 516 dims, 16512 at 1024), so nearly all of the error is the rows'.
// (Bounding only the per-lane sums, as before, let the final sum wrap past 528 dims.)
static float quantize16(const float *x, int dim, int stride, int16_t *q) {
    double lim = 2147483647.0 / (127.0 * dim);
    float qmax = lim > 32767 ? 32767.0f : (float)floor(lim);
    float m = 0;
    for (int i = 0; i < dim; i++) m = fabsf(x[i]) > m ? fabsf(x[i]) : m;
    float scale = m > 0 ? m / qmax : 1.0f, inv = m > 0 ? qmax / m : 0.0f;
    double dinv = m > 0 ? (double)qmax / m : 0.0;
    for (int i = 0; i < dim; i++) {
        float r = nearbyintf(to_range(x[i], inv, dinv));
        q[i] = (int16_t)(r > qmax ? qmax : r < -qmax ? -qmax : r);
    }
    memset(q + dim, 0, (size_t)(stride - dim) * sizeof *q);
    return scale;
}

// The query in v's transformed space: qw = q ⊙ w (dim; q itself without a transform), and
// *bias = q·mu summed in double (0 without). FR_EINVAL when q ⊙ w overflows.
static int query_w(const fr_vecs *v, const float *query, float *qw, float *bias, fr_error *err) {
    *bias = 0;
    if (!v->fit_n) {
        memcpy(qw, query, (size_t)v->dim * sizeof *qw);
        return 0;
    }
    double b = 0;
    for (int i = 0; i < v->dim; i++) {
        qw[i] = query[i] * v->w[i];
        b += (double)query[i] * v->mu[i];
        if (!isfinite(qw[i]))  // a huge query element times w
            return fr__err(err, FR_EINVAL, "query element %d out of range for the int8 transform", i);
    }
    *bias = (float)b;
    return 0;
}

int fr__vecs_query_i8(const fr_vecs *v, const float *query, int16_t *qq, float *qscale, float *bias,
                      fr_error *err) {
    *qscale = *bias = 0;
    if (!v->fit_n) {
        *qscale = quantize16(query, v->dim, v->stride, qq);
        return 0;
    }
    float *qw = malloc((size_t)v->dim * sizeof *qw);
    if (!qw) return fr__err(err, FR_ENOMEM, "out of memory");
    int rc = query_w(v, query, qw, bias, err);
    if (rc == 0) *qscale = quantize16(qw, v->dim, v->stride, qq);
    free(qw);
    return rc;
}

// I8_REFINE: the int8 scan's candidates best[0..nb) rescored with their refinement codes. A
// code byte holds 4 elements, so per query a table gives each byte value's contribution at
// each byte position, tab[g][b] = Σ_{j<4} qw[4g+j] · (2k_j(b) − 3) / 8 (float, j in order; qw
// = q ⊙ w, zero-padded to stride), and a candidate's score becomes its int8 score plus
// scale[r] · Σ_g tab[g][codes of r at g] (float, g in order): stride/4 look-ups per
// candidate instead of decoding stride elements. FR_ENOMEM, or query_w's FR_EINVAL.
static int refine(const fr_vecs *v, const float *query, fr_vec_hit *best, size_t nb, fr_error *err) {
    size_t S = (size_t)v->stride, G = S / 4;
    float *qw = calloc(S, sizeof *qw), *tab = malloc(G * 256 * sizeof *tab), bias;
    int rc = 0;
    if (!qw || !tab) rc = fr__err(err, FR_ENOMEM, "out of memory");
    else rc = query_w(v, query, qw, &bias, err);
    for (size_t g = 0; g < G && rc == 0; g++)
        for (int b = 0; b < 256; b++) {
            float t = 0;
            for (int j = 0; j < 4; j++) t += qw[4 * g + (size_t)j] * (float)(2 * ((b >> (2 * j)) & 3) - 3) * 0.125f;
            tab[g * 256 + (size_t)b] = t;
        }
    for (size_t i = 0; i < nb && rc == 0; i++) {
        const uint8_t *rb = v->rb + (size_t)best[i].id * G;
        float c = 0;
        for (size_t g = 0; g < G; g++) c += tab[g * 256 + rb[g]];
        best[i].score = best[i].score + v->scale[best[i].id] * c;
    }
    free(qw);
    free(tab);
    return rc;
}

// ---- matrix ----
// Row storage: a scan reads every row once per query, at the memory bandwidth, and with 4 KiB
// pages that bandwidth is ~0.7x of what 2 MiB pages give (bench/embed/bench_membw.c: 23 vs 32
// GB/s on one core of the benchmark machine, 39 vs 56 on two; the TLB misses and the
// prefetchers' stop at every 4 KiB boundary). So large row arrays are 2 MiB-aligned and marked
// MADV_HUGEPAGE (transparent huge pages in "madvise" mode, Debian's default) before they are
// first written (fr__alloc_huge, src/base/mem.c). Plain free() releases them.

// Grows a row array to `bytes`, keeping its first `used` bytes (a fresh huge-page allocation
// and a copy, not realloc, whose mremap would keep the old 4 KiB pages). NULL when out of
// memory; the old array is then untouched.
static void *rows_grow(void *old, size_t used, size_t bytes) {
    void *p = fr__alloc_huge(bytes);
    if (!p) return NULL;
    if (used) memcpy(p, old, used);
    free(old);
    return p;
}

const char *fr_vec_type_name(fr_vec_type t) {
    return t == FR_VEC_I8 ? "int8"
         : t == FR_VEC_I8_RESCORE ? "int8-rescore"
         : t == FR_VEC_I8_REFINE ? "int8-refine" : "f32";
}

int fr_vec_type_parse(const char *s, fr_vec_type *out) {
    for (int t = FR_VEC_F32; t <= FR_VEC_I8_REFINE; t++)
        if (s && !strcmp(s, fr_vec_type_name((fr_vec_type)t))) {
            *out = (fr_vec_type)t;
            return 0;
        }
    return FR_EINVAL;
}

int fr_vecs_new(int dim, fr_vec_type type, fr_vecs **out, fr_error *err) {
    *out = NULL;
    if (dim < 1 || dim > 65536) return fr__err(err, FR_EINVAL, "fr_vecs_new: dim %d out of range", dim);
    if (type < FR_VEC_F32 || type > FR_VEC_I8_REFINE)
        return fr__err(err, FR_EINVAL, "fr_vecs_new: unknown type %d", (int)type);
    fr_vecs *v = calloc(1, sizeof *v);
    if (!v) return fr__err(err, FR_ENOMEM, "out of memory");
    v->dim = dim;
    v->stride = (dim + 31) / 32 * 32;
    v->type = type;
    *out = v;
    return 0;
}

void fr_vecs_free(fr_vecs *v) {
    if (!v) return;
    free(v->f);
    free(v->q);
    free(v->scale);
    free(v->mu);
    free(v->w);
    free(v->rb);
    free(v);
}

size_t fr_vecs_count(const fr_vecs *v) { return v->n; }
int fr_vecs_dim(const fr_vecs *v) { return v->dim; }

int fr_vecs_add(fr_vecs *v, const float *x, size_t n, fr_error *err) {
    if (!n) return 0;
    if (!x) return fr__err(err, FR_EINVAL, "fr_vecs_add: NULL vectors");
    size_t S = (size_t)v->stride, D = (size_t)v->dim;
    for (size_t i = 0; i < n * D; i++)
        if (!isfinite(x[i]))
            return fr__err(err, FR_EINVAL, "fr_vecs_add: vector %zu element %zu is not finite", i / D, i % D);
    float *tmp = NULL;
    int rc, fitted = 0;
    if (HAS_I8(v) && !v->n && !v->fit_n && n >= FR__VECS_FIT_MIN) {
        if ((rc = fit(v, x, n, err)) < 0) return rc;
        fitted = v->fit_n != 0;
    }
    if (v->fit_n && !(tmp = malloc(D * sizeof *tmp))) return fr__err(err, FR_ENOMEM, "out of memory");
    if (v->n + n > v->cap) {
        size_t cap = v->cap ? v->cap : 1024;
        while (cap < v->n + n) cap *= 2;
        if (HAS_F32(v)) {
            float *f = rows_grow(v->f, v->n * S * sizeof *f, cap * S * sizeof *f);
            if (!f) goto oom;
            v->f = f;
        }
        if (HAS_I8(v)) {
            int8_t *q = rows_grow(v->q, v->n * S, cap * S);
            if (!q) goto oom;
            v->q = q;
            float *s = realloc(v->scale, cap * sizeof *s);
            if (!s) goto oom;
            v->scale = s;
        }
        if (HAS_RB(v)) {
            uint8_t *b = rows_grow(v->rb, v->n * S / 4, cap * S / 4);
            if (!b) goto oom;
            v->rb = b;
        }
        v->cap = cap;
    }
    for (size_t i = 0; i < n; i++) {
        size_t r = v->n + i;
        if (HAS_F32(v)) {
            memcpy(v->f + r * S, x + i * D, D * sizeof(float));
            memset(v->f + r * S + D, 0, (S - D) * sizeof(float));
        }
        if (HAS_I8(v) &&
            !isfinite(v->scale[r] = quantize(x + i * D, v->mu, v->w, v->dim, v->stride, v->q + r * S,
                                             HAS_RB(v) ? v->rb + r * S / 4 : NULL, tmp))) {
            free(tmp);
            if (fitted) {  // the transform fitted by this call goes with its rows
                free(v->mu);
                free(v->w);
                v->mu = v->w = NULL;
                v->fit_n = 0;
            }
            return fr__err(err, FR_EINVAL, "fr_vecs_add: vector %zu is out of range for the "
                           "matrix's int8 transform", i);
        }
    }
    v->n += n;
    free(tmp);
    return 0;
oom:
    free(tmp);
    return fr__err(err, FR_ENOMEM, "cannot grow to %zu vectors", v->n + n);
}

// ---- top-k ----
// Min-heap of the best k hits: heap[0] is the worst kept. "Worse" = lower score, or the same
// score and a higher id.
static int worse(fr_vec_hit a, fr_vec_hit b) {
    return a.score < b.score || (a.score == b.score && a.id > b.id);
}

static void sift_down(fr_vec_hit *h, size_t n, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && worse(h[l], h[m])) m = l;
        if (r < n && worse(h[r], h[m])) m = r;
        if (m == i) return;
        fr_vec_hit t = h[i]; h[i] = h[m]; h[m] = t;
        i = m;
    }
}

static void push(fr_vec_hit *h, size_t *n, size_t k, fr_vec_hit x) {
    if (*n < k) {
        size_t i = (*n)++;
        h[i] = x;
        while (i && worse(h[i], h[(i - 1) / 2])) {
            fr_vec_hit t = h[i]; h[i] = h[(i - 1) / 2]; h[(i - 1) / 2] = t;
            i = (i - 1) / 2;
        }
    } else if (worse(h[0], x)) {
        h[0] = x;
        sift_down(h, *n, 0);
    }
}

typedef struct part {
    const fr_vecs *v;
    const float *qf;             // (stride) query, F32
    const int16_t *qq;           // (stride) query, int16 for I8 rows
    float qscale, bias;          // fr__vecs_query_i8's; bias added only when has_bias
    int has_bias;
    dot8_fn dot8;                // the int8 block kernel
    atomic_size_t *next;         // the next unclaimed chunk, shared by the threads
    const fr__vecs_range *rg;    // (n_rg) the row ranges to scan, one after the other
    const size_t *cum;           // (n_rg + 1) rows before each range
    size_t n_rg;
    const uint32_t *map;         // hit id of row r: map[r] (a gathered copy), NULL: r
    size_t n, chunk, k, nh;      // rows, rows per chunk (a multiple of 8), heap capacity, size
    fr_vec_hit *heap;            // (k)
} part;

// Offers row r's score to the heap; the caller has checked it against the current threshold
// only when that was cheaper (scores equal to heap[0] still go through push's tie rule).
static inline void offer(part *p, size_t r, float s) {
    if (p->nh < p->k || s >= p->heap[0].score)
        push(p->heap, &p->nh, p->k, (fr_vec_hit){p->map ? p->map[r] : (uint32_t)r, s});
}

// Row r's int8 score from its exact integer dot product: (float)dot * (qscale * scale[r]), plus
// q·mu for transformed rows (a separate add, never fused, so the SIMD path below matches it).
static inline float score_i8(const part *p, int32_t dot, float scale) {
    float s = (float)dot * (p->qscale * scale);
    return p->has_bias ? s + p->bias : s;
}

// int8 rows [lo, hi): eight rows per step (dot8_i16_i8), their scores formed in one register
// exactly as the one-row path forms them (score_i8) — the same IEEE products and sums, so the
// scores are bit-identical — and compared with the heap's worst score at once;
// only rows that can enter the heap (after warm-up about k·ln(n/k) of n) leave the vector unit.
static void scan_i8(part *p, size_t lo, size_t hi) {
    const fr_vecs *v = p->v;
    size_t S = (size_t)v->stride, r = lo;
    int32_t d[8];
#ifdef HAVE_AVX2
    const __m256 qs = _mm256_set1_ps(p->qscale), qb = _mm256_set1_ps(p->bias);
#endif
    for (; r + 8 <= hi; r += 8) {
        p->dot8(p->qq, v->q + r * S, S, d);
        float o[8], thr = p->nh < p->k ? -INFINITY : p->heap[0].score;
#ifdef HAVE_AVX2
        __m256 s = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)(const void *)d)),
                                 _mm256_mul_ps(qs, _mm256_loadu_ps(v->scale + r)));
        if (p->has_bias) s = _mm256_add_ps(s, qb);
        int m = _mm256_movemask_ps(_mm256_cmp_ps(s, _mm256_set1_ps(thr), _CMP_GE_OQ));
        if (!m) continue;
        _mm256_storeu_ps(o, s);
#else
        int m = 0;
        for (int j = 0; j < 8; j++) {
            o[j] = score_i8(p, d[j], v->scale[r + j]);
            m |= (o[j] >= thr) << j;
        }
#endif
        for (; m; m &= m - 1) {
            int j = __builtin_ctz((unsigned)m);
            offer(p, r + (size_t)j, o[j]);
        }
    }
    for (; r < hi; r++)
        offer(p, r, score_i8(p, dot_i16_i8(p->qq, v->q + r * S, v->stride), v->scale[r]));
}

// A thread's share: chunks claimed one at a time from a shared counter, so a thread slowed by
// other work on its core (the benchmark machine is shared) leaves its chunks to the others
// instead of making the query wait for its fixed half. The result does not depend on which
// thread scanned which rows: each heap keeps the best k of its rows under a strict total order
// (score, then id), and the best k of their union is the best k overall.
static void *scan(void *arg) {
    part *p = arg;
    const fr_vecs *v = p->v;
    size_t S = (size_t)v->stride;
    p->nh = 0;
    for (;;) {
        size_t lo = atomic_fetch_add_explicit(p->next, 1, memory_order_relaxed) * p->chunk;
        if (lo >= p->n) return NULL;
        size_t hi = p->n - lo < p->chunk ? p->n : lo + p->chunk;
        // [lo, hi) counts rows of the ranges laid end to end: scan its piece of each range
        size_t i = 0;
        while (p->cum[i + 1] <= lo) i++;
        for (; i < p->n_rg && p->cum[i] < hi; i++) {
            size_t a = p->rg[i].lo + (lo > p->cum[i] ? lo - p->cum[i] : 0);
            size_t b = p->rg[i].lo + ((hi < p->cum[i + 1] ? hi : p->cum[i + 1]) - p->cum[i]);
            if (HAS_I8(v)) scan_i8(p, a, b);
            else
                for (size_t r = a; r < b; r++) offer(p, r, dot_f32(p->qf, v->f + r * S, v->stride));
        }
    }
}

static int cmp_hit(const void *a, const void *b) {
    const fr_vec_hit *x = a, *y = b;
    return worse(*y, *x) ? -1 : worse(*x, *y) ? 1 : 0;
}

// fr_vecs_search over the row ranges rg[0..n_rg) of v, hit ids through map (NULL: none), the
// F32 rescoring of I8_RESCORE with orig's float rows (orig = v, or the matrix that v gathers).
static int search(const fr_vecs *orig, const fr_vecs *v, const uint32_t *map, const fr__vecs_range *rg,
                  size_t n_rg, const float *query, size_t k, int threads, fr_vec_hit *out,
                  size_t *n_out, fr_error *err) {
    *n_out = 0;
    if (!query || (k && !out)) return fr__err(err, FR_EINVAL, "fr_vecs_search: NULL argument");
    if (threads < 0 || threads > 256) return fr__err(err, FR_EINVAL, "fr_vecs_search: threads %d", threads);
    if (v->n > UINT32_MAX) return fr__err(err, FR_ERANGE, "fr_vecs_search: more than 2^32 vectors");
    size_t *cum = malloc((n_rg + 1) * sizeof *cum), n = 0;
    if (!cum) return fr__err(err, FR_ENOMEM, "out of memory");
    cum[0] = 0;
    for (size_t i = 0; i < n_rg; i++) {
        FR_ASSERT(rg[i].lo <= rg[i].hi && rg[i].hi <= v->n);
        cum[i + 1] = n += rg[i].hi - rg[i].lo;
    }
    if (k > n) k = n;
    if (!k) {
        free(cum);
        return 0;
    }
    size_t k_out = k;
    // I8_RESCORE: the int8 scan keeps 4k (at least k + 100) candidates, rescored exactly with
    // the float rows; I8_REFINE: 2k (at least k + 100), rescored with the refinement codes (4k
    // gave the same top-10 and top-100 overlap at 100k rows and cost 3.5 ms more at top-1000
    // over 1M on 2 threads: the wider heaps and their merge; bench/embed/README.md). Both
    // rescore from orig (a gathered copy holds the int8 rows only).
    if (orig->type == FR_VEC_I8_RESCORE) k = k * 4 > k + 100 ? k * 4 : k + 100;
    if (orig->type == FR_VEC_I8_REFINE) k = k * 2 > k + 100 ? k * 2 : k + 100;
    if (k > n) k = n;
    size_t T = threads ? (size_t)threads : 1, S = (size_t)v->stride;
    if (T > n / 1024 + 1) T = n / 1024 + 1;  // tiny matrices: one thread
    int rc = 0;
    float *qf = calloc(S, sizeof *qf);
    int16_t *qq = malloc(S * sizeof *qq);
    part *parts = calloc(T, sizeof *parts);
    fr_vec_hit *heaps = malloc(T * k * sizeof *heaps);
    pthread_t *tids = calloc(T, sizeof *tids);
    if (!qf || !qq || !parts || !heaps || !tids) { rc = fr__err(err, FR_ENOMEM, "out of memory"); goto out; }
    memcpy(qf, query, (size_t)v->dim * sizeof *qf);
    for (int i = 0; i < v->dim; i++)
        if (!isfinite(qf[i])) { rc = fr__err(err, FR_EINVAL, "query element %d is not finite", i); goto out; }
    float qscale = 0, bias = 0;
    if (HAS_I8(v) && (rc = fr__vecs_query_i8(v, qf, qq, &qscale, &bias, err)) < 0) goto out;
    size_t started = 0;
    // ~32 chunks per thread (>= 1024 rows each): small enough to even out a slow thread, large
    // enough that claiming one costs nothing (one atomic add per ~6 MB at 1M x 384 int8)
    size_t chunk = (n / (T * 32) + 7) / 8 * 8;
    if (chunk < 1024) chunk = 1024;
    atomic_size_t next;
    atomic_init(&next, 0);
    for (size_t t = 0; t < T; t++) {
        parts[t] = (part){.v = v, .qf = qf, .qq = qq, .qscale = qscale, .bias = bias, .has_bias = v->fit_n != 0,
                          .dot8 = dot8_best(), .next = &next, .rg = rg, .cum = cum, .n_rg = n_rg, .map = map,
                          .n = n, .chunk = chunk, .k = k, .heap = heaps + t * k};
    }
    for (size_t t = 1; t < T; t++, started++)
        if (pthread_create(&tids[t], NULL, scan, &parts[t]) != 0) break;  // thread 0 takes up the slack
    scan(&parts[0]);
    for (size_t t = 1; t <= started; t++) pthread_join(tids[t], NULL);
    // merge: every heap's entries into heap 0's k best
    fr_vec_hit *best = heaps;
    size_t nb = parts[0].nh;
    for (size_t t = 1; t < T; t++)
        for (size_t i = 0; i < parts[t].nh; i++) push(best, &nb, k, parts[t].heap[i]);
    if (orig->type == FR_VEC_I8_RESCORE)
        for (size_t i = 0; i < nb; i++) best[i].score = dot_f32(qf, orig->f + (size_t)best[i].id * S, v->stride);
    if (orig->type == FR_VEC_I8_REFINE && (rc = refine(orig, qf, best, nb, err)) < 0) goto out;
    qsort(best, nb, sizeof *best, cmp_hit);
    if (nb > k_out) nb = k_out;
    memcpy(out, best, nb * sizeof *out);
    *n_out = nb;
out:
    free(qf);
    free(qq);
    free(parts);
    free(heaps);
    free(tids);
    free(cum);
    return rc;
}

int fr_vecs_search(const fr_vecs *v, const float *query, size_t k, int threads, fr_vec_hit *out,
                   size_t *n_out, fr_error *err) {
    fr__vecs_range all = {0, (uint32_t)(v->n > UINT32_MAX ? UINT32_MAX : v->n)};
    return search(v, v, NULL, &all, 1, query, k, threads, out, n_out, err);
}

// ---- gathered copies (the IVF's list-ordered rows, src/index/ivf.c) ----

int fr__vecs_gather(const fr_vecs *v, const uint32_t *ids, size_t n, fr_vecs **out, fr_error *err) {
    *out = NULL;
    fr_vecs *c = NULL;
    int rc = fr_vecs_new(v->dim, HAS_I8(v) ? FR_VEC_I8 : v->type, &c, err);
    // the scan's query preparation reads the transform (fr__vecs_query_i8)
    if (rc < 0 || (rc = fr__vecs_xform_copy(c, v, err)) < 0 || !n) goto done;
    size_t S = (size_t)v->stride;
    if (HAS_I8(c) && (!(c->q = fr__alloc_huge(n * S)) || !(c->scale = malloc(n * sizeof(float))))) goto oom;
    if (HAS_F32(c) && !(c->f = fr__alloc_huge(n * S * sizeof(float)))) goto oom;
    for (size_t i = 0; i < n; i++) {
        size_t r = ids[i];
        FR_ASSERT(r < v->n);
        if (HAS_I8(c)) {
            memcpy(c->q + i * S, v->q + r * S, S);
            c->scale[i] = v->scale[r];
        }
        if (HAS_F32(c)) memcpy(c->f + i * S, v->f + r * S, S * sizeof(float));
    }
    c->n = c->cap = n;
    goto done;
oom:
    rc = fr__err(err, FR_ENOMEM, "cannot copy %zu vectors", n);
done:
    if (rc < 0) fr_vecs_free(c);
    else *out = c;
    return rc;
}

int fr__vecs_search_gathered(const fr_vecs *orig, const fr_vecs *copy, const uint32_t *map,
                             const fr__vecs_range *rg, size_t n_rg, const float *query, size_t k,
                             int threads, fr_vec_hit *out, size_t *n_out, fr_error *err) {
    FR_ASSERT(copy->dim == orig->dim && copy->type == (HAS_I8(orig) ? FR_VEC_I8 : orig->type) &&
              copy->fit_n == orig->fit_n);
    return search(orig, copy, map, rg, n_rg, query, k, threads, out, n_out, err);
}

// Row i of `from` as floats (dim): the float row when it keeps one (I8_RESCORE: exact), else its
// dequantised int8 row mu + scale · (w ⊙ q) (q refined by its codes for I8_REFINE).
static void row_f32(const fr_vecs *from, size_t i, float *x) {
    size_t S = (size_t)from->stride, D = (size_t)from->dim;
    if (HAS_F32(from)) memcpy(x, from->f + i * S, D * sizeof *x);
    else
        for (size_t d = 0; d < D; d++) {
            float q = HAS_RB(from) ? refined(from->q + i * S, from->rb + i * S / 4, (int)d) : from->q[i * S + d];
            x[d] = from->fit_n ? from->mu[d] + from->scale[i] * (from->w[d] * q) : from->scale[i] * q;
        }
}

void fr__vecs_row_f32(const fr_vecs *v, size_t r, float *out) {
    FR_ASSERT(r < v->n);
    row_f32(v, r, out);
}

// ---- files ----
#define MAGIC "FRVECS02"
#define MAGIC_V1 "FRVECS01"  // read: no transform (mu = 0, w = 1); never written

// Row i of a source is written unless its bit is set in del (NULL: none deleted).
static int dead(const uint8_t *del, size_t i) { return del && ((del[i >> 3] >> (i & 7)) & 1); }

// Row i of `from` (row_f32) quantised under `to`'s transform. OUT: c (stride), rb (stride / 4,
// I8_REFINE); returns the scale. x, tmp: (dim) scratch.
static float requant(const fr_vecs *from, size_t i, const fr_vecs *to, float *x, float *tmp, int8_t *c,
                     uint8_t *rb) {
    row_f32(from, i, x);
    return quantize(x, to->mu, to->w, to->dim, to->stride, c, HAS_RB(to) ? rb : NULL, tmp);
}

int fr__vecs_write_rows(const fr_vecs *const *src, const uint8_t *const *del, uint32_t n_src,
                        const char *path, const fr_vecs_meta *meta, int sync, fr_error *err) {
    if (!n_src) return fr__err(err, FR_EINVAL, "%s: no source matrix", path);
    const fr_vecs *v = src[0];
    uint64_t n = 0, best_live = 0;
    for (uint32_t s = 0; s < n_src; s++) {
        if (src[s]->type != v->type || src[s]->dim != v->dim)
            return fr__err(err, FR_EINVAL, "%s: source matrices differ in type or dim", path);
        uint64_t live = 0;
        for (size_t i = 0; i < src[s]->n; i++) live += !dead(del ? del[s] : NULL, i);
        n += live;
        // the output's transform: the one fitted on the most rows, then the most live rows
        if (s == 0 || src[s]->fit_n > v->fit_n || (src[s]->fit_n == v->fit_n && live > best_live)) {
            v = src[s];
            best_live = live;
        }
    }
    const char *model = meta ? meta->model : "";
    uint32_t ml = (uint32_t)strnlen(model, sizeof meta->model);
    uint8_t hdr[40] = {0};
    memcpy(hdr, MAGIC, 8);
    uint32_t type = (uint32_t)v->type, dim = (uint32_t)v->dim, fit_n = HAS_I8(v) ? v->fit_n : 0;
    uint64_t gen = meta ? meta->generation : 0;
    memcpy(hdr + 8, &type, 4);
    memcpy(hdr + 12, &dim, 4);
    memcpy(hdr + 16, &n, 8);
    memcpy(hdr + 24, &gen, 8);
    memcpy(hdr + 32, &ml, 4);
    memcpy(hdr + 36, &fit_n, 4);
    size_t S = (size_t)v->stride, D = (size_t)v->dim;
    float *x = NULL, *tmp = NULL;
    int8_t *c = NULL;  // (stride) int8 row, then (stride / 4) refinement codes
    if (HAS_I8(v) && (!(x = malloc(2 * D * sizeof *x)) || !(c = malloc(S + S / 4)))) {
        free(x);
        return fr__err(err, FR_ENOMEM, "out of memory");
    }
    tmp = x ? x + D : NULL;
    fr__wfile w;
    int rc = fr__wfile_open_pending(&w, path, err);
    if (rc < 0) goto out;
    if ((rc = fr__wfile_write(&w, hdr, sizeof hdr, err)) < 0 ||
        (rc = fr__wfile_write(&w, model, ml, err)) < 0 || (rc = fr__wfile_pad8(&w, err)) < 0)
        goto fail;
    if (fit_n && ((rc = fr__wfile_write(&w, v->mu, D * sizeof(float), err)) < 0 ||
                  (rc = fr__wfile_write(&w, v->w, D * sizeof(float), err)) < 0 ||
                  (rc = fr__wfile_pad8(&w, err)) < 0))
        goto fail;
    // The blocks of the format in order (int8 rows, scales, refinement codes, float rows), each
    // streamed from every source in turn: a merge never holds the merged matrix in memory. Int8
    // rows under the output's transform are copied unchanged; the others are re-quantised row by
    // row (requant, computed again for each int8 block).
    static const int kept[4] = {1, 1, 2, 3};  // block → needs HAS_I8, HAS_I8, HAS_RB, HAS_F32
    for (int blk = 0; blk < 4; blk++) {
        int need = kept[blk];
        if ((need == 1 && !HAS_I8(v)) || (need == 2 && !HAS_RB(v)) || (need == 3 && !HAS_F32(v))) continue;
        size_t row = blk == 0 ? S : blk == 1 ? sizeof(float) : blk == 2 ? S / 4 : S * sizeof(float);
        for (uint32_t s = 0; s < n_src && rc == 0; s++) {
            const fr_vecs *xs = src[s];
            const uint8_t *base = blk == 0 ? (const uint8_t *)xs->q : blk == 1 ? (const uint8_t *)xs->scale
                                : blk == 2 ? xs->rb : (const uint8_t *)xs->f;
            const uint8_t *d = del ? del[s] : NULL;
            if (blk < 3 && !fr__vecs_same_xform(xs, v)) {
                for (size_t i = 0; i < xs->n && rc == 0; i++) {
                    if (dead(d, i)) continue;
                    float sc = requant(xs, i, v, x, tmp, c, (uint8_t *)(c + S));
                    if (!isfinite(sc)) {
                        rc = fr__err(err, FR_EINVAL, "%s: row %zu of source %u is out of range "
                                     "for the output's int8 transform", path, i, s);
                        break;
                    }
                    rc = blk == 0 ? fr__wfile_write(&w, c, S, err)
                       : blk == 1 ? fr__wfile_write(&w, &sc, sizeof sc, err) : fr__wfile_write(&w, c + S, S / 4, err);
                }
                continue;
            }
            if (!d) {  // every row: one write
                if (xs->n) rc = fr__wfile_write(&w, base, xs->n * row, err);
                continue;
            }
            for (size_t i = 0; i < xs->n && rc == 0; i++)
                if (!dead(d, i)) rc = fr__wfile_write(&w, base + i * row, row, err);
        }
        if (rc < 0) goto fail;
    }
    rc = fr__wfile_replace(&w, path, sync, err);
    goto out;
fail:
    fr__wfile_abort(&w);
out:
    free(x);
    free(c);
    return rc;
}

int fr__vecs_write(const fr_vecs *v, const char *path, const fr_vecs_meta *meta, int sync, fr_error *err) {
    return fr__vecs_write_rows(&v, NULL, 1, path, meta, sync, err);
}

int fr_vecs_save(const fr_vecs *v, const char *path, const fr_vecs_meta *meta, fr_error *err) {
    return fr__vecs_write(v, path, meta, 1, err);
}

int fr_vecs_load_mem(const void *data, size_t len, const char *name, fr_vecs **out, fr_vecs_meta *meta,
                     fr_error *err) {
    *out = NULL;
    fr_vecs *view = NULL;
    int rc = fr__vecs_view(data, len, name, 1, &view, meta, err);
    if (rc < 0) return rc;
    // an owned copy, with the value checks a view skips (a view trusts its CRC-checked writer)
    size_t n = view->n, S = (size_t)view->stride;
    fr_vecs *v = NULL;
    if ((rc = fr_vecs_new(view->dim, view->type, &v, err)) < 0 || (rc = fr__vecs_xform_copy(v, view, err)) < 0)
        goto fail;
    if (n) {
        v->cap = n;
        if (HAS_I8(v)) {
            if (!(v->q = fr__alloc_huge(n * S)) || !(v->scale = malloc(n * sizeof(float)))) goto oom;
            memcpy(v->q, view->q, n * S);
            memcpy(v->scale, view->scale, n * sizeof(float));
            for (size_t i = 0; i < n; i++)
                if (!isfinite(v->scale[i])) { rc = fr__err(err, FR_ECORRUPT, "%s: non-finite scale", name); goto fail; }
            for (size_t i = 0; i < n * S; i++)
                if (v->q[i] == -128) { rc = fr__err(err, FR_ECORRUPT, "%s: int8 value -128", name); goto fail; }
        }
        if (HAS_RB(v)) {
            if (!(v->rb = fr__alloc_huge(n * S / 4))) goto oom;
            memcpy(v->rb, view->rb, n * S / 4);
        }
        if (HAS_F32(v)) {
            if (!(v->f = fr__alloc_huge(n * S * sizeof(float)))) goto oom;
            memcpy(v->f, view->f, n * S * sizeof(float));
            for (size_t i = 0; i < n * S; i++)
                if (!isfinite(v->f[i])) { rc = fr__err(err, FR_ECORRUPT, "%s: non-finite value", name); goto fail; }
        }
        v->n = n;
    }
    fr__vecs_view_free(view);
    *out = v;
    return 0;
oom:
    rc = fr__err(err, FR_ENOMEM, "%s: cannot allocate %llu vectors", name, (unsigned long long)n);
fail:
    fr__vecs_view_free(view);
    fr_vecs_free(v);
    return rc;
}

int fr_vecs_load(const char *path, fr_vecs **out, fr_vecs_meta *meta, fr_error *err) {
    fr__mmap m;
    *out = NULL;
    int rc = fr__mmap_open(path, &m, err);
    if (rc < 0) return rc;
    rc = fr_vecs_load_mem(m.data, m.len, path, out, meta, err);
    fr__mmap_close(&m);
    return rc;
}

// ---- views and rows for index segments ----
// The index maps each segment's vectors file (seg_<n>.frv, this format) and searches it in
// place: a view is an fr_vecs whose row pointers point into the caller's mapping.

int fr__vecs_view(const void *data, size_t len, const char *name, int verify, fr_vecs **out,
                  fr_vecs_meta *meta, fr_error *err) {
    *out = NULL;
    const uint8_t *p = data;
    if (len < 44 || (memcmp(p, MAGIC, 8) && memcmp(p, MAGIC_V1, 8)))
        return fr__err(err, FR_EFORMAT, "%s: not a finerank vectors file", name);
    int v1 = !memcmp(p, MAGIC_V1, 8);
    uint32_t type, dim, ml, crc, fit_n = 0;
    uint64_t n, gen;
    memcpy(&type, p + 8, 4);
    memcpy(&dim, p + 12, 4);
    memcpy(&n, p + 16, 8);
    memcpy(&gen, p + 24, 8);
    memcpy(&ml, p + 32, 4);
    if (!v1) memcpy(&fit_n, p + 36, 4);  // version 1 wrote 0 there
    memcpy(&crc, p + len - 4, 4);
    if (verify) {
        uLong c = crc32(0L, Z_NULL, 0);
        for (size_t done = 0; done < len - 4;) {
            size_t k = len - 4 - done > (1u << 30) ? (1u << 30) : len - 4 - done;
            c = crc32(c, p + done, (uInt)k);
            done += k;
        }
        if ((uint32_t)c != crc) return fr__err(err, FR_ECORRUPT, "%s: checksum mismatch", name);
    }
    if (type > 3 || dim < 1 || dim > 65536)
        return fr__err(err, FR_EFORMAT, "%s: type %u / dim %u out of range", name, type, dim);
    if (ml >= sizeof meta->model) return fr__err(err, FR_EFORMAT, "%s: model path of %u bytes", name, ml);
    if (fit_n && type == 0) return fr__err(err, FR_EFORMAT, "%s: an int8 transform on float rows", name);
    size_t S = (dim + 31) / 32 * 32, off = 40 + ((size_t)ml + 7) / 8 * 8, xf = off;
    if (fit_n) off += (2 * (size_t)dim * sizeof(float) + 7) / 8 * 8;
    size_t row = (type == 0 || type == 2 ? S * sizeof(float) : 0) + (type != 0 ? S + sizeof(float) : 0) +
                 (type == 3 ? S / 4 : 0);
    if (off > len - 4 || n > (len - 4 - off) / row || off + n * row != len - 4)
        return fr__err(err, FR_EFORMAT, "%s: %llu vectors of %u dims do not fit its %zu bytes", name,
                       (unsigned long long)n, dim, len);
    // the transform: finite, w > 0 (checked even unverified: every query multiplies by it)
    const float *mu = (const float *)(const void *)(p + xf), *w = mu + dim;
    for (uint32_t d = 0; fit_n && d < dim; d++)
        if (!isfinite(mu[d]) || !isfinite(w[d]) || !(w[d] > 0))
            return fr__err(err, FR_EFORMAT, "%s: bad int8 transform at dimension %u", name, d);
    fr_vecs *v = NULL;
    int rc = fr_vecs_new((int)dim, (fr_vec_type)type, &v, err);
    if (rc < 0) return rc;
    // The row pointers are const in spirit: a view is only searched, never added to.
    if (fit_n) {
        v->mu = (float *)(uintptr_t)mu;
        v->w = (float *)(uintptr_t)w;
        v->fit_n = fit_n;
    }
    uint8_t *rows = (uint8_t *)(uintptr_t)(p + off);
    if (HAS_I8(v)) {
        v->q = (int8_t *)rows;
        v->scale = (float *)(void *)(rows + n * S);
        rows += n * (S + sizeof(float));
    }
    if (HAS_RB(v)) {
        v->rb = rows;
        rows += n * S / 4;
    }
    if (HAS_F32(v)) v->f = (float *)(void *)rows;
    v->n = v->cap = n;
    if (meta) {
        meta->generation = gen;
        memcpy(meta->model, p + 40, ml);
        meta->model[ml] = 0;
    }
    *out = v;
    return 0;
}

void fr__vecs_view_free(fr_vecs *v) { free(v); }  // mu, w, rows: the caller's mapping

fr_vec_type fr__vecs_type(const fr_vecs *v) { return v->type; }
