/* artifact_sizes.c — measures the .ecc artifact on the testdata models:
 * file size and ratio against the float ONNX file, zstd's saving over the
 * packed-but-uncompressed tensors, and (with --eval N) the Fashion-MNIST
 * accuracy of the model read back from the artifact (dequantized).
 *
 *   artifact_sizes [--eval N] [--models mlp,cnn,transformer] [--keep DIR]
 *
 * Variants per model, each the real pipeline (pruning without fine-tuning;
 * heads and tiny layers stay dense; calibration: 256 training images):
 *   lossless          the model as is
 *   prune90           prune:sparsity=0.9
 *   prune90+int4      … ,quant-weight:bits=4 (block=auto: per channel here)
 *   prune90+int4b32   … ,quant-weight:bits=4:block=32
 *   sgpt90+int4       prune:method=sparsegpt:sparsity=0.9,quant-weight:bits=4
 *   prune90+cluster4  prune:sparsity=0.9,cluster:bits=4
 *   int8ch            quant-weight:bits=8:block=channel
 * Prints one table row per (model, variant). Exit 0, or 2 on any error. */
#include "../../compress/ecc.h"
#include "../../formats/artifact/artifact_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FMNIST "/usr/share/datasets/fashion-mnist/"
#define CALIB_SIZE 256

typedef struct variant {
    const char *name;
    const char *pipeline;      /* "" none */
} variant;

static const variant variants[] = {
    {"lossless", ""},
    {"prune90", "prune:sparsity=0.9"},
    {"prune90+int4", "prune:sparsity=0.9,quant-weight:bits=4"},
    {"prune90+int4b32", "prune:sparsity=0.9,quant-weight:bits=4:block=32"},
    {"sgpt90+int4", "prune:method=sparsegpt:sparsity=0.9,quant-weight:bits=4"},
    {"prune90+cluster4", "prune:sparsity=0.9,cluster:bits=4"},
    {"int8ch", "quant-weight:bits=8:block=channel"},
};

static long long file_size(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 ? (long long)sb.st_size : -1;
}

static ecc_status run_pipeline(ecc_ctx *ctx, ecc_model *m, const char *spec) {
    ecc_registry *reg = NULL;
    ecc_pipeline *pl = NULL;
    ecc_run_env env = {sizeof env, FMNIST "train-images-idx3-ubyte.gz", CALIB_SIZE};
    ecc_status st = ecc_registry_create(ctx, &reg);
    if (!st) st = ecc_pipeline_parse(ctx, reg, spec, &pl);
    if (!st) st = ecc_pipeline_check(ctx, pl, &env);
    if (!st) st = ecc_pipeline_run(ctx, pl, m, &env, NULL);
    ecc_pipeline_free(pl);
    ecc_registry_free(reg);
    return st;
}

/* Sums of packed (raw) and stored (frame) bytes over the tensor entries. */
static ecc_status entry_sums(ecc_ctx *ctx, const char *path, double *packed, double *stored) {
    const uint8_t *p;
    size_t n;
    ecc_loader L;
    void *work = malloc(ecc_load_workspace_size());
    ecc_status st = work ? ecc_art_map(ctx, path, &p, &n) : ECC_E_INTERNAL;
    *packed = *stored = 0;
    if (st) {
        free(work);
        return st;
    }
    int rc = ecc_load_open_memory(&L, p, n, work, ecc_load_workspace_size());
    for (uint32_t i = 0; !rc && i < ecc_load_count(&L); i++) {
        ecc_load_info in;
        if ((rc = ecc_load_info_at(&L, i, &in))) break;
        if (in.e.kind != ECC_ART_KIND_TENSOR) continue;
        *packed += (double)in.e.raw_size;
        *stored += (double)in.e.comp_size;
    }
    if (rc) st = ecc_art_load_status(ctx, &L, rc);
    ecc_art_unmap(p, n);
    free(work);
    return st;
}

static ecc_status accuracy(ecc_ctx *ctx, const char *path, int64_t n, double *acc) {
    ecc_model *m = NULL;
    ecc_artifact_read_options ro = {sizeof ro, true};
    const char *data[1] = {FMNIST "t10k-images-idx3-ubyte.gz"};
    ecc_data_options d = {sizeof d};
    d.limit = n;
    ecc_eval_result r;
    ecc_status st = ecc_artifact_read(ctx, path, &ro, &m);
    if (!st) st = ecc_eval(ctx, m, data, 1, FMNIST "t10k-labels-idx1-ubyte.gz", &d, NULL, NULL, 0, &r);
    if (!st) *acc = r.accuracy;
    ecc_model_free(m);
    return st;
}

static int measure(ecc_ctx *ctx, const char *model, const variant *v, int64_t eval_n,
                   const char *dir) {
    char path[1024], src[512];
    ecc_model *m = NULL;
    double packed, stored, acc = -1;
    snprintf(src, sizeof src, "testdata/%s.onnx", model);
    snprintf(path, sizeof path, "%s/%s_%s.ecc", dir, model, v->name);
    ecc_status st = ecc_model_read(ctx, src, &m);
    if (!st && v->pipeline[0]) st = run_pipeline(ctx, m, v->pipeline);
    ecc_write_options wo = {sizeof wo, false, 0, NULL, ECC_FORMAT_ECC, v->pipeline, 0};
    if (!st) st = ecc_model_write(ctx, m, path, &wo);
    if (!st) st = entry_sums(ctx, path, &packed, &stored);
    if (!st && eval_n) st = accuracy(ctx, path, eval_n, &acc);
    ecc_model_free(m);
    if (st) {
        fprintf(stderr, "artifact_sizes: %s %s: %s\n", model, v->name, ecc_ctx_message(ctx));
        return 2;
    }
    long long in = file_size(src), out = file_size(path);
    printf("| %-11s | %-17s | %9lld | %8lld | %6.1fx | %9.0f | %9.0f | %5.1f%% |", model, v->name,
           in, out, (double)in / (double)out, packed, stored, 100.0 * (1.0 - stored / packed));
    if (acc >= 0) printf(" %6.2f%% |", 100.0 * acc);
    printf("\n");
    return 0;
}

int main(int argc, char **argv) {
    int64_t eval_n = 0;
    const char *models = "mlp,cnn,transformer", *keep = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--eval") && i + 1 < argc) eval_n = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--models") && i + 1 < argc) models = argv[++i];
        else if (!strcmp(argv[i], "--keep") && i + 1 < argc) keep = argv[++i];
        else {
            fprintf(stderr, "usage: artifact_sizes [--eval N] [--models a,b] [--keep DIR]\n");
            return 1;
        }
    }
    char tmp[] = "/tmp/ecc_sizes_XXXXXX";
    const char *dir = keep ? keep : mkdtemp(tmp);
    if (!dir) return 2;
    ecc_ctx *ctx = ecc_ctx_create();
    ecc_ctx_set_verbosity(ctx, -1);
    printf("| model       | variant           | onnx B    | ecc B    | ratio   | packed B  | stored B  | zstd   |%s\n",
           eval_n ? " accuracy |" : "");
    printf("|---|---|---|---|---|---|---|---|%s\n", eval_n ? "---|" : "");
    int rc = 0;
    char list[256];
    snprintf(list, sizeof list, "%s", models);
    for (char *save = NULL, *mdl = strtok_r(list, ",", &save); mdl; mdl = strtok_r(NULL, ",", &save))
        for (size_t k = 0; k < sizeof variants / sizeof variants[0]; k++)
            rc |= measure(ctx, mdl, &variants[k], eval_n, dir);
    ecc_ctx_free(ctx);
    if (!keep) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0) rc |= 2;
    }
    return rc;
}
