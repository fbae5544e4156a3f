/* observers.h — calibration observers: streaming statistics of one
 * activation tensor that end in a clipping range [lo, hi] for its quantizer.
 * Memory is bounded (a histogram per tensor, never the activations).
 *
 *   minmax      the observed min and max (one pass);
 *   percentile  the p-th / (100-p)-th percentiles of a 2048-bin histogram;
 *   entropy     TensorRT's KL-divergence threshold on a 2048-bin histogram
 *               of |x| (candidate thresholds from `levels` bins to 2048);
 *   mse         the symmetric shrink of [min, max] minimising the expected
 *               squared quantization error (rounding Δ²/12 inside the range,
 *               clipping error outside) over the histogram.
 *
 * Histogram methods need two passes over the data: pass 0 finds min/max,
 * ecc_observer_next_pass fixes the bins, pass 1 fills them. Internal. */
#ifndef ECC_OBSERVERS_H
#define ECC_OBSERVERS_H

#include "base.h"

typedef enum ecc_obs_method {
    ECC_OBS_MINMAX = 0,
    ECC_OBS_PERCENTILE = 1,
    ECC_OBS_ENTROPY = 2,
    ECC_OBS_MSE = 3,
    ECC_OBS_METHOD_COUNT
} ecc_obs_method;

#define ECC_OBS_BINS 2048

/* Method by name ("minmax", "percentile", "entropy", "mse"); -1 if unknown. */
int ecc_obs_method_find(const char *name);
const char *ecc_obs_method_name(int method); /* "?" if out of range */
/* "minmax|percentile|entropy|mse" for option choices and messages. */
const char *ecc_obs_method_choices(void);
/* True when the method reads the data twice (histograms). */
bool ecc_obs_method_two_pass(int method);

typedef struct ecc_observer_options {
    uint32_t struct_size;   /* sizeof(ecc_observer_options) */
    int method;             /* ecc_obs_method */
    double percentile;      /* percentile: in (50, 100], e.g. 99.99 */
    int32_t bits;           /* target bits (entropy: quantized bins; mse: levels) */
    bool is_signed;         /* target format (entropy uses 2^bits bins when unsigned and
                               the data is non-negative, else 2^(bits-1)) */
} ecc_observer_options;

typedef struct ecc_observer ecc_observer;

/* *out owned by the caller (ecc_observer_free). Bad options → ECC_E_USAGE
 * quoting what is allowed. */
ecc_status ecc_observer_create(ecc_ctx *ctx, const ecc_observer_options *opts,
                               ecc_observer **out);
void ecc_observer_free(ecc_observer *o); /* NULL is a no-op */
/* Feeds n values (the current pass). NaNs are ignored; infinities count for
 * min/max only through finite clipping (they are ignored). */
void ecc_observer_update(ecc_observer *o, const float *x, int64_t n);
/* Ends pass 0 of a two-pass method: the histogram range is fixed. */
void ecc_observer_next_pass(ecc_observer *o);
/* The clipping range (lo <= 0 <= hi is not enforced here). Nothing observed
 * → [0, 0]. */
void ecc_observer_range(const ecc_observer *o, double *lo, double *hi);
/* Values seen in pass 0, and the observed min/max. */
int64_t ecc_observer_count(const ecc_observer *o);
void ecc_observer_minmax(const ecc_observer *o, double *lo, double *hi);

#endif
