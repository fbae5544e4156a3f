/* distill.c — the `distill` pass: fine-tunes the model against a teacher (the
 * model file as it entered the pipeline, or teacher=FILE) on the training
 * data (--train, else --calib), no labels needed: loss T² KL(teacher ‖
 * student) on output 0, with --labels (1-alpha)·T²·KL + alpha·CE. It trains
 * through the masks earlier pruning passes attached (pruned weights stay
 * exactly zero, N:M patterns and channel-pruned shapes hold) and writes the
 * trained weights back into the initializers. What trains: train=all (every
 * float weight, bias and norm parameter), bias, bias+norm, or last:K (the last
 * K weight layers). The loop is calibrate/train's (train.h). Quantizers from
 * earlier passes train jointly: the student reads weights and activations
 * fake-quantized by them (straight-through gradients) and keeps their
 * scales, so the lowered file computes what was trained. A codebook
 * (cluster) trains tied: its members share the sum of their gradients, so
 * every kept weight still equals one of the (retrained) centroids. */
#include "calib_stats.h"
#include "layers.h"

#include "../calibrate/train/train.h"
#include "ecc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const ecc_opt_desc distill_opts[] = {
    ECC_OPT(ECC_OPT_INT, "epochs", "passes over the training data", "2", 1, 10000, NULL),
    ECC_OPT(ECC_OPT_INT, "steps", "exactly this many steps instead of epochs (0: use epochs)",
            "0", 0, 1e12, NULL),
    ECC_OPT(ECC_OPT_INT, "batch", "samples per step", "64", 1, 65536, NULL),
    ECC_OPT(ECC_OPT_FLOAT, "lr", "peak learning rate", "0.001", 1e-12, 10, NULL),
    ECC_OPT(ECC_OPT_ENUM, "optimizer", "adamw (decoupled weight decay) or sgd (momentum)",
            "adamw", 0, 0, "adamw|sgd"),
    ECC_OPT(ECC_OPT_FLOAT, "momentum", "sgd momentum", "0.9", 0, 0.999, NULL),
    ECC_OPT(ECC_OPT_BOOL, "nesterov", "sgd: Nesterov momentum", "false", 0, 0, NULL),
    ECC_OPT(ECC_OPT_FLOAT, "weight_decay", "weight decay (weights only, not biases or norms)",
            "0", 0, 1, NULL),
    ECC_OPT(ECC_OPT_ENUM, "schedule", "learning-rate schedule after the warm-up", "cosine", 0, 0,
            "constant|step|cosine"),
    ECC_OPT(ECC_OPT_INT, "warmup", "steps of linear warm-up", "0", 0, 1e12, NULL),
    ECC_OPT(ECC_OPT_FLOAT, "min_lr", "cosine: rate at the last step", "0", 0, 10, NULL),
    ECC_OPT(ECC_OPT_INT, "step_size", "step schedule: steps between decays", "1000", 1, 1e12,
            NULL),
    ECC_OPT(ECC_OPT_FLOAT, "gamma", "step schedule: decay factor", "0.1", 1e-6, 1, NULL),
    ECC_OPT(ECC_OPT_FLOAT, "clip", "clip the global gradient norm to this (0: off)", "0", 0, 1e9,
            NULL),
    ECC_OPT(ECC_OPT_FLOAT, "temperature", "softening temperature T of the KL loss", "2", 0.05,
            100, NULL),
    ECC_OPT(ECC_OPT_FLOAT, "alpha",
            "with --labels: loss (1-alpha)·T²·KL + alpha·cross-entropy on the labels "
            "(ignored without --labels)",
            "0.5", 0, 1, NULL),
    ECC_OPT(ECC_OPT_STRING, "train",
            "what trains: all | bias | bias+norm | last:K (the last K weight layers)", "all", 0,
            0, NULL),
    ECC_OPT(ECC_OPT_FLOAT, "val", "held-out fraction of the data, for the report", "0.1", 0,
            0.5, NULL),
    ECC_OPT(ECC_OPT_STRING, "teacher", "teacher model file (default: the input model)", NULL, 0,
            0, NULL),
    ECC_OPT(ECC_OPT_STRING, "features",
            "feature pairs student_value:teacher_value joined by '+': adds beta·MSE of each "
            "(same shapes)",
            NULL, 0, 0, NULL),
    ECC_OPT(ECC_OPT_FLOAT, "beta", "weight of each feature pair's MSE", "1", 0, 1e6, NULL),
    ECC_OPT(ECC_OPT_BOOL, "lsq",
            "learn the scales of the trained weights' quantizers (LSQ, Esser et al. 2019; "
            "zero points stay)", "false", 0, 0, NULL),
    ECC_OPT(ECC_OPT_FLOAT, "lsq_lr", "peak learning rate of the learned scales (0: lr)", "0", 0,
            10, NULL),
};

/* ---------------- what trains ---------------- */

typedef enum train_mode { TRAIN_ALL, TRAIN_BIAS, TRAIN_BIAS_NORM, TRAIN_LAST } train_mode;

typedef struct train_sel {
    train_mode mode;
    int64_t last;      /* TRAIN_LAST: layers */
} train_sel;

static bool parse_train(const char *s, train_sel *out) {
    static const struct {
        const char *name;
        train_mode mode;
    } modes[] = {{"all", TRAIN_ALL}, {"bias", TRAIN_BIAS}, {"bias+norm", TRAIN_BIAS_NORM}};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
        if (strcmp(s, modes[i].name) == 0) {
            *out = (train_sel){modes[i].mode, 0};
            return true;
        }
    char *end;
    if (strncmp(s, "last:", 5) != 0) return false;
    long long k = strtoll(s + 5, &end, 10);
    if (*end || k < 1 || k > 1000000) return false;
    *out = (train_sel){TRAIN_LAST, k};
    return true;
}

static bool is_norm(const ecc_node *n) {
    return wl_is_onnx(n, "BatchNormalization") || wl_is_onnx(n, "LayerNormalization") ||
           wl_is_onnx(n, "InstanceNormalization");
}

/* The role of input slot `slot` of node n: 'w' weight, 'b' bias, 'n' norm
 * parameter, 's' frozen statistic (BatchNormalization mean and variance). */
static char role_of(const ecc_node *n, uint32_t slot, const ecc_tensor *t) {
    if (wl_is_onnx(n, "BatchNormalization") && slot >= 3) return 's';
    if (is_norm(n)) return 'n';
    bool layer = wl_is_onnx(n, "Conv") || wl_is_onnx(n, "Gemm") ||
                 wl_is_onnx(n, "ConvTranspose");
    if (layer && slot == 2) return 'b';
    if (wl_is_onnx(n, "Add") && t->rank == 1) return 'b';
    return 'w';
}

typedef struct picked {
    ecc_train_target *t;
    ecc_value **v;
    ecc_gradual *g;            /* per target: its schedule when t[i].gradual */
    size_t n, cap;
} picked;

static bool already(const picked *p, const ecc_value *v) {
    for (size_t i = 0; i < p->n; i++)
        if (p->v[i] == v) return true;
    return false;
}

static ecc_status pick(ecc_ctx *ctx, picked *p, ecc_value *v, bool decay) {
    if (already(p, v)) return ECC_OK;
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 16;
        ecc_train_target *t = realloc(p->t, cap * sizeof *t);
        if (t) p->t = t;
        ecc_value **vv = realloc(p->v, cap * sizeof *vv);
        if (vv) p->v = vv;
        ecc_gradual *gg = realloc(p->g, cap * sizeof *gg);
        if (gg) p->g = gg;
        if (!t || !vv || !gg) return ECC_OOM(ctx);
        p->cap = cap;
    }
    ecc_mask *m = v->mask;
    bool masked = m && m->keep && m->keep->numel == v->init->numel;
    if (masked) { /* its own copy: a gradual mask is rewritten */
        ecc_status st = ecc_tensor_make_unique(ctx, &m->keep);
        if (st) return st;
    }
    p->t[p->n] = (ecc_train_target){v->name, masked ? m->keep->data : NULL, decay, NULL};
    if (v->codebook && v->codebook->dtype == ECC_DTYPE_FLOAT) { /* trains tied, rewritten */
        ecc_status st = ecc_tensor_make_unique(ctx, &v->codebook);
        if (st) return st;
        p->t[p->n].codebook = v->codebook->data;
        p->t[p->n].codebook_k = v->codebook->numel;
    }
    p->v[p->n++] = v;
    return ECC_OK;
}

/* prune:schedule=gradual: the mask's final sparsity and pattern become the
 * target's schedule, and the mask starts dense (gradual.c ramps it). */
/* The share of weights mask m removes. */
static double mask_sparsity(const ecc_mask *m) {
    const uint8_t *keep = m->keep->data;
    int64_t zeros = 0;
    for (int64_t i = 0; i < m->keep->numel; i++) zeros += !keep[i];
    return m->keep->numel ? (double)zeros / (double)m->keep->numel : 0.0;
}

static void gradual_of(const ecc_value *v, ecc_gradual *g) {
    const ecc_mask *m = v->mask;
    *g = (ecc_gradual){.final = mask_sparsity(m), .every = m->every,
                       .n = m->pattern == ECC_MASK_NM ? m->n : 0,
                       .m = m->pattern == ECC_MASK_NM ? m->m : 0, .axis = m->axis,
                       .rank = v->init->rank};
    g->start = m->start < g->final ? m->start : g->final;
    memcpy(g->dims, v->init->dims, (size_t)v->init->rank * sizeof *g->dims);
}

/* With lsq: a buffer for the learned scales of each trained weight whose
 * quantizer the interpreter simulates. */
static ecc_status scales_alloc(ecc_ctx *ctx, picked *p) {
    for (size_t i = 0; i < p->n; i++) {
        const ecc_quantizer *q = p->v[i]->quant;
        if (!q || !q->scale || ecc_interp_quant_unsupported(p->v[i]) || q->bits == 32) continue;
        p->t[i].scales = malloc((size_t)q->scale->numel * sizeof(float) + 1);
        if (!p->t[i].scales) return ECC_OOM(ctx);
    }
    return ECC_OK;
}

/* The learned scales into the quantizers (copy-on-write); reports how many
 * and their mean relative change. */
static ecc_status scales_write_back(const ecc_host_api *host, ecc_pass_run *run, picked *p) {
    double change = 0;
    int64_t count = 0;
    for (size_t i = 0; i < p->n; i++) {
        ecc_quantizer *q = p->v[i]->quant;
        if (!p->t[i].scales) continue;
        ecc_status st = ecc_tensor_make_unique(run->ctx, &q->scale);
        if (st) return st;
        float *old = q->scale->data;
        for (int64_t k = 0; k < q->scale->numel; k++, count++)
            change += fabs((double)p->t[i].scales[k] - old[k]) / fabs((double)old[k] + 1e-30);
        memcpy(old, p->t[i].scales, (size_t)q->scale->numel * sizeof(float));
    }
    if (count) {
        host->stat(run, "lsq.scales", (double)count);
        host->stat(run, "lsq.mean_relative_change", change / (double)count);
    }
    return ECC_OK;
}

static int by_value(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

/* Trained codebooks sorted again (the annotation keeps its centroids sorted). */
static void codebooks_sort(picked *p) {
    for (size_t i = 0; i < p->n; i++)
        if (p->t[i].codebook)
            qsort(p->t[i].codebook, (size_t)p->t[i].codebook_k, sizeof(float), by_value);
}

/* Learned activation scales into their quantizers' scale tensors (shared by
 * the values tied to them, which is what makes them tied). */
static void act_scales_write_back(const ecc_host_api *host, ecc_pass_run *run,
                                  const ecc_train_result *r) {
    for (size_t k = 0; k < r->n_act_scales; k++)
        ((float *)r->act_scales[k].q->scale->data)[0] = r->act_scales[k].scale;
    if (r->n_act_scales) host->stat(run, "lsq.activation_scales", (double)r->n_act_scales);
}

static void scales_free(picked *p) {
    for (size_t i = 0; i < p->n; i++) free(p->t[i].scales);
}

static void gradual_start(picked *p) {
    for (size_t i = 0; i < p->n; i++) {
        ecc_value *v = p->v[i];
        if (!p->t[i].keep || !v->mask->gradual || v->init->rank > ECC_MAX_RANK) continue;
        gradual_of(v, &p->g[i]);
        memset(p->t[i].keep, 1, (size_t)v->mask->keep->numel);
        p->t[i].gradual = &p->g[i];
    }
}

/* After training: ramped masks hold their final sparsity; a gradual mask on
 * a weight that did not train keeps its one-shot ranking. */
static void gradual_finish(ecc_ctx *ctx, ecc_graph *g) {
    for (size_t i = 0; i < g->values.n; i++) {
        ecc_mask *m = ((ecc_value *)g->values.items[i])->mask;
        if (!m || !m->gradual || !m->keep) continue;
        m->sparsity = mask_sparsity(m);
        m->gradual = false;
        ecc_log(ctx, 1, "distill: '%s' pruned gradually to %.1f%%",
                ((ecc_value *)g->values.items[i])->name, 100.0 * m->sparsity);
    }
}

/* A float32 initializer with more than one element (scalars are constants
 * of the architecture: an attention scale, an epsilon). */
static bool trainable(const ecc_value *v) {
    return v && v->init && v->init->dtype == ECC_DTYPE_FLOAT && v->init->numel > 1;
}

static ecc_status pick_by_role(ecc_ctx *ctx, ecc_graph *g, const train_sel *sel, picked *p) {
    ecc_status st = ECC_OK;
    for (size_t i = 0; i < g->nodes.n; i++) {
        const ecc_node *n = g->nodes.items[i];
        for (uint32_t j = 0; j < n->n_inputs; j++) {
            ecc_value *v = n->inputs[j];
            if (!trainable(v)) continue;
            char r = role_of(n, j, v->init);
            bool take = r == 'b' || (r == 'n' && sel->mode != TRAIN_BIAS) ||
                        (r == 'w' && sel->mode == TRAIN_ALL);
            if (take && r != 's') ECC_TRY(pick(ctx, p, v, r == 'w'));
        }
    }
fail:
    return st;
}

/* The last K weight layers: their weights and biases. */
static ecc_status pick_last(ecc_ctx *ctx, ecc_graph *g, int64_t k, picked *p) {
    ecc_status st = ECC_OK;
    wl_layers ls = {0};
    ECC_TRY(wl_find(ctx, g, &ls));
    for (size_t i = ls.n > (size_t)k ? ls.n - (size_t)k : 0; i < ls.n; i++) {
        const ecc_node *n = ls.items[i].node;
        if (trainable(ls.items[i].w)) ECC_TRY(pick(ctx, p, ls.items[i].w, true));
        if (n->n_inputs > 2 && trainable(n->inputs[2])) ECC_TRY(pick(ctx, p, n->inputs[2], false));
    }
fail:
    wl_layers_free(&ls);
    return st;
}

/* ---------------- refusals ---------------- */

/* Quantizers train through the interpreter's simulation (fake quantization,
 * straight-through gradients); what it cannot simulate is refused. */
static ecc_status refuse_untrainable(ecc_ctx *ctx, const ecc_graph *g) {
    for (size_t i = 0; i < g->values.n; i++) {
        const ecc_value *v = g->values.items[i];
        const char *why = ecc_interp_quant_unsupported(v);
        if (why)
            return ecc_ctx_error(ctx, ECC_E_USAGE,
                                 "'%s' carries %s, which training cannot simulate: put distill "
                                 "before that pass",
                                 v->name, why);
    }
    return ECC_OK;
}

/* Weights held in Constant nodes become initializers, so they can train. */
static ecc_status materialize_weights(ecc_ctx *ctx, ecc_graph *g) {
    ecc_status st = ECC_OK;
    wl_layers ls = {0};
    ECC_TRY(wl_find(ctx, g, &ls));
    for (size_t i = 0; i < ls.n; i++) ECC_TRY(wl_materialize(ctx, ls.items[i].w));
fail:
    wl_layers_free(&ls);
    return st;
}

/* ---------------- data and teacher ---------------- */

/* What distill trains on: --train, or --calib without it. */
static const char *train_path(const ecc_pass_run *run) {
    return calib_env_train_path(run) ? calib_env_train_path(run) : calib_env_path(run);
}

/* The teacher's output 0 on every sample, [samples, classes]. */
static ecc_status teacher_logits(ecc_ctx *ctx, ecc_model *t, const char *path,
                                 const calib_data *d, calib_out *o) {
    ecc_status st = ECC_OK;
    o->samples = d->samples;
    ECC_TRY(calib_data_run(ctx, t, d, CALIB_BATCH, NULL, NULL, calib_out_batch, o));
    ECC_FAIL_IF(!o->y || o->rows != d->samples, ctx, ECC_E_INPUT,
                "teacher %s: output 0 must be float32 [batch, classes]", path);
fail:
    return st;
}

/* ---------------- feature pairs ---------------- */

typedef struct feature_set {
    char *text;                /* the option's copy, cut into names */
    ecc_train_feature *f;
    size_t n;
    size_t outputs0;           /* the student's output count before */
} feature_set;

/* Splits "s1:t1+s2:t2" into pairs (names in fs->text); false on bad syntax. */
static bool features_parse(const char *spec, feature_set *fs) {
    size_t n = 1;
    for (const char *c = spec; *c; c++) n += *c == '+';
    fs->text = strdup(spec);
    fs->f = calloc(n, sizeof *fs->f);
    if (!fs->text || !fs->f) return false;
    char *save = NULL;
    for (char *p = strtok_r(fs->text, "+", &save); p; p = strtok_r(NULL, "+", &save)) {
        char *colon = strchr(p, ':');
        if (!colon || colon == p || !colon[1] || strchr(colon + 1, ':')) return false;
        *colon = 0;
        fs->f[fs->n++] = (ecc_train_feature){0, p, colon + 1};
    }
    return fs->n == n;
}

/* An activation of g named name (not an input or initializer), or NULL. */
static ecc_value *activation(const ecc_graph *g, const char *name) {
    ecc_value *v = ecc_graph_find(g, name);
    return v && v->producer && !v->init ? v : NULL;
}

/* Checks the names against both models and makes each student value a graph
 * output (its gradient then seeds backward); features_restore undoes it. */
static ecc_status features_bind(ecc_ctx *ctx, ecc_graph *g, const ecc_model *teacher,
                                feature_set *fs) {
    fs->outputs0 = g->outputs.n;
    for (size_t k = 0; k < fs->n; k++) {
        ecc_train_feature *f = &fs->f[k];
        ecc_value *v = activation(g, f->student_value);
        if (!v)
            return ecc_ctx_error(ctx, ECC_E_USAGE, "features: the student has no activation "
                                 "named '%s'", f->student_value);
        if (g->outputs.n && v == g->outputs.items[0])
            return ecc_ctx_error(ctx, ECC_E_USAGE, "features: '%s' is output 0, which the KL "
                                 "loss distills already", f->student_value);
        if (!activation(teacher->graph, f->teacher_value))
            return ecc_ctx_error(ctx, ECC_E_USAGE, "features: the teacher has no activation "
                                 "named '%s'", f->teacher_value);
        f->output = g->outputs.n;
        for (size_t i = 1; i < g->outputs.n; i++)
            if (g->outputs.items[i] == v) f->output = i;
        if (f->output == g->outputs.n && !ecc_ptrvec_push(&g->outputs, v)) return ECC_OOM(ctx);
    }
    return ECC_OK;
}

static void features_restore(ecc_graph *g, feature_set *fs) {
    if (fs->f && g->outputs.n > fs->outputs0) g->outputs.n = fs->outputs0;
    free(fs->text);
    free(fs->f);
}

static ecc_status config_of(const ecc_host_api *host, ecc_pass_run *run,
                            ecc_train_config *c) {
    ecc_status st = ECC_OK;
    ecc_optim_kind kind;
    ecc_lr_kind sched;
    ECC_TRY(ecc_optim_kind_parse(run->ctx, host->opt_string(run, "optimizer"), &kind));
    ECC_TRY(ecc_lr_kind_parse(run->ctx, host->opt_string(run, "schedule"), &sched));
    *c = (ecc_train_config){
        .epochs = host->opt_int(run, "epochs"),
        .steps = host->opt_int(run, "steps"),
        .batch = host->opt_int(run, "batch"),
        .val = host->opt_float(run, "val"),
        .temperature = host->opt_float(run, "temperature"),
        .alpha = host->opt_float(run, "alpha"),
        .beta = host->opt_float(run, "beta"),
        .clip = host->opt_float(run, "clip"),
        .optim = ecc_optim_defaults(kind),
        .seed = host->seed(run),
        .progress = run->ctx->verbosity >= 0 && isatty(fileno(run->ctx->log)),
    };
    c->optim.weight_decay = host->opt_float(run, "weight_decay");
    if (kind == ECC_OPTIM_SGD) {
        c->optim.momentum = host->opt_float(run, "momentum");
        c->optim.nesterov = host->opt_bool(run, "nesterov");
    }
    c->lsq = host->opt_bool(run, "lsq");
    c->lsq_lr = host->opt_float(run, "lsq_lr") > 0 ? host->opt_float(run, "lsq_lr")
                                                    : host->opt_float(run, "lr");
    c->lr = (ecc_lr_schedule){.kind = sched,
                              .lr = host->opt_float(run, "lr"),
                              .warmup = host->opt_int(run, "warmup"),
                              .min_lr = host->opt_float(run, "min_lr"),
                              .step_size = host->opt_int(run, "step_size"),
                              .gamma = host->opt_float(run, "gamma")};
fail:
    return st;
}

/* ---------------- the pass ---------------- */

static void report(const ecc_host_api *host, ecc_pass_run *run, const ecc_train_result *r,
                   const picked *p) {
    int64_t params = 0;
    for (size_t i = 0; i < p->n; i++) params += p->v[i]->init->numel;
    host->stat(run, "trained_tensors", (double)p->n);
    host->stat(run, "trained_params", (double)params);
    host->stat(run, "train_samples", (double)r->train_samples);
    host->stat(run, "val_samples", (double)r->val_samples);
    host->stat(run, "steps", (double)r->steps);
    host->stat(run, "samples_per_second", r->samples_per_second);
    host->stat(run, "peak_bytes", (double)r->peak_bytes);
    if (!isnan(r->before.val_agree)) {
        host->stat(run, "val_agreement_before", r->before.val_agree);
        host->stat(run, "val_loss_before", r->before.val_loss);
    }
    if (!isnan(r->before.val_acc)) host->stat(run, "val_accuracy_before", r->before.val_acc);
    for (int64_t e = 0; e < r->n_epochs; e++) {
        char key[64];
        snprintf(key, sizeof key, "epoch%lld.loss", (long long)e + 1);
        host->stat(run, key, r->epochs[e].loss);
        if (isnan(r->epochs[e].val_agree)) continue;
        snprintf(key, sizeof key, "epoch%lld.val_loss", (long long)e + 1);
        host->stat(run, key, r->epochs[e].val_loss);
        snprintf(key, sizeof key, "epoch%lld.val_agreement", (long long)e + 1);
        host->stat(run, key, r->epochs[e].val_agree);
        if (isnan(r->epochs[e].val_acc)) continue;
        snprintf(key, sizeof key, "epoch%lld.val_accuracy", (long long)e + 1);
        host->stat(run, key, r->epochs[e].val_acc);
    }
    const ecc_train_epoch *last = r->n_epochs ? &r->epochs[r->n_epochs - 1] : NULL;
    if (last && !isnan(last->val_agree))
        host->log(run, "%lld steps, %.0f samples/s; held-out agreement with the teacher "
                       "%.4f -> %.4f",
                  (long long)r->steps, r->samples_per_second, r->before.val_agree,
                  last->val_agree);
    if (last && !isnan(last->val_acc))
        host->log(run, "held-out accuracy on the labels %.4f -> %.4f", r->before.val_acc,
                  last->val_acc);
}

/* Trained values back into the initializers (copy-on-write). */
static ecc_status write_back(const ecc_host_api *host, ecc_pass_run *run, const picked *p,
                             float *const *trained) {
    for (size_t i = 0; i < p->n; i++) {
        float *w = host->tensor_f32_mut(run, p->v[i]->init);
        if (!w) return ECC_OOM(run->ctx);
        memcpy(w, trained[i], (size_t)p->v[i]->init->numel * sizeof(float));
    }
    return ECC_OK;
}

static ecc_status distill(const ecc_host_api *host, ecc_pass_run *run) {
    ecc_status st = ECC_OK;
    ecc_ctx *ctx = run->ctx;
    ecc_graph *g = run->model->graph;
    picked p = {0};
    calib_data *d = NULL;
    calib_out teacher = {0};
    ecc_model *tmodel = NULL;
    feature_set fs = {0};
    int64_t *labels = NULL;
    float **trained = NULL;
    ecc_train_result res = {0};
    train_sel sel;
    ecc_train_config cfg;
    const char *tpath = host->opt_string(run, "teacher");
    if (!tpath) tpath = run->model->path;
    ECC_FAIL_IF(!tpath, ctx, ECC_E_USAGE, "the model was not read from a file: give teacher=FILE");
    parse_train(host->opt_string(run, "train"), &sel);
    ECC_TRY(config_of(host, run, &cfg));
    ECC_TRY(refuse_untrainable(ctx, g));
    ECC_TRY(materialize_weights(ctx, g));
    if (sel.mode == TRAIN_LAST) ECC_TRY(pick_last(ctx, g, sel.last, &p));
    else ECC_TRY(pick_by_role(ctx, g, &sel, &p));
    ECC_FAIL_IF(p.n == 0, ctx, ECC_E_INPUT, "nothing to train: the model has no float32 weight "
                "that train=%s selects", host->opt_string(run, "train"));
    gradual_start(&p);
    if (cfg.lsq) ECC_TRY(scales_alloc(ctx, &p));
    const char *data = train_path(run), *lpath = calib_env_labels_path(run);
    ECC_TRY(calib_data_load(ctx, run->model, data, calib_env_given_size(run), &d));
    ECC_TRY(ecc_model_read(ctx, tpath, &tmodel));
    ECC_TRY(teacher_logits(ctx, tmodel, tpath, d, &teacher));
    const char *feats = host->opt_string(run, "features");
    ECC_FAIL_IF(feats && !features_parse(feats, &fs), ctx, ECC_E_INTERNAL, "out of memory");
    if (feats) ECC_TRY(features_bind(ctx, g, tmodel, &fs));
    if (lpath) ECC_TRY(calib_labels_load(ctx, lpath, data, d->samples, teacher.cols, &labels));
    else if (ecc_pass_run_opt_given(run, "alpha"))
        ecc_log(ctx, 0, "distill: alpha has no effect without --labels");
    trained = calloc(p.n + 1, sizeof *trained);
    ECC_FAIL_IF(!trained, ctx, ECC_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < p.n; i++) {
        trained[i] = malloc((size_t)p.v[i]->init->numel * sizeof(float) + 1);
        ECC_FAIL_IF(!trained[i], ctx, ECC_E_INTERNAL, "out of memory");
    }
    ecc_train_data td = {d->n_inputs, d->inputs, d->samples, teacher.y, teacher.cols, labels,
                         fs.f, fs.n, tmodel};
    ECC_TRY(ecc_train_run(ctx, run->model, p.t, p.n, &td, &cfg, trained, &res));
    ECC_TRY(write_back(host, run, &p, trained));
    ECC_TRY(scales_write_back(host, run, &p));
    act_scales_write_back(host, run, &res);
    codebooks_sort(&p);
    gradual_finish(ctx, g);
    report(host, run, &res, &p);
fail:
    for (size_t i = 0; trained && i < p.n; i++) free(trained[i]);
    free(trained);
    ecc_train_result_free(&res);
    free(labels);
    features_restore(g, &fs);
    ecc_model_free(tmodel);
    calib_out_free(&teacher);
    calib_data_free(d);
    scales_free(&p);
    free(p.t);
    free(p.v);
    free(p.g);
    return st;
}

static int distill_run(const ecc_host_api *host, ecc_pass_run *run) {
    ecc_status st = distill(host, run);
    if (st && !run->ctx->message[0]) return host->error(run, st, "distillation failed");
    return st;
}

/* Options and data that can be judged before any work: the training data
 * is there and --labels has one label per sample (headers only). */
static int distill_check(const ecc_host_api *host, ecc_pass_run *run) {
    train_sel sel;
    const char *t = host->opt_string(run, "train");
    if (!parse_train(t, &sel))
        return host->error(run, ECC_E_USAGE,
                           "train=%s: expected all, bias, bias+norm or last:K (K >= 1)", t);
    const char *feats = host->opt_string(run, "features");
    feature_set fs = {0};
    bool parsed = !feats || features_parse(feats, &fs);
    free(fs.text);
    free(fs.f);
    if (!parsed)
        return host->error(run, ECC_E_USAGE,
                           "features=%s: expected student_value:teacher_value pairs joined by "
                           "'+' (names without ':' or '+')",
                           feats);
    if (!train_path(run))
        return host->error(run, ECC_E_USAGE,
                           "distill trains on --train or --calib data: give --calib FILE");
    const char *lpath = calib_env_labels_path(run);
    if (lpath) return calib_labels_count_check(run->ctx, lpath, train_path(run));
    return ECC_PLUGIN_OK;
}

const ecc_pass_desc ecc_pass_distill = {
    .struct_size = sizeof(ecc_pass_desc),
    .name = "distill",
    .summary = "fine-tune against the input model as teacher (KL on softened logits, plus "
               "cross-entropy with --labels) on --train or --calib data, through pruning masks",
    .needs = ECC_NEED_CALIB | ECC_NEED_TRAIN | ECC_NEED_TEACHER,
    .options = distill_opts,
    .n_options = sizeof distill_opts / sizeof distill_opts[0],
    .run = distill_run,
    .check = distill_check,
};
