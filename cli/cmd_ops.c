/* cmd_ops.c — `ecc ops [--json]`: the operators the interpreter runs. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

const char ecc_help_ops[] =
    "usage: ecc ops [--json]\n"
    "\n"
    "Lists the operators (default ONNX domain) the CPU interpreter has kernels\n"
    "for, with the element types of their first input ('any' when the kernel is\n"
    "type-generic) and the opsets their semantics start at. A model using\n"
    "anything else is refused by run/eval/compare before it runs.\n"
    "\n"
    "  --json     print a JSON document instead of text\n";

int ecc_cmd_ops(int argc, char **argv) {
    ecc_args a = {argc, 1, argv, "ops"};
    const char *w;
    bool opt, json = false;
    while ((w = ecc_args_next(&a, &opt))) {
        if (!strcmp(w, "--json")) json = true;
        else return ecc_cli_usage("ops", "unexpected argument '%s'", w);
    }
    ecc_ctx *ctx = ecc_ctx_create();
    if (!ctx) return ecc_cli_fail(ECC_EXIT_INTERNAL, "out of memory");
    ecc_status st = ecc_ops_describe(ctx, json, stdout);
    int rc = st ? ecc_cli_ctx_fail(ctx, st) : ECC_EXIT_OK;
    ecc_ctx_free(ctx);
    return rc;
}
