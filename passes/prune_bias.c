/* prune_bias.c — bias correction for `prune:bias_correct=true`: removing
 * weight w_rj shifts output channel r by w_rj·E[x_j] on average; the pass
 * adds the summed shift back as a constant, so pruning changes the spread of
 * the output but not its mean. The constant goes, in order of preference,
 * into the node's own bias (Conv B, Gemm C divided by beta), the running mean
 * of a BatchNormalization that is the only reader (subtracted), the constant
 * operand of an Add that is the only reader, or a new Add right after the
 * node (output names stay). Constants shared with other readers are copied
 * for this node first; tensors shared with a teacher are copied on write.
 * Sensitivity measures with the same correction made in place and undone
 * (prune_bias_correct_in_place), where that needs no new tensor or node. */
#include "prune_common.h"

#include <stdlib.h>
#include <string.h>

/* Shape of the constant that broadcasts delta over L's output channels. */
static int32_t delta_shape(const wl_layer *L, int64_t *dims) {
    const ecc_value *y = L->node->outputs[0];
    if (wl_is_onnx(L->node, "Conv")) { /* [C, 1, ...] */
        int32_t r = y && y->rank >= 3 ? y->rank - 1 : wl_const(L->w)->rank - 1;
        dims[0] = L->rows;
        for (int32_t i = 1; i < r; i++) dims[i] = 1;
        return r;
    }
    if (L->w_slot == 0) { /* Y = W·X: channels on axis -2 */
        dims[0] = L->rows;
        dims[1] = 1;
        return 2;
    }
    dims[0] = L->rows;
    return 1;
}

/* A float32 constant at slot of n that only n reads, writable. */
static ecc_status own_const(ecc_ctx *ctx, ecc_node *n, uint32_t slot, float **out) {
    ecc_status st = ECC_OK;
    ecc_tensor *copy = NULL;
    ecc_value *v = n->inputs[slot];
    ECC_TRY(wl_materialize(ctx, v));
    if (v->n_uses > 1 || (v->flags & (ECC_VALUE_OUTPUT | ECC_VALUE_INPUT))) {
        ecc_value *nv = NULL;
        const char *name = ecc_graph_unique_name(v->graph, v->name);
        ECC_FAIL_IF(!name, ctx, ECC_E_INTERNAL, "out of memory");
        ECC_TRY(ecc_tensor_clone(ctx, v->init, &copy));
        ECC_TRY(ecc_graph_add_value(ctx, v->graph, name, &nv));
        ECC_TRY(ecc_graph_set_initializer(ctx, v->graph, nv, copy));
        ECC_TRY(ecc_value_set_shape(ctx, nv, copy->dtype, copy->rank, copy->dims));
        ecc_node_set_input(n, slot, nv);
        v = nv;
    } else {
        ECC_TRY(ecc_tensor_make_unique(ctx, &v->init));
    }
    *out = v->init->data;
fail:
    ecc_tensor_unref(copy);
    return st;
}

/* Is the constant at slot of n a float32 tensor of exactly these dims
 * (leading 1s allowed), not quantized by an earlier pass (that is final)? */
static bool const_is(const ecc_node *n, uint32_t slot, int32_t rank, const int64_t *dims) {
    const ecc_value *v = slot < n->n_inputs ? n->inputs[slot] : NULL;
    const ecc_tensor *t = v && !v->quant ? wl_const(v) : NULL;
    if (!t || t->dtype != ECC_DTYPE_FLOAT || t->rank < rank) return false;
    for (int32_t i = 0; i < t->rank - rank; i++)
        if (t->dims[i] != 1) return false;
    for (int32_t i = 0; i < rank; i++)
        if (t->dims[t->rank - rank + i] != dims[i]) return false;
    return true;
}

static void add_scaled(float *d, const double *delta, int64_t rows, double scale) {
    for (int64_t r = 0; r < rows; r++) d[r] = (float)((double)d[r] + scale * delta[r]);
}

static ecc_status add_into(ecc_ctx *ctx, ecc_node *n, uint32_t slot, const double *delta,
                           int64_t rows, double scale) {
    float *d = NULL;
    ecc_status st = own_const(ctx, n, slot, &d);
    if (st) return st;
    add_scaled(d, delta, rows, scale);
    return ECC_OK;
}

/* The only node reading L's output, or NULL. */
static ecc_node *only_reader(const wl_layer *L) {
    const ecc_value *y = L->node->outputs[0];
    if (!y || y->n_uses != 1 || (y->flags & ECC_VALUE_OUTPUT)) return NULL;
    return y->uses[0].slot == ECC_SLOT_CAPTURE ? NULL : y->uses[0].node;
}

/* node → new value `pre`; Add(pre, delta) writes the old output. */
static ecc_status new_add(ecc_ctx *ctx, wl_layer *L, const double *delta, int32_t rank,
                          const int64_t *dims) {
    ecc_status st = ECC_OK;
    ecc_tensor *t = NULL;
    ecc_node *n = L->node, *add = NULL;
    ecc_graph *g = n->graph;
    ecc_value *y = n->outputs[0], *pre = NULL, *dv = NULL;
    char base[512];
    snprintf(base, sizeof base, "%s_before_bias_correction", y->name);
    const char *pre_name = ecc_graph_unique_name(g, base);
    snprintf(base, sizeof base, "%s_bias_correction", y->name);
    const char *d_name = ecc_graph_unique_name(g, base);
    ECC_FAIL_IF(!pre_name || !d_name, ctx, ECC_E_INTERNAL, "out of memory");
    ECC_TRY(ecc_tensor_create(ctx, ECC_DTYPE_FLOAT, rank, dims, &t));
    for (int64_t r = 0; r < L->rows; r++) ((float *)t->data)[r] = (float)delta[r];
    ECC_TRY(ecc_graph_add_value(ctx, g, d_name, &dv));
    ECC_TRY(ecc_graph_set_initializer(ctx, g, dv, t));
    ECC_TRY(ecc_value_set_shape(ctx, dv, t->dtype, t->rank, t->dims));
    ECC_TRY(ecc_graph_add_value(ctx, g, pre_name, &pre));
    if (y->rank >= 0) {
        int64_t yd[16];
        for (int32_t i = 0; i < y->rank && i < 16; i++) yd[i] = y->dims[i].value;
        ECC_TRY(ecc_value_set_shape(ctx, pre, y->dtype, y->rank < 16 ? y->rank : 16, yd));
    }
    ECC_TRY(ecc_node_set_output(ctx, n, 0, pre));
    ecc_value *ins[2] = {pre, dv};
    ECC_TRY(ecc_graph_insert_node(ctx, g, ecc_graph_index_of(g, n) + 1, "Add", "",
                                  ecc_graph_unique_name(g, d_name), ins, 2, &y, 1, &add));
fail:
    ecc_tensor_unref(t);
    return st;
}

typedef enum bias_place { PLACE_BIAS, PLACE_BN_MEAN, PLACE_ADD, PLACE_NEW_ADD } bias_place;
static const char *const place_names[] = {"bias", "bn_mean", "add", "new_add"};

/* Where delta goes: node *at, input slot *slot, multiplied by *scale. */
static bias_place choose(const wl_layer *L, ecc_node **at, uint32_t *slot, double *scale) {
    ecc_node *n = L->node, *next = only_reader(L);
    int64_t dims[16];
    int32_t rank = delta_shape(L, dims);
    *at = n, *slot = 2, *scale = 1.0;
    if (wl_is_onnx(n, "Conv") && const_is(n, 2, 1, dims)) return PLACE_BIAS;
    if (wl_is_onnx(n, "Gemm") && L->w_slot == 1 && const_is(n, 2, 1, dims) &&
        ecc_node_attr_float(n, "beta", 1.0f) != 0.0f) {
        *scale = 1.0 / ecc_node_attr_float(n, "beta", 1.0f);
        return PLACE_BIAS;
    }
    if (next && wl_is_onnx(n, "Conv") && wl_is_onnx(next, "BatchNormalization") &&
        next->n_outputs == 1 && next->inputs[0] == n->outputs[0] && const_is(next, 3, 1, dims)) {
        *at = next, *slot = 3, *scale = -1.0;
        return PLACE_BN_MEAN;
    }
    if (next && wl_is_onnx(next, "Add") && next->n_inputs == 2) {
        uint32_t other = next->inputs[0] == n->outputs[0] ? 1 : 0;
        if (next->inputs[1 - other] == n->outputs[0] && const_is(next, other, rank, dims)) {
            *at = next, *slot = other;
            return PLACE_ADD;
        }
    }
    return PLACE_NEW_ADD;
}

/* delta[r] = Σ_j (before − after)[r, j]·E[x_j] (L->stats.mean): the mean
 * output shift pruning causes in row r; after[i] counts only where keep[i]. */
static void mean_shift(const wl_layer *L, const float *before, const float *after,
                       const uint8_t *keep, double *delta) {
    int64_t rows_per_group = L->rows / L->groups;
    for (int64_t r = 0; r < L->rows; r++) {
        const double *mean = L->stats.mean + (r / rows_per_group) * L->k;
        double d = 0;
        for (int64_t j = 0; j < L->k; j++) {
            int64_t at = r * L->k + j;
            d += ((double)before[at] - (keep[at] ? after[at] : 0.0f)) * mean[j];
        }
        delta[r] = d;
    }
}

/* The data of the float32 initializer L's correction goes into, when it
 * exists and nothing else reads it; else NULL. */
static float *own_bias_in_place(const wl_layer *L, double *scale) {
    ecc_node *at;
    uint32_t slot;
    if (choose(L, &at, &slot, scale) == PLACE_NEW_ADD) return NULL;
    ecc_value *v = at->inputs[slot];
    if (!v->init || v->init->refcount > 1 || v->n_uses != 1 ||
        (v->flags & (ECC_VALUE_OUTPUT | ECC_VALUE_INPUT)))
        return NULL;
    return v->init->data;
}

const char *prune_bias_place(const wl_layer *L) {
    ecc_node *at;
    uint32_t slot;
    double scale;
    return place_names[choose(L, &at, &slot, &scale)];
}

ecc_status prune_bias_add(ecc_ctx *ctx, wl_layer *L, const double *delta, const char **how) {
    ecc_node *at;
    uint32_t slot;
    double scale;
    bias_place p = choose(L, &at, &slot, &scale);
    *how = place_names[p];
    if (p != PLACE_NEW_ADD) return add_into(ctx, at, slot, delta, L->rows, scale);
    int64_t dims[16];
    int32_t rank = delta_shape(L, dims);
    return new_add(ctx, L, delta, rank, dims);
}

/* mean_shift of L into a new array (rows entries), or NULL out of memory. */
static double *shift_of(const wl_layer *L, const float *before, const float *after,
                        const uint8_t *keep) {
    double *delta = malloc((size_t)L->rows * sizeof *delta + 1);
    if (delta) mean_shift(L, before, after, keep, delta);
    return delta;
}

ecc_status prune_bias_correct(ecc_ctx *ctx, wl_layer *L, const float *before,
                              const float *after, const uint8_t *keep, const char **how) {
    double *delta = shift_of(L, before, after, keep);
    if (!delta) return ECC_OOM(ctx);
    ecc_status st = prune_bias_add(ctx, L, delta, how);
    free(delta);
    return st;
}

ecc_status prune_bias_correct_in_place(ecc_ctx *ctx, const wl_layer *L, const float *before,
                                       const float *after, const uint8_t *keep,
                                       prune_bias_undo *u) {
    double scale = 1.0;
    float *at = own_bias_in_place(L, &scale);
    *u = (prune_bias_undo){NULL, NULL, 0};
    if (!at || !L->stats.mean) return ECC_OK;
    double *delta = shift_of(L, before, after, keep);
    float *saved = malloc((size_t)L->rows * sizeof *saved + 1);
    if (!delta || !saved) {
        free(delta);
        free(saved);
        return ECC_OOM(ctx);
    }
    memcpy(saved, at, (size_t)L->rows * sizeof *at);
    add_scaled(at, delta, L->rows, scale);
    free(delta);
    *u = (prune_bias_undo){at, saved, L->rows};
    return ECC_OK;
}

void prune_bias_undo_apply(prune_bias_undo *u) {
    if (u->at) memcpy(u->at, u->saved, (size_t)u->n * sizeof *u->saved);
    free(u->saved);
    *u = (prune_bias_undo){NULL, NULL, 0};
}
