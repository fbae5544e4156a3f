/* ecc.h — the public API of libecc: contexts and errors, reading and writing
 * models, the pass registry, pipelines, reports and inspection.
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
} ecc_write_options;
/* Writes atomically: temp file in the target directory, fsync, rename.
 * opts may be NULL (defaults). Never leaves a partial file behind. */
ecc_status ecc_model_write(ecc_ctx *ctx, const ecc_model *model, const char *path,
                           const ecc_write_options *opts);
/* Structural checks: every input defined, no cycles, unique names, tensor sizes. */
ecc_status ecc_model_verify(ecc_ctx *ctx, const ecc_model *model);
/* Human summary (json=false) or JSON document (json=true) to `out`. */
ecc_status ecc_model_inspect(ecc_ctx *ctx, const ecc_model *model, bool json, FILE *out);

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
    uint32_t calib_size;       /* --calib-size */
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

#ifdef __cplusplus
}
#endif
#endif
