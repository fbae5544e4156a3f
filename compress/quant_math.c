/* quant_math.c — linear quantization arithmetic (see quant_math.h). The
 * inner loops walk [outer, dim, inner] with the group index advanced
 * incrementally and one scale per contiguous run where the layout allows,
 * so quantizing a weight runs at memory speed. */
#include "quant_math.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------- formats ---------------- */

static const struct {
    int32_t bits;
    bool is_signed;
    int32_t dtype;
} format_table[] = {
    {4, true, ECC_DTYPE_INT4},   {4, false, ECC_DTYPE_UINT4}, {8, true, ECC_DTYPE_INT8},
    {8, false, ECC_DTYPE_UINT8}, {32, true, ECC_DTYPE_INT32},
};

int32_t ecc_qformat_dtype(const ecc_qformat *f) {
    for (size_t i = 0; i < sizeof format_table / sizeof format_table[0]; i++)
        if (format_table[i].bits == f->bits && format_table[i].is_signed == f->is_signed)
            return format_table[i].dtype;
    return 0;
}

void ecc_qformat_range(const ecc_qformat *f, int32_t *lo, int32_t *hi) {
    int64_t levels = (int64_t)1 << (f->bits > 31 ? 31 : f->bits < 1 ? 1 : f->bits);
    if (f->is_signed) {
        *hi = (int32_t)(levels / 2 - 1);
        *lo = f->symmetric ? -*hi : (int32_t)(-levels / 2);
    } else {
        *lo = 0;
        *hi = (int32_t)(levels - 1);
    }
}

void ecc_qformat_choose(const ecc_qformat *f, double lo, double hi, float *scale, int32_t *zp) {
    int32_t qlo, qhi;
    ecc_qformat_range(f, &qlo, &qhi);
    lo = lo < 0 ? lo : 0;
    hi = hi > 0 ? hi : 0;
    double s;
    if (f->symmetric) {
        double amax = -lo > hi ? -lo : hi;
        int32_t half = f->is_signed ? qhi : (qhi - qlo) / 2;
        *zp = f->is_signed ? 0 : (qhi + 1) / 2;
        s = amax / half;
    } else {
        s = (hi - lo) / (double)(qhi - qlo);
        double z = s > 0 ? nearbyint((double)qlo - lo / s) : qlo;
        *zp = z < qlo ? qlo : z > qhi ? qhi : (int32_t)z;
    }
    if (!(s > 1e-30) || !isfinite(s) || (float)s == 0.0f || !isfinite((float)s)) {
        s = 1.0;
        if (!f->symmetric) *zp = f->is_signed ? 0 : qlo;
    }
    *scale = (float)s;
}

ecc_qformat ecc_qformat_of(const ecc_quantizer *q) {
    return (ecc_qformat){q->bits, q->is_signed, q->symmetric};
}

/* One value quantized and dequantized, its energy and error added to the
 * running sums of one lane. */
static inline void qfake_one(float *x, float s, int32_t zp, int32_t lo, int32_t hi, double *sig,
                             double *noise) {
    float v = *x, q = (float)(ecc_qone(v, s, zp, lo, hi) - zp) * s;
    double d = (double)v - q;
    *sig += (double)v * v;
    *noise += d * d;
    *x = q;
}

/* Eight independent lanes, so the compiler can keep them in vector
 * registers (the sums' order does not depend on the machine). */
void ecc_qfake_measured(float *x, int64_t n, float s, int32_t zp, int32_t lo, int32_t hi,
                        double *sig, double *noise) {
    enum { LANES = 8 };
    double sg[LANES] = {0}, ns[LANES] = {0};
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int k = 0; k < LANES; k++) qfake_one(x + i + k, s, zp, lo, hi, sg + k, ns + k);
    for (int k = 0; i < n; i++, k++) qfake_one(x + i, s, zp, lo, hi, sg + k, ns + k);
    for (int k = 0; k < LANES; k++) {
        *sig += sg[k];
        *noise += ns[k];
    }
}

/* ---------------- layouts ---------------- */

ecc_status ecc_qlayout_make(ecc_ctx *ctx, int32_t rank, const int64_t *dims, int gran,
                            int32_t axis, int64_t block, bool flat, ecc_qlayout *out) {
    memset(out, 0, sizeof *out);
    int64_t numel = 1;
    for (int32_t d = 0; d < rank; d++) numel *= dims[d];
    if (gran == ECC_QUANT_TENSOR) {
        *out = (ecc_qlayout){.outer = 1, .dim = numel, .inner = 1, .per_tensor = true};
        return ECC_OK;
    }
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank)
        return ecc_ctx_error(ctx, ECC_E_INTERNAL, "quantization axis %d out of range for rank %d",
                             (int)axis, (int)rank);
    out->outer = out->inner = 1;
    if (flat && gran == ECC_QUANT_BLOCK && rank > 2) {
        if (axis != 1) return ecc_ctx_error(ctx, ECC_E_INTERNAL, "flattened blocks need axis 1");
        out->outer = dims[0];
        out->dim = dims[0] ? numel / dims[0] : 0;
    } else {
        for (int32_t d = 0; d < axis; d++) out->outer *= dims[d];
        out->dim = dims[axis];
        for (int32_t d = axis + 1; d < rank; d++) out->inner *= dims[d];
    }
    if (gran == ECC_QUANT_BLOCK) {
        if (block < 1)
            return ecc_ctx_error(ctx, ECC_E_INTERNAL, "block size %lld < 1", (long long)block);
        out->block = block;
    }
    return ECC_OK;
}

ecc_status ecc_qlayout_of(ecc_ctx *ctx, const ecc_quantizer *q, int32_t rank,
                          const int64_t *dims, ecc_qlayout *out) {
    bool flat = q->granularity == ECC_QUANT_BLOCK && rank > 2 && q->scale && q->scale->rank == 2;
    return ecc_qlayout_make(ctx, rank, dims, q->granularity, q->axis, q->block_size, flat, out);
}

int64_t ecc_qlayout_groups(const ecc_qlayout *L) {
    if (L->per_tensor) return 1;
    if (!L->block) return L->dim;
    return L->outer * ((L->dim + L->block - 1) / L->block) * L->inner;
}

int64_t ecc_qlayout_numel(const ecc_qlayout *L) { return L->outer * L->dim * L->inner; }

int32_t ecc_qlayout_scale_dims(const ecc_qlayout *L, int32_t rank, const int64_t *dims,
                               int32_t axis, bool flat, int64_t *sdims) {
    if (L->per_tensor) return 0;
    if (!L->block) {
        sdims[0] = L->dim;
        return 1;
    }
    int64_t nb = (L->dim + L->block - 1) / L->block;
    if (flat && rank > 2) {
        sdims[0] = dims[0];
        sdims[1] = nb;
        return 2;
    }
    if (axis < 0) axis += rank;
    for (int32_t d = 0; d < rank; d++) sdims[d] = d == axis ? nb : dims[d];
    return rank;
}

/* Runs BODY for every element i (memory order) with its group g. */
#define ECC_QLAYOUT_EACH(L, BODY)                                                        \
    do {                                                                                 \
        int64_t nb_ = (L)->block ? ((L)->dim + (L)->block - 1) / (L)->block : 0;         \
        int64_t i = 0;                                                                   \
        for (int64_t o_ = 0; o_ < (L)->outer; o_++)                                      \
            for (int64_t a_ = 0; a_ < (L)->dim; a_++) {                                  \
                int64_t g0_ = (L)->per_tensor ? 0                                        \
                              : (L)->block   ? (o_ * nb_ + a_ / (L)->block) * (L)->inner \
                                             : a_;                                       \
                int64_t step_ = (L)->block && !(L)->per_tensor ? 1 : 0;                  \
                for (int64_t n_ = 0; n_ < (L)->inner; n_++, i++) {                       \
                    int64_t g = g0_ + step_ * n_;                                        \
                    BODY;                                                                \
                }                                                                        \
            }                                                                            \
    } while (0)

/* Min and max of a contiguous run, folded into *mn and *mx (vectorizable). */
static void minmax_run(const float *restrict w, int64_t n, float *mn, float *mx) {
    float a = *mn, b = *mx;
    for (int64_t i = 0; i < n; i++) {
        a = w[i] < a ? w[i] : a;
        b = w[i] > b ? w[i] : b;
    }
    *mn = a;
    *mx = b;
}

/* Per-group min/max: contiguous runs where the layout has them. */
static void group_minmax(const float *w, const ecc_qlayout *L, float *mn, float *mx) {
    if (L->per_tensor) {
        minmax_run(w, ecc_qlayout_numel(L), mn, mx);
    } else if (!L->block) {
        int64_t i = 0;
        for (int64_t o = 0; o < L->outer; o++)
            for (int64_t a = 0; a < L->dim; a++, i += L->inner)
                minmax_run(w + i, L->inner, &mn[a], &mx[a]);
    } else if (L->inner == 1) {
        int64_t nb = (L->dim + L->block - 1) / L->block, i = 0;
        for (int64_t o = 0; o < L->outer; o++)
            for (int64_t b = 0; b < nb; b++) {
                int64_t len = L->dim - b * L->block < L->block ? L->dim - b * L->block : L->block;
                minmax_run(w + i, len, &mn[o * nb + b], &mx[o * nb + b]);
                i += len;
            }
    } else {
        ECC_QLAYOUT_EACH(L, {
            float v = w[i];
            mn[g] = v < mn[g] ? v : mn[g];
            mx[g] = v > mx[g] ? v : mx[g];
        });
    }
}

bool ecc_qlayout_choose(const float *w, const ecc_qlayout *L, const ecc_qformat *f,
                        float *scale, int32_t *zp) {
    int64_t ng = ecc_qlayout_groups(L);
    float *mn = malloc((size_t)(ng + 1) * 2 * sizeof *mn);
    if (!mn) return false;
    float *mx = mn + ng + 1;
    for (int64_t g = 0; g < ng; g++) mn[g] = mx[g] = 0.0f;
    group_minmax(w, L, mn, mx);
    for (int64_t g = 0; g < ng; g++) ecc_qformat_choose(f, mn[g], mx[g], &scale[g], &zp[g]);
    free(mn);
    return true;
}

/* One scale for a contiguous run: the fast path. Same result as ecc_qone:
 * clamping to the integer bounds before rounding equals clamping after, and
 * NaN quantizes like 0. Written without branches so the compiler vectorizes. */
static void quantize_run(const float *restrict w, int64_t n, float s, int32_t zp, int32_t lo,
                         int32_t hi, uint8_t mask, uint8_t *restrict codes) {
    const float magic = 12582912.0f, a = (float)(lo - zp), b = (float)(hi - zp);
    for (int64_t i = 0; i < n; i++) {
        float v = w[i] / s;
        v = v == v ? v : 0.0f;
        v = v < a ? a : v;
        v = v > b ? b : v;
        v = (v + magic) - magic;
        codes[i] = (uint8_t)(((int32_t)v + zp) & mask);
    }
}

void ecc_qlayout_quantize(const float *w, const ecc_qlayout *L, const ecc_qformat *f,
                          const float *scale, const int32_t *zp, uint8_t *codes) {
    int32_t lo, hi;
    ecc_qformat_range(f, &lo, &hi);
    uint8_t mask = f->bits == 4 ? 0x0F : 0xFF;
    if (L->per_tensor) {
        quantize_run(w, ecc_qlayout_numel(L), scale[0], zp[0], lo, hi, mask, codes);
    } else if (!L->block) {
        int64_t i = 0;
        for (int64_t o = 0; o < L->outer; o++)
            for (int64_t a = 0; a < L->dim; a++, i += L->inner)
                quantize_run(w + i, L->inner, scale[a], zp[a], lo, hi, mask, codes + i);
    } else if (L->inner == 1) {
        int64_t nb = (L->dim + L->block - 1) / L->block, i = 0;
        for (int64_t o = 0; o < L->outer; o++)
            for (int64_t b = 0; b < nb; b++) {
                int64_t len = L->dim - b * L->block < L->block ? L->dim - b * L->block : L->block;
                int64_t g = o * nb + b;
                quantize_run(w + i, len, scale[g], zp[g], lo, hi, mask, codes + i);
                i += len;
            }
    } else {
        ECC_QLAYOUT_EACH(L, codes[i] = (uint8_t)(ecc_qone(w[i], scale[g], zp[g], lo, hi) & mask));
    }
}

void ecc_qlayout_dequantize(const uint8_t *codes, const ecc_qlayout *L, const ecc_qformat *f,
                            const float *scale, const int32_t *zp, float *out) {
    ECC_QLAYOUT_EACH(L, out[i] = (float)(ecc_qcode_value(f, codes[i]) - zp[g]) * scale[g]);
}

void ecc_qpack4(const uint8_t *codes, int64_t n, uint8_t *out) {
    int64_t i = 0;
    for (; i + 1 < n; i += 2)
        out[i / 2] = (uint8_t)((codes[i] & 0x0F) | ((codes[i + 1] & 0x0F) << 4));
    if (i < n) out[i / 2] = (uint8_t)(codes[i] & 0x0F);
}

void ecc_qunpack4(const uint8_t *packed, int64_t n, uint8_t *codes) {
    for (int64_t i = 0; i < n; i++)
        codes[i] = (uint8_t)((packed[i / 2] >> (i % 2 ? 4 : 0)) & 0xF);
}

/* ---------------- quantizers ---------------- */

int32_t ecc_quantizer_zero_point(const ecc_quantizer *q, int64_t g) {
    return q->zero_point ? (int32_t)ecc_tensor_get_f64(q->zero_point, g) : 0;
}

ecc_status ecc_quantizer_zero_points(ecc_ctx *ctx, const ecc_quantizer *q, int64_t n,
                                     int32_t **out) {
    *out = malloc((size_t)(n + 1) * sizeof **out);
    if (!*out) return ECC_OOM(ctx);
    for (int64_t g = 0; g < n; g++) (*out)[g] = ecc_quantizer_zero_point(q, g);
    return ECC_OK;
}

int64_t ecc_quantizer_opset(const ecc_quantizer *q) {
    if (q->bits == 4 || q->granularity == ECC_QUANT_BLOCK) return 21;
    if (q->granularity == ECC_QUANT_CHANNEL && q->scale && q->scale->numel > 1) return 13;
    if (q->granularity == ECC_QUANT_CHANNEL && q->bits == 32) return 13;
    return 10;
}

int64_t ecc_quantizer_bytes(const ecc_quantizer *q, int64_t numel) {
    int64_t code_bytes = q->bits == 4 ? (numel + 1) / 2 : numel * (q->bits / 8);
    int64_t scales = q->scale ? (int64_t)q->scale->nbytes : 4;
    int64_t zps = q->zero_point ? (int64_t)q->zero_point->nbytes : 0;
    return code_bytes + scales + zps;
}
