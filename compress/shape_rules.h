/* shape_rules.h — internal to shape inference: the working shape type, the
 * per-op rule table (shape_rules.c) and the helpers rules use to read inputs,
 * constants and propagated shape values and to emit outputs (shape_infer.c). */
#ifndef ECC_SHAPE_RULES_H
#define ECC_SHAPE_RULES_H

#include "ir.h"

/* Inputs of higher rank are treated as unknown rank; rules never produce more. */
#define ECC_SH_MAX_RANK 32
/* Largest small integer tensor (shape vector) whose contents are tracked. */
#define ECC_SH_MAX_SYM 32

/* One dimension: value >= 0 known; otherwise symbolic when param != NULL,
 * else unknown. */
typedef struct ecc_sh_dim {
    int64_t value;
    const char *param;
} ecc_sh_dim;

typedef struct ecc_shape {
    int32_t dtype;  /* 0 unknown */
    int32_t rank;   /* -1 unknown */
    ecc_sh_dim d[ECC_SH_MAX_RANK];
} ecc_shape;

/* Contents of a small int tensor (rank 0 or 1) known before running the
 * model, e.g. the output of Shape: each element is a literal (known), a
 * symbolic dim (param) or unknown. */
typedef struct ecc_sh_elt {
    int64_t v;
    const char *param;
    bool known;
} ecc_sh_elt;

typedef struct ecc_symval {
    int32_t rank;   /* 0 or 1 */
    int32_t n;      /* elements */
    ecc_sh_elt e[ECC_SH_MAX_SYM];
} ecc_symval;

typedef struct ecc_sh_state ecc_sh_state;

/* What a rule sees: the node, the default-domain opset, the inference state. */
typedef struct ecc_sh_cx {
    ecc_ctx *ctx;
    ecc_node *node;
    int64_t opset;
    ecc_sh_state *state;
} ecc_sh_cx;

typedef ecc_status (*ecc_sh_rule_fn)(ecc_sh_cx *cx, int32_t arg);
typedef struct ecc_sh_rule {
    const char *op;     /* op_type; the table is sorted by strcmp */
    ecc_sh_rule_fn fn;
    int32_t arg;        /* per-op parameter (usually an output dtype, 0 = from input) */
} ecc_sh_rule;

/* Rule for a default-domain op_type, NULL when there is none. */
const ecc_sh_rule *ecc_sh_rule_find(const char *op_type);
/* True when the table is strictly sorted (checked by the tests). */
bool ecc_sh_rules_sorted(void);

/* ---- helpers for rules (shape_infer.c) ---- */
/* Input slot after following captured outer values; NULL when absent/empty. */
const ecc_value *ecc_sh_input(const ecc_sh_cx *cx, uint32_t slot);
/* Type of a value into *out (rank -1 when unknown; initializer dims win). */
void ecc_sh_value(const ecc_value *v, ecc_shape *out);
/* Type of input slot into *out (rank -1 when unknown); false when absent. */
bool ecc_sh_in(const ecc_sh_cx *cx, uint32_t slot, ecc_shape *out);
/* Merges s into output slot (absent outputs are ignored); a conflict with a
 * type from the file → ECC_E_INPUT. */
ecc_status ecc_sh_emit(ecc_sh_cx *cx, uint32_t slot, const ecc_shape *s);
/* Records fail message "node 'x' (Op): <detail>" and returns ECC_E_INPUT. */
ecc_status ecc_sh_fail(ecc_sh_cx *cx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Constant tensor behind input slot (initializer or Constant node), or NULL. */
const ecc_tensor *ecc_sh_const(const ecc_sh_cx *cx, uint32_t slot);
/* Input slot as fully known integers (at most cap); false when not known. */
bool ecc_sh_ints(const ecc_sh_cx *cx, uint32_t slot, int64_t *out, size_t cap, size_t *n);
/* Input slot as constant floats (at most cap); false when not constant. */
bool ecc_sh_floats(const ecc_sh_cx *cx, uint32_t slot, double *out, size_t cap, size_t *n);
/* Known contents of input slot (constant or propagated); false when unknown. */
bool ecc_sh_sym(const ecc_sh_cx *cx, uint32_t slot, ecc_symval *out);
/* Records the contents of output slot. */
ecc_status ecc_sh_set_sym(ecc_sh_cx *cx, uint32_t slot, const ecc_symval *sv);
/* "[1,N,?,3]" (rank -1 → "?"). Returns buf. */
const char *ecc_sh_format(const ecc_shape *s, char *buf, size_t cap);

#endif
