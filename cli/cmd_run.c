/* cmd_run.c — `ecc run MODEL --data D -o DIR`: one .npy per model output.
 * Also the options run/eval/compare share (data, batching, threads, image
 * preprocessing) and the progress bar drawn on a terminal. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char ecc_help_run[] =
    "usage: ecc run MODEL.onnx --data D -o DIR [options]\n"
    "\n"
    "Runs the model on every sample of D in batches and writes DIR/<output>.npy\n"
    "for each model output (batches concatenated on axis 0; characters outside\n"
    "[A-Za-z0-9._-] in an output name become '_'). Files are written atomically.\n"
    "\n"
    "  -o, --output DIR      output folder (created if missing; required)\n"
    "\n" ECC_HELP_DATA_OPTIONS
    "\n"
    "exit codes: 0 ok, 1 usage, 2 bad input or unsupported, 3 internal or I/O error\n";

void ecc_cli_data_init(ecc_cli_data *d) {
    memset(d, 0, sizeof *d);
    d->dopts.struct_size = sizeof d->dopts;
    d->ropts.struct_size = sizeof d->ropts;
}

/* "A" or "A,B,C" into v[3] (one value applies to every channel). */
static bool parse_triple(const char *text, double v[3]) {
    char *end;
    const char *p = text;
    int n = 0;
    while (n < 3) {
        errno = 0;
        v[n] = strtod(p, &end);
        if (end == p || errno || !isfinite(v[n])) return false;
        n++;
        if (*end == 0) break;
        if (*end != ',') return false;
        p = end + 1;
    }
    if (*end) return false;
    if (n == 1) v[1] = v[2] = v[0];
    return n == 1 || n == 3;
}

static bool parse_positive_double(const char *text, double *out) {
    char *end;
    errno = 0;
    *out = strtod(text, &end);
    return end != text && !*end && !errno && isfinite(*out) && *out > 0;
}

/* Integer option within [lo, hi]. */
static int int_option(ecc_args *a, const char *w, uint64_t lo, uint64_t hi, uint64_t *out) {
    const char *v = ecc_args_value(a, w);
    if (!v || !ecc_args_u64(a->cmd, w, v, out)) return ECC_EXIT_USAGE;
    if (*out < lo || *out > hi)
        return ecc_cli_usage(a->cmd, "option %s must be in [%llu, %llu], got %s", w,
                             (unsigned long long)lo, (unsigned long long)hi, v);
    return ECC_EXIT_OK;
}

static int int_options(ecc_args *a, const char *w, ecc_cli_data *d, bool *handled) {
    static const struct {
        const char *name;
        uint64_t lo, hi;
    } ints[] = {
        {"--batch", 1, 1u << 20}, {"--threads", 0, 1024}, {"--limit", 1, INT64_MAX},
        {"--resize", 1, 65536},   {"--height", 1, 65536}, {"--width", 1, 65536},
        {"--channels", 1, 3},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        if (strcmp(w, ints[i].name)) continue;
        uint64_t v;
        *handled = true;
        int rc = int_option(a, w, ints[i].lo, ints[i].hi, &v);
        if (rc) return rc;
        if (i == 6 && v == 2) return ecc_cli_usage(a->cmd, "--channels must be 1 or 3");
        int64_t *dst64[] = {&d->ropts.batch, NULL, &d->dopts.limit};
        int32_t *dst32[] = {NULL, NULL, NULL, &d->dopts.resize, &d->dopts.height,
                            &d->dopts.width, &d->dopts.channels};
        if (i == 1) d->ropts.threads = (int)v;
        else if (i < 3) *dst64[i] = (int64_t)v;
        else *dst32[i] = (int32_t)v;
        return ECC_EXIT_OK;
    }
    return ECC_EXIT_OK;
}

static int value_options(ecc_args *a, const char *w, ecc_cli_data *d, bool *handled) {
    const char *v;
    *handled = true;
    if (!strcmp(w, "--data")) {
        if (d->n_paths == ECC_CLI_MAX_DATA) return ecc_cli_usage(a->cmd, "too many --data options");
        if (!(v = ecc_args_value(a, w))) return ECC_EXIT_USAGE;
        d->paths[d->n_paths++] = v;
    } else if (!strcmp(w, "--report")) {
        if (!(d->report = ecc_args_value(a, w))) return ECC_EXIT_USAGE;
        if (!strcmp(d->report, "-"))
            return ecc_cli_usage(a->cmd, "--report - would mix with the results printed on "
                                         "standard output; give a file");
    } else if (!strcmp(w, "--scale")) {
        if (!(v = ecc_args_value(a, w))) return ECC_EXIT_USAGE;
        if (!parse_positive_double(v, &d->dopts.scale))
            return ecc_cli_usage(a->cmd, "--scale expects a positive number, got '%s'", v);
    } else if (!strcmp(w, "--mean") || !strcmp(w, "--std")) {
        if (!(v = ecc_args_value(a, w))) return ECC_EXIT_USAGE;
        double *dst = w[2] == 'm' ? d->dopts.mean : d->dopts.std;
        if (!parse_triple(v, dst) || (w[2] == 's' && (dst[0] <= 0 || dst[1] <= 0 || dst[2] <= 0)))
            return ecc_cli_usage(a->cmd, "%s expects A or A,B,C%s, got '%s'", w,
                                 w[2] == 's' ? " (positive)" : "", v);
    } else if (!strcmp(w, "--layout")) {
        if (!(v = ecc_args_value(a, w))) return ECC_EXIT_USAGE;
        if (!strcmp(v, "nchw")) d->dopts.layout = ECC_LAYOUT_NCHW;
        else if (!strcmp(v, "nhwc")) d->dopts.layout = ECC_LAYOUT_NHWC;
        else return ecc_cli_usage(a->cmd, "--layout expects nchw or nhwc, got '%s'", v);
    } else if (!strcmp(w, "-q") || !strcmp(w, "--quiet")) {
        d->verbosity = -1;
    } else if (!strcmp(w, "-v") || !strcmp(w, "--verbose")) {
        d->verbosity = 1;
    } else {
        *handled = false;
    }
    return ECC_EXIT_OK;
}

int ecc_cli_data_option(ecc_args *a, const char *w, ecc_cli_data *d, bool *handled) {
    int rc = value_options(a, w, d, handled);
    if (rc || *handled) return rc;
    return int_options(a, w, d, handled);
}

/* ---------------- progress bar ---------------- */

static struct {
    double start, last;
    bool drawn;
} ecc_bar;

static double ecc_clock(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Drawn only on a terminal, after the first second, at most 10 times a second. */
void ecc_cli_progress(void *user, int64_t done, int64_t total) {
    const ecc_cli_data *d = user;
    double t = ecc_clock();
    if ((d && d->verbosity < 0) || !isatty(STDERR_FILENO) || total <= 0) return;
    if (ecc_bar.start == 0) ecc_bar.start = t;
    if (t - ecc_bar.start < 1.0 || (t - ecc_bar.last < 0.1 && done < total)) return;
    ecc_bar.last = t;
    int width = 30, fill = (int)(width * (double)done / (double)total);
    double rate = (double)done / (t - ecc_bar.start);
    fprintf(stderr, "\r[%.*s%*s] %lld/%lld  %.0f samples/s ", fill,
            "==============================", width - fill, "", (long long)done,
            (long long)total, rate);
    fflush(stderr);
    ecc_bar.drawn = true;
}

void ecc_cli_progress_end(void) {
    if (ecc_bar.drawn) fprintf(stderr, "\r%*s\r", 79, "");
    memset(&ecc_bar, 0, sizeof ecc_bar);
}

/* ---------------- ecc run ---------------- */

int ecc_cmd_run(int argc, char **argv) {
    ecc_args a = {argc, 1, argv, "run"};
    ecc_cli_data d;
    const char *w, *model_path = NULL, *out_dir = NULL;
    bool opt, handled;
    int rc;
    ecc_cli_data_init(&d);
    while ((w = ecc_args_next(&a, &opt))) {
        if (!opt) {
            if (model_path) return ecc_cli_usage("run", "unexpected argument '%s'", w);
            model_path = w;
        } else if (!strcmp(w, "-o") || !strcmp(w, "--output")) {
            if (!(out_dir = ecc_args_value(&a, w))) return ECC_EXIT_USAGE;
        } else if ((rc = ecc_cli_data_option(&a, w, &d, &handled)) || handled) {
            if (rc) return rc;
        } else {
            return ecc_cli_usage("run", "unknown option '%s'", w);
        }
    }
    if (!model_path) return ecc_cli_usage("run", "missing model");
    if (!d.n_paths) return ecc_cli_usage("run", "missing --data");
    if (!out_dir) return ecc_cli_usage("run", "missing -o DIR");
    if (d.report) return ecc_cli_usage("run", "--report is not available for run");
    ecc_ctx *ctx = ecc_ctx_create();
    ecc_model *m = NULL;
    if (!ctx) return ecc_cli_fail(ECC_EXIT_INTERNAL, "out of memory");
    d.ropts.progress = ecc_cli_progress;
    d.ropts.progress_user = &d;
    ecc_status st = ecc_model_read(ctx, model_path, &m);
    if (!st) st = ecc_run_to_npy(ctx, m, d.paths, d.n_paths, &d.dopts, &d.ropts, out_dir);
    ecc_cli_progress_end();
    rc = st ? ecc_cli_ctx_fail(ctx, st) : ECC_EXIT_OK;
    if (!st && d.verbosity >= 0) fprintf(stderr, "ecc: wrote the outputs of %s to %s/\n", model_path, out_dir);
    ecc_model_free(m);
    ecc_ctx_free(ctx);
    return rc;
}
