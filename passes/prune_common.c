/* prune_common.c — what the pruning passes share (the weight layers
 * themselves are layers.c's): skip reasons, include/exclude globs and the
 * defaults (tiny layers and heads stay dense unless named), N:M patterns,
 * exact-count selection (quickselect, ties by index), masks, the magnitude
 * criterion and the per-layer table. */
#include "prune_common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------- skip reasons ---------------- */

static const struct {
    const char *key, *text;
} skip_table[] = {
#define PRUNE_X_ROW(e, key, text) [PRUNE_SKIP_##e] = {key, text},
    PRUNE_SKIPS(PRUNE_X_ROW)
#undef PRUNE_X_ROW
};
_Static_assert(sizeof skip_table / sizeof skip_table[0] == PRUNE_SKIP_COUNT,
               "one row per prune_skip");

const char *prune_skip_key(prune_skip s) { return s < PRUNE_SKIP_COUNT ? skip_table[s].key : "?"; }
const char *prune_skip_text(prune_skip s) {
    return s < PRUNE_SKIP_COUNT ? skip_table[s].text : "?";
}

/* ---------------- selection ---------------- */

ecc_status prune_select(ecc_ctx *ctx, wl_layers *ls, const prune_select_opts *o) {
    ecc_status st = ECC_OK;
    ECC_TRY(wl_check_globs(ctx, ls, "include", o->include));
    ECC_TRY(wl_check_globs(ctx, ls, "exclude", o->exclude));
    for (size_t i = 0; i < ls->n; i++) {
        wl_layer *L = &ls->items[i];
        if (L->skip != PRUNE_SKIP_NONE) continue;
        if (o->exclude && wl_glob_any(o->exclude, L->name, L->w->name))
            L->skip = PRUNE_SKIP_EXCLUDED;
        else if (o->include)
            L->skip = wl_glob_any(o->include, L->name, L->w->name) ? PRUNE_SKIP_NONE
                                                                       : PRUNE_SKIP_NOT_INCLUDED;
        else if (L->head && !o->head)
            L->skip = PRUNE_SKIP_HEAD;
        else if (L->numel < o->min_params)
            L->skip = PRUNE_SKIP_SMALL;
    }
fail:
    return st;
}

size_t prune_selected(const wl_layers *ls) {
    size_t n = 0;
    for (size_t i = 0; i < ls->n; i++) n += ls->items[i].skip == PRUNE_SKIP_NONE;
    return n;
}

/* ---------------- patterns ---------------- */

ecc_status prune_parse_pattern(ecc_ctx *ctx, const char *text, prune_pattern *out) {
    memset(out, 0, sizeof *out);
    if (!text || strcmp(text, "unstructured") == 0) return ECC_OK;
    int n = 0, m = 0, used = 0;
    if (sscanf(text, "%d:%d%n", &n, &m, &used) == 2 && text[used] == '\0' && n >= 1 && n < m &&
        m <= PRUNE_NM_MAX) {
        out->n = n;
        out->m = m;
        return ECC_OK;
    }
    return ecc_ctx_error(ctx, ECC_E_USAGE,
                         "option 'pattern' = %s is not allowed: use 'unstructured' or N:M "
                         "with 1 <= N < M <= %d (e.g. 2:4, 1:4, 4:8)",
                         text, PRUNE_NM_MAX);
}

/* ---------------- exact-count selection ---------------- */

int64_t prune_share(int64_t total, int64_t i, int64_t n) {
    if (n <= 0) return 0;
    double t = (double)total;
    return (int64_t)llround(t * (double)(i + 1) / (double)n) -
           (int64_t)llround(t * (double)i / (double)n);
}

static void swapf(float *a, float *b) {
    float t = *a;
    *a = *b;
    *b = t;
}

/* k-th smallest (0-based) of a[0..n), reordering a. Deterministic. */
static float kth_smallest(float *a, int64_t n, int64_t k) {
    int64_t lo = 0, hi = n - 1;
    while (hi > lo) {
        int64_t mid = lo + (hi - lo) / 2;
        if (a[mid] < a[lo]) swapf(&a[mid], &a[lo]);
        if (a[hi] < a[lo]) swapf(&a[hi], &a[lo]);
        if (a[hi] < a[mid]) swapf(&a[hi], &a[mid]);
        float pivot = a[mid];
        int64_t i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot) i++;
            while (a[j] > pivot) j--;
            if (i <= j) swapf(&a[i++], &a[j--]);
        }
        if (k <= j) hi = j;
        else if (k >= i) lo = i;
        else return a[k];
    }
    return a[k];
}

void prune_smallest(const float *score, int64_t n, int64_t t, uint8_t *keep, int64_t stride,
                    float *scratch) {
    if (t <= 0) return;
    if (t >= n) {
        for (int64_t i = 0; i < n; i++) keep[i * stride] = 0;
        return;
    }
    memcpy(scratch, score, (size_t)n * sizeof *scratch);
    float thr = kth_smallest(scratch, n, t - 1);
    int64_t left = t;
    for (int64_t i = 0; i < n; i++)
        if (score[i] < thr) keep[i * stride] = 0, left--;
    for (int64_t i = 0; i < n && left > 0; i++)
        if (score[i] == thr) keep[i * stride] = 0, left--;
}

void prune_nm_row(const float *score, int64_t k, int n, int m, uint8_t *keep) {
    for (int64_t g = 0; g + m <= k; g += m) {
        for (int i = 0; i < m; i++) {
            int rank = 0;
            for (int j = 0; j < m; j++)
                rank += score[g + j] > score[g + i] || (score[g + j] == score[g + i] && j < i);
            if (rank >= n) keep[g + i] = 0;
        }
    }
}

bool prune_nm_holds(const float *canon, int64_t rows, int64_t k, int n, int m) {
    for (int64_t r = 0; r < rows; r++)
        for (int64_t g = 0; g + m <= k; g += m) {
            int nz = 0;
            for (int i = 0; i < m; i++) nz += canon[r * k + g + i] != 0.0f;
            if (nz > n) return false;
        }
    return true;
}

/* ---------------- magnitude ---------------- */

ecc_status prune_magnitude(ecc_ctx *ctx, const wl_layer *L, float *canon, int64_t target,
                           const prune_pattern *pat, const prune_method_opts *o,
                           uint8_t *keep, bool *changed) {
    (void)o;
    int64_t n = L->rows * L->k;
    float *score = malloc(2 * (size_t)(n ? n : 1) * sizeof *score);
    if (!score) return ECC_OOM(ctx);
    for (int64_t i = 0; i < n; i++) score[i] = fabsf(canon[i]);
    if (pat->m)
        for (int64_t r = 0; r < L->rows; r++)
            prune_nm_row(score + r * L->k, L->k, pat->n, pat->m, keep + r * L->k);
    else
        prune_smallest(score, n, target, keep, 1, score + n);
    free(score);
    *changed = false;
    return ECC_OK;
}

/* ---------------- masks ---------------- */

ecc_status prune_attach_mask(ecc_ctx *ctx, wl_layer *L, const uint8_t *keep,
                             const prune_pattern *pat, const char *method) {
    ecc_status st = ECC_OK;
    ecc_tensor *kt = NULL;
    ecc_mask *mask = NULL;
    const ecc_tensor *w = L->w->init;
    ECC_FAIL_IF(!w, ctx, ECC_E_INTERNAL, "mask for '%s', which is not an initializer",
                L->w->name);
    ECC_TRY(ecc_tensor_create(ctx, ECC_DTYPE_BOOL, w->rank, w->dims, &kt));
    uint8_t *k = kt->data;
    for (int64_t r = 0; r < L->rows; r++)
        for (int64_t j = 0; j < L->k; j++) k[wl_index(L, r, j)] = keep[r * L->k + j] != 0;
    const ecc_mask *old = L->w->mask;
    if (old && old->keep && old->keep->numel == kt->numel)
        for (int64_t i = 0; i < kt->numel; i++) k[i] &= ((const uint8_t *)old->keep->data)[i];
    int64_t zeros = 0;
    for (int64_t i = 0; i < kt->numel; i++) zeros += !k[i];
    mask = calloc(1, sizeof *mask);
    ECC_FAIL_IF(!mask, ctx, ECC_E_INTERNAL, "out of memory");
    mask->pattern = pat->m ? ECC_MASK_NM : ECC_MASK_UNSTRUCTURED;
    mask->n = pat->n;
    mask->m = pat->m;
    mask->axis = L->axis;
    mask->keep = kt;
    kt = NULL;
    mask->sparsity = w->numel ? (double)zeros / (double)w->numel : 0.0;
    mask->method = method;
    ecc_value_set_mask(L->w, mask);
    L->zeros = zeros;
fail:
    ecc_tensor_unref(kt);
    return st;
}

/* ---------------- reporting ---------------- */

static void fmt_shape(const ecc_tensor *t, char *buf, size_t cap) {
    size_t used = (size_t)snprintf(buf, cap, "[");
    for (int32_t i = 0; t && i < t->rank && used < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%lld", i ? "," : "",
                                 (long long)t->dims[i]);
    if (used < cap) snprintf(buf + used, cap - used, "]");
}

void prune_report_layers(const ecc_host_api *host, ecc_pass_run *run, const wl_layers *ls,
                         const char *title) {
    ecc_ctx *ctx = run->ctx;
    char key[600], shape[64];
    int64_t zeros = 0, total = 0;
    ecc_log(ctx, 0, "%s", title);
    ecc_log(ctx, 0, "  %-24s %-24s %-14s %9s %9s  %s", "layer", "weight", "shape", "params",
            "sparsity", "note");
    for (size_t i = 0; i < ls->n; i++) {
        const wl_layer *L = &ls->items[i];
        fmt_shape(wl_const(L->w), shape, sizeof shape);
        if (L->skip == PRUNE_SKIP_NONE) {
            double s = L->numel ? (double)L->zeros / (double)L->numel : 0.0;
            snprintf(key, sizeof key, "layer.%s.sparsity", L->name);
            host->stat(run, key, s);
            snprintf(key, sizeof key, "layer.%s.params", L->name);
            host->stat(run, key, (double)L->numel);
            zeros += L->zeros;
            total += L->numel;
            ecc_log(ctx, 0, "  %-24s %-24s %-14s %9lld %8.1f%%", L->name, L->w->name, shape,
                    (long long)L->numel, 100.0 * s);
        } else {
            snprintf(key, sizeof key, "excluded.%s.%s", prune_skip_key(L->skip), L->name);
            host->stat(run, key, (double)L->numel);
            ecc_log(ctx, 0, "  %-24s %-24s %-14s %9lld %9s  %s", L->name, L->w->name, shape,
                    (long long)L->numel, "-", prune_skip_text(L->skip));
        }
    }
    host->stat(run, "layers_pruned", (double)prune_selected(ls));
    host->stat(run, "layers_dense", (double)(ls->n - prune_selected(ls)));
    host->stat(run, "weights_in_pruned_layers", (double)total);
    host->stat(run, "zeros", (double)zeros);
    host->stat(run, "sparsity", total ? (double)zeros / (double)total : 0.0);
}
