/* kernel_table.c — the kernel table: one entry per (op, dtype, first
 * opset), designated initializers sorted by op (strcmp order), then dtype,
 * then opset, so lookups are a binary search. dtype 0 means "any": the
 * kernel checks its own types. The backward kernel sits beside its forward
 * one. Each entry names its op through the op traits table (OP, below).
 * Adding a kernel: insert it in order, bump ECC_KERNEL_COUNT and give the
 * op's row in compress/ops.def the KERNEL (and BACKWARD) flag (test_op_traits
 * checks both tables agree, test_kernels the order). */
#include "kernels.h"

#include "op_traits.h"

#include <assert.h>
#include <string.h>

#define ECC_KERNEL_COUNT 162

/* OP(Abs): the entry's op, named through its row of ops.def; a kernel for
 * an op without a row there does not compile. */
#define OP(name) .op = &#name[0 * ECC_OP_##name]

#define ANY 0 /* the kernel checks its own types */
#define F32 ECC_DTYPE_FLOAT
#define U8 ECC_DTYPE_UINT8
#define I8 ECC_DTYPE_INT8
#define I32 ECC_DTYPE_INT32
#define I64 ECC_DTYPE_INT64
#define B8 ECC_DTYPE_BOOL

static const ecc_kernel_entry ecc_kernels[] = {
    {OP(Abs), .dtype = F32, .since_opset = 1, .forward = ecc_k_abs_f32,
     .backward = ecc_k_abs_back_f32,
     .saves = ECC_SAVES_INPUTS},
    {OP(Abs), .dtype = I32, .since_opset = 1, .forward = ecc_k_abs_i32},
    {OP(Abs), .dtype = I64, .since_opset = 1, .forward = ecc_k_abs_i64},
    {OP(Acos), .dtype = F32, .since_opset = 1, .forward = ecc_k_acos_f32},
    {OP(Acosh), .dtype = F32, .since_opset = 1, .forward = ecc_k_acosh_f32},
    {OP(Add), .dtype = F32, .since_opset = 1, .forward = ecc_k_add_f32,
     .backward = ecc_k_add_back_f32,
     .saves = ECC_SAVES_SHAPES},
    {OP(Add), .dtype = I32, .since_opset = 1, .forward = ecc_k_add_i32},
    {OP(Add), .dtype = I64, .since_opset = 1, .forward = ecc_k_add_i64},
    {OP(And), .dtype = B8, .since_opset = 1, .forward = ecc_k_and_b8},
    {OP(ArgMax), .dtype = F32, .since_opset = 1, .forward = ecc_k_argmax_f32},
    {OP(ArgMin), .dtype = F32, .since_opset = 1, .forward = ecc_k_argmin_f32},
    {OP(Asin), .dtype = F32, .since_opset = 1, .forward = ecc_k_asin_f32},
    {OP(Asinh), .dtype = F32, .since_opset = 1, .forward = ecc_k_asinh_f32},
    {OP(Atan), .dtype = F32, .since_opset = 1, .forward = ecc_k_atan_f32},
    {OP(Atanh), .dtype = F32, .since_opset = 1, .forward = ecc_k_atanh_f32},
    {OP(AveragePool), .dtype = F32, .since_opset = 1, .forward = ecc_k_averagepool_f32,
     .backward = ecc_k_averagepool_back_f32,
     .saves = ECC_SAVES_SHAPES},
    {OP(BatchNormalization), .dtype = F32, .since_opset = 1,
     .forward = ecc_k_batchnormalization_f32,
     .backward = ecc_k_batchnormalization_back_f32,
     .saves = ECC_SAVES_X_FOR_SCALE},
    {OP(Cast), .dtype = ANY, .since_opset = 1, .forward = ecc_k_cast_any},
    {OP(CastLike), .dtype = ANY, .since_opset = 1, .forward = ecc_k_castlike_any},
    {OP(Ceil), .dtype = F32, .since_opset = 1, .forward = ecc_k_ceil_f32},
    {OP(Celu), .dtype = F32, .since_opset = 1, .forward = ecc_k_celu_f32},
    {OP(Clip), .dtype = F32, .since_opset = 1, .forward = ecc_k_clip_f32,
     .backward = ecc_k_clip_back_f32,
     .saves = ECC_SAVES_INPUTS},
    {OP(Clip), .dtype = I32, .since_opset = 1, .forward = ecc_k_clip_i32},
    {OP(Clip), .dtype = I64, .since_opset = 1, .forward = ecc_k_clip_i64},
    {OP(Concat), .dtype = ANY, .since_opset = 1, .forward = ecc_k_concat_any,
     .backward = ecc_k_concat_back_any,
     .saves = ECC_SAVES_SHAPES},
    {OP(Constant), .dtype = ANY, .since_opset = 1, .forward = ecc_k_constant_any},
    {OP(ConstantOfShape), .dtype = I64, .since_opset = 1, .forward = ecc_k_constantofshape_i64},
    {OP(Conv), .dtype = F32, .since_opset = 1, .forward = ecc_k_conv_f32,
     .backward = ecc_k_conv_back_f32,
     .saves = ECC_SAVES_OTHER_OPERAND},
    {OP(ConvInteger), .dtype = U8, .since_opset = 1, .forward = ecc_k_convinteger_u8},
    {OP(ConvInteger), .dtype = I8, .since_opset = 1, .forward = ecc_k_convinteger_i8},
    {OP(ConvTranspose), .dtype = F32, .since_opset = 1, .forward = ecc_k_convtranspose_f32,
     .backward = ecc_k_convtranspose_back_f32,
     .saves = ECC_SAVES_OTHER_OPERAND},
    {OP(Cos), .dtype = F32, .since_opset = 1, .forward = ecc_k_cos_f32,
     .backward = ecc_k_cos_back_f32,
     .saves = ECC_SAVES_INPUTS},
    {OP(Cosh), .dtype = F32, .since_opset = 1, .forward = ecc_k_cosh_f32},
    {OP(DepthToSpace), .dtype = ANY, .since_opset = 1, .forward = ecc_k_depthtospace_any,
     .backward = ecc_k_depthtospace_back_any,
     .saves = ECC_SAVES_SHAPES},
    {OP(DequantizeLinear), .dtype = ANY, .since_opset = 1,
     .forward = ecc_k_dequantizelinear_any},
    {OP(Div), .dtype = F32, .since_opset = 1, .forward = ecc_k_div_f32,
     .backward = ecc_k_div_back_f32,
     .saves = ECC_SAVES_INPUTS},
    {OP(Div), .dtype = I32, .since_opset = 1, .forward = ecc_k_div_i32},
    {OP(Div), .dtype = I64, .since_opset = 1, .forward = ecc_k_div_i64},
    {OP(Dropout), .dtype = ANY, .since_opset = 1, .forward = ecc_k_dropout_any,
     .backward = ecc_k_view_back_any,
     .saves = ECC_SAVES_SHAPES},
    {OP(DynamicQuantizeLinear), .dtype = F32, .since_opset = 1,
     .forward = ecc_k_dynamicquantizelinear_f32},
    {OP(Elu), .dtype = F32, .since_opset = 1, .forward = ecc_k_elu_f32,
     .backward = ecc_k_elu_back_f32,
     .saves = ECC_SAVES_ALL},
    {OP(Equal), .dtype = F32, .since_opset = 1, .forward = ecc_k_equal_f32},
    {OP(Equal), .dtype = I32, .since_opset = 1, .forward = ecc_k_equal_i32},
    {OP(Equal), .dtype = I64, .since_opset = 1, .forward = ecc_k_equal_i64},
    {OP(Equal), .dtype = B8, .since_opset = 1, .forward = ecc_k_equal_b8},
    {OP(Erf), .dtype = F32, .since_opset = 1, .forward = ecc_k_erf_f32,
     .backward = ecc_k_erf_back_f32,
     .saves = ECC_SAVES_INPUTS},
    {OP(Exp), .dtype = F32, .since_opset = 1, .forward = ecc_k_exp_f32,
     .backward = ecc_k_exp_back_f32,
     .saves = ECC_SAVES_OUTPUTS},
    {OP(Expand), .dtype = ANY, .since_opset = 1, .forward = ecc_k_expand_any,
     .backward = ecc_k_expand_back_any,
     .saves = ECC_SAVES_SHAPES},
    {OP(Flatten), .dtype = ANY, .since_opset = 1, .forward = ecc_k_flatten_any,
     .backward = ecc_k_view_back_any,
     .saves = ECC_SAVES_SHAPES},
    {OP(Floor), .dtype = F32, .since_opset = 1, .forward = ecc_k_floor_f32},
    {OP(Gather), .dtype = ANY, .since_opset = 1, .forward = ecc_k_gather_any,
     .backward = ecc_k_gather_back_any,
     .saves = ECC_SAVES_SHAPES},
    {OP(GatherElements), .dtype = ANY, .since_opset = 1, .forward = ecc_k_gatherelements_any,
     .backward = ecc_k_gatherelements_back_any,
     .saves = ECC_SAVES_SHAPES},
    {OP(Gelu), .dtype = F32, .since_opset = 20, .forward = ecc_k_gelu_f32,
     .backward = ecc_k_gelu_back_f32,
     .saves = ECC_SAVES_INPUTS},
    {OP(Gemm), .dtype = F32, .since_opset = 1, .forward = ecc_k_gemm_f32,
     .backward = ecc_k_gemm_back_f32,
     .saves = ECC_SAVES_OTHER_OPERAND},
    {OP(GlobalAveragePool), .dtype = F32, .since_opset = 1,
     .forward = ecc_k_globalaveragepool_f32, .backward = ecc_k_globalaveragepool_back_f32,
     .saves = ECC_SAVES_SHAPES},
    {OP(GlobalMaxPool), .dtype = F32, .since_opset = 1, .forward = ecc_k_globalmaxpool_f32,
     .backward = ecc_k_globalmaxpool_back_f32,
     .saves = ECC_SAVES_INPUTS},
    {OP(Greater), .dtype = F32, .since_opset = 1, .forward = ecc_k_greater_f32},
    {OP(Greater), .dtype = I32, .since_opset = 1, .forward = ecc_k_greater_i32},
    {OP(Greater), .dtype = I64, .since_opset = 1, .forward = ecc_k_greater_i64},
    {OP(GreaterOrEqual), .dtype = F32, .since_opset = 1, .forward = ecc_k_greaterorequal_f32},
    {OP(GreaterOrEqual), .dtype = I32, .since_opset = 1, .forward = ecc_k_greaterorequal_i32},
    {OP(GreaterOrEqual), .dtype = I64, .since_opset = 1, .forward = ecc_k_greaterorequal_i64},
    {OP(HardSigmoid), .dtype = F32, .since_opset = 1, .forward = ecc_k_hardsigmoid_f32,
     .backward = ecc_k_hardsigmoid_back_f32,
     .saves = ECC_SAVES_INPUTS},
    {OP(HardSwish), .dtype = F32, .since_opset = 1, .forward = ecc_k_hardswish_f32,
     .backward = ecc_k_hardswish_back_f32,
     .saves = ECC_SAVES_INPUTS},
    {OP(Identity), .dtype = ANY, .since_opset = 1, .forward = ecc_k_identity_any,
     .backward = ecc_k_view_back_any,
     .saves = ECC_SAVES_SHAPES},
    {OP(InstanceNormalization), .dtype = F32, .since_opset = 1,
     .forward = ecc_k_instancenormalization_f32,
     .backward = ecc_k_instancenormalization_back_f32,
     .saves = ECC_SAVES_INPUTS},
    {OP(IsInf), .dtype = F32, .since_opset = 1, .forward = ecc_k_isinf_f32},
    {OP(IsNaN), .dtype = F32, .since_opset = 1, .forward = ecc_k_isnan_f32},
    {OP(LayerNormalization), .dtype = F32, .since_opset = 17,
     .forward = ecc_k_layernormalization_f32,
     .backward = ecc_k_layernormalization_back_f32,
     .saves = ECC_SAVES_INPUTS},
    {OP(LeakyRelu), .dtype = F32, .since_opset = 1, .forward = ecc_k_leakyrelu_f32,
     .backward = ecc_k_leakyrelu_back_f32,
     .saves = ECC_SAVES_INPUTS},
    {OP(Less), .dtype = F32, .since_opset = 1, .forward = ecc_k_less_f32},
    {OP(Less), .dtype = I32, .since_opset = 1, .forward = ecc_k_less_i32},
    {OP(Less), .dtype = I64, .since_opset = 1, .forward = ecc_k_less_i64},
    {OP(LessOrEqual), .dtype = F32, .since_opset = 1, .forward = ecc_k_lessorequal_f32},
    {OP(LessOrEqual), .dtype = I32, .since_opset = 1, .forward = ecc_k_lessorequal_i32},
    {OP(LessOrEqual), .dtype = I64, .since_opset = 1, .forward = ecc_k_lessorequal_i64},
    {OP(Log), .dtype = F32, .since_opset = 1, .forward = ecc_k_log_f32,
     .backward = ecc_k_log_back_f32,
     .saves = ECC_SAVES_INPUTS},
    {OP(LogSoftmax), .dtype = F32, .since_opset = 1, .forward = ecc_k_logsoftmax_f32,
     .backward = ecc_k_logsoftmax_back_f32,
     .saves = ECC_SAVES_OUTPUTS},
    {OP(LogSoftmax), .dtype = F32, .since_opset = 13, .forward = ecc_k_logsoftmax13_f32,
     .backward = ecc_k_logsoftmax13_back_f32,
     .saves = ECC_SAVES_OUTPUTS},
    {OP(MatMul), .dtype = F32, .since_opset = 1, .forward = ecc_k_matmul_f32,
     .backward = ecc_k_matmul_back_f32,
     .saves = ECC_SAVES_OTHER_OPERAND},
    {OP(MatMulInteger), .dtype = U8, .since_opset = 1, .forward = ecc_k_matmulinteger_u8},
    {OP(MatMulInteger), .dtype = I8, .since_opset = 1, .forward = ecc_k_matmulinteger_i8},
    {OP(Max), .dtype = F32, .since_opset = 1, .forward = ecc_k_max_f32},
    {OP(Max), .dtype = I32, .since_opset = 1, .forward = ecc_k_max_i32},
    {OP(Max), .dtype = I64, .since_opset = 1, .forward = ecc_k_max_i64},
    {OP(MaxPool), .dtype = F32, .since_opset = 1, .forward = ecc_k_maxpool_f32,
     .backward = ecc_k_maxpool_back_f32,
     .saves = ECC_SAVES_INPUTS},
    {OP(Mean), .dtype = F32, .since_opset = 1, .forward = ecc_k_mean_f32},
    {OP(Min), .dtype = F32, .since_opset = 1, .forward = ecc_k_min_f32},
    {OP(Min), .dtype = I32, .since_opset = 1, .forward = ecc_k_min_i32},
    {OP(Min), .dtype = I64, .since_opset = 1, .forward = ecc_k_min_i64},
    {OP(Mish), .dtype = F32, .since_opset = 1, .forward = ecc_k_mish_f32},
    {OP(Mod), .dtype = F32, .since_opset = 1, .forward = ecc_k_mod_f32},
    {OP(Mod), .dtype = I32, .since_opset = 1, .forward = ecc_k_mod_i32},
    {OP(Mod), .dtype = I64, .since_opset = 1, .forward = ecc_k_mod_i64},
    {OP(Mul), .dtype = F32, .since_opset = 1, .forward = ecc_k_mul_f32,
     .backward = ecc_k_mul_back_f32,
     .saves = ECC_SAVES_OTHER_OPERAND},
    {OP(Mul), .dtype = I32, .since_opset = 1, .forward = ecc_k_mul_i32},
    {OP(Mul), .dtype = I64, .since_opset = 1, .forward = ecc_k_mul_i64},
    {OP(Neg), .dtype = F32, .since_opset = 1, .forward = ecc_k_neg_f32,
     .backward = ecc_k_neg_back_f32,
     .saves = ECC_SAVES_SHAPES},
    {OP(Neg), .dtype = I32, .since_opset = 1, .forward = ecc_k_neg_i32},
    {OP(Neg), .dtype = I64, .since_opset = 1, .forward = ecc_k_neg_i64},
    {OP(Not), .dtype = B8, .since_opset = 1, .forward = ecc_k_not_b8},
    {OP(Or), .dtype = B8, .since_opset = 1, .forward = ecc_k_or_b8},
    {OP(PRelu), .dtype = F32, .since_opset = 1, .forward = ecc_k_prelu_f32},
    {OP(Pad), .dtype = ANY, .since_opset = 1, .forward = ecc_k_pad_any,
     .backward = ecc_k_pad_back_any,
     .saves = ECC_SAVES_SHAPES},
    {OP(Pow), .dtype = F32, .since_opset = 1, .forward = ecc_k_pow_f32,
     .backward = ecc_k_pow_back_f32,
     .saves = ECC_SAVES_INPUTS},
    {OP(QLinearConv), .dtype = U8, .since_opset = 1, .forward = ecc_k_qlinearconv_u8},
    {OP(QLinearConv), .dtype = I8, .since_opset = 1, .forward = ecc_k_qlinearconv_i8},
    {OP(QLinearMatMul), .dtype = U8, .since_opset = 1, .forward = ecc_k_qlinearmatmul_u8},
    {OP(QLinearMatMul), .dtype = I8, .since_opset = 1, .forward = ecc_k_qlinearmatmul_i8},
    {OP(QuantizeLinear), .dtype = F32, .since_opset = 1, .forward = ecc_k_quantizelinear_f32},
    {OP(Range), .dtype = ANY, .since_opset = 1, .forward = ecc_k_range_any},
    {OP(Reciprocal), .dtype = F32, .since_opset = 1, .forward = ecc_k_reciprocal_f32,
     .backward = ecc_k_reciprocal_back_f32,
     .saves = ECC_SAVES_OUTPUTS},
    {OP(ReduceL1), .dtype = F32, .since_opset = 1, .forward = ecc_k_reducel1_f32},
    {OP(ReduceL2), .dtype = F32, .since_opset = 1, .forward = ecc_k_reducel2_f32},
    {OP(ReduceLogSum), .dtype = F32, .since_opset = 1, .forward = ecc_k_reducelogsum_f32},
    {OP(ReduceLogSumExp), .dtype = F32, .since_opset = 1, .forward = ecc_k_reducelogsumexp_f32},
    {OP(ReduceMax), .dtype = F32, .since_opset = 1, .forward = ecc_k_reducemax_f32},
    {OP(ReduceMax), .dtype = I64, .since_opset = 1, .forward = ecc_k_reducemax_i64},
    {OP(ReduceMean), .dtype = F32, .since_opset = 1, .forward = ecc_k_reducemean_f32,
     .backward = ecc_k_reducemean_back_f32,
     .saves = ECC_SAVES_SHAPES},
    {OP(ReduceMin), .dtype = F32, .since_opset = 1, .forward = ecc_k_reducemin_f32},
    {OP(ReduceMin), .dtype = I64, .since_opset = 1, .forward = ecc_k_reducemin_i64},
    {OP(ReduceProd), .dtype = F32, .since_opset = 1, .forward = ecc_k_reduceprod_f32},
    {OP(ReduceProd), .dtype = I64, .since_opset = 1, .forward = ecc_k_reduceprod_i64},
    {OP(ReduceSum), .dtype = F32, .since_opset = 1, .forward = ecc_k_reducesum_f32,
     .backward = ecc_k_reducesum_back_f32,
     .saves = ECC_SAVES_SHAPES},
    {OP(ReduceSum), .dtype = I64, .since_opset = 1, .forward = ecc_k_reducesum_i64},
    {OP(ReduceSumSquare), .dtype = F32, .since_opset = 1, .forward = ecc_k_reducesumsquare_f32},
    {OP(Relu), .dtype = F32, .since_opset = 1, .forward = ecc_k_relu_f32,
     .backward = ecc_k_relu_back_f32,
     .saves = ECC_SAVES_OUTPUTS},
    {OP(Reshape), .dtype = ANY, .since_opset = 1, .forward = ecc_k_reshape_any,
     .backward = ecc_k_view_back_any,
     .saves = ECC_SAVES_SHAPES},
    {OP(Resize), .dtype = ANY, .since_opset = 1, .forward = ecc_k_resize_any},
    {OP(Round), .dtype = F32, .since_opset = 1, .forward = ecc_k_round_f32},
    {OP(Selu), .dtype = F32, .since_opset = 1, .forward = ecc_k_selu_f32},
    {OP(Shape), .dtype = ANY, .since_opset = 1, .forward = ecc_k_shape_any},
    {OP(Sigmoid), .dtype = F32, .since_opset = 1, .forward = ecc_k_sigmoid_f32,
     .backward = ecc_k_sigmoid_back_f32,
     .saves = ECC_SAVES_OUTPUTS},
    {OP(Sign), .dtype = F32, .since_opset = 1, .forward = ecc_k_sign_f32},
    {OP(Sign), .dtype = I64, .since_opset = 1, .forward = ecc_k_sign_i64},
    {OP(Sin), .dtype = F32, .since_opset = 1, .forward = ecc_k_sin_f32,
     .backward = ecc_k_sin_back_f32,
     .saves = ECC_SAVES_INPUTS},
    {OP(Sinh), .dtype = F32, .since_opset = 1, .forward = ecc_k_sinh_f32},
    {OP(Size), .dtype = ANY, .since_opset = 1, .forward = ecc_k_size_any},
    {OP(Slice), .dtype = ANY, .since_opset = 1, .forward = ecc_k_slice_any,
     .backward = ecc_k_slice_back_any,
     .saves = ECC_SAVES_SHAPES},
    {OP(Softmax), .dtype = F32, .since_opset = 1, .forward = ecc_k_softmax_f32,
     .backward = ecc_k_softmax_back_f32,
     .saves = ECC_SAVES_OUTPUTS},
    {OP(Softmax), .dtype = F32, .since_opset = 13, .forward = ecc_k_softmax13_f32,
     .backward = ecc_k_softmax13_back_f32,
     .saves = ECC_SAVES_OUTPUTS},
    {OP(Softplus), .dtype = F32, .since_opset = 1, .forward = ecc_k_softplus_f32,
     .backward = ecc_k_softplus_back_f32,
     .saves = ECC_SAVES_INPUTS},
    {OP(Softsign), .dtype = F32, .since_opset = 1, .forward = ecc_k_softsign_f32},
    {OP(SpaceToDepth), .dtype = ANY, .since_opset = 1, .forward = ecc_k_spacetodepth_any,
     .backward = ecc_k_spacetodepth_back_any,
     .saves = ECC_SAVES_SHAPES},
    {OP(Split), .dtype = ANY, .since_opset = 1, .forward = ecc_k_split_any,
     .backward = ecc_k_split_back_any,
     .saves = ECC_SAVES_SHAPES},
    {OP(Sqrt), .dtype = F32, .since_opset = 1, .forward = ecc_k_sqrt_f32,
     .backward = ecc_k_sqrt_back_f32,
     .saves = ECC_SAVES_OUTPUTS},
    {OP(Squeeze), .dtype = ANY, .since_opset = 1, .forward = ecc_k_squeeze_any,
     .backward = ecc_k_view_back_any,
     .saves = ECC_SAVES_SHAPES},
    {OP(Sub), .dtype = F32, .since_opset = 1, .forward = ecc_k_sub_f32,
     .backward = ecc_k_sub_back_f32,
     .saves = ECC_SAVES_SHAPES},
    {OP(Sub), .dtype = I32, .since_opset = 1, .forward = ecc_k_sub_i32},
    {OP(Sub), .dtype = I64, .since_opset = 1, .forward = ecc_k_sub_i64},
    {OP(Sum), .dtype = F32, .since_opset = 1, .forward = ecc_k_sum_f32},
    {OP(Sum), .dtype = I32, .since_opset = 1, .forward = ecc_k_sum_i32},
    {OP(Sum), .dtype = I64, .since_opset = 1, .forward = ecc_k_sum_i64},
    {OP(Tan), .dtype = F32, .since_opset = 1, .forward = ecc_k_tan_f32},
    {OP(Tanh), .dtype = F32, .since_opset = 1, .forward = ecc_k_tanh_f32,
     .backward = ecc_k_tanh_back_f32,
     .saves = ECC_SAVES_OUTPUTS},
    {OP(ThresholdedRelu), .dtype = F32, .since_opset = 1, .forward = ecc_k_thresholdedrelu_f32},
    {OP(Tile), .dtype = ANY, .since_opset = 1, .forward = ecc_k_tile_any,
     .backward = ecc_k_tile_back_any,
     .saves = ECC_SAVES_SHAPES},
    {OP(Transpose), .dtype = ANY, .since_opset = 1, .forward = ecc_k_transpose_any,
     .backward = ecc_k_transpose_back_any,
     .saves = ECC_SAVES_SHAPES},
    {OP(Unsqueeze), .dtype = ANY, .since_opset = 1, .forward = ecc_k_unsqueeze_any,
     .backward = ecc_k_view_back_any,
     .saves = ECC_SAVES_SHAPES},
    {OP(Upsample), .dtype = ANY, .since_opset = 1, .forward = ecc_k_upsample_any},
    {OP(Where), .dtype = ANY, .since_opset = 1, .forward = ecc_k_where_any,
     .backward = ecc_k_where_back_any,
     .saves = ECC_SAVES_SHAPES},
    {OP(Xor), .dtype = B8, .since_opset = 1, .forward = ecc_k_xor_b8},
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
