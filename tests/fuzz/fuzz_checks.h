/* fuzz_checks.h — the invariants every fuzz harness asserts, as abort()s so
 * libFuzzer and the replays (fuzz_replay.h) report them as crashes: an error
 * message is one line, and what a writer produced reads back. */
#ifndef ECC_FUZZ_CHECKS_H
#define ECC_FUZZ_CHECKS_H

#include "ecc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline void fuzz_one_line(const char *msg) {
    if (strchr(msg, '\n')) abort();
}

/* st is the status of re-reading what `what` wrote. */
static inline void fuzz_reads_back(ecc_ctx *ctx, ecc_status st, const char *what) {
    if (st == ECC_OK) return;
    fprintf(stderr, "%s does not read back: %s\n", what, ecc_ctx_message(ctx));
    abort();
}

#endif
