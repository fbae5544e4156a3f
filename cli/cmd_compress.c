/* cmd_compress.c — `ecc compress`: parse the pipeline (before any work),
 * read the model, run the passes, write the output atomically, report. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

const char ecc_help_compress[] =
    "usage: ecc compress IN.onnx -o OUT.onnx|OUT.ecc [--passes P] [options]\n"
    "\n"
    "Runs a pipeline of passes over IN and writes OUT. Passes annotate the graph;\n"
    "masks and quantizers are lowered once, at the end. Order is meaningful.\n"
    "\n"
    "  -o, --output FILE     output model (written atomically; required): ONNX, or a\n"
    "                        .ecc deployment artifact when FILE ends in .ecc; '-' is\n"
    "                        standard output, a device or pipe is written as a stream\n"
    "  --format onnx|ecc     output format regardless of the extension\n"
    "  --level N             .ecc: zstd level 1..22 (default 12; 19 is ~1-3% smaller\n"
    "                        and much slower to write)\n"
    "  --passes P            pipeline: name(:key=value)* joined by ','\n"
    "                        e.g. normalize,fold-bn,dce or prune:pattern=2:4\n"
    "                        (default: none — a lossless rewrite)\n"
    "  --plugin SO           load passes from a plugin (repeatable)\n"
    "  --calib PATH          calibration data for passes that need it\n"
    "  --calib-size N        calibration samples to use (default 256; distill trains on\n"
    "                        all of them unless this is given)\n"
    "  --train PATH          distill: training data, read like --calib (default: the\n"
    "                        --calib data); all of it unless --calib-size or steps=\n"
    "  --labels FILE         distill: one class index per training sample (.npy or IDX);\n"
    "                        adds cross-entropy to the loss (distill's alpha, default\n"
    "                        0.5) and reports held-out accuracy\n"
    "  --report FILE.json    write a JSON report (passes, timings, statistics);\n"
    "                        '-' is standard output\n"
    "  --external-data       store large tensors in OUT.data (models > 2 GB; OUT must\n"
    "                        be a file)\n"
    "  --short-names         deployment names: every tensor but the graph inputs and\n"
    "                        outputs gets a short id, node names and doc strings go\n"
    "                        (a smaller file that computes the same; the report and\n"
    "                        -v keep the original names)\n"
    "  --seed N              seed for every random choice (default 0)\n"
    "  -v, --verbose         more detail on stderr\n"
    "  -q, --quiet           errors only\n"
    "\n"
    "'ecc passes' lists the passes and their options.\n"
    "exit codes: 0 ok, 1 usage, 2 bad input or unsupported, 3 internal or I/O error\n";

typedef struct ecc_compress_args {
    const char *in, *out, *passes, *report, *calib, *format, *labels, *train;
    const char *plugins[64];
    int n_plugins;
    uint64_t seed, calib_size, level;
    int verbosity;
    bool external, short_names;
} ecc_compress_args;

static int ecc_compress_parse(int argc, char **argv, ecc_compress_args *c) {
    ecc_args a = {argc, 1, argv, "compress"};
    const char *w;
    bool opt;
    c->calib_size = 0; /* unset: 256 for calibration, all for training */
    while ((w = ecc_args_next(&a, &opt))) {
        const char **slot = NULL;
        if (!opt) {
            if (c->in) return ecc_cli_usage("compress", "unexpected argument '%s'", w);
            c->in = w;
        } else if (!strcmp(w, "-o") || !strcmp(w, "--output")) slot = &c->out;
        else if (!strcmp(w, "--passes")) slot = &c->passes;
        else if (!strcmp(w, "--report")) slot = &c->report;
        else if (!strcmp(w, "--calib")) slot = &c->calib;
        else if (!strcmp(w, "--labels")) slot = &c->labels;
        else if (!strcmp(w, "--train")) slot = &c->train;
        else if (!strcmp(w, "--format")) slot = &c->format;
        else if (!strcmp(w, "--plugin")) {
            if (c->n_plugins == 64) return ecc_cli_usage("compress", "too many --plugin options");
            slot = &c->plugins[c->n_plugins++];
        } else if (!strcmp(w, "--seed") || !strcmp(w, "--calib-size")) {
            const char *v = ecc_args_value(&a, w);
            if (!v || !ecc_args_u64("compress", w, v, w[2] == 's' ? &c->seed : &c->calib_size))
                return ECC_EXIT_USAGE;
        } else if (!strcmp(w, "--level")) {
            const char *v = ecc_args_value(&a, w);
            if (!v || !ecc_args_u64("compress", w, v, &c->level)) return ECC_EXIT_USAGE;
            if (c->level < 1 || c->level > 22)
                return ecc_cli_usage("compress", "--level must be in [1, 22], not %s", v);
        } else if (!strcmp(w, "--external-data")) c->external = true;
        else if (!strcmp(w, "--short-names")) c->short_names = true;
        else if (!strcmp(w, "-v") || !strcmp(w, "--verbose")) c->verbosity = 1;
        else if (!strcmp(w, "-q") || !strcmp(w, "--quiet")) c->verbosity = -1;
        else return ecc_cli_usage("compress", "unknown option '%s'", w);
        if (slot && !(*slot = ecc_args_value(&a, w))) return ECC_EXIT_USAGE;
    }
    if (!c->in) return ecc_cli_usage("compress", "missing input model");
    if (!c->out) return ecc_cli_usage("compress", "missing -o OUT");
    if (c->format && strcmp(c->format, "onnx") && strcmp(c->format, "ecc"))
        return ecc_cli_usage("compress", "--format must be onnx or ecc, not '%s'", c->format);
    if (!strcmp(c->out, "-") && c->report && !strcmp(c->report, "-"))
        return ecc_cli_usage("compress", "-o - and --report - cannot both be standard output");
    return ecc_cli_check_model_output("compress", c->out, c->external);
}

static double ecc_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Size of a file; -1 when unknown (a stream output). */
static long long ecc_file_size(const char *path) {
    struct stat sb;
    if (ecc_output_is_stream(path)) return -1;
    return stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
}

/* Zeros pruning left take full space in an ONNX file (stored dense): say so,
 * and where they would not. */
static void note_zeros(const ecc_compress_args *c, const ecc_write_options *wo,
                       const ecc_model *m) {
    size_t len = strlen(c->out);
    bool ecc_name = len >= 4 && strcmp(c->out + len - 4, ".ecc") == 0;
    bool onnx = wo->format == ECC_FORMAT_ONNX || (wo->format == ECC_FORMAT_AUTO && !ecc_name);
    double z = ecc_model_weight_zeros(m);
    if (c->verbosity < 0 || !onnx || z < 0.25) return;
    fprintf(stderr,
            "ecc: note: %.0f%% of the weights are zeros, stored dense in ONNX; -o FILE.ecc "
            "stores them sparse\n",
            100.0 * z);
}

int ecc_cmd_compress(int argc, char **argv) {
    ecc_compress_args c = {0};
    int rc = ecc_compress_parse(argc, argv, &c);
    if (rc) return rc;
    ecc_ctx *ctx = ecc_ctx_create();
    ecc_registry *reg = NULL;
    ecc_pipeline *pl = NULL;
    ecc_model *m = NULL;
    ecc_report *rep = c.report ? ecc_report_create() : NULL;
    ecc_status st = ECC_OK;
    if (!ctx || (c.report && !rep)) {
        rc = ecc_cli_fail(ECC_EXIT_INTERNAL, "out of memory");
        goto done;
    }
    ecc_ctx_set_seed(ctx, c.seed);
    ecc_ctx_set_verbosity(ctx, c.verbosity);
    double t0 = ecc_now();
    /* everything that can be checked without the model is checked first */
    if ((st = ecc_registry_create(ctx, &reg))) goto fail;
    for (int i = 0; i < c.n_plugins; i++)
        if ((st = ecc_registry_load_plugin(ctx, reg, c.plugins[i]))) goto fail;
    if ((st = ecc_pipeline_parse(ctx, reg, c.passes ? c.passes : "", &pl))) goto fail;
    ecc_run_env env = {sizeof env, c.calib, (uint32_t)c.calib_size, c.train, c.labels};
    if ((st = ecc_pipeline_check(ctx, pl, &env))) goto fail;
    if ((st = ecc_model_read(ctx, c.in, &m))) goto fail;
    if (rep) {
        ecc_report_set_string(rep, "input", c.in);
        ecc_report_set_string(rep, "output", c.out);
        ecc_report_set_number(rep, "seed", (double)c.seed);
        ecc_report_add_model(rep, "before", m);
    }
    if ((st = ecc_pipeline_run(ctx, pl, m, &env, rep))) goto fail;
    if (c.short_names && (st = ecc_model_shorten_names(ctx, m))) goto fail;
    ecc_write_options wo = {sizeof wo, c.external, 1024, NULL, ECC_FORMAT_AUTO, c.passes,
                            (int32_t)c.level};
    if (c.format) wo.format = strcmp(c.format, "ecc") ? ECC_FORMAT_ONNX : ECC_FORMAT_ECC;
    if ((st = ecc_model_write(ctx, m, c.out, &wo))) goto fail;
    double secs = ecc_now() - t0;
    long long in_size = ecc_file_size(c.in), out_size = ecc_file_size(c.out);
    if (rep) {
        ecc_report_add_model(rep, "after", m);
        ecc_report_set_number(rep, "input_bytes", (double)in_size);
        if (out_size >= 0) ecc_report_set_number(rep, "output_bytes", (double)out_size);
        ecc_report_set_number(rep, "seconds", secs);
        if ((st = ecc_report_write(ctx, rep, c.report))) goto fail;
    }
    note_zeros(&c, &wo, m);
    if (c.verbosity >= 0 && out_size < 0)
        fprintf(stderr, "ecc: wrote %s in %.2f s\n", ecc_cli_output_name(c.out), secs);
    else if (c.verbosity >= 0)
        fprintf(stderr, "ecc: wrote %s: %lld -> %lld bytes (%.1f%%) in %.2f s\n", c.out, in_size,
                out_size, in_size > 0 ? 100.0 * (double)out_size / (double)in_size : 0.0, secs);
    rc = ECC_EXIT_OK;
    goto done;
fail:
    rc = ecc_cli_ctx_fail(ctx, st);
done:
    ecc_model_free(m);
    ecc_pipeline_free(pl);
    ecc_registry_free(reg);
    ecc_report_free(rep);
    ecc_ctx_free(ctx);
    return rc;
}
