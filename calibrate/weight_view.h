/* weight_view.h — internal to calibrate/: how a run sees annotated values.
 * A weight is read through one view that applies its annotations as
 * lowering will: the pruning mask zeroes removed weights and, when the
 * interpreter simulates quantization, the quantizer rounds to its grid
 * (quantize-dequantize with the quantizer's own scales, the arithmetic of
 * compress/quant_math.h). An activation with a quantizer is rounded the same
 * way as it is produced. Gradients pass straight through each rounding
 * inside its clipping range and are zero outside it and at masked weights
 * (the straight-through estimator). */
#ifndef ECC_WEIGHT_VIEW_H
#define ECC_WEIGHT_VIEW_H

#include "quant_math.h"

typedef struct ecc_wview {
    int64_t numel;
    const uint8_t *keep;       /* mask (one byte per weight), or NULL */
    const ecc_quantizer *q;    /* quantizer with scales, or NULL */
    ecc_qlayout L;
    ecc_qformat f;
    int32_t lo, hi;            /* integer range of f */
    int32_t *zp;               /* per group (owned) */
    uint8_t *codes;            /* numel scratch (owned) */
    const float *scale;        /* per group: the quantizer's, or learned ones */
} ecc_wview;

/* The view of float32 initializer v: its mask when it covers v, and with
 * quantize its quantizer when it has scales. *active is false (and nothing
 * is held) when the view is the stored weight itself. */
ecc_status ecc_wview_open(ecc_ctx *ctx, const ecc_value *v, bool quantize, ecc_wview *w,
                          bool *active);
void ecc_wview_close(ecc_wview *w);
bool ecc_wview_quantizes(const ecc_wview *w);
/* out = stored with the mask applied (out may be stored). */
void ecc_wview_mask(const ecc_wview *w, const float *stored, float *out);
/* out = the view of stored: masked, then quantized (out may be stored). */
void ecc_wview_read(const ecc_wview *w, const float *stored, float *out);
/* grad (d loss / d view) becomes d loss / d stored: zero at masked weights and
 * where stored lies outside the quantizer's clipping range. */
void ecc_wview_grad(const ecc_wview *w, const float *stored, float *grad);
/* Scale groups of a quantizing view. */
int64_t ecc_wview_groups(const ecc_wview *w);
/* LSQ (Esser et al. 2019): out[g] = d loss / d scale g from grad (d loss /
 * d view, before ecc_wview_grad): per weight round(w/s) - w/s inside the
 * clipping range, the clipped code outside, summed per group and scaled by
 * 1 / sqrt(weights per group * largest code). */
void ecc_wview_scale_grad(const ecc_wview *w, const float *stored, const float *grad,
                          float *out);

/* A per-tensor quantizer on an activation that a run can simulate. */
bool ecc_act_quantizable(const ecc_quantizer *q);
/* Quantize-dequantize x[0..n) in place by q with scale s (q's own, or a
 * learned one); with clip (n bits, set here), bit i tells that x[i] lay
 * outside the clipping range; with lsq (n floats), lsq[i] = d out[i] / d s
 * (LSQ: round(x/s) - x/s inside the range, the clipped code outside). */
void ecc_act_fake_quant(const ecc_quantizer *q, float s, float *x, int64_t n, uint8_t *clip,
                        float *lsq);
/* Zero grad[i] wherever clip bit i is set. */
void ecc_act_grad(const uint8_t *clip, float *grad, int64_t n);

#endif
