/* fold_bn.c — the `fold-bn` pass: folds an inference-mode BatchNormalization
 * into the Conv, Gemm (transB 0 or 1) or MatMul (constant 2-D weight) that
 * feeds it: the weight is scaled per output channel by gamma/sqrt(var+eps)
 * and the bias updated or created (Conv gets a third input, Gemm gets C,
 * MatMul gets a following Add). The BN output keeps its name. A weight read
 * by another node is cloned; a tensor shared elsewhere is copied on write.
 * A pruning mask stays (scaling keeps zeros zero), so `prune,quant` folds
 * too. Runs in every subgraph. Skips (with the reason in the verbose log)
 * whatever it cannot fold exactly. */
#include "fold_bn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct bn_fold {
    ecc_ctx *ctx;
    ecc_graph *g;
    ecc_node *bn, *prod;
    ecc_value *x, *y;          /* producer output = BN input; BN output */
    int64_t c;                 /* channels */
    double *scale, *shift;     /* y = scale * x + shift, per channel */
} bn_fold;

typedef const char *(*bn_check_fn)(const bn_fold *f); /* NULL: foldable, else why not */
typedef ecc_status (*bn_apply_fn)(bn_fold *f);

/* ---------------- small IR helpers ---------------- */

static bool is_onnx(const ecc_node *n, const char *op) {
    return strcmp(n->op_type, op) == 0 && (!n->domain[0] || strcmp(n->domain, "ai.onnx") == 0);
}

static ecc_value *input_at(const ecc_node *n, uint32_t i) {
    return i < n->n_inputs ? n->inputs[i] : NULL;
}

/* Why v cannot be a weight we rewrite (NULL when it can). */
static const char *weight_problem(const ecc_value *v) {
    if (!v || !v->init) return "weight is not a constant initializer of this graph";
    if (v->init->dtype != ECC_DTYPE_FLOAT) return "weight is not float32";
    if (v->flags & ECC_VALUE_INPUT) return "weight is also a graph input (overridable)";
    if (v->quant) return "weight carries a quantization annotation";
    return NULL;
}

/* A constant float32 vector of n elements (BN parameters, biases). */
static bool is_f32_vector(const ecc_value *v, int64_t n) {
    const ecc_tensor *t = v ? ecc_value_const(v) : NULL;
    return t && t->dtype == ECC_DTYPE_FLOAT && t->rank == 1 && t->dims[0] == n;
}

static ecc_status new_init(ecc_ctx *ctx, ecc_graph *g, const char *base, ecc_tensor *t,
                           ecc_value **out) {
    ecc_status st = ECC_OK;
    const char *name = ecc_graph_unique_name(g, base);
    ECC_FAIL_IF(!name, ctx, ECC_E_INTERNAL, "out of memory");
    ECC_TRY(ecc_graph_add_value(ctx, g, name, out));
    ECC_TRY(ecc_graph_set_initializer(ctx, g, *out, t));
    ECC_TRY(ecc_value_set_shape(ctx, *out, t->dtype, t->rank, t->dims));
fail:
    return st;
}

/* A pruning mask survives folding (rows or columns are scaled: zeros stay
 * zero), so a clone of a masked weight carries the same mask. */
static ecc_status copy_mask(ecc_ctx *ctx, const ecc_value *from, ecc_value *to) {
    if (!from->mask) return ECC_OK;
    ecc_mask *m = malloc(sizeof *m);
    if (!m) return ECC_OOM(ctx);
    *m = *from->mask;
    m->keep = from->mask->keep ? ecc_tensor_ref(from->mask->keep) : NULL;
    ecc_value_set_mask(to, m);
    return ECC_OK;
}

/* The weight at slot of n, writable: cloned into a new initializer when
 * another node (or a graph output) reads the value, unshared otherwise. */
static ecc_status writable_weight(bn_fold *f, ecc_node *n, uint32_t slot, float **out) {
    ecc_status st = ECC_OK;
    ecc_tensor *copy = NULL;
    ecc_value *w = n->inputs[slot];
    if (w->n_uses > 1 || (w->flags & ECC_VALUE_OUTPUT)) {
        ecc_value *nw = NULL;
        ECC_TRY(ecc_tensor_clone(f->ctx, w->init, &copy));
        ECC_TRY(new_init(f->ctx, f->g, w->name, copy, &nw));
        ECC_TRY(copy_mask(f->ctx, w, nw));
        ecc_node_set_input(n, slot, nw);
        w = nw;
    } else {
        ECC_TRY(ecc_tensor_make_unique(f->ctx, &w->init));
    }
    *out = w->init->data;
fail:
    ecc_tensor_unref(copy);
    return st;
}

/* A new float32 [c] initializer named after the BN's own bias ("bn1.bias_folded_0"). */
static ecc_status new_bias(bn_fold *f, ecc_value **out, float **data) {
    ecc_status st = ECC_OK;
    ecc_tensor *t = NULL;
    char base[512];
    const ecc_value *bn_bias = f->bn->n_inputs > 2 ? f->bn->inputs[2] : NULL;
    if (bn_bias) snprintf(base, sizeof base, "%s_folded", bn_bias->name);
    else snprintf(base, sizeof base, "%s_bias", f->y->name);
    ECC_TRY(ecc_tensor_create(f->ctx, ECC_DTYPE_FLOAT, 1, &f->c, &t));
    ECC_TRY(new_init(f->ctx, f->g, base, t, out));
    *data = t->data;
fail:
    ecc_tensor_unref(t);
    return st;
}

/* Replaces *np by a copy with input slot set to v (the input list grows). */
static ecc_status node_with_input(bn_fold *f, ecc_node **np, uint32_t slot, ecc_value *v) {
    ecc_status st = ECC_OK;
    enum { MAX_IO = 16 };
    ecc_node *old = *np, *n = NULL;
    ecc_value *ins[MAX_IO] = {0}, *outs[MAX_IO] = {0}, *none[MAX_IO] = {0};
    uint32_t n_in = old->n_inputs > slot ? old->n_inputs : slot + 1;
    ECC_FAIL_IF(n_in > MAX_IO || old->n_outputs > MAX_IO, f->ctx, ECC_E_INTERNAL,
                "fold-bn: node '%s' has too many inputs", old->name);
    memcpy(ins, old->inputs, old->n_inputs * sizeof *ins);
    memcpy(outs, old->outputs, old->n_outputs * sizeof *outs);
    ins[slot] = v;
    ECC_TRY(ecc_graph_insert_node(f->ctx, f->g, ecc_graph_index_of(f->g, old), old->op_type,
                                  old->domain, old->name, ins, n_in, none, old->n_outputs, &n));
    for (uint32_t a = 0; a < old->n_attrs; a++)
        ECC_TRY(ecc_node_set_attr(f->ctx, n, &old->attrs[a]));
    n->doc_string = old->doc_string;
    n->unknown = old->unknown;
    old->unknown = (ecc_blob){0};
    ecc_graph_remove_node(f->g, old);
    for (uint32_t i = 0; i < n->n_outputs; i++)
        if (outs[i]) ECC_TRY(ecc_node_set_output(f->ctx, n, i, outs[i]));
    *np = n;
fail:
    return st;
}

static void drop_value_info(ecc_graph *g, const ecc_value *v) {
    for (size_t i = g->value_infos.n; i-- > 0;)
        if (g->value_infos.items[i] == v) ecc_ptrvec_remove_at(&g->value_infos, i);
}

/* Drops an initializer nothing reads any more. */
static void drop_if_dead(ecc_graph *g, ecc_value *v) {
    if (v && v->init && v->graph == g && v->n_uses == 0 &&
        !(v->flags & (ECC_VALUE_INPUT | ECC_VALUE_OUTPUT)))
        ecc_graph_drop_initializer(g, v);
}

/* The producer now writes the BN output directly; the BN disappears. */
static ecc_status bn_bypass(bn_fold *f) {
    ecc_graph_remove_node(f->g, f->bn);
    ecc_status st = ecc_node_set_output(f->ctx, f->prod, 0, f->y);
    if (st == ECC_OK) drop_value_info(f->g, f->x);
    return st;
}

/* ---------------- arithmetic ---------------- */

static void scale_rows(float *w, int64_t rows, int64_t row_len, const double *s) {
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < row_len; j++)
            w[r * row_len + j] = (float)((double)w[r * row_len + j] * s[r]);
}

static void scale_cols(float *w, int64_t rows, int64_t cols, const double *s) {
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < cols; j++)
            w[r * cols + j] = (float)((double)w[r * cols + j] * s[j]);
}

/* ---------------- Conv ---------------- */

static const char *conv_check(const bn_fold *f) {
    const ecc_value *w = input_at(f->prod, 1), *b = input_at(f->prod, 2);
    const char *why = weight_problem(w);
    if (why) return why;
    if (w->init->rank < 3 || w->init->dims[0] != f->c)
        return "Conv weight is not [channels, C/group, k...] for this BatchNormalization";
    if (b && (b->quant || b->mask)) return "Conv bias carries a quantization annotation";
    if (b && (weight_problem(b) || !is_f32_vector(b, f->c)))
        return "Conv bias is not a float32 [channels] initializer";
    return NULL;
}

static ecc_status conv_apply(bn_fold *f) {
    ecc_status st = ECC_OK;
    float *w = NULL, *b = NULL;
    ECC_TRY(writable_weight(f, f->prod, 1, &w));
    scale_rows(w, f->c, f->prod->inputs[1]->init->numel / f->c, f->scale);
    if (input_at(f->prod, 2)) {
        ECC_TRY(writable_weight(f, f->prod, 2, &b));
        for (int64_t m = 0; m < f->c; m++)
            b[m] = (float)((double)b[m] * f->scale[m] + f->shift[m]);
    } else {
        ecc_value *bv = NULL;
        ECC_TRY(new_bias(f, &bv, &b));
        for (int64_t m = 0; m < f->c; m++) b[m] = (float)f->shift[m];
        ECC_TRY(node_with_input(f, &f->prod, 2, bv));
    }
    ECC_TRY(bn_bypass(f));
fail:
    return st;
}

/* ---------------- Gemm ---------------- */

/* Bias C must broadcast per column: scalar, [N] or [1, N]. */
static bool gemm_c_ok(const ecc_value *cv, int64_t n) {
    const ecc_tensor *t = ecc_value_const(cv);
    if (!t || t->dtype != ECC_DTYPE_FLOAT) return false;
    if (t->numel == 1) return true;
    return t->numel == n && (t->rank == 1 || (t->rank == 2 && t->dims[0] == 1));
}

static const char *gemm_check(const bn_fold *f) {
    const ecc_value *w = input_at(f->prod, 1), *cv = input_at(f->prod, 2);
    const char *why = weight_problem(w);
    if (why) return why;
    int64_t trans_b = ecc_node_attr_int(f->prod, "transB", 0);
    if (w->init->rank != 2 || w->init->dims[trans_b ? 0 : 1] != f->c)
        return "Gemm weight B does not have the BatchNormalization's channels as N";
    if (cv && cv->quant) return "Gemm bias C carries a quantization annotation";
    if (cv && !gemm_c_ok(cv, f->c)) return "Gemm bias C is not a float32 scalar, [N] or [1, N]";
    return NULL;
}

static ecc_status gemm_apply(bn_fold *f) {
    ecc_status st = ECC_OK;
    float *w = NULL, *c = NULL;
    ecc_value *old_c = input_at(f->prod, 2), *cv = NULL;
    const ecc_tensor *ct = old_c ? ecc_value_const(old_c) : NULL;
    double beta = ecc_node_attr_float(f->prod, "beta", 1.0f);
    ECC_TRY(writable_weight(f, f->prod, 1, &w));
    const ecc_tensor *bt = f->prod->inputs[1]->init;
    if (ecc_node_attr_int(f->prod, "transB", 0))
        scale_rows(w, bt->dims[0], bt->dims[1], f->scale);
    else
        scale_cols(w, bt->dims[0], bt->dims[1], f->scale);
    ECC_TRY(new_bias(f, &cv, &c));
    for (int64_t n = 0; n < f->c; n++) {
        double old = ct ? ((const float *)ct->data)[ct->numel == 1 ? 0 : n] : 0.0;
        c[n] = (float)(f->scale[n] * beta * old + f->shift[n]);
    }
    if (old_c)
        ecc_node_set_input(f->prod, 2, cv);
    else
        ECC_TRY(node_with_input(f, &f->prod, 2, cv));
    drop_if_dead(f->g, old_c);
    ECC_TRY(ecc_node_set_attr_float(f->ctx, f->prod, "beta", 1.0f));
    ECC_TRY(bn_bypass(f));
fail:
    return st;
}

/* ---------------- MatMul ---------------- */

/* Rank of v when known: typed, or produced by an op whose output is 2-D. */
static int32_t rank_of(const ecc_value *v) {
    if (v->rank >= 0) return v->rank;
    if (v->producer && (is_onnx(v->producer, "Flatten") || is_onnx(v->producer, "Gemm")))
        return 2;
    return -1;
}

static const char *matmul_check(const bn_fold *f) {
    const ecc_value *a = input_at(f->prod, 0), *w = input_at(f->prod, 1);
    const char *why = weight_problem(w);
    if (why) return why;
    if (w->init->rank != 2 || w->init->dims[1] != f->c)
        return "MatMul weight is not [K, channels]";
    if (!(rank_of(f->x) == 2 || (a && rank_of(a) == 2) || rank_of(f->y) == 2))
        return "MatMul output is not known to be 2-D (BatchNormalization normalizes axis 1)";
    return NULL;
}

static ecc_status matmul_apply(bn_fold *f) {
    ecc_status st = ECC_OK;
    float *w = NULL, *b = NULL;
    ecc_value *bv = NULL;
    ECC_TRY(writable_weight(f, f->prod, 1, &w));
    const ecc_tensor *wt = f->prod->inputs[1]->init;
    scale_cols(w, wt->dims[0], wt->dims[1], f->scale);
    ECC_TRY(new_bias(f, &bv, &b));
    for (int64_t n = 0; n < f->c; n++) b[n] = (float)f->shift[n];
    size_t at = ecc_graph_index_of(f->g, f->bn);
    const char *name = f->bn->name;
    ecc_graph_remove_node(f->g, f->bn);
    ecc_value *ins[2] = {f->x, bv};
    ECC_TRY(ecc_graph_insert_node(f->ctx, f->g, at, "Add", "", name, ins, 2, &f->y, 1, NULL));
fail:
    return st;
}

static const struct {
    const char *op;
    bn_check_fn check;
    bn_apply_fn apply;
} bn_producers[] = {
    {"Conv", conv_check, conv_apply},
    {"Gemm", gemm_check, gemm_apply},
    {"MatMul", matmul_check, matmul_apply},
};

/* ---------------- BatchNormalization ---------------- */

/* Why the BN itself cannot be folded (NULL when it can). */
static const char *bn_problem(const ecc_node *bn) {
    if (bn->n_inputs != 5 || !bn->inputs[0] || bn->n_outputs < 1 || !bn->outputs[0])
        return "unexpected inputs/outputs";
    if (ecc_node_attr_int(bn, "training_mode", 0) != 0) return "training_mode is set";
    if (ecc_node_attr_int(bn, "spatial", 1) != 1) return "spatial=0 is not supported";
    for (uint32_t i = 1; i < bn->n_outputs; i++) {
        const ecc_value *o = bn->outputs[i];
        if (o && (o->n_uses || (o->flags & ECC_VALUE_OUTPUT)))
            return "its running mean/variance outputs are used";
    }
    const ecc_tensor *gamma = ecc_value_const(bn->inputs[1]);
    if (!gamma || gamma->rank != 1) return "scale is not a constant vector";
    for (uint32_t i = 1; i < 5; i++)
        if (!is_f32_vector(bn->inputs[i], gamma->dims[0]))
            return "scale, B, mean and var are not float32 constants of one length";
    for (uint32_t i = 1; i < 5; i++)
        if (bn->inputs[i]->quant)
            return "a parameter carries a quantization annotation (final; run fold-bn before "
                   "quant-const)";
    const ecc_value *x = bn->inputs[0];
    if (!x->producer) return "its input is not produced by a node";
    if (x->n_uses != 1 || (x->flags & ECC_VALUE_OUTPUT))
        return "its input is also read elsewhere";
    return NULL;
}

/* scale = gamma / sqrt(var + eps), shift = beta - mean * scale. */
static ecc_status bn_params(bn_fold *f, const char **why) {
    const ecc_node *bn = f->bn;
    const float *gamma = ecc_value_const(bn->inputs[1])->data;
    const float *beta = ecc_value_const(bn->inputs[2])->data;
    const float *mean = ecc_value_const(bn->inputs[3])->data;
    const float *var = ecc_value_const(bn->inputs[4])->data;
    double eps = ecc_node_attr_float(bn, "epsilon", 1e-5f);
    f->scale = malloc((size_t)f->c * sizeof *f->scale);
    f->shift = malloc((size_t)f->c * sizeof *f->shift);
    if (!f->scale || !f->shift) return ECC_OOM(f->ctx);
    for (int64_t i = 0; i < f->c; i++) {
        double d = (double)var[i] + eps;
        if (!(d > 0)) {
            *why = "variance + epsilon is not positive";
            return ECC_OK;
        }
        f->scale[i] = (double)gamma[i] / sqrt(d);
        f->shift[i] = (double)beta[i] - (double)mean[i] * f->scale[i];
    }
    return ECC_OK;
}

typedef struct bn_counts {
    const ecc_host_api *host;
    ecc_pass_run *run;
    size_t folded, skipped;
} bn_counts;

static ecc_status fold_one(ecc_ctx *ctx, ecc_graph *g, ecc_node *bn, bn_counts *cnt) {
    ecc_status st = ECC_OK;
    bn_fold f = {.ctx = ctx, .g = g, .bn = bn};
    const char *why = bn_problem(bn);
    size_t k = sizeof bn_producers / sizeof bn_producers[0];
    if (!why) {
        f.x = bn->inputs[0];
        f.y = bn->outputs[0];
        f.prod = f.x->producer;
        f.c = ecc_value_const(bn->inputs[1])->dims[0];
        for (k = 0; k < sizeof bn_producers / sizeof bn_producers[0]; k++)
            if (is_onnx(f.prod, bn_producers[k].op)) break;
        if (k == sizeof bn_producers / sizeof bn_producers[0])
            why = "its input does not come from Conv, Gemm or MatMul";
        else if (f.prod->outputs[0] != f.x)
            why = "its input is not the producer's first output";
        else
            why = bn_producers[k].check(&f);
    }
    if (!why) ECC_TRY(bn_params(&f, &why));
    if (why) {
        cnt->skipped++;
        cnt->host->log(cnt->run, "BatchNormalization '%s' not folded: %s", bn->name, why);
        goto fail;
    }
    ecc_value *params[4];
    memcpy(params, bn->inputs + 1, sizeof params);
    ECC_TRY(bn_producers[k].apply(&f));
    for (int i = 0; i < 4; i++) drop_if_dead(g, params[i]);
    cnt->folded++;
fail:
    free(f.scale);
    free(f.shift);
    return st;
}

static ecc_status fold_graph(ecc_ctx *ctx, ecc_graph *g, void *arg) {
    ecc_status st = ECC_OK;
    ecc_ptrvec bns = {0};
    for (size_t i = 0; i < g->nodes.n; i++)
        if (is_onnx(g->nodes.items[i], "BatchNormalization"))
            ECC_FAIL_IF(!ecc_ptrvec_push(&bns, g->nodes.items[i]), ctx, ECC_E_INTERNAL,
                        "out of memory");
    for (size_t i = 0; i < bns.n; i++) ECC_TRY(fold_one(ctx, g, bns.items[i], arg));
fail:
    ecc_ptrvec_free(&bns);
    return st;
}

ecc_status ecc_fold_bn_model(const ecc_host_api *host, ecc_pass_run *run, size_t *folded) {
    bn_counts c = {.host = host, .run = run};
    ecc_status st = ecc_model_each_graph(run->ctx, run->model, fold_graph, &c);
    host->stat(run, "folded", (double)c.folded);
    host->stat(run, "skipped", (double)c.skipped);
    if (folded) *folded = c.folded;
    return st;
}

static int fold_bn_run(const ecc_host_api *host, ecc_pass_run *run) {
    return (int)ecc_fold_bn_model(host, run, NULL);
}

const ecc_pass_desc ecc_pass_fold_bn = {
    .struct_size = sizeof(ecc_pass_desc),
    .name = "fold-bn",
    .summary = "fold inference BatchNormalization into the preceding Conv, Gemm or MatMul",
    .run = fold_bn_run,
};
