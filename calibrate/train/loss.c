/* loss.c — the trainer's losses over a batch (train.h): distillation KL with
 * temperature, cross-entropy against labels, mean squared error. Each owns
 * nothing: inputs and the gradient buffer belong to the caller. Softmaxes are
 * computed row by row in double with max subtraction and log-sum-exp, in a
 * fixed order. */
#include "train.h"

#include <math.h>

static ecc_status loss_check_shape(ecc_ctx *ctx, const char *loss, int64_t rows, int64_t cols) {
    ecc_status st = ECC_OK;
    int64_t total = 0;
    ECC_FAIL_IF(rows < 1 || cols < 1 || !ecc_mul_i64(rows, cols, &total), ctx, ECC_E_INTERNAL,
                "%s loss: bad batch shape [%lld, %lld]", loss, (long long)rows, (long long)cols);
fail:
    return st;
}

/* log Σ exp(x[j]·scale) over one row, with the row's maximum subtracted;
 * ECC_E_INPUT naming the row when a logit is not finite. */
static ecc_status row_logsumexp(ecc_ctx *ctx, const char *what, int64_t row, const float *x,
                                int64_t cols, double scale, double *out) {
    ecc_status st = ECC_OK;
    double mx = -INFINITY, sum = 0;
    for (int64_t j = 0; j < cols; j++) {
        ECC_FAIL_IF(!isfinite(x[j]), ctx, ECC_E_INPUT, "%s row %lld has a non-finite logit (%g)",
                    what, (long long)row, (double)x[j]);
        if ((double)x[j] * scale > mx) mx = (double)x[j] * scale;
    }
    for (int64_t j = 0; j < cols; j++) sum += exp((double)x[j] * scale - mx);
    *out = mx + log(sum);
fail:
    return st;
}

ecc_status ecc_loss_kl(ecc_ctx *ctx, const float *student, const float *teacher, int64_t rows,
                       int64_t cols, double temperature, double *loss, float *grad) {
    ecc_status st = ECC_OK;
    double total = 0;
    ECC_FAIL_IF(!(isfinite(temperature) && temperature > 0), ctx, ECC_E_USAGE,
                "kl loss: temperature must be finite and > 0, got %g", temperature);
    ECC_TRY(loss_check_shape(ctx, "kl", rows, cols));
    const double inv_t = 1.0 / temperature, gscale = temperature / (double)rows;
    for (int64_t r = 0; r < rows; r++) {
        const float *s = student + r * cols, *t = teacher + r * cols;
        double lse_s = 0, lse_t = 0, row = 0;
        ECC_TRY(row_logsumexp(ctx, "kl loss: student", r, s, cols, inv_t, &lse_s));
        ECC_TRY(row_logsumexp(ctx, "kl loss: teacher", r, t, cols, inv_t, &lse_t));
        for (int64_t j = 0; j < cols; j++) {
            double log_ps = (double)s[j] * inv_t - lse_s, log_pt = (double)t[j] * inv_t - lse_t;
            double pt = exp(log_pt);
            row += pt * (log_pt - log_ps); /* pt == 0 contributes 0 */
            if (grad) grad[r * cols + j] = (float)(gscale * (exp(log_ps) - pt));
        }
        total += row;
    }
    *loss = temperature * temperature * total / (double)rows;
fail:
    return st;
}

ecc_status ecc_loss_ce(ecc_ctx *ctx, const float *logits, const int64_t *labels, int64_t rows,
                       int64_t cols, double *loss, float *grad) {
    ecc_status st = ECC_OK;
    double total = 0;
    ECC_TRY(loss_check_shape(ctx, "ce", rows, cols));
    const double inv_rows = 1.0 / (double)rows;
    for (int64_t r = 0; r < rows; r++) {
        const float *x = logits + r * cols;
        int64_t y = labels[r];
        double lse = 0;
        ECC_FAIL_IF(y < 0 || y >= cols, ctx, ECC_E_INPUT,
                    "ce loss: label of row %lld is %lld, outside [0, %lld)", (long long)r,
                    (long long)y, (long long)cols);
        ECC_TRY(row_logsumexp(ctx, "ce loss: logits", r, x, cols, 1.0, &lse));
        total += lse - (double)x[y];
        if (!grad) continue;
        for (int64_t j = 0; j < cols; j++)
            grad[r * cols + j] = (float)((exp((double)x[j] - lse) - (j == y)) * inv_rows);
    }
    *loss = total * inv_rows;
fail:
    return st;
}

ecc_status ecc_loss_mse(ecc_ctx *ctx, const float *a, const float *b, int64_t n, double *loss,
                        float *grad) {
    ecc_status st = ECC_OK;
    double total = 0;
    ECC_FAIL_IF(n < 1, ctx, ECC_E_INTERNAL, "mse loss: bad element count %lld", (long long)n);
    const double inv_n = 1.0 / (double)n;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)a[i] - (double)b[i];
        total += d * d;
        if (grad) grad[i] = (float)(2.0 * d * inv_n);
    }
    *loss = total * inv_n;
fail:
    return st;
}
