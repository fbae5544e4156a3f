/* ctx.c — the ecc_ctx: last error message with its subject, seed,
 * verbosity and the log stream. */
#include "base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ecc_ctx *ecc_ctx_create(void) {
    ecc_ctx *ctx = calloc(1, sizeof *ctx);
    if (ctx) ctx->log = stderr;
    return ctx;
}

void ecc_ctx_free(ecc_ctx *ctx) { free(ctx); }

ecc_status ecc_ctx_verror(ecc_ctx *ctx, ecc_status status, const char *fmt, va_list ap) {
    if (!ctx) return status;
    vsnprintf(ctx->message, sizeof ctx->message, fmt, ap);
    /* messages are one line: fold any newline from data into a space */
    for (char *p = ctx->message; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    ctx->status = status;
    return status;
}

ecc_status ecc_ctx_error(ecc_ctx *ctx, ecc_status status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    ecc_ctx_verror(ctx, status, fmt, ap);
    va_end(ap);
    return status;
}

void ecc_ctx_set_subject(ecc_ctx *ctx, const char *subject) {
    if (!ctx) return;
    snprintf(ctx->subject, sizeof ctx->subject, "%s", subject ? subject : "");
}

void ecc_ctx_clear(ecc_ctx *ctx) {
    if (!ctx) return;
    ctx->message[0] = 0;
    ctx->status = ECC_OK;
}

const char *ecc_ctx_message(const ecc_ctx *ctx) {
    ecc_ctx *c = (ecc_ctx *)ctx;
    if (!c) return "out of memory";
    if (c->subject[0])
        snprintf(c->full, sizeof c->full, "%s: %s", c->subject, c->message);
    else
        snprintf(c->full, sizeof c->full, "%s", c->message);
    return c->full;
}

void ecc_ctx_set_seed(ecc_ctx *ctx, uint64_t seed) { ctx->seed = seed; }
uint64_t ecc_ctx_seed(const ecc_ctx *ctx) { return ctx->seed; }
void ecc_ctx_set_verbosity(ecc_ctx *ctx, int verbosity) { ctx->verbosity = verbosity; }
void ecc_ctx_set_log(ecc_ctx *ctx, FILE *log) { ctx->log = log ? log : stderr; }

void ecc_log(ecc_ctx *ctx, int level, const char *fmt, ...) {
    if (!ctx || ctx->verbosity < level) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(ctx->log, fmt, ap);
    va_end(ap);
    fputc('\n', ctx->log);
}
