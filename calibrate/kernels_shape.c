/* kernels_shape.c — kernels that change only metadata or make constants:
 * Reshape (0, -1, allowzero), Flatten, Squeeze/Unsqueeze (attribute before
 * opset 13, input after), Identity and Dropout (views of their input),
 * Shape (start/end), Size, Constant (every attribute form, referenced in
 * place), ConstantOfShape and Range. Any dtype. */
#include "kernels.h"

#include <math.h>
#include <string.h>

/* ================= Reshape ================= */

ECC_KERNEL_PROTO(ecc_k_reshape_any) {
    (void)node;
    ecc_status st = ECC_OK;
    int64_t shape[ECC_MAX_RANK], allowzero = 0;
    size_t n = 0;
    ECC_TRY(ecc_k_need(k, in, n_in, 0, "data"));
    ECC_TRY(ecc_k_out0(k, out, n_out));
    const ecc_rt_tensor *x = in[0];
    if (ecc_kernel_opset(k) < 5) {
        const int64_t *a;
        ECC_TRY(ecc_ka_ints(k, "shape", ECC_MAX_RANK, &a, &n));
        if (n) memcpy(shape, a, n * sizeof *a);
    } else {
        ECC_TRY(ecc_k_need(k, in, n_in, 1, "shape"));
        ECC_KFAIL_IF(in[1]->dtype != ECC_DTYPE_INT64, k, "shape must be int64, got %s",
                     ecc_dtype_name(in[1]->dtype));
        ECC_TRY(ecc_k_ints(k, in[1], "shape", ECC_MAX_RANK, shape, &n));
        ECC_TRY(ecc_ka_int(k, "allowzero", 0, &allowzero));
    }
    int64_t known = 1;
    int infer = -1;
    for (size_t i = 0; i < n; i++) {
        if (shape[i] == 0 && !allowzero) {
            ECC_KFAIL_IF(i >= (size_t)x->rank, k, "shape[%zu] = 0 copies a dimension the "
                         "input (rank %d) does not have", i, (int)x->rank);
            shape[i] = x->dims[i];
        }
        if (shape[i] == -1) {
            ECC_KFAIL_IF(infer >= 0, k, "shape has more than one -1");
            infer = (int)i;
            continue;
        }
        ECC_KFAIL_IF(shape[i] < 0, k, "shape[%zu] = %lld is invalid", i, (long long)shape[i]);
        ECC_KFAIL_IF(!ecc_mul_i64(known, shape[i], &known), k, "shape product overflows");
    }
    int64_t numel = ecc_rt_numel(x);
    if (infer >= 0) {
        ECC_KFAIL_IF(known == 0 || numel % known, k,
                     "cannot infer the -1 dimension: %lld elements into blocks of %lld",
                     (long long)numel, (long long)known);
        shape[infer] = numel / known;
    } else {
        ECC_KFAIL_IF(known != numel, k, "cannot reshape %lld elements into %lld",
                     (long long)numel, (long long)known);
    }
    ECC_TRY(ecc_kernel_alias(k, out[0], 0, (int32_t)n, shape));
fail:
    return st;
}

ECC_KERNEL_PROTO(ecc_k_flatten_any) {
    (void)node;
    ecc_status st = ECC_OK;
    int64_t axis;
    ECC_TRY(ecc_k_need(k, in, n_in, 0, "input"));
    ECC_TRY(ecc_k_out0(k, out, n_out));
    const ecc_rt_tensor *x = in[0];
    ECC_TRY(ecc_ka_int(k, "axis", 1, &axis));
    ECC_KFAIL_IF(axis < -(int64_t)x->rank || axis > x->rank, k,
                 "axis %lld out of range for rank %d", (long long)axis, (int)x->rank);
    if (axis < 0) axis += x->rank;
    int64_t dims[2] = {ecc_k_prod(x->dims, 0, (int32_t)axis),
                       ecc_k_prod(x->dims, (int32_t)axis, x->rank)};
    ECC_TRY(ecc_kernel_alias(k, out[0], 0, 2, dims));
fail:
    return st;
}

/* Axes from the attribute (before opset 13) or input 1. */
static ecc_status ecc_axes_arg(ecc_kernel_ctx *k, const ecc_rt_tensor *const *in, size_t n_in,
                               int64_t *axes, size_t *n) {
    *n = 0;
    if (ecc_kernel_opset(k) < 13) {
        const int64_t *a;
        ecc_status st = ecc_ka_ints(k, "axes", ECC_MAX_RANK, &a, n);
        if (!st && *n) memcpy(axes, a, *n * sizeof *a);
        return st;
    }
    const ecc_rt_tensor *t = ecc_k_in(in, n_in, 1);
    return t ? ecc_k_ints(k, t, "axes", ECC_MAX_RANK, axes, n) : ECC_OK;
}

ECC_KERNEL_PROTO(ecc_k_squeeze_any) {
    (void)node;
    ecc_status st = ECC_OK;
    int64_t axes[ECC_MAX_RANK], dims[ECC_MAX_RANK];
    size_t n;
    bool drop[ECC_MAX_RANK] = {false};
    ECC_TRY(ecc_k_need(k, in, n_in, 0, "data"));
    ECC_TRY(ecc_k_out0(k, out, n_out));
    const ecc_rt_tensor *x = in[0];
    ECC_TRY(ecc_axes_arg(k, in, n_in, axes, &n));
    for (size_t i = 0; i < n; i++) {
        int32_t a;
        ECC_TRY(ecc_k_axis(k, axes[i], x->rank, "axis", &a));
        ECC_KFAIL_IF(x->dims[a] != 1, k, "cannot squeeze axis %d of size %lld", (int)a,
                     (long long)x->dims[a]);
        drop[a] = true;
    }
    int32_t r = 0;
    for (int32_t d = 0; d < x->rank; d++) {
        if (n == 0 && x->dims[d] == 1) continue;
        if (!drop[d]) dims[r++] = x->dims[d];
    }
    ECC_TRY(ecc_kernel_alias(k, out[0], 0, r, dims));
fail:
    return st;
}

ECC_KERNEL_PROTO(ecc_k_unsqueeze_any) {
    (void)node;
    ecc_status st = ECC_OK;
    int64_t axes[ECC_MAX_RANK], dims[ECC_MAX_RANK];
    size_t n;
    bool ins[ECC_MAX_RANK] = {false};
    ECC_TRY(ecc_k_need(k, in, n_in, 0, "data"));
    ECC_TRY(ecc_k_out0(k, out, n_out));
    const ecc_rt_tensor *x = in[0];
    ECC_TRY(ecc_axes_arg(k, in, n_in, axes, &n));
    ECC_KFAIL_IF(n == 0, k, "axes are required");
    int32_t r = x->rank + (int32_t)n;
    ECC_KFAIL_IF(r > ECC_MAX_RANK, k, "result rank %d exceeds %d", (int)r, ECC_MAX_RANK);
    for (size_t i = 0; i < n; i++) {
        int32_t a;
        ECC_TRY(ecc_k_axis(k, axes[i], r, "axis", &a));
        ECC_KFAIL_IF(ins[a], k, "axis %lld listed twice", (long long)axes[i]);
        ins[a] = true;
    }
    for (int32_t d = 0, src = 0; d < r; d++) dims[d] = ins[d] ? 1 : x->dims[src++];
    ECC_TRY(ecc_kernel_alias(k, out[0], 0, r, dims));
fail:
    return st;
}

ECC_KERNEL_PROTO(ecc_k_identity_any) {
    (void)node;
    ecc_status st = ecc_k_need(k, in, n_in, 0, "input");
    if (!st) st = ecc_k_out0(k, out, n_out);
    return st ? st : ecc_kernel_alias(k, out[0], 0, in[0]->rank, in[0]->dims);
}

/* Dropout at inference: identity; the mask (if asked for) is all ones. */
ECC_KERNEL_PROTO(ecc_k_dropout_any) {
    (void)node;
    ecc_status st = ECC_OK;
    ECC_TRY(ecc_k_need(k, in, n_in, 0, "data"));
    const ecc_rt_tensor *x = in[0], *ratio = ecc_k_in(in, n_in, 1), *train = ecc_k_in(in, n_in, 2);
    if (train) { /* training mode drops nothing only with ratio 0 */
        double r = 0.5;
        ECC_TRY(ecc_k_dtype(k, train, ECC_DTYPE_BOOL, "training_mode"));
        ECC_KFAIL_IF(ecc_rt_numel(train) != 1, k, "training_mode must be a scalar");
        if (ratio) ECC_TRY(ecc_k_scalar(k, ratio, "ratio", &r));
        ECC_KFAIL_IF(((const uint8_t *)train->data)[0] && r != 0, k,
                     "training_mode=true is not supported (inference only)");
    }
    if (n_out > 0 && out[0]) ECC_TRY(ecc_kernel_alias(k, out[0], 0, x->rank, x->dims));
    if (n_out > 1 && out[1]) {
        bool typed = ecc_kernel_opset(k) < 10; /* the mask had the input's type */
        int32_t dt = typed ? x->dtype : ECC_DTYPE_BOOL;
        ECC_KFAIL_IF(typed && dt != ECC_DTYPE_FLOAT, k, "mask of type %s unsupported",
                     ecc_dtype_name(dt));
        ECC_TRY(ecc_kernel_alloc(k, out[1], dt, x->rank, x->dims));
        int64_t n = ecc_rt_numel(x);
        if (typed)
            for (int64_t i = 0; i < n; i++) ((float *)out[1]->data)[i] = 1.0f;
        else
            memset(out[1]->data, 1, (size_t)n);
    }
fail:
    return st;
}

/* ================= Shape / Size ================= */

ECC_KERNEL_PROTO(ecc_k_shape_any) {
    (void)node;
    ecc_status st = ECC_OK;
    int64_t start, end;
    ECC_TRY(ecc_k_need(k, in, n_in, 0, "data"));
    ECC_TRY(ecc_k_out0(k, out, n_out));
    const ecc_rt_tensor *x = in[0];
    int64_t r = x->rank;
    ECC_TRY(ecc_ka_int(k, "start", 0, &start));
    ECC_TRY(ecc_ka_int(k, "end", r, &end));
    if (start < 0) start += r;
    if (end < 0) end += r;
    start = start < 0 ? 0 : start > r ? r : start;
    end = end < 0 ? 0 : end > r ? r : end;
    int64_t n = end > start ? end - start : 0;
    ECC_TRY(ecc_kernel_alloc(k, out[0], ECC_DTYPE_INT64, 1, &n));
    memcpy(out[0]->data, x->dims + start, (size_t)n * sizeof(int64_t));
fail:
    return st;
}

ECC_KERNEL_PROTO(ecc_k_size_any) {
    (void)node;
    ecc_status st = ecc_k_need(k, in, n_in, 0, "data");
    if (!st) st = ecc_k_out0(k, out, n_out);
    if (!st) st = ecc_kernel_alloc(k, out[0], ECC_DTYPE_INT64, 0, NULL);
    if (!st) *(int64_t *)out[0]->data = ecc_rt_numel(in[0]);
    return st;
}

/* ================= Constant ================= */

/* The one value attribute of a Constant node. */
static ecc_status ecc_constant_attr(ecc_kernel_ctx *k, const ecc_attr **out) {
    static const char *const names[] = {"value", "value_float", "value_floats", "value_int",
                                        "value_ints", "value_string", "value_strings",
                                        "sparse_value"};
    const ecc_node *n = ecc_kernel_node(k);
    *out = NULL;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        const ecc_attr *a = ecc_node_attr(n, names[i]);
        if (!a) continue;
        if (*out) return ecc_kernel_fail(k, "more than one value attribute");
        *out = a;
    }
    if (!*out) return ecc_kernel_fail(k, "no value attribute");
    return ECC_OK;
}

ECC_KERNEL_PROTO(ecc_k_constant_any) {
    (void)in, (void)n_in, (void)node;
    ecc_status st = ECC_OK;
    const ecc_attr *a;
    ECC_TRY(ecc_k_out0(k, out, n_out));
    ECC_TRY(ecc_constant_attr(k, &a));
    const char *nm = a->name;
    int64_t count = (int64_t)a->n;
    if (strcmp(nm, "value") == 0 && a->type == ECC_ATTR_TENSOR && a->t) {
        const ecc_tensor *t = a->t;
        ECC_KFAIL_IF(t->rank > ECC_MAX_RANK, k, "constant rank %d exceeds %d", (int)t->rank,
                     ECC_MAX_RANK);
        ECC_KFAIL_IF(t->strings || !ecc_dtype_get(t->dtype) || !t->data, k,
                     "constant of type %s is not supported", ecc_dtype_name(t->dtype));
        return ecc_kernel_const(k, out[0], t->data, t->dtype, t->rank, t->dims);
    }
    if (strcmp(nm, "value_float") == 0 && a->type == ECC_ATTR_FLOAT)
        return ecc_kernel_const(k, out[0], &a->f, ECC_DTYPE_FLOAT, 0, NULL);
    if (strcmp(nm, "value_floats") == 0 && a->type == ECC_ATTR_FLOATS)
        return ecc_kernel_const(k, out[0], a->floats, ECC_DTYPE_FLOAT, 1, &count);
    if (strcmp(nm, "value_int") == 0 && a->type == ECC_ATTR_INT)
        return ecc_kernel_const(k, out[0], &a->i, ECC_DTYPE_INT64, 0, NULL);
    if (strcmp(nm, "value_ints") == 0 && a->type == ECC_ATTR_INTS)
        return ecc_kernel_const(k, out[0], a->ints, ECC_DTYPE_INT64, 1, &count);
    ECC_KFAIL_IF(true, k, "constant attribute '%s' (type %d) is not supported", nm,
                 (int)a->type);
fail:
    return st;
}

ECC_KERNEL_PROTO(ecc_k_constantofshape_i64) {
    (void)node;
    ecc_status st = ECC_OK;
    int64_t dims[ECC_MAX_RANK];
    size_t n;
    ECC_TRY(ecc_k_need(k, in, n_in, 0, "input"));
    ECC_TRY(ecc_k_out0(k, out, n_out));
    ECC_TRY(ecc_k_ints(k, in[0], "shape", ECC_MAX_RANK, dims, &n));
    const ecc_attr *a = ecc_node_attr(node, "value");
    int32_t dt = ECC_DTYPE_FLOAT;
    const void *val = NULL;
    if (a) {
        ECC_KFAIL_IF(a->type != ECC_ATTR_TENSOR || !a->t, k, "value must be a tensor");
        ECC_KFAIL_IF(a->t->numel != 1 || a->t->strings, k, "value must hold one number");
        dt = a->t->dtype;
        val = a->t->data;
    }
    size_t es = ecc_rt_elsize(dt);
    ECC_KFAIL_IF(!es, k, "value of type %s is not supported", ecc_dtype_name(dt));
    ECC_TRY(ecc_k_check_dims(k, dt, (int32_t)n, dims, "output shape"));
    ECC_TRY(ecc_kernel_alloc(k, out[0], dt, (int32_t)n, dims));
    int64_t numel = ecc_rt_numel(out[0]);
    uint8_t *y = out[0]->data;
    if (!val) memset(y, 0, out[0]->nbytes);
    else
        for (int64_t i = 0; i < numel; i++) memcpy(y + (size_t)i * es, val, es);
fail:
    return st;
}

/* ================= Range ================= */

static ecc_status ecc_range_int(ecc_kernel_ctx *k, const ecc_rt_tensor *const *in,
                                ecc_rt_tensor *out) {
    ecc_status st = ECC_OK;
    int64_t v[3];
    size_t n1;
    static const char *const names[] = {"start", "limit", "delta"};
    for (size_t i = 0; i < 3; i++) {
        ECC_TRY(ecc_k_ints(k, in[i], names[i], 1, &v[i], &n1));
        ECC_KFAIL_IF(n1 != 1, k, "%s must be a scalar", names[i]);
    }
    ECC_KFAIL_IF(v[2] == 0, k, "delta must be non-zero");
    uint64_t diff = v[2] > 0 ? (v[1] > v[0] ? (uint64_t)v[1] - (uint64_t)v[0] : 0)
                             : (v[0] > v[1] ? (uint64_t)v[0] - (uint64_t)v[1] : 0);
    uint64_t step = v[2] > 0 ? (uint64_t)v[2] : 0 - (uint64_t)v[2];
    uint64_t cnt = diff / step + (diff % step != 0);
    ECC_KFAIL_IF(cnt > (uint64_t)1 << 40, k, "range of %llu elements is too large",
                 (unsigned long long)cnt);
    int64_t n = (int64_t)cnt;
    ECC_TRY(ecc_k_check_dims(k, in[0]->dtype, 1, &n, "output"));
    ECC_TRY(ecc_kernel_alloc(k, out, in[0]->dtype, 1, &n));
    for (int64_t i = 0; i < n; i++) {
        uint64_t x = (uint64_t)v[0] + (uint64_t)i * (uint64_t)v[2];
        if (in[0]->dtype == ECC_DTYPE_INT64) ((int64_t *)out->data)[i] = (int64_t)x;
        else ((int32_t *)out->data)[i] = (int32_t)(uint32_t)x;
    }
fail:
    return st;
}

ECC_KERNEL_PROTO(ecc_k_range_any) {
    (void)node;
    ecc_status st = ECC_OK;
    double v[3];
    static const char *const names[] = {"start", "limit", "delta"};
    ECC_TRY(ecc_k_out0(k, out, n_out));
    for (size_t i = 0; i < 3; i++) {
        ECC_TRY(ecc_k_need(k, in, n_in, i, names[i]));
        ECC_TRY(ecc_k_dtype(k, in[i], in[0]->dtype, names[i]));
    }
    int32_t dt = in[0]->dtype;
    if (dt == ECC_DTYPE_INT64 || dt == ECC_DTYPE_INT32) return ecc_range_int(k, in, out[0]);
    ECC_KFAIL_IF(dt != ECC_DTYPE_FLOAT && dt != ECC_DTYPE_DOUBLE, k, "type %s unsupported",
                 ecc_dtype_name(dt));
    for (size_t i = 0; i < 3; i++) ECC_TRY(ecc_k_scalar(k, in[i], names[i], &v[i]));
    ECC_KFAIL_IF(v[2] == 0 || !isfinite(v[0]) || !isfinite(v[1]) || !isfinite(v[2]), k,
                 "delta must be non-zero and all values finite");
    double cnt = ceil((v[1] - v[0]) / v[2]);
    ECC_KFAIL_IF(cnt > 1e12, k, "range of %.0f elements is too large", cnt);
    int64_t n = cnt > 0 ? (int64_t)cnt : 0;
    ECC_TRY(ecc_k_check_dims(k, dt, 1, &n, "output"));
    ECC_TRY(ecc_kernel_alloc(k, out[0], dt, 1, &n));
    for (int64_t i = 0; i < n; i++) {
        if (dt == ECC_DTYPE_FLOAT)
            ((float *)out[0]->data)[i] = (float)v[0] + (float)i * (float)v[2];
        else
            ((double *)out[0]->data)[i] = v[0] + (double)i * v[2];
    }
fail:
    return st;
}

/* ================= backward ================= */

/* Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout (inference): the
 * output is the input's elements in the same order, so is its gradient. */
ECC_BACKWARD_PROTO(ecc_k_view_back_any) {
    (void)node, (void)in, (void)n_in, (void)out, (void)n_out;
    if (!din[0] || !dout[0]) return ECC_OK;
    int64_t n = ecc_rt_numel(din[0]);
    if (ecc_rt_numel(dout[0]) != n) return ecc_kernel_fail(k, "gradient size differs");
    float *dx = din[0]->data;
    const float *dy = dout[0]->data;
    for (int64_t i = 0; i < n; i++) dx[i] += dy[i];
    return ECC_OK;
}
