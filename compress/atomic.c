/* atomic.c — atomic output files: temp file beside the target, fsync,
 * rename, fsync of the directory. */
#include "atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void ecc_atomic_release(ecc_atomic_file *f) {
    free(f->tmp_path);
    free(f->final_path);
    memset(f, 0, sizeof *f);
}

ecc_status ecc_atomic_open(ecc_ctx *ctx, const char *path, ecc_atomic_file *out) {
    ecc_status st = ECC_OK;
    int fd = -1;
    memset(out, 0, sizeof *out);
    struct stat sb;
    ECC_FAIL_IF(stat(path, &sb) == 0 && S_ISDIR(sb.st_mode), ctx, ECC_E_USAGE,
                "output path %s is a directory", path);
    size_t len = strlen(path);
    out->final_path = strdup(path);
    out->tmp_path = malloc(len + 32);
    ECC_FAIL_IF(!out->final_path || !out->tmp_path, ctx, ECC_E_INTERNAL, "out of memory");
    /* temp name beside the target: same directory, so rename is atomic */
    char *dup = strdup(path);
    ECC_FAIL_IF(!dup, ctx, ECC_E_INTERNAL, "out of memory");
    char *slash = strrchr(dup, '/');
    const char *base = slash ? slash + 1 : dup;
    if (slash) slash[1] = 0;
    snprintf(out->tmp_path, len + 32, "%s.%s.tmp.XXXXXX", slash ? dup : "", base);
    free(dup);
    fd = mkstemp(out->tmp_path);
    ECC_FAIL_IF(fd < 0, ctx, ECC_E_INTERNAL, "cannot create output %s: %s", path,
                strerror(errno));
    fchmod(fd, 0644);
    out->fp = fdopen(fd, "wb");
    ECC_FAIL_IF(!out->fp, ctx, ECC_E_INTERNAL, "cannot open output %s: %s", path,
                strerror(errno));
    return ECC_OK;
fail:
    if (fd >= 0) {
        close(fd);
        unlink(out->tmp_path);
    }
    ecc_atomic_release(out);
    return st;
}

static void ecc_fsync_dir(const char *path) {
    char *dup = strdup(path);
    if (!dup) return;
    int dfd = open(dirname(dup), O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    free(dup);
}

ecc_status ecc_atomic_commit(ecc_ctx *ctx, ecc_atomic_file *f) {
    ecc_status st = ECC_OK;
    ECC_FAIL_IF(!f->fp, ctx, ECC_E_INTERNAL, "internal error: output not open");
    int bad = fflush(f->fp) != 0 || ferror(f->fp) || fsync(fileno(f->fp)) != 0;
    int err = errno;
    bad |= fclose(f->fp) != 0;
    f->fp = NULL;
    ECC_FAIL_IF(bad, ctx, ECC_E_INTERNAL, "cannot write %s: %s", f->final_path,
                strerror(err ? err : EIO));
    ECC_FAIL_IF(rename(f->tmp_path, f->final_path) != 0, ctx, ECC_E_INTERNAL,
                "cannot rename output into %s: %s", f->final_path, strerror(errno));
    ecc_fsync_dir(f->final_path);
    ecc_atomic_release(f);
    return ECC_OK;
fail:
    ecc_atomic_abort(f);
    return st;
}

void ecc_atomic_abort(ecc_atomic_file *f) {
    if (f->fp) fclose(f->fp);
    if (f->tmp_path) unlink(f->tmp_path);
    ecc_atomic_release(f);
}
