/* report.c — the JSON run report (cJSON): top-level strings and numbers set
 * by the caller, model summaries, and the ordered "passes" array the pipeline
 * appends to (options, seconds, statistics, counts before/after). Written
 * atomically as pretty JSON. */
#include "pipeline.h"
#include "atomic.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct ecc_report {
    cJSON *root;
    bool oom;  /* an allocation failed while building: write() refuses */
};

ecc_report *ecc_report_create(void) {
    ecc_report *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->root = cJSON_CreateObject();
    if (!r->root) {
        free(r);
        return NULL;
    }
    return r;
}

void ecc_report_free(ecc_report *r) {
    if (!r) return;
    cJSON_Delete(r->root);
    free(r);
}

/* Sets root[key] = item (replacing), taking ownership of item. */
static void report_put(ecc_report *r, const char *key, cJSON *item) {
    if (!r || !key) {
        cJSON_Delete(item);
        return;
    }
    if (!item) {
        r->oom = true;
        return;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(r->root, key);
    if (!cJSON_AddItemToObject(r->root, key, item)) {
        cJSON_Delete(item);
        r->oom = true;
    }
}

void ecc_report_set_string(ecc_report *r, const char *key, const char *value) {
    report_put(r, key, value ? cJSON_CreateString(value) : cJSON_CreateNull());
}

void ecc_report_set_number(ecc_report *r, const char *key, double value) {
    report_put(r, key, cJSON_CreateNumber(value));
}

/* ---------------- model summary ---------------- */

static void count_ops(cJSON *ops, const ecc_graph *g, int64_t *nodes) {
    for (size_t i = 0; i < g->nodes.n; i++) {
        const ecc_node *n = g->nodes.items[i];
        (*nodes)++;
        cJSON *c = cJSON_GetObjectItemCaseSensitive(ops, n->op_type);
        if (c)
            cJSON_SetNumberValue(c, c->valuedouble + 1);
        else
            cJSON_AddNumberToObject(ops, n->op_type, 1);
        for (uint32_t a = 0; a < n->n_attrs; a++) {
            const ecc_attr *at = &n->attrs[a];
            if (at->type == ECC_ATTR_GRAPH && at->g) count_ops(ops, at->g, nodes);
            for (size_t k = 0; at->type == ECC_ATTR_GRAPHS && k < at->n; k++)
                if (at->graphs[k]) count_ops(ops, at->graphs[k], nodes);
        }
    }
}

void ecc_report_add_model(ecc_report *r, const char *key, const ecc_model *model) {
    if (!r || !model) return;
    cJSON *o = cJSON_CreateObject();
    cJSON *ops = cJSON_CreateObject();
    if (!o || !ops) {
        cJSON_Delete(o);
        cJSON_Delete(ops);
        r->oom = true;
        return;
    }
    int64_t params = 0, bytes = 0, nodes = 0;
    ecc_model_param_stats(model, &params, &bytes);
    count_ops(ops, model->graph, &nodes);
    if (model->path) cJSON_AddStringToObject(o, "path", model->path);
    cJSON_AddNumberToObject(o, "opset", (double)ecc_model_opset(model, ""));
    cJSON_AddNumberToObject(o, "nodes", (double)nodes);
    cJSON_AddNumberToObject(o, "initializers", (double)model->graph->inits.n);
    cJSON_AddNumberToObject(o, "params", (double)params);
    cJSON_AddNumberToObject(o, "bytes", (double)bytes);
    cJSON_AddItemToObject(o, "ops", ops);
    report_put(r, key, o);
}

/* ---------------- passes ---------------- */

static cJSON *option_json(const ecc_opt_value *v) {
    if (!v->set) return cJSON_CreateNull();
    switch (v->desc->type) {
    case ECC_OPT_BOOL: return cJSON_CreateBool(v->b);
    case ECC_OPT_INT: return cJSON_CreateNumber((double)v->i);
    case ECC_OPT_FLOAT: return cJSON_CreateNumber(v->f);
    default: return cJSON_CreateString(v->s ? v->s : "");
    }
}

static cJSON *options_json(const ecc_pass_inv *inv) {
    cJSON *o = cJSON_CreateObject();
    for (uint32_t i = 0; o && i < inv->desc->n_options; i++) {
        cJSON *item = option_json(&inv->opts[i]);
        if (!item || !cJSON_AddItemToObject(o, inv->opts[i].desc->name, item)) {
            cJSON_Delete(item);
            cJSON_Delete(o);
            return NULL;
        }
    }
    return o;
}

static cJSON *stats_json(const ecc_pass_record *rec) {
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; o && i < rec->n_stats; i++)
        if (!cJSON_AddNumberToObject(o, rec->stats[i].key, rec->stats[i].value)) {
            cJSON_Delete(o);
            return NULL;
        }
    return o;
}

static cJSON *pass_json(const ecc_pass_record *rec) {
    cJSON *p = cJSON_CreateObject();
    cJSON *opts = options_json(rec->inv), *stats = stats_json(rec);
    if (!p || !opts || !stats) goto fail;
    cJSON_AddStringToObject(p, "name", rec->inv->desc->name);
    cJSON_AddStringToObject(p, "origin", rec->inv->origin);
    cJSON_AddStringToObject(p, "spec", rec->inv->text);
    cJSON_AddItemToObject(p, "options", opts);
    opts = NULL;
    cJSON_AddNumberToObject(p, "seconds", rec->seconds);
    cJSON_AddItemToObject(p, "stats", stats);
    stats = NULL;
    cJSON_AddNumberToObject(p, "nodes_before", (double)rec->nodes_before);
    cJSON_AddNumberToObject(p, "nodes_after", (double)rec->nodes_after);
    cJSON_AddNumberToObject(p, "params_before", (double)rec->params_before);
    cJSON_AddNumberToObject(p, "params_after", (double)rec->params_after);
    cJSON_AddNumberToObject(p, "bytes_before", (double)rec->bytes_before);
    cJSON_AddNumberToObject(p, "bytes_after", (double)rec->bytes_after);
    return p;
fail:
    cJSON_Delete(p);
    cJSON_Delete(opts);
    cJSON_Delete(stats);
    return NULL;
}

void ecc_report_begin_passes(ecc_report *r) { report_put(r, "passes", cJSON_CreateArray()); }

void ecc_report_add_pass(ecc_report *r, const ecc_pass_record *rec) {
    if (!r || !rec) return;
    cJSON *passes = cJSON_GetObjectItemCaseSensitive(r->root, "passes");
    if (!cJSON_IsArray(passes)) {
        ecc_report_begin_passes(r);
        passes = cJSON_GetObjectItemCaseSensitive(r->root, "passes");
        if (!passes) return;
    }
    cJSON *p = pass_json(rec);
    if (!p || !cJSON_AddItemToArray(passes, p)) {
        cJSON_Delete(p);
        r->oom = true;
    }
}

/* ---------------- writing ---------------- */

ecc_status ecc_report_write(ecc_ctx *ctx, const ecc_report *r, const char *path) {
    ecc_status st = ECC_OK;
    char *text = NULL;
    ecc_atomic_file f = {0};
    ECC_FAIL_IF(!r || !path, ctx, ECC_E_USAGE, "ecc_report_write: NULL argument");
    ECC_FAIL_IF(r->oom, ctx, ECC_E_INTERNAL, "out of memory while building the report");
    text = cJSON_Print(r->root);
    ECC_FAIL_IF(!text, ctx, ECC_E_INTERNAL, "out of memory");
    ECC_TRY(ecc_atomic_open(ctx, path, &f));
    ECC_FAIL_IF(fputs(text, f.fp) < 0 || fputc('\n', f.fp) == EOF, ctx, ECC_E_INTERNAL,
                "cannot write %s: %s", f.final_path, strerror(errno));
    ECC_TRY(ecc_atomic_commit(ctx, &f));
fail:
    ecc_atomic_abort(&f);
    cJSON_free(text);
    return st;
}
