/* quant_math.h — the linear quantization arithmetic both the quantization
 * passes and the lowering (lower_quant.c) use, so that what a pass measures
 * is bit for bit what the emitted QuantizeLinear/DequantizeLinear compute:
 * integer formats and ranges, scale/zero-point choice, round half to even,
 * grouped layouts (per tensor / per channel / per block), INT4 packing two
 * per byte low nibble first, and the opset a quantizer needs. Internal. */
#ifndef ECC_QUANT_MATH_H
#define ECC_QUANT_MATH_H

#include "ir.h"

/* ---------------- formats ---------------- */

/* An integer format: bits 4, 8 (or 32 for biases), signed or not, symmetric
 * (zero point 0, or mid-range when unsigned) or asymmetric (min/max). */
typedef struct ecc_qformat {
    int32_t bits;
    bool is_signed;
    bool symmetric;
} ecc_qformat;

/* ONNX element type of the format (INT4, UINT4, INT8, UINT8, INT32; 0 if none). */
int32_t ecc_qformat_dtype(const ecc_qformat *f);
/* Integer range. Symmetric signed formats use [-(2^(b-1)-1), 2^(b-1)-1]: the
 * most negative code stays unused so the grid is symmetric around 0. */
void ecc_qformat_range(const ecc_qformat *f, int32_t *lo, int32_t *hi);
/* Scale and zero point for values in [lo, hi], widened to hold 0 so that 0
 * is exact. A degenerate range gets scale 1. */
void ecc_qformat_choose(const ecc_qformat *f, double lo, double hi, float *scale, int32_t *zp);
ecc_qformat ecc_qformat_of(const ecc_quantizer *q);

/* Round half to even, as QuantizeLinear (and ONNX Runtime) round. */
static inline float ecc_qround(float v) {
    const float magic = 12582912.0f; /* 1.5 * 2^23: the add rounds to an integer */
    if (!(v == v)) return 0.0f;      /* NaN quantizes like 0 */
    v = v > 4194304.0f ? 4194304.0f : v < -4194304.0f ? -4194304.0f : v;
    return (v + magic) - magic;      /* exact for |v| <= 2^22 (no -ffast-math) */
}

/* QuantizeLinear of one value: clamp(round(x / s) + zp, lo, hi). */
static inline int32_t ecc_qone(float x, float s, int32_t zp, int32_t lo, int32_t hi) {
    float r = ecc_qround(x / s) + (float)zp;
    return r < (float)lo ? lo : r > (float)hi ? hi : (int32_t)r;
}

/* Quantize-dequantize n values in place with one scale and zero point,
 * adding Σ x² to *sig and Σ (x - q(x))² to *noise. */
void ecc_qfake_measured(float *x, int64_t n, float s, int32_t zp, int32_t lo, int32_t hi,
                        double *sig, double *noise);

/* ---------------- grouped layouts ---------------- */

/* A tensor seen as [outer, dim, inner] around the quantization axis: one
 * group (per tensor), one group per index along the axis (per channel), or
 * `block` consecutive indices along the axis for each outer/inner (block). */
typedef struct ecc_qlayout {
    int64_t outer, dim, inner;
    int64_t block;        /* 0: not blocked */
    bool per_tensor;
} ecc_qlayout;

/* Layout of a tensor of `rank` dims for granularity gran (ecc_quant_gran).
 * flat: a blocked tensor of rank > 2 is seen as [dims[0], rest] with blocks
 * along the rest (axis must be 1; lowered through a Reshape).
 * Errors (ECC_E_INTERNAL): axis out of range, block < 1. */
ecc_status ecc_qlayout_make(ecc_ctx *ctx, int32_t rank, const int64_t *dims, int gran,
                            int32_t axis, int64_t block, bool flat, ecc_qlayout *out);
/* Layout of quantizer q over a tensor (flat when q's scale has rank 2 and
 * the tensor a higher rank, for blocks). */
ecc_status ecc_qlayout_of(ecc_ctx *ctx, const ecc_quantizer *q, int32_t rank,
                          const int64_t *dims, ecc_qlayout *out);
int64_t ecc_qlayout_groups(const ecc_qlayout *L);
int64_t ecc_qlayout_numel(const ecc_qlayout *L);
/* Group of element i (memory order). */
static inline int64_t ecc_qlayout_group(const ecc_qlayout *L, int64_t i) {
    if (L->per_tensor) return 0;
    int64_t in = i % L->inner, a = (i / L->inner) % L->dim;
    if (!L->block) return a;
    int64_t o = i / (L->inner * L->dim), nb = (L->dim + L->block - 1) / L->block;
    return (o * nb + a / L->block) * L->inner + in;
}
/* Dims of the scale tensor of layout L over a tensor (ONNX conventions:
 * rank 0 per tensor, [dim] per channel, the tensor's dims with the axis
 * divided (rounded up) per block, [dims[0], blocks] when flat). Returns the rank. */
int32_t ecc_qlayout_scale_dims(const ecc_qlayout *L, int32_t rank, const int64_t *dims,
                               int32_t axis, bool flat, int64_t *sdims);

/* Per-group min/max of w → scale and zero point (groups entries each).
 * Returns false on OOM. */
bool ecc_qlayout_choose(const float *w, const ecc_qlayout *L, const ecc_qformat *f,
                        float *scale, int32_t *zp);
/* Codes of w, one byte per element: int8 two's complement, uint8, or a
 * 4-bit code in the low nibble. */
void ecc_qlayout_quantize(const float *w, const ecc_qlayout *L, const ecc_qformat *f,
                          const float *scale, const int32_t *zp, uint8_t *codes);
/* Float values of codes (what DequantizeLinear computes). */
void ecc_qlayout_dequantize(const uint8_t *codes, const ecc_qlayout *L, const ecc_qformat *f,
                            const float *scale, const int32_t *zp, float *out);
/* Code byte → integer value of the format. */
static inline int32_t ecc_qcode_value(const ecc_qformat *f, uint8_t c) {
    if (!f->is_signed) return f->bits == 4 ? (int32_t)(c & 0xF) : c;
    if (f->bits == 4) return (c & 0x8) ? (int32_t)(c & 0xF) - 16 : (int32_t)(c & 0xF);
    return (int8_t)c;
}
/* n 4-bit codes two per byte, low nibble first ((n+1)/2 bytes), and back. */
void ecc_qpack4(const uint8_t *codes, int64_t n, uint8_t *out);
void ecc_qunpack4(const uint8_t *packed, int64_t n, uint8_t *codes);

/* ---------------- quantizers ---------------- */

/* Zero point of group g of q (0 when q has none). */
int32_t ecc_quantizer_zero_point(const ecc_quantizer *q, int64_t g);
/* Zero points of q as ints (n = groups, malloc'd, caller frees). */
ecc_status ecc_quantizer_zero_points(ecc_ctx *ctx, const ecc_quantizer *q, int64_t n,
                                     int32_t **out);
/* Lowest ai.onnx opset whose QuantizeLinear/DequantizeLinear express q:
 * 10 per tensor 8-bit, 13 per axis, 21 for 4-bit types or blocks. */
int64_t ecc_quantizer_opset(const ecc_quantizer *q);
/* Bytes of a weight of numel elements stored quantized by q: codes plus
 * scales and zero points. */
int64_t ecc_quantizer_bytes(const ecc_quantizer *q, int64_t numel);

#endif
