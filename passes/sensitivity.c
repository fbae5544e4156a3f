/* sensitivity.c — how much each layer minds being pruned: every selected
 * layer is pruned alone (the `prune` pass's method, pattern and selection) at
 * each level, the model runs on the data, and the first output is compared
 * with the dense model's (relative squared error, top-1 agreement, accuracy
 * with labels); the weights are restored after each measurement. Used by
 * `prune:scope=auto` (allocation under the global target: lower convex hull
 * of each error curve, segments taken greedily by error per weight) and by
 * `ecc sensitivity` through the public API below (table or JSON). */
#include "prune_common.h"
#include "atomic.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------- measuring ---------------- */

typedef struct sens_run {
    const int64_t *labels;
    float *ref;              /* dense outputs, samples × per */
    int64_t per;             /* elements of the first output per sample */
    int64_t rows_per;        /* argmax rows per sample (last axis = classes) */
    int64_t classes;
    double se, ref_sq;
    int64_t agree, rows, correct, labelled;
} sens_run;

/* The first output of a batch of n, with its floats per sample. */
static ecc_status batch_output(ecc_ctx *ctx, const ecc_interp *it, int64_t n,
                               const ecc_rt_tensor **y, int64_t *per) {
    *y = ecc_interp_result(it, 0);
    if (!*y || (*y)->dtype != ECC_DTYPE_FLOAT || (*y)->rank < 1 || (*y)->dims[0] < n)
        return ecc_ctx_error(ctx, ECC_E_INPUT, "sensitivity: the first model output is not a "
                             "float32 tensor with the batch as its first axis");
    *per = (int64_t)((*y)->nbytes / sizeof(float)) / (*y)->dims[0];
    return ECC_OK;
}

static ecc_status sens_batch(ecc_ctx *ctx, void *user, const ecc_interp *it, int64_t first,
                             int64_t n) {
    sens_run *s = user;
    const ecc_rt_tensor *y = NULL;
    int64_t per = 0;
    ecc_status st = batch_output(ctx, it, n, &y, &per);
    if (st) return st;
    if (s->per == 0) {
        s->per = per;
        s->classes = y->rank >= 2 ? y->dims[y->rank - 1] : per;
        s->rows_per = s->classes ? per / s->classes : 0;
    }
    if (per != s->per)
        return ecc_ctx_error(ctx, ECC_E_INPUT, "sensitivity: output size changes between "
                             "batches");
    const float *yd = y->data;
    float *ref = s->ref + first * per;
    for (int64_t i = 0; i < n * per; i++) {
        double e = (double)yd[i] - ref[i];
        s->se += e * e;
        s->ref_sq += (double)ref[i] * ref[i];
    }
    for (int64_t r = 0; r < n * s->rows_per; r++) {
        int64_t a = ecc_argmax_f32(yd + r * s->classes, s->classes);
        s->agree += a == ecc_argmax_f32(ref + r * s->classes, s->classes);
        s->rows++;
        if (s->labels && s->rows_per == 1) {
            s->correct += a == s->labels[first + r];
            s->labelled++;
        }
    }
    return ECC_OK;
}

static prune_sens_cell cell_of(const sens_run *s) {
    prune_sens_cell c;
    c.error = s->ref_sq > 0 ? s->se / s->ref_sq : s->se;
    c.agreement = s->rows ? (double)s->agree / (double)s->rows : NAN;
    c.accuracy = s->labelled ? (double)s->correct / (double)s->labelled : NAN;
    return c;
}

/* The dense outputs of the first output, all samples (one run). */
static ecc_status record_dense(ecc_ctx *ctx, ecc_model *m, const calib_data *d, sens_run *s) {
    calib_out dense = {.samples = d->samples};
    ecc_status st = calib_data_run(ctx, m, d, CALIB_BATCH, NULL, NULL, calib_out_batch, &dense);
    if (st == ECC_OK && !dense.y)
        st = ecc_ctx_error(ctx, ECC_E_INPUT, "sensitivity: the first model output is not a "
                           "float32 tensor with the batch as its first axis");
    else if (st == ECC_OK && dense.cols <= 0)
        st = ecc_ctx_error(ctx, ECC_E_INPUT, "sensitivity: the model produced no output");
    if (st) {
        calib_out_free(&dense);
        return st;
    }
    s->ref = dense.y; /* owned by s now */
    s->per = dense.cols;
    return ECC_OK;
}

/* Runs d with layer L pruned at target (weights restored by the caller, the
 * bias here). */
static ecc_status measure_one(ecc_ctx *ctx, ecc_model *m, const calib_data *d, wl_layer *L,
                              const prune_config *c, const float *canon, int64_t target,
                              sens_run *s, prune_sens_cell *out) {
    ecc_status st = ECC_OK;
    float *work = malloc((size_t)L->numel * sizeof *work + 1);
    uint8_t *keep = malloc((size_t)L->numel + 1);
    bool changed = false;
    prune_bias_undo bias = {NULL, NULL, 0};
    ECC_FAIL_IF(!work || !keep, ctx, ECC_E_INTERNAL, "out of memory");
    memcpy(work, canon, (size_t)L->numel * sizeof *work);
    memset(keep, 1, (size_t)L->numel);
    ECC_TRY(c->method->fn(ctx, L, work, target, &c->pat, &c->mo, keep, &changed));
    for (int64_t i = 0; i < L->numel; i++)
        if (!keep[i]) work[i] = 0.0f;
    wl_canon_put(L, work, L->w->init->data);
    if (c->bias_correct) ECC_TRY(prune_bias_correct_in_place(ctx, L, canon, work, keep, &bias));
    s->se = s->ref_sq = 0;
    s->agree = s->rows = s->correct = s->labelled = 0;
    ECC_TRY(calib_data_run(ctx, m, d, CALIB_BATCH, NULL, NULL, sens_batch, s));
    *out = cell_of(s);
    out->bias_corrected = bias.at != NULL;
fail:
    prune_bias_undo_apply(&bias);
    free(work);
    free(keep);
    return st;
}

static ecc_status measure_layer(ecc_ctx *ctx, ecc_model *m, const calib_data *d, wl_layer *L,
                                const prune_config *c, const double *levels, size_t n_levels,
                                sens_run *s, prune_sens_cell *row) {
    ecc_status st = ECC_OK;
    float *canon = NULL, *orig = malloc(L->w->init->nbytes + 1);
    ECC_FAIL_IF(!orig, ctx, ECC_E_INTERNAL, "out of memory");
    memcpy(orig, L->w->init->data, L->w->init->nbytes);
    ECC_TRY(wl_canon_get(ctx, L, &canon));
    for (size_t j = 0; j < (c->pat.m ? 1 : n_levels); j++) {
        st = measure_one(ctx, m, d, L, c, canon, llround(levels[j] * (double)L->numel), s,
                         &row[j]);
        memcpy(L->w->init->data, orig, L->w->init->nbytes);
        ECC_TRY(st);
        ecc_log(ctx, 1, "  sensitivity: '%s' at %g: error %.4g", L->name,
                c->pat.m ? 1.0 - (double)c->pat.n / c->pat.m : levels[j], row[j].error);
    }
fail:
    free(canon);
    free(orig);
    return st;
}

ecc_status prune_sensitivity_measure(ecc_ctx *ctx, ecc_model *m, const calib_data *d,
                                     wl_layers *ls, const prune_config *c,
                                     const double *levels, size_t n_levels,
                                     const int64_t *labels, prune_sens_cell *cells,
                                     double *dense_acc) {
    ecc_status st = ECC_OK;
    sens_run s = {.labels = labels};
    ECC_TRY(record_dense(ctx, m, d, &s));
    s.per = 0; /* re-derived (with classes) by the first measured batch */
    *dense_acc = NAN;
    if (labels) {
        ECC_TRY(calib_data_run(ctx, m, d, CALIB_BATCH, NULL, NULL, sens_batch, &s));
        *dense_acc = cell_of(&s).accuracy;
    }
    for (size_t i = 0; i < ls->n; i++) {
        wl_layer *L = &ls->items[i];
        if (L->skip != PRUNE_SKIP_NONE) continue;
        ECC_FAIL_IF(!L->w->init || L->w->init->refcount > 1, ctx, ECC_E_INTERNAL,
                    "sensitivity: weight '%s' is not an unshared initializer", L->w->name);
        ECC_TRY(measure_layer(ctx, m, d, L, c, levels, n_levels, &s, cells + i * n_levels));
    }
fail:
    free(s.ref);
    return st;
}

/* ---------------- allocation (scope=auto) ---------------- */

typedef struct hull_seg {
    size_t layer;
    int64_t dx;
    double slope;
} hull_seg;

static int seg_cmp(const void *a, const void *b) {
    const hull_seg *x = a, *y = b;
    if (x->slope != y->slope) return x->slope < y->slope ? -1 : 1;
    return x->layer < y->layer ? -1 : x->layer > y->layer;
}

/* Lower convex hull of (0,0), (x_j, y_j) as segments appended to segs. */
static size_t layer_hull(const wl_layer *L, size_t li, const double *levels, size_t n,
                         const prune_sens_cell *row, hull_seg *segs) {
    int64_t hx[64];
    double hy[64];
    size_t h = 0;
    for (size_t j = 0; j <= n && j < 63; j++) {
        int64_t x = j ? llround(levels[j - 1] * (double)L->numel) : 0;
        double y = j ? row[j - 1].error : 0.0;
        if (h && x <= hx[h - 1]) continue;
        while (h >= 2 && (hy[h - 1] - hy[h - 2]) * (double)(x - hx[h - 2]) >=
                             (y - hy[h - 2]) * (double)(hx[h - 1] - hx[h - 2]))
            h--;
        hx[h] = x;
        hy[h++] = y;
    }
    for (size_t i = 1; i < h; i++)
        segs[i - 1] = (hull_seg){li, hx[i] - hx[i - 1], (hy[i] - hy[i - 1]) / (double)(hx[i] - hx[i - 1])};
    return h ? h - 1 : 0;
}

ecc_status prune_allocate(ecc_ctx *ctx, wl_layers *ls, const double *levels,
                          size_t n_levels, const prune_sens_cell *cells, double sparsity) {
    int64_t total = 0;
    size_t n_segs = 0;
    hull_seg *segs = calloc(ls->n * (n_levels + 1) + 1, sizeof *segs);
    if (!segs) return ECC_OOM(ctx);
    for (size_t i = 0; i < ls->n; i++) {
        wl_layer *L = &ls->items[i];
        L->target = 0;
        if (L->skip != PRUNE_SKIP_NONE) continue;
        total += L->numel;
        n_segs += layer_hull(L, i, levels, n_levels, cells + i * n_levels, segs + n_segs);
    }
    qsort(segs, n_segs, sizeof *segs, seg_cmp);
    int64_t left = llround(sparsity * (double)total);
    for (size_t k = 0; k < n_segs && left > 0; k++) {
        int64_t take = segs[k].dx < left ? segs[k].dx : left;
        ls->items[segs[k].layer].target += take;
        left -= take;
    }
    for (size_t i = 0; i < ls->n && left > 0; i++) { /* beyond the largest level measured */
        wl_layer *L = &ls->items[i];
        if (L->skip != PRUNE_SKIP_NONE) continue;
        int64_t take = L->numel - L->target < left ? L->numel - L->target : left;
        L->target += take;
        left -= take;
    }
    for (size_t i = 0; i < ls->n; i++)
        if (ls->items[i].skip == PRUNE_SKIP_NONE)
            ecc_log(ctx, 1, "  prune: scope=auto gives '%s' sparsity %.3f", ls->items[i].name,
                    (double)ls->items[i].target / (double)ls->items[i].numel);
    free(segs);
    return ECC_OK;
}

/* ---------------- public API: ecc_sensitivity_* ---------------- */

struct ecc_sensitivity {
    char *pass;
    ecc_pipeline *pl;        /* the parsed --pass: cfg's strings point into it */
    prune_config cfg;
    wl_layers ls;
    double *levels;
    size_t n_levels;
    prune_sens_cell *cells;  /* ls.n × n_levels */
    double dense_acc;
    int64_t samples;
    char *output;            /* name of the output compared */
};

void ecc_sensitivity_free(ecc_sensitivity *s) {
    if (!s) return;
    wl_layers_free(&s->ls);
    ecc_pipeline_free(s->pl);
    free(s->pass);
    free(s->levels);
    free(s->cells);
    free(s->output);
    free(s);
}

static const double default_levels[] = {0.3, 0.5, 0.7, 0.8, 0.9};

/* Parses the pass spec (one `prune` invocation) into s->cfg. */
static ecc_status sens_config(ecc_ctx *ctx, const ecc_registry *reg, const char *spec,
                              ecc_sensitivity *s) {
    ecc_status st = ECC_OK;
    ecc_pipeline *pl = NULL;
    ECC_TRY(ecc_pipeline_parse(ctx, reg, spec, &pl));
    ECC_FAIL_IF(pl->n != 1 || strcmp(pl->passes[0].desc->name, "prune") != 0, ctx, ECC_E_USAGE,
                "sensitivity: --pass takes one 'prune' invocation (e.g. prune, "
                "prune:method=wanda, prune:pattern=2:4), got '%s'", spec);
    ecc_pass_run run = {.ctx = ctx, .inv = &pl->passes[0]};
    st = prune_config_read(&ecc_host_api_table, &run, &s->cfg);
    ecc_pass_run_release(&run);
    if (st) {
        char why[ECC_MSG_MAX];
        snprintf(why, sizeof why, "%s", ctx->message);
        ECC_FAIL_IF(true, ctx, st, "--pass %s: %s", spec, why);
    }
    s->pass = strdup(pl->text);
    ECC_FAIL_IF(!s->pass, ctx, ECC_E_INTERNAL, "out of memory");
    s->pl = pl;
    pl = NULL;
fail:
    ecc_pipeline_free(pl);
    return st;
}

static ecc_status sens_levels(ecc_ctx *ctx, const ecc_sensitivity_options *o,
                              ecc_sensitivity *s) {
    const double *lv = o->levels && o->n_levels ? o->levels : default_levels;
    size_t n = o->levels && o->n_levels ? o->n_levels : sizeof default_levels / sizeof *lv;
    double nm = 0.0;
    if (s->cfg.pat.m) { /* N:M has one level: the pattern's */
        nm = 1.0 - (double)s->cfg.pat.n / s->cfg.pat.m;
        lv = &nm;
        n = 1;
    }
    if (n > 32) return ecc_ctx_error(ctx, ECC_E_USAGE, "sensitivity: at most 32 levels");
    for (size_t j = 0; j < n; j++)
        if (!(lv[j] >= 0.0 && lv[j] <= 0.99))
            return ecc_ctx_error(ctx, ECC_E_USAGE,
                                 "sensitivity: level %g is out of range [0, 0.99]", lv[j]);
    s->levels = malloc(n * sizeof *s->levels);
    if (!s->levels) return ECC_OOM(ctx);
    memcpy(s->levels, lv, n * sizeof *lv);
    s->n_levels = n;
    return ECC_OK;
}

/* Labels as int64 (one per sample). */
static ecc_status read_labels(ecc_ctx *ctx, const char *path, int64_t want, int64_t **out) {
    ecc_status st = ECC_OK;
    ecc_dataset *ds = NULL;
    ecc_array a;
    int64_t got = 0, have = 0;
    int64_t *lab = malloc((size_t)want * sizeof *lab + 1);
    ECC_FAIL_IF(!lab, ctx, ECC_E_INTERNAL, "out of memory");
    ECC_TRY(ecc_dataset_open(ctx, &path, 1, NULL, NULL, &ds));
    while (have < want) {
        ECC_TRY(ecc_dataset_next_batch(ctx, ds, want - have, &a, &got));
        if (!got) break;
        for (int64_t i = 0; i < got; i++) {
            int64_t v;
            switch (a.dtype) {
            case ECC_DTYPE_INT64: v = ((const int64_t *)a.data)[i]; break;
            case ECC_DTYPE_INT32: v = ((const int32_t *)a.data)[i]; break;
            case ECC_DTYPE_UINT8: v = ((const uint8_t *)a.data)[i]; break;
            default:
                ECC_FAIL_IF(true, ctx, ECC_E_INPUT, "%s: labels must be int64, int32 or uint8",
                            path);
            }
            lab[have++] = v;
        }
    }
    ECC_FAIL_IF(have < want, ctx, ECC_E_INPUT, "%s: %lld labels for %lld samples", path,
                (long long)have, (long long)want);
    *out = lab;
    lab = NULL;
fail:
    free(lab);
    ecc_dataset_free(ds);
    return st;
}

ecc_status ecc_sensitivity_run(ecc_ctx *ctx, const ecc_registry *reg, ecc_model *model,
                               const char *data, const ecc_sensitivity_options *opts,
                               ecc_sensitivity **out) {
    ecc_status st = ECC_OK;
    ecc_sensitivity_options o = {sizeof o};
    calib_data *d = NULL;
    int64_t *labels = NULL;
    ecc_sensitivity *s = calloc(1, sizeof *s);
    *out = NULL;
    if (opts) memcpy(&o, opts, opts->struct_size < sizeof o ? opts->struct_size : sizeof o);
    ECC_FAIL_IF(!s, ctx, ECC_E_INTERNAL, "out of memory");
    ECC_TRY(sens_config(ctx, reg, o.pass && *o.pass ? o.pass : "prune", s));
    ECC_TRY(sens_levels(ctx, &o, s));
    ECC_TRY(prune_layers_prepare(ctx, model, &s->cfg, &s->ls));
    for (size_t i = 0; i < s->ls.n; i++) {
        wl_layer *L = &s->ls.items[i];
        if (L->skip != PRUNE_SKIP_NONE) continue;
        ECC_TRY(wl_materialize(ctx, L->w));
        ECC_TRY(ecc_tensor_make_unique(ctx, &L->w->init));
    }
    ECC_TRY(calib_data_load(ctx, model, data, o.limit, &d));
    s->samples = d->samples;
    if (o.labels) ECC_TRY(read_labels(ctx, o.labels, d->samples, &labels));
    s->cells = calloc(s->ls.n * s->n_levels + 1, sizeof *s->cells);
    ECC_FAIL_IF(!s->cells, ctx, ECC_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < s->ls.n * s->n_levels; i++)
        s->cells[i] = (prune_sens_cell){NAN, NAN, NAN};
    if (s->cfg.method->calib || s->cfg.bias_correct)
        ECC_TRY(calib_collect_stats(ctx, model, d, &s->ls, NULL, s->cfg.method->full_h));
    ECC_TRY(prune_sensitivity_measure(ctx, model, d, &s->ls, &s->cfg, s->levels, s->n_levels,
                                      labels, s->cells, &s->dense_acc));
    const ecc_value *y = model->graph->outputs.n ? model->graph->outputs.items[0] : NULL;
    s->output = strdup(y ? y->name : "");
    ECC_FAIL_IF(!s->output, ctx, ECC_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < s->ls.n; i++) wl_stats_free(&s->ls.items[i].stats);
    *out = s;
    s = NULL;
fail:
    calib_data_free(d);
    free(labels);
    ecc_sensitivity_free(s);
    return st;
}

size_t ecc_sensitivity_layer_count(const ecc_sensitivity *s) { return s->ls.n; }
size_t ecc_sensitivity_level_count(const ecc_sensitivity *s) { return s->n_levels; }
double ecc_sensitivity_level(const ecc_sensitivity *s, size_t j) {
    return j < s->n_levels ? s->levels[j] : NAN;
}
double ecc_sensitivity_dense_accuracy(const ecc_sensitivity *s) { return s->dense_acc; }

const char *ecc_sensitivity_layer(const ecc_sensitivity *s, size_t i, int64_t *params,
                                  const char **skipped) {
    if (i >= s->ls.n) return NULL;
    const wl_layer *L = &s->ls.items[i];
    if (params) *params = L->numel;
    if (skipped) *skipped = L->skip == PRUNE_SKIP_NONE ? NULL : prune_skip_text(L->skip);
    return L->name;
}

bool ecc_sensitivity_cell(const ecc_sensitivity *s, size_t layer, size_t level, double *error,
                          double *agreement, double *accuracy) {
    if (layer >= s->ls.n || level >= s->n_levels ||
        s->ls.items[layer].skip != PRUNE_SKIP_NONE)
        return false;
    const prune_sens_cell *c = &s->cells[layer * s->n_levels + level];
    if (error) *error = c->error;
    if (agreement) *agreement = c->agreement;
    if (accuracy) *accuracy = c->accuracy;
    return true;
}

/* ---------------- output ---------------- */

/* Did measuring layer i apply the bias correction (as the pass would)? */
static bool layer_bias_corrected(const ecc_sensitivity *s, size_t i) {
    return s->ls.items[i].skip == PRUNE_SKIP_NONE && s->n_levels &&
           s->cells[i * s->n_levels].bias_corrected;
}

static void write_bias_line(const ecc_sensitivity *s, FILE *out) {
    size_t measured = 0, corrected = 0;
    if (!s->cfg.bias_correct) return;
    for (size_t i = 0; i < s->ls.n; i++) {
        measured += s->ls.items[i].skip == PRUNE_SKIP_NONE;
        corrected += layer_bias_corrected(s, i);
    }
    if (corrected == measured)
        fprintf(out, "bias correction: applied while measuring, as the pass applies it\n");
    else
        fprintf(out, "bias correction: applied while measuring on %zu of %zu layers; the "
                     "others (marked *) would need a new Add node or a copy of a shared or "
                     "Constant-node bias, and are measured without it\n", corrected, measured);
}

static void write_table(const ecc_sensitivity *s, FILE *out) {
    bool acc = !isnan(s->dense_acc);
    fprintf(out, "sensitivity of %s (%s%s) on %lld samples, output '%s'\n", s->pass,
            s->cfg.method->name, s->cfg.pat.m ? ", N:M" : ", unstructured",
            (long long)s->samples, s->output);
    if (acc) fprintf(out, "dense accuracy %.2f%%\n", 100.0 * s->dense_acc);
    fprintf(out, "cell: relative squared error of the output / top-1 agreement with the "
                 "dense model%s\n",
            acc ? " / accuracy change in points" : "");
    write_bias_line(s, out);
    fprintf(out, "%-24s %9s", "layer", "params");
    for (size_t j = 0; j < s->n_levels; j++) fprintf(out, "  %23.0f%%", 100.0 * s->levels[j]);
    fputc('\n', out);
    for (size_t i = 0; i < s->ls.n; i++) {
        const wl_layer *L = &s->ls.items[i];
        bool unmarked = !s->cfg.bias_correct || L->skip || layer_bias_corrected(s, i);
        fprintf(out, "%-23s%c %9lld", L->name, unmarked ? ' ' : '*', (long long)L->numel);
        if (L->skip != PRUNE_SKIP_NONE) {
            fprintf(out, "  skipped: %s\n", prune_skip_text(L->skip));
            continue;
        }
        for (size_t j = 0; j < s->n_levels; j++) {
            const prune_sens_cell *c = &s->cells[i * s->n_levels + j];
            char cell[64];
            if (acc)
                snprintf(cell, sizeof cell, "%.2e/%5.1f%%/%+6.2f", c->error, 100 * c->agreement,
                         100.0 * (c->accuracy - s->dense_acc));
            else
                snprintf(cell, sizeof cell, "%.3e / %5.1f%%", c->error, 100 * c->agreement);
            fprintf(out, "  %24s", cell);
        }
        fputc('\n', out);
    }
}

static cJSON *num_or_null(double v) {
    return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

static cJSON *to_json(const ecc_sensitivity *s) {
    cJSON *root = cJSON_CreateObject(), *levels = cJSON_AddArrayToObject(root, "levels");
    cJSON *layers = NULL;
    cJSON_AddStringToObject(root, "pass", s->pass);
    cJSON_AddStringToObject(root, "method", s->cfg.method->name);
    cJSON_AddStringToObject(root, "output", s->output);
    cJSON_AddNumberToObject(root, "samples", (double)s->samples);
    cJSON_AddItemToObject(root, "dense_accuracy", num_or_null(s->dense_acc));
    cJSON_AddBoolToObject(root, "bias_correct", s->cfg.bias_correct);
    for (size_t j = 0; levels && j < s->n_levels; j++)
        cJSON_AddItemToArray(levels, cJSON_CreateNumber(s->levels[j]));
    layers = cJSON_AddArrayToObject(root, "layers");
    for (size_t i = 0; layers && i < s->ls.n; i++) {
        const wl_layer *L = &s->ls.items[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToArray(layers, o);
        cJSON_AddStringToObject(o, "name", L->name);
        cJSON_AddStringToObject(o, "weight", L->w->name);
        cJSON_AddStringToObject(o, "op", L->node->op_type);
        cJSON_AddNumberToObject(o, "params", (double)L->numel);
        if (L->skip != PRUNE_SKIP_NONE) {
            cJSON_AddStringToObject(o, "skipped", prune_skip_text(L->skip));
            continue;
        }
        cJSON_AddBoolToObject(o, "bias_corrected", layer_bias_corrected(s, i));
        cJSON *e = cJSON_AddArrayToObject(o, "error"), *a = cJSON_AddArrayToObject(o, "agreement");
        cJSON *acc = cJSON_AddArrayToObject(o, "accuracy");
        for (size_t j = 0; j < s->n_levels; j++) {
            const prune_sens_cell *c = &s->cells[i * s->n_levels + j];
            cJSON_AddItemToArray(e, num_or_null(c->error));
            cJSON_AddItemToArray(a, num_or_null(c->agreement));
            cJSON_AddItemToArray(acc, num_or_null(c->accuracy));
        }
    }
    return root;
}

ecc_status ecc_sensitivity_write(ecc_ctx *ctx, const ecc_sensitivity *s, bool json,
                                 FILE *out) {
    if (!json) {
        write_table(s, out);
        return ferror(out) ? ecc_ctx_error(ctx, ECC_E_INTERNAL, "write failed") : ECC_OK;
    }
    cJSON *root = to_json(s);
    char *text = root ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (!text) return ECC_OOM(ctx);
    fprintf(out, "%s\n", text);
    free(text);
    return ferror(out) ? ecc_ctx_error(ctx, ECC_E_INTERNAL, "write failed") : ECC_OK;
}

ecc_status ecc_sensitivity_write_report(ecc_ctx *ctx, const ecc_sensitivity *s,
                                        const char *path) {
    ecc_status st = ECC_OK;
    ecc_atomic_file f = {0};
    ECC_TRY(ecc_atomic_open(ctx, path, &f));
    ECC_TRY(ecc_sensitivity_write(ctx, s, true, f.fp));
    ECC_TRY(ecc_atomic_commit(ctx, &f));
fail:
    ecc_atomic_abort(&f);
    return st;
}
