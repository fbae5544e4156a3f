/* equalize.c — the `equalize` pass: cross-layer equalization (Nagel et al.,
 * "Data-Free Quantization Through Weight Equalization and Bias Correction").
 * For two weight layers L1 → L2 joined by ops that commute with a positive
 * per-channel scale (Relu, LeakyRelu, MaxPool, AveragePool, Identity,
 * Dropout; Flatten/Reshape into a Gemm/MatMul, whose features then come in
 * channel-major blocks), output channel i of L1 is divided by
 *   s_i = sqrt(r1_i · r2_i) / r2_i
 * (r1_i: max |weight| of L1's output channel i, r2_i: of L2's input channel
 * i) and L2's input channel i multiplied by it, so both ranges become
 * sqrt(r1_i · r2_i). The function of the model is unchanged (up to float
 * rounding); per-tensor and depthwise quantization then lose less. Pairs are
 * swept until the scales settle, so chains (conv → depthwise → conv) balance
 * as a whole. BatchNormalization must be folded first (fold-bn); pairs whose
 * middle tensor has other readers, shared weights or annotated weights are
 * skipped with the reason in the verbose log. Main graph only. */
#include "op_traits.h"
#include "quant_common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PASS "equalize"

static const ecc_opt_desc eq_opts[] = {
    ECC_OPT(ECC_OPT_INT, "iterations", "sweeps over all pairs at most", "20", 1, 1000, NULL),
    ECC_OPT(ECC_OPT_STRING, "exclude",
        "globs over node or weight names, '|' between globs: leave these layers alone", NULL, 0,
        0, NULL),
};

/* One L1 → L2 pair. */
typedef struct eq_pair {
    size_t l1, l2;           /* indices into the layers */
    int64_t channels;        /* L1's output channels = L2's input channels */
    int64_t per_channel;     /* L2 features per channel (Flatten into a Gemm), else 1 */
} eq_pair;

/* A positive per-channel scale passes through n (SCALE_COMMUTES in ops.def). */
static bool commutes(const ecc_node *n) {
    return ecc_node_op_has(n, ECC_OPF_SCALE_COMMUTES);
}

/* Input channel of L2's canonical element (r, c). */
static int64_t l2_channel(const wl_layer *L, const eq_pair *p, int64_t r, int64_t c) {
    if (wl_is_onnx(L->node, "Conv")) {
        int64_t cg = p->channels / L->groups, per = L->k / cg;
        return (r / (L->rows / L->groups)) * cg + c / per;
    }
    return c / p->per_channel;
}

static const char *pair_problem(const qc_layers *ls, size_t i, size_t j, bool flat,
                                eq_pair *p) {
    const wl_layer *a = &ls->pl.items[i], *b = &ls->pl.items[j];
    if (ls->q[i].w == ls->q[j].w || ls->q[i].w->n_uses != 1 || ls->q[j].w->n_uses != 1)
        return "a weight is shared";
    if (ls->q[i].w->quant || ls->q[j].w->quant) return "a weight is already quantized";
    if (ls->q[i].bias_final) return "L1's bias is already quantized";
    if (ls->q[i].bias && (ls->q[i].bias->n_uses != 1 || ls->q[i].bias_node != ls->q[i].node))
        return "L1's bias is shared or added by another node";
    if (!wl_is_onnx(a->node, "Conv") && ls->q[i].bias_node && ls->q[i].bias_node != a->node)
        return "L1's bias is a separate Add";
    p->l1 = i;
    p->l2 = j;
    p->channels = a->rows;
    p->per_channel = 1;
    bool conv2 = wl_is_onnx(b->node, "Conv");
    if (conv2) {
        if (flat) return "a Flatten/Reshape feeds a Conv";
        if (wl_const(b->w)->dims[1] * b->groups != a->rows)
            return "channel counts differ";
        return NULL;
    }
    if (b->k == a->rows) return NULL;
    if (!flat || b->k % a->rows) return "feature count is not a multiple of the channels";
    p->per_channel = b->k / a->rows;
    return NULL;
}

/* A Flatten (axis 1) or a Reshape to [batch, features]: features stay
 * channel-major, one block per channel. */
static bool keeps_batch(const ecc_node *n) {
    if (wl_is_onnx(n, "Flatten")) return ecc_node_attr_int(n, "axis", 1) == 1;
    const ecc_tensor *shape = n->n_inputs > 1 ? wl_const(n->inputs[1]) : NULL;
    if (!shape || shape->dtype != ECC_DTYPE_INT64 || shape->numel != 2) return false;
    int64_t first = ((const int64_t *)shape->data)[0];
    return first == -1 || first == 0;
}

/* Pairs of selected layers joined by commuting single-reader ops. */
static ecc_status find_pairs(ecc_ctx *ctx, const qc_layers *ls, eq_pair **out, size_t *n) {
    *out = NULL;
    *n = 0;
    for (size_t i = 0; i < ls->n; i++) {
        if (ls->q[i].skip) continue;
        ecc_value *v = ls->q[i].node->outputs[0];
        bool flat = false;
        bool ok = true;
        while (v && v->n_uses == 1 && !(v->flags & ECC_VALUE_OUTPUT) &&
               v->uses[0].slot == 0 && commutes(v->uses[0].node)) {
            const ecc_node *c = v->uses[0].node;
            if (wl_is_onnx(c, "Flatten") || wl_is_onnx(c, "Reshape")) {
                ok &= keeps_batch(c);
                flat = true;
            }
            v = c->outputs[0];
        }
        if (!ok) continue;
        if (!v || v->n_uses != 1 || (v->flags & ECC_VALUE_OUTPUT)) continue;
        for (size_t j = 0; j < ls->n; j++) {
            if (ls->q[j].skip || ls->q[j].x != v || ls->q[j].node != v->uses[0].node) continue;
            eq_pair p;
            const char *why = pair_problem(ls, i, j, flat, &p);
            if (why) {
                ecc_log(ctx, 1, "  " PASS ": %s -> %s not equalized: %s", ls->q[i].name,
                        ls->q[j].name, why);
                continue;
            }
            eq_pair *grown = realloc(*out, (*n + 1) * sizeof *grown);
            if (!grown) return ECC_OOM(ctx);
            *out = grown;
            (*out)[(*n)++] = p;
        }
    }
    return ECC_OK;
}

/* Scales pair p once; returns max |log s|. */
static double equalize_pair(const qc_layers *ls, const eq_pair *p, double *r1, double *r2) {
    const wl_layer *a = &ls->pl.items[p->l1], *b = &ls->pl.items[p->l2];
    float *w1 = wl_const(a->w)->data, *w2 = wl_const(b->w)->data;
    int64_t c = p->channels;
    for (int64_t i = 0; i < c; i++) r1[i] = r2[i] = 0;
    for (int64_t r = 0; r < a->rows; r++)
        for (int64_t k = 0; k < a->k; k++) r1[r] = fmax(r1[r], fabsf(w1[wl_index(a, r, k)]));
    for (int64_t r = 0; r < b->rows; r++)
        for (int64_t k = 0; k < b->k; k++) {
            int64_t ch = l2_channel(b, p, r, k);
            r2[ch] = fmax(r2[ch], fabsf(w2[wl_index(b, r, k)]));
        }
    double moved = 0;
    for (int64_t i = 0; i < c; i++) { /* r1 becomes s_i */
        double s = r1[i] > 0 && r2[i] > 0 ? sqrt(r1[i] * r2[i]) / r2[i] : 1.0;
        r1[i] = s;
        moved = fmax(moved, fabs(log(s)));
    }
    for (int64_t r = 0; r < a->rows; r++)
        for (int64_t k = 0; k < a->k; k++) w1[wl_index(a, r, k)] /= (float)r1[r];
    const ecc_value *bias = ls->q[p->l1].bias;
    if (bias)
        for (int64_t r = 0; r < c; r++) ((float *)bias->init->data)[r] /= (float)r1[r];
    for (int64_t r = 0; r < b->rows; r++)
        for (int64_t k = 0; k < b->k; k++)
            w2[wl_index(b, r, k)] *= (float)r1[l2_channel(b, p, r, k)];
    return moved;
}

/* Weights (and L1 biases) of every pair made writable. */
static ecc_status make_writable(ecc_ctx *ctx, qc_layers *ls, const eq_pair *pairs, size_t n) {
    ecc_status st = ECC_OK;
    for (size_t i = 0; i < n; i++) {
        ECC_TRY(ecc_tensor_make_unique(ctx, &ls->q[pairs[i].l1].w->init));
        ECC_TRY(ecc_tensor_make_unique(ctx, &ls->q[pairs[i].l2].w->init));
        if (ls->q[pairs[i].l1].bias)
            ECC_TRY(ecc_tensor_make_unique(ctx, &ls->q[pairs[i].l1].bias->init));
    }
fail:
    return st;
}

static ecc_status eq_pass(const ecc_host_api *host, ecc_pass_run *run) {
    ecc_status st = ECC_OK;
    ecc_ctx *ctx = run->ctx;
    qc_layers ls = {0};
    eq_pair *pairs = NULL;
    size_t n = 0;
    double *r1 = NULL, *r2 = NULL;
    int64_t iters = host->opt_int(run, "iterations"), sweeps = 0, cmax = 1;
    double moved = 0;
    ECC_TRY(qc_layers_find(ctx, run->model->graph, PASS, host->opt_string(run, "exclude"), &ls));
    ECC_TRY(find_pairs(ctx, &ls, &pairs, &n));
    ECC_TRY(make_writable(ctx, &ls, pairs, n));
    for (size_t i = 0; i < n; i++) cmax = pairs[i].channels > cmax ? pairs[i].channels : cmax;
    r1 = malloc((size_t)cmax * sizeof *r1);
    r2 = malloc((size_t)cmax * sizeof *r2);
    ECC_FAIL_IF(!r1 || !r2, ctx, ECC_E_INTERNAL, "out of memory");
    for (sweeps = 0; n && sweeps < iters; sweeps++) {
        moved = 0;
        for (size_t i = 0; i < n; i++) moved = fmax(moved, equalize_pair(&ls, &pairs[i], r1, r2));
        if (moved < 1e-4) {
            sweeps++;
            break;
        }
    }
    for (size_t i = 0; i < n; i++)
        host->log(run, "equalized %s -> %s (%lld channels)", ls.q[pairs[i].l1].name,
                  ls.q[pairs[i].l2].name, (long long)pairs[i].channels);
    host->stat(run, "pairs", (double)n);
    host->stat(run, "sweeps", (double)sweeps);
    host->stat(run, "last_max_log_scale", moved);
fail:
    free(r1);
    free(r2);
    free(pairs);
    qc_layers_free(&ls);
    return st;
}

static int eq_run(const ecc_host_api *host, ecc_pass_run *run) { return (int)eq_pass(host, run); }

const ecc_pass_desc ecc_pass_equalize = {
    .struct_size = sizeof(ecc_pass_desc),
    .name = PASS,
    .summary = "cross-layer equalization of consecutive weight layers (before quant)",
    .options = eq_opts,
    .n_options = sizeof eq_opts / sizeof eq_opts[0],
    .run = eq_run,
};
