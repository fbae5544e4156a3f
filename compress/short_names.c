/* short_names.c — `ecc compress --short-names`: the deployment form of a
 * model's names. Every tensor except the main graph's inputs and outputs is
 * renamed to a short base-36 id, unique across the model and its subgraphs;
 * node names and node / value doc strings are dropped (ONNX makes both
 * optional). The graph computes the same thing and binds by the same
 * input/output names; only the file shrinks. Captured values take the name of
 * the value they capture. Values defined somewhere the IR does not see (a
 * sparse initializer, kept opaque) keep their names, and a graph whose
 * opaque parts name tensors (quantization annotations, training info) is
 * refused rather than silently broken. */
#include "pipeline.h"

#include <stdio.h>
#include <string.h>

/* One renaming: the names that stay, and the next id. */
typedef struct shortener {
    ecc_model *m;
    ecc_strmap kept;
    uint64_t counter;
} shortener;

/* True when v's name is bound outside the graph structure we rewrite. */
static bool keeps_name(const ecc_model *m, const ecc_value *v) {
    if (v->graph == m->graph && (v->flags & (ECC_VALUE_INPUT | ECC_VALUE_OUTPUT))) return true;
    bool defined = v->producer || v->init || (v->flags & (ECC_VALUE_INPUT | ECC_VALUE_OUTER));
    return !defined;
}

/* Writes id in base 36 into buf (at least 14 bytes). */
static void base36(uint64_t id, char *buf) {
    char tmp[16];
    int n = 0;
    do tmp[n++] = "0123456789abcdefghijklmnopqrstuvwxyz"[id % 36], id /= 36;
    while (id);
    for (int i = 0; i < n; i++) buf[i] = tmp[n - 1 - i];
    buf[n] = '\0';
}

/* Renames v to the next id that no kept name already uses. */
static ecc_status take_next_name(ecc_ctx *ctx, shortener *s, ecc_value *v) {
    char buf[16];
    do base36(s->counter++, buf);
    while (ecc_strmap_get(&s->kept, buf));
    const char *name = ecc_arena_strdup(s->m->arena, buf);
    if (!name) return ECC_OOM(ctx);
    v->name = name;
    return ECC_OK;
}

static ecc_status refuse_opaque_names(ecc_ctx *ctx, ecc_graph *g, void *arg) {
    (void)arg;
    if (!g->quant_annots.n) return ECC_OK;
    return ecc_ctx_error(ctx, ECC_E_INPUT,
                         "--short-names: graph '%s' has quantization annotations that name "
                         "tensors; keep the names", g->name ? g->name : "");
}

static ecc_status collect_kept(ecc_ctx *ctx, ecc_graph *g, void *arg) {
    shortener *s = arg;
    for (size_t j = 0; j < g->values.n; j++) {
        ecc_value *v = g->values.items[j];
        if (keeps_name(s->m, v) && !ecc_strmap_put(&s->kept, v->name, v)) return ECC_OOM(ctx);
    }
    return ECC_OK;
}

/* Gives every renamed value of g its id, and drops node names. */
static ecc_status assign_names(ecc_ctx *ctx, ecc_graph *g, void *arg) {
    ecc_status st = ECC_OK;
    shortener *s = arg;
    for (size_t j = 0; j < g->values.n; j++) {
        ecc_value *v = g->values.items[j];
        v->doc_string = NULL;
        if (!keeps_name(s->m, v) && !(v->flags & ECC_VALUE_OUTER))
            ECC_TRY(take_next_name(ctx, s, v));
    }
    for (size_t j = 0; j < g->nodes.n; j++) {
        ecc_node *n = g->nodes.items[j];
        n->name = "";
        n->doc_string = NULL;
    }
fail:
    return st;
}

static const ecc_value *captured_root(const ecc_value *v) {
    while ((v->flags & ECC_VALUE_OUTER) && v->outer) v = v->outer;
    return v;
}

/* Captured values take their new outer name; g's name index is rebuilt. */
static ecc_status follow_captures(ecc_ctx *ctx, ecc_graph *g, void *arg) {
    (void)arg;
    ecc_strmap_free(&g->by_name);
    for (size_t j = 0; j < g->values.n; j++) {
        ecc_value *v = g->values.items[j];
        if (v->flags & ECC_VALUE_OUTER) v->name = captured_root(v)->name;
        if (!ecc_strmap_put(&g->by_name, v->name, v)) return ECC_OOM(ctx);
    }
    return ECC_OK;
}

ecc_status ecc_model_shorten_names(ecc_ctx *ctx, ecc_model *m) {
    ecc_status st = ECC_OK;
    shortener s = {m, {0}, 0};
    ECC_FAIL_IF(m->training_info.n, ctx, ECC_E_INPUT,
                "--short-names: the model's training info names tensors; keep the names");
    ECC_TRY(ecc_model_each_graph(ctx, m, refuse_opaque_names, NULL));
    ECC_TRY(ecc_model_each_graph(ctx, m, collect_kept, &s));
    ECC_TRY(ecc_model_each_graph(ctx, m, assign_names, &s));
    ECC_TRY(ecc_model_each_graph(ctx, m, follow_captures, NULL));
fail:
    ecc_strmap_free(&s.kept);
    return st;
}
