/* normalize.c — the `normalize` pass: Constant nodes become initializers, so
 * later passes find every weight in one place. Handles each Constant form
 * (value, value_float(s), value_int(s), value_string(s)); sparse_value is left
 * as it is (and said so); a Constant that is itself a graph output stays. */
#include "pipeline.h"

#include <stdlib.h>
#include <string.h>

typedef ecc_status (*const_make_fn)(ecc_ctx *ctx, const ecc_attr *a, ecc_tensor **out);

static ecc_status make_tensor(ecc_ctx *ctx, const ecc_attr *a, ecc_tensor **out) {
    if (!a->t) return ecc_ctx_error(ctx, ECC_E_INPUT, "Constant 'value' holds no tensor");
    *out = ecc_tensor_ref(a->t);
    return ECC_OK;
}

static ecc_status make_float(ecc_ctx *ctx, const ecc_attr *a, ecc_tensor **out) {
    ecc_status st = ecc_tensor_create(ctx, ECC_DTYPE_FLOAT, 0, NULL, out);
    if (st == ECC_OK) ((float *)(*out)->data)[0] = a->f;
    return st;
}

static ecc_status make_floats(ecc_ctx *ctx, const ecc_attr *a, ecc_tensor **out) {
    int64_t n = (int64_t)a->n;
    ecc_status st = ecc_tensor_create(ctx, ECC_DTYPE_FLOAT, 1, &n, out);
    if (st == ECC_OK && n) memcpy((*out)->data, a->floats, a->n * sizeof(float));
    return st;
}

static ecc_status make_int(ecc_ctx *ctx, const ecc_attr *a, ecc_tensor **out) {
    ecc_status st = ecc_tensor_create(ctx, ECC_DTYPE_INT64, 0, NULL, out);
    if (st == ECC_OK) ((int64_t *)(*out)->data)[0] = a->i;
    return st;
}

static ecc_status make_ints(ecc_ctx *ctx, const ecc_attr *a, ecc_tensor **out) {
    int64_t n = (int64_t)a->n;
    ecc_status st = ecc_tensor_create(ctx, ECC_DTYPE_INT64, 1, &n, out);
    if (st == ECC_OK && n) memcpy((*out)->data, a->ints, a->n * sizeof(int64_t));
    return st;
}

static bool bytes_copy(ecc_bytes *dst, const ecc_bytes *src) {
    dst->data = malloc(src->len + 1);
    if (!dst->data) return false;
    if (src->len) memcpy(dst->data, src->data, src->len);
    dst->len = src->len;
    return true;
}

static ecc_status make_strings_n(ecc_ctx *ctx, const ecc_bytes *s, size_t n, int32_t rank,
                                 ecc_tensor **out) {
    int64_t dim = (int64_t)n;
    ecc_status st = ecc_tensor_create(ctx, ECC_DTYPE_STRING, rank, &dim, out);
    for (size_t i = 0; st == ECC_OK && i < n; i++) {
        if (!bytes_copy(&(*out)->strings[i], &s[i])) {
            ecc_tensor_unref(*out);
            *out = NULL;
            st = ECC_OOM(ctx);
        }
    }
    return st;
}

static ecc_status make_string(ecc_ctx *ctx, const ecc_attr *a, ecc_tensor **out) {
    return make_strings_n(ctx, &a->s, 1, 0, out);
}

static ecc_status make_strings(ecc_ctx *ctx, const ecc_attr *a, ecc_tensor **out) {
    return make_strings_n(ctx, a->strings, a->n, 1, out);
}

/* The Constant forms: attribute name, its type, how to build the tensor. */
static const struct {
    const char *attr;
    int32_t type;
    const_make_fn make;
} const_forms[] = {
    {"value", ECC_ATTR_TENSOR, make_tensor},
    {"value_float", ECC_ATTR_FLOAT, make_float},
    {"value_floats", ECC_ATTR_FLOATS, make_floats},
    {"value_int", ECC_ATTR_INT, make_int},
    {"value_ints", ECC_ATTR_INTS, make_ints},
    {"value_string", ECC_ATTR_STRING, make_string},
    {"value_strings", ECC_ATTR_STRINGS, make_strings},
};

typedef struct norm_counts {
    const ecc_host_api *host;
    ecc_pass_run *run;
    size_t converted, sparse_kept, outputs_kept;
} norm_counts;

static bool is_constant(const ecc_node *n) {
    return strcmp(n->op_type, "Constant") == 0 &&
           (!n->domain[0] || strcmp(n->domain, "ai.onnx") == 0);
}

/* Builds the tensor of a Constant; *out stays NULL when the form is not handled. */
static ecc_status constant_tensor(ecc_ctx *ctx, const ecc_node *n, ecc_tensor **out) {
    *out = NULL;
    for (size_t k = 0; k < sizeof const_forms / sizeof const_forms[0]; k++) {
        const ecc_attr *a = ecc_node_attr(n, const_forms[k].attr);
        if (!a) continue;
        if (a->type != const_forms[k].type)
            return ecc_ctx_error(ctx, ECC_E_INPUT,
                                 "Constant '%s': attribute '%s' has type %d, expected %d",
                                 n->name, a->name, (int)a->type, (int)const_forms[k].type);
        return const_forms[k].make(ctx, a, out);
    }
    return ECC_OK;
}

/* Replaces Constant n (producing out) by an initializer holding t. */
static ecc_status constant_to_init(ecc_ctx *ctx, ecc_graph *g, ecc_node *n, ecc_value *out,
                                   ecc_tensor *t) {
    ecc_status st = ECC_OK;
    ecc_graph_remove_node(g, n); /* drops the attribute's reference to t */
    ECC_TRY(ecc_graph_set_initializer(ctx, g, out, t));
    ECC_TRY(ecc_value_set_shape(ctx, out, t->dtype, t->rank, t->dims));
fail:
    return st;
}

static ecc_status normalize_node(ecc_ctx *ctx, ecc_graph *g, ecc_node *n, norm_counts *c,
                                 bool *removed) {
    ecc_status st = ECC_OK;
    ecc_tensor *t = NULL;
    ecc_value *out = n->n_outputs == 1 ? n->outputs[0] : NULL;
    *removed = false;
    if (!out) return ECC_OK;
    if (ecc_node_attr(n, "sparse_value")) {
        c->sparse_kept++;
        c->host->log(c->run, "Constant '%s' holds a sparse_value: left as a node", n->name);
        return ECC_OK;
    }
    if (out->flags & ECC_VALUE_OUTPUT) {
        c->outputs_kept++;
        return ECC_OK;
    }
    ECC_TRY(constant_tensor(ctx, n, &t));
    if (!t) {
        c->host->log(c->run, "Constant '%s' has no value attribute this pass knows: left",
                     n->name);
        return ECC_OK;
    }
    ECC_TRY(constant_to_init(ctx, g, n, out, t));
    c->converted++;
    *removed = true;
fail:
    ecc_tensor_unref(t);
    return st;
}

static ecc_status normalize_graph(ecc_ctx *ctx, ecc_graph *g, void *arg) {
    ecc_status st = ECC_OK;
    for (size_t i = 0; i < g->nodes.n;) {
        ecc_node *n = g->nodes.items[i];
        bool removed = false;
        if (is_constant(n)) ECC_TRY(normalize_node(ctx, g, n, arg, &removed));
        if (!removed) i++;
    }
fail:
    return st;
}

static int normalize_run(const ecc_host_api *host, ecc_pass_run *run) {
    norm_counts c = {.host = host, .run = run};
    ecc_status st = ecc_model_each_graph(run->ctx, run->model, normalize_graph, &c);
    host->stat(run, "constants_converted", (double)c.converted);
    host->stat(run, "sparse_constants_kept", (double)c.sparse_kept);
    host->stat(run, "output_constants_kept", (double)c.outputs_kept);
    return (int)st;
}

const ecc_pass_desc ecc_pass_normalize = {
    .struct_size = sizeof(ecc_pass_desc),
    .name = "normalize",
    .summary = "turn Constant nodes into initializers (sparse constants are kept)",
    .run = normalize_run,
};
