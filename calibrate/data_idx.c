/* data_idx.c — IDX files (the MNIST / Fashion-MNIST format), plain or gzip:
 * magic 0 0 TYPE RANK, RANK big-endian u32 dimensions, big-endian data.
 * Read through zlib (gzread is transparent for plain files). The expected
 * size is checked before any data is used: the file size for plain files, the
 * gzip trailer's ISIZE for .gz; a short read later is still an error. The
 * file is opened once, as a regular file only (ecc_input_open): zlib reads the
 * descriptor, the size check reads it with pread. */
#include "data.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

/* IDX type byte → ONNX type, element size */
typedef struct idx_type {
    uint8_t code;
    int32_t dtype;
    int size;
} idx_type;

static const idx_type idx_types[] = {
    {0x08, ECC_DTYPE_UINT8, 1}, {0x09, ECC_DTYPE_INT8, 1},   {0x0B, ECC_DTYPE_INT16, 2},
    {0x0C, ECC_DTYPE_INT32, 4}, {0x0D, ECC_DTYPE_FLOAT, 4},  {0x0E, ECC_DTYPE_DOUBLE, 8},
};
enum { IDX_N_TYPES = sizeof idx_types / sizeof idx_types[0] };

typedef struct idx_state {
    gzFile gz;
    int fd;          /* owned by gz once it is open */
    int64_t size;    /* of the file */
    int elem_size;
    z_off_t data_offset;
} idx_state;

static void be_to_host(void *buf, size_t n_elems, int size) {
    uint8_t *p = buf;
    if (size == 1) return;
    for (size_t i = 0; i < n_elems; i++, p += size)
        for (int a = 0, b = size - 1; a < b; a++, b--) {
            uint8_t t = p[a];
            p[a] = p[b];
            p[b] = t;
        }
}

/* gzread of exactly len bytes (len may exceed unsigned int). */
static ecc_status gz_read_all(ecc_ctx *ctx, gzFile gz, void *dst, size_t len, const char *what) {
    uint8_t *p = dst;
    while (len > 0) {
        unsigned chunk = len > (1u << 30) ? (1u << 30) : (unsigned)len;
        int got = gzread(gz, p, chunk);
        if (got < 0) {
            int err;
            const char *msg = gzerror(gz, &err);
            if (err == Z_MEM_ERROR) return ECC_OOM(ctx);
            return ecc_ctx_error(ctx, err == Z_ERRNO ? ECC_E_INTERNAL : ECC_E_INPUT,
                                 "corrupt data while reading %s: %s", what, msg);
        }
        if (got == 0)
            return ecc_ctx_error(ctx, ECC_E_INPUT, "truncated: the file ended while reading %s",
                                 what);
        p += got;
        len -= (size_t)got;
    }
    return ECC_OK;
}

static ecc_status idx_read(ecc_ctx *ctx, ecc_data_stream *s, int64_t n, void *dst) {
    idx_state *is = s->state;
    char what[64];
    snprintf(what, sizeof what, "sample %lld", (long long)s->pos);
    size_t bytes = s->sample_bytes * (size_t)n;
    ecc_status st = gz_read_all(ctx, is->gz, dst, bytes, what);
    if (st == ECC_OK) be_to_host(dst, bytes / (size_t)is->elem_size, is->elem_size);
    return st;
}

static ecc_status idx_rewind(ecc_ctx *ctx, ecc_data_stream *s) {
    idx_state *is = s->state;
    if (gzseek(is->gz, is->data_offset, SEEK_SET) != is->data_offset)
        return ecc_ctx_error(ctx, ECC_E_INTERNAL, "cannot seek back to the data");
    return ECC_OK;
}

static void idx_close(ecc_data_stream *s) {
    idx_state *is = s->state;
    if (!is) return;
    if (is->gz) gzclose(is->gz); /* closes fd */
    else if (is->fd >= 0) close(is->fd);
    free(is);
}

static const ecc_data_stream_ops idx_ops = {"idx", idx_read, idx_rewind, idx_close};

static ecc_status parse_header(ecc_ctx *ctx, ecc_data_stream *s, idx_state *is) {
    ecc_status st = ECC_OK;
    uint8_t magic[4], dimb[4];
    ECC_TRY(gz_read_all(ctx, is->gz, magic, 4, "the header"));
    ECC_FAIL_IF(magic[0] != 0 || magic[1] != 0, ctx, ECC_E_INPUT, "not an IDX file (bad magic)");
    const idx_type *t = NULL;
    for (int i = 0; i < IDX_N_TYPES; i++)
        if (idx_types[i].code == magic[2]) t = &idx_types[i];
    ECC_FAIL_IF(!t, ctx, ECC_E_INPUT, "IDX data type 0x%02x is not supported", magic[2]);
    ECC_FAIL_IF(magic[3] < 1 || magic[3] > ECC_MAX_RANK, ctx, ECC_E_INPUT,
                "IDX rank %u is out of range (1..%d)", magic[3], ECC_MAX_RANK);
    s->dtype = t->dtype;
    s->rank = magic[3];
    is->elem_size = t->size;
    for (int32_t i = 0; i < s->rank; i++) {
        ECC_TRY(gz_read_all(ctx, is->gz, dimb, 4, "the header"));
        s->dims[i] = (int64_t)((uint32_t)dimb[0] << 24 | (uint32_t)dimb[1] << 16 |
                               (uint32_t)dimb[2] << 8 | dimb[3]);
    }
    is->data_offset = (z_off_t)(4 + 4 * s->rank);
    s->pixels = s->dtype == ECC_DTYPE_UINT8;
fail:
    return st;
}

/* Exactly len bytes at offset off, or false. */
static bool pread_all(int fd, void *dst, size_t len, int64_t off) {
    return pread(fd, dst, len, (off_t)off) == (ssize_t)len;
}

/* The size the data needs vs what the file holds (plain: st_size; gzip: ISIZE). */
static ecc_status check_size(ecc_ctx *ctx, const ecc_data_stream *s, const idx_state *is) {
    ecc_status st = ECC_OK;
    uint8_t head[2] = {0}, tail[4] = {0};
    uint64_t want = (uint64_t)is->data_offset + (uint64_t)s->sample_bytes * (uint64_t)s->dims[0];
    ECC_FAIL_IF(!pread_all(is->fd, head, 2, 0), ctx, ECC_E_INPUT, "cannot read the file");
    if (head[0] == 0x1f && head[1] == 0x8b) {
        ECC_FAIL_IF(is->size < 18 || !pread_all(is->fd, tail, 4, is->size - 4), ctx,
                    ECC_E_INPUT, "truncated gzip stream");
        uint32_t isize = (uint32_t)tail[0] | (uint32_t)tail[1] << 8 | (uint32_t)tail[2] << 16 |
                         (uint32_t)tail[3] << 24;
        ECC_FAIL_IF(isize != (uint32_t)want, ctx, ECC_E_INPUT,
                    "truncated or corrupt: the header promises %llu bytes, the gzip trailer "
                    "says %u", (unsigned long long)want, isize);
    } else {
        ECC_FAIL_IF((uint64_t)is->size < want, ctx, ECC_E_INPUT,
                    "truncated: the header promises %llu bytes, the file has %lld",
                    (unsigned long long)want, (long long)is->size);
        ECC_FAIL_IF((uint64_t)is->size > want, ctx, ECC_E_INPUT,
                    "%llu bytes of unexpected data after the array",
                    (unsigned long long)((uint64_t)is->size - want));
    }
fail:
    return st;
}

ecc_status ecc_data_open_idx(ecc_ctx *ctx, const char *path, ecc_data_stream **out) {
    ecc_status st = ECC_OK;
    ecc_data_stream *s = NULL;
    idx_state *is = NULL;
    *out = NULL;
    ecc_ctx_set_subject(ctx, path);
    ECC_TRY(ecc_data_stream_new(ctx, path, &idx_ops, &s));
    is = calloc(1, sizeof *is);
    ECC_FAIL_IF(!is, ctx, ECC_E_INTERNAL, "out of memory");
    is->fd = -1;
    s->state = is;
    ECC_TRY(ecc_input_open(ctx, path, &is->fd, &is->size));
    is->gz = gzdopen(is->fd, "rb");
    ECC_FAIL_IF(!is->gz, ctx, ECC_E_INTERNAL, "out of memory"); /* zlib's only failure here */
    ECC_TRY(parse_header(ctx, s, is));
    ECC_TRY(ecc_data_stream_finish(ctx, s));
    ECC_TRY(check_size(ctx, s, is));
    *out = s;
    return ECC_OK;
fail:
    ecc_data_close(s);
    return st;
}
