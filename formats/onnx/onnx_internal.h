/* onnx_internal.h — shared declarations of the formats/onnx files: the
 * wire scanner, opaque-bytes helpers, tensor conversion, external data and
 * the reader/writer states. Not used outside formats/onnx. */
#ifndef ECC_ONNX_INTERNAL_H
#define ECC_ONNX_INTERNAL_H

#include "atomic.h"
#include "onnx.pb-c.h"
#include "onnx_io.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "formats/onnx assumes a little-endian host (tensor bytes are stored as-is)"
#endif

/* ---- names from the file, made safe for one-line messages ---- */
typedef struct ecc_onnx_qname {
    char s[100];
} ecc_onnx_qname;
/* Printable copy (control bytes → '?', long names shortened with "..."). */
ecc_onnx_qname ecc_onnx_q(const char *name);
#define ECC_Q(name) (ecc_onnx_q(name).s)

/* ---- wire_scan.c ---- */
/* Walks buf as a message of type desc: every tag, wire type, varint and
 * length is checked and nesting is bounded by ECC_ONNX_MAX_DEPTH, without
 * recursion. ECC_E_INPUT with the byte offset on the first problem. */
ecc_status ecc_onnx_wire_scan(ecc_ctx *ctx, const ProtobufCMessageDescriptor *desc,
                              const uint8_t *buf, size_t len);

/* ---- opaque.c: unknown fields and packed protos ---- */
/* Copies msg's unknown fields into out (one complete field per item). Blobs
 * are malloc'd, items and array alike (the IR frees them with free()). */
ecc_status ecc_onnx_unknown_save(ecc_ctx *ctx, const ProtobufCMessage *msg, ecc_blob *out);
/* Points msg's unknown fields at the items of b (array allocated in a). */
ecc_status ecc_onnx_unknown_load(ecc_ctx *ctx, ecc_arena *a, const ecc_blob *b,
                                 ProtobufCMessage *msg);
/* Packs msg into the arena. */
ecc_status ecc_onnx_pack_to(ecc_ctx *ctx, ecc_arena *a, const ProtobufCMessage *msg,
                            ecc_bytes *out);
/* Packs n messages into a malloc'd blob. */
ecc_status ecc_onnx_blob_from(ecc_ctx *ctx, ProtobufCMessage *const *msgs, size_t n, ecc_blob *out);
void ecc_onnx_blob_free(ecc_blob *b);

/* ---- reader state ---- */
typedef struct ecc_onnx_rd {
    ecc_ctx *ctx;
    ecc_model *m;
    const char *base_dir; /* NULL: external data refused */
} ecc_onnx_rd;

/* ---- graph_read.c ---- */
/* Fills g (empty; g->parent and g->owner set for subgraphs) from gp. */
ecc_status ecc_onnx_graph_read(ecc_onnx_rd *r, ecc_graph *g, Onnx__GraphProto *gp);

/* ---- attr_proto.c ---- */
ecc_status ecc_onnx_attr_read(ecc_onnx_rd *r, ecc_node *n, Onnx__AttributeProto *p, ecc_attr *a);

/* ---- tensor_proto.c (reading) ---- */
/* Converts a TensorProto (raw, typed or external) into a tensor. Large
 * raw_data buffers are taken over from tp, which is left without them. */
ecc_status ecc_onnx_tensor_read(ecc_onnx_rd *r, Onnx__TensorProto *tp, ecc_tensor **out);

/* ---- external.c ---- */
/* Loads nbytes of external data for tensor `tname` described by kv (location,
 * offset, length), resolved safely under base_dir. *out is malloc'd. */
ecc_status ecc_onnx_external_load(ecc_ctx *ctx, const char *base_dir, const char *tname,
                                  Onnx__StringStringEntryProto *const *kv, size_t n_kv,
                                  size_t nbytes, void **out);
/* Parses a non-negative decimal int64 (the whole string). */
bool ecc_onnx_parse_u63(const char *s, int64_t *out);

/* ---- writer state ---- */
typedef struct ecc_onnx_wr {
    ecc_ctx *ctx;
    ecc_arena *a;        /* every message built for this write */
    ecc_ptrvec unpacked; /* ProtobufCMessage* unpacked from opaque bytes */
    bool allow_external; /* false for buffers: everything inline */
    bool external_all;   /* opts->external_data */
    uint64_t external_min;
    const char *side_path; /* side file path, location written in the model */
    const char *side_name;
    ecc_atomic_file side;
    bool side_open;
    uint64_t side_off;
} ecc_onnx_wr;

/* ---- writer.c / attr_proto.c ---- */
/* Builds the GraphProto of g in the writer's arena. */
ecc_status ecc_onnx_graph_write(ecc_onnx_wr *w, const ecc_graph *g, Onnx__GraphProto **out);
ecc_status ecc_onnx_attr_write(ecc_onnx_wr *w, const ecc_attr *a, Onnx__AttributeProto *p);

/* ---- tensor_proto.c (writing) ---- */
/* Fills *out from t (name overrides t->name when not NULL). Data are
 * referenced, not copied, whenever the layout allows. */
ecc_status ecc_onnx_tensor_write(ecc_onnx_wr *w, const ecc_tensor *t, const char *name,
                                 Onnx__TensorProto *out);
/* Unpacks an opaque message for writing (freed with the writer). */
ecc_status ecc_onnx_wr_unpack(ecc_onnx_wr *w, const ProtobufCMessageDescriptor *d,
                              const ecc_bytes *b, ProtobufCMessage **out);

#endif
