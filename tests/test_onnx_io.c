/* test_onnx_io.c — the ONNX reader and writer: round trips of the testdata
 * and conformance models (structurally equal, byte-stable on the second
 * write), external data (write/read and every escape attempt), typed
 * storage, unknown fields, truncation at every offset, mutations, a nesting
 * bomb, the 2 GB limit, read/write errors and peak memory on a 100 MB model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "onnx.pb-c.h"
#include "onnx_io.h"
#include "tools/model_equal.h"
#include "tmpdir.h"

#include <dirent.h>
#include <fcntl.h>
#include <glob.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ======================= helpers ======================= */

typedef file_fixture fixture;

static int setup(void **state) { return file_fixture_setup(state, "ecc_onnx_io"); }

static char *path_in(const fixture *f, const char *rel) { return tmpdir_path(f->dir, rel); }

static bool exists(const char *path) {
    struct stat sb;
    return lstat(path, &sb) == 0;
}

static bool same_file(const char *a, const char *b) {
    size_t la = 0, lb = 0;
    uint8_t *pa = file_bytes(a, SIZE_MAX, &la), *pb = file_bytes(b, SIZE_MAX, &lb);
    bool same = pa && pb && la == lb && memcmp(pa, pb, la) == 0;
    free(pa);
    free(pb);
    return same;
}

static size_t dir_entries(const char *dir) {
    DIR *d = opendir(dir);
    size_t n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    if (d) closedir(d);
    return n;
}

/* An error is one line that names the file. */
static void assert_message(ecc_ctx *ctx, const char *path, const char *needle) {
    const char *msg = ecc_ctx_message(ctx);
    if (!strstr(msg, path) || strchr(msg, '\n') || (needle && !strstr(msg, needle)))
        fail_msg("bad message (want '%s'): %s", needle ? needle : path, msg);
}

static void assert_equal_models(const ecc_model *a, const ecc_model *b, const char *what) {
    char why[300];
    if (!ecc_test_model_equal(a, b, why, sizeof why)) fail_msg("%s: %s", what, why);
}

/* ---- models built through the IR ---- */

static ecc_value *value(ecc_ctx *ctx, ecc_graph *g, const char *name) {
    ecc_value *v = NULL;
    assert_int_equal(ecc_graph_get_value(ctx, g, name, &v), ECC_OK);
    return v;
}

static ecc_tensor *add_init(ecc_ctx *ctx, ecc_graph *g, const char *name, int32_t dtype,
                            int32_t rank, const int64_t *dims, const void *bytes, uint8_t storage) {
    ecc_tensor *t = NULL;
    assert_int_equal(ecc_tensor_create(ctx, dtype, rank, dims, &t), ECC_OK);
    if (bytes && t->nbytes) memcpy(t->data, bytes, t->nbytes);
    t->storage = storage;
    assert_int_equal(ecc_graph_set_initializer(ctx, g, value(ctx, g, name), t), ECC_OK);
    ecc_tensor_unref(t);
    return t;
}

/* x[1,4] → MatMul W[4,hidden] (raw) → Add B[hidden] (typed) → y; C int64[2]. */
static ecc_model *build_mlp(ecc_ctx *ctx, int64_t hidden) {
    ecc_model *m = NULL;
    assert_int_equal(ecc_model_create(ctx, &m), ECC_OK);
    assert_int_equal(ecc_model_set_opset(ctx, m, "", 13), ECC_OK);
    m->producer_name = "test_onnx_io";
    ecc_graph *g = m->graph;
    g->name = "mlp";
    ecc_value *x = value(ctx, g, "x");
    int64_t xd[2] = {1, 4}, wd[2] = {4, hidden}, bd[1] = {hidden}, cd[1] = {2};
    assert_int_equal(ecc_value_set_shape(ctx, x, ECC_DTYPE_FLOAT, 2, xd), ECC_OK);
    x->flags |= ECC_VALUE_INPUT;
    assert_true(ecc_ptrvec_push(&g->inputs, x));
    ecc_tensor *w = add_init(ctx, g, "W", ECC_DTYPE_FLOAT, 2, wd, NULL, ECC_STORAGE_RAW);
    for (int64_t i = 0; i < w->numel; i++)
        ((float *)w->data)[i] = (float)i * 0.5f;
    ecc_tensor *b = add_init(ctx, g, "B", ECC_DTYPE_FLOAT, 1, bd, NULL, ECC_STORAGE_TYPED);
    for (int64_t i = 0; i < b->numel; i++)
        ((float *)b->data)[i] = -(float)i;
    int64_t c[2] = {7, -9};
    add_init(ctx, g, "C", ECC_DTYPE_INT64, 1, cd, c, ECC_STORAGE_RAW);
    ecc_value *mm = value(ctx, g, "mm"), *y = value(ctx, g, "y");
    ecc_value *in1[2] = {x, value(ctx, g, "W")}, *in2[2] = {mm, value(ctx, g, "B")};
    assert_int_equal(ecc_graph_add_node(ctx, g, "MatMul", "", "mm", in1, 2, &mm, 1, NULL), ECC_OK);
    assert_int_equal(ecc_graph_add_node(ctx, g, "Add", "", "add", in2, 2, &y, 1, NULL), ECC_OK);
    y->flags |= ECC_VALUE_OUTPUT;
    assert_true(ecc_ptrvec_push(&g->outputs, y));
    return m;
}

/* ---- models built as protobuf messages ---- */

typedef struct proto_model {
    Onnx__ModelProto m;
    Onnx__GraphProto g;
    Onnx__OperatorSetIdProto op, *ops[1];
    Onnx__NodeProto node, *nodes[1];
    Onnx__AttributeProto attr, *attrs[1];
    Onnx__ValueInfoProto x, y, *ins[1], *outs[1];
    Onnx__TensorProto w, *inits[1];
    Onnx__StringStringEntryProto kv[3], *kvs[3];
    char *node_in[2], *node_out[1];
    int64_t dims[1];
    float data[4];
} proto_model;

/* y = Add(x, w), w float[4]; raw_data unless made external. */
static void proto_init(proto_model *p) {
    memset(p, 0, sizeof *p);
    onnx__model_proto__init(&p->m);
    onnx__graph_proto__init(&p->g);
    onnx__operator_set_id_proto__init(&p->op);
    onnx__node_proto__init(&p->node);
    onnx__attribute_proto__init(&p->attr);
    onnx__value_info_proto__init(&p->x);
    onnx__value_info_proto__init(&p->y);
    onnx__tensor_proto__init(&p->w);
    p->m.has_ir_version = 1;
    p->m.ir_version = 8;
    p->op.domain = "";
    p->op.has_version = 1;
    p->op.version = 13;
    p->ops[0] = &p->op;
    p->m.n_opset_import = 1;
    p->m.opset_import = p->ops;
    p->m.graph = &p->g;
    p->g.name = "g";
    p->x.name = "x";
    p->y.name = "y";
    p->ins[0] = &p->x;
    p->outs[0] = &p->y;
    p->g.n_input = p->g.n_output = 1;
    p->g.input = p->ins;
    p->g.output = p->outs;
    p->node_in[0] = "x";
    p->node_in[1] = "w";
    p->node_out[0] = "y";
    p->node.op_type = "Add";
    p->node.name = "add";
    p->node.n_input = 2;
    p->node.input = p->node_in;
    p->node.n_output = 1;
    p->node.output = p->node_out;
    p->nodes[0] = &p->node;
    p->g.n_node = 1;
    p->g.node = p->nodes;
    p->dims[0] = 4;
    for (int i = 0; i < 4; i++)
        p->data[i] = (float)(i + 1);
    p->w.name = "w";
    p->w.n_dims = 1;
    p->w.dims = p->dims;
    p->w.has_data_type = 1;
    p->w.data_type = ECC_DTYPE_FLOAT;
    p->w.has_raw_data = 1;
    p->w.raw_data.len = sizeof p->data;
    p->w.raw_data.data = (uint8_t *)p->data;
    p->inits[0] = &p->w;
    p->g.n_initializer = 1;
    p->g.initializer = p->inits;
}

static void proto_external(proto_model *p, const char *loc, const char *off, const char *len) {
    const char *keys[3] = {"location", "offset", "length"}, *vals[3] = {loc, off, len};
    size_t n = 0;
    for (int i = 0; i < 3; i++) {
        if (!vals[i]) continue;
        onnx__string_string_entry_proto__init(&p->kv[n]);
        p->kv[n].key = (char *)keys[i];
        p->kv[n].value = (char *)vals[i];
        p->kvs[n] = &p->kv[n];
        n++;
    }
    p->w.has_raw_data = 0;
    p->w.raw_data.len = 0;
    p->w.has_data_location = 1;
    p->w.data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    p->w.n_external_data = n;
    p->w.external_data = p->kvs;
}

static uint8_t *proto_pack(const ProtobufCMessage *m, size_t *len) {
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *b = malloc(*len + 1);
    assert_int_equal(protobuf_c_message_pack(m, b), *len);
    return b;
}

static void proto_write(const proto_model *p, const char *path) {
    size_t len;
    uint8_t *b = proto_pack(&p->m.base, &len);
    write_file(path, b, len);
    free(b);
}

/* ======================= round trips ======================= */

/* read → write (dir a) → read → equal; writing the re-read model (dir b)
 * gives the same bytes, side files included. */
static void roundtrip_one(fixture *f, const char *in) {
    ecc_model *m1 = NULL, *m2 = NULL, *m3 = NULL;
    char a[600], b[600], ad[620], bd[620];
    snprintf(a, sizeof a, "%s/a/model.onnx", f->dir);
    snprintf(b, sizeof b, "%s/b/model.onnx", f->dir);
    mkdir(path_in(f, "a"), 0755);
    mkdir(path_in(f, "b"), 0755);
    if (ecc_model_read(f->ctx, in, &m1) != ECC_OK) fail_msg("%s", ecc_ctx_message(f->ctx));
    assert_int_equal(ecc_model_write(f->ctx, m1, a, NULL), ECC_OK);
    if (ecc_model_read(f->ctx, a, &m2) != ECC_OK) fail_msg("%s", ecc_ctx_message(f->ctx));
    assert_equal_models(m1, m2, in);
    assert_int_equal(ecc_model_write(f->ctx, m2, b, NULL), ECC_OK);
    if (!same_file(a, b)) fail_msg("%s: second write differs", in);
    snprintf(ad, sizeof ad, "%s.data", a);
    snprintf(bd, sizeof bd, "%s.data", b);
    assert_int_equal(exists(ad), exists(bd));
    if (exists(ad) && !same_file(ad, bd)) fail_msg("%s: second side file differs", in);
    assert_int_equal(ecc_model_read(f->ctx, b, &m3), ECC_OK);
    assert_equal_models(m1, m3, in);
    ecc_model_free(m1);
    ecc_model_free(m2);
    ecc_model_free(m3);
    unlink(a), unlink(b), unlink(ad), unlink(bd);
}

static size_t roundtrip_glob(fixture *f, const char *pattern, size_t every) {
    glob_t gl;
    size_t n = 0;
    if (glob(pattern, 0, NULL, &gl) != 0) return 0;
    for (size_t i = 0; i < gl.gl_pathc; i += every, n++)
        roundtrip_one(f, gl.gl_pathv[i]);
    globfree(&gl);
    return n;
}

static const char *testdata(void) {
    const char *d = getenv("ECC_TESTDATA");
    return d ? d : "testdata";
}

static void test_roundtrip_testdata(void **state) {
    fixture *f = *state;
    char pat[3][300];
    snprintf(pat[0], sizeof pat[0], "%s/*.onnx", testdata());
    snprintf(pat[1], sizeof pat[1], "%s/edge/*.onnx", testdata());
    snprintf(pat[2], sizeof pat[2], "%s/edge/*/*.onnx", testdata());
    size_t n = 0;
    for (int i = 0; i < 3; i++)
        n += roundtrip_glob(f, pat[i], 1);
    if (!n) {
        print_message("skipped: no models under %s (generated by testdata/gen)\n", testdata());
        skip();
    }
}

static void test_roundtrip_conformance_sample(void **state) {
    fixture *f = *state;
    size_t n = roundtrip_glob(f, "/usr/share/libonnx-testdata/data/*/*/model.onnx", 7);
    if (!n) {
        print_message("skipped: libonnx-testdata is not installed\n");
        skip();
    }
}

static void test_roundtrip_built_and_deterministic(void **state) {
    fixture *f = *state;
    ecc_model *m = build_mlp(f->ctx, 3), *r = NULL;
    char *a = path_in(f, "one.onnx"), *b = path_in(f, "two.onnx");
    assert_int_equal(ecc_model_write(f->ctx, m, a, NULL), ECC_OK);
    assert_int_equal(ecc_model_write(f->ctx, m, b, NULL), ECC_OK);
    assert_true(same_file(a, b));
    assert_int_equal(ecc_model_read(f->ctx, a, &r), ECC_OK);
    assert_equal_models(m, r, "built model");
    assert_int_equal(((ecc_value *)r->graph->inits.items[1])->init->storage, ECC_STORAGE_TYPED);
    assert_string_equal(r->path, a);
    ecc_model_free(m);
    ecc_model_free(r);
}

/* ======================= external data ======================= */

static const Onnx__TensorProto *find_init(const Onnx__ModelProto *mp, const char *name) {
    for (size_t i = 0; i < mp->graph->n_initializer; i++)
        if (!strcmp(mp->graph->initializer[i]->name, name)) return mp->graph->initializer[i];
    return NULL;
}

static const char *ext_get(const Onnx__TensorProto *t, const char *key) {
    for (size_t i = 0; i < t->n_external_data; i++)
        if (!strcmp(t->external_data[i]->key, key)) return t->external_data[i]->value;
    return NULL;
}

static void test_external_write_read(void **state) {
    fixture *f = *state;
    ecc_model *m = build_mlp(f->ctx, 300), *r = NULL, *r2 = NULL;
    ecc_write_options o = {sizeof o, true, 1024, NULL};
    mkdir(path_in(f, "a"), 0755);
    mkdir(path_in(f, "b"), 0755);
    char *a = path_in(f, "a/model.onnx"), *ad = path_in(f, "a/model.onnx.data");
    assert_int_equal(ecc_model_write(f->ctx, m, a, &o), ECC_OK);
    assert_true(exists(ad));
    /* W (4800 bytes) at 0, B (1200 bytes) at 8192; C (16 bytes) inline */
    size_t len;
    uint8_t *bytes = read_file(a, &len);
    Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, len, bytes);
    assert_non_null(mp);
    const Onnx__TensorProto *w = find_init(mp, "W"), *b = find_init(mp, "B"),
                            *c = find_init(mp, "C");
    assert_int_equal(w->data_location, ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL);
    assert_string_equal(ext_get(w, "location"), "model.onnx.data");
    assert_string_equal(ext_get(w, "offset"), "0");
    assert_string_equal(ext_get(w, "length"), "4800");
    assert_string_equal(ext_get(b, "offset"), "8192");
    assert_string_equal(ext_get(b, "length"), "1200");
    assert_false(c->has_data_location);
    assert_true(c->has_raw_data);
    onnx__model_proto__free_unpacked(mp, NULL);
    free(bytes);
    struct stat sb;
    assert_int_equal(stat(ad, &sb), 0);
    assert_int_equal(sb.st_size, 8192 + 1200);
    /* read back: same data, storage remembered */
    assert_int_equal(ecc_model_read(f->ctx, a, &r), ECC_OK);
    assert_equal_models(m, r, "external round trip");
    assert_int_equal(((ecc_value *)r->graph->inits.items[0])->init->storage, ECC_STORAGE_EXTERNAL);
    /* external tensors stay external without options; bytes identical */
    char *b2 = path_in(f, "b/model.onnx");
    assert_int_equal(ecc_model_write(f->ctx, r, b2, NULL), ECC_OK);
    assert_true(same_file(a, b2));
    assert_true(same_file(ad, path_in(f, "b/model.onnx.data")));
    assert_int_equal(ecc_model_read(f->ctx, b2, &r2), ECC_OK);
    assert_equal_models(m, r2, "second external round trip");
    /* custom side file name; bad names refused before anything is written */
    ecc_write_options named = {sizeof named, true, 1024, "weights.bin"};
    assert_int_equal(ecc_model_write(f->ctx, m, path_in(f, "named.onnx"), &named), ECC_OK);
    assert_true(exists(path_in(f, "weights.bin")));
    ecc_write_options bad = {sizeof bad, true, 1024, "../escape.bin"};
    assert_int_equal(ecc_model_write(f->ctx, m, path_in(f, "bad.onnx"), &bad), ECC_E_USAGE);
    assert_false(exists(path_in(f, "bad.onnx")));
    /* buffers hold everything inline */
    uint8_t *buf;
    size_t blen;
    ecc_model *rb = NULL;
    assert_int_equal(ecc_onnx_write_buffer(f->ctx, r, &buf, &blen), ECC_OK);
    assert_int_equal(ecc_onnx_read_buffer(f->ctx, buf, blen, "buf", NULL, &rb), ECC_OK);
    assert_equal_models(m, rb, "inline buffer");
    free(buf);
    ecc_model_free(rb);
    ecc_model_free(m);
    ecc_model_free(r);
    ecc_model_free(r2);
}

typedef struct ext_case {
    const char *loc, *off, *len;
    ecc_status want;
    const char *needle;
} ext_case;

static void test_external_escapes(void **state) {
    fixture *f = *state;
    float w[4] = {1, 2, 3, 4};
    mkdir(path_in(f, "m"), 0755);
    mkdir(path_in(f, "m/sub"), 0755);
    write_file(path_in(f, "m/w.bin"), w, sizeof w);
    write_file(path_in(f, "m/sub/w2.bin"), w, sizeof w);
    write_file(path_in(f, "outside.bin"), w, sizeof w);
    write_file(path_in(f, "outside2.bin"), w, sizeof w);
    assert_int_equal(symlink("w.bin", path_in(f, "m/link.bin")), 0);
    assert_int_equal(symlink("sub", path_in(f, "m/linkdir")), 0);
    assert_int_equal(link(path_in(f, "outside2.bin"), path_in(f, "m/hard.bin")), 0);
    assert_int_equal(mkfifo(path_in(f, "m/fifo"), 0644), 0);
    char absolute[600];
    snprintf(absolute, sizeof absolute, "%s", path_in(f, "outside.bin"));
    const ext_case cases[] = {
        {"w.bin", "0", "16", ECC_OK, NULL},
        {"./sub/w2.bin", NULL, NULL, ECC_OK, NULL},
        {"sub//w2.bin", "0", NULL, ECC_OK, NULL},
        {"../outside.bin", NULL, NULL, ECC_E_INPUT, "escapes"},
        {"sub/../w.bin", NULL, NULL, ECC_E_INPUT, "escapes"},
        {absolute, NULL, NULL, ECC_E_INPUT, "absolute"},
        {"link.bin", NULL, NULL, ECC_E_INPUT, "symbolic link"},
        {"linkdir/w2.bin", NULL, NULL, ECC_E_INPUT, "symbolic link"},
        {"hard.bin", NULL, NULL, ECC_E_INPUT, "hard link"},
        {"w.bin", "8", "16", ECC_E_INPUT, "past the end"},
        {"w.bin", "1", NULL, ECC_E_INPUT, "past the end"},
        {"w.bin", "9223372036854775807", "16", ECC_E_INPUT, "overflows"},
        {"w.bin", "0", "8", ECC_E_INPUT, "does not match"},
        {"w.bin", "-1", NULL, ECC_E_INPUT, "offset"},
        {"w.bin", "0", "99999999999999999999", ECC_E_INPUT, "length"},
        {"sub", NULL, NULL, ECC_E_INPUT, "not a regular file"},
        {"fifo", NULL, NULL, ECC_E_INPUT, "not a regular file"},
        {"missing.bin", NULL, NULL, ECC_E_INPUT, "No such file"},
        {"", NULL, NULL, ECC_E_INPUT, "location"},
        {NULL, "0", NULL, ECC_E_INPUT, "location"},
        {".", NULL, NULL, ECC_E_INPUT, "does not name a file"},
    };
    char *model = path_in(f, "m/model.onnx");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const ext_case *c = &cases[i];
        proto_model p;
        proto_init(&p);
        proto_external(&p, c->loc, c->off, c->len);
        proto_write(&p, model);
        ecc_model *m = NULL;
        ecc_status st = ecc_model_read(f->ctx, model, &m);
        if (st != c->want)
            fail_msg("case %zu (%s): status %d: %s", i, c->loc ? c->loc : "(none)", (int)st,
                     ecc_ctx_message(f->ctx));
        if (st == ECC_OK) {
            const ecc_tensor *t = ((ecc_value *)m->graph->inits.items[0])->init;
            assert_memory_equal(t->data, w, sizeof w);
            assert_int_equal(t->storage, ECC_STORAGE_EXTERNAL);
        } else {
            assert_null(m);
            assert_message(f->ctx, model, c->needle);
            assert_non_null(strstr(ecc_ctx_message(f->ctx), "'w'"));
        }
        ecc_model_free(m);
    }
    /* no base directory: external data refused */
    proto_model p;
    proto_init(&p);
    proto_external(&p, "w.bin", NULL, NULL);
    size_t len;
    uint8_t *b = proto_pack(&p.m.base, &len);
    ecc_model *m = NULL;
    assert_int_equal(ecc_onnx_read_buffer(f->ctx, b, len, "mem", NULL, &m), ECC_E_INPUT);
    assert_message(f->ctx, "mem", "not allowed");
    free(b);
}

/* ======================= storage and opaque parts ======================= */

static void test_typed_fields(void **state) {
    fixture *f = *state;
    ecc_model *m = NULL, *r = NULL;
    assert_int_equal(ecc_model_create(f->ctx, &m), ECC_OK);
    ecc_graph *g = m->graph;
    int64_t d3[1] = {3}, d2[1] = {2}, d1[1] = {1};
    int8_t i8[3] = {-1, 5, -128};
    int16_t i16[2] = {-2, 300};
    uint16_t f16[2] = {0x3c00, 0xc000};
    uint8_t i4[2] = {0x21, 0x0f};
    uint32_t u32[2] = {4000000000u, 1};
    uint64_t u64[2] = {UINT64_MAX, 2};
    double f64[2] = {1.5, -2.25};
    float c64[2] = {1.0f, -1.0f};
    uint8_t bl[3] = {1, 0, 1};
    add_init(f->ctx, g, "i8", ECC_DTYPE_INT8, 1, d3, i8, ECC_STORAGE_TYPED);
    add_init(f->ctx, g, "i16", ECC_DTYPE_INT16, 1, d2, i16, ECC_STORAGE_TYPED);
    add_init(f->ctx, g, "f16", ECC_DTYPE_FLOAT16, 1, d2, f16, ECC_STORAGE_TYPED);
    add_init(f->ctx, g, "i4", ECC_DTYPE_INT4, 1, d3, i4, ECC_STORAGE_TYPED);
    add_init(f->ctx, g, "u32", ECC_DTYPE_UINT32, 1, d2, u32, ECC_STORAGE_TYPED);
    add_init(f->ctx, g, "u64", ECC_DTYPE_UINT64, 1, d2, u64, ECC_STORAGE_TYPED);
    add_init(f->ctx, g, "f64", ECC_DTYPE_DOUBLE, 1, d2, f64, ECC_STORAGE_TYPED);
    add_init(f->ctx, g, "c64", ECC_DTYPE_COMPLEX64, 1, d1, c64, ECC_STORAGE_TYPED);
    add_init(f->ctx, g, "bool", ECC_DTYPE_BOOL, 1, d3, bl, ECC_STORAGE_TYPED);
    ecc_tensor *s = add_init(f->ctx, g, "str", ECC_DTYPE_STRING, 1, d2, NULL, ECC_STORAGE_RAW);
    s->strings[0].data = (uint8_t *)strdup("h\xc3\xa9llo");
    s->strings[0].len = 6;
    s->strings[1].data = (uint8_t *)strdup("");
    uint8_t *buf;
    size_t len;
    assert_int_equal(ecc_onnx_write_buffer(f->ctx, m, &buf, &len), ECC_OK);
    Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, len, buf);
    assert_non_null(mp);
    const Onnx__TensorProto *t = find_init(mp, "i8");
    assert_int_equal(t->n_int32_data, 3);
    assert_int_equal(t->int32_data[0], -1);
    assert_int_equal(t->int32_data[2], -128);
    t = find_init(mp, "i16");
    assert_int_equal(t->int32_data[0], -2);
    t = find_init(mp, "f16");
    assert_int_equal(t->int32_data[1], 0xc000);
    t = find_init(mp, "i4");
    assert_int_equal(t->n_int32_data, 2);
    assert_int_equal(t->int32_data[0], 0x21);
    t = find_init(mp, "u32");
    assert_int_equal(t->n_uint64_data, 2);
    assert_int_equal(t->uint64_data[0], 4000000000u);
    t = find_init(mp, "c64");
    assert_int_equal(t->n_float_data, 2);
    t = find_init(mp, "str");
    assert_int_equal(t->n_string_data, 2);
    assert_false(t->has_raw_data);
    onnx__model_proto__free_unpacked(mp, NULL);
    assert_int_equal(ecc_onnx_read_buffer(f->ctx, buf, len, "typed", NULL, &r), ECC_OK);
    assert_equal_models(m, r, "typed fields");
    for (size_t i = 0; i < r->graph->inits.n; i++) {
        const ecc_tensor *x = ((ecc_value *)r->graph->inits.items[i])->init;
        assert_int_equal(x->storage, ECC_STORAGE_TYPED);
    }
    uint8_t *buf2;
    size_t len2;
    assert_int_equal(ecc_onnx_write_buffer(f->ctx, r, &buf2, &len2), ECC_OK);
    assert_int_equal(len, len2);
    assert_memory_equal(buf, buf2, len);
    free(buf);
    free(buf2);
    ecc_model_free(m);
    ecc_model_free(r);
}

/* Unknown fields on every message that keeps them survive byte for byte. */
static void test_unknown_fields(void **state) {
    fixture *f = *state;
    proto_model p;
    proto_init(&p);
    uint8_t v5[1] = {5}, str[4] = {3, 'a', 'b', 'c'};
    ProtobufCMessageUnknownField uv = {99, PROTOBUF_C_WIRE_TYPE_VARINT, 1, v5};
    ProtobufCMessageUnknownField us = {8, PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED, 4, str};
    ProtobufCMessage *targets[] = {&p.m.base, &p.g.base, &p.w.base, &p.x.base, &p.attr.base};
    for (size_t i = 0; i < 5; i++) {
        targets[i]->n_unknown_fields = 1;
        targets[i]->unknown_fields = &uv;
    }
    p.node.base.n_unknown_fields = 1; /* NodeProto.overload (field 8) of newer IRs */
    p.node.base.unknown_fields = &us;
    p.attr.name = "alpha";
    p.attr.has_type = 1;
    p.attr.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
    p.attr.has_f = 1;
    p.attr.f = 0.5f;
    p.attrs[0] = &p.attr;
    p.node.n_attribute = 1;
    p.node.attribute = p.attrs;
    size_t len;
    uint8_t *b = proto_pack(&p.m.base, &len);
    ecc_model *m = NULL;
    assert_int_equal(ecc_onnx_read_buffer(f->ctx, b, len, "unknown", NULL, &m), ECC_OK);
    const ecc_node *n = m->graph->nodes.items[0];
    assert_int_equal(m->unknown.n, 1);
    assert_int_equal(m->graph->unknown.n, 1);
    assert_int_equal(n->unknown.n, 1);
    assert_int_equal(n->attrs[0].unknown.n, 1);
    assert_int_equal(((ecc_value *)m->graph->inputs.items[0])->vi_unknown.n, 1);
    assert_int_equal(((ecc_value *)m->graph->inits.items[0])->init->unknown.n, 1);
    uint8_t *out;
    size_t olen;
    assert_int_equal(ecc_onnx_write_buffer(f->ctx, m, &out, &olen), ECC_OK);
    assert_int_equal(olen, len);
    assert_memory_equal(out, b, len);
    free(out);
    free(b);
    ecc_model_free(m);
}

/* ======================= hostile input ======================= */

/* opset_import first, graph last: every proper prefix lacks a whole graph. */
static uint8_t *graph_last_model(size_t *len) {
    proto_model p;
    proto_init(&p);
    Onnx__GraphProto *g = p.m.graph;
    p.m.graph = NULL;
    size_t la, lb;
    uint8_t *a = proto_pack(&p.m.base, &la);
    Onnx__ModelProto only = ONNX__MODEL_PROTO__INIT;
    only.graph = g;
    uint8_t *b = proto_pack(&only.base, &lb);
    uint8_t *all = malloc(la + lb);
    memcpy(all, a, la);
    memcpy(all + la, b, lb);
    free(a);
    free(b);
    *len = la + lb;
    return all;
}

static void test_truncated_every_offset(void **state) {
    fixture *f = *state;
    size_t len;
    uint8_t *full = graph_last_model(&len);
    ecc_model *m = NULL;
    assert_int_equal(ecc_onnx_read_buffer(f->ctx, full, len, "full", NULL, &m), ECC_OK);
    ecc_model_free(m);
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *b = malloc(cut + 1); /* exact size: ASan sees any overread */
        memcpy(b, full, cut);
        m = NULL;
        ecc_status st = ecc_onnx_read_buffer(f->ctx, b, cut, "cut", NULL, &m);
        if (st != ECC_E_INPUT) fail_msg("prefix %zu: status %d", cut, (int)st);
        assert_null(m);
        assert_message(f->ctx, "cut", NULL);
        free(b);
    }
    free(full);
    /* prefixes of a real model: never a crash, never an internal error */
    char path[300];
    snprintf(path, sizeof path, "%s/bad/valid_base.pb", testdata());
    uint8_t *vb = file_bytes(path, SIZE_MAX, &len);
    for (size_t cut = 0; vb && cut < len; cut++) {
        uint8_t *b = malloc(cut + 1);
        memcpy(b, vb, cut);
        m = NULL;
        ecc_status st = ecc_onnx_read_buffer(f->ctx, b, cut, "cut", NULL, &m);
        assert_true(st == ECC_OK || st == ECC_E_INPUT);
        ecc_model_free(m);
        free(b);
    }
    free(vb);
}

/* Deterministic byte mutations of a small model. */
static void test_mutations(void **state) {
    fixture *f = *state;
    size_t len;
    uint8_t *full = graph_last_model(&len);
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    for (int it = 0; it < 3000; it++) {
        uint8_t *b = malloc(len);
        memcpy(b, full, len);
        for (int k = 0; k <= it % 4; k++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            b[(rng >> 33) % len] ^= (uint8_t)(1u << ((rng >> 20) & 7));
        }
        ecc_model *m = NULL;
        ecc_status st = ecc_onnx_read_buffer(f->ctx, b, len, "mut", NULL, &m);
        if (st == ECC_OK) {
            uint8_t *out;
            size_t olen;
            assert_int_equal(ecc_onnx_write_buffer(f->ctx, m, &out, &olen), ECC_OK);
            free(out);
        } else if (st != ECC_E_INPUT) {
            fail_msg("mutation %d: status %d: %s", it, (int)st, ecc_ctx_message(f->ctx));
        }
        ecc_model_free(m);
        free(b);
    }
    free(full);
}

typedef struct bytebuf {
    uint8_t *p;
    size_t n, cap;
} bytebuf;

static void bb_put(bytebuf *b, const void *d, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}

static void bb_varint(bytebuf *b, uint64_t v) {
    uint8_t t[10];
    size_t n = 0;
    do {
        t[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v) t[n] |= 0x80;
        n++;
    } while (v);
    bb_put(b, t, n);
}

/* field (length-delimited) wrapping inner */
static bytebuf bb_wrap(uint32_t field, const bytebuf *prefix, const bytebuf *inner) {
    bytebuf o = {0};
    if (prefix) bb_put(&o, prefix->p, prefix->n);
    bb_varint(&o, (uint64_t)field << 3 | 2);
    bb_varint(&o, inner->n);
    bb_put(&o, inner->p, inner->n);
    return o;
}

/* Model whose graph holds If nodes nested `levels` deep (3 messages each). */
static bytebuf nested_model(int levels) {
    bytebuf graph = {0};
    bb_put(&graph, "\x12\x01g", 3); /* name "g" */
    for (int i = 0; i < levels; i++) {
        bytebuf attr = {0};
        bb_put(&attr, "\x0a\x0bthen_branch", 13);   /* name */
        bytebuf attr_g = bb_wrap(6, &attr, &graph); /* g */
        bb_put(&attr_g, "\xa0\x01\x05", 3);         /* type GRAPH (field 20) */
        bytebuf node = {0};
        bb_put(&node, "\x22\x02If", 4); /* op_type */
        bytebuf node_a = bb_wrap(5, &node, &attr_g);
        free(graph.p);
        graph = bb_wrap(1, NULL, &node_a);
        free(attr.p), free(attr_g.p), free(node.p), free(node_a.p);
    }
    bytebuf model = {0};
    bb_put(&model, "\x08\x08", 2); /* ir_version 8 */
    bytebuf out = bb_wrap(7, &model, &graph);
    free(model.p), free(graph.p);
    return out;
}

static void test_depth_bomb(void **state) {
    fixture *f = *state;
    bytebuf ok = nested_model(15), bomb = nested_model(10000);
    ecc_model *m = NULL;
    if (ecc_onnx_read_buffer(f->ctx, ok.p, ok.n, "ok", NULL, &m) != ECC_OK)
        fail_msg("%s", ecc_ctx_message(f->ctx));
    uint8_t *out;
    size_t olen;
    assert_int_equal(ecc_onnx_write_buffer(f->ctx, m, &out, &olen), ECC_OK);
    assert_int_equal(olen, ok.n);
    assert_memory_equal(out, ok.p, olen);
    free(out);
    ecc_model_free(m);
    m = NULL;
    assert_int_equal(ecc_onnx_read_buffer(f->ctx, bomb.p, bomb.n, "bomb", NULL, &m), ECC_E_INPUT);
    assert_null(m);
    assert_message(f->ctx, "bomb", "nesting deeper than 64 levels");
    free(ok.p);
    free(bomb.p);
}

static void test_read_errors(void **state) {
    fixture *f = *state;
    ecc_model *m = NULL;
    char *empty = path_in(f, "empty.onnx"), *dir = path_in(f, "d.onnx");
    char *missing = path_in(f, "missing.onnx"), *fifo = path_in(f, "fifo.onnx");
    write_file(empty, "", 0);
    mkdir(dir, 0755);
    assert_int_equal(mkfifo(fifo, 0644), 0);
    assert_int_equal(ecc_model_read(f->ctx, empty, &m), ECC_E_INPUT);
    assert_message(f->ctx, empty, "empty");
    assert_int_equal(ecc_model_read(f->ctx, dir, &m), ECC_E_INPUT);
    assert_message(f->ctx, dir, "directory");
    assert_int_equal(ecc_model_read(f->ctx, missing, &m), ECC_E_INPUT);
    assert_message(f->ctx, missing, "No such file");
    assert_int_equal(ecc_model_read(f->ctx, fifo, &m), ECC_E_INPUT);
    assert_message(f->ctx, fifo, "regular");
    assert_null(m);
}

/* ======================= writing limits ======================= */

static void test_write_failures(void **state) {
    fixture *f = *state;
    ecc_model *m = build_mlp(f->ctx, 3);
    char *nodir = path_in(f, "no/such/dir/model.onnx");
    assert_int_not_equal(ecc_model_write(f->ctx, m, nodir, NULL), ECC_OK);
    assert_message(f->ctx, nodir, NULL);
    /* over 2 GB: refused before any file exists (nbytes faked, data untouched) */
    mkdir(path_in(f, "big"), 0755);
    char *big = path_in(f, "big/model.onnx");
    ecc_tensor *w = ((ecc_value *)m->graph->inits.items[0])->init;
    size_t real = w->nbytes;
    w->nbytes = (size_t)3 << 30;
    assert_int_equal(ecc_model_write(f->ctx, m, big, NULL), ECC_E_INPUT);
    assert_message(f->ctx, big, "--external-data");
    assert_int_equal(dir_entries(path_in(f, "big")), 0);
    uint8_t *buf = NULL;
    size_t len;
    assert_int_equal(ecc_onnx_write_buffer(f->ctx, m, &buf, &len), ECC_E_INPUT);
    assert_null(buf);
    w->nbytes = real;
    ecc_model_free(m);
}

/* Peak RSS of reading + writing a 100 MB model stays within 2.5x its size. */
static void test_peak_memory(void **state) {
    fixture *f = *state;
    const char *pre = getenv("LD_PRELOAD");
#if defined(__SANITIZE_ADDRESS__)
    bool sanitized = true;
#else
    bool sanitized = false;
#endif
    if (sanitized || (pre && strstr(pre, "vgpreload")) || getenv("ECC_SKIP_BIG")) {
        print_message("skipped: RSS is not meaningful under sanitizers/valgrind\n");
        skip();
    }
    ecc_model *m = build_mlp(f->ctx, 25 * 1024 * 256); /* W: 4 x 6.5M floats = 100 MB */
    char *in = path_in(f, "big_in.onnx"), *out = path_in(f, "big_out.onnx");
    assert_int_equal(ecc_model_write(f->ctx, m, in, NULL), ECC_OK);
    ecc_model_free(m);
    malloc_trim(0);
    struct stat sb;
    assert_int_equal(stat(in, &sb), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        ecc_model *r = NULL;
        int rc = ecc_model_read(f->ctx, in, &r) == ECC_OK &&
                         ecc_model_write(f->ctx, r, out, NULL) == ECC_OK
                     ? 0
                     : 1;
        ecc_model_free(r);
        _exit(rc);
    }
    int status = 0;
    struct rusage ru;
    assert_int_equal(wait4(pid, &status, 0, &ru), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    double ratio = (double)ru.ru_maxrss * 1024.0 / (double)sb.st_size;
    print_message("peak RSS %.1f MB for a %.1f MB model (%.2fx)\n", ru.ru_maxrss / 1024.0,
                  sb.st_size / 1048576.0, ratio);
    assert_true(ratio <= 2.5);
    assert_true(same_file(in, out));
}

int main(void) {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, file_fixture_teardown)
    const struct CMUnitTest tests[] = {
        T(test_roundtrip_testdata),
        T(test_roundtrip_conformance_sample),
        T(test_roundtrip_built_and_deterministic),
        T(test_external_write_read),
        T(test_external_escapes),
        T(test_typed_fields),
        T(test_unknown_fields),
        T(test_truncated_every_offset),
        T(test_mutations),
        T(test_depth_bomb),
        T(test_read_errors),
        T(test_write_failures),
        T(test_peak_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
