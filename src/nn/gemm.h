/* gemm.h — dense layers y = act(x · W^T + b) with reduced-precision weights, for the
 * encoder's six per-layer projections. Three weight types:
 *   F32   W used in place, OpenBLAS sgemm (nn.h's fr__nn_linear).
 *   BF16  W rounded to bfloat16 (round to nearest even) once at pack time, widened to f32 in
 *         the kernel (a 16-bit shift), f32 FMA accumulation. A BF16 checkpoint round-trips
 *         exactly (widening then rounding is the identity), so its weights are its own.
 *   INT8  W quantised symmetrically per output channel at pack time
 *         (scale_j = max_k |W_jk| / 127, q = round_half_even(W / scale_j) in [-127, 127]);
 *         activations quantised symmetrically per token (row) at run time, same rule;
 *         int32 accumulation; dequantise + bias fused: y = fmaf(acc, sx_i * sw_j, b_j).
 *         Symmetric activations (not asymmetric u8 + zero point) because the AVX2 kernel's
 *         vpmaddubsw multiplies u8 × s8 pairs into a saturating s16: with |a|, |w| <= 127 the
 *         pair sum is <= 2·127·127 = 32258 < 32767, so the integer result is exact and the
 *         AVX2 and portable paths agree bit for bit. (u8 activations in [0, 255] can saturate
 *         unless weights drop to 7 bits, which costs more accuracy than the lost activation
 *         bit.) It also needs no zero-point column-sum correction.
 *
 * Packed layouts (cache-friendly panels; n padded with zero rows). Each ISA table names the
 * layout its kernels read (fr__gemm_isa.layout); fr__dense_pack_isa packs for one table, so a
 * dense layer is tied to the table it was packed for. FR__LAYOUT_PAIRS (ref, avx2):
 *   INT8  q (np/4, kp/32, 2, 4, 32): per 32-wide k block, four output channels' |q| slices
 *         (as u8) then their q slices, so the 2x4 micro-kernel reads one contiguous 256-byte
 *         group per k step; kp = k rounded up to 32 (zero padding), np = n rounded up to 4.
 *         Storing |q| as well doubles weight bytes but frees the kernel from holding both x
 *         and |x| in registers (16 ymm on AVX2; see gemm_avx2.c).
 *   BF16  bf (np/16, k, 16): sixteen output channels' weights for one k, so the 6x16 kernel
 *         loads two 8-lane vectors per k step; np = n rounded up to 16.
 * FR__LAYOUT_ZMM (avx512: one 64-byte zmm of weights per step of vpdpbusd / vdpbf16ps):
 *   INT8  q (np/16, kp/4, 16, 4): per 4-wide k group, sixteen channels' four int8 weights
 *         (the dword lanes of vpdpbusd); kp = k rounded up to 4, np = n rounded up to 16.
 *         vpdpbusd multiplies u8 × s8, so activations enter as u8 a + 128 and the kernel
 *         starts each accumulator at -128 · Σ_k q_jk (wsum, exact int32, packed here): the
 *         result is Σ a·q exactly, the same integer as the ref kernel's.
 *   BF16  bf (np/16, kp/2, 16, 2): per k pair, sixteen channels' two bf16 weights (the dword
 *         lanes of vdpbf16ps); kp = k rounded up to 2.
 *
 * The encoder packs all of a model's layers into one huge-page arena (fr__dense_pack_in,
 * model/encoder.c), in the order a forward pass reads them.
 * Kernels are single-threaded (the engine parallelises over sequence batches). An ISA table
 * (fr__gemm_isa) carries each variant: gemm_ref.c (portable C, the definition of the results),
 * gemm_avx2.c (AVX2 + FMA) and gemm_avx512.c (AVX512-VNNI + AVX512-BF16). INT8 results are
 * the same bits on every table (integer math, one fmaf). BF16: ref and avx2 agree bit for bit;
 * avx512 rounds activations to bf16 for vdpbf16ps (see gemm_avx512.c for its tolerance).
 * tests/test_quant.c checks every table this CPU runs against the reference.
 */
#ifndef FR_NN_GEMM_H
#define FR_NN_GEMM_H

#include <stddef.h>
#include <stdint.h>

#include "nn/nn.h"

typedef enum { FR__WT_F32 = 0, FR__WT_BF16 = 1, FR__WT_INT8 = 2 } fr__wtype;
typedef enum { FR__LAYOUT_PAIRS = 0, FR__LAYOUT_ZMM = 1 } fr__layout;

struct fr__dense;

// One ISA's kernels. All write y (m, n) with row stride ldy, bias b (n) or NULL fused.
typedef struct fr__gemm_isa {
    const char *name;                       // "avx512", "avx2", "ref"
    int (*supported)(void);                 // may this CPU run it
    fr__layout layout;                      // the packed weights it reads
    // xq (m, kp) int8, xs (m) = act_quant of x (m, k) (row stride k); padding columns zeroed.
    // FR__LAYOUT_ZMM tables store each q as the byte q + 128 (u8 for vpdpbusd), padding 128.
    void (*quant_rows)(const float *x, size_t m, size_t k, size_t kp, int8_t *xq, float *xs);
    void (*q8)(const struct fr__dense *d, const int8_t *xq, const float *xs, size_t m, float *y,
               size_t ldy);
    // scratch: fr__dense_scratch_bytes(m, k) (the avx512 table converts x to bf16 there)
    void (*bf16)(const struct fr__dense *d, const float *x, size_t m, float *y, size_t ldy,
                 void *scratch);
} fr__gemm_isa;

extern const fr__gemm_isa fr__gemm_ref;
extern const fr__gemm_isa fr__gemm_avx2;
extern const fr__gemm_isa fr__gemm_avx512;

// The best table this CPU supports (cpuid, once). FINERANK_ISA=avx512|avx2|ref in the
// environment picks that table if the CPU runs it (for comparisons, tests and benchmarks);
// an unknown or unsupported name falls back to the best supported table.
const fr__gemm_isa *fr__gemm_isa_best(void);

typedef struct fr__dense {
    fr__wtype type;
    const fr__gemm_isa *isa;  // kernels used by fr__dense_apply
    size_t n, k;              // out_features, in_features
    size_t np, kp;            // padded (see the layouts above)
    float *b;                 // (n) bias, owned (concatenated for fused matrices), or NULL
    int8_t *q;                // INT8: PAIRS (np/4, kp/32, 2, 4, 32), |q| then q;
                              //       ZMM (np/16, kp/4, 16, 4)
    float *scale;             // INT8: (np) per-channel scales, 0 for padding rows
    int32_t *wsum;            // INT8, ZMM: (np) -128 * sum_k q_jk, the u8-offset correction
    uint16_t *bf;             // BF16: PAIRS (np/16, k, 16); ZMM (np/16, kp/2, 16, 2)
    int borrowed;             // q / bf live in the caller's memory (fr__dense_pack_in)
} fr__dense;

// Packs the row-wise concatenation of nw weight matrices ws[i] (ns[i], k), PyTorch layout,
// with biases bs[i] (ns[i]) (bs or any bs[i] may be NULL: zeros), as type (BF16 or INT8),
// for the kernels of isa (fr__dense_pack: fr__gemm_isa_best()). The quantised values do not
// depend on isa, only their layout. OUT: *d, free with fr__dense_free. Returns 0 or FR_ENOMEM.
int fr__dense_pack(fr__dense *d, fr__wtype type, const float *const *ws, const float *const *bs,
                   const size_t *ns, size_t nw, size_t k);
int fr__dense_pack_isa(fr__dense *d, const fr__gemm_isa *isa, fr__wtype type,
                       const float *const *ws, const float *const *bs, const size_t *ns,
                       size_t nw, size_t k);
// The same, with the packed weights (q or bf) written into mem: fr__dense_weight_bytes(isa,
// type, sum of ns, k) zeroed bytes, 64-byte aligned, that the caller owns and keeps alive
// until fr__dense_free (which then leaves them alone). mem NULL: allocated and owned. The
// encoder packs all of a model's layers into one huge-page arena this way (model/encoder.c).
int fr__dense_pack_in(fr__dense *d, const fr__gemm_isa *isa, fr__wtype type,
                      const float *const *ws, const float *const *bs, const size_t *ns, size_t nw,
                      size_t k, void *mem);
size_t fr__dense_weight_bytes(const fr__gemm_isa *isa, fr__wtype type, size_t n, size_t k);
void fr__dense_free(fr__dense *d);

// Scratch bytes fr__dense_apply needs for m rows of k inputs.
size_t fr__dense_scratch_bytes(size_t m, size_t k);

// y (m, n) with row stride ldy = act(x (m, k) · W^T + b). scratch: fr__dense_scratch_bytes.
void fr__dense_apply(const fr__dense *d, const float *x, size_t m, float *y, size_t ldy,
                     fr__nn_act act, void *scratch);

// Round-to-nearest-even float -> bfloat16 bits, and back.
static inline uint16_t fr__bf16_from_f32(float f) {
    union { float f; uint32_t u; } v = {f};
    if ((v.u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((v.u >> 16) | 0x40);  // quiet NaN
    return (uint16_t)((v.u + 0x7fffu + ((v.u >> 16) & 1u)) >> 16);
}
static inline float fr__bf16_to_f32(uint16_t h) {
    union { uint32_t u; float f; } v = {(uint32_t)h << 16};
    return v.f;
}

#endif
