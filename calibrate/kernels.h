/* kernels.h — internal to calibrate/: the services the interpreter offers
 * kernels (output memory, views, scratch, errors, parallel-for), shared
 * kernel helpers (strict attribute readers, axes, shape tensors, NumPy
 * broadcasting) and the prototype of every kernel in the table.
 *
 * Kernel contract: in[i] is NULL for an empty optional input (and i >= n_in
 * for a missing trailing one); out[j] is NULL for an output the model does
 * not ask for. Every present output must be produced with ecc_kernel_alloc,
 * ecc_kernel_alias or ecc_kernel_const. Everything read from the model is
 * hostile: bad attributes or shapes return ecc_kernel_fail (ECC_E_INPUT,
 * naming the node and op), never a crash. */
#ifndef ECC_KERNELS_H
#define ECC_KERNELS_H

#include "interp.h"

/* Kernel loops are written plainly and left to the vectoriser. -O2's "very
 * cheap" cost model skips every loop whose trip count is not a known
 * multiple of the vector width (all of ours), so kernel files use the
 * dynamic cost model -O3 would use; no-trapping-math lets selects (clamps)
 * be if-converted. Neither changes any computed value (we never enable FP
 * traps). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__OPTIMIZE__)
#pragma GCC optimize("vect-cost-model=dynamic", "no-trapping-math")
#endif

/* The hottest plain loops also get an AVX2 clone, picked once at load time
 * from the CPU (an ifunc) beside the baseline x86-64 one. AVX2 does not
 * bring FMA, so both clones do the same float operations in the same order
 * and give identical values; only the vector width differs. (The direct
 * convolution keeps its own table of variants, kernels_conv_direct.c: its
 * tiles differ in shape per instruction set, use FMA, and tests select each
 * one. Here there is nothing to select: on an AVX2 machine the tests run
 * the AVX2 clone, and the baseline one only where AVX2 is missing.) */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__OPTIMIZE__)
#define ECC_WIDE __attribute__((target_clones("avx2", "default")))
#else
#define ECC_WIDE
#endif

/* Largest byte size of one runtime tensor; beyond it a shape is treated as
 * hostile (ECC_E_INPUT) rather than attempted. */
#define ECC_KERNEL_MAX_BYTES ((int64_t)1 << 34)

/* ---- interpreter services (interp.c) ---- */
/* Output j becomes a view of input in_index (same bytes, new dims; numel
 * must match). Copies instead when the output must outlive the input. */
ecc_status ecc_kernel_alias(ecc_kernel_ctx *k, ecc_rt_tensor *out, size_t in_index,
                            int32_t rank, const int64_t *dims);
/* Output becomes a view of constant memory owned by the model (Constant). */
ecc_status ecc_kernel_const(ecc_kernel_ctx *k, ecc_rt_tensor *out, const void *data,
                            int32_t dtype, int32_t rank, const int64_t *dims);
/* Temporary memory that lives until the kernel returns (64-byte aligned;
 * part of the planned workspace like outputs). */
ecc_status ecc_kernel_scratch(ecc_kernel_ctx *k, size_t bytes, void **out);
/* ECC_E_INPUT with "node 'name' (Op): <detail>". */
ecc_status ecc_kernel_fail(ecc_kernel_ctx *k, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* ECC_FAIL_IF for kernels: ecc_kernel_fail when cond holds, then goto fail. */
#define ECC_KFAIL_IF(cond, k, ...)                                                       \
    do {                                                                                 \
        if (cond) {                                                                      \
            st = ecc_kernel_fail((k), __VA_ARGS__);                                      \
            goto fail;                                                                   \
        }                                                                                \
    } while (0)
ecc_ctx *ecc_kernel_ectx(const ecc_kernel_ctx *k);
const ecc_node *ecc_kernel_node(const ecc_kernel_ctx *k);
int64_t ecc_kernel_opset(const ecc_kernel_ctx *k);
int ecc_kernel_threads(const ecc_kernel_ctx *k);
/* Runs fn over [0, n) split in contiguous chunks, one per thread (tid in
 * [0, threads)); inline when n < 2, one thread, or `work` (roughly the
 * elements touched) is too small to pay for waking the pool. BLAS runs
 * single-threaded throughout a run (see ecc_interp_run). */
typedef void (*ecc_par_fn)(void *arg, int64_t begin, int64_t end, int tid);
void ecc_kernel_parallel(ecc_kernel_ctx *k, int64_t n, int64_t work, ecc_par_fn fn, void *arg);
/* a * b saturating at INT64_MAX (work estimates from hostile shapes). */
static inline int64_t ecc_k_work(int64_t a, int64_t b) {
    int64_t r;
    return ecc_mul_i64(a, b, &r) && r >= 0 ? r : INT64_MAX;
}

/* ---- helpers (kernels_common.c) ---- */
int64_t ecc_rt_numel(const ecc_rt_tensor *t);
/* Bytes per element; 0 for sub-byte and string types. */
size_t ecc_rt_elsize(int32_t dtype);
/* Present input i, or NULL. */
static inline const ecc_rt_tensor *ecc_k_in(const ecc_rt_tensor *const *in, size_t n_in,
                                            size_t i) {
    return i < n_in ? in[i] : NULL;
}
/* Fails unless input i is present. */
ecc_status ecc_k_need(ecc_kernel_ctx *k, const ecc_rt_tensor *const *in, size_t n_in,
                      size_t i, const char *what);
/* Fails unless t has dtype. */
ecc_status ecc_k_dtype(ecc_kernel_ctx *k, const ecc_rt_tensor *t, int32_t dtype,
                       const char *what);
/* Fails unless output 0 is present (kernels that only make sense with it). */
ecc_status ecc_k_out0(ecc_kernel_ctx *k, ecc_rt_tensor *const *out, size_t n_out);

/* Strict attribute readers: absent → default; present with another type →
 * ECC_E_INPUT naming the attribute. */
ecc_status ecc_ka_int(ecc_kernel_ctx *k, const char *name, int64_t dflt, int64_t *out);
ecc_status ecc_ka_float(ecc_kernel_ctx *k, const char *name, float dflt, float *out);
ecc_status ecc_ka_string(ecc_kernel_ctx *k, const char *name, const char *dflt,
                         const char **out);
/* INTS: *n = 0 and *v = NULL when absent; more than max entries → error. */
ecc_status ecc_ka_ints(ecc_kernel_ctx *k, const char *name, size_t max, const int64_t **v,
                       size_t *n);
ecc_status ecc_ka_floats(ecc_kernel_ctx *k, const char *name, size_t max, const float **v,
                         size_t *n);

/* axis in [-rank, rank-1] → [0, rank-1]. */
ecc_status ecc_k_axis(ecc_kernel_ctx *k, int64_t axis, int32_t rank, const char *what,
                      int32_t *out);
/* Reads an int32/int64 scalar or 1-D tensor of at most max elements into v;
 * *n its length. */
ecc_status ecc_k_ints(ecc_kernel_ctx *k, const ecc_rt_tensor *t, const char *what, size_t max,
                      int64_t *v, size_t *n);
/* Element i of a numeric tensor as double (float16/bfloat16/bool/ints). */
double ecc_rt_get_f64(const ecc_rt_tensor *t, int64_t i);
/* Scalar (numel 1) numeric tensor as double. */
ecc_status ecc_k_scalar(ecc_kernel_ctx *k, const ecc_rt_tensor *t, const char *what,
                        double *out);
/* Product of dims[begin, end). */
int64_t ecc_k_prod(const int64_t *dims, int32_t begin, int32_t end);
/* Checks a dims vector from the model (shape tensors): non-negative, numel
 * and bytes within ECC_KERNEL_MAX_BYTES. */
ecc_status ecc_k_check_dims(ecc_kernel_ctx *k, int32_t dtype, int32_t rank,
                            const int64_t *dims, const char *what);

/* NumPy multidirectional broadcasting of up to ECC_BC_MAX inputs, coalesced
 * for iteration: the innermost dimension has stride 0 or 1 per input. */
#define ECC_BC_MAX 3
typedef struct ecc_bcast {
    int n;                          /* inputs */
    int32_t out_rank;               /* rank of the broadcast shape */
    int64_t out_dims[ECC_MAX_RANK];
    int64_t numel;
    int32_t rank;                   /* coalesced rank (>= 1) */
    int64_t dims[ECC_MAX_RANK];
    int64_t strides[ECC_BC_MAX][ECC_MAX_RANK]; /* in elements, 0 = broadcast */
} ecc_bcast;
/* Plans broadcasting of ts[0..n) (n <= ECC_BC_MAX). Incompatible → error. */
ecc_status ecc_k_bcast(ecc_kernel_ctx *k, const ecc_rt_tensor *const *ts, int n, ecc_bcast *b);
/* Same, from raw shapes. */
ecc_status ecc_k_bcast_dims(ecc_kernel_ctx *k, int n, const int32_t *ranks,
                            const int64_t *const *dims, ecc_bcast *b);
/* Calls row(arg, out_off, in_off[], len, in_stride[]) for every innermost row;
 * offsets in elements. */
typedef void (*ecc_bc_row_fn)(void *arg, int64_t out_off, const int64_t *in_off, int64_t len,
                              const int64_t *in_stride);
void ecc_bc_each(const ecc_bcast *b, ecc_bc_row_fn row, void *arg);

/* Copies src into the already allocated dst, broadcasting src (same dtype). */
ecc_status ecc_k_broadcast_copy(ecc_kernel_ctx *k, const ecc_rt_tensor *src, ecc_rt_tensor *dst);

/* ---- gradient helpers (kernels_common.c) ---- */
/* dst += scale * g summed over the dimensions along which dst broadcasts to
 * g's shape (NumPy rules): the gradient of a broadcast input. Serial, so the
 * sums never depend on the thread count. */
ecc_status ecc_k_unbroadcast_add(ecc_kernel_ctx *k, const ecc_rt_tensor *g, ecc_rt_tensor *dst,
                                 float scale);
/* dst += scale * src broadcast to dst's shape. */
ecc_status ecc_k_broadcast_add(ecc_kernel_ctx *k, const ecc_rt_tensor *src, ecc_rt_tensor *dst,
                               float scale);

/* ---- kernel prototypes ---- */
/* Backward kernels: ecc_k_<op>_back_<dtype>, contract in interp.h. */
#define ECC_BACKWARD_PROTO(name)                                                         \
    ecc_status name(ecc_kernel_ctx *k, const ecc_node *node, const ecc_rt_tensor *const *in, \
                    size_t n_in, const ecc_rt_tensor *const *out,                        \
                    const ecc_rt_tensor *const *dout, size_t n_out, ecc_rt_tensor *const *din)
#define ECC_KERNEL_PROTO(name)                                                           \
    ecc_status name(ecc_kernel_ctx *k, const ecc_node *node, const ecc_rt_tensor *const *in, \
                    size_t n_in, ecc_rt_tensor *const *out, size_t n_out)
/* ecc_k_<name>_u8 and ecc_k_<name>_i8: both table entries run fn(k, in, n_in,
 * out, n_out), one implementation that checks the integer dtypes itself. */
#define ECC_KERNEL_U8_I8(name, fn)                                                       \
    ECC_KERNEL_PROTO(ecc_k_##name##_u8) {                                                \
        (void)node;                                                                      \
        return fn(k, in, n_in, out, n_out);                                              \
    }                                                                                    \
    ECC_KERNEL_PROTO(ecc_k_##name##_i8) {                                                \
        (void)node;                                                                      \
        return fn(k, in, n_in, out, n_out);                                              \
    }

/* Backward kernels (same files as their forward ones). */
#define ECC_K_BACKWARD_F32(X)                                                          \
    X(abs) X(neg) X(sqrt) X(exp) X(log) X(reciprocal) X(relu) X(leakyrelu) X(sigmoid)    \
    X(hardsigmoid) X(hardswish) X(tanh) X(erf) X(gelu) X(softplus) X(elu) X(clip) X(sin) \
    X(cos) X(add) X(sub) X(mul) X(div) X(pow) X(gemm) X(matmul) X(reducemean)            \
    X(reducesum) X(conv) X(convtranspose) X(maxpool) X(averagepool) X(globalaveragepool) \
    X(globalmaxpool) X(batchnormalization) X(layernormalization)                         \
    X(instancenormalization) X(softmax) X(softmax13) X(logsoftmax) X(logsoftmax13)
#define ECC_X_DECL(op) ECC_BACKWARD_PROTO(ecc_k_##op##_back_f32);
ECC_K_BACKWARD_F32(ECC_X_DECL)
#undef ECC_X_DECL
ECC_BACKWARD_PROTO(ecc_k_view_back_any);
/* Backward kernels of dtype-generic rows (ecc_k_<op>_back_any; float32 data
 * only, others refused): kernels_data.c, and Where in kernels_elementwise.c. */
#define ECC_K_BACKWARD_ANY(X)                                                          \
    X(transpose) X(concat) X(split) X(slice) X(gather) X(gatherelements) X(expand)       \
    X(tile) X(pad) X(depthtospace) X(spacetodepth) X(where)
#define ECC_X_DECL(op) ECC_BACKWARD_PROTO(ecc_k_##op##_back_any);
ECC_K_BACKWARD_ANY(ECC_X_DECL)
#undef ECC_X_DECL

/* kernels_elementwise.c */
#define ECC_K_UNARY_F32(X)                                                               \
    X(abs) X(neg) X(sqrt) X(exp) X(log) X(reciprocal) X(relu) X(leakyrelu) X(sigmoid)    \
    X(hardsigmoid) X(hardswish) X(tanh) X(erf) X(gelu) X(floor) X(ceil) X(round)         \
    X(sin) X(cos) X(softplus) X(elu) X(selu) X(sign) X(clip) X(celu) X(mish) X(softsign)\
    X(thresholdedrelu) X(tan) X(asin) X(acos) X(atan) X(sinh) X(cosh) X(asinh) X(acosh)    \
    X(atanh)
#define ECC_X_DECL(op) ECC_KERNEL_PROTO(ecc_k_##op##_f32);
ECC_K_UNARY_F32(ECC_X_DECL)
#undef ECC_X_DECL
ECC_KERNEL_PROTO(ecc_k_abs_i64);
ECC_KERNEL_PROTO(ecc_k_abs_i32);
ECC_KERNEL_PROTO(ecc_k_neg_i64);
ECC_KERNEL_PROTO(ecc_k_neg_i32);
ECC_KERNEL_PROTO(ecc_k_sign_i64);
ECC_KERNEL_PROTO(ecc_k_clip_i64);
ECC_KERNEL_PROTO(ecc_k_clip_i32);
ECC_KERNEL_PROTO(ecc_k_prelu_f32);
#define ECC_K_BINARY(X)                                                                  \
    X(add) X(sub) X(mul) X(div)
#define ECC_X_DECL(op)                                                                   \
    ECC_KERNEL_PROTO(ecc_k_##op##_f32);                                                  \
    ECC_KERNEL_PROTO(ecc_k_##op##_i64);                                                  \
    ECC_KERNEL_PROTO(ecc_k_##op##_i32);
ECC_K_BINARY(ECC_X_DECL)
ECC_X_DECL(min)
ECC_X_DECL(max)
ECC_X_DECL(sum)
ECC_X_DECL(equal)
ECC_X_DECL(less)
ECC_X_DECL(greater)
ECC_X_DECL(lessorequal)
ECC_X_DECL(greaterorequal)
ECC_X_DECL(mod)
#undef ECC_X_DECL
ECC_KERNEL_PROTO(ecc_k_mean_f32);
ECC_KERNEL_PROTO(ecc_k_pow_f32);
ECC_KERNEL_PROTO(ecc_k_equal_b8);
ECC_KERNEL_PROTO(ecc_k_not_b8);
ECC_KERNEL_PROTO(ecc_k_and_b8);
ECC_KERNEL_PROTO(ecc_k_or_b8);
ECC_KERNEL_PROTO(ecc_k_xor_b8);
ECC_KERNEL_PROTO(ecc_k_isnan_f32);
ECC_KERNEL_PROTO(ecc_k_isinf_f32);
ECC_KERNEL_PROTO(ecc_k_where_any);

/* kernels_gemm.c */
ECC_KERNEL_PROTO(ecc_k_gemm_f32);
ECC_KERNEL_PROTO(ecc_k_matmul_f32);
ECC_KERNEL_PROTO(ecc_k_matmulinteger_u8);
ECC_KERNEL_PROTO(ecc_k_matmulinteger_i8);

/* kernels_conv.c */
ECC_KERNEL_PROTO(ecc_k_conv_f32);
ECC_KERNEL_PROTO(ecc_k_convtranspose_f32);
ECC_KERNEL_PROTO(ecc_k_convinteger_u8);
ECC_KERNEL_PROTO(ecc_k_convinteger_i8);
ECC_KERNEL_PROTO(ecc_k_qlinearconv_u8);
ECC_KERNEL_PROTO(ecc_k_qlinearconv_i8);

/* kernels_pool.c */
ECC_KERNEL_PROTO(ecc_k_maxpool_f32);
ECC_KERNEL_PROTO(ecc_k_averagepool_f32);
ECC_KERNEL_PROTO(ecc_k_globalaveragepool_f32);
ECC_KERNEL_PROTO(ecc_k_globalmaxpool_f32);

/* kernels_norm.c */
ECC_KERNEL_PROTO(ecc_k_batchnormalization_f32);
ECC_KERNEL_PROTO(ecc_k_layernormalization_f32);
ECC_KERNEL_PROTO(ecc_k_instancenormalization_f32);
ECC_KERNEL_PROTO(ecc_k_softmax_f32);
ECC_KERNEL_PROTO(ecc_k_softmax13_f32);
ECC_KERNEL_PROTO(ecc_k_logsoftmax_f32);
ECC_KERNEL_PROTO(ecc_k_logsoftmax13_f32);

/* kernels_reduce.c */
ECC_KERNEL_PROTO(ecc_k_reducemean_f32);
ECC_KERNEL_PROTO(ecc_k_reducesum_f32);
ECC_KERNEL_PROTO(ecc_k_reducesum_i64);
ECC_KERNEL_PROTO(ecc_k_reducemax_f32);
ECC_KERNEL_PROTO(ecc_k_reducemax_i64);
ECC_KERNEL_PROTO(ecc_k_reducemin_f32);
ECC_KERNEL_PROTO(ecc_k_reducemin_i64);
ECC_KERNEL_PROTO(ecc_k_reduceprod_f32);
ECC_KERNEL_PROTO(ecc_k_reduceprod_i64);
ECC_KERNEL_PROTO(ecc_k_reducel2_f32);
ECC_KERNEL_PROTO(ecc_k_reducesumsquare_f32);
ECC_KERNEL_PROTO(ecc_k_reducel1_f32);
ECC_KERNEL_PROTO(ecc_k_reducelogsum_f32);
ECC_KERNEL_PROTO(ecc_k_reducelogsumexp_f32);
ECC_KERNEL_PROTO(ecc_k_argmax_f32);
ECC_KERNEL_PROTO(ecc_k_argmin_f32);

/* kernels_shape.c: metadata and views */
ECC_KERNEL_PROTO(ecc_k_reshape_any);
ECC_KERNEL_PROTO(ecc_k_flatten_any);
ECC_KERNEL_PROTO(ecc_k_squeeze_any);
ECC_KERNEL_PROTO(ecc_k_unsqueeze_any);
ECC_KERNEL_PROTO(ecc_k_identity_any);
ECC_KERNEL_PROTO(ecc_k_dropout_any);
ECC_KERNEL_PROTO(ecc_k_shape_any);
ECC_KERNEL_PROTO(ecc_k_size_any);
ECC_KERNEL_PROTO(ecc_k_constant_any);
ECC_KERNEL_PROTO(ecc_k_constantofshape_i64);
ECC_KERNEL_PROTO(ecc_k_range_any);

/* kernels_data.c: data movement */
ECC_KERNEL_PROTO(ecc_k_transpose_any);
ECC_KERNEL_PROTO(ecc_k_concat_any);
ECC_KERNEL_PROTO(ecc_k_split_any);
ECC_KERNEL_PROTO(ecc_k_slice_any);
ECC_KERNEL_PROTO(ecc_k_gather_any);
ECC_KERNEL_PROTO(ecc_k_gatherelements_any);
ECC_KERNEL_PROTO(ecc_k_expand_any);
ECC_KERNEL_PROTO(ecc_k_tile_any);
ECC_KERNEL_PROTO(ecc_k_pad_any);
ECC_KERNEL_PROTO(ecc_k_depthtospace_any);
ECC_KERNEL_PROTO(ecc_k_spacetodepth_any);

/* kernels_cast.c */
ECC_KERNEL_PROTO(ecc_k_cast_any);
ECC_KERNEL_PROTO(ecc_k_castlike_any);

/* kernels_resize.c */
ECC_KERNEL_PROTO(ecc_k_resize_any);
ECC_KERNEL_PROTO(ecc_k_upsample_any);

/* kernels_quant.c */
ECC_KERNEL_PROTO(ecc_k_quantizelinear_f32);
ECC_KERNEL_PROTO(ecc_k_dequantizelinear_any);
ECC_KERNEL_PROTO(ecc_k_dynamicquantizelinear_f32);
ECC_KERNEL_PROTO(ecc_k_qlinearmatmul_u8);
ECC_KERNEL_PROTO(ecc_k_qlinearmatmul_i8);

/* ---- shared pieces between families ---- */
/* Round to nearest, ties to even, whatever the FPU rounding mode is. */
static inline float ecc_round_even_f(float v) {
    float r = __builtin_roundf(v);
    if (__builtin_fabsf(v - __builtin_truncf(v)) == 0.5f) r = 2.0f * __builtin_roundf(v / 2.0f);
    return r;
}
static inline double ecc_round_even(double v) {
    double r = __builtin_round(v);
    if (__builtin_fabs(v - __builtin_trunc(v)) == 0.5) r = 2.0 * __builtin_round(v / 2.0);
    return r;
}
/* erf in double arithmetic from a rational approximation on [-4, 4] (the
 * XLA/Eigen coefficients): within 2 ulp of libm's erff, and vectorisable. */
static inline float ecc_erf_f(float xf) {
    double x = (double)xf;
    x = x < -4.0 ? -4.0 : x;
    x = x > 4.0 ? 4.0 : x;
    double x2 = x * x;
    double p = x2 * -2.72614225801306e-10 + 2.77068142495902e-08;
    p = x2 * p + -2.10102402082508e-06;
    p = x2 * p + -5.69250639462346e-05;
    p = x2 * p + -7.34990630326855e-04;
    p = x2 * p + -2.95459980854025e-03;
    p = x2 * p + -1.60960333262415e-02;
    double q = x2 * -1.45660718464996e-05 + -2.13374055278905e-04;
    q = x2 * q + -1.68282697438203e-03;
    q = x2 * q + -7.37332916720468e-03;
    q = x2 * q + -1.42647390514189e-02;
    return (float)(x * p / q);
}
/* Sum of n floats in double with four independent accumulators. */
static inline double ecc_sum_f64(const float *x, int64_t n) {
    double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        a0 += x[i];
        a1 += x[i + 1];
        a2 += x[i + 2];
        a3 += x[i + 3];
    }
    for (; i < n; i++) a0 += x[i];
    return (a0 + a1) + (a2 + a3);
}
/* Sum of (x - mu)^2 in double, four accumulators. */
static inline double ecc_sumsq_f64(const float *x, int64_t n, double mu) {
    double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        double d0 = x[i] - mu, d1 = x[i + 1] - mu, d2 = x[i + 2] - mu, d3 = x[i + 3] - mu;
        a0 += d0 * d0;
        a1 += d1 * d1;
        a2 += d2 * d2;
        a3 += d3 * d3;
    }
    for (; i < n; i++) a0 += (x[i] - mu) * (x[i] - mu);
    return (a0 + a1) + (a2 + a3);
}

/* Quantized integer element i (int8/uint8/int4/uint4/int32, packed) as int32. */
int32_t ecc_q_get(const void *data, int32_t dtype, int64_t i);
/* Lowest/highest representable value of a quantized dtype; false if unsupported. */
bool ecc_q_range(int32_t dtype, int32_t *lo, int32_t *hi);
/* C = alpha op(A) op(B) + beta C (row major, BLAS argument order) split over
 * the interpreter's pool along the longer of C's two sides; k NULL: on the
 * calling thread (inside a parallel region). Sizes must already fit BLAS's
 * int. */
void ecc_k_sgemm(ecc_kernel_ctx *k, bool ta, bool tb, int64_t m, int64_t n, int64_t kk,
                 float alpha, const float *a, int64_t lda, const float *b, int64_t ldb,
                 float beta, float *c, int64_t ldc);
/* Exact integer GEMM through double: C[m,n] = sum_k A[m,k] * B[k,n] (row major). */
void ecc_k_dgemm(int64_t m, int64_t n, int64_t kk, const double *a, const double *b, double *c);

/* Table lookup ignoring the dtype (create time, before dtypes are known). */
bool ecc_kernel_op_known(const char *op, int64_t opset);

#endif
