/* layers.h — weight layers (wl_), shared by the pruning and quantization
 * passes, equalize and the calibration statistics: constant tensors behind
 * values (initializer or Constant node), finding every Conv / Gemm / MatMul
 * with a constant float32 weight, its canonical [rows, k] view with copy and
 * write-back, the classifier-head test, and '|'-separated name globs.
 * Internal to libecc. */
#ifndef ECC_LAYERS_H
#define ECC_LAYERS_H

#include "pipeline.h"

/* Statistics of a layer's input, per Conv group, filled by calib_stats.c:
 * sq[g*k + j] is the mean of x_j² over every token (position) the layer
 * reads, mean[g*k + j] the mean of x_j; h (when collected) holds groups
 * matrices k×k of mean x xᵀ (row-major, full). */
typedef struct wl_stats {
    int64_t tokens;
    double *sq;          /* groups × k, malloc'd */
    double *mean;        /* groups × k, malloc'd */
    float *h;            /* groups × k × k, malloc'd, or NULL */
} wl_stats;

/* A Conv / Gemm / MatMul whose weight is a constant float32 tensor, seen as
 * a matrix of `rows` outputs × `k` reduction elements: element (r, c) lives
 * at r * row_stride + c * col_stride of the weight. Conv: rows = O, k =
 * I/group·kh·kw in memory order; Gemm transB=1 / MatMul A: [N,K] rows along
 * axis 0; Gemm transB=0 / MatMul B: [K,N], the reduction strided. */
typedef struct wl_layer {
    ecc_node *node;
    ecc_value *w;            /* weight value (initializer or Constant output) */
    uint32_t w_slot;         /* input slot of the weight */
    uint32_t x_slot;         /* input slot of the activation it multiplies */
    bool x_trans;            /* activation is [k, tokens] (Gemm transA=1, MatMul A·X) */
    const char *name;        /* node name, or the weight's name when the node has none */
    int64_t rows, k, groups; /* groups: Conv group (rows and inputs split evenly) */
    int64_t row_stride, col_stride;
    int32_t axis;            /* first reduction axis of the weight tensor (ecc_mask.axis) */
    int64_t numel;
    bool head;               /* output reaches a graph output without another weight layer */
    int skip;                /* 0: in use; else why the pass leaves it (pruning: prune_skip) */
    /* results, filled by the passes */
    int64_t target;          /* weights to prune (unstructured) */
    int64_t zeros;           /* weights the mask removes */
    double loss;             /* sensitivity / reconstruction error, when measured */
    wl_stats stats;
} wl_layer;

typedef struct wl_layers {
    wl_layer *items;         /* malloc'd */
    size_t n;
} wl_layers;

/* n is op in the default ONNX domain. */
bool wl_is_onnx(const ecc_node *n, const char *op);
/* Constant tensor behind v: its initializer or its Constant node's `value`. */
ecc_tensor *wl_const(const ecc_value *v);
/* Turns v's Constant node into an initializer (no-op for initializers). */
ecc_status wl_materialize(ecc_ctx *ctx, ecc_value *v);

/* Every weight layer of g, in node order (other Conv/Gemm/MatMul are
 * logged and left out). Heads are marked. */
ecc_status wl_find(ecc_ctx *ctx, ecc_graph *g, wl_layers *out);
void wl_layers_free(wl_layers *ls); /* frees the stats too */
void wl_stats_free(wl_stats *s);
static inline int64_t wl_index(const wl_layer *L, int64_t r, int64_t c) {
    return r * L->row_stride + c * L->col_stride;
}
/* Canonical [rows, k] copy of the weight (malloc'd floats; entries its mask
 * removes read 0) and its write-back into weight. */
ecc_status wl_canon_get(ecc_ctx *ctx, const wl_layer *L, float **out);
void wl_canon_put(const wl_layer *L, const float *canon, float *weight);

/* ---------------- name globs ---------------- */

/* Calls fn on each '|'-separated glob of list (empty and over-long globs
 * skipped); stops and returns true when fn does. */
bool wl_glob_each(const char *list, bool (*fn)(const char *glob, void *arg), void *arg);
/* fnmatch over a '|'-separated list, against either name (a or b, may be NULL). */
bool wl_glob_any(const char *list, const char *a, const char *b);
/* Every glob of list (may be NULL) must match a layer of ls by node or weight
 * name; otherwise ECC_E_USAGE "<opt>='<glob>' matches no layer …" listing
 * the layers. */
ecc_status wl_check_globs(ecc_ctx *ctx, const wl_layers *ls, const char *opt, const char *list);

/* ---------------- finite values ---------------- */

/* ECC_E_INPUT unless every element of the float32 constant behind v is
 * finite: quantizer scales, pruning scores and codebooks computed from a NaN
 * or an infinity are meaningless, and the compressed model would silently
 * differ. what ("weight", "bias") and owner (the layer, may be NULL) name it
 * in the message. Other element types pass. */
ecc_status wl_check_finite(ecc_ctx *ctx, const ecc_value *v, const char *what, const char *owner);

#endif
