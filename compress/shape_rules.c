/* shape_rules.c — per-op shape inference rules; which op uses which rule is
 * the shape column of ops.def (the op traits table). A rule
 * reads its inputs through the helpers of shape_rules.h, computes output
 * dtypes and dims (symbolic dims flow through where the op allows it; every
 * dim computation is overflow-checked because dims come from untrusted files)
 * and emits the outputs. Known shapes that contradict the op are ECC_E_INPUT
 * naming the node; anything not known stays unknown. */
#include "shape_rules.h"

#include "op_traits.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#define SH_FIRST (-1) /* rule arg: output dtype is input 0's only (Pow, BitShift) */

/* ECC_FAIL_IF with the node named in the message; needs st, cx and fail. */
#define SH_FAIL_IF(cond, ...)                                                            \
    do {                                                                                 \
        if (cond) {                                                                      \
            st = ecc_sh_fail(cx, __VA_ARGS__);                                           \
            goto fail;                                                                   \
        }                                                                                \
    } while (0)

static const ecc_sh_dim SH_UNK = {-1, NULL};

/* ---------------- small helpers ---------------- */

static ecc_sh_dim sh_d(int64_t v) {
    return (ecc_sh_dim){v, NULL};
}

static void sh_unknown(ecc_shape *s, int32_t dtype, int32_t rank) {
    s->dtype = dtype;
    s->rank = rank;
    for (int32_t i = 0; i < rank; i++) s->d[i] = SH_UNK;
}

static bool sh_same(ecc_sh_dim a, ecc_sh_dim b) {
    if (a.value >= 0 || b.value >= 0) return a.value == b.value;
    return a.param && b.param && strcmp(a.param, b.param) == 0;
}

static int32_t sh_in_dtype(const ecc_sh_cx *cx, uint32_t slot) {
    ecc_shape s;
    return ecc_sh_in(cx, slot, &s) ? s.dtype : 0;
}

static bool sh_is_op(const ecc_sh_cx *cx, const char *op) {
    return strcmp(cx->node->op_type, op) == 0;
}

/* Data type attribute `name` when it names a known type, else dflt. */
static int32_t sh_dtype_attr(const ecc_sh_cx *cx, const char *name, int32_t dflt) {
    int64_t v = ecc_node_attr_int(cx->node, name, 0);
    return v > 0 && v <= INT32_MAX && ecc_dtype_get((int32_t)v) ? (int32_t)v : dflt;
}

static ecc_status sh_emit_dtype(ecc_sh_cx *cx, uint32_t slot, int32_t dtype) {
    ecc_shape s;
    sh_unknown(&s, dtype, -1);
    return ecc_sh_emit(cx, slot, &s);
}

/* Normalizes axis in [-rank, rank) (or [-rank, rank] with extra = 1, Flatten). */
static ecc_status sh_axis(ecc_sh_cx *cx, int64_t axis, int32_t rank, int32_t extra, int32_t *out) {
    *out = 0;
    if (axis < -(int64_t)rank || axis >= (int64_t)rank + extra)
        return ecc_sh_fail(cx, "axis %lld is out of range for rank %d", (long long)axis, rank);
    *out = (int32_t)(axis < 0 ? axis + rank : axis);
    return ECC_OK;
}

/* a * b: known*known (checked), x*1 = x, x*0 = 0, otherwise unknown. */
static ecc_status sh_mul(ecc_sh_cx *cx, ecc_sh_dim a, ecc_sh_dim b, ecc_sh_dim *out) {
    int64_t r;
    if (a.value == 0 || b.value == 0) *out = sh_d(0);
    else if (a.value == 1) *out = b;
    else if (b.value == 1) *out = a;
    else if (a.value < 0 || b.value < 0) *out = SH_UNK;
    else if (!ecc_mul_i64(a.value, b.value, &r))
        return ecc_sh_fail(cx, "dimension product %lld * %lld overflows", (long long)a.value,
                           (long long)b.value);
    else *out = sh_d(r);
    return ECC_OK;
}

/* a + k for a known k: x+0 = x; a negative result is an error. */
static ecc_status sh_add(ecc_sh_cx *cx, ecc_sh_dim a, int64_t k, ecc_sh_dim *out) {
    int64_t r;
    if (k == 0) *out = a;
    else if (a.value < 0) *out = SH_UNK;
    else if (!ecc_add_i64(a.value, k, &r))
        return ecc_sh_fail(cx, "dimension %lld + %lld overflows", (long long)a.value, (long long)k);
    else if (r < 0)
        return ecc_sh_fail(cx, "dimension %lld + %lld is negative", (long long)a.value,
                           (long long)k);
    else *out = sh_d(r);
    return ECC_OK;
}

/* Product of s->d[from..to). */
static ecc_status sh_prod(ecc_sh_cx *cx, const ecc_shape *s, int32_t from, int32_t to,
                          ecc_sh_dim *out) {
    ecc_status st = ECC_OK;
    *out = sh_d(1);
    for (int32_t i = from; i < to; i++) ECC_TRY(sh_mul(cx, *out, s->d[i], out));
    return ECC_OK;
fail:
    return st;
}

/* INTS attribute into out[want] (dflt when absent); a wrong length or a value
 * below min is an error. */
static ecc_status sh_attr_ints(ecc_sh_cx *cx, const char *name, int64_t *out, int32_t want,
                               int64_t dflt, int64_t min) {
    const int64_t *v = NULL;
    size_t n = ecc_node_attr_ints(cx->node, name, &v);
    for (int32_t i = 0; i < want; i++) out[i] = dflt;
    if (!v || n == 0) return ECC_OK;
    if (n != (size_t)want)
        return ecc_sh_fail(cx, "attribute '%s' has %zu values, expected %d", name, n, want);
    for (int32_t i = 0; i < want; i++) {
        if (v[i] < min)
            return ecc_sh_fail(cx, "attribute '%s' has invalid value %lld", name, (long long)v[i]);
        out[i] = v[i];
    }
    return ECC_OK;
}

typedef enum sh_avail { SH_ABSENT, SH_KNOWN, SH_UNKNOWN } sh_avail;

/* Integer list given by input `slot` from opset `since` on, by attribute `attr` before. */
static sh_avail sh_list(const ecc_sh_cx *cx, uint32_t slot, int64_t since, const char *attr,
                        int64_t *buf, size_t cap, size_t *n) {
    if (cx->opset >= since) {
        if (!ecc_sh_input(cx, slot)) return SH_ABSENT;
        return ecc_sh_ints(cx, slot, buf, cap, n) ? SH_KNOWN : SH_UNKNOWN;
    }
    const int64_t *v = NULL;
    *n = ecc_node_attr_ints(cx->node, attr, &v);
    if (!v) return SH_ABSENT;
    if (*n > cap) return SH_UNKNOWN;
    memcpy(buf, v, *n * sizeof *v);
    return SH_KNOWN;
}

/* Normalizes n axes against rank into flags[rank]; duplicates are an error. */
static ecc_status sh_axes_mark(ecc_sh_cx *cx, const int64_t *axes, size_t n, int32_t rank,
                               bool *flags) {
    ecc_status st = ECC_OK;
    for (int32_t i = 0; i < rank; i++) flags[i] = false;
    for (size_t i = 0; i < n; i++) {
        int32_t a;
        ECC_TRY(sh_axis(cx, axes[i], rank, 0, &a));
        SH_FAIL_IF(flags[a], "axis %lld is repeated", (long long)axes[i]);
        flags[a] = true;
    }
    return ECC_OK;
fail:
    return st;
}

/* ---------------- broadcasting ---------------- */

static bool sh_bcast_dim(ecc_sh_dim a, ecc_sh_dim b, ecc_sh_dim *out) {
    if (a.value == 1) *out = b;
    else if (b.value == 1) *out = a;
    else if (a.value >= 0) {
        *out = a;
        return b.value < 0 || a.value == b.value;
    } else if (b.value >= 0) *out = b;
    else *out = sh_same(a, b) ? a : SH_UNK;
    return true;
}

/* NumPy broadcast of a and b into out (may alias either); dtype untouched. */
static ecc_status sh_bcast(ecc_sh_cx *cx, const ecc_shape *a, const ecc_shape *b, ecc_shape *out) {
    ecc_sh_dim res[ECC_SH_MAX_RANK];
    if (a->rank < 0 || b->rank < 0) {
        out->rank = -1;
        return ECC_OK;
    }
    int32_t r = a->rank > b->rank ? a->rank : b->rank;
    for (int32_t i = 0; i < r; i++) {
        int32_t ia = i - (r - a->rank), ib = i - (r - b->rank);
        ecc_sh_dim da = ia >= 0 ? a->d[ia] : sh_d(1), db = ib >= 0 ? b->d[ib] : sh_d(1);
        if (!sh_bcast_dim(da, db, &res[i])) {
            char sa[256], sb[256];
            return ecc_sh_fail(cx, "shapes %s and %s cannot be broadcast",
                               ecc_sh_format(a, sa, sizeof sa), ecc_sh_format(b, sb, sizeof sb));
        }
    }
    memcpy(out->d, res, (size_t)r * sizeof *res);
    out->rank = r;
    return ECC_OK;
}

/* ---------------- propagation of small int tensors ---------------- */

static ecc_sh_elt sh_elt_of_dim(ecc_sh_dim d) {
    bool known = d.value >= 0;
    return (ecc_sh_elt){.v = d.value, .param = known ? NULL : d.param, .known = known};
}

/* Add/Sub/Mul/Div of two known-content int tensors (one may be a 1-element broadcast). */
static void sh_arith_elt(char op, ecc_sh_elt a, ecc_sh_elt b, ecc_sh_elt *out) {
    int64_t r = 0;
    *out = (ecc_sh_elt){0};
    if (a.known && b.known) {
        bool ok = op == '+' ? ecc_add_i64(a.v, b.v, &r)
                : op == '-' ? !__builtin_sub_overflow(a.v, b.v, &r)
                : op == '*' ? ecc_mul_i64(a.v, b.v, &r)
                : (b.v != 0 && !(a.v == INT64_MIN && b.v == -1) && ((r = a.v / b.v), true));
        if (ok) *out = (ecc_sh_elt){.v = r, .known = true};
        return;
    }
    int64_t neutral = op == '*' || op == '/' ? 1 : 0; /* x op neutral == x */
    if (b.known && b.v == neutral) *out = a;
    else if (op == '+' && a.known && a.v == 0) *out = b;
    else if (op == '*' && a.known && a.v == 1) *out = b;
}

static ecc_status sh_prop_arith(ecc_sh_cx *cx) {
    static const struct { const char *op; char c; } ops[] = {
        {"Add", '+'}, {"Sub", '-'}, {"Mul", '*'}, {"Div", '/'}};
    ecc_symval a, b, r;
    char c = 0;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (sh_is_op(cx, ops[i].op)) c = ops[i].c;
    if (!c || cx->node->n_inputs != 2 || !ecc_sh_sym(cx, 0, &a) || !ecc_sh_sym(cx, 1, &b))
        return ECC_OK;
    if (a.n != b.n && a.n != 1 && b.n != 1) return ECC_OK;
    r.n = a.n == 0 || b.n == 0 ? 0 : a.n > b.n ? a.n : b.n;
    r.rank = a.rank > b.rank ? a.rank : b.rank;
    for (int32_t i = 0; i < r.n; i++)
        sh_arith_elt(c, a.e[a.n == 1 ? 0 : i], b.e[b.n == 1 ? 0 : i], &r.e[i]);
    return ecc_sh_set_sym(cx, 0, &r);
}

/* ---------------- elementwise ---------------- */

/* Same shape as input 0; dtype from input 0 unless arg names one. */
static ecc_status r_unary(ecc_sh_cx *cx, int32_t arg) {
    ecc_shape s;
    if (!ecc_sh_in(cx, 0, &s)) return ECC_OK;
    if (arg > 0) s.dtype = arg;
    return ecc_sh_emit(cx, 0, &s);
}

static ecc_status r_identity(ecc_sh_cx *cx, int32_t arg) {
    ecc_status st = ECC_OK;
    ecc_symval sv;
    ECC_TRY(r_unary(cx, arg));
    if (ecc_sh_sym(cx, 0, &sv)) ECC_TRY(ecc_sh_set_sym(cx, 0, &sv));
    return ECC_OK;
fail:
    return st;
}

/* Neg: contents of small int tensors are negated too. */
static ecc_status r_neg(ecc_sh_cx *cx, int32_t arg) {
    ecc_status st = ECC_OK;
    ecc_symval sv;
    ECC_TRY(r_unary(cx, arg));
    if (!ecc_sh_sym(cx, 0, &sv)) return ECC_OK;
    for (int32_t i = 0; i < sv.n; i++) {
        bool ok = sv.e[i].known && sv.e[i].v != INT64_MIN;
        sv.e[i] = ok ? (ecc_sh_elt){.v = -sv.e[i].v, .known = true} : (ecc_sh_elt){0};
    }
    ECC_TRY(ecc_sh_set_sym(cx, 0, &sv));
    return ECC_OK;
fail:
    return st;
}

static ecc_status r_dropout(ecc_sh_cx *cx, int32_t arg) {
    ecc_status st = ECC_OK;
    ECC_TRY(r_unary(cx, arg));
    ecc_shape s;
    if (!ecc_sh_in(cx, 0, &s)) return ECC_OK;
    s.dtype = ECC_DTYPE_BOOL;
    ECC_TRY(ecc_sh_emit(cx, 1, &s));
    return ECC_OK;
fail:
    return st;
}

static bool sh_is_int_dtype(int32_t dt) {
    const ecc_dtype_traits *t = ecc_dtype_get(dt);
    return t && (t->dclass == ECC_DC_SINT || t->dclass == ECC_DC_UINT);
}

/* Cast: dtype from `to`; int contents survive casts between int32/int64 only. */
static ecc_status r_cast(ecc_sh_cx *cx, int32_t arg) {
    ecc_status st = ECC_OK;
    int64_t to = ecc_node_attr_int(cx->node, "to", 0);
    (void)arg;
    SH_FAIL_IF(to <= 0 || to > INT32_MAX || !ecc_dtype_get((int32_t)to),
               "attribute 'to' names unknown data type %lld", (long long)to);
    if ((to == ECC_DTYPE_INT64 || to == ECC_DTYPE_INT32) && sh_is_int_dtype(sh_in_dtype(cx, 0)))
        ECC_TRY(r_identity(cx, (int32_t)to));
    else
        ECC_TRY(r_unary(cx, (int32_t)to));
    return ECC_OK;
fail:
    return st;
}

static ecc_status r_castlike(ecc_sh_cx *cx, int32_t arg) {
    (void)arg;
    return r_unary(cx, sh_in_dtype(cx, 1));
}

/* Zero-point style dtype: of input slot when given, else dflt. */
static int32_t sh_zp_dtype(const ecc_sh_cx *cx, uint32_t slot, int32_t dflt) {
    return ecc_sh_input(cx, slot) ? sh_in_dtype(cx, slot) : dflt;
}

static ecc_status r_quantize(ecc_sh_cx *cx, int32_t arg) {
    (void)arg;
    int32_t dt = cx->opset >= 21 ? sh_dtype_attr(cx, "output_dtype", 0) : 0;
    if (!dt) dt = sh_zp_dtype(cx, 2, ECC_DTYPE_UINT8);
    ecc_shape s;
    if (!ecc_sh_in(cx, 0, &s)) return ECC_OK;
    s.dtype = dt;
    return ecc_sh_emit(cx, 0, &s);
}

static ecc_status r_dequantize(ecc_sh_cx *cx, int32_t arg) {
    (void)arg;
    int32_t dt = cx->opset >= 23 ? sh_dtype_attr(cx, "output_dtype", 0) : 0;
    if (!dt) dt = sh_in_dtype(cx, 1);
    ecc_shape s;
    if (!ecc_sh_in(cx, 0, &s)) return ECC_OK;
    s.dtype = dt ? dt : ECC_DTYPE_FLOAT;
    return ecc_sh_emit(cx, 0, &s);
}

static ecc_status r_dyn_quantize(ecc_sh_cx *cx, int32_t arg) {
    ecc_status st = ECC_OK;
    ecc_shape scalar = {.dtype = ECC_DTYPE_FLOAT, .rank = 0};
    ECC_TRY(r_unary(cx, ECC_DTYPE_UINT8));
    ECC_TRY(ecc_sh_emit(cx, 1, &scalar));
    scalar.dtype = ECC_DTYPE_UINT8;
    ECC_TRY(ecc_sh_emit(cx, 2, &scalar));
    (void)arg;
    return ECC_OK;
fail:
    return st;
}

/* Add, Mul, comparisons, variadic Sum/Max/…: NumPy broadcast over every given input. */
static ecc_status r_binary(ecc_sh_cx *cx, int32_t arg) {
    ecc_status st = ECC_OK;
    ecc_shape acc, s;
    bool any = false;
    for (uint32_t i = 0; i < cx->node->n_inputs; i++) {
        if (!ecc_sh_in(cx, i, &s)) continue;
        if (!any) acc = s;
        else ECC_TRY(sh_bcast(cx, &acc, &s, &acc));
        if (arg != SH_FIRST && !acc.dtype) acc.dtype = s.dtype;
        any = true;
    }
    if (!any) return ECC_OK;
    if (arg > 0) acc.dtype = arg;
    ECC_TRY(ecc_sh_emit(cx, 0, &acc));
    ECC_TRY(sh_prop_arith(cx));
    return ECC_OK;
fail:
    return st;
}

static ecc_status r_where(ecc_sh_cx *cx, int32_t arg) {
    ecc_status st = ECC_OK;
    ecc_shape c, x, y;
    (void)arg;
    if (!ecc_sh_in(cx, 0, &c) || !ecc_sh_in(cx, 1, &x) || !ecc_sh_in(cx, 2, &y)) return ECC_OK;
    ECC_TRY(sh_bcast(cx, &c, &x, &c));
    ECC_TRY(sh_bcast(cx, &c, &y, &c));
    c.dtype = x.dtype ? x.dtype : y.dtype;
    ECC_TRY(ecc_sh_emit(cx, 0, &c));
    return ECC_OK;
fail:
    return st;
}

/* ---------------- normalization ---------------- */

static ecc_status r_batchnorm(ecc_sh_cx *cx, int32_t arg) {
    ecc_status st = ECC_OK;
    ecc_shape c;
    ECC_TRY(r_unary(cx, arg));
    if (cx->node->n_outputs > 1 && ecc_sh_in(cx, 1, &c)) {
        int32_t mdt = sh_in_dtype(cx, 3);
        if (mdt) c.dtype = mdt;
        for (uint32_t i = 1; i < cx->node->n_outputs; i++) ECC_TRY(ecc_sh_emit(cx, i, &c));
    }
    return ECC_OK;
fail:
    return st;
}

static ecc_status r_layernorm(ecc_sh_cx *cx, int32_t arg) {
    ecc_status st = ECC_OK;
    ecc_shape x;
    int32_t axis;
    ECC_TRY(r_unary(cx, arg));
    if (!ecc_sh_in(cx, 0, &x)) return ECC_OK;
    x.dtype = sh_dtype_attr(cx, "stash_type", ECC_DTYPE_FLOAT);
    if (x.rank >= 0) {
        ECC_TRY(sh_axis(cx, ecc_node_attr_int(cx->node, "axis", -1), x.rank, 0, &axis));
        for (int32_t i = axis; i < x.rank; i++) x.d[i] = sh_d(1);
    }
    ECC_TRY(ecc_sh_emit(cx, 1, &x));
    ECC_TRY(ecc_sh_emit(cx, 2, &x));
    return ECC_OK;
fail:
    return st;
}

/* ---------------- convolution and pooling ---------------- */

enum { SH_PAD_NOTSET, SH_PAD_VALID, SH_PAD_SAME };

typedef struct sh_win {
    int32_t sp;                     /* spatial rank */
    int64_t k[ECC_SH_MAX_RANK];     /* kernel, -1 unknown */
    int64_t s[ECC_SH_MAX_RANK], dil[ECC_SH_MAX_RANK], pads[2 * ECC_SH_MAX_RANK];
    int mode;
    bool ceil_mode;
} sh_win;

static ecc_status sh_read_pad_mode(ecc_sh_cx *cx, int *mode) {
    const char *p = ecc_node_attr_string(cx->node, "auto_pad", "NOTSET");
    if (!p || !p[0] || strcmp(p, "NOTSET") == 0) *mode = SH_PAD_NOTSET;
    else if (strcmp(p, "VALID") == 0) *mode = SH_PAD_VALID;
    else if (strcmp(p, "SAME_UPPER") == 0 || strcmp(p, "SAME_LOWER") == 0) *mode = SH_PAD_SAME;
    else return ecc_sh_fail(cx, "unknown auto_pad '%s'", p);
    return ECC_OK;
}

/* Window attributes for sp spatial axes; the kernel comes from kernel_shape or,
 * for convolutions, from the weight w (NULL for pooling, where it is required). */
static ecc_status sh_read_win(ecc_sh_cx *cx, int32_t sp, const ecc_shape *w, sh_win *win) {
    ecc_status st = ECC_OK;
    const int64_t *ks = NULL;
    size_t nk = ecc_node_attr_ints(cx->node, "kernel_shape", &ks);
    win->sp = sp;
    if (ks && nk) {
        ECC_TRY(sh_attr_ints(cx, "kernel_shape", win->k, sp, 1, 1));
    } else {
        SH_FAIL_IF(!w, "missing attribute 'kernel_shape'");
        for (int32_t i = 0; i < sp; i++) {
            win->k[i] = w->rank == sp + 2 ? w->d[2 + i].value : -1;
            SH_FAIL_IF(win->k[i] == 0, "weight has an empty kernel axis");
        }
    }
    ECC_TRY(sh_attr_ints(cx, "strides", win->s, sp, 1, 1));
    ECC_TRY(sh_attr_ints(cx, "dilations", win->dil, sp, 1, 1));
    ECC_TRY(sh_attr_ints(cx, "pads", win->pads, 2 * sp, 0, 0));
    ECC_TRY(sh_read_pad_mode(cx, &win->mode));
    win->ceil_mode = ecc_node_attr_int(cx->node, "ceil_mode", 0) != 0;
    return ECC_OK;
fail:
    return st;
}

/* Effective kernel extent (k-1)*d+1 of axis i; -1 when the kernel is unknown. */
static ecc_status sh_win_extent(ecc_sh_cx *cx, const sh_win *w, int32_t i, int64_t *eff) {
    *eff = -1;
    if (w->k[i] < 0) return ECC_OK;
    if (!ecc_mul_i64(w->k[i] - 1, w->dil[i], eff) || !ecc_add_i64(*eff, 1, eff))
        return ecc_sh_fail(cx, "kernel extent overflows on spatial axis %d", i);
    return ECC_OK;
}

/* Output extent of a sliding window (Conv, pools) on spatial axis i. */
static ecc_status sh_win_out(ecc_sh_cx *cx, const sh_win *w, int32_t i, ecc_sh_dim in,
                             ecc_sh_dim *out) {
    ecc_status st = ECC_OK;
    int64_t s = w->s[i], eff, total, o, last;
    bool pads = w->mode == SH_PAD_NOTSET;
    int64_t pb = pads ? w->pads[i] : 0, pe = pads ? w->pads[i + w->sp] : 0;
    *out = SH_UNK;
    if (w->mode == SH_PAD_SAME) {
        if (s == 1) *out = in;
        else if (in.value >= 0) *out = sh_d(in.value / s + (in.value % s != 0));
        return ECC_OK;
    }
    ECC_TRY(sh_win_extent(cx, w, i, &eff));
    if (eff == 1 && s == 1 && pb == 0 && pe == 0) *out = in;
    if (eff < 0 || in.value < 0) return ECC_OK;
    SH_FAIL_IF(!ecc_add_i64(in.value, pb, &total) || !ecc_add_i64(total, pe, &total),
               "padded input extent overflows on spatial axis %d", i);
    total -= eff;
    SH_FAIL_IF(total < 0, "kernel extent %lld is larger than the padded input %lld on spatial "
               "axis %d", (long long)eff, (long long)(total + eff), i);
    o = total / s + 1;
    if (w->ceil_mode && total % s) {
        o++;
        if (!ecc_mul_i64(o - 1, s, &last) || last >= in.value + pb) o--;
    }
    *out = sh_d(o);
    return ECC_OK;
fail:
    return st;
}

/* Output extent of ConvTranspose on axis i: s*(in-1) + out_pad + extent - pads. */
static ecc_status sh_convt_out(ecc_sh_cx *cx, const sh_win *w, int32_t i, ecc_sh_dim in,
                               int64_t out_pad, ecc_sh_dim *out) {
    ecc_status st = ECC_OK;
    int64_t s = w->s[i], eff, o;
    bool pads = w->mode == SH_PAD_NOTSET;
    int64_t pb = pads ? w->pads[i] : 0, pe = pads ? w->pads[i + w->sp] : 0;
    *out = SH_UNK;
    if (w->mode == SH_PAD_SAME) return sh_mul(cx, in, sh_d(s), out);
    ECC_TRY(sh_win_extent(cx, w, i, &eff));
    if (eff == 1 && s == 1 && out_pad == 0 && pb == 0 && pe == 0) *out = in;
    if (eff < 0 || in.value < 0) return ECC_OK;
    SH_FAIL_IF(!ecc_mul_i64(s, in.value - 1, &o) || !ecc_add_i64(o, out_pad, &o) ||
                   !ecc_add_i64(o, eff, &o) || !ecc_add_i64(o, -pb, &o) || !ecc_add_i64(o, -pe, &o),
               "output extent overflows on spatial axis %d", i);
    SH_FAIL_IF(o < 0, "output extent %lld on spatial axis %d is negative", (long long)o, i);
    *out = sh_d(o);
    return ECC_OK;
fail:
    return st;
}

/* Spatial rank from X, else W; -1 when neither is known. */
static int32_t sh_spatial(const ecc_shape *x, const ecc_shape *w) {
    if (x->rank >= 2) return x->rank - 2;
    if (w->rank >= 2) return w->rank - 2;
    return -1;
}

/* Channel consistency of X [N,C,…] and W; transpose: W is [C, M/g, …]. */
static ecc_status sh_conv_check(ecc_sh_cx *cx, const ecc_shape *x, const ecc_shape *w,
                                int64_t group, bool transpose) {
    int64_t c;
    if (x->rank >= 0 && x->rank < 3)
        return ecc_sh_fail(cx, "input has rank %d, expected at least 3", x->rank);
    if (x->rank >= 0 && w->rank >= 0 && x->rank != w->rank)
        return ecc_sh_fail(cx, "input rank %d and weight rank %d differ", x->rank, w->rank);
    /* weight dim 0: output channels (Conv) or input channels (ConvTranspose) */
    if (w->rank >= 1 && w->d[0].value >= 0 && w->d[0].value % group)
        return ecc_sh_fail(cx, "group %lld does not divide the %lld %s channels",
                           (long long)group, (long long)w->d[0].value,
                           transpose ? "input" : "output");
    if (x->rank < 0 || w->rank < 0 || x->d[1].value < 0) return ECC_OK;
    if (transpose) {
        if (w->d[0].value >= 0 && w->d[0].value != x->d[1].value)
            return ecc_sh_fail(cx, "input has %lld channels but the weight expects %lld",
                               (long long)x->d[1].value, (long long)w->d[0].value);
        return ECC_OK;
    }
    if (w->d[1].value >= 0 && (!ecc_mul_i64(w->d[1].value, group, &c) || c != x->d[1].value))
        return ecc_sh_fail(cx, "input has %lld channels but the weight expects %lld x group %lld",
                           (long long)x->d[1].value, (long long)w->d[1].value, (long long)group);
    return ECC_OK;
}

/* Output dtype of the plain (arg 0), integer (1) and QLinear (2) variants of Conv/MatMul. */
static int32_t sh_variant_dtype(const ecc_sh_cx *cx, int32_t arg, int32_t plain) {
    if (arg == 0) return plain;
    return arg == 1 ? ECC_DTYPE_INT32 : sh_zp_dtype(cx, 7, ECC_DTYPE_UINT8);
}

/* Conv (arg 0), ConvInteger (1), QLinearConv (2). */
static ecc_status r_conv(ecc_sh_cx *cx, int32_t arg) {
    ecc_status st = ECC_OK;
    ecc_shape x, w, y;
    sh_win win;
    if (!ecc_sh_in(cx, 0, &x)) return ECC_OK;
    ecc_sh_in(cx, arg == 2 ? 3 : 1, &w);
    int32_t dt = sh_variant_dtype(cx, arg, x.dtype);
    int64_t group = ecc_node_attr_int(cx->node, "group", 1);
    int32_t sp = sh_spatial(&x, &w);
    SH_FAIL_IF(group < 1, "invalid group %lld", (long long)group);
    if (sp < 0) return sh_emit_dtype(cx, 0, dt);
    ECC_TRY(sh_conv_check(cx, &x, &w, group, false));
    ECC_TRY(sh_read_win(cx, sp, &w, &win));
    y.dtype = dt;
    y.rank = sp + 2;
    y.d[0] = x.rank >= 0 ? x.d[0] : SH_UNK;
    y.d[1] = w.rank >= 0 ? w.d[0] : SH_UNK;
    for (int32_t i = 0; i < sp; i++)
        ECC_TRY(sh_win_out(cx, &win, i, x.rank >= 0 ? x.d[2 + i] : SH_UNK, &y.d[2 + i]));
    return ecc_sh_emit(cx, 0, &y);
fail:
    return st;
}

static ecc_status r_conv_transpose(ecc_sh_cx *cx, int32_t arg) {
    ecc_status st = ECC_OK;
    ecc_shape x, w, y;
    sh_win win;
    int64_t opad[ECC_SH_MAX_RANK];
    const int64_t *os = NULL;
    (void)arg;
    if (!ecc_sh_in(cx, 0, &x)) return ECC_OK;
    ecc_sh_in(cx, 1, &w);
    int64_t group = ecc_node_attr_int(cx->node, "group", 1);
    int32_t sp = sh_spatial(&x, &w);
    if (group < 1) return ecc_sh_fail(cx, "invalid group %lld", (long long)group);
    if (sp < 0) return sh_emit_dtype(cx, 0, x.dtype);
    ECC_TRY(sh_conv_check(cx, &x, &w, group, true));
    ECC_TRY(sh_read_win(cx, sp, &w, &win));
    ECC_TRY(sh_attr_ints(cx, "output_padding", opad, sp, 0, 0));
    size_t nos = ecc_node_attr_ints(cx->node, "output_shape", &os);
    if (os && nos && nos != (size_t)sp && nos != (size_t)sp + 2)
        return ecc_sh_fail(cx, "attribute 'output_shape' has %zu values for %d spatial axes",
                           nos, sp);
    y.dtype = x.dtype;
    y.rank = sp + 2;
    y.d[0] = x.rank >= 0 ? x.d[0] : SH_UNK;
    y.d[1] = SH_UNK;
    if (w.rank >= 0) ECC_TRY(sh_mul(cx, w.d[1], sh_d(group), &y.d[1]));
    for (int32_t i = 0; i < sp; i++) {
        if (os && nos) {
            int64_t v = os[nos - (size_t)sp + (size_t)i];
            SH_FAIL_IF(v < 0, "attribute 'output_shape' has invalid value %lld", (long long)v);
            y.d[2 + i] = sh_d(v);
        } else {
            ecc_sh_dim in = x.rank >= 0 ? x.d[2 + i] : SH_UNK;
            ECC_TRY(sh_convt_out(cx, &win, i, in, opad[i], &y.d[2 + i]));
        }
    }
    return ecc_sh_emit(cx, 0, &y);
fail:
    return st;
}

/* MaxPool (arg 1: second output = int64 indices), AveragePool, LpPool. */
static ecc_status r_pool(ecc_sh_cx *cx, int32_t arg) {
    ecc_status st = ECC_OK;
    ecc_shape x, y;
    sh_win win;
    if (!ecc_sh_in(cx, 0, &x)) return ECC_OK;
    if (x.rank >= 0 && x.rank < 3)
        return ecc_sh_fail(cx, "input has rank %d, expected at least 3", x.rank);
    sh_unknown(&y, x.dtype, -1);
    if (x.rank >= 0) {
        ECC_TRY(sh_read_win(cx, x.rank - 2, NULL, &win));
        y.rank = x.rank;
        y.d[0] = x.d[0];
        y.d[1] = x.d[1];
        for (int32_t i = 0; i < win.sp; i++)
            ECC_TRY(sh_win_out(cx, &win, i, x.d[2 + i], &y.d[2 + i]));
    }
    ECC_TRY(ecc_sh_emit(cx, 0, &y));
    y.dtype = ECC_DTYPE_INT64;
    if (arg) ECC_TRY(ecc_sh_emit(cx, 1, &y));
    return ECC_OK;
fail:
    return st;
}

static ecc_status r_global_pool(ecc_sh_cx *cx, int32_t arg) {
    ecc_shape x;
    (void)arg;
    if (!ecc_sh_in(cx, 0, &x)) return ECC_OK;
    if (x.rank >= 0 && x.rank < 2)
        return ecc_sh_fail(cx, "input has rank %d, expected at least 2", x.rank);
    for (int32_t i = 2; i < x.rank; i++) x.d[i] = sh_d(1);
    return ecc_sh_emit(cx, 0, &x);
}

/* ---------------- matrix products ---------------- */

static ecc_status sh_inner_mismatch(ecc_sh_cx *cx, const ecc_shape *a, const ecc_shape *b) {
    char sa[256], sb[256];
    return ecc_sh_fail(cx, "inner dimensions of %s and %s differ", ecc_sh_format(a, sa, sizeof sa),
                       ecc_sh_format(b, sb, sizeof sb));
}

static ecc_status r_gemm(ecc_sh_cx *cx, int32_t arg) {
    ecc_shape a, b, y;
    (void)arg;
    if (!ecc_sh_in(cx, 0, &a) || !ecc_sh_in(cx, 1, &b)) return ECC_OK;
    if ((a.rank >= 0 && a.rank != 2) || (b.rank >= 0 && b.rank != 2))
        return ecc_sh_fail(cx, "inputs must be 2-D (got ranks %d and %d)", a.rank, b.rank);
    bool ta = ecc_node_attr_int(cx->node, "transA", 0) != 0;
    bool tb = ecc_node_attr_int(cx->node, "transB", 0) != 0;
    sh_unknown(&y, a.dtype ? a.dtype : b.dtype, 2);
    if (a.rank == 2 && b.rank == 2) {
        ecc_sh_dim ka = a.d[ta ? 0 : 1], kb = b.d[tb ? 1 : 0];
        if (ka.value >= 0 && kb.value >= 0 && ka.value != kb.value)
            return sh_inner_mismatch(cx, &a, &b);
    }
    if (a.rank == 2) y.d[0] = a.d[ta ? 1 : 0];
    if (b.rank == 2) y.d[1] = b.d[tb ? 0 : 1];
    return ecc_sh_emit(cx, 0, &y);
}

/* MatMul (arg 0), MatMulInteger (1), QLinearMatMul (2): batched, 1-D operands promoted. */
static ecc_status r_matmul(ecc_sh_cx *cx, int32_t arg) {
    ecc_status st = ECC_OK;
    ecc_shape a, b, ba, bb, y;
    if (!ecc_sh_in(cx, 0, &a) || !ecc_sh_in(cx, arg == 2 ? 3 : 1, &b)) return ECC_OK;
    int32_t dt = sh_variant_dtype(cx, arg, a.dtype);
    if (a.rank < 0 || b.rank < 0) return sh_emit_dtype(cx, 0, dt);
    if (a.rank == 0 || b.rank == 0) return ecc_sh_fail(cx, "operands must be at least 1-D");
    ecc_sh_dim ka = a.d[a.rank - 1], kb = b.d[b.rank == 1 ? 0 : b.rank - 2];
    if (ka.value >= 0 && kb.value >= 0 && ka.value != kb.value)
        return sh_inner_mismatch(cx, &a, &b);
    ba.rank = a.rank >= 2 ? a.rank - 2 : 0;
    bb.rank = b.rank >= 2 ? b.rank - 2 : 0;
    memcpy(ba.d, a.d, (size_t)ba.rank * sizeof a.d[0]);
    memcpy(bb.d, b.d, (size_t)bb.rank * sizeof b.d[0]);
    ECC_TRY(sh_bcast(cx, &ba, &bb, &y));
    y.dtype = dt;
    if (a.rank >= 2) y.d[y.rank++] = a.d[a.rank - 2];
    if (b.rank >= 2) y.d[y.rank++] = b.d[b.rank - 1];
    return ecc_sh_emit(cx, 0, &y);
fail:
    return st;
}

/* ---------------- shape manipulation ---------------- */

static ecc_status r_flatten(ecc_sh_cx *cx, int32_t arg) {
    ecc_status st = ECC_OK;
    ecc_shape x, y;
    int32_t axis;
    (void)arg;
    if (!ecc_sh_in(cx, 0, &x)) return ECC_OK;
    sh_unknown(&y, x.dtype, 2);
    if (x.rank >= 0) {
        ECC_TRY(sh_axis(cx, ecc_node_attr_int(cx->node, "axis", 1), x.rank, 1, &axis));
        ECC_TRY(sh_prod(cx, &x, 0, axis, &y.d[0]));
        ECC_TRY(sh_prod(cx, &x, axis, x.rank, &y.d[1]));
    }
    return ecc_sh_emit(cx, 0, &y);
fail:
    return st;
}

/* Known product and symbolic factors of s->d[i] for i != skip; false when some dim is unknown. */
static bool sh_factor(const ecc_shape *s, int32_t skip, int64_t *known,
                      const char **params, int32_t *np, bool *overflow) {
    *known = 1;
    *np = 0;
    for (int32_t i = 0; i < s->rank; i++) {
        if (i == skip) continue;
        if (s->d[i].value >= 0) {
            if (!ecc_mul_i64(*known, s->d[i].value, known)) *overflow = true;
        } else if (s->d[i].param) {
            params[(*np)++] = s->d[i].param;
        } else {
            return false;
        }
    }
    return !*overflow;
}

/* Fills y->d[infer] (the -1 of Reshape) from x's element count; also checks
 * equal element counts when everything is known. */
static ecc_status sh_reshape_count(ecc_sh_cx *cx, const ecc_shape *x, ecc_shape *y, int32_t infer) {
    const char *px[ECC_SH_MAX_RANK], *py[ECC_SH_MAX_RANK];
    int64_t kx = 1, ky = 1;
    int32_t nx = 0, ny = 0;
    bool ovx = false, ovy = false;
    char sa[256], sb[256];
    bool okx = x->rank >= 0 && sh_factor(x, -1, &kx, px, &nx, &ovx);
    bool oky = sh_factor(y, infer, &ky, py, &ny, &ovy);
    if (ovx || ovy) return ecc_sh_fail(cx, "element count overflows");
    if (!okx || !oky) return ECC_OK;
    for (int32_t i = 0; i < ny; i++) { /* cancel symbols present on both sides */
        int32_t j = 0;
        while (j < nx && strcmp(px[j], py[i]) != 0) j++;
        if (j == nx) return ECC_OK;
        px[j] = px[--nx];
    }
    if (infer < 0) {
        if (nx == 0 && kx != ky) goto mismatch;
        return ECC_OK;
    }
    if (ky == 0) return kx == 0 ? ECC_OK : ecc_sh_fail(cx, "cannot infer -1 next to a 0 dimension");
    if (kx % ky != 0) goto mismatch;
    if (nx == 0) y->d[infer] = sh_d(kx / ky);
    else if (nx == 1 && kx == ky) y->d[infer] = (ecc_sh_dim){-1, px[0]};
    return ECC_OK;
mismatch:
    return ecc_sh_fail(cx, "cannot reshape %s to %s", ecc_sh_format(x, sa, sizeof sa),
                       ecc_sh_format(y, sb, sizeof sb));
}

/* The requested shape of Reshape: input 1 (attribute `shape` before opset 5). */
static bool sh_reshape_target(ecc_sh_cx *cx, ecc_symval *sv) {
    if (cx->opset >= 5) return ecc_sh_sym(cx, 1, sv);
    const int64_t *v = NULL;
    size_t n = ecc_node_attr_ints(cx->node, "shape", &v);
    if (!v || n > ECC_SH_MAX_SYM) return false;
    sv->rank = 1;
    sv->n = (int32_t)n;
    for (size_t i = 0; i < n; i++) sv->e[i] = (ecc_sh_elt){.v = v[i], .known = true};
    return true;
}

/* Rank of a shape-tensor input whose contents are unknown: its length, or -1. */
static int32_t sh_shape_input_len(const ecc_sh_cx *cx, uint32_t slot) {
    ecc_shape s;
    if (!ecc_sh_in(cx, slot, &s) || s.rank != 1 || s.d[0].value < 0 ||
        s.d[0].value > ECC_SH_MAX_RANK)
        return -1;
    return (int32_t)s.d[0].value;
}

static ecc_status r_reshape(ecc_sh_cx *cx, int32_t arg) {
    ecc_status st = ECC_OK;
    ecc_shape x, y;
    ecc_symval sv;
    int32_t infer = -1;
    (void)arg;
    if (!ecc_sh_in(cx, 0, &x)) return ECC_OK;
    bool allowzero = cx->opset >= 14 && ecc_node_attr_int(cx->node, "allowzero", 0) != 0;
    if (!sh_reshape_target(cx, &sv) || sv.n > ECC_SH_MAX_RANK) {
        sh_unknown(&y, x.dtype, sh_shape_input_len(cx, 1));
        return ecc_sh_emit(cx, 0, &y);
    }
    if (sv.rank != 1) return ecc_sh_fail(cx, "shape input must be 1-D");
    sh_unknown(&y, x.dtype, sv.n);
    for (int32_t i = 0; i < sv.n; i++) {
        ecc_sh_elt e = sv.e[i];
        if (!e.known) {
            y.d[i] = (ecc_sh_dim){-1, e.param};
        } else if (e.v == -1) {
            if (infer >= 0) return ecc_sh_fail(cx, "shape has more than one -1");
            infer = i;
        } else if (e.v == 0 && !allowzero) {
            if (x.rank >= 0 && i >= x.rank)
                return ecc_sh_fail(cx, "shape entry %d is 0 but the input has rank %d", i, x.rank);
            if (x.rank >= 0) y.d[i] = x.d[i];
        } else if (e.v < 0) {
            return ecc_sh_fail(cx, "shape has invalid entry %lld", (long long)e.v);
        } else {
            y.d[i] = sh_d(e.v);
        }
    }
    ECC_TRY(sh_reshape_count(cx, &x, &y, infer));
    return ecc_sh_emit(cx, 0, &y);
fail:
    return st;
}

static ecc_status r_transpose(ecc_sh_cx *cx, int32_t arg) {
    ecc_shape x, y;
    bool seen[ECC_SH_MAX_RANK] = {false};
    const int64_t *perm = NULL;
    (void)arg;
    if (!ecc_sh_in(cx, 0, &x)) return ECC_OK;
    size_t n = ecc_node_attr_ints(cx->node, "perm", &perm);
    if (!perm || n == 0) {
        if (x.rank < 0) return sh_emit_dtype(cx, 0, x.dtype);
        y = x;
        for (int32_t i = 0; i < x.rank; i++) y.d[i] = x.d[x.rank - 1 - i];
        return ecc_sh_emit(cx, 0, &y);
    }
    if (n > ECC_SH_MAX_RANK || (x.rank >= 0 && n != (size_t)x.rank))
        return ecc_sh_fail(cx, "perm has %zu entries for rank %d", n, x.rank);
    sh_unknown(&y, x.dtype, (int32_t)n);
    for (size_t i = 0; i < n; i++) {
        if (perm[i] < 0 || perm[i] >= (int64_t)n || seen[perm[i]])
            return ecc_sh_fail(cx, "perm is not a permutation of 0..%zu", n - 1);
        seen[perm[i]] = true;
        if (x.rank >= 0) y.d[i] = x.d[perm[i]];
    }
    return ecc_sh_emit(cx, 0, &y);
}

static ecc_status r_squeeze(ecc_sh_cx *cx, int32_t arg) {
    ecc_status st = ECC_OK;
    ecc_shape x, y;
    ecc_symval sv;
    int64_t axes[ECC_SH_MAX_RANK];
    bool drop[ECC_SH_MAX_RANK];
    size_t n = 0;
    (void)arg;
    if (!ecc_sh_in(cx, 0, &x)) return ECC_OK;
    sh_avail av = sh_list(cx, 1, 13, "axes", axes, ECC_SH_MAX_RANK, &n);
    int32_t count = sh_shape_input_len(cx, 1);
    if (av == SH_UNKNOWN && x.rank >= count && count > 0) {
        sh_unknown(&y, x.dtype, x.rank - count);
        return ecc_sh_emit(cx, 0, &y);
    }
    if (x.rank < 0 || av == SH_UNKNOWN) return sh_emit_dtype(cx, 0, x.dtype);
    if (av == SH_KNOWN && n > 0) ECC_TRY(sh_axes_mark(cx, axes, n, x.rank, drop));
    else
        for (int32_t i = 0; i < x.rank; i++) {
            if (x.d[i].value < 0) return sh_emit_dtype(cx, 0, x.dtype);
            drop[i] = x.d[i].value == 1;
        }
    sh_unknown(&y, x.dtype, 0);
    for (int32_t i = 0; i < x.rank; i++) {
        if (drop[i] && x.d[i].value >= 0 && x.d[i].value != 1)
            return ecc_sh_fail(cx, "cannot squeeze axis %d of size %lld", i,
                               (long long)x.d[i].value);
        if (!drop[i]) y.d[y.rank++] = x.d[i];
    }
    ECC_TRY(ecc_sh_emit(cx, 0, &y));
    if (y.rank == 0 && ecc_sh_sym(cx, 0, &sv) && sv.n == 1) {
        sv.rank = 0;
        ECC_TRY(ecc_sh_set_sym(cx, 0, &sv));
    }
    return ECC_OK;
fail:
    return st;
}

static ecc_status r_unsqueeze(ecc_sh_cx *cx, int32_t arg) {
    ecc_status st = ECC_OK;
    ecc_shape x, y;
    ecc_symval sv;
    int64_t axes[ECC_SH_MAX_RANK];
    bool add[ECC_SH_MAX_RANK];
    size_t n = 0;
    (void)arg;
    if (!ecc_sh_in(cx, 0, &x)) return ECC_OK;
    sh_avail av = sh_list(cx, 1, 13, "axes", axes, ECC_SH_MAX_RANK, &n);
    if (av == SH_ABSENT) return ecc_sh_fail(cx, "missing axes");
    int32_t count = sh_shape_input_len(cx, 1);
    if (av == SH_UNKNOWN && x.rank >= 0 && count >= 0 && x.rank + count <= ECC_SH_MAX_RANK) {
        sh_unknown(&y, x.dtype, x.rank + count);
        return ecc_sh_emit(cx, 0, &y);
    }
    if (x.rank < 0 || av == SH_UNKNOWN || (size_t)x.rank + n > ECC_SH_MAX_RANK)
        return sh_emit_dtype(cx, 0, x.dtype);
    int32_t r = x.rank + (int32_t)n, k = 0;
    ECC_TRY(sh_axes_mark(cx, axes, n, r, add));
    sh_unknown(&y, x.dtype, r);
    for (int32_t i = 0; i < r; i++) y.d[i] = add[i] ? sh_d(1) : x.d[k++];
    ECC_TRY(ecc_sh_emit(cx, 0, &y));
    if (x.rank == 0 && r == 1 && ecc_sh_sym(cx, 0, &sv) && sv.rank == 0) {
        sv.rank = 1;
        ECC_TRY(ecc_sh_set_sym(cx, 0, &sv));
    }
    return ECC_OK;
fail:
    return st;
}

/* Merges the non-axis dims of Concat inputs: known wins, conflicts are errors. */
static ecc_status sh_concat_dim(ecc_sh_cx *cx, ecc_sh_dim *acc, ecc_sh_dim d, int32_t axis) {
    if (acc->value >= 0 && d.value >= 0 && acc->value != d.value)
        return ecc_sh_fail(cx, "inputs differ on axis %d (%lld vs %lld)", axis,
                           (long long)acc->value, (long long)d.value);
    if (d.value >= 0 || (acc->value < 0 && !acc->param)) *acc = d; /* all must agree */
    return ECC_OK;
}

static ecc_status sh_concat_sym(ecc_sh_cx *cx) {
    ecc_symval acc = {.rank = 1, .n = 0}, sv;
    for (uint32_t i = 0; i < cx->node->n_inputs; i++) {
        if (!ecc_sh_input(cx, i)) continue;
        if (!ecc_sh_sym(cx, i, &sv) || sv.rank != 1 || acc.n + sv.n > ECC_SH_MAX_SYM) return ECC_OK;
        memcpy(&acc.e[acc.n], sv.e, (size_t)sv.n * sizeof sv.e[0]);
        acc.n += sv.n;
    }
    return ecc_sh_set_sym(cx, 0, &acc);
}

static ecc_status r_concat(ecc_sh_cx *cx, int32_t arg) {
    ecc_status st = ECC_OK;
    ecc_shape s, y = {.dtype = 0, .rank = -1};
    int32_t axis = 0;
    bool unknown = false;
    ecc_sh_dim sum = sh_d(0);
    (void)arg;
    for (uint32_t i = 0; i < cx->node->n_inputs; i++)
        if (ecc_sh_in(cx, i, &s) && s.rank >= 0 && y.rank < 0) y = s;
    for (uint32_t i = 0; i < cx->node->n_inputs; i++)
        if (!y.dtype && ecc_sh_in(cx, i, &s)) y.dtype = s.dtype;
    if (y.rank < 0) return sh_emit_dtype(cx, 0, y.dtype);
    ECC_TRY(sh_axis(cx, ecc_node_attr_int(cx->node, "axis", 0), y.rank, 0, &axis));
    for (uint32_t i = 0; i < cx->node->n_inputs; i++) {
        if (!ecc_sh_in(cx, i, &s)) continue;
        unknown |= s.rank < 0;
        if (s.rank < 0) continue;
        SH_FAIL_IF(s.rank != y.rank, "inputs have ranks %d and %d", y.rank, s.rank);
        for (int32_t k = 0; k < y.rank; k++)
            if (k != axis) ECC_TRY(sh_concat_dim(cx, &y.d[k], s.d[k], k));
        if (s.d[axis].value >= 0) ECC_TRY(sh_add(cx, sum, s.d[axis].value, &sum));
        else sum = sum.value == 0 ? s.d[axis] : SH_UNK; /* N + 0 = N */
    }
    y.d[axis] = unknown ? SH_UNK : sum;
    ECC_TRY(ecc_sh_emit(cx, 0, &y));
    if (y.rank == 1) ECC_TRY(sh_concat_sym(cx));
    return ECC_OK;
fail:
    return st;
}

/* Split sizes when neither `split` nor a split input gives them. */
static ecc_status sh_split_even(ecc_sh_cx *cx, int64_t dim, uint32_t nout, int64_t *sizes) {
    bool uneven = cx->opset >= 18 && ecc_node_attr(cx->node, "num_outputs") != NULL;
    if (uneven && ecc_node_attr_int(cx->node, "num_outputs", 0) != (int64_t)nout)
        return ecc_sh_fail(cx, "num_outputs is %lld but the node has %u outputs",
                           (long long)ecc_node_attr_int(cx->node, "num_outputs", 0), nout);
    if (dim < 0) {
        for (uint32_t i = 0; i < nout; i++) sizes[i] = -1;
        return ECC_OK;
    }
    int64_t chunk = dim / nout + (uneven && dim % nout != 0);
    if (!uneven && dim % nout != 0)
        return ecc_sh_fail(cx, "axis of size %lld does not split evenly into %u outputs",
                           (long long)dim, nout);
    for (uint32_t i = 0; i < nout; i++) {
        sizes[i] = i + 1 < nout ? chunk : dim - chunk * (int64_t)(nout - 1);
        if (sizes[i] < 0)
            return ecc_sh_fail(cx, "axis of size %lld cannot be split into %u outputs",
                               (long long)dim, nout);
    }
    return ECC_OK;
}

#define SH_MAX_SPLIT 4096

static ecc_status r_split(ecc_sh_cx *cx, int32_t arg) {
    ecc_status st = ECC_OK;
    ecc_shape x;
    int32_t axis;
    int64_t sizes[SH_MAX_SPLIT], total = 0;
    size_t n = 0;
    uint32_t nout = cx->node->n_outputs;
    (void)arg;
    if (!ecc_sh_in(cx, 0, &x) || nout == 0) return ECC_OK;
    sh_avail av = sh_list(cx, 1, 13, "split", sizes, SH_MAX_SPLIT, &n);
    if (x.rank < 0 || nout > SH_MAX_SPLIT) {
        for (uint32_t i = 0; i < nout; i++) ECC_TRY(sh_emit_dtype(cx, i, x.dtype));
        return ECC_OK;
    }
    ECC_TRY(sh_axis(cx, ecc_node_attr_int(cx->node, "axis", 0), x.rank, 0, &axis));
    int64_t dim = x.d[axis].value;
    if (av == SH_UNKNOWN) {
        for (uint32_t i = 0; i < nout; i++) sizes[i] = -1;
    } else if (av == SH_KNOWN && n > 0) {
        if (n != nout) return ecc_sh_fail(cx, "split has %zu sizes for %u outputs", n, nout);
        for (size_t i = 0; i < n; i++)
            if (sizes[i] < 0 || !ecc_add_i64(total, sizes[i], &total))
                return ecc_sh_fail(cx, "split has invalid size %lld", (long long)sizes[i]);
        if (dim >= 0 && total != dim)
            return ecc_sh_fail(cx, "split sizes add up to %lld but the axis has %lld",
                               (long long)total, (long long)dim);
    } else {
        ECC_TRY(sh_split_even(cx, dim, nout, sizes));
    }
    for (uint32_t i = 0; i < nout; i++) {
        ecc_shape y = x;
        y.d[axis] = sizes[i] >= 0 ? sh_d(sizes[i]) : SH_UNK;
        ECC_TRY(ecc_sh_emit(cx, i, &y));
    }
    return ECC_OK;
fail:
    return st;
}

/* One axis of Slice (ONNX clamping rules); dim < 0 when unknown. */
static int64_t sh_slice_len(int64_t dim, int64_t start, int64_t end, int64_t step) {
    if (dim < 0) return -1;
    if (start < 0) start += dim;
    if (end < 0) end += dim;
    if (step > 0) {
        start = start < 0 ? 0 : start > dim ? dim : start;
        end = end < 0 ? 0 : end > dim ? dim : end;
        return end > start ? (end - start - 1) / step + 1 : 0;
    }
    start = start < 0 ? 0 : start > dim - 1 ? dim - 1 : start;
    end = end < -1 ? -1 : end > dim - 1 ? dim - 1 : end;
    if (start <= end) return 0;
    return step == INT64_MIN ? 1 : (start - end - 1) / -step + 1;
}

typedef struct sh_slice {
    int64_t starts[ECC_SH_MAX_RANK], ends[ECC_SH_MAX_RANK];
    int64_t axes[ECC_SH_MAX_RANK], steps[ECC_SH_MAX_RANK];
    size_t n;
} sh_slice;

/* Reads starts/ends/axes/steps; *known false when they are not constant. */
static ecc_status sh_read_slice(ecc_sh_cx *cx, sh_slice *sl, bool *known) {
    size_t ne = 0, na = 0, ns = 0;
    *known = false;
    sh_avail a = sh_list(cx, 1, 10, "starts", sl->starts, ECC_SH_MAX_RANK, &sl->n);
    sh_avail b = sh_list(cx, 2, 10, "ends", sl->ends, ECC_SH_MAX_RANK, &ne);
    sh_avail c = sh_list(cx, 3, 10, "axes", sl->axes, ECC_SH_MAX_RANK, &na);
    sh_avail d = SH_ABSENT;
    if (cx->opset >= 10) d = sh_list(cx, 4, 10, "steps", sl->steps, ECC_SH_MAX_RANK, &ns);
    if (a != SH_KNOWN || b != SH_KNOWN || c == SH_UNKNOWN || d == SH_UNKNOWN) return ECC_OK;
    if (ne != sl->n || (c == SH_KNOWN && na != sl->n) || (d == SH_KNOWN && ns != sl->n))
        return ecc_sh_fail(cx, "starts, ends, axes and steps differ in length");
    for (size_t i = 0; i < sl->n; i++) {
        if (c != SH_KNOWN) sl->axes[i] = (int64_t)i;
        if (d != SH_KNOWN) sl->steps[i] = 1;
        if (sl->steps[i] == 0) return ecc_sh_fail(cx, "slice step is 0");
    }
    *known = true;
    return ECC_OK;
}

static ecc_status sh_slice_sym(ecc_sh_cx *cx, const sh_slice *sl) {
    ecc_symval in, out = {.rank = 1, .n = 0};
    if (sl->n != 1 || !ecc_sh_sym(cx, 0, &in) || in.rank != 1) return ECC_OK;
    int64_t len = sh_slice_len(in.n, sl->starts[0], sl->ends[0], sl->steps[0]);
    int64_t i = sl->starts[0] < 0 ? sl->starts[0] + in.n : sl->starts[0];
    if (sl->steps[0] > 0) i = i < 0 ? 0 : i > in.n ? in.n : i;
    else i = i < 0 ? 0 : i > in.n - 1 ? in.n - 1 : i;
    for (int64_t k = 0; k < len; k++) /* len > 1 implies |step| < n: no overflow */
        out.e[out.n++] = in.e[i + k * sl->steps[0]];
    return ecc_sh_set_sym(cx, 0, &out);
}

static ecc_status r_slice(ecc_sh_cx *cx, int32_t arg) {
    ecc_status st = ECC_OK;
    ecc_shape x, y;
    sh_slice sl;
    bool known, seen[ECC_SH_MAX_RANK] = {false};
    (void)arg;
    if (!ecc_sh_in(cx, 0, &x)) return ECC_OK;
    if (x.rank < 0) return sh_emit_dtype(cx, 0, x.dtype);
    ECC_TRY(sh_read_slice(cx, &sl, &known));
    y = x;
    if (!known) {
        sh_unknown(&y, x.dtype, x.rank);
        return ecc_sh_emit(cx, 0, &y);
    }
    for (size_t i = 0; i < sl.n; i++) {
        int32_t a;
        ECC_TRY(sh_axis(cx, sl.axes[i], x.rank, 0, &a));
        if (seen[a]) return ecc_sh_fail(cx, "axis %d is sliced twice", a);
        seen[a] = true;
        bool whole = sl.starts[i] == 0 && sl.steps[i] == 1 && sl.ends[i] >= INT32_MAX;
        int64_t len = sh_slice_len(x.d[a].value, sl.starts[i], sl.ends[i], sl.steps[i]);
        if (!whole) y.d[a] = len >= 0 ? sh_d(len) : SH_UNK;
    }
    ECC_TRY(ecc_sh_emit(cx, 0, &y));
    ECC_TRY(sh_slice_sym(cx, &sl));
    return ECC_OK;
fail:
    return st;
}

static ecc_status sh_gather_sym(ecc_sh_cx *cx, int32_t axis) {
    ecc_symval data, idx, out;
    if (axis != 0 || !ecc_sh_sym(cx, 0, &data) || data.rank != 1 || !ecc_sh_sym(cx, 1, &idx))
        return ECC_OK;
    out.rank = idx.rank;
    out.n = idx.n;
    for (int32_t i = 0; i < idx.n; i++) {
        int64_t k = idx.e[i].v;
        if (!idx.e[i].known || k < -(int64_t)data.n || k >= data.n) return ECC_OK;
        out.e[i] = data.e[k < 0 ? k + data.n : k];
    }
    return ecc_sh_set_sym(cx, 0, &out);
}

static ecc_status r_gather(ecc_sh_cx *cx, int32_t arg) {
    ecc_status st = ECC_OK;
    ecc_shape x, ind, y;
    int32_t axis;
    (void)arg;
    if (!ecc_sh_in(cx, 0, &x) || !ecc_sh_in(cx, 1, &ind)) return ECC_OK;
    if (x.rank < 0 || ind.rank < 0 || x.rank - 1 + ind.rank > ECC_SH_MAX_RANK)
        return sh_emit_dtype(cx, 0, x.dtype);
    ECC_TRY(sh_axis(cx, ecc_node_attr_int(cx->node, "axis", 0), x.rank, 0, &axis));
    sh_unknown(&y, x.dtype, 0);
    for (int32_t i = 0; i < axis; i++) y.d[y.rank++] = x.d[i];
    for (int32_t i = 0; i < ind.rank; i++) y.d[y.rank++] = ind.d[i];
    for (int32_t i = axis + 1; i < x.rank; i++) y.d[y.rank++] = x.d[i];
    ECC_TRY(ecc_sh_emit(cx, 0, &y));
    ECC_TRY(sh_gather_sym(cx, axis));
    return ECC_OK;
fail:
    return st;
}

static ecc_status r_gather_elements(ecc_sh_cx *cx, int32_t arg) {
    ecc_shape x, ind;
    (void)arg;
    if (!ecc_sh_in(cx, 0, &x) || !ecc_sh_in(cx, 1, &ind)) return ECC_OK;
    if (x.rank >= 0 && ind.rank >= 0 && x.rank != ind.rank)
        return ecc_sh_fail(cx, "data rank %d and indices rank %d differ", x.rank, ind.rank);
    ind.dtype = x.dtype;
    return ecc_sh_emit(cx, 0, &ind);
}

static ecc_status r_gather_nd(ecc_sh_cx *cx, int32_t arg) {
    ecc_shape x, ind, y;
    (void)arg;
    if (!ecc_sh_in(cx, 0, &x) || !ecc_sh_in(cx, 1, &ind)) return ECC_OK;
    int64_t b = ecc_node_attr_int(cx->node, "batch_dims", 0);
    if (x.rank < 0 || ind.rank < 1 || ind.d[ind.rank - 1].value < 0)
        return sh_emit_dtype(cx, 0, x.dtype);
    int64_t last = ind.d[ind.rank - 1].value;
    if (b < 0 || b >= ind.rank || b > x.rank || last > x.rank - b)
        return ecc_sh_fail(cx, "indices of shape %lld with batch_dims %lld do not fit data rank %d",
                           (long long)last, (long long)b, x.rank);
    sh_unknown(&y, x.dtype, 0);
    for (int32_t i = 0; i < ind.rank - 1; i++) y.d[y.rank++] = ind.d[i];
    for (int64_t i = b + last; i < x.rank && y.rank < ECC_SH_MAX_RANK; i++) y.d[y.rank++] = x.d[i];
    if (ind.rank - 1 + x.rank - b - last > ECC_SH_MAX_RANK) return sh_emit_dtype(cx, 0, x.dtype);
    return ecc_sh_emit(cx, 0, &y);
}

/* ---------------- shape-valued ops ---------------- */

static int64_t sh_clamp_end(int64_t v, int64_t r) {
    if (v < 0) v += r;
    return v < 0 ? 0 : v > r ? r : v;
}

static ecc_status r_shape(ecc_sh_cx *cx, int32_t arg) {
    ecc_status st = ECC_OK;
    ecc_shape x, y;
    (void)arg;
    if (!ecc_sh_in(cx, 0, &x)) return ECC_OK;
    sh_unknown(&y, ECC_DTYPE_INT64, 1);
    if (x.rank < 0) return ecc_sh_emit(cx, 0, &y);
    int64_t start = 0, end = x.rank;
    if (cx->opset >= 15) {
        start = sh_clamp_end(ecc_node_attr_int(cx->node, "start", 0), x.rank);
        end = sh_clamp_end(ecc_node_attr_int(cx->node, "end", x.rank), x.rank);
    }
    int64_t len = end > start ? end - start : 0;
    y.d[0] = sh_d(len);
    ECC_TRY(ecc_sh_emit(cx, 0, &y));
    ecc_symval sv = {.rank = 1, .n = (int32_t)len};
    for (int32_t i = 0; i < sv.n; i++) sv.e[i] = sh_elt_of_dim(x.d[start + i]);
    ECC_TRY(ecc_sh_set_sym(cx, 0, &sv));
    return ECC_OK;
fail:
    return st;
}

static ecc_status r_size(ecc_sh_cx *cx, int32_t arg) {
    ecc_status st = ECC_OK;
    ecc_shape x, y = {.dtype = ECC_DTYPE_INT64, .rank = 0};
    ecc_sh_dim n;
    (void)arg;
    if (!ecc_sh_in(cx, 0, &x)) return ECC_OK;
    ECC_TRY(ecc_sh_emit(cx, 0, &y));
    if (x.rank < 0) return ECC_OK;
    ECC_TRY(sh_prod(cx, &x, 0, x.rank, &n));
    ecc_symval sv = {.rank = 0, .n = 1};
    sv.e[0] = sh_elt_of_dim(n);
    ECC_TRY(ecc_sh_set_sym(cx, 0, &sv));
    return ECC_OK;
fail:
    return st;
}

/* Dims named by a shape tensor (ConstantOfShape, Expand); y->rank -1 when unknown. */
static ecc_status sh_dims_from_input(ecc_sh_cx *cx, uint32_t slot, ecc_shape *y) {
    ecc_symval sv;
    if (!ecc_sh_sym(cx, slot, &sv) || sv.n > ECC_SH_MAX_RANK) {
        sh_unknown(y, y->dtype, sh_shape_input_len(cx, slot));
        return ECC_OK;
    }
    if (sv.rank != 1) return ecc_sh_fail(cx, "shape input must be 1-D");
    y->rank = sv.n;
    for (int32_t i = 0; i < sv.n; i++) {
        if (sv.e[i].known && sv.e[i].v < 0)
            return ecc_sh_fail(cx, "shape has negative entry %lld", (long long)sv.e[i].v);
        y->d[i] = sv.e[i].known ? sh_d(sv.e[i].v) : (ecc_sh_dim){-1, sv.e[i].param};
    }
    return ECC_OK;
}

static ecc_status r_constant_of_shape(ecc_sh_cx *cx, int32_t arg) {
    ecc_status st = ECC_OK;
    ecc_shape y;
    const ecc_attr *a = ecc_node_attr(cx->node, "value");
    (void)arg;
    y.dtype = a && a->type == ECC_ATTR_TENSOR && a->t ? a->t->dtype : ECC_DTYPE_FLOAT;
    if (!ecc_sh_input(cx, 0)) return ECC_OK;
    ECC_TRY(sh_dims_from_input(cx, 0, &y));
    ECC_TRY(ecc_sh_emit(cx, 0, &y));
    /* a short int vector of one repeated value (e.g. the trailing 1s of a reduced shape) */
    ecc_symval sv = {.rank = 1};
    int64_t fill = 0;
    if (y.rank != 1 || y.d[0].value < 0 || y.d[0].value > ECC_SH_MAX_SYM) return ECC_OK;
    if (!sh_is_int_dtype(y.dtype)) return ECC_OK;
    sv.n = (int32_t)y.d[0].value;
    if (a && a->t && (a->t->numel != 1 || a->t->nbytes < 8 || a->t->dtype != ECC_DTYPE_INT64))
        return ECC_OK;
    if (a && a->t) memcpy(&fill, a->t->data, sizeof fill);
    for (int32_t i = 0; i < sv.n; i++) sv.e[i] = (ecc_sh_elt){.v = fill, .known = true};
    ECC_TRY(ecc_sh_set_sym(cx, 0, &sv));
    return ECC_OK;
fail:
    return st;
}

static ecc_status sh_constant_tensor(ecc_sh_cx *cx, const ecc_tensor *t) {
    ecc_status st = ECC_OK;
    ecc_shape y;
    if (t->rank < 0 || t->rank > ECC_SH_MAX_RANK) return sh_emit_dtype(cx, 0, t->dtype);
    y.dtype = t->dtype;
    y.rank = t->rank;
    for (int32_t i = 0; i < t->rank; i++) y.d[i] = t->dims[i] >= 0 ? sh_d(t->dims[i]) : SH_UNK;
    ECC_TRY(ecc_sh_emit(cx, 0, &y));
    return ECC_OK;
fail:
    return st;
}

/* Constant: type from whichever value attribute is set; int contents are tracked. */
static ecc_status r_constant(ecc_sh_cx *cx, int32_t arg) {
    ecc_status st = ECC_OK;
    ecc_shape y = {.rank = 0};
    ecc_symval sv = {.rank = 0, .n = 1};
    const ecc_attr *a = cx->node->n_attrs ? &cx->node->attrs[0] : NULL;
    (void)arg;
    if (!a || !a->name) return ECC_OK;
    if (a->type == ECC_ATTR_TENSOR && a->t) return sh_constant_tensor(cx, a->t);
    if (a->type == ECC_ATTR_INT) sv.e[0] = (ecc_sh_elt){.v = a->i, .known = true};
    if (a->type == ECC_ATTR_INTS || a->type == ECC_ATTR_FLOATS || a->type == ECC_ATTR_STRINGS) {
        if (a->n > (size_t)INT64_MAX) return ECC_OK;
        y.rank = 1;
        y.d[0] = sh_d((int64_t)a->n);
    }
    y.dtype = a->type == ECC_ATTR_INT || a->type == ECC_ATTR_INTS ? ECC_DTYPE_INT64
            : a->type == ECC_ATTR_FLOAT || a->type == ECC_ATTR_FLOATS ? ECC_DTYPE_FLOAT
            : a->type == ECC_ATTR_STRING || a->type == ECC_ATTR_STRINGS ? ECC_DTYPE_STRING : 0;
    if (!y.dtype) return ECC_OK; /* sparse_value: left alone */
    ECC_TRY(ecc_sh_emit(cx, 0, &y));
    if (a->type == ECC_ATTR_INTS && a->n <= ECC_SH_MAX_SYM) {
        sv.rank = 1;
        sv.n = (int32_t)a->n;
        for (size_t i = 0; i < a->n; i++) sv.e[i] = (ecc_sh_elt){.v = a->ints[i], .known = true};
    }
    if (a->type == ECC_ATTR_INT || (a->type == ECC_ATTR_INTS && a->n <= ECC_SH_MAX_SYM))
        ECC_TRY(ecc_sh_set_sym(cx, 0, &sv));
    return ECC_OK;
fail:
    return st;
}

static ecc_status r_expand(ecc_sh_cx *cx, int32_t arg) {
    ecc_status st = ECC_OK;
    ecc_shape x, t;
    (void)arg;
    if (!ecc_sh_in(cx, 0, &x) || !ecc_sh_input(cx, 1)) return ECC_OK;
    t.dtype = x.dtype;
    ECC_TRY(sh_dims_from_input(cx, 1, &t));
    ECC_TRY(sh_bcast(cx, &x, &t, &x));
    return ecc_sh_emit(cx, 0, &x);
fail:
    return st;
}

static ecc_status r_tile(ecc_sh_cx *cx, int32_t arg) {
    ecc_status st = ECC_OK;
    ecc_shape x;
    int64_t rep[ECC_SH_MAX_RANK];
    size_t n = 0;
    (void)arg;
    if (!ecc_sh_in(cx, 0, &x)) return ECC_OK;
    if (!ecc_sh_ints(cx, 1, rep, ECC_SH_MAX_RANK, &n)) {
        int32_t r = x.rank >= 0 ? x.rank : sh_shape_input_len(cx, 1);
        sh_unknown(&x, x.dtype, r);
        return ecc_sh_emit(cx, 0, &x);
    }
    if (x.rank < 0) sh_unknown(&x, x.dtype, (int32_t)n);
    if (n != (size_t)x.rank)
        return ecc_sh_fail(cx, "repeats has %zu entries for rank %d", n, x.rank);
    for (int32_t i = 0; i < x.rank; i++) {
        if (rep[i] < 0)
            return ecc_sh_fail(cx, "repeats has negative entry %lld", (long long)rep[i]);
        ECC_TRY(sh_mul(cx, x.d[i], sh_d(rep[i]), &x.d[i]));
    }
    return ecc_sh_emit(cx, 0, &x);
fail:
    return st;
}

static ecc_status r_pad(ecc_sh_cx *cx, int32_t arg) {
    ecc_status st = ECC_OK;
    ecc_shape x;
    int64_t pads[2 * ECC_SH_MAX_RANK], axes[ECC_SH_MAX_RANK];
    size_t np = 0, na = 0;
    bool on[ECC_SH_MAX_RANK];
    (void)arg;
    if (!ecc_sh_in(cx, 0, &x)) return ECC_OK;
    sh_avail p = cx->opset >= 2 ? sh_list(cx, 1, 11, "pads", pads, 2 * ECC_SH_MAX_RANK, &np)
                                : sh_list(cx, 1, 11, "paddings", pads, 2 * ECC_SH_MAX_RANK, &np);
    sh_avail a = SH_ABSENT;
    if (cx->opset >= 18) a = sh_list(cx, 3, 18, "axes", axes, ECC_SH_MAX_RANK, &na);
    if (x.rank < 0 || p != SH_KNOWN || a == SH_UNKNOWN) {
        sh_unknown(&x, x.dtype, x.rank);
        return ecc_sh_emit(cx, 0, &x);
    }
    if (a == SH_KNOWN) ECC_TRY(sh_axes_mark(cx, axes, na, x.rank, on));
    else
        for (na = 0; na < (size_t)x.rank; na++) axes[na] = (int64_t)na;
    if (np != 2 * na) return ecc_sh_fail(cx, "pads has %zu entries for %zu axes", np, na);
    for (size_t i = 0; i < na; i++) {
        int32_t ax;
        int64_t both;
        ECC_TRY(sh_axis(cx, axes[i], x.rank, 0, &ax));
        if (!ecc_add_i64(pads[i], pads[i + na], &both)) return ecc_sh_fail(cx, "pads overflow");
        ECC_TRY(sh_add(cx, x.d[ax], both, &x.d[ax]));
    }
    return ecc_sh_emit(cx, 0, &x);
fail:
    return st;
}

/* ReduceX: arg is the opset from which axes come as input 1 (13 for ReduceSum, 18 others). */
static ecc_status r_reduce(ecc_sh_cx *cx, int32_t arg) {
    ecc_status st = ECC_OK;
    ecc_shape x, y;
    int64_t axes[ECC_SH_MAX_RANK];
    bool red[ECC_SH_MAX_RANK];
    size_t n = 0;
    if (!ecc_sh_in(cx, 0, &x)) return ECC_OK;
    bool keep = ecc_node_attr_int(cx->node, "keepdims", 1) != 0;
    bool noop = ecc_node_attr_int(cx->node, "noop_with_empty_axes", 0) != 0;
    sh_avail av = sh_list(cx, 1, arg, "axes", axes, ECC_SH_MAX_RANK, &n);
    if (x.rank < 0 || av == SH_UNKNOWN) {
        sh_unknown(&y, x.dtype, keep ? x.rank : -1);
        return ecc_sh_emit(cx, 0, &y);
    }
    if (n == 0 && noop) return ecc_sh_emit(cx, 0, &x);
    if (n > 0) ECC_TRY(sh_axes_mark(cx, axes, n, x.rank, red));
    else
        for (int32_t i = 0; i < x.rank; i++) red[i] = true;
    sh_unknown(&y, x.dtype, 0);
    for (int32_t i = 0; i < x.rank; i++)
        if (!red[i]) y.d[y.rank++] = x.d[i];
        else if (keep) y.d[y.rank++] = sh_d(1);
    return ecc_sh_emit(cx, 0, &y);
fail:
    return st;
}

static ecc_status r_argmax(ecc_sh_cx *cx, int32_t arg) {
    ecc_status st = ECC_OK;
    ecc_shape x, y;
    int32_t axis;
    (void)arg;
    if (!ecc_sh_in(cx, 0, &x)) return ECC_OK;
    bool keep = ecc_node_attr_int(cx->node, "keepdims", 1) != 0;
    sh_unknown(&y, ECC_DTYPE_INT64, -1);
    if (x.rank >= 0) {
        ECC_TRY(sh_axis(cx, ecc_node_attr_int(cx->node, "axis", 0), x.rank, 0, &axis));
        y.rank = 0;
        for (int32_t i = 0; i < x.rank; i++)
            if (i != axis) y.d[y.rank++] = x.d[i];
            else if (keep) y.d[y.rank++] = sh_d(1);
    }
    return ecc_sh_emit(cx, 0, &y);
fail:
    return st;
}

static ecc_status r_topk(ecc_sh_cx *cx, int32_t arg) {
    ecc_status st = ECC_OK;
    ecc_shape x;
    int32_t axis;
    int64_t k = -1;
    size_t n = 0;
    (void)arg;
    if (!ecc_sh_in(cx, 0, &x)) return ECC_OK;
    if (cx->opset < 10) k = ecc_node_attr_int(cx->node, "k", -1);
    else if (!ecc_sh_ints(cx, 1, &k, 1, &n) || n != 1) k = -1;
    else if (k < 0) return ecc_sh_fail(cx, "K is negative (%lld)", (long long)k);
    if (x.rank >= 0) {
        ECC_TRY(sh_axis(cx, ecc_node_attr_int(cx->node, "axis", -1), x.rank, 0, &axis));
        if (k >= 0 && x.d[axis].value >= 0 && k > x.d[axis].value)
            return ecc_sh_fail(cx, "K = %lld exceeds the axis size %lld", (long long)k,
                               (long long)x.d[axis].value);
        x.d[axis] = k >= 0 ? sh_d(k) : SH_UNK;
    }
    ECC_TRY(ecc_sh_emit(cx, 0, &x));
    x.dtype = ECC_DTYPE_INT64;
    ECC_TRY(ecc_sh_emit(cx, 1, &x));
    return ECC_OK;
fail:
    return st;
}

/* floor(in * scale) for Resize/Upsample. */
static ecc_status sh_scale_dim(ecc_sh_cx *cx, ecc_sh_dim in, double scale, ecc_sh_dim *out) {
    if (!(scale > 0) || !isfinite(scale)) return ecc_sh_fail(cx, "invalid scale %g", scale);
    if (scale == 1.0) *out = in;
    else if (in.value < 0) *out = SH_UNK;
    else {
        double v = floor((double)in.value * scale);
        if (!(v < 9.0e18)) return ecc_sh_fail(cx, "scaled dimension overflows");
        *out = sh_d((int64_t)v);
    }
    return ECC_OK;
}

typedef struct sh_resize {
    double sc[ECC_SH_MAX_RANK];
    int64_t sizes[ECC_SH_MAX_RANK], axes[ECC_SH_MAX_RANK];
    size_t ns, nz, na;
} sh_resize;

/* Constant sizes (nz > 0) or scales (ns > 0) and the axes they apply to; false
 * when there are more axes than tracked. */
static bool sh_resize_read(ecc_sh_cx *cx, bool upsample, int32_t rank, sh_resize *r) {
    const int64_t *av = NULL;
    r->ns = r->nz = r->na = 0;
    if (!upsample && cx->opset >= 11 && !ecc_sh_ints(cx, 3, r->sizes, ECC_SH_MAX_RANK, &r->nz))
        r->nz = 0;
    if (upsample && cx->opset < 9) {
        const ecc_attr *a = ecc_node_attr(cx->node, "scales");
        if (a && a->type == ECC_ATTR_FLOATS && a->n <= ECC_SH_MAX_RANK) {
            for (size_t i = 0; i < a->n; i++) r->sc[i] = a->floats[i];
            r->ns = a->n;
        }
    } else if (r->nz == 0) {
        uint32_t slot = upsample || cx->opset < 11 ? 1 : 2;
        if (!ecc_sh_floats(cx, slot, r->sc, ECC_SH_MAX_RANK, &r->ns)) r->ns = 0;
    }
    r->na = cx->opset >= 18 && !upsample ? ecc_node_attr_ints(cx->node, "axes", &av) : 0;
    if (r->na > ECC_SH_MAX_RANK) return false;
    if (av && r->na) memcpy(r->axes, av, r->na * sizeof *av);
    else
        for (r->na = 0; r->na < (size_t)rank; r->na++) r->axes[r->na] = (int64_t)r->na;
    return true;
}

/* Resize (opset 10: scales = input 1; 11+: roi, scales, sizes; 18+: axes) and Upsample (arg 1). */
static ecc_status r_resize(ecc_sh_cx *cx, int32_t arg) {
    ecc_status st = ECC_OK;
    ecc_shape x;
    sh_resize r;
    bool on[ECC_SH_MAX_RANK];
    if (!ecc_sh_in(cx, 0, &x)) return ECC_OK;
    if (x.rank < 0 || !sh_resize_read(cx, arg == 1, x.rank, &r))
        return sh_emit_dtype(cx, 0, x.dtype);
    ECC_TRY(sh_axes_mark(cx, r.axes, r.na, x.rank, on));
    const char *policy = ecc_node_attr_string(cx->node, "keep_aspect_ratio_policy", "stretch");
    bool stretch = !policy || strcmp(policy, "stretch") == 0;
    SH_FAIL_IF((r.nz && r.nz != r.na) || (r.ns && r.ns != r.na),
               "scales/sizes have %zu entries for %zu axes", r.nz ? r.nz : r.ns, r.na);
    for (size_t i = 0; i < r.na; i++) {
        int32_t ax;
        ECC_TRY(sh_axis(cx, r.axes[i], x.rank, 0, &ax));
        SH_FAIL_IF(r.nz && r.sizes[i] < 0, "sizes has negative entry %lld", (long long)r.sizes[i]);
        if (r.nz) x.d[ax] = stretch ? sh_d(r.sizes[i]) : SH_UNK;
        else if (r.ns) ECC_TRY(sh_scale_dim(cx, x.d[ax], r.sc[i], &x.d[ax]));
        else x.d[ax] = SH_UNK;
    }
    return ecc_sh_emit(cx, 0, &x);
fail:
    return st;
}

/* Number of Range elements: max(ceil((limit - start) / delta), 0). */
static ecc_status sh_range_count(ecc_sh_cx *cx, int64_t *count) {
    int64_t a[1], b[1], c[1];
    double fa[1], fb[1], fc[1];
    size_t n;
    *count = -1;
    if (ecc_sh_ints(cx, 0, a, 1, &n) && n == 1 && ecc_sh_ints(cx, 1, b, 1, &n) && n == 1 &&
        ecc_sh_ints(cx, 2, c, 1, &n) && n == 1) {
        int64_t span;
        if (c[0] == 0) return ecc_sh_fail(cx, "delta is 0");
        if (__builtin_sub_overflow(b[0], a[0], &span)) return ecc_sh_fail(cx, "range overflows");
        if ((span > 0) != (c[0] > 0) || span == 0) *count = 0;
        else *count = span / c[0] + (span % c[0] != 0);
        return ECC_OK;
    }
    if (!ecc_sh_floats(cx, 0, fa, 1, &n) || n != 1 || !ecc_sh_floats(cx, 1, fb, 1, &n) || n != 1 ||
        !ecc_sh_floats(cx, 2, fc, 1, &n) || n != 1)
        return ECC_OK;
    if (fc[0] == 0) return ecc_sh_fail(cx, "delta is 0");
    double v = ceil((fb[0] - fa[0]) / fc[0]);
    if (!(v < 9.0e18) && !(v <= 0)) return ecc_sh_fail(cx, "range is too large");
    *count = v > 0 ? (int64_t)v : 0;
    return ECC_OK;
}

static ecc_status r_range(ecc_sh_cx *cx, int32_t arg) {
    ecc_status st = ECC_OK;
    ecc_shape y;
    int64_t count;
    (void)arg;
    ECC_TRY(sh_range_count(cx, &count));
    sh_unknown(&y, sh_in_dtype(cx, 0), 1);
    if (count >= 0) y.d[0] = sh_d(count);
    return ecc_sh_emit(cx, 0, &y);
fail:
    return st;
}

static ecc_status r_nonzero(ecc_sh_cx *cx, int32_t arg) {
    ecc_shape x, y;
    (void)arg;
    if (!ecc_sh_in(cx, 0, &x)) return ECC_OK;
    sh_unknown(&y, ECC_DTYPE_INT64, 2);
    if (x.rank >= 0) y.d[0] = sh_d(x.rank);
    return ecc_sh_emit(cx, 0, &y);
}

/* DepthToSpace (arg 0) / SpaceToDepth (arg 1) on [N,C,H,W]. */
static ecc_status r_depth_space(ecc_sh_cx *cx, int32_t arg) {
    ecc_status st = ECC_OK;
    ecc_shape x;
    int64_t b = ecc_node_attr_int(cx->node, "blocksize", 0), bb;
    if (!ecc_sh_in(cx, 0, &x)) return ECC_OK;
    if (b < 1 || !ecc_mul_i64(b, b, &bb))
        return ecc_sh_fail(cx, "invalid blocksize %lld", (long long)b);
    if (x.rank < 0) return sh_emit_dtype(cx, 0, x.dtype);
    if (x.rank != 4) return ecc_sh_fail(cx, "input has rank %d, expected 4", x.rank);
    int64_t shrink = arg == 0 ? bb : b; /* divisor of C (D2S) or of H and W (S2D) */
    for (int32_t i = arg == 0 ? 1 : 2; i < (arg == 0 ? 2 : 4); i++) {
        if (x.d[i].value < 0) x.d[i] = SH_UNK;
        else if (x.d[i].value % shrink != 0)
            return ecc_sh_fail(cx, "axis %d of size %lld is not divisible by %lld", i,
                               (long long)x.d[i].value, (long long)shrink);
        else x.d[i] = sh_d(x.d[i].value / shrink);
    }
    for (int32_t i = arg == 0 ? 2 : 1; i < (arg == 0 ? 4 : 2); i++)
        ECC_TRY(sh_mul(cx, x.d[i], sh_d(arg == 0 ? b : bb), &x.d[i]));
    return ecc_sh_emit(cx, 0, &x);
fail:
    return st;
}

static ecc_status r_eyelike(ecc_sh_cx *cx, int32_t arg) {
    (void)arg;
    return r_unary(cx, sh_dtype_attr(cx, "dtype", 0));
}

/* ---------------- control flow ---------------- */

/* The type both a and b satisfy (used for If branches and loop-carried values). */
static void sh_join(const ecc_shape *a, const ecc_shape *b, ecc_shape *out) {
    out->dtype = a->dtype == b->dtype || !b->dtype ? a->dtype : !a->dtype ? b->dtype : 0;
    out->rank = a->rank == b->rank ? a->rank : -1;
    for (int32_t i = 0; i < out->rank; i++)
        out->d[i] = sh_same(a->d[i], b->d[i]) ? a->d[i] : SH_UNK;
}

static const ecc_graph *sh_graph_attr(const ecc_sh_cx *cx, const char *name) {
    const ecc_attr *a = ecc_node_attr(cx->node, name);
    return a && a->type == ECC_ATTR_GRAPH ? a->g : NULL;
}

static ecc_status r_if(ecc_sh_cx *cx, int32_t arg) {
    ecc_status st = ECC_OK;
    const ecc_graph *t = sh_graph_attr(cx, "then_branch"), *e = sh_graph_attr(cx, "else_branch");
    ecc_shape a, b, y;
    (void)arg;
    if (!t || !e) return ECC_OK;
    for (uint32_t i = 0; i < cx->node->n_outputs && i < t->outputs.n && i < e->outputs.n; i++) {
        ecc_sh_value(t->outputs.items[i], &a);
        ecc_sh_value(e->outputs.items[i], &b);
        sh_join(&a, &b, &y);
        ECC_TRY(ecc_sh_emit(cx, i, &y));
    }
    return ECC_OK;
fail:
    return st;
}

/* Loop: carried outputs join the body output and the initial value; scan
 * outputs get a leading dim of unknown trip count. */
static ecc_status r_loop(ecc_sh_cx *cx, int32_t arg) {
    ecc_status st = ECC_OK;
    const ecc_graph *body = sh_graph_attr(cx, "body");
    ecc_shape b, init, y;
    (void)arg;
    if (!body || cx->node->n_inputs < 2) return ECC_OK;
    uint32_t carried = cx->node->n_inputs - 2;
    for (uint32_t i = 0; i < cx->node->n_outputs && (size_t)i + 1 < body->outputs.n; i++) {
        ecc_sh_value(body->outputs.items[i + 1], &b);
        if (i < carried) {
            if (ecc_sh_in(cx, i + 2, &init)) sh_join(&b, &init, &y);
            else sh_unknown(&y, b.dtype, -1);
        } else {
            sh_unknown(&y, b.dtype, -1);
            if (b.rank >= 0 && b.rank < ECC_SH_MAX_RANK) {
                y.rank = b.rank + 1;
                y.d[0] = SH_UNK; /* trip count */
                memcpy(&y.d[1], b.d, (size_t)b.rank * sizeof b.d[0]);
            }
        }
        ECC_TRY(ecc_sh_emit(cx, i, &y));
    }
    return ECC_OK;
fail:
    return st;
}

/* ---------------- the table: the shape column of ops.def ---------------- */

static const ecc_sh_rule sh_rules[] = {
#define ECC_OP(nm, flags, fold, chan, rule, arg) {#nm, rule, arg},
#include "ops.def"
#undef ECC_OP
};
static_assert(sizeof sh_rules / sizeof sh_rules[0] == ECC_OP_COUNT,
              "one shape entry per row of ops.def");

const ecc_sh_rule *ecc_sh_rule_find(const char *op_type) {
    const ecc_op_traits *t = ecc_op_find(op_type);
    return t && sh_rules[t->id].fn ? &sh_rules[t->id] : NULL;
}

bool ecc_sh_rules_sorted(void) { return ecc_op_table_sorted(); }
