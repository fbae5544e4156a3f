/* hessian.h — the damped inverse-Hessian factor shared by the OBS-style
 * reconstructions: SparseGPT pruning (sparsegpt.c) and GPTQ quantization
 * (quant_weight.c). */
#ifndef ECC_HESSIAN_H
#define ECC_HESSIAN_H

#include "ir.h"

/* Upper Cholesky factor U of (h + λI)⁻¹ = UᵀU into hinv (k×k, row major; the
 * lower triangle is zeroed). λ starts at damp × mean(diag h) and grows ×10
 * while h + λI is not positive definite. With dead_to_one, inputs that never
 * fired (diag 0) get diag 1 first. `who` prefixes the error message. */
ecc_status ecc_hessian_inv_factor(ecc_ctx *ctx, const char *who, const float *h, int64_t k,
                                  double damp, bool dead_to_one, float *hinv);

#endif
