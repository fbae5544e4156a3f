/* dtype.h — element types: the X-macro table of every ONNX TensorProto data
 * type with its traits (bits per element, class, typed protobuf field). */
#ifndef ECC_DTYPE_H
#define ECC_DTYPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Class of an element type. */
typedef enum ecc_dclass {
    ECC_DC_NONE, ECC_DC_FLOAT, ECC_DC_SINT, ECC_DC_UINT, ECC_DC_BOOL, ECC_DC_STRING,
    ECC_DC_COMPLEX,
} ecc_dclass;

/* Which typed TensorProto field carries the values when raw_data is not used. */
typedef enum ecc_dfield {
    ECC_DF_NONE, ECC_DF_FLOAT, ECC_DF_INT32, ECC_DF_STRING, ECC_DF_INT64, ECC_DF_DOUBLE,
    ECC_DF_UINT64,
} ecc_dfield;

/*  X(ENUM, onnx_id, "name", bits, class, typed_field) */
#define ECC_DTYPES(X)                                                        \
    X(UNDEFINED, 0, "undefined", 0, ECC_DC_NONE, ECC_DF_NONE)                \
    X(FLOAT, 1, "float32", 32, ECC_DC_FLOAT, ECC_DF_FLOAT)                   \
    X(UINT8, 2, "uint8", 8, ECC_DC_UINT, ECC_DF_INT32)                       \
    X(INT8, 3, "int8", 8, ECC_DC_SINT, ECC_DF_INT32)                         \
    X(UINT16, 4, "uint16", 16, ECC_DC_UINT, ECC_DF_INT32)                    \
    X(INT16, 5, "int16", 16, ECC_DC_SINT, ECC_DF_INT32)                      \
    X(INT32, 6, "int32", 32, ECC_DC_SINT, ECC_DF_INT32)                      \
    X(INT64, 7, "int64", 64, ECC_DC_SINT, ECC_DF_INT64)                      \
    X(STRING, 8, "string", 0, ECC_DC_STRING, ECC_DF_STRING)                  \
    X(BOOL, 9, "bool", 8, ECC_DC_BOOL, ECC_DF_INT32)                         \
    X(FLOAT16, 10, "float16", 16, ECC_DC_FLOAT, ECC_DF_INT32)                \
    X(DOUBLE, 11, "float64", 64, ECC_DC_FLOAT, ECC_DF_DOUBLE)                \
    X(UINT32, 12, "uint32", 32, ECC_DC_UINT, ECC_DF_UINT64)                  \
    X(UINT64, 13, "uint64", 64, ECC_DC_UINT, ECC_DF_UINT64)                  \
    X(COMPLEX64, 14, "complex64", 64, ECC_DC_COMPLEX, ECC_DF_FLOAT)          \
    X(COMPLEX128, 15, "complex128", 128, ECC_DC_COMPLEX, ECC_DF_DOUBLE)      \
    X(BFLOAT16, 16, "bfloat16", 16, ECC_DC_FLOAT, ECC_DF_INT32)              \
    X(FLOAT8E4M3FN, 17, "float8e4m3fn", 8, ECC_DC_FLOAT, ECC_DF_INT32)       \
    X(FLOAT8E4M3FNUZ, 18, "float8e4m3fnuz", 8, ECC_DC_FLOAT, ECC_DF_INT32)   \
    X(FLOAT8E5M2, 19, "float8e5m2", 8, ECC_DC_FLOAT, ECC_DF_INT32)           \
    X(FLOAT8E5M2FNUZ, 20, "float8e5m2fnuz", 8, ECC_DC_FLOAT, ECC_DF_INT32)   \
    X(UINT4, 21, "uint4", 4, ECC_DC_UINT, ECC_DF_INT32)                      \
    X(INT4, 22, "int4", 4, ECC_DC_SINT, ECC_DF_INT32)                        \
    X(FLOAT4E2M1, 23, "float4e2m1", 4, ECC_DC_FLOAT, ECC_DF_INT32)

typedef enum ecc_dtype {
#define ECC_X_ENUM(e, id, name, bits, cls, field) ECC_DTYPE_##e = id,
    ECC_DTYPES(ECC_X_ENUM)
#undef ECC_X_ENUM
    ECC_DTYPE_COUNT
} ecc_dtype;

typedef struct ecc_dtype_traits {
    const char *name;
    uint8_t bits;   /* 0 for strings/undefined */
    uint8_t dclass; /* ecc_dclass */
    uint8_t field;  /* ecc_dfield */
} ecc_dtype_traits;

/* Traits of an ONNX data type id; NULL when the id is unknown. */
const ecc_dtype_traits *ecc_dtype_get(int32_t onnx_id);
const char *ecc_dtype_name(int32_t onnx_id); /* "dtype(99)" style for unknown ids */
/* Bytes needed for numel elements (sub-byte types packed); false on overflow or
 * for strings/undefined. */
bool ecc_dtype_nbytes(int32_t onnx_id, int64_t numel, size_t *out);
/* Number of typed-field entries (float_data, int32_data, …) that carry numel
 * elements: 4-bit types pack two per int32, complex types use two entries. */
bool ecc_dtype_typed_count(int32_t onnx_id, int64_t numel, size_t *out);

#endif
