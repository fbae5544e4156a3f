/* onnx_io.h — the ONNX reader and writer (internal API of formats/onnx).
 *
 * Reading validates the protobuf wire format against the generated
 * descriptors before protobuf-c unpacks anything (bounded nesting, bounded
 * lengths), converts ModelProto into the IR losslessly (unknown fields and
 * protos the IR does not model are kept as opaque bytes) and verifies the
 * result. Writing converts the IR back, streams the packed bytes into an
 * atomic output file and optionally moves large tensors into a side file.
 *
 * Conventions for the opaque bytes kept in the IR:
 *   - `unknown` blobs (model, graph, node, attribute, tensor, value info):
 *     every item is one complete wire-format field, tag included;
 *   - functions, training_info, sparse_inits, quant_annots, type_opaque and
 *     attribute `opaque` entries: one packed message each. */
#ifndef ECC_ONNX_IO_H
#define ECC_ONNX_IO_H

#include "ir.h"

/* Deepest message nesting the reader accepts (protobuf-c recurses freely). */
#define ECC_ONNX_MAX_DEPTH 64
/* protobuf's hard limit for one serialized message. */
#define ECC_ONNX_MAX_PACKED ((uint64_t)INT32_MAX)

/* Reads an ONNX model file. External data is resolved relative to the
 * file's directory. The ctx subject becomes `path`. *out is owned by the
 * caller (ecc_model_free). ECC_E_INPUT for malformed or hostile input,
 * ECC_E_INTERNAL for I/O errors and OOM. */
ecc_status ecc_onnx_read_file(ecc_ctx *ctx, const char *path, ecc_model **out);

/* Reads a model from memory (fuzzing, tests). display_name is the ctx subject
 * (may be NULL); base_dir is the directory external data is resolved in, or
 * NULL to refuse external data. buf is only borrowed. */
ecc_status ecc_onnx_read_buffer(ecc_ctx *ctx, const void *buf, size_t len, const char *display_name,
                                const char *base_dir, ecc_model **out);

/* Writes model to path atomically (see ecc_model_write for opts; NULL =
 * defaults). Tensors read from external data stay external. */
ecc_status ecc_onnx_write_file(ecc_ctx *ctx, const ecc_model *model, const char *path,
                               const ecc_write_options *opts);

/* Packs model into a malloc'd buffer (*out, *out_len; caller frees). Every
 * tensor is stored inline: tensors read as external are written as raw_data. */
ecc_status ecc_onnx_write_buffer(ecc_ctx *ctx, const ecc_model *model, uint8_t **out,
                                 size_t *out_len);

#endif
