/* sparsegpt.c — SparseGPT (Frantar & Alistarh, "SparseGPT: Massive Language
 * Models Can Be Accurately Pruned in One-Shot"): OBS-style reconstruction.
 * With H = mean x xᵀ + λI (λ = damp · mean diag H), columns are visited in
 * order; the error of pruning (or keeping) column i is spread over the later
 * columns through the upper Cholesky factor of H⁻¹ (LAPACKE spotrf, spotri,
 * spotrf). Updates inside a block of `block` columns are immediate; the rest
 * of the matrix gets one lazy sgemm per block. Masks are chosen per block
 * (unstructured: the block's exact share of the target, by w²/[H⁻¹]²_jj) or
 * every M columns (N:M). Conv groups are separate problems with their own H. */
#include "prune_common.h"
#include "hessian.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>


typedef struct sgpt_block {
    float *w;               /* [rows, k] */
    int64_t rows, k, i1, i2;
    const float *hinv;      /* [k, k] upper */
    uint8_t *keep;          /* [rows, k] */
    float *err;             /* [rows, i2-i1] */
    float *score;           /* scratch */
} sgpt_block;

/* Unstructured: clears keep for the t weights of the block with the
 * smallest w² / [H⁻¹]²_jj. */
static void block_mask(sgpt_block *b, int64_t t) {
    int64_t cols = b->i2 - b->i1, n = b->rows * cols;
    for (int64_t r = 0; r < b->rows; r++)
        for (int64_t c = 0; c < cols; c++) {
            float w = b->w[r * b->k + b->i1 + c], d = b->hinv[(b->i1 + c) * b->k + b->i1 + c];
            b->score[r * cols + c] = w * w / (d * d);
        }
    /* keep is [rows, k]: score index r*cols+c maps to keep r*k+i1+c */
    uint8_t *tmp = (uint8_t *)(b->score + 2 * n);
    memset(tmp, 1, (size_t)n);
    prune_smallest(b->score, n, t, tmp, 1, b->score + n);
    for (int64_t r = 0; r < b->rows; r++)
        for (int64_t c = 0; c < cols; c++) b->keep[r * b->k + b->i1 + c] = tmp[r * cols + c];
}

/* N:M: keeps the n best of columns [col, col+m) of every row. */
static void group_mask(sgpt_block *b, int64_t col, const prune_pattern *pat) {
    float s[PRUNE_NM_MAX];
    for (int64_t r = 0; r < b->rows; r++) {
        for (int c = 0; c < pat->m; c++) {
            float w = b->w[r * b->k + col + c], d = b->hinv[(col + c) * b->k + col + c];
            s[c] = w * w / (d * d);
        }
        prune_nm_row(s, pat->m, pat->n, pat->m, b->keep + r * b->k + col);
    }
}

/* Prunes the columns of one block, updating the rest of the block at once. */
static void block_run(sgpt_block *b, const prune_pattern *pat) {
    int64_t cols = b->i2 - b->i1;
    for (int64_t i = b->i1; i < b->i2; i++) {
        if (pat->m && (i % pat->m) == 0) group_mask(b, i, pat);
        float d = b->hinv[i * b->k + i];
        const float *hrow = b->hinv + i * b->k;
        for (int64_t r = 0; r < b->rows; r++) {
            float *wr = b->w + r * b->k;
            float q = b->keep[r * b->k + i] ? wr[i] : 0.0f;
            float e = (wr[i] - q) / d;
            wr[i] = q;
            b->err[r * cols + (i - b->i1)] = e;
            if (e != 0.0f)
                for (int64_t c = i + 1; c < b->i2; c++) wr[c] -= e * hrow[c];
        }
    }
}

ecc_status prune_sparsegpt_matrix(ecc_ctx *ctx, float *w, int64_t rows, int64_t k, float *h,
                                  int64_t target, const prune_pattern *pat,
                                  const prune_method_opts *o, uint8_t *keep) {
    ecc_status st = ECC_OK;
    int64_t bs = o->block > 0 ? o->block : 128;
    if (bs > k) bs = k;
    if (pat->m && bs % pat->m) bs += pat->m - bs % pat->m; /* groups never straddle blocks */
    float *hinv = malloc((size_t)(k * k) * sizeof *hinv + 1);
    float *err = malloc((size_t)(rows * bs) * sizeof *err + 1);
    float *score = malloc((size_t)(rows * bs) * (2 * sizeof *score + 1) + 16);
    ECC_FAIL_IF(!hinv || !err || !score, ctx, ECC_E_INTERNAL, "out of memory");
    for (int64_t i = 0; i < k; i++) /* dead inputs: their weights do nothing */
        if (h[i * k + i] == 0.0f)
            for (int64_t r = 0; r < rows; r++) w[r * k + i] = 0.0f;
    ECC_TRY(ecc_hessian_inv_factor(ctx, "sparsegpt", h, k, o->damp, true, hinv));
    for (int64_t i1 = 0; i1 < k; i1 += bs) {
        int64_t i2 = i1 + bs < k ? i1 + bs : k;
        sgpt_block b = {w, rows, k, i1, i2, hinv, keep, err, score};
        if (!pat->m)
            block_mask(&b, llround((double)target * (double)i2 / (double)k) -
                               llround((double)target * (double)i1 / (double)k));
        block_run(&b, pat);
        if (i2 < k)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)(k - i2),
                        (int)(i2 - i1), -1.0f, err, (int)(i2 - i1), hinv + i1 * k + i2, (int)k,
                        1.0f, w + i2, (int)k);
    }
fail:
    free(hinv);
    free(err);
    free(score);
    return st;
}

ecc_status prune_sparsegpt(ecc_ctx *ctx, const wl_layer *L, float *canon, int64_t target,
                           const prune_pattern *pat, const prune_method_opts *o,
                           uint8_t *keep, bool *changed) {
    ecc_status st = ECC_OK;
    int64_t k = L->k, rows = L->rows / L->groups;
    float *h = malloc((size_t)(k * k) * sizeof *h + 1);
    ECC_FAIL_IF(!L->stats.h, ctx, ECC_E_INTERNAL,
                "sparsegpt: no calibration statistics for '%s'", L->name);
    ECC_FAIL_IF(!h, ctx, ECC_E_INTERNAL, "out of memory");
    for (int64_t g = 0; g < L->groups; g++) {
        memcpy(h, L->stats.h + g * k * k, (size_t)(k * k) * sizeof *h);
        ECC_TRY(prune_sparsegpt_matrix(ctx, canon + g * rows * k, rows, k, h,
                                       prune_share(target, g, L->groups), pat, o,
                                       keep + g * rows * k));
    }
    *changed = true;
fail:
    free(h);
    return st;
}
