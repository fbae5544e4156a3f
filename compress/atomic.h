/* atomic.h — atomic output files: write to a temp file in the target
 * directory, fsync, rename over the target. A failed or interrupted run never
 * leaves a partial output. */
#ifndef ECC_ATOMIC_H
#define ECC_ATOMIC_H

#include "base.h"

typedef struct ecc_atomic_file {
    FILE *fp;          /* write here */
    char *tmp_path;    /* malloc'd */
    char *final_path;  /* malloc'd */
} ecc_atomic_file;

/* Opens a temp file beside path. On error nothing is created. */
ecc_status ecc_atomic_open(ecc_ctx *ctx, const char *path, ecc_atomic_file *out);
/* Flushes, fsyncs, closes and renames into place (then fsyncs the directory).
 * On error the temp file is removed. Always releases f. */
ecc_status ecc_atomic_commit(ecc_ctx *ctx, ecc_atomic_file *f);
/* Closes and removes the temp file; safe on a zeroed or released f. */
void ecc_atomic_abort(ecc_atomic_file *f);

#endif
