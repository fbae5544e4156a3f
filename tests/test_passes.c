/* test_passes.c — the built-in passes on small graphs built with the IR API:
 * dce (dead chains, kept outputs, initializers), normalize (every Constant
 * form), fold-bn (numerically checked against a tiny reference evaluator for
 * Conv, Gemm with transB 0/1, MatMul; shared weights; skips) and
 * fold-constants (the Shape→Gather→Unsqueeze→Concat→Reshape chain and the
 * other kernels). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "pipeline.h"
#include "fixtures.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------- fixture ---------------- */

static int setup(void **state) { return fixture_setup(state, 17); }
static int setup11(void **state) { return fixture_setup(state, 11); }

/* ---------------- dce ---------------- */

static void test_dce(void **state) {
    fixture *f = *state;
    int64_t d[1] = {4};
    input(f, "x", 1, d);
    init_f32(f, "w", 1, d, -1, 1);
    init_f32(f, "w_dead", 1, d, -1, 1);
    init_f32(f, "w_unused", 1, d, -1, 1);
    add(f, "Add", "x w", "a");
    add(f, "Relu", "a", "y");
    add(f, "Mul", "a w_dead", "d1"); /* dead chain of two */
    add(f, "Neg", "d1", "d2");
    add(f, "Sigmoid", "x", "z"); /* second output */
    output(f, "y");
    output(f, "z");
    run_pass(f, "dce");
    assert_int_equal(f->m->graph->nodes.n, 3);
    assert_int_equal(count_op(f->m->graph, "Mul") + count_op(f->m->graph, "Neg"), 0);
    assert_non_null(V("y")->producer);
    assert_non_null(V("z")->producer);
    assert_int_equal(f->m->graph->inits.n, 1);
    assert_non_null(V("w")->init);
    assert_true(stat(f, "nodes_removed") == 2);
    assert_true(stat(f, "initializers_removed") == 2);
    run_pass(f, "dce");
    assert_true(stat(f, "nodes_removed") == 0);
}

/* ---------------- normalize ---------------- */

static ecc_node *constant(fixture *f, const char *out, const ecc_attr *a) {
    ecc_node *n = add(f, "Constant", "", out);
    assert_int_equal(ecc_node_set_attr(f->ctx, n, a), ECC_OK);
    return n;
}

static void test_normalize_every_form(void **state) {
    fixture *f = *state;
    int64_t d[1] = {3};
    ecc_tensor *t = tensor(f, ECC_DTYPE_FLOAT, 1, d);
    for (int i = 0; i < 3; i++) ((float *)t->data)[i] = (float)i + 0.5f;
    float fl[2] = {1.5f, -2.0f};
    int64_t in[3] = {7, -8, 9};
    ecc_bytes s = {(uint8_t *)"hey", 3};
    ecc_bytes ss[2] = {{(uint8_t *)"a", 1}, {(uint8_t *)"bc", 2}};
    ecc_bytes sparse = {(uint8_t *)"\x0a\x00", 2};
    constant(f, "c_tensor", &(ecc_attr){.name = "value", .type = ECC_ATTR_TENSOR, .t = t});
    ecc_tensor_unref(t);
    constant(f, "c_float", &(ecc_attr){.name = "value_float", .type = ECC_ATTR_FLOAT, .f = 2.5f});
    constant(f, "c_floats",
             &(ecc_attr){.name = "value_floats", .type = ECC_ATTR_FLOATS, .floats = fl, .n = 2});
    constant(f, "c_int", &(ecc_attr){.name = "value_int", .type = ECC_ATTR_INT, .i = -42});
    constant(f, "c_ints",
             &(ecc_attr){.name = "value_ints", .type = ECC_ATTR_INTS, .ints = in, .n = 3});
    constant(f, "c_string", &(ecc_attr){.name = "value_string", .type = ECC_ATTR_STRING, .s = s});
    constant(f, "c_strings",
             &(ecc_attr){.name = "value_strings", .type = ECC_ATTR_STRINGS, .strings = ss, .n = 2});
    constant(f, "c_sparse", &(ecc_attr){.name = "sparse_value", .type = ECC_ATTR_SPARSE_TENSOR,
                                        .opaque = &sparse, .n = 1});
    constant(f, "c_out", &(ecc_attr){.name = "value_int", .type = ECC_ATTR_INT, .i = 1});
    const char *used[] = {"c_tensor", "c_float", "c_floats", "c_int", "c_ints",
                          "c_string", "c_strings", "c_sparse"};
    for (size_t i = 0; i < 8; i++) {
        char outn[32];
        snprintf(outn, sizeof outn, "o%zu", i);
        add(f, "Identity", used[i], outn);
        output(f, outn);
    }
    output(f, "c_out");
    run_pass(f, "normalize");

    assert_true(stat(f, "constants_converted") == 7);
    assert_true(stat(f, "sparse_constants_kept") == 1);
    assert_true(stat(f, "output_constants_kept") == 1);
    assert_int_equal(count_op(f->m->graph, "Constant"), 2);
    const ecc_tensor *c;
    c = V("c_tensor")->init;
    assert_true(c && c->dtype == ECC_DTYPE_FLOAT && c->rank == 1 && c->numel == 3);
    assert_true(((float *)c->data)[2] == 2.5f);
    c = V("c_float")->init;
    assert_true(c && c->rank == 0 && ((float *)c->data)[0] == 2.5f);
    c = V("c_floats")->init;
    assert_true(c && c->rank == 1 && c->dims[0] == 2 && ((float *)c->data)[1] == -2.0f);
    c = V("c_int")->init;
    assert_true(c && c->dtype == ECC_DTYPE_INT64 && c->rank == 0);
    assert_int_equal(((int64_t *)c->data)[0], -42);
    c = V("c_ints")->init;
    assert_true(c && c->dims[0] == 3 && ((int64_t *)c->data)[2] == 9);
    c = V("c_string")->init;
    assert_true(c && c->dtype == ECC_DTYPE_STRING && c->rank == 0);
    assert_memory_equal(c->strings[0].data, "hey", 3);
    c = V("c_strings")->init;
    assert_true(c && c->rank == 1 && c->dims[0] == 2 && c->strings[1].len == 2);
    assert_memory_equal(c->strings[1].data, "bc", 2);
    assert_null(V("c_sparse")->init);
    assert_non_null(V("c_sparse")->producer);
    assert_null(V("c_out")->init);
    assert_int_equal(V("c_ints")->rank, 1); /* typed like its tensor */
}

/* ---------------- a tiny reference evaluator (float32) ---------------- */

typedef struct rbuf {
    const ecc_value *v;
    float *d;
    int64_t dims[4];
    int rank;
} rbuf;

typedef struct reval {
    rbuf b[64];
    int n;
} reval;

static int64_t numel(const rbuf *b) {
    int64_t n = 1;
    for (int i = 0; i < b->rank; i++) n *= b->dims[i];
    return n;
}

static rbuf *rb_new(reval *e, const ecc_value *v, int rank, const int64_t *dims) {
    assert_true(e->n < 64);
    rbuf *b = &e->b[e->n++];
    b->v = v;
    b->rank = rank;
    memcpy(b->dims, dims, (size_t)rank * sizeof *dims);
    b->d = calloc((size_t)numel(b) + 1, sizeof(float));
    return b;
}

static const rbuf *rb_get(reval *e, const ecc_value *v) {
    for (int i = 0; i < e->n; i++)
        if (e->b[i].v == v) return &e->b[i];
    const ecc_tensor *t = ecc_value_const(v);
    if (!t) fail_msg("no value for '%s'", v->name);
    assert_int_equal(t->dtype, ECC_DTYPE_FLOAT);
    rbuf *b = rb_new(e, v, t->rank, t->dims);
    memcpy(b->d, t->data, t->nbytes);
    return b;
}

static void ev_conv(reval *e, const ecc_node *n) {
    const rbuf *x = rb_get(e, n->inputs[0]), *w = rb_get(e, n->inputs[1]);
    const rbuf *b = n->n_inputs > 2 && n->inputs[2] ? rb_get(e, n->inputs[2]) : NULL;
    const int64_t *pads = NULL;
    int64_t p = ecc_node_attr_ints(n, "pads", &pads) ? pads[0] : 0;
    int64_t N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3];
    int64_t M = w->dims[0], KH = w->dims[2], KW = w->dims[3];
    int64_t OH = H + 2 * p - KH + 1, OW = W + 2 * p - KW + 1;
    rbuf *y = rb_new(e, n->outputs[0], 4, (int64_t[]){N, M, OH, OW});
    for (int64_t nn = 0; nn < N; nn++)
        for (int64_t m = 0; m < M; m++)
            for (int64_t oh = 0; oh < OH; oh++)
                for (int64_t ow = 0; ow < OW; ow++) {
                    double acc = b ? b->d[m] : 0;
                    for (int64_t c = 0; c < C; c++)
                        for (int64_t kh = 0; kh < KH; kh++)
                            for (int64_t kw = 0; kw < KW; kw++) {
                                int64_t ih = oh + kh - p, iw = ow + kw - p;
                                if (ih < 0 || iw < 0 || ih >= H || iw >= W) continue;
                                acc += (double)x->d[((nn * C + c) * H + ih) * W + iw] *
                                       w->d[((m * C + c) * KH + kh) * KW + kw];
                            }
                    y->d[((nn * M + m) * OH + oh) * OW + ow] = (float)acc;
                }
}

/* Gemm (transA 0) and MatMul (2-D): y = alpha * A·B' + beta * C. */
static void ev_gemm(reval *e, const ecc_node *n, bool gemm) {
    const rbuf *a = rb_get(e, n->inputs[0]), *b = rb_get(e, n->inputs[1]);
    const rbuf *c = gemm && n->n_inputs > 2 && n->inputs[2] ? rb_get(e, n->inputs[2]) : NULL;
    bool tb = gemm && ecc_node_attr_int(n, "transB", 0);
    double alpha = gemm ? ecc_node_attr_float(n, "alpha", 1) : 1;
    double beta = gemm ? ecc_node_attr_float(n, "beta", 1) : 1;
    int64_t M = a->dims[0], K = a->dims[1], N = tb ? b->dims[0] : b->dims[1];
    rbuf *y = rb_new(e, n->outputs[0], 2, (int64_t[]){M, N});
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double acc = 0;
            for (int64_t k = 0; k < K; k++)
                acc += (double)a->d[i * K + k] * b->d[tb ? j * K + k : k * N + j];
            int64_t nc = c ? numel(c) : 0;
            double cv = !c ? 0 : nc == 1 ? c->d[0] : nc == N ? c->d[j] : c->d[i * N + j];
            y->d[i * N + j] = (float)(alpha * acc + beta * cv);
        }
}

static void ev_bn(reval *e, const ecc_node *n) {
    const rbuf *x = rb_get(e, n->inputs[0]);
    const float *g = rb_get(e, n->inputs[1])->d, *bt = rb_get(e, n->inputs[2])->d;
    const float *mean = rb_get(e, n->inputs[3])->d, *var = rb_get(e, n->inputs[4])->d;
    float eps = ecc_node_attr_float(n, "epsilon", 1e-5f);
    rbuf *y = rb_new(e, n->outputs[0], x->rank, x->dims);
    int64_t C = x->dims[1], inner = numel(x) / (x->dims[0] * C);
    for (int64_t i = 0; i < numel(x); i++) {
        int64_t c = (i / inner) % C;
        y->d[i] = (float)(((double)x->d[i] - mean[c]) / sqrt((double)var[c] + eps) * g[c] + bt[c]);
    }
}

/* Add with a [N] bias broadcast over rows, or same shapes. */
static void ev_add(reval *e, const ecc_node *n) {
    const rbuf *a = rb_get(e, n->inputs[0]), *b = rb_get(e, n->inputs[1]);
    rbuf *y = rb_new(e, n->outputs[0], a->rank, a->dims);
    for (int64_t i = 0; i < numel(a); i++) y->d[i] = a->d[i] + b->d[i % numel(b)];
}

static void ev_relu(reval *e, const ecc_node *n) {
    const rbuf *a = rb_get(e, n->inputs[0]);
    rbuf *y = rb_new(e, n->outputs[0], a->rank, a->dims);
    for (int64_t i = 0; i < numel(a); i++) y->d[i] = a->d[i] > 0 ? a->d[i] : 0;
}

/* Evaluates the graph for input x (data, dims) and copies output `out`. */
static void evaluate(fixture *f, const float *x, int rank, const int64_t *dims, const char *out,
                     float *res, int64_t cap) {
    reval *e = calloc(1, sizeof *e);
    rbuf *in = rb_new(e, V("x"), rank, dims);
    memcpy(in->d, x, (size_t)numel(in) * sizeof(float));
    for (size_t i = 0; i < f->m->graph->nodes.n; i++) {
        const ecc_node *n = f->m->graph->nodes.items[i];
        if (!strcmp(n->op_type, "Conv")) ev_conv(e, n);
        else if (!strcmp(n->op_type, "Gemm")) ev_gemm(e, n, true);
        else if (!strcmp(n->op_type, "MatMul")) ev_gemm(e, n, false);
        else if (!strcmp(n->op_type, "BatchNormalization")) ev_bn(e, n);
        else if (!strcmp(n->op_type, "Add")) ev_add(e, n);
        else if (!strcmp(n->op_type, "Relu")) ev_relu(e, n);
        else fail_msg("reference evaluator lacks %s", n->op_type);
    }
    const rbuf *o = rb_get(e, V(out));
    assert_true(numel(o) <= cap);
    memcpy(res, o->d, (size_t)numel(o) * sizeof(float));
    for (int i = 0; i < e->n; i++) free(e->b[i].d);
    free(e);
}

enum { MAXO = 4096 };

/* Output `out` for random inputs, before and after fold-bn, within 1e-5. */
typedef struct fold_check {
    float x[MAXO], before[MAXO], after[MAXO];
    int64_t n;
} fold_check;

static void fold_and_compare(fixture *f, int rank, const int64_t *dims, const char **outs,
                             size_t n_outs, double want_folded) {
    fold_check *c = calloc(n_outs, sizeof *c);
    int64_t nx = 1;
    for (int i = 0; i < rank; i++) nx *= dims[i];
    for (size_t k = 0; k < n_outs; k++) {
        for (int64_t i = 0; i < nx; i++) c[k].x[i] = frand(f, -2, 2);
        evaluate(f, c[k].x, rank, dims, outs[k], c[k].before, MAXO);
    }
    run_pass(f, "fold-bn");
    assert_true(stat(f, "folded") == want_folded);
    for (size_t k = 0; k < n_outs; k++) {
        evaluate(f, c[k].x, rank, dims, outs[k], c[k].after, MAXO);
        for (int64_t i = 0; i < MAXO; i++) {
            double d = fabs((double)c[k].before[i] - c[k].after[i]);
            double tol = 1e-5 * (1 + fabs((double)c[k].before[i]));
            if (d > tol)
                fail_msg("%s[%lld]: %.9g vs %.9g", outs[k], (long long)i, c[k].before[i],
                         c[k].after[i]);
        }
    }
    free(c);
}

/* BN over `ch` channels reading `in`, writing `out`. */
static ecc_node *bn(fixture *f, const char *in, const char *out, int64_t ch) {
    char names[4][64], ins[300];
    const char *parts[4] = {"scale", "bias", "mean", "var"};
    float lo[4] = {0.5f, -1, -1, 0.2f}, hi[4] = {2, 1, 1, 2};
    for (int i = 0; i < 4; i++) {
        snprintf(names[i], sizeof names[i], "%s_%s", out, parts[i]);
        init_f32(f, names[i], 1, &ch, lo[i], hi[i]);
    }
    snprintf(ins, sizeof ins, "%s %s %s %s %s", in, names[0], names[1], names[2], names[3]);
    ecc_node *n = add(f, "BatchNormalization", ins, out);
    assert_int_equal(ecc_node_set_attr_float(f->ctx, n, "epsilon", 1e-3f), ECC_OK);
    return n;
}

/* ---------------- fold-bn ---------------- */

static void conv_graph(fixture *f, bool bias) {
    int64_t xd[4] = {2, 3, 5, 5}, wd[4] = {4, 3, 3, 3}, bd[1] = {4};
    input(f, "x", 4, xd);
    init_f32(f, "W", 4, wd, -1, 1);
    if (bias) init_f32(f, "B", 1, bd, -1, 1);
    ecc_node *conv = add(f, "Conv", bias ? "x W B" : "x W", "c");
    int64_t pads[4] = {1, 1, 1, 1};
    assert_int_equal(ecc_node_set_attr_ints(f->ctx, conv, "pads", pads, 4), ECC_OK);
    bn(f, "c", "y", 4);
    output(f, "y");
}

static void test_fold_bn_conv_no_bias(void **state) {
    fixture *f = *state;
    conv_graph(f, false);
    int64_t xd[4] = {2, 3, 5, 5};
    fold_and_compare(f, 4, xd, (const char *[]){"y"}, 1, 1);
    assert_int_equal(count_op(f->m->graph, "BatchNormalization"), 0);
    assert_int_equal(f->m->graph->nodes.n, 1);
    ecc_node *conv = f->m->graph->nodes.items[0];
    assert_int_equal(conv->n_inputs, 3);
    assert_ptr_equal(conv->outputs[0], V("y"));
    assert_ptr_equal(((ecc_value *)f->m->graph->outputs.items[0])->producer, conv);
    assert_non_null(ecc_node_attr(conv, "pads"));
    assert_int_equal(f->m->graph->inits.n, 2); /* W and the new bias: BN parameters dropped */
    assert_null(V("y_scale")->init);
}

static void test_fold_bn_conv_bias(void **state) {
    fixture *f = *state;
    conv_graph(f, true);
    int64_t xd[4] = {2, 3, 5, 5};
    fold_and_compare(f, 4, xd, (const char *[]){"y"}, 1, 1);
    assert_int_equal(f->m->graph->nodes.n, 1);
    assert_ptr_equal(((ecc_node *)f->m->graph->nodes.items[0])->inputs[2], V("B"));
}

/* A pruned weight folds too: the mask stays (on the clone of a shared
 * weight as well) and the folded model computes what the pruned one did. */
static void test_fold_bn_keeps_mask(void **state) {
    fixture *f = *state;
    conv_graph(f, false);
    add(f, "Conv", "x W", "y2");
    output(f, "y2");
    run_pass(f, "prune:sparsity=0.5:min_params=1:head=true:scope=layer");
    const ecc_mask *m = V("W")->mask;
    assert_non_null(m);
    int64_t xd[4] = {2, 3, 5, 5};
    fold_and_compare(f, 4, xd, (const char *[]){"y", "y2"}, 2, 1);
    ecc_value *folded = V("y")->producer->inputs[1];
    assert_ptr_not_equal(folded, V("W")); /* cloned: W is shared */
    assert_non_null(folded->mask);
    assert_ptr_equal(folded->mask->keep, V("W")->mask->keep);
    assert_true(folded->mask->sparsity == m->sparsity);
}

/* A weight read by two Convs is cloned; the other Conv keeps the original. */
static void test_fold_bn_shared_weight(void **state) {
    fixture *f = *state;
    conv_graph(f, false);
    add(f, "Conv", "x W", "y2");
    output(f, "y2");
    ecc_tensor *teacher = ecc_tensor_ref(V("W")->init);
    float before[4 * 3 * 3 * 3];
    memcpy(before, teacher->data, sizeof before);
    int64_t xd[4] = {2, 3, 5, 5};
    fold_and_compare(f, 4, xd, (const char *[]){"y", "y2"}, 2, 1);
    assert_ptr_equal(V("W")->init, teacher);
    assert_memory_equal(teacher->data, before, sizeof before);
    ecc_node *conv = V("y")->producer;
    assert_ptr_not_equal(conv->inputs[1], V("W"));
    assert_int_equal(V("W")->n_uses, 1);
    ecc_tensor_unref(teacher);
}

/* A weight tensor shared with another model is copied, not written. */
static void test_fold_bn_teacher_tensor_untouched(void **state) {
    fixture *f = *state;
    conv_graph(f, true);
    ecc_tensor *tw = ecc_tensor_ref(V("W")->init), *tb = ecc_tensor_ref(V("B")->init);
    ecc_tensor *cw = NULL, *cb = NULL;
    assert_int_equal(ecc_tensor_clone(f->ctx, tw, &cw), ECC_OK);
    assert_int_equal(ecc_tensor_clone(f->ctx, tb, &cb), ECC_OK);
    run_pass(f, "fold-bn");
    assert_true(stat(f, "folded") == 1);
    assert_true(ecc_tensor_equal(tw, cw) && ecc_tensor_equal(tb, cb));
    assert_ptr_not_equal(V("W")->init, tw);
    assert_false(ecc_tensor_equal(V("W")->init, cw));
    ecc_tensor_unref(tw);
    ecc_tensor_unref(tb);
    ecc_tensor_unref(cw);
    ecc_tensor_unref(cb);
}

static void gemm_graph(fixture *f, int trans_b, const char *c_kind, float beta) {
    int64_t xd[2] = {3, 5}, bd[2] = {trans_b ? 4 : 5, trans_b ? 5 : 4};
    input(f, "x", 2, xd);
    init_f32(f, "Bw", 2, bd, -1, 1);
    const char *ins = "x Bw";
    if (!strcmp(c_kind, "vector")) {
        int64_t cd[1] = {4};
        init_f32(f, "C", 1, cd, -1, 1);
        ins = "x Bw C";
    } else if (!strcmp(c_kind, "scalar")) {
        init_f32(f, "C", 0, NULL, -1, 1);
        ins = "x Bw C";
    } else if (!strcmp(c_kind, "row")) {
        int64_t cd[2] = {1, 4};
        init_f32(f, "C", 2, cd, -1, 1);
        ins = "x Bw C";
    }
    ecc_node *g = add(f, "Gemm", ins, "h");
    assert_int_equal(ecc_node_set_attr_int(f->ctx, g, "transB", trans_b), ECC_OK);
    assert_int_equal(ecc_node_set_attr_float(f->ctx, g, "beta", beta), ECC_OK);
    assert_int_equal(ecc_node_set_attr_float(f->ctx, g, "alpha", 0.75f), ECC_OK);
    bn(f, "h", "y", 4);
    output(f, "y");
}

static void test_fold_bn_gemm(void **state) {
    (void)state;
    const struct {
        int trans_b;
        const char *c;
        float beta;
    } cases[] = {{0, "none", 1}, {1, "none", 1}, {0, "vector", 1}, {1, "vector", 0.5f},
                 {0, "scalar", 2}, {1, "row", 1}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        fixture *f;
        setup((void **)&f);
        gemm_graph(f, cases[k].trans_b, cases[k].c, cases[k].beta);
        int64_t xd[2] = {3, 5};
        fold_and_compare(f, 2, xd, (const char *[]){"y"}, 1, 1);
        assert_int_equal(f->m->graph->nodes.n, 1);
        ecc_node *g = f->m->graph->nodes.items[0];
        assert_string_equal(g->op_type, "Gemm");
        assert_int_equal(g->n_inputs, 3);
        assert_true(ecc_node_attr_float(g, "beta", 0) == 1.0f);
        assert_ptr_equal(g->outputs[0], V("y"));
        if (strcmp(cases[k].c, "none") != 0) assert_null(V("C")->init); /* replaced, dropped */
        fixture_teardown((void **)&f);
    }
}

static void test_fold_bn_matmul(void **state) {
    fixture *f = *state;
    int64_t xd[2] = {3, 5}, wd[2] = {5, 4};
    input(f, "x", 2, xd);
    init_f32(f, "Wm", 2, wd, -1, 1);
    add(f, "MatMul", "x Wm", "h");
    bn(f, "h", "y", 4);
    output(f, "y");
    fold_and_compare(f, 2, xd, (const char *[]){"y"}, 1, 1);
    assert_int_equal(f->m->graph->nodes.n, 2);
    assert_string_equal(V("y")->producer->op_type, "Add");
    assert_ptr_equal(V("y")->producer->inputs[0], V("h"));
    assert_string_equal(V("h")->producer->op_type, "MatMul");
    assert_int_equal(f->m->graph->inits.n, 2);
}

static void test_fold_bn_skips(void **state) {
    fixture *f = *state;
    int64_t xd[2] = {3, 5}, wd[2] = {5, 4}, cd[4] = {2, 3, 5, 5}, cw[4] = {4, 3, 3, 3};
    /* MatMul whose input rank is unknown */
    input(f, "x", -1, NULL);
    init_f32(f, "Wm", 2, wd, -1, 1);
    add(f, "MatMul", "x Wm", "h");
    bn(f, "h", "y", 4);
    output(f, "y");
    /* Conv output read twice */
    input(f, "x2", 4, cd);
    init_f32(f, "W2", 4, cw, -1, 1);
    add(f, "Conv", "x2 W2", "c2");
    bn(f, "c2", "y2", 4);
    add(f, "Relu", "c2", "r2");
    output(f, "y2");
    output(f, "r2");
    /* training mode */
    input(f, "x3", 2, xd);
    init_f32(f, "W3", 2, wd, -1, 1);
    add(f, "MatMul", "x3 W3", "h3");
    ecc_node *b3 = bn(f, "h3", "y3", 4);
    assert_int_equal(ecc_node_set_attr_int(f->ctx, b3, "training_mode", 1), ECC_OK);
    output(f, "y3");
    /* input is a graph input */
    bn(f, "x3", "y4", 5);
    output(f, "y4");
    run_pass(f, "fold-bn");
    assert_true(stat(f, "folded") == 0);
    assert_true(stat(f, "skipped") == 4);
    assert_int_equal(count_op(f->m->graph, "BatchNormalization"), 4);
}

/* ---------------- fold-constants ---------------- */

static const ecc_tensor *const_of(fixture *f, const char *name) {
    const ecc_tensor *t = V(name)->init;
    if (!t) fail_msg("'%s' is not an initializer", name);
    return t;
}

static void test_fold_shape_chain(void **state) {
    fixture *f = *state;
    int64_t xd[3] = {2, 3, 4}, one[1] = {1}, zero[1] = {0}, minus1[1] = {-1};
    input(f, "x", 3, xd);
    init_i64(f, "idx", 0, NULL, zero);
    init_i64(f, "axes", 1, one, zero);
    init_i64(f, "rest", 1, one, minus1);
    add(f, "Shape", "x", "s");
    add(f, "Gather", "s idx", "d0");
    add(f, "Unsqueeze", "d0 axes", "u");
    ecc_node *cat = add(f, "Concat", "u rest", "shape2");
    assert_int_equal(ecc_node_set_attr_int(f->ctx, cat, "axis", 0), ECC_OK);
    add(f, "Reshape", "x shape2", "y");
    output(f, "y");
    run_pass(f, "fold-constants");
    assert_true(stat(f, "folded") == 4);
    assert_int_equal(f->m->graph->nodes.n, 1);
    ecc_node *r = f->m->graph->nodes.items[0];
    assert_string_equal(r->op_type, "Reshape");
    const ecc_tensor *s = const_of(f, "shape2");
    assert_int_equal(s->dtype, ECC_DTYPE_INT64);
    assert_int_equal(s->rank, 1);
    assert_int_equal(s->dims[0], 2);
    assert_int_equal(((int64_t *)s->data)[0], 2);
    assert_int_equal(((int64_t *)s->data)[1], -1);
    /* the intermediate constants nothing reads any more are gone */
    assert_int_equal(f->m->graph->inits.n, 1);
    assert_null(V("idx")->init);
}

static void test_fold_kernels(void **state) {
    fixture *f = *state;
    int64_t d23[2] = {2, 3}, perm[2] = {1, 0}, three[1] = {3};
    ecc_tensor *a = tensor(f, ECC_DTYPE_FLOAT, 2, d23);
    for (int i = 0; i < 6; i++) ((float *)a->data)[i] = (float)i - 2.5f;
    init_t(f, "a", a);
    ecc_tensor *s = tensor(f, ECC_DTYPE_FLOAT, 0, NULL);
    ((float *)s->data)[0] = 4.0f;
    init_t(f, "s", s);
    int64_t iv[3] = {7, -7, 9}, zero3[3] = {0, 0, 0}, r0[1] = {1}, r1[1] = {7}, r2[1] = {2};
    init_i64(f, "iv", 1, three, iv);
    init_i64(f, "z3", 1, three, zero3);
    init_i64(f, "r0", 0, NULL, r0);
    init_i64(f, "r1", 0, NULL, r1);
    init_i64(f, "r2", 0, NULL, r2);
    ecc_node *tr = add(f, "Transpose", "a", "t");
    assert_int_equal(ecc_node_set_attr_ints(f->ctx, tr, "perm", perm, 2), ECC_OK);
    add(f, "Mul", "t s", "ts");           /* scalar broadcast */
    add(f, "Sub", "ts ts", "zero");       /* same shape */
    add(f, "Neg", "a", "na");
    add(f, "Sqrt", "s", "sq");
    ecc_node *cast = add(f, "Cast", "a", "ai");
    assert_int_equal(ecc_node_set_attr_int(f->ctx, cast, "to", ECC_DTYPE_INT64), ECC_OK);
    add(f, "Div", "iv r2", "q");          /* int division truncates */
    add(f, "Div", "iv z3", "bad");        /* division by zero: left */
    add(f, "Range", "r0 r1 r2", "rg");
    add(f, "Identity", "a", "id");
    add(f, "Squeeze", "ts", "ts_sq"); /* no axes, no 1-dims: same shape */
    const char *outs[] = {"ts", "zero", "na", "sq", "ai", "q", "bad", "rg", "id", "ts_sq"};
    for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++) {
        char o[32];
        snprintf(o, sizeof o, "out_%s", outs[i]);
        add(f, "Relu", outs[i], o);
        output(f, o);
    }
    run_pass(f, "fold-constants");
    assert_true(stat(f, "folded") == 10);
    assert_true(stat(f, "declined") == 1);
    const ecc_tensor *t = const_of(f, "ts");
    assert_true(t->rank == 2 && t->dims[0] == 3 && t->dims[1] == 2);
    /* a = [[-2.5,-1.5,-0.5],[0.5,1.5,2.5]]; t = a^T; ts = 4t */
    assert_true(((float *)t->data)[0] == -10.0f && ((float *)t->data)[1] == 2.0f);
    assert_true(((float *)t->data)[5] == 10.0f);
    assert_true(((float *)const_of(f, "zero")->data)[3] == 0.0f);
    assert_true(((float *)const_of(f, "na")->data)[0] == 2.5f);
    assert_true(((float *)const_of(f, "sq")->data)[0] == 2.0f);
    const ecc_tensor *ai = const_of(f, "ai");
    assert_int_equal(ai->dtype, ECC_DTYPE_INT64);
    assert_int_equal(((int64_t *)ai->data)[0], -2); /* trunc(-2.5) */
    assert_int_equal(((int64_t *)ai->data)[5], 2);
    const ecc_tensor *q = const_of(f, "q");
    assert_int_equal(((int64_t *)q->data)[0], 3);
    assert_int_equal(((int64_t *)q->data)[1], -3);
    assert_null(V("bad")->init);
    assert_string_equal(V("bad")->producer->op_type, "Div");
    const ecc_tensor *rg = const_of(f, "rg");
    assert_int_equal(rg->numel, 3);
    assert_int_equal(((int64_t *)rg->data)[2], 5);
    assert_true(((float *)const_of(f, "id")->data)[4] == 1.5f);
    assert_null(V("a")->init); /* every reader folded: dropped */
    assert_int_equal(const_of(f, "ts_sq")->rank, 2);
}

static void test_fold_max_bytes(void **state) {
    fixture *f = *state;
    int64_t xd[3] = {2, 3, 4};
    input(f, "x", 3, xd);
    add(f, "Shape", "x", "s");
    add(f, "Relu", "s", "y");
    output(f, "y");
    run_pass(f, "fold-constants:max_bytes=16"); /* the shape needs 24 bytes */
    assert_true(stat(f, "folded") == 0);
    assert_true(stat(f, "declined") == 1);
    assert_null(V("s")->init);
    run_pass(f, "fold-constants:max_bytes=24");
    assert_true(stat(f, "folded") == 1);
    const ecc_tensor *s = const_of(f, "s");
    assert_int_equal(((int64_t *)s->data)[2], 4);
}

/* Shape of an input with a symbolic dimension is not folded; graph outputs stay. */
static void test_fold_leaves_unknowns(void **state) {
    fixture *f = *state;
    int64_t xd[2] = {-1, 3}, two[1] = {2};
    input(f, "x", 2, xd);
    int64_t c[2] = {1, 2};
    init_i64(f, "c", 1, two, c);
    add(f, "Shape", "x", "s");
    add(f, "Relu", "s", "y");
    add(f, "Neg", "c", "nc");
    output(f, "y");
    output(f, "nc");
    run_pass(f, "fold-constants");
    assert_true(stat(f, "folded") == 0);
    assert_int_equal(f->m->graph->nodes.n, 3);
}

/* Opset 11: Unsqueeze and Squeeze take axes as attributes. */
static void test_fold_attr_axes_opset11(void **state) {
    fixture *f = *state;
    int64_t d[1] = {3}, v[3] = {1, 2, 3}, ax0[1] = {0}, ax1[1] = {1};
    init_i64(f, "v", 1, d, v);
    ecc_node *u = add(f, "Unsqueeze", "v", "u");
    assert_int_equal(ecc_node_set_attr_ints(f->ctx, u, "axes", ax1, 1), ECC_OK);
    ecc_node *s = add(f, "Squeeze", "u", "s");
    assert_int_equal(ecc_node_set_attr_ints(f->ctx, s, "axes", ax1, 1), ECC_OK);
    ecc_node *u0 = add(f, "Unsqueeze", "s", "u0");
    assert_int_equal(ecc_node_set_attr_ints(f->ctx, u0, "axes", ax0, 1), ECC_OK);
    add(f, "Relu", "u", "y1");
    add(f, "Relu", "u0", "y2");
    output(f, "y1");
    output(f, "y2");
    run_pass(f, "fold-constants");
    assert_true(stat(f, "folded") == 3);
    const ecc_tensor *t = const_of(f, "u");
    assert_true(t->rank == 2 && t->dims[0] == 3 && t->dims[1] == 1);
    t = const_of(f, "u0");
    assert_true(t->rank == 2 && t->dims[0] == 1 && t->dims[1] == 3);
    assert_int_equal(((int64_t *)t->data)[2], 3);
}

int main(void) {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, fixture_teardown)
    const struct CMUnitTest tests[] = {
        T(test_dce),
        T(test_normalize_every_form),
        T(test_fold_bn_conv_no_bias),
        T(test_fold_bn_conv_bias),
        T(test_fold_bn_shared_weight),
        T(test_fold_bn_keeps_mask),
        T(test_fold_bn_teacher_tensor_untouched),
        cmocka_unit_test(test_fold_bn_gemm),
        T(test_fold_bn_matmul),
        T(test_fold_bn_skips),
        T(test_fold_shape_chain),
        T(test_fold_kernels),
        T(test_fold_max_bytes),
        T(test_fold_leaves_unknowns),
        cmocka_unit_test_setup_teardown(test_fold_attr_axes_opset11, setup11, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
