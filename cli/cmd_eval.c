/* cmd_eval.c — `ecc eval MODEL --data X --labels Y [--topk 1,5]`:
 * classification accuracy of a model, optionally with a JSON report. */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char ecc_help_eval[] =
    "usage: ecc eval MODEL.onnx --data X --labels Y [--topk 1,5] [options]\n"
    "\n"
    "Runs the model on X in batches and scores its first [N, classes] output\n"
    "against the labels (argmax; ties go to the lowest class). Prints the top-1\n"
    "accuracy and every requested top-k.\n"
    "\n"
    "  --labels Y            one integer label per sample: .npy (int64/int32/uint8)\n"
    "                        or IDX1 (.gz ok); a count that differs from the\n"
    "                        samples is an error\n"
    "  --topk K[,K...]       also report top-K accuracy (top-1 is always reported)\n"
    "  --report FILE.json    JSON: accuracy (top-1, 0-1), samples, topk, seconds\n"
    "\n" ECC_HELP_DATA_OPTIONS
    "\n"
    "exit codes: 0 ok, 1 usage, 2 bad input or unsupported, 3 internal or I/O error\n";

/* "1,5" → ks */
static int parse_topk(const char *text, int32_t *ks, size_t cap, size_t *n) {
    const char *p = text;
    *n = 0;
    for (;;) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 1 || v > 1000000 || (*end && *end != ','))
            return ecc_cli_usage("eval", "--topk expects positive integers like 1,5, got '%s'",
                                 text);
        if (*n == cap) return ecc_cli_usage("eval", "--topk takes at most %zu values", cap);
        ks[(*n)++] = (int32_t)v;
        if (!*end) return ECC_EXIT_OK;
        p = end + 1;
    }
}

static void print_result(const ecc_eval_result *r) {
    printf("accuracy: %.4f  (%lld/%lld, output '%s')\n", r->accuracy,
           (long long)(r->accuracy * (double)r->samples + 0.5), (long long)r->samples,
           r->output);
    for (size_t k = 1; k < r->n_topk; k++)
        printf("top-%d: %.4f\n", (int)r->topk[k], r->topk_accuracy[k]);
    printf("samples: %lld  seconds: %.3f  (%.0f samples/s)\n", (long long)r->samples,
           r->seconds, r->seconds > 0 ? (double)r->samples / r->seconds : 0.0);
}

int ecc_cmd_eval(int argc, char **argv) {
    ecc_args a = {argc, 1, argv, "eval"};
    ecc_cli_data d;
    const char *w, *model_path = NULL, *labels = NULL;
    int32_t ks[ECC_EVAL_MAX_TOPK];
    size_t n_ks = 0;
    bool opt, handled;
    int rc;
    ecc_cli_data_init(&d);
    while ((w = ecc_args_next(&a, &opt))) {
        if (!opt) {
            if (model_path) return ecc_cli_usage("eval", "unexpected argument '%s'", w);
            model_path = w;
        } else if (!strcmp(w, "--labels")) {
            if (!(labels = ecc_args_value(&a, w))) return ECC_EXIT_USAGE;
        } else if (!strcmp(w, "--topk")) {
            const char *v = ecc_args_value(&a, w);
            if (!v) return ECC_EXIT_USAGE;
            if ((rc = parse_topk(v, ks, ECC_EVAL_MAX_TOPK - 1, &n_ks))) return rc;
        } else if ((rc = ecc_cli_data_option(&a, w, &d, &handled)) || handled) {
            if (rc) return rc;
        } else {
            return ecc_cli_usage("eval", "unknown option '%s'", w);
        }
    }
    if (!model_path) return ecc_cli_usage("eval", "missing model");
    if (!d.n_paths) return ecc_cli_usage("eval", "missing --data");
    if (!labels) return ecc_cli_usage("eval", "missing --labels");
    ecc_ctx *ctx = ecc_ctx_create();
    ecc_model *m = NULL;
    ecc_eval_result r;
    if (!ctx) return ecc_cli_fail(ECC_EXIT_INTERNAL, "out of memory");
    d.ropts.progress = ecc_cli_progress;
    d.ropts.progress_user = &d;
    ecc_status st = ecc_model_read(ctx, model_path, &m);
    if (!st)
        st = ecc_eval(ctx, m, d.paths, d.n_paths, labels, &d.dopts, &d.ropts, ks, n_ks, &r);
    ecc_cli_progress_end();
    if (!st && d.report)
        st = ecc_eval_write_report(ctx, &r, model_path, d.paths[0], labels, d.report);
    if (!st) print_result(&r);
    rc = st ? ecc_cli_ctx_fail(ctx, st) : ECC_EXIT_OK;
    ecc_model_free(m);
    ecc_ctx_free(ctx);
    return rc;
}
