/* quant_ptq.c — the `quant` pass: post-training INT8 quantization.
 *
 * First (fold_bn=true, the default) inference BatchNormalization is folded
 * into the Conv/Gemm/MatMul before it, as the fold-bn pass does.
 *
 * mode=static (W8A8): weights symmetric INT8 per output channel (or per
 * tensor), activations per tensor — asymmetric UINT8 or symmetric INT8 — with
 * ranges calibrated on --calib data by a streaming observer (minmax,
 * percentile, entropy, mse; calibrate/observers.h). Which tensors get a
 * quantizer follows ONNX Runtime's QDQ layout: the activation inputs and the
 * output of each Conv / Gemm / MatMul ("units"; MatMuls of two activations
 * too), a following Relu/Clip absorbed into the output range (exact: the
 * range starts at the clip), graph outputs left float; an input reached
 * through Flatten/Reshape/Transpose/MaxPool/… shares the range of the tensor
 * the chain starts from, and a Concat's inputs share the Concat output's
 * (equal scales). Conv/Gemm biases are marked for int32 (s_x·s_w) lowering.
 *
 * mode=dynamic: INT8 weights; each unit's input is quantized at run time
 * (lowered to DynamicQuantizeLinear + MatMulInteger/ConvInteger). No data
 * needed.
 *
 * Accuracy tools: bias_correction (b -= (W_q - W)·E[x], E[x] per input
 * channel from the calibration data; on by default in static mode, where
 * the data is there anyway: it agreed best with the float model on held-out
 * images, bench/quant_val.sh); sensitivity (each unit quantized alone,
 * SQNR of the model output and top-1 agreement with the float model on the
 * calibration data); fallback=auto keeps the most sensitive units in float
 * until the quantized model agrees with the float model on at least
 * 100 - max_drop percent of the calibration samples (so its accuracy drop on
 * them is at most max_drop points); exclude= globs. Measurements run the
 * interpreter with weights fake-quantized in place and activations
 * fake-quantized as they are produced (the arithmetic of quant_math.h, the
 * lowering's). Pruning masks of earlier passes are honoured without touching
 * the weights: the interpreter runs masked copies, and weight scales, bias
 * correction and weight SQNR use the masked values (qc_weight_masked).
 * A weight an earlier pass quantized (quant-weight first: W4A8, or GPTQ
 * weights under static activations) keeps its quantizer: measurements
 * fake-quantize it with that one, its bias is corrected for it and stored
 * in int32 unless its scales are blocked. Everything stays an annotation
 * until lowering. */
#include "op_traits.h"
#include "quant_common.h"
#include "../calibrate/observers.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PASS "quant"

static const ecc_opt_desc qp_opts[] = {
    ECC_OPT(ECC_OPT_ENUM, "mode",
        "static: activation ranges calibrated on --calib data; dynamic: activations "
        "quantized at run time (no data needed; its Conv layers become ConvInteger, which "
        "ONNX Runtime runs slower than float)", "static", 0, 0, "static|dynamic"),
    ECC_OPT(ECC_OPT_ENUM, "bits", "weight and activation bits", "8", 0, 0, "8"),
    ECC_OPT(ECC_OPT_ENUM, "activations",
        "static activation format: uint8 asymmetric or int8 symmetric", "uint8", 0, 0,
        "uint8|int8"),
    ECC_OPT(ECC_OPT_BOOL, "per_channel", "one weight scale per output channel (else per tensor)",
        "true", 0, 0, NULL),
    ECC_OPT(ECC_OPT_ENUM, "method", "calibration: range of each activation from its observer",
        "minmax", 0, 0, "minmax|percentile|entropy|mse"),
    ECC_OPT(ECC_OPT_FLOAT, "percentile", "method=percentile: percentile kept", "99.99", 50.001,
        100, NULL),
    ECC_OPT(ECC_OPT_BOOL, "act_matmul", "also quantize MatMuls of two activations (attention)",
        "true", 0, 0, NULL),
    ECC_OPT(ECC_OPT_BOOL, "bias_correction",
        "shift biases by the mean output error of the quantized weights (needs --calib). "
        "Default: true in mode=static (chosen on held-out data, bench/quant_val.sh), false "
        "in mode=dynamic", NULL, 0, 0, NULL),
    ECC_OPT(ECC_OPT_BOOL, "sensitivity",
        "measure each unit quantized alone (SQNR of the output, top-1 agreement) and report "
        "it (needs --calib)", "false", 0, 0, NULL),
    ECC_OPT(ECC_OPT_ENUM, "fallback",
        "auto: keep the most sensitive units in float until max_drop holds (needs --calib)",
        "none", 0, 0, "none|auto"),
    ECC_OPT(ECC_OPT_FLOAT, "max_drop",
        "fallback=auto: allowed top-1 disagreement with the float model on the calibration "
        "data, in percentage points", "0.5", 0, 100, NULL),
    ECC_OPT(ECC_OPT_STRING, "exclude",
        "globs over node or weight names, '|' between globs: keep these in float", NULL, 0, 0,
        NULL),
    ECC_OPT(ECC_OPT_INT, "max_opset",
        "highest ai.onnx opset the output may use (per-channel weights need 13, dynamic 11)",
        "21", 10, 21, NULL),
    QC_FOLD_BN_OPT,
};

typedef struct qp_config {
    bool dynamic, per_channel, act_matmul, bias_correction, sensitivity, fallback, fold_bn;
    ecc_qformat act, wfmt;
    int method;
    double percentile, max_drop;
    const char *exclude;
    int64_t max_opset;
} qp_config;

static ecc_status qp_config_read(const ecc_host_api *host, ecc_pass_run *run, qp_config *c) {
    const char *mode = host->opt_string(run, "mode"), *act = host->opt_string(run, "activations");
    const char *method = host->opt_string(run, "method"), *fb = host->opt_string(run, "fallback");
    memset(c, 0, sizeof *c);
    c->dynamic = mode && strcmp(mode, "dynamic") == 0;
    bool int8 = act && strcmp(act, "int8") == 0;
    c->act = (ecc_qformat){8, int8, int8};
    c->wfmt = (ecc_qformat){8, true, true};
    c->per_channel = host->opt_bool(run, "per_channel");
    c->method = ecc_obs_method_find(method ? method : "minmax");
    c->percentile = host->opt_float(run, "percentile");
    c->act_matmul = host->opt_bool(run, "act_matmul");
    c->bias_correction = ecc_pass_run_opt_given(run, "bias_correction")
                             ? host->opt_bool(run, "bias_correction") : !c->dynamic;
    c->fallback = fb && strcmp(fb, "auto") == 0;
    c->sensitivity = host->opt_bool(run, "sensitivity") || c->fallback;
    c->max_drop = host->opt_float(run, "max_drop");
    c->exclude = host->opt_string(run, "exclude");
    c->max_opset = host->opt_int(run, "max_opset");
    c->fold_bn = host->opt_bool(run, "fold_bn");
    if (c->method < 0)
        return ecc_ctx_error(run->ctx, ECC_E_USAGE, PASS ": unknown method '%s' (allowed: %s)",
                             method, ecc_obs_method_choices());
    if (c->dynamic && c->sensitivity)
        return ecc_ctx_error(run->ctx, ECC_E_USAGE,
                             PASS ": %s applies to mode=static only",
                             c->fallback ? "fallback=auto" : "sensitivity");
    return ECC_OK;
}

static int64_t qp_opset(const qp_config *c) {
    if (c->per_channel) return 13;
    return c->dynamic ? 11 : 10;
}

static bool needs_data(const qp_config *c) {
    return !c->dynamic || c->bias_correction || c->sensitivity;
}

/* Checked by the pipeline before any pass runs. */
static int qp_check(const ecc_host_api *host, ecc_pass_run *run) {
    qp_config c;
    if (qp_config_read(host, run, &c)) return ECC_PLUGIN_E_USAGE;
    if (needs_data(&c) && !calib_env_path(run))
        return host->error(run, ECC_PLUGIN_E_USAGE,
                           PASS ": %s needs calibration data: give it with --calib PATH%s",
                           !c.dynamic ? "mode=static" : c.fallback ? "fallback=auto"
                           : c.sensitivity ? "sensitivity" : "bias_correction",
                           !c.dynamic ? " (or use mode=dynamic)" : "");
    if (qp_opset(&c) > c.max_opset)
        return host->error(run, ECC_PLUGIN_E_USAGE,
                           PASS ": per-channel weights need opset 13, above max_opset=%lld; "
                                "allowed with max_opset < 13: per_channel=false",
                           (long long)c.max_opset);
    return ECC_PLUGIN_OK;
}

/* ---------------- units and the activation plan ---------------- */

/* One quantized compute node: a weight layer or a MatMul of two activations. */
typedef struct qp_unit {
    ecc_node *node;
    int layer;               /* index into qc_layers, -1 for activation MatMuls */
    const char *name;
    bool candidate;          /* selected (not excluded / unsupported) */
    bool active;             /* quantized in the current plan */
    double sqnr, agree;      /* alone: output SQNR (dB), top-1 agreement */
} qp_unit;

typedef struct qp {
    ecc_ctx *ctx;
    ecc_pass_run *run;
    const ecc_host_api *host;
    qp_config c;
    ecc_model *m;
    ecc_graph *g;
    qc_layers ls;
    qp_unit *units;
    size_t n_units;
    uint32_t n_ids;          /* value ids of g are < n_ids */
    ecc_value **by_id;
    int32_t *root;           /* per value id: id whose range it uses, -1 = not quantized */
    ecc_observer **obs;      /* per value id (natural roots of the full plan), or NULL */
    ecc_quantizer **aq;      /* per value id: calibrated quantizer of roots */
    calib_data *data;
    calib_out ref;           /* float model's first output on the data */
    double **chan_sum;       /* per layer: Σ x per input channel (bias correction) */
    int64_t *chan_n;
    double *act_sig, *act_noise; /* per value id: Σ x², Σ (x - q(x))² of the last simulation */
} qp;

static bool is_float_act(const ecc_value *v) {
    return v && !wl_const(v) && (v->dtype == 0 || v->dtype == ECC_DTYPE_FLOAT) &&
           !(v->flags & ECC_VALUE_OUTER);
}

/* Ops whose output holds only values of their input (same grid: SAME_GRID
 * in ops.def). */
static bool is_passthrough(const ecc_node *n) {
    return ecc_node_op_has(n, ECC_OPF_SAME_GRID) && n->n_outputs >= 1 && n->n_inputs >= 1;
}

/* The tensor whose range v shares: up through passthrough ops. */
static ecc_value *natural_root(ecc_value *v) {
    for (int hops = 0; hops < 64; hops++) {
        ecc_node *p = v->producer;
        if (!p || !is_passthrough(p) || p->outputs[0] != v || !is_float_act(p->inputs[0]))
            return v;
        if (wl_is_onnx(p, "MaxPool") && p->n_outputs > 1 && p->outputs[1]) return v;
        v = p->inputs[0];
    }
    return v;
}

/* A Relu (or constant Clip) that is the only reader of y: its output. */
static ecc_value *absorb(ecc_value *y) {
    if (!y || y->n_uses != 1 || (y->flags & ECC_VALUE_OUTPUT)) return y;
    ecc_node *n = y->uses[0].node;
    if (y->uses[0].slot != 0 || !n->outputs[0]) return y;
    if (wl_is_onnx(n, "Relu")) return n->outputs[0];
    if (wl_is_onnx(n, "Clip")) {
        for (uint32_t i = 1; i < n->n_inputs; i++)
            if (n->inputs[i] && !wl_const(n->inputs[i])) return y;
        return n->outputs[0];
    }
    return y;
}

static void mark(qp *p, ecc_value *v) {
    if (!is_float_act(v) || (v->flags & ECC_VALUE_OUTPUT) || v->graph != p->g) return;
    ecc_value *r = natural_root(v);
    if (r->flags & ECC_VALUE_OUTPUT) return;
    p->root[v->id] = (int32_t)r->id;
    p->root[r->id] = (int32_t)r->id;
}

/* Concat outputs impose their range on their inputs (equal scales). */
static void tie_concats(qp *p) {
    for (size_t i = 0; i < p->g->nodes.n; i++) {
        ecc_node *n = p->g->nodes.items[i];
        if (!wl_is_onnx(n, "Concat") || !n->outputs[0]) continue;
        int32_t r = p->root[n->outputs[0]->id];
        if (r < 0) continue;
        for (uint32_t k = 0; k < n->n_inputs; k++)
            if (is_float_act(n->inputs[k]) && n->inputs[k]->graph == p->g)
                p->root[n->inputs[k]->id] = r;
    }
}

static void unit_marks(qp *p, const qp_unit *u) {
    ecc_node *n = u->node;
    if (u->layer >= 0) mark(p, p->ls.q[u->layer].x);
    else for (uint32_t k = 0; k < 2; k++) mark(p, n->inputs[k]);
    if (!p->c.dynamic) mark(p, absorb(n->outputs[0]));
}

/* root[] for the units with active set. */
static void plan(qp *p) {
    for (uint32_t i = 0; i < p->n_ids; i++) p->root[i] = -1;
    for (size_t u = 0; u < p->n_units; u++)
        if (p->units[u].active) unit_marks(p, &p->units[u]);
    tie_concats(p);
}

static ecc_status add_unit(qp *p, ecc_node *n, int layer, const char *name, bool candidate) {
    qp_unit *u = realloc(p->units, (p->n_units + 1) * sizeof *u);
    if (!u) return ECC_OOM(p->ctx);
    p->units = u;
    p->units[p->n_units++] = (qp_unit){n, layer, name, candidate, candidate, NAN, NAN};
    return ECC_OK;
}

/* Dynamic mode rewrites a layer into ConvInteger/MatMulInteger: a weight an
 * earlier pass quantized must be 8-bit per tensor or per channel. */
static bool dyn_supported(const qp *p, const qc_layer *q) {
    if (!p->c.dynamic) return true;
    if (q->w_final && (q->w->quant->bits != 8 || q->w->quant->granularity == ECC_QUANT_BLOCK))
        return false;
    if (wl_is_onnx(q->node, "Conv")) return true;
    return wl_const(q->w)->rank == 2;
}

/* MatMuls of two activations (not weight layers). */
static ecc_status find_act_matmuls(qp *p) {
    if (p->c.dynamic || !p->c.act_matmul) return ECC_OK;
    for (size_t i = 0; i < p->g->nodes.n; i++) {
        ecc_node *n = p->g->nodes.items[i];
        if (!wl_is_onnx(n, "MatMul") || n->n_inputs != 2) continue;
        if (!is_float_act(n->inputs[0]) || !is_float_act(n->inputs[1])) continue;
        const char *name = n->name && n->name[0] ? n->name : n->outputs[0]->name;
        bool ex = p->c.exclude && wl_glob_any(p->c.exclude, name, NULL);
        ecc_status st = add_unit(p, n, -1, name, !ex);
        if (st) return st;
    }
    return ECC_OK;
}

static ecc_status units_find(qp *p) {
    ecc_status st = ECC_OK;
    ECC_TRY(qc_layers_find(p->ctx, p->g, PASS, p->c.exclude, &p->ls));
    for (size_t i = 0; i < p->ls.n; i++) {
        const qc_layer *q = &p->ls.q[i];
        bool ok = !q->skip && dyn_supported(p, q);
        ECC_TRY(add_unit(p, q->node, (int)i, q->name, ok)); /* unit i is layer i */
    }
    ECC_TRY(find_act_matmuls(p));
    p->n_ids = p->m->next_value_id + 1;
    for (size_t i = 0; i < p->g->values.n; i++) {
        const ecc_value *v = p->g->values.items[i];
        if (v->id >= p->n_ids) p->n_ids = v->id + 1;
    }
    p->by_id = calloc(p->n_ids, sizeof *p->by_id);
    p->root = malloc(p->n_ids * sizeof *p->root);
    p->obs = calloc(p->n_ids, sizeof *p->obs);
    p->aq = calloc(p->n_ids, sizeof *p->aq);
    p->act_sig = calloc(p->n_ids, sizeof *p->act_sig);
    p->act_noise = calloc(p->n_ids, sizeof *p->act_noise);
    ECC_FAIL_IF(!p->by_id || !p->root || !p->obs || !p->aq || !p->act_sig || !p->act_noise,
                p->ctx, ECC_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < p->g->values.n; i++) {
        ecc_value *v = p->g->values.items[i];
        p->by_id[v->id] = v;
    }
fail:
    return st;
}

/* ---------------- calibration ---------------- */

static ecc_value *value_of(const qp *p, const ecc_value *v) {
    return v && v->graph == p->g && v->id < p->n_ids ? p->by_id[v->id] : NULL;
}

/* Input channel axis of a unit's activation: 1 for Conv (NCHW), the last otherwise. */
static void chan_accumulate(qp *p, size_t li, const ecc_rt_tensor *t) {
    const qc_layer *q = &p->ls.q[li];
    const wl_layer *L = &p->ls.pl.items[li];
    bool conv = wl_is_onnx(q->node, "Conv");
    int64_t c = conv ? (t->rank > 1 ? t->dims[1] : 1) : (t->rank ? t->dims[t->rank - 1] : 1);
    int64_t want = conv ? wl_const(q->w)->dims[1] * L->groups : L->k;
    if (c <= 0 || c != want) return;
    int64_t inner = 1, numel = 1;
    for (int32_t d = 0; d < t->rank; d++) numel *= t->dims[d];
    if (conv)
        for (int32_t d = 2; d < t->rank; d++) inner *= t->dims[d];
    const float *x = t->data;
    double *s = p->chan_sum[li];
    /* row by row, channel by channel: each sum adds in element order */
    for (int64_t r = 0; r < numel / (c * inner); r++)
        for (int64_t ch = 0; ch < c; ch++, x += inner) {
            double acc = s[ch];
            for (int64_t j = 0; j < inner; j++) acc += x[j];
            s[ch] = acc;
        }
    p->chan_n[li] += numel / c;
}

static int calib_observe(void *user, const ecc_node *node, uint32_t slot, const ecc_value *v,
                         const ecc_rt_tensor *t) {
    (void)node, (void)slot;
    qp *p = user;
    ecc_value *val = value_of(p, v);
    if (!val || t->dtype != ECC_DTYPE_FLOAT) return 0;
    int64_t n = 1;
    for (int32_t d = 0; d < t->rank; d++) n *= t->dims[d];
    if (p->obs[val->id]) ecc_observer_update(p->obs[val->id], t->data, n);
    for (size_t i = 0; p->chan_sum && i < p->ls.n; i++)
        if (p->chan_sum[i] && p->ls.q[i].x == val) chan_accumulate(p, i, t);
    return 0;
}

static ecc_status observers_create(qp *p) {
    ecc_status st = ECC_OK;
    ecc_observer_options oo = {sizeof oo, p->c.method, p->c.percentile, p->c.act.bits,
                               p->c.act.is_signed};
    for (uint32_t i = 0; i < p->n_ids; i++)
        if (p->root[i] >= 0 && !p->obs[i]) ECC_TRY(ecc_observer_create(p->ctx, &oo, &p->obs[i]));
    /* a value tied to a Concat keeps its own observer for plans without the Concat */
    for (uint32_t i = 0; i < p->n_ids; i++) {
        ecc_value *v = p->by_id[i];
        if (!v || p->root[i] < 0 || p->obs[natural_root(v)->id]) continue;
        ECC_TRY(ecc_observer_create(p->ctx, &oo, &p->obs[natural_root(v)->id]));
    }
fail:
    return st;
}

static ecc_status chan_alloc(qp *p) {
    p->chan_sum = calloc(p->ls.n + 1, sizeof *p->chan_sum);
    p->chan_n = calloc(p->ls.n + 1, sizeof *p->chan_n);
    if (!p->chan_sum || !p->chan_n) return ECC_OOM(p->ctx);
    for (size_t i = 0; i < p->ls.n; i++) {
        const qc_layer *q = &p->ls.q[i];
        if (q->skip || !q->bias) continue;
        int64_t c = wl_is_onnx(q->node, "Conv")
                        ? wl_const(q->w)->dims[1] * p->ls.pl.items[i].groups
                        : p->ls.pl.items[i].k;
        p->chan_sum[i] = calloc((size_t)c + 1, sizeof **p->chan_sum);
        if (!p->chan_sum[i]) return ECC_OOM(p->ctx);
    }
    return ECC_OK;
}

/* Runs the data once (pass 0: min/max, reference outputs, channel means) and,
 * for histogram methods, again (pass 1), on the plan with every candidate
 * active that work_left made. */
static ecc_status calibrate(qp *p) {
    ecc_status st = ECC_OK;
    ECC_TRY(observers_create(p));
    if (p->c.bias_correction) ECC_TRY(chan_alloc(p));
    p->ref.samples = p->data->samples;
    ECC_TRY(calib_data_run(p->ctx, p->m, p->data, CALIB_BATCH, calib_observe, p, calib_out_batch,
                           &p->ref));
    if (!ecc_obs_method_two_pass(p->c.method)) return ECC_OK;
    for (uint32_t i = 0; i < p->n_ids; i++) ecc_observer_next_pass(p->obs[i]);
    double **keep = p->chan_sum;
    p->chan_sum = NULL; /* channel means are complete after pass 0 */
    st = calib_data_run(p->ctx, p->m, p->data, CALIB_BATCH, calib_observe, p, NULL, NULL);
    p->chan_sum = keep;
fail:
    return st;
}

/* Calibrated quantizers of every observed tensor. */
static ecc_status make_act_quantizers(qp *p) {
    ecc_status st = ECC_OK;
    const char *calib = ecc_obs_method_name(p->c.method);
    for (uint32_t i = 0; i < p->n_ids; i++) {
        if (!p->obs[i]) continue;
        double lo, hi;
        ecc_observer_range(p->obs[i], &lo, &hi);
        ECC_TRY(qc_act_quantizer(p->ctx, &p->c.act, lo, hi, calib, &p->aq[i]));
    }
fail:
    return st;
}

/* ---------------- bias correction ---------------- */

/* b -= (W_q - W) · E[x] for layer li (weights quantized per its quantizer);
 * vals: the weight's masked values. */
static ecc_status correct_bias(qp *p, size_t li, const ecc_quantizer *qz,
                               const ecc_tensor *vals) {
    ecc_status st = ECC_OK;
    const qc_layer *q = &p->ls.q[li];
    const wl_layer *L = &p->ls.pl.items[li];
    ecc_value *w = q->w;
    float *fq = NULL, *canon = NULL;
    if (!q->bias || q->bias_final || !p->chan_sum[li] || !p->chan_n[li] || !qz) return ECC_OK;
    fq = malloc((size_t)w->init->numel * sizeof *fq + 1);
    ECC_FAIL_IF(!fq, p->ctx, ECC_E_INTERNAL, "out of memory");
    ECC_TRY(qc_fake_quant_weight(p->ctx, qz, vals, fq));
    ECC_TRY(wl_canon_get(p->ctx, L, &canon));
    ECC_TRY(ecc_tensor_make_unique(p->ctx, &q->bias->init));
    float *b = q->bias->init->data;
    const double *sum = p->chan_sum[li];
    double inv = 1.0 / (double)p->chan_n[li];
    bool conv = wl_is_onnx(q->node, "Conv");
    int64_t per_ch = conv ? L->k / wl_const(w)->dims[1] : 1, rows_g = L->rows / L->groups;
    for (int64_t r = 0; r < L->rows; r++) {
        double shift = 0;
        int64_t g = r / rows_g;
        for (int64_t c = 0; c < L->k; c++) {
            double d = (double)fq[wl_index(L, r, c)] - canon[r * L->k + c];
            int64_t ch = conv ? g * (L->k / per_ch) + c / per_ch : c;
            shift += d * sum[ch] * inv;
        }
        b[r] = (float)((double)b[r] - shift);
    }
fail:
    free(fq);
    free(canon);
    return st;
}

/* ---------------- simulation ---------------- */

/* The weight quantizer of layer li, as annotation and simulation both build it:
 * a copy of the earlier pass's for a final weight (qc_layer.w_final). */
static ecc_status layer_quantizer(qp *p, size_t li, ecc_quantizer **qz) {
    const qc_layer *q = &p->ls.q[li];
    if (q->w_final) return qc_quantizer_dup(p->ctx, q->w->quant, qz);
    return qc_weight_quantizer(p->ctx, q->w, &p->c.wfmt,
                               p->c.per_channel ? ECC_QUANT_CHANNEL : ECC_QUANT_TENSOR,
                               q->ch_axis, 0, false, "minmax", qz);
}

/* Layer li's weight is quantized in the output: by this pass (its unit is
 * active) or by an earlier one (final, whatever this pass decides). */
static bool weight_quantized(const qp *p, size_t li) {
    return p->ls.q[li].w_final || p->units[li].active;
}

/* Layer li is the first of the layers sharing its weight that quantize it:
 * the simulation and annotation handle a shared weight once. */
static bool first_of_weight(const qp *p, size_t li) {
    for (size_t k = 0; k < li; k++)
        if (weight_quantized(p, k) && p->ls.q[k].w == p->ls.q[li].w) return false;
    return weight_quantized(p, li);
}

/* With bias_correction, corrects the bias of every active layer in place
 * (originals kept in saved), from the float weights: call before
 * weights_fake. */
static ecc_status biases_correct(qp *p, qc_saved *saved, size_t *n_saved) {
    ecc_status st = ECC_OK;
    ecc_quantizer *qz = NULL;
    ecc_tensor *vals = NULL;
    for (size_t li = 0; p->c.bias_correction && p->chan_sum && li < p->ls.n; li++) {
        if (!p->units[li].active || !first_of_weight(p, li) || !p->ls.q[li].bias) continue;
        ECC_TRY(layer_quantizer(p, (size_t)li, &qz));
        ECC_TRY(qc_weight_masked(p->ctx, p->ls.q[li].w, &vals));
        ECC_TRY(qc_save_values(p->ctx, p->ls.q[li].bias, saved, n_saved));
        ECC_TRY(correct_bias(p, (size_t)li, qz, vals));
        ecc_quantizer_free(qz);
        ecc_tensor_unref(vals);
        qz = NULL;
        vals = NULL;
    }
fail:
    ecc_quantizer_free(qz);
    ecc_tensor_unref(vals);
    return st;
}

/* Fake-quantizes every weight the output quantizes, in place; originals kept
 * in saved. */
static ecc_status weights_fake(qp *p, qc_saved *saved, size_t *n_saved) {
    ecc_status st = ECC_OK;
    ecc_quantizer *qz = NULL;
    for (size_t li = 0; li < p->ls.n; li++) {
        if (!first_of_weight(p, li)) continue;
        ecc_value *w = p->ls.q[li].w;
        ECC_TRY(layer_quantizer(p, li, &qz));
        ECC_TRY(qc_save_values(p->ctx, w, saved, n_saved));
        ECC_TRY(qc_fake_quant_weight(p->ctx, qz, w->init, w->init->data));
        ecc_quantizer_free(qz);
        qz = NULL;
    }
fail:
    ecc_quantizer_free(qz);
    return st;
}

/* Scale, zero point and range of the quantizer value id uses. */
static bool act_params(const qp *p, int32_t id, float *s, int32_t *zp, int32_t *lo,
                       int32_t *hi) {
    int32_t r = p->root[id];
    if (r < 0 || !p->aq[r]) return false;
    const ecc_quantizer *q = p->aq[r];
    *s = ((const float *)q->scale->data)[0];
    *zp = ecc_quantizer_zero_point(q, 0);
    ecc_qformat f = ecc_qformat_of(q);
    ecc_qformat_range(&f, lo, hi);
    return true;
}

/* ecc_qfake_measured into the value's signal and noise sums. */
static void fake_measured(qp *p, uint32_t id, float *x, int64_t n, float sc, int32_t zp,
                          int32_t lo, int32_t hi) {
    ecc_qfake_measured(x, n, sc, zp, lo, hi, &p->act_sig[id], &p->act_noise[id]);
}

static int sim_observe(void *user, const ecc_node *node, uint32_t slot, const ecc_value *v,
                       const ecc_rt_tensor *t) {
    (void)slot;
    qp *p = user;
    ecc_value *val = value_of(p, v);
    float sc;
    int32_t zp, lo, hi;
    if (!node || !val || t->dtype != ECC_DTYPE_FLOAT || wl_is_onnx(node, "Constant"))
        return 0; /* graph inputs are fake-quantized in the data copy */
    if (!act_params(p, (int32_t)val->id, &sc, &zp, &lo, &hi)) return 0;
    int64_t n = 1;
    for (int32_t d = 0; d < t->rank; d++) n *= t->dims[d];
    fake_measured(p, val->id, t->data, n, sc, zp, lo, hi);
    return 0;
}

/* Graph input i of g in the interpreter's order (initializers skipped). */
static ecc_value *graph_input(const ecc_graph *g, size_t i) {
    for (size_t k = 0; k < g->inputs.n; k++) {
        ecc_value *v = g->inputs.items[k];
        if (v->init) continue;
        if (i-- == 0) return v;
    }
    return NULL;
}

/* The data with every quantized graph input fake-quantized (a copy). */
static ecc_status sim_inputs(qp *p, calib_data *copy) {
    *copy = *p->data;
    copy->inputs = calloc(p->data->n_inputs + 1, sizeof *copy->inputs);
    if (!copy->inputs) return ECC_OOM(p->ctx);
    for (size_t i = 0; i < p->data->n_inputs; i++) {
        ecc_rt_tensor *t = &copy->inputs[i];
        *t = p->data->inputs[i];
        t->data = malloc(t->nbytes + 1);
        if (!t->data) return ECC_OOM(p->ctx);
        memcpy(t->data, p->data->inputs[i].data, t->nbytes);
        ecc_value *val = value_of(p, graph_input(p->g, i));
        float sc;
        int32_t zp, lo, hi;
        if (val && t->dtype == ECC_DTYPE_FLOAT &&
            act_params(p, (int32_t)val->id, &sc, &zp, &lo, &hi))
            fake_measured(p, val->id, t->data, (int64_t)(t->nbytes / sizeof(float)), sc, zp, lo,
                          hi);
    }
    return ECC_OK;
}

static void sim_inputs_free(calib_data *copy) {
    for (size_t i = 0; copy->inputs && i < copy->n_inputs; i++) free(copy->inputs[i].data);
    free(copy->inputs);
}

/* Runs the model with the active units fake-quantized (and their biases
 * corrected, as annotation will); SQNR of the first output (dB) and top-1
 * agreement (0..1) with the float model. */
static ecc_status simulate(qp *p, double *sqnr, double *agree) {
    ecc_status st = ECC_OK;
    qc_saved *saved = calloc(2 * p->n_units + 1, sizeof *saved);
    size_t n_saved = 0;
    calib_data copy = {0};
    calib_out out = {.samples = p->data->samples};
    *sqnr = NAN;
    *agree = NAN;
    ECC_FAIL_IF(!saved, p->ctx, ECC_E_INTERNAL, "out of memory");
    ECC_TRY(qc_check_ref(p->ctx, &p->ref));
    plan(p);
    memset(p->act_sig, 0, p->n_ids * sizeof *p->act_sig);
    memset(p->act_noise, 0, p->n_ids * sizeof *p->act_noise);
    ECC_TRY(biases_correct(p, saved, &n_saved));
    ECC_TRY(weights_fake(p, saved, &n_saved));
    ECC_TRY(sim_inputs(p, &copy));
    ECC_TRY(calib_data_run(p->ctx, p->m, &copy, CALIB_BATCH, sim_observe, p, calib_out_batch,
                           &out));
    qc_fidelity(&p->ref, &out, sqnr, agree);
fail:
    qc_saved_restore(saved, n_saved);
    free(saved);
    sim_inputs_free(&copy);
    calib_out_free(&out);
    return st;
}

/* ---------------- sensitivity and fallback ---------------- */

static void set_active(qp *p, const bool *mask) {
    for (size_t u = 0; u < p->n_units; u++) p->units[u].active = p->units[u].candidate && mask[u];
}

static ecc_status sensitivity(qp *p, bool *mask) {
    ecc_status st = ECC_OK;
    for (size_t u = 0; u < p->n_units; u++) {
        if (!p->units[u].candidate) continue;
        memset(mask, 0, p->n_units * sizeof *mask);
        mask[u] = true;
        set_active(p, mask);
        ECC_TRY(simulate(p, &p->units[u].sqnr, &p->units[u].agree));
        ecc_log(p->ctx, 0, "  %s: sensitivity %-36s output SQNR %6.1f dB, top-1 agreement %.4f",
                PASS, p->units[u].name, p->units[u].sqnr, p->units[u].agree);
    }
fail:
    return st;
}

/* Candidates by increasing SQNR (most sensitive first; ties by position). */
static void by_sensitivity(const qp *p, size_t *order, size_t *n) {
    *n = 0;
    for (size_t u = 0; u < p->n_units; u++)
        if (p->units[u].candidate) order[(*n)++] = u;
    for (size_t i = 1; i < *n; i++) {
        size_t x = order[i], j = i;
        while (j > 0 && p->units[order[j - 1]].sqnr > p->units[x].sqnr) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = x;
    }
}

/* Drops the most sensitive units to float until the agreement target holds. */
static ecc_status fallback(qp *p, bool *mask, double *sqnr, double *agree) {
    ecc_status st = ECC_OK;
    size_t *order = calloc(p->n_units + 1, sizeof *order), n = 0, k = 0;
    ECC_FAIL_IF(!order, p->ctx, ECC_E_INTERNAL, "out of memory");
    by_sensitivity(p, order, &n);
    double target = 1.0 - p->c.max_drop / 100.0;
    for (;;) {
        set_active(p, mask);
        ECC_TRY(simulate(p, sqnr, agree));
        if (*agree >= target - 1e-12 || k == n) break;
        mask[order[k]] = false;
        ecc_log(p->ctx, 0, "  %s: fallback: top-1 agreement %.4f < %.4f, keeping '%s' in float",
                PASS, *agree, target, p->units[order[k]].name);
        k++;
    }
    p->host->stat(p->run, "fallback.float_units", (double)k);
fail:
    free(order);
    return st;
}

/* ---------------- annotation ---------------- */

/* Weight quantizer of one layer (unless an earlier pass gave it one, with
 * its report line), its bias correction and report line, both measured
 * against the masked weights (what lowering quantizes), and the int32 bias
 * quantizer (scale s_x·s_w: not for blocked weights). */
static ecc_status annotate_weight(qp *p, size_t li, qc_totals *tot) {
    ecc_status st = ECC_OK;
    ecc_quantizer *qz = NULL;
    ecc_tensor *vals = NULL;
    const qc_layer *q = &p->ls.q[li];
    if (!q->w_final) {
        ECC_TRY(layer_quantizer(p, li, &qz));
        ecc_value_set_quantizer(q->w, qz);
        qz = NULL;
    }
    ECC_TRY(qc_weight_masked(p->ctx, q->w, &vals));
    if (p->c.bias_correction && p->chan_sum) ECC_TRY(correct_bias(p, li, q->w->quant, vals));
    if (!q->w_final) ECC_TRY(qc_report_weight(p->host, p->run, q->w, vals, tot));
    if (!p->c.dynamic && q->bias && q->bias_node == q->node && !q->bias->quant &&
        q->w->quant->granularity != ECC_QUANT_BLOCK) {
        ECC_TRY(qc_bias_quantizer(p->ctx, &qz));
        ecc_value_set_quantizer(q->bias, qz);
        qz = NULL;
    }
fail:
    ecc_quantizer_free(qz);
    ecc_tensor_unref(vals);
    return st;
}

static ecc_status annotate(qp *p, qc_totals *tot) {
    ecc_status st = ECC_OK;
    ecc_quantizer *qz = NULL;
    plan(p);
    for (size_t li = 0; li < p->ls.n; li++)
        if (p->units[li].active && first_of_weight(p, li)) ECC_TRY(annotate_weight(p, li, tot));
    for (uint32_t i = 0; i < p->n_ids; i++) {
        ecc_value *v = p->by_id[i];
        if (!v || p->root[i] < 0 || v->quant) continue;
        if (p->c.dynamic) ECC_TRY(qc_dynamic_quantizer(p->ctx, &qz));
        else ECC_TRY(qc_quantizer_dup(p->ctx, p->aq[p->root[i]], &qz));
        ecc_value_set_quantizer(v, qz);
        qz = NULL;
    }
fail:
    ecc_quantizer_free(qz);
    return st;
}

static void report_activations(qp *p) {
    int64_t n = 0;
    for (uint32_t i = 0; i < p->n_ids; i++) {
        ecc_value *v = p->by_id[i];
        if (!v || !v->quant || !v->quant->scale || v->init) continue;
        char key[700];
        snprintf(key, sizeof key, "tensor.%s.scale", v->name);
        p->host->stat(p->run, key, ((const float *)v->quant->scale->data)[0]);
        snprintf(key, sizeof key, "tensor.%s.zero_point", v->name);
        p->host->stat(p->run, key, ecc_quantizer_zero_point(v->quant, 0));
        snprintf(key, sizeof key, "tensor.%s.range_min", v->name);
        p->host->stat(p->run, key, v->quant->range_min);
        snprintf(key, sizeof key, "tensor.%s.range_max", v->name);
        p->host->stat(p->run, key, v->quant->range_max);
        double sqnr = p->act_noise[i] > 0 ? 10 * log10(p->act_sig[i] / p->act_noise[i]) : 999.0;
        if (p->act_sig[i] > 0) {
            snprintf(key, sizeof key, "tensor.%s.sqnr_db", v->name);
            p->host->stat(p->run, key, sqnr);
        }
        ecc_log(p->ctx, 1, "  %-40s %s8 per tensor, range [%.4g, %.4g], scale %.4g, zp %d, "
                "SQNR %.1f dB", v->name, v->quant->is_signed ? "int" : "uint",
                v->quant->range_min, v->quant->range_max,
                ((const float *)v->quant->scale->data)[0],
                (int)ecc_quantizer_zero_point(v->quant, 0), sqnr);
        n++;
    }
    p->host->stat(p->run, "activations.quantized", (double)n);
}

static void report_units(qp *p) {
    size_t active = 0, floating = 0;
    for (size_t u = 0; u < p->n_units; u++) {
        const qp_unit *un = &p->units[u];
        active += un->active;
        floating += !un->active;
        char key[700];
        if (isfinite(un->sqnr) || isinf(un->sqnr)) {
            snprintf(key, sizeof key, "layer.%s.sqnr_db", un->name);
            p->host->stat(p->run, key, qc_db_stat(un->sqnr));
            snprintf(key, sizeof key, "layer.%s.top1_agreement", un->name);
            p->host->stat(p->run, key, un->agree);
        }
        if (!un->active) {
            snprintf(key, sizeof key, "float.%s", un->name);
            p->host->stat(p->run, key, 1);
        }
    }
    p->host->stat(p->run, "units.quantized", (double)active);
    p->host->stat(p->run, "units.float", (double)floating);
}

/* ---------------- the pass ---------------- */

static void qp_free(qp *p) {
    for (uint32_t i = 0; i < p->n_ids; i++) {
        if (p->obs) ecc_observer_free(p->obs[i]);
        if (p->aq) ecc_quantizer_free(p->aq[i]);
    }
    for (size_t i = 0; p->chan_sum && i < p->ls.n; i++) free(p->chan_sum[i]);
    free(p->chan_sum);
    free(p->chan_n);
    free(p->obs);
    free(p->aq);
    free(p->act_sig);
    free(p->act_noise);
    free(p->root);
    free(p->by_id);
    free(p->units);
    calib_out_free(&p->ref);
    calib_data_free(p->data);
    qc_layers_free(&p->ls);
}

static ecc_status measure(qp *p) {
    ecc_status st = ECC_OK;
    bool *mask = calloc(p->n_units + 1, sizeof *mask);
    double sqnr = NAN, agree = NAN;
    ECC_FAIL_IF(!mask, p->ctx, ECC_E_INTERNAL, "out of memory");
    if (p->c.sensitivity) ECC_TRY(sensitivity(p, mask));
    for (size_t u = 0; u < p->n_units; u++) mask[u] = true;
    if (p->c.fallback) ECC_TRY(fallback(p, mask, &sqnr, &agree));
    else {
        set_active(p, mask);
        ECC_TRY(simulate(p, &sqnr, &agree));
    }
    qc_report_fidelity(p->host, p->run, PASS, "the quantized model's", "the float model",
                       p->ref.rows, sqnr, agree);
fail:
    free(mask);
    return st;
}

/* What is left for this pass once every candidate is active: false when
 * there is no candidate at all (logged: nothing to do). Fails when earlier
 * passes quantized every candidate's weight and every tensor it would
 * quantize (quant,quant). */
static ecc_status work_left(qp *p, bool *left) {
    size_t candidates = 0;
    const char *first = NULL;
    *left = false;
    for (size_t u = 0; u < p->n_units; u++) {
        p->units[u].active = p->units[u].candidate;
        if (!p->units[u].candidate) continue;
        candidates++;
        if (p->units[u].layer < 0 || !p->ls.q[p->units[u].layer].w_final) *left = true;
        else if (!first) first = p->units[u].name;
    }
    plan(p);
    for (uint32_t i = 0; i < p->n_ids; i++)
        if (p->root[i] >= 0 && p->by_id[i] && !p->by_id[i]->quant) *left = true;
    if (!candidates) {
        ecc_log(p->ctx, 0, "  " PASS ": no Conv/Gemm/MatMul with a float weight and no MatMul "
                "of two activations: nothing to quantize");
        return ECC_OK;
    }
    if (!*left)
        return ecc_ctx_error(p->ctx, ECC_E_USAGE,
                             PASS ": every selected layer and tensor is already quantized by an "
                             "earlier pass ('%s' first): nothing left to quantize",
                             first ? first : "");
    return ECC_OK;
}

/* Dynamic Conv units run as ConvInteger, which ONNX Runtime's CPU provider
 * executes far slower than its float Conv (bench/quant_deploy.sh: the
 * testdata CNN at 0.1x of float), where static mode's QLinearConv is
 * faster: say so once, with the way out. */
static void note_dynamic_conv(const qp *p) {
    int64_t convs = 0;
    for (size_t u = 0; u < p->n_units; u++)
        if (p->units[u].active && wl_is_onnx(p->units[u].node, "Conv")) convs++;
    if (p->c.dynamic && convs)
        ecc_log(p->ctx, 0, "  %s: note: %lld Conv layers quantized dynamically run as ConvInteger, "
                "which ONNX Runtime's CPU provider runs much slower than float Conv; mode=static "
                "(with --calib) gives QLinearConv, exclude= keeps them float", PASS,
                (long long)convs);
}

static ecc_status qp_pass(const ecc_host_api *host, ecc_pass_run *run) {
    ecc_status st = ECC_OK;
    qp p = {.ctx = run->ctx, .run = run, .host = host, .m = run->model, .g = run->model->graph};
    qc_totals tot = {0};
    ECC_TRY(qp_config_read(host, run, &p.c));
    ECC_TRY(qc_check_opset(p.ctx, PASS, p.m, qp_opset(&p.c), p.c.max_opset,
                           p.c.per_channel ? "per-channel quantization" : "quantization"));
    ECC_TRY(qc_fold_bn_first(host, run, p.c.fold_bn));
    ECC_TRY(units_find(&p));
    bool left;
    ECC_TRY(work_left(&p, &left));
    if (left && needs_data(&p.c)) {
        ECC_TRY(calib_data_load(p.ctx, p.m, calib_env_path(run), calib_env_size(run), &p.data));
        ECC_TRY(calibrate(&p));
        if (!p.c.dynamic) ECC_TRY(make_act_quantizers(&p));
        if (!p.c.dynamic) ECC_TRY(measure(&p));
    }
    ECC_TRY(annotate(&p, &tot));
    note_dynamic_conv(&p);
    qc_report_totals(host, run, "weights", &tot);
    report_activations(&p);
    report_units(&p);
    host->stat(run, "calib.samples", p.data ? (double)p.data->samples : 0);
fail:
    qp_free(&p);
    return st;
}

static int qp_run(const ecc_host_api *host, ecc_pass_run *run) {
    return (int)qp_pass(host, run);
}

const ecc_pass_desc ecc_pass_quant = {
    .struct_size = sizeof(ecc_pass_desc),
    .name = PASS,
    .summary = "INT8 post-training quantization: static W8A8 (calibrated) or dynamic",
    .options = qp_opts,
    .n_options = sizeof qp_opts / sizeof qp_opts[0],
    .run = qp_run,
    .check = qp_check,
};
