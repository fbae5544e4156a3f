/* fuzz_onnx_read.c — fuzz harness for the ONNX reader (and, for inputs it
 * accepts, writer + re-read). Built with libFuzzer when ECC_LIBFUZZER is
 * defined; otherwise a plain main() replays files and directories, and with
 * --mutate N also replays N deterministic mutations (bit flips, byte
 * overwrites, truncations, duplicated spans) of every file, so CI runs the
 * seeds as ordinary tests under ASan/UBSan.
 *   usage: fuzz_onnx_read [--mutate N] [--seed S] FILE|DIR...            */
#include "fuzz_checks.h"
#include "onnx_io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
static unsigned long fuzz_accepted, fuzz_rejected;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ecc_ctx *ctx = ecc_ctx_create();
    ecc_model *m = NULL;
    if (ecc_onnx_read_buffer(ctx, data, size, "fuzz", NULL, &m) == ECC_OK) {
        fuzz_accepted++;
        uint8_t *out = NULL;
        size_t out_len = 0;
        if (ecc_onnx_write_buffer(ctx, m, &out, &out_len) == ECC_OK) {
            ecc_model *again = NULL;
            ecc_status st = ecc_onnx_read_buffer(ctx, out, out_len, "fuzz-rewrite", NULL, &again);
            fuzz_reads_back(ctx, st, "the rewrite");
            ecc_model_free(again);
        }
        free(out);
    } else {
        fuzz_rejected++;
    }
    fuzz_one_line(ecc_ctx_message(ctx));
    ecc_model_free(m);
    ecc_ctx_free(ctx);
    return 0;
}

#ifndef ECC_LIBFUZZER
#define FUZZ_REPLAY_NAME "fuzz_onnx_read"
#define FUZZ_REPLAY_MAX_BYTES (64 << 20)
#include "fuzz_replay.h"
#endif
