/* observers.c — calibration observers (see observers.h). Each method is a
 * row of a table: whether it needs the histogram pass, which histogram
 * (signed over [min, max], or of |x| over [0, max|x|]) and how the range is
 * read from it. */
#include "observers.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct ecc_observer {
    ecc_observer_options o;
    int pass;               /* 0: min/max, 1: histogram */
    int64_t count;
    double mn, mx;          /* observed (finite values) */
    double h_lo, h_width;   /* histogram origin and bin width */
    bool h_abs;             /* histogram of |x| */
    double *hist;           /* ECC_OBS_BINS counts, or NULL */
};

typedef void (*obs_range_fn)(const ecc_observer *o, double *lo, double *hi);

static void range_minmax(const ecc_observer *o, double *lo, double *hi);
static void range_percentile(const ecc_observer *o, double *lo, double *hi);
static void range_entropy(const ecc_observer *o, double *lo, double *hi);
static void range_mse(const ecc_observer *o, double *lo, double *hi);

static const struct {
    const char *name;
    bool two_pass;
    bool abs_hist;
    obs_range_fn range;
} methods[ECC_OBS_METHOD_COUNT] = {
    [ECC_OBS_MINMAX] = {"minmax", false, false, range_minmax},
    [ECC_OBS_PERCENTILE] = {"percentile", true, false, range_percentile},
    [ECC_OBS_ENTROPY] = {"entropy", true, true, range_entropy},
    [ECC_OBS_MSE] = {"mse", true, false, range_mse},
};
_Static_assert(sizeof methods / sizeof methods[0] == ECC_OBS_METHOD_COUNT,
               "one row per observer method");

int ecc_obs_method_find(const char *name) {
    for (int i = 0; name && i < ECC_OBS_METHOD_COUNT; i++)
        if (strcmp(methods[i].name, name) == 0) return i;
    return -1;
}

const char *ecc_obs_method_name(int method) {
    return method >= 0 && method < ECC_OBS_METHOD_COUNT ? methods[method].name : "?";
}

const char *ecc_obs_method_choices(void) { return "minmax|percentile|entropy|mse"; }

bool ecc_obs_method_two_pass(int method) {
    return method >= 0 && method < ECC_OBS_METHOD_COUNT && methods[method].two_pass;
}

ecc_status ecc_observer_create(ecc_ctx *ctx, const ecc_observer_options *opts,
                               ecc_observer **out) {
    *out = NULL;
    if (!opts || opts->struct_size < sizeof *opts)
        return ecc_ctx_error(ctx, ECC_E_USAGE, "observer: options missing or too old");
    if (opts->method < 0 || opts->method >= ECC_OBS_METHOD_COUNT)
        return ecc_ctx_error(ctx, ECC_E_USAGE, "observer: unknown method %d (allowed: %s)",
                             opts->method, ecc_obs_method_choices());
    if (opts->method == ECC_OBS_PERCENTILE && !(opts->percentile > 50 && opts->percentile <= 100))
        return ecc_ctx_error(ctx, ECC_E_USAGE,
                             "observer: percentile %g is outside (50, 100]", opts->percentile);
    if (opts->bits < 2 || opts->bits > 16)
        return ecc_ctx_error(ctx, ECC_E_USAGE, "observer: bits %d is outside [2, 16]",
                             (int)opts->bits);
    ecc_observer *o = calloc(1, sizeof *o);
    if (!o) return ECC_OOM(ctx);
    o->o = *opts;
    o->mn = INFINITY;
    o->mx = -INFINITY;
    *out = o;
    return ECC_OK;
}

void ecc_observer_free(ecc_observer *o) {
    if (!o) return;
    free(o->hist);
    free(o);
}

/* One value into one lane: NaN and ±inf are skipped. Branch-free, so the
 * lanes stay in vector registers. */
static inline void minmax_one(float v, float *mn, float *mx, int32_t *finite) {
    int f = v - v == 0.0f; /* 0 for NaN and ±inf */
    *mn = (f & (v < *mn)) ? v : *mn;
    *mx = (f & (v > *mx)) ? v : *mx;
    *finite += f;
}

/* Min and max of the finite values, in eight independent lanes (the result
 * does not depend on the order), in chunks whose counts fit 32 bits. */
static void update_minmax(ecc_observer *o, const float *x, int64_t n) {
    enum { LANES = 8 };
    const int64_t chunk = (int64_t)1 << 30;
    for (int64_t at = 0; at < n; at += chunk) {
        int64_t m = n - at < chunk ? n - at : chunk, i = 0;
        const float *c = x + at;
        float mn[LANES], mx[LANES];
        int32_t finite[LANES] = {0};
        for (int k = 0; k < LANES; k++) mn[k] = (float)o->mn, mx[k] = (float)o->mx;
        for (; i + LANES <= m; i += LANES)
            for (int k = 0; k < LANES; k++) minmax_one(c[i + k], mn + k, mx + k, finite + k);
        for (int k = 0; i < m; i++, k++) minmax_one(c[i], mn + k, mx + k, finite + k);
        for (int k = 0; k < LANES; k++) {
            o->mn = fmin(o->mn, mn[k]);
            o->mx = fmax(o->mx, mx[k]);
            o->count += finite[k];
        }
    }
}

static void update_hist(ecc_observer *o, const float *x, int64_t n) {
    if (!o->hist || !(o->h_width > 0)) return;
    double inv = 1.0 / o->h_width;
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        if (!isfinite(v)) continue;
        double d = ((o->h_abs ? fabs((double)v) : (double)v) - o->h_lo) * inv;
        int64_t b = d <= 0 ? 0 : d >= ECC_OBS_BINS ? ECC_OBS_BINS - 1 : (int64_t)d;
        o->hist[b] += 1.0;
    }
}

void ecc_observer_update(ecc_observer *o, const float *x, int64_t n) {
    if (!o || !x || n <= 0) return;
    if (o->pass == 0) update_minmax(o, x, n);
    else update_hist(o, x, n);
}

void ecc_observer_next_pass(ecc_observer *o) {
    if (!o || o->pass != 0 || !methods[o->o.method].two_pass) return;
    o->pass = 1;
    if (!o->count) return;
    o->h_abs = methods[o->o.method].abs_hist;
    double lo = o->h_abs ? 0.0 : o->mn;
    double hi = o->h_abs ? fmax(fabs(o->mn), fabs(o->mx)) : o->mx;
    if (!(hi > lo)) return; /* constant tensor: the min/max range is exact */
    o->h_lo = lo;
    o->h_width = (hi - lo) / ECC_OBS_BINS;
    o->hist = calloc(ECC_OBS_BINS, sizeof *o->hist);
}

int64_t ecc_observer_count(const ecc_observer *o) { return o ? o->count : 0; }

void ecc_observer_minmax(const ecc_observer *o, double *lo, double *hi) {
    *lo = o && o->count ? o->mn : 0.0;
    *hi = o && o->count ? o->mx : 0.0;
}

void ecc_observer_range(const ecc_observer *o, double *lo, double *hi) {
    ecc_observer_minmax(o, lo, hi);
    if (!o || !o->count || !o->hist) return;
    methods[o->o.method].range(o, lo, hi);
}

/* ---------------- methods ---------------- */

static void range_minmax(const ecc_observer *o, double *lo, double *hi) {
    ecc_observer_minmax(o, lo, hi);
}

static double hist_total(const ecc_observer *o) {
    double t = 0;
    for (int b = 0; b < ECC_OBS_BINS; b++) t += o->hist[b];
    return t;
}

/* Value below which `frac` of the histogram lies (linear inside a bin). */
static double hist_quantile(const ecc_observer *o, double frac) {
    double total = hist_total(o), want = frac * total, acc = 0;
    for (int b = 0; b < ECC_OBS_BINS; b++) {
        if (acc + o->hist[b] >= want && o->hist[b] > 0) {
            double f = (want - acc) / o->hist[b];
            return o->h_lo + ((double)b + f) * o->h_width;
        }
        acc += o->hist[b];
    }
    return o->h_lo + ECC_OBS_BINS * o->h_width;
}

static void range_percentile(const ecc_observer *o, double *lo, double *hi) {
    double p = o->o.percentile / 100.0;
    *hi = o->mx > 0 ? fmin(o->mx, hist_quantile(o, p)) : o->mx;
    *lo = o->mn < 0 ? fmax(o->mn, hist_quantile(o, 1.0 - p)) : o->mn;
}

/* The histogram of range_entropy (h: the zero bin flattened) with prefix
 * sums for kl_at: below bin b, the count (sum[b]) and the non-empty bins
 * (nonzero[b]); and log h. */
typedef struct kl_hist {
    double h[ECC_OBS_BINS], logh[ECC_OBS_BINS], sum[ECC_OBS_BINS + 1];
    int nonzero[ECC_OBS_BINS + 1];
} kl_hist;

static void kl_hist_fill(kl_hist *k, const double *hist) {
    memcpy(k->h, hist, sizeof k->h);
    k->h[0] = k->h[1];
    k->sum[0] = 0;
    k->nonzero[0] = 0;
    for (int b = 0; b < ECC_OBS_BINS; b++) {
        k->sum[b + 1] = k->sum[b] + k->h[b];
        k->nonzero[b + 1] = k->nonzero[b] + (k->h[b] != 0);
        k->logh[b] = k->h[b] > 0 ? log(k->h[b]) : 0.0;
    }
}

/* KL(p || q) for the first i bins of h: p with the clipped tail (the count
 * from bin i on) added to its last bin; q the non-empty bins of h merged
 * into nq levels (bin b goes to level b·nq/i) and spread back evenly. Empty
 * q bins where p is not empty make the divergence infinite, as in scipy's
 * entropy(). With P = Σp (the total) and Q = Σq (the count below i),
 * KL = Σ p (log p − log q) / P − log(P/Q); q is constant over a level's
 * non-empty bins, so the prefix sums give it with one logarithm per level.
 * A bin where p = q adds exactly 0, so equal minima stay equal. */
static double kl_at(const kl_hist *k, int i, int nq) {
    const double *h = k->h;
    double below = k->sum[i], tail = k->sum[ECC_OBS_BINS] - below, total = below + tail, kl = 0;
    if (!(total > 0) || !(below > 0)) return INFINITY;
    if (h[i - 1] == 0 && tail > 0) return INFINITY; /* p > 0 where q is 0 */
    for (int level = 0; level < nq; level++) {
        int start = (int)(((int64_t)level * i + nq - 1) / nq);
        int stop = (int)(((int64_t)(level + 1) * i + nq - 1) / nq);
        double sum = k->sum[stop] - k->sum[start];
        if (start >= stop || !(sum > 0)) continue;
        double logq = log(sum / (k->nonzero[stop] - k->nonzero[start]));
        for (int b = start; b < stop; b++) {
            if (!(h[b] > 0)) continue;
            bool last = b == i - 1 && tail > 0;
            kl += last ? (h[b] + tail) * (log(h[b] + tail) - logq) : h[b] * (k->logh[b] - logq);
        }
    }
    return kl / total - log(total / below);
}

/* The entropy threshold (NVIDIA's TensorRT calibration as in its
 * pytorch-quantization toolkit): |x| histogram with the zero bin flattened
 * to its neighbour (ReLU's spike at 0 would otherwise dominate), levels
 * 2^(bits-1) (2^bits for unsigned formats on non-negative data), thresholds
 * from 128 bins up; the largest threshold among equal minima wins (equal
 * within ECC_KL_TIE nats: divergences that are equal in exact arithmetic,
 * e.g. 0 for every threshold past the data of a few distinct values, differ
 * in the last bits). */
#define ECC_KL_TIE 1e-12
static void range_entropy(const ecc_observer *o, double *lo, double *hi) {
    bool nonneg = o->mn >= 0 && !o->o.is_signed;
    int nq = 1 << (o->o.bits - 1 + (nonneg ? 1 : 0));
    kl_hist *k = malloc(sizeof *k);
    if (!k) return; /* keep min/max */
    kl_hist_fill(k, o->hist);
    int start = 128 < ECC_OBS_BINS ? 128 : 1, best_i = ECC_OBS_BINS;
    double best = INFINITY;
    for (int i = start; i <= ECC_OBS_BINS; i++) {
        double kl = kl_at(k, i, nq);
        if (kl <= best + ECC_KL_TIE) {
            best = fmin(best, kl);
            best_i = i;
        }
    }
    free(k);
    double t = (double)best_i * o->h_width;
    *hi = fmin(o->mx, t);
    *lo = fmax(o->mn, -t);
}

/* Expected squared error of quantizing the histogram with range [lo, hi]. */
static double mse_at(const ecc_observer *o, double lo, double hi) {
    int levels = (1 << o->o.bits) - 1;
    bool sym = o->o.is_signed;
    double step;
    if (sym) {
        double amax = fmax(fabs(lo), fabs(hi));
        step = amax / ((levels - 1) / 2);
        lo = -amax;
        hi = amax;
    } else {
        step = (hi - lo) / levels;
    }
    double err = 0, round_err = step * step / 12.0;
    for (int b = 0; b < ECC_OBS_BINS; b++) {
        if (o->hist[b] == 0) continue;
        double c = o->h_lo + ((double)b + 0.5) * o->h_width;
        double d = c < lo ? lo - c : c > hi ? c - hi : 0.0;
        err += o->hist[b] * (d > 0 ? d * d : round_err);
    }
    return err;
}

static void range_mse(const ecc_observer *o, double *lo, double *hi) {
    double mn = fmin(o->mn, 0.0), mx = fmax(o->mx, 0.0), best = INFINITY;
    for (int s = 100; s >= 5; s--) {
        double f = s / 100.0, e = mse_at(o, mn * f, mx * f);
        if (e < best) {
            best = e;
            *lo = fmax(o->mn, mn * f);
            *hi = fmin(o->mx, mx * f);
        }
    }
}
