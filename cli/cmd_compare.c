/* cmd_compare.c — `ecc compare A B --data X`: how close two models (or a
 * model and reference outputs) are, output by output. */
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const char ecc_help_compare[] =
    "usage: ecc compare A B [--data X] [options]\n"
    "\n"
    "Runs A and B on the same samples and compares their outputs (paired by\n"
    "name, else by position). A and B are each a model (.onnx), a .npy file or\n"
    "a folder of .npy files holding reference outputs (as written by `ecc run`\n"
    "or ONNX Runtime; row i belongs to sample i). --data is needed when a model\n"
    "is compared. Per output: max abs error, mean and max relative error\n"
    "(|a-b| / max(|a|,|b|)), cosine similarity, SQNR of B against A in dB, and\n"
    "the top-1 agreement (argmax over the last axis) for outputs of rank >= 2.\n"
    "\n"
    "  --report FILE.json    JSON: samples, seconds, outputs[] with the statistics\n"
    "\n" ECC_HELP_DATA_OPTIONS
    "\n"
    "exit codes: 0 ok, 1 usage, 2 bad input or unsupported, 3 internal or I/O error\n";

static void print_diff(const ecc_output_diff *o) {
    printf("output '%s'", o->name);
    if (strcmp(o->name, o->name_b)) printf(" (B: '%s')", o->name_b);
    printf(": %lld elements  max abs %.3g (%.3g of max |A|)  mean rel %.3g  max rel %.3g  "
           "cosine %.9f  SQNR ", (long long)o->elements, o->max_abs,
           o->scale > 0 ? o->max_abs / o->scale : o->max_abs, o->mean_rel, o->max_rel, o->cosine);
    if (isinf(o->sqnr_db)) printf("%s", o->sqnr_db > 0 ? "inf" : "-inf");
    else printf("%.2f dB", o->sqnr_db);
    if (o->top1_rows)
        printf("  top-1 agreement %lld/%lld (%.4f)", (long long)o->top1_agree,
               (long long)o->top1_rows, (double)o->top1_agree / (double)o->top1_rows);
    printf("\n");
}

int ecc_cmd_compare(int argc, char **argv) {
    ecc_args a = {argc, 1, argv, "compare"};
    ecc_cli_data d;
    const char *w, *pa = NULL, *pb = NULL;
    bool opt, handled;
    int rc;
    ecc_cli_data_init(&d);
    while ((w = ecc_args_next(&a, &opt))) {
        if (!opt) {
            if (pb) return ecc_cli_usage("compare", "unexpected argument '%s'", w);
            *(pa ? &pb : &pa) = w;
        } else if ((rc = ecc_cli_data_option(&a, w, &d, &handled)) || handled) {
            if (rc) return rc;
        } else {
            return ecc_cli_usage("compare", "unknown option '%s'", w);
        }
    }
    if (!pb) return ecc_cli_usage("compare", "needs two operands A and B");
    ecc_ctx *ctx = ecc_ctx_create();
    ecc_comparison *c = NULL;
    if (!ctx) return ecc_cli_fail(ECC_EXIT_INTERNAL, "out of memory");
    d.ropts.progress = ecc_cli_progress;
    d.ropts.progress_user = &d;
    ecc_status st = ecc_compare(ctx, pa, pb, d.paths, d.n_paths, &d.dopts, &d.ropts, &c);
    ecc_cli_progress_end();
    if (!st && d.report) st = ecc_comparison_write_report(ctx, c, pa, pb, d.report);
    if (!st) {
        for (size_t i = 0; i < ecc_comparison_count(c); i++)
            print_diff(ecc_comparison_output(c, i));
        printf("samples: %lld  seconds: %.3f\n", (long long)ecc_comparison_samples(c),
               ecc_comparison_seconds(c));
    }
    rc = st ? ecc_cli_ctx_fail(ctx, st) : ECC_EXIT_OK;
    ecc_comparison_free(c);
    ecc_ctx_free(ctx);
    return rc;
}
