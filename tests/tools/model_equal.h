/* model_equal.h — structural comparison of two models for round-trip tests
 * (header-only, shared by tests/test_onnx_io.c and tests/tools/roundtrip.c):
 * model fields, opsets, metadata, graphs, nodes, attributes, tensor bytes,
 * value types and every opaque blob. The first difference is described in
 * `why`. Tensor storage (raw/typed/external) is not compared. */
#ifndef ECC_TEST_MODEL_EQUAL_H
#define ECC_TEST_MODEL_EQUAL_H

#include "ir.h"

#include <stdio.h>
#include <string.h>

typedef struct meq {
    char *why;
    size_t cap;
    bool bad;
} meq;

static inline bool meq_fail(meq *q, const char *what, const char *name) {
    if (!q->bad && q->why && q->cap)
        snprintf(q->why, q->cap, "%s differs (%s)", what, name ? name : "");
    q->bad = true;
    return false;
}

static inline bool meq_str(const char *a, const char *b) {
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static inline bool meq_bytes(const ecc_bytes *a, const ecc_bytes *b) {
    return a->len == b->len && (!a->len || memcmp(a->data, b->data, a->len) == 0);
}

static inline bool meq_blob(const ecc_blob *a, const ecc_blob *b) {
    if (a->n != b->n) return false;
    for (size_t i = 0; i < a->n; i++)
        if (!meq_bytes(&a->items[i], &b->items[i])) return false;
    return true;
}

/* Initializers are named by their value, so their tensor name is not compared. */
static inline bool meq_tensor_ex(meq *q, const ecc_tensor *a, const ecc_tensor *b,
                                 const char *where, bool names) {
    if (!a || !b) return a == b ? true : meq_fail(q, "tensor presence", where);
    if (a->dtype != b->dtype || a->rank != b->rank || a->numel != b->numel ||
        a->nbytes != b->nbytes)
        return meq_fail(q, "tensor type/shape", where);
    for (int32_t i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i]) return meq_fail(q, "tensor dims", where);
    if (a->nbytes && memcmp(a->data, b->data, a->nbytes)) return meq_fail(q, "tensor bytes", where);
    if ((a->strings == NULL) != (b->strings == NULL)) return meq_fail(q, "tensor strings", where);
    for (int64_t i = 0; a->strings && i < a->numel; i++)
        if (!meq_bytes(&a->strings[i], &b->strings[i])) return meq_fail(q, "tensor strings", where);
    if ((names && !meq_str(a->name, b->name)) || !meq_str(a->doc_string, b->doc_string))
        return meq_fail(q, "tensor name/doc", where);
    if (a->has_segment != b->has_segment || a->segment_begin != b->segment_begin ||
        a->segment_end != b->segment_end)
        return meq_fail(q, "tensor segment", where);
    if (!meq_blob(&a->unknown, &b->unknown)) return meq_fail(q, "tensor unknown fields", where);
    return true;
}

static inline bool meq_tensor(meq *q, const ecc_tensor *a, const ecc_tensor *b, const char *where) {
    return meq_tensor_ex(q, a, b, where, true);
}

static inline bool meq_value(meq *q, const ecc_value *a, const ecc_value *b) {
    const uint32_t mask =
        ECC_VALUE_INPUT | ECC_VALUE_OUTPUT | ECC_VALUE_OUTER | ECC_VALUE_TYPED | ECC_VALUE_INFO;
    if (!a || !b) return a == b ? true : meq_fail(q, "value presence", a ? a->name : b->name);
    if (!meq_str(a->name, b->name)) return meq_fail(q, "value name", a->name);
    if ((a->flags & mask) != (b->flags & mask)) return meq_fail(q, "value flags", a->name);
    if (a->dtype != b->dtype || a->rank != b->rank) return meq_fail(q, "value type", a->name);
    for (int32_t i = 0; i < a->rank; i++)
        if (a->dims[i].value != b->dims[i].value || !meq_str(a->dims[i].param, b->dims[i].param) ||
            !meq_str(a->dims[i].denotation, b->dims[i].denotation))
            return meq_fail(q, "value dims", a->name);
    if (!meq_bytes(&a->type_opaque, &b->type_opaque) ||
        !meq_str(a->type_denotation, b->type_denotation) ||
        !meq_str(a->doc_string, b->doc_string) || !meq_blob(&a->vi_unknown, &b->vi_unknown))
        return meq_fail(q, "value info", a->name);
    if ((a->outer == NULL) != (b->outer == NULL)) return meq_fail(q, "value capture", a->name);
    return meq_tensor_ex(q, a->init, b->init, a->name, false);
}

static inline bool meq_list(meq *q, const ecc_ptrvec *a, const ecc_ptrvec *b, const char *what) {
    if (a->n != b->n) return meq_fail(q, what, "count");
    for (size_t i = 0; i < a->n; i++)
        if (!meq_value(q, a->items[i], b->items[i])) return false;
    return true;
}

static inline bool meq_graph(meq *q, const ecc_graph *a, const ecc_graph *b);

static inline bool meq_attr(meq *q, const ecc_attr *a, const ecc_attr *b, const char *node) {
    if (!meq_str(a->name, b->name) || a->type != b->type) return meq_fail(q, "attribute", node);
    if (!meq_str(a->doc_string, b->doc_string) || !meq_str(a->ref_attr_name, b->ref_attr_name) ||
        !meq_blob(&a->unknown, &b->unknown))
        return meq_fail(q, "attribute meta", a->name);
    if (memcmp(&a->f, &b->f, sizeof a->f) || a->i != b->i || !meq_bytes(&a->s, &b->s))
        return meq_fail(q, "attribute value", a->name);
    if (!meq_tensor(q, a->t, b->t, a->name)) return false;
    if ((a->g || b->g) && (!a->g || !b->g || !meq_graph(q, a->g, b->g)))
        return meq_fail(q, "attribute graph", a->name);
    if (a->n != b->n) return meq_fail(q, "attribute list length", a->name);
    for (size_t i = 0; i < a->n; i++) {
        bool ok = true;
        if (a->floats) ok = !memcmp(&a->floats[i], &b->floats[i], sizeof(float));
        if (a->ints) ok = ok && a->ints[i] == b->ints[i];
        if (a->strings) ok = ok && meq_bytes(&a->strings[i], &b->strings[i]);
        if (a->opaque) ok = ok && meq_bytes(&a->opaque[i], &b->opaque[i]);
        if (!ok) return meq_fail(q, "attribute list", a->name);
        if (a->tensors && !meq_tensor(q, a->tensors[i], b->tensors[i], a->name)) return false;
        if (a->graphs && !meq_graph(q, a->graphs[i], b->graphs[i])) return false;
    }
    return true;
}

static inline bool meq_node(meq *q, const ecc_node *a, const ecc_node *b) {
    if (!meq_str(a->op_type, b->op_type) || !meq_str(a->domain, b->domain) ||
        !meq_str(a->name, b->name) || !meq_str(a->doc_string, b->doc_string))
        return meq_fail(q, "node", a->name);
    if (a->n_inputs != b->n_inputs || a->n_outputs != b->n_outputs || a->n_attrs != b->n_attrs)
        return meq_fail(q, "node arity", a->name);
    for (uint32_t i = 0; i < a->n_inputs; i++)
        if ((a->inputs[i] == NULL) != (b->inputs[i] == NULL) ||
            (a->inputs[i] && !meq_str(a->inputs[i]->name, b->inputs[i]->name)))
            return meq_fail(q, "node input", a->name);
    for (uint32_t i = 0; i < a->n_outputs; i++)
        if ((a->outputs[i] == NULL) != (b->outputs[i] == NULL) ||
            (a->outputs[i] && !meq_str(a->outputs[i]->name, b->outputs[i]->name)))
            return meq_fail(q, "node output", a->name);
    for (uint32_t i = 0; i < a->n_attrs; i++)
        if (!meq_attr(q, &a->attrs[i], &b->attrs[i], a->name)) return false;
    if (!meq_blob(&a->unknown, &b->unknown)) return meq_fail(q, "node unknown fields", a->name);
    return true;
}

static inline bool meq_graph(meq *q, const ecc_graph *a, const ecc_graph *b) {
    if (!meq_str(a->name, b->name) || !meq_str(a->doc_string, b->doc_string))
        return meq_fail(q, "graph name/doc", a->name);
    if (a->nodes.n != b->nodes.n) return meq_fail(q, "node count", a->name);
    for (size_t i = 0; i < a->nodes.n; i++)
        if (!meq_node(q, a->nodes.items[i], b->nodes.items[i])) return false;
    if (!meq_list(q, &a->inputs, &b->inputs, "graph inputs") ||
        !meq_list(q, &a->outputs, &b->outputs, "graph outputs") ||
        !meq_list(q, &a->inits, &b->inits, "initializers") ||
        !meq_list(q, &a->value_infos, &b->value_infos, "value_info"))
        return false;
    if (!meq_blob(&a->sparse_inits, &b->sparse_inits) ||
        !meq_blob(&a->quant_annots, &b->quant_annots) || !meq_blob(&a->unknown, &b->unknown))
        return meq_fail(q, "graph opaque parts", a->name);
    return true;
}

/* true when a and b are structurally identical; else why says where. */
static inline bool ecc_test_model_equal(const ecc_model *a, const ecc_model *b, char *why,
                                        size_t cap) {
    meq q = {why, cap, false};
    if (why && cap) why[0] = 0;
    if (a->ir_version != b->ir_version || a->model_version != b->model_version ||
        !meq_str(a->producer_name, b->producer_name) ||
        !meq_str(a->producer_version, b->producer_version) || !meq_str(a->domain, b->domain) ||
        !meq_str(a->doc_string, b->doc_string))
        return meq_fail(&q, "model fields", "");
    if (a->n_opsets != b->n_opsets) return meq_fail(&q, "opsets", "count");
    for (size_t i = 0; i < a->n_opsets; i++)
        if (!meq_str(a->opsets[i].domain, b->opsets[i].domain) ||
            a->opsets[i].version != b->opsets[i].version)
            return meq_fail(&q, "opset", a->opsets[i].domain);
    if (a->n_metadata != b->n_metadata) return meq_fail(&q, "metadata", "count");
    for (size_t i = 0; i < a->n_metadata; i++)
        if (!meq_str(a->metadata[i].key, b->metadata[i].key) ||
            !meq_str(a->metadata[i].value, b->metadata[i].value))
            return meq_fail(&q, "metadata", a->metadata[i].key);
    if (!meq_blob(&a->functions, &b->functions) ||
        !meq_blob(&a->training_info, &b->training_info) || !meq_blob(&a->unknown, &b->unknown))
        return meq_fail(&q, "model opaque parts", "");
    return meq_graph(&q, a->graph, b->graph);
}

#endif
