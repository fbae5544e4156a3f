/* opaque.c — bytes kept verbatim for lossless round trips: unknown protobuf
 * fields (saved as complete fields, tag included, and re-attached to
 * messages by the writer), packed protos the IR does not model, and the
 * quoting of names taken from files for one-line error messages. */
#include "onnx_internal.h"

#include <stdlib.h>
#include <string.h>

ecc_onnx_qname ecc_onnx_q(const char *name) {
    ecc_onnx_qname q;
    size_t o = 0, cap = sizeof q.s - 4;
    for (const char *p = name ? name : ""; *p && o < cap; p++) {
        unsigned char c = (unsigned char)*p;
        q.s[o++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    if (name && strlen(name) > o) {
        memcpy(q.s + o, "...", 3);
        o += 3;
    }
    q.s[o] = '\0';
    return q;
}

static size_t put_varint(uint8_t *out, uint64_t v) {
    size_t n = 0;
    do {
        uint8_t b = v & 0x7f;
        v >>= 7;
        out[n++] = (uint8_t)(b | (v ? 0x80 : 0));
    } while (v);
    return n;
}

void ecc_onnx_blob_free(ecc_blob *b) {
    if (!b) return;
    for (size_t i = 0; i < b->n; i++)
        free(b->items[i].data);
    free(b->items);
    b->items = NULL;
    b->n = 0;
}

ecc_status ecc_onnx_unknown_save(ecc_ctx *ctx, const ProtobufCMessage *msg, ecc_blob *out) {
    ecc_status st = ECC_OK;
    size_t n = msg->n_unknown_fields;
    out->items = NULL;
    out->n = 0;
    if (n == 0) return ECC_OK;
    out->items = calloc(n, sizeof *out->items);
    ECC_FAIL_IF(!out->items, ctx, ECC_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const ProtobufCMessageUnknownField *u = &msg->unknown_fields[i];
        uint8_t tag[10];
        size_t tl = put_varint(tag, ((uint64_t)u->tag << 3) | (uint64_t)u->wire_type);
        uint8_t *d = malloc(tl + u->len);
        ECC_FAIL_IF(!d, ctx, ECC_E_INTERNAL, "out of memory");
        memcpy(d, tag, tl);
        if (u->len) memcpy(d + tl, u->data, u->len);
        out->items[i].data = d;
        out->items[i].len = tl + u->len;
        out->n = i + 1;
    }
    return ECC_OK;
fail:
    ecc_onnx_blob_free(out);
    return st;
}

ecc_status ecc_onnx_unknown_load(ecc_ctx *ctx, ecc_arena *a, const ecc_blob *b,
                                 ProtobufCMessage *msg) {
    ecc_status st = ECC_OK;
    if (!b || b->n == 0) return ECC_OK;
    ProtobufCMessageUnknownField *u = ecc_arena_alloc(a, b->n * sizeof *u);
    ECC_FAIL_IF(!u, ctx, ECC_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < b->n; i++) {
        const uint8_t *d = b->items[i].data;
        size_t len = b->items[i].len, k = 0;
        uint64_t tag = 0;
        for (; k < len && k < 5; k++) {
            tag |= (uint64_t)(d[k] & 0x7f) << (7 * k);
            if (!(d[k] & 0x80)) break;
        }
        ECC_FAIL_IF(k >= len || k == 5 || (tag >> 3) == 0 || (tag >> 3) > UINT32_MAX, ctx,
                    ECC_E_INTERNAL, "corrupt unknown-field record in the IR");
        u[i].tag = (uint32_t)(tag >> 3);
        u[i].wire_type = (ProtobufCWireType)(tag & 7);
        u[i].len = len - k - 1;
        u[i].data = (uint8_t *)d + k + 1;
    }
    msg->n_unknown_fields = (unsigned)b->n;
    msg->unknown_fields = u;
    return ECC_OK;
fail:
    return st;
}

ecc_status ecc_onnx_pack_to(ecc_ctx *ctx, ecc_arena *a, const ProtobufCMessage *msg,
                            ecc_bytes *out) {
    ecc_status st = ECC_OK;
    size_t n = protobuf_c_message_get_packed_size(msg);
    uint8_t *d = ecc_arena_alloc(a, n ? n : 1);
    ECC_FAIL_IF(!d, ctx, ECC_E_INTERNAL, "out of memory");
    out->len = protobuf_c_message_pack(msg, d);
    out->data = d;
    return ECC_OK;
fail:
    return st;
}

ecc_status ecc_onnx_blob_from(ecc_ctx *ctx, ProtobufCMessage *const *msgs, size_t n,
                              ecc_blob *out) {
    ecc_status st = ECC_OK;
    out->items = NULL;
    out->n = 0;
    if (n == 0) return ECC_OK;
    out->items = calloc(n, sizeof *out->items);
    ECC_FAIL_IF(!out->items, ctx, ECC_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        size_t len = protobuf_c_message_get_packed_size(msgs[i]);
        uint8_t *d = malloc(len ? len : 1);
        ECC_FAIL_IF(!d, ctx, ECC_E_INTERNAL, "out of memory");
        out->items[i].len = protobuf_c_message_pack(msgs[i], d);
        out->items[i].data = d;
        out->n = i + 1;
    }
    return ECC_OK;
fail:
    ecc_onnx_blob_free(out);
    return st;
}
