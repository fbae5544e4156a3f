/* test_pipeline.c — the pass registry (built-ins sorted, duplicates refused,
 * descriptor validation, `ecc passes` text), pipeline needs checks, running
 * passes (statistics, counts, timing, errors with and without a message, a
 * pass that breaks the graph) and the JSON report. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "pipeline.h"
#include "tmpdir.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------- test passes ---------------- */

static int count_run(const ecc_host_api *host, ecc_pass_run *run) {
    host->stat(run, "nodes", -1); /* replaced below: a key reported twice keeps one entry */
    host->stat(run, "nodes", (double)host->graph_node_count(host->graph(run)));
    host->stat(run, "times", (double)host->opt_int(run, "times"));
    return ECC_PLUGIN_OK;
}

static int fail_run(const ecc_host_api *host, ecc_pass_run *run) {
    return host->error(run, ECC_PLUGIN_E_INPUT, "asked to fail on %zu nodes",
                       host->graph_node_count(host->graph(run)));
}

static int silent_run(const ecc_host_api *host, ecc_pass_run *run) {
    (void)host;
    (void)run;
    return ECC_PLUGIN_E_INPUT;
}

/* Removes the node producing the graph output: the verifier must catch it. */
static int break_run(const ecc_host_api *host, ecc_pass_run *run) {
    ecc_graph *g = host->graph(run);
    return host->remove_node(run, host->graph_node(g, host->graph_node_count(g) - 1));
}

static int noop_run(const ecc_host_api *host, ecc_pass_run *run) {
    (void)host;
    (void)run;
    return ECC_PLUGIN_OK;
}

static const ecc_opt_desc count_opts[] = {
    {sizeof(ecc_opt_desc), ECC_OPT_INT, "times", "how many", "1", 0, 9, NULL}};

#define PASS(name, needs, opts, n, fn)                                                    \
    {sizeof(ecc_pass_desc), name, name " (test)", needs, opts, n, fn}
static const ecc_pass_desc test_passes[] = {
    PASS("test-count", 0, count_opts, 1, count_run),
    PASS("test-fail", 0, NULL, 0, fail_run),
    PASS("test-silent", 0, NULL, 0, silent_run),
    PASS("test-break", 0, NULL, 0, break_run),
    PASS("test-calib", ECC_NEED_CALIB, NULL, 0, noop_run),
    PASS("test-train", ECC_NEED_TRAIN, NULL, 0, noop_run),
    PASS("test-teacher", ECC_NEED_TEACHER, NULL, 0, noop_run),
};

/* ---------------- fixture: registry + a small model ---------------- */

typedef struct fixture {
    ecc_ctx *ctx;
    ecc_registry *reg;
    ecc_model *m;
    ecc_pipeline *pl;
    ecc_report *rep;
    char dir[64];
} fixture;

static ecc_value *val(fixture *f, const char *name) {
    ecc_value *v = NULL;
    assert_int_equal(ecc_graph_get_value(f->ctx, f->m->graph, name, &v), ECC_OK);
    return v;
}

static void node(fixture *f, const char *op, const char *in, const char *out) {
    ecc_value *i = val(f, in), *o = val(f, out);
    assert_int_equal(ecc_graph_add_node(f->ctx, f->m->graph, op, "", out, &i, 1, &o, 1, NULL),
                     ECC_OK);
}

/* x → Relu → a → Neg → y (output), plus a dead Sigmoid and a dead initializer. */
static void build_model(fixture *f) {
    assert_int_equal(ecc_model_create(f->ctx, &f->m), ECC_OK);
    assert_int_equal(ecc_model_set_opset(f->ctx, f->m, "", 17), ECC_OK);
    ecc_graph *g = f->m->graph;
    ecc_value *x = val(f, "x");
    x->flags |= ECC_VALUE_INPUT;
    assert_true(ecc_ptrvec_push(&g->inputs, x));
    node(f, "Sigmoid", "x", "dead");
    node(f, "Relu", "x", "a");
    node(f, "Neg", "a", "y");
    ecc_value *y = val(f, "y");
    y->flags |= ECC_VALUE_OUTPUT;
    assert_true(ecc_ptrvec_push(&g->outputs, y));
    ecc_tensor *t = NULL;
    int64_t dims[1] = {10};
    assert_int_equal(ecc_tensor_create(f->ctx, ECC_DTYPE_FLOAT, 1, dims, &t), ECC_OK);
    assert_int_equal(ecc_graph_set_initializer(f->ctx, g, val(f, "w_dead"), t), ECC_OK);
    ecc_tensor_unref(t);
}

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    f->ctx = ecc_ctx_create();
    assert_int_equal(ecc_registry_create(f->ctx, &f->reg), ECC_OK);
    for (size_t i = 0; i < sizeof test_passes / sizeof test_passes[0]; i++)
        assert_int_equal(ecc_registry_add(f->ctx, f->reg, &test_passes[i], "tests"), ECC_OK);
    build_model(f);
    f->rep = ecc_report_create();
    tmpdir_make(f->dir, sizeof f->dir, "ecc_test_pipeline");
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    tmpdir_remove(f->dir);
    ecc_report_free(f->rep);
    ecc_pipeline_free(f->pl);
    ecc_model_free(f->m);
    ecc_registry_free(f->reg);
    ecc_ctx_free(f->ctx);
    free(f);
    return 0;
}

static void parse(fixture *f, const char *spec) {
    ecc_pipeline_free(f->pl);
    f->pl = NULL;
    if (ecc_pipeline_parse(f->ctx, f->reg, spec, &f->pl) != ECC_OK)
        fail_msg("%s: %s", spec, ecc_ctx_message(f->ctx));
}

static void assert_has(const char *msg, const char *part) {
    if (!strstr(msg, part)) fail_msg("message '%s' lacks '%s'", msg, part);
}

static const ecc_run_env no_env = {sizeof(ecc_run_env), NULL, 0};

/* ---------------- registry ---------------- */

static void test_builtins_sorted(void **state) {
    fixture *f = *state;
    const char *want[] = {"dce", "fold-bn", "fold-constants", "normalize"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const ecc_pass_entry *e = ecc_registry_find(f->reg, want[i]);
        assert_non_null(e);
        assert_string_equal(e->origin, ECC_ORIGIN_BUILTIN);
    }
    assert_true(f->reg->n >= ecc_builtin_pass_count + 7);
    for (size_t i = 1; i < f->reg->n; i++)
        assert_true(strcmp(f->reg->passes[i - 1].desc->name, f->reg->passes[i].desc->name) < 0);
    assert_null(ecc_registry_find(f->reg, "nope"));
}

static void test_duplicate_rejected(void **state) {
    fixture *f = *state;
    ecc_pass_desc d = test_passes[1];
    d.name = "dce";
    assert_int_equal(ecc_registry_add(f->ctx, f->reg, &d, "myplug"), ECC_E_INPUT);
    assert_string_equal(ecc_ctx_message(f->ctx),
                        "pass 'dce' from plugin myplug already registered by built-in");
    d.name = "test-fail";
    assert_int_equal(ecc_registry_add(f->ctx, f->reg, &d, ECC_ORIGIN_BUILTIN), ECC_E_INPUT);
    assert_string_equal(ecc_ctx_message(f->ctx),
                        "pass 'test-fail' from built-in already registered by plugin tests");
}

/* One invalid descriptor per row, with a part of the expected message. */
static void test_descriptor_validation(void **state) {
    fixture *f = *state;
    static const ecc_opt_desc min_gt_max[] = {
        {sizeof(ecc_opt_desc), ECC_OPT_FLOAT, "x", "h", "0.5", 1, 0, NULL}};
    static const ecc_opt_desc dflt_out[] = {
        {sizeof(ecc_opt_desc), ECC_OPT_INT, "x", "h", "12", 0, 10, NULL}};
    static const ecc_opt_desc bad_enum[] = {
        {sizeof(ecc_opt_desc), ECC_OPT_ENUM, "x", "h", NULL, 0, 0, "a||b"}};
    static const ecc_opt_desc dflt_not_choice[] = {
        {sizeof(ecc_opt_desc), ECC_OPT_ENUM, "x", "h", "c", 0, 0, "a|b"}};
    static const ecc_opt_desc dup_opt[] = {
        {sizeof(ecc_opt_desc), ECC_OPT_BOOL, "x", "h", NULL, 0, 0, NULL},
        {sizeof(ecc_opt_desc), ECC_OPT_BOOL, "x", "h", NULL, 0, 0, NULL}};
    static const ecc_opt_desc bad_type[] = {
        {sizeof(ecc_opt_desc), 42, "x", "h", NULL, 0, 0, NULL}};
    static const ecc_opt_desc bad_optname[] = {
        {sizeof(ecc_opt_desc), ECC_OPT_BOOL, "Bad-Name", "h", NULL, 0, 0, NULL}};
    static const ecc_opt_desc small_opt[] = {
        {16, ECC_OPT_BOOL, "x", "h", NULL, 0, 0, NULL}};
    const struct {
        ecc_pass_desc d;
        const char *msg;
    } rows[] = {
        {{sizeof(ecc_pass_desc), "Bad_Name", "", 0, NULL, 0, noop_run}, "invalid pass name"},
        {{sizeof(ecc_pass_desc), "", "", 0, NULL, 0, noop_run}, "invalid pass name"},
        {{sizeof(ecc_pass_desc), "ok", "", 0, NULL, 0, NULL}, "has no run function"},
        {{8, "ok", "", 0, NULL, 0, noop_run}, "struct_size 8, need at least 56"},
        {{sizeof(ecc_pass_desc), "ok", "", 0x80, NULL, 0, noop_run}, "unknown needs 0x80"},
        {{sizeof(ecc_pass_desc), "ok", "", 0, NULL, 2, noop_run}, "options is NULL"},
        {{sizeof(ecc_pass_desc), "ok", "", 0, min_gt_max, 1, noop_run}, "need min <= max"},
        {{sizeof(ecc_pass_desc), "ok", "", 0, dflt_out, 1, noop_run},
         "invalid default for option 'x' (ok: option 'x' = 12 is out of range [0, 10])"},
        {{sizeof(ecc_pass_desc), "ok", "", 0, bad_enum, 1, noop_run}, "empty choices"},
        {{sizeof(ecc_pass_desc), "ok", "", 0, dflt_not_choice, 1, noop_run}, "not one of"},
        {{sizeof(ecc_pass_desc), "ok", "", 0, dup_opt, 2, noop_run}, "declared twice"},
        {{sizeof(ecc_pass_desc), "ok", "", 0, bad_type, 1, noop_run}, "unknown type 42"},
        {{sizeof(ecc_pass_desc), "ok", "", 0, bad_optname, 1, noop_run}, "invalid name"},
        {{sizeof(ecc_pass_desc), "ok", "", 0, small_opt, 1, noop_run}, "struct_size 16"},
    };
    size_t before = f->reg->n;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        ecc_status st = ecc_registry_add(f->ctx, f->reg, &rows[i].d, "p");
        if (st != ECC_E_INPUT) fail_msg("row %zu: status %d", i, (int)st);
        assert_has(ecc_ctx_message(f->ctx), rows[i].msg);
        assert_has(ecc_ctx_message(f->ctx), "plugin p");
    }
    assert_int_equal(ecc_registry_add(f->ctx, f->reg, NULL, "p"), ECC_E_INPUT);
    assert_int_equal(f->reg->n, before);
}

static void test_register_after_init_refused(void **state) {
    fixture *f = *state;
    ecc_plugin_reg preg = {.ctx = f->ctx, .reg = f->reg, .origin = "late", .open = false};
    ecc_pass_desc d = test_passes[1];
    d.name = "late-pass";
    assert_int_not_equal(ecc_host_api_table.register_pass(&preg, &d), ECC_PLUGIN_OK);
    assert_null(ecc_registry_find(f->reg, "late-pass"));
    preg.open = true;
    assert_int_equal(ecc_host_api_table.register_pass(&preg, &d), ECC_PLUGIN_OK);
    assert_non_null(ecc_registry_find(f->reg, "late-pass"));
}

static char *describe(fixture *f, const char *name, ecc_status want) {
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    assert_int_equal(ecc_registry_describe(f->ctx, f->reg, name, mem), want);
    fclose(mem);
    return buf;
}

static void test_describe(void **state) {
    fixture *f = *state;
    char *all = describe(f, NULL, ECC_OK);
    for (size_t i = 0; i < f->reg->n; i++) assert_has(all, f->reg->passes[i].desc->name);
    assert_has(all, ":max_bytes=INT");
    assert_has(all, "default 1048576, range [0, 1073741824]");
    assert_has(all, "needs: calibration data (--calib)");
    assert_has(all, "[plugin tests]");
    assert_has(all, "prune:pattern=2:4");
    free(all);
    char *one = describe(f, "test-count", ECC_OK);
    assert_has(one, "test-count");
    assert_has(one, ":times=INT");
    assert_null(strstr(one, "fold-bn"));
    free(one);
    free(describe(f, "nope", ECC_E_USAGE));
    assert_string_equal(ecc_ctx_message(f->ctx), "unknown pass 'nope' (see 'ecc passes')");
}

/* ---------------- needs ---------------- */

static void test_needs_checked(void **state) {
    fixture *f = *state;
    parse(f, "dce,test-calib");
    assert_int_equal(ecc_pipeline_check(f->ctx, f->pl, &no_env), ECC_E_USAGE);
    assert_string_equal(ecc_ctx_message(f->ctx),
                        "pass 'test-calib' needs calibration data: give it with --calib DIR");
    assert_int_equal(ecc_pipeline_check(f->ctx, f->pl, NULL), ECC_E_USAGE);
    ecc_run_env env = {sizeof env, "data/", 8};
    assert_int_equal(ecc_pipeline_check(f->ctx, f->pl, &env), ECC_OK);
    /* run refuses too, before any pass ran */
    assert_int_equal(ecc_pipeline_run(f->ctx, f->pl, f->m, &no_env, NULL), ECC_E_USAGE);
    assert_int_equal(f->m->graph->nodes.n, 3);

    /* this build trains, and runs the input model as teacher */
    parse(f, "test-train");
    assert_int_equal(ecc_pipeline_check(f->ctx, f->pl, &env), ECC_OK);
    parse(f, "test-teacher");
    assert_int_equal(ecc_pipeline_check(f->ctx, f->pl, &env), ECC_OK);
}

/* ---------------- running and the report ---------------- */

static cJSON *read_json(const char *path) {
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = 0;
    cJSON *j = cJSON_Parse(buf);
    assert_non_null(j);
    return j;
}

static double num(const cJSON *o, const char *key) {
    const cJSON *i = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(i)) fail_msg("no number '%s'", key);
    return i->valuedouble;
}

static void test_run_reports_passes_in_order(void **state) {
    fixture *f = *state;
    ecc_report_set_string(f->rep, "passes", "as typed by the CLI");
    ecc_report_set_number(f->rep, "seed", 7);
    ecc_report_add_model(f->rep, "before", f->m);
    parse(f, "test-count:times=3, dce ,test-count");
    assert_int_equal(ecc_pipeline_run(f->ctx, f->pl, f->m, &no_env, f->rep), ECC_OK);
    assert_int_equal(f->m->graph->nodes.n, 2);
    assert_int_equal(f->m->graph->inits.n, 0);
    char path[128];
    snprintf(path, sizeof path, "%s/report.json", f->dir);
    assert_int_equal(ecc_report_write(f->ctx, f->rep, path), ECC_OK);

    cJSON *j = read_json(path);
    assert_string_equal(cJSON_GetObjectItem(j, "pipeline")->valuestring,
                        "test-count:times=3,dce,test-count");
    assert_true(num(j, "seed") == 7);
    assert_true(num(cJSON_GetObjectItem(j, "before"), "nodes") == 3);
    assert_true(num(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "before"), "ops"), "Relu") == 1);
    const cJSON *passes = cJSON_GetObjectItem(j, "passes");
    assert_true(cJSON_IsArray(passes));
    assert_int_equal(cJSON_GetArraySize(passes), 3);
    const cJSON *p0 = cJSON_GetArrayItem(passes, 0), *p1 = cJSON_GetArrayItem(passes, 1);
    const cJSON *p2 = cJSON_GetArrayItem(passes, 2);
    assert_string_equal(cJSON_GetObjectItem(p0, "name")->valuestring, "test-count");
    assert_string_equal(cJSON_GetObjectItem(p0, "origin")->valuestring, "tests");
    assert_string_equal(cJSON_GetObjectItem(p0, "spec")->valuestring, "test-count:times=3");
    assert_true(num(cJSON_GetObjectItem(p0, "options"), "times") == 3);
    assert_true(num(cJSON_GetObjectItem(p0, "stats"), "times") == 3);
    assert_true(num(cJSON_GetObjectItem(p0, "stats"), "nodes") == 3);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(p0, "stats")), 2);
    assert_true(num(p0, "seconds") >= 0);
    assert_string_equal(cJSON_GetObjectItem(p1, "name")->valuestring, "dce");
    assert_true(num(p1, "nodes_before") == 3 && num(p1, "nodes_after") == 2);
    assert_true(num(p1, "params_before") == 10 && num(p1, "params_after") == 0);
    assert_true(num(p1, "bytes_before") == 40 && num(p1, "bytes_after") == 0);
    assert_true(num(cJSON_GetObjectItem(p1, "stats"), "nodes_removed") == 1);
    assert_true(num(cJSON_GetObjectItem(p1, "stats"), "initializers_removed") == 1);
    assert_true(num(cJSON_GetObjectItem(p2, "options"), "times") == 1);
    assert_true(num(cJSON_GetObjectItem(p2, "stats"), "nodes") == 2);
    cJSON_Delete(j);
}

static void test_empty_pipeline_reports_empty_passes(void **state) {
    fixture *f = *state;
    ecc_report_set_string(f->rep, "passes", "");
    parse(f, "");
    assert_int_equal(ecc_pipeline_run(f->ctx, f->pl, f->m, &no_env, f->rep), ECC_OK);
    char path[128];
    snprintf(path, sizeof path, "%s/r.json", f->dir);
    assert_int_equal(ecc_report_write(f->ctx, f->rep, path), ECC_OK);
    cJSON *j = read_json(path);
    assert_true(cJSON_IsArray(cJSON_GetObjectItem(j, "passes")));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "passes")), 0);
    cJSON_Delete(j);
}

static void test_pass_error_with_message(void **state) {
    fixture *f = *state;
    parse(f, "dce,test-fail,test-count");
    assert_int_equal(ecc_pipeline_run(f->ctx, f->pl, f->m, &no_env, f->rep), ECC_E_INPUT);
    assert_string_equal(ecc_ctx_message(f->ctx), "pass 'test-fail': asked to fail on 2 nodes");
}

static void test_pass_error_without_message(void **state) {
    fixture *f = *state;
    parse(f, "test-silent");
    assert_int_equal(ecc_pipeline_run(f->ctx, f->pl, f->m, &no_env, NULL), ECC_E_INPUT);
    assert_string_equal(ecc_ctx_message(f->ctx),
                        "pass 'test-silent': failed with code 2 and no message");
}

static void test_broken_graph_is_internal_error(void **state) {
    fixture *f = *state;
    parse(f, "test-break");
    assert_int_equal(ecc_pipeline_run(f->ctx, f->pl, f->m, &no_env, NULL), ECC_E_INTERNAL);
    assert_has(ecc_ctx_message(f->ctx), "pass 'test-break' left an invalid graph");
}

static void test_report_write_is_atomic(void **state) {
    fixture *f = *state;
    char path[128];
    snprintf(path, sizeof path, "%s/no/such/dir/r.json", f->dir);
    assert_int_not_equal(ecc_report_write(f->ctx, f->rep, path), ECC_OK);
    snprintf(path, sizeof path, "%s/ok.json", f->dir);
    ecc_report_set_string(f->rep, "k", "v");
    ecc_report_set_string(f->rep, "k", "w"); /* replaces */
    assert_int_equal(ecc_report_write(f->ctx, f->rep, path), ECC_OK);
    cJSON *j = read_json(path);
    assert_string_equal(cJSON_GetObjectItem(j, "k")->valuestring, "w");
    assert_int_equal(cJSON_GetArraySize(j), 1);
    cJSON_Delete(j);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "test $(ls -A '%s' | wc -l) = 1", f->dir);
    assert_int_equal(system(cmd), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_builtins_sorted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_descriptor_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_register_after_init_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_describe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_needs_checked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_reports_passes_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_pipeline_reports_empty_passes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pass_error_with_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pass_error_without_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_broken_graph_is_internal_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_write_is_atomic, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
