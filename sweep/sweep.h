/* sweep.h — internal to sweep/: the parsed spec and its trials, and the
 * functions each file of the folder owns:
 *   spec.c     reading the JSON spec, resolving paths
 *   trials.c   expanding axes (grid, seeded random sample), editing pipelines,
 *              trial keys, checking every trial before any work
 *   runner.c   one trial: the child `ecc compress` (timeout, log, exit code),
 *              then the measurement, then its result line
 *   measure.c  measuring a compressed model (bytes, accuracy / agreement, SQNR,
 *              latency, params, FLOPs), in the child `ecc sweep --measure-trial`
 *   store.c    DIR/trials.jsonl (atomic appends, reading back), trials.csv
 *   pareto.c   non-dominated trials, summary.md
 *   plot.c     hand-written SVG scatter plots
 *   sweep.c    the public entry points: load, list, run, finish */
#ifndef ECC_SWEEP_INTERNAL_H
#define ECC_SWEEP_INTERNAL_H

#include "ecc_sweep.h"
#include "base.h"

#include <cjson/cJSON.h>

#define SWEEP_MAX_TRIALS 100000u
#define SWEEP_KEY_LEN 16

typedef struct sweep_axis {
    char *name;            /* "pipeline", or "PASS.OPTION" */
    char *pass, *option;   /* NULL for a pipeline axis */
    char **values;         /* texts as they go into a pipeline */
    size_t n;
} sweep_axis;

typedef struct sweep_trial {
    char *pipeline;        /* the full pipeline text */
    char *assign;          /* "prune.sparsity=0.5 quant.method=mse" (the axes' values) */
    char *canon;           /* canonical JSON of everything that determines the result */
    char key[SWEEP_KEY_LEN + 1]; /* FNV-1a 64 of canon, hex */
} sweep_trial;

struct ecc_sweep {
    char *spec_path;
    char *model, *calib, *data, *labels, *train; /* resolved paths; NULL when absent */
    char **plugins;
    size_t n_plugins;
    uint64_t calib_size, seed;
    int64_t limit;         /* held-out samples measured; 0 = all */
    bool ecc, short_names;
    char *base;            /* base pipeline */
    sweep_axis *axes;
    size_t n_axes;
    bool random;
    uint64_t sample_n, sample_seed;
    int64_t lat_batch;     /* batch N of the second latency measurement */
    uint32_t lat_runs;     /* K: median of K timed runs */
    int lat_threads;
    sweep_trial *trials;
    size_t n_trials;
};

/* spec.c */
ecc_status sweep_spec_read(ecc_ctx *ctx, const char *path, ecc_sweep *sw);
void sweep_spec_clear(ecc_sweep *sw);

/* trials.c */
ecc_status sweep_trials_expand(ecc_ctx *ctx, ecc_sweep *sw);
ecc_status sweep_trials_check(ecc_ctx *ctx, const ecc_sweep *sw);
/* Sets option `opt` of every invocation of `pass` in pipeline pl; false when
 * pl has no such pass. *out malloc'd (NULL on OOM with true returned). */
bool sweep_pipeline_set(const char *pl, const char *pass, const char *opt, const char *val,
                        char **out);

/* runner.c */
/* The shell-quoted `ecc compress ...` command that reproduces trial t into out_path. */
char *sweep_compress_command(const ecc_sweep *sw, const sweep_trial *t, const char *exe,
                             const char *out_path);

/* measure.c: measures trial t's model at onnx_path into obj (ecc_path, when not
 * NULL, receives the .ecc). Runs in the caller's process. */
ecc_status sweep_measure(ecc_ctx *ctx, const ecc_sweep *sw, const sweep_trial *t,
                         const char *onnx_path, const char *ecc_path, cJSON *obj);
/* Per-sample multiply-accumulates of Conv/Gemm/MatMul (and their integer and
 * QLinear forms) from the graph's shapes (a batch dimension counts 1), times
 * two. Infers shapes first (the model is changed only by that). */
double sweep_model_flops(ecc_ctx *ctx, ecc_model *m);

/* store.c */
ecc_status sweep_store_append(ecc_ctx *ctx, const char *dir, const cJSON *line);
/* Results of this spec's trials: res[i] is the last line recorded for trial i
 * (NULL when none); owned by the returned root array (cJSON_Delete). */
ecc_status sweep_store_load(ecc_ctx *ctx, const ecc_sweep *sw, const char *dir, cJSON **root,
                            const cJSON **res);
ecc_status sweep_store_csv(ecc_ctx *ctx, const ecc_sweep *sw, const char *dir,
                           const cJSON *const *res);
/* Number field of a result; NAN when absent or null. */
double sweep_num(const cJSON *o, const char *name);
const char *sweep_str(const cJSON *o, const char *name);
bool sweep_ok(const cJSON *o);
/* "dir/name" malloc'd (NULL on OOM or overflow); _n: the first dir_len bytes of dir. */
char *sweep_path(const char *dir, const char *name);
/* Writes DIR/name atomically: body(fp, arg) writes the content and returns
 * false on out of memory; a write error or failure leaves no file. */
typedef bool (*sweep_body_fn)(FILE *fp, const void *arg);
ecc_status sweep_write_file(ecc_ctx *ctx, const char *dir, const char *name, sweep_body_fn body,
                            const void *arg);
char *sweep_path_n(const char *dir, size_t dir_len, const char *name);

/* pareto.c */
/* front[i] = true when ok trial i is non-dominated: quality q higher is better,
 * cost c lower is better (NAN entries never on the front). */
void sweep_pareto(const double *q, const double *c, size_t n, bool *front);
ecc_status sweep_summary(ecc_ctx *ctx, const ecc_sweep *sw, const char *dir,
                         const cJSON *const *res, size_t *n_front);

/* plot.c */
typedef struct sweep_point {
    double x, y;
    bool front;
    const char *label;     /* tooltip */
    size_t num;            /* trial number, written beside the point */
} sweep_point;
typedef struct sweep_plot {
    const char *title, *xlabel, *ylabel;
    const sweep_point *pts;
    size_t n;
    bool connect_front;
} sweep_plot;
ecc_status sweep_plot_write(ecc_ctx *ctx, const char *path, const sweep_plot *p);

#endif
