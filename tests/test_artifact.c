/* test_artifact.c — the .ecc artifact: every encoding (raw, int8/int4 per
 * tensor/channel/block with and without zero points, bitmask, N:M along
 * every axis, codebook) chosen and restored exactly; quantizer annotations
 * packed and restored as QDQ and as float (bit-identical dequantized
 * weights); the DequantizeLinear pattern of ONNX quantizers recognised; a
 * zero point shared by two DequantizeLinear nodes (and refused when an entry
 * carries other values);
 * lossless round trips of the testdata models; determinism; the `cluster`
 * pass; SHA-256 vectors; and robustness: every byte of a small artifact
 * flipped (detected by verify, or provably harmless: the restored model is
 * identical), sampled flips of a larger one, truncation at every length. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "../formats/artifact/artifact_internal.h"
#include "onnx_io.h"
#include "pipeline.h"
#include "tools/art_quant.h"
#include "tools/model_equal.h"
#include "tmpdir.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ======================= helpers ======================= */

typedef struct fixture {
    ecc_ctx *ctx;
    ecc_model *m;
    uint64_t rng;
    char dir[64];
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    f->ctx = ecc_ctx_create();
    f->rng = 42;
    tmpdir_make(f->dir, sizeof f->dir, "ecc_artifact");
    assert_int_equal(ecc_model_create(f->ctx, &f->m), ECC_OK);
    f->m->ir_version = 10;
    assert_int_equal(ecc_model_set_opset(f->ctx, f->m, "", 21), ECC_OK);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    tmpdir_remove(f->dir);
    ecc_model_free(f->m);
    ecc_ctx_free(f->ctx);
    free(f);
    return 0;
}

static char *path_in(const fixture *f, const char *rel) { return tmpdir_path(f->dir, rel); }

static float frand(fixture *f) {
    f->rng = f->rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((f->rng >> 40) & 0xffffff) / (float)0xffffff * 2.0f - 1.0f;
}

/* A float32 (or other dtype) initializer read by an Identity whose output is
 * a graph output, so the graph stays valid. */
static ecc_value *weight(fixture *f, const char *name, int32_t dtype, int32_t rank,
                         const int64_t *dims) {
    ecc_graph *g = f->m->graph;
    ecc_value *v = NULL, *out = NULL;
    ecc_tensor *t = NULL;
    char oname[256];
    ecc_node *n = NULL;
    assert_int_equal(ecc_graph_add_value(f->ctx, g, name, &v), ECC_OK);
    assert_int_equal(ecc_tensor_create(f->ctx, dtype, rank, dims, &t), ECC_OK);
    assert_int_equal(ecc_graph_set_initializer(f->ctx, g, v, t), ECC_OK);
    assert_int_equal(ecc_value_set_shape(f->ctx, v, dtype, rank, dims), ECC_OK);
    ecc_tensor_unref(t);
    snprintf(oname, sizeof oname, "%s_out", name);
    assert_int_equal(ecc_graph_add_value(f->ctx, g, oname, &out), ECC_OK);
    assert_int_equal(ecc_graph_add_node(f->ctx, g, "Identity", "", oname, &v, 1, &out, 1, &n), ECC_OK);
    out->flags |= ECC_VALUE_OUTPUT;
    assert_true(ecc_ptrvec_push(&g->outputs, out));
    return v;
}

static ecc_value *weight_f32(fixture *f, const char *name, int32_t rank, const int64_t *dims) {
    ecc_value *v = weight(f, name, ECC_DTYPE_FLOAT, rank, dims);
    float *w = v->init->data;
    for (int64_t i = 0; i < v->init->numel; i++) w[i] = frand(f);
    return v;
}

static void write_ecc(fixture *f, const ecc_model *m, const char *path) {
    ecc_write_options wo = {sizeof wo, false, 0, NULL, ECC_FORMAT_ECC, "test", 0};
    ecc_status st = ecc_model_write(f->ctx, m, path, &wo);
    if (st) fail_msg("write %s: %s", path, ecc_ctx_message(f->ctx));
}

static ecc_model *read_ecc(fixture *f, const char *path, bool dequantize) {
    ecc_model *m = NULL;
    ecc_artifact_read_options ro = {sizeof ro, dequantize};
    ecc_status st = ecc_artifact_read(f->ctx, path, &ro, &m);
    if (st) fail_msg("read %s: %s", path, ecc_ctx_message(f->ctx));
    return m;
}

/* Loader view of the entry named name in the artifact at path. */
static ecc_load_info entry_of(const char *path, const char *name) {
    size_t n;
    uint8_t *buf = read_file(path, &n);
    void *work = malloc(ecc_load_workspace_size());
    ecc_loader L;
    ecc_load_info in;
    uint32_t i;
    assert_int_equal(ecc_load_open_memory(&L, buf, n, work, ecc_load_workspace_size()), 0);
    assert_int_equal(ecc_load_find(&L, name, &i), 0);
    assert_int_equal(ecc_load_info_at(&L, i, &in), 0);
    in.name = NULL; /* points into buf */
    free(work);
    free(buf);
    return in;
}

static const ecc_tensor *init_of(const ecc_model *m, const char *name) {
    const ecc_value *v = ecc_graph_find(m->graph, name);
    assert_non_null(v);
    assert_non_null(v->init);
    return v->init;
}

static void assert_tensor_bits(const ecc_tensor *a, const ecc_tensor *b, const char *what) {
    if (!ecc_tensor_equal(a, b)) fail_msg("%s: tensors differ", what);
}

/* ======================= encodings ======================= */

static void test_raw_dense(void **state) {
    fixture *f = *state;
    int64_t d[2] = {17, 33};
    ecc_value *v = weight_f32(f, "w", 2, d);
    ecc_tensor *orig = ecc_tensor_ref(v->init);
    write_ecc(f, f->m, path_in(f, "a.ecc"));
    ecc_load_info in = entry_of(path_in(f, "a.ecc"), "w");
    assert_int_equal(in.e.repr, ECC_ART_REPR_RAW);
    assert_int_equal(in.e.layout, ECC_ART_LAYOUT_DENSE);
    ecc_model *r = read_ecc(f, path_in(f, "a.ecc"), false);
    assert_tensor_bits(init_of(r, "w"), orig, "raw dense");
    ecc_model_free(r);
    ecc_tensor_unref(orig);
}

static void test_raw_bitmask_and_negative_zero(void **state) {
    fixture *f = *state;
    int64_t d[2] = {64, 50};
    ecc_value *v = weight_f32(f, "w", 2, d);
    float *w = v->init->data;
    for (int64_t i = 0; i < v->init->numel; i++)
        if (i % 10) w[i] = 0.0f;
    w[1] = -0.0f; /* not implicit: must come back as -0.0 */
    ecc_tensor *orig = ecc_tensor_ref(v->init);
    write_ecc(f, f->m, path_in(f, "a.ecc"));
    ecc_load_info in = entry_of(path_in(f, "a.ecc"), "w");
    assert_int_equal(in.e.layout, ECC_ART_LAYOUT_BITMASK);
    assert_int_equal(in.e.count, 320 + 1);
    ecc_model *r = read_ecc(f, path_in(f, "a.ecc"), false);
    assert_tensor_bits(init_of(r, "w"), orig, "bitmask");
    assert_true(signbit(((float *)init_of(r, "w")->data)[1]));
    ecc_model_free(r);
    ecc_tensor_unref(orig);
}

/* n:m pattern along axis: every group of m keeps n positions picked at
 * random (so no other axis shows the pattern). */
static void nm_pattern(fixture *f, ecc_value *v, int axis, int n, int m) {
    const ecc_tensor *t = v->init;
    float *w = t->data;
    int64_t outer = 1, D = t->dims[axis], inner = 1;
    for (int i = 0; i < axis; i++) outer *= t->dims[i];
    for (int i = axis + 1; i < t->rank; i++) inner *= t->dims[i];
    for (int64_t o = 0; o < outer; o++)
        for (int64_t r = 0; r < D / m; r++)
            for (int64_t in = 0; in < inner; in++) {
                int keep[64] = {0}, kept = 0;
                while (kept < n) {
                    int j = (int)((frand(f) + 1.0f) * 0.5f * (float)m) % m;
                    if (!keep[j]) keep[j] = 1, kept++;
                }
                for (int j = 0; j < m; j++)
                    if (!keep[j]) w[(o * D + r * m + j) * inner + in] = 0.0f;
            }
}

static void test_nm_every_axis(void **state) {
    fixture *f = *state;
    int64_t d[3] = {8, 16, 12};
    const char *names[3] = {"w0", "w1", "w2"};
    ecc_tensor *orig[3];
    for (int a = 0; a < 3; a++) {
        ecc_value *v = weight_f32(f, names[a], 3, d);
        nm_pattern(f, v, a, a == 0 ? 1 : 2, a == 0 ? 8 : 4);
        orig[a] = ecc_tensor_ref(v->init);
    }
    write_ecc(f, f->m, path_in(f, "a.ecc"));
    ecc_model *r = read_ecc(f, path_in(f, "a.ecc"), false);
    for (int a = 0; a < 3; a++) {
        ecc_load_info in = entry_of(path_in(f, "a.ecc"), names[a]);
        assert_int_equal(in.e.layout, ECC_ART_LAYOUT_NM);
        assert_int_equal(in.e.nm_axis, a);
        assert_int_equal(in.e.nm_n * (a == 0 ? 8 : 4), in.e.nm_m * (a == 0 ? 1 : 2));
        assert_tensor_bits(init_of(r, names[a]), orig[a], names[a]);
        ecc_tensor_unref(orig[a]);
    }
    /* 2:4 stores 2 bits per kept weight */
    ecc_load_info in = entry_of(path_in(f, "a.ecc"), "w1");
    assert_int_equal(in.e.nm_m, 4);
    assert_int_equal(ecc_art_index_bits(in.e.nm_m), 2);
    ecc_model_free(r);
}

static void test_codebook(void **state) {
    fixture *f = *state;
    int64_t d[2] = {40, 64};
    const float levels[5] = {-0.5f, -0.125f, 0.25f, 0.75f, 1.5f};
    ecc_value *a = weight_f32(f, "dense", 2, d), *b = weight_f32(f, "sparse", 2, d);
    for (int64_t i = 0; i < a->init->numel; i++) {
        ((float *)a->init->data)[i] = levels[(i * 7) % 5];
        ((float *)b->init->data)[i] = i % 5 ? 0.0f : levels[(i / 5) % 5];
    }
    ecc_tensor *oa = ecc_tensor_ref(a->init), *ob = ecc_tensor_ref(b->init);
    write_ecc(f, f->m, path_in(f, "a.ecc"));
    ecc_load_info ia = entry_of(path_in(f, "a.ecc"), "dense"), ib = entry_of(path_in(f, "a.ecc"), "sparse");
    assert_int_equal(ia.e.repr, ECC_ART_REPR_CODEBOOK);
    assert_int_equal(ia.e.codebook_size, 5);
    assert_int_equal(ia.e.bits, 3);
    assert_int_equal(ib.e.repr, ECC_ART_REPR_CODEBOOK);
    assert_int_not_equal(ib.e.layout, ECC_ART_LAYOUT_DENSE);
    ecc_model *r = read_ecc(f, path_in(f, "a.ecc"), false);
    assert_tensor_bits(init_of(r, "dense"), oa, "codebook");
    assert_tensor_bits(init_of(r, "sparse"), ob, "codebook sparse");
    ecc_model_free(r);
    ecc_tensor_unref(oa);
    ecc_tensor_unref(ob);
}

/* Every dtype the format stores survives (raw, possibly sparse or codebook). */
static void test_dtypes(void **state) {
    fixture *f = *state;
    static const int32_t types[] = {ECC_DTYPE_UINT8,  ECC_DTYPE_INT8,   ECC_DTYPE_UINT16,
                                    ECC_DTYPE_INT16,  ECC_DTYPE_INT32,  ECC_DTYPE_INT64,
                                    ECC_DTYPE_BOOL,   ECC_DTYPE_FLOAT16, ECC_DTYPE_DOUBLE,
                                    ECC_DTYPE_UINT32, ECC_DTYPE_UINT64, ECC_DTYPE_BFLOAT16,
                                    ECC_DTYPE_UINT4,  ECC_DTYPE_INT4,   ECC_DTYPE_COMPLEX64,
                                    ECC_DTYPE_FLOAT8E4M3FN};
    enum { NT = sizeof types / sizeof types[0] };
    ecc_tensor *orig[NT];
    char name[32];
    for (int k = 0; k < NT; k++) {
        int64_t d[1] = {37 + k};
        snprintf(name, sizeof name, "t%d", k);
        ecc_value *v = weight(f, name, types[k], 1, d);
        uint8_t *p = v->init->data;
        for (size_t i = 0; i < v->init->nbytes; i++) p[i] = (uint8_t)(i % 3 ? 0 : (i * 37 + (size_t)k) & 0xff);
        if (types[k] == ECC_DTYPE_BOOL)
            for (size_t i = 0; i < v->init->nbytes; i++) p[i] = p[i] & 1;
        if ((types[k] == ECC_DTYPE_INT4 || types[k] == ECC_DTYPE_UINT4) && d[0] % 2)
            p[v->init->nbytes - 1] &= 0x0f; /* the padding nibble is not an element */
        orig[k] = ecc_tensor_ref(v->init);
    }
    write_ecc(f, f->m, path_in(f, "a.ecc"));
    ecc_model *r = read_ecc(f, path_in(f, "a.ecc"), false);
    for (int k = 0; k < NT; k++) {
        snprintf(name, sizeof name, "t%d", k);
        assert_tensor_bits(init_of(r, name), orig[k], name);
        ecc_tensor_unref(orig[k]);
    }
    ecc_model_free(r);
}

/* ======================= quantizers ======================= */

/* Reference QuantizeLinear: saturate(round_half_even(w / s) + zp). */
static int32_t ref_q(float w, float s, int32_t zp, int bits, bool sgn) {
    int32_t lo = sgn ? -(1 << (bits - 1)) : 0, hi = sgn ? (1 << (bits - 1)) - 1 : (1 << bits) - 1;
    float r = nearbyintf(w / s) + (float)zp;
    return r < (float)lo ? lo : r > (float)hi ? hi : (int32_t)r;
}

/* Scale index of element i (as the quantizer lays them out). */
static int64_t ref_sidx(const ecc_quantizer *q, const ecc_tensor *t, int64_t i) {
    int64_t inner = 1, D = t->dims[q->axis];
    for (int a = q->axis + 1; a < t->rank; a++) inner *= t->dims[a];
    int64_t d = (i / inner) % D, o = i / (inner * D), in = i % inner;
    if (q->granularity == ECC_QUANT_TENSOR) return 0;
    if (q->granularity == ECC_QUANT_CHANNEL) return d;
    int64_t nb = (D + q->block_size - 1) / q->block_size;
    return (o * nb + d / q->block_size) * inner + in;
}

typedef struct qcase {
    const char *name;
    int bits, gran, block;
    bool f16, zp, prune, is_signed;
    int32_t scale_store;
} qcase;

static const qcase qcases[] = {
    {"q8t", 8, ECC_QUANT_TENSOR, 0, false, false, false, true, ECC_ART_SCALE_ASIS},
    {"q8c", 8, ECC_QUANT_CHANNEL, 0, false, true, false, true, ECC_ART_SCALE_ASIS},
    {"q4b", 4, ECC_QUANT_BLOCK, 16, false, false, false, true, ECC_ART_SCALE_ASIS},
    {"q4bh", 4, ECC_QUANT_BLOCK, 7, true, true, true, true, ECC_ART_SCALE_F16},
    {"q4c_sparse", 4, ECC_QUANT_CHANNEL, 0, false, false, true, true, ECC_ART_SCALE_ASIS},
    {"q8b_sparse", 8, ECC_QUANT_BLOCK, 32, true, false, true, true, ECC_ART_SCALE_F16},
    {"u8c_zp", 8, ECC_QUANT_CHANNEL, 0, false, true, false, false, ECC_ART_SCALE_ASIS},
    {"u4b_zp_sparse", 4, ECC_QUANT_BLOCK, 8, false, true, true, false, ECC_ART_SCALE_ASIS},
};
enum { NQ = sizeof qcases / sizeof qcases[0] };

/* Unsigned formats get a zero point in the middle of the range. */
static void make_unsigned(ecc_ctx *ctx, ecc_value *v) {
    ecc_quantizer *q = v->quant;
    ecc_tensor *zp = NULL;
    int32_t dt = q->bits == 8 ? ECC_DTYPE_UINT8 : ECC_DTYPE_UINT4;
    assert_int_equal(ecc_tensor_create(ctx, dt, q->scale->rank, q->scale->dims, &zp), ECC_OK);
    for (int64_t k = 0; k < zp->numel; k++) ecc_tensor_set_f64(zp, k, q->bits == 8 ? 128 : 8);
    ecc_tensor_unref(q->zero_point);
    q->zero_point = zp;
    q->is_signed = false;
}

static void build_quant_model(fixture *f, ecc_tensor **expect_f32, ecc_tensor **expect_q) {
    for (int k = 0; k < NQ; k++) {
        const qcase *c = &qcases[k];
        int64_t d[2] = {24, 50};
        ecc_value *v = weight_f32(f, c->name, 2, d);
        if (c->prune) assert_int_equal(aq_prune(f->ctx, v, 0.8), ECC_OK);
        assert_int_equal(aq_attach(f->ctx, v, c->bits, c->gran, c->block, c->f16, c->zp), ECC_OK);
        if (!c->is_signed) make_unsigned(f->ctx, v);
        /* the expected integers and dequantized floats, computed here */
        const ecc_quantizer *q = v->quant;
        int32_t qt = q->bits == 8 ? (c->is_signed ? ECC_DTYPE_INT8 : ECC_DTYPE_UINT8)
                                  : (c->is_signed ? ECC_DTYPE_INT4 : ECC_DTYPE_UINT4);
        assert_int_equal(ecc_tensor_create(f->ctx, ECC_DTYPE_FLOAT, 2, d, &expect_f32[k]), ECC_OK);
        assert_int_equal(ecc_tensor_create(f->ctx, qt, 2, d, &expect_q[k]), ECC_OK);
        const float *w = v->init->data, *s = q->scale->data;
        const uint8_t *keep = v->mask ? v->mask->keep->data : NULL;
        for (int64_t i = 0; i < v->init->numel; i++) {
            int64_t si = ref_sidx(q, v->init, i);
            int32_t zp = q->zero_point ? (int32_t)ecc_tensor_get_f64(q->zero_point, si) : 0;
            int32_t qi = ref_q(keep && !keep[i] ? 0.0f : w[i], s[si], zp, q->bits, c->is_signed);
            ecc_tensor_set_f64(expect_q[k], i, qi);
            ((float *)expect_f32[k]->data)[i] = (float)(qi - zp) * s[si];
        }
    }
}

static void test_quantizers_qdq_and_float(void **state) {
    fixture *f = *state;
    ecc_tensor *ef[NQ], *eq[NQ];
    build_quant_model(f, ef, eq);
    write_ecc(f, f->m, path_in(f, "q.ecc"));
    ecc_model *qdq = read_ecc(f, path_in(f, "q.ecc"), false);
    ecc_model *flt = read_ecc(f, path_in(f, "q.ecc"), true);
    for (int k = 0; k < NQ; k++) {
        const qcase *c = &qcases[k];
        char qname[64];
        ecc_load_info in = entry_of(path_in(f, "q.ecc"), c->name);
        assert_int_equal(in.e.repr, ECC_ART_REPR_QUANT);
        assert_int_equal(in.e.granularity, c->gran);
        assert_int_equal(in.e.scale_store, c->scale_store);
        assert_true(in.e.flags & ECC_ART_EF_INSERT_DQ);
        if (c->prune) assert_int_not_equal(in.e.layout, ECC_ART_LAYOUT_DENSE);
        /* QDQ: the integer tensor, then a DequantizeLinear producing the weight */
        snprintf(qname, sizeof qname, "%s_quantized", c->name);
        assert_tensor_bits(init_of(qdq, qname), eq[k], qname);
        const ecc_value *wv = ecc_graph_find(qdq->graph, c->name);
        assert_non_null(wv->producer);
        assert_string_equal(wv->producer->op_type, "DequantizeLinear");
        assert_null(wv->init);
        /* float: bit-identical to (q - zp) * scale */
        assert_tensor_bits(init_of(flt, c->name), ef[k], c->name);
        ecc_tensor_unref(ef[k]);
        ecc_tensor_unref(eq[k]);
    }
    assert_int_equal(ecc_model_opset(qdq, ""), 21);
    /* the QDQ model written as ONNX reads back and equals itself */
    assert_int_equal(ecc_model_write(f->ctx, qdq, path_in(f, "q.onnx"), NULL), ECC_OK);
    ecc_model *again = NULL;
    assert_int_equal(ecc_model_read(f->ctx, path_in(f, "q.onnx"), &again), ECC_OK);
    char why[256];
    if (!ecc_test_model_equal(qdq, again, why, sizeof why)) fail_msg("%s", why);
    ecc_model_free(again);
    ecc_model_free(qdq);
    ecc_model_free(flt);
}

/* The DequantizeLinear pattern written by ONNX quantizers (opset 21 INT4,
 * blocked): recognised, restored bit-identically, dequantized exactly. */
static void test_onnx_dq_pattern(void **state) {
    fixture *f = *state;
    ecc_model *src = NULL;
    assert_int_equal(ecc_model_read(f->ctx, "testdata/edge/opset21_int4.onnx", &src), ECC_OK);
    write_ecc(f, src, path_in(f, "i4.ecc"));
    ecc_load_info in = entry_of(path_in(f, "i4.ecc"), "fc1.w_q");
    assert_int_equal(in.e.repr, ECC_ART_REPR_QUANT);
    assert_int_equal(in.e.granularity, ECC_ART_GRAN_BLOCK);
    assert_int_equal(in.e.block_size, 32);
    assert_int_equal(in.e.dtype, ECC_DTYPE_INT4);
    assert_true(in.e.flags & ECC_ART_EF_ZERO_POINT);
    assert_false(in.e.flags & ECC_ART_EF_INSERT_DQ);
    ecc_model *qdq = read_ecc(f, path_in(f, "i4.ecc"), false);
    char why[256];
    if (!ecc_test_model_equal(src, qdq, why, sizeof why)) fail_msg("QDQ restore: %s", why);
    ecc_model *flt = read_ecc(f, path_in(f, "i4.ecc"), true);
    const ecc_tensor *x = init_of(src, "fc1.w_q"), *s = init_of(src, "fc1.w_scale"),
                     *z = init_of(src, "fc1.w_zp"), *w = init_of(flt, "fc1.w");
    assert_int_equal(w->dtype, ECC_DTYPE_FLOAT);
    assert_null(ecc_graph_find(flt->graph, "fc1.w")->producer);
    for (int64_t i = 0; i < x->numel; i++) {
        int64_t si = (i / 10 / 32) * 10 + i % 10; /* [64,10], blocks of 32 along axis 0 */
        float want = (float)((int32_t)ecc_tensor_get_f64(x, i) - (int32_t)ecc_tensor_get_f64(z, si)) *
                     ((const float *)s->data)[si];
        float got = ((const float *)w->data)[i];
        assert_memory_equal(&want, &got, sizeof got);
    }
    /* no DequantizeLinear, no integer initializers left */
    for (size_t i = 0; i < flt->graph->nodes.n; i++)
        assert_string_not_equal(((ecc_node *)flt->graph->nodes.items[i])->op_type, "DequantizeLinear");
    assert_null(ecc_graph_find(flt->graph, "fc1.w_q") ? ecc_graph_find(flt->graph, "fc1.w_q")->init : NULL);
    ecc_model_free(flt);
    ecc_model_free(qdq);
    ecc_model_free(src);
}

/* A zero point that two DequantizeLinear nodes share (the seed
 * shared_zp.ecc; ecc's lowering shares the all-zero zero point of symmetric
 * weights) is carried by both entries: it reads back as one initializer that
 * both nodes read. bad/shared_zp_differs.ecc, whose second entry carries
 * other values (tests/tools/make_artifact_seeds.c splices that frame in), is
 * refused by verify and by the reader, naming the file, the entry and the
 * zero point. */
static void test_shared_zero_point(void **state) {
    fixture *f = *state;
    ecc_model *m = read_ecc(f, "testdata/artifact/shared_zp.ecc", false);
    const ecc_value *a = ecc_graph_find(m->graph, "a")->producer->inputs[2];
    const ecc_value *b = ecc_graph_find(m->graph, "b")->producer->inputs[2];
    assert_ptr_equal(a, b);
    assert_string_equal(a->name, "zp");
    assert_int_equal(a->init->numel, 4);
    for (int64_t i = 0; i < 4; i++) assert_int_equal(((const int8_t *)a->init->data)[i], 0);
    ecc_model_free(m);

    static const char *const bad = "testdata/artifact/bad/shared_zp_differs.ecc";
    assert_int_equal(ecc_artifact_verify(f->ctx, bad, NULL), ECC_E_INPUT);
    assert_non_null(strstr(ecc_ctx_message(f->ctx), "'zp', shared with an earlier entry"));
    m = NULL;
    assert_int_equal(ecc_artifact_read(f->ctx, bad, NULL, &m), ECC_E_INPUT);
    assert_null(m);
    const char *msg = ecc_ctx_message(f->ctx);
    print_message("  %s\n", msg);
    assert_non_null(strstr(msg, bad));
    assert_non_null(strstr(msg, "'b_q'"));
    assert_non_null(strstr(msg, "'zp', shared with an earlier entry, holds other values"));
}

/* ======================= whole models ======================= */

static void test_lossless_models_and_determinism(void **state) {
    fixture *f = *state;
    static const char *const models[] = {"testdata/mlp.onnx", "testdata/cnn.onnx",
                                         "testdata/transformer.onnx",
                                         "testdata/edge/typed_fields.onnx",
                                         "testdata/edge/const_weights.onnx",
                                         "testdata/edge/opset9.onnx"};
    for (size_t k = 0; k < sizeof models / sizeof models[0]; k++) {
        ecc_model *src = NULL;
        assert_int_equal(ecc_model_read(f->ctx, models[k], &src), ECC_OK);
        write_ecc(f, src, path_in(f, "a.ecc"));
        write_ecc(f, src, path_in(f, "b.ecc"));
        size_t na, nb;
        uint8_t *a = read_file(path_in(f, "a.ecc"), &na), *b = read_file(path_in(f, "b.ecc"), &nb);
        assert_int_equal(na, nb);
        assert_memory_equal(a, b, na);
        free(a);
        free(b);
        ecc_model *r = NULL;
        assert_int_equal(ecc_model_read(f->ctx, path_in(f, "a.ecc"), &r), ECC_OK); /* by magic */
        char why[256];
        if (!ecc_test_model_equal(src, r, why, sizeof why)) fail_msg("%s: %s", models[k], why);
        assert_int_equal(ecc_artifact_verify(f->ctx, path_in(f, "a.ecc"), NULL), ECC_OK);
        ecc_model_free(r);
        ecc_model_free(src);
    }
}

static void test_format_dispatch(void **state) {
    fixture *f = *state;
    int64_t d[1] = {8};
    weight_f32(f, "w", 1, d);
    assert_int_equal(ecc_model_write(f->ctx, f->m, path_in(f, "x.ecc"), NULL), ECC_OK);
    assert_int_equal(ecc_file_format(path_in(f, "x.ecc")), ECC_FORMAT_ECC);
    ecc_write_options wo = {sizeof wo, false, 0, NULL, ECC_FORMAT_ONNX, NULL, 0};
    assert_int_equal(ecc_model_write(f->ctx, f->m, path_in(f, "y.ecc"), &wo), ECC_OK);
    assert_int_equal(ecc_file_format(path_in(f, "y.ecc")), ECC_FORMAT_ONNX);
    wo.format = ECC_FORMAT_ECC;
    assert_int_equal(ecc_model_write(f->ctx, f->m, path_in(f, "z.onnx"), &wo), ECC_OK);
    assert_int_equal(ecc_file_format(path_in(f, "z.onnx")), ECC_FORMAT_ECC);
    wo.external_data = true;
    assert_int_equal(ecc_model_write(f->ctx, f->m, path_in(f, "e.ecc"), &wo), ECC_E_USAGE);
    wo.external_data = false;
    wo.level = 99;
    assert_int_equal(ecc_model_write(f->ctx, f->m, path_in(f, "l.ecc"), &wo), ECC_E_USAGE);
    assert_int_equal(access(path_in(f, "l.ecc"), F_OK), -1); /* nothing left behind */
    wo.level = 1; /* any level gives a valid artifact */
    assert_int_equal(ecc_model_write(f->ctx, f->m, path_in(f, "l.ecc"), &wo), ECC_OK);
    assert_int_equal(ecc_artifact_verify(f->ctx, path_in(f, "l.ecc"), NULL), ECC_OK);
    assert_int_equal(ecc_file_format(path_in(f, "missing")), ECC_FORMAT_ONNX);
}

static void test_cluster_pass(void **state) {
    fixture *f = *state;
    ecc_registry *reg = NULL;
    ecc_pipeline *pl = NULL;
    ecc_model *m = NULL;
    ecc_run_env env = {sizeof env, NULL, 0};
    assert_int_equal(ecc_registry_create(f->ctx, &reg), ECC_OK);
    assert_int_equal(ecc_model_read(f->ctx, "testdata/mlp.onnx", &m), ECC_OK);
    assert_int_equal(ecc_pipeline_parse(f->ctx, reg, "prune:sparsity=0.8,cluster:bits=3", &pl), ECC_OK);
    assert_int_equal(ecc_pipeline_run(f->ctx, pl, m, &env, NULL), ECC_OK);
    const ecc_value *v = ecc_graph_find(m->graph, "fc1.weight");
    assert_non_null(v->codebook);
    assert_true(v->codebook->numel <= 8);
    const float *w = v->init->data, *cb = v->codebook->data;
    int64_t zeros = 0;
    for (int64_t i = 0; i < v->init->numel; i++) {
        if (w[i] == 0.0f) {
            zeros++;
            continue;
        }
        bool found = false;
        for (int64_t k = 0; k < v->codebook->numel; k++) found |= cb[k] == w[i];
        assert_true(found);
    }
    assert_true(zeros >= v->init->numel * 8 / 10); /* pruned weights stay zero */
    write_ecc(f, m, path_in(f, "c.ecc"));
    ecc_load_info in = entry_of(path_in(f, "c.ecc"), "fc1.weight");
    assert_int_equal(in.e.repr, ECC_ART_REPR_CODEBOOK);
    assert_true(in.e.bits <= 3);
    ecc_model *r = read_ecc(f, path_in(f, "c.ecc"), false);
    assert_tensor_bits(init_of(r, "fc1.weight"), v->init, "clustered weight");
    ecc_model_free(r);
    /* kmeans++ is deterministic for a seed */
    ecc_model *a = NULL, *b = NULL;
    ecc_pipeline_free(pl);
    assert_int_equal(ecc_pipeline_parse(f->ctx, reg, "cluster:bits=4:init=kmeans++", &pl), ECC_OK);
    assert_int_equal(ecc_model_read(f->ctx, "testdata/mlp.onnx", &a), ECC_OK);
    assert_int_equal(ecc_model_read(f->ctx, "testdata/mlp.onnx", &b), ECC_OK);
    assert_int_equal(ecc_pipeline_run(f->ctx, pl, a, &env, NULL), ECC_OK);
    assert_int_equal(ecc_pipeline_run(f->ctx, pl, b, &env, NULL), ECC_OK);
    assert_tensor_bits(init_of(a, "fc2.weight"), init_of(b, "fc2.weight"), "kmeans++ twice");
    assert_true(ecc_graph_find(a->graph, "fc2.weight")->codebook->numel <= 16);
    assert_null(ecc_graph_find(a->graph, "fc1.bias")->codebook); /* rank 1: left alone */
    ecc_model_free(a);
    ecc_model_free(b);
    ecc_model_free(m);
    ecc_pipeline_free(pl);
    ecc_registry_free(reg);
}

static void test_sha256(void **state) {
    (void)state;
    static const struct {
        const char *msg, *hex;
    } v[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    };
    for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) {
        ecc_sha256 s;
        uint8_t h[32];
        char hex[65];
        ecc_sha256_init(&s);
        /* byte by byte for the long one: exercises the buffering */
        if (k == 2)
            for (size_t i = 0; v[k].msg[i]; i++) ecc_sha256_update(&s, v[k].msg + i, 1);
        else ecc_sha256_update(&s, v[k].msg, strlen(v[k].msg));
        ecc_sha256_final(&s, h);
        for (int i = 0; i < 32; i++) sprintf(hex + 2 * i, "%02x", h[i]);
        assert_string_equal(hex, v[k].hex);
    }
    /* one million 'a' */
    ecc_sha256 s;
    uint8_t h[32], a[1000];
    char hex[65];
    memset(a, 'a', sizeof a);
    ecc_sha256_init(&s);
    for (int i = 0; i < 1000; i++) ecc_sha256_update(&s, a, sizeof a);
    ecc_sha256_final(&s, h);
    for (int i = 0; i < 32; i++) sprintf(hex + 2 * i, "%02x", h[i]);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* ======================= robustness ======================= */

/* A small artifact with one tensor of every kind of encoding. */
static void small_model(fixture *f) {
    int64_t d[2] = {8, 16}, d1[1] = {5};
    ecc_value *a = weight_f32(f, "raw", 1, d1);
    ecc_value *b = weight_f32(f, "bm", 2, d);
    for (int64_t i = 0; i < 128; i++)
        if (i % 9) ((float *)b->init->data)[i] = 0;
    ecc_value *c = weight_f32(f, "nm", 2, d);
    nm_pattern(f, c, 1, 2, 4);
    ecc_value *e = weight_f32(f, "cb", 2, d);
    for (int64_t i = 0; i < 128; i++) ((float *)e->init->data)[i] = (float)(i % 3) * 0.5f;
    ecc_value *q = weight_f32(f, "q", 2, d);
    assert_int_equal(aq_attach(f->ctx, q, 4, ECC_QUANT_BLOCK, 8, false, true), ECC_OK);
    ecc_value *i8 = weight(f, "i64", ECC_DTYPE_INT64, 1, d1);
    ((int64_t *)i8->init->data)[2] = -7;
    (void)a;
}

/* Restores buf (NULL model on error). */
static ecc_model *try_read(fixture *f, const uint8_t *buf, size_t n) {
    ecc_model *m = NULL;
    if (ecc_artifact_read_buffer(f->ctx, buf, n, "flip", NULL, &m) != ECC_OK) return NULL;
    return m;
}

static void flip_all(fixture *f, const uint8_t *orig, size_t n, const ecc_model *ref,
                     size_t step, const uint8_t *masks, size_t n_masks, size_t *detected,
                     size_t *harmless) {
    uint8_t *buf = malloc(n);
    for (size_t pos = 0; pos < n; pos += step)
        for (size_t k = 0; k < n_masks; k++) {
            memcpy(buf, orig, n);
            buf[pos] ^= masks[k];
            if (ecc_artifact_verify_buffer(f->ctx, buf, n, "flip", NULL) != ECC_OK) {
                (*detected)++;
                /* the plain reader may accept it only when the result is identical */
                ecc_model *m = try_read(f, buf, n);
                if (m) {
                    char why[256];
                    if (!ecc_test_model_equal(ref, m, why, sizeof why)) fail_msg("flip at %zu (^%02x): read differs: %s", pos, masks[k], why);
                    ecc_model_free(m);
                }
                continue;
            }
            ecc_model *m = try_read(f, buf, n);
            assert_non_null(m);
            char why[256];
            if (!ecc_test_model_equal(ref, m, why, sizeof why))
                fail_msg("flip at %zu (^%02x) passed verify but changed the model: %s", pos,
                         masks[k], why);
            if (*harmless < 8) print_message("  harmless: byte %zu ^ 0x%02x\n", pos, masks[k]);
            (*harmless)++;
            ecc_model_free(m);
        }
    free(buf);
}

static void test_byte_flips_small(void **state) {
    fixture *f = *state;
    small_model(f);
    write_ecc(f, f->m, path_in(f, "s.ecc"));
    size_t n, detected = 0, harmless = 0;
    uint8_t *orig = read_file(path_in(f, "s.ecc"), &n);
    ecc_model *ref = try_read(f, orig, n);
    assert_non_null(ref);
    static const uint8_t masks[] = {0x01, 0x80, 0xff};
    flip_all(f, orig, n, ref, 1, masks, sizeof masks, &detected, &harmless);
    print_message("byte flips, small artifact (%zu bytes, %zu flips): %zu detected, %zu harmless\n",
                  n, n * sizeof masks, detected, harmless);
    assert_int_equal(detected + harmless, n * sizeof masks);
    ecc_model_free(ref);
    free(orig);
}

static void test_byte_flips_mlp_sampled(void **state) {
    fixture *f = *state;
    ecc_model *src = NULL;
    assert_int_equal(ecc_model_read(f->ctx, "testdata/edge/opset21_int4.onnx", &src), ECC_OK);
    write_ecc(f, src, path_in(f, "m.ecc"));
    size_t n, detected = 0, harmless = 0;
    uint8_t *orig = read_file(path_in(f, "m.ecc"), &n);
    ecc_model *ref = try_read(f, orig, n);
    static const uint8_t masks[] = {0x10};
    size_t step = n / 1500 + 1;
    flip_all(f, orig, n, ref, step, masks, 1, &detected, &harmless);
    print_message("byte flips, %zu-byte artifact (every %zu-th byte): %zu detected, %zu harmless\n",
                  n, step, detected, harmless);
    ecc_model_free(ref);
    ecc_model_free(src);
    free(orig);
}

static void test_truncation(void **state) {
    fixture *f = *state;
    small_model(f);
    write_ecc(f, f->m, path_in(f, "s.ecc"));
    size_t n;
    uint8_t *orig = read_file(path_in(f, "s.ecc"), &n);
    for (size_t len = 0; len < n; len++) {
        uint8_t *cut = malloc(len + 1);
        memcpy(cut, orig, len);
        ecc_model *m = NULL;
        assert_int_equal(ecc_artifact_read_buffer(f->ctx, cut, len, "cut", NULL, &m), ECC_E_INPUT);
        assert_null(m);
        assert_null(strchr(ecc_ctx_message(f->ctx), '\n'));
        free(cut);
    }
    /* appended bytes are refused too */
    uint8_t *longer = calloc(n + 64, 1);
    memcpy(longer, orig, n);
    ecc_model *m = NULL;
    assert_int_equal(ecc_artifact_read_buffer(f->ctx, longer, n + 64, "long", NULL, &m), ECC_E_INPUT);
    assert_non_null(strstr(ecc_ctx_message(f->ctx), "long"));
    free(longer);
    free(orig);
}

/* Annotations the artifact cannot carry are refused with a clear message. */
static void test_refusals(void **state) {
    fixture *f = *state;
    int64_t d[2] = {4, 8};
    ecc_value *v = weight(f, "w", ECC_DTYPE_INT32, 2, d);
    assert_int_equal(aq_attach(f->ctx, v, 4, ECC_QUANT_TENSOR, 0, false, false), ECC_OK);
    ecc_write_options wo = {sizeof wo, false, 0, NULL, ECC_FORMAT_ECC, NULL, 0};
    assert_int_equal(ecc_model_write(f->ctx, f->m, path_in(f, "r.ecc"), &wo), ECC_E_USAGE);
    assert_non_null(strstr(ecc_ctx_message(f->ctx), "'w'"));
    /* not an artifact at all */
    assert_int_equal(ecc_artifact_verify(f->ctx, "testdata/mlp.onnx", NULL), ECC_E_INPUT);
    assert_non_null(strstr(ecc_ctx_message(f->ctx), "testdata/mlp.onnx"));
    assert_int_equal(ecc_artifact_verify(f->ctx, path_in(f, "none.ecc"), NULL), ECC_E_INPUT);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_raw_dense, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raw_bitmask_and_negative_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nm_every_axis, setup, teardown),
        cmocka_unit_test_setup_teardown(test_codebook, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dtypes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quantizers_qdq_and_float, setup, teardown),
        cmocka_unit_test_setup_teardown(test_onnx_dq_pattern, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared_zero_point, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lossless_models_and_determinism, setup, teardown),
        cmocka_unit_test_setup_teardown(test_format_dispatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cluster_pass, setup, teardown),
        cmocka_unit_test(test_sha256),
        cmocka_unit_test_setup_teardown(test_byte_flips_small, setup, teardown),
        cmocka_unit_test_setup_teardown(test_byte_flips_mlp_sampled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
