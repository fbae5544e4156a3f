/* test_kernels.c — the kernels one node at a time, through the interpreter:
 * hand-computed cases per family, Conv/ConvTranspose against a naive direct
 * convolution over many (stride, pad, dilation, group) combinations,
 * MatMul broadcasting against a naive loop, quantization rounding and
 * saturation, hostile attributes (ECC_E_INPUT naming node and op), the
 * kernel table's order, and the planner's buffer reuse and re-planning. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "kernels.h"
#include "kernels_conv_direct.h"
#include "node_bench.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define F32 ECC_DTYPE_FLOAT
#define I64 ECC_DTYPE_INT64
#define I32 ECC_DTYPE_INT32
#define U8 ECC_DTYPE_UINT8
#define I8 ECC_DTYPE_INT8
#define B8 ECC_DTYPE_BOOL

/* ---------------- a one-model test bench ---------------- */

typedef struct kt {
    ecc_ctx *ctx;
    ecc_model *m;
    ecc_node *last;
    ecc_rt_tensor feeds[8];
    size_t n_feeds;
    ecc_interp *it;
    int threads;
    ecc_observe_fn observe;
    void *observe_user;
} kt;

static kt *kt_new(int opset) {
    kt *t = calloc(1, sizeof *t);
    t->ctx = ecc_ctx_create();
    assert_int_equal(ecc_model_create(t->ctx, &t->m), ECC_OK);
    assert_int_equal(ecc_model_set_opset(t->ctx, t->m, "", opset), ECC_OK);
    t->threads = 1;
    return t;
}

static void kt_free(kt *t) {
    ecc_interp_free(t->it);
    ecc_model_free(t->m);
    ecc_ctx_free(t->ctx);
    free(t);
}

static ecc_value *kt_val(kt *t, const char *name) { return nb_val(t->ctx, t->m, name); }

/* A graph input fed with data (borrowed until the run). */
static void kt_input(kt *t, const char *name, int32_t dtype, int32_t rank, const int64_t *dims,
                     const void *data) {
    nb_input(t->ctx, t->m, name, dtype, rank, dims, data, &t->feeds[t->n_feeds++]);
}

/* An initializer (copied). */
static void kt_const(kt *t, const char *name, int32_t dtype, int32_t rank, const int64_t *dims,
                     const void *data) {
    nb_const(t->ctx, t->m, name, dtype, rank, dims, data);
}

/* Node with comma-separated input and output names ("" = empty optional).
 * Outputs become graph outputs in order. */
static ecc_node *kt_node(kt *t, const char *op, const char *ins, const char *outs) {
    char name[64];
    snprintf(name, sizeof name, "%s_node", op);
    return t->last = nb_node(t->ctx, t->m, op, name, ins, outs, true);
}

static void kt_int(kt *t, const char *name, int64_t v) { nb_int(t->ctx, t->last, name, v); }
static void kt_ints(kt *t, const char *name, const int64_t *v, size_t n) {
    nb_ints(t->ctx, t->last, name, v, n);
}
static void kt_float(kt *t, const char *name, float v) { nb_float(t->ctx, t->last, name, v); }
static void kt_str(kt *t, const char *name, const char *v) { nb_str(t->ctx, t->last, name, v); }

static ecc_status kt_run(kt *t) {
    if (!t->it) {
        ecc_interp_options o = {.struct_size = sizeof o, .threads = t->threads,
                                .observe = t->observe, .observe_user = t->observe_user};
        ecc_status st = ecc_interp_create(t->ctx, t->m, &o, &t->it);
        if (st) return st;
    }
    return ecc_interp_run(t->ctx, t->it, t->feeds, t->n_feeds);
}

static void kt_ok(kt *t) {
    if (kt_run(t)) fail_msg("%s", ecc_ctx_message(t->ctx));
}

static const ecc_rt_tensor *kt_out(kt *t, size_t i) {
    const ecc_rt_tensor *r = ecc_interp_result(t->it, i);
    assert_non_null(r);
    return r;
}

/* Runs and expects ECC_E_INPUT whose message names the node, op and needle. */
static void kt_bad(kt *t, const char *needle) {
    ecc_status st = kt_run(t);
    const char *msg = ecc_ctx_message(t->ctx);
    if (st != ECC_E_INPUT) fail_msg("expected ECC_E_INPUT for '%s', got %d (%s)", needle, st, msg);
    if (t->last && (!strstr(msg, t->last->name) || !strstr(msg, t->last->op_type)))
        fail_msg("message '%s' does not name the node", msg);
    if (needle && !strstr(msg, needle)) fail_msg("message '%s' lacks '%s'", msg, needle);
}

static void expect_dims(const ecc_rt_tensor *r, int32_t rank, const int64_t *dims) {
    assert_int_equal(r->rank, rank);
    for (int32_t i = 0; i < rank; i++) assert_int_equal(r->dims[i], dims[i]);
}

static void expect_f32(const ecc_rt_tensor *r, const float *want, int64_t n, float tol) {
    assert_int_equal(r->dtype, F32);
    assert_int_equal(ecc_rt_numel(r), n);
    const float *got = r->data;
    for (int64_t i = 0; i < n; i++)
        if (!(fabsf(got[i] - want[i]) <= tol * fmaxf(1.0f, fabsf(want[i]))) &&
            !(isnan(got[i]) && isnan(want[i])))
            fail_msg("element %lld: got %.8g, want %.8g", (long long)i, got[i], want[i]);
}

static void expect_i64(const ecc_rt_tensor *r, const int64_t *want, int64_t n) {
    assert_int_equal(r->dtype, I64);
    assert_int_equal(ecc_rt_numel(r), n);
    for (int64_t i = 0; i < n; i++) assert_int_equal(((const int64_t *)r->data)[i], want[i]);
}

static void expect_u8(const ecc_rt_tensor *r, int32_t dtype, const uint8_t *want, int64_t n) {
    assert_int_equal(r->dtype, dtype);
    assert_int_equal(ecc_rt_numel(r), n);
    assert_memory_equal(r->data, want, (size_t)n);
}

static uint64_t rng_state = 88172645463325252ull;
static float frand(void) { /* xorshift, [-1, 1) */
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((rng_state >> 40) / (double)(1 << 24)) * 2.0f - 1.0f;
}
static void fill(float *v, int64_t n) {
    for (int64_t i = 0; i < n; i++) v[i] = frand();
}

/* ---------------- element-wise ---------------- */

static void test_binary_broadcast(void **state) {
    (void)state;
    kt *t = kt_new(13);
    float a[6] = {1, 2, 3, 4, 5, 6}, b[3] = {10, 20, 30};
    int64_t da[2] = {2, 3}, db[1] = {3};
    kt_input(t, "a", F32, 2, da, a);
    kt_const(t, "b", F32, 1, db, b);
    kt_node(t, "Add", "a,b", "y");
    kt_ok(t);
    float want[6] = {11, 22, 33, 14, 25, 36};
    expect_f32(kt_out(t, 0), want, 6, 0);
    kt_free(t);

    /* [2,1,3] * [4,1] → [2,4,3] */
    t = kt_new(13);
    float x[6], y[4], w[24];
    fill(x, 6);
    fill(y, 4);
    int64_t dx[3] = {2, 1, 3}, dy[2] = {4, 1};
    kt_input(t, "x", F32, 3, dx, x);
    kt_input(t, "y", F32, 2, dy, y);
    kt_node(t, "Mul", "x,y", "z");
    kt_ok(t);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 4; j++)
            for (int l = 0; l < 3; l++) w[(i * 4 + j) * 3 + l] = x[i * 3 + l] * y[j];
    int64_t dz[3] = {2, 4, 3};
    expect_dims(kt_out(t, 0), 3, dz);
    expect_f32(kt_out(t, 0), w, 24, 0);
    kt_free(t);

    /* incompatible shapes */
    t = kt_new(13);
    int64_t d4[1] = {4};
    kt_input(t, "a", F32, 2, da, a);
    kt_input(t, "b", F32, 1, d4, x);
    kt_node(t, "Sub", "a,b", "y");
    kt_bad(t, "broadcast");
    kt_free(t);
}

static void test_integer_arith(void **state) {
    (void)state;
    kt *t = kt_new(13);
    int64_t a[4] = {-7, 7, INT64_MIN, 9}, b[4] = {2, -2, -1, 3}, d[1] = {4};
    kt_input(t, "a", I64, 1, d, a);
    kt_input(t, "b", I64, 1, d, b);
    kt_node(t, "Div", "a,b", "q");
    kt_node(t, "Mul", "a,b", "p");
    kt_node(t, "Mod", "a,b", "r");
    kt_ok(t);
    int64_t q[4] = {-3, -3, INT64_MIN, 3}; /* truncation; MIN / -1 wraps */
    expect_i64(kt_out(t, 0), q, 4);
    int64_t p[4] = {-14, -14, INT64_MIN, 27};
    expect_i64(kt_out(t, 1), p, 4);
    int64_t r[4] = {1, -1, 0, 0}; /* Python-style sign of the divisor */
    expect_i64(kt_out(t, 2), r, 4);
    kt_free(t);

    t = kt_new(13);
    int64_t z[4] = {1, 0, 1, 1};
    kt_input(t, "a", I64, 1, d, a);
    kt_input(t, "b", I64, 1, d, z);
    kt_node(t, "Div", "a,b", "q");
    kt_bad(t, "division by zero");
    kt_free(t);
}

static void test_unary(void **state) {
    (void)state;
    float x[6] = {-2.5f, -1.0f, -0.25f, 0.0f, 0.5f, 3.0f};
    int64_t d[1] = {6};
    struct {
        const char *op;
        int opset;
        float (*ref)(float);
    } ops[] = {{"Relu", 13, NULL}, {"Sigmoid", 13, NULL}, {"Tanh", 13, tanhf},
               {"Erf", 13, erff},  {"Abs", 13, fabsf},    {"Neg", 13, NULL},
               {"Exp", 13, expf},  {"Floor", 13, floorf}, {"Ceil", 13, ceilf}};
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) {
        kt *t = kt_new(ops[i].opset);
        kt_input(t, "x", F32, 1, d, x);
        kt_node(t, ops[i].op, "x", "y");
        kt_ok(t);
        float want[6];
        for (int j = 0; j < 6; j++) {
            float v = x[j];
            if (ops[i].ref) want[j] = ops[i].ref(v);
            else if (!strcmp(ops[i].op, "Relu")) want[j] = v > 0 ? v : 0;
            else if (!strcmp(ops[i].op, "Neg")) want[j] = -v;
            else want[j] = 1.0f / (1.0f + expf(-v));
        }
        expect_f32(kt_out(t, 0), want, 6, 1e-6f);
        kt_free(t);
    }
    /* activations with attributes */
    kt *t = kt_new(13);
    kt_input(t, "x", F32, 1, d, x);
    kt_node(t, "LeakyRelu", "x", "a");
    kt_float(t, "alpha", 0.1f);
    kt_node(t, "HardSigmoid", "x", "b");
    kt_node(t, "HardSwish", "x", "c");
    kt_node(t, "Round", "x", "r");
    kt_ok(t);
    float la[6] = {-0.25f, -0.1f, -0.025f, 0, 0.5f, 3};
    expect_f32(kt_out(t, 0), la, 6, 1e-6f);
    float hs[6] = {0, 0.3f, 0.45f, 0.5f, 0.6f, 1.0f};
    expect_f32(kt_out(t, 1), hs, 6, 1e-6f);
    float hw[6];
    for (int j = 0; j < 6; j++) hw[j] = x[j] * fmaxf(0, fminf(1, x[j] / 6 + 0.5f));
    expect_f32(kt_out(t, 2), hw, 6, 1e-6f);
    float rd[6] = {-2, -1, -0.0f, 0, 0, 3}; /* ties to even */
    expect_f32(kt_out(t, 3), rd, 6, 0);
    kt_free(t);
}

static void test_clip_and_gelu(void **state) {
    (void)state;
    float x[5] = {-3, -1, 0, 1, 3};
    int64_t d[1] = {5};
    /* opset 6: attributes */
    kt *t = kt_new(6);
    kt_input(t, "x", F32, 1, d, x);
    kt_node(t, "Clip", "x", "y");
    kt_float(t, "min", -1.5f);
    kt_float(t, "max", 2.0f);
    kt_ok(t);
    float w1[5] = {-1.5f, -1, 0, 1, 2};
    expect_f32(kt_out(t, 0), w1, 5, 0);
    kt_free(t);
    /* opset 13: inputs, min omitted */
    t = kt_new(13);
    float mx = 0.5f;
    kt_input(t, "x", F32, 1, d, x);
    kt_const(t, "max", F32, 0, NULL, &mx);
    kt_node(t, "Clip", "x,,max", "y");
    kt_ok(t);
    float w2[5] = {-3, -1, 0, 0.5f, 0.5f};
    expect_f32(kt_out(t, 0), w2, 5, 0);
    kt_free(t);
    /* Gelu (opset 20), exact and tanh */
    t = kt_new(20);
    kt_input(t, "x", F32, 1, d, x);
    kt_node(t, "Gelu", "x", "g");
    kt_node(t, "Gelu", "x", "h");
    kt_str(t, "approximate", "tanh");
    kt_ok(t);
    float g[5], h[5];
    for (int i = 0; i < 5; i++) {
        double v = x[i];
        g[i] = (float)(0.5 * v * (1 + erf(v / sqrt(2.0))));
        h[i] = (float)(0.5 * v * (1 + tanh(sqrt(2 / M_PI) * (v + 0.044715 * v * v * v))));
    }
    expect_f32(kt_out(t, 0), g, 5, 1e-6f);
    expect_f32(kt_out(t, 1), h, 5, 1e-6f);
    kt_free(t);
    t = kt_new(20);
    kt_input(t, "x", F32, 1, d, x);
    kt_node(t, "Gelu", "x", "g");
    kt_str(t, "approximate", "sigmoid");
    kt_bad(t, "approximate");
    kt_free(t);
}

static void test_variadic_and_compare(void **state) {
    (void)state;
    kt *t = kt_new(13);
    float a[3] = {1, 5, 3}, b[1] = {2}, c[6] = {0, 9, 1, 4, 4, 4};
    int64_t da[1] = {3}, db[1] = {1}, dc[2] = {2, 3};
    kt_input(t, "a", F32, 1, da, a);
    kt_input(t, "b", F32, 1, db, b);
    kt_input(t, "c", F32, 2, dc, c);
    kt_node(t, "Max", "a,b,c", "mx");
    kt_node(t, "Min", "a,b,c", "mn");
    kt_node(t, "Sum", "a,b,c", "sm");
    kt_node(t, "Less", "a,c", "lt");
    kt_node(t, "Equal", "a,b", "eq");
    kt_ok(t);
    float mx[6] = {2, 9, 3, 4, 5, 4}, mn[6] = {0, 2, 1, 1, 2, 2}, sm[6] = {3, 16, 6, 7, 11, 9};
    expect_f32(kt_out(t, 0), mx, 6, 0);
    expect_f32(kt_out(t, 1), mn, 6, 0);
    expect_f32(kt_out(t, 2), sm, 6, 0);
    uint8_t lt[6] = {0, 1, 0, 1, 0, 1}, eq[3] = {0, 0, 0};
    expect_u8(kt_out(t, 3), B8, lt, 6);
    expect_u8(kt_out(t, 4), B8, eq, 3);
    kt_free(t);
    /* Where with broadcasting; Not/And/Or */
    t = kt_new(13);
    uint8_t cond[2] = {1, 0}, p[2] = {1, 1};
    int64_t d2[2] = {2, 1}, d1[1] = {2};
    int64_t xs[3] = {1, 2, 3}, ys[1] = {-1};
    int64_t dx[1] = {3};
    kt_input(t, "c", B8, 2, d2, cond);
    kt_input(t, "x", I64, 1, dx, xs);
    kt_input(t, "y", I64, 1, db, ys);
    kt_input(t, "p", B8, 1, d1, p);
    kt_node(t, "Where", "c,x,y", "w");
    kt_node(t, "Not", "p", "n");
    kt_node(t, "And", "p,n", "an");
    kt_node(t, "Or", "p,n", "or");
    kt_ok(t);
    int64_t w[6] = {1, 2, 3, -1, -1, -1};
    expect_i64(kt_out(t, 0), w, 6);
    uint8_t n0[2] = {0, 0}, o1[2] = {1, 1};
    expect_u8(kt_out(t, 1), B8, n0, 2);
    expect_u8(kt_out(t, 2), B8, n0, 2);
    expect_u8(kt_out(t, 3), B8, o1, 2);
    kt_free(t);
}

static void test_pow(void **state) {
    (void)state;
    kt *t = kt_new(15);
    float x[3] = {2, 3, 4};
    int64_t e[1] = {3}, d[1] = {3}, d1[1] = {1};
    kt_input(t, "x", F32, 1, d, x);
    kt_const(t, "e", I64, 1, d1, e);
    kt_node(t, "Pow", "x,e", "y");
    kt_ok(t);
    float want[3] = {8, 27, 64};
    expect_f32(kt_out(t, 0), want, 3, 1e-6f);
    kt_free(t);
}

/* ---------------- GEMM / MatMul ---------------- */

/* Gemm against a direct sum for every transpose and C shape; the small
 * size on one thread, and two sizes big enough to be split over two
 * threads: by rows (M > N) and by columns (N > M), which offsets A or B
 * differently when it is transposed. */
static void test_gemm(void **state) {
    (void)state;
    static const int64_t sizes[3][4] = {{3, 5, 4, 1}, {64, 20, 16, 2}, {8, 40, 96, 2}};
    for (int sz = 0; sz < 3; sz++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (int cshape = 0; cshape < 4; cshape++) {
                    int64_t M = sizes[sz][0], K = sizes[sz][1], N = sizes[sz][2];
                    float *a = malloc((size_t)(M * K) * sizeof *a);
                    float *b = malloc((size_t)(K * N) * sizeof *b);
                    float *c = malloc((size_t)(M * N) * sizeof *c);
                    float *want = malloc((size_t)(M * N) * sizeof *want);
                    fill(a, M * K);
                    fill(b, K * N);
                    fill(c, M * N);
                    int64_t da[2] = {ta ? K : M, ta ? M : K}, dbm[2] = {tb ? N : K, tb ? K : N};
                    int64_t dcs[4][2] = {{1, 1}, {N, 0}, {M, 1}, {M, N}};
                    int32_t cr = cshape == 1 ? 1 : 2;
                    kt *t = kt_new(13);
                    t->threads = (int)sizes[sz][3];
                    kt_input(t, "a", F32, 2, da, a);
                    kt_const(t, "b", F32, 2, dbm, b);
                    kt_const(t, "c", F32, cr, dcs[cshape], c);
                    kt_node(t, "Gemm", "a,b,c", "y");
                    kt_int(t, "transA", ta);
                    kt_int(t, "transB", tb);
                    kt_float(t, "alpha", 0.5f);
                    kt_float(t, "beta", 2.0f);
                    kt_ok(t);
                    for (int64_t i = 0; i < M; i++)
                        for (int64_t j = 0; j < N; j++) {
                            double s = 0;
                            for (int64_t l = 0; l < K; l++)
                                s += (double)(ta ? a[l * M + i] : a[i * K + l]) *
                                     (tb ? b[j * K + l] : b[l * N + j]);
                            float cv = cshape == 0   ? c[0]
                                       : cshape == 1 ? c[j]
                                       : cshape == 2 ? c[i]
                                                     : c[i * N + j];
                            want[i * N + j] = (float)(0.5 * s + 2.0 * cv);
                        }
                    expect_f32(kt_out(t, 0), want, M * N, 1e-5f);
                    kt_free(t);
                    free(a);
                    free(b);
                    free(c);
                    free(want);
                }
    kt *t = kt_new(13);
    float a[6] = {0};
    int64_t d23[2] = {2, 3};
    kt_input(t, "a", F32, 2, d23, a);
    kt_const(t, "b", F32, 2, d23, a);
    kt_node(t, "Gemm", "a,b", "y");
    kt_bad(t, "inner dimensions");
    kt_free(t);
}

static void naive_matmul(const float *a, const float *b, float *c, int64_t m, int64_t k,
                         int64_t n) {
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double s = 0;
            for (int64_t l = 0; l < k; l++) s += (double)a[i * k + l] * b[l * n + j];
            c[i * n + j] = (float)s;
        }
}

static void test_matmul(void **state) {
    (void)state;
    /* [2,1,3,4] x [5,4,2] → [2,5,3,2] */
    float a[24], b[40], want[60];
    fill(a, 24);
    fill(b, 40);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 5; j++)
            naive_matmul(a + i * 12, b + j * 8, want + (i * 5 + j) * 6, 3, 4, 2);
    for (int threads = 1; threads <= 2; threads++) {
        kt *t = kt_new(13);
        t->threads = threads;
        int64_t da[4] = {2, 1, 3, 4}, db[3] = {5, 4, 2};
        kt_input(t, "a", F32, 4, da, a);
        kt_input(t, "b", F32, 3, db, b);
        kt_node(t, "MatMul", "a,b", "y");
        kt_ok(t);
        int64_t dy[4] = {2, 5, 3, 2};
        expect_dims(kt_out(t, 0), 4, dy);
        expect_f32(kt_out(t, 0), want, 60, 1e-5f);
        kt_free(t);
    }
    /* batched products big enough to split each one over the pool (rows,
     * then columns), B broadcast over A's batch: [2,1,M,K] x [3,K,N] */
    static const int64_t big[2][3] = {{128, 96, 100}, {40, 96, 300}};
    for (int bi = 0; bi < 2; bi++)
        for (int threads = 1; threads <= 2; threads++) {
            int64_t M = big[bi][0], K = big[bi][1], N = big[bi][2];
            float *ba = malloc((size_t)(2 * M * K) * sizeof *ba);
            float *bb = malloc((size_t)(3 * K * N) * sizeof *bb);
            float *bw = malloc((size_t)(6 * M * N) * sizeof *bw);
            fill(ba, 2 * M * K);
            fill(bb, 3 * K * N);
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 3; j++)
                    naive_matmul(ba + i * M * K, bb + j * K * N, bw + (i * 3 + j) * M * N, M, K,
                                 N);
            kt *t = kt_new(13);
            t->threads = threads;
            int64_t da[4] = {2, 1, M, K}, db[3] = {3, K, N};
            kt_input(t, "a", F32, 4, da, ba);
            kt_input(t, "b", F32, 3, db, bb);
            kt_node(t, "MatMul", "a,b", "y");
            kt_ok(t);
            expect_f32(kt_out(t, 0), bw, 6 * M * N, 1e-4f);
            kt_free(t);
            free(ba);
            free(bb);
            free(bw);
        }
    /* 1-D promotions */
    struct {
        int32_t ra, rb;
        int64_t da[3], db[3];
        int32_t ry;
        int64_t dy[3];
    } cases[] = {
        {1, 2, {4}, {4, 3}, 1, {3}},
        {3, 1, {2, 3, 4}, {4}, 2, {2, 3}},
        {1, 1, {4}, {4}, 0, {0}},
        {2, 2, {3, 4}, {4, 2}, 2, {3, 2}},
        {3, 2, {2, 3, 4}, {4, 2}, 3, {2, 3, 2}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        kt *t = kt_new(13);
        kt_input(t, "a", F32, cases[c].ra, cases[c].da, a);
        kt_input(t, "b", F32, cases[c].rb, cases[c].db, b);
        kt_node(t, "MatMul", "a,b", "y");
        kt_ok(t);
        expect_dims(kt_out(t, 0), cases[c].ry, cases[c].dy);
        int64_t m = cases[c].ra == 1 ? 1 : ecc_k_prod(cases[c].da, 0, cases[c].ra - 1);
        int64_t n = cases[c].rb == 1 ? 1 : cases[c].db[1];
        float w[24];
        naive_matmul(a, b, w, m, 4, n);
        expect_f32(kt_out(t, 0), w, m * n, 1e-5f);
        kt_free(t);
    }
    kt *t = kt_new(13);
    int64_t da[2] = {3, 4}, db[2] = {3, 2};
    kt_input(t, "a", F32, 2, da, a);
    kt_input(t, "b", F32, 2, db, b);
    kt_node(t, "MatMul", "a,b", "y");
    kt_bad(t, "inner dimensions");
    kt_free(t);
}

/* ---------------- convolution ---------------- */

typedef struct conv_case {
    int sp;                 /* spatial rank 1..3 */
    int64_t n, c, m, group;
    int64_t in[3], k[3], s[3], d[3], pb[3], pe[3];
    const char *autopad;
    bool bias;
} conv_case;

static int64_t conv_out(const conv_case *cc, int i) {
    int64_t eff = (cc->k[i] - 1) * cc->d[i] + 1;
    return (cc->in[i] + cc->pb[i] + cc->pe[i] - eff) / cc->s[i] + 1;
}

/* Direct convolution in double. */
static void naive_conv(const conv_case *cc, const float *x, const float *w, const float *b,
                       float *y) {
    int64_t out[3] = {1, 1, 1}, in[3] = {1, 1, 1}, k[3] = {1, 1, 1}, s[3] = {1, 1, 1},
            d[3] = {1, 1, 1}, p[3] = {0, 0, 0};
    int off = 3 - cc->sp;
    for (int i = 0; i < cc->sp; i++) {
        out[off + i] = conv_out(cc, i);
        in[off + i] = cc->in[i];
        k[off + i] = cc->k[i];
        s[off + i] = cc->s[i];
        d[off + i] = cc->d[i];
        p[off + i] = cc->pb[i];
    }
    int64_t cg = cc->c / cc->group, mg = cc->m / cc->group, osz = out[0] * out[1] * out[2];
    for (int64_t n = 0; n < cc->n; n++)
        for (int64_t m = 0; m < cc->m; m++)
            for (int64_t o0 = 0; o0 < out[0]; o0++)
                for (int64_t o1 = 0; o1 < out[1]; o1++)
                    for (int64_t o2 = 0; o2 < out[2]; o2++) {
                        double acc = b ? b[m] : 0;
                        int64_t g = m / mg;
                        for (int64_t c = 0; c < cg; c++)
                            for (int64_t a0 = 0; a0 < k[0]; a0++)
                                for (int64_t a1 = 0; a1 < k[1]; a1++)
                                    for (int64_t a2 = 0; a2 < k[2]; a2++) {
                                        int64_t i0 = o0 * s[0] - p[0] + a0 * d[0];
                                        int64_t i1 = o1 * s[1] - p[1] + a1 * d[1];
                                        int64_t i2 = o2 * s[2] - p[2] + a2 * d[2];
                                        if (i0 < 0 || i0 >= in[0] || i1 < 0 || i1 >= in[1] ||
                                            i2 < 0 || i2 >= in[2])
                                            continue;
                                        double xv = x[(((n * cc->c + g * cg + c) * in[0] + i0) *
                                                       in[1] + i1) * in[2] + i2];
                                        double wv = w[(((m * cg + c) * k[0] + a0) * k[1] + a1) *
                                                      k[2] + a2];
                                        acc += xv * wv;
                                    }
                        y[((n * cc->m + m) * osz) + (o0 * out[1] + o1) * out[2] + o2] = (float)acc;
                    }
}

static void run_conv_case(const conv_case *cc, int threads) {
    int64_t xs = cc->n * cc->c, ws = cc->m * (cc->c / cc->group), ys = cc->n * cc->m;
    int64_t xd[5] = {cc->n, cc->c}, wd[5] = {cc->m, cc->c / cc->group}, yd[5] = {cc->n, cc->m};
    for (int i = 0; i < cc->sp; i++) {
        xs *= cc->in[i];
        ws *= cc->k[i];
        ys *= conv_out(cc, i);
        xd[2 + i] = cc->in[i];
        wd[2 + i] = cc->k[i];
        yd[2 + i] = conv_out(cc, i);
    }
    float *x = malloc((size_t)xs * 4), *w = malloc((size_t)ws * 4), *b = malloc((size_t)cc->m * 4),
          *want = malloc((size_t)ys * 4);
    fill(x, xs);
    fill(w, ws);
    fill(b, cc->m);
    naive_conv(cc, x, w, cc->bias ? b : NULL, want);
    kt *t = kt_new(13);
    t->threads = threads;
    kt_input(t, "x", F32, cc->sp + 2, xd, x);
    kt_const(t, "w", F32, cc->sp + 2, wd, w);
    int64_t bd[1] = {cc->m};
    kt_const(t, "b", F32, 1, bd, b);
    kt_node(t, "Conv", cc->bias ? "x,w,b" : "x,w", "y");
    int64_t st[3], dl[3], pads[6];
    for (int i = 0; i < cc->sp; i++) {
        st[i] = cc->s[i];
        dl[i] = cc->d[i];
        pads[i] = cc->pb[i];
        pads[cc->sp + i] = cc->pe[i];
    }
    kt_ints(t, "strides", st, (size_t)cc->sp);
    kt_ints(t, "dilations", dl, (size_t)cc->sp);
    if (cc->autopad) kt_str(t, "auto_pad", cc->autopad);
    else kt_ints(t, "pads", pads, 2 * (size_t)cc->sp);
    kt_int(t, "group", cc->group);
    kt_ok(t);
    if (getenv("ECC_TEST_VERBOSE"))
        print_message("conv sp=%d n=%lld c=%lld m=%lld g=%lld in=%lldx%lld k=%lldx%lld s=%lldx%lld "
                  "d=%lldx%lld p=%lld,%lld/%lld,%lld %s threads=%d\n", cc->sp, (long long)cc->n,
                  (long long)cc->c, (long long)cc->m, (long long)cc->group, (long long)cc->in[0],
                  (long long)cc->in[1], (long long)cc->k[0], (long long)cc->k[1],
                  (long long)cc->s[0], (long long)cc->s[1], (long long)cc->d[0],
                  (long long)cc->d[1], (long long)cc->pb[0], (long long)cc->pb[1],
                  (long long)cc->pe[0], (long long)cc->pe[1], cc->autopad ? cc->autopad : "",
                  threads);
    expect_dims(kt_out(t, 0), cc->sp + 2, yd);
    expect_f32(kt_out(t, 0), want, ys, 2e-5f);
    kt_free(t);
    free(x);
    free(w);
    free(b);
    free(want);
}

/* Every case on one Conv path: returns how many ran. */
static int conv_sweep(void) {
    int count = 0;
    /* 2-D sweep over stride, pad, dilation, group */
    for (int s = 1; s <= 3; s++)
        for (int p = 0; p <= 2; p++)
            for (int d = 1; d <= 2; d++)
                for (int gi = 0; gi < 3; gi++) {
                    int64_t groups[3] = {1, 2, 4};
                    conv_case cc = {.sp = 2, .n = 2, .c = 4, .m = 8, .group = groups[gi],
                                    .in = {7, 6}, .k = {3, 2}, .s = {s, 3 - s % 3},
                                    .d = {d, 1}, .pb = {p, p / 2}, .pe = {p / 2, p},
                                    .bias = (s + p) % 2 == 0};
                    if (cc.in[0] + cc.pb[0] + cc.pe[0] < (cc.k[0] - 1) * cc.d[0] + 1) continue;
                    run_conv_case(&cc, 1 + (count % 2));
                    count++;
                }
    /* depthwise, 1x1, 1-D, 3-D, auto_pad */
    conv_case extra[] = {
        {.sp = 2, .n = 3, .c = 6, .m = 6, .group = 6, .in = {9, 8}, .k = {3, 3}, .s = {1, 1},
         .d = {1, 1}, .pb = {1, 1}, .pe = {1, 1}, .bias = true},
        {.sp = 2, .n = 2, .c = 4, .m = 4, .group = 4, .in = {9, 8}, .k = {3, 3}, .s = {2, 2},
         .d = {2, 1}, .pb = {2, 0}, .pe = {1, 1}},
        {.sp = 2, .n = 2, .c = 4, .m = 8, .group = 4, .in = {5, 5}, .k = {3, 3}, .s = {1, 1},
         .d = {1, 1}, .pb = {1, 1}, .pe = {1, 1}}, /* depth multiplier 2 */
        {.sp = 2, .n = 2, .c = 5, .m = 3, .group = 1, .in = {4, 6}, .k = {1, 1}, .s = {1, 1},
         .d = {1, 1}, .bias = true},
        {.sp = 1, .n = 2, .c = 3, .m = 4, .group = 1, .in = {11}, .k = {4}, .s = {2}, .d = {2},
         .pb = {3}, .pe = {1}, .bias = true},
        {.sp = 3, .n = 1, .c = 2, .m = 4, .group = 2, .in = {4, 5, 3}, .k = {2, 3, 2},
         .s = {1, 2, 1}, .d = {1, 1, 2}, .pb = {1, 0, 1}, .pe = {0, 1, 1}, .bias = true},
        /* odd total padding on the width: UPPER puts the extra at the end */
        {.sp = 2, .n = 1, .c = 2, .m = 2, .group = 1, .in = {5, 6}, .k = {3, 4}, .s = {2, 1},
         .d = {1, 1}, .pb = {1, 1}, .pe = {1, 2}, .autopad = "SAME_UPPER"},
        {.sp = 2, .n = 1, .c = 2, .m = 2, .group = 1, .in = {5, 6}, .k = {3, 4}, .s = {2, 1},
         .d = {1, 1}, .pb = {1, 2}, .pe = {1, 1}, .autopad = "SAME_LOWER"},
        {.sp = 2, .n = 1, .c = 2, .m = 2, .group = 1, .in = {5, 6}, .k = {3, 4}, .s = {2, 1},
         .d = {1, 1}, .autopad = "VALID"},
        /* stride 1, output as wide as the input (im2col planes are shifted
         * copies): dilated, asymmetric pads; one image on two threads splits
         * each GEMM over the pool */
        {.sp = 2, .n = 1, .c = 4, .m = 8, .group = 1, .in = {9, 8}, .k = {3, 3}, .s = {1, 1},
         .d = {2, 2}, .pb = {2, 2}, .pe = {2, 2}, .bias = true},
        {.sp = 2, .n = 1, .c = 4, .m = 8, .group = 1, .in = {9, 8}, .k = {3, 3}, .s = {1, 1},
         .d = {1, 1}, .pb = {0, 0}, .pe = {2, 2}},
        {.sp = 2, .n = 2, .c = 4, .m = 8, .group = 1, .in = {9, 8}, .k = {3, 3}, .s = {1, 1},
         .d = {1, 1}, .pb = {2, 2}, .pe = {0, 0}, .bias = true},
        /* the direct path's blocks and tiles: 40 output channels (a partial
         * last block at every vector width), rows of 20 and 29 columns (whole
         * tiles and a tail), two groups of 20; the CNN's stride-2 layer on
         * one image (its rows split over the threads) */
        {.sp = 2, .n = 2, .c = 3, .m = 40, .group = 1, .in = {6, 20}, .k = {3, 3}, .s = {1, 1},
         .d = {1, 1}, .pb = {1, 1}, .pe = {1, 1}, .bias = true},
        {.sp = 2, .n = 1, .c = 6, .m = 40, .group = 2, .in = {5, 31}, .k = {2, 3}, .s = {1, 1},
         .d = {2, 1}, .pb = {1, 0}, .pe = {0, 0}, .bias = true},
        {.sp = 2, .n = 1, .c = 16, .m = 32, .group = 1, .in = {28, 28}, .k = {3, 3}, .s = {2, 2},
         .d = {1, 1}, .pb = {1, 1}, .pe = {1, 1}, .bias = true},
        {.sp = 1, .n = 3, .c = 5, .m = 17, .group = 1, .in = {40}, .k = {5}, .s = {1}, .d = {1},
         .pb = {2}, .pe = {2}},
        {.sp = 2, .n = 2, .c = 8, .m = 12, .group = 1, .in = {7, 7}, .k = {1, 1}, .s = {2, 2},
         .d = {1, 1}, .bias = true}, /* 1x1 with a stride: not the pointwise GEMM */
    };
    for (size_t i = 0; i < sizeof extra / sizeof *extra; i++) {
        for (int threads = 1; threads <= 2; threads++) run_conv_case(&extra[i], threads);
        count++;
    }
    return count;
}

/* The sweep on im2col + sgemm and on each direct variant the CPU runs. */
static void test_conv_vs_naive(void **state) {
    (void)state;
    const char *paths[] = {"off", "base", "avx2", "avx512"};
    int ran = 0;
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        if (!ecc_conv_direct_select(paths[i])) continue;
        assert_string_equal(ecc_conv_direct_variant(), paths[i]);
        assert_true(conv_sweep() > 50);
        ran++;
    }
    assert_true(ecc_conv_direct_select("auto"));
    assert_false(ecc_conv_direct_select("sse9"));
    assert_true(ran >= 2); /* im2col and the baseline vectors everywhere */
}

/* ConvTranspose against a scatter-add reference: x [N,C,H,W], w [C,M/g,K,K],
 * stride s on both axes, dilation D, pads (p, 0) at the start and (p, p) at
 * the end, output_padding op on the height. */
typedef struct convt_case {
    int64_t N, C, M, H, W, K, s, D, p, g, op;
} convt_case;

static void naive_conv_transpose(const convt_case *cc, const float *x, const float *w,
                                 const float *b, float *y, int64_t OH, int64_t OW) {
    int64_t cg = cc->C / cc->g, mg = cc->M / cc->g;
    for (int64_t n = 0; n < cc->N; n++)
        for (int64_t m = 0; m < cc->M; m++)
            for (int64_t e = 0; e < OH * OW; e++) y[(n * cc->M + m) * OH * OW + e] = b[m];
    for (int64_t n = 0; n < cc->N; n++)
        for (int64_t c = 0; c < cc->C; c++)
            for (int64_t ih = 0; ih < cc->H; ih++)
                for (int64_t iw = 0; iw < cc->W; iw++) {
                    float xv = x[((n * cc->C + c) * cc->H + ih) * cc->W + iw];
                    for (int64_t mm = 0; mm < mg; mm++)
                        for (int64_t kh = 0; kh < cc->K; kh++)
                            for (int64_t kw = 0; kw < cc->K; kw++) {
                                int64_t oh = ih * cc->s - cc->p + kh * cc->D;
                                int64_t ow = iw * cc->s + kw * cc->D;
                                if (oh < 0 || oh >= OH || ow < 0 || ow >= OW) continue;
                                int64_t m = (c / cg) * mg + mm;
                                y[((n * cc->M + m) * OH + oh) * OW + ow] +=
                                    xv * w[((c * mg + mm) * cc->K + kh) * cc->K + kw];
                            }
                }
}

static void test_conv_transpose(void **state) {
    (void)state;
    for (int s = 1; s <= 2; s++)
        for (int p = 0; p <= 1; p++)
            for (int g = 1; g <= 2; g++)
                for (int op = 0; op < s; op++) {
                    /* one image on two threads: each GEMM split over the pool */
                    convt_case cc = {2 - (s + p + op) % 2, 4, 6, 4, 5, 3, s, 1 + p, p, g, op};
                    int64_t mg = cc.M / g;
                    int64_t OH = s * (cc.H - 1) + op + (cc.K - 1) * cc.D + 1 - 2 * p;
                    int64_t OW = s * (cc.W - 1) + (cc.K - 1) * cc.D + 1 - p;
                    float x[2 * 4 * 4 * 5], w[4 * 6 * 9], b[6], want[2 * 6 * 16 * 16];
                    fill(x, cc.N * cc.C * cc.H * cc.W);
                    fill(w, cc.C * mg * cc.K * cc.K);
                    fill(b, cc.M);
                    naive_conv_transpose(&cc, x, w, b, want, OH, OW);
                    kt *t = kt_new(13);
                    t->threads = g;
                    int64_t xd[4] = {cc.N, cc.C, cc.H, cc.W}, wd[4] = {cc.C, mg, cc.K, cc.K};
                    int64_t bd[1] = {cc.M};
                    kt_input(t, "x", F32, 4, xd, x);
                    kt_const(t, "w", F32, 4, wd, w);
                    kt_const(t, "b", F32, 1, bd, b);
                    kt_node(t, "ConvTranspose", "x,w,b", "y");
                    int64_t st[2] = {s, s}, dl[2] = {cc.D, cc.D}, pads[4] = {p, 0, p, p};
                    int64_t opad[2] = {op, 0};
                    kt_ints(t, "strides", st, 2);
                    kt_ints(t, "dilations", dl, 2);
                    kt_ints(t, "pads", pads, 4);
                    kt_ints(t, "output_padding", opad, 2);
                    kt_int(t, "group", g);
                    kt_ok(t);
                    int64_t yd[4] = {cc.N, cc.M, OH, OW};
                    expect_dims(kt_out(t, 0), 4, yd);
                    expect_f32(kt_out(t, 0), want, cc.N * cc.M * OH * OW, 2e-5f);
                    kt_free(t);
                }
}

static void test_conv_hostile(void **state) {
    (void)state;
    float x[2 * 3 * 5 * 5] = {0}, w[6 * 3 * 3 * 3] = {0};
    int64_t xd[4] = {2, 3, 5, 5}, wd[4] = {6, 3, 3, 3};
    struct {
        const char *attr;
        int64_t v[4];
        size_t n;
        const char *needle;
    } cases[] = {
        {"strides", {-1, 1}, 2, "strides"},
        {"strides", {0, 1}, 2, "strides"},
        {"dilations", {1, 0}, 2, "dilations"},
        {"pads", {-1, 0, 0, 0}, 4, "pads"},
        {"pads", {0, 0, 0}, 3, "pads"},
        {"group", {0}, 1, "group"},
        {"group", {2}, 1, "divisible"},
        {"kernel_shape", {5, 5}, 2, "kernel_shape"},
        {"dilations", {4, 4}, 2, "larger than the padded input"},
        {"strides", {(int64_t)1 << 40, 1}, 2, "strides"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        kt *t = kt_new(13);
        kt_input(t, "x", F32, 4, xd, x);
        kt_const(t, "w", F32, 4, wd, w);
        kt_node(t, "Conv", "x,w", "y");
        if (cases[i].n == 1 && strcmp(cases[i].attr, "group") == 0)
            kt_int(t, "group", cases[i].v[0]);
        else kt_ints(t, cases[i].attr, cases[i].v, cases[i].n);
        kt_bad(t, cases[i].needle);
        kt_free(t);
    }
    /* wrong weight rank, bad auto_pad, string where an int belongs */
    kt *t = kt_new(13);
    int64_t wd3[3] = {6, 3, 3};
    kt_input(t, "x", F32, 4, xd, x);
    kt_const(t, "w", F32, 3, wd3, w);
    kt_node(t, "Conv", "x,w", "y");
    kt_bad(t, "rank");
    kt_free(t);
    t = kt_new(13);
    kt_input(t, "x", F32, 4, xd, x);
    kt_const(t, "w", F32, 4, wd, w);
    kt_node(t, "Conv", "x,w", "y");
    kt_str(t, "auto_pad", "SOMETIMES");
    kt_bad(t, "auto_pad");
    kt_free(t);
    t = kt_new(13);
    kt_input(t, "x", F32, 4, xd, x);
    kt_const(t, "w", F32, 4, wd, w);
    kt_node(t, "Conv", "x,w", "y");
    kt_str(t, "group", "two");
    kt_bad(t, "attribute 'group' must be int");
    kt_free(t);
}

/* ---------------- pooling ---------------- */

static void test_pools(void **state) {
    (void)state;
    float x[16];
    for (int i = 0; i < 16; i++) x[i] = (float)i;
    int64_t xd[4] = {1, 1, 4, 4};
    /* MaxPool 3x3 stride 2 pad 1, ceil_mode, with indices */
    kt *t = kt_new(13);
    kt_input(t, "x", F32, 4, xd, x);
    kt_node(t, "MaxPool", "x", "y,i");
    int64_t k3[2] = {3, 3}, s2[2] = {2, 2}, p1[4] = {1, 1, 1, 1};
    kt_ints(t, "kernel_shape", k3, 2);
    kt_ints(t, "strides", s2, 2);
    kt_ints(t, "pads", p1, 4);
    kt_int(t, "ceil_mode", 1);
    kt_ok(t);
    int64_t yd[4] = {1, 1, 3, 3};
    expect_dims(kt_out(t, 0), 4, yd);
    float mx[9] = {5, 7, 7, 13, 15, 15, 13, 15, 15};
    expect_f32(kt_out(t, 0), mx, 9, 0);
    int64_t idx[9] = {5, 7, 7, 13, 15, 15, 13, 15, 15};
    expect_i64(kt_out(t, 1), idx, 9);
    kt_free(t);
    /* AveragePool 2x2 stride 2 pad 1: count_include_pad 0 / 1 */
    for (int inc = 0; inc <= 1; inc++) {
        t = kt_new(13);
        kt_input(t, "x", F32, 4, xd, x);
        kt_node(t, "AveragePool", "x", "y");
        int64_t k2[2] = {2, 2};
        kt_ints(t, "kernel_shape", k2, 2);
        kt_ints(t, "strides", s2, 2);
        kt_ints(t, "pads", p1, 4);
        kt_int(t, "count_include_pad", inc);
        kt_ok(t);
        float w0[9] = {0, 1.5f, 3, 6, 7.5f, 9, 12, 13.5f, 15};
        float w1[9] = {0, 0.75f, 0.75f, 3, 7.5f, 4.5f, 3, 6.75f, 3.75f};
        expect_f32(kt_out(t, 0), inc ? w1 : w0, 9, 1e-6f);
        kt_free(t);
    }
    /* MaxPool with dilation 2 (opset 12), kernel 2x2 */
    t = kt_new(12);
    kt_input(t, "x", F32, 4, xd, x);
    kt_node(t, "MaxPool", "x", "y");
    int64_t k2[2] = {2, 2}, d2[2] = {2, 2};
    kt_ints(t, "kernel_shape", k2, 2);
    kt_ints(t, "dilations", d2, 2);
    kt_ok(t);
    float md[4] = {10, 11, 14, 15};
    expect_f32(kt_out(t, 0), md, 4, 0);
    kt_free(t);
    /* global pools */
    t = kt_new(13);
    int64_t gd[4] = {2, 2, 2, 2};
    kt_input(t, "x", F32, 4, gd, x);
    kt_node(t, "GlobalAveragePool", "x", "a");
    kt_node(t, "GlobalMaxPool", "x", "m");
    kt_ok(t);
    float ga[4] = {1.5f, 5.5f, 9.5f, 13.5f}, gm[4] = {3, 7, 11, 15};
    int64_t god[4] = {2, 2, 1, 1};
    expect_dims(kt_out(t, 0), 4, god);
    expect_f32(kt_out(t, 0), ga, 4, 0);
    expect_f32(kt_out(t, 1), gm, 4, 0);
    kt_free(t);
    /* hostile: missing kernel_shape, kernel larger than input */
    t = kt_new(13);
    kt_input(t, "x", F32, 4, xd, x);
    kt_node(t, "MaxPool", "x", "y");
    kt_bad(t, "kernel_shape");
    kt_free(t);
    t = kt_new(13);
    kt_input(t, "x", F32, 4, xd, x);
    kt_node(t, "MaxPool", "x", "y");
    int64_t k9[2] = {9, 9};
    kt_ints(t, "kernel_shape", k9, 2);
    kt_bad(t, "larger than the padded input");
    kt_free(t);
}

/* One MaxPool / AveragePool geometry, 1-D to 3-D. */
typedef struct pool_case {
    int sp;
    int64_t in[3], k[3], s[3], d[3], pb[3], pe[3];
    int ceil_mode, include_pad;
} pool_case;

/* Output size of one axis as the ONNX spec defines it. */
static int64_t pool_out_dim(const pool_case *pc, int i) {
    int64_t eff = (pc->k[i] - 1) * pc->d[i] + 1, span = pc->in[i] + pc->pb[i] + pc->pe[i];
    int64_t o = pc->ceil_mode ? (span - eff + pc->s[i] - 1) / pc->s[i] + 1
                              : (span - eff) / pc->s[i] + 1;
    if (pc->ceil_mode && (o - 1) * pc->s[i] >= pc->in[i] + pc->pb[i]) o--;
    return o;
}

/* Per output, taps in (kd, kh, kw) order: the max (v > acc, from -FLT_MAX;
 * *at, when given, its first position in the plane) or the float sum
 * divided by the taps inside the input (or, include_pad, inside the padded
 * input). */
static float naive_pool_at(const pool_case *pc, const float *x, const int64_t *o, bool max,
                           int64_t *at) {
    float acc = max ? -FLT_MAX : 0.0f;
    int64_t in3[3] = {1, 1, 1}, kk[3] = {1, 1, 1}, st[3] = {1, 1, 1},
            dl[3] = {1, 1, 1}, pb[3] = {0, 0, 0}, pe[3] = {0, 0, 0}, oo[3] = {0, 0, 0};
    for (int i = 0; i < pc->sp; i++) { /* left-pad to 3-D */
        int a = 3 - pc->sp + i;
        in3[a] = pc->in[i], kk[a] = pc->k[i], st[a] = pc->s[i], dl[a] = pc->d[i];
        pb[a] = pc->pb[i], pe[a] = pc->pe[i], oo[a] = o[i];
    }
    int64_t taps[3] = {0, 0, 0}, ptaps[3] = {0, 0, 0};
    for (int a = 0; a < 3; a++)
        for (int64_t t = 0; t < kk[a]; t++) {
            int64_t z = oo[a] * st[a] - pb[a] + t * dl[a];
            taps[a] += z >= 0 && z < in3[a];
            ptaps[a] += z >= -pb[a] && z < in3[a] + pe[a];
        }
    for (int64_t kd = 0; kd < kk[0]; kd++)
        for (int64_t kh = 0; kh < kk[1]; kh++)
            for (int64_t kw = 0; kw < kk[2]; kw++) {
                int64_t zd = oo[0] * st[0] - pb[0] + kd * dl[0];
                int64_t zh = oo[1] * st[1] - pb[1] + kh * dl[1];
                int64_t zw = oo[2] * st[2] - pb[2] + kw * dl[2];
                if (zd < 0 || zd >= in3[0] || zh < 0 || zh >= in3[1] || zw < 0 || zw >= in3[2])
                    continue;
                int64_t e = (zd * in3[1] + zh) * in3[2] + zw;
                if (max && at && x[e] > acc) *at = e;
                acc = max ? (x[e] > acc ? x[e] : acc) : acc + x[e];
            }
    if (max) return acc;
    int64_t count = taps[0] * taps[1] * taps[2], padded = ptaps[0] * ptaps[1] * ptaps[2];
    int64_t div = pc->include_pad ? padded : count;
    return div ? acc / (float)div : 0.0f;
}

/* Runs op on x [2, 3, in...] (with Indices when idx) and checks it
 * bit for bit against naive_pool_at, and the Indices (x holds no NaN and
 * no ties but at x[0], x[1]) too; returns the outputs' element count. */
static int64_t check_pool(const pool_case *pc, const float *x, const char *op, bool idx,
                          int threads, float *y_out) {
    kt *t = kt_new(19);
    t->threads = threads;
    int64_t xd[5] = {2, 3}, yd[5] = {2, 3}, k[3], s[3], d[3], pads[6];
    for (int i = 0; i < pc->sp; i++) {
        xd[2 + i] = pc->in[i];
        yd[2 + i] = pool_out_dim(pc, i);
        k[i] = pc->k[i], s[i] = pc->s[i], d[i] = pc->d[i];
        pads[i] = pc->pb[i], pads[pc->sp + i] = pc->pe[i];
    }
    kt_input(t, "x", F32, 2 + pc->sp, xd, x);
    kt_node(t, op, "x", idx ? "y,i" : "y");
    kt_ints(t, "kernel_shape", k, (size_t)pc->sp);
    kt_ints(t, "strides", s, (size_t)pc->sp);
    kt_ints(t, "dilations", d, (size_t)pc->sp);
    kt_ints(t, "pads", pads, 2 * (size_t)pc->sp);
    kt_int(t, "ceil_mode", pc->ceil_mode);
    if (strcmp(op, "AveragePool") == 0) kt_int(t, "count_include_pad", pc->include_pad);
    kt_ok(t);
    const ecc_rt_tensor *y = kt_out(t, 0);
    expect_dims(y, 2 + pc->sp, yd);
    int64_t plane_in = 1, plane_out = 1, n = ecc_rt_numel(y);
    for (int i = 0; i < pc->sp; i++) plane_in *= pc->in[i], plane_out *= yd[2 + i];
    const float *yv = y->data;
    for (int64_t e = 0; e < n; e++) {
        int64_t p = e / plane_out, r = e % plane_out, o[3];
        for (int i = pc->sp - 1; i >= 0; i--) o[i] = r % yd[2 + i], r /= yd[2 + i];
        int64_t at = -1;
        float want = naive_pool_at(pc, x + p * plane_in, o, op[0] == 'M', &at);
        if (idx) /* a window with no tap in the input reports its plane's first position */
            assert_int_equal(((const int64_t *)kt_out(t, 1)->data)[e],
                             p * plane_in + (at < 0 ? 0 : at));
        if (memcmp(&want, &yv[e], sizeof want) != 0)
            fail_msg("%s sp %d in %lld k %lld s %lld d %lld pads %lld,%lld ceil %d pad %d: "
                     "output %lld is %.9g, want %.9g", op, pc->sp, (long long)pc->in[pc->sp - 1],
                     (long long)pc->k[pc->sp - 1], (long long)pc->s[pc->sp - 1],
                     (long long)pc->d[pc->sp - 1], (long long)pc->pb[pc->sp - 1],
                     (long long)pc->pe[pc->sp - 1], pc->ceil_mode, pc->include_pad,
                     (long long)e, (double)yv[e], (double)want);
    }
    if (y_out) memcpy(y_out, yv, (size_t)n * sizeof *yv);
    kt_free(t);
    return n;
}

/* MaxPool and AveragePool over many geometries (1-D to 3-D, kernel 1-4,
 * stride 1-3, dilation 1-2, pads, ceil_mode, count_include_pad; 1 and 2
 * threads) against a per-output loop, bit for bit: the kernels reduce
 * whole rows of windows at once and must give each output exactly what
 * visiting its taps in order gives. MaxPool without Indices also equals
 * MaxPool with them (a separate per-output path), whose Indices are the
 * first position of each maximum. */
static void test_pools_vs_naive(void **state) {
    (void)state;
    float *x = malloc(2 * 3 * 9 * 9 * 9 * sizeof *x), *a = malloc(2 * 3 * 729 * sizeof *a),
          *b = malloc(2 * 3 * 729 * sizeof *b);
    assert_non_null(x), assert_non_null(a), assert_non_null(b);
    for (int c = 0; c < 600; c++) {
        pool_case pc = {.sp = 1 + c % 3, .ceil_mode = (c / 3) % 2, .include_pad = (c / 6) % 2};
        for (int i = 0; i < pc.sp; i++) {
            pc.k[i] = 1 + (int64_t)((frand() + 1) * 2);   /* 1..4 */
            pc.s[i] = 1 + (int64_t)((frand() + 1) * 1.5); /* 1..3 */
            pc.d[i] = 1 + (frand() > 0.5f);
            int64_t eff = (pc.k[i] - 1) * pc.d[i] + 1;
            pc.pb[i] = (int64_t)((frand() + 1) * 0.5 * (double)eff); /* < eff */
            pc.pe[i] = (int64_t)((frand() + 1) * 0.5 * (double)eff);
            pc.in[i] = 1 + (int64_t)((frand() + 1) * (pc.sp == 3 ? 3 : 4.5));
            if (pc.in[i] + pc.pb[i] + pc.pe[i] < eff) pc.in[i] = eff;
        }
        int64_t nx = 6;
        for (int i = 0; i < pc.sp; i++) nx *= pc.in[i];
        fill(x, nx);
        if (c % 7 == 0) x[0] = -0.0f, x[1] = 0.0f; /* equal values: the first tap wins */
        int threads = 1 + c % 2;
        int64_t n = check_pool(&pc, x, "MaxPool", false, threads, a);
        assert_int_equal(check_pool(&pc, x, "MaxPool", true, threads, b), n);
        assert_memory_equal(a, b, (size_t)n * sizeof *a);
        check_pool(&pc, x, "AveragePool", false, threads, NULL);
    }
    free(x), free(a), free(b);
}

/* ---------------- normalisation ---------------- */

static void test_norms(void **state) {
    (void)state;
    /* BatchNormalization */
    kt *t = kt_new(15);
    float x[8] = {1, 2, 3, 4, 5, 6, 7, 8}, sc[2] = {1, 2}, bi[2] = {0, 1}, mean[2] = {2, 6},
          var[2] = {4, 1};
    int64_t xd[3] = {2, 2, 2}, cd[1] = {2};
    kt_input(t, "x", F32, 3, xd, x);
    kt_const(t, "s", F32, 1, cd, sc);
    kt_const(t, "b", F32, 1, cd, bi);
    kt_const(t, "m", F32, 1, cd, mean);
    kt_const(t, "v", F32, 1, cd, var);
    kt_node(t, "BatchNormalization", "x,s,b,m,v", "y");
    kt_float(t, "epsilon", 0.0f);
    kt_ok(t);
    float bn[8] = {-0.5f, 0, -5, -3, 1.5f, 2, 3, 5};
    expect_f32(kt_out(t, 0), bn, 8, 1e-6f);
    kt_free(t);
    /* LayerNormalization axis -1 with Mean and InvStdDev */
    t = kt_new(17);
    float lx[6] = {1, 2, 3, 2, 4, 9}, ls[3] = {1, 2, 3}, lb[3] = {0.5f, 0, -1};
    int64_t ld[2] = {2, 3}, sd[1] = {3};
    kt_input(t, "x", F32, 2, ld, lx);
    kt_const(t, "s", F32, 1, sd, ls);
    kt_const(t, "b", F32, 1, sd, lb);
    kt_node(t, "LayerNormalization", "x,s,b", "y,mu,inv");
    kt_ok(t);
    float want[6], mu[2], inv[2];
    for (int r = 0; r < 2; r++) {
        double m = (lx[3 * r] + lx[3 * r + 1] + lx[3 * r + 2]) / 3.0, v = 0;
        for (int i = 0; i < 3; i++) v += (lx[3 * r + i] - m) * (lx[3 * r + i] - m) / 3.0;
        mu[r] = (float)m;
        inv[r] = (float)(1 / sqrt(v + 1e-5));
        for (int i = 0; i < 3; i++)
            want[3 * r + i] = (float)((lx[3 * r + i] - m) * inv[r] * ls[i] + lb[i]);
    }
    expect_f32(kt_out(t, 0), want, 6, 1e-5f);
    int64_t md[2] = {2, 1};
    expect_dims(kt_out(t, 1), 2, md);
    expect_f32(kt_out(t, 1), mu, 2, 1e-6f);
    expect_f32(kt_out(t, 2), inv, 2, 1e-5f);
    kt_free(t);
    /* Softmax: opset 11 coerces to 2-D at axis 1, opset 13 works along axis 1 */
    float sx[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    int64_t d3[3] = {2, 2, 2};
    for (int v13 = 0; v13 <= 1; v13++) {
        t = kt_new(v13 ? 13 : 11);
        kt_input(t, "x", F32, 3, d3, sx);
        kt_node(t, "Softmax", "x", "y");
        kt_int(t, "axis", 1);
        kt_node(t, "LogSoftmax", "x", "l");
        kt_int(t, "axis", 1);
        kt_ok(t);
        float w[8], lw[8];
        for (int n = 0; n < 2; n++) {
            if (!v13) { /* one softmax over the 4 values of each n */
                double s = 0;
                for (int i = 0; i < 4; i++) s += exp(sx[4 * n + i]);
                for (int i = 0; i < 4; i++) {
                    w[4 * n + i] = (float)(exp(sx[4 * n + i]) / s);
                    lw[4 * n + i] = (float)(sx[4 * n + i] - log(s));
                }
            } else { /* over axis 1 (pairs 2 apart) */
                for (int j = 0; j < 2; j++) {
                    double a = sx[4 * n + j], b = sx[4 * n + 2 + j], s = exp(a) + exp(b);
                    w[4 * n + j] = (float)(exp(a) / s);
                    w[4 * n + 2 + j] = (float)(exp(b) / s);
                    lw[4 * n + j] = (float)(a - log(s));
                    lw[4 * n + 2 + j] = (float)(b - log(s));
                }
            }
        }
        expect_f32(kt_out(t, 0), w, 8, 1e-6f);
        expect_f32(kt_out(t, 1), lw, 8, 1e-6f);
        kt_free(t);
    }
    t = kt_new(13);
    kt_input(t, "x", F32, 3, d3, sx);
    kt_node(t, "Softmax", "x", "y");
    kt_int(t, "axis", 3);
    kt_bad(t, "axis 3 out of range");
    kt_free(t);
}

/* ---------------- reductions ---------------- */

static void test_reduce(void **state) {
    (void)state;
    float x[12];
    for (int i = 0; i < 12; i++) x[i] = (float)i;
    int64_t xd[3] = {2, 3, 2};
    /* opset 13: ReduceMean axes attr; ReduceSum axes input */
    kt *t = kt_new(13);
    int64_t ax[2] = {0, 2}, one[1] = {1}, two[1] = {2};
    kt_input(t, "x", F32, 3, xd, x);
    kt_node(t, "ReduceMean", "x", "m");
    kt_ints(t, "axes", ax, 2);
    kt_int(t, "keepdims", 0);
    int64_t a1[1] = {1};
    kt_const(t, "axes", I64, 1, one, a1);
    kt_node(t, "ReduceSum", "x,axes", "s");
    kt_node(t, "ReduceMax", "x", "mx"); /* all axes */
    kt_ok(t);
    float m[3] = {3.5f, 5.5f, 7.5f};
    int64_t md[1] = {3};
    expect_dims(kt_out(t, 0), 1, md);
    expect_f32(kt_out(t, 0), m, 3, 1e-6f);
    float s[4] = {6, 9, 24, 27};
    int64_t sd[3] = {2, 1, 2};
    expect_dims(kt_out(t, 1), 3, sd);
    expect_f32(kt_out(t, 1), s, 4, 0);
    float mx[1] = {11};
    int64_t mxd[3] = {1, 1, 1};
    expect_dims(kt_out(t, 2), 3, mxd);
    expect_f32(kt_out(t, 2), mx, 1, 0);
    kt_free(t);
    /* opset 18: axes input on ReduceMean; noop_with_empty_axes */
    t = kt_new(18);
    int64_t neg[1] = {-1};
    kt_input(t, "x", F32, 3, xd, x);
    kt_const(t, "axes", I64, 1, one, neg);
    kt_node(t, "ReduceMean", "x,axes", "m");
    kt_node(t, "ReduceMin", "x", "n");
    kt_int(t, "noop_with_empty_axes", 1);
    kt_ok(t);
    float m2[6] = {0.5f, 2.5f, 4.5f, 6.5f, 8.5f, 10.5f};
    expect_f32(kt_out(t, 0), m2, 6, 0);
    expect_f32(kt_out(t, 1), x, 12, 0);
    kt_free(t);
    /* duplicate / out-of-range axes */
    t = kt_new(13);
    int64_t dup[2] = {1, -2};
    kt_input(t, "x", F32, 3, xd, x);
    kt_node(t, "ReduceMean", "x", "m");
    kt_ints(t, "axes", dup, 2);
    kt_bad(t, "twice");
    kt_free(t);
    t = kt_new(13);
    kt_input(t, "x", F32, 3, xd, x);
    kt_node(t, "ReduceMean", "x", "m");
    kt_ints(t, "axes", two, 1);
    two[0] = 3;
    kt_ints(t, "axes", two, 1);
    kt_bad(t, "out of range");
    kt_free(t);
}

/* ---------------- shapes and data movement ---------------- */

static void test_reshape_family(void **state) {
    (void)state;
    float x[24];
    fill(x, 24);
    int64_t xd[3] = {2, 3, 4};
    kt *t = kt_new(14);
    int64_t sh[3] = {0, -1, 2}, shd[1] = {3};
    kt_input(t, "x", F32, 3, xd, x);
    kt_const(t, "shape", I64, 1, shd, sh);
    kt_node(t, "Reshape", "x,shape", "r");
    kt_node(t, "Flatten", "x", "f");
    kt_int(t, "axis", 0);
    kt_node(t, "Transpose", "x", "tr");
    int64_t perm[3] = {2, 0, 1};
    kt_ints(t, "perm", perm, 3);
    kt_ok(t);
    int64_t rd[3] = {2, 6, 2}, fd[2] = {1, 24}, td[3] = {4, 2, 3};
    expect_dims(kt_out(t, 0), 3, rd);
    expect_f32(kt_out(t, 0), x, 24, 0);
    expect_dims(kt_out(t, 1), 2, fd);
    expect_dims(kt_out(t, 2), 3, td);
    const float *tr = kt_out(t, 2)->data;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            for (int l = 0; l < 4; l++)
                assert_true(tr[(l * 2 + i) * 3 + j] == x[(i * 3 + j) * 4 + l]);
    kt_free(t);
    /* allowzero: a 0 in shape means 0 */
    t = kt_new(14);
    int64_t z[2] = {0, 5}, zd[1] = {2}, ed[2] = {0, 3};
    kt_input(t, "x", F32, 2, ed, x);
    kt_const(t, "shape", I64, 1, zd, z);
    kt_node(t, "Reshape", "x,shape", "r");
    kt_int(t, "allowzero", 1);
    kt_ok(t);
    int64_t rz[2] = {0, 5};
    expect_dims(kt_out(t, 0), 2, rz);
    kt_free(t);
    /* hostile reshapes */
    const int64_t bad[][3] = {{-1, -1, 2}, {7, -1, 0}, {-2, 3, 4}, {(int64_t)1 << 62, 4, 1}};
    const char *needles[] = {"more than one -1", "cannot infer", "invalid", "overflow"};
    for (int i = 0; i < 4; i++) {
        t = kt_new(14);
        kt_input(t, "x", F32, 3, xd, x);
        kt_const(t, "shape", I64, 1, shd, bad[i]);
        kt_node(t, "Reshape", "x,shape", "r");
        kt_bad(t, needles[i]);
        kt_free(t);
    }
    /* Squeeze / Unsqueeze: attribute (11) and input (13) */
    for (int v13 = 0; v13 <= 1; v13++) {
        t = kt_new(v13 ? 13 : 11);
        int64_t sd[4] = {1, 3, 1, 2}, sax[1] = {2}, uax[2] = {0, -1}, ad1[1] = {1}, ad2[1] = {2};
        kt_input(t, "x", F32, 4, sd, x);
        if (v13) {
            kt_const(t, "sa", I64, 1, ad1, sax);
            kt_const(t, "ua", I64, 1, ad2, uax);
        }
        kt_node(t, "Squeeze", v13 ? "x,sa" : "x", "s");
        if (!v13) kt_ints(t, "axes", sax, 1);
        kt_node(t, "Unsqueeze", v13 ? "x,ua" : "x", "u");
        if (!v13) kt_ints(t, "axes", uax, 2);
        kt_node(t, "Squeeze", "x", "all");
        kt_ok(t);
        int64_t s3[3] = {1, 3, 2}, u6[6] = {1, 1, 3, 1, 2, 1}, a2[2] = {3, 2};
        expect_dims(kt_out(t, 0), 3, s3);
        expect_dims(kt_out(t, 1), 6, u6);
        expect_dims(kt_out(t, 2), 2, a2);
        kt_free(t);
    }
    t = kt_new(13);
    int64_t d7[7] = {1, 1, 1, 1, 1, 1, 1}, u3[3] = {0, 1, 2}, u3d[1] = {3};
    kt_input(t, "x", F32, 7, d7, x);
    kt_const(t, "a", I64, 1, u3d, u3);
    kt_node(t, "Unsqueeze", "x,a", "u");
    kt_bad(t, "exceeds");
    kt_free(t);
    t = kt_new(13);
    int64_t bp[3] = {0, 0, 1};
    kt_input(t, "x", F32, 3, xd, x);
    kt_node(t, "Transpose", "x", "y");
    kt_ints(t, "perm", bp, 3);
    kt_bad(t, "permutation");
    kt_free(t);
}

static void test_concat_split_slice(void **state) {
    (void)state;
    float a[6] = {1, 2, 3, 4, 5, 6}, b[4] = {7, 8, 9, 10};
    int64_t ad[2] = {2, 3}, bd[2] = {2, 2};
    kt *t = kt_new(18);
    kt_input(t, "a", F32, 2, ad, a);
    kt_input(t, "b", F32, 2, bd, b);
    kt_node(t, "Concat", "a,b", "c");
    kt_int(t, "axis", -1);
    kt_node(t, "Split", "c", "s0,s1,s2");
    kt_int(t, "axis", 1);
    kt_int(t, "num_outputs", 3); /* 5 → 2, 2, 1 */
    kt_ok(t);
    float c[10] = {1, 2, 3, 7, 8, 4, 5, 6, 9, 10};
    expect_f32(kt_out(t, 0), c, 10, 0);
    float s0[4] = {1, 2, 4, 5}, s1[4] = {3, 7, 6, 9}, s2[2] = {8, 10};
    expect_f32(kt_out(t, 1), s0, 4, 0);
    expect_f32(kt_out(t, 2), s1, 4, 0);
    expect_f32(kt_out(t, 3), s2, 2, 0);
    kt_free(t);
    /* Split sizes: attribute (11) and input (13); a bad sum */
    for (int v13 = 0; v13 <= 1; v13++) {
        t = kt_new(v13 ? 13 : 11);
        int64_t sp[2] = {1, 2}, spd[1] = {2};
        kt_input(t, "a", F32, 2, ad, a);
        if (v13) kt_const(t, "sp", I64, 1, spd, sp);
        kt_node(t, "Split", v13 ? "a,sp" : "a", "x,y");
        kt_int(t, "axis", 1);
        if (!v13) kt_ints(t, "split", sp, 2);
        kt_ok(t);
        float x1[2] = {1, 4}, y1[4] = {2, 3, 5, 6};
        expect_f32(kt_out(t, 0), x1, 2, 0);
        expect_f32(kt_out(t, 1), y1, 4, 0);
        kt_free(t);
    }
    t = kt_new(11);
    int64_t sp[2] = {1, 1};
    kt_input(t, "a", F32, 2, ad, a);
    kt_node(t, "Split", "a", "x,y");
    kt_int(t, "axis", 1);
    kt_ints(t, "split", sp, 2);
    kt_bad(t, "add up");
    kt_free(t);
    /* Slice: negative step, clamping, INT64 extremes, axes */
    float v[20];
    for (int i = 0; i < 20; i++) v[i] = (float)i;
    int64_t vd[2] = {4, 5};
    t = kt_new(13);
    int64_t st[2] = {-1, INT64_MAX}, en[2] = {INT64_MIN, 1}, axs[2] = {1, 0}, stp[2] = {-2, -1},
            d2[1] = {2};
    kt_input(t, "v", F32, 2, vd, v);
    kt_const(t, "st", I64, 1, d2, st);
    kt_const(t, "en", I64, 1, d2, en);
    kt_const(t, "ax", I64, 1, d2, axs);
    kt_const(t, "sp", I64, 1, d2, stp);
    kt_node(t, "Slice", "v,st,en,ax,sp", "y");
    kt_ok(t);
    /* rows 3, 2 (start clamps to 3, end 1 exclusive); cols 4, 2, 0 */
    float w[6] = {19, 17, 15, 14, 12, 10};
    int64_t wd[2] = {2, 3};
    expect_dims(kt_out(t, 0), 2, wd);
    expect_f32(kt_out(t, 0), w, 6, 0);
    kt_free(t);
    /* opset 9 attribute form; empty result */
    t = kt_new(9);
    int64_t s9[1] = {1}, e9[1] = {1000}, a9[1] = {0};
    kt_input(t, "v", F32, 2, vd, v);
    kt_node(t, "Slice", "v", "y");
    kt_ints(t, "starts", s9, 1);
    kt_ints(t, "ends", e9, 1);
    kt_ints(t, "axes", a9, 1);
    kt_node(t, "Slice", "v", "empty");
    kt_ints(t, "starts", e9, 1);
    kt_ints(t, "ends", s9, 1);
    kt_ok(t);
    expect_f32(kt_out(t, 0), v + 5, 15, 0);
    assert_int_equal(ecc_rt_numel(kt_out(t, 1)), 0);
    kt_free(t);
    t = kt_new(13);
    int64_t z[1] = {0}, o1[1] = {1};
    kt_input(t, "v", F32, 2, vd, v);
    kt_const(t, "st", I64, 1, o1, z);
    kt_const(t, "en", I64, 1, o1, o1);
    kt_const(t, "ax", I64, 1, o1, z);
    kt_const(t, "sp", I64, 1, o1, z);
    kt_node(t, "Slice", "v,st,en,ax,sp", "y");
    kt_bad(t, "step");
    kt_free(t);
}

static void test_gather_shape_cast(void **state) {
    (void)state;
    float x[6] = {1, 2, 3, 4, 5, 6};
    int64_t xd[2] = {3, 2};
    kt *t = kt_new(15);
    int64_t idx[3] = {2, -3, 1}, id[1] = {3};
    kt_input(t, "x", F32, 2, xd, x);
    kt_const(t, "i", I64, 1, id, idx);
    kt_node(t, "Gather", "x,i", "g");
    kt_node(t, "Shape", "x", "s");
    kt_node(t, "Shape", "x", "s1");
    kt_int(t, "start", -1);
    kt_node(t, "Cast", "x", "c");
    kt_int(t, "to", ECC_DTYPE_INT32);
    kt_node(t, "Size", "x", "n");
    kt_ok(t);
    float g[6] = {5, 6, 1, 2, 3, 4};
    expect_f32(kt_out(t, 0), g, 6, 0);
    int64_t s[2] = {3, 2}, s1[1] = {2}, n[1] = {6};
    expect_i64(kt_out(t, 1), s, 2);
    expect_i64(kt_out(t, 2), s1, 1);
    assert_int_equal(kt_out(t, 3)->dtype, I32);
    assert_int_equal(((const int32_t *)kt_out(t, 3)->data)[5], 6);
    expect_i64(kt_out(t, 4), n, 1);
    kt_free(t);
    t = kt_new(13);
    int64_t bad[1] = {3}, bd[1] = {1};
    kt_input(t, "x", F32, 2, xd, x);
    kt_const(t, "i", I64, 1, bd, bad);
    kt_node(t, "Gather", "x,i", "g");
    kt_bad(t, "out of range");
    kt_free(t);
    /* Cast: truncation, saturation, float16 round trip, bool */
    float c[6] = {-1.7f, 2.5f, 300.0f, -300.0f, NAN, 0.0f};
    int64_t cd[1] = {6};
    t = kt_new(13);
    kt_input(t, "c", F32, 1, cd, c);
    kt_node(t, "Cast", "c", "i8");
    kt_int(t, "to", I8);
    kt_node(t, "Cast", "c", "h");
    kt_int(t, "to", ECC_DTYPE_FLOAT16);
    kt_node(t, "Cast", "h", "back");
    kt_int(t, "to", F32);
    kt_node(t, "Cast", "c", "b");
    kt_int(t, "to", B8);
    kt_ok(t);
    const int8_t *i8 = kt_out(t, 0)->data;
    assert_int_equal(i8[0], -1);
    assert_int_equal(i8[1], 2);
    assert_int_equal(i8[2], 127);
    assert_int_equal(i8[3], -128);
    assert_int_equal(i8[4], 0);
    float back[6] = {-1.7001953f, 2.5f, 300.0f, -300.0f, NAN, 0};
    expect_f32(kt_out(t, 2), back, 6, 0);
    uint8_t bw[6] = {1, 1, 1, 1, 1, 0};
    expect_u8(kt_out(t, 3), B8, bw, 6);
    kt_free(t);
    t = kt_new(13);
    kt_input(t, "c", F32, 1, cd, c);
    kt_node(t, "Cast", "c", "s");
    kt_int(t, "to", ECC_DTYPE_STRING);
    kt_bad(t, "not supported");
    kt_free(t);
}

static void test_constants_expand_pad(void **state) {
    (void)state;
    kt *t = kt_new(13);
    ecc_tensor *tv = NULL;
    int64_t vd[1] = {2};
    assert_int_equal(ecc_tensor_create(t->ctx, I64, 1, vd, &tv), ECC_OK);
    ((int64_t *)tv->data)[0] = 3;
    ((int64_t *)tv->data)[1] = 2;
    kt_node(t, "Constant", "", "shape");
    ecc_attr a = {.name = "value", .type = ECC_ATTR_TENSOR, .t = tv};
    assert_int_equal(ecc_node_set_attr(t->ctx, t->last, &a), ECC_OK);
    ecc_tensor_unref(tv);
    kt_node(t, "ConstantOfShape", "shape", "cos");
    kt_node(t, "Constant", "", "fl");
    float fls[3] = {1.5f, 2.5f, 3.5f};
    ecc_attr af = {.name = "value_floats", .type = ECC_ATTR_FLOATS, .floats = fls, .n = 3};
    assert_int_equal(ecc_node_set_attr(t->ctx, t->last, &af), ECC_OK);
    kt_node(t, "Constant", "", "iv");
    kt_int(t, "value_int", 7);
    kt_node(t, "Expand", "fl,shape", "ex"); /* [3] with [3,2]: last dims 3 vs 2 → error? */
    t->last = NULL;
    ecc_status st = kt_run(t);
    assert_int_equal(st, ECC_E_INPUT); /* [3] cannot broadcast to [3,2] */
    assert_non_null(strstr(ecc_ctx_message(t->ctx), "Expand"));
    kt_free(t);

    t = kt_new(13);
    float x[2] = {1, 2};
    int64_t xd[2] = {2, 1}, sh[3] = {2, 2, 3}, shd[1] = {3};
    kt_input(t, "x", F32, 2, xd, x);
    kt_const(t, "shape", I64, 1, shd, sh);
    kt_node(t, "Expand", "x,shape", "e");
    kt_node(t, "ConstantOfShape", "shape", "z");
    ecc_tensor *one = NULL;
    int64_t od[1] = {1};
    assert_int_equal(ecc_tensor_create(t->ctx, I32, 1, od, &one), ECC_OK);
    ((int32_t *)one->data)[0] = -4;
    ecc_attr ao = {.name = "value", .type = ECC_ATTR_TENSOR, .t = one};
    assert_int_equal(ecc_node_set_attr(t->ctx, t->last, &ao), ECC_OK);
    ecc_tensor_unref(one);
    kt_ok(t);
    float e[12] = {1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2};
    expect_f32(kt_out(t, 0), e, 12, 0);
    assert_int_equal(kt_out(t, 1)->dtype, I32);
    assert_int_equal(((const int32_t *)kt_out(t, 1)->data)[11], -4);
    kt_free(t);
    /* absurd ConstantOfShape / Expand shapes */
    const int64_t absurd[3] = {1000000, 1000000, 1000000};
    t = kt_new(13);
    kt_const(t, "shape", I64, 1, shd, absurd);
    kt_node(t, "ConstantOfShape", "shape", "z");
    kt_bad(t, "too large");
    kt_free(t);
    t = kt_new(13);
    const int64_t negs[3] = {2, -5, 1};
    kt_input(t, "x", F32, 2, xd, x);
    kt_const(t, "shape", I64, 1, shd, negs);
    kt_node(t, "Expand", "x,shape", "e");
    kt_bad(t, "negative");
    kt_free(t);

    /* Pad: constant / reflect / edge (opset 13 inputs), attribute form (opset 2) */
    float p[6] = {1, 2, 3, 4, 5, 6};
    int64_t pd[2] = {2, 3}, pads[4] = {1, 2, 0, 1}, pdd[1] = {4};
    const char *modes[3] = {"constant", "reflect", "edge"};
    float want[3][4 * 6] = {
        {9, 9, 9, 9, 9, 9, 9, 9, 1, 2, 3, 9, 9, 9, 4, 5, 6, 9},
        {6, 5, 4, 5, 6, 5, 3, 2, 1, 2, 3, 2, 6, 5, 4, 5, 6, 5},
        {1, 1, 1, 2, 3, 3, 1, 1, 1, 2, 3, 3, 4, 4, 4, 5, 6, 6},
    };
    for (int m = 0; m < 3; m++) {
        t = kt_new(13);
        float cv = 9;
        kt_input(t, "x", F32, 2, pd, p);
        kt_const(t, "pads", I64, 1, pdd, pads);
        kt_const(t, "cv", F32, 0, NULL, &cv);
        kt_node(t, "Pad", "x,pads,cv", "y");
        kt_str(t, "mode", modes[m]);
        kt_ok(t);
        int64_t yd[2] = {3, 6};
        expect_dims(kt_out(t, 0), 2, yd);
        expect_f32(kt_out(t, 0), want[m], 18, 0);
        kt_free(t);
    }
    t = kt_new(2);
    int64_t crop[4] = {0, -1, 0, 0};
    kt_input(t, "x", F32, 2, pd, p);
    kt_node(t, "Pad", "x", "y");
    kt_ints(t, "pads", crop, 4);
    kt_ok(t);
    float cr[4] = {2, 3, 5, 6};
    expect_f32(kt_out(t, 0), cr, 4, 0);
    kt_free(t);
    t = kt_new(13);
    int64_t neg[4] = {0, -4, 0, 0};
    kt_input(t, "x", F32, 2, pd, p);
    kt_const(t, "pads", I64, 1, pdd, neg);
    kt_node(t, "Pad", "x,pads", "y");
    kt_bad(t, "negative size");
    kt_free(t);
}

static void test_resize(void **state) {
    (void)state;
    float x[4] = {1, 2, 3, 4};
    int64_t xd[4] = {1, 1, 2, 2}, sd[1] = {4};
    float sc[4] = {1, 1, 2, 2};
    /* nearest, asymmetric + floor: plain repetition */
    kt *t = kt_new(13);
    kt_input(t, "x", F32, 4, xd, x);
    kt_const(t, "scales", F32, 1, sd, sc);
    kt_node(t, "Resize", "x,,scales", "y");
    kt_str(t, "coordinate_transformation_mode", "asymmetric");
    kt_str(t, "nearest_mode", "floor");
    kt_ok(t);
    float nn[16] = {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4};
    expect_f32(kt_out(t, 0), nn, 16, 0);
    kt_free(t);
    /* linear, half_pixel (the ONNX example values) */
    t = kt_new(13);
    kt_input(t, "x", F32, 4, xd, x);
    kt_const(t, "scales", F32, 1, sd, sc);
    kt_node(t, "Resize", "x,,scales", "y");
    kt_str(t, "mode", "linear");
    kt_ok(t);
    float lin[16] = {1, 1.25f, 1.75f, 2, 1.5f, 1.75f, 2.25f, 2.5f,
                     2.5f, 2.75f, 3.25f, 3.5f, 3, 3.25f, 3.75f, 4};
    expect_f32(kt_out(t, 0), lin, 16, 1e-6f);
    kt_free(t);
    /* sizes, align_corners, linear, 1 x 3 */
    t = kt_new(13);
    int64_t sizes[4] = {1, 1, 1, 3};
    kt_input(t, "x", F32, 4, xd, x);
    kt_const(t, "sizes", I64, 1, sd, sizes);
    kt_node(t, "Resize", "x,,,sizes", "y");
    kt_str(t, "mode", "linear");
    kt_str(t, "coordinate_transformation_mode", "align_corners");
    kt_ok(t);
    float ac[3] = {1, 1.5f, 2};
    expect_f32(kt_out(t, 0), ac, 3, 1e-6f);
    kt_free(t);
    /* cubic: weights sum to one, so a constant stays constant; with
     * exclude_outside too */
    for (int ex = 0; ex <= 1; ex++) {
        float cst[12];
        for (int i = 0; i < 12; i++) cst[i] = 2.5f;
        int64_t cd[4] = {1, 1, 3, 4};
        float cs[4] = {1, 1, 1.7f, 0.6f};
        t = kt_new(13);
        kt_input(t, "x", F32, 4, cd, cst);
        kt_const(t, "scales", F32, 1, sd, cs);
        kt_node(t, "Resize", "x,,scales", "y");
        kt_str(t, "mode", "cubic");
        kt_int(t, "exclude_outside", ex);
        kt_ok(t);
        int64_t od[4] = {1, 1, 5, 2};
        expect_dims(kt_out(t, 0), 4, od);
        float w[10];
        for (int i = 0; i < 10; i++) w[i] = 2.5f;
        expect_f32(kt_out(t, 0), w, 10, 1e-6f);
        kt_free(t);
    }
    /* hostile: zero and absurd scales, both scales and sizes */
    float bad[2][4] = {{1, 1, 0, 1}, {1, 1, 1e13f, 1}};
    for (int i = 0; i < 2; i++) {
        t = kt_new(13);
        kt_input(t, "x", F32, 4, xd, x);
        kt_const(t, "scales", F32, 1, sd, bad[i]);
        kt_node(t, "Resize", "x,,scales", "y");
        kt_bad(t, "scale");
        kt_free(t);
    }
    t = kt_new(13);
    kt_input(t, "x", F32, 4, xd, x);
    kt_const(t, "scales", F32, 1, sd, sc);
    kt_const(t, "sizes", I64, 1, sd, sizes);
    kt_node(t, "Resize", "x,,scales,sizes", "y");
    kt_bad(t, "exactly one");
    kt_free(t);
}

static void test_misc_ops(void **state) {
    (void)state;
    float x[6] = {3, 1, 2, 6, 5, 4};
    int64_t xd[2] = {2, 3}, rep[2] = {2, 1}, rd[1] = {2};
    int64_t gi[4] = {2, 0, 1, 1}, gid[2] = {2, 2};
    kt *t = kt_new(13);
    kt_input(t, "x", F32, 2, xd, x);
    kt_const(t, "rep", I64, 1, rd, rep);
    kt_const(t, "gi", I64, 2, gid, gi);
    kt_node(t, "Tile", "x,rep", "tile");
    kt_node(t, "ArgMax", "x", "am");
    kt_int(t, "axis", 1);
    kt_int(t, "keepdims", 0);
    kt_node(t, "GatherElements", "x,gi", "ge");
    kt_int(t, "axis", 1);
    kt_node(t, "CastLike", "x,gi", "cl");
    kt_ok(t);
    float tile[12] = {3, 1, 2, 6, 5, 4, 3, 1, 2, 6, 5, 4};
    expect_f32(kt_out(t, 0), tile, 12, 0);
    int64_t am[2] = {0, 0};
    expect_i64(kt_out(t, 1), am, 2);
    float ge[4] = {2, 3, 5, 5};
    expect_f32(kt_out(t, 2), ge, 4, 0);
    int64_t cl[6] = {3, 1, 2, 6, 5, 4};
    expect_i64(kt_out(t, 3), cl, 6);
    kt_free(t);
    /* Range (int64 and float), InstanceNormalization */
    t = kt_new(13);
    int64_t r0 = 10, r1 = 1, r2 = -3;
    float f0 = 0, f1 = 1, f2 = 0.25f;
    kt_const(t, "a", I64, 0, NULL, &r0);
    kt_const(t, "b", I64, 0, NULL, &r1);
    kt_const(t, "c", I64, 0, NULL, &r2);
    kt_const(t, "fa", F32, 0, NULL, &f0);
    kt_const(t, "fb", F32, 0, NULL, &f1);
    kt_const(t, "fc", F32, 0, NULL, &f2);
    kt_node(t, "Range", "a,b,c", "ri");
    kt_node(t, "Range", "fa,fb,fc", "rf");
    float in_x[8] = {1, 2, 3, 4, 10, 10, 10, 10}, sc[2] = {1, 2}, bi[2] = {0, 1};
    int64_t ind[3] = {1, 2, 4}, cd[1] = {2};
    kt_input(t, "ix", F32, 3, ind, in_x);
    kt_const(t, "s", F32, 1, cd, sc);
    kt_const(t, "bi", F32, 1, cd, bi);
    kt_node(t, "InstanceNormalization", "ix,s,bi", "inorm");
    kt_float(t, "epsilon", 1e-6f);
    kt_ok(t);
    int64_t ri[3] = {10, 7, 4};
    expect_i64(kt_out(t, 0), ri, 3);
    float rf[4] = {0, 0.25f, 0.5f, 0.75f};
    expect_f32(kt_out(t, 1), rf, 4, 0);
    float sd = sqrtf(1.25f + 1e-6f);
    float inw[8] = {-1.5f / sd, -0.5f / sd, 0.5f / sd, 1.5f / sd, 1, 1, 1, 1};
    expect_f32(kt_out(t, 2), inw, 8, 1e-6f);
    kt_free(t);
    /* hostile: axis out of range, absurd Tile / Range */
    struct {
        const char *op, *ins;
        const char *needle;
    } bad[] = {{"Concat", "x,x", "axis"}, {"Gather", "x,gi", "axis"}, {"Split", "x", "axis"},
               {"Flatten", "x", "axis"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        t = kt_new(13);
        kt_input(t, "x", F32, 2, xd, x);
        kt_const(t, "gi", I64, 2, gid, gi);
        kt_node(t, bad[i].op, bad[i].ins, bad[i].op[0] == 'S' ? "a,b" : "y");
        kt_int(t, "axis", 5);
        kt_bad(t, bad[i].needle);
        kt_free(t);
    }
    t = kt_new(13);
    int64_t huge[2] = {(int64_t)1 << 40, (int64_t)1 << 40};
    kt_input(t, "x", F32, 2, xd, x);
    kt_const(t, "rep", I64, 1, rd, huge);
    kt_node(t, "Tile", "x,rep", "y");
    kt_bad(t, NULL);
    kt_free(t);
    t = kt_new(13);
    int64_t big = INT64_MAX, zero = 0, one = 1;
    kt_const(t, "a", I64, 0, NULL, &zero);
    kt_const(t, "b", I64, 0, NULL, &big);
    kt_const(t, "c", I64, 0, NULL, &one);
    kt_node(t, "Range", "a,b,c", "y");
    kt_bad(t, "too large");
    kt_free(t);
}

/* ---------------- quantization ---------------- */

static void test_quantize_rounding(void **state) {
    (void)state;
    /* x / 1 = ties: round half to even; then + zero point; saturation */
    float x[10] = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 126.5f, 1000, -1000, 3.49f};
    int64_t xd[1] = {10};
    float one = 1.0f;
    int8_t zp = 0;
    uint8_t uzp = 10;
    kt *t = kt_new(13);
    kt_input(t, "x", F32, 1, xd, x);
    kt_const(t, "s", F32, 0, NULL, &one);
    kt_const(t, "zi", I8, 0, NULL, &zp);
    kt_const(t, "zu", U8, 0, NULL, &uzp);
    kt_node(t, "QuantizeLinear", "x,s,zi", "qi");
    kt_node(t, "QuantizeLinear", "x,s,zu", "qu");
    kt_node(t, "QuantizeLinear", "x,s", "qd"); /* default uint8, zero point 0 */
    kt_ok(t);
    int8_t wi[10] = {0, 2, 2, 0, -2, -2, 126, 127, -128, 3};
    uint8_t wu[10] = {10, 12, 12, 10, 8, 8, 136, 255, 0, 13};
    uint8_t wd[10] = {0, 2, 2, 0, 0, 0, 126, 255, 0, 3};
    expect_u8(kt_out(t, 0), I8, (const uint8_t *)wi, 10);
    expect_u8(kt_out(t, 1), U8, wu, 10);
    expect_u8(kt_out(t, 2), U8, wd, 10);
    kt_free(t);
}

/* Per-tensor Q and DQ over a tensor large enough to be split across the
 * pool (odd length, so a packed int4 pair straddles no split), against a
 * reference written from the spec: rint (ties to even), + zero point,
 * saturate, NaN to the zero point. Many exact ties, both infinities. */
static int32_t q_reference(float x, float s, int32_t z, int32_t lo, int32_t hi) {
    float v = x / s;
    if (isnan(v)) return z;
    double r = (double)rintf(v) + z;
    return (int32_t)(r < lo ? lo : r > hi ? hi : r);
}

static void test_quantize_parallel(void **state) {
    (void)state;
    enum { N = 40001 };
    float *x = malloc(N * sizeof *x);
    for (int i = 0; i < N; i++) x[i] = (float)((i % 1000) - 500) * 0.25f;
    x[7] = NAN, x[11] = INFINITY, x[13] = -INFINITY, x[17] = 1e30f, x[19] = -0.0f;
    float s = 0.5f;
    int8_t zi = 3;
    uint8_t zu = 128, z4 = 0x0E; /* int4 zero point -2 */
    int64_t xd[1] = {N};
    struct { const char *q, *z; int32_t dt, lo, hi, zp; } c[3] = {
        {"qi", "zi", I8, -128, 127, 3}, {"qu", "zu", U8, 0, 255, 128},
        {"q4", "z4", ECC_DTYPE_INT4, -8, 7, -2}};
    for (int threads = 1; threads <= 2; threads++) {
        kt *t = kt_new(21);
        t->threads = threads;
        kt_input(t, "x", F32, 1, xd, x);
        kt_const(t, "s", F32, 0, NULL, &s);
        kt_const(t, "zi", I8, 0, NULL, &zi);
        kt_const(t, "zu", U8, 0, NULL, &zu);
        kt_const(t, "z4", ECC_DTYPE_INT4, 0, NULL, &z4);
        for (int k = 0; k < 3; k++) {
            char in[32], dq[16];
            snprintf(in, sizeof in, "x,s,%s", c[k].z);
            kt_node(t, "QuantizeLinear", in, c[k].q);
            snprintf(in, sizeof in, "%s,s,%s", c[k].q, c[k].z);
            snprintf(dq, sizeof dq, "d%d", k);
            kt_node(t, "DequantizeLinear", in, dq);
        }
        kt_ok(t);
        for (int k = 0; k < 3; k++) {
            const ecc_rt_tensor *q = kt_out(t, (size_t)(2 * k)), *d = kt_out(t, (size_t)(2 * k + 1));
            assert_int_equal(q->dtype, c[k].dt);
            for (int i = 0; i < N; i++) {
                int32_t want = q_reference(x[i], s, c[k].zp, c[k].lo, c[k].hi);
                int32_t got = ecc_q_get(q->data, c[k].dt, i);
                if (got != want)
                    fail_msg("%s[%d]: x=%g got %d want %d (threads %d)", c[k].q, i, (double)x[i],
                             got, want, threads);
                assert_true(((const float *)d->data)[i] == (float)(want - c[k].zp) * s);
            }
        }
        kt_free(t);
    }
    free(x);
}

/* Nodes that read only initializers run once at create (no observer):
 * a weight's DequantizeLinear, a Reshape of an initializer. The results
 * equal those of the same graph run node by node (an observer turns the
 * folding off and must see the DequantizeLinear's output on each run), over
 * two runs and on 1 and 2 threads; a node whose folding fails still fails
 * in its run, naming itself. */
static int count_dq(void *user, const ecc_node *node, uint32_t slot, const ecc_value *v,
                    const ecc_rt_tensor *t) {
    (void)slot, (void)v, (void)t;
    if (node && strcmp(node->op_type, "DequantizeLinear") == 0) ++*(int *)user;
    return 0;
}

static kt *fold_graph(int threads, int *dq_seen) {
    static const int8_t w[12] = {1, -2, 3, -4, 5, -6, 7, -8, 9, -10, 11, -127};
    static const float s[3] = {0.5f, 0.25f, 0.125f}, x[8] = {1, 2, 3, 4, -1, 0.5f, 2, -3};
    static const int64_t shape[2] = {3, 4};
    int64_t wd[2] = {4, 3}, sd[1] = {3}, xd[2] = {2, 4}, shd[1] = {2};
    kt *t = kt_new(13);
    t->threads = threads;
    if (dq_seen) {
        t->observe = count_dq;
        t->observe_user = dq_seen;
    }
    kt_input(t, "x", F32, 2, xd, x);
    kt_const(t, "w", I8, 2, wd, w);
    kt_const(t, "s", F32, 1, sd, s);
    kt_const(t, "shape", ECC_DTYPE_INT64, 1, shd, shape);
    kt_node(t, "DequantizeLinear", "w,s", "wf");
    kt_int(t, "axis", 1);
    kt_node(t, "MatMul", "x,wf", "y");
    kt_node(t, "Reshape", "wf,shape", "r");
    return t;
}

static void test_fold_constants(void **state) {
    (void)state;
    for (int threads = 1; threads <= 2; threads++) {
        int dq_seen = 0;
        kt *plain = fold_graph(threads, &dq_seen), *folded = fold_graph(threads, NULL);
        for (int run = 0; run < 2; run++) {
            kt_ok(plain);
            kt_ok(folded);
            assert_int_equal(dq_seen, run + 1);
            for (size_t o = 0; o < 3; o++) { /* wf, y, r */
                const ecc_rt_tensor *a = kt_out(plain, o), *b = kt_out(folded, o);
                assert_int_equal(a->nbytes, b->nbytes);
                assert_memory_equal(a->data, b->data, a->nbytes);
            }
        }
        /* y = x W with W = w * s per column: row 0 = [1 2 3 4] */
        float y0 = (1 * 1 + 2 * -4 + 3 * 7 + 4 * -10) * 0.5f;
        assert_true(((const float *)kt_out(folded, 1)->data)[0] == y0);
        kt_free(plain);
        kt_free(folded);
    }
    /* a scale that fits no granularity: the DequantizeLinear cannot fold,
     * and its run fails naming it */
    kt *t = kt_new(13);
    int8_t w[4] = {1, 2, 3, 4};
    float s2[2] = {1, 1};
    int64_t wd[1] = {4}, sd[1] = {2};
    kt_const(t, "w", I8, 1, wd, w);
    kt_const(t, "s", F32, 1, sd, s2);
    kt_node(t, "DequantizeLinear", "w,s", "wf");
    kt_int(t, "axis", 0);
    kt_bad(t, "per-axis scale");
    kt_free(t);
}

static void test_quantize_axis_block_int4(void **state) {
    (void)state;
    /* per-axis int8 on [2,3], axis 0 */
    float x[6] = {1, 2, 3, -4, -5, 6};
    float s[2] = {1, 2};
    int8_t z[2] = {0, 1};
    int64_t xd[2] = {2, 3}, sd[1] = {2};
    kt *t = kt_new(13);
    kt_input(t, "x", F32, 2, xd, x);
    kt_const(t, "s", F32, 1, sd, s);
    kt_const(t, "z", I8, 1, sd, z);
    kt_node(t, "QuantizeLinear", "x,s,z", "q");
    kt_int(t, "axis", 0);
    kt_node(t, "DequantizeLinear", "q,s,z", "dq");
    kt_int(t, "axis", 0);
    kt_ok(t);
    int8_t q[6] = {1, 2, 3, -1, -1, 4}; /* -4/2=-2(+1), -5/2=-2.5→-2(+1), 6/2=3(+1) */
    expect_u8(kt_out(t, 0), I8, (const uint8_t *)q, 6);
    float dq[6] = {1, 2, 3, -4, -4, 6};
    expect_f32(kt_out(t, 1), dq, 6, 0);
    kt_free(t);
    /* blocked int4 (opset 21): [2,4] with block 2 along axis 1 → scale [2,2] */
    float bx[8] = {1, -2, 7, 9, -8, -9, 0.4f, 3};
    float bs[4] = {1, 1, 1, 0.5f};
    int64_t bxd[2] = {2, 4}, bsd[2] = {2, 2};
    /* int4 zero point [2,2] packed: all zero except last = 1 */
    uint8_t bz[2] = {0x00, 0x10};
    t = kt_new(21);
    kt_input(t, "x", F32, 2, bxd, bx);
    kt_const(t, "s", F32, 2, bsd, bs);
    kt_const(t, "z", ECC_DTYPE_INT4, 2, bsd, bz);
    kt_node(t, "QuantizeLinear", "x,s,z", "q");
    kt_int(t, "axis", 1);
    kt_int(t, "block_size", 2);
    kt_node(t, "DequantizeLinear", "q,s,z", "dq");
    kt_int(t, "axis", 1);
    kt_int(t, "block_size", 2);
    kt_ok(t);
    /* values: 1, -2, 7, 7(sat 9) | -8, -8(sat -9), 0.4/0.5=0.8→1 +1=2, 3/0.5=6 +1=7 */
    const ecc_rt_tensor *qq = kt_out(t, 0);
    assert_int_equal(qq->dtype, ECC_DTYPE_INT4);
    assert_int_equal(qq->nbytes, 4);
    int32_t want[8] = {1, -2, 7, 7, -8, -8, 2, 7};
    for (int i = 0; i < 8; i++) assert_int_equal(ecc_q_get(qq->data, ECC_DTYPE_INT4, i), want[i]);
    uint8_t packed[4] = {0xE1, 0x77, 0x88, 0x72}; /* low nibble first */
    assert_memory_equal(qq->data, packed, 4);
    float bdq[8] = {1, -2, 7, 7, -8, -8, 0.5f, 3};
    expect_f32(kt_out(t, 1), bdq, 8, 0);
    kt_free(t);
    /* uint4 saturation */
    t = kt_new(21);
    float ux[3] = {-1, 7.5f, 20};
    int64_t ud[1] = {3};
    kt_input(t, "x", F32, 1, ud, ux);
    float us = 1;
    kt_const(t, "s", F32, 0, NULL, &us);
    kt_node(t, "QuantizeLinear", "x,s", "q");
    kt_int(t, "output_dtype", ECC_DTYPE_UINT4);
    kt_ok(t);
    assert_int_equal(kt_out(t, 0)->dtype, ECC_DTYPE_UINT4);
    uint8_t up[2] = {0x80, 0x0F};
    assert_memory_equal(kt_out(t, 0)->data, up, 2);
    kt_free(t);
    /* hostile: scale shapes that fit no granularity */
    t = kt_new(21);
    float s3[3] = {1, 1, 1};
    int64_t s3d[1] = {3};
    kt_input(t, "x", F32, 2, bxd, bx);
    kt_const(t, "s", F32, 1, s3d, s3);
    kt_node(t, "QuantizeLinear", "x,s", "q");
    kt_int(t, "axis", 1);
    kt_bad(t, "per-axis scale");
    kt_free(t);
    t = kt_new(21);
    kt_input(t, "x", F32, 2, bxd, bx);
    kt_const(t, "s", F32, 2, bsd, bs);
    kt_node(t, "QuantizeLinear", "x,s", "q");
    kt_int(t, "axis", 1);
    kt_int(t, "block_size", 1);
    kt_bad(t, "blocked scale");
    kt_free(t);
}

static void test_dynamic_and_qlinear(void **state) {
    (void)state;
    /* DynamicQuantizeLinear: the ONNX example */
    float x[6] = {0, 2, -3, -2.5f, 1.34f, 0.5f};
    int64_t xd[1] = {6};
    kt *t = kt_new(13);
    kt_input(t, "x", F32, 1, xd, x);
    kt_node(t, "DynamicQuantizeLinear", "x", "y,s,z");
    kt_ok(t);
    uint8_t y[6] = {153, 255, 0, 26, 221, 179};
    expect_u8(kt_out(t, 0), U8, y, 6);
    float s = 0.0196078438f;
    expect_f32(kt_out(t, 1), &s, 1, 1e-6f);
    uint8_t z = 153;
    expect_u8(kt_out(t, 2), U8, &z, 1);
    kt_free(t);
    /* QLinearMatMul: the ONNX example */
    uint8_t a[8] = {208, 236, 0, 238, 3, 214, 255, 29};
    uint8_t b[12] = {152, 51, 244, 60, 26, 255, 0, 127, 246, 127, 254, 247};
    int64_t ad[2] = {2, 4}, bd[2] = {4, 3};
    float as = 0.0066f, bs = 0.00705f, ys = 0.0107f;
    uint8_t az = 113, bz = 114, yz = 118;
    t = kt_new(13);
    kt_input(t, "a", U8, 2, ad, a);
    kt_const(t, "as", F32, 0, NULL, &as);
    kt_const(t, "az", U8, 0, NULL, &az);
    kt_const(t, "b", U8, 2, bd, b);
    kt_const(t, "bs", F32, 0, NULL, &bs);
    kt_const(t, "bz", U8, 0, NULL, &bz);
    kt_const(t, "ys", F32, 0, NULL, &ys);
    kt_const(t, "yz", U8, 0, NULL, &yz);
    kt_node(t, "QLinearMatMul", "a,as,az,b,bs,bz,ys,yz", "y");
    kt_node(t, "MatMulInteger", "a,b,az,bz", "acc");
    kt_ok(t);
    uint8_t qy[6] = {168, 115, 255, 1, 66, 151};
    expect_u8(kt_out(t, 0), U8, qy, 6);
    const int32_t *acc = kt_out(t, 1)->data;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++) {
            int32_t w = 0;
            for (int l = 0; l < 4; l++) w += (a[i * 4 + l] - 113) * (b[l * 3 + j] - 114);
            assert_int_equal(acc[i * 3 + j], w);
        }
    kt_free(t);
}

/* QLinearConv and ConvInteger against float convolution of dequantized data. */
static void test_quantized_conv(void **state) {
    (void)state;
    uint8_t x[2 * 2 * 5 * 5];
    int8_t w[4 * 2 * 3 * 3];
    for (size_t i = 0; i < sizeof x; i++) x[i] = (uint8_t)((i * 37 + 11) % 256);
    for (size_t i = 0; i < sizeof w; i++) w[i] = (int8_t)((int)((i * 53 + 7) % 255) - 127);
    int64_t xd[4] = {2, 2, 5, 5}, wd[4] = {4, 2, 3, 3}, cd[1] = {4};
    uint8_t xz = 128;
    int8_t wz[4] = {0, 1, -2, 3};
    float xs = 0.02f, ws[4] = {0.01f, 0.02f, 0.005f, 0.03f}, ysc = 0.5f;
    uint8_t yz = 100;
    int32_t bias[4] = {100, -200, 0, 7};
    kt *t = kt_new(13);
    kt_input(t, "x", U8, 4, xd, x);
    kt_const(t, "xs", F32, 0, NULL, &xs);
    kt_const(t, "xz", U8, 0, NULL, &xz);
    kt_const(t, "w", I8, 4, wd, w);
    kt_const(t, "ws", F32, 1, cd, ws);
    kt_const(t, "wz", I8, 1, cd, wz);
    kt_const(t, "ys", F32, 0, NULL, &ysc);
    kt_const(t, "yz", U8, 0, NULL, &yz);
    kt_const(t, "b", I32, 1, cd, bias);
    int64_t pads[4] = {1, 1, 1, 1};
    kt_node(t, "QLinearConv", "x,xs,xz,w,ws,wz,ys,yz,b", "y");
    kt_ints(t, "pads", pads, 4);
    kt_node(t, "ConvInteger", "x,w,xz,wz", "acc");
    kt_ints(t, "pads", pads, 4);
    kt_ok(t);
    const uint8_t *y = kt_out(t, 0)->data;
    const int32_t *acc = kt_out(t, 1)->data;
    for (int n = 0; n < 2; n++)
        for (int m = 0; m < 4; m++)
            for (int oh = 0; oh < 5; oh++)
                for (int ow = 0; ow < 5; ow++) {
                    int64_t s = 0;
                    for (int c = 0; c < 2; c++)
                        for (int kh = 0; kh < 3; kh++)
                            for (int kw = 0; kw < 3; kw++) {
                                int ih = oh - 1 + kh, iw = ow - 1 + kw;
                                if (ih < 0 || ih > 4 || iw < 0 || iw > 4) continue;
                                s += (int64_t)(x[((n * 2 + c) * 5 + ih) * 5 + iw] - 128) *
                                     (w[((m * 2 + c) * 3 + kh) * 3 + kw] - wz[m]);
                            }
                    int e = ((n * 4 + m) * 5 + oh) * 5 + ow;
                    assert_int_equal(acc[e], s);
                    double real = (double)(s + bias[m]) * (double)(xs * ws[m] / ysc);
                    double want = fmin(255, fmax(0, ecc_round_even(real) + 100));
                    assert_true(fabs(y[e] - want) <= 1);
                }
    kt_free(t);
}

/* ---------------- table and planner ---------------- */

static void test_table(void **state) {
    (void)state;
    size_t n;
    const ecc_kernel_entry *tab = ecc_kernel_table(&n);
    assert_true(n > 100);
    for (size_t i = 0; i < n; i++) {
        assert_non_null(tab[i].forward);
        assert_true(tab[i].since_opset >= 1);
        if (i == 0) continue;
        int c = strcmp(tab[i - 1].op, tab[i].op);
        bool ordered = c < 0 || (c == 0 && (tab[i - 1].dtype < tab[i].dtype ||
                                            (tab[i - 1].dtype == tab[i].dtype &&
                                             tab[i - 1].since_opset < tab[i].since_opset)));
        if (!ordered) fail_msg("table out of order at %s / %s", tab[i - 1].op, tab[i].op);
    }
    for (size_t i = 0; i < n; i++) /* every entry is found */
        assert_non_null(ecc_kernel_find(tab[i].op, tab[i].dtype, 99));
    assert_ptr_equal(ecc_kernel_find("Softmax", F32, 11)->forward, ecc_k_softmax_f32);
    assert_ptr_equal(ecc_kernel_find("Softmax", F32, 13)->forward, ecc_k_softmax13_f32);
    assert_ptr_equal(ecc_kernel_find("Add", I64, 13)->forward, ecc_k_add_i64);
    assert_ptr_equal(ecc_kernel_find("Reshape", ECC_DTYPE_FLOAT16, 13)->forward,
                     ecc_k_reshape_any);
    assert_null(ecc_kernel_find("Add", ECC_DTYPE_FLOAT16, 13));
    assert_null(ecc_kernel_find("Gelu", F32, 19));
    assert_null(ecc_kernel_find("NoSuchOp", F32, 13));
    assert_null(ecc_kernel_find("", 0, 13));
}

/* A chain of 12 Neg/Abs on 1 MiB tensors needs about two buffers, not
 * twelve; a graph output in the middle of the chain stays intact. */
static void build_chain(kt *t, bool all_outputs) {
    ecc_graph *g = t->m->graph;
    char in[16], out[16];
    for (int i = 0; i < 12; i++) {
        snprintf(in, sizeof in, "v%d", i);
        snprintf(out, sizeof out, "v%d", i + 1);
        ecc_value *iv = kt_val(t, in), *ov = kt_val(t, out);
        ecc_node *n;
        assert_int_equal(ecc_graph_add_node(t->ctx, g, i % 2 ? "Abs" : "Neg", "", out, &iv, 1,
                                            &ov, 1, &n), ECC_OK);
        if (all_outputs || i == 4 || i == 11) {
            ov->flags |= ECC_VALUE_OUTPUT;
            assert_true(ecc_ptrvec_push(&g->outputs, ov));
        }
    }
}

static void test_buffer_reuse(void **state) {
    (void)state;
    static float x[262144];
    fill(x, 262144);
    int64_t xd[1] = {262144};
    kt *t = kt_new(13);
    kt_input(t, "v0", F32, 1, xd, x);
    build_chain(t, true); /* every value is an output: nothing may be reused */
    kt_ok(t);
    assert_true(ecc_interp_workspace_bytes(t->it) >= 12 * sizeof x);
    kt_free(t);

    t = kt_new(13);
    kt_input(t, "v0", F32, 1, xd, x);
    build_chain(t, false); /* outputs v5 and v12 */
    for (int run = 0; run < 3; run++) {
        kt_ok(t);
        assert_true(ecc_interp_workspace_bytes(t->it) <= 4 * sizeof x);
        const float *m5 = kt_out(t, 0)->data, *m12 = kt_out(t, 1)->data;
        for (int i = 0; i < 262144; i++) {
            assert_true(m5[i] == -fabsf(x[i]));
            assert_true(m12[i] == fabsf(x[i]));
        }
    }
    kt_free(t);
}

/* Reshape views: a graph output that is a Reshape of an intermediate, and a
 * view kept alive after its source's last direct use. */
static void test_views(void **state) {
    (void)state;
    float x[6] = {1, -2, 3, -4, 5, -6};
    int64_t xd[2] = {2, 3}, sh[1] = {6}, shd[1] = {1};
    kt *t = kt_new(13);
    kt_input(t, "x", F32, 2, xd, x);
    kt_const(t, "shape", I64, 1, shd, sh);
    ecc_graph *g = t->m->graph;
    ecc_value *vx = kt_val(t, "x"), *r = kt_val(t, "r"), *flat = kt_val(t, "flat"),
              *shape = kt_val(t, "shape"), *neg = kt_val(t, "neg"), *y = kt_val(t, "y");
    ecc_node *n;
    assert_int_equal(ecc_graph_add_node(t->ctx, g, "Relu", "", "relu", &vx, 1, &r, 1, &n), ECC_OK);
    ecc_value *rin[2] = {r, shape};
    assert_int_equal(ecc_graph_add_node(t->ctx, g, "Reshape", "", "reshape", rin, 2, &flat, 1, &n),
                     ECC_OK);
    assert_int_equal(ecc_graph_add_node(t->ctx, g, "Neg", "", "neg", &vx, 1, &neg, 1, &n), ECC_OK);
    ecc_value *ain[2] = {flat, flat};
    assert_int_equal(ecc_graph_add_node(t->ctx, g, "Add", "", "add", ain, 2, &y, 1, &n), ECC_OK);
    flat->flags |= ECC_VALUE_OUTPUT;
    y->flags |= ECC_VALUE_OUTPUT;
    neg->flags |= ECC_VALUE_OUTPUT;
    assert_true(ecc_ptrvec_push(&g->outputs, flat));
    assert_true(ecc_ptrvec_push(&g->outputs, y));
    assert_true(ecc_ptrvec_push(&g->outputs, neg));
    vx->flags |= ECC_VALUE_OUTPUT; /* the input itself is an output too */
    assert_true(ecc_ptrvec_push(&g->outputs, vx));
    float orig[6];
    memcpy(orig, x, sizeof x);
    for (int run = 0; run < 3; run++) {
        memcpy(x, orig, sizeof x);
        kt_ok(t);
        x[0] = 99; /* the caller reuses its buffer: results must not change */
        float wf[6] = {1, 0, 3, 0, 5, 0}, wy[6] = {2, 0, 6, 0, 10, 0};
        float wn[6] = {-1, 2, -3, 4, -5, 6};
        expect_f32(kt_out(t, 0), wf, 6, 0);
        expect_f32(kt_out(t, 1), wy, 6, 0);
        expect_f32(kt_out(t, 2), wn, 6, 0);
        expect_f32(kt_out(t, 3), orig, 6, 0);
    }
    kt_free(t);
}

/* Shapes that depend on data: the plan made for the first run no longer fits
 * the second; the run still gives the right answer and the next re-plans. */
static void test_data_dependent_plan(void **state) {
    (void)state;
    kt *t = kt_new(13);
    int64_t shape[2] = {2, 3}, sd[1] = {2};
    kt_input(t, "s", I64, 1, sd, shape);
    kt_node(t, "ConstantOfShape", "s", "z");
    kt_node(t, "Shape", "z", "sz");
    kt_ok(t);
    int64_t zd[2] = {2, 3};
    expect_dims(kt_out(t, 0), 2, zd);
    size_t ws1 = ecc_interp_workspace_bytes(t->it);
    shape[0] = 50; /* same input signature, bigger result */
    shape[1] = 70;
    kt_ok(t);
    int64_t zd2[2] = {50, 70};
    expect_dims(kt_out(t, 0), 2, zd2);
    expect_i64(kt_out(t, 1), zd2, 2);
    assert_true(ecc_interp_workspace_bytes(t->it) > ws1); /* fallback memory counted */
    kt_ok(t); /* re-planned */
    expect_dims(kt_out(t, 0), 2, zd2);
    const float *z = kt_out(t, 0)->data;
    for (int i = 0; i < 3500; i++) assert_true(z[i] == 0.0f);
    shape[0] = 1;
    shape[1] = 1;
    kt_ok(t); /* smaller: fits the plan */
    int64_t zd3[2] = {1, 1};
    expect_dims(kt_out(t, 0), 2, zd3);
    kt_free(t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_binary_broadcast),
        cmocka_unit_test(test_integer_arith),
        cmocka_unit_test(test_unary),
        cmocka_unit_test(test_clip_and_gelu),
        cmocka_unit_test(test_variadic_and_compare),
        cmocka_unit_test(test_pow),
        cmocka_unit_test(test_gemm),
        cmocka_unit_test(test_matmul),
        cmocka_unit_test(test_conv_vs_naive),
        cmocka_unit_test(test_conv_transpose),
        cmocka_unit_test(test_conv_hostile),
        cmocka_unit_test(test_pools),
        cmocka_unit_test(test_pools_vs_naive),
        cmocka_unit_test(test_norms),
        cmocka_unit_test(test_reduce),
        cmocka_unit_test(test_reshape_family),
        cmocka_unit_test(test_concat_split_slice),
        cmocka_unit_test(test_gather_shape_cast),
        cmocka_unit_test(test_constants_expand_pad),
        cmocka_unit_test(test_resize),
        cmocka_unit_test(test_misc_ops),
        cmocka_unit_test(test_quantize_rounding),
        cmocka_unit_test(test_quantize_parallel),
        cmocka_unit_test(test_fold_constants),
        cmocka_unit_test(test_quantize_axis_block_int4),
        cmocka_unit_test(test_dynamic_and_qlinear),
        cmocka_unit_test(test_quantized_conv),
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_buffer_reuse),
        cmocka_unit_test(test_views),
        cmocka_unit_test(test_data_dependent_plan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
