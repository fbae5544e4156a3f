/* cluster.c — the `cluster` pass: weight sharing (Deep Compression, Han et
 * al. 2016). For every float32 weight of rank >= 2 with at least min_size
 * elements, 1-D k-means over its kept weights finds 2^bits centroids; each
 * kept weight is replaced by its nearest centroid and the sorted centroids
 * are attached to the value as its codebook annotation. Weights a mask
 * removes, and weights that are exactly zero (already pruned), are left out
 * of the clustering and stay as they are, so `prune,cluster` clusters only
 * the survivors. The ONNX output holds the clustered float values (any
 * runtime runs it); the .ecc writer stores indices + codebook.
 *
 * k-means runs on the sorted values, where every cluster is a contiguous
 * range, so an iteration costs O(k log n) with prefix sums. Initialisation
 * is linear (centroids evenly spaced over [min, max], the paper's best) or
 * k-means++ seeded from the run's seed and the weight's position. Main graph
 * only; weights carrying a quantizer are skipped (logged). */
#include "layers.h"
#include "pipeline.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PASS "cluster"
#define MAX_K 256

static const ecc_opt_desc cluster_opts[] = {
    ECC_OPT(ECC_OPT_INT, "bits", "codebook index width: 2^bits shared values per weight", "4", 2, 8,
        NULL),
    ECC_OPT(ECC_OPT_ENUM, "init", "centroid initialisation: linear over [min, max], or k-means++",
        "linear", 0, 0, "linear|kmeans++"),
    ECC_OPT(ECC_OPT_INT, "iters", "k-means iterations at most (stops earlier when stable)", "50", 1,
        1000, NULL),
    ECC_OPT(ECC_OPT_INT, "min_size", "weights with fewer elements are left alone", "1024", 1, 1e15,
        NULL),
};

typedef struct cluster_stats {
    size_t tensors, weights, skipped;
    double abs_change;       /* sum |w_new - w_old| */
    int64_t max_k;
} cluster_stats;

static int cmp_f32(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

/* First index of xs[0..n) with xs[i] >= v. */
static size_t lower_bound(const float *xs, size_t n, double v) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if ((double)xs[mid] < v) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static void init_linear(const float *xs, size_t n, double *c, int k) {
    double lo = xs[0], hi = xs[n - 1];
    for (int j = 0; j < k; j++) c[j] = k == 1 ? lo : lo + (hi - lo) * j / (k - 1);
}

/* k-means++: the first centroid uniformly, each next one with probability
 * proportional to the squared distance to the nearest chosen centroid. */
static void init_kmeanspp(const float *xs, size_t n, double *c, int k, uint64_t seed,
                          double *d2) {
    c[0] = xs[ecc_splitmix64(&seed) % n];
    for (size_t i = 0; i < n; i++) d2[i] = (xs[i] - c[0]) * (xs[i] - c[0]);
    for (int j = 1; j < k; j++) {
        double total = 0;
        for (size_t i = 0; i < n; i++) total += d2[i];
        double r = (double)(ecc_splitmix64(&seed) >> 11) / 9007199254740992.0 * total;
        size_t pick = n - 1;
        for (size_t i = 0; i < n; i++) {
            r -= d2[i];
            if (r < 0) {
                pick = i;
                break;
            }
        }
        c[j] = xs[pick];
        for (size_t i = 0; i < n; i++) {
            double d = (xs[i] - c[j]) * (xs[i] - c[j]);
            if (d < d2[i]) d2[i] = d;
        }
    }
}

static int cmp_f64(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Lloyd iterations on sorted xs with prefix sums ps (ps[i] = sum xs[0..i)). */
static void lloyd(const float *xs, const double *ps, size_t n, double *c, int k, int64_t iters) {
    for (int64_t it = 0; it < iters; it++) {
        qsort(c, (size_t)k, sizeof *c, cmp_f64);
        bool moved = false;
        size_t start = 0;
        for (int j = 0; j < k; j++) {
            size_t end = j == k - 1 ? n : lower_bound(xs, n, (c[j] + c[j + 1]) / 2);
            if (end > start) {
                double m = (ps[end] - ps[start]) / (double)(end - start);
                if (m != c[j]) moved = true;
                c[j] = m;
            }
            start = end > start ? end : start;
        }
        if (!moved) break;
    }
    qsort(c, (size_t)k, sizeof *c, cmp_f64);
}

/* Nearest centroid of the sorted codebook (ties: the lower one), in float
 * arithmetic: only the two centroids around w can be nearest. */
static float nearest(const float *cb, int k, float w) {
    int lo = 0, hi = k;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (cb[mid] < w) lo = mid + 1;
        else hi = mid;
    }
    if (lo == 0) return cb[0];
    if (lo == k) return cb[k - 1];
    return fabsf(w - cb[lo]) < fabsf(w - cb[lo - 1]) ? cb[lo] : cb[lo - 1];
}

typedef struct cluster_job {
    ecc_ctx *ctx;
    int bits;
    bool kmeanspp;
    int64_t iters;
    uint64_t seed;
} cluster_job;

static bool kept(const ecc_value *v, const float *w, int64_t i) {
    if (v->mask && v->mask->keep && !((const uint8_t *)v->mask->keep->data)[i]) return false;
    return w[i] != 0.0f;
}

/* Clusters one weight (nothing when no weight is kept). */
static ecc_status cluster_value(const cluster_job *job, ecc_value *v, cluster_stats *cs) {
    ecc_status st = ECC_OK;
    ecc_tensor *cbt = NULL;
    float *xs = NULL;
    double *ps = NULL, *d2 = NULL, c[MAX_K];
    ECC_TRY(ecc_tensor_make_unique(job->ctx, &v->init));
    ecc_tensor *t = v->init;
    float *w = t->data;
    size_t n = 0;
    xs = malloc((size_t)t->numel * sizeof *xs + 1);
    ps = malloc(((size_t)t->numel + 1) * sizeof *ps);
    ECC_FAIL_IF(!xs || !ps, job->ctx, ECC_E_INTERNAL, "out of memory");
    for (int64_t i = 0; i < t->numel; i++)
        if (kept(v, w, i)) xs[n++] = w[i];
    if (n == 0) goto fail;
    qsort(xs, n, sizeof *xs, cmp_f32);
    size_t distinct = 1;
    ps[0] = 0;
    for (size_t i = 0; i < n; i++) {
        ps[i + 1] = ps[i] + xs[i];
        if (i && xs[i] != xs[i - 1]) distinct++;
    }
    int k = (int)(distinct < ((size_t)1 << job->bits) ? distinct : ((size_t)1 << job->bits));
    if (job->kmeanspp) {
        d2 = malloc(n * sizeof *d2);
        ECC_FAIL_IF(!d2, job->ctx, ECC_E_INTERNAL, "out of memory");
        init_kmeanspp(xs, n, c, k, job->seed, d2);
    } else {
        init_linear(xs, n, c, k);
    }
    lloyd(xs, ps, n, c, k, job->iters);
    /* the codebook: distinct float centroids, sorted */
    float cb[MAX_K];
    int kk = 0;
    for (int j = 0; j < k; j++) {
        float f = (float)c[j];
        if (kk == 0 || f != cb[kk - 1]) cb[kk++] = f;
    }
    for (int64_t i = 0; i < t->numel; i++) {
        if (!kept(v, w, i)) continue;
        float nw = nearest(cb, kk, w[i]);
        cs->abs_change += fabs((double)nw - (double)w[i]);
        w[i] = nw;
    }
    int64_t kdim = kk;
    ECC_TRY(ecc_tensor_create(job->ctx, ECC_DTYPE_FLOAT, 1, &kdim, &cbt));
    memcpy(cbt->data, cb, (size_t)kk * sizeof *cb);
    ecc_value_set_codebook(v, cbt);
    cs->tensors++;
    cs->weights += n;
    if (kk > cs->max_k) cs->max_k = kk;
    ecc_log(job->ctx, 1, PASS ": '%s': %zu weights -> %d shared values", v->name, n, kk);
fail:
    ecc_tensor_unref(cbt);
    free(xs);
    free(ps);
    free(d2);
    return st;
}

static bool eligible(const ecc_value *v, int64_t min_size) {
    const ecc_tensor *t = v->init;
    return t && t->dtype == ECC_DTYPE_FLOAT && t->rank >= 2 && t->numel >= min_size &&
           !(v->flags & ECC_VALUE_INPUT);
}

static int cluster_run(const ecc_host_api *host, ecc_pass_run *run) {
    ecc_status st = ECC_OK;
    cluster_stats cs = {0};
    const char *init = host->opt_string(run, "init");
    cluster_job job = {run->ctx, (int)host->opt_int(run, "bits"),
                       init && strcmp(init, "kmeans++") == 0, host->opt_int(run, "iters"), 0};
    int64_t min_size = host->opt_int(run, "min_size");
    ecc_graph *g = run->model->graph;
    for (size_t i = 0; i < g->inits.n; i++) { /* before any work */
        const ecc_value *v = g->inits.items[i];
        if (eligible(v, min_size) && !v->quant)
            ECC_TRY(wl_check_finite(run->ctx, v, "weight", NULL));
    }
    for (size_t i = 0; i < g->inits.n; i++) {
        ecc_value *v = g->inits.items[i];
        if (!eligible(v, min_size)) continue;
        if (v->quant) {
            ecc_log(run->ctx, 1, PASS ": '%s' carries a quantizer; not clustered", v->name);
            cs.skipped++;
            continue;
        }
        uint64_t s = host->seed(run) ^ (0x9e3779b97f4a7c15ull * (uint64_t)(i + 1));
        job.seed = ecc_splitmix64(&s);
        ECC_TRY(cluster_value(&job, v, &cs));
    }
    host->stat(run, "tensors_clustered", (double)cs.tensors);
    host->stat(run, "weights_shared", (double)cs.weights);
    host->stat(run, "max_codebook", (double)cs.max_k);
    host->stat(run, "mean_abs_change", cs.weights ? cs.abs_change / (double)cs.weights : 0.0);
    host->stat(run, "skipped_quantized", (double)cs.skipped);
fail:
    return (int)st;
}

const ecc_pass_desc ecc_pass_cluster = {
    .struct_size = sizeof(ecc_pass_desc),
    .name = "cluster",
    .summary = "weight sharing: per-layer k-means codebook of 2^bits values (Deep Compression); "
               ".ecc stores indices + codebook",
    .options = cluster_opts,
    .n_options = sizeof cluster_opts / sizeof cluster_opts[0],
    .run = cluster_run,
};
