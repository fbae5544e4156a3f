/* kernels_quant.c — linear quantization: QuantizeLinear and
 * DequantizeLinear (per-tensor, per-axis and blocked `block_size`; int8,
 * uint8, int16, uint16, int4 and uint4 packed two per byte low nibble first;
 * int32 for dequantization), DynamicQuantizeLinear, and the quantized
 * element access other families share. Rounding is to nearest, ties to
 * even; results saturate to the type's range. */
#include "kernels.h"
#include "quant_math.h"

#include <math.h>
#include <string.h>

int32_t ecc_q_get(const void *data, int32_t dtype, int64_t i) {
    const uint8_t *b = data;
    switch (dtype) {
    case ECC_DTYPE_INT8: return ((const int8_t *)data)[i];
    case ECC_DTYPE_UINT8: return b[i];
    case ECC_DTYPE_INT16: return ((const int16_t *)data)[i];
    case ECC_DTYPE_UINT16: return ((const uint16_t *)data)[i];
    case ECC_DTYPE_INT32: return ((const int32_t *)data)[i];
    case ECC_DTYPE_UINT4: return (b[i / 2] >> (i % 2 ? 4 : 0)) & 0xF;
    case ECC_DTYPE_INT4: {
        int32_t v = (b[i / 2] >> (i % 2 ? 4 : 0)) & 0xF;
        return v >= 8 ? v - 16 : v;
    }
    default: return 0;
    }
}

static void ecc_q_set(void *data, int32_t dtype, int64_t i, int32_t v) {
    uint8_t *b = data;
    switch (dtype) {
    case ECC_DTYPE_INT8: ((int8_t *)data)[i] = (int8_t)v; break;
    case ECC_DTYPE_UINT8: b[i] = (uint8_t)v; break;
    case ECC_DTYPE_INT16: ((int16_t *)data)[i] = (int16_t)v; break;
    case ECC_DTYPE_UINT16: ((uint16_t *)data)[i] = (uint16_t)v; break;
    case ECC_DTYPE_INT4:
    case ECC_DTYPE_UINT4: {
        uint8_t nib = (uint8_t)(v & 0xF);
        uint8_t *p = &b[i / 2];
        *p = i % 2 ? (uint8_t)((*p & 0x0F) | (nib << 4)) : (uint8_t)((*p & 0xF0) | nib);
        break;
    }
    default: break;
    }
}

bool ecc_q_range(int32_t dtype, int32_t *lo, int32_t *hi) {
    switch (dtype) {
    case ECC_DTYPE_INT8: *lo = -128, *hi = 127; return true;
    case ECC_DTYPE_UINT8: *lo = 0, *hi = 255; return true;
    case ECC_DTYPE_INT16: *lo = -32768, *hi = 32767; return true;
    case ECC_DTYPE_UINT16: *lo = 0, *hi = 65535; return true;
    case ECC_DTYPE_INT4: *lo = -8, *hi = 7; return true;
    case ECC_DTYPE_UINT4: *lo = 0, *hi = 15; return true;
    default: return false;
    }
}

/* Where each element's scale and zero point live: x seen as
 * [outer, dim, inner] around axis. */
typedef struct ecc_qmap {
    bool per_tensor;
    int64_t dim, inner, block, sdim; /* sdim: scale entries along axis */
} ecc_qmap;

static inline int64_t ecc_qmap_index(const ecc_qmap *m, int64_t i) {
    if (m->per_tensor) return 0;
    int64_t inn = i % m->inner, a = (i / m->inner) % m->dim, o = i / (m->inner * m->dim);
    if (!m->block) return a;
    return (o * m->sdim + a / m->block) * m->inner + inn;
}

static ecc_status ecc_qmap_make(ecc_kernel_ctx *k, const ecc_rt_tensor *x,
                                const ecc_rt_tensor *scale, const ecc_rt_tensor *zp,
                                ecc_qmap *m) {
    ecc_status st = ECC_OK;
    int64_t axis_attr, block;
    int32_t axis = 0;
    memset(m, 0, sizeof *m);
    ECC_TRY(ecc_k_dtype(k, scale, ECC_DTYPE_FLOAT, "scale"));
    ECC_TRY(ecc_ka_int(k, "axis", 1, &axis_attr));
    ECC_TRY(ecc_ka_int(k, "block_size", 0, &block));
    ECC_KFAIL_IF(block < 0, k, "block_size must be >= 0, got %lld", (long long)block);
    int64_t sn = ecc_rt_numel(scale);
    if (zp)
        ECC_KFAIL_IF(ecc_rt_numel(zp) != sn, k, "zero point has %lld entries, scale %lld",
                     (long long)ecc_rt_numel(zp), (long long)sn);
    if (block == 0 && sn == 1 && scale->rank <= 1) {
        m->per_tensor = true;
        return ECC_OK;
    }
    ECC_TRY(ecc_k_axis(k, axis_attr, x->rank, "axis", &axis));
    m->dim = x->dims[axis];
    m->inner = ecc_k_prod(x->dims, axis + 1, x->rank);
    if (block == 0) {
        ECC_KFAIL_IF(scale->rank != 1 || sn != m->dim, k,
                     "per-axis scale must be 1-D with %lld entries (axis %d)", (long long)m->dim,
                     (int)axis);
        m->inner = m->inner ? m->inner : 1;
        m->dim = m->dim ? m->dim : 1;
        return ECC_OK;
    }
    m->block = block;
    m->sdim = (m->dim + block - 1) / block;
    ECC_KFAIL_IF(scale->rank != x->rank, k, "blocked scale must have rank %d", (int)x->rank);
    for (int32_t d = 0; d < x->rank; d++)
        ECC_KFAIL_IF(scale->dims[d] != (d == axis ? m->sdim : x->dims[d]), k,
                     "blocked scale dimension %d is %lld, expected %lld", (int)d,
                     (long long)scale->dims[d], (long long)(d == axis ? m->sdim : x->dims[d]));
    if (zp)
        for (int32_t d = 0; d < x->rank; d++)
            ECC_KFAIL_IF(zp->rank != x->rank || zp->dims[d] != scale->dims[d], k,
                         "zero point shape differs from the scale's");
    m->inner = m->inner ? m->inner : 1;
    m->dim = m->dim ? m->dim : 1;
fail:
    return st;
}

/* ================= QuantizeLinear ================= */

static ecc_status ecc_q_out_type(ecc_kernel_ctx *k, const ecc_rt_tensor *zp, int32_t *dt) {
    ecc_status st = ECC_OK;
    int64_t attr;
    int32_t lo, hi;
    ECC_TRY(ecc_ka_int(k, "output_dtype", 0, &attr));
    *dt = zp ? zp->dtype : attr ? (int32_t)attr : ECC_DTYPE_UINT8;
    ECC_KFAIL_IF(zp && attr && attr != zp->dtype, k,
                 "output_dtype %lld differs from the zero point's type %s", (long long)attr,
                 ecc_dtype_name(zp->dtype));
    ECC_KFAIL_IF(!ecc_q_range(*dt, &lo, &hi), k, "quantization to %s is not supported",
                 ecc_dtype_name(*dt));
fail:
    return st;
}

/* One Q or DQ node's elements, split over the pool in pairs of elements
 * so that no two threads write the same packed 4-bit byte. */
typedef struct ecc_q_job {
    const ecc_qmap *m;
    const float *scale;
    const void *x, *zp;  /* zp NULL: zero */
    void *y;
    int32_t dt, lo, hi;  /* the quantized type and its range */
    int64_t n;
} ecc_q_job;

static void ecc_q_span(const ecc_q_job *j, int64_t pb, int64_t pe, int64_t *b, int64_t *e) {
    *b = 2 * pb;
    *e = 2 * pe < j->n ? 2 * pe : j->n;
}

/* One scale, bytes on the quantized side: the loops without per-element
 * dispatch. */
static bool ecc_q_plain(const ecc_q_job *j) {
    return j->m->per_tensor && (j->dt == ECC_DTYPE_INT8 || j->dt == ECC_DTYPE_UINT8);
}

static void ecc_quantize_task(void *arg, int64_t pb, int64_t pe, int tid) {
    (void)tid;
    const ecc_q_job *j = arg;
    const float *x = j->x;
    int64_t b, e;
    ecc_q_span(j, pb, pe, &b, &e);
    if (ecc_q_plain(j)) {
        float s = j->scale[0];
        int32_t z = j->zp ? ecc_q_get(j->zp, j->dt, 0) : 0;
        if (j->dt == ECC_DTYPE_INT8)
            for (int64_t i = b; i < e; i++)
                ((int8_t *)j->y)[i] = (int8_t)ecc_qone(x[i], s, z, j->lo, j->hi);
        else
            for (int64_t i = b; i < e; i++)
                ((uint8_t *)j->y)[i] = (uint8_t)ecc_qone(x[i], s, z, j->lo, j->hi);
        return;
    }
    for (int64_t i = b; i < e; i++) {
        int64_t q = ecc_qmap_index(j->m, i);
        int32_t z = j->zp ? ecc_q_get(j->zp, j->dt, q) : 0;
        ecc_q_set(j->y, j->dt, i, ecc_qone(x[i], j->scale[q], z, j->lo, j->hi));
    }
}

static void ecc_dequantize_task(void *arg, int64_t pb, int64_t pe, int tid) {
    (void)tid;
    const ecc_q_job *j = arg;
    float *y = j->y;
    int64_t b, e;
    ecc_q_span(j, pb, pe, &b, &e);
    if (ecc_q_plain(j)) {
        float s = j->scale[0];
        int64_t z = j->zp ? ecc_q_get(j->zp, j->dt, 0) : 0;
        if (j->dt == ECC_DTYPE_INT8)
            for (int64_t i = b; i < e; i++) y[i] = (float)(((const int8_t *)j->x)[i] - z) * s;
        else
            for (int64_t i = b; i < e; i++) y[i] = (float)(((const uint8_t *)j->x)[i] - z) * s;
        return;
    }
    for (int64_t i = b; i < e; i++) {
        int64_t q = ecc_qmap_index(j->m, i);
        int32_t z = j->zp ? ecc_q_get(j->zp, j->dt, q) : 0;
        y[i] = (float)((int64_t)ecc_q_get(j->x, j->dt, i) - z) * j->scale[q];
    }
}

static void ecc_q_run(ecc_kernel_ctx *k, ecc_q_job *j, ecc_par_fn fn) {
    ecc_kernel_parallel(k, (j->n + 1) / 2, j->n, fn, j);
}

ECC_KERNEL_PROTO(ecc_k_quantizelinear_f32) {
    (void)node;
    ecc_status st = ECC_OK;
    ecc_qmap m;
    int32_t dt, lo, hi;
    ECC_TRY(ecc_k_need(k, in, n_in, 0, "x"));
    ECC_TRY(ecc_k_need(k, in, n_in, 1, "y_scale"));
    ECC_TRY(ecc_k_out0(k, out, n_out));
    const ecc_rt_tensor *x = in[0], *scale = in[1], *zp = ecc_k_in(in, n_in, 2);
    ECC_TRY(ecc_q_out_type(k, zp, &dt));
    ecc_q_range(dt, &lo, &hi);
    ECC_TRY(ecc_qmap_make(k, x, scale, zp, &m));
    ECC_TRY(ecc_kernel_alloc(k, out[0], dt, x->rank, x->dims));
    memset(out[0]->data, 0, out[0]->nbytes);
    ecc_q_job j = {&m, scale->data, x->data, zp ? zp->data : NULL, out[0]->data, dt, lo, hi,
                   ecc_rt_numel(x)};
    ecc_q_run(k, &j, ecc_quantize_task);
fail:
    return st;
}

/* ================= DequantizeLinear ================= */

ECC_KERNEL_PROTO(ecc_k_dequantizelinear_any) {
    (void)node;
    ecc_status st = ECC_OK;
    ecc_qmap m;
    int32_t lo, hi;
    int64_t odt;
    ECC_TRY(ecc_k_need(k, in, n_in, 0, "x"));
    ECC_TRY(ecc_k_need(k, in, n_in, 1, "x_scale"));
    ECC_TRY(ecc_k_out0(k, out, n_out));
    const ecc_rt_tensor *x = in[0], *scale = in[1], *zp = ecc_k_in(in, n_in, 2);
    ECC_KFAIL_IF(x->dtype != ECC_DTYPE_INT32 && !ecc_q_range(x->dtype, &lo, &hi), k,
                 "dequantization of %s is not supported", ecc_dtype_name(x->dtype));
    if (zp) ECC_TRY(ecc_k_dtype(k, zp, x->dtype, "x_zero_point"));
    ECC_TRY(ecc_ka_int(k, "output_dtype", 0, &odt));
    ECC_KFAIL_IF(odt && odt != ECC_DTYPE_FLOAT, k, "output_dtype %s is not supported",
                 ecc_dtype_name((int32_t)odt));
    ECC_TRY(ecc_qmap_make(k, x, scale, zp, &m));
    ECC_TRY(ecc_kernel_alloc(k, out[0], ECC_DTYPE_FLOAT, x->rank, x->dims));
    ecc_q_job j = {&m, scale->data, x->data, zp ? zp->data : NULL, out[0]->data, x->dtype, 0, 0,
                   ecc_rt_numel(x)};
    ecc_q_run(k, &j, ecc_dequantize_task);
fail:
    return st;
}

/* ================= DynamicQuantizeLinear ================= */

ECC_KERNEL_PROTO(ecc_k_dynamicquantizelinear_f32) {
    (void)node;
    ecc_status st = ECC_OK;
    ECC_TRY(ecc_k_need(k, in, n_in, 0, "x"));
    ECC_TRY(ecc_k_out0(k, out, n_out));
    const ecc_rt_tensor *x = in[0];
    const float *xs = x->data;
    int64_t n = ecc_rt_numel(x);
    float mn = 0, mx = 0;
    for (int64_t i = 0; i < n; i++) {
        ECC_KFAIL_IF(!isfinite(xs[i]), k, "input contains NaN or infinity");
        mn = xs[i] < mn ? xs[i] : mn;
        mx = xs[i] > mx ? xs[i] : mx;
    }
    float scale = (mx - mn) / 255.0f;
    float zpf = scale ? ecc_round_even_f(fminf(255.0f, fmaxf(0.0f, 0.0f - mn / scale))) : 0.0f;
    ECC_TRY(ecc_kernel_alloc(k, out[0], ECC_DTYPE_UINT8, x->rank, x->dims));
    uint8_t *y = out[0]->data;
    for (int64_t i = 0; i < n; i++) {
        float v = scale ? ecc_round_even_f(xs[i] / scale) + zpf : 0.0f;
        y[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
    if (n_out > 1 && out[1]) {
        ECC_TRY(ecc_kernel_alloc(k, out[1], ECC_DTYPE_FLOAT, 0, NULL));
        *(float *)out[1]->data = scale;
    }
    if (n_out > 2 && out[2]) {
        ECC_TRY(ecc_kernel_alloc(k, out[2], ECC_DTYPE_UINT8, 0, NULL));
        *(uint8_t *)out[2]->data = (uint8_t)zpf;
    }
fail:
    return st;
}
