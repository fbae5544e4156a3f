/* dce.c — the `dce` pass: removes nodes that no graph output depends on and
 * initializers that nothing reads, in the main graph and every subgraph. */
#include "pipeline.h"

static ecc_status count_inits(ecc_ctx *ctx, ecc_graph *g, void *arg) {
    (void)ctx;
    *(size_t *)arg += g->inits.n;
    return ECC_OK;
}

static int dce_run(const ecc_host_api *host, ecc_pass_run *run) {
    ecc_status st = ECC_OK;
    size_t before = 0, after = 0, removed = 0;
    ECC_TRY(ecc_model_each_graph(run->ctx, run->model, count_inits, &before));
    ECC_TRY(ecc_graph_dce(run->ctx, run->model->graph, true, &removed));
    ECC_TRY(ecc_model_each_graph(run->ctx, run->model, count_inits, &after));
    host->stat(run, "nodes_removed", (double)removed);
    host->stat(run, "initializers_removed", (double)(before - after));
fail:
    return (int)st;
}

const ecc_pass_desc ecc_pass_dce = {
    .struct_size = sizeof(ecc_pass_desc),
    .name = "dce",
    .summary = "remove nodes no graph output depends on, and unused initializers",
    .run = dce_run,
};
