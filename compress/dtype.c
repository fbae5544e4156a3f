/* dtype.c — the dtype traits table built from ECC_DTYPES, and size
 * arithmetic for packed (sub-byte) element types. */
#include "dtype.h"

#include <assert.h>
#include <stdio.h>

static const ecc_dtype_traits ecc_dtype_table[] = {
#define ECC_X_TRAITS(e, id, nm, b, cls, fld) [id] = {.name = nm, .bits = b, .dclass = cls, .field = fld},
    ECC_DTYPES(ECC_X_TRAITS)
#undef ECC_X_TRAITS
};
static_assert(sizeof ecc_dtype_table / sizeof ecc_dtype_table[0] == ECC_DTYPE_COUNT,
              "dtype table must cover every id below ECC_DTYPE_COUNT");

const ecc_dtype_traits *ecc_dtype_get(int32_t id) {
    if (id <= 0 || id >= ECC_DTYPE_COUNT) return NULL;
    return &ecc_dtype_table[id];
}

const char *ecc_dtype_name(int32_t id) {
    static _Thread_local char buf[32];
    if (id == 0) return "undefined";
    const ecc_dtype_traits *t = ecc_dtype_get(id);
    if (t) return t->name;
    snprintf(buf, sizeof buf, "dtype(%d)", (int)id);
    return buf;
}

bool ecc_dtype_nbytes(int32_t id, int64_t numel, size_t *out) {
    const ecc_dtype_traits *t = ecc_dtype_get(id);
    if (!t || t->bits == 0 || numel < 0) return false;
    uint64_t n = (uint64_t)numel, bits;
    if (__builtin_mul_overflow(n, (uint64_t)t->bits, &bits)) return false;
    uint64_t bytes = bits / 8 + (bits % 8 != 0);
    if (bytes > SIZE_MAX) return false;
    *out = (size_t)bytes;
    return true;
}

bool ecc_dtype_typed_count(int32_t id, int64_t numel, size_t *out) {
    const ecc_dtype_traits *t = ecc_dtype_get(id);
    if (!t || numel < 0) return false;
    uint64_t n = (uint64_t)numel;
    if (t->bits == 4) n = n / 2 + (n % 2);
    else if (t->dclass == ECC_DC_COMPLEX && __builtin_mul_overflow(n, 2u, &n)) return false;
    if (n > SIZE_MAX) return false;
    *out = (size_t)n;
    return true;
}
