/* op_traits.c — the operator traits table, built from ops.def, and its
 * lookups. The shape column is taken by shape_rules.c, not here. */
#include "op_traits.h"

#include <assert.h>
#include <string.h>

#define KERNEL ECC_OPF_KERNEL
#define BACKWARD ECC_OPF_BACKWARD
#define RANDOM ECC_OPF_RANDOM
#define SAME_GRID ECC_OPF_SAME_GRID
#define SCALE_COMMUTES ECC_OPF_SCALE_COMMUTES
#define FOLD_SHAPE_ONLY ECC_OPF_FOLD_SHAPE_ONLY

static const ecc_op_traits ecc_ops[] = {
#define ECC_OP(nm, fl, fold, chan, ...)                                                      \
    {.name = #nm, .id = ECC_OP_##nm, .flags = (fl), .fold_since = (fold),                    \
     .channels = ECC_CHAN_##chan},
#include "ops.def"
#undef ECC_OP
};
static_assert(sizeof ecc_ops / sizeof ecc_ops[0] == ECC_OP_COUNT,
              "the traits table must have one row per ECC_OP_ id");

const ecc_op_traits *ecc_op_find(const char *op_type) {
    size_t lo = 0, hi = ECC_OP_COUNT;
    if (!op_type) return NULL;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(op_type, ecc_ops[mid].name);
        if (c == 0) return &ecc_ops[mid];
        if (c < 0) hi = mid;
        else lo = mid + 1;
    }
    return NULL;
}

const ecc_op_traits *ecc_op_get(ecc_op_id id) {
    assert(id < ECC_OP_COUNT);
    return &ecc_ops[id];
}

bool ecc_op_has(const char *op_type, uint32_t flags) {
    const ecc_op_traits *t = ecc_op_find(op_type);
    return t && (t->flags & flags) == flags;
}

const ecc_op_traits *ecc_op_of(const ecc_node *n) {
    bool onnx = !n->domain || !n->domain[0] || strcmp(n->domain, "ai.onnx") == 0;
    return onnx ? ecc_op_find(n->op_type) : NULL;
}

bool ecc_node_op_has(const ecc_node *n, uint32_t flags) {
    const ecc_op_traits *t = ecc_op_of(n);
    return t && (t->flags & flags) == flags;
}

bool ecc_op_table_sorted(void) {
    for (size_t i = 1; i < ECC_OP_COUNT; i++)
        if (strcmp(ecc_ops[i - 1].name, ecc_ops[i].name) >= 0) return false;
    return true;
}
