/* artifact_writer.c — writes a model as a .ecc artifact.
 *
 * Plan: every main-graph initializer with data (numel > 0, an element type
 * the format stores) becomes a TENSOR entry:
 *   - the integer input of a DequantizeLinear whose scale (and zero point)
 *     are initializers matching its axis/block_size → QUANT, the scale and
 *     zero point absorbed into the entry (as ONNX quantizers write them);
 *   - a float32 weight carrying a quantizer annotation → QUANT quantized here
 *     (QuantizeLinear semantics), restored with a DequantizeLinear inserted;
 *   - anything else → RAW (a mask annotation is applied first); the encoder
 *     may pick a codebook when few distinct values remain (`cluster`).
 * The graph section is the ONNX model with those initializers replaced by
 * [0]-shaped placeholders (swapped in only while it is serialised). Frames
 * are written metadata, graph, tensors in initializer order; then the
 * directory, the string table and the footer. Same model and options → same
 * bytes. Format: artifact.h. */
#include "artifact_internal.h"
#include "atomic.h"
#include "../onnx/onnx_io.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* One planned TENSOR entry. */
typedef struct art_item {
    ecc_value *v;            /* the initializer the entry restores */
    ecc_value *scale, *zp;   /* DequantizeLinear pattern: absorbed values */
    ecc_art_enc enc;
} art_item;

typedef struct art_writer {
    ecc_ctx *ctx;
    const ecc_model *m;
    const ecc_write_options *opts;
    ecc_graph *g;
    ecc_art_encoder *encoder;
    art_item *items;
    size_t n_items;
    ecc_strmap dq;           /* weight name → ecc_node* (the DequantizeLinear reading it) */
    ecc_strmap absorbed;     /* scale / zero point names → (void*)1 */
    uint8_t *meta, *graph;   /* payloads */
    size_t meta_len, graph_len;
} art_writer;

#define OPT_HAS(o, f) ((o) && (o)->struct_size >= offsetof(ecc_write_options, f) + sizeof((o)->f))

/* ---------------- helpers ---------------- */

static bool is_onnx_op(const ecc_node *n, const char *op) {
    return strcmp(n->op_type, op) == 0 && (!n->domain[0] || strcmp(n->domain, "ai.onnx") == 0);
}

static bool is_int_q(int32_t dt) {
    return dt == ECC_DTYPE_INT8 || dt == ECC_DTYPE_UINT8 || dt == ECC_DTYPE_INT4 ||
           dt == ECC_DTYPE_UINT4;
}

static bool is_main_init(const art_writer *w, const ecc_value *v) {
    return v && v->init && v->graph == w->g && v->init->numel > 0;
}

/* Element i of t as its stored bits. */
static void tensor_symbols(const ecc_tensor *t, uint64_t *out) {
    const uint8_t *p = t->data;
    unsigned bits = ecc_art_dtype_bits(t->dtype);
    for (int64_t i = 0; i < t->numel; i++) {
        uint64_t v = 0;
        if (bits == 4) v = (p[i >> 1] >> ((i & 1) * 4)) & 15u;
        else
            for (unsigned b = 0; b < bits / 8; b++) v |= (uint64_t)p[(size_t)i * (bits / 8) + b] << (8 * b);
        out[i] = v;
    }
}

static uint64_t *symbols_of(const ecc_tensor *t) {
    uint64_t *s = malloc((size_t)t->numel * sizeof *s + 1);
    if (s) tensor_symbols(t, s);
    return s;
}

/* ---------------- DequantizeLinear patterns ---------------- */

/* Granularity of a DQ node's scale for input x, or -1 when it does not fit. */
static int dq_granularity(const ecc_node *n, const ecc_tensor *x, const ecc_tensor *s,
                          int64_t *axis_out, int64_t *block_out) {
    int64_t axis = ecc_node_attr_int(n, "axis", 1), block = ecc_node_attr_int(n, "block_size", 0);
    bool per_tensor = s->numel == 1 && (s->rank == 0 || (s->rank == 1 && s->dims[0] == 1));
    *axis_out = 0;
    *block_out = 0;
    if (per_tensor && block == 0) return ECC_ART_GRAN_TENSOR;
    if (axis < 0) axis += x->rank;
    if (axis < 0 || axis >= x->rank || axis >= ECC_ART_MAX_RANK) return -1;
    *axis_out = axis;
    if (block == 0)
        return s->rank == 1 && s->dims[0] == x->dims[axis] ? ECC_ART_GRAN_CHANNEL : -1;
    if (block < 0 || block > UINT32_MAX || s->rank != x->rank) return -1;
    for (int32_t i = 0; i < x->rank; i++) {
        int64_t want = i == axis ? (x->dims[i] + block - 1) / block : x->dims[i];
        if (s->dims[i] != want) return -1;
    }
    *block_out = block;
    return ECC_ART_GRAN_BLOCK;
}

/* Whether DQ node n qualifies: constant integer x, constant float scale of a
 * matching shape, constant zero point like the scale (or none). */
static bool dq_fits(const art_writer *w, const ecc_node *n) {
    ecc_value *x = n->n_inputs > 0 ? n->inputs[0] : NULL, *s = n->n_inputs > 1 ? n->inputs[1] : NULL;
    ecc_value *z = n->n_inputs > 2 ? n->inputs[2] : NULL;
    int64_t axis, block;
    if (!is_main_init(w, x) || !is_main_init(w, s) || !is_int_q(x->init->dtype) ||
        x->init->rank > ECC_ART_MAX_RANK || x->mask || x->quant)
        return false;
    if (s->init->dtype != ECC_DTYPE_FLOAT && s->init->dtype != ECC_DTYPE_FLOAT16 &&
        s->init->dtype != ECC_DTYPE_BFLOAT16)
        return false;
    if (dq_granularity(n, x->init, s->init, &axis, &block) < 0) return false;
    if (z && (!is_main_init(w, z) || z->init->dtype != x->init->dtype ||
              z->init->rank != s->init->rank ||
              memcmp(z->init->dims, s->init->dims, (size_t)s->init->rank * sizeof(int64_t))))
        return false;
    return true;
}

typedef struct dq_rec {
    const ecc_node *n;        /* first DequantizeLinear reading the weight */
    bool ok;
} dq_rec;

static bool dq_same_params(const ecc_node *a, const ecc_node *b) {
    const ecc_value *za = a->n_inputs > 2 ? a->inputs[2] : NULL, *zb = b->n_inputs > 2 ? b->inputs[2] : NULL;
    return a->inputs[1] == b->inputs[1] && za == zb && ecc_node_attr_int(a, "axis", 1) ==
           ecc_node_attr_int(b, "axis", 1) && ecc_node_attr_int(a, "block_size", 0) ==
           ecc_node_attr_int(b, "block_size", 0);
}

/* Finds the DequantizeLinear patterns (w->dq: weight name → node;
 * w->absorbed: its scale and zero point). A weight read by several DQ nodes
 * must see the same parameters in each; a scale or zero point that is the
 * weight of another pattern disqualifies its pattern. */
static ecc_status find_dq(art_writer *w) {
    ecc_status st = ECC_OK;
    ecc_strmap index = {0}; /* weight name → rec index + 1 */
    dq_rec *recs = calloc(w->g->nodes.n + 1, sizeof *recs);
    size_t n = 0;
    ECC_FAIL_IF(!recs, w->ctx, ECC_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < w->g->nodes.n; i++) {
        const ecc_node *node = w->g->nodes.items[i];
        if (!is_onnx_op(node, "DequantizeLinear") || node->n_inputs < 2 || !node->inputs[0])
            continue;
        size_t at = (size_t)(uintptr_t)ecc_strmap_get(&index, node->inputs[0]->name);
        if (at) {
            recs[at - 1].ok = recs[at - 1].ok && dq_fits(w, node) && dq_same_params(recs[at - 1].n, node);
            continue;
        }
        recs[n] = (dq_rec){node, dq_fits(w, node)};
        n++;
        ECC_FAIL_IF(!ecc_strmap_put(&index, node->inputs[0]->name, (void *)(uintptr_t)n), w->ctx,
                    ECC_E_INTERNAL, "out of memory");
    }
    for (size_t r = 0; r < n; r++) {
        const ecc_node *node = recs[r].n;
        bool ok = recs[r].ok;
        for (uint32_t k = 1; ok && k < 3 && k < node->n_inputs; k++) {
            size_t at = node->inputs[k] ? (size_t)(uintptr_t)ecc_strmap_get(&index, node->inputs[k]->name) : 0;
            if (at && recs[at - 1].ok) ok = false;
        }
        if (!ok) continue;
        ECC_FAIL_IF(!ecc_strmap_put(&w->dq, node->inputs[0]->name, (void *)node), w->ctx,
                    ECC_E_INTERNAL, "out of memory");
        for (uint32_t k = 1; k < 3 && k < node->n_inputs; k++)
            if (node->inputs[k])
                ECC_FAIL_IF(!ecc_strmap_put(&w->absorbed, node->inputs[k]->name, (void *)1),
                            w->ctx, ECC_E_INTERNAL, "out of memory");
    }
fail:
    ecc_strmap_free(&index);
    free(recs);
    return st;
}

/* ---------------- sources ---------------- */

typedef struct src_bufs {
    uint64_t *sym, *zps;
    uint8_t *scales;
} src_bufs;

static void src_bufs_free(src_bufs *b) {
    free(b->sym);
    free(b->zps);
    free(b->scales);
}

static void src_shape(ecc_art_src *s, const ecc_value *v, const ecc_tensor *t) {
    s->name = v->name;
    s->dtype = t->dtype;
    s->rank = t->rank;
    s->dims = t->dims;
    s->numel = t->numel;
}

static ecc_status src_dq(art_writer *w, ecc_value *v, const ecc_node *n, ecc_art_src *s,
                         src_bufs *b) {
    const ecc_tensor *x = v->init, *sc = n->inputs[1]->init;
    const ecc_tensor *z = n->n_inputs > 2 && n->inputs[2] ? n->inputs[2]->init : NULL;
    int64_t axis, block;
    src_shape(s, v, x);
    s->repr = ECC_ART_REPR_QUANT;
    s->granularity = (uint8_t)dq_granularity(n, x, sc, &axis, &block);
    s->axis = (uint8_t)axis;
    s->block_size = (uint32_t)block;
    s->scale_dtype = sc->dtype;
    s->n_scales = sc->numel;
    s->flags = (uint8_t)((z ? ECC_ART_EF_ZERO_POINT : 0) |
                         (s->granularity == ECC_ART_GRAN_TENSOR && sc->rank == 0 ? ECC_ART_EF_SCALAR_SCALE : 0));
    b->sym = symbols_of(x);
    b->zps = z ? symbols_of(z) : NULL;
    b->scales = malloc(sc->nbytes + 1);
    if (!b->sym || (z && !b->zps) || !b->scales) return ECC_OOM(w->ctx);
    memcpy(b->scales, sc->data, sc->nbytes);
    s->sym = b->sym;
    s->zero_points = b->zps;
    s->scales = b->scales;
    return ECC_OK;
}

/* Weight values with its mask applied (float32 weights only). */
static float masked_f32(const ecc_value *v, int64_t i) {
    const float *f = v->init->data;
    if (v->mask && v->mask->keep && !((const uint8_t *)v->mask->keep->data)[i]) return 0.0f;
    return f[i];
}

/* The integer type, range and scale count of a quantizer annotation. */
static ecc_status quantizer_check(art_writer *w, const ecc_value *v, const ecc_quantizer *q,
                                  int32_t *dtype, int64_t *axis_out, int64_t *n_scales) {
    const ecc_tensor *t = v->init;
    ecc_ctx *ctx = w->ctx;
    int64_t axis = q->axis < 0 ? q->axis + t->rank : q->axis, n = 1;
    if (t->dtype != ECC_DTYPE_FLOAT)
        return ecc_ctx_error(ctx, ECC_E_USAGE, "weight '%s': a quantizer on a %s weight "
                             "cannot be packed (float32 only)", v->name, ecc_dtype_name(t->dtype));
    if (q->bits != 4 && q->bits != 8)
        return ecc_ctx_error(ctx, ECC_E_USAGE, "weight '%s': %d-bit quantizer (4 or 8 supported)",
                             v->name, (int)q->bits);
    if (!q->scale || q->scale->dtype != ECC_DTYPE_FLOAT)
        return ecc_ctx_error(ctx, ECC_E_USAGE, "weight '%s': quantizer without float32 scales", v->name);
    if (q->granularity != ECC_QUANT_TENSOR && (axis < 0 || axis >= t->rank))
        return ecc_ctx_error(ctx, ECC_E_USAGE, "weight '%s': quantizer axis %d out of range",
                             v->name, (int)q->axis);
    if (q->granularity == ECC_QUANT_CHANNEL) n = t->dims[axis];
    else if (q->granularity == ECC_QUANT_BLOCK) {
        if (q->block_size < 1)
            return ecc_ctx_error(ctx, ECC_E_USAGE, "weight '%s': block size %d", v->name,
                                 (int)q->block_size);
        n = t->numel / (t->dims[axis] ? t->dims[axis] : 1) *
            ((t->dims[axis] + q->block_size - 1) / q->block_size);
    } else if (q->granularity != ECC_QUANT_TENSOR)
        return ecc_ctx_error(ctx, ECC_E_USAGE, "weight '%s': unknown granularity", v->name);
    if (q->scale->numel != n || (q->zero_point && q->zero_point->numel != n))
        return ecc_ctx_error(ctx, ECC_E_USAGE, "weight '%s': quantizer has %lld scales, "
                             "its granularity needs %lld", v->name,
                             (long long)q->scale->numel, (long long)n);
    if (v->flags & (ECC_VALUE_INPUT | ECC_VALUE_OUTPUT))
        return ecc_ctx_error(ctx, ECC_E_USAGE, "weight '%s' carries a quantizer but is also a "
                             "graph input or output", v->name);
    *dtype = q->bits == 8 ? (q->is_signed ? ECC_DTYPE_INT8 : ECC_DTYPE_UINT8)
                          : (q->is_signed ? ECC_DTYPE_INT4 : ECC_DTYPE_UINT4);
    *axis_out = q->granularity == ECC_QUANT_TENSOR ? 0 : axis;
    *n_scales = n;
    return ECC_OK;
}

/* QuantizeLinear: saturate(round_half_even(w / scale) + zero_point). */
static ecc_status src_quantizer(art_writer *w, ecc_value *v, ecc_art_src *s, src_bufs *b) {
    const ecc_quantizer *q = v->quant;
    const ecc_tensor *t = v->init;
    int32_t dtype = 0;
    int64_t axis = 0, n = 0;
    ecc_status st = quantizer_check(w, v, q, &dtype, &axis, &n);
    if (st) return st;
    src_shape(s, v, t);
    s->dtype = dtype;
    s->repr = ECC_ART_REPR_QUANT;
    s->granularity = q->granularity;
    s->axis = (uint8_t)axis;
    s->block_size = q->granularity == ECC_QUANT_BLOCK ? (uint32_t)q->block_size : 0;
    s->scale_dtype = ECC_DTYPE_FLOAT;
    s->n_scales = n;
    s->flags = (uint8_t)(ECC_ART_EF_INSERT_DQ | (q->zero_point ? ECC_ART_EF_ZERO_POINT : 0) |
                         (q->granularity == ECC_QUANT_TENSOR && q->scale->rank == 0 ? ECC_ART_EF_SCALAR_SCALE : 0));
    bool sgn = dtype == ECC_DTYPE_INT8 || dtype == ECC_DTYPE_INT4;
    int bits = q->bits;
    double lo = sgn ? -(double)(1 << (bits - 1)) : 0, hi = sgn ? (double)((1 << (bits - 1)) - 1) : (double)((1 << bits) - 1);
    uint64_t mask = (1u << bits) - 1, *sidx = malloc((size_t)t->numel * sizeof *sidx + 1);
    b->sym = malloc((size_t)t->numel * sizeof *b->sym + 1);
    b->zps = malloc((size_t)n * sizeof *b->zps + 1);
    b->scales = malloc((size_t)n * 4 + 1);
    if (!sidx || !b->sym || !b->zps || !b->scales) {
        free(sidx);
        return ECC_OOM(w->ctx);
    }
    memcpy(b->scales, q->scale->data, (size_t)n * 4);
    for (int64_t k = 0; k < n; k++) {
        double z = q->zero_point ? nearbyint(ecc_tensor_get_f64(q->zero_point, k)) : 0;
        b->zps[k] = (uint64_t)(int64_t)(z < lo ? lo : z > hi ? hi : z) & mask;
    }
    s->sym = b->sym;
    s->zero_points = b->zps;
    s->scales = b->scales;
    ecc_art_scale_index(s, sidx);
    const float *scale = q->scale->data;
    for (int64_t i = 0; i < t->numel; i++) {
        uint64_t k = sidx[i];
        double zk = q->zero_point ? nearbyint(ecc_tensor_get_f64(q->zero_point, (int64_t)k)) : 0;
        double r = (double)nearbyintf(masked_f32(v, i) / scale[k]) + zk;
        if (isnan(r)) r = zk;
        b->sym[i] = (uint64_t)(int64_t)(r < lo ? lo : r > hi ? hi : r) & mask;
    }
    free(sidx);
    return ECC_OK;
}

static ecc_status src_raw(art_writer *w, ecc_value *v, ecc_art_src *s, src_bufs *b) {
    const ecc_tensor *t = v->init;
    src_shape(s, v, t);
    s->repr = ECC_ART_REPR_RAW;
    b->sym = symbols_of(t);
    if (!b->sym) return ECC_OOM(w->ctx);
    if (v->mask && v->mask->keep && v->mask->keep->numel == t->numel) {
        const uint8_t *keep = v->mask->keep->data;
        for (int64_t i = 0; i < t->numel; i++)
            if (!keep[i]) b->sym[i] = 0; /* +0.0 / integer 0: lowering's value */
    }
    s->sym = b->sym;
    return ECC_OK;
}

/* ---------------- plan ---------------- */

/* Annotations the artifact cannot carry (activation quantizers, masks on
 * non-constants) must have been lowered. */
static ecc_status check_annotations(art_writer *w) {
    for (size_t i = 0; i < w->g->values.n; i++) {
        const ecc_value *v = w->g->values.items[i];
        if ((v->quant || v->mask) && !v->init)
            return ecc_ctx_error(w->ctx, ECC_E_USAGE,
                                 "value '%s' carries a %s annotation on a non-constant; lower the "
                                 "model before writing an artifact",
                                 v->name, v->quant ? "quantizer" : "mask");
    }
    return ECC_OK;
}

static ecc_status plan_item(art_writer *w, ecc_value *v) {
    ecc_status st = ECC_OK;
    ecc_art_src s;
    src_bufs b = {0};
    memset(&s, 0, sizeof s);
    art_item *it = &w->items[w->n_items];
    memset(it, 0, sizeof *it);
    it->v = v;
    const ecc_node *dq = ecc_strmap_get(&w->dq, v->name);
    if (dq) {
        ECC_TRY(src_dq(w, v, dq, &s, &b));
        it->scale = dq->inputs[1];
        it->zp = dq->n_inputs > 2 ? dq->inputs[2] : NULL;
    } else if (v->quant) {
        ECC_TRY(src_quantizer(w, v, &s, &b));
    } else {
        ECC_TRY(src_raw(w, v, &s, &b));
    }
    ECC_TRY(ecc_art_encode(w->ctx, w->encoder, &s, &it->enc));
    w->n_items++;
fail:
    src_bufs_free(&b);
    return st;
}

static bool storable(const ecc_value *v) {
    const ecc_tensor *t = v->init;
    return t && t->numel > 0 && t->rank <= ECC_ART_MAX_RANK && ecc_art_dtype_bits(t->dtype) &&
           t->data && strlen(v->name) <= UINT16_MAX;
}

static ecc_status plan(art_writer *w) {
    ecc_status st = ECC_OK;
    ECC_TRY(check_annotations(w));
    ECC_TRY(find_dq(w));
    w->items = calloc(w->g->inits.n + 1, sizeof *w->items);
    ECC_FAIL_IF(!w->items, w->ctx, ECC_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < w->g->inits.n; i++) {
        ecc_value *v = w->g->inits.items[i];
        if (ecc_strmap_get(&w->absorbed, v->name)) continue;
        if (!storable(v)) {
            ECC_FAIL_IF(v->quant, w->ctx, ECC_E_USAGE,
                        "weight '%s' carries a quantizer but cannot be packed", v->name);
            continue;
        }
        ECC_TRY(plan_item(w, v));
    }
fail:
    return st;
}

/* ---------------- graph section ---------------- */

/* A [0]-shaped tensor of t's type keeping its name, doc string and storage. */
static ecc_status placeholder(ecc_ctx *ctx, const ecc_tensor *t, ecc_tensor **out) {
    int64_t zero = 0;
    ecc_status st = ecc_tensor_create(ctx, t->dtype, 1, &zero, out);
    if (st) return st;
    ecc_tensor *p = *out;
    p->storage = t->storage == ECC_STORAGE_TYPED ? ECC_STORAGE_TYPED : ECC_STORAGE_RAW;
    if ((t->name && !(p->name = strdup(t->name))) ||
        (t->doc_string && !(p->doc_string = strdup(t->doc_string)))) {
        ecc_tensor_unref(p);
        *out = NULL;
        return ECC_OOM(ctx);
    }
    return ECC_OK;
}

/* Swaps the placeholder of v in (saved[k] gets the original) or back. */
static ecc_status swap_in(ecc_ctx *ctx, ecc_value *v, ecc_tensor **saved, size_t *k) {
    ecc_tensor *p = NULL;
    if (!v || !v->init || v->init->numel == 0) return ECC_OK;
    ecc_status st = placeholder(ctx, v->init, &p);
    if (st) return st;
    saved[(*k)++] = v->init;
    v->init = p;
    return ECC_OK;
}

/* The ONNX model with the stored initializers stripped. The model is only
 * borrowed: its tensors are swapped back before returning. */
static ecc_status build_graph(art_writer *w) {
    ecc_status st = ECC_OK;
    size_t cap = 3 * w->n_items + 1, k = 0;
    ecc_tensor **saved = calloc(cap, sizeof *saved);
    ecc_value **who = calloc(cap, sizeof *who);
    ECC_FAIL_IF(!saved || !who, w->ctx, ECC_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < w->n_items; i++) {
        ecc_value *vs[3] = {w->items[i].v, w->items[i].scale, w->items[i].zp};
        for (int j = 0; j < 3; j++) {
            size_t before = k;
            if (vs[j] && vs[j]->init && vs[j]->init->numel == 0) continue;
            ECC_TRY(swap_in(w->ctx, vs[j], saved, &k));
            if (k > before) who[before] = vs[j];
        }
    }
    ECC_TRY(ecc_onnx_write_buffer(w->ctx, w->m, &w->graph, &w->graph_len));
fail:
    while (k > 0) { /* restore the model exactly */
        k--;
        ecc_tensor_unref(who[k]->init);
        who[k]->init = saved[k];
    }
    free(saved);
    free(who);
    return st;
}

/* ---------------- metadata ---------------- */

typedef struct meta_buf {
    uint8_t *p;
    size_t n, cap;
    bool oom;
} meta_buf;

static void meta_put(meta_buf *b, const char *key, const char *value) {
    size_t kl = strlen(key), vl = strlen(value), need = b->n + 8 + kl + vl;
    if (b->oom) return;
    if (need > b->cap) {
        size_t cap = need * 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    uint8_t len[4];
    for (int i = 0; i < 4; i++) len[i] = (uint8_t)(kl >> (8 * i));
    memcpy(b->p + b->n, len, 4);
    memcpy(b->p + b->n + 4, key, kl);
    b->n += 4 + kl;
    for (int i = 0; i < 4; i++) len[i] = (uint8_t)(vl >> (8 * i));
    memcpy(b->p + b->n, len, 4);
    memcpy(b->p + b->n + 4, value, vl);
    b->n += 4 + vl;
}

/* SHA-256 (hex) and size of the file the model was read from; false if unreadable. */
static bool source_hash(const char *path, char hex[65], long long *bytes) {
    FILE *f = NULL; /* regular files only: a path swapped for a FIFO must not block */
    if (!path || ecc_input_fopen(NULL, path, &f, NULL) != ECC_OK) return false;
    ecc_sha256 s;
    uint8_t buf[65536], h[32];
    size_t n;
    ecc_sha256_init(&s);
    *bytes = 0;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        ecc_sha256_update(&s, buf, n);
        *bytes += (long long)n;
    }
    bool ok = !ferror(f);
    fclose(f);
    ecc_sha256_final(&s, h);
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", h[i]);
    return ok;
}

static ecc_status build_meta(art_writer *w) {
    meta_buf b = {0};
    char num[32], hex[65];
    long long bytes = 0;
    const char *pipeline = OPT_HAS(w->opts, pipeline) && w->opts->pipeline ? w->opts->pipeline : "";
    meta_put(&b, "producer", "ecc " ECC_VERSION_STRING);
    meta_put(&b, "pipeline", pipeline);
    if (source_hash(w->m->path, hex, &bytes)) {
        meta_put(&b, "source_sha256", hex);
        snprintf(num, sizeof num, "%lld", bytes);
        meta_put(&b, "source_bytes", num);
    }
    snprintf(num, sizeof num, "%lld", (long long)w->m->ir_version);
    meta_put(&b, "ir_version", num);
    size_t olen = 1;
    for (size_t i = 0; i < w->m->n_opsets; i++) olen += strlen(w->m->opsets[i].domain) + 32;
    char *ops = calloc(olen + 8, 1);
    if (ops) {
        for (size_t i = 0; i < w->m->n_opsets; i++) {
            const char *d = w->m->opsets[i].domain[0] ? w->m->opsets[i].domain : "ai.onnx";
            sprintf(ops + strlen(ops), "%s%s:%lld", i ? "," : "", d,
                    (long long)w->m->opsets[i].version);
        }
        meta_put(&b, "opsets", ops);
    }
    free(ops);
    meta_put(&b, "graph_format", "onnx-modelproto, stored initializers as [0] placeholders");
    if (b.oom || !ops) {
        free(b.p);
        return ECC_OOM(w->ctx);
    }
    w->meta = b.p;
    w->meta_len = b.n;
    return ECC_OK;
}

/* ---------------- file assembly ---------------- */

typedef struct out_file {
    FILE *fp;
    uint64_t at;
    int err; /* errno of the first failed write, 0 while none failed */
} out_file;

static void out_bytes(out_file *o, const void *p, size_t n) {
    if (n && !o->err && fwrite(p, 1, n, o->fp) != n) o->err = errno ? errno : EIO;
    o->at += n;
}

static void out_align(out_file *o) {
    static const uint8_t zeros[ECC_ART_ALIGN];
    out_bytes(o, zeros, (size_t)((ECC_ART_ALIGN - o->at % ECC_ART_ALIGN) % ECC_ART_ALIGN));
}

static ecc_status write_all(art_writer *w, FILE *fp) {
    ecc_status st = ECC_OK;
    size_t n = w->n_items + 2, strings = 1;
    ecc_art_entry *dir = calloc(n, sizeof *dir);
    uint8_t *frames[2] = {NULL, NULL}, rec[ECC_ART_ENTRY_SIZE];
    size_t sizes[2] = {0, 0};
    out_file o = {fp, 0, 0};
    ECC_FAIL_IF(!dir, w->ctx, ECC_E_INTERNAL, "out of memory");
    ECC_TRY(ecc_art_compress(w->ctx, w->encoder, w->meta, w->meta_len, &frames[0], &sizes[0]));
    ECC_TRY(ecc_art_compress(w->ctx, w->encoder, w->graph, w->graph_len, &frames[1], &sizes[1]));
    ecc_art_header h = {{0}, ECC_ART_VERSION_MAJOR, ECC_ART_VERSION_MINOR, 0, ECC_ART_HEADER_SIZE,
                        ECC_ART_ENTRY_SIZE, ECC_ART_ALIGN, {0}, 0};
    uint8_t hb[ECC_ART_HEADER_SIZE];
    memcpy(h.magic, ECC_ART_MAGIC, 8);
    ecc_art_header_write(&h, hb);
    out_bytes(&o, hb, sizeof hb);
    for (size_t i = 0; i < n; i++) {
        ecc_art_entry *e = &dir[i];
        out_align(&o);
        if (i < 2) {
            e->kind = i == 0 ? ECC_ART_KIND_METADATA : ECC_ART_KIND_GRAPH;
            e->raw_size = i == 0 ? w->meta_len : w->graph_len;
            e->comp_size = sizes[i];
            e->offset = o.at;
            out_bytes(&o, frames[i], sizes[i]);
            continue;
        }
        art_item *it = &w->items[i - 2];
        *e = it->enc.e;
        e->offset = o.at;
        e->name_offset = (uint32_t)strings;
        e->name_len = (uint16_t)strlen(it->v->name);
        strings += (size_t)e->name_len + 1;
        ECC_FAIL_IF(strings > UINT32_MAX, w->ctx, ECC_E_USAGE, "too many tensor names");
        out_bytes(&o, it->enc.frame, (size_t)e->comp_size);
    }
    out_align(&o);
    ecc_art_footer f;
    memset(&f, 0, sizeof f);
    f.directory_offset = o.at;
    f.n_entries = (uint32_t)n;
    f.strings_size = (uint32_t)strings;
    for (size_t i = 0; i < n; i++) {
        ecc_art_entry_write(&dir[i], rec);
        f.directory_crc = ecc_load_crc32(f.directory_crc, rec, sizeof rec);
        out_bytes(&o, rec, sizeof rec);
    }
    f.directory_crc = ecc_load_crc32(f.directory_crc, "", 1);
    out_bytes(&o, "", 1);
    for (size_t i = 0; i < w->n_items; i++) {
        const char *name = w->items[i].v->name;
        f.directory_crc = ecc_load_crc32(f.directory_crc, name, strlen(name) + 1);
        out_bytes(&o, name, strlen(name) + 1);
    }
    f.file_size = o.at + ECC_ART_FOOTER_SIZE;
    memcpy(f.magic, ECC_ART_FOOTER_MAGIC, 8);
    uint8_t fb[ECC_ART_FOOTER_SIZE];
    ecc_art_footer_write(&f, fb);
    out_bytes(&o, fb, sizeof fb);
    ECC_FAIL_IF(o.err, w->ctx, ECC_E_INTERNAL, "write failed: %s", strerror(o.err));
fail:
    free(frames[0]);
    free(frames[1]);
    free(dir);
    return st;
}

static void writer_release(art_writer *w) {
    for (size_t i = 0; i < w->n_items; i++) free(w->items[i].enc.frame);
    free(w->items);
    ecc_strmap_free(&w->dq);
    ecc_strmap_free(&w->absorbed);
    ecc_art_encoder_free(w->encoder);
    free(w->meta);
    free(w->graph);
}

ecc_status ecc_artifact_write_stream(ecc_ctx *ctx, const ecc_model *model,
                                     const ecc_write_options *opts, FILE *fp) {
    ecc_status st = ECC_OK;
    art_writer w;
    memset(&w, 0, sizeof w);
    w.ctx = ctx;
    w.m = model;
    w.opts = opts;
    w.g = model->graph;
    int level = OPT_HAS(opts, level) ? opts->level : 0;
    ECC_FAIL_IF(level < 0 || level > ECC_ART_MAX_LEVEL, ctx, ECC_E_USAGE,
                "zstd level %d out of range [1, %d]", level, ECC_ART_MAX_LEVEL);
    ECC_FAIL_IF(OPT_HAS(opts, external_data) && opts->external_data, ctx, ECC_E_USAGE,
                "external data is an ONNX feature; an .ecc artifact is always one file");
    ECC_TRY(ecc_art_encoder_create(ctx, level, &w.encoder));
    ECC_TRY(plan(&w));
    ECC_TRY(build_graph(&w));
    ECC_TRY(build_meta(&w));
    ECC_TRY(write_all(&w, fp));
fail:
    writer_release(&w);
    return st;
}

ecc_status ecc_artifact_write_file(ecc_ctx *ctx, const ecc_model *model, const char *path,
                                   const ecc_write_options *opts) {
    ecc_atomic_file f = {0};
    ecc_status st = ecc_atomic_open(ctx, path, &f);
    if (st) return st;
    st = ecc_artifact_write_stream(ctx, model, opts, f.fp);
    if (st) {
        ecc_atomic_abort(&f);
        return st;
    }
    return ecc_atomic_commit(ctx, &f);
}
