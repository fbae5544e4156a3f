/* fold_constants.c — the `fold-constants` pass: a node whose inputs are all
 * constant is evaluated once and its output becomes an initializer. Per-op
 * checks cover the shape-arithmetic ops exporters leave behind; arithmetic
 * runs through the interpreter's kernels (fold_run). Which op folds from
 * which opset is ops.def's fold_since column (Shape also folds from a fully
 * known static shape: FOLD_SHAPE_ONLY). Results over `max_bytes` are left
 * alone; inputs nothing reads any more are dropped.
 * Runs in every subgraph; graph outputs stay produced by nodes. */
#include "op_traits.h"
#include "pipeline.h"
#include "../calibrate/interp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FOLD_MAX_INPUTS 64

typedef struct fold_cx {
    ecc_ctx *ctx;
    const ecc_node *n;
    int64_t opset;
    int64_t max_bytes;
    const ecc_tensor *in[FOLD_MAX_INPUTS]; /* constant inputs; NULL if absent */
    uint32_t n_in;
    const char *why;                       /* set when a kernel declines */
} fold_cx;

/* A kernel: *out = result (refcount 1), or NULL with cx->why set. */
typedef ecc_status (*fold_fn)(fold_cx *cx, ecc_tensor **out);

static ecc_status decline(fold_cx *cx, const char *why) {
    cx->why = why;
    return ECC_OK;
}

/* ---------------- tensor helpers ---------------- */

static bool is_int_index(const ecc_tensor *t) {
    return t && (t->dtype == ECC_DTYPE_INT64 || t->dtype == ECC_DTYPE_INT32);
}

static int64_t get_i64(const ecc_tensor *t, int64_t i) {
    return t->dtype == ECC_DTYPE_INT64 ? ((const int64_t *)t->data)[i]
                                       : ((const int32_t *)t->data)[i];
}

/* Bytes per element for types moved as bytes (no strings, no 4-bit). */
static size_t elem_bytes(int32_t dtype) {
    const ecc_dtype_traits *tr = ecc_dtype_get(dtype);
    if (!tr || tr->dclass == ECC_DC_STRING || tr->bits == 0 || tr->bits % 8) return 0;
    return tr->bits / 8;
}

/* Why a result of this type and shape is not stored, or NULL when it is. */
static const char *result_refused(const fold_cx *cx, int32_t dtype, int32_t rank,
                                  const int64_t *dims) {
    int64_t numel = 1;
    size_t nbytes = 0;
    for (int32_t i = 0; i < rank; i++)
        if (dims[i] < 0 || !ecc_mul_i64(numel, dims[i], &numel)) return "invalid result shape";
    if (!ecc_dtype_nbytes(dtype, numel, &nbytes) || nbytes > (uint64_t)cx->max_bytes)
        return "result larger than max_bytes";
    return NULL;
}

/* New tensor, declined (NULL, why set) when over max_bytes. */
static ecc_status new_tensor(fold_cx *cx, int32_t dtype, int32_t rank, const int64_t *dims,
                             ecc_tensor **out) {
    const char *why = result_refused(cx, dtype, rank, dims);
    *out = NULL;
    return why ? decline(cx, why) : ecc_tensor_create(cx->ctx, dtype, rank, dims, out);
}

/* ---------------- the interpreter: a model of the node alone ---------------- */

/* Copies n's op, attributes and constant inputs into a one-node model whose
 * output 0 is the model's output. */
static ecc_status node_model(fold_cx *cx, ecc_model **out) {
    ecc_status st = ECC_OK;
    ecc_model *m = NULL;
    ecc_value *ins[FOLD_MAX_INPUTS] = {0}, *y = NULL;
    ECC_TRY(ecc_model_create(cx->ctx, &m));
    ECC_TRY(ecc_model_set_opset(cx->ctx, m, "", cx->opset));
    for (uint32_t i = 0; i < cx->n_in; i++) {
        char name[16];
        if (!cx->in[i]) continue;
        snprintf(name, sizeof name, "in%u", (unsigned)i);
        ECC_TRY(ecc_graph_add_value(cx->ctx, m->graph, name, &ins[i]));
        ECC_TRY(ecc_graph_set_initializer(cx->ctx, m->graph, ins[i], (ecc_tensor *)cx->in[i]));
    }
    ECC_TRY(ecc_graph_add_value(cx->ctx, m->graph, "y", &y));
    y->flags |= ECC_VALUE_OUTPUT;
    ECC_FAIL_IF(!ecc_ptrvec_push(&m->graph->outputs, y), cx->ctx, ECC_E_INTERNAL, "out of memory");
    ecc_node *n = NULL;
    ECC_TRY(ecc_graph_add_node(cx->ctx, m->graph, cx->n->op_type, "", cx->n->name, ins, cx->n_in,
                               &y, 1, &n));
    for (uint32_t i = 0; i < cx->n->n_attrs; i++)
        ECC_TRY(ecc_node_set_attr(cx->ctx, n, &cx->n->attrs[i]));
    *out = m;
    return ECC_OK;
fail:
    ecc_model_free(m);
    return st;
}

/* Runs the node through the interpreter's kernel: *out = its output 0, or
 * NULL with cx->why set when the kernel refuses or the result is too big. */
static ecc_status fold_run(fold_cx *cx, ecc_tensor **out) {
    ecc_status st = ECC_OK;
    ecc_model *m = NULL;
    ecc_interp *it = NULL;
    ecc_interp_options opts = {.struct_size = sizeof opts, .threads = 1};
    *out = NULL;
    ECC_TRY(node_model(cx, &m));
    if (ecc_interp_create(cx->ctx, m, &opts, &it) != ECC_OK ||
        ecc_interp_run(cx->ctx, it, NULL, 0) != ECC_OK) {
        ecc_ctx_clear(cx->ctx);
        st = decline(cx, "the kernel refuses it");
        goto fail;
    }
    const ecc_rt_tensor *r = ecc_interp_result(it, 0);
    ECC_TRY(new_tensor(cx, r->dtype, r->rank, r->dims, out));
    if (*out && r->nbytes) memcpy((*out)->data, r->data, r->nbytes);
fail:
    ecc_interp_free(it);
    ecc_model_free(m);
    return st;
}

/* Same data, new dims (numel must match). */
static ecc_status with_dims(fold_cx *cx, const ecc_tensor *t, int32_t rank, const int64_t *dims,
                            ecc_tensor **out) {
    ecc_status st = ECC_OK;
    *out = NULL;
    if (!elem_bytes(t->dtype)) return decline(cx, "unsupported data type");
    ECC_TRY(new_tensor(cx, t->dtype, rank, dims, out));
    if (!*out) return ECC_OK;
    if ((*out)->numel != t->numel) {
        ecc_tensor_unref(*out);
        *out = NULL;
        return decline(cx, "element count changes");
    }
    if (t->nbytes) memcpy((*out)->data, t->data, t->nbytes);
fail:
    return st;
}

/* Axes from an INTS attribute (older opsets) or an int tensor input. */
static bool read_axes(fold_cx *cx, bool from_input, uint32_t slot, int64_t *axes, size_t *n) {
    if (from_input) {
        const ecc_tensor *t = slot < cx->n_in ? cx->in[slot] : NULL;
        if (!t) {
            *n = 0;
            return true;
        }
        if (!is_int_index(t) || t->rank > 1 || t->numel > 64) return false;
        for (int64_t i = 0; i < t->numel; i++) axes[i] = get_i64(t, i);
        *n = (size_t)t->numel;
        return true;
    }
    const int64_t *a = NULL;
    *n = ecc_node_attr_ints(cx->n, "axes", &a);
    if (*n > 64) return false;
    if (*n) memcpy(axes, a, *n * sizeof *a);
    return true;
}

/* Normalizes axes into [0, rank) and checks they are distinct. */
static bool norm_axes(int64_t *axes, size_t n, int64_t rank, bool *seen) {
    memset(seen, 0, (size_t)rank * sizeof *seen);
    for (size_t i = 0; i < n; i++) {
        if (axes[i] < 0) axes[i] += rank;
        if (axes[i] < 0 || axes[i] >= rank || seen[axes[i]]) return false;
        seen[axes[i]] = true;
    }
    return true;
}

/* ---------------- kernels: shapes and data movement ---------------- */

static ecc_status fold_identity(fold_cx *cx, ecc_tensor **out) {
    if (cx->in[0]->nbytes > (uint64_t)cx->max_bytes) return decline(cx, "larger than max_bytes");
    *out = ecc_tensor_ref((ecc_tensor *)cx->in[0]);
    return ECC_OK;
}

/* Shape of a constant, or of any value whose static shape is fully known. */
static ecc_status fold_shape(fold_cx *cx, ecc_tensor **out) {
    const ecc_value *v = cx->n->inputs[0];
    const ecc_tensor *t = ecc_value_const(v);
    int64_t rank = t ? t->rank : v->rank, dims[64];
    if (rank < 0 || rank > 64) return decline(cx, "input rank unknown");
    for (int64_t i = 0; i < rank; i++) {
        dims[i] = t ? t->dims[i] : v->dims[i].value;
        if (dims[i] < 0) return decline(cx, "input shape not fully known");
    }
    int64_t start = ecc_node_attr_int(cx->n, "start", 0);
    int64_t end = ecc_node_attr_int(cx->n, "end", rank);
    start = start < 0 ? start + rank : start;
    end = end < 0 ? end + rank : end;
    start = start < 0 ? 0 : start > rank ? rank : start;
    end = end < start ? start : end > rank ? rank : end;
    int64_t len = end - start;
    ecc_status st = new_tensor(cx, ECC_DTYPE_INT64, 1, &len, out);
    if (st == ECC_OK && *out) memcpy((*out)->data, dims + start, (size_t)len * sizeof *dims);
    return st;
}

static ecc_status fold_reshape(fold_cx *cx, ecc_tensor **out) {
    const ecc_tensor *t = cx->in[0], *shape = cx->n_in > 1 ? cx->in[1] : NULL;
    if (!shape || shape->dtype != ECC_DTYPE_INT64 || shape->rank != 1 || shape->numel > 64)
        return decline(cx, "shape is not a constant int64 vector");
    bool allowzero = ecc_node_attr_int(cx->n, "allowzero", 0) != 0;
    int64_t dims[64], known = 1, infer = -1, r = shape->numel;
    for (int64_t i = 0; i < r; i++) {
        dims[i] = get_i64(shape, i);
        if (dims[i] == 0 && !allowzero) {
            if (i >= t->rank) return decline(cx, "0 refers past the input rank");
            dims[i] = t->dims[i];
        }
        if (dims[i] == -1) {
            if (infer >= 0) return decline(cx, "two -1 dimensions");
            infer = i;
            continue;
        }
        if (dims[i] < 0 || !ecc_mul_i64(known, dims[i], &known)) return decline(cx, "bad shape");
    }
    if (infer >= 0) {
        if (known == 0 || t->numel % known) return decline(cx, "cannot infer -1");
        dims[infer] = t->numel / known;
    }
    return with_dims(cx, t, (int32_t)r, dims, out);
}

static ecc_status fold_unsqueeze(fold_cx *cx, ecc_tensor **out) {
    const ecc_tensor *t = cx->in[0];
    int64_t axes[64], dims[64];
    size_t n = 0;
    bool seen[64];
    if (!read_axes(cx, cx->opset >= 13, 1, axes, &n) || n == 0) return decline(cx, "bad axes");
    int64_t r = t->rank + (int64_t)n;
    if (r > 64 || !norm_axes(axes, n, r, seen)) return decline(cx, "bad axes");
    for (int64_t i = 0, k = 0; i < r; i++) dims[i] = seen[i] ? 1 : t->dims[k++];
    return with_dims(cx, t, (int32_t)r, dims, out);
}

static ecc_status fold_squeeze(fold_cx *cx, ecc_tensor **out) {
    const ecc_tensor *t = cx->in[0];
    int64_t axes[64], dims[64], r = 0;
    size_t n = 0;
    bool seen[64];
    if (t->rank > 64 || !read_axes(cx, cx->opset >= 13, 1, axes, &n) ||
        !norm_axes(axes, n, t->rank, seen))
        return decline(cx, "bad axes");
    for (int64_t i = 0; i < t->rank; i++) {
        bool drop = n ? seen[i] : t->dims[i] == 1;
        if (drop && t->dims[i] != 1) return decline(cx, "squeezed axis is not 1");
        if (!drop) dims[r++] = t->dims[i];
    }
    return with_dims(cx, t, (int32_t)r, dims, out);
}

static ecc_status fold_concat(fold_cx *cx, ecc_tensor **out) {
    const ecc_tensor *a = cx->in[0];
    int64_t axis = ecc_node_attr_int(cx->n, "axis", 0), dims[64];
    if (!elem_bytes(a->dtype) || a->rank < 1 || a->rank > 64)
        return decline(cx, "unsupported input");
    if (axis < 0) axis += a->rank;
    if (axis < 0 || axis >= a->rank) return decline(cx, "bad axis");
    memcpy(dims, a->dims, (size_t)a->rank * sizeof *dims);
    dims[axis] = 0;
    for (uint32_t k = 0; k < cx->n_in; k++) {
        const ecc_tensor *t = cx->in[k];
        if (!t || t->dtype != a->dtype || t->rank != a->rank) return decline(cx, "mixed inputs");
        for (int64_t i = 0; i < a->rank; i++)
            if (i != axis && t->dims[i] != a->dims[i]) return decline(cx, "shape mismatch");
        dims[axis] += t->dims[axis];
    }
    ecc_status st = new_tensor(cx, a->dtype, a->rank, dims, out);
    if (st != ECC_OK || !*out) return st;
    int64_t outer = 1;
    for (int64_t i = 0; i < axis; i++) outer *= a->dims[i];
    uint8_t *dst = (*out)->data;
    for (int64_t o = 0; o < outer; o++) {
        for (uint32_t k = 0; k < cx->n_in; k++) {
            size_t chunk = cx->in[k]->numel && outer ? cx->in[k]->nbytes / (size_t)outer : 0;
            memcpy(dst, (const uint8_t *)cx->in[k]->data + (size_t)o * chunk, chunk);
            dst += chunk;
        }
    }
    return ECC_OK;
}

/* Gather along axis 0: rows of data picked by int indices. */
static ecc_status fold_gather(fold_cx *cx, ecc_tensor **out) {
    const ecc_tensor *d = cx->in[0], *idx = cx->in[1];
    size_t es = elem_bytes(d->dtype);
    int64_t axis = ecc_node_attr_int(cx->n, "axis", 0), dims[64];
    if (!es || d->rank < 1 || !is_int_index(idx)) return decline(cx, "unsupported input");
    if ((axis < 0 ? axis + d->rank : axis) != 0) return decline(cx, "only axis 0 is folded");
    int32_t r = idx->rank + d->rank - 1;
    if (r > 64) return decline(cx, "rank too large");
    memcpy(dims, idx->dims, (size_t)idx->rank * sizeof *dims);
    memcpy(dims + idx->rank, d->dims + 1, (size_t)(d->rank - 1) * sizeof *dims);
    ecc_status st = new_tensor(cx, d->dtype, r, dims, out);
    if (st != ECC_OK || !*out) return st;
    size_t row = d->dims[0] ? d->nbytes / (size_t)d->dims[0] : 0;
    for (int64_t i = 0; i < idx->numel; i++) {
        int64_t k = get_i64(idx, i);
        if (k < 0) k += d->dims[0];
        if (k < 0 || k >= d->dims[0]) {
            ecc_tensor_unref(*out);
            *out = NULL;
            return decline(cx, "index out of range");
        }
        memcpy((uint8_t *)(*out)->data + (size_t)i * row, (const uint8_t *)d->data + k * row, row);
    }
    return ECC_OK;
}

static ecc_status fold_transpose(fold_cx *cx, ecc_tensor **out) {
    const ecc_tensor *t = cx->in[0];
    size_t es = elem_bytes(t->dtype);
    int64_t r = t->rank, perm[64], dims[64], stride[64], pos[64] = {0};
    bool seen[64];
    if (!es || r > 64) return decline(cx, "unsupported input");
    const int64_t *p = NULL;
    size_t np = ecc_node_attr_ints(cx->n, "perm", &p);
    if (np && (int64_t)np != r) return decline(cx, "perm length differs from rank");
    for (int64_t i = 0; i < r; i++) perm[i] = np ? p[i] : r - 1 - i;
    if (!norm_axes(perm, (size_t)r, r, seen)) return decline(cx, "perm is not a permutation");
    for (int64_t i = r - 1, s = 1; i >= 0; i--) stride[i] = s, s *= t->dims[i];
    for (int64_t i = 0; i < r; i++) dims[i] = t->dims[perm[i]];
    ecc_status st = new_tensor(cx, t->dtype, (int32_t)r, dims, out);
    if (st != ECC_OK || !*out) return st;
    uint8_t *dst = (*out)->data;
    for (int64_t o = 0; o < t->numel; o++) {
        int64_t src = 0;
        for (int64_t i = 0; i < r; i++) src += pos[i] * stride[perm[i]];
        memcpy(dst + (size_t)o * es, (const uint8_t *)t->data + (size_t)src * es, es);
        for (int64_t i = r - 1; i >= 0 && ++pos[i] == dims[i]; i--) pos[i] = 0;
    }
    return ECC_OK;
}

/* ---------------- kernels: arithmetic ---------------- */

static bool numeric_ok(const ecc_tensor *t) {
    return t->dtype == ECC_DTYPE_FLOAT || t->dtype == ECC_DTYPE_INT64;
}

/* Cast between numeric types (float→int truncates, as ONNX does). */
static ecc_status fold_cast(fold_cx *cx, ecc_tensor **out) {
    static const int32_t ok_to[] = {
        ECC_DTYPE_FLOAT, ECC_DTYPE_DOUBLE, ECC_DTYPE_FLOAT16, ECC_DTYPE_BFLOAT16,
        ECC_DTYPE_INT8,  ECC_DTYPE_UINT8,  ECC_DTYPE_INT16,   ECC_DTYPE_UINT16,
        ECC_DTYPE_INT32, ECC_DTYPE_UINT32, ECC_DTYPE_INT64,   ECC_DTYPE_UINT64, ECC_DTYPE_BOOL,
    };
    const ecc_tensor *t = cx->in[0];
    int64_t to = ecc_node_attr_int(cx->n, "to", 0);
    bool from_ok = false, to_ok = false;
    for (size_t i = 0; i < sizeof ok_to / sizeof ok_to[0]; i++) {
        from_ok |= ok_to[i] == t->dtype;
        to_ok |= ok_to[i] == to;
    }
    if (!from_ok || !to_ok) return decline(cx, "non-numeric cast");
    const ecc_dtype_traits *tt = ecc_dtype_get((int32_t)to);
    ecc_status st = new_tensor(cx, (int32_t)to, t->rank, t->dims, out);
    if (st != ECC_OK || !*out) return st;
    bool trunc_int = tt->dclass == ECC_DC_SINT || tt->dclass == ECC_DC_UINT;
    for (int64_t i = 0; i < t->numel; i++) {
        int64_t iv = t->dtype == ECC_DTYPE_INT64 ? ((const int64_t *)t->data)[i] : 0;
        if (iv > (1LL << 53) || iv < -(1LL << 53) ||
            (t->dtype == ECC_DTYPE_UINT64 && ((const uint64_t *)t->data)[i] > (1ULL << 53))) {
            ecc_tensor_unref(*out);
            *out = NULL;
            return decline(cx, "64-bit value beyond exact double range");
        }
        double v = ecc_tensor_get_f64(t, i);
        ecc_tensor_set_f64(*out, i, trunc_int ? trunc(v) : v);
    }
    return ECC_OK;
}

/* Same shapes, or one side a single element of no higher rank. */
static const ecc_tensor *bin_shape(const ecc_tensor *a, const ecc_tensor *b) {
    if (a->rank == b->rank && !memcmp(a->dims, b->dims, (size_t)a->rank * sizeof *a->dims))
        return a;
    if (b->numel == 1 && b->rank <= a->rank) return a;
    if (a->numel == 1 && a->rank <= b->rank) return b;
    return NULL;
}

/* An int64 division by zero, or INT64_MIN / -1, at some element. */
static bool div_traps(const ecc_tensor *a, const ecc_tensor *b, int64_t numel) {
    for (int64_t i = 0; i < numel; i++) {
        int64_t x = get_i64(a, a->numel == 1 ? 0 : i), y = get_i64(b, b->numel == 1 ? 0 : i);
        if (y == 0 || (x == INT64_MIN && y == -1)) return true;
    }
    return false;
}

/* Add, Sub, Mul, Div on float32 or int64 (wrapping like the runtimes), same
 * shape or a scalar side; the interpreter's kernel computes it. */
static ecc_status fold_binary(fold_cx *cx, bool divide, ecc_tensor **out) {
    const ecc_tensor *a = cx->in[0], *b = cx->in[1];
    *out = NULL;
    if (!b || a->dtype != b->dtype || !numeric_ok(a)) return decline(cx, "unsupported types");
    const ecc_tensor *shape = bin_shape(a, b);
    if (!shape) return decline(cx, "broadcast beyond same-shape or scalar");
    const char *why = result_refused(cx, a->dtype, shape->rank, shape->dims);
    if (why) return decline(cx, why);
    if (divide && a->dtype == ECC_DTYPE_INT64 && div_traps(a, b, shape->numel))
        return decline(cx, "integer division by zero or overflow");
    return fold_run(cx, out);
}

static ecc_status fold_arith(fold_cx *cx, ecc_tensor **out) { return fold_binary(cx, false, out); }
static ecc_status fold_div(fold_cx *cx, ecc_tensor **out) { return fold_binary(cx, true, out); }

static ecc_status fold_neg(fold_cx *cx, ecc_tensor **out) {
    *out = NULL;
    return numeric_ok(cx->in[0]) ? fold_run(cx, out) : decline(cx, "unsupported type");
}

static ecc_status fold_sqrt(fold_cx *cx, ecc_tensor **out) {
    *out = NULL;
    return cx->in[0]->dtype == ECC_DTYPE_FLOAT ? fold_run(cx, out) : decline(cx, "not float32");
}

/* Scalar start, limit, delta of one numeric type; the kernel computes it. */
static ecc_status fold_range(fold_cx *cx, ecc_tensor **out) {
    const ecc_tensor *s = cx->in[0], *l = cx->in[1], *d = cx->in[2];
    *out = NULL;
    if (!l || !d || s->numel != 1 || l->numel != 1 || d->numel != 1 || !numeric_ok(s) ||
        l->dtype != s->dtype || d->dtype != s->dtype)
        return decline(cx, "unsupported inputs");
    double start = ecc_tensor_get_f64(s, 0), limit = ecc_tensor_get_f64(l, 0);
    double delta = ecc_tensor_get_f64(d, 0);
    if (delta == 0 || !isfinite(start) || !isfinite(limit) || !isfinite(delta))
        return decline(cx, "invalid range");
    double count = ceil((limit - start) / delta);
    int64_t n = count > 0 ? (int64_t)count : 0;
    if (count > 1e12) return decline(cx, "range too long");
    const char *why = result_refused(cx, s->dtype, 1, &n);
    if (why) return decline(cx, why);
    ecc_status st = fold_run(cx, out);
    if (st == ECC_OK && *out && (*out)->numel != n) { /* 64-bit ends beyond double precision */
        ecc_tensor_unref(*out);
        *out = NULL;
        return decline(cx, "range length not exact");
    }
    return st;
}

/* ---------------- the table ---------------- */

/* Kernel per op; which ops fold, from which opset and whether input 0 need
 * only a static shape are the fold_since column and FOLD_SHAPE_ONLY flag of
 * ops.def. */
static const fold_fn fold_kernels[ECC_OP_COUNT] = {
    [ECC_OP_Identity] = fold_identity,   [ECC_OP_Cast] = fold_cast,
    [ECC_OP_Shape] = fold_shape,         [ECC_OP_Reshape] = fold_reshape,
    [ECC_OP_Unsqueeze] = fold_unsqueeze, [ECC_OP_Squeeze] = fold_squeeze,
    [ECC_OP_Concat] = fold_concat,       [ECC_OP_Gather] = fold_gather,
    [ECC_OP_Transpose] = fold_transpose, [ECC_OP_Add] = fold_arith,
    [ECC_OP_Sub] = fold_arith,           [ECC_OP_Mul] = fold_arith,
    [ECC_OP_Div] = fold_div,             [ECC_OP_Neg] = fold_neg,
    [ECC_OP_Sqrt] = fold_sqrt,           [ECC_OP_Range] = fold_range,
};

/* The op's row when n folds at this opset. */
static const ecc_op_traits *rule_for(const ecc_node *n, int64_t opset) {
    const ecc_op_traits *t = ecc_op_of(n);
    bool folds = t && t->fold_since && opset >= t->fold_since && fold_kernels[t->id];
    return folds ? t : NULL;
}

/* ---------------- the pass ---------------- */

typedef struct fold_state {
    const ecc_host_api *host;
    ecc_pass_run *run;
    int64_t opset, max_bytes;
    size_t folded, declined;
} fold_state;

/* Fills cx->in; false when an input that must be constant is not. */
static bool gather_inputs(fold_cx *cx, const ecc_op_traits *r) {
    const ecc_node *n = cx->n;
    if (n->n_inputs == 0 || n->n_inputs > FOLD_MAX_INPUTS || !n->inputs[0]) return false;
    cx->n_in = n->n_inputs;
    for (uint32_t i = 0; i < n->n_inputs; i++) {
        cx->in[i] = n->inputs[i] ? ecc_value_const(n->inputs[i]) : NULL;
        bool shape_only = i == 0 && (r->flags & ECC_OPF_FOLD_SHAPE_ONLY);
        if (n->inputs[i] && !cx->in[i] && !shape_only) return false;
    }
    return true;
}

static bool output_foldable(const ecc_node *n) {
    if (n->n_outputs != 1 || !n->outputs[0]) return false;
    const ecc_value *o = n->outputs[0];
    return !(o->flags & ECC_VALUE_OUTPUT) && !o->mask && !o->quant;
}

/* Drops initializers of this graph that the folded node was the last to read. */
static void drop_dead_inputs(ecc_graph *g, ecc_value **ins, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) {
        ecc_value *v = ins[i];
        if (v && v->init && v->graph == g && v->n_uses == 0 &&
            !(v->flags & (ECC_VALUE_INPUT | ECC_VALUE_OUTPUT)))
            ecc_graph_drop_initializer(g, v);
    }
}

/* Replaces n by an initializer holding t on its output. */
static ecc_status commit_fold(ecc_ctx *ctx, ecc_graph *g, ecc_node *n, ecc_tensor *t) {
    ecc_status st = ECC_OK;
    ecc_value *out = n->outputs[0], *ins[FOLD_MAX_INPUTS];
    uint32_t n_in = n->n_inputs;
    memcpy(ins, n->inputs, n_in * sizeof *ins);
    ecc_graph_remove_node(g, n);
    ECC_TRY(ecc_graph_set_initializer(ctx, g, out, t));
    ECC_TRY(ecc_value_set_shape(ctx, out, t->dtype, t->rank, t->dims));
    drop_dead_inputs(g, ins, n_in);
fail:
    return st;
}

static ecc_status fold_node(ecc_ctx *ctx, ecc_graph *g, ecc_node *n, fold_state *s,
                            bool *folded) {
    ecc_status st = ECC_OK;
    ecc_tensor *t = NULL;
    const ecc_op_traits *r = rule_for(n, s->opset);
    fold_cx cx = {.ctx = ctx, .n = n, .opset = s->opset, .max_bytes = s->max_bytes};
    *folded = false;
    if (!r || !output_foldable(n) || !gather_inputs(&cx, r)) return ECC_OK;
    ECC_TRY(fold_kernels[r->id](&cx, &t));
    if (!t) {
        s->declined++;
        s->host->log(s->run, "%s '%s' not folded: %s", n->op_type, n->name,
                     cx.why ? cx.why : "unsupported");
        return ECC_OK;
    }
    ECC_TRY(commit_fold(ctx, g, n, t));
    s->folded++;
    *folded = true;
fail:
    ecc_tensor_unref(t);
    return st;
}

static ecc_status fold_graph(ecc_ctx *ctx, ecc_graph *g, void *arg) {
    ecc_status st = ECC_OK;
    for (size_t i = 0; i < g->nodes.n;) {
        bool folded = false;
        ECC_TRY(fold_node(ctx, g, g->nodes.items[i], arg, &folded));
        if (!folded) i++;
    }
fail:
    return st;
}

static int fold_constants_run(const ecc_host_api *host, ecc_pass_run *run) {
    fold_state s = {.host = host, .run = run, .opset = ecc_model_opset(run->model, "")};
    s.max_bytes = host->opt_int(run, "max_bytes");
    ecc_status st = ecc_model_each_graph(run->ctx, run->model, fold_graph, &s);
    host->stat(run, "folded", (double)s.folded);
    host->stat(run, "declined", (double)s.declined);
    return (int)st;
}

static const ecc_opt_desc fold_constants_opts[] = {
    {.struct_size = sizeof(ecc_opt_desc), .type = ECC_OPT_INT, .name = "max_bytes",
     .help = "largest result (bytes) stored as an initializer",
     .default_value = "1048576", .min = 0, .max = 1073741824},
};

const ecc_pass_desc ecc_pass_fold_constants = {
    .struct_size = sizeof(ecc_pass_desc),
    .name = "fold-constants",
    .summary = "evaluate nodes whose inputs are all constant into initializers",
    .options = fold_constants_opts,
    .n_options = 1,
    .run = fold_constants_run,
};
