/* cmd_sensitivity.c — `ecc sensitivity MODEL --data X [--pass prune…]`: how
 * much the output moves when each weight layer alone is pruned at several
 * sparsities (table, or JSON with --json / --report). */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char ecc_help_sensitivity[] =
    "usage: ecc sensitivity MODEL.onnx --data X [--pass SPEC] [options]\n"
    "\n"
    "Prunes each weight layer alone (the layers the pass would select) at each level,\n"
    "runs the model on X and compares its first output with the dense model's:\n"
    "relative squared error, top-1 agreement and, with --labels, the accuracy change.\n"
    "With bias_correct (the default for wanda and sparsegpt) each layer is measured\n"
    "with its bias corrected as the pass would; a layer where that needs a new node\n"
    "is measured without it and marked *. prune:scope=auto allocates per-layer\n"
    "sparsity from the same measurements.\n"
    "\n"
    "  --data X              samples: .npy, IDX (.gz ok), .pb, folder (as ecc eval)\n"
    "  --pass SPEC           one prune invocation: method, pattern and layer selection\n"
    "                        (default 'prune'; e.g. prune:method=wanda, prune:pattern=2:4,\n"
    "                        prune:head=true). wanda/sparsegpt calibrate on X.\n"
    "  --labels Y            labels (.npy or IDX1) for the accuracy change\n"
    "  --levels A,B,...      sparsities to try (default 0.3,0.5,0.7,0.8,0.9)\n"
    "  --limit N             samples of X used (default 1000; 0 = all)\n"
    "  --json                print the JSON document instead of the table\n"
    "  --report FILE.json    also write the JSON document (atomically)\n"
    "  -v, --verbose         progress per layer on stderr\n"
    "  -q, --quiet           errors only\n"
    "\n"
    "exit codes: 0 ok, 1 usage, 2 bad input or unsupported, 3 internal or I/O error\n";

#define MAX_LEVELS 32

typedef struct sens_args {
    const char *model, *data, *pass, *labels, *report;
    double levels[MAX_LEVELS];
    size_t n_levels;
    uint64_t limit;
    bool json;
    int verbosity;
} sens_args;

static int parse_levels(const char *text, sens_args *s) {
    const char *p = text;
    s->n_levels = 0;
    for (;;) {
        char *end;
        errno = 0;
        double v = strtod(p, &end);
        if (end == p || errno || !(v >= 0 && v <= 0.99) || (*end && *end != ','))
            return ecc_cli_usage("sensitivity",
                                 "--levels expects sparsities in [0, 0.99] like 0.5,0.8, got "
                                 "'%s'",
                                 text);
        if (s->n_levels == MAX_LEVELS)
            return ecc_cli_usage("sensitivity", "--levels takes at most %d values", MAX_LEVELS);
        s->levels[s->n_levels++] = v;
        if (!*end) return ECC_EXIT_OK;
        p = end + 1;
    }
}

static int parse(int argc, char **argv, sens_args *s) {
    ecc_args a = {argc, 1, argv, "sensitivity"};
    const char *w;
    bool opt;
    s->limit = 1000;
    while ((w = ecc_args_next(&a, &opt))) {
        const char **slot = NULL;
        if (!opt) {
            if (s->model) return ecc_cli_usage("sensitivity", "unexpected argument '%s'", w);
            s->model = w;
        } else if (!strcmp(w, "--data")) slot = &s->data;
        else if (!strcmp(w, "--pass")) slot = &s->pass;
        else if (!strcmp(w, "--labels")) slot = &s->labels;
        else if (!strcmp(w, "--report")) slot = &s->report;
        else if (!strcmp(w, "--json")) s->json = true;
        else if (!strcmp(w, "-v") || !strcmp(w, "--verbose")) s->verbosity = 1;
        else if (!strcmp(w, "-q") || !strcmp(w, "--quiet")) s->verbosity = -1;
        else if (!strcmp(w, "--levels") || !strcmp(w, "--limit")) {
            const char *v = ecc_args_value(&a, w);
            if (!v) return ECC_EXIT_USAGE;
            int rc = w[3] == 'e' ? parse_levels(v, s)
                                 : !ecc_args_u64("sensitivity", w, v, &s->limit);
            if (rc) return ECC_EXIT_USAGE;
        } else return ecc_cli_usage("sensitivity", "unknown option '%s'", w);
        if (slot && !(*slot = ecc_args_value(&a, w))) return ECC_EXIT_USAGE;
    }
    if (!s->model) return ecc_cli_usage("sensitivity", "missing model");
    if (!s->data) return ecc_cli_usage("sensitivity", "missing --data");
    if (s->report && !strcmp(s->report, "-"))
        return ecc_cli_usage("sensitivity", "--report - would mix with the table on standard "
                                            "output; use --json");
    return ECC_EXIT_OK;
}

int ecc_cmd_sensitivity(int argc, char **argv) {
    sens_args s = {0};
    int rc = parse(argc, argv, &s);
    if (rc) return rc;
    ecc_ctx *ctx = ecc_ctx_create();
    ecc_registry *reg = NULL;
    ecc_model *m = NULL;
    ecc_sensitivity *res = NULL;
    if (!ctx) return ecc_cli_fail(ECC_EXIT_INTERNAL, "out of memory");
    ecc_ctx_set_verbosity(ctx, s.verbosity);
    ecc_sensitivity_options o = {sizeof o, s.pass, s.n_levels ? s.levels : NULL, s.n_levels,
                                 s.labels, (int64_t)s.limit};
    ecc_status st = ecc_registry_create(ctx, &reg);
    if (!st) st = ecc_model_read(ctx, s.model, &m);
    if (!st) st = ecc_sensitivity_run(ctx, reg, m, s.data, &o, &res);
    if (!st) st = ecc_sensitivity_write(ctx, res, s.json, stdout);
    if (!st && s.report) st = ecc_sensitivity_write_report(ctx, res, s.report);
    rc = st ? ecc_cli_ctx_fail(ctx, st) : ECC_EXIT_OK;
    ecc_sensitivity_free(res);
    ecc_model_free(m);
    ecc_registry_free(reg);
    ecc_ctx_free(ctx);
    return rc;
}
