/* test_ecc_load.c — the stand-alone loader (formats/artifact/ecc_load.h):
 * opening from memory and from a FILE gives the same entries and the same
 * decoded bytes; every form of every entry (stored, float32, scales, zero
 * points, payload) agrees with the model libecc restores; argument errors
 * (small buffers, bad indices, missing names, small workspace) are usage
 * errors with a message; garbage and truncation are format errors; the
 * CRC-32 check value, metadata iteration and the 128-byte entry record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "../formats/artifact/artifact_internal.h"
#include "tools/art_quant.h"
#include "tmpdir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct fixture {
    ecc_ctx *ctx;
    char path[64];
    uint8_t *buf;
    size_t len;
    void *work;
    uint8_t *scratch;
    size_t scratch_size;
} fixture;

/* opset21_int4.onnx (RAW float32/int64 and the QUANT int4 block pattern)
 * plus annotated weights: int8 per-channel with zero points and f16
 * scales, a sparse int4 per-block weight, a clustered sparse weight. */
static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    ecc_model *m = NULL;
    f->ctx = ecc_ctx_create();
    strcpy(f->path, "/tmp/ecc_load_XXXXXX");
    int fd = mkstemp(f->path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(ecc_model_read(f->ctx, "testdata/edge/opset21_int4.onnx", &m), ECC_OK);
    ecc_value *w0 = ecc_graph_find(m->graph, "fc0.w");
    assert_int_equal(aq_attach(f->ctx, w0, 8, ECC_QUANT_CHANNEL, 0, true, true), ECC_OK);
    ecc_value *b0 = ecc_graph_find(m->graph, "fc0.b");
    float *bw = b0->init->data;
    for (int64_t i = 0; i < b0->init->numel; i++) bw[i] = (float)(i % 4) * 0.25f * (i % 3 == 0);
    ecc_write_options wo = {sizeof wo, false, 0, NULL, ECC_FORMAT_ECC, "p:x=1", 3};
    assert_int_equal(ecc_model_write(f->ctx, m, f->path, &wo), ECC_OK);
    ecc_model_free(m);
    f->buf = read_file(f->path, &f->len);
    f->work = malloc(ecc_load_workspace_size());
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    unlink(f->path);
    free(f->buf);
    free(f->work);
    free(f->scratch);
    ecc_ctx_free(f->ctx);
    free(f);
    return 0;
}

static void open_mem(fixture *f, ecc_loader *L) {
    assert_int_equal(ecc_load_open_memory(L, f->buf, f->len, f->work, ecc_load_workspace_size()), 0);
    free(f->scratch);
    f->scratch_size = (size_t)ecc_load_max_scratch(L);
    f->scratch = malloc(f->scratch_size + 8);
}

/* Decodes entry i in form w into a fresh buffer (NULL when not applicable). */
static uint8_t *decode(fixture *f, ecc_loader *L, uint32_t i, ecc_load_what w, size_t *got) {
    ecc_load_info in;
    assert_int_equal(ecc_load_info_at(L, i, &in), 0);
    size_t need = (size_t)(w == ECC_LOAD_PAYLOAD  ? in.e.raw_size
                           : w == ECC_LOAD_STORED ? in.stored_bytes
                           : w == ECC_LOAD_FLOAT32 ? in.float_bytes
                           : w == ECC_LOAD_SCALES ? in.scales_bytes
                                                  : in.zero_points_bytes);
    uint8_t *out = malloc(need + 8);
    int rc = ecc_load_decode(L, i, w, out, need, f->scratch, f->scratch_size, got);
    if (rc) {
        free(out);
        return NULL;
    }
    assert_int_equal(*got, need);
    return out;
}

static void test_memory_and_file_agree(void **state) {
    fixture *f = *state;
    ecc_loader M, F;
    open_mem(f, &M);
    FILE *fp = fopen(f->path, "rb");
    void *work2 = malloc(ecc_load_workspace_size());
    assert_int_equal(ecc_load_open_file(&F, fp, work2, ecc_load_workspace_size()), 0);
    assert_int_equal(ecc_load_count(&M), ecc_load_count(&F));
    /* a file source needs room for the frame too */
    assert_true(ecc_load_max_scratch(&F) >= ecc_load_max_scratch(&M));
    size_t fs = (size_t)ecc_load_max_scratch(&F);
    uint8_t *fscratch = malloc(fs + 8);
    size_t forms = 0;
    for (uint32_t i = 0; i < ecc_load_count(&M); i++) {
        ecc_load_info a, b;
        assert_int_equal(ecc_load_info_at(&M, i, &a), 0);
        assert_int_equal(ecc_load_info_at(&F, i, &b), 0);
        assert_string_equal(a.name, b.name);
        assert_memory_equal(&a.e, &b.e, sizeof a.e);
        for (int w = 0; w <= ECC_LOAD_PAYLOAD; w++) {
            size_t ga = 0, gb = 0;
            uint8_t *x = decode(f, &M, i, (ecc_load_what)w, &ga);
            uint8_t *y = malloc(ga + 8);
            int rc = ecc_load_decode(&F, i, (ecc_load_what)w, y, ga, fscratch, fs, &gb);
            assert_int_equal(rc == 0, x != NULL);
            if (x) {
                assert_int_equal(ga, gb);
                assert_memory_equal(x, y, ga);
                forms++;
            }
            free(x);
            free(y);
        }
    }
    assert_true(forms >= 14);
    free(fscratch);
    free(work2);
    fclose(fp);
}

/* The loader's stored and float32 forms are exactly the tensors libecc
 * restores (QDQ for stored integers, dequantized for float32). */
static void test_forms_match_restore(void **state) {
    fixture *f = *state;
    ecc_loader L;
    ecc_model *qdq = NULL, *flt = NULL;
    ecc_artifact_read_options ro = {sizeof ro, true};
    open_mem(f, &L);
    assert_int_equal(ecc_artifact_read(f->ctx, f->path, NULL, &qdq), ECC_OK);
    assert_int_equal(ecc_artifact_read(f->ctx, f->path, &ro, &flt), ECC_OK);
    for (uint32_t i = 0; i < ecc_load_count(&L); i++) {
        ecc_load_info in;
        size_t got;
        assert_int_equal(ecc_load_info_at(&L, i, &in), 0);
        if (in.e.kind != ECC_ART_KIND_TENSOR) continue;
        uint8_t *st = decode(f, &L, i, ECC_LOAD_STORED, &got);
        const ecc_value *v = ecc_graph_find(qdq->graph, in.name);
        const ecc_tensor *t = v->init;
        if (in.e.flags & ECC_ART_EF_INSERT_DQ) { /* the integers went to <name>_quantized */
            char q[300];
            snprintf(q, sizeof q, "%s_quantized", in.name);
            t = ecc_graph_find(qdq->graph, q)->init;
        }
        assert_int_equal(t->nbytes, got);
        assert_memory_equal(t->data, st, got);
        free(st);
        uint8_t *fl = decode(f, &L, i, ECC_LOAD_FLOAT32, &got);
        if (in.e.repr == ECC_ART_REPR_QUANT) {
            /* the float weight is the DequantizeLinear output (or the weight itself) */
            const ecc_value *w = ecc_graph_find(flt->graph, in.name);
            if (!(in.e.flags & ECC_ART_EF_INSERT_DQ)) w = ecc_graph_find(flt->graph, "fc1.w");
            assert_non_null(w->init);
            assert_memory_equal(w->init->data, fl, got);
        } else if (in.e.dtype == ECC_DTYPE_FLOAT) {
            assert_memory_equal(t->data, fl, got);
        }
        free(fl);
    }
    ecc_model_free(qdq);
    ecc_model_free(flt);
}

static void test_usage_errors(void **state) {
    fixture *f = *state;
    ecc_loader L;
    uint32_t idx;
    uint8_t small[8];
    open_mem(f, &L);
    assert_int_equal(ecc_load_find(&L, "fc0.w", &idx), 0);
    ecc_load_info in;
    assert_int_equal(ecc_load_info_at(&L, idx, &in), 0);
    float *out = malloc((size_t)in.float_bytes);
    assert_int_equal(ecc_load_decode(&L, idx, ECC_LOAD_FLOAT32, out, (size_t)in.float_bytes - 1,
                                     f->scratch, f->scratch_size, NULL), ECC_LOAD_E_USAGE);
    assert_non_null(strstr(ecc_load_error(&L), "output buffer too small"));
    assert_int_equal(ecc_load_decode(&L, idx, ECC_LOAD_FLOAT32, out, (size_t)in.float_bytes,
                                     f->scratch, (size_t)in.scratch_bytes - 1, NULL), ECC_LOAD_E_USAGE);
    assert_non_null(strstr(ecc_load_error(&L), "scratch"));
    assert_int_equal(ecc_load_decode(&L, idx, ECC_LOAD_FLOAT32, out, (size_t)in.float_bytes,
                                     f->scratch, (size_t)in.scratch_bytes, NULL), 0);
    free(out);
    assert_int_equal(ecc_load_info_at(&L, ecc_load_count(&L), &in), ECC_LOAD_E_USAGE);
    assert_int_equal(ecc_load_find(&L, "no such tensor", &idx), ECC_LOAD_E_NOT_FOUND);
    assert_int_equal(ecc_load_find(&L, "fc1.b", &idx), 0);
    assert_int_equal(ecc_load_decode(&L, idx, ECC_LOAD_SCALES, small, sizeof small, f->scratch,
                                     f->scratch_size, NULL), ECC_LOAD_E_USAGE); /* raw: no scales */
    uint32_t gi;
    assert_int_equal(ecc_load_find_kind(&L, ECC_ART_KIND_GRAPH, &gi), 0);
    assert_int_equal(ecc_load_decode(&L, gi, ECC_LOAD_FLOAT32, small, sizeof small, NULL, 0, NULL),
                     ECC_LOAD_E_USAGE);
    assert_int_equal(ecc_load_open_memory(&L, f->buf, f->len, f->work, 64), ECC_LOAD_E_USAGE);
    assert_non_null(strstr(ecc_load_error(&L), "workspace"));
    assert_int_equal(ecc_load_open_file(&L, NULL, f->work, ecc_load_workspace_size()), ECC_LOAD_E_USAGE);
}

static void test_format_errors(void **state) {
    fixture *f = *state;
    ecc_loader L;
    size_t n;
    uint8_t *onnx = read_file("testdata/mlp.onnx", &n);
    assert_int_equal(ecc_load_open_memory(&L, onnx, n, f->work, ecc_load_workspace_size()),
                     ECC_LOAD_E_FORMAT);
    assert_non_null(strstr(ecc_load_error(&L), "not an ecc artifact"));
    free(onnx);
    assert_int_equal(ecc_load_open_memory(&L, NULL, 0, f->work, ecc_load_workspace_size()),
                     ECC_LOAD_E_FORMAT);
    for (size_t len = 0; len < f->len; len += 7)
        assert_int_equal(ecc_load_open_memory(&L, f->buf, len, f->work, ecc_load_workspace_size()),
                         ECC_LOAD_E_FORMAT);
    /* a newer major version is refused, and says so */
    uint8_t *copy = malloc(f->len);
    memcpy(copy, f->buf, f->len);
    ecc_art_header h = {{0}, 2, 0, 0, ECC_ART_HEADER_SIZE, ECC_ART_ENTRY_SIZE, ECC_ART_ALIGN, {0}, 0};
    memcpy(h.magic, ECC_ART_MAGIC, 8);
    ecc_art_header_write(&h, copy); /* a valid header of major version 2 */
    assert_int_equal(ecc_load_open_memory(&L, copy, f->len, f->work, ecc_load_workspace_size()),
                     ECC_LOAD_E_FORMAT);
    assert_non_null(strstr(ecc_load_error(&L), "version 2.0"));
    free(copy);
}

static void test_records_crc_meta(void **state) {
    fixture *f = *state;
    assert_int_equal(ecc_load_crc32(0, "123456789", 9), 0xCBF43926u);
    assert_int_equal(ecc_load_crc32(ecc_load_crc32(0, "1234", 4), "56789", 5), 0xCBF43926u);
    ecc_art_entry e, back;
    uint8_t rec[ECC_ART_ENTRY_SIZE];
    memset(&e, 0, sizeof e);
    e.offset = 0x0102030405060708ull;
    e.name_len = 0xabcd;
    e.dtype = -5;
    e.flags = 7;
    e.dims[7] = -1;
    ecc_art_entry_write(&e, rec);
    assert_int_equal(rec[0], 0x08); /* little-endian on disk */
    assert_int_equal(rec[63], 7);
    ecc_art_entry_read(rec, &back);
    assert_memory_equal(&e, &back, sizeof e);
    /* metadata */
    ecc_loader L;
    uint32_t mi;
    size_t got, pos = 0, kl, vl;
    const char *k, *v;
    bool pipeline = false, producer = false;
    open_mem(f, &L);
    assert_int_equal(ecc_load_find_kind(&L, ECC_ART_KIND_METADATA, &mi), 0);
    uint8_t *meta = decode(f, &L, mi, ECC_LOAD_PAYLOAD, &got);
    int r;
    while ((r = ecc_load_meta_next(meta, got, &pos, &k, &kl, &v, &vl)) == 1) {
        if (kl == 8 && !memcmp(k, "pipeline", 8)) pipeline = vl == 5 && !memcmp(v, "p:x=1", 5);
        if (kl == 8 && !memcmp(k, "producer", 8)) producer = true;
    }
    assert_int_equal(r, 0);
    assert_true(pipeline && producer);
    pos = 0;
    int last = 1;
    while (last == 1) last = ecc_load_meta_next(meta, got - 1, &pos, &k, &kl, &v, &vl);
    assert_int_equal(last, -1); /* a truncated record is malformed, never read past */
    free(meta);
    assert_string_equal(ecc_art_repr_name(ECC_ART_REPR_QUANT), "int");
    assert_string_equal(ecc_art_layout_name(99), "?");
    assert_int_equal(ecc_art_index_bits(4), 2);
    assert_int_equal(ecc_art_index_bits(5), 3);
    assert_int_equal(ecc_art_index_bits(2), 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_memory_and_file_agree, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forms_match_restore, setup, teardown),
        cmocka_unit_test_setup_teardown(test_usage_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_format_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_records_crc_meta, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
