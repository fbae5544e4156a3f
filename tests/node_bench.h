/* node_bench.h — building small models by hand in tests (test_kernels' kt_
 * bench and grad_check.h's gc_ bench): values by name, initializers, graph
 * inputs, nodes from comma-separated value names, attributes. Every call
 * asserts success. Include after cmocka.h. */
#ifndef ECC_NODE_BENCH_H
#define ECC_NODE_BENCH_H

#include "interp.h"

#include <stdio.h>
#include <string.h>

static inline ecc_value *nb_val(ecc_ctx *ctx, ecc_model *m, const char *name) {
    ecc_value *v = NULL;
    assert_int_equal(ecc_graph_get_value(ctx, m->graph, name, &v), ECC_OK);
    return v;
}

/* An initializer holding data (copied). */
static inline void nb_const(ecc_ctx *ctx, ecc_model *m, const char *name, int32_t dtype,
                            int32_t rank, const int64_t *dims, const void *data) {
    ecc_tensor *t = NULL;
    assert_int_equal(ecc_tensor_create(ctx, dtype, rank, dims, &t), ECC_OK);
    if (t->nbytes) memcpy(t->data, data, t->nbytes);
    assert_int_equal(ecc_graph_set_initializer(ctx, m->graph, nb_val(ctx, m, name), t), ECC_OK);
    ecc_tensor_unref(t);
}

/* A graph input of dtype and rank (symbolic dims); *feed describes data
 * (borrowed) of dims for the run. */
static inline void nb_input(ecc_ctx *ctx, ecc_model *m, const char *name, int32_t dtype,
                            int32_t rank, const int64_t *dims, const void *data,
                            ecc_rt_tensor *feed) {
    ecc_value *v = nb_val(ctx, m, name);
    int64_t unknown[ECC_MAX_RANK];
    for (int32_t i = 0; i < rank; i++) unknown[i] = -1;
    assert_int_equal(ecc_value_set_shape(ctx, v, dtype, rank, unknown), ECC_OK);
    v->flags |= ECC_VALUE_INPUT;
    assert_true(ecc_ptrvec_push(&m->graph->inputs, v));
    memset(feed, 0, sizeof *feed);
    feed->dtype = dtype;
    feed->rank = rank;
    int64_t n = 1;
    for (int32_t i = 0; i < rank; i++) n *= (feed->dims[i] = dims[i]);
    assert_true(ecc_dtype_nbytes(dtype, n, &feed->nbytes));
    feed->data = (void *)data;
}

/* Values named in a comma-separated list ("" between commas = an empty
 * optional slot; an empty list = none) into out[16]; returns the count. */
static inline uint32_t nb_values(ecc_ctx *ctx, ecc_model *m, const char *list,
                                 ecc_value **out) {
    char buf[512];
    uint32_t n = 0;
    snprintf(buf, sizeof buf, "%s", list);
    for (char *s = buf, *e; list[0] && s && n < 16; s = e ? e + 1 : NULL) {
        e = strchr(s, ',');
        if (e) *e = 0;
        out[n++] = *s ? nb_val(ctx, m, s) : NULL;
    }
    return n;
}

/* Node `name` of op; with `outputs` its outputs become graph outputs. */
static inline ecc_node *nb_node(ecc_ctx *ctx, ecc_model *m, const char *op, const char *name,
                                const char *ins, const char *outs, bool outputs) {
    ecc_value *iv[16], *ov[16];
    uint32_t ni = nb_values(ctx, m, ins, iv), no = nb_values(ctx, m, outs, ov);
    ecc_node *n = NULL;
    assert_int_equal(ecc_graph_add_node(ctx, m->graph, op, "", name, iv, ni, ov, no, &n), ECC_OK);
    for (uint32_t i = 0; i < no && outputs; i++)
        if (ov[i]) {
            ov[i]->flags |= ECC_VALUE_OUTPUT;
            assert_true(ecc_ptrvec_push(&m->graph->outputs, ov[i]));
        }
    return n;
}

static inline void nb_int(ecc_ctx *ctx, ecc_node *n, const char *name, int64_t v) {
    assert_int_equal(ecc_node_set_attr_int(ctx, n, name, v), ECC_OK);
}
static inline void nb_ints(ecc_ctx *ctx, ecc_node *n, const char *name, const int64_t *v,
                           size_t count) {
    assert_int_equal(ecc_node_set_attr_ints(ctx, n, name, v, count), ECC_OK);
}
static inline void nb_float(ecc_ctx *ctx, ecc_node *n, const char *name, float v) {
    assert_int_equal(ecc_node_set_attr_float(ctx, n, name, v), ECC_OK);
}
static inline void nb_str(ecc_ctx *ctx, ecc_node *n, const char *name, const char *v) {
    ecc_attr a = {.name = name, .type = ECC_ATTR_STRING, .s = {(uint8_t *)v, strlen(v)}};
    assert_int_equal(ecc_node_set_attr(ctx, n, &a), ECC_OK);
}

#endif
