/* opset_upgrade.c — raising a model's ai.onnx opset (see lower_quant.h).
 * Quantized models need opset 13 (per-axis QuantizeLinear/DequantizeLinear)
 * or 21 (INT4/UINT4, block_size); a model exported at a lower opset keeps
 * its meaning only if the nodes whose signature changed on the way are
 * rewritten. A table lists, per op (its ops.def row), the opset of each change and the
 * rewrite; ops without an exact rewrite are refused, naming the node. Ops
 * whose later versions only added types or optional features need nothing. */
#include "lower_quant.h"
#include "op_traits.h"

#include <stdlib.h>
#include <string.h>

typedef struct up_ctx {
    ecc_ctx *ctx;
    ecc_graph *g;
    bool dry;
} up_ctx;

/* A rewrite of node n: returns ECC_OK (rewritten, or nothing to do) or an
 * error naming the node; with u->dry only checks. */
typedef ecc_status (*up_fn)(up_ctx *u, ecc_node *n, int64_t since, const char *arg);

static const char *label(const ecc_node *n) {
    return n->name && n->name[0] ? n->name : (n->outputs[0] ? n->outputs[0]->name : "");
}

static ecc_status refuse(up_ctx *u, const ecc_node *n, int64_t since, const char *why) {
    return ecc_ctx_error(u->ctx, ECC_E_INPUT,
                         "node '%s' (%s): cannot raise the opset past %lld: %s; re-export the "
                         "model at opset %lld or later",
                         label(n), n->op_type, (long long)since - 1, why, (long long)since);
}

/* ---------------- node surgery ---------------- */

/* A new initializer value named after base holding t (a reference is taken). */
static ecc_status add_const(up_ctx *u, const char *base, ecc_tensor *t, ecc_value **out) {
    ecc_status st = ECC_OK;
    const char *name = ecc_graph_lookup(u->g, base) ? ecc_graph_unique_name(u->g, base)
                                                   : ecc_arena_strdup(u->g->model->arena, base);
    ECC_FAIL_IF(!name, u->ctx, ECC_E_INTERNAL, "out of memory");
    ECC_TRY(ecc_graph_add_value(u->ctx, u->g, name, out));
    ECC_TRY(ecc_graph_set_initializer(u->ctx, u->g, *out, t));
    ECC_TRY(ecc_value_set_shape(u->ctx, *out, t->dtype, t->rank, t->dims));
fail:
    return st;
}

static ecc_status add_i64s(up_ctx *u, const ecc_node *n, const char *what, const int64_t *v,
                           size_t count, ecc_value **out) {
    ecc_status st = ECC_OK;
    ecc_tensor *t = NULL;
    int64_t dim = (int64_t)count;
    char base[512];
    snprintf(base, sizeof base, "%s_%s", label(n), what);
    ECC_TRY(ecc_tensor_create(u->ctx, ECC_DTYPE_INT64, 1, &dim, &t));
    if (count) memcpy(t->data, v, count * sizeof *v);
    ECC_TRY(add_const(u, base, t, out));
fail:
    ecc_tensor_unref(t);
    return st;
}

static ecc_status add_f32(up_ctx *u, const ecc_node *n, const char *what, float v,
                          ecc_value **out) {
    ecc_status st = ECC_OK;
    ecc_tensor *t = NULL;
    char base[512];
    snprintf(base, sizeof base, "%s_%s", label(n), what);
    ECC_TRY(ecc_tensor_create(u->ctx, ECC_DTYPE_FLOAT, 0, NULL, &t));
    ((float *)t->data)[0] = v;
    ECC_TRY(add_const(u, base, t, out));
fail:
    ecc_tensor_unref(t);
    return st;
}

/* Replaces n by a copy whose inputs are ins[0..n_in) (same outputs, same
 * attributes but `drop` ones, same position). */
static ecc_status rebuild(up_ctx *u, ecc_node *n, ecc_value *const *ins, uint32_t n_in,
                          const char *const *drop, size_t n_drop) {
    ecc_status st = ECC_OK;
    ecc_node *nn = NULL;
    ecc_value **outs = calloc(n->n_outputs + 1, sizeof *outs);
    ecc_value **none = calloc(n->n_outputs + 1, sizeof *none);
    ECC_FAIL_IF(!outs || !none, u->ctx, ECC_E_INTERNAL, "out of memory");
    memcpy(outs, n->outputs, n->n_outputs * sizeof *outs);
    ECC_TRY(ecc_graph_insert_node(u->ctx, u->g, ecc_graph_index_of(u->g, n), n->op_type,
                                  n->domain, n->name, ins, n_in, none, n->n_outputs, &nn));
    for (uint32_t a = 0; a < n->n_attrs; a++) {
        bool skip = false;
        for (size_t d = 0; d < n_drop; d++) skip |= strcmp(n->attrs[a].name, drop[d]) == 0;
        if (!skip) ECC_TRY(ecc_node_set_attr(u->ctx, nn, &n->attrs[a]));
    }
    nn->doc_string = n->doc_string;
    nn->unknown = n->unknown;
    n->unknown = (ecc_blob){0};
    uint32_t n_out = n->n_outputs;
    ecc_graph_remove_node(u->g, n);
    for (uint32_t i = 0; i < n_out; i++)
        if (outs[i]) ECC_TRY(ecc_node_set_output(u->ctx, nn, i, outs[i]));
fail:
    free(outs);
    free(none);
    return st;
}

/* ins = n's inputs, grown to at least `len` (NULL = empty optional). */
static ecc_value **inputs_copy(const ecc_node *n, uint32_t len, uint32_t *n_in) {
    uint32_t k = n->n_inputs > len ? n->n_inputs : len;
    ecc_value **ins = calloc(k + 1, sizeof *ins);
    if (ins) memcpy(ins, n->inputs, n->n_inputs * sizeof *ins);
    *n_in = k;
    return ins;
}

/* ---------------- rewrites ---------------- */

/* An INTS (or INT) attribute that became input `slot` (arg "name:slot"). */
static ecc_status attr_to_input(up_ctx *u, ecc_node *n, int64_t since, const char *arg) {
    ecc_status st = ECC_OK;
    char name[64];
    uint32_t slot = 1, n_in = 0;
    ecc_value **ins = NULL;
    const char *colon = strchr(arg, ':');
    snprintf(name, sizeof name, "%.*s", (int)(colon - arg), arg);
    slot = (uint32_t)atoi(colon + 1);
    const ecc_attr *a = ecc_node_attr(n, name);
    if (!a) return ECC_OK;
    if (a->type != ECC_ATTR_INTS && a->type != ECC_ATTR_INT)
        return refuse(u, n, since, "unexpected attribute type");
    if (n->n_inputs > slot && n->inputs[slot])
        return refuse(u, n, since, "attribute and input both given");
    if (u->dry) return ECC_OK;
    ecc_value *v = NULL;
    ECC_TRY(add_i64s(u, n, name, a->type == ECC_ATTR_INTS ? a->ints : &a->i,
                     a->type == ECC_ATTR_INTS ? a->n : 1, &v));
    ins = inputs_copy(n, slot + 1, &n_in);
    ECC_FAIL_IF(!ins, u->ctx, ECC_E_INTERNAL, "out of memory");
    ins[slot] = v;
    const char *drop[] = {name};
    ECC_TRY(rebuild(u, n, ins, n_in, drop, 1));
fail:
    free(ins);
    return st;
}

/* Split at 18: without a split input the output count must be an attribute. */
static ecc_status split_num_outputs(up_ctx *u, ecc_node *n, int64_t since, const char *arg) {
    (void)since, (void)arg;
    bool has_split = n->n_inputs > 1 && n->inputs[1];
    if (has_split || ecc_node_attr(n, "split") || ecc_node_attr(n, "num_outputs") || u->dry)
        return ECC_OK;
    return ecc_node_set_attr_int(u->ctx, n, "num_outputs", n->n_outputs);
}

/* Softmax-like ops before 13 normalize over the input flattened from axis
 * on (default 1); the same as a single-axis op when every dim after axis is 1. */
static ecc_status softmax_axis(up_ctx *u, ecc_node *n, int64_t since, const char *arg) {
    (void)arg;
    const ecc_value *x = n->inputs[0];
    int64_t axis = ecc_node_attr_int(n, "axis", 1);
    if (!x || x->rank < 0) return refuse(u, n, since, "input rank unknown (axis semantics changed)");
    if (axis < 0) axis += x->rank;
    for (int32_t d = (int32_t)axis + 1; d < x->rank; d++)
        if (x->dims[d].value != 1)
            return refuse(u, n, since,
                          "it normalizes over several axes (before opset 13 the input is "
                          "flattened from `axis` on); only the last-axis case is rewritten");
    if (u->dry) return ECC_OK;
    return ecc_node_set_attr_int(u->ctx, n, "axis", axis);
}

/* Clip before 11: min/max attributes became optional inputs. */
static ecc_status clip_inputs(up_ctx *u, ecc_node *n, int64_t since, const char *arg) {
    (void)since, (void)arg;
    ecc_status st = ECC_OK;
    const ecc_attr *mn = ecc_node_attr(n, "min"), *mx = ecc_node_attr(n, "max");
    ecc_value **ins = NULL;
    uint32_t n_in = 0;
    if (u->dry || (!mn && !mx)) return ECC_OK;
    ins = inputs_copy(n, 3, &n_in);
    ECC_FAIL_IF(!ins, u->ctx, ECC_E_INTERNAL, "out of memory");
    if (mn) ECC_TRY(add_f32(u, n, "min", mn->f, &ins[1]));
    if (mx) ECC_TRY(add_f32(u, n, "max", mx->f, &ins[2]));
    const char *drop[] = {"min", "max"};
    ECC_TRY(rebuild(u, n, ins, n_in, drop, 2));
fail:
    free(ins);
    return st;
}

/* Pad before 11: pads and value attributes became inputs. */
static ecc_status pad_inputs(up_ctx *u, ecc_node *n, int64_t since, const char *arg) {
    (void)arg;
    ecc_status st = ECC_OK;
    const ecc_attr *pads = ecc_node_attr(n, "pads"), *val = ecc_node_attr(n, "value");
    ecc_value **ins = NULL;
    uint32_t n_in = 0;
    if (!pads || pads->type != ECC_ATTR_INTS) return refuse(u, n, since, "no pads attribute");
    if (u->dry) return ECC_OK;
    ins = inputs_copy(n, val ? 3 : 2, &n_in);
    ECC_FAIL_IF(!ins, u->ctx, ECC_E_INTERNAL, "out of memory");
    ECC_TRY(add_i64s(u, n, "pads", pads->ints, pads->n, &ins[1]));
    if (val) ECC_TRY(add_f32(u, n, "value", val->f, &ins[2]));
    const char *drop[] = {"pads", "value"};
    ECC_TRY(rebuild(u, n, ins, n_in, drop, 2));
fail:
    free(ins);
    return st;
}

/* Slice before 10: starts/ends/axes attributes became inputs. */
static ecc_status slice_inputs(up_ctx *u, ecc_node *n, int64_t since, const char *arg) {
    (void)arg;
    ecc_status st = ECC_OK;
    static const char *const names[] = {"starts", "ends", "axes"};
    ecc_value **ins = NULL;
    uint32_t n_in = 0;
    const ecc_attr *s = ecc_node_attr(n, "starts"), *e = ecc_node_attr(n, "ends");
    if (!s || !e) return refuse(u, n, since, "starts/ends attributes missing");
    if (u->dry) return ECC_OK;
    const ecc_attr *ax = ecc_node_attr(n, "axes");
    ins = inputs_copy(n, ax ? 4 : 3, &n_in);
    ECC_FAIL_IF(!ins, u->ctx, ECC_E_INTERNAL, "out of memory");
    for (uint32_t k = 0; k < 3; k++) {
        const ecc_attr *a = ecc_node_attr(n, names[k]);
        if (a) ECC_TRY(add_i64s(u, n, names[k], a->ints, a->n, &ins[k + 1]));
    }
    ECC_TRY(rebuild(u, n, ins, n_in, (const char *const *)names, 3));
fail:
    free(ins);
    return st;
}

/* Attributes that only the older versions had and that do not change
 * inference results (arg: '|'-separated names). */
static ecc_status drop_attrs(up_ctx *u, ecc_node *n, int64_t since, const char *arg) {
    (void)since;
    if (u->dry) return ECC_OK;
    char buf[128];
    snprintf(buf, sizeof buf, "%s", arg);
    for (char *tok = strtok(buf, "|"); tok; tok = strtok(NULL, "|")) ecc_node_remove_attr(n, tok);
    return ECC_OK;
}

static ecc_status bn_spatial(up_ctx *u, ecc_node *n, int64_t since, const char *arg) {
    if (ecc_node_attr_int(n, "spatial", 1) != 1)
        return refuse(u, n, since, "spatial=0 has no equivalent in later versions");
    return drop_attrs(u, n, since, arg);
}

static ecc_status rename_op(up_ctx *u, ecc_node *n, int64_t since, const char *arg) {
    (void)since;
    if (u->dry) return ECC_OK;
    n->op_type = ecc_arena_strdup(u->g->model->arena, arg);
    return n->op_type ? ECC_OK : ECC_OOM(u->ctx);
}

/* An attribute whose default changed: the old default is written out (arg
 * "name=value"). */
static ecc_status pin_default(up_ctx *u, ecc_node *n, int64_t since, const char *arg) {
    (void)since;
    const char *eq = strchr(arg, '=');
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)(eq - arg), arg);
    if (u->dry || ecc_node_attr(n, name)) return ECC_OK;
    ecc_attr a = {.name = name, .type = ECC_ATTR_STRING};
    a.s.data = (uint8_t *)(eq + 1);
    a.s.len = strlen(eq + 1);
    return ecc_node_set_attr(u->ctx, n, &a);
}

static ecc_status grid_modes(up_ctx *u, ecc_node *n, int64_t since, const char *arg) {
    (void)since, (void)arg;
    const char *mode = ecc_node_attr_string(n, "mode", "bilinear");
    const char *to = strcmp(mode, "bilinear") == 0 ? "linear"
                     : strcmp(mode, "bicubic") == 0 ? "cubic" : NULL;
    if (u->dry || !to) return ECC_OK;
    ecc_attr a = {.name = "mode", .type = ECC_ATTR_STRING};
    a.s.data = (uint8_t *)to;
    a.s.len = strlen(to);
    return ecc_node_set_attr(u->ctx, n, &a);
}

static ecc_status no_rewrite(up_ctx *u, ecc_node *n, int64_t since, const char *arg) {
    return refuse(u, n, since, arg);
}

static const struct {
    ecc_op_id op;       /* its row in ops.def */
    int64_t since;      /* first opset with the new signature */
    up_fn fn;
    const char *arg;
} changes[] = {
    {ECC_OP_BatchNormalization, 9, bn_spatial, "spatial|consumed_inputs"},
    {ECC_OP_Clip, 11, clip_inputs, NULL},
    {ECC_OP_DFT, 20, no_rewrite, "dft_length and axis became inputs"},
    {ECC_OP_Dropout, 12, drop_attrs, "ratio|is_test"},
    {ECC_OP_GridSample, 20, grid_modes, NULL},
    {ECC_OP_GroupNormalization, 21, no_rewrite, "scale and bias became per channel"},
    {ECC_OP_Hardmax, 13, softmax_axis, NULL},
    {ECC_OP_LogSoftmax, 13, softmax_axis, NULL},
    {ECC_OP_Pad, 11, pad_inputs, NULL},
    {ECC_OP_ReduceL1, 18, attr_to_input, "axes:1"},
    {ECC_OP_ReduceL2, 18, attr_to_input, "axes:1"},
    {ECC_OP_ReduceLogSum, 18, attr_to_input, "axes:1"},
    {ECC_OP_ReduceLogSumExp, 18, attr_to_input, "axes:1"},
    {ECC_OP_ReduceMax, 18, attr_to_input, "axes:1"},
    {ECC_OP_ReduceMean, 18, attr_to_input, "axes:1"},
    {ECC_OP_ReduceMin, 18, attr_to_input, "axes:1"},
    {ECC_OP_ReduceProd, 18, attr_to_input, "axes:1"},
    {ECC_OP_ReduceSum, 13, attr_to_input, "axes:1"},
    {ECC_OP_ReduceSumSquare, 18, attr_to_input, "axes:1"},
    {ECC_OP_Resize, 11, no_rewrite, "roi became an input and the coordinate default changed"},
    {ECC_OP_RoiAlign, 16, pin_default, "coordinate_transformation_mode=output_half_pixel"},
    {ECC_OP_Scatter, 11, rename_op, "ScatterElements"},
    {ECC_OP_Slice, 10, slice_inputs, NULL},
    {ECC_OP_Softmax, 13, softmax_axis, NULL},
    {ECC_OP_Split, 13, attr_to_input, "split:1"},
    {ECC_OP_Split, 18, split_num_outputs, NULL},
    {ECC_OP_Squeeze, 13, attr_to_input, "axes:1"},
    {ECC_OP_TopK, 10, attr_to_input, "k:1"},
    {ECC_OP_Unsqueeze, 13, attr_to_input, "axes:1"},
    {ECC_OP_Upsample, 10, no_rewrite, "Upsample was removed (use Resize)"},
};

/* True when n is the default-domain op of the traits row id. */
static bool is_op(const ecc_node *n, ecc_op_id id) {
    const ecc_op_traits *t = ecc_op_of(n);
    return t && t->id == id;
}

static ecc_status upgrade_graph(up_ctx *u, int64_t from, int64_t to) {
    ecc_status st = ECC_OK;
    ecc_ptrvec nodes = {0};
    for (size_t i = 0; i < u->g->nodes.n; i++)
        ECC_FAIL_IF(!ecc_ptrvec_push(&nodes, u->g->nodes.items[i]), u->ctx, ECC_E_INTERNAL,
                    "out of memory");
    for (size_t k = 0; k < sizeof changes / sizeof changes[0]; k++) {
        if (changes[k].since <= from || changes[k].since > to) continue;
        for (size_t i = 0; i < nodes.n; i++) {
            ecc_node *n = nodes.items[i];
            if (!n || !is_op(n, changes[k].op)) continue;
            size_t at = ecc_graph_index_of(u->g, n);
            ECC_TRY(changes[k].fn(u, n, changes[k].since, changes[k].arg));
            /* a rebuilt node took n's place */
            if (ecc_graph_index_of(u->g, n) == SIZE_MAX) nodes.items[i] = u->g->nodes.items[at];
        }
    }
fail:
    ecc_ptrvec_free(&nodes);
    return st;
}

/* IR version that goes with an opset (ONNX's versioning table). */
static int64_t ir_for_opset(int64_t opset) {
    static const int64_t table[][2] = {{21, 10}, {19, 9}, {15, 8}, {12, 7}, {11, 6},
                                       {10, 5},  {9, 4},  {1, 3}};
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (opset >= table[i][0]) return table[i][1];
    return 3;
}

ecc_status ecc_model_upgrade_opset(ecc_ctx *ctx, ecc_model *m, int64_t to, bool dry_run) {
    ecc_status st = ECC_OK;
    int64_t from = ecc_model_opset(m, "");
    if (from >= to) return ECC_OK;
    if (from > 0 && from < 7)
        return ecc_ctx_error(ctx, ECC_E_INPUT,
                             "model opset %lld is below 7; cannot raise it to %lld",
                             (long long)from, (long long)to);
    /* ranks for the Softmax rule; a model shape inference cannot handle keeps
     * unknown ranks (and Softmax-like nodes are then refused) */
    if (ecc_graph_infer_shapes(ctx, m->graph) != ECC_OK) ecc_ctx_clear(ctx);
    up_ctx u = {ctx, m->graph, dry_run};
    ECC_TRY(upgrade_graph(&u, from, to));
    for (size_t i = 0; i < m->subgraphs.n; i++) {
        u.g = m->subgraphs.items[i];
        ECC_TRY(upgrade_graph(&u, from, to));
    }
    if (dry_run) return ECC_OK;
    ECC_TRY(ecc_model_set_opset(ctx, m, "", to));
    if (m->ir_version < ir_for_opset(to)) m->ir_version = ir_for_opset(to);
fail:
    return st;
}
