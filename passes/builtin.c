/* builtin.c — the table of built-in pass descriptors, generated from
 * passes.def; compress/registry.c registers each through the host ABI. */
#include "pipeline.h"

#define ECC_PASS(sym) extern const ecc_pass_desc ecc_pass_##sym;
#include "passes.def"
#undef ECC_PASS

const ecc_pass_desc *const ecc_builtin_passes[] = {
#define ECC_PASS(sym) &ecc_pass_##sym,
#include "passes.def"
#undef ECC_PASS
};

const size_t ecc_builtin_pass_count = sizeof ecc_builtin_passes / sizeof ecc_builtin_passes[0];
