/* test_prune.c — the pruning passes on graphs built with the IR API:
 * `prune` (N:M property along the reduction axis of Conv / Gemm transB 0 and 1
 * / MatMul for every method, exact layer and global sparsity, defaults that
 * keep tiny layers and heads dense and report them, masks left attached until
 * lowering, Constant-node weights, option errors before any work), the
 * calibration statistics (Conv im2col against brute force), SparseGPT's
 * reconstruction beating magnitude, scope=auto allocation, the sensitivity
 * API, and `prune-channel` (dead channels removed exactly, residual Add groups,
 * depthwise and grouped Conv, Concat, Flatten→Gemm, MatMul hidden units,
 * blocked groups, round_to, target_flops) checked with the interpreter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "prune_common.h"
#include "fixtures.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------- fixture and graph building ---------------- */

static int setup(void **state) { return fixture_setup(state, 13); }

/* A float32 initializer in [lo, hi], also typed on its value (as one read
 * from a file is). */
static ecc_value *init_f32_typed(fixture *f, const char *name, int32_t rank, const int64_t *dims,
                                 float lo, float hi) {
    ecc_value *v = init_f32(f, name, rank, dims, lo, hi);
    assert_int_equal(ecc_value_set_shape(f->ctx, v, ECC_DTYPE_FLOAT, rank, dims), ECC_OK);
    return v;
}

static float *data_of(fixture *f, const char *name) { return wl_const(V(name))->data; }

static void attr_ints(fixture *f, ecc_node *n, const char *name, int64_t a, int64_t b,
                      int64_t c, int64_t d, size_t count) {
    int64_t v[4] = {a, b, c, d};
    assert_int_equal(ecc_node_set_attr_ints(f->ctx, n, name, v, count), ECC_OK);
}

static ecc_node *conv(fixture *f, const char *x, const char *y, int64_t cin, int64_t cout,
                      int64_t k, int64_t group) {
    char w[64], ins[160];
    int64_t wd[4] = {cout, cin / group, k, k};
    snprintf(w, sizeof w, "%s.w", y);
    init_f32_typed(f, w, 4, wd, -1, 1);
    snprintf(ins, sizeof ins, "%s %s", x, w);
    ecc_node *n = add(f, "Conv", ins, y);
    attr_ints(f, n, "pads", k / 2, k / 2, k / 2, k / 2, 4);
    if (group > 1) assert_int_equal(ecc_node_set_attr_int(f->ctx, n, "group", group), ECC_OK);
    return n;
}

static ecc_node *bn(fixture *f, const char *x, const char *y, int64_t c) {
    char names[4][64], ins[320];
    const char *parts[4] = {"scale", "bias", "mean", "var"};
    float lo[4] = {0.5f, -0.5f, -0.5f, 0.5f}, hi[4] = {1.5f, 0.5f, 0.5f, 1.5f};
    for (int i = 0; i < 4; i++) {
        snprintf(names[i], sizeof names[i], "%s.%s", y, parts[i]);
        init_f32_typed(f, names[i], 1, &c, lo[i], hi[i]);
    }
    snprintf(ins, sizeof ins, "%s %s %s %s %s", x, names[0], names[1], names[2], names[3]);
    return add(f, "BatchNormalization", ins, y);
}

/* Calibration samples drawn in [0, 1). */
static void write_calib(fixture *f, int32_t rank, const int64_t *dims) {
    int64_t n = numel_of(rank, dims);
    float *samples = malloc((size_t)n * sizeof *samples);
    assert_non_null(samples);
    for (int64_t i = 0; i < n; i++) samples[i] = frand(f, 0, 1);
    write_calib_samples(f, rank, dims, samples);
    free(samples);
}

/* ---------------- prune: the model used by most tests ---------------- */

/* x[2,8,6,6] → Conv 8×8×3×3 → Relu → Flatten → Gemm(transB=1) [16, 288] →
 * MatMul [16,32] → Gemm(transB=0) [32,12] → out. Every reduction is a multiple of 8. */
static void layers_graph(fixture *f) {
    int64_t xd[4] = {2, 8, 6, 6}, g1[2] = {16, 288}, m1[2] = {16, 32}, g2[2] = {32, 12};
    input(f, "x", 4, xd);
    conv(f, "x", "c", 8, 8, 3, 1);
    add(f, "Relu", "c", "r");
    ecc_node *fl = add(f, "Flatten", "r", "fl");
    assert_int_equal(ecc_node_set_attr_int(f->ctx, fl, "axis", 1), ECC_OK);
    init_f32_typed(f, "g1.w", 2, g1, -1, 1);
    ecc_node *g = add(f, "Gemm", "fl g1.w", "g1");
    assert_int_equal(ecc_node_set_attr_int(f->ctx, g, "transB", 1), ECC_OK);
    init_f32_typed(f, "m1.w", 2, m1, -1, 1);
    add(f, "MatMul", "g1 m1.w", "m1");
    init_f32_typed(f, "g2.w", 2, g2, -1, 1);
    add(f, "Gemm", "m1 g2.w", "out");
    output(f, "out");
}

/* Every group of m consecutive weights along the reduction axis of each
 * pruned layer (after lowering) has at most n nonzeros. */
static void check_nm(fixture *f, int n, int m) {
    wl_layers ls;
    assert_int_equal(wl_find(f->ctx, f->m->graph, &ls), ECC_OK);
    assert_int_equal(ecc_model_lower(f->ctx, f->m), ECC_OK);
    size_t checked = 0;
    for (size_t i = 0; i < ls.n; i++) {
        const wl_layer *L = &ls.items[i];
        if (!L->head) checked++;
        else continue;
        const float *w = wl_const(L->w)->data;
        for (int64_t r = 0; r < L->rows; r++)
            for (int64_t g = 0; g < L->k; g += m) {
                int nz = 0;
                for (int64_t j = g; j < g + m; j++) nz += w[wl_index(L, r, j)] != 0.0f;
                if (nz > n)
                    fail_msg("%s row %lld group %lld: %d nonzeros in %d", L->name, (long long)r,
                             (long long)g, nz, m);
            }
    }
    assert_int_equal(checked, 3);
    wl_layers_free(&ls);
}

static void test_nm_property_magnitude(void **state) {
    fixture *f = *state;
    layers_graph(f);
    run_pass(f, "prune:pattern=2:4:min_params=0");
    assert_string_equal(f->pl->text, "prune:pattern=2:4:min_params=0");
    assert_true(fabs(stat(f, "sparsity") - 0.5) < 1e-12);
    assert_int_equal(V("m1.w")->mask->pattern, ECC_MASK_NM);
    assert_int_equal(V("m1.w")->mask->axis, 0); /* [K, N]: the reduction is axis 0 */
    assert_int_equal(V("c.w")->mask->axis, 1);
    check_nm(f, 2, 4);
}

static void test_nm_property_other_patterns(void **state) {
    fixture *f = *state;
    layers_graph(f);
    run_pass(f, "prune:pattern=1:8:min_params=0");
    assert_true(fabs(stat(f, "sparsity") - 7.0 / 8) < 1e-12);
    check_nm(f, 1, 8);
}

static void test_nm_property_wanda(void **state) {
    fixture *f = *state;
    layers_graph(f);
    write_calib(f, 4, (int64_t[]){32, 8, 6, 6});
    run_pass(f, "prune:method=wanda:pattern=2:4:min_params=0");
    check_nm(f, 2, 4);
}

static void test_nm_property_sparsegpt(void **state) {
    fixture *f = *state;
    layers_graph(f);
    write_calib(f, 4, (int64_t[]){32, 8, 6, 6});
    run_pass(f, "prune:method=sparsegpt:pattern=4:8:min_params=0:block=16");
    check_nm(f, 4, 8);
}

/* ---------------- sparsity, scope, defaults ---------------- */

static int64_t zeros_of(fixture *f, const char *w) {
    const ecc_mask *m = V(w)->mask;
    assert_non_null(m);
    int64_t z = 0;
    for (int64_t i = 0; i < m->keep->numel; i++) z += !((uint8_t *)m->keep->data)[i];
    return z;
}

static void test_layer_scope_exact(void **state) {
    fixture *f = *state;
    layers_graph(f);
    float before = data_of(f, "g1.w")[5];
    run_pass(f, "prune:sparsity=0.37:min_params=0:scope=layer");
    const char *ws[3] = {"c.w", "g1.w", "m1.w"};
    for (int i = 0; i < 3; i++) {
        int64_t n = wl_const(V(ws[i]))->numel;
        assert_int_equal(zeros_of(f, ws[i]), llround(0.37 * (double)n));
    }
    assert_float_equal(data_of(f, "g1.w")[5], before, 0); /* annotated, not applied */
    assert_string_equal(V("g1.w")->mask->method, "magnitude");
    assert_true(has_stat(f, "layer.g1.sparsity"));
    assert_true(has_stat(f, "excluded.head.out"));
}

static void test_global_scope_exact(void **state) {
    fixture *f = *state;
    layers_graph(f);
    /* make the Conv weights large: a global ranking prunes it less */
    float *c = data_of(f, "c.w");
    for (int64_t i = 0; i < wl_const(V("c.w"))->numel; i++) c[i] *= 10;
    run_pass(f, "prune:sparsity=0.6:scope=global:min_params=0");
    int64_t total = 0, zeros = 0;
    const char *ws[3] = {"c.w", "g1.w", "m1.w"};
    for (int i = 0; i < 3; i++) {
        total += wl_const(V(ws[i]))->numel;
        zeros += zeros_of(f, ws[i]);
    }
    assert_int_equal(zeros, llround(0.6 * (double)total));
    assert_true(zeros_of(f, "c.w") < llround(0.6 * 576.0));
}

static void test_defaults_and_include(void **state) {
    fixture *f = *state;
    layers_graph(f);
    run_pass(f, "prune"); /* min_params 1024; the Gemm writing `out` is the head */
    assert_true(stat(f, "excluded.small.c") == 576);
    assert_true(stat(f, "excluded.small.m1") == 512);
    assert_true(stat(f, "excluded.head.out") == 384);
    assert_true(stat(f, "layers_pruned") == 1);
    assert_non_null(V("g1.w")->mask);
    assert_null(V("c.w")->mask);
    run_pass(f, "prune:include=out|m1*");
    assert_non_null(V("g2.w")->mask); /* named: the head is pruned too */
    assert_non_null(V("m1.w")->mask);
    assert_null(V("c.w")->mask);
    assert_true(stat(f, "excluded.not_included.c") == 576);
    run_pass(f, "prune:min_params=0:exclude=m1.w");
    assert_true(stat(f, "excluded.exclude.m1") == 512);
    assert_non_null(V("c.w")->mask);
}

static void test_mask_survives_until_lowering(void **state) {
    fixture *f = *state;
    layers_graph(f);
    run_pass(f, "prune:sparsity=0.5:min_params=0:scope=layer");
    const ecc_tensor *w = wl_const(V("g1.w"));
    int64_t nz = 0;
    for (int64_t i = 0; i < w->numel; i++) nz += ((float *)w->data)[i] != 0;
    assert_int_equal(nz, w->numel);
    assert_int_equal(ecc_model_lower(f->ctx, f->m), ECC_OK);
    assert_null(V("g1.w")->mask);
    nz = 0;
    for (int64_t i = 0; i < w->numel; i++) nz += ((float *)V("g1.w")->init->data)[i] != 0;
    assert_int_equal(nz, w->numel / 2);
}

static void test_constant_node_weights(void **state) {
    fixture *f = *state;
    int64_t xd[2] = {3, 64}, wd[2] = {64, 32}, od[2] = {32, 4};
    input(f, "x", 2, xd);
    ecc_tensor *t = NULL;
    assert_int_equal(ecc_tensor_create(f->ctx, ECC_DTYPE_FLOAT, 2, wd, &t), ECC_OK);
    for (int64_t i = 0; i < t->numel; i++) ((float *)t->data)[i] = frand(f, -1, 1);
    ecc_node *c = add(f, "Constant", "", "w");
    ecc_attr a = {.name = "value", .type = ECC_ATTR_TENSOR, .t = t};
    assert_int_equal(ecc_node_set_attr(f->ctx, c, &a), ECC_OK);
    ecc_tensor_unref(t);
    add(f, "MatMul", "x w", "h");
    init_f32_typed(f, "o", 2, od, -1, 1);
    add(f, "MatMul", "h o", "y");
    output(f, "y");
    run_pass(f, "prune:sparsity=0.75");
    assert_non_null(V("w")->init);
    assert_null(V("w")->producer);
    assert_int_equal(zeros_of(f, "w"), 1536);
}

/* ---------------- bad options: refused before any work ---------------- */

static void expect_refused(fixture *f, const char *spec, const char *needle) {
    int rc = try_pass(f, spec);
    if (rc != ECC_E_USAGE) fail_msg("%s: status %d, expected usage error", spec, rc);
    if (!strstr(ecc_ctx_message(f->ctx), needle))
        fail_msg("%s: message '%s' lacks '%s'", spec, ecc_ctx_message(f->ctx), needle);
    for (size_t i = 0; i < f->m->graph->values.n; i++)
        assert_null(((ecc_value *)f->m->graph->values.items[i])->mask);
}

static void test_bad_options(void **state) {
    fixture *f = *state;
    layers_graph(f);
    expect_refused(f, "prune:sparsity=1.5", "[0, 0.99]");
    expect_refused(f, "prune:pattern=5:4", "1 <= N < M");
    expect_refused(f, "prune:pattern=2-4", "'unstructured' or N:M");
    expect_refused(f, "prune:method=obs", "magnitude");
    expect_refused(f, "prune:include=conv9*", "matches no layer");
    expect_refused(f, "prune:include=conv9*", "g1 (g1.w)");
    expect_refused(f, "prune:exclude=zzz", "exclude='zzz'");
    expect_refused(f, "prune:pattern=2:4:sparsity=0.3", "give one or the other");
    expect_refused(f, "prune:pattern=2:4:scope=global", "scope=layer");
    expect_refused(f, "prune:method=wanda", "--calib");
    expect_refused(f, "prune:scope=auto", "--calib");
    expect_refused(f, "prune:bias_correct=true", "--calib");
    expect_refused(f, "prune-channel:ratio=0.99", "[0, 0.95]");
    expect_refused(f, "prune-channel:criterion=taylor", "activation");
    expect_refused(f, "prune-channel:criterion=activation", "--calib");
    expect_refused(f, "prune-channel:ratio=0.3:target_flops=0.5", "not both");
    expect_refused(f, "prune-channel:include=nothing", "matches no layer");
    /* the pipeline refuses option needs before any pass runs */
    ecc_pipeline *pl = NULL;
    assert_int_equal(ecc_pipeline_parse(f->ctx, f->reg, "dce,prune:method=wanda", &pl), ECC_OK);
    ecc_run_env none = {sizeof none, NULL, 0};
    assert_int_equal(ecc_pipeline_check(f->ctx, pl, &none), ECC_E_USAGE);
    assert_non_null(strstr(ecc_ctx_message(f->ctx), "--calib"));
    ecc_pipeline_free(pl);
}

/* ---------------- calibration statistics ---------------- */

static void test_conv_stats_brute_force(void **state) {
    fixture *f = *state;
    int64_t xd[4] = {-1, 4, 5, 7}; /* symbolic batch: all 3 samples in one run */
    input(f, "x", 4, xd);
    ecc_node *n = conv(f, "x", "y", 4, 6, 3, 2);
    attr_ints(f, n, "strides", 2, 1, 0, 0, 2);
    attr_ints(f, n, "pads", 1, 0, 0, 1, 4);
    output(f, "y");
    write_calib(f, 4, (int64_t[]){3, 4, 5, 7});
    calib_data *d = NULL;
    assert_int_equal(calib_data_load(f->ctx, f->m, f->calib, 0, &d), ECC_OK);
    wl_layers ls;
    assert_int_equal(wl_find(f->ctx, f->m->graph, &ls), ECC_OK);
    assert_int_equal(calib_collect_stats(f->ctx, f->m, d, &ls, NULL, true), ECC_OK);
    const wl_layer *L = &ls.items[0];
    assert_int_equal(L->k, 18);
    const float *x = d->inputs[0].data;
    int64_t oh = (5 + 1 + 0 - 3) / 2 + 1, ow = (7 + 0 + 1 - 3) / 1 + 1, tokens = 3 * oh * ow;
    assert_int_equal(L->stats.tokens, tokens);
    for (int64_t g = 0; g < 2; g++) {
        double h[18][18] = {{0}};
        for (int64_t b = 0; b < 3; b++)
            for (int64_t y = 0; y < oh; y++)
                for (int64_t xx = 0; xx < ow; xx++) {
                    float p[18];
                    int64_t at = 0;
                    for (int64_t c = 0; c < 2; c++)
                        for (int64_t ky = 0; ky < 3; ky++)
                            for (int64_t kx = 0; kx < 3; kx++) {
                                int64_t iy = y * 2 - 1 + ky, ix = xx - 0 + kx;
                                bool in = iy >= 0 && iy < 5 && ix >= 0 && ix < 7;
                                p[at++] = in ? x[((b * 4 + g * 2 + c) * 5 + iy) * 7 + ix] : 0;
                            }
                    for (int i = 0; i < 18; i++)
                        for (int j = 0; j < 18; j++) h[i][j] += (double)p[i] * p[j];
                }
        for (int i = 0; i < 18; i++) {
            assert_float_equal(L->stats.sq[g * 18 + i], h[i][i] / (double)tokens, 1e-5);
            for (int j = 0; j < 18; j++)
                assert_float_equal(L->stats.h[(g * 18 + i) * 18 + j], h[i][j] / (double)tokens,
                                   1e-5);
        }
    }
    wl_layers_free(&ls);
    calib_data_free(d);
}

/* ---------------- SparseGPT ---------------- */

/* ‖W X - W' X‖² for rows × k W and k × t X. */
static double recon_error(const float *w, const float *wp, const float *x, int64_t rows,
                          int64_t k, int64_t t) {
    double e = 0;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < t; j++) {
            double a = 0;
            for (int64_t i = 0; i < k; i++) a += ((double)w[r * k + i] - wp[r * k + i]) * x[i * t + j];
            e += a * a;
        }
    return e;
}

static void test_sparsegpt_beats_magnitude(void **state) {
    fixture *f = *state;
    enum { ROWS = 24, K = 64, T = 512 };
    float *w = malloc(ROWS * K * sizeof *w), *wm = malloc(ROWS * K * sizeof *w);
    float *ws = malloc(ROWS * K * sizeof *w), *x = malloc(K * T * sizeof *x);
    float *h = calloc(K * K, sizeof *h);
    uint8_t *keep = malloc(ROWS * K);
    for (int i = 0; i < ROWS * K; i++) w[i] = frand(f, -1, 1);
    for (int j = 0; j < T; j++) { /* correlated features with different scales */
        float base = frand(f, -1, 1);
        for (int i = 0; i < K; i++)
            x[i * T + j] = (0.7f * base + 0.3f * frand(f, -1, 1)) * (1.0f + (float)(i % 5));
    }
    for (int i = 0; i < K; i++)
        for (int j = 0; j < K; j++) {
            double s = 0;
            for (int t = 0; t < T; t++) s += (double)x[i * T + t] * x[j * T + t];
            h[i * K + j] = (float)(s / T);
        }
    prune_pattern un = {0, 0}, nm = {2, 4};
    prune_method_opts o = {0.01, 16};
    const prune_pattern *pats[2] = {&un, &nm};
    for (int p = 0; p < 2; p++) {
        int64_t target = ROWS * K / 2;
        memcpy(ws, w, sizeof(float) * ROWS * K);
        memset(keep, 1, ROWS * K);
        float *hc = malloc(K * K * sizeof *hc);
        memcpy(hc, h, K * K * sizeof *hc);
        assert_int_equal(prune_sparsegpt_matrix(f->ctx, ws, ROWS, K, hc, target, pats[p], &o, keep),
                         ECC_OK);
        free(hc);
        int64_t zeros = 0;
        for (int i = 0; i < ROWS * K; i++) {
            zeros += !keep[i];
            if (!keep[i]) assert_float_equal(ws[i], 0, 0);
        }
        assert_int_equal(zeros, target);
        if (pats[p]->m) assert_true(prune_nm_holds(ws, ROWS, K, 2, 4));
        wl_layer L = {.rows = ROWS, .k = K, .groups = 1, .row_stride = K, .col_stride = 1};
        bool changed;
        memcpy(wm, w, sizeof(float) * ROWS * K);
        memset(keep, 1, ROWS * K);
        assert_int_equal(prune_magnitude(f->ctx, &L, wm, target, pats[p], &o, keep, &changed),
                         ECC_OK);
        for (int i = 0; i < ROWS * K; i++) wm[i] = keep[i] ? wm[i] : 0;
        double es = recon_error(w, ws, x, ROWS, K, T), em = recon_error(w, wm, x, ROWS, K, T);
        if (!(es < 0.5 * em)) fail_msg("pattern %d: sparsegpt %g vs magnitude %g", p, es, em);
    }
    free(w), free(wm), free(ws), free(x), free(h), free(keep);
}

/* ---------------- scope=auto allocation and the sensitivity API ---------------- */

static void test_allocate_exact(void **state) {
    fixture *f = *state;
    (void)f;
    wl_layer items[3] = {{.numel = 1000}, {.numel = 3000}, {.numel = 500}};
    wl_layers ls = {items, 3};
    double levels[3] = {0.3, 0.6, 0.9};
    prune_sens_cell cells[9] = {
        {0.01, 1, 0}, {0.05, 1, 0}, {0.50, 1, 0},  /* layer 0: sensitive at the end */
        {0.001, 1, 0}, {0.002, 1, 0}, {0.01, 1, 0}, /* layer 1: robust */
        {0.2, 1, 0}, {0.4, 1, 0}, {0.9, 1, 0},     /* layer 2: fragile */
    };
    assert_int_equal(prune_allocate(f->ctx, &ls, levels, 3, cells, 0.5), ECC_OK);
    assert_int_equal(items[0].target + items[1].target + items[2].target, 2250);
    assert_true(items[1].target > items[0].target);
    assert_true(items[2].target <= 150);
    assert_true(items[1].target <= 3000);
}

static void test_sensitivity_api(void **state) {
    fixture *f = *state;
    layers_graph(f);
    write_calib(f, 4, (int64_t[]){16, 8, 6, 6});
    double levels[2] = {0.2, 0.8};
    ecc_sensitivity_options o = {sizeof o, "prune:min_params=0", levels, 2, NULL, 0};
    ecc_sensitivity *s = NULL;
    if (ecc_sensitivity_run(f->ctx, f->reg, f->m, f->calib, &o, &s) != ECC_OK)
        fail_msg("%s", ecc_ctx_message(f->ctx));
    assert_int_equal(ecc_sensitivity_layer_count(s), 4);
    assert_int_equal(ecc_sensitivity_level_count(s), 2);
    const char *skipped = NULL;
    int64_t params = 0;
    assert_string_equal(ecc_sensitivity_layer(s, 3, &params, &skipped), "out");
    assert_non_null(skipped);
    double e0, e1, agree, acc;
    for (size_t i = 0; i < 3; i++) {
        assert_true(ecc_sensitivity_cell(s, i, 0, &e0, &agree, &acc));
        assert_true(ecc_sensitivity_cell(s, i, 1, &e1, NULL, NULL));
        assert_true(e0 > 0 && e1 > e0);
        assert_true(isnan(acc));
    }
    assert_false(ecc_sensitivity_cell(s, 3, 0, &e0, NULL, NULL));
    assert_null(V("g1.w")->mask); /* weights restored, nothing attached */
    FILE *dev = fopen("/dev/null", "w");
    assert_int_equal(ecc_sensitivity_write(f->ctx, s, true, dev), ECC_OK);
    fclose(dev);
    ecc_sensitivity_free(s);
    o.pass = "dce";
    assert_int_equal(ecc_sensitivity_run(f->ctx, f->reg, f->m, f->calib, &o, &s), ECC_E_USAGE);
    assert_non_null(strstr(ecc_ctx_message(f->ctx), "one 'prune' invocation"));
}

static void test_scope_auto(void **state) {
    fixture *f = *state;
    layers_graph(f);
    write_calib(f, 4, (int64_t[]){16, 8, 6, 6});
    run_pass(f, "prune:sparsity=0.6:scope=auto:min_params=0");
    int64_t total = 576 + 4608 + 512, zeros = zeros_of(f, "c.w") + zeros_of(f, "g1.w") +
                                             zeros_of(f, "m1.w");
    assert_int_equal(zeros, llround(0.6 * (double)total));
}

/* ---------------- bias correction ---------------- */

typedef struct out_sum {
    double sum[256];
    int64_t n, per;
} out_sum;

static ecc_status sum_batch(ecc_ctx *ctx, void *user, const ecc_interp *it, int64_t first,
                            int64_t n) {
    (void)ctx, (void)first;
    out_sum *o = user;
    const ecc_rt_tensor *y = ecc_interp_result(it, 0);
    o->per = (int64_t)(y->nbytes / sizeof(float)) / n;
    for (int64_t i = 0; i < n * o->per && o->per <= 256; i++)
        o->sum[i % o->per] += ((const float *)y->data)[i];
    o->n += n;
    return ECC_OK;
}

static void output_means(fixture *f, out_sum *o) {
    calib_data *d = NULL;
    memset(o, 0, sizeof *o);
    assert_int_equal(calib_data_load(f->ctx, f->m, f->calib, 0, &d), ECC_OK);
    assert_int_equal(calib_data_run(f->ctx, f->m, d, 16, NULL, NULL, sum_batch, o), ECC_OK);
    for (int64_t i = 0; i < o->per; i++) o->sum[i] /= (double)o->n;
    calib_data_free(d);
}

/* Linear layers with bias_correct: the mean output over the calibration data
 * is unchanged (exactly for Gemm / MatMul; per channel, averaged over
 * positions, for Conv → BN). The three places a correction goes are used:
 * the BN running mean, the Gemm's C, a new Add after a MatMul. */
static void test_bias_correct_keeps_means_gemm(void **state) {
    fixture *f = *state;
    int64_t xd[2] = {-1, 40}, gd[2] = {16, 40}, cd = 16, md[2] = {16, 6};
    input(f, "x", 2, xd);
    init_f32_typed(f, "g.w", 2, gd, -1, 1);
    init_f32_typed(f, "g.c", 1, &cd, -1, 1);
    ecc_node *g = add(f, "Gemm", "x g.w g.c", "h");
    assert_int_equal(ecc_node_set_attr_int(f->ctx, g, "transB", 1), ECC_OK);
    init_f32_typed(f, "m.w", 2, md, -1, 1);
    add(f, "MatMul", "h m.w", "y");
    output(f, "y");
    write_calib(f, 2, (int64_t[]){50, 40});
    out_sum before, after;
    output_means(f, &before);
    float gc0 = data_of(f, "g.c")[0];
    run_pass(f, "prune:sparsity=0.7:min_params=0:head=true:bias_correct=true");
    assert_int_equal(ecc_model_lower(f->ctx, f->m), ECC_OK);
    assert_true(data_of(f, "g.c")[0] != gc0);
    assert_string_equal(V("y")->producer->op_type, "Add"); /* MatMul has no bias */
    output_means(f, &after);
    assert_int_equal(before.per, 6);
    for (int i = 0; i < 6; i++)
        if (fabs(before.sum[i] - after.sum[i]) > 1e-4 * (1 + fabs(before.sum[i])))
            fail_msg("mean of output %d: %g before, %g after", i, before.sum[i], after.sum[i]);
}

static void test_bias_correct_keeps_means_conv_bn(void **state) {
    fixture *f = *state;
    int64_t xd[4] = {-1, 3, 5, 5};
    input(f, "x", 4, xd);
    conv(f, "x", "c", 3, 4, 3, 1);
    bn(f, "c", "y", 4);
    output(f, "y");
    write_calib(f, 4, (int64_t[]){30, 3, 5, 5});
    out_sum before, after;
    output_means(f, &before);
    float m0 = data_of(f, "y.mean")[0];
    run_pass(f, "prune:sparsity=0.6:min_params=0:head=true:bias_correct=true");
    assert_int_equal(ecc_model_lower(f->ctx, f->m), ECC_OK);
    assert_true(data_of(f, "y.mean")[0] != m0);
    output_means(f, &after);
    assert_int_equal(before.per, 100);
    for (int c = 0; c < 4; c++) {
        double b = 0, a = 0;
        for (int i = 0; i < 25; i++) b += before.sum[c * 25 + i], a += after.sum[c * 25 + i];
        if (fabs(a - b) > 1e-3 * (1 + fabs(b)))
            fail_msg("mean of channel %d: %g before, %g after", c, b / 25, a / 25);
    }
}

/* ---------------- prune-channel ---------------- */

enum { MAXO = 8192 };

typedef struct io_check {
    float x[MAXO], before[MAXO], after[MAXO];
    int64_t nx, ny;
} io_check;

static void inputs_for(fixture *f, io_check *c, int32_t rank, const int64_t *dims) {
    c->nx = 1;
    for (int32_t i = 0; i < rank; i++) c->nx *= dims[i];
    for (int64_t i = 0; i < c->nx; i++) c->x[i] = frand(f, -1, 1);
}

/* Runs spec; the model's output for a random input x[dims] stays within tol. */
static void run_pass_keeps_output(fixture *f, const char *spec, int32_t rank, const int64_t *dims,
                                  double tol) {
    io_check *io = calloc(1, sizeof *io);
    inputs_for(f, io, rank, dims);
    io->ny = run_model(f, io->x, rank, dims, io->before, MAXO);
    run_pass(f, spec);
    assert_int_equal(run_model(f, io->x, rank, dims, io->after, MAXO), io->ny);
    for (int64_t i = 0; i < io->ny; i++) assert_float_equal(io->before[i], io->after[i], tol);
    free(io);
}

/* The (pruned) model runs on a random input x[dims] and gives ny outputs. */
static void assert_runs(fixture *f, int32_t rank, const int64_t *dims, int64_t ny) {
    io_check *io = calloc(1, sizeof *io);
    inputs_for(f, io, rank, dims);
    assert_int_equal(run_model(f, io->x, rank, dims, io->after, MAXO), ny);
    free(io);
}

/* Makes the listed channels of conv `c` → BN `b` constant: zero weights, BN
 * mean 0 and bias beta (after a Relu: dead when beta <= 0). */
static void make_channels_constant(fixture *f, const char *c, const char *b, const int *channels,
                                   int n, float beta) {
    char w[64], bias[64], mean[64];
    snprintf(w, sizeof w, "%s.w", c);
    snprintf(bias, sizeof bias, "%s.bias", b);
    snprintf(mean, sizeof mean, "%s.mean", b);
    const ecc_tensor *wt = wl_const(V(w));
    int64_t per_channel = wt->numel / wt->dims[0];
    for (int k = 0; k < n; k++) {
        memset(data_of(f, w) + channels[k] * per_channel, 0, (size_t)per_channel * sizeof(float));
        data_of(f, bias)[channels[k]] = beta;
        data_of(f, mean)[channels[k]] = 0.0f;
    }
}

/* conv(3→8)+BN+Relu with channels 0, 3, 5, 6 dead (zero weights, BN → ≤ 0),
 * conv(8→4)+Relu → Flatten → Gemm: every constant follows the kept channels. */
static void test_channel_shapes_flatten_gemm(void **state) {
    fixture *f = *state;
    int64_t xd[4] = {2, 3, 6, 6}, gd[2] = {5, 4 * 36};
    input(f, "x", 4, xd);
    conv(f, "x", "c1", 3, 8, 3, 1);
    bn(f, "c1", "b1", 8);
    add(f, "Relu", "b1", "r1");
    conv(f, "r1", "c2", 8, 4, 3, 1);
    add(f, "Relu", "c2", "r2");
    add(f, "Flatten", "r2", "fl");
    init_f32_typed(f, "fc.w", 2, gd, -1, 1);
    ecc_node *g = add(f, "Gemm", "fl fc.w", "y");
    assert_int_equal(ecc_node_set_attr_int(f->ctx, g, "transB", 1), ECC_OK);
    output(f, "y");
    make_channels_constant(f, "c1", "b1", (const int[]){0, 3, 5, 6}, 4, -0.5f);
    run_pass(f, "prune-channel:ratio=0.5");
    assert_int_equal(wl_const(V("c1.w"))->dims[0], 4);
    for (int i = 0; i < 4 * 27; i++) assert_true(data_of(f, "c1.w")[i] != 0); /* dead gone */
    assert_int_equal(wl_const(V("c2.w"))->dims[1], 4);
    assert_int_equal(wl_const(V("c2.w"))->dims[0], 2);
    assert_int_equal(wl_const(V("b1.var"))->dims[0], 4);
    assert_int_equal(wl_const(V("fc.w"))->dims[1], 2 * 36); /* Flatten → Gemm */
    assert_int_equal(V("r1")->dims[1].value, 4);
    assert_int_equal(V("fl")->dims[1].value, 72);
    assert_true(stat(f, "params_after") < stat(f, "params_before"));
    assert_true(stat(f, "flops_after") < 0.6 * stat(f, "flops_before"));
    float x[2 * 3 * 36], y[16];
    for (int i = 0; i < 2 * 3 * 36; i++) x[i] = frand(f, -1, 1);
    assert_int_equal(run_model(f, x, 4, xd, y, 16), 10);
}

/* Dead channels removed, the output group blocked: the output is exact. */
static void test_channel_dead_exact_output(void **state) {
    fixture *f = *state;
    int64_t xd[4] = {2, 3, 6, 6};
    input(f, "x", 4, xd);
    conv(f, "x", "c1", 3, 8, 3, 1);
    bn(f, "c1", "b1", 8);
    add(f, "Relu", "b1", "r1");
    conv(f, "r1", "y", 8, 4, 3, 1);
    output(f, "y");
    make_channels_constant(f, "c1", "b1", (const int[]){1, 2, 4, 7}, 4, -0.5f);
    run_pass_keeps_output(f, "prune-channel:ratio=0.5:criterion=l2", 4, xd, 1e-5);
    assert_int_equal(wl_const(V("c1.w"))->dims[0], 4);
    assert_int_equal(wl_const(V("y.w"))->dims[0], 4); /* the output group is blocked */
    assert_true(has_stat(f, "skipped.y"));
}

/* Channels that are constant (zero weights, BN beta > 0 after Relu) carry
 * only their mean: removed with bias_correct, the output is unchanged (the
 * 1×1 consumer has no bias, so a new Add appears after it). */
static void test_channel_bias_correct_constant_channels(void **state) {
    fixture *f = *state;
    int64_t xd[4] = {-1, 3, 5, 5};
    input(f, "x", 4, xd);
    conv(f, "x", "c1", 3, 8, 3, 1);
    bn(f, "c1", "b1", 8);
    add(f, "Relu", "b1", "r1");
    conv(f, "r1", "y", 8, 4, 1, 1);
    output(f, "y");
    make_channels_constant(f, "c1", "b1", (const int[]){0, 2, 5, 7}, 4, 0.7f);
    write_calib(f, 4, (int64_t[]){8, 3, 5, 5});
    int64_t xr[4] = {2, 3, 5, 5};
    run_pass_keeps_output(f, "prune-channel:ratio=0.5:bias_correct=true", 4, xr, 1e-4);
    assert_int_equal(wl_const(V("c1.w"))->dims[0], 4);
    assert_string_equal(V("y")->producer->op_type, "Add");
}

/* Residual: c1 → BN → Relu = r1; c2(r1) → BN = b2; Add(b2, r1) → Relu → c3.
 * c1 and c2 form one group; the same channels go everywhere. */
static void test_channel_residual_group(void **state) {
    fixture *f = *state;
    int64_t xd[4] = {1, 2, 5, 5};
    input(f, "x", 4, xd);
    conv(f, "x", "c1", 2, 8, 3, 1);
    bn(f, "c1", "b1", 8);
    add(f, "Relu", "b1", "r1");
    conv(f, "r1", "c2", 8, 8, 3, 1);
    bn(f, "c2", "b2", 8);
    add(f, "Add", "b2 r1", "s");
    add(f, "Relu", "s", "r");
    conv(f, "r", "y", 8, 3, 1, 1);
    output(f, "y");
    run_pass(f, "prune-channel:ratio=0.25");
    assert_int_equal(wl_const(V("c1.w"))->dims[0], 6);
    assert_int_equal(wl_const(V("c2.w"))->dims[0], 6);
    assert_int_equal(wl_const(V("c2.w"))->dims[1], 6);
    assert_int_equal(wl_const(V("y.w"))->dims[1], 6);
    assert_true(stat(f, "group.c1+c2.channels_after") == 6);
    assert_runs(f, 4, xd, 3 * 25);
}

/* Depthwise passes channels through (weights and group follow); a grouped
 * Conv keeps equal counts per group and blocks what it reads; Concat segments. */
static void test_channel_depthwise_grouped_concat(void **state) {
    fixture *f = *state;
    int64_t xd[4] = {1, 1, 6, 6};
    input(f, "x", 4, xd);
    conv(f, "x", "a", 1, 8, 3, 1);
    conv(f, "a", "dw", 8, 8, 3, 8);
    conv(f, "x", "b", 1, 4, 1, 1);
    add(f, "Concat", "dw b", "cat");
    assert_int_equal(ecc_node_set_attr_int(f->ctx, V("cat")->producer, "axis", 1), ECC_OK);
    conv(f, "cat", "p", 12, 6, 1, 1);
    conv(f, "p", "g", 6, 8, 1, 2); /* grouped: reads p (blocked), writes 2 groups of 4 */
    conv(f, "g", "y", 8, 2, 1, 1);
    output(f, "y");
    run_pass(f, "prune-channel:ratio=0.5");
    assert_int_equal(wl_const(V("a.w"))->dims[0], 4);
    assert_int_equal(wl_const(V("dw.w"))->dims[0], 4);
    assert_int_equal(ecc_node_attr_int(V("dw")->producer, "group", 0), 4);
    assert_int_equal(wl_const(V("b.w"))->dims[0], 2);
    assert_int_equal(wl_const(V("p.w"))->dims[1], 6); /* 4 + 2 concatenated */
    assert_int_equal(wl_const(V("p.w"))->dims[0], 6); /* blocked by the grouped conv */
    assert_int_equal(wl_const(V("g.w"))->dims[0], 4); /* 2 per group */
    assert_int_equal(ecc_node_attr_int(V("g")->producer, "group", 0), 2);
    assert_int_equal(wl_const(V("y.w"))->dims[1], 4);
    assert_runs(f, 4, xd, 2 * 36);
}

/* Transformer MLP: MatMul [16,32] → Add bias [32] → Relu → MatMul [32,16]. */
static void test_channel_matmul_hidden(void **state) {
    fixture *f = *state;
    int64_t xd[3] = {2, 5, 16}, w1[2] = {16, 32}, b1 = 32, w2[2] = {32, 16};
    input(f, "x", 3, xd);
    init_f32_typed(f, "w1", 2, w1, -1, 1);
    init_f32_typed(f, "b1", 1, &b1, -1, 1);
    init_f32_typed(f, "w2", 2, w2, -1, 1);
    add(f, "MatMul", "x w1", "h");
    add(f, "Add", "h b1", "hb");
    add(f, "Relu", "hb", "r");
    add(f, "MatMul", "r w2", "y");
    output(f, "y");
    run_pass(f, "prune-channel:ratio=0.5:round_to=8");
    assert_int_equal(wl_const(V("w1"))->dims[1], 16);
    assert_int_equal(wl_const(V("b1"))->dims[0], 16);
    assert_int_equal(wl_const(V("w2"))->dims[0], 16);
    assert_int_equal(wl_const(V("w2"))->dims[1], 16); /* the output stays */
    assert_runs(f, 3, xd, 2 * 5 * 16);
}

static void test_channel_blocked_and_round_to(void **state) {
    fixture *f = *state;
    int64_t xd[4] = {1, 2, 4, 4};
    input(f, "x", 4, xd);
    conv(f, "x", "c1", 2, 12, 1, 1);
    add(f, "Softmax", "c1", "sm"); /* reads channels: no rule → blocked */
    conv(f, "sm", "c2", 12, 12, 1, 1);
    conv(f, "c2", "y", 12, 2, 1, 1);
    output(f, "y");
    run_pass(f, "prune-channel:ratio=0.6:round_to=4");
    assert_int_equal(wl_const(V("c1.w"))->dims[0], 12);
    assert_int_equal(wl_const(V("c2.w"))->dims[0], 8); /* 12 - 7 = 5 → 8 */
    assert_true(has_stat(f, "skipped.c1"));
}

static void test_channel_target_flops(void **state) {
    fixture *f = *state;
    layers_graph(f);
    run_pass(f, "prune-channel:target_flops=0.5");
    double before = stat(f, "flops_before"), after = stat(f, "flops_after");
    assert_true(after <= 0.5 * before * 1.02);
    assert_true(after >= 0.3 * before);
    assert_runs(f, 4, (int64_t[]){2, 8, 6, 6}, 2 * 12);
}

int main(void) {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, fixture_teardown)
    const struct CMUnitTest tests[] = {
        T(test_nm_property_magnitude),
        T(test_nm_property_other_patterns),
        T(test_nm_property_wanda),
        T(test_nm_property_sparsegpt),
        T(test_layer_scope_exact),
        T(test_global_scope_exact),
        T(test_defaults_and_include),
        T(test_mask_survives_until_lowering),
        T(test_constant_node_weights),
        T(test_bad_options),
        T(test_conv_stats_brute_force),
        T(test_sparsegpt_beats_magnitude),
        T(test_allocate_exact),
        T(test_sensitivity_api),
        T(test_scope_auto),
        T(test_bias_correct_keeps_means_gemm),
        T(test_bias_correct_keeps_means_conv_bn),
        T(test_channel_shapes_flatten_gemm),
        T(test_channel_dead_exact_output),
        T(test_channel_bias_correct_constant_channels),
        T(test_channel_residual_group),
        T(test_channel_depthwise_grouped_concat),
        T(test_channel_matmul_hidden),
        T(test_channel_blocked_and_round_to),
        T(test_channel_target_flops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
