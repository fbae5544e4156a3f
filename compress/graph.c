/* graph.c — models, graphs and subgraphs, values with use lists, nodes and
 * the editing API (add/insert/remove nodes, rewire inputs and outputs,
 * replace all uses), initializers and compression annotations. */
#include "ir.h"

#include <stdlib.h>
#include <string.h>

/* ---------------- lifecycle ---------------- */

static ecc_status ecc_graph_alloc(ecc_ctx *ctx, ecc_model *m, ecc_graph *parent,
                                  ecc_graph **out) {
    ecc_graph *g = ecc_arena_alloc(m->arena, sizeof *g);
    if (!g) return ECC_OOM(ctx);
    g->model = m;
    g->parent = parent;
    g->name = "";
    *out = g;
    return ECC_OK;
}

ecc_status ecc_model_create(ecc_ctx *ctx, ecc_model **out) {
    ecc_status st = ECC_OK;
    ecc_model *m = calloc(1, sizeof *m);
    *out = NULL;
    ECC_FAIL_IF(!m, ctx, ECC_E_INTERNAL, "out of memory");
    m->arena = ecc_arena_create();
    ECC_FAIL_IF(!m->arena, ctx, ECC_E_INTERNAL, "out of memory");
    m->ir_version = 8;
    ECC_TRY(ecc_graph_alloc(ctx, m, NULL, &m->graph));
    *out = m;
    return ECC_OK;
fail:
    ecc_model_free(m);
    return st;
}

ecc_status ecc_graph_create_sub(ecc_ctx *ctx, ecc_model *m, ecc_graph *parent, ecc_graph **out) {
    ecc_status st = ecc_graph_alloc(ctx, m, parent, out);
    if (st) return st;
    if (!ecc_ptrvec_push(&m->subgraphs, *out)) return ECC_OOM(ctx);
    return ECC_OK;
}

static void ecc_blob_release(ecc_blob *b) {
    for (size_t i = 0; i < b->n; i++) free(b->items[i].data);
    free(b->items);
    memset(b, 0, sizeof *b);
}

static void ecc_attr_release(ecc_attr *a) {
    ecc_tensor_unref(a->t);
    if (a->type == ECC_ATTR_TENSORS)
        for (size_t i = 0; i < a->n; i++) ecc_tensor_unref(a->tensors[i]);
    ecc_blob_release(&a->unknown);
}

static void ecc_graph_release(ecc_graph *g) {
    for (size_t i = 0; i < g->values.n; i++) {
        ecc_value *v = g->values.items[i];
        free(v->uses);
        ecc_tensor_unref(v->init);
        ecc_mask_free(v->mask);
        ecc_quantizer_free(v->quant);
        ecc_tensor_unref(v->codebook);
        ecc_blob_release(&v->vi_unknown);
    }
    for (size_t i = 0; i < g->nodes.n; i++) {
        ecc_node *n = g->nodes.items[i];
        for (uint32_t a = 0; a < n->n_attrs; a++) ecc_attr_release(&n->attrs[a]);
        ecc_blob_release(&n->unknown);
    }
    ecc_ptrvec_free(&g->nodes);
    ecc_ptrvec_free(&g->values);
    ecc_ptrvec_free(&g->inputs);
    ecc_ptrvec_free(&g->outputs);
    ecc_ptrvec_free(&g->inits);
    ecc_ptrvec_free(&g->value_infos);
    ecc_strmap_free(&g->by_name);
    ecc_blob_release(&g->sparse_inits);
    ecc_blob_release(&g->quant_annots);
    ecc_blob_release(&g->unknown);
}

void ecc_model_free(ecc_model *m) {
    if (!m) return;
    if (m->graph) ecc_graph_release(m->graph);
    for (size_t i = 0; i < m->subgraphs.n; i++) ecc_graph_release(m->subgraphs.items[i]);
    ecc_ptrvec_free(&m->subgraphs);
    ecc_blob_release(&m->functions);
    ecc_blob_release(&m->training_info);
    ecc_blob_release(&m->unknown);
    ecc_arena_free(m->arena);
    free(m);
}

/* ---------------- opsets ---------------- */

static bool ecc_is_default_domain(const char *d) {
    return !d || !*d || strcmp(d, "ai.onnx") == 0;
}

int64_t ecc_model_opset(const ecc_model *m, const char *domain) {
    for (size_t i = 0; i < m->n_opsets; i++) {
        const char *d = m->opsets[i].domain;
        if (ecc_is_default_domain(domain) ? ecc_is_default_domain(d)
                                          : (d && strcmp(d, domain) == 0))
            return m->opsets[i].version;
    }
    return 0;
}

ecc_status ecc_model_set_opset(ecc_ctx *ctx, ecc_model *m, const char *domain, int64_t version) {
    for (size_t i = 0; i < m->n_opsets; i++) {
        const char *d = m->opsets[i].domain;
        if (ecc_is_default_domain(domain) ? ecc_is_default_domain(d) : strcmp(d, domain) == 0) {
            m->opsets[i].version = version;
            return ECC_OK;
        }
    }
    ecc_opset *o = ecc_arena_alloc(m->arena, (m->n_opsets + 1) * sizeof *o);
    if (!o) return ECC_OOM(ctx);
    if (m->n_opsets) memcpy(o, m->opsets, m->n_opsets * sizeof *o);
    o[m->n_opsets].domain = ecc_arena_strdup(m->arena, domain ? domain : "");
    o[m->n_opsets].version = version;
    m->opsets = o;
    m->n_opsets++;
    return o[m->n_opsets - 1].domain ? ECC_OK : ECC_OOM(ctx);
}

/* ---------------- values ---------------- */

ecc_value *ecc_graph_find(const ecc_graph *g, const char *name) {
    return ecc_strmap_get(&g->by_name, name);
}

ecc_value *ecc_graph_lookup(const ecc_graph *g, const char *name) {
    for (; g; g = g->parent) {
        ecc_value *v = ecc_graph_find(g, name);
        if (v && !(v->flags & ECC_VALUE_OUTER)) return v;
    }
    return NULL;
}

static ecc_status ecc_value_new(ecc_ctx *ctx, ecc_graph *g, const char *name, ecc_value **out) {
    ecc_model *m = g->model;
    ecc_value *v = ecc_arena_alloc(m->arena, sizeof *v);
    if (!v) return ECC_OOM(ctx);
    v->name = ecc_arena_strdup(m->arena, name);
    if (!v->name) return ECC_OOM(ctx);
    v->graph = g;
    v->id = m->next_value_id++;
    v->rank = -1;
    if (!ecc_ptrvec_push(&g->values, v) || !ecc_strmap_put(&g->by_name, v->name, v))
        return ECC_OOM(ctx);
    *out = v;
    return ECC_OK;
}

ecc_status ecc_graph_add_value(ecc_ctx *ctx, ecc_graph *g, const char *name, ecc_value **out) {
    if (ecc_graph_find(g, name))
        return ecc_ctx_error(ctx, ECC_E_INPUT, "duplicate value name '%s'", name);
    return ecc_value_new(ctx, g, name, out);
}

static bool ecc_use_push(ecc_value *v, ecc_node *n, uint32_t slot) {
    if (v->n_uses == v->cap_uses) {
        uint32_t cap = v->cap_uses ? v->cap_uses * 2 : 4;
        ecc_use *u = realloc(v->uses, cap * sizeof *u);
        if (!u) return false;
        v->uses = u;
        v->cap_uses = cap;
    }
    v->uses[v->n_uses++] = (ecc_use){n, slot};
    return true;
}

static void ecc_use_drop(ecc_value *v, ecc_node *n, uint32_t slot) {
    for (uint32_t i = 0; i < v->n_uses; i++) {
        if (v->uses[i].node == n && v->uses[i].slot == slot) {
            memmove(v->uses + i, v->uses + i + 1, (v->n_uses - i - 1) * sizeof *v->uses);
            v->n_uses--;
            return;
        }
    }
}

/* The node of `outer_graph` that (transitively) holds subgraph g. */
static ecc_node *ecc_capturing_node(const ecc_graph *g, const ecc_graph *outer_graph) {
    while (g && g->parent != outer_graph) g = g->parent;
    return g ? g->owner : NULL;
}

/* A value of g standing for `target` of an enclosing graph. */
static ecc_status ecc_graph_capture(ecc_ctx *ctx, ecc_graph *g, ecc_value *target,
                                    ecc_value **out) {
    ecc_status st = ecc_value_new(ctx, g, target->name, out);
    if (st) return st;
    (*out)->flags |= ECC_VALUE_OUTER;
    (*out)->outer = target;
    ecc_node *holder = ecc_capturing_node(g, target->graph);
    if (holder && !ecc_use_push(target, holder, ECC_SLOT_CAPTURE)) return ECC_OOM(ctx);
    return ECC_OK;
}

ecc_status ecc_graph_get_value(ecc_ctx *ctx, ecc_graph *g, const char *name, ecc_value **out) {
    ecc_value *v = ecc_graph_find(g, name);
    if (v) {
        *out = v;
        return ECC_OK;
    }
    ecc_value *target = g->parent ? ecc_graph_lookup(g->parent, name) : NULL;
    if (target) return ecc_graph_capture(ctx, g, target, out);
    return ecc_value_new(ctx, g, name, out);
}

static bool ecc_name_taken(const ecc_graph *g, const char *name) {
    for (; g; g = g->parent)
        if (ecc_graph_find(g, name)) return true;
    return false;
}

const char *ecc_graph_unique_name(ecc_graph *g, const char *base) {
    char buf[512];
    for (uint64_t k = 0;; k++) {
        snprintf(buf, sizeof buf, "%s_%llu", base ? base : "v", (unsigned long long)k);
        if (!ecc_name_taken(g, buf)) return ecc_arena_strdup(g->model->arena, buf);
    }
}

ecc_status ecc_graph_set_initializer(ecc_ctx *ctx, ecc_graph *g, ecc_value *v, ecc_tensor *t) {
    if (v->producer)
        return ecc_ctx_error(ctx, ECC_E_INPUT,
                             "initializer '%s' has the same name as the output of node '%s'",
                             v->name, v->producer->name ? v->producer->name : "");
    if (!v->init && !ecc_ptrvec_push(&g->inits, v)) return ECC_OOM(ctx);
    ecc_tensor *old = v->init;
    v->init = ecc_tensor_ref(t);
    ecc_tensor_unref(old);
    return ECC_OK;
}

void ecc_graph_drop_initializer(ecc_graph *g, ecc_value *v) {
    for (size_t i = 0; i < g->inits.n; i++)
        if (g->inits.items[i] == v) {
            ecc_ptrvec_remove_at(&g->inits, i);
            break;
        }
    ecc_tensor_unref(v->init);
    v->init = NULL;
}

ecc_status ecc_value_set_shape(ecc_ctx *ctx, ecc_value *v, int32_t dtype, int32_t rank,
                               const int64_t *dims) {
    ecc_dim *d = NULL;
    if (rank > 0) {
        d = ecc_arena_alloc(v->graph->model->arena, (size_t)rank * sizeof *d);
        if (!d) return ECC_OOM(ctx);
        for (int32_t i = 0; i < rank; i++) d[i].value = dims[i] < 0 ? -1 : dims[i];
    }
    v->dtype = dtype;
    v->rank = rank;
    v->dims = d;
    v->flags |= ECC_VALUE_TYPED;
    return ECC_OK;
}

bool ecc_value_is_const(const ecc_value *v) { return ecc_value_const(v) != NULL; }

const ecc_tensor *ecc_value_const(const ecc_value *v) {
    while (v && !v->init && (v->flags & ECC_VALUE_OUTER)) v = v->outer;
    return v ? v->init : NULL;
}

void ecc_mask_free(ecc_mask *m) {
    if (!m) return;
    ecc_tensor_unref(m->keep);
    free(m);
}

void ecc_quantizer_free(ecc_quantizer *q) {
    if (!q) return;
    ecc_tensor_unref(q->scale);
    ecc_tensor_unref(q->zero_point);
    free(q);
}

void ecc_value_set_mask(ecc_value *v, ecc_mask *mask) {
    ecc_mask_free(v->mask);
    v->mask = mask;
}

void ecc_value_set_quantizer(ecc_value *v, ecc_quantizer *q) {
    ecc_quantizer_free(v->quant);
    v->quant = q;
}

void ecc_value_set_codebook(ecc_value *v, ecc_tensor *codebook) {
    ecc_tensor *old = v->codebook;
    v->codebook = codebook ? ecc_tensor_ref(codebook) : NULL;
    ecc_tensor_unref(old);
}

/* ---------------- nodes ---------------- */

static ecc_status ecc_node_build(ecc_ctx *ctx, ecc_graph *g, const char *op_type,
                                 const char *domain, const char *name,
                                 ecc_value *const *inputs, uint32_t n_inputs,
                                 ecc_value *const *outputs, uint32_t n_outputs,
                                 ecc_node **out) {
    ecc_arena *a = g->model->arena;
    ecc_node *n = ecc_arena_alloc(a, sizeof *n);
    if (!n) return ECC_OOM(ctx);
    n->graph = g;
    n->id = g->model->next_node_id++;
    n->op_type = ecc_arena_strdup(a, op_type ? op_type : "");
    n->domain = ecc_arena_strdup(a, domain ? domain : "");
    n->name = ecc_arena_strdup(a, name ? name : "");
    n->inputs = ecc_arena_alloc(a, (n_inputs + 1) * sizeof(ecc_value *));
    n->outputs = ecc_arena_alloc(a, (n_outputs + 1) * sizeof(ecc_value *));
    if (!n->op_type || !n->domain || !n->name || !n->inputs || !n->outputs) return ECC_OOM(ctx);
    for (uint32_t i = 0; i < n_outputs; i++) {
        ecc_value *v = outputs[i];
        if (!v) continue;
        if (v->producer || v->init || (v->flags & (ECC_VALUE_INPUT | ECC_VALUE_OUTER)))
            return ecc_ctx_error(ctx, ECC_E_INPUT,
                                 "value '%s' is defined twice (node '%s' (%s) also produces it)",
                                 v->name, n->name, n->op_type);
    }
    for (uint32_t i = 0; i < n_outputs; i++) {
        n->outputs[i] = outputs[i];
        if (outputs[i]) {
            outputs[i]->producer = n;
            outputs[i]->producer_slot = i;
        }
    }
    n->n_outputs = n_outputs;
    for (uint32_t i = 0; i < n_inputs; i++) {
        n->inputs[i] = inputs[i];
        if (inputs[i] && !ecc_use_push(inputs[i], n, i)) return ECC_OOM(ctx);
    }
    n->n_inputs = n_inputs;
    *out = n;
    return ECC_OK;
}

ecc_status ecc_graph_insert_node(ecc_ctx *ctx, ecc_graph *g, size_t pos, const char *op_type,
                                 const char *domain, const char *name,
                                 ecc_value *const *inputs, uint32_t n_inputs,
                                 ecc_value *const *outputs, uint32_t n_outputs,
                                 ecc_node **out) {
    ecc_node *n = NULL;
    ecc_status st =
        ecc_node_build(ctx, g, op_type, domain, name, inputs, n_inputs, outputs, n_outputs, &n);
    if (st) return st;
    if (!ecc_ptrvec_push(&g->nodes, n)) return ECC_OOM(ctx);
    if (pos < g->nodes.n - 1) {
        memmove(g->nodes.items + pos + 1, g->nodes.items + pos,
                (g->nodes.n - 1 - pos) * sizeof(void *));
        g->nodes.items[pos] = n;
    }
    if (out) *out = n;
    return ECC_OK;
}

ecc_status ecc_graph_add_node(ecc_ctx *ctx, ecc_graph *g, const char *op_type,
                              const char *domain, const char *name, ecc_value *const *inputs,
                              uint32_t n_inputs, ecc_value *const *outputs, uint32_t n_outputs,
                              ecc_node **out) {
    return ecc_graph_insert_node(ctx, g, SIZE_MAX, op_type, domain, name, inputs, n_inputs,
                                 outputs, n_outputs, out);
}

size_t ecc_graph_index_of(const ecc_graph *g, const ecc_node *n) {
    for (size_t i = 0; i < g->nodes.n; i++)
        if (g->nodes.items[i] == n) return i;
    return SIZE_MAX;
}

void ecc_node_each_subgraph(const ecc_node *n, ecc_subgraph_fn fn, void *arg) {
    for (uint32_t a = 0; a < n->n_attrs; a++) {
        const ecc_attr *at = &n->attrs[a];
        if (at->type == ECC_ATTR_GRAPH && at->g) fn(at->g, arg);
        for (size_t k = 0; at->type == ECC_ATTR_GRAPHS && k < at->n; k++)
            if (at->graphs[k]) fn(at->graphs[k], arg);
    }
}

/* Drops the capture uses that a subgraph of node (arg) holds on its values. */
static void ecc_sub_drop_captures(ecc_graph *sub, void *arg) {
    ecc_node *n = arg;
    for (size_t i = 0; i < sub->values.n; i++) {
        ecc_value *v = sub->values.items[i];
        if ((v->flags & ECC_VALUE_OUTER) && v->outer && v->outer->graph == n->graph)
            ecc_use_drop(v->outer, n, ECC_SLOT_CAPTURE);
    }
    for (size_t i = 0; i < sub->nodes.n; i++)
        ecc_node_each_subgraph(sub->nodes.items[i], ecc_sub_drop_captures, n);
}

void ecc_graph_remove_node(ecc_graph *g, ecc_node *n) {
    size_t idx = ecc_graph_index_of(g, n);
    if (idx == SIZE_MAX) return;
    for (uint32_t i = 0; i < n->n_inputs; i++)
        if (n->inputs[i]) ecc_use_drop(n->inputs[i], n, i);
    ecc_node_each_subgraph(n, ecc_sub_drop_captures, n);
    for (uint32_t i = 0; i < n->n_outputs; i++)
        if (n->outputs[i] && n->outputs[i]->producer == n) n->outputs[i]->producer = NULL;
    for (uint32_t a = 0; a < n->n_attrs; a++) ecc_attr_release(&n->attrs[a]);
    n->n_attrs = 0;
    ecc_blob_release(&n->unknown);
    ecc_ptrvec_remove_at(&g->nodes, idx);
}

void ecc_node_set_input(ecc_node *n, uint32_t i, ecc_value *v) {
    if (i >= n->n_inputs) return;
    if (n->inputs[i]) ecc_use_drop(n->inputs[i], n, i);
    n->inputs[i] = v;
    if (v) ecc_use_push(v, n, i); /* cannot fail for shrinking use; growth OOM is fatal-rare */
}

ecc_status ecc_node_set_output(ecc_ctx *ctx, ecc_node *n, uint32_t i, ecc_value *v) {
    if (i >= n->n_outputs)
        return ecc_ctx_error(ctx, ECC_E_INTERNAL, "node '%s' has no output %u", n->name, i);
    if (v && (v->producer || v->init))
        return ecc_ctx_error(ctx, ECC_E_INTERNAL, "value '%s' already has a definition",
                             v->name);
    ecc_value *old = n->outputs[i];
    if (old && old->producer == n) old->producer = NULL;
    n->outputs[i] = v;
    if (v) {
        v->producer = n;
        v->producer_slot = i;
    }
    return ECC_OK;
}

typedef struct ecc_recapture_arg {
    ecc_value *from, *to;
} ecc_recapture_arg;

/* Points captured copies of `from` inside a subgraph at `to`. */
static void ecc_sub_recapture(ecc_graph *sub, void *arg) {
    ecc_recapture_arg *r = arg;
    for (size_t i = 0; i < sub->values.n; i++) {
        ecc_value *v = sub->values.items[i];
        if (!(v->flags & ECC_VALUE_OUTER) || v->outer != r->from) continue;
        ecc_strmap_del(&sub->by_name, v->name);
        v->outer = r->to;
        v->name = r->to->name;
        ecc_strmap_put(&sub->by_name, v->name, v);
    }
    for (size_t i = 0; i < sub->nodes.n; i++)
        ecc_node_each_subgraph(sub->nodes.items[i], ecc_sub_recapture, arg);
}

void ecc_value_replace_uses(ecc_value *from, ecc_value *to) {
    if (from == to) return;
    while (from->n_uses) {
        ecc_use u = from->uses[from->n_uses - 1];
        if (u.slot == ECC_SLOT_CAPTURE) {
            from->n_uses--;
            ecc_recapture_arg r = {from, to};
            ecc_node_each_subgraph(u.node, ecc_sub_recapture, &r);
            ecc_use_push(to, u.node, ECC_SLOT_CAPTURE);
        } else {
            ecc_node_set_input(u.node, u.slot, to);
        }
    }
    ecc_graph *g = from->graph;
    for (size_t i = 0; i < g->outputs.n; i++)
        if (g->outputs.items[i] == from) g->outputs.items[i] = to;
    if (from->flags & ECC_VALUE_OUTPUT) {
        from->flags &= ~ECC_VALUE_OUTPUT;
        to->flags |= ECC_VALUE_OUTPUT;
    }
}

/* ---------------- attributes ---------------- */

const ecc_attr *ecc_node_attr(const ecc_node *n, const char *name) {
    for (uint32_t i = 0; i < n->n_attrs; i++)
        if (strcmp(n->attrs[i].name, name) == 0) return &n->attrs[i];
    return NULL;
}

int64_t ecc_node_attr_int(const ecc_node *n, const char *name, int64_t dflt) {
    const ecc_attr *a = ecc_node_attr(n, name);
    return a && a->type == ECC_ATTR_INT ? a->i : dflt;
}

float ecc_node_attr_float(const ecc_node *n, const char *name, float dflt) {
    const ecc_attr *a = ecc_node_attr(n, name);
    return a && a->type == ECC_ATTR_FLOAT ? a->f : dflt;
}

const char *ecc_node_attr_string(const ecc_node *n, const char *name, const char *dflt) {
    const ecc_attr *a = ecc_node_attr(n, name);
    if (!a || a->type != ECC_ATTR_STRING) return dflt;
    return a->s.data ? (const char *)a->s.data : "";
}

size_t ecc_node_attr_ints(const ecc_node *n, const char *name, const int64_t **out) {
    const ecc_attr *a = ecc_node_attr(n, name);
    *out = NULL;
    if (!a || a->type != ECC_ATTR_INTS) return 0;
    *out = a->ints;
    return a->n;
}

void ecc_node_remove_attr(ecc_node *n, const char *name) {
    for (uint32_t i = 0; i < n->n_attrs; i++) {
        if (strcmp(n->attrs[i].name, name) != 0) continue;
        ecc_attr_release(&n->attrs[i]);
        memmove(n->attrs + i, n->attrs + i + 1, (n->n_attrs - i - 1) * sizeof *n->attrs);
        n->n_attrs--;
        return;
    }
}

/* Deep-copies the value arrays of a into the arena (graphs are shared). */
static ecc_status ecc_attr_copy(ecc_ctx *ctx, ecc_arena *ar, const ecc_attr *a, ecc_attr *d) {
    *d = *a;
    memset(&d->unknown, 0, sizeof d->unknown);
    d->name = ecc_arena_strdup(ar, a->name);
    if (a->s.data) {
        d->s.data = ecc_arena_alloc(ar, a->s.len + 1);
        if (!d->s.data) return ECC_OOM(ctx);
        memcpy(d->s.data, a->s.data, a->s.len);
    }
    if (a->floats) d->floats = ecc_arena_memdup(ar, a->floats, a->n * sizeof(float));
    if (a->ints) d->ints = ecc_arena_memdup(ar, a->ints, a->n * sizeof(int64_t));
    if (a->tensors) d->tensors = ecc_arena_memdup(ar, a->tensors, a->n * sizeof(ecc_tensor *));
    if (!d->name || (a->floats && !d->floats) || (a->ints && !d->ints) ||
        (a->tensors && !d->tensors))
        return ECC_OOM(ctx);
    ecc_tensor_ref(d->t);
    for (size_t i = 0; a->type == ECC_ATTR_TENSORS && i < a->n; i++) ecc_tensor_ref(d->tensors[i]);
    return ECC_OK;
}

ecc_status ecc_node_set_attr(ecc_ctx *ctx, ecc_node *n, const ecc_attr *a) {
    ecc_arena *ar = n->graph->model->arena;
    ecc_attr copy;
    ecc_status st = ecc_attr_copy(ctx, ar, a, &copy);
    if (st) return st;
    for (uint32_t i = 0; i < n->n_attrs; i++) {
        if (strcmp(n->attrs[i].name, a->name) == 0) {
            ecc_attr_release(&n->attrs[i]);
            n->attrs[i] = copy;
            return ECC_OK;
        }
    }
    ecc_attr *attrs = ecc_arena_alloc(ar, (n->n_attrs + 1) * sizeof *attrs);
    if (!attrs) {
        ecc_attr_release(&copy);
        return ECC_OOM(ctx);
    }
    if (n->n_attrs) memcpy(attrs, n->attrs, n->n_attrs * sizeof *attrs);
    attrs[n->n_attrs++] = copy;
    n->attrs = attrs;
    return ECC_OK;
}

ecc_status ecc_node_set_attr_int(ecc_ctx *ctx, ecc_node *n, const char *name, int64_t v) {
    ecc_attr a = {.name = name, .type = ECC_ATTR_INT, .i = v};
    return ecc_node_set_attr(ctx, n, &a);
}

ecc_status ecc_node_set_attr_ints(ecc_ctx *ctx, ecc_node *n, const char *name,
                                  const int64_t *v, size_t count) {
    ecc_attr a = {.name = name, .type = ECC_ATTR_INTS, .ints = (int64_t *)v, .n = count};
    return ecc_node_set_attr(ctx, n, &a);
}

ecc_status ecc_node_set_attr_float(ecc_ctx *ctx, ecc_node *n, const char *name, float v) {
    ecc_attr a = {.name = name, .type = ECC_ATTR_FLOAT, .f = v};
    return ecc_node_set_attr(ctx, n, &a);
}
