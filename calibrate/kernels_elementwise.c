/* kernels_elementwise.c — element-wise kernels: unary math and activations
 * (float32, a few int64/int32), binary arithmetic and comparisons with NumPy
 * broadcasting (float32/int64/int32), variadic Min/Max/Sum/Mean, logical
 * ops on bool, PRelu and Where. Rows of the broadcast iteration are plain
 * loops the compiler vectorises; integer arithmetic wraps (no UB) and
 * integer division by zero is an input error. */
#include "kernels.h"

#include <math.h>
#include <string.h>

/* ================= unary float32 ================= */

typedef struct ecc_uparam {
    float a, b, c;
    bool flag;
} ecc_uparam;

typedef ecc_status (*ecc_uprep_fn)(ecc_kernel_ctx *k, const ecc_rt_tensor *const *in,
                                   size_t n_in, ecc_uparam *p);
typedef void (*ecc_urow_fn)(const float *x, float *y, int64_t n, const ecc_uparam *p);

/* Element-wise work is split across threads in blocks of this many. */
#define ECC_PAR_MIN ((int64_t)1 << 15)

typedef struct ecc_unary_job {
    const float *x;
    float *y;
    int64_t n;
    const ecc_uparam *p;
    ecc_urow_fn row;
} ecc_unary_job;

static void ecc_unary_task(void *arg, int64_t begin, int64_t end, int tid) {
    (void)tid;
    ecc_unary_job *j = arg;
    int64_t b = begin * ECC_PAR_MIN, e = end * ECC_PAR_MIN < j->n ? end * ECC_PAR_MIN : j->n;
    j->row(j->x + b, j->y + b, e - b, j->p);
}

static ecc_status ecc_unary_f32(ecc_kernel_ctx *k, const ecc_rt_tensor *const *in, size_t n_in,
                                ecc_rt_tensor *const *out, size_t n_out, ecc_uprep_fn prep,
                                ecc_urow_fn row) {
    ecc_status st = ECC_OK;
    ecc_uparam p = {0};
    ECC_TRY(ecc_k_need(k, in, n_in, 0, "X"));
    ECC_TRY(ecc_k_out0(k, out, n_out));
    ECC_TRY(ecc_k_dtype(k, in[0], ECC_DTYPE_FLOAT, "X"));
    if (prep) ECC_TRY(prep(k, in, n_in, &p));
    const ecc_rt_tensor *x = in[0];
    ECC_TRY(ecc_kernel_alloc(k, out[0], ECC_DTYPE_FLOAT, x->rank, x->dims));
    int64_t n = ecc_rt_numel(x);
    ecc_unary_job j = {x->data, out[0]->data, n, &p, row};
    if (n >= ECC_PAR_MIN)
        ecc_kernel_parallel(k, (n + ECC_PAR_MIN - 1) / ECC_PAR_MIN, n, ecc_unary_task, &j);
    else row(x->data, out[0]->data, n, &p);
fail:
    return st;
}

#define ECC_UNARY(name, PREP, EXPR)                                                      \
    ECC_WIDE static void ecc_row_##name(const float *x, float *y, int64_t n,             \
                                        const ecc_uparam *p) {                           \
        (void)p;                                                                         \
        for (int64_t i = 0; i < n; i++) {                                                \
            float v = x[i];                                                              \
            y[i] = (EXPR);                                                               \
        }                                                                                \
    }                                                                                    \
    ECC_KERNEL_PROTO(ecc_k_##name##_f32) {                                               \
        (void)node;                                                                      \
        return ecc_unary_f32(k, in, n_in, out, n_out, PREP, ecc_row_##name);             \
    }

static ecc_status ecc_prep_alpha(ecc_kernel_ctx *k, float dflt, ecc_uparam *p) {
    return ecc_ka_float(k, "alpha", dflt, &p->a);
}
static ecc_status ecc_prep_leaky(ecc_kernel_ctx *k, const ecc_rt_tensor *const *in,
                                 size_t n_in, ecc_uparam *p) {
    (void)in, (void)n_in;
    return ecc_prep_alpha(k, 0.01f, p);
}
static ecc_status ecc_prep_elu(ecc_kernel_ctx *k, const ecc_rt_tensor *const *in, size_t n_in,
                               ecc_uparam *p) {
    (void)in, (void)n_in;
    return ecc_prep_alpha(k, 1.0f, p);
}
static ecc_status ecc_prep_thresh(ecc_kernel_ctx *k, const ecc_rt_tensor *const *in,
                                  size_t n_in, ecc_uparam *p) {
    (void)in, (void)n_in;
    return ecc_prep_alpha(k, 1.0f, p);
}
static ecc_status ecc_prep_hsig(ecc_kernel_ctx *k, const ecc_rt_tensor *const *in, size_t n_in,
                                ecc_uparam *p) {
    (void)in, (void)n_in;
    ecc_status st = ecc_ka_float(k, "alpha", 0.2f, &p->a);
    return st ? st : ecc_ka_float(k, "beta", 0.5f, &p->b);
}
static ecc_status ecc_prep_selu(ecc_kernel_ctx *k, const ecc_rt_tensor *const *in, size_t n_in,
                                ecc_uparam *p) {
    (void)in, (void)n_in;
    ecc_status st = ecc_ka_float(k, "alpha", 1.67326319217681884765625f, &p->a);
    return st ? st : ecc_ka_float(k, "gamma", 1.05070102214813232421875f, &p->b);
}
static ecc_status ecc_prep_gelu(ecc_kernel_ctx *k, const ecc_rt_tensor *const *in, size_t n_in,
                                ecc_uparam *p) {
    (void)in, (void)n_in;
    const char *mode;
    ecc_status st = ecc_ka_string(k, "approximate", "none", &mode);
    if (st) return st;
    if (strcmp(mode, "none") != 0 && strcmp(mode, "tanh") != 0)
        return ecc_kernel_fail(k, "approximate must be 'none' or 'tanh', got '%s'", mode);
    p->flag = strcmp(mode, "tanh") == 0;
    return ECC_OK;
}

/* Clip: attributes before opset 11, optional scalar inputs after. */
static ecc_status ecc_clip_bounds(ecc_kernel_ctx *k, const ecc_rt_tensor *const *in,
                                  size_t n_in, double *lo, double *hi) {
    ecc_status st = ECC_OK;
    if (ecc_kernel_opset(k) < 11) {
        float a, b;
        ECC_TRY(ecc_ka_float(k, "min", -INFINITY, &a));
        ECC_TRY(ecc_ka_float(k, "max", INFINITY, &b));
        *lo = a;
        *hi = b;
        return ECC_OK;
    }
    const ecc_rt_tensor *mn = ecc_k_in(in, n_in, 1), *mx = ecc_k_in(in, n_in, 2);
    if (mn) {
        ECC_TRY(ecc_k_dtype(k, mn, in[0]->dtype, "min"));
        ECC_TRY(ecc_k_scalar(k, mn, "min", lo));
    }
    if (mx) {
        ECC_TRY(ecc_k_dtype(k, mx, in[0]->dtype, "max"));
        ECC_TRY(ecc_k_scalar(k, mx, "max", hi));
    }
fail:
    return st;
}
static ecc_status ecc_prep_clip(ecc_kernel_ctx *k, const ecc_rt_tensor *const *in, size_t n_in,
                                ecc_uparam *p) {
    double lo = -INFINITY, hi = INFINITY;
    ecc_status st = ecc_clip_bounds(k, in, n_in, &lo, &hi);
    p->a = (float)lo;
    p->b = (float)hi;
    return st;
}

static inline float ecc_gelu(float v, bool tanh_approx) {
    if (tanh_approx)
        return 0.5f * v * (1.0f + tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v)));
    return 0.5f * v * (1.0f + ecc_erf_f(v * 0.70710678118654752f));
}
static inline float ecc_sigmoid(float v) {
    return v >= 0 ? 1.0f / (1.0f + expf(-v)) : expf(v) / (1.0f + expf(v));
}
static inline float ecc_softplus(float v) { return v > 0 ? v + log1pf(expf(-v)) : log1pf(expf(v)); }

ECC_UNARY(abs, NULL, fabsf(v))
ECC_UNARY(neg, NULL, -v)
ECC_UNARY(sqrt, NULL, sqrtf(v))
ECC_UNARY(exp, NULL, expf(v))
ECC_UNARY(log, NULL, logf(v))
ECC_UNARY(reciprocal, NULL, 1.0f / v)
ECC_UNARY(relu, NULL, v > 0 ? v : 0.0f)
ECC_UNARY(leakyrelu, ecc_prep_leaky, v >= 0 ? v : p->a * v)
ECC_UNARY(sigmoid, NULL, ecc_sigmoid(v))
ECC_UNARY(hardsigmoid, ecc_prep_hsig, fmaxf(0.0f, fminf(1.0f, p->a * v + p->b)))
ECC_UNARY(hardswish, NULL, v * fmaxf(0.0f, fminf(1.0f, v / 6.0f + 0.5f)))
ECC_UNARY(tanh, NULL, tanhf(v))
ECC_UNARY(erf, NULL, ecc_erf_f(v))
ECC_UNARY(gelu, ecc_prep_gelu, ecc_gelu(v, p->flag))
ECC_UNARY(floor, NULL, floorf(v))
ECC_UNARY(ceil, NULL, ceilf(v))
ECC_UNARY(round, NULL, ecc_round_even_f(v))
ECC_UNARY(sin, NULL, sinf(v))
ECC_UNARY(cos, NULL, cosf(v))
ECC_UNARY(softplus, NULL, ecc_softplus(v))
ECC_UNARY(softsign, NULL, v / (1.0f + fabsf(v)))
ECC_UNARY(elu, ecc_prep_elu, v >= 0 ? v : p->a * expm1f(v))
ECC_UNARY(celu, ecc_prep_elu, fmaxf(0.0f, v) + fminf(0.0f, p->a * expm1f(v / p->a)))
ECC_UNARY(selu, ecc_prep_selu, v > 0 ? p->b * v : p->b * p->a * expm1f(v))
ECC_UNARY(thresholdedrelu, ecc_prep_thresh, v > p->a ? v : 0.0f)
ECC_UNARY(mish, NULL, v * tanhf(ecc_softplus(v)))
ECC_UNARY(sign, NULL, v > 0 ? 1.0f : v < 0 ? -1.0f : v)
ECC_UNARY(clip, ecc_prep_clip, isnan(v) ? v : fminf(fmaxf(v, p->a), p->b))
ECC_UNARY(tan, NULL, tanf(v))
ECC_UNARY(asin, NULL, asinf(v))
ECC_UNARY(acos, NULL, acosf(v))
ECC_UNARY(atan, NULL, atanf(v))
ECC_UNARY(sinh, NULL, sinhf(v))
ECC_UNARY(cosh, NULL, coshf(v))
ECC_UNARY(asinh, NULL, asinhf(v))
ECC_UNARY(acosh, NULL, acoshf(v))
ECC_UNARY(atanh, NULL, atanhf(v))

/* ---- unary float32 backward: dx = dy * f'(x), from x, y = f(x) and dy ---- */

typedef void (*ecc_ugrad_row_fn)(const float *x, const float *y, const float *dy, float *dx,
                                 int64_t n, const ecc_uparam *p);

typedef struct ecc_ugrad_job {
    const float *x, *y, *dy;
    float *dx;
    int64_t n;
    const ecc_uparam *p;
    ecc_ugrad_row_fn row;
} ecc_ugrad_job;

static void ecc_ugrad_task(void *arg, int64_t begin, int64_t end, int tid) {
    (void)tid;
    ecc_ugrad_job *j = arg;
    int64_t b = begin * ECC_PAR_MIN, e = end * ECC_PAR_MIN < j->n ? end * ECC_PAR_MIN : j->n;
    j->row(j->x ? j->x + b : NULL, j->y ? j->y + b : NULL, j->dy + b, j->dx + b, e - b, j->p);
}

static ecc_status ecc_unary_back_f32(ecc_kernel_ctx *k, const ecc_rt_tensor *const *in,
                                     size_t n_in, const ecc_rt_tensor *const *out,
                                     const ecc_rt_tensor *const *dout,
                                     ecc_rt_tensor *const *din, ecc_uprep_fn prep,
                                     ecc_ugrad_row_fn row) {
    ecc_uparam p = {0};
    if (!din[0] || !dout[0]) return ECC_OK;
    if (prep) {
        ecc_status st = prep(k, in, n_in, &p);
        if (st) return st;
    }
    int64_t n = ecc_rt_numel(in[0]);
    ecc_ugrad_job j = {in[0]->data, out[0]->data, dout[0]->data, din[0]->data, n, &p, row};
    ecc_kernel_parallel(k, (n + ECC_PAR_MIN - 1) / ECC_PAR_MIN, n, ecc_ugrad_task, &j);
    return ECC_OK;
}

/* What a gradient expression reads: v = x (X), y = f(x) (Y) or both (XY).
 * Only that arrives (the table row's saves: INPUTS, OUTPUTS or ALL), so an
 * expression naming the other does not compile. */
#define ECC_UG_READ_X const float v = x[i];
#define ECC_UG_READ_Y const float y = yy[i];
#define ECC_UG_READ_XY const float v = x[i], y = yy[i];
#define ECC_UG_READ_NONE

/* DEXPR: dy * f'(x) from g = dy, what READS names and the parameters p. */
#define ECC_UNARY_GRAD(name, PREP, READS, DEXPR)                                         \
    static void ecc_grow_##name(const float *x, const float *yy, const float *dy, float *dx, \
                                int64_t n, const ecc_uparam *p) {                        \
        (void)p, (void)yy, (void)x;                                                      \
        for (int64_t i = 0; i < n; i++) {                                                \
            ECC_UG_READ_##READS const float g = dy[i];                                   \
            dx[i] += (DEXPR);                                                            \
        }                                                                                \
    }                                                                                    \
    ECC_BACKWARD_PROTO(ecc_k_##name##_back_f32) {                                        \
        (void)node, (void)n_out;                                                         \
        return ecc_unary_back_f32(k, in, n_in, out, dout, din, PREP, ecc_grow_##name);   \
    }

#define ECC_2_SQRTPI 1.12837916709551257f
#define ECC_INV_SQRT2PI 0.398942280401432678f

/* d/dv of the tanh-approximated Gelu. */
static inline float ecc_gelu_tanh_grad(float v) {
    float u = 0.7978845608028654f * (v + 0.044715f * v * v * v);
    float t = tanhf(u);
    float du = 0.7978845608028654f * (1.0f + 3.0f * 0.044715f * v * v);
    return 0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * du;
}
static inline float ecc_gelu_grad(float v, bool tanh_approx) {
    if (tanh_approx) return ecc_gelu_tanh_grad(v);
    return 0.5f * (1.0f + ecc_erf_f(v * 0.70710678118654752f)) +
           v * ECC_INV_SQRT2PI * expf(-0.5f * v * v);
}

ECC_UNARY_GRAD(abs, NULL, X, v > 0 ? g : v < 0 ? -g : 0.0f)
ECC_UNARY_GRAD(neg, NULL, NONE, -g)
ECC_UNARY_GRAD(sqrt, NULL, Y, g * 0.5f / y)
ECC_UNARY_GRAD(exp, NULL, Y, g * y)
ECC_UNARY_GRAD(log, NULL, X, g / v)
ECC_UNARY_GRAD(reciprocal, NULL, Y, -g * y * y)
ECC_UNARY_GRAD(relu, NULL, Y, y > 0 ? g : 0.0f)
ECC_UNARY_GRAD(leakyrelu, ecc_prep_leaky, X, v >= 0 ? g : p->a * g)
ECC_UNARY_GRAD(sigmoid, NULL, Y, g * y * (1.0f - y))
ECC_UNARY_GRAD(hardsigmoid, ecc_prep_hsig, X,
               p->a * v + p->b > 0.0f && p->a * v + p->b < 1.0f ? p->a * g : 0.0f)
ECC_UNARY_GRAD(hardswish, NULL, X, v < -3.0f ? 0.0f : v > 3.0f ? g : g * (v / 3.0f + 0.5f))
ECC_UNARY_GRAD(tanh, NULL, Y, g * (1.0f - y * y))
ECC_UNARY_GRAD(erf, NULL, X, g * ECC_2_SQRTPI * expf(-v * v))
ECC_UNARY_GRAD(gelu, ecc_prep_gelu, X, g * ecc_gelu_grad(v, p->flag))
ECC_UNARY_GRAD(softplus, NULL, X, g * ecc_sigmoid(v))
ECC_UNARY_GRAD(elu, ecc_prep_elu, XY, v >= 0 ? g : g * (y + p->a))
ECC_UNARY_GRAD(clip, ecc_prep_clip, X, v >= p->a && v <= p->b ? g : 0.0f)
ECC_UNARY_GRAD(sin, NULL, X, g * cosf(v))
ECC_UNARY_GRAD(cos, NULL, X, -g * sinf(v))

/* ================= unary integer ================= */

static ecc_status ecc_unary_int(ecc_kernel_ctx *k, const ecc_rt_tensor *const *in, size_t n_in,
                                ecc_rt_tensor *const *out, size_t n_out, int32_t dt) {
    ecc_status st = ECC_OK;
    ECC_TRY(ecc_k_need(k, in, n_in, 0, "X"));
    ECC_TRY(ecc_k_out0(k, out, n_out));
    ECC_TRY(ecc_k_dtype(k, in[0], dt, "X"));
    ECC_TRY(ecc_kernel_alloc(k, out[0], dt, in[0]->rank, in[0]->dims));
fail:
    return st;
}

#define ECC_UNARY_INT(name, sfx, T, U, DT, EXPR)                                         \
    ECC_KERNEL_PROTO(ecc_k_##name##_##sfx) {                                             \
        (void)node;                                                                      \
        ecc_status st = ecc_unary_int(k, in, n_in, out, n_out, DT);                      \
        if (st) return st;                                                               \
        const T *x = in[0]->data;                                                        \
        T *y = out[0]->data;                                                             \
        int64_t n = ecc_rt_numel(in[0]);                                                 \
        for (int64_t i = 0; i < n; i++) {                                                \
            T v = x[i];                                                                  \
            y[i] = (EXPR);                                                               \
        }                                                                                \
        return ECC_OK;                                                                   \
    }
ECC_UNARY_INT(abs, i64, int64_t, uint64_t, ECC_DTYPE_INT64, v < 0 ? (int64_t)(0 - (uint64_t)v) : v)
ECC_UNARY_INT(abs, i32, int32_t, uint32_t, ECC_DTYPE_INT32, v < 0 ? (int32_t)(0 - (uint32_t)v) : v)
ECC_UNARY_INT(neg, i64, int64_t, uint64_t, ECC_DTYPE_INT64, (int64_t)(0 - (uint64_t)v))
ECC_UNARY_INT(neg, i32, int32_t, uint32_t, ECC_DTYPE_INT32, (int32_t)(0 - (uint32_t)v))
ECC_UNARY_INT(sign, i64, int64_t, uint64_t, ECC_DTYPE_INT64, (v > 0) - (v < 0))

#define ECC_CLIP_INT(sfx, T, DT)                                                         \
    ECC_KERNEL_PROTO(ecc_k_clip_##sfx) {                                                 \
        (void)node;                                                                      \
        double lo = -INFINITY, hi = INFINITY;                                            \
        ecc_status st = ecc_unary_int(k, in, n_in, out, n_out, DT);                      \
        if (!st) st = ecc_clip_bounds(k, in, n_in, &lo, &hi);                            \
        if (st) return st;                                                               \
        const T *x = in[0]->data;                                                        \
        T *y = out[0]->data;                                                             \
        int64_t n = ecc_rt_numel(in[0]);                                                 \
        for (int64_t i = 0; i < n; i++) {                                                \
            double v = (double)x[i];                                                     \
            y[i] = v < lo ? (T)lo : v > hi ? (T)hi : x[i];                               \
        }                                                                                \
        return ECC_OK;                                                                   \
    }
ECC_CLIP_INT(i64, int64_t, ECC_DTYPE_INT64)
ECC_CLIP_INT(i32, int32_t, ECC_DTYPE_INT32)

/* ================= binary with broadcasting ================= */

typedef void (*ecc_brow_fn)(void *o, const void *a, int64_t sa, const void *b, int64_t sb,
                            int64_t n);

typedef struct ecc_bin_job {
    uint8_t *o;
    const uint8_t *a, *b;
    size_t ea, eb, eo;
    ecc_brow_fn fn;
} ecc_bin_job;

static void ecc_bin_row(void *arg, int64_t out_off, const int64_t *in_off, int64_t len,
                        const int64_t *in_stride) {
    ecc_bin_job *j = arg;
    j->fn(j->o + (size_t)out_off * j->eo, j->a + (size_t)in_off[0] * j->ea, in_stride[0],
          j->b + (size_t)in_off[1] * j->eb, in_stride[1], len);
}

/* o (allocated) = fn(a, b) broadcast; o's shape must be the broadcast shape. */
static ecc_status ecc_binary_into(ecc_kernel_ctx *k, const ecc_rt_tensor *a,
                                  const ecc_rt_tensor *b, ecc_rt_tensor *o, ecc_brow_fn fn) {
    const ecc_rt_tensor *ts[2] = {a, b};
    ecc_bcast bc;
    ecc_status st = ecc_k_bcast(k, ts, 2, &bc);
    if (st) return st;
    if (bc.out_rank != o->rank || memcmp(bc.out_dims, o->dims, (size_t)o->rank * 8) != 0)
        return ecc_kernel_fail(k, "internal: broadcast shape mismatch");
    ecc_bin_job j = {o->data, a->data, b->data, ecc_rt_elsize(a->dtype),
                     ecc_rt_elsize(b->dtype), ecc_rt_elsize(o->dtype), fn};
    ecc_bc_each(&bc, ecc_bin_row, &j);
    return ECC_OK;
}

static ecc_status ecc_binary(ecc_kernel_ctx *k, const ecc_rt_tensor *a, const ecc_rt_tensor *b,
                             ecc_rt_tensor *o, int32_t out_dtype, ecc_brow_fn fn) {
    const ecc_rt_tensor *ts[2] = {a, b};
    ecc_bcast bc;
    ecc_status st = ecc_k_bcast(k, ts, 2, &bc);
    if (!st) st = ecc_kernel_alloc(k, o, out_dtype, bc.out_rank, bc.out_dims);
    if (st) return st;
    ecc_bin_job j = {o->data, a->data, b->data, ecc_rt_elsize(a->dtype),
                     ecc_rt_elsize(b->dtype), ecc_rt_elsize(out_dtype), fn};
    ecc_bc_each(&bc, ecc_bin_row, &j);
    return ECC_OK;
}

static ecc_status ecc_binary_args(ecc_kernel_ctx *k, const ecc_rt_tensor *const *in,
                                  size_t n_in, ecc_rt_tensor *const *out, size_t n_out,
                                  int32_t dt) {
    ecc_status st = ECC_OK;
    ECC_TRY(ecc_k_need(k, in, n_in, 0, "A"));
    ECC_TRY(ecc_k_need(k, in, n_in, 1, "B"));
    ECC_TRY(ecc_k_out0(k, out, n_out));
    ECC_TRY(ecc_k_dtype(k, in[0], dt, "A"));
    ECC_TRY(ecc_k_dtype(k, in[1], dt, "B"));
fail:
    return st;
}

#define ECC_BIN_ROW(name, TA, TO, EXPR)                                                  \
    static void name(void *o_, const void *a_, int64_t sa, const void *b_, int64_t sb,   \
                     int64_t n) {                                                        \
        TO *o = o_;                                                                      \
        const TA *a = a_, *b = b_;                                                       \
        if (sa && sb) {                                                                  \
            for (int64_t i = 0; i < n; i++) {                                            \
                TA x = a[i], y = b[i];                                                   \
                o[i] = (EXPR);                                                           \
            }                                                                            \
        } else if (sa) {                                                                 \
            TA y = b[0];                                                                 \
            for (int64_t i = 0; i < n; i++) {                                            \
                TA x = a[i];                                                             \
                o[i] = (EXPR);                                                           \
            }                                                                            \
        } else if (sb) {                                                                 \
            TA x = a[0];                                                                 \
            for (int64_t i = 0; i < n; i++) {                                            \
                TA y = b[i];                                                             \
                o[i] = (EXPR);                                                           \
            }                                                                            \
        } else {                                                                         \
            TA x = a[0], y = b[0];                                                       \
            TO r = (EXPR);                                                               \
            for (int64_t i = 0; i < n; i++) o[i] = r;                                    \
        }                                                                                \
    }

#define ECC_BINOP(name, sfx, T, TO, DT, ODT, EXPR)                                       \
    ECC_BIN_ROW(ecc_row_##name##_##sfx, T, TO, EXPR)                                     \
    ECC_KERNEL_PROTO(ecc_k_##name##_##sfx) {                                             \
        (void)node;                                                                      \
        ecc_status st = ecc_binary_args(k, in, n_in, out, n_out, DT);                    \
        return st ? st : ecc_binary(k, in[0], in[1], out[0], ODT, ecc_row_##name##_##sfx); \
    }

static inline float ecc_fmin_nan(float x, float y) { return isnan(x) || x < y ? x : y; }
static inline float ecc_fmax_nan(float x, float y) { return isnan(x) || x > y ? x : y; }

#define F ECC_DTYPE_FLOAT
#define B ECC_DTYPE_BOOL
ECC_BINOP(add, f32, float, float, F, F, x + y)
ECC_BINOP(sub, f32, float, float, F, F, x - y)
ECC_BINOP(mul, f32, float, float, F, F, x * y)
ECC_BINOP(div, f32, float, float, F, F, x / y)
ECC_BINOP(equal, f32, float, uint8_t, F, B, x == y)
ECC_BINOP(less, f32, float, uint8_t, F, B, x < y)
ECC_BINOP(greater, f32, float, uint8_t, F, B, x > y)
ECC_BINOP(lessorequal, f32, float, uint8_t, F, B, x <= y)
ECC_BINOP(greaterorequal, f32, float, uint8_t, F, B, x >= y)
ECC_BINOP(equal, b8, uint8_t, uint8_t, B, B, (x != 0) == (y != 0))
ECC_BINOP(and, b8, uint8_t, uint8_t, B, B, x && y)
ECC_BINOP(or, b8, uint8_t, uint8_t, B, B, x || y)
ECC_BINOP(xor, b8, uint8_t, uint8_t, B, B, (x != 0) != (y != 0))
ECC_BIN_ROW(ecc_row_min_f32, float, float, ecc_fmin_nan(x, y))
ECC_BIN_ROW(ecc_row_max_f32, float, float, ecc_fmax_nan(x, y))
ECC_BIN_ROW(ecc_row_sum_f32, float, float, x + y)
ECC_BIN_ROW(ecc_row_copy_f32, float, float, ((void)x, y))
ECC_BIN_ROW(ecc_row_pow_f32, float, float, powf(x, y))
ECC_BIN_ROW(ecc_row_prelu_f32, float, float, x < 0 ? x * y : x)
ECC_BIN_ROW(ecc_row_fmod_f32, float, float, fmodf(x, y))
#undef F
#undef B

/* Integer ops wrap like two's complement hardware; division by zero is
 * rejected before the rows run. */
static inline int64_t ecc_mod_i64(int64_t x, int64_t y, bool c_style) {
    if (y == -1) return 0;
    int64_t r = x % y;
    if (!c_style && r != 0 && ((r < 0) != (y < 0))) r += y;
    return r;
}
#define ECC_INT_FAMILY(sfx, T, U, DT)                                                    \
    ECC_BINOP(add, sfx, T, T, DT, DT, (T)((U)x + (U)y))                                  \
    ECC_BINOP(sub, sfx, T, T, DT, DT, (T)((U)x - (U)y))                                  \
    ECC_BINOP(mul, sfx, T, T, DT, DT, (T)((U)x * (U)y))                                  \
    ECC_BINOP(equal, sfx, T, uint8_t, DT, ECC_DTYPE_BOOL, x == y)                        \
    ECC_BINOP(less, sfx, T, uint8_t, DT, ECC_DTYPE_BOOL, x < y)                          \
    ECC_BINOP(greater, sfx, T, uint8_t, DT, ECC_DTYPE_BOOL, x > y)                       \
    ECC_BINOP(lessorequal, sfx, T, uint8_t, DT, ECC_DTYPE_BOOL, x <= y)                  \
    ECC_BINOP(greaterorequal, sfx, T, uint8_t, DT, ECC_DTYPE_BOOL, x >= y)               \
    ECC_BIN_ROW(ecc_row_div_##sfx, T, T, y == -1 ? (T)(0 - (U)x) : x / y)                \
    ECC_BIN_ROW(ecc_row_min_##sfx, T, T, x < y ? x : y)                                  \
    ECC_BIN_ROW(ecc_row_max_##sfx, T, T, x > y ? x : y)                                  \
    ECC_BIN_ROW(ecc_row_sum_##sfx, T, T, (T)((U)x + (U)y))                               \
    ECC_BIN_ROW(ecc_row_copy_##sfx, T, T, ((void)x, y))                                  \
    ECC_BIN_ROW(ecc_row_mod_##sfx, T, T, (T)ecc_mod_i64(x, y, false))                    \
    ECC_BIN_ROW(ecc_row_fmod_##sfx, T, T, (T)ecc_mod_i64(x, y, true))
ECC_INT_FAMILY(i64, int64_t, uint64_t, ECC_DTYPE_INT64)
ECC_INT_FAMILY(i32, int32_t, uint32_t, ECC_DTYPE_INT32)

static ecc_status ecc_no_zero(ecc_kernel_ctx *k, const ecc_rt_tensor *t) {
    int64_t n = ecc_rt_numel(t);
    for (int64_t i = 0; i < n; i++)
        if (ecc_rt_get_f64(t, i) == 0) return ecc_kernel_fail(k, "integer division by zero");
    return ECC_OK;
}

#define ECC_INT_DIV(name, sfx, DT, ROW)                                                  \
    ECC_KERNEL_PROTO(ecc_k_##name##_##sfx) {                                             \
        (void)node;                                                                      \
        ecc_status st = ecc_binary_args(k, in, n_in, out, n_out, DT);                    \
        if (!st) st = ecc_no_zero(k, in[1]);                                             \
        return st ? st : ecc_binary(k, in[0], in[1], out[0], DT, ROW);                   \
    }
ECC_INT_DIV(div, i64, ECC_DTYPE_INT64, ecc_row_div_i64)
ECC_INT_DIV(div, i32, ECC_DTYPE_INT32, ecc_row_div_i32)

static ecc_status ecc_mod_kernel(ecc_kernel_ctx *k, const ecc_rt_tensor *const *in,
                                 size_t n_in, ecc_rt_tensor *const *out, size_t n_out,
                                 int32_t dt, ecc_brow_fn python_row, ecc_brow_fn c_row) {
    ecc_status st = ECC_OK;
    int64_t fmod_attr;
    ECC_TRY(ecc_binary_args(k, in, n_in, out, n_out, dt));
    ECC_TRY(ecc_ka_int(k, "fmod", 0, &fmod_attr));
    ECC_KFAIL_IF(fmod_attr != 0 && fmod_attr != 1, k, "fmod must be 0 or 1");
    if (dt == ECC_DTYPE_FLOAT && fmod_attr != 1)
        return ecc_kernel_fail(k, "fmod must be 1 for floating-point inputs");
    if (dt != ECC_DTYPE_FLOAT) ECC_TRY(ecc_no_zero(k, in[1]));
    ECC_TRY(ecc_binary(k, in[0], in[1], out[0], dt, fmod_attr ? c_row : python_row));
fail:
    return st;
}
ECC_KERNEL_PROTO(ecc_k_mod_f32) {
    (void)node;
    return ecc_mod_kernel(k, in, n_in, out, n_out, ECC_DTYPE_FLOAT, ecc_row_fmod_f32,
                          ecc_row_fmod_f32);
}
ECC_KERNEL_PROTO(ecc_k_mod_i64) {
    (void)node;
    return ecc_mod_kernel(k, in, n_in, out, n_out, ECC_DTYPE_INT64, ecc_row_mod_i64,
                          ecc_row_fmod_i64);
}
ECC_KERNEL_PROTO(ecc_k_mod_i32) {
    (void)node;
    return ecc_mod_kernel(k, in, n_in, out, n_out, ECC_DTYPE_INT32, ecc_row_mod_i32,
                          ecc_row_fmod_i32);
}

/* Pow: float32 base, exponent of any numeric type (converted once). */
ECC_KERNEL_PROTO(ecc_k_pow_f32) {
    (void)node;
    ecc_status st = ECC_OK;
    ECC_TRY(ecc_k_need(k, in, n_in, 0, "X"));
    ECC_TRY(ecc_k_need(k, in, n_in, 1, "Y"));
    ECC_TRY(ecc_k_out0(k, out, n_out));
    ecc_rt_tensor y = *in[1];
    if (y.dtype != ECC_DTYPE_FLOAT) {
        const ecc_dtype_traits *tr = ecc_dtype_get(y.dtype);
        ECC_KFAIL_IF(!tr || tr->bits < 8 || (tr->dclass != ECC_DC_FLOAT &&
                                              tr->dclass != ECC_DC_SINT &&
                                              tr->dclass != ECC_DC_UINT),
                     k, "unsupported exponent type %s", ecc_dtype_name(y.dtype));
        int64_t n = ecc_rt_numel(in[1]);
        float *conv;
        ECC_TRY(ecc_kernel_scratch(k, (size_t)n * sizeof(float), (void **)&conv));
        for (int64_t i = 0; i < n; i++) conv[i] = (float)ecc_rt_get_f64(in[1], i);
        y.dtype = ECC_DTYPE_FLOAT;
        y.data = conv;
    }
    ECC_TRY(ecc_binary(k, in[0], &y, out[0], ECC_DTYPE_FLOAT, ecc_row_pow_f32));
fail:
    return st;
}

/* Does slope broadcast (NumPy, unidirectionally) to x? */
static bool ecc_bcasts_to(const ecc_rt_tensor *slope, const ecc_rt_tensor *x) {
    if (slope->rank > x->rank) return false;
    for (int32_t i = 1; i <= slope->rank; i++) {
        int64_t s = slope->dims[slope->rank - i], d = x->dims[x->rank - i];
        if (s != 1 && s != d) return false;
    }
    return true;
}

/* PRelu: slope broadcasts to X; before opset 7 (and in exporters of that
 * era) a 1-D slope of C entries is per channel of [N, C, ...]. */
ECC_KERNEL_PROTO(ecc_k_prelu_f32) {
    (void)node;
    ecc_status st = ecc_binary_args(k, in, n_in, out, n_out, ECC_DTYPE_FLOAT);
    if (st) return st;
    const ecc_rt_tensor *x = in[0], *slope = in[1];
    ecc_rt_tensor s2 = *slope;
    bool per_channel = slope->rank == 1 && x->rank >= 2 && slope->dims[0] == x->dims[1] &&
                       (ecc_kernel_opset(k) < 7 || !ecc_bcasts_to(slope, x));
    if (per_channel) {
        s2.rank = x->rank - 1;
        for (int32_t d = 0; d < s2.rank; d++) s2.dims[d] = d == 0 ? x->dims[1] : 1;
    } else if (!ecc_bcasts_to(slope, x)) {
        return ecc_kernel_fail(k, "slope does not broadcast to X");
    }
    st = ecc_kernel_alloc(k, out[0], ECC_DTYPE_FLOAT, x->rank, x->dims);
    return st ? st : ecc_binary_into(k, x, &s2, out[0], ecc_row_prelu_f32);
}

/* ---- binary float32 backward: each input's share of dy at full shape,
 * summed back over the dimensions it was broadcast along ---- */

typedef float (*ecc_bgrad_fn)(float g, float a, float b);
static float ecc_d_mul_a(float g, float a, float b) { return (void)a, g * b; }
static float ecc_d_mul_b(float g, float a, float b) { return (void)b, g * a; }
static float ecc_d_div_a(float g, float a, float b) { return (void)a, g / b; }
static float ecc_d_div_b(float g, float a, float b) { return -g * a / (b * b); }
static float ecc_d_pow_a(float g, float a, float b) { return g * b * powf(a, b - 1.0f); }
static float ecc_d_pow_b(float g, float a, float b) { return g * powf(a, b) * logf(a); }

typedef struct ecc_bshare_job {
    const float *g, *a, *b;
    float *t;
    ecc_bgrad_fn fn;
} ecc_bshare_job;

/* An operand the gradient does not need arrives without data (NULL): read
 * as zeros. */
static void ecc_bshare_row(void *arg, int64_t out_off, const int64_t *in_off, int64_t len,
                           const int64_t *in_stride) {
    ecc_bshare_job *j = arg;
    static const float zero = 0.0f;
    const float *a = j->a ? j->a + in_off[0] : &zero, *b = j->b ? j->b + in_off[1] : &zero;
    int64_t sa = j->a ? in_stride[0] : 0, sb = j->b ? in_stride[1] : 0;
    const float *g = j->g + out_off;
    float *t = j->t + out_off;
    for (int64_t i = 0; i < len; i++) t[i] = j->fn(g[i], a[i * sa], b[i * sb]);
}

/* din[i] += unbroadcast(fn_i(dy, a, b)) for each wanted input. */
static ecc_status ecc_binary_back_f32(ecc_kernel_ctx *k, const ecc_rt_tensor *a,
                                      const ecc_rt_tensor *b, const ecc_rt_tensor *dy,
                                      ecc_rt_tensor *const *din, ecc_bgrad_fn fa,
                                      ecc_bgrad_fn fb) {
    ecc_status st = ECC_OK;
    const ecc_rt_tensor *ts[2] = {a, b};
    ecc_bcast bc;
    float *t;
    ECC_TRY(ecc_k_bcast(k, ts, 2, &bc));
    ECC_TRY(ecc_kernel_scratch(k, (size_t)(ecc_rt_numel(dy) + 1) * sizeof *t, (void **)&t));
    ecc_rt_tensor share = *dy;
    share.data = t;
    ecc_bgrad_fn fns[2] = {fa, fb};
    for (int i = 0; i < 2; i++) {
        if (!din[i]) continue;
        ecc_bshare_job j = {dy->data, a->data, b->data, t, fns[i]};
        ecc_bc_each(&bc, ecc_bshare_row, &j);
        ECC_TRY(ecc_k_unbroadcast_add(k, &share, din[i], 1.0f));
    }
fail:
    return st;
}

/* Add and Sub: dA = dY, dB = ±dY, each summed back over its broadcast
 * dimensions; neither reads an operand. */
static ecc_status ecc_sum_back_f32(ecc_kernel_ctx *k, const ecc_rt_tensor *dy,
                                   ecc_rt_tensor *const *din, float sign_b) {
    ecc_status st = ECC_OK;
    if (din[0]) ECC_TRY(ecc_k_unbroadcast_add(k, dy, din[0], 1.0f));
    if (din[1]) ECC_TRY(ecc_k_unbroadcast_add(k, dy, din[1], sign_b));
fail:
    return st;
}
ECC_BACKWARD_PROTO(ecc_k_add_back_f32) {
    (void)node, (void)in, (void)n_in, (void)out, (void)n_out;
    return ecc_sum_back_f32(k, dout[0], din, 1.0f);
}
ECC_BACKWARD_PROTO(ecc_k_sub_back_f32) {
    (void)node, (void)in, (void)n_in, (void)out, (void)n_out;
    return ecc_sum_back_f32(k, dout[0], din, -1.0f);
}

#define ECC_BINARY_GRAD(name, FA, FB)                                                    \
    ECC_BACKWARD_PROTO(ecc_k_##name##_back_f32) {                                        \
        (void)node, (void)n_in, (void)out, (void)n_out;                                  \
        return ecc_binary_back_f32(k, in[0], in[1], dout[0], din, FA, FB);               \
    }
ECC_BINARY_GRAD(mul, ecc_d_mul_a, ecc_d_mul_b)
ECC_BINARY_GRAD(div, ecc_d_div_a, ecc_d_div_b)

/* Pow: the exponent may be of another numeric type (no gradient then). */
ECC_BACKWARD_PROTO(ecc_k_pow_back_f32) {
    (void)node, (void)n_in, (void)out, (void)n_out;
    ecc_rt_tensor e = *in[1];
    if (e.dtype != ECC_DTYPE_FLOAT) {
        int64_t n = ecc_rt_numel(in[1]);
        float *conv;
        ecc_status st = ecc_kernel_scratch(k, (size_t)(n + 1) * sizeof(float), (void **)&conv);
        if (st) return st;
        for (int64_t i = 0; i < n; i++) conv[i] = (float)ecc_rt_get_f64(in[1], i);
        e.dtype = ECC_DTYPE_FLOAT;
        e.data = conv;
    }
    return ecc_binary_back_f32(k, in[0], &e, dout[0], din, ecc_d_pow_a, ecc_d_pow_b);
}

/* ================= variadic ================= */

static ecc_status ecc_variadic(ecc_kernel_ctx *k, const ecc_rt_tensor *const *in, size_t n_in,
                               ecc_rt_tensor *const *out, size_t n_out, int32_t dt,
                               ecc_brow_fn fold, ecc_brow_fn copy) {
    ecc_status st = ECC_OK;
    ECC_TRY(ecc_k_out0(k, out, n_out));
    ECC_KFAIL_IF(n_in == 0, k, "no inputs");
    int32_t rank = 0;
    int64_t dims[ECC_MAX_RANK] = {0};
    for (size_t i = 0; i < n_in; i++) {
        ECC_TRY(ecc_k_need(k, in, n_in, i, "data"));
        ECC_TRY(ecc_k_dtype(k, in[i], dt, "every input"));
        if (i == 0) {
            rank = in[0]->rank;
            memcpy(dims, in[0]->dims, sizeof dims);
            continue;
        }
        ecc_bcast bc;
        int32_t ranks[2] = {rank, in[i]->rank};
        const int64_t *ds[2] = {dims, in[i]->dims};
        ECC_TRY(ecc_k_bcast_dims(k, 2, ranks, ds, &bc));
        rank = bc.out_rank;
        memcpy(dims, bc.out_dims, sizeof dims);
    }
    ECC_TRY(ecc_kernel_alloc(k, out[0], dt, rank, dims));
    ECC_TRY(ecc_binary_into(k, out[0], in[0], out[0], copy));
    for (size_t i = 1; i < n_in; i++) ECC_TRY(ecc_binary_into(k, out[0], in[i], out[0], fold));
fail:
    return st;
}

#define ECC_VARIADIC(name, sfx, DT)                                                      \
    ECC_KERNEL_PROTO(ecc_k_##name##_##sfx) {                                             \
        (void)node;                                                                      \
        return ecc_variadic(k, in, n_in, out, n_out, DT, ecc_row_##name##_##sfx,         \
                            ecc_row_copy_##sfx);                                         \
    }
ECC_VARIADIC(min, f32, ECC_DTYPE_FLOAT)
ECC_VARIADIC(max, f32, ECC_DTYPE_FLOAT)
ECC_VARIADIC(sum, f32, ECC_DTYPE_FLOAT)
ECC_VARIADIC(min, i64, ECC_DTYPE_INT64)
ECC_VARIADIC(max, i64, ECC_DTYPE_INT64)
ECC_VARIADIC(sum, i64, ECC_DTYPE_INT64)
ECC_VARIADIC(min, i32, ECC_DTYPE_INT32)
ECC_VARIADIC(max, i32, ECC_DTYPE_INT32)
ECC_VARIADIC(sum, i32, ECC_DTYPE_INT32)

ECC_KERNEL_PROTO(ecc_k_mean_f32) {
    ecc_status st = ecc_k_sum_f32(k, node, in, n_in, out, n_out);
    if (st) return st;
    float *y = out[0]->data, inv = 1.0f / (float)n_in;
    int64_t n = ecc_rt_numel(out[0]);
    for (int64_t i = 0; i < n; i++) y[i] *= inv;
    return ECC_OK;
}

/* ================= bool / predicates ================= */

ECC_KERNEL_PROTO(ecc_k_not_b8) {
    (void)node;
    ecc_status st = ecc_unary_int(k, in, n_in, out, n_out, ECC_DTYPE_BOOL);
    if (st) return st;
    const uint8_t *x = in[0]->data;
    uint8_t *y = out[0]->data;
    int64_t n = ecc_rt_numel(in[0]);
    for (int64_t i = 0; i < n; i++) y[i] = !x[i];
    return ECC_OK;
}

static ecc_status ecc_predicate(ecc_kernel_ctx *k, const ecc_rt_tensor *const *in, size_t n_in,
                                ecc_rt_tensor *const *out, size_t n_out) {
    ecc_status st = ECC_OK;
    ECC_TRY(ecc_k_need(k, in, n_in, 0, "X"));
    ECC_TRY(ecc_k_out0(k, out, n_out));
    ECC_TRY(ecc_k_dtype(k, in[0], ECC_DTYPE_FLOAT, "X"));
    ECC_TRY(ecc_kernel_alloc(k, out[0], ECC_DTYPE_BOOL, in[0]->rank, in[0]->dims));
fail:
    return st;
}

ECC_KERNEL_PROTO(ecc_k_isnan_f32) {
    (void)node;
    ecc_status st = ecc_predicate(k, in, n_in, out, n_out);
    if (st) return st;
    const float *x = in[0]->data;
    uint8_t *y = out[0]->data;
    for (int64_t i = 0, n = ecc_rt_numel(in[0]); i < n; i++) y[i] = isnan(x[i]) != 0;
    return ECC_OK;
}

ECC_KERNEL_PROTO(ecc_k_isinf_f32) {
    (void)node;
    int64_t neg, pos;
    ecc_status st = ecc_predicate(k, in, n_in, out, n_out);
    if (!st) st = ecc_ka_int(k, "detect_negative", 1, &neg);
    if (!st) st = ecc_ka_int(k, "detect_positive", 1, &pos);
    if (st) return st;
    const float *x = in[0]->data;
    uint8_t *y = out[0]->data;
    for (int64_t i = 0, n = ecc_rt_numel(in[0]); i < n; i++)
        y[i] = isinf(x[i]) && ((x[i] > 0 && pos) || (x[i] < 0 && neg));
    return ECC_OK;
}

/* ================= Where ================= */

typedef struct ecc_where_job {
    uint8_t *o;
    const uint8_t *c, *x, *y;
    size_t es;
} ecc_where_job;

static void ecc_where_row(void *arg, int64_t out_off, const int64_t *in_off, int64_t len,
                          const int64_t *s) {
    ecc_where_job *j = arg;
    size_t es = j->es;
    uint8_t *o = j->o + (size_t)out_off * es;
    const uint8_t *c = j->c + in_off[0];
    const uint8_t *x = j->x + (size_t)in_off[1] * es, *y = j->y + (size_t)in_off[2] * es;
    if (es == 4) {
        for (int64_t i = 0; i < len; i++) {
            const uint8_t *src = c[i * s[0]] ? x + 4 * i * s[1] : y + 4 * i * s[2];
            memcpy(o + 4 * i, src, 4);
        }
        return;
    }
    for (int64_t i = 0; i < len; i++) {
        const uint8_t *src =
            c[i * s[0]] ? x + (size_t)(i * s[1]) * es : y + (size_t)(i * s[2]) * es;
        memcpy(o + (size_t)i * es, src, es);
    }
}

ECC_KERNEL_PROTO(ecc_k_where_any) {
    (void)node;
    ecc_status st = ECC_OK;
    ECC_TRY(ecc_k_need(k, in, n_in, 0, "condition"));
    ECC_TRY(ecc_k_need(k, in, n_in, 1, "X"));
    ECC_TRY(ecc_k_need(k, in, n_in, 2, "Y"));
    ECC_TRY(ecc_k_out0(k, out, n_out));
    ECC_TRY(ecc_k_dtype(k, in[0], ECC_DTYPE_BOOL, "condition"));
    ECC_TRY(ecc_k_dtype(k, in[2], in[1]->dtype, "Y"));
    size_t es = ecc_rt_elsize(in[1]->dtype);
    ECC_KFAIL_IF(!es, k, "%s data is not supported", ecc_dtype_name(in[1]->dtype));
    ecc_bcast bc;
    ECC_TRY(ecc_k_bcast(k, in, 3, &bc));
    ECC_TRY(ecc_kernel_alloc(k, out[0], in[1]->dtype, bc.out_rank, bc.out_dims));
    ecc_where_job j = {out[0]->data, in[0]->data, in[1]->data, in[2]->data, es};
    ecc_bc_each(&bc, ecc_where_row, &j);
fail:
    return st;
}

/* ---- Where backward: dY goes to X where the condition holds, to Y
 * elsewhere, each summed back over the dimensions it was broadcast along ---- */

typedef struct ecc_where_back_job {
    float *g;        /* dY masked, output shape */
    const float *dy; /* output shape */
    const uint8_t *c;
    bool take;       /* keep dY where the condition is take */
} ecc_where_back_job;

/* One row of the masked gradient: g = dY where (c != 0) == take, else 0. */
static void ecc_where_back_row(void *arg, int64_t out_off, const int64_t *in_off, int64_t len,
                               const int64_t *in_stride) {
    ecc_where_back_job *j = arg;
    const uint8_t *c = j->c + in_off[1];
    for (int64_t i = 0; i < len; i++)
        j->g[out_off + i] = (c[i * in_stride[1]] != 0) == j->take ? j->dy[out_off + i] : 0.0f;
}

ECC_BACKWARD_PROTO(ecc_k_where_back_any) {
    (void)node, (void)out, (void)n_out;
    ecc_status st = ECC_OK;
    ecc_bcast bc;
    if (!dout[0] || n_in < 3) return ECC_OK;
    const ecc_rt_tensor *ts[2] = {dout[0], in[0]};
    ecc_rt_tensor g = *dout[0];
    ECC_KFAIL_IF(dout[0]->dtype != ECC_DTYPE_FLOAT, k, "no gradient for %s data (float32 only)",
                 ecc_dtype_name(dout[0]->dtype));
    ECC_TRY(ecc_k_bcast(k, ts, 2, &bc));
    ECC_TRY(ecc_kernel_scratch(k, (size_t)ecc_rt_numel(&g) * sizeof(float), &g.data));
    for (int s = 1; s <= 2; s++) {
        if (!din[s]) continue;
        ecc_where_back_job j = {g.data, dout[0]->data, in[0]->data, s == 1};
        ecc_bc_each(&bc, ecc_where_back_row, &j);
        ECC_TRY(ecc_k_unbroadcast_add(k, &g, din[s], 1.0f));
    }
fail:
    return st;
}
