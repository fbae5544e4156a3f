/* cmd_inspect.c — `ecc inspect MODEL [--json]`. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

const char ecc_help_inspect[] =
    "usage: ecc inspect MODEL.onnx|MODEL.ecc [--json]\n"
    "\n"
    "Summarizes a model: IR version and opsets, inputs and outputs with shapes\n"
    "(symbolic dims kept), an op histogram, parameters and bytes per dtype, the\n"
    "largest tensors, and per-weight sparsity and quantization. For a .ecc artifact:\n"
    "its metadata, sections, and every tensor's encoding, bytes and ratio.\n"
    "\n"
    "  --json     print the summary as a JSON document instead of text\n";

int ecc_cmd_inspect(int argc, char **argv) {
    ecc_args a = {argc, 1, argv, "inspect"};
    const char *w, *path = NULL;
    bool opt, json = false;
    while ((w = ecc_args_next(&a, &opt))) {
        if (!opt && !path) path = w;
        else if (!strcmp(w, "--json")) json = true;
        else return ecc_cli_usage("inspect", "unexpected argument '%s'", w);
    }
    if (!path) return ecc_cli_usage("inspect", "missing model");
    ecc_ctx *ctx = ecc_ctx_create();
    if (!ctx) return ecc_cli_fail(ECC_EXIT_INTERNAL, "out of memory");
    ecc_model *m = NULL;
    ecc_status st;
    if (ecc_file_format(path) == ECC_FORMAT_ECC) st = ecc_artifact_inspect(ctx, path, json, stdout);
    else if (!(st = ecc_model_read(ctx, path, &m))) st = ecc_model_inspect(ctx, m, json, stdout);
    int rc = st ? ecc_cli_ctx_fail(ctx, st) : ECC_EXIT_OK;
    ecc_model_free(m);
    ecc_ctx_free(ctx);
    return rc;
}
