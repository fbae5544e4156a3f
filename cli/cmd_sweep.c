/* cmd_sweep.c — `ecc sweep SPEC -o DIR`: compression sweeps over pass
 * options or pipelines, each trial compressed and measured, results kept in
 * DIR across restarts, Pareto fronts plotted (the work is in sweep/). */
#include "cli.h"
#include "ecc_sweep.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char ecc_help_sweep[] =
    "usage: ecc sweep SPEC.json -o DIR [--dry-run] [--timeout S] [--retry-failed] [-q]\n"
    "\n"
    "Runs every trial of SPEC: compresses the model with the trial's pipeline (a child\n"
    "`ecc compress`), then measures it — file bytes, accuracy on labelled held-out data\n"
    "(or, without labels, top-1 agreement and output SQNR against the float model),\n"
    "latency in ecc's interpreter (batch 1 and batch N, median of K runs, one trial at\n"
    "a time), parameters, FLOPs and compression seconds. Each result is one JSON line\n"
    "appended to DIR/trials.jsonl with the `ecc compress` command that reproduces it.\n"
    "Run again with the same DIR, only trials it does not hold yet run. A trial that\n"
    "fails or passes --timeout is recorded as failed and the sweep goes on.\n"
    "At the end: DIR/trials.csv, DIR/summary.md (table, fronts marked), DIR/pareto.json,\n"
    "DIR/pareto_bytes.svg, DIR/pareto_latency.svg, DIR/flops_latency.svg; the models\n"
    "are in DIR/models/KEY.onnx.\n"
    "\n"
    "  -o, --output DIR      results folder (created if missing)\n"
    "  --dry-run             list the trials (and which DIR already holds); run none\n"
    "  --timeout S           seconds a trial may take (compress + measure); default none\n"
    "  --retry-failed        also rerun trials DIR records as failed\n"
    "  -q, --quiet           no progress and no closing lines, errors only\n"
    "\n"
    "SPEC (JSON; relative paths are read from SPEC's folder):\n"
    "  {\n"
    "    \"model\": \"mlp.onnx\",\n"
    "    \"calib\": \"train_256.npy\",           calibration data for the passes\n"
    "    \"data\": \"heldout.npy\",              held-out samples for measuring\n"
    "    \"labels\": \"heldout_labels.npy\",     optional: accuracy instead of agreement\n"
    "    \"pipeline\": \"prune,quant\",           the base pipeline\n"
    "    \"axes\": {                            the grid: every combination\n"
    "      \"prune.sparsity\": [0.5, 0.7, 0.9], PASS.OPTION: set in the pipeline\n"
    "      \"quant.method\": [\"minmax\", \"mse\"]\n"
    "    },\n"
    "    \"latency\": {\"batch\": 16, \"runs\": 5, \"threads\": 1}\n"
    "  }\n"
    "  Other keys: \"axes\": {\"pipeline\": [\"quant\", \"quant-weight\", \"\"]} swaps whole\n"
    "  pipelines (\"\" is the float baseline; an option axis then applies to the\n"
    "  pipelines holding its pass); \"sample\": {\"random\": N, \"seed\": S} runs N\n"
    "  trials drawn from the grid; \"calib_size\", \"train\", \"plugins\", \"seed\" and\n"
    "  \"short_names\" as in `ecc compress`; \"ecc\": true also writes and measures the\n"
    "  .ecc artifact; \"limit\": N measures on the first N held-out samples.\n"
    "\n"
    "Every trial's pipeline is checked before any work: a bad pass or option is refused\n"
    "(exit 1) naming the trial, also with --dry-run. docs/sweep.md has an example.\n"
    "exit codes: 0 ok (also when some trials failed: see summary.md), 1 usage or bad\n"
    "trial, 2 bad spec or input, 3 internal or I/O error\n";

typedef struct sweep_args {
    const char *spec, *dir;
    const char *measure; /* --measure-trial KEY: internal, the runner's measuring child */
    bool dry_run, quiet, retry;
    double timeout;
} sweep_args;

static int parse_timeout(const char *v, double *out) {
    char *end;
    errno = 0;
    double t = strtod(v, &end);
    if (!*v || *end || errno || !isfinite(t) || t <= 0)
        return ecc_cli_usage("sweep", "--timeout expects seconds > 0, got '%s'", v);
    *out = t;
    return ECC_EXIT_OK;
}

static int sweep_parse(int argc, char **argv, sweep_args *s) {
    ecc_args a = {argc, 1, argv, "sweep"};
    const char *w, *v;
    bool opt;
    while ((w = ecc_args_next(&a, &opt))) {
        if (!opt) {
            if (s->spec) return ecc_cli_usage("sweep", "unexpected argument '%s'", w);
            s->spec = w;
        } else if (!strcmp(w, "-o") || !strcmp(w, "--output")) {
            if (!(s->dir = ecc_args_value(&a, w))) return ECC_EXIT_USAGE;
        } else if (!strcmp(w, "--timeout")) {
            int rc;
            if (!(v = ecc_args_value(&a, w))) return ECC_EXIT_USAGE;
            if ((rc = parse_timeout(v, &s->timeout))) return rc;
        } else if (!strcmp(w, "--measure-trial")) {
            if (!(s->measure = ecc_args_value(&a, w))) return ECC_EXIT_USAGE;
        } else if (!strcmp(w, "--dry-run")) s->dry_run = true;
        else if (!strcmp(w, "--retry-failed")) s->retry = true;
        else if (!strcmp(w, "-q") || !strcmp(w, "--quiet")) s->quiet = true;
        else return ecc_cli_usage("sweep", "unknown option '%s'", w);
    }
    if (!s->spec) return ecc_cli_usage("sweep", "missing SPEC.json");
    if (!s->dir && !s->dry_run) return ecc_cli_usage("sweep", "missing -o DIR");
    return ECC_EXIT_OK;
}

static void print_stats(const ecc_sweep_stats *s, const char *dir) {
    printf("sweep: %zu trials: %zu run (%zu failed), %zu already in %s; %zu on a Pareto front\n",
           s->trials, s->ran, s->failed, s->done_before, dir, s->front);
    printf("wrote %s/trials.jsonl, trials.csv, summary.md, pareto.json, pareto_bytes.svg, "
           "pareto_latency.svg, flops_latency.svg\n", dir);
}

int ecc_cmd_sweep(int argc, char **argv) {
    sweep_args s = {0};
    int rc = sweep_parse(argc, argv, &s);
    if (rc) return rc;
    ecc_ctx *ctx = ecc_ctx_create();
    ecc_sweep *sw = NULL;
    ecc_sweep_stats stats;
    if (!ctx) return ecc_cli_fail(ECC_EXIT_INTERNAL, "out of memory");
    ecc_ctx_set_verbosity(ctx, s.quiet ? -1 : 0);
    ecc_status st = ecc_sweep_load(ctx, s.spec, &sw);
    if (!st && s.measure) st = ecc_sweep_measure_trial(ctx, sw, s.measure, s.dir, stdout);
    else if (!st && s.dry_run) st = ecc_sweep_list(ctx, sw, s.dir, stdout);
    else if (!st) {
        ecc_sweep_options o = {sizeof o, NULL, s.timeout, s.retry,
                               !s.quiet && isatty(STDERR_FILENO)};
        st = ecc_sweep_run(ctx, sw, s.dir, &o, &stats);
        if (!st && !s.quiet) print_stats(&stats, s.dir);
    }
    rc = st ? ecc_cli_ctx_fail(ctx, st) : ECC_EXIT_OK;
    ecc_sweep_free(sw);
    ecc_ctx_free(ctx);
    return rc;
}
