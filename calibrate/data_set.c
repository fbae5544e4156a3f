/* data_set.c — ecc_dataset (public, ecc.h): recognises each data path
 * (.npy, IDX, .pb, folders of input_K.pb or images), maps the streams onto
 * the inputs of a session, checks types and shapes against them before any
 * sample is read (exact reshapes only, uint8 pixels → float × scale), and
 * hands out batches from buffers it reuses. */
#include "data.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct ds_src {
    ecc_data_stream *s;
    int32_t dtype;              /* of the arrays handed out */
    int32_t rank;               /* of the arrays handed out */
    int64_t dims[ECC_MAX_RANK]; /* dims[1..] of handed-out arrays (all of them when whole) */
    size_t sample_bytes;        /* of a handed-out sample */
    double scale;               /* != 0: convert uint8 pixels to dtype × scale */
    uint8_t *buf;               /* handed-out bytes */
    size_t buf_cap;
} ds_src;

struct ecc_dataset {
    ds_src *src;
    size_t n;
    int64_t samples, pos;
    bool whole;
};

/* ---------------- shapes in messages ---------------- */

static const char *fmt_dims(char *buf, size_t cap, const int64_t *dims, int32_t rank,
                            bool batch_axis) {
    size_t n = (size_t)snprintf(buf, cap, "[");
    for (int32_t i = 0; i < rank && n < cap; i++) {
        if (dims[i] < 0) n += (size_t)snprintf(buf + n, cap - n, i == 0 && batch_axis ? "N" : "?");
        else n += (size_t)snprintf(buf + n, cap - n, "%lld", (long long)dims[i]);
        if (i + 1 < rank && n < cap) n += (size_t)snprintf(buf + n, cap - n, ",");
    }
    if (n < cap) snprintf(buf + n, cap - n, "]");
    return buf;
}

/* ---------------- recognising paths ---------------- */

typedef struct ds_list {
    ecc_data_stream **items;
    size_t n, cap;
} ds_list;

static ecc_status list_push(ecc_ctx *ctx, ds_list *l, ecc_data_stream *s) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 8;
        ecc_data_stream **grown = realloc(l->items, cap * sizeof *grown);
        if (!grown) {
            ecc_data_close(s);
            return ECC_OOM(ctx);
        }
        l->items = grown;
        l->cap = cap;
    }
    l->items[l->n++] = s;
    return ECC_OK;
}

/* Something is there (a FIFO too: its reader refuses it rather than skip it). */
static bool exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0;
}

static bool dir_has_prefix(const char *dir, const char *prefix) {
    DIR *d = opendir(dir);
    struct dirent *e;
    bool found = false;
    while (d && !found && (e = readdir(d))) found = !strncmp(e->d_name, prefix, strlen(prefix));
    if (d) closedir(d);
    return found;
}

/* input_0.pb, input_1.pb, … as whole streams */
static ecc_status open_pb_dir(ecc_ctx *ctx, const char *dir, ds_list *l) {
    ecc_status st = ECC_OK;
    char path[4096];
    for (int k = 0;; k++) {
        ECC_FAIL_IF((size_t)snprintf(path, sizeof path, "%s/input_%d.pb", dir, k) >= sizeof path,
                    ctx, ECC_E_INPUT, "path too long");
        if (!exists(path)) break;
        ecc_data_stream *s;
        ECC_TRY(ecc_data_open_pb(ctx, path, &s));
        ECC_TRY(list_push(ctx, l, s));
    }
fail:
    return st;
}

/* Image preprocessing for model input `in` (NCHW/NHWC, rank 4). */
static ecc_status image_prep(ecc_ctx *ctx, const char *dir, const ecc_array *in,
                             const ecc_data_options *o, ecc_image_prep *p) {
    ecc_status st = ECC_OK;
    ecc_ctx_set_subject(ctx, dir);
    ECC_FAIL_IF(!in, ctx, ECC_E_INPUT, "a folder of images needs a model input to size it");
    ECC_FAIL_IF(in->rank != 4, ctx, ECC_E_INPUT,
                "images feed 4-D inputs (NCHW or NHWC); the model input has rank %d",
                (int)in->rank);
    bool nhwc = o->layout == ECC_LAYOUT_NHWC ||
                (o->layout == ECC_LAYOUT_AUTO && (in->dims[3] == 1 || in->dims[3] == 3) &&
                 in->dims[1] != 1 && in->dims[1] != 3);
    int64_t c = nhwc ? in->dims[3] : in->dims[1];
    int64_t h = nhwc ? in->dims[1] : in->dims[2], w = nhwc ? in->dims[2] : in->dims[3];
    memset(p, 0, sizeof *p);
    p->nhwc = nhwc;
    p->channels = o->channels ? o->channels : (int32_t)(c > 0 && c < 8 ? c : 0);
    p->height = o->height ? o->height : (int32_t)(h > 0 && h <= 65536 ? h : 0);
    p->width = o->width ? o->width : (int32_t)(w > 0 && w <= 65536 ? w : 0);
    ECC_FAIL_IF(!p->height || !p->width, ctx, ECC_E_INPUT,
                "the model input has no fixed image size: give --height/--width");
    p->resize = o->resize;
    p->raw = in->dtype == ECC_DTYPE_UINT8;
    p->scale = o->scale ? o->scale : 1.0 / 255;
    memcpy(p->mean, o->mean, sizeof p->mean);
    memcpy(p->std, o->std, sizeof p->std);
fail:
    return st;
}

/* Opens one path; `in` is the model input its first stream will feed (or NULL). */
static ecc_status open_path(ecc_ctx *ctx, const char *path, const ecc_array *in,
                            const ecc_data_options *o, ds_list *l) {
    ecc_status st = ECC_OK;
    struct stat sb;
    uint8_t head[8] = {0};
    ecc_data_stream *s = NULL;
    FILE *fp = NULL;
    ecc_ctx_set_subject(ctx, path);
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        char probe[4096];
        snprintf(probe, sizeof probe, "%s/input_0.pb", path);
        if (exists(probe)) return open_pb_dir(ctx, path, l);
        ECC_FAIL_IF(dir_has_prefix(path, "test_data_set_"), ctx, ECC_E_INPUT,
                    "holds test_data_set_* folders: give one of them");
        ECC_FAIL_IF(!ecc_data_dir_has_images(path), ctx, ECC_E_INPUT,
                    "folder holds neither input_K.pb files nor .png/.jpg images");
        ecc_image_prep p;
        ECC_TRY(image_prep(ctx, path, in, o, &p));
        ECC_TRY(ecc_data_open_images(ctx, path, &p, &s));
        return list_push(ctx, l, s);
    }
    ECC_TRY(ecc_input_fopen(ctx, path, &fp, NULL)); /* regular files only: never blocks */
    size_t got = fread(head, 1, sizeof head, fp);
    fclose(fp);
    size_t len = strlen(path);
    if (got >= 6 && !memcmp(head, "\x93NUMPY", 6)) ECC_TRY(ecc_data_open_npy(ctx, path, &s));
    else if (len > 3 && !strcmp(path + len - 3, ".pb")) ECC_TRY(ecc_data_open_pb(ctx, path, &s));
    else if (got >= 4 && ((head[0] == 0 && head[1] == 0) || (head[0] == 0x1f && head[1] == 0x8b)))
        ECC_TRY(ecc_data_open_idx(ctx, path, &s));
    else
        ECC_FAIL_IF(true, ctx, ECC_E_INPUT,
                    "unknown data format (expected .npy, IDX, .pb, or a folder of input_K.pb "
                    "files or images)");
    return list_push(ctx, l, s);
fail:
    return st;
}

/* ---------------- binding streams to model inputs ---------------- */

static bool squeezed_equal(const int64_t *a, int32_t na, const int64_t *b, int32_t nb) {
    int32_t i = 0, j = 0;
    for (;;) {
        while (i < na && a[i] == 1) i++;
        while (j < nb && b[j] == 1) j++;
        if (i == na || j == nb) return i == na && j == nb;
        if (a[i++] != b[j++]) return false;
    }
}

static int64_t numel_of(const int64_t *d, int32_t n) {
    int64_t x = 1;
    for (int32_t i = 0; i < n; i++)
        if (!ecc_mul_i64(x, d[i], &x) || d[i] < 0) return -1;
    return x;
}

/* Sample dims of d->s against the input's dims[1..]: as is, or an exact reshape. */
static ecc_status bind_shape(ecc_ctx *ctx, ds_src *d, const ecc_array *in, const char *name) {
    ecc_status st = ECC_OK;
    const ecc_data_stream *s = d->s;
    char a[200], b[200];
    const int64_t *S = s->dims + 1, *M = in->dims + 1;
    int32_t sr = s->rank - 1, mr = in->rank - 1;
    bool same = sr == mr, known = true;
    for (int32_t i = 0; i < mr; i++) {
        if (same && M[i] >= 0 && M[i] != S[i]) same = false;
        if (M[i] < 0) known = false;
    }
    ECC_FAIL_IF(in->rank < 1, ctx, ECC_E_INPUT,
                "the model input '%s' is a scalar and cannot take a batch of samples", name);
    d->rank = in->rank;
    if (same) {
        memcpy(d->dims + 1, S, sizeof(int64_t) * (size_t)sr);
        return ECC_OK;
    }
    ECC_FAIL_IF(!known || numel_of(S, sr) != numel_of(M, mr) ||
                    !(squeezed_equal(S, sr, M, mr) || mr == 1),
                ctx, ECC_E_INPUT, "samples of shape %s do not fit the model input '%s' %s",
                fmt_dims(a, sizeof a, S, sr, false), name,
                fmt_dims(b, sizeof b, in->dims, in->rank, true));
    memcpy(d->dims + 1, M, sizeof(int64_t) * (size_t)mr);
fail:
    return st;
}

static ecc_status bind_whole(ecc_ctx *ctx, ds_src *d, const ecc_array *in, const char *name) {
    const ecc_data_stream *s = d->s;
    char a[200], b[200];
    bool same = s->rank == in->rank;
    for (int32_t i = 0; same && i < in->rank; i++) same = in->dims[i] < 0 || in->dims[i] == s->dims[i];
    if (!same)
        return ecc_ctx_error(ctx, ECC_E_INPUT, "tensor of shape %s does not fit the model input "
                             "'%s' %s", fmt_dims(a, sizeof a, s->dims, s->rank, false), name,
                             fmt_dims(b, sizeof b, in->dims, in->rank, true));
    d->rank = s->rank;
    memcpy(d->dims, s->dims, sizeof d->dims);
    return ECC_OK;
}

static bool is_float(int32_t dtype) {
    return dtype == ECC_DTYPE_FLOAT || dtype == ECC_DTYPE_DOUBLE || dtype == ECC_DTYPE_FLOAT16;
}

static ecc_status bind_src(ecc_ctx *ctx, ds_src *d, const ecc_array *in, const char *name,
                           const ecc_data_options *o) {
    ecc_status st = ECC_OK;
    ecc_data_stream *s = d->s;
    ecc_ctx_set_subject(ctx, s->path);
    d->dtype = in->dtype;
    if (s->dtype != in->dtype) {
        ECC_FAIL_IF(!(s->pixels && is_float(in->dtype)), ctx, ECC_E_INPUT,
                    "element type %s does not match the model input '%s' (%s)",
                    ecc_dtype_name(s->dtype), name, ecc_dtype_name(in->dtype));
        d->scale = o->scale ? o->scale : 1.0 / 255;
    }
    if (in->rank < 0) { /* the model says nothing about the shape: as stored */
        d->rank = s->rank;
        memcpy(d->dims, s->dims, sizeof d->dims);
    } else if (s->whole) {
        ECC_TRY(bind_whole(ctx, d, in, name));
    } else {
        ECC_TRY(bind_shape(ctx, d, in, name));
    }
    int64_t numel = numel_of(d->dims + (s->whole ? 0 : 1), d->rank - (s->whole ? 0 : 1));
    ECC_FAIL_IF(numel < 0 || !ecc_dtype_nbytes(d->dtype, numel, &d->sample_bytes), ctx,
                ECC_E_INPUT, "sample size overflows");
fail:
    return st;
}

static void bind_natural(ds_src *d) {
    d->dtype = d->s->dtype;
    d->rank = d->s->rank;
    memcpy(d->dims, d->s->dims, sizeof d->dims);
    d->sample_bytes = d->s->sample_bytes;
}

/* Orders the streams as the session's inputs: pb names first, then position. */
static ecc_status map_inputs(ecc_ctx *ctx, ecc_dataset *ds, const ds_list *l,
                             const ecc_session *bind) {
    ecc_status st = ECC_OK;
    size_t n_in = ecc_session_input_count(bind);
    bool *used = calloc(l->n + 1, 1);
    ECC_FAIL_IF(!used, ctx, ECC_E_INTERNAL, "out of memory");
    ECC_FAIL_IF(l->n != n_in, ctx, ECC_E_INPUT,
                "the model has %zu input(s) (first: '%s'), the data gives %zu array(s)", n_in,
                n_in ? ecc_session_input(bind, 0, NULL) : "", l->n);
    for (size_t i = 0; i < n_in; i++)
        for (size_t k = 0; k < l->n; k++)
            if (!used[k] && l->items[k]->name &&
                !strcmp(l->items[k]->name, ecc_session_input(bind, i, NULL))) {
                ds->src[i].s = l->items[k];
                used[k] = true;
                break;
            }
    for (size_t i = 0, k = 0; i < n_in; i++) {
        if (ds->src[i].s) continue;
        while (used[k]) k++;
        ds->src[i].s = l->items[k];
        used[k] = true;
    }
fail:
    free(used);
    return st;
}

static ecc_status count_samples(ecc_ctx *ctx, ecc_dataset *ds, const ecc_data_options *o) {
    ecc_status st = ECC_OK;
    const ecc_data_stream *first = ds->src[0].s;
    ds->whole = first->whole;
    ds->samples = first->rank >= 1 ? first->dims[0] : 1;
    ecc_ctx_set_subject(ctx, first->path);
    /* a whole tensor may be empty (a test case's input); a sample file may not */
    ECC_FAIL_IF(!ds->whole && ds->samples == 0, ctx, ECC_E_INPUT,
                "holds no samples (its first axis is 0)");
    for (size_t i = 1; i < ds->n; i++) {
        const ecc_data_stream *s = ds->src[i].s;
        ecc_ctx_set_subject(ctx, s->path);
        ECC_FAIL_IF(s->whole != ds->whole, ctx, ECC_E_INPUT,
                    ".pb tensors cannot be mixed with sample files (%s)", first->path);
        ECC_FAIL_IF(!ds->whole && s->dims[0] != ds->samples, ctx, ECC_E_INPUT,
                    "%lld samples, but %s has %lld", (long long)s->dims[0], first->path,
                    (long long)ds->samples);
    }
    if (!ds->whole && o->limit > 0 && o->limit < ds->samples) ds->samples = o->limit;
fail:
    return st;
}

ecc_status ecc_dataset_open(ecc_ctx *ctx, const char *const *paths, size_t n_paths,
                            const ecc_session *bind, const ecc_data_options *opts,
                            ecc_dataset **out) {
    ecc_status st = ECC_OK;
    ecc_data_options o = {sizeof o};
    ds_list l = {0};
    ecc_dataset *ds = NULL;
    ecc_array in;
    *out = NULL;
    if (opts) memcpy(&o, opts, opts->struct_size < sizeof o ? opts->struct_size : sizeof o);
    ECC_FAIL_IF(n_paths == 0, ctx, ECC_E_USAGE, "no data given");
    for (size_t i = 0; i < n_paths; i++) {
        bool has_in = bind && l.n < ecc_session_input_count(bind);
        if (has_in) ecc_session_input(bind, l.n, &in);
        ECC_TRY(open_path(ctx, paths[i], has_in ? &in : NULL, &o, &l));
    }
    ds = calloc(1, sizeof *ds);
    ECC_FAIL_IF(!ds, ctx, ECC_E_INTERNAL, "out of memory");
    ds->src = calloc(l.n, sizeof *ds->src);
    ds->n = l.n;
    ECC_FAIL_IF(!ds->src, ctx, ECC_E_INTERNAL, "out of memory");
    if (bind) ECC_TRY(map_inputs(ctx, ds, &l, bind));
    else for (size_t i = 0; i < l.n; i++) ds->src[i].s = l.items[i];
    l.n = 0; /* the dataset owns the streams now */
    for (size_t i = 0; i < ds->n; i++) {
        if (!bind) {
            bind_natural(&ds->src[i]);
            continue;
        }
        const char *name = ecc_session_input(bind, i, &in);
        ECC_TRY(bind_src(ctx, &ds->src[i], &in, name, &o));
    }
    ECC_TRY(count_samples(ctx, ds, &o));
    *out = ds;
    goto done;
fail:
    ecc_dataset_free(ds);
done:
    for (size_t i = 0; i < l.n; i++) ecc_data_close(l.items[i]);
    free(l.items);
    return st;
}

void ecc_dataset_free(ecc_dataset *ds) {
    if (!ds) return;
    for (size_t i = 0; ds->src && i < ds->n; i++) {
        ecc_data_close(ds->src[i].s);
        free(ds->src[i].buf);
    }
    free(ds->src);
    free(ds);
}

int64_t ecc_dataset_samples(const ecc_dataset *ds) { return ds->samples; }
size_t ecc_dataset_arrays(const ecc_dataset *ds) { return ds->n; }
bool ecc_dataset_whole(const ecc_dataset *ds) { return ds->whole; }

/* ---------------- batches ---------------- */

static ecc_status grow(ecc_ctx *ctx, uint8_t **buf, size_t *cap, size_t need) {
    if (need <= *cap) return ECC_OK;
    uint8_t *p = realloc(*buf, need ? need : 1);
    if (!p) return ecc_ctx_error(ctx, ECC_E_INTERNAL, "out of memory (%zu-byte batch)", need);
    *buf = p;
    *cap = need;
    return ECC_OK;
}

static void convert_pixels(const uint8_t *src, size_t n, int32_t dtype, double scale, void *dst) {
    for (size_t i = 0; i < n; i++) {
        double v = src[i] * scale;
        if (dtype == ECC_DTYPE_FLOAT) ((float *)dst)[i] = (float)v;
        else if (dtype == ECC_DTYPE_DOUBLE) ((double *)dst)[i] = v;
        else ((uint16_t *)dst)[i] = ecc_f32_to_f16((float)v);
    }
}

static ecc_status read_src(ecc_ctx *ctx, ds_src *d, int64_t n, ecc_array *a) {
    ecc_status st = ECC_OK;
    size_t out_bytes, in_bytes;
    int64_t got;
    ECC_FAIL_IF(!ecc_mul_size(d->sample_bytes, (size_t)n, &out_bytes) ||
                    !ecc_mul_size(d->s->sample_bytes, (size_t)n, &in_bytes),
                ctx, ECC_E_INPUT, "batch size overflows");
    ECC_TRY(grow(ctx, &d->buf, &d->buf_cap, out_bytes));
    if (d->scale) {
        /* pixels land in the tail of the output buffer and are widened in place
         * front to back: element i is read before its wider slot overwrites it */
        uint8_t *raw = d->buf + (out_bytes - in_bytes);
        ECC_TRY(ecc_data_read(ctx, d->s, n, raw, &got));
        convert_pixels(raw, in_bytes, d->dtype, d->scale, d->buf);
    } else {
        ECC_TRY(ecc_data_read(ctx, d->s, n, d->buf, &got));
    }
    ECC_FAIL_IF(got != n && !d->s->whole, ctx, ECC_E_INTERNAL, "short read");
    a->dtype = d->dtype;
    a->rank = d->rank;
    memcpy(a->dims, d->dims, sizeof a->dims);
    if (!d->s->whole) a->dims[0] = n;
    a->data = d->buf;
    a->nbytes = out_bytes;
fail:
    return st;
}

ecc_status ecc_dataset_next_batch(ecc_ctx *ctx, ecc_dataset *ds, int64_t max, ecc_array *out,
                                  int64_t *got) {
    ecc_status st = ECC_OK;
    int64_t n = ds->samples - ds->pos;
    *got = 0;
    if (n <= 0) return ECC_OK;
    ECC_FAIL_IF(max < 1, ctx, ECC_E_USAGE, "batch size must be at least 1");
    if (ds->whole) max = n; /* whole tensors: one batch */
    if (n > max) n = max;
    for (size_t i = 0; i < ds->n; i++) ECC_TRY(read_src(ctx, &ds->src[i], ds->whole ? 1 : n, &out[i]));
    ds->pos += n;
    *got = n;
fail:
    return st;
}

ecc_status ecc_dataset_rewind(ecc_ctx *ctx, ecc_dataset *ds) {
    ecc_status st = ECC_OK;
    for (size_t i = 0; i < ds->n; i++) ECC_TRY(ecc_data_rewind(ctx, ds->src[i].s));
    ds->pos = 0;
fail:
    return st;
}
