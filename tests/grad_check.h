/* grad_check.h — the finite-difference bench for backward kernels (used by the
 * tests/test_grad*.c files): a one-node (or few-node) model whose float
 * initializers are trained parameters, a loss L = sum_j r_j * y_j over every
 * float output with fixed random weights r, and the check that each
 * parameter's gradient from ecc_interp_backward matches central differences
 * of L (Richardson-extrapolated, accumulated in double). Also checks that the
 * gradient bytes are the same on 1 and 2 threads. Include after cmocka.h. */
#ifndef ECC_GRAD_CHECK_H
#define ECC_GRAD_CHECK_H

#include "node_bench.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GC_MAX 16

typedef struct gc {
    ecc_ctx *ctx;
    ecc_model *m;
    ecc_node *last;
    ecc_rt_tensor feeds[GC_MAX];
    void *feed_data[GC_MAX];
    size_t n_feeds;
    const char *params[GC_MAX + 1];
    size_t n_params;
    uint64_t rng;
    double h;          /* finite-difference step (default 1e-2) */
    double worst;      /* worst relative L2 error of the last gc_check */
    bool corrupt;      /* test of the test: perturb the analytic gradient */
} gc;

static inline double gc_rand(gc *g) { /* uniform [0, 1) */
    g->rng = g->rng * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(g->rng >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform in [lo, hi]; away > 0 keeps |x| >= away (off kinks such as Relu's). */
static inline float gc_value(gc *g, float lo, float hi, float away) {
    for (;;) {
        float v = lo + (float)gc_rand(g) * (hi - lo);
        if (fabsf(v) >= away) return v;
    }
}

static inline gc *gc_new(int opset, uint64_t seed) {
    gc *g = calloc(1, sizeof *g);
    g->ctx = ecc_ctx_create();
    assert_int_equal(ecc_model_create(g->ctx, &g->m), ECC_OK);
    assert_int_equal(ecc_model_set_opset(g->ctx, g->m, "", opset), ECC_OK);
    g->rng = seed * 2654435761u + 1;
    g->h = 1e-2;
    return g;
}

static inline void gc_free(gc *g) {
    for (size_t i = 0; i < g->n_feeds; i++) free(g->feed_data[i]);
    ecc_model_free(g->m);
    ecc_ctx_free(g->ctx);
    free(g);
}

static inline ecc_value *gc_val(gc *g, const char *name) { return nb_val(g->ctx, g->m, name); }

static inline int64_t gc_numel(int32_t rank, const int64_t *dims) {
    int64_t n = 1;
    for (int32_t i = 0; i < rank; i++) n *= dims[i];
    return n;
}

/* An initializer holding data (copied). */
static inline void gc_const(gc *g, const char *name, int32_t dtype, int32_t rank,
                            const int64_t *dims, const void *data) {
    nb_const(g->ctx, g->m, name, dtype, rank, dims, data);
}

/* A trained float32 initializer with random values in [lo, hi], |x| >= away. */
static inline void gc_param(gc *g, const char *name, int32_t rank, const int64_t *dims,
                            float lo, float hi, float away) {
    int64_t n = gc_numel(rank, dims);
    float *x = malloc((size_t)(n + 1) * sizeof *x);
    for (int64_t i = 0; i < n; i++) x[i] = gc_value(g, lo, hi, away);
    gc_const(g, name, ECC_DTYPE_FLOAT, rank, dims, x);
    free(x);
    assert_true(g->n_params < GC_MAX);
    g->params[g->n_params++] = name;
}

/* A float32 graph input fed with random values (not trained). */
static inline void gc_input(gc *g, const char *name, int32_t rank, const int64_t *dims, float lo,
                            float hi, float away) {
    int64_t n = gc_numel(rank, dims);
    float *x = malloc((size_t)(n + 1) * sizeof *x);
    for (int64_t i = 0; i < n; i++) x[i] = gc_value(g, lo, hi, away);
    g->feed_data[g->n_feeds] = x;
    nb_input(g->ctx, g->m, name, ECC_DTYPE_FLOAT, rank, dims, x, &g->feeds[g->n_feeds++]);
}

/* Node with comma-separated input and output names ("" = empty optional);
 * with `outputs`, its outputs become graph outputs. */
static inline ecc_node *gc_node(gc *g, const char *op, const char *ins, const char *outs,
                                bool outputs) {
    char name[64];
    snprintf(name, sizeof name, "%s_%u", op, (unsigned)g->m->graph->nodes.n);
    return g->last = nb_node(g->ctx, g->m, op, name, ins, outs, outputs);
}

static inline void gc_int(gc *g, const char *name, int64_t v) { nb_int(g->ctx, g->last, name, v); }
static inline void gc_ints(gc *g, const char *name, const int64_t *v, size_t n) {
    nb_ints(g->ctx, g->last, name, v, n);
}
static inline void gc_float(gc *g, const char *name, float v) {
    nb_float(g->ctx, g->last, name, v);
}
static inline void gc_str(gc *g, const char *name, const char *v) {
    nb_str(g->ctx, g->last, name, v);
}

/* ---- the check ---- */

typedef struct gc_run {
    ecc_interp *it;
    size_t n_out;
    double *r[GC_MAX]; /* loss weights per output (NULL: not float) */
} gc_run;

static inline ecc_interp *gc_interp(gc *g, int threads) {
    g->params[g->n_params] = NULL;
    ecc_interp_options o = {.struct_size = sizeof o, .threads = threads, .params = g->params};
    ecc_interp *it = NULL;
    ecc_status st = ecc_interp_create(g->ctx, g->m, &o, &it);
    if (st) fprintf(stderr, "gc: %s\n", ecc_ctx_message(g->ctx));
    assert_int_equal(st, ECC_OK);
    return it;
}

static inline double gc_loss(gc *g, gc_run *r) {
    ecc_status st = ecc_interp_run(g->ctx, r->it, g->feeds, g->n_feeds);
    if (st) fprintf(stderr, "gc: %s\n", ecc_ctx_message(g->ctx));
    assert_int_equal(st, ECC_OK);
    double loss = 0;
    for (size_t j = 0; j < r->n_out; j++) {
        const ecc_rt_tensor *y = ecc_interp_result(r->it, j);
        if (!r->r[j]) continue;
        const float *yf = y->data;
        for (int64_t i = 0; i < gc_numel(y->rank, y->dims); i++) loss += r->r[j][i] * yf[i];
    }
    return loss;
}

/* Analytic gradients (dout = r) of every parameter, into grads[p]. */
static inline void gc_backward(gc *g, gc_run *r, float **grads) {
    (void)gc_loss(g, r);
    ecc_rt_tensor d[GC_MAX];
    const ecc_rt_tensor *dp[GC_MAX];
    float *buf[GC_MAX] = {0};
    for (size_t j = 0; j < r->n_out; j++) {
        const ecc_rt_tensor *y = ecc_interp_result(r->it, j);
        dp[j] = NULL;
        if (!r->r[j]) continue;
        int64_t n = gc_numel(y->rank, y->dims);
        buf[j] = malloc((size_t)(n + 1) * sizeof(float));
        for (int64_t i = 0; i < n; i++) buf[j][i] = (float)r->r[j][i];
        d[j] = *y;
        d[j].data = buf[j];
        dp[j] = &d[j];
    }
    ecc_status st = ecc_interp_backward(g->ctx, r->it, dp);
    if (st) fprintf(stderr, "gc: %s\n", ecc_ctx_message(g->ctx));
    assert_int_equal(st, ECC_OK);
    for (size_t p = 0; p < g->n_params; p++) {
        size_t bytes = (size_t)gc_numel(ecc_interp_param_value(r->it, p)->init->rank,
                                        ecc_interp_param_value(r->it, p)->init->dims) *
                       sizeof(float);
        grads[p] = malloc(bytes + 1);
        memcpy(grads[p], ecc_interp_param_grad(r->it, p), bytes);
    }
    for (size_t j = 0; j < r->n_out; j++) free(buf[j]);
}

/* Central difference of L along parameter p element i with step h. */
static inline double gc_diff(gc *g, gc_run *r, size_t p, int64_t i, double h) {
    float *w = ecc_interp_param(r->it, p);
    float keep = w[i];
    w[i] = (float)(keep + h);
    double hp = (double)w[i] - keep;
    double lp = gc_loss(g, r);
    w[i] = (float)(keep - h);
    double hm = keep - (double)w[i];
    double lm = gc_loss(g, r);
    w[i] = keep;
    return (lp - lm) / (hp + hm);
}

/* Checks every parameter's gradient; returns the worst relative L2 error
 * ||g - fd|| / max(||fd||, 1e-3) over the parameters (also in g->worst) and
 * asserts it is <= tol. Gradients on 1 and 2 threads must be the same bytes. */
static inline double gc_check(gc *g, double tol) {
    gc_run r = {0};
    float *g1[GC_MAX] = {0}, *g2[GC_MAX] = {0};
    r.it = gc_interp(g, 2);
    r.n_out = ecc_interp_output_count(r.it);
    assert_true(r.n_out <= GC_MAX);
    (void)gc_loss(g, &r);
    for (size_t j = 0; j < r.n_out; j++) {
        const ecc_rt_tensor *y = ecc_interp_result(r.it, j);
        if (y->dtype != ECC_DTYPE_FLOAT) continue;
        int64_t n = gc_numel(y->rank, y->dims);
        r.r[j] = malloc((size_t)(n + 1) * sizeof(double));
        for (int64_t i = 0; i < n; i++) r.r[j][i] = (double)gc_value(g, -1, 1, 0);
    }
    gc_backward(g, &r, g2);
    ecc_interp *two = r.it;
    r.it = gc_interp(g, 1);
    gc_backward(g, &r, g1);
    g->worst = 0;
    for (size_t p = 0; p < g->n_params; p++) {
        const ecc_tensor *t = ecc_interp_param_value(r.it, p)->init;
        int64_t n = t->numel;
        assert_memory_equal(g1[p], g2[p], (size_t)n * sizeof(float));
        if (g->corrupt) g1[p][n / 2] += 0.01f * (fabsf(g1[p][n / 2]) + 0.1f);
        double num = 0, den = 0;
        for (int64_t i = 0; i < n; i++) {
            double d1 = gc_diff(g, &r, p, i, g->h), d2 = gc_diff(g, &r, p, i, g->h / 2);
            double fd = (4 * d2 - d1) / 3;
            num += (g1[p][i] - fd) * (g1[p][i] - fd);
            den += fd * fd;
        }
        double rel = sqrt(num) / fmax(sqrt(den), 1e-3);
        if (rel > g->worst) g->worst = rel;
        if (rel > tol)
            fprintf(stderr, "gc: %s: parameter '%s' relative error %.3g > %.3g\n",
                    g->last->op_type, g->params[p], rel, tol);
    }
    for (size_t p = 0; p < g->n_params; p++) {
        free(g1[p]);
        free(g2[p]);
    }
    for (size_t j = 0; j < r.n_out; j++) free(r.r[j]);
    ecc_interp_free(r.it);
    ecc_interp_free(two);
    if (!g->corrupt) assert_true(g->worst <= tol);
    return g->worst;
}

/* The check itself can fail: the gradient with one element off by 1% must
 * exceed tol, the true one must not. */
static inline void gc_check_catches(gc *g, double tol) {
    g->corrupt = true;
    assert_true(gc_check(g, tol) > tol);
    g->corrupt = false;
    assert_true(gc_check(g, tol) <= tol);
}

#endif
