/* inspect.c — `ecc inspect`: a model summary (opsets, interface, op
 * histogram, parameters and bytes per dtype, largest tensors, per-weight
 * sparsity and quantization) built once as JSON and printed as JSON or text. */
#include "ir.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static cJSON *ecc_shape_json(const ecc_value *v) {
    cJSON *a = cJSON_CreateArray();
    for (int32_t i = 0; a && i < v->rank; i++) {
        const ecc_dim *d = &v->dims[i];
        if (d->param) cJSON_AddItemToArray(a, cJSON_CreateString(d->param));
        else if (d->value >= 0) cJSON_AddItemToArray(a, cJSON_CreateNumber((double)d->value));
        else cJSON_AddItemToArray(a, cJSON_CreateString("?"));
    }
    return a;
}

static cJSON *ecc_dims_json(const ecc_tensor *t) {
    cJSON *a = cJSON_CreateArray();
    for (int32_t i = 0; a && i < t->rank; i++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber((double)t->dims[i]));
    return a;
}

static cJSON *ecc_io_json(const ecc_ptrvec *vals) {
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < vals->n; i++) {
        const ecc_value *v = vals->items[i];
        if (v->init) continue; /* IR<4 lists initializers as inputs */
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", v->name);
        cJSON_AddStringToObject(o, "dtype", v->type_opaque.len ? "non-tensor"
                                                               : ecc_dtype_name(v->dtype));
        if (v->rank >= 0) cJSON_AddItemToObject(o, "shape", ecc_shape_json(v));
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

/* op histogram over the main graph and every subgraph */
static void ecc_count_ops(const ecc_graph *g, cJSON *hist, int64_t *nodes) {
    char key[300];
    for (size_t i = 0; i < g->nodes.n; i++) {
        const ecc_node *n = g->nodes.items[i];
        if (n->domain[0] && strcmp(n->domain, "ai.onnx") != 0)
            snprintf(key, sizeof key, "%s::%s", n->domain, n->op_type);
        else
            snprintf(key, sizeof key, "%s", n->op_type);
        cJSON *c = cJSON_GetObjectItemCaseSensitive(hist, key);
        if (c) cJSON_SetNumberValue(c, c->valuedouble + 1);
        else cJSON_AddNumberToObject(hist, key, 1);
        (*nodes)++;
    }
}

static int ecc_cmp_count_desc(const void *a, const void *b) {
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
    if (x->valuedouble != y->valuedouble) return x->valuedouble < y->valuedouble ? 1 : -1;
    return strcmp(x->string, y->string);
}

/* Returns the histogram as an object sorted by count (desc), then name. */
static cJSON *ecc_sorted_object(cJSON *hist) {
    int n = cJSON_GetArraySize(hist);
    cJSON **items = calloc((size_t)n + 1, sizeof *items);
    cJSON *out = cJSON_CreateObject();
    int k = 0;
    for (cJSON *c = hist ? hist->child : NULL; c && items; c = c->next) items[k++] = c;
    if (items) qsort(items, (size_t)k, sizeof *items, ecc_cmp_count_desc);
    for (int i = 0; i < k; i++) cJSON_AddNumberToObject(out, items[i]->string, items[i]->valuedouble);
    free(items);
    cJSON_Delete(hist);
    return out;
}

static double ecc_zero_fraction(const ecc_tensor *t) {
    if (t->strings || !t->numel) return 0.0;
    int64_t zeros = 0;
    if (t->dtype == ECC_DTYPE_FLOAT) {
        const float *d = t->data;
        for (int64_t i = 0; i < t->numel; i++) zeros += d[i] == 0.0f;
    } else {
        for (int64_t i = 0; i < t->numel; i++) zeros += ecc_tensor_get_f64(t, i) == 0.0;
    }
    return (double)zeros / (double)t->numel;
}

double ecc_model_weight_zeros(const ecc_model *model) {
    double zeros = 0, all = 0;
    const ecc_graph *g = model->graph;
    for (size_t i = 0; i < g->inits.n; i++) {
        const ecc_tensor *t = ((const ecc_value *)g->inits.items[i])->init;
        if (!t || t->dtype != ECC_DTYPE_FLOAT || t->rank < 2) continue;
        zeros += ecc_zero_fraction(t) * (double)t->numel;
        all += (double)t->numel;
    }
    return all > 0 ? zeros / all : 0.0;
}

/* The DequantizeLinear reading v as its quantized input, if any. */
static const ecc_node *ecc_dq_consumer(const ecc_value *v) {
    for (uint32_t i = 0; i < v->n_uses; i++) {
        const ecc_node *n = v->uses[i].node;
        if (v->uses[i].slot == 0 && strcmp(n->op_type, "DequantizeLinear") == 0) return n;
    }
    return NULL;
}

static cJSON *ecc_quant_json(const ecc_value *v) {
    const ecc_node *dq = ecc_dq_consumer(v);
    if (!dq && !v->quant) return NULL;
    cJSON *q = cJSON_CreateObject();
    const ecc_dtype_traits *tr = ecc_dtype_get(v->init->dtype);
    if (v->quant) {
        cJSON_AddStringToObject(q, "state", "annotated");
        cJSON_AddNumberToObject(q, "bits", v->quant->bits);
        return q;
    }
    cJSON_AddStringToObject(q, "state", "DequantizeLinear");
    cJSON_AddStringToObject(q, "dtype", ecc_dtype_name(v->init->dtype));
    cJSON_AddNumberToObject(q, "bits", tr ? tr->bits : 0);
    const ecc_tensor *scale = dq->n_inputs > 1 && dq->inputs[1] ? ecc_value_const(dq->inputs[1]) : NULL;
    const ecc_tensor *zp = dq->n_inputs > 2 && dq->inputs[2] ? ecc_value_const(dq->inputs[2]) : NULL;
    const char *gran = "per-tensor";
    if (ecc_node_attr_int(dq, "block_size", 0) > 0) gran = "blocked";
    else if (scale && scale->numel > 1) gran = "per-channel";
    cJSON_AddStringToObject(q, "granularity", gran);
    if (ecc_node_attr_int(dq, "block_size", 0) > 0)
        cJSON_AddNumberToObject(q, "block_size", (double)ecc_node_attr_int(dq, "block_size", 0));
    cJSON_AddBoolToObject(q, "symmetric", !zp || ecc_zero_fraction(zp) == 1.0);
    return q;
}

static int ecc_cmp_bytes_desc(const void *a, const void *b) {
    const ecc_value *x = *(const ecc_value *const *)a, *y = *(const ecc_value *const *)b;
    if (x->init->nbytes != y->init->nbytes) return x->init->nbytes < y->init->nbytes ? 1 : -1;
    return strcmp(x->name, y->name);
}

/* o[key] += v, when both exist (a failed allocation is caught at the end). */
static void json_add(cJSON *o, const char *key, double v) {
    cJSON *c = o ? cJSON_GetObjectItem(o, key) : NULL;
    if (c) cJSON_SetNumberValue(c, c->valuedouble + v);
}

static void ecc_add_params(cJSON *root, const ecc_model *m) {
    cJSON *per = cJSON_CreateObject();
    int64_t params = 0, bytes = 0;
    ecc_model_param_stats(m, &params, &bytes);
    const ecc_graph *g = m->graph;
    for (size_t i = 0; i < g->inits.n; i++) {
        const ecc_tensor *t = ((const ecc_value *)g->inits.items[i])->init;
        const char *dn = ecc_dtype_name(t->dtype);
        cJSON *e = cJSON_GetObjectItemCaseSensitive(per, dn);
        if (!e) {
            e = cJSON_AddObjectToObject(per, dn);
            cJSON_AddNumberToObject(e, "tensors", 0);
            cJSON_AddNumberToObject(e, "params", 0);
            cJSON_AddNumberToObject(e, "bytes", 0);
        }
        json_add(e, "tensors", 1);
        json_add(e, "params", (double)t->numel);
        json_add(e, "bytes", (double)t->nbytes);
    }
    cJSON_AddNumberToObject(root, "parameters", (double)params);
    cJSON_AddNumberToObject(root, "parameter_bytes", (double)bytes);
    cJSON_AddItemToObject(root, "per_dtype", per);
}

static void ecc_add_tensors(cJSON *root, const ecc_graph *g) {
    const ecc_value **rows = calloc(g->inits.n + 1, sizeof *rows);
    if (!rows) return;
    for (size_t i = 0; i < g->inits.n; i++) rows[i] = g->inits.items[i];
    qsort(rows, g->inits.n, sizeof *rows, ecc_cmp_bytes_desc);
    cJSON *largest = cJSON_AddArrayToObject(root, "largest_tensors");
    cJSON *weights = cJSON_AddArrayToObject(root, "weights");
    for (size_t i = 0; i < g->inits.n; i++) {
        const ecc_value *v = rows[i];
        const ecc_tensor *t = v->init;
        if (i < 10) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", v->name);
            cJSON_AddStringToObject(o, "dtype", ecc_dtype_name(t->dtype));
            cJSON_AddItemToObject(o, "dims", ecc_dims_json(t));
            cJSON_AddNumberToObject(o, "bytes", (double)t->nbytes);
            cJSON_AddItemToArray(largest, o);
        }
        if (t->rank < 2 && !ecc_dq_consumer(v)) continue; /* biases, scales, shapes */
        cJSON *w = cJSON_CreateObject();
        cJSON_AddStringToObject(w, "name", v->name);
        cJSON_AddNumberToObject(w, "params", (double)t->numel);
        cJSON_AddNumberToObject(w, "sparsity", ecc_zero_fraction(t));
        if (v->mask) cJSON_AddNumberToObject(w, "mask_sparsity", v->mask->sparsity);
        cJSON *q = ecc_quant_json(v);
        if (q) cJSON_AddItemToObject(w, "quantization", q);
        cJSON_AddItemToArray(weights, w);
    }
    free(rows);
}

static cJSON *ecc_inspect_build(const ecc_model *m) {
    cJSON *root = cJSON_CreateObject();
    if (m->path) cJSON_AddStringToObject(root, "file", m->path);
    cJSON_AddNumberToObject(root, "ir_version", (double)m->ir_version);
    cJSON_AddStringToObject(root, "producer",
                            m->producer_name ? m->producer_name : "");
    cJSON *ops = cJSON_AddArrayToObject(root, "opsets");
    for (size_t i = 0; i < m->n_opsets; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "domain", m->opsets[i].domain[0] ? m->opsets[i].domain : "ai.onnx");
        cJSON_AddNumberToObject(o, "version", (double)m->opsets[i].version);
        cJSON_AddItemToArray(ops, o);
    }
    cJSON_AddItemToObject(root, "inputs", ecc_io_json(&m->graph->inputs));
    cJSON_AddItemToObject(root, "outputs", ecc_io_json(&m->graph->outputs));
    cJSON *hist = cJSON_CreateObject();
    int64_t nodes = 0;
    ecc_count_ops(m->graph, hist, &nodes);
    for (size_t i = 0; i < m->subgraphs.n; i++) ecc_count_ops(m->subgraphs.items[i], hist, &nodes);
    cJSON_AddNumberToObject(root, "nodes", (double)nodes);
    cJSON_AddItemToObject(root, "ops", ecc_sorted_object(hist));
    ecc_add_params(root, m);
    ecc_add_tensors(root, m->graph);
    return root;
}

/* ---- text rendering ---- */

static void ecc_print_shape(FILE *out, const cJSON *shape) {
    fputc('[', out);
    for (const cJSON *d = shape ? shape->child : NULL; d; d = d->next) {
        if (cJSON_IsNumber(d)) fprintf(out, "%.0f", d->valuedouble);
        else fputs(d->valuestring, out);
        if (d->next) fputc(',', out);
    }
    fputc(']', out);
}

static void ecc_print_io(FILE *out, const char *title, const cJSON *arr) {
    fprintf(out, "%s:\n", title);
    for (const cJSON *o = arr->child; o; o = o->next) {
        fprintf(out, "  %-24s %-8s ", cJSON_GetObjectItem(o, "name")->valuestring,
                cJSON_GetObjectItem(o, "dtype")->valuestring);
        const cJSON *s = cJSON_GetObjectItem(o, "shape");
        if (s) ecc_print_shape(out, s);
        else fputs("(no shape)", out);
        fputc('\n', out);
    }
}

static void ecc_inspect_text(FILE *out, const cJSON *r) {
    const cJSON *f = cJSON_GetObjectItem(r, "file");
    fprintf(out, "model      %s\n", f ? f->valuestring : "(memory)");
    fprintf(out, "ir_version %.0f   producer %s\nopsets    ", cJSON_GetObjectItem(r, "ir_version")->valuedouble,
            cJSON_GetObjectItem(r, "producer")->valuestring);
    for (const cJSON *o = cJSON_GetObjectItem(r, "opsets")->child; o; o = o->next)
        fprintf(out, " %s:%.0f", cJSON_GetObjectItem(o, "domain")->valuestring,
                cJSON_GetObjectItem(o, "version")->valuedouble);
    fputc('\n', out);
    ecc_print_io(out, "inputs", cJSON_GetObjectItem(r, "inputs"));
    ecc_print_io(out, "outputs", cJSON_GetObjectItem(r, "outputs"));
    fprintf(out, "nodes: %.0f\n", cJSON_GetObjectItem(r, "nodes")->valuedouble);
    for (const cJSON *o = cJSON_GetObjectItem(r, "ops")->child; o; o = o->next)
        fprintf(out, "  %-28s %6.0f\n", o->string, o->valuedouble);
    fprintf(out, "parameters: %.0f (%.0f bytes)\n", cJSON_GetObjectItem(r, "parameters")->valuedouble,
            cJSON_GetObjectItem(r, "parameter_bytes")->valuedouble);
    for (const cJSON *o = cJSON_GetObjectItem(r, "per_dtype")->child; o; o = o->next)
        fprintf(out, "  %-10s %6.0f tensors %12.0f params %12.0f bytes\n", o->string,
                cJSON_GetObjectItem(o, "tensors")->valuedouble,
                cJSON_GetObjectItem(o, "params")->valuedouble,
                cJSON_GetObjectItem(o, "bytes")->valuedouble);
    fprintf(out, "largest tensors:\n");
    for (const cJSON *o = cJSON_GetObjectItem(r, "largest_tensors")->child; o; o = o->next) {
        fprintf(out, "  %-32s %-8s ", cJSON_GetObjectItem(o, "name")->valuestring,
                cJSON_GetObjectItem(o, "dtype")->valuestring);
        ecc_print_shape(out, cJSON_GetObjectItem(o, "dims"));
        fprintf(out, " %.0f bytes\n", cJSON_GetObjectItem(o, "bytes")->valuedouble);
    }
    fprintf(out, "weights (sparsity, quantization):\n");
    for (const cJSON *o = cJSON_GetObjectItem(r, "weights")->child; o; o = o->next) {
        fprintf(out, "  %-32s %10.0f params  sparsity %5.1f%%",
                cJSON_GetObjectItem(o, "name")->valuestring,
                cJSON_GetObjectItem(o, "params")->valuedouble,
                100.0 * cJSON_GetObjectItem(o, "sparsity")->valuedouble);
        const cJSON *q = cJSON_GetObjectItem(o, "quantization");
        if (q) {
            const cJSON *g = cJSON_GetObjectItem(q, "granularity");
            fprintf(out, "  int%.0f %s", cJSON_GetObjectItem(q, "bits")->valuedouble,
                    g ? g->valuestring : "annotated");
        } else {
            fputs("  float", out);
        }
        fputc('\n', out);
    }
}

/* cJSON allocations while the report is built: one that fails marks the
 * report incomplete, reported as out of memory instead of printed in part. */
static bool json_failed;
static void *json_malloc(size_t n) {
    void *p = malloc(n);
    if (!p) json_failed = true;
    return p;
}

static cJSON *ecc_inspect_build_checked(const ecc_model *model) {
    cJSON_Hooks hooks = {json_malloc, free};
    cJSON_InitHooks(&hooks);
    json_failed = false;
    cJSON *r = ecc_inspect_build(model);
    cJSON_InitHooks(NULL);
    if (r && !json_failed) return r;
    cJSON_Delete(r);
    return NULL;
}

ecc_status ecc_model_inspect(ecc_ctx *ctx, const ecc_model *model, bool json, FILE *out) {
    cJSON *r = ecc_inspect_build_checked(model);
    if (!r) return ECC_OOM(ctx);
    if (json) {
        char *s = cJSON_Print(r);
        if (!s) {
            cJSON_Delete(r);
            return ECC_OOM(ctx);
        }
        fprintf(out, "%s\n", s);
        free(s);
    } else {
        ecc_inspect_text(out, r);
    }
    cJSON_Delete(r);
    return ferror(out) ? ecc_ctx_error(ctx, ECC_E_INTERNAL, "cannot write output") : ECC_OK;
}
