/* data_npy.c — NumPy .npy files: a strict header parser (the Python dict
 * literal numpy writes, nothing more), a streaming reader that checks the
 * file size against the header before any data is used, and a streaming
 * writer whose header is finalised when the last batch is in. */
#include "data.h"
#include "atomic.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "data_npy.c assumes a little-endian host"
#endif

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAX_HEADER 65536u
#define NPY_WRITER_HEADER 256u /* fixed header size of files we write */

/* npy kind+size ↔ ONNX type */
typedef struct npy_type {
    char kind;
    int size;
    int32_t dtype;
} npy_type;

static const npy_type npy_types[] = {
    {'f', 2, ECC_DTYPE_FLOAT16}, {'f', 4, ECC_DTYPE_FLOAT}, {'f', 8, ECC_DTYPE_DOUBLE},
    {'i', 1, ECC_DTYPE_INT8},    {'i', 2, ECC_DTYPE_INT16}, {'i', 4, ECC_DTYPE_INT32},
    {'i', 8, ECC_DTYPE_INT64},   {'u', 1, ECC_DTYPE_UINT8}, {'u', 2, ECC_DTYPE_UINT16},
    {'u', 4, ECC_DTYPE_UINT32},  {'u', 8, ECC_DTYPE_UINT64}, {'b', 1, ECC_DTYPE_BOOL},
};
enum { NPY_N_TYPES = sizeof npy_types / sizeof npy_types[0] };

const char *ecc_npy_descr(int32_t dtype) {
    static char names[NPY_N_TYPES][8];
    for (int i = 0; i < NPY_N_TYPES; i++)
        if (npy_types[i].dtype == dtype) {
            snprintf(names[i], sizeof names[i], "%c%c%d", npy_types[i].size == 1 ? '|' : '<',
                     npy_types[i].kind, npy_types[i].size);
            return names[i];
        }
    return NULL;
}

/* ---------------- header parser ---------------- */

typedef struct npy_header {
    char descr[32];
    bool fortran;
    int32_t rank;
    int64_t dims[ECC_MAX_RANK];
    bool has_descr, has_fortran, has_shape;
} npy_header;

typedef struct lexer {
    const char *p, *end;
} lexer;

static void skip_ws(lexer *lx) {
    while (lx->p < lx->end && (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\n')) lx->p++;
}

static bool eat(lexer *lx, char c) {
    skip_ws(lx);
    if (lx->p < lx->end && *lx->p == c) {
        lx->p++;
        return true;
    }
    return false;
}

static bool peek(lexer *lx, char c) {
    skip_ws(lx);
    return lx->p < lx->end && *lx->p == c;
}

/* 'text' or "text" into buf (no escapes: numpy never writes them in a header). */
static bool parse_string(lexer *lx, char *buf, size_t cap) {
    skip_ws(lx);
    if (lx->p >= lx->end || (*lx->p != '\'' && *lx->p != '"')) return false;
    char q = *lx->p++;
    size_t n = 0;
    while (lx->p < lx->end && *lx->p != q) {
        if (*lx->p == '\\' || n + 1 >= cap) return false;
        buf[n++] = *lx->p++;
    }
    if (lx->p >= lx->end) return false;
    lx->p++;
    buf[n] = 0;
    return true;
}

static bool parse_word(lexer *lx, const char *w) {
    skip_ws(lx);
    size_t n = strlen(w);
    if ((size_t)(lx->end - lx->p) < n || memcmp(lx->p, w, n) != 0) return false;
    lx->p += n;
    return true;
}

static bool parse_dim(lexer *lx, int64_t *out) {
    skip_ws(lx);
    int64_t v = 0;
    const char *start = lx->p;
    while (lx->p < lx->end && *lx->p >= '0' && *lx->p <= '9') {
        if (!ecc_mul_i64(v, 10, &v) || !ecc_add_i64(v, *lx->p - '0', &v)) return false;
        lx->p++;
    }
    if (lx->p < lx->end && *lx->p == 'L') lx->p++; /* Python 2 long suffix */
    *out = v;
    return lx->p > start;
}

/* (), (n,), (a, b, …) */
static ecc_status parse_shape(ecc_ctx *ctx, lexer *lx, npy_header *h) {
    ecc_status st = ECC_OK;
    ECC_FAIL_IF(!eat(lx, '('), ctx, ECC_E_INPUT, "malformed .npy header: 'shape' is not a tuple");
    h->rank = 0;
    while (!eat(lx, ')')) {
        ECC_FAIL_IF(h->rank == ECC_MAX_RANK, ctx, ECC_E_INPUT,
                    "shape has more than %d dimensions", ECC_MAX_RANK);
        ECC_FAIL_IF(!parse_dim(lx, &h->dims[h->rank]), ctx, ECC_E_INPUT,
                    "malformed .npy header: bad dimension in 'shape'");
        h->rank++;
        if (!eat(lx, ','))
            ECC_FAIL_IF(!eat(lx, ')'), ctx, ECC_E_INPUT,
                        "malformed .npy header: 'shape' tuple not closed");
        else
            continue;
        break;
    }
fail:
    return st;
}

static ecc_status parse_entry(ecc_ctx *ctx, lexer *lx, npy_header *h) {
    ecc_status st = ECC_OK;
    char key[32];
    ECC_FAIL_IF(!parse_string(lx, key, sizeof key) || !eat(lx, ':'), ctx, ECC_E_INPUT,
                "malformed .npy header: expected 'key': value");
    if (!strcmp(key, "descr")) {
        ECC_FAIL_IF(h->has_descr, ctx, ECC_E_INPUT, "malformed .npy header: 'descr' twice");
        ECC_FAIL_IF(peek(lx, '['), ctx, ECC_E_INPUT,
                    "structured arrays (record dtypes) are not supported");
        ECC_FAIL_IF(!parse_string(lx, h->descr, sizeof h->descr), ctx, ECC_E_INPUT,
                    "malformed .npy header: 'descr' is not a string");
        h->has_descr = true;
    } else if (!strcmp(key, "fortran_order")) {
        ECC_FAIL_IF(h->has_fortran, ctx, ECC_E_INPUT,
                    "malformed .npy header: 'fortran_order' twice");
        if (parse_word(lx, "True")) h->fortran = true;
        else ECC_FAIL_IF(!parse_word(lx, "False"), ctx, ECC_E_INPUT,
                         "malformed .npy header: 'fortran_order' is not True/False");
        h->has_fortran = true;
    } else if (!strcmp(key, "shape")) {
        ECC_FAIL_IF(h->has_shape, ctx, ECC_E_INPUT, "malformed .npy header: 'shape' twice");
        ECC_TRY(parse_shape(ctx, lx, h));
        h->has_shape = true;
    } else {
        ECC_FAIL_IF(true, ctx, ECC_E_INPUT, "malformed .npy header: unknown key '%s'", key);
    }
fail:
    return st;
}

static ecc_status parse_dict(ecc_ctx *ctx, const char *text, size_t len, npy_header *h) {
    ecc_status st = ECC_OK;
    lexer lx = {text, text + len};
    ECC_FAIL_IF(!eat(&lx, '{'), ctx, ECC_E_INPUT, "malformed .npy header: no '{'");
    while (!eat(&lx, '}')) {
        ECC_TRY(parse_entry(ctx, &lx, h));
        if (eat(&lx, ',')) continue;
        ECC_FAIL_IF(!eat(&lx, '}'), ctx, ECC_E_INPUT, "malformed .npy header: expected ',' or '}'");
        break;
    }
    skip_ws(&lx);
    ECC_FAIL_IF(lx.p != lx.end, ctx, ECC_E_INPUT, "malformed .npy header: text after the dict");
    ECC_FAIL_IF(!h->has_descr || !h->has_fortran || !h->has_shape, ctx, ECC_E_INPUT,
                "malformed .npy header: needs 'descr', 'fortran_order' and 'shape'");
fail:
    return st;
}

/* descr → ONNX type and whether bytes must be swapped */
static ecc_status parse_descr(ecc_ctx *ctx, const char *d, int32_t *dtype, int *swap_size) {
    char order = d[0];
    const char *p = d;
    if (order == '<' || order == '>' || order == '|' || order == '=') p++;
    else order = '=';
    if (p[0] == 'O')
        return ecc_ctx_error(ctx, ECC_E_INPUT, "object arrays (dtype '%s') are not supported", d);
    char *end;
    errno = 0;
    long size = (p[0] && p[1] >= '1' && p[1] <= '9') ? strtol(p + 1, &end, 10) : 0;
    bool ok = size > 0 && !errno && *end == 0;
    for (int i = 0; ok && i < NPY_N_TYPES; i++) {
        if (npy_types[i].kind != p[0] || npy_types[i].size != size) continue;
        if (order == '|' && size != 1) break;
        *dtype = npy_types[i].dtype;
        *swap_size = (order == '>' && size > 1) ? (int)size : 0;
        return ECC_OK;
    }
    return ecc_ctx_error(ctx, ECC_E_INPUT,
                         "dtype '%s' is not supported (float16/32/64, int8-64, uint8-64, bool)",
                         d);
}

/* ---------------- reader ---------------- */

typedef struct npy_state {
    FILE *fp;
    long long data_offset;
    int swap_size; /* element size to byte-swap, 0 = none */
} npy_state;

static void swap_bytes(void *buf, size_t n_elems, int size) {
    uint8_t *p = buf;
    for (size_t i = 0; i < n_elems; i++, p += size)
        for (int a = 0, b = size - 1; a < b; a++, b--) {
            uint8_t t = p[a];
            p[a] = p[b];
            p[b] = t;
        }
}

static ecc_status npy_read(ecc_ctx *ctx, ecc_data_stream *s, int64_t n, void *dst) {
    npy_state *ns = s->state;
    size_t bytes = s->sample_bytes * (size_t)n; /* bounded by the file size checked at open */
    if (bytes && fread(dst, 1, bytes, ns->fp) != bytes)
        return ecc_ctx_error(ctx, ferror(ns->fp) ? ECC_E_INTERNAL : ECC_E_INPUT,
                             "truncated data: the file ended while reading sample %lld",
                             (long long)s->pos);
    if (ns->swap_size) swap_bytes(dst, bytes / (size_t)ns->swap_size, ns->swap_size);
    if (s->dtype == ECC_DTYPE_BOOL)
        for (size_t i = 0; i < bytes; i++) ((uint8_t *)dst)[i] = ((uint8_t *)dst)[i] != 0;
    return ECC_OK;
}

static ecc_status npy_rewind(ecc_ctx *ctx, ecc_data_stream *s) {
    npy_state *ns = s->state;
    if (fseeko(ns->fp, (off_t)ns->data_offset, SEEK_SET) != 0)
        return ecc_ctx_error(ctx, ECC_E_INTERNAL, "cannot seek: %s", strerror(errno));
    return ECC_OK;
}

static void npy_close(ecc_data_stream *s) {
    npy_state *ns = s->state;
    if (!ns) return;
    if (ns->fp) fclose(ns->fp);
    free(ns);
}

static const ecc_data_stream_ops npy_ops = {"npy", npy_read, npy_rewind, npy_close};

/* Reads magic, version and header text; leaves fp at the data. */
static ecc_status read_header(ecc_ctx *ctx, FILE *fp, npy_header *h, long long *data_offset) {
    ecc_status st = ECC_OK;
    uint8_t pre[12];
    char *text = NULL;
    ECC_FAIL_IF(fread(pre, 1, 10, fp) != 10 || memcmp(pre, NPY_MAGIC, 6) != 0, ctx, ECC_E_INPUT,
                "not a .npy file (bad magic)");
    uint8_t major = pre[6];
    ECC_FAIL_IF(major < 1 || major > 3 || pre[7] != 0, ctx, ECC_E_INPUT,
                ".npy format version %u.%u is not supported (1.0, 2.0, 3.0)", pre[6], pre[7]);
    uint32_t hlen = (uint32_t)pre[8] | (uint32_t)pre[9] << 8;
    size_t pre_len = 10;
    if (major >= 2) {
        ECC_FAIL_IF(fread(pre + 10, 1, 2, fp) != 2, ctx, ECC_E_INPUT, "truncated .npy header");
        hlen |= (uint32_t)pre[10] << 16 | (uint32_t)pre[11] << 24;
        pre_len = 12;
    }
    ECC_FAIL_IF(hlen == 0 || hlen > NPY_MAX_HEADER, ctx, ECC_E_INPUT,
                ".npy header length %u is out of range (1..%u)", hlen, NPY_MAX_HEADER);
    text = malloc(hlen);
    ECC_FAIL_IF(!text, ctx, ECC_E_INTERNAL, "out of memory");
    ECC_FAIL_IF(fread(text, 1, hlen, fp) != hlen, ctx, ECC_E_INPUT, "truncated .npy header");
    ECC_FAIL_IF(text[hlen - 1] != '\n', ctx, ECC_E_INPUT,
                "malformed .npy header: does not end with a newline");
    for (uint32_t i = 0; i < hlen; i++)
        ECC_FAIL_IF((unsigned char)text[i] >= 0x80 || text[i] == 0, ctx, ECC_E_INPUT,
                    "malformed .npy header: non-ASCII byte at %u", i);
    ECC_TRY(parse_dict(ctx, text, hlen, h));
    *data_offset = (long long)pre_len + hlen;
fail:
    free(text);
    return st;
}

static ecc_status check_size(ecc_ctx *ctx, int64_t file_size, const ecc_data_stream *s,
                             long long data_offset) {
    size_t want = s->sample_bytes * (size_t)s->dims[0]; /* checked by stream_finish */
    unsigned long long have = (unsigned long long)file_size - (unsigned long long)data_offset;
    if (file_size < data_offset || have < want)
        return ecc_ctx_error(ctx, ECC_E_INPUT,
                             "truncated: the header promises %zu bytes of data, the file has %llu",
                             want, file_size < data_offset ? 0ULL : have);
    if (have > want)
        return ecc_ctx_error(ctx, ECC_E_INPUT, "%llu bytes of unexpected data after the array",
                             have - want);
    return ECC_OK;
}

ecc_status ecc_data_open_npy(ecc_ctx *ctx, const char *path, ecc_data_stream **out) {
    ecc_status st = ECC_OK;
    ecc_data_stream *s = NULL;
    npy_state *ns = NULL;
    npy_header h = {0};
    *out = NULL;
    ecc_ctx_set_subject(ctx, path);
    ECC_TRY(ecc_data_stream_new(ctx, path, &npy_ops, &s));
    ns = calloc(1, sizeof *ns);
    ECC_FAIL_IF(!ns, ctx, ECC_E_INTERNAL, "out of memory");
    s->state = ns;
    int64_t file_size = 0;
    ECC_TRY(ecc_input_fopen(ctx, path, &ns->fp, &file_size));
    ECC_TRY(read_header(ctx, ns->fp, &h, &ns->data_offset));
    ECC_TRY(parse_descr(ctx, h.descr, &s->dtype, &ns->swap_size));
    ECC_FAIL_IF(h.fortran, ctx, ECC_E_INPUT,
                "Fortran-order arrays are not supported (save with np.ascontiguousarray)");
    s->rank = h.rank ? h.rank : 1;
    s->dims[0] = 1;
    memcpy(s->dims, h.dims, sizeof(int64_t) * (size_t)h.rank);
    ECC_TRY(ecc_data_stream_finish(ctx, s));
    ECC_TRY(check_size(ctx, file_size, s, ns->data_offset));
    *out = s;
    return ECC_OK;
fail:
    ecc_data_close(s);
    return st;
}

/* ---------------- writer ---------------- */

struct ecc_npy_writer {
    ecc_atomic_file f;
    int32_t dtype;
    int32_t rank; /* -1 until the first append */
    int64_t dims[ECC_MAX_RANK];
    bool scalar_written;
};

ecc_status ecc_npy_writer_open(ecc_ctx *ctx, const char *path, ecc_npy_writer **out) {
    ecc_status st = ECC_OK;
    ecc_npy_writer *w = calloc(1, sizeof *w);
    static const char zeros[NPY_WRITER_HEADER];
    *out = NULL;
    ecc_ctx_set_subject(ctx, path);
    ECC_FAIL_IF(!w, ctx, ECC_E_INTERNAL, "out of memory");
    w->rank = -1;
    ECC_TRY(ecc_atomic_open(ctx, path, &w->f));
    ECC_FAIL_IF(fwrite(zeros, 1, sizeof zeros, w->f.fp) != sizeof zeros, ctx, ECC_E_INTERNAL,
                "write failed: %s", strerror(errno));
    *out = w;
    return ECC_OK;
fail:
    ecc_npy_writer_abort(w);
    return st;
}

static ecc_status writer_check(ecc_ctx *ctx, ecc_npy_writer *w, const ecc_rt_tensor *t) {
    if (!ecc_npy_descr(t->dtype))
        return ecc_ctx_error(ctx, ECC_E_INPUT, "element type %s cannot be stored in .npy",
                             ecc_dtype_name(t->dtype));
    if (w->rank < 0) {
        w->dtype = t->dtype;
        w->rank = t->rank;
        memcpy(w->dims, t->dims, sizeof w->dims);
        if (t->rank > 0) w->dims[0] = 0;
        return ECC_OK;
    }
    bool same = w->dtype == t->dtype && w->rank == t->rank && t->rank > 0;
    for (int32_t i = 1; same && i < t->rank; i++) same = w->dims[i] == t->dims[i];
    if (!same)
        return ecc_ctx_error(ctx, ECC_E_INPUT,
                             "batches disagree in type or shape beyond the first axis");
    return ECC_OK;
}

ecc_status ecc_npy_writer_append(ecc_ctx *ctx, ecc_npy_writer *w, const ecc_rt_tensor *t) {
    ecc_status st = ECC_OK;
    ecc_ctx_set_subject(ctx, w->f.final_path);
    ECC_FAIL_IF(w->scalar_written, ctx, ECC_E_INPUT, "a scalar output cannot be concatenated");
    ECC_TRY(writer_check(ctx, w, t));
    if (t->rank == 0) w->scalar_written = true;
    else ECC_FAIL_IF(!ecc_add_i64(w->dims[0], t->dims[0], &w->dims[0]), ctx, ECC_E_INPUT,
                     "too many rows");
    ECC_FAIL_IF(t->nbytes && fwrite(t->data, 1, t->nbytes, w->f.fp) != t->nbytes, ctx,
                ECC_E_INTERNAL, "write failed: %s", strerror(errno));
fail:
    return st;
}

static ecc_status writer_header(ecc_ctx *ctx, ecc_npy_writer *w) {
    char h[NPY_WRITER_HEADER + 1];
    size_t hdr_len = NPY_WRITER_HEADER - 10;
    int n = snprintf(h + 10, sizeof h - 10, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                     ecc_npy_descr(w->dtype));
    for (int32_t i = 0; i < w->rank; i++)
        n += snprintf(h + 10 + n, sizeof h - 10 - (size_t)n, "%lld,%s", (long long)w->dims[i],
                      i + 1 < w->rank ? " " : "");
    n += snprintf(h + 10 + n, sizeof h - 10 - (size_t)n, "), }");
    if ((size_t)n >= hdr_len) return ecc_ctx_error(ctx, ECC_E_INTERNAL, ".npy header too long");
    memset(h + 10 + n, ' ', hdr_len - (size_t)n - 1);
    h[NPY_WRITER_HEADER - 1] = '\n';
    memcpy(h, NPY_MAGIC "\x01\x00", 8);
    h[8] = (char)(hdr_len & 0xff);
    h[9] = (char)(hdr_len >> 8);
    if (fseek(w->f.fp, 0, SEEK_SET) != 0 || fwrite(h, 1, NPY_WRITER_HEADER, w->f.fp) !=
                                                NPY_WRITER_HEADER)
        return ecc_ctx_error(ctx, ECC_E_INTERNAL, "write failed: %s", strerror(errno));
    return ECC_OK;
}

ecc_status ecc_npy_writer_commit(ecc_ctx *ctx, ecc_npy_writer *w) {
    ecc_status st = ECC_OK;
    ecc_ctx_set_subject(ctx, w->f.final_path);
    ECC_FAIL_IF(w->rank < 0, ctx, ECC_E_INTERNAL, "nothing was written");
    ECC_TRY(writer_header(ctx, w));
    st = ecc_atomic_commit(ctx, &w->f);
    free(w);
    return st;
fail:
    ecc_npy_writer_abort(w);
    return st;
}

void ecc_npy_writer_abort(ecc_npy_writer *w) {
    if (!w) return;
    ecc_atomic_abort(&w->f);
    free(w);
}
