/* train.h — the trainer's numeric core (calibrate/train/, see TRAINING.md):
 * losses over a batch of logits (loss.c), optimizers over a list of
 * parameters with their state (optim.c), learning-rate schedules (schedule.c).
 * No threads, fixed summation order, double accumulators: the same inputs
 * give the same bytes. Nothing here knows about graphs or the gradient
 * engine; callers hand in plain float arrays they own. */
#ifndef ECC_TRAIN_H
#define ECC_TRAIN_H

#include "base.h"
#include "../interp.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---------------- losses (loss.c) ----------------
 * Logits are row-major [rows, cols] float32. Each loss writes the mean over
 * rows (over elements for MSE) to *loss and, when grad != NULL, d(loss)/d(the
 * first argument) into grad (caller-owned, same shape, already divided by the
 * batch). grad may alias neither input. Errors: ECC_E_USAGE for a bad
 * temperature, ECC_E_INPUT for a non-finite logit or a label out of range
 * (naming the row), ECC_E_INTERNAL for an empty or negative shape. */

/* Distillation: T² · KL(softmax(teacher/T) ‖ softmax(student/T)), T > 0;
 * gradient T·(softmax(student/T) − softmax(teacher/T))/rows. */
ecc_status ecc_loss_kl(ecc_ctx *ctx, const float *student, const float *teacher, int64_t rows,
                       int64_t cols, double temperature, double *loss, float *grad);
/* Cross-entropy of logits against class indices labels[rows] in [0, cols). */
ecc_status ecc_loss_ce(ecc_ctx *ctx, const float *logits, const int64_t *labels, int64_t rows,
                       int64_t cols, double *loss, float *grad);
/* Mean over n elements of (a − b)²; gradient 2(a − b)/n with respect to a. */
ecc_status ecc_loss_mse(ecc_ctx *ctx, const float *a, const float *b, int64_t n, double *loss,
                        float *grad);

/* ---------------- optimizers (optim.c) ---------------- */

/* One trainable tensor. All pointers are borrowed from the caller and must
 * outlive the optimizer that holds them. */
typedef struct ecc_train_param {
    float *w;             /* weights, updated in place */
    float *g;             /* gradient of the loss, read by a step (clipping scales it) */
    int64_t n;            /* elements */
    const uint8_t *keep;  /* mask: 0 = pruned, stays exactly 0.0f; NULL keeps all */
    bool decay;           /* weight decay applies (weights yes, biases and norms no) */
} ecc_train_param;

typedef enum ecc_optim_kind { ECC_OPTIM_SGD, ECC_OPTIM_ADAMW, ECC_OPTIM_COUNT } ecc_optim_kind;

typedef struct ecc_optim_config {
    ecc_optim_kind kind;
    double weight_decay;  /* >= 0; SGD: coupled L2 (g += wd·w), AdamW: decoupled */
    double momentum;      /* SGD, [0, 1) */
    bool nesterov;        /* SGD, needs momentum > 0 */
    double beta1, beta2;  /* AdamW, [0, 1) */
    double eps;           /* AdamW, > 0 */
} ecc_optim_config;

typedef struct ecc_optim ecc_optim;

/* The defaults of a kind (SGD: momentum 0.9; AdamW: betas 0.9/0.999, eps
 * 1e-8, weight decay 0.01). */
ecc_optim_config ecc_optim_defaults(ecc_optim_kind kind);
/* "sgd" | "adamw" → kind; ECC_E_USAGE listing the choices otherwise. */
ecc_status ecc_optim_kind_parse(ecc_ctx *ctx, const char *name, ecc_optim_kind *out);
const char *ecc_optim_kind_name(ecc_optim_kind kind); /* NULL when out of range */
/* ECC_E_USAGE naming the option and its bound when cfg is out of range. */
ecc_status ecc_optim_config_check(ecc_ctx *ctx, const ecc_optim_config *cfg);
/* Checks cfg, copies params[0..n) (their arrays stay borrowed) and allocates
 * zeroed state beside each parameter. *out is the caller's, freed with
 * ecc_optim_free; ctx is borrowed for error messages of later steps. */
ecc_status ecc_optim_create(ecc_ctx *ctx, const ecc_optim_config *cfg,
                            const ecc_train_param *params, size_t n, ecc_optim **out);
/* One update of every parameter from its gradient at learning rate lr
 * (finite, >= 0, else ECC_E_USAGE). Pruned elements end exactly 0.0f with
 * zero state. */
ecc_status ecc_optim_step(ecc_optim *o, double lr);
/* State k of parameter i (SGD: 0 = momentum buffer; AdamW: 0 = m, 1 = v),
 * owned by o; NULL when the kind has no such state. */
const float *ecc_optim_state(const ecc_optim *o, size_t i, int k);
int64_t ecc_optim_steps(const ecc_optim *o); /* steps taken so far */
void ecc_optim_free(ecc_optim *o);           /* NULL is a no-op */

/* Global L2 norm of the gradients (pruned elements count as 0), returned
 * before clipping. When max_norm > 0 and the norm is finite and larger, every
 * gradient is scaled by max_norm/norm so that the norm becomes max_norm;
 * max_norm <= 0 only measures. */
double ecc_grad_clip(const ecc_train_param *p, size_t n, double max_norm);

/* ---------------- learning-rate schedules (schedule.c) ---------------- */

typedef enum ecc_lr_kind { ECC_LR_CONSTANT, ECC_LR_STEP, ECC_LR_COSINE, ECC_LR_COUNT } ecc_lr_kind;

typedef struct ecc_lr_schedule {
    ecc_lr_kind kind;
    double lr;          /* peak rate, finite and > 0 */
    int64_t warmup;     /* steps of linear warm-up, lr/warmup up to lr; 0 = none */
    double min_lr;      /* cosine: the rate reached at total_steps, in [0, lr] */
    int64_t step_size;  /* step: multiply by gamma every step_size steps (>= 1) */
    double gamma;       /* step: in (0, 1] */
} ecc_lr_schedule;

/* "constant" | "step" | "cosine" → kind; ECC_E_USAGE listing the choices. */
ecc_status ecc_lr_kind_parse(ecc_ctx *ctx, const char *name, ecc_lr_kind *out);
const char *ecc_lr_kind_name(ecc_lr_kind kind); /* NULL when out of range */
/* ECC_E_USAGE naming the field and its bound when s is out of range. */
ecc_status ecc_lr_schedule_check(ecc_ctx *ctx, const ecc_lr_schedule *s);
/* The rate of 0-based step `step` of total_steps (s checked). Warm-up steps
 * 0..warmup-1 rise linearly lr·(step+1)/warmup; after them the kind's decay
 * counts from the end of warm-up. Steps past total_steps keep its rate. */
double ecc_lr_at(const ecc_lr_schedule *s, int64_t step, int64_t total_steps);

/* ---------------- the training loop (loop.c) ----------------
 * Distillation of a student model against fixed target logits (a teacher's
 * outputs, computed once by the caller) on samples held in memory: shuffled
 * mini-batches, the interpreter's forward and backward, a loss on output 0
 * (T²·KL, with labels (1-alpha)·T²·KL + alpha·CE) plus beta·MSE of each
 * feature pair, an optimizer step, masks kept. Deterministic for a seed, on
 * any thread count. */

struct ecc_model;
struct ecc_rt_tensor;

/* Feature distillation: a value of the student, made one of its graph
 * outputs by the caller (so its gradient seeds the backward pass), against a
 * teacher value of the same shape, computed by running the teacher on each
 * batch. */
typedef struct ecc_train_feature {
    size_t output;             /* index of the student output holding the value */
    const char *student_value; /* its name, for messages */
    const char *teacher_value; /* the teacher's value (an activation) */
} ecc_train_feature;

typedef struct ecc_train_data {
    size_t n_inputs;
    const struct ecc_rt_tensor *inputs; /* per model input: all samples, dims[0] = samples */
    int64_t samples;
    const float *target;   /* teacher logits, [samples, classes] */
    int64_t classes;
    const int64_t *labels; /* [samples] class indices, or NULL */
    const ecc_train_feature *features; /* n_features pairs, or NULL */
    size_t n_features;
    const struct ecc_model *teacher;   /* run on each batch when n_features > 0 */
} ecc_train_data;

typedef struct ecc_train_config {
    int64_t epochs;        /* passes over the training split (when steps == 0) */
    int64_t steps;         /* > 0: exactly this many steps instead */
    int64_t batch;
    double val;            /* held-out fraction of the samples, [0, 0.5] */
    double temperature;    /* KL temperature T > 0 */
    double alpha;          /* weight of cross-entropy on labels (when given), [0, 1] */
    double beta;           /* weight of each feature pair's MSE, >= 0 */
    double clip;           /* global gradient norm bound; 0 = none */
    ecc_optim_config optim;
    ecc_lr_schedule lr;
    uint64_t seed;
    int threads;           /* interpreter threads; 0 = all cores */
    bool progress;         /* draw a progress line on the log stream (a terminal) */
    bool lsq;              /* learn the quantizer scales of trained weights (LSQ) */
    double lsq_lr;         /* their peak rate (the schedule's shape), > 0 */
} ecc_train_config;

/* ---------------- gradual pruning (gradual.c) ---------------- */

/* One weight pruned gradually while it trains (Zhu & Gupta 2017): its
 * sparsity follows s(t) = s_f + (start - s_f)(1 - t / T)^3 for t in [0, T],
 * T = 3/4 of the steps, then stays at s_f; every `every` steps (and at T)
 * the mask is re-ranked by |w| over the whole tensor (unstructured: s(t) of
 * it removed) or within each group of m consecutive weights along `axis`
 * (N:M: (m - n) s(t) / s_f of each group removed), and the removed weights
 * are set to zero. Ties go to the lower index, so the bytes are seeded. */
typedef struct ecc_gradual {
    double final;          /* s_f: the sparsity the mask reaches */
    double start;          /* sparsity at step 0 (below final) */
    int64_t every;         /* steps between re-rankings; 0: T / 40 (at least 1) */
    int32_t n, m, axis;    /* N:M along axis; m = 0: unstructured */
    int32_t rank;
    int64_t dims[ECC_MAX_RANK];
} ecc_gradual;

/* Is step a re-ranking step of g over total steps? */
bool ecc_gradual_due(const ecc_gradual *g, int64_t step, int64_t total);
/* The target sparsity of g at step (of total). */
double ecc_gradual_sparsity(const ecc_gradual *g, int64_t step, int64_t total);
/* Re-ranks keep and zeroes the removed weights of w for step (of total). */
ecc_status ecc_gradual_apply(ecc_ctx *ctx, const ecc_gradual *g, float *w, uint8_t *keep,
                             int64_t step, int64_t total);

/* ---------------- weight sharing (tied.c) ---------------- */

/* A clustered weight (codebook annotation): each kept weight belongs to the
 * centroid it equals; members share the sum of their gradients. */
typedef struct ecc_tied {
    int32_t *group;        /* per weight: its centroid, or -1 (removed, or no centroid) */
    int64_t *first;        /* per centroid: its first member, or -1 */
    double *sum;           /* per centroid: scratch */
    int64_t n, k;
} ecc_tied;

ecc_status ecc_tied_open(ecc_ctx *ctx, const float *w, const uint8_t *keep, int64_t n,
                         const float *codebook, int64_t k, ecc_tied *t);
/* Every member's gradient becomes its centroid's sum (fixed order). */
void ecc_tied_grad(const ecc_tied *t, float *g);
/* The trained centroids (a centroid without members keeps its old value). */
void ecc_tied_centroids(const ecc_tied *t, const float *w, const float *old, float *out);
void ecc_tied_close(ecc_tied *t);

/* One trained tensor: an initializer of the student, its mask (or NULL),
 * whether weight decay applies, and (with a mask) its gradual schedule or
 * NULL: then keep is rewritten as the mask ramps. */
typedef struct ecc_train_target {
    const char *name;
    uint8_t *keep;
    bool decay;
    const ecc_gradual *gradual;
    float *scales;         /* with lsq: receives its learned quantizer scales (one per
                              group, caller-allocated), or NULL */
    float *codebook;       /* sorted centroids every kept weight equals (cluster), k of
                              them, or NULL: they train tied and are rewritten in place */
    int64_t codebook_k;
} ecc_train_target;

typedef struct ecc_train_epoch {
    double loss;           /* mean training loss of the epoch */
    double val_loss;       /* held-out distillation loss (NaN without a split) */
    double val_agree;      /* held-out top-1 agreement with the teacher */
    double val_acc;        /* held-out top-1 accuracy on labels (NaN without) */
} ecc_train_epoch;

/* A learned activation scale (lsq) and the quantizer it belongs to (the
 * student's; values tied to one scale tensor share it). */
typedef struct ecc_learned_scale {
    const ecc_quantizer *q;
    float scale;
} ecc_learned_scale;

typedef struct ecc_train_result {
    int64_t steps, train_samples, val_samples;
    double seconds, samples_per_second;
    size_t peak_bytes;     /* activations + gradients + parameters + optimizer state */
    ecc_train_epoch before;  /* held-out metrics before the first step */
    ecc_train_epoch *epochs; /* malloc'd, n_epochs entries (free with ecc_train_result_free) */
    int64_t n_epochs;
    ecc_learned_scale *act_scales; /* with lsq: malloc'd, n_act_scales entries */
    size_t n_act_scales;
} ecc_train_result;

/* Trains the named initializers of student on data. On success trained[i]
 * (caller-allocated, the initializer's numel floats) holds the new values.
 * A non-finite loss stops with ECC_E_INTERNAL naming the step. */
ecc_status ecc_train_run(ecc_ctx *ctx, const struct ecc_model *student,
                         const ecc_train_target *targets, size_t n_targets,
                         const ecc_train_data *data, const ecc_train_config *cfg,
                         float *const *trained, ecc_train_result *res);
void ecc_train_result_free(ecc_train_result *res);

#endif
