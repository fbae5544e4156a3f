/* kernels_conv.c — convolutions: Conv (1-D to 3-D; groups, dilations,
 * pads, auto_pad, strides): 1-D and 2-D by the vectorized direct path of
 * kernels_conv_direct.c, 3-D as im2col + cblas_sgemm, with a direct
 * depthwise path and a no-copy 1x1 GEMM, parallel over (image, group);
 * ConvTranspose as GEMM + col2im; ConvInteger and QLinearConv exactly, on
 * integer-valued doubles through dgemm. The geometry (output size,
 * padding) is shared with the pools (kernel_window.h) and checks every
 * attribute. Conv's backward: dW by direct tiles (else im2col + GEMM in
 * fixed blocks), dX by the direct path at stride 1 (else GEMM + col2im per
 * image), each gradient element from a computation that does not depend on
 * the thread count. */
#include "kernel_window.h"
#include "kernels_conv_direct.h"

#include <math.h>
#include <string.h>

/* Shared attribute parsing for Conv-like ops: kernel from w, strides,
 * dilations, explicit pads. */
typedef struct ecc_conv_attrs {
    ecc_autopad autopad;
    int64_t k[3], s[3], d[3], pads[6];
} ecc_conv_attrs;

static ecc_status ecc_conv_attrs_read(ecc_kernel_ctx *k, int32_t sp, const int64_t *wk,
                                      ecc_conv_attrs *a) {
    ecc_status st = ECC_OK;
    bool given;
    ECC_TRY(ecc_window_autopad(k, &a->autopad));
    ECC_TRY(ecc_window_ints(k, "kernel_shape", (size_t)sp, 1, 1, a->k, &given));
    for (int32_t i = 0; i < sp && given; i++)
        ECC_KFAIL_IF(a->k[i] != wk[i], k, "kernel_shape[%d] = %lld but the weight has %lld",
                     (int)i, (long long)a->k[i], (long long)wk[i]);
    for (int32_t i = 0; i < sp; i++) a->k[i] = wk[i];
    ECC_TRY(ecc_window_ints(k, "strides", (size_t)sp, 1, 1, a->s, NULL));
    ECC_TRY(ecc_window_ints(k, "dilations", (size_t)sp, 1, 1, a->d, NULL));
    ECC_TRY(ecc_window_ints(k, "pads", 2 * (size_t)sp, 0, 0, a->pads, NULL));
fail:
    return st;
}

/* (kk - 1) * d + 1, checked. */
static ecc_status ecc_conv_extent(ecc_kernel_ctx *k, int64_t kk, int64_t d, int64_t *eff) {
    if (kk < 1 || kk > ECC_WINDOW_ATTR_MAX)
        return ecc_kernel_fail(k, "kernel dimension %lld is out of range", (long long)kk);
    *eff = (kk - 1) * d + 1; /* both <= 2^31 */
    return ECC_OK;
}

/* Elements of a per-image-group column buffer (rows × cols), bounded. */
static ecc_status ecc_col_elems(ecc_kernel_ctx *k, int64_t rows, int64_t cols, int64_t copies,
                                int64_t *out) {
    int64_t n;
    if (!ecc_mul_i64(rows, cols, &n) || !ecc_mul_i64(n, copies, &n) ||
        n > ECC_KERNEL_MAX_BYTES / 8)
        return ecc_kernel_fail(k, "the im2col buffer (%lld x %lld) is too large", (long long)rows,
                               (long long)cols);
    *out = n;
    return ECC_OK;
}

/* What Conv and ConvTranspose geometries share: x [N, C, spatial...], w
 * of the same rank, the group attribute. */
static ecc_status ecc_conv_geom_begin(ecc_kernel_ctx *k, const ecc_rt_tensor *x,
                                      const ecc_rt_tensor *w, ecc_window *g) {
    ecc_status st = ecc_window_begin(k, x, g);
    if (st) return st;
    ECC_KFAIL_IF(w->rank != x->rank, k, "weight rank %d differs from input rank %d",
                 (int)w->rank, (int)x->rank);
    ECC_TRY(ecc_ka_int(k, "group", 1, &g->group));
    ECC_KFAIL_IF(g->group < 1, k, "group must be >= 1, got %lld", (long long)g->group);
fail:
    return st;
}

/* Conv geometry: x [N, C, D...], w [M, C/group, K...]. */
static ecc_status ecc_conv_geom_make(ecc_kernel_ctx *k, const ecc_rt_tensor *x,
                                     const ecc_rt_tensor *w, ecc_window *g) {
    ecc_status st = ECC_OK;
    ecc_conv_attrs a;
    ECC_TRY(ecc_conv_geom_begin(k, x, w, g));
    int64_t group = g->group;
    g->m = w->dims[0];
    ECC_KFAIL_IF(g->c % group || g->m % group, k,
                 "channels in (%lld) and out (%lld) must be divisible by group %lld",
                 (long long)g->c, (long long)g->m, (long long)group);
    g->cg = g->c / group;
    g->mg = g->m / group;
    ECC_KFAIL_IF(w->dims[1] != g->cg, k, "weight has %lld input channels per group, input "
                 "gives %lld", (long long)w->dims[1], (long long)g->cg);
    ECC_TRY(ecc_conv_attrs_read(k, g->sp, w->dims + 2, &a));
    for (int32_t i = 0; i < g->sp; i++) {
        g->in[i] = x->dims[2 + i];
        g->k[i] = a.k[i];
        g->s[i] = a.s[i];
        g->d[i] = a.d[i];
        g->pb[i] = a.pads[i];
        g->pe[i] = a.pads[g->sp + i];
        int64_t eff = 1;
        ECC_TRY(ecc_conv_extent(k, g->k[i], g->d[i], &eff));
        ECC_TRY(ecc_window_axis(k, a.autopad, false, g->in[i], eff, g->s[i], &g->pb[i],
                                &g->pe[i], &g->out[i]));
    }
    ECC_TRY(ecc_window_pad3(k, g));
fail:
    return st;
}

static ecc_status ecc_conv_out_dims(ecc_kernel_ctx *k, const ecc_window *g, int64_t *dims,
                                    int32_t *rank) {
    dims[0] = g->n;
    dims[1] = g->m;
    for (int32_t i = 0; i < g->sp; i++) dims[2 + i] = g->out[3 - g->sp + i];
    *rank = g->sp + 2;
    return ecc_k_check_dims(k, ECC_DTYPE_FLOAT, *rank, dims, "output");
}

/* ================= im2col / col2im (float and double) ================= */

/* Output columns [lo, hi) whose input column ow*s + off falls inside [0, n). */
static void ecc_valid_range(int64_t off, int64_t s, int64_t n, int64_t out, int64_t *lo,
                            int64_t *hi) {
    int64_t a = off >= 0 ? 0 : (-off + s - 1) / s;
    int64_t b = n - off <= 0 ? 0 : (n - off + s - 1) / s;
    *lo = a < out ? a : out;
    *hi = b < *lo ? *lo : b > out ? out : b;
}

/* One im2col row segment: zeros | (strided) copy | zeros; inline loops, the
 * rows are short (a library call per row costs more than the copy). */
#define ECC_IM2COL_ROW(T, dst, row, lo, hi, OW, sw)                                      \
    do {                                                                                 \
        for (int64_t ow_ = 0; ow_ < (lo); ow_++) (dst)[ow_] = 0;                         \
        if ((sw) == 1)                                                                   \
            for (int64_t ow_ = (lo); ow_ < (hi); ow_++) (dst)[ow_] = (row)[ow_];         \
        else                                                                             \
            for (int64_t ow_ = (lo); ow_ < (hi); ow_++) (dst)[ow_] = (row)[ow_ * (sw)];  \
        for (int64_t ow_ = (hi); ow_ < (OW); ow_++) (dst)[ow_] = 0;                      \
    } while (0)

/* Stride 1 with rows as wide as the input's: an im2col plane is the input
 * plane shifted by `shift` elements, so one copy fills it; what falls
 * outside the plane, and the columns outside [lo, hi) that the shift took
 * from neighbouring rows, are zeroed. plane_sz = input rows * OW. */
#define ECC_IM2COL_SHIFTED(T, dst, base, shift, plane_sz, lo, hi, hlo, hhi, OH, OW)      \
    do {                                                                                 \
        int64_t a_ = (hlo) * (OW), b_ = (hhi) * (OW);                                    \
        int64_t q0_ = a_ > -(shift) ? a_ : -(shift), q1_ = (plane_sz) - (shift);          \
        if (q0_ > b_) q0_ = b_;                                                          \
        if (q1_ > b_) q1_ = b_;                                                          \
        if (q1_ < q0_) q1_ = q0_;                                                        \
        memset(dst, 0, (size_t)q0_ * sizeof(T));                                         \
        memcpy((dst) + q0_, (base) + q0_ + (shift), (size_t)(q1_ - q0_) * sizeof(T));    \
        memset((dst) + q1_, 0, (size_t)((OH) * (OW) - q1_) * sizeof(T));                 \
        if ((lo) > 0 || (hi) < (OW))                                                     \
            for (int64_t oh_ = (hlo); oh_ < (hhi); oh_++) {                              \
                T *r_ = (dst) + oh_ * (OW);                                              \
                for (int64_t ow_ = 0; ow_ < (lo); ow_++) r_[ow_] = 0;                    \
                for (int64_t ow_ = (hi); ow_ < (OW); ow_++) r_[ow_] = 0;                 \
            }                                                                            \
    } while (0)

/* Rows [r0, r1) of col[(c, kd, kh, kw), (od, oh, ow)] from one image-group
 * x[c, id, ih, iw], row r at col + (r - r0) * ld; name(g, x, channels, col)
 * is every row, packed (ld = out_sz). */
#define ECC_IM2COL(name, T)                                                              \
    static void name##_rows(const ecc_window *g, const T *x, int64_t r0, int64_t r1,    \
                            T *col, int64_t ld) {                                        \
        int64_t OH = g->out[1], OW = g->out[2], sh = g->s[1], sw = g->s[2];              \
        for (int64_t r = r0; r < r1; r++) {                                              \
            int64_t kw = r % g->k[2], kh = r / g->k[2] % g->k[1];                        \
            int64_t kd = r / (g->k[2] * g->k[1]) % g->k[0], c = r / g->k_sz;             \
            T *dst = col + (r - r0) * ld;                                                \
            int64_t woff = kw * g->d[2] - g->pb[2], hoff = kh * g->d[1] - g->pb[1];      \
            int64_t lo, hi, hlo, hhi;                                                    \
            ecc_valid_range(woff, sw, g->in[2], OW, &lo, &hi);                           \
            ecc_valid_range(hoff, sh, g->in[1], OH, &hlo, &hhi);                         \
            for (int64_t od = 0; od < g->out[0]; od++) {                                 \
                int64_t id = od * g->s[0] - g->pb[0] + kd * g->d[0];                     \
                if (id < 0 || id >= g->in[0]) {                                          \
                    memset(dst, 0, (size_t)(OH * OW) * sizeof(T));                       \
                    dst += OH * OW;                                                      \
                    continue;                                                            \
                }                                                                        \
                const T *base = x + (c * g->in[0] + id) * g->in[1] * g->in[2];           \
                if (sh == 1 && sw == 1 && OW == g->in[2]) {                              \
                    ECC_IM2COL_SHIFTED(T, dst, base, hoff * OW + woff, g->in[1] * OW, lo, \
                                       hi, hlo, hhi, OH, OW);                            \
                    dst += OH * OW;                                                      \
                    continue;                                                            \
                }                                                                        \
                const T *plane = base + woff;                                            \
                for (int64_t i = 0; i < hlo * OW; i++) dst[i] = 0;                       \
                for (int64_t oh = hlo; oh < hhi; oh++) {                                 \
                    const T *row = plane + (oh * sh + hoff) * g->in[2];                  \
                    ECC_IM2COL_ROW(T, dst + oh * OW, row, lo, hi, OW, sw);               \
                }                                                                        \
                for (int64_t i = hhi * OW; i < OH * OW; i++) dst[i] = 0;                 \
                dst += OH * OW;                                                          \
            }                                                                            \
        }                                                                                \
    }                                                                                    \
    static void name(const ecc_window *g, const T *x, int64_t channels, T *col) {        \
        name##_rows(g, x, 0, channels * g->k_sz, col, g->out_sz);                        \
    }
ECC_IM2COL(ecc_im2col_f32, float)
ECC_IM2COL(ecc_im2col_f64, double)

/* ================= Conv float32 ================= */

/* Conv and ConvTranspose tasks (images, or image-groups) over the pool, each
 * task's GEMMs on its own thread; with fewer tasks than threads the tasks
 * run in turn and *split tells them to split each GEMM over the pool. */
static void ecc_conv_tasks(ecc_kernel_ctx *k, int64_t tasks, int64_t work, ecc_par_fn fn,
                           void *job, ecc_kernel_ctx **split) {
    if (tasks < ecc_kernel_threads(k)) {
        *split = k;
        fn(job, 0, tasks, 0);
    } else {
        ecc_kernel_parallel(k, tasks, work, fn, job);
    }
}

typedef struct ecc_conv_job {
    const ecc_window *g;
    const float *x, *w, *b;
    float *y;
    float *col;          /* per-thread scratch, col_sz each */
    int64_t col_sz;
    bool direct;         /* 1x1, stride 1, no pad: the input is the column matrix */
    ecc_kernel_ctx *split; /* set by ecc_conv_tasks: GEMMs split over the pool */
} ecc_conv_job;

static void ecc_conv_task(void *arg, int64_t begin, int64_t end, int tid) {
    ecc_conv_job *j = arg;
    const ecc_window *g = j->g;
    float *col = j->col ? j->col + tid * j->col_sz : NULL;
    int64_t kdim = g->cg * g->k_sz;
    for (int64_t t = begin; t < end; t++) {
        int64_t n = t / g->group, gr = t % g->group;
        const float *x = j->x + (n * g->c + gr * g->cg) * g->in_sz;
        float *y = j->y + (n * g->m + gr * g->mg) * g->out_sz;
        const float *w = j->w + gr * g->mg * kdim;
        const float *bmat = x;
        if (!j->direct) {
            ecc_im2col_f32(g, x, g->cg, col);
            bmat = col;
        }
        ecc_k_sgemm(j->split, false, false, g->mg, g->out_sz, kdim, 1.0f, w, kdim, bmat,
                    g->out_sz, 0.0f, y, g->out_sz);
        if (!j->b) continue;
        for (int64_t m = 0; m < g->mg; m++) {
            float bv = j->b[gr * g->mg + m];
            float *row = y + m * g->out_sz;
            for (int64_t i = 0; i < g->out_sz; i++) row[i] += bv;
        }
    }
}

/* The direct path (kernels_conv_direct.c): each task (image-group) pads its
 * plane on its thread and runs its output rows; with fewer tasks than
 * threads (ecc_conv_tasks) the tasks run in turn, each one's rows over the
 * pool. */
typedef struct ecc_dconv_job {
    const ecc_window *g;
    const float *x, *b, *packed;
    float *y, *planes;       /* planes: per-thread scratch, plane_sz each */
    int64_t plane_sz, row_work;
    int64_t task;            /* split: the task whose rows the pool is running */
    ecc_kernel_ctx *split;   /* set by ecc_conv_tasks: each task's rows over the pool */
    bool accumulate;         /* add into y (a backward dX) instead of storing */
} ecc_dconv_job;

static void ecc_dconv_rows(const ecc_dconv_job *j, int64_t t, const float *plane, int64_t begin,
                           int64_t end) {
    const ecc_window *g = j->g;
    int64_t n = t / g->group, gr = t % g->group;
    ecc_conv_direct_run(g, gr, plane, j->packed, j->b, j->y + (n * g->m + gr * g->mg) * g->out_sz,
                        begin, end, j->accumulate);
}

static void ecc_dconv_rows_task(void *arg, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const ecc_dconv_job *j = arg;
    ecc_dconv_rows(j, j->task, j->planes, begin, end);
}

static void ecc_dconv_task(void *arg, int64_t begin, int64_t end, int tid) {
    ecc_dconv_job *j = arg;
    const ecc_window *g = j->g;
    float *plane = j->planes + tid * j->plane_sz;
    int64_t rows = ecc_conv_direct_rows(g);
    for (int64_t t = begin; t < end; t++) {
        ecc_conv_direct_pad(g, j->x + ((t / g->group) * g->c + (t % g->group) * g->cg) * g->in_sz,
                            plane);
        if (!j->split) {
            ecc_dconv_rows(j, t, plane, 0, rows);
            continue;
        }
        j->task = t; /* split: tasks run in turn on this thread */
        ecc_kernel_parallel(j->split, rows, j->row_work, ecc_dconv_rows_task, j);
    }
}

static ecc_status ecc_conv_direct(ecc_kernel_ctx *k, const ecc_window *g, const float *x,
                                  const float *w, const float *b, float *y, bool accumulate) {
    ecc_status st = ECC_OK;
    int64_t tasks = g->n * g->group, threads = ecc_kernel_threads(k);
    int64_t par = tasks < threads ? tasks : threads, packed = 0, plane = 0, total = 0;
    ECC_KFAIL_IF(!ecc_conv_direct_sizes(g, &packed, &plane) || !ecc_mul_i64(plane, par, &total) ||
                 !ecc_add_i64(total, packed + 16, &total) || total > ECC_KERNEL_MAX_BYTES / 8,
                 k, "the convolution's padded input (%lld channels) is too large",
                 (long long)g->cg);
    float *buf;
    ECC_TRY(ecc_kernel_scratch(k, (size_t)total * sizeof *buf, (void **)&buf));
    ecc_conv_direct_pack(g, w, buf);
    int64_t work = ecc_k_work(g->n * g->m * g->out_sz, g->cg * g->k_sz);
    ecc_dconv_job j = {g, x, b, buf, y, buf + (packed + 15) / 16 * 16, plane, work / tasks, 0,
                       NULL, accumulate};
    ecc_conv_tasks(k, tasks, work, ecc_dconv_task, &j, &j.split);
fail:
    return st;
}

/* Depthwise 2-D (group == C == M): direct loops, interior without checks. */
static void ecc_dw_plane(const ecc_window *g, const float *x, const float *w, float bias,
                         float *y) {
    int64_t H = g->in[1], W = g->in[2], OH = g->out[1], OW = g->out[2];
    int64_t KH = g->k[1], KW = g->k[2], sh = g->s[1], sw = g->s[2], dh = g->d[1], dw = g->d[2];
    int64_t pt = g->pb[1], pl = g->pb[2];
    for (int64_t oh = 0; oh < OH; oh++) {
        int64_t ih0 = oh * sh - pt;
        for (int64_t ow = 0; ow < OW; ow++) {
            int64_t iw0 = ow * sw - pl;
            float acc = bias;
            for (int64_t kh = 0; kh < KH; kh++) {
                int64_t ih = ih0 + kh * dh;
                if (ih < 0 || ih >= H) continue;
                const float *xr = x + ih * W;
                const float *wr = w + kh * KW;
                for (int64_t kw = 0; kw < KW; kw++) {
                    int64_t iw = iw0 + kw * dw;
                    if (iw >= 0 && iw < W) acc += xr[iw] * wr[kw];
                }
            }
            y[oh * OW + ow] = acc;
        }
    }
}

static void ecc_dw_task(void *arg, int64_t begin, int64_t end, int tid) {
    (void)tid;
    ecc_conv_job *j = arg;
    const ecc_window *g = j->g;
    for (int64_t t = begin; t < end; t++) {
        int64_t c = t % g->c;
        ecc_dw_plane(g, j->x + t * g->in_sz, j->w + c * g->k_sz, j->b ? j->b[c] : 0.0f,
                     j->y + t * g->out_sz);
    }
}

static ecc_status ecc_conv_bias(ecc_kernel_ctx *k, const ecc_rt_tensor *b, int64_t m,
                                int32_t dtype, const void **out) {
    *out = NULL;
    if (!b) return ECC_OK;
    if (b->dtype != dtype)
        return ecc_kernel_fail(k, "bias must be %s, got %s", ecc_dtype_name(dtype),
                               ecc_dtype_name(b->dtype));
    if (b->rank != 1 || b->dims[0] != m)
        return ecc_kernel_fail(k, "bias must be [%lld]", (long long)m);
    *out = b->data;
    return ECC_OK;
}

typedef ecc_status (*ecc_geom_make_fn)(ecc_kernel_ctx *k, const ecc_rt_tensor *x,
                                       const ecc_rt_tensor *w, ecc_window *g);

/* Inputs of float Conv and ConvTranspose: X, W, optional B; geometry by
 * `make`, then the output shape. */
static ecc_status ecc_convf_inputs(ecc_kernel_ctx *k, const ecc_rt_tensor *const *in,
                                   size_t n_in, ecc_rt_tensor *const *out, size_t n_out,
                                   ecc_geom_make_fn make, ecc_window *g, const void **bias,
                                   int64_t *dims, int32_t *rank) {
    ecc_status st = ECC_OK;
    ECC_TRY(ecc_k_need(k, in, n_in, 0, "X"));
    ECC_TRY(ecc_k_need(k, in, n_in, 1, "W"));
    ECC_TRY(ecc_k_out0(k, out, n_out));
    ECC_TRY(ecc_k_dtype(k, in[1], ECC_DTYPE_FLOAT, "W"));
    ECC_TRY(make(k, in[0], in[1], g));
    ECC_TRY(ecc_conv_bias(k, ecc_k_in(in, n_in, 2), g->m, ECC_DTYPE_FLOAT, bias));
    ECC_TRY(ecc_conv_out_dims(k, g, dims, rank));
fail:
    return st;
}

ECC_KERNEL_PROTO(ecc_k_conv_f32) {
    (void)node;
    ecc_status st = ECC_OK;
    ecc_window g;
    int64_t dims[ECC_MAX_RANK];
    int32_t rank;
    const void *bias;
    ECC_TRY(ecc_convf_inputs(k, in, n_in, out, n_out, ecc_conv_geom_make, &g, &bias, dims, &rank));
    ECC_KFAIL_IF(g.mg > INT32_MAX || g.out_sz > INT32_MAX || g.cg * g.k_sz > INT32_MAX, k,
                 "convolution too large for BLAS");
    ECC_TRY(ecc_kernel_alloc(k, out[0], ECC_DTYPE_FLOAT, rank, dims));
    if (ecc_rt_numel(out[0]) == 0) return ECC_OK;
    ecc_conv_job j = {&g, in[0]->data, in[1]->data, bias, out[0]->data, NULL, 0, false, NULL};
    if (g.sp == 2 && g.group == g.c && g.mg == 1 && g.cg == 1 && g.c > 1) {
        ecc_kernel_parallel(k, g.n * g.c, ecc_k_work(ecc_rt_numel(out[0]), g.k_sz), ecc_dw_task,
                            &j);
        return ECC_OK;
    }
    if (g.cg * g.k_sz == 0) { /* no input channels: the bias alone */
        float *y = out[0]->data;
        for (int64_t i = 0, n = ecc_rt_numel(out[0]); i < n; i++)
            y[i] = bias ? ((const float *)bias)[(i / g.out_sz) % g.m] : 0.0f;
        return ECC_OK;
    }
    if (ecc_conv_direct_applies(&g))
        return ecc_conv_direct(k, &g, in[0]->data, in[1]->data, bias, out[0]->data, false);
    j.direct = ecc_window_pointwise(&g);
    int64_t tasks = g.n * g.group;
    int64_t par = tasks < ecc_kernel_threads(k) ? tasks : ecc_kernel_threads(k);
    if (!j.direct) {
        int64_t total = 0;
        ECC_TRY(ecc_col_elems(k, g.cg * g.k_sz, g.out_sz, par, &total));
        j.col_sz = total / par;
        ECC_TRY(ecc_kernel_scratch(k, (size_t)total * sizeof(float), (void **)&j.col));
    }
    ecc_conv_tasks(k, tasks, ecc_k_work(ecc_rt_numel(out[0]), g.cg * g.k_sz), ecc_conv_task, &j,
                   &j.split);
fail:
    return st;
}

/* ================= ConvTranspose float32 ================= */

/* ConvTranspose geometry: x [N, C, D...], w [C, M/group, K...]. g->in is
 * the input (the "columns"), g->out the result. */
static ecc_status ecc_convt_geom_make(ecc_kernel_ctx *k, const ecc_rt_tensor *x,
                                      const ecc_rt_tensor *w, ecc_window *g) {
    ecc_status st = ECC_OK;
    ecc_conv_attrs a;
    int64_t opad[3], oshape[ECC_MAX_RANK];
    const int64_t *os;
    size_t n_os;
    ECC_TRY(ecc_conv_geom_begin(k, x, w, g));
    int64_t group = g->group;
    ECC_KFAIL_IF(w->dims[0] != g->c, k, "weight has %lld input channels, input has %lld",
                 (long long)w->dims[0], (long long)g->c);
    ECC_KFAIL_IF(g->c % group, k, "channels (%lld) not divisible by group %lld",
                 (long long)g->c, (long long)group);
    ECC_KFAIL_IF(!ecc_mul_i64(w->dims[1], group, &g->m), k, "output channels overflow");
    g->cg = g->c / group;
    g->mg = w->dims[1];
    ECC_TRY(ecc_conv_attrs_read(k, g->sp, w->dims + 2, &a));
    ECC_TRY(ecc_window_ints(k, "output_padding", (size_t)g->sp, 0, 0, opad, NULL));
    ECC_TRY(ecc_ka_ints(k, "output_shape", ECC_MAX_RANK, &os, &n_os));
    ECC_KFAIL_IF(n_os && n_os != (size_t)g->sp && n_os != (size_t)g->sp + 2, k,
                 "output_shape has %zu entries", n_os);
    for (size_t i = 0; i < n_os; i++) {
        ECC_KFAIL_IF(os[i] < 0 || os[i] > ECC_KERNEL_MAX_BYTES, k,
                     "output_shape entry %lld is out of range", (long long)os[i]);
        oshape[i] = os[i];
    }
    for (int32_t i = 0; i < g->sp; i++) {
        int64_t in = x->dims[2 + i], kk = a.k[i], s = a.s[i], d = a.d[i], eff = 1, full = 0;
        ECC_TRY(ecc_conv_extent(k, kk, d, &eff));
        ECC_KFAIL_IF(in < 1, k, "spatial dimension %d is empty", (int)i);
        ECC_KFAIL_IF(!ecc_mul_i64(s, in - 1, &full) || !ecc_add_i64(full, opad[i] + eff, &full),
                     k, "output size overflows");
        int64_t pb = a.pads[i], pe = a.pads[g->sp + i], o;
        bool same = a.autopad == ECC_PAD_SAME_UPPER || a.autopad == ECC_PAD_SAME_LOWER;
        if (n_os || same) {
            o = n_os ? oshape[n_os - (size_t)g->sp + (size_t)i] : full - opad[i] - eff + s;
            int64_t total = full - o; /* < 0: the output extends past the data */
            pb = total < 0 ? 0 : a.autopad == ECC_PAD_SAME_UPPER ? total / 2 : total - total / 2;
            pe = total - pb;
        } else {
            if (a.autopad == ECC_PAD_VALID) pb = pe = 0;
            o = full - pb - pe;
        }
        ECC_KFAIL_IF(o < 1, k, "output dimension %d would be %lld", (int)i, (long long)o);
        g->in[i] = in;
        g->k[i] = kk;
        g->s[i] = s;
        g->d[i] = d;
        g->pb[i] = pb;
        g->pe[i] = pe;
        g->out[i] = o;
    }
    ECC_TRY(ecc_window_pad3(k, g));
fail:
    return st;
}

typedef struct ecc_convt_job {
    const ecc_window *g;
    const float *x, *w, *b;
    float *y, *col;
    int64_t col_sz;
    ecc_kernel_ctx *split; /* set by ecc_conv_tasks: GEMMs split over the pool */
} ecc_convt_job;

/* y[m, o...] += col[(m, kd, kh, kw), (id, ih, iw)] */
static void ecc_col2im_f32(const ecc_window *g, const float *col, float *y) {
    const float *src = col;
    for (int64_t m = 0; m < g->mg; m++)
        for (int64_t kd = 0; kd < g->k[0]; kd++)
            for (int64_t kh = 0; kh < g->k[1]; kh++)
                for (int64_t kw = 0; kw < g->k[2]; kw++)
                    for (int64_t id = 0; id < g->in[0]; id++) {
                        int64_t od = id * g->s[0] - g->pb[0] + kd * g->d[0];
                        for (int64_t ih = 0; ih < g->in[1]; ih++, src += g->in[2]) {
                            int64_t oh = ih * g->s[1] - g->pb[1] + kh * g->d[1];
                            if (od < 0 || od >= g->out[0] || oh < 0 || oh >= g->out[1])
                                continue;
                            float *row = y + ((m * g->out[0] + od) * g->out[1] + oh) * g->out[2];
                            for (int64_t iw = 0; iw < g->in[2]; iw++) {
                                int64_t ow = iw * g->s[2] - g->pb[2] + kw * g->d[2];
                                if (ow >= 0 && ow < g->out[2]) row[ow] += src[iw];
                            }
                        }
                    }
}

static void ecc_convt_task(void *arg, int64_t begin, int64_t end, int tid) {
    ecc_convt_job *j = arg;
    const ecc_window *g = j->g;
    float *col = j->col + tid * j->col_sz;
    int64_t rows = g->mg * g->k_sz;
    for (int64_t n = begin; n < end; n++) {
        float *yn = j->y + n * g->m * g->out_sz;
        for (int64_t i = 0; i < g->m; i++) {
            float bv = j->b ? j->b[i] : 0.0f;
            for (int64_t e = 0; e < g->out_sz; e++) yn[i * g->out_sz + e] = bv;
        }
        for (int64_t gr = 0; gr < g->group; gr++) {
            const float *x = j->x + (n * g->c + gr * g->cg) * g->in_sz;
            const float *w = j->w + gr * g->cg * rows;
            ecc_k_sgemm(j->split, true, false, rows, g->in_sz, g->cg, 1.0f, w, rows, x,
                        g->in_sz, 0.0f, col, g->in_sz);
            ecc_col2im_f32(g, col, yn + gr * g->mg * g->out_sz);
        }
    }
}

ECC_KERNEL_PROTO(ecc_k_convtranspose_f32) {
    (void)node;
    ecc_status st = ECC_OK;
    ecc_window g;
    int64_t dims[ECC_MAX_RANK];
    int32_t rank;
    const void *bias;
    ECC_TRY(ecc_convf_inputs(k, in, n_in, out, n_out, ecc_convt_geom_make, &g, &bias, dims,
                             &rank));
    ECC_KFAIL_IF(g.mg * g.k_sz > INT32_MAX || g.in_sz > INT32_MAX || g.cg > INT32_MAX, k,
                 "convolution too large for BLAS");
    ECC_TRY(ecc_kernel_alloc(k, out[0], ECC_DTYPE_FLOAT, rank, dims));
    if (ecc_rt_numel(out[0]) == 0) return ECC_OK;
    ecc_convt_job j = {&g, in[0]->data, in[1]->data, bias, out[0]->data, NULL, 0, NULL};
    int64_t par = g.n < ecc_kernel_threads(k) ? g.n : ecc_kernel_threads(k), total = 0;
    par = par ? par : 1;
    ECC_TRY(ecc_col_elems(k, g.mg * g.k_sz, g.in_sz, par, &total));
    j.col_sz = total / par;
    ECC_TRY(ecc_kernel_scratch(k, (size_t)total * sizeof(float), (void **)&j.col));
    ecc_conv_tasks(k, g.n, ecc_k_work(ecc_rt_numel(in[0]), g.mg * g.k_sz), ecc_convt_task, &j,
                   &j.split);
fail:
    return st;
}

/* ================= Conv / ConvTranspose backward ================= */

/* g with its input and output sides exchanged, `rows` channels per column
 * block: through it the forward's col2im scatters a Conv's column gradient
 * into dX, and its im2col gathers a ConvTranspose's dY into columns. */
static ecc_window ecc_window_flip(const ecc_window *g, int64_t rows) {
    ecc_window t = *g;
    memcpy(t.in, g->out, sizeof t.in);
    memcpy(t.out, g->in, sizeof t.out);
    t.in_sz = g->out_sz;
    t.out_sz = g->in_sz;
    t.mg = rows;
    return t;
}

/* db[m] += sum of dy [N, M, sz] over images and positions (double, in order). */
static void ecc_conv_bias_back(const float *dy, int64_t n, int64_t m, int64_t sz, float *db) {
    for (int64_t c = 0; c < m; c++) {
        double s = 0;
        for (int64_t i = 0; i < n; i++) s += ecc_sum_f64(dy + (i * m + c) * sz, sz);
        db[c] += (float)s;
    }
}

/* One column buffer of rows x cols floats from scratch. */
static ecc_status ecc_col_scratch(ecc_kernel_ctx *k, int64_t rows, int64_t cols, float **col) {
    int64_t n = 0;
    ecc_status st = ecc_col_elems(k, rows, cols, 1, &n);
    if (!st) st = ecc_kernel_scratch(k, (size_t)(n + 1) * sizeof **col, (void **)col);
    return st;
}

/* ---- Conv backward: every gradient element comes from one call of the
 * same shape whatever the thread count (OpenBLAS rounds a product
 * differently when it is cut elsewhere), so the bytes never depend on the
 * threads. dW reads X and dY; dX reads W and dY; dB reads dY. ---- */

/* dW: the im2col rows (c, kd, kh, kw) of each group are cut into blocks of
 * `rows`; a task owns one block's dW columns and, for chunks of `nb`
 * images in order, gathers the block's rows of those images' columns and
 * adds dY_g col^T (dY transposed once to dyt [M, N * out_sz]). */
typedef struct ecc_conv_dw_job {
    const ecc_window *g;
    const float *x, *dyt;
    float *dw, *col;       /* col: per-thread scratch, col_sz floats each */
    int64_t col_sz, rows, blocks, nb;
} ecc_conv_dw_job;

static void ecc_conv_dw_task(void *arg, int64_t begin, int64_t end, int tid) {
    const ecc_conv_dw_job *j = arg;
    const ecc_window *g = j->g;
    int64_t kdim = g->cg * g->k_sz, sz = g->out_sz, np = g->n * sz;
    float *col = j->col + tid * j->col_sz;
    for (int64_t t = begin; t < end; t++) {
        int64_t gr = t / j->blocks, r0 = t % j->blocks * j->rows;
        int64_t r1 = r0 + j->rows < kdim ? r0 + j->rows : kdim;
        for (int64_t n0 = 0; n0 < g->n; n0 += j->nb) {
            int64_t nn = g->n - n0 < j->nb ? g->n - n0 : j->nb;
            for (int64_t i = 0; i < nn; i++)
                ecc_im2col_f32_rows(g, j->x + ((n0 + i) * g->c + gr * g->cg) * g->in_sz, r0, r1,
                                    col + i * sz, nn * sz);
            ecc_k_sgemm(NULL, false, true, g->mg, r1 - r0, nn * sz, 1.0f,
                        j->dyt + gr * g->mg * np + n0 * sz, np, col, nn * sz, 1.0f,
                        j->dw + gr * g->mg * kdim + r0, kdim);
        }
    }
}

/* dyt [M, N, sz] from dy [N, M, sz], rows (m, n) [begin, end). */
typedef struct ecc_conv_dyt_job {
    const float *dy;
    float *dyt;
    int64_t n, m, sz;
} ecc_conv_dyt_job;

static void ecc_conv_dyt_task(void *arg, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const ecc_conv_dyt_job *j = arg;
    for (int64_t r = begin; r < end; r++)
        memcpy(j->dyt + r * j->sz, j->dy + (r % j->n * j->m + r / j->n) * j->sz,
               (size_t)j->sz * sizeof *j->dyt);
}

/* At most 4 blocks per group (dW columns over the pool), at least 32 rows
 * each: every block's GEMM packs dY again, so fewer, wider blocks pack
 * less. Images per GEMM: about 4096 columns. Shapes only, never the thread
 * count. */
static void ecc_conv_dw_plan(const ecc_window *g, ecc_conv_dw_job *j) {
    int64_t kdim = g->cg * g->k_sz, blocks = (kdim + 31) / 32;
    blocks = blocks > 4 ? 4 : blocks;
    j->rows = (kdim + blocks - 1) / blocks;
    j->blocks = (kdim + j->rows - 1) / j->rows;
    j->nb = 4096 / g->out_sz;
    j->nb = j->nb < 1 ? 1 : j->nb > g->n ? g->n : j->nb;
}

/* dW by direct tiles (kernels_conv_direct.c): every image-group padded and
 * its dY transposed, over the pool; then the tiles over the pool. */
typedef struct ecc_conv_ddw_job {
    const ecc_window *g;
    const float *x, *dy;
    float *planes, *dyt, *dw;
    int64_t plane_sz, dyt_sz;
} ecc_conv_ddw_job;

static void ecc_conv_ddw_prep(void *arg, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const ecc_conv_ddw_job *j = arg;
    const ecc_window *g = j->g;
    for (int64_t ig = begin; ig < end; ig++) {
        int64_t n = ig / g->group, gr = ig % g->group;
        ecc_conv_direct_pad(g, j->x + (n * g->c + gr * g->cg) * g->in_sz,
                            j->planes + ig * j->plane_sz);
        ecc_conv_direct_dyt(g, j->dy + (n * g->m + gr * g->mg) * g->out_sz,
                            j->dyt + ig * j->dyt_sz);
    }
}

static void ecc_conv_ddw_task(void *arg, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const ecc_conv_ddw_job *j = arg;
    ecc_conv_direct_dw_run(j->g, j->planes, j->dyt, j->dw, begin, end);
}

static ecc_status ecc_conv_back_dw_direct(ecc_kernel_ctx *k, const ecc_window *g,
                                          const float *x, const float *dy, float *dw) {
    ecc_status st = ECC_OK;
    int64_t packed = 0, plane = 0, planes = 0, dyts = 0, tasks = g->n * g->group;
    ecc_conv_ddw_job j = {g, x, dy, NULL, NULL, dw, 0, 0};
    ECC_KFAIL_IF(!ecc_conv_direct_sizes(g, &packed, &plane) ||
                 !ecc_mul_i64(plane, tasks, &planes) || planes > ECC_KERNEL_MAX_BYTES / 8, k,
                 "the convolution's padded input (%lld channels) is too large",
                 (long long)g->cg);
    j.plane_sz = plane;
    j.dyt_sz = g->out_sz * ecc_conv_direct_dw_ld(g);
    ECC_TRY(ecc_col_elems(k, tasks, j.dyt_sz, 1, &dyts));
    ECC_TRY(ecc_col_scratch(k, planes, 1, &j.planes));
    ECC_TRY(ecc_col_scratch(k, dyts, 1, &j.dyt));
    ecc_kernel_parallel(k, tasks, ecc_k_work(tasks, plane + j.dyt_sz), ecc_conv_ddw_prep, &j);
    ecc_kernel_parallel(k, ecc_conv_direct_dw_tasks(g),
                        ecc_k_work(ecc_k_work(g->m, g->n * g->out_sz), g->cg * g->k_sz),
                        ecc_conv_ddw_task, &j);
fail:
    return st;
}

static ecc_status ecc_conv_back_dw(ecc_kernel_ctx *k, const ecc_window *g, const float *x,
                                   const float *dy, float *dw) {
    ecc_status st = ECC_OK;
    ecc_conv_dw_job j = {g, x, dy, dw, NULL, 0, 0, 0, 0};
    ecc_conv_dw_plan(g, &j);
    int64_t threads = ecc_kernel_threads(k), total = 0, np = g->n * g->out_sz;
    ECC_TRY(ecc_col_elems(k, j.rows, j.nb * g->out_sz, threads, &total));
    j.col_sz = total / threads;
    ECC_TRY(ecc_kernel_scratch(k, (size_t)(total + 1) * sizeof(float), (void **)&j.col));
    if (g->n > 1) {
        float *dyt;
        ECC_TRY(ecc_col_scratch(k, g->m, np, &dyt));
        ecc_conv_dyt_job t = {dy, dyt, g->n, g->m, g->out_sz};
        ecc_kernel_parallel(k, g->m * g->n, g->m * np, ecc_conv_dyt_task, &t);
        j.dyt = dyt;
    }
    ecc_kernel_parallel(k, g->group * j.blocks,
                        ecc_k_work(ecc_k_work(g->m, np), g->cg * g->k_sz), ecc_conv_dw_task, &j);
fail:
    return st;
}

/* dX through the GEMM: per image (over the pool) and group, col = W_g^T dY_g
 * goes back into dX by col2im through the flipped geometry t. */
typedef struct ecc_conv_dx_job {
    const ecc_window *g, *t;
    const float *w, *dy;
    float *dx, *col;       /* col: per-thread scratch, col_sz floats each */
    int64_t col_sz;
} ecc_conv_dx_job;

static void ecc_conv_dx_task(void *arg, int64_t begin, int64_t end, int tid) {
    const ecc_conv_dx_job *j = arg;
    const ecc_window *g = j->g;
    int64_t kdim = g->cg * g->k_sz;
    float *col = j->col + tid * j->col_sz;
    for (int64_t n = begin; n < end; n++)
        for (int64_t gr = 0; gr < g->group; gr++) {
            ecc_k_sgemm(NULL, true, false, kdim, g->out_sz, g->mg, 1.0f, j->w + gr * g->mg * kdim,
                        kdim, j->dy + (n * g->m + gr * g->mg) * g->out_sz, g->out_sz, 0.0f, col,
                        g->out_sz);
            ecc_col2im_f32(j->t, col, j->dx + (n * g->c + gr * g->cg) * g->in_sz);
        }
}

/* The Conv whose output is dX at stride 1: over dY, with W flipped in space
 * and its channel axes exchanged, pads (k - 1) d - pads. False when the
 * direct path does not take it (strides, pads past the kernel, 1x1). */
static bool ecc_conv_dx_window(const ecc_window *g, ecc_window *t) {
    *t = *g;
    t->c = g->m;
    t->m = g->c;
    t->cg = g->mg;
    t->mg = g->cg;
    t->in_sz = g->out_sz;
    t->out_sz = g->in_sz;
    for (int i = 0; i < 3; i++) {
        int64_t ext = (g->k[i] - 1) * g->d[i];
        t->in[i] = g->out[i];
        t->out[i] = g->in[i];
        t->pb[i] = ext - g->pb[i];
        t->pe[i] = ext - g->pe[i];
        if (g->s[i] != 1 || t->pb[i] < 0 || t->pe[i] < 0) return false;
    }
    return ecc_conv_direct_applies(t);
}

/* wf [C, M/group, k...]: w [M, C/group, k...] per group with the channel
 * axes exchanged and every spatial axis reversed. */
static void ecc_conv_flip_w(const ecc_window *g, const float *w, float *wf) {
    int64_t ks = g->k_sz;
    for (int64_t gr = 0; gr < g->group; gr++)
        for (int64_t m = 0; m < g->mg; m++)
            for (int64_t c = 0; c < g->cg; c++) {
                const float *src = w + ((gr * g->mg + m) * g->cg + c) * ks;
                float *dst = wf + ((gr * g->cg + c) * g->mg + m) * ks;
                for (int64_t i = 0; i < ks; i++) dst[ks - 1 - i] = src[i];
            }
}

static ecc_status ecc_conv_back_dx(ecc_kernel_ctx *k, const ecc_window *g, const float *w,
                                   const float *dy, float *dx) {
    ecc_status st = ECC_OK;
    ecc_window t;
    int64_t kdim = g->cg * g->k_sz, threads = ecc_kernel_threads(k), total = 0;
    if (ecc_conv_dx_window(g, &t)) {
        float *wf;
        ECC_TRY(ecc_col_scratch(k, g->m, kdim, &wf));
        ecc_conv_flip_w(g, w, wf);
        return ecc_conv_direct(k, &t, dy, wf, NULL, dx, true);
    }
    t = ecc_window_flip(g, g->cg);
    ecc_conv_dx_job j = {g, &t, w, dy, dx, NULL, 0};
    ECC_TRY(ecc_col_elems(k, kdim, g->out_sz, threads, &total));
    j.col_sz = total / threads;
    ECC_TRY(ecc_kernel_scratch(k, (size_t)(total + 1) * sizeof(float), (void **)&j.col));
    ecc_kernel_parallel(k, g->n, ecc_k_work(ecc_k_work(g->n * g->m, g->out_sz), kdim),
                        ecc_conv_dx_task, &j);
fail:
    return st;
}

/* Conv: dB sums dY; dW (ecc_conv_back_dw) and dX (the direct path at
 * stride 1, else GEMM + col2im per image) each in one pass over the pool. */
ECC_BACKWARD_PROTO(ecc_k_conv_back_f32) {
    (void)node, (void)out, (void)n_out;
    ecc_status st = ECC_OK;
    ecc_window g;
    ECC_TRY(ecc_conv_geom_make(k, in[0], in[1], &g));
    ECC_KFAIL_IF(g.mg > INT32_MAX || g.out_sz > INT32_MAX || g.cg * g.k_sz > INT32_MAX ||
                 g.n * g.out_sz > INT32_MAX, k, "convolution too large for BLAS");
    const float *dy = dout[0]->data;
    if (n_in > 2 && in[2] && din[2]) ecc_conv_bias_back(dy, g.n, g.m, g.out_sz, din[2]->data);
    if (g.cg * g.k_sz == 0 || g.out_sz == 0 || g.n == 0) return ECC_OK;
    if (din[1] && ecc_conv_direct_applies(&g))
        ECC_TRY(ecc_conv_back_dw_direct(k, &g, in[0]->data, dy, din[1]->data));
    else if (din[1])
        ECC_TRY(ecc_conv_back_dw(k, &g, in[0]->data, dy, din[1]->data));
    if (din[0]) ECC_TRY(ecc_conv_back_dx(k, &g, in[1]->data, dy, din[0]->data));
fail:
    return st;
}

/* ConvTranspose: per image and group, col = im2col(dY_g) through the flipped
 * geometry (the forward's columns, as a Conv of dY sees them); dX_g += W_g
 * col, dW_g += X_g col^T (images in order); dB sums dY. */
ECC_BACKWARD_PROTO(ecc_k_convtranspose_back_f32) {
    (void)node, (void)out, (void)n_out;
    ecc_status st = ECC_OK;
    ecc_window g;
    float *col;
    ECC_TRY(ecc_convt_geom_make(k, in[0], in[1], &g));
    ECC_KFAIL_IF(g.mg * g.k_sz > INT32_MAX || g.in_sz > INT32_MAX || g.cg > INT32_MAX, k,
                 "convolution too large for BLAS");
    const float *dy = dout[0]->data, *x = in[0]->data, *w = in[1]->data;
    int64_t rows = g.mg * g.k_sz;
    if (n_in > 2 && in[2] && din[2]) ecc_conv_bias_back(dy, g.n, g.m, g.out_sz, din[2]->data);
    if (rows == 0 || g.in_sz == 0 || g.cg == 0 || (!din[0] && !din[1])) return ECC_OK;
    ECC_TRY(ecc_col_scratch(k, rows, g.in_sz, &col));
    ecc_window t = ecc_window_flip(&g, g.mg);
    for (int64_t n = 0; n < g.n; n++)
        for (int64_t gr = 0; gr < g.group; gr++) {
            int64_t xo = (n * g.c + gr * g.cg) * g.in_sz, wo = gr * g.cg * rows;
            ecc_im2col_f32(&t, dy + (n * g.m + gr * g.mg) * g.out_sz, g.mg, col);
            if (din[0])
                ecc_k_sgemm(k, false, false, g.cg, g.in_sz, rows, 1.0f, w + wo, rows, col,
                            g.in_sz, 1.0f, (float *)din[0]->data + xo, g.in_sz);
            if (din[1])
                ecc_k_sgemm(k, false, true, g.cg, rows, g.in_sz, 1.0f, x + xo, g.in_sz, col,
                            g.in_sz, 1.0f, (float *)din[1]->data + wo, rows);
        }
fail:
    return st;
}

/* ================= integer convolutions ================= */

/* (t - zp) as doubles; zp scalar or one per `axis0` block of `inner`
 * elements (per output channel for weights). */
static ecc_status ecc_q_centered(ecc_kernel_ctx *k, const ecc_rt_tensor *t,
                                 const ecc_rt_tensor *zp, int64_t groups, const char *what,
                                 double **out) {
    ecc_status st = ECC_OK;
    int64_t n = ecc_rt_numel(t), zn = zp ? ecc_rt_numel(zp) : 0;
    double *d;
    ECC_KFAIL_IF(t->dtype != ECC_DTYPE_UINT8 && t->dtype != ECC_DTYPE_INT8, k,
                 "%s must be uint8 or int8, got %s", what, ecc_dtype_name(t->dtype));
    ECC_KFAIL_IF(zp && zp->dtype != t->dtype, k, "%s zero point must be %s", what,
                 ecc_dtype_name(t->dtype));
    ECC_KFAIL_IF(zn > 1 && zn != groups, k,
                 "%s zero point must be a scalar or have %lld entries, has %lld", what,
                 (long long)groups, (long long)zn);
    ECC_TRY(ecc_kernel_scratch(k, (size_t)(n ? n : 1) * sizeof *d, (void **)&d));
    int64_t inner = groups && n ? n / groups : 1;
    for (int64_t i = 0; i < n; i++) {
        double z = zn == 0 ? 0 : ecc_rt_get_f64(zp, zn == 1 ? 0 : i / inner);
        d[i] = ecc_rt_get_f64(t, i) - z;
    }
    *out = d;
fail:
    return st;
}

/* acc [N, M, out...] = conv(x - xzp, w - wzp), exact. */
static ecc_status ecc_conv_int_core(ecc_kernel_ctx *k, const ecc_rt_tensor *x,
                                    const ecc_rt_tensor *xzp, const ecc_rt_tensor *w,
                                    const ecc_rt_tensor *wzp, ecc_window *g, double **acc) {
    ecc_status st = ECC_OK;
    double *xd, *wd, *col, *y;
    ECC_TRY(ecc_conv_geom_make(k, x, w, g));
    ECC_KFAIL_IF(xzp && ecc_rt_numel(xzp) != 1, k, "x zero point must be a scalar");
    ECC_TRY(ecc_q_centered(k, x, xzp, 1, "x", &xd));
    ECC_TRY(ecc_q_centered(k, w, wzp, g->m, "w", &wd));
    int64_t kdim = g->cg * g->k_sz, total = 0, cols = 0, dims[ECC_MAX_RANK];
    int32_t rank;
    ECC_TRY(ecc_conv_out_dims(k, g, dims, &rank)); /* bounds N * M * out */
    ECC_TRY(ecc_col_elems(k, g->n * g->m, g->out_sz, 1, &total));
    ECC_TRY(ecc_col_elems(k, kdim, g->out_sz, 1, &cols));
    ECC_TRY(ecc_kernel_scratch(k, (size_t)(total + 1) * sizeof *y, (void **)&y));
    ECC_TRY(ecc_kernel_scratch(k, (size_t)(cols + 1) * sizeof *col, (void **)&col));
    for (int64_t n = 0; n < g->n; n++)
        for (int64_t gr = 0; gr < g->group; gr++) {
            ecc_im2col_f64(g, xd + (n * g->c + gr * g->cg) * g->in_sz, g->cg, col);
            ecc_k_dgemm(g->mg, g->out_sz, kdim, wd + gr * g->mg * kdim, col,
                        y + (n * g->m + gr * g->mg) * g->out_sz);
        }
    *acc = y;
fail:
    return st;
}

static ecc_status ecc_conv_integer(ecc_kernel_ctx *k, const ecc_rt_tensor *const *in,
                                   size_t n_in, ecc_rt_tensor *const *out, size_t n_out) {
    ecc_status st = ECC_OK;
    ecc_window g;
    double *acc;
    int64_t dims[ECC_MAX_RANK];
    int32_t rank;
    ECC_TRY(ecc_k_need(k, in, n_in, 0, "x"));
    ECC_TRY(ecc_k_need(k, in, n_in, 1, "w"));
    ECC_TRY(ecc_k_out0(k, out, n_out));
    ECC_TRY(ecc_conv_int_core(k, in[0], ecc_k_in(in, n_in, 2), in[1], ecc_k_in(in, n_in, 3),
                              &g, &acc));
    ECC_TRY(ecc_conv_out_dims(k, &g, dims, &rank));
    ECC_TRY(ecc_kernel_alloc(k, out[0], ECC_DTYPE_INT32, rank, dims));
    int32_t *y = out[0]->data;
    for (int64_t i = 0, n = ecc_rt_numel(out[0]); i < n; i++)
        y[i] = (int32_t)(uint32_t)(int64_t)acc[i];
fail:
    return st;
}

ECC_KERNEL_U8_I8(convinteger, ecc_conv_integer)

/* Scale tensor: scalar or per output channel. */
static ecc_status ecc_scale_vec(ecc_kernel_ctx *k, const ecc_rt_tensor *s, int64_t per,
                                const char *what) {
    ecc_status st = ECC_OK;
    int64_t n = ecc_rt_numel(s);
    ECC_TRY(ecc_k_dtype(k, s, ECC_DTYPE_FLOAT, what));
    ECC_KFAIL_IF(n != 1 && n != per, k, "%s must be a scalar or have %lld entries, has %lld",
                 what, (long long)per, (long long)n);
fail:
    return st;
}

static ecc_status ecc_qlinear_conv(ecc_kernel_ctx *k, const ecc_rt_tensor *const *in,
                                   size_t n_in, ecc_rt_tensor *const *out, size_t n_out) {
    ecc_status st = ECC_OK;
    ecc_window g;
    double *acc, x_scale, y_scale, y_zp = 0;
    int64_t dims[ECC_MAX_RANK];
    int32_t rank, lo, hi;
    static const char *const names[] = {"x", "x_scale", "x_zero_point", "w", "w_scale",
                                        "w_zero_point", "y_scale"};
    for (size_t i = 0; i < 7; i++) ECC_TRY(ecc_k_need(k, in, n_in, i, names[i]));
    ECC_TRY(ecc_k_out0(k, out, n_out));
    const ecc_rt_tensor *yzp = ecc_k_in(in, n_in, 7), *bias = ecc_k_in(in, n_in, 8);
    ECC_TRY(ecc_conv_int_core(k, in[0], in[2], in[3], in[5], &g, &acc));
    ECC_TRY(ecc_k_dtype(k, in[1], ECC_DTYPE_FLOAT, "x_scale"));
    ECC_TRY(ecc_k_scalar(k, in[1], "x_scale", &x_scale));
    ECC_TRY(ecc_scale_vec(k, in[4], g.m, "w_scale"));
    ECC_TRY(ecc_k_dtype(k, in[6], ECC_DTYPE_FLOAT, "y_scale"));
    ECC_TRY(ecc_k_scalar(k, in[6], "y_scale", &y_scale));
    int32_t odt = yzp ? yzp->dtype : in[0]->dtype;
    ECC_KFAIL_IF(!ecc_q_range(odt, &lo, &hi) || ecc_rt_elsize(odt) != 1, k,
                 "output type %s unsupported", ecc_dtype_name(odt));
    if (yzp) ECC_TRY(ecc_k_scalar(k, yzp, "y_zero_point", &y_zp));
    if (bias) {
        ECC_TRY(ecc_k_dtype(k, bias, ECC_DTYPE_INT32, "B"));
        ECC_KFAIL_IF(ecc_rt_numel(bias) != g.m, k, "B must have %lld entries", (long long)g.m);
    }
    ECC_TRY(ecc_conv_out_dims(k, &g, dims, &rank));
    ECC_TRY(ecc_kernel_alloc(k, out[0], odt, rank, dims));
    int64_t nw = ecc_rt_numel(in[4]);
    const float *ws = in[4]->data;
    for (int64_t i = 0, n = ecc_rt_numel(out[0]); i < n; i++) {
        int64_t m = (i / g.out_sz) % g.m;
        double a = acc[i] + (bias ? ((const int32_t *)bias->data)[m] : 0);
        float mult = (float)x_scale * ws[nw == 1 ? 0 : m] / (float)y_scale;
        double v = ecc_round_even(a * (double)mult) + y_zp;
        v = v < lo ? lo : v > hi ? hi : v;
        if (odt == ECC_DTYPE_UINT8) ((uint8_t *)out[0]->data)[i] = (uint8_t)v;
        else ((int8_t *)out[0]->data)[i] = (int8_t)v;
    }
fail:
    return st;
}

ECC_KERNEL_U8_I8(qlinearconv, ecc_qlinear_conv)
