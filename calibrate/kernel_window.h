/* kernel_window.h — internal to calibrate/: the sliding-window geometry
 * that convolutions (kernels_conv.c) and pools (kernels_pool.c) share:
 * the geometry record, the kernel_shape/strides/pads/dilations attribute
 * reader, auto_pad, the output size and padding of one spatial axis, and
 * the left-padding of 1-D and 2-D windows to 3-D. Every attribute is
 * checked (hostile models fail with ECC_E_INPUT, never overflow). */
#ifndef ECC_KERNEL_WINDOW_H
#define ECC_KERNEL_WINDOW_H

#include "kernels.h"

#include <string.h>

#define ECC_WINDOW_MAX_SP 3
/* Largest kernel_shape/strides/pads/dilations entry: products of two stay
 * far inside int64. */
#define ECC_WINDOW_ATTR_MAX ((int64_t)1 << 31)

/* A window over x [N, C, spatial...]; the spatial arrays are left-padded to
 * 3 entries with unit dims (pads 0) by ecc_window_pad3. */
typedef struct ecc_window {
    int32_t sp;                     /* spatial rank, 1..3 */
    int64_t n, c;                   /* batch, input channels */
    int64_t m, group, cg, mg;       /* convolutions: out channels, groups, per group */
    int64_t in[3], out[3], k[3], s[3], d[3], pb[3], pe[3];
    int64_t in_sz, out_sz, k_sz;
} ecc_window;

typedef enum ecc_autopad {
    ECC_PAD_NOTSET, ECC_PAD_SAME_UPPER, ECC_PAD_SAME_LOWER, ECC_PAD_VALID
} ecc_autopad;

/* Zeroes g and takes sp, n and c from x, which must be [N, C, spatial...]
 * with 1 to 3 spatial dims. */
static inline ecc_status ecc_window_begin(ecc_kernel_ctx *k, const ecc_rt_tensor *x,
                                          ecc_window *g) {
    memset(g, 0, sizeof *g);
    if (x->rank < 3 || x->rank > 2 + ECC_WINDOW_MAX_SP)
        return ecc_kernel_fail(
            k, "input must be [N, C, spatial...] with 1 to 3 spatial dims, got rank %d",
            (int)x->rank);
    g->sp = x->rank - 2;
    g->n = x->dims[0];
    g->c = x->dims[1];
    return ECC_OK;
}

/* Reads an INTS attribute of exactly `want` entries within
 * [lo, ECC_WINDOW_ATTR_MAX], or fills `dflt`; *given (optional) tells
 * whether the attribute was there. */
static inline ecc_status ecc_window_ints(ecc_kernel_ctx *k, const char *name, size_t want,
                                         int64_t lo, int64_t dflt, int64_t *v, bool *given) {
    const int64_t *a;
    size_t n;
    ecc_status st = ecc_ka_ints(k, name, 2 * ECC_WINDOW_MAX_SP, &a, &n);
    if (st) return st;
    if (given) *given = n > 0;
    if (n == 0) {
        for (size_t i = 0; i < want; i++) v[i] = dflt;
        return ECC_OK;
    }
    if (n != want)
        return ecc_kernel_fail(k, "attribute '%s' has %zu entries, expected %zu", name, n, want);
    for (size_t i = 0; i < n; i++) {
        if (a[i] < lo || a[i] > ECC_WINDOW_ATTR_MAX)
            return ecc_kernel_fail(k, "attribute '%s' entry %zu = %lld is out of range", name,
                                   i, (long long)a[i]);
        v[i] = a[i];
    }
    return ECC_OK;
}

static inline ecc_status ecc_window_autopad(ecc_kernel_ctx *k, ecc_autopad *out) {
    const char *s;
    ecc_status st = ecc_ka_string(k, "auto_pad", "NOTSET", &s);
    if (st) return st;
    static const char *const names[] = {"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (ecc_autopad)i;
            return ECC_OK;
        }
    return ecc_kernel_fail(k, "auto_pad '%s' is not NOTSET, SAME_UPPER, SAME_LOWER or VALID", s);
}

/* Output size of one forward window axis of input size `in`, effective
 * kernel extent `eff` ((k - 1) * d + 1) and stride s. SAME_* computes the
 * pads, VALID zeroes them, NOTSET uses *pb and *pe. ceil_mode (pools) rounds
 * the count up, keeping the last window starting inside the input or the
 * left padding. */
static inline ecc_status ecc_window_axis(ecc_kernel_ctx *k, ecc_autopad ap, bool ceil_mode,
                                         int64_t in, int64_t eff, int64_t s, int64_t *pb,
                                         int64_t *pe, int64_t *out) {
    if (ap == ECC_PAD_SAME_UPPER || ap == ECC_PAD_SAME_LOWER) {
        *out = (in + s - 1) / s;
        int64_t total = (*out - 1) * s + eff - in;
        if (total < 0) total = 0;
        *pb = ap == ECC_PAD_SAME_UPPER ? total / 2 : total - total / 2;
        *pe = total - *pb;
        return ECC_OK;
    }
    if (ap == ECC_PAD_VALID) *pb = *pe = 0;
    int64_t span = in + *pb + *pe;
    if (span < eff)
        return ecc_kernel_fail(k, "kernel extent %lld is larger than the padded input %lld",
                               (long long)eff, (long long)span);
    *out = ceil_mode ? (span - eff + s - 1) / s + 1 : (span - eff) / s + 1;
    if (ceil_mode && (*out - 1) * s >= in + *pb) (*out)--;
    return ECC_OK;
}

/* Left-pads the spatial arrays to 3-D with unit dims and forms the products
 * (checked: hostile pads can make huge outputs). */
static inline ecc_status ecc_window_pad3(ecc_kernel_ctx *k, ecc_window *g) {
    int32_t off = 3 - g->sp;
    for (int32_t i = 2; i >= 0; i--) {
        int32_t src = i - off;
        bool real = src >= 0;
        g->in[i] = real ? g->in[src] : 1;
        g->out[i] = real ? g->out[src] : 1;
        g->k[i] = real ? g->k[src] : 1;
        g->s[i] = real ? g->s[src] : 1;
        g->d[i] = real ? g->d[src] : 1;
        g->pb[i] = real ? g->pb[src] : 0;
        g->pe[i] = real ? g->pe[src] : 0;
    }
    g->in_sz = g->in[0] * g->in[1] * g->in[2]; /* dims of a real tensor */
    g->k_sz = g->k[0] * g->k[1] * g->k[2];
    int64_t dims[3] = {g->out[0], g->out[1], g->out[2]};
    ecc_status st = ecc_k_check_dims(k, ECC_DTYPE_FLOAT, 3, dims, "output");
    if (!st) g->out_sz = dims[0] * dims[1] * dims[2];
    return st;
}

/* A 1x1 window without stride or pad (after ecc_window_pad3): the input is
 * already the column matrix, one GEMM with no copy. */
static inline bool ecc_window_pointwise(const ecc_window *g) {
    bool pointwise = g->k_sz == 1;
    for (int i = 0; i < 3 && pointwise; i++)
        pointwise = g->s[i] == 1 && g->pb[i] == 0 && g->pe[i] == 0;
    return pointwise;
}

#endif
