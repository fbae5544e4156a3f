/* weight_view.c — the view a run reads an annotated value through (mask,
 * quantizer), and the straight-through gradients back through it
 * (weight_view.h). */
#include "weight_view.h"
#include "interp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool mask_covers(const ecc_value *v) {
    const ecc_mask *m = v->mask;
    return m && m->keep && m->keep->numel == v->init->numel;
}

static bool has_scales(const ecc_quantizer *q) {
    return q && q->scale && q->scale->dtype == ECC_DTYPE_FLOAT && q->scale->numel > 0 &&
           (q->bits == 4 || q->bits == 8);
}

bool ecc_wview_quantizes(const ecc_wview *w) { return w->q != NULL; }

static ecc_status open_quantizer(ecc_ctx *ctx, const ecc_value *v, ecc_wview *w) {
    ecc_status st = ECC_OK;
    const ecc_tensor *t = v->init;
    w->q = v->quant;
    w->f = ecc_qformat_of(w->q);
    ecc_qformat_range(&w->f, &w->lo, &w->hi);
    ECC_TRY(ecc_qlayout_of(ctx, w->q, t->rank, t->dims, &w->L));
    int64_t groups = ecc_qlayout_groups(&w->L);
    ECC_FAIL_IF(groups != w->q->scale->numel, ctx, ECC_E_INPUT,
                "the quantizer of '%s' has %lld scales for %lld groups", v->name,
                (long long)w->q->scale->numel, (long long)groups);
    ECC_TRY(ecc_quantizer_zero_points(ctx, w->q, groups, &w->zp));
    w->codes = malloc((size_t)t->numel + 1);
    ECC_FAIL_IF(!w->codes, ctx, ECC_E_INTERNAL, "out of memory");
    w->scale = w->q->scale->data;
fail:
    return st;
}

ecc_status ecc_wview_open(ecc_ctx *ctx, const ecc_value *v, bool quantize, ecc_wview *w,
                          bool *active) {
    ecc_status st = ECC_OK;
    memset(w, 0, sizeof *w);
    *active = false;
    const ecc_tensor *t = v->init;
    if (!t || t->dtype != ECC_DTYPE_FLOAT) return ECC_OK;
    w->numel = t->numel;
    if (mask_covers(v)) w->keep = v->mask->keep->data;
    if (quantize && has_scales(v->quant)) ECC_TRY(open_quantizer(ctx, v, w));
    *active = w->keep || w->q;
fail:
    if (st) ecc_wview_close(w);
    return st;
}

void ecc_wview_close(ecc_wview *w) {
    free(w->zp);
    free(w->codes);
    memset(w, 0, sizeof *w);
}

void ecc_wview_mask(const ecc_wview *w, const float *stored, float *out) {
    if (out != stored) memcpy(out, stored, (size_t)w->numel * sizeof *out);
    for (int64_t i = 0; w->keep && i < w->numel; i++)
        if (!w->keep[i]) out[i] = 0.0f;
}

void ecc_wview_read(const ecc_wview *w, const float *stored, float *out) {
    ecc_wview_mask(w, stored, out);
    if (!w->q) return;
    ecc_qlayout_quantize(out, &w->L, &w->f, w->scale, w->zp, w->codes);
    ecc_qlayout_dequantize(w->codes, &w->L, &w->f, w->scale, w->zp, out);
}

/* Weight i of a quantizing view: its group, stored/scale (v) and the code
 * it rounds to before clamping (c); true when c lies outside the range. */
static bool wview_round(const ecc_wview *w, const float *stored, int64_t i, int64_t *g,
                        float *v, float *c) {
    *g = ecc_qlayout_group(&w->L, i);
    *v = stored[i] / w->scale[*g];
    *c = ecc_qround(*v) + (float)w->zp[*g];
    return *c < (float)w->lo || *c > (float)w->hi;
}

void ecc_wview_grad(const ecc_wview *w, const float *stored, float *grad) {
    for (int64_t i = 0; i < w->numel; i++) {
        int64_t g;
        float v, c;
        if ((w->keep && !w->keep[i]) || (w->q && wview_round(w, stored, i, &g, &v, &c)))
            grad[i] = 0.0f;
    }
}

int64_t ecc_wview_groups(const ecc_wview *w) { return w->q ? ecc_qlayout_groups(&w->L) : 0; }

void ecc_wview_scale_grad(const ecc_wview *w, const float *stored, const float *grad,
                          float *out) {
    int64_t groups = ecc_wview_groups(w);
    memset(out, 0, (size_t)groups * sizeof *out);
    double *sum = calloc((size_t)groups + 1, sizeof *sum);
    if (!sum || !groups) {
        free(sum);
        return;
    }
    for (int64_t i = 0; i < w->numel; i++) {
        if (w->keep && !w->keep[i]) continue;
        int64_t g;
        float v, c;
        bool clipped = wview_round(w, stored, i, &g, &v, &c);
        double d = !clipped ? (double)(c - (float)w->zp[g]) - v
                   : c < (float)w->lo ? w->lo - w->zp[g] : w->hi - w->zp[g];
        sum[g] += (double)grad[i] * d;
    }
    double per = (double)w->numel / (double)groups, k = 1.0 / sqrt(per * (double)w->hi);
    for (int64_t g = 0; g < groups; g++) out[g] = (float)(sum[g] * k);
    free(sum);
}

/* ---------------- activations ---------------- */

bool ecc_act_quantizable(const ecc_quantizer *q) {
    return has_scales(q) && q->granularity == ECC_QUANT_TENSOR && q->scale->numel == 1;
}

void ecc_act_fake_quant(const ecc_quantizer *q, float s, float *x, int64_t n, uint8_t *clip,
                        float *lsq) {
    ecc_qformat f = ecc_qformat_of(q);
    int32_t lo, hi, zp = ecc_quantizer_zero_point(q, 0);
    ecc_qformat_range(&f, &lo, &hi);
    if (clip) memset(clip, 0, (size_t)(n + 7) / 8);
    for (int64_t i = 0; i < n; i++) {
        float v = x[i] / s, r = ecc_qround(v) + (float)zp;
        bool out = r < (float)lo || r > (float)hi;
        if (clip && out) clip[i >> 3] |= (uint8_t)(1u << (i & 7));
        int32_t c = r < (float)lo ? lo : r > (float)hi ? hi : (int32_t)r;
        if (lsq) lsq[i] = out ? (float)(c - zp) : r - (float)zp - v;
        x[i] = (float)(c - zp) * s;
    }
}

void ecc_act_grad(const uint8_t *clip, float *grad, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (clip[i >> 3] & (1u << (i & 7))) grad[i] = 0.0f;
}

const char *ecc_interp_quant_unsupported(const ecc_value *v) {
    const ecc_quantizer *q = v->quant;
    if (!q || (v->init && q->bits == 32)) return NULL;
    if (v->init) return has_scales(q) ? NULL : "a weight quantizer without scales";
    return ecc_act_quantizable(q) ? NULL
                                  : "an activation quantizer without a fixed per-tensor scale "
                                    "(quant:mode=dynamic)";
}
