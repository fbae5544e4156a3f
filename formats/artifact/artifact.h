/* artifact.h — the .ecc deployment artifact, format version 1.0.
 *
 * Plain C99 with <stdint.h> only: libecc's writer and reader and the
 * stand-alone loader (ecc_load.{h,c}, which embedded code builds against
 * libzstd alone) share these definitions. docs/artifact.md has the same
 * specification with examples. Every enum below is append-only: a value once
 * written is never renumbered or reused.
 *
 * FILE LAYOUT (integers little-endian; offsets count from the start of the file)
 *
 *   0            header        64 bytes (ecc_art_header)
 *   64 …         frames        one zstd frame per entry of the directory, each
 *                              starting at a multiple of 64 (ECC_ART_ALIGN); every
 *                              byte between frames is zero
 *   D            directory     n entries of 128 bytes (ecc_art_entry); D is a
 *                              multiple of 64
 *   D + 128·n    string table  the entries' names, each followed by one NUL byte
 *   size − 64    footer        64 bytes (ecc_art_footer); size is the file size
 *
 * Header and footer carry a CRC-32 (IEEE 802.3, as zlib's crc32) of their
 * first 60 bytes; the footer also carries the CRC-32 of directory + string
 * table. Every frame is an independently decodable zstd frame written with
 * zstd's content checksum and content size, so a loader can fetch, check and
 * decode one entry alone. Readers refuse a different major version, unknown
 * header flags, unknown enum values, non-zero reserved bytes and every
 * offset, length or count that does not fit.
 *
 * ENTRIES — the directory lists, by kind (ecc_art_kind):
 *   METADATA  one frame of key/value records: u32 key length, key bytes,
 *             u32 value length, value bytes (UTF-8, no NULs). Keys written
 *             by ecc: producer, pipeline, source_sha256, source_bytes,
 *             ir_version, opsets ("domain:version" joined by ','), graph_format.
 *   GRAPH     one frame holding the ONNX ModelProto with the data of every
 *             stored initializer removed: each such initializer is a
 *             TensorProto of its data type with dims [0] (a placeholder).
 *   TENSOR    one main-graph initializer, named like it. The graph holds its
 *             placeholder (see QUANT for the extra ones).
 * Entries appear in file order of their frames, without overlap.
 *
 * TENSOR PAYLOAD — the decompressed frame is the concatenation of up to three
 * parts, each zero-padded to a multiple of 8 bytes:
 *   1. parameters   QUANT: the scales (n_scales values in scale_store form),
 *                   then, with ECC_ART_EF_ZERO_POINT, the zero points (n_scales
 *                   values packed at `bits`); CODEBOOK: codebook_size values of
 *                   the element type; RAW: nothing.
 *   2. positions    BITMASK: one bit per element (element i is bit i%8 of byte
 *                   i/8; 1 = stored); N:M: `count` indices of width
 *                   ceil(log2 nm_m) bits; DENSE: nothing.
 *   3. values       `count` symbols packed at `bits` bits.
 * Packing: symbol k occupies bits [k·w, (k+1)·w) of its part, least
 * significant bit first (4-bit values: low nibble first, as ONNX int4;
 * 8/16/32/64-bit values: plain little-endian arrays). Unused bits are zero.
 * With ECC_ART_EF_BYTE_PLANES (RAW entries of 16/32/64-bit elements) the
 * values part holds byte planes instead: byte j of symbol k is at
 * j·count + k (exponent bytes together compress better and decode faster).
 *
 * A symbol is an element's stored bits: RAW the element itself (dtype width),
 * QUANT the integer (4 or 8 bits, two's complement for signed types),
 * CODEBOOK an index < codebook_size. Elements a sparse layout does not store
 * are "implicit": all-zero bits for RAW and CODEBOOK, the element's zero
 * point (0 without zero points) for QUANT — i.e. exactly 0.0 after
 * dequantization.
 *
 * Layouts (ecc_art_layout):
 *   DENSE    count = numel, symbols in element order (C order).
 *   BITMASK  count = number of set bits; symbols of the set elements in order.
 *   NM       along axis nm_axis, each run of nm_m consecutive elements (the
 *            other coordinates fixed) is a group; groups are visited in C
 *            order of (outer, run, inner) and each stores exactly nm_n
 *            (index, symbol) pairs with distinct indices < nm_m; count =
 *            numel / nm_m * nm_n. Unlisted positions are implicit. A group
 *            with fewer non-zeros pads with implicit positions storing their
 *            own symbol (RAW, QUANT); a CODEBOOK entry cannot (zero has no
 *            index), so writers use N:M there only when every group is full.
 *
 * QUANT (DequantizeLinear semantics: y = (q − zero_point) · scale in float32):
 *   granularity TENSOR: one scale; CHANNEL: dims[axis] scales; BLOCK: the
 *   element dims with dims[axis] replaced by ceil(dims[axis] / block_size),
 *   C order. Element (…, d, …) uses the scale of (…, d / block_size, …).
 *   scale_dtype is the ONNX type of the scales as restored (float32, float16,
 *   bfloat16); scale_store says how they are stored (as is, or float32 scales
 *   that float16/bfloat16 represent exactly). Restoring (ONNX): without
 *   ECC_ART_EF_INSERT_DQ the graph has a DequantizeLinear reading this tensor
 *   as input 0, whose scale (input 1) and zero point (input 2) are
 *   placeholders filled from this entry; with it the placeholder is the float
 *   weight itself and the reader inserts that DequantizeLinear (scale rank:
 *   0 with ECC_ART_EF_SCALAR_SCALE for TENSOR, 1 for CHANNEL, the element
 *   rank for BLOCK).
 *
 * Which encoding an entry uses is the writer's choice (the smallest after
 * compression); a reader handles every combination of repr × layout.
 */
#ifndef ECC_ARTIFACT_H
#define ECC_ARTIFACT_H

#include <stdint.h>

/* C99-compatible static assertion (file scope). */
#define ECC_ART_STATIC_ASSERT(cond, name) typedef char ecc_art_assert_##name[(cond) ? 1 : -1]

#define ECC_ART_MAGIC "\x89" "ECC\r\n\x1a\n"   /* 8 bytes, PNG-style */
#define ECC_ART_FOOTER_MAGIC "ECC-END\0"       /* 8 bytes */
#define ECC_ART_VERSION_MAJOR 1
#define ECC_ART_VERSION_MINOR 0
#define ECC_ART_ALIGN 64
#define ECC_ART_HEADER_SIZE 64
#define ECC_ART_FOOTER_SIZE 64
#define ECC_ART_ENTRY_SIZE 128
#define ECC_ART_MAX_RANK 8
#define ECC_ART_MAX_NM_M 64            /* N:M groups of at most 64 */
#define ECC_ART_MAX_CODEBOOK 256       /* codebook indices of at most 8 bits */

/* Header flags: none defined in 1.0; a reader refuses unknown bits. */
#define ECC_ART_HF_KNOWN 0u

/* ---- enums: X(ENUM, id, "name") — append-only ---- */

#define ECC_ART_KINDS(X)                                                  \
    X(TENSOR, 0, "tensor")                                                \
    X(METADATA, 1, "metadata")                                            \
    X(GRAPH, 2, "graph")

/* How each stored symbol represents an element. */
#define ECC_ART_REPRS(X)                                                  \
    X(RAW, 0, "raw")           /* the element's own bits */               \
    X(QUANT, 1, "int")         /* integer + scales (+ zero points) */     \
    X(CODEBOOK, 2, "codebook") /* index into a per-tensor codebook */

/* Which elements are stored. */
#define ECC_ART_LAYOUTS(X)                                                \
    X(DENSE, 0, "dense")                                                  \
    X(BITMASK, 1, "bitmask")                                              \
    X(NM, 2, "n:m")

/* QUANT granularity (same numbers as ecc_quant_gran in compress/ir.h). */
#define ECC_ART_GRANS(X)                                                  \
    X(TENSOR, 0, "tensor")                                                \
    X(CHANNEL, 1, "channel")                                              \
    X(BLOCK, 2, "block")

/* How QUANT scales are stored: X(ENUM, id, "name", bytes per scale; 0 = those of scale_dtype) */
#define ECC_ART_SCALE_STORES(X)                                           \
    X(ASIS, 0, "as-is", 0)    /* scale_dtype's own bytes */               \
    X(F16, 1, "f16", 2)       /* float32 scales float16 holds exactly */  \
    X(BF16, 2, "bf16", 2)     /* float32 scales bfloat16 holds exactly */

#define ECC_ART_X_ENUM(pfx, e, id) ECC_ART_##pfx##_##e = id,
typedef enum ecc_art_kind {
#define X(e, id, name) ECC_ART_X_ENUM(KIND, e, id)
    ECC_ART_KINDS(X)
#undef X
    ECC_ART_KIND_COUNT
} ecc_art_kind;
typedef enum ecc_art_repr {
#define X(e, id, name) ECC_ART_X_ENUM(REPR, e, id)
    ECC_ART_REPRS(X)
#undef X
    ECC_ART_REPR_COUNT
} ecc_art_repr;
typedef enum ecc_art_layout {
#define X(e, id, name) ECC_ART_X_ENUM(LAYOUT, e, id)
    ECC_ART_LAYOUTS(X)
#undef X
    ECC_ART_LAYOUT_COUNT
} ecc_art_layout;
typedef enum ecc_art_gran {
#define X(e, id, name) ECC_ART_X_ENUM(GRAN, e, id)
    ECC_ART_GRANS(X)
#undef X
    ECC_ART_GRAN_COUNT
} ecc_art_gran;
typedef enum ecc_art_scale_store {
#define X(e, id, name, bytes) ECC_ART_X_ENUM(SCALE, e, id)
    ECC_ART_SCALE_STORES(X)
#undef X
    ECC_ART_SCALE_COUNT
} ecc_art_scale_store;

/* Entry flags (ecc_art_entry.flags); a reader refuses unknown bits. */
#define ECC_ART_EF_ZERO_POINT 0x01u   /* QUANT: zero points are stored */
#define ECC_ART_EF_INSERT_DQ 0x02u    /* QUANT: restoring inserts the DequantizeLinear */
#define ECC_ART_EF_SCALAR_SCALE 0x04u /* QUANT, TENSOR: the scale has rank 0 (else [1]) */
#define ECC_ART_EF_BYTE_PLANES 0x08u  /* RAW, 16/32/64-bit values: stored as byte planes */
#define ECC_ART_EF_KNOWN 0x0fu

/* ONNX element types the format names (TensorProto.DataType). */
#define ECC_ART_DT_FLOAT 1
#define ECC_ART_DT_UINT8 2
#define ECC_ART_DT_INT8 3
#define ECC_ART_DT_FLOAT16 10
#define ECC_ART_DT_BFLOAT16 16
#define ECC_ART_DT_UINT4 21
#define ECC_ART_DT_INT4 22

/* ---- on-disk records ----
 * Fields are listed in file order at their natural alignment, so offsetof()
 * of each field is its byte offset on disk (checked below and used by the
 * loader's decoder); values are little-endian on disk whatever the host. */

typedef struct ecc_art_header {
    uint8_t magic[8];        /* ECC_ART_MAGIC */
    uint16_t major, minor;   /* ECC_ART_VERSION_*; readers refuse another major */
    uint32_t flags;          /* ECC_ART_HF_* */
    uint32_t header_size;    /* 64 */
    uint32_t entry_size;     /* 128 */
    uint32_t align;          /* 64 */
    uint8_t reserved[32];    /* zero */
    uint32_t crc;            /* CRC-32 of bytes 0..59 */
} ecc_art_header;

typedef struct ecc_art_entry {
    uint64_t offset;         /* first byte of the frame; a multiple of 64 */
    uint64_t comp_size;      /* bytes of the zstd frame */
    uint64_t raw_size;       /* bytes of the decompressed payload */
    uint64_t count;          /* symbols stored (values part) */
    uint32_t name_offset;    /* into the string table */
    uint16_t name_len;       /* without the NUL; 0 for METADATA and GRAPH */
    uint16_t codebook_size;  /* CODEBOOK: 1..2^bits */
    int32_t dtype;           /* ONNX element type of the tensor as restored */
    int32_t scale_dtype;     /* QUANT: ONNX type of the scales */
    uint32_t block_size;     /* QUANT BLOCK: elements per block along axis */
    uint8_t kind;            /* ecc_art_kind */
    uint8_t repr;            /* ecc_art_repr */
    uint8_t layout;          /* ecc_art_layout */
    uint8_t rank;            /* <= 8 */
    uint8_t bits;            /* width of a value symbol */
    uint8_t granularity;     /* QUANT: ecc_art_gran */
    uint8_t axis;            /* QUANT CHANNEL/BLOCK: the axis */
    uint8_t scale_store;     /* QUANT: ecc_art_scale_store */
    uint8_t nm_n, nm_m;      /* NM: nm_n stored of every nm_m */
    uint8_t nm_axis;         /* NM: the axis groups run along */
    uint8_t flags;           /* ECC_ART_EF_* */
    int64_t dims[ECC_ART_MAX_RANK]; /* rank entries, the rest zero */
} ecc_art_entry;

typedef struct ecc_art_footer {
    uint64_t directory_offset; /* D */
    uint64_t file_size;        /* total bytes, footer included */
    uint32_t n_entries;
    uint32_t strings_size;     /* bytes of the string table */
    uint32_t directory_crc;    /* CRC-32 of directory + string table */
    uint8_t reserved[24];      /* zero */
    uint8_t magic[8];          /* ECC_ART_FOOTER_MAGIC */
    uint32_t crc;              /* CRC-32 of bytes 0..59 */
} ecc_art_footer;

ECC_ART_STATIC_ASSERT(sizeof(ecc_art_header) == ECC_ART_HEADER_SIZE, header_size);
ECC_ART_STATIC_ASSERT(sizeof(ecc_art_entry) == ECC_ART_ENTRY_SIZE, entry_size);
ECC_ART_STATIC_ASSERT(sizeof(ecc_art_footer) == ECC_ART_FOOTER_SIZE, footer_size);

#endif
