/* kernels_data.c — data movement for any dtype of at least one byte:
 * Transpose, Concat, Split (attribute, input or num_outputs), Slice
 * (attributes before opset 10, inputs after; negative steps, clamping as
 * the spec says), Gather, GatherElements, Expand, Tile and Pad (constant,
 * reflect, edge, wrap; attribute form before opset 11). Everything is a
 * strided copy with coalesced dimensions. */
#include "kernels.h"

#include <stddef.h>
#include <string.h>

/* Drops unit dims of a strided walk and merges neighbours that continue
 * each other; *r the coalesced rank. False if the walk is empty. */
static bool ecc_coalesce(int32_t rank, const int64_t *dims_in, const int64_t *strides_in,
                         int64_t *dims, int64_t *strides, int32_t *r) {
    *r = 0;
    for (int32_t d = 0; d < rank; d++) {
        if (dims_in[d] == 0) return false;
        if (dims_in[d] == 1) continue;
        if (*r > 0 && strides[*r - 1] == strides_in[d] * dims_in[d]) {
            dims[*r - 1] *= dims_in[d];
            strides[*r - 1] = strides_in[d];
            continue;
        }
        dims[*r] = dims_in[d];
        strides[*r] = strides_in[d];
        (*r)++;
    }
    return true;
}

/* Steps the row index idx over dims[0, r) (row-major), keeping off, the
 * row's element offset under strides, in step. */
static inline void ecc_row_next(int64_t *idx, const int64_t *dims, const int64_t *strides,
                                int32_t r, int64_t *off) {
    for (int32_t d = r - 1; d >= 0; d--) {
        idx[d]++;
        *off += strides[d];
        if (idx[d] < dims[d]) break;
        *off -= strides[d] * dims[d];
        idx[d] = 0;
    }
}

/* dst (contiguous, dims) ← src with element strides; coalesces first. */
static void ecc_copy_strided(uint8_t *dst, const uint8_t *src, int32_t rank,
                             const int64_t *dims_in, const int64_t *strides_in, size_t es) {
    int64_t dims[ECC_MAX_RANK], strides[ECC_MAX_RANK];
    int32_t r;
    if (!ecc_coalesce(rank, dims_in, strides_in, dims, strides, &r)) return;
    if (r == 0) {
        memcpy(dst, src, es);
        return;
    }
    int64_t len = dims[r - 1], step = strides[r - 1];
    int64_t rows = 1, idx[ECC_MAX_RANK] = {0}, off = 0;
    for (int32_t d = 0; d < r - 1; d++) rows *= dims[d];
    for (int64_t q = 0; q < rows; q++) {
        const uint8_t *s = src + (ptrdiff_t)off * (ptrdiff_t)es; /* strides may be negative */
        if (step == 1) memcpy(dst, s, (size_t)len * es);
        else if (es == 4)
            for (int64_t i = 0; i < len; i++) memcpy(dst + 4 * i, s + (ptrdiff_t)(4 * i * step), 4);
        else
            for (int64_t i = 0; i < len; i++)
                memcpy(dst + (size_t)i * es, s + (ptrdiff_t)(i * step) * (ptrdiff_t)es, es);
        dst += (size_t)len * es;
        ecc_row_next(idx, dims, strides, r - 1, &off);
    }
}

/* A strided view of a tensor: element offset base, then dims walked with
 * element strides (negative for reversed slices). */
typedef struct ecc_view {
    int32_t rank;
    int64_t base, dims[ECC_MAX_RANK], strides[ECC_MAX_RANK];
} ecc_view;

/* The gradient of a strided copy, float32. gather: dst (contiguous, the
 * view's dims) += src seen through v; else dst seen through v += src
 * (contiguous). The view's positions are distinct, so the order of the
 * additions does not matter. */
static void ecc_add_view(float *dst, const float *src, const ecc_view *v, bool gather) {
    int64_t dims[ECC_MAX_RANK], strides[ECC_MAX_RANK], idx[ECC_MAX_RANK] = {0}, off = 0;
    int32_t r;
    if (!ecc_coalesce(v->rank, v->dims, v->strides, dims, strides, &r)) return;
    float *d = gather ? dst : dst + v->base;
    const float *s = gather ? src + v->base : src;
    int64_t len = r ? dims[r - 1] : 1, step = r ? strides[r - 1] : 0;
    int64_t rows = r ? ecc_k_prod(dims, 0, r - 1) : 1;
    for (int64_t q = 0; q < rows; q++) {
        if (gather) {
            for (int64_t i = 0; i < len; i++) d[i] += s[off + i * step];
            d += len;
        } else {
            for (int64_t i = 0; i < len; i++) d[off + i * step] += s[i];
            s += len;
        }
        if (r) ecc_row_next(idx, dims, strides, r - 1, &off);
    }
}

static void ecc_contig_strides(const int64_t *dims, int32_t rank, int64_t *strides) {
    int64_t s = 1;
    for (int32_t d = rank - 1; d >= 0; d--) {
        strides[d] = s;
        s *= dims[d];
    }
}

static ecc_status ecc_elsize_or_fail(ecc_kernel_ctx *k, int32_t dtype, size_t *es) {
    *es = ecc_rt_elsize(dtype);
    if (*es) return ECC_OK;
    return ecc_kernel_fail(k, "%s data is not supported", ecc_dtype_name(dtype));
}

/* Input 0 (called `what`) and output 0 present; *es the input's element
 * size. */
static ecc_status ecc_data_in(ecc_kernel_ctx *k, const ecc_rt_tensor *const *in, size_t n_in,
                              ecc_rt_tensor *const *out, size_t n_out, const char *what,
                              size_t *es) {
    ecc_status st = ECC_OK;
    ECC_TRY(ecc_k_need(k, in, n_in, 0, what));
    ECC_TRY(ecc_k_out0(k, out, n_out));
    ECC_TRY(ecc_elsize_or_fail(k, in[0]->dtype, es));
fail:
    return st;
}

/* Steps coord (row-major) to the next element of dims. */
static inline void ecc_coord_next(int64_t *coord, const int64_t *dims, int32_t rank) {
    for (int32_t d = rank - 1; d >= 0; d--) {
        if (++coord[d] < dims[d]) break;
        coord[d] = 0;
    }
}

/* Backward kernels here run for float32 data only (din is float32). */
static ecc_status ecc_back_f32(ecc_kernel_ctx *k, const ecc_rt_tensor *g) {
    if (g->dtype == ECC_DTYPE_FLOAT) return ECC_OK;
    return ecc_kernel_fail(k, "no gradient for %s data (float32 only)", ecc_dtype_name(g->dtype));
}

/* Ops whose output is one strided view of input 0 (Transpose, Slice,
 * DepthToSpace, SpaceToDepth): a plan gives the view and the output dims
 * (input 0's rank); the forward copies through it, the backward adds dY
 * back through it. */
typedef ecc_status (*ecc_view_plan)(ecc_kernel_ctx *k, const ecc_rt_tensor *const *in,
                                    size_t n_in, ecc_view *v, int64_t *od);

/* Forward of a view op; `what` names input 0. */
static ecc_status ecc_view_forward(ecc_kernel_ctx *k, const ecc_rt_tensor *const *in,
                                   size_t n_in, ecc_rt_tensor *const *out, size_t n_out,
                                   const char *what, ecc_view_plan plan) {
    ecc_status st = ECC_OK;
    ecc_view v;
    int64_t od[ECC_MAX_RANK];
    size_t es;
    ECC_TRY(ecc_data_in(k, in, n_in, out, n_out, what, &es));
    ECC_TRY(plan(k, in, n_in, &v, od));
    ECC_TRY(ecc_kernel_alloc(k, out[0], in[0]->dtype, in[0]->rank, od));
    ecc_copy_strided(out[0]->data, (const uint8_t *)in[0]->data + (size_t)v.base * es, v.rank,
                     v.dims, v.strides, es);
fail:
    return st;
}

/* Backward of a view op: dX seen through the view += dY. */
static ecc_status ecc_view_backward(ecc_kernel_ctx *k, const ecc_rt_tensor *const *in,
                                    size_t n_in, const ecc_rt_tensor *const *dout,
                                    ecc_rt_tensor *const *din, ecc_view_plan plan) {
    ecc_status st = ECC_OK;
    ecc_view v;
    int64_t od[ECC_MAX_RANK];
    if (!din[0] || !dout[0]) return ECC_OK;
    ECC_TRY(ecc_back_f32(k, din[0]));
    ECC_TRY(plan(k, in, n_in, &v, od));
    ECC_KFAIL_IF(ecc_k_prod(v.dims, 0, v.rank) != ecc_rt_numel(dout[0]), k,
                 "gradient size differs from the output's");
    ecc_add_view(din[0]->data, dout[0]->data, &v, false);
fail:
    return st;
}

/* Forward ecc_k_<name>_any and backward ecc_k_<name>_back_any of a view op. */
#define ECC_VIEW_OP(name, what, plan)                                                    \
    ECC_KERNEL_PROTO(ecc_k_##name##_any) {                                               \
        (void)node;                                                                      \
        return ecc_view_forward(k, in, n_in, out, n_out, what, plan);                    \
    }                                                                                    \
    ECC_BACKWARD_PROTO(ecc_k_##name##_back_any) {                                        \
        (void)node, (void)out, (void)n_out;                                              \
        return ecc_view_backward(k, in, n_in, dout, din, plan);                          \
    }

/* ================= Transpose ================= */

/* Output dim i is input dim perm[i] (default: reversed). */
static ecc_status ecc_transpose_plan(ecc_kernel_ctx *k, const ecc_rt_tensor *const *in,
                                     size_t n_in, ecc_view *v, int64_t *od) {
    (void)n_in;
    ecc_status st = ECC_OK;
    const ecc_rt_tensor *x = in[0];
    const int64_t *perm;
    size_t n_perm;
    int64_t in_st[ECC_MAX_RANK];
    bool seen[ECC_MAX_RANK] = {false};
    ECC_TRY(ecc_ka_ints(k, "perm", ECC_MAX_RANK, &perm, &n_perm));
    ECC_KFAIL_IF(n_perm && n_perm != (size_t)x->rank, k, "perm has %zu entries for rank %d",
                 n_perm, (int)x->rank);
    ecc_contig_strides(x->dims, x->rank, in_st);
    v->rank = x->rank;
    v->base = 0;
    for (int32_t i = 0; i < x->rank; i++) {
        int64_t p = n_perm ? perm[i] : x->rank - 1 - i;
        ECC_KFAIL_IF(p < 0 || p >= x->rank || seen[p], k, "perm is not a permutation");
        seen[p] = true;
        od[i] = v->dims[i] = x->dims[p];
        v->strides[i] = in_st[p];
    }
fail:
    return st;
}

ECC_VIEW_OP(transpose, "data", ecc_transpose_plan)

/* ================= Concat / Split ================= */

/* Concat's axis: attribute (default 1 before opset 4, then required). */
static ecc_status ecc_concat_axis(ecc_kernel_ctx *k, int32_t rank, int32_t *axis) {
    ecc_status st = ECC_OK;
    int64_t axis_attr;
    ECC_TRY(ecc_ka_int(k, "axis", ecc_kernel_opset(k) < 4 ? 1 : INT64_MIN, &axis_attr));
    ECC_KFAIL_IF(axis_attr == INT64_MIN, k, "attribute 'axis' is required");
    ECC_TRY(ecc_k_axis(k, axis_attr, rank, "axis", axis));
fail:
    return st;
}

ECC_KERNEL_PROTO(ecc_k_concat_any) {
    (void)node;
    ecc_status st = ECC_OK;
    int64_t dims[ECC_MAX_RANK];
    int32_t axis;
    size_t es;
    ECC_TRY(ecc_k_out0(k, out, n_out));
    ECC_TRY(ecc_k_need(k, in, n_in, 0, "inputs"));
    const ecc_rt_tensor *x0 = in[0];
    ECC_TRY(ecc_elsize_or_fail(k, x0->dtype, &es));
    ECC_TRY(ecc_concat_axis(k, x0->rank, &axis));
    memcpy(dims, x0->dims, sizeof dims);
    dims[axis] = 0;
    for (size_t i = 0; i < n_in; i++) {
        ECC_TRY(ecc_k_need(k, in, n_in, i, "inputs"));
        ECC_TRY(ecc_k_dtype(k, in[i], x0->dtype, "every input"));
        ECC_KFAIL_IF(in[i]->rank != x0->rank, k, "input %zu has rank %d, input 0 rank %d", i,
                     (int)in[i]->rank, (int)x0->rank);
        for (int32_t d = 0; d < x0->rank; d++)
            ECC_KFAIL_IF(d != axis && in[i]->dims[d] != x0->dims[d], k,
                         "input %zu differs in dimension %d (%lld vs %lld)", i, (int)d,
                         (long long)in[i]->dims[d], (long long)x0->dims[d]);
        ECC_KFAIL_IF(!ecc_add_i64(dims[axis], in[i]->dims[axis], &dims[axis]), k, "overflow");
    }
    ECC_TRY(ecc_kernel_alloc(k, out[0], x0->dtype, x0->rank, dims));
    int64_t outer = ecc_k_prod(x0->dims, 0, axis), inner = ecc_k_prod(x0->dims, axis + 1, x0->rank);
    size_t out_row = (size_t)(dims[axis] * inner) * es, at = 0;
    for (size_t i = 0; i < n_in; i++) {
        size_t row = (size_t)(in[i]->dims[axis] * inner) * es;
        for (int64_t o = 0; o < outer; o++)
            memcpy((uint8_t *)out[0]->data + (size_t)o * out_row + at,
                   (const uint8_t *)in[i]->data + (size_t)o * row, row);
        at += row;
    }
fail:
    return st;
}

/* The rows of input i (outer x its length along the axis x inner) sit at
 * element offset `at` of each output row (row elements apart): the view
 * of the concatenated tensor that is input i. */
static ecc_view ecc_part_view(int64_t outer, int64_t row, int64_t at, int64_t full_row) {
    ecc_view v = {.rank = 2, .base = at, .dims = {outer, row}, .strides = {full_row, 1}};
    return v;
}

/* dX_i = the part of dY that input i filled. */
ECC_BACKWARD_PROTO(ecc_k_concat_back_any) {
    (void)node, (void)out, (void)n_out;
    ecc_status st = ECC_OK;
    int32_t axis;
    if (!dout[0]) return ECC_OK;
    const ecc_rt_tensor *y = dout[0];
    ECC_TRY(ecc_concat_axis(k, y->rank, &axis));
    int64_t outer = ecc_k_prod(y->dims, 0, axis), inner = ecc_k_prod(y->dims, axis + 1, y->rank);
    int64_t full_row = y->dims[axis] * inner, at = 0;
    for (size_t i = 0; i < n_in; i++) {
        int64_t row = in[i]->dims[axis] * inner;
        if (din[i]) {
            ECC_TRY(ecc_back_f32(k, din[i]));
            ecc_view v = ecc_part_view(outer, row, at, full_row);
            ecc_add_view(din[i]->data, y->data, &v, true);
        }
        at += row;
    }
fail:
    return st;
}

/* Split sizes from the attribute (< 13), input 1 (>= 13) or num_outputs. */
static ecc_status ecc_split_sizes(ecc_kernel_ctx *k, const ecc_rt_tensor *const *in,
                                  size_t n_in, size_t n_out, int64_t dim, int64_t *sizes) {
    ecc_status st = ECC_OK;
    size_t n = 0;
    const ecc_rt_tensor *t = ecc_k_in(in, n_in, 1);
    if (ecc_kernel_opset(k) < 13) {
        const int64_t *a;
        ECC_TRY(ecc_ka_ints(k, "split", n_out, &a, &n));
        if (n) memcpy(sizes, a, n * sizeof *a);
    } else if (t) {
        ECC_TRY(ecc_k_ints(k, t, "split", n_out, sizes, &n));
    }
    if (n) {
        int64_t sum = 0;
        ECC_KFAIL_IF(n != n_out, k, "split has %zu entries for %zu outputs", n, n_out);
        for (size_t i = 0; i < n; i++) {
            ECC_KFAIL_IF(sizes[i] < 0, k, "split[%zu] = %lld is negative", i, (long long)sizes[i]);
            ECC_KFAIL_IF(!ecc_add_i64(sum, sizes[i], &sum), k, "split sizes overflow");
        }
        ECC_KFAIL_IF(sum != dim, k, "split sizes add up to %lld, the axis has %lld",
                     (long long)sum, (long long)dim);
        return ECC_OK;
    }
    int64_t parts = (int64_t)n_out, num;
    ECC_TRY(ecc_ka_int(k, "num_outputs", parts, &num));
    ECC_KFAIL_IF(num != parts, k, "num_outputs %lld but %zu outputs", (long long)num, n_out);
    int64_t chunk = (dim + parts - 1) / parts;
    ECC_KFAIL_IF(ecc_kernel_opset(k) < 18 && dim % parts, k,
                 "axis of %lld does not split evenly into %lld", (long long)dim, (long long)parts);
    for (int64_t i = 0, left = dim; i < parts; i++) {
        sizes[i] = left < chunk ? left : chunk;
        left -= sizes[i];
    }
fail:
    return st;
}

/* Split's axis and the size of each output along it (scratch). */
static ecc_status ecc_split_plan(ecc_kernel_ctx *k, const ecc_rt_tensor *const *in, size_t n_in,
                                 size_t n_out, int32_t *axis, int64_t **sizes) {
    ecc_status st = ECC_OK;
    int64_t axis_attr;
    ECC_TRY(ecc_ka_int(k, "axis", 0, &axis_attr));
    ECC_TRY(ecc_k_axis(k, axis_attr, in[0]->rank, "axis", axis));
    ECC_TRY(ecc_kernel_scratch(k, n_out * sizeof **sizes, (void **)sizes));
    ECC_TRY(ecc_split_sizes(k, in, n_in, n_out, in[0]->dims[*axis], *sizes));
fail:
    return st;
}

ECC_KERNEL_PROTO(ecc_k_split_any) {
    (void)node;
    ecc_status st = ECC_OK;
    int64_t *sizes = NULL;
    int32_t axis;
    size_t es;
    ECC_TRY(ecc_k_need(k, in, n_in, 0, "input"));
    ECC_KFAIL_IF(n_out == 0, k, "no outputs");
    const ecc_rt_tensor *x = in[0];
    ECC_TRY(ecc_elsize_or_fail(k, x->dtype, &es));
    ECC_TRY(ecc_split_plan(k, in, n_in, n_out, &axis, &sizes));
    int64_t outer = ecc_k_prod(x->dims, 0, axis), inner = ecc_k_prod(x->dims, axis + 1, x->rank);
    size_t in_row = (size_t)(x->dims[axis] * inner) * es, at = 0;
    for (size_t j = 0; j < n_out; j++) {
        size_t row = (size_t)(sizes[j] * inner) * es;
        if (out[j]) {
            int64_t dims[ECC_MAX_RANK];
            memcpy(dims, x->dims, sizeof dims);
            dims[axis] = sizes[j];
            ECC_TRY(ecc_kernel_alloc(k, out[j], x->dtype, x->rank, dims));
            for (int64_t o = 0; o < outer; o++)
                memcpy((uint8_t *)out[j]->data + (size_t)o * row,
                       (const uint8_t *)x->data + (size_t)o * in_row + at, row);
        }
        at += row;
    }
fail:
    return st;
}

/* dX's part for output j += dY_j (outputs without a gradient add nothing). */
ECC_BACKWARD_PROTO(ecc_k_split_back_any) {
    (void)node, (void)out;
    ecc_status st = ECC_OK;
    int64_t *sizes = NULL;
    int32_t axis;
    if (!din[0]) return ECC_OK;
    const ecc_rt_tensor *x = din[0];
    ECC_TRY(ecc_back_f32(k, x));
    ECC_TRY(ecc_split_plan(k, in, n_in, n_out, &axis, &sizes));
    int64_t outer = ecc_k_prod(x->dims, 0, axis), inner = ecc_k_prod(x->dims, axis + 1, x->rank);
    int64_t full_row = x->dims[axis] * inner, at = 0;
    for (size_t j = 0; j < n_out; j++) {
        ecc_view v = ecc_part_view(outer, sizes[j] * inner, at, full_row);
        if (dout[j]) ecc_add_view(x->data, dout[j]->data, &v, false);
        at += sizes[j] * inner;
    }
fail:
    return st;
}

/* ================= Slice ================= */

typedef struct ecc_slice_args {
    int64_t starts[ECC_MAX_RANK], ends[ECC_MAX_RANK], axes[ECC_MAX_RANK], steps[ECC_MAX_RANK];
    size_t n, n_axes, n_steps;
} ecc_slice_args;

static ecc_status ecc_slice_read(ecc_kernel_ctx *k, const ecc_rt_tensor *const *in, size_t n_in,
                                 ecc_slice_args *a) {
    ecc_status st = ECC_OK;
    size_t n_ends = 0;
    a->n_axes = a->n_steps = 0;
    if (ecc_kernel_opset(k) < 10) {
        const int64_t *s, *e, *ax;
        ECC_TRY(ecc_ka_ints(k, "starts", ECC_MAX_RANK, &s, &a->n));
        ECC_TRY(ecc_ka_ints(k, "ends", ECC_MAX_RANK, &e, &n_ends));
        ECC_TRY(ecc_ka_ints(k, "axes", ECC_MAX_RANK, &ax, &a->n_axes));
        if (a->n) memcpy(a->starts, s, a->n * sizeof *s);
        if (n_ends) memcpy(a->ends, e, n_ends * sizeof *e);
        if (a->n_axes) memcpy(a->axes, ax, a->n_axes * sizeof *ax);
    } else {
        ECC_TRY(ecc_k_need(k, in, n_in, 1, "starts"));
        ECC_TRY(ecc_k_need(k, in, n_in, 2, "ends"));
        ECC_TRY(ecc_k_ints(k, in[1], "starts", ECC_MAX_RANK, a->starts, &a->n));
        ECC_TRY(ecc_k_ints(k, in[2], "ends", ECC_MAX_RANK, a->ends, &n_ends));
        const ecc_rt_tensor *ax = ecc_k_in(in, n_in, 3), *sp = ecc_k_in(in, n_in, 4);
        if (ax) ECC_TRY(ecc_k_ints(k, ax, "axes", ECC_MAX_RANK, a->axes, &a->n_axes));
        if (sp) ECC_TRY(ecc_k_ints(k, sp, "steps", ECC_MAX_RANK, a->steps, &a->n_steps));
    }
    ECC_KFAIL_IF(n_ends != a->n, k, "starts has %zu entries, ends %zu", a->n, n_ends);
    ECC_KFAIL_IF(a->n_axes && a->n_axes != a->n, k, "axes has %zu entries, starts %zu",
                 a->n_axes, a->n);
    ECC_KFAIL_IF(a->n_steps && a->n_steps != a->n, k, "steps has %zu entries, starts %zu",
                 a->n_steps, a->n);
fail:
    return st;
}

/* Clamped start, step and length on each axis, as the spec says. */
static ecc_status ecc_slice_plan(ecc_kernel_ctx *k, const ecc_rt_tensor *const *in, size_t n_in,
                                 ecc_view *v, int64_t *od) {
    ecc_status st = ECC_OK;
    ecc_slice_args a;
    int64_t start[ECC_MAX_RANK], step[ECC_MAX_RANK];
    bool seen[ECC_MAX_RANK] = {false};
    const ecc_rt_tensor *x = in[0];
    ECC_TRY(ecc_slice_read(k, in, n_in, &a));
    for (int32_t d = 0; d < x->rank; d++) {
        start[d] = 0;
        step[d] = 1;
        od[d] = x->dims[d];
    }
    for (size_t i = 0; i < a.n; i++) {
        int32_t ax;
        ECC_TRY(ecc_k_axis(k, a.n_axes ? a.axes[i] : (int64_t)i, x->rank, "axis", &ax));
        ECC_KFAIL_IF(seen[ax], k, "axis %d sliced twice", (int)ax);
        seen[ax] = true;
        int64_t dim = x->dims[ax], s = a.starts[i], e = a.ends[i];
        int64_t stp = a.n_steps ? a.steps[i] : 1;
        ECC_KFAIL_IF(stp == 0, k, "step for axis %d is 0", (int)ax);
        if (stp > dim || stp < -dim) stp = stp > 0 ? 1 : -1; /* at most one element either way */
        if (s < 0) s += dim;
        if (e < 0) e += dim;
        if (stp > 0) {
            s = s < 0 ? 0 : s > dim ? dim : s;
            e = e < 0 ? 0 : e > dim ? dim : e;
        } else {
            s = s < 0 ? 0 : s > dim - 1 ? dim - 1 : s;
            e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
        }
        int64_t len = stp > 0 ? (e > s ? (e - s - 1) / stp + 1 : 0)
                              : (s > e ? (s - e - 1) / -stp + 1 : 0);
        start[ax] = len ? s : 0;
        step[ax] = stp;
        od[ax] = len;
    }
    ecc_contig_strides(x->dims, x->rank, v->strides);
    v->rank = x->rank;
    v->base = 0;
    for (int32_t d = 0; d < x->rank; d++) {
        v->base += start[d] * v->strides[d];
        v->strides[d] *= step[d];
        v->dims[d] = od[d];
    }
fail:
    return st;
}

ECC_VIEW_OP(slice, "data", ecc_slice_plan)

/* ================= Gather / GatherElements ================= */

/* Inputs data and indices (int64 or int32) and the axis attribute of
 * Gather and GatherElements. */
static ecc_status ecc_gather_args(ecc_kernel_ctx *k, const ecc_rt_tensor *const *in,
                                  size_t n_in, size_t *es, int32_t *axis) {
    ecc_status st = ECC_OK;
    int64_t axis_attr;
    ECC_TRY(ecc_k_need(k, in, n_in, 0, "data"));
    ECC_TRY(ecc_k_need(k, in, n_in, 1, "indices"));
    const ecc_rt_tensor *x = in[0], *idx = in[1];
    ECC_TRY(ecc_elsize_or_fail(k, x->dtype, es));
    ECC_KFAIL_IF(idx->dtype != ECC_DTYPE_INT64 && idx->dtype != ECC_DTYPE_INT32, k,
                 "indices must be int64 or int32, got %s", ecc_dtype_name(idx->dtype));
    ECC_TRY(ecc_ka_int(k, "axis", 0, &axis_attr));
    ECC_TRY(ecc_k_axis(k, axis_attr, x->rank, "axis", axis));
fail:
    return st;
}

static ecc_status ecc_index_at(ecc_kernel_ctx *k, const ecc_rt_tensor *idx, int64_t i,
                               int64_t dim, int64_t *out) {
    int64_t v = idx->dtype == ECC_DTYPE_INT64 ? ((const int64_t *)idx->data)[i]
                                              : ((const int32_t *)idx->data)[i];
    if (v < -dim || v >= dim)
        return ecc_kernel_fail(k, "index %lld out of range [-%lld, %lld]", (long long)v,
                               (long long)dim, (long long)dim - 1);
    *out = v < 0 ? v + dim : v;
    return ECC_OK;
}

ECC_KERNEL_PROTO(ecc_k_gather_any) {
    (void)node;
    ecc_status st = ECC_OK;
    int64_t dims[ECC_MAX_RANK];
    int32_t axis;
    size_t es;
    ECC_TRY(ecc_k_out0(k, out, n_out));
    ECC_TRY(ecc_gather_args(k, in, n_in, &es, &axis));
    const ecc_rt_tensor *x = in[0], *idx = in[1];
    int32_t r = x->rank - 1 + idx->rank;
    ECC_KFAIL_IF(r > ECC_MAX_RANK, k, "result rank %d exceeds %d", (int)r, ECC_MAX_RANK);
    int32_t o = 0;
    for (int32_t d = 0; d < axis; d++) dims[o++] = x->dims[d];
    for (int32_t d = 0; d < idx->rank; d++) dims[o++] = idx->dims[d];
    for (int32_t d = axis + 1; d < x->rank; d++) dims[o++] = x->dims[d];
    ECC_TRY(ecc_k_check_dims(k, x->dtype, r, dims, "output"));
    ECC_TRY(ecc_kernel_alloc(k, out[0], x->dtype, r, dims));
    int64_t outer = ecc_k_prod(x->dims, 0, axis), dim = x->dims[axis];
    size_t block = (size_t)ecc_k_prod(x->dims, axis + 1, x->rank) * es;
    int64_t ni = ecc_rt_numel(idx);
    uint8_t *y = out[0]->data;
    for (int64_t i = 0; i < ni; i++) { /* validate once */
        int64_t v = 0;
        ECC_TRY(ecc_index_at(k, idx, i, dim, &v));
    }
    for (int64_t q = 0; q < outer; q++)
        for (int64_t i = 0; i < ni; i++) {
            int64_t v = 0;
            ecc_index_at(k, idx, i, dim, &v);
            memcpy(y, (const uint8_t *)x->data + ((size_t)(q * dim + v)) * block, block);
            y += block;
        }
fail:
    return st;
}

/* Embedding-table gradient: each block of dY is added to the row of dX
 * its index picked, serially in dY's order, so repeated indices sum the
 * same way on any thread count. Indices get no gradient. */
ECC_BACKWARD_PROTO(ecc_k_gather_back_any) {
    (void)node, (void)out, (void)n_out;
    ecc_status st = ECC_OK;
    int32_t axis;
    size_t es;
    if (!din[0] || !dout[0]) return ECC_OK;
    ECC_TRY(ecc_back_f32(k, din[0]));
    ECC_TRY(ecc_gather_args(k, in, n_in, &es, &axis));
    const ecc_rt_tensor *idx = in[1];
    float *dx = din[0]->data;
    const float *dy = dout[0]->data;
    int64_t outer = ecc_k_prod(din[0]->dims, 0, axis), dim = din[0]->dims[axis];
    int64_t block = ecc_k_prod(din[0]->dims, axis + 1, din[0]->rank), ni = ecc_rt_numel(idx);
    ECC_KFAIL_IF(outer * ni * block != ecc_rt_numel(dout[0]), k,
                 "gradient size differs from the output's");
    for (int64_t q = 0; q < outer; q++)
        for (int64_t i = 0; i < ni; i++, dy += block) {
            int64_t v = 0;
            ECC_TRY(ecc_index_at(k, idx, i, dim, &v));
            float *row = dx + (q * dim + v) * block;
            for (int64_t e = 0; e < block; e++) row[e] += dy[e];
        }
fail:
    return st;
}

ECC_KERNEL_PROTO(ecc_k_gatherelements_any) {
    (void)node;
    ecc_status st = ECC_OK;
    int64_t strides[ECC_MAX_RANK];
    int32_t axis;
    size_t es;
    ECC_TRY(ecc_k_out0(k, out, n_out));
    ECC_TRY(ecc_gather_args(k, in, n_in, &es, &axis));
    const ecc_rt_tensor *x = in[0], *idx = in[1];
    ECC_KFAIL_IF(idx->rank != x->rank, k, "indices rank %d differs from data rank %d",
                 (int)idx->rank, (int)x->rank);
    for (int32_t d = 0; d < x->rank; d++)
        ECC_KFAIL_IF(d != axis && idx->dims[d] > x->dims[d], k,
                     "indices dimension %d exceeds the data's", (int)d);
    ECC_TRY(ecc_kernel_alloc(k, out[0], x->dtype, idx->rank, idx->dims));
    ecc_contig_strides(x->dims, x->rank, strides);
    int64_t n = ecc_rt_numel(idx), coord[ECC_MAX_RANK] = {0};
    for (int64_t i = 0; i < n; i++) {
        int64_t v = 0, off = 0;
        ECC_TRY(ecc_index_at(k, idx, i, x->dims[axis], &v));
        for (int32_t d = 0; d < x->rank; d++) off += (d == axis ? v : coord[d]) * strides[d];
        memcpy((uint8_t *)out[0]->data + (size_t)i * es,
               (const uint8_t *)x->data + (size_t)off * es, es);
        ecc_coord_next(coord, idx->dims, x->rank);
    }
fail:
    return st;
}

/* dX[the element index i picked] += dY[i], serially in dY's order. */
ECC_BACKWARD_PROTO(ecc_k_gatherelements_back_any) {
    (void)node, (void)out, (void)n_out;
    ecc_status st = ECC_OK;
    int64_t strides[ECC_MAX_RANK], coord[ECC_MAX_RANK] = {0};
    int32_t axis;
    size_t es;
    if (!din[0] || !dout[0]) return ECC_OK;
    ECC_TRY(ecc_back_f32(k, din[0]));
    ECC_TRY(ecc_gather_args(k, in, n_in, &es, &axis));
    const ecc_rt_tensor *x = din[0], *idx = in[1];
    ECC_KFAIL_IF(idx->rank != x->rank || ecc_rt_numel(idx) != ecc_rt_numel(dout[0]), k,
                 "gradient size differs from the output's");
    ecc_contig_strides(x->dims, x->rank, strides);
    float *dx = x->data;
    const float *dy = dout[0]->data;
    for (int64_t i = 0, n = ecc_rt_numel(idx); i < n; i++) {
        int64_t v = 0, off = 0;
        ECC_TRY(ecc_index_at(k, idx, i, x->dims[axis], &v));
        for (int32_t d = 0; d < x->rank; d++) off += (d == axis ? v : coord[d]) * strides[d];
        dx[off] += dy[i];
        ecc_coord_next(coord, idx->dims, x->rank);
    }
fail:
    return st;
}

/* ================= Expand / Tile ================= */

/* Inputs `input` and the shape-like int list `what` (into v, *n entries),
 * output 0; *es the input's element size. */
static ecc_status ecc_data_ints_in(ecc_kernel_ctx *k, const ecc_rt_tensor *const *in,
                                   size_t n_in, ecc_rt_tensor *const *out, size_t n_out,
                                   const char *what, int64_t *v, size_t *n, size_t *es) {
    ecc_status st = ECC_OK;
    ECC_TRY(ecc_k_need(k, in, n_in, 0, "input"));
    ECC_TRY(ecc_k_need(k, in, n_in, 1, what));
    ECC_TRY(ecc_k_out0(k, out, n_out));
    ECC_TRY(ecc_elsize_or_fail(k, in[0]->dtype, es));
    ECC_TRY(ecc_k_ints(k, in[1], what, ECC_MAX_RANK, v, n));
fail:
    return st;
}

ECC_KERNEL_PROTO(ecc_k_expand_any) {
    (void)node;
    ecc_status st = ECC_OK;
    int64_t shape[ECC_MAX_RANK];
    size_t n, es;
    ecc_bcast bc;
    ECC_TRY(ecc_data_ints_in(k, in, n_in, out, n_out, "shape", shape, &n, &es));
    const ecc_rt_tensor *x = in[0];
    for (size_t i = 0; i < n; i++)
        ECC_KFAIL_IF(shape[i] < 0, k, "shape[%zu] = %lld is negative", i, (long long)shape[i]);
    int32_t ranks[2] = {x->rank, (int32_t)n};
    const int64_t *dims[2] = {x->dims, shape};
    ECC_TRY(ecc_k_bcast_dims(k, 2, ranks, dims, &bc));
    ECC_TRY(ecc_k_check_dims(k, x->dtype, bc.out_rank, bc.out_dims, "output"));
    if (bc.out_rank == x->rank && memcmp(bc.out_dims, x->dims, (size_t)x->rank * 8) == 0)
        return ecc_kernel_alias(k, out[0], 0, x->rank, x->dims);
    ECC_TRY(ecc_kernel_alloc(k, out[0], x->dtype, bc.out_rank, bc.out_dims));
    ECC_TRY(ecc_k_broadcast_copy(k, x, out[0]));
fail:
    return st;
}

/* dX = dY summed over the expanded dimensions. */
ECC_BACKWARD_PROTO(ecc_k_expand_back_any) {
    (void)node, (void)in, (void)n_in, (void)out, (void)n_out;
    if (!din[0] || !dout[0]) return ECC_OK;
    ecc_status st = ecc_back_f32(k, din[0]);
    return st ? st : ecc_k_unbroadcast_add(k, dout[0], din[0], 1.0f);
}

/* Element offset in x (contiguous strides) of output coordinate coord. */
static inline int64_t ecc_tile_src(const int64_t *coord, const int64_t *xd,
                                   const int64_t *strides, int32_t rank) {
    int64_t off = 0;
    for (int32_t d = 0; d < rank; d++) off += (coord[d] % xd[d]) * strides[d];
    return off;
}

ECC_KERNEL_PROTO(ecc_k_tile_any) {
    (void)node;
    ecc_status st = ECC_OK;
    int64_t reps[ECC_MAX_RANK], dims[ECC_MAX_RANK];
    size_t n, es;
    ECC_TRY(ecc_data_ints_in(k, in, n_in, out, n_out, "repeats", reps, &n, &es));
    const ecc_rt_tensor *x = in[0];
    ECC_KFAIL_IF(n != (size_t)x->rank, k, "repeats has %zu entries for rank %d", n, (int)x->rank);
    for (int32_t d = 0; d < x->rank; d++) {
        ECC_KFAIL_IF(reps[d] < 0, k, "repeats[%d] is negative", (int)d);
        ECC_KFAIL_IF(!ecc_mul_i64(x->dims[d], reps[d], &dims[d]), k, "output size overflows");
    }
    ECC_TRY(ecc_k_check_dims(k, x->dtype, x->rank, dims, "output"));
    ECC_TRY(ecc_kernel_alloc(k, out[0], x->dtype, x->rank, dims));
    int64_t n_out_el = ecc_rt_numel(out[0]), coord[ECC_MAX_RANK] = {0}, strides[ECC_MAX_RANK];
    ecc_contig_strides(x->dims, x->rank, strides);
    for (int64_t i = 0; i < n_out_el; i++) {
        int64_t off = ecc_tile_src(coord, x->dims, strides, x->rank);
        memcpy((uint8_t *)out[0]->data + (size_t)i * es,
               (const uint8_t *)x->data + (size_t)off * es, es);
        ecc_coord_next(coord, dims, x->rank);
    }
fail:
    return st;
}

/* dX = the sum of dY's tiles, serially in dY's order. */
ECC_BACKWARD_PROTO(ecc_k_tile_back_any) {
    (void)node, (void)in, (void)n_in, (void)out, (void)n_out;
    ecc_status st = ECC_OK;
    int64_t coord[ECC_MAX_RANK] = {0}, strides[ECC_MAX_RANK];
    if (!din[0] || !dout[0]) return ECC_OK;
    const ecc_rt_tensor *x = din[0], *y = dout[0];
    ECC_TRY(ecc_back_f32(k, x));
    ECC_KFAIL_IF(y->rank != x->rank, k, "gradient rank differs from the output's");
    ecc_contig_strides(x->dims, x->rank, strides);
    float *dx = x->data;
    const float *dy = y->data;
    for (int64_t i = 0, n = ecc_rt_numel(y); i < n; i++) {
        dx[ecc_tile_src(coord, x->dims, strides, x->rank)] += dy[i];
        ecc_coord_next(coord, y->dims, y->rank);
    }
fail:
    return st;
}

/* ================= Pad ================= */

typedef enum ecc_pad_mode {
    ECC_PADM_CONSTANT, ECC_PADM_REFLECT, ECC_PADM_EDGE, ECC_PADM_WRAP
} ecc_pad_mode;

/* Source coordinate of output coordinate o on an axis (in coordinates), or
 * -1 for the constant value. */
static int64_t ecc_pad_src(ecc_pad_mode m, int64_t o, int64_t pb, int64_t n) {
    int64_t i = o - pb;
    if (i >= 0 && i < n) return i;
    if (m == ECC_PADM_CONSTANT || n == 0) return -1;
    if (m == ECC_PADM_EDGE) return i < 0 ? 0 : n - 1;
    if (m == ECC_PADM_WRAP) return ((i % n) + n) % n;
    if (n == 1) return 0; /* reflect */
    int64_t period = 2 * (n - 1);
    i = ((i % period) + period) % period;
    return i < n ? i : period - i;
}

typedef struct ecc_pad_args {
    ecc_pad_mode mode;
    int64_t pb[ECC_MAX_RANK], pe[ECC_MAX_RANK];
    uint8_t value[16];
} ecc_pad_args;

static ecc_status ecc_pad_read(ecc_kernel_ctx *k, const ecc_rt_tensor *const *in, size_t n_in,
                               ecc_pad_args *a) {
    ecc_status st = ECC_OK;
    const ecc_rt_tensor *x = in[0];
    const char *mode;
    int64_t pads[2 * ECC_MAX_RANK], axes[ECC_MAX_RANK];
    size_t n_pads = 0, n_axes = 0;
    float fval = 0;
    memset(a, 0, sizeof *a);
    ECC_TRY(ecc_ka_string(k, "mode", "constant", &mode));
    static const char *const modes[] = {"constant", "reflect", "edge", "wrap"};
    int m = -1;
    for (int i = 0; i < 4; i++)
        if (strcmp(mode, modes[i]) == 0) m = i;
    ECC_KFAIL_IF(m < 0, k, "mode '%s' is not constant, reflect, edge or wrap", mode);
    a->mode = (ecc_pad_mode)m;
    if (ecc_kernel_opset(k) < 11) {
        const int64_t *p;
        ECC_TRY(ecc_ka_ints(k, ecc_kernel_opset(k) < 2 ? "paddings" : "pads", 2 * ECC_MAX_RANK,
                            &p, &n_pads));
        if (n_pads) memcpy(pads, p, n_pads * sizeof *p);
        ECC_TRY(ecc_ka_float(k, "value", 0.0f, &fval));
        ECC_KFAIL_IF(x->dtype != ECC_DTYPE_FLOAT && fval != 0, k,
                     "a non-zero pad value needs float32 data");
        memcpy(a->value, &fval, sizeof fval);
    } else {
        ECC_TRY(ecc_k_need(k, in, n_in, 1, "pads"));
        ECC_TRY(ecc_k_ints(k, in[1], "pads", 2 * ECC_MAX_RANK, pads, &n_pads));
        const ecc_rt_tensor *cv = ecc_k_in(in, n_in, 2), *ax = ecc_k_in(in, n_in, 3);
        if (cv && ecc_rt_numel(cv)) {
            ECC_TRY(ecc_k_dtype(k, cv, x->dtype, "constant_value"));
            ECC_KFAIL_IF(ecc_rt_numel(cv) != 1, k, "constant_value must be a scalar");
            /* the backward kernel gets no data here: it never needs the value */
            if (cv->data) memcpy(a->value, cv->data, ecc_rt_elsize(x->dtype));
        }
        if (ax) ECC_TRY(ecc_k_ints(k, ax, "axes", ECC_MAX_RANK, axes, &n_axes));
    }
    size_t per = n_axes ? n_axes : (size_t)x->rank;
    ECC_KFAIL_IF(n_pads != 2 * per, k, "pads has %zu entries, expected %zu", n_pads, 2 * per);
    for (size_t i = 0; i < per; i++) {
        int32_t d = (int32_t)i;
        if (n_axes) ECC_TRY(ecc_k_axis(k, axes[i], x->rank, "axis", &d));
        ECC_KFAIL_IF(pads[i] > ECC_KERNEL_MAX_BYTES || pads[per + i] > ECC_KERNEL_MAX_BYTES ||
                         pads[i] < -ECC_KERNEL_MAX_BYTES || pads[per + i] < -ECC_KERNEL_MAX_BYTES,
                     k, "pad amount out of range");
        a->pb[d] = pads[i];
        a->pe[d] = pads[per + i];
    }
fail:
    return st;
}

/* Element offset in x (contiguous strides) that output coordinate coord
 * reads, or -1 for the constant value. */
static int64_t ecc_pad_at(const ecc_pad_args *a, const int64_t *coord, const int64_t *xd,
                          const int64_t *strides, int32_t rank) {
    int64_t off = 0;
    for (int32_t d = 0; d < rank; d++) {
        int64_t s = ecc_pad_src(a->mode, coord[d], a->pb[d], xd[d]);
        if (s < 0) return -1;
        off += s * strides[d];
    }
    return off;
}

ECC_KERNEL_PROTO(ecc_k_pad_any) {
    (void)node;
    ecc_status st = ECC_OK;
    ecc_pad_args a;
    size_t es;
    int64_t dims[ECC_MAX_RANK], strides[ECC_MAX_RANK], coord[ECC_MAX_RANK] = {0};
    ECC_TRY(ecc_data_in(k, in, n_in, out, n_out, "data", &es));
    const ecc_rt_tensor *x = in[0];
    ECC_TRY(ecc_pad_read(k, in, n_in, &a));
    for (int32_t d = 0; d < x->rank; d++) {
        dims[d] = x->dims[d] + a.pb[d] + a.pe[d];
        ECC_KFAIL_IF(dims[d] < 0, k, "axis %d would have negative size", (int)d);
        ECC_KFAIL_IF(a.mode != ECC_PADM_CONSTANT && x->dims[d] == 0 && dims[d] > 0, k,
                     "cannot %s-pad an empty axis", a.mode == ECC_PADM_EDGE ? "edge" : "reflect");
    }
    ECC_TRY(ecc_k_check_dims(k, x->dtype, x->rank, dims, "output"));
    ECC_TRY(ecc_kernel_alloc(k, out[0], x->dtype, x->rank, dims));
    ecc_contig_strides(x->dims, x->rank, strides);
    int64_t n = ecc_rt_numel(out[0]);
    uint8_t *y = out[0]->data;
    for (int64_t i = 0; i < n; i++) { /* per element: simple and exact for every mode */
        int64_t off = ecc_pad_at(&a, coord, x->dims, strides, x->rank);
        memcpy(y + (size_t)i * es, off < 0 ? a.value : (const uint8_t *)x->data + (size_t)off * es,
               es);
        ecc_coord_next(coord, dims, x->rank);
    }
fail:
    return st;
}

/* Every mode: each element of dY goes back to the element of X it was read
 * from (the interior; for reflect, edge and wrap also the mirrored, edge or
 * wrapped one), serially in dY's order; elements that read the constant
 * add to the gradient of constant_value (opset 11 on, when it is trained). */
ECC_BACKWARD_PROTO(ecc_k_pad_back_any) {
    (void)node, (void)out, (void)n_out;
    ecc_status st = ECC_OK;
    ecc_pad_args a;
    int64_t coord[ECC_MAX_RANK] = {0}, strides[ECC_MAX_RANK];
    ecc_rt_tensor *dv = n_in > 2 ? din[2] : NULL;
    if ((!din[0] && !dv) || !dout[0]) return ECC_OK;
    const ecc_rt_tensor *x = in[0], *y = dout[0];
    if (din[0]) ECC_TRY(ecc_back_f32(k, din[0]));
    if (dv) ECC_TRY(ecc_back_f32(k, dv));
    ECC_KFAIL_IF(dv && ecc_rt_numel(dv) != 1, k, "constant_value must be a scalar");
    ECC_KFAIL_IF(y->rank != x->rank, k, "gradient rank differs from the output's");
    ECC_TRY(ecc_pad_read(k, in, n_in, &a));
    ecc_contig_strides(x->dims, x->rank, strides);
    float *dx = din[0] ? din[0]->data : NULL;
    const float *dy = y->data;
    double dc = 0;
    for (int64_t i = 0, n = ecc_rt_numel(y); i < n; i++) {
        int64_t off = ecc_pad_at(&a, coord, x->dims, strides, x->rank);
        if (off < 0) dc += dy[i];
        else if (dx) dx[off] += dy[i];
        ecc_coord_next(coord, y->dims, y->rank);
    }
    if (dv) *(float *)dv->data += (float)dc;
fail:
    return st;
}

/* ================= DepthToSpace / SpaceToDepth ================= */

/* The 6-D view of x (contiguous dims vd) walked in the order perm. */
static void ecc_permuted_view(ecc_view *v, const int64_t *vd, const int *perm) {
    int64_t st[6];
    ecc_contig_strides(vd, 6, st);
    v->rank = 6;
    v->base = 0;
    for (int i = 0; i < 6; i++) {
        v->dims[i] = vd[perm[i]];
        v->strides[i] = st[perm[i]];
    }
}

/* Input 0 is [N, C, H, W]; *b the blocksize. */
static ecc_status ecc_block_args(ecc_kernel_ctx *k, const ecc_rt_tensor *x, int64_t *b) {
    ecc_status st = ECC_OK;
    ECC_KFAIL_IF(x->rank != 4, k, "input must be [N, C, H, W], got rank %d", (int)x->rank);
    ECC_TRY(ecc_ka_int(k, "blocksize", 0, b));
    ECC_KFAIL_IF(*b < 1 || *b > 4096, k, "blocksize %lld is out of range", (long long)*b);
fail:
    return st;
}

/* DepthToSpace, DCR or CRD order. */
static ecc_status ecc_depthtospace_plan(ecc_kernel_ctx *k, const ecc_rt_tensor *const *in,
                                        size_t n_in, ecc_view *v, int64_t *od) {
    (void)n_in;
    ecc_status st = ECC_OK;
    int64_t b;
    const char *mode;
    ECC_TRY(ecc_block_args(k, in[0], &b));
    ECC_TRY(ecc_ka_string(k, "mode", "DCR", &mode));
    bool crd = strcmp(mode, "CRD") == 0;
    ECC_KFAIL_IF(!crd && strcmp(mode, "DCR") != 0, k, "mode '%s' is not DCR or CRD", mode);
    const int64_t *d = in[0]->dims;
    ECC_KFAIL_IF(d[1] % (b * b), k, "channels %lld not divisible by blocksize^2", (long long)d[1]);
    int64_t c = d[1] / (b * b);
    od[0] = d[0], od[1] = c, od[2] = d[2] * b, od[3] = d[3] * b;
    int64_t dcr[6] = {d[0], b, b, c, d[2], d[3]}, crdv[6] = {d[0], c, b, b, d[2], d[3]};
    static const int p_dcr[6] = {0, 3, 4, 1, 5, 2}, p_crd[6] = {0, 1, 4, 2, 5, 3};
    ecc_permuted_view(v, crd ? crdv : dcr, crd ? p_crd : p_dcr);
fail:
    return st;
}

static ecc_status ecc_spacetodepth_plan(ecc_kernel_ctx *k, const ecc_rt_tensor *const *in,
                                        size_t n_in, ecc_view *v, int64_t *od) {
    (void)n_in;
    ecc_status st = ECC_OK;
    int64_t b;
    ECC_TRY(ecc_block_args(k, in[0], &b));
    const int64_t *d = in[0]->dims;
    ECC_KFAIL_IF(d[2] % b || d[3] % b, k, "spatial dims not divisible by blocksize %lld",
                 (long long)b);
    od[0] = d[0], od[1] = d[1] * b * b, od[2] = d[2] / b, od[3] = d[3] / b;
    int64_t vd[6] = {d[0], d[1], d[2] / b, b, d[3] / b, b};
    static const int p[6] = {0, 3, 5, 1, 2, 4};
    ecc_permuted_view(v, vd, p);
fail:
    return st;
}

ECC_VIEW_OP(depthtospace, "input", ecc_depthtospace_plan)
ECC_VIEW_OP(spacetodepth, "input", ecc_spacetodepth_plan)
