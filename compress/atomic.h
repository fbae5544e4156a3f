/* atomic.h — output files. Every output of ecc goes through here; what
 * happens depends on the target `path`:
 *   - absent: a temp file `.<name>.tmp.XXXXXX` is created beside it with mode
 *     0666 & ~umask, written, fsynced and renamed into place (then the
 *     directory is fsynced). A failed or interrupted run leaves nothing.
 *   - a regular file: the same, and the new file keeps the old one's
 *     permission bits. Through a symlink, the temp file goes beside the
 *     resolved target and replaces it; the link stays a link.
 *   - "-": standard output, written as a stream.
 *   - a character device or a FIFO (also through a symlink, e.g. /dev/null,
 *     /dev/stdout): opened O_WRONLY and written as a stream — no temp file,
 *     no rename, no fsync, never replaced. A FIFO without a reader blocks the
 *     open; a failed run may have written part of the output.
 *   - anything else (directory, block device, socket): refused, ECC_E_USAGE.
 * Write errors (ENOSPC, EFBIG, EPIPE with SIGPIPE ignored) are ECC_E_INTERNAL
 * naming the target, and a temp file is removed. */
#ifndef ECC_ATOMIC_H
#define ECC_ATOMIC_H

#include "base.h"

typedef struct ecc_atomic_file {
    FILE *fp;          /* write here */
    char *tmp_path;    /* malloc'd; NULL for a stream */
    char *final_path;  /* malloc'd: the file renamed into, or the stream's name */
} ecc_atomic_file;

/* Opens the output for path (see above). On error nothing is created. */
ecc_status ecc_atomic_open(ecc_ctx *ctx, const char *path, ecc_atomic_file *out);
/* Flushes and closes; for a file also fsyncs and renames into place (then
 * fsyncs the directory). On error the temp file is removed. Always releases f. */
ecc_status ecc_atomic_commit(ecc_ctx *ctx, ecc_atomic_file *f);
/* Closes and removes the temp file; safe on a zeroed or released f. */
void ecc_atomic_abort(ecc_atomic_file *f);

#endif
