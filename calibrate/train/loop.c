/* loop.c — the training loop (train.h): a seeded split into training and
 * held-out samples, shuffled mini-batches gathered from memory, the
 * interpreter's forward and backward on the student, the distillation loss
 * (T² KL against the teacher's logits, plus alpha · cross-entropy when labels
 * are given) on output 0 and beta · MSE of each feature pair (the student's
 * value as an extra output, the teacher run on the same batch), gradient
 * clipping, the optimizer step at the schedule's rate with masks kept at
 * zero, held-out metrics per epoch, and a progress line on a terminal. */
#include "train.h"

#include "../interp.h"

#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A loss this many times the first step's (itself at least LOSS_FLOOR) is
 * divergence: the run stops instead of writing a broken model. */
#define DIVERGED 1000.0
#define LOSS_FLOOR 0.01

/* The quantizer scales the interpreter learns, as optimizer parameters of
 * their own (no weight decay), stepped at lsq_lr along the schedule. The
 * optimizer moves their logarithms (gradient d/d log s = s d/ds), so a step
 * is a relative change and one rate fits scales of any magnitude. */
typedef struct scale_set {
    ecc_train_param *p;    /* w: log of the scales (owned), g: the interpreter's gradient */
    float **scale;         /* the interpreter's scales */
    size_t *target;        /* target index of each, SIZE_MAX for the activation scales */
    size_t n;
    ecc_optim *opt;
} scale_set;

typedef struct train_state {
    ecc_ctx *ctx;
    const ecc_train_data *d;
    const ecc_train_config *cfg;
    ecc_interp *it;
    int64_t *order;          /* permutation of the samples: held-out first */
    int64_t n_val, n_train;
    ecc_rt_tensor *batch;    /* per input: one batch of samples */
    float *target, *grad, *grad_ce; /* batch × classes */
    int64_t *labels;         /* batch */
    ecc_interp *teacher;     /* with features: the teacher, run on each batch */
    float **fgrad;           /* per feature: d(loss)/d(student value), grown as needed */
    size_t *fgrad_cap;       /* floats */
    ecc_rt_tensor *fdout;    /* per feature: the gradient handed to backward */
    const ecc_rt_tensor **dout; /* per student output */
    scale_set scales;        /* with lsq: the learned quantizer scales */
    ecc_tied *tied;          /* per target: its codebook's members (k = 0: none) */
    uint64_t rng;
    double t0, last_draw;
} train_state;

/* Fisher-Yates over a[0..n). */
static void shuffle(int64_t *a, int64_t n, uint64_t *rng) {
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)(ecc_splitmix64(rng) % (uint64_t)(i + 1));
        int64_t t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

/* ---------------- set-up ---------------- */

static ecc_status check_config(ecc_ctx *ctx, const ecc_train_config *c,
                               const ecc_train_data *d) {
    ecc_status st = ECC_OK;
    ECC_FAIL_IF(c->batch < 1, ctx, ECC_E_USAGE, "batch must be >= 1, got %lld",
                (long long)c->batch);
    ECC_FAIL_IF(c->epochs < 1 && c->steps < 1, ctx, ECC_E_USAGE, "epochs or steps must be >= 1");
    ECC_FAIL_IF(!(c->val >= 0 && c->val <= 0.5), ctx, ECC_E_USAGE,
                "val must be in [0, 0.5], got %g", c->val);
    ECC_FAIL_IF(!(c->temperature > 0 && isfinite(c->temperature)), ctx, ECC_E_USAGE,
                "temperature must be finite and > 0, got %g", c->temperature);
    ECC_FAIL_IF(!(c->alpha >= 0 && c->alpha <= 1), ctx, ECC_E_USAGE,
                "alpha must be in [0, 1], got %g", c->alpha);
    ECC_FAIL_IF(d->n_features && !(c->beta >= 0 && isfinite(c->beta)), ctx, ECC_E_USAGE,
                "beta must be finite and >= 0, got %g", c->beta);
    ECC_FAIL_IF(d->n_features && !d->teacher, ctx, ECC_E_USAGE,
                "feature pairs need the teacher model");
    ECC_TRY(ecc_optim_config_check(ctx, &c->optim));
    ECC_TRY(ecc_lr_schedule_check(ctx, &c->lr));
    ECC_FAIL_IF(d->samples < 2, ctx, ECC_E_INPUT, "training needs at least 2 samples, got %lld",
                (long long)d->samples);
fail:
    return st;
}

static ecc_status state_open(train_state *s, const struct ecc_model *student,
                             const ecc_train_target *targets, size_t n_targets) {
    ecc_status st = ECC_OK;
    const char **names = calloc(n_targets + 1, sizeof *names);
    ECC_FAIL_IF(!names, s->ctx, ECC_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < n_targets; i++) names[i] = targets[i].name;
    ecc_interp_options o = {.struct_size = sizeof o, .threads = s->cfg->threads,
                            .max_batch = s->cfg->batch, .params = names, .fake_quant = true,
                            .learn_scales = s->cfg->lsq};
    ECC_TRY(ecc_interp_create(s->ctx, student, &o, &s->it));
    ECC_FAIL_IF(ecc_interp_input_count(s->it) != s->d->n_inputs, s->ctx, ECC_E_INPUT,
                "the data has %zu inputs, the model %zu", s->d->n_inputs,
                ecc_interp_input_count(s->it));
    int64_t b = s->cfg->batch;
    s->batch = calloc(s->d->n_inputs + 1, sizeof *s->batch);
    s->target = malloc((size_t)(b * s->d->classes + 1) * sizeof(float));
    s->grad = malloc((size_t)(b * s->d->classes + 1) * sizeof(float));
    s->grad_ce = malloc((size_t)(b * s->d->classes + 1) * sizeof(float));
    s->labels = malloc((size_t)(b + 1) * sizeof(int64_t));
    s->order = malloc((size_t)(s->d->samples + 1) * sizeof(int64_t));
    ECC_FAIL_IF(!s->batch || !s->target || !s->grad || !s->grad_ce || !s->labels || !s->order,
                s->ctx,
                ECC_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < s->d->n_inputs; i++) {
        const ecc_rt_tensor *x = &s->d->inputs[i];
        size_t row = x->nbytes / (size_t)s->d->samples;
        s->batch[i] = *x;
        s->batch[i].data = malloc(row * (size_t)b + 1);
        ECC_FAIL_IF(!s->batch[i].data, s->ctx, ECC_E_INTERNAL, "out of memory");
    }
    for (int64_t i = 0; i < s->d->samples; i++) s->order[i] = i;
    s->rng = s->cfg->seed;
    shuffle(s->order, s->d->samples, &s->rng);
    s->n_val = (int64_t)floor(s->cfg->val * (double)s->d->samples);
    s->n_train = s->d->samples - s->n_val;
fail:
    free(names);
    return st;
}

/* The teacher's interpreter (keeping the feature values) and the buffers of
 * the feature gradients. */
static ecc_status features_open(train_state *s) {
    ecc_status st = ECC_OK;
    const ecc_train_data *d = s->d;
    size_t n_out = ecc_interp_output_count(s->it);
    const char **keep = calloc(d->n_features + 1, sizeof *keep);
    s->dout = calloc(n_out + 1, sizeof *s->dout);
    ECC_FAIL_IF(!keep || !s->dout, s->ctx, ECC_E_INTERNAL, "out of memory");
    if (d->n_features == 0) goto done;
    s->fgrad = calloc(d->n_features, sizeof *s->fgrad);
    s->fgrad_cap = calloc(d->n_features, sizeof *s->fgrad_cap);
    s->fdout = calloc(d->n_features, sizeof *s->fdout);
    ECC_FAIL_IF(!s->fgrad || !s->fgrad_cap || !s->fdout, s->ctx, ECC_E_INTERNAL,
                "out of memory");
    for (size_t k = 0; k < d->n_features; k++) {
        ECC_FAIL_IF(d->features[k].output == 0 || d->features[k].output >= n_out, s->ctx,
                    ECC_E_INTERNAL, "feature '%s': output %zu out of range",
                    d->features[k].student_value, d->features[k].output);
        keep[k] = d->features[k].teacher_value;
    }
    ecc_interp_options o = {.struct_size = sizeof o, .threads = s->cfg->threads,
                            .max_batch = s->cfg->batch, .keep = keep};
    ECC_TRY(ecc_interp_create(s->ctx, d->teacher, &o, &s->teacher));
done:
fail:
    free(keep);
    return st;
}

static void state_close(train_state *s) {
    for (size_t k = 0; s->fgrad && k < s->d->n_features; k++) free(s->fgrad[k]);
    free(s->fgrad);
    free(s->fgrad_cap);
    free(s->fdout);
    free(s->dout);
    ecc_interp_free(s->teacher);
    for (size_t i = 0; s->batch && i < s->d->n_inputs; i++) free(s->batch[i].data);
    free(s->batch);
    free(s->target);
    free(s->grad);
    free(s->grad_ce);
    free(s->labels);
    free(s->order);
    ecc_interp_free(s->it);
}

/* Copies samples idx[0..n) into the batch buffers (and their targets). */
static void gather(train_state *s, const int64_t *idx, int64_t n) {
    int64_t c = s->d->classes;
    for (size_t i = 0; i < s->d->n_inputs; i++) {
        const ecc_rt_tensor *x = &s->d->inputs[i];
        size_t row = x->nbytes / (size_t)s->d->samples;
        for (int64_t r = 0; r < n; r++)
            memcpy((uint8_t *)s->batch[i].data + (size_t)r * row,
                   (const uint8_t *)x->data + (size_t)idx[r] * row, row);
        s->batch[i].dims[0] = n;
        s->batch[i].nbytes = row * (size_t)n;
    }
    for (int64_t r = 0; r < n; r++) {
        memcpy(s->target + r * c, s->d->target + idx[r] * c, (size_t)c * sizeof(float));
        if (s->d->labels) s->labels[r] = s->d->labels[idx[r]];
    }
}

/* Output 0 of the last run as [n, classes] logits. */
static ecc_status logits_of(train_state *s, int64_t n, const ecc_rt_tensor **out) {
    const ecc_rt_tensor *y = ecc_interp_result(s->it, 0);
    bool ok = y && y->dtype == ECC_DTYPE_FLOAT && y->rank >= 1 && y->dims[0] == n &&
              (int64_t)(y->nbytes / sizeof(float)) == n * s->d->classes;
    if (!ok)
        return ecc_ctx_error(s->ctx, ECC_E_INPUT,
                             "the student's output 0 must be float32 [batch, %lld] like the "
                             "teacher's",
                             (long long)s->d->classes);
    *out = y;
    return ECC_OK;
}

/* beta · MSE of feature pair k on the last runs of student and teacher;
 * with grad, its gradient into s->fgrad[k]. */
static ecc_status feature_loss(train_state *s, size_t k, bool grad, double *loss) {
    const ecc_train_feature *f = &s->d->features[k];
    const ecc_rt_tensor *a = ecc_interp_result(s->it, f->output);
    const ecc_rt_tensor *b = ecc_interp_value(s->teacher, f->teacher_value);
    bool same = a && b && a->dtype == ECC_DTYPE_FLOAT && b->dtype == ECC_DTYPE_FLOAT &&
                a->rank == b->rank && a->nbytes == b->nbytes &&
                !memcmp(a->dims, b->dims, (size_t)a->rank * sizeof *a->dims);
    if (!same)
        return ecc_ctx_error(s->ctx, ECC_E_INPUT,
                             "features: student value '%s' and teacher value '%s' must both "
                             "be float32 of the same shape",
                             f->student_value, f->teacher_value);
    int64_t n = (int64_t)(a->nbytes / sizeof(float));
    if (grad && (size_t)n > s->fgrad_cap[k]) {
        float *g = realloc(s->fgrad[k], (size_t)n * sizeof *g);
        if (!g) return ECC_OOM(s->ctx);
        s->fgrad[k] = g;
        s->fgrad_cap[k] = (size_t)n;
    }
    double l;
    float *g = grad ? s->fgrad[k] : NULL;
    ecc_status st = ecc_loss_mse(s->ctx, a->data, b->data, n, &l, g);
    if (st) return st;
    *loss += s->cfg->beta * l;
    for (int64_t i = 0; g && i < n; i++) g[i] = (float)(s->cfg->beta * g[i]);
    if (grad) {
        s->fdout[k] = *a;
        s->fdout[k].data = g;
    }
    return ECC_OK;
}

/* Forward on samples idx[0..n): the loss and (grad != NULL) its gradient. */
static ecc_status forward_loss(train_state *s, const int64_t *idx, int64_t n, double *loss,
                               float *grad, const ecc_rt_tensor **y) {
    ecc_status st = ECC_OK;
    gather(s, idx, n);
    ECC_TRY(ecc_interp_run(s->ctx, s->it, s->batch, s->d->n_inputs));
    ECC_TRY(logits_of(s, n, y));
    const float *logit = (*y)->data;
    int64_t c = s->d->classes;
    ECC_TRY(ecc_loss_kl(s->ctx, logit, s->target, n, c, s->cfg->temperature, loss, grad));
    if (s->d->labels && s->cfg->alpha > 0) {
        double ce, a = s->cfg->alpha;
        ECC_TRY(ecc_loss_ce(s->ctx, logit, s->labels, n, c, &ce, grad ? s->grad_ce : NULL));
        *loss = (1 - a) * *loss + a * ce;
        for (int64_t i = 0; grad && i < n * c; i++)
            grad[i] = (float)((1 - a) * grad[i] + a * s->grad_ce[i]);
    }
    if (s->d->n_features) ECC_TRY(ecc_interp_run(s->ctx, s->teacher, s->batch, s->d->n_inputs));
    for (size_t k = 0; k < s->d->n_features; k++)
        ECC_TRY(feature_loss(s, k, grad != NULL, loss));
fail:
    return st;
}

/* ---------------- held-out metrics ---------------- */

static ecc_status evaluate(train_state *s, ecc_train_epoch *e) {
    ecc_status st = ECC_OK;
    double loss_sum = 0;
    int64_t agree = 0, right = 0, c = s->d->classes;
    e->val_loss = e->val_agree = e->val_acc = NAN;
    if (s->n_val == 0) return ECC_OK;
    for (int64_t at = 0; at < s->n_val; at += s->cfg->batch) {
        int64_t n = s->n_val - at < s->cfg->batch ? s->n_val - at : s->cfg->batch;
        const ecc_rt_tensor *y;
        double loss;
        ECC_TRY(forward_loss(s, s->order + at, n, &loss, NULL, &y));
        loss_sum += loss * (double)n;
        for (int64_t r = 0; r < n; r++) {
            int64_t top = ecc_argmax_f32((const float *)y->data + r * c, c);
            agree += top == ecc_argmax_f32(s->target + r * c, c);
            if (s->d->labels) right += top == s->labels[r];
        }
    }
    e->val_loss = loss_sum / (double)s->n_val;
    e->val_agree = (double)agree / (double)s->n_val;
    if (s->d->labels) e->val_acc = (double)right / (double)s->n_val;
fail:
    return st;
}

/* ---------------- steps ---------------- */

static void log_epoch(ecc_ctx *ctx, int64_t e, const ecc_train_epoch *ep) {
    char acc[48] = "";
    if (!isnan(ep->val_acc)) snprintf(acc, sizeof acc, ", accuracy %.4f", ep->val_acc);
    ecc_log(ctx, 1, "distill: epoch %lld: loss %.5f, held-out loss %.5f, agreement %.4f%s",
            (long long)e + 1, ep->loss, ep->val_loss, ep->val_agree, acc);
}

static void draw_progress(train_state *s, int64_t epoch, int64_t step, int64_t total,
                          double loss, const ecc_train_epoch *last) {
    double t = ecc_now_seconds();
    if (!s->cfg->progress || (t - s->last_draw < 0.2 && step < total)) return;
    s->last_draw = t;
    double rate = (double)step * (double)s->cfg->batch / (t - s->t0 + 1e-9);
    double eta = step ? (t - s->t0) / (double)step * (double)(total - step) : 0;
    fprintf(s->ctx->log, "\rdistill: epoch %lld step %lld/%lld loss %.4f", (long long)epoch,
            (long long)step, (long long)total, loss);
    if (last && !isnan(last->val_agree))
        fprintf(s->ctx->log, " held-out agreement %.4f", last->val_agree);
    if (last && !isnan(last->val_acc)) fprintf(s->ctx->log, " accuracy %.4f", last->val_acc);
    fprintf(s->ctx->log, "  %.0f samples/s  ETA %.0f s ", rate, eta);
    fflush(s->ctx->log);
}

/* ---------------- learned scales (LSQ) ---------------- */

/* Scale k of the set: the interpreter's values and gradient, optimised as
 * their logarithms in a buffer of its own. */
static ecc_status scales_add(train_state *s, scale_set *ss, size_t target, float *scale,
                             float *grad, int64_t n) {
    float *lg = malloc((size_t)n * sizeof *lg + 1);
    if (!lg) return ECC_OOM(s->ctx);
    for (int64_t j = 0; j < n; j++) lg[j] = logf(scale[j]);
    ss->target[ss->n] = target;
    ss->scale[ss->n] = scale;
    ss->p[ss->n++] = (ecc_train_param){lg, grad, n, NULL, false};
    return ECC_OK;
}

static ecc_status scales_open(train_state *s, size_t n_targets, scale_set *ss) {
    ecc_status st = ECC_OK;
    ss->p = calloc(n_targets + 2, sizeof *ss->p);
    ss->scale = calloc(n_targets + 2, sizeof *ss->scale);
    ss->target = calloc(n_targets + 2, sizeof *ss->target);
    ECC_FAIL_IF(!ss->p || !ss->scale || !ss->target, s->ctx, ECC_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < n_targets; i++) {
        int64_t n;
        float *sc = ecc_interp_param_scales(s->it, i, &n);
        if (sc) ECC_TRY(scales_add(s, ss, i, sc, ecc_interp_param_scale_grad(s->it, i), n));
    }
    size_t na = ecc_interp_act_scale_count(s->it);
    if (na)
        ECC_TRY(scales_add(s, ss, SIZE_MAX, ecc_interp_act_scales(s->it),
                           ecc_interp_act_scale_grads(s->it), (int64_t)na));
    if (!ss->n) return ECC_OK;
    ecc_optim_config oc = s->cfg->optim;
    oc.weight_decay = 0;
    ECC_TRY(ecc_optim_create(s->ctx, &oc, ss->p, ss->n, &ss->opt));
fail:
    return st;
}

/* The learned activation scales with their quantizers, for the caller. */
static ecc_status act_scales_out(train_state *s, ecc_train_result *res) {
    size_t na = s->cfg->lsq ? ecc_interp_act_scale_count(s->it) : 0;
    if (!na) return ECC_OK;
    res->act_scales = calloc(na, sizeof *res->act_scales);
    if (!res->act_scales) return ECC_OOM(s->ctx);
    const float *v = ecc_interp_act_scales(s->it);
    for (size_t k = 0; k < na; k++)
        res->act_scales[k] = (ecc_learned_scale){ecc_interp_act_scale_quantizer(s->it, k), v[k]};
    res->n_act_scales = na;
    return ECC_OK;
}

static void scales_close(scale_set *ss) {
    ecc_optim_free(ss->opt);
    for (size_t k = 0; k < ss->n; k++) free(ss->p[k].w);
    free(ss->p);
    free(ss->scale);
    free(ss->target);
}

/* One step of the scales, in log space. */
static ecc_status scales_step(const train_state *s, scale_set *ss, int64_t step, int64_t total) {
    if (!ss->opt) return ECC_OK;
    for (size_t k = 0; k < ss->n; k++)
        for (int64_t j = 0; j < ss->p[k].n; j++) ss->p[k].g[j] *= ss->scale[k][j];
    double lr = ecc_lr_at(&s->cfg->lr, step, total) * s->cfg->lsq_lr / s->cfg->lr.lr;
    ecc_status st = ecc_optim_step(ss->opt, lr);
    for (size_t k = 0; k < ss->n; k++)
        for (int64_t j = 0; j < ss->p[k].n; j++) ss->scale[k][j] = expf(ss->p[k].w[j]);
    return st;
}

static ecc_status step_once(train_state *s, ecc_optim *opt, const ecc_train_param *tp,
                            size_t n_tp, const int64_t *idx, int64_t n, int64_t step,
                            int64_t total, double *loss) {
    ecc_status st = ECC_OK;
    const ecc_rt_tensor *y;
    ECC_TRY(forward_loss(s, idx, n, loss, s->grad, &y));
    ECC_FAIL_IF(!isfinite(*loss), s->ctx, ECC_E_INTERNAL,
                "training diverged at step %lld: the loss is %s (try a smaller lr)",
                (long long)step + 1, isnan(*loss) ? "NaN" : "infinite");
    ecc_rt_tensor d = *y;
    d.data = s->grad;
    s->dout[0] = &d;
    for (size_t k = 0; k < s->d->n_features; k++)
        s->dout[s->d->features[k].output] = &s->fdout[k];
    ECC_TRY(ecc_interp_backward(s->ctx, s->it, s->dout));
    for (size_t i = 0; s->tied && i < n_tp; i++)
        if (s->tied[i].k) ecc_tied_grad(&s->tied[i], tp[i].g);
    ecc_grad_clip(tp, n_tp, s->cfg->clip);
    ECC_TRY(ecc_optim_step(opt, ecc_lr_at(&s->cfg->lr, step, total)));
    ECC_TRY(scales_step(s, &s->scales, step, total));
fail:
    return st;
}

static ecc_status params_make(train_state *s, const ecc_train_target *targets, size_t n,
                              ecc_train_param **out) {
    ecc_train_param *p = calloc(n + 1, sizeof *p);
    if (!p) return ECC_OOM(s->ctx);
    for (size_t i = 0; i < n; i++) {
        const ecc_value *v = ecc_interp_param_value(s->it, i);
        p[i] = (ecc_train_param){ecc_interp_param(s->it, i), ecc_interp_param_grad(s->it, i),
                                 v->init->numel, targets[i].keep, targets[i].decay};
    }
    *out = p;
    return ECC_OK;
}

/* Gradual pruning: the masks due at this step re-ranked (gradual.c). */
static ecc_status ramp_masks(ecc_ctx *ctx, const ecc_train_target *targets,
                             const ecc_train_param *tp, size_t n, int64_t step, int64_t total) {
    for (size_t i = 0; i < n; i++) {
        const ecc_gradual *g = targets[i].gradual;
        if (!g || !targets[i].keep || !ecc_gradual_due(g, step, total)) continue;
        ecc_status st = ecc_gradual_apply(ctx, g, tp[i].w, targets[i].keep, step, total);
        if (st) return st;
    }
    return ECC_OK;
}

/* Clustered targets: their members, found by value in their codebooks. */
static ecc_status tied_open(train_state *s, const ecc_train_target *targets,
                            const ecc_train_param *tp, size_t n) {
    s->tied = calloc(n + 1, sizeof *s->tied);
    if (!s->tied) return ECC_OOM(s->ctx);
    for (size_t i = 0; i < n; i++) {
        if (!targets[i].codebook || targets[i].codebook_k < 1) continue;
        ecc_status st = ecc_tied_open(s->ctx, tp[i].w, targets[i].keep, tp[i].n,
                                      targets[i].codebook, targets[i].codebook_k, &s->tied[i]);
        if (st) return st;
    }
    return ECC_OK;
}

static void tied_close(train_state *s, size_t n) {
    for (size_t i = 0; s->tied && i < n; i++) ecc_tied_close(&s->tied[i]);
    free(s->tied);
}

static size_t param_bytes(const ecc_train_param *p, size_t n, int states) {
    size_t b = 0;
    for (size_t i = 0; i < n; i++) b += (size_t)p[i].n * sizeof(float) * (size_t)(2 + states);
    return b;
}

ecc_status ecc_train_run(ecc_ctx *ctx, const struct ecc_model *student,
                         const ecc_train_target *targets, size_t n_targets,
                         const ecc_train_data *data, const ecc_train_config *cfg,
                         float *const *trained, ecc_train_result *res) {
    ecc_status st = ECC_OK;
    train_state s = {.ctx = ctx, .d = data, .cfg = cfg};
    ecc_optim *opt = NULL;
    ecc_train_param *tp = NULL;
    memset(res, 0, sizeof *res);
    ECC_TRY(check_config(ctx, cfg, data));
    ECC_TRY(state_open(&s, student, targets, n_targets));
    ECC_TRY(features_open(&s));
    ECC_TRY(params_make(&s, targets, n_targets, &tp));
    ECC_TRY(ecc_optim_create(ctx, &cfg->optim, tp, n_targets, &opt));
    if (cfg->lsq) ECC_TRY(scales_open(&s, n_targets, &s.scales));
    ECC_TRY(tied_open(&s, targets, tp, n_targets));
    int64_t per_epoch = (s.n_train + cfg->batch - 1) / cfg->batch;
    int64_t total = cfg->steps > 0 ? cfg->steps : cfg->epochs * per_epoch;
    int64_t epochs = (total + per_epoch - 1) / per_epoch;
    res->epochs = calloc((size_t)epochs + 1, sizeof *res->epochs);
    ECC_FAIL_IF(!res->epochs, ctx, ECC_E_INTERNAL, "out of memory");
    res->train_samples = s.n_train;
    res->val_samples = s.n_val;
    ECC_TRY(ramp_masks(ctx, targets, tp, n_targets, 0, total));
    ECC_TRY(evaluate(&s, &res->before));
    s.t0 = ecc_now_seconds();
    int64_t step = 0;
    size_t peak = 0;
    double first = LOSS_FLOOR;
    for (int64_t e = 0; e < epochs; e++) {
        int64_t *tr = s.order + s.n_val;
        double sum = 0;
        int64_t seen = 0;
        shuffle(tr, s.n_train, &s.rng);
        for (int64_t at = 0; at < s.n_train && step < total; at += cfg->batch, step++) {
            int64_t n = s.n_train - at < cfg->batch ? s.n_train - at : cfg->batch;
            double loss;
            if (step > 0) ECC_TRY(ramp_masks(ctx, targets, tp, n_targets, step, total));
            ECC_TRY(step_once(&s, opt, tp, n_targets, tr + at, n, step, total, &loss));
            if (step == 0) first = loss > LOSS_FLOOR ? loss : LOSS_FLOOR;
            ECC_FAIL_IF(loss > DIVERGED * first, ctx, ECC_E_INTERNAL,
                        "training diverged at step %lld: the loss %g is over %g times the "
                        "first step's (try a smaller lr)",
                        (long long)step + 1, loss, DIVERGED);
            size_t mem = ecc_interp_workspace_bytes(s.it) + ecc_interp_grad_peak_bytes(s.it) +
                         (s.teacher ? ecc_interp_workspace_bytes(s.teacher) : 0);
            if (mem > peak) peak = mem;
            sum += loss * (double)n;
            seen += n;
            draw_progress(&s, e + 1, step + 1, total, loss, e ? &res->epochs[e - 1] : NULL);
        }
        res->epochs[e].loss = seen ? sum / (double)seen : NAN;
        ECC_TRY(evaluate(&s, &res->epochs[e]));
        res->n_epochs = e + 1;
        log_epoch(ctx, e, &res->epochs[e]);
    }
    if (cfg->progress) fprintf(ctx->log, "\r%*s\r", 100, "");
    res->steps = step;
    res->seconds = ecc_now_seconds() - s.t0;
    res->samples_per_second = res->seconds > 0 ? (double)(step * cfg->batch) / res->seconds : 0;
    res->peak_bytes = peak + param_bytes(tp, n_targets, cfg->optim.kind == ECC_OPTIM_ADAMW ? 2 : 1);
    for (size_t i = 0; i < n_targets; i++)
        memcpy(trained[i], tp[i].w, (size_t)tp[i].n * sizeof(float));
    for (size_t k = 0; k < s.scales.n; k++) {
        if (s.scales.target[k] == SIZE_MAX) continue;
        float *out = targets[s.scales.target[k]].scales;
        if (out) memcpy(out, s.scales.scale[k], (size_t)s.scales.p[k].n * sizeof(float));
    }
    ECC_TRY(act_scales_out(&s, res));
    for (size_t i = 0; i < n_targets; i++)
        if (s.tied[i].k)
            ecc_tied_centroids(&s.tied[i], tp[i].w, targets[i].codebook, targets[i].codebook);
fail:
    tied_close(&s, n_targets);
    scales_close(&s.scales);
    ecc_optim_free(opt);
    free(tp);
    state_close(&s);
    return st;
}

void ecc_train_result_free(ecc_train_result *res) {
    if (!res) return;
    free(res->epochs);
    res->epochs = NULL;
    free(res->act_scales);
    res->act_scales = NULL;
    res->n_act_scales = 0;
}
