/* kernels_cast.c — Cast and CastLike between the numeric types (float32/64,
 * float16, bfloat16, bool, int8..int64, uint8..uint64). A table of element
 * accessors per dtype: floating values travel as double, integers as
 * int64 (wrapping like C between integer types); float → integer truncates
 * and saturates (NaN → 0), anything → bool is "!= 0". */
#include "kernels.h"

#include <math.h>
#include <string.h>

typedef struct ecc_cast_io {
    bool is_float;
    bool is_u64;
    double (*get_f)(const void *p, int64_t i);
    int64_t (*get_i)(const void *p, int64_t i);
    void (*set_f)(void *p, int64_t i, double v);  /* from a floating value */
    void (*set_i)(void *p, int64_t i, int64_t v); /* from an integer value */
} ecc_cast_io;

/* float → integer: truncate toward zero, saturate, NaN → 0 */
static inline int64_t ecc_f2i(double v, double lo, double hi) {
    if (isnan(v)) return 0;
    v = trunc(v);
    return v <= lo ? (int64_t)lo : v >= hi ? (int64_t)hi : (int64_t)v;
}

#define ECC_CAST_INT(sfx, T, LO, HI)                                                     \
    static double ecc_gf_##sfx(const void *p, int64_t i) { return (double)((const T *)p)[i]; } \
    static int64_t ecc_gi_##sfx(const void *p, int64_t i) { return (int64_t)((const T *)p)[i]; } \
    static void ecc_sf_##sfx(void *p, int64_t i, double v) {                             \
        ((T *)p)[i] = (T)ecc_f2i(v, LO, HI);                                             \
    }                                                                                    \
    static void ecc_si_##sfx(void *p, int64_t i, int64_t v) { ((T *)p)[i] = (T)(uint64_t)v; }
ECC_CAST_INT(i8, int8_t, -128.0, 127.0)
ECC_CAST_INT(u8, uint8_t, 0.0, 255.0)
ECC_CAST_INT(i16, int16_t, -32768.0, 32767.0)
ECC_CAST_INT(u16, uint16_t, 0.0, 65535.0)
ECC_CAST_INT(i32, int32_t, -2147483648.0, 2147483647.0)
ECC_CAST_INT(u32, uint32_t, 0.0, 4294967295.0)
ECC_CAST_INT(i64, int64_t, -9223372036854775808.0, 9223372036854774784.0)

static double ecc_gf_u64(const void *p, int64_t i) { return (double)((const uint64_t *)p)[i]; }
static int64_t ecc_gi_u64(const void *p, int64_t i) { return (int64_t)((const uint64_t *)p)[i]; }
static void ecc_sf_u64(void *p, int64_t i, double v) {
    ((uint64_t *)p)[i] = isnan(v) || v <= 0 ? 0 : v >= 18446744073709549568.0
                                                    ? UINT64_MAX : (uint64_t)trunc(v);
}
static void ecc_si_u64(void *p, int64_t i, int64_t v) { ((uint64_t *)p)[i] = (uint64_t)v; }

static double ecc_gf_b8(const void *p, int64_t i) { return ((const uint8_t *)p)[i] != 0; }
static int64_t ecc_gi_b8(const void *p, int64_t i) { return ((const uint8_t *)p)[i] != 0; }
static void ecc_sf_b8(void *p, int64_t i, double v) { ((uint8_t *)p)[i] = v != 0; }
static void ecc_si_b8(void *p, int64_t i, int64_t v) { ((uint8_t *)p)[i] = v != 0; }

static double ecc_gf_f32(const void *p, int64_t i) { return ((const float *)p)[i]; }
static void ecc_sf_f32(void *p, int64_t i, double v) { ((float *)p)[i] = (float)v; }
static void ecc_si_f32(void *p, int64_t i, int64_t v) { ((float *)p)[i] = (float)v; }
static double ecc_gf_f64(const void *p, int64_t i) { return ((const double *)p)[i]; }
static void ecc_sf_f64(void *p, int64_t i, double v) { ((double *)p)[i] = v; }
static void ecc_si_f64(void *p, int64_t i, int64_t v) { ((double *)p)[i] = (double)v; }
static double ecc_gf_f16(const void *p, int64_t i) {
    return ecc_f16_to_f32(((const uint16_t *)p)[i]);
}
static void ecc_sf_f16(void *p, int64_t i, double v) {
    ((uint16_t *)p)[i] = ecc_f32_to_f16((float)v);
}
static void ecc_si_f16(void *p, int64_t i, int64_t v) {
    ((uint16_t *)p)[i] = ecc_f32_to_f16((float)v);
}
static double ecc_gf_bf16(const void *p, int64_t i) {
    return ecc_bf16_to_f32(((const uint16_t *)p)[i]);
}
static void ecc_sf_bf16(void *p, int64_t i, double v) {
    ((uint16_t *)p)[i] = ecc_f32_to_bf16((float)v);
}
static void ecc_si_bf16(void *p, int64_t i, int64_t v) {
    ((uint16_t *)p)[i] = ecc_f32_to_bf16((float)v);
}

#define ECC_IO_INT(sfx) {false, false, ecc_gf_##sfx, ecc_gi_##sfx, ecc_sf_##sfx, ecc_si_##sfx}
#define ECC_IO_FLT(sfx) {true, false, ecc_gf_##sfx, NULL, ecc_sf_##sfx, ecc_si_##sfx}

static const ecc_cast_io ecc_cast_table[ECC_DTYPE_COUNT] = {
    [ECC_DTYPE_FLOAT] = ECC_IO_FLT(f32),
    [ECC_DTYPE_UINT8] = ECC_IO_INT(u8),
    [ECC_DTYPE_INT8] = ECC_IO_INT(i8),
    [ECC_DTYPE_UINT16] = ECC_IO_INT(u16),
    [ECC_DTYPE_INT16] = ECC_IO_INT(i16),
    [ECC_DTYPE_INT32] = ECC_IO_INT(i32),
    [ECC_DTYPE_INT64] = ECC_IO_INT(i64),
    [ECC_DTYPE_BOOL] = ECC_IO_INT(b8),
    [ECC_DTYPE_FLOAT16] = ECC_IO_FLT(f16),
    [ECC_DTYPE_DOUBLE] = ECC_IO_FLT(f64),
    [ECC_DTYPE_UINT32] = ECC_IO_INT(u32),
    [ECC_DTYPE_UINT64] = {false, true, ecc_gf_u64, ecc_gi_u64, ecc_sf_u64, ecc_si_u64},
    [ECC_DTYPE_BFLOAT16] = ECC_IO_FLT(bf16),
};

static const ecc_cast_io *ecc_cast_io_of(int32_t dtype) {
    if (dtype <= 0 || dtype >= ECC_DTYPE_COUNT || !ecc_cast_table[dtype].get_f) return NULL;
    return &ecc_cast_table[dtype];
}

static ecc_status ecc_cast_to(ecc_kernel_ctx *k, const ecc_rt_tensor *x, int64_t to,
                              ecc_rt_tensor *out) {
    const ecc_cast_io *src = ecc_cast_io_of(x->dtype);
    const ecc_cast_io *dst = to > 0 && to < ECC_DTYPE_COUNT ? ecc_cast_io_of((int32_t)to) : NULL;
    if (!src || !dst)
        return ecc_kernel_fail(k, "cast from %s to %s is not supported",
                               ecc_dtype_name(x->dtype), ecc_dtype_name((int32_t)to));
    if (x->dtype == to) return ecc_kernel_alias(k, out, 0, x->rank, x->dims);
    ecc_status st = ecc_kernel_alloc(k, out, (int32_t)to, x->rank, x->dims);
    if (st) return st;
    int64_t n = ecc_rt_numel(x);
    if (src->is_float || (src->is_u64 && dst->is_float))
        for (int64_t i = 0; i < n; i++) dst->set_f(out->data, i, src->get_f(x->data, i));
    else
        for (int64_t i = 0; i < n; i++) dst->set_i(out->data, i, src->get_i(x->data, i));
    return ECC_OK;
}

ECC_KERNEL_PROTO(ecc_k_cast_any) {
    (void)node;
    ecc_status st = ECC_OK;
    int64_t to;
    ECC_TRY(ecc_k_need(k, in, n_in, 0, "input"));
    ECC_TRY(ecc_k_out0(k, out, n_out));
    ECC_TRY(ecc_ka_int(k, "to", -1, &to));
    ECC_KFAIL_IF(to < 0, k, "attribute 'to' is required");
    ECC_TRY(ecc_cast_to(k, in[0], to, out[0]));
fail:
    return st;
}

ECC_KERNEL_PROTO(ecc_k_castlike_any) {
    (void)node;
    ecc_status st = ecc_k_need(k, in, n_in, 0, "input");
    if (!st) st = ecc_k_need(k, in, n_in, 1, "target_type");
    if (!st) st = ecc_k_out0(k, out, n_out);
    return st ? st : ecc_cast_to(k, in[0], in[1]->dtype, out[0]);
}
