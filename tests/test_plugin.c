/* test_plugin.c — the plugin ABI: pinned struct layouts, every loader failure
 * and its message, rollback of a failed load, the host table seen from a
 * plugin (typed options, statistics, log, seed, errors), and the example
 * threshold-weights plugin run on a small IR graph, including copy-on-write
 * of a weight shared with another model. Plugins are found under $BUILD
 * (default "build"), relative to the repository root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "pipeline.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------- ABI layout pins (x86_64) ---------------- */

/* Any change here must be deliberate: the host table only grows at the end,
 * descriptors only grow, and ECC_PLUGIN_ABI_MINOR moves with them. */
static void test_abi_layout_pinned(void **state) {
    (void)state;
#if defined(__x86_64__) && defined(__LP64__)
    assert_int_equal(sizeof(ecc_host_api), 256);
    assert_int_equal((sizeof(ecc_host_api) - offsetof(ecc_host_api, register_pass)) /
                         sizeof(void (*)(void)),
                     30); /* function slots */
    assert_int_equal(offsetof(ecc_host_api, abi_major), 4);
    assert_int_equal(offsetof(ecc_host_api, abi_minor), 8);
    assert_int_equal(offsetof(ecc_host_api, register_pass), 16);
    assert_int_equal(offsetof(ecc_host_api, error), 24);
    assert_int_equal(offsetof(ecc_host_api, opt_int), 48);
    assert_int_equal(offsetof(ecc_host_api, graph), 88);
    assert_int_equal(offsetof(ecc_host_api, value_initializer), 192);
    assert_int_equal(offsetof(ecc_host_api, tensor_f32_mut), 232);
    assert_int_equal(offsetof(ecc_host_api, remove_node), 240);
    assert_int_equal(offsetof(ecc_host_api, replace_uses), 248);

    assert_int_equal(sizeof(ecc_pass_desc), 64);
    assert_int_equal(offsetof(ecc_pass_desc, name), 8);
    assert_int_equal(offsetof(ecc_pass_desc, summary), 16);
    assert_int_equal(offsetof(ecc_pass_desc, needs), 24);
    assert_int_equal(offsetof(ecc_pass_desc, options), 32);
    assert_int_equal(offsetof(ecc_pass_desc, n_options), 40);
    assert_int_equal(offsetof(ecc_pass_desc, run), 48);
    assert_int_equal(offsetof(ecc_pass_desc, check), 56); /* ABI 1.1 */
    assert_int_equal(ECC_PASS_DESC_SIZE_V1_0, 56);

    assert_int_equal(sizeof(ecc_opt_desc), 56);
    assert_int_equal(offsetof(ecc_opt_desc, type), 4);
    assert_int_equal(offsetof(ecc_opt_desc, name), 8);
    assert_int_equal(offsetof(ecc_opt_desc, help), 16);
    assert_int_equal(offsetof(ecc_opt_desc, default_value), 24);
    assert_int_equal(offsetof(ecc_opt_desc, min), 32);
    assert_int_equal(offsetof(ecc_opt_desc, max), 40);
    assert_int_equal(offsetof(ecc_opt_desc, choices), 48);

    assert_int_equal(sizeof(ecc_plugin_info), 40);
    assert_int_equal(offsetof(ecc_plugin_info, abi_major), 4);
    assert_int_equal(offsetof(ecc_plugin_info, abi_minor), 8);
    assert_int_equal(offsetof(ecc_plugin_info, name), 16);
    assert_int_equal(offsetof(ecc_plugin_info, version), 24);
    assert_int_equal(offsetof(ecc_plugin_info, init), 32);

    assert_int_equal(ECC_PLUGIN_ABI_MAJOR, 1);
    assert_int_equal(ECC_PLUGIN_ABI_MINOR, 1);
    assert_int_equal(ECC_OPT_TYPE_COUNT, 5);
#endif
}

/* Every slot of the host table is filled. */
static void test_host_table_complete(void **state) {
    (void)state;
    const ecc_host_api *h = &ecc_host_api_table;
    assert_int_equal(h->struct_size, sizeof(ecc_host_api));
    assert_int_equal(h->abi_major, ECC_PLUGIN_ABI_MAJOR);
    assert_int_equal(h->abi_minor, ECC_PLUGIN_ABI_MINOR);
    const char *p = (const char *)h + offsetof(ecc_host_api, register_pass);
    for (size_t off = 0; off + sizeof(void *) <= sizeof *h - offsetof(ecc_host_api, register_pass);
         off += sizeof(void *)) {
        void *slot = NULL;
        memcpy(&slot, p + off, sizeof slot);
        if (!slot) fail_msg("host function slot at offset %zu is NULL", off);
    }
}

/* ---------------- fixture ---------------- */

typedef struct fixture {
    ecc_ctx *ctx;
    ecc_registry *reg;
    ecc_model *m;
    ecc_pipeline *pl;
    char *log;
    size_t log_len;
    FILE *logf;
} fixture;

static const char *build_dir(void) {
    const char *b = getenv("BUILD");
    return b && *b ? b : "build";
}

static const char *plugin_path(const char *sub, const char *name) {
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s%s.so", build_dir(), sub, name);
    return buf[k];
}
#define TEST_PLUGIN(name) plugin_path("tests/plugins/", name)
#define EXAMPLE_PLUGIN(name) plugin_path("plugins/", name)

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    f->ctx = ecc_ctx_create();
    f->logf = open_memstream(&f->log, &f->log_len);
    ecc_ctx_set_log(f->ctx, f->logf);
    assert_int_equal(ecc_registry_create(f->ctx, &f->reg), ECC_OK);
    assert_int_equal(ecc_model_create(f->ctx, &f->m), ECC_OK);
    assert_int_equal(ecc_model_set_opset(f->ctx, f->m, "", 17), ECC_OK);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    ecc_pipeline_free(f->pl);
    ecc_model_free(f->m);
    ecc_registry_free(f->reg);
    ecc_ctx_free(f->ctx);
    fclose(f->logf);
    free(f->log);
    free(f);
    return 0;
}

static void assert_has(const char *msg, const char *part) {
    if (!strstr(msg, part)) fail_msg("message '%s' lacks '%s'", msg, part);
}

/* Loading path fails with ECC_E_INPUT and a message containing part. */
static void load_fails(fixture *f, const char *path, const char *part) {
    size_t before = f->reg->n;
    ecc_status st = ecc_registry_load_plugin(f->ctx, f->reg, path);
    if (st != ECC_E_INPUT) fail_msg("%s: status %d (%s)", path, (int)st, ecc_ctx_message(f->ctx));
    assert_has(ecc_ctx_message(f->ctx), part);
    assert_int_equal(f->reg->n, before);
    assert_int_equal(f->reg->plugins.n, 0);
}

static void load_ok(fixture *f, const char *path) {
    if (ecc_registry_load_plugin(f->ctx, f->reg, path) != ECC_OK)
        fail_msg("%s: %s", path, ecc_ctx_message(f->ctx));
}

/* ---------------- loader failures ---------------- */

static void test_missing_file(void **state) {
    fixture *f = *state;
    load_fails(f, TEST_PLUGIN("does_not_exist"), "cannot load plugin '");
    assert_has(ecc_ctx_message(f->ctx), "No such file");
    load_fails(f, "tests/test_plugin.c", "cannot load plugin 'tests/test_plugin.c'");
    assert_int_equal(ecc_registry_load_plugin(f->ctx, f->reg, ""), ECC_E_USAGE);
}

static void test_no_entry(void **state) {
    fixture *f = *state;
    load_fails(f, TEST_PLUGIN("no_entry"), "has no entry point 'ecc_plugin_entry'");
}

static void test_null_info(void **state) {
    fixture *f = *state;
    load_fails(f, TEST_PLUGIN("null_info"), "ecc_plugin_entry() returned NULL");
}

static void test_small_info(void **state) {
    fixture *f = *state;
    load_fails(f, TEST_PLUGIN("small_info"), "info struct_size 16 is too small (host expects 40)");
}

static void test_abi_major_mismatch(void **state) {
    fixture *f = *state;
    load_fails(f, TEST_PLUGIN("abi_mismatch"),
               "plugin abi_mismatch built for ABI 99.0, host supports 1.1");
}

static void test_abi_minor_newer(void **state) {
    fixture *f = *state;
    load_fails(f, TEST_PLUGIN("minor_newer"),
               "plugin minor_newer built for ABI 1.8, host supports 1.1 (minor version newer");
}

static void test_init_fails(void **state) {
    fixture *f = *state;
    load_fails(f, TEST_PLUGIN("init_fails"),
               "plugin init_fails failed to initialise (code 2): license file /etc/foo.lic not "
               "found (tried 3 places)");
}

/* dup_name registers a fresh pass, then "dce", ignoring the error: the whole
 * load fails and the fresh pass is rolled back. */
static void test_duplicate_name(void **state) {
    fixture *f = *state;
    load_fails(f, TEST_PLUGIN("dup_name"),
               "pass 'dce' from plugin dup_name already registered by built-in");
    assert_null(ecc_registry_find(f->reg, "dup-name-fresh"));
    assert_string_equal(ecc_registry_find(f->reg, "dce")->origin, ECC_ORIGIN_BUILTIN);
}

static void test_good_after_failures(void **state) {
    fixture *f = *state;
    load_fails(f, TEST_PLUGIN("abi_mismatch"), "ABI 99.0");
    load_ok(f, TEST_PLUGIN("good"));
    const ecc_pass_entry *e = ecc_registry_find(f->reg, "probe");
    assert_non_null(e);
    assert_string_equal(e->origin, "good");
    assert_int_equal(f->reg->plugins.n, 1);
    /* the same plugin again: its pass name is taken now */
    assert_int_equal(ecc_registry_load_plugin(f->ctx, f->reg, TEST_PLUGIN("good")), ECC_E_INPUT);
    assert_has(ecc_ctx_message(f->ctx), "pass 'probe' from plugin good already registered by "
                                        "plugin good");
    assert_non_null(ecc_registry_find(f->reg, "probe"));
}

/* ---------------- the host table from a plugin ---------------- */

static ecc_report *run_spec(fixture *f, const char *spec, ecc_status want) {
    ecc_pipeline_free(f->pl);
    f->pl = NULL;
    if (ecc_pipeline_parse(f->ctx, f->reg, spec, &f->pl) != ECC_OK)
        fail_msg("%s: %s", spec, ecc_ctx_message(f->ctx));
    ecc_report *rep = ecc_report_create();
    ecc_run_env env = {sizeof env, NULL, 0};
    ecc_status st = ecc_pipeline_run(f->ctx, f->pl, f->m, &env, rep);
    if (st != want) fail_msg("%s: status %d: %s", spec, (int)st, ecc_ctx_message(f->ctx));
    return rep;
}

/* The statistic `key` of the last pass in the report (via a JSON round trip). */
static double stat_of(const ecc_report *rep, const char *key) {
    char path[] = "/tmp/ecc_test_plugin_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    ecc_ctx *ctx = ecc_ctx_create();
    assert_int_equal(ecc_report_write(ctx, rep, path), ECC_OK);
    ecc_ctx_free(ctx);
    FILE *fp = fopen(path, "rb");
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    buf[n] = 0;
    fclose(fp);
    remove(path);
    cJSON *j = cJSON_Parse(buf);
    const cJSON *passes = cJSON_GetObjectItem(j, "passes");
    const cJSON *last = cJSON_GetArrayItem(passes, cJSON_GetArraySize(passes) - 1);
    const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(last, "stats"), key);
    if (!cJSON_IsNumber(v)) fail_msg("no statistic '%s'", key);
    double d = v->valuedouble;
    cJSON_Delete(j);
    return d;
}

static void test_plugin_sees_options(void **state) {
    fixture *f = *state;
    load_ok(f, TEST_PLUGIN("good"));
    ecc_ctx_set_seed(f->ctx, 1234);
    ecc_ctx_set_verbosity(f->ctx, 1);
    ecc_report *rep = run_spec(f, "probe", ECC_OK);
    assert_true(stat_of(rep, "level") == 3);
    assert_true(stat_of(rep, "ratio") == 0.25);
    assert_true(stat_of(rep, "mode_is_fast") == 0);
    assert_true(stat_of(rep, "tag_len") == -1);
    assert_true(stat_of(rep, "seed") == 1234);
    ecc_report_free(rep);
    rep = run_spec(f, "probe:level=-5:ratio=1:mode=fast:tag=a:b", ECC_OK);
    assert_true(stat_of(rep, "level") == -5);
    assert_true(stat_of(rep, "ratio") == 1);
    assert_true(stat_of(rep, "mode_is_fast") == 1);
    assert_true(stat_of(rep, "tag_len") == 3);
    ecc_report_free(rep);
    fflush(f->logf);
    assert_has(f->log, "probe: probe ran on 0 nodes");
}

static void test_plugin_error_message(void **state) {
    fixture *f = *state;
    load_ok(f, TEST_PLUGIN("good"));
    ecc_report_free(run_spec(f, "probe:fail=on:level=7", ECC_E_INPUT));
    assert_string_equal(ecc_ctx_message(f->ctx), "pass 'probe': asked to fail (level=7)");
}

/* ---------------- threshold-weights on an IR graph ---------------- */

static ecc_value *val(fixture *f, const char *name) {
    ecc_value *v = NULL;
    assert_int_equal(ecc_graph_get_value(f->ctx, f->m->graph, name, &v), ECC_OK);
    return v;
}

static const float w_data[12] = {0.0005f, -0.0002f, 0.5f,  -0.7f,   0.002f, -0.0009999f,
                                 1e-3f,   0.0f,     -2.0f, 0.0001f, 0.3f,   -0.65f};

/* Makes a float32 [rows, cols] tensor holding data the initializer of v. */
static void set_weight(fixture *f, ecc_value *v, int64_t rows, int64_t cols, const float *data) {
    ecc_tensor *t = NULL;
    int64_t d[2] = {rows, cols};
    assert_int_equal(ecc_tensor_create(f->ctx, ECC_DTYPE_FLOAT, 2, d, &t), ECC_OK);
    memcpy(t->data, data, t->nbytes);
    assert_int_equal(ecc_graph_set_initializer(f->ctx, f->m->graph, v, t), ECC_OK);
    ecc_tensor_unref(t);
}

/* x[1,4] → MatMul(W[4,3]) → h → Gemm(h, W2[3,3]) → y; a Relu reads W too. */
static ecc_value *build_mlp(fixture *f) {
    ecc_graph *g = f->m->graph;
    ecc_value *x = val(f, "x"), *w = val(f, "W"), *w2 = val(f, "W2");
    ecc_value *h = val(f, "h"), *y = val(f, "y"), *r = val(f, "r");
    x->flags |= ECC_VALUE_INPUT;
    assert_true(ecc_ptrvec_push(&g->inputs, x));
    set_weight(f, w, 4, 3, w_data);
    float w2_data[9];
    for (int i = 0; i < 9; i++) w2_data[i] = (float)(i - 4) * 1e-4f;
    set_weight(f, w2, 3, 3, w2_data);
    ecc_value *mm[2] = {x, w}, *gm[2] = {h, w2};
    assert_int_equal(ecc_graph_add_node(f->ctx, g, "MatMul", "", "mm", mm, 2, &h, 1, NULL), 0);
    assert_int_equal(ecc_graph_add_node(f->ctx, g, "Gemm", "", "gemm", gm, 2, &y, 1, NULL), 0);
    assert_int_equal(ecc_graph_add_node(f->ctx, g, "Relu", "", "relu", &w, 1, &r, 1, NULL), 0);
    ecc_value *outs[2] = {y, r};
    for (int i = 0; i < 2; i++) {
        outs[i]->flags |= ECC_VALUE_OUTPUT;
        assert_true(ecc_ptrvec_push(&g->outputs, outs[i]));
    }
    return w;
}

static void test_threshold_weights(void **state) {
    fixture *f = *state;
    load_ok(f, EXAMPLE_PLUGIN("threshold_weights"));
    ecc_value *w = build_mlp(f);
    ecc_report *rep = run_spec(f, "threshold-weights", ECC_OK);
    const float *p = w->init->data;
    for (int i = 0; i < 12; i++) {
        float want = fabsf(w_data[i]) < 1e-3f ? 0.0f : w_data[i];
        if (p[i] != want) fail_msg("W[%d] = %g, want %g", i, p[i], want);
    }
    const float *p2 = val(f, "W2")->init->data;
    for (int i = 0; i < 9; i++) assert_true(p2[i] == 0.0f);
    assert_true(stat_of(rep, "weights") == 2);
    assert_true(stat_of(rep, "elements") == 21);
    assert_true(stat_of(rep, "zeroed") == 4 + 8); /* W: 4 small nonzeros; W2: 8 nonzeros */
    ecc_report_free(rep);
}

static void test_threshold_option_and_bounds(void **state) {
    fixture *f = *state;
    load_ok(f, EXAMPLE_PLUGIN("threshold_weights"));
    ecc_value *w = build_mlp(f);
    ecc_report *rep = run_spec(f, "threshold-weights:min_abs=0.6", ECC_OK);
    const float *p = w->init->data;
    for (int i = 0; i < 12; i++) {
        float want = fabsf(w_data[i]) < 0.6f ? 0.0f : w_data[i];
        assert_true(p[i] == want);
    }
    ecc_report_free(rep);
    ecc_pipeline *pl = NULL;
    assert_int_equal(ecc_pipeline_parse(f->ctx, f->reg, "threshold-weights:min_abs=-1", &pl),
                     ECC_E_USAGE);
    assert_string_equal(ecc_ctx_message(f->ctx),
                        "threshold-weights: option 'min_abs' = -1 is out of range [0, 1000000]");
}

/* A weight tensor shared with another model (the teacher) is copied on write. */
static void test_threshold_copy_on_write(void **state) {
    fixture *f = *state;
    load_ok(f, EXAMPLE_PLUGIN("threshold_weights"));
    ecc_value *w = build_mlp(f);
    ecc_tensor *teacher = ecc_tensor_ref(w->init);
    ecc_report_free(run_spec(f, "threshold-weights", ECC_OK));
    assert_ptr_not_equal(w->init, teacher);
    assert_int_equal(teacher->refcount, 1);
    assert_int_equal(w->init->refcount, 1);
    assert_memory_equal(teacher->data, w_data, sizeof w_data);
    assert_true(((const float *)w->init->data)[0] == 0.0f);
    ecc_tensor_unref(teacher);
}

int main(void) {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_abi_layout_pinned),
        cmocka_unit_test(test_host_table_complete),
        T(test_missing_file),
        T(test_no_entry),
        T(test_null_info),
        T(test_small_info),
        T(test_abi_major_mismatch),
        T(test_abi_minor_newer),
        T(test_init_fails),
        T(test_duplicate_name),
        T(test_good_after_failures),
        T(test_plugin_sees_options),
        T(test_plugin_error_message),
        T(test_threshold_weights),
        T(test_threshold_option_and_bounds),
        T(test_threshold_copy_on_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
