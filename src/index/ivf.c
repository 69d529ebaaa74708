/* ivf.c — the approximate dense index of a segment: an inverted file (IVF) over a k-means
 * coarse quantiser. A query ranks the nlist centroids, takes the nprobe nearest lists and
 * scans only their rows, with the scan of src/index/vectors.c (fr__vecs_search_gathered: the
 * same query preparation, kernels and scores as the exact search, hits ordered by the same
 * (score, row id) rule, so nprobe = nlist gives the exact results and no result depends on
 * the thread count).
 *
 * Why: the exact int8 top-1000 scan of 1M x 384 rows reads 384 MB per query and takes ~12 ms
 * at this machine's memory bandwidth (bench/embed/README.md); issue #8's hybrid budget leaves
 * the dense part about a millisecond. Scanning nprobe of nlist lists reads a few MB.
 *
 * Training (fr__ivf_build), deterministic: a sample of IVF_SAMPLE_PER_LIST rows per list (all
 * rows when fewer) drawn by a fixed-seed partial Fisher-Yates shuffle, rows as stored
 * (fr__vecs_row_f32 dequantises int8); centroids start at the first nlist sample rows;
 * IVF_ITERS rounds of Lloyd's k-means under L2: assign each row to argmax x · c - |c|²/2
 * (= the nearest centroid; ties to the lower list), move each centroid to its rows' mean (an
 * emptied list restarts at a sample row from the same generator). Spherical k-means
 * (normalised centroids, argmax x · c) was tried first and collapsed on the anisotropic
 * benchmark corpus: a centroid near the shared mean direction scores high for every row and
 * takes most of them; plain means keep mixed lists short (|c| < 1), as faiss's IVF does. 256
 * training rows per list instead of 64 changed neither balance nor recall there (300k rows,
 * 512 lists) at twice the build time. The products are OpenBLAS sgemm over blocks of
 * IVF_BLOCK rows; the build's cost is ~2·n·nlist·dim flops for the final assignment of all n
 * rows (20–60 s at 1M x 384 x 1024 lists on the 2 shared cores of the benchmark machine).
 *
 * nlist: the index's setting, or "auto" = fr__ivf_auto_lists(n), sqrt(n) to a power of two
 * (1024 at 1M rows: ~1000 rows per list, 1.6 MB of centroids to rank per query). The default
 * nprobe (FR_IVF_NPROBE_DEFAULT, 32) is from bench/embed's tables: on 137k real sentence
 * embeddings (USE, 512 lists, balanced) it gives recall@10 0.928 / recall@100 0.895 scanning
 * 5.7% of the rows (16: 0.873 / 0.826; 64: 0.965 / 0.948); on the synthetic clustered corpus
 * at 1M rows it equals the exact int8 scan's recall@10 (recall@1000 0.987), though that
 * corpus's unbalanced lists make it scan 20% of the rows. On isotropic random vectors no IVF
 * setting gets recall (nearest neighbours there have no cluster structure to exploit): an
 * index of such vectors should stay exact.
 *
 * Rows at query time: the listed rows of the .frv are scattered (row = document), and a
 * gather ran at ~1/8 of the sequential scan's speed per row (cache misses, no prefetch). So
 * the first probe copies the indexed rows once, list by list (fr__vecs_gather: the stored
 * bytes, no re-quantisation), and a probe scans nprobe contiguous ranges at the full scan's
 * speed. The cost: a second copy of the int8 rows in memory (384 MB at 1M x 384; the int8 part
 * only of int8-rescore rows) and its copy time (~0.3 s) at the first approximate query. Storing the list-ordered rows in the
 * .ivf file would avoid both, at the price of a second on-disk copy in vectors.c's format.
 *
 * File seg_<n>_<id>.ivf beside seg_<n>_<id>.frv, the vectors file it indexes (same name but
 * the extension; src/index/segvec.c), little-endian, 4-byte aligned throughout:
 *   0   "FRIVF001"                 magic (version 1)
 *   8   u32 dim, u32 nlist, u64 n (rows), u32 vec type (fr_vec_type of the .frv), u32 frv_crc
 *       (the .frv's CRC32 trailer: an .ivf of other vectors is refused as corrupt)
 *   32  centroids: nlist x dim f32 (list means)
 *   ..  offsets: nlist + 1 u32, offsets[0] = 0, non-decreasing, offsets[nlist] = n
 *   ..  row ids: n u32, list l's rows at [offsets[l], offsets[l+1]), strictly ascending, < n;
 *       every row in exactly one list
 *   end u32 CRC32 (zlib) of every byte before it
 * Written as <path>.pending → fsync → rename → directory fsync, before the COMMIT naming the
 * .frv; a reader validates the structure always (4 bytes per row) and the CRC when the index
 * verifies checksums. A missing .ivf means an exact scan of that segment (segments under the
 * row threshold, or written before the index opted in); a present one that fails a check is
 * FR_ECORRUPT at open, as a damaged .frv is (a stale one cannot pass the frv_crc tag).
 * Workload: built once per segment at flush, optimize or backfill; per query, nlist
 * centroids ranked by the exact F32 search plus nprobe lists of ~n/nlist rows scanned.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include <cblas.h>
#include <zlib.h>

#include "index/io.h"
#include "index/ivf.h"
#include "index/vectors.h"

#define MAGIC "FRIVF001"
#define HEAD 32
#ifndef IVF_SAMPLE_PER_LIST
#define IVF_SAMPLE_PER_LIST 64   // training rows per list (faiss warns below 39)
#endif
#define IVF_ITERS 10
#define IVF_BLOCK 1024           // rows per sgemm block (scores: 1024 x nlist floats)
#define IVF_MAX_LISTS 65536

uint32_t fr__ivf_min_rows = FR__IVF_MIN_ROWS;

struct fr__ivf {
    uint32_t dim, nlist;
    uint64_t n;
    fr_vecs *cent;               // (nlist, dim + 1) F32 (centroid, -|centroid|²/2), owned
    const uint32_t *off;         // (nlist + 1) into the mapping
    const uint32_t *ids;         // (n) into the mapping
    // (n) the indexed rows list by list (fr__vecs_gather), owned; made by the first probe
    // (under mu, published by ready), so that opening an index for writing, BM25 or exact
    // scans does not pay for the copy
    fr_vecs *rows;
    pthread_mutex_t mu;
    atomic_int ready;
};

uint32_t fr__ivf_auto_lists(size_t n) {
    uint32_t l = 1;
    while ((uint64_t)l * l * 2 < n && l < IVF_MAX_LISTS) l *= 2;  // the power of two nearest sqrt(n)
    return l < 2 ? 2 : l;
}

uint32_t fr__ivf_lists(const fr__ivf *ivf) { return ivf->nlist; }

void fr__ivf_free(fr__ivf *ivf) {
    if (!ivf) return;
    fr_vecs_free(ivf->cent);
    fr_vecs_free(ivf->rows);
    pthread_mutex_destroy(&ivf->mu);
    free(ivf);
}

// ---- training ----

static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

// best[i] = the nearest centroid (L2) to row i: argmax_j x_i · c_j - |c_j|² / 2, ties to the
// lower j; x (m, d), c (nlist, d), half (nlist) = |c_j|² / 2, scores: (IVF_BLOCK, nlist) scratch.
static void assign_block(const float *x, size_t m, const float *c, const float *half, uint32_t nlist,
                         size_t d, float *scores, uint32_t *best) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)nlist, (int)d, 1.0f, x,
                (int)d, c, (int)d, 0.0f, scores, (int)nlist);
    for (size_t i = 0; i < m; i++) {
        const float *s = scores + i * nlist;
        uint32_t b = 0;
        float bs = s[0] - half[0];
        for (uint32_t j = 1; j < nlist; j++)
            if (s[j] - half[j] > bs) bs = s[j] - half[j], b = j;
        best[i] = b;
    }
}

static void half_norms(const float *c, uint32_t nlist, size_t d, float *half) {
    for (uint32_t j = 0; j < nlist; j++) {
        double s = 0;
        for (size_t i = 0; i < d; i++) s += (double)c[(size_t)j * d + i] * c[(size_t)j * d + i];
        half[j] = (float)(s / 2);
    }
}

// Lloyd's k-means on the sample xs (ns, d); centroids c (nlist, d) in and out, half (nlist)
// their half squared norms out.
static int kmeans(const float *xs, size_t ns, float *c, float *half, uint32_t nlist, size_t d,
                  uint64_t *seed) {
    float *scores = malloc((size_t)IVF_BLOCK * nlist * sizeof *scores);
    double *sum = malloc((size_t)nlist * d * sizeof *sum);
    uint32_t *best = malloc(ns * sizeof *best), *cnt = malloc(nlist * sizeof *cnt);
    int rc = 0;
    if (!scores || !sum || !best || !cnt) { rc = FR_ENOMEM; goto out; }
    for (int it = 0; it < IVF_ITERS; it++) {
        half_norms(c, nlist, d, half);
        for (size_t lo = 0; lo < ns; lo += IVF_BLOCK) {
            size_t m = ns - lo < IVF_BLOCK ? ns - lo : IVF_BLOCK;
            assign_block(xs + lo * d, m, c, half, nlist, d, scores, best + lo);
        }
        memset(sum, 0, (size_t)nlist * d * sizeof *sum);
        memset(cnt, 0, nlist * sizeof *cnt);
        for (size_t i = 0; i < ns; i++) {
            double *s = sum + (size_t)best[i] * d;
            const float *x = xs + i * d;
            for (size_t j = 0; j < d; j++) s[j] += x[j];
            cnt[best[i]]++;
        }
        for (uint32_t l = 0; l < nlist; l++) {
            float *cl = c + (size_t)l * d;
            if (!cnt[l]) {  // emptied: restart at a sample row
                memcpy(cl, xs + (splitmix(seed) % ns) * d, d * sizeof *cl);
                continue;
            }
            for (size_t j = 0; j < d; j++) cl[j] = (float)(sum[(size_t)l * d + j] / cnt[l]);
        }
    }
    half_norms(c, nlist, d, half);
out:
    free(scores);
    free(sum);
    free(best);
    free(cnt);
    return rc;
}

// ---- build and write ----

int fr__ivf_build(const fr_vecs *v, uint32_t nlist, uint32_t frv_crc, const char *path, int sync,
                  fr_error *err) {
    size_t n = fr_vecs_count(v), d = (size_t)fr_vecs_dim(v);
    if (n < 1 || n > UINT32_MAX || d > 65535)
        return fr__err(err, FR_EINVAL, "%s: IVF over %zu rows of %zu dims", path, n, d);
    if (!nlist) nlist = fr__ivf_auto_lists(n);
    if (nlist > IVF_MAX_LISTS) return fr__err(err, FR_EINVAL, "%s: %u IVF lists (at most %d)", path, nlist, IVF_MAX_LISTS);
    if (nlist > n) nlist = (uint32_t)n;
    size_t ns = (size_t)nlist * IVF_SAMPLE_PER_LIST;
    if (ns > n) ns = n;
    uint64_t seed = 0x1f2e3d4c5b6a7988ULL;
    uint32_t *perm = NULL, *assign = NULL, *off = NULL, *ids = NULL, *fill = NULL;
    float *xs = NULL, *c = NULL, *half = NULL, *blk = NULL, *scores = NULL;
    int rc = 0;
    perm = malloc(n * sizeof *perm);
    assign = malloc(n * sizeof *assign);
    off = calloc((size_t)nlist + 1, sizeof *off);
    fill = calloc((size_t)nlist + 1, sizeof *fill);
    ids = malloc(n * sizeof *ids);
    xs = malloc(ns * d * sizeof *xs);
    c = malloc((size_t)nlist * d * sizeof *c);
    half = malloc((size_t)nlist * sizeof *half);
    blk = malloc((size_t)IVF_BLOCK * d * sizeof *blk);
    scores = malloc((size_t)IVF_BLOCK * nlist * sizeof *scores);
    if (!perm || !assign || !off || !fill || !ids || !xs || !c || !half || !blk || !scores) goto oom;
    // the sample: the first ns of a fixed-seed shuffle of the row numbers
    for (size_t i = 0; i < n; i++) perm[i] = (uint32_t)i;
    for (size_t i = 0; i < ns; i++) {
        size_t j = i + splitmix(&seed) % (n - i);
        uint32_t t = perm[i]; perm[i] = perm[j]; perm[j] = t;
    }
    for (size_t i = 0; i < ns; i++) fr__vecs_row_f32(v, perm[i], xs + i * d);
    memcpy(c, xs, (size_t)nlist * d * sizeof *c);  // nlist <= ns: distinct random rows
    if ((rc = kmeans(xs, ns, c, half, nlist, d, &seed)) < 0) goto oom;
    // every row to its nearest centroid
    for (size_t lo = 0; lo < n; lo += IVF_BLOCK) {
        size_t m = n - lo < IVF_BLOCK ? n - lo : IVF_BLOCK;
        for (size_t i = 0; i < m; i++) fr__vecs_row_f32(v, lo + i, blk + i * d);
        assign_block(blk, m, c, half, nlist, d, scores, assign + lo);
    }
    for (size_t i = 0; i < n; i++) off[assign[i] + 1]++;
    for (uint32_t l = 0; l < nlist; l++) off[l + 1] += off[l];
    memcpy(fill, off, ((size_t)nlist + 1) * sizeof *fill);
    for (size_t i = 0; i < n; i++) ids[fill[assign[i]]++] = (uint32_t)i;  // ascending per list
    // the file
    uint8_t hdr[HEAD] = {0};
    uint32_t dim32 = (uint32_t)d, type = (uint32_t)fr__vecs_type(v);
    uint64_t n64 = n;
    memcpy(hdr, MAGIC, 8);
    memcpy(hdr + 8, &dim32, 4);
    memcpy(hdr + 12, &nlist, 4);
    memcpy(hdr + 16, &n64, 8);
    memcpy(hdr + 24, &type, 4);
    memcpy(hdr + 28, &frv_crc, 4);
    fr__wfile w;
    if ((rc = fr__wfile_open_pending(&w, path, err)) < 0) goto done;
    w.writeback = sync;
    if ((rc = fr__wfile_write(&w, hdr, sizeof hdr, err)) < 0 ||
        (rc = fr__wfile_write(&w, c, (size_t)nlist * d * sizeof *c, err)) < 0 ||
        (rc = fr__wfile_write(&w, off, ((size_t)nlist + 1) * sizeof *off, err)) < 0 ||
        (rc = fr__wfile_write(&w, ids, n * sizeof *ids, err)) < 0) {
        fr__wfile_abort(&w);
        goto done;
    }
    rc = fr__wfile_replace(&w, path, sync, err);
    goto done;
oom:
    rc = fr__err(err, FR_ENOMEM, "%s: out of memory building an IVF of %u lists over %zu rows",
                 path, nlist, n);
done:
    free(perm);
    free(assign);
    free(off);
    free(fill);
    free(ids);
    free(xs);
    free(c);
    free(half);
    free(blk);
    free(scores);
    return rc;
}

// ---- reading ----

int fr__ivf_view(const void *data, size_t len, const char *name, int verify, const fr_vecs *v,
                 uint32_t frv_crc, fr__ivf **out, fr_error *err) {
    *out = NULL;
    const uint8_t *p = data;
    if (len < HEAD + 4 || memcmp(p, MAGIC, 8))
        return fr__err(err, FR_EFORMAT, "%s: not a finerank IVF file", name);
    uint32_t dim, nlist, type, tag, crc;
    uint64_t n;
    memcpy(&dim, p + 8, 4);
    memcpy(&nlist, p + 12, 4);
    memcpy(&n, p + 16, 8);
    memcpy(&type, p + 24, 4);
    memcpy(&tag, p + 28, 4);
    memcpy(&crc, p + len - 4, 4);
    if (dim < 1 || dim > 65535 || nlist < 1 || nlist > IVF_MAX_LISTS || n > UINT32_MAX || n < nlist ||
        type > FR_VEC_I8_REFINE)
        return fr__err(err, FR_EFORMAT, "%s: dim %u, %u lists, %llu rows, type %u out of range", name,
                       dim, nlist, (unsigned long long)n, type);
    uint64_t want = HEAD + (uint64_t)nlist * dim * 4 + ((uint64_t)nlist + 1) * 4 + n * 4 + 4;
    if (want != len)
        return fr__err(err, FR_EFORMAT, "%s: %u lists of %u dims over %llu rows need %llu bytes, "
                       "the file has %zu", name, nlist, dim, (unsigned long long)n,
                       (unsigned long long)want, len);
    if (verify && (uint32_t)crc32_z(0L, p, len - 4) != crc)  // the size was checked above
        return fr__err(err, FR_ECORRUPT, "%s: checksum mismatch", name);
    if (n != fr_vecs_count(v) || dim != (uint32_t)fr_vecs_dim(v) || type != (uint32_t)fr__vecs_type(v) ||
        tag != frv_crc)
        return fr__err(err, FR_ECORRUPT, "%s: indexes %llu rows of %u dims (%s, vectors CRC %08x), "
                       "not these %zu rows of %d dims (%s, CRC %08x)", name, (unsigned long long)n,
                       dim, fr_vec_type_name((fr_vec_type)type), tag, fr_vecs_count(v),
                       fr_vecs_dim(v), fr_vec_type_name(fr__vecs_type(v)), frv_crc);
    const float *cent = (const float *)(const void *)(p + HEAD);
    const uint32_t *off = (const uint32_t *)(const void *)(p + HEAD + (size_t)nlist * dim * 4);
    const uint32_t *ids = off + nlist + 1;
    if (off[0] != 0 || off[nlist] != n)
        return fr__err(err, FR_EFORMAT, "%s: list offsets do not span the %llu rows", name,
                       (unsigned long long)n);
    // every row in exactly one list (n ids, none twice): a row in two lists would come back
    // twice from one probe (n / 8 bytes of bits)
    uint8_t *seen = calloc(n / 8 + 1, 1);
    if (!seen) return fr__err(err, FR_ENOMEM, "%s: out of memory", name);
    for (uint32_t l = 0; l < nlist; l++) {
        if (off[l + 1] < off[l]) {
            free(seen);
            return fr__err(err, FR_EFORMAT, "%s: list %u ends before it starts", name, l);
        }
        for (uint32_t i = off[l]; i < off[l + 1]; i++) {
            if (ids[i] >= n || (i > off[l] && ids[i] <= ids[i - 1]) || (seen[ids[i] >> 3] >> (ids[i] & 7) & 1)) {
                free(seen);
                return fr__err(err, FR_EFORMAT, "%s: list %u: row id %u out of order or range, or in "
                               "another list too", name, l, ids[i]);
            }
            seen[ids[i] >> 3] |= (uint8_t)(1u << (ids[i] & 7));
        }
    }
    free(seen);
    // the probe's centroid matrix: rows (c, -|c|²/2), so that the exact search's q' · c' with
    // q' = (q, 1) is q · c - |c|²/2, which ranks centroids by L2 distance to q as k-means
    // assigned the rows
    fr__ivf *ivf = calloc(1, sizeof *ivf);
    if (ivf) {
        pthread_mutex_init(&ivf->mu, NULL);
        atomic_init(&ivf->ready, 0);
    }
    float *aug = malloc((size_t)nlist * (dim + 1) * sizeof *aug);
    int rc = ivf && aug ? fr_vecs_new((int)dim + 1, FR_VEC_F32, &ivf->cent, err)
                        : fr__err(err, FR_ENOMEM, "%s: out of memory", name);
    if (rc == 0) {
        for (uint32_t l = 0; l < nlist; l++) {
            float *a = aug + (size_t)l * (dim + 1);
            memcpy(a, cent + (size_t)l * dim, (size_t)dim * sizeof *a);
            double h = 0;
            for (uint32_t i = 0; i < dim; i++) h += (double)a[i] * a[i];
            a[dim] = (float)(-h / 2);
        }
        if ((rc = fr_vecs_add(ivf->cent, aug, nlist, err)) < 0)
            rc = fr__err(err, rc == FR_ENOMEM ? FR_ENOMEM : FR_EFORMAT, "%s: centroids: %s", name,
                         err ? err->msg : "not finite");
    }
    free(aug);
    if (rc < 0) {
        fr__ivf_free(ivf);
        return rc;
    }
    ivf->dim = dim;
    ivf->nlist = nlist;
    ivf->n = n;
    ivf->off = off;
    ivf->ids = ids;
    *out = ivf;
    return 0;
}

// ---- search ----

// The list-ordered copy of v's rows, made once (see struct fr__ivf).
static int rows_ready(fr__ivf *ivf, const fr_vecs *v, fr_error *err) {
    if (atomic_load_explicit(&ivf->ready, memory_order_acquire)) return 0;
    pthread_mutex_lock(&ivf->mu);
    int rc = ivf->rows ? 0 : fr__vecs_gather(v, ivf->ids, ivf->n, &ivf->rows, err);
    if (rc == 0) atomic_store_explicit(&ivf->ready, 1, memory_order_release);
    pthread_mutex_unlock(&ivf->mu);
    return rc;
}

int fr__ivf_search(const fr__ivf *ivf, const fr_vecs *v, const float *q, size_t k, uint32_t nprobe,
                   int threads, fr_vec_hit *out, size_t *n_out, size_t *n_scanned, fr_error *err) {
    *n_out = 0;
    if (n_scanned) *n_scanned = nprobe >= ivf->nlist ? ivf->n : 0;
    FR_ASSERT(fr_vecs_count(v) == ivf->n && (uint32_t)fr_vecs_dim(v) == ivf->dim);
    if (nprobe >= ivf->nlist) return fr_vecs_search(v, q, k, threads, out, n_out, err);
    if (!nprobe || !k) return 0;
    fr_vec_hit *lists = malloc(nprobe * sizeof *lists);
    fr__vecs_range *rg = malloc(nprobe * sizeof *rg);
    float *q1 = malloc(((size_t)ivf->dim + 1) * sizeof *q1);  // (q, 1): see fr__ivf_view
    size_t nl = 0, m = 0;
    int rc = 0;
    if (!lists || !rg || !q1) { rc = fr__err(err, FR_ENOMEM, "out of memory"); goto out; }
    if ((rc = rows_ready((fr__ivf *)(uintptr_t)ivf, v, err)) < 0) goto out;
    memcpy(q1, q, (size_t)ivf->dim * sizeof *q1);
    q1[ivf->dim] = 1;
    // the lists: the nprobe nearest centroids by the exact F32 search (one thread: nlist rows)
    if ((rc = fr_vecs_search(ivf->cent, q1, nprobe, 1, lists, &nl, err)) < 0) goto out;
    for (size_t i = 0; i < nl; i++) {
        rg[i] = (fr__vecs_range){ivf->off[lists[i].id], ivf->off[lists[i].id + 1]};
        m += rg[i].hi - rg[i].lo;
    }
    if (n_scanned) *n_scanned = m;
    rc = fr__vecs_search_gathered(v, ivf->rows, ivf->ids, rg, nl, q, k, threads, out, n_out, err);
out:
    free(lists);
    free(rg);
    free(q1);
    return rc;
}
