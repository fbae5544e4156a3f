/* test_data.c — unit tests of the dataset readers and the public dataset /
 * session API: .npy (every dtype, big endian, strict header, truncation,
 * Fortran order, object arrays), the streaming .npy writer, IDX plain and
 * gzip (truncation caught before use), the TensorProto wire decoder (raw and
 * typed fields, hostile sizes), PNG/JPEG folders with preprocessing, binding
 * data to a model input (exact reshapes only, pixel scaling, type errors),
 * fixed-batch padding, and random mutations of every format (no crash). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "data.h"
#include "tmpdir.h"

#include <jpeglib.h>
#include <math.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

typedef file_fixture fixture;

static int setup(void **state) { return file_fixture_setup(state, "ecc_data"); }

static const char *path_in(fixture *f, const char *name) { return tmpdir_path(f->dir, name); }


/* A v1 .npy file with the given header dict and payload. */
static void write_npy(const char *path, const char *dict, const void *data, size_t len) {
    char hdr[512];
    size_t dl = strlen(dict), total = 10 + dl + 1;
    size_t pad = (64 - total % 64) % 64;
    memcpy(hdr, "\x93NUMPY\x01\x00", 8);
    size_t hl = dl + pad + 1;
    hdr[8] = (char)(hl & 0xff);
    hdr[9] = (char)(hl >> 8);
    memcpy(hdr + 10, dict, dl);
    memset(hdr + 10 + dl, ' ', pad);
    hdr[10 + dl + pad] = '\n';
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    fwrite(hdr, 1, 10 + hl, fp);
    if (len) fwrite(data, 1, len, fp);
    fclose(fp);
}

static ecc_status open_npy(fixture *f, const char *dict, const void *data, size_t len,
                           ecc_data_stream **s) {
    const char *p = path_in(f, "x.npy");
    write_npy(p, dict, data, len);
    return ecc_data_open_npy(f->ctx, p, s);
}

static void expect_error(fixture *f, ecc_status st, ecc_status want, const char *needle) {
    assert_int_equal(st, want);
    const char *msg = ecc_ctx_message(f->ctx);
    if (!strstr(msg, needle)) fail_msg("message '%s' lacks '%s'", msg, needle);
}

/* ---------------- .npy ---------------- */

static void test_npy_dtypes(void **state) {
    fixture *f = *state;
    ecc_data_stream *s = NULL;
    float fv[6] = {1, 2, 3, 4, 5, 6}, fb[6];
    int64_t got;
    assert_int_equal(open_npy(f, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }",
                              fv, sizeof fv, &s), ECC_OK);
    assert_int_equal(s->dtype, ECC_DTYPE_FLOAT);
    assert_int_equal(s->rank, 2);
    assert_int_equal(s->dims[0], 3);
    assert_int_equal(s->sample_bytes, 8);
    assert_int_equal(ecc_data_read(f->ctx, s, 2, fb, &got), ECC_OK);
    assert_int_equal(got, 2);
    assert_int_equal(ecc_data_read(f->ctx, s, 5, fb + 4, &got), ECC_OK);
    assert_int_equal(got, 1); /* only what is left */
    assert_memory_equal(fb, fv, sizeof fv);
    assert_int_equal(ecc_data_read(f->ctx, s, 5, fb, &got), ECC_OK);
    assert_int_equal(got, 0);
    assert_int_equal(ecc_data_rewind(f->ctx, s), ECC_OK);
    assert_int_equal(ecc_data_read(f->ctx, s, 1, fb, &got), ECC_OK);
    assert_true(fb[0] == 1 && fb[1] == 2);
    ecc_data_close(s);

    static const struct {
        const char *descr;
        int32_t dtype;
        int size;
    } cases[] = {
        {"<f2", ECC_DTYPE_FLOAT16, 2}, {"|u1", ECC_DTYPE_UINT8, 1}, {"<i8", ECC_DTYPE_INT64, 8},
        {"<i4", ECC_DTYPE_INT32, 4},   {"<f8", ECC_DTYPE_DOUBLE, 8}, {"|i1", ECC_DTYPE_INT8, 1},
        {"|b1", ECC_DTYPE_BOOL, 1},    {"<u8", ECC_DTYPE_UINT64, 8},
    };
    uint8_t payload[64] = {1, 2, 3, 4, 5, 6, 7, 8};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char dict[128];
        snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (4,), }",
                 cases[i].descr);
        assert_int_equal(open_npy(f, dict, payload, 4 * (size_t)cases[i].size, &s), ECC_OK);
        assert_int_equal(s->dtype, cases[i].dtype);
        assert_int_equal(s->sample_bytes, cases[i].size);
        ecc_data_close(s);
    }
    /* big endian is swapped */
    uint8_t be[8] = {0x3f, 0x80, 0, 0, 0x40, 0, 0, 0};
    assert_int_equal(open_npy(f, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,)}", be,
                              8, &s), ECC_OK);
    assert_int_equal(ecc_data_read(f->ctx, s, 2, fb, &got), ECC_OK);
    assert_true(fb[0] == 1.0f && fb[1] == 2.0f);
    ecc_data_close(s);
    /* a scalar becomes one sample; key order and quotes are free */
    assert_int_equal(open_npy(f, "{\"shape\": (), \"fortran_order\": False, \"descr\": \"<f4\"}",
                              fv, 4, &s), ECC_OK);
    assert_int_equal(s->rank, 1);
    assert_int_equal(s->dims[0], 1);
    ecc_data_close(s);
}

static void test_npy_rejects(void **state) {
    fixture *f = *state;
    ecc_data_stream *s = NULL;
    float v[8] = {0};
    static const struct {
        const char *dict;
        size_t len;
        const char *needle;
    } bad[] = {
        {"{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 16, "Fortran"},
        {"{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", 16, "object arrays"},
        {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", 8, "structured"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", 8, "truncated"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", 8, "unexpected data"},
        {"{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", 8, "not supported"},
        {"{'descr': '<f4', 'fortran_order': False}", 0, "needs 'descr'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", 4, "unknown key"},
        {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", 4, "twice"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", 4,
         "bad dimension"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 8)}", 4,
         "overflow"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x", 4, "after the dict"},
        {"{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}", 4, "True/False"},
        {"{'descr': '|f4', 'fortran_order': False, 'shape': (1,)}", 4, "not supported"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ecc_status st = open_npy(f, bad[i].dict, v, bad[i].len, &s);
        assert_null(s);
        expect_error(f, st, ECC_E_INPUT, bad[i].needle);
        expect_error(f, st, ECC_E_INPUT, "x.npy"); /* the file is named */
    }
    const char *p = path_in(f, "magic.npy");
    write_file(p, "\x93NUMPX\x01\x00\x10\x00{}", 12);
    expect_error(f, ecc_data_open_npy(f->ctx, p, &s), ECC_E_INPUT, "bad magic");
    write_file(p, "\x93NUMPY\x01\x00\xff\xff{}", 12);
    expect_error(f, ecc_data_open_npy(f->ctx, p, &s), ECC_E_INPUT, "truncated .npy header");
    write_file(p, "\x93NUMPY\x04\x00\x10\x00{}", 12);
    expect_error(f, ecc_data_open_npy(f->ctx, p, &s), ECC_E_INPUT, "version");
    expect_error(f, ecc_data_open_npy(f->ctx, path_in(f, "none.npy"), &s), ECC_E_INPUT,
                 "cannot open");
}

static void test_npy_writer(void **state) {
    fixture *f = *state;
    ecc_npy_writer *w = NULL;
    const char *p = path_in(f, "out.npy");
    float a[6] = {1, 2, 3, 4, 5, 6}, b[3] = {7, 8, 9}, back[9];
    ecc_rt_tensor ta = {ECC_DTYPE_FLOAT, 2, {2, 3}, a, sizeof a};
    ecc_rt_tensor tb = {ECC_DTYPE_FLOAT, 2, {1, 3}, b, sizeof b};
    ecc_rt_tensor tbad = {ECC_DTYPE_FLOAT, 2, {1, 2}, b, 8};
    assert_int_equal(ecc_npy_writer_open(f->ctx, p, &w), ECC_OK);
    assert_int_equal(access(p, F_OK), -1); /* nothing visible before commit */
    assert_int_equal(ecc_npy_writer_append(f->ctx, w, &ta), ECC_OK);
    assert_int_equal(ecc_npy_writer_append(f->ctx, w, &tb), ECC_OK);
    expect_error(f, ecc_npy_writer_append(f->ctx, w, &tbad), ECC_E_INPUT, "disagree");
    assert_int_equal(ecc_npy_writer_commit(f->ctx, w), ECC_OK);
    ecc_data_stream *s;
    int64_t got;
    assert_int_equal(ecc_data_open_npy(f->ctx, p, &s), ECC_OK);
    assert_int_equal(s->dims[0], 3);
    assert_int_equal(s->dims[1], 3);
    assert_int_equal(ecc_data_read(f->ctx, s, 3, back, &got), ECC_OK);
    assert_memory_equal(back, a, sizeof a);
    assert_memory_equal(back + 6, b, sizeof b);
    ecc_data_close(s);
    /* abort leaves nothing */
    const char *q = path_in(f, "aborted.npy");
    assert_int_equal(ecc_npy_writer_open(f->ctx, q, &w), ECC_OK);
    assert_int_equal(ecc_npy_writer_append(f->ctx, w, &ta), ECC_OK);
    ecc_npy_writer_abort(w);
    assert_int_equal(access(q, F_OK), -1);
    assert_string_equal(ecc_npy_descr(ECC_DTYPE_INT64), "<i8");
    assert_null(ecc_npy_descr(ECC_DTYPE_BFLOAT16));
}

/* ---------------- IDX ---------------- */

static size_t make_idx(uint8_t *buf, uint8_t type, const uint32_t *dims, int rank,
                       const void *data, size_t len) {
    size_t n = 0;
    buf[n++] = 0, buf[n++] = 0, buf[n++] = type, buf[n++] = (uint8_t)rank;
    for (int i = 0; i < rank; i++) {
        buf[n++] = (uint8_t)(dims[i] >> 24), buf[n++] = (uint8_t)(dims[i] >> 16);
        buf[n++] = (uint8_t)(dims[i] >> 8), buf[n++] = (uint8_t)dims[i];
    }
    memcpy(buf + n, data, len);
    return n + len;
}

static void write_gz(const char *path, const void *data, size_t len) {
    gzFile gz = gzopen(path, "wb");
    assert_non_null(gz);
    assert_int_equal(gzwrite(gz, data, (unsigned)len), (int)len);
    gzclose(gz);
}

static void test_idx(void **state) {
    fixture *f = *state;
    uint8_t px[12], buf[128], back[12];
    for (int i = 0; i < 12; i++) px[i] = (uint8_t)(i * 20);
    uint32_t dims[3] = {3, 2, 2};
    size_t n = make_idx(buf, 0x08, dims, 3, px, sizeof px);
    const char *plain = path_in(f, "img-idx3-ubyte"), *gz = path_in(f, "img-idx3-ubyte.gz");
    write_file(plain, buf, n);
    write_gz(gz, buf, n);
    const char *paths[2] = {plain, gz};
    for (int k = 0; k < 2; k++) {
        ecc_data_stream *s;
        int64_t got;
        assert_int_equal(ecc_data_open_idx(f->ctx, paths[k], &s), ECC_OK);
        assert_int_equal(s->dtype, ECC_DTYPE_UINT8);
        assert_true(s->pixels);
        assert_int_equal(s->rank, 3);
        assert_int_equal(s->dims[0], 3);
        assert_int_equal(ecc_data_read(f->ctx, s, 2, back, &got), ECC_OK);
        assert_int_equal(ecc_data_read(f->ctx, s, 2, back + 8, &got), ECC_OK);
        assert_int_equal(got, 1);
        assert_memory_equal(back, px, 12);
        assert_int_equal(ecc_data_rewind(f->ctx, s), ECC_OK);
        assert_int_equal(ecc_data_read(f->ctx, s, 1, back, &got), ECC_OK);
        assert_memory_equal(back, px, 4);
        ecc_data_close(s);
    }
    /* big-endian int32 labels */
    uint8_t lab[8] = {0, 0, 0, 7, 0, 0, 1, 2};
    uint32_t ld[1] = {2};
    n = make_idx(buf, 0x0C, ld, 1, lab, sizeof lab);
    write_file(plain, buf, n);
    ecc_data_stream *s;
    int32_t lv[2];
    int64_t got;
    assert_int_equal(ecc_data_open_idx(f->ctx, plain, &s), ECC_OK);
    assert_int_equal(ecc_data_read(f->ctx, s, 2, lv, &got), ECC_OK);
    assert_int_equal(lv[0], 7);
    assert_int_equal(lv[1], 258);
    ecc_data_close(s);
    /* truncated plain and gzip files are caught at open */
    n = make_idx(buf, 0x08, dims, 3, px, sizeof px);
    write_file(plain, buf, n - 1);
    expect_error(f, ecc_data_open_idx(f->ctx, plain, &s), ECC_E_INPUT, "truncated");
    write_gz(gz, buf, n - 3);
    expect_error(f, ecc_data_open_idx(f->ctx, gz, &s), ECC_E_INPUT, "img-idx3-ubyte.gz");
    uint8_t bad[8] = {0, 0, 0x42, 1, 0, 0, 0, 1};
    write_file(plain, bad, 8);
    expect_error(f, ecc_data_open_idx(f->ctx, plain, &s), ECC_E_INPUT, "0x42");
    bad[2] = 0x08, bad[3] = 0;
    write_file(plain, bad, 8);
    expect_error(f, ecc_data_open_idx(f->ctx, plain, &s), ECC_E_INPUT, "rank");
    /* a gzip file cut in the middle of the deflate stream */
    FILE *fp = fopen(gz, "rb");
    uint8_t whole[256];
    size_t gl = fread(whole, 1, sizeof whole, fp);
    fclose(fp);
    write_gz(gz, buf, n);
    fp = fopen(gz, "rb");
    gl = fread(whole, 1, sizeof whole, fp);
    fclose(fp);
    write_file(gz, whole, gl / 2);
    assert_int_equal(ecc_data_open_idx(f->ctx, gz, &s), ECC_E_INPUT);
}

/* ---------------- TensorProto ---------------- */

static size_t put_varint(uint8_t *p, uint64_t v) {
    size_t n = 0;
    do {
        p[n++] = (uint8_t)((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
        v >>= 7;
    } while (v);
    return n;
}

static size_t put_key(uint8_t *p, uint32_t field, int wt) { return put_varint(p, field << 3 | (uint32_t)wt); }

static size_t put_bytes(uint8_t *p, uint32_t field, const void *data, size_t len) {
    size_t n = put_key(p, field, 2);
    n += put_varint(p + n, len);
    memcpy(p + n, data, len);
    return n + len;
}

static void test_pb(void **state) {
    fixture *f = *state;
    uint8_t buf[512], packed[64];
    ecc_tensor *t = NULL;
    float v[6] = {1.5f, -2, 3, 4, 5, 6};
    /* dims packed [2,3], data_type 1, name, raw_data */
    size_t n = 0, pn = put_varint(packed, 2);
    pn += put_varint(packed + pn, 3);
    n += put_bytes(buf + n, 1, packed, pn);
    n += put_key(buf + n, 2, 0);
    n += put_varint(buf + n, 1);
    n += put_bytes(buf + n, 8, "x", 1);
    n += put_bytes(buf + n, 9, v, sizeof v);
    n += put_bytes(buf + n, 12, "doc", 3); /* skipped */
    assert_int_equal(ecc_pb_tensor_decode(f->ctx, buf, n, &t), ECC_OK);
    assert_int_equal(t->dtype, ECC_DTYPE_FLOAT);
    assert_int_equal(t->rank, 2);
    assert_int_equal(t->dims[1], 3);
    assert_string_equal(t->name, "x");
    assert_memory_equal(t->data, v, sizeof v);
    ecc_tensor_unref(t);
    /* wrong raw size */
    expect_error(f, ecc_pb_tensor_decode(f->ctx, buf, n - 3 - 2 - 4, &t), ECC_E_INPUT, "");
    /* typed: unpacked dims, int64_data unpacked, negative values */
    n = 0;
    n += put_key(buf + n, 1, 0);
    n += put_varint(buf + n, 3);
    n += put_key(buf + n, 2, 0);
    n += put_varint(buf + n, 7);
    int64_t iv[3] = {5, -1, 1LL << 40};
    for (int i = 0; i < 3; i++) {
        n += put_key(buf + n, 7, 0);
        n += put_varint(buf + n, (uint64_t)iv[i]);
    }
    assert_int_equal(ecc_pb_tensor_decode(f->ctx, buf, n, &t), ECC_OK);
    assert_memory_equal(t->data, iv, sizeof iv);
    ecc_tensor_unref(t);
    /* float16 in int32_data (packed), one value short → error */
    n = 0;
    n += put_key(buf + n, 1, 0);
    n += put_varint(buf + n, 2);
    n += put_key(buf + n, 2, 0);
    n += put_varint(buf + n, 10);
    pn = put_varint(packed, 0x3c00);
    pn += put_varint(packed + pn, 0xc000);
    size_t full = n + put_bytes(buf + n, 5, packed, pn);
    assert_int_equal(ecc_pb_tensor_decode(f->ctx, buf, full, &t), ECC_OK);
    assert_true(ecc_f16_to_f32(((uint16_t *)t->data)[0]) == 1.0f);
    assert_true(ecc_f16_to_f32(((uint16_t *)t->data)[1]) == -2.0f);
    ecc_tensor_unref(t);
    size_t cut = n + put_bytes(buf + n, 5, packed, 2); /* one value of two */
    expect_error(f, ecc_pb_tensor_decode(f->ctx, buf, cut, &t), ECC_E_INPUT, "typed values");
    /* huge dims without data: rejected before any allocation */
    n = 0;
    n += put_key(buf + n, 1, 0);
    n += put_varint(buf + n, 1ULL << 40);
    n += put_key(buf + n, 2, 0);
    n += put_varint(buf + n, 1);
    expect_error(f, ecc_pb_tensor_decode(f->ctx, buf, n, &t), ECC_E_INPUT, "no data");
    /* truncated length, groups, strings, unknown dtype, external data */
    uint8_t trunc[] = {0x4a, 0x10, 1, 2};
    expect_error(f, ecc_pb_tensor_decode(f->ctx, trunc, sizeof trunc, &t), ECC_E_INPUT,
                 "truncated");
    uint8_t group[] = {0x0b};
    expect_error(f, ecc_pb_tensor_decode(f->ctx, group, 1, &t), ECC_E_INPUT, "wire type");
    uint8_t str[] = {0x10, 8, 0x32, 1, 'a'};
    expect_error(f, ecc_pb_tensor_decode(f->ctx, str, sizeof str, &t), ECC_E_INPUT, "string");
    uint8_t dt[] = {0x10, 99};
    expect_error(f, ecc_pb_tensor_decode(f->ctx, dt, sizeof dt, &t), ECC_E_INPUT, "data_type");
    uint8_t ext[] = {0x10, 1, 0x70, 1};
    expect_error(f, ecc_pb_tensor_decode(f->ctx, ext, sizeof ext, &t), ECC_E_INPUT, "external");
    uint8_t overlong[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
    expect_error(f, ecc_pb_tensor_decode(f->ctx, overlong, sizeof overlong, &t), ECC_E_INPUT,
                 "TensorProto");
    /* a file as a whole stream */
    n = 0;
    n += put_key(buf + n, 2, 0);
    n += put_varint(buf + n, 1);
    n += put_bytes(buf + n, 9, v, 4); /* scalar */
    const char *p = path_in(f, "input_0.pb");
    write_file(p, buf, n);
    ecc_data_stream *s;
    float back;
    int64_t got;
    assert_int_equal(ecc_data_open_pb(f->ctx, p, &s), ECC_OK);
    assert_true(s->whole);
    assert_int_equal(s->rank, 0);
    assert_int_equal(ecc_data_read(f->ctx, s, 1, &back, &got), ECC_OK);
    assert_int_equal(got, 1);
    assert_true(back == 1.5f);
    ecc_data_close(s);
}

/* ---------------- images ---------------- */

static void write_png(const char *path, int w, int h, int channels, const uint8_t *px) {
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    pi.width = (png_uint_32)w;
    pi.height = (png_uint_32)h;
    pi.format = channels == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
    assert_true(png_image_write_to_file(&pi, path, 0, px, 0, NULL));
}

static void write_jpeg(const char *path, int w, int h, const uint8_t *rgb) {
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, fp);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 100, TRUE);
    jpeg_start_compress(&c, TRUE);
    for (int y = 0; y < h; y++) {
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)y * (size_t)w * 3);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    fclose(fp);
}

static void test_images(void **state) {
    fixture *f = *state;
    const char *dir = path_in(f, "imgs");
    char p[300];
    assert_int_equal(mkdir(dir, 0777), 0);
    assert_false(ecc_data_dir_has_images(dir));
    /* b.png: 4x6 gray (w=4,h=6), a.png: 4x4 gray — read back in name order */
    uint8_t g6[24], g4[16];
    for (int i = 0; i < 24; i++) g6[i] = (uint8_t)(i * 10);
    for (int i = 0; i < 16; i++) g4[i] = (uint8_t)(255 - i);
    snprintf(p, sizeof p, "%s/b.png", dir);
    write_png(p, 4, 6, 1, g6);
    snprintf(p, sizeof p, "%s/a.PNG", dir);
    write_png(p, 4, 4, 1, g4);
    snprintf(p, sizeof p, "%s/notes.txt", dir);
    write_file(p, "x", 1);
    assert_true(ecc_data_dir_has_images(dir));
    ecc_image_prep prep = {1, 4, 4, 0, false, false, 1.0 / 255, {0.5, 0, 0}, {0.5, 1, 1}};
    ecc_data_stream *s;
    float out[32];
    int64_t got;
    assert_int_equal(ecc_data_open_images(f->ctx, dir, &prep, &s), ECC_OK);
    assert_int_equal(s->dims[0], 2);
    assert_int_equal(s->dims[1], 1);
    assert_int_equal(s->dims[2], 4);
    assert_int_equal(ecc_data_read(f->ctx, s, 2, out, &got), ECC_OK);
    /* a.PNG fits exactly: (x/255 - 0.5)/0.5 */
    for (int i = 0; i < 16; i++) assert_float_equal(out[i], (g4[i] / 255.0 - 0.5) / 0.5, 1e-6);
    /* b.png: shorter side is 4 already → no resize, centre crop of rows 1..4 */
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++)
            assert_float_equal(out[16 + y * 4 + x], (g6[(y + 1) * 4 + x] / 255.0 - 0.5) / 0.5,
                               1e-5);
    ecc_data_close(s);
    /* RGB JPEG, downscaled 8x8 → 4x4 NHWC raw: a flat colour stays flat */
    const char *jdir = path_in(f, "jpg");
    assert_int_equal(mkdir(jdir, 0777), 0);
    uint8_t rgb[8 * 8 * 3];
    for (int i = 0; i < 64; i++) rgb[3 * i] = 200, rgb[3 * i + 1] = 100, rgb[3 * i + 2] = 50;
    snprintf(p, sizeof p, "%s/x.jpg", jdir);
    write_jpeg(p, 8, 8, rgb);
    ecc_image_prep rp = {3, 4, 4, 4, true, true, 1, {0}, {0}};
    uint8_t o8[48];
    assert_int_equal(ecc_data_open_images(f->ctx, jdir, &rp, &s), ECC_OK);
    assert_int_equal(s->dtype, ECC_DTYPE_UINT8);
    assert_int_equal(s->dims[3], 3);
    assert_int_equal(ecc_data_read(f->ctx, s, 1, o8, &got), ECC_OK);
    for (int i = 0; i < 16; i++) {
        assert_in_range(o8[3 * i], 196, 204);
        assert_in_range(o8[3 * i + 1], 96, 104);
        assert_in_range(o8[3 * i + 2], 46, 54);
    }
    ecc_data_close(s);
    /* a truncated JPEG is an error naming the file */
    FILE *fp = fopen(p, "rb");
    uint8_t jb[4096];
    size_t jl = fread(jb, 1, sizeof jb, fp);
    fclose(fp);
    write_file(p, jb, jl / 2);
    assert_int_equal(ecc_data_open_images(f->ctx, jdir, &rp, &s), ECC_OK);
    expect_error(f, ecc_data_read(f->ctx, s, 1, o8, &got), ECC_E_INPUT, "x.jpg");
    ecc_data_close(s);
    /* too small for the crop */
    ecc_image_prep big = {1, 16, 16, 8, false, false, 1, {0}, {0}};
    assert_int_equal(ecc_data_open_images(f->ctx, dir, &big, &s), ECC_OK);
    expect_error(f, ecc_data_read(f->ctx, s, 1, out, &got), ECC_E_INPUT, "smaller than");
    ecc_data_close(s);
    /* a non-image with an image name */
    snprintf(p, sizeof p, "%s/c.png", dir);
    write_file(p, "not a png", 9);
    assert_int_equal(ecc_data_open_images(f->ctx, dir, &prep, &s), ECC_OK);
    assert_int_equal(ecc_data_read(f->ctx, s, 2, out, &got), ECC_OK);
    expect_error(f, ecc_data_read(f->ctx, s, 1, out, &got), ECC_E_INPUT, "c.png");
    ecc_data_close(s);
}

/* ---------------- datasets bound to a model ---------------- */

/* A model: input x [dims] float32 → Relu → y. */
static ecc_model *relu_model(fixture *f, int32_t rank, const int64_t *dims, const char *param) {
    ecc_model *m;
    ecc_value *x, *y;
    ecc_node *n;
    assert_int_equal(ecc_model_create(f->ctx, &m), ECC_OK);
    assert_int_equal(ecc_model_set_opset(f->ctx, m, "", 13), ECC_OK);
    ecc_graph *g = m->graph;
    assert_int_equal(ecc_graph_add_value(f->ctx, g, "x", &x), ECC_OK);
    assert_int_equal(ecc_graph_add_value(f->ctx, g, "y", &y), ECC_OK);
    assert_int_equal(ecc_value_set_shape(f->ctx, x, ECC_DTYPE_FLOAT, rank, dims), ECC_OK);
    if (param) x->dims[0].param = param;
    x->flags |= ECC_VALUE_INPUT;
    assert_true(ecc_ptrvec_push(&g->inputs, x));
    assert_int_equal(ecc_graph_add_node(f->ctx, g, "Relu", "", "r", &x, 1, &y, 1, &n), ECC_OK);
    y->flags |= ECC_VALUE_OUTPUT;
    assert_true(ecc_ptrvec_push(&g->outputs, y));
    return m;
}

static void test_dataset_bind(void **state) {
    fixture *f = *state;
    int64_t dims[4] = {-1, 1, 2, 2};
    ecc_model *m = relu_model(f, 4, dims, "N");
    ecc_session *s = NULL;
    ecc_session_options so = {sizeof so, 1, 4};
    assert_int_equal(ecc_session_create(f->ctx, m, &so, &s), ECC_OK);
    /* IDX uint8 [5,2,2] into [N,1,2,2]: exact reshape, pixels scaled */
    uint8_t px[20], buf[128];
    for (int i = 0; i < 20; i++) px[i] = (uint8_t)(i * 10);
    uint32_t d3[3] = {5, 2, 2};
    const char *p = path_in(f, "x-idx3-ubyte");
    write_file(p, buf, make_idx(buf, 0x08, d3, 3, px, sizeof px));
    ecc_dataset *ds = NULL;
    ecc_array arr[1];
    int64_t got;
    assert_int_equal(ecc_dataset_open(f->ctx, &p, 1, s, NULL, &ds), ECC_OK);
    assert_int_equal(ecc_dataset_samples(ds), 5);
    assert_int_equal(ecc_dataset_next_batch(f->ctx, ds, 4, arr, &got), ECC_OK);
    assert_int_equal(got, 4);
    assert_int_equal(arr[0].dtype, ECC_DTYPE_FLOAT);
    assert_int_equal(arr[0].rank, 4);
    assert_int_equal(arr[0].dims[0], 4);
    assert_int_equal(arr[0].dims[1], 1);
    assert_float_equal(((float *)arr[0].data)[3], 30 / 255.0, 1e-7);
    assert_int_equal(ecc_session_run(f->ctx, s, arr, 1), ECC_OK);
    ecc_array out;
    assert_int_equal(ecc_session_result(f->ctx, s, 0, &out), ECC_OK);
    assert_int_equal(out.dims[0], 4);
    assert_float_equal(((float *)out.data)[3], 30 / 255.0, 1e-7);
    assert_int_equal(ecc_dataset_next_batch(f->ctx, ds, 4, arr, &got), ECC_OK);
    assert_int_equal(got, 1);
    assert_int_equal(ecc_dataset_next_batch(f->ctx, ds, 4, arr, &got), ECC_OK);
    assert_int_equal(got, 0);
    ecc_dataset_free(ds);
    /* wrong sample shape */
    float fv[2 * 3 * 3] = {0};
    const char *q = path_in(f, "bad.npy");
    write_npy(q, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 3), }", fv, sizeof fv);
    expect_error(f, ecc_dataset_open(f->ctx, &q, 1, s, NULL, &ds), ECC_E_INPUT, "do not fit");
    expect_error(f, ecc_dataset_open(f->ctx, &q, 1, s, NULL, &ds), ECC_E_INPUT, "bad.npy");
    /* wrong dtype (int64 data for a float input) */
    int64_t iv[8] = {0};
    write_npy(q, "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 1, 2, 2), }", iv,
              sizeof iv);
    expect_error(f, ecc_dataset_open(f->ctx, &q, 1, s, NULL, &ds), ECC_E_INPUT, "int64");
    /* two arrays for one input */
    const char *two[2] = {p, p};
    expect_error(f, ecc_dataset_open(f->ctx, two, 2, s, NULL, &ds), ECC_E_INPUT, "1 input");
    ecc_session_free(s);
    ecc_model_free(m);
    /* fixed batch 4: a batch of 3 is padded, the output cut back */
    int64_t fixed[2] = {4, 3};
    m = relu_model(f, 2, fixed, NULL);
    assert_int_equal(ecc_session_create(f->ctx, m, &so, &s), ECC_OK);
    float x3[9] = {-1, 2, 3, 4, -5, 6, 7, 8, 9};
    ecc_array in = {ECC_DTYPE_FLOAT, 2, {3, 3}, x3, sizeof x3};
    assert_int_equal(ecc_session_run(f->ctx, s, &in, 1), ECC_OK);
    assert_int_equal(ecc_session_result(f->ctx, s, 0, &out), ECC_OK);
    assert_int_equal(out.dims[0], 3);
    assert_int_equal(out.nbytes, sizeof x3);
    assert_true(((float *)out.data)[0] == 0 && ((float *)out.data)[8] == 9);
    ecc_session_free(s);
    ecc_model_free(m);
}

/* A model: inputs x, y float32 [2] → Sub → z (order matters, so a swap shows). */
static ecc_model *sub_model(fixture *f) {
    ecc_model *m;
    ecc_value *v[3];
    ecc_node *n;
    const char *names[3] = {"x", "y", "z"};
    int64_t dims[1] = {2};
    assert_int_equal(ecc_model_create(f->ctx, &m), ECC_OK);
    assert_int_equal(ecc_model_set_opset(f->ctx, m, "", 13), ECC_OK);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ecc_graph_add_value(f->ctx, m->graph, names[i], &v[i]), ECC_OK);
        assert_int_equal(ecc_value_set_shape(f->ctx, v[i], ECC_DTYPE_FLOAT, 1, dims), ECC_OK);
    }
    for (int i = 0; i < 2; i++) {
        v[i]->flags |= ECC_VALUE_INPUT;
        assert_true(ecc_ptrvec_push(&m->graph->inputs, v[i]));
    }
    assert_int_equal(ecc_graph_add_node(f->ctx, m->graph, "Sub", "", "s", v, 2, &v[2], 1, &n),
                     ECC_OK);
    v[2]->flags |= ECC_VALUE_OUTPUT;
    assert_true(ecc_ptrvec_push(&m->graph->outputs, v[2]));
    return m;
}

/* input_K.pb files are mapped to inputs by tensor name, then by position. */
static void test_dataset_pb_dir(void **state) {
    fixture *f = *state;
    ecc_model *m = sub_model(f);
    ecc_session *s = NULL;
    assert_int_equal(ecc_session_create(f->ctx, m, NULL, &s), ECC_OK);
    const char *dir = path_in(f, "test_data_set_0");
    assert_int_equal(mkdir(dir, 0777), 0);
    float yv[2] = {1, 2}, xv[2] = {10, 20};
    uint8_t buf[128];
    char p[300];
    const char *names[2] = {"y", "x"};
    const float *vals[2] = {yv, xv};
    for (int k = 0; k < 2; k++) {
        size_t n = 0;
        n += put_key(buf + n, 1, 0);
        n += put_varint(buf + n, 2);
        n += put_key(buf + n, 2, 0);
        n += put_varint(buf + n, 1);
        n += put_bytes(buf + n, 8, names[k], 1);
        n += put_bytes(buf + n, 9, vals[k], 8);
        snprintf(p, sizeof p, "%s/input_%d.pb", dir, k);
        write_file(p, buf, n);
    }
    ecc_dataset *ds = NULL;
    ecc_array arr[2], out;
    int64_t got;
    assert_int_equal(ecc_dataset_open(f->ctx, &dir, 1, s, NULL, &ds), ECC_OK);
    assert_true(ecc_dataset_whole(ds));
    assert_int_equal(ecc_dataset_arrays(ds), 2);
    assert_int_equal(ecc_dataset_next_batch(f->ctx, ds, 1, arr, &got), ECC_OK);
    assert_int_equal(got, 2); /* one batch of whole tensors */
    assert_int_equal(ecc_session_run(f->ctx, s, arr, 2), ECC_OK);
    assert_int_equal(ecc_session_result(f->ctx, s, 0, &out), ECC_OK);
    assert_true(((float *)out.data)[0] == 9 && ((float *)out.data)[1] == 18); /* x - y */
    assert_int_equal(ecc_dataset_next_batch(f->ctx, ds, 1, arr, &got), ECC_OK);
    assert_int_equal(got, 0);
    ecc_dataset_free(ds);
    /* the parent of test_data_set_* is refused with a hint */
    const char *parent = f->dir;
    expect_error(f, ecc_dataset_open(f->ctx, &parent, 1, s, NULL, &ds), ECC_E_INPUT,
                 "test_data_set_");
    ecc_session_free(s);
    ecc_model_free(m);
}

/* ---------------- random mutations: errors, never crashes ---------------- */

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t next_rand(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)rng;
}

static void mutate_and_open(fixture *f, const uint8_t *orig, size_t len, const char *name,
                            ecc_status (*open)(ecc_ctx *, const char *, ecc_data_stream **)) {
    uint8_t buf[1024];
    const char *p = path_in(f, name);
    for (int round = 0; round < 300; round++) {
        size_t n = len;
        memcpy(buf, orig, len);
        int edits = 1 + (int)(next_rand() % 4);
        for (int e = 0; e < edits; e++) {
            uint32_t r = next_rand();
            if (r % 5 == 0 && n > 1) n = 1 + next_rand() % (n - 1);           /* truncate */
            else buf[next_rand() % n] = (uint8_t)next_rand();                /* flip */
        }
        write_file(p, buf, n);
        ecc_data_stream *s = NULL;
        if (open(f->ctx, p, &s) == ECC_OK) {
            uint8_t *dst = malloc(s->sample_bytes * 2 + 1);
            int64_t got;
            if (dst && s->sample_bytes < (1u << 20)) (void)ecc_data_read(f->ctx, s, 2, dst, &got);
            free(dst);
            ecc_data_close(s);
        }
    }
}

static void test_mutations(void **state) {
    fixture *f = *state;
    float v[6] = {1, 2, 3, 4, 5, 6};
    write_npy(path_in(f, "m.npy"), "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }",
              v, sizeof v);
    uint8_t orig[256];
    FILE *fp = fopen(path_in(f, "m.npy"), "rb");
    size_t len = fread(orig, 1, sizeof orig, fp);
    fclose(fp);
    mutate_and_open(f, orig, len, "mut.npy", ecc_data_open_npy);
    uint32_t dims[2] = {3, 2};
    uint8_t px[6] = {1, 2, 3, 4, 5, 6};
    len = make_idx(orig, 0x08, dims, 2, px, 6);
    mutate_and_open(f, orig, len, "mut-idx", ecc_data_open_idx);
    size_t n = 0;
    n += put_key(orig + n, 1, 0);
    n += put_varint(orig + n, 6);
    n += put_key(orig + n, 2, 0);
    n += put_varint(orig + n, 1);
    n += put_bytes(orig + n, 9, v, sizeof v);
    mutate_and_open(f, orig, n, "mut.pb", ecc_data_open_pb);
}

int main(void) {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, file_fixture_teardown)
    const struct CMUnitTest tests[] = {
        T(test_npy_dtypes),
        T(test_npy_rejects),
        T(test_npy_writer),
        T(test_idx),
        T(test_pb),
        T(test_images),
        T(test_dataset_bind),
        T(test_dataset_pb_dir),
        T(test_mutations),
    };
    return cmocka_run_group_tests_name("data", tests, NULL, NULL);
}
