/* encode.c — choosing and building a tensor's encoding for the artifact.
 *
 * The source is a list of symbols (each element's stored bits) plus, for
 * quantized tensors, scales and zero points. Candidates are every applicable
 * representation (the source's own; a codebook when the stored symbols take
 * at most 256 distinct values) times every layout (dense; bitmask when some
 * elements are implicit; N:M along each axis for M in 2, 4, 8, 16 when the
 * pattern holds). Candidates are ranked by packed size; the smallest few are
 * compressed and the smallest frame wins (N:M is preferred by 2-4%; ties:
 * the first in rank order), so the choice is deterministic. Payload layout: artifact.h. */
#include "artifact_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

struct ecc_art_encoder {
    ZSTD_CCtx *cctx;
    int level;
};

ecc_status ecc_art_encoder_create(ecc_ctx *ctx, int level, ecc_art_encoder **out) {
    ecc_art_encoder *enc = calloc(1, sizeof *enc);
    if (enc) enc->cctx = ZSTD_createCCtx();
    if (!enc || !enc->cctx) {
        free(enc);
        *out = NULL;
        return ECC_OOM(ctx);
    }
    enc->level = level ? level : ECC_ART_DEFAULT_LEVEL;
    *out = enc;
    return ECC_OK;
}

void ecc_art_encoder_free(ecc_art_encoder *enc) {
    if (!enc) return;
    ZSTD_freeCCtx(enc->cctx);
    free(enc);
}

ecc_status ecc_art_compress(ecc_ctx *ctx, ecc_art_encoder *enc, const void *p, size_t n,
                            uint8_t **out, size_t *out_size) {
    ecc_status st = ECC_OK;
    size_t cap = ZSTD_compressBound(n), r;
    uint8_t *buf = malloc(cap ? cap : 1);
    *out = NULL;
    ECC_FAIL_IF(!buf, ctx, ECC_E_INTERNAL, "out of memory (%zu bytes)", cap);
    ZSTD_CCtx_reset(enc->cctx, ZSTD_reset_session_and_parameters);
    r = ZSTD_CCtx_setParameter(enc->cctx, ZSTD_c_compressionLevel, enc->level);
    if (!ZSTD_isError(r)) r = ZSTD_CCtx_setParameter(enc->cctx, ZSTD_c_checksumFlag, 1);
    if (!ZSTD_isError(r)) r = ZSTD_CCtx_setParameter(enc->cctx, ZSTD_c_contentSizeFlag, 1);
    if (!ZSTD_isError(r)) r = ZSTD_compress2(enc->cctx, buf, cap, p, n);
    ECC_FAIL_IF(ZSTD_isError(r), ctx, ECC_E_INTERNAL, "zstd: %s", ZSTD_getErrorName(r));
    *out = buf;
    *out_size = r;
    buf = NULL;
fail:
    free(buf);
    return st;
}

/* ---------------- scale indices ---------------- */

static void split_axis(const ecc_art_src *s, int axis, uint64_t *outer, uint64_t *d,
                       uint64_t *inner) {
    *outer = *inner = 1;
    for (int i = 0; i < axis; i++) *outer *= (uint64_t)s->dims[i];
    for (int i = axis + 1; i < s->rank; i++) *inner *= (uint64_t)s->dims[i];
    *d = (uint64_t)s->dims[axis];
}

void ecc_art_scale_index(const ecc_art_src *s, uint64_t *out) {
    uint64_t outer, D, inner, i = 0;
    if (s->granularity == ECC_ART_GRAN_TENSOR) {
        memset(out, 0, (size_t)s->numel * sizeof *out);
        return;
    }
    split_axis(s, s->axis, &outer, &D, &inner);
    uint64_t B = s->granularity == ECC_ART_GRAN_BLOCK ? s->block_size : 1;
    uint64_t nb = (D + B - 1) / B;
    for (uint64_t o = 0; o < outer; o++)
        for (uint64_t d = 0; d < D; d++)
            for (uint64_t in = 0; in < inner; in++)
                out[i++] = s->granularity == ECC_ART_GRAN_CHANNEL ? d : (o * nb + d / B) * inner + in;
}

/* ---------------- candidates ---------------- */

enum { MAX_CANDS = 1 + 1 + 4 * ECC_ART_MAX_RANK }; /* layouts of one representation */
static const unsigned nm_sizes[] = {2, 4, 8, 16};

typedef struct enc_state {
    const ecc_art_src *src;
    uint8_t *keep;          /* numel flags: the element is not implicit */
    uint64_t nnz;
    uint64_t cb[ECC_ART_MAX_CODEBOOK + 1]; /* sorted distinct symbols of kept elements */
    size_t n_cb;            /* > 256: no codebook */
    uint64_t cb_all[ECC_ART_MAX_CODEBOOK + 2]; /* the same plus 0 when some are implicit */
    size_t n_all;           /* (the codebook of the dense layout) */
    uint8_t scale_store;
    ecc_art_entry cands[3 * MAX_CANDS + 1]; /* raw, raw as byte planes, codebook */
    size_t n_cands;
} enc_state;

static ecc_status find_implicit(ecc_ctx *ctx, enc_state *x) {
    const ecc_art_src *s = x->src;
    uint64_t *sidx = NULL;
    x->keep = malloc((size_t)s->numel);
    if (!x->keep) return ECC_OOM(ctx);
    bool zp = s->repr == ECC_ART_REPR_QUANT && (s->flags & ECC_ART_EF_ZERO_POINT);
    if (zp) {
        sidx = malloc((size_t)s->numel * sizeof *sidx);
        if (!sidx) return ECC_OOM(ctx);
        ecc_art_scale_index(s, sidx);
    }
    x->nnz = 0;
    for (int64_t i = 0; i < s->numel; i++) {
        uint64_t implicit = zp ? s->zero_points[sidx[i]] : 0;
        x->keep[i] = s->sym[i] != implicit;
        x->nnz += x->keep[i];
    }
    free(sidx);
    return ECC_OK;
}

/* Distinct symbols of the kept elements, sorted; stops past 256. */
static void find_codebook(enc_state *x) {
    const ecc_art_src *s = x->src;
    x->n_cb = 0;
    for (int64_t i = 0; i < s->numel && x->n_cb <= ECC_ART_MAX_CODEBOOK; i++) {
        if (!x->keep[i]) continue;
        uint64_t v = s->sym[i];
        size_t lo = 0, hi = x->n_cb;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (x->cb[mid] < v) lo = mid + 1;
            else hi = mid;
        }
        if (lo < x->n_cb && x->cb[lo] == v) continue;
        memmove(x->cb + lo + 1, x->cb + lo, (x->n_cb - lo) * sizeof x->cb[0]);
        x->cb[lo] = v;
        x->n_cb++;
    }
    /* kept symbols are never 0 (RAW's implicit value), so 0 sorts first */
    bool zero = x->nnz < (uint64_t)s->numel;
    x->n_all = x->n_cb + zero;
    x->cb_all[0] = 0;
    memcpy(x->cb_all + zero, x->cb, (x->n_cb <= ECC_ART_MAX_CODEBOOK ? x->n_cb : 0) * sizeof x->cb[0]);
}

/* The codebook a layout uses: every symbol for DENSE, kept ones otherwise. */
static const uint64_t *codebook_for(const enc_state *x, uint8_t layout, size_t *n) {
    *n = layout == ECC_ART_LAYOUT_DENSE ? x->n_all : x->n_cb;
    return layout == ECC_ART_LAYOUT_DENSE ? x->cb_all : x->cb;
}

static size_t codebook_index(const enc_state *x, uint8_t layout, uint64_t v) {
    size_t n, lo = 0;
    const uint64_t *cb = codebook_for(x, layout, &n);
    size_t hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cb[mid] < v) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* How float32 scales are stored: float16 or bfloat16 when exact, else as is. */
static uint8_t pick_scale_store(const ecc_art_src *s) {
    if (s->repr != ECC_ART_REPR_QUANT || s->scale_dtype != ECC_DTYPE_FLOAT) return ECC_ART_SCALE_ASIS;
    bool f16 = true, bf16 = true;
    for (int64_t i = 0; i < s->n_scales && (f16 || bf16); i++) {
        float f;
        uint32_t b, back;
        memcpy(&b, s->scales + 4 * i, 4);
        memcpy(&f, &b, 4);
        float r = ecc_f16_to_f32(ecc_f32_to_f16(f));
        memcpy(&back, &r, 4);
        f16 = f16 && isfinite(f) && back == b;
        bf16 = bf16 && (b & 0xffffu) == 0;
    }
    return f16 ? ECC_ART_SCALE_F16 : bf16 ? ECC_ART_SCALE_BF16 : ECC_ART_SCALE_ASIS;
}

/* Largest number of kept elements in a group of m along axis (m must divide
 * it); *full: every group holds exactly that many. */
static uint64_t nm_max(const enc_state *x, int axis, uint64_t m, bool *full) {
    uint64_t outer, D, inner, best = 0, least = UINT64_MAX;
    split_axis(x->src, axis, &outer, &D, &inner);
    for (uint64_t o = 0; o < outer; o++)
        for (uint64_t r = 0; r < D / m; r++)
            for (uint64_t in = 0; in < inner; in++) {
                uint64_t c = 0;
                for (uint64_t j = 0; j < m; j++) c += x->keep[((o * D) + r * m + j) * inner + in];
                if (c > best) best = c;
                if (c < least) least = c;
            }
    *full = best == least;
    return best;
}

static void add_cand(enc_state *x, const ecc_art_entry *base, uint8_t layout, uint64_t count,
                     unsigned n, unsigned m, int axis) {
    ecc_art_entry e = *base;
    ecc_art_parts p;
    e.layout = layout;
    e.count = count;
    e.nm_n = (uint8_t)n;
    e.nm_m = (uint8_t)m;
    e.nm_axis = (uint8_t)axis;
    if (!ecc_art_entry_parts(&e, &p)) return;
    e.raw_size = p.total;
    x->cands[x->n_cands++] = e;
}

/* The sparse layouts for one representation (base has repr, bits, codebook_size). */
static void add_sparse_layouts(enc_state *x, const ecc_art_entry *base) {
    const ecc_art_src *s = x->src;
    uint64_t numel = (uint64_t)s->numel;
    if (x->nnz < numel) add_cand(x, base, ECC_ART_LAYOUT_BITMASK, x->nnz, 0, 0, 0);
    if (x->nnz > numel / 4 * 3) return;
    for (int a = 0; a < s->rank; a++)
        for (size_t k = 0; k < sizeof nm_sizes / sizeof nm_sizes[0]; k++) {
            uint64_t m = nm_sizes[k];
            if (s->dims[a] < (int64_t)m || s->dims[a] % (int64_t)m) continue;
            bool full;
            uint64_t n = nm_max(x, a, m, &full);
            /* a codebook has no index for an implicit zero: no padded groups */
            if (base->repr == ECC_ART_REPR_CODEBOOK && !full) continue;
            if (n >= 1 && n < m) add_cand(x, base, ECC_ART_LAYOUT_NM, numel / m * n, (unsigned)n, (unsigned)m, a);
        }
}

static void make_candidates(enc_state *x) {
    const ecc_art_src *s = x->src;
    ecc_art_entry base;
    memset(&base, 0, sizeof base);
    base.kind = ECC_ART_KIND_TENSOR;
    base.dtype = s->dtype;
    base.rank = (uint8_t)s->rank;
    for (int i = 0; i < s->rank; i++) base.dims[i] = s->dims[i];
    base.repr = s->repr;
    base.bits = (uint8_t)ecc_art_dtype_bits(s->dtype);
    if (s->repr == ECC_ART_REPR_QUANT) {
        base.granularity = s->granularity;
        base.axis = s->axis;
        base.block_size = s->block_size;
        base.scale_dtype = s->scale_dtype;
        base.scale_store = x->scale_store;
        base.flags = s->flags;
    }
    x->n_cands = 0;
    add_cand(x, &base, ECC_ART_LAYOUT_DENSE, (uint64_t)s->numel, 0, 0, 0);
    add_sparse_layouts(x, &base);
    if (s->repr == ECC_ART_REPR_RAW && base.bits >= 16) { /* the same as byte planes */
        for (size_t c = 0, n = x->n_cands; c < n; c++) {
            x->cands[x->n_cands] = x->cands[c];
            x->cands[x->n_cands++].flags |= ECC_ART_EF_BYTE_PLANES;
        }
    }
    if (s->repr != ECC_ART_REPR_RAW || base.bits < 8 || x->n_cb > ECC_ART_MAX_CODEBOOK) return;
    unsigned dbits = base.bits;
    base.repr = ECC_ART_REPR_CODEBOOK;
    if (x->n_all >= 1 && x->n_all <= ECC_ART_MAX_CODEBOOK &&
        ecc_art_index_bits((unsigned)x->n_all) < dbits) {
        base.bits = (uint8_t)ecc_art_index_bits((unsigned)x->n_all);
        base.codebook_size = (uint16_t)x->n_all;
        add_cand(x, &base, ECC_ART_LAYOUT_DENSE, (uint64_t)s->numel, 0, 0, 0);
    }
    if (x->n_cb >= 1 && ecc_art_index_bits((unsigned)x->n_cb) < dbits) {
        base.bits = (uint8_t)ecc_art_index_bits((unsigned)x->n_cb);
        base.codebook_size = (uint16_t)x->n_cb;
        add_sparse_layouts(x, &base);
    }
}

/* ---------------- payload ---------------- */

static void put_bits(uint8_t *p, uint64_t k, unsigned w, uint64_t v) {
    if (w % 8 == 0) {
        for (unsigned b = 0; b < w / 8; b++) p[k * (w / 8) + b] = (uint8_t)(v >> (8 * b));
        return;
    }
    uint64_t bit = k * w;
    for (unsigned j = 0; j < w; j++)
        if (v >> j & 1u) p[(bit + j) >> 3] |= (uint8_t)(1u << ((bit + j) & 7));
}

/* Value symbol k at width w, as byte planes when the entry says so. */
static void put_value(const ecc_art_entry *e, uint8_t *vals, uint64_t k, uint64_t v) {
    if (!(e->flags & ECC_ART_EF_BYTE_PLANES)) {
        put_bits(vals, k, e->bits, v);
        return;
    }
    for (unsigned j = 0; j < e->bits / 8u; j++) vals[j * e->count + k] = (uint8_t)(v >> (8 * j));
}

static uint64_t stored_symbol(const enc_state *x, const ecc_art_entry *e, uint64_t i) {
    uint64_t v = x->src->sym[i];
    return e->repr == ECC_ART_REPR_CODEBOOK ? codebook_index(x, e->layout, v) : v;
}

static void write_params(const enc_state *x, const ecc_art_entry *e, const ecc_art_parts *p,
                         uint8_t *buf) {
    const ecc_art_src *s = x->src;
    unsigned dbits = ecc_art_dtype_bits(s->dtype);
    if (e->repr == ECC_ART_REPR_CODEBOOK) {
        size_t n;
        const uint64_t *cb = codebook_for(x, e->layout, &n);
        for (size_t k = 0; k < n; k++) put_bits(buf + p->params, k, dbits, cb[k]);
        return;
    }
    if (e->repr != ECC_ART_REPR_QUANT) return;
    for (int64_t k = 0; k < s->n_scales; k++) {
        if (e->scale_store == ECC_ART_SCALE_ASIS) {
            unsigned sb = ecc_art_scale_store_bytes(ECC_ART_SCALE_ASIS, s->scale_dtype);
            memcpy(buf + p->params + (uint64_t)k * sb, s->scales + (uint64_t)k * sb, sb);
        } else {
            uint32_t b;
            float f;
            memcpy(&b, s->scales + 4 * k, 4);
            memcpy(&f, &b, 4);
            uint16_t h = e->scale_store == ECC_ART_SCALE_F16 ? ecc_f32_to_f16(f) : (uint16_t)(b >> 16);
            put_bits(buf + p->params, (uint64_t)k, 16, h);
        }
        if (e->flags & ECC_ART_EF_ZERO_POINT)
            put_bits(buf + p->params + p->zero_points, (uint64_t)k, e->bits, s->zero_points[k]);
    }
}

/* One N:M group: the kept positions first, padded with implicit ones, sorted. */
static void nm_group(const enc_state *x, const ecc_art_entry *e, uint64_t first, uint64_t step,
                     uint8_t *pos, uint8_t *vals, uint64_t *k) {
    unsigned iw = ecc_art_index_bits(e->nm_m), chosen[ECC_ART_MAX_NM_M], n = 0;
    uint8_t taken[ECC_ART_MAX_NM_M] = {0};
    for (unsigned j = 0; j < e->nm_m && n < e->nm_n; j++)
        if (x->keep[first + j * step]) {
            taken[j] = 1;
            n++;
        }
    for (unsigned j = 0; j < e->nm_m && n < e->nm_n; j++)
        if (!taken[j]) {
            taken[j] = 1;
            n++;
        }
    n = 0;
    for (unsigned j = 0; j < e->nm_m; j++)
        if (taken[j]) chosen[n++] = j;
    for (unsigned j = 0; j < n; j++, (*k)++) {
        put_bits(pos, *k, iw, chosen[j]);
        put_value(e, vals, *k, stored_symbol(x, e, first + chosen[j] * step));
    }
}

static ecc_status build_payload(ecc_ctx *ctx, const enc_state *x, const ecc_art_entry *e,
                                uint8_t **out) {
    ecc_art_parts p;
    const ecc_art_src *s = x->src;
    if (!ecc_art_entry_parts(e, &p)) return ecc_ctx_error(ctx, ECC_E_INTERNAL, "bad encoding");
    uint8_t *buf = calloc((size_t)p.total + 1, 1);
    if (!buf) return ecc_ctx_error(ctx, ECC_E_INTERNAL, "out of memory (%llu bytes)",
                                   (unsigned long long)p.total);
    write_params(x, e, &p, buf);
    uint8_t *pos = buf + p.positions, *vals = buf + p.values;
    uint64_t k = 0;
    if (e->layout == ECC_ART_LAYOUT_DENSE) {
        for (int64_t i = 0; i < s->numel; i++) put_value(e, vals, (uint64_t)i, stored_symbol(x, e, (uint64_t)i));
    } else if (e->layout == ECC_ART_LAYOUT_BITMASK) {
        for (int64_t i = 0; i < s->numel; i++)
            if (x->keep[i]) {
                pos[i >> 3] |= (uint8_t)(1u << (i & 7));
                put_value(e, vals, k++, stored_symbol(x, e, (uint64_t)i));
            }
    } else {
        uint64_t outer, D, inner, M = e->nm_m;
        split_axis(s, e->nm_axis, &outer, &D, &inner);
        for (uint64_t o = 0; o < outer; o++)
            for (uint64_t r = 0; r < D / M; r++)
                for (uint64_t in = 0; in < inner; in++)
                    nm_group(x, e, (o * D + r * M) * inner + in, inner, pos, vals, &k);
    }
    *out = buf;
    return ECC_OK;
}

/* ---------------- choice ---------------- */

static int cand_cmp(const void *a, const void *b) {
    const ecc_art_entry *x = a, *y = b;
    if (x->raw_size != y->raw_size) return x->raw_size < y->raw_size ? -1 : 1;
    return 0;
}

/* Stable insertion sort by packed size (qsort is not stable). */
static void sort_cands(ecc_art_entry *c, size_t n) {
    for (size_t i = 1; i < n; i++) {
        ecc_art_entry t = c[i];
        size_t j = i;
        while (j > 0 && cand_cmp(&c[j - 1], &t) > 0) {
            c[j] = c[j - 1];
            j--;
        }
        c[j] = t;
    }
}

/* Frame size weighed with a preference for N:M (2% for groups of 8 or 16,
 * 4% for 2 or 4): a structured layout that costs (almost) nothing more is
 * worth more to a consumer (2:4 sparse kernels). */
static uint64_t weighed(const ecc_art_entry *e, uint64_t frame_size) {
    if (e->layout != ECC_ART_LAYOUT_NM) return frame_size * 50u;
    return frame_size * (e->nm_m <= 4 ? 48u : 49u);
}

ecc_status ecc_art_encode(ecc_ctx *ctx, ecc_art_encoder *enc, const ecc_art_src *src,
                          ecc_art_enc *out) {
    ecc_status st = ECC_OK;
    enc_state *x = calloc(1, sizeof *x);
    uint8_t *payload = NULL, *frame = NULL;
    size_t frame_size = 0;
    memset(out, 0, sizeof *out);
    ECC_FAIL_IF(!x, ctx, ECC_E_INTERNAL, "out of memory");
    x->src = src;
    ECC_TRY(find_implicit(ctx, x));
    if (src->repr == ECC_ART_REPR_RAW) find_codebook(x);
    x->scale_store = pick_scale_store(src);
    make_candidates(x);
    ECC_FAIL_IF(x->n_cands == 0, ctx, ECC_E_INTERNAL, "tensor '%s': no encoding fits", src->name);
    sort_cands(x->cands, x->n_cands);
    uint64_t limit = x->cands[0].raw_size + x->cands[0].raw_size / 4;
    for (size_t c = 0; c < x->n_cands && c < 6 && x->cands[c].raw_size <= limit; c++) {
        ECC_TRY(build_payload(ctx, x, &x->cands[c], &payload));
        ECC_TRY(ecc_art_compress(ctx, enc, payload, (size_t)x->cands[c].raw_size, &frame,
                                 &frame_size));
        free(payload);
        payload = NULL;
        if (!out->frame || weighed(&x->cands[c], frame_size) < weighed(&out->e, out->e.comp_size)) {
            free(out->frame);
            out->e = x->cands[c];
            out->e.comp_size = frame_size;
            out->frame = frame;
        } else {
            free(frame);
        }
        frame = NULL;
    }
fail:
    if (st) {
        free(out->frame);
        out->frame = NULL;
    }
    free(payload);
    free(frame);
    if (x) free(x->keep);
    free(x);
    return st;
}
