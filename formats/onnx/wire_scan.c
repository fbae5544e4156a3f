/* wire_scan.c — validates protobuf wire format before protobuf-c unpacks it.
 * Driven by the generated message descriptors: every tag, wire type, varint
 * and length is checked, and nested messages are tracked on an explicit
 * stack bounded by ECC_ONNX_MAX_DEPTH (protobuf-c itself recurses without a
 * limit, so a deeply nested file would otherwise overflow the C stack). */
#include "onnx_internal.h"

enum { WT_VARINT = 0, WT_64BIT = 1, WT_LEN = 2, WT_32BIT = 5 };

static const char *const k_wire_names[8] = {
    "varint",    "64-bit", "length-delimited", "group start",
    "group end", "32-bit", "invalid (6)",      "invalid (7)",
};

/* Wire type each field type is encoded with (unpacked form). */
static const uint8_t k_wire_of_type[] = {
    [PROTOBUF_C_TYPE_INT32] = WT_VARINT,   [PROTOBUF_C_TYPE_SINT32] = WT_VARINT,
    [PROTOBUF_C_TYPE_SFIXED32] = WT_32BIT, [PROTOBUF_C_TYPE_INT64] = WT_VARINT,
    [PROTOBUF_C_TYPE_SINT64] = WT_VARINT,  [PROTOBUF_C_TYPE_SFIXED64] = WT_64BIT,
    [PROTOBUF_C_TYPE_UINT32] = WT_VARINT,  [PROTOBUF_C_TYPE_FIXED32] = WT_32BIT,
    [PROTOBUF_C_TYPE_UINT64] = WT_VARINT,  [PROTOBUF_C_TYPE_FIXED64] = WT_64BIT,
    [PROTOBUF_C_TYPE_FLOAT] = WT_32BIT,    [PROTOBUF_C_TYPE_DOUBLE] = WT_64BIT,
    [PROTOBUF_C_TYPE_BOOL] = WT_VARINT,    [PROTOBUF_C_TYPE_ENUM] = WT_VARINT,
    [PROTOBUF_C_TYPE_STRING] = WT_LEN,     [PROTOBUF_C_TYPE_BYTES] = WT_LEN,
    [PROTOBUF_C_TYPE_MESSAGE] = WT_LEN,
};

typedef struct scan_frame {
    const ProtobufCMessageDescriptor *desc;
    size_t end; /* offset one past this message */
} scan_frame;

typedef struct scanner {
    ecc_ctx *ctx;
    const uint8_t *buf;
    size_t pos;
    int depth;
    scan_frame stack[ECC_ONNX_MAX_DEPTH + 1];
} scanner;

static ecc_status scan_fail(scanner *s, size_t at, const char *what) {
    const char *msg = s->stack[s->depth].desc->name;
    return ecc_ctx_error(s->ctx, ECC_E_INPUT, "malformed protobuf at byte %zu (in %s): %s", at, msg,
                         what);
}

/* Varint of at most max_bytes ending before `end`. */
static bool read_varint(const uint8_t *buf, size_t *pos, size_t end, int max_bytes, uint64_t *out) {
    uint64_t v = 0;
    for (int i = 0; i < max_bytes && *pos < end; i++) {
        uint8_t b = buf[(*pos)++];
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

/* Every element of a packed repeated field must be well formed. */
static bool packed_ok(const uint8_t *buf, size_t pos, size_t end, uint8_t wire) {
    size_t len = end - pos;
    if (wire == WT_32BIT) return len % 4 == 0;
    if (wire == WT_64BIT) return len % 8 == 0;
    while (pos < end) {
        uint64_t v;
        if (!read_varint(buf, &pos, end, 10, &v)) return false;
    }
    return true;
}

static bool field_is_packable(const ProtobufCFieldDescriptor *f) {
    return f->label == PROTOBUF_C_LABEL_REPEATED && f->type != PROTOBUF_C_TYPE_STRING &&
           f->type != PROTOBUF_C_TYPE_BYTES && f->type != PROTOBUF_C_TYPE_MESSAGE;
}

/* Checks the wire type of a known field. */
static ecc_status check_wire(scanner *s, size_t at, const ProtobufCFieldDescriptor *f,
                             uint8_t wire) {
    uint8_t want = k_wire_of_type[f->type];
    if (wire == want || (wire == WT_LEN && field_is_packable(f))) return ECC_OK;
    char what[200];
    snprintf(what, sizeof what, "field '%s' has wire type %s, expected %s", f->name,
             k_wire_names[wire & 7], k_wire_names[want]);
    return scan_fail(s, at, what);
}

/* Reads the payload of one field whose tag has been read; pushes a frame for
 * a known message field. */
static ecc_status scan_payload(scanner *s, size_t at, const ProtobufCFieldDescriptor *f,
                               uint8_t wire) {
    size_t end = s->stack[s->depth].end;
    uint64_t v;
    if (wire == WT_VARINT) {
        if (!read_varint(s->buf, &s->pos, end, 10, &v))
            return scan_fail(s, at, "varint is truncated or longer than 10 bytes");
        return ECC_OK;
    }
    if (wire == WT_64BIT || wire == WT_32BIT) {
        size_t n = wire == WT_64BIT ? 8 : 4;
        if (end - s->pos < n)
            return scan_fail(s, at, "fixed-size field runs past its message (truncated?)");
        s->pos += n;
        return ECC_OK;
    }
    if (!read_varint(s->buf, &s->pos, end, 10, &v))
        return scan_fail(s, at, "length is truncated or longer than 10 bytes");
    if (v > end - s->pos) {
        char what[160];
        snprintf(what, sizeof what,
                 "length %llu exceeds the %zu bytes left in its %s (truncated or corrupt)",
                 (unsigned long long)v, end - s->pos, s->depth ? "enclosing message" : "file");
        return scan_fail(s, at, what);
    }
    size_t sub_end = s->pos + (size_t)v;
    if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
        if (s->depth >= ECC_ONNX_MAX_DEPTH)
            return scan_fail(s, at, "nesting deeper than 64 levels");
        s->depth++;
        s->stack[s->depth].desc = f->descriptor;
        s->stack[s->depth].end = sub_end;
        return ECC_OK;
    }
    if (f && field_is_packable(f) && !packed_ok(s->buf, s->pos, sub_end, k_wire_of_type[f->type]))
        return scan_fail(s, at, "malformed packed repeated field");
    s->pos = sub_end;
    return ECC_OK;
}

/* One field (tag + payload) of the message on top of the stack. */
static ecc_status scan_field(scanner *s) {
    size_t at = s->pos;
    uint64_t tag;
    if (!read_varint(s->buf, &s->pos, s->stack[s->depth].end, 5, &tag) || tag > UINT32_MAX)
        return scan_fail(s, at, "field tag is truncated or too long");
    uint8_t wire = (uint8_t)(tag & 7);
    uint32_t num = (uint32_t)(tag >> 3);
    if (num == 0) return scan_fail(s, at, "field number 0");
    if (wire != WT_VARINT && wire != WT_64BIT && wire != WT_LEN && wire != WT_32BIT) {
        char what[80];
        snprintf(what, sizeof what, "unsupported wire type %s", k_wire_names[wire]);
        return scan_fail(s, at, what);
    }
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field(s->stack[s->depth].desc, (unsigned)num);
    if (f) {
        ecc_status st = check_wire(s, at, f, wire);
        if (st != ECC_OK) return st;
    }
    return scan_payload(s, at, f, wire);
}

ecc_status ecc_onnx_wire_scan(ecc_ctx *ctx, const ProtobufCMessageDescriptor *desc,
                              const uint8_t *buf, size_t len) {
    scanner s = {.ctx = ctx, .buf = buf, .pos = 0, .depth = 0};
    s.stack[0].desc = desc;
    s.stack[0].end = len;
    for (;;) {
        while (s.pos == s.stack[s.depth].end) {
            if (s.depth == 0) return ECC_OK;
            s.depth--;
        }
        ecc_status st = scan_field(&s);
        if (st != ECC_OK) return st;
    }
}
