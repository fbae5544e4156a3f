/* atomic.c — output files: decides how a target is written (temp file beside
 * it, fsync, rename; or a stream onto a device, pipe or standard output; or
 * refused) and keeps the replaced file's mode. */
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

static bool ecc_is_stream_mode(mode_t m) { return S_ISCHR(m) || S_ISFIFO(m); }

bool ecc_output_is_stream(const char *path) {
    struct stat sb;
    return !strcmp(path, "-") || (stat(path, &sb) == 0 && ecc_is_stream_mode(sb.st_mode));
}

static const char *ecc_kind_name(mode_t m) {
    if (S_ISDIR(m)) return "a directory";
    if (S_ISBLK(m)) return "a block device";
    if (S_ISSOCK(m)) return "a socket";
    return "not a regular file";
}

/* Mode of a new file: what open(..., 0666) would give under the umask (read
 * by setting it back at once; outputs are opened from one thread). */
static mode_t ecc_new_file_mode(void) {
    mode_t mask = umask(022);
    umask(mask);
    return 0666 & ~mask;
}

/* errno as the message says it: a failed allocation is "out of memory". */
static const char *why(int err) { return err == ENOMEM ? "out of memory" : strerror(err); }

/* The target itself: no temp file, no rename, no fsync. */
static ecc_status ecc_atomic_stream(ecc_ctx *ctx, const char *path, ecc_atomic_file *out) {
    ecc_status st = ECC_OK;
    bool is_stdout = !strcmp(path, "-");
    const char *name = is_stdout ? "standard output" : path;
    int fd = is_stdout ? dup(STDOUT_FILENO) : open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
    ECC_FAIL_IF(fd < 0, ctx, ECC_E_INTERNAL, "cannot open output %s: %s", name, why(errno));
    out->final_path = strdup(name);
    ECC_FAIL_IF(!out->final_path, ctx, ECC_E_INTERNAL, "out of memory");
    out->fp = fdopen(fd, "wb");
    ECC_FAIL_IF(!out->fp, ctx, ECC_E_INTERNAL, "cannot open output %s: %s", name,
                why(errno));
    return ECC_OK;
fail:
    if (fd >= 0) close(fd);
    ecc_atomic_release(out);
    return st;
}

/* A temp file with `mode` beside target (same directory: rename is atomic). */
static ecc_status ecc_atomic_temp(ecc_ctx *ctx, const char *target, mode_t mode,
                                  ecc_atomic_file *out) {
    ecc_status st = ECC_OK;
    int fd = -1;
    size_t len = strlen(target);
    out->final_path = strdup(target);
    out->tmp_path = malloc(len + 32);
    ECC_FAIL_IF(!out->final_path || !out->tmp_path, ctx, ECC_E_INTERNAL, "out of memory");
    const char *slash = strrchr(target, '/');
    int dlen = slash ? (int)(slash - target) + 1 : 0;
    snprintf(out->tmp_path, len + 32, "%.*s.%s.tmp.XXXXXX", dlen, target, target + dlen);
    fd = mkstemp(out->tmp_path);
    ECC_FAIL_IF(fd < 0, ctx, ECC_E_INTERNAL, "cannot create output %s: %s", target,
                why(errno));
    ECC_FAIL_IF(fchmod(fd, mode) != 0, ctx, ECC_E_INTERNAL, "cannot set the mode of %s: %s",
                out->tmp_path, why(errno));
    out->fp = fdopen(fd, "wb");
    ECC_FAIL_IF(!out->fp, ctx, ECC_E_INTERNAL, "cannot open output %s: %s", target,
                why(errno));
    return ECC_OK;
fail:
    if (fd >= 0) {
        close(fd);
        unlink(out->tmp_path);
    }
    ecc_atomic_release(out);
    return st;
}

/* An existing regular file, possibly through a symlink: the link stays, its
 * resolved target is replaced and the new file gets `mode`. */
static ecc_status ecc_atomic_replace(ecc_ctx *ctx, const char *path, mode_t mode,
                                     ecc_atomic_file *out) {
    struct stat lsb;
    if (lstat(path, &lsb) != 0 || !S_ISLNK(lsb.st_mode))
        return ecc_atomic_temp(ctx, path, mode, out);
    char *real = realpath(path, NULL);
    if (!real)
        return ecc_ctx_error(ctx, ECC_E_INTERNAL, "cannot resolve output %s: %s", path,
                             why(errno));
    ecc_status st = ecc_atomic_temp(ctx, real, mode, out);
    free(real);
    return st;
}

ecc_status ecc_atomic_open(ecc_ctx *ctx, const char *path, ecc_atomic_file *out) {
    memset(out, 0, sizeof *out);
    struct stat sb;
    if (!strcmp(path, "-")) return ecc_atomic_stream(ctx, path, out);
    if (stat(path, &sb) != 0) return ecc_atomic_temp(ctx, path, ecc_new_file_mode(), out);
    if (ecc_is_stream_mode(sb.st_mode)) return ecc_atomic_stream(ctx, path, out);
    if (!S_ISREG(sb.st_mode))
        return ecc_ctx_error(ctx, ECC_E_USAGE,
                             "output path %s is %s (write to a file, a device, a pipe or '-')",
                             path, ecc_kind_name(sb.st_mode));
    return ecc_atomic_replace(ctx, path, sb.st_mode & 0777, out); /* not setuid/setgid */
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
    bool is_file = f->tmp_path != NULL;
    int bad = fflush(f->fp) != 0 || ferror(f->fp) || (is_file && fsync(fileno(f->fp)) != 0);
    int err = errno;
    bad |= fclose(f->fp) != 0;
    f->fp = NULL;
    ECC_FAIL_IF(bad, ctx, ECC_E_INTERNAL, "cannot write %s: %s", f->final_path,
                why(err ? err : EIO));
    if (is_file) {
        ECC_FAIL_IF(rename(f->tmp_path, f->final_path) != 0, ctx, ECC_E_INTERNAL,
                    "cannot rename output into %s: %s", f->final_path, why(errno));
        ecc_fsync_dir(f->final_path);
    }
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
