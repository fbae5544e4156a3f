/* test_grad_conv.c — backward kernels of the convolution, pooling and
 * normalisation ops against central finite differences (grad_check.h) over
 * random shapes and attributes: Conv and ConvTranspose (1-D to 3-D, groups,
 * depthwise, strides, pads, auto_pad, dilations, bias), MaxPool (inputs
 * without near-ties), AveragePool, the global pools, BatchNormalization,
 * LayerNormalization, InstanceNormalization, Softmax and LogSoftmax (opset
 * 11 and 13, several axes), and a corrupted gradient the check must catch.
 * Every case holds relative L2 1e-4. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "grad_check.h"

#define F32 ECC_DTYPE_FLOAT
#define TOL 1e-4

static double worst_conv, worst_pool, worst_norm, worst_softmax;

/* Checks g at TOL, keeps the family's worst error, frees g. */
static void check(gc *g, double *worst) {
    double w = gc_check(g, TOL);
    if (getenv("GC_VERBOSE")) fprintf(stderr, "%s %.3g\n", g->last->op_type, w);
    if (w > *worst) *worst = w;
    gc_free(g);
}

static int64_t pick(gc *g, int64_t lo, int64_t hi) { /* uniform in [lo, hi] */
    return lo + (int64_t)(gc_rand(g) * (double)(hi - lo + 1));
}

/* Shapes and attributes of one convolution case. */
typedef struct conv_case {
    int sp;           /* spatial rank */
    int64_t group, cg, mg;
    int64_t stride, dil;
    bool bias, pads;
    const char *auto_pad; /* NULL: explicit pads */
} conv_case;

/* Conv or ConvTranspose with X, W (and B) all trained. */
static void run_conv(const conv_case *c, bool transpose, uint64_t seed) {
    gc *g = gc_new(13, seed);
    int64_t x[5] = {2, c->group * c->cg}, w[5], pads[6] = {0};
    int32_t rank = 2 + c->sp;
    w[0] = transpose ? x[1] : c->group * c->mg;
    w[1] = transpose ? c->mg : c->cg;
    int64_t kshape[3], opad[3];
    for (int i = 0; i < c->sp; i++) {
        x[2 + i] = transpose ? pick(g, 2, 4) : pick(g, 5, 7);
        w[2 + i] = kshape[i] = pick(g, 2, 3);
        int64_t eff = (kshape[i] - 1) * c->dil + 1;
        pads[i] = c->pads ? pick(g, 0, eff - 1) : 0;
        pads[c->sp + i] = c->pads ? pick(g, 0, eff - 1) : 0;
        opad[i] = transpose ? pick(g, 0, c->stride - 1) : 0;
        if (transpose) pads[i] = pads[c->sp + i] = c->pads ? pick(g, 0, 1) : 0;
    }
    gc_param(g, "X", rank, x, -1, 1, 0);
    gc_param(g, "W", rank, w, -1, 1, 0);
    int64_t bd = transpose ? c->group * c->mg : w[0];
    if (c->bias) gc_param(g, "B", 1, &bd, -1, 1, 0);
    gc_node(g, transpose ? "ConvTranspose" : "Conv", c->bias ? "X,W,B" : "X,W", "Y", true);
    int64_t s[3] = {c->stride, c->stride, c->stride}, d[3] = {c->dil, c->dil, c->dil};
    gc_int(g, "group", c->group);
    gc_ints(g, "strides", s, (size_t)c->sp);
    gc_ints(g, "dilations", d, (size_t)c->sp);
    gc_ints(g, "kernel_shape", kshape, (size_t)c->sp);
    if (c->auto_pad) gc_str(g, "auto_pad", c->auto_pad);
    else gc_ints(g, "pads", pads, 2 * (size_t)c->sp);
    if (transpose) gc_ints(g, "output_padding", opad, (size_t)c->sp);
    g->h = 0.1; /* Y is linear in each parameter: any step is exact, a long one rounds less */
    check(g, &worst_conv);
}

/* Conv over 1-D and 2-D, groups 1, 2 and depthwise, strides, dilations,
 * pads and bias; then auto_pad and 3-D. */
static void test_conv(void **state) {
    (void)state;
    uint64_t seed = 1;
    static const int64_t groups[3][3] = {{1, 2, 3}, {2, 2, 2}, {3, 1, 1}}; /* group, cg, mg */
    for (int sp = 1; sp <= 2; sp++)
        for (int gk = 0; gk < 3; gk++)
            for (int64_t s = 1; s <= 2; s++)
                for (int64_t d = 1; d <= 2; d++)
                    for (int b = 0; b < 2; b++) {
                        conv_case c = {sp, groups[gk][0], groups[gk][1], groups[gk][2], s, d,
                                       b != 0, (s + d + b) % 2 == 0 || sp == 2, NULL};
                        run_conv(&c, false, seed++);
                    }
    static const char *aps[] = {"SAME_UPPER", "SAME_LOWER", "VALID"};
    for (int a = 0; a < 3; a++) {
        conv_case c = {2, 1, 2, 2, 1 + a % 2, 1, true, false, aps[a]};
        run_conv(&c, false, seed++);
    }
    conv_case c3 = {3, 1, 2, 2, 2, 1, true, true, NULL};
    run_conv(&c3, false, seed++);
    conv_case dm = {2, 2, 1, 2, 1, 1, true, true, NULL}; /* depthwise, multiplier 2 */
    run_conv(&dm, false, seed++);
}

/* ConvTranspose: 1-D and 2-D, groups, strides (with output_padding),
 * dilations, pads, bias. */
static void test_convtranspose(void **state) {
    (void)state;
    uint64_t seed = 100;
    for (int sp = 1; sp <= 2; sp++)
        for (int64_t gr = 1; gr <= 2; gr++)
            for (int64_t s = 1; s <= 2; s++)
                for (int64_t d = 1; d <= 2; d++) {
                    conv_case c = {sp, gr, 2, 2, s, d, (s + d) % 2 == 0, gr == 1 || s == 2, NULL};
                    run_conv(&c, true, seed++);
                }
    conv_case c = {2, 1, 2, 3, 2, 1, true, false, "SAME_UPPER"};
    run_conv(&c, true, seed++);
}

/* A trained float32 initializer holding a random permutation of values
 * spaced 0.05 apart (> 4h): no two taps of a max window tie or come within
 * a finite-difference step of each other. */
static void distinct_param(gc *g, const char *name, int32_t rank, const int64_t *dims) {
    int64_t n = gc_numel(rank, dims);
    float *x = malloc((size_t)n * sizeof *x);
    for (int64_t i = 0; i < n; i++) x[i] = (float)(i - n / 2) * 0.05f;
    for (int64_t i = n - 1; i > 0; i--) { /* Fisher-Yates */
        int64_t j = pick(g, 0, i);
        float t = x[i];
        x[i] = x[j];
        x[j] = t;
    }
    gc_const(g, name, F32, rank, dims, x);
    free(x);
    g->params[g->n_params++] = name;
}

/* One MaxPool (variant: with Indices) or AveragePool (variant:
 * count_include_pad) case at opset 19 (dilations on both). */
static void run_pool(bool max, int sp, int64_t stride, int64_t dil, int ceil, int variant,
                     uint64_t seed) {
    gc *g = gc_new(19, seed);
    int64_t x[4] = {2, 2}, kshape[2], pads[4], s[2] = {stride, stride}, d[2] = {dil, dil};
    for (int i = 0; i < sp; i++) {
        x[2 + i] = pick(g, 5, 8);
        kshape[i] = pick(g, 2, 3);
        int64_t eff = (kshape[i] - 1) * dil + 1;
        pads[i] = pick(g, 0, eff - 1);
        pads[sp + i] = pick(g, 0, eff - 1);
    }
    if (max) distinct_param(g, "X", 2 + sp, x);
    else gc_param(g, "X", 2 + sp, x, -1, 1, 0);
    gc_node(g, max ? "MaxPool" : "AveragePool", "X", max && variant ? "Y,I" : "Y", true);
    gc_ints(g, "kernel_shape", kshape, (size_t)sp);
    gc_ints(g, "strides", s, (size_t)sp);
    gc_ints(g, "dilations", d, (size_t)sp);
    gc_ints(g, "pads", pads, 2 * (size_t)sp);
    gc_int(g, "ceil_mode", ceil);
    if (!max) gc_int(g, "count_include_pad", variant);
    check(g, &worst_pool);
}

/* MaxPool and AveragePool over 1-D and 2-D, strides, dilations, pads,
 * ceil_mode, Indices / count_include_pad; the global pools. */
static void test_pools(void **state) {
    (void)state;
    uint64_t seed = 200;
    for (int max = 0; max < 2; max++)
        for (int sp = 1; sp <= 2; sp++)
            for (int64_t s = 1; s <= 2; s++)
                for (int64_t d = 1; d <= 2; d++)
                    for (int ceil = 0; ceil < 2; ceil++)
                        for (int v = 0; v < 2; v++) run_pool(max != 0, sp, s, d, ceil, v, seed++);
    int64_t x[4] = {2, 3, 4, 5};
    gc *g = gc_new(13, seed++);
    gc_param(g, "X", 4, x, -1, 1, 0);
    gc_node(g, "GlobalAveragePool", "X", "Y", true);
    check(g, &worst_pool);
    g = gc_new(13, seed++);
    distinct_param(g, "X", 4, x);
    gc_node(g, "GlobalMaxPool", "X", "Y", true);
    check(g, &worst_pool);
}

/* BatchNormalization in inference mode over [N, C, H, W] and [N, C]: X,
 * scale, B, mean and var all trained (var kept positive). */
static void test_batchnorm(void **state) {
    (void)state;
    static const int64_t shapes[2][4] = {{2, 3, 3, 4}, {4, 3}};
    for (int s = 0; s < 2; s++) {
        gc *g = gc_new(15, 300 + (uint64_t)s);
        int64_t c = 3;
        gc_param(g, "X", s ? 2 : 4, shapes[s], -1, 1, 0);
        gc_param(g, "scale", 1, &c, -1.5f, 1.5f, 0.2f);
        gc_param(g, "B", 1, &c, -1, 1, 0);
        gc_param(g, "mean", 1, &c, -0.5f, 0.5f, 0);
        gc_param(g, "var", 1, &c, 0.5f, 1.5f, 0);
        gc_node(g, "BatchNormalization", "X,scale,B,mean,var", "Y", true);
        gc_float(g, "epsilon", 1e-3f);
        check(g, &worst_norm);
    }
}

/* LayerNormalization: axis -1 and -2, Scale over the whole normalized
 * shape or broadcast along it, with and without B, with the Mean and
 * InvStdDev outputs in the loss. */
static void test_layernorm(void **state) {
    (void)state;
    int64_t x[3] = {2, 3, 4};
    for (int axis = -2; axis <= -1; axis++)
        for (int v = 0; v < 3; v++) {
            gc *g = gc_new(17, 400 + (uint64_t)(axis * 10 + v));
            gc_param(g, "X", 3, x, -1, 1, 0);
            bool bcast = axis == -2 && v == 1; /* Scale [4] over a [3, 4] normalized shape */
            gc_param(g, "S", bcast ? 1 : -axis, bcast ? x + 2 : x + 3 + axis, -1.5f, 1.5f, 0);
            if (v != 2) gc_param(g, "B", -axis, x + 3 + axis, -1, 1, 0);
            gc_node(g, "LayerNormalization", v == 2 ? "X,S" : "X,S,B",
                    v == 2 ? "Y,M,I" : "Y", true);
            gc_int(g, "axis", axis);
            check(g, &worst_norm);
        }
}

static void test_instancenorm(void **state) {
    (void)state;
    int64_t x[4] = {2, 3, 4, 5}, c = 3;
    gc *g = gc_new(13, 500);
    gc_param(g, "X", 4, x, -1, 1, 0);
    gc_param(g, "S", 1, &c, -1.5f, 1.5f, 0);
    gc_param(g, "B", 1, &c, -1, 1, 0);
    gc_node(g, "InstanceNormalization", "X,S,B", "Y", true);
    check(g, &worst_norm);
}

/* Softmax and LogSoftmax, opset 11 (coerced to 2-D at the axis) and 13
 * (along the axis), several axes. */
static void test_softmax(void **state) {
    (void)state;
    int64_t x[3] = {2, 3, 4};
    static const char *ops[] = {"Softmax", "LogSoftmax"};
    for (int o = 0; o < 2; o++)
        for (int opset = 11; opset <= 13; opset += 2)
            for (int axis = -1; axis <= 2; axis++) {
                gc *g = gc_new(opset, 600 + (uint64_t)(o * 100 + opset * 5 + axis));
                gc_param(g, "X", 3, x, -2, 2, 0);
                gc_node(g, ops[o], "X", "Y", true);
                gc_int(g, "axis", axis);
                /* y rounds to ~2e-7 absolute, which over a 1e-2 step leaves
                 * ~1e-4 of noise in the differences (LogSoftmax reached
                 * 1.7e-4); a 0.05 step cuts it fivefold while Richardson's
                 * truncation error stays below 1e-7. */
                g->h = 0.05;
                check(g, &worst_softmax);
            }
}

/* The check itself: a Conv gradient off by 1% in one element fails it. */
static void test_check_catches_wrong_gradient(void **state) {
    (void)state;
    int64_t x[4] = {1, 2, 5, 5}, w[4] = {3, 2, 3, 3};
    gc *g = gc_new(13, 77);
    gc_param(g, "X", 4, x, -1, 1, 0);
    gc_param(g, "W", 4, w, -1, 1, 0);
    gc_node(g, "Conv", "X,W", "Y", true);
    gc_check_catches(g, TOL);
    gc_free(g);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv),
        cmocka_unit_test(test_convtranspose),
        cmocka_unit_test(test_pools),
        cmocka_unit_test(test_batchnorm),
        cmocka_unit_test(test_layernorm),
        cmocka_unit_test(test_instancenorm),
        cmocka_unit_test(test_softmax),
        cmocka_unit_test(test_check_catches_wrong_gradient),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    printf("worst relative error: conv %.3g, pool %.3g, norm %.3g, softmax %.3g\n", worst_conv,
           worst_pool, worst_norm, worst_softmax);
    return r;
}
