/* interp_bench.c — interpreter throughput on a Fashion-MNIST batch, the
 * helper of bench/interp_throughput.sh.
 *
 *   interp_bench MODEL BATCH THREADS SECONDS
 *       prints "samples_per_s workspace_bytes input_bytes" for MODEL run on
 *       BATCH images (testdata/fmnist_64.npy, repeated as needed) after three
 *       warm-up runs, timed for at least SECONDS and 10 runs;
 *   interp_bench --blas
 *       prints the OpenBLAS kernels in use (OPENBLAS_CORETYPE overrides the
 *       CPU's own choice, so ratios against ORT depend on it);
 *   interp_bench
 *       (as `make bench` runs it) a table for every testdata model at batch
 *       64 with 1 and 2 threads, one second each. */
#include "../calibrate/data.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct result {
    double rate;
    size_t workspace, input_bytes;
} result;

/* BATCH images of fmnist_64.npy as float32 [BATCH,1,28,28]. */
static ecc_status load_batch(ecc_ctx *ctx, int64_t batch, float **out) {
    ecc_status st = ECC_OK;
    ecc_data_stream *s = NULL;
    float *src = malloc(64 * 784 * sizeof(float)), *dst = malloc((size_t)batch * 784 * sizeof(float));
    int64_t got;
    ECC_FAIL_IF(!src || !dst, ctx, ECC_E_INTERNAL, "out of memory");
    ECC_TRY(ecc_data_open_npy(ctx, "testdata/fmnist_64.npy", &s));
    ECC_TRY(ecc_data_read(ctx, s, 64, src, &got));
    for (int64_t i = 0; i < batch; i++) memcpy(dst + i * 784, src + (i % 64) * 784, 784 * sizeof(float));
    *out = dst;
    dst = NULL;
fail:
    ecc_data_close(s);
    free(src);
    free(dst);
    return st;
}

static ecc_status bench(ecc_ctx *ctx, const char *path, int64_t batch, int threads,
                        double seconds, result *r) {
    ecc_status st = ECC_OK;
    ecc_model *m = NULL;
    ecc_interp *it = NULL;
    float *x = NULL;
    ECC_TRY(ecc_model_read(ctx, path, &m));
    ecc_interp_options o = {sizeof o, threads, batch, NULL, NULL, NULL};
    ECC_TRY(ecc_interp_create(ctx, m, &o, &it));
    ECC_TRY(load_batch(ctx, batch, &x));
    ecc_rt_tensor in = {ECC_DTYPE_FLOAT, 4, {batch, 1, 28, 28}, x, (size_t)batch * 784 * 4};
    const ecc_value *v = ecc_interp_input(it, 0);
    if (v->rank == 2) in.rank = 2, in.dims[1] = 784;
    for (int i = 0; i < 3; i++) ECC_TRY(ecc_interp_run(ctx, it, &in, 1));
    int runs = 0;
    double t0 = now(), t;
    do {
        ECC_TRY(ecc_interp_run(ctx, it, &in, 1));
        runs++;
        t = now() - t0;
    } while (t < seconds || runs < 10);
    r->rate = (double)runs * (double)batch / t;
    r->workspace = ecc_interp_workspace_bytes(it);
    r->input_bytes = in.nbytes;
fail:
    free(x);
    ecc_interp_free(it);
    ecc_model_free(m);
    return st;
}

static int table(ecc_ctx *ctx) {
    static const char *const models[] = {"testdata/mlp.onnx", "testdata/cnn.onnx",
                                         "testdata/transformer.onnx"};
    printf("ecc interpreter, batch 64 (samples/s):\n");
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        result r1, r2;
        if (bench(ctx, models[i], 64, 1, 1.0, &r1) || bench(ctx, models[i], 64, 2, 1.0, &r2)) {
            fprintf(stderr, "interp_bench: %s\n", ecc_ctx_message(ctx));
            return 1;
        }
        printf("  %-28s 1 thread %10.0f   2 threads %10.0f   workspace %zu bytes\n", models[i],
               r1.rate, r2.rate, r1.workspace);
    }
    return 0;
}

int main(int argc, char **argv) {
    ecc_ctx *ctx = ecc_ctx_create();
    int rc = 0;
    if (argc == 1) rc = table(ctx);
    else if (argc == 2 && strcmp(argv[1], "--blas") == 0) printf("%s\n", openblas_get_corename());
    else if (argc == 5) {
        result r;
        if (bench(ctx, argv[1], atoll(argv[2]), atoi(argv[3]), atof(argv[4]), &r)) {
            fprintf(stderr, "interp_bench: %s\n", ecc_ctx_message(ctx));
            rc = 1;
        } else {
            printf("%.1f %zu %zu\n", r.rate, r.workspace, r.input_bytes);
        }
    } else {
        fprintf(stderr, "usage: interp_bench [MODEL BATCH THREADS SECONDS]\n");
        rc = 2;
    }
    ecc_ctx_free(ctx);
    return rc;
}
