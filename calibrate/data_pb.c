/* data_pb.c — ONNX TensorProto files (input_K.pb / output_K.pb of the
 * test_data_set layout) through a small hand-rolled protobuf wire decoder:
 * dims, data_type, name, raw_data and the typed fields (packed or not).
 * calibrate/ may not use the generated bindings of formats/, and a
 * TensorProto is small enough to decode by hand. Two passes: the first
 * validates every field and counts typed values, the second copies them, so
 * no allocation happens before the payload size is known to match the dims. */
#include "data.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PB_MAX_FILE (1ull << 32) /* 4 GiB: larger tensors use external data */
#define PB_MAX_DIMS 64

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

/* TensorProto field numbers */
enum {
    F_DIMS = 1, F_DATA_TYPE = 2, F_SEGMENT = 3, F_FLOAT = 4, F_INT32 = 5, F_STRING = 6,
    F_INT64 = 7, F_NAME = 8, F_RAW = 9, F_DOUBLE = 10, F_UINT64 = 11, F_EXTERNAL = 13,
    F_LOCATION = 14,
};

typedef struct pb_cursor {
    const uint8_t *p, *end;
} pb_cursor;

static bool get_varint(pb_cursor *c, uint64_t *out) {
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (c->p >= c->end) return false;
        uint8_t b = *c->p++;
        if (shift == 63 && b > 1) return false; /* overlong / overflowing */
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

static bool get_fixed(pb_cursor *c, int size, uint64_t *out) {
    if (c->end - c->p < size) return false;
    uint64_t v = 0;
    for (int i = 0; i < size; i++) v |= (uint64_t)c->p[i] << (8 * i);
    c->p += size;
    *out = v;
    return true;
}

/* One field: number, wire type and either a scalar or a byte range. */
typedef struct pb_field {
    uint32_t num;
    int wt;
    uint64_t v;                /* VARINT, I64, I32 */
    const uint8_t *data;       /* LEN */
    size_t len;
} pb_field;

static bool next_field(pb_cursor *c, pb_field *f, const char **why) {
    uint64_t key;
    *why = "truncated or malformed field key";
    if (!get_varint(c, &key) || (key >> 3) == 0 || (key >> 3) > UINT32_MAX) return false;
    f->num = (uint32_t)(key >> 3);
    f->wt = (int)(key & 7);
    *why = "truncated field value";
    switch (f->wt) {
    case WT_VARINT: return get_varint(c, &f->v);
    case WT_I64: return get_fixed(c, 8, &f->v);
    case WT_I32: return get_fixed(c, 4, &f->v);
    case WT_LEN:
        if (!get_varint(c, &f->v) || f->v > (uint64_t)(c->end - c->p)) return false;
        f->data = c->p;
        f->len = (size_t)f->v;
        c->p += f->len;
        return true;
    default: *why = "unsupported wire type (groups)"; return false;
    }
}

/* Which scalar wire type each typed field uses unpacked, and its value size. */
typedef struct typed_field {
    uint32_t num;
    int wt;       /* WT_VARINT, WT_I32, WT_I64 */
    uint8_t dfield; /* ecc_dfield */
    const char *name;
} typed_field;

static const typed_field typed_fields[] = {
    {F_FLOAT, WT_I32, ECC_DF_FLOAT, "float_data"},
    {F_INT32, WT_VARINT, ECC_DF_INT32, "int32_data"},
    {F_INT64, WT_VARINT, ECC_DF_INT64, "int64_data"},
    {F_DOUBLE, WT_I64, ECC_DF_DOUBLE, "double_data"},
    {F_UINT64, WT_VARINT, ECC_DF_UINT64, "uint64_data"},
};
enum { N_TYPED = sizeof typed_fields / sizeof typed_fields[0] };

static const typed_field *typed_of(uint32_t num) {
    for (int i = 0; i < N_TYPED; i++)
        if (typed_fields[i].num == num) return &typed_fields[i];
    return NULL;
}

/* Number of scalars in a packed run; false when the run is malformed. */
static bool packed_count(const typed_field *tf, const pb_field *f, size_t *n) {
    if (tf->wt == WT_I32 || tf->wt == WT_I64) {
        size_t size = tf->wt == WT_I32 ? 4 : 8;
        *n = f->len / size;
        return f->len % size == 0;
    }
    pb_cursor c = {f->data, f->data + f->len};
    uint64_t v;
    *n = 0;
    while (c.p < c.end) {
        if (!get_varint(&c, &v)) return false;
        (*n)++;
    }
    return true;
}

typedef struct pb_scan {
    int64_t dims[PB_MAX_DIMS];
    int32_t rank;
    int64_t data_type;
    const uint8_t *name, *raw;
    size_t name_len, raw_len;
    bool has_raw;
    uint8_t typed_field;  /* ecc_dfield seen, ECC_DF_NONE if none */
    size_t typed_count;
} pb_scan;

static ecc_status scan_dims(ecc_ctx *ctx, pb_scan *s, const pb_field *f) {
    ecc_status st = ECC_OK;
    bool packed = f->wt == WT_LEN;
    pb_cursor c = {NULL, NULL};
    uint64_t v = f->v;
    if (packed) c.p = f->data, c.end = f->data + f->len;
    ECC_FAIL_IF(!packed && f->wt != WT_VARINT, ctx, ECC_E_INPUT, "dims has wire type %d", f->wt);
    while (packed ? c.p < c.end : true) {
        ECC_FAIL_IF(packed && !get_varint(&c, &v), ctx, ECC_E_INPUT, "malformed packed dims");
        ECC_FAIL_IF(s->rank == PB_MAX_DIMS, ctx, ECC_E_INPUT, "more than %d dims", PB_MAX_DIMS);
        ECC_FAIL_IF((int64_t)v < 0, ctx, ECC_E_INPUT, "negative dimension %lld",
                    (long long)(int64_t)v);
        s->dims[s->rank++] = (int64_t)v;
        if (!packed) break;
    }
fail:
    return st;
}

static ecc_status scan_typed(ecc_ctx *ctx, pb_scan *s, const typed_field *tf, const pb_field *f) {
    size_t n = 1;
    if (f->wt == WT_LEN) {
        if (!packed_count(tf, f, &n))
            return ecc_ctx_error(ctx, ECC_E_INPUT, "malformed packed %s", tf->name);
    } else if (f->wt != tf->wt) {
        return ecc_ctx_error(ctx, ECC_E_INPUT, "%s has wire type %d", tf->name, f->wt);
    }
    if (s->typed_field != ECC_DF_NONE && s->typed_field != tf->dfield)
        return ecc_ctx_error(ctx, ECC_E_INPUT, "values in two different typed fields");
    s->typed_field = tf->dfield;
    if (!ecc_add_size(s->typed_count, n, &s->typed_count))
        return ecc_ctx_error(ctx, ECC_E_INPUT, "too many values");
    return ECC_OK;
}

static ecc_status scan_bytes(ecc_ctx *ctx, const pb_field *f, const char *what,
                             const uint8_t **data, size_t *len) {
    if (f->wt != WT_LEN) return ecc_ctx_error(ctx, ECC_E_INPUT, "%s has wire type %d", what, f->wt);
    *data = f->data;
    *len = f->len;
    return ECC_OK;
}

/* Pass 1: every field checked, typed values counted. */
static ecc_status scan(ecc_ctx *ctx, const uint8_t *buf, size_t len, pb_scan *s) {
    ecc_status st = ECC_OK;
    pb_cursor c = {buf, buf + len};
    pb_field f = {0};
    const char *why;
    while (c.p < c.end) {
        ECC_FAIL_IF(!next_field(&c, &f, &why), ctx, ECC_E_INPUT, "not a TensorProto: %s", why);
        const typed_field *tf = typed_of(f.num);
        ECC_FAIL_IF(f.num == F_SEGMENT, ctx, ECC_E_INPUT,
                    "segmented tensors are not supported (or not a TensorProto)");
        ECC_FAIL_IF(f.num == F_STRING, ctx, ECC_E_INPUT, "string tensors are not supported");
        ECC_FAIL_IF(f.num == F_EXTERNAL || (f.num == F_LOCATION && f.v == 1), ctx, ECC_E_INPUT,
                    "tensors with external data are not supported here");
        if (f.num == F_DIMS) {
            ECC_TRY(scan_dims(ctx, s, &f));
        } else if (f.num == F_DATA_TYPE) {
            ECC_FAIL_IF(f.wt != WT_VARINT, ctx, ECC_E_INPUT, "data_type has wire type %d", f.wt);
            s->data_type = (int64_t)f.v;
        } else if (tf) {
            ECC_TRY(scan_typed(ctx, s, tf, &f));
        } else if (f.num == F_RAW) {
            ECC_TRY(scan_bytes(ctx, &f, "raw_data", &s->raw, &s->raw_len));
            s->has_raw = true;
        } else if (f.num == F_NAME) {
            ECC_TRY(scan_bytes(ctx, &f, "name", &s->name, &s->name_len));
        }
        /* other fields (doc_string, metadata, unknown) are skipped */
    }
fail:
    return st;
}

/* Pass 2: copies the typed values of field dfield into t. */
static void fill_value(ecc_tensor *t, size_t i, uint64_t v, uint8_t dfield) {
    const ecc_dtype_traits *tr = ecc_dtype_get(t->dtype);
    uint8_t *d = t->data;
    if (dfield == ECC_DF_INT32) {
        if (tr->bits <= 8) d[i] = tr->dclass == ECC_DC_BOOL ? (v != 0) : (uint8_t)v;
        else if (tr->bits == 16) { uint16_t x = (uint16_t)v; memcpy(d + 2 * i, &x, 2); }
        else { uint32_t x = (uint32_t)v; memcpy(d + 4 * i, &x, 4); }
    } else if (dfield == ECC_DF_FLOAT) {
        uint32_t x = (uint32_t)v;
        memcpy(d + 4 * i, &x, 4);
    } else if (dfield == ECC_DF_UINT64 && tr->bits == 32) {
        uint32_t x = (uint32_t)v;
        memcpy(d + 4 * i, &x, 4);
    } else {
        memcpy(d + 8 * i, &v, 8);
    }
}

static void fill(ecc_tensor *t, const uint8_t *buf, size_t len, uint8_t dfield) {
    pb_cursor c = {buf, buf + len};
    pb_field f = {0};
    const char *why;
    size_t i = 0;
    while (c.p < c.end && next_field(&c, &f, &why)) {
        const typed_field *tf = typed_of(f.num);
        if (!tf || tf->dfield != dfield) continue;
        if (f.wt != WT_LEN) {
            fill_value(t, i++, f.v, dfield);
            continue;
        }
        pb_cursor pc = {f.data, f.data + f.len};
        uint64_t v;
        while (pc.p < pc.end) {
            bool ok = tf->wt == WT_VARINT ? get_varint(&pc, &v)
                                          : get_fixed(&pc, tf->wt == WT_I32 ? 4 : 8, &v);
            if (!ok) return; /* validated in pass 1 */
            fill_value(t, i++, v, dfield);
        }
    }
}

static ecc_status check_payload(ecc_ctx *ctx, const pb_scan *s, const ecc_dtype_traits *tr,
                                int64_t numel) {
    ecc_status st = ECC_OK;
    size_t nbytes, count;
    ECC_FAIL_IF(!ecc_dtype_nbytes((int32_t)s->data_type, numel, &nbytes) ||
                    !ecc_dtype_typed_count((int32_t)s->data_type, numel, &count),
                ctx, ECC_E_INPUT, "tensor size overflows");
    ECC_FAIL_IF(s->has_raw && s->typed_field != ECC_DF_NONE, ctx, ECC_E_INPUT,
                "both raw_data and typed values are present");
    if (s->has_raw) {
        ECC_FAIL_IF(s->raw_len != nbytes, ctx, ECC_E_INPUT,
                    "raw_data has %zu bytes, the dims need %zu", s->raw_len, nbytes);
    } else if (numel > 0) {
        ECC_FAIL_IF(s->typed_field == ECC_DF_NONE, ctx, ECC_E_INPUT, "the tensor has no data");
        ECC_FAIL_IF(s->typed_field != tr->field, ctx, ECC_E_INPUT,
                    "values of a %s tensor are in the wrong typed field", tr->name);
        ECC_FAIL_IF(s->typed_count != count, ctx, ECC_E_INPUT,
                    "%zu typed values, the dims need %zu", s->typed_count, count);
    }
fail:
    return st;
}

ecc_status ecc_pb_tensor_decode(ecc_ctx *ctx, const void *buf, size_t len, ecc_tensor **out) {
    ecc_status st = ECC_OK;
    pb_scan s = {0};
    ecc_tensor *t = NULL;
    int64_t numel = 1;
    *out = NULL;
    ECC_TRY(scan(ctx, buf, len, &s));
    const ecc_dtype_traits *tr =
        s.data_type > 0 && s.data_type < INT32_MAX ? ecc_dtype_get((int32_t)s.data_type) : NULL;
    ECC_FAIL_IF(!tr || tr->dclass == ECC_DC_NONE, ctx, ECC_E_INPUT,
                "data_type %lld is missing or unknown", (long long)s.data_type);
    ECC_FAIL_IF(tr->dclass == ECC_DC_STRING, ctx, ECC_E_INPUT, "string tensors are not supported");
    for (int32_t i = 0; i < s.rank; i++)
        ECC_FAIL_IF(!ecc_mul_i64(numel, s.dims[i], &numel), ctx, ECC_E_INPUT,
                    "dims overflow int64");
    ECC_TRY(check_payload(ctx, &s, tr, numel));
    ECC_TRY(ecc_tensor_create(ctx, (int32_t)s.data_type, s.rank, s.dims, &t));
    if (s.has_raw) memcpy(t->data, s.raw, s.raw_len);
    else if (numel > 0) fill(t, buf, len, s.typed_field);
    if (s.name_len) {
        t->name = malloc(s.name_len + 1);
        ECC_FAIL_IF(!t->name, ctx, ECC_E_INTERNAL, "out of memory");
        memcpy(t->name, s.name, s.name_len);
        t->name[s.name_len] = 0;
        ECC_FAIL_IF(strlen(t->name) != s.name_len, ctx, ECC_E_INPUT, "name contains a NUL byte");
    }
    *out = t;
    return ECC_OK;
fail:
    ecc_tensor_unref(t);
    return st;
}

ecc_status ecc_pb_tensor_read(ecc_ctx *ctx, const char *path, ecc_tensor **out) {
    ecc_status st = ECC_OK;
    FILE *fp = NULL;
    uint8_t *buf = NULL;
    int64_t size = 0;
    *out = NULL;
    ecc_ctx_set_subject(ctx, path);
    ECC_TRY(ecc_input_fopen(ctx, path, &fp, &size));
    ECC_FAIL_IF((uint64_t)size > PB_MAX_FILE, ctx, ECC_E_INPUT,
                "file too large for a TensorProto (%lld bytes)", (long long)size);
    buf = malloc((size_t)size + 1);
    ECC_FAIL_IF(!buf, ctx, ECC_E_INTERNAL, "out of memory");
    ECC_FAIL_IF(fread(buf, 1, (size_t)size, fp) != (size_t)size, ctx, ECC_E_INTERNAL,
                "read failed");
    ECC_TRY(ecc_pb_tensor_decode(ctx, buf, (size_t)size, out));
fail:
    if (fp) fclose(fp);
    free(buf);
    return st;
}

/* ---------------- a .pb file as a whole stream ---------------- */

static ecc_status pb_read(ecc_ctx *ctx, ecc_data_stream *s, int64_t n, void *dst) {
    (void)ctx;
    (void)n;
    const ecc_tensor *t = s->state;
    if (t->nbytes) memcpy(dst, t->data, t->nbytes);
    return ECC_OK;
}

static void pb_close(ecc_data_stream *s) { ecc_tensor_unref(s->state); }

static const ecc_data_stream_ops pb_ops = {"pb", pb_read, NULL, pb_close};

ecc_status ecc_data_open_pb(ecc_ctx *ctx, const char *path, ecc_data_stream **out) {
    ecc_status st = ECC_OK;
    ecc_data_stream *s = NULL;
    ecc_tensor *t = NULL;
    *out = NULL;
    ECC_TRY(ecc_pb_tensor_read(ctx, path, &t));
    ECC_FAIL_IF(t->rank > ECC_MAX_RANK, ctx, ECC_E_INPUT, "rank %d is not supported (max %d)",
                (int)t->rank, ECC_MAX_RANK);
    ECC_TRY(ecc_data_stream_new(ctx, path, &pb_ops, &s));
    s->state = t;
    t = NULL;
    const ecc_tensor *held = s->state;
    s->whole = true;
    s->dtype = held->dtype;
    s->rank = held->rank;
    memcpy(s->dims, held->dims, sizeof(int64_t) * (size_t)held->rank);
    if (held->name) ECC_FAIL_IF(!(s->name = strdup(held->name)), ctx, ECC_E_INTERNAL,
                                "out of memory");
    ECC_TRY(ecc_data_stream_finish(ctx, s));
    *out = s;
    return ECC_OK;
fail:
    ecc_tensor_unref(t);
    ecc_data_close(s);
    return st;
}
