/* args.c — argument cursor and error printing shared by the subcommands. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
