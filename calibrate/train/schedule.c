/* schedule.c — learning-rate schedules (train.h): constant, step and cosine,
 * one row per kind in lr_kinds (name and decay rule), each after a linear
 * warm-up. Owns nothing; schedules are plain values of the caller's. */
#include "train.h"

#include <math.h>
#include <string.h>

/* The rate `since` steps after warm-up, with `span` steps left to the end. */
typedef double (*lr_decay_fn)(const ecc_lr_schedule *s, int64_t since, int64_t span);

static double lr_constant(const ecc_lr_schedule *s, int64_t since, int64_t span) {
    (void)since;
    (void)span;
    return s->lr;
}

static double lr_step(const ecc_lr_schedule *s, int64_t since, int64_t span) {
    (void)span;
    return s->lr * pow(s->gamma, (double)(since / s->step_size));
}

/* min + (lr − min)·(1 + cos(π·since/span))/2: lr at the end of warm-up,
 * min_lr at total_steps and after. */
static double lr_cosine(const ecc_lr_schedule *s, int64_t since, int64_t span) {
    double p = span > 0 && since < span ? (double)since / (double)span : 1.0;
    return s->min_lr + (s->lr - s->min_lr) * 0.5 * (1.0 + cos(M_PI * p));
}

static const struct {
    const char *name;
    lr_decay_fn decay;
} lr_kinds[ECC_LR_COUNT] = {
    [ECC_LR_CONSTANT] = {"constant", lr_constant},
    [ECC_LR_STEP] = {"step", lr_step},
    [ECC_LR_COSINE] = {"cosine", lr_cosine},
};

const char *ecc_lr_kind_name(ecc_lr_kind kind) {
    return (unsigned)kind < ECC_LR_COUNT ? lr_kinds[kind].name : NULL;
}

ecc_status ecc_lr_kind_parse(ecc_ctx *ctx, const char *name, ecc_lr_kind *out) {
    ecc_status st = ECC_OK;
    for (int k = 0; k < ECC_LR_COUNT; k++)
        if (name && strcmp(name, lr_kinds[k].name) == 0) {
            *out = (ecc_lr_kind)k;
            return ECC_OK;
        }
    ECC_FAIL_IF(true, ctx, ECC_E_USAGE,
                "unknown lr schedule '%s' (choices: constant, step, cosine)", name ? name : "");
fail:
    return st;
}

ecc_status ecc_lr_schedule_check(ecc_ctx *ctx, const ecc_lr_schedule *s) {
    ecc_status st = ECC_OK;
    ECC_FAIL_IF((unsigned)s->kind >= ECC_LR_COUNT, ctx, ECC_E_USAGE,
                "unknown lr schedule kind %d", (int)s->kind);
    ECC_FAIL_IF(!(isfinite(s->lr) && s->lr > 0), ctx, ECC_E_USAGE,
                "lr schedule: lr must be finite and > 0, got %g", s->lr);
    ECC_FAIL_IF(s->warmup < 0, ctx, ECC_E_USAGE, "lr schedule: warmup must be >= 0, got %lld",
                (long long)s->warmup);
    ECC_FAIL_IF(s->kind == ECC_LR_COSINE && !(s->min_lr >= 0 && s->min_lr <= s->lr), ctx,
                ECC_E_USAGE, "lr schedule cosine: min_lr must be in [0, lr=%g], got %g", s->lr,
                s->min_lr);
    ECC_FAIL_IF(s->kind == ECC_LR_STEP && s->step_size < 1, ctx, ECC_E_USAGE,
                "lr schedule step: step_size must be >= 1, got %lld", (long long)s->step_size);
    ECC_FAIL_IF(s->kind == ECC_LR_STEP && !(s->gamma > 0 && s->gamma <= 1), ctx, ECC_E_USAGE,
                "lr schedule step: gamma must be in (0, 1], got %g", s->gamma);
fail:
    return st;
}

double ecc_lr_at(const ecc_lr_schedule *s, int64_t step, int64_t total_steps) {
    if (step < 0) step = 0;
    if (total_steps > 0 && step > total_steps) step = total_steps;
    if (step < s->warmup) return s->lr * (double)(step + 1) / (double)s->warmup;
    return lr_kinds[s->kind].decay(s, step - s->warmup, total_steps - s->warmup);
}
