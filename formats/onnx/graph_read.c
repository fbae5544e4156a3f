/* graph_read.c — GraphProto → ecc_graph. Every value the graph defines
 * (inputs, initializers, node outputs) is created first, so nodes may come
 * in any order and subgraphs can capture any outer value; then nodes with
 * their attributes (subgraphs recursively), graph outputs, value_info and
 * the parts kept opaque (sparse initializers, quantization annotations,
 * unknown fields). Duplicate definitions are refused here; undefined inputs,
 * unproduced outputs and cycles are left to ecc_graph_verify. */
#include "onnx_internal.h"

#include <string.h>

static ecc_status sdup(ecc_onnx_rd *r, const char *s, const char **out) {
    *out = NULL;
    if (!s) return ECC_OK;
    *out = ecc_arena_strdup(r->m->arena, s);
    return *out ? ECC_OK : ECC_OOM(r->ctx);
}

/* ---------------- value types ---------------- */

static bool shape_has_unknown(const Onnx__TensorShapeProto *s) {
    if (!s) return false;
    if (s->base.n_unknown_fields) return true;
    for (size_t i = 0; i < s->n_dim; i++)
        if (s->dim[i]->base.n_unknown_fields) return true;
    return false;
}

/* Tensor types without unknown fields are modelled; anything else is kept packed. */
static bool type_is_modelled(const Onnx__TypeProto *tp) {
    return tp->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE && !tp->base.n_unknown_fields &&
           !tp->tensor_type->base.n_unknown_fields && !shape_has_unknown(tp->tensor_type->shape);
}

static ecc_status dims_read(ecc_onnx_rd *r, ecc_value *v, const Onnx__TensorShapeProto *s) {
    ecc_status st = ECC_OK;
    ECC_FAIL_IF(s->n_dim > INT32_MAX, r->ctx, ECC_E_INPUT, "value '%s': rank too large",
                ECC_Q(v->name));
    v->rank = (int32_t)s->n_dim;
    if (!s->n_dim) return ECC_OK;
    v->dims = ecc_arena_alloc(r->m->arena, s->n_dim * sizeof *v->dims);
    ECC_FAIL_IF(!v->dims, r->ctx, ECC_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < s->n_dim; i++) {
        const Onnx__TensorShapeProto__Dimension *d = s->dim[i];
        ecc_dim *o = &v->dims[i];
        o->value = -1;
        if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
            d->dim_value >= 0)
            o->value = d->dim_value;
        if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM)
            ECC_TRY(sdup(r, d->dim_param, &o->param));
        ECC_TRY(sdup(r, d->denotation, &o->denotation));
    }
fail:
    return st;
}

static ecc_status type_read(ecc_onnx_rd *r, ecc_value *v, const Onnx__TypeProto *tp) {
    ecc_status st = ECC_OK;
    v->flags |= ECC_VALUE_TYPED;
    if (!type_is_modelled(tp))
        return ecc_onnx_pack_to(r->ctx, r->m->arena, &tp->base, &v->type_opaque);
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    v->dtype = tt->has_elem_type ? tt->elem_type : 0;
    v->rank = -1;
    if (tt->shape) ECC_TRY(dims_read(r, v, tt->shape));
    ECC_TRY(sdup(r, tp->denotation, &v->type_denotation));
fail:
    return st;
}

/* Type, doc string and unknown fields of a ValueInfoProto; the first
 * listing of a value wins. */
static ecc_status vi_read(ecc_onnx_rd *r, ecc_value *v, const Onnx__ValueInfoProto *vi) {
    ecc_status st = ECC_OK;
    if (!v->doc_string) ECC_TRY(sdup(r, vi->doc_string, &v->doc_string));
    if (!v->vi_unknown.n) ECC_TRY(ecc_onnx_unknown_save(r->ctx, &vi->base, &v->vi_unknown));
    if (vi->type && !(v->flags & ECC_VALUE_TYPED)) ECC_TRY(type_read(r, v, vi->type));
fail:
    return st;
}

/* ---------------- definitions ---------------- */

static const char *gname(const ecc_graph *g) { return g->name ? g->name : ""; }

static ecc_status define_inputs(ecc_onnx_rd *r, ecc_graph *g, const Onnx__GraphProto *gp) {
    ecc_status st = ECC_OK;
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = gp->input[i];
        const char *name = vi->name ? vi->name : "";
        ECC_FAIL_IF(!*name, r->ctx, ECC_E_INPUT, "graph '%s': input %zu has no name",
                    ECC_Q(gname(g)), i);
        ECC_FAIL_IF(ecc_graph_find(g, name), r->ctx, ECC_E_INPUT,
                    "graph '%s': value '%s' is defined twice (listed twice as a graph input)",
                    ECC_Q(gname(g)), ECC_Q(name));
        ecc_value *v;
        ECC_TRY(ecc_graph_add_value(r->ctx, g, name, &v));
        v->flags |= ECC_VALUE_INPUT;
        ECC_TRY(vi_read(r, v, vi));
        ECC_FAIL_IF(!ecc_ptrvec_push(&g->inputs, v), r->ctx, ECC_E_INTERNAL, "out of memory");
    }
fail:
    return st;
}

static ecc_status define_inits(ecc_onnx_rd *r, ecc_graph *g, const Onnx__GraphProto *gp) {
    ecc_status st = ECC_OK;
    ecc_tensor *t = NULL;
    for (size_t i = 0; i < gp->n_initializer; i++) {
        Onnx__TensorProto *tp = gp->initializer[i];
        const char *name = tp->name ? tp->name : "";
        ECC_FAIL_IF(!*name, r->ctx, ECC_E_INPUT, "graph '%s': initializer %zu has no name",
                    ECC_Q(gname(g)), i);
        ecc_value *v = ecc_graph_find(g, name);
        ECC_FAIL_IF(v && v->init, r->ctx, ECC_E_INPUT,
                    "value '%s' is defined twice (two initializers)", ECC_Q(name));
        ECC_TRY(ecc_onnx_tensor_read(r, tp, &t));
        if (!v) ECC_TRY(ecc_graph_add_value(r->ctx, g, name, &v));
        ECC_TRY(ecc_graph_set_initializer(r->ctx, g, v, t));
        ecc_tensor_unref(t);
        t = NULL;
    }
fail:
    ecc_tensor_unref(t);
    return st;
}

/* What already defines v, for the duplicate message. */
static const char *defined_as(const ecc_value *v) {
    if (v->init) return "an initializer";
    if (v->flags & ECC_VALUE_INPUT) return "a graph input";
    return "another node's output";
}

static ecc_status define_outputs(ecc_onnx_rd *r, ecc_graph *g, const Onnx__GraphProto *gp) {
    ecc_status st = ECC_OK;
    for (size_t i = 0; i < gp->n_node; i++) {
        const Onnx__NodeProto *np = gp->node[i];
        for (size_t k = 0; k < np->n_output; k++) {
            const char *name = np->output[k];
            if (!name || !*name) continue;
            ecc_value *v = ecc_graph_find(g, name);
            ECC_FAIL_IF(v, r->ctx, ECC_E_INPUT,
                        "value '%s' is defined twice (output of node '%s' (%s) and %s)",
                        ECC_Q(name), ECC_Q(np->name), ECC_Q(np->op_type), defined_as(v));
            ECC_TRY(ecc_graph_add_value(r->ctx, g, name, &v));
        }
    }
fail:
    return st;
}

/* ---------------- nodes ---------------- */

static ecc_status node_values(ecc_onnx_rd *r, ecc_graph *g, char **names, size_t n, bool outputs,
                              ecc_value ***out) {
    ecc_status st = ECC_OK;
    ECC_FAIL_IF(n > UINT32_MAX, r->ctx, ECC_E_INPUT, "node has too many inputs or outputs");
    *out = ecc_arena_alloc(r->m->arena, (n + 1) * sizeof **out);
    ECC_FAIL_IF(!*out, r->ctx, ECC_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (!names[i] || !*names[i]) continue; /* empty optional */
        if (outputs)
            (*out)[i] = ecc_graph_find(g, names[i]);
        else
            ECC_TRY(ecc_graph_get_value(r->ctx, g, names[i], &(*out)[i]));
    }
fail:
    return st;
}

static ecc_status node_read(ecc_onnx_rd *r, ecc_graph *g, Onnx__NodeProto *np, size_t idx) {
    ecc_status st = ECC_OK;
    ecc_value **ins, **outs;
    ecc_node *n;
    char label[120];
    snprintf(label, sizeof label, "%s", np->name && *np->name ? ECC_Q(np->name) : "");
    if (!*label) snprintf(label, sizeof label, "#%zu", idx);
    ECC_FAIL_IF(!np->op_type || !*np->op_type, r->ctx, ECC_E_INPUT, "node '%s' has no op_type",
                label);
    ECC_TRY(node_values(r, g, np->input, np->n_input, false, &ins));
    ECC_TRY(node_values(r, g, np->output, np->n_output, true, &outs));
    ECC_TRY(ecc_graph_add_node(r->ctx, g, np->op_type, np->domain, np->name, ins,
                               (uint32_t)np->n_input, outs, (uint32_t)np->n_output, &n));
    ECC_TRY(sdup(r, np->doc_string, &n->doc_string));
    ECC_TRY(ecc_onnx_unknown_save(r->ctx, &np->base, &n->unknown));
    ECC_FAIL_IF(np->n_attribute > UINT32_MAX, r->ctx, ECC_E_INPUT, "node '%s': too many attributes",
                label);
    if (!np->n_attribute) return ECC_OK;
    n->attrs = ecc_arena_alloc(r->m->arena, np->n_attribute * sizeof *n->attrs);
    ECC_FAIL_IF(!n->attrs, r->ctx, ECC_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < np->n_attribute; i++) {
        n->n_attrs = (uint32_t)i + 1; /* released with the node even on failure */
        ECC_TRY(ecc_onnx_attr_read(r, n, np->attribute[i], &n->attrs[i]));
        for (size_t k = 0; k < i; k++)
            ECC_FAIL_IF(!strcmp(n->attrs[k].name, n->attrs[i].name), r->ctx, ECC_E_INPUT,
                        "node '%s' (%s): attribute '%s' appears twice", label, ECC_Q(np->op_type),
                        ECC_Q(n->attrs[i].name));
    }
fail:
    return st;
}

/* ---------------- outputs, value_info, opaque parts ---------------- */

static ecc_status list_read(ecc_onnx_rd *r, ecc_graph *g, Onnx__ValueInfoProto **vis, size_t n,
                            uint32_t flag, ecc_ptrvec *list, const char *what) {
    ecc_status st = ECC_OK;
    for (size_t i = 0; i < n; i++) {
        const char *name = vis[i]->name ? vis[i]->name : "";
        ecc_value *v;
        ECC_FAIL_IF(!*name, r->ctx, ECC_E_INPUT, "graph '%s': %s %zu has no name", ECC_Q(gname(g)),
                    what, i);
        ECC_TRY(ecc_graph_get_value(r->ctx, g, name, &v));
        v->flags |= flag;
        ECC_TRY(vi_read(r, v, vis[i]));
        ECC_FAIL_IF(!ecc_ptrvec_push(list, v), r->ctx, ECC_E_INTERNAL, "out of memory");
    }
fail:
    return st;
}

static ecc_status opaque_read(ecc_onnx_rd *r, ecc_graph *g, Onnx__GraphProto *gp) {
    ecc_status st = ECC_OK;
    ECC_TRY(ecc_onnx_blob_from(r->ctx, (ProtobufCMessage *const *)gp->sparse_initializer,
                               gp->n_sparse_initializer, &g->sparse_inits));
    ECC_TRY(ecc_onnx_blob_from(r->ctx, (ProtobufCMessage *const *)gp->quantization_annotation,
                               gp->n_quantization_annotation, &g->quant_annots));
    ECC_TRY(ecc_onnx_unknown_save(r->ctx, &gp->base, &g->unknown));
fail:
    return st;
}

ecc_status ecc_onnx_graph_read(ecc_onnx_rd *r, ecc_graph *g, Onnx__GraphProto *gp) {
    ecc_status st = ECC_OK;
    if (gp->name) ECC_TRY(sdup(r, gp->name, &g->name));
    ECC_TRY(sdup(r, gp->doc_string, &g->doc_string));
    ECC_TRY(define_inputs(r, g, gp));
    ECC_TRY(define_inits(r, g, gp));
    ECC_TRY(define_outputs(r, g, gp));
    for (size_t i = 0; i < gp->n_node; i++)
        ECC_TRY(node_read(r, g, gp->node[i], i));
    ECC_TRY(list_read(r, g, gp->output, gp->n_output, ECC_VALUE_OUTPUT, &g->outputs, "output"));
    ECC_TRY(list_read(r, g, gp->value_info, gp->n_value_info, ECC_VALUE_INFO, &g->value_infos,
                      "value_info"));
    ECC_TRY(opaque_read(r, g, gp));
fail:
    return st;
}
