/* test_grad.c — backward kernels of the matrix, element-wise, shape and
 * reduction ops against central finite differences (grad_check.h) over
 * random shapes and attributes (broadcasting, transposes, batched MatMul,
 * axes, keepdims), gradient accumulation where a value feeds several nodes,
 * the refusal of a trained path through an op without a gradient, and a
 * corrupted gradient that the check must catch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "grad_check.h"

#define F32 ECC_DTYPE_FLOAT
#define I64 ECC_DTYPE_INT64
#define TOL 1e-4

static void test_gemm(void **state) {
    (void)state;
    static const int64_t cshapes[][3] = {{1, 5}, {2, 1, 5}, {2, 3, 1}, {2, 3, 5}, {0}};
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (int c = 0; c < 5; c++) {
                gc *g = gc_new(13, (uint64_t)(ta * 100 + tb * 10 + c));
                int64_t a[2] = {ta ? 4 : 3, ta ? 3 : 4}, b[2] = {tb ? 5 : 4, tb ? 4 : 5};
                gc_param(g, "A", 2, a, -1, 1, 0);
                gc_param(g, "B", 2, b, -1, 1, 0);
                if (cshapes[c][0])
                    gc_param(g, "C", (int32_t)cshapes[c][0], &cshapes[c][1], -1, 1, 0);
                gc_node(g, "Gemm", cshapes[c][0] ? "A,B,C" : "A,B", "Y", true);
                gc_int(g, "transA", ta);
                gc_int(g, "transB", tb);
                gc_float(g, "alpha", 0.75f);
                gc_float(g, "beta", 1.5f);
                gc_check(g, TOL);
                gc_free(g);
            }
}

static void test_matmul(void **state) {
    (void)state;
    static const struct {
        int32_t ra;
        int64_t a[4];
        int32_t rb;
        int64_t b[4];
    } cases[] = {
        {3, {2, 3, 4}, 2, {4, 5}},          /* shared B: one GEMM over all rows */
        {4, {2, 1, 3, 4}, 3, {3, 4, 5}},    /* broadcast batch dims */
        {1, {4}, 2, {4, 5}},                /* 1-D A */
        {2, {3, 4}, 1, {4}},                /* 1-D B */
        {3, {2, 3, 4}, 3, {1, 4, 2}},       /* B broadcast along the batch */
        {4, {2, 2, 3, 4}, 4, {2, 2, 4, 3}}, /* attention-like */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gc *g = gc_new(13, i + 1);
        gc_param(g, "A", cases[i].ra, cases[i].a, -1, 1, 0);
        gc_param(g, "B", cases[i].rb, cases[i].b, -1, 1, 0);
        gc_node(g, "MatMul", "A,B", "Y", true);
        gc_check(g, TOL);
        gc_free(g);
    }
}

/* Binary ops with broadcasting both ways. */
static void test_binary(void **state) {
    (void)state;
    static const char *ops[] = {"Add", "Sub", "Mul", "Div", "Pow"};
    static const struct {
        int32_t ra;
        int64_t a[3];
        int32_t rb;
        int64_t b[3];
    } shapes[] = {{3, {2, 3, 4}, 2, {3, 1}}, {2, {3, 1}, 3, {2, 3, 4}}, {1, {4}, 3, {2, 3, 4}},
                  {3, {2, 3, 4}, 3, {2, 3, 4}}, {0, {0}, 2, {2, 3}}};
    for (size_t o = 0; o < 5; o++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            gc *g = gc_new(13, o * 10 + s);
            bool pw = strcmp(ops[o], "Pow") == 0;
            gc_param(g, "A", shapes[s].ra, shapes[s].a, pw ? 0.5f : -1, pw ? 1.5f : 1, 0);
            gc_param(g, "B", shapes[s].rb, shapes[s].b, pw ? -1 : -1, pw ? 2 : 1,
                     strcmp(ops[o], "Div") == 0 ? 0.5f : 0);
            gc_node(g, ops[o], "A,B", "Y", true);
            gc_check(g, TOL);
            gc_free(g);
        }
}

/* Unary ops; inputs kept off kinks and inside domains. */
static void test_unary(void **state) {
    (void)state;
    static const struct {
        const char *op;
        float lo, hi, away;
        int opset;
    } cases[] = {
        {"Abs", -1, 1, 0.1f, 13},      {"Neg", -1, 1, 0, 13},        {"Sqrt", 0.2f, 2, 0, 13},
        {"Exp", -1, 1, 0, 13},         {"Log", 0.2f, 2, 0, 13},      {"Reciprocal", 0.5f, 2, 0, 13},
        {"Relu", -1, 1, 0.1f, 13},     {"LeakyRelu", -1, 1, 0.1f, 13}, {"Sigmoid", -3, 3, 0, 13},
        {"HardSigmoid", -1.5f, 1.5f, 0, 13}, {"HardSwish", -2.5f, 2.5f, 0, 14},
        {"Tanh", -2, 2, 0, 13},
        {"Erf", -2, 2, 0, 13},         {"Gelu", -3, 3, 0, 20},       {"Softplus", -3, 3, 0, 13},
        {"Elu", -1, 1, 0.1f, 13},      {"Sin", -2, 2, 0, 13},        {"Cos", -2, 2, 0, 13},
        {"Identity", -1, 1, 0, 13},
    };
    int64_t dims[3] = {2, 3, 4};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gc *g = gc_new(cases[i].opset, i + 7);
        gc_param(g, "X", 3, dims, cases[i].lo, cases[i].hi, cases[i].away);
        gc_node(g, cases[i].op, "X", "Y", true);
        if (strcmp(cases[i].op, "HardSigmoid") == 0) gc_float(g, "alpha", 0.3f);
        if (strcmp(cases[i].op, "LeakyRelu") == 0) gc_float(g, "alpha", 0.2f);
        gc_check(g, TOL);
        gc_free(g);
    }
    /* Gelu's tanh approximation, Clip with bounds as inputs */
    gc *g = gc_new(20, 99);
    gc_param(g, "X", 3, dims, -3, 3, 0);
    gc_node(g, "Gelu", "X", "Y", true);
    gc_str(g, "approximate", "tanh");
    gc_check(g, TOL);
    gc_free(g);
    g = gc_new(13, 98);
    float lo = -0.5f, hi = 0.5f;
    float x[24];
    for (int i = 0; i < 24; i++) { /* off the bounds, where a step would straddle them */
        x[i] = gc_value(g, -1, 1, 0);
        if (fabsf(fabsf(x[i]) - 0.5f) < 0.05f) x[i] *= 1.25f;
    }
    gc_const(g, "X", F32, 3, dims, x);
    g->params[g->n_params++] = "X";
    gc_const(g, "lo", F32, 0, NULL, &lo);
    gc_const(g, "hi", F32, 0, NULL, &hi);
    gc_node(g, "Clip", "X,lo,hi", "Y", true);
    gc_check(g, TOL);
    gc_free(g);
}

/* Reshape and friends move elements without changing them. */
static void test_views(void **state) {
    (void)state;
    int64_t xd[3] = {2, 3, 4}, shape[2] = {4, 6}, axes[1] = {1}, one = 1;
    gc *g = gc_new(13, 3);
    gc_param(g, "X", 3, xd, -1, 1, 0);
    gc_const(g, "shape", I64, 1, &(int64_t){2}, shape);
    gc_node(g, "Reshape", "X,shape", "R", false);
    gc_node(g, "Flatten", "R", "F", false);
    gc_int(g, "axis", 0);
    gc_const(g, "axes", I64, 1, &one, axes);
    gc_node(g, "Unsqueeze", "F,axes", "U", false);
    gc_node(g, "Squeeze", "U,axes", "S", false);
    gc_node(g, "Dropout", "S", "Y", true);
    gc_check(g, TOL);
    gc_free(g);
}

static void test_reduce(void **state) {
    (void)state;
    int64_t xd[3] = {2, 3, 4};
    for (int keep = 0; keep < 2; keep++)
        for (int a = 0; a < 4; a++) {
            gc *g = gc_new(13, (uint64_t)(keep * 10 + a));
            gc_param(g, "X", 3, xd, -1, 1, 0);
            gc_node(g, "ReduceMean", "X", "Y", true);
            gc_int(g, "keepdims", keep);
            int64_t axes[2] = {a == 3 ? 0 : a, 2};
            if (a < 3) gc_ints(g, "axes", axes, 1);
            gc_check(g, TOL);
            gc_free(g);
            g = gc_new(13, (uint64_t)(keep * 10 + a + 100));
            gc_param(g, "X", 3, xd, -1, 1, 0);
            gc_const(g, "axes", I64, 1, &(int64_t){a == 3 ? 2 : 1}, axes);
            gc_node(g, "ReduceSum", "X,axes", "Y", true);
            gc_int(g, "keepdims", keep);
            gc_check(g, TOL);
            gc_free(g);
        }
}

/* A value read by several nodes sums their gradients; a two-layer net. */
static void test_chain(void **state) {
    (void)state;
    int64_t xd[2] = {4, 6}, w1[2] = {5, 6}, b1[1] = {5}, w2[2] = {5, 3};
    gc *g = gc_new(13, 42);
    gc_input(g, "x", 2, xd, -1, 1, 0);
    gc_param(g, "w1", 2, w1, -1, 1, 0);
    gc_param(g, "b1", 1, b1, -1, 1, 0);
    gc_param(g, "w2", 2, w2, -1, 1, 0);
    gc_node(g, "Gemm", "x,w1,b1", "h", false);
    gc_int(g, "transB", 1);
    gc_node(g, "Tanh", "h", "t", false);
    gc_node(g, "Mul", "t,h", "m", false); /* h read twice */
    gc_node(g, "Add", "m,t", "s", false); /* t read twice */
    gc_node(g, "MatMul", "s,w2", "y", true);
    gc_check(g, TOL);
    gc_free(g);
}

/* A trained weight whose path to the output crosses an op without a gradient
 * is refused when the interpreter is created, naming the node. */
static void test_no_gradient_refused(void **state) {
    (void)state;
    int64_t xd[2] = {2, 3};
    gc *g = gc_new(13, 5);
    gc_param(g, "X", 2, xd, -1, 1, 0);
    gc_node(g, "Floor", "X", "Y", true);
    g->params[g->n_params] = NULL;
    ecc_interp_options o = {.struct_size = sizeof o, .threads = 1, .params = g->params,
                            .keep_all = true};
    ecc_interp *it = NULL;
    assert_int_equal(ecc_interp_create(g->ctx, g->m, &o, &it), ECC_E_INPUT);
    assert_non_null(strstr(ecc_ctx_message(g->ctx), "Floor_0"));
    assert_non_null(strstr(ecc_ctx_message(g->ctx), "no gradient for Floor"));
    gc_free(g);
}

/* The check itself: a gradient off by 1% in one element fails it. */
static void test_check_catches_wrong_gradient(void **state) {
    (void)state;
    int64_t a[2] = {3, 4}, b[2] = {4, 5};
    gc *g = gc_new(13, 9);
    gc_param(g, "A", 2, a, -1, 1, 0);
    gc_param(g, "B", 2, b, -1, 1, 0);
    gc_node(g, "MatMul", "A,B", "Y", true);
    gc_check_catches(g, TOL);
    gc_free(g);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemm),
        cmocka_unit_test(test_matmul),
        cmocka_unit_test(test_binary),
        cmocka_unit_test(test_unary),
        cmocka_unit_test(test_views),
        cmocka_unit_test(test_reduce),
        cmocka_unit_test(test_chain),
        cmocka_unit_test(test_no_gradient_refused),
        cmocka_unit_test(test_check_catches_wrong_gradient),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
