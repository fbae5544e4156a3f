/* quant_weight.c — the `quant-weight` pass: weight-only quantization of
 * Conv / Gemm / MatMul weights to INT4/UINT4 or INT8/UINT8, per block of 32,
 * 64 or 128 along the reduction axis (a Conv's reduction is its flattened
 * [C/group, kh, kw]), per output channel or per tensor, symmetric or
 * asymmetric. The default block=auto gives each scale about 32 kept
 * weights: 32 on a dense layer, larger blocks (or one scale per channel) on
 * a pruned one, whose blocks of 32 would hold a few nonzeros each and cost
 * more in scales than in weights. It annotates: each weight gets an
 * ecc_quantizer (kept until lowering, where it becomes an integer
 * initializer read through DequantizeLinear; blocks and 4-bit types need
 * opset 21, per channel 13, 8 bits per tensor 10).
 *
 * method=rtn rounds to nearest. method=gptq (Frantar et al., "GPTQ: Accurate
 * Post-Training Quantization for Generative Pre-trained Transformers")
 * quantizes the columns of the canonical [rows, k] matrix in order and
 * spreads each column's error over the later ones through the upper Cholesky
 * factor U of H⁻¹, H = 2·mean(x xᵀ) + λI from the calibration activations
 * (LAPACKE spotrf/spotri/spotrf), with lazy sgemm updates every lazy_block
 * columns; act_order visits columns by decreasing H_jj with scales fixed
 * from the original weights, otherwise each block's scale is chosen when the
 * block is reached. The reconstructed weights are written back exactly on
 * the quantization grid, so lowering reproduces GPTQ's integers.
 *
 * First (fold_bn=true, the default) inference BatchNormalization is folded
 * into the layer before it, as quant does. A weight an earlier pass already
 * quantized keeps its quantizer; when that leaves nothing to do, the pass
 * fails (a weight is quantized once: run quant-weight before quant). */
#include "quant_common.h"
#include "hessian.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PASS "quant-weight"

static const ecc_opt_desc qw_opts[] = {
    ECC_OPT(ECC_OPT_ENUM, "bits", "weight bits", "4", 0, 0, "4|8"),
    ECC_OPT(ECC_OPT_ENUM, "block",
        "weights per scale along the reduction axis; channel: one scale per output channel; "
        "tensor: one scale per weight (8 bits: opset 10, the smallest file on narrow layers); "
        "auto: about 32 kept weights per scale (32 when dense, larger on pruned layers)",
        "auto", 0, 0, "auto|32|64|128|channel|tensor"),
    ECC_OPT(ECC_OPT_ENUM, "scheme",
        "sym: signed, zero point 0 (INT4/INT8); asym: unsigned with a zero point (UINT4/UINT8)",
        "sym", 0, 0, "sym|asym"),
    ECC_OPT(ECC_OPT_ENUM, "method",
        "rtn: round to nearest; gptq: error-compensating reconstruction from calibration "
        "activations (needs --calib)", "rtn", 0, 0, "rtn|gptq"),
    ECC_OPT(ECC_OPT_BOOL, "act_order", "gptq: visit columns by decreasing Hessian diagonal",
        "false", 0, 0, NULL),
    ECC_OPT(ECC_OPT_FLOAT, "damp", "gptq: dampening, a fraction of mean diag(H) added to it",
        "0.01", 0, 10, NULL),
    ECC_OPT(ECC_OPT_INT, "lazy_block", "gptq: columns per lazy update batch", "128", 1, 65536,
            NULL),
    ECC_OPT(ECC_OPT_STRING, "exclude",
        "globs over node or weight names, '|' between globs: keep these layers in float", NULL,
        0, 0, NULL),
    ECC_OPT(ECC_OPT_INT, "max_opset",
        "highest ai.onnx opset the output may use (blocks and 4-bit need 21, per channel 13, "
        "8-bit per tensor 10)",
        "21", 10, 21, NULL),
    QC_FOLD_BN_OPT,
};

#define BLOCK_AUTO (-1)
#define BLOCK_TENSOR (-2)
#define AUTO_KEPT_PER_SCALE 32

typedef struct qw_config {
    ecc_qformat fmt;
    int64_t block;          /* 0: per channel; BLOCK_TENSOR; BLOCK_AUTO: chosen per layer */
    bool gptq, act_order, fold_bn;
    double damp;
    int64_t lazy;
    const char *exclude;
    int64_t max_opset;
} qw_config;

static ecc_status qw_config_read(const ecc_host_api *host, ecc_pass_run *run, qw_config *c) {
    const char *bits = host->opt_string(run, "bits"), *block = host->opt_string(run, "block");
    const char *scheme = host->opt_string(run, "scheme"), *method = host->opt_string(run, "method");
    memset(c, 0, sizeof *c);
    c->fmt.bits = bits && strcmp(bits, "8") == 0 ? 8 : 4;
    c->fmt.symmetric = !scheme || strcmp(scheme, "asym") != 0;
    c->fmt.is_signed = c->fmt.symmetric;
    c->block = !block || strcmp(block, "auto") == 0 ? BLOCK_AUTO
               : strcmp(block, "channel") == 0    ? 0
               : strcmp(block, "tensor") == 0     ? BLOCK_TENSOR
                                                  : atoi(block);
    c->gptq = method && strcmp(method, "gptq") == 0;
    c->act_order = host->opt_bool(run, "act_order");
    c->damp = host->opt_float(run, "damp");
    c->lazy = host->opt_int(run, "lazy_block");
    c->exclude = host->opt_string(run, "exclude");
    c->max_opset = host->opt_int(run, "max_opset");
    c->fold_bn = host->opt_bool(run, "fold_bn");
    if (c->block == BLOCK_AUTO && c->fmt.bits == 8 && c->max_opset < 21)
        c->block = 0; /* auto within the opset: blocks need 21 */
    if (c->act_order && !c->gptq)
        return ecc_ctx_error(run->ctx, ECC_E_USAGE,
                             PASS ": act_order applies to method=gptq only (method=%s)",
                             method ? method : "rtn");
    return ECC_OK;
}

static int64_t qw_opset(const qw_config *c) {
    if (c->fmt.bits == 4 || c->block > 0 || c->block == BLOCK_AUTO) return 21;
    return c->block == 0 ? 13 : 10;
}

static const char *qw_scales_text(const qw_config *c) {
    return c->block == 0 ? "per-channel scales" : c->block == BLOCK_TENSOR ? "per-tensor scales"
                                                                           : "blocks";
}

/* Checked by the pipeline before any pass runs. */
static int qw_check(const ecc_host_api *host, ecc_pass_run *run) {
    qw_config c;
    ecc_status st = qw_config_read(host, run, &c);
    if (st) return (int)st;
    if (c.gptq && !calib_env_path(run))
        return host->error(run, ECC_PLUGIN_E_USAGE,
                           PASS ": method=gptq needs calibration data: give it with --calib "
                                "PATH (or use method=rtn)");
    if (qw_opset(&c) > c.max_opset)
        return host->error(run, ECC_PLUGIN_E_USAGE,
                           PASS ": bits=%d with %s needs opset %lld, above max_opset=%lld; "
                                "allowed with max_opset < 21: bits=8 block=channel (13) or "
                                "block=tensor (10)",
                           (int)c.fmt.bits, qw_scales_text(&c),
                           (long long)qw_opset(&c), (long long)c.max_opset);
    return ECC_PLUGIN_OK;
}

/* ---------------- the grid of one layer, in canonical [rows, k] terms ---------------- */

typedef struct qw_grid {
    const qc_layer *q;
    const wl_layer *L;
    ecc_qformat fmt;
    int32_t lo, hi;
    int64_t block;          /* columns per scale; k for per channel and per tensor */
    int64_t nb;             /* scales per row */
    float *scale;           /* [rows, nb] */
    int32_t *zp;
} qw_grid;

/* Scale and zero point at grid index `at` from the range of w[0, n). */
static void grid_choose_span(qw_grid *g, const float *w, int64_t n, int64_t at) {
    float mn = 0, mx = 0;
    for (int64_t i = 0; i < n; i++) {
        mn = w[i] < mn ? w[i] : mn;
        mx = w[i] > mx ? w[i] : mx;
    }
    ecc_qformat_choose(&g->fmt, mn, mx, &g->scale[at], &g->zp[at]);
}

static void grid_choose(qw_grid *g, const float *w, int64_t k, int64_t r, int64_t b) {
    int64_t c0 = b * g->block, c1 = c0 + g->block < k ? c0 + g->block : k;
    grid_choose_span(g, w + r * k + c0, c1 - c0, r * g->nb + b);
}

/* One scale for every row (per tensor): from the range of the whole matrix. */
static void grid_choose_tensor(qw_grid *g, const float *w, int64_t k) {
    grid_choose_span(g, w, g->L->rows * k, 0);
    for (int64_t r = 1; r < g->L->rows; r++) {
        g->scale[r] = g->scale[0];
        g->zp[r] = g->zp[0];
    }
}

/* Dequantized grid value of w at (row r, original column c). */
static inline float grid_round(const qw_grid *g, int64_t r, int64_t c, float w) {
    int64_t i = r * g->nb + c / g->block;
    float s = g->scale[i];
    return (float)(ecc_qone(w, s, g->zp[i], g->lo, g->hi) - g->zp[i]) * s;
}

/* Layout group of canonical (row r, block b) in the quantizer's scale tensor:
 * [rows, nb] for [N, K] and flattened Conv weights, [nb, N] for [K, N]. */
static int64_t layout_group(const qw_grid *g, int64_t r, int64_t b) {
    if (g->q->red_axis == 0 && !g->q->flat) return b * g->L->rows + r;
    return r * g->nb + b;
}

static ecc_status grid_quantizer(ecc_ctx *ctx, const qw_grid *g, const ecc_tensor *wt,
                                 int64_t block_opt, ecc_quantizer **out) {
    ecc_status st = ECC_OK;
    if (block_opt == BLOCK_TENSOR)
        return qc_weight_quantizer_from(ctx, wt, &g->fmt, ECC_QUANT_TENSOR, 0, 0, false, g->scale,
                                        g->zp, "gptq", out);
    int64_t n = g->L->rows * g->nb;
    float *s = malloc((size_t)n * sizeof *s + 1);
    int32_t *z = malloc((size_t)n * sizeof *z + 1);
    ECC_FAIL_IF(!s || !z, ctx, ECC_E_INTERNAL, "out of memory");
    for (int64_t r = 0; r < g->L->rows; r++)
        for (int64_t b = 0; b < g->nb; b++) {
            int64_t at = block_opt ? layout_group(g, r, b) : r;
            s[at] = g->scale[r * g->nb + b];
            z[at] = g->zp[r * g->nb + b];
        }
    if (block_opt)
        st = qc_weight_quantizer_from(ctx, wt, &g->fmt, ECC_QUANT_BLOCK, g->q->red_axis, block_opt,
                                      g->q->flat, s, z, "gptq", out);
    else
        st = qc_weight_quantizer_from(ctx, wt, &g->fmt, ECC_QUANT_CHANNEL, g->q->ch_axis, 0,
                                      false, s, z, "gptq", out);
fail:
    free(s);
    free(z);
    return st;
}

/* ---------------- GPTQ ---------------- */

typedef struct gptq_job {
    qw_grid *g;
    float *w;               /* [rows, k] of this group, permuted columns */
    const uint8_t *keep;    /* mask, permuted, or NULL */
    int64_t rows, row0, k;  /* row0: first row of the group in the grid */
    const int64_t *perm;    /* permuted column j is original column perm[j] */
    bool lazy_scales;       /* choose a block's scales when reaching it */
} gptq_job;

static void gptq_block(gptq_job *j, const float *u, int64_t i1, int64_t i2, float *err) {
    int64_t k = j->k, cols = i2 - i1;
    for (int64_t i = i1; i < i2; i++) {
        int64_t oc = j->perm[i];
        if (j->lazy_scales && oc % j->g->block == 0)
            for (int64_t r = 0; r < j->rows; r++)
                grid_choose(j->g, j->w - j->row0 * k, k, j->row0 + r, oc / j->g->block);
        float d = u[i * k + i];
        const float *urow = u + i * k;
        for (int64_t r = 0; r < j->rows; r++) {
            float *wr = j->w + r * k;
            bool keep = !j->keep || j->keep[r * k + i];
            float qv = keep ? grid_round(j->g, j->row0 + r, oc, wr[i]) : 0.0f;
            float e = (wr[i] - qv) / d;
            wr[i] = qv;
            err[r * cols + (i - i1)] = e;
            if (e != 0.0f)
                for (int64_t c = i + 1; c < i2; c++) wr[c] -= e * urow[c];
        }
    }
}

/* Columns by decreasing diag(h) (stable). */
static void diag_order(const float *h, int64_t k, int64_t *perm) {
    for (int64_t i = 0; i < k; i++) perm[i] = i;
    for (int64_t i = 1; i < k; i++) { /* insertion sort keeps it stable */
        int64_t p = perm[i], j = i;
        while (j > 0 && h[perm[j - 1] * k + perm[j - 1]] < h[p * k + p]) {
            perm[j] = perm[j - 1];
            j--;
        }
        perm[j] = p;
    }
}

static void permute_square(const float *h, int64_t k, const int64_t *perm, float *out) {
    for (int64_t r = 0; r < k; r++)
        for (int64_t c = 0; c < k; c++) out[r * k + c] = h[perm[r] * k + perm[c]];
}

/* GPTQ of one Conv group: w [rows, k] (canonical, updated in place to grid
 * values), h [k, k] = mean x xᵀ. */
static ecc_status gptq_group(ecc_ctx *ctx, const qw_config *c, qw_grid *g, float *w,
                             const uint8_t *keep, int64_t rows, int64_t row0, int64_t k,
                             const float *h) {
    ecc_status st = ECC_OK;
    int64_t bs = c->lazy < k ? c->lazy : k;
    float *hp = malloc((size_t)(k * k) * sizeof *hp + 1);
    float *u = malloc((size_t)(k * k) * sizeof *u + 1);
    float *wp = malloc((size_t)(rows * k) * sizeof *wp + 1);
    float *err = malloc((size_t)(rows * bs) * sizeof *err + 1);
    uint8_t *kp = keep ? malloc((size_t)(rows * k) + 1) : NULL;
    int64_t *perm = malloc((size_t)k * sizeof *perm + 1);
    ECC_FAIL_IF(!hp || !u || !wp || !err || !perm || (keep && !kp), ctx, ECC_E_INTERNAL,
                "out of memory");
    if (c->act_order) diag_order(h, k, perm);
    else for (int64_t i = 0; i < k; i++) perm[i] = i;
    permute_square(h, k, perm, hp);
    for (int64_t i = 0; i < k; i++) /* dead inputs: diag 1, weights 0 */
        if (hp[i * k + i] == 0.0f) {
            hp[i * k + i] = 1.0f;
            for (int64_t r = 0; r < rows; r++) w[r * k + perm[i]] = 0.0f;
        }
    for (int64_t r = 0; r < rows; r++)
        for (int64_t i = 0; i < k; i++) {
            wp[r * k + i] = w[r * k + perm[i]];
            if (kp) kp[r * k + i] = keep[r * k + perm[i]];
        }
    ECC_TRY(ecc_hessian_inv_factor(ctx, PASS, hp, k, c->damp, false, u));
    gptq_job j = {g, wp, kp, rows, row0, k, perm, !c->act_order && g->nb > 1};
    for (int64_t i1 = 0; i1 < k; i1 += bs) {
        int64_t i2 = i1 + bs < k ? i1 + bs : k;
        gptq_block(&j, u, i1, i2, err);
        if (i2 < k)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)(k - i2),
                        (int)(i2 - i1), -1.0f, err, (int)(i2 - i1), u + i1 * k + i2, (int)k,
                        1.0f, wp + i2, (int)k);
    }
    for (int64_t r = 0; r < rows; r++)
        for (int64_t i = 0; i < k; i++) w[r * k + perm[i]] = wp[r * k + i];
fail:
    free(hp);
    free(u);
    free(wp);
    free(err);
    free(kp);
    free(perm);
    return st;
}

/* Canonical keep mask of the layer's weight (NULL when unmasked). */
static ecc_status canon_keep(ecc_ctx *ctx, const wl_layer *L, uint8_t **out) {
    const ecc_mask *m = L->w->mask;
    *out = NULL;
    if (!m || !m->keep || m->keep->numel != L->numel) return ECC_OK;
    uint8_t *k = malloc((size_t)(L->rows * L->k) + 1);
    if (!k) return ECC_OOM(ctx);
    const uint8_t *src = m->keep->data;
    for (int64_t r = 0; r < L->rows; r++)
        for (int64_t c = 0; c < L->k; c++) k[r * L->k + c] = src[wl_index(L, r, c)];
    *out = k;
    return ECC_OK;
}

static ecc_status gptq_layer(ecc_ctx *ctx, const qw_config *c, int64_t block,
                             const qc_layer *q, const wl_layer *L, ecc_quantizer **out) {
    ecc_status st = ECC_OK;
    float *w = NULL;
    uint8_t *keep = NULL;
    int64_t k = L->k, rows_g = L->rows / L->groups;
    qw_grid g = {.q = q, .L = L, .fmt = c->fmt, .block = block > 0 ? block : k};
    ecc_qformat_range(&g.fmt, &g.lo, &g.hi);
    g.nb = (k + g.block - 1) / g.block;
    g.scale = malloc((size_t)(L->rows * g.nb) * sizeof *g.scale + 1);
    g.zp = malloc((size_t)(L->rows * g.nb) * sizeof *g.zp + 1);
    ECC_FAIL_IF(!g.scale || !g.zp, ctx, ECC_E_INTERNAL, "out of memory");
    ECC_FAIL_IF(!L->stats.h, ctx, ECC_E_INTERNAL, PASS ": no Hessian for '%s'", L->name);
    ECC_TRY(wl_canon_get(ctx, L, &w));
    ECC_TRY(canon_keep(ctx, L, &keep));
    if (block == BLOCK_TENSOR) grid_choose_tensor(&g, w, k);
    else /* static scales (lazy ones are re-chosen) */
        for (int64_t r = 0; r < L->rows; r++)
            for (int64_t b = 0; b < g.nb; b++) grid_choose(&g, w, k, r, b);
    for (int64_t gi = 0; gi < L->groups; gi++)
        ECC_TRY(gptq_group(ctx, c, &g, w + gi * rows_g * k, keep ? keep + gi * rows_g * k : NULL,
                           rows_g, gi * rows_g, k, L->stats.h + gi * k * k));
    ECC_TRY(ecc_tensor_make_unique(ctx, &L->w->init));
    wl_canon_put(L, w, L->w->init->data);
    ECC_TRY(grid_quantizer(ctx, &g, L->w->init, block, out));
fail:
    free(w);
    free(keep);
    free(g.scale);
    free(g.zp);
    return st;
}

/* ---------------- the pass ---------------- */

/* The block of one layer: the option, or for auto the smallest of 32, 64,
 * 128 whose blocks hold AUTO_KEPT_PER_SCALE kept weights on average given
 * the layer's pruning mask; per channel (0) when none does or when one
 * block would span the whole reduction. */
static int64_t layer_block(const qw_config *c, const wl_layer *L) {
    static const int64_t sizes[] = {32, 64, 128};
    if (c->block != BLOCK_AUTO) return c->block;
    double kept = L->w->mask ? 1.0 - L->w->mask->sparsity : 1.0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        if (sizes[i] * kept >= AUTO_KEPT_PER_SCALE - 1e-9)
            return sizes[i] < L->k ? sizes[i] : 0;
    return 0;
}

static ecc_status rtn_layer(ecc_ctx *ctx, const qw_config *c, int64_t block, const qc_layer *q,
                            ecc_quantizer **out) {
    if (block == BLOCK_TENSOR)
        return qc_weight_quantizer(ctx, q->w, &c->fmt, ECC_QUANT_TENSOR, 0, 0, false, "rtn", out);
    if (block)
        return qc_weight_quantizer(ctx, q->w, &c->fmt, ECC_QUANT_BLOCK, q->red_axis, block,
                                   q->flat, "rtn", out);
    return qc_weight_quantizer(ctx, q->w, &c->fmt, ECC_QUANT_CHANNEL, q->ch_axis, 0, false, "rtn",
                               out);
}

/* Hessians of the selected layers (calib_stats.h's input statistics). */
static ecc_status collect_hessians(ecc_ctx *ctx, ecc_pass_run *run, qc_layers *ls,
                                   calib_data **data) {
    ecc_status st = ECC_OK;
    bool *want = calloc(ls->n + 1, sizeof *want);
    ECC_FAIL_IF(!want, ctx, ECC_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < ls->n; i++) want[i] = !ls->q[i].skip && !ls->q[i].w->quant;
    ECC_TRY(calib_data_load(ctx, run->model, calib_env_path(run), calib_env_size(run), data));
    ECC_TRY(calib_collect_stats(ctx, run->model, *data, &ls->pl, want, true));
fail:
    free(want);
    return st;
}

/* Counts the selected layers whose weight an earlier pass quantized (they
 * keep that quantizer); fails when that is every selected layer: the
 * request would be silently ignored. */
static ecc_status check_given(ecc_ctx *ctx, const qc_layers *ls, size_t *given) {
    size_t selected = 0;
    const char *first = NULL;
    *given = 0;
    for (size_t i = 0; i < ls->n; i++) {
        if (ls->q[i].skip) continue;
        selected++;
        if (!ls->q[i].w_final) continue;
        if (!first) first = ls->q[i].w->name;
        (*given)++;
    }
    if (*given && *given == selected)
        return ecc_ctx_error(ctx, ECC_E_USAGE,
                             PASS ": every selected weight is already quantized by an earlier "
                             "pass ('%s' first); a weight is quantized once: put quant-weight "
                             "before quant (quant keeps the weight quantizers it finds, e.g. "
                             "W4A8)", first ? first : "");
    if (*given)
        ecc_log(ctx, 0, "  " PASS ": %zu of %zu selected weights were already quantized by an "
                "earlier pass and keep their quantizers", *given, selected);
    return ECC_OK;
}

static ecc_status qw_pass(const ecc_host_api *host, ecc_pass_run *run) {
    ecc_status st = ECC_OK;
    ecc_ctx *ctx = run->ctx;
    qc_layers ls = {0};
    calib_data *data = NULL;
    qc_totals tot = {0};
    qw_config c;
    ecc_quantizer *qz = NULL;
    ecc_tensor *vals = NULL;
    size_t done = 0, shared = 0, given = 0;
    ECC_TRY(qw_config_read(host, run, &c));
    ECC_TRY(qc_check_opset(ctx, PASS, run->model, qw_opset(&c), c.max_opset,
                           qw_scales_text(&c)));
    ECC_TRY(qc_fold_bn_first(host, run, c.fold_bn));
    ECC_TRY(qc_layers_find(ctx, run->model->graph, PASS, c.exclude, &ls));
    ECC_TRY(check_given(ctx, &ls, &given));
    if (c.gptq && qc_layers_selected(&ls) > given) ECC_TRY(collect_hessians(ctx, run, &ls, &data));
    for (size_t i = 0; i < ls.n; i++) {
        const qc_layer *q = &ls.q[i];
        if (q->skip) continue;
        if (q->w->quant) { /* final (an earlier pass), or shared with an earlier layer */
            shared++;
            continue;
        }
        int64_t block = layer_block(&c, &ls.pl.items[i]);
        if (c.gptq) ECC_TRY(gptq_layer(ctx, &c, block, q, &ls.pl.items[i], &qz));
        else ECC_TRY(rtn_layer(ctx, &c, block, q, &qz));
        ecc_value_set_quantizer(q->w, qz);
        qz = NULL;
        ECC_TRY(qc_weight_masked(ctx, q->w, &vals)); /* what lowering will quantize */
        ECC_TRY(qc_report_weight(host, run, q->w, vals, &tot));
        ecc_tensor_unref(vals);
        vals = NULL;
        done++;
    }
    qc_report_totals(host, run, "weights", &tot);
    host->stat(run, "layers.quantized", (double)done);
    host->stat(run, "layers.float", (double)(ls.n - done - shared));
    host->stat(run, "opset", (double)(ecc_model_opset(run->model, "") > qw_opset(&c)
                                          ? ecc_model_opset(run->model, "")
                                          : qw_opset(&c)));
    if (done && ecc_model_opset(run->model, "") < qw_opset(&c))
        host->log(run, "the output needs ai.onnx opset %lld (the model has %lld): raised at "
                  "lowering", (long long)qw_opset(&c), (long long)ecc_model_opset(run->model, ""));
fail:
    ecc_quantizer_free(qz);
    ecc_tensor_unref(vals);
    calib_data_free(data);
    qc_layers_free(&ls);
    return st;
}

static int qw_run(const ecc_host_api *host, ecc_pass_run *run) {
    return (int)qw_pass(host, run);
}

const ecc_pass_desc ecc_pass_quant_weight = {
    .struct_size = sizeof(ecc_pass_desc),
    .name = PASS,
    .summary = "weight-only quantization (INT4/INT8, per block, channel or tensor; RTN or GPTQ)",
    .options = qw_opts,
    .n_options = sizeof qw_opts / sizeof qw_opts[0],
    .run = qw_run,
    .check = qw_check,
};
