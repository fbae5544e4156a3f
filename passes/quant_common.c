/* quant_common.c — shared by the quantization passes (see quant_common.h):
 * weight layers with their axes and biases, exclude globs, quantizer
 * annotations, masked weight values, fake quantization, SQNR, per-tensor report lines, the
 * calibration environment and the opset check made before any work. */
#include "quant_common.h"
#include "fold_bn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------- weight layers ---------------- */

/* The bias of a layer: Conv B, Gemm C of [rows] (beta 1), or the constant
 * vector a MatMul's only consumer (an Add) adds. */
static void find_bias(qc_layer *q, int64_t rows) {
    ecc_node *n = q->node;
    ecc_value *b = n->n_inputs > 2 ? n->inputs[2] : NULL;
    const ecc_tensor *t = b ? wl_const(b) : NULL;
    if (wl_is_onnx(n, "Conv") || wl_is_onnx(n, "Gemm")) {
        bool beta1 = !wl_is_onnx(n, "Gemm") || ecc_node_attr_float(n, "beta", 1.0f) == 1.0f;
        if (t && t->dtype == ECC_DTYPE_FLOAT && t->numel == rows && t->rank == 1 && beta1) {
            q->bias = b;
            q->bias_node = n;
        }
        return;
    }
    ecc_value *y = n->outputs[0];
    if (!y || y->n_uses != 1 || (y->flags & ECC_VALUE_OUTPUT)) return;
    ecc_node *add = y->uses[0].node;
    if (!wl_is_onnx(add, "Add") || add->n_inputs != 2) return;
    ecc_value *other = add->inputs[1 - y->uses[0].slot];
    t = wl_const(other);
    if (t && t->dtype == ECC_DTYPE_FLOAT && t->rank == 1 && t->numel == rows) {
        q->bias = other;
        q->bias_node = add;
    }
}

static const char *layer_problem(const wl_layer *L) {
    if (L->x_slot != 0) return "the constant is the first operand";
    if (L->x_trans) return "transposed activation (transA=1)";
    if (L->w->flags & ECC_VALUE_INPUT) return "weight is also a graph input";
    const ecc_value *x = L->node->inputs[0];
    if (!x || wl_const(x)) return "its input is a constant";
    return NULL;
}

ecc_status qc_layers_find(ecc_ctx *ctx, ecc_graph *g, const char *pass, const char *exclude,
                          qc_layers *out) {
    ecc_status st = ECC_OK;
    memset(out, 0, sizeof *out);
    ECC_TRY(wl_find(ctx, g, &out->pl));
    out->n = out->pl.n;
    out->q = calloc(out->n + 1, sizeof *out->q);
    ECC_FAIL_IF(!out->q, ctx, ECC_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < out->n; i++) {
        wl_layer *L = &out->pl.items[i];
        qc_layer *q = &out->q[i];
        const ecc_tensor *wt = wl_const(L->w);
        q->node = L->node;
        q->w = L->w;
        q->x = L->node->inputs[L->x_slot];
        q->name = L->name;
        q->ch_axis = wt->rank == 2 ? 1 - L->axis : 0;
        q->red_axis = L->axis;
        q->flat = wt->rank > 2;
        q->why = layer_problem(L);
        q->skip = q->why != NULL;
        if (!q->skip) find_bias(q, L->rows);
        q->bias_final = q->bias && q->bias->quant;
        q->w_final = q->w->quant != NULL;
    }
    ECC_TRY(wl_check_globs(ctx, &out->pl, "exclude", exclude));
    for (size_t i = 0; i < out->n; i++) {
        qc_layer *q = &out->q[i];
        if (!q->skip && exclude && wl_glob_any(exclude, q->name, q->w->name)) {
            q->skip = true;
            q->why = "matched exclude=";
        }
        if (q->skip) {
            ecc_log(ctx, 1, "  %s: %s '%s' stays float32: %s", pass, q->node->op_type, q->name,
                    q->why);
            continue;
        }
        ECC_TRY(wl_check_finite(ctx, q->w, "weight", q->name));
        if (q->bias) ECC_TRY(wl_check_finite(ctx, q->bias, "bias", q->name));
        ECC_TRY(wl_materialize(ctx, q->w));
        if (q->bias) ECC_TRY(wl_materialize(ctx, q->bias));
    }
fail:
    return st;
}

void qc_layers_free(qc_layers *ls) {
    if (!ls) return;
    wl_layers_free(&ls->pl);
    free(ls->q);
    memset(ls, 0, sizeof *ls);
}

size_t qc_layers_selected(const qc_layers *ls) {
    size_t n = 0;
    for (size_t i = 0; i < ls->n; i++) n += !ls->q[i].skip;
    return n;
}

/* ---------------- annotations ---------------- */

static ecc_status new_quantizer(ecc_ctx *ctx, const ecc_qformat *f, int gran, int32_t axis,
                                int64_t block, const char *calib, ecc_quantizer **out) {
    ecc_quantizer *q = calloc(1, sizeof *q);
    if (!q) return ECC_OOM(ctx);
    q->bits = f->bits;
    q->is_signed = f->is_signed;
    q->symmetric = f->symmetric;
    q->granularity = (uint8_t)gran;
    q->axis = axis;
    q->block_size = (int32_t)block;
    q->calib = calib;
    *out = q;
    return ECC_OK;
}

ecc_status qc_weight_quantizer_from(ecc_ctx *ctx, const ecc_tensor *w, const ecc_qformat *f,
                                    int gran, int32_t axis, int64_t block, bool flat,
                                    const float *scale, const int32_t *zp, const char *calib,
                                    ecc_quantizer **out) {
    ecc_status st = ECC_OK;
    ecc_quantizer *q = NULL;
    ecc_qlayout L;
    int64_t sd[8];
    *out = NULL;
    ECC_FAIL_IF(w->rank > 8, ctx, ECC_E_INPUT, "weight '%s' has rank %d (at most 8)",
                w->name ? w->name : "", (int)w->rank);
    ECC_TRY(ecc_qlayout_make(ctx, w->rank, w->dims, gran, axis, block, flat, &L));
    ECC_TRY(new_quantizer(ctx, f, gran, axis, block, calib, &q));
    int32_t srank = ecc_qlayout_scale_dims(&L, w->rank, w->dims, axis, flat, sd);
    int64_t ng = ecc_qlayout_groups(&L);
    ECC_TRY(ecc_tensor_create(ctx, ECC_DTYPE_FLOAT, srank, sd, &q->scale));
    memcpy(q->scale->data, scale, (size_t)ng * sizeof *scale);
    bool any_zp = !f->is_signed;
    for (int64_t g = 0; g < ng && !any_zp; g++) any_zp = zp[g] != 0;
    if (any_zp) {
        ECC_TRY(ecc_tensor_create(ctx, ecc_qformat_dtype(f), srank, sd, &q->zero_point));
        for (int64_t g = 0; g < ng; g++) ecc_tensor_set_f64(q->zero_point, g, zp[g]);
    }
    *out = q;
    q = NULL;
fail:
    ecc_quantizer_free(q);
    return st;
}

ecc_status qc_weight_masked(ecc_ctx *ctx, const ecc_value *w, ecc_tensor **out) {
    const ecc_tensor *t = w->init;
    const ecc_mask *m = w->mask;
    *out = NULL;
    if (!m || !m->keep || t->dtype != ECC_DTYPE_FLOAT || m->keep->numel != t->numel) {
        *out = ecc_tensor_ref(w->init);
        return ECC_OK;
    }
    ecc_status st = ecc_tensor_create(ctx, ECC_DTYPE_FLOAT, t->rank, t->dims, out);
    if (st) return st;
    float *c = (*out)->data;
    memcpy(c, t->data, (size_t)t->numel * sizeof *c);
    for (int64_t i = 0; i < t->numel; i++)
        if (!((const uint8_t *)m->keep->data)[i]) c[i] = 0.0f;
    return ECC_OK;
}

ecc_status qc_weight_quantizer(ecc_ctx *ctx, const ecc_value *w, const ecc_qformat *f,
                               int gran, int32_t axis, int64_t block, bool flat,
                               const char *calib, ecc_quantizer **out) {
    ecc_status st = ECC_OK;
    ecc_qlayout L;
    float *scale = NULL;
    int32_t *zp = NULL;
    ecc_tensor *vals = NULL;
    const ecc_tensor *t = w->init;
    *out = NULL;
    ECC_FAIL_IF(!t || t->dtype != ECC_DTYPE_FLOAT, ctx, ECC_E_INPUT,
                "weight '%s' is not a float32 initializer", w->name);
    ECC_TRY(ecc_qlayout_make(ctx, t->rank, t->dims, gran, axis, block, flat, &L));
    int64_t ng = ecc_qlayout_groups(&L);
    scale = malloc((size_t)(ng + 1) * sizeof *scale);
    zp = malloc((size_t)(ng + 1) * sizeof *zp);
    ECC_FAIL_IF(!scale || !zp, ctx, ECC_E_INTERNAL, "out of memory");
    ECC_TRY(qc_weight_masked(ctx, w, &vals));
    ECC_FAIL_IF(!ecc_qlayout_choose(vals->data, &L, f, scale, zp), ctx, ECC_E_INTERNAL,
                "out of memory");
    ECC_TRY(qc_weight_quantizer_from(ctx, t, f, gran, axis, block, flat, scale, zp, calib, out));
fail:
    free(scale);
    free(zp);
    ecc_tensor_unref(vals);
    return st;
}

ecc_status qc_act_quantizer(ecc_ctx *ctx, const ecc_qformat *f, double lo, double hi,
                            const char *calib, ecc_quantizer **out) {
    ecc_status st = ECC_OK;
    ecc_quantizer *q = NULL;
    float s;
    int32_t zp;
    *out = NULL;
    ecc_qformat_choose(f, lo, hi, &s, &zp);
    ECC_TRY(new_quantizer(ctx, f, ECC_QUANT_TENSOR, 0, 0, calib, &q));
    q->range_min = lo;
    q->range_max = hi;
    ECC_TRY(ecc_tensor_create(ctx, ECC_DTYPE_FLOAT, 0, NULL, &q->scale));
    ((float *)q->scale->data)[0] = s;
    ECC_TRY(ecc_tensor_create(ctx, ecc_qformat_dtype(f), 0, NULL, &q->zero_point));
    ecc_tensor_set_f64(q->zero_point, 0, zp);
    *out = q;
    q = NULL;
fail:
    ecc_quantizer_free(q);
    return st;
}

ecc_status qc_quantizer_dup(ecc_ctx *ctx, const ecc_quantizer *q, ecc_quantizer **out) {
    ecc_quantizer *d = malloc(sizeof *d);
    if (!d) return ECC_OOM(ctx);
    *d = *q;
    if (d->scale) ecc_tensor_ref(d->scale);
    if (d->zero_point) ecc_tensor_ref(d->zero_point);
    *out = d;
    return ECC_OK;
}

ecc_status qc_dynamic_quantizer(ecc_ctx *ctx, ecc_quantizer **out) {
    ecc_qformat f = {8, false, false};
    return new_quantizer(ctx, &f, ECC_QUANT_TENSOR, 0, 0, "dynamic", out);
}

ecc_status qc_bias_quantizer(ecc_ctx *ctx, ecc_quantizer **out) {
    ecc_qformat f = {32, true, true};
    return new_quantizer(ctx, &f, ECC_QUANT_CHANNEL, 0, 0, "bias", out);
}

ecc_status qc_fake_quant_weight(ecc_ctx *ctx, const ecc_quantizer *q, const ecc_tensor *w,
                                float *out) {
    ecc_status st = ECC_OK;
    ecc_qlayout L;
    int32_t *zp = NULL;
    uint8_t *codes = NULL;
    ecc_qformat f = ecc_qformat_of(q);
    ECC_FAIL_IF(!q->scale || w->dtype != ECC_DTYPE_FLOAT, ctx, ECC_E_INTERNAL,
                "fake quantization of '%s' needs a float32 tensor and a scale",
                w->name ? w->name : "");
    ECC_TRY(ecc_qlayout_of(ctx, q, w->rank, w->dims, &L));
    int64_t ng = ecc_qlayout_groups(&L);
    ECC_FAIL_IF(ng != q->scale->numel, ctx, ECC_E_INTERNAL,
                "quantizer of '%s' has %lld scales for %lld groups", w->name ? w->name : "",
                (long long)q->scale->numel, (long long)ng);
    ECC_TRY(ecc_quantizer_zero_points(ctx, q, ng, &zp));
    codes = malloc((size_t)w->numel + 1);
    ECC_FAIL_IF(!codes, ctx, ECC_E_INTERNAL, "out of memory");
    ecc_qlayout_quantize(w->data, &L, &f, q->scale->data, zp, codes);
    ecc_qlayout_dequantize(codes, &L, &f, q->scale->data, zp, out);
fail:
    free(zp);
    free(codes);
    return st;
}

/* ---------------- measures and reporting ---------------- */

double qc_sqnr_db(const float *ref, const float *x, int64_t n) {
    double sig = 0, noise = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)ref[i] - (double)x[i];
        sig += (double)ref[i] * ref[i];
        noise += d * d;
    }
    if (noise == 0) return INFINITY;
    if (sig == 0) return -INFINITY;
    return 10.0 * log10(sig / noise);
}

double qc_db_stat(double db) { return db > 999.0 ? 999.0 : db >= -999.0 ? db : -999.0; }

ecc_status qc_save_values(ecc_ctx *ctx, ecc_value *v, qc_saved *saved, size_t *n) {
    ecc_status st = ECC_OK;
    ECC_TRY(ecc_tensor_make_unique(ctx, &v->init));
    float *orig = malloc((size_t)v->init->numel * sizeof *orig + 1);
    ECC_FAIL_IF(!orig, ctx, ECC_E_INTERNAL, "out of memory");
    memcpy(orig, v->init->data, (size_t)v->init->numel * sizeof *orig);
    saved[(*n)++] = (qc_saved){v, orig};
fail:
    return st;
}

void qc_saved_restore(qc_saved *saved, size_t n) {
    for (size_t k = n; k-- > 0;) {
        memcpy(saved[k].v->init->data, saved[k].orig,
               (size_t)saved[k].v->init->numel * sizeof(float));
        free(saved[k].orig);
    }
}

void qc_fidelity(const calib_out *ref, const calib_out *out, double *sqnr_db, double *agree) {
    int64_t rows = out->rows < ref->rows ? out->rows : ref->rows, same = 0;
    *sqnr_db = *agree = NAN;
    if (!ref->y || !out->y || ref->cols != out->cols || rows <= 0) return;
    *sqnr_db = qc_sqnr_db(ref->y, out->y, rows * ref->cols);
    for (int64_t r = 0; r < rows; r++)
        same += ecc_argmax_f32(ref->y + r * ref->cols, ref->cols) ==
                ecc_argmax_f32(out->y + r * ref->cols, ref->cols);
    *agree = (double)same / (double)rows;
}

ecc_status qc_check_ref(ecc_ctx *ctx, const calib_out *ref) {
    if (!ref->y)
        return ecc_ctx_error(ctx, ECC_E_INPUT,
                             "the model's first output is not float32 [N, …]: fidelity cannot "
                             "be measured");
    int64_t i;
    if (!ecc_nonfinite_count(ref->y, ref->rows * ref->cols, &i)) return ECC_OK;
    return ecc_ctx_error(ctx, ECC_E_INPUT,
                         "the float model's first output is %s on calibration sample %lld: the "
                         "data overflows the model (is it scaled as the model expects?), so "
                         "ranges and fidelity measured on it mean nothing",
                         isnan(ref->y[i]) ? "NaN" : "infinite", (long long)(i / ref->cols));
}

void qc_report_fidelity(const ecc_host_api *host, ecc_pass_run *run, const char *pass,
                        const char *subject, const char *against, int64_t rows, double sqnr,
                        double agree) {
    host->stat(run, "calib.output_sqnr_db", qc_db_stat(sqnr));
    host->stat(run, "calib.top1_agreement", agree);
    ecc_log(run->ctx, 0, "  %s: on %lld calibration samples %s first output has SQNR %.1f dB "
            "and top-1 agreement %.4f with %s", pass, (long long)rows, subject, sqnr, agree,
            against);
}

/* The statistic "<prefix><name>.<what>". */
static void stat_key(const ecc_host_api *host, ecc_pass_run *run, const char *prefix,
                     const char *name, const char *what, double v) {
    char key[700];
    snprintf(key, sizeof key, "%s%s.%s", prefix, name, what);
    host->stat(run, key, v);
}

ecc_status qc_report_weight(const ecc_host_api *host, ecc_pass_run *run, const ecc_value *w,
                            const ecc_tensor *t, qc_totals *tot) {
    ecc_status st = ECC_OK;
    const ecc_quantizer *q = w->quant;
    float *fq = malloc((size_t)t->numel * sizeof *fq + 1);
    ECC_FAIL_IF(!fq, run->ctx, ECC_E_INTERNAL, "out of memory");
    ECC_TRY(qc_fake_quant_weight(run->ctx, q, t, fq));
    double sqnr = qc_sqnr_db(t->data, fq, t->numel);
    const float *s = q->scale->data;
    double smin = INFINITY, smax = 0;
    for (int64_t i = 0; i < q->scale->numel; i++) {
        smin = s[i] < smin ? s[i] : smin;
        smax = s[i] > smax ? s[i] : smax;
    }
    int64_t before = (int64_t)t->nbytes, after = ecc_quantizer_bytes(q, t->numel);
    double block = q->granularity == ECC_QUANT_BLOCK     ? q->block_size
                   : q->granularity == ECC_QUANT_CHANNEL ? 0
                                                         : -1;
    stat_key(host, run, "tensor.", w->name, "bits", q->bits);
    stat_key(host, run, "tensor.", w->name, "symmetric", q->symmetric);
    stat_key(host, run, "tensor.", w->name, "block", block);
    stat_key(host, run, "tensor.", w->name, "scale_min", smin);
    stat_key(host, run, "tensor.", w->name, "scale_max", smax);
    stat_key(host, run, "tensor.", w->name, "sqnr_db", qc_db_stat(sqnr));
    stat_key(host, run, "tensor.", w->name, "bytes_before", (double)before);
    stat_key(host, run, "tensor.", w->name, "bytes_after", (double)after);
    ecc_log(run->ctx, 1, "  %-40s %s%d %-5s %-9s scale %.3g..%.3g  SQNR %5.1f dB  %lld -> %lld B",
            w->name, q->is_signed ? "int" : "uint", q->bits, q->symmetric ? "sym" : "asym",
            q->granularity == ECC_QUANT_BLOCK     ? "block"
            : q->granularity == ECC_QUANT_CHANNEL ? "channel"
                                                  : "tensor",
            smin, smax, sqnr, (long long)before, (long long)after);
    tot->tensors++;
    tot->bytes_before += before;
    tot->bytes_after += after;
    if (tot->tensors == 1 || sqnr < tot->sqnr_min) tot->sqnr_min = sqnr;
fail:
    free(fq);
    return st;
}

void qc_report_totals(const ecc_host_api *host, ecc_pass_run *run, const char *what,
                      const qc_totals *tot) {
    stat_key(host, run, "", what, "quantized", (double)tot->tensors);
    stat_key(host, run, "", what, "bytes_before", (double)tot->bytes_before);
    stat_key(host, run, "", what, "bytes_after", (double)tot->bytes_after);
    stat_key(host, run, "", what, "ratio",
             tot->bytes_before ? (double)tot->bytes_after / (double)tot->bytes_before : 0);
    stat_key(host, run, "", what, "sqnr_min_db", qc_db_stat(tot->sqnr_min));
}

ecc_status qc_check_opset(ecc_ctx *ctx, const char *pass, ecc_model *m, int64_t need,
                          int64_t max_opset, const char *what) {
    int64_t have = ecc_model_opset(m, "");
    if (have >= need) return ECC_OK;
    if (need > max_opset)
        return ecc_ctx_error(ctx, ECC_E_USAGE,
                             "%s: %s needs ai.onnx opset %lld but max_opset=%lld (the model "
                             "has %lld); raise max_opset or ask for what opset %lld expresses",
                             pass, what, (long long)need, (long long)max_opset, (long long)have,
                             (long long)(have > max_opset ? have : max_opset));
    char why[ECC_MSG_MAX];
    ecc_status st = ecc_model_upgrade_opset(ctx, m, need, true);
    if (st == ECC_OK) return ECC_OK;
    snprintf(why, sizeof why, "%s", ctx->message);
    return ecc_ctx_error(ctx, st, "%s: %s needs ai.onnx opset %lld (the model has %lld): %s",
                         pass, what, (long long)need, (long long)have, why);
}

ecc_status qc_fold_bn_first(const ecc_host_api *host, ecc_pass_run *run, bool fold) {
    size_t folded = 0;
    if (!fold) return ECC_OK;
    ecc_status st = ecc_fold_bn_model(host, run, &folded);
    if (st == ECC_OK && folded)
        host->log(run, "folded %zu BatchNormalization into the layers before them first "
                  "(fold_bn=false keeps them)", folded);
    return st;
}
