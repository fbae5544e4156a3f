/* cmd_unpack.c — `ecc unpack MODEL.ecc -o OUT.onnx [--dequantize]`: restores
 * the ONNX model from a .ecc artifact (QDQ, or float32 weights). */
#include "cli.h"

#include <stdio.h>
#include <string.h>

const char ecc_help_unpack[] =
    "usage: ecc unpack MODEL.ecc -o OUT.onnx [--dequantize] [--external-data]\n"
    "\n"
    "Restores the ONNX model stored in a .ecc artifact. Quantized weights come back\n"
    "as integer initializers read by DequantizeLinear (QDQ), bit-identical to what\n"
    "was packed; with --dequantize they become float32 initializers holding exactly\n"
    "the values DequantizeLinear computes. Clustered and sparse weights come back\n"
    "dense. Every checksum and bound is checked first.\n"
    "\n"
    "  -o, --output FILE     ONNX model to write (atomically; required); '-' is\n"
    "                        standard output, a device or pipe is written as a stream\n"
    "  --dequantize          float32 weights instead of QDQ\n"
    "  --external-data       store large tensors in OUT.data\n"
    "  -q, --quiet           errors only\n"
    "\n"
    "exit codes: 0 ok, 1 usage, 2 bad input or unsupported, 3 internal or I/O error\n";

int ecc_cmd_unpack(int argc, char **argv) {
    ecc_args a = {argc, 1, argv, "unpack"};
    const char *w, *in = NULL, *out = NULL;
    bool opt, dequantize = false, external = false, quiet = false;
    while ((w = ecc_args_next(&a, &opt))) {
        if (!opt && !in) in = w;
        else if (!strcmp(w, "-o") || !strcmp(w, "--output")) {
            if (!(out = ecc_args_value(&a, w))) return ECC_EXIT_USAGE;
        } else if (!strcmp(w, "--dequantize")) dequantize = true;
        else if (!strcmp(w, "--external-data")) external = true;
        else if (!strcmp(w, "-q") || !strcmp(w, "--quiet")) quiet = true;
        else return ecc_cli_usage("unpack", "unexpected argument '%s'", w);
    }
    if (!in) return ecc_cli_usage("unpack", "missing input artifact");
    if (!out) return ecc_cli_usage("unpack", "missing -o OUT.onnx");
    int rc = ecc_cli_check_model_output("unpack", out, external);
    if (rc) return rc;
    ecc_ctx *ctx = ecc_ctx_create();
    if (!ctx) return ecc_cli_fail(ECC_EXIT_INTERNAL, "out of memory");
    ecc_model *m = NULL;
    ecc_artifact_read_options ro = {sizeof ro, dequantize};
    ecc_write_options wo = {sizeof wo, external, 1024, NULL, ECC_FORMAT_ONNX, NULL, 0};
    ecc_status st = ecc_artifact_read(ctx, in, &ro, &m);
    if (!st) st = ecc_model_write(ctx, m, out, &wo);
    rc = st ? ecc_cli_ctx_fail(ctx, st) : ECC_EXIT_OK;
    if (!st && !quiet) fprintf(stderr, "ecc: wrote %s\n", ecc_cli_output_name(out));
    ecc_model_free(m);
    ecc_ctx_free(ctx);
    return rc;
}
