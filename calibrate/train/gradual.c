/* gradual.c — gradual magnitude pruning while training (train.h, Zhu &
 * Gupta 2017): the cubic sparsity schedule, when the mask is re-ranked, and
 * the re-ranking itself (whole tensor, or each N:M group). */
#include "train.h"

#include "../kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The ramp ends after this share of the steps; the rest trains at s_f. */
#define RAMP_SHARE 0.75
#define AUTO_RANKINGS 40

static int64_t ramp_end(int64_t total) { return (int64_t)floor(RAMP_SHARE * (double)total); }

double ecc_gradual_sparsity(const ecc_gradual *g, int64_t step, int64_t total) {
    int64_t T = ramp_end(total);
    if (T <= 0 || step >= T) return g->final;
    double left = 1.0 - (double)step / (double)T;
    return g->final + (g->start - g->final) * left * left * left;
}

bool ecc_gradual_due(const ecc_gradual *g, int64_t step, int64_t total) {
    int64_t T = ramp_end(total), every = g->every;
    if (every <= 0) every = T / AUTO_RANKINGS > 1 ? T / AUTO_RANKINGS : 1;
    return step == T || (step < T && step % every == 0);
}

typedef struct ranked {
    float mag;
    int64_t at;
} ranked;

static int by_magnitude(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    if (x->mag != y->mag) return x->mag < y->mag ? -1 : 1;
    return x->at < y->at ? -1 : x->at > y->at;
}

/* The `drop` smallest of the `len` weights at base + i*stride removed. */
static void drop_smallest(ranked *r, float *w, uint8_t *keep, int64_t base, int64_t len,
                          int64_t stride, int64_t drop) {
    for (int64_t i = 0; i < len; i++) {
        int64_t at = base + i * stride;
        r[i] = (ranked){keep[at] ? fabsf(w[at]) : -1.0f, at}; /* removed ones stay removed */
    }
    qsort(r, (size_t)len, sizeof *r, by_magnitude);
    for (int64_t i = 0; i < len; i++) keep[r[i].at] = i >= drop;
    for (int64_t i = 0; i < drop; i++) w[r[i].at] = 0.0f;
}

ecc_status ecc_gradual_apply(ecc_ctx *ctx, const ecc_gradual *g, float *w, uint8_t *keep,
                             int64_t step, int64_t total) {
    double s = ecc_gradual_sparsity(g, step, total);
    int64_t n = ecc_k_prod(g->dims, 0, g->rank);
    if (!g->m) {
        ranked *r = malloc((size_t)(n + 1) * sizeof *r);
        if (!r) return ECC_OOM(ctx);
        drop_smallest(r, w, keep, 0, n, 1, (int64_t)llround(s * (double)n));
        free(r);
        return ECC_OK;
    }
    int64_t outer = ecc_k_prod(g->dims, 0, g->axis), len = g->dims[g->axis];
    int64_t inner = ecc_k_prod(g->dims, g->axis + 1, g->rank);
    int64_t drop = g->final > 0 ? (int64_t)llround((g->m - g->n) * s / g->final) : 0;
    ranked r[64];
    if (g->m > 64) return ecc_ctx_error(ctx, ECC_E_USAGE, "N:M groups of more than 64");
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++)
            for (int64_t j = 0; j + g->m <= len; j += g->m)
                drop_smallest(r, w, keep, (o * len + j) * inner + i, g->m, inner, drop);
    return ECC_OK;
}
