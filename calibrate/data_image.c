/* data_image.c — folders of PNG/JPEG images (libpng's simplified API,
 * libjpeg-turbo) as a sample stream, decoded one batch at a time in sorted
 * file-name order, with preprocessing: gray/RGB conversion by the decoder,
 * resize of the shorter side (separable triangle filter that widens when
 * downscaling, i.e. antialiased bilinear as PIL does it), centre crop,
 * scale, mean/std normalisation, NCHW or NHWC, float32 or raw uint8. Each
 * file is opened only when it is a regular file (a FIFO named x.png is
 * refused, never waited on) and decoded from that one open stream. */
#include "data.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jpeglib.h>

#define IMG_MAX_PIXELS (1u << 26) /* refuse decoding anything larger (8192 x 8192) */

typedef struct image {
    int w, h, c;
    uint8_t *px; /* h*w*c, malloc'd */
} image;

/* ---------------- decoders ---------------- */

typedef ecc_status (*decode_fn)(ecc_ctx *ctx, FILE *fp, int channels, image *out);

static ecc_status check_dims(ecc_ctx *ctx, uint64_t w, uint64_t h) {
    if (w == 0 || h == 0 || w * h > IMG_MAX_PIXELS)
        return ecc_ctx_error(ctx, ECC_E_INPUT, "image size %llux%llu is out of range",
                             (unsigned long long)w, (unsigned long long)h);
    return ECC_OK;
}

static ecc_status decode_png(ecc_ctx *ctx, FILE *fp, int channels, image *out) {
    ecc_status st = ECC_OK;
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    ECC_FAIL_IF(!png_image_begin_read_from_stdio(&pi, fp), ctx, ECC_E_INPUT,
                "cannot decode PNG: %s", pi.message);
    ECC_TRY(check_dims(ctx, pi.width, pi.height));
    pi.format = channels == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
    out->w = (int)pi.width;
    out->h = (int)pi.height;
    out->c = channels;
    out->px = malloc(PNG_IMAGE_SIZE(pi));
    ECC_FAIL_IF(!out->px, ctx, ECC_E_INTERNAL, "out of memory");
    ECC_FAIL_IF(!png_image_finish_read(&pi, NULL, out->px, 0, NULL), ctx, ECC_E_INPUT,
                "cannot decode PNG: %s", pi.message);
    return ECC_OK;
fail:
    png_image_free(&pi);
    free(out->px);
    out->px = NULL;
    return st;
}

typedef struct jpeg_err {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
} jpeg_err;

static void jpeg_fail(j_common_ptr cinfo) {
    jpeg_err *e = (jpeg_err *)cinfo->err;
    e->mgr.format_message(cinfo, e->message);
    longjmp(e->jump, 1);
}

/* Warnings (a truncated stream, corrupt data) are errors too: libjpeg would
 * otherwise pad a broken image with gray and carry on. */
static void jpeg_warn(j_common_ptr cinfo, int level) {
    if (level < 0) jpeg_fail(cinfo);
}

/* Everything between setjmp and the end lives in the heap-allocated state so
 * nothing is clobbered by longjmp. */
typedef struct jpeg_job {
    struct jpeg_decompress_struct d;
    jpeg_err err;
    FILE *fp; /* borrowed */
    uint8_t *px;
    int w, h;
} jpeg_job;

static int jpeg_run(jpeg_job *j, int channels, ecc_ctx *ctx) {
    if (setjmp(j->err.jump)) return -1;
    jpeg_create_decompress(&j->d);
    jpeg_stdio_src(&j->d, j->fp);
    jpeg_read_header(&j->d, TRUE);
    j->d.out_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    if (check_dims(ctx, j->d.image_width, j->d.image_height) != ECC_OK) return -2;
    jpeg_start_decompress(&j->d);
    if (j->d.output_components != channels) {
        snprintf(j->err.message, sizeof j->err.message, "unsupported JPEG color space");
        return -1;
    }
    j->w = (int)j->d.output_width;
    j->h = (int)j->d.output_height;
    j->px = malloc((size_t)j->w * (size_t)j->h * (size_t)channels);
    if (!j->px) return -3;
    while (j->d.output_scanline < j->d.output_height) {
        JSAMPROW row = j->px + (size_t)j->d.output_scanline * (size_t)j->w * (size_t)channels;
        jpeg_read_scanlines(&j->d, &row, 1);
    }
    jpeg_finish_decompress(&j->d);
    return 0;
}

static ecc_status decode_jpeg(ecc_ctx *ctx, FILE *fp, int channels, image *out) {
    ecc_status st = ECC_OK;
    jpeg_job *j = calloc(1, sizeof *j);
    ECC_FAIL_IF(!j, ctx, ECC_E_INTERNAL, "out of memory");
    j->fp = fp;
    j->d.err = jpeg_std_error(&j->err.mgr);
    j->err.mgr.error_exit = jpeg_fail;
    j->err.mgr.emit_message = jpeg_warn;
    int rc = jpeg_run(j, channels, ctx);
    if (rc == -2) {
        st = ECC_E_INPUT; /* message already set */
        goto fail;
    }
    ECC_FAIL_IF(rc == -3, ctx, ECC_E_INTERNAL, "out of memory");
    ECC_FAIL_IF(rc != 0, ctx, ECC_E_INPUT, "cannot decode JPEG: %s", j->err.message);
    out->w = j->w;
    out->h = j->h;
    out->c = channels;
    out->px = j->px;
    j->px = NULL;
fail:
    if (j) {
        jpeg_destroy_decompress(&j->d);
        free(j->px);
        free(j);
    }
    return st;
}

typedef struct image_kind {
    const char *ext;
    decode_fn decode;
} image_kind;

static const image_kind image_kinds[] = {
    {".png", decode_png}, {".jpg", decode_jpeg}, {".jpeg", decode_jpeg},
};
enum { N_KINDS = sizeof image_kinds / sizeof image_kinds[0] };

static decode_fn decoder_of(const char *name) {
    const char *dot = strrchr(name, '.');
    for (int i = 0; dot && i < N_KINDS; i++)
        if (!strcasecmp(dot, image_kinds[i].ext)) return image_kinds[i].decode;
    return NULL;
}

/* ---------------- resize (separable, antialiased triangle filter) ---------------- */

/* Weights of output pixel i of a resize in_n → out_n: first source index and
 * normalised weights (cap entries). Returns the count. */
static int tri_weights(int i, int in_n, int out_n, float *w, int cap, int *first) {
    double scale = (double)in_n / out_n;
    double support = scale > 1 ? scale : 1;
    double center = (i + 0.5) * scale;
    int lo = (int)floor(center - support), hi = (int)ceil(center + support);
    if (lo < 0) lo = 0;
    if (hi > in_n) hi = in_n;
    if (hi - lo > cap) hi = lo + cap;
    double sum = 0;
    for (int j = lo; j < hi; j++) {
        double x = fabs((j + 0.5 - center) / support);
        w[j - lo] = x < 1 ? (float)(1 - x) : 0;
        sum += w[j - lo];
    }
    for (int j = lo; j < hi && sum > 0; j++) w[j - lo] = (float)(w[j - lo] / sum);
    *first = lo;
    return hi - lo;
}

/* src: h×w×c floats → dst: h×ow×c (horizontal pass), or transposed use for vertical. */
static ecc_status resize_axis(ecc_ctx *ctx, const float *src, int n_lines, int in_n, int out_n,
                              int c, size_t line_stride, size_t pix_stride, float *dst,
                              size_t dline, size_t dpix) {
    int cap = (int)ceil(2.0 * ((double)in_n / out_n > 1 ? (double)in_n / out_n : 1)) + 2;
    float *w = malloc(sizeof(float) * (size_t)cap);
    if (!w) return ECC_OOM(ctx);
    for (int o = 0; o < out_n; o++) {
        int first, n = tri_weights(o, in_n, out_n, w, cap, &first);
        for (int l = 0; l < n_lines; l++)
            for (int k = 0; k < c; k++) {
                float acc = 0;
                for (int j = 0; j < n; j++)
                    acc += w[j] * src[(size_t)l * line_stride + (size_t)(first + j) * pix_stride + k];
                dst[(size_t)l * dline + (size_t)o * dpix + k] = acc;
            }
    }
    free(w);
    return ECC_OK;
}

/* im (uint8) → float h×w×c resized to oh×ow. */
static ecc_status resize(ecc_ctx *ctx, const image *im, int oh, int ow, float **out) {
    ecc_status st = ECC_OK;
    size_t c = (size_t)im->c;
    float *src = malloc(sizeof(float) * (size_t)im->w * (size_t)im->h * c);
    float *mid = malloc(sizeof(float) * (size_t)ow * (size_t)im->h * c);
    float *dst = malloc(sizeof(float) * (size_t)ow * (size_t)oh * c);
    *out = NULL;
    ECC_FAIL_IF(!src || !mid || !dst, ctx, ECC_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < (size_t)im->w * (size_t)im->h * c; i++) src[i] = im->px[i];
    /* horizontal: lines are rows */
    ECC_TRY(resize_axis(ctx, src, im->h, im->w, ow, im->c, (size_t)im->w * c, c, mid,
                        (size_t)ow * c, c));
    /* vertical: lines are columns */
    ECC_TRY(resize_axis(ctx, mid, ow, im->h, oh, im->c, c, (size_t)ow * c, dst, c,
                        (size_t)ow * c));
    *out = dst;
    dst = NULL;
fail:
    free(src);
    free(mid);
    free(dst);
    return st;
}

/* ---------------- the stream ---------------- */

typedef struct images_state {
    char **files; /* full paths, sorted */
    size_t n;
    ecc_image_prep prep;
} images_state;

/* Target size before the crop for an image of h×w. */
static void resized_size(const ecc_image_prep *p, int h, int w, int *rh, int *rw) {
    int side = p->resize;
    if (!side && h == p->height && w == p->width) {
        *rh = h, *rw = w;
        return;
    }
    if (!side) side = p->height > p->width ? p->height : p->width;
    if (h <= w) {
        *rh = side;
        *rw = (int)lround((double)w * side / h);
    } else {
        *rw = side;
        *rh = (int)lround((double)h * side / w);
    }
}

static void emit(const images_state *is, const float *px, int rh, int rw, void *dst) {
    const ecc_image_prep *p = &is->prep;
    int top = (int)lround((rh - p->height) / 2.0), left = (int)lround((rw - p->width) / 2.0);
    size_t plane = (size_t)p->height * (size_t)p->width;
    for (int y = 0; y < p->height; y++)
        for (int x = 0; x < p->width; x++)
            for (int k = 0; k < p->channels; k++) {
                float v = px[((size_t)(y + top) * (size_t)rw + (size_t)(x + left)) *
                                 (size_t)p->channels + (size_t)k];
                size_t o = p->nhwc ? ((size_t)y * (size_t)p->width + (size_t)x) *
                                             (size_t)p->channels + (size_t)k
                                   : (size_t)k * plane + (size_t)y * (size_t)p->width + (size_t)x;
                if (p->raw) {
                    long r = lroundf(v);
                    ((uint8_t *)dst)[o] = (uint8_t)(r < 0 ? 0 : r > 255 ? 255 : r);
                } else {
                    double sd = p->std[k] != 0 ? p->std[k] : 1;
                    ((float *)dst)[o] = (float)((v * p->scale - p->mean[k]) / sd);
                }
            }
}

static ecc_status one_image(ecc_ctx *ctx, const images_state *is, const char *path, void *dst) {
    ecc_status st = ECC_OK;
    image im = {0};
    float *px = NULL;
    FILE *fp = NULL;
    int rh, rw;
    ecc_ctx_set_subject(ctx, path);
    ECC_TRY(ecc_input_fopen(ctx, path, &fp, NULL));
    ECC_TRY(decoder_of(path)(ctx, fp, is->prep.channels, &im));
    resized_size(&is->prep, im.h, im.w, &rh, &rw);
    ECC_FAIL_IF(rh < is->prep.height || rw < is->prep.width || rh <= 0 || rw <= 0, ctx,
                ECC_E_INPUT, "image %dx%d resized to %dx%d is smaller than the %dx%d crop", im.w,
                im.h, rw, rh, is->prep.width, is->prep.height);
    ECC_FAIL_IF((uint64_t)rh * (uint64_t)rw > IMG_MAX_PIXELS, ctx, ECC_E_INPUT,
                "resized image is too large");
    ECC_TRY(resize(ctx, &im, rh, rw, &px));
    emit(is, px, rh, rw, dst);
fail:
    if (fp) fclose(fp);
    free(im.px);
    free(px);
    return st;
}

static ecc_status images_read(ecc_ctx *ctx, ecc_data_stream *s, int64_t n, void *dst) {
    ecc_status st = ECC_OK;
    images_state *is = s->state;
    for (int64_t i = 0; i < n; i++)
        ECC_TRY(one_image(ctx, is, is->files[s->pos + i], (uint8_t *)dst + (size_t)i * s->sample_bytes));
    ecc_ctx_set_subject(ctx, s->path);
fail:
    return st;
}

static void images_close(ecc_data_stream *s) {
    images_state *is = s->state;
    if (!is) return;
    for (size_t i = 0; i < is->n; i++) free(is->files[i]);
    free(is->files);
    free(is);
}

static const ecc_data_stream_ops images_ops = {"images", images_read, NULL, images_close};

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static ecc_status list_images(ecc_ctx *ctx, const char *dir, images_state *is) {
    ecc_status st = ECC_OK;
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t cap = 0;
    ECC_FAIL_IF(!d, ctx, ECC_E_INPUT, "cannot open the folder: %s", strerror(errno));
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !decoder_of(e->d_name)) continue;
        if (is->n == cap) {
            cap = cap ? 2 * cap : 64;
            char **grown = realloc(is->files, cap * sizeof *grown);
            ECC_FAIL_IF(!grown, ctx, ECC_E_INTERNAL, "out of memory");
            is->files = grown;
        }
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        ECC_FAIL_IF(!(is->files[is->n] = malloc(len)), ctx, ECC_E_INTERNAL, "out of memory");
        snprintf(is->files[is->n++], len, "%s/%s", dir, e->d_name);
    }
    ECC_FAIL_IF(is->n == 0, ctx, ECC_E_INPUT, "no .png/.jpg/.jpeg images in the folder");
    qsort(is->files, is->n, sizeof *is->files, cmp_str);
fail:
    if (d) closedir(d);
    return st;
}

bool ecc_data_dir_has_images(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *e;
    bool found = false;
    while (d && !found && (e = readdir(d))) found = e->d_name[0] != '.' && decoder_of(e->d_name);
    if (d) closedir(d);
    return found;
}

ecc_status ecc_data_open_images(ecc_ctx *ctx, const char *dir, const ecc_image_prep *prep,
                                ecc_data_stream **out) {
    ecc_status st = ECC_OK;
    ecc_data_stream *s = NULL;
    images_state *is = NULL;
    *out = NULL;
    ecc_ctx_set_subject(ctx, dir);
    ECC_FAIL_IF(prep->channels != 1 && prep->channels != 3, ctx, ECC_E_INPUT,
                "images need 1 (gray) or 3 (RGB) channels, the model wants %d", prep->channels);
    ECC_FAIL_IF(prep->height < 1 || prep->width < 1 || prep->height > 65536 ||
                    prep->width > 65536 || prep->resize < 0 || prep->resize > 65536,
                ctx, ECC_E_INPUT, "image size %dx%d (resize %d) is out of range", prep->width,
                prep->height, prep->resize);
    ECC_TRY(ecc_data_stream_new(ctx, dir, &images_ops, &s));
    is = calloc(1, sizeof *is);
    ECC_FAIL_IF(!is, ctx, ECC_E_INTERNAL, "out of memory");
    s->state = is;
    is->prep = *prep;
    ECC_TRY(list_images(ctx, dir, is));
    s->dtype = prep->raw ? ECC_DTYPE_UINT8 : ECC_DTYPE_FLOAT;
    s->rank = 4;
    s->dims[0] = (int64_t)is->n;
    int64_t c = prep->channels, h = prep->height, w = prep->width;
    int64_t nchw[3] = {c, h, w}, nhwc[3] = {h, w, c};
    memcpy(s->dims + 1, prep->nhwc ? nhwc : nchw, sizeof nchw);
    ECC_TRY(ecc_data_stream_finish(ctx, s));
    *out = s;
    return ECC_OK;
fail:
    ecc_data_close(s);
    return st;
}
