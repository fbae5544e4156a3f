/* artifact_decode.c — loader decode speed on 10 MB of tensors.
 *
 * Ten float32 weights of 512×512 (10 MiB dense) are packed into one .ecc per
 * encoding (raw, int8 per-channel, int4 per-block-32, 90%-sparse int4
 * (bitmask), 2:4 float, 4-bit codebook). For each, the stand-alone loader
 * (memory source, buffers allocated once) decodes every tensor to float32;
 * throughput is float32 bytes produced per second, single thread, best of
 * several passes. Peers measured in the same run on the same data:
 * memcpy of 10 MiB, ZSTD_decompressDCtx of the very same frames (the floor
 * of any decode: our unpacking adds the rest), and parsing the equivalent
 * float ONNX model from memory (ecc's ONNX reader). Goal: >= 500 MB/s.
 * Prints a table; exit 1 if any encoding decodes below 500 MB/s. */
#include "../formats/artifact/artifact_internal.h"
#include "../formats/onnx/onnx_io.h"
#include "../tests/tools/art_quant.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zstd.h>

#define N_TENSORS 10
#define ROWS 512
#define COLS 512
#define GOAL_MBS 500.0

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t rng = 99;
static float gauss(void) { /* sum of uniforms: roughly normal, deterministic */
    float s = 0;
    for (int i = 0; i < 4; i++) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        s += (float)((rng >> 40) & 0xffffff) / (float)0xffffff - 0.5f;
    }
    return s * 0.05f;
}

static void die(ecc_ctx *ctx, const char *what) {
    fprintf(stderr, "artifact_decode: %s: %s\n", what, ctx ? ecc_ctx_message(ctx) : "");
    exit(2);
}

typedef enum { V_RAW, V_INT8, V_INT4, V_SPARSE_INT4, V_NM24, V_CODEBOOK, V_COUNT } variant;
static const char *const vnames[V_COUNT] = {"raw float32",      "int8 per-channel",
                                            "int4 per-block-32", "90% sparse int4 (bitmask)",
                                            "2:4 float32",      "4-bit codebook"};

/* A model of N_TENSORS Gemm weights (one Gemm chain keeps it valid). */
static ecc_model *build(ecc_ctx *ctx, variant v) {
    ecc_model *m = NULL;
    int64_t d[2] = {ROWS, COLS}, xd[2] = {1, COLS};
    if (ecc_model_create(ctx, &m)) die(ctx, "model");
    m->ir_version = 10;
    ecc_model_set_opset(ctx, m, "", 21);
    ecc_graph *g = m->graph;
    ecc_value *x = NULL;
    ecc_graph_add_value(ctx, g, "x", &x);
    x->flags |= ECC_VALUE_INPUT;
    ecc_ptrvec_push(&g->inputs, x);
    ecc_value_set_shape(ctx, x, ECC_DTYPE_FLOAT, 2, xd);
    rng = 99;
    for (int k = 0; k < N_TENSORS; k++) {
        char name[32], out[32];
        ecc_value *w = NULL, *y = NULL, *ins[2];
        ecc_tensor *t = NULL;
        ecc_node *n = NULL;
        snprintf(name, sizeof name, "w%d", k);
        snprintf(out, sizeof out, "y%d", k);
        ecc_graph_add_value(ctx, g, name, &w);
        ecc_tensor_create(ctx, ECC_DTYPE_FLOAT, 2, d, &t);
        float *p = t->data;
        for (int64_t i = 0; i < t->numel; i++) {
            p[i] = gauss();
            if (v == V_NM24 && (i % 4) != (i / 4) % 4 && (i % 4) != ((i / 4) + 1) % 4) p[i] = 0;
            if (v == V_CODEBOOK) p[i] = (float)((int)(p[i] * 100) % 8) * 0.01f;
        }
        ecc_graph_set_initializer(ctx, g, w, t);
        ecc_tensor_unref(t);
        ecc_graph_add_value(ctx, g, out, &y);
        ins[0] = x;
        ins[1] = w;
        if (ecc_graph_add_node(ctx, g, "Gemm", "", out, ins, 2, &y, 1, &n)) die(ctx, "node");
        ecc_node_set_attr_int(ctx, n, "transB", 1);
        x = y;
        if (v == V_SPARSE_INT4 && aq_prune(ctx, w, 0.9)) die(ctx, "prune");
        if ((v == V_INT8 && aq_attach(ctx, w, 8, ECC_QUANT_CHANNEL, 0, false, false)) ||
            ((v == V_INT4 || v == V_SPARSE_INT4) && aq_attach(ctx, w, 4, ECC_QUANT_BLOCK, 32, false, false)))
            die(ctx, "quantizer");
    }
    x->flags |= ECC_VALUE_OUTPUT;
    ecc_ptrvec_push(&g->outputs, x);
    return m;
}

typedef struct art {
    uint8_t *buf;
    size_t len;
    ecc_loader L;
    void *work;
    uint8_t *scratch;
    float *out;
} art;

static void art_open(ecc_ctx *ctx, ecc_model *m, art *a) {
    FILE *f = open_memstream((char **)&a->buf, &a->len);
    if (!f || ecc_artifact_write_stream(ctx, m, NULL, f)) die(ctx, "write");
    fclose(f);
    a->work = malloc(ecc_load_workspace_size());
    if (ecc_load_open_memory(&a->L, a->buf, a->len, a->work, ecc_load_workspace_size())) die(NULL, "open");
    a->scratch = malloc((size_t)ecc_load_max_scratch(&a->L) + 8);
    a->out = malloc((size_t)ROWS * COLS * sizeof(float));
}

static void art_close(art *a) {
    free(a->buf);
    free(a->work);
    free(a->scratch);
    free(a->out);
}

/* Seconds for one pass decoding every tensor to float32 (best of passes). */
static double time_decode(art *a, double *sum) {
    double best = 1e30;
    for (int pass = 0; pass < 7; pass++) {
        double t0 = now();
        for (uint32_t i = 0; i < ecc_load_count(&a->L); i++) {
            ecc_load_info in;
            ecc_load_info_at(&a->L, i, &in);
            if (in.e.kind != ECC_ART_KIND_TENSOR) continue;
            if (ecc_load_decode(&a->L, i, ECC_LOAD_FLOAT32, a->out, (size_t)in.float_bytes,
                                a->scratch, (size_t)ecc_load_max_scratch(&a->L), NULL))
                die(NULL, ecc_load_error(&a->L));
            *sum += a->out[i];
        }
        double t = now() - t0;
        if (t < best) best = t;
    }
    return best;
}

/* The same frames through zstd alone. */
static double time_zstd(art *a, double *sum) {
    double best = 1e30;
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    for (int pass = 0; pass < 7; pass++) {
        double t0 = now();
        for (uint32_t i = 0; i < ecc_load_count(&a->L); i++) {
            ecc_load_info in;
            ecc_load_info_at(&a->L, i, &in);
            if (in.e.kind != ECC_ART_KIND_TENSOR) continue;
            size_t r = ZSTD_decompressDCtx(dctx, a->scratch, (size_t)in.e.raw_size,
                                           a->buf + in.e.offset, (size_t)in.e.comp_size);
            if (ZSTD_isError(r)) die(NULL, "zstd");
            *sum += a->scratch[0];
        }
        double t = now() - t0;
        if (t < best) best = t;
    }
    ZSTD_freeDCtx(dctx);
    return best;
}

int main(void) {
    ecc_ctx *ctx = ecc_ctx_create();
    const double dense = (double)N_TENSORS * ROWS * COLS * sizeof(float), MB = 1e6;
    double sum = 0, best = 1e30;
    /* peers: memcpy and the ONNX reader on the float model */
    uint8_t *src = malloc((size_t)dense), *dst = malloc((size_t)dense);
    memset(src, 1, (size_t)dense);
    for (int pass = 0; pass < 7; pass++) {
        double t0 = now();
        memcpy(dst, src, (size_t)dense);
        sum += dst[pass];
        double t = now() - t0;
        if (t < best) best = t;
    }
    double memcpy_mbs = dense / best / MB;
    ecc_model *fm = build(ctx, V_RAW), *back = NULL;
    uint8_t *onnx = NULL;
    size_t onnx_len = 0;
    if (ecc_onnx_write_buffer(ctx, fm, &onnx, &onnx_len)) die(ctx, "onnx");
    best = 1e30;
    for (int pass = 0; pass < 5; pass++) {
        double t0 = now();
        if (ecc_onnx_read_buffer(ctx, onnx, onnx_len, "bench", NULL, &back)) die(ctx, "onnx read");
        double t = now() - t0;
        ecc_model_free(back);
        if (t < best) best = t;
    }
    double onnx_mbs = dense / best / MB;
    free(onnx);
    ecc_model_free(fm);
    printf("artifact_decode: %d float32 tensors of %dx%d = %.1f MB dense; single thread, best of 7\n",
           N_TENSORS, ROWS, COLS, dense / MB);
    printf("peers: memcpy %.0f MB/s; ONNX reader (float model from memory) %.0f MB/s\n\n",
           memcpy_mbs, onnx_mbs);
    printf("| encoding | .ecc bytes | zstd only MB/s | decode to float32 MB/s | vs zstd | vs ONNX read | vs memcpy |\n");
    printf("|---|---|---|---|---|---|---|\n");
    int rc = 0;
    for (int v = 0; v < V_COUNT; v++) {
        ecc_model *m = build(ctx, (variant)v);
        art a;
        memset(&a, 0, sizeof a);
        art_open(ctx, m, &a);
        double tz = time_zstd(&a, &sum), td = time_decode(&a, &sum);
        double mbs = dense / td / MB;
        printf("| %s | %zu | %.0f | %.0f | %.2fx | %.2fx | %.2fx |\n", vnames[v], a.len,
               dense / tz / MB, mbs, tz / td, mbs / onnx_mbs, mbs / memcpy_mbs);
        if (mbs < GOAL_MBS) rc = 1;
        art_close(&a);
        ecc_model_free(m);
    }
    printf("\n%s: every encoding decodes at >= %.0f MB/s of float32 output%s\n",
           rc ? "FAIL" : "ok", GOAL_MBS, sum == 12345.678 ? " " : "");
    free(src);
    free(dst);
    ecc_ctx_free(ctx);
    return rc;
}
