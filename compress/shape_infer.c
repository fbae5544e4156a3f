/* shape_infer.c — shape inference driver: walks the nodes of a graph (and of
 * attribute subgraphs), runs the rule for each default-domain op
 * (shape_rules.c) and merges what it infers into the values, refusing types
 * from the file that contradict it. Small int tensors computed from shapes
 * (Shape → Gather → Concat → Reshape) are tracked so dynamic reshapes keep
 * their symbolic dims. */
#include "shape_rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SH_MAX_DEPTH 32       /* nesting of If/Loop/Scan bodies we follow */
#define SH_DEFAULT_OPSET 21   /* models without a default-domain import */

/* Known contents of values, keyed by value pointer (open addressing). */
struct ecc_sh_state {
    ecc_ctx *ctx;
    const ecc_value **keys;
    ecc_symval **vals;
    size_t n, cap;
};

static size_t sh_hash(const void *p, size_t cap) {
    uint64_t h = (uint64_t)(uintptr_t)p;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return (size_t)h & (cap - 1);
}

static ecc_symval *sh_map_get(const ecc_sh_state *st, const ecc_value *v) {
    if (st->cap == 0) return NULL;
    for (size_t i = sh_hash(v, st->cap);; i = (i + 1) & (st->cap - 1)) {
        if (st->keys[i] == v) return st->vals[i];
        if (st->keys[i] == NULL) return NULL;
    }
}

static bool sh_map_grow(ecc_sh_state *st) {
    size_t cap = st->cap ? st->cap * 2 : 64;
    const ecc_value **keys = calloc(cap, sizeof *keys);
    ecc_symval **vals = calloc(cap, sizeof *vals);
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return false;
    }
    for (size_t i = 0; i < st->cap; i++) {
        if (!st->keys[i]) continue;
        size_t j = sh_hash(st->keys[i], cap);
        while (keys[j]) j = (j + 1) & (cap - 1);
        keys[j] = st->keys[i];
        vals[j] = st->vals[i];
    }
    free(st->keys);
    free(st->vals);
    st->keys = keys;
    st->vals = vals;
    st->cap = cap;
    return true;
}

static bool sh_map_put(ecc_sh_state *st, const ecc_value *v, const ecc_symval *sv) {
    ecc_symval *cur = sh_map_get(st, v);
    if (cur) {
        *cur = *sv;
        return true;
    }
    if ((st->n + 1) * 2 > st->cap && !sh_map_grow(st)) return false;
    ecc_symval *copy = malloc(sizeof *copy);
    if (!copy) return false;
    *copy = *sv;
    size_t i = sh_hash(v, st->cap);
    while (st->keys[i]) i = (i + 1) & (st->cap - 1);
    st->keys[i] = v;
    st->vals[i] = copy;
    st->n++;
    return true;
}

static void sh_map_free(ecc_sh_state *st) {
    for (size_t i = 0; i < st->cap; i++) free(st->vals[i]);
    free(st->keys);
    free(st->vals);
}

/* ---------------- helpers for rules ---------------- */

static bool sh_default_domain(const char *d) {
    return d == NULL || d[0] == '\0' || strcmp(d, "ai.onnx") == 0;
}

static const ecc_value *sh_resolve(const ecc_value *v) {
    for (int hops = 0; v && (v->flags & ECC_VALUE_OUTER) && v->outer && hops < 64; hops++)
        v = v->outer;
    return v;
}

const ecc_value *ecc_sh_input(const ecc_sh_cx *cx, uint32_t slot) {
    if (slot >= cx->node->n_inputs) return NULL;
    return sh_resolve(cx->node->inputs[slot]);
}

const ecc_tensor *ecc_sh_const(const ecc_sh_cx *cx, uint32_t slot) {
    const ecc_value *v = ecc_sh_input(cx, slot);
    if (!v) return NULL;
    const ecc_tensor *t = ecc_value_const(v);
    if (t) return t;
    const ecc_node *p = v->producer;
    if (!p || !p->op_type || strcmp(p->op_type, "Constant") != 0 || !sh_default_domain(p->domain))
        return NULL;
    const ecc_attr *a = ecc_node_attr(p, "value");
    return a && a->type == ECC_ATTR_TENSOR ? a->t : NULL;
}

static bool sh_tensor_shape(const ecc_tensor *t, ecc_shape *out) {
    if (t->rank < 0 || t->rank > ECC_SH_MAX_RANK) return false;
    out->dtype = t->dtype;
    out->rank = t->rank;
    for (int32_t i = 0; i < t->rank; i++) {
        out->d[i].value = t->dims[i] >= 0 ? t->dims[i] : -1;
        out->d[i].param = NULL;
    }
    return true;
}

bool ecc_sh_in(const ecc_sh_cx *cx, uint32_t slot, ecc_shape *out) {
    const ecc_value *v = ecc_sh_input(cx, slot);
    out->dtype = 0;
    out->rank = -1;
    if (!v) return false;
    ecc_sh_value(v, out);
    return true;
}

void ecc_sh_value(const ecc_value *v, ecc_shape *out) {
    v = sh_resolve(v);
    out->dtype = 0;
    out->rank = -1;
    const ecc_tensor *t = ecc_value_const(v);
    if (t && sh_tensor_shape(t, out)) return;
    if (v->type_opaque.len) return;
    out->dtype = v->dtype;
    if (v->rank < 0 || v->rank > ECC_SH_MAX_RANK || (v->rank > 0 && !v->dims)) return;
    out->rank = v->rank;
    for (int32_t i = 0; i < v->rank; i++) {
        out->d[i].value = v->dims[i].value >= 0 ? v->dims[i].value : -1;
        out->d[i].param = v->dims[i].value >= 0 ? NULL : v->dims[i].param;
    }
}

/* Data of t as n elements is really there (external data may be unloaded). */
static bool sh_tensor_readable(const ecc_tensor *t) {
    size_t need = 0;
    if (t->numel < 0 || !ecc_dtype_nbytes(t->dtype, t->numel, &need)) return false;
    return t->numel == 0 || (t->data && t->nbytes >= need);
}

static bool sh_tensor_int(const ecc_tensor *t, int64_t i, int64_t *out) {
    switch (t->dtype) {
    case ECC_DTYPE_INT64:
        memcpy(out, (const uint8_t *)t->data + (size_t)i * 8, 8);
        return true;
    case ECC_DTYPE_INT32: case ECC_DTYPE_INT16: case ECC_DTYPE_INT8:
    case ECC_DTYPE_UINT8: case ECC_DTYPE_UINT16: case ECC_DTYPE_UINT32:
        *out = (int64_t)ecc_tensor_get_f64(t, i);
        return true;
    default:
        return false;
    }
}

bool ecc_sh_ints(const ecc_sh_cx *cx, uint32_t slot, int64_t *out, size_t cap, size_t *n) {
    const ecc_tensor *t = ecc_sh_const(cx, slot);
    if (t) {
        if (!sh_tensor_readable(t) || (uint64_t)t->numel > cap) return false;
        for (int64_t i = 0; i < t->numel; i++)
            if (!sh_tensor_int(t, i, &out[i])) return false;
        *n = (size_t)t->numel;
        return true;
    }
    ecc_symval sv;
    if (!ecc_sh_sym(cx, slot, &sv) || (size_t)sv.n > cap) return false;
    for (int32_t i = 0; i < sv.n; i++) {
        if (!sv.e[i].known) return false;
        out[i] = sv.e[i].v;
    }
    *n = (size_t)sv.n;
    return true;
}

bool ecc_sh_floats(const ecc_sh_cx *cx, uint32_t slot, double *out, size_t cap, size_t *n) {
    const ecc_tensor *t = ecc_sh_const(cx, slot);
    if (!t || !sh_tensor_readable(t) || (uint64_t)t->numel > cap) return false;
    const ecc_dtype_traits *tr = ecc_dtype_get(t->dtype);
    if (!tr || tr->dclass == ECC_DC_STRING || tr->dclass == ECC_DC_COMPLEX ||
        tr->dclass == ECC_DC_NONE)
        return false;
    for (int64_t i = 0; i < t->numel; i++) out[i] = ecc_tensor_get_f64(t, i);
    *n = (size_t)t->numel;
    return true;
}

bool ecc_sh_sym(const ecc_sh_cx *cx, uint32_t slot, ecc_symval *out) {
    const ecc_value *v = ecc_sh_input(cx, slot);
    if (!v) return false;
    const ecc_symval *sv = sh_map_get(cx->state, v);
    if (sv) {
        *out = *sv;
        return true;
    }
    const ecc_tensor *t = ecc_sh_const(cx, slot);
    if (!t || t->rank > 1 || t->numel > ECC_SH_MAX_SYM || !sh_tensor_readable(t)) return false;
    out->rank = t->rank;
    out->n = (int32_t)t->numel;
    for (int32_t i = 0; i < out->n; i++) {
        out->e[i].param = NULL;
        out->e[i].known = true;
        if (!sh_tensor_int(t, i, &out->e[i].v)) return false;
    }
    return true;
}

ecc_status ecc_sh_set_sym(ecc_sh_cx *cx, uint32_t slot, const ecc_symval *sv) {
    if (slot >= cx->node->n_outputs || !cx->node->outputs[slot]) return ECC_OK;
    if (!sh_map_put(cx->state, cx->node->outputs[slot], sv)) return ECC_OOM(cx->ctx);
    return ECC_OK;
}

static const char *sh_node_label(const ecc_node *n, char *buf, size_t cap) {
    if (n->name && n->name[0])
        snprintf(buf, cap, "node '%s' (%s)", n->name, n->op_type);
    else if (n->n_outputs && n->outputs[0])
        snprintf(buf, cap, "node producing '%s' (%s)", n->outputs[0]->name, n->op_type);
    else
        snprintf(buf, cap, "unnamed node (%s)", n->op_type);
    return buf;
}

ecc_status ecc_sh_fail(ecc_sh_cx *cx, const char *fmt, ...) {
    char label[256], detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return ecc_ctx_error(cx->ctx, ECC_E_INPUT, "%s: %s",
                         sh_node_label(cx->node, label, sizeof label), detail);
}

/* Appends dim (value, or param, or "?") to buf at *len, with a separator. */
static void sh_format_dim(char *buf, size_t cap, size_t *len, int32_t i, int64_t value,
                          const char *param) {
    if (*len >= cap) return;
    int k;
    if (value >= 0)
        k = snprintf(buf + *len, cap - *len, "%s%lld", i ? "," : "", (long long)value);
    else
        k = snprintf(buf + *len, cap - *len, "%s%s", i ? "," : "", param ? param : "?");
    *len += k > 0 ? (size_t)k : 0;
}

const char *ecc_sh_format(const ecc_shape *s, char *buf, size_t cap) {
    if (s->rank < 0) {
        snprintf(buf, cap, "?");
        return buf;
    }
    size_t len = (size_t)snprintf(buf, cap, "[");
    for (int32_t i = 0; i < s->rank; i++)
        sh_format_dim(buf, cap, &len, i, s->d[i].value, s->d[i].param);
    if (len < cap) snprintf(buf + len, cap - len, "]");
    return buf;
}

static const char *sh_format_value(const ecc_value *v, char *buf, size_t cap) {
    size_t len = (size_t)snprintf(buf, cap, "[");
    for (int32_t i = 0; i < v->rank; i++)
        sh_format_dim(buf, cap, &len, i, v->dims[i].value, v->dims[i].param);
    if (len < cap) snprintf(buf + len, cap - len, "]");
    return buf;
}

/* ---------------- merging into values ---------------- */

static ecc_status sh_conflict(ecc_sh_cx *cx, const ecc_value *v, const ecc_shape *s) {
    char a[256], b[256];
    if (v->dtype && s->dtype && v->dtype != s->dtype)
        return ecc_sh_fail(cx, "output '%s' has type %s in the file but inference gives %s",
                           v->name, ecc_dtype_name(v->dtype), ecc_dtype_name(s->dtype));
    return ecc_sh_fail(cx, "output '%s' has shape %s in the file but inference gives %s",
                       v->name, sh_format_value(v, a, sizeof a), ecc_sh_format(s, b, sizeof b));
}

static bool sh_conflicts(const ecc_value *v, const ecc_shape *s) {
    if (v->dtype && s->dtype && v->dtype != s->dtype) return true;
    if (v->rank < 0 || s->rank < 0) return false;
    if (v->rank != s->rank) return true;
    for (int32_t i = 0; i < s->rank; i++)
        if (v->dims[i].value >= 0 && s->d[i].value >= 0 && v->dims[i].value != s->d[i].value)
            return true;
    return false;
}

/* The more specific of a dim from the file (keeps its denotation) and an inferred one. */
static bool sh_better_dim(const ecc_dim *cur, const ecc_sh_dim *inf, ecc_dim *out) {
    *out = *cur;
    if (cur->value >= 0) return false;
    if (inf->value >= 0) {
        out->value = inf->value;
        out->param = NULL;
        return true;
    }
    if (!cur->param && inf->param) {
        out->param = inf->param;
        return true;
    }
    return false;
}

static ecc_status sh_merge_dims(ecc_sh_cx *cx, ecc_value *v, const ecc_shape *s) {
    ecc_arena *arena = v->graph->model->arena;
    bool fresh = v->rank < 0;
    bool changed = fresh;
    ecc_dim tmp;
    for (int32_t i = 0; !fresh && i < s->rank; i++)
        changed |= sh_better_dim(&v->dims[i], &s->d[i], &tmp);
    if (!changed) return ECC_OK;
    ecc_dim *dims = s->rank ? ecc_arena_alloc(arena, (size_t)s->rank * sizeof *dims) : NULL;
    if (s->rank && !dims) return ECC_OOM(cx->ctx);
    for (int32_t i = 0; i < s->rank; i++) {
        if (fresh) {
            dims[i].value = s->d[i].value >= 0 ? s->d[i].value : -1;
            dims[i].param = s->d[i].value >= 0 ? NULL : s->d[i].param;
        } else {
            sh_better_dim(&v->dims[i], &s->d[i], &dims[i]);
        }
    }
    v->dims = dims;
    v->rank = s->rank;
    return ECC_OK;
}

ecc_status ecc_sh_emit(ecc_sh_cx *cx, uint32_t slot, const ecc_shape *s) {
    ecc_status st = ECC_OK;
    if (slot >= cx->node->n_outputs || !cx->node->outputs[slot]) return ECC_OK;
    ecc_value *v = cx->node->outputs[slot];
    if (v->type_opaque.len) return ECC_OK;
    if (v->rank > 0 && !v->dims) v->rank = -1; /* inconsistent: treat as no shape */
    if (sh_conflicts(v, s)) ECC_TRY(sh_conflict(cx, v, s));
    if (!v->dtype) v->dtype = s->dtype;
    if (s->rank >= 0) ECC_TRY(sh_merge_dims(cx, v, s));
    if (v->dtype) v->flags |= ECC_VALUE_TYPED;
    return ECC_OK;
fail:
    return st;
}

/* ---------------- the walk ---------------- */

static ecc_status sh_infer_graph(ecc_sh_state *st, ecc_graph *g, int depth);

/* Loop bodies: iteration count, condition and carried values get their types
 * from the Loop's inputs when the file left them untyped. */
static ecc_status sh_seed_loop(ecc_sh_cx *cx, ecc_graph *body) {
    ecc_status st = ECC_OK;
    for (size_t i = 0; i < body->inputs.n; i++) {
        ecc_value *in = body->inputs.items[i];
        ecc_shape s = {.dtype = 0, .rank = -1};
        if (i == 0 || i == 1) {
            s.dtype = i == 0 ? ECC_DTYPE_INT64 : ECC_DTYPE_BOOL;
            s.rank = 0;
        } else if (!ecc_sh_in(cx, (uint32_t)i, &s)) {
            continue;
        }
        if (i >= 2) s.rank = -1; /* carried values may change shape per iteration */
        if (in->type_opaque.len || sh_conflicts(in, &s)) continue;
        if (!in->dtype) in->dtype = s.dtype;
        if (s.rank >= 0) ECC_TRY(sh_merge_dims(cx, in, &s));
        if (in->dtype) in->flags |= ECC_VALUE_TYPED;
    }
    return ECC_OK;
fail:
    return st;
}

static ecc_status sh_infer_subgraphs(ecc_sh_cx *cx, int depth) {
    ecc_status st = ECC_OK;
    ecc_node *n = cx->node;
    for (uint32_t i = 0; i < n->n_attrs; i++) {
        const ecc_attr *a = &n->attrs[i];
        if (a->type == ECC_ATTR_GRAPH && a->g) {
            if (strcmp(n->op_type, "Loop") == 0 && sh_default_domain(n->domain))
                ECC_TRY(sh_seed_loop(cx, a->g));
            ECC_TRY(sh_infer_graph(cx->state, a->g, depth + 1));
        } else if (a->type == ECC_ATTR_GRAPHS) {
            for (size_t k = 0; a->graphs && k < a->n; k++)
                if (a->graphs[k]) ECC_TRY(sh_infer_graph(cx->state, a->graphs[k], depth + 1));
        }
    }
    return ECC_OK;
fail:
    return st;
}

static ecc_status sh_infer_node(ecc_sh_state *state, ecc_node *n, int64_t opset, int depth) {
    ecc_status st = ECC_OK;
    ecc_sh_cx cx = {.ctx = state->ctx, .node = n, .opset = opset, .state = state};
    if (!n->op_type) return ECC_OK;
    if (depth < SH_MAX_DEPTH) ECC_TRY(sh_infer_subgraphs(&cx, depth));
    if (!sh_default_domain(n->domain)) return ECC_OK;
    const ecc_sh_rule *rule = ecc_sh_rule_find(n->op_type);
    if (rule) ECC_TRY(rule->fn(&cx, rule->arg));
    return ECC_OK;
fail:
    return st;
}

static ecc_status sh_infer_graph(ecc_sh_state *state, ecc_graph *g, int depth) {
    ecc_status st = ECC_OK;
    int64_t opset = ecc_model_opset(g->model, "");
    if (opset <= 0) opset = SH_DEFAULT_OPSET;
    for (size_t i = 0; i < g->nodes.n; i++)
        ECC_TRY(sh_infer_node(state, g->nodes.items[i], opset, depth));
    return ECC_OK;
fail:
    return st;
}

ecc_status ecc_graph_infer_shapes(ecc_ctx *ctx, ecc_graph *g) {
    ecc_sh_state state = {.ctx = ctx};
    ecc_status st = sh_infer_graph(&state, g, 0);
    sh_map_free(&state);
    return st;
}
