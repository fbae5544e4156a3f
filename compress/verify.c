/* verify.c — whole-graph algorithms: stable topological sort, dead-code
 * elimination and the structural verifier (definitions, cycles, sizes, and
 * the convolution groups every reader checks, so that compress, inspect and
 * run refuse the same models). */
#include "ir.h"

#include <stdlib.h>
#include <string.h>

/* ---------------- topological order ---------------- */

/* Min-heap of node positions: ready nodes leave in their current order. */
typedef struct ecc_heap {
    uint32_t *a;
    size_t n;
} ecc_heap;

static void ecc_heap_push(ecc_heap *h, uint32_t x) {
    size_t i = h->n++;
    while (i && h->a[(i - 1) / 2] > x) {
        h->a[i] = h->a[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->a[i] = x;
}

static uint32_t ecc_heap_pop(ecc_heap *h) {
    uint32_t top = h->a[0], x = h->a[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && h->a[c + 1] < h->a[c]) c++;
        if (h->a[c] >= x) break;
        h->a[i] = h->a[c];
        i = c;
    }
    if (h->n) h->a[i] = x;
    return top;
}

static bool ecc_is_local_node(const ecc_graph *g, const ecc_node *n) {
    return n && n->graph == g;
}

/* Kahn's algorithm over def-use edges; order[] receives positions. Returns
 * the number of nodes placed (< n when there is a cycle). */
static size_t ecc_kahn(const ecc_graph *g, uint32_t *indeg, uint32_t *order, ecc_heap *h) {
    size_t n = g->nodes.n, placed = 0;
    for (size_t i = 0; i < n; i++) ((ecc_node *)g->nodes.items[i])->scratch = (uint32_t)i;
    memset(indeg, 0, n * sizeof *indeg);
    for (size_t i = 0; i < n; i++) {
        const ecc_node *p = g->nodes.items[i];
        for (uint32_t o = 0; o < p->n_outputs; o++) {
            const ecc_value *v = p->outputs[o];
            for (uint32_t u = 0; v && u < v->n_uses; u++)
                if (ecc_is_local_node(g, v->uses[u].node)) indeg[v->uses[u].node->scratch]++;
        }
    }
    h->n = 0;
    for (size_t i = 0; i < n; i++)
        if (!indeg[i]) ecc_heap_push(h, (uint32_t)i);
    while (h->n) {
        uint32_t i = ecc_heap_pop(h);
        order[placed++] = i;
        const ecc_node *p = g->nodes.items[i];
        for (uint32_t o = 0; o < p->n_outputs; o++) {
            const ecc_value *v = p->outputs[o];
            for (uint32_t u = 0; v && u < v->n_uses; u++) {
                const ecc_node *c = v->uses[u].node;
                if (ecc_is_local_node(g, c) && --indeg[c->scratch] == 0)
                    ecc_heap_push(h, c->scratch);
            }
        }
    }
    return placed;
}

static ecc_status ecc_cycle_error(ecc_ctx *ctx, const ecc_graph *g, const uint32_t *indeg) {
    for (size_t i = 0; i < g->nodes.n; i++) {
        if (!indeg[i]) continue;
        const ecc_node *n = g->nodes.items[i];
        return ecc_ctx_error(ctx, ECC_E_INPUT, "graph has a cycle through node '%s' (%s)",
                             n->name, n->op_type);
    }
    return ecc_ctx_error(ctx, ECC_E_INPUT, "graph has a cycle");
}

/* A topological order of g's nodes (positions) in *order_out (malloc'd,
 * caller frees); a cycle → ECC_E_INPUT naming a node on it. */
static ecc_status ecc_graph_order(ecc_ctx *ctx, const ecc_graph *g, uint32_t **order_out) {
    ecc_status st = ECC_OK;
    size_t n = g->nodes.n;
    uint32_t *indeg = malloc((n + 1) * sizeof *indeg), *order = malloc((n + 1) * sizeof *order);
    ecc_heap h = {malloc((n + 1) * sizeof(uint32_t)), 0};
    ECC_FAIL_IF(!indeg || !order || !h.a, ctx, ECC_E_INTERNAL, "out of memory");
    if (ecc_kahn(g, indeg, order, &h) < n) {
        st = ecc_cycle_error(ctx, g, indeg);
        goto fail;
    }
    *order_out = order;
    order = NULL;
fail:
    free(indeg);
    free(order);
    free(h.a);
    return st;
}

typedef struct ecc_sub_status {
    ecc_ctx *ctx;
    ecc_status st;
} ecc_sub_status;

static void ecc_sub_toposort(ecc_graph *sub, void *arg) {
    ecc_sub_status *s = arg;
    if (s->st == ECC_OK) s->st = ecc_graph_toposort(s->ctx, sub);
}

ecc_status ecc_graph_toposort(ecc_ctx *ctx, ecc_graph *g) {
    ecc_status st = ECC_OK;
    size_t n = g->nodes.n;
    uint32_t *order = NULL;
    void **sorted = malloc((n + 1) * sizeof *sorted);
    ECC_FAIL_IF(!sorted, ctx, ECC_E_INTERNAL, "out of memory");
    ECC_TRY(ecc_graph_order(ctx, g, &order));
    for (size_t i = 0; i < n; i++) sorted[i] = g->nodes.items[order[i]];
    memcpy(g->nodes.items, sorted, n * sizeof *sorted);
    ecc_sub_status s = {ctx, ECC_OK};
    for (size_t i = 0; i < n && s.st == ECC_OK; i++)
        ecc_node_each_subgraph(g->nodes.items[i], ecc_sub_toposort, &s);
    st = s.st;
fail:
    free(order);
    free(sorted);
    return st;
}

/* ---------------- dead-code elimination ---------------- */

typedef struct ecc_live {
    const ecc_graph *g;
    ecc_ptrvec work; /* values to visit */
    bool oom;
} ecc_live;

static void ecc_live_push(ecc_live *l, ecc_value *v) {
    if (v && !ecc_ptrvec_push(&l->work, v)) l->oom = true;
}

/* Captured values of a subgraph (at any depth) keep their definitions live. */
static void ecc_sub_mark_captures(ecc_graph *sub, void *arg) {
    ecc_live *l = arg;
    for (size_t i = 0; i < sub->values.n; i++) {
        ecc_value *v = sub->values.items[i];
        if ((v->flags & ECC_VALUE_OUTER) && v->outer && v->outer->graph == l->g)
            ecc_live_push(l, v->outer);
    }
    for (size_t i = 0; i < sub->nodes.n; i++)
        ecc_node_each_subgraph(sub->nodes.items[i], ecc_sub_mark_captures, l);
}

typedef struct ecc_sub_dce {
    ecc_ctx *ctx;
    ecc_status st;
    bool drop_inits;
    size_t removed;
} ecc_sub_dce;

static void ecc_sub_run_dce(ecc_graph *sub, void *arg) {
    ecc_sub_dce *d = arg;
    size_t r = 0;
    if (d->st == ECC_OK) d->st = ecc_graph_dce(d->ctx, sub, d->drop_inits, &r);
    d->removed += r;
}

static bool ecc_value_defined_here(const ecc_value *v) {
    return v->producer || v->init || (v->flags & (ECC_VALUE_INPUT | ECC_VALUE_OUTER));
}

ecc_status ecc_graph_dce(ecc_ctx *ctx, ecc_graph *g, bool drop_inits, size_t *removed) {
    ecc_live l = {g, {0}, false};
    size_t count = 0;
    for (size_t i = 0; i < g->nodes.n; i++) ((ecc_node *)g->nodes.items[i])->scratch = 0;
    for (size_t i = 0; i < g->outputs.n; i++) ecc_live_push(&l, g->outputs.items[i]);
    while (l.work.n && !l.oom) {
        ecc_value *v = l.work.items[--l.work.n];
        ecc_node *p = v->producer;
        if (!p || p->scratch) continue;
        p->scratch = 1;
        for (uint32_t i = 0; i < p->n_inputs; i++) ecc_live_push(&l, p->inputs[i]);
        ecc_node_each_subgraph(p, ecc_sub_mark_captures, &l);
    }
    ecc_ptrvec_free(&l.work);
    if (l.oom) return ECC_OOM(ctx);
    for (size_t i = g->nodes.n; i-- > 0;) {
        ecc_node *n = g->nodes.items[i];
        if (n->scratch) continue;
        ecc_graph_remove_node(g, n);
        count++;
    }
    for (size_t i = g->value_infos.n; i-- > 0;)
        if (!ecc_value_defined_here(g->value_infos.items[i]))
            ecc_ptrvec_remove_at(&g->value_infos, i);
    if (drop_inits) {
        for (size_t i = g->inits.n; i-- > 0;) {
            ecc_value *v = g->inits.items[i];
            if (v->n_uses || (v->flags & (ECC_VALUE_OUTPUT | ECC_VALUE_INPUT))) continue;
            ecc_graph_drop_initializer(g, v);
        }
    }
    ecc_sub_dce d = {ctx, ECC_OK, drop_inits, 0};
    for (size_t i = 0; i < g->nodes.n && d.st == ECC_OK; i++)
        ecc_node_each_subgraph(g->nodes.items[i], ecc_sub_run_dce, &d);
    if (removed) *removed = count + d.removed;
    return d.st;
}

/* ---------------- verifier ---------------- */

static bool ecc_value_defined(const ecc_value *v) {
    while (v && (v->flags & ECC_VALUE_OUTER) && !v->init && !v->producer) v = v->outer;
    return v && ecc_value_defined_here(v) && !((v->flags & ECC_VALUE_OUTER) && !v->outer);
}

static ecc_status ecc_verify_node(ecc_ctx *ctx, const ecc_node *n) {
    if (!n->op_type[0])
        return ecc_ctx_error(ctx, ECC_E_INPUT, "node '%s' has no op_type", n->name);
    for (uint32_t i = 0; i < n->n_inputs; i++) {
        const ecc_value *v = n->inputs[i];
        if (v && !ecc_value_defined(v))
            return ecc_ctx_error(ctx, ECC_E_INPUT,
                                 "node '%s' (%s): input %u '%s' is not defined by any node, "
                                 "initializer or graph input",
                                 n->name, n->op_type, i, v->name);
    }
    for (uint32_t i = 0; i < n->n_outputs; i++) {
        const ecc_value *v = n->outputs[i];
        if (v && v->producer != n)
            return ecc_ctx_error(ctx, ECC_E_INPUT, "value '%s' is produced by two nodes",
                                 v->name);
    }
    return ECC_OK;
}

/* ---------------- convolution groups ---------------- */

/* Dim i of an initializer, or of a graph input's declared shape; -1 unknown.
 * (Shapes of intermediate values may be stale after a pass: not trusted.) */
static int64_t ecc_static_dim(const ecc_value *v, int32_t i) {
    if (v && v->init) return i < v->init->rank ? v->init->dims[i] : -1;
    if (v && (v->flags & ECC_VALUE_INPUT) && i < v->rank && v->dims) return v->dims[i].value;
    return -1;
}

static const char *ecc_node_label(const ecc_node *n) {
    return n->name && n->name[0] ? n->name
           : n->n_outputs && n->outputs[0] ? n->outputs[0]->name : "";
}

/* The weight index of a convolution op, or -1 for other ops. */
static int ecc_conv_weight_slot(const ecc_node *n, bool *transpose) {
    *transpose = false;
    if (n->domain && n->domain[0] && strcmp(n->domain, "ai.onnx")) return -1;
    if (!strcmp(n->op_type, "Conv") || !strcmp(n->op_type, "ConvInteger")) return 1;
    if (!strcmp(n->op_type, "QLinearConv")) return 3;
    if (!strcmp(n->op_type, "ConvTranspose")) return *transpose = true, 1;
    return -1;
}

/* group >= 1 and dividing the channels (X [N, C, ...]; W [M, C/group, ...],
 * ConvTranspose W [C, M/group, ...]) wherever the dims are known. */
static ecc_status ecc_verify_conv(ecc_ctx *ctx, const ecc_node *n) {
    bool tr;
    int slot = ecc_conv_weight_slot(n, &tr);
    if (slot < 0) return ECC_OK;
    int64_t group = ecc_node_attr_int(n, "group", 1), c2;
    const char *who = ecc_node_label(n);
    if (group < 1)
        return ecc_ctx_error(ctx, ECC_E_INPUT, "node '%s' (%s): group %lld is not positive", who,
                             n->op_type, (long long)group);
    const ecc_value *x = n->n_inputs ? n->inputs[0] : NULL;
    const ecc_value *w = (uint32_t)slot < n->n_inputs ? n->inputs[slot] : NULL;
    int64_t c = ecc_static_dim(x, 1), w0 = ecc_static_dim(w, 0), w1 = ecc_static_dim(w, 1);
    if (c >= 0 && c % group)
        return ecc_ctx_error(ctx, ECC_E_INPUT,
                             "node '%s' (%s): group %lld does not divide the %lld input channels",
                             who, n->op_type, (long long)group, (long long)c);
    if (!tr && w0 >= 0 && w0 % group)
        return ecc_ctx_error(ctx, ECC_E_INPUT,
                             "node '%s' (%s): group %lld does not divide the %lld output channels",
                             who, n->op_type, (long long)group, (long long)w0);
    if (tr && c >= 0 && w0 >= 0 && w0 != c)
        return ecc_ctx_error(ctx, ECC_E_INPUT,
                             "node '%s' (%s): input has %lld channels but the weight expects %lld",
                             who, n->op_type, (long long)c, (long long)w0);
    if (!tr && c >= 0 && w1 >= 0 && (!ecc_mul_i64(w1, group, &c2) || c2 != c))
        return ecc_ctx_error(ctx, ECC_E_INPUT,
                             "node '%s' (%s): input has %lld channels but the weight expects "
                             "%lld x group %lld",
                             who, n->op_type, (long long)c, (long long)w1, (long long)group);
    return ECC_OK;
}

static ecc_status ecc_verify_init(ecc_ctx *ctx, const ecc_value *v) {
    const ecc_tensor *t = v->init;
    size_t expect;
    if (t->strings) return ECC_OK;
    if (!ecc_dtype_nbytes(t->dtype, t->numel, &expect) || expect != t->nbytes)
        return ecc_ctx_error(ctx, ECC_E_INPUT,
                             "initializer '%s': %zu data bytes do not match %s dims (%lld "
                             "elements)",
                             v->name, t->nbytes, ecc_dtype_name(t->dtype), (long long)t->numel);
    return ECC_OK;
}

static void ecc_sub_verify(ecc_graph *sub, void *arg) {
    ecc_sub_status *s = arg;
    if (s->st == ECC_OK) s->st = ecc_graph_verify(s->ctx, sub);
}

ecc_status ecc_graph_verify(ecc_ctx *ctx, const ecc_graph *g) {
    ecc_status st = ECC_OK;
    uint32_t *order = NULL;
    for (size_t i = 0; i < g->nodes.n; i++) {
        ECC_TRY(ecc_verify_node(ctx, g->nodes.items[i]));
        ECC_TRY(ecc_verify_conv(ctx, g->nodes.items[i]));
    }
    for (size_t i = 0; i < g->inits.n; i++) ECC_TRY(ecc_verify_init(ctx, g->inits.items[i]));
    for (size_t i = 0; i < g->outputs.n; i++) {
        const ecc_value *v = g->outputs.items[i];
        ECC_FAIL_IF(!ecc_value_defined(v), ctx, ECC_E_INPUT,
                    "graph output '%s' is not produced by any node", v->name);
    }
    ECC_TRY(ecc_graph_order(ctx, g, &order));
    ecc_sub_status s = {ctx, ECC_OK};
    for (size_t i = 0; i < g->nodes.n && s.st == ECC_OK; i++)
        ecc_node_each_subgraph(g->nodes.items[i], ecc_sub_verify, &s);
    st = s.st;
fail:
    free(order);
    return st;
}

ecc_status ecc_model_verify(ecc_ctx *ctx, const ecc_model *model) {
    return ecc_graph_verify(ctx, model->graph);
}
