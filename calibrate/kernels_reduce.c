/* kernels_reduce.c — reductions: ReduceMean/Sum/Max/Min/Prod/L2/SumSquare
 * (float32; Sum/Max/Min/Prod also int64) with axes from the attribute
 * (before opset 13 for ReduceSum, 18 for the others) or the optional input,
 * ReduceL1/LogSum/LogSumExp (float32),
 * keepdims and noop_with_empty_axes; ArgMax/ArgMin. One pass over the
 * input row by row, accumulating in double (float) or int64. */
#include "kernels.h"

#include <math.h>
#include <string.h>

typedef enum ecc_red_op {
    ECC_RED_SUM, ECC_RED_MEAN, ECC_RED_MAX, ECC_RED_MIN, ECC_RED_PROD, ECC_RED_L2,
    ECC_RED_SUMSQ, ECC_RED_L1, ECC_RED_LOGSUM, ECC_RED_LOGSUMEXP,
} ecc_red_op;

typedef struct ecc_red_plan {
    bool reduced[ECC_MAX_RANK];
    int32_t out_rank;
    int64_t out_dims[ECC_MAX_RANK];
    int64_t out_numel, count;   /* elements folded into each output */
    bool noop;
} ecc_red_plan;

/* Axes from the attribute or (newer opsets) input 1. */
static ecc_status ecc_red_axes(ecc_kernel_ctx *k, const ecc_rt_tensor *const *in, size_t n_in,
                               int64_t input_since, int64_t *axes, size_t *n_axes,
                               bool *noop_empty) {
    ecc_status st = ECC_OK;
    int64_t noop = 0;
    *n_axes = 0;
    if (ecc_kernel_opset(k) < input_since) {
        const int64_t *a;
        ECC_TRY(ecc_ka_ints(k, "axes", ECC_MAX_RANK, &a, n_axes));
        if (*n_axes) memcpy(axes, a, *n_axes * sizeof *a);
    } else {
        ECC_TRY(ecc_ka_int(k, "noop_with_empty_axes", 0, &noop));
        const ecc_rt_tensor *t = ecc_k_in(in, n_in, 1);
        if (t) ECC_TRY(ecc_k_ints(k, t, "axes", ECC_MAX_RANK, axes, n_axes));
    }
    *noop_empty = noop != 0;
fail:
    return st;
}

static ecc_status ecc_red_plan_make(ecc_kernel_ctx *k, const ecc_rt_tensor *x,
                                    const int64_t *axes, size_t n_axes, bool noop_empty,
                                    ecc_red_plan *p) {
    ecc_status st = ECC_OK;
    int64_t keepdims;
    memset(p, 0, sizeof *p);
    ECC_TRY(ecc_ka_int(k, "keepdims", 1, &keepdims));
    p->noop = n_axes == 0 && noop_empty;
    for (size_t i = 0; i < n_axes; i++) {
        int32_t a;
        ECC_TRY(ecc_k_axis(k, axes[i], x->rank, "axis", &a));
        ECC_KFAIL_IF(p->reduced[a], k, "axis %lld listed twice", (long long)axes[i]);
        p->reduced[a] = true;
    }
    p->count = 1;
    for (int32_t d = 0; d < x->rank; d++) {
        if (n_axes == 0 && !p->noop) p->reduced[d] = true;
        if (p->reduced[d]) p->count *= x->dims[d];
        if (!p->reduced[d]) p->out_dims[p->out_rank++] = x->dims[d];
        else if (keepdims) p->out_dims[p->out_rank++] = 1;
    }
    p->out_numel = ecc_k_prod(p->out_dims, 0, p->out_rank);
fail:
    return st;
}

/* Input `data`, axes and keepdims: plans the reduction and produces output
 * 0, allocated as dtype, or (*noop: nothing left to compute) an alias of
 * the input. */
static ecc_status ecc_red_prepare(ecc_kernel_ctx *k, const ecc_rt_tensor *const *in,
                                  size_t n_in, ecc_rt_tensor *const *out, size_t n_out,
                                  int32_t dtype, ecc_red_plan *p, bool *noop) {
    ecc_status st = ECC_OK;
    int64_t axes[ECC_MAX_RANK];
    size_t n_axes;
    bool noop_empty;
    *noop = false;
    ECC_TRY(ecc_k_need(k, in, n_in, 0, "data"));
    ECC_TRY(ecc_k_out0(k, out, n_out));
    int64_t since = strcmp(ecc_kernel_node(k)->op_type, "ReduceSum") == 0 ? 13 : 18;
    ECC_TRY(ecc_red_axes(k, in, n_in, since, axes, &n_axes, &noop_empty));
    ECC_TRY(ecc_red_plan_make(k, in[0], axes, n_axes, noop_empty, p));
    *noop = p->noop;
    if (p->noop) return ecc_kernel_alias(k, out[0], 0, in[0]->rank, in[0]->dims);
    ECC_TRY(ecc_kernel_alloc(k, out[0], dtype, p->out_rank, p->out_dims));
fail:
    return st;
}

/* Iterates x row by row (innermost dim); calls fold with the output offset
 * of the row start and whether the innermost dim is reduced. */
typedef void (*ecc_red_row_fn)(void *arg, const void *row, int64_t len, int64_t out_off,
                               bool inner_reduced);

static void ecc_red_walk(const ecc_rt_tensor *x, const ecc_red_plan *p, size_t es,
                         ecc_red_row_fn fold, void *arg) {
    int32_t r = x->rank;
    if (r == 0) {
        fold(arg, x->data, 1, 0, true);
        return;
    }
    int64_t ostride[ECC_MAX_RANK], s = 1;
    for (int32_t d = r - 1; d >= 0; d--) { /* output strides over input dims */
        ostride[d] = p->reduced[d] ? 0 : s;
        if (!p->reduced[d]) s *= x->dims[d];
    }
    int64_t len = x->dims[r - 1], numel = ecc_rt_numel(x);
    if (numel == 0) return;
    int64_t idx[ECC_MAX_RANK] = {0}, off = 0;
    const uint8_t *base = x->data;
    for (int64_t row = 0; row < numel / len; row++) {
        fold(arg, base + (size_t)(row * len) * es, len, off, p->reduced[r - 1]);
        for (int32_t d = r - 2; d >= 0; d--) {
            idx[d]++;
            off += ostride[d];
            if (idx[d] < x->dims[d]) break;
            off -= ostride[d] * x->dims[d];
            idx[d] = 0;
        }
    }
}

/* ---- float32 ---- */

typedef struct ecc_red_f32 {
    double *acc;
    ecc_red_op op;
    const double *shift; /* LogSumExp second pass: the maxima */
} ecc_red_f32;

static inline double ecc_red_apply(ecc_red_op op, double a, double v) {
    switch (op) {
    case ECC_RED_MAX: return v > a || isnan(v) ? v : a;
    case ECC_RED_MIN: return v < a || isnan(v) ? v : a;
    case ECC_RED_PROD: return a * v;
    case ECC_RED_L2: case ECC_RED_SUMSQ: return a + v * v;
    case ECC_RED_L1: return a + fabs(v);
    default: return a + v;
    }
}

static void ecc_red_fold_f32(void *arg, const void *row_, int64_t len, int64_t out_off,
                             bool inner_reduced) {
    ecc_red_f32 *j = arg;
    const float *row = row_;
    double *acc = j->acc + out_off;
    if (j->op == ECC_RED_LOGSUMEXP) {
        const double *m = j->shift + out_off;
        for (int64_t i = 0; i < len; i++) {
            double mv = inner_reduced ? m[0] : m[i];
            double e = isinf(mv) ? (row[i] == mv ? 1.0 : 0.0) : exp(row[i] - mv);
            if (inner_reduced) acc[0] += e;
            else acc[i] += e;
        }
        return;
    }
    if (inner_reduced) {
        double a = acc[0];
        for (int64_t i = 0; i < len; i++) a = ecc_red_apply(j->op, a, row[i]);
        acc[0] = a;
        return;
    }
    for (int64_t i = 0; i < len; i++) acc[i] = ecc_red_apply(j->op, acc[i], row[i]);
}

static double ecc_red_init(ecc_red_op op) {
    return op == ECC_RED_MAX ? -INFINITY : op == ECC_RED_MIN ? INFINITY
                                           : op == ECC_RED_PROD ? 1.0 : 0.0;
}

static ecc_status ecc_reduce_f32(ecc_kernel_ctx *k, const ecc_rt_tensor *const *in,
                                 size_t n_in, ecc_rt_tensor *const *out, size_t n_out,
                                 ecc_red_op op) {
    ecc_status st = ECC_OK;
    ecc_red_plan p;
    bool noop;
    double *acc;
    ECC_TRY(ecc_red_prepare(k, in, n_in, out, n_out, ECC_DTYPE_FLOAT, &p, &noop));
    if (noop) return ECC_OK;
    ECC_TRY(ecc_kernel_scratch(k, (size_t)(p.out_numel + 1) * sizeof *acc, (void **)&acc));
    for (int64_t i = 0; i < p.out_numel; i++) acc[i] = ecc_red_init(op);
    ecc_red_f32 j = {acc, op == ECC_RED_LOGSUMEXP ? ECC_RED_MAX : op, NULL};
    ecc_red_walk(in[0], &p, sizeof(float), ecc_red_fold_f32, &j);
    if (op == ECC_RED_LOGSUMEXP) { /* second pass: sum of exp(x - max) */
        double *mx;
        ECC_TRY(ecc_kernel_scratch(k, (size_t)(p.out_numel + 1) * sizeof *mx, (void **)&mx));
        memcpy(mx, acc, (size_t)p.out_numel * sizeof *mx);
        for (int64_t i = 0; i < p.out_numel; i++) acc[i] = 0;
        j.op = ECC_RED_LOGSUMEXP;
        j.shift = mx;
        ecc_red_walk(in[0], &p, sizeof(float), ecc_red_fold_f32, &j);
        for (int64_t i = 0; i < p.out_numel; i++) acc[i] = log(acc[i]) + mx[i];
    }
    float *y = out[0]->data;
    for (int64_t i = 0; i < p.out_numel; i++) {
        double v = acc[i];
        if (op == ECC_RED_MEAN) v = p.count ? v / (double)p.count : NAN;
        if (op == ECC_RED_L2) v = sqrt(v);
        if (op == ECC_RED_LOGSUM) v = log(v);
        y[i] = (float)v;
    }
fail:
    return st;
}

/* ecc_k_<name>_<T>: ecc_reduce_<T> with OP (T is f32 or i64). */
#define ECC_RED_KERNEL(name, T, OP)                                                      \
    ECC_KERNEL_PROTO(ecc_k_##name##_##T) {                                               \
        (void)node;                                                                      \
        return ecc_reduce_##T(k, in, n_in, out, n_out, OP);                              \
    }
ECC_RED_KERNEL(reducemean, f32, ECC_RED_MEAN)
ECC_RED_KERNEL(reducesum, f32, ECC_RED_SUM)
ECC_RED_KERNEL(reducemax, f32, ECC_RED_MAX)
ECC_RED_KERNEL(reducemin, f32, ECC_RED_MIN)
ECC_RED_KERNEL(reduceprod, f32, ECC_RED_PROD)
ECC_RED_KERNEL(reducel2, f32, ECC_RED_L2)
ECC_RED_KERNEL(reducesumsquare, f32, ECC_RED_SUMSQ)
ECC_RED_KERNEL(reducel1, f32, ECC_RED_L1)
ECC_RED_KERNEL(reducelogsum, f32, ECC_RED_LOGSUM)
ECC_RED_KERNEL(reducelogsumexp, f32, ECC_RED_LOGSUMEXP)

/* ReduceMean / ReduceSum backward: dy (kept dims put back as 1) broadcast
 * over the reduced axes, divided by the count for the mean. */
static ecc_status ecc_reduce_back_f32(ecc_kernel_ctx *k, const ecc_rt_tensor *const *in,
                                      size_t n_in, const ecc_rt_tensor *dy, ecc_rt_tensor *dx,
                                      bool mean) {
    ecc_status st = ECC_OK;
    int64_t axes[ECC_MAX_RANK];
    size_t n_axes;
    bool noop_empty;
    ecc_red_plan p;
    if (!dx || !dy) return ECC_OK;
    int64_t since = strcmp(ecc_kernel_node(k)->op_type, "ReduceSum") == 0 ? 13 : 18;
    ECC_TRY(ecc_red_axes(k, in, n_in, since, axes, &n_axes, &noop_empty));
    ECC_TRY(ecc_red_plan_make(k, in[0], axes, n_axes, noop_empty, &p));
    ecc_rt_tensor g = *dy;
    g.rank = in[0]->rank;
    for (int32_t d = 0; d < g.rank; d++) g.dims[d] = p.reduced[d] ? 1 : in[0]->dims[d];
    float scale = mean && !p.noop && p.count ? 1.0f / (float)p.count : 1.0f;
    ECC_TRY(ecc_k_broadcast_add(k, &g, dx, scale));
fail:
    return st;
}

ECC_BACKWARD_PROTO(ecc_k_reducemean_back_f32) {
    (void)node, (void)out, (void)n_out;
    return ecc_reduce_back_f32(k, in, n_in, dout[0], din[0], true);
}

ECC_BACKWARD_PROTO(ecc_k_reducesum_back_f32) {
    (void)node, (void)out, (void)n_out;
    return ecc_reduce_back_f32(k, in, n_in, dout[0], din[0], false);
}

/* ---- int64 ---- */

typedef struct ecc_red_i64 {
    int64_t *acc;
    ecc_red_op op;
} ecc_red_i64;

static inline int64_t ecc_red_apply_i64(ecc_red_op op, int64_t a, int64_t v) {
    switch (op) {
    case ECC_RED_MAX: return v > a ? v : a;
    case ECC_RED_MIN: return v < a ? v : a;
    case ECC_RED_PROD: return (int64_t)((uint64_t)a * (uint64_t)v);
    default: return (int64_t)((uint64_t)a + (uint64_t)v);
    }
}

static void ecc_red_fold_i64(void *arg, const void *row_, int64_t len, int64_t out_off,
                             bool inner_reduced) {
    ecc_red_i64 *j = arg;
    const int64_t *row = row_;
    int64_t *acc = j->acc + out_off;
    if (inner_reduced) {
        for (int64_t i = 0; i < len; i++) acc[0] = ecc_red_apply_i64(j->op, acc[0], row[i]);
        return;
    }
    for (int64_t i = 0; i < len; i++) acc[i] = ecc_red_apply_i64(j->op, acc[i], row[i]);
}

static ecc_status ecc_reduce_i64(ecc_kernel_ctx *k, const ecc_rt_tensor *const *in,
                                 size_t n_in, ecc_rt_tensor *const *out, size_t n_out,
                                 ecc_red_op op) {
    ecc_status st = ECC_OK;
    ecc_red_plan p;
    bool noop;
    ECC_TRY(ecc_red_prepare(k, in, n_in, out, n_out, ECC_DTYPE_INT64, &p, &noop));
    if (noop) return ECC_OK;
    int64_t *y = out[0]->data;
    int64_t init = op == ECC_RED_MAX ? INT64_MIN : op == ECC_RED_MIN ? INT64_MAX
                                                 : op == ECC_RED_PROD ? 1 : 0;
    for (int64_t i = 0; i < p.out_numel; i++) y[i] = init;
    ecc_red_i64 j = {y, op};
    ecc_red_walk(in[0], &p, sizeof(int64_t), ecc_red_fold_i64, &j);
fail:
    return st;
}

ECC_RED_KERNEL(reducesum, i64, ECC_RED_SUM)
ECC_RED_KERNEL(reducemax, i64, ECC_RED_MAX)
ECC_RED_KERNEL(reducemin, i64, ECC_RED_MIN)
ECC_RED_KERNEL(reduceprod, i64, ECC_RED_PROD)

/* ---- ArgMax / ArgMin ---- */

static ecc_status ecc_arg_reduce(ecc_kernel_ctx *k, const ecc_rt_tensor *const *in,
                                 size_t n_in, ecc_rt_tensor *const *out, size_t n_out,
                                 bool max) {
    ecc_status st = ECC_OK;
    int64_t axis_attr, keepdims, last;
    int32_t axis;
    ECC_TRY(ecc_k_need(k, in, n_in, 0, "data"));
    ECC_TRY(ecc_k_out0(k, out, n_out));
    const ecc_rt_tensor *x = in[0];
    ECC_TRY(ecc_ka_int(k, "axis", 0, &axis_attr));
    ECC_TRY(ecc_ka_int(k, "keepdims", 1, &keepdims));
    ECC_TRY(ecc_ka_int(k, "select_last_index", 0, &last));
    ECC_TRY(ecc_k_axis(k, axis_attr, x->rank, "axis", &axis));
    ECC_KFAIL_IF(x->dims[axis] == 0, k, "cannot take the arg-extreme of an empty axis");
    int64_t dims[ECC_MAX_RANK];
    int32_t r = 0;
    for (int32_t d = 0; d < x->rank; d++)
        if (d != axis) dims[r++] = x->dims[d];
        else if (keepdims) dims[r++] = 1;
    ECC_TRY(ecc_kernel_alloc(k, out[0], ECC_DTYPE_INT64, r, dims));
    int64_t outer = ecc_k_prod(x->dims, 0, axis), len = x->dims[axis];
    int64_t inner = ecc_k_prod(x->dims, axis + 1, x->rank);
    const float *xs = x->data;
    int64_t *y = out[0]->data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            const float *line = xs + o * len * inner + i;
            int64_t best = 0;
            for (int64_t e = 1; e < len; e++) {
                float v = line[e * inner], b = line[best * inner];
                bool better = max ? (v > b || (last && v == b)) : (v < b || (last && v == b));
                if (better) best = e;
            }
            y[o * inner + i] = best;
        }
fail:
    return st;
}

ECC_KERNEL_PROTO(ecc_k_argmax_f32) {
    (void)node;
    return ecc_arg_reduce(k, in, n_in, out, n_out, true);
}
ECC_KERNEL_PROTO(ecc_k_argmin_f32) {
    (void)node;
    return ecc_arg_reduce(k, in, n_in, out, n_out, false);
}
