/* tensor.c — ref-counted tensors: creation, cloning, copy-on-write, element
 * access across dtypes (float16, bfloat16, 4-bit packed) and equality. */
#include "ir.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void ecc_tensor_release(ecc_tensor *t) {
    free(t->dims);
    free(t->data);
    if (t->strings)
        for (int64_t i = 0; i < t->numel; i++) free(t->strings[i].data);
    free(t->strings);
    free(t->name);
    free(t->doc_string);
    for (size_t i = 0; i < t->n_external; i++) {
        free((char *)t->external[i].key);
        free((char *)t->external[i].value);
    }
    free(t->external);
    for (size_t i = 0; i < t->unknown.n; i++) free(t->unknown.items[i].data);
    free(t->unknown.items);
    free(t);
}

ecc_status ecc_tensor_create(ecc_ctx *ctx, int32_t dtype, int32_t rank, const int64_t *dims,
                             ecc_tensor **out) {
    ecc_status st = ECC_OK;
    ecc_tensor *t = NULL;
    *out = NULL;
    const ecc_dtype_traits *tr = ecc_dtype_get(dtype);
    ECC_FAIL_IF(!tr, ctx, ECC_E_INPUT, "unsupported tensor data type %d", (int)dtype);
    ECC_FAIL_IF(rank < 0 || rank > 64, ctx, ECC_E_INPUT, "tensor rank %d out of range [0, 64]",
                (int)rank);
    t = calloc(1, sizeof *t);
    ECC_FAIL_IF(!t, ctx, ECC_E_INTERNAL, "out of memory");
    t->refcount = 1;
    t->dtype = dtype;
    t->rank = rank;
    t->dims = calloc((size_t)rank + 1, sizeof(int64_t));
    ECC_FAIL_IF(!t->dims, ctx, ECC_E_INTERNAL, "out of memory");
    t->numel = 1;
    for (int32_t i = 0; i < rank; i++) {
        ECC_FAIL_IF(dims[i] < 0, ctx, ECC_E_INPUT, "negative dimension %lld",
                    (long long)dims[i]);
        ECC_FAIL_IF(!ecc_mul_i64(t->numel, dims[i], &t->numel), ctx, ECC_E_INPUT,
                    "tensor dimensions overflow int64");
        t->dims[i] = dims[i];
    }
    if (tr->dclass == ECC_DC_STRING) {
        ECC_FAIL_IF((uint64_t)t->numel > SIZE_MAX / sizeof(ecc_bytes), ctx, ECC_E_INPUT,
                    "string tensor too large");
        t->strings = calloc((size_t)t->numel + 1, sizeof(ecc_bytes));
        ECC_FAIL_IF(!t->strings, ctx, ECC_E_INTERNAL, "out of memory");
    } else {
        ECC_FAIL_IF(!ecc_dtype_nbytes(dtype, t->numel, &t->nbytes), ctx, ECC_E_INPUT,
                    "tensor byte size overflows");
        t->data = calloc(t->nbytes ? t->nbytes : 1, 1);
        ECC_FAIL_IF(!t->data, ctx, ECC_E_INTERNAL,
                    "out of memory allocating a %zu-byte tensor", t->nbytes);
    }
    *out = t;
    return ECC_OK;
fail:
    if (t) ecc_tensor_release(t);
    return st;
}

ecc_tensor *ecc_tensor_ref(ecc_tensor *t) {
    if (t) t->refcount++;
    return t;
}

void ecc_tensor_unref(ecc_tensor *t) {
    if (t && --t->refcount == 0) ecc_tensor_release(t);
}

static char *ecc_strdup_or_null(const char *s, bool *oom) {
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) *oom = true;
    return d;
}

ecc_status ecc_tensor_clone(ecc_ctx *ctx, const ecc_tensor *t, ecc_tensor **out) {
    ecc_status st = ecc_tensor_create(ctx, t->dtype, t->rank, t->dims, out);
    if (st) return st;
    ecc_tensor *c = *out;
    bool oom = false;
    if (t->nbytes) memcpy(c->data, t->data, t->nbytes);
    for (int64_t i = 0; t->strings && i < t->numel; i++) {
        c->strings[i].len = t->strings[i].len;
        c->strings[i].data = malloc(t->strings[i].len + 1);
        if (!c->strings[i].data) { oom = true; break; }
        memcpy(c->strings[i].data, t->strings[i].data, t->strings[i].len);
    }
    c->name = ecc_strdup_or_null(t->name, &oom);
    c->doc_string = ecc_strdup_or_null(t->doc_string, &oom);
    c->storage = t->storage == ECC_STORAGE_EXTERNAL ? ECC_STORAGE_RAW : t->storage;
    c->has_segment = t->has_segment;
    c->segment_begin = t->segment_begin;
    c->segment_end = t->segment_end;
    if (oom) {
        ecc_tensor_unref(c);
        *out = NULL;
        return ECC_OOM(ctx);
    }
    return ECC_OK;
}

ecc_status ecc_tensor_make_unique(ecc_ctx *ctx, ecc_tensor **t) {
    if ((*t)->refcount == 1) return ECC_OK;
    ecc_tensor *c;
    ecc_status st = ecc_tensor_clone(ctx, *t, &c);
    if (st) return st;
    ecc_tensor_unref(*t);
    *t = c;
    return ECC_OK;
}

/* ---- float16 / bfloat16 ---- */

float ecc_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    float f;
    if (exp == 0) f = ldexpf((float)man, -24);
    else if (exp == 31) f = man ? NAN : INFINITY;
    else f = ldexpf((float)(man | 0x400), (int)exp - 25);
    return sign ? -f : f;
}

uint16_t ecc_f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    if (isnan(f)) return sign | 0x7e00;
    float a = fabsf(f);
    if (a >= 65520.0f) return sign | 0x7c00;
    if (a < ldexpf(1.0f, -25)) return sign;
    int e;
    frexpf(a, &e); /* a = m * 2^e, m in [0.5,1) */
    int exp = e - 1 + 15;
    if (exp <= 0) { /* subnormal: units of 2^-24, round to nearest even */
        return sign | (uint16_t)lrintf(ldexpf(a, 24));
    }
    uint32_t man = (uint32_t)lrintf(ldexpf(a, 10 - (e - 1))); /* 1024..2048 */
    if (man == 2048) { man = 1024; exp++; }
    if (exp >= 31) return sign | 0x7c00;
    return sign | (uint16_t)(exp << 10) | (uint16_t)(man - 1024);
}

float ecc_bf16_to_f32(uint16_t h) {
    uint32_t x = (uint32_t)h << 16;
    float f;
    memcpy(&f, &x, 4);
    return f;
}

uint16_t ecc_f32_to_bf16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    if (isnan(f)) return (uint16_t)((x >> 16) | 0x40);
    x += 0x7fff + ((x >> 16) & 1); /* round to nearest even */
    return (uint16_t)(x >> 16);
}

/* ---- element access ---- */

static int ecc_nibble_at(const void *data, int64_t i) {
    uint8_t b = ((const uint8_t *)data)[i / 2];
    return (i % 2) ? (b >> 4) : (b & 0xf);
}

double ecc_dtype_load_f64(const void *d, int32_t dtype, int64_t i, double unsupported) {
    switch (dtype) { /* storage layouts differ per type; a table can't express loads */
    case ECC_DTYPE_FLOAT: return ((const float *)d)[i];
    case ECC_DTYPE_DOUBLE: return ((const double *)d)[i];
    case ECC_DTYPE_FLOAT16: return ecc_f16_to_f32(((const uint16_t *)d)[i]);
    case ECC_DTYPE_BFLOAT16: return ecc_bf16_to_f32(((const uint16_t *)d)[i]);
    case ECC_DTYPE_INT8: return ((const int8_t *)d)[i];
    case ECC_DTYPE_UINT8: case ECC_DTYPE_BOOL: return ((const uint8_t *)d)[i];
    case ECC_DTYPE_INT16: return ((const int16_t *)d)[i];
    case ECC_DTYPE_UINT16: return ((const uint16_t *)d)[i];
    case ECC_DTYPE_INT32: return ((const int32_t *)d)[i];
    case ECC_DTYPE_UINT32: return ((const uint32_t *)d)[i];
    case ECC_DTYPE_INT64: return (double)((const int64_t *)d)[i];
    case ECC_DTYPE_UINT64: return (double)((const uint64_t *)d)[i];
    case ECC_DTYPE_UINT4: return ecc_nibble_at(d, i);
    case ECC_DTYPE_INT4: { int v = ecc_nibble_at(d, i); return v >= 8 ? v - 16 : v; }
    default: return unsupported;
    }
}

double ecc_tensor_get_f64(const ecc_tensor *t, int64_t i) {
    return ecc_dtype_load_f64(t->data, t->dtype, i, 0.0);
}

static double ecc_sat(double v, double lo, double hi) {
    if (isnan(v)) return 0;
    v = nearbyint(v);
    return v < lo ? lo : v > hi ? hi : v;
}

static void ecc_set_nibble(ecc_tensor *t, int64_t i, int v) {
    uint8_t *b = (uint8_t *)t->data + i / 2;
    if (i % 2) *b = (uint8_t)((*b & 0x0f) | ((v & 0xf) << 4));
    else *b = (uint8_t)((*b & 0xf0) | (v & 0xf));
}

void ecc_tensor_set_f64(ecc_tensor *t, int64_t i, double v) {
    void *d = t->data;
    switch (t->dtype) {
    case ECC_DTYPE_FLOAT: ((float *)d)[i] = (float)v; break;
    case ECC_DTYPE_DOUBLE: ((double *)d)[i] = v; break;
    case ECC_DTYPE_FLOAT16: ((uint16_t *)d)[i] = ecc_f32_to_f16((float)v); break;
    case ECC_DTYPE_BFLOAT16: ((uint16_t *)d)[i] = ecc_f32_to_bf16((float)v); break;
    case ECC_DTYPE_INT8: ((int8_t *)d)[i] = (int8_t)ecc_sat(v, -128, 127); break;
    case ECC_DTYPE_UINT8: ((uint8_t *)d)[i] = (uint8_t)ecc_sat(v, 0, 255); break;
    case ECC_DTYPE_BOOL: ((uint8_t *)d)[i] = v != 0; break;
    case ECC_DTYPE_INT16: ((int16_t *)d)[i] = (int16_t)ecc_sat(v, -32768, 32767); break;
    case ECC_DTYPE_UINT16: ((uint16_t *)d)[i] = (uint16_t)ecc_sat(v, 0, 65535); break;
    case ECC_DTYPE_INT32: ((int32_t *)d)[i] = (int32_t)ecc_sat(v, -2147483648.0, 2147483647.0); break;
    case ECC_DTYPE_UINT32: ((uint32_t *)d)[i] = (uint32_t)ecc_sat(v, 0, 4294967295.0); break;
    case ECC_DTYPE_INT64: ((int64_t *)d)[i] = (int64_t)ecc_sat(v, -9.2233720368547748e18, 9.2233720368547748e18 - 1024); break;
    case ECC_DTYPE_UINT64: ((uint64_t *)d)[i] = (uint64_t)ecc_sat(v, 0, 1.8446744073709550e19); break;
    case ECC_DTYPE_UINT4: ecc_set_nibble(t, i, (int)ecc_sat(v, 0, 15)); break;
    case ECC_DTYPE_INT4: ecc_set_nibble(t, i, (int)ecc_sat(v, -8, 7)); break;
    default: break;
    }
}

void ecc_index_text(int32_t rank, const int64_t *dims, int64_t i, char *buf, size_t n) {
    if (n == 0) return;
    size_t len = (size_t)snprintf(buf, n, "[");
    for (int32_t d = 0; d < rank && len < n; d++) {
        int64_t stride = 1;
        for (int32_t e = d + 1; e < rank; e++) stride *= dims[e] > 0 ? dims[e] : 1;
        int64_t at = dims[d] > 0 ? i / stride % dims[d] : 0;
        int k = snprintf(buf + len, n - len, "%s%lld", d ? "," : "", (long long)at);
        if (k < 0) return;
        len += (size_t)k;
    }
    if (len < n) snprintf(buf + len, n - len, "]");
}

int64_t ecc_nonfinite_count(const float *x, int64_t n, int64_t *first) {
    int64_t bad = 0;
    *first = -1;
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(x[i]) && bad++ == 0) *first = i;
    return bad;
}

const char *ecc_nonfinite_name(float v) { return isnan(v) ? "NaN" : v > 0 ? "inf" : "-inf"; }

bool ecc_tensor_equal(const ecc_tensor *a, const ecc_tensor *b) {
    if (a->dtype != b->dtype || a->rank != b->rank || a->nbytes != b->nbytes) return false;
    if (memcmp(a->dims, b->dims, (size_t)a->rank * sizeof(int64_t)) != 0) return false;
    if (a->nbytes && memcmp(a->data, b->data, a->nbytes) != 0) return false;
    if (a->strings || b->strings) {
        if (!a->strings || !b->strings) return false;
        for (int64_t i = 0; i < a->numel; i++) {
            if (a->strings[i].len != b->strings[i].len) return false;
            if (a->strings[i].len &&
                memcmp(a->strings[i].data, b->strings[i].data, a->strings[i].len) != 0)
                return false;
        }
    }
    return true;
}
