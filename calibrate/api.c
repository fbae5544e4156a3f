/* api.c — the public "running models" API (ecc.h): sessions over the
 * interpreter (with zero padding for fixed batch dimensions), `run` into
 * .npy files, `eval` against labels with top-k, `compare` of two models or
 * reference outputs with error statistics, JSON reports, and the operator
 * list from the kernel table. Batches are streamed: nothing holds more than
 * one batch of data and outputs at a time. */
#include "atomic.h"
#include "data.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DEFAULT_BATCH 64

_Static_assert(ECC_ARRAY_MAX_RANK == ECC_MAX_RANK, "ecc_array and ecc_rt_tensor ranks agree");

/* Copies the caller's options struct (which may be older/smaller). */
#define COPY_OPTS(dst, src)                                                              \
    do {                                                                                 \
        if (src)                                                                         \
            memcpy(&(dst), (src),                                                        \
                   (src)->struct_size < sizeof(dst) ? (src)->struct_size : sizeof(dst)); \
        (dst).struct_size = sizeof(dst);                                                 \
    } while (0)

/* ================= sessions ================= */

struct ecc_session {
    ecc_interp *it;
    const ecc_model *model;
    size_t n_in, n_out;
    ecc_rt_tensor *rt;      /* n_in, the arrays of the current run */
    uint8_t **pad;          /* per input: zero-padded copy when the batch is short */
    size_t *pad_cap;
    int64_t pad_valid, pad_to; /* last run padded valid rows to pad_to (0: not padded) */
};

ecc_status ecc_session_create(ecc_ctx *ctx, const ecc_model *model,
                              const ecc_session_options *opts, ecc_session **out) {
    ecc_status st = ECC_OK;
    ecc_session_options o = {sizeof o};
    ecc_session *s = NULL;
    *out = NULL;
    COPY_OPTS(o, opts);
    if (model->path) ecc_ctx_set_subject(ctx, model->path);
    ECC_FAIL_IF(o.threads < 0 || o.max_batch < 0, ctx, ECC_E_USAGE,
                "threads and max_batch must not be negative");
    s = calloc(1, sizeof *s);
    ECC_FAIL_IF(!s, ctx, ECC_E_INTERNAL, "out of memory");
    s->model = model;
    ecc_interp_options io = {sizeof io, o.threads, o.max_batch ? o.max_batch : DEFAULT_BATCH,
                             NULL, NULL, NULL};
    ECC_TRY(ecc_interp_create(ctx, model, &io, &s->it));
    s->n_in = ecc_interp_input_count(s->it);
    s->n_out = ecc_interp_output_count(s->it);
    s->rt = calloc(s->n_in + 1, sizeof *s->rt);
    s->pad = calloc(s->n_in + 1, sizeof *s->pad);
    s->pad_cap = calloc(s->n_in + 1, sizeof *s->pad_cap);
    ECC_FAIL_IF(!s->rt || !s->pad || !s->pad_cap, ctx, ECC_E_INTERNAL, "out of memory");
    *out = s;
    return ECC_OK;
fail:
    ecc_session_free(s);
    return st;
}

void ecc_session_free(ecc_session *s) {
    if (!s) return;
    ecc_interp_free(s->it);
    for (size_t i = 0; s->pad && i < s->n_in; i++) free(s->pad[i]);
    free(s->pad);
    free(s->pad_cap);
    free(s->rt);
    free(s);
}

size_t ecc_session_input_count(const ecc_session *s) { return s->n_in; }
size_t ecc_session_output_count(const ecc_session *s) { return s->n_out; }

static const char *value_shape(const ecc_value *v, ecc_array *shape) {
    if (!shape) return v->name;
    memset(shape, 0, sizeof *shape);
    shape->dtype = v->dtype;
    shape->rank = v->rank > ECC_MAX_RANK ? ECC_MAX_RANK : v->rank;
    for (int32_t i = 0; i < shape->rank; i++)
        shape->dims[i] = v->dims[i].value >= 0 ? v->dims[i].value : -1;
    return v->name;
}

const char *ecc_session_input(const ecc_session *s, size_t i, ecc_array *shape) {
    return i < s->n_in ? value_shape(ecc_interp_input(s->it, i), shape) : NULL;
}

const char *ecc_session_output(const ecc_session *s, size_t i, ecc_array *shape) {
    return i < s->n_out ? value_shape(ecc_interp_output(s->it, i), shape) : NULL;
}

/* The fixed batch dimension of the model's inputs (0: none/symbolic). */
static int64_t session_fixed_batch(const ecc_session *s) {
    ecc_array sh;
    for (size_t i = 0; i < s->n_in; i++) {
        ecc_session_input(s, i, &sh);
        if (sh.rank >= 1 && sh.dims[0] > 0) return sh.dims[0];
    }
    return 0;
}

static void array_to_rt(const ecc_array *a, ecc_rt_tensor *t) {
    memset(t, 0, sizeof *t);
    t->dtype = a->dtype;
    t->rank = a->rank;
    memcpy(t->dims, a->dims, sizeof t->dims);
    t->data = a->data;
    t->nbytes = a->nbytes;
}

/* Zero-pads input i from rows valid to fixed rows (when its batch is short). */
static ecc_status pad_input(ecc_ctx *ctx, ecc_session *s, size_t i, int64_t fixed) {
    ecc_rt_tensor *t = &s->rt[i];
    size_t row = t->dims[0] > 0 ? t->nbytes / (size_t)t->dims[0] : 0, need;
    if (!ecc_mul_size(row, (size_t)fixed, &need))
        return ecc_ctx_error(ctx, ECC_E_INPUT, "padded batch size overflows");
    if (need > s->pad_cap[i]) {
        uint8_t *p = realloc(s->pad[i], need);
        if (!p) return ECC_OOM(ctx);
        s->pad[i] = p;
        s->pad_cap[i] = need;
    }
    memcpy(s->pad[i], t->data, t->nbytes);
    memset(s->pad[i] + t->nbytes, 0, need - t->nbytes);
    t->data = s->pad[i];
    t->nbytes = need;
    t->dims[0] = fixed;
    return ECC_OK;
}

/* Pads every input whose model batch dimension is fixed and larger than the batch. */
static ecc_status pad_short_batch(ecc_ctx *ctx, ecc_session *s) {
    ecc_status st = ECC_OK;
    ecc_array sh;
    s->pad_valid = s->pad_to = 0;
    for (size_t i = 0; i < s->n_in; i++) {
        ecc_rt_tensor *t = &s->rt[i];
        const char *name = ecc_session_input(s, i, &sh);
        if (sh.rank < 1 || t->rank != sh.rank || sh.dims[0] <= 0 || t->dims[0] >= sh.dims[0])
            continue;
        ECC_FAIL_IF(s->pad_to && (s->pad_to != sh.dims[0] || s->pad_valid != t->dims[0]), ctx,
                    ECC_E_INPUT, "input '%s': inputs disagree on the batch size", name);
        ECC_FAIL_IF(ecc_dtype_get(t->dtype) && ecc_dtype_get(t->dtype)->bits < 8, ctx,
                    ECC_E_INPUT, "input '%s': a sub-byte batch cannot be padded", name);
        s->pad_valid = t->dims[0];
        s->pad_to = sh.dims[0];
        ECC_TRY(pad_input(ctx, s, i, sh.dims[0]));
    }
fail:
    return st;
}

ecc_status ecc_session_run(ecc_ctx *ctx, ecc_session *s, const ecc_array *inputs,
                           size_t n_inputs) {
    ecc_status st = ECC_OK;
    if (s->model->path) ecc_ctx_set_subject(ctx, s->model->path);
    ECC_FAIL_IF(n_inputs != s->n_in, ctx, ECC_E_INPUT, "the model has %zu input(s), %zu given",
                s->n_in, n_inputs);
    for (size_t i = 0; i < n_inputs; i++) {
        ECC_FAIL_IF(inputs[i].rank < 0 || inputs[i].rank > ECC_MAX_RANK, ctx, ECC_E_INPUT,
                    "input '%s': rank %d is out of range", ecc_session_input(s, i, NULL),
                    (int)inputs[i].rank);
        array_to_rt(&inputs[i], &s->rt[i]);
    }
    ECC_TRY(pad_short_batch(ctx, s));
    ECC_TRY(ecc_interp_run(ctx, s->it, s->rt, s->n_in));
fail:
    return st;
}

ecc_status ecc_session_result(ecc_ctx *ctx, const ecc_session *s, size_t i, ecc_array *out) {
    const ecc_rt_tensor *t = i < s->n_out ? ecc_interp_result(s->it, i) : NULL;
    if (!t) return ecc_ctx_error(ctx, ECC_E_INTERNAL, "no result for output %zu", i);
    memset(out, 0, sizeof *out);
    out->dtype = t->dtype;
    out->rank = t->rank;
    memcpy(out->dims, t->dims, sizeof out->dims);
    out->data = t->data;
    out->nbytes = t->nbytes;
    if (s->pad_to && t->rank >= 1 && t->dims[0] == s->pad_to) {
        out->nbytes = t->nbytes / (size_t)s->pad_to * (size_t)s->pad_valid;
        out->dims[0] = s->pad_valid;
    }
    return ECC_OK;
}

/* ================= runner: dataset → session, batch by batch ================= */

typedef struct runner {
    ecc_session *s;
    ecc_dataset *ds;
    ecc_array *in;          /* one per input */
    int64_t batch, done;
    ecc_run_options ro;
} runner;

static ecc_status runner_open(ecc_ctx *ctx, runner *r, const ecc_model *model,
                              const char *const *data, size_t n_data,
                              const ecc_data_options *dopts, const ecc_run_options *ropts) {
    ecc_status st = ECC_OK;
    memset(r, 0, sizeof *r);
    COPY_OPTS(r->ro, ropts);
    ECC_FAIL_IF(r->ro.batch < 0, ctx, ECC_E_USAGE, "batch must be at least 1");
    r->batch = r->ro.batch ? r->ro.batch : DEFAULT_BATCH;
    ecc_session_options so = {sizeof so, r->ro.threads, r->batch};
    ECC_TRY(ecc_session_create(ctx, model, &so, &r->s));
    int64_t fixed = session_fixed_batch(r->s);
    if (fixed) r->batch = fixed; /* short batches are zero-padded by the session */
    ECC_TRY(ecc_dataset_open(ctx, data, n_data, r->s, dopts, &r->ds));
    r->in = calloc(ecc_dataset_arrays(r->ds) + 1, sizeof *r->in);
    ECC_FAIL_IF(!r->in, ctx, ECC_E_INTERNAL, "out of memory");
fail:
    return st;
}

static void runner_close(runner *r) {
    ecc_dataset_free(r->ds);
    ecc_session_free(r->s);
    free(r->in);
    memset(r, 0, sizeof *r);
}

/* Reads and runs the next batch; *n = its samples (0 at the end). */
static ecc_status runner_next(ecc_ctx *ctx, runner *r, int64_t *n) {
    ecc_status st = ECC_OK;
    ECC_TRY(ecc_dataset_next_batch(ctx, r->ds, r->batch, r->in, n));
    if (*n == 0) return ECC_OK;
    ECC_TRY(ecc_session_run(ctx, r->s, r->in, ecc_dataset_arrays(r->ds)));
    r->done += *n;
    if (r->ro.progress) r->ro.progress(r->ro.progress_user, r->done, ecc_dataset_samples(r->ds));
fail:
    return st;
}

/* Output `name` of a batch of n samples must have the batch as its first axis
 * to be concatenated or matched with other batches. */
static ecc_status check_batched(ecc_ctx *ctx, const runner *r, const char *name,
                                const ecc_array *a, int64_t n) {
    if (ecc_dataset_whole(r->ds) || ecc_dataset_samples(r->ds) <= r->batch) return ECC_OK;
    if (a->rank >= 1 && a->dims[0] == n) return ECC_OK;
    return ecc_ctx_error(ctx, ECC_E_INPUT,
                         "output '%s' does not have the batch as its first axis, so batches "
                         "cannot be joined: use a batch of at least %lld",
                         name, (long long)ecc_dataset_samples(r->ds));
}

/* ================= run → .npy ================= */

static void safe_name(const char *name, char *out, size_t cap) {
    size_t n = 0;
    if (!strcmp(name, "") || !strcmp(name, ".") || !strcmp(name, "..")) out[n++] = '_';
    for (const char *p = name; *p && n + 1 < cap; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        out[n++] = ok ? c : '_';
    }
    out[n] = 0;
}

static ecc_status make_dir(ecc_ctx *ctx, const char *dir) {
    struct stat sb;
    if (stat(dir, &sb) == 0) {
        if (S_ISDIR(sb.st_mode)) return ECC_OK;
        ecc_ctx_set_subject(ctx, dir);
        return ecc_ctx_error(ctx, ECC_E_INTERNAL, "exists and is not a directory");
    }
    if (mkdir(dir, 0777) == 0) return ECC_OK;
    ecc_ctx_set_subject(ctx, dir);
    return ecc_ctx_error(ctx, ECC_E_INTERNAL, "cannot create the directory: %s", strerror(errno));
}

/* out_dir/<safe name>.npy, made unique with '_' suffixes among the first n files. */
static ecc_status output_path(ecc_ctx *ctx, const char *dir, const char *name, char **paths,
                              size_t n, char **out) {
    char base[300];
    safe_name(name, base, sizeof base - 40);
    size_t len = strlen(dir) + strlen(base) + 64;
    char *p = malloc(len);
    if (!p) return ECC_OOM(ctx);
    for (;;) {
        snprintf(p, len, "%s/%s.npy", dir, base);
        bool dup = false;
        for (size_t i = 0; i < n; i++) dup = dup || !strcmp(paths[i], p);
        if (!dup || strlen(base) + 2 >= sizeof base - 40) break;
        strcat(base, "_");
    }
    *out = p;
    return ECC_OK;
}

typedef struct npy_outputs {
    ecc_npy_writer **w;
    char **paths;
    size_t n;
} npy_outputs;

static void npy_outputs_free(npy_outputs *o, bool abort) {
    for (size_t i = 0; i < o->n; i++) {
        if (abort) ecc_npy_writer_abort(o->w[i]);
        free(o->paths[i]);
    }
    free(o->w);
    free(o->paths);
}

static ecc_status npy_outputs_open(ecc_ctx *ctx, npy_outputs *o, const ecc_session *s,
                                   const char *dir) {
    ecc_status st = ECC_OK;
    size_t n = ecc_session_output_count(s);
    o->w = calloc(n + 1, sizeof *o->w);
    o->paths = calloc(n + 1, sizeof *o->paths);
    ECC_FAIL_IF(!o->w || !o->paths, ctx, ECC_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        ECC_TRY(output_path(ctx, dir, ecc_session_output(s, i, NULL), o->paths, i, &o->paths[i]));
        o->n = i + 1;
        ECC_TRY(ecc_npy_writer_open(ctx, o->paths[i], &o->w[i]));
    }
fail:
    return st;
}

ecc_status ecc_run_to_npy(ecc_ctx *ctx, const ecc_model *model, const char *const *data,
                          size_t n_data, const ecc_data_options *dopts,
                          const ecc_run_options *ropts, const char *out_dir) {
    ecc_status st = ECC_OK;
    runner r;
    npy_outputs o = {0};
    int64_t n;
    ECC_TRY(runner_open(ctx, &r, model, data, n_data, dopts, ropts));
    ECC_TRY(make_dir(ctx, out_dir));
    ECC_TRY(npy_outputs_open(ctx, &o, r.s, out_dir));
    for (;;) {
        ECC_TRY(runner_next(ctx, &r, &n));
        if (n == 0) break;
        for (size_t i = 0; i < o.n; i++) {
            ecc_array a;
            ecc_rt_tensor t;
            ECC_TRY(ecc_session_result(ctx, r.s, i, &a));
            if (model->path) ecc_ctx_set_subject(ctx, model->path);
            ECC_TRY(check_batched(ctx, &r, ecc_session_output(r.s, i, NULL), &a, n));
            array_to_rt(&a, &t);
            ECC_TRY(ecc_npy_writer_append(ctx, o.w[i], &t));
        }
    }
    for (size_t i = 0; i < o.n; i++) {
        ecc_npy_writer *w = o.w[i];
        o.w[i] = NULL;
        ECC_TRY(ecc_npy_writer_commit(ctx, w));
    }
fail:
    npy_outputs_free(&o, st != ECC_OK);
    runner_close(&r);
    return st;
}

/* ================= element access ================= */

typedef double (*get_fn)(const void *p, size_t i);
static double get_f32(const void *p, size_t i) { return ((const float *)p)[i]; }
static double get_f64(const void *p, size_t i) { return ((const double *)p)[i]; }
static double get_f16(const void *p, size_t i) { return ecc_f16_to_f32(((const uint16_t *)p)[i]); }
static double get_bf16(const void *p, size_t i) { return ecc_bf16_to_f32(((const uint16_t *)p)[i]); }
static double get_i8(const void *p, size_t i) { return ((const int8_t *)p)[i]; }
static double get_u8(const void *p, size_t i) { return ((const uint8_t *)p)[i]; }
static double get_i16(const void *p, size_t i) { return ((const int16_t *)p)[i]; }
static double get_u16(const void *p, size_t i) { return ((const uint16_t *)p)[i]; }
static double get_i32(const void *p, size_t i) { return ((const int32_t *)p)[i]; }
static double get_u32(const void *p, size_t i) { return ((const uint32_t *)p)[i]; }
static double get_i64(const void *p, size_t i) { return (double)((const int64_t *)p)[i]; }
static double get_u64(const void *p, size_t i) { return (double)((const uint64_t *)p)[i]; }

static const struct {
    int32_t dtype;
    get_fn get;
} getters[] = {
    {ECC_DTYPE_FLOAT, get_f32}, {ECC_DTYPE_DOUBLE, get_f64}, {ECC_DTYPE_FLOAT16, get_f16},
    {ECC_DTYPE_BFLOAT16, get_bf16}, {ECC_DTYPE_INT8, get_i8}, {ECC_DTYPE_UINT8, get_u8},
    {ECC_DTYPE_BOOL, get_u8}, {ECC_DTYPE_INT16, get_i16}, {ECC_DTYPE_UINT16, get_u16},
    {ECC_DTYPE_INT32, get_i32}, {ECC_DTYPE_UINT32, get_u32}, {ECC_DTYPE_INT64, get_i64},
    {ECC_DTYPE_UINT64, get_u64},
};

static get_fn getter_of(int32_t dtype) {
    for (size_t i = 0; i < sizeof getters / sizeof getters[0]; i++)
        if (getters[i].dtype == dtype) return getters[i].get;
    return NULL;
}

static int64_t array_numel(const ecc_array *a) {
    int64_t n = 1;
    for (int32_t i = 0; i < a->rank; i++) n *= a->dims[i];
    return n;
}

/* ================= eval ================= */

typedef struct eval_state {
    runner r;
    ecc_dataset *labels;
    ecc_array lab;
    int64_t *correct;       /* per k */
    size_t out_index;
    bool picked;
    int64_t classes;
} eval_state;

static ecc_status open_labels(ecc_ctx *ctx, eval_state *e, const char *path,
                              const ecc_data_options *dopts) {
    ecc_status st = ECC_OK;
    ecc_data_options lo = {sizeof lo};
    lo.limit = dopts ? dopts->limit : 0;
    ECC_TRY(ecc_dataset_open(ctx, &path, 1, NULL, &lo, &e->labels));
    ecc_ctx_set_subject(ctx, path);
    ECC_FAIL_IF(ecc_dataset_arrays(e->labels) != 1 || ecc_dataset_whole(e->labels), ctx,
                ECC_E_INPUT, "labels must be one array with one label per sample");
    /* peek the type with an empty read: type and shape come from the first batch */
    int64_t data_n = ecc_dataset_samples(e->r.ds), lab_n = ecc_dataset_samples(e->labels);
    ECC_FAIL_IF(lab_n != data_n, ctx, ECC_E_INPUT, "%lld labels for %lld samples",
                (long long)lab_n, (long long)data_n);
fail:
    return st;
}

/* The first output of shape [N, classes] (model shape, else this batch's). */
static ecc_status pick_output(ecc_ctx *ctx, eval_state *e, int64_t n) {
    ecc_status st = ECC_OK;
    for (size_t i = 0; i < ecc_session_output_count(e->r.s); i++) {
        ecc_array a;
        ECC_TRY(ecc_session_result(ctx, e->r.s, i, &a));
        if (a.rank == 2 && a.dims[0] == n && a.dims[1] > 1 && getter_of(a.dtype)) {
            e->out_index = i;
            e->classes = a.dims[1];
            e->picked = true;
            return ECC_OK;
        }
    }
    ECC_FAIL_IF(true, ctx, ECC_E_INPUT, "no output of shape [N, classes] to score");
fail:
    return st;
}

static ecc_status label_at(ecc_ctx *ctx, const ecc_array *lab, int64_t i, int64_t classes,
                           int64_t sample, int64_t *out) {
    get_fn get = getter_of(lab->dtype);
    const ecc_dtype_traits *tr = ecc_dtype_get(lab->dtype);
    if (!get || !tr || (tr->dclass != ECC_DC_SINT && tr->dclass != ECC_DC_UINT))
        return ecc_ctx_error(ctx, ECC_E_INPUT, "labels must be integers, not %s",
                             ecc_dtype_name(lab->dtype));
    double v = get(lab->data, (size_t)i);
    if (!(v >= 0 && v < (double)classes))
        return ecc_ctx_error(ctx, ECC_E_INPUT, "label %.0f of sample %lld is outside [0, %lld)",
                             v, (long long)sample, (long long)classes);
    *out = (int64_t)v;
    return ECC_OK;
}

/* Rank of the label's score in its row: classes scoring higher, ties before it. */
static int64_t label_rank(get_fn get, const void *row, size_t base, int64_t classes,
                          int64_t label) {
    double lv = get(row, base + (size_t)label);
    int64_t rank = 0;
    for (int64_t c = 0; c < classes; c++) {
        double v = get(row, base + (size_t)c);
        if (v > lv || (v == lv && c < label) || (isnan(lv) && c != label)) rank++;
    }
    return rank;
}

static ecc_status score_batch(ecc_ctx *ctx, eval_state *e, int64_t n, const char *labels_path,
                              const ecc_eval_result *res) {
    ecc_status st = ECC_OK;
    ecc_array out;
    int64_t got;
    ECC_TRY(ecc_dataset_next_batch(ctx, e->labels, n, &e->lab, &got));
    ecc_ctx_set_subject(ctx, labels_path);
    ECC_FAIL_IF(got != n || array_numel(&e->lab) != n, ctx, ECC_E_INPUT,
                "labels must have one value per sample (shape [N] or [N,1])");
    if (!e->picked) ECC_TRY(pick_output(ctx, e, n));
    ECC_TRY(ecc_session_result(ctx, e->r.s, e->out_index, &out));
    ECC_FAIL_IF(out.rank != 2 || out.dims[0] != n || out.dims[1] != e->classes, ctx,
                ECC_E_INPUT, "output '%s' changed shape between batches", res->output);
    get_fn get = getter_of(out.dtype);
    for (int64_t i = 0; i < n; i++) {
        int64_t label = 0;
        ECC_TRY(label_at(ctx, &e->lab, i, e->classes, e->r.done - n + i, &label));
        int64_t rank = label_rank(get, out.data, (size_t)(i * e->classes), e->classes, label);
        for (size_t k = 0; k < res->n_topk; k++)
            if (rank < res->topk[k]) e->correct[k]++;
    }
fail:
    return st;
}

static ecc_status eval_topk(ecc_ctx *ctx, const int32_t *topk, size_t n_topk,
                            ecc_eval_result *out) {
    ecc_status st = ECC_OK;
    ECC_FAIL_IF(n_topk + 1 > ECC_EVAL_MAX_TOPK, ctx, ECC_E_USAGE, "at most %d top-k values",
                ECC_EVAL_MAX_TOPK - 1);
    out->topk[out->n_topk++] = 1;
    for (size_t i = 0; i < n_topk; i++) {
        ECC_FAIL_IF(topk[i] < 1, ctx, ECC_E_USAGE, "top-k value %d must be at least 1",
                    (int)topk[i]);
        bool dup = false;
        for (size_t k = 0; k < out->n_topk; k++) dup = dup || out->topk[k] == topk[i];
        if (!dup) out->topk[out->n_topk++] = topk[i];
    }
fail:
    return st;
}

ecc_status ecc_eval(ecc_ctx *ctx, const ecc_model *model, const char *const *data,
                    size_t n_data, const char *labels, const ecc_data_options *dopts,
                    const ecc_run_options *ropts, const int32_t *topk, size_t n_topk,
                    ecc_eval_result *out) {
    ecc_status st = ECC_OK;
    eval_state e = {0};
    int64_t n;
    double t0 = ecc_now_seconds();
    memset(out, 0, sizeof *out);
    ECC_TRY(eval_topk(ctx, topk, n_topk, out));
    e.correct = calloc(ECC_EVAL_MAX_TOPK, sizeof *e.correct);
    ECC_FAIL_IF(!e.correct, ctx, ECC_E_INTERNAL, "out of memory");
    ECC_TRY(runner_open(ctx, &e.r, model, data, n_data, dopts, ropts));
    ECC_TRY(open_labels(ctx, &e, labels, dopts));
    for (;;) {
        ECC_TRY(runner_next(ctx, &e.r, &n));
        if (n == 0) break;
        ECC_TRY(score_batch(ctx, &e, n, labels, out));
        if (!out->output[0])
            snprintf(out->output, sizeof out->output, "%s",
                     ecc_session_output(e.r.s, e.out_index, NULL));
    }
    ecc_ctx_set_subject(ctx, labels);
    ECC_FAIL_IF(e.r.done == 0, ctx, ECC_E_INPUT, "no samples to evaluate");
    ecc_ctx_set_subject(ctx, NULL);
    for (size_t k = 0; k < out->n_topk; k++) {
        ECC_FAIL_IF(out->topk[k] > e.classes, ctx, ECC_E_USAGE,
                    "top-k %d is out of range [1, %lld]: output '%s' has %lld classes",
                    (int)out->topk[k], (long long)e.classes, out->output, (long long)e.classes);
        out->topk_accuracy[k] = (double)e.correct[k] / (double)e.r.done;
    }
    out->samples = e.r.done;
    out->accuracy = out->topk_accuracy[0];
    out->seconds = ecc_now_seconds() - t0;
fail:
    ecc_dataset_free(e.labels);
    runner_close(&e.r);
    free(e.correct);
    return st;
}

/* ================= JSON reports ================= */

static ecc_status write_json(ecc_ctx *ctx, cJSON *root, const char *path) {
    ecc_status st = ECC_OK;
    ecc_atomic_file f = {0};
    char *text = root ? cJSON_Print(root) : NULL;
    ecc_ctx_set_subject(ctx, path);
    ECC_FAIL_IF(!text, ctx, ECC_E_INTERNAL, "out of memory");
    ECC_TRY(ecc_atomic_open(ctx, path, &f));
    ECC_FAIL_IF(fputs(text, f.fp) < 0 || fputc('\n', f.fp) == EOF, ctx, ECC_E_INTERNAL,
                "write failed: %s", strerror(errno));
    ECC_TRY(ecc_atomic_commit(ctx, &f));
fail:
    ecc_atomic_abort(&f);
    free(text);
    return st;
}

static cJSON *json_number(double v) {
    return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

ecc_status ecc_eval_write_report(ecc_ctx *ctx, const ecc_eval_result *r, const char *model,
                                 const char *data, const char *labels, const char *path) {
    cJSON *root = cJSON_CreateObject(), *topk = cJSON_CreateObject();
    ecc_status st;
    if (root && topk) {
        cJSON_AddStringToObject(root, "model", model ? model : "");
        cJSON_AddStringToObject(root, "data", data ? data : "");
        cJSON_AddStringToObject(root, "labels", labels ? labels : "");
        cJSON_AddStringToObject(root, "output", r->output);
        cJSON_AddItemToObject(root, "accuracy", json_number(r->accuracy));
        cJSON_AddNumberToObject(root, "samples", (double)r->samples);
        for (size_t k = 0; k < r->n_topk; k++) {
            char key[16];
            snprintf(key, sizeof key, "%d", (int)r->topk[k]);
            cJSON_AddItemToObject(topk, key, json_number(r->topk_accuracy[k]));
        }
        cJSON_AddItemToObject(root, "topk", topk);
        topk = NULL;
        cJSON_AddNumberToObject(root, "seconds", r->seconds);
    }
    st = write_json(ctx, topk ? NULL : root, path);
    cJSON_Delete(topk);
    cJSON_Delete(root);
    return st;
}

/* ================= compare ================= */

/* One side of a comparison: a model run on the data, or .npy reference files. */
typedef struct cmp_side {
    const char *path;
    ecc_model *model;       /* owned */
    ecc_session *s;         /* model side (A's session is the runner's) */
    ecc_data_stream **npy;  /* npy side */
    size_t n_npy;
    char **names;           /* npy side: file stems */
    uint8_t **buf;
    size_t *cap;
} cmp_side;

typedef struct cmp_acc {
    double sa2, sb2, sab, sd2, sum_rel;
    int64_t n_num, nan_mismatch;
} cmp_acc;

struct ecc_comparison {
    ecc_output_diff *out;
    cmp_acc *acc;
    size_t *b_index;
    size_t n;
    int64_t samples;
    double seconds;
};

static bool is_dir(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static bool ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

static int cmp_cstr(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The .npy files of a folder, sorted. */
static ecc_status list_npy(ecc_ctx *ctx, const char *dir, char ***files, size_t *n) {
    ecc_status st = ECC_OK;
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t cap = 0;
    *files = NULL;
    *n = 0;
    ecc_ctx_set_subject(ctx, dir);
    ECC_FAIL_IF(!d, ctx, ECC_E_INPUT, "cannot open the folder: %s", strerror(errno));
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !ends_with(e->d_name, ".npy")) continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            char **g = realloc(*files, cap * sizeof *g);
            ECC_FAIL_IF(!g, ctx, ECC_E_INTERNAL, "out of memory");
            *files = g;
        }
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        ECC_FAIL_IF(!((*files)[*n] = malloc(len)), ctx, ECC_E_INTERNAL, "out of memory");
        snprintf((*files)[(*n)++], len, "%s/%s", dir, e->d_name);
    }
    ECC_FAIL_IF(*n == 0, ctx, ECC_E_INPUT, "no .npy files in the folder");
    qsort(*files, *n, sizeof **files, cmp_cstr);
fail:
    if (d) closedir(d);
    return st;
}

static ecc_status side_open_npy(ecc_ctx *ctx, cmp_side *sd) {
    ecc_status st = ECC_OK;
    char **files = NULL;
    size_t n = 0;
    if (is_dir(sd->path)) ECC_TRY(list_npy(ctx, sd->path, &files, &n));
    else {
        files = calloc(1, sizeof *files);
        ECC_FAIL_IF(!files || !(files[0] = strdup(sd->path)), ctx, ECC_E_INTERNAL, "out of memory");
        n = 1;
    }
    sd->npy = calloc(n, sizeof *sd->npy);
    sd->names = calloc(n, sizeof *sd->names);
    sd->buf = calloc(n, sizeof *sd->buf);
    sd->cap = calloc(n, sizeof *sd->cap);
    ECC_FAIL_IF(!sd->npy || !sd->names || !sd->buf || !sd->cap, ctx, ECC_E_INTERNAL,
                "out of memory");
    sd->n_npy = n;
    for (size_t i = 0; i < n; i++) {
        const char *slash = strrchr(files[i], '/');
        sd->names[i] = strdup(slash ? slash + 1 : files[i]);
        ECC_FAIL_IF(!sd->names[i], ctx, ECC_E_INTERNAL, "out of memory");
        sd->names[i][strlen(sd->names[i]) - (ends_with(sd->names[i], ".npy") ? 4 : 0)] = 0;
        ECC_TRY(ecc_data_open_npy(ctx, files[i], &sd->npy[i]));
    }
fail:
    for (size_t i = 0; i < n; i++) free(files[i]);
    free(files);
    return st;
}

static void side_close(cmp_side *sd) {
    for (size_t i = 0; i < sd->n_npy; i++) {
        if (sd->npy) ecc_data_close(sd->npy[i]);
        if (sd->names) free(sd->names[i]);
        if (sd->buf) free(sd->buf[i]);
    }
    free(sd->npy);
    free(sd->names);
    free(sd->buf);
    free(sd->cap);
    ecc_session_free(sd->s);
    ecc_model_free(sd->model);
}

static bool side_is_model(const char *path) {
    return !is_dir(path) && !ends_with(path, ".npy");
}

static size_t side_count(const cmp_side *sd) {
    return sd->s ? ecc_session_output_count(sd->s) : sd->n_npy;
}

static const char *side_name(const cmp_side *sd, size_t i) {
    return sd->s ? ecc_session_output(sd->s, i, NULL) : sd->names[i];
}

/* Next n rows of every npy file (all of them when whole). */
static ecc_status side_read(ecc_ctx *ctx, cmp_side *sd, size_t i, int64_t n, bool whole,
                            ecc_array *a) {
    ecc_status st = ECC_OK;
    ecc_data_stream *s = sd->npy[i];
    int64_t got;
    if (whole) n = s->dims[0];
    size_t bytes;
    ECC_FAIL_IF(!ecc_mul_size(s->sample_bytes, (size_t)n, &bytes), ctx, ECC_E_INPUT,
                "batch too large");
    if (bytes > sd->cap[i]) {
        uint8_t *p = realloc(sd->buf[i], bytes);
        ECC_FAIL_IF(!p, ctx, ECC_E_INTERNAL, "out of memory");
        sd->buf[i] = p;
        sd->cap[i] = bytes;
    }
    ECC_TRY(ecc_data_read(ctx, s, n, sd->buf[i], &got));
    ECC_FAIL_IF(got != n, ctx, ECC_E_INPUT, "has %lld rows, fewer than the samples compared",
                (long long)s->dims[0]);
    memset(a, 0, sizeof *a);
    a->dtype = s->dtype;
    a->rank = s->rank;
    memcpy(a->dims, s->dims, sizeof a->dims);
    a->dims[0] = n;
    a->data = sd->buf[i];
    a->nbytes = bytes;
fail:
    return st;
}

/* Pairs every output of A with one of B: same (file-safe) name, else same position. */
static ecc_status pair_outputs(ecc_ctx *ctx, ecc_comparison *c, const cmp_side *a,
                               const cmp_side *b) {
    ecc_status st = ECC_OK;
    size_t na = side_count(a), nb = side_count(b);
    c->out = calloc(na + 1, sizeof *c->out);
    c->acc = calloc(na + 1, sizeof *c->acc);
    c->b_index = calloc(na + 1, sizeof *c->b_index);
    ECC_FAIL_IF(!c->out || !c->acc || !c->b_index, ctx, ECC_E_INTERNAL, "out of memory");
    c->n = na;
    for (size_t i = 0; i < na; i++) {
        char sa[300], sb[300];
        safe_name(side_name(a, i), sa, sizeof sa);
        size_t j = SIZE_MAX;
        for (size_t k = 0; k < nb && j == SIZE_MAX; k++) {
            safe_name(side_name(b, k), sb, sizeof sb);
            if (!strcmp(sa, sb)) j = k;
        }
        if (j == SIZE_MAX && na == nb) j = i;
        ecc_ctx_set_subject(ctx, b->path);
        ECC_FAIL_IF(j == SIZE_MAX, ctx, ECC_E_INPUT, "no output matches '%s' of %s",
                    side_name(a, i), a->path);
        c->b_index[i] = j;
        snprintf(c->out[i].name, sizeof c->out[i].name, "%s", side_name(a, i));
        snprintf(c->out[i].name_b, sizeof c->out[i].name_b, "%s", side_name(b, j));
        c->out[i].cosine = 1;
    }
fail:
    return st;
}

static void argmax_agree(ecc_output_diff *d, const ecc_array *x, const ecc_array *y) {
    if (x->rank < 2 || x->dims[x->rank - 1] < 2) return;
    int64_t cols = x->dims[x->rank - 1], rows = array_numel(x) / cols;
    get_fn gx = getter_of(x->dtype), gy = getter_of(y->dtype);
    for (int64_t r = 0; r < rows; r++) {
        int64_t bx = 0, by = 0;
        double vx = -INFINITY, vy = -INFINITY;
        for (int64_t c = 0; c < cols; c++) {
            double u = gx(x->data, (size_t)(r * cols + c)), v = gy(y->data, (size_t)(r * cols + c));
            if (u > vx) vx = u, bx = c;
            if (v > vy) vy = v, by = c;
        }
        d->top1_rows++;
        d->top1_agree += bx == by;
    }
}

static void accumulate(ecc_output_diff *d, cmp_acc *acc, const ecc_array *x, const ecc_array *y) {
    get_fn gx = getter_of(x->dtype), gy = getter_of(y->dtype);
    int64_t n = array_numel(x);
    for (int64_t i = 0; i < n; i++) {
        double u = gx(x->data, (size_t)i), v = gy(y->data, (size_t)i);
        if (isnan(u) || isnan(v)) {
            acc->nan_mismatch += isnan(u) != isnan(v);
            continue;
        }
        double diff = fabs(u - v), m = fmax(fabs(u), fabs(v));
        if (diff > d->max_abs) d->max_abs = diff;
        if (fabs(u) > d->scale) d->scale = fabs(u);
        double rel = m > 0 ? diff / m : 0;
        if (rel > d->max_rel) d->max_rel = rel;
        acc->sum_rel += rel;
        acc->sa2 += u * u;
        acc->sb2 += v * v;
        acc->sab += u * v;
        acc->sd2 += (u - v) * (u - v);
        acc->n_num++;
    }
    d->elements += n;
    argmax_agree(d, x, y);
}

static ecc_status compare_arrays(ecc_ctx *ctx, ecc_comparison *c, size_t i, const ecc_array *x,
                                 const ecc_array *y) {
    ecc_output_diff *d = &c->out[i];
    bool same = x->rank == y->rank;
    for (int32_t k = 0; same && k < x->rank; k++) same = x->dims[k] == y->dims[k];
    if (!same)
        return ecc_ctx_error(ctx, ECC_E_INPUT, "output '%s' has rank %d [%lld,…] in A but rank "
                             "%d [%lld,…] in B", d->name, (int)x->rank,
                             (long long)(x->rank ? x->dims[0] : 0), (int)y->rank,
                             (long long)(y->rank ? y->dims[0] : 0));
    if (!getter_of(x->dtype) || !getter_of(y->dtype))
        return ecc_ctx_error(ctx, ECC_E_INPUT, "output '%s': type %s/%s cannot be compared",
                             d->name, ecc_dtype_name(x->dtype), ecc_dtype_name(y->dtype));
    accumulate(d, &c->acc[i], x, y);
    return ECC_OK;
}

static void finish_stats(ecc_comparison *c) {
    for (size_t i = 0; i < c->n; i++) {
        ecc_output_diff *d = &c->out[i];
        const cmp_acc *a = &c->acc[i];
        if (a->nan_mismatch) d->max_abs = INFINITY;
        d->mean_rel = a->n_num ? a->sum_rel / (double)a->n_num : 0;
        if (a->sa2 == 0 && a->sb2 == 0) d->cosine = 1;
        else if (a->sa2 == 0 || a->sb2 == 0) d->cosine = 0;
        else d->cosine = a->sab / sqrt(a->sa2 * a->sb2);
        d->sqnr_db = a->sd2 == 0 && !a->nan_mismatch ? INFINITY
                     : a->sd2 == 0                   ? -INFINITY
                                                     : 10 * log10(a->sa2 / a->sd2);
    }
}

typedef struct cmp_job {
    cmp_side a, b;
    runner r;               /* when A or B is a model: runs the first model */
    bool has_runner;
    int64_t rows;           /* samples compared (npy only: rows of the files) */
    ecc_run_options ro;
} cmp_job;

static ecc_status side_load(ecc_ctx *ctx, cmp_side *sd) {
    if (!side_is_model(sd->path)) return side_open_npy(ctx, sd);
    return ecc_model_read(ctx, sd->path, &sd->model);
}

/* Output i of a side for the current batch of n rows. */
static ecc_status side_output(ecc_ctx *ctx, cmp_job *j, cmp_side *sd, size_t i, int64_t n,
                              ecc_array *a) {
    bool whole = j->has_runner && ecc_dataset_whole(j->r.ds);
    if (sd->npy) return side_read(ctx, sd, i, n, whole, a);
    ecc_session *s = sd->s ? sd->s : j->r.s;
    return ecc_session_result(ctx, s, i, a);
}

static ecc_status compare_batch(ecc_ctx *ctx, cmp_job *j, ecc_comparison *c, int64_t n) {
    ecc_status st = ECC_OK;
    for (size_t i = 0; i < c->n; i++) {
        ecc_array x, y;
        ECC_TRY(side_output(ctx, j, &j->a, i, n, &x));
        ECC_TRY(side_output(ctx, j, &j->b, c->b_index[i], n, &y));
        if (j->has_runner) {
            if (j->a.model || j->a.s) ECC_TRY(check_batched(ctx, &j->r, c->out[i].name, &x, n));
            if (j->b.model || j->b.s) ECC_TRY(check_batched(ctx, &j->r, c->out[i].name_b, &y, n));
        }
        ecc_ctx_set_subject(ctx, j->b.path);
        ECC_TRY(compare_arrays(ctx, c, i, &x, &y));
    }
fail:
    return st;
}

/* Sessions: A's model drives the runner (dataset bound to it); B gets its own. */
static ecc_status cmp_setup(ecc_ctx *ctx, cmp_job *j, const char *const *data, size_t n_data,
                            const ecc_data_options *dopts, ecc_comparison *c) {
    ecc_status st = ECC_OK;
    cmp_side *first = j->a.model ? &j->a : j->b.model ? &j->b : NULL;
    if (first) {
        ecc_ctx_set_subject(ctx, first->path);
        ECC_FAIL_IF(!data || n_data == 0, ctx, ECC_E_USAGE, "comparing a model needs --data");
        ECC_TRY(runner_open(ctx, &j->r, first->model, data, n_data, dopts, &j->ro));
        j->has_runner = true;
        first->s = NULL;
        cmp_side *other = first == &j->a ? &j->b : &j->a;
        if (other->model) {
            ecc_session_options so = {sizeof so, j->ro.threads, j->r.batch};
            ECC_TRY(ecc_session_create(ctx, other->model, &so, &other->s));
        }
    }
    /* the runner's session stands in for the first model when naming outputs */
    if (first) first->s = j->r.s;
    ECC_TRY(pair_outputs(ctx, c, &j->a, &j->b));
    if (first) first->s = NULL;
fail:
    return st;
}

static ecc_status cmp_rows_check(ecc_ctx *ctx, cmp_job *j, int64_t samples) {
    cmp_side *sides[2] = {&j->a, &j->b};
    bool whole = j->has_runner && ecc_dataset_whole(j->r.ds);
    for (int k = 0; k < 2 && !whole; k++)
        for (size_t i = 0; i < sides[k]->n_npy; i++) {
            const ecc_data_stream *s = sides[k]->npy[i];
            if (s->dims[0] != samples) {
                ecc_ctx_set_subject(ctx, s->path);
                return ecc_ctx_error(ctx, ECC_E_INPUT, "%lld rows, but %lld samples are compared",
                                     (long long)s->dims[0], (long long)samples);
            }
        }
    return ECC_OK;
}

static ecc_status cmp_loop(ecc_ctx *ctx, cmp_job *j, ecc_comparison *c) {
    ecc_status st = ECC_OK;
    int64_t n, total, done = 0;
    if (j->has_runner) total = ecc_dataset_samples(j->r.ds);
    else total = j->a.npy[0]->dims[0];
    ECC_TRY(cmp_rows_check(ctx, j, total));
    int64_t batch = j->has_runner ? j->r.batch : (j->ro.batch ? j->ro.batch : DEFAULT_BATCH);
    for (;;) {
        if (j->has_runner) {
            ECC_TRY(runner_next(ctx, &j->r, &n));
            if (n && j->a.s) ECC_TRY(ecc_session_run(ctx, j->a.s, j->r.in, ecc_dataset_arrays(j->r.ds)));
            if (n && j->b.s) ECC_TRY(ecc_session_run(ctx, j->b.s, j->r.in, ecc_dataset_arrays(j->r.ds)));
        } else {
            n = total - done < batch ? total - done : batch;
            if (n && j->ro.progress) j->ro.progress(j->ro.progress_user, done + n, total);
        }
        if (n == 0) break;
        ECC_TRY(compare_batch(ctx, j, c, n));
        done += n;
    }
    c->samples = done;
fail:
    return st;
}

ecc_status ecc_compare(ecc_ctx *ctx, const char *a, const char *b, const char *const *data,
                       size_t n_data, const ecc_data_options *dopts,
                       const ecc_run_options *ropts, ecc_comparison **out) {
    ecc_status st = ECC_OK;
    cmp_job j;
    ecc_comparison *c = calloc(1, sizeof *c);
    double t0 = ecc_now_seconds();
    memset(&j, 0, sizeof j);
    *out = NULL;
    COPY_OPTS(j.ro, ropts);
    j.a.path = a;
    j.b.path = b;
    ECC_FAIL_IF(!c, ctx, ECC_E_INTERNAL, "out of memory");
    ECC_TRY(side_load(ctx, &j.a));
    ECC_TRY(side_load(ctx, &j.b));
    ECC_TRY(cmp_setup(ctx, &j, data, n_data, dopts, c));
    ECC_TRY(cmp_loop(ctx, &j, c));
    finish_stats(c);
    c->seconds = ecc_now_seconds() - t0;
    *out = c;
    c = NULL;
fail:
    ecc_comparison_free(c);
    runner_close(&j.r);
    side_close(&j.a);
    side_close(&j.b);
    return st;
}

void ecc_comparison_free(ecc_comparison *c) {
    if (!c) return;
    free(c->out);
    free(c->acc);
    free(c->b_index);
    free(c);
}

size_t ecc_comparison_count(const ecc_comparison *c) { return c->n; }
const ecc_output_diff *ecc_comparison_output(const ecc_comparison *c, size_t i) {
    return i < c->n ? &c->out[i] : NULL;
}
int64_t ecc_comparison_samples(const ecc_comparison *c) { return c->samples; }
double ecc_comparison_seconds(const ecc_comparison *c) { return c->seconds; }

ecc_status ecc_comparison_write_report(ecc_ctx *ctx, const ecc_comparison *c, const char *a,
                                       const char *b, const char *path) {
    cJSON *root = cJSON_CreateObject(), *outs = cJSON_CreateArray();
    bool ok = root && outs;
    for (size_t i = 0; ok && i < c->n; i++) {
        const ecc_output_diff *d = &c->out[i];
        cJSON *o = cJSON_CreateObject();
        if (!(ok = o != NULL)) break;
        cJSON_AddStringToObject(o, "name", d->name);
        cJSON_AddStringToObject(o, "name_b", d->name_b);
        cJSON_AddNumberToObject(o, "elements", (double)d->elements);
        cJSON_AddItemToObject(o, "max_abs_error", json_number(d->max_abs));
        cJSON_AddItemToObject(o, "max_abs_a", json_number(d->scale));
        cJSON_AddItemToObject(o, "max_abs_error_rel_to_max",
                              json_number(d->scale > 0 ? d->max_abs / d->scale : d->max_abs));
        cJSON_AddItemToObject(o, "mean_rel_error", json_number(d->mean_rel));
        cJSON_AddItemToObject(o, "max_rel_error", json_number(d->max_rel));
        cJSON_AddItemToObject(o, "cosine", json_number(d->cosine));
        cJSON_AddItemToObject(o, "sqnr_db", json_number(d->sqnr_db));
        if (d->top1_rows) {
            cJSON_AddNumberToObject(o, "top1_rows", (double)d->top1_rows);
            cJSON_AddNumberToObject(o, "top1_agreement",
                                    (double)d->top1_agree / (double)d->top1_rows);
        }
        cJSON_AddItemToArray(outs, o);
    }
    if (ok) {
        cJSON_AddStringToObject(root, "a", a ? a : "");
        cJSON_AddStringToObject(root, "b", b ? b : "");
        cJSON_AddNumberToObject(root, "samples", (double)c->samples);
        cJSON_AddNumberToObject(root, "seconds", c->seconds);
        cJSON_AddItemToObject(root, "outputs", outs);
        outs = NULL;
    }
    ecc_status st = write_json(ctx, ok ? root : NULL, path);
    cJSON_Delete(outs);
    cJSON_Delete(root);
    return st;
}

/* ================= operators ================= */

static int cmp_entry(const void *x, const void *y) {
    const ecc_kernel_entry *a = *(const ecc_kernel_entry *const *)x;
    const ecc_kernel_entry *b = *(const ecc_kernel_entry *const *)y;
    int c = strcmp(a->op, b->op);
    if (c) return c;
    if (a->dtype != b->dtype) return a->dtype < b->dtype ? -1 : 1;
    return a->since_opset - b->since_opset;
}

static const char *kernel_dtype(int32_t dtype) { return dtype ? ecc_dtype_name(dtype) : "any"; }

/* Entries [i, e) share op: one text line or one JSON object. */
static void describe_op(const ecc_kernel_entry **v, size_t i, size_t e, cJSON *arr, FILE *out) {
    char types[512] = "", opsets[128] = "";
    int last_since = -1;
    cJSON *o = arr ? cJSON_CreateObject() : NULL, *dt = arr ? cJSON_CreateArray() : NULL,
          *since = arr ? cJSON_CreateArray() : NULL;
    for (size_t k = i; k < e; k++) {
        if (k == i || v[k]->dtype != v[k - 1]->dtype) {
            size_t n = strlen(types);
            snprintf(types + n, sizeof types - n, "%s%s", n ? " " : "", kernel_dtype(v[k]->dtype));
            if (dt) cJSON_AddItemToArray(dt, cJSON_CreateString(kernel_dtype(v[k]->dtype)));
        }
    }
    for (int pass = 0; pass < 64; pass++) { /* distinct since values, ascending */
        int best = -1;
        for (size_t k = i; k < e; k++)
            if (v[k]->since_opset > last_since && (best < 0 || v[k]->since_opset < best))
                best = v[k]->since_opset;
        if (best < 0) break;
        size_t n = strlen(opsets);
        snprintf(opsets + n, sizeof opsets - n, "%s%d+", n ? ", " : "", best);
        if (since) cJSON_AddItemToArray(since, cJSON_CreateNumber(best));
        last_since = best;
    }
    if (out) fprintf(out, "  %-26s %-40s opset %s\n", v[i]->op, types, opsets);
    if (o) {
        cJSON_AddStringToObject(o, "op", v[i]->op);
        cJSON_AddItemToObject(o, "dtypes", dt);
        cJSON_AddItemToObject(o, "since_opsets", since);
        cJSON_AddBoolToObject(o, "backward", v[i]->backward != NULL);
        cJSON_AddItemToArray(arr, o);
    } else {
        cJSON_Delete(dt);
        cJSON_Delete(since);
    }
}

ecc_status ecc_ops_describe(ecc_ctx *ctx, bool json, FILE *out) {
    ecc_status st = ECC_OK;
    size_t n = 0, n_ops = 0;
    const ecc_kernel_entry *table = ecc_kernel_table(&n);
    const ecc_kernel_entry **v = calloc(n + 1, sizeof *v);
    cJSON *root = json ? cJSON_CreateObject() : NULL, *arr = json ? cJSON_CreateArray() : NULL;
    char *text = NULL;
    ECC_FAIL_IF(!v || (json && (!root || !arr)), ctx, ECC_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < n; i++) v[i] = &table[i];
    qsort(v, n, sizeof *v, cmp_entry);
    for (size_t i = 0; i < n; i++) n_ops += i == 0 || strcmp(v[i]->op, v[i - 1]->op);
    if (!json) fprintf(out, "%zu operators (default ONNX domain), %zu kernels:\n", n_ops, n);
    for (size_t i = 0, e; i < n; i = e) {
        for (e = i + 1; e < n && !strcmp(v[e]->op, v[i]->op);) e++;
        describe_op(v, i, e, arr, json ? NULL : out);
    }
    if (json) {
        cJSON_AddNumberToObject(root, "operators", (double)n_ops);
        cJSON_AddNumberToObject(root, "kernels", (double)n);
        cJSON_AddItemToObject(root, "ops", arr);
        arr = NULL;
        text = cJSON_Print(root);
        ECC_FAIL_IF(!text, ctx, ECC_E_INTERNAL, "out of memory");
        fprintf(out, "%s\n", text);
    }
    ECC_FAIL_IF(fflush(out) != 0 || ferror(out), ctx, ECC_E_INTERNAL, "write failed");
fail:
    free(text);
    cJSON_Delete(arr);
    cJSON_Delete(root);
    free(v);
    return st;
}
