/* prune_common.h — shared by the pruning passes (`prune`, `prune-channel`),
 * their criteria (magnitude, wanda.c, sparsegpt.c), the sensitivity analysis
 * and their tests/bench: why a layer stays dense, layer selection (globs,
 * defaults, the classifier head), N:M patterns, exact-count selection,
 * masks, bias correction and the per-layer table. Weight layers come from
 * layers.h, calibration data and input statistics from calib_stats.h.
 * Internal to libecc. */
#ifndef ECC_PRUNE_COMMON_H
#define ECC_PRUNE_COMMON_H

#include "layers.h"
#include "calib_stats.h"

/* ---------------- skip reasons ---------------- */

/* Why a layer is left dense: the key used in statistics ("excluded.<key>.<layer>")
 * and the text of the table. Table order = enum order. */
#define PRUNE_SKIPS(X)                                                                   \
    X(NONE, "", "")                                                                      \
    X(EXCLUDED, "exclude", "matched exclude=")                                           \
    X(NOT_INCLUDED, "not_included", "not matched by include=")                           \
    X(HEAD, "head", "classifier head (head=true prunes it)")                             \
    X(SMALL, "small", "fewer weights than min_params")                                   \
    X(SHAPE, "shape", "reduction size is not a multiple of M")                           \
    X(UNSUPPORTED, "unsupported", "weight layout not supported")                         \
    X(SHARED, "shared", "weight already pruned through another layer")

typedef enum prune_skip {
#define PRUNE_X_ENUM(e, key, text) PRUNE_SKIP_##e,
    PRUNE_SKIPS(PRUNE_X_ENUM)
#undef PRUNE_X_ENUM
    PRUNE_SKIP_COUNT
} prune_skip;

_Static_assert(PRUNE_SKIP_NONE == 0, "wl_layer.skip 0 means in use");

const char *prune_skip_key(prune_skip s);
const char *prune_skip_text(prune_skip s);

/* ---------------- selection ---------------- */

typedef struct prune_select_opts {
    const char *include;     /* '|'-separated globs, NULL = every layer */
    const char *exclude;
    int64_t min_params;
    bool head;               /* prune classifier heads too */
} prune_select_opts;

/* Sets skip on every layer from the options. A glob matching no layer is a
 * usage error listing the layers. Explicit include beats min_params/head. */
ecc_status prune_select(ecc_ctx *ctx, wl_layers *ls, const prune_select_opts *o);
size_t prune_selected(const wl_layers *ls); /* layers with skip NONE */

/* ---------------- patterns ---------------- */

typedef struct prune_pattern {
    int n, m;                /* m == 0: unstructured */
} prune_pattern;
#define PRUNE_NM_MAX 256
/* "unstructured" or "N:M" with 1 <= N < M <= PRUNE_NM_MAX; anything else is
 * a usage error quoting what is allowed. */
ecc_status prune_parse_pattern(ecc_ctx *ctx, const char *text, prune_pattern *out);

/* ---------------- exact-count selection ---------------- */

/* Share i of n of total, by cumulative rounding (the shares sum to total). */
int64_t prune_share(int64_t total, int64_t i, int64_t n);
/* Clears keep[i*stride] for the t entries with the smallest score (ties: the
 * lower index goes first). score has n entries; scratch needs n floats. */
void prune_smallest(const float *score, int64_t n, int64_t t, uint8_t *keep, int64_t stride,
                    float *scratch);
/* N:M along a row of k scores: in each run of m keeps the n largest
 * (ties: the lower index stays), clears the rest. */
void prune_nm_row(const float *score, int64_t k, int n, int m, uint8_t *keep);
/* True when every m-group of row-major [rows, k] canon has <= n nonzeros. */
bool prune_nm_holds(const float *canon, int64_t rows, int64_t k, int n, int m);

/* ---------------- masks ---------------- */

/* Attaches keep (canonical [rows, k], 1 = kept) as L->w's mask (ANDed with
 * a mask already there); sets L->zeros. The weight must be an initializer. */
ecc_status prune_attach_mask(ecc_ctx *ctx, wl_layer *L, const uint8_t *keep,
                             const prune_pattern *pat, const char *method);

/* ---------------- criteria ---------------- */

typedef struct prune_method_opts {
    double damp;             /* SparseGPT: λ as a fraction of mean diag(H) */
    int64_t block;           /* SparseGPT: columns per lazy batch */
} prune_method_opts;

/* A criterion: fills keep (canonical, preset to 1) removing `target` weights
 * (unstructured) or following pat (N:M). canon is the canonical weight copy;
 * a criterion that reconstructs (SparseGPT) updates it and sets *changed. */
typedef ecc_status (*prune_method_fn)(ecc_ctx *ctx, const wl_layer *L, float *canon,
                                      int64_t target, const prune_pattern *pat,
                                      const prune_method_opts *o, uint8_t *keep,
                                      bool *changed);

ecc_status prune_magnitude(ecc_ctx *ctx, const wl_layer *L, float *canon, int64_t target,
                           const prune_pattern *pat, const prune_method_opts *o,
                           uint8_t *keep, bool *changed);
ecc_status prune_wanda(ecc_ctx *ctx, const wl_layer *L, float *canon, int64_t target,
                       const prune_pattern *pat, const prune_method_opts *o, uint8_t *keep,
                       bool *changed);
ecc_status prune_sparsegpt(ecc_ctx *ctx, const wl_layer *L, float *canon, int64_t target,
                           const prune_pattern *pat, const prune_method_opts *o,
                           uint8_t *keep, bool *changed);

/* SparseGPT on one matrix: w row-major [rows, k] (updated in place, pruned
 * entries become 0), h [k, k] = mean x xᵀ (destroyed). Unstructured when
 * pat->m == 0: exactly target zeros, spread over the column blocks. */
ecc_status prune_sparsegpt_matrix(ecc_ctx *ctx, float *w, int64_t rows, int64_t k, float *h,
                                  int64_t target, const prune_pattern *pat,
                                  const prune_method_opts *o, uint8_t *keep);

/* ---------------- the `prune` pass configuration (prune.c) ---------------- */

typedef struct prune_method {
    const char *name;        /* method= value */
    prune_method_fn fn;
    bool calib;              /* needs calibration statistics */
    bool full_h;             /* needs H, not just its diagonal */
    bool sequential;         /* may run wave by wave (later layers see pruned inputs) */
} prune_method;

typedef enum prune_scope { PRUNE_SCOPE_LAYER, PRUNE_SCOPE_GLOBAL, PRUNE_SCOPE_AUTO } prune_scope;

typedef struct prune_config {
    const prune_method *method;
    double sparsity;
    prune_pattern pat;
    prune_scope scope;
    prune_select_opts sel;
    prune_method_opts mo;
    bool sequential;
    bool bias_correct;       /* add the mean shift back (prune_bias.c) */
    bool gradual;            /* schedule=gradual: the masks ramp in a later distill */
    double start;            /* gradual: sparsity at the first step */
    int64_t every;           /* gradual: steps between re-rankings (0: auto) */
} prune_config;

/* The method named `name`, or NULL. */
const prune_method *prune_method_find(const char *name);
/* Reads and cross-checks the options of a `prune` invocation (no model
 * needed): bad combinations are usage errors naming what is allowed. */
ecc_status prune_config_read(const ecc_host_api *host, ecc_pass_run *run, prune_config *c);
/* Finds and selects the layers of m for c (globs checked, N:M shapes and
 * shared weights skipped). */
ecc_status prune_layers_prepare(ecc_ctx *ctx, ecc_model *m, const prune_config *c,
                                wl_layers *ls);

/* ---------------- sensitivity (sensitivity.c) ---------------- */

/* Outcome of pruning one layer alone at one level, measured on the first
 * model output against the dense model: relative squared error
 * Σ(y-y0)²/Σy0², top-1 agreement, and accuracy when labels are known. */
typedef struct prune_sens_cell {
    double error, agreement, accuracy;
    bool bias_corrected; /* c->bias_correct's shift was applied while measuring */
} prune_sens_cell;

/* For every selected layer and level: prunes that layer alone (method and
 * pattern of c; unstructured at the level, or N:M once when c->pat is N:M),
 * with c->bias_correct also corrects the bias in place where
 * prune_bias_correct_in_place can (never adding a node), runs d, measures, restores both. labels
 * (d->samples entries) may be NULL. cells: n_layers × n_levels (rows of
 * unselected layers untouched); *dense_acc gets the dense accuracy (NaN
 * without labels). */
ecc_status prune_sensitivity_measure(ecc_ctx *ctx, ecc_model *m, const calib_data *d,
                                     wl_layers *ls, const prune_config *c,
                                     const double *levels, size_t n_levels,
                                     const int64_t *labels, prune_sens_cell *cells,
                                     double *dense_acc);
/* Per-layer prune counts for scope=auto: minimises the summed error curves
 * (lower convex hull, greedy by error per weight) so the counts add up to
 * exactly llround(sparsity × selected weights). */
ecc_status prune_allocate(ecc_ctx *ctx, wl_layers *ls, const double *levels,
                          size_t n_levels, const prune_sens_cell *cells, double sparsity);

/* ---------------- bias correction (prune_bias.c) ---------------- */

/* Adds delta[r] (rows entries) to output channel r of L's node: into its bias
 * (Conv B, Gemm C / beta), the running mean of a BatchNormalization that is
 * its only reader (subtracted), the constant of an Add that is, or a new
 * Add after the node. Shared constants are copied first. *how names the
 * place ("bias", "bn_mean", "add", "new_add"). */
ecc_status prune_bias_add(ecc_ctx *ctx, wl_layer *L, const double *delta, const char **how);
/* Adds the mean output shift pruning L caused back (Σ_j (before − after)·E[x_j]
 * per row, L->stats.mean; after counts only where keep) as prune_bias_add. */
ecc_status prune_bias_correct(ecc_ctx *ctx, wl_layer *L, const float *before,
                              const float *after, const uint8_t *keep, const char **how);
/* A bias changed in place for one measurement, and what it held. */
typedef struct prune_bias_undo {
    float *at, *saved;
    int64_t n;
} prune_bias_undo;
/* The same correction for measuring without changing the graph (sensitivity):
 * made in place only when L's bias is an existing float32 initializer nothing
 * else reads, else u->at stays NULL (a new Add, a copy or a Constant node
 * would be needed). prune_bias_undo_apply puts it back and frees u. */
ecc_status prune_bias_correct_in_place(ecc_ctx *ctx, const wl_layer *L, const float *before,
                                       const float *after, const uint8_t *keep,
                                       prune_bias_undo *u);
void prune_bias_undo_apply(prune_bias_undo *u);
/* The place prune_bias_add would use, without changing anything. */
const char *prune_bias_place(const wl_layer *L);

/* ---------------- reporting ---------------- */

/* Per-layer statistics ("layer.<name>.sparsity", "layer.<name>.params",
 * "excluded.<reason>.<name>") and the table at normal verbosity. */
void prune_report_layers(const ecc_host_api *host, ecc_pass_run *run, const wl_layers *ls,
                         const char *title);

#endif
