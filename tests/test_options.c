/* test_options.c — pass options and the pipeline string: the grammar
 * (continuations, whitespace, empty parts), typed values with bounds (never
 * clamped), defaults, and the exact text of every usage error. Uses a bare
 * registry of test passes so later built-ins cannot collide with them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "pipeline.h"

#include <stdlib.h>
#include <string.h>

static int noop_run(const ecc_host_api *host, ecc_pass_run *run) {
    (void)host;
    (void)run;
    return ECC_PLUGIN_OK;
}

#define OPT(type, name, dflt, lo, hi, choices)                                            \
    {sizeof(ecc_opt_desc), type, name, "help for " name, dflt, lo, hi, choices}

static const ecc_opt_desc prune_opts[] = {
    OPT(ECC_OPT_STRING, "pattern", NULL, 0, 0, NULL),
    OPT(ECC_OPT_FLOAT, "sparsity", "0.5", 0, 1, NULL),
    OPT(ECC_OPT_ENUM, "method", "magnitude", 0, 0, "magnitude|wanda"),
    OPT(ECC_OPT_INT, "block_size", "4", -5, 10, NULL),
    OPT(ECC_OPT_BOOL, "gradual", "no", 0, 0, NULL),
};
static const ecc_opt_desc bn_opts[] = {OPT(ECC_OPT_FLOAT, "eps", "0.001", 0, 1, NULL)};
static const ecc_opt_desc dce_opts[] = {OPT(ECC_OPT_INT, "a", "1", 0, 100, NULL),
                                        OPT(ECC_OPT_BOOL, "b", NULL, 0, 0, NULL)};

static const ecc_pass_desc prune_pass = {sizeof(ecc_pass_desc), "prune", "test prune", 0,
                                         prune_opts, 5, noop_run};
static const ecc_pass_desc bn_pass = {sizeof(ecc_pass_desc), "fold-bn", "test bn", 0, bn_opts, 1,
                                      noop_run};
static const ecc_pass_desc dce_pass = {sizeof(ecc_pass_desc), "dce", "test dce", 0, dce_opts, 2,
                                       noop_run};
static const ecc_pass_desc plain_pass = {sizeof(ecc_pass_desc), "plain", "no options", 0, NULL, 0,
                                         noop_run};

typedef struct fixture {
    ecc_ctx *ctx;
    ecc_registry *reg;
    ecc_pipeline *pl;
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    f->ctx = ecc_ctx_create();
    f->reg = calloc(1, sizeof *f->reg);
    const ecc_pass_desc *all[] = {&prune_pass, &bn_pass, &dce_pass, &plain_pass};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(ecc_registry_add(f->ctx, f->reg, all[i], ECC_ORIGIN_BUILTIN), ECC_OK);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    ecc_pipeline_free(f->pl);
    ecc_registry_free(f->reg);
    ecc_ctx_free(f->ctx);
    free(f);
    return 0;
}

static ecc_pipeline *parse_ok(fixture *f, const char *spec) {
    ecc_pipeline_free(f->pl);
    f->pl = NULL;
    ecc_status st = ecc_pipeline_parse(f->ctx, f->reg, spec, &f->pl);
    if (st != ECC_OK) fail_msg("'%s': %s", spec, ecc_ctx_message(f->ctx));
    return f->pl;
}

/* Parses spec expecting a usage error; returns the message. */
static const char *parse_err(fixture *f, const char *spec) {
    ecc_pipeline *pl = (ecc_pipeline *)0x1;
    ecc_status st = ecc_pipeline_parse(f->ctx, f->reg, spec, &pl);
    if (st != ECC_E_USAGE) fail_msg("'%s': status %d, expected usage error", spec, (int)st);
    assert_null(pl);
    return ecc_ctx_message(f->ctx);
}

static void assert_has(const char *msg, const char *part) {
    if (!strstr(msg, part)) fail_msg("message '%s' lacks '%s'", msg, part);
}

static const ecc_opt_value *opt(const ecc_pipeline *pl, size_t pass, const char *name) {
    int i = ecc_pass_opt_index(pl->passes[pass].desc, name);
    assert_true(i >= 0);
    return &pl->passes[pass].opts[i];
}

/* ---------------- grammar ---------------- */

static void test_continuation(void **state) {
    fixture *f = *state;
    ecc_pipeline *pl = parse_ok(f, "prune:pattern=2:4");
    assert_int_equal(pl->n, 1);
    assert_string_equal(opt(pl, 0, "pattern")->s, "2:4");
    assert_true(opt(pl, 0, "pattern")->given);
    assert_string_equal(pl->text, "prune:pattern=2:4");

    pl = parse_ok(f, "prune:pattern=a:b:c:sparsity=0.25,dce");
    assert_int_equal(pl->n, 2);
    assert_string_equal(opt(pl, 0, "pattern")->s, "a:b:c");
    assert_true(opt(pl, 0, "sparsity")->f == 0.25);
    assert_string_equal(pl->passes[1].desc->name, "dce");
}

static void test_whitespace_trimmed(void **state) {
    fixture *f = *state;
    ecc_pipeline *pl = parse_ok(f, "  prune : pattern = 2 : 4 ,\tdce : a = 7 ");
    assert_int_equal(pl->n, 2);
    assert_string_equal(opt(pl, 0, "pattern")->s, "2:4");
    assert_int_equal(opt(pl, 1, "a")->i, 7);
    assert_string_equal(pl->text, "prune:pattern=2:4,dce:a=7");
}

static void test_empty_spec_is_empty_pipeline(void **state) {
    fixture *f = *state;
    assert_int_equal(parse_ok(f, "")->n, 0);
    assert_int_equal(parse_ok(f, "   ")->n, 0);
    assert_string_equal(f->pl->text, "");
}

static void test_defaults_filled(void **state) {
    fixture *f = *state;
    ecc_pipeline *pl = parse_ok(f, "prune");
    assert_false(opt(pl, 0, "pattern")->set);
    assert_true(opt(pl, 0, "sparsity")->set);
    assert_false(opt(pl, 0, "sparsity")->given);
    assert_true(opt(pl, 0, "sparsity")->f == 0.5);
    assert_string_equal(opt(pl, 0, "method")->s, "magnitude");
    assert_int_equal(opt(pl, 0, "block_size")->i, 4);
    assert_false(opt(pl, 0, "gradual")->b);
    assert_string_equal(pl->text, "prune");
}

static void test_repeated_pass(void **state) {
    fixture *f = *state;
    ecc_pipeline *pl = parse_ok(f, "dce,prune:sparsity=0.1,dce:a=2");
    assert_int_equal(pl->n, 3);
    assert_int_equal(opt(pl, 0, "a")->i, 1);
    assert_int_equal(opt(pl, 2, "a")->i, 2);
}

static void test_hyphen_key(void **state) {
    fixture *f = *state;
    ecc_pipeline *pl = parse_ok(f, "prune:block-size=-5");
    assert_int_equal(opt(pl, 0, "block_size")->i, -5);
    assert_string_equal(pl->text, "prune:block_size=-5");
}

static void test_canonical_text(void **state) {
    fixture *f = *state;
    ecc_pipeline *pl = parse_ok(f, "prune:gradual=YES:sparsity=0.50:method=wanda,fold-bn:eps=1e-3");
    assert_string_equal(pl->text, "prune:sparsity=0.5:method=wanda:gradual=true,fold-bn:eps=0.001");
}

/* ---------------- errors ---------------- */

static void test_unknown_pass(void **state) {
    fixture *f = *state;
    assert_string_equal(parse_err(f, "xyz"), "unknown pass 'xyz' (see 'ecc passes')");
    assert_string_equal(parse_err(f, "dce,dec"),
                        "unknown pass 'dec' (see 'ecc passes'); did you mean 'dce'?");
    assert_string_equal(parse_err(f, "fold_bn"),
                        "unknown pass 'fold_bn' (see 'ecc passes'); did you mean 'fold-bn'?");
}

static void test_unknown_option(void **state) {
    fixture *f = *state;
    assert_string_equal(parse_err(f, "dce:foo=1"),
                        "unknown option 'foo' for pass 'dce' (options: a, b)");
    assert_string_equal(parse_err(f, "dce:aa=1"),
                        "unknown option 'aa' for pass 'dce' (options: a, b); did you mean 'a'?");
    assert_string_equal(parse_err(f, "plain:x=1"),
                        "unknown option 'x' for pass 'plain' (it takes no options)");
}

static void test_empty_pass_name(void **state) {
    fixture *f = *state;
    assert_has(parse_err(f, "dce,,prune"), "empty pass name at position 2");
    assert_has(parse_err(f, "dce,"), "empty pass name at position 2");
    assert_has(parse_err(f, ",dce"), "empty pass name at position 1");
    assert_has(parse_err(f, ":a=1"), "empty pass name");
}

static void test_duplicate_option(void **state) {
    fixture *f = *state;
    assert_string_equal(parse_err(f, "prune:sparsity=0.1:sparsity=0.2"),
                        "pass 'prune': option 'sparsity' given twice");
    assert_string_equal(parse_err(f, "prune:block_size=1:block-size=2"),
                        "pass 'prune': option 'block_size' given twice");
}

static void test_bad_segments(void **state) {
    fixture *f = *state;
    assert_has(parse_err(f, "prune:2"), "'2' is not an option (expected key=value)");
    assert_has(parse_err(f, "prune:"), "empty option segment");
    assert_has(parse_err(f, "prune:pattern=2::4"), "empty option segment");
    assert_has(parse_err(f, "prune:=3"), "option with an empty name");
}

static void test_bounds_never_clamped(void **state) {
    fixture *f = *state;
    assert_string_equal(parse_err(f, "fold-bn:eps=1.5"),
                        "fold-bn: option 'eps' = 1.5 is out of range [0, 1]");
    assert_string_equal(parse_err(f, "fold-bn:eps=-0.001"),
                        "fold-bn: option 'eps' = -0.001 is out of range [0, 1]");
    assert_string_equal(parse_err(f, "prune:block_size=11"),
                        "prune: option 'block_size' = 11 is out of range [-5, 10]");
    assert_string_equal(parse_err(f, "prune:block_size=99999999999999999999"),
                        "prune: option 'block_size' = 99999999999999999999 is out of range "
                        "[-5, 10]");
    ecc_pipeline *pl = parse_ok(f, "fold-bn:eps=1,prune:block_size=10:sparsity=0");
    assert_true(opt(pl, 0, "eps")->f == 1.0);
    assert_int_equal(opt(pl, 1, "block_size")->i, 10);
}

static void test_int_strict(void **state) {
    fixture *f = *state;
    const char *bad[] = {"12abc", "1e3", "1.0", "", "0x10", "- 3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char spec[64];
        snprintf(spec, sizeof spec, "prune:block_size=%s", bad[i]);
        assert_has(parse_err(f, spec), "is not an integer");
    }
    assert_int_equal(opt(parse_ok(f, "prune:block_size=+7"), 0, "block_size")->i, 7);
}

static void test_float_strict(void **state) {
    fixture *f = *state;
    assert_has(parse_err(f, "fold-bn:eps=abc"), "fold-bn: option 'eps' = 'abc' is not a number");
    assert_has(parse_err(f, "fold-bn:eps=0.5x"), "is not a number");
    assert_has(parse_err(f, "fold-bn:eps=nan"), "is not a number");
    assert_has(parse_err(f, "fold-bn:eps=inf"), "out of range");
    assert_has(parse_err(f, "fold-bn:eps=1e999"), "out of range");
    assert_true(opt(parse_ok(f, "fold-bn:eps=1e-3"), 0, "eps")->f == 1e-3);
}

static void test_bool_words(void **state) {
    fixture *f = *state;
    const char *yes[] = {"true", "1", "yes", "on", "TRUE", "On"};
    const char *no[] = {"false", "0", "no", "off", "False"};
    char spec[64];
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        snprintf(spec, sizeof spec, "prune:gradual=%s", yes[i]);
        assert_true(opt(parse_ok(f, spec), 0, "gradual")->b);
    }
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        snprintf(spec, sizeof spec, "prune:gradual=%s", no[i]);
        assert_false(opt(parse_ok(f, spec), 0, "gradual")->b);
    }
    assert_string_equal(parse_err(f, "prune:gradual=maybe"),
                        "prune: option 'gradual' = 'maybe' is not a boolean "
                        "(true/false, 1/0, yes/no, on/off)");
}

static void test_enum_choices(void **state) {
    fixture *f = *state;
    assert_string_equal(opt(parse_ok(f, "prune:method=wanda"), 0, "method")->s, "wanda");
    assert_string_equal(parse_err(f, "prune:method=magic"),
                        "prune: option 'method' = 'magic' is not one of: magnitude|wanda");
    assert_has(parse_err(f, "prune:method=wand"), "is not one of");
}

static void test_string_empty_value(void **state) {
    fixture *f = *state;
    const ecc_opt_value *v = opt(parse_ok(f, "prune:pattern="), 0, "pattern");
    assert_true(v->set);
    assert_string_equal(v->s, "");
}

static void test_edit_distance(void **state) {
    (void)state;
    assert_int_equal(ecc_edit_distance("dce", "dce"), 0);
    assert_int_equal(ecc_edit_distance("dec", "dce"), 1);
    assert_int_equal(ecc_edit_distance("", "abc"), 3);
    assert_int_equal(ecc_edit_distance("kitten", "sitting"), 3);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_continuation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_whitespace_trimmed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_spec_is_empty_pipeline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_defaults_filled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_repeated_pass, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hyphen_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_canonical_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_pass, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_option, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_pass_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_option, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_segments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bounds_never_clamped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_int_strict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_float_strict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bool_words, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enum_choices, setup, teardown),
        cmocka_unit_test_setup_teardown(test_string_empty_value, setup, teardown),
        cmocka_unit_test(test_edit_distance),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
