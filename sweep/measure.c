/* measure.c — measuring one compressed model: file bytes (ONNX, and the
 * .ecc written from it when the spec asks), parameters and FLOPs from the
 * graph's shapes, accuracy on labelled held-out data (as `ecc eval`), top-1
 * agreement and output SQNR against the float model (as `ecc compare`), and
 * latency with the interpreter: batch 1 and batch N, one warm-up run, then
 * the median of K timed runs. Runs in the child `ecc sweep --measure-trial`. */
#include "sweep.h"
#include "ir.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---------------- FLOPs ---------------- */

enum { K_CONV, K_GEMM, K_MATMUL };
static const struct {
    const char *op;
    uint32_t w;  /* input slot of the weight */
    int kind;
} flop_ops[] = {
    {"Conv", 1, K_CONV},     {"ConvInteger", 1, K_CONV},     {"QLinearConv", 3, K_CONV},
    {"Gemm", 1, K_GEMM},     {"MatMul", 1, K_MATMUL},        {"MatMulInteger", 1, K_MATMUL},
    {"QLinearMatMul", 3, K_MATMUL},
};

/* Rank of a value: its shape, else its initializer's. */
static int32_t rank_of(const ecc_value *v) {
    if (!v) return -1;
    return v->rank >= 0 || !v->init ? v->rank : v->init->rank;
}

static double dim_or1(const ecc_value *v, int32_t i) {
    if (!v || i < 0 || i >= rank_of(v)) return 1;
    int64_t d = v->rank >= 0 && v->dims ? v->dims[i].value : v->init ? v->init->dims[i] : -1;
    return d > 0 ? (double)d : 1;
}

/* Output elements per sample: dimension 0 is the batch. */
static double per_sample(const ecc_value *y) {
    double n = 1;
    for (int32_t i = 1; i < rank_of(y); i++) n *= dim_or1(y, i);
    return n;
}

static double node_macs(const ecc_node *n) {
    size_t k = 0;
    if (n->domain && *n->domain && strcmp(n->domain, "ai.onnx")) return 0;
    while (k < sizeof flop_ops / sizeof flop_ops[0] && strcmp(flop_ops[k].op, n->op_type)) k++;
    if (k == sizeof flop_ops / sizeof flop_ops[0] || n->n_inputs <= flop_ops[k].w ||
        !n->n_outputs)
        return 0;
    const ecc_value *w = n->inputs[flop_ops[k].w], *y = n->outputs[0];
    int32_t wr = rank_of(w);
    if (!w || !y || wr < 1) return 0;
    double reduce = 1;
    switch (flop_ops[k].kind) {
    case K_CONV:
        for (int32_t i = 1; i < wr; i++) reduce *= dim_or1(w, i);
        break;
    case K_GEMM:
        reduce = dim_or1(w, ecc_node_attr_int(n, "transB", 0) ? 1 : 0);
        break;
    default:
        reduce = dim_or1(w, wr >= 2 ? wr - 2 : 0);
    }
    return per_sample(y) * reduce;
}

double sweep_model_flops(ecc_ctx *ctx, ecc_model *m) {
    if (ecc_graph_infer_shapes(ctx, m->graph) != ECC_OK) ecc_ctx_clear(ctx);
    double macs = 0;
    for (size_t i = 0; i < m->graph->nodes.n; i++) macs += node_macs(m->graph->nodes.items[i]);
    return 2 * macs;
}

/* ---------------- latency ---------------- */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median milliseconds of `runs` timed runs after one warm-up. */
static ecc_status time_runs(ecc_ctx *ctx, ecc_session *s, const ecc_array *in, size_t n_in,
                            uint32_t runs, double *ms) {
    double t[1000];
    ecc_status st = ecc_session_run(ctx, s, in, n_in);
    for (uint32_t r = 0; !st && r < runs; r++) {
        double t0 = ecc_now_seconds();
        st = ecc_session_run(ctx, s, in, n_in);
        t[r] = 1e3 * (ecc_now_seconds() - t0);
    }
    if (st) return st;
    qsort(t, runs, sizeof *t, cmp_double);
    *ms = runs % 2 ? t[runs / 2] : 0.5 * (t[runs / 2 - 1] + t[runs / 2]);
    return ECC_OK;
}

/* The first sample of each array of a batch of `got`. */
static void first_sample(const ecc_array *in, size_t n, int64_t got, ecc_array *out) {
    for (size_t i = 0; i < n; i++) {
        out[i] = in[i];
        if (in[i].rank >= 1 && in[i].dims[0] == got && got > 0) {
            out[i].dims[0] = 1;
            out[i].nbytes = in[i].nbytes / (size_t)got;
        }
    }
}

static ecc_status measure_latency(ecc_ctx *ctx, const ecc_sweep *sw, const ecc_model *m,
                                  cJSON *obj) {
    ecc_status st = ECC_OK;
    ecc_session *s = NULL;
    ecc_dataset *ds = NULL;
    ecc_array batch[16], one[16];
    int64_t got = 0;
    double ms1 = NAN, msn = NAN;
    ecc_session_options so = {sizeof so, sw->lat_threads, sw->lat_batch};
    ecc_data_options dopts = {sizeof dopts};
    const char *data = sw->data;
    ECC_TRY(ecc_session_create(ctx, m, &so, &s));
    ECC_TRY(ecc_dataset_open(ctx, &data, 1, s, &dopts, &ds));
    size_t n_in = ecc_dataset_arrays(ds);
    ECC_FAIL_IF(n_in > 16, ctx, ECC_E_INPUT, "%s: more than 16 inputs", data);
    ECC_TRY(ecc_dataset_next_batch(ctx, ds, sw->lat_batch, batch, &got));
    ECC_FAIL_IF(got < 1, ctx, ECC_E_INPUT, "%s: no samples", data);
    if (!ecc_dataset_whole(ds) && got > 1) {
        first_sample(batch, n_in, got, one);
        ECC_TRY(time_runs(ctx, s, one, n_in, sw->lat_runs, &ms1));
    }
    ECC_TRY(time_runs(ctx, s, batch, n_in, sw->lat_runs, &msn));
    if (got == 1) ms1 = msn;
    cJSON_AddNumberToObject(obj, "latency_b1_ms", ms1);
    cJSON_AddNumberToObject(obj, "latency_bn_ms", msn);
    cJSON_AddNumberToObject(obj, "latency_batch", (double)got);
    cJSON_AddNumberToObject(obj, "latency_runs", sw->lat_runs);
    cJSON_AddNumberToObject(obj, "latency_threads", sw->lat_threads);
fail:
    ecc_dataset_free(ds);
    ecc_session_free(s);
    return st;
}

/* ---------------- quality ---------------- */

static ecc_status measure_quality(ecc_ctx *ctx, const ecc_sweep *sw, const ecc_model *m,
                                  const char *onnx_path, cJSON *obj) {
    ecc_status st = ECC_OK;
    ecc_comparison *cmp = NULL;
    ecc_data_options dopts = {sizeof dopts};
    ecc_run_options ropts = {sizeof ropts};
    const char *data = sw->data;
    dopts.limit = sw->limit;
    if (sw->labels) {
        ecc_eval_result r;
        ECC_TRY(ecc_eval(ctx, m, &data, 1, sw->labels, &dopts, &ropts, NULL, 0, &r));
        cJSON_AddNumberToObject(obj, "accuracy", r.accuracy);
    }
    ECC_TRY(ecc_compare(ctx, sw->model, onnx_path, &data, 1, &dopts, &ropts, &cmp));
    const ecc_output_diff *d = ecc_comparison_count(cmp) ? ecc_comparison_output(cmp, 0) : NULL;
    ECC_FAIL_IF(!d, ctx, ECC_E_INPUT, "%s: the models have no output to compare", onnx_path);
    cJSON_AddNumberToObject(obj, "samples", (double)ecc_comparison_samples(cmp));
    if (d->top1_rows > 0)
        cJSON_AddNumberToObject(obj, "agreement", (double)d->top1_agree / (double)d->top1_rows);
    /* identical outputs: infinite SQNR, written as null (JSON has no infinity) */
    if (isfinite(d->sqnr_db)) cJSON_AddNumberToObject(obj, "sqnr_db", d->sqnr_db);
    else cJSON_AddNullToObject(obj, "sqnr_db");
fail:
    ecc_comparison_free(cmp);
    return st;
}

/* ---------------- everything ---------------- */

static double file_bytes(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 ? (double)sb.st_size : NAN;
}

ecc_status sweep_measure(ecc_ctx *ctx, const ecc_sweep *sw, const sweep_trial *t,
                         const char *onnx_path, const char *ecc_path, cJSON *obj) {
    ecc_status st = ECC_OK;
    ecc_model *m = NULL;
    int64_t params = 0, bytes = 0;
    cJSON_AddNumberToObject(obj, "onnx_bytes", file_bytes(onnx_path));
    ECC_TRY(ecc_model_read(ctx, onnx_path, &m));
    if (ecc_path) {
        ecc_write_options wo = {sizeof wo, false, 1024, NULL, ECC_FORMAT_ECC, t->pipeline, 0};
        ECC_TRY(ecc_model_write(ctx, m, ecc_path, &wo));
        cJSON_AddNumberToObject(obj, "ecc_bytes", file_bytes(ecc_path));
    }
    ECC_TRY(measure_latency(ctx, sw, m, obj));
    ECC_TRY(measure_quality(ctx, sw, m, onnx_path, obj));
    ecc_model_param_stats(m, &params, &bytes);
    cJSON_AddNumberToObject(obj, "params", (double)params);
    cJSON_AddNumberToObject(obj, "flops", sweep_model_flops(ctx, m));
fail:
    ecc_model_free(m);
    return st;
}
