/* pipeline.h — internal: the pass registry, parsed option values, pipelines,
 * one pass invocation at run time (struct ecc_pass_run), the host function
 * table and the report hook the pipeline uses. Built-in passes include this
 * header to reach the IR through their ecc_pass_run. */
#ifndef ECC_PIPELINE_H
#define ECC_PIPELINE_H

#include "ir.h"

/* ---------------- registry ---------------- */

/* Origin of the built-in passes (plugins use their info->name). */
#define ECC_ORIGIN_BUILTIN "built-in"

typedef struct ecc_pass_entry {
    const ecc_pass_desc *desc; /* borrowed: static in libecc or in the plugin */
    const char *origin;        /* ECC_ORIGIN_BUILTIN or the plugin's name (registry-owned) */
} ecc_pass_entry;

/* Registration handle given to init(); open only while init runs. */
struct ecc_plugin_reg {
    ecc_ctx *ctx;
    ecc_registry *reg;
    const char *origin;
    bool open;
    bool reported;             /* host->error(NULL, …) was called during init */
    int status;                /* first registration failure (ECC_OK if none) */
};

struct ecc_registry {
    ecc_pass_entry *passes;    /* sorted by name (strcmp), names unique */
    size_t n, cap;
    ecc_ptrvec plugins;        /* ecc_plugin_handle* (plugin.c), loaded order */
};

/* The built-in passes (passes/builtin.c, from passes/passes.def). */
extern const ecc_pass_desc *const ecc_builtin_passes[];
extern const size_t ecc_builtin_pass_count;

/* Pass by exact name; NULL if absent. */
const ecc_pass_entry *ecc_registry_find(const ecc_registry *reg, const char *name);
/* Validates desc and inserts it (sorted). origin must outlive the registry.
 * Errors: ECC_E_INPUT (invalid descriptor, duplicate name), ECC_E_INTERNAL (OOM). */
ecc_status ecc_registry_add(ecc_ctx *ctx, ecc_registry *reg, const ecc_pass_desc *desc,
                            const char *origin);
/* Removes every pass registered with this origin pointer (failed plugin load). */
void ecc_registry_remove_origin(ecc_registry *reg, const char *origin);
/* host->register_pass: ecc_registry_add through a registration handle. */
int ecc_registry_register(ecc_plugin_reg *preg, const ecc_pass_desc *desc);
/* plugin.c: unloads every plugin of reg (dlclose) and frees the handles. */
void ecc_plugins_unload(ecc_registry *reg);
/* The registration handle of the plugin whose init() is running on this
 * thread, or NULL (host->error/log with run == NULL report through it). */
ecc_plugin_reg *ecc_plugin_loading(void);

/* ---------------- options ---------------- */

/* Option i of a pass, honouring the struct_size stride the pass was built with. */
const ecc_opt_desc *ecc_pass_opt(const ecc_pass_desc *desc, uint32_t i);
/* Index of the option named `name` ('-' matches '_'), or -1. */
int ecc_pass_opt_index(const ecc_pass_desc *desc, const char *name);

/* One parsed option value. */
typedef struct ecc_opt_value {
    const ecc_opt_desc *desc;
    bool set;                  /* has a value (given, or a declared default) */
    bool given;                /* written in the pipeline string */
    bool b;
    int64_t i;
    double f;
    char *s;                   /* STRING/ENUM text, malloc'd (NULL if unset) */
} ecc_opt_value;

/* Parses text as a value of option d of pass `pass` (bounds checked, never
 * clamped). Errors: ECC_E_USAGE quoting what is allowed. */
ecc_status ecc_opt_parse(ecc_ctx *ctx, const char *pass, const ecc_opt_desc *d,
                         const char *text, ecc_opt_value *out);
void ecc_opt_value_clear(ecc_opt_value *v);
/* Checks the option declarations of a pass: struct sizes, names
 * ([a-z0-9_]+, unique), known types, min <= max, enum choices, defaults that
 * parse within bounds. Errors: ECC_E_INPUT naming the pass and option. */
ecc_status ecc_pass_opts_check(ecc_ctx *ctx, const ecc_pass_desc *desc);
/* "bool", "int", "float", "enum", "string"; "?" for unknown types. */
const char *ecc_opt_type_name(uint32_t type);
/* Writes the value as text ("true", "0.5", "2:4"); "" when unset. */
void ecc_opt_value_format(const ecc_opt_value *v, char *buf, size_t size);
/* Formats a bound: integers without exponent, others with %g. */
void ecc_opt_format_number(double x, char *buf, size_t size);
/* Edit distance with transpositions (for "did you mean"). */
size_t ecc_edit_distance(const char *a, const char *b);

/* ---------------- pipelines ---------------- */

/* One pass in a pipeline with its option values. */
typedef struct ecc_pass_inv {
    const ecc_pass_desc *desc; /* borrowed from the registry: free the pipeline first */
    const char *origin;
    ecc_opt_value *opts;       /* desc->n_options entries, malloc'd */
    char *text;                /* canonical "name:key=value…" (given options), malloc'd */
} ecc_pass_inv;

struct ecc_pipeline {
    ecc_pass_inv *passes;      /* malloc'd */
    size_t n;
    char *text;                /* canonical spec, passes joined by ',' */
};

/* ---------------- run time ---------------- */

/* Statistics of one pass invocation, in the order first reported. */
typedef struct ecc_stat {
    char *key;                 /* malloc'd */
    double value;
} ecc_stat;

/* A shared tensor cloned for a value by tensor_f32_mut: writes through the
 * old handle go to the value's copy, never to the shared original. */
typedef struct ecc_handout {
    ecc_tensor *tensor;
    ecc_value *value;
} ecc_handout;

struct ecc_pass_run {
    ecc_ctx *ctx;
    ecc_model *model;
    const ecc_run_env *env;
    const ecc_pass_inv *inv;
    ecc_stat *stats;
    size_t n_stats, cap_stats;
    ecc_handout *handouts;
    size_t n_handouts, cap_handouts;
    bool error_set;            /* host->error was called */
    bool oom;                  /* a host call failed to allocate */
};

/* ---------------- data shared by the passes of a run ----------------
 * ecc_pipeline_run keeps one cache for the passes it runs, so that data
 * several passes read (the --calib samples) is read once: the first pass to
 * read stores it, later passes borrow it. compress/ holds an entry as opaque
 * bytes with their free function (passes/calib_stats.c decides what they
 * are). Bounded: the entries held at once never exceed ECC_RUN_CACHE_BOUND
 * bytes; unborrowed entries are evicted oldest first to make room, and data
 * that does not fit is not kept (its reader owns it, as without a cache). */
typedef struct ecc_run_cache ecc_run_cache;
#define ECC_RUN_CACHE_BOUND ((size_t)1 << 30)

/* The cache of the pipeline run in progress on this thread, or NULL (a pass
 * run outside ecc_pipeline_run). */
ecc_run_cache *ecc_run_cache_current(void);
/* The run's environment, and whether one of its passes trains
 * (ECC_NEED_TRAIN): such a run reads its training data whole. */
const ecc_run_env *ecc_run_cache_env(const ecc_run_cache *c);
bool ecc_run_cache_trains(const ecc_run_cache *c);
/* True when an entry of this many bytes can be kept (possibly by evicting). */
bool ecc_run_cache_fits(const ecc_run_cache *c, size_t bytes);
/* The entry stored under key, lent until ecc_run_cache_release; NULL when
 * absent. */
void *ecc_run_cache_take(ecc_run_cache *c, const char *key);
/* Stores data (of `bytes`) under key, replacing an unborrowed entry of the
 * same key, and lends it as take does. false when not kept (over the bound,
 * or out of memory): data stays the caller's. */
bool ecc_run_cache_put(ecc_run_cache *c, const char *key, void *data, size_t bytes,
                       void (*free_fn)(void *));
/* Ends a loan of data from take or put. */
void ecc_run_cache_release(ecc_run_cache *c, const void *data);

/* The host function table given to plugins and built-in passes. */
extern const ecc_host_api ecc_host_api_table;

/* Records a statistic (a key reported again replaces its value). */
void ecc_pass_run_stat(ecc_pass_run *run, const char *key, double value);
/* Option value of this invocation by name, NULL if undeclared. */
const ecc_opt_value *ecc_pass_run_opt(const ecc_pass_run *run, const char *name);
/* True when the option was written in the pipeline string (not defaulted). */
bool ecc_pass_run_opt_given(const ecc_pass_run *run, const char *name);
void ecc_pass_run_release(ecc_pass_run *run); /* frees stats and handouts */

/* Nodes in the model (main graph and every subgraph). */
size_t ecc_model_node_count(const ecc_model *m);

/* Calls fn on the main graph, then on each subgraph still held by one of its
 * nodes (depth first, a graph before its subgraphs, subgraphs collected after
 * fn returned so removed nodes are not visited). Stops at the first error. */
typedef ecc_status (*ecc_graph_visit_fn)(ecc_ctx *ctx, ecc_graph *g, void *arg);
ecc_status ecc_model_each_graph(ecc_ctx *ctx, ecc_model *m, ecc_graph_visit_fn fn, void *arg);

/* ---------------- report hook ---------------- */

typedef struct ecc_pass_record {
    const ecc_pass_inv *inv;
    double seconds;
    const ecc_stat *stats;
    size_t n_stats;
    int64_t nodes_before, nodes_after;
    int64_t params_before, params_after;
    int64_t bytes_before, bytes_after;
} ecc_pass_record;

/* Starts an empty "passes" array (replacing any "passes" key). */
void ecc_report_begin_passes(ecc_report *r);
/* Appends one entry to the report's "passes" array (order preserved). */
void ecc_report_add_pass(ecc_report *r, const ecc_pass_record *rec);

#endif
