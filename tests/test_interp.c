/* test_interp.c — the interpreter end to end: the trained testdata models
 * against torch's logits, repeatability, the workspace bound, threads,
 * re-planning on a new batch size, kept values and observers, input checks
 * and refusal of ops without kernels (at create time). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "interp.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- minimal .npy reader (little-endian f4 / i8, C order) ---- */
typedef struct npy {
    int32_t dtype;
    int32_t rank;
    int64_t dims[ECC_MAX_RANK];
    void *data;
    size_t nbytes;
} npy;

static void npy_load(const char *path, npy *a) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char pre[10];
    assert_int_equal(fread(pre, 1, 10, f), 10);
    assert_memory_equal(pre, "\x93NUMPY", 6);
    size_t hlen = pre[8] | (size_t)pre[9] << 8;
    assert_int_equal(pre[6], 1);
    char *h = calloc(hlen + 1, 1);
    assert_int_equal(fread(h, 1, hlen, f), hlen);
    memset(a, 0, sizeof *a);
    if (strstr(h, "'<f4'")) a->dtype = ECC_DTYPE_FLOAT;
    else if (strstr(h, "'<i8'")) a->dtype = ECC_DTYPE_INT64;
    else fail_msg("%s: unexpected dtype in %s", path, h);
    assert_null(strstr(h, "'fortran_order': True"));
    char *s = strchr(strstr(h, "'shape'"), '(') + 1;
    int64_t numel = 1;
    while (*s && *s != ')') {
        char *end;
        long long v = strtoll(s, &end, 10);
        if (end == s) break;
        a->dims[a->rank++] = v;
        numel *= v;
        s = end;
        while (*s == ',' || *s == ' ') s++;
    }
    free(h);
    a->nbytes = (size_t)numel * 4 * (a->dtype == ECC_DTYPE_INT64 ? 2 : 1);
    a->data = malloc(a->nbytes);
    assert_int_equal(fread(a->data, 1, a->nbytes, f), a->nbytes);
    fclose(f);
}

static ecc_rt_tensor npy_tensor(const npy *a) {
    ecc_rt_tensor t = {.dtype = a->dtype, .rank = a->rank, .data = a->data, .nbytes = a->nbytes};
    memcpy(t.dims, a->dims, sizeof t.dims);
    return t;
}

/* The first n images of the 64 as a batch. */
static ecc_rt_tensor batch_of(const npy *images, int64_t n) {
    ecc_rt_tensor t = npy_tensor(images);
    t.dims[0] = n;
    t.nbytes = (size_t)n * 28 * 28 * sizeof(float);
    return t;
}

typedef struct fixture {
    ecc_ctx *ctx;
    npy images, labels;
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    f->ctx = ecc_ctx_create();
    npy_load("testdata/fmnist_64.npy", &f->images);
    npy_load("testdata/fmnist_64_labels.npy", &f->labels);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    free(f->images.data);
    free(f->labels.data);
    ecc_ctx_free(f->ctx);
    free(f);
    return 0;
}

static ecc_model *load(fixture *f, const char *path) {
    ecc_model *m = NULL;
    ecc_status st = ecc_model_read(f->ctx, path, &m);
    if (st) fail_msg("%s: %s", path, ecc_ctx_message(f->ctx));
    return m;
}

static ecc_interp *make(fixture *f, const ecc_model *m, int threads) {
    ecc_interp_options o = {.struct_size = sizeof o, .threads = threads};
    ecc_interp *it = NULL;
    if (ecc_interp_create(f->ctx, m, &o, &it)) fail_msg("create: %s", ecc_ctx_message(f->ctx));
    return it;
}

static void run_ok(fixture *f, ecc_interp *it, const ecc_rt_tensor *in) {
    if (ecc_interp_run(f->ctx, it, in, 1)) fail_msg("run: %s", ecc_ctx_message(f->ctx));
}

/* Max |a-b| / max(|b|, 1) over the logits; both [64,10]. */
static double logits_error(const ecc_rt_tensor *y, const npy *want, int64_t n) {
    const float *a = y->data, *b = want->data;
    double worst = 0;
    for (int64_t i = 0; i < n * 10; i++) {
        double e = fabs((double)a[i] - b[i]) / fmax(fabs(b[i]), 1.0);
        worst = e > worst ? e : worst;
    }
    return worst;
}

static int argmax10(const float *row) {
    int best = 0;
    for (int j = 1; j < 10; j++)
        if (row[j] > row[best]) best = j;
    return best;
}

static void check_model(fixture *f, const char *name) {
    char path[256], want_path[256];
    snprintf(path, sizeof path, "testdata/%s.onnx", name);
    snprintf(want_path, sizeof want_path, "testdata/expected/%s_logits_64.npy", name);
    npy want;
    npy_load(want_path, &want);
    ecc_model *m = load(f, path);
    ecc_interp *it = make(f, m, 0);
    assert_int_equal(ecc_interp_input_count(it), 1);
    assert_int_equal(ecc_interp_output_count(it), 1);
    ecc_rt_tensor in = npy_tensor(&f->images);
    run_ok(f, it, &in);
    const ecc_rt_tensor *y = ecc_interp_result(it, 0);
    assert_non_null(y);
    assert_int_equal(y->dtype, ECC_DTYPE_FLOAT);
    assert_int_equal(y->rank, 2);
    assert_int_equal(y->dims[0], 64);
    assert_int_equal(y->dims[1], 10);
    double err = logits_error(y, &want, 64);
    int agree = 0, correct = 0;
    for (int i = 0; i < 64; i++) {
        int a = argmax10((const float *)y->data + 10 * i);
        agree += a == argmax10((const float *)want.data + 10 * i);
        correct += a == ((const int64_t *)f->labels.data)[i];
    }
    printf("    %-12s max rel error %.2e, top-1 agreement %d/64, accuracy %d/64\n", name, err,
           agree, correct);
    assert_true(err < 1e-4);
    assert_int_equal(agree, 64);
    ecc_interp_free(it);
    ecc_model_free(m);
    free(want.data);
}

static void test_mlp(void **state) { check_model(*state, "mlp"); }
static void test_cnn(void **state) { check_model(*state, "cnn"); }
static void test_transformer(void **state) { check_model(*state, "transformer"); }

/* Same input twice, then another batch size and back: identical bytes. */
static void test_repeatable(void **state) {
    fixture *f = *state;
    const char *models[] = {"testdata/mlp.onnx", "testdata/cnn.onnx", "testdata/transformer.onnx"};
    for (size_t i = 0; i < 3; i++) {
        ecc_model *m = load(f, models[i]);
        ecc_interp *it = make(f, m, 2);
        ecc_rt_tensor in = npy_tensor(&f->images), small = batch_of(&f->images, 5);
        run_ok(f, it, &in);
        float first[640];
        memcpy(first, ecc_interp_result(it, 0)->data, sizeof first);
        run_ok(f, it, &in); /* planned run, same shape */
        assert_memory_equal(first, ecc_interp_result(it, 0)->data, sizeof first);
        run_ok(f, it, &small); /* re-plan */
        assert_int_equal(ecc_interp_result(it, 0)->dims[0], 5);
        for (int j = 0; j < 50; j++)
            assert_true(fabsf(first[j] - ((const float *)ecc_interp_result(it, 0)->data)[j]) <
                        1e-4f * fmaxf(1.0f, fabsf(first[j])));
        run_ok(f, it, &in);
        assert_memory_equal(first, ecc_interp_result(it, 0)->data, sizeof first);
        ecc_interp_free(it);
        ecc_model_free(m);
    }
}

/* One thread and two threads agree. */
static void test_threads(void **state) {
    fixture *f = *state;
    const char *models[] = {"testdata/mlp.onnx", "testdata/cnn.onnx", "testdata/transformer.onnx"};
    for (size_t i = 0; i < 3; i++) {
        ecc_model *m = load(f, models[i]);
        ecc_interp *one = make(f, m, 1), *two = make(f, m, 2);
        ecc_rt_tensor in = npy_tensor(&f->images);
        run_ok(f, one, &in);
        run_ok(f, two, &in);
        const float *a = ecc_interp_result(one, 0)->data, *b = ecc_interp_result(two, 0)->data;
        for (int j = 0; j < 640; j++)
            assert_true(fabsf(a[j] - b[j]) <= 1e-5f * fmaxf(1, fabsf(a[j])));
        ecc_interp_free(one);
        ecc_interp_free(two);
        ecc_model_free(m);
    }
}

/* ---- workspace bound ---- */
typedef struct sizes {
    size_t largest[2];
    size_t total;
    int calls;
} sizes;

static int record_size(void *user, const ecc_node *node, uint32_t slot, const ecc_value *v,
                       const ecc_rt_tensor *t) {
    (void)node, (void)slot, (void)v;
    sizes *s = user;
    s->calls++;
    s->total += t->nbytes;
    if (t->nbytes > s->largest[0]) {
        s->largest[1] = s->largest[0];
        s->largest[0] = t->nbytes;
    } else if (t->nbytes > s->largest[1]) {
        s->largest[1] = t->nbytes;
    }
    return 0;
}

static void test_workspace(void **state) {
    fixture *f = *state;
    ecc_model *m = load(f, "testdata/cnn.onnx");
    sizes s = {{0, 0}, 0, 0};
    ecc_interp_options o = {.struct_size = sizeof o, .threads = 2, .observe = record_size,
                            .observe_user = &s};
    ecc_interp *it = NULL;
    assert_int_equal(ecc_interp_create(f->ctx, m, &o, &it), ECC_OK);
    ecc_rt_tensor in = npy_tensor(&f->images);
    run_ok(f, it, &in);
    size_t ws = ecc_interp_workspace_bytes(it);
    int64_t params, model_bytes;
    ecc_model_param_stats(m, &params, &model_bytes);
    size_t bound = (size_t)model_bytes + 2 * (s.largest[0] + s.largest[1]);
    printf("    cnn batch 64: workspace %zu B, all activations %zu B, two largest %zu + %zu B, "
           "bound %zu B\n", ws, s.total, s.largest[0], s.largest[1], bound);
    assert_true(ws > 0);
    assert_true(ws < bound);
    assert_true(ws < s.total / 2);
    run_ok(f, it, &in); /* the planned run needs nothing outside the arena */
    assert_int_equal(ecc_interp_workspace_bytes(it), ws);
    ecc_interp_free(it);
    ecc_model_free(m);
}

/* ---- kept values and observers ---- */
static int stop_at_relu(void *user, const ecc_node *node, uint32_t slot, const ecc_value *v,
                        const ecc_rt_tensor *t) {
    (void)slot, (void)v, (void)t;
    int *seen = user;
    (*seen)++;
    return strcmp(node->op_type, "Relu") == 0;
}

static void test_keep_and_observe(void **state) {
    fixture *f = *state;
    ecc_model *m = load(f, "testdata/mlp.onnx");
    /* keep the value feeding the first Relu */
    const char *name = NULL;
    for (size_t i = 0; i < m->graph->nodes.n && !name; i++) {
        const ecc_node *n = m->graph->nodes.items[i];
        if (strcmp(n->op_type, "Relu") == 0) name = n->inputs[0]->name;
    }
    assert_non_null(name);
    const char *keep[] = {name, NULL};
    ecc_interp_options o = {.struct_size = sizeof o, .threads = 1, .keep = keep};
    ecc_interp *it = NULL;
    assert_int_equal(ecc_interp_create(f->ctx, m, &o, &it), ECC_OK);
    ecc_rt_tensor in = npy_tensor(&f->images);
    run_ok(f, it, &in);
    const ecc_rt_tensor *v = ecc_interp_value(it, name);
    assert_non_null(v);
    assert_int_equal(v->rank, 2);
    assert_int_equal(v->dims[0], 64);
    assert_int_equal(v->dims[1], 256);
    assert_null(ecc_interp_value(it, "no such value"));
    ecc_interp_free(it);
    const char *bad_keep[] = {"no such value", NULL};
    o.keep = bad_keep;
    assert_int_equal(ecc_interp_create(f->ctx, m, &o, &it), ECC_E_USAGE);
    assert_non_null(strstr(ecc_ctx_message(f->ctx), "no such value"));
    int seen = 0;
    ecc_interp_options o2 = {.struct_size = sizeof o2, .threads = 1, .observe = stop_at_relu,
                             .observe_user = &seen};
    assert_int_equal(ecc_interp_create(f->ctx, m, &o2, &it), ECC_OK);
    assert_int_equal(ecc_interp_run(f->ctx, it, &in, 1), ECC_E_INTERNAL);
    assert_non_null(strstr(ecc_ctx_message(f->ctx), "observer"));
    assert_true(seen >= 2);
    ecc_interp_free(it);
    ecc_model_free(m);
}

/* ---- input checks ---- */
static void expect_input_error(fixture *f, ecc_interp *it, const ecc_rt_tensor *in, size_t n,
                               const char *needle) {
    assert_int_equal(ecc_interp_run(f->ctx, it, in, n), ECC_E_INPUT);
    const char *msg = ecc_ctx_message(f->ctx);
    if (!strstr(msg, needle)) fail_msg("message '%s' lacks '%s'", msg, needle);
}

static void test_bad_inputs(void **state) {
    fixture *f = *state;
    ecc_model *m = load(f, "testdata/cnn.onnx");
    ecc_interp *it = make(f, m, 1);
    ecc_rt_tensor in = npy_tensor(&f->images);
    ecc_rt_tensor t = in;
    t.dims[1] = 3;
    expect_input_error(f, it, &t, 1, "input 'input'");
    t = in;
    t.dims[2] = 27;
    expect_input_error(f, it, &t, 1, "dimension 2 must be 28");
    t = in;
    t.rank = 3;
    expect_input_error(f, it, &t, 1, "expected rank 4");
    t = in;
    t.dtype = ECC_DTYPE_DOUBLE;
    expect_input_error(f, it, &t, 1, "expected float32");
    t = in;
    t.nbytes = 100;
    expect_input_error(f, it, &t, 1, "bytes of data");
    expect_input_error(f, it, &in, 0, "takes 1 inputs");
    t = in;
    t.dims[0] = -1;
    expect_input_error(f, it, &t, 1, "bad dimension");
    run_ok(f, it, &in); /* still usable */
    ecc_interp_free(it);
    ecc_model_free(m);
}

/* ---- models built in memory ---- */
static ecc_value *val(fixture *f, ecc_graph *g, const char *name) {
    ecc_value *v = NULL;
    assert_int_equal(ecc_graph_get_value(f->ctx, g, name, &v), ECC_OK);
    return v;
}

/* x [2,3] float → op → y; returns the model. */
static ecc_model *one_node(fixture *f, const char *op, const char *domain, const char *node) {
    ecc_model *m = NULL;
    assert_int_equal(ecc_model_create(f->ctx, &m), ECC_OK);
    assert_int_equal(ecc_model_set_opset(f->ctx, m, "", 17), ECC_OK);
    ecc_graph *g = m->graph;
    ecc_value *x = val(f, g, "x"), *y = val(f, g, "y");
    int64_t dims[2] = {2, 3};
    assert_int_equal(ecc_value_set_shape(f->ctx, x, ECC_DTYPE_FLOAT, 2, dims), ECC_OK);
    x->flags |= ECC_VALUE_INPUT;
    assert_true(ecc_ptrvec_push(&g->inputs, x));
    ecc_node *n = NULL;
    assert_int_equal(ecc_graph_add_node(f->ctx, g, op, domain, node, &x, 1, &y, 1, &n), ECC_OK);
    y->flags |= ECC_VALUE_OUTPUT;
    assert_true(ecc_ptrvec_push(&g->outputs, y));
    return m;
}

static void test_unsupported_op(void **state) {
    fixture *f = *state;
    ecc_interp *it = NULL;
    ecc_model *m = one_node(f, "FancyOp", "", "fancy_1");
    assert_int_equal(ecc_interp_create(f->ctx, m, NULL, &it), ECC_E_INPUT);
    assert_null(it);
    const char *msg = ecc_ctx_message(f->ctx);
    assert_non_null(strstr(msg, "fancy_1"));
    assert_non_null(strstr(msg, "FancyOp"));
    ecc_model_free(m);
    m = one_node(f, "Relu", "com.example", "custom_1");
    assert_int_equal(ecc_interp_create(f->ctx, m, NULL, &it), ECC_E_INPUT);
    assert_non_null(strstr(ecc_ctx_message(f->ctx), "com.example::Relu"));
    ecc_model_free(m);
    m = one_node(f, "Gelu", "", "gelu_1"); /* Gelu arrives in opset 20; the model says 17 */
    assert_int_equal(ecc_interp_create(f->ctx, m, NULL, &it), ECC_E_INPUT);
    assert_non_null(strstr(ecc_ctx_message(f->ctx), "gelu_1"));
    ecc_model_free(m);
    m = one_node(f, "Relu", "", "relu_1"); /* and a supported one works */
    assert_int_equal(ecc_interp_create(f->ctx, m, NULL, &it), ECC_OK);
    float xs[6] = {-1, 2, -3, 4, -5, 6};
    ecc_rt_tensor in = {.dtype = ECC_DTYPE_FLOAT, .rank = 2, .dims = {2, 3}, .data = xs,
                        .nbytes = sizeof xs};
    run_ok(f, it, &in);
    const float *y = ecc_interp_result(it, 0)->data;
    assert_true(y[0] == 0 && y[1] == 2 && y[5] == 6);
    ecc_interp_free(it);
    ecc_model_free(m);
}

/* Symbolic dims shared by two inputs must agree. */
static void test_symbolic_dims(void **state) {
    fixture *f = *state;
    ecc_model *m = NULL;
    assert_int_equal(ecc_model_create(f->ctx, &m), ECC_OK);
    assert_int_equal(ecc_model_set_opset(f->ctx, m, "", 13), ECC_OK);
    ecc_graph *g = m->graph;
    ecc_value *a = val(f, g, "a"), *b = val(f, g, "b"), *y = val(f, g, "y");
    int64_t dims[2] = {-1, 3};
    for (int i = 0; i < 2; i++) {
        ecc_value *v = i ? b : a;
        assert_int_equal(ecc_value_set_shape(f->ctx, v, ECC_DTYPE_FLOAT, 2, dims), ECC_OK);
        v->dims[0].param = "batch";
        v->flags |= ECC_VALUE_INPUT;
        assert_true(ecc_ptrvec_push(&g->inputs, v));
    }
    ecc_value *ins[2] = {a, b};
    ecc_node *n;
    assert_int_equal(ecc_graph_add_node(f->ctx, g, "Add", "", "add", ins, 2, &y, 1, &n), ECC_OK);
    y->flags |= ECC_VALUE_OUTPUT;
    assert_true(ecc_ptrvec_push(&g->outputs, y));
    ecc_interp *it = make(f, m, 1);
    float d[12] = {0};
    ecc_rt_tensor in[2] = {{.dtype = ECC_DTYPE_FLOAT, .rank = 2, .dims = {2, 3}, .data = d,
                            .nbytes = sizeof d},
                           {.dtype = ECC_DTYPE_FLOAT, .rank = 2, .dims = {4, 3}, .data = d,
                            .nbytes = sizeof d}};
    expect_input_error(f, it, in, 2, "'batch'");
    in[1].dims[0] = 2;
    assert_int_equal(ecc_interp_run(f->ctx, it, in, 2), ECC_OK);
    ecc_interp_free(it);
    ecc_model_free(m);
}

/* The unusual-but-valid models all run and give finite outputs. */
static void test_edge_models(void **state) {
    fixture *f = *state;
    const char *paths[] = {"testdata/edge/const_weights.onnx", "testdata/edge/opset9.onnx",
                           "testdata/edge/dynamic_batch.onnx", "testdata/edge/opset21_int4.onnx",
                           "testdata/edge/external/model.onnx"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        ecc_model *m = load(f, paths[i]);
        ecc_interp *it = make(f, m, 0);
        ecc_rt_tensor in = batch_of(&f->images, 7);
        if (ecc_interp_run(f->ctx, it, &in, 1))
            fail_msg("%s: %s", paths[i], ecc_ctx_message(f->ctx));
        for (size_t o = 0; o < ecc_interp_output_count(it); o++) {
            const ecc_rt_tensor *y = ecc_interp_result(it, o);
            assert_int_equal(y->dims[0], 7);
            for (int64_t e = 0; e < (int64_t)(y->nbytes / 4); e++)
                assert_true(isfinite(((const float *)y->data)[e]));
        }
        ecc_interp_free(it);
        ecc_model_free(m);
    }
}

/* A masked weight runs as lowering will make it (removed weights are 0),
 * while the model's tensor keeps its stored values. */
static void test_masked_weight(void **state) {
    fixture *f = *state;
    const float ws[6] = {1, 2, 3, 4, 5, 6}; /* x [2,3] · w [3,2], w masked by keep */
    const uint8_t keep[6] = {1, 0, 0, 1, 1, 0};
    int64_t xd[2] = {2, 3}, wd[2] = {3, 2};
    ecc_model *m = NULL;
    assert_int_equal(ecc_model_create(f->ctx, &m), ECC_OK);
    assert_int_equal(ecc_model_set_opset(f->ctx, m, "", 17), ECC_OK);
    ecc_graph *g = m->graph;
    ecc_value *x = val(f, g, "x"), *w = val(f, g, "w"), *y = val(f, g, "y");
    assert_int_equal(ecc_value_set_shape(f->ctx, x, ECC_DTYPE_FLOAT, 2, xd), ECC_OK);
    x->flags |= ECC_VALUE_INPUT;
    assert_true(ecc_ptrvec_push(&g->inputs, x));
    ecc_tensor *wt = NULL, *kt = NULL;
    assert_int_equal(ecc_tensor_create(f->ctx, ECC_DTYPE_FLOAT, 2, wd, &wt), ECC_OK);
    assert_int_equal(ecc_tensor_create(f->ctx, ECC_DTYPE_BOOL, 2, wd, &kt), ECC_OK);
    memcpy(wt->data, ws, sizeof ws);
    memcpy(kt->data, keep, sizeof keep);
    assert_int_equal(ecc_graph_set_initializer(f->ctx, g, w, wt), ECC_OK);
    assert_int_equal(ecc_value_set_shape(f->ctx, w, ECC_DTYPE_FLOAT, 2, wd), ECC_OK);
    ecc_tensor_unref(wt);
    ecc_mask *mask = calloc(1, sizeof *mask);
    assert_non_null(mask);
    mask->axis = 0;
    mask->keep = kt; /* the mask owns the reference */
    ecc_value_set_mask(w, mask);
    ecc_value *ins[2] = {x, w};
    ecc_node *n = NULL;
    assert_int_equal(ecc_graph_add_node(f->ctx, g, "MatMul", "", "mm", ins, 2, &y, 1, &n), ECC_OK);
    y->flags |= ECC_VALUE_OUTPUT;
    assert_true(ecc_ptrvec_push(&g->outputs, y));
    ecc_interp *it = make(f, m, 1);
    float xs[6] = {1, -2, 3, 0.5f, 4, -1};
    ecc_rt_tensor in = {.dtype = ECC_DTYPE_FLOAT, .rank = 2, .dims = {2, 3}, .data = xs,
                        .nbytes = sizeof xs};
    run_ok(f, it, &in);
    const ecc_rt_tensor *out = ecc_interp_result(it, 0);
    assert_int_equal(out->dims[0], 2);
    assert_int_equal(out->dims[1], 2);
    for (int r = 0; r < 2; r++)
        for (int c = 0; c < 2; c++) {
            float want = 0;
            for (int k = 0; k < 3; k++)
                want += xs[r * 3 + k] * (keep[k * 2 + c] ? ws[k * 2 + c] : 0);
            assert_float_equal(((const float *)out->data)[r * 2 + c], want, 1e-6);
        }
    assert_memory_equal(w->init->data, ws, sizeof ws); /* the stored weight is untouched */
    ecc_interp_free(it);
    assert_memory_equal(w->init->data, ws, sizeof ws);
    ecc_model_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mlp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cnn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transformer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_repeatable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_workspace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keep_and_observe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_inputs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsupported_op, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symbolic_dims, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edge_models, setup, teardown),
        cmocka_unit_test_setup_teardown(test_masked_weight, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
