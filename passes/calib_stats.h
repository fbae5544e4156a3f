/* calib_stats.h — calibration for the passes that need data (pruning,
 * quantization, sensitivity): samples read once into memory, batched runs of
 * the interpreter with an observer, and the per-layer input statistics of
 * weight layers (layers.h: wl_stats — mean x², mean x, H = mean x xᵀ).
 * Internal to libecc. */
#ifndef ECC_CALIB_STATS_H
#define ECC_CALIB_STATS_H

#include "layers.h"
#include "../calibrate/interp.h"

/* Calibration samples held in memory, converted to the model's input types. */
typedef struct calib_entry calib_entry;
typedef struct calib_data {
    size_t n_inputs;
    int64_t samples;
    ecc_rt_tensor *inputs;   /* per input: all samples, dims[0] = samples; data malloc'd,
                                or (entry != NULL) a read-only view of the entry's */
    calib_entry *entry;      /* the samples viewed: NULL when inputs own their data */
    ecc_run_cache *cache;    /* lends entry (NULL: the view owns it) */
} calib_data;

/* The run's --calib path, or NULL; its --calib-size (0 or unset: 256); the
 * --calib-size as given (0 when unset: training takes every sample); its
 * --train and --labels paths, or NULL. */
#define CALIB_DEFAULT_SIZE 256
const char *calib_env_path(const ecc_pass_run *run);
const char *calib_env_train_path(const ecc_pass_run *run);
const char *calib_env_labels_path(const ecc_pass_run *run);
int64_t calib_env_size(const ecc_pass_run *run);
int64_t calib_env_given_size(const ecc_pass_run *run);

/* The first limit samples (0: all) of path bound to model's inputs. Inside
 * a pipeline run they are read once per path and input binding and shared
 * (the run's bounded cache, compress/pipeline.h): *out is then a read-only
 * view. Either way the caller frees it with calib_data_free. */
ecc_status calib_data_load(ecc_ctx *ctx, const ecc_model *model, const char *path,
                           int64_t limit, calib_data **out);
void calib_data_free(calib_data *d); /* NULL is a no-op */

/* Class labels (.npy or IDX of int64, int32 or uint8, one per sample) for
 * the first n samples of the data at data_path: the file holds exactly as
 * many labels as data_path samples, each in [0, classes). *out: n labels,
 * malloc'd, the caller's. Errors (ECC_E_INPUT) name the labels file. */
ecc_status calib_labels_load(ecc_ctx *ctx, const char *path, const char *data_path, int64_t n,
                             int64_t classes, int64_t **out);
/* Only the count: as many labels at path as samples at data_path (headers
 * only, before any work). */
ecc_status calib_labels_count_check(ecc_ctx *ctx, const char *path, const char *data_path);

/* Samples per interpreter run of the calibration passes (a model with a
 * fixed batch dimension uses its own). */
#define CALIB_BATCH 128

/* Called after each batch with the interpreter (results readable). */
typedef ecc_status (*calib_batch_fn)(ecc_ctx *ctx, void *user, const ecc_interp *it,
                                     int64_t first, int64_t n);
/* Runs model over d in batches. observe (may be NULL) sees every node output
 * and, with node NULL, every graph input; after_batch may be NULL. The
 * interpreter honours masks attached by earlier passes, so calibration sees
 * the model as it will be lowered (the weights are not touched). */
ecc_status calib_data_run(ecc_ctx *ctx, ecc_model *model, const calib_data *d,
                          int64_t batch, ecc_observe_fn observe, void *observe_user,
                          calib_batch_fn after_batch, void *batch_user);

/* The first output of runs over calibration data, one row per sample
 * ([rows, cols] floats): a float model's reference and a changed model's
 * output, compared by qc_fidelity. Set samples (the data's) before the run. */
typedef struct calib_out {
    int64_t samples;
    float *y;                /* samples × cols, allocated at the first batch */
    int64_t rows, cols;
} calib_out;
/* after_batch for calib_data_run (user: a calib_out) keeping the first
 * output; an output that is not float32 [N, …] is not kept (y stays NULL). */
ecc_status calib_out_batch(ecc_ctx *ctx, void *user, const ecc_interp *it, int64_t first,
                           int64_t n);
void calib_out_free(calib_out *o);

/* Collects stats (sq, mean, and h when full) of the layers with skip 0 and
 * want[i] (want may be NULL: all). Existing stats are replaced. */
ecc_status calib_collect_stats(ecc_ctx *ctx, ecc_model *model, const calib_data *d,
                               wl_layers *ls, const bool *want, bool full);

#endif
