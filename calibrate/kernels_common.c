/* kernels_common.c — helpers every kernel family shares: element sizes,
 * strict attribute readers, axis normalisation, reading shape tensors,
 * element access across dtypes and NumPy broadcasting with coalesced
 * iteration. */
#include "kernels.h"

#include <math.h>
#include <string.h>

int64_t ecc_rt_numel(const ecc_rt_tensor *t) {
    int64_t n = 1;
    for (int32_t i = 0; i < t->rank; i++) n *= t->dims[i];
    return n;
}

size_t ecc_rt_elsize(int32_t dtype) {
    const ecc_dtype_traits *tr = ecc_dtype_get(dtype);
    if (!tr || tr->bits < 8 || tr->dclass == ECC_DC_STRING) return 0;
    return tr->bits / 8;
}

ecc_status ecc_k_need(ecc_kernel_ctx *k, const ecc_rt_tensor *const *in, size_t n_in, size_t i,
                      const char *what) {
    if (ecc_k_in(in, n_in, i)) return ECC_OK;
    return ecc_kernel_fail(k, "missing required input %zu (%s)", i, what);
}

ecc_status ecc_k_dtype(ecc_kernel_ctx *k, const ecc_rt_tensor *t, int32_t dtype,
                       const char *what) {
    if (t->dtype == dtype) return ECC_OK;
    return ecc_kernel_fail(k, "%s must be %s, got %s", what, ecc_dtype_name(dtype),
                           ecc_dtype_name(t->dtype));
}

ecc_status ecc_k_out0(ecc_kernel_ctx *k, ecc_rt_tensor *const *out, size_t n_out) {
    if (n_out >= 1 && out[0]) return ECC_OK;
    return ecc_kernel_fail(k, "output 0 is missing");
}

static ecc_status ecc_ka_get(ecc_kernel_ctx *k, const char *name, int32_t type,
                             const ecc_attr **out) {
    *out = ecc_node_attr(ecc_kernel_node(k), name);
    if (!*out || (*out)->type == type) return ECC_OK;
    static const char *const names[] = {"undefined", "float", "int", "string", "tensor",
                                        "graph", "floats", "ints", "strings", "tensors",
                                        "graphs", "sparse_tensor", "sparse_tensors",
                                        "type_proto", "type_protos"};
    int32_t have = (*out)->type;
    return ecc_kernel_fail(k, "attribute '%s' must be %s, not %s", name, names[type],
                           have >= 0 && have <= 14 ? names[have] : "unknown");
}

ecc_status ecc_ka_int(ecc_kernel_ctx *k, const char *name, int64_t dflt, int64_t *out) {
    const ecc_attr *a;
    ecc_status st = ecc_ka_get(k, name, ECC_ATTR_INT, &a);
    *out = a ? a->i : dflt;
    return st;
}

ecc_status ecc_ka_float(ecc_kernel_ctx *k, const char *name, float dflt, float *out) {
    const ecc_attr *a;
    ecc_status st = ecc_ka_get(k, name, ECC_ATTR_FLOAT, &a);
    *out = a ? a->f : dflt;
    return st;
}

ecc_status ecc_ka_string(ecc_kernel_ctx *k, const char *name, const char *dflt,
                         const char **out) {
    const ecc_attr *a;
    ecc_status st = ecc_ka_get(k, name, ECC_ATTR_STRING, &a);
    *out = dflt;
    if (st || !a) return st;
    *out = a->s.data ? (const char *)a->s.data : "";
    if (strlen(*out) != a->s.len)
        return ecc_kernel_fail(k, "attribute '%s' contains a NUL byte", name);
    return ECC_OK;
}

/* st, unless it is ECC_OK and the list attribute has more than max entries. */
static ecc_status ecc_ka_list_max(ecc_kernel_ctx *k, const char *name, ecc_status st, size_t n,
                                  size_t max) {
    if (!st && n > max)
        return ecc_kernel_fail(k, "attribute '%s' has %zu entries, at most %zu allowed", name, n,
                               max);
    return st;
}

ecc_status ecc_ka_ints(ecc_kernel_ctx *k, const char *name, size_t max, const int64_t **v,
                       size_t *n) {
    const ecc_attr *a;
    ecc_status st = ecc_ka_get(k, name, ECC_ATTR_INTS, &a);
    *v = a ? a->ints : NULL;
    *n = a ? a->n : 0;
    return ecc_ka_list_max(k, name, st, *n, max);
}

ecc_status ecc_ka_floats(ecc_kernel_ctx *k, const char *name, size_t max, const float **v,
                         size_t *n) {
    const ecc_attr *a;
    ecc_status st = ecc_ka_get(k, name, ECC_ATTR_FLOATS, &a);
    *v = a ? a->floats : NULL;
    *n = a ? a->n : 0;
    return ecc_ka_list_max(k, name, st, *n, max);
}

ecc_status ecc_k_axis(ecc_kernel_ctx *k, int64_t axis, int32_t rank, const char *what,
                      int32_t *out) {
    if (axis < -(int64_t)rank || axis >= (int64_t)rank || (rank == 0))
        return ecc_kernel_fail(k, "%s %lld out of range for rank %d", what, (long long)axis,
                               (int)rank);
    *out = (int32_t)(axis < 0 ? axis + rank : axis);
    return ECC_OK;
}

ecc_status ecc_k_ints(ecc_kernel_ctx *k, const ecc_rt_tensor *t, const char *what, size_t max,
                      int64_t *v, size_t *n) {
    if (t->dtype != ECC_DTYPE_INT64 && t->dtype != ECC_DTYPE_INT32)
        return ecc_kernel_fail(k, "%s must be int64 or int32, got %s", what,
                               ecc_dtype_name(t->dtype));
    if (t->rank > 1)
        return ecc_kernel_fail(k, "%s must be a scalar or 1-D, got rank %d", what,
                               (int)t->rank);
    int64_t numel = ecc_rt_numel(t);
    if (numel > (int64_t)max)
        return ecc_kernel_fail(k, "%s has %lld entries, at most %zu allowed", what,
                               (long long)numel, max);
    for (int64_t i = 0; i < numel; i++)
        v[i] = t->dtype == ECC_DTYPE_INT64 ? ((const int64_t *)t->data)[i]
                                           : ((const int32_t *)t->data)[i];
    *n = (size_t)numel;
    return ECC_OK;
}

double ecc_rt_get_f64(const ecc_rt_tensor *t, int64_t i) {
    if (t->dtype == ECC_DTYPE_BOOL) return ((const uint8_t *)t->data)[i] != 0;
    return ecc_dtype_load_f64(t->data, t->dtype, i, NAN);
}

ecc_status ecc_k_scalar(ecc_kernel_ctx *k, const ecc_rt_tensor *t, const char *what,
                        double *out) {
    if (ecc_rt_numel(t) != 1)
        return ecc_kernel_fail(k, "%s must have one element, has %lld", what,
                               (long long)ecc_rt_numel(t));
    *out = ecc_rt_get_f64(t, 0);
    if (isnan(*out) && t->dtype != ECC_DTYPE_FLOAT && t->dtype != ECC_DTYPE_DOUBLE &&
        t->dtype != ECC_DTYPE_FLOAT16 && t->dtype != ECC_DTYPE_BFLOAT16)
        return ecc_kernel_fail(k, "%s has unsupported type %s", what, ecc_dtype_name(t->dtype));
    return ECC_OK;
}

int64_t ecc_k_prod(const int64_t *dims, int32_t begin, int32_t end) {
    int64_t p = 1;
    for (int32_t i = begin; i < end; i++) p *= dims[i];
    return p;
}

ecc_status ecc_k_check_dims(ecc_kernel_ctx *k, int32_t dtype, int32_t rank,
                            const int64_t *dims, const char *what) {
    if (rank > ECC_MAX_RANK)
        return ecc_kernel_fail(k, "%s has rank %d; the interpreter supports up to %d", what,
                               (int)rank, ECC_MAX_RANK);
    int64_t numel = 1;
    for (int32_t i = 0; i < rank; i++) {
        if (dims[i] < 0)
            return ecc_kernel_fail(k, "%s has a negative dimension (%lld)", what,
                                   (long long)dims[i]);
        if (!ecc_mul_i64(numel, dims[i], &numel))
            return ecc_kernel_fail(k, "%s: size overflows", what);
    }
    size_t bytes;
    if (!ecc_dtype_nbytes(dtype, numel, &bytes) || (int64_t)bytes > ECC_KERNEL_MAX_BYTES)
        return ecc_kernel_fail(k, "%s: %lld elements is too large", what, (long long)numel);
    return ECC_OK;
}

/* ---- broadcasting ---- */

ecc_status ecc_k_bcast_dims(ecc_kernel_ctx *k, int n, const int32_t *ranks,
                            const int64_t *const *dims, ecc_bcast *b) {
    memset(b, 0, sizeof *b);
    b->n = n;
    int32_t r = 0;
    for (int i = 0; i < n; i++)
        if (ranks[i] > r) r = ranks[i];
    if (r > ECC_MAX_RANK) return ecc_kernel_fail(k, "rank %d too large", (int)r);
    b->out_rank = r;
    int64_t full[ECC_BC_MAX][ECC_MAX_RANK]; /* each input's dims right-aligned */
    for (int i = 0; i < n; i++)
        for (int32_t d = 0; d < r; d++) {
            int32_t src = d - (r - ranks[i]);
            full[i][d] = src >= 0 ? dims[i][src] : 1;
        }
    b->numel = 1;
    for (int32_t d = 0; d < r; d++) {
        int64_t od = 1;
        for (int i = 0; i < n; i++) {
            if (full[i][d] == 1) continue;
            if (od != 1 && od != full[i][d])
                return ecc_kernel_fail(k, "shapes cannot be broadcast: dimension %lld vs "
                                       "%lld (axis %d of the result)",
                                       (long long)od, (long long)full[i][d], (int)d);
            od = full[i][d];
        }
        for (int i = 0; i < n; i++)
            if (full[i][d] == 0) od = 0;
        b->out_dims[d] = od;
        if (!ecc_mul_i64(b->numel, od, &b->numel))
            return ecc_kernel_fail(k, "broadcast shape is too large");
    }
    /* element strides per input (0 where broadcast) */
    int64_t st[ECC_BC_MAX][ECC_MAX_RANK];
    for (int i = 0; i < n; i++) {
        int64_t s = 1;
        for (int32_t d = r - 1; d >= 0; d--) {
            st[i][d] = full[i][d] == 1 && b->out_dims[d] != 1 ? 0 : s;
            s *= full[i][d];
        }
    }
    /* coalesce: drop unit dims, merge neighbours that stay contiguous */
    int32_t cr = 0;
    for (int32_t d = 0; d < r; d++) {
        if (b->out_dims[d] == 1) continue;
        bool merge = cr > 0;
        for (int i = 0; i < n && merge; i++) {
            int64_t prev = b->strides[i][cr - 1], cur = st[i][d];
            merge = (prev == 0 && cur == 0) || (prev != 0 && prev == cur * b->out_dims[d]);
        }
        if (merge) {
            b->dims[cr - 1] *= b->out_dims[d];
            for (int i = 0; i < n; i++) b->strides[i][cr - 1] = st[i][d];
        } else {
            b->dims[cr] = b->out_dims[d];
            for (int i = 0; i < n; i++) b->strides[i][cr] = st[i][d];
            cr++;
        }
    }
    if (cr == 0) {
        b->dims[0] = 1;
        for (int i = 0; i < n; i++) b->strides[i][0] = 1;
        cr = 1;
    }
    b->rank = cr;
    return ECC_OK;
}

ecc_status ecc_k_bcast(ecc_kernel_ctx *k, const ecc_rt_tensor *const *ts, int n, ecc_bcast *b) {
    int32_t ranks[ECC_BC_MAX];
    const int64_t *dims[ECC_BC_MAX];
    for (int i = 0; i < n; i++) {
        ranks[i] = ts[i]->rank;
        dims[i] = ts[i]->dims;
    }
    return ecc_k_bcast_dims(k, n, ranks, dims, b);
}

void ecc_bc_each(const ecc_bcast *b, ecc_bc_row_fn row, void *arg) {
    if (b->numel == 0) return;
    int32_t r = b->rank;
    int64_t len = b->dims[r - 1];
    int64_t idx[ECC_MAX_RANK] = {0};
    int64_t off[ECC_BC_MAX] = {0};
    int64_t inner[ECC_BC_MAX];
    for (int i = 0; i < b->n; i++) inner[i] = b->strides[i][r - 1];
    int64_t rows = b->numel / len;
    for (int64_t q = 0; q < rows; q++) {
        row(arg, q * len, off, len, inner);
        for (int32_t d = r - 2; d >= 0; d--) { /* odometer over the outer dims */
            idx[d]++;
            for (int i = 0; i < b->n; i++) off[i] += b->strides[i][d];
            if (idx[d] < b->dims[d]) break;
            for (int i = 0; i < b->n; i++) off[i] -= b->strides[i][d] * b->dims[d];
            idx[d] = 0;
        }
    }
}

/* ---- broadcast copy (Expand, variadic ops, Where's helpers) ---- */

typedef struct ecc_bcopy_job {
    uint8_t *dst;
    const uint8_t *src;
    size_t es;
} ecc_bcopy_job;

static void ecc_bcopy_row(void *arg, int64_t out_off, const int64_t *in_off, int64_t len,
                          const int64_t *in_stride) {
    ecc_bcopy_job *j = arg;
    uint8_t *d = j->dst + (size_t)out_off * j->es;
    const uint8_t *s = j->src + (size_t)in_off[1] * j->es;
    if (in_stride[1]) {
        memcpy(d, s, (size_t)len * j->es);
        return;
    }
    switch (j->es) {
    case 1: memset(d, *s, (size_t)len); break;
    case 4: {
        uint32_t v;
        memcpy(&v, s, 4);
        for (int64_t i = 0; i < len; i++) memcpy(d + 4 * i, &v, 4);
        break;
    }
    default:
        for (int64_t i = 0; i < len; i++) memcpy(d + (size_t)i * j->es, s, j->es);
    }
}

ecc_status ecc_k_broadcast_copy(ecc_kernel_ctx *k, const ecc_rt_tensor *src, ecc_rt_tensor *dst) {
    size_t es = ecc_rt_elsize(src->dtype);
    if (!es || src->dtype != dst->dtype)
        return ecc_kernel_fail(k, "cannot broadcast %s data", ecc_dtype_name(src->dtype));
    const ecc_rt_tensor *ts[2] = {dst, src};
    ecc_bcast b;
    ecc_status st = ecc_k_bcast(k, ts, 2, &b);
    if (st) return st;
    if (b.out_rank != dst->rank || memcmp(b.out_dims, dst->dims, (size_t)dst->rank * 8) != 0)
        return ecc_kernel_fail(k, "input does not broadcast to the output shape");
    ecc_bcopy_job j = {dst->data, src->data, es};
    ecc_bc_each(&b, ecc_bcopy_row, &j);
    return ECC_OK;
}

/* ---- gradients through broadcasting ---- */

typedef struct ecc_bgrad_job {
    const float *g;  /* full-shape side */
    float *d;        /* broadcast side */
    float scale;
    bool to_full;    /* broadcast_add: full += scale * bcast; else bcast += scale * full */
} ecc_bgrad_job;

static void ecc_bgrad_row(void *arg, int64_t out_off, const int64_t *in_off, int64_t len,
                          const int64_t *in_stride) {
    ecc_bgrad_job *j = arg;
    int64_t s = in_stride[1];
    if (j->to_full) {
        float *o = (float *)j->g + out_off;
        const float *x = j->d + in_off[1];
        for (int64_t i = 0; i < len; i++) o[i] += j->scale * x[i * s];
        return;
    }
    const float *x = j->g + out_off;
    float *o = j->d + in_off[1];
    if (s) {
        for (int64_t i = 0; i < len; i++) o[i] += j->scale * x[i];
        return;
    }
    float acc = 0.0f;
    for (int64_t i = 0; i < len; i++) acc += x[i];
    o[0] += j->scale * acc;
}

/* Plans full (out shape) against part (broadcast to it); both float32. */
static ecc_status ecc_bgrad(ecc_kernel_ctx *k, const ecc_rt_tensor *full,
                            const ecc_rt_tensor *part, ecc_bgrad_job *j) {
    const ecc_rt_tensor *ts[2] = {full, part};
    ecc_bcast b;
    if (full->dtype != ECC_DTYPE_FLOAT || part->dtype != ECC_DTYPE_FLOAT)
        return ecc_kernel_fail(k, "gradients are float32 only");
    ecc_status st = ecc_k_bcast(k, ts, 2, &b);
    if (st) return st;
    if (b.out_rank != full->rank || memcmp(b.out_dims, full->dims, (size_t)full->rank * 8) != 0)
        return ecc_kernel_fail(k, "gradient does not broadcast to the output shape");
    ecc_bc_each(&b, ecc_bgrad_row, j);
    return ECC_OK;
}

ecc_status ecc_k_unbroadcast_add(ecc_kernel_ctx *k, const ecc_rt_tensor *g, ecc_rt_tensor *dst,
                                 float scale) {
    ecc_bgrad_job j = {g->data, dst->data, scale, false};
    return ecc_bgrad(k, g, dst, &j);
}

ecc_status ecc_k_broadcast_add(ecc_kernel_ctx *k, const ecc_rt_tensor *src, ecc_rt_tensor *dst,
                               float scale) {
    ecc_bgrad_job j = {dst->data, (float *)src->data, scale, true};
    return ecc_bgrad(k, dst, src, &j);
}
