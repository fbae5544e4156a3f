/* ecc_load.h — a small loader for .ecc artifacts, for embedded code.
 *
 * C99 and libzstd only: copy ecc_load.h, ecc_load.c and artifact.h into a
 * project and build with `cc -std=c99 … ecc_load.c -lzstd`.
 *
 * MEMORY: the loader never allocates. The caller provides
 *   - the ecc_loader struct (any storage: stack, static, heap);
 *   - a workspace of ecc_load_workspace_size() bytes, 8-byte aligned, for
 *     zstd's decompression context (zstd's static-context API: no malloc);
 *   - per decode, the output buffer and a scratch buffer of the size
 *     ecc_load_info reports (ecc_load_max_scratch() covers every entry).
 * A file source is read with fseek/fread on the caller's FILE (set its
 * buffer with setvbuf to keep stdio from allocating one). A memory source
 * is only borrowed and must stay valid while the loader is used.
 *
 * SAFETY: opening checks the header, the footer, the directory checksum
 * and every entry's fields, offsets and sizes; decoding checks zstd's frame
 * checksum and every index, count and padding in the payload. A corrupt or
 * truncated artifact gives ECC_LOAD_E_FORMAT with a message naming the
 * entry and the problem (ecc_load_error), never a read out of bounds.
 * Functions are reentrant for distinct loaders; one loader is not
 * thread-safe (decoding uses its zstd context and, for files, its FILE).
 */
#ifndef ECC_LOAD_H
#define ECC_LOAD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "artifact.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Return codes (the same numbers as the ecc CLI's exit codes where they overlap). */
#define ECC_LOAD_OK 0
#define ECC_LOAD_E_USAGE 1     /* bad argument: buffer too small, index out of range */
#define ECC_LOAD_E_FORMAT 2    /* not an artifact, corrupt, truncated or unsupported */
#define ECC_LOAD_E_IO 3        /* read or seek failure */
#define ECC_LOAD_E_NOT_FOUND 4 /* ecc_load_find: no entry of that name */

#define ECC_LOAD_NAME_MAX 256  /* names copied for file sources (longer ones truncated) */

/* What ecc_load_decode writes. */
typedef enum ecc_load_what {
    ECC_LOAD_STORED = 0,      /* the tensor in its element type (ONNX layout; int4
                                 packed two per byte, low nibble first): integers for
                                 QUANT, the element values for RAW and CODEBOOK */
    ECC_LOAD_FLOAT32 = 1,     /* float32: dequantized for QUANT, converted otherwise
                                 (float16, bfloat16, float64, integer and bool types) */
    ECC_LOAD_SCALES = 2,      /* QUANT: n_scales scales in scale_dtype */
    ECC_LOAD_ZERO_POINTS = 3, /* QUANT with zero points: n_scales values in dtype */
    ECC_LOAD_PAYLOAD = 4,     /* the decompressed frame as stored (METADATA, GRAPH) */
} ecc_load_what;

/* The loader. Fields are private; the struct is public so the caller can
 * provide its storage. */
typedef struct ecc_loader {
    const uint8_t *mem;       /* memory source, or NULL */
    FILE *fp;                 /* file source, or NULL */
    uint64_t size;            /* artifact bytes */
    void *dctx;               /* ZSTD_DCtx in the caller's workspace */
    uint64_t dir_offset, strings_offset;
    uint32_t n_entries, strings_size;
    uint64_t max_scratch;
    char name[ECC_LOAD_NAME_MAX];
    char error[320];
} ecc_loader;

/* One directory entry with the sizes derived from it. */
typedef struct ecc_load_info {
    ecc_art_entry e;          /* the entry as stored (host byte order) */
    const char *name;         /* NUL-terminated: memory sources point into the buffer,
                                 file sources into the loader (valid until the next
                                 call; truncated to ECC_LOAD_NAME_MAX - 1 bytes) */
    int64_t numel;            /* elements (TENSOR) */
    uint64_t n_scales;        /* QUANT */
    uint64_t stored_bytes;    /* output size of ECC_LOAD_STORED */
    uint64_t float_bytes;     /* ECC_LOAD_FLOAT32: numel * 4 */
    uint64_t scales_bytes;    /* ECC_LOAD_SCALES */
    uint64_t zero_points_bytes; /* ECC_LOAD_ZERO_POINTS (0 without zero points) */
    uint64_t scratch_bytes;   /* scratch needed by any ecc_load_decode of this entry */
} ecc_load_info;

/* Bytes of workspace the loader needs (zstd's decompression context). */
size_t ecc_load_workspace_size(void);

/* Opens an artifact held in memory (data[0..size)), checking header, footer,
 * directory checksum and every entry. work: ecc_load_workspace_size() bytes,
 * 8-byte aligned, used until the loader is dropped. Nothing to close. */
int ecc_load_open_memory(ecc_loader *L, const void *data, size_t size, void *work,
                         size_t work_size);
/* Same for an open file (binary mode; read from offset 0; the loader seeks). */
int ecc_load_open_file(ecc_loader *L, FILE *fp, void *work, size_t work_size);

uint32_t ecc_load_count(const ecc_loader *L);          /* directory entries */
uint64_t ecc_load_max_scratch(const ecc_loader *L);    /* largest scratch_bytes */
/* Entry i (0 ≤ i < count). */
int ecc_load_info_at(ecc_loader *L, uint32_t i, ecc_load_info *out);
/* Index of the TENSOR entry named name; ECC_LOAD_E_NOT_FOUND if none. */
int ecc_load_find(ecc_loader *L, const char *name, uint32_t *index);
/* First entry of a kind (ECC_ART_KIND_METADATA, _GRAPH); ECC_LOAD_E_NOT_FOUND if none. */
int ecc_load_find_kind(ecc_loader *L, uint8_t kind, uint32_t *index);

/* Decodes entry i into out (out_size bytes, at least the size ecc_load_info
 * gives for `what`; 8-byte aligned for FLOAT32/SCALES) using scratch
 * (scratch_size >= info.scratch_bytes, 8-byte aligned; may be NULL when 0).
 * Checks the frame checksum and the payload. *written (may be NULL) gets
 * the bytes written. */
int ecc_load_decode(ecc_loader *L, uint32_t i, ecc_load_what what, void *out,
                    size_t out_size, void *scratch, size_t scratch_size, size_t *written);

/* The message of the last error ("entry 3 'fc1.weight': frame checksum mismatch"). */
const char *ecc_load_error(const ecc_loader *L);

/* Iterates METADATA records in a decoded payload: *pos starts at 0. Returns 1
 * with key/value (not NUL-terminated) set, 0 at the end, -1 if malformed. */
int ecc_load_meta_next(const void *payload, size_t size, size_t *pos, const char **key,
                       size_t *key_len, const char **value, size_t *value_len);

/* CRC-32 (IEEE, zlib's crc32): crc = ecc_load_crc32(0, p, n) and chained calls. */
uint32_t ecc_load_crc32(uint32_t crc, const void *p, size_t n);

/* Entry (de)serialisation (128 bytes) and table names, shared with libecc. */
void ecc_art_entry_read(const uint8_t p[ECC_ART_ENTRY_SIZE], ecc_art_entry *e);
void ecc_art_entry_write(const ecc_art_entry *e, uint8_t p[ECC_ART_ENTRY_SIZE]);
void ecc_art_header_write(const ecc_art_header *h, uint8_t p[ECC_ART_HEADER_SIZE]);
void ecc_art_footer_write(const ecc_art_footer *f, uint8_t p[ECC_ART_FOOTER_SIZE]);
const char *ecc_art_kind_name(unsigned kind);     /* "?" for unknown values */
const char *ecc_art_repr_name(unsigned repr);
const char *ecc_art_layout_name(unsigned layout);
const char *ecc_art_gran_name(unsigned gran);
const char *ecc_art_scale_store_name(unsigned store);
/* Bytes of one stored scale (0 for an unknown store or scale type). */
unsigned ecc_art_scale_store_bytes(unsigned store, int32_t scale_dtype);
/* Bits per element of the element types the format stores (0: not storable). */
unsigned ecc_art_dtype_bits(int32_t dtype);
/* s with control characters replaced by '?' (cut with "..." to fit size). */
const char *ecc_art_printable(const char *s, char *buf, size_t size);
/* Width of an N:M index: ceil(log2 m), at least 1. */
unsigned ecc_art_index_bits(unsigned m);
/* Payload parts of a TENSOR entry (byte offsets and sizes, each part padded
 * to 8) from its fields; 0 on overflow or invalid fields. */
typedef struct ecc_art_parts {
    uint64_t params, params_size;     /* scales (+ zero points) or codebook */
    uint64_t zero_points;             /* QUANT: offset of the zero points */
    uint64_t positions, positions_size;
    uint64_t values, values_size;
    uint64_t total;                   /* == raw_size for a valid entry */
    uint64_t n_scales;
    int64_t numel;
} ecc_art_parts;
int ecc_art_entry_parts(const ecc_art_entry *e, ecc_art_parts *out);

#ifdef __cplusplus
}
#endif
#endif
