/* kernel_table.c — the kernel table: one entry per (op, dtype, first
 * opset), designated initializers sorted by op (strcmp order), then dtype,
 * then opset, so lookups are a binary search. dtype 0 means "any": the
 * kernel checks its own types. A backward kernel will sit beside each
 * forward one when training lands. Adding a kernel: insert it in order and
 * bump ECC_KERNEL_COUNT (test_kernels checks the order). */
#include "kernels.h"

#include <assert.h>
#include <string.h>

#define ECC_KERNEL_COUNT 162

#define ANY 0 /* the kernel checks its own types */
#define F32 ECC_DTYPE_FLOAT
#define U8 ECC_DTYPE_UINT8
#define I8 ECC_DTYPE_INT8
#define I32 ECC_DTYPE_INT32
#define I64 ECC_DTYPE_INT64
#define B8 ECC_DTYPE_BOOL

static const ecc_kernel_entry ecc_kernels[] = {
    {.op = "Abs", .dtype = F32, .since_opset = 1, .forward = ecc_k_abs_f32,
     .backward = ecc_k_abs_back_f32},
    {.op = "Abs", .dtype = I32, .since_opset = 1, .forward = ecc_k_abs_i32},
    {.op = "Abs", .dtype = I64, .since_opset = 1, .forward = ecc_k_abs_i64},
    {.op = "Acos", .dtype = F32, .since_opset = 1, .forward = ecc_k_acos_f32},
    {.op = "Acosh", .dtype = F32, .since_opset = 1, .forward = ecc_k_acosh_f32},
    {.op = "Add", .dtype = F32, .since_opset = 1, .forward = ecc_k_add_f32,
     .backward = ecc_k_add_back_f32},
    {.op = "Add", .dtype = I32, .since_opset = 1, .forward = ecc_k_add_i32},
    {.op = "Add", .dtype = I64, .since_opset = 1, .forward = ecc_k_add_i64},
    {.op = "And", .dtype = B8, .since_opset = 1, .forward = ecc_k_and_b8},
    {.op = "ArgMax", .dtype = F32, .since_opset = 1, .forward = ecc_k_argmax_f32},
    {.op = "ArgMin", .dtype = F32, .since_opset = 1, .forward = ecc_k_argmin_f32},
    {.op = "Asin", .dtype = F32, .since_opset = 1, .forward = ecc_k_asin_f32},
    {.op = "Asinh", .dtype = F32, .since_opset = 1, .forward = ecc_k_asinh_f32},
    {.op = "Atan", .dtype = F32, .since_opset = 1, .forward = ecc_k_atan_f32},
    {.op = "Atanh", .dtype = F32, .since_opset = 1, .forward = ecc_k_atanh_f32},
    {.op = "AveragePool", .dtype = F32, .since_opset = 1, .forward = ecc_k_averagepool_f32,
     .backward = ecc_k_averagepool_back_f32},
    {.op = "BatchNormalization", .dtype = F32, .since_opset = 1,
     .forward = ecc_k_batchnormalization_f32,
     .backward = ecc_k_batchnormalization_back_f32},
    {.op = "Cast", .dtype = ANY, .since_opset = 1, .forward = ecc_k_cast_any},
    {.op = "CastLike", .dtype = ANY, .since_opset = 1, .forward = ecc_k_castlike_any},
    {.op = "Ceil", .dtype = F32, .since_opset = 1, .forward = ecc_k_ceil_f32},
    {.op = "Celu", .dtype = F32, .since_opset = 1, .forward = ecc_k_celu_f32},
    {.op = "Clip", .dtype = F32, .since_opset = 1, .forward = ecc_k_clip_f32,
     .backward = ecc_k_clip_back_f32},
    {.op = "Clip", .dtype = I32, .since_opset = 1, .forward = ecc_k_clip_i32},
    {.op = "Clip", .dtype = I64, .since_opset = 1, .forward = ecc_k_clip_i64},
    {.op = "Concat", .dtype = ANY, .since_opset = 1, .forward = ecc_k_concat_any,
     .backward = ecc_k_concat_back_any},
    {.op = "Constant", .dtype = ANY, .since_opset = 1, .forward = ecc_k_constant_any},
    {.op = "ConstantOfShape", .dtype = I64, .since_opset = 1, .forward = ecc_k_constantofshape_i64},
    {.op = "Conv", .dtype = F32, .since_opset = 1, .forward = ecc_k_conv_f32,
     .backward = ecc_k_conv_back_f32},
    {.op = "ConvInteger", .dtype = U8, .since_opset = 1, .forward = ecc_k_convinteger_u8},
    {.op = "ConvInteger", .dtype = I8, .since_opset = 1, .forward = ecc_k_convinteger_i8},
    {.op = "ConvTranspose", .dtype = F32, .since_opset = 1, .forward = ecc_k_convtranspose_f32,
     .backward = ecc_k_convtranspose_back_f32},
    {.op = "Cos", .dtype = F32, .since_opset = 1, .forward = ecc_k_cos_f32,
     .backward = ecc_k_cos_back_f32},
    {.op = "Cosh", .dtype = F32, .since_opset = 1, .forward = ecc_k_cosh_f32},
    {.op = "DepthToSpace", .dtype = ANY, .since_opset = 1, .forward = ecc_k_depthtospace_any,
     .backward = ecc_k_depthtospace_back_any},
    {.op = "DequantizeLinear", .dtype = ANY, .since_opset = 1,
     .forward = ecc_k_dequantizelinear_any},
    {.op = "Div", .dtype = F32, .since_opset = 1, .forward = ecc_k_div_f32,
     .backward = ecc_k_div_back_f32},
    {.op = "Div", .dtype = I32, .since_opset = 1, .forward = ecc_k_div_i32},
    {.op = "Div", .dtype = I64, .since_opset = 1, .forward = ecc_k_div_i64},
    {.op = "Dropout", .dtype = ANY, .since_opset = 1, .forward = ecc_k_dropout_any,
     .backward = ecc_k_view_back_any},
    {.op = "DynamicQuantizeLinear", .dtype = F32, .since_opset = 1,
     .forward = ecc_k_dynamicquantizelinear_f32},
    {.op = "Elu", .dtype = F32, .since_opset = 1, .forward = ecc_k_elu_f32,
     .backward = ecc_k_elu_back_f32},
    {.op = "Equal", .dtype = F32, .since_opset = 1, .forward = ecc_k_equal_f32},
    {.op = "Equal", .dtype = I32, .since_opset = 1, .forward = ecc_k_equal_i32},
    {.op = "Equal", .dtype = I64, .since_opset = 1, .forward = ecc_k_equal_i64},
    {.op = "Equal", .dtype = B8, .since_opset = 1, .forward = ecc_k_equal_b8},
    {.op = "Erf", .dtype = F32, .since_opset = 1, .forward = ecc_k_erf_f32,
     .backward = ecc_k_erf_back_f32},
    {.op = "Exp", .dtype = F32, .since_opset = 1, .forward = ecc_k_exp_f32,
     .backward = ecc_k_exp_back_f32},
    {.op = "Expand", .dtype = ANY, .since_opset = 1, .forward = ecc_k_expand_any,
     .backward = ecc_k_expand_back_any},
    {.op = "Flatten", .dtype = ANY, .since_opset = 1, .forward = ecc_k_flatten_any,
     .backward = ecc_k_view_back_any},
    {.op = "Floor", .dtype = F32, .since_opset = 1, .forward = ecc_k_floor_f32},
    {.op = "Gather", .dtype = ANY, .since_opset = 1, .forward = ecc_k_gather_any,
     .backward = ecc_k_gather_back_any},
    {.op = "GatherElements", .dtype = ANY, .since_opset = 1, .forward = ecc_k_gatherelements_any,
     .backward = ecc_k_gatherelements_back_any},
    {.op = "Gelu", .dtype = F32, .since_opset = 20, .forward = ecc_k_gelu_f32,
     .backward = ecc_k_gelu_back_f32},
    {.op = "Gemm", .dtype = F32, .since_opset = 1, .forward = ecc_k_gemm_f32,
     .backward = ecc_k_gemm_back_f32},
    {.op = "GlobalAveragePool", .dtype = F32, .since_opset = 1,
     .forward = ecc_k_globalaveragepool_f32, .backward = ecc_k_globalaveragepool_back_f32},
    {.op = "GlobalMaxPool", .dtype = F32, .since_opset = 1, .forward = ecc_k_globalmaxpool_f32,
     .backward = ecc_k_globalmaxpool_back_f32},
    {.op = "Greater", .dtype = F32, .since_opset = 1, .forward = ecc_k_greater_f32},
    {.op = "Greater", .dtype = I32, .since_opset = 1, .forward = ecc_k_greater_i32},
    {.op = "Greater", .dtype = I64, .since_opset = 1, .forward = ecc_k_greater_i64},
    {.op = "GreaterOrEqual", .dtype = F32, .since_opset = 1, .forward = ecc_k_greaterorequal_f32},
    {.op = "GreaterOrEqual", .dtype = I32, .since_opset = 1, .forward = ecc_k_greaterorequal_i32},
    {.op = "GreaterOrEqual", .dtype = I64, .since_opset = 1, .forward = ecc_k_greaterorequal_i64},
    {.op = "HardSigmoid", .dtype = F32, .since_opset = 1, .forward = ecc_k_hardsigmoid_f32,
     .backward = ecc_k_hardsigmoid_back_f32},
    {.op = "HardSwish", .dtype = F32, .since_opset = 1, .forward = ecc_k_hardswish_f32,
     .backward = ecc_k_hardswish_back_f32},
    {.op = "Identity", .dtype = ANY, .since_opset = 1, .forward = ecc_k_identity_any,
     .backward = ecc_k_view_back_any},
    {.op = "InstanceNormalization", .dtype = F32, .since_opset = 1,
     .forward = ecc_k_instancenormalization_f32,
     .backward = ecc_k_instancenormalization_back_f32},
    {.op = "IsInf", .dtype = F32, .since_opset = 1, .forward = ecc_k_isinf_f32},
    {.op = "IsNaN", .dtype = F32, .since_opset = 1, .forward = ecc_k_isnan_f32},
    {.op = "LayerNormalization", .dtype = F32, .since_opset = 17,
     .forward = ecc_k_layernormalization_f32,
     .backward = ecc_k_layernormalization_back_f32},
    {.op = "LeakyRelu", .dtype = F32, .since_opset = 1, .forward = ecc_k_leakyrelu_f32,
     .backward = ecc_k_leakyrelu_back_f32},
    {.op = "Less", .dtype = F32, .since_opset = 1, .forward = ecc_k_less_f32},
    {.op = "Less", .dtype = I32, .since_opset = 1, .forward = ecc_k_less_i32},
    {.op = "Less", .dtype = I64, .since_opset = 1, .forward = ecc_k_less_i64},
    {.op = "LessOrEqual", .dtype = F32, .since_opset = 1, .forward = ecc_k_lessorequal_f32},
    {.op = "LessOrEqual", .dtype = I32, .since_opset = 1, .forward = ecc_k_lessorequal_i32},
    {.op = "LessOrEqual", .dtype = I64, .since_opset = 1, .forward = ecc_k_lessorequal_i64},
    {.op = "Log", .dtype = F32, .since_opset = 1, .forward = ecc_k_log_f32,
     .backward = ecc_k_log_back_f32},
    {.op = "LogSoftmax", .dtype = F32, .since_opset = 1, .forward = ecc_k_logsoftmax_f32,
     .backward = ecc_k_logsoftmax_back_f32},
    {.op = "LogSoftmax", .dtype = F32, .since_opset = 13, .forward = ecc_k_logsoftmax13_f32,
     .backward = ecc_k_logsoftmax13_back_f32},
    {.op = "MatMul", .dtype = F32, .since_opset = 1, .forward = ecc_k_matmul_f32,
     .backward = ecc_k_matmul_back_f32},
    {.op = "MatMulInteger", .dtype = U8, .since_opset = 1, .forward = ecc_k_matmulinteger_u8},
    {.op = "MatMulInteger", .dtype = I8, .since_opset = 1, .forward = ecc_k_matmulinteger_i8},
    {.op = "Max", .dtype = F32, .since_opset = 1, .forward = ecc_k_max_f32},
    {.op = "Max", .dtype = I32, .since_opset = 1, .forward = ecc_k_max_i32},
    {.op = "Max", .dtype = I64, .since_opset = 1, .forward = ecc_k_max_i64},
    {.op = "MaxPool", .dtype = F32, .since_opset = 1, .forward = ecc_k_maxpool_f32,
     .backward = ecc_k_maxpool_back_f32},
    {.op = "Mean", .dtype = F32, .since_opset = 1, .forward = ecc_k_mean_f32},
    {.op = "Min", .dtype = F32, .since_opset = 1, .forward = ecc_k_min_f32},
    {.op = "Min", .dtype = I32, .since_opset = 1, .forward = ecc_k_min_i32},
    {.op = "Min", .dtype = I64, .since_opset = 1, .forward = ecc_k_min_i64},
    {.op = "Mish", .dtype = F32, .since_opset = 1, .forward = ecc_k_mish_f32},
    {.op = "Mod", .dtype = F32, .since_opset = 1, .forward = ecc_k_mod_f32},
    {.op = "Mod", .dtype = I32, .since_opset = 1, .forward = ecc_k_mod_i32},
    {.op = "Mod", .dtype = I64, .since_opset = 1, .forward = ecc_k_mod_i64},
    {.op = "Mul", .dtype = F32, .since_opset = 1, .forward = ecc_k_mul_f32,
     .backward = ecc_k_mul_back_f32},
    {.op = "Mul", .dtype = I32, .since_opset = 1, .forward = ecc_k_mul_i32},
    {.op = "Mul", .dtype = I64, .since_opset = 1, .forward = ecc_k_mul_i64},
    {.op = "Neg", .dtype = F32, .since_opset = 1, .forward = ecc_k_neg_f32,
     .backward = ecc_k_neg_back_f32},
    {.op = "Neg", .dtype = I32, .since_opset = 1, .forward = ecc_k_neg_i32},
    {.op = "Neg", .dtype = I64, .since_opset = 1, .forward = ecc_k_neg_i64},
    {.op = "Not", .dtype = B8, .since_opset = 1, .forward = ecc_k_not_b8},
    {.op = "Or", .dtype = B8, .since_opset = 1, .forward = ecc_k_or_b8},
    {.op = "PRelu", .dtype = F32, .since_opset = 1, .forward = ecc_k_prelu_f32},
    {.op = "Pad", .dtype = ANY, .since_opset = 1, .forward = ecc_k_pad_any,
     .backward = ecc_k_pad_back_any},
    {.op = "Pow", .dtype = F32, .since_opset = 1, .forward = ecc_k_pow_f32,
     .backward = ecc_k_pow_back_f32},
    {.op = "QLinearConv", .dtype = U8, .since_opset = 1, .forward = ecc_k_qlinearconv_u8},
    {.op = "QLinearConv", .dtype = I8, .since_opset = 1, .forward = ecc_k_qlinearconv_i8},
    {.op = "QLinearMatMul", .dtype = U8, .since_opset = 1, .forward = ecc_k_qlinearmatmul_u8},
    {.op = "QLinearMatMul", .dtype = I8, .since_opset = 1, .forward = ecc_k_qlinearmatmul_i8},
    {.op = "QuantizeLinear", .dtype = F32, .since_opset = 1, .forward = ecc_k_quantizelinear_f32},
    {.op = "Range", .dtype = ANY, .since_opset = 1, .forward = ecc_k_range_any},
    {.op = "Reciprocal", .dtype = F32, .since_opset = 1, .forward = ecc_k_reciprocal_f32,
     .backward = ecc_k_reciprocal_back_f32},
    {.op = "ReduceL1", .dtype = F32, .since_opset = 1, .forward = ecc_k_reducel1_f32},
    {.op = "ReduceL2", .dtype = F32, .since_opset = 1, .forward = ecc_k_reducel2_f32},
    {.op = "ReduceLogSum", .dtype = F32, .since_opset = 1, .forward = ecc_k_reducelogsum_f32},
    {.op = "ReduceLogSumExp", .dtype = F32, .since_opset = 1, .forward = ecc_k_reducelogsumexp_f32},
    {.op = "ReduceMax", .dtype = F32, .since_opset = 1, .forward = ecc_k_reducemax_f32},
    {.op = "ReduceMax", .dtype = I64, .since_opset = 1, .forward = ecc_k_reducemax_i64},
    {.op = "ReduceMean", .dtype = F32, .since_opset = 1, .forward = ecc_k_reducemean_f32,
     .backward = ecc_k_reducemean_back_f32},
    {.op = "ReduceMin", .dtype = F32, .since_opset = 1, .forward = ecc_k_reducemin_f32},
    {.op = "ReduceMin", .dtype = I64, .since_opset = 1, .forward = ecc_k_reducemin_i64},
    {.op = "ReduceProd", .dtype = F32, .since_opset = 1, .forward = ecc_k_reduceprod_f32},
    {.op = "ReduceProd", .dtype = I64, .since_opset = 1, .forward = ecc_k_reduceprod_i64},
    {.op = "ReduceSum", .dtype = F32, .since_opset = 1, .forward = ecc_k_reducesum_f32,
     .backward = ecc_k_reducesum_back_f32},
    {.op = "ReduceSum", .dtype = I64, .since_opset = 1, .forward = ecc_k_reducesum_i64},
    {.op = "ReduceSumSquare", .dtype = F32, .since_opset = 1, .forward = ecc_k_reducesumsquare_f32},
    {.op = "Relu", .dtype = F32, .since_opset = 1, .forward = ecc_k_relu_f32,
     .backward = ecc_k_relu_back_f32},
    {.op = "Reshape", .dtype = ANY, .since_opset = 1, .forward = ecc_k_reshape_any,
     .backward = ecc_k_view_back_any},
    {.op = "Resize", .dtype = ANY, .since_opset = 1, .forward = ecc_k_resize_any},
    {.op = "Round", .dtype = F32, .since_opset = 1, .forward = ecc_k_round_f32},
    {.op = "Selu", .dtype = F32, .since_opset = 1, .forward = ecc_k_selu_f32},
    {.op = "Shape", .dtype = ANY, .since_opset = 1, .forward = ecc_k_shape_any},
    {.op = "Sigmoid", .dtype = F32, .since_opset = 1, .forward = ecc_k_sigmoid_f32,
     .backward = ecc_k_sigmoid_back_f32},
    {.op = "Sign", .dtype = F32, .since_opset = 1, .forward = ecc_k_sign_f32},
    {.op = "Sign", .dtype = I64, .since_opset = 1, .forward = ecc_k_sign_i64},
    {.op = "Sin", .dtype = F32, .since_opset = 1, .forward = ecc_k_sin_f32,
     .backward = ecc_k_sin_back_f32},
    {.op = "Sinh", .dtype = F32, .since_opset = 1, .forward = ecc_k_sinh_f32},
    {.op = "Size", .dtype = ANY, .since_opset = 1, .forward = ecc_k_size_any},
    {.op = "Slice", .dtype = ANY, .since_opset = 1, .forward = ecc_k_slice_any,
     .backward = ecc_k_slice_back_any},
    {.op = "Softmax", .dtype = F32, .since_opset = 1, .forward = ecc_k_softmax_f32,
     .backward = ecc_k_softmax_back_f32},
    {.op = "Softmax", .dtype = F32, .since_opset = 13, .forward = ecc_k_softmax13_f32,
     .backward = ecc_k_softmax13_back_f32},
    {.op = "Softplus", .dtype = F32, .since_opset = 1, .forward = ecc_k_softplus_f32,
     .backward = ecc_k_softplus_back_f32},
    {.op = "Softsign", .dtype = F32, .since_opset = 1, .forward = ecc_k_softsign_f32},
    {.op = "SpaceToDepth", .dtype = ANY, .since_opset = 1, .forward = ecc_k_spacetodepth_any,
     .backward = ecc_k_spacetodepth_back_any},
    {.op = "Split", .dtype = ANY, .since_opset = 1, .forward = ecc_k_split_any,
     .backward = ecc_k_split_back_any},
    {.op = "Sqrt", .dtype = F32, .since_opset = 1, .forward = ecc_k_sqrt_f32,
     .backward = ecc_k_sqrt_back_f32},
    {.op = "Squeeze", .dtype = ANY, .since_opset = 1, .forward = ecc_k_squeeze_any,
     .backward = ecc_k_view_back_any},
    {.op = "Sub", .dtype = F32, .since_opset = 1, .forward = ecc_k_sub_f32,
     .backward = ecc_k_sub_back_f32},
    {.op = "Sub", .dtype = I32, .since_opset = 1, .forward = ecc_k_sub_i32},
    {.op = "Sub", .dtype = I64, .since_opset = 1, .forward = ecc_k_sub_i64},
    {.op = "Sum", .dtype = F32, .since_opset = 1, .forward = ecc_k_sum_f32},
    {.op = "Sum", .dtype = I32, .since_opset = 1, .forward = ecc_k_sum_i32},
    {.op = "Sum", .dtype = I64, .since_opset = 1, .forward = ecc_k_sum_i64},
    {.op = "Tan", .dtype = F32, .since_opset = 1, .forward = ecc_k_tan_f32},
    {.op = "Tanh", .dtype = F32, .since_opset = 1, .forward = ecc_k_tanh_f32,
     .backward = ecc_k_tanh_back_f32},
    {.op = "ThresholdedRelu", .dtype = F32, .since_opset = 1, .forward = ecc_k_thresholdedrelu_f32},
    {.op = "Tile", .dtype = ANY, .since_opset = 1, .forward = ecc_k_tile_any,
     .backward = ecc_k_tile_back_any},
    {.op = "Transpose", .dtype = ANY, .since_opset = 1, .forward = ecc_k_transpose_any,
     .backward = ecc_k_transpose_back_any},
    {.op = "Unsqueeze", .dtype = ANY, .since_opset = 1, .forward = ecc_k_unsqueeze_any,
     .backward = ecc_k_view_back_any},
    {.op = "Upsample", .dtype = ANY, .since_opset = 1, .forward = ecc_k_upsample_any},
    {.op = "Where", .dtype = ANY, .since_opset = 1, .forward = ecc_k_where_any,
     .backward = ecc_k_where_back_any},
    {.op = "Xor", .dtype = B8, .since_opset = 1, .forward = ecc_k_xor_b8},
};
static_assert(sizeof ecc_kernels / sizeof ecc_kernels[0] == ECC_KERNEL_COUNT,
              "ECC_KERNEL_COUNT must match the table");

const ecc_kernel_entry *ecc_kernel_table(size_t *count) {
    *count = ECC_KERNEL_COUNT;
    return ecc_kernels;
}

static int ecc_entry_cmp(const char *op, int32_t dtype, const ecc_kernel_entry *e) {
    int c = strcmp(op, e->op);
    if (c) return c;
    return dtype < e->dtype ? -1 : dtype > e->dtype;
}

/* First entry for (op, dtype), or ECC_KERNEL_COUNT. */
static size_t ecc_lower_bound(const char *op, int32_t dtype) {
    size_t lo = 0, hi = ECC_KERNEL_COUNT;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ecc_entry_cmp(op, dtype, &ecc_kernels[mid]) > 0) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* The entry for exactly (op, dtype) with the newest since_opset <= opset. */
static const ecc_kernel_entry *ecc_find_exact(const char *op, int32_t dtype, int64_t opset) {
    const ecc_kernel_entry *best = NULL;
    for (size_t i = ecc_lower_bound(op, dtype);
         i < ECC_KERNEL_COUNT && ecc_entry_cmp(op, dtype, &ecc_kernels[i]) == 0; i++)
        if (ecc_kernels[i].since_opset <= opset) best = &ecc_kernels[i];
    return best;
}

const ecc_kernel_entry *ecc_kernel_find(const char *op, int32_t dtype, int64_t opset) {
    if (!op) return NULL;
    const ecc_kernel_entry *e = dtype ? ecc_find_exact(op, dtype, opset) : NULL;
    return e ? e : ecc_find_exact(op, 0, opset);
}

bool ecc_kernel_op_known(const char *op, int64_t opset) {
    if (!op) return false;
    for (size_t i = ecc_lower_bound(op, 0); i < ECC_KERNEL_COUNT; i++) {
        if (strcmp(ecc_kernels[i].op, op) != 0) break;
        if (ecc_kernels[i].since_opset <= opset) return true;
    }
    return false;
}
