/* art_quant.h — test helpers for the artifact: attach weight quantizers and
 * magnitude-pruning masks as annotations, the way `quant-weight` and
 * `prune` do, so the .ecc encodings can be exercised and measured without
 * those passes. Header-only (static functions); used by
 * tests/test_artifact.c, the artifact seeds and bench/artifact_decode.c. */
#ifndef ECC_TEST_ART_QUANT_H
#define ECC_TEST_ART_QUANT_H

#include "ir.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The weight layer reading v: reduction axis and output axis of its weight
 * (Gemm honours transB; MatMul B is [K, N]; Conv is [O, I, …]). false when
 * no Gemm/MatMul/Conv reads v as its weight. */
static inline bool aq_weight_axes(const ecc_value *v, int *reduce, int *out_axis) {
    for (uint32_t u = 0; u < v->n_uses; u++) {
        const ecc_node *n = v->uses[u].node;
        if (v->uses[u].slot != 1) continue;
        if (!strcmp(n->op_type, "Gemm")) {
            bool tb = ecc_node_attr_int(n, "transB", 0) != 0;
            *reduce = tb ? 1 : 0;
            *out_axis = tb ? 0 : 1;
            return v->rank == 2 || (v->init && v->init->rank == 2);
        }
        if (!strcmp(n->op_type, "MatMul") && v->init && v->init->rank == 2) {
            *reduce = 0;
            *out_axis = 1;
            return true;
        }
        if (!strcmp(n->op_type, "Conv")) {
            *reduce = 1;
            *out_axis = 0;
            return true;
        }
    }
    return false;
}

static inline float aq_round_f16(float s) { return ecc_f16_to_f32(ecc_f32_to_f16(s)); }

/* Symmetric quantizer (zero point 0, range ±(2^(bits-1) - 1)) for float32
 * weight v: granularity ECC_QUANT_TENSOR / CHANNEL (along the output axis) /
 * BLOCK (block along the reduction axis). Masked-out weights count as 0.
 * f16_scales rounds every scale to a float16-representable value.
 * with_zp attaches an explicit zero point tensor (all zero). */
static inline ecc_status aq_attach(ecc_ctx *ctx, ecc_value *v, int bits, int gran, int block,
                            bool f16_scales, bool with_zp) {
    const ecc_tensor *t = v->init;
    int reduce = 1, oaxis = 0;
    if (!aq_weight_axes(v, &reduce, &oaxis)) {
        reduce = t->rank - 1;
        oaxis = 0;
    }
    int axis = gran == ECC_QUANT_CHANNEL ? oaxis : gran == ECC_QUANT_BLOCK ? reduce : 0;
    int64_t outer = 1, D = t->dims[axis], inner = 1;
    for (int i = 0; i < axis; i++) outer *= t->dims[i];
    for (int i = axis + 1; i < t->rank; i++) inner *= t->dims[i];
    int64_t B = gran == ECC_QUANT_BLOCK ? block : D, nb = (D + B - 1) / B;
    int64_t sdims[8] = {D}, n_s = 1;
    int32_t srank = 0;
    if (gran == ECC_QUANT_CHANNEL) {
        srank = 1;
        n_s = D;
    } else if (gran == ECC_QUANT_BLOCK) {
        srank = t->rank;
        for (int i = 0; i < t->rank; i++) sdims[i] = i == axis ? nb : t->dims[i];
        n_s = outer * nb * inner;
    }
    ecc_tensor *scale = NULL, *zp = NULL;
    ecc_status st = ecc_tensor_create(ctx, ECC_DTYPE_FLOAT, srank, sdims, &scale);
    if (st) return st;
    if (with_zp &&
        (st = ecc_tensor_create(ctx, bits == 8 ? ECC_DTYPE_INT8 : ECC_DTYPE_INT4, srank, sdims, &zp))) {
        ecc_tensor_unref(scale);
        return st;
    }
    float *s = scale->data;
    const float *w = t->data;
    const uint8_t *keep = v->mask && v->mask->keep ? v->mask->keep->data : NULL;
    for (int64_t k = 0; k < n_s; k++) s[k] = 0;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t d = 0; d < D; d++)
            for (int64_t in = 0; in < inner; in++) {
                int64_t i = (o * D + d) * inner + in;
                int64_t k = gran == ECC_QUANT_TENSOR ? 0
                            : gran == ECC_QUANT_CHANNEL ? d
                                                        : (o * nb + d / B) * inner + in;
                float a = keep && !keep[i] ? 0.0f : fabsf(w[i]);
                if (a > s[k]) s[k] = a;
            }
    float qmax = (float)((1 << (bits - 1)) - 1);
    for (int64_t k = 0; k < n_s; k++) {
        s[k] = s[k] > 0 ? s[k] / qmax : 1.0f;
        if (f16_scales) s[k] = aq_round_f16(s[k]);
    }
    ecc_quantizer *q = calloc(1, sizeof *q);
    if (!q) {
        ecc_tensor_unref(scale);
        ecc_tensor_unref(zp);
        return ecc_ctx_error(ctx, ECC_E_INTERNAL, "out of memory");
    }
    q->bits = bits;
    q->is_signed = true;
    q->symmetric = true;
    q->granularity = (uint8_t)gran;
    q->axis = axis;
    q->block_size = gran == ECC_QUANT_BLOCK ? block : 0;
    q->scale = scale;
    q->zero_point = zp;
    q->calib = "minmax";
    ecc_value_set_quantizer(v, q);
    return ECC_OK;
}

/* Magnitude pruning mask keeping the (1 - sparsity) largest |w| of v. */
static inline int aq_cmp_abs(const void *a, const void *b) {
    float x = fabsf(*(const float *)a), y = fabsf(*(const float *)b);
    return x < y ? -1 : x > y;
}

static inline ecc_status aq_prune(ecc_ctx *ctx, ecc_value *v, double sparsity) {
    const ecc_tensor *t = v->init;
    float *sorted = malloc((size_t)t->numel * sizeof *sorted);
    ecc_tensor *keep = NULL;
    if (!sorted) return ecc_ctx_error(ctx, ECC_E_INTERNAL, "out of memory");
    memcpy(sorted, t->data, (size_t)t->numel * sizeof *sorted);
    qsort(sorted, (size_t)t->numel, sizeof *sorted, aq_cmp_abs);
    int64_t cut = (int64_t)(sparsity * (double)t->numel);
    float thr = cut > 0 ? fabsf(sorted[cut - 1]) : -1.0f;
    free(sorted);
    ecc_status st = ecc_tensor_create(ctx, ECC_DTYPE_BOOL, t->rank, t->dims, &keep);
    if (st) return st;
    const float *w = t->data;
    int64_t zeros = 0;
    for (int64_t i = 0; i < t->numel; i++) {
        ((uint8_t *)keep->data)[i] = fabsf(w[i]) > thr;
        zeros += fabsf(w[i]) <= thr;
    }
    ecc_mask *m = calloc(1, sizeof *m);
    if (!m) {
        ecc_tensor_unref(keep);
        return ecc_ctx_error(ctx, ECC_E_INTERNAL, "out of memory");
    }
    m->pattern = ECC_MASK_UNSTRUCTURED;
    m->keep = keep;
    m->sparsity = (double)zeros / (double)t->numel;
    m->method = "magnitude";
    ecc_value_set_mask(v, m);
    return ECC_OK;
}

#endif
