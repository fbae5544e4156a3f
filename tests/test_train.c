/* test_train.c — the trainer's numeric core (calibrate/train/): loss values
 * and gradients against central finite differences, optimizer steps against
 * reference formulas written here in double, masks staying exactly zero,
 * AdamW minimising a quadratic, schedules, gradient clipping and the usage
 * errors of bad configurations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "train/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct fixture {
    ecc_ctx *ctx;
    uint64_t rng;
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->ctx = ecc_ctx_create();
    ecc_ctx_set_verbosity(f->ctx, -1);
    f->rng = 0x9e3779b97f4a7c15ull;
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    ecc_ctx_free(f->ctx);
    free(f);
    return 0;
}

/* A multiple of 1/64 in [-4, 4]: adding the finite-difference step 2^-12
 * to it is exact in float, so the perturbation is exactly the one assumed. */
static float grid_rand(fixture *f) {
    f->rng = f->rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((int)((f->rng >> 33) % 513) - 256) / 64.0f;
}

static void assert_has(const char *msg, const char *part) {
    if (!strstr(msg, part)) fail_msg("message '%s' lacks '%s'", msg, part);
}

static void assert_close(double got, double want, double tol, const char *what, int i) {
    if (!(fabs(got - want) <= tol)) fail_msg("%s[%d]: got %.12g, want %.12g", what, i, got, want);
}

/* ---------------- losses ---------------- */

#define FD_STEP (1.0f / 4096.0f)

typedef double (*loss_of_fn)(fixture *f, float *x, void *arg);

/* Central differences of loss_of around x against grad, relative error
 * 1e-4 (floor 1e-3 on the magnitude for entries near zero). */
static void check_fd(fixture *f, float *x, int n, const float *grad, loss_of_fn loss_of, void *arg,
                     const char *what) {
    for (int i = 0; i < n; i++) {
        float keep = x[i];
        x[i] = keep + FD_STEP;
        double up = loss_of(f, x, arg);
        x[i] = keep - FD_STEP;
        double down = loss_of(f, x, arg);
        x[i] = keep;
        double fd = (up - down) / (2.0 * (double)FD_STEP);
        double scale = fmax(fmax(fabs(fd), fabs((double)grad[i])), 1e-3);
        if (fabs(fd - (double)grad[i]) > 1e-4 * scale)
            fail_msg("%s: d/dx[%d] analytic %.10g, finite differences %.10g", what, i,
                     (double)grad[i], fd);
    }
}

enum { ROWS = 3, COLS = 7 };

typedef struct kl_arg {
    const float *teacher;
    double t;
} kl_arg;

static double kl_of(fixture *f, float *student, void *arg) {
    const kl_arg *a = arg;
    double loss = 0;
    assert_int_equal(ecc_loss_kl(f->ctx, student, a->teacher, ROWS, COLS, a->t, &loss, NULL),
                     ECC_OK);
    return loss;
}

static void test_kl_gradient_fd(void **state) {
    fixture *f = *state;
    const double temps[] = {0.5, 1.0, 2.0, 4.0};
    float s[ROWS * COLS], t[ROWS * COLS], g[ROWS * COLS];
    for (size_t k = 0; k < sizeof temps / sizeof temps[0]; k++) {
        for (int i = 0; i < ROWS * COLS; i++) s[i] = grid_rand(f), t[i] = grid_rand(f);
        double loss = 0;
        assert_int_equal(ecc_loss_kl(f->ctx, s, t, ROWS, COLS, temps[k], &loss, g), ECC_OK);
        assert_true(loss > 0);
        kl_arg a = {t, temps[k]};
        check_fd(f, s, ROWS * COLS, g, kl_of, &a, "kl");
    }
}

/* The value by the textbook formula, one row, in double. */
static void test_kl_value(void **state) {
    fixture *f = *state;
    const float s[] = {1.0f, 0.0f, -1.0f}, t[] = {0.5f, 0.5f, 2.0f};
    const double T = 2.0;
    double zs = 0, zt = 0, want = 0;
    for (int j = 0; j < 3; j++) zs += exp(s[j] / T), zt += exp(t[j] / T);
    for (int j = 0; j < 3; j++) {
        double ps = exp(s[j] / T) / zs, pt = exp(t[j] / T) / zt;
        want += pt * log(pt / ps);
    }
    want *= T * T;
    double loss = 0;
    assert_int_equal(ecc_loss_kl(f->ctx, s, t, 1, 3, T, &loss, NULL), ECC_OK);
    assert_close(loss, want, 1e-12, "kl", 0);
}

static void test_kl_zero_when_equal(void **state) {
    fixture *f = *state;
    float s[ROWS * COLS], g[ROWS * COLS];
    for (int i = 0; i < ROWS * COLS; i++) s[i] = grid_rand(f) * 20.0f; /* large: stability */
    double loss = -1;
    assert_int_equal(ecc_loss_kl(f->ctx, s, s, ROWS, COLS, 3.0, &loss, g), ECC_OK);
    assert_true(loss == 0.0);
    for (int i = 0; i < ROWS * COLS; i++) assert_true(g[i] == 0.0f);
}

static void test_kl_stable_large_logits(void **state) {
    fixture *f = *state;
    const float s[] = {1000.0f, 0.0f}, t[] = {0.0f, 1000.0f};
    float g[2];
    double loss = 0;
    assert_int_equal(ecc_loss_kl(f->ctx, s, t, 1, 2, 1.0, &loss, g), ECC_OK);
    assert_close(loss, 1000.0, 1e-9, "kl", 0);
    assert_close(g[0], 1.0, 1e-7, "grad", 0);
    assert_close(g[1], -1.0, 1e-7, "grad", 1);
}

static void test_kl_bad_input(void **state) {
    fixture *f = *state;
    const float s[] = {1.0f, 2.0f, 3.0f, NAN}, t[] = {0, 0, 0, 0};
    double loss = 0;
    assert_int_equal(ecc_loss_kl(f->ctx, s, t, 2, 2, 0.0, &loss, NULL), ECC_E_USAGE);
    assert_has(ecc_ctx_message(f->ctx), "temperature");
    assert_int_equal(ecc_loss_kl(f->ctx, s, t, 2, 2, NAN, &loss, NULL), ECC_E_USAGE);
    assert_int_equal(ecc_loss_kl(f->ctx, s, t, 2, 2, 1.0, &loss, NULL), ECC_E_INPUT);
    assert_has(ecc_ctx_message(f->ctx), "row 1");
}

typedef struct ce_arg {
    const int64_t *labels;
} ce_arg;

static double ce_of(fixture *f, float *x, void *arg) {
    const ce_arg *a = arg;
    double loss = 0;
    assert_int_equal(ecc_loss_ce(f->ctx, x, a->labels, ROWS, COLS, &loss, NULL), ECC_OK);
    return loss;
}

static void test_ce_gradient_fd(void **state) {
    fixture *f = *state;
    float x[ROWS * COLS], g[ROWS * COLS];
    const int64_t labels[ROWS] = {0, 6, 3};
    for (int i = 0; i < ROWS * COLS; i++) x[i] = grid_rand(f);
    double loss = 0;
    assert_int_equal(ecc_loss_ce(f->ctx, x, labels, ROWS, COLS, &loss, g), ECC_OK);
    ce_arg a = {labels};
    check_fd(f, x, ROWS * COLS, g, ce_of, &a, "ce");
    /* each row's gradient sums to 0 */
    for (int r = 0; r < ROWS; r++) {
        double sum = 0;
        for (int j = 0; j < COLS; j++) sum += g[r * COLS + j];
        assert_close(sum, 0, 1e-7, "row sum", r);
    }
}

static void test_ce_hand_value(void **state) {
    fixture *f = *state;
    const float x[] = {1.0f, 2.0f, 3.0f, 0.0f, 0.0f, 0.0f};
    const int64_t labels[] = {2, 0};
    float g[6];
    double loss = 0;
    /* row 0: −log(e³/(e + e² + e³)); row 1: −log(1/3) */
    double row0 = -log(exp(3.0) / (exp(1.0) + exp(2.0) + exp(3.0))), row1 = log(3.0);
    assert_int_equal(ecc_loss_ce(f->ctx, x, labels, 2, 3, &loss, g), ECC_OK);
    assert_close(loss, (row0 + row1) / 2, 1e-12, "ce", 0);
    assert_close(g[3], (1.0 / 3 - 1) / 2, 1e-7, "grad", 3);
    assert_close(g[4], (1.0 / 3) / 2, 1e-7, "grad", 4);
}

static void test_ce_label_out_of_range(void **state) {
    fixture *f = *state;
    const float x[] = {1, 2, 3, 4, 5, 6};
    const int64_t high[] = {0, 3}, low[] = {-1, 0};
    double loss = 0;
    assert_int_equal(ecc_loss_ce(f->ctx, x, high, 2, 3, &loss, NULL), ECC_E_INPUT);
    assert_has(ecc_ctx_message(f->ctx), "row 1");
    assert_has(ecc_ctx_message(f->ctx), "[0, 3)");
    assert_int_equal(ecc_loss_ce(f->ctx, x, low, 2, 3, &loss, NULL), ECC_E_INPUT);
    assert_has(ecc_ctx_message(f->ctx), "row 0");
}

static void test_mse(void **state) {
    fixture *f = *state;
    const float a[] = {1.0f, -2.0f, 0.5f, 3.0f}, b[] = {0.0f, 0.0f, 0.5f, 1.0f};
    float g[4];
    double loss = 0;
    assert_int_equal(ecc_loss_mse(f->ctx, a, b, 4, &loss, g), ECC_OK);
    assert_close(loss, (1.0 + 4.0 + 0.0 + 4.0) / 4, 1e-12, "mse", 0);
    const double want[] = {0.5, -1.0, 0.0, 1.0}; /* 2(a − b)/n */
    for (int i = 0; i < 4; i++) assert_close(g[i], want[i], 1e-7, "grad", i);
}

/* ---------------- optimizers ---------------- */

enum { STEPS = 3, N = 3 };
static const double grads[STEPS][N] = {{0.5, -1.0, 2.0}, {0.25, 0.75, -1.5}, {-0.3, 0.1, 1.0}};
static const double lrs[STEPS] = {0.1, 0.05, 0.2};
static const float w0[N] = {1.0f, -0.5f, 0.25f};

/* SGD in double: g' = g + wd·w; b = μb + g'; step = nesterov ? g' + μb : b. */
static void ref_sgd(double *w, double mu, double wd, bool nesterov, int steps) {
    double b[N] = {0};
    for (int s = 0; s < steps; s++)
        for (int i = 0; i < N; i++) {
            double g = grads[s][i] + wd * w[i];
            b[i] = mu * b[i] + g;
            w[i] -= lrs[s] * (nesterov ? g + mu * b[i] : b[i]);
        }
}

/* AdamW in double, as in Loshchilov & Hutter with PyTorch's bias correction. */
static void ref_adamw(double *w, double b1, double b2, double eps, double wd, int steps) {
    double m[N] = {0}, v[N] = {0};
    for (int s = 0; s < steps; s++)
        for (int i = 0; i < N; i++) {
            double g = grads[s][i];
            w[i] -= lrs[s] * wd * w[i];
            m[i] = b1 * m[i] + (1 - b1) * g;
            v[i] = b2 * v[i] + (1 - b2) * g * g;
            double mh = m[i] / (1 - pow(b1, s + 1)), vh = v[i] / (1 - pow(b2, s + 1));
            w[i] -= lrs[s] * mh / (sqrt(vh) + eps);
        }
}

/* Runs STEPS steps of cfg on two copies of w0: one decayed, one not
 * (bias-like), both unmasked; checks every step against the reference. */
static void run_vs_ref(fixture *f, const ecc_optim_config *cfg) {
    float wa[N], wb[N], ga[N], gb[N];
    memcpy(wa, w0, sizeof wa);
    memcpy(wb, w0, sizeof wb);
    ecc_train_param p[2] = {{wa, ga, N, NULL, true}, {wb, gb, N, NULL, false}};
    ecc_optim *o = NULL;
    assert_int_equal(ecc_optim_create(f->ctx, cfg, p, 2, &o), ECC_OK);
    for (int s = 0; s < STEPS; s++) {
        for (int i = 0; i < N; i++) ga[i] = gb[i] = (float)grads[s][i];
        assert_int_equal(ecc_optim_step(o, lrs[s]), ECC_OK);
        for (int decay = 0; decay < 2; decay++) {
            double ref[N] = {w0[0], w0[1], w0[2]};
            double wd = decay ? cfg->weight_decay : 0;
            if (cfg->kind == ECC_OPTIM_SGD)
                ref_sgd(ref, cfg->momentum, wd, cfg->nesterov, s + 1);
            else
                ref_adamw(ref, cfg->beta1, cfg->beta2, cfg->eps, wd, s + 1);
            const float *got = decay ? wa : wb;
            for (int i = 0; i < N; i++)
                assert_close(got[i], ref[i], 1e-6, decay ? "decayed w" : "plain w", i);
        }
    }
    assert_int_equal(ecc_optim_steps(o), STEPS);
    ecc_optim_free(o);
}

static void test_sgd_momentum(void **state) {
    fixture *f = *state;
    ecc_optim_config cfg = ecc_optim_defaults(ECC_OPTIM_SGD);
    cfg.momentum = 0.9;
    cfg.weight_decay = 0.1;
    run_vs_ref(f, &cfg);
    cfg.momentum = 0; /* plain SGD, no buffer */
    run_vs_ref(f, &cfg);
}

static void test_sgd_nesterov(void **state) {
    fixture *f = *state;
    ecc_optim_config cfg = ecc_optim_defaults(ECC_OPTIM_SGD);
    cfg.momentum = 0.8;
    cfg.nesterov = true;
    cfg.weight_decay = 0.05;
    run_vs_ref(f, &cfg);
}

static void test_adamw(void **state) {
    fixture *f = *state;
    ecc_optim_config cfg = ecc_optim_defaults(ECC_OPTIM_ADAMW);
    cfg.weight_decay = 0.1;
    run_vs_ref(f, &cfg);
    cfg.beta1 = 0.5;
    cfg.beta2 = 0.9;
    cfg.eps = 1e-3;
    run_vs_ref(f, &cfg);
}

/* Pruned elements are exactly 0 with zero state after every step, even when
 * they start non-zero and have gradients and weight decay, and when the mask
 * grows between steps (gradual pruning: the state built up is dropped). */
static void test_mask_stays_zero(void **state) {
    fixture *f = *state;
    const ecc_optim_kind kinds[] = {ECC_OPTIM_SGD, ECC_OPTIM_ADAMW};
    for (int k = 0; k < 2; k++) {
        ecc_optim_config cfg = ecc_optim_defaults(kinds[k]);
        cfg.weight_decay = 0.1;
        cfg.nesterov = kinds[k] == ECC_OPTIM_SGD;
        float w[N] = {0.5f, 0.7f, -0.3f}, g[N];
        uint8_t keep[N] = {1, 0, 1};
        ecc_train_param p = {w, g, N, keep, true};
        ecc_optim *o = NULL;
        assert_int_equal(ecc_optim_create(f->ctx, &cfg, &p, 1, &o), ECC_OK);
        for (int s = 0; s < STEPS; s++) {
            for (int i = 0; i < N; i++) g[i] = (float)grads[s][i];
            assert_int_equal(ecc_optim_step(o, lrs[s]), ECC_OK);
            assert_true(w[1] == 0.0f && !signbit(w[1]));
            for (int st = 0; st < 2; st++) {
                const float *state_k = ecc_optim_state(o, 0, st);
                if (!state_k) continue;
                assert_true(state_k[1] == 0.0f);
                assert_true(state_k[0] != 0.0f); /* kept elements do have state */
            }
            assert_true(w[0] != 0.5f && w[2] != -0.3f);
        }
        keep[2] = 0; /* pruned later: weight and built-up state drop to 0 */
        assert_int_equal(ecc_optim_step(o, 0.1), ECC_OK);
        assert_true(w[2] == 0.0f && w[1] == 0.0f && w[0] != 0.0f);
        for (int st = 0; st < 2; st++)
            if (ecc_optim_state(o, 0, st)) assert_true(ecc_optim_state(o, 0, st)[2] == 0.0f);
        assert_non_null(ecc_optim_state(o, 0, 0));
        assert_null(ecc_optim_state(o, 1, 0));
        ecc_optim_free(o);
    }
}

/* AdamW with a cosine schedule drives (w − target)² to ~0 in 200 steps,
 * the gradient coming from ecc_loss_mse. */
static void test_adamw_minimises_quadratic(void **state) {
    fixture *f = *state;
    enum { Q = 4, QSTEPS = 200 };
    const float target[Q] = {1.5f, -2.0f, 0.25f, 3.0f};
    float w[Q] = {0}, g[Q];
    ecc_train_param p = {w, g, Q, NULL, false};
    ecc_optim_config cfg = ecc_optim_defaults(ECC_OPTIM_ADAMW);
    ecc_lr_schedule sched = {ECC_LR_COSINE, 0.1, 10, 0.0, 0, 0};
    assert_int_equal(ecc_lr_schedule_check(f->ctx, &sched), ECC_OK);
    ecc_optim *o = NULL;
    assert_int_equal(ecc_optim_create(f->ctx, &cfg, &p, 1, &o), ECC_OK);
    double first = 0, loss = 0;
    for (int s = 0; s < QSTEPS; s++) {
        assert_int_equal(ecc_loss_mse(f->ctx, w, target, Q, &loss, g), ECC_OK);
        if (s == 0) first = loss;
        assert_int_equal(ecc_optim_step(o, ecc_lr_at(&sched, s, QSTEPS)), ECC_OK);
    }
    assert_int_equal(ecc_loss_mse(f->ctx, w, target, Q, &loss, NULL), ECC_OK);
    ecc_optim_free(o);
    if (!(loss < 1e-4 && loss < first * 1e-4))
        fail_msg("loss %g after %d steps (started at %g)", loss, QSTEPS, first);
}

/* ---------------- clipping ---------------- */

static void test_grad_clip(void **state) {
    fixture *f = *state;
    float w[5] = {0}, g1[3] = {3.0f, 100.0f, 4.0f}, g2[2] = {12.0f, 0.0f};
    const uint8_t keep[3] = {1, 0, 1}; /* the 100 does not count */
    ecc_train_param p[2] = {{w, g1, 3, keep, true}, {w + 3, g2, 2, NULL, false}};
    (void)f;
    const double norm = 13.0; /* √(9 + 16 + 144) */
    assert_close(ecc_grad_clip(p, 2, 0), norm, 1e-12, "norm", 0);
    assert_true(g1[0] == 3.0f && g2[0] == 12.0f); /* measuring only */
    assert_close(ecc_grad_clip(p, 2, 20.0), norm, 1e-12, "norm", 0);
    assert_true(g1[0] == 3.0f && g2[0] == 12.0f); /* below the bound */
    assert_close(ecc_grad_clip(p, 2, 6.5), norm, 1e-12, "norm", 0);
    assert_close(ecc_grad_clip(p, 2, -1), 6.5, 1e-6, "clipped norm", 0);
    assert_close(g1[0], 1.5, 1e-7, "g1", 0);
    assert_close(g1[2], 2.0, 1e-7, "g1", 2);
    assert_close(g2[0], 6.0, 1e-7, "g2", 0);
}

/* ---------------- schedules ---------------- */

static void test_warmup_linear(void **state) {
    fixture *f = *state;
    ecc_lr_schedule s = {ECC_LR_CONSTANT, 0.1, 4, 0, 0, 0};
    assert_int_equal(ecc_lr_schedule_check(f->ctx, &s), ECC_OK);
    const double want[] = {0.025, 0.05, 0.075, 0.1, 0.1, 0.1};
    for (int i = 0; i < 6; i++) assert_close(ecc_lr_at(&s, i, 100), want[i], 1e-15, "lr", i);
    s.warmup = 0;
    assert_close(ecc_lr_at(&s, 0, 100), 0.1, 0, "lr", 0);
}

static void test_cosine(void **state) {
    fixture *f = *state;
    ecc_lr_schedule s = {ECC_LR_COSINE, 1.0, 5, 0.1, 0, 0};
    assert_int_equal(ecc_lr_schedule_check(f->ctx, &s), ECC_OK);
    assert_close(ecc_lr_at(&s, 0, 105), 0.2, 1e-15, "warm-up", 0);
    assert_close(ecc_lr_at(&s, 4, 105), 1.0, 1e-15, "end of warm-up", 4);
    assert_close(ecc_lr_at(&s, 5, 105), 1.0, 1e-15, "cosine start", 5);
    assert_close(ecc_lr_at(&s, 30, 105), 0.1 + 0.45 * (1 + cos(M_PI / 4)), 1e-12, "cosine", 30);
    assert_close(ecc_lr_at(&s, 55, 105), 0.55, 1e-12, "cosine middle", 55);
    assert_close(ecc_lr_at(&s, 105, 105), 0.1, 1e-15, "cosine end", 105);
    assert_close(ecc_lr_at(&s, 500, 105), 0.1, 1e-15, "past the end", 500);
    for (int i = 5; i < 105; i++) assert_true(ecc_lr_at(&s, i + 1, 105) < ecc_lr_at(&s, i, 105));
}

static void test_step_decay(void **state) {
    fixture *f = *state;
    ecc_lr_schedule s = {ECC_LR_STEP, 1.0, 2, 0, 3, 0.5};
    assert_int_equal(ecc_lr_schedule_check(f->ctx, &s), ECC_OK);
    const double want[] = {0.5, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125};
    for (int i = 0; i < 12; i++) assert_close(ecc_lr_at(&s, i, 100), want[i], 1e-15, "lr", i);
}

static void test_kind_parse(void **state) {
    fixture *f = *state;
    for (int k = 0; k < ECC_LR_COUNT; k++) {
        ecc_lr_kind got = ECC_LR_COUNT;
        assert_int_equal(ecc_lr_kind_parse(f->ctx, ecc_lr_kind_name((ecc_lr_kind)k), &got), ECC_OK);
        assert_int_equal(got, k);
    }
    ecc_lr_kind lk = ECC_LR_COUNT;
    assert_int_equal(ecc_lr_kind_parse(f->ctx, "cosine", &lk), ECC_OK);
    assert_int_equal(lk, ECC_LR_COSINE);
    assert_int_equal(ecc_lr_kind_parse(f->ctx, "linear", &lk), ECC_E_USAGE);
    assert_has(ecc_ctx_message(f->ctx), "'linear'");
    assert_has(ecc_ctx_message(f->ctx), "constant, step, cosine");
    ecc_optim_kind ok = ECC_OPTIM_COUNT;
    assert_int_equal(ecc_optim_kind_parse(f->ctx, "adamw", &ok), ECC_OK);
    assert_int_equal(ok, ECC_OPTIM_ADAMW);
    assert_int_equal(ecc_optim_kind_parse(f->ctx, "sgd", &ok), ECC_OK);
    assert_int_equal(ok, ECC_OPTIM_SGD);
    assert_int_equal(ecc_optim_kind_parse(f->ctx, "adam", &ok), ECC_E_USAGE);
    assert_has(ecc_ctx_message(f->ctx), "sgd, adamw");
    assert_null(ecc_lr_kind_name(ECC_LR_COUNT));
    assert_null(ecc_optim_kind_name(ECC_OPTIM_COUNT));
}

/* ---------------- bad configurations ---------------- */

static void test_bad_optim_config(void **state) {
    fixture *f = *state;
    static const struct {
        ecc_optim_kind kind;
        const char *field;
        double value;
        const char *says;
    } bad[] = {
        {ECC_OPTIM_SGD, "momentum", 1.0, "momentum must be finite and in [0, 1)"},
        {ECC_OPTIM_SGD, "momentum", -0.1, "momentum must be finite and in [0, 1)"},
        {ECC_OPTIM_SGD, "weight_decay", -1, "weight_decay must be finite and >= 0"},
        {ECC_OPTIM_ADAMW, "weight_decay", NAN, "weight_decay must be finite and >= 0"},
        {ECC_OPTIM_ADAMW, "beta1", 1.0, "beta1 must be finite and in [0, 1)"},
        {ECC_OPTIM_ADAMW, "beta2", -0.5, "beta2 must be finite and in [0, 1)"},
        {ECC_OPTIM_ADAMW, "eps", 0, "eps must be finite and > 0"},
        {ECC_OPTIM_ADAMW, "eps", INFINITY, "eps must be finite and > 0"},
        {ECC_OPTIM_SGD, "nesterov", 0, "nesterov needs momentum > 0"},
    };
    float w[1] = {0}, g[1] = {0};
    ecc_train_param p = {w, g, 1, NULL, true};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ecc_optim_config cfg = ecc_optim_defaults(bad[i].kind);
        double *field = strcmp(bad[i].field, "momentum") == 0       ? &cfg.momentum
                        : strcmp(bad[i].field, "weight_decay") == 0 ? &cfg.weight_decay
                        : strcmp(bad[i].field, "beta1") == 0        ? &cfg.beta1
                        : strcmp(bad[i].field, "beta2") == 0        ? &cfg.beta2
                        : strcmp(bad[i].field, "eps") == 0          ? &cfg.eps
                                                                    : &cfg.momentum;
        *field = bad[i].value;
        cfg.nesterov = strcmp(bad[i].field, "nesterov") == 0;
        ecc_optim *o = (ecc_optim *)0x1;
        assert_int_equal(ecc_optim_create(f->ctx, &cfg, &p, 1, &o), ECC_E_USAGE);
        assert_null(o);
        assert_has(ecc_ctx_message(f->ctx), bad[i].says);
        assert_has(ecc_ctx_message(f->ctx), ecc_optim_kind_name(bad[i].kind));
    }
    ecc_optim_config cfg = ecc_optim_defaults(ECC_OPTIM_SGD);
    cfg.kind = (ecc_optim_kind)7;
    assert_int_equal(ecc_optim_config_check(f->ctx, &cfg), ECC_E_USAGE);

    /* a bad learning rate at step time */
    ecc_optim *o = NULL;
    cfg = ecc_optim_defaults(ECC_OPTIM_ADAMW);
    assert_int_equal(ecc_optim_create(f->ctx, &cfg, &p, 1, &o), ECC_OK);
    assert_int_equal(ecc_optim_step(o, NAN), ECC_E_USAGE);
    assert_has(ecc_ctx_message(f->ctx), "learning rate must be finite and >= 0");
    assert_int_equal(ecc_optim_step(o, -0.1), ECC_E_USAGE);
    assert_int_equal(ecc_optim_steps(o), 0);
    ecc_optim_free(o);
    ecc_optim_free(NULL);
}

static void test_bad_schedule(void **state) {
    fixture *f = *state;
    static const struct {
        ecc_lr_schedule s;
        const char *says;
    } bad[] = {
        {{ECC_LR_CONSTANT, 0.0, 0, 0, 0, 0}, "lr must be finite and > 0, got 0"},
        {{ECC_LR_CONSTANT, -1.0, 0, 0, 0, 0}, "lr must be finite and > 0"},
        {{ECC_LR_COSINE, INFINITY, 0, 0, 0, 0}, "lr must be finite and > 0"},
        {{ECC_LR_COSINE, NAN, 0, 0, 0, 0}, "lr must be finite and > 0"},
        {{ECC_LR_CONSTANT, 0.1, -1, 0, 0, 0}, "warmup must be >= 0"},
        {{ECC_LR_COSINE, 0.1, 0, 0.2, 0, 0}, "min_lr must be in [0, lr=0.1]"},
        {{ECC_LR_COSINE, 0.1, 0, -0.01, 0, 0}, "min_lr must be in [0, lr=0.1]"},
        {{ECC_LR_STEP, 0.1, 0, 0, 0, 0.5}, "step_size must be >= 1"},
        {{ECC_LR_STEP, 0.1, 0, 0, 10, 0.0}, "gamma must be in (0, 1]"},
        {{ECC_LR_STEP, 0.1, 0, 0, 10, 1.5}, "gamma must be in (0, 1]"},
        {{(ecc_lr_kind)9, 0.1, 0, 0, 10, 0.5}, "unknown lr schedule kind 9"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(ecc_lr_schedule_check(f->ctx, &bad[i].s), ECC_E_USAGE);
        assert_has(ecc_ctx_message(f->ctx), bad[i].says);
    }
}

/* ---------------- gradual pruning (gradual.c) ---------------- */

/* The cubic schedule: start at step 0, the final sparsity from 3/4 of the
 * steps on, never decreasing; re-rankings at every `every` steps and at the
 * end of the ramp only. */
static void test_gradual_schedule(void **state) {
    (void)state;
    ecc_gradual g = {.final = 0.9, .start = 0.1, .every = 10, .rank = 1, .dims = {100}};
    assert_true(fabs(ecc_gradual_sparsity(&g, 0, 100) - 0.1) < 1e-12);
    assert_true(fabs(ecc_gradual_sparsity(&g, 75, 100) - 0.9) < 1e-12);
    assert_true(fabs(ecc_gradual_sparsity(&g, 99, 100) - 0.9) < 1e-12);
    /* halfway through the ramp: 0.9 + (0.1 - 0.9)(1 - 37/75)^3 */
    double half = 0.9 - 0.8 * pow(1.0 - 37.0 / 75.0, 3);
    assert_true(fabs(ecc_gradual_sparsity(&g, 37, 100) - half) < 1e-12);
    for (int64_t t = 1; t < 100; t++)
        assert_true(ecc_gradual_sparsity(&g, t, 100) >= ecc_gradual_sparsity(&g, t - 1, 100));
    int64_t due = 0;
    for (int64_t t = 0; t < 100; t++) due += ecc_gradual_due(&g, t, 100);
    assert_int_equal(due, 9); /* 0, 10, ..., 70 and 75 */
    assert_true(ecc_gradual_due(&g, 75, 100) && !ecc_gradual_due(&g, 80, 100));
}

/* Unstructured: exactly round(s n) smallest |w| removed and zeroed; a
 * removed weight stays removed when its magnitude would rank it back. */
static void test_gradual_unstructured(void **state) {
    fixture *f = *state;
    enum { NW = 1000 };
    float w[NW];
    uint8_t keep[NW];
    for (int i = 0; i < NW; i++) w[i] = grid_rand(f), keep[i] = 1;
    ecc_gradual g = {.final = 0.8, .start = 0.0, .rank = 2, .dims = {10, 100}};
    assert_int_equal(ecc_gradual_apply(f->ctx, &g, w, keep, 20, 100), ECC_OK);
    int64_t zeros = 0;
    float largest_removed = 0;
    for (int i = 0; i < NW; i++)
        if (!keep[i]) zeros++, assert_true(w[i] == 0.0f);
    assert_int_equal(zeros, llround(ecc_gradual_sparsity(&g, 20, 100) * NW));
    float before[NW];
    memcpy(before, w, sizeof w);
    for (int i = 0; i < NW; i++) /* removed weights that grew back stay removed */
        if (!keep[i]) w[i] = 5.0f;
    assert_int_equal(ecc_gradual_apply(f->ctx, &g, w, keep, 75, 100), ECC_OK);
    zeros = 0;
    for (int i = 0; i < NW; i++) {
        zeros += !keep[i];
        if (keep[i]) assert_true(w[i] == before[i] && before[i] != 0.0f);
        else largest_removed = fmaxf(largest_removed, fabsf(before[i]));
    }
    assert_int_equal(zeros, 800);
    float kept_min = 5;
    for (int i = 0; i < NW; i++)
        if (keep[i]) kept_min = fminf(kept_min, fabsf(w[i]));
    assert_true(largest_removed <= kept_min); /* the smallest magnitudes went */
}

/* N:M: every group of m along the axis keeps exactly n at the end, fewer
 * removed on the way. */
static void test_gradual_nm(void **state) {
    fixture *f = *state;
    enum { R = 6, K = 16 };
    float w[R * K];
    uint8_t keep[R * K];
    for (int i = 0; i < R * K; i++) w[i] = grid_rand(f), keep[i] = 1;
    ecc_gradual g = {.final = 0.5, .n = 2, .m = 4, .axis = 1, .rank = 2, .dims = {R, K}};
    assert_int_equal(ecc_gradual_apply(f->ctx, &g, w, keep, 10, 100), ECC_OK);
    int64_t zeros = 0;
    for (int i = 0; i < R * K; i++) zeros += !keep[i];
    assert_true(zeros > 0 && zeros < R * K / 2);
    assert_int_equal(ecc_gradual_apply(f->ctx, &g, w, keep, 80, 100), ECC_OK);
    for (int r = 0; r < R; r++)
        for (int j = 0; j < K; j += 4) {
            int kept = 0;
            for (int q = 0; q < 4; q++) kept += keep[r * K + j + q];
            assert_int_equal(kept, 2);
        }
}

/* ---------------- weight sharing (tied.c) ---------------- */

/* Members of a centroid share the sum of their gradients and stay equal
 * through AdamW steps; removed weights and values off the codebook are left
 * alone; the trained centroids are the members' values. */
static void test_tied_codebook(void **state) {
    fixture *f = *state;
    const float book[3] = {-0.5f, 0.25f, 1.0f};
    float w[12] = {0.25f, -0.5f, 1.0f, 0.25f, 0.0f, 1.0f, -0.5f, 0.25f, 0.7f, 1.0f, 0.25f, -0.5f};
    uint8_t keep[12] = {1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1};
    float g[12], cb[3];
    ecc_tied t;
    assert_int_equal(ecc_tied_open(f->ctx, w, keep, 12, book, 3, &t), ECC_OK);
    assert_int_equal(t.group[4], -1); /* removed */
    assert_int_equal(t.group[8], -1); /* 0.7 is no centroid */
    ecc_train_param p = {w, g, 12, keep, false};
    ecc_optim *opt = NULL;
    ecc_optim_config cfg = ecc_optim_defaults(ECC_OPTIM_ADAMW);
    assert_int_equal(ecc_optim_create(f->ctx, &cfg, &p, 1, &opt), ECC_OK);
    for (int step = 0; step < 5; step++) {
        for (int i = 0; i < 12; i++) g[i] = grid_rand(f);
        double want = (double)g[0] + g[3] + g[7] + g[10];
        float g8 = g[8];
        ecc_tied_grad(&t, g);
        assert_true(g[0] == (float)want && g[3] == g[0] && g[7] == g[0] && g[10] == g[0]);
        assert_true(g[8] == g8);
        assert_int_equal(ecc_optim_step(opt, 0.01), ECC_OK);
        assert_true(w[0] == w[3] && w[3] == w[7] && w[7] == w[10]);
        assert_true(w[1] == w[6] && w[6] == w[11] && w[2] == w[5] && w[5] == w[9]);
        assert_true(w[4] == 0.0f);
    }
    assert_true(w[0] != 0.25f); /* it did train */
    ecc_tied_centroids(&t, w, book, cb);
    assert_true(cb[0] == w[1] && cb[1] == w[0] && cb[2] == w[2]);
    ecc_optim_free(opt);
    ecc_tied_close(&t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_kl_gradient_fd, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kl_value, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kl_zero_when_equal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kl_stable_large_logits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kl_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ce_gradient_fd, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ce_hand_value, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ce_label_out_of_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sgd_momentum, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sgd_nesterov, setup, teardown),
        cmocka_unit_test_setup_teardown(test_adamw, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mask_stays_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(test_adamw_minimises_quadratic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_grad_clip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_warmup_linear, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cosine, setup, teardown),
        cmocka_unit_test_setup_teardown(test_step_decay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kind_parse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_optim_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_schedule, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gradual_schedule, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gradual_unstructured, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gradual_nm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tied_codebook, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
