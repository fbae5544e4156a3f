/* lower_quant.h — lowering of quantizer annotations (lower_quant.c) and the
 * ai.onnx opset raise it may need (opset_upgrade.c). Internal to libecc:
 * compress/lower.c calls ecc_model_lower_quant after applying masks; the
 * quantization passes call the planning functions to refuse, before any
 * work, a request the model's opset cannot express. */
#ifndef ECC_LOWER_QUANT_H
#define ECC_LOWER_QUANT_H

#include "ir.h"

/* Lowers every quantizer of m (main graph and subgraphs):
 *  - weights (initializers; 4/8 bit, per tensor / channel / block) become
 *    integer initializers (INT4/UINT4 packed two per byte, low nibble first)
 *    read through one DequantizeLinear (axis; block_size for blocks; a
 *    Reshape after it for blocks over a flattened Conv weight);
 *  - biases marked with a 32-bit quantizer become int32 with scale s_x·s_w
 *    (per output channel) when the consuming Conv/Gemm has a static input
 *    quantizer and a quantized weight; otherwise they stay float;
 *  - static activations get one QuantizeLinear→DequantizeLinear pair per
 *    tensor whose output every consumer reads (graph outputs keep reading
 *    the float value);
 *  - dynamic activations (scale NULL, calib "dynamic") feeding a MatMul,
 *    Gemm or Conv with a quantized 8-bit weight are rewritten the way ONNX
 *    Runtime's dynamic quantization emits them: one DynamicQuantizeLinear per
 *    tensor, MatMulInteger / ConvInteger, Cast, Mul by s_x·s_w (+ bias).
 * The ai.onnx opset is raised first when the annotations need it (13 for
 * per-axis, 21 for 4-bit or blocks), logged at normal verbosity. Every
 * quantizer is dropped. Errors name the value or node. */
ecc_status ecc_model_lower_quant(ecc_ctx *ctx, ecc_model *m);

/* Lowest ai.onnx opset that can express every quantizer of m (0 when there
 * are none); *why (may be NULL) gets a static phrase for the log. */
int64_t ecc_model_quant_opset(const ecc_model *m, const char **why);

/* Raises m's ai.onnx opset to `to` (no-op when it is already there),
 * rewriting nodes whose signature changed on the way (axes/split/pads/…
 * attributes that became inputs, Clip min/max, Softmax axis coercion when
 * exact, …), in every graph. A node that cannot be rewritten exactly →
 * ECC_E_INPUT naming it, the op and the opset where it changed; with dry_run
 * nothing is modified (the check only). Also raises ir_version to what the
 * opset needs. */
ecc_status ecc_model_upgrade_opset(ecc_ctx *ctx, ecc_model *m, int64_t to, bool dry_run);

#endif
