/* fuzz_pipeline.c — fuzz harness for what comes after the reader: every
 * model the reader accepts is run (zero inputs, batch 1) in the interpreter
 * and then through each data-free pipeline below (folding, magnitude and
 * N:M pruning, channel pruning, equalization, clustering, dynamic and
 * weight-only quantization, lowering, and the lossless rewrite with
 * --short-names); what a pipeline writes must read back. Errors are fine;
 * crashes, sanitizer reports, multi-line messages and unreadable outputs are
 * not. Built with libFuzzer when ECC_LIBFUZZER is
 * defined; otherwise a plain main() replays files and directories (and with
 * --mutate N, N deterministic mutations of each), so CI runs the seeds under
 * ASan/UBSan.
 *   usage: fuzz_pipeline [--mutate N] [--seed S] FILE|DIR...               */
#include "dtype.h"
#include "fuzz_checks.h"
#include "onnx_io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
static unsigned long fuzz_accepted, fuzz_rejected;

typedef struct fuzz_pipeline {
    const char *spec;
    bool short_names; /* rename as `compress --short-names` before writing */
} fuzz_pipeline;

static const fuzz_pipeline pipelines[] = {
    {"normalize,fold-constants,fold-bn,dce", false},
    {"prune:sparsity=0.5:min_params=0:head=true,quant:mode=dynamic", false},
    {"prune:pattern=2:4:min_params=0,quant-weight:bits=4", false},
    {"prune-channel:ratio=0.5", false},
    {"equalize,cluster:bits=2:min_size=1", false},
    {"quant-weight:bits=8:block=channel:scheme=asym", false},
    {"quant-weight:bits=8:block=tensor,quant-const:min_size=2:scheme=asym", false},
    {"", true},
};

/* Largest input (elements) the interpreter is given; bigger ones are skipped. */
#define FUZZ_INPUT_MAX ((int64_t)1 << 16)

static ecc_ctx *quiet_ctx(void) {
    ecc_ctx *ctx = ecc_ctx_create();
    if (!ctx) abort();
    ecc_ctx_set_verbosity(ctx, -1);
    return ctx;
}

/* Zero-filled array of the input's type and shape (symbolic dims 1), or
 * false when its type, shape or size is not one to feed. */
static bool zero_input(const ecc_array *shape, ecc_array *a) {
    int64_t n = 1;
    if (shape->rank < 0 || shape->rank > ECC_ARRAY_MAX_RANK) return false;
    *a = *shape;
    for (int32_t d = 0; d < a->rank; d++) {
        if (a->dims[d] < 0) a->dims[d] = 1;
        if (a->dims[d] > FUZZ_INPUT_MAX) return false;
        n *= a->dims[d];
        if (n > FUZZ_INPUT_MAX) return false;
    }
    if (!ecc_dtype_nbytes(a->dtype, n, &a->nbytes) || a->nbytes == 0) return false;
    a->data = calloc(a->nbytes + 1, 1);
    return a->data != NULL;
}

static void run_once(ecc_ctx *ctx, const ecc_model *m) {
    ecc_session *s = NULL;
    ecc_session_options so = {sizeof so, 1, 1};
    if (ecc_session_create(ctx, m, &so, &s) != ECC_OK) return;
    size_t n = ecc_session_input_count(s), ok = 0;
    ecc_array *in = calloc(n + 1, sizeof *in);
    for (size_t i = 0; in && i < n; i++) {
        ecc_array shape;
        ecc_session_input(s, i, &shape);
        if (!zero_input(&shape, &in[i])) break;
        ok++;
    }
    if (in && ok == n) ecc_session_run(ctx, s, in, n);
    for (size_t i = 0; in && i < ok; i++) free(in[i].data);
    free(in);
    ecc_session_free(s);
}

static void run_pipeline(const uint8_t *data, size_t size, const ecc_registry *reg,
                         const fuzz_pipeline *p) {
    const char *spec = p->spec;
    ecc_ctx *ctx = quiet_ctx();
    ecc_model *m = NULL, *again = NULL;
    ecc_pipeline *pl = NULL;
    ecc_run_env env = {sizeof env, NULL, 0};
    uint8_t *out = NULL;
    size_t out_len = 0;
    if (ecc_onnx_read_buffer(ctx, data, size, "fuzz", NULL, &m) == ECC_OK &&
        ecc_pipeline_parse(ctx, reg, spec, &pl) == ECC_OK &&
        ecc_pipeline_check(ctx, pl, &env) == ECC_OK &&
        ecc_pipeline_run(ctx, pl, m, &env, NULL) == ECC_OK &&
        (!p->short_names || ecc_model_shorten_names(ctx, m) == ECC_OK) &&
        ecc_onnx_write_buffer(ctx, m, &out, &out_len) == ECC_OK)
        fuzz_reads_back(ctx, ecc_onnx_read_buffer(ctx, out, out_len, "fuzz-rewrite", NULL, &again),
                        spec);
    fuzz_one_line(ecc_ctx_message(ctx));
    free(out);
    ecc_model_free(again);
    ecc_pipeline_free(pl);
    ecc_model_free(m);
    ecc_ctx_free(ctx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static ecc_registry *reg;
    ecc_ctx *ctx = quiet_ctx();
    ecc_model *m = NULL;
    if (!reg && ecc_registry_create(ctx, &reg) != ECC_OK) abort();
    if (ecc_onnx_read_buffer(ctx, data, size, "fuzz", NULL, &m) != ECC_OK) {
        fuzz_rejected++;
        fuzz_one_line(ecc_ctx_message(ctx));
    } else {
        fuzz_accepted++;
        run_once(ctx, m);
        fuzz_one_line(ecc_ctx_message(ctx));
        for (size_t i = 0; i < sizeof pipelines / sizeof pipelines[0]; i++)
            run_pipeline(data, size, reg, &pipelines[i]);
    }
    ecc_model_free(m);
    ecc_ctx_free(ctx);
    return 0;
}

#ifndef ECC_LIBFUZZER
#define FUZZ_REPLAY_NAME "fuzz_pipeline"
#define FUZZ_REPLAY_MAX_BYTES (64 << 20)
#include "fuzz_replay.h"
#endif
