/* kernels_resize.c — Resize (opsets 10-19: scales or sizes, axes,
 * keep_aspect_ratio_policy; nearest with every nearest_mode, N-linear;
 * coordinate modes half_pixel, half_pixel_symmetric, pytorch_half_pixel,
 * align_corners, asymmetric, tf_half_pixel_for_nearest, tf_crop_and_resize)
 * and the older Upsample. Coordinates are computed in float like ONNX
 * Runtime so nearest-neighbour ties fall the same way. Each axis becomes a
 * table of taps (1 nearest, 2 linear, 4 cubic) and weights; the output is
 * the weighted sum over the taps of every axis. Nearest works for any dtype,
 * linear and cubic (cubic_coeff_a, exclude_outside) for float32. */
#include "kernels.h"

#include <math.h>
#include <string.h>

typedef enum ecc_coord {
    ECC_CT_HALF_PIXEL, ECC_CT_HALF_PIXEL_SYM, ECC_CT_PYTORCH_HALF_PIXEL, ECC_CT_ALIGN_CORNERS,
    ECC_CT_ASYMMETRIC, ECC_CT_TF_HALF_PIXEL_NN, ECC_CT_TF_CROP_RESIZE, ECC_CT_COUNT
} ecc_coord;
static const char *const ecc_coord_names[ECC_CT_COUNT] = {
    [ECC_CT_HALF_PIXEL] = "half_pixel", [ECC_CT_HALF_PIXEL_SYM] = "half_pixel_symmetric",
    [ECC_CT_PYTORCH_HALF_PIXEL] = "pytorch_half_pixel", [ECC_CT_ALIGN_CORNERS] = "align_corners",
    [ECC_CT_ASYMMETRIC] = "asymmetric", [ECC_CT_TF_HALF_PIXEL_NN] = "tf_half_pixel_for_nn",
    [ECC_CT_TF_CROP_RESIZE] = "tf_crop_and_resize"};

typedef enum ecc_nearest {
    ECC_NM_SIMPLE, ECC_NM_ROUND_PREFER_FLOOR, ECC_NM_ROUND_PREFER_CEIL, ECC_NM_FLOOR, ECC_NM_CEIL,
    ECC_NM_COUNT
} ecc_nearest;
static const char *const ecc_nearest_names[ECC_NM_COUNT] = {
    [ECC_NM_SIMPLE] = "", [ECC_NM_ROUND_PREFER_FLOOR] = "round_prefer_floor",
    [ECC_NM_ROUND_PREFER_CEIL] = "round_prefer_ceil", [ECC_NM_FLOOR] = "floor",
    [ECC_NM_CEIL] = "ceil"};

typedef struct ecc_resize_args {
    int taps;                        /* 1 nearest, 2 linear, 4 cubic */
    float cubic_a;
    bool exclude_outside;
    ecc_coord coord;
    ecc_nearest nearest;
    float extrapolation;
    int32_t rank;
    float scale[ECC_MAX_RANK];
    float length[ECC_MAX_RANK];      /* length_resized of the coordinate formulas */
    float roi_start[ECC_MAX_RANK], roi_end[ECC_MAX_RANK];
    int64_t out[ECC_MAX_RANK];
} ecc_resize_args;

static ecc_status ecc_pick(ecc_kernel_ctx *k, const char *what, const char *v,
                           const char *const *names, int count, int *out) {
    for (int i = 0; i < count; i++)
        if (names[i][0] && strcmp(v, names[i]) == 0) {
            *out = i;
            return ECC_OK;
        }
    return ecc_kernel_fail(k, "%s '%s' is not supported", what, v);
}

static ecc_status ecc_resize_modes(ecc_kernel_ctx *k, bool legacy, ecc_resize_args *a) {
    ecc_status st = ECC_OK;
    const char *mode, *ct, *nm;
    int64_t antialias, exclude;
    int v = 0;
    ECC_TRY(ecc_ka_string(k, "mode", "nearest", &mode));
    a->taps = strcmp(mode, "nearest") == 0 ? 1 : strcmp(mode, "cubic") == 0 ? 4
              : strcmp(mode, "linear") == 0 || strcmp(mode, "bilinear") == 0 ? 2 : 0;
    ECC_KFAIL_IF(!a->taps, k, "mode '%s' is not nearest, linear or cubic", mode);
    ECC_KFAIL_IF(legacy && a->taps == 4, k, "cubic mode needs opset 11");
    if (legacy) {
        a->coord = ECC_CT_ASYMMETRIC;
        a->nearest = ECC_NM_SIMPLE;
        return ECC_OK;
    }
    ECC_TRY(ecc_ka_string(k, "coordinate_transformation_mode", "half_pixel", &ct));
    if (strcmp(ct, "tf_half_pixel_for_nearest") == 0) ct = "tf_half_pixel_for_nn"; /* later name */
    ECC_TRY(ecc_pick(k, "coordinate_transformation_mode", ct, ecc_coord_names, ECC_CT_COUNT, &v));
    a->coord = (ecc_coord)v;
    ECC_TRY(ecc_ka_string(k, "nearest_mode", "round_prefer_floor", &nm));
    ECC_TRY(ecc_pick(k, "nearest_mode", nm, ecc_nearest_names, ECC_NM_COUNT, &v));
    a->nearest = (ecc_nearest)v;
    ECC_TRY(ecc_ka_float(k, "extrapolation_value", 0.0f, &a->extrapolation));
    ECC_TRY(ecc_ka_float(k, "cubic_coeff_a", -0.75f, &a->cubic_a));
    ECC_TRY(ecc_ka_int(k, "antialias", 0, &antialias));
    ECC_TRY(ecc_ka_int(k, "exclude_outside", 0, &exclude));
    ECC_KFAIL_IF(antialias != 0, k, "antialias is not supported");
    ECC_KFAIL_IF(!isfinite(a->cubic_a), k, "cubic_coeff_a must be finite");
    a->exclude_outside = exclude != 0;
fail:
    return st;
}

/* Scales or sizes given for `axes` (all axes when n_axes is 0). */
static ecc_status ecc_resize_sizes(ecc_kernel_ctx *k, const ecc_rt_tensor *x,
                                   const ecc_rt_tensor *scales, const ecc_rt_tensor *sizes,
                                   const int64_t *axes, size_t n_axes, ecc_resize_args *a) {
    ecc_status st = ECC_OK;
    const char *policy;
    int32_t ax[ECC_MAX_RANK];
    size_t n = n_axes ? n_axes : (size_t)x->rank;
    for (int32_t d = 0; d < x->rank; d++) {
        a->scale[d] = 1.0f;
        a->out[d] = x->dims[d];
        a->length[d] = (float)x->dims[d];
    }
    for (size_t i = 0; i < n; i++) {
        ax[i] = (int32_t)i;
        if (n_axes) ECC_TRY(ecc_k_axis(k, axes[i], x->rank, "axis", &ax[i]));
    }
    if (scales) {
        ECC_TRY(ecc_k_dtype(k, scales, ECC_DTYPE_FLOAT, "scales"));
        ECC_KFAIL_IF(ecc_rt_numel(scales) != (int64_t)n, k, "scales has %lld entries, expected %zu",
                     (long long)ecc_rt_numel(scales), n);
        for (size_t i = 0; i < n; i++) {
            float s = ((const float *)scales->data)[i];
            int32_t d = ax[i];
            ECC_KFAIL_IF(!(s > 0) || !isfinite(s), k, "scale %g must be positive", (double)s);
            float span = a->coord == ECC_CT_TF_CROP_RESIZE ? a->roi_end[d] - a->roi_start[d] : 1.0f;
            double o = floor((double)x->dims[d] * (double)span * (double)s);
            ECC_KFAIL_IF(!(o >= 0) || o > 1e12, k, "scale %g gives an absurd output size",
                         (double)s);
            a->scale[d] = s;
            a->out[d] = (int64_t)o;
            a->length[d] = (float)x->dims[d] * s; /* the spec's (fractional) resized length */
        }
        return ECC_OK;
    }
    int64_t sz[ECC_MAX_RANK];
    size_t ns;
    ECC_KFAIL_IF(sizes->dtype != ECC_DTYPE_INT64, k, "sizes must be int64");
    ECC_TRY(ecc_k_ints(k, sizes, "sizes", ECC_MAX_RANK, sz, &ns));
    ECC_KFAIL_IF(ns != n, k, "sizes has %zu entries, expected %zu", ns, n);
    ECC_TRY(ecc_ka_string(k, "keep_aspect_ratio_policy", "stretch", &policy));
    bool larger = strcmp(policy, "not_smaller") == 0;
    ECC_KFAIL_IF(!larger && strcmp(policy, "not_larger") != 0 && strcmp(policy, "stretch") != 0,
                 k, "keep_aspect_ratio_policy '%s' is not supported", policy);
    float common = larger ? 0.0f : INFINITY;
    for (size_t i = 0; i < n; i++) {
        int32_t d = ax[i];
        ECC_KFAIL_IF(sz[i] < 0 || sz[i] > ((int64_t)1 << 40), k, "sizes[%zu] = %lld is invalid",
                     i, (long long)sz[i]);
        ECC_KFAIL_IF(x->dims[d] == 0 && sz[i] != 0, k, "cannot resize an empty axis to %lld",
                     (long long)sz[i]);
        a->out[d] = sz[i];
        a->length[d] = (float)sz[i];
        a->scale[d] = x->dims[d] ? (float)sz[i] / (float)x->dims[d] : 1.0f;
        common = larger ? fmaxf(common, a->scale[d]) : fminf(common, a->scale[d]);
    }
    if (strcmp(policy, "stretch") != 0)
        for (size_t i = 0; i < n; i++) {
            int32_t d = ax[i];
            a->scale[d] = common;
            a->out[d] = (int64_t)roundf(common * (float)x->dims[d]);
            a->length[d] = (float)a->out[d];
        }
fail:
    return st;
}

static ecc_status ecc_resize_roi(ecc_kernel_ctx *k, const ecc_rt_tensor *x,
                                 const ecc_rt_tensor *roi, const int64_t *axes, size_t n_axes,
                                 ecc_resize_args *a) {
    for (int32_t d = 0; d < x->rank; d++) {
        a->roi_start[d] = 0.0f;
        a->roi_end[d] = 1.0f;
    }
    if (a->coord != ECC_CT_TF_CROP_RESIZE) return ECC_OK;
    size_t n = n_axes ? n_axes : (size_t)x->rank;
    if (!roi || ecc_rt_numel(roi) != (int64_t)(2 * n))
        return ecc_kernel_fail(k, "tf_crop_and_resize needs an roi of %zu values", 2 * n);
    for (size_t i = 0; i < n; i++) {
        int32_t d = (int32_t)i;
        if (n_axes) {
            ecc_status st = ecc_k_axis(k, axes[i], x->rank, "axis", &d);
            if (st) return st;
        }
        a->roi_start[d] = (float)ecc_rt_get_f64(roi, (int64_t)i);
        a->roi_end[d] = (float)ecc_rt_get_f64(roi, (int64_t)(n + i));
    }
    return ECC_OK;
}

static float ecc_original(const ecc_resize_args *a, int32_t d, float x, float in, float out) {
    float s = a->scale[d];
    switch (a->coord) {
    case ECC_CT_ASYMMETRIC: return x / s;
    case ECC_CT_PYTORCH_HALF_PIXEL: return out > 1 ? (x + 0.5f) / s - 0.5f : 0.0f;
    case ECC_CT_TF_HALF_PIXEL_NN: return (x + 0.5f) / s;
    case ECC_CT_ALIGN_CORNERS: return out == 1 ? 0.0f : x * (in - 1) / (out - 1);
    case ECC_CT_TF_CROP_RESIZE: {
        float r0 = a->roi_start[d], r1 = a->roi_end[d];
        return out > 1 ? r0 * (in - 1) + (x * (r1 - r0) * (in - 1)) / (out - 1)
                       : 0.5f * (r0 + r1) * (in - 1);
    }
    case ECC_CT_HALF_PIXEL_SYM: {
        float adj = out / (s * in), off = in / 2 * (1 - adj);
        return off + (x + 0.5f) / s - 0.5f;
    }
    default: return (x + 0.5f) / s - 0.5f;
    }
}

static int64_t ecc_nearest_index(ecc_nearest m, float x, bool down) {
    switch (m) {
    case ECC_NM_SIMPLE: return down ? (int64_t)ceilf(x) : (int64_t)x;
    case ECC_NM_ROUND_PREFER_CEIL: return (int64_t)roundf(x);
    case ECC_NM_FLOOR: return (int64_t)floorf(x);
    case ECC_NM_CEIL: return (int64_t)ceilf(x);
    default:
        if (x == (float)(int64_t)x + 0.5f) return (int64_t)floorf(x);
        return (int64_t)roundf(x);
    }
}

/* Per axis: for output coordinate o, taps idx[o*T + t] (-1: extrapolate,
 * only in tap 0) with weights w[o*T + t]. */
typedef struct ecc_axis_map {
    int64_t *idx;
    float *w;
    int taps;
} ecc_axis_map;

static void ecc_cubic_weights(float r, float A, float *c) {
    float s = r + 1, t = 1 - r, u = 2 - r;
    c[0] = ((A * s - 5 * A) * s + 8 * A) * s - 4 * A;
    c[1] = ((A + 2) * r - (A + 3)) * r * r + 1;
    c[2] = ((A + 2) * t - (A + 3)) * t * t + 1;
    c[3] = ((A * u - 5 * A) * u + 8 * A) * u - 4 * A;
}

static void ecc_resize_axis(const ecc_resize_args *a, int32_t d, int64_t in, ecc_axis_map *m) {
    int64_t out = a->out[d];
    int T = m->taps;
    for (int64_t o = 0; o < out; o++) {
        int64_t *idx = m->idx + o * T;
        float *w = m->w + o * T;
        float x = ecc_original(a, d, (float)o, (float)in, a->length[d]);
        for (int t = 0; t < T; t++) idx[t] = 0, w[t] = 0;
        if (a->coord == ECC_CT_TF_CROP_RESIZE && (x < 0 || x > (float)(in - 1))) {
            idx[0] = -1;
            continue;
        }
        if (T == 1) {
            int64_t i = ecc_nearest_index(a->nearest, x, a->scale[d] < 1.0f);
            idx[0] = i < 0 ? 0 : i > in - 1 ? in - 1 : i;
            w[0] = 1;
        } else if (T == 2) {
            float xc = x < 0 ? 0 : x > (float)(in - 1) ? (float)(in - 1) : x;
            int64_t i0 = (int64_t)xc, i1 = i0 + 1 < in ? i0 + 1 : in - 1;
            idx[0] = i0;
            idx[1] = i1;
            w[1] = i0 == i1 ? 0.0f : xc - (float)i0;
            w[0] = 1 - w[1];
        } else {
            float fl = floorf(x), sum = 0;
            ecc_cubic_weights(x - fl, a->cubic_a, w);
            for (int t = 0; t < 4; t++) {
                int64_t i = (int64_t)fl - 1 + t;
                if (a->exclude_outside && (i < 0 || i >= in)) w[t] = 0;
                idx[t] = i < 0 ? 0 : i > in - 1 ? in - 1 : i;
                sum += w[t];
            }
            if (a->exclude_outside && sum != 0)
                for (int t = 0; t < 4; t++) w[t] /= sum;
        }
    }
}

typedef struct ecc_resize_job {
    const ecc_rt_tensor *x;
    uint8_t *y;
    size_t es;
    int32_t rank;
    const int64_t *out;
    ecc_axis_map *maps;
    int64_t strides[ECC_MAX_RANK];
    const void *extrap; /* es bytes */
} ecc_resize_job;

/* Weighted sum over the taps of the interpolating axes (odometer). */
static float ecc_resize_point(const ecc_resize_job *j, const int64_t *coord, const int32_t *act,
                              int32_t n_act, int64_t base) {
    const float *x = j->x->data;
    int tap[ECC_MAX_RANK] = {0};
    float acc = 0;
    for (;;) {
        float w = 1;
        int64_t off = base;
        for (int32_t b = 0; b < n_act; b++) {
            const ecc_axis_map *m = &j->maps[act[b]];
            int64_t c = coord[act[b]] * m->taps + tap[b];
            w *= m->w[c];
            off += m->idx[c] * j->strides[act[b]];
        }
        acc += w * x[off];
        int32_t b = 0;
        while (b < n_act && ++tap[b] == j->maps[act[b]].taps) tap[b++] = 0;
        if (b == n_act) return acc;
    }
}

static void ecc_resize_run(ecc_resize_job *j) {
    int32_t r = j->rank;
    int64_t coord[ECC_MAX_RANK] = {0}, n = ecc_k_prod(j->out, 0, r);
    const uint8_t *x = j->x->data;
    for (int64_t e = 0; e < n; e++) {
        int64_t base = 0;
        int32_t act[ECC_MAX_RANK], n_act = 0;
        bool extrap = false;
        for (int32_t d = 0; d < r; d++) {
            const ecc_axis_map *m = &j->maps[d];
            if (m->idx[coord[d] * m->taps] < 0) extrap = true;
            if (m->taps > 1) act[n_act++] = d;
            else base += m->idx[coord[d]] * j->strides[d];
        }
        uint8_t *dst = j->y + (size_t)e * j->es;
        if (extrap) memcpy(dst, j->extrap, j->es);
        else if (n_act == 0) memcpy(dst, x + (size_t)base * j->es, j->es);
        else {
            float v = ecc_resize_point(j, coord, act, n_act, base);
            memcpy(dst, &v, sizeof v);
        }
        for (int32_t d = r - 1; d >= 0; d--) {
            if (++coord[d] < j->out[d]) break;
            coord[d] = 0;
        }
    }
}

static ecc_status ecc_resize_exec(ecc_kernel_ctx *k, const ecc_rt_tensor *x, ecc_rt_tensor *out,
                                  ecc_resize_args *a) {
    ecc_status st = ECC_OK;
    size_t es = ecc_rt_elsize(x->dtype);
    ECC_KFAIL_IF(!es, k, "%s data is not supported", ecc_dtype_name(x->dtype));
    ECC_KFAIL_IF(a->taps > 1 && x->dtype != ECC_DTYPE_FLOAT, k,
                 "linear and cubic modes need float32 data, got %s", ecc_dtype_name(x->dtype));
    ECC_TRY(ecc_k_check_dims(k, x->dtype, x->rank, a->out, "output"));
    ECC_TRY(ecc_kernel_alloc(k, out, x->dtype, x->rank, a->out));
    if (ecc_rt_numel(out) == 0) return ECC_OK;
    ecc_axis_map maps[ECC_MAX_RANK];
    ecc_resize_job j = {x, out->data, es, x->rank, a->out, maps, {0}, NULL};
    float fx = a->extrapolation;
    uint8_t extrap[8] = {0};
    if (x->dtype == ECC_DTYPE_FLOAT) memcpy(extrap, &fx, sizeof fx);
    j.extrap = extrap;
    int64_t stride = 1;
    for (int32_t d = x->rank - 1; d >= 0; d--) {
        j.strides[d] = stride;
        stride *= x->dims[d];
    }
    for (int32_t d = 0; d < x->rank; d++) {
        int64_t o = a->out[d];
        /* an axis that keeps its size with the identity mapping needs no taps */
        bool identity = o == x->dims[d] && a->scale[d] == 1.0f &&
                        a->coord != ECC_CT_TF_CROP_RESIZE && a->coord != ECC_CT_TF_HALF_PIXEL_NN;
        int taps = identity ? 1 : a->taps;
        void *mem;
        ECC_KFAIL_IF(x->dims[d] == 0 && o > 0, k, "cannot resize an empty axis");
        size_t per = sizeof(int64_t) + sizeof(float);
        ECC_TRY(ecc_kernel_scratch(k, (size_t)(o + 1) * (size_t)taps * per, &mem));
        maps[d].taps = taps;
        maps[d].idx = mem;
        maps[d].w = (float *)(maps[d].idx + (o + 1) * taps);
        if (identity) {
            for (int64_t i = 0; i < o; i++) maps[d].idx[i] = i, maps[d].w[i] = 1;
            continue;
        }
        ecc_resize_args one = *a;
        one.taps = taps;
        ecc_resize_axis(&one, d, x->dims[d], &maps[d]);
    }
    ecc_resize_run(&j);
fail:
    return st;
}

ECC_KERNEL_PROTO(ecc_k_resize_any) {
    (void)node;
    ecc_status st = ECC_OK;
    ecc_resize_args a;
    const int64_t *axes = NULL;
    size_t n_axes = 0;
    memset(&a, 0, sizeof a);
    ECC_TRY(ecc_k_need(k, in, n_in, 0, "X"));
    ECC_TRY(ecc_k_out0(k, out, n_out));
    const ecc_rt_tensor *x = in[0];
    bool legacy = ecc_kernel_opset(k) < 11;
    ECC_TRY(ecc_resize_modes(k, legacy, &a));
    const ecc_rt_tensor *roi = legacy ? NULL : ecc_k_in(in, n_in, 1);
    const ecc_rt_tensor *scales = ecc_k_in(in, n_in, legacy ? 1 : 2);
    const ecc_rt_tensor *sizes = legacy ? NULL : ecc_k_in(in, n_in, 3);
    if (scales && ecc_rt_numel(scales) == 0) scales = NULL;
    if (sizes && ecc_rt_numel(sizes) == 0) sizes = NULL;
    ECC_KFAIL_IF(!scales == !sizes, k, "exactly one of scales and sizes must be given");
    if (ecc_kernel_opset(k) >= 18) ECC_TRY(ecc_ka_ints(k, "axes", ECC_MAX_RANK, &axes, &n_axes));
    ECC_TRY(ecc_resize_roi(k, x, roi, axes, n_axes, &a));
    ECC_TRY(ecc_resize_sizes(k, x, scales, sizes, axes, n_axes, &a));
    ECC_TRY(ecc_resize_exec(k, x, out[0], &a));
fail:
    return st;
}

/* Upsample (opsets 7-9): scales attribute (7) or input (9), asymmetric. */
ECC_KERNEL_PROTO(ecc_k_upsample_any) {
    (void)node;
    ecc_status st = ECC_OK;
    ecc_resize_args a;
    memset(&a, 0, sizeof a);
    ECC_TRY(ecc_k_need(k, in, n_in, 0, "X"));
    ECC_TRY(ecc_k_out0(k, out, n_out));
    const ecc_rt_tensor *x = in[0];
    ECC_TRY(ecc_resize_modes(k, true, &a));
    ecc_rt_tensor sc = {.dtype = ECC_DTYPE_FLOAT, .rank = 1};
    const ecc_rt_tensor *scales = ecc_k_in(in, n_in, 1);
    if (!scales) {
        const float *f;
        size_t n;
        ECC_TRY(ecc_ka_floats(k, "scales", ECC_MAX_RANK, &f, &n));
        ECC_KFAIL_IF(n == 0, k, "scales are required");
        sc.dims[0] = (int64_t)n;
        sc.data = (void *)f;
        sc.nbytes = n * sizeof(float);
        scales = &sc;
    }
    ECC_TRY(ecc_resize_roi(k, x, NULL, NULL, 0, &a));
    ECC_TRY(ecc_resize_sizes(k, x, scales, NULL, NULL, 0, &a));
    ECC_TRY(ecc_resize_exec(k, x, out[0], &a));
fail:
    return st;
}
