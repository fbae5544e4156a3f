/* ecc.h — the public API of libecc: contexts and errors, reading and writing
 * models, the pass registry, pipelines, reports and inspection; running
 * models (datasets, sessions, run/eval/compare, the operator list).
 * Everything here is opaque; ownership is stated on each prototype. */
#ifndef ECC_H
#define ECC_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ECC_VERSION_STRING "0.1.0"

/* Status codes double as the CLI's exit codes. Append-only. */
typedef enum ecc_status {
    ECC_OK = 0,
    ECC_E_USAGE = 1,    /* bad command line, bad pass options */
    ECC_E_INPUT = 2,    /* malformed or unsupported input */
    ECC_E_INTERNAL = 3, /* I/O failure, out of memory, internal error */
} ecc_status;

typedef struct ecc_ctx ecc_ctx;
typedef struct ecc_model ecc_model;
typedef struct ecc_registry ecc_registry;
typedef struct ecc_pipeline ecc_pipeline;
typedef struct ecc_report ecc_report;

/* ---- context: error message, seed, verbosity, log stream ---- */
/* Creates a context; free with ecc_ctx_free. Returns NULL only on OOM. */
ecc_ctx *ecc_ctx_create(void);
void ecc_ctx_free(ecc_ctx *ctx); /* NULL is a no-op */
/* Last error as "SUBJECT: detail" (or "detail"); owned by ctx, valid until the next error. */
const char *ecc_ctx_message(const ecc_ctx *ctx);
void ecc_ctx_set_seed(ecc_ctx *ctx, uint64_t seed);
uint64_t ecc_ctx_seed(const ecc_ctx *ctx);
/* -1 quiet, 0 normal, 1 verbose. Log lines go to `log` (default stderr). */
void ecc_ctx_set_verbosity(ecc_ctx *ctx, int verbosity);
void ecc_ctx_set_log(ecc_ctx *ctx, FILE *log);

/* ---- models ---- */
/* Reads an ONNX file. On success *out is owned by the caller (ecc_model_free).
 * Errors: ECC_E_INPUT for malformed/hostile files, ECC_E_INTERNAL for I/O. */
ecc_status ecc_model_read(ecc_ctx *ctx, const char *path, ecc_model **out);
void ecc_model_free(ecc_model *model); /* NULL is a no-op */

typedef struct ecc_write_options {
    uint32_t struct_size;     /* sizeof(ecc_write_options) */
    bool external_data;       /* store large tensors in a side file */
    uint64_t external_min_bytes; /* tensors at least this big go external (default 1024) */
    const char *external_name;   /* side file name, default "<out basename>.data" */
    uint32_t format;          /* ecc_format: ECC_FORMAT_AUTO picks by extension (".ecc") */
    const char *pipeline;     /* .ecc metadata: the pipeline that produced the model */
    int32_t level;            /* .ecc: zstd level 1..22; 0 = default (12) */
} ecc_write_options;
/* Writes atomically: temp file in the target directory, fsync, rename; the
 * mode of a replaced file and a symlink to it are kept. path "-" (standard
 * output) or a character device or FIFO is written as a stream instead (see
 * ecc_output_is_stream); external data is then refused (ECC_E_USAGE). A
 * directory, block device or socket is refused (ECC_E_USAGE). opts may be
 * NULL (defaults). Never leaves a partial file behind. */
ecc_status ecc_model_write(ecc_ctx *ctx, const ecc_model *model, const char *path,
                           const ecc_write_options *opts);
/* True when an output to path is written as a stream, not through a temp
 * file and a rename: "-" (standard output), or an existing character device
 * or FIFO, also through a symlink (/dev/null, /dev/stdout). */
bool ecc_output_is_stream(const char *path);
/* Renames every tensor but the main graph's inputs and outputs to a short
 * id and drops node names and doc strings (`compress --short-names`). */
ecc_status ecc_model_shorten_names(ecc_ctx *ctx, ecc_model *model);
/* Structural checks: every input defined, no cycles, unique names, tensor sizes. */
ecc_status ecc_model_verify(ecc_ctx *ctx, const ecc_model *model);
/* Human summary (json=false) or JSON document (json=true) to `out`. */
ecc_status ecc_model_inspect(ecc_ctx *ctx, const ecc_model *model, bool json, FILE *out);
/* The share of exact zeros among the float32 weights of rank >= 2 of the
 * main graph (0 when it has none). */
double ecc_model_weight_zeros(const ecc_model *model);

/* ---- registry of passes (built-ins + plugins) ---- */
/* Creates a registry holding every built-in pass; free with ecc_registry_free. */
ecc_status ecc_registry_create(ecc_ctx *ctx, ecc_registry **out);
void ecc_registry_free(ecc_registry *reg); /* unloads plugins; NULL is a no-op */
/* Loads a plugin .so (RTLD_NOW|RTLD_LOCAL) and registers its passes. */
ecc_status ecc_registry_load_plugin(ecc_ctx *ctx, ecc_registry *reg, const char *path);
/* Writes the pass list with options, defaults and bounds (the `ecc passes` text).
 * With name != NULL only that pass; unknown name → ECC_E_USAGE. */
ecc_status ecc_registry_describe(ecc_ctx *ctx, const ecc_registry *reg, const char *name,
                                 FILE *out);

/* ---- pipelines ---- */
/* Parses "name(:key=value)*" joined by ",". Options are validated against each
 * pass's declared types and bounds. *out owned by caller (ecc_pipeline_free). */
ecc_status ecc_pipeline_parse(ecc_ctx *ctx, const ecc_registry *reg, const char *spec,
                              ecc_pipeline **out);
void ecc_pipeline_free(ecc_pipeline *pl); /* NULL is a no-op */

/* What the run environment provides; passes declare what they need. */
typedef struct ecc_run_env {
    uint32_t struct_size;      /* sizeof(ecc_run_env) */
    const char *calib_path;    /* --calib, or NULL */
    uint32_t calib_size;       /* --calib-size; 0: 256 */
    const char *train_path;    /* --train: training data (NULL: --calib) */
    const char *labels_path;   /* --labels: one class index per training sample, or NULL */
} ecc_run_env;
/* Refuses (ECC_E_USAGE, naming the pass and the need) when a need is unmet. */
ecc_status ecc_pipeline_check(ecc_ctx *ctx, const ecc_pipeline *pl, const ecc_run_env *env);
/* Runs every pass in order, then lowers annotations. Timing and statistics of
 * each pass are appended to report (may be NULL). */
ecc_status ecc_pipeline_run(ecc_ctx *ctx, ecc_pipeline *pl, ecc_model *model,
                            const ecc_run_env *env, ecc_report *report);

/* ---- reports (JSON) ---- */
ecc_report *ecc_report_create(void); /* NULL on OOM */
void ecc_report_free(ecc_report *r); /* NULL is a no-op */
void ecc_report_set_string(ecc_report *r, const char *key, const char *value);
void ecc_report_set_number(ecc_report *r, const char *key, double value);
/* Adds the model summary (params, bytes, ops) under key ("input"/"output"). */
void ecc_report_add_model(ecc_report *r, const char *key, const ecc_model *model);
/* Writes the report atomically as pretty JSON. */
ecc_status ecc_report_write(ecc_ctx *ctx, const ecc_report *r, const char *path);

/* =====================================================================
 * Running models (calibrate/): datasets, sessions, run / eval / compare,
 * the operator list. Implemented in calibrate/api.c on top of the CPU
 * interpreter. Every error message names the file it is about
 * ("FILE: detail", see ecc_ctx_message).
 * ===================================================================== */

#define ECC_ARRAY_MAX_RANK 8

/* A dense, C-order, little-endian array (or, when describing a model input
 * or output, just a type and shape: data NULL, dims -1 where symbolic or
 * unknown). The function that fills one says who owns `data`. */
typedef struct ecc_array {
    int32_t dtype;                      /* ONNX element type: 1 float32, 7 int64, … */
    int32_t rank;
    int64_t dims[ECC_ARRAY_MAX_RANK];
    void *data;
    size_t nbytes;
} ecc_array;

/* Name of an ONNX element type ("float32", "int64", …; "dtype(99)" for
 * unknown ids). Static storage. */
const char *ecc_dtype_name(int32_t onnx_id);

/* ---- sessions: a model planned once, run batch after batch ---- */
typedef struct ecc_session ecc_session;
typedef struct ecc_session_options {
    uint32_t struct_size;   /* sizeof(ecc_session_options) */
    int threads;            /* worker threads, 0 = all cores */
    int64_t max_batch;      /* largest batch that will be run; 0 = 64 */
} ecc_session_options;
/* Plans model (opts may be NULL: defaults). An operator without a kernel →
 * ECC_E_INPUT naming the node and op, before anything runs. model must
 * outlive the session. *out owned by the caller (ecc_session_free). */
ecc_status ecc_session_create(ecc_ctx *ctx, const ecc_model *model,
                              const ecc_session_options *opts, ecc_session **out);
void ecc_session_free(ecc_session *s); /* NULL is a no-op */
size_t ecc_session_input_count(const ecc_session *s);
size_t ecc_session_output_count(const ecc_session *s);
/* Name (owned by the model) of graph input / output i (NULL when i is out of
 * range); *shape (may be NULL) receives its type and dims (-1 = symbolic or
 * unknown; rank -1 = no shape information), data NULL. */
const char *ecc_session_input(const ecc_session *s, size_t i, ecc_array *shape);
const char *ecc_session_output(const ecc_session *s, size_t i, ecc_array *shape);
/* Runs one batch: inputs[i] feeds input i (arrays are only read). Types and
 * shapes are checked (ECC_E_INPUT naming the input). When an input has a
 * fixed batch dimension B and the batch is smaller, the batch is zero-padded
 * to B and outputs whose first dimension is B are cut back to the batch. */
ecc_status ecc_session_run(ecc_ctx *ctx, ecc_session *s, const ecc_array *inputs,
                           size_t n_inputs);
/* Output i of the last run as a view owned by the session, valid until the
 * next run or ecc_session_free. */
ecc_status ecc_session_result(ecc_ctx *ctx, const ecc_session *s, size_t i, ecc_array *out);

/* ---- datasets: samples read in batches, never more than asked for ---- */
typedef struct ecc_dataset ecc_dataset;

typedef enum ecc_image_layout {
    ECC_LAYOUT_AUTO = 0,    /* from the model input: NHWC when only the last dim is 1 or 3 */
    ECC_LAYOUT_NCHW = 1,
    ECC_LAYOUT_NHWC = 2,
} ecc_image_layout;

typedef struct ecc_data_options {
    uint32_t struct_size;   /* sizeof(ecc_data_options) */
    int64_t limit;          /* use at most this many samples; 0 = all */
    double scale;           /* uint8 pixels (IDX, images) fed to a float input: x * scale;
                               0 = 1/255 */
    /* images (folders of PNG/JPEG, sorted by file name) */
    int32_t resize;         /* shorter side before the centre crop; 0 = the larger crop
                               side (none when the image already has the crop size) */
    int32_t height, width;  /* crop size; 0 = the model input's */
    int32_t channels;       /* 1 gray, 3 RGB; 0 = the model input's */
    uint8_t layout;         /* ecc_image_layout */
    double mean[3], std[3]; /* (x * scale - mean[c]) / std[c]; std 0 counts as 1 */
} ecc_data_options;

/* Opens n_paths sources that together give one array per model input: a
 * .npy file, an IDX file (plain or .gz), a .pb TensorProto, a folder of
 * input_K.pb files (one per input: the ONNX test_data_set layout; pb tensors
 * named like a model input feed that input), or a folder of PNG/JPEG images.
 * Axis 0 of .npy/IDX/images is the sample axis; .pb tensors are fed whole, in
 * one batch. With bind != NULL, types and shapes are checked against its
 * inputs now (ECC_E_INPUT naming the file): uint8 pixels become the input's
 * float type times opts->scale; a sample shape that differs from the input's
 * is an error unless the reshape is exact (only size-1 dims differ, e.g.
 * N×28×28 into N×1×28×28, or the input is [N, numel]). Without bind arrays
 * come as stored (labels, reference outputs). opts may be NULL.
 * *out owned by the caller (ecc_dataset_free); bind must outlive it. */
ecc_status ecc_dataset_open(ecc_ctx *ctx, const char *const *paths, size_t n_paths,
                            const ecc_session *bind, const ecc_data_options *opts,
                            ecc_dataset **out);
void ecc_dataset_free(ecc_dataset *ds); /* NULL is a no-op */
int64_t ecc_dataset_samples(const ecc_dataset *ds);
size_t ecc_dataset_arrays(const ecc_dataset *ds);   /* arrays per batch (one per input) */
bool ecc_dataset_whole(const ecc_dataset *ds);      /* .pb: one batch of whole tensors */
/* Reads up to max samples into out[0 .. ecc_dataset_arrays()-1] (views owned
 * by ds, valid until the next call); *got = 0 at the end. */
ecc_status ecc_dataset_next_batch(ecc_ctx *ctx, ecc_dataset *ds, int64_t max, ecc_array *out,
                                  int64_t *got);
ecc_status ecc_dataset_rewind(ecc_ctx *ctx, ecc_dataset *ds);

/* ---- run, eval, compare ---- */
/* Progress after each batch (done of total samples). */
typedef void (*ecc_progress_fn)(void *user, int64_t done, int64_t total);

typedef struct ecc_run_options {
    uint32_t struct_size;   /* sizeof(ecc_run_options) */
    int threads;            /* 0 = all cores */
    int64_t batch;          /* samples per run; 0 = 64 */
    ecc_progress_fn progress; /* may be NULL */
    void *progress_user;
} ecc_run_options;

/* Runs model over the data and writes out_dir/<output>.npy for every output
 * (outputs of all batches concatenated on axis 0; characters outside
 * [A-Za-z0-9._-] in a name become '_'). out_dir is created if missing. Each
 * file is written atomically; on error none is left behind. Options may be
 * NULL. */
ecc_status ecc_run_to_npy(ecc_ctx *ctx, const ecc_model *model, const char *const *data,
                          size_t n_data, const ecc_data_options *dopts,
                          const ecc_run_options *ropts, const char *out_dir);

#define ECC_EVAL_MAX_TOPK 8
typedef struct ecc_eval_result {
    int64_t samples;
    double accuracy;                      /* top-1, 0..1 */
    size_t n_topk;
    int32_t topk[ECC_EVAL_MAX_TOPK];      /* the k asked for */
    double topk_accuracy[ECC_EVAL_MAX_TOPK];
    double seconds;
    char output[256];                     /* the [N, classes] output scored */
} ecc_eval_result;
/* Classification accuracy against labels (.npy int64/int32/uint8 or IDX1:
 * one label per sample). The first output of shape [N, classes] is scored
 * (ties: the lowest class index wins, as argmax). A label count that differs
 * from the sample count, or a label outside [0, classes) → ECC_E_INPUT naming
 * the labels file. topk may be NULL (top-1 only); at most ECC_EVAL_MAX_TOPK. */
ecc_status ecc_eval(ecc_ctx *ctx, const ecc_model *model, const char *const *data,
                    size_t n_data, const char *labels, const ecc_data_options *dopts,
                    const ecc_run_options *ropts, const int32_t *topk, size_t n_topk,
                    ecc_eval_result *out);
/* Writes {"model", "data", "labels", "output", "accuracy", "samples",
 * "topk": {"1": …, "5": …}, "seconds"} atomically as JSON. */
ecc_status ecc_eval_write_report(ecc_ctx *ctx, const ecc_eval_result *r, const char *model,
                                 const char *data, const char *labels, const char *path);

typedef struct ecc_output_diff {
    char name[256];         /* output name in A (and B when B names it differently: name_b) */
    char name_b[256];
    int64_t elements;
    double max_abs;         /* max |a - b| (inf when NaNs do not line up) */
    double scale;           /* max |a|: max_abs / scale is the error relative to the output */
    double mean_rel;        /* mean of |a - b| / max(|a|, |b|) (0 where both are 0) */
    double max_rel;
    double cosine;          /* 1 when both are all zero */
    double sqnr_db;         /* 10 log10(sum a² / sum (a-b)²); inf when identical */
    int64_t top1_rows;      /* rows compared by argmax over the last axis (0: n/a) */
    int64_t top1_agree;
} ecc_output_diff;
typedef struct ecc_comparison ecc_comparison;
/* Compares A and B output by output (paired by name, else by position). Each
 * of a and b is a model (.onnx, run on data), a .npy file or a folder of .npy
 * files (reference outputs, e.g. from `ecc run` or ONNX Runtime; rows are
 * matched with the data's samples). data is needed when a model is compared
 * and ignored otherwise. *out owned by the caller (ecc_comparison_free). */
ecc_status ecc_compare(ecc_ctx *ctx, const char *a, const char *b, const char *const *data,
                       size_t n_data, const ecc_data_options *dopts,
                       const ecc_run_options *ropts, ecc_comparison **out);
void ecc_comparison_free(ecc_comparison *c); /* NULL is a no-op */
size_t ecc_comparison_count(const ecc_comparison *c);
const ecc_output_diff *ecc_comparison_output(const ecc_comparison *c, size_t i); /* owned by c */
int64_t ecc_comparison_samples(const ecc_comparison *c);
double ecc_comparison_seconds(const ecc_comparison *c);
/* Writes {"a", "b", "samples", "seconds", "outputs": [{…per output…}]}
 * atomically as JSON (inf as null). */
ecc_status ecc_comparison_write_report(ecc_ctx *ctx, const ecc_comparison *c, const char *a,
                                       const char *b, const char *path);

/* ---- operators ---- */
/* The operators the interpreter runs, with element types and the opsets their
 * kernels start at: text table, or a JSON document (json=true), to out. */
ecc_status ecc_ops_describe(ecc_ctx *ctx, bool json, FILE *out);

/* =====================================================================
 * Pruning sensitivity (passes/sensitivity.c): each weight layer the
 * `prune` pass would select is pruned alone at several sparsities; the
 * model runs on data and its first output is compared with the dense
 * model's. `prune:scope=auto` allocates per-layer sparsity from the same
 * measurements.
 * ===================================================================== */
typedef struct ecc_sensitivity ecc_sensitivity;
typedef struct ecc_sensitivity_options {
    uint32_t struct_size;   /* sizeof(ecc_sensitivity_options) */
    const char *pass;       /* one `prune` invocation whose method, pattern and layer
                               selection are used, e.g. "prune:method=wanda"; NULL = "prune".
                               An N:M pattern is measured once, at its own sparsity. */
    const double *levels;   /* sparsities in [0, 0.99]; NULL = 0.3 0.5 0.7 0.8 0.9 */
    size_t n_levels;        /* at most 32 */
    const char *labels;     /* labels file (as ecc_eval) for accuracy, or NULL */
    int64_t limit;          /* samples of data used; 0 = all */
} ecc_sensitivity_options;
/* Measures on data (one path, read like ecc_dataset_open). model is used as
 * scratch: weights in Constant nodes of measured layers become initializers;
 * every weight is restored. Bad options → ECC_E_USAGE quoting what is allowed.
 * *out owned by the caller (ecc_sensitivity_free). */
ecc_status ecc_sensitivity_run(ecc_ctx *ctx, const ecc_registry *reg, ecc_model *model,
                               const char *data, const ecc_sensitivity_options *opts,
                               ecc_sensitivity **out);
void ecc_sensitivity_free(ecc_sensitivity *s); /* NULL is a no-op */
size_t ecc_sensitivity_layer_count(const ecc_sensitivity *s);
size_t ecc_sensitivity_level_count(const ecc_sensitivity *s);
double ecc_sensitivity_level(const ecc_sensitivity *s, size_t j);
/* Dense accuracy (0..1), NaN without labels. */
double ecc_sensitivity_dense_accuracy(const ecc_sensitivity *s);
/* Name of layer i (owned by s); *params its weights; *skipped (may be NULL)
 * why it was not measured, or NULL. */
const char *ecc_sensitivity_layer(const ecc_sensitivity *s, size_t i, int64_t *params,
                                  const char **skipped);
/* Layer i at level j: relative squared output error Σ(y-y0)²/Σy0², top-1
 * agreement with the dense model and accuracy (NaN without labels). False
 * when the layer was skipped. Any out pointer may be NULL. */
bool ecc_sensitivity_cell(const ecc_sensitivity *s, size_t layer, size_t level, double *error,
                          double *agreement, double *accuracy);
/* A table (json=false) or the JSON document (json=true) to out. */
ecc_status ecc_sensitivity_write(ecc_ctx *ctx, const ecc_sensitivity *s, bool json, FILE *out);
/* The JSON document written atomically to path. */
ecc_status ecc_sensitivity_write_report(ecc_ctx *ctx, const ecc_sensitivity *s,
                                        const char *path);

/* =====================================================================
 * The .ecc deployment artifact (formats/artifact/; the format is specified
 * in formats/artifact/artifact.h and docs/artifact.md). ecc_model_read
 * recognises an artifact by its magic bytes and restores the ONNX model
 * (QDQ); ecc_model_write writes one when opts->format is ECC_FORMAT_ECC, or
 * ECC_FORMAT_AUTO (or opts NULL) and the path ends in ".ecc". Embedded code
 * reads artifacts with formats/artifact/ecc_load.h (C99 + libzstd).
 * ===================================================================== */

typedef enum ecc_format {
    ECC_FORMAT_AUTO = 0,  /* writing: by extension; reading: by magic bytes */
    ECC_FORMAT_ONNX = 1,
    ECC_FORMAT_ECC = 2,
} ecc_format;

/* Format of an existing file by its first bytes: ECC_FORMAT_ECC for an
 * artifact, ECC_FORMAT_ONNX otherwise (also when it cannot be read). */
ecc_format ecc_file_format(const char *path);

typedef struct ecc_artifact_read_options {
    uint32_t struct_size;   /* sizeof(ecc_artifact_read_options) */
    bool dequantize;        /* quantized weights become float32 initializers (their
                               DequantizeLinear folded) instead of QDQ */
} ecc_artifact_read_options;
/* Reads an artifact and restores the ONNX model (opts may be NULL: QDQ).
 * Checksums, bounds and payloads are checked: corrupt or truncated input →
 * ECC_E_INPUT naming the file and the entry. *out owned by the caller
 * (ecc_model_free). */
ecc_status ecc_artifact_read(ecc_ctx *ctx, const char *path,
                             const ecc_artifact_read_options *opts, ecc_model **out);
/* Everything ecc_artifact_read checks, plus that the bytes between frames
 * are zero. Writes a summary to out (may be NULL). */
ecc_status ecc_artifact_verify(ecc_ctx *ctx, const char *path, FILE *out);
/* Sections and tensors with encodings, bytes and ratios: text, or a JSON
 * document (json=true), to out. */
ecc_status ecc_artifact_inspect(ecc_ctx *ctx, const char *path, bool json, FILE *out);

#ifdef __cplusplus
}
#endif
#endif
