/* interp_internal.h — internal to calibrate/: the interpreter's state
 * (value slots, planned buffers, nodes in execution order, the kernel
 * context), shared by the forward runner (interp.c) and the backward pass
 * (backward.c). Nothing outside calibrate/ includes it. */
#ifndef ECC_INTERP_INTERNAL_H
#define ECC_INTERP_INTERNAL_H

#include "kernels.h"
#include "weight_view.h"

#define ECC_BUF_EXTERNAL (-1) /* caller input, initializer, Constant attribute */
#define ECC_BUF_FALLBACK (-2) /* outside the plan, freed at the next run */
#define ECC_BUF_NONE (-3)     /* nothing recorded */
#define ECC_LIFE_END UINT32_MAX
#define ECC_ALIGN 64

/* n rounded up to ECC_ALIGN (buffer sizes of the workspace and scratch). */
static inline size_t ecc_align_up(size_t n) {
    return (n + ECC_ALIGN - 1) & ~(size_t)(ECC_ALIGN - 1);
}

typedef struct ecc_slot {
    ecc_rt_tensor t;
    const ecc_value *v;
    int32_t buf;          /* buffer index, or ECC_BUF_* */
    uint32_t n_uses;      /* node input slots reading it */
    bool pinned;          /* graph output or kept: never reused */
    bool is_const;        /* initializer: set once at create */
    void *copy;           /* initializer's own copy: masked, or a trained parameter
                             (owned), or NULL */
    void *folded;         /* output of a node folded at create (owned), or NULL */
    bool is_input;
    bool produced;
    bool trainable;       /* a parameter (ecc_interp_options.params): read from copy */
    bool needs_grad;      /* a float value that depends on a parameter */
    /* simulated quantization (ecc_interp_options.fake_quant) */
    ecc_wview *wview;     /* a trained parameter's quantizer view (owned), or NULL */
    float *view;          /* what runs read of that parameter: wview of copy (owned) */
    float *scale, *scale_grad; /* learned quantizer scales and their gradient (owned) */
    int64_t n_scale;
    const ecc_quantizer *act_q; /* activation rounded as it is produced, or NULL */
    bool own_data;        /* never a view of another value's memory (rounded in place) */
    uint8_t *clip;        /* per element of the last run: outside the clipping range */
    size_t clip_cap;      /* bytes allocated at clip */
    int32_t act_scale;    /* learn_scales: its learned scale (it->act_scale), or -1 */
    float *lsq;           /* per element of the last run: d value / d scale (owned) */
    size_t lsq_cap;       /* floats allocated at lsq */
} ecc_slot;

typedef struct ecc_buffer {
    size_t size, offset;
    uint32_t first, last;
    int64_t pending;      /* record mode: uses still to come */
    bool pinned;
    void *mem;            /* record mode: malloc'd until its last use */
} ecc_buffer;

typedef struct ecc_alloc_rec {
    int32_t buf;
    int32_t out_slot;     /* output index, or -1 for scratch */
    size_t size;
} ecc_alloc_rec;

typedef struct ecc_inode {
    const ecc_node *node;
    const ecc_kernel_entry *kern;
    int32_t kern_dtype;
    uint32_t io;          /* first entry in it->io: inputs then outputs */
    uint32_t plan_off, plan_n;
    bool grad_path;       /* its float outputs depend on a parameter (backward runs it) */
} ecc_inode;

typedef struct ecc_pool ecc_pool;

/* A block of backward memory (gradient or scratch) and its aligned size. */
typedef struct ecc_gblock {
    void *p;
    size_t bytes;
} ecc_gblock;

struct ecc_interp {
    const ecc_model *model;
    const ecc_graph *g;
    int64_t opset;
    int threads;
    ecc_observe_fn observe;
    void *observe_user;
    int64_t max_batch;
    bool fake_quant;          /* weights and activations read as quantized (annotations) */
    bool learn_scales;        /* trained weights' quantizer scales train too (LSQ) */
    float *act_scale, *act_scale_grad; /* learned activation scales, one per scale tensor */
    const ecc_quantizer **act_scale_q; /* the quantizer each was first seen on */
    size_t n_act_scales;
    /* values */
    ecc_slot *slots;
    size_t n_slots;
    int32_t *slot_of_id;      /* value id → slot, -1 */
    uint32_t n_ids;
    int32_t *inputs, *outputs; /* slot per graph input (non-initializer) / output */
    size_t n_inputs, n_outputs;
    int32_t *kept;
    size_t n_kept;
    /* nodes in execution order */
    ecc_inode *nodes;
    size_t n_nodes;
    int32_t *io;              /* slot per node input / output, -1 = absent */
    int32_t *out_alias;       /* per io entry (outputs): buffer aliased when recorded */
    size_t n_io;
    const ecc_rt_tensor **in_ptrs; /* kernel argument arrays, sized for the widest node */
    uint32_t max_args;        /* most inputs or outputs of one node */
    ecc_rt_tensor **out_ptrs;
    /* plan */
    bool recording, planned, stale;
    int64_t *sig;
    size_t n_sig;
    ecc_buffer *bufs;
    size_t n_bufs, cap_bufs;
    ecc_alloc_rec *recs;
    size_t n_recs, cap_recs;
    uint8_t *arena;
    size_t arena_size;
    void **fallback;
    size_t n_fallback, cap_fallback;
    size_t fallback_bytes;
    size_t live_bytes;        /* activation memory held right now (record + fallback) */
    size_t mem_limit;         /* refuse a model that needs more (half the RAM) */
    ecc_pool *pool;
    /* training (backward.c) */
    int32_t *params;          /* slot per parameter, in the order named */
    size_t n_params;
    float **param_grads;      /* per parameter, numel floats (owned), after a backward */
    ecc_rt_tensor *grads;     /* per slot: gradient during a backward (data owned), or empty */
    size_t grad_bytes, grad_peak; /* live / peak gradient memory of the last backward */
    ecc_gblock *gpool;        /* backward memory kept for the next step (owned) */
    size_t n_gpool, cap_gpool, gpool_bytes;
    ecc_gblock *glive;        /* blocks of it in use now (owned) */
    size_t n_glive, cap_glive;
};

struct ecc_kernel_ctx {
    ecc_ctx *ctx;
    ecc_interp *it;
    const ecc_node *node;
    uint32_t pos;
    ecc_inode *in_node;
    ecc_rt_tensor *const *outs;
    size_t n_outs;
    const ecc_rt_tensor *const *ins;
    size_t n_ins;
    uint32_t n_allocs;
    /* backward: scratch from the gradient pool, returned when the kernel returns */
    bool backward;
    void **scratch;
    size_t n_scratch, cap_scratch;
};

/* interp.c */
const char *ecc_node_label(const ecc_node *n); /* name, else first output's */


/* backward.c */
/* At create, with parameters: which values depend on one, and a backward
 * kernel for every node on such a path (else ECC_E_INPUT naming the node). */
ecc_status ecc_backward_plan(ecc_ctx *ctx, ecc_interp *it);
/* Recording a run: the node's inputs and outputs its backward kernel reads
 * (the table row's `saves`) keep their buffers to the end of the run. */
void ecc_backward_keep(ecc_interp *it, const ecc_inode *in);
/* Scratch for a backward kernel: freed when the kernel returns. */
ecc_status ecc_backward_scratch(ecc_kernel_ctx *k, size_t bytes, void **out);
void ecc_backward_release(ecc_interp *it); /* frees gradient buffers */

#endif
