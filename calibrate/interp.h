/* interp.h — the CPU reference interpreter: plan a graph once (topological
 * order, liveness, buffer reuse, one workspace reused across batches), then
 * run it batch after batch. Kernels live in a table (op, dtype) → forward
 * and backward functions. Activations stay addressable by value so
 * calibration observers and training can read them. Pruning masks are
 * honoured: a run sees every masked float weight as lowering will make it. */
#ifndef ECC_INTERP_H
#define ECC_INTERP_H

#include "ir.h"

#define ECC_MAX_RANK 8

/* A runtime tensor: dtype, dims and a data pointer (not owned unless the API
 * says so). Data is dense, C order, little endian; 4-bit types packed. */
typedef struct ecc_rt_tensor {
    int32_t dtype;
    int32_t rank;
    int64_t dims[ECC_MAX_RANK];
    void *data;
    size_t nbytes;
} ecc_rt_tensor;

typedef struct ecc_interp ecc_interp;

/* Index of the largest of v[0..n) (ties: the first): the top-1 class of a
 * row of logits. */
static inline int64_t ecc_argmax_f32(const float *v, int64_t n) {
    int64_t best = 0;
    for (int64_t i = 1; i < n; i++)
        if (v[i] > v[best]) best = i;
    return best;
}

/* Called after each node with every output it produced (for observers).
 * Return non-zero to stop the run with ECC_E_INTERNAL. */
typedef int (*ecc_observe_fn)(void *user, const ecc_node *node, uint32_t out_slot,
                              const ecc_value *value, const ecc_rt_tensor *t);

typedef struct ecc_interp_options {
    uint32_t struct_size;     /* sizeof(ecc_interp_options) */
    int threads;              /* 0 = all cores */
    int64_t max_batch;        /* largest batch planned for (symbolic batch dims) */
    const char *const *keep;  /* value names to keep readable after a run (NULL-terminated) */
    ecc_observe_fn observe;   /* may be NULL */
    void *observe_user;
    /* Training. params: float32 initializers (NULL-terminated names) the
     * interpreter reads from its own copy (ecc_interp_param), so a caller can
     * update them between runs; nodes reading them are never folded. The copy
     * starts as the weight lowering would make it (mask applied). With
     * params, a run keeps the activations the backward kernels read (each
     * kernel row's `saves`) and reuses the rest. keep_all: every activation
     * stays in memory until the next run (a reference for tests). */
    const char *const *params;
    bool keep_all;
    /* fake_quant: quantizer annotations with scales are simulated as lowering
     * will deploy them: a weight is read quantize-dequantized by its
     * quantizer (a trained one anew each run, from the float copy the
     * optimizer updates), a per-tensor activation or graph input is rounded
     * as it is produced; gradients pass straight through inside each
     * clipping range and are zero outside it. */
    bool fake_quant;
    /* learn_scales (with fake_quant): a trained weight's quantizer scales, and
     * the activation scales on trained paths, are parameters too
     * (ecc_interp_param_scales, ecc_interp_act_scales), with LSQ gradients. */
    bool learn_scales;
} ecc_interp_options;

/* Plans model for execution. Every node must have a kernel: otherwise
 * ECC_E_INPUT naming the node and op ("node 'x' (Foo): no kernel for Foo
 * (float32)") before anything runs. model must outlive the interpreter.
 * Initializers are read in place, except a float one with a mask (ecc_mask
 * whose keep has its element count): that one is copied here with the
 * removed weights zeroed, once (the copy is the interpreter's, freed with it;
 * the model is never written; later changes to that weight are not seen).
 * Without an observer, a node whose inputs are all initializers (a
 * DequantizeLinear of a quantized weight, a Constant, a Reshape of an
 * initializer) runs once here and its outputs are kept as constants; with
 * one, every node runs in every run so the observer sees its outputs. A
 * node that fails here is run, and fails, in each run as before. */
ecc_status ecc_interp_create(ecc_ctx *ctx, const ecc_model *model,
                             const ecc_interp_options *opts, ecc_interp **out);
void ecc_interp_free(ecc_interp *it); /* NULL is a no-op */

size_t ecc_interp_input_count(const ecc_interp *it);
const ecc_value *ecc_interp_input(const ecc_interp *it, size_t i);   /* graph input (not initializers) */
size_t ecc_interp_output_count(const ecc_interp *it);
const ecc_value *ecc_interp_output(const ecc_interp *it, size_t i);

/* Runs one batch. inputs[i] feeds ecc_interp_input(it, i); shapes and dtypes
 * are checked against the model (ECC_E_INPUT naming the input). Outputs are
 * owned by the interpreter and valid until the next run or free. */
ecc_status ecc_interp_run(ecc_ctx *ctx, ecc_interp *it, const ecc_rt_tensor *inputs,
                          size_t n_inputs);
const ecc_rt_tensor *ecc_interp_result(const ecc_interp *it, size_t output_index);
/* A kept value (opts->keep) after the last run, or NULL. */
const ecc_rt_tensor *ecc_interp_value(const ecc_interp *it, const char *name);
/* Bytes of activation workspace the last run used: the planned arena plus
 * any memory outside the plan. Weights (masked copies included) and inputs
 * are not counted. */
size_t ecc_interp_workspace_bytes(const ecc_interp *it);

/* ---- training (backward.c) ---- */
/* Parameters named in ecc_interp_options.params, in that order. */
size_t ecc_interp_param_count(const ecc_interp *it);
const ecc_value *ecc_interp_param_value(const ecc_interp *it, size_t i);
/* The parameter's float32 data (numel elements), owned by the interpreter;
 * the caller may write it between runs. */
float *ecc_interp_param(ecc_interp *it, size_t i);
/* Gradients of the last ecc_interp_backward, numel floats per parameter
 * (zeros where no gradient reached it), owned by the interpreter; NULL before
 * the first backward. */
float *ecc_interp_param_grad(const ecc_interp *it, size_t i);
/* With learn_scales: parameter i's quantizer scales as the runs use them
 * (*n floats, one per group; the caller may write them between runs) and
 * their gradient after a backward; NULL (and *n = 0) when it has none. */
float *ecc_interp_param_scales(ecc_interp *it, size_t i, int64_t *n);
float *ecc_interp_param_scale_grad(const ecc_interp *it, size_t i);
/* With learn_scales: the scales of the simulated activation quantizers on a
 * trained path, one per scale tensor (values tied to one scale share it):
 * count, values (writable between runs), gradients after a backward, and
 * the quantizer each belongs to. */
size_t ecc_interp_act_scale_count(const ecc_interp *it);
float *ecc_interp_act_scales(ecc_interp *it);
float *ecc_interp_act_scale_grads(const ecc_interp *it);
const ecc_quantizer *ecc_interp_act_scale_quantizer(const ecc_interp *it, size_t i);
/* Reverse-mode gradients of the last run. dout[i] is d(loss)/d(output i)
 * with that output's dtype and dims, or NULL (no gradient through it). Needs
 * the run's inputs still valid. Every node between a parameter
 * and a graph output must have a backward kernel; one without is refused
 * naming the node (ecc_interp_create already checks the model's declared
 * types). Deterministic: same bytes for any thread count. */
ecc_status ecc_interp_backward(ecc_ctx *ctx, ecc_interp *it, const ecc_rt_tensor *const *dout);
/* Peak bytes of gradient buffers during the last backward (parameter
 * gradients included). */
size_t ecc_interp_grad_peak_bytes(const ecc_interp *it);

/* Can fake_quant simulate v's quantizer (NULL reason) or not (a short
 * reason: no scales, a dynamic or per-axis activation quantizer)? A 32-bit
 * bias quantizer is read in float, as its rounding is below float32's. */
const char *ecc_interp_quant_unsupported(const ecc_value *v);

/* ---- kernel table ---- */
typedef struct ecc_kernel_ctx ecc_kernel_ctx; /* threads, scratch, ctx for errors */

typedef ecc_status (*ecc_kernel_fn)(ecc_kernel_ctx *k, const ecc_node *node,
                                    const ecc_rt_tensor *const *in, size_t n_in,
                                    ecc_rt_tensor *const *out, size_t n_out);

/* Backward kernel: given the forward's inputs and outputs (dims always;
 * data only where the row's `saves` says the kernel reads it, else NULL) and
 * dout[j] = d(loss)/d(output j) (NULL: no gradient through output j, read as
 * zeros),
 * adds d(loss)/d(input i) into din[i] for every non-NULL din[i]. din[i] comes
 * allocated with input i's dtype and dims and zeroed. Scratch comes from
 * ecc_kernel_scratch; ecc_kernel_alloc is not for backward kernels. The
 * result must not depend on the thread count: work is split over output
 * elements of din, never over a reduction. */
typedef ecc_status (*ecc_backward_fn)(ecc_kernel_ctx *k, const ecc_node *node,
                                      const ecc_rt_tensor *const *in, size_t n_in,
                                      const ecc_rt_tensor *const *out,
                                      const ecc_rt_tensor *const *dout, size_t n_out,
                                      ecc_rt_tensor *const *din);

/* What a backward kernel reads besides dout and the shapes, so a training
 * run keeps only those activations (inputs that are not float32 — indices,
 * shapes, conditions — are always kept). */
typedef enum ecc_saves {
    ECC_SAVES_ALL = 0,        /* every input and output (the safe default) */
    ECC_SAVES_SHAPES,         /* nothing but shapes */
    ECC_SAVES_INPUTS,         /* the float inputs */
    ECC_SAVES_OUTPUTS,        /* the outputs */
    ECC_SAVES_OTHER_OPERAND,  /* bilinear in inputs 0 and 1 (Conv, Gemm, MatMul, Mul): each
                                 one's gradient reads the other; a bias reads nothing */
    ECC_SAVES_X_FOR_SCALE,    /* BatchNormalization: x only for the scale and variance
                                 gradients; the other inputs always */
} ecc_saves;

typedef struct ecc_kernel_entry {
    const char *op;           /* ONNX op_type, default domain */
    int32_t dtype;            /* dtype of the first input it handles; 0 = any */
    int since_opset;          /* first opset with these semantics */
    ecc_kernel_fn forward;
    ecc_backward_fn backward; /* NULL: not differentiable here */
    ecc_saves saves;          /* what backward reads (with backward only) */
} ecc_kernel_entry;

/* Kernel side: sets out's dtype and dims and gives it memory from the
 * interpreter's workspace, valid until the run ends (or, for outputs and
 * kept values, until the next run). Rank above ECC_MAX_RANK, negative dims or
 * an absurd size → ECC_E_INPUT naming the node. */
ecc_status ecc_kernel_alloc(ecc_kernel_ctx *k, ecc_rt_tensor *out, int32_t dtype, int32_t rank,
                            const int64_t *dims);

/* The kernel for op/dtype at opset (entries for this dtype first, then
 * dtype-generic ones), or NULL. */
const ecc_kernel_entry *ecc_kernel_find(const char *op, int32_t dtype, int64_t opset);
/* Every entry, for `ecc ops`. */
const ecc_kernel_entry *ecc_kernel_table(size_t *count);

#endif
