/* tensor_proto.c — TensorProto ⇄ ecc_tensor. Reading validates dtype, dims
 * and data size and converts raw_data, typed fields (float_data, int32_data,
 * …) or external data into canonical little-endian packed bytes; big
 * raw_data buffers are taken over from protobuf-c instead of copied. Writing
 * re-emits the storage a tensor was read with (raw, typed or external) and
 * points the message at the tensor's bytes whenever the layout allows. */
#include "onnx_internal.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* The typed TensorProto fields, indexed by ecc_dfield. */
typedef struct typed_field {
    const char *name;
    size_t n_off, p_off; /* offsets of the count and the array */
    size_t width;        /* bytes per entry */
} typed_field;

#define TF(field, w)                                                                               \
    { #field, offsetof(Onnx__TensorProto, n_##field), offsetof(Onnx__TensorProto, field), w }
static const typed_field k_typed[] = {
    [ECC_DF_NONE] = {NULL, 0, 0, 0},
    [ECC_DF_FLOAT] = TF(float_data, 4),
    [ECC_DF_INT32] = TF(int32_data, 4),
    [ECC_DF_STRING] = TF(string_data, sizeof(ProtobufCBinaryData)),
    [ECC_DF_INT64] = TF(int64_data, 8),
    [ECC_DF_DOUBLE] = TF(double_data, 8),
    [ECC_DF_UINT64] = TF(uint64_data, 8),
};
#undef TF
#define N_TYPED (sizeof k_typed / sizeof k_typed[0])

static size_t *typed_count(Onnx__TensorProto *tp, int f) {
    return (size_t *)((char *)tp + k_typed[f].n_off);
}
static void *typed_array(const Onnx__TensorProto *tp, int f) {
    void *p;
    memcpy(&p, (const char *)tp + k_typed[f].p_off, sizeof p);
    return p;
}
static void typed_set(Onnx__TensorProto *tp, int f, size_t count, void *p) {
    *typed_count(tp, f) = count;
    memcpy((char *)tp + k_typed[f].p_off, &p, sizeof p);
}

/* ======================= reading ======================= */

/* Shape: rank bound, non-negative dims, element count and byte size. */
static ecc_status check_shape(ecc_ctx *ctx, const Onnx__TensorProto *tp, const char *name,
                              int64_t *numel, size_t *nbytes) {
    ecc_status st = ECC_OK;
    const ecc_dtype_traits *tr = ecc_dtype_get(tp->data_type);
    ECC_FAIL_IF(!tp->has_data_type || tp->data_type == 0, ctx, ECC_E_INPUT,
                "tensor '%s': undefined data type (0)", ECC_Q(name));
    ECC_FAIL_IF(!tr, ctx, ECC_E_INPUT, "tensor '%s': unknown data type %d", ECC_Q(name),
                (int)tp->data_type);
    ECC_FAIL_IF(tp->n_dims > 64, ctx, ECC_E_INPUT, "tensor '%s': rank %zu exceeds 64", ECC_Q(name),
                tp->n_dims);
    *numel = 1;
    for (size_t i = 0; i < tp->n_dims; i++) {
        ECC_FAIL_IF(tp->dims[i] < 0, ctx, ECC_E_INPUT, "tensor '%s': negative dimension %lld",
                    ECC_Q(name), (long long)tp->dims[i]);
        ECC_FAIL_IF(!ecc_mul_i64(*numel, tp->dims[i], numel), ctx, ECC_E_INPUT,
                    "tensor '%s': element count of its dims overflows int64", ECC_Q(name));
    }
    *nbytes = 0;
    ECC_FAIL_IF(tr->dclass != ECC_DC_STRING && !ecc_dtype_nbytes(tp->data_type, *numel, nbytes),
                ctx, ECC_E_INPUT, "tensor '%s': byte size of %lld %s elements overflows",
                ECC_Q(name), (long long)*numel, tr->name);
    return ECC_OK;
fail:
    return st;
}

static size_t typed_total(Onnx__TensorProto *tp) {
    size_t n = 0;
    for (size_t f = 1; f < N_TYPED; f++)
        n += *typed_count(tp, (int)f);
    return n;
}

/* Which storage the data comes from, with the consistency checks. */
static ecc_status pick_storage(ecc_ctx *ctx, Onnx__TensorProto *tp, const char *name, size_t nbytes,
                               uint8_t *storage) {
    ecc_status st = ECC_OK;
    const ecc_dtype_traits *tr = ecc_dtype_get(tp->data_type);
    bool is_string = tr->dclass == ECC_DC_STRING;
    ECC_FAIL_IF(tp->has_data_location && tp->data_location != 0 && tp->data_location != 1, ctx,
                ECC_E_INPUT, "tensor '%s': unknown data_location %d", ECC_Q(name),
                (int)tp->data_location);
    if (tp->has_data_location && tp->data_location == 1) {
        ECC_FAIL_IF(is_string, ctx, ECC_E_INPUT,
                    "tensor '%s': string tensors cannot use external data", ECC_Q(name));
        ECC_FAIL_IF(tp->has_raw_data || typed_total(tp), ctx, ECC_E_INPUT,
                    "tensor '%s': external data and inline data at the same time", ECC_Q(name));
        *storage = ECC_STORAGE_EXTERNAL;
        return ECC_OK;
    }
    if (tp->has_raw_data) {
        ECC_FAIL_IF(is_string, ctx, ECC_E_INPUT, "tensor '%s': string tensors cannot use raw_data",
                    ECC_Q(name));
        ECC_FAIL_IF(typed_total(tp), ctx, ECC_E_INPUT,
                    "tensor '%s' has both raw_data and a typed data field", ECC_Q(name));
        ECC_FAIL_IF(tp->raw_data.len != nbytes, ctx, ECC_E_INPUT,
                    "tensor '%s': raw_data holds %zu bytes, its dims need %zu", ECC_Q(name),
                    tp->raw_data.len, nbytes);
        *storage = ECC_STORAGE_RAW;
        return ECC_OK;
    }
    *storage = ECC_STORAGE_TYPED;
    return ECC_OK;
fail:
    return st;
}

/* Typed field → canonical bytes: the low `dst_w` bytes of every entry. */
static void widen_down(const uint8_t *src, size_t src_w, size_t count, uint8_t *dst, size_t dst_w) {
    if (src_w == dst_w) {
        memcpy(dst, src, count * src_w);
        return;
    }
    for (size_t i = 0; i < count; i++)
        memcpy(dst + i * dst_w, src + i * src_w, dst_w);
}

/* The typed field of the dtype holds exactly the entries numel needs and no
 * other typed field is used. */
static ecc_status check_typed(ecc_ctx *ctx, Onnx__TensorProto *tp, const char *name,
                              int64_t numel) {
    ecc_status st = ECC_OK;
    const ecc_dtype_traits *tr = ecc_dtype_get(tp->data_type);
    int f = tr->field;
    size_t want = 0;
    for (size_t g = 1; g < N_TYPED; g++)
        ECC_FAIL_IF((int)g != f && *typed_count(tp, (int)g), ctx, ECC_E_INPUT,
                    "tensor '%s' (%s) carries %s, expected %s", ECC_Q(name), tr->name,
                    k_typed[g].name, k_typed[f].name);
    if (tr->dclass == ECC_DC_STRING)
        want = (size_t)numel;
    else
        ECC_FAIL_IF(!ecc_dtype_typed_count(tp->data_type, numel, &want), ctx, ECC_E_INPUT,
                    "tensor '%s': too many elements", ECC_Q(name));
    size_t have = *typed_count(tp, f);
    ECC_FAIL_IF(have != want, ctx, ECC_E_INPUT, "tensor '%s': %s has %zu values, %s needs %zu",
                ECC_Q(name), k_typed[f].name, have, ECC_Q(name), want);
fail:
    return st;
}

/* Fills t (checked by check_typed) from the typed field. */
static ecc_status read_typed(ecc_ctx *ctx, Onnx__TensorProto *tp, ecc_tensor *t) {
    ecc_status st = ECC_OK;
    const ecc_dtype_traits *tr = ecc_dtype_get(t->dtype);
    int f = tr->field;
    size_t have = *typed_count(tp, f);
    if (tr->dclass == ECC_DC_STRING) {
        for (size_t i = 0; i < have; i++) {
            const ProtobufCBinaryData *b = &tp->string_data[i];
            uint8_t *d = malloc(b->len + 1);
            ECC_FAIL_IF(!d, ctx, ECC_E_INTERNAL, "out of memory");
            if (b->len) memcpy(d, b->data, b->len);
            d[b->len] = 0;
            t->strings[i].data = d;
            t->strings[i].len = b->len;
        }
    } else if (have && k_typed[f].width == t->nbytes / have) {
        /* same layout: take protobuf-c's malloc'd array instead of copying */
        free(t->data);
        t->data = typed_array(tp, f);
        typed_set(tp, f, 0, NULL);
    } else if (have) {
        widen_down(typed_array(tp, f), k_typed[f].width, have, t->data, t->nbytes / have);
    }
fail:
    return st;
}

/* Keeps every external_data entry for re-emission. */
static ecc_status copy_external_kv(ecc_ctx *ctx, const Onnx__TensorProto *tp, ecc_tensor *t) {
    ecc_status st = ECC_OK;
    if (!tp->n_external_data) return ECC_OK;
    t->external = calloc(tp->n_external_data, sizeof *t->external);
    ECC_FAIL_IF(!t->external, ctx, ECC_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < tp->n_external_data; i++) {
        const Onnx__StringStringEntryProto *e = tp->external_data[i];
        t->n_external = i + 1;
        t->external[i].key = strdup(e->key ? e->key : "");
        t->external[i].value = strdup(e->value ? e->value : "");
        ECC_FAIL_IF(!t->external[i].key || !t->external[i].value, ctx, ECC_E_INTERNAL,
                    "out of memory");
    }
    return ECC_OK;
fail:
    return st;
}

/* Name, doc string, segment, external entries and unknown fields. */
static ecc_status copy_meta(ecc_ctx *ctx, const Onnx__TensorProto *tp, ecc_tensor *t) {
    ecc_status st = ECC_OK;
    if (tp->name) ECC_FAIL_IF(!(t->name = strdup(tp->name)), ctx, ECC_E_INTERNAL, "out of memory");
    if (tp->doc_string)
        ECC_FAIL_IF(!(t->doc_string = strdup(tp->doc_string)), ctx, ECC_E_INTERNAL,
                    "out of memory");
    if (tp->segment) {
        t->has_segment = true;
        t->segment_begin = tp->segment->begin;
        t->segment_end = tp->segment->end;
    }
    ECC_TRY(copy_external_kv(ctx, tp, t));
    ECC_TRY(ecc_onnx_unknown_save(ctx, &tp->base, &t->unknown));
fail:
    return st;
}

ecc_status ecc_onnx_tensor_read(ecc_onnx_rd *r, Onnx__TensorProto *tp, ecc_tensor **out) {
    ecc_status st = ECC_OK;
    ecc_ctx *ctx = r->ctx;
    ecc_tensor *t = NULL;
    const char *name = tp->name ? tp->name : "";
    int64_t numel;
    size_t nbytes;
    uint8_t storage;
    *out = NULL;
    void *ext = NULL;
    ECC_TRY(check_shape(ctx, tp, name, &numel, &nbytes));
    ECC_TRY(pick_storage(ctx, tp, name, nbytes, &storage));
    /* data sizes are checked before anything of that size is allocated */
    if (storage == ECC_STORAGE_EXTERNAL)
        ECC_TRY(ecc_onnx_external_load(ctx, r->base_dir, name, tp->external_data,
                                       tp->n_external_data, nbytes, &ext));
    else if (storage == ECC_STORAGE_TYPED)
        ECC_TRY(check_typed(ctx, tp, name, numel));
    ECC_TRY(ecc_tensor_create(ctx, tp->data_type, (int32_t)tp->n_dims, tp->dims, &t));
    t->storage = storage;
    ECC_TRY(copy_meta(ctx, tp, t));
    if (storage == ECC_STORAGE_EXTERNAL) {
        free(t->data);
        t->data = ext;
        ext = NULL;
    } else if (storage == ECC_STORAGE_RAW && nbytes) {
        /* take protobuf-c's malloc'd copy instead of copying it again */
        free(t->data);
        t->data = tp->raw_data.data;
        tp->raw_data.data = NULL;
        tp->raw_data.len = 0;
    } else if (storage == ECC_STORAGE_TYPED) {
        ECC_TRY(read_typed(ctx, tp, t));
    }
    *out = t;
    return ECC_OK;
fail:
    free(ext);
    ecc_tensor_unref(t);
    return st;
}

/* ======================= writing ======================= */

static ecc_status side_write(ecc_onnx_wr *w, const void *p, size_t n) {
    if (n && fwrite(p, 1, n, w->side.fp) != n)
        return ecc_ctx_error(w->ctx, ECC_E_INTERNAL, "cannot write external data file '%s': %s",
                             w->side_path, strerror(errno));
    w->side_off += n;
    return ECC_OK;
}

/* Appends t's bytes to the side file at the next 4096-aligned offset. */
static ecc_status side_append(ecc_onnx_wr *w, const ecc_tensor *t, uint64_t *offset) {
    static const uint8_t zeros[4096];
    ecc_status st = ECC_OK;
    if (!w->side_open) {
        ECC_TRY(ecc_atomic_open(w->ctx, w->side_path, &w->side));
        w->side_open = true;
    }
    size_t pad = (size_t)((4096 - w->side_off % 4096) % 4096);
    ECC_TRY(side_write(w, zeros, pad));
    *offset = w->side_off;
    ECC_TRY(side_write(w, t->data, t->nbytes));
fail:
    return st;
}

static Onnx__StringStringEntryProto *kv_new(ecc_onnx_wr *w, const char *k, const char *v) {
    Onnx__StringStringEntryProto *e = ecc_arena_alloc(w->a, sizeof *e);
    if (!e) return NULL;
    onnx__string_string_entry_proto__init(e);
    e->key = ecc_arena_strdup(w->a, k);
    e->value = ecc_arena_strdup(w->a, v);
    return e->key && e->value ? e : NULL;
}

static bool is_ext_key(const char *k) {
    return !strcmp(k, "location") || !strcmp(k, "offset") || !strcmp(k, "length");
}

static ecc_status write_external(ecc_onnx_wr *w, const ecc_tensor *t, Onnx__TensorProto *out) {
    ecc_status st = ECC_OK;
    uint64_t off = 0;
    char num[2][32];
    ECC_TRY(side_append(w, t, &off));
    snprintf(num[0], sizeof num[0], "%llu", (unsigned long long)off);
    snprintf(num[1], sizeof num[1], "%zu", t->nbytes);
    Onnx__StringStringEntryProto **kv = ecc_arena_alloc(w->a, (t->n_external + 3) * sizeof *kv);
    ECC_FAIL_IF(!kv, w->ctx, ECC_E_INTERNAL, "out of memory");
    size_t n = 0;
    kv[n++] = kv_new(w, "location", w->side_name);
    kv[n++] = kv_new(w, "offset", num[0]);
    kv[n++] = kv_new(w, "length", num[1]);
    for (size_t i = 0; i < t->n_external; i++)
        if (!is_ext_key(t->external[i].key))
            kv[n++] = kv_new(w, t->external[i].key, t->external[i].value);
    for (size_t i = 0; i < n; i++)
        ECC_FAIL_IF(!kv[i], w->ctx, ECC_E_INTERNAL, "out of memory");
    out->n_external_data = n;
    out->external_data = kv;
    out->has_data_location = 1;
    out->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
fail:
    return st;
}

/* Canonical bytes → typed entries (sign-extending 8/16-bit signed ints). */
static void widen_up(const uint8_t *src, size_t src_w, size_t count, uint8_t *dst, size_t dst_w,
                     bool sign) {
    for (size_t i = 0; i < count; i++) {
        const uint8_t *s = src + i * src_w;
        uint8_t *d = dst + i * dst_w;
        memcpy(d, s, src_w);
        memset(d + src_w, sign && (s[src_w - 1] & 0x80) ? 0xff : 0, dst_w - src_w);
    }
}

static ecc_status write_strings(ecc_onnx_wr *w, const ecc_tensor *t, Onnx__TensorProto *out) {
    ecc_status st = ECC_OK;
    size_t n = (size_t)t->numel;
    if (!n) return ECC_OK;
    ProtobufCBinaryData *b = ecc_arena_alloc(w->a, n * sizeof *b);
    ECC_FAIL_IF(!b, w->ctx, ECC_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        b[i].len = t->strings ? t->strings[i].len : 0;
        b[i].data = t->strings ? t->strings[i].data : NULL;
    }
    out->n_string_data = n;
    out->string_data = b;
fail:
    return st;
}

static ecc_status write_typed(ecc_onnx_wr *w, const ecc_tensor *t, Onnx__TensorProto *out) {
    ecc_status st = ECC_OK;
    const ecc_dtype_traits *tr = ecc_dtype_get(t->dtype);
    if (tr->dclass == ECC_DC_STRING) return write_strings(w, t, out);
    size_t count = 0;
    int f = tr->field;
    ECC_FAIL_IF(!ecc_dtype_typed_count(t->dtype, t->numel, &count), w->ctx, ECC_E_INTERNAL,
                "tensor '%s': too large for typed fields", ECC_Q(t->name));
    if (!count) return ECC_OK;
    size_t ew = t->nbytes / count, fw = k_typed[f].width;
    void *arr = t->data;
    if (ew != fw) {
        arr = ecc_arena_alloc(w->a, count * fw);
        ECC_FAIL_IF(!arr, w->ctx, ECC_E_INTERNAL, "out of memory");
        bool sign = tr->dclass == ECC_DC_SINT && (tr->bits == 8 || tr->bits == 16);
        widen_up(t->data, ew, count, arr, fw, sign);
    }
    typed_set(out, f, count, arr);
fail:
    return st;
}

static ecc_status write_meta(ecc_onnx_wr *w, const ecc_tensor *t, const char *name,
                             Onnx__TensorProto *out) {
    ecc_status st = ECC_OK;
    out->n_dims = (size_t)t->rank;
    out->dims = t->dims;
    out->has_data_type = 1;
    out->data_type = t->dtype;
    out->name = (char *)(name ? name : t->name);
    out->doc_string = t->doc_string && *t->doc_string ? t->doc_string : NULL;
    if (t->has_segment) {
        Onnx__TensorProto__Segment *s = ecc_arena_alloc(w->a, sizeof *s);
        ECC_FAIL_IF(!s, w->ctx, ECC_E_INTERNAL, "out of memory");
        onnx__tensor_proto__segment__init(s);
        s->has_begin = s->has_end = 1;
        s->begin = t->segment_begin;
        s->end = t->segment_end;
        out->segment = s;
    }
    ECC_TRY(ecc_onnx_unknown_load(w->ctx, w->a, &t->unknown, &out->base));
fail:
    return st;
}

ecc_status ecc_onnx_tensor_write(ecc_onnx_wr *w, const ecc_tensor *t, const char *name,
                                 Onnx__TensorProto *out) {
    ecc_status st = ECC_OK;
    const ecc_dtype_traits *tr = ecc_dtype_get(t->dtype);
    onnx__tensor_proto__init(out);
    ECC_FAIL_IF(!tr || !t->dtype, w->ctx, ECC_E_INTERNAL, "tensor '%s': invalid data type %d",
                ECC_Q(name ? name : t->name), (int)t->dtype);
    ECC_TRY(write_meta(w, t, name, out));
    bool is_string = tr->dclass == ECC_DC_STRING;
    bool ext =
        w->allow_external && !is_string &&
        (t->storage == ECC_STORAGE_EXTERNAL || (w->external_all && t->nbytes >= w->external_min));
    if (ext) {
        ECC_TRY(write_external(w, t, out));
    } else if (is_string || t->storage == ECC_STORAGE_TYPED) {
        ECC_TRY(write_typed(w, t, out));
    } else {
        out->has_raw_data = 1;
        out->raw_data.len = t->nbytes;
        out->raw_data.data = t->data;
    }
fail:
    return st;
}
