/* sparsegpt_bench.c — SparseGPT on one 4096×4096 weight with 1,024
 * calibration rows (the budget: ≤ 10 s on 2 cores), unstructured 50%
 * and 2:4. Times H = XᵀX (ssyrk) and the OBS pass (Cholesky inverse through
 * LAPACKE, lazy batched updates) separately, and prints them as ratios of a
 * peer measured in the same run: the dense GEMM W·Xᵀ over the same
 * calibration rows (one forward pass of the layer). Usage:
 *   sparsegpt_bench [N [ROWS [BLOCK]]]   (defaults 4096 1024 128) */
#include "../passes/prune_common.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t rng = 0x2545f4914f6cdd1dull;
static float frand(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

int main(int argc, char **argv) {
    int64_t n = argc > 1 ? atoll(argv[1]) : 4096, rows = argc > 2 ? atoll(argv[2]) : 1024;
    int64_t block = argc > 3 ? atoll(argv[3]) : 128;
    if (n < 8 || rows < 1 || block < 1) {
        fprintf(stderr, "usage: sparsegpt_bench [N [ROWS [BLOCK]]]\n");
        return 1;
    }
    size_t nn = (size_t)(n * n);
    float *w0 = malloc(nn * sizeof *w0), *w = malloc(nn * sizeof *w);
    float *x = malloc((size_t)(rows * n) * sizeof *x), *h = malloc(nn * sizeof *h);
    float *y = malloc((size_t)(rows * n) * sizeof *y);
    uint8_t *keep = malloc(nn);
    ecc_ctx *ctx = ecc_ctx_create();
    if (!w0 || !w || !x || !h || !y || !keep || !ctx) {
        fprintf(stderr, "out of memory\n");
        return 3;
    }
    for (size_t i = 0; i < nn; i++) w0[i] = frand() * 0.02f;
    for (int64_t r = 0; r < rows; r++) { /* features with a shared component and scales */
        float common = frand();
        for (int64_t j = 0; j < n; j++)
            x[r * n + j] = (0.5f * common + frand()) * (1.0f + (float)(j % 7) * 0.25f);
    }
    double t0 = now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)n, (int)n, 1.0f, x,
                (int)n, w0, (int)n, 0.0f, y, (int)n);
    double t_gemm = now() - t0;
    printf("sparsegpt_bench: W %lldx%lld, %lld calibration rows, block %lld\n", (long long)n,
           (long long)n, (long long)rows, (long long)block);
    printf("  peer: dense GEMM X·Wᵀ             %8.3f s\n", t_gemm);
    const prune_pattern pats[2] = {{0, 0}, {2, 4}};
    const char *names[2] = {"unstructured 50%", "2:4"};
    int rc = 0;
    for (int p = 0; p < 2; p++) {
        memcpy(w, w0, nn * sizeof *w);
        memset(keep, 1, nn);
        t0 = now();
        memset(h, 0, nn * sizeof *h);
        cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)n, (int)rows,
                    1.0f / (float)rows, x, (int)n, 0.0f, h, (int)n);
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < i; j++) h[i * n + j] = h[j * n + i];
        double t_h = now() - t0;
        prune_method_opts o = {0.01, block};
        t0 = now();
        ecc_status st = prune_sparsegpt_matrix(ctx, w, n, n, h, (int64_t)(nn / 2), &pats[p], &o,
                                               keep);
        double t_obs = now() - t0;
        if (st != ECC_OK) {
            fprintf(stderr, "sparsegpt: %s\n", ecc_ctx_message(ctx));
            return 3;
        }
        int64_t zeros = 0;
        for (size_t i = 0; i < nn; i++) zeros += w[i] == 0.0f;
        bool nm_ok = !pats[p].m || prune_nm_holds(w, n, n, pats[p].n, pats[p].m);
        double total = t_h + t_obs;
        printf("  %-17s H %6.3f s + OBS %6.3f s = %6.3f s  (%.1fx the GEMM)  sparsity %.4f%s%s\n",
               names[p], t_h, t_obs, total, total / t_gemm, (double)zeros / (double)nn,
               nm_ok ? "" : "  N:M VIOLATED", total <= 10.0 ? "" : "  over the 10 s goal");
        if (!nm_ok) rc = 1;
    }
    ecc_ctx_free(ctx);
    free(w0), free(w), free(x), free(h), free(y), free(keep);
    return rc;
}
