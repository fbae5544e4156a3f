/* artifact_sizes.c — measures the .ecc artifact on the testdata models:
 * file size and ratio against the float ONNX file, zstd's saving over the
 * packed-but-uncompressed tensors, and (with --eval N) the Fashion-MNIST
 * accuracy of the model read back from the artifact (dequantized).
 *
 *   artifact_sizes [--eval N] [--models mlp,cnn,transformer] [--keep DIR]
 *
 * Variants per model (pruning by the `prune` pass, weight quantizers attached
 * as annotations the way `quant-weight` will, symmetric, zero point 0):
 *   lossless          the model as is
 *   prune90           prune:sparsity=0.9 (heads and tiny layers stay dense)
 *   prune90+int4b32   … + int4 per-block-32 quantizers on every weight layer
 *   prune90+int4b32h  … the same with float16-representable scales
 *   prune90+int4ch    … + int4 per-channel quantizers
 *   prune90+cluster4  prune:sparsity=0.9,cluster:bits=4
 *   int8ch            int8 per-channel quantizers, no pruning
 * Prints one table row per (model, variant). Exit 0, or 2 on any error. */
#include "art_quant.h"
#include "../../formats/artifact/artifact_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FMNIST "/usr/share/datasets/fashion-mnist/"

typedef struct variant {
    const char *name;
    const char *pipeline;      /* run first ("" none) */
    int bits, gran, block;     /* quantizers to attach (bits 0: none) */
    bool f16;
} variant;

static const variant variants[] = {
    {"lossless", "", 0, 0, 0, false},
    {"prune90", "prune:sparsity=0.9", 0, 0, 0, false},
    {"prune90+int4b32", "prune:sparsity=0.9", 4, ECC_QUANT_BLOCK, 32, false},
    {"prune90+int4b32h", "prune:sparsity=0.9", 4, ECC_QUANT_BLOCK, 32, true},
    {"prune90+int4ch", "prune:sparsity=0.9", 4, ECC_QUANT_CHANNEL, 0, false},
    {"prune90+cluster4", "prune:sparsity=0.9,cluster:bits=4", 0, 0, 0, false},
    {"int8ch", "", 8, ECC_QUANT_CHANNEL, 0, false},
};

static long long file_size(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 ? (long long)sb.st_size : -1;
}

static ecc_status run_pipeline(ecc_ctx *ctx, ecc_model *m, const char *spec) {
    ecc_registry *reg = NULL;
    ecc_pipeline *pl = NULL;
    ecc_run_env env = {sizeof env, NULL, 0};
    ecc_status st = ecc_registry_create(ctx, &reg);
    if (!st) st = ecc_pipeline_parse(ctx, reg, spec, &pl);
    if (!st) st = ecc_pipeline_run(ctx, pl, m, &env, NULL);
    ecc_pipeline_free(pl);
    ecc_registry_free(reg);
    return st;
}

/* Quantizers on every float32 weight read by Gemm/MatMul/Conv. */
static ecc_status attach_all(ecc_ctx *ctx, ecc_model *m, const variant *v) {
    for (size_t i = 0; i < m->graph->inits.n; i++) {
        ecc_value *w = m->graph->inits.items[i];
        int r, o;
        if (!w->init || w->init->dtype != ECC_DTYPE_FLOAT || w->init->rank < 2 ||
            !aq_weight_axes(w, &r, &o))
            continue;
        ecc_status st = aq_attach(ctx, w, v->bits, v->gran, v->block, v->f16, false);
        if (st) return st;
    }
    return ECC_OK;
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
    if (!st && v->bits) st = attach_all(ctx, m, v);
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
