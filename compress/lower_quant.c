/* lower_quant.c — quantizer annotations → standard ONNX (see lower_quant.h).
 * Order within a graph: dynamic rewrites first (they read weight and input
 * quantizers), then int32 biases (they read the scales of the consuming
 * node's input and weight), then weights (DequantizeLinear of integer
 * initializers; a symmetric 8-bit one names an all-zero zero point, which
 * ONNX Runtime's Gemm fusion needs), then static activations (one
 * QuantizeLinear → DequantizeLinear per tensor). The graph is re-sorted at
 * the end. The arithmetic is quant_math.c's, the same the passes measured
 * with. */
#include "lower_quant.h"
#include "quant_math.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct lq {
    ecc_ctx *ctx;
    ecc_graph *g;
    size_t front;            /* next insertion point for constant-only nodes */
    int64_t weights, biases, activations, dynamic, kept_float;
} lq;

/* ---------------- small IR helpers ---------------- */

static bool is_op(const ecc_node *n, const char *op) {
    return strcmp(n->op_type, op) == 0 &&
           (!n->domain || !n->domain[0] || strcmp(n->domain, "ai.onnx") == 0);
}

static const char *fresh(lq *q, const char *base, const char *suffix) {
    char buf[600];
    snprintf(buf, sizeof buf, "%s%s", base, suffix);
    if (!ecc_graph_lookup(q->g, buf)) return ecc_arena_strdup(q->g->model->arena, buf);
    return ecc_graph_unique_name(q->g, buf);
}

static ecc_status new_value(lq *q, const char *base, const char *suffix, ecc_value **out) {
    const char *name = fresh(q, base, suffix);
    if (!name) return ECC_OOM(q->ctx);
    return ecc_graph_add_value(q->ctx, q->g, name, out);
}

/* A new initializer value named base+suffix holding t (reference taken). */
static ecc_status new_init(lq *q, const char *base, const char *suffix, ecc_tensor *t,
                           ecc_value **out) {
    ecc_status st = ECC_OK;
    ECC_TRY(new_value(q, base, suffix, out));
    ECC_TRY(ecc_graph_set_initializer(q->ctx, q->g, *out, t));
    ECC_TRY(ecc_value_set_shape(q->ctx, *out, t->dtype, t->rank, t->dims));
fail:
    return st;
}

/* A float32 initializer: data (n values) with dims. */
static ecc_status f32_init(lq *q, const char *base, const char *suffix, const float *data,
                           int32_t rank, const int64_t *dims, ecc_value **out) {
    ecc_tensor *t = NULL;
    ecc_status st = ecc_tensor_create(q->ctx, ECC_DTYPE_FLOAT, rank, dims, &t);
    if (st == ECC_OK) {
        memcpy(t->data, data, t->nbytes);
        st = new_init(q, base, suffix, t, out);
    }
    ecc_tensor_unref(t);
    return st;
}

static ecc_status add_node(lq *q, size_t pos, const char *op, const char *name,
                           ecc_value *const *ins, uint32_t n_in, ecc_value *const *outs,
                           uint32_t n_out, ecc_node **out) {
    return ecc_graph_insert_node(q->ctx, q->g, pos, op, "", name, ins, n_in, outs, n_out, out);
}

/* Every node input reading `from` reads `to` instead (graph outputs and the
 * node `except` keep reading from). */
static void redirect_inputs(ecc_value *from, ecc_value *to, const ecc_node *except) {
    for (uint32_t k = from->n_uses; k-- > 0;) {
        ecc_use u = from->uses[k];
        if (u.node == except || u.slot == ECC_SLOT_CAPTURE) continue;
        ecc_node_set_input(u.node, u.slot, to);
    }
}

static void drop_if_unused(lq *q, ecc_value *v) {
    if (v->init && v->n_uses == 0 && !(v->flags & (ECC_VALUE_INPUT | ECC_VALUE_OUTPUT)))
        ecc_graph_drop_initializer(q->g, v);
}

static void copy_shape(lq *q, ecc_value *to, const ecc_value *from, int32_t dtype) {
    int64_t dims[16];
    int32_t r = from->rank > 16 ? -1 : from->rank;
    for (int32_t d = 0; d < r; d++) dims[d] = from->dims[d].value;
    if (r >= 0 && ecc_value_set_shape(q->ctx, to, dtype, r, dims) != ECC_OK) ecc_ctx_clear(q->ctx);
    if (r < 0) to->dtype = dtype;
}

/* ---------------- quantized codes of a weight ---------------- */

/* The integer tensor of w under quantizer qz (dims of w, or [dims[0], rest]
 * when the layout is flat); transpose2d: a 2-D weight stored transposed. */
static ecc_status weight_codes(lq *q, const ecc_value *w, const ecc_quantizer *qz,
                               bool transpose2d, ecc_tensor **out) {
    ecc_status st = ECC_OK;
    const ecc_tensor *t = w->init;
    ecc_qlayout L;
    ecc_qformat f = ecc_qformat_of(qz);
    int32_t *zp = NULL;
    uint8_t *codes = NULL;
    *out = NULL;
    ECC_FAIL_IF(!t || t->dtype != ECC_DTYPE_FLOAT, q->ctx, ECC_E_INTERNAL,
                "quantized weight '%s' is not a float32 initializer", w->name);
    ECC_FAIL_IF(!qz->scale, q->ctx, ECC_E_INTERNAL, "weight quantizer of '%s' has no scale",
                w->name);
    ECC_TRY(ecc_qlayout_of(q->ctx, qz, t->rank, t->dims, &L));
    int64_t ng = ecc_qlayout_groups(&L);
    ECC_FAIL_IF(ng != qz->scale->numel, q->ctx, ECC_E_INTERNAL,
                "weight '%s': %lld scales for %lld quantization groups", w->name,
                (long long)qz->scale->numel, (long long)ng);
    ECC_TRY(ecc_quantizer_zero_points(q->ctx, qz, ng, &zp));
    codes = malloc((size_t)t->numel + 1);
    ECC_FAIL_IF(!codes, q->ctx, ECC_E_INTERNAL, "out of memory");
    ecc_qlayout_quantize(t->data, &L, &f, qz->scale->data, zp, codes);
    int64_t dims[8];
    int32_t rank = t->rank;
    bool flat = L.block && t->rank > 2 && !L.per_tensor && L.outer == t->dims[0] && L.inner == 1;
    if (flat) {
        rank = 2;
        dims[0] = L.outer;
        dims[1] = L.dim;
    } else {
        for (int32_t d = 0; d < rank; d++) dims[d] = t->dims[d];
    }
    if (transpose2d) {
        int64_t r = dims[0], c = dims[1];
        uint8_t *tc = malloc((size_t)t->numel + 1);
        ECC_FAIL_IF(!tc, q->ctx, ECC_E_INTERNAL, "out of memory");
        for (int64_t i = 0; i < r; i++)
            for (int64_t j = 0; j < c; j++) tc[j * r + i] = codes[i * c + j];
        free(codes);
        codes = tc;
        dims[0] = c;
        dims[1] = r;
    }
    ECC_TRY(ecc_tensor_create(q->ctx, ecc_qformat_dtype(&f), rank, dims, out));
    if (f.bits == 4)
        ecc_qpack4(codes, t->numel, (*out)->data);
    else
        memcpy((*out)->data, codes, (size_t)t->numel);
fail:
    free(zp);
    free(codes);
    return st;
}

/* ---------------- weights ---------------- */

/* Reshape of the flattened DequantizeLinear output back to the weight dims. */
static ecc_status reshape_back(lq *q, const ecc_value *w, ecc_value *flat_v, ecc_value *out) {
    ecc_status st = ECC_OK;
    ecc_tensor *shape = NULL;
    ecc_value *sv = NULL;
    int64_t r = w->init->rank;
    ECC_TRY(ecc_tensor_create(q->ctx, ECC_DTYPE_INT64, 1, &r, &shape));
    memcpy(shape->data, w->init->dims, (size_t)r * sizeof(int64_t));
    ECC_TRY(new_init(q, w->name, "_shape", shape, &sv));
    ecc_value *ins[2] = {flat_v, sv};
    ECC_TRY(add_node(q, q->front++, "Reshape", fresh(q, w->name, "_Reshape"), ins, 2, &out, 1,
                     NULL));
fail:
    ecc_tensor_unref(shape);
    return st;
}

/* An all-zero initializer of dtype shaped like scale, named for its type
 * and size ("int8_32_zero_point") and shared by every weight that needs the
 * same one. */
static ecc_status shared_zeros(lq *q, int32_t dtype, const ecc_tensor *scale, ecc_value **out) {
    ecc_status st = ECC_OK;
    ecc_tensor *zeros = NULL;
    char name[48];
    snprintf(name, sizeof name, "%s_%lld_zero_point", ecc_dtype_name(dtype),
             (long long)scale->numel);
    ECC_TRY(ecc_tensor_create(q->ctx, dtype, scale->rank, scale->dims, &zeros));
    ecc_value *have = ecc_graph_lookup(q->g, name);
    if (have && have->init && ecc_tensor_equal(have->init, zeros))
        *out = have;
    else
        ECC_TRY(new_init(q, name, "", zeros, out));
fail:
    ecc_tensor_unref(zeros);
    return st;
}

/* The zero point input of a weight's DequantizeLinear: the quantizer's own,
 * or, for a symmetric 8-bit weight without blocks, zeros of the codes' type
 * shaped like the scale (NULL otherwise). ONNX reads an absent zero point as
 * 0, but ONNX Runtime fuses DequantizeLinear → Gemm into QGemm only when it
 * is given: 1.30 leaves such a Gemm in float, and 1.17 fuses it and then
 * fails at run time ("zero point and scale of input b should have same
 * shape size"). */
static ecc_status weight_zero_point(lq *q, const ecc_value *w, const ecc_tensor *codes,
                                    ecc_value **out) {
    const ecc_quantizer *qz = w->quant;
    *out = NULL;
    if (qz->zero_point) return new_init(q, w->name, "_zero_point", qz->zero_point, out);
    if (qz->bits != 8 || qz->granularity == ECC_QUANT_BLOCK) return ECC_OK;
    return shared_zeros(q, codes->dtype, qz->scale, out);
}

static ecc_status lower_weight(lq *q, ecc_value *w) {
    ecc_status st = ECC_OK;
    const ecc_quantizer *qz = w->quant;
    ecc_tensor *codes = NULL;
    ecc_value *cv = NULL, *sv = NULL, *zv = NULL, *dq = NULL, *flat_v = NULL;
    if (w->n_uses == 0) goto done; /* every reader was rewritten (dynamic) */
    ECC_TRY(weight_codes(q, w, qz, false, &codes));
    ECC_TRY(new_init(q, w->name, "_quantized", codes, &cv));
    ECC_TRY(new_init(q, w->name, "_scale", qz->scale, &sv));
    ECC_TRY(weight_zero_point(q, w, codes, &zv));
    ECC_TRY(new_value(q, w->name, "_dequantized", &dq));
    bool flat = codes->rank != w->init->rank;
    if (flat) ECC_TRY(new_value(q, w->name, "_dequantized_flat", &flat_v));
    ecc_value *ins[3] = {cv, sv, zv};
    ecc_node *n = NULL;
    ECC_TRY(add_node(q, q->front++, "DequantizeLinear", fresh(q, w->name, "_DequantizeLinear"),
                     ins, zv ? 3 : 2, flat ? &flat_v : &dq, 1, &n));
    if (qz->granularity != ECC_QUANT_TENSOR) ECC_TRY(ecc_node_set_attr_int(q->ctx, n, "axis", qz->axis));
    if (qz->granularity == ECC_QUANT_BLOCK)
        ECC_TRY(ecc_node_set_attr_int(q->ctx, n, "block_size", qz->block_size));
    if (flat) ECC_TRY(reshape_back(q, w, flat_v, dq));
    ECC_TRY(ecc_value_set_shape(q->ctx, dq, ECC_DTYPE_FLOAT, w->init->rank, w->init->dims));
    redirect_inputs(w, dq, NULL);
    q->weights++;
done:
    ecc_value_set_quantizer(w, NULL);
    drop_if_unused(q, w);
fail:
    ecc_tensor_unref(codes);
    return st;
}

/* ---------------- biases ---------------- */

/* Output-channel scales of the weight quantizer of node n (count = channels),
 * or NULL when it has none usable for a bias (blocks, wrong axis). */
static const float *weight_channel_scales(const ecc_node *n, int64_t channels, bool *per_channel) {
    const ecc_value *w = n->n_inputs > 1 ? n->inputs[1] : NULL;
    const ecc_quantizer *qz = w ? w->quant : NULL;
    if (!qz || !qz->scale || qz->bits == 32 || !w->init) return NULL;
    if (qz->granularity == ECC_QUANT_TENSOR) {
        *per_channel = false;
        return qz->scale->data;
    }
    if (qz->granularity != ECC_QUANT_CHANNEL || qz->scale->numel != channels) return NULL;
    int32_t want = 0;
    if (is_op(n, "Gemm")) want = ecc_node_attr_int(n, "transB", 0) ? 0 : 1;
    int32_t axis = qz->axis < 0 ? qz->axis + w->init->rank : qz->axis;
    if (axis != want) return NULL;
    *per_channel = true;
    return qz->scale->data;
}

static const float *input_scale(const ecc_node *n) {
    const ecc_value *x = n->inputs[0];
    const ecc_quantizer *qz = x ? x->quant : NULL;
    if (!qz || !qz->scale || qz->granularity != ECC_QUANT_TENSOR || qz->bits == 32) return NULL;
    return qz->scale->data;
}

/* Bias b of node n (slot 2) as int32 with scale s_x·s_w; false (b stays
 * float) when the node's input or weight is not quantized. */
static ecc_status lower_bias_use(lq *q, ecc_value *b, ecc_node *n, bool *done) {
    ecc_status st = ECC_OK;
    ecc_tensor *codes = NULL, *scale = NULL;
    ecc_value *cv = NULL, *sv = NULL, *dq = NULL;
    const ecc_tensor *bt = b->init;
    bool per_channel = false;
    *done = false;
    if (!bt || bt->dtype != ECC_DTYPE_FLOAT || bt->rank != 1) goto fail;
    if (!(is_op(n, "Conv") || (is_op(n, "Gemm") && !ecc_node_attr_int(n, "transA", 0))))
        goto fail;
    const float *sx = input_scale(n), *sw = weight_channel_scales(n, bt->dims[0], &per_channel);
    if (!sx || !sw) goto fail;
    int64_t c = bt->dims[0], sdim = per_channel ? c : 1;
    ECC_TRY(ecc_tensor_create(q->ctx, ECC_DTYPE_INT32, 1, &c, &codes));
    ECC_TRY(ecc_tensor_create(q->ctx, ECC_DTYPE_FLOAT, per_channel ? 1 : 0, &sdim, &scale));
    const float *bv = bt->data;
    float *s = scale->data;
    int32_t *iv = codes->data;
    for (int64_t i = 0; i < sdim; i++) s[i] = sx[0] * sw[per_channel ? i : 0];
    for (int64_t i = 0; i < c; i++) {
        float si = s[per_channel ? i : 0];
        double r = si > 0 ? (double)ecc_qround(bv[i] / si) : 0;
        if (!(fabs(r) < 2147483647.0)) goto fail; /* would overflow: keep float */
        iv[i] = (int32_t)r;
    }
    ECC_TRY(new_init(q, b->name, "_quantized", codes, &cv));
    ECC_TRY(new_init(q, b->name, "_scale", scale, &sv));
    ECC_TRY(new_value(q, b->name, "_dequantized", &dq));
    ecc_value *ins[2] = {cv, sv};
    ecc_node *d = NULL;
    ECC_TRY(add_node(q, q->front++, "DequantizeLinear", fresh(q, b->name, "_DequantizeLinear"),
                     ins, 2, &dq, 1, &d));
    if (per_channel) ECC_TRY(ecc_node_set_attr_int(q->ctx, d, "axis", 0));
    ECC_TRY(ecc_value_set_shape(q->ctx, dq, ECC_DTYPE_FLOAT, 1, &c));
    ecc_node_set_input(n, 2, dq);
    *done = true;
fail:
    ecc_tensor_unref(codes);
    ecc_tensor_unref(scale);
    return st;
}

static ecc_status lower_bias(lq *q, ecc_value *b) {
    ecc_status st = ECC_OK;
    ecc_node **users = calloc(b->n_uses + 1, sizeof *users);
    uint32_t *slots = calloc(b->n_uses + 1, sizeof *slots);
    uint32_t n = b->n_uses;
    ECC_FAIL_IF(!users || !slots, q->ctx, ECC_E_INTERNAL, "out of memory");
    for (uint32_t k = 0; k < n; k++) {
        users[k] = b->uses[k].node;
        slots[k] = b->uses[k].slot;
    }
    for (uint32_t k = 0; k < n; k++) {
        bool done = false;
        if (slots[k] == 2) ECC_TRY(lower_bias_use(q, b, users[k], &done));
        if (done) q->biases++;
        else ecc_log(q->ctx, 1, "  lowering: bias '%s' of node '%s' stays float32 (its input "
                     "or weight is not statically quantized)", b->name, users[k]->name);
    }
    ecc_value_set_quantizer(b, NULL);
    drop_if_unused(q, b);
fail:
    free(users);
    free(slots);
    return st;
}

/* ---------------- static activations ---------------- */

static size_t after_producer(lq *q, const ecc_value *v) {
    if (!v->producer) return q->front;
    size_t i = ecc_graph_index_of(q->g, v->producer);
    return i == SIZE_MAX ? q->g->nodes.n : i + 1;
}

static ecc_status lower_activation(lq *q, ecc_value *v) {
    ecc_status st = ECC_OK;
    const ecc_quantizer *qz = v->quant;
    ecc_value *sv = NULL, *zv = NULL, *qv = NULL, *dq = NULL;
    ecc_node *qn = NULL;
    bool used = false;
    for (uint32_t k = 0; k < v->n_uses; k++) used |= v->uses[k].slot != ECC_SLOT_CAPTURE;
    if (!used) goto done;
    ECC_FAIL_IF(qz->granularity != ECC_QUANT_TENSOR || !qz->scale || qz->scale->numel != 1,
                q->ctx, ECC_E_INTERNAL, "activation '%s': only per-tensor quantizers with a "
                "scale are lowered", v->name);
    ECC_TRY(new_init(q, v->name, "_scale", qz->scale, &sv));
    if (qz->zero_point) ECC_TRY(new_init(q, v->name, "_zero_point", qz->zero_point, &zv));
    ECC_TRY(new_value(q, v->name, "_quantized", &qv));
    ECC_TRY(new_value(q, v->name, "_dequantized", &dq));
    ecc_qformat f = ecc_qformat_of(qz);
    copy_shape(q, qv, v, ecc_qformat_dtype(&f));
    copy_shape(q, dq, v, ECC_DTYPE_FLOAT);
    size_t pos = after_producer(q, v);
    if (!v->producer) q->front += 2;
    ecc_value *qin[3] = {v, sv, zv};
    ECC_TRY(add_node(q, pos, "QuantizeLinear", fresh(q, v->name, "_QuantizeLinear"), qin,
                     zv ? 3 : 2, &qv, 1, &qn));
    ecc_value *din[3] = {qv, sv, zv};
    ECC_TRY(add_node(q, pos + 1, "DequantizeLinear", fresh(q, v->name, "_DequantizeLinear"),
                     din, zv ? 3 : 2, &dq, 1, NULL));
    redirect_inputs(v, dq, qn);
    q->activations++;
done:
    ecc_value_set_quantizer(v, NULL);
fail:
    return st;
}

/* ---------------- dynamic (ORT's integer-op form) ---------------- */

typedef struct dyn_in {
    ecc_value *xq, *xs, *xz;
} dyn_in;

/* One DynamicQuantizeLinear for x, after its producer. */
static ecc_status dyn_quantize(lq *q, ecc_value *x, dyn_in *d) {
    ecc_status st = ECC_OK;
    ECC_TRY(new_value(q, x->name, "_quantized", &d->xq));
    ECC_TRY(new_value(q, x->name, "_scale", &d->xs));
    ECC_TRY(new_value(q, x->name, "_zero_point", &d->xz));
    copy_shape(q, d->xq, x, ECC_DTYPE_UINT8);
    ECC_TRY(ecc_value_set_shape(q->ctx, d->xs, ECC_DTYPE_FLOAT, 0, NULL));
    ECC_TRY(ecc_value_set_shape(q->ctx, d->xz, ECC_DTYPE_UINT8, 0, NULL));
    size_t pos = after_producer(q, x);
    if (!x->producer) q->front++;
    ecc_value *outs[3] = {d->xq, d->xs, d->xz};
    ECC_TRY(add_node(q, pos, "DynamicQuantizeLinear", fresh(q, x->name, "_DynamicQuantizeLinear"),
                     &x, 1, outs, 3, NULL));
fail:
    return st;
}

/* Why node n (reading x at slot 0) is not rewritten dynamically, or NULL. */
static const char *dyn_problem(const ecc_node *n) {
    const ecc_value *w = n->n_inputs > 1 ? n->inputs[1] : NULL;
    if (!w || !w->init || !w->quant || w->quant->bits != 8 || !w->quant->scale)
        return "its weight is not quantized to 8 bits";
    if (w->quant->zero_point && w->quant->granularity != ECC_QUANT_TENSOR)
        return "per-channel weight zero points";
    if (w->quant->granularity == ECC_QUANT_BLOCK) return "blocked weights";
    if (w->init->rank < 2) return "weight rank";
    if (is_op(n, "MatMul")) {
        if (w->init->rank != 2) return "MatMul weight is not 2-D";
        if (w->quant->granularity == ECC_QUANT_CHANNEL && w->quant->axis != 1 &&
            w->quant->axis != -1)
            return "per-channel axis is not the output axis";
        return NULL;
    }
    if (is_op(n, "Gemm")) {
        if (ecc_node_attr_int(n, "transA", 0)) return "transA=1";
        int64_t tb = ecc_node_attr_int(n, "transB", 0);
        if (w->quant->granularity == ECC_QUANT_CHANNEL && w->quant->axis != (tb ? 0 : 1))
            return "per-channel axis is not the output axis";
        const ecc_value *c = n->n_inputs > 2 ? n->inputs[2] : NULL;
        if (c && ecc_node_attr_float(n, "beta", 1.0f) != 1.0f && !c->init)
            return "beta != 1 with a computed C";
        return NULL;
    }
    if (is_op(n, "Conv")) {
        if (w->quant->granularity == ECC_QUANT_CHANNEL && w->quant->axis != 0)
            return "per-channel axis is not the output axis";
        const ecc_value *b = n->n_inputs > 2 ? n->inputs[2] : NULL;
        if (b && (!b->init || b->init->rank != 1)) return "bias is not a constant vector";
        return NULL;
    }
    return "not a MatMul, Gemm or Conv";
}

/* s_w (times alpha) as an initializer shaped to broadcast over the output:
 * scalar, [N] (MatMul/Gemm) or [O, 1, …] (Conv of output rank r). */
static ecc_status dyn_weight_scale(lq *q, const ecc_node *n, const ecc_quantizer *wq,
                                   float alpha, ecc_value **out) {
    ecc_status st = ECC_OK;
    int64_t dims[8] = {0};
    int32_t rank = 0;
    int64_t c = wq->scale->numel;
    float *s = malloc((size_t)c * sizeof *s);
    ECC_FAIL_IF(!s, q->ctx, ECC_E_INTERNAL, "out of memory");
    for (int64_t i = 0; i < c; i++) s[i] = ((const float *)wq->scale->data)[i] * alpha;
    if (wq->granularity == ECC_QUANT_CHANNEL) {
        dims[0] = c;
        rank = 1;
        if (is_op(n, "Conv")) {
            rank = n->inputs[1]->init->rank - 1;
            for (int32_t d = 1; d < rank; d++) dims[d] = 1;
        }
    }
    ECC_TRY(f32_init(q, n->inputs[1]->name, "_weight_scale", s, rank, dims, out));
fail:
    free(s);
    return st;
}

static ecc_status dyn_rewrite(lq *q, ecc_node *n, const dyn_in *d) {
    ecc_status st = ECC_OK;
    ecc_value *w = n->inputs[1], *y = n->outputs[0];
    const ecc_quantizer *wq = w->quant;
    ecc_tensor *codes = NULL;
    ecc_value *cv = NULL, *wz = NULL, *yi = NULL, *yf = NULL, *ws = NULL, *sc = NULL;
    ecc_value *yb = NULL, *bias = NULL;
    bool conv = is_op(n, "Conv"), gemm = is_op(n, "Gemm");
    bool transpose = gemm && ecc_node_attr_int(n, "transB", 0);
    float alpha = gemm ? ecc_node_attr_float(n, "alpha", 1.0f) : 1.0f;
    float beta = gemm ? ecc_node_attr_float(n, "beta", 1.0f) : 1.0f;
    ecc_value *c_in = n->n_inputs > 2 ? n->inputs[2] : NULL;
    const char *base = n->name && n->name[0] ? n->name : y->name;
    size_t pos = ecc_graph_index_of(q->g, n);
    ECC_TRY(weight_codes(q, w, wq, transpose, &codes));
    ECC_TRY(new_init(q, w->name, "_quantized", codes, &cv));
    if (wq->zero_point) ECC_TRY(new_init(q, w->name, "_zero_point", wq->zero_point, &wz));
    ECC_TRY(dyn_weight_scale(q, n, wq, alpha, &ws));
    ECC_TRY(new_value(q, base, "_int32", &yi));
    ECC_TRY(new_value(q, base, "_float", &yf));
    ECC_TRY(new_value(q, base, "_scale", &sc));
    ecc_value *iin[4] = {d->xq, cv, d->xz, wz};
    ecc_node *in_node = NULL;
    ECC_TRY(add_node(q, pos++, conv ? "ConvInteger" : "MatMulInteger",
                     fresh(q, base, conv ? "_ConvInteger" : "_MatMulInteger"), iin, wz ? 4 : 3,
                     &yi, 1, &in_node));
    for (uint32_t a = 0; conv && a < n->n_attrs; a++)
        ECC_TRY(ecc_node_set_attr(q->ctx, in_node, &n->attrs[a]));
    ecc_node *cast = NULL;
    ECC_TRY(add_node(q, pos++, "Cast", fresh(q, base, "_Cast"), &yi, 1, &yf, 1, &cast));
    ECC_TRY(ecc_node_set_attr_int(q->ctx, cast, "to", ECC_DTYPE_FLOAT));
    ecc_value *sin[2] = {d->xs, ws};
    ECC_TRY(add_node(q, pos++, "Mul", fresh(q, base, "_scale_Mul"), sin, 2, &sc, 1, NULL));
    if (c_in) {
        const ecc_tensor *ct = c_in->init;
        if (conv || (ct && beta != 1.0f)) {
            int64_t dims[8];
            int32_t rank = ct->rank;
            for (int32_t k = 0; k < rank; k++) dims[k] = ct->dims[k];
            if (conv) {
                rank = w->init->rank - 1;
                dims[0] = ct->numel;
                for (int32_t k = 1; k < rank; k++) dims[k] = 1;
            }
            float *cb = malloc((size_t)ct->numel * sizeof *cb + 1);
            ECC_FAIL_IF(!cb, q->ctx, ECC_E_INTERNAL, "out of memory");
            for (int64_t i = 0; i < ct->numel; i++) cb[i] = ((const float *)ct->data)[i] * beta;
            st = f32_init(q, c_in->name, "_broadcast", cb, rank, dims, &bias);
            free(cb);
            ECC_TRY(st);
        } else {
            bias = c_in;
        }
    }
    ecc_graph_remove_node(q->g, n); /* its successors now start at pos */
    if (bias) ECC_TRY(new_value(q, base, "_unbiased", &yb));
    ecc_value *min[2] = {yf, sc};
    ECC_TRY(add_node(q, pos++, "Mul", fresh(q, base, "_Mul"), min, 2, bias ? &yb : &y, 1, NULL));
    if (bias) {
        ecc_value *ain[2] = {yb, bias};
        ECC_TRY(add_node(q, pos++, "Add", fresh(q, base, "_Add"), ain, 2, &y, 1, NULL));
    }
    if (c_in) drop_if_unused(q, c_in);
    q->dynamic++;
fail:
    ecc_tensor_unref(codes);
    return st;
}

static ecc_status lower_dynamic(lq *q, ecc_value *x) {
    ecc_status st = ECC_OK;
    ecc_ptrvec users = {0};
    dyn_in d = {0};
    for (uint32_t k = 0; k < x->n_uses; k++) {
        ecc_node *n = x->uses[k].node;
        if (x->uses[k].slot != 0) continue;
        const char *why = dyn_problem(n);
        if (why) {
            ecc_log(q->ctx, 1, "  lowering: node '%s' (%s) stays float32 for dynamic "
                    "quantization: %s", n->name, n->op_type, why);
            continue;
        }
        ECC_FAIL_IF(!ecc_ptrvec_push(&users, n), q->ctx, ECC_E_INTERNAL, "out of memory");
    }
    if (users.n) ECC_TRY(dyn_quantize(q, x, &d));
    for (size_t i = 0; i < users.n; i++) ECC_TRY(dyn_rewrite(q, users.items[i], &d));
    ecc_value_set_quantizer(x, NULL);
fail:
    ecc_ptrvec_free(&users);
    return st;
}

/* ---------------- driver ---------------- */

typedef enum { LQ_DYNAMIC, LQ_BIAS, LQ_WEIGHT, LQ_ACTIVATION, LQ_KIND_COUNT } lq_kind;

static lq_kind kind_of(const ecc_value *v) {
    const ecc_quantizer *qz = v->quant;
    if (qz->bits == 32) return LQ_BIAS;
    if (!qz->scale) return LQ_DYNAMIC;
    if (v->init) return LQ_WEIGHT;
    return LQ_ACTIVATION;
}

typedef ecc_status (*lq_fn)(lq *q, ecc_value *v);
static const lq_fn lq_steps[LQ_KIND_COUNT] = {
    [LQ_DYNAMIC] = lower_dynamic, [LQ_BIAS] = lower_bias,
    [LQ_WEIGHT] = lower_weight,   [LQ_ACTIVATION] = lower_activation,
};

static ecc_status lower_graph(ecc_ctx *ctx, ecc_graph *g, lq *tot) {
    ecc_status st = ECC_OK;
    ecc_ptrvec vals = {0};
    lq q = {.ctx = ctx, .g = g};
    for (size_t i = 0; i < g->values.n; i++)
        if (((ecc_value *)g->values.items[i])->quant)
            ECC_FAIL_IF(!ecc_ptrvec_push(&vals, g->values.items[i]), ctx, ECC_E_INTERNAL,
                        "out of memory");
    if (!vals.n) goto fail;
    for (int k = 0; k < LQ_KIND_COUNT; k++)
        for (size_t i = 0; i < vals.n; i++) {
            ecc_value *v = vals.items[i];
            if (v->quant && kind_of(v) == (lq_kind)k) ECC_TRY(lq_steps[k](&q, v));
        }
    ECC_TRY(ecc_graph_toposort(ctx, g));
    tot->weights += q.weights;
    tot->biases += q.biases;
    tot->activations += q.activations;
    tot->dynamic += q.dynamic;
fail:
    ecc_ptrvec_free(&vals);
    return st;
}

static int64_t graph_opset(const ecc_graph *g, const char **why) {
    int64_t need = 0;
    for (size_t i = 0; i < g->values.n; i++) {
        const ecc_value *v = g->values.items[i];
        if (!v->quant) continue;
        int64_t o = v->quant->scale ? ecc_quantizer_opset(v->quant) : 11;
        if (v->quant->bits == 32) o = 13;
        if (o > need) {
            need = o;
            if (why)
                *why = o >= 21 ? "4-bit or blocked quantization (DequantizeLinear block_size, "
                                 "INT4/UINT4)"
                       : o >= 13 ? "per-axis quantization (QuantizeLinear/DequantizeLinear axis)"
                       : o >= 11 ? "DynamicQuantizeLinear"
                                 : "QuantizeLinear/DequantizeLinear";
        }
    }
    return need;
}

int64_t ecc_model_quant_opset(const ecc_model *m, const char **why) {
    int64_t need = graph_opset(m->graph, why);
    for (size_t i = 0; i < m->subgraphs.n; i++) {
        const char *w = NULL;
        int64_t o = graph_opset(m->subgraphs.items[i], &w);
        if (o > need) {
            need = o;
            if (why) *why = w;
        }
    }
    return need;
}

ecc_status ecc_model_lower_quant(ecc_ctx *ctx, ecc_model *m) {
    ecc_status st = ECC_OK;
    const char *why = NULL;
    int64_t need = ecc_model_quant_opset(m, &why), have = ecc_model_opset(m, "");
    if (!need) return ECC_OK;
    if (have < need) {
        ECC_TRY(ecc_model_upgrade_opset(ctx, m, need, false));
        ecc_log(ctx, 0, "ecc: raised the ai.onnx opset from %lld to %lld for %s",
                (long long)have, (long long)need, why);
    }
    lq tot = {.ctx = ctx};
    ECC_TRY(lower_graph(ctx, m->graph, &tot));
    for (size_t i = 0; i < m->subgraphs.n; i++) ECC_TRY(lower_graph(ctx, m->subgraphs.items[i], &tot));
    ecc_log(ctx, 1, "  lowering: %lld weights, %lld biases, %lld activations quantized, %lld "
            "nodes rewritten for dynamic quantization",
            (long long)tot.weights, (long long)tot.biases, (long long)tot.activations,
            (long long)tot.dynamic);
fail:
    return st;
}
