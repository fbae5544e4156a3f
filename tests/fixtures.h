/* fixtures.h — the graph-building fixture shared by the C tests that build
 * small graphs with the IR API and run built-in passes on them (test_passes,
 * test_prune, test_quant). It owns: the fixture (context, registry, model, the
 * pipeline and run of the last pass, a run environment, a deterministic random
 * source, an optional calibration file), its setup and teardown, building a
 * graph by value name (inputs, outputs, initializers, nodes), running one pass
 * and reading its statistics, counting ops, lowering, writing a calibration
 * .npy and running the model through the interpreter.
 *
 * Every helper fails the current cmocka test on error. Include after
 * <cmocka.h>. The helpers are `static inline` so that a test using only some
 * of them compiles without unused-function warnings. */
#ifndef ECC_TESTS_FIXTURES_H
#define ECC_TESTS_FIXTURES_H

#include "interp.h"
#include "pipeline.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct fixture {
    ecc_ctx *ctx;
    ecc_registry *reg;
    ecc_model *m;
    ecc_pipeline *pl;  /* the pipeline of the last pass run, or NULL */
    ecc_pass_run run;  /* the run of the last pass: its statistics */
    ecc_run_env env;   /* handed to every pass; write_calib sets calib_path */
    bool check_first;  /* run ecc_pipeline_check before each pass, as the pipeline does */
    uint64_t rng;
    char calib[64];    /* calibration file removed at teardown, or "" */
} fixture;

/* A quiet context, the built-in registry and an empty model at `opset`. */
static inline int fixture_setup(void **state, int64_t opset) {
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->ctx = ecc_ctx_create();
    ecc_ctx_set_verbosity(f->ctx, -1);
    f->rng = 0x9e3779b97f4a7c15ull;
    f->env = (ecc_run_env){sizeof f->env, NULL, 256};
    assert_int_equal(ecc_registry_create(f->ctx, &f->reg), ECC_OK);
    assert_int_equal(ecc_model_create(f->ctx, &f->m), ECC_OK);
    assert_int_equal(ecc_model_set_opset(f->ctx, f->m, "", opset), ECC_OK);
    *state = f;
    return 0;
}

static inline int fixture_teardown(void **state) {
    fixture *f = *state;
    ecc_pass_run_release(&f->run);
    ecc_pipeline_free(f->pl);
    ecc_model_free(f->m);
    ecc_registry_free(f->reg);
    ecc_ctx_free(f->ctx);
    if (f->calib[0]) unlink(f->calib);
    free(f);
    return 0;
}

/* Uniform in [lo, hi], the same sequence for every run. */
static inline float frand(fixture *f, float lo, float hi) {
    f->rng = f->rng * 6364136223846793005ull + 1442695040888963407ull;
    return lo + (hi - lo) * (float)((f->rng >> 40) & 0xffffff) / (float)0xffffff;
}

/* ---------------- building the graph ---------------- */

/* The value called name in the main graph, created on first use. */
static inline ecc_value *val(fixture *f, const char *name) {
    ecc_value *v = NULL;
    assert_int_equal(ecc_graph_get_value(f->ctx, f->m->graph, name, &v), ECC_OK);
    return v;
}
/* V("w"): the value "w" of the fixture `f` in scope. */
#define V(name) val(f, name)

static inline ecc_tensor *tensor(fixture *f, int32_t dtype, int32_t rank, const int64_t *dims) {
    ecc_tensor *t = NULL;
    assert_int_equal(ecc_tensor_create(f->ctx, dtype, rank, dims, &t), ECC_OK);
    return t;
}

/* Makes t the initializer of `name`; takes over the caller's reference. */
static inline ecc_value *init_t(fixture *f, const char *name, ecc_tensor *t) {
    ecc_value *v = V(name);
    assert_int_equal(ecc_graph_set_initializer(f->ctx, f->m->graph, v, t), ECC_OK);
    ecc_tensor_unref(t);
    return v;
}

/* A float32 initializer drawn uniformly from [lo, hi]. */
static inline ecc_value *init_f32(fixture *f, const char *name, int32_t rank, const int64_t *dims,
                                  float lo, float hi) {
    ecc_tensor *t = tensor(f, ECC_DTYPE_FLOAT, rank, dims);
    for (int64_t i = 0; i < t->numel; i++) ((float *)t->data)[i] = frand(f, lo, hi);
    return init_t(f, name, t);
}

static inline ecc_value *init_i64(fixture *f, const char *name, int32_t rank,
                                  const int64_t *dims, const int64_t *data) {
    ecc_tensor *t = tensor(f, ECC_DTYPE_INT64, rank, dims);
    memcpy(t->data, data, (size_t)t->numel * sizeof *data);
    return init_t(f, name, t);
}

/* A float32 graph input with a static shape (rank < 0: no shape). */
static inline ecc_value *input(fixture *f, const char *name, int32_t rank, const int64_t *dims) {
    ecc_value *v = V(name);
    v->flags |= ECC_VALUE_INPUT;
    assert_true(ecc_ptrvec_push(&f->m->graph->inputs, v));
    if (rank >= 0)
        assert_int_equal(ecc_value_set_shape(f->ctx, v, ECC_DTYPE_FLOAT, rank, dims), ECC_OK);
    return v;
}

static inline void output(fixture *f, const char *name) {
    ecc_value *v = V(name);
    v->flags |= ECC_VALUE_OUTPUT;
    assert_true(ecc_ptrvec_push(&f->m->graph->outputs, v));
}

/* Adds op with space-separated input/output names ("-" = empty input); the
 * node is named like its output 0. */
static inline ecc_node *add(fixture *f, const char *op, const char *ins, const char *outs) {
    ecc_value *iv[8], *ov[8];
    uint32_t ni = 0, no = 0;
    char buf[256], *save = NULL;
    snprintf(buf, sizeof buf, "%s", ins);
    for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save))
        iv[ni++] = strcmp(t, "-") ? V(t) : NULL;
    snprintf(buf, sizeof buf, "%s", outs);
    for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save)) ov[no++] = V(t);
    ecc_node *n = NULL;
    assert_int_equal(
        ecc_graph_add_node(f->ctx, f->m->graph, op, "", ov[0]->name, iv, ni, ov, no, &n),
        ECC_OK);
    return n;
}

/* ---------------- looking at the graph ---------------- */

static inline size_t count_op(const ecc_graph *g, const char *op) {
    size_t n = 0;
    for (size_t i = 0; i < g->nodes.n; i++)
        n += strcmp(((ecc_node *)g->nodes.items[i])->op_type, op) == 0;
    return n;
}

/* The first node running op, or NULL. */
static inline ecc_node *find_op(const ecc_graph *g, const char *op) {
    for (size_t i = 0; i < g->nodes.n; i++)
        if (strcmp(((ecc_node *)g->nodes.items[i])->op_type, op) == 0) return g->nodes.items[i];
    return NULL;
}

/* ---------------- running passes ---------------- */

/* Parses spec (one pass, options allowed), checks it when f->check_first and
 * runs it; returns the first status that is not ECC_OK. */
static inline int try_pass(fixture *f, const char *spec) {
    ecc_pipeline_free(f->pl);
    ecc_pass_run_release(&f->run);
    f->pl = NULL;
    ecc_status st = ecc_pipeline_parse(f->ctx, f->reg, spec, &f->pl);
    if (st == ECC_OK && f->check_first) st = ecc_pipeline_check(f->ctx, f->pl, &f->env);
    if (st != ECC_OK) return (int)st;
    f->run = (ecc_pass_run){.ctx = f->ctx, .model = f->m, .inv = &f->pl->passes[0],
                            .env = &f->env};
    return f->pl->passes[0].desc->run(&ecc_host_api_table, &f->run);
}

/* Runs spec, which must succeed and leave a valid graph. */
static inline void run_pass(fixture *f, const char *spec) {
    if (try_pass(f, spec) != ECC_OK) fail_msg("%s: %s", spec, ecc_ctx_message(f->ctx));
    if (ecc_graph_verify(f->ctx, f->m->graph) != ECC_OK)
        fail_msg("%s left an invalid graph: %s", spec, ecc_ctx_message(f->ctx));
}

/* Applies every annotation; the graph must stay valid. */
static inline void lower(fixture *f) {
    if (ecc_model_lower(f->ctx, f->m) != ECC_OK) fail_msg("lower: %s", ecc_ctx_message(f->ctx));
    if (ecc_graph_verify(f->ctx, f->m->graph) != ECC_OK)
        fail_msg("lowering left an invalid graph: %s", ecc_ctx_message(f->ctx));
}

static inline bool has_stat(fixture *f, const char *key) {
    for (size_t i = 0; i < f->run.n_stats; i++)
        if (strcmp(f->run.stats[i].key, key) == 0) return true;
    return false;
}

/* The statistic key of the last pass run; fails when there is none. */
static inline double stat(fixture *f, const char *key) {
    for (size_t i = 0; i < f->run.n_stats; i++)
        if (strcmp(f->run.stats[i].key, key) == 0) return f->run.stats[i].value;
    fail_msg("no statistic '%s'", key);
    return 0;
}

/* ---------------- calibration data and the interpreter ---------------- */

static inline int64_t numel_of(int32_t rank, const int64_t *dims) {
    int64_t n = 1;
    for (int32_t i = 0; i < rank; i++) n *= dims[i];
    return n;
}

/* Writes samples (float32, shape dims) as the calibration .npy that every
 * later pass reads through f->env. */
static inline void write_calib_samples(fixture *f, int32_t rank, const int64_t *dims,
                                       const float *samples) {
    snprintf(f->calib, sizeof f->calib, "/tmp/ecc_test_calib_%d.npy", (int)getpid());
    char shape[128], hdr[256];
    size_t used = 0;
    for (int32_t i = 0; i < rank; i++)
        used += (size_t)snprintf(shape + used, sizeof shape - used, "%lld,", (long long)dims[i]);
    int len = snprintf(hdr, sizeof hdr, "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }",
                       shape);
    int total = 10 + len + 1, pad = (16 - total % 16) % 16;
    FILE *fp = fopen(f->calib, "wb");
    assert_non_null(fp);
    uint16_t hl = (uint16_t)(len + pad + 1);
    fwrite("\x93NUMPY\x01\x00", 1, 8, fp);
    fwrite(&hl, 2, 1, fp);
    fwrite(hdr, 1, (size_t)len, fp);
    for (int i = 0; i < pad; i++) fputc(' ', fp);
    fputc('\n', fp);
    int64_t n = numel_of(rank, dims);
    assert_int_equal(fwrite(samples, sizeof *samples, (size_t)n, fp), (size_t)n);
    fclose(fp);
    f->env.calib_path = f->calib;
}

/* Runs the model on x (float32, dims) and copies output 0 into out (cap
 * floats); returns its element count. */
static inline int64_t run_model(fixture *f, const float *x, int32_t rank, const int64_t *dims,
                                float *out, int64_t cap) {
    ecc_interp *it = NULL;
    ecc_interp_options o = {sizeof o, 1, dims[0], NULL, NULL, NULL};
    if (ecc_interp_create(f->ctx, f->m, &o, &it) != ECC_OK)
        fail_msg("interp: %s", ecc_ctx_message(f->ctx));
    ecc_rt_tensor in = {ECC_DTYPE_FLOAT, rank, {0}, (void *)x, 0};
    int64_t n = 1;
    for (int32_t i = 0; i < rank; i++) n *= (in.dims[i] = dims[i]);
    in.nbytes = (size_t)n * sizeof(float);
    if (ecc_interp_run(f->ctx, it, &in, 1) != ECC_OK) fail_msg("run: %s", ecc_ctx_message(f->ctx));
    const ecc_rt_tensor *y = ecc_interp_result(it, 0);
    int64_t ny = (int64_t)(y->nbytes / sizeof(float));
    assert_true(ny <= cap);
    memcpy(out, y->data, y->nbytes);
    ecc_interp_free(it);
    return ny;
}

#endif
