/* pipeline.c — checking and running a parsed pipeline: unmet needs are refused
 * before anything runs; each pass is timed (CLOCK_MONOTONIC), its statistics
 * and node/parameter counts are collected and reported, and the graph is
 * verified after it (a pass that breaks the graph is an internal error naming
 * it); annotations are lowered once at the end. The run's data cache (data
 * several passes read, read once; pipeline.h) lives here too. Parsing is in
 * options.c. */
#include "pipeline.h"

#include <stdlib.h>
#include <string.h>

void ecc_pipeline_free(ecc_pipeline *pl) {
    if (!pl) return;
    for (size_t i = 0; i < pl->n; i++) {
        ecc_pass_inv *inv = &pl->passes[i];
        for (uint32_t k = 0; inv->opts && k < inv->desc->n_options; k++)
            ecc_opt_value_clear(&inv->opts[k]);
        free(inv->opts);
        free(inv->text);
    }
    free(pl->passes);
    free(pl->text);
    free(pl);
}

/* ---------------- needs ---------------- */

static const char *env_calib(const ecc_run_env *env) {
    if (!env || env->struct_size < offsetof(ecc_run_env, calib_path) + sizeof env->calib_path)
        return NULL;
    return env->calib_path && *env->calib_path ? env->calib_path : NULL;
}

static const char *env_train(const ecc_run_env *env) {
    if (!env || env->struct_size < offsetof(ecc_run_env, train_path) + sizeof env->train_path)
        return NULL;
    return env->train_path && *env->train_path ? env->train_path : NULL;
}

/* A pass that trains reads --train when given, else --calib. */
static bool has_calib(const ecc_run_env *env, uint32_t needs) {
    return env_calib(env) || ((needs & ECC_NEED_TRAIN) && env_train(env));
}
static bool always(const ecc_run_env *env, uint32_t needs) {
    (void)env, (void)needs;
    return true;
}

static const struct {
    uint32_t flag;
    const char *what;
    bool (*available)(const ecc_run_env *env, uint32_t needs);
    const char *remedy;
} need_table[] = {
    {ECC_NEED_CALIB, "calibration data", has_calib, "give it with --calib DIR"},
    {ECC_NEED_TRAIN, "training", always, ""},
    {ECC_NEED_TEACHER, "the original model as teacher", always, ""},
};

static ecc_status pass_failed(ecc_ctx *ctx, const char *name, int rc);

/* The pass's own check of its options against env (ABI 1.1 descriptors). */
static ecc_status pass_check(ecc_ctx *ctx, const ecc_pass_inv *inv, const ecc_run_env *env) {
    const ecc_pass_desc *d = inv->desc;
    if (d->struct_size < offsetof(ecc_pass_desc, check) + sizeof d->check || !d->check)
        return ECC_OK;
    ecc_pass_run run = {.ctx = ctx, .env = env, .inv = inv};
    ecc_ctx_clear(ctx);
    int rc = d->check(&ecc_host_api_table, &run);
    ecc_pass_run_release(&run);
    return rc == ECC_PLUGIN_OK ? ECC_OK : pass_failed(ctx, d->name, rc);
}

/* ---------------- passes that do not compose ---------------- */

/* A pass (with option key=value, when key is given) whose place relative to
 * the passes that train is fixed: `needs_training_after` true, one must
 * follow it; false, none may. */
typedef struct compose_rule {
    const char *pass, *key, *value;
    bool needs_training_after;
    const char *why;
} compose_rule;

static const compose_rule compose_rules[] = {
    {"prune", "schedule", "gradual", true,
     "its masks ramp while a later pass fine-tunes: add distill after it"},
    {"quant", "mode", "dynamic", false,
     "training cannot simulate activations quantized at run time: put the training pass "
     "before quant, or use quant's static mode"},
};

static bool inv_matches(const ecc_pass_inv *inv, const compose_rule *r) {
    if (strcmp(inv->desc->name, r->pass) != 0) return false;
    if (!r->key) return true;
    for (uint32_t i = 0; i < inv->desc->n_options; i++)
        if (strcmp(inv->desc->options[i].name, r->key) == 0)
            return inv->opts[i].set && inv->opts[i].s && strcmp(inv->opts[i].s, r->value) == 0;
    return false;
}

/* The first pass after position i that trains, or NULL. */
static const ecc_pass_inv *training_after(const ecc_pipeline *pl, size_t i) {
    for (size_t k = i + 1; k < pl->n; k++)
        if (pl->passes[k].desc->needs & ECC_NEED_TRAIN) return &pl->passes[k];
    return NULL;
}

static ecc_status check_compose(ecc_ctx *ctx, const ecc_pipeline *pl) {
    for (size_t i = 0; i < pl->n; i++)
        for (size_t r = 0; r < sizeof compose_rules / sizeof compose_rules[0]; r++) {
            const compose_rule *c = &compose_rules[r];
            if (!inv_matches(&pl->passes[i], c)) continue;
            const ecc_pass_inv *t = training_after(pl, i);
            if (c->needs_training_after && !t)
                return ecc_ctx_error(ctx, ECC_E_USAGE, "'%s' needs a training pass after it: %s",
                                     pl->passes[i].text, c->why);
            if (!c->needs_training_after && t)
                return ecc_ctx_error(ctx, ECC_E_USAGE, "'%s' cannot come before '%s': %s",
                                     pl->passes[i].text, t->desc->name, c->why);
        }
    return ECC_OK;
}

ecc_status ecc_pipeline_check(ecc_ctx *ctx, const ecc_pipeline *pl, const ecc_run_env *env) {
    ecc_status st = ECC_OK;
    ECC_FAIL_IF(!pl, ctx, ECC_E_USAGE, "ecc_pipeline_check: NULL pipeline");
    ECC_TRY(check_compose(ctx, pl));
    for (size_t i = 0; i < pl->n; i++) {
        const ecc_pass_desc *d = pl->passes[i].desc;
        for (size_t k = 0; k < sizeof need_table / sizeof need_table[0]; k++)
            ECC_FAIL_IF((d->needs & need_table[k].flag) && !need_table[k].available(env, d->needs),
                        ctx, ECC_E_USAGE, "pass '%s' needs %s: %s", d->name, need_table[k].what,
                        need_table[k].remedy);
        ECC_TRY(pass_check(ctx, &pl->passes[i], env));
    }
fail:
    return st;
}

/* ---------------- counting ---------------- */

static size_t graph_node_count(const ecc_graph *g) {
    size_t n = g->nodes.n;
    for (size_t i = 0; i < g->nodes.n; i++) {
        const ecc_node *node = g->nodes.items[i];
        for (uint32_t a = 0; a < node->n_attrs; a++) {
            const ecc_attr *at = &node->attrs[a];
            if (at->type == ECC_ATTR_GRAPH && at->g) n += graph_node_count(at->g);
            for (size_t k = 0; at->type == ECC_ATTR_GRAPHS && k < at->n; k++)
                if (at->graphs[k]) n += graph_node_count(at->graphs[k]);
        }
    }
    return n;
}

size_t ecc_model_node_count(const ecc_model *m) { return graph_node_count(m->graph); }

typedef struct graph_visit {
    ecc_ctx *ctx;
    ecc_graph_visit_fn fn;
    void *arg;
    ecc_status st;
} graph_visit;

static ecc_status visit_graph(graph_visit *v, ecc_graph *g);

static void visit_sub(ecc_graph *sub, void *arg) {
    graph_visit *v = arg;
    if (v->st == ECC_OK) v->st = visit_graph(v, sub);
}

static ecc_status visit_graph(graph_visit *v, ecc_graph *g) {
    ecc_status st = v->fn(v->ctx, g, v->arg);
    if (st != ECC_OK) return st;
    for (size_t i = 0; i < g->nodes.n && v->st == ECC_OK; i++)
        ecc_node_each_subgraph(g->nodes.items[i], visit_sub, v);
    return v->st;
}

ecc_status ecc_model_each_graph(ecc_ctx *ctx, ecc_model *m, ecc_graph_visit_fn fn, void *arg) {
    graph_visit v = {ctx, fn, arg, ECC_OK};
    return visit_graph(&v, m->graph);
}

static void count_before(const ecc_model *m, ecc_pass_record *rec) {
    rec->nodes_before = (int64_t)ecc_model_node_count(m);
    ecc_model_param_stats(m, &rec->params_before, &rec->bytes_before);
}

static void count_after(const ecc_model *m, ecc_pass_record *rec) {
    rec->nodes_after = (int64_t)ecc_model_node_count(m);
    ecc_model_param_stats(m, &rec->params_after, &rec->bytes_after);
}

/* ---------------- the run's data cache ---------------- */

typedef struct cache_entry {
    char *key;                 /* malloc'd */
    void *data;
    size_t bytes;
    void (*free_fn)(void *);
    int loans;
} cache_entry;

struct ecc_run_cache {
    const ecc_run_env *env;
    bool trains;
    cache_entry *items;        /* oldest first */
    size_t n, cap, bytes;
};

static _Thread_local ecc_run_cache *current_cache;

ecc_run_cache *ecc_run_cache_current(void) { return current_cache; }
const ecc_run_env *ecc_run_cache_env(const ecc_run_cache *c) { return c->env; }
bool ecc_run_cache_trains(const ecc_run_cache *c) { return c->trains; }

static void cache_drop(ecc_run_cache *c, size_t i) {
    cache_entry *e = &c->items[i];
    if (e->free_fn) e->free_fn(e->data);
    free(e->key);
    c->bytes -= e->bytes;
    memmove(e, e + 1, (c->n - i - 1) * sizeof *e);
    c->n--;
}

static void cache_free(ecc_run_cache *c) {
    while (c->n) cache_drop(c, c->n - 1);
    free(c->items);
}

/* Bytes held by borrowed entries (which cannot be evicted). */
static size_t cache_lent(const ecc_run_cache *c) {
    size_t b = 0;
    for (size_t i = 0; i < c->n; i++) b += c->items[i].loans ? c->items[i].bytes : 0;
    return b;
}

bool ecc_run_cache_fits(const ecc_run_cache *c, size_t bytes) {
    return bytes <= ECC_RUN_CACHE_BOUND - cache_lent(c);
}

static cache_entry *cache_find(ecc_run_cache *c, const char *key) {
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->items[i].key, key)) return &c->items[i];
    return NULL;
}

void *ecc_run_cache_take(ecc_run_cache *c, const char *key) {
    cache_entry *e = c ? cache_find(c, key) : NULL;
    if (!e) return NULL;
    e->loans++;
    return e->data;
}

bool ecc_run_cache_put(ecc_run_cache *c, const char *key, void *data, size_t bytes,
                       void (*free_fn)(void *)) {
    if (!c || !ecc_run_cache_fits(c, bytes)) return false;
    cache_entry *old = cache_find(c, key);
    if (old && old->loans) return false;
    if (old) cache_drop(c, (size_t)(old - c->items));
    for (size_t i = 0; i < c->n && c->bytes > ECC_RUN_CACHE_BOUND - bytes;)
        if (c->items[i].loans) i++;
        else cache_drop(c, i);
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 4;
        cache_entry *grown = realloc(c->items, cap * sizeof *grown);
        if (!grown) return false;
        c->items = grown;
        c->cap = cap;
    }
    char *k = strdup(key);
    if (!k) return false;
    c->items[c->n++] = (cache_entry){k, data, bytes, free_fn, 1};
    c->bytes += bytes;
    return true;
}

void ecc_run_cache_release(ecc_run_cache *c, const void *data) {
    for (size_t i = 0; c && i < c->n; i++)
        if (c->items[i].data == data && c->items[i].loans > 0) {
            c->items[i].loans--;
            return;
        }
}

/* ---------------- running ---------------- */

static ecc_status status_of(int code) {
    return code >= ECC_E_USAGE && code <= ECC_E_INTERNAL ? (ecc_status)code : ECC_E_INTERNAL;
}

/* Prefixes the pass's own message (or says it gave none). */
static ecc_status pass_failed(ecc_ctx *ctx, const char *name, int rc) {
    char why[ECC_MSG_MAX];
    if (ctx->message[0])
        snprintf(why, sizeof why, "%s", ctx->message);
    else
        snprintf(why, sizeof why, "failed with code %d and no message", rc);
    return ecc_ctx_error(ctx, status_of(rc), "pass '%s': %s", name, why);
}

/* A pass (or lowering) that leaves an invalid graph is a bug in that pass. */
static ecc_status verify_after(ecc_ctx *ctx, const char *what, const ecc_model *m) {
    ecc_status st = ecc_graph_verify(ctx, m->graph);
    if (st == ECC_OK) return ECC_OK;
    char why[ECC_MSG_MAX];
    snprintf(why, sizeof why, "%s", ctx->message);
    return ecc_ctx_error(ctx, ECC_E_INTERNAL, "%s left an invalid graph (a bug in it): %s", what,
                         why);
}

static void log_pass(ecc_ctx *ctx, const ecc_pass_record *rec) {
    char line[ECC_MSG_MAX];
    size_t used = 0;
    int w = snprintf(line, sizeof line, "%s: %.3f s, nodes %lld -> %lld, params %lld -> %lld",
                     rec->inv->text, rec->seconds, (long long)rec->nodes_before,
                     (long long)rec->nodes_after, (long long)rec->params_before,
                     (long long)rec->params_after);
    used = w > 0 ? (size_t)w : 0;
    for (size_t i = 0; i < rec->n_stats && used < sizeof line; i++) {
        w = snprintf(line + used, sizeof line - used, ", %s=%g", rec->stats[i].key,
                     rec->stats[i].value);
        used += w > 0 ? (size_t)w : 0;
    }
    ecc_log(ctx, 1, "%s", line);
}

static ecc_status run_one(ecc_ctx *ctx, const ecc_pass_inv *inv, ecc_model *model,
                          const ecc_run_env *env, ecc_report *report) {
    ecc_status st = ECC_OK;
    const char *name = inv->desc->name;
    ecc_pass_run run = {.ctx = ctx, .model = model, .env = env, .inv = inv};
    ecc_pass_record rec = {.inv = inv};
    count_before(model, &rec);
    ecc_ctx_clear(ctx);
    double t0 = ecc_now_seconds();
    int rc = inv->desc->run(&ecc_host_api_table, &run);
    rec.seconds = ecc_now_seconds() - t0;
    if (rc != ECC_PLUGIN_OK) ECC_TRY(pass_failed(ctx, name, rc));
    ECC_FAIL_IF(run.oom, ctx, ECC_E_INTERNAL, "pass '%s': out of memory", name);
    char what[300];
    snprintf(what, sizeof what, "pass '%s'", name);
    ECC_TRY(verify_after(ctx, what, model));
    count_after(model, &rec);
    rec.stats = run.stats;
    rec.n_stats = run.n_stats;
    if (report) ecc_report_add_pass(report, &rec);
    log_pass(ctx, &rec);
fail:
    ecc_pass_run_release(&run);
    return st;
}

static bool pipeline_trains(const ecc_pipeline *pl) {
    for (size_t i = 0; i < pl->n; i++)
        if (pl->passes[i].desc->needs & ECC_NEED_TRAIN) return true;
    return false;
}

ecc_status ecc_pipeline_run(ecc_ctx *ctx, ecc_pipeline *pl, ecc_model *model,
                            const ecc_run_env *env, ecc_report *report) {
    ecc_status st = ECC_OK;
    ECC_FAIL_IF(!pl || !model, ctx, ECC_E_USAGE, "ecc_pipeline_run: NULL argument");
    ECC_TRY(ecc_pipeline_check(ctx, pl, env));
    ECC_TRY(ecc_graph_verify(ctx, model->graph));
    if (report) {
        ecc_report_set_string(report, "pipeline", pl->text);
        ecc_report_begin_passes(report);
    }
    ecc_run_cache cache = {.env = env, .trains = pipeline_trains(pl)}, *outer = current_cache;
    current_cache = &cache;
    int blas_threads = ecc_blas_single(); /* GPTQ, SparseGPT: same bytes on any core count */
    for (size_t i = 0; i < pl->n && st == ECC_OK; i++)
        st = run_one(ctx, &pl->passes[i], model, env, report);
    ecc_blas_restore(blas_threads);
    current_cache = outer;
    cache_free(&cache);
    ECC_TRY(st);
    ECC_TRY(ecc_model_lower(ctx, model));
    ECC_TRY(verify_after(ctx, "lowering", model));
fail:
    return st;
}
