/* artifact_reader.c — restores an ONNX model from a .ecc artifact.
 *
 * The container is parsed and every entry decoded by the loader
 * (ecc_load.c). The graph section is read with the ONNX reader; then each
 * TENSOR entry fills its placeholder initializer with the stored tensor:
 *   - RAW and CODEBOOK: the tensor itself;
 *   - QUANT: the integer tensor, and the scale and zero point placeholders of
 *     the DequantizeLinear that reads it (or, with ECC_ART_EF_INSERT_DQ, new
 *     scale/zero point initializers and that DequantizeLinear);
 *   - with `dequantize`, QUANT weights become float32 initializers instead
 *     and their DequantizeLinear disappears (the values are exactly what the
 *     DequantizeLinear computes).
 * A scale or zero point shared by several DequantizeLinear nodes is in
 * every entry that reads it, with the same values. A placeholder that is
 * missing, of another type or filled twice (a shared scale or zero point
 * with other values), or a non-zero byte between frames, is an error
 * (ECC_E_INPUT naming the file and the entry). */
#include "artifact_internal.h"
#include "../onnx/onnx_io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define ROPT_HAS(o, f) \
    ((o) && (o)->struct_size >= offsetof(ecc_artifact_read_options, f) + sizeof((o)->f))

/* ---------------- files ---------------- */

ecc_status ecc_art_map(ecc_ctx *ctx, const char *path, const uint8_t **out, size_t *out_len) {
    ecc_status st = ECC_OK;
    int64_t size = 0;
    int fd = -1;
    *out = NULL;
    *out_len = 0;
    ECC_TRY(ecc_input_open(ctx, path, &fd, &size));
    if (size == 0) {
        *out = (const uint8_t *)"";
        goto fail;
    }
    ECC_FAIL_IF((uint64_t)size > SIZE_MAX, ctx, ECC_E_INPUT, "file too large");
    void *map = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
    ECC_FAIL_IF(map == MAP_FAILED, ctx, ECC_E_INTERNAL, "cannot map the file: %s", strerror(errno));
    *out = map;
    *out_len = (size_t)size;
fail:
    if (fd >= 0) close(fd);
    return st;
}

void ecc_art_unmap(const uint8_t *p, size_t len) {
    if (p && len) munmap((void *)p, len);
}

ecc_status ecc_art_load_status(ecc_ctx *ctx, const ecc_loader *L, int rc) {
    ecc_status st = rc == ECC_LOAD_E_FORMAT ? ECC_E_INPUT
                    : rc == ECC_LOAD_E_USAGE || rc == ECC_LOAD_E_NOT_FOUND ? ECC_E_INPUT
                                                                           : ECC_E_INTERNAL;
    return ecc_ctx_error(ctx, st, "%s", ecc_load_error(L));
}

/* ---------------- the reader ---------------- */

typedef struct art_reader {
    ecc_ctx *ctx;
    ecc_loader L;
    void *work;
    uint8_t *scratch;
    ecc_model *m;
    ecc_graph *g;
    bool dequantize;
    uint32_t *dq_entries;    /* QUANT entries restored through the graph's DQ */
    size_t n_dq;
} art_reader;

#define LTRY(r, call)                                                                    \
    do {                                                                                 \
        int rc_ = (call);                                                                \
        if (rc_) {                                                                       \
            st = ecc_art_load_status((r)->ctx, &(r)->L, rc_);                            \
            goto fail;                                                                   \
        }                                                                                \
    } while (0)

static ecc_status reader_open(art_reader *r, const void *buf, size_t len) {
    ecc_status st = ECC_OK;
    r->work = malloc(ecc_load_workspace_size());
    ECC_FAIL_IF(!r->work, r->ctx, ECC_E_INTERNAL, "out of memory");
    LTRY(r, ecc_load_open_memory(&r->L, buf, len, r->work, ecc_load_workspace_size()));
    r->scratch = malloc((size_t)ecc_load_max_scratch(&r->L) + 8);
    ECC_FAIL_IF(!r->scratch, r->ctx, ECC_E_INTERNAL, "out of memory (%llu bytes of scratch)",
                (unsigned long long)ecc_load_max_scratch(&r->L));
fail:
    return st;
}

/* Decodes entry i in form `what` into a new tensor of dtype/rank/dims. */
static ecc_status decode_tensor(art_reader *r, uint32_t i, ecc_load_what what, int32_t dtype,
                                int32_t rank, const int64_t *dims, ecc_tensor **out) {
    ecc_status st = ECC_OK;
    ecc_load_info info;
    *out = NULL;
    LTRY(r, ecc_load_info_at(&r->L, i, &info));
    ECC_TRY(ecc_tensor_create(r->ctx, dtype, rank, dims, out));
    LTRY(r, ecc_load_decode(&r->L, i, what, (*out)->data, (*out)->nbytes, r->scratch,
                            (size_t)ecc_load_max_scratch(&r->L), NULL));
fail:
    if (st) {
        ecc_tensor_unref(*out);
        *out = NULL;
    }
    return st;
}

static ecc_status read_graph(art_reader *r, const char *display) {
    ecc_status st = ECC_OK;
    uint32_t gi;
    ecc_load_info info;
    uint8_t *buf = NULL;
    LTRY(r, ecc_load_find_kind(&r->L, ECC_ART_KIND_GRAPH, &gi));
    LTRY(r, ecc_load_info_at(&r->L, gi, &info));
    ECC_FAIL_IF(info.e.raw_size > ECC_ONNX_MAX_PACKED, r->ctx, ECC_E_INPUT,
                "graph section of %llu bytes is over protobuf's limit",
                (unsigned long long)info.e.raw_size);
    buf = malloc((size_t)info.e.raw_size + 1);
    ECC_FAIL_IF(!buf, r->ctx, ECC_E_INTERNAL, "out of memory");
    LTRY(r, ecc_load_decode(&r->L, gi, ECC_LOAD_PAYLOAD, buf, (size_t)info.e.raw_size,
                            r->scratch, (size_t)ecc_load_max_scratch(&r->L), NULL));
    ECC_TRY(ecc_onnx_read_buffer(r->ctx, buf, (size_t)info.e.raw_size, display, NULL, &r->m));
    r->g = r->m->graph;
fail:
    free(buf);
    return st;
}

/* ---------------- placeholders ---------------- */

/* Names in messages: one line (control characters become '?'); the function
 * declares char nb[2][200]. */
#define NAME(info) ecc_art_printable((info)->name, nb[0], sizeof nb[0])
#define NAME_V(v) ecc_art_printable((v)->name, nb[1], sizeof nb[1])

static bool is_placeholder(const art_reader *r, const ecc_value *v, int32_t dtype) {
    const ecc_tensor *t = v ? v->init : NULL;
    return t && v->graph == r->g && t->rank == 1 && t->dims[0] == 0 && t->dtype == dtype;
}

/* Replaces v's placeholder by t (which takes over its name, doc string,
 * storage and unknown fields). */
static ecc_status fill(art_reader *r, ecc_value *v, ecc_tensor *t) {
    ecc_tensor *ph = v->init;
    free(t->name);
    free(t->doc_string);
    t->name = ph->name;
    t->doc_string = ph->doc_string;
    t->storage = ph->storage;
    t->unknown = ph->unknown;
    ph->name = ph->doc_string = NULL;
    ph->unknown = (ecc_blob){0};
    return ecc_graph_set_initializer(r->ctx, r->g, v, t); /* v's declared type stays as read */
}

/* Dims of the scales (and zero points) of a QUANT entry. */
static int32_t scale_dims(const ecc_art_entry *e, int64_t *dims) {
    switch (e->granularity) {
    case ECC_ART_GRAN_TENSOR:
        dims[0] = 1;
        return (e->flags & ECC_ART_EF_SCALAR_SCALE) ? 0 : 1;
    case ECC_ART_GRAN_CHANNEL: dims[0] = e->dims[e->axis]; return 1;
    default:
        for (unsigned i = 0; i < e->rank; i++)
            dims[i] = i == e->axis ? (e->dims[i] + e->block_size - 1) / e->block_size : e->dims[i];
        return e->rank;
    }
}

/* A scale or zero point that several DequantizeLinear nodes share (ecc's
 * lowering shares all-zero weight zero points by shape) is carried by every
 * entry that reads it: the first fills the placeholder, the others must
 * hold the same values. */
static bool filled_shared(const art_reader *r, const ecc_value *v, ecc_load_what what) {
    return (what == ECC_LOAD_SCALES || what == ECC_LOAD_ZERO_POINTS) && v && v->init &&
           v->graph == r->g && v->init->numel > 0;
}

static ecc_status fill_from(art_reader *r, uint32_t i, const ecc_load_info *info, ecc_value *v,
                            ecc_load_what what, int32_t dtype, int32_t rank, const int64_t *dims) {
    char nb[2][200];
    ecc_tensor *t = NULL;
    ecc_status st = ECC_OK;
    bool shared = filled_shared(r, v, what);
    ECC_FAIL_IF(!shared && !is_placeholder(r, v, dtype), r->ctx, ECC_E_INPUT,
                "entry %u '%s': the graph has no %s placeholder '%s' for it (missing, another "
                "type, or filled twice)",
                (unsigned)i, NAME(info), ecc_dtype_name(dtype), v ? NAME_V(v) : "?");
    ECC_TRY(decode_tensor(r, i, what, dtype, rank, dims, &t));
    if (shared) {
        ECC_FAIL_IF(!ecc_tensor_equal(v->init, t), r->ctx, ECC_E_INPUT,
                    "entry %u '%s': '%s', shared with an earlier entry, holds other values there",
                    (unsigned)i, NAME(info), NAME_V(v));
    } else {
        ECC_TRY(fill(r, v, t));
    }
fail:
    ecc_tensor_unref(t);
    return st;
}

/* The DequantizeLinear reading v as its input 0. */
static ecc_node *dq_of(const ecc_value *v) {
    for (uint32_t u = 0; u < v->n_uses; u++) {
        ecc_node *n = v->uses[u].node;
        if (v->uses[u].slot == 0 && strcmp(n->op_type, "DequantizeLinear") == 0 &&
            (!n->domain[0] || strcmp(n->domain, "ai.onnx") == 0) && n->n_inputs >= 2)
            return n;
    }
    return NULL;
}

static ecc_status restore_graph_dq(art_reader *r, uint32_t i, const ecc_load_info *info,
                                   ecc_value *v) {
    char nb[2][200];
    ecc_status st = ECC_OK;
    const ecc_art_entry *e = &info->e;
    int64_t sd[ECC_ART_MAX_RANK];
    int32_t srank = scale_dims(e, sd);
    ecc_node *dq = v ? dq_of(v) : NULL;
    ecc_value *zp = dq && dq->n_inputs > 2 ? dq->inputs[2] : NULL;
    ECC_FAIL_IF(!dq, r->ctx, ECC_E_INPUT, "entry %u '%s': no DequantizeLinear reads it",
                (unsigned)i, NAME(info));
    ECC_FAIL_IF(!zp != !(e->flags & ECC_ART_EF_ZERO_POINT), r->ctx, ECC_E_INPUT,
                "entry %u '%s': zero point presence differs from the graph", (unsigned)i,
                NAME(info));
    ECC_TRY(fill_from(r, i, info, v, ECC_LOAD_STORED, e->dtype, e->rank, e->dims));
    ECC_TRY(fill_from(r, i, info, dq->inputs[1], ECC_LOAD_SCALES, e->scale_dtype, srank, sd));
    if (zp) ECC_TRY(fill_from(r, i, info, zp, ECC_LOAD_ZERO_POINTS, e->dtype, srank, sd));
    r->dq_entries[r->n_dq++] = i;
fail:
    return st;
}

/* A new initializer named after base holding t. */
static ecc_status new_init(art_reader *r, const char *base, ecc_tensor *t, ecc_value **out) {
    ecc_status st = ECC_OK;
    const char *name = ecc_graph_lookup(r->g, base) ? ecc_graph_unique_name(r->g, base)
                                                    : ecc_arena_strdup(r->m->arena, base);
    ECC_FAIL_IF(!name, r->ctx, ECC_E_INTERNAL, "out of memory");
    ECC_TRY(ecc_graph_add_value(r->ctx, r->g, name, out));
    ECC_TRY(ecc_graph_set_initializer(r->ctx, r->g, *out, t));
fail:
    return st;
}

/* INSERT_DQ: v (a float placeholder) becomes the output of a new
 * DequantizeLinear over new integer / scale / zero point initializers. */
static ecc_status restore_insert_dq(art_reader *r, uint32_t i, const ecc_load_info *info,
                                    ecc_value *v) {
    char nb[2][200];
    ecc_status st = ECC_OK;
    const ecc_art_entry *e = &info->e;
    ecc_tensor *t[3] = {NULL, NULL, NULL};
    ecc_value *ins[3] = {NULL, NULL, NULL};
    ecc_node *node = NULL;
    int64_t sd[ECC_ART_MAX_RANK];
    int32_t srank = scale_dims(e, sd);
    bool zp = e->flags & ECC_ART_EF_ZERO_POINT;
    char base[600];
    ECC_FAIL_IF(!is_placeholder(r, v, e->scale_dtype) || (v->flags & ECC_VALUE_INPUT), r->ctx,
                ECC_E_INPUT, "entry %u '%s': the graph has no %s weight placeholder for it",
                (unsigned)i, NAME(info), ecc_dtype_name(e->scale_dtype));
    ECC_TRY(decode_tensor(r, i, ECC_LOAD_STORED, e->dtype, e->rank, e->dims, &t[0]));
    ECC_TRY(decode_tensor(r, i, ECC_LOAD_SCALES, e->scale_dtype, srank, sd, &t[1]));
    if (zp) ECC_TRY(decode_tensor(r, i, ECC_LOAD_ZERO_POINTS, e->dtype, srank, sd, &t[2]));
    static const char *const suffix[3] = {"_quantized", "_scale", "_zero_point"};
    for (int k = 0; k < (zp ? 3 : 2); k++) {
        snprintf(base, sizeof base, "%.500s%s", v->name, suffix[k]);
        ECC_TRY(new_init(r, base, t[k], &ins[k]));
    }
    ecc_graph_drop_initializer(r->g, v);
    snprintf(base, sizeof base, "%.500s_dequantize", v->name);
    ECC_TRY(ecc_graph_insert_node(r->ctx, r->g, 0, "DequantizeLinear", "", base, ins, zp ? 3 : 2,
                                  &v, 1, &node));
    if (e->granularity != ECC_ART_GRAN_TENSOR) ECC_TRY(ecc_node_set_attr_int(r->ctx, node, "axis", e->axis));
    if (e->granularity == ECC_ART_GRAN_BLOCK)
        ECC_TRY(ecc_node_set_attr_int(r->ctx, node, "block_size", e->block_size));
    int64_t need = (e->granularity == ECC_ART_GRAN_BLOCK || e->bits == 4) ? 21
                   : e->granularity == ECC_ART_GRAN_CHANNEL ? 13 : 10;
    if (ecc_model_opset(r->m, "") < need) ECC_TRY(ecc_model_set_opset(r->ctx, r->m, "", need));
fail:
    for (int k = 0; k < 3; k++) ecc_tensor_unref(t[k]);
    return st;
}

static ecc_status restore_entry(art_reader *r, uint32_t i) {
    ecc_status st = ECC_OK;
    ecc_load_info info;
    LTRY(r, ecc_load_info_at(&r->L, i, &info));
    if (info.e.kind != ECC_ART_KIND_TENSOR) return ECC_OK;
    ecc_value *v = ecc_graph_find(r->g, info.name);
    const ecc_art_entry *e = &info.e;
    if (e->repr != ECC_ART_REPR_QUANT) {
        ECC_TRY(fill_from(r, i, &info, v, ECC_LOAD_STORED, e->dtype, e->rank, e->dims));
    } else if (e->flags & ECC_ART_EF_INSERT_DQ) {
        if (r->dequantize && e->scale_dtype == ECC_DTYPE_FLOAT)
            ECC_TRY(fill_from(r, i, &info, v, ECC_LOAD_FLOAT32, ECC_DTYPE_FLOAT, e->rank, e->dims));
        else ECC_TRY(restore_insert_dq(r, i, &info, v));
    } else {
        ECC_TRY(restore_graph_dq(r, i, &info, v));
    }
fail:
    return st;
}

/* ---------------- dequantize ---------------- */

static void drop_if_unused(ecc_graph *g, ecc_value *v) {
    if (v && v->init && v->n_uses == 0 && !(v->flags & (ECC_VALUE_INPUT | ECC_VALUE_OUTPUT)))
        ecc_graph_drop_initializer(g, v);
}

/* Replaces the DequantizeLinear of QUANT entry i by a float32 initializer. */
static ecc_status fold_dq(art_reader *r, uint32_t i) {
    ecc_status st = ECC_OK;
    ecc_load_info info;
    ecc_tensor *t = NULL;
    LTRY(r, ecc_load_info_at(&r->L, i, &info));
    ecc_value *x = ecc_graph_find(r->g, info.name);
    ecc_node *dq;
    while (x && (dq = dq_of(x))) {
        ecc_value *y = dq->outputs[0], *s = dq->inputs[1], *z = dq->n_inputs > 2 ? dq->inputs[2] : NULL;
        const ecc_attr *od = ecc_node_attr(dq, "output_dtype");
        if (!y || (y->flags & ECC_VALUE_OUTPUT) || info.e.scale_dtype != ECC_DTYPE_FLOAT ||
            (od && od->i != ECC_DTYPE_FLOAT) || dq->n_outputs != 1) {
            ecc_log(r->ctx, 1, "dequantize: keeping DequantizeLinear '%s' (not a float32 weight)",
                    dq->name ? dq->name : "");
            break;
        }
        ECC_TRY(decode_tensor(r, i, ECC_LOAD_FLOAT32, ECC_DTYPE_FLOAT, info.e.rank, info.e.dims, &t));
        ecc_graph_remove_node(r->g, dq);
        ECC_TRY(ecc_graph_set_initializer(r->ctx, r->g, y, t));
        ecc_tensor_unref(t);
        t = NULL;
        drop_if_unused(r->g, s);
        drop_if_unused(r->g, z);
    }
    drop_if_unused(r->g, x);
fail:
    ecc_tensor_unref(t);
    return st;
}

/* ---------------- entry points ---------------- */

/* Every section that is not the graph or a tensor (the metadata) is decoded
 * too, its frame checksum checked and its records walked, though restoring
 * does not need it: unpack refuses exactly what verify refuses. */
static ecc_status check_sections(art_reader *r) {
    ecc_status st = ECC_OK;
    uint8_t *buf = NULL;
    for (uint32_t i = 0; i < ecc_load_count(&r->L); i++) {
        ecc_load_info info;
        LTRY(r, ecc_load_info_at(&r->L, i, &info));
        if (info.e.kind == ECC_ART_KIND_TENSOR || info.e.kind == ECC_ART_KIND_GRAPH) continue;
        buf = malloc((size_t)info.e.raw_size + 1);
        ECC_FAIL_IF(!buf, r->ctx, ECC_E_INTERNAL, "out of memory");
        LTRY(r, ecc_load_decode(&r->L, i, ECC_LOAD_PAYLOAD, buf, (size_t)info.e.raw_size,
                                r->scratch, (size_t)ecc_load_max_scratch(&r->L), NULL));
        size_t pos = 0, kl, vl;
        const char *k, *v;
        int more = info.e.kind == ECC_ART_KIND_METADATA;
        while (more > 0) more = ecc_load_meta_next(buf, (size_t)info.e.raw_size, &pos, &k, &kl,
                                                   &v, &vl);
        ECC_FAIL_IF(more < 0, r->ctx, ECC_E_INPUT, "entry %u (metadata): malformed records",
                    (unsigned)i);
        free(buf);
        buf = NULL;
    }
fail:
    free(buf);
    return st;
}

/* Every byte outside header, frames, directory, strings and footer is zero
 * (the loader never reads them; a reader that restores models insists). */
static ecc_status check_gaps(art_reader *r, const uint8_t *p) {
    ecc_status st = ECC_OK;
    uint64_t at = ECC_ART_HEADER_SIZE;
    for (uint32_t i = 0; i <= ecc_load_count(&r->L); i++) {
        ecc_load_info in;
        uint64_t next = r->L.dir_offset;
        if (i < ecc_load_count(&r->L)) {
            LTRY(r, ecc_load_info_at(&r->L, i, &in));
            next = in.e.offset;
        }
        for (uint64_t k = at; k < next; k++)
            ECC_FAIL_IF(p[k], r->ctx, ECC_E_INPUT, "non-zero byte at offset %llu between frames",
                        (unsigned long long)k);
        if (i < ecc_load_count(&r->L)) at = in.e.offset + in.e.comp_size;
    }
fail:
    return st;
}

ecc_status ecc_artifact_read_buffer(ecc_ctx *ctx, const void *buf, size_t len,
                                    const char *display_name,
                                    const ecc_artifact_read_options *opts, ecc_model **out) {
    ecc_status st = ECC_OK;
    art_reader r;
    memset(&r, 0, sizeof r);
    r.ctx = ctx;
    r.dequantize = ROPT_HAS(opts, dequantize) && opts->dequantize;
    *out = NULL;
    ecc_ctx_set_subject(ctx, display_name);
    ECC_TRY(reader_open(&r, buf, len));
    ECC_TRY(check_gaps(&r, buf));
    ECC_TRY(check_sections(&r));
    ECC_TRY(read_graph(&r, display_name));
    r.dq_entries = calloc((size_t)ecc_load_count(&r.L) + 1, sizeof *r.dq_entries);
    ECC_FAIL_IF(!r.dq_entries, ctx, ECC_E_INTERNAL, "out of memory");
    for (uint32_t i = 0; i < ecc_load_count(&r.L); i++) ECC_TRY(restore_entry(&r, i));
    if (r.dequantize)
        for (size_t k = 0; k < r.n_dq; k++) ECC_TRY(fold_dq(&r, r.dq_entries[k]));
    ECC_TRY(ecc_graph_toposort(ctx, r.g));
    ECC_TRY(ecc_graph_verify(ctx, r.g));
    *out = r.m;
    r.m = NULL;
fail:
    ecc_model_free(r.m);
    free(r.dq_entries);
    free(r.scratch);
    free(r.work);
    return st;
}

ecc_status ecc_artifact_read(ecc_ctx *ctx, const char *path,
                             const ecc_artifact_read_options *opts, ecc_model **out) {
    const uint8_t *p;
    size_t n;
    *out = NULL;
    ecc_ctx_set_subject(ctx, path);
    ecc_status st = ecc_art_map(ctx, path, &p, &n);
    if (st) return st;
    st = ecc_artifact_read_buffer(ctx, p, n, path, opts, out);
    ecc_art_unmap(p, n);
    return st;
}
