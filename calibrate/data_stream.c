/* data_stream.c — the reader-independent part of data streams: allocation,
 * sample sizes, batched reads with the remaining-count bookkeeping, rewind
 * and close. */
#include "data.h"

#include <stdlib.h>
#include <string.h>

ecc_status ecc_data_stream_new(ecc_ctx *ctx, const char *path, const ecc_data_stream_ops *ops,
                               ecc_data_stream **out) {
    ecc_data_stream *s = calloc(1, sizeof *s);
    *out = NULL;
    if (!s || !(s->path = strdup(path))) {
        free(s);
        return ECC_OOM(ctx);
    }
    s->ops = ops;
    *out = s;
    return ECC_OK;
}

static int64_t stream_count(const ecc_data_stream *s) {
    return s->rank >= 1 ? s->dims[0] : 1;
}

ecc_status ecc_data_stream_finish(ecc_ctx *ctx, ecc_data_stream *s) {
    ecc_status st = ECC_OK;
    int64_t numel = 1;
    ECC_FAIL_IF(s->rank < 0 || s->rank > ECC_MAX_RANK, ctx, ECC_E_INPUT,
                "rank %d is not supported (at most %d dimensions)", (int)s->rank, ECC_MAX_RANK);
    ECC_FAIL_IF(!s->whole && s->rank < 1, ctx, ECC_E_INPUT, "a dataset needs a sample axis");
    for (int32_t i = s->whole ? 0 : 1; i < s->rank; i++) {
        ECC_FAIL_IF(s->dims[i] < 0, ctx, ECC_E_INPUT, "negative dimension %lld",
                    (long long)s->dims[i]);
        ECC_FAIL_IF(!ecc_mul_i64(numel, s->dims[i], &numel), ctx, ECC_E_INPUT,
                    "dimensions overflow");
    }
    ECC_FAIL_IF(s->rank >= 1 && s->dims[0] < 0, ctx, ECC_E_INPUT, "negative sample count");
    ECC_FAIL_IF(!ecc_dtype_nbytes(s->dtype, numel, &s->sample_bytes), ctx, ECC_E_INPUT,
                "element type %s: size overflows or is not a numeric type",
                ecc_dtype_name(s->dtype));
    {
        const ecc_dtype_traits *tr = ecc_dtype_get(s->dtype);
        ECC_FAIL_IF(!s->whole && (!tr || tr->bits < 8), ctx, ECC_E_INPUT,
                    "element type %s cannot be batched", ecc_dtype_name(s->dtype));
    }
    /* the whole array must be addressable too */
    size_t total;
    ECC_FAIL_IF(!s->whole && !ecc_mul_size(s->sample_bytes, (size_t)stream_count(s), &total), ctx,
                ECC_E_INPUT, "data size overflows");
fail:
    return st;
}

ecc_status ecc_data_read(ecc_ctx *ctx, ecc_data_stream *s, int64_t n, void *dst, int64_t *got) {
    ecc_status st = ECC_OK;
    int64_t left = stream_count(s) - s->pos;
    *got = 0;
    ecc_ctx_set_subject(ctx, s->path);
    if (left <= 0 || n <= 0) return ECC_OK;
    if (s->whole) n = left;
    if (n > left) n = left;
    ECC_TRY(s->ops->read(ctx, s, n, dst));
    s->pos += n;
    *got = n;
fail:
    return st;
}

ecc_status ecc_data_rewind(ecc_ctx *ctx, ecc_data_stream *s) {
    ecc_ctx_set_subject(ctx, s->path);
    ecc_status st = s->ops->rewind ? s->ops->rewind(ctx, s) : ECC_OK;
    if (st == ECC_OK) s->pos = 0;
    return st;
}

void ecc_data_close(ecc_data_stream *s) {
    if (!s) return;
    if (s->ops && s->ops->close) s->ops->close(s);
    free(s->path);
    free(s->name);
    free(s);
}
