/* test_grad_models.c — the gradient engine on whole models against PyTorch:
 * testdata/{mlp,cnn,transformer}.onnx with every float32 initializer trained
 * (BatchNormalization's running mean and variance included), the first 8
 * images of testdata/fmnist_64.npy and a fixed dout: each parameter's
 * gradient of sum(dout * logits) must be within relative L2 error GRAD_TOL of
 * torch's float64 autograd (testdata/grad/<model>_grad.npy, written by
 * testdata/gen/grad_reference.py); a tensor torch's gradient is zero for
 * (the attention key biases) must instead have a norm below ZERO_TOL of the
 * whole gradient's. Then 100 plain SGD steps (ecc_optim, lr 0.01, the CNN
 * 0.001: sgd_lr; momentum 0; batch 16 cycling through the 64 images; ecc_loss_kl at
 * T=1 against testdata/grad/target.npy; every float initializer but the
 * BatchNormalization statistics trained) must give torch's loss curve within
 * LOSS_TOL, absolute, at every step. A model whose ops lack a backward kernel
 * fails here (the interpreter refuses to plan it, naming the node). Prints the
 * worst error per model. GRAD_MODELS_SGD_STEPS=N runs only the first N SGD
 * steps (under valgrind, where 100 CNN steps take over 15 minutes). Built
 * with -DDOUT_SCALE=1.01f (dout and the loss gradient 1% off) all six cases
 * fail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "data.h"
#include "interp.h"
#include "train/train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GRAD_BATCH 8
#define SGD_BATCH 16
#define SGD_STEPS 100
/* Plain SGD's learning rate (testdata/gen/grad_reference.py's SGD_LR): the
 * CNN's float32 trajectory is chaotic at 0.01 (two BLAS summation orders part
 * by 1e-2 in loss), so it trains at 0.001, where they agree to 2e-7. */
static double sgd_lr(const char *name) { return strcmp(name, "cnn") == 0 ? 0.001 : 0.01; }
#define CLASSES 10
#define GRAD_TOL 1e-4 /* relative L2 error per parameter tensor */
#define LOSS_TOL 1e-3 /* absolute error per step of the loss curve */
/* A reference tensor gradient below ZERO_REF of the whole gradient's norm is
 * zero (float64 rounding); ecc's must then stay below ZERO_TOL of it. */
#define ZERO_REF 1e-9
#define ZERO_TOL 1e-7
#define MAX_PARAMS 64
/* Test of the test: built with -DDOUT_SCALE=1.01f every case must fail. */
#ifndef DOUT_SCALE
#define DOUT_SCALE 1.0f
#endif

/* A whole .npy file read through ecc's reader (float32, or float64 widened). */
typedef struct arr {
    int32_t dtype;
    int32_t rank;
    int64_t dims[ECC_MAX_RANK];
    int64_t n;
    void *data;
} arr;

static void arr_load(ecc_ctx *ctx, const char *path, arr *a) {
    ecc_data_stream *s = NULL;
    if (ecc_data_open_npy(ctx, path, &s)) fail_msg("%s: %s", path, ecc_ctx_message(ctx));
    a->dtype = s->dtype;
    a->rank = s->rank;
    memcpy(a->dims, s->dims, sizeof a->dims);
    a->n = 1;
    for (int32_t d = 0; d < s->rank; d++) a->n *= s->dims[d];
    a->data = malloc((size_t)s->dims[0] * s->sample_bytes + 1);
    assert_non_null(a->data);
    int64_t got = 0;
    if (ecc_data_read(ctx, s, s->dims[0], a->data, &got))
        fail_msg("%s: %s", path, ecc_ctx_message(ctx));
    assert_int_equal(got, s->dims[0]);
    ecc_data_close(s);
}

typedef struct fixture {
    ecc_ctx *ctx;
    arr images; /* float32 [64,1,28,28] */
    arr dout;   /* float32 [8,10] */
    arr target; /* float32 [64,10] */
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    f->ctx = ecc_ctx_create();
    ecc_ctx_set_verbosity(f->ctx, -1);
    arr_load(f->ctx, "testdata/fmnist_64.npy", &f->images);
    arr_load(f->ctx, "testdata/grad/dout.npy", &f->dout);
    arr_load(f->ctx, "testdata/grad/target.npy", &f->target);
    assert_int_equal(f->images.dtype, ECC_DTYPE_FLOAT);
    assert_int_equal(f->images.dims[0], 64);
    assert_int_equal(f->dout.n, GRAD_BATCH * CLASSES);
    assert_int_equal(f->target.n, 64 * CLASSES);
    float *d = f->dout.data;
    for (int64_t i = 0; i < f->dout.n; i++) d[i] *= DOUT_SCALE;
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    free(f->images.data);
    free(f->dout.data);
    free(f->target.data);
    ecc_ctx_free(f->ctx);
    free(f);
    return 0;
}

/* testdata/grad/<model>_names.txt: one line per float initializer, in the
 * order of <model>_grad.npy. */
typedef struct refs {
    char *names[MAX_PARAMS + 1];
    int64_t numel[MAX_PARAMS], offset[MAX_PARAMS];
    int trained[MAX_PARAMS];
    size_t n;
} refs;

static void refs_load(const char *model, refs *r) {
    char path[256], name[256];
    snprintf(path, sizeof path, "testdata/grad/%s_names.txt", model);
    FILE *fp = fopen(path, "r");
    if (!fp) fail_msg("%s: cannot open (run testdata/gen/grad_reference.py)", path);
    memset(r, 0, sizeof *r);
    long long numel, off;
    int tr;
    while (fscanf(fp, "%255s %lld %lld %d", name, &numel, &off, &tr) == 4) {
        assert_true(r->n < MAX_PARAMS);
        r->names[r->n] = strdup(name);
        r->numel[r->n] = numel;
        r->offset[r->n] = off;
        r->trained[r->n] = tr;
        r->n++;
    }
    fclose(fp);
}

static void refs_free(refs *r) {
    for (size_t i = 0; i < r->n; i++) free(r->names[i]);
}

static ecc_model *load_model(fixture *f, const char *name) {
    char path[256];
    snprintf(path, sizeof path, "testdata/%s.onnx", name);
    ecc_model *m = NULL;
    if (ecc_model_read(f->ctx, path, &m)) fail_msg("%s: %s", path, ecc_ctx_message(f->ctx));
    return m;
}

/* The reference set is the model's every float32 initializer, in file order. */
static void check_param_set(const ecc_model *m, const refs *r, const char *name) {
    const ecc_ptrvec *inits = &m->graph->inits;
    size_t k = 0;
    for (size_t i = 0; i < inits->n; i++) {
        const ecc_value *v = inits->items[i];
        if (!v->init || v->init->dtype != ECC_DTYPE_FLOAT) continue;
        if (k >= r->n || strcmp(r->names[k], v->name) || r->numel[k] != v->init->numel)
            fail_msg("%s: float initializer %zu is '%s' (%lld values); the reference has '%s'",
                     name, k, v->name, (long long)v->init->numel, k < r->n ? r->names[k] : "-");
        k++;
    }
    if (k != r->n) fail_msg("%s: %zu float initializers, the reference has %zu", name, k, r->n);
}

/* The model `name` with its reference list, checked to match. */
static ecc_model *open_model(fixture *f, const char *name, refs *r) {
    refs_load(name, r);
    ecc_model *m = load_model(f, name);
    check_param_set(m, r, name);
    return m;
}

/* testdata/grad/<name>_<what>.npy */
static void ref_array(fixture *f, const char *name, const char *what, arr *out) {
    char path[256];
    snprintf(path, sizeof path, "testdata/grad/%s_%s.npy", name, what);
    arr_load(f->ctx, path, out);
}

static ecc_interp *make_kept(fixture *f, const ecc_model *m, const char *const *params,
                             const char *name, bool keep_all) {
    ecc_interp_options o = {.struct_size = sizeof o, .threads = 2, .max_batch = SGD_BATCH,
                            .params = params, .keep_all = keep_all};
    ecc_interp *it = NULL;
    if (ecc_interp_create(f->ctx, m, &o, &it))
        fail_msg("%s: interpreter with every float initializer trained: %s", name,
                 ecc_ctx_message(f->ctx));
    return it;
}

/* The interpreter as training uses it: only what backward reads is kept. */
static ecc_interp *make(fixture *f, const ecc_model *m, const char *const *params,
                        const char *name) {
    return make_kept(f, m, params, name, false);
}

static ecc_rt_tensor images(const fixture *f, int64_t first, int64_t n) {
    ecc_rt_tensor t = {.dtype = ECC_DTYPE_FLOAT, .rank = 4, .dims = {n, 1, 28, 28}};
    t.data = (float *)f->images.data + first * 28 * 28;
    t.nbytes = (size_t)n * 28 * 28 * sizeof(float);
    return t;
}

static void run(fixture *f, ecc_interp *it, const ecc_rt_tensor *in, const char *name) {
    if (ecc_interp_run(f->ctx, it, in, 1)) fail_msg("%s: run: %s", name, ecc_ctx_message(f->ctx));
}

static void backward(fixture *f, ecc_interp *it, const float *dout, int64_t rows,
                     const char *name) {
    ecc_rt_tensor d = {.dtype = ECC_DTYPE_FLOAT, .rank = 2, .dims = {rows, CLASSES}};
    d.data = (void *)dout;
    d.nbytes = (size_t)(rows * CLASSES) * sizeof(float);
    const ecc_rt_tensor *douts[1] = {&d};
    if (ecc_interp_backward(f->ctx, it, douts))
        fail_msg("%s: backward: %s", name, ecc_ctx_message(f->ctx));
}

/* ||a - b|| / ||b|| in double (||a|| when b is all zero or NULL); *norm_b
 * receives ||b|| (||a|| when b is NULL). */
static double rel_l2(const float *a, const float *b, int64_t n, double *norm_b) {
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; i++) {
        double bi = b ? b[i] : 0;
        double d = (double)a[i] - bi;
        num += d * d;
        den += b ? bi * bi : (double)a[i] * a[i];
    }
    *norm_b = sqrt(den);
    return b && den > 0 ? sqrt(num / den) : sqrt(num);
}

static void check_grads(void **state, const char *name) {
    fixture *f = *state;
    refs r;
    ecc_model *m = open_model(f, name, &r);
    arr ref, logits;
    ref_array(f, name, "grad", &ref);
    ref_array(f, name, "logits", &logits);
    assert_int_equal(ref.n, r.offset[r.n - 1] + r.numel[r.n - 1]);

    ecc_interp *it = make(f, m, (const char *const *)r.names, name);
    ecc_rt_tensor in = images(f, 0, GRAD_BATCH);
    run(f, it, &in, name);
    const ecc_rt_tensor *y = ecc_interp_result(it, 0);
    assert_int_equal(y->dims[0], GRAD_BATCH);
    double ynorm;
    double fwd = rel_l2(y->data, logits.data, GRAD_BATCH * CLASSES, &ynorm);
    backward(f, it, f->dout.data, GRAD_BATCH, name);

    /* A tensor whose reference gradient is zero up to float64 rounding (the
     * attention key bias: softmax cancels a shift of every key by the same
     * vector) has no scale of its own: ecc's gradient there is float32
     * rounding noise and is held to ZERO_TOL of the whole gradient's norm. */
    double all = 0;
    for (size_t i = 0; i < r.n; i++) {
        double z = 0;
        rel_l2((const float *)ref.data + r.offset[i], NULL, r.numel[i], &z);
        all += z * z;
    }
    all = sqrt(all);
    double worst = 0, worst_zero = 0;
    size_t worst_i = 0, bad = 0, zeros = 0;
    for (size_t i = 0; i < r.n; i++) {
        const float *g = ecc_interp_param_grad(it, i);
        assert_non_null(g);
        const float *want = (const float *)ref.data + r.offset[i];
        double norm = 0;
        double e = rel_l2(g, want, r.numel[i], &norm);
        if (norm <= ZERO_REF * all) {
            double ez = 0;
            rel_l2(g, NULL, r.numel[i], &ez);
            ez /= all;
            zeros++;
            if (!(ez <= worst_zero)) worst_zero = ez;
            if (!(ez <= ZERO_TOL)) {
                printf("  %s: %-24s gradient zero in torch; ecc's norm is %.3e of the whole "
                       "gradient's (> %.0e)\n", name, r.names[i], ez, ZERO_TOL);
                bad++;
            }
            continue;
        }
        if (!(e <= GRAD_TOL)) {
            printf("  %s: %-24s relative L2 error %.3e (> %.0e)\n", name, r.names[i], e,
                   GRAD_TOL);
            bad++;
        }
        if (!(e <= worst)) {
            worst = e;
            worst_i = i;
        }
    }
    printf("  %-11s gradients of %zu tensors: worst relative L2 error %.2e (%s); forward vs "
           "torch %.1e\n",
           name, r.n - zeros, worst, r.names[worst_i], fwd);
    if (zeros)
        printf("  %-11s %zu tensors with a zero gradient in torch: ecc's largest norm %.1e of the "
               "whole gradient's\n", name, zeros, worst_zero);
    ecc_interp_free(it);
    ecc_model_free(m);
    free(ref.data);
    free(logits.data);
    refs_free(&r);
    if (bad) fail_msg("%s: %zu parameter gradients off torch's by more than %g", name, bad,
                      GRAD_TOL);
}

static void check_sgd(void **state, const char *name) {
    fixture *f = *state;
    refs r;
    ecc_model *m = open_model(f, name, &r);
    arr want;
    ref_array(f, name, "loss", &want);
    assert_int_equal(want.dtype, ECC_DTYPE_DOUBLE);
    assert_int_equal(want.n, SGD_STEPS);

    const char *names[MAX_PARAMS + 1] = {0};
    size_t n = 0;
    for (size_t i = 0; i < r.n; i++)
        if (r.trained[i]) names[n++] = r.names[i];
    ecc_interp *it = make(f, m, names, name);
    ecc_train_param tp[MAX_PARAMS];
    ecc_optim *opt = NULL;
    ecc_optim_config cfg = ecc_optim_defaults(ECC_OPTIM_SGD);
    cfg.momentum = 0;
    cfg.weight_decay = 0;
    float grad[SGD_BATCH * CLASSES];
    double worst = 0, loss0 = 0, loss_last = 0;
    int64_t worst_k = 0;
    /* GRAD_MODELS_SGD_STEPS=N checks only the first N steps (valgrind). */
    const char *env = getenv("GRAD_MODELS_SGD_STEPS");
    int64_t steps = env && atoll(env) > 0 && atoll(env) < SGD_STEPS ? atoll(env) : SGD_STEPS;
    for (int64_t k = 0; k < steps; k++) {
        int64_t first = SGD_BATCH * (k % (64 / SGD_BATCH));
        ecc_rt_tensor in = images(f, first, SGD_BATCH);
        run(f, it, &in, name);
        const ecc_rt_tensor *y = ecc_interp_result(it, 0);
        double loss;
        if (ecc_loss_kl(f->ctx, y->data, (const float *)f->target.data + first * CLASSES,
                        SGD_BATCH, CLASSES, 1.0, &loss, grad))
            fail_msg("%s: loss: %s", name, ecc_ctx_message(f->ctx));
        for (int j = 0; j < SGD_BATCH * CLASSES; j++) grad[j] *= DOUT_SCALE;
        backward(f, it, grad, SGD_BATCH, name);
        if (!opt) { /* the gradient buffers exist after a backward, at the latest */
            for (size_t i = 0; i < n; i++)
                tp[i] = (ecc_train_param){ecc_interp_param(it, i), ecc_interp_param_grad(it, i),
                                          ecc_interp_param_value(it, i)->init->numel, NULL,
                                          false};
            if (ecc_optim_create(f->ctx, &cfg, tp, n, &opt))
                fail_msg("%s: optimizer: %s", name, ecc_ctx_message(f->ctx));
        }
        for (size_t i = 0; i < n; i++) assert_ptr_equal(tp[i].g, ecc_interp_param_grad(it, i));
        if (ecc_optim_step(opt, sgd_lr(name))) fail_msg("%s: step: %s", name, ecc_ctx_message(f->ctx));
        double e = fabs(loss - ((const double *)want.data)[k]);
        if (!(e <= worst)) {
            worst = e;
            worst_k = k;
        }
        if (k == 0) loss0 = loss;
        loss_last = loss;
    }
    const double *w = want.data;
    printf("  %-11s SGD, %d steps on %zu tensors: loss %.5f -> %.5f (torch %.5f -> %.5f), "
           "worst |ecc - torch| %.2e at step %lld\n",
           name, (int)steps, n, loss0, loss_last, w[0], w[steps - 1], worst,
           (long long)worst_k + 1);
    ecc_optim_free(opt);
    ecc_interp_free(it);
    ecc_model_free(m);
    free(want.data);
    refs_free(&r);
    if (!(worst <= LOSS_TOL))
        fail_msg("%s: the loss curve leaves torch's by %g at step %lld (tolerance %g)", name,
                 worst, (long long)worst_k + 1, LOSS_TOL);
}

/* One forward and backward on the first GRAD_BATCH images; *ws receives the
 * activation workspace it used. */
static void grads_of(fixture *f, ecc_interp *it, const char *name, size_t *ws) {
    ecc_rt_tensor in = images(f, 0, GRAD_BATCH);
    run(f, it, &in, name);
    *ws = ecc_interp_workspace_bytes(it);
    backward(f, it, f->dout.data, GRAD_BATCH, name);
}

/* Training keeps only the activations backward reads: trained with every
 * weight and with the biases only, the gradients are the same bytes as with
 * every activation kept (keep_all), and the workspace is no larger; returns
 * the bias-only workspace over keep_all's. */
static double check_saved(void **state, const char *name) {
    fixture *f = *state;
    refs r;
    ecc_model *m = open_model(f, name, &r);
    const char *bias[MAX_PARAMS + 1] = {0};
    size_t nb = 0;
    for (size_t i = 0; i < r.n; i++) {
        size_t len = strlen(r.names[i]);
        if (len >= 4 && strcmp(r.names[i] + len - 4, "bias") == 0) bias[nb++] = r.names[i];
    }
    const char *const *sets[2] = {(const char *const *)r.names, bias};
    size_t counts[2] = {r.n, nb};
    double ratio = 0;
    for (int set = 0; set < 2; set++) {
        ecc_interp *planned = make(f, m, sets[set], name);
        ecc_interp *kept = make_kept(f, m, sets[set], name, true);
        size_t ws_planned, ws_kept;
        grads_of(f, planned, name, &ws_planned);
        grads_of(f, kept, name, &ws_kept);
        for (size_t i = 0; i < counts[set]; i++) {
            size_t bytes = (size_t)ecc_interp_param_value(kept, i)->init->numel * sizeof(float);
            if (memcmp(ecc_interp_param_grad(planned, i), ecc_interp_param_grad(kept, i), bytes))
                fail_msg("%s: %s: the gradient differs when activations are freed", name,
                         sets[set][i]);
        }
        printf("  %-11s %s: workspace %zu bytes, %zu with every activation kept (%.2fx)\n",
               name, set ? "biases only" : "every weight", ws_planned, ws_kept,
               (double)ws_planned / (double)ws_kept);
        assert_true(ws_planned <= ws_kept);
        ratio = (double)ws_planned / (double)ws_kept;
        ecc_interp_free(planned);
        ecc_interp_free(kept);
    }
    ecc_model_free(m);
    refs_free(&r);
    return ratio;
}

static void test_mlp_grad(void **state) { check_grads(state, "mlp"); }
static void test_mlp_sgd(void **state) { check_sgd(state, "mlp"); }
static void test_cnn_grad(void **state) { check_grads(state, "cnn"); }
static void test_cnn_sgd(void **state) { check_sgd(state, "cnn"); }
static void test_transformer_grad(void **state) { check_grads(state, "transformer"); }
static void test_transformer_sgd(void **state) { check_sgd(state, "transformer"); }
static void test_mlp_saved(void **state) { check_saved(state, "mlp"); }
static void test_transformer_saved(void **state) { check_saved(state, "transformer"); }
/* The CNN's biases train through Conv, BatchNormalization and Relu, whose
 * data gradients need no Conv input: most activations are freed (TinyTL). */
static void test_cnn_saved(void **state) { assert_true(check_saved(state, "cnn") < 0.5); }

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mlp_grad),         cmocka_unit_test(test_mlp_sgd),
        cmocka_unit_test(test_cnn_grad),         cmocka_unit_test(test_cnn_sgd),
        cmocka_unit_test(test_transformer_grad), cmocka_unit_test(test_transformer_sgd),
        cmocka_unit_test(test_mlp_saved),        cmocka_unit_test(test_cnn_saved),
        cmocka_unit_test(test_transformer_saved),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
