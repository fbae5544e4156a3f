/* test_shape.c — shape inference: elementwise, broadcasting, Conv/pool
 * windows, matrix products, shape manipulation with constant and propagated
 * shape tensors, reductions, control flow, conflicts with types from the
 * file, hostile dims, and the exported test models (symbolic batch N). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "ir.h"
#include "shape_rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct fx {
    ecc_ctx *ctx;
    ecc_model *m;
    ecc_graph *g;
    ecc_node *last; /* node added last, for attributes */
} fx;

static int setup(void **state) {
    fx *f = calloc(1, sizeof *f);
    f->ctx = ecc_ctx_create();
    assert_int_equal(ecc_model_create(f->ctx, &f->m), ECC_OK);
    f->g = f->m->graph;
    assert_int_equal(ecc_model_set_opset(f->ctx, f->m, "", 17), ECC_OK);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fx *f = *state;
    ecc_model_free(f->m);
    ecc_ctx_free(f->ctx);
    free(f);
    return 0;
}

/* Clears the context's error and starts over with an empty model. */
static void fresh_model(fx *f) {
    ecc_ctx_clear(f->ctx);
    ecc_model_free(f->m);
    assert_int_equal(ecc_model_create(f->ctx, &f->m), ECC_OK);
    f->g = f->m->graph;
}

static void opset(fx *f, int64_t v) {
    assert_int_equal(ecc_model_set_opset(f->ctx, f->m, "", v), ECC_OK);
}

static ecc_value *get(fx *f, ecc_graph *g, const char *name) {
    ecc_value *v = NULL;
    assert_int_equal(ecc_graph_get_value(f->ctx, g ? g : f->g, name, &v), ECC_OK);
    return v;
}

/* Types v from "d0,d1,…" (numbers, '?' unknown, other words symbolic); "" is a scalar. */
static void set_type(fx *f, ecc_value *v, int32_t dtype, const char *dims) {
    int64_t d[32];
    const char *params[32] = {0};
    int32_t rank = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", dims);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        bool number = (tok[0] >= '0' && tok[0] <= '9') || tok[0] == '-';
        if (tok[0] == '?') d[rank] = -1;
        else if (number) d[rank] = strtoll(tok, NULL, 10);
        else {
            d[rank] = -1;
            params[rank] = ecc_arena_strdup(f->m->arena, tok);
        }
        rank++;
    }
    assert_int_equal(ecc_value_set_shape(f->ctx, v, dtype, rank, d), ECC_OK);
    for (int32_t i = 0; i < rank; i++) v->dims[i].param = params[i];
}

/* A graph input named `name` of the given type. */
static ecc_value *input(fx *f, const char *name, int32_t dtype, const char *dims) {
    ecc_value *v = get(f, NULL, name);
    set_type(f, v, dtype, dims);
    v->flags |= ECC_VALUE_INPUT;
    assert_true(ecc_ptrvec_push(&f->g->inputs, v));
    return v;
}

static ecc_value *init_tensor(fx *f, const char *name, int32_t dtype, int32_t rank,
                              const int64_t *dims) {
    ecc_tensor *t = NULL;
    ecc_value *v = get(f, NULL, name);
    assert_int_equal(ecc_tensor_create(f->ctx, dtype, rank, dims, &t), ECC_OK);
    assert_int_equal(ecc_graph_set_initializer(f->ctx, f->g, v, t), ECC_OK);
    ecc_tensor_unref(t);
    return v;
}

/* 1-D int64 initializer holding n values. */
static ecc_value *init_i64(fx *f, const char *name, int n, const int64_t *vals) {
    int64_t dims[1] = {n};
    ecc_value *v = init_tensor(f, name, ECC_DTYPE_INT64, 1, dims);
    memcpy(v->init->data, vals, (size_t)n * sizeof *vals);
    return v;
}

static ecc_value *init_i64_scalar(fx *f, const char *name, int64_t val) {
    ecc_value *v = init_tensor(f, name, ECC_DTYPE_INT64, 0, NULL);
    memcpy(v->init->data, &val, sizeof val);
    return v;
}

static ecc_value *init_f32(fx *f, const char *name, int n, const float *vals) {
    int64_t dims[1] = {n};
    ecc_value *v = init_tensor(f, name, ECC_DTYPE_FLOAT, 1, dims);
    if (n) memcpy(v->init->data, vals, (size_t)n * sizeof *vals);
    return v;
}

/* Adds op with comma-separated input/output names ("" between commas = empty input). */
static ecc_node *add_in(fx *f, ecc_graph *g, const char *op, const char *name, const char *ins,
                        const char *outs) {
    ecc_value *iv[16], *ov[16];
    uint32_t ni = 0, no = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", ins);
    for (char *p = *ins ? buf : NULL, *e; p; p = e ? e + 1 : NULL) {
        e = strchr(p, ',');
        if (e) *e = '\0';
        iv[ni++] = *p ? get(f, g, p) : NULL;
    }
    snprintf(buf, sizeof buf, "%s", outs);
    for (char *p = buf, *e; p; p = e ? e + 1 : NULL) {
        e = strchr(p, ',');
        if (e) *e = '\0';
        ov[no++] = get(f, g, p);
    }
    assert_int_equal(
        ecc_graph_add_node(f->ctx, g ? g : f->g, op, "", name, iv, ni, ov, no, &f->last), ECC_OK);
    return f->last;
}

static ecc_node *add(fx *f, const char *op, const char *ins, const char *outs) {
    return add_in(f, NULL, op, op, ins, outs);
}

static void attr_i(fx *f, const char *name, int64_t v) {
    assert_int_equal(ecc_node_set_attr_int(f->ctx, f->last, name, v), ECC_OK);
}

static void attr_is(fx *f, const char *name, int n, const int64_t *v) {
    assert_int_equal(ecc_node_set_attr_ints(f->ctx, f->last, name, v, (size_t)n), ECC_OK);
}

static void attr_s(fx *f, const char *name, const char *s) {
    ecc_attr a = {.name = name, .type = ECC_ATTR_STRING,
                  .s = {.data = (uint8_t *)s, .len = strlen(s)}};
    assert_int_equal(ecc_node_set_attr(f->ctx, f->last, &a), ECC_OK);
}

static void attr_t(fx *f, const char *name, ecc_tensor *t) {
    ecc_attr a = {.name = name, .type = ECC_ATTR_TENSOR, .t = t};
    assert_int_equal(ecc_node_set_attr(f->ctx, f->last, &a), ECC_OK);
    ecc_tensor_unref(t);
}

/* count, array: for attr_is and init_i64 */
#define INTS(...)                                                                        \
    (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]) { __VA_ARGS__ }

static void infer_ok(fx *f) {
    ecc_status st = ecc_graph_infer_shapes(f->ctx, f->g);
    if (st != ECC_OK) fail_msg("inference failed: %s", ecc_ctx_message(f->ctx));
}

static void infer_fails(fx *f, const char *needle) {
    assert_int_equal(ecc_graph_infer_shapes(f->ctx, f->g), ECC_E_INPUT);
    if (needle && !strstr(ecc_ctx_message(f->ctx), needle))
        fail_msg("message '%s' lacks '%s'", ecc_ctx_message(f->ctx), needle);
}

static const char *fmt_value(const ecc_value *v, char *buf, size_t cap) {
    if (v->rank < 0) {
        snprintf(buf, cap, "?");
        return buf;
    }
    size_t len = (size_t)snprintf(buf, cap, "[");
    for (int32_t i = 0; i < v->rank && len < cap; i++) {
        const ecc_dim *d = &v->dims[i];
        const char *sep = i ? "," : "";
        if (d->value >= 0)
            len += (size_t)snprintf(buf + len, cap - len, "%s%lld", sep, (long long)d->value);
        else
            len += (size_t)snprintf(buf + len, cap - len, "%s%s", sep, d->param ? d->param : "?");
    }
    if (len < cap) snprintf(buf + len, cap - len, "]");
    return buf;
}

/* Checks dtype (0 = don't care) and shape string of value `name` of graph g. */
static void expect_in(fx *f, ecc_graph *g, const char *name, int32_t dtype, const char *shape) {
    char buf[256];
    ecc_value *v = ecc_graph_find(g ? g : f->g, name);
    assert_non_null(v);
    fmt_value(v, buf, sizeof buf);
    if (strcmp(buf, shape) != 0) fail_msg("'%s': expected %s, got %s", name, shape, buf);
    if (dtype && v->dtype != dtype)
        fail_msg("'%s': expected %s, got %s", name, ecc_dtype_name(dtype),
                 ecc_dtype_name(v->dtype));
    if (dtype) assert_true(v->flags & ECC_VALUE_TYPED);
}

static void expect(fx *f, const char *name, int32_t dtype, const char *shape) {
    expect_in(f, NULL, name, dtype, shape);
}

enum { F32 = ECC_DTYPE_FLOAT, I64 = ECC_DTYPE_INT64, I32 = ECC_DTYPE_INT32, BOOL = ECC_DTYPE_BOOL,
       U8 = ECC_DTYPE_UINT8, I8 = ECC_DTYPE_INT8, F16 = ECC_DTYPE_FLOAT16 };

/* ---------------- tests ---------------- */

static void test_table_sorted(void **state) {
    (void)state;
    assert_true(ecc_sh_rules_sorted());
    assert_non_null(ecc_sh_rule_find("Conv"));
    assert_non_null(ecc_sh_rule_find("Abs"));
    assert_non_null(ecc_sh_rule_find("Xor"));
    assert_null(ecc_sh_rule_find("NoSuchOp"));
    assert_null(ecc_sh_rule_find(""));
}

/* Conv → Relu → MaxPool → Flatten → Gemm keeps the symbolic batch. */
static void test_cnn_chain(void **state) {
    fx *f = *state;
    input(f, "x", F32, "N,3,32,32");
    init_tensor(f, "w", F32, 4, (int64_t[]){16, 3, 3, 3});
    init_tensor(f, "b", F32, 1, (int64_t[]){16});
    init_tensor(f, "fc_w", F32, 2, (int64_t[]){10, 4096});
    init_tensor(f, "fc_b", F32, 1, (int64_t[]){10});
    add(f, "Conv", "x,w,b", "c");
    attr_is(f, "pads", INTS(1, 1, 1, 1));
    add(f, "Relu", "c", "r");
    add(f, "MaxPool", "r", "p");
    attr_is(f, "kernel_shape", INTS(2, 2));
    attr_is(f, "strides", INTS(2, 2));
    add(f, "Flatten", "p", "flat");
    add(f, "Gemm", "flat,fc_w,fc_b", "logits");
    attr_i(f, "transB", 1);
    infer_ok(f);
    expect(f, "c", F32, "[N,16,32,32]");
    expect(f, "r", F32, "[N,16,32,32]");
    expect(f, "p", F32, "[N,16,16,16]");
    expect(f, "flat", F32, "[N,4096]");
    expect(f, "logits", F32, "[N,10]");
}

static void test_conv_variants(void **state) {
    fx *f = *state;
    input(f, "x", F32, "1,8,28,28");
    init_tensor(f, "w", F32, 4, (int64_t[]){16, 8, 3, 3});
    init_tensor(f, "wg", F32, 4, (int64_t[]){8, 2, 3, 3});
    input(f, "wu", F32, "?,?,?,?"); /* weight of unknown dims: kernel_shape decides */
    add(f, "Conv", "x,w", "strided");
    attr_is(f, "strides", INTS(2, 2));
    attr_is(f, "pads", INTS(1, 1, 1, 1));
    add(f, "Conv", "x,w", "dilated");
    attr_is(f, "dilations", INTS(2, 2));
    add(f, "Conv", "x,w", "same");
    attr_s(f, "auto_pad", "SAME_UPPER");
    attr_is(f, "strides", INTS(3, 3));
    add(f, "Conv", "x,w", "valid");
    attr_s(f, "auto_pad", "VALID");
    attr_is(f, "strides", INTS(2, 2));
    add(f, "Conv", "x,wg", "grouped");
    attr_i(f, "group", 4);
    add(f, "Conv", "x,wu", "ks");
    attr_is(f, "kernel_shape", INTS(5, 5));
    add(f, "ConvTranspose", "x,wg", "up");
    attr_is(f, "strides", INTS(2, 2));
    attr_is(f, "pads", INTS(1, 1, 1, 1));
    attr_is(f, "output_padding", INTS(1, 1));
    add(f, "ConvTranspose", "x,wg", "up_shape");
    attr_is(f, "output_shape", INTS(57, 58));
    attr_i(f, "group", 2);
    add(f, "ConvTranspose", "x,wg", "up_same");
    attr_s(f, "auto_pad", "SAME_LOWER");
    attr_is(f, "strides", INTS(2, 2));
    infer_ok(f);
    expect(f, "strided", F32, "[1,16,14,14]");
    expect(f, "dilated", F32, "[1,16,24,24]");
    expect(f, "same", F32, "[1,16,10,10]");
    expect(f, "valid", F32, "[1,16,13,13]");
    expect(f, "grouped", F32, "[1,8,26,26]");
    expect(f, "ks", F32, "[1,?,24,24]");
    expect(f, "up", F32, "[1,2,56,56]");
    expect(f, "up_shape", F32, "[1,4,57,58]");
    expect(f, "up_same", F32, "[1,2,56,56]");
}

static void test_conv_errors(void **state) {
    fx *f = *state;
    input(f, "x", F32, "1,3,8,8");
    init_tensor(f, "w", F32, 4, (int64_t[]){16, 4, 3, 3});
    add_in(f, NULL, "Conv", "conv_bad", "x,w", "y");
    infer_fails(f, "node 'conv_bad' (Conv): input has 3 channels");
}

static void test_conv_kernel_too_big(void **state) {
    fx *f = *state;
    input(f, "x", F32, "1,3,2,2");
    init_tensor(f, "w", F32, 4, (int64_t[]){4, 3, 5, 5});
    add(f, "Conv", "x,w", "y");
    infer_fails(f, "larger than the padded input");
}

static void test_pools(void **state) {
    fx *f = *state;
    input(f, "x", F32, "N,4,7,7");
    input(f, "x5", F32, "1,1,5,5");
    add(f, "MaxPool", "x", "floor,idx");
    attr_is(f, "kernel_shape", INTS(2, 2));
    attr_is(f, "strides", INTS(2, 2));
    add(f, "MaxPool", "x", "ceil");
    attr_is(f, "kernel_shape", INTS(2, 2));
    attr_is(f, "strides", INTS(2, 2));
    attr_i(f, "ceil_mode", 1);
    add(f, "AveragePool", "x5", "ceil_pad"); /* last window would start in the padding */
    attr_is(f, "kernel_shape", INTS(2, 2));
    attr_is(f, "strides", INTS(2, 2));
    attr_is(f, "pads", INTS(1, 1, 1, 1));
    attr_i(f, "ceil_mode", 1);
    add(f, "GlobalAveragePool", "x", "gap");
    add(f, "GlobalMaxPool", "x", "gmp");
    infer_ok(f);
    expect(f, "floor", F32, "[N,4,3,3]");
    expect(f, "idx", I64, "[N,4,3,3]");
    expect(f, "ceil", F32, "[N,4,4,4]");
    expect(f, "ceil_pad", F32, "[1,1,3,3]");
    expect(f, "gap", F32, "[N,4,1,1]");
    expect(f, "gmp", F32, "[N,4,1,1]");
}

static void test_pool_needs_kernel(void **state) {
    fx *f = *state;
    input(f, "x", F32, "1,4,7,7");
    add(f, "MaxPool", "x", "y");
    infer_fails(f, "kernel_shape");
}

static void test_broadcast(void **state) {
    fx *f = *state;
    input(f, "a", F32, "2,3,4");
    input(f, "v", F32, "4");
    input(f, "n1", F32, "N,1,4");
    input(f, "b15", F32, "1,5,1");
    input(f, "n", F32, "N");
    input(f, "m", F32, "M");
    input(f, "k3", F32, "3");
    input(f, "u", F32, "?");
    input(f, "one", F32, "1");
    input(f, "s", F32, "");
    input(f, "i", I64, "2,3,4");
    add(f, "Add", "a,v", "av");
    add(f, "Mul", "n1,b15", "nb");
    add(f, "Sub", "n,n", "nn");
    add(f, "Div", "n,m", "nm");
    add(f, "Max", "k3,u", "ku");
    add(f, "Min", "one,u", "ou");
    add(f, "Add", "n,one", "n_one");
    add(f, "Add", "s,a", "sa");
    add(f, "Sum", "a,v,s", "sum3");
    add(f, "Equal", "a,v", "eq");
    add(f, "Less", "n1,b15", "lt");
    add(f, "Pow", "i,s", "pow");
    add(f, "Where", "eq,a,s", "wh");
    add(f, "Add", "a,nope", "untyped"); /* nope has no type: rank stays unknown */
    infer_ok(f);
    expect(f, "av", F32, "[2,3,4]");
    expect(f, "nb", F32, "[N,5,4]");
    expect(f, "nn", F32, "[N]");
    expect(f, "nm", F32, "[?]");
    expect(f, "ku", F32, "[3]");
    expect(f, "ou", F32, "[?]");
    expect(f, "n_one", F32, "[N]");
    expect(f, "sa", F32, "[2,3,4]");
    expect(f, "sum3", F32, "[2,3,4]");
    expect(f, "eq", BOOL, "[2,3,4]");
    expect(f, "lt", BOOL, "[N,5,4]");
    expect(f, "pow", I64, "[2,3,4]");
    expect(f, "wh", F32, "[2,3,4]");
    expect(f, "untyped", F32, "?");
}

static void test_broadcast_error(void **state) {
    fx *f = *state;
    input(f, "a", F32, "2,3");
    input(f, "b", F32, "4,3");
    add_in(f, NULL, "Add", "add7", "a,b", "y");
    infer_fails(f, "node 'add7' (Add): shapes [2,3] and [4,3] cannot be broadcast");
}

static void test_unary_and_types(void **state) {
    fx *f = *state;
    static const char *ops[] = {"Relu", "LeakyRelu", "Sigmoid", "Tanh", "Erf", "Exp", "Log",
                                "Sqrt", "Neg", "Abs", "Reciprocal", "Gelu", "HardSigmoid",
                                "HardSwish", "Softplus", "Identity", "Clip", "Softmax",
                                "LogSoftmax", "InstanceNormalization"};
    char out[32];
    input(f, "x", F16, "N,3,5");
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        snprintf(out, sizeof out, "o%zu", i);
        add(f, ops[i], "x", out);
    }
    add(f, "Dropout", "x", "drop,mask");
    add(f, "Cast", "x", "cast");
    attr_i(f, "to", ECC_DTYPE_INT64);
    add(f, "IsNaN", "x", "nan");
    init_tensor(f, "scale", F32, 0, NULL);
    init_tensor(f, "zp8", I8, 0, NULL);
    add(f, "QuantizeLinear", "x,scale,zp8", "q8");
    add(f, "QuantizeLinear", "x,scale", "qu8");
    add(f, "DequantizeLinear", "q8,scale,zp8", "dq");
    init_tensor(f, "gamma", F16, 1, (int64_t[]){5});
    add(f, "LayerNormalization", "x,gamma,gamma", "ln,mean,istd");
    input(f, "img", F32, "N,3,4,4");
    init_tensor(f, "c3", F32, 1, (int64_t[]){3});
    add(f, "BatchNormalization", "img,c3,c3,c3,c3", "bn");
    infer_ok(f);
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        snprintf(out, sizeof out, "o%zu", i);
        expect(f, out, F16, "[N,3,5]");
    }
    expect(f, "drop", F16, "[N,3,5]");
    expect(f, "mask", BOOL, "[N,3,5]");
    expect(f, "cast", I64, "[N,3,5]");
    expect(f, "nan", BOOL, "[N,3,5]");
    expect(f, "q8", I8, "[N,3,5]");
    expect(f, "qu8", U8, "[N,3,5]");
    expect(f, "dq", F32, "[N,3,5]");
    expect(f, "ln", F16, "[N,3,5]");
    expect(f, "mean", F32, "[N,3,1]");
    expect(f, "istd", F32, "[N,3,1]");
    expect(f, "bn", F32, "[N,3,4,4]");
}

static void test_cast_bad_dtype(void **state) {
    fx *f = *state;
    input(f, "x", F32, "2");
    add(f, "Cast", "x", "y");
    attr_i(f, "to", 999);
    infer_fails(f, "unknown data type 999");
}

static void test_matmul(void **state) {
    fx *f = *state;
    input(f, "x", F32, "N,T,64");
    input(f, "w", F32, "64,32");
    input(f, "v4", F32, "4");
    input(f, "m45", F32, "4,5");
    input(f, "m234", F32, "2,3,4");
    input(f, "b2134", F32, "2,1,3,4");
    input(f, "b546", F32, "5,4,6");
    input(f, "at", F32, "7,3");
    input(f, "bt", F32, "5,7");
    input(f, "q", U8, "N,4");
    input(f, "wq", I8, "4,6");
    add(f, "MatMul", "x,w", "xw");
    add(f, "MatMul", "v4,m45", "vm");
    add(f, "MatMul", "m234,v4", "mv");
    add(f, "MatMul", "v4,v4", "dot");
    add(f, "MatMul", "b2134,b546", "batched");
    add(f, "Gemm", "at,bt", "gemm");
    attr_i(f, "transA", 1);
    attr_i(f, "transB", 1);
    add(f, "MatMulInteger", "q,wq", "mmi");
    infer_ok(f);
    expect(f, "xw", F32, "[N,T,32]");
    expect(f, "vm", F32, "[5]");
    expect(f, "mv", F32, "[2,3]");
    expect(f, "dot", F32, "[]");
    expect(f, "batched", F32, "[2,5,3,6]");
    expect(f, "gemm", F32, "[3,5]");
    expect(f, "mmi", I32, "[N,6]");
}

static void test_matmul_mismatch(void **state) {
    fx *f = *state;
    input(f, "a", F32, "N,3,4");
    input(f, "b", F32, "5,6");
    add(f, "MatMul", "a,b", "y");
    infer_fails(f, "inner dimensions of [N,3,4] and [5,6] differ");
}

static void test_reshape(void **state) {
    fx *f = *state;
    input(f, "x", F32, "N,16,64");
    input(f, "y", F32, "2,3,4");
    input(f, "z", F32, "0,5");
    init_i64(f, "s1", INTS(-1, 16, 4, 16));
    init_i64(f, "s2", INTS(0, -1));
    init_i64(f, "s3", INTS(0, 5));
    init_i64(f, "s4", INTS(-1));
    init_i64(f, "s5", INTS(2, 0, 2, 2));
    add(f, "Reshape", "x,s1", "heads");
    add(f, "Reshape", "y,s2", "keep0");
    add(f, "Reshape", "z,s3", "zero");
    attr_i(f, "allowzero", 1);
    add(f, "Reshape", "y,s4", "flat");
    add(f, "Reshape", "y,s5", "copy0");
    add(f, "Reshape", "x,dyn", "dynamic"); /* shape not known: nothing but dtype */
    infer_ok(f);
    expect(f, "heads", F32, "[N,16,4,16]");
    expect(f, "keep0", F32, "[2,12]");
    expect(f, "zero", F32, "[0,5]");
    expect(f, "flat", F32, "[24]");
    expect(f, "copy0", F32, "[2,3,2,2]");
    expect(f, "dynamic", F32, "?");
}

static void test_reshape_errors(void **state) {
    fx *f = *state;
    input(f, "y", F32, "2,3,4");
    init_i64(f, "two", INTS(-1, -1));
    add(f, "Reshape", "y,two", "a");
    infer_fails(f, "more than one -1");
}

static void test_reshape_count_mismatch(void **state) {
    fx *f = *state;
    input(f, "y", F32, "2,3,4");
    init_i64(f, "s", INTS(5, -1));
    add(f, "Reshape", "y,s", "a");
    infer_fails(f, "cannot reshape [2,3,4] to [5,?]");
}

/* Shape → Gather → Unsqueeze → Concat → Reshape, as torch exports x.view(x.size(0), -1). */
static void test_dynamic_reshape(void **state) {
    fx *f = *state;
    input(f, "x", F32, "N,3,4");
    init_i64_scalar(f, "zero", 0);
    init_i64(f, "minus1", INTS(-1));
    init_i64(f, "ax0", INTS(0));
    add(f, "Shape", "x", "shp");
    add(f, "Gather", "shp,zero", "batch");
    add(f, "Unsqueeze", "batch,ax0", "batch1");
    add(f, "Concat", "batch1,minus1", "target");
    attr_i(f, "axis", 0);
    add(f, "Reshape", "x,target", "y");
    add(f, "ConstantOfShape", "shp", "zeros");
    add(f, "Expand", "minus1,shp", "expanded");
    add(f, "Size", "x", "size");
    infer_ok(f);
    expect(f, "shp", I64, "[3]");
    expect(f, "batch", I64, "[]");
    expect(f, "batch1", I64, "[1]");
    expect(f, "target", I64, "[2]");
    expect(f, "y", F32, "[N,12]");
    expect(f, "zeros", F32, "[N,3,4]");
    expect(f, "expanded", I64, "[N,3,4]");
    expect(f, "size", I64, "[]");
}

/* Shape arithmetic: the reduced shape of an expanded LayerNorm and a product of two dims. */
static void test_shape_arithmetic(void **state) {
    fx *f = *state;
    input(f, "x", F32, "N,3,4");
    input(f, "flat", F32, "?,?");
    init_i64(f, "zero1", INTS(0));
    init_i64(f, "axis1", INTS(-1));
    init_i64_scalar(f, "one", 1);
    init_i64_scalar(f, "two", 2);
    init_i64(f, "ax0", INTS(0));
    add(f, "Shape", "x", "shp");
    add(f, "Slice", "shp,zero1,axis1", "prefix");
    add(f, "Neg", "axis1", "nred");
    add(f, "ConstantOfShape", "nred", "suffix");
    ecc_tensor *t = NULL;
    assert_int_equal(ecc_tensor_create(f->ctx, I64, 1, (int64_t[]){1}, &t), ECC_OK);
    ((int64_t *)t->data)[0] = 1;
    attr_t(f, "value", t);
    add(f, "Concat", "prefix,suffix", "reduced");
    attr_i(f, "axis", 0);
    add(f, "Reshape", "flat,reduced", "mean");
    add(f, "Gather", "shp,one", "d1");
    add(f, "Gather", "shp,two", "d2");
    add(f, "Mul", "d1,d2", "d12");
    add(f, "Cast", "d12", "d12c");
    attr_i(f, "to", I32);
    add(f, "Cast", "d12c", "d12l");
    attr_i(f, "to", I64);
    add(f, "Gather", "shp,zero1", "batch");
    add(f, "Unsqueeze", "d12l,ax0", "d12v");
    add(f, "Concat", "batch,d12v", "target");
    attr_i(f, "axis", 0);
    add(f, "Reshape", "x,target", "y");
    infer_ok(f);
    expect(f, "prefix", I64, "[2]");
    expect(f, "suffix", I64, "[1]");
    expect(f, "mean", F32, "[N,3,1]");
    expect(f, "y", F32, "[N,12]");
}

static void test_transpose_squeeze_unsqueeze(void **state) {
    fx *f = *state;
    input(f, "x", F32, "N,1,3,1");
    input(f, "u", F32, "N,?,3");
    init_i64(f, "axes", INTS(1, -1));
    init_i64(f, "uaxes", INTS(0, 4));
    add(f, "Transpose", "x", "rev");
    add(f, "Transpose", "x", "perm");
    attr_is(f, "perm", INTS(0, 2, 1, 3));
    add(f, "Squeeze", "x,axes", "sq");
    add(f, "Squeeze", "x", "sq_all");
    add(f, "Squeeze", "u", "sq_unknown");
    add(f, "Unsqueeze", "x,uaxes", "unsq");
    infer_ok(f);
    expect(f, "rev", F32, "[1,3,1,N]");
    expect(f, "perm", F32, "[N,3,1,1]");
    expect(f, "sq", F32, "[N,3]");
    expect(f, "sq_all", F32, "?"); /* N may be 1 */
    expect(f, "sq_unknown", F32, "?");
    expect(f, "unsq", F32, "[1,N,1,3,1,1]");
}

static void test_squeeze_unsqueeze_opset11(void **state) {
    fx *f = *state;
    opset(f, 11);
    input(f, "x", F32, "2,1,3");
    add(f, "Squeeze", "x", "sq");
    attr_is(f, "axes", INTS(1));
    add(f, "Unsqueeze", "x", "unsq");
    attr_is(f, "axes", INTS(-1, 0));
    add(f, "Squeeze", "x", "bad");
    attr_is(f, "axes", INTS(0));
    infer_fails(f, "cannot squeeze axis 0 of size 2");
    expect(f, "sq", F32, "[2,3]");
    expect(f, "unsq", F32, "[1,2,1,3,1]");
}

static void test_transpose_bad_perm(void **state) {
    fx *f = *state;
    input(f, "x", F32, "2,3");
    add(f, "Transpose", "x", "y");
    attr_is(f, "perm", INTS(0, 0));
    infer_fails(f, "not a permutation");
}

static void test_concat_split(void **state) {
    fx *f = *state;
    opset(f, 18);
    input(f, "a", F32, "N,3");
    input(f, "b", F32, "N,5");
    input(f, "c", F32, "?,2");
    input(f, "x", F32, "N,10,5");
    init_i64(f, "sizes", INTS(2, 8));
    add(f, "Concat", "a,b,c", "cat");
    attr_i(f, "axis", -1);
    add(f, "Split", "x,sizes", "s1,s2");
    attr_i(f, "axis", 1);
    add(f, "Split", "x", "e1,e2");
    attr_i(f, "axis", 1);
    add(f, "Split", "x", "u1,u2");
    attr_i(f, "axis", 2);
    attr_i(f, "num_outputs", 2);
    infer_ok(f);
    expect(f, "cat", F32, "[N,10]");
    expect(f, "s1", F32, "[N,2,5]");
    expect(f, "s2", F32, "[N,8,5]");
    expect(f, "e1", F32, "[N,5,5]");
    expect(f, "e2", F32, "[N,5,5]");
    expect(f, "u1", F32, "[N,10,3]");
    expect(f, "u2", F32, "[N,10,2]");
}

static void test_split_opset11_attr(void **state) {
    fx *f = *state;
    opset(f, 11);
    input(f, "x", F32, "6,4");
    add(f, "Split", "x", "a,b,c");
    attr_is(f, "split", INTS(1, 2, 3));
    infer_ok(f);
    expect(f, "a", F32, "[1,4]");
    expect(f, "b", F32, "[2,4]");
    expect(f, "c", F32, "[3,4]");
}

static void test_split_errors(void **state) {
    fx *f = *state;
    input(f, "x", F32, "7,4");
    add(f, "Split", "x", "a,b");
    infer_fails(f, "does not split evenly");
}

static void test_concat_mismatch(void **state) {
    fx *f = *state;
    input(f, "a", F32, "2,3");
    input(f, "b", F32, "4,3");
    add(f, "Concat", "a,b", "y");
    attr_i(f, "axis", 1);
    infer_fails(f, "differ on axis 0");
}

static void test_slice(void **state) {
    fx *f = *state;
    input(f, "x", F32, "10,20,30");
    input(f, "n", F32, "N,8");
    init_i64(f, "st", INTS(1, 0));
    init_i64(f, "en", INTS(INT64_MAX, -1));
    init_i64(f, "ax", INTS(0, 2));
    init_i64(f, "sp", INTS(2, 1));
    init_i64(f, "rs", INTS(-1));
    init_i64(f, "re", INTS(INT64_MIN));
    init_i64(f, "rp", INTS(-1));
    init_i64(f, "z", INTS(0));
    init_i64(f, "big", INTS(INT64_MAX));
    init_i64(f, "three", INTS(3));
    init_i64(f, "one", INTS(1));
    add(f, "Slice", "x,st,en,ax,sp", "s");
    add(f, "Slice", "x,rs,re,z,rp", "rev");
    add(f, "Slice", "n,z,big,z", "whole");
    add(f, "Slice", "n,z,three,one", "cols");
    add(f, "Slice", "n,z,three", "rows"); /* N unknown: length unknown */
    add(f, "Slice", "x,st2,en", "dyn");   /* non-constant starts */
    infer_ok(f);
    expect(f, "s", F32, "[5,20,29]");
    expect(f, "rev", F32, "[10,20,30]");
    expect(f, "whole", F32, "[N,8]");
    expect(f, "cols", F32, "[N,3]");
    expect(f, "rows", F32, "[?,8]");
    expect(f, "dyn", F32, "[?,?,?]");
}

static void test_slice_opset9_and_shape_slice(void **state) {
    fx *f = *state;
    opset(f, 9);
    input(f, "x", F32, "N,6,7");
    add(f, "Slice", "x", "s");
    attr_is(f, "starts", INTS(1, -3));
    attr_is(f, "ends", INTS(100, 100));
    attr_is(f, "axes", INTS(1, 2));
    add(f, "Shape", "x", "shp");
    add(f, "Slice", "shp", "tail");
    attr_is(f, "starts", INTS(1));
    attr_is(f, "ends", INTS(3));
    add(f, "ConstantOfShape", "tail", "filled");
    infer_ok(f);
    expect(f, "s", F32, "[N,5,3]");
    expect(f, "tail", I64, "[2]");
    expect(f, "filled", F32, "[6,7]");
}

static void test_gather(void **state) {
    fx *f = *state;
    input(f, "x", F32, "5,6,7");
    input(f, "idx", I64, "2,3");
    input(f, "ie", I64, "5,2,7");
    init_i64_scalar(f, "k", 1);
    add(f, "Gather", "x,idx", "g");
    attr_i(f, "axis", 1);
    add(f, "Gather", "x,k", "g0");
    add(f, "GatherElements", "x,ie", "ge");
    attr_i(f, "axis", 1);
    infer_ok(f);
    expect(f, "g", F32, "[5,2,3,7]");
    expect(f, "g0", F32, "[6,7]");
    expect(f, "ge", F32, "[5,2,7]");
}

static void test_shape_size_constant(void **state) {
    fx *f = *state;
    input(f, "x", F32, "N,3,5,7");
    add(f, "Shape", "x", "all");
    add(f, "Shape", "x", "mid");
    attr_i(f, "start", 1);
    attr_i(f, "end", -1);
    add(f, "Size", "x", "size");
    add(f, "Constant", "", "ct");
    ecc_tensor *t = NULL;
    assert_int_equal(ecc_tensor_create(f->ctx, F32, 2, (int64_t[]){2, 3}, &t), ECC_OK);
    attr_t(f, "value", t);
    add(f, "Constant", "", "ci");
    attr_is(f, "value_ints", INTS(7, 8, 9));
    add(f, "ConstantOfShape", "ci", "cos");
    assert_int_equal(ecc_tensor_create(f->ctx, I64, 1, (int64_t[]){1}, &t), ECC_OK);
    attr_t(f, "value", t);
    infer_ok(f);
    expect(f, "all", I64, "[4]");
    expect(f, "mid", I64, "[2]");
    expect(f, "size", I64, "[]");
    expect(f, "ct", F32, "[2,3]");
    expect(f, "ci", I64, "[3]");
    expect(f, "cos", I64, "[7,8,9]");
}

static void test_expand_tile_pad(void **state) {
    fx *f = *state;
    opset(f, 13);
    input(f, "x", F32, "3,1");
    input(f, "img", F32, "N,3,4,4");
    init_i64(f, "shape", INTS(2, 1, 4));
    init_i64(f, "reps", INTS(2, 5));
    init_i64(f, "pads", INTS(0, 0, 1, 2, 0, 0, 1, 2));
    add(f, "Expand", "x,shape", "ex");
    add(f, "Tile", "x,reps", "tile");
    add(f, "Pad", "img,pads", "pad");
    infer_ok(f);
    expect(f, "ex", F32, "[2,3,4]");
    expect(f, "tile", F32, "[6,5]");
    expect(f, "pad", F32, "[N,3,6,8]");
}

static void test_pad_opset2_attr(void **state) {
    fx *f = *state;
    opset(f, 10);
    input(f, "x", F32, "2,3");
    add(f, "Pad", "x", "y");
    attr_is(f, "pads", INTS(1, 0, 1, -1));
    infer_ok(f);
    expect(f, "y", F32, "[4,2]");
}

static void test_reduce(void **state) {
    fx *f = *state;
    opset(f, 13);
    input(f, "x", F32, "N,3,5");
    init_i64(f, "ax", INTS(1));
    add(f, "ReduceMean", "x", "mean");
    attr_is(f, "axes", INTS(-1));
    attr_i(f, "keepdims", 0);
    add(f, "ReduceSum", "x,ax", "sum");
    add(f, "ReduceMax", "x", "all");
    add(f, "ReduceSum", "x", "noop");
    attr_i(f, "noop_with_empty_axes", 1);
    add(f, "ReduceL2", "x", "l2");
    attr_is(f, "axes", INTS(0, 2));
    attr_i(f, "keepdims", 0);
    add(f, "ArgMax", "x", "am");
    attr_i(f, "axis", 1);
    attr_i(f, "keepdims", 0);
    add(f, "ArgMin", "x", "amk");
    attr_i(f, "axis", -1);
    infer_ok(f);
    expect(f, "mean", F32, "[N,3]");
    expect(f, "sum", F32, "[N,1,5]");
    expect(f, "all", F32, "[1,1,1]");
    expect(f, "noop", F32, "[N,3,5]");
    expect(f, "l2", F32, "[3]");
    expect(f, "am", I64, "[N,5]");
    expect(f, "amk", I64, "[N,3,1]");
}

static void test_reduce_opset18_axes_input(void **state) {
    fx *f = *state;
    opset(f, 18);
    input(f, "x", F32, "N,3,5");
    init_i64(f, "ax", INTS(0, -1));
    add(f, "ReduceMean", "x,ax", "m");
    attr_i(f, "keepdims", 0);
    add(f, "ReduceProd", "x,dyn", "dynamic");
    infer_ok(f);
    expect(f, "m", F32, "[3]");
    expect(f, "dynamic", F32, "[?,?,?]");
}

static void test_topk_resize_range_nonzero(void **state) {
    fx *f = *state;
    input(f, "x", F32, "N,8,8,8");
    init_i64(f, "k", INTS(3));
    init_f32(f, "scales", 4, (float[]){1, 1, 2, 0.5f});
    init_i64(f, "sizes", INTS(1, 8, 5, 5));
    init_f32(f, "empty", 0, NULL);
    init_i64_scalar(f, "r0", 2);
    init_i64_scalar(f, "r1", 11);
    init_i64_scalar(f, "r2", 3);
    add(f, "TopK", "x,k", "vals,inds");
    add(f, "Resize", "x,,scales", "up");
    add(f, "Resize", "x,empty,empty,sizes", "sized");
    add(f, "Range", "r0,r1,r2", "rng");
    add(f, "NonZero", "x", "nz");
    infer_ok(f);
    expect(f, "vals", F32, "[N,8,8,3]");
    expect(f, "inds", I64, "[N,8,8,3]");
    expect(f, "up", F32, "[N,8,16,4]");
    expect(f, "sized", F32, "[1,8,5,5]");
    expect(f, "rng", I64, "[3]");
    expect(f, "nz", I64, "[4,?]");
}

static void test_topk_too_large(void **state) {
    fx *f = *state;
    input(f, "x", F32, "2,4");
    init_i64(f, "k", INTS(5));
    add(f, "TopK", "x,k", "v,i");
    infer_fails(f, "exceeds the axis size");
}

/* A type from the file that contradicts inference is an error naming node and value. */
static void test_conflict_with_file(void **state) {
    fx *f = *state;
    input(f, "x", F32, "1,3,28,28");
    init_tensor(f, "w", F32, 4, (int64_t[]){16, 3, 3, 3});
    ecc_value *y = get(f, NULL, "y");
    set_type(f, y, F32, "1,16,28,28");
    add_in(f, NULL, "Conv", "conv1", "x,w", "y");
    attr_is(f, "strides", INTS(2, 2));
    attr_is(f, "pads", INTS(1, 1, 1, 1));
    infer_fails(f, "node 'conv1' (Conv): output 'y' has shape [1,16,28,28] in the file but "
                   "inference gives [1,16,14,14]");
}

static void test_conflict_dtype_and_rank(void **state) {
    fx *f = *state;
    input(f, "x", F32, "2,3");
    set_type(f, get(f, NULL, "y"), F16, "2,3");
    add_in(f, NULL, "Relu", "relu", "x", "y");
    infer_fails(f, "output 'y' has type float16 in the file but inference gives float32");
}

static void test_conflict_rank(void **state) {
    fx *f = *state;
    input(f, "x", F32, "2,3");
    set_type(f, get(f, NULL, "y"), F32, "6");
    add_in(f, NULL, "Relu", "", "x", "y");
    infer_fails(f, "node producing 'y' (Relu): output 'y' has shape [6]");
}

/* Less specific types from the file are completed; more specific ones are kept. */
static void test_refines_file_types(void **state) {
    fx *f = *state;
    input(f, "x", F32, "N,3,?");
    input(f, "x2", F32, "?,3,8");
    ecc_value *y = get(f, NULL, "y");
    set_type(f, y, F32, "?,?,?");
    y->dims[2].denotation = "time";
    ecc_value *z = get(f, NULL, "z");
    set_type(f, z, 0, "batch,3,8"); /* symbolic name from the file wins over N */
    add(f, "Relu", "x", "y");
    add(f, "Add", "x,x2", "z");
    infer_ok(f);
    expect(f, "y", F32, "[N,3,?]");
    assert_string_equal(y->dims[2].denotation, "time");
    expect(f, "z", F32, "[batch,3,8]");
}

/* Hostile dims: overflowing products and paddings are errors, never crashes. */
static void test_overflow(void **state) {
    fx *f = *state;
    input(f, "x", F32, "4611686018427387904,4,2");
    add(f, "Flatten", "x", "y");
    attr_i(f, "axis", 0);
    infer_fails(f, "overflows");
}

static void test_overflow_conv_pads(void **state) {
    fx *f = *state;
    input(f, "x", F32, "1,1,9223372036854775807");
    init_tensor(f, "w", F32, 3, (int64_t[]){1, 1, 1});
    add(f, "Conv", "x,w", "y");
    attr_is(f, "pads", INTS(9223372036854775807, 5));
    infer_fails(f, "overflows");
}

static void test_overflow_tile_reshape(void **state) {
    fx *f = *state;
    input(f, "x", F32, "4611686018427387904");
    init_i64(f, "reps", INTS(4));
    add(f, "Tile", "x,reps", "t");
    infer_fails(f, "overflows");
    fresh_model(f);
    input(f, "x", F32, "4611686018427387904,4611686018427387904");
    init_i64(f, "s", INTS(-1));
    add(f, "Reshape", "x,s", "r");
    infer_fails(f, "overflows");
}

static void test_huge_rank_is_unknown(void **state) {
    fx *f = *state;
    int64_t dims[40];
    for (int i = 0; i < 40; i++) dims[i] = 1;
    ecc_value *x = get(f, NULL, "x");
    assert_int_equal(ecc_value_set_shape(f->ctx, x, F32, 40, dims), ECC_OK);
    add(f, "Relu", "x", "y");
    add(f, "Unsqueeze", "y,ax", "z");
    init_i64(f, "ax", INTS(0));
    infer_ok(f);
    expect(f, "y", F32, "?");
}

/* Unknown ops and custom domains leave outputs alone; later nodes see no type. */
static void test_unknown_ops(void **state) {
    fx *f = *state;
    input(f, "x", F32, "2,3");
    add(f, "FancyNewOp", "x", "a");
    ecc_value *in[1] = {get(f, NULL, "x")}, *out[1] = {get(f, NULL, "b")};
    assert_int_equal(
        ecc_graph_add_node(f->ctx, f->g, "Relu", "com.custom", "custom", in, 1, out, 1, NULL),
        ECC_OK);
    add(f, "Relu", "a", "c");
    infer_ok(f);
    expect(f, "a", 0, "?");
    assert_int_equal(get(f, NULL, "a")->dtype, 0);
    assert_int_equal(get(f, NULL, "b")->dtype, 0);
    assert_int_equal(get(f, NULL, "c")->dtype, 0);
    assert_false(get(f, NULL, "c")->flags & ECC_VALUE_TYPED);
}

static ecc_graph *branch(fx *f, ecc_node *owner, const char *attr) {
    ecc_graph *g = NULL;
    assert_int_equal(ecc_graph_create_sub(f->ctx, f->m, f->g, &g), ECC_OK);
    g->owner = owner;
    ecc_attr a = {.name = attr, .type = ECC_ATTR_GRAPH, .g = g};
    assert_int_equal(ecc_node_set_attr(f->ctx, owner, &a), ECC_OK);
    return g;
}

static void test_if_subgraphs(void **state) {
    fx *f = *state;
    input(f, "cond", BOOL, "");
    input(f, "x", F32, "N,3");
    ecc_node *iff = add(f, "If", "cond", "y,z");
    ecc_graph *t = branch(f, iff, "then_branch"), *e = branch(f, iff, "else_branch");
    add_in(f, t, "Relu", "t_relu", "x", "t_out");
    add_in(f, t, "Shape", "t_shape", "x", "t_shp");
    add_in(f, e, "Neg", "e_neg", "x", "e_out");
    add_in(f, e, "Shape", "e_shape", "t_nope", "e_shp");
    assert_true(ecc_ptrvec_push(&t->outputs, get(f, t, "t_out")));
    assert_true(ecc_ptrvec_push(&t->outputs, get(f, t, "t_shp")));
    assert_true(ecc_ptrvec_push(&e->outputs, get(f, e, "e_out")));
    assert_true(ecc_ptrvec_push(&e->outputs, get(f, e, "e_shp")));
    infer_ok(f);
    expect_in(f, t, "t_out", F32, "[N,3]");
    expect_in(f, e, "e_out", F32, "[N,3]");
    expect(f, "y", F32, "[N,3]");
    expect(f, "z", I64, "[?]");
}

static void test_loop_subgraph(void **state) {
    fx *f = *state;
    input(f, "trip", I64, "");
    input(f, "cond", BOOL, "");
    input(f, "acc0", F32, "4");
    ecc_node *loop = add(f, "Loop", "trip,cond,acc0", "acc,scan");
    ecc_graph *b = branch(f, loop, "body");
    ecc_value *bin[3] = {get(f, b, "i"), get(f, b, "c_in"), get(f, b, "acc_in")};
    for (int i = 0; i < 3; i++) assert_true(ecc_ptrvec_push(&b->inputs, bin[i]));
    add_in(f, b, "Identity", "c_id", "c_in", "c_out");
    add_in(f, b, "Add", "acc_add", "acc_in,acc0", "acc_out");
    add_in(f, b, "Cast", "i_cast", "i", "i_f");
    attr_i(f, "to", F32);
    assert_true(ecc_ptrvec_push(&b->outputs, get(f, b, "c_out")));
    assert_true(ecc_ptrvec_push(&b->outputs, get(f, b, "acc_out")));
    assert_true(ecc_ptrvec_push(&b->outputs, get(f, b, "i_f")));
    infer_ok(f);
    expect_in(f, b, "c_out", BOOL, "[]");
    expect_in(f, b, "i_f", F32, "[]");
    expect_in(f, b, "acc_out", F32, "?"); /* carried values may change shape per iteration */
    expect(f, "acc", F32, "?");
    expect(f, "scan", F32, "[?]");
}

/* ---- random graphs with hostile dims, attributes and shape tensors ---- */

static uint64_t rng_next(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static int64_t rng_pick(uint64_t *s, const int64_t *vals, size_t n) {
    return vals[rng_next(s) % n];
}

/* The first 8 values are mild, the rest hostile. */
static const int64_t k_vals[] = {-1, 0, 1, 1, 2, 2, 3, 4, -3, -2, 7, 64, INT32_MAX, INT64_MAX,
                                 INT64_MIN, (int64_t)1 << 40, (int64_t)1 << 62};
static size_t k_nvals = 17;

static void random_attrs(fx *f, uint64_t *s) {
    static const char *ints[] = {"axis", "group", "keepdims", "to", "allowzero", "start", "end",
                                 "transA", "transB", "num_outputs", "ceil_mode", "blocksize",
                                 "batch_dims", "k", "noop_with_empty_axes", "stash_type"};
    static const char *lists[] = {"axes", "perm", "kernel_shape", "strides", "pads", "dilations",
                                  "split", "output_shape", "output_padding", "starts", "ends",
                                  "shape", "value_ints", "repeats"};
    static const char *pads[] = {"NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER", "BOGUS"};
    int64_t buf[8];
    for (int i = (int)(rng_next(s) % 4); i > 0; i--)
        attr_i(f, ints[rng_next(s) % (sizeof ints / sizeof ints[0])], rng_pick(s, k_vals, k_nvals));
    for (int i = (int)(rng_next(s) % 4); i > 0; i--) {
        int n = (int)(rng_next(s) % 9);
        for (int k = 0; k < n; k++) buf[k] = rng_pick(s, k_vals, k_nvals);
        attr_is(f, lists[rng_next(s) % (sizeof lists / sizeof lists[0])], n, buf);
    }
    if (rng_next(s) % 5 == 0) attr_s(f, "auto_pad", pads[rng_next(s) % 5]);
}

static void random_graph(fx *f, uint64_t *s) {
    static const char *ops[] = {
        "Add", "ArgMax", "AveragePool", "BatchNormalization", "Cast", "Concat", "Constant",
        "ConstantOfShape", "Conv", "ConvTranspose", "DepthToSpace", "Dropout", "Equal", "Expand",
        "Flatten", "Gather", "GatherElements", "GatherND", "Gemm", "GlobalAveragePool", "If",
        "LayerNormalization", "Loop", "MatMul", "MaxPool", "Mul", "Neg", "NonZero", "Pad",
        "QLinearMatMul", "QuantizeLinear", "Range", "ReduceMean", "ReduceSum", "Relu", "Reshape",
        "Resize", "Shape", "Size", "Slice", "SpaceToDepth", "Split", "Squeeze", "Sub", "Tile",
        "TopK", "Transpose", "Unsqueeze", "Upsample", "Where"};
    static const int64_t dims[] = {1, 1, 2, 3, 4, 5, 8, 16, 0, -1, INT32_MAX, (int64_t)1 << 40,
                                   (int64_t)1 << 62, INT64_MAX};
    static const int32_t dtypes[] = {F32, I64, I32, BOOL, U8, I8, F16, 0};
    char name[32], ins[160], outs[96];
    int nv = 0;
    opset(f, 7 + (int64_t)(rng_next(s) % 16));
    for (int i = 0; i < 4; i++, nv++) { /* typed inputs: ranks 0..5, sometimes untyped or huge */
        snprintf(name, sizeof name, "v%d", nv);
        ecc_value *v = get(f, NULL, name);
        int32_t rank = (int32_t)(rng_next(s) % 6) - (rng_next(s) % 8 == 0);
        if (rng_next(s) % 16 == 0) rank = 33;
        int64_t d[40];
        for (int32_t k = 0; k < rank; k++) d[k] = rng_pick(s, dims, k_nvals == 17 ? 14 : 8);
        if (rank >= 0) {
            int32_t dt = dtypes[rng_next(s) % 8];
            assert_int_equal(ecc_value_set_shape(f->ctx, v, dt, rank, d), ECC_OK);
            for (int32_t k = 0; k < rank; k++)
                if (rng_next(s) % 4 == 0)
                    v->dims[k] = (ecc_dim){.value = -1, .param = rng_next(s) % 2 ? "N" : "M"};
        }
    }
    for (int i = 0; i < 4; i++, nv++) { /* int64 initializers used as shapes, axes, pads, … */
        int64_t vals[8];
        int n = (int)(rng_next(s) % 7);
        for (int k = 0; k < n; k++) vals[k] = rng_pick(s, k_vals, k_nvals);
        snprintf(name, sizeof name, "v%d", nv);
        if (rng_next(s) % 4 == 0) init_i64_scalar(f, name, rng_pick(s, k_vals, k_nvals));
        else init_i64(f, name, n, vals);
    }
    for (int i = 0; i < 6; i++) {
        size_t len = 0;
        int nin = (int)(rng_next(s) % 6), nout = 1 + (int)(rng_next(s) % 3);
        ins[0] = '\0';
        for (int k = 0; k < nin; k++) { /* existing values, sometimes an empty input */
            name[0] = '\0';
            if (rng_next(s) % 8)
                snprintf(name, sizeof name, "v%d", (int)(rng_next(s) % (uint64_t)nv));
            len += (size_t)snprintf(ins + len, sizeof ins - len, "%s%s", k ? "," : "", name);
        }
        if (nin == 1 && ins[0] == '\0') snprintf(ins, sizeof ins, "v0");
        len = 0;
        for (int k = 0; k < nout; k++, nv++)
            len += (size_t)snprintf(outs + len, sizeof outs - len, "%sv%d", k ? "," : "", nv);
        add(f, ops[rng_next(s) % (sizeof ops / sizeof ops[0])], ins, outs);
        random_attrs(f, s);
    }
}

#ifndef SHAPE_FUZZ_ITERS
#define SHAPE_FUZZ_ITERS 3000
#endif

static void test_random_graphs_never_crash(void **state) {
    fx *f = *state;
    uint64_t seed = 0x9E3779B97F4A7C15ULL;
    int errors = 0;
    for (int iter = 0; iter < SHAPE_FUZZ_ITERS; iter++) {
        k_nvals = iter % 2 ? 17 : 8; /* every other graph uses only mild values */
        random_graph(f, &seed);
        ecc_status st = ecc_graph_infer_shapes(f->ctx, f->g);
        if (st != ECC_OK && st != ECC_E_INPUT)
            fail_msg("iteration %d: %s", iter, ecc_ctx_message(f->ctx));
        errors += st != ECC_OK;
        assert_true(st == ECC_OK || strstr(ecc_ctx_message(f->ctx), "node "));
        fresh_model(f);
    }
    if (getenv("SHAPE_FUZZ_VERBOSE"))
        print_message("%d of %d graphs rejected\n", errors, SHAPE_FUZZ_ITERS);
    assert_true(errors > 0 && errors < SHAPE_FUZZ_ITERS); /* both outcomes are exercised */
}

/* The exported test models: clear every inferred type, infer, compare. */
static void clear_intermediates(ecc_graph *g) {
    for (size_t i = 0; i < g->values.n; i++) {
        ecc_value *v = g->values.items[i];
        if (!v->producer) continue;
        v->dtype = 0;
        v->rank = -1;
        v->dims = NULL;
        v->flags &= ~ECC_VALUE_TYPED;
    }
}

static void check_model(const char *path) {
    ecc_ctx *ctx = ecc_ctx_create();
    ecc_model *m = NULL;
    if (access(path, R_OK) != 0) {
        print_message("[ SKIP     ] %s not generated yet\n", path);
        ecc_ctx_free(ctx);
        return;
    }
    if (ecc_model_read(ctx, path, &m) != ECC_OK) {
        print_message("[ SKIP     ] %s: reader not ready: %s\n", path, ecc_ctx_message(ctx));
        ecc_ctx_free(ctx);
        return;
    }
    /* the file's own types agree with inference */
    if (ecc_graph_infer_shapes(ctx, m->graph) != ECC_OK)
        fail_msg("%s: %s", path, ecc_ctx_message(ctx));
    clear_intermediates(m->graph);
    if (ecc_graph_infer_shapes(ctx, m->graph) != ECC_OK)
        fail_msg("%s: %s", path, ecc_ctx_message(ctx));
    ecc_value *logits = ecc_graph_find(m->graph, "logits");
    assert_non_null(logits);
    char buf[128];
    fmt_value(logits, buf, sizeof buf);
    if (strcmp(buf, "[N,10]") != 0) fail_msg("%s: logits inferred as %s", path, buf);
    assert_int_equal(logits->dtype, ECC_DTYPE_FLOAT);
    size_t untyped = 0;
    for (size_t i = 0; i < m->graph->values.n; i++) {
        ecc_value *v = m->graph->values.items[i];
        if (v->producer && v->rank < 0) untyped++;
    }
    assert_int_equal(untyped, 0);
    ecc_model_free(m);
    ecc_ctx_free(ctx);
}

static void test_model_cnn(void **state) {
    (void)state;
    check_model("testdata/cnn.onnx");
}

static void test_model_transformer(void **state) {
    (void)state;
    check_model("testdata/transformer.onnx");
}

static void test_model_mlp(void **state) {
    (void)state;
    check_model("testdata/mlp.onnx");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_sorted),
        T(test_cnn_chain),
        T(test_conv_variants),
        T(test_conv_errors),
        T(test_conv_kernel_too_big),
        T(test_pools),
        T(test_pool_needs_kernel),
        T(test_broadcast),
        T(test_broadcast_error),
        T(test_unary_and_types),
        T(test_cast_bad_dtype),
        T(test_matmul),
        T(test_matmul_mismatch),
        T(test_reshape),
        T(test_reshape_errors),
        T(test_reshape_count_mismatch),
        T(test_dynamic_reshape),
        T(test_shape_arithmetic),
        T(test_transpose_squeeze_unsqueeze),
        T(test_squeeze_unsqueeze_opset11),
        T(test_transpose_bad_perm),
        T(test_concat_split),
        T(test_split_opset11_attr),
        T(test_split_errors),
        T(test_concat_mismatch),
        T(test_slice),
        T(test_slice_opset9_and_shape_slice),
        T(test_gather),
        T(test_shape_size_constant),
        T(test_expand_tile_pad),
        T(test_pad_opset2_attr),
        T(test_reduce),
        T(test_reduce_opset18_axes_input),
        T(test_topk_resize_range_nonzero),
        T(test_topk_too_large),
        T(test_conflict_with_file),
        T(test_conflict_dtype_and_rank),
        T(test_conflict_rank),
        T(test_refines_file_types),
        T(test_overflow),
        T(test_overflow_conv_pads),
        T(test_overflow_tile_reshape),
        T(test_huge_rank_is_unknown),
        T(test_unknown_ops),
        T(test_if_subgraphs),
        T(test_loop_subgraph),
        T(test_random_graphs_never_crash),
        cmocka_unit_test(test_model_mlp),
        cmocka_unit_test(test_model_cnn),
        cmocka_unit_test(test_model_transformer),
    };
    return cmocka_run_group_tests_name("shape", tests, NULL, NULL);
}
