/* quant_bench.c — throughput of the quantization arithmetic (compress/
 * quant_math.h, what `quant`, `quant-weight` and the lowering run), the
 * helper of bench/quant_bench.sh. Excludes calibration forward passes.
 *
 *   quant_bench [ROWS COLS]     (default 4096 × 4096 = 16.8 M weights)
 *
 * For each scheme, on one thread, the best of 5 runs of: choosing the scales
 * and zero points (per-group min/max), quantizing with round-half-to-even,
 * and (4-bit) packing two per byte; then dequantizing. Prints one line per
 * scheme in M weights/s and a closing line with the slowest quantize rate
 * against the 150 M weights/s goal. */
#include "quant_math.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RUNS 5
#define GOAL 150.0 /* M weights/s */

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct scheme {
    const char *name;
    ecc_qformat f;
    int gran;
    int32_t axis;
    int64_t block;
} scheme;

static const scheme schemes[] = {
    {"int8 per channel (sym)", {8, true, true}, ECC_QUANT_CHANNEL, 0, 0},
    {"uint8 per tensor (asym)", {8, false, false}, ECC_QUANT_TENSOR, 0, 0},
    {"int4 block 32 (sym)", {4, true, true}, ECC_QUANT_BLOCK, 1, 32},
    {"uint4 block 128 (asym)", {4, false, false}, ECC_QUANT_BLOCK, 1, 128},
};

typedef struct bufs {
    float *w, *back, *scale;
    int32_t *zp;
    uint8_t *codes, *packed;
} bufs;

/* Best seconds of RUNS for quantize (choose + quantize + pack) and dequantize. */
static void time_scheme(const scheme *s, const ecc_qlayout *L, bufs *b, int64_t n, double *tq,
                        double *td) {
    *tq = *td = 1e30;
    for (int r = 0; r < RUNS; r++) {
        double t0 = now();
        ecc_qlayout_choose(b->w, L, &s->f, b->scale, b->zp);
        ecc_qlayout_quantize(b->w, L, &s->f, b->scale, b->zp, b->codes);
        if (s->f.bits == 4) ecc_qpack4(b->codes, n, b->packed);
        double t1 = now();
        if (s->f.bits == 4) ecc_qunpack4(b->packed, n, b->codes);
        ecc_qlayout_dequantize(b->codes, L, &s->f, b->scale, b->zp, b->back);
        double t2 = now();
        *tq = t1 - t0 < *tq ? t1 - t0 : *tq;
        *td = t2 - t1 < *td ? t2 - t1 : *td;
    }
}

int main(int argc, char **argv) {
    int64_t rows = argc > 2 ? atoll(argv[1]) : 4096, cols = argc > 2 ? atoll(argv[2]) : 4096;
    int64_t n = rows * cols, dims[2] = {rows, cols};
    ecc_ctx *ctx = ecc_ctx_create();
    bufs b = {malloc((size_t)n * sizeof(float)), malloc((size_t)n * sizeof(float)),
              malloc((size_t)(n + 1) * sizeof(float)), malloc((size_t)(n + 1) * sizeof(int32_t)),
              malloc((size_t)n), malloc((size_t)(n + 1) / 2 + 1)};
    if (!ctx || rows < 1 || cols < 1 || !b.w || !b.back || !b.scale || !b.zp || !b.codes ||
        !b.packed) {
        fprintf(stderr, "quant_bench: bad size or out of memory\n");
        return 3;
    }
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    for (int64_t i = 0; i < n; i++) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        b.w[i] = ((float)((rng >> 40) & 0xffffff) / (float)0xffffff - 0.5f) * 0.1f;
    }
    printf("quantization arithmetic, %lld x %lld = %.1f M weights, 1 thread, best of %d\n",
           (long long)rows, (long long)cols, (double)n / 1e6, RUNS);
    double slowest = 1e30;
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
        const scheme *s = &schemes[i];
        ecc_qlayout L;
        if (ecc_qlayout_make(ctx, 2, dims, s->gran, s->axis, s->block, false, &L) != ECC_OK) {
            fprintf(stderr, "quant_bench: %s\n", ecc_ctx_message(ctx));
            return 3;
        }
        double tq, td;
        time_scheme(s, &L, &b, n, &tq, &td);
        double q = (double)n / tq / 1e6, d = (double)n / td / 1e6;
        slowest = q < slowest ? q : slowest;
        printf("  %-26s quantize %8.1f M weights/s   dequantize %8.1f M weights/s\n", s->name, q,
               d);
    }
    printf("slowest quantize: %.1f M weights/s (goal >= %.0f): %s\n", slowest, GOAL,
           slowest >= GOAL ? "ok" : "BELOW GOAL");
    free(b.w);
    free(b.back);
    free(b.scale);
    free(b.zp);
    free(b.codes);
    free(b.packed);
    ecc_ctx_free(ctx);
    return 0;
}
