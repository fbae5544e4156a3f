/* host_api.c — the one host function table (ecc_host_api_table) given to
 * plugins and built-in passes, implemented on top of ir.h: diagnostics and
 * statistics into the current pass run, typed option access, graph walking,
 * copy-on-write float32 weights, and the two editing operations. */
#include "pipeline.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static ecc_status status_of(int code) {
    return code >= ECC_E_USAGE && code <= ECC_E_INTERNAL ? (ecc_status)code : ECC_E_INTERNAL;
}

/* ---------------- run bookkeeping ---------------- */

void ecc_pass_run_stat(ecc_pass_run *run, const char *key, double value) {
    for (size_t i = 0; i < run->n_stats; i++) {
        if (strcmp(run->stats[i].key, key) == 0) {
            run->stats[i].value = value;
            return;
        }
    }
    if (run->n_stats == run->cap_stats) {
        size_t cap = run->cap_stats ? 2 * run->cap_stats : 8;
        ecc_stat *p = realloc(run->stats, cap * sizeof *p);
        if (!p) goto oom;
        run->stats = p;
        run->cap_stats = cap;
    }
    char *k = strdup(key);
    if (!k) goto oom;
    run->stats[run->n_stats++] = (ecc_stat){k, value};
    return;
oom:
    run->oom = true;
}

const ecc_opt_value *ecc_pass_run_opt(const ecc_pass_run *run, const char *name) {
    if (!run || !run->inv || !name) return NULL;
    int i = ecc_pass_opt_index(run->inv->desc, name);
    return i < 0 ? NULL : &run->inv->opts[i];
}

bool ecc_pass_run_opt_given(const ecc_pass_run *run, const char *name) {
    const ecc_opt_value *v = ecc_pass_run_opt(run, name);
    return v && v->given;
}

void ecc_pass_run_release(ecc_pass_run *run) {
    for (size_t i = 0; i < run->n_stats; i++) free(run->stats[i].key);
    free(run->stats);
    free(run->handouts);
    run->stats = NULL;
    run->handouts = NULL;
    run->n_stats = run->cap_stats = run->n_handouts = run->cap_handouts = 0;
}

/* Remembers that shared tensor t was cloned for value v (copy-on-write). */
static void handout_note(ecc_pass_run *run, ecc_tensor *t, ecc_value *v) {
    if (run->n_handouts == run->cap_handouts) {
        size_t cap = run->cap_handouts ? 2 * run->cap_handouts : 16;
        ecc_handout *p = realloc(run->handouts, cap * sizeof *p);
        if (!p) {
            run->oom = true;
            return;
        }
        run->handouts = p;
        run->cap_handouts = cap;
    }
    run->handouts[run->n_handouts++] = (ecc_handout){t, v};
}

static ecc_value *handout_owner(const ecc_pass_run *run, const ecc_tensor *t) {
    for (size_t i = run->n_handouts; i-- > 0;)
        if (run->handouts[i].tensor == t) return run->handouts[i].value;
    return NULL;
}

/* ---------------- diagnostics ---------------- */

static ecc_ctx *run_ctx(ecc_pass_run *run) {
    if (run) return run->ctx;
    ecc_plugin_reg *preg = ecc_plugin_loading();
    return preg ? preg->ctx : NULL;
}

static int host_error(ecc_pass_run *run, int status, const char *fmt, ...) {
    ecc_ctx *ctx = run_ctx(run);
    if (!ctx || !fmt) return status;
    va_list ap;
    va_start(ap, fmt);
    ecc_ctx_verror(ctx, status_of(status), fmt, ap);
    va_end(ap);
    if (run)
        run->error_set = true;
    else
        ecc_plugin_loading()->reported = true;
    return status;
}

static void host_log(ecc_pass_run *run, const char *fmt, ...) {
    ecc_ctx *ctx = run_ctx(run);
    if (!ctx || !fmt) return;
    char line[ECC_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    size_t n = strlen(line);
    if (n && line[n - 1] == '\n') line[n - 1] = '\0';
    const char *who = run && run->inv ? run->inv->desc->name : "plugin";
    ecc_log(ctx, 1, "  %s: %s", who, line);
}

static void host_stat(ecc_pass_run *run, const char *key, double value) {
    if (run && key && *key) ecc_pass_run_stat(run, key, value);
}

static uint64_t host_seed(ecc_pass_run *run) { return run ? ecc_ctx_seed(run->ctx) : 0; }

/* ---------------- options ---------------- */

static int64_t host_opt_int(ecc_pass_run *run, const char *name) {
    const ecc_opt_value *v = ecc_pass_run_opt(run, name);
    if (!v || !v->set) return 0;
    if (v->desc->type == ECC_OPT_FLOAT) return (int64_t)v->f;
    if (v->desc->type == ECC_OPT_BOOL) return v->b;
    return v->i;
}

static double host_opt_float(ecc_pass_run *run, const char *name) {
    const ecc_opt_value *v = ecc_pass_run_opt(run, name);
    if (!v || !v->set) return 0.0;
    if (v->desc->type == ECC_OPT_INT) return (double)v->i;
    if (v->desc->type == ECC_OPT_BOOL) return v->b;
    return v->f;
}

static int host_opt_bool(ecc_pass_run *run, const char *name) {
    const ecc_opt_value *v = ecc_pass_run_opt(run, name);
    if (!v || !v->set) return 0;
    if (v->desc->type == ECC_OPT_INT) return v->i != 0;
    if (v->desc->type == ECC_OPT_FLOAT) return v->f != 0.0;
    return v->b;
}

static const char *host_opt_string(ecc_pass_run *run, const char *name) {
    const ecc_opt_value *v = ecc_pass_run_opt(run, name);
    return v && v->set ? v->s : NULL;
}

/* ---------------- graph walking ---------------- */

static ecc_graph *host_graph(ecc_pass_run *run) {
    return run && run->model ? run->model->graph : NULL;
}
static size_t host_graph_node_count(const ecc_graph *g) { return g ? g->nodes.n : 0; }
static ecc_node *host_graph_node(const ecc_graph *g, size_t i) {
    return g && i < g->nodes.n ? g->nodes.items[i] : NULL;
}
static const char *host_node_op(const ecc_node *n) { return n->op_type; }
static const char *host_node_name(const ecc_node *n) { return n->name ? n->name : ""; }
static const char *host_node_domain(const ecc_node *n) { return n->domain ? n->domain : ""; }
static size_t host_node_input_count(const ecc_node *n) { return n->n_inputs; }
static ecc_value *host_node_input(const ecc_node *n, size_t i) {
    return i < n->n_inputs ? n->inputs[i] : NULL;
}
static size_t host_node_output_count(const ecc_node *n) { return n->n_outputs; }
static ecc_value *host_node_output(const ecc_node *n, size_t i) {
    return i < n->n_outputs ? n->outputs[i] : NULL;
}

static int host_node_attr_int(const ecc_node *n, const char *name, int64_t *out) {
    const ecc_attr *a = ecc_node_attr(n, name);
    if (!a || a->type != ECC_ATTR_INT) return 0;
    *out = a->i;
    return 1;
}

static int host_node_attr_float(const ecc_node *n, const char *name, float *out) {
    const ecc_attr *a = ecc_node_attr(n, name);
    if (!a || a->type != ECC_ATTR_FLOAT) return 0;
    *out = a->f;
    return 1;
}

static const char *host_value_name(const ecc_value *v) { return v ? v->name : ""; }

/* Local initializers only: captured outer values are reached through their
 * own graph. */
static ecc_tensor *host_value_initializer(const ecc_value *v) {
    return v ? v->init : NULL;
}

/* ---------------- tensors ---------------- */

static int host_tensor_dtype(const ecc_tensor *t) { return t ? t->dtype : 0; }
static int host_tensor_rank(const ecc_tensor *t) { return t ? t->rank : 0; }
static int64_t host_tensor_dim(const ecc_tensor *t, int i) {
    return t && i >= 0 && i < t->rank ? t->dims[i] : 0;
}
static int64_t host_tensor_numel(const ecc_tensor *t) { return t ? t->numel : 0; }

typedef struct holder_search {
    const ecc_tensor *t;
    ecc_value *found;
} holder_search;

static ecc_status holder_in(ecc_ctx *ctx, ecc_graph *g, void *arg) {
    holder_search *h = arg;
    (void)ctx;
    for (size_t i = 0; !h->found && i < g->inits.n; i++) {
        ecc_value *v = g->inits.items[i];
        if (v->init == h->t) h->found = v;
    }
    return ECC_OK;
}

/* The value of this model (main graph or a subgraph) holding t as initializer. */
static ecc_value *find_holder(ecc_pass_run *run, const ecc_tensor *t) {
    holder_search h = {t, NULL};
    (void)ecc_model_each_graph(run->ctx, run->model, holder_in, &h);
    return h.found;
}

/* Copy-on-write: a tensor shared with another value (or with the teacher
 * model) is cloned, and the value holding it now owns the clone. A handle
 * that was cloned earlier keeps resolving to its value's copy, so writes
 * never reach the shared original. */
static float *host_tensor_f32_mut(ecc_pass_run *run, ecc_tensor *t) {
    if (!run || !t || t->dtype != ECC_DTYPE_FLOAT) return NULL;
    ecc_value *v = handout_owner(run, t);
    if (v) t = v->init;
    if (!t || t->dtype != ECC_DTYPE_FLOAT) return NULL;
    if (t->refcount <= 1) return t->data;
    if (!v) v = find_holder(run, t);
    if (!v) return NULL; /* not an initializer of this model */
    ecc_tensor *u = t;
    if (ecc_tensor_make_unique(run->ctx, &u) != ECC_OK) {
        run->oom = true;
        return NULL;
    }
    v->init = u;
    handout_note(run, t, v);
    return u->data;
}

/* ---------------- editing ---------------- */

static int host_remove_node(ecc_pass_run *run, ecc_node *n) {
    if (!run || !n) return ECC_PLUGIN_E_USAGE;
    ecc_graph_remove_node(n->graph, n);
    return ECC_PLUGIN_OK;
}

static int host_replace_uses(ecc_pass_run *run, ecc_value *from, ecc_value *to) {
    if (!run || !from || !to) return ECC_PLUGIN_E_USAGE;
    ecc_value_replace_uses(from, to);
    return ECC_PLUGIN_OK;
}

static int host_register_pass(ecc_plugin_reg *reg, const ecc_pass_desc *desc) {
    return ecc_registry_register(reg, desc);
}

const ecc_host_api ecc_host_api_table = {
    .struct_size = sizeof(ecc_host_api),
    .abi_major = ECC_PLUGIN_ABI_MAJOR,
    .abi_minor = ECC_PLUGIN_ABI_MINOR,
    .register_pass = host_register_pass,
    .error = host_error,
    .log = host_log,
    .stat = host_stat,
    .opt_int = host_opt_int,
    .opt_float = host_opt_float,
    .opt_bool = host_opt_bool,
    .opt_string = host_opt_string,
    .seed = host_seed,
    .graph = host_graph,
    .graph_node_count = host_graph_node_count,
    .graph_node = host_graph_node,
    .node_op = host_node_op,
    .node_name = host_node_name,
    .node_domain = host_node_domain,
    .node_input_count = host_node_input_count,
    .node_input = host_node_input,
    .node_output_count = host_node_output_count,
    .node_output = host_node_output,
    .node_attr_int = host_node_attr_int,
    .node_attr_float = host_node_attr_float,
    .value_name = host_value_name,
    .value_initializer = host_value_initializer,
    .tensor_dtype = host_tensor_dtype,
    .tensor_rank = host_tensor_rank,
    .tensor_dim = host_tensor_dim,
    .tensor_numel = host_tensor_numel,
    .tensor_f32_mut = host_tensor_f32_mut,
    .remove_node = host_remove_node,
    .replace_uses = host_replace_uses,
};
