/* artifact_internal.h — libecc's side of the .ecc artifact (internal API of
 * formats/artifact): choosing and building tensor encodings (encode.c),
 * writing an artifact from a model (artifact_writer.c), restoring a model
 * from one (artifact_reader.c), verify and inspect (artifact_inspect.c), the
 * format dispatch behind ecc_model_read/ecc_model_write (model_io.c) and
 * the source model's SHA-256 (libmd).
 * The container itself is parsed by the stand-alone loader (ecc_load.c). */
#ifndef ECC_ARTIFACT_INTERNAL_H
#define ECC_ARTIFACT_INTERNAL_H

#include "ecc_load.h"
#include "ir.h"

#include <sha2.h>

#define ECC_ART_DEFAULT_LEVEL 12
#define ECC_ART_MAX_LEVEL 22

/* ---------------- encode.c ---------------- */

/* One tensor to encode, as symbols (each element's stored bits). */
typedef struct ecc_art_src {
    const char *name;
    int32_t dtype;             /* element type as restored */
    int32_t rank;
    const int64_t *dims;
    int64_t numel;
    uint8_t repr;              /* ECC_ART_REPR_RAW or ECC_ART_REPR_QUANT */
    const uint64_t *sym;       /* numel symbols */
    /* QUANT */
    uint8_t granularity, axis, flags; /* flags: ECC_ART_EF_* */
    uint32_t block_size;
    int32_t scale_dtype;
    const uint8_t *scales;     /* n_scales scales of scale_dtype, little-endian bytes */
    const uint64_t *zero_points; /* n_scales symbols (flags has ECC_ART_EF_ZERO_POINT) */
    int64_t n_scales;
} ecc_art_src;

/* The chosen encoding: the entry (offset and name_offset left 0) and its frame. */
typedef struct ecc_art_enc {
    ecc_art_entry e;
    uint8_t *frame;            /* malloc'd zstd frame, e.comp_size bytes */
} ecc_art_enc;

typedef struct ecc_art_encoder ecc_art_encoder;
ecc_status ecc_art_encoder_create(ecc_ctx *ctx, int level, ecc_art_encoder **out);
void ecc_art_encoder_free(ecc_art_encoder *enc); /* NULL is a no-op */
/* Tries every applicable representation × layout, compresses the smallest
 * candidates and keeps the smallest frame. out->frame is owned by the caller. */
ecc_status ecc_art_encode(ecc_ctx *ctx, ecc_art_encoder *enc, const ecc_art_src *src,
                          ecc_art_enc *out);
/* One zstd frame (checksum on) of n bytes; *out malloc'd. */
ecc_status ecc_art_compress(ecc_ctx *ctx, ecc_art_encoder *enc, const void *p, size_t n,
                            uint8_t **out, size_t *out_size);
/* Scale index of every element (granularity, axis, block of src): out[numel]. */
void ecc_art_scale_index(const ecc_art_src *src, uint64_t *out);

/* ---------------- artifact_writer.c, artifact_reader.c, artifact_inspect.c ---------------- */

/* Writes the artifact of model to fp (opts as for ecc_model_write). */
ecc_status ecc_artifact_write_stream(ecc_ctx *ctx, const ecc_model *model,
                                     const ecc_write_options *opts, FILE *fp);
/* Writes atomically to path. */
ecc_status ecc_artifact_write_file(ecc_ctx *ctx, const ecc_model *model, const char *path,
                                   const ecc_write_options *opts);
/* Restores a model from an artifact in memory (buf is only borrowed).
 * display_name is the ctx subject (may be NULL). */
ecc_status ecc_artifact_read_buffer(ecc_ctx *ctx, const void *buf, size_t len,
                                    const char *display_name,
                                    const ecc_artifact_read_options *opts, ecc_model **out);
/* ecc_artifact_verify on a buffer (fuzzing, tests). */
ecc_status ecc_artifact_verify_buffer(ecc_ctx *ctx, const void *buf, size_t len,
                                      const char *display_name, FILE *out);

/* Maps a whole file read-only (*out_len bytes; unmap with ecc_art_unmap). */
ecc_status ecc_art_map(ecc_ctx *ctx, const char *path, const uint8_t **out, size_t *out_len);
void ecc_art_unmap(const uint8_t *p, size_t len);
/* Loader return code → ecc_status with the loader's message on ctx. */
ecc_status ecc_art_load_status(ecc_ctx *ctx, const ecc_loader *L, int rc);

/* ---------------- SHA-256 (libmd) ---------------- */

typedef SHA2_CTX ecc_sha256;
static inline void ecc_sha256_init(ecc_sha256 *s) { SHA256Init(s); }
static inline void ecc_sha256_update(ecc_sha256 *s, const void *p, size_t n) {
    SHA256Update(s, p, n);
}
static inline void ecc_sha256_final(ecc_sha256 *s, uint8_t out[32]) { SHA256Final(out, s); }

#endif
