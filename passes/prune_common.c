/* prune_common.c — what the pruning passes share: finding weight layers
 * (Conv, Gemm, MatMul with a constant float32 weight, in an initializer or a
 * Constant node) and their canonical [rows, k] view, the classifier-head
 * test, include/exclude globs and the defaults (tiny layers and heads stay
 * dense unless named), N:M patterns, exact-count selection (quickselect, ties
 * by index), masks, the magnitude criterion and the per-layer table. */
#include "prune_common.h"

#include <fnmatch.h>
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

/* ---------------- constants ---------------- */

bool prune_is_onnx(const ecc_node *n, const char *op) {
    return strcmp(n->op_type, op) == 0 &&
           (!n->domain || !n->domain[0] || strcmp(n->domain, "ai.onnx") == 0);
}

static const ecc_attr *constant_value_attr(const ecc_value *v) {
    const ecc_node *p = v ? v->producer : NULL;
    if (!p || !prune_is_onnx(p, "Constant") || p->n_outputs != 1) return NULL;
    const ecc_attr *a = ecc_node_attr(p, "value");
    return a && a->type == ECC_ATTR_TENSOR && a->t ? a : NULL;
}

ecc_tensor *prune_const(const ecc_value *v) {
    if (!v) return NULL;
    if (v->init) return v->init;
    const ecc_attr *a = constant_value_attr(v);
    return a ? a->t : NULL;
}

ecc_status prune_materialize(ecc_ctx *ctx, ecc_value *v) {
    ecc_status st = ECC_OK;
    if (v->init) return ECC_OK;
    const ecc_attr *a = constant_value_attr(v);
    ECC_FAIL_IF(!a, ctx, ECC_E_INTERNAL, "'%s' is neither an initializer nor a Constant",
                v->name);
    ECC_FAIL_IF(v->flags & ECC_VALUE_OUTPUT, ctx, ECC_E_INPUT,
                "Constant '%s' is a graph output: its weight cannot be annotated", v->name);
    ecc_tensor *t = ecc_tensor_ref(a->t);
    ecc_graph_remove_node(v->graph, v->producer);
    st = ecc_graph_set_initializer(ctx, v->graph, v, t);
    if (st == ECC_OK) st = ecc_value_set_shape(ctx, v, t->dtype, t->rank, t->dims);
    ecc_tensor_unref(t);
fail:
    return st;
}

/* ---------------- finding layers ---------------- */

static ecc_tensor *f32_weight(const ecc_node *n, uint32_t slot, int32_t min_rank,
                              int32_t max_rank) {
    ecc_tensor *t = slot < n->n_inputs ? prune_const(n->inputs[slot]) : NULL;
    if (!t || t->dtype != ECC_DTYPE_FLOAT || t->rank < min_rank || t->rank > max_rank)
        return NULL;
    return t;
}

/* Fills L for the weight at slot with the matrix view [rows, k]; rows along
 * weight axis `row_axis` (0 or 1) of a 2-D weight. */
static void view_2d(prune_layer *L, const ecc_tensor *t, uint32_t slot, int row_axis) {
    L->w = L->node->inputs[slot];
    L->w_slot = slot;
    L->rows = t->dims[row_axis];
    L->k = t->dims[1 - row_axis];
    L->row_stride = row_axis == 0 ? t->dims[1] : 1;
    L->col_stride = row_axis == 0 ? 1 : t->dims[1];
    L->axis = 1 - row_axis;
    L->groups = 1;
}

typedef const char *(*layer_view_fn)(prune_layer *L); /* NULL ok, else why not */

static const char *view_conv(prune_layer *L) {
    const ecc_tensor *t = f32_weight(L->node, 1, 3, 4);
    if (!t) return "weight is not a constant float32 tensor of rank 3 or 4";
    int64_t group = ecc_node_attr_int(L->node, "group", 1);
    if (group < 1 || t->dims[0] % group) return "group does not divide the output channels";
    L->w = L->node->inputs[1];
    L->w_slot = 1;
    L->x_slot = 0;
    L->rows = t->dims[0];
    L->k = t->numel / (t->dims[0] ? t->dims[0] : 1);
    L->row_stride = L->k;
    L->col_stride = 1;
    L->axis = 1;
    L->groups = group;
    return NULL;
}

static const char *view_gemm(prune_layer *L) {
    const ecc_node *n = L->node;
    bool ta = ecc_node_attr_int(n, "transA", 0) != 0, tb = ecc_node_attr_int(n, "transB", 0) != 0;
    const ecc_tensor *b = f32_weight(n, 1, 2, 2), *a = f32_weight(n, 0, 2, 2);
    if (b) { /* Y = op(A) · op(B): op(B) is [K, N], rows are N */
        view_2d(L, b, 1, tb ? 0 : 1);
        L->x_slot = 0;
        L->x_trans = ta;
        return NULL;
    }
    if (a) { /* op(A) is [M, K], rows are M; the activation op(B) is [K, tokens] */
        view_2d(L, a, 0, ta ? 1 : 0);
        L->x_slot = 1;
        L->x_trans = !tb;
        return NULL;
    }
    return "neither A nor B is a constant float32 matrix";
}

static const char *view_matmul(prune_layer *L) {
    const ecc_tensor *b = f32_weight(L->node, 1, 2, 2), *a = f32_weight(L->node, 0, 2, 2);
    if (b) { /* X[..., K] · W[K, N] */
        view_2d(L, b, 1, 1);
        L->x_slot = 0;
        return NULL;
    }
    if (a) { /* W[M, K] · X[..., K, N] */
        view_2d(L, a, 0, 0);
        L->x_slot = 1;
        L->x_trans = true;
        return NULL;
    }
    return "no constant float32 2-D operand";
}

static const struct {
    const char *op;
    layer_view_fn view;
} layer_ops[] = {
    {"Conv", view_conv},
    {"Gemm", view_gemm},
    {"MatMul", view_matmul},
};

static layer_view_fn layer_view_of(const ecc_node *n) {
    for (size_t i = 0; i < sizeof layer_ops / sizeof layer_ops[0]; i++)
        if (prune_is_onnx(n, layer_ops[i].op)) return layer_ops[i].view;
    return NULL;
}

static bool is_weight_layer(const ecc_node *n) {
    layer_view_fn fn = layer_view_of(n);
    prune_layer tmp = {.node = (ecc_node *)n};
    return fn && fn(&tmp) == NULL;
}

/* Does a graph output depend on n without passing another weight layer? */
static bool reaches_output(ecc_ctx *ctx, const ecc_graph *g, const ecc_node *start) {
    ecc_ptrvec stack = {0};
    bool found = false;
    for (size_t i = 0; i < g->nodes.n; i++) ((ecc_node *)g->nodes.items[i])->scratch = 0;
    if (!ecc_ptrvec_push(&stack, (void *)start)) goto oom;
    while (stack.n && !found) {
        const ecc_node *n = stack.items[--stack.n];
        for (uint32_t o = 0; o < n->n_outputs && !found; o++) {
            const ecc_value *v = n->outputs[o];
            if (!v) continue;
            if (v->flags & ECC_VALUE_OUTPUT) found = true;
            for (uint32_t u = 0; u < v->n_uses && !found; u++) {
                ecc_node *next = v->uses[u].node;
                if (next->scratch || is_weight_layer(next)) continue;
                next->scratch = 1;
                if (!ecc_ptrvec_push(&stack, next)) goto oom;
            }
        }
    }
    ecc_ptrvec_free(&stack);
    return found;
oom:
    ecc_ptrvec_free(&stack);
    (void)ECC_OOM(ctx);
    return false;
}

static ecc_status add_layer(ecc_ctx *ctx, prune_layers *ls, size_t *cap, const prune_layer *L) {
    if (ls->n == *cap) {
        size_t c = *cap ? 2 * *cap : 16;
        prune_layer *p = realloc(ls->items, c * sizeof *p);
        if (!p) return ECC_OOM(ctx);
        ls->items = p;
        *cap = c;
    }
    ls->items[ls->n++] = *L;
    return ECC_OK;
}

ecc_status prune_find_layers(ecc_ctx *ctx, ecc_graph *g, prune_layers *out) {
    ecc_status st = ECC_OK;
    size_t cap = 0;
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < g->nodes.n; i++) {
        ecc_node *n = g->nodes.items[i];
        layer_view_fn view = layer_view_of(n);
        if (!view) continue;
        prune_layer L = {.node = n, .groups = 1};
        const char *why = view(&L);
        L.name = n->name && n->name[0] ? n->name : (L.w ? L.w->name : n->op_type);
        if (why) {
            ecc_log(ctx, 1, "  prune: %s '%s' left alone: %s", n->op_type, L.name, why);
            continue; /* not a weight layer at all */
        }
        L.numel = prune_const(L.w)->numel;
        L.head = reaches_output(ctx, g, n);
        ECC_TRY(add_layer(ctx, out, &cap, &L));
    }
fail:
    return st;
}

void prune_layers_free(prune_layers *ls) {
    if (!ls) return;
    for (size_t i = 0; i < ls->n; i++) prune_stats_free(&ls->items[i].stats);
    free(ls->items);
    memset(ls, 0, sizeof *ls);
}

ecc_status prune_canon_get(ecc_ctx *ctx, const prune_layer *L, float **out) {
    const float *w = prune_const(L->w)->data;
    size_t n = 0;
    if (!ecc_mul_size((size_t)L->rows, (size_t)L->k, &n)) return ECC_OOM(ctx);
    float *c = malloc((n ? n : 1) * sizeof *c);
    if (!c) return ECC_OOM(ctx);
    const ecc_mask *m = L->w->mask;
    const uint8_t *mk = m && m->keep && m->keep->numel == L->numel ? m->keep->data : NULL;
    for (int64_t r = 0; r < L->rows; r++)
        for (int64_t j = 0; j < L->k; j++) {
            int64_t at = prune_index(L, r, j);
            c[r * L->k + j] = mk && !mk[at] ? 0.0f : w[at]; /* masked earlier: already gone */
        }
    *out = c;
    return ECC_OK;
}

void prune_canon_put(const prune_layer *L, const float *canon, float *weight) {
    for (int64_t r = 0; r < L->rows; r++)
        for (int64_t j = 0; j < L->k; j++) weight[prune_index(L, r, j)] = canon[r * L->k + j];
}

/* ---------------- selection ---------------- */

/* Calls fn on each '|'-separated glob of list; stops when fn returns true. */
static bool each_glob(const char *list, bool (*fn)(const char *glob, void *arg), void *arg) {
    char glob[512];
    for (const char *p = list; p && *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len && len < sizeof glob) {
            memcpy(glob, p, len);
            glob[len] = '\0';
            if (fn(glob, arg)) return true;
        }
        p = bar ? bar + 1 : NULL;
    }
    return false;
}

typedef struct glob_names {
    const char *a, *b;
} glob_names;

static bool glob_matches(const char *glob, void *arg) {
    const glob_names *nm = arg;
    return (nm->a && fnmatch(glob, nm->a, 0) == 0) || (nm->b && fnmatch(glob, nm->b, 0) == 0);
}

bool prune_glob_any(const char *list, const char *a, const char *b) {
    glob_names nm = {a, b};
    return each_glob(list, glob_matches, &nm);
}

typedef struct glob_check {
    const prune_layers *ls;
    const char *unmatched;
    char buf[512];
} glob_check;

static bool glob_unmatched(const char *glob, void *arg) {
    glob_check *gc = arg;
    for (size_t i = 0; i < gc->ls->n; i++) {
        glob_names nm = {gc->ls->items[i].name, gc->ls->items[i].w->name};
        if (glob_matches(glob, &nm)) return false;
    }
    snprintf(gc->buf, sizeof gc->buf, "%s", glob);
    gc->unmatched = gc->buf;
    return true;
}

static void list_layers(const prune_layers *ls, char *buf, size_t cap) {
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < ls->n && used + 1 < cap; i++) {
        int w = snprintf(buf + used, cap - used, "%s%s (%s)", i ? ", " : "", ls->items[i].name,
                         ls->items[i].w->name);
        used += w > 0 ? (size_t)w : 0;
    }
    if (!ls->n) snprintf(buf, cap, "none: the model has no Conv/Gemm/MatMul with a constant "
                                   "float32 weight");
}

static ecc_status check_globs(ecc_ctx *ctx, const prune_layers *ls, const char *opt,
                              const char *list) {
    glob_check gc = {.ls = ls};
    if (!list || !each_glob(list, glob_unmatched, &gc)) return ECC_OK;
    char names[700];
    list_layers(ls, names, sizeof names);
    return ecc_ctx_error(ctx, ECC_E_USAGE,
                         "%s='%s' matches no layer (globs over node or weight names, '|' "
                         "between globs); the layers are: %s",
                         opt, gc.unmatched, names);
}

ecc_status prune_select(ecc_ctx *ctx, prune_layers *ls, const prune_select_opts *o) {
    ecc_status st = ECC_OK;
    ECC_TRY(check_globs(ctx, ls, "include", o->include));
    ECC_TRY(check_globs(ctx, ls, "exclude", o->exclude));
    for (size_t i = 0; i < ls->n; i++) {
        prune_layer *L = &ls->items[i];
        if (L->skip != PRUNE_SKIP_NONE) continue;
        if (o->exclude && prune_glob_any(o->exclude, L->name, L->w->name))
            L->skip = PRUNE_SKIP_EXCLUDED;
        else if (o->include)
            L->skip = prune_glob_any(o->include, L->name, L->w->name) ? PRUNE_SKIP_NONE
                                                                       : PRUNE_SKIP_NOT_INCLUDED;
        else if (L->head && !o->head)
            L->skip = PRUNE_SKIP_HEAD;
        else if (L->numel < o->min_params)
            L->skip = PRUNE_SKIP_SMALL;
    }
fail:
    return st;
}

size_t prune_selected(const prune_layers *ls) {
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

ecc_status prune_magnitude(ecc_ctx *ctx, const prune_layer *L, float *canon, int64_t target,
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

ecc_status prune_attach_mask(ecc_ctx *ctx, prune_layer *L, const uint8_t *keep,
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
        for (int64_t j = 0; j < L->k; j++) k[prune_index(L, r, j)] = keep[r * L->k + j] != 0;
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

void prune_report_layers(const ecc_host_api *host, ecc_pass_run *run, const prune_layers *ls,
                         const char *title) {
    ecc_ctx *ctx = run->ctx;
    char key[600], shape[64];
    int64_t zeros = 0, total = 0;
    ecc_log(ctx, 0, "%s", title);
    ecc_log(ctx, 0, "  %-24s %-24s %-14s %9s %9s  %s", "layer", "weight", "shape", "params",
            "sparsity", "note");
    for (size_t i = 0; i < ls->n; i++) {
        const prune_layer *L = &ls->items[i];
        fmt_shape(prune_const(L->w), shape, sizeof shape);
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
