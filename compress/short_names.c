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
#include "ir.h"

#include <stdio.h>
#include <string.h>

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
static ecc_status take_next_name(ecc_ctx *ctx, ecc_model *m, const ecc_strmap *kept,
                                 uint64_t *counter, ecc_value *v) {
    char buf[16];
    do base36((*counter)++, buf);
    while (ecc_strmap_get(kept, buf));
    const char *s = ecc_arena_strdup(m->arena, buf);
    if (!s) return ECC_OOM(ctx);
    v->name = s;
    return ECC_OK;
}

static ecc_status refuse_opaque_names(ecc_ctx *ctx, ecc_model *m) {
    ecc_status st = ECC_OK;
    ECC_FAIL_IF(m->training_info.n, ctx, ECC_E_INPUT,
                "--short-names: the model's training info names tensors; keep the names");
    for (size_t i = 0; i < ecc_model_graph_count(m); i++) {
        const ecc_graph *g = ecc_model_graph(m, i);
        ECC_FAIL_IF(g->quant_annots.n, ctx, ECC_E_INPUT,
                    "--short-names: graph '%s' has quantization annotations that name "
                    "tensors; keep the names", g->name ? g->name : "");
    }
fail:
    return st;
}

static ecc_status collect_kept(ecc_ctx *ctx, ecc_model *m, ecc_strmap *kept) {
    for (size_t i = 0; i < ecc_model_graph_count(m); i++) {
        ecc_graph *g = ecc_model_graph(m, i);
        for (size_t j = 0; j < g->values.n; j++) {
            ecc_value *v = g->values.items[j];
            if (keeps_name(m, v) && !ecc_strmap_put(kept, v->name, v)) return ECC_OOM(ctx);
        }
    }
    return ECC_OK;
}

static const ecc_value *captured_root(const ecc_value *v) {
    while ((v->flags & ECC_VALUE_OUTER) && v->outer) v = v->outer;
    return v;
}

static ecc_status rebuild_index(ecc_ctx *ctx, ecc_graph *g) {
    ecc_strmap_free(&g->by_name);
    for (size_t j = 0; j < g->values.n; j++) {
        ecc_value *v = g->values.items[j];
        if (!ecc_strmap_put(&g->by_name, v->name, v)) return ECC_OOM(ctx);
    }
    return ECC_OK;
}

/* Gives every renamed value of every graph its id, and drops node names. */
static ecc_status assign_names(ecc_ctx *ctx, ecc_model *m, const ecc_strmap *kept) {
    ecc_status st = ECC_OK;
    uint64_t counter = 0;
    for (size_t i = 0; i < ecc_model_graph_count(m); i++) {
        ecc_graph *g = ecc_model_graph(m, i);
        for (size_t j = 0; j < g->values.n; j++) {
            ecc_value *v = g->values.items[j];
            v->doc_string = NULL;
            if (!keeps_name(m, v) && !(v->flags & ECC_VALUE_OUTER))
                ECC_TRY(take_next_name(ctx, m, kept, &counter, v));
        }
        for (size_t j = 0; j < g->nodes.n; j++) {
            ecc_node *n = g->nodes.items[j];
            n->name = "";
            n->doc_string = NULL;
        }
    }
fail:
    return st;
}

ecc_status ecc_model_shorten_names(ecc_ctx *ctx, ecc_model *m) {
    ecc_status st;
    ecc_strmap kept = {0};
    ECC_TRY(refuse_opaque_names(ctx, m));
    ECC_TRY(collect_kept(ctx, m, &kept));
    ECC_TRY(assign_names(ctx, m, &kept));
    for (size_t i = 0; i < ecc_model_graph_count(m); i++) {
        ecc_graph *g = ecc_model_graph(m, i);
        for (size_t j = 0; j < g->values.n; j++) {
            ecc_value *v = g->values.items[j];
            if (v->flags & ECC_VALUE_OUTER) v->name = captured_root(v)->name;
        }
        ECC_TRY(rebuild_index(ctx, g));
    }
fail:
    ecc_strmap_free(&kept);
    return st;
}
