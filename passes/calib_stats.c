/* calib_stats.c — calibration data and per-layer input statistics (see
 * calib_stats.h): samples read once per pipeline run into memory (through
 * the public dataset readers, bound to the model's inputs; non-finite
 * float32 values are refused) and shared by its passes, batches run through
 * the interpreter with an observer, and the statistics of each weight
 * layer's input collected on the way: per Conv group, the mean of x_j²
 * (Wanda's ‖X_j‖²) and of x_j, and optionally the full H = mean x xᵀ (SparseGPT, GPTQ), with x the im2col patch of a Conv in
 * weight memory order (channel, kh, kw) or the feature row of a Gemm/MatMul.
 * H is accumulated with cblas_ssyrk in chunks of tokens; statistics that
 * overflow are refused. */
#include "calib_stats.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CALIB_CHUNK 2048 /* tokens per ssyrk call */

/* ---------------- samples in memory ---------------- */

static void calib_entry_free(void *p);

void calib_data_free(calib_data *d) {
    if (!d) return;
    for (size_t i = 0; !d->entry && i < d->n_inputs; i++) free(d->inputs[i].data);
    free(d->inputs);
    if (d->cache) ecc_run_cache_release(d->cache, d->entry);
    else calib_entry_free(d->entry);
    free(d);
}

/* Appends got samples of array a to input slot t (growing its buffer). */
static ecc_status data_append(ecc_ctx *ctx, ecc_rt_tensor *t, const ecc_array *a, int64_t got,
                              size_t *cap) {
    if (!t->data) {
        t->dtype = a->dtype;
        t->rank = a->rank;
        memcpy(t->dims, a->dims, sizeof t->dims);
        t->dims[0] = 0;
    }
    size_t need = t->nbytes + a->nbytes;
    if (need > *cap) {
        size_t c = *cap ? *cap : 1;
        while (c < need) c *= 2;
        void *p = realloc(t->data, c);
        if (!p) return ECC_OOM(ctx);
        t->data = p;
        *cap = c;
    }
    memcpy((uint8_t *)t->data + t->nbytes, a->data, a->nbytes);
    t->nbytes = need;
    t->dims[0] += a->rank ? got : 0;
    return ECC_OK;
}

/* Observer ranges, Hessians and fidelity measured on a NaN or an infinity
 * are meaningless: non-finite float32 samples are refused, naming the
 * first. */
static ecc_status check_finite(ecc_ctx *ctx, const char *input, const ecc_rt_tensor *t) {
    if (t->dtype != ECC_DTYPE_FLOAT || t->rank < 1) return ECC_OK;
    const float *x = t->data;
    int64_t k, n = (int64_t)(t->nbytes / sizeof *x);
    if (!ecc_nonfinite_count(x, n, &k)) return ECC_OK;
    int64_t per = n / t->dims[0]; /* n > 0, so dims[0] > 0 */
    char at[160];
    ecc_index_text(t->rank - 1, t->dims + 1, k % per, at, sizeof at);
    return ecc_ctx_error(ctx, ECC_E_INPUT,
                         "calibration sample %lld of input '%s' holds %s at %s; calibration "
                         "data must be finite",
                         (long long)(k / per), input ? input : "?", ecc_nonfinite_name(x[k]), at);
}

/* ---------------- samples shared by the passes of a run ----------------
 * Inside ecc_pipeline_run the samples are read once per path and model-input
 * binding and kept in the run's cache (compress/pipeline.h); each pass gets a
 * view of the first samples it asks for, which are the bytes a read with
 * that limit gives (the readers read in order). A run with a training pass
 * reads its training data whole at the first read, so the calibration
 * passes before it take a prefix of what it trains on. */

struct calib_entry {
    calib_data d;            /* owned */
    bool complete;           /* every sample the path holds */
    bool whole;              /* .pb tensors: one batch, never cut */
};

static void calib_entry_free(void *p) {
    calib_entry *e = p;
    for (size_t i = 0; e && i < e->d.n_inputs; i++) free(e->d.inputs[i].data);
    if (e) free(e->d.inputs);
    free(e);
}

static size_t calib_bytes(const calib_data *d) {
    size_t b = 0;
    for (size_t i = 0; i < d->n_inputs; i++) b += d->inputs[i].nbytes;
    return b;
}

/* "path\n" then name:dtype:dims of each input the samples are bound to. */
static ecc_status cache_key(ecc_ctx *ctx, const ecc_session *s, const char *path, char **out) {
    size_t cap = strlen(path) + 64, n = 0;
    char *k = malloc(cap);
    if (!k) return ECC_OOM(ctx);
    n = (size_t)snprintf(k, cap, "%s\n", path);
    for (size_t i = 0; i < ecc_session_input_count(s); i++) {
        ecc_array a;
        const char *name = ecc_session_input(s, i, &a);
        size_t need = n + strlen(name) + 24 * (size_t)(a.rank + 2);
        if (need > cap) {
            char *g = realloc(k, need);
            if (!g) return free(k), ECC_OOM(ctx);
            k = g;
            cap = need;
        }
        n += (size_t)snprintf(k + n, cap - n, "%s:%d", name, (int)a.dtype);
        for (int32_t r = 0; r < a.rank; r++)
            n += (size_t)snprintf(k + n, cap - n, ":%lld", (long long)a.dims[r]);
        n += (size_t)snprintf(k + n, cap - n, "\n");
    }
    *out = k;
    return ECC_OK;
}

/* The training data's path of the run: what a training pass reads whole. */
static const char *run_train_path(const ecc_run_env *env) {
    ecc_pass_run r = {.env = env};
    return calib_env_train_path(&r) ? calib_env_train_path(&r) : calib_env_path(&r);
}

/* Samples to read for a request of `want` (0: all) of path. */
static int64_t read_ahead(const ecc_run_cache *c, const char *path, int64_t want) {
    if (!c || want == 0 || !ecc_run_cache_trains(c)) return want;
    const ecc_run_env *env = ecc_run_cache_env(c);
    const char *train = run_train_path(env);
    if (!train || strcmp(train, path)) return want;
    ecc_pass_run r = {.env = env};
    int64_t all = calib_env_given_size(&r);
    return all == 0 || all > want ? all : want;
}

/* Reads up to `ahead` samples (0: all) of path, or only `want` when the
 * cache c could not keep that many. */
static ecc_status read_samples(ecc_ctx *ctx, ecc_session *s, const char *path, int64_t ahead,
                               int64_t want, const ecc_run_cache *c, calib_entry **out) {
    ecc_status st = ECC_OK;
    ecc_dataset *ds = NULL;
    ecc_array *arr = NULL;
    size_t *caps = NULL;
    calib_entry *e = calloc(1, sizeof *e);
    calib_data *d = e ? &e->d : NULL;
    ECC_FAIL_IF(!e, ctx, ECC_E_INTERNAL, "out of memory");
    ecc_data_options o = {.struct_size = sizeof o, .limit = ahead};
    ECC_TRY(ecc_dataset_open(ctx, &path, 1, s, &o, &ds));
    d->n_inputs = ecc_dataset_arrays(ds);
    d->inputs = calloc(d->n_inputs + 1, sizeof *d->inputs);
    arr = calloc(d->n_inputs + 1, sizeof *arr);
    caps = calloc(d->n_inputs + 1, sizeof *caps);
    ECC_FAIL_IF(!d->inputs || !arr || !caps, ctx, ECC_E_INTERNAL, "out of memory");
    int64_t stop = ahead;
    for (;;) {
        int64_t got = 0, max = stop && stop - d->samples < 256 ? stop - d->samples : 256;
        if (max <= 0) break;
        ECC_TRY(ecc_dataset_next_batch(ctx, ds, max, arr, &got));
        if (got == 0) break;
        for (size_t i = 0; i < d->n_inputs; i++)
            ECC_TRY(data_append(ctx, &d->inputs[i], &arr[i], got, &caps[i]));
        if (d->samples == 0 && stop != want && !ecc_dataset_whole(ds)) {
            size_t est = calib_bytes(d) / (size_t)got * (size_t)ecc_dataset_samples(ds);
            if (!c || !ecc_run_cache_fits(c, est)) stop = want;
        }
        d->samples += got;
        if (ecc_dataset_whole(ds)) break;
    }
    ECC_FAIL_IF(d->samples == 0, ctx, ECC_E_INPUT, "%s: no calibration samples", path);
    e->whole = ecc_dataset_whole(ds);
    e->complete = e->whole || stop == 0 || d->samples < stop;
    *out = e;
    e = NULL;
fail:
    free(arr);
    free(caps);
    ecc_dataset_free(ds);
    calib_entry_free(e);
    return st;
}

/* Whether e holds the first `want` samples (0: all). */
static bool entry_covers(const calib_entry *e, int64_t want) {
    return e->complete || (want > 0 && e->d.samples >= want);
}

/* A view of the first `want` samples (0: all) of e, lent by cache (NULL:
 * the view owns e). On failure e is the caller's still. */
static ecc_status view_of(ecc_ctx *ctx, calib_entry *e, ecc_run_cache *cache, int64_t want,
                          calib_data **out) {
    calib_data *v = calloc(1, sizeof *v);
    ecc_rt_tensor *in = calloc(e->d.n_inputs + 1, sizeof *in);
    if (!v || !in) return free(v), free(in), ECC_OOM(ctx);
    int64_t n = want == 0 || want > e->d.samples || e->whole ? e->d.samples : want;
    for (size_t i = 0; i < e->d.n_inputs; i++) {
        const ecc_rt_tensor *t = &e->d.inputs[i];
        in[i] = *t;
        if (e->whole || n == e->d.samples) continue;
        in[i].nbytes = t->nbytes / (size_t)t->dims[0] * (size_t)n;
        in[i].dims[0] = n;
    }
    *v = (calib_data){e->d.n_inputs, n, in, e, cache};
    *out = v;
    return ECC_OK;
}

ecc_status calib_data_load(ecc_ctx *ctx, const ecc_model *model, const char *path,
                           int64_t limit, calib_data **out) {
    ecc_status st = ECC_OK;
    ecc_session *s = NULL;
    char *key = NULL;
    calib_entry *e = NULL, *own = NULL;
    calib_data *v = NULL;
    bool lent = false;
    ecc_run_cache *c = ecc_run_cache_current();
    char subject[sizeof ctx->subject];
    snprintf(subject, sizeof subject, "%s", ctx->subject);
    *out = NULL;
    ECC_TRY(ecc_session_create(ctx, model, NULL, &s));
    ECC_TRY(cache_key(ctx, s, path, &key));
    e = ecc_run_cache_take(c, key);
    if (e && !entry_covers(e, limit)) ecc_run_cache_release(c, e), e = NULL;
    lent = e != NULL;
    if (e) {
        ecc_log(ctx, 1, "  data: %s from the run's cache", path);
    } else {
        ECC_TRY(read_samples(ctx, s, path, read_ahead(c, path, limit), limit, c, &own));
        lent = ecc_run_cache_put(c, key, own, calib_bytes(&own->d), calib_entry_free);
        e = own;
        ecc_log(ctx, 1, "  data: read %lld samples of %s%s", (long long)e->d.samples, path,
                lent ? " (kept for the passes after this one)" : "");
    }
    if (lent) own = NULL;
    ECC_TRY(view_of(ctx, e, lent ? c : NULL, limit, &v));
    own = NULL;
    lent = false;
    ecc_ctx_set_subject(ctx, path);
    for (size_t i = 0; i < v->n_inputs; i++)
        ECC_TRY(check_finite(ctx, ecc_session_input(s, i, NULL), &v->inputs[i]));
    ecc_ctx_set_subject(ctx, subject);
    *out = v;
    v = NULL;
fail:
    if (lent) ecc_run_cache_release(c, e);
    calib_entry_free(own);
    calib_data_free(v);
    free(key);
    ecc_session_free(s);
    return st;
}

/* ---------------- labels ---------------- */

static ecc_status count_samples(ecc_ctx *ctx, const char *path, int64_t *n) {
    ecc_dataset *ds = NULL;
    ecc_status st = ecc_dataset_open(ctx, &path, 1, NULL, NULL, &ds);
    if (st == ECC_OK) *n = ecc_dataset_samples(ds);
    ecc_dataset_free(ds);
    return st;
}

/* Element i of an integer array as int64; false for other types. */
static bool label_at(const ecc_array *a, int64_t i, int64_t *v) {
    switch (a->dtype) {
    case ECC_DTYPE_INT64: *v = ((const int64_t *)a->data)[i]; return true;
    case ECC_DTYPE_INT32: *v = ((const int32_t *)a->data)[i]; return true;
    case ECC_DTYPE_UINT8: *v = ((const uint8_t *)a->data)[i]; return true;
    default: return false;
    }
}

/* Appends the labels of batch a (got samples, one label each) to lab. */
static ecc_status labels_append(ecc_ctx *ctx, const ecc_array *a, int64_t got, int64_t classes,
                                int64_t *lab, int64_t *have) {
    int64_t per = 1;
    for (int32_t r = 1; r < a->rank; r++) per *= a->dims[r];
    if (per != 1)
        return ecc_ctx_error(ctx, ECC_E_INPUT, "labels must hold one class index per sample, "
                             "not %lld values", (long long)per);
    for (int64_t i = 0; i < got; i++) {
        int64_t v;
        if (!label_at(a, i, &v))
            return ecc_ctx_error(ctx, ECC_E_INPUT, "labels must be int64, int32 or uint8");
        if (v < 0 || v >= classes)
            return ecc_ctx_error(ctx, ECC_E_INPUT,
                                 "label %lld of sample %lld is outside [0, %lld) (the model's "
                                 "output 0 has %lld classes)",
                                 (long long)v, (long long)(*have + i), (long long)classes,
                                 (long long)classes);
        lab[*have + i] = v;
    }
    *have += got;
    return ECC_OK;
}

/* Opens the labels at path and checks there is one per sample of data. */
static ecc_status labels_open(ecc_ctx *ctx, const char *path, const char *data, int64_t *total,
                              ecc_dataset **out) {
    ecc_status st = ECC_OK;
    ecc_dataset *ds = NULL;
    ECC_TRY(count_samples(ctx, data, total));
    ECC_TRY(ecc_dataset_open(ctx, &path, 1, NULL, NULL, &ds));
    ecc_ctx_set_subject(ctx, path);
    ECC_FAIL_IF(ecc_dataset_arrays(ds) != 1, ctx, ECC_E_INPUT, "labels are one array, not %zu",
                ecc_dataset_arrays(ds));
    ECC_FAIL_IF(ecc_dataset_samples(ds) != *total, ctx, ECC_E_INPUT,
                "%lld labels for %lld samples of %s", (long long)ecc_dataset_samples(ds),
                (long long)*total, data);
    *out = ds;
    ds = NULL;
fail:
    ecc_dataset_free(ds);
    return st;
}

ecc_status calib_labels_count_check(ecc_ctx *ctx, const char *path, const char *data) {
    int64_t total;
    ecc_dataset *ds = NULL;
    ecc_status st = labels_open(ctx, path, data, &total, &ds);
    ecc_dataset_free(ds);
    return st;
}

ecc_status calib_labels_load(ecc_ctx *ctx, const char *path, const char *data, int64_t n,
                             int64_t classes, int64_t **out) {
    ecc_status st = ECC_OK;
    ecc_dataset *ds = NULL;
    int64_t total = 0, have = 0, *lab = NULL;
    char subject[sizeof ctx->subject];
    snprintf(subject, sizeof subject, "%s", ctx->subject);
    *out = NULL;
    ECC_TRY(labels_open(ctx, path, data, &total, &ds));
    lab = malloc((size_t)total * sizeof *lab + 1);
    ECC_FAIL_IF(!lab, ctx, ECC_E_INTERNAL, "out of memory");
    for (;;) {
        ecc_array a;
        int64_t got = 0;
        ECC_TRY(ecc_dataset_next_batch(ctx, ds, 4096, &a, &got));
        if (got == 0 || have + got > total) break;
        ECC_TRY(labels_append(ctx, &a, got, classes, lab, &have));
    }
    ECC_FAIL_IF(have != total || n > total, ctx, ECC_E_INPUT, "%lld labels for %lld samples of %s",
                (long long)have, (long long)(n > total ? n : total), data);
    ecc_ctx_set_subject(ctx, subject);
    *out = lab;
    lab = NULL;
fail:
    free(lab);
    ecc_dataset_free(ds);
    return st;
}

/* ---------------- running batches ---------------- */

/* A fixed (non-symbolic) first dimension of input i, or 0. */
static int64_t fixed_batch(const ecc_interp *it, size_t i) {
    const ecc_value *v = ecc_interp_input(it, i);
    return v && v->rank >= 1 && v->dims[0].value > 0 ? v->dims[0].value : 0;
}

ecc_status calib_data_run(ecc_ctx *ctx, ecc_model *model, const calib_data *d,
                          int64_t batch, ecc_observe_fn observe, void *observe_user,
                          calib_batch_fn after_batch, void *batch_user) {
    ecc_status st = ECC_OK;
    ecc_interp *it = NULL;
    ecc_rt_tensor *in = calloc(d->n_inputs + 1, sizeof *in);
    ECC_FAIL_IF(!in, ctx, ECC_E_INTERNAL, "out of memory");
    ecc_interp_options io = {sizeof io, 0, batch, NULL, observe, observe_user};
    ECC_TRY(ecc_interp_create(ctx, model, &io, &it));
    ECC_FAIL_IF(ecc_interp_input_count(it) != d->n_inputs, ctx, ECC_E_INPUT,
                "calibration data gives %zu arrays for %zu model inputs", d->n_inputs,
                ecc_interp_input_count(it));
    int64_t fixed = d->n_inputs ? fixed_batch(it, 0) : 0;
    if (fixed) batch = fixed; /* a partial last batch is left out */
    for (int64_t first = 0; first < d->samples; first += batch) {
        int64_t n = d->samples - first < batch ? d->samples - first : batch;
        if (fixed && n < fixed) break;
        for (size_t i = 0; i < d->n_inputs; i++) {
            const ecc_rt_tensor *src = &d->inputs[i];
            size_t row = src->dims[0] ? src->nbytes / (size_t)src->dims[0] : 0;
            in[i] = *src;
            in[i].dims[0] = n;
            in[i].nbytes = row * (size_t)n;
            in[i].data = (uint8_t *)src->data + row * (size_t)first;
            if (observe && observe(observe_user, NULL, 0, ecc_interp_input(it, i), &in[i]))
                ECC_FAIL_IF(true, ctx, ECC_E_INTERNAL, "calibration observer stopped the run");
        }
        ECC_TRY(ecc_interp_run(ctx, it, in, d->n_inputs));
        if (after_batch) ECC_TRY(after_batch(ctx, batch_user, it, first, n));
    }
fail:
    ecc_interp_free(it);
    free(in);
    return st;
}

/* ---------------- first outputs ---------------- */

ecc_status calib_out_batch(ecc_ctx *ctx, void *user, const ecc_interp *it, int64_t first,
                           int64_t n) {
    calib_out *o = user;
    const ecc_rt_tensor *y = ecc_interp_result(it, 0);
    if (!y || y->dtype != ECC_DTYPE_FLOAT || y->rank < 1 || y->dims[0] < n) return ECC_OK;
    int64_t numel = 1;
    for (int32_t d = 0; d < y->rank; d++) numel *= y->dims[d];
    int64_t cols = numel / y->dims[0];
    if (!o->y) {
        o->cols = cols;
        o->y = calloc((size_t)(o->samples * cols) + 1, sizeof *o->y);
        if (!o->y) return ECC_OOM(ctx);
    }
    if (cols != o->cols || first + n > o->samples) return ECC_OK;
    memcpy(o->y + first * cols, y->data, (size_t)(n * cols) * sizeof(float));
    if (first + n > o->rows) o->rows = first + n;
    return ECC_OK;
}

void calib_out_free(calib_out *o) {
    free(o->y);
    o->y = NULL;
    o->rows = o->cols = 0;
}

/* ---------------- layer statistics ---------------- */

/* Conv geometry for the im2col of one layer (1-D or 2-D). */
typedef struct conv_geom {
    int64_t c, cg, h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow;
} conv_geom;

static int64_t attr_at(const ecc_node *n, const char *name, size_t i, size_t want,
                       int64_t dflt) {
    const int64_t *v = NULL;
    size_t cnt = ecc_node_attr_ints(n, name, &v);
    return cnt == want && v ? v[i] : dflt;
}

static int64_t same_pad_begin(int64_t in, int64_t k, int64_t s, int64_t d, bool upper,
                              int64_t *out) {
    *out = (in + s - 1) / s;
    int64_t total = (*out - 1) * s + (k - 1) * d + 1 - in;
    if (total < 0) total = 0;
    return upper ? total / 2 : total - total / 2;
}

static ecc_status conv_geometry(ecc_ctx *ctx, const wl_layer *L, const ecc_rt_tensor *x,
                                conv_geom *g) {
    const ecc_tensor *w = wl_const(L->w);
    const ecc_node *n = L->node;
    int sp = w->rank - 2;
    if (x->rank != w->rank || sp < 1 || sp > 2)
        return ecc_ctx_error(ctx, ECC_E_INPUT, "Conv '%s': input of rank %d for a weight of "
                             "rank %d (calibration handles 1-D and 2-D convolutions)",
                             L->name, (int)x->rank, (int)w->rank);
    memset(g, 0, sizeof *g);
    g->c = x->dims[1];
    g->cg = w->dims[1];
    g->h = sp == 2 ? x->dims[2] : 1;
    g->w = x->dims[sp + 1];
    g->kh = sp == 2 ? w->dims[2] : 1;
    g->kw = w->dims[sp + 1];
    size_t ns = (size_t)sp;
    g->sh = sp == 2 ? attr_at(n, "strides", 0, ns, 1) : 1;
    g->sw = attr_at(n, "strides", ns - 1, ns, 1);
    g->dh = sp == 2 ? attr_at(n, "dilations", 0, ns, 1) : 1;
    g->dw = attr_at(n, "dilations", ns - 1, ns, 1);
    if (g->cg * L->groups != g->c || g->sh < 1 || g->sw < 1 || g->dh < 1 || g->dw < 1)
        return ecc_ctx_error(ctx, ECC_E_INPUT, "Conv '%s': input channels, group, strides or "
                             "dilations are inconsistent", L->name);
    const char *ap = ecc_node_attr_string(n, "auto_pad", "NOTSET");
    if (strcmp(ap, "SAME_UPPER") == 0 || strcmp(ap, "SAME_LOWER") == 0) {
        bool up = ap[5] == 'U';
        g->ph = sp == 2 ? same_pad_begin(g->h, g->kh, g->sh, g->dh, up, &g->oh) : 0;
        if (sp == 1) g->oh = 1;
        g->pw = same_pad_begin(g->w, g->kw, g->sw, g->dw, up, &g->ow);
        return ECC_OK;
    }
    bool valid = strcmp(ap, "VALID") == 0;
    int64_t phe = 0, pwe = 0;
    if (!valid) {
        g->ph = sp == 2 ? attr_at(n, "pads", 0, 2 * ns, 0) : 0;
        phe = sp == 2 ? attr_at(n, "pads", 2, 2 * ns, 0) : 0;
        g->pw = attr_at(n, "pads", ns - 1, 2 * ns, 0);
        pwe = attr_at(n, "pads", 2 * ns - 1, 2 * ns, 0);
    }
    g->oh = (g->h + g->ph + phe - ((g->kh - 1) * g->dh + 1)) / g->sh + 1;
    g->ow = (g->w + g->pw + pwe - ((g->kw - 1) * g->dw + 1)) / g->sw + 1;
    if (g->oh < 1 || g->ow < 1)
        return ecc_ctx_error(ctx, ECC_E_INPUT, "Conv '%s': empty output", L->name);
    return ECC_OK;
}

/* Accumulates rows [t, k] of patches into sq (and h's upper triangle). */
static void accumulate(wl_stats *s, int64_t gi, int64_t k, const float *rows, int64_t t,
                       int64_t ld, bool trans) {
    double *sq = s->sq + gi * k, *mn = s->mean + gi * k;
    for (int64_t r = 0; r < t; r++)
        for (int64_t j = 0; j < k; j++) {
            float v = trans ? rows[j * ld + r] : rows[r * ld + j];
            sq[j] += (double)v * v;
            mn[j] += v;
        }
    if (s->h)
        cblas_ssyrk(CblasRowMajor, CblasUpper, trans ? CblasNoTrans : CblasTrans, (int)k, (int)t,
                    1.0f, rows, (int)ld, 1.0f, s->h + gi * k * k, (int)k);
    s->tokens += gi == 0 ? t : 0;
}

static void im2col_row(const conv_geom *g, const float *img, int64_t gi, int64_t oy, int64_t ox,
                       float *dst) {
    float *p = dst;
    for (int64_t c = gi * g->cg; c < (gi + 1) * g->cg; c++)
        for (int64_t ky = 0; ky < g->kh; ky++) {
            int64_t iy = oy * g->sh - g->ph + ky * g->dh;
            for (int64_t kx = 0; kx < g->kw; kx++) {
                int64_t ix = ox * g->sw - g->pw + kx * g->dw;
                bool in = iy >= 0 && iy < g->h && ix >= 0 && ix < g->w;
                *p++ = in ? img[(c * g->h + iy) * g->w + ix] : 0.0f;
            }
        }
}

static ecc_status collect_conv(ecc_ctx *ctx, wl_layer *L, const ecc_rt_tensor *x,
                               float *buf) {
    conv_geom g;
    ecc_status st = conv_geometry(ctx, L, x, &g);
    if (st) return st;
    const float *data = x->data;
    int64_t k = L->k, img_sz = g.c * g.h * g.w, pos = g.oh * g.ow;
    for (int64_t b = 0; b < x->dims[0]; b++)
        for (int64_t gi = 0; gi < L->groups; gi++) {
            int64_t t = 0;
            for (int64_t p = 0; p < pos; p++) {
                im2col_row(&g, data + b * img_sz, gi, p / g.ow, p % g.ow, buf + t * k);
                if (++t == CALIB_CHUNK || p + 1 == pos) {
                    accumulate(&L->stats, gi, k, buf, t, k, false);
                    t = 0;
                }
            }
        }
    return ECC_OK;
}

static ecc_status collect_matrix(ecc_ctx *ctx, wl_layer *L, const ecc_rt_tensor *x) {
    const float *data = x->data;
    int64_t numel = 1;
    for (int32_t i = 0; i < x->rank; i++) numel *= x->dims[i];
    int32_t kaxis = L->x_trans ? x->rank - 2 : x->rank - 1;
    if (kaxis < 0 || x->dims[kaxis] != L->k)
        return ecc_ctx_error(ctx, ECC_E_INPUT, "%s '%s': its input does not have %lld "
                             "features on the reduction axis", L->node->op_type, L->name,
                             (long long)L->k);
    if (!L->x_trans) {
        for (int64_t t0 = 0; t0 < numel / L->k; t0 += CALIB_CHUNK) {
            int64_t t = numel / L->k - t0 < CALIB_CHUNK ? numel / L->k - t0 : CALIB_CHUNK;
            accumulate(&L->stats, 0, L->k, data + t0 * L->k, t, L->k, false);
        }
        return ECC_OK;
    }
    int64_t cols = x->dims[x->rank - 1], mat = L->k * cols;
    for (int64_t m0 = 0; m0 < numel; m0 += mat)
        accumulate(&L->stats, 0, L->k, data + m0, cols, cols, true);
    return ECC_OK;
}

typedef struct collect_job {
    ecc_ctx *ctx;
    wl_layers *ls;
    const bool *want;
    float *buf;           /* CALIB_CHUNK × largest Conv k */
    ecc_status st;
} collect_job;

static bool wanted(const collect_job *j, size_t i) {
    return j->ls->items[i].skip == 0 && (!j->want || j->want[i]);
}

static int collect_observe(void *user, const ecc_node *node, uint32_t slot, const ecc_value *v,
                           const ecc_rt_tensor *t) {
    (void)node, (void)slot;
    collect_job *j = user;
    for (size_t i = 0; i < j->ls->n && j->st == ECC_OK; i++) {
        wl_layer *L = &j->ls->items[i];
        if (!wanted(j, i) || L->node->inputs[L->x_slot] != v) continue;
        if (t->dtype != ECC_DTYPE_FLOAT)
            j->st = ecc_ctx_error(j->ctx, ECC_E_INPUT, "%s '%s': input '%s' is not float32",
                                  L->node->op_type, L->name, v->name);
        else if (wl_is_onnx(L->node, "Conv"))
            j->st = collect_conv(j->ctx, L, t, j->buf);
        else
            j->st = collect_matrix(j->ctx, L, t);
    }
    return j->st != ECC_OK;
}

static ecc_status stats_alloc(ecc_ctx *ctx, wl_layer *L, bool full) {
    wl_stats_free(&L->stats);
    size_t n = (size_t)(L->groups * L->k);
    L->stats.sq = calloc(n ? n : 1, sizeof *L->stats.sq);
    L->stats.mean = calloc(n ? n : 1, sizeof *L->stats.mean);
    if (full) L->stats.h = calloc(n * (size_t)L->k + 1, sizeof *L->stats.h);
    if (!L->stats.sq || !L->stats.mean || (full && !L->stats.h)) return ECC_OOM(ctx);
    return ECC_OK;
}

/* Mean over tokens; H mirrored from its upper triangle. */
static void stats_finish(wl_layer *L) {
    wl_stats *s = &L->stats;
    double inv = s->tokens ? 1.0 / (double)s->tokens : 0.0;
    int64_t k = L->k;
    for (int64_t i = 0; i < L->groups * k; i++) s->sq[i] *= inv, s->mean[i] *= inv;
    for (int64_t g = 0; s->h && g < L->groups; g++) {
        float *h = s->h + g * k * k;
        for (int64_t r = 0; r < k; r++) {
            for (int64_t c = r; c < k; c++) h[r * k + c] = (float)(h[r * k + c] * inv);
            for (int64_t c = 0; c < r; c++) h[r * k + c] = h[c * k + r];
        }
    }
}

/* Statistics of a layer whose input reached ±inf, or whose x xT left
 * float32's range (inputs beyond about 1e19), rank, prune and reconstruct
 * nothing: refused, naming the layer. */
static ecc_status stats_check(ecc_ctx *ctx, const wl_layer *L) {
    const wl_stats *s = &L->stats;
    int64_t n = L->groups * L->k, first;
    bool finite = !s->h || !ecc_nonfinite_count(s->h, n * L->k, &first);
    for (int64_t i = 0; finite && i < n; i++) finite = isfinite(s->sq[i]) && isfinite(s->mean[i]);
    if (finite) return ECC_OK;
    return ecc_ctx_error(ctx, ECC_E_INPUT,
                         "layer '%s': the layer input statistics (mean x xT) overflow float32: "
                         "the calibration data drives its input beyond 1e19 (is it scaled as "
                         "the model expects?)",
                         L->name);
}

ecc_status calib_collect_stats(ecc_ctx *ctx, ecc_model *model, const calib_data *d,
                               wl_layers *ls, const bool *want, bool full) {
    ecc_status st = ECC_OK;
    collect_job j = {.ctx = ctx, .ls = ls, .want = want};
    int64_t kmax = 1;
    for (size_t i = 0; i < ls->n; i++) {
        if (!wanted(&j, i)) continue;
        ECC_TRY(stats_alloc(ctx, &ls->items[i], full));
        if (ls->items[i].k > kmax) kmax = ls->items[i].k;
    }
    j.buf = malloc((size_t)(CALIB_CHUNK * kmax) * sizeof *j.buf);
    ECC_FAIL_IF(!j.buf, ctx, ECC_E_INTERNAL, "out of memory");
    st = calib_data_run(ctx, model, d, CALIB_BATCH, collect_observe, &j, NULL, NULL);
    if (j.st != ECC_OK) st = j.st;
    ECC_TRY(st);
    for (size_t i = 0; i < ls->n; i++) {
        if (!wanted(&j, i)) continue;
        stats_finish(&ls->items[i]);
        ECC_TRY(stats_check(ctx, &ls->items[i]));
    }
fail:
    free(j.buf);
    return st;
}

/* ---------------- run environment ---------------- */

/* Whether env (of its struct_size) holds `field`. */
#define ENV_HAS(env, field) \
    ((env) && (env)->struct_size >= offsetof(ecc_run_env, field) + sizeof(env)->field)

static const char *path_or_null(const char *p) { return p && *p ? p : NULL; }

const char *calib_env_path(const ecc_pass_run *run) {
    return ENV_HAS(run->env, calib_path) ? path_or_null(run->env->calib_path) : NULL;
}

const char *calib_env_train_path(const ecc_pass_run *run) {
    return ENV_HAS(run->env, train_path) ? path_or_null(run->env->train_path) : NULL;
}

const char *calib_env_labels_path(const ecc_pass_run *run) {
    return ENV_HAS(run->env, labels_path) ? path_or_null(run->env->labels_path) : NULL;
}

int64_t calib_env_given_size(const ecc_pass_run *run) {
    return ENV_HAS(run->env, calib_size) ? run->env->calib_size : 0;
}

int64_t calib_env_size(const ecc_pass_run *run) {
    int64_t n = calib_env_given_size(run);
    return n ? n : CALIB_DEFAULT_SIZE;
}
