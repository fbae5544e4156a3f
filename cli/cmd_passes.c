/* cmd_passes.c — `ecc passes [NAME] [--plugin SO]...`: the pass catalogue. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

const char ecc_help_passes[] =
    "usage: ecc passes [NAME] [--plugin SO]...\n"
    "\n"
    "Lists every pass with its summary, what it needs (calibration data,\n"
    "training) and its options with type, default and bounds. With NAME, only\n"
    "that pass. --plugin adds the passes of a plugin to the list.\n"
    "\n"
    "Options are given in the pipeline string: --passes name:key=value:key=value\n";

int ecc_cmd_passes(int argc, char **argv) {
    ecc_args a = {argc, 1, argv, "passes"};
    const char *w, *name = NULL;
    const char *plugins[64];
    int n_plugins = 0;
    bool opt;
    while ((w = ecc_args_next(&a, &opt))) {
        if (!opt && !name) name = w;
        else if (!strcmp(w, "--plugin") && n_plugins < 64) {
            if (!(plugins[n_plugins++] = ecc_args_value(&a, w))) return ECC_EXIT_USAGE;
        } else return ecc_cli_usage("passes", "unexpected argument '%s'", w);
    }
    ecc_ctx *ctx = ecc_ctx_create();
    if (!ctx) return ecc_cli_fail(ECC_EXIT_INTERNAL, "out of memory");
    ecc_registry *reg = NULL;
    ecc_status st = ecc_registry_create(ctx, &reg);
    for (int i = 0; !st && i < n_plugins; i++) st = ecc_registry_load_plugin(ctx, reg, plugins[i]);
    if (!st) st = ecc_registry_describe(ctx, reg, name, stdout);
    int rc = st ? ecc_cli_ctx_fail(ctx, st) : ECC_EXIT_OK;
    ecc_registry_free(reg);
    ecc_ctx_free(ctx);
    return rc;
}
