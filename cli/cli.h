/* cli.h — the `ecc` executable: subcommand table entries and the small
 * argument helpers they share. Uses only the public headers. */
#ifndef ECC_CLI_H
#define ECC_CLI_H

#include "ecc.h"

#include <stdbool.h>

/* Exit codes (README): 0 ok, 1 usage, 2 bad input/unsupported, 3 internal/I-O. */
enum { ECC_EXIT_OK = 0, ECC_EXIT_USAGE = 1, ECC_EXIT_INPUT = 2, ECC_EXIT_INTERNAL = 3 };

typedef struct ecc_cli_cmd {
    const char *name;
    const char *summary;
    const char *usage; /* full help text */
    int (*run)(int argc, char **argv);
} ecc_cli_cmd;

/* Argument cursor over argv[1..]: options may come before or after operands. */
typedef struct ecc_args {
    int argc, i;
    char **argv;
    const char *cmd;
} ecc_args;

/* Next argument, or NULL at the end. Sets *is_opt for "-x"/"--xx" words. */
const char *ecc_args_next(ecc_args *a, bool *is_opt);
/* Value of the option just read ("--opt V" or "--opt=V"); NULL + usage error if missing. */
const char *ecc_args_value(ecc_args *a, const char *opt);
/* Parses an unsigned integer option value; false + usage error when invalid. */
bool ecc_args_u64(const char *cmd, const char *opt, const char *text, uint64_t *out);

/* Prints "ecc: error: MSG" (one line) and returns code. */
int ecc_cli_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints the ctx message as an error; returns the status as exit code. */
int ecc_cli_ctx_fail(ecc_ctx *ctx, ecc_status st);
/* Usage error for cmd: message + hint to run `ecc help CMD`. */
int ecc_cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Checks a model output before any work: refuses the terminal (standard
 * output or the device it is) and --external-data onto a stream. Returns
 * ECC_EXIT_OK or a usage error already printed. */
int ecc_cli_check_model_output(const char *cmd, const char *path, bool external);
/* The output's name in messages: path, or "standard output" for "-". */
const char *ecc_cli_output_name(const char *path);

int ecc_cmd_compress(int argc, char **argv);
int ecc_cmd_inspect(int argc, char **argv);
int ecc_cmd_passes(int argc, char **argv);
int ecc_cmd_run(int argc, char **argv);
int ecc_cmd_eval(int argc, char **argv);
int ecc_cmd_compare(int argc, char **argv);
int ecc_cmd_ops(int argc, char **argv);

extern const char ecc_help_compress[], ecc_help_inspect[], ecc_help_passes[];
extern const char ecc_help_run[], ecc_help_eval[], ecc_help_compare[], ecc_help_ops[];
int ecc_cmd_sensitivity(int argc, char **argv); /* cmd_sensitivity.c */
extern const char ecc_help_sensitivity[];
int ecc_cmd_unpack(int argc, char **argv); /* cmd_unpack.c */
int ecc_cmd_verify(int argc, char **argv); /* cmd_verify.c */
extern const char ecc_help_unpack[], ecc_help_verify[];
int ecc_cmd_sweep(int argc, char **argv); /* cmd_sweep.c */
extern const char ecc_help_sweep[];

/* ---- options shared by run / eval / compare (cmd_run.c) ---- */
#define ECC_CLI_MAX_DATA 16
typedef struct ecc_cli_data {
    const char *paths[ECC_CLI_MAX_DATA]; /* --data, repeatable: one per model input */
    size_t n_paths;
    const char *report;                  /* --report FILE.json */
    ecc_data_options dopts;
    ecc_run_options ropts;
    int verbosity;
} ecc_cli_data;
/* Help text of the shared options (a string literal, for concatenation). */
#define ECC_HELP_DATA_OPTIONS \
    "data:\n" \
    "  --data PATH           samples: .npy, IDX (.gz ok), a .pb TensorProto, a folder of\n" \
    "                        input_K.pb files (ONNX test_data_set) or of PNG/JPEG images\n" \
    "                        (sorted by name); repeat once per model input\n" \
    "  --batch N             samples per run (default 64; a model with a fixed batch\n" \
    "                        dimension runs that many, the last batch zero-padded)\n" \
    "  --threads N           worker threads (default 0 = all cores)\n" \
    "  --limit N             use only the first N samples\n" \
    "  --scale S             uint8 pixels fed to a float input are multiplied by S\n" \
    "                        (default 1/255)\n" \
    "images:\n" \
    "  --resize N            shorter side before the centre crop (default: the larger\n" \
    "                        crop side, nothing when the image already fits)\n" \
    "  --height N --width N  crop size (default: the model input's)\n" \
    "  --channels 1|3        gray or RGB (default: the model input's)\n" \
    "  --layout nchw|nhwc    (default: from the model input's shape)\n" \
    "  --mean A[,B,C]        subtracted per channel after scaling (default 0)\n" \
    "  --std A[,B,C]         divided per channel after the mean (default 1)\n" \
    "other:\n" \
    "  -q, --quiet           no progress bar, errors only\n"

void ecc_cli_data_init(ecc_cli_data *d);
/* Handles option w when it is a shared one: *handled tells; returns an exit
 * code (non-zero after printing a usage error). */
int ecc_cli_data_option(ecc_args *a, const char *w, ecc_cli_data *d, bool *handled);
/* Progress bar on stderr when it is a terminal (and not -q); call with the
 * ecc_run_options progress fields. ecc_cli_progress_end clears the line. */
void ecc_cli_progress(void *user, int64_t done, int64_t total);
void ecc_cli_progress_end(void);

#endif
