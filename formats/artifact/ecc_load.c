/* ecc_load.c — the stand-alone .ecc loader (see ecc_load.h, artifact.h):
 * little-endian record (de)serialisation, CRC-32, entry validation, opening
 * from memory or a FILE, and decoding one entry into caller memory with zstd's
 * static decompression context. C99 + libzstd only; no allocation. libecc's
 * reader, verifier and inspector are built on it. */
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_estimateDCtxSize, ZSTD_initStaticDCtx */
#include "ecc_load.h"

#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <zstd.h>

/* ---------------- little-endian bytes ---------------- */

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | (unsigned)p[1] << 8); }
static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static void wr16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static void wr32(uint8_t *p, uint32_t v) {
    wr16(p, (uint16_t)v);
    wr16(p + 2, (uint16_t)(v >> 16));
}
static void wr64(uint8_t *p, uint64_t v) {
    wr32(p, (uint32_t)v);
    wr32(p + 4, (uint32_t)(v >> 32));
}

/* ---------------- CRC-32 (IEEE 802.3, reflected 0xEDB88320) ---------------- */

static const uint32_t crc_table[256] = {
    0x00000000u, 0x77073096u, 0xee0e612cu, 0x990951bau, 0x076dc419u, 0x706af48fu,
    0xe963a535u, 0x9e6495a3u, 0x0edb8832u, 0x79dcb8a4u, 0xe0d5e91eu, 0x97d2d988u,
    0x09b64c2bu, 0x7eb17cbdu, 0xe7b82d07u, 0x90bf1d91u, 0x1db71064u, 0x6ab020f2u,
    0xf3b97148u, 0x84be41deu, 0x1adad47du, 0x6ddde4ebu, 0xf4d4b551u, 0x83d385c7u,
    0x136c9856u, 0x646ba8c0u, 0xfd62f97au, 0x8a65c9ecu, 0x14015c4fu, 0x63066cd9u,
    0xfa0f3d63u, 0x8d080df5u, 0x3b6e20c8u, 0x4c69105eu, 0xd56041e4u, 0xa2677172u,
    0x3c03e4d1u, 0x4b04d447u, 0xd20d85fdu, 0xa50ab56bu, 0x35b5a8fau, 0x42b2986cu,
    0xdbbbc9d6u, 0xacbcf940u, 0x32d86ce3u, 0x45df5c75u, 0xdcd60dcfu, 0xabd13d59u,
    0x26d930acu, 0x51de003au, 0xc8d75180u, 0xbfd06116u, 0x21b4f4b5u, 0x56b3c423u,
    0xcfba9599u, 0xb8bda50fu, 0x2802b89eu, 0x5f058808u, 0xc60cd9b2u, 0xb10be924u,
    0x2f6f7c87u, 0x58684c11u, 0xc1611dabu, 0xb6662d3du, 0x76dc4190u, 0x01db7106u,
    0x98d220bcu, 0xefd5102au, 0x71b18589u, 0x06b6b51fu, 0x9fbfe4a5u, 0xe8b8d433u,
    0x7807c9a2u, 0x0f00f934u, 0x9609a88eu, 0xe10e9818u, 0x7f6a0dbbu, 0x086d3d2du,
    0x91646c97u, 0xe6635c01u, 0x6b6b51f4u, 0x1c6c6162u, 0x856530d8u, 0xf262004eu,
    0x6c0695edu, 0x1b01a57bu, 0x8208f4c1u, 0xf50fc457u, 0x65b0d9c6u, 0x12b7e950u,
    0x8bbeb8eau, 0xfcb9887cu, 0x62dd1ddfu, 0x15da2d49u, 0x8cd37cf3u, 0xfbd44c65u,
    0x4db26158u, 0x3ab551ceu, 0xa3bc0074u, 0xd4bb30e2u, 0x4adfa541u, 0x3dd895d7u,
    0xa4d1c46du, 0xd3d6f4fbu, 0x4369e96au, 0x346ed9fcu, 0xad678846u, 0xda60b8d0u,
    0x44042d73u, 0x33031de5u, 0xaa0a4c5fu, 0xdd0d7cc9u, 0x5005713cu, 0x270241aau,
    0xbe0b1010u, 0xc90c2086u, 0x5768b525u, 0x206f85b3u, 0xb966d409u, 0xce61e49fu,
    0x5edef90eu, 0x29d9c998u, 0xb0d09822u, 0xc7d7a8b4u, 0x59b33d17u, 0x2eb40d81u,
    0xb7bd5c3bu, 0xc0ba6cadu, 0xedb88320u, 0x9abfb3b6u, 0x03b6e20cu, 0x74b1d29au,
    0xead54739u, 0x9dd277afu, 0x04db2615u, 0x73dc1683u, 0xe3630b12u, 0x94643b84u,
    0x0d6d6a3eu, 0x7a6a5aa8u, 0xe40ecf0bu, 0x9309ff9du, 0x0a00ae27u, 0x7d079eb1u,
    0xf00f9344u, 0x8708a3d2u, 0x1e01f268u, 0x6906c2feu, 0xf762575du, 0x806567cbu,
    0x196c3671u, 0x6e6b06e7u, 0xfed41b76u, 0x89d32be0u, 0x10da7a5au, 0x67dd4accu,
    0xf9b9df6fu, 0x8ebeeff9u, 0x17b7be43u, 0x60b08ed5u, 0xd6d6a3e8u, 0xa1d1937eu,
    0x38d8c2c4u, 0x4fdff252u, 0xd1bb67f1u, 0xa6bc5767u, 0x3fb506ddu, 0x48b2364bu,
    0xd80d2bdau, 0xaf0a1b4cu, 0x36034af6u, 0x41047a60u, 0xdf60efc3u, 0xa867df55u,
    0x316e8eefu, 0x4669be79u, 0xcb61b38cu, 0xbc66831au, 0x256fd2a0u, 0x5268e236u,
    0xcc0c7795u, 0xbb0b4703u, 0x220216b9u, 0x5505262fu, 0xc5ba3bbeu, 0xb2bd0b28u,
    0x2bb45a92u, 0x5cb36a04u, 0xc2d7ffa7u, 0xb5d0cf31u, 0x2cd99e8bu, 0x5bdeae1du,
    0x9b64c2b0u, 0xec63f226u, 0x756aa39cu, 0x026d930au, 0x9c0906a9u, 0xeb0e363fu,
    0x72076785u, 0x05005713u, 0x95bf4a82u, 0xe2b87a14u, 0x7bb12baeu, 0x0cb61b38u,
    0x92d28e9bu, 0xe5d5be0du, 0x7cdcefb7u, 0x0bdbdf21u, 0x86d3d2d4u, 0xf1d4e242u,
    0x68ddb3f8u, 0x1fda836eu, 0x81be16cdu, 0xf6b9265bu, 0x6fb077e1u, 0x18b74777u,
    0x88085ae6u, 0xff0f6a70u, 0x66063bcau, 0x11010b5cu, 0x8f659effu, 0xf862ae69u,
    0x616bffd3u, 0x166ccf45u, 0xa00ae278u, 0xd70dd2eeu, 0x4e048354u, 0x3903b3c2u,
    0xa7672661u, 0xd06016f7u, 0x4969474du, 0x3e6e77dbu, 0xaed16a4au, 0xd9d65adcu,
    0x40df0b66u, 0x37d83bf0u, 0xa9bcae53u, 0xdebb9ec5u, 0x47b2cf7fu, 0x30b5ffe9u,
    0xbdbdf21cu, 0xcabac28au, 0x53b39330u, 0x24b4a3a6u, 0xbad03605u, 0xcdd70693u,
    0x54de5729u, 0x23d967bfu, 0xb3667a2eu, 0xc4614ab8u, 0x5d681b02u, 0x2a6f2b94u,
    0xb40bbe37u, 0xc30c8ea1u, 0x5a05df1bu, 0x2d02ef8du,
};

uint32_t ecc_load_crc32(uint32_t crc, const void *p, size_t n) {
    const uint8_t *b = p;
    crc = ~crc;
    for (size_t i = 0; i < n; i++) crc = crc_table[(crc ^ b[i]) & 0xffu] ^ (crc >> 8);
    return ~crc;
}

/* ---------------- tables ---------------- */

static const char *const kind_names[] = {
#define X(e, id, name) [id] = name,
    ECC_ART_KINDS(X)
#undef X
};
static const char *const repr_names[] = {
#define X(e, id, name) [id] = name,
    ECC_ART_REPRS(X)
#undef X
};
static const char *const layout_names[] = {
#define X(e, id, name) [id] = name,
    ECC_ART_LAYOUTS(X)
#undef X
};
static const char *const gran_names[] = {
#define X(e, id, name) [id] = name,
    ECC_ART_GRANS(X)
#undef X
};
static const struct {
    const char *name;
    unsigned bytes;
} scale_stores[] = {
#define X(e, id, name, bytes) [id] = {name, bytes},
    ECC_ART_SCALE_STORES(X)
#undef X
};
#define N_OF(a) (sizeof(a) / sizeof((a)[0]))
ECC_ART_STATIC_ASSERT(N_OF(kind_names) == ECC_ART_KIND_COUNT, kind_table);
ECC_ART_STATIC_ASSERT(N_OF(repr_names) == ECC_ART_REPR_COUNT, repr_table);
ECC_ART_STATIC_ASSERT(N_OF(layout_names) == ECC_ART_LAYOUT_COUNT, layout_table);
ECC_ART_STATIC_ASSERT(N_OF(gran_names) == ECC_ART_GRAN_COUNT, gran_table);
ECC_ART_STATIC_ASSERT(N_OF(scale_stores) == ECC_ART_SCALE_COUNT, scale_store_table);

const char *ecc_art_kind_name(unsigned v) { return v < N_OF(kind_names) ? kind_names[v] : "?"; }
const char *ecc_art_repr_name(unsigned v) { return v < N_OF(repr_names) ? repr_names[v] : "?"; }
const char *ecc_art_layout_name(unsigned v) {
    return v < N_OF(layout_names) ? layout_names[v] : "?";
}
const char *ecc_art_gran_name(unsigned v) { return v < N_OF(gran_names) ? gran_names[v] : "?"; }
const char *ecc_art_scale_store_name(unsigned v) {
    return v < N_OF(scale_stores) ? scale_stores[v].name : "?";
}

/* Bits per element of the ONNX element types the format stores, by type id
 * (TensorProto.DataType); 0 = not storable (undefined, string, complex128). */
static const uint8_t dtype_bits[] = {
    0, 32, 8, 8, 16, 16, 32, 64, 0, 8, 16, 64, 32, 64, 64, 0, 16, 8, 8, 8, 8, 4, 4, 4,
};

unsigned ecc_art_dtype_bits(int32_t dtype) {
    return dtype >= 0 && (size_t)dtype < N_OF(dtype_bits) ? dtype_bits[dtype] : 0;
}

static unsigned scale_dtype_bytes(int32_t t) {
    return t == ECC_ART_DT_FLOAT ? 4 : (t == ECC_ART_DT_FLOAT16 || t == ECC_ART_DT_BFLOAT16) ? 2 : 0;
}

unsigned ecc_art_scale_store_bytes(unsigned store, int32_t scale_dtype) {
    if (store >= N_OF(scale_stores) || !scale_dtype_bytes(scale_dtype)) return 0;
    if (store != ECC_ART_SCALE_ASIS && scale_dtype != ECC_ART_DT_FLOAT) return 0;
    return scale_stores[store].bytes ? scale_stores[store].bytes : scale_dtype_bytes(scale_dtype);
}

unsigned ecc_art_index_bits(unsigned m) {
    unsigned b = 1;
    while (b < 16 && (1u << b) < m) b++;
    return b;
}

/* ---------------- records ---------------- */

#define OFF(type, field) offsetof(type, field)

void ecc_art_entry_read(const uint8_t p[ECC_ART_ENTRY_SIZE], ecc_art_entry *e) {
    e->offset = rd64(p + OFF(ecc_art_entry, offset));
    e->comp_size = rd64(p + OFF(ecc_art_entry, comp_size));
    e->raw_size = rd64(p + OFF(ecc_art_entry, raw_size));
    e->count = rd64(p + OFF(ecc_art_entry, count));
    e->name_offset = rd32(p + OFF(ecc_art_entry, name_offset));
    e->name_len = rd16(p + OFF(ecc_art_entry, name_len));
    e->codebook_size = rd16(p + OFF(ecc_art_entry, codebook_size));
    e->dtype = (int32_t)rd32(p + OFF(ecc_art_entry, dtype));
    e->scale_dtype = (int32_t)rd32(p + OFF(ecc_art_entry, scale_dtype));
    e->block_size = rd32(p + OFF(ecc_art_entry, block_size));
    memcpy(&e->kind, p + OFF(ecc_art_entry, kind), 12); /* kind .. flags: 12 single bytes */
    for (int i = 0; i < ECC_ART_MAX_RANK; i++)
        e->dims[i] = (int64_t)rd64(p + OFF(ecc_art_entry, dims) + 8 * (size_t)i);
}

void ecc_art_entry_write(const ecc_art_entry *e, uint8_t p[ECC_ART_ENTRY_SIZE]) {
    wr64(p + OFF(ecc_art_entry, offset), e->offset);
    wr64(p + OFF(ecc_art_entry, comp_size), e->comp_size);
    wr64(p + OFF(ecc_art_entry, raw_size), e->raw_size);
    wr64(p + OFF(ecc_art_entry, count), e->count);
    wr32(p + OFF(ecc_art_entry, name_offset), e->name_offset);
    wr16(p + OFF(ecc_art_entry, name_len), e->name_len);
    wr16(p + OFF(ecc_art_entry, codebook_size), e->codebook_size);
    wr32(p + OFF(ecc_art_entry, dtype), (uint32_t)e->dtype);
    wr32(p + OFF(ecc_art_entry, scale_dtype), (uint32_t)e->scale_dtype);
    wr32(p + OFF(ecc_art_entry, block_size), e->block_size);
    memcpy(p + OFF(ecc_art_entry, kind), &e->kind, 12);
    for (int i = 0; i < ECC_ART_MAX_RANK; i++)
        wr64(p + OFF(ecc_art_entry, dims) + 8 * (size_t)i, (uint64_t)e->dims[i]);
}
ECC_ART_STATIC_ASSERT(OFF(ecc_art_entry, flags) - OFF(ecc_art_entry, kind) == 11, entry_bytes);
ECC_ART_STATIC_ASSERT(OFF(ecc_art_entry, dims) == 64, entry_dims);

static void header_read(const uint8_t *p, ecc_art_header *h) {
    memcpy(h->magic, p, 8);
    h->major = rd16(p + OFF(ecc_art_header, major));
    h->minor = rd16(p + OFF(ecc_art_header, minor));
    h->flags = rd32(p + OFF(ecc_art_header, flags));
    h->header_size = rd32(p + OFF(ecc_art_header, header_size));
    h->entry_size = rd32(p + OFF(ecc_art_header, entry_size));
    h->align = rd32(p + OFF(ecc_art_header, align));
    memcpy(h->reserved, p + OFF(ecc_art_header, reserved), sizeof h->reserved);
    h->crc = rd32(p + OFF(ecc_art_header, crc));
}

void ecc_art_header_write(const ecc_art_header *h, uint8_t p[ECC_ART_HEADER_SIZE]) {
    memcpy(p, h->magic, 8);
    wr16(p + OFF(ecc_art_header, major), h->major);
    wr16(p + OFF(ecc_art_header, minor), h->minor);
    wr32(p + OFF(ecc_art_header, flags), h->flags);
    wr32(p + OFF(ecc_art_header, header_size), h->header_size);
    wr32(p + OFF(ecc_art_header, entry_size), h->entry_size);
    wr32(p + OFF(ecc_art_header, align), h->align);
    memcpy(p + OFF(ecc_art_header, reserved), h->reserved, sizeof h->reserved);
    wr32(p + OFF(ecc_art_header, crc), ecc_load_crc32(0, p, OFF(ecc_art_header, crc)));
}
ECC_ART_STATIC_ASSERT(OFF(ecc_art_header, crc) == 60, header_crc);

static void footer_read(const uint8_t *p, ecc_art_footer *f) {
    f->directory_offset = rd64(p + OFF(ecc_art_footer, directory_offset));
    f->file_size = rd64(p + OFF(ecc_art_footer, file_size));
    f->n_entries = rd32(p + OFF(ecc_art_footer, n_entries));
    f->strings_size = rd32(p + OFF(ecc_art_footer, strings_size));
    f->directory_crc = rd32(p + OFF(ecc_art_footer, directory_crc));
    memcpy(f->reserved, p + OFF(ecc_art_footer, reserved), sizeof f->reserved);
    memcpy(f->magic, p + OFF(ecc_art_footer, magic), 8);
    f->crc = rd32(p + OFF(ecc_art_footer, crc));
}

void ecc_art_footer_write(const ecc_art_footer *f, uint8_t p[ECC_ART_FOOTER_SIZE]) {
    wr64(p + OFF(ecc_art_footer, directory_offset), f->directory_offset);
    wr64(p + OFF(ecc_art_footer, file_size), f->file_size);
    wr32(p + OFF(ecc_art_footer, n_entries), f->n_entries);
    wr32(p + OFF(ecc_art_footer, strings_size), f->strings_size);
    wr32(p + OFF(ecc_art_footer, directory_crc), f->directory_crc);
    memcpy(p + OFF(ecc_art_footer, reserved), f->reserved, sizeof f->reserved);
    memcpy(p + OFF(ecc_art_footer, magic), f->magic, 8);
    wr32(p + OFF(ecc_art_footer, crc), ecc_load_crc32(0, p, OFF(ecc_art_footer, crc)));
}
ECC_ART_STATIC_ASSERT(OFF(ecc_art_footer, crc) == 60, footer_crc);

/* ---------------- checked arithmetic ---------------- */

static int mul_u64(uint64_t a, uint64_t b, uint64_t *out) {
    if (a && b > UINT64_MAX / a) return 0;
    *out = a * b;
    return 1;
}
static int add_u64(uint64_t a, uint64_t b, uint64_t *out) {
    if (b > UINT64_MAX - a) return 0;
    *out = a + b;
    return 1;
}
/* Bytes of n symbols of w bits, padded to 8 bytes. */
static int packed8(uint64_t n, unsigned w, uint64_t *out) {
    uint64_t bits;
    if (!mul_u64(n, w, &bits) || !add_u64(bits, 63, &bits)) return 0;
    *out = bits / 64 * 8;
    return 1;
}
static uint64_t pad8(uint64_t n) { return (n + 7) / 8 * 8; }

/* ---------------- payload parts ---------------- */

#define MAX_NUMEL ((uint64_t)1 << 50)

static int entry_numel(const ecc_art_entry *e, int64_t *out) {
    uint64_t n = 1;
    if (e->rank > ECC_ART_MAX_RANK) return 0;
    for (unsigned i = 0; i < e->rank; i++) {
        if (e->dims[i] < 0 || !mul_u64(n, (uint64_t)e->dims[i], &n) || n > MAX_NUMEL) return 0;
    }
    *out = (int64_t)n;
    return 1;
}

/* outer × D × inner around `axis`. */
static void axis_split(const ecc_art_entry *e, unsigned axis, uint64_t *outer, uint64_t *d,
                       uint64_t *inner) {
    *outer = *inner = 1;
    for (unsigned i = 0; i < axis; i++) *outer *= (uint64_t)e->dims[i];
    for (unsigned i = axis + 1; i < e->rank; i++) *inner *= (uint64_t)e->dims[i];
    *d = (uint64_t)e->dims[axis];
}

static uint64_t quant_scales(const ecc_art_entry *e) {
    uint64_t outer, d, inner;
    switch (e->granularity) {
    case ECC_ART_GRAN_TENSOR: return 1;
    case ECC_ART_GRAN_CHANNEL: return (uint64_t)e->dims[e->axis];
    default:
        axis_split(e, e->axis, &outer, &d, &inner);
        return outer * ((d + e->block_size - 1) / e->block_size) * inner;
    }
}

int ecc_art_entry_parts(const ecc_art_entry *e, ecc_art_parts *p) {
    memset(p, 0, sizeof *p);
    if (!entry_numel(e, &p->numel)) return 0;
    unsigned dbits = ecc_art_dtype_bits(e->dtype);
    uint64_t a = 0, b = 0;
    if (e->repr == ECC_ART_REPR_QUANT) {
        unsigned sb = ecc_art_scale_store_bytes(e->scale_store, e->scale_dtype);
        if (!sb) return 0;
        p->n_scales = quant_scales(e);
        if (!mul_u64(p->n_scales, sb, &a)) return 0;
        a = pad8(a);
        if (e->flags & ECC_ART_EF_ZERO_POINT) {
            if (!packed8(p->n_scales, e->bits, &b)) return 0;
        }
        p->zero_points = a;
        if (!add_u64(a, b, &p->params_size)) return 0;
    } else if (e->repr == ECC_ART_REPR_CODEBOOK) {
        if (!packed8(e->codebook_size, dbits, &p->params_size)) return 0;
    }
    p->positions = p->params_size;
    if (e->layout == ECC_ART_LAYOUT_BITMASK) {
        if (!packed8((uint64_t)p->numel, 1, &p->positions_size)) return 0;
    } else if (e->layout == ECC_ART_LAYOUT_NM) {
        if (!packed8(e->count, ecc_art_index_bits(e->nm_m), &p->positions_size)) return 0;
    }
    if (!add_u64(p->positions, p->positions_size, &p->values)) return 0;
    if (!packed8(e->count, e->bits, &p->values_size)) return 0;
    return add_u64(p->values, p->values_size, &p->total);
}

/* ---------------- errors ---------------- */

static int fail(ecc_loader *L, int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(L->error, sizeof L->error, fmt, ap);
    va_end(ap);
    return code;
}

const char *ecc_art_printable(const char *s, char *buf, size_t size) {
    size_t n = 0;
    for (; s && *s && n + 4 < size; s++) buf[n++] = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
    if (s && *s && n + 4 <= size) {
        memcpy(buf + n, "...", 3);
        n += 3;
    }
    if (size) buf[n < size ? n : size - 1] = 0;
    return buf;
}

/* "entry 3 'fc1.weight'" or "entry 0 (metadata)" into buf (one line: control
 * characters of names become '?'). */
static const char *entry_label(const ecc_loader *L, uint32_t i, const ecc_art_entry *e,
                               const char *name, char *buf, size_t size) {
    char safe[200];
    (void)L;
    if (e->kind == ECC_ART_KIND_TENSOR && name)
        snprintf(buf, size, "entry %lu '%s'", (unsigned long)i, ecc_art_printable(name, safe, sizeof safe));
    else snprintf(buf, size, "entry %lu (%s)", (unsigned long)i, ecc_art_kind_name(e->kind));
    return buf;
}

const char *ecc_load_error(const ecc_loader *L) { return L->error; }

/* ---------------- reading the source ---------------- */

static int read_at(ecc_loader *L, uint64_t off, void *buf, size_t n) {
    uint64_t end;
    if (!add_u64(off, n, &end) || end > L->size)
        return fail(L, ECC_LOAD_E_FORMAT, "read of %lu bytes at %llu is past the end (%llu bytes)",
                    (unsigned long)n, (unsigned long long)off, (unsigned long long)L->size);
    if (L->mem) {
        if (n) memcpy(buf, L->mem + off, n);
        return ECC_LOAD_OK;
    }
    if (off > (uint64_t)LONG_MAX || fseek(L->fp, (long)off, SEEK_SET) != 0)
        return fail(L, ECC_LOAD_E_IO, "cannot seek to offset %llu", (unsigned long long)off);
    if (fread(buf, 1, n, L->fp) != n)
        return fail(L, ECC_LOAD_E_IO, "cannot read %lu bytes at offset %llu", (unsigned long)n,
                    (unsigned long long)off);
    return ECC_LOAD_OK;
}

static int read_entry(ecc_loader *L, uint32_t i, ecc_art_entry *e) {
    uint8_t buf[ECC_ART_ENTRY_SIZE];
    int rc = read_at(L, L->dir_offset + (uint64_t)i * ECC_ART_ENTRY_SIZE, buf, sizeof buf);
    if (rc == ECC_LOAD_OK) ecc_art_entry_read(buf, e);
    return rc;
}

/* Checks the name of e (inside the string table, NUL right after it, no NUL
 * inside) and makes *name point to it (memory) or to a copy (file). */
static int entry_name(ecc_loader *L, uint32_t i, const ecc_art_entry *e, const char **name) {
    uint64_t end = (uint64_t)e->name_offset + e->name_len;
    *name = "";
    if (end + 1 > L->strings_size)
        return fail(L, ECC_LOAD_E_FORMAT, "entry %lu: name outside the string table",
                    (unsigned long)i);
    uint64_t at = L->strings_offset + e->name_offset;
    if (L->mem) {
        const char *s = (const char *)L->mem + at;
        if (s[e->name_len] != 0 || memchr(s, 0, e->name_len))
            return fail(L, ECC_LOAD_E_FORMAT, "entry %lu: malformed name", (unsigned long)i);
        *name = s;
        return ECC_LOAD_OK;
    }
    char chunk[256];
    for (uint64_t done = 0; done < (uint64_t)e->name_len + 1;) {
        size_t n = (size_t)((uint64_t)e->name_len + 1 - done < sizeof chunk
                                ? (uint64_t)e->name_len + 1 - done
                                : sizeof chunk);
        int rc = read_at(L, at + done, chunk, n);
        if (rc) return rc;
        for (size_t k = 0; k < n; k++)
            if ((chunk[k] == 0) != (done + k == e->name_len))
                return fail(L, ECC_LOAD_E_FORMAT, "entry %lu: malformed name", (unsigned long)i);
        if (done < sizeof L->name - 1) {
            size_t c = (size_t)(sizeof L->name - 1 - done < n ? sizeof L->name - 1 - done : n);
            memcpy(L->name + done, chunk, c);
        }
        done += n;
    }
    L->name[e->name_len < sizeof L->name - 1 ? e->name_len : sizeof L->name - 1] = 0;
    *name = L->name;
    return ECC_LOAD_OK;
}

/* ---------------- entry validation ---------------- */

static int all_zero(const void *p, size_t n) {
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i]) return 0;
    return 1;
}

/* Why the quantization fields of a TENSOR entry are invalid (NULL: valid). */
static const char *check_quant(const ecc_art_entry *e) {
    if (e->repr != ECC_ART_REPR_QUANT) {
        if (e->scale_dtype || e->block_size || e->granularity || e->axis || e->scale_store ||
            (e->flags & ~ECC_ART_EF_BYTE_PLANES))
            return "quantization fields set on a non-quantized entry";
        if ((e->flags & ECC_ART_EF_BYTE_PLANES) &&
            (e->repr != ECC_ART_REPR_RAW || (e->bits != 16 && e->bits != 32 && e->bits != 64)))
            return "byte planes on an entry without 16, 32 or 64-bit values";
        return NULL;
    }
    if (e->flags & ECC_ART_EF_BYTE_PLANES) return "byte planes on a quantized entry";
    if (e->dtype != ECC_ART_DT_INT8 && e->dtype != ECC_ART_DT_UINT8 &&
        e->dtype != ECC_ART_DT_INT4 && e->dtype != ECC_ART_DT_UINT4)
        return "quantized entry of a non-integer element type";
    if (!ecc_art_scale_store_bytes(e->scale_store, e->scale_dtype))
        return "unknown scale type or scale storage";
    if (e->codebook_size) return "codebook size on a quantized entry";
    switch (e->granularity) {
    case ECC_ART_GRAN_TENSOR:
        if (e->axis || e->block_size) return "axis or block size on a per-tensor quantizer";
        break;
    case ECC_ART_GRAN_CHANNEL:
        if (e->axis >= e->rank || e->block_size) return "bad per-channel axis";
        break;
    case ECC_ART_GRAN_BLOCK:
        if (e->axis >= e->rank || e->block_size == 0) return "bad block axis or block size";
        break;
    default: return "unknown quantization granularity";
    }
    if ((e->flags & ECC_ART_EF_SCALAR_SCALE) && e->granularity != ECC_ART_GRAN_TENSOR)
        return "scalar scale on a per-channel or per-block quantizer";
    return NULL;
}

static const char *check_layout(const ecc_art_entry *e, int64_t numel) {
    switch (e->layout) {
    case ECC_ART_LAYOUT_DENSE:
    case ECC_ART_LAYOUT_BITMASK:
        if (e->nm_n || e->nm_m || e->nm_axis) return "N:M fields on a non-N:M entry";
        if (e->layout == ECC_ART_LAYOUT_DENSE ? e->count != (uint64_t)numel
                                              : e->count > (uint64_t)numel)
            return "stored value count does not match the element count";
        return NULL;
    case ECC_ART_LAYOUT_NM:
        if (e->nm_m < 2 || e->nm_m > ECC_ART_MAX_NM_M || e->nm_n < 1 || e->nm_n >= e->nm_m)
            return "N:M pattern out of range";
        if (e->nm_axis >= e->rank || e->dims[e->nm_axis] % e->nm_m)
            return "N:M axis does not divide into groups";
        if (e->count != (uint64_t)numel / e->nm_m * e->nm_n)
            return "stored value count does not match the N:M pattern";
        return NULL;
    default: return "unknown layout";
    }
}

static const char *check_tensor(const ecc_art_entry *e) {
    int64_t numel;
    ecc_art_parts parts;
    if (e->name_len == 0) return "tensor without a name";
    if (e->rank > ECC_ART_MAX_RANK || !entry_numel(e, &numel)) return "bad dimensions";
    if (numel == 0) return "empty tensor";
    unsigned dbits = ecc_art_dtype_bits(e->dtype);
    if (!dbits) return "element type the format does not store";
    switch (e->repr) {
    case ECC_ART_REPR_RAW:
        if (e->bits != dbits || e->codebook_size) return "raw value width differs from the type";
        break;
    case ECC_ART_REPR_QUANT:
        if (e->bits != dbits) return "quantized value width differs from the type";
        break;
    case ECC_ART_REPR_CODEBOOK:
        if (e->bits < 1 || e->bits > 8 || e->codebook_size < 1 ||
            e->codebook_size > (1u << e->bits))
            return "codebook size or index width out of range";
        break;
    default: return "unknown value representation";
    }
    const char *why = check_quant(e);
    if (!why) why = check_layout(e, numel);
    if (why) return why;
    if (!ecc_art_entry_parts(e, &parts)) return "payload size overflows";
    if (parts.total != e->raw_size) return "payload size does not match the encoding";
    return NULL;
}

static const char *check_entry(const ecc_art_entry *e) {
    for (unsigned i = e->rank < ECC_ART_MAX_RANK ? e->rank : ECC_ART_MAX_RANK;
         i < ECC_ART_MAX_RANK; i++)
        if (e->dims[i]) return "dimensions beyond the rank";
    if (e->flags & ~ECC_ART_EF_KNOWN) return "unknown entry flags";
    switch (e->kind) {
    case ECC_ART_KIND_TENSOR: return check_tensor(e);
    case ECC_ART_KIND_METADATA:
    case ECC_ART_KIND_GRAPH: {
        ecc_art_entry z;
        memset(&z, 0, sizeof z);
        z.offset = e->offset;
        z.comp_size = e->comp_size;
        z.raw_size = e->raw_size;
        z.name_offset = e->name_offset;
        z.kind = e->kind;
        return memcmp(&z, e, sizeof z) ? "section entry with tensor fields set" : NULL;
    }
    default: return "unknown entry kind";
    }
}

/* Checks entry i against the file: fields, frame bounds, order after prev_end. */
static int validate_entry(ecc_loader *L, uint32_t i, const ecc_art_entry *e, uint64_t prev_end,
                          const char **name) {
    char label[300];
    int rc = entry_name(L, i, e, name);
    if (rc) return rc;
    entry_label(L, i, e, *name, label, sizeof label);
    const char *why = check_entry(e);
    if (why) return fail(L, ECC_LOAD_E_FORMAT, "%s: %s", label, why);
    uint64_t end;
    if (e->offset % ECC_ART_ALIGN || e->offset < ECC_ART_HEADER_SIZE || e->comp_size == 0 ||
        !add_u64(e->offset, e->comp_size, &end) || end > L->dir_offset)
        return fail(L, ECC_LOAD_E_FORMAT, "%s: frame at %llu (+%llu) outside the data area",
                    label, (unsigned long long)e->offset, (unsigned long long)e->comp_size);
    if (e->offset < prev_end)
        return fail(L, ECC_LOAD_E_FORMAT, "%s: frame overlaps the previous one", label);
    return ECC_LOAD_OK;
}

/* ---------------- info ---------------- */

static uint64_t scratch_need(const ecc_loader *L, const ecc_art_entry *e, const ecc_art_parts *p,
                             uint64_t stored_bytes) {
    uint64_t n = pad8(e->raw_size);
    if (!L->mem) n += pad8(e->comp_size);
    if (e->kind != ECC_ART_KIND_TENSOR) return n;
    /* stored form, then scales + zero points as float/int32, or unshuffled values */
    n += pad8(stored_bytes);
    n += (e->flags & ECC_ART_EF_BYTE_PLANES) ? pad8(p->values_size) : 2 * pad8(p->n_scales * 4);
    return n;
}

static void fill_info(const ecc_loader *L, const ecc_art_entry *e, const char *name,
                      ecc_load_info *out) {
    ecc_art_parts p;
    memset(out, 0, sizeof *out);
    out->e = *e;
    out->name = name;
    if (e->kind == ECC_ART_KIND_TENSOR && ecc_art_entry_parts(e, &p)) {
        unsigned dbits = ecc_art_dtype_bits(e->dtype);
        out->numel = p.numel;
        out->n_scales = p.n_scales;
        out->stored_bytes = ((uint64_t)p.numel * dbits + 7) / 8;
        out->float_bytes = (uint64_t)p.numel * 4;
        out->scales_bytes = p.n_scales * scale_dtype_bytes(e->scale_dtype);
        if (e->flags & ECC_ART_EF_ZERO_POINT) out->zero_points_bytes = (p.n_scales * dbits + 7) / 8;
        out->scratch_bytes = scratch_need(L, e, &p, out->stored_bytes);
    } else {
        memset(&p, 0, sizeof p);
        out->scratch_bytes = scratch_need(L, e, &p, 0);
    }
}

/* ---------------- opening ---------------- */

size_t ecc_load_workspace_size(void) { return ZSTD_estimateDCtxSize(); }

static int open_common(ecc_loader *L, void *work, size_t work_size) {
    uint8_t hb[ECC_ART_HEADER_SIZE], fb[ECC_ART_FOOTER_SIZE];
    ecc_art_header h;
    ecc_art_footer f;
    int rc;
    L->dctx = work ? ZSTD_initStaticDCtx(work, work_size) : NULL;
    if (!L->dctx)
        return fail(L, ECC_LOAD_E_USAGE, "workspace too small or misaligned (need %lu bytes)",
                    (unsigned long)ecc_load_workspace_size());
    if (L->size < ECC_ART_HEADER_SIZE + ECC_ART_FOOTER_SIZE)
        return fail(L, ECC_LOAD_E_FORMAT, "not an ecc artifact (%llu bytes, too short)",
                    (unsigned long long)L->size);
    if ((rc = read_at(L, 0, hb, sizeof hb))) return rc;
    header_read(hb, &h);
    if (memcmp(h.magic, ECC_ART_MAGIC, 8))
        return fail(L, ECC_LOAD_E_FORMAT, "not an ecc artifact (bad magic)");
    if (h.crc != ecc_load_crc32(0, hb, OFF(ecc_art_header, crc)))
        return fail(L, ECC_LOAD_E_FORMAT, "header checksum mismatch");
    if (h.major != ECC_ART_VERSION_MAJOR)
        return fail(L, ECC_LOAD_E_FORMAT, "format version %u.%u is not supported (this loader reads %u.x)",
                    (unsigned)h.major, (unsigned)h.minor, (unsigned)ECC_ART_VERSION_MAJOR);
    if (h.flags & ~ECC_ART_HF_KNOWN) return fail(L, ECC_LOAD_E_FORMAT, "unknown header flags");
    if (h.header_size != ECC_ART_HEADER_SIZE || h.entry_size != ECC_ART_ENTRY_SIZE ||
        h.align != ECC_ART_ALIGN || !all_zero(h.reserved, sizeof h.reserved))
        return fail(L, ECC_LOAD_E_FORMAT, "unsupported header layout");
    if ((rc = read_at(L, L->size - ECC_ART_FOOTER_SIZE, fb, sizeof fb))) return rc;
    footer_read(fb, &f);
    if (memcmp(f.magic, ECC_ART_FOOTER_MAGIC, 8) ||
        f.crc != ecc_load_crc32(0, fb, OFF(ecc_art_footer, crc)))
        return fail(L, ECC_LOAD_E_FORMAT, "footer missing or corrupt (truncated file?)");
    if (f.file_size != L->size)
        return fail(L, ECC_LOAD_E_FORMAT, "file is %llu bytes, the footer says %llu (truncated?)",
                    (unsigned long long)L->size, (unsigned long long)f.file_size);
    uint64_t dir_end = f.directory_offset + (uint64_t)f.n_entries * ECC_ART_ENTRY_SIZE;
    if (!all_zero(f.reserved, sizeof f.reserved) || f.directory_offset % ECC_ART_ALIGN ||
        f.directory_offset < ECC_ART_HEADER_SIZE || f.directory_offset > L->size ||
        f.n_entries > L->size / ECC_ART_ENTRY_SIZE ||
        dir_end + f.strings_size + ECC_ART_FOOTER_SIZE != L->size)
        return fail(L, ECC_LOAD_E_FORMAT, "directory bounds do not fit the file");
    L->dir_offset = f.directory_offset;
    L->n_entries = f.n_entries;
    L->strings_offset = dir_end;
    L->strings_size = f.strings_size;
    /* directory checksum, then every entry */
    uint32_t crc = 0;
    uint8_t chunk[1024];
    for (uint64_t at = L->dir_offset; at < L->size - ECC_ART_FOOTER_SIZE;) {
        uint64_t left = L->size - ECC_ART_FOOTER_SIZE - at;
        size_t n = left < sizeof chunk ? (size_t)left : sizeof chunk;
        if ((rc = read_at(L, at, chunk, n))) return rc;
        crc = ecc_load_crc32(crc, chunk, n);
        at += n;
    }
    if (crc != f.directory_crc) return fail(L, ECC_LOAD_E_FORMAT, "directory checksum mismatch");
    uint64_t prev_end = ECC_ART_HEADER_SIZE;
    for (uint32_t i = 0; i < L->n_entries; i++) {
        ecc_art_entry e;
        ecc_load_info info;
        const char *name;
        if ((rc = read_entry(L, i, &e)) || (rc = validate_entry(L, i, &e, prev_end, &name)))
            return rc;
        prev_end = e.offset + e.comp_size;
        fill_info(L, &e, name, &info);
        if (info.scratch_bytes > L->max_scratch) L->max_scratch = info.scratch_bytes;
    }
    return ECC_LOAD_OK;
}

int ecc_load_open_memory(ecc_loader *L, const void *data, size_t size, void *work,
                         size_t work_size) {
    memset(L, 0, sizeof *L);
    if (!data && size) return fail(L, ECC_LOAD_E_USAGE, "no data");
    L->mem = data ? data : (const uint8_t *)"";
    L->size = size;
    return open_common(L, work, work_size);
}

int ecc_load_open_file(ecc_loader *L, FILE *fp, void *work, size_t work_size) {
    memset(L, 0, sizeof *L);
    if (!fp) return fail(L, ECC_LOAD_E_USAGE, "no file");
    L->fp = fp;
    long end;
    if (fseek(fp, 0, SEEK_END) != 0 || (end = ftell(fp)) < 0)
        return fail(L, ECC_LOAD_E_IO, "cannot determine the file size");
    L->size = (uint64_t)end;
    return open_common(L, work, work_size);
}

uint32_t ecc_load_count(const ecc_loader *L) { return L->n_entries; }
uint64_t ecc_load_max_scratch(const ecc_loader *L) { return L->max_scratch; }

/* Entry i read again and re-validated (a file may change under us). */
static int load_entry(ecc_loader *L, uint32_t i, ecc_art_entry *e, const char **name) {
    if (i >= L->n_entries)
        return fail(L, ECC_LOAD_E_USAGE, "entry %lu out of range (%lu entries)",
                    (unsigned long)i, (unsigned long)L->n_entries);
    int rc = read_entry(L, i, e);
    if (!rc) rc = validate_entry(L, i, e, ECC_ART_HEADER_SIZE, name);
    return rc;
}

int ecc_load_info_at(ecc_loader *L, uint32_t i, ecc_load_info *out) {
    ecc_art_entry e;
    const char *name;
    int rc = load_entry(L, i, &e, &name);
    if (rc == ECC_LOAD_OK) fill_info(L, &e, name, out);
    return rc;
}

int ecc_load_find(ecc_loader *L, const char *name, uint32_t *index) {
    size_t len = strlen(name);
    for (uint32_t i = 0; i < L->n_entries; i++) {
        ecc_art_entry e;
        const char *n;
        int rc = read_entry(L, i, &e);
        if (rc) return rc;
        if (e.kind != ECC_ART_KIND_TENSOR || e.name_len != len) continue;
        if (L->mem || len < sizeof L->name) {
            if ((rc = entry_name(L, i, &e, &n))) return rc;
            if (memcmp(n, name, len) == 0) {
                *index = i;
                return ECC_LOAD_OK;
            }
        } else { /* long name in a file: compare in chunks */
            char chunk[256];
            size_t done = 0;
            while (done < len) {
                size_t c = len - done < sizeof chunk ? len - done : sizeof chunk;
                if ((rc = read_at(L, L->strings_offset + e.name_offset + done, chunk, c)))
                    return rc;
                if (memcmp(chunk, name + done, c)) break;
                done += c;
            }
            if (done == len) {
                *index = i;
                return ECC_LOAD_OK;
            }
        }
    }
    char safe[200];
    return fail(L, ECC_LOAD_E_NOT_FOUND, "no tensor named '%s'", ecc_art_printable(name, safe, sizeof safe));
}

int ecc_load_find_kind(ecc_loader *L, uint8_t kind, uint32_t *index) {
    for (uint32_t i = 0; i < L->n_entries; i++) {
        ecc_art_entry e;
        int rc = read_entry(L, i, &e);
        if (rc) return rc;
        if (e.kind == kind) {
            *index = i;
            return ECC_LOAD_OK;
        }
    }
    return fail(L, ECC_LOAD_E_NOT_FOUND, "no %s entry", ecc_art_kind_name(kind));
}

/* ---------------- metadata ---------------- */

int ecc_load_meta_next(const void *payload, size_t size, size_t *pos, const char **key,
                       size_t *key_len, const char **value, size_t *value_len) {
    const uint8_t *p = payload;
    size_t at = *pos;
    if (at == size) return 0;
    if (at > size || size - at < 4) return -1;
    uint32_t kl = rd32(p + at);
    if (kl > size - at - 4) return -1;
    const uint8_t *k = p + at + 4;
    at += 4 + (size_t)kl;
    if (size - at < 4) return -1;
    uint32_t vl = rd32(p + at);
    if (vl > size - at - 4) return -1;
    const uint8_t *v = p + at + 4;
    at += 4 + (size_t)vl;
    if (memchr(k, 0, kl) || memchr(v, 0, vl)) return -1;
    *key = (const char *)k;
    *key_len = kl;
    *value = (const char *)v;
    *value_len = vl;
    *pos = at;
    return 1;
}

/* ---------------- symbols ---------------- */

static inline uint64_t get_sym(const uint8_t *p, uint64_t k, unsigned w) {
    switch (w) {
    case 8: return p[k];
    case 16: return rd16(p + 2 * k);
    case 32: return rd32(p + 4 * k);
    case 64: return rd64(p + 8 * k);
    case 4: return (uint64_t)(p[k >> 1] >> ((k & 1) * 4)) & 15u;
    default: { /* 1..7 bits: within two bytes */
        uint64_t bit = k * w;
        const uint8_t *q = p + (bit >> 3);
        unsigned sh = (unsigned)(bit & 7);
        uint32_t x = q[0] | (sh + w > 8 ? (uint32_t)q[1] << 8 : 0u);
        return (x >> sh) & ((1u << w) - 1);
    }
    }
}

static inline void put_sym(uint8_t *p, uint64_t k, unsigned w, uint64_t v) {
    switch (w) {
    case 8: p[k] = (uint8_t)v; break;
    case 16: wr16(p + 2 * k, (uint16_t)v); break;
    case 32: wr32(p + 4 * k, (uint32_t)v); break;
    case 64: wr64(p + 8 * k, v); break;
    default: { /* 4 */
        unsigned sh = (unsigned)(k & 1) * 4;
        p[k >> 1] = (uint8_t)((p[k >> 1] & ~(15u << sh)) | (unsigned)(v & 15u) << sh);
    }
    }
}

/* Bits [used, 8·size) of p are zero (the padding of a part). */
static int tail_zero(const uint8_t *p, uint64_t used_bits, uint64_t size) {
    uint64_t byte = used_bits / 8;
    if (byte >= size) return 1;
    if (used_bits % 8 && (p[byte] >> (used_bits % 8))) return 0;
    return all_zero(p + byte + (used_bits % 8 ? 1 : 0), (size_t)(size - byte - (used_bits % 8 ? 1 : 0)));
}

static float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0 && man == 0) bits = sign;
    else if (exp == 0) { /* subnormal: normalise */
        exp = 113;
        while (!(man & 0x400u)) {
            man <<= 1;
            exp--;
        }
        bits = sign | exp << 23 | (man & 0x3ffu) << 13;
    } else if (exp == 31) bits = sign | 0x7f800000u | man << 13;
    else bits = sign | (exp + 112) << 23 | man << 13;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static float bits_to_f32(uint32_t b) {
    float f;
    memcpy(&f, &b, 4);
    return f;
}

/* ---------------- decoding ---------------- */

typedef struct dec {
    ecc_loader *L;
    const ecc_art_entry *e;
    ecc_art_parts p;
    const uint8_t *pl;        /* decompressed payload */
    const uint8_t *vals;      /* the values part (unshuffled when stored as byte planes) */
    unsigned dbits;           /* bits per element */
    uint64_t lut[ECC_ART_MAX_CODEBOOK]; /* CODEBOOK: the entries as element symbols */
    float *sc;                /* QUANT: scales as float32 */
    int32_t *zp;              /* QUANT: zero points (zeros without) */
    char label[300];
} dec;

static int dec_fail(dec *d, const char *why) {
    return fail(d->L, ECC_LOAD_E_FORMAT, "%s: %s", d->label, why);
}

/* Runs of elements sharing a scale pattern: elements [start, start + n) use
 * scales base + k·stride (stride 0 or 1). */
typedef void (*run_fn)(void *arg, uint64_t start, uint64_t n, uint64_t base, int stride);

static void quant_runs(const ecc_art_entry *e, uint64_t numel, run_fn fn, void *arg) {
    uint64_t outer, D, inner;
    if (e->granularity == ECC_ART_GRAN_TENSOR) {
        fn(arg, 0, numel, 0, 0);
        return;
    }
    axis_split(e, e->axis, &outer, &D, &inner);
    if (e->granularity == ECC_ART_GRAN_CHANNEL) {
        for (uint64_t o = 0; o < outer; o++) {
            if (inner == 1) fn(arg, o * D, D, 0, 1);
            else
                for (uint64_t c = 0; c < D; c++) fn(arg, (o * D + c) * inner, inner, c, 0);
        }
        return;
    }
    uint64_t B = e->block_size, nb = (D + B - 1) / B;
    for (uint64_t o = 0; o < outer; o++) {
        if (inner == 1) {
            for (uint64_t b = 0; b < nb; b++)
                fn(arg, o * D + b * B, D - b * B < B ? D - b * B : B, o * nb + b, 0);
        } else {
            for (uint64_t c = 0; c < D; c++)
                fn(arg, (o * D + c) * inner, inner, (o * nb + c / B) * inner, 1);
        }
    }
}

typedef struct zp_fill {
    uint8_t *dst;
    const int32_t *zp;
    unsigned bits;
} zp_fill;

static void zp_fill_run(void *arg, uint64_t start, uint64_t n, uint64_t base, int stride) {
    zp_fill *z = arg;
    for (uint64_t k = 0; k < n; k++)
        put_sym(z->dst, start + k, z->bits, (uint64_t)(uint32_t)z->zp[base + (stride ? k : 0)]);
}

typedef struct deq {
    const uint8_t *v;
    float *out;
    const float *sc;
    const int32_t *zp;
    int32_t dtype;
} deq;

#define DEQ_LOOP(GET)                                                                    \
    do {                                                                                 \
        if (stride)                                                                      \
            for (uint64_t k = 0; k < n; k++)                                             \
                out[k] = (float)((int32_t)(GET) - zp[base + k]) * sc[base + k];           \
        else {                                                                           \
            const int32_t z = zp[base];                                                  \
            const float s = sc[base];                                                    \
            for (uint64_t k = 0; k < n; k++) out[k] = (float)((int32_t)(GET) - z) * s;   \
        }                                                                                \
    } while (0)

static void deq_run(void *arg, uint64_t start, uint64_t n, uint64_t base, int stride) {
    const deq *q = arg;
    float *out = q->out + start;
    const float *sc = q->sc;
    const int32_t *zp = q->zp;
    const uint8_t *v = q->v;
    switch (q->dtype) {
    case ECC_ART_DT_INT8: DEQ_LOOP((int8_t)v[start + k]); break;
    case ECC_ART_DT_UINT8: DEQ_LOOP(v[start + k]); break;
    case ECC_ART_DT_INT4:
        DEQ_LOOP(((int32_t)((v[(start + k) >> 1] >> (((start + k) & 1) * 4)) & 15u) ^ 8) - 8);
        break;
    default: DEQ_LOOP((v[(start + k) >> 1] >> (((start + k) & 1) * 4)) & 15u); break;
    }
}

static int32_t sign_extend(uint64_t sym, unsigned bits, int is_signed) {
    if (!is_signed) return (int32_t)sym;
    return bits == 8 ? (int32_t)(int8_t)(uint8_t)sym : (int32_t)((sym ^ 8u) & 15u) - 8;
}

/* QUANT: scales to float32 and zero points to int32 (in scratch). */
static void load_quant_params(dec *d, uint8_t *scratch) {
    const ecc_art_entry *e = d->e;
    const uint8_t *sp = d->pl + d->p.params, *zp = sp + d->p.zero_points;
    uint64_t n = d->p.n_scales;
    d->sc = (float *)(void *)scratch;
    d->zp = (int32_t *)(void *)(scratch + pad8(n * 4));
    int sgn = e->dtype == ECC_ART_DT_INT8 || e->dtype == ECC_ART_DT_INT4;
    for (uint64_t s = 0; s < n; s++) {
        float f;
        if (e->scale_store == ECC_ART_SCALE_F16 ||
            (e->scale_store == ECC_ART_SCALE_ASIS && e->scale_dtype == ECC_ART_DT_FLOAT16))
            f = f16_to_f32(rd16(sp + 2 * s));
        else if (e->scale_store == ECC_ART_SCALE_BF16 || e->scale_dtype == ECC_ART_DT_BFLOAT16)
            f = bits_to_f32((uint32_t)rd16(sp + 2 * s) << 16);
        else f = bits_to_f32(rd32(sp + 4 * s));
        d->sc[s] = f;
        d->zp[s] = (e->flags & ECC_ART_EF_ZERO_POINT) ? sign_extend(get_sym(zp, s, e->bits), e->bits, sgn) : 0;
    }
}

/* The padding of every part is zero. */
static int check_padding(dec *d) {
    const ecc_art_entry *e = d->e;
    const ecc_art_parts *p = &d->p;
    const uint8_t *pl = d->pl;
    int ok = 1;
    if (e->repr == ECC_ART_REPR_QUANT) {
        uint64_t sb = ecc_art_scale_store_bytes(e->scale_store, e->scale_dtype);
        ok = tail_zero(pl, p->n_scales * sb * 8, p->zero_points) &&
             tail_zero(pl + p->zero_points,
                       (e->flags & ECC_ART_EF_ZERO_POINT) ? p->n_scales * e->bits : 0,
                       p->params_size - p->zero_points);
    } else if (e->repr == ECC_ART_REPR_CODEBOOK) {
        ok = tail_zero(pl, (uint64_t)e->codebook_size * d->dbits, p->params_size);
    }
    if (e->layout == ECC_ART_LAYOUT_BITMASK)
        ok = ok && tail_zero(pl + p->positions, (uint64_t)p->numel, p->positions_size);
    else if (e->layout == ECC_ART_LAYOUT_NM)
        ok = ok && tail_zero(pl + p->positions, e->count * ecc_art_index_bits(e->nm_m),
                             p->positions_size);
    ok = ok && tail_zero(pl + p->values, e->count * e->bits, p->values_size);
    return ok ? ECC_LOAD_OK : dec_fail(d, "non-zero padding in the payload");
}

static unsigned low_bit(unsigned b) {
#if defined(__GNUC__)
    return (unsigned)__builtin_ctz(b);
#else
    unsigned n = 0;
    while (!(b & 1u)) {
        b >>= 1;
        n++;
    }
    return n;
#endif
}

/* The expansion loops, specialised on the element width W (a constant) and
 * on whether the stored symbols are codebook indices (CB): a sparse or
 * codebook entry becomes the dense stored form in dst (pre-filled with the
 * implicit values). Every index is checked before use. */
#define VALUE(d, k, W, CB, v)                                                            \
    do {                                                                                 \
        (v) = get_sym((d)->vals, (k), (CB) ? (d)->e->bits : (W));                        \
        if (CB) {                                                                        \
            if ((v) >= (d)->e->codebook_size) return dec_fail(d, "codebook index out of range"); \
            (v) = (d)->lut[(v)];                                                         \
        }                                                                                \
    } while (0)

#define DEF_EXPAND_DENSE(NAME, W, CB)                                                    \
    static int NAME(dec *d, uint8_t *dst) {                                              \
        uint64_t n = (uint64_t)d->p.numel, v;                                            \
        for (uint64_t i = 0; i < n; i++) {                                               \
            VALUE(d, i, W, CB, v);                                                       \
            put_sym(dst, i, W, v);                                                       \
        }                                                                                \
        return ECC_LOAD_OK;                                                              \
    }

#define DEF_EXPAND_BITMASK(NAME, W, CB)                                                  \
    static int NAME(dec *d, uint8_t *dst) {                                              \
        const uint8_t *mask = d->pl + d->p.positions;                                    \
        uint64_t k = 0, count = d->e->count, nbytes = ((uint64_t)d->p.numel + 7) / 8, v; \
        for (uint64_t j = 0; j < nbytes; j++)                                            \
            for (unsigned b = mask[j]; b; b &= b - 1) {                                  \
                if (k >= count) return dec_fail(d, "bitmask has more bits set than values"); \
                VALUE(d, k, W, CB, v);                                                   \
                k++;                                                                     \
                put_sym(dst, j * 8 + low_bit(b), W, v);                                  \
            }                                                                            \
        return k == count ? ECC_LOAD_OK : dec_fail(d, "bitmask has fewer bits set than values"); \
    }

#define DEF_EXPAND_NM(NAME, W, CB)                                                       \
    static int NAME(dec *d, uint8_t *dst) {                                              \
        const ecc_art_entry *e = d->e;                                                   \
        const uint8_t *pos = d->pl + d->p.positions;                                     \
        uint64_t outer, D, inner, M = e->nm_m, N = e->nm_n, k = 0, v;                    \
        unsigned iw = ecc_art_index_bits(e->nm_m);                                       \
        axis_split(e, e->nm_axis, &outer, &D, &inner);                                   \
        for (uint64_t o = 0; o < outer; o++)                                             \
            for (uint64_t r = 0; r < D / M; r++)                                         \
                for (uint64_t in = 0; in < inner; in++) {                                \
                    uint64_t used = 0, base = (o * D + r * M) * inner + in;              \
                    for (uint64_t j = 0; j < N; j++, k++) {                              \
                        uint64_t idx = get_sym(pos, k, iw);                              \
                        if (idx >= M || (used >> idx & 1u))                              \
                            return dec_fail(d, "N:M index out of range or repeated in a group"); \
                        used |= (uint64_t)1 << idx;                                      \
                        VALUE(d, k, W, CB, v);                                           \
                        put_sym(dst, base + idx * inner, W, v);                          \
                    }                                                                    \
                }                                                                        \
        return ECC_LOAD_OK;                                                              \
    }

#define DEF_EXPANDERS(W)                                                                 \
    DEF_EXPAND_DENSE(expand_dense_##W, W, 0)                                             \
    DEF_EXPAND_DENSE(expand_dense_cb_##W, W, 1)                                          \
    DEF_EXPAND_BITMASK(expand_bitmask_##W, W, 0)                                         \
    DEF_EXPAND_BITMASK(expand_bitmask_cb_##W, W, 1)                                      \
    DEF_EXPAND_NM(expand_nm_##W, W, 0)                                                   \
    DEF_EXPAND_NM(expand_nm_cb_##W, W, 1)
DEF_EXPANDERS(4)
DEF_EXPANDERS(8)
DEF_EXPANDERS(16)
DEF_EXPANDERS(32)
DEF_EXPANDERS(64)

typedef int (*expand_fn)(dec *d, uint8_t *dst);
#define EXPANDERS_OF(W)                                                                  \
    {{expand_dense_##W, expand_bitmask_##W, expand_nm_##W},                              \
     {expand_dense_cb_##W, expand_bitmask_cb_##W, expand_nm_cb_##W}}
/* [width 4, 8, 16, 32, 64][codebook][layout] */
static const expand_fn expanders[5][2][ECC_ART_LAYOUT_COUNT] = {
    EXPANDERS_OF(4), EXPANDERS_OF(8), EXPANDERS_OF(16), EXPANDERS_OF(32), EXPANDERS_OF(64),
};

static unsigned width_index(unsigned w) { return w == 4 ? 0 : w == 8 ? 1 : w == 16 ? 2 : w == 32 ? 3 : 4; }

/* Writes the stored form of a tensor (element type, ONNX packing) to dst. */
static int expand(dec *d, uint8_t *dst, uint64_t stored_bytes) {
    const ecc_art_entry *e = d->e;
    int cb = e->repr == ECC_ART_REPR_CODEBOOK;
    memset(dst, 0, (size_t)stored_bytes);
    if (e->repr == ECC_ART_REPR_QUANT && (e->flags & ECC_ART_EF_ZERO_POINT) &&
        e->layout != ECC_ART_LAYOUT_DENSE) {
        zp_fill z = {dst, d->zp, d->dbits};
        quant_runs(e, (uint64_t)d->p.numel, zp_fill_run, &z);
    }
    if (cb)
        for (unsigned k = 0; k < e->codebook_size; k++) d->lut[k] = get_sym(d->pl + d->p.params, k, d->dbits);
    return expanders[width_index(d->dbits)][cb][e->layout](d, dst);
}

/* Byte planes → symbols: byte j of symbol k is planes[j·count + k]. */
static void unshuffle(const uint8_t *planes, uint64_t count, unsigned bytes, uint8_t *out) {
    if (bytes == 4) {
        const uint8_t *p0 = planes, *p1 = p0 + count, *p2 = p1 + count, *p3 = p2 + count;
        for (uint64_t k = 0; k < count; k++) {
            out[4 * k] = p0[k];
            out[4 * k + 1] = p1[k];
            out[4 * k + 2] = p2[k];
            out[4 * k + 3] = p3[k];
        }
        return;
    }
    for (uint64_t k = 0; k < count; k++)
        for (unsigned j = 0; j < bytes; j++) out[k * bytes + j] = planes[j * count + k];
}

static int host_is_le(void) {
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 1;
}

/* Element type → float32 for ECC_LOAD_FLOAT32 of RAW and CODEBOOK tensors. */
static int to_float(dec *d, const uint8_t *v, float *out) {
    uint64_t n = (uint64_t)d->p.numel;
    switch (d->e->dtype) {
    case 1:
        if (host_is_le()) memcpy(out, v, (size_t)n * 4);
        else for (uint64_t i = 0; i < n; i++) out[i] = bits_to_f32(rd32(v + 4 * i));
        break;
    case 2: for (uint64_t i = 0; i < n; i++) out[i] = (float)v[i]; break;
    case 3: for (uint64_t i = 0; i < n; i++) out[i] = (float)(int8_t)v[i]; break;
    case 4: for (uint64_t i = 0; i < n; i++) out[i] = (float)rd16(v + 2 * i); break;
    case 5: for (uint64_t i = 0; i < n; i++) out[i] = (float)(int16_t)rd16(v + 2 * i); break;
    case 6: for (uint64_t i = 0; i < n; i++) out[i] = (float)(int32_t)rd32(v + 4 * i); break;
    case 7: for (uint64_t i = 0; i < n; i++) out[i] = (float)(int64_t)rd64(v + 8 * i); break;
    case 9: for (uint64_t i = 0; i < n; i++) out[i] = v[i] ? 1.0f : 0.0f; break;
    case 10: for (uint64_t i = 0; i < n; i++) out[i] = f16_to_f32(rd16(v + 2 * i)); break;
    case 11:
        for (uint64_t i = 0; i < n; i++) {
            double x;
            uint64_t b = rd64(v + 8 * i);
            memcpy(&x, &b, 8);
            out[i] = (float)x;
        }
        break;
    case 12: for (uint64_t i = 0; i < n; i++) out[i] = (float)rd32(v + 4 * i); break;
    case 13: for (uint64_t i = 0; i < n; i++) out[i] = (float)rd64(v + 8 * i); break;
    case 16: for (uint64_t i = 0; i < n; i++) out[i] = bits_to_f32((uint32_t)rd16(v + 2 * i) << 16); break;
    case 21: for (uint64_t i = 0; i < n; i++) out[i] = (float)get_sym(v, i, 4); break;
    case 22: for (uint64_t i = 0; i < n; i++) out[i] = (float)sign_extend(get_sym(v, i, 4), 4, 1); break;
    default:
        return fail(d->L, ECC_LOAD_E_USAGE, "%s: no float32 form for element type %d", d->label,
                    (int)d->e->dtype);
    }
    return ECC_LOAD_OK;
}

/* A zstd frame as the format requires: magic, checksum flag, no dictionary,
 * content size = raw_size, exactly comp_size bytes. */
static int frame_check(dec *d, const uint8_t *src) {
    const ecc_art_entry *e = d->e;
    if (e->comp_size < 6 || rd32(src) != 0xFD2FB528u) return dec_fail(d, "not a zstd frame");
    if (!(src[4] & 0x04u) || (src[4] & 0x0bu))
        return dec_fail(d, "zstd frame without checksum, or with a dictionary");
    if (ZSTD_getFrameContentSize(src, (size_t)e->comp_size) != e->raw_size)
        return dec_fail(d, "zstd frame content size differs from the directory");
    size_t fs = ZSTD_findFrameCompressedSize(src, (size_t)e->comp_size);
    if (ZSTD_isError(fs) || fs != e->comp_size)
        return dec_fail(d, "zstd frame size differs from the directory");
    return ECC_LOAD_OK;
}

static int frame_decompress(dec *d, const uint8_t *src, void *dst) {
    int rc = frame_check(d, src);
    if (rc) return rc;
    size_t r = ZSTD_decompressDCtx((ZSTD_DCtx *)d->L->dctx, dst, (size_t)d->e->raw_size, src,
                                   (size_t)d->e->comp_size);
    if (ZSTD_isError(r))
        return fail(d->L, ECC_LOAD_E_FORMAT, "%s: corrupt zstd frame (%s)", d->label,
                    ZSTD_getErrorName(r));
    return r == d->e->raw_size ? ECC_LOAD_OK : dec_fail(d, "decompressed size mismatch");
}

static uint64_t out_need(const ecc_load_info *info, ecc_load_what what) {
    switch (what) {
    case ECC_LOAD_STORED: return info->stored_bytes;
    case ECC_LOAD_FLOAT32: return info->float_bytes;
    case ECC_LOAD_SCALES: return info->scales_bytes;
    case ECC_LOAD_ZERO_POINTS: return info->zero_points_bytes;
    default: return info->e.raw_size;
    }
}

static int decode_scales(dec *d, void *out) {
    const ecc_art_entry *e = d->e;
    const uint8_t *sp = d->pl + d->p.params;
    if (e->scale_store == ECC_ART_SCALE_ASIS) {
        memcpy(out, sp, (size_t)(d->p.n_scales * scale_dtype_bytes(e->scale_dtype)));
        return ECC_LOAD_OK;
    }
    for (uint64_t s = 0; s < d->p.n_scales; s++) {
        float f = e->scale_store == ECC_ART_SCALE_F16 ? f16_to_f32(rd16(sp + 2 * s))
                                                      : bits_to_f32((uint32_t)rd16(sp + 2 * s) << 16);
        uint32_t b;
        memcpy(&b, &f, 4);
        wr32((uint8_t *)out + 4 * s, b);
    }
    return ECC_LOAD_OK;
}

static int decode_tensor(dec *d, const ecc_load_info *info, ecc_load_what what, void *out,
                         uint8_t *work) {
    const ecc_art_entry *e = d->e;
    int rc = check_padding(d);
    if (rc) return rc;
    if (what == ECC_LOAD_SCALES || what == ECC_LOAD_ZERO_POINTS) {
        if (e->repr != ECC_ART_REPR_QUANT || (what == ECC_LOAD_ZERO_POINTS && !(e->flags & ECC_ART_EF_ZERO_POINT)))
            return fail(d->L, ECC_LOAD_E_USAGE, "%s: no %s stored", d->label,
                        what == ECC_LOAD_SCALES ? "scales" : "zero points");
        if (what == ECC_LOAD_SCALES) return decode_scales(d, out);
        memcpy(out, d->pl + d->p.params + d->p.zero_points, (size_t)info->zero_points_bytes);
        return ECC_LOAD_OK;
    }
    uint8_t *qparams = work + pad8(info->stored_bytes);
    d->vals = d->pl + d->p.values;
    if (e->flags & ECC_ART_EF_BYTE_PLANES) { /* RAW only: unshuffle (into out when dense) */
        uint8_t *to = e->layout == ECC_ART_LAYOUT_DENSE && (what == ECC_LOAD_STORED ||
                      (e->dtype == ECC_ART_DT_FLOAT && host_is_le())) ? out : qparams;
        unshuffle(d->vals, e->count, e->bits / 8, to);
        d->vals = to;
        if (to == out) return ECC_LOAD_OK;
    }
    if (e->repr == ECC_ART_REPR_QUANT) load_quant_params(d, qparams);
    const uint8_t *view = d->vals;
    if (e->layout != ECC_ART_LAYOUT_DENSE || e->repr == ECC_ART_REPR_CODEBOOK) {
        uint8_t *dst = what == ECC_LOAD_STORED ? out : work;
        if ((rc = expand(d, dst, info->stored_bytes))) return rc;
        view = dst;
    }
    if (what == ECC_LOAD_STORED) {
        if (view != out) memcpy(out, view, (size_t)info->stored_bytes);
        return ECC_LOAD_OK;
    }
    if (e->repr != ECC_ART_REPR_QUANT) return to_float(d, view, out);
    deq q = {view, out, d->sc, d->zp, e->dtype};
    quant_runs(e, (uint64_t)d->p.numel, deq_run, &q);
    return ECC_LOAD_OK;
}

int ecc_load_decode(ecc_loader *L, uint32_t i, ecc_load_what what, void *out, size_t out_size,
                    void *scratch, size_t scratch_size, size_t *written) {
    ecc_art_entry e;
    ecc_load_info info;
    const char *name;
    dec d;
    int rc = load_entry(L, i, &e, &name);
    if (written) *written = 0;
    if (rc) return rc;
    fill_info(L, &e, name, &info);
    memset(&d, 0, sizeof d);
    d.L = L;
    d.e = &e;
    entry_label(L, i, &e, name, d.label, sizeof d.label);
    if ((unsigned)what > ECC_LOAD_PAYLOAD ||
        (e.kind != ECC_ART_KIND_TENSOR && what != ECC_LOAD_PAYLOAD))
        return fail(L, ECC_LOAD_E_USAGE, "%s: cannot decode it in that form", d.label);
    uint64_t need = out_need(&info, what);
    if (out_size < need || (need && !out))
        return fail(L, ECC_LOAD_E_USAGE, "%s: output buffer too small (%llu bytes needed)",
                    d.label, (unsigned long long)need);
    uint64_t scratch_need_now = what == ECC_LOAD_PAYLOAD ? (L->mem ? 0 : pad8(e.comp_size))
                                                         : info.scratch_bytes;
    if (scratch_size < scratch_need_now || (scratch_need_now && !scratch))
        return fail(L, ECC_LOAD_E_USAGE, "%s: scratch buffer too small (%llu bytes needed)",
                    d.label, (unsigned long long)scratch_need_now);
    uint8_t *s = scratch;
    const uint8_t *src;
    if (L->mem) src = L->mem + e.offset;
    else {
        if ((rc = read_at(L, e.offset, s, (size_t)e.comp_size))) return rc;
        src = s;
        s += pad8(e.comp_size);
    }
    uint8_t *payload = what == ECC_LOAD_PAYLOAD ? out : s;
    if ((rc = frame_decompress(&d, src, payload))) return rc;
    if (what != ECC_LOAD_PAYLOAD) {
        d.pl = payload;
        d.dbits = ecc_art_dtype_bits(e.dtype);
        ecc_art_entry_parts(&e, &d.p);
        if ((rc = decode_tensor(&d, &info, what, out, s + pad8(e.raw_size)))) return rc;
    }
    if (written) *written = (size_t)need;
    return ECC_LOAD_OK;
}
