/* model_io.c — the public ecc_model_read / ecc_model_write: an artifact is
 * recognised by its magic bytes when reading and chosen by
 * ecc_write_options.format (or the ".ecc" extension) when writing;
 * everything else is ONNX (formats/onnx). Also ecc_file_format. */
#include "artifact_internal.h"
#include "../onnx/onnx_io.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define OPT_HAS(o, f) ((o) && (o)->struct_size >= offsetof(ecc_write_options, f) + sizeof((o)->f))

/* Sniffs the magic without blocking: FIFOs, devices and directories are left
 * to the ONNX reader, which refuses them with a clear message. */
ecc_format ecc_file_format(const char *path) {
    uint8_t magic[8];
    struct stat sb;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return ECC_FORMAT_ONNX;
    ssize_t n = -1;
    if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode)) n = read(fd, magic, sizeof magic);
    close(fd);
    return n == (ssize_t)sizeof magic && memcmp(magic, ECC_ART_MAGIC, 8) == 0 ? ECC_FORMAT_ECC
                                                                               : ECC_FORMAT_ONNX;
}

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

ecc_status ecc_model_read(ecc_ctx *ctx, const char *path, ecc_model **out) {
    if (ecc_file_format(path) == ECC_FORMAT_ECC) return ecc_artifact_read(ctx, path, NULL, out);
    return ecc_onnx_read_file(ctx, path, out);
}

ecc_status ecc_model_write(ecc_ctx *ctx, const ecc_model *model, const char *path,
                           const ecc_write_options *opts) {
    uint32_t format = OPT_HAS(opts, format) ? opts->format : ECC_FORMAT_AUTO;
    if (format > ECC_FORMAT_ECC)
        return ecc_ctx_error(ctx, ECC_E_USAGE, "unknown output format %u", (unsigned)format);
    if (format == ECC_FORMAT_ECC || (format == ECC_FORMAT_AUTO && ends_with(path, ".ecc")))
        return ecc_artifact_write_file(ctx, model, path, opts);
    return ecc_onnx_write_file(ctx, model, path, opts);
}
