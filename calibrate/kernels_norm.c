/* kernels_norm.c — normalisation kernels: BatchNormalization (inference),
 * LayerNormalization (with Mean/InvStdDev outputs), InstanceNormalization,
 * Softmax and LogSoftmax with the pre-13 (coerce to 2-D at axis) and 13+
 * (along one axis) semantics. Statistics accumulate in double. Backward
 * kernels: BatchNormalization in inference mode (frozen statistics, which
 * get their gradients too), LayerNormalization (also through its Mean and
 * InvStdDev outputs), InstanceNormalization, Softmax and LogSoftmax. */
#include "kernels.h"

#include <math.h>
#include <string.h>

/* ================= BatchNormalization ================= */

static ecc_status ecc_bn_param(ecc_kernel_ctx *k, const ecc_rt_tensor *const *in, size_t n_in,
                               size_t i, const char *what, int64_t c) {
    ecc_status st = ecc_k_need(k, in, n_in, i, what);
    if (st) return st;
    if (in[i]->dtype != ECC_DTYPE_FLOAT)
        return ecc_kernel_fail(k, "%s must be float32, got %s", what, ecc_dtype_name(in[i]->dtype));
    if (ecc_rt_numel(in[i]) != c)
        return ecc_kernel_fail(k, "%s must have %lld entries (one per channel), has %lld", what,
                               (long long)c, (long long)ecc_rt_numel(in[i]));
    return ECC_OK;
}

/* y = (x - m) * a + b per channel (not folded into x * a' + b': that loses
 * precision when the variance is small and the mean large). */
typedef struct ecc_bn_job {
    const float *x, *m, *a, *b;
    float *y;
    int64_t c, inner;
} ecc_bn_job;

static void ecc_bn_task(void *arg, int64_t begin, int64_t end, int tid) {
    (void)tid;
    ecc_bn_job *j = arg;
    for (int64_t p = begin; p < end; p++) {
        float m = j->m[p % j->c], a = j->a[p % j->c], b = j->b[p % j->c];
        const float *x = j->x + p * j->inner;
        float *y = j->y + p * j->inner;
        for (int64_t i = 0; i < j->inner; i++) y[i] = (x[i] - m) * a + b;
    }
}

/* Per-channel mean and (population) variance of x [N, C, ...] in double. */
static void ecc_bn_batch_stats(const ecc_rt_tensor *x, int64_t c, double *mean, double *var) {
    int64_t n = x->dims[0], inner = ecc_k_prod(x->dims, 2, x->rank), count = n * inner;
    const float *xs = x->data;
    for (int64_t ch = 0; ch < c; ch++) {
        double s = 0, s2 = 0;
        for (int64_t b = 0; b < n; b++) s += ecc_sum_f64(xs + (b * c + ch) * inner, inner);
        double mu = count ? s / (double)count : 0;
        for (int64_t b = 0; b < n; b++) s2 += ecc_sumsq_f64(xs + (b * c + ch) * inner, inner, mu);
        mean[ch] = mu;
        var[ch] = count ? s2 / (double)count : 0;
    }
}

/* Inference uses the given statistics. training_mode=1 (opset 14+)
 * normalises with the batch statistics and returns the updated running
 * mean and variance (momentum) as outputs 1 and 2. */
ECC_KERNEL_PROTO(ecc_k_batchnormalization_f32) {
    (void)node;
    ecc_status st = ECC_OK;
    float eps, momentum;
    int64_t training;
    double *stats = NULL;
    static const char *const names[] = {"X", "scale", "B", "input_mean", "input_var"};
    ECC_TRY(ecc_k_need(k, in, n_in, 0, "X"));
    ECC_TRY(ecc_k_out0(k, out, n_out));
    const ecc_rt_tensor *x = in[0];
    ECC_KFAIL_IF(x->rank < 2, k, "X must be [N, C, ...], got rank %d", (int)x->rank);
    int64_t c = x->dims[1];
    for (size_t i = 1; i < 5; i++) ECC_TRY(ecc_bn_param(k, in, n_in, i, names[i], c));
    ECC_TRY(ecc_ka_float(k, "epsilon", 1e-5f, &eps));
    ECC_TRY(ecc_ka_float(k, "momentum", 0.9f, &momentum));
    ECC_TRY(ecc_ka_int(k, "training_mode", 0, &training));
    ECC_KFAIL_IF(training != 0 && training != 1, k, "training_mode must be 0 or 1");
    for (size_t j = 3; j < n_out; j++)
        ECC_KFAIL_IF(out[j] != NULL, k, "output %zu (saved statistics) is not supported", j);
    const float *scale = in[1]->data, *bias = in[2]->data, *rmean = in[3]->data,
                *rvar = in[4]->data;
    ECC_TRY(ecc_kernel_scratch(k, (size_t)(2 * c + 1) * sizeof *stats, (void **)&stats));
    for (int64_t i = 0; i < c; i++) {
        stats[i] = rmean[i];
        stats[c + i] = rvar[i];
    }
    if (training) ecc_bn_batch_stats(x, c, stats, stats + c);
    float *ma;
    ECC_TRY(ecc_kernel_scratch(k, (size_t)(2 * c + 1) * sizeof *ma, (void **)&ma));
    for (int64_t i = 0; i < c; i++) {
        ma[i] = (float)stats[i];
        ma[c + i] = (float)((double)scale[i] / sqrt(stats[c + i] + (double)eps));
    }
    ECC_TRY(ecc_kernel_alloc(k, out[0], ECC_DTYPE_FLOAT, x->rank, x->dims));
    ecc_bn_job j = {x->data, ma, ma + c, bias, out[0]->data, c, ecc_k_prod(x->dims, 2, x->rank)};
    ecc_kernel_parallel(k, x->dims[0] * c, ecc_rt_numel(x), ecc_bn_task, &j);
    for (size_t o = 1; o < 3 && o < n_out; o++) { /* running mean / variance */
        if (!out[o]) continue;
        ECC_TRY(ecc_kernel_alloc(k, out[o], ECC_DTYPE_FLOAT, 1, &c));
        const float *run = o == 1 ? rmean : rvar;
        const double *cur = stats + (o == 1 ? 0 : c);
        float *y = out[o]->data;
        for (int64_t i = 0; i < c; i++)
            y[i] = training ? (float)(run[i] * (double)momentum + cur[i] * (1.0 - momentum))
                            : run[i];
    }
fail:
    return st;
}

/* ================= LayerNormalization ================= */

/* Scale/B broadcast to the normalized shape, materialised when needed. */
static ecc_status ecc_ln_param(ecc_kernel_ctx *k, const ecc_rt_tensor *p, const int64_t *ndims,
                               int32_t nrank, int64_t d, const char *what, const float **out) {
    ecc_status st = ECC_OK;
    ECC_TRY(ecc_k_dtype(k, p, ECC_DTYPE_FLOAT, what));
    if (ecc_rt_numel(p) == d && p->rank <= nrank) {
        int32_t off = nrank - p->rank;
        bool same = true;
        for (int32_t i = 0; i < p->rank; i++) same = same && p->dims[i] == ndims[off + i];
        if (same) {
            *out = p->data;
            return ECC_OK;
        }
    }
    ecc_rt_tensor full = {.dtype = ECC_DTYPE_FLOAT, .rank = nrank};
    memcpy(full.dims, ndims, (size_t)nrank * sizeof *ndims);
    full.nbytes = (size_t)d * sizeof(float);
    ECC_TRY(ecc_kernel_scratch(k, full.nbytes + 1, &full.data));
    ECC_TRY(ecc_k_broadcast_copy(k, p, &full));
    *out = full.data;
fail:
    return st;
}

typedef struct ecc_ln_job {
    const float *x, *scale, *bias;
    float *y, *mean_out, *inv_out;
    int64_t d;
    float eps;
} ecc_ln_job;

ECC_WIDE static void ecc_ln_task(void *arg, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const ecc_ln_job *j = arg;
    int64_t d = j->d;
    for (int64_t r = begin; r < end; r++) {
        const float *xr = j->x + r * d;
        float *yr = j->y + r * d;
        double mu = d ? ecc_sum_f64(xr, d) / (double)d : 0;
        double var = d ? ecc_sumsq_f64(xr, d, mu) / (double)d : 0;
        float inv = (float)(1.0 / sqrt(var + (double)j->eps)), m = (float)mu;
        for (int64_t i = 0; i < d; i++)
            yr[i] = (xr[i] - m) * inv * j->scale[i] + (j->bias ? j->bias[i] : 0.0f);
        if (j->mean_out) j->mean_out[r] = m;
        if (j->inv_out) j->inv_out[r] = inv;
    }
}

ECC_KERNEL_PROTO(ecc_k_layernormalization_f32) {
    (void)node;
    ecc_status st = ECC_OK;
    int64_t axis_attr, stash;
    int32_t axis;
    float eps;
    const float *scale, *bias = NULL;
    ECC_TRY(ecc_k_need(k, in, n_in, 0, "X"));
    ECC_TRY(ecc_k_need(k, in, n_in, 1, "Scale"));
    ECC_TRY(ecc_k_out0(k, out, n_out));
    const ecc_rt_tensor *x = in[0], *b = ecc_k_in(in, n_in, 2);
    ECC_TRY(ecc_ka_int(k, "axis", -1, &axis_attr));
    ECC_TRY(ecc_ka_float(k, "epsilon", 1e-5f, &eps));
    ECC_TRY(ecc_ka_int(k, "stash_type", 1, &stash));
    ECC_KFAIL_IF(stash != 1, k, "stash_type %lld unsupported (float32 only)", (long long)stash);
    ECC_TRY(ecc_k_axis(k, axis_attr, x->rank, "axis", &axis));
    int64_t rows = ecc_k_prod(x->dims, 0, axis), d = ecc_k_prod(x->dims, axis, x->rank);
    ECC_TRY(ecc_ln_param(k, in[1], x->dims + axis, x->rank - axis, d, "Scale", &scale));
    if (b) ECC_TRY(ecc_ln_param(k, b, x->dims + axis, x->rank - axis, d, "B", &bias));
    ECC_TRY(ecc_kernel_alloc(k, out[0], ECC_DTYPE_FLOAT, x->rank, x->dims));
    int64_t sdims[ECC_MAX_RANK];
    for (int32_t i = 0; i < x->rank; i++) sdims[i] = i < axis ? x->dims[i] : 1;
    float *mean_out = NULL, *inv_out = NULL;
    if (n_out > 1 && out[1]) {
        ECC_TRY(ecc_kernel_alloc(k, out[1], ECC_DTYPE_FLOAT, x->rank, sdims));
        mean_out = out[1]->data;
    }
    if (n_out > 2 && out[2]) {
        ECC_TRY(ecc_kernel_alloc(k, out[2], ECC_DTYPE_FLOAT, x->rank, sdims));
        inv_out = out[2]->data;
    }
    ecc_ln_job j = {x->data, scale, bias, out[0]->data, mean_out, inv_out, d, eps};
    ecc_kernel_parallel(k, rows, ecc_rt_numel(x), ecc_ln_task, &j);
fail:
    return st;
}

/* ================= InstanceNormalization ================= */

ECC_KERNEL_PROTO(ecc_k_instancenormalization_f32) {
    (void)node;
    ecc_status st = ECC_OK;
    float eps;
    ECC_TRY(ecc_k_need(k, in, n_in, 0, "input"));
    ECC_TRY(ecc_k_out0(k, out, n_out));
    const ecc_rt_tensor *x = in[0];
    ECC_KFAIL_IF(x->rank < 3, k, "input must be [N, C, D...], got rank %d", (int)x->rank);
    int64_t c = x->dims[1];
    ECC_TRY(ecc_bn_param(k, in, n_in, 1, "scale", c));
    ECC_TRY(ecc_bn_param(k, in, n_in, 2, "B", c));
    ECC_TRY(ecc_ka_float(k, "epsilon", 1e-5f, &eps));
    ECC_TRY(ecc_kernel_alloc(k, out[0], ECC_DTYPE_FLOAT, x->rank, x->dims));
    int64_t inner = ecc_k_prod(x->dims, 2, x->rank);
    const float *scale = in[1]->data, *bias = in[2]->data;
    for (int64_t p = 0; p < x->dims[0] * c; p++) {
        const float *xr = (const float *)x->data + p * inner;
        float *yr = (float *)out[0]->data + p * inner;
        double mu = inner ? ecc_sum_f64(xr, inner) / (double)inner : 0;
        double var = inner ? ecc_sumsq_f64(xr, inner, mu) / (double)inner : 0;
        float a = (float)(scale[p % c] / sqrt(var + (double)eps)), m = (float)mu, b = bias[p % c];
        for (int64_t i = 0; i < inner; i++) yr[i] = (xr[i] - m) * a + b;
    }
fail:
    return st;
}

/* ================= backward ================= */

/* BatchNormalization in inference mode, y = (x - mean) a + B with
 * a = scale / sqrt(var + eps) per channel: dX = dY a, dB = sum dY,
 * dscale = sum dY (x - mean) / sd, dmean = -a sum dY, dvar = -scale /
 * (2 sd^3) sum dY (x - mean), sd = sqrt(var + eps); channel sums in double,
 * images in order, channels over the pool (each channel's sums on one
 * thread, so the bytes do not depend on the threads). Training mode (batch
 * statistics) has no gradient here. */
/* sum of dy (x - mu) in double, four accumulators (a fixed order). */
static double ecc_dot_centered_f64(const float *dy, const float *x, float mu, int64_t n) {
    double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        a0 += (double)dy[i] * (x[i] - mu);
        a1 += (double)dy[i + 1] * (x[i + 1] - mu);
        a2 += (double)dy[i + 2] * (x[i + 2] - mu);
        a3 += (double)dy[i + 3] * (x[i + 3] - mu);
    }
    for (; i < n; i++) a0 += (double)dy[i] * (x[i] - mu);
    return (a0 + a1) + (a2 + a3);
}

/* Channels of the BatchNormalization backward: per channel its sums over
 * images in order, its entries of din[1..4] and its planes of dX. x is
 * read only when the scale or variance gradient is wanted (g[1], g[4]). */
typedef struct ecc_bn_back_job {
    const float *x, *dy, *scale, *mean, *var;
    float eps;
    float *g[5]; /* din data; NULL: not wanted */
    int64_t n, c, inner;
} ecc_bn_back_job;

static void ecc_bn_back_task(void *arg, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const ecc_bn_back_job *j = arg;
    bool want_x = j->g[1] || j->g[4], want_dy = want_x || j->g[2] || j->g[3];
    for (int64_t ch = begin; ch < end; ch++) {
        double sd = sqrt((double)j->var[ch] + (double)j->eps), sdy = 0, sdyx = 0;
        float a = (float)((double)j->scale[ch] / sd); /* as the forward rounds it */
        for (int64_t b = 0; b < j->n; b++) {
            int64_t off = (b * j->c + ch) * j->inner;
            if (want_dy) sdy += ecc_sum_f64(j->dy + off, j->inner);
            if (want_x) sdyx += ecc_dot_centered_f64(j->dy + off, j->x + off, j->mean[ch],
                                                     j->inner);
            if (!j->g[0]) continue;
            const float *d = j->dy + off;
            float *dx = j->g[0] + off;
            for (int64_t i = 0; i < j->inner; i++) dx[i] += d[i] * a;
        }
        double v[5] = {0, sdyx / sd, sdy, -(double)j->scale[ch] / sd * sdy,
                       -(double)j->scale[ch] / (2 * sd * sd * sd) * sdyx};
        for (int i = 1; i < 5; i++)
            if (j->g[i]) j->g[i][ch] += (float)v[i];
    }
}

ECC_BACKWARD_PROTO(ecc_k_batchnormalization_back_f32) {
    (void)node, (void)out, (void)n_out, (void)n_in;
    ecc_status st = ECC_OK;
    float eps;
    int64_t training;
    ECC_TRY(ecc_ka_float(k, "epsilon", 1e-5f, &eps));
    ECC_TRY(ecc_ka_int(k, "training_mode", 0, &training));
    ECC_KFAIL_IF(training != 0, k, "no gradient in training_mode (batch statistics)");
    const ecc_rt_tensor *x = in[0];
    ecc_bn_back_job j = {NULL, dout[0]->data, in[1]->data, in[3]->data, in[4]->data, eps,
                         {NULL}, x->dims[0], x->dims[1], ecc_k_prod(x->dims, 2, x->rank)};
    for (int i = 0; i < 5; i++) j.g[i] = din[i] ? din[i]->data : NULL;
    if (j.g[1] || j.g[4]) j.x = x->data; /* x arrives only then (saves X_FOR_SCALE) */
    ecc_kernel_parallel(k, j.c, ecc_k_work(ecc_rt_numel(x), 3), ecc_bn_back_task, &j);
fail:
    return st;
}

/* Rows of y = xhat s + b with xhat = (x - mu) inv over a row of d elements
 * (LayerNormalization: s per element; InstanceNormalization: a row is a
 * plane, s its channel's scale). */
typedef struct ecc_norm_back_job {
    const float *x, *dy, *scale;
    const float *dmean, *dinv; /* LayerNormalization's Mean / InvStdDev gradients, or NULL */
    float *dx;                 /* NULL: no input gradient */
    double *mu, *inv;          /* per row, filled by the task */
    int64_t d, c;
    bool per_row;              /* scale[row % c] for the whole row */
    float eps;
} ecc_norm_back_job;

/* Row r: its statistics (in double, as the forward) and, with dx, dx +=
 * inv (g - mean(g) - xhat mean(g xhat)) with g = dy s, plus the paths
 * through Mean (dmean / d) and InvStdDev (-dinv inv^3 (x - mu) / d). */
static void ecc_norm_back_task(void *arg, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const ecc_norm_back_job *j = arg;
    int64_t d = j->d;
    for (int64_t r = begin; r < end; r++) {
        const float *x = j->x + r * d, *dy = j->dy + r * d;
        double mu = d ? ecc_sum_f64(x, d) / (double)d : 0;
        double inv = 1.0 / sqrt((d ? ecc_sumsq_f64(x, d, mu) / (double)d : 0) + (double)j->eps);
        j->mu[r] = mu;
        j->inv[r] = inv;
        if (!j->dx || !d) continue;
        double sg = 0, sgx = 0, s0 = j->per_row ? j->scale[r % j->c] : 0;
        for (int64_t i = 0; i < d; i++) {
            double g = dy[i] * (j->per_row ? s0 : j->scale[i]);
            sg += g;
            sgx += g * (x[i] - mu) * inv;
        }
        double dm = j->dmean ? j->dmean[r] / (double)d : 0;
        double dv = j->dinv ? -j->dinv[r] * inv * inv * inv / (double)d : 0;
        float *dx = j->dx + r * d;
        for (int64_t i = 0; i < d; i++) {
            double xh = (x[i] - mu) * inv, g = dy[i] * (j->per_row ? s0 : j->scale[i]);
            dx[i] += (float)(inv * (g - sg / (double)d - xh * sgx / (double)d) + dm +
                             dv * (x[i] - mu));
        }
    }
}

/* dscale += sum dY xhat and dB += sum dY over rows in order, per element
 * (ds, db of d entries) or per channel (per_row: c entries). */
static void ecc_norm_param_sums(const ecc_norm_back_job *j, int64_t rows, double *ds,
                                double *db) {
    for (int64_t r = 0; r < rows; r++) {
        const float *x = j->x + r * j->d, *dy = j->dy + r * j->d;
        for (int64_t i = 0; i < j->d; i++) {
            int64_t at = j->per_row ? r % j->c : i;
            ds[at] += dy[i] * (x[i] - j->mu[r]) * j->inv[r];
            db[at] += dy[i];
        }
    }
}

/* Runs the rows (dx over the pool), then the parameter sums in double into
 * scratch ds, db (n_par entries each, zeroed here). */
static ecc_status ecc_norm_back_run(ecc_kernel_ctx *k, ecc_norm_back_job *j, int64_t rows,
                                    int64_t n_par, double **ds, double **db) {
    ecc_status st = ECC_OK;
    ECC_TRY(ecc_kernel_scratch(k, (size_t)(2 * rows + 2 * n_par + 1) * sizeof(double),
                               (void **)&j->mu));
    j->inv = j->mu + rows;
    *ds = j->inv + rows;
    *db = *ds + n_par;
    memset(*ds, 0, (size_t)(2 * n_par) * sizeof(double));
    ecc_kernel_parallel(k, rows, ecc_k_work(rows, j->d), ecc_norm_back_task, j);
    ecc_norm_param_sums(j, rows, *ds, *db);
fail:
    return st;
}

/* dst += src (n doubles) as float32 broadcast back to dst's shape from
 * dims (rank) — the parameter's broadcast over the normalized shape. */
static ecc_status ecc_norm_param_add(ecc_kernel_ctx *k, const double *src, int32_t rank,
                                     const int64_t *dims, int64_t n, ecc_rt_tensor *dst) {
    ecc_status st = ECC_OK;
    ecc_rt_tensor g = {.dtype = ECC_DTYPE_FLOAT, .rank = rank, .nbytes = (size_t)n * 4};
    memcpy(g.dims, dims, (size_t)rank * sizeof *dims);
    ECC_TRY(ecc_kernel_scratch(k, g.nbytes + 1, &g.data));
    for (int64_t i = 0; i < n; i++) ((float *)g.data)[i] = (float)src[i];
    ECC_TRY(ecc_k_unbroadcast_add(k, &g, dst, 1.0f));
fail:
    return st;
}

/* dY of output 0, or zeros (n floats of scratch) when only the other
 * outputs carry gradients. */
static ecc_status ecc_norm_dy(ecc_kernel_ctx *k, const ecc_rt_tensor *dy, int64_t n,
                              const float **out) {
    float *z;
    if (dy) {
        *out = dy->data;
        return ECC_OK;
    }
    ecc_status st = ecc_kernel_scratch(k, (size_t)n * sizeof *z + 1, (void **)&z);
    if (st) return st;
    memset(z, 0, (size_t)n * sizeof *z);
    *out = z;
    return ECC_OK;
}

/* LayerNormalization: dX (also through the Mean and InvStdDev outputs when
 * they carry gradients), dScale and dB summed back over their broadcast. */
ECC_BACKWARD_PROTO(ecc_k_layernormalization_back_f32) {
    (void)node, (void)out;
    ecc_status st = ECC_OK;
    int64_t axis_attr;
    int32_t axis;
    float eps;
    const float *scale, *dy;
    double *ds, *db;
    const ecc_rt_tensor *x = in[0];
    ECC_TRY(ecc_ka_int(k, "axis", -1, &axis_attr));
    ECC_TRY(ecc_ka_float(k, "epsilon", 1e-5f, &eps));
    ECC_TRY(ecc_k_axis(k, axis_attr, x->rank, "axis", &axis));
    int32_t nrank = x->rank - axis;
    int64_t rows = ecc_k_prod(x->dims, 0, axis), d = ecc_k_prod(x->dims, axis, x->rank);
    ECC_TRY(ecc_ln_param(k, in[1], x->dims + axis, nrank, d, "Scale", &scale));
    ECC_TRY(ecc_norm_dy(k, dout[0], ecc_rt_numel(x), &dy));
    ecc_norm_back_job j = {x->data, dy, scale, n_out > 1 && dout[1] ? dout[1]->data : NULL,
                           n_out > 2 && dout[2] ? dout[2]->data : NULL,
                           din[0] ? din[0]->data : NULL, NULL, NULL, d, 1, false, eps};
    ECC_TRY(ecc_norm_back_run(k, &j, rows, d, &ds, &db));
    if (din[1]) ECC_TRY(ecc_norm_param_add(k, ds, nrank, x->dims + axis, d, din[1]));
    if (n_in > 2 && in[2] && din[2])
        ECC_TRY(ecc_norm_param_add(k, db, nrank, x->dims + axis, d, din[2]));
fail:
    return st;
}

/* InstanceNormalization: each (image, channel) plane a row with its
 * channel's scale; dscale and dB per channel. */
ECC_BACKWARD_PROTO(ecc_k_instancenormalization_back_f32) {
    (void)node, (void)out, (void)n_out, (void)n_in;
    ecc_status st = ECC_OK;
    float eps;
    double *ds, *db;
    ECC_TRY(ecc_ka_float(k, "epsilon", 1e-5f, &eps));
    const ecc_rt_tensor *x = in[0];
    int64_t c = x->dims[1], inner = ecc_k_prod(x->dims, 2, x->rank);
    ecc_norm_back_job j = {x->data, dout[0]->data, in[1]->data, NULL, NULL,
                           din[0] ? din[0]->data : NULL, NULL, NULL, inner, c, true, eps};
    ECC_TRY(ecc_norm_back_run(k, &j, x->dims[0] * c, c, &ds, &db));
    for (int64_t ch = 0; ch < c; ch++) {
        if (din[1]) ((float *)din[1]->data)[ch] += (float)ds[ch];
        if (din[2]) ((float *)din[2]->data)[ch] += (float)db[ch];
    }
fail:
    return st;
}

/* ================= Softmax / LogSoftmax ================= */

/* Softmax over `len` elements spaced `stride` apart. */
static void ecc_softmax_line(const float *x, float *y, int64_t len, int64_t stride, bool as_log) {
    float mx = -INFINITY;
    for (int64_t i = 0; i < len; i++) mx = x[i * stride] > mx ? x[i * stride] : mx;
    double sum = 0;
    if (as_log) {
        for (int64_t i = 0; i < len; i++) sum += exp((double)(x[i * stride] - mx));
        float lse = (float)log(sum);
        for (int64_t i = 0; i < len; i++) y[i * stride] = x[i * stride] - mx - lse;
        return;
    }
    for (int64_t i = 0; i < len; i++) {
        float e = expf(x[i * stride] - mx);
        y[i * stride] = e;
        sum += e;
    }
    float inv = (float)(1.0 / sum);
    for (int64_t i = 0; i < len; i++) y[i * stride] *= inv;
}

typedef struct ecc_softmax_job {
    const float *x;
    float *y;
    int64_t outer, len, inner;
    bool as_log;
} ecc_softmax_job;

static void ecc_softmax_task(void *arg, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const ecc_softmax_job *j = arg;
    int64_t block = j->len * j->inner;
    for (int64_t o = begin; o < end; o++)
        for (int64_t i = 0; i < j->inner; i++)
            ecc_softmax_line(j->x + o * block + i, j->y + o * block + i, j->len, j->inner,
                             j->as_log);
}

/* The lines of x: outer blocks of len elements spaced inner apart, along
 * the axis (opset 13+) or over x coerced to 2-D at the axis (before). */
static ecc_status ecc_softmax_shape(ecc_kernel_ctx *k, const ecc_rt_tensor *x, bool v13,
                                    int64_t *outer, int64_t *len, int64_t *inner) {
    ecc_status st = ECC_OK;
    int64_t axis_attr;
    int32_t axis;
    ECC_TRY(ecc_ka_int(k, "axis", v13 ? -1 : 1, &axis_attr));
    ECC_TRY(ecc_k_axis(k, axis_attr, x->rank, "axis", &axis));
    *outer = ecc_k_prod(x->dims, 0, axis);
    *len = v13 ? x->dims[axis] : ecc_k_prod(x->dims, axis, x->rank);
    *inner = v13 ? ecc_k_prod(x->dims, axis + 1, x->rank) : 1;
fail:
    return st;
}

static ecc_status ecc_softmax(ecc_kernel_ctx *k, const ecc_rt_tensor *const *in, size_t n_in,
                              ecc_rt_tensor *const *out, size_t n_out, bool v13, bool as_log) {
    ecc_status st = ECC_OK;
    ecc_softmax_job j = {.as_log = as_log};
    ECC_TRY(ecc_k_need(k, in, n_in, 0, "input"));
    ECC_TRY(ecc_k_out0(k, out, n_out));
    const ecc_rt_tensor *x = in[0];
    ECC_TRY(ecc_softmax_shape(k, x, v13, &j.outer, &j.len, &j.inner));
    ECC_TRY(ecc_kernel_alloc(k, out[0], ECC_DTYPE_FLOAT, x->rank, x->dims));
    j.x = x->data;
    j.y = out[0]->data;
    ecc_kernel_parallel(k, j.outer, ecc_rt_numel(x), ecc_softmax_task, &j);
fail:
    return st;
}

ECC_KERNEL_PROTO(ecc_k_softmax_f32) {
    (void)node;
    return ecc_softmax(k, in, n_in, out, n_out, false, false);
}
ECC_KERNEL_PROTO(ecc_k_softmax13_f32) {
    (void)node;
    return ecc_softmax(k, in, n_in, out, n_out, true, false);
}
ECC_KERNEL_PROTO(ecc_k_logsoftmax_f32) {
    (void)node;
    return ecc_softmax(k, in, n_in, out, n_out, false, true);
}
ECC_KERNEL_PROTO(ecc_k_logsoftmax13_f32) {
    (void)node;
    return ecc_softmax(k, in, n_in, out, n_out, true, true);
}

/* Softmax: dx = y (dy - sum dy y); LogSoftmax: dx = dy - exp(y) sum dy;
 * along `len` elements spaced `stride` apart, sums in double. */
static void ecc_softmax_line_back(const float *y, const float *dy, float *dx, int64_t len,
                                  int64_t stride, bool as_log) {
    double s = 0;
    for (int64_t i = 0; i < len; i++)
        s += as_log ? (double)dy[i * stride] : (double)dy[i * stride] * y[i * stride];
    for (int64_t i = 0; i < len; i++) {
        int64_t e = i * stride;
        dx[e] += as_log ? (float)(dy[e] - exp((double)y[e]) * s) : (float)(y[e] * (dy[e] - s));
    }
}

typedef struct ecc_softmax_back_job {
    const float *y, *dy;
    float *dx;
    int64_t len, inner;
    bool as_log;
} ecc_softmax_back_job;

static void ecc_softmax_back_task(void *arg, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const ecc_softmax_back_job *j = arg;
    int64_t block = j->len * j->inner;
    for (int64_t o = begin; o < end; o++)
        for (int64_t i = 0; i < j->inner; i++)
            ecc_softmax_line_back(j->y + o * block + i, j->dy + o * block + i,
                                  j->dx + o * block + i, j->len, j->inner, j->as_log);
}

/* dX of Softmax / LogSoftmax from their output and dY, lines over the pool. */
static ecc_status ecc_softmax_back(ecc_kernel_ctx *k, const ecc_rt_tensor *x,
                                   const ecc_rt_tensor *y, const ecc_rt_tensor *dy,
                                   ecc_rt_tensor *dx, bool v13, bool as_log) {
    int64_t outer, len, inner;
    ecc_status st = ecc_softmax_shape(k, x, v13, &outer, &len, &inner);
    if (st || !dx) return st;
    ecc_softmax_back_job j = {y->data, dy->data, dx->data, len, inner, as_log};
    ecc_kernel_parallel(k, outer, ecc_rt_numel(x), ecc_softmax_back_task, &j);
    return ECC_OK;
}

ECC_BACKWARD_PROTO(ecc_k_softmax_back_f32) {
    (void)node, (void)n_in, (void)n_out;
    return ecc_softmax_back(k, in[0], out[0], dout[0], din[0], false, false);
}
ECC_BACKWARD_PROTO(ecc_k_softmax13_back_f32) {
    (void)node, (void)n_in, (void)n_out;
    return ecc_softmax_back(k, in[0], out[0], dout[0], din[0], true, false);
}
ECC_BACKWARD_PROTO(ecc_k_logsoftmax_back_f32) {
    (void)node, (void)n_in, (void)n_out;
    return ecc_softmax_back(k, in[0], out[0], dout[0], din[0], false, true);
}
ECC_BACKWARD_PROTO(ecc_k_logsoftmax13_back_f32) {
    (void)node, (void)n_in, (void)n_out;
    return ecc_softmax_back(k, in[0], out[0], dout[0], din[0], true, true);
}
