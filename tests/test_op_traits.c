/* test_op_traits.c — the op traits table (compress/ops.def): sorted with no
 * duplicates, ids match rows, and it agrees with the interpreter's kernel
 * table: every kernel's op has a row flagged KERNEL, every KERNEL row has a
 * kernel, and BACKWARD is set exactly where some kernel of the op has a
 * backward kernel. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "kernels.h"
#include "op_traits.h"

#include <stdio.h>
#include <string.h>

static void test_sorted_unique(void **state) {
    (void)state;
    assert_true(ecc_op_table_sorted());
    for (int i = 0; i < ECC_OP_COUNT; i++) {
        const ecc_op_traits *t = ecc_op_get((ecc_op_id)i);
        assert_int_equal(t->id, i);
        assert_ptr_equal(ecc_op_find(t->name), t);
        assert_true(t->channels < ECC_CHAN_COUNT);
        assert_true(t->fold_since >= 0);
    }
    assert_null(ecc_op_find("NoSuchOp"));
    assert_null(ecc_op_find(""));
    assert_null(ecc_op_find(NULL));
    assert_true(ecc_op_has("Relu", ECC_OPF_KERNEL | ECC_OPF_SCALE_COMMUTES));
    assert_false(ecc_op_has("Relu", ECC_OPF_RANDOM));
}

/* Kernel-table facts per traits row: has a kernel, has a backward kernel. */
static void kernel_facts(bool *kernel, bool *backward) {
    size_t n = 0;
    const ecc_kernel_entry *e = ecc_kernel_table(&n);
    memset(kernel, 0, ECC_OP_COUNT * sizeof *kernel);
    memset(backward, 0, ECC_OP_COUNT * sizeof *backward);
    for (size_t i = 0; i < n; i++) {
        const ecc_op_traits *t = ecc_op_find(e[i].op);
        if (!t) fail_msg("kernel for %s has no row in ops.def", e[i].op);
        kernel[t->id] = true;
        backward[t->id] |= e[i].backward != NULL;
    }
}

static void test_agrees_with_kernels(void **state) {
    (void)state;
    bool kernel[ECC_OP_COUNT], backward[ECC_OP_COUNT];
    kernel_facts(kernel, backward);
    for (int i = 0; i < ECC_OP_COUNT; i++) {
        const ecc_op_traits *t = ecc_op_get((ecc_op_id)i);
        bool k = (t->flags & ECC_OPF_KERNEL) != 0, b = (t->flags & ECC_OPF_BACKWARD) != 0;
        if (k != kernel[i]) fail_msg("%s: KERNEL flag %d, kernel table %d", t->name, k, kernel[i]);
        if (b != backward[i])
            fail_msg("%s: BACKWARD flag %d, backward kernel %d", t->name, b, backward[i]);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sorted_unique),
        cmocka_unit_test(test_agrees_with_kernels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
