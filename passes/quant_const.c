/* quant_const.c — the `quant-const` pass: stores the float32 constants the
 * weight quantizers leave alone — biases, normalization scales and shifts,
 * tables added to or concatenated with activations (positional embeddings,
 * class tokens), embedding tables read by Gather — as 8-bit integers with
 * one scale per tensor, read through DequantizeLinear (opset 10). This is
 * what ONNX Runtime's QDQ quantizer does with the constant operands of Add,
 * Mul and LayerNormalization; on a small model those constants are a
 * visible part of the file.
 *
 * A constant is taken only when every reader uses it as data (the table
 * below: never a shape, a Resize scale, a Clip bound, a variance), it has
 * at least min_size elements (a smaller one costs more in scale and node
 * than it saves), its values are finite, and no earlier pass annotated it.
 * It annotates (an ecc_quantizer per tensor, lowered like a weight's); later
 * passes treat an annotated tensor as final, so it runs after `quant` and
 * `quant-weight` (whose bias correction and int32 biases it would
 * otherwise pre-empt).
 *
 * scale=auto gives a constant of rank ≥ 2 one scale per slice along the axis
 * that stores it most accurately (a positional table per position, an
 * embedding table per row), when each slice keeps at least 32 elements and
 * the squared error falls by at least 1 dB; per-axis DequantizeLinear needs
 * opset 13. With --calib data the pass also runs the model with the stored
 * constants and reports its first output against the float constants'
 * (SQNR, top-1 agreement). */
#include "quant_common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PASS "quant-const"
#define MIN_PER_SCALE 32    /* scale=auto: elements per scale at least */
#define MIN_GAIN_DB 1.0     /* scale=auto: per-axis SQNR above per-tensor by more than this */

static const ecc_opt_desc qk_opts[] = {
    ECC_OPT(ECC_OPT_ENUM, "scheme",
        "sym: int8, zero point 0; asym: uint8 with a zero point (finer for one-signed tensors "
        "such as normalization scales)", "sym", 0, 0, "sym|asym"),
    ECC_OPT(ECC_OPT_INT, "min_size",
        "constants with fewer elements stay float32 (the scale and DequantizeLinear node "
        "would cost more than the 3 bytes an element saves)", "64", 2, 1e15, NULL),
    ECC_OPT(ECC_OPT_ENUM, "scale",
        "tensor: one scale per constant (opset 10); auto: one scale per slice along the axis "
        "that stores a constant of rank >= 2 most accurately, when every slice keeps at least "
        "32 elements and the error falls by 1 dB or more (opset 13), else one per tensor",
        "tensor", 0, 0, "tensor|auto"),
    ECC_OPT(ECC_OPT_STRING, "exclude",
        "globs over constant or reading node names, '|' between globs: keep these in float",
        NULL, 0, 0, NULL),
};

/* The inputs that read a constant as data. slot -1: any input. */
typedef struct qk_slot {
    const char *op;
    int32_t slot;
} qk_slot;

static const qk_slot data_slots[] = {
    {"Add", -1},      {"Sub", -1},
    {"Mul", -1},      {"Concat", -1},
    {"Gather", 0},    {"PRelu", 1},
    {"Conv", 2},      {"ConvTranspose", 2},
    {"Gemm", 2},      {"LayerNormalization", 1},
    {"LayerNormalization", 2},
    {"InstanceNormalization", 1},
    {"InstanceNormalization", 2},
    {"BatchNormalization", 1}, /* scale, B, mean; never the variance */
    {"BatchNormalization", 2},
    {"BatchNormalization", 3},
};

static bool is_data_use(const ecc_use *u) {
    for (size_t i = 0; i < sizeof data_slots / sizeof data_slots[0]; i++)
        if (wl_is_onnx(u->node, data_slots[i].op) &&
            (data_slots[i].slot < 0 || (uint32_t)data_slots[i].slot == u->slot))
            return true;
    return false;
}

typedef struct qk_config {
    ecc_qformat fmt;
    int64_t min_size;
    bool axis_auto;
    const char *exclude;
} qk_config;

static void qk_config_read(const ecc_host_api *host, ecc_pass_run *run, qk_config *c) {
    const char *scheme = host->opt_string(run, "scheme");
    bool sym = !scheme || strcmp(scheme, "asym") != 0;
    c->fmt = (ecc_qformat){8, sym, sym};
    c->min_size = host->opt_int(run, "min_size");
    const char *scale = host->opt_string(run, "scale");
    c->axis_auto = scale && strcmp(scale, "auto") == 0;
    c->exclude = host->opt_string(run, "exclude");
}

/* A float32 constant this pass looks at: no earlier annotation, read, not
 * a graph input or output, at least min_size elements. */
static bool is_candidate(const ecc_value *v, const qk_config *c) {
    const ecc_tensor *t = wl_const(v);
    return t && t->dtype == ECC_DTYPE_FLOAT && !v->quant && v->n_uses &&
           !(v->flags & (ECC_VALUE_INPUT | ECC_VALUE_OUTPUT)) && t->numel >= c->min_size;
}

/* Why the candidate v stays float (NULL: it is taken). */
static const char *float_reason(const ecc_value *v) {
    for (uint32_t k = 0; k < v->n_uses; k++) {
        const ecc_use *u = &v->uses[k];
        if (u->slot == ECC_SLOT_CAPTURE) return "a subgraph reads it";
        if (is_data_use(u)) continue;
        bool layer = wl_is_onnx(u->node, "Conv") || wl_is_onnx(u->node, "ConvTranspose") ||
                     wl_is_onnx(u->node, "Gemm") || wl_is_onnx(u->node, "MatMul");
        return layer && u->slot < 2 ? "a layer's weight (quant and quant-weight store those)"
                                    : "a reader uses it as other than data";
    }
    const ecc_tensor *t = wl_const(v);
    const float *x = t->data;
    for (int64_t i = 0; i < t->numel; i++)
        if (!isfinite(x[i])) return "it holds inf or nan";
    return NULL;
}

static bool excluded(const ecc_value *v, const char *exclude) {
    if (!exclude) return false;
    for (uint32_t k = 0; k < v->n_uses; k++)
        if (wl_glob_any(exclude, v->name, v->uses[k].node->name)) return true;
    return false;
}

typedef struct qk_scan {
    const qk_config *c;
    ecc_ptrvec cands;       /* candidates of every graph, in graph order */
    char unmatched[256];    /* the first exclude glob that matched none of them */
} qk_scan;

static ecc_status collect(ecc_ctx *ctx, ecc_graph *g, void *arg) {
    qk_scan *s = arg;
    for (size_t i = 0; i < g->values.n; i++)
        if (is_candidate(g->values.items[i], s->c) &&
            !ecc_ptrvec_push(&s->cands, g->values.items[i]))
            return ECC_OOM(ctx);
    return ECC_OK;
}

static bool glob_matches_none(const char *glob, void *arg) {
    qk_scan *s = arg;
    for (size_t i = 0; i < s->cands.n; i++)
        if (excluded(s->cands.items[i], glob)) return false;
    snprintf(s->unmatched, sizeof s->unmatched, "%s", glob);
    return true;
}

/* SQNR (dB) of v stored through the quantizer of granularity gran (axis),
 * which *qz receives. */
static ecc_status try_quantizer(ecc_ctx *ctx, const qk_config *c, const ecc_value *v, int gran,
                                int32_t axis, float *buf, ecc_quantizer **qz, double *sqnr) {
    ecc_status st = qc_weight_quantizer(ctx, v, &c->fmt, gran, axis, 0, false, "const", qz);
    if (st == ECC_OK) st = qc_fake_quant_weight(ctx, *qz, v->init, buf);
    if (st == ECC_OK) *sqnr = qc_sqnr_db(v->init->data, buf, v->init->numel);
    return st;
}

/* v's quantizer: one scale per tensor, or with scale=auto one per slice
 * along the axis that stores v best, when that gains MIN_GAIN_DB. */
static ecc_status stored_quantizer(ecc_ctx *ctx, const qk_config *c, const ecc_value *v,
                                   ecc_quantizer **out) {
    ecc_status st = ECC_OK;
    const ecc_tensor *t = v->init;
    ecc_quantizer *cand = NULL;
    double best, sqnr;
    *out = NULL;
    if (!c->axis_auto || t->rank < 2)
        return qc_weight_quantizer(ctx, v, &c->fmt, ECC_QUANT_TENSOR, 0, 0, false, "const", out);
    float *buf = malloc((size_t)t->numel * sizeof *buf + 1);
    ECC_FAIL_IF(!buf, ctx, ECC_E_INTERNAL, "out of memory");
    ECC_TRY(try_quantizer(ctx, c, v, ECC_QUANT_TENSOR, 0, buf, out, &best));
    best += MIN_GAIN_DB;
    for (int32_t a = 0; a < t->rank; a++) {
        if (t->dims[a] < 2 || t->numel / t->dims[a] < MIN_PER_SCALE) continue;
        ECC_TRY(try_quantizer(ctx, c, v, ECC_QUANT_CHANNEL, a, buf, &cand, &sqnr));
        if (sqnr > best) {
            best = sqnr;
            ecc_quantizer_free(*out);
            *out = cand;
            cand = NULL;
        }
        ecc_quantizer_free(cand);
        cand = NULL;
    }
fail:
    ecc_quantizer_free(cand);
    free(buf);
    return st;
}

static ecc_status quantize_const(const ecc_host_api *host, ecc_pass_run *run,
                                 const qk_config *c, ecc_value *v, qc_totals *tot) {
    ecc_status st = ECC_OK;
    ecc_quantizer *qz = NULL;
    ECC_TRY(wl_materialize(run->ctx, v));
    ECC_TRY(stored_quantizer(run->ctx, c, v, &qz));
    ecc_value_set_quantizer(v, qz);
    qz = NULL;
    ECC_TRY(qc_report_weight(host, run, v, v->init, tot));
fail:
    ecc_quantizer_free(qz);
    return st;
}

/* ---------------- fidelity (with --calib) ---------------- */

/* Runs the calibration data with the float and with the stored constants
 * and reports the first output's SQNR and top-1 agreement. */
static ecc_status measure(const ecc_host_api *host, ecc_pass_run *run, const ecc_ptrvec *done) {
    ecc_status st = ECC_OK;
    ecc_ctx *ctx = run->ctx;
    calib_data *d = NULL;
    qc_saved *saved = calloc(done->n + 1, sizeof *saved);
    size_t n_saved = 0;
    calib_out ref = {0}, out = {0};
    double sqnr, agree;
    ECC_FAIL_IF(!saved, ctx, ECC_E_INTERNAL, "out of memory");
    ECC_TRY(calib_data_load(ctx, run->model, calib_env_path(run), calib_env_size(run), &d));
    ref.samples = out.samples = d->samples;
    ECC_TRY(calib_data_run(ctx, run->model, d, CALIB_BATCH, NULL, NULL, calib_out_batch, &ref));
    ECC_TRY(qc_check_ref(ctx, &ref));
    for (size_t i = 0; i < done->n; i++) { /* the stored values, in place */
        ecc_value *v = done->items[i];
        ECC_TRY(qc_save_values(ctx, v, saved, &n_saved));
        ECC_TRY(qc_fake_quant_weight(ctx, v->quant, v->init, v->init->data));
    }
    ECC_TRY(calib_data_run(ctx, run->model, d, CALIB_BATCH, NULL, NULL, calib_out_batch, &out));
    qc_fidelity(&ref, &out, &sqnr, &agree);
    qc_report_fidelity(host, run, PASS, "the model's", "the float constants'", ref.rows, sqnr,
                       agree);
fail:
    if (saved) qc_saved_restore(saved, n_saved);
    free(saved);
    calib_out_free(&ref);
    calib_out_free(&out);
    calib_data_free(d);
    return st;
}

static ecc_status qk_pass(const ecc_host_api *host, ecc_pass_run *run) {
    ecc_status st = ECC_OK;
    qk_config c;
    qk_config_read(host, run, &c);
    qk_scan s = {.c = &c};
    ecc_ptrvec done = {0};
    qc_totals tot = {0};
    int64_t kept_float = 0;
    ECC_TRY(qc_check_opset(run->ctx, PASS, run->model, c.axis_auto ? 13 : 10, 21,
                           c.axis_auto ? "per-axis DequantizeLinear (scale=auto)"
                                       : "DequantizeLinear"));
    ECC_TRY(ecc_model_each_graph(run->ctx, run->model, collect, &s));
    ECC_FAIL_IF(c.exclude && wl_glob_each(c.exclude, glob_matches_none, &s), run->ctx,
                ECC_E_USAGE, PASS ": exclude='%s' matches no constant of %lld or more elements "
                "(nor a node reading one)", s.unmatched, (long long)c.min_size);
    for (size_t i = 0; i < s.cands.n; i++) {
        ecc_value *v = s.cands.items[i];
        const char *why = float_reason(v);
        if (!why && excluded(v, c.exclude)) why = "matched exclude=";
        if (why) {
            kept_float++;
            ecc_log(run->ctx, 1, "  " PASS ": '%s' stays float32: %s", v->name, why);
            continue;
        }
        ECC_TRY(quantize_const(host, run, &c, v, &tot));
        ECC_FAIL_IF(!ecc_ptrvec_push(&done, v), run->ctx, ECC_E_INTERNAL, "out of memory");
    }
    qc_report_totals(host, run, "constants", &tot);
    host->stat(run, "constants.float", (double)kept_float);
    ecc_log(run->ctx, 0, "  " PASS ": %lld constants stored in 8 bits, %lld -> %lld bytes; %lld "
            "of %lld or more elements stay float32 (-v says why)", (long long)tot.tensors,
            (long long)tot.bytes_before, (long long)tot.bytes_after, (long long)kept_float,
            (long long)c.min_size);
    if (calib_env_path(run) && done.n) ECC_TRY(measure(host, run, &done));
fail:
    ecc_ptrvec_free(&done);
    ecc_ptrvec_free(&s.cands);
    return st;
}

static int qk_run_pass(const ecc_host_api *host, ecc_pass_run *run) {
    return (int)qk_pass(host, run);
}

const ecc_pass_desc ecc_pass_quant_const = {
    .struct_size = sizeof(ecc_pass_desc),
    .name = PASS,
    .summary = "8-bit storage of the remaining float constants (biases, norm scales, tables)",
    .options = qk_opts,
    .n_options = sizeof qk_opts / sizeof qk_opts[0],
    .run = qk_run_pass,
};
