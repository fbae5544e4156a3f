/* ecc_sweep.h — the public API of compression sweeps (`ecc sweep`): a JSON
 * spec names a model, data and axes over pass options or whole pipelines;
 * each trial compresses (a child `ecc compress`) and is measured (bytes,
 * accuracy or fidelity, latency, FLOPs); results are appended one JSON line
 * per trial to DIR/trials.jsonl, and DIR gets trials.csv, summary.md and
 * Pareto plots. docs/sweep.md describes the spec and the outputs. */
#ifndef ECC_SWEEP_H
#define ECC_SWEEP_H

#include "ecc.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ecc_sweep ecc_sweep;

/* Reads and checks the spec (JSON) and expands its trials (grid or seeded
 * random sample). Every trial's pipeline is parsed and checked against its
 * needs here, before any work: a bad pass or option → ECC_E_USAGE naming the
 * spec and the trial. *out owned by the caller (ecc_sweep_free). */
ecc_status ecc_sweep_load(ecc_ctx *ctx, const char *spec_path, ecc_sweep **out);
void ecc_sweep_free(ecc_sweep *sw); /* NULL is a no-op */
size_t ecc_sweep_trial_count(const ecc_sweep *sw);

/* Lists the trials (index, key, axis values, pipeline) to out; with dir, also
 * which of them DIR/trials.jsonl already holds. */
ecc_status ecc_sweep_list(ecc_ctx *ctx, const ecc_sweep *sw, const char *dir, FILE *out);

typedef struct ecc_sweep_options {
    uint32_t struct_size;  /* sizeof(ecc_sweep_options) */
    const char *exe;       /* the ecc binary run as `EXE compress ...`; NULL: /proc/self/exe */
    double timeout;        /* seconds per trial (compress + measure); 0: none */
    bool retry_failed;     /* rerun trials recorded as failed */
    bool progress;         /* "trial i/N, ETA" on stderr */
} ecc_sweep_options;

typedef struct ecc_sweep_stats {
    size_t trials, done_before, ran, failed;
    size_t front;          /* trials on either Pareto front */
} ecc_sweep_stats;

/* Runs trial i (0-based) and appends its one result line to DIR/trials.jsonl
 * (a failed or timed-out trial is a result too). DIR must exist. Returns an
 * error only when the result cannot be recorded. *failed (may be NULL) tells
 * whether the trial failed. */
ecc_status ecc_sweep_run_trial(ecc_ctx *ctx, const ecc_sweep *sw, size_t i, const char *dir,
                               const ecc_sweep_options *opts, bool *failed);
/* Measures the model of the trial with this key (DIR/models/KEY.onnx, and
 * writes KEY.ecc when the spec asks) and writes the numbers as one JSON object
 * to out. The runner calls it in a child process (`ecc sweep SPEC
 * --measure-trial KEY -o DIR`). */
ecc_status ecc_sweep_measure_trial(ecc_ctx *ctx, const ecc_sweep *sw, const char *key,
                                   const char *dir, FILE *out);
/* Creates DIR (and DIR/models), runs every trial DIR/trials.jsonl does not
 * hold yet, in order, then ecc_sweep_finish. stats may be NULL. */
ecc_status ecc_sweep_run(ecc_ctx *ctx, const ecc_sweep *sw, const char *dir,
                         const ecc_sweep_options *opts, ecc_sweep_stats *stats);
/* From DIR/trials.jsonl (the last line of each of this spec's trials):
 * trials.csv, summary.md, pareto.json, pareto_bytes.svg, pareto_latency.svg,
 * flops_latency.svg, each written atomically. *front (may be NULL): trials
 * on either Pareto front. */
ecc_status ecc_sweep_finish(ecc_ctx *ctx, const ecc_sweep *sw, const char *dir, size_t *front);

#ifdef __cplusplus
}
#endif
#endif
