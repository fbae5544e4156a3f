/* external.c — loading external tensor data. The location is resolved under
 * the model's directory one component at a time with openat(O_NOFOLLOW):
 * absolute paths, "..", symbolic links anywhere on the path, hard-linked
 * files, non-regular files and ranges past the end of the file are refused. */
#include "onnx_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct ext_ref {
    const char *location;
    int64_t offset;
    int64_t length;
    bool has_length;
} ext_ref;

bool ecc_onnx_parse_u63(const char *s, int64_t *out) {
    int64_t v = 0;
    if (!s || !*s) return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return false;
        if (!ecc_mul_i64(v, 10, &v) || !ecc_add_i64(v, *s - '0', &v)) return false;
    }
    *out = v;
    return true;
}

static ecc_status ext_parse(ecc_ctx *ctx, const char *tname,
                            Onnx__StringStringEntryProto *const *kv, size_t n, ext_ref *ref) {
    ecc_status st = ECC_OK;
    *ref = (ext_ref){0};
    for (size_t i = 0; i < n; i++) {
        const char *k = kv[i]->key ? kv[i]->key : "", *v = kv[i]->value ? kv[i]->value : "";
        if (!strcmp(k, "location")) ref->location = v;
        if (!strcmp(k, "offset"))
            ECC_FAIL_IF(!ecc_onnx_parse_u63(v, &ref->offset), ctx, ECC_E_INPUT,
                        "tensor '%s': external data offset '%s' is not a non-negative integer",
                        ECC_Q(tname), ECC_Q(v));
        if (!strcmp(k, "length")) {
            ECC_FAIL_IF(!ecc_onnx_parse_u63(v, &ref->length), ctx, ECC_E_INPUT,
                        "tensor '%s': external data length '%s' is not a non-negative integer",
                        ECC_Q(tname), ECC_Q(v));
            ref->has_length = true;
        }
    }
    ECC_FAIL_IF(!ref->location || !*ref->location, ctx, ECC_E_INPUT,
                "tensor '%s': external data without a location", ECC_Q(tname));
    return ECC_OK;
fail:
    return st;
}

/* Syntactic checks: relative, no "..", names a file. */
static ecc_status ext_check_location(ecc_ctx *ctx, const char *tname, const char *loc) {
    ecc_status st = ECC_OK;
    ECC_FAIL_IF(loc[0] == '/', ctx, ECC_E_INPUT,
                "tensor '%s': external data location '%s' is an absolute path", ECC_Q(tname),
                ECC_Q(loc));
    bool named = false;
    for (const char *p = loc; *p;) {
        size_t n = strcspn(p, "/");
        ECC_FAIL_IF(n == 2 && p[0] == '.' && p[1] == '.', ctx, ECC_E_INPUT,
                    "tensor '%s': external data location '%s' escapes the model directory",
                    ECC_Q(tname), ECC_Q(loc));
        named = n > 0 && !(n == 1 && p[0] == '.');
        p += n;
        while (*p == '/')
            p++;
    }
    ECC_FAIL_IF(!named, ctx, ECC_E_INPUT,
                "tensor '%s': external data location '%s' does not name a file", ECC_Q(tname),
                ECC_Q(loc));
    return ECC_OK;
fail:
    return st;
}

/* Error for a failed openat of component `comp` under dirfd. */
static ecc_status ext_open_error(ecc_ctx *ctx, int dirfd, const char *comp, int err,
                                 const char *tname, const char *loc) {
    struct stat sb;
    if (fstatat(dirfd, comp, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(sb.st_mode))
        return ecc_ctx_error(ctx, ECC_E_INPUT,
                             "tensor '%s': external data location '%s' goes through symbolic "
                             "link '%s' (refused)",
                             ECC_Q(tname), ECC_Q(loc), ECC_Q(comp));
    return ecc_ctx_error(ctx, ECC_E_INPUT, "tensor '%s': cannot open external data '%s': %s",
                         ECC_Q(tname), ECC_Q(loc), strerror(err));
}

/* Opens loc under base_dir, walking components without following links. */
static ecc_status ext_open(ecc_ctx *ctx, const char *base_dir, const char *tname, const char *loc,
                           int *out_fd) {
    ecc_status st = ECC_OK;
    int dirfd = -1, fd = -1;
    char *path = strdup(loc);
    ECC_FAIL_IF(!path, ctx, ECC_E_INTERNAL, "out of memory");
    dirfd = open(base_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ECC_FAIL_IF(dirfd < 0, ctx, ECC_E_INPUT, "cannot open model directory '%s': %s",
                ECC_Q(base_dir), strerror(errno));
    char *save = NULL;
    char *comp = strtok_r(path, "/", &save);
    while (comp) {
        char *next = strtok_r(NULL, "/", &save);
        if (!strcmp(comp, ".")) {
            comp = next;
            continue;
        }
        int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY;
        flags |= next ? O_DIRECTORY : O_NONBLOCK;
        int nfd = openat(dirfd, comp, flags);
        if (nfd < 0) {
            st = ext_open_error(ctx, dirfd, comp, errno, tname, loc);
            goto fail;
        }
        if (next) {
            close(dirfd);
            dirfd = nfd;
        } else {
            fd = nfd;
        }
        comp = next;
    }
    ECC_FAIL_IF(fd < 0, ctx, ECC_E_INPUT,
                "tensor '%s': external data location '%s' does not name a file", ECC_Q(tname),
                ECC_Q(loc));
    *out_fd = fd;
    fd = -1;
fail:
    if (fd >= 0) close(fd);
    if (dirfd >= 0) close(dirfd);
    free(path);
    return st;
}

/* File kind, link count and range checks on the opened file. */
static ecc_status ext_check_file(ecc_ctx *ctx, int fd, const char *tname, const ext_ref *ref,
                                 size_t nbytes) {
    ecc_status st = ECC_OK;
    struct stat sb;
    const char *loc = ref->location;
    ECC_FAIL_IF(fstat(fd, &sb) != 0, ctx, ECC_E_INTERNAL, "tensor '%s': cannot stat '%s': %s",
                ECC_Q(tname), ECC_Q(loc), strerror(errno));
    ECC_FAIL_IF(!S_ISREG(sb.st_mode), ctx, ECC_E_INPUT,
                "tensor '%s': external data '%s' is not a regular file", ECC_Q(tname), ECC_Q(loc));
    ECC_FAIL_IF(sb.st_nlink != 1, ctx, ECC_E_INPUT,
                "tensor '%s': external data '%s' has %lu hard links (refused: it may point "
                "outside the model directory)",
                ECC_Q(tname), ECC_Q(loc), (unsigned long)sb.st_nlink);
    ECC_FAIL_IF(ref->has_length && (uint64_t)ref->length != nbytes, ctx, ECC_E_INPUT,
                "tensor '%s': external data length %lld does not match the %zu bytes its "
                "dims need",
                ECC_Q(tname), (long long)ref->length, nbytes);
    int64_t end;
    ECC_FAIL_IF(nbytes > (size_t)INT64_MAX || !ecc_add_i64(ref->offset, (int64_t)nbytes, &end), ctx,
                ECC_E_INPUT, "tensor '%s': external data offset %lld + length %zu overflows",
                ECC_Q(tname), (long long)ref->offset, nbytes);
    ECC_FAIL_IF(end > (int64_t)sb.st_size, ctx, ECC_E_INPUT,
                "tensor '%s': external data offset %lld + length %zu is past the end of '%s' "
                "(%lld bytes)",
                ECC_Q(tname), (long long)ref->offset, nbytes, ECC_Q(loc), (long long)sb.st_size);
    return ECC_OK;
fail:
    return st;
}

static ecc_status ext_read(ecc_ctx *ctx, int fd, const char *tname, const ext_ref *ref,
                           size_t nbytes, void **out) {
    ecc_status st = ECC_OK;
    uint8_t *buf = malloc(nbytes ? nbytes : 1);
    ECC_FAIL_IF(!buf, ctx, ECC_E_INTERNAL, "tensor '%s': out of memory (%zu bytes)", ECC_Q(tname),
                nbytes);
    size_t done = 0;
    while (done < nbytes) {
        ssize_t r = pread(fd, buf + done, nbytes - done, (off_t)(ref->offset + (int64_t)done));
        if (r < 0 && errno == EINTR) continue;
        ECC_FAIL_IF(r < 0, ctx, ECC_E_INTERNAL, "tensor '%s': reading '%s': %s", ECC_Q(tname),
                    ECC_Q(ref->location), strerror(errno));
        ECC_FAIL_IF(r == 0, ctx, ECC_E_INPUT, "tensor '%s': '%s' ended early", ECC_Q(tname),
                    ECC_Q(ref->location));
        done += (size_t)r;
    }
    *out = buf;
    return ECC_OK;
fail:
    free(buf);
    return st;
}

ecc_status ecc_onnx_external_load(ecc_ctx *ctx, const char *base_dir, const char *tname,
                                  Onnx__StringStringEntryProto *const *kv, size_t n_kv,
                                  size_t nbytes, void **out) {
    ecc_status st = ECC_OK;
    int fd = -1;
    ext_ref ref;
    *out = NULL;
    ECC_FAIL_IF(!base_dir, ctx, ECC_E_INPUT,
                "tensor '%s': external data is not allowed here (no model directory)",
                ECC_Q(tname));
    ECC_TRY(ext_parse(ctx, tname, kv, n_kv, &ref));
    ECC_TRY(ext_check_location(ctx, tname, ref.location));
    ECC_TRY(ext_open(ctx, base_dir, tname, ref.location, &fd));
    ECC_TRY(ext_check_file(ctx, fd, tname, &ref, nbytes));
    ECC_TRY(ext_read(ctx, fd, tname, &ref, nbytes, out));
fail:
    if (fd >= 0) close(fd);
    return st;
}
