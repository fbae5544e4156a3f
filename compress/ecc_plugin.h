/* ecc_plugin.h — the pass ABI shared by built-in passes and plugins.
 *
 * A plugin is a shared object exporting `ecc_plugin_entry` (see
 * ECC_PLUGIN_ENTRY_SYMBOL), which returns an ecc_plugin_info. The host checks
 * the ABI version, then calls init() with the host function table; init
 * registers passes with host->register_pass. Built-in passes register through
 * the same function.
 *
 * Rules: every struct starts with struct_size (the size the plugin was built
 * with); the host function table only grows at the end; a major version
 * mismatch is refused; the plugin's minor may not exceed the host's.
 * Handles (graph, node, value, tensor) are borrowed: the host owns them. */
#ifndef ECC_PLUGIN_H
#define ECC_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ECC_PLUGIN_ABI_MAJOR 1
#define ECC_PLUGIN_ABI_MINOR 1
#define ECC_PLUGIN_ENTRY_SYMBOL "ecc_plugin_entry"

/* Return codes of plugin callbacks: same numbers as ecc_status. */
#define ECC_PLUGIN_OK 0
#define ECC_PLUGIN_E_USAGE 1
#define ECC_PLUGIN_E_INPUT 2
#define ECC_PLUGIN_E_INTERNAL 3

typedef struct ecc_graph ecc_graph;
typedef struct ecc_node ecc_node;
typedef struct ecc_value ecc_value;
typedef struct ecc_tensor ecc_tensor;
typedef struct ecc_pass_run ecc_pass_run;       /* one pass invocation */
typedef struct ecc_plugin_reg ecc_plugin_reg;   /* registration handle */
typedef struct ecc_host_api ecc_host_api;

/* Option types; values are parsed and bounds-checked by the host. */
typedef enum ecc_opt_type {
    ECC_OPT_BOOL = 0,   /* true|false|1|0|yes|no|on|off */
    ECC_OPT_INT = 1,    /* int64 within [min, max] */
    ECC_OPT_FLOAT = 2,  /* double within [min, max] */
    ECC_OPT_ENUM = 3,   /* one of choices "a|b|c" */
    ECC_OPT_STRING = 4, /* free text (shell-safe: no ',' ) */
    ECC_OPT_TYPE_COUNT
} ecc_opt_type;

typedef struct ecc_opt_desc {
    uint32_t struct_size;      /* sizeof(ecc_opt_desc) */
    uint32_t type;             /* ecc_opt_type */
    const char *name;          /* [a-z0-9_]+ */
    const char *help;          /* one line */
    const char *default_value; /* text parsed like user input; NULL: unset */
    double min, max;           /* inclusive bounds for INT and FLOAT */
    const char *choices;       /* ENUM: "a|b|c" */
} ecc_opt_desc;

/* One ecc_opt_desc of a pass's option table, fields in declaration order. */
#define ECC_OPT(type, name, help, dflt, lo, hi, choices) \
    {sizeof(ecc_opt_desc), type, name, help, dflt, lo, hi, choices}

/* What a pass needs from the run; checked before any pass runs. */
#define ECC_NEED_CALIB 0x1u    /* calibration data (--calib) */
#define ECC_NEED_TRAIN 0x2u    /* a training loop (interpreter with autograd) */
#define ECC_NEED_TEACHER 0x4u  /* the original model as teacher */

typedef int (*ecc_pass_run_fn)(const ecc_host_api *host, ecc_pass_run *run);

typedef struct ecc_pass_desc {
    uint32_t struct_size;        /* sizeof(ecc_pass_desc) */
    const char *name;            /* lowercase-hyphen, unique */
    const char *summary;         /* one line for `ecc passes` */
    uint32_t needs;              /* ECC_NEED_* */
    const ecc_opt_desc *options; /* n_options entries, may be NULL */
    uint32_t n_options;
    ecc_pass_run_fn run;         /* returns ECC_PLUGIN_OK or an error code */
    /* ABI 1.1, may be NULL: checks this invocation's options against the run
     * environment (needs that depend on options, e.g. calibration data only
     * for some modes) before any pass runs. No model yet: host->graph returns
     * NULL. Returns ECC_PLUGIN_OK, or an error code after host->error. */
    ecc_pass_run_fn check;
} ecc_pass_desc;

/* Size of an ABI 1.0 descriptor (before `check`); the host accepts both. */
#define ECC_PASS_DESC_SIZE_V1_0 offsetof(ecc_pass_desc, check)

/* The host function table. Append-only: new functions go at the end. */
struct ecc_host_api {
    uint32_t struct_size;
    uint32_t abi_major, abi_minor;
    /* registration (during init only); the descriptor must outlive the plugin */
    int (*register_pass)(ecc_plugin_reg *reg, const ecc_pass_desc *desc);
    /* diagnostics: error() records the message and returns `status` */
    int (*error)(ecc_pass_run *run, int status, const char *fmt, ...);
    void (*log)(ecc_pass_run *run, const char *fmt, ...);
    void (*stat)(ecc_pass_run *run, const char *key, double value);
    /* options of this invocation (declared names only) */
    int64_t (*opt_int)(ecc_pass_run *run, const char *name);
    double (*opt_float)(ecc_pass_run *run, const char *name);
    int (*opt_bool)(ecc_pass_run *run, const char *name);
    const char *(*opt_string)(ecc_pass_run *run, const char *name); /* STRING and ENUM; NULL if unset */
    uint64_t (*seed)(ecc_pass_run *run);
    /* graph walking */
    ecc_graph *(*graph)(ecc_pass_run *run);
    size_t (*graph_node_count)(const ecc_graph *g);
    ecc_node *(*graph_node)(const ecc_graph *g, size_t i);
    const char *(*node_op)(const ecc_node *n);
    const char *(*node_name)(const ecc_node *n);
    const char *(*node_domain)(const ecc_node *n);
    size_t (*node_input_count)(const ecc_node *n);
    ecc_value *(*node_input)(const ecc_node *n, size_t i);   /* NULL: empty optional */
    size_t (*node_output_count)(const ecc_node *n);
    ecc_value *(*node_output)(const ecc_node *n, size_t i);
    int (*node_attr_int)(const ecc_node *n, const char *name, int64_t *out);   /* 1 found */
    int (*node_attr_float)(const ecc_node *n, const char *name, float *out);   /* 1 found */
    const char *(*value_name)(const ecc_value *v);
    ecc_tensor *(*value_initializer)(const ecc_value *v);   /* NULL unless constant */
    /* tensors */
    int (*tensor_dtype)(const ecc_tensor *t);               /* ONNX TensorProto.DataType */
    int (*tensor_rank)(const ecc_tensor *t);
    int64_t (*tensor_dim)(const ecc_tensor *t, int i);
    int64_t (*tensor_numel)(const ecc_tensor *t);
    /* float32 tensors only: writable data (copy-on-write if shared); NULL otherwise */
    float *(*tensor_f32_mut)(ecc_pass_run *run, ecc_tensor *t);
    /* editing */
    int (*remove_node)(ecc_pass_run *run, ecc_node *n);
    int (*replace_uses)(ecc_pass_run *run, ecc_value *from, ecc_value *to);
};

typedef struct ecc_plugin_info {
    uint32_t struct_size;        /* sizeof(ecc_plugin_info) */
    uint32_t abi_major, abi_minor;
    const char *name;
    const char *version;
    /* Registers passes. Returns ECC_PLUGIN_OK or an error (init failure). */
    int (*init)(const ecc_host_api *host, ecc_plugin_reg *reg);
} ecc_plugin_info;

typedef const ecc_plugin_info *(*ecc_plugin_entry_fn)(void);

#ifdef __cplusplus
}
#endif
#endif
