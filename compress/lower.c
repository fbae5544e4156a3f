/* lower.c — the single lowering step at the end of a pipeline: masks are
 * applied to their weights, then quantizers become QuantizeLinear /
 * DequantizeLinear (lower_quant.c). Also model-wide parameter statistics. */
#include "ir.h"
#include "lower_quant.h"

#include <string.h>

static ecc_status ecc_apply_mask(ecc_ctx *ctx, ecc_value *v) {
    ecc_mask *m = v->mask;
    ecc_tensor *t = v->init;
    if (!t)
        return ecc_ctx_error(ctx, ECC_E_INTERNAL, "mask on '%s', which is not a weight",
                             v->name);
    if (!m->keep || m->keep->numel != t->numel)
        return ecc_ctx_error(ctx, ECC_E_INTERNAL, "mask on '%s' does not match its shape",
                             v->name);
    ecc_status st = ecc_tensor_make_unique(ctx, &v->init);
    if (st) return st;
    t = v->init;
    const uint8_t *keep = m->keep->data;
    for (int64_t i = 0; i < t->numel; i++)
        if (!keep[i]) ecc_tensor_set_f64(t, i, 0.0);
    ecc_value_set_mask(v, NULL);
    return ECC_OK;
}

static ecc_status ecc_lower_graph(ecc_ctx *ctx, ecc_graph *g) {
    for (size_t i = 0; i < g->values.n; i++) {
        ecc_value *v = g->values.items[i];
        if (v->mask) {
            ecc_status st = ecc_apply_mask(ctx, v);
            if (st) return st;
        }
    }
    return ECC_OK;
}

ecc_status ecc_model_lower(ecc_ctx *ctx, ecc_model *m) {
    ecc_status st = ecc_lower_graph(ctx, m->graph);
    for (size_t i = 0; st == ECC_OK && i < m->subgraphs.n; i++)
        st = ecc_lower_graph(ctx, m->subgraphs.items[i]);
    return st == ECC_OK ? ecc_model_lower_quant(ctx, m) : st;
}

static void ecc_graph_param_stats(const ecc_graph *g, int64_t *params, int64_t *bytes) {
    for (size_t i = 0; i < g->inits.n; i++) {
        const ecc_tensor *t = ((const ecc_value *)g->inits.items[i])->init;
        *params += t->numel;
        *bytes += (int64_t)t->nbytes;
    }
}

void ecc_model_param_stats(const ecc_model *m, int64_t *params, int64_t *bytes) {
    *params = 0;
    *bytes = 0;
    ecc_graph_param_stats(m->graph, params, bytes);
    for (size_t i = 0; i < m->subgraphs.n; i++)
        ecc_graph_param_stats(m->subgraphs.items[i], params, bytes);
}
