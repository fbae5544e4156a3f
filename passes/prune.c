/* prune.c — the `prune` pass: unstructured or N:M pruning of Conv / Gemm /
 * MatMul weights. It annotates: each pruned weight gets an ecc_mask (pattern,
 * keep, achieved sparsity, method) that stays attached until lowering, so a
 * later fine-tuning pass trains through it. Criteria come from a table
 * (magnitude here in prune_common.c, wanda.c, sparsegpt.c; the calibrated
 * ones read --calib); SparseGPT also rewrites the kept weights (OBS
 * reconstruction), by default layer wave by layer wave so each layer is
 * calibrated on the already-pruned layers before it. With bias_correct (the
 * default for the calibrated criteria), the mean shift each pruned layer
 * causes (Σ w·E[x] of its removed weights) is added back into a bias
 * (prune_bias.c). Scope: every layer at
 * `sparsity` (layer), one magnitude ranking over all pruned weights (global),
 * or per-layer sparsities allocated from measured sensitivity (auto). Tiny
 * layers and classifier heads stay dense unless named by include=. Weights in
 * Constant nodes are turned into initializers when pruned. Main graph only. */
#include "prune_common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PASS "prune"

static const prune_method methods[] = {
    {"magnitude", prune_magnitude, false, false, false},
    {"wanda", prune_wanda, true, false, false},
    {"sparsegpt", prune_sparsegpt, true, true, true},
};

const prune_method *prune_method_find(const char *name) {
    for (size_t i = 0; name && i < sizeof methods / sizeof methods[0]; i++)
        if (strcmp(methods[i].name, name) == 0) return &methods[i];
    return NULL;
}

static const char *const scope_names[] = {"layer", "global", "auto"};

/* ---------------- options ---------------- */

static const ecc_opt_desc prune_opts[] = {
    ECC_OPT(ECC_OPT_ENUM, "method",
        "criterion: magnitude |w|, wanda |w|·‖x‖, sparsegpt (OBS reconstruction); "
        "wanda and sparsegpt need --calib", "magnitude", 0, 0, "magnitude|wanda|sparsegpt"),
    ECC_OPT(ECC_OPT_FLOAT, "sparsity", "fraction of weights removed (unstructured)", "0.5", 0, 0.99,
        NULL),
    ECC_OPT(ECC_OPT_STRING, "pattern",
        "unstructured, or N:M: at most N nonzeros in every M consecutive weights along the "
        "reduction axis (2:4 is what sparse tensor cores run)", "unstructured", 0, 0, NULL),
    ECC_OPT(ECC_OPT_ENUM, "scope",
        "layer: every layer at sparsity; global: one magnitude ranking over all pruned "
        "weights; auto: per-layer sparsity from measured sensitivity (needs --calib). "
        "Default: global for magnitude, layer for wanda and sparsegpt (their scores are "
        "per layer)", NULL, 0, 0, "layer|global|auto"),
    ECC_OPT(ECC_OPT_STRING, "include",
        "globs over node or weight names, '|' between globs: prune only these (named layers "
        "are pruned even when tiny or a head)", NULL, 0, 0, NULL),
    ECC_OPT(ECC_OPT_STRING, "exclude", "globs (as include): never prune these", NULL, 0, 0, NULL),
    ECC_OPT(ECC_OPT_INT, "min_params", "layers with fewer weights stay dense unless included",
        "1024", 0, 1e15, NULL),
    ECC_OPT(ECC_OPT_BOOL, "head",
        "also prune classifier heads (layers whose output reaches a graph output without "
        "another weight layer)", "false", 0, 0, NULL),
    ECC_OPT(ECC_OPT_FLOAT, "damp", "sparsegpt: dampening, a fraction of mean diag(H) added to it",
        "0.01", 0, 10, NULL),
    ECC_OPT(ECC_OPT_INT, "block", "sparsegpt: columns per lazy update block", "128", 1, 65536,
        NULL),
    ECC_OPT(ECC_OPT_BOOL, "sequential",
        "sparsegpt: calibrate each layer on the model with the layers before it already "
        "pruned", "true", 0, 0, NULL),
    ECC_OPT(ECC_OPT_ENUM, "schedule",
        "oneshot: masks now; gradual: the masks ramp during a later distill, from start to "
        "the sparsity chosen here along Zhu & Gupta's cubic schedule (reached after 3/4 of the "
        "steps), re-ranked by magnitude every `every` steps", "oneshot", 0, 0, "oneshot|gradual"),
    ECC_OPT(ECC_OPT_FLOAT, "start", "gradual: sparsity at the first fine-tuning step", "0", 0,
        0.99, NULL),
    ECC_OPT(ECC_OPT_INT, "every", "gradual: fine-tuning steps between re-rankings (0: about 40 "
        "re-rankings over the ramp)", "0", 0, 1e12, NULL),
    ECC_OPT(ECC_OPT_BOOL, "bias_correct",
        "add the mean output shift of the removed weights back into a bias (needs --calib). "
        "Default: true for wanda and sparsegpt, which read calibration data anyway (chosen "
        "on held-out data, bench/prune_val.sh); false for magnitude, which stays data-free",
        NULL, 0, 0, NULL),
};

/* Unset, magnitude ranks all pruned weights together: global magnitude
 * pruning beats uniform per-layer sparsity on CNNs (Blalock et al., "What
 * is the State of Neural Network Pruning?", 2020) and on our testdata
 * models at 50–80 %. Wanda and SparseGPT scores are per layer. */
static prune_scope scope_of(const char *s, const prune_method *method) {
    for (size_t i = 0; s && i < sizeof scope_names / sizeof scope_names[0]; i++)
        if (strcmp(scope_names[i], s) == 0) return (prune_scope)i;
    return method->fn == prune_magnitude ? PRUNE_SCOPE_GLOBAL : PRUNE_SCOPE_LAYER;
}

ecc_status prune_config_read(const ecc_host_api *host, ecc_pass_run *run, prune_config *c) {
    ecc_status st = ECC_OK;
    ecc_ctx *ctx = run->ctx;
    memset(c, 0, sizeof *c);
    const char *method = host->opt_string(run, "method");
    c->method = prune_method_find(method ? method : "magnitude");
    ECC_FAIL_IF(!c->method, ctx, ECC_E_USAGE,
                "unknown method '%s' (allowed: magnitude, wanda, sparsegpt)", method);
    c->sparsity = host->opt_float(run, "sparsity");
    ECC_TRY(prune_parse_pattern(ctx, host->opt_string(run, "pattern"), &c->pat));
    c->scope = c->pat.m && !ecc_pass_run_opt_given(run, "scope")
                   ? PRUNE_SCOPE_LAYER /* N:M fixes every layer's sparsity */
                   : scope_of(host->opt_string(run, "scope"), c->method);
    c->sel = (prune_select_opts){host->opt_string(run, "include"),
                                 host->opt_string(run, "exclude"),
                                 host->opt_int(run, "min_params"), host->opt_bool(run, "head")};
    c->mo = (prune_method_opts){host->opt_float(run, "damp"), host->opt_int(run, "block")};
    c->sequential = host->opt_bool(run, "sequential");
    const char *schedule = host->opt_string(run, "schedule");
    c->gradual = schedule && strcmp(schedule, "gradual") == 0;
    c->start = host->opt_float(run, "start");
    c->every = host->opt_int(run, "every");
    ECC_FAIL_IF(c->gradual && c->method->fn != prune_magnitude, ctx, ECC_E_USAGE,
                "schedule=gradual re-ranks by magnitude while fine-tuning; it does not combine "
                "with method=%s",
                c->method->name);
    ECC_FAIL_IF(!c->gradual && (ecc_pass_run_opt_given(run, "start") ||
                                ecc_pass_run_opt_given(run, "every")),
                ctx, ECC_E_USAGE, "start= and every= are options of schedule=gradual");
    c->bias_correct = ecc_pass_run_opt_given(run, "bias_correct")
                          ? host->opt_bool(run, "bias_correct") : c->method->calib;
    if (c->pat.m) {
        ECC_FAIL_IF(ecc_pass_run_opt_given(run, "sparsity"), ctx, ECC_E_USAGE,
                    "sparsity does not combine with pattern=%d:%d, which fixes it at "
                         "%g; give one or the other",
                    c->pat.n, c->pat.m, 1.0 - (double)c->pat.n / c->pat.m);
        ECC_FAIL_IF(c->scope != PRUNE_SCOPE_LAYER, ctx, ECC_E_USAGE,
                    "scope=%s does not combine with pattern=%d:%d (every layer follows "
                         "the pattern); allowed with N:M: scope=layer",
                    scope_names[c->scope], c->pat.n, c->pat.m);
    }
fail:
    return st;
}

static bool needs_stats(const prune_config *c) { return c->method->calib || c->bias_correct; }

static bool needs_data(const prune_config *c) {
    return needs_stats(c) || c->scope == PRUNE_SCOPE_AUTO;
}

static ecc_status check_calib(ecc_pass_run *run, const prune_config *c) {
    if (!needs_data(c) || calib_env_path(run)) return ECC_OK;
    if (c->method->calib)
        return ecc_ctx_error(run->ctx, ECC_E_USAGE,
                             "method=%s needs calibration data: give it with --calib "
                                  "PATH (or use method=magnitude)",
                             c->method->name);
    if (c->bias_correct)
        return ecc_ctx_error(run->ctx, ECC_E_USAGE,
                             "bias_correct=true measures input means on calibration data: "
                             "give it with --calib PATH (or bias_correct=false)");
    return ecc_ctx_error(run->ctx, ECC_E_USAGE,
                         "scope=auto measures sensitivity on calibration data: give it "
                              "with --calib PATH (or use scope=layer|global)");
}

/* ---------------- layers ---------------- */

ecc_status prune_layers_prepare(ecc_ctx *ctx, ecc_model *m, const prune_config *c,
                                wl_layers *ls) {
    ecc_status st = ECC_OK;
    ECC_TRY(wl_find(ctx, m->graph, ls));
    ECC_TRY(prune_select(ctx, ls, &c->sel));
    for (size_t i = 0; i < ls->n; i++) {
        wl_layer *L = &ls->items[i];
        if (L->skip != PRUNE_SKIP_NONE) continue;
        if (c->pat.m && L->k % c->pat.m) L->skip = PRUNE_SKIP_SHAPE;
        else if (L->w->quant) L->skip = PRUNE_SKIP_UNSUPPORTED;
        for (size_t j = 0; j < i && L->skip == PRUNE_SKIP_NONE; j++)
            if (ls->items[j].skip == PRUNE_SKIP_NONE && ls->items[j].w == L->w)
                L->skip = PRUNE_SKIP_SHARED;
        if (L->skip == PRUNE_SKIP_NONE) ECC_TRY(wl_check_finite(ctx, L->w, "weight", L->name));
    }
fail:
    return st;
}

/* Weights become initializers, exclusively owned when they will be written. */
static ecc_status prepare_weights(ecc_ctx *ctx, wl_layers *ls, bool writable) {
    ecc_status st = ECC_OK;
    for (size_t i = 0; i < ls->n; i++) {
        wl_layer *L = &ls->items[i];
        if (L->skip != PRUNE_SKIP_NONE) continue;
        ECC_TRY(wl_materialize(ctx, L->w));
        if (writable) ECC_TRY(ecc_tensor_make_unique(ctx, &L->w->init));
    }
fail:
    return st;
}

/* ---------------- targets ---------------- */

static void targets_layer(wl_layers *ls, double sparsity) {
    for (size_t i = 0; i < ls->n; i++)
        ls->items[i].target = llround(sparsity * (double)ls->items[i].numel);
}

/* One magnitude ranking over every selected weight: exactly
 * llround(sparsity × total) weights, counted per layer. */
static ecc_status targets_global(ecc_ctx *ctx, wl_layers *ls, double sparsity) {
    ecc_status st = ECC_OK;
    int64_t total = 0, at = 0;
    float *score = NULL, *canon = NULL;
    uint8_t *keep = NULL;
    for (size_t i = 0; i < ls->n; i++)
        if (ls->items[i].skip == PRUNE_SKIP_NONE) total += ls->items[i].numel;
    score = malloc(2 * (size_t)total * sizeof *score + 1);
    keep = malloc((size_t)total + 1);
    ECC_FAIL_IF(!score || !keep, ctx, ECC_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < ls->n; i++) {
        const wl_layer *L = &ls->items[i];
        if (L->skip != PRUNE_SKIP_NONE) continue;
        ECC_TRY(wl_canon_get(ctx, L, &canon));
        for (int64_t j = 0; j < L->numel; j++) score[at + j] = fabsf(canon[j]);
        free(canon);
        canon = NULL;
        at += L->numel;
    }
    memset(keep, 1, (size_t)total);
    prune_smallest(score, total, llround(sparsity * (double)total), keep, 1, score + total);
    at = 0;
    for (size_t i = 0; i < ls->n; i++) {
        wl_layer *L = &ls->items[i];
        if (L->skip != PRUNE_SKIP_NONE) continue;
        L->target = 0;
        for (int64_t j = 0; j < L->numel; j++) L->target += !keep[at + j];
        at += L->numel;
    }
fail:
    free(score);
    free(keep);
    free(canon);
    return st;
}

static const double auto_levels[] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95};
enum { N_AUTO_LEVELS = sizeof auto_levels / sizeof auto_levels[0] };

/* scope=auto: sensitivity of every layer alone, then the allocation. */
static ecc_status targets_auto(ecc_ctx *ctx, ecc_model *m, const calib_data *d,
                               wl_layers *ls, const prune_config *c) {
    ecc_status st = ECC_OK;
    prune_sens_cell *cells = calloc(ls->n * N_AUTO_LEVELS + 1, sizeof *cells);
    double dense_acc = 0;
    ECC_FAIL_IF(!cells, ctx, ECC_E_INTERNAL, "out of memory");
    if (needs_stats(c)) ECC_TRY(calib_collect_stats(ctx, m, d, ls, NULL, c->method->full_h));
    ECC_TRY(prune_sensitivity_measure(ctx, m, d, ls, c, auto_levels, N_AUTO_LEVELS, NULL, cells,
                                      &dense_acc));
    ECC_TRY(prune_allocate(ctx, ls, auto_levels, N_AUTO_LEVELS, cells, c->sparsity));
fail:
    free(cells);
    return st;
}

/* ---------------- applying a criterion ---------------- */

static ecc_status prune_one(ecc_ctx *ctx, wl_layer *L, const prune_config *c) {
    ecc_status st = ECC_OK;
    float *canon = NULL, *before = NULL;
    uint8_t *keep = malloc((size_t)L->numel + 1);
    bool changed = false;
    ECC_FAIL_IF(!keep, ctx, ECC_E_INTERNAL, "out of memory");
    memset(keep, 1, (size_t)L->numel);
    ECC_TRY(wl_canon_get(ctx, L, &canon));
    if (c->bias_correct) ECC_TRY(wl_canon_get(ctx, L, &before));
    ECC_TRY(c->method->fn(ctx, L, canon, L->target, &c->pat, &c->mo, keep, &changed));
    if (changed) {
        ECC_TRY(ecc_tensor_make_unique(ctx, &L->w->init));
        wl_canon_put(L, canon, L->w->init->data);
    }
    ECC_TRY(prune_attach_mask(ctx, L, keep, &c->pat, c->method->name));
    if (c->gradual) {
        L->w->mask->gradual = true;
        L->w->mask->start = c->start;
        L->w->mask->every = c->every;
    }
    if (c->bias_correct) {
        const char *how = NULL;
        ECC_TRY(prune_bias_correct(ctx, L, before, canon, keep, &how));
        ecc_log(ctx, 1, "  prune: '%s': mean shift added back (%s)", L->name, how);
    }
    ecc_log(ctx, 1, "  prune: %s '%s': %lld of %lld weights removed (%s)", L->node->op_type,
            L->name, (long long)L->zeros, (long long)L->numel, c->method->name);
fail:
    wl_stats_free(&L->stats);
    free(canon);
    free(before);
    free(keep);
    return st;
}

/* Wave of each selected layer: 1 + the largest wave of a selected layer
 * upstream of its input (0 when none). Nodes are in topological order. */
static ecc_status layer_waves(ecc_ctx *ctx, ecc_graph *g, wl_layers *ls, int *wave,
                              int *max_wave) {
    ecc_ptrvec stack = {0};
    *max_wave = 0;
    for (size_t j = 0; j < ls->n; j++) {
        wave[j] = 0;
        wl_layer *L = &ls->items[j];
        if (L->skip != PRUNE_SKIP_NONE) continue;
        for (size_t i = 0; i < g->nodes.n; i++) ((ecc_node *)g->nodes.items[i])->scratch = 0;
        stack.n = 0;
        ecc_node *p = L->node->inputs[L->x_slot] ? L->node->inputs[L->x_slot]->producer : NULL;
        if (p && !ecc_ptrvec_push(&stack, p)) goto oom;
        while (stack.n) {
            ecc_node *n = stack.items[--stack.n];
            if (n->scratch) continue;
            n->scratch = 1;
            bool layer = false;
            for (size_t i = 0; i < j; i++)
                if (ls->items[i].node == n && ls->items[i].skip == PRUNE_SKIP_NONE) {
                    if (wave[i] + 1 > wave[j]) wave[j] = wave[i] + 1;
                    layer = true;
                }
            for (uint32_t k = 0; !layer && k < n->n_inputs; k++)
                if (n->inputs[k] && n->inputs[k]->producer &&
                    !ecc_ptrvec_push(&stack, n->inputs[k]->producer))
                    goto oom;
        }
        if (wave[j] > *max_wave) *max_wave = wave[j];
    }
    ecc_ptrvec_free(&stack);
    return ECC_OK;
oom:
    ecc_ptrvec_free(&stack);
    return ECC_OOM(ctx);
}

static ecc_status prune_waves(ecc_ctx *ctx, ecc_model *m, const calib_data *d,
                              wl_layers *ls, const prune_config *c) {
    ecc_status st = ECC_OK;
    int *wave = calloc(ls->n + 1, sizeof *wave), max_wave = 0;
    bool *want = calloc(ls->n + 1, sizeof *want);
    ECC_FAIL_IF(!wave || !want, ctx, ECC_E_INTERNAL, "out of memory");
    ECC_TRY(layer_waves(ctx, m->graph, ls, wave, &max_wave));
    for (int w = 0; w <= max_wave; w++) {
        for (size_t i = 0; i < ls->n; i++) want[i] = wave[i] == w;
        ECC_TRY(calib_collect_stats(ctx, m, d, ls, want, c->method->full_h));
        for (size_t i = 0; i < ls->n; i++)
            if (want[i] && ls->items[i].skip == PRUNE_SKIP_NONE)
                ECC_TRY(prune_one(ctx, &ls->items[i], c));
    }
fail:
    free(wave);
    free(want);
    return st;
}

/* stats_ready: scope=auto collected the (dense) statistics already. */
static ecc_status prune_all(ecc_ctx *ctx, ecc_model *m, const calib_data *d, wl_layers *ls,
                            const prune_config *c, bool stats_ready) {
    ecc_status st = ECC_OK;
    if (c->method->calib && c->method->sequential && c->sequential)
        return prune_waves(ctx, m, d, ls, c);
    if (needs_stats(c) && !stats_ready)
        ECC_TRY(calib_collect_stats(ctx, m, d, ls, NULL, c->method->full_h));
    for (size_t i = 0; i < ls->n; i++)
        if (ls->items[i].skip == PRUNE_SKIP_NONE) ECC_TRY(prune_one(ctx, &ls->items[i], c));
fail:
    return st;
}

/* ---------------- the pass ---------------- */

static void report(const ecc_host_api *host, ecc_pass_run *run, const wl_layers *ls,
                   const prune_config *c) {
    char title[256], pat[64];
    if (c->pat.m) snprintf(pat, sizeof pat, "%d:%d", c->pat.n, c->pat.m);
    else snprintf(pat, sizeof pat, "unstructured %g%%, %s scope", 100.0 * c->sparsity,
                  scope_names[c->scope]);
    snprintf(title, sizeof title, PASS ": %s%s, %s: %zu of %zu weight layers pruned",
             c->method->name, c->bias_correct ? " + bias correction" : "", pat,
             prune_selected(ls), ls->n);
    prune_report_layers(host, run, ls, title);
}

/* Before any pass runs (ABI 1.1 check): options and their needs. */
static int prune_check(const ecc_host_api *host, ecc_pass_run *run) {
    prune_config c;
    ecc_status st = prune_config_read(host, run, &c);
    if (st == ECC_OK) st = check_calib(run, &c);
    return (int)st;
}

static int prune_run(const ecc_host_api *host, ecc_pass_run *run) {
    ecc_status st = ECC_OK;
    ecc_ctx *ctx = run->ctx;
    prune_config c;
    wl_layers ls = {0};
    calib_data *d = NULL;
    /* refused before any work (and, through prune_check, before any pass runs) */
    ECC_TRY(prune_config_read(host, run, &c));
    ECC_TRY(check_calib(run, &c));
    ECC_TRY(prune_layers_prepare(ctx, run->model, &c, &ls));
    if (prune_selected(&ls)) {
        ECC_TRY(prepare_weights(ctx, &ls, c.method->full_h || c.scope == PRUNE_SCOPE_AUTO));
        if (needs_data(&c))
            ECC_TRY(calib_data_load(ctx, run->model, calib_env_path(run), calib_env_size(run),
                                    &d));
        if (c.scope == PRUNE_SCOPE_GLOBAL) ECC_TRY(targets_global(ctx, &ls, c.sparsity));
        else if (c.scope == PRUNE_SCOPE_AUTO) ECC_TRY(targets_auto(ctx, run->model, d, &ls, &c));
        else targets_layer(&ls, c.sparsity);
        ECC_TRY(prune_all(ctx, run->model, d, &ls, &c, c.scope == PRUNE_SCOPE_AUTO));
    } else {
        ecc_log(ctx, 0, PASS ": no layer selected; nothing pruned");
    }
    report(host, run, &ls, &c);
fail:
    calib_data_free(d);
    wl_layers_free(&ls);
    return (int)st;
}

const ecc_pass_desc ecc_pass_prune = {
    .struct_size = sizeof(ecc_pass_desc),
    .name = "prune",
    .summary = "unstructured or N:M weight pruning (magnitude, wanda, sparsegpt): masks "
               "applied at lowering",
    .options = prune_opts,
    .n_options = sizeof prune_opts / sizeof prune_opts[0],
    .run = prune_run,
    .check = prune_check,
};
