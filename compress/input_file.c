/* input_file.c — opening an input file for reading, only when it is a
 * regular file. A FIFO, device, socket or directory is refused before it is
 * opened (opening a FIFO for reading blocks until a writer comes; a device
 * may act on open), and the type is checked again on the opened descriptor,
 * so a path swapped between the two checks is refused too. Every reader of
 * models, data, labels, images and artifacts opens its files here. */
#include "base.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *ecc_file_kind(unsigned mode) {
    mode_t m = (mode_t)mode;
    if (S_ISREG(m)) return NULL;
    if (S_ISFIFO(m)) return "a FIFO";
    if (S_ISDIR(m)) return "a directory";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    if (S_ISSOCK(m)) return "a socket";
    if (S_ISLNK(m)) return "a symbolic link";
    return "a special file";
}

/* errno of a failed open or stat: the path's fault (2) or the system's (3). */
static ecc_status open_error(ecc_ctx *ctx, int err) {
    if (err == ENOMEM) return ecc_ctx_error(ctx, ECC_E_INTERNAL, "out of memory");
    bool input = err == ENOENT || err == ENOTDIR || err == ELOOP || err == EACCES ||
                 err == EISDIR || err == ENAMETOOLONG || err == ENXIO || err == EPERM;
    return ecc_ctx_error(ctx, input ? ECC_E_INPUT : ECC_E_INTERNAL, "cannot open: %s",
                         strerror(err));
}

static ecc_status kind_error(ecc_ctx *ctx, unsigned mode) {
    return ecc_ctx_error(ctx, ECC_E_INPUT, "is %s, not a regular file", ecc_file_kind(mode));
}

ecc_status ecc_input_check(ecc_ctx *ctx, const char *path) {
    struct stat sb;
    if (stat(path, &sb) != 0) return open_error(ctx, errno);
    if (!S_ISREG(sb.st_mode)) return kind_error(ctx, sb.st_mode);
    return ECC_OK;
}

ecc_status ecc_input_open(ecc_ctx *ctx, const char *path, int *fd, int64_t *size) {
    ecc_status st = ECC_OK;
    struct stat sb;
    *fd = -1;
    ECC_TRY(ecc_input_check(ctx, path));
    /* O_NONBLOCK: should the path have become a FIFO since the stat, the
     * open returns at once and the fstat below refuses it */
    *fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (*fd < 0) return open_error(ctx, errno);
    ECC_FAIL_IF(fstat(*fd, &sb) != 0, ctx, ECC_E_INTERNAL, "cannot stat: %s", strerror(errno));
    if (!S_ISREG(sb.st_mode)) {
        st = kind_error(ctx, sb.st_mode);
        goto fail;
    }
    int flags = fcntl(*fd, F_GETFL);
    ECC_FAIL_IF(flags < 0 || fcntl(*fd, F_SETFL, flags & ~O_NONBLOCK) != 0, ctx, ECC_E_INTERNAL,
                "cannot set blocking mode: %s", strerror(errno));
    if (size) *size = (int64_t)sb.st_size;
    return ECC_OK;
fail:
    close(*fd);
    *fd = -1;
    return st;
}

ecc_status ecc_input_fopen(ecc_ctx *ctx, const char *path, FILE **out, int64_t *size) {
    int fd;
    *out = NULL;
    ecc_status st = ecc_input_open(ctx, path, &fd, size);
    if (st != ECC_OK) return st;
    *out = fdopen(fd, "rb");
    if (!*out) {
        int err = errno;
        close(fd);
        return err == ENOMEM ? ECC_OOM(ctx)
                             : ecc_ctx_error(ctx, ECC_E_INTERNAL, "cannot open: %s",
                                             strerror(err));
    }
    return ECC_OK;
}
