/* fuzz_pipeline.c — fuzz harness for what comes after the reader: every
 * model the reader accepts is run (zero inputs, batch 1) in the interpreter
 * and then through each pipeline below: data-free ones (folding, magnitude
 * and N:M pruning, channel pruning, equalization, clustering, dynamic and
 * weight-only quantization, lowering, and the lossless rewrite with
 * --short-names) and, for a model with one float32 input and one input in
 * FUZZ_CALIB_EVERY, calibrated ones on a few generated samples (static quant
 * with entropy histograms, sensitivity and fallback; Wanda with scope=auto;
 * SparseGPT 2:4 with GPTQ; activation-criterion channel pruning with bias
 * correction); what a pipeline writes must read back. Errors are fine;
 * crashes, sanitizer reports, multi-line messages and unreadable outputs are
 * not. Built with libFuzzer when ECC_LIBFUZZER is defined; otherwise a plain
 * main() replays files and directories (and with --mutate N, N
 * deterministic mutations of each), so CI runs the seeds under ASan/UBSan.
 *   usage: fuzz_pipeline [--mutate N] [--seed S] FILE|DIR...               */
#include "../../calibrate/data.h"
#include "dtype.h"
#include "fuzz_checks.h"
#include "onnx_io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
static unsigned long fuzz_accepted, fuzz_rejected;

typedef struct fuzz_pipeline {
    const char *spec;
    bool short_names; /* rename as `compress --short-names` before writing */
    bool calib;       /* needs calibration data (single float input models only) */
} fuzz_pipeline;

static const fuzz_pipeline pipelines[] = {
    {"normalize,fold-constants,fold-bn,dce", false, false},
    {"prune:sparsity=0.5:min_params=0:head=true,quant:mode=dynamic", false, false},
    {"prune:pattern=2:4:min_params=0,quant-weight:bits=4", false, false},
    {"prune-channel:ratio=0.5", false, false},
    {"equalize,cluster:bits=2:min_size=1", false, false},
    {"quant-weight:bits=8:block=channel:scheme=asym", false, false},
    {"quant-weight:bits=8:block=tensor,quant-const:min_size=2:scheme=asym", false, false},
    {"", true, false},
    {"quant:method=entropy:sensitivity=true:fallback=auto:max_drop=0", false, true},
    {"prune:method=wanda:min_params=0:head=true:scope=auto,quant:activations=int8", false, true},
    {"prune:method=sparsegpt:pattern=2:4:min_params=0,quant-weight:method=gptq:act_order=true",
     false, true},
    {"prune-channel:criterion=activation:bias_correct=true,quant-const:min_size=2", false, true},
};

/* Samples of calibration data written for a model whose batch is free. */
#define FUZZ_CALIB_SAMPLES 3

/* The calibrated pipelines cost ~50× the data-free ones, so they run on one
 * input in FUZZ_CALIB_EVERY (by a hash of its bytes, so a replay is
 * deterministic; the environment variable of that name overrides the
 * default 16, 0 turns them off, 1 runs them on every input). */
static bool calib_wanted(const uint8_t *data, size_t size) {
    static long every = -1;
    if (every < 0) {
        const char *e = getenv("FUZZ_CALIB_EVERY");
        every = e && *e ? strtol(e, NULL, 10) : 16;
        if (every < 0) every = 0;
    }
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (size_t i = 0; i < size; i++) h = (h ^ data[i]) * 0x100000001b3ull;
    return every > 0 && h % (uint64_t)every == 0;
}

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

/* A temp .npy of calibration samples for m's only input, float32 values in
 * [-1, 1) from a fixed sequence (FUZZ_CALIB_SAMPLES when the first dim is
 * free), or false when m has not exactly one float32 input of a size to
 * feed. */
static bool write_calib(ecc_ctx *ctx, const ecc_model *m, char *path, size_t cap) {
    ecc_session *s = NULL;
    ecc_array shape, a;
    ecc_npy_writer *w = NULL;
    bool ok = false;
    if (ecc_session_create(ctx, m, NULL, &s) != ECC_OK || ecc_session_input_count(s) != 1) goto done;
    ecc_session_input(s, 0, &shape);
    if (shape.dtype != ECC_DTYPE_FLOAT || shape.rank < 1) goto done;
    if (shape.dims[0] < 0) shape.dims[0] = FUZZ_CALIB_SAMPLES;
    if (!zero_input(&shape, &a)) goto done;
    uint32_t x = 12345;
    for (size_t i = 0; i < a.nbytes / sizeof(float); i++) {
        x = x * 1664525u + 1013904223u;
        ((float *)a.data)[i] = (float)(x >> 8) / (float)(1u << 23) - 1.0f;
    }
    ecc_rt_tensor t = {a.dtype, a.rank, {0}, a.data, a.nbytes};
    memcpy(t.dims, a.dims, sizeof t.dims);
    snprintf(path, cap, "%s/ecc_fuzz_calib_%ld.npy", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
             (long)getpid());
    ok = ecc_npy_writer_open(ctx, path, &w) == ECC_OK &&
         ecc_npy_writer_append(ctx, w, &t) == ECC_OK && ecc_npy_writer_commit(ctx, w) == ECC_OK;
    if (!ok && w) ecc_npy_writer_abort(w);
    free(a.data);
done:
    ecc_session_free(s);
    ecc_ctx_clear(ctx);
    return ok;
}

static void run_pipeline(const uint8_t *data, size_t size, const ecc_registry *reg,
                         const fuzz_pipeline *p, const char *calib) {
    const char *spec = p->spec;
    ecc_ctx *ctx = quiet_ctx();
    ecc_model *m = NULL, *again = NULL;
    ecc_pipeline *pl = NULL;
    ecc_run_env env = {sizeof env, calib, 0};
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
        char calib[512];
        bool have_calib = calib_wanted(data, size) && write_calib(ctx, m, calib, sizeof calib);
        for (size_t i = 0; i < sizeof pipelines / sizeof pipelines[0]; i++)
            if (!pipelines[i].calib || have_calib)
                run_pipeline(data, size, reg, &pipelines[i], pipelines[i].calib ? calib : NULL);
        if (have_calib) remove(calib);
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
