/* wanda.c — the Wanda criterion (Sun et al., "A Simple and Effective Pruning
 * Approach for Large Language Models"): a weight's importance is
 * |W_rj| · ‖X_j‖₂, the norm of the input feature it multiplies over the
 * calibration tokens, compared within each output row (the paper's
 * per-output group). Unstructured: each row loses its share of the layer's
 * target (shares by cumulative rounding, so the layer total is exact); N:M:
 * the N most important of every M along the reduction axis stay. Weights are
 * not changed. */
#include "prune_common.h"

#include <math.h>
#include <stdlib.h>

ecc_status prune_wanda(ecc_ctx *ctx, const wl_layer *L, float *canon, int64_t target,
                       const prune_pattern *pat, const prune_method_opts *o, uint8_t *keep,
                       bool *changed) {
    (void)o;
    *changed = false;
    if (!L->stats.sq)
        return ecc_ctx_error(ctx, ECC_E_INTERNAL, "wanda: no calibration statistics for '%s'",
                             L->name);
    int64_t k = L->k, rows_per_group = L->rows / L->groups;
    float *score = malloc(2 * (size_t)(k ? k : 1) * sizeof *score);
    if (!score) return ECC_OOM(ctx);
    for (int64_t r = 0; r < L->rows; r++) {
        const double *sq = L->stats.sq + (r / rows_per_group) * k;
        for (int64_t j = 0; j < k; j++)
            score[j] = (float)(fabs((double)canon[r * k + j]) * sqrt(sq[j]));
        if (pat->m)
            prune_nm_row(score, k, pat->n, pat->m, keep + r * k);
        else
            prune_smallest(score, k, prune_share(target, r, L->rows), keep + r * k, 1,
                           score + k);
    }
    free(score);
    return ECC_OK;
}
