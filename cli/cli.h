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

int ecc_cmd_compress(int argc, char **argv);
int ecc_cmd_inspect(int argc, char **argv);
int ecc_cmd_passes(int argc, char **argv);

extern const char ecc_help_compress[], ecc_help_inspect[], ecc_help_passes[];

#endif
