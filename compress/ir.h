/* ir.h — the graph IR: models, graphs (and attribute subgraphs), values,
 * nodes, attributes, ref-counted tensors and compression annotations
 * (masks, quantizers). Internal to libecc; plugins see it through
 * ecc_plugin.h. Graph metadata lives in the model's arena; weights live in
 * ref-counted tensors; lists are malloc-backed and freed with the model. */
#ifndef ECC_IR_H
#define ECC_IR_H

#include "base.h"
#include "dtype.h"
#include "ecc_plugin.h"

/* ---------------- tensors ---------------- */

typedef enum ecc_storage {
    ECC_STORAGE_RAW = 0,      /* raw_data in the file (default for new tensors) */
    ECC_STORAGE_TYPED = 1,    /* float_data / int32_data / … */
    ECC_STORAGE_EXTERNAL = 2, /* side file (location/offset/length) */
} ecc_storage;

/* Opaque protobuf bytes kept verbatim for round trips (unknown fields,
 * FunctionProto, sparse tensors, non-tensor TypeProtos, …). */
typedef struct ecc_blob {
    ecc_bytes *items;
    size_t n;
} ecc_blob;

struct ecc_tensor {
    int refcount;
    int32_t dtype;        /* ONNX data type id */
    int32_t rank;
    int64_t *dims;        /* malloc'd, rank entries */
    int64_t numel;
    void *data;           /* canonical little-endian, sub-byte packed low nibble first */
    size_t nbytes;
    ecc_bytes *strings;   /* STRING tensors: numel entries (malloc'd) */
    char *name;           /* malloc'd, may be NULL */
    char *doc_string;
    uint8_t storage;      /* ecc_storage as read; the writer keeps it unless told otherwise */
    ecc_kv *external;     /* external_data entries as read (malloc'd, strings malloc'd) */
    size_t n_external;
    bool has_segment;
    int64_t segment_begin, segment_end;
    ecc_blob unknown;     /* unknown protobuf fields, re-emitted verbatim */
};

/* New tensor with zeroed data (strings empty). *out has refcount 1. */
ecc_status ecc_tensor_create(ecc_ctx *ctx, int32_t dtype, int32_t rank, const int64_t *dims,
                             ecc_tensor **out);
ecc_tensor *ecc_tensor_ref(ecc_tensor *t);
void ecc_tensor_unref(ecc_tensor *t);   /* NULL is a no-op; frees at 0 */
/* Deep copy (refcount 1). */
ecc_status ecc_tensor_clone(ecc_ctx *ctx, const ecc_tensor *t, ecc_tensor **out);
/* Makes *t exclusively owned (clones when shared) so it can be written. */
ecc_status ecc_tensor_make_unique(ecc_ctx *ctx, ecc_tensor **t);
/* Element i of packed data of type dtype as double (numeric types incl.
 * float16/bfloat16/int4); `unsupported` for strings, complex, float8. */
double ecc_dtype_load_f64(const void *data, int32_t dtype, int64_t i, double unsupported);
/* Element i converted to double (numeric types incl. float16/bfloat16/int4). */
double ecc_tensor_get_f64(const ecc_tensor *t, int64_t i);
/* Stores v (rounded/saturated for integer types) at element i. */
void ecc_tensor_set_f64(ecc_tensor *t, int64_t i, double v);
bool ecc_tensor_equal(const ecc_tensor *a, const ecc_tensor *b); /* dtype, dims and bytes */
/* The coordinates of flat index i in a C-order tensor of dims, as "[2,0,5]"
 * ("[]" for rank 0), truncated to fit n bytes. */
void ecc_index_text(int32_t rank, const int64_t *dims, int64_t i, char *buf, size_t n);
/* How many of x[0..n) are NaN or ±inf; *first: the index of the first (-1
 * when none). */
int64_t ecc_nonfinite_count(const float *x, int64_t n, int64_t *first);
/* "NaN", "inf" or "-inf" for a non-finite v. */
const char *ecc_nonfinite_name(float v);
/* float16/bfloat16 conversions */
float ecc_f16_to_f32(uint16_t h);
uint16_t ecc_f32_to_f16(float f);
float ecc_bf16_to_f32(uint16_t h);
uint16_t ecc_f32_to_bf16(float f);

/* ---------------- annotations ---------------- */

typedef enum ecc_mask_pattern {
    ECC_MASK_UNSTRUCTURED = 0,
    ECC_MASK_NM = 1,        /* at most n nonzeros in every m along `axis` */
    ECC_MASK_CHANNEL = 2,   /* whole slices along `axis` */
} ecc_mask_pattern;

/* A pruning mask on a weight: keep is a BOOL tensor with the weight's dims.
 * Lowering multiplies the weight by keep. */
typedef struct ecc_mask {
    uint8_t pattern;        /* ecc_mask_pattern */
    int32_t n, m, axis;
    ecc_tensor *keep;       /* owned reference */
    double sparsity;        /* achieved fraction of zeros */
    const char *method;     /* "magnitude", "wanda", … (arena) */
    /* gradual (prune:schedule=gradual): a later training pass ramps the mask
     * from `start` sparsity to this one by magnitude, re-ranking every
     * `every` steps (0: about 40 times), and then clears the flag */
    bool gradual;
    double start;
    int64_t every;
} ecc_mask;

typedef enum ecc_quant_gran {
    ECC_QUANT_TENSOR = 0, ECC_QUANT_CHANNEL = 1, ECC_QUANT_BLOCK = 2,
} ecc_quant_gran;

/* A quantizer on a weight or activation; lowered to Q/DQ or packed tensors. */
typedef struct ecc_quantizer {
    int32_t bits;           /* 4 or 8 */
    bool is_signed;
    bool symmetric;
    uint8_t granularity;    /* ecc_quant_gran */
    int32_t axis;
    int32_t block_size;
    ecc_tensor *scale;      /* owned reference; float32 */
    ecc_tensor *zero_point; /* owned reference or NULL */
    double range_min, range_max; /* calibrated range (activations) */
    const char *calib;      /* "minmax", "entropy", … (arena) */
} ecc_quantizer;

/* ---------------- values ---------------- */

typedef struct ecc_dim {
    int64_t value;          /* >= 0 when known */
    const char *param;      /* symbolic name, or NULL */
    const char *denotation; /* NULL if none */
} ecc_dim;

#define ECC_VALUE_INPUT 0x01u      /* listed in graph.input */
#define ECC_VALUE_OUTPUT 0x02u     /* listed in graph.output */
#define ECC_VALUE_OUTER 0x04u      /* captured from an enclosing graph */
#define ECC_VALUE_TYPED 0x08u      /* type information came with the file or inference */
#define ECC_VALUE_INFO 0x10u       /* listed in graph.value_info */

typedef struct ecc_use {
    ecc_node *node;
    uint32_t slot;          /* input index, or ECC_SLOT_CAPTURE */
} ecc_use;
/* The use of a value by a node whose subgraph captures it (If/Loop bodies). */
#define ECC_SLOT_CAPTURE UINT32_MAX

struct ecc_value {
    const char *name;       /* arena */
    ecc_graph *graph;
    uint32_t id;
    uint32_t flags;         /* ECC_VALUE_* */
    /* type: tensor types are modelled; other TypeProtos are kept opaque */
    int32_t dtype;          /* elem type, 0 unknown */
    int32_t rank;           /* -1: no shape */
    ecc_dim *dims;          /* arena, rank entries */
    ecc_bytes type_opaque;  /* packed non-tensor TypeProto (sequence, map, …) */
    const char *type_denotation;
    const char *doc_string; /* from ValueInfoProto */
    ecc_blob vi_unknown;    /* unknown fields of the ValueInfoProto */
    /* def-use */
    ecc_node *producer;     /* NULL for inputs, initializers, outer values */
    uint32_t producer_slot;
    ecc_use *uses;          /* malloc'd */
    uint32_t n_uses, cap_uses;
    ecc_tensor *init;       /* initializer data (owned ref) or NULL */
    ecc_value *outer;       /* ECC_VALUE_OUTER: the captured value */
    /* annotations (owned) */
    ecc_mask *mask;
    ecc_quantizer *quant;
    ecc_tensor *codebook;   /* weight sharing (`cluster`): float32 [K] sorted centroids, every
                               kept weight equals one of them; owned reference or NULL */
};

/* ---------------- attributes and nodes ---------------- */

typedef enum ecc_attr_type {
    ECC_ATTR_UNDEFINED = 0, ECC_ATTR_FLOAT = 1, ECC_ATTR_INT = 2, ECC_ATTR_STRING = 3,
    ECC_ATTR_TENSOR = 4, ECC_ATTR_GRAPH = 5, ECC_ATTR_FLOATS = 6, ECC_ATTR_INTS = 7,
    ECC_ATTR_STRINGS = 8, ECC_ATTR_TENSORS = 9, ECC_ATTR_GRAPHS = 10,
    ECC_ATTR_SPARSE_TENSOR = 11, ECC_ATTR_SPARSE_TENSORS = 12, ECC_ATTR_TYPE_PROTO = 13,
    ECC_ATTR_TYPE_PROTOS = 14,
} ecc_attr_type;

typedef struct ecc_attr {
    const char *name;
    const char *doc_string;
    const char *ref_attr_name;
    int32_t type;           /* ecc_attr_type */
    float f;
    int64_t i;
    ecc_bytes s;
    ecc_tensor *t;          /* owned ref */
    ecc_graph *g;
    size_t n;               /* length of the list below that matches type */
    float *floats;
    int64_t *ints;
    ecc_bytes *strings;
    ecc_tensor **tensors;   /* owned refs */
    ecc_graph **graphs;
    ecc_bytes *opaque;      /* SPARSE_TENSOR(S), TYPE_PROTO(S): packed protos (n, or 1) */
    ecc_blob unknown;
} ecc_attr;

struct ecc_node {
    const char *name, *op_type, *domain, *doc_string;
    ecc_graph *graph;
    uint32_t id;            /* unique within the model, stable */
    ecc_value **inputs;     /* arena; NULL entry = empty optional input */
    uint32_t n_inputs;
    ecc_value **outputs;    /* arena; NULL entry = empty optional output */
    uint32_t n_outputs;
    ecc_attr *attrs;        /* arena */
    uint32_t n_attrs;
    ecc_blob unknown;       /* unknown fields (overload, metadata_props of newer IRs) */
    uint32_t scratch;       /* algorithm scratch space, meaningless between calls */
};

/* ---------------- graphs and models ---------------- */

struct ecc_graph {
    ecc_model *model;
    ecc_graph *parent;      /* enclosing graph for subgraphs */
    ecc_node *owner;        /* node whose attribute holds this subgraph */
    const char *name, *doc_string;
    ecc_ptrvec nodes;       /* ecc_node*, file/topological order */
    ecc_ptrvec values;      /* every ecc_value* of this graph */
    ecc_strmap by_name;     /* name → ecc_value* */
    ecc_ptrvec inputs, outputs, inits, value_infos; /* ecc_value*, file order */
    ecc_blob sparse_inits;  /* SparseTensorProto, opaque */
    ecc_blob quant_annots;  /* TensorAnnotation, opaque */
    ecc_blob unknown;
};

typedef struct ecc_opset {
    const char *domain;     /* "" for ai.onnx */
    int64_t version;
} ecc_opset;

struct ecc_model {
    ecc_arena *arena;
    int64_t ir_version;
    const char *producer_name, *producer_version, *domain, *doc_string;
    int64_t model_version;
    ecc_opset *opsets;      /* arena */
    size_t n_opsets;
    ecc_kv *metadata;       /* arena */
    size_t n_metadata;
    ecc_graph *graph;
    ecc_blob functions;     /* FunctionProto, opaque */
    ecc_blob training_info; /* TrainingInfoProto, opaque */
    ecc_blob unknown;
    const char *path;       /* file it was read from (arena), or NULL */
    const char *dir;        /* its directory, for external data */
    uint32_t next_value_id, next_node_id;
    ecc_ptrvec subgraphs;   /* every ecc_graph* besides the main one (for freeing) */
};

/* ---- model/graph lifecycle ---- */
ecc_status ecc_model_create(ecc_ctx *ctx, ecc_model **out); /* empty model + empty main graph */
ecc_status ecc_graph_create_sub(ecc_ctx *ctx, ecc_model *m, ecc_graph *parent, ecc_graph **out);
/* Opset version imported for a domain ("" or "ai.onnx" = default), 0 if none. */
int64_t ecc_model_opset(const ecc_model *m, const char *domain);
ecc_status ecc_model_set_opset(ecc_ctx *ctx, ecc_model *m, const char *domain, int64_t version);

/* ---- values ---- */
/* Value by name in this graph only (NULL if absent). */
ecc_value *ecc_graph_find(const ecc_graph *g, const char *name);
/* Value by name here or in an enclosing graph. */
ecc_value *ecc_graph_lookup(const ecc_graph *g, const char *name);
/* New value; a name already defined in g → ECC_E_INPUT "duplicate value name". */
ecc_status ecc_graph_add_value(ecc_ctx *ctx, ecc_graph *g, const char *name, ecc_value **out);
/* The value named `name` in g, creating it if absent (for forward references). */
ecc_status ecc_graph_get_value(ecc_ctx *ctx, ecc_graph *g, const char *name, ecc_value **out);
/* A fresh name "<base>_N" not used in g or any enclosing graph (arena). */
const char *ecc_graph_unique_name(ecc_graph *g, const char *base);
/* Makes v an initializer holding t (takes a reference), appended to inits. */
ecc_status ecc_graph_set_initializer(ecc_ctx *ctx, ecc_graph *g, ecc_value *v, ecc_tensor *t);
/* Removes v's initializer (drops it from inits). */
void ecc_graph_drop_initializer(ecc_graph *g, ecc_value *v);
/* Value type helpers */
ecc_status ecc_value_set_shape(ecc_ctx *ctx, ecc_value *v, int32_t dtype, int32_t rank,
                               const int64_t *dims); /* dims < 0 = unknown */
bool ecc_value_is_const(const ecc_value *v);        /* initializer (incl. captured) */
const ecc_tensor *ecc_value_const(const ecc_value *v);
void ecc_value_set_mask(ecc_value *v, ecc_mask *mask);          /* takes ownership */
void ecc_value_set_quantizer(ecc_value *v, ecc_quantizer *q);   /* takes ownership */
void ecc_value_set_codebook(ecc_value *v, ecc_tensor *codebook); /* takes a reference; NULL clears */
void ecc_mask_free(ecc_mask *m);
void ecc_quantizer_free(ecc_quantizer *q);

/* ---- nodes ---- */
/* Appends a node; inputs may contain NULL (empty optional); outputs are
 * values of g without a producer. Use lists are updated. */
ecc_status ecc_graph_add_node(ecc_ctx *ctx, ecc_graph *g, const char *op_type,
                              const char *domain, const char *name, ecc_value *const *inputs,
                              uint32_t n_inputs, ecc_value *const *outputs, uint32_t n_outputs,
                              ecc_node **out);
/* Inserts node at position pos of g->nodes instead of at the end. */
ecc_status ecc_graph_insert_node(ecc_ctx *ctx, ecc_graph *g, size_t pos, const char *op_type,
                                 const char *domain, const char *name,
                                 ecc_value *const *inputs, uint32_t n_inputs,
                                 ecc_value *const *outputs, uint32_t n_outputs,
                                 ecc_node **out);
/* Removes node n: its inputs lose the use, its outputs lose their producer. */
void ecc_graph_remove_node(ecc_graph *g, ecc_node *n);
/* Sets input slot i of n (updating use lists). */
void ecc_node_set_input(ecc_node *n, uint32_t i, ecc_value *v);
/* Makes n produce v at output slot i; v must have no producer (the old output
 * value loses its producer). Keeps graph output names stable in rewrites. */
ecc_status ecc_node_set_output(ecc_ctx *ctx, ecc_node *n, uint32_t i, ecc_value *v);
/* Every use of from (node inputs here and in subgraphs, graph outputs) now reads to. */
void ecc_value_replace_uses(ecc_value *from, ecc_value *to);
size_t ecc_graph_index_of(const ecc_graph *g, const ecc_node *n); /* SIZE_MAX if absent */

/* ---- attributes ---- */
const ecc_attr *ecc_node_attr(const ecc_node *n, const char *name);
int64_t ecc_node_attr_int(const ecc_node *n, const char *name, int64_t dflt);
float ecc_node_attr_float(const ecc_node *n, const char *name, float dflt);
const char *ecc_node_attr_string(const ecc_node *n, const char *name, const char *dflt); /* arena */
/* INTS attribute: *out points into the node (NULL if absent); returns count */
size_t ecc_node_attr_ints(const ecc_node *n, const char *name, const int64_t **out);
/* Adds or replaces an attribute (copied into the arena; refs taken). */
ecc_status ecc_node_set_attr(ecc_ctx *ctx, ecc_node *n, const ecc_attr *a);
ecc_status ecc_node_set_attr_int(ecc_ctx *ctx, ecc_node *n, const char *name, int64_t v);
ecc_status ecc_node_set_attr_ints(ecc_ctx *ctx, ecc_node *n, const char *name,
                                  const int64_t *v, size_t count);
ecc_status ecc_node_set_attr_float(ecc_ctx *ctx, ecc_node *n, const char *name, float v);
void ecc_node_remove_attr(ecc_node *n, const char *name);

/* Calls fn for every subgraph held by n's attributes (GRAPH and GRAPHS). */
typedef void (*ecc_subgraph_fn)(ecc_graph *sub, void *arg);
void ecc_node_each_subgraph(const ecc_node *n, ecc_subgraph_fn fn, void *arg);

/* ---- whole-graph algorithms ---- */
/* Stable topological order of g->nodes (Kahn, ties by current position).
 * A cycle → ECC_E_INPUT naming a node on it. Subgraphs are sorted too. */
ecc_status ecc_graph_toposort(ecc_ctx *ctx, ecc_graph *g);
/* Removes nodes whose outputs reach no graph output (and unused initializers
 * when drop_inits). Returns the number of nodes removed in *removed. */
ecc_status ecc_graph_dce(ecc_ctx *ctx, ecc_graph *g, bool drop_inits, size_t *removed);
/* Verifier: every input defined (here or outer scope), single producer per
 * name, no cycles, graph outputs produced, initializer byte sizes consistent
 * with dims. Errors name the node and value. */
ecc_status ecc_graph_verify(ecc_ctx *ctx, const ecc_graph *g);
/* Shape inference for common CNN/transformer ops; unknown ops leave outputs
 * untyped. Inconsistent shapes → ECC_E_INPUT naming the node. */
ecc_status ecc_graph_infer_shapes(ecc_ctx *ctx, ecc_graph *g);
/* Applies every mask (weights *= keep) and drops it. Quantizers are lowered by
 * the quantization lowering registered later; none present → no-op. */
ecc_status ecc_model_lower(ecc_ctx *ctx, ecc_model *m);

/* Total parameters / bytes of initializers in the main graph. */
void ecc_model_param_stats(const ecc_model *m, int64_t *params, int64_t *bytes);

#endif
