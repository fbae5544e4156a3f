/* ctx.c — the ecc_ctx: last error message with its subject, seed,
 * verbosity and the log stream. Every message and log line passes through
 * ecc_escape_text here, the one place text from files (node and tensor
 * names, paths, strings) is made safe for a terminal: control characters and
 * bytes that are not UTF-8 become \xNN, so an ESC, BEL or newline in a name
 * can neither drive the terminal nor split the one-line error. */
#include "base.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at p (2..4), or 0. C1 controls
 * (U+0080..U+009F), overlong forms and surrogates are not valid here. */
static size_t utf8_len(const unsigned char *p) {
    unsigned c = p[0], n = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
    if (c >= 0xf8) return 0;
    unsigned cp = n == 4 ? c & 7 : n == 3 ? c & 15 : c & 31;
    for (unsigned i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if (n == 2 && cp < 0xa0) return 0;                          /* C1 controls */
    if (n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp < 0xe000))) return 0;
    if (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) return 0;
    return n;
}

size_t ecc_escape_text(char *dst, size_t cap, const char *src) {
    const unsigned char *p = (const unsigned char *)src;
    size_t o = 0;
    if (!cap) return 0;
    while (*p) {
        size_t n = *p >= 0x80 ? utf8_len(p) : (*p >= 0x20 && *p != 0x7f);
        if (n) {
            if (o + n >= cap) break;
            memcpy(dst + o, p, n);
            o += n;
            p += n;
        } else {
            if (o + 4 >= cap) break;
            snprintf(dst + o, 5, "\\x%02x", *p++);
            o += 4;
        }
    }
    dst[o] = 0;
    return o;
}

ecc_ctx *ecc_ctx_create(void) {
    ecc_ctx *ctx = calloc(1, sizeof *ctx);
    if (ctx) ctx->log = stderr;
    return ctx;
}

void ecc_ctx_free(ecc_ctx *ctx) { free(ctx); }

ecc_status ecc_ctx_verror(ecc_ctx *ctx, ecc_status status, const char *fmt, va_list ap) {
    if (!ctx) return status;
    char raw[ECC_MSG_MAX];
    vsnprintf(raw, sizeof raw, fmt, ap);
    ecc_escape_text(ctx->message, sizeof ctx->message, raw);
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
    ecc_escape_text(ctx->subject, sizeof ctx->subject, subject ? subject : "");
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

/* One log line, escaped (a line longer than the buffer is cut). */
void ecc_log(ecc_ctx *ctx, int level, const char *fmt, ...) {
    if (!ctx || ctx->verbosity < level) return;
    char raw[4096], safe[4 * sizeof raw];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    ecc_escape_text(safe, sizeof safe, raw);
    fputs(safe, ctx->log);
    fputc('\n', ctx->log);
}

/* ---- BLAS threads ---- */

int ecc_blas_single(void) {
    int before = openblas_get_num_threads();
    openblas_set_num_threads(1);
    return before;
}

void ecc_blas_restore(int threads) {
    if (threads > 0) openblas_set_num_threads(threads);
}
