/* test_ir.c — unit tests of the IR core: arena, maps, dtypes, tensors,
 * graph editing and use lists, subgraph captures, toposort, DCE, verifier,
 * lowering of masks, and atomic output files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "atomic.h"
#include "ir.h"

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

typedef struct fixture {
    ecc_ctx *ctx;
    ecc_model *m;
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    f->ctx = ecc_ctx_create();
    assert_int_equal(ecc_model_create(f->ctx, &f->m), ECC_OK);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    ecc_model_free(f->m);
    ecc_ctx_free(f->ctx);
    free(f);
    return 0;
}

static ecc_value *val(fixture *f, ecc_graph *g, const char *name) {
    ecc_value *v = NULL;
    assert_int_equal(ecc_graph_get_value(f->ctx, g, name, &v), ECC_OK);
    return v;
}

static ecc_node *node1(fixture *f, ecc_graph *g, const char *op, const char *name,
                       ecc_value *in0, ecc_value *in1, ecc_value *out) {
    ecc_value *ins[2] = {in0, in1};
    ecc_node *n = NULL;
    assert_int_equal(ecc_graph_add_node(f->ctx, g, op, "", name, ins, in1 ? 2 : 1, &out, 1, &n),
                     ECC_OK);
    return n;
}

static void graph_input(fixture *f, ecc_graph *g, ecc_value *v) {
    (void)f;
    v->flags |= ECC_VALUE_INPUT;
    assert_true(ecc_ptrvec_push(&g->inputs, v));
}

static void graph_output(ecc_graph *g, ecc_value *v) {
    v->flags |= ECC_VALUE_OUTPUT;
    assert_true(ecc_ptrvec_push(&g->outputs, v));
}

static void test_strmap_and_arena(void **state) {
    (void)state;
    ecc_strmap m = {0};
    char keys[1000][16];
    for (int i = 0; i < 1000; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i);
        assert_true(ecc_strmap_put(&m, keys[i], (void *)(intptr_t)(i + 1)));
    }
    for (int i = 0; i < 1000; i += 2) ecc_strmap_del(&m, keys[i]);
    for (int i = 0; i < 1000; i++)
        assert_int_equal((intptr_t)ecc_strmap_get(&m, keys[i]), i % 2 ? i + 1 : 0);
    ecc_strmap_free(&m);
    ecc_arena *a = ecc_arena_create();
    for (int i = 0; i < 10000; i++) {
        char *p = ecc_arena_alloc(a, (size_t)(i % 100) + 1);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
    }
    assert_non_null(ecc_arena_alloc(a, 1 << 20));
    assert_null(ecc_arena_alloc(a, SIZE_MAX - 4));
    ecc_arena_free(a);
}

static void test_dtypes(void **state) {
    (void)state;
    size_t n;
    assert_true(ecc_dtype_nbytes(ECC_DTYPE_FLOAT, 10, &n));
    assert_int_equal(n, 40);
    assert_true(ecc_dtype_nbytes(ECC_DTYPE_INT4, 5, &n));
    assert_int_equal(n, 3);
    assert_false(ecc_dtype_nbytes(ECC_DTYPE_DOUBLE, INT64_MAX / 4, &n));
    assert_false(ecc_dtype_nbytes(99, 1, &n));
    assert_true(ecc_dtype_typed_count(ECC_DTYPE_UINT4, 5, &n));
    assert_int_equal(n, 3);
    assert_true(ecc_dtype_typed_count(ECC_DTYPE_COMPLEX64, 5, &n));
    assert_int_equal(n, 10);
    assert_string_equal(ecc_dtype_name(ECC_DTYPE_BFLOAT16), "bfloat16");
    assert_string_equal(ecc_dtype_name(99), "dtype(99)");
    /* float16: exact for representable values, round-to-nearest-even otherwise */
    const float exact[] = {0.f, 1.f, -2.5f, 65504.f, 6.103515625e-05f, 5.960464477539063e-08f};
    for (size_t i = 0; i < sizeof exact / sizeof *exact; i++)
        assert_true(ecc_f16_to_f32(ecc_f32_to_f16(exact[i])) == exact[i]);
    assert_int_equal(ecc_f32_to_f16(1e6f), 0x7c00);
    assert_true(isnan(ecc_f16_to_f32(ecc_f32_to_f16(NAN))));
    assert_true(ecc_bf16_to_f32(ecc_f32_to_bf16(3.0f)) == 3.0f);
    for (uint32_t h = 0; h < 0x7c00; h++) /* every finite half round-trips */
        assert_int_equal(ecc_f32_to_f16(ecc_f16_to_f32((uint16_t)h)), h);
}

static void test_tensors(void **state) {
    fixture *f = *state;
    int64_t dims[2] = {3, 3};
    ecc_tensor *t = NULL, *c = NULL;
    assert_int_equal(ecc_tensor_create(f->ctx, ECC_DTYPE_INT4, 2, dims, &t), ECC_OK);
    assert_int_equal(t->nbytes, 5);
    for (int i = 0; i < 9; i++) ecc_tensor_set_f64(t, i, i - 4);
    ecc_tensor_set_f64(t, 8, 100); /* saturates */
    assert_true(ecc_tensor_get_f64(t, 0) == -4);
    assert_true(ecc_tensor_get_f64(t, 8) == 7);
    ecc_tensor_ref(t);
    c = t;
    assert_int_equal(ecc_tensor_make_unique(f->ctx, &c), ECC_OK);
    assert_ptr_not_equal(c, t);
    assert_true(ecc_tensor_equal(c, t));
    ecc_tensor_set_f64(c, 0, 1);
    assert_false(ecc_tensor_equal(c, t));
    ecc_tensor_unref(c);
    ecc_tensor_unref(t);
    char at[32];
    int64_t d3[3] = {2, 3, 4};
    ecc_index_text(3, d3, 23, at, sizeof at);
    assert_string_equal(at, "[1,2,3]");
    ecc_index_text(3, d3, 4 * 3 + 5, at, sizeof at);
    assert_string_equal(at, "[1,1,1]");
    ecc_index_text(0, NULL, 0, at, sizeof at);
    assert_string_equal(at, "[]");
    ecc_index_text(3, d3, 23, at, 5); /* truncated, still terminated */
    assert_string_equal(at, "[1,2");
    int64_t neg[1] = {-1}, huge[2] = {INT64_MAX / 2, 4};
    assert_int_equal(ecc_tensor_create(f->ctx, ECC_DTYPE_FLOAT, 1, neg, &t), ECC_E_INPUT);
    assert_int_equal(ecc_tensor_create(f->ctx, ECC_DTYPE_FLOAT, 2, huge, &t), ECC_E_INPUT);
    assert_int_equal(ecc_tensor_create(f->ctx, 77, 1, dims, &t), ECC_E_INPUT);
    assert_null(t);
}

static void test_edit_and_uses(void **state) {
    fixture *f = *state;
    ecc_graph *g = f->m->graph;
    ecc_value *x = val(f, g, "x"), *a = val(f, g, "a"), *b = val(f, g, "b"), *y = val(f, g, "y");
    graph_input(f, g, x);
    ecc_node *n1 = node1(f, g, "Relu", "r", x, NULL, a);
    ecc_node *n2 = node1(f, g, "Add", "add", a, a, b);
    node1(f, g, "Neg", "neg", b, NULL, y);
    graph_output(g, y);
    assert_int_equal(a->n_uses, 2);
    assert_ptr_equal(a->producer, n1);
    assert_int_equal(ecc_graph_verify(f->ctx, g), ECC_OK);
    /* a second producer of the same value is refused */
    ecc_node *dup = NULL;
    assert_int_equal(ecc_graph_add_node(f->ctx, g, "Relu", "", "dup", &x, 1, &a, 1, &dup),
                     ECC_E_INPUT);
    assert_non_null(strstr(ecc_ctx_message(f->ctx), "'a'"));
    /* bypass the Relu: Add reads x directly */
    ecc_value_replace_uses(a, x);
    assert_int_equal(a->n_uses, 0);
    assert_int_equal(x->n_uses, 3);
    assert_ptr_equal(n2->inputs[0], x);
    size_t removed = 0;
    assert_int_equal(ecc_graph_dce(f->ctx, g, true, &removed), ECC_OK);
    assert_int_equal(removed, 1);
    assert_int_equal(g->nodes.n, 2);
    assert_int_equal(x->n_uses, 2);
    assert_int_equal(ecc_graph_verify(f->ctx, g), ECC_OK);
    assert_string_equal(ecc_graph_unique_name(g, "x"), "x_0");
}

static void test_toposort_stable_and_cycles(void **state) {
    fixture *f = *state;
    ecc_graph *g = f->m->graph;
    ecc_value *x = val(f, g, "x"), *a = val(f, g, "a"), *b = val(f, g, "b"), *c = val(f, g, "c");
    graph_input(f, g, x);
    /* out of order: c = b+a before b = Neg(a) before a = Relu(x) */
    node1(f, g, "Add", "n_c", b, a, c);
    node1(f, g, "Neg", "n_b", a, NULL, b);
    node1(f, g, "Relu", "n_a", x, NULL, a);
    graph_output(g, c);
    assert_int_equal(ecc_graph_toposort(f->ctx, g), ECC_OK);
    const char *order[] = {"n_a", "n_b", "n_c"};
    for (int i = 0; i < 3; i++)
        assert_string_equal(((ecc_node *)g->nodes.items[i])->name, order[i]);
    /* a cycle: d = Relu(e), e = Relu(d) */
    ecc_value *d = val(f, g, "d"), *e = val(f, g, "e");
    node1(f, g, "Relu", "cyc1", e, NULL, d);
    node1(f, g, "Relu", "cyc2", d, NULL, e);
    assert_int_equal(ecc_graph_verify(f->ctx, g), ECC_E_INPUT);
    assert_non_null(strstr(ecc_ctx_message(f->ctx), "cycle"));
    assert_int_equal(ecc_graph_toposort(f->ctx, g), ECC_E_INPUT);
}

static void test_verify_errors(void **state) {
    fixture *f = *state;
    ecc_graph *g = f->m->graph;
    ecc_value *x = val(f, g, "x"), *ghost = val(f, g, "ghost"), *y = val(f, g, "y");
    graph_input(f, g, x);
    node1(f, g, "Add", "adder", x, ghost, y);
    graph_output(g, y);
    assert_int_equal(ecc_graph_verify(f->ctx, g), ECC_E_INPUT);
    const char *msg = ecc_ctx_message(f->ctx);
    assert_non_null(strstr(msg, "adder"));
    assert_non_null(strstr(msg, "ghost"));
    /* an initializer whose bytes disagree with its dims */
    int64_t dims[1] = {4};
    ecc_tensor *t = NULL;
    assert_int_equal(ecc_tensor_create(f->ctx, ECC_DTYPE_FLOAT, 1, dims, &t), ECC_OK);
    assert_int_equal(ecc_graph_set_initializer(f->ctx, g, ghost, t), ECC_OK);
    assert_int_equal(ecc_graph_verify(f->ctx, g), ECC_OK);
    t->nbytes = 12;
    assert_int_equal(ecc_graph_verify(f->ctx, g), ECC_E_INPUT);
    t->nbytes = 16;
    ecc_tensor_unref(t);
    /* an output nobody produces */
    graph_output(g, val(f, g, "nobody"));
    assert_int_equal(ecc_graph_verify(f->ctx, g), ECC_E_INPUT);
    assert_non_null(strstr(ecc_ctx_message(f->ctx), "nobody"));
}

/* An If node whose branch reads a value of the main graph keeps its producer
 * alive through DCE; replacing that value rewires the capture. */
static void test_subgraph_capture(void **state) {
    fixture *f = *state;
    ecc_graph *g = f->m->graph;
    ecc_value *cond = val(f, g, "cond"), *x = val(f, g, "x"), *hidden = val(f, g, "hidden");
    ecc_value *y = val(f, g, "y");
    graph_input(f, g, cond);
    graph_input(f, g, x);
    node1(f, g, "Relu", "make_hidden", x, NULL, hidden);
    ecc_node *iff = node1(f, g, "If", "if", cond, NULL, y);
    graph_output(g, y);
    ecc_graph *br = NULL;
    assert_int_equal(ecc_graph_create_sub(f->ctx, f->m, g, &br), ECC_OK);
    br->owner = iff;
    ecc_attr a = {.name = "then_branch", .type = ECC_ATTR_GRAPH, .g = br};
    assert_int_equal(ecc_node_set_attr(f->ctx, iff, &a), ECC_OK);
    ecc_value *cap = val(f, br, "hidden"), *out = val(f, br, "out");
    assert_true(cap->flags & ECC_VALUE_OUTER);
    assert_ptr_equal(cap->outer, hidden);
    assert_int_equal(hidden->n_uses, 1);
    assert_int_equal(hidden->uses[0].slot, ECC_SLOT_CAPTURE);
    node1(f, br, "Neg", "neg", cap, NULL, out);
    graph_output(br, out);
    assert_int_equal(ecc_graph_verify(f->ctx, g), ECC_OK);
    size_t removed = 9;
    assert_int_equal(ecc_graph_dce(f->ctx, g, true, &removed), ECC_OK);
    assert_int_equal(removed, 0);
    /* the captured value now stands for x */
    ecc_value_replace_uses(hidden, x);
    assert_ptr_equal(cap->outer, x);
    assert_string_equal(cap->name, "x");
    assert_ptr_equal(ecc_graph_find(br, "x"), cap);
    assert_int_equal(ecc_graph_dce(f->ctx, g, true, &removed), ECC_OK);
    assert_int_equal(removed, 1); /* make_hidden is dead now */
    assert_int_equal(ecc_graph_verify(f->ctx, g), ECC_OK);
}

static void test_lower_mask(void **state) {
    fixture *f = *state;
    ecc_graph *g = f->m->graph;
    int64_t dims[1] = {4};
    ecc_tensor *w = NULL, *keep = NULL;
    assert_int_equal(ecc_tensor_create(f->ctx, ECC_DTYPE_FLOAT, 1, dims, &w), ECC_OK);
    assert_int_equal(ecc_tensor_create(f->ctx, ECC_DTYPE_BOOL, 1, dims, &keep), ECC_OK);
    for (int i = 0; i < 4; i++) {
        ((float *)w->data)[i] = (float)(i + 1);
        ((uint8_t *)keep->data)[i] = i % 2;
    }
    ecc_value *wv = val(f, g, "w");
    assert_int_equal(ecc_graph_set_initializer(f->ctx, g, wv, w), ECC_OK);
    ecc_tensor *shared = ecc_tensor_ref(w); /* someone else holds the same tensor */
    ecc_mask *m = calloc(1, sizeof *m);
    m->keep = keep;
    ecc_value_set_mask(wv, m);
    assert_int_equal(ecc_model_lower(f->ctx, f->m), ECC_OK);
    const float *d = wv->init->data;
    assert_true(d[0] == 0 && d[1] == 2 && d[2] == 0 && d[3] == 4);
    assert_true(((float *)shared->data)[0] == 1); /* copy-on-write */
    assert_null(wv->mask);
    ecc_tensor_unref(shared);
    ecc_tensor_unref(w);
    int64_t params, bytes;
    ecc_model_param_stats(f->m, &params, &bytes);
    assert_int_equal(params, 4);
    assert_int_equal(bytes, 16);
}

static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (d) closedir(d);
    return n;
}

static void test_atomic_files(void **state) {
    fixture *f = *state;
    char dir[] = "/tmp/ecc_atomic_XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/out.bin", dir);
    ecc_atomic_file af;
    assert_int_equal(ecc_atomic_open(f->ctx, path, &af), ECC_OK);
    fputs("partial", af.fp);
    ecc_atomic_abort(&af);
    assert_int_equal(count_entries(dir), 0); /* nothing left behind */
    assert_int_equal(ecc_atomic_open(f->ctx, path, &af), ECC_OK);
    fputs("done", af.fp);
    assert_int_equal(count_entries(dir), 1);
    assert_int_equal(access(path, F_OK), -1); /* not visible before commit */
    assert_int_equal(ecc_atomic_commit(f->ctx, &af), ECC_OK);
    assert_int_equal(access(path, F_OK), 0);
    assert_int_equal(count_entries(dir), 1);
    char missing[96];
    snprintf(missing, sizeof missing, "%s/no/such/out.bin", dir);
    assert_int_equal(ecc_atomic_open(f->ctx, missing, &af), ECC_E_INTERNAL);
    assert_int_equal(ecc_atomic_open(f->ctx, dir, &af), ECC_E_USAGE);
    unlink(path);
    rmdir(dir);
}

/* Writes text to path through ecc_atomic_* and commits. */
static ecc_status atomic_put(ecc_ctx *ctx, const char *path, const char *text) {
    ecc_atomic_file af;
    ecc_status st = ecc_atomic_open(ctx, path, &af);
    if (st) return st;
    fputs(text, af.fp);
    return ecc_atomic_commit(ctx, &af);
}

static void assert_file_text(const char *path, const char *text) {
    char buf[64] = {0};
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    assert_true(fread(buf, 1, sizeof buf - 1, fp) == strlen(text));
    fclose(fp);
    assert_string_equal(buf, text);
}

static mode_t mode_of(const char *path) {
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    return sb.st_mode & 07777;
}

/* A symlink to a regular file stays a symlink; its target gets the bytes. */
static void test_atomic_symlink(void **state) {
    fixture *f = *state;
    char dir[] = "/tmp/ecc_atomic_XXXXXX", real[64], link[64];
    assert_non_null(mkdtemp(dir));
    snprintf(real, sizeof real, "%s/real.bin", dir);
    snprintf(link, sizeof link, "%s/link.bin", dir);
    assert_int_equal(atomic_put(f->ctx, real, "old"), ECC_OK);
    assert_int_equal(symlink("real.bin", link), 0);
    assert_int_equal(atomic_put(f->ctx, link, "new"), ECC_OK);
    struct stat sb;
    assert_int_equal(lstat(link, &sb), 0);
    assert_true(S_ISLNK(sb.st_mode));
    assert_file_text(real, "new");
    assert_int_equal(count_entries(dir), 2);
    unlink(link);
    unlink(real);
    rmdir(dir);
}

/* Replacing a file keeps its mode; a new file gets 0666 & ~umask. */
static void test_atomic_modes(void **state) {
    fixture *f = *state;
    char dir[] = "/tmp/ecc_atomic_XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/secret.bin", dir);
    mode_t old = umask(077);
    assert_int_equal(atomic_put(f->ctx, path, "a"), ECC_OK);
    assert_int_equal(mode_of(path), 0600);
    umask(022);
    assert_int_equal(atomic_put(f->ctx, path, "b"), ECC_OK);
    assert_int_equal(mode_of(path), 0600); /* kept, not reset from the umask */
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(atomic_put(f->ctx, path, "c"), ECC_OK);
    assert_int_equal(mode_of(path), 0640);
    unlink(path);
    assert_int_equal(atomic_put(f->ctx, path, "d"), ECC_OK);
    assert_int_equal(mode_of(path), 0644);
    umask(old);
    unlink(path);
    rmdir(dir);
}

/* A FIFO is written as a stream: the reader gets the bytes, the FIFO stays. */
static void test_atomic_fifo(void **state) {
    fixture *f = *state;
    char dir[] = "/tmp/ecc_atomic_XXXXXX", path[64], buf[16] = {0};
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/fifo", dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_true(ecc_output_is_stream(path));
    int rd = open(path, O_RDWR | O_NONBLOCK); /* a reader, so opening to write does not block */
    assert_true(rd >= 0);
    assert_int_equal(atomic_put(f->ctx, path, "bytes"), ECC_OK);
    assert_int_equal(read(rd, buf, sizeof buf - 1), 5);
    assert_string_equal(buf, "bytes");
    close(rd);
    struct stat sb;
    assert_int_equal(lstat(path, &sb), 0);
    assert_true(S_ISFIFO(sb.st_mode));
    assert_int_equal(count_entries(dir), 1);
    unlink(path);
    rmdir(dir);
}

/* A character device is written in place, never replaced (needs root to
 * create one; the node is /dev/null's, inside the temp dir). */
static void test_atomic_device(void **state) {
    fixture *f = *state;
    char dir[] = "/tmp/ecc_atomic_XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/null", dir);
    if (mknod(path, S_IFCHR | 0666, makedev(1, 3)) == 0) {
        assert_int_equal(atomic_put(f->ctx, path, "gone"), ECC_OK);
        struct stat sb;
        assert_int_equal(lstat(path, &sb), 0);
        assert_true(S_ISCHR(sb.st_mode));
        assert_int_equal(count_entries(dir), 1);
        unlink(path);
    }
    rmdir(dir);
}

/* Targets that are neither files nor streams are refused, untouched. */
static void test_atomic_refused(void **state) {
    fixture *f = *state;
    char dir[] = "/tmp/ecc_atomic_XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s/sock", dir);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
    ecc_atomic_file af;
    assert_int_equal(ecc_atomic_open(f->ctx, sa.sun_path, &af), ECC_E_USAGE);
    assert_non_null(strstr(ecc_ctx_message(f->ctx), "socket"));
    assert_int_equal(ecc_atomic_open(f->ctx, dir, &af), ECC_E_USAGE);
    assert_non_null(strstr(ecc_ctx_message(f->ctx), "directory"));
    struct stat sb;
    assert_int_equal(lstat(sa.sun_path, &sb), 0);
    assert_true(S_ISSOCK(sb.st_mode));
    assert_int_equal(count_entries(dir), 1);
    close(s);
    unlink(sa.sun_path);
    rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strmap_and_arena),
        cmocka_unit_test(test_dtypes),
        cmocka_unit_test_setup_teardown(test_tensors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edit_and_uses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_toposort_stable_and_cycles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subgraph_capture, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lower_mask, setup, teardown),
        cmocka_unit_test_setup_teardown(test_atomic_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_atomic_symlink, setup, teardown),
        cmocka_unit_test_setup_teardown(test_atomic_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_atomic_fifo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_atomic_device, setup, teardown),
        cmocka_unit_test_setup_teardown(test_atomic_refused, setup, teardown),
    };
    return cmocka_run_group_tests_name("ir", tests, NULL, NULL);
}
