/* layers.c — weight layers (see layers.h): constants behind values, the
 * Conv / Gemm / MatMul views ([rows, k] over the weight's memory), the
 * classifier-head test, canonical copies, name globs and the finite-values
 * check. */
#include "layers.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

/* ---------------- constants ---------------- */

bool wl_is_onnx(const ecc_node *n, const char *op) {
    return strcmp(n->op_type, op) == 0 &&
           (!n->domain || !n->domain[0] || strcmp(n->domain, "ai.onnx") == 0);
}

static const ecc_attr *constant_value_attr(const ecc_value *v) {
    const ecc_node *p = v ? v->producer : NULL;
    if (!p || !wl_is_onnx(p, "Constant") || p->n_outputs != 1) return NULL;
    const ecc_attr *a = ecc_node_attr(p, "value");
    return a && a->type == ECC_ATTR_TENSOR && a->t ? a : NULL;
}

ecc_tensor *wl_const(const ecc_value *v) {
    if (!v) return NULL;
    if (v->init) return v->init;
    const ecc_attr *a = constant_value_attr(v);
    return a ? a->t : NULL;
}

ecc_status wl_materialize(ecc_ctx *ctx, ecc_value *v) {
    ecc_status st = ECC_OK;
    if (v->init) return ECC_OK;
    const ecc_attr *a = constant_value_attr(v);
    ECC_FAIL_IF(!a, ctx, ECC_E_INTERNAL, "'%s' is neither an initializer nor a Constant",
                v->name);
    ECC_FAIL_IF(v->flags & ECC_VALUE_OUTPUT, ctx, ECC_E_INPUT,
                "Constant '%s' is a graph output: its weight cannot be annotated", v->name);
    ecc_tensor *t = ecc_tensor_ref(a->t);
    ecc_graph_remove_node(v->graph, v->producer);
    st = ecc_graph_set_initializer(ctx, v->graph, v, t);
    if (st == ECC_OK) st = ecc_value_set_shape(ctx, v, t->dtype, t->rank, t->dims);
    ecc_tensor_unref(t);
fail:
    return st;
}

/* ---------------- finding layers ---------------- */

static ecc_tensor *f32_weight(const ecc_node *n, uint32_t slot, int32_t min_rank,
                              int32_t max_rank) {
    ecc_tensor *t = slot < n->n_inputs ? wl_const(n->inputs[slot]) : NULL;
    if (!t || t->dtype != ECC_DTYPE_FLOAT || t->rank < min_rank || t->rank > max_rank ||
        t->numel < 1)
        return NULL; /* an empty weight is not a layer: every view divides by its dims */
    return t;
}

/* Fills L for the weight at slot with the matrix view [rows, k]; rows along
 * weight axis `row_axis` (0 or 1) of a 2-D weight. */
static void view_2d(wl_layer *L, const ecc_tensor *t, uint32_t slot, int row_axis) {
    L->w = L->node->inputs[slot];
    L->w_slot = slot;
    L->rows = t->dims[row_axis];
    L->k = t->dims[1 - row_axis];
    L->row_stride = row_axis == 0 ? t->dims[1] : 1;
    L->col_stride = row_axis == 0 ? 1 : t->dims[1];
    L->axis = 1 - row_axis;
    L->groups = 1;
}

typedef const char *(*layer_view_fn)(wl_layer *L); /* NULL ok, else why not */

static const char *view_conv(wl_layer *L) {
    const ecc_tensor *t = f32_weight(L->node, 1, 3, 4);
    if (!t) return "weight is not a non-empty constant float32 tensor of rank 3 or 4";
    int64_t group = ecc_node_attr_int(L->node, "group", 1);
    if (group < 1 || t->dims[0] % group) return "group does not divide the output channels";
    L->w = L->node->inputs[1];
    L->w_slot = 1;
    L->x_slot = 0;
    L->rows = t->dims[0];
    L->k = t->numel / (t->dims[0] ? t->dims[0] : 1);
    L->row_stride = L->k;
    L->col_stride = 1;
    L->axis = 1;
    L->groups = group;
    return NULL;
}

static const char *view_gemm(wl_layer *L) {
    const ecc_node *n = L->node;
    bool ta = ecc_node_attr_int(n, "transA", 0) != 0, tb = ecc_node_attr_int(n, "transB", 0) != 0;
    const ecc_tensor *b = f32_weight(n, 1, 2, 2), *a = f32_weight(n, 0, 2, 2);
    if (b) { /* Y = op(A) · op(B): op(B) is [K, N], rows are N */
        view_2d(L, b, 1, tb ? 0 : 1);
        L->x_slot = 0;
        L->x_trans = ta;
        return NULL;
    }
    if (a) { /* op(A) is [M, K], rows are M; the activation op(B) is [K, tokens] */
        view_2d(L, a, 0, ta ? 1 : 0);
        L->x_slot = 1;
        L->x_trans = !tb;
        return NULL;
    }
    return "neither A nor B is a constant float32 matrix";
}

static const char *view_matmul(wl_layer *L) {
    const ecc_tensor *b = f32_weight(L->node, 1, 2, 2), *a = f32_weight(L->node, 0, 2, 2);
    if (b) { /* X[..., K] · W[K, N] */
        view_2d(L, b, 1, 1);
        L->x_slot = 0;
        return NULL;
    }
    if (a) { /* W[M, K] · X[..., K, N] */
        view_2d(L, a, 0, 0);
        L->x_slot = 1;
        L->x_trans = true;
        return NULL;
    }
    return "no constant float32 2-D operand";
}

static const struct {
    const char *op;
    layer_view_fn view;
} layer_ops[] = {
    {"Conv", view_conv},
    {"Gemm", view_gemm},
    {"MatMul", view_matmul},
};

static layer_view_fn layer_view_of(const ecc_node *n) {
    for (size_t i = 0; i < sizeof layer_ops / sizeof layer_ops[0]; i++)
        if (wl_is_onnx(n, layer_ops[i].op)) return layer_ops[i].view;
    return NULL;
}

static bool is_weight_layer(const ecc_node *n) {
    layer_view_fn fn = layer_view_of(n);
    wl_layer tmp = {.node = (ecc_node *)n};
    return fn && fn(&tmp) == NULL;
}

/* Does a graph output depend on n without passing another weight layer? */
static bool reaches_output(ecc_ctx *ctx, const ecc_graph *g, const ecc_node *start) {
    ecc_ptrvec stack = {0};
    bool found = false;
    for (size_t i = 0; i < g->nodes.n; i++) ((ecc_node *)g->nodes.items[i])->scratch = 0;
    if (!ecc_ptrvec_push(&stack, (void *)start)) goto oom;
    while (stack.n && !found) {
        const ecc_node *n = stack.items[--stack.n];
        for (uint32_t o = 0; o < n->n_outputs && !found; o++) {
            const ecc_value *v = n->outputs[o];
            if (!v) continue;
            if (v->flags & ECC_VALUE_OUTPUT) found = true;
            for (uint32_t u = 0; u < v->n_uses && !found; u++) {
                ecc_node *next = v->uses[u].node;
                if (next->scratch || is_weight_layer(next)) continue;
                next->scratch = 1;
                if (!ecc_ptrvec_push(&stack, next)) goto oom;
            }
        }
    }
    ecc_ptrvec_free(&stack);
    return found;
oom:
    ecc_ptrvec_free(&stack);
    (void)ECC_OOM(ctx);
    return false;
}

static ecc_status add_layer(ecc_ctx *ctx, wl_layers *ls, size_t *cap, const wl_layer *L) {
    if (ls->n == *cap) {
        size_t c = *cap ? 2 * *cap : 16;
        wl_layer *p = realloc(ls->items, c * sizeof *p);
        if (!p) return ECC_OOM(ctx);
        ls->items = p;
        *cap = c;
    }
    ls->items[ls->n++] = *L;
    return ECC_OK;
}

ecc_status wl_find(ecc_ctx *ctx, ecc_graph *g, wl_layers *out) {
    ecc_status st = ECC_OK;
    size_t cap = 0;
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < g->nodes.n; i++) {
        ecc_node *n = g->nodes.items[i];
        layer_view_fn view = layer_view_of(n);
        if (!view) continue;
        wl_layer L = {.node = n, .groups = 1};
        const char *why = view(&L);
        L.name = n->name && n->name[0] ? n->name : (L.w ? L.w->name : n->op_type);
        if (why) {
            ecc_log(ctx, 1, "  prune: %s '%s' left alone: %s", n->op_type, L.name, why);
            continue; /* not a weight layer at all */
        }
        L.numel = wl_const(L.w)->numel;
        L.head = reaches_output(ctx, g, n);
        ECC_TRY(add_layer(ctx, out, &cap, &L));
    }
fail:
    return st;
}

void wl_stats_free(wl_stats *s) {
    free(s->sq);
    free(s->mean);
    free(s->h);
    memset(s, 0, sizeof *s);
}

void wl_layers_free(wl_layers *ls) {
    if (!ls) return;
    for (size_t i = 0; i < ls->n; i++) wl_stats_free(&ls->items[i].stats);
    free(ls->items);
    memset(ls, 0, sizeof *ls);
}

ecc_status wl_canon_get(ecc_ctx *ctx, const wl_layer *L, float **out) {
    const float *w = wl_const(L->w)->data;
    size_t n = 0;
    if (!ecc_mul_size((size_t)L->rows, (size_t)L->k, &n)) return ECC_OOM(ctx);
    float *c = malloc((n ? n : 1) * sizeof *c);
    if (!c) return ECC_OOM(ctx);
    const ecc_mask *m = L->w->mask;
    const uint8_t *mk = m && m->keep && m->keep->numel == L->numel ? m->keep->data : NULL;
    for (int64_t r = 0; r < L->rows; r++)
        for (int64_t j = 0; j < L->k; j++) {
            int64_t at = wl_index(L, r, j);
            c[r * L->k + j] = mk && !mk[at] ? 0.0f : w[at]; /* masked earlier: already gone */
        }
    *out = c;
    return ECC_OK;
}

void wl_canon_put(const wl_layer *L, const float *canon, float *weight) {
    for (int64_t r = 0; r < L->rows; r++)
        for (int64_t j = 0; j < L->k; j++) weight[wl_index(L, r, j)] = canon[r * L->k + j];
}

/* ---------------- name globs ---------------- */

bool wl_glob_each(const char *list, bool (*fn)(const char *glob, void *arg), void *arg) {
    char glob[512];
    for (const char *p = list; p && *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len && len < sizeof glob) {
            memcpy(glob, p, len);
            glob[len] = '\0';
            if (fn(glob, arg)) return true;
        }
        p = bar ? bar + 1 : NULL;
    }
    return false;
}

typedef struct glob_names {
    const char *a, *b;
} glob_names;

static bool glob_matches(const char *glob, void *arg) {
    const glob_names *nm = arg;
    return (nm->a && fnmatch(glob, nm->a, 0) == 0) || (nm->b && fnmatch(glob, nm->b, 0) == 0);
}

bool wl_glob_any(const char *list, const char *a, const char *b) {
    glob_names nm = {a, b};
    return wl_glob_each(list, glob_matches, &nm);
}

typedef struct glob_check {
    const wl_layers *ls;
    const char *unmatched;
    char buf[512];
} glob_check;

static bool glob_unmatched(const char *glob, void *arg) {
    glob_check *gc = arg;
    for (size_t i = 0; i < gc->ls->n; i++)
        if (wl_glob_any(glob, gc->ls->items[i].name, gc->ls->items[i].w->name)) return false;
    snprintf(gc->buf, sizeof gc->buf, "%s", glob);
    gc->unmatched = gc->buf;
    return true;
}

static void list_layers(const wl_layers *ls, char *buf, size_t cap) {
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < ls->n && used + 1 < cap; i++) {
        int w = snprintf(buf + used, cap - used, "%s%s (%s)", i ? ", " : "", ls->items[i].name,
                         ls->items[i].w->name);
        used += w > 0 ? (size_t)w : 0;
    }
    if (!ls->n) snprintf(buf, cap, "none: the model has no Conv/Gemm/MatMul with a constant "
                                   "float32 weight");
}

ecc_status wl_check_globs(ecc_ctx *ctx, const wl_layers *ls, const char *opt, const char *list) {
    glob_check gc = {.ls = ls};
    if (!list || !wl_glob_each(list, glob_unmatched, &gc)) return ECC_OK;
    char names[700];
    list_layers(ls, names, sizeof names);
    return ecc_ctx_error(ctx, ECC_E_USAGE,
                         "%s='%s' matches no layer (globs over node or weight names, '|' "
                         "between globs); the layers are: %s",
                         opt, gc.unmatched, names);
}

/* ---------------- finite values ---------------- */

ecc_status wl_check_finite(ecc_ctx *ctx, const ecc_value *v, const char *what, const char *owner) {
    const ecc_tensor *t = wl_const(v);
    if (!t || t->dtype != ECC_DTYPE_FLOAT) return ECC_OK;
    int64_t first, bad = ecc_nonfinite_count(t->data, t->numel, &first);
    if (!bad) return ECC_OK;
    char at[160];
    ecc_index_text(t->rank, t->dims, first, at, sizeof at);
    return ecc_ctx_error(ctx, ECC_E_INPUT,
                         "%s '%s'%s%s holds %lld non-finite value%s (the first, %s, at %s); only "
                         "finite values can be compressed",
                         what, v->name, owner ? " of " : "", owner ? owner : "", (long long)bad,
                         bad == 1 ? "" : "s", ecc_nonfinite_name(((const float *)t->data)[first]),
                         at);
}
