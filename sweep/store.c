/* store.c — the results of a sweep on disk: DIR/trials.jsonl, one JSON line
 * per trial appended with a single write() on an O_APPEND descriptor and
 * fsynced (a line is whole or absent; a line cut by a crash is skipped when
 * read and never glued to the next), read back keyed by trial, and
 * DIR/trials.csv regenerated from it (atomically). */
#include "sweep.h"
#include "atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STORE_MAX_BYTES (1ll << 30)

char *sweep_path_n(const char *dir, size_t dir_len, const char *name) {
    size_t n = 0;
    if (!ecc_add_size(dir_len, strlen(name), &n) || !ecc_add_size(n, 2, &n)) return NULL;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%.*s/%s", (int)dir_len, dir, name);
    return p;
}

char *sweep_path(const char *dir, const char *name) {
    return sweep_path_n(dir, strlen(dir), name);
}

double sweep_num(const cJSON *o, const char *name) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

const char *sweep_str(const cJSON *o, const char *name) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

bool sweep_ok(const cJSON *o) {
    const char *s = sweep_str(o, "status");
    return s && !strcmp(s, "ok");
}

/* ---------------- appending ---------------- */

/* True when the file is empty or ends in '\n' (else a crash cut its last line). */
static bool ends_whole(int fd) {
    char c = '\n';
    off_t end = lseek(fd, 0, SEEK_END);
    return end <= 0 || (pread(fd, &c, 1, end - 1) == 1 && c == '\n');
}

ecc_status sweep_store_append(ecc_ctx *ctx, const char *dir, const cJSON *line) {
    ecc_status st = ECC_OK;
    char *path = sweep_path(dir, "trials.jsonl"), *text = cJSON_PrintUnformatted(line);
    char *buf = NULL;
    int fd = -1;
    ECC_FAIL_IF(!path || !text, ctx, ECC_E_INTERNAL, "out of memory");
    ecc_ctx_set_subject(ctx, path);
    size_t n = strlen(text), cap;
    ECC_FAIL_IF(!ecc_add_size(n, 3, &cap) || !(buf = malloc(cap)), ctx, ECC_E_INTERNAL,
                "out of memory");
    fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);
    ECC_FAIL_IF(fd < 0, ctx, ECC_E_INTERNAL, "cannot open: %s", strerror(errno));
    size_t off = ends_whole(fd) ? 0 : 1;
    buf[0] = '\n';
    memcpy(buf + off, text, n);
    buf[off + n] = '\n';
    ssize_t w = write(fd, buf, off + n + 1);
    ECC_FAIL_IF(w != (ssize_t)(off + n + 1), ctx, ECC_E_INTERNAL, "cannot append a result: %s",
                w < 0 ? strerror(errno) : "short write");
    ECC_FAIL_IF(fsync(fd) != 0, ctx, ECC_E_INTERNAL, "cannot fsync: %s", strerror(errno));
fail:
    if (fd >= 0 && close(fd) != 0 && !st)
        st = ecc_ctx_error(ctx, ECC_E_INTERNAL, "cannot close: %s", strerror(errno));
    free(buf);
    cJSON_free(text);
    free(path);
    return st;
}

/* ---------------- reading back ---------------- */

static ecc_status read_all(ecc_ctx *ctx, const char *path, char **out, size_t *len) {
    ecc_status st = ECC_OK;
    FILE *fp = NULL;
    int64_t size = 0;
    *out = NULL;
    *len = 0;
    if (access(path, F_OK) != 0 && errno == ENOENT) return ECC_OK; /* nothing run yet */
    ECC_TRY(ecc_input_fopen(ctx, path, &fp, &size));
    ECC_FAIL_IF(size < 0 || size > STORE_MAX_BYTES, ctx, ECC_E_INPUT, "larger than 1 GiB");
    *out = malloc((size_t)size + 1);
    ECC_FAIL_IF(!*out, ctx, ECC_E_INTERNAL, "out of memory");
    *len = fread(*out, 1, (size_t)size, fp);
    (*out)[*len] = 0;
    ECC_FAIL_IF(ferror(fp), ctx, ECC_E_INTERNAL, "cannot read: %s", strerror(errno));
fail:
    if (fp) fclose(fp);
    return st;
}

/* The trial whose key the line names, or -1. */
static long trial_of(const ecc_strmap *keys, const cJSON *o) {
    const char *key = sweep_str(o, "key");
    void *v = key ? ecc_strmap_get(keys, key) : NULL;
    return v ? (long)((uintptr_t)v - 1) : -1;
}

static ecc_status index_keys(ecc_ctx *ctx, const ecc_sweep *sw, ecc_strmap *keys) {
    for (size_t i = 0; i < sw->n_trials; i++)
        if (!ecc_strmap_put(keys, sw->trials[i].key, (void *)(uintptr_t)(i + 1)))
            return ECC_OOM(ctx);
    return ECC_OK;
}

ecc_status sweep_store_load(ecc_ctx *ctx, const ecc_sweep *sw, const char *dir, cJSON **root,
                            const cJSON **res) {
    ecc_status st = ECC_OK;
    char *path = sweep_path(dir, "trials.jsonl"), *text = NULL;
    size_t len = 0;
    ecc_strmap keys = {0};
    *root = cJSON_CreateArray();
    ECC_FAIL_IF(!path || !*root, ctx, ECC_E_INTERNAL, "out of memory");
    memset(res, 0, sw->n_trials * sizeof *res);
    ecc_ctx_set_subject(ctx, path);
    ECC_TRY(read_all(ctx, path, &text, &len));
    ECC_TRY(index_keys(ctx, sw, &keys));
    for (char *line = text; line && line < text + len;) {
        char *nl = memchr(line, '\n', (size_t)(text + len - line));
        size_t n = nl ? (size_t)(nl - line) : (size_t)(text + len - line);
        cJSON *o = nl ? cJSON_ParseWithLength(line, n) : NULL; /* no '\n': cut by a crash */
        long i = o && cJSON_IsObject(o) ? trial_of(&keys, o) : -1;
        if (i >= 0) {
            cJSON_AddItemToArray(*root, o);
            res[i] = o;
        } else {
            cJSON_Delete(o);
        }
        line = nl ? nl + 1 : NULL;
    }
fail:
    ecc_strmap_free(&keys);
    free(text);
    free(path);
    return st;
}

/* ---------------- CSV ---------------- */

enum { C_STR, C_NUM };
static const struct {
    const char *header, *field;
    int kind;
} csv_cols[] = {
    {"trial", NULL, C_NUM},          {"key", "key", C_STR},
    {"status", "status", C_STR},     {"axes", "axes", C_STR},
    {"pipeline", "pipeline", C_STR}, {"onnx_bytes", "onnx_bytes", C_NUM},
    {"ecc_bytes", "ecc_bytes", C_NUM}, {"accuracy", "accuracy", C_NUM},
    {"agreement", "agreement", C_NUM}, {"sqnr_db", "sqnr_db", C_NUM},
    {"latency_b1_ms", "latency_b1_ms", C_NUM}, {"latency_bn_ms", "latency_bn_ms", C_NUM},
    {"latency_batch", "latency_batch", C_NUM}, {"params", "params", C_NUM},
    {"flops", "flops", C_NUM},       {"compress_seconds", "compress_seconds", C_NUM},
    {"exit_code", "exit_code", C_NUM}, {"error", "error", C_STR},
    {"command", "command", C_STR},
};
enum { N_CSV_COLS = sizeof csv_cols / sizeof csv_cols[0] };

static void csv_str(FILE *o, const char *s) {
    if (!s) return;
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, o);
        return;
    }
    fputc('"', o);
    for (; *s; s++) {
        if (*s == '"') fputc('"', o);
        fputc(*s, o);
    }
    fputc('"', o);
}

static void csv_num(FILE *o, double x) {
    if (isnan(x)) return;
    if (x == floor(x) && fabs(x) < 1e15) fprintf(o, "%.0f", x);
    else fprintf(o, "%.6g", x);
}

static void csv_row(FILE *o, size_t i, const cJSON *r) {
    for (size_t c = 0; c < N_CSV_COLS; c++) {
        if (c) fputc(',', o);
        if (!csv_cols[c].field) fprintf(o, "%zu", i + 1);
        else if (csv_cols[c].kind == C_STR) csv_str(o, sweep_str(r, csv_cols[c].field));
        else csv_num(o, sweep_num(r, csv_cols[c].field));
    }
    fputc('\n', o);
}

ecc_status sweep_write_file(ecc_ctx *ctx, const char *dir, const char *name, sweep_body_fn body,
                            const void *arg) {
    ecc_status st = ECC_OK;
    ecc_atomic_file f = {0};
    char *path = sweep_path(dir, name);
    ECC_FAIL_IF(!path, ctx, ECC_E_INTERNAL, "out of memory");
    ECC_TRY(ecc_atomic_open(ctx, path, &f));
    ECC_FAIL_IF(!body(f.fp, arg), ctx, ECC_E_INTERNAL, "%s: out of memory", path);
    ECC_FAIL_IF(ferror(f.fp), ctx, ECC_E_INTERNAL, "cannot write %s: %s", path, strerror(errno));
    ECC_TRY(ecc_atomic_commit(ctx, &f));
fail:
    ecc_atomic_abort(&f);
    free(path);
    return st;
}

typedef struct csv_arg {
    const ecc_sweep *sw;
    const cJSON *const *res;
} csv_arg;

static bool csv_body(FILE *fp, const void *arg) {
    const csv_arg *a = arg;
    for (size_t c = 0; c < N_CSV_COLS; c++) fprintf(fp, "%s%s", c ? "," : "", csv_cols[c].header);
    fputc('\n', fp);
    for (size_t i = 0; i < a->sw->n_trials; i++)
        if (a->res[i]) csv_row(fp, i, a->res[i]);
    return true;
}

ecc_status sweep_store_csv(ecc_ctx *ctx, const ecc_sweep *sw, const char *dir,
                           const cJSON *const *res) {
    csv_arg a = {sw, res};
    return sweep_write_file(ctx, dir, "trials.csv", csv_body, &a);
}
