/* data.h — dataset readers: every file kind becomes a stream of samples along
 * axis 0, read in batches (never more than asked for). Kinds: .npy, ONNX
 * TensorProto .pb files (test_data_set layout), IDX (plain or .gz) and folders
 * of PNG/JPEG images with preprocessing. Also the .npy writer that `ecc run`
 * streams outputs into. All input is hostile: sizes are overflow-checked and
 * every error names the file. Internal to libecc (the public face is the
 * "running models" section of ecc.h, calibrate/api.c). */
#ifndef ECC_DATA_H
#define ECC_DATA_H

#include "interp.h"

typedef struct ecc_data_stream ecc_data_stream;

typedef struct ecc_data_stream_ops {
    const char *kind; /* "npy", "pb", "idx", "images" */
    /* Reads the next n samples (n <= remaining) into dst (n * sample_bytes). */
    ecc_status (*read)(ecc_ctx *ctx, ecc_data_stream *s, int64_t n, void *dst);
    /* Back to the first sample. */
    ecc_status (*rewind)(ecc_ctx *ctx, ecc_data_stream *s);
    void (*close)(ecc_data_stream *s); /* frees state only */
} ecc_data_stream_ops;

/* One array read sample by sample: dims[0] is the sample count. A whole
 * stream (pb) is one tensor of any rank (rank 0 too): a read of n >= 1 copies
 * all of it (sample_bytes = its size) and counts as dims[0] (1 for rank 0)
 * samples. */
struct ecc_data_stream {
    const ecc_data_stream_ops *ops;
    char *path;           /* malloc'd: the file (or folder) read */
    char *name;           /* malloc'd tensor name (pb) or NULL */
    int32_t dtype;        /* ONNX element type produced */
    int32_t rank;         /* >= 1, except whole streams */
    int64_t dims[ECC_MAX_RANK];
    int64_t pos;          /* next sample */
    size_t sample_bytes;  /* bytes of one sample (dims[1..]) */
    bool whole;           /* one tensor, not a batchable sample axis (pb) */
    bool pixels;          /* uint8 pixels that may become float32 × scale */
    void *state;
};

/* Reads min(n, remaining) samples into dst; *got receives the count (whole
 * streams: everything, *got = sample count). */
ecc_status ecc_data_read(ecc_ctx *ctx, ecc_data_stream *s, int64_t n, void *dst, int64_t *got);
ecc_status ecc_data_rewind(ecc_ctx *ctx, ecc_data_stream *s);
void ecc_data_close(ecc_data_stream *s); /* NULL is a no-op */

/* ---- readers (each sets ctx subject to the path; *out owned by caller) ---- */
/* .npy v1-3: f2 f4 f8 i1 u1 i2 u2 i4 i8 u4 u8 b1, little or big endian, C order.
 * Fortran order, object/structured dtypes, a malformed header or a size
 * that does not match the file → ECC_E_INPUT. Rank 0 becomes [1]. */
ecc_status ecc_data_open_npy(ecc_ctx *ctx, const char *path, ecc_data_stream **out);
/* IDX (magic 0 0 type rank, big-endian u32 dims), gzip when the file starts
 * with 1f 8b. uint8 data is flagged as pixels. */
ecc_status ecc_data_open_idx(ecc_ctx *ctx, const char *path, ecc_data_stream **out);
/* One TensorProto file as a whole stream (whole = true). */
ecc_status ecc_data_open_pb(ecc_ctx *ctx, const char *path, ecc_data_stream **out);

/* Image preprocessing: decode → gray/RGB → resize (shorter side, bilinear)
 * → centre crop → x * scale → (x - mean) / std → NCHW or NHWC. */
typedef struct ecc_image_prep {
    int32_t channels;     /* 1 (gray) or 3 (RGB) */
    int32_t height, width;/* output size (crop) */
    int32_t resize;       /* shorter side before the crop; 0: none when the
                             image already has the output size, else the larger
                             of height/width */
    bool nhwc;
    bool raw;             /* uint8 output, no scale/mean/std */
    double scale;
    double mean[3], std[3];
} ecc_image_prep;
/* PNG/JPEG files of dir (by extension, sorted by name) as [N,C,H,W]/[N,H,W,C]. */
ecc_status ecc_data_open_images(ecc_ctx *ctx, const char *dir, const ecc_image_prep *prep,
                                ecc_data_stream **out);
/* True when dir holds at least one .png/.jpg/.jpeg file. */
bool ecc_data_dir_has_images(const char *dir);

/* ---- ONNX TensorProto (hand-rolled wire decoder, bounds-checked) ---- */
/* Decodes dims, data_type, name, raw_data and the typed fields. Segments,
 * external data and strings → ECC_E_INPUT. *out: refcount 1, caller unrefs. */
ecc_status ecc_pb_tensor_decode(ecc_ctx *ctx, const void *buf, size_t len, ecc_tensor **out);
/* Reads and decodes a .pb file (subject = path). */
ecc_status ecc_pb_tensor_read(ecc_ctx *ctx, const char *path, ecc_tensor **out);

/* ---- .npy writer: rows appended batch by batch, header finalised at commit,
 * written atomically (temp file, fsync, rename) ---- */
typedef struct ecc_npy_writer ecc_npy_writer;
ecc_status ecc_npy_writer_open(ecc_ctx *ctx, const char *path, ecc_npy_writer **out);
/* Appends an array; its dims[1..] and dtype must match earlier ones (the first
 * call fixes them). Rank 0 arrays may only be written once. */
ecc_status ecc_npy_writer_append(ecc_ctx *ctx, ecc_npy_writer *w, const ecc_rt_tensor *t);
/* Writes the final header and renames into place; frees w. */
ecc_status ecc_npy_writer_commit(ecc_ctx *ctx, ecc_npy_writer *w);
void ecc_npy_writer_abort(ecc_npy_writer *w); /* removes the temp file; NULL no-op */

/* The npy descr ("<f4") of an ONNX type, or NULL when npy cannot hold it. */
const char *ecc_npy_descr(int32_t dtype);

/* Shared helper: allocates a stream with path copied and ops set. */
ecc_status ecc_data_stream_new(ecc_ctx *ctx, const char *path, const ecc_data_stream_ops *ops,
                               ecc_data_stream **out);
/* Fills sample_bytes from dtype and dims (overflow-checked). */
ecc_status ecc_data_stream_finish(ecc_ctx *ctx, ecc_data_stream *s);

#endif
