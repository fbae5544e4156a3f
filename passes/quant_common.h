/* quant_common.h — what the quantization passes (`quant`, `quant-weight`)
 * and `equalize` share on top of the arithmetic in compress/quant_math.h:
 * the weight layers they quantize (Conv, Gemm, MatMul with a constant
 * float32 weight, found through layers.h) with their channel and
 * reduction axes, building quantizer annotations, fake quantization of a
 * weight through its quantizer, SQNR, calibration-data plumbing and option
 * helpers. Internal to libecc. */
#ifndef ECC_QUANT_COMMON_H
#define ECC_QUANT_COMMON_H

#include "layers.h"
#include "calib_stats.h"
#include "quant_math.h"
#include "lower_quant.h"

/* ---------------- weight layers ---------------- */

/* One quantizable layer: L is layers.h's view ([rows, k] canonical
 * matrix; rows = output channels). */
typedef struct qc_layer {
    ecc_node *node;
    ecc_value *w, *x;        /* weight, the activation it multiplies */
    bool w_final;            /* an earlier pass quantized the weight: it keeps that quantizer */
    ecc_value *bias;         /* Conv B / Gemm C ([rows]) / MatMul's following Add, or NULL */
    ecc_node *bias_node;     /* node reading bias (the layer, or the Add) */
    bool bias_final;         /* an earlier pass quantized the bias: its values are final */
    const char *name;        /* node name, or the weight's */
    int32_t ch_axis;         /* output-channel axis of the weight */
    int32_t red_axis;        /* reduction axis used for blocks */
    bool flat;               /* rank > 2: blocks along the flattened reduction */
    bool skip;               /* excluded or unsupported */
    const char *why;         /* why skipped (static text) */
} qc_layer;

typedef struct qc_layers {
    wl_layers pl;         /* parallel to q: pl.items[i] is q[i]'s view */
    qc_layer *q;
    size_t n;
} qc_layers;

/* Weight layers of g whose activation is input 0 (Conv; Gemm transA=0;
 * MatMul X·W), weights turned from Constant nodes into initializers.
 * exclude: '|'-separated globs over node or weight names (a glob that
 * matches no layer is a usage error listing the layers). */
ecc_status qc_layers_find(ecc_ctx *ctx, ecc_graph *g, const char *pass, const char *exclude,
                          qc_layers *out);
void qc_layers_free(qc_layers *ls);
size_t qc_layers_selected(const qc_layers *ls);

/* ---------------- annotations ---------------- */

/* Weight quantizer for w with scales from its current values (masked
 * weights count as 0). *out owned by the caller. calib: static text. */
ecc_status qc_weight_quantizer(ecc_ctx *ctx, const ecc_value *w, const ecc_qformat *f,
                               int gran, int32_t axis, int64_t block, bool flat,
                               const char *calib, ecc_quantizer **out);
/* The same from given per-group scales and zero points. The zero-point
 * tensor is left out when the format is signed and every zero point is 0. */
ecc_status qc_weight_quantizer_from(ecc_ctx *ctx, const ecc_tensor *w, const ecc_qformat *f,
                                    int gran, int32_t axis, int64_t block, bool flat,
                                    const float *scale, const int32_t *zp, const char *calib,
                                    ecc_quantizer **out);
/* Per-tensor activation quantizer for the range [lo, hi]. */
ecc_status qc_act_quantizer(ecc_ctx *ctx, const ecc_qformat *f, double lo, double hi,
                            const char *calib, ecc_quantizer **out);
/* Copy of q sharing its scale and zero point tensors. */
ecc_status qc_quantizer_dup(ecc_ctx *ctx, const ecc_quantizer *q, ecc_quantizer **out);
/* Activation quantized at run time (scale NULL, calib "dynamic"). */
ecc_status qc_dynamic_quantizer(ecc_ctx *ctx, ecc_quantizer **out);
/* Bias marker: int32 with scale s_x·s_w, computed at lowering. */
ecc_status qc_bias_quantizer(ecc_ctx *ctx, ecc_quantizer **out);

/* w's float values as lowering applies its pruning mask: a new reference to
 * w->init when w has no mask, else a copy with the removed weights zeroed.
 * The caller unrefs *out. */
ecc_status qc_weight_masked(ecc_ctx *ctx, const ecc_value *w, ecc_tensor **out);

/* Quantize-dequantize of w through its quantizer q into out (w->numel floats). */
ecc_status qc_fake_quant_weight(ecc_ctx *ctx, const ecc_quantizer *q, const ecc_tensor *w,
                                float *out);

/* A float initializer changed in place for a measurement run, and its
 * original data. qc_save_values makes v's tensor its own (copy on write)
 * and keeps a copy of its data in saved[(*n)++]; qc_saved_restore puts the
 * data back, last first, and frees the copies. */
typedef struct qc_saved {
    ecc_value *v;
    float *orig;
} qc_saved;
ecc_status qc_save_values(ecc_ctx *ctx, ecc_value *v, qc_saved *saved, size_t *n);
void qc_saved_restore(qc_saved *saved, size_t n);

/* ---------------- measures and reporting ---------------- */

/* 10 log10(Σ ref² / Σ (ref - x)²); +inf when identical. */
double qc_sqnr_db(const float *ref, const float *x, int64_t n);
/* An SQNR as a report number (JSON has no infinities): exact (+inf) is 999,
 * no signal (-inf) or unmeasurable (NaN) -999. */
double qc_db_stat(double db);

/* SQNR (dB) of out's rows against ref's (their common rows) and the
 * fraction of rows whose largest element is at the same place (top-1
 * agreement); NAN, NAN without rows. */
void qc_fidelity(const calib_out *ref, const calib_out *out, double *sqnr_db, double *agree);

/* ECC_E_INPUT when ref holds no output (the model's first output is not
 * float32 [N, …]: fidelity cannot be measured) or a non-finite one (the
 * calibration data overflows the float model). */
ecc_status qc_check_ref(ecc_ctx *ctx, const calib_out *ref);

/* Reports a fidelity of qc_fidelity: the statistics calib.output_sqnr_db
 * (999 when identical) and calib.top1_agreement, and the line "<pass>: on
 * <rows> calibration samples <subject> first output has SQNR … dB and top-1
 * agreement … with <against>". */
void qc_report_fidelity(const ecc_host_api *host, ecc_pass_run *run, const char *pass,
                        const char *subject, const char *against, int64_t rows, double sqnr,
                        double agree);

/* Per weight statistics "tensor.<name>.<what>" (bits, symmetric, block (0 per
 * channel, -1 per tensor), scale_min/max, sqnr_db, bytes_before/after) and a
 * log line; adds to the totals. t: the float values w->quant is measured
 * against (w->init, or qc_weight_masked's copy). */
typedef struct qc_totals {
    int64_t tensors, bytes_before, bytes_after;
    double sqnr_min;
} qc_totals;
ecc_status qc_report_weight(const ecc_host_api *host, ecc_pass_run *run, const ecc_value *w,
                            const ecc_tensor *t, qc_totals *tot);
/* Totals "<what>.quantized", ".bytes_before", ".bytes_after", ".ratio",
 * ".sqnr_min_db". */
void qc_report_totals(const ecc_host_api *host, ecc_pass_run *run, const char *what,
                      const qc_totals *tot);

/* ---------------- run environment ---------------- */


/* Refuses, before any work, a request m's opset cannot express: need is
 * the opset the quantizers will require; max_opset the user's ceiling.
 * Also checks the upgrade is possible (dry run). */
ecc_status qc_check_opset(ecc_ctx *ctx, const char *pass, ecc_model *m, int64_t need,
                          int64_t max_opset, const char *what);

/* With fold (the passes' fold_bn option), folds inference BatchNormalization
 * into the layers before it (as fold-bn), so the quantizers see the weights
 * that deploy, and logs how many. */
ecc_status qc_fold_bn_first(const ecc_host_api *host, ecc_pass_run *run, bool fold);

/* The fold_bn option both weight-quantizing passes take. */
#define QC_FOLD_BN_OPT                                                                       \
    ECC_OPT(ECC_OPT_BOOL, "fold_bn",                                                         \
            "first fold BatchNormalization into the Conv/Gemm/MatMul before it (as fold-bn), " \
            "so the folded weights are quantized and ONNX Runtime can fuse the QDQ layers",    \
            "true", 0, 0, NULL)

#endif
