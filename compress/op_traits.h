/* op_traits.h — the operator traits table: one row per ONNX op (default
 * domain), built from ops.def, holding what every layer needs to know about
 * an op as data (flags, the opset fold-constants folds from, the channel
 * rule prune-channel uses). Look an op up by name (binary search) or by id. */
#ifndef ECC_OP_TRAITS_H
#define ECC_OP_TRAITS_H

#include "ir.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ECC_OP_<Name>, in ops.def order (sorted by name). */
typedef enum ecc_op_id {
#define ECC_OP(name, ...) ECC_OP_##name,
#include "ops.def"
#undef ECC_OP
    ECC_OP_COUNT
} ecc_op_id;

/* Flags of an op (the flags column of ops.def). */
enum {
    ECC_OPF_KERNEL = 1u << 0,          /* the interpreter runs it */
    ECC_OPF_BACKWARD = 1u << 1,        /* the interpreter differentiates it */
    ECC_OPF_RANDOM = 1u << 2,          /* its result is not a function of its inputs */
    ECC_OPF_SAME_GRID = 1u << 3,       /* output holds only values of input 0 */
    ECC_OPF_SCALE_COMMUTES = 1u << 4,  /* a positive per-channel scale passes through */
    ECC_OPF_FOLD_SHAPE_ONLY = 1u << 5, /* folds from input 0's static shape alone */
};

/* How prune-channel follows channels through an op (the channels column). */
typedef enum ecc_chan_rule {
    ECC_CHAN_NONE,    /* it cannot: the channels it reads stay */
    ECC_CHAN_UNARY,   /* elementwise on one tensor */
    ECC_CHAN_ELTWISE, /* elementwise on several, broadcast */
    ECC_CHAN_POOL,    /* pooling over space */
    ECC_CHAN_BN,      /* BatchNormalization */
    ECC_CHAN_CONCAT,
    ECC_CHAN_CONV,
    ECC_CHAN_FLATTEN,
    ECC_CHAN_GEMM,
    ECC_CHAN_MATMUL,
    ECC_CHAN_RESHAPE,
    ECC_CHAN_COUNT
} ecc_chan_rule;

typedef struct ecc_op_traits {
    const char *name;   /* ONNX op_type */
    ecc_op_id id;
    uint32_t flags;     /* ECC_OPF_* */
    int32_t fold_since; /* fold-constants evaluates it from this opset; 0: never */
    ecc_chan_rule channels;
} ecc_op_traits;

/* Row of a default-domain op_type, NULL when ecc knows nothing about it. */
const ecc_op_traits *ecc_op_find(const char *op_type);
/* Row of an id below ECC_OP_COUNT. */
const ecc_op_traits *ecc_op_get(ecc_op_id id);
/* True when op_type has a row carrying every flag in flags. */
bool ecc_op_has(const char *op_type, uint32_t flags);
/* Row of n's op when n is in the default domain ("" or "ai.onnx"), else NULL. */
const ecc_op_traits *ecc_op_of(const ecc_node *n);
/* True when n is a default-domain op whose row carries every flag in flags. */
bool ecc_node_op_has(const ecc_node *n, uint32_t flags);
/* True when the rows are strictly sorted by name (checked by the tests). */
bool ecc_op_table_sorted(void);

#endif
