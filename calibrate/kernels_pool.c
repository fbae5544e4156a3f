/* kernels_pool.c — pooling: MaxPool (dilations, pads, auto_pad, ceil_mode,
 * optional Indices), AveragePool (count_include_pad, ceil_mode, dilations),
 * GlobalAveragePool and GlobalMaxPool, 1-D to 3-D, parallel over the
 * (image, channel) planes. A row of windows that lie inside the input is
 * reduced a tap at a time along the row; clipped windows (borders) and
 * MaxPool's Indices go one output at a time. Either way each output sees
 * its taps in (depth, height, width) order, so results do not depend on
 * the path. Backward kernels send each output's gradient to the first
 * maximum of its window (the forward's Indices) or spread it over its taps
 * divided by the forward's count, plane by plane. */
#include "kernel_window.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* The window of MaxPool / AveragePool over x; the op has a dilations
 * attribute from opset dilations_since. */
static ecc_status ecc_pool_window(ecc_kernel_ctx *k, const ecc_rt_tensor *x,
                                  int64_t dilations_since, ecc_window *g) {
    ecc_status st = ECC_OK;
    ecc_autopad ap = ECC_PAD_NOTSET;
    int64_t ceil_mode, pads[6];
    bool given;
    ECC_TRY(ecc_window_begin(k, x, g));
    size_t sp = (size_t)g->sp;
    ECC_TRY(ecc_window_autopad(k, &ap));
    ECC_TRY(ecc_ka_int(k, "ceil_mode", 0, &ceil_mode));
    ECC_TRY(ecc_window_ints(k, "kernel_shape", sp, 1, 1, g->k, &given));
    ECC_KFAIL_IF(!given, k, "attribute 'kernel_shape' is required");
    ECC_TRY(ecc_window_ints(k, "strides", sp, 1, 1, g->s, NULL));
    ECC_TRY(ecc_window_ints(k, "pads", 2 * sp, 0, 0, pads, NULL));
    if (ecc_kernel_opset(k) >= dilations_since) ECC_TRY(ecc_window_ints(k, "dilations", sp, 1, 1, g->d, NULL));
    else for (size_t i = 0; i < sp; i++) g->d[i] = 1;
    for (size_t i = 0; i < sp; i++) {
        int64_t eff = (g->k[i] - 1) * g->d[i] + 1;
        g->in[i] = x->dims[2 + i];
        g->pb[i] = pads[i];
        g->pe[i] = pads[sp + i];
        ECC_KFAIL_IF(g->pb[i] >= eff || g->pe[i] >= eff, k,
                     "pads must be smaller than the kernel extent");
        ECC_TRY(ecc_window_axis(k, ap, ceil_mode != 0, g->in[i], eff, g->s[i], &g->pb[i],
                                &g->pe[i], &g->out[i]));
    }
    ECC_TRY(ecc_window_pad3(k, g));
fail:
    return st;
}

/* Input X, output 0 and the window (ecc_pool_window). */
static ecc_status ecc_pool_geom_make(ecc_kernel_ctx *k, const ecc_rt_tensor *const *in,
                                     size_t n_in, ecc_rt_tensor *const *out, size_t n_out,
                                     int64_t dilations_since, ecc_window *g) {
    ecc_status st = ecc_k_need(k, in, n_in, 0, "X");
    if (!st) st = ecc_k_out0(k, out, n_out);
    if (!st) st = ecc_pool_window(k, in[0], dilations_since, g);
    return st;
}

static ecc_status ecc_pool_alloc(ecc_kernel_ctx *k, const ecc_rt_tensor *x,
                                 const ecc_window *g, ecc_rt_tensor *out, int32_t dtype) {
    int64_t dims[5] = {x->dims[0], x->dims[1]};
    for (int32_t i = 0; i < g->sp; i++) dims[2 + i] = g->out[3 - g->sp + i];
    return ecc_kernel_alloc(k, out, dtype, x->rank, dims);
}

typedef struct ecc_pool_job {
    const ecc_window *g;
    const float *x;
    float *y;
    int64_t *idx;           /* MaxPool Indices, or NULL */
    bool col_major;         /* storage_order 1 */
    bool include_pad;
    bool max;               /* MaxPool, else AveragePool */
} ecc_pool_job;

/* Runs task over the N * C planes; y is the output the job writes. */
static void ecc_pool_run(ecc_kernel_ctx *k, const ecc_rt_tensor *y, ecc_pool_job *j,
                         ecc_par_fn task) {
    const ecc_window *g = j->g;
    ecc_kernel_parallel(k, g->n * g->c,
                        ecc_k_work(ecc_rt_numel(y), ecc_k_work(g->k[0] * g->k[1], g->k[2])),
                        task, j);
}

/* Taps t in [0, k) with start + t*d inside [lo_bound, hi_bound). A window
 * wholly inside (most of them) needs no division. */
static inline void ecc_taps(int64_t start, int64_t d, int64_t k, int64_t lo_bound,
                            int64_t hi_bound, int64_t *lo, int64_t *hi) {
    if (start >= lo_bound && start + (k - 1) * d < hi_bound) {
        *lo = 0;
        *hi = k;
        return;
    }
    int64_t a = start >= lo_bound ? 0 : (lo_bound - start + d - 1) / d;
    int64_t b = hi_bound - start <= 0 ? 0 : (hi_bound - start + d - 1) / d;
    *lo = a < k ? a : k;
    *hi = b < *lo ? *lo : b > k ? k : b;
}

/* The window taps of one output row (od, oh): depth and height starts
 * sd, sh and the taps [d0, d1) x [h0, h1) inside the input; lo, hi: the
 * output columns whose windows lie wholly inside the row (ecc_w_inside). */
typedef struct ecc_pool_row {
    int64_t sd, d0, d1, sh, h0, h1, lo, hi;
} ecc_pool_row;

/* The taps of output row (od, oh) clipped at the input (*r), and (when
 * padded is non-NULL) their counts within the padded input, depth x height. */
static void ecc_pool_row_at(const ecc_window *g, int64_t od, int64_t oh, ecc_pool_row *r,
                            int64_t *padded) {
    r->sd = od * g->s[0] - g->pb[0];
    r->sh = oh * g->s[1] - g->pb[1];
    ecc_taps(r->sd, g->d[0], g->k[0], 0, g->in[0], &r->d0, &r->d1);
    ecc_taps(r->sh, g->d[1], g->k[1], 0, g->in[1], &r->h0, &r->h1);
    if (!padded) return;
    int64_t pd0, pd1, ph0, ph1;
    ecc_taps(r->sd, g->d[0], g->k[0], -g->pb[0], g->in[0] + g->pe[0], &pd0, &pd1);
    ecc_taps(r->sh, g->d[1], g->k[1], -g->pb[1], g->in[1] + g->pe[1], &ph0, &ph1);
    *padded = (pd1 - pd0) * (ph1 - ph0);
}

/* Offset in the plane of the input row under taps (kd, kh) of row r. */
static inline int64_t ecc_tap_row(const ecc_window *g, const ecc_pool_row *r, int64_t kd,
                                  int64_t kh) {
    return ((r->sd + kd * g->d[0]) * g->in[1] + r->sh + kh * g->d[1]) * g->in[2];
}

/* Output column ow of row r: the plane offset of the first tap holding the
 * window's maximum (taps in (kd, kh, kw) order), its value in *best; -1 if
 * no tap lies inside the input. */
static int64_t ecc_window_argmax(const ecc_window *g, const float *x, const ecc_pool_row *r,
                                 int64_t ow, float *best) {
    int64_t sw = ow * g->s[2] - g->pb[2], w0, w1, at = -1;
    ecc_taps(sw, g->d[2], g->k[2], 0, g->in[2], &w0, &w1);
    *best = -FLT_MAX;
    for (int64_t kd = r->d0; kd < r->d1; kd++)
        for (int64_t kh = r->h0; kh < r->h1; kh++) {
            int64_t rowbase = ecc_tap_row(g, r, kd, kh);
            for (int64_t kw = w0; kw < w1; kw++) {
                int64_t e = rowbase + sw + kw * g->d[2];
                if (x[e] > *best || at < 0) {
                    *best = x[e];
                    at = e;
                }
            }
        }
    return at;
}

/* MaxPool with Indices: per output, the first position holding the
 * maximum. */
static void ecc_maxpool_idx_task(void *arg, int64_t begin, int64_t end, int tid) {
    (void)tid;
    ecc_pool_job *j = arg;
    const ecc_window *g = j->g;
    ecc_pool_row r;
    for (int64_t p = begin; p < end; p++) {
        const float *x = j->x + p * g->in_sz;
        float *y = j->y + p * g->out_sz;
        int64_t *yi = j->idx + p * g->out_sz;
        int64_t o = 0;
        for (int64_t od = 0; od < g->out[0]; od++)
            for (int64_t oh = 0; oh < g->out[1]; oh++) {
                ecc_pool_row_at(g, od, oh, &r, NULL);
                for (int64_t ow = 0; ow < g->out[2]; ow++, o++) {
                    float best;
                    int64_t at = ecc_window_argmax(g, x, &r, ow, &best);
                    y[o] = best;
                    if (at >= 0 && j->col_major) { /* (h, w) → w * H + h within the plane */
                        int64_t hw = g->in[1] * g->in[2], dd = at / hw, rem = at % hw;
                        at = dd * hw + (rem % g->in[2]) * g->in[1] + rem / g->in[2];
                    }
                    yi[o] = p * g->in_sz + (at < 0 ? 0 : at);
                }
            }
    }
}

/* Output columns [*lo, *hi) whose window lies wholly inside the input
 * row: no tap is clipped, so a whole run of them is reduced at once. */
static void ecc_w_inside(const ecc_window *g, int64_t *lo, int64_t *hi) {
    int64_t s = g->s[2], last = g->in[2] - 1 - (g->k[2] - 1) * g->d[2] + g->pb[2];
    int64_t a = (g->pb[2] + s - 1) / s, b = last < 0 ? 0 : last / s + 1;
    *lo = a < g->out[2] ? a : g->out[2];
    *hi = b < *lo ? *lo : b > g->out[2] ? g->out[2] : b;
}

/* Output column ow of row r: its taps clipped at the input, reduced. */
static float ecc_window_reduce(const ecc_window *g, const float *x, const ecc_pool_row *r,
                               int64_t ow, bool max) {
    int64_t sw = ow * g->s[2] - g->pb[2], w0, w1;
    ecc_taps(sw, g->d[2], g->k[2], 0, g->in[2], &w0, &w1);
    float acc = max ? -FLT_MAX : 0.0f;
    for (int64_t kd = r->d0; kd < r->d1; kd++)
        for (int64_t kh = r->h0; kh < r->h1; kh++) {
            const float *row = x + ecc_tap_row(g, r, kd, kh) + sw;
            for (int64_t kw = w0; kw < w1; kw++) {
                float v = row[kw * g->d[2]];
                acc = max ? (v > acc ? v : acc) : acc + v;
            }
        }
    return acc;
}

/* Output row y of a max or sum window, each output reduced over its taps
 * in (kd, kh, kw) order, exactly as a per-output loop gives it. Columns
 * [lo, hi) go a tap at a time along the row, which vectorises; the clipped
 * ones at either end go one by one (ecc_window_reduce). */
static void ecc_pool_row_reduce(const ecc_window *g, const float *x, const ecc_pool_row *r,
                                bool max, float *y) {
    for (int64_t ow = 0; ow < r->lo; ow++) y[ow] = ecc_window_reduce(g, x, r, ow, max);
    for (int64_t ow = r->hi; ow < g->out[2]; ow++) y[ow] = ecc_window_reduce(g, x, r, ow, max);
    int64_t n = r->hi - r->lo, s = g->s[2];
    if (n <= 0) return;
    float *yr = y + r->lo;
    for (int64_t i = 0; i < n; i++) yr[i] = max ? -FLT_MAX : 0.0f;
    for (int64_t kd = r->d0; kd < r->d1; kd++)
        for (int64_t kh = r->h0; kh < r->h1; kh++) {
            const float *row = x + ecc_tap_row(g, r, kd, kh) + r->lo * s - g->pb[2];
            for (int64_t kw = 0; kw < g->k[2]; kw++) {
                const float *src = row + kw * g->d[2];
                if (max)
                    for (int64_t i = 0; i < n; i++) yr[i] = src[i * s] > yr[i] ? src[i * s] : yr[i];
                else
                    for (int64_t i = 0; i < n; i++) yr[i] += src[i * s];
            }
        }
}

/* AveragePool: the count of taps of output column ow of row r, inside the
 * input or (count_include_pad) inside the padded input, whose depth x
 * height part ecc_pool_row_at gave as padded. */
static int64_t ecc_avg_count(const ecc_window *g, const ecc_pool_row *r, int64_t padded,
                             bool include_pad, int64_t ow) {
    int64_t sw = ow * g->s[2] - g->pb[2], w0, w1;
    ecc_taps(sw, g->d[2], g->k[2], 0, g->in[2], &w0, &w1);
    if (include_pad) ecc_taps(sw, g->d[2], g->k[2], -g->pb[2], g->in[2] + g->pe[2], &w0, &w1);
    return (include_pad ? padded : (r->d1 - r->d0) * (r->h1 - r->h0)) * (w1 - w0);
}

/* AveragePool: each sum of output row y divided by its count of taps. */
static void ecc_avg_divide(const ecc_window *g, const ecc_pool_row *r, int64_t padded,
                           bool include_pad, float *y) {
    for (int64_t ow = 0; ow < g->out[2]; ow++) {
        int64_t div = ecc_avg_count(g, r, padded, include_pad, ow);
        y[ow] = div ? y[ow] / (float)div : 0.0f;
    }
}

/* MaxPool without Indices and AveragePool, an output row at a time. */
static void ecc_pool_rows_task(void *arg, int64_t begin, int64_t end, int tid) {
    (void)tid;
    ecc_pool_job *j = arg;
    const ecc_window *g = j->g;
    ecc_pool_row r;
    ecc_w_inside(g, &r.lo, &r.hi);
    for (int64_t p = begin; p < end; p++) {
        const float *x = j->x + p * g->in_sz;
        float *y = j->y + p * g->out_sz;
        for (int64_t od = 0; od < g->out[0]; od++)
            for (int64_t oh = 0; oh < g->out[1]; oh++, y += g->out[2]) {
                int64_t padded = 0; /* read only with count_include_pad */
                ecc_pool_row_at(g, od, oh, &r, j->include_pad ? &padded : NULL);
                ecc_pool_row_reduce(g, x, &r, j->max, y);
                if (!j->max) ecc_avg_divide(g, &r, padded, j->include_pad, y);
            }
    }
}

ECC_KERNEL_PROTO(ecc_k_maxpool_f32) {
    (void)node;
    ecc_status st = ECC_OK;
    ecc_window g;
    int64_t order;
    ECC_TRY(ecc_pool_geom_make(k, in, n_in, out, n_out, 10, &g));
    ECC_TRY(ecc_ka_int(k, "storage_order", 0, &order));
    ECC_KFAIL_IF(order != 0 && order != 1, k, "storage_order must be 0 or 1");
    ECC_KFAIL_IF(order == 1 && g.sp == 3, k, "storage_order 1 is only defined for 1-D and 2-D");
    ECC_TRY(ecc_pool_alloc(k, in[0], &g, out[0], ECC_DTYPE_FLOAT));
    ecc_pool_job j = {&g, in[0]->data, out[0]->data, NULL, order == 1, false, true};
    if (n_out > 1 && out[1]) {
        ECC_TRY(ecc_pool_alloc(k, in[0], &g, out[1], ECC_DTYPE_INT64));
        j.idx = out[1]->data;
    }
    ecc_pool_run(k, out[0], &j, j.idx ? ecc_maxpool_idx_task : ecc_pool_rows_task);
fail:
    return st;
}

ECC_KERNEL_PROTO(ecc_k_averagepool_f32) {
    (void)node;
    ecc_status st = ECC_OK;
    ecc_window g;
    int64_t include;
    ECC_TRY(ecc_pool_geom_make(k, in, n_in, out, n_out, 19, &g));
    ECC_TRY(ecc_ka_int(k, "count_include_pad", 0, &include));
    ECC_TRY(ecc_pool_alloc(k, in[0], &g, out[0], ECC_DTYPE_FLOAT));
    ecc_pool_job j = {&g, in[0]->data, out[0]->data, NULL, false, include != 0, false};
    ecc_pool_run(k, out[0], &j, ecc_pool_rows_task);
fail:
    return st;
}

/* ---- MaxPool / AveragePool backward ---- */

typedef struct ecc_pool_back_job {
    const ecc_window *g;
    const float *x, *dy;
    float *dx;
    bool include_pad;
    bool max;
} ecc_pool_back_job;

/* dx[tap] += v for every tap of output column ow of row r inside the input. */
static void ecc_window_spread(const ecc_window *g, const ecc_pool_row *r, int64_t ow, float v,
                              float *dx) {
    int64_t sw = ow * g->s[2] - g->pb[2], w0, w1;
    ecc_taps(sw, g->d[2], g->k[2], 0, g->in[2], &w0, &w1);
    for (int64_t kd = r->d0; kd < r->d1; kd++)
        for (int64_t kh = r->h0; kh < r->h1; kh++) {
            float *row = dx + ecc_tap_row(g, r, kd, kh) + sw;
            for (int64_t kw = w0; kw < w1; kw++) row[kw * g->d[2]] += v;
        }
}

/* dX of planes [begin, end): each output's dY goes to the first maximum of
 * its window (MaxPool, the position Indices names) or, divided by the
 * forward's count, to each of its taps (AveragePool); outputs in order. */
static void ecc_pool_back_task(void *arg, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const ecc_pool_back_job *j = arg;
    const ecc_window *g = j->g;
    ecc_pool_row r;
    for (int64_t p = begin; p < end; p++) {
        const float *x = j->max ? j->x + p * g->in_sz : NULL, *dy = j->dy + p * g->out_sz;
        float *dx = j->dx + p * g->in_sz;
        for (int64_t od = 0; od < g->out[0]; od++)
            for (int64_t oh = 0; oh < g->out[1]; oh++, dy += g->out[2]) {
                int64_t padded = 0, div;
                ecc_pool_row_at(g, od, oh, &r, j->include_pad ? &padded : NULL);
                for (int64_t ow = 0; ow < g->out[2]; ow++) {
                    float best;
                    int64_t at = j->max ? ecc_window_argmax(g, x, &r, ow, &best) : -1;
                    if (at >= 0) dx[at] += dy[ow];
                    else if (!j->max && (div = ecc_avg_count(g, &r, padded, j->include_pad, ow)))
                        ecc_window_spread(g, &r, ow, dy[ow] / (float)div, dx);
                }
            }
    }
}

/* The backward of MaxPool (max) or AveragePool, parallel over planes. */
static ecc_status ecc_pool_back(ecc_kernel_ctx *k, const ecc_rt_tensor *x,
                                const ecc_rt_tensor *dy, ecc_rt_tensor *dx, bool max) {
    ecc_status st = ECC_OK;
    ecc_window g;
    int64_t include = 0;
    ECC_TRY(ecc_pool_window(k, x, max ? 10 : 19, &g));
    if (!max) ECC_TRY(ecc_ka_int(k, "count_include_pad", 0, &include));
    if (!dx) return ECC_OK;
    ecc_pool_back_job j = {&g, x->data, dy->data, dx->data, include != 0, max};
    ecc_kernel_parallel(k, g.n * g.c,
                        ecc_k_work(ecc_rt_numel(dy), ecc_k_work(g.k[0] * g.k[1], g.k[2])),
                        ecc_pool_back_task, &j);
fail:
    return st;
}

ECC_BACKWARD_PROTO(ecc_k_maxpool_back_f32) {
    (void)node, (void)n_in, (void)out, (void)n_out;
    return ecc_pool_back(k, in[0], dout[0], din[0], true);
}
ECC_BACKWARD_PROTO(ecc_k_averagepool_back_f32) {
    (void)node, (void)n_in, (void)out, (void)n_out;
    return ecc_pool_back(k, in[0], dout[0], din[0], false);
}

/* ---- global pools ---- */

typedef struct ecc_gpool_job {
    const float *x;
    float *y;
    int64_t sz;
    bool max;
} ecc_gpool_job;

static void ecc_gpool_task(void *arg, int64_t begin, int64_t end, int tid) {
    (void)tid;
    ecc_gpool_job *j = arg;
    for (int64_t p = begin; p < end; p++) {
        const float *x = j->x + p * j->sz;
        if (j->max) {
            float m = j->sz ? x[0] : -FLT_MAX;
            for (int64_t i = 1; i < j->sz; i++) m = x[i] > m ? x[i] : m;
            j->y[p] = m;
        } else {
            j->y[p] = j->sz ? (float)(ecc_sum_f64(x, j->sz) / (double)j->sz) : NAN;
        }
    }
}

static ecc_status ecc_global_pool(ecc_kernel_ctx *k, const ecc_rt_tensor *const *in,
                                  size_t n_in, ecc_rt_tensor *const *out, size_t n_out,
                                  bool max) {
    ecc_status st = ECC_OK;
    ECC_TRY(ecc_k_need(k, in, n_in, 0, "X"));
    ECC_TRY(ecc_k_out0(k, out, n_out));
    const ecc_rt_tensor *x = in[0];
    ECC_KFAIL_IF(x->rank < 2, k, "input must be [N, C, ...], got rank %d", (int)x->rank);
    int64_t dims[ECC_MAX_RANK];
    for (int32_t i = 0; i < x->rank; i++) dims[i] = i < 2 ? x->dims[i] : 1;
    ECC_TRY(ecc_kernel_alloc(k, out[0], ECC_DTYPE_FLOAT, x->rank, dims));
    ecc_gpool_job j = {x->data, out[0]->data, ecc_k_prod(x->dims, 2, x->rank), max};
    ecc_kernel_parallel(k, x->dims[0] * x->dims[1], ecc_rt_numel(x), ecc_gpool_task, &j);
fail:
    return st;
}

ECC_KERNEL_PROTO(ecc_k_globalaveragepool_f32) {
    (void)node;
    return ecc_global_pool(k, in, n_in, out, n_out, false);
}
ECC_KERNEL_PROTO(ecc_k_globalmaxpool_f32) {
    (void)node;
    return ecc_global_pool(k, in, n_in, out, n_out, true);
}

/* ---- global pools backward ---- */

typedef struct ecc_gpool_back_job {
    const float *x, *dy;
    float *dx;
    int64_t sz;
    bool max;
} ecc_gpool_back_job;

/* Planes [begin, end): dY to the plane's first maximum (GlobalMaxPool, the
 * one the forward keeps) or dY / size to every element. */
static void ecc_gpool_back_task(void *arg, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const ecc_gpool_back_job *j = arg;
    for (int64_t p = begin; p < end; p++) {
        float *dx = j->dx + p * j->sz;
        if (j->max) {
            const float *x = j->x + p * j->sz;
            int64_t at = 0;
            for (int64_t i = 1; i < j->sz; i++) at = x[i] > x[at] ? i : at;
            if (j->sz) dx[at] += j->dy[p];
        } else {
            float v = j->dy[p] / (float)j->sz;
            for (int64_t i = 0; i < j->sz; i++) dx[i] += v;
        }
    }
}

static ecc_status ecc_global_pool_back(ecc_kernel_ctx *k, const ecc_rt_tensor *x,
                                       const ecc_rt_tensor *dy, ecc_rt_tensor *dx, bool max) {
    if (x->rank < 2)
        return ecc_kernel_fail(k, "input must be [N, C, ...], got rank %d", (int)x->rank);
    if (!dx) return ECC_OK;
    ecc_gpool_back_job j = {x->data, dy->data, dx->data, ecc_k_prod(x->dims, 2, x->rank), max};
    ecc_kernel_parallel(k, x->dims[0] * x->dims[1], ecc_rt_numel(x), ecc_gpool_back_task, &j);
    return ECC_OK;
}

ECC_BACKWARD_PROTO(ecc_k_globalaveragepool_back_f32) {
    (void)node, (void)n_in, (void)out, (void)n_out;
    return ecc_global_pool_back(k, in[0], dout[0], din[0], false);
}
ECC_BACKWARD_PROTO(ecc_k_globalmaxpool_back_f32) {
    (void)node, (void)n_in, (void)out, (void)n_out;
    return ecc_global_pool_back(k, in[0], dout[0], din[0], true);
}
