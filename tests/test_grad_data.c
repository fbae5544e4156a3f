/* test_grad_data.c — backward kernels of the data-movement ops (Transpose,
 * Concat, Split, Slice, Gather, GatherElements, Expand, Tile, Pad,
 * DepthToSpace, SpaceToDepth, Where) against central finite differences
 * (grad_check.h) over random shapes and attributes: every permutation of
 * rank 3 and 4, each concat axis with a constant input, split outputs left
 * unused, negative steps and clamped slices in both opset forms, repeated
 * and negative gather indices, every pad mode; and a corrupted gradient the
 * check must catch. Prints the worst relative error per op. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "grad_check.h"

#define F32 ECC_DTYPE_FLOAT
#define I64 ECC_DTYPE_INT64
#define I32 ECC_DTYPE_INT32
#define TOL 1e-4

static uint64_t rs = 12345;

/* Uniform integer in [lo, hi] (shapes and attributes). */
static int64_t rnd(int64_t lo, int64_t hi) {
    rs = rs * 6364136223846793005ull + 1442695040888963407ull;
    return lo + (int64_t)((rs >> 33) % (uint64_t)(hi - lo + 1));
}

/* Worst relative error of one op over its cases. */
typedef struct worst {
    const char *op;
    double err;
    int cases;
} worst;

/* Runs the check on g, frees it and records the error. */
static void check(gc *g, worst *w) {
    gc_check(g, TOL);
    if (g->worst > w->err) w->err = g->worst;
    w->cases++;
    gc_free(g);
}

static void report(const worst *w) {
    printf("  %-15s worst relative L2 error %.2e over %d cases\n", w->op, w->err, w->cases);
}

/* A 1-D int64 initializer. */
static void ints(gc *g, const char *name, const int64_t *v, int64_t n) {
    gc_const(g, name, I64, 1, &n, v);
}

/* Next permutation of p[0..n) in lexicographic order; false after the last. */
static bool next_perm(int64_t *p, int n) {
    int i = n - 2;
    while (i >= 0 && p[i] >= p[i + 1]) i--;
    if (i < 0) return false;
    int j = n - 1;
    while (p[j] <= p[i]) j--;
    int64_t t = p[i];
    p[i] = p[j];
    p[j] = t;
    for (int a = i + 1, b = n - 1; a < b; a++, b--) {
        t = p[a];
        p[a] = p[b];
        p[b] = t;
    }
    return true;
}

static void test_transpose(void **state) {
    (void)state;
    worst w = {"Transpose", 0, 0};
    for (int rank = 3; rank <= 4; rank++) {
        int64_t p[4] = {0, 1, 2, 3}, dims[4];
        do {
            for (int d = 0; d < rank; d++) dims[d] = rnd(1, 4);
            gc *g = gc_new(13, (uint64_t)w.cases);
            gc_param(g, "X", rank, dims, -1, 1, 0);
            gc_node(g, "Transpose", "X", "Y", true);
            gc_ints(g, "perm", p, (size_t)rank);
            check(g, &w);
        } while (next_perm(p, rank));
    }
    int64_t dims[3] = {2, 3, 4}; /* default: reversed */
    gc *g = gc_new(13, 77);
    gc_param(g, "X", 3, dims, -1, 1, 0);
    gc_node(g, "Transpose", "X", "Y", true);
    check(g, &w);
    report(&w);
}

static void test_concat(void **state) {
    (void)state;
    worst w = {"Concat", 0, 0};
    for (int axis = -1; axis < 3; axis++)
        for (int n = 2; n <= 3; n++)
            for (int c = 0; c < n; c++) { /* input c is a constant */
                gc *g = gc_new(13, (uint64_t)w.cases);
                int64_t base[3] = {rnd(1, 3), rnd(1, 3), rnd(1, 3)};
                char names[64] = "";
                for (int i = 0; i < n; i++) {
                    int64_t dims[3] = {base[0], base[1], base[2]};
                    dims[axis < 0 ? 2 : axis] = rnd(1, 3);
                    char name[4] = {'A', (char)('0' + i), 0};
                    if (i == c) {
                        float v[27];
                        for (int e = 0; e < 27; e++) v[e] = gc_value(g, -1, 1, 0);
                        gc_const(g, name, F32, 3, dims, v);
                    } else {
                        static char keep[3][4]; /* names live until gc_check */
                        memcpy(keep[i], name, 4);
                        gc_param(g, keep[i], 3, dims, -1, 1, 0);
                    }
                    strcat(names, name);
                    if (i + 1 < n) strcat(names, ",");
                }
                gc_node(g, "Concat", names, "Y", true);
                gc_int(g, "axis", axis);
                check(g, &w);
            }
    report(&w);
}

/* Split of X [4, 6, 5] along axis into outputs S0..S(n-1); only the outputs
 * in `used` (bit mask) reach the loss, through Identity. */
static void split_case(worst *w, int opset, int axis, const int64_t *sizes, int n, bool as_attr,
                       unsigned used) {
    static const char *outs[] = {"S0", "S1", "S2", "S3"}, *ys[] = {"Y0", "Y1", "Y2", "Y3"};
    int64_t dims[3] = {4, 6, 5};
    gc *g = gc_new(opset, (uint64_t)w->cases + 300);
    gc_param(g, "X", 3, dims, -1, 1, 0);
    if (sizes && !as_attr) ints(g, "split", sizes, n);
    char list[32] = "";
    for (int i = 0; i < n; i++) {
        strcat(list, outs[i]);
        if (i + 1 < n) strcat(list, ",");
    }
    gc_node(g, "Split", sizes && !as_attr ? "X,split" : "X", list, false);
    gc_int(g, "axis", axis);
    if (sizes && as_attr) gc_ints(g, "split", sizes, (size_t)n);
    if (!sizes && opset >= 18) gc_int(g, "num_outputs", n);
    for (int i = 0; i < n; i++)
        if (used >> i & 1) gc_node(g, "Identity", outs[i], ys[i], true);
    check(g, w);
}

static void test_split(void **state) {
    (void)state;
    worst w = {"Split", 0, 0};
    static const int64_t uneq0[3] = {1, 3, 0}, uneq1[3] = {1, 2, 3}, uneq2[2] = {4, 1};
    for (unsigned used = 1; used < 8; used++) {
        split_case(&w, 11, 1, NULL, 3, true, used);  /* equal, opset 11 */
        split_case(&w, 11, 1, uneq1, 3, true, used); /* attribute */
        split_case(&w, 13, 0, uneq0, 3, false, used); /* input, an empty part */
        split_case(&w, 13, -2, uneq1, 3, false, used);
        split_case(&w, 18, 2, NULL, 3, false, used);  /* num_outputs: 2, 2, 1 */
    }
    split_case(&w, 13, 2, uneq2, 2, false, 1);
    split_case(&w, 13, 0, NULL, 2, false, 2);
    report(&w);
}

/* Slice of X [5, 4, 6]: opset 9 (attributes) or 13 (inputs with steps). */
static void slice_case(worst *w, int opset, const int64_t *starts, const int64_t *ends,
                       const int64_t *axes, const int64_t *steps, int n) {
    int64_t dims[3] = {5, 4, 6};
    gc *g = gc_new(opset, (uint64_t)w->cases + 500);
    gc_param(g, "X", 3, dims, -1, 1, 0);
    if (opset < 10) {
        gc_node(g, "Slice", "X", "Y", true);
        gc_ints(g, "starts", starts, (size_t)n);
        gc_ints(g, "ends", ends, (size_t)n);
        if (axes) gc_ints(g, "axes", axes, (size_t)n);
    } else {
        ints(g, "starts", starts, n);
        ints(g, "ends", ends, n);
        if (axes) ints(g, "axes", axes, n);
        if (steps) ints(g, "steps", steps, n);
        gc_node(g, "Slice", steps ? "X,starts,ends,axes,steps" : axes ? "X,starts,ends,axes"
                                                                   : "X,starts,ends",
                "Y", true);
    }
    check(g, w);
}

static void test_slice(void **state) {
    (void)state;
    worst w = {"Slice", 0, 0};
    const int64_t big = INT64_MAX;
    for (int opset = 9; opset <= 13; opset += 4) {
        slice_case(&w, opset, (int64_t[]){1, 0, 2}, (int64_t[]){4, 3, 6}, NULL, NULL, 3);
        slice_case(&w, opset, (int64_t[]){-3}, (int64_t[]){-1}, (int64_t[]){2}, NULL, 1);
        slice_case(&w, opset, (int64_t[]){-100, 1}, (int64_t[]){big, 100}, (int64_t[]){0, -1},
                   NULL, 2);
        slice_case(&w, opset, (int64_t[]){1}, (int64_t[]){-1}, (int64_t[]){-2}, NULL, 1);
    }
    static const int64_t xdims[3] = {5, 4, 6}, steps[] = {2, -1, -2, 1, 3};
    for (int c = 0; c < 32; c++) { /* random non-empty slices, written every way */
        int64_t st[3], en[3], sp[3], ax[3];
        int n = (int)rnd(1, 3), first = (int)rnd(0, 3 - n);
        for (int i = 0; i < n; i++) {
            int64_t dim = xdims[first + i], s0 = rnd(0, dim - 1), e0;
            sp[i] = steps[rnd(0, 4)];
            ax[i] = first + i - (c & 1 ? 3 : 0); /* negative axes on odd cases */
            if (sp[i] > 0) { /* end past the last element: clamped */
                e0 = rnd(s0 + 1, dim + 2);
                en[i] = e0 >= dim && rnd(0, 1) ? INT64_MAX : e0;
            } else { /* end -1 means "through 0": written below -dim */
                e0 = rnd(-1, s0 - 1);
                en[i] = e0 < 0 ? (rnd(0, 1) ? INT64_MIN : -dim - rnd(1, 3)) : e0;
            }
            st[i] = rnd(0, 1) ? s0 - dim : s0; /* negative starts */
            if (en[i] >= 0 && en[i] < dim && rnd(0, 1)) en[i] -= dim;
        }
        slice_case(&w, 13, st, en, ax, sp, n);
    }
    slice_case(&w, 13, (int64_t[]){3}, (int64_t[]){1}, NULL, NULL, 1); /* empty */
    report(&w);
}

/* Gather from a table of dims (rank 2 or 3) along axis with indices. */
static void gather_case(worst *w, int32_t rank, const int64_t *dims, int axis, int32_t irank,
                        const int64_t *idims, const int64_t *idx, bool i32) {
    gc *g = gc_new(13, (uint64_t)w->cases + 700);
    gc_param(g, "T", rank, dims, -1, 1, 0);
    int64_t n = gc_numel(irank, idims);
    if (i32) {
        int32_t v[16];
        for (int64_t i = 0; i < n; i++) v[i] = (int32_t)idx[i];
        gc_const(g, "I", I32, irank, idims, v);
    } else {
        gc_const(g, "I", I64, irank, idims, idx);
    }
    gc_node(g, "Gather", "T,I", "Y", true);
    gc_int(g, "axis", axis);
    check(g, w);
}

static void test_gather(void **state) {
    (void)state;
    worst w = {"Gather", 0, 0};
    int64_t emb[2] = {5, 3}, t3[3] = {3, 4, 2};
    int64_t i1[1] = {6}, i2[2] = {2, 3}, i0[1] = {0};
    int64_t rep[6] = {1, 4, 1, -1, 0, 1}; /* 4 and -1 are the same row */
    gather_case(&w, 2, emb, 0, 1, i1, rep, false);
    gather_case(&w, 2, emb, 0, 2, i2, rep, true);
    gather_case(&w, 2, emb, 0, 0, i0, (int64_t[]){-2}, false); /* scalar index */
    int64_t rep1[6] = {2, -1, 2, 0, 2, -3};
    gather_case(&w, 2, emb, 1, 1, i1, rep1, false);
    gather_case(&w, 3, t3, 1, 2, i2, (int64_t[]){3, -4, 0, 0, 3, -1}, false);
    gather_case(&w, 3, t3, -1, 1, (int64_t[]){5}, (int64_t[]){1, 1, -1, 0, 1}, false);
    gather_case(&w, 3, t3, 0, 1, (int64_t[]){4}, (int64_t[]){-1, 2, 2, 0}, true);
    report(&w);
    /* GatherElements: repeated indices along each axis */
    worst we = {"GatherElements", 0, 0};
    for (int axis = 0; axis < 2; axis++) {
        gc *g = gc_new(13, (uint64_t)axis + 800);
        int64_t xd[2] = {3, 4}, id[2] = {axis ? 3 : 4, axis ? 5 : 4}, v[20];
        for (int i = 0; i < 20; i++) v[i] = rnd(-(xd[axis]), xd[axis] - 1);
        gc_param(g, "X", 2, xd, -1, 1, 0);
        gc_const(g, "I", I64, 2, id, v);
        gc_node(g, "GatherElements", "X,I", "Y", true);
        gc_int(g, "axis", axis);
        check(g, &we);
    }
    report(&we);
}

static void test_expand_tile(void **state) {
    (void)state;
    worst w = {"Expand", 0, 0};
    static const struct {
        int32_t rx;
        int64_t x[3];
        int32_t rs;
        int64_t s[4];
    } cases[] = {{2, {3, 1}, 3, {2, 3, 4}}, {1, {4}, 2, {3, 1}},     {3, {2, 1, 4}, 3, {2, 3, 1}},
                 {2, {3, 4}, 2, {3, 4}},    {0, {0}, 2, {2, 3}},
                 {3, {1, 3, 1}, 4, {2, 1, 3, 2}}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gc *g = gc_new(13, i + 900);
        gc_param(g, "X", cases[i].rx, cases[i].x, -1, 1, 0);
        ints(g, "shape", cases[i].s, cases[i].rs);
        gc_node(g, "Expand", "X,shape", "Y", true);
        check(g, &w);
    }
    report(&w);
    worst wt = {"Tile", 0, 0};
    for (int c = 0; c < 6; c++) {
        gc *g = gc_new(13, (uint64_t)c + 950);
        int64_t xd[3] = {rnd(1, 3), rnd(1, 3), rnd(1, 3)}, reps[3] = {rnd(1, 3), rnd(0, 2), 2};
        if (c < 3) reps[1] = 1;
        gc_param(g, "X", 3, xd, -1, 1, 0);
        ints(g, "repeats", reps, 3);
        gc_node(g, "Tile", "X,repeats", "Y", true);
        check(g, &wt);
    }
    report(&wt);
}

/* Pad of X [3, 4, 5] with pads (2 * rank, or 2 * n_axes with axes). */
static void pad_case(worst *w, int opset, const char *mode, const int64_t *pads, int n_pads,
                     const int64_t *axes, bool train_value) {
    int64_t xd[3] = {3, 4, 5};
    gc *g = gc_new(opset, (uint64_t)w->cases + 1000);
    gc_param(g, "X", 3, xd, -1, 1, 0);
    if (opset < 11) {
        gc_node(g, "Pad", "X", "Y", true);
        gc_ints(g, "pads", pads, (size_t)n_pads);
        if (strcmp(mode, "constant") == 0) gc_float(g, "value", 0.5f);
    } else {
        ints(g, "pads", pads, n_pads);
        if (train_value) gc_param(g, "v", 0, NULL, -1, 1, 0);
        else gc_const(g, "v", F32, 0, NULL, &(float){0.25f});
        if (axes) ints(g, "axes", axes, n_pads / 2);
        gc_node(g, "Pad", axes ? "X,pads,v,axes" : "X,pads,v", "Y", true);
    }
    gc_str(g, "mode", mode);
    check(g, w);
}

static void test_pad(void **state) {
    (void)state;
    worst w = {"Pad", 0, 0};
    static const char *modes[] = {"constant", "reflect", "edge", "wrap"};
    const int64_t p1[6] = {1, 0, 2, 0, 3, 1}, crop[6] = {-1, 2, 0, 1, -2, -1};
    const int64_t ax[2] = {2, -3}, p2[4] = {2, 1, 0, 2};
    for (int m = 0; m < 4; m++) {
        int opset = m == 3 ? 19 : 18;
        pad_case(&w, opset, modes[m], p1, 6, NULL, false);
        pad_case(&w, opset, modes[m], crop, 6, NULL, false); /* negative pads crop */
        pad_case(&w, opset, modes[m], p2, 4, ax, false);
        if (m < 3) pad_case(&w, 2, modes[m], p1, 6, NULL, false);
    }
    pad_case(&w, 13, "constant", p1, 6, NULL, true); /* constant_value trained too */
    pad_case(&w, 18, "constant", p2, 4, ax, true);
    report(&w);
}

static void test_depth_space(void **state) {
    (void)state;
    worst w = {"DepthToSpace", 0, 0}, ws = {"SpaceToDepth", 0, 0};
    for (int b = 1; b <= 3; b++)
        for (int crd = 0; crd < 2; crd++) {
            int64_t xd[4] = {2, 2 * b * b, 2, 3};
            gc *g = gc_new(13, (uint64_t)(b * 2 + crd));
            gc_param(g, "X", 4, xd, -1, 1, 0);
            gc_node(g, "DepthToSpace", "X", "Y", true);
            gc_int(g, "blocksize", b);
            gc_str(g, "mode", crd ? "CRD" : "DCR");
            check(g, &w);
        }
    for (int b = 1; b <= 3; b++) {
        int64_t xd[4] = {2, 3, 2 * b, b};
        gc *g = gc_new(13, (uint64_t)b + 20);
        gc_param(g, "X", 4, xd, -1, 1, 0);
        gc_node(g, "SpaceToDepth", "X", "Y", true);
        gc_int(g, "blocksize", b);
        check(g, &ws);
    }
    report(&w);
    report(&ws);
}

static void test_where(void **state) {
    (void)state;
    worst w = {"Where", 0, 0};
    static const struct {
        int32_t rc, rx, ry;
        int64_t c[3], x[3], y[3];
    } cases[] = {{3, 3, 3, {2, 3, 4}, {2, 3, 4}, {2, 3, 4}},
                 {2, 3, 1, {3, 4}, {2, 1, 4}, {4}},
                 {3, 0, 2, {2, 1, 4}, {0}, {3, 1}},
                 {1, 2, 3, {4}, {3, 4}, {2, 1, 1}}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int train = 1; train <= 3; train++) { /* X, Y or both trained */
            gc *g = gc_new(13, i * 10 + (size_t)train + 1100);
            uint8_t cond[24];
            for (int e = 0; e < 24; e++) cond[e] = (uint8_t)rnd(0, 1);
            gc_const(g, "C", ECC_DTYPE_BOOL, cases[i].rc, cases[i].c, cond);
            float v[24];
            for (int e = 0; e < 24; e++) v[e] = gc_value(g, -1, 1, 0);
            if (train & 1) gc_param(g, "X", cases[i].rx, cases[i].x, -1, 1, 0);
            else gc_const(g, "X", F32, cases[i].rx, cases[i].x, v);
            if (train & 2) gc_param(g, "Y", cases[i].ry, cases[i].y, -1, 1, 0);
            else gc_const(g, "Y", F32, cases[i].ry, cases[i].y, v);
            gc_node(g, "Where", "C,X,Y", "Z", true);
            check(g, &w);
        }
    report(&w);
}

/* A chain: Transpose → Slice → Concat with itself → Gather, the table
 * trained; and the check catches a gradient off by 1% in one element. */
static void test_chain_and_corrupt(void **state) {
    (void)state;
    int64_t xd[3] = {3, 4, 5}, idx[4] = {1, -1, 1, 0};
    gc *g = gc_new(13, 4242);
    gc_param(g, "X", 3, xd, -1, 1, 0);
    gc_node(g, "Transpose", "X", "T", false);
    gc_ints(g, "perm", (int64_t[]){2, 0, 1}, 3);
    ints(g, "st", (int64_t[]){4, 1}, 2);
    ints(g, "en", (int64_t[]){0, 4}, 2);
    ints(g, "ax", (int64_t[]){0, 2}, 2);
    ints(g, "sp", (int64_t[]){-1, 2}, 2);
    gc_node(g, "Slice", "T,st,en,ax,sp", "S", false);
    gc_node(g, "Concat", "S,S", "C", false);
    gc_int(g, "axis", 1);
    gc_const(g, "I", I64, 1, &(int64_t){4}, idx);
    gc_node(g, "Gather", "C,I", "Y", true);
    gc_int(g, "axis", 1);
    gc_check_catches(g, TOL);
    printf("  chain           worst relative L2 error %.2e\n", g->worst);
    gc_free(g);
    g = gc_new(13, 4343); /* a gathered embedding table */
    gc_param(g, "E", 2, (int64_t[]){6, 4}, -1, 1, 0);
    gc_const(g, "I", I64, 2, (int64_t[]){2, 3}, (int64_t[]){5, 0, 5, -1, 2, 2});
    gc_node(g, "Gather", "E,I", "Y", true);
    gc_check_catches(g, TOL);
    gc_free(g);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transpose),   cmocka_unit_test(test_concat),
        cmocka_unit_test(test_split),       cmocka_unit_test(test_slice),
        cmocka_unit_test(test_gather),      cmocka_unit_test(test_expand_tile),
        cmocka_unit_test(test_pad),         cmocka_unit_test(test_depth_space),
        cmocka_unit_test(test_where),       cmocka_unit_test(test_chain_and_corrupt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
