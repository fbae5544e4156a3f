/* optim.c — the trainer's optimizers (train.h): SGD (momentum, Nesterov,
 * coupled L2 decay) and AdamW (decoupled decay, bias correction), one row per
 * kind in optim_kinds; config bounds in optim_bounds; global-norm gradient
 * clipping. An ecc_optim owns its copy of the parameter list and the state
 * beside each parameter (float32, zeroed at create); the weight, gradient and
 * mask arrays stay the caller's. Updates run in double, in element order. */
#include "train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPTIM_MAX_STATES 2

typedef struct optim_slot {
    ecc_train_param p;
    float *state[OPTIM_MAX_STATES]; /* owned; NULL when the kind keeps fewer */
} optim_slot;

typedef struct optim_kind_row optim_kind_row;

struct ecc_optim {
    ecc_ctx *ctx; /* borrowed, for step errors */
    ecc_optim_config cfg;
    const optim_kind_row *row;
    int64_t steps;
    double bc1, bc2; /* AdamW bias corrections 1 − β^t of the current step */
    size_t n;
    optim_slot *slots; /* owned */
};

/* Updates one parameter at rate lr; pruned elements end 0 with zero state. */
typedef void (*optim_update_fn)(const ecc_optim *o, const optim_slot *s, double lr);

static void sgd_update(const ecc_optim *o, const optim_slot *s, double lr);
static void adamw_update(const ecc_optim *o, const optim_slot *s, double lr);

struct optim_kind_row {
    const char *name;
    int states; /* float arrays of n elements beside each parameter */
    optim_update_fn update;
    ecc_optim_config defaults;
};

static const optim_kind_row optim_kinds[ECC_OPTIM_COUNT] = {
    [ECC_OPTIM_SGD] = {"sgd", 1, sgd_update,
                       {.kind = ECC_OPTIM_SGD, .momentum = 0.9}},
    [ECC_OPTIM_ADAMW] = {"adamw", 2, adamw_update,
                         {.kind = ECC_OPTIM_ADAMW, .weight_decay = 0.01, .beta1 = 0.9,
                          .beta2 = 0.999, .eps = 1e-8}},
};

/* A double field of ecc_optim_config with its bounds, for the kinds in mask. */
typedef struct optim_bound {
    const char *name;
    size_t offset;
    unsigned kinds; /* bit per ecc_optim_kind */
    double lo, hi;  /* lo <= v (lo < v when lo_open); v < hi; hi = INFINITY: no upper bound */
    bool lo_open;
} optim_bound;

#define KIND_BIT(k) (1u << (k))
#define ALL_KINDS (KIND_BIT(ECC_OPTIM_SGD) | KIND_BIT(ECC_OPTIM_ADAMW))
static const optim_bound optim_bounds[] = {
    {"weight_decay", offsetof(ecc_optim_config, weight_decay), ALL_KINDS, 0, INFINITY, false},
    {"momentum", offsetof(ecc_optim_config, momentum), KIND_BIT(ECC_OPTIM_SGD), 0, 1, false},
    {"beta1", offsetof(ecc_optim_config, beta1), KIND_BIT(ECC_OPTIM_ADAMW), 0, 1, false},
    {"beta2", offsetof(ecc_optim_config, beta2), KIND_BIT(ECC_OPTIM_ADAMW), 0, 1, false},
    {"eps", offsetof(ecc_optim_config, eps), KIND_BIT(ECC_OPTIM_ADAMW), 0, INFINITY, true},
};

ecc_optim_config ecc_optim_defaults(ecc_optim_kind kind) {
    if ((unsigned)kind >= ECC_OPTIM_COUNT) kind = ECC_OPTIM_SGD;
    return optim_kinds[kind].defaults;
}

const char *ecc_optim_kind_name(ecc_optim_kind kind) {
    return (unsigned)kind < ECC_OPTIM_COUNT ? optim_kinds[kind].name : NULL;
}

ecc_status ecc_optim_kind_parse(ecc_ctx *ctx, const char *name, ecc_optim_kind *out) {
    ecc_status st = ECC_OK;
    for (int k = 0; k < ECC_OPTIM_COUNT; k++)
        if (name && strcmp(name, optim_kinds[k].name) == 0) {
            *out = (ecc_optim_kind)k;
            return ECC_OK;
        }
    ECC_FAIL_IF(true, ctx, ECC_E_USAGE, "unknown optimizer '%s' (choices: sgd, adamw)",
                name ? name : "");
fail:
    return st;
}

/* "in [0, 1)", ">= 0" or "> 0": the bound as the message shows it. */
static void optim_bound_text(const optim_bound *b, char *buf, size_t size) {
    if (isinf(b->hi))
        snprintf(buf, size, "%s %g", b->lo_open ? ">" : ">=", b->lo);
    else
        snprintf(buf, size, "in %c%g, %g)", b->lo_open ? '(' : '[', b->lo, b->hi);
}

ecc_status ecc_optim_config_check(ecc_ctx *ctx, const ecc_optim_config *cfg) {
    ecc_status st = ECC_OK;
    ECC_FAIL_IF((unsigned)cfg->kind >= ECC_OPTIM_COUNT, ctx, ECC_E_USAGE,
                "unknown optimizer kind %d", (int)cfg->kind);
    const char *kind = optim_kinds[cfg->kind].name;
    for (size_t i = 0; i < sizeof optim_bounds / sizeof optim_bounds[0]; i++) {
        const optim_bound *b = &optim_bounds[i];
        if (!(b->kinds & KIND_BIT(cfg->kind))) continue;
        double v = 0;
        memcpy(&v, (const char *)cfg + b->offset, sizeof v);
        bool ok = isfinite(v) && (b->lo_open ? v > b->lo : v >= b->lo) && v < b->hi;
        char bound[64];
        optim_bound_text(b, bound, sizeof bound);
        ECC_FAIL_IF(!ok, ctx, ECC_E_USAGE, "%s optimizer: %s must be finite and %s, got %g", kind,
                    b->name, bound, v);
    }
    ECC_FAIL_IF(cfg->kind == ECC_OPTIM_SGD && cfg->nesterov && !(cfg->momentum > 0), ctx,
                ECC_E_USAGE, "sgd optimizer: nesterov needs momentum > 0, got %g", cfg->momentum);
fail:
    return st;
}

static ecc_status optim_slot_init(ecc_ctx *ctx, const ecc_train_param *p, size_t i, int states,
                                  optim_slot *s) {
    ecc_status st = ECC_OK;
    ECC_FAIL_IF(p->n < 0 || (p->n > 0 && (!p->w || !p->g)), ctx, ECC_E_INTERNAL,
                "optimizer: parameter %zu has %lld elements but no weights or gradient", i,
                (long long)p->n);
    s->p = *p;
    size_t bytes = 0;
    ECC_FAIL_IF(!ecc_mul_size((size_t)p->n, sizeof(float), &bytes), ctx, ECC_E_INTERNAL,
                "optimizer: parameter %zu is too large", i);
    for (int k = 0; k < states && p->n > 0; k++) {
        s->state[k] = calloc(1, bytes);
        if (!s->state[k]) ECC_TRY(ECC_OOM(ctx));
    }
fail:
    return st;
}

ecc_status ecc_optim_create(ecc_ctx *ctx, const ecc_optim_config *cfg,
                            const ecc_train_param *params, size_t n, ecc_optim **out) {
    ecc_status st = ECC_OK;
    ecc_optim *o = NULL;
    *out = NULL;
    ECC_TRY(ecc_optim_config_check(ctx, cfg));
    o = calloc(1, sizeof *o);
    if (!o || !(o->slots = calloc(n ? n : 1, sizeof *o->slots))) ECC_TRY(ECC_OOM(ctx));
    o->ctx = ctx;
    o->cfg = *cfg;
    o->row = &optim_kinds[cfg->kind];
    o->n = n;
    /* SGD without momentum keeps no buffer */
    int states = cfg->kind == ECC_OPTIM_SGD && cfg->momentum == 0 ? 0 : o->row->states;
    for (size_t i = 0; i < n; i++)
        ECC_TRY(optim_slot_init(ctx, &params[i], i, states, &o->slots[i]));
    *out = o;
    return ECC_OK;
fail:
    ecc_optim_free(o);
    return st;
}

void ecc_optim_free(ecc_optim *o) {
    if (!o) return;
    for (size_t i = 0; i < o->n && o->slots; i++)
        for (int k = 0; k < OPTIM_MAX_STATES; k++) free(o->slots[i].state[k]);
    free(o->slots);
    free(o);
}

const float *ecc_optim_state(const ecc_optim *o, size_t i, int k) {
    if (!o || i >= o->n || k < 0 || k >= OPTIM_MAX_STATES) return NULL;
    return o->slots[i].state[k];
}

int64_t ecc_optim_steps(const ecc_optim *o) { return o ? o->steps : 0; }

static bool slot_pruned(const optim_slot *s, int64_t i) { return s->p.keep && !s->p.keep[i]; }

/* g' = g + wd·w; buf = μ·buf + g'; step = Nesterov ? g' + μ·buf : buf (g'
 * without momentum); w −= lr·step. */
static void sgd_update(const ecc_optim *o, const optim_slot *s, double lr) {
    const double mu = o->cfg.momentum, wd = s->p.decay ? o->cfg.weight_decay : 0;
    float *w = s->p.w, *buf = s->state[0];
    const float *g = s->p.g;
    for (int64_t i = 0; i < s->p.n; i++) {
        if (slot_pruned(s, i)) {
            w[i] = 0.0f;
            if (buf) buf[i] = 0.0f;
            continue;
        }
        double gi = (double)g[i] + wd * (double)w[i], d = gi;
        if (buf) {
            double b = mu * (double)buf[i] + gi;
            buf[i] = (float)b;
            d = o->cfg.nesterov ? gi + mu * b : b;
        }
        w[i] = (float)((double)w[i] - lr * d);
    }
}

/* w ·= 1 − lr·wd; m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²;
 * w −= lr·(m/bc1)/(√(v/bc2) + ε). */
static void adamw_update(const ecc_optim *o, const optim_slot *s, double lr) {
    const double b1 = o->cfg.beta1, b2 = o->cfg.beta2, eps = o->cfg.eps;
    const double shrink = s->p.decay ? 1.0 - lr * o->cfg.weight_decay : 1.0;
    float *w = s->p.w, *m = s->state[0], *v = s->state[1];
    const float *g = s->p.g;
    for (int64_t i = 0; i < s->p.n; i++) {
        if (slot_pruned(s, i)) {
            w[i] = m[i] = v[i] = 0.0f;
            continue;
        }
        double gi = g[i];
        double mi = b1 * (double)m[i] + (1 - b1) * gi, vi = b2 * (double)v[i] + (1 - b2) * gi * gi;
        m[i] = (float)mi;
        v[i] = (float)vi;
        w[i] = (float)((double)w[i] * shrink - lr * (mi / o->bc1) / (sqrt(vi / o->bc2) + eps));
    }
}

ecc_status ecc_optim_step(ecc_optim *o, double lr) {
    ecc_status st = ECC_OK;
    ECC_FAIL_IF(!(isfinite(lr) && lr >= 0), o->ctx, ECC_E_USAGE,
                "%s optimizer: learning rate must be finite and >= 0, got %g", o->row->name, lr);
    o->steps++;
    o->bc1 = 1.0 - pow(o->cfg.beta1, (double)o->steps);
    o->bc2 = 1.0 - pow(o->cfg.beta2, (double)o->steps);
    for (size_t i = 0; i < o->n; i++) o->row->update(o, &o->slots[i], lr);
fail:
    return st;
}

double ecc_grad_clip(const ecc_train_param *p, size_t n, double max_norm) {
    double sum = 0;
    for (size_t k = 0; k < n; k++)
        for (int64_t i = 0; i < p[k].n; i++)
            if (!p[k].keep || p[k].keep[i]) sum += (double)p[k].g[i] * (double)p[k].g[i];
    double norm = sqrt(sum);
    if (!(max_norm > 0 && isfinite(norm) && norm > max_norm)) return norm;
    const double scale = max_norm / norm;
    for (size_t k = 0; k < n; k++)
        for (int64_t i = 0; i < p[k].n; i++) p[k].g[i] = (float)((double)p[k].g[i] * scale);
    return norm;
}
