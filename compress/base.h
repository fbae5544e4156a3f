/* base.h — internal foundations: the context, error macros, the arena,
 * growable arrays, string maps, the monotonic clock, seeded random streams
 * and checked arithmetic. */
#ifndef ECC_BASE_H
#define ECC_BASE_H

#include "ecc.h"
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define ECC_MSG_MAX 1024
/* The newest ai.onnx opset whose rules ecc knows (ONNX 1.18); a model
 * importing a later one (or one below 1) is refused when read. */
#define ECC_ONNX_OPSET_MAX 23

struct ecc_ctx {
    char subject[512];        /* file (or pass) the current work is about */
    char message[ECC_MSG_MAX];
    char full[ECC_MSG_MAX + 520];
    ecc_status status;
    uint64_t seed;
    int verbosity;
    FILE *log;
};

/* Records "detail" (printf-style) and returns status. */
ecc_status ecc_ctx_error(ecc_ctx *ctx, ecc_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
ecc_status ecc_ctx_verror(ecc_ctx *ctx, ecc_status status, const char *fmt, va_list ap);
void ecc_ctx_set_subject(ecc_ctx *ctx, const char *subject); /* NULL clears */
void ecc_ctx_clear(ecc_ctx *ctx);
/* Logging at a level: 0 normal (hidden by -q), 1 verbose (-v). */
void ecc_log(ecc_ctx *ctx, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Error flow, one `goto fail` per function; needs `ecc_status st` in scope.
 *   ECC_TRY(call)                         forward an error from a call
 *   ECC_FAIL_IF(cond, ctx, code, fmt...)  record an error when cond holds  */
#define ECC_TRY(expr)                                                                    \
    do {                                                                                 \
        st = (expr);                                                                     \
        if (st != ECC_OK) goto fail;                                                     \
    } while (0)
#define ECC_FAIL_IF(cond, ctx, code, ...)                                                \
    do {                                                                                 \
        if (cond) {                                                                      \
            st = ecc_ctx_error((ctx), (code), __VA_ARGS__);                              \
            goto fail;                                                                   \
        }                                                                                \
    } while (0)
#define ECC_OOM(ctx) ecc_ctx_error((ctx), ECC_E_INTERNAL, "out of memory")

/* Copies src into dst (cap bytes, always terminated) with control characters,
 * DEL and bytes that are not valid UTF-8 written as \xNN (ctx.c; every
 * message and log line goes through it). Returns the length written. */
size_t ecc_escape_text(char *dst, size_t cap, const char *src);

/* ---- input files (input_file.c): regular files only, never blocking on a FIFO ----
 * Each sets the error "is a FIFO, not a regular file" (directory, device,
 * socket likewise) or "cannot open: ..." on ctx; the caller sets the subject. */
const char *ecc_file_kind(unsigned mode); /* "a FIFO", ...; NULL for a regular file */
ecc_status ecc_input_check(ecc_ctx *ctx, const char *path); /* stat only (dlopen) */
/* Opens path read-only (blocking, close-on-exec); *size: its size (may be NULL). */
ecc_status ecc_input_open(ecc_ctx *ctx, const char *path, int *fd, int64_t *size);
ecc_status ecc_input_fopen(ecc_ctx *ctx, const char *path, FILE **out, int64_t *size);

/* ---- BLAS threads ---- */
/* BLAS on one thread (ctx.c); returns the setting to put back with
 * ecc_blas_restore. The interpreter's kernels split work over its own pool
 * (OpenBLAS's threads, spinning between calls, would take its cores), and
 * passes run so too: OpenBLAS rounds a product differently when it cuts it
 * over threads, and outputs must not depend on the core count. */
int ecc_blas_single(void);
void ecc_blas_restore(int threads);

/* ---- clock and seeded random streams ---- */
/* Seconds on the monotonic clock: for timings, never for an output. */
static inline double ecc_now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
/* splitmix64: the next value of the stream *state seeds (state advances). */
static inline uint64_t ecc_splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* ---- checked arithmetic (return false on overflow) ---- */
static inline bool ecc_mul_i64(int64_t a, int64_t b, int64_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}
static inline bool ecc_add_i64(int64_t a, int64_t b, int64_t *out) {
    return !__builtin_add_overflow(a, b, out);
}
static inline bool ecc_mul_size(size_t a, size_t b, size_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}
static inline bool ecc_add_size(size_t a, size_t b, size_t *out) {
    return !__builtin_add_overflow(a, b, out);
}

/* ---- arena: bump allocator for graph metadata; freed all at once ---- */
typedef struct ecc_arena ecc_arena;
ecc_arena *ecc_arena_create(void);                 /* NULL on OOM */
void ecc_arena_free(ecc_arena *a);                 /* NULL is a no-op */
void *ecc_arena_alloc(ecc_arena *a, size_t size);  /* zeroed, 16-aligned; NULL on OOM */
char *ecc_arena_strdup(ecc_arena *a, const char *s);          /* NULL in → NULL out */
char *ecc_arena_strndup(ecc_arena *a, const char *s, size_t n);
void *ecc_arena_memdup(ecc_arena *a, const void *p, size_t n);
size_t ecc_arena_used(const ecc_arena *a);

/* ---- growable array of pointers (malloc-backed) ---- */
typedef struct ecc_ptrvec {
    void **items;
    size_t n, cap;
} ecc_ptrvec;
bool ecc_ptrvec_push(ecc_ptrvec *v, void *item); /* false on OOM */
void ecc_ptrvec_remove_at(ecc_ptrvec *v, size_t i); /* keeps order */
void ecc_ptrvec_free(ecc_ptrvec *v);

/* ---- string → pointer map (open addressing, keys borrowed) ---- */
typedef struct ecc_strmap {
    const char **keys;
    void **vals;
    size_t n, cap;
} ecc_strmap;
void *ecc_strmap_get(const ecc_strmap *m, const char *key);
bool ecc_strmap_put(ecc_strmap *m, const char *key, void *val); /* replaces; false on OOM */
void ecc_strmap_del(ecc_strmap *m, const char *key);
void ecc_strmap_free(ecc_strmap *m);

/* Byte string that may contain NULs (ONNX string attributes and tensors). */
typedef struct ecc_bytes {
    uint8_t *data;
    size_t len;
} ecc_bytes;

/* Key/value pair (metadata_props, external_data entries). */
typedef struct ecc_kv {
    const char *key;
    const char *value;
} ecc_kv;

#endif
