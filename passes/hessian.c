/* hessian.c — the damped inverse-Hessian Cholesky factor used by SparseGPT
 * and GPTQ (LAPACKE spotrf/spotri/spotrf). */
#include "hessian.h"

#include <lapacke.h>
#include <string.h>

#define ECC_DAMP_RETRIES 6 /* λ grows ×10 while H + λI is not positive definite */

ecc_status ecc_hessian_inv_factor(ecc_ctx *ctx, const char *who, const float *h, int64_t k,
                                  double damp, bool dead_to_one, float *hinv) {
    double mean = 0.0;
    for (int64_t i = 0; i < k; i++) mean += h[i * k + i];
    mean = k ? mean / (double)k : 0.0;
    if (mean <= 0.0) mean = 1.0;
    double lambda = damp * mean;
    for (int t = 0; t < ECC_DAMP_RETRIES; t++, lambda = lambda > 0 ? lambda * 10 : mean * 1e-6) {
        memcpy(hinv, h, (size_t)(k * k) * sizeof *hinv);
        for (int64_t i = 0; i < k; i++) {
            if (dead_to_one && hinv[i * k + i] == 0.0f) hinv[i * k + i] = 1.0f;
            hinv[i * k + i] += (float)lambda;
        }
        lapack_int n = (lapack_int)k;
        if (LAPACKE_spotrf(LAPACK_ROW_MAJOR, 'U', n, hinv, n) != 0) continue;
        if (LAPACKE_spotri(LAPACK_ROW_MAJOR, 'U', n, hinv, n) != 0) continue;
        if (LAPACKE_spotrf(LAPACK_ROW_MAJOR, 'U', n, hinv, n) != 0) continue;
        for (int64_t r = 1; r < k; r++) memset(hinv + r * k, 0, (size_t)r * sizeof *hinv);
        return ECC_OK;
    }
    return ecc_ctx_error(ctx, ECC_E_INPUT,
                         "%s: the Hessian stays singular after dampening up to %g; give more "
                         "calibration data or a larger damp=",
                         who, lambda);
}
