/* tied.c — weight sharing while training (train.h): every kept weight of a
 * clustered tensor equals one of its codebook's centroids; its members all
 * receive the sum of their gradients, so they stay equal and the codebook
 * trains as Deep Compression trains its centroids (Han et al. 2016). */
#include "train.h"

#include <stdlib.h>
#include <string.h>

/* Index of v among the sorted centroids c[0..k), or -1. */
static int32_t centroid_of(const float *c, int64_t k, float v) {
    int64_t lo = 0, hi = k - 1;
    while (lo <= hi) {
        int64_t mid = (lo + hi) / 2;
        if (c[mid] == v) return (int32_t)mid;
        if (c[mid] < v) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

ecc_status ecc_tied_open(ecc_ctx *ctx, const float *w, const uint8_t *keep, int64_t n,
                         const float *codebook, int64_t k, ecc_tied *t) {
    memset(t, 0, sizeof *t);
    t->group = malloc((size_t)(n + 1) * sizeof *t->group);
    t->sum = calloc((size_t)(k + 1), sizeof *t->sum);
    t->first = malloc((size_t)(k + 1) * sizeof *t->first);
    if (!t->group || !t->sum || !t->first) {
        ecc_tied_close(t);
        return ECC_OOM(ctx);
    }
    t->n = n;
    t->k = k;
    for (int64_t j = 0; j < k; j++) t->first[j] = -1;
    for (int64_t i = 0; i < n; i++) {
        bool kept = !keep || keep[i];
        t->group[i] = kept ? centroid_of(codebook, k, w[i]) : -1;
        if (t->group[i] >= 0 && t->first[t->group[i]] < 0) t->first[t->group[i]] = i;
    }
    return ECC_OK;
}

void ecc_tied_grad(const ecc_tied *t, float *g) {
    memset(t->sum, 0, (size_t)t->k * sizeof *t->sum);
    for (int64_t i = 0; i < t->n; i++)
        if (t->group[i] >= 0) t->sum[t->group[i]] += g[i];
    for (int64_t i = 0; i < t->n; i++)
        if (t->group[i] >= 0) g[i] = (float)t->sum[t->group[i]];
}

void ecc_tied_centroids(const ecc_tied *t, const float *w, const float *old, float *out) {
    for (int64_t j = 0; j < t->k; j++) out[j] = t->first[j] >= 0 ? w[t->first[j]] : old[j];
}

void ecc_tied_close(ecc_tied *t) {
    free(t->group);
    free(t->sum);
    free(t->first);
    memset(t, 0, sizeof *t);
}
