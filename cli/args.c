/* args.c — argument cursor, error printing and the model-output check
 * shared by the subcommands. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *ecc_pending_value; /* value after '=' in --opt=value */

const char *ecc_args_next(ecc_args *a, bool *is_opt) {
    static char name[128];
    ecc_pending_value = NULL;
    if (a->i >= a->argc) return NULL;
    const char *w = a->argv[a->i++];
    *is_opt = w[0] == '-' && w[1] != 0;
    if (*is_opt && w[1] == '-') {
        const char *eq = strchr(w, '=');
        if (eq && (size_t)(eq - w) < sizeof name) {
            memcpy(name, w, (size_t)(eq - w));
            name[eq - w] = 0;
            ecc_pending_value = eq + 1;
            return name;
        }
    }
    return w;
}

const char *ecc_args_value(ecc_args *a, const char *opt) {
    if (ecc_pending_value) {
        const char *v = ecc_pending_value;
        ecc_pending_value = NULL;
        return v;
    }
    if (a->i >= a->argc) {
        ecc_cli_usage(a->cmd, "option %s needs a value", opt);
        return NULL;
    }
    return a->argv[a->i++];
}

bool ecc_args_u64(const char *cmd, const char *opt, const char *text, uint64_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (!*text || *end || errno || text[0] == '-') {
        ecc_cli_usage(cmd, "option %s expects a non-negative integer, got '%s'", opt, text);
        return false;
    }
    *out = v;
    return true;
}

int ecc_cli_fail(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("ecc: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

int ecc_cli_ctx_fail(ecc_ctx *ctx, ecc_status st) {
    return ecc_cli_fail((int)st, "%s", ecc_ctx_message(ctx));
}

int ecc_cli_usage(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("ecc: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see 'ecc help %s')\n", cmd ? cmd : "");
    va_end(ap);
    return ECC_EXIT_USAGE;
}

/* True when path names the terminal standard output is. */
static bool ecc_is_stdout_tty(const char *path) {
    struct stat a, b;
    if (!isatty(STDOUT_FILENO)) return false;
    if (!strcmp(path, "-")) return true;
    return stat(path, &a) == 0 && fstat(STDOUT_FILENO, &b) == 0 && a.st_rdev == b.st_rdev &&
           S_ISCHR(a.st_mode) && S_ISCHR(b.st_mode);
}

const char *ecc_cli_output_name(const char *path) {
    return strcmp(path, "-") ? path : "standard output";
}

int ecc_cli_check_model_output(const char *cmd, const char *path, bool external) {
    if (ecc_is_stdout_tty(path))
        return ecc_cli_usage(cmd, "refusing to write a binary model to the terminal; "
                                  "redirect standard output or use -o FILE");
    if (external && ecc_output_is_stream(path))
        return ecc_cli_usage(cmd, "--external-data needs a file output, not the stream %s", path);
    return ECC_EXIT_OK;
}
