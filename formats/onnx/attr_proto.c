/* attr_proto.c — AttributeProto ⇄ ecc_attr. One table row per attribute
 * type: its name, the protobuf field that carries it, and how it is read
 * and written. Subgraphs recurse into graph_read.c / writer.c; sparse
 * tensors and type protos stay packed (opaque). */
#include "onnx_internal.h"

#include <string.h>

typedef struct attr_kind {
    const char *name;
    bool (*present)(const Onnx__AttributeProto *p); /* the carrying field is set */
    ecc_status (*read)(ecc_onnx_rd *r, ecc_node *n, Onnx__AttributeProto *p, ecc_attr *a);
    ecc_status (*write)(ecc_onnx_wr *w, const ecc_attr *a, Onnx__AttributeProto *p);
} attr_kind;

/* ---------------- presence ---------------- */
#define HAS(fn, expr)                                                                              \
    static bool fn(const Onnx__AttributeProto *p) { return (expr); }
HAS(has_none, p == NULL && false)
HAS(has_f, p->has_f)
HAS(has_i, p->has_i)
HAS(has_s, p->has_s)
HAS(has_t, p->t != NULL)
HAS(has_g, p->g != NULL)
HAS(has_floats, p->n_floats > 0)
HAS(has_ints, p->n_ints > 0)
HAS(has_strings, p->n_strings > 0)
HAS(has_tensors, p->n_tensors > 0)
HAS(has_graphs, p->n_graphs > 0)
HAS(has_sparse, p->sparse_tensor != NULL)
HAS(has_sparses, p->n_sparse_tensors > 0)
HAS(has_tp, p->tp != NULL)
HAS(has_tps, p->n_type_protos > 0)
#undef HAS

/* ---------------- reading ---------------- */

static ecc_status oom(ecc_ctx *ctx) { return ECC_OOM(ctx); }

static ecc_status bytes_dup(ecc_onnx_rd *r, const ProtobufCBinaryData *b, ecc_bytes *out) {
    uint8_t *d = ecc_arena_alloc(r->m->arena, b->len + 1);
    if (!d) return oom(r->ctx);
    if (b->len) memcpy(d, b->data, b->len);
    out->data = d;
    out->len = b->len;
    return ECC_OK;
}

static ecc_status rd_none(ecc_onnx_rd *r, ecc_node *n, Onnx__AttributeProto *p, ecc_attr *a) {
    (void)r, (void)n, (void)p, (void)a;
    return ECC_OK;
}
static ecc_status rd_f(ecc_onnx_rd *r, ecc_node *n, Onnx__AttributeProto *p, ecc_attr *a) {
    (void)r, (void)n;
    a->f = p->f;
    return ECC_OK;
}
static ecc_status rd_i(ecc_onnx_rd *r, ecc_node *n, Onnx__AttributeProto *p, ecc_attr *a) {
    (void)r, (void)n;
    a->i = p->i;
    return ECC_OK;
}
static ecc_status rd_s(ecc_onnx_rd *r, ecc_node *n, Onnx__AttributeProto *p, ecc_attr *a) {
    (void)n;
    return bytes_dup(r, &p->s, &a->s);
}
static ecc_status rd_t(ecc_onnx_rd *r, ecc_node *n, Onnx__AttributeProto *p, ecc_attr *a) {
    (void)n;
    return ecc_onnx_tensor_read(r, p->t, &a->t);
}

static ecc_status sub_read(ecc_onnx_rd *r, ecc_node *n, Onnx__GraphProto *gp, ecc_graph **out) {
    ecc_status st = ecc_graph_create_sub(r->ctx, r->m, n->graph, out);
    if (st != ECC_OK) return st;
    (*out)->owner = n;
    return ecc_onnx_graph_read(r, *out, gp);
}
static ecc_status rd_g(ecc_onnx_rd *r, ecc_node *n, Onnx__AttributeProto *p, ecc_attr *a) {
    return sub_read(r, n, p->g, &a->g);
}

static ecc_status rd_floats(ecc_onnx_rd *r, ecc_node *n, Onnx__AttributeProto *p, ecc_attr *a) {
    (void)n;
    a->floats = ecc_arena_memdup(r->m->arena, p->floats, p->n_floats * sizeof(float));
    a->n = p->n_floats;
    return a->floats || !a->n ? ECC_OK : oom(r->ctx);
}
static ecc_status rd_ints(ecc_onnx_rd *r, ecc_node *n, Onnx__AttributeProto *p, ecc_attr *a) {
    (void)n;
    a->ints = ecc_arena_memdup(r->m->arena, p->ints, p->n_ints * sizeof(int64_t));
    a->n = p->n_ints;
    return a->ints || !a->n ? ECC_OK : oom(r->ctx);
}
static ecc_status rd_strings(ecc_onnx_rd *r, ecc_node *n, Onnx__AttributeProto *p, ecc_attr *a) {
    (void)n;
    if (!p->n_strings) return ECC_OK;
    a->strings = ecc_arena_alloc(r->m->arena, p->n_strings * sizeof *a->strings);
    if (!a->strings) return oom(r->ctx);
    a->n = p->n_strings;
    for (size_t i = 0; i < p->n_strings; i++) {
        ecc_status st = bytes_dup(r, &p->strings[i], &a->strings[i]);
        if (st != ECC_OK) return st;
    }
    return ECC_OK;
}
static ecc_status rd_tensors(ecc_onnx_rd *r, ecc_node *n, Onnx__AttributeProto *p, ecc_attr *a) {
    (void)n;
    if (!p->n_tensors) return ECC_OK;
    a->tensors = ecc_arena_alloc(r->m->arena, p->n_tensors * sizeof *a->tensors);
    if (!a->tensors) return oom(r->ctx);
    a->n = p->n_tensors; /* zeroed entries: safe to release on failure */
    for (size_t i = 0; i < p->n_tensors; i++) {
        ecc_status st = ecc_onnx_tensor_read(r, p->tensors[i], &a->tensors[i]);
        if (st != ECC_OK) return st;
    }
    return ECC_OK;
}
static ecc_status rd_graphs(ecc_onnx_rd *r, ecc_node *n, Onnx__AttributeProto *p, ecc_attr *a) {
    if (!p->n_graphs) return ECC_OK;
    a->graphs = ecc_arena_alloc(r->m->arena, p->n_graphs * sizeof *a->graphs);
    if (!a->graphs) return oom(r->ctx);
    a->n = p->n_graphs;
    for (size_t i = 0; i < p->n_graphs; i++) {
        ecc_status st = sub_read(r, n, p->graphs[i], &a->graphs[i]);
        if (st != ECC_OK) return st;
    }
    return ECC_OK;
}

/* Packs n messages into a->opaque (arena). */
static ecc_status rd_opaque(ecc_onnx_rd *r, ecc_attr *a, ProtobufCMessage *const *msgs, size_t n) {
    if (!n) return ECC_OK;
    a->opaque = ecc_arena_alloc(r->m->arena, n * sizeof *a->opaque);
    if (!a->opaque) return oom(r->ctx);
    a->n = n;
    for (size_t i = 0; i < n; i++) {
        ecc_status st = ecc_onnx_pack_to(r->ctx, r->m->arena, msgs[i], &a->opaque[i]);
        if (st != ECC_OK) return st;
    }
    return ECC_OK;
}
static ecc_status rd_sparse(ecc_onnx_rd *r, ecc_node *n, Onnx__AttributeProto *p, ecc_attr *a) {
    (void)n;
    ProtobufCMessage *m = &p->sparse_tensor->base;
    return rd_opaque(r, a, &m, 1);
}
static ecc_status rd_sparses(ecc_onnx_rd *r, ecc_node *n, Onnx__AttributeProto *p, ecc_attr *a) {
    (void)n;
    return rd_opaque(r, a, (ProtobufCMessage *const *)p->sparse_tensors, p->n_sparse_tensors);
}
static ecc_status rd_tp(ecc_onnx_rd *r, ecc_node *n, Onnx__AttributeProto *p, ecc_attr *a) {
    (void)n;
    ProtobufCMessage *m = &p->tp->base;
    return rd_opaque(r, a, &m, 1);
}
static ecc_status rd_tps(ecc_onnx_rd *r, ecc_node *n, Onnx__AttributeProto *p, ecc_attr *a) {
    (void)n;
    return rd_opaque(r, a, (ProtobufCMessage *const *)p->type_protos, p->n_type_protos);
}

/* ---------------- writing ---------------- */

static ecc_status wr_none(ecc_onnx_wr *w, const ecc_attr *a, Onnx__AttributeProto *p) {
    (void)w, (void)a, (void)p;
    return ECC_OK;
}
static ecc_status wr_f(ecc_onnx_wr *w, const ecc_attr *a, Onnx__AttributeProto *p) {
    (void)w;
    p->has_f = 1;
    p->f = a->f;
    return ECC_OK;
}
static ecc_status wr_i(ecc_onnx_wr *w, const ecc_attr *a, Onnx__AttributeProto *p) {
    (void)w;
    p->has_i = 1;
    p->i = a->i;
    return ECC_OK;
}
static ecc_status wr_s(ecc_onnx_wr *w, const ecc_attr *a, Onnx__AttributeProto *p) {
    (void)w;
    p->has_s = 1;
    p->s.len = a->s.len;
    p->s.data = a->s.data;
    return ECC_OK;
}

static ecc_status tensor_msg(ecc_onnx_wr *w, const ecc_tensor *t, Onnx__TensorProto **out) {
    *out = ecc_arena_alloc(w->a, sizeof **out);
    if (!*out) return oom(w->ctx);
    return ecc_onnx_tensor_write(w, t, NULL, *out);
}
static ecc_status wr_t(ecc_onnx_wr *w, const ecc_attr *a, Onnx__AttributeProto *p) {
    if (!a->t)
        return ecc_ctx_error(w->ctx, ECC_E_INTERNAL, "attribute '%s' has no tensor",
                             ECC_Q(a->name));
    return tensor_msg(w, a->t, &p->t);
}
static ecc_status wr_g(ecc_onnx_wr *w, const ecc_attr *a, Onnx__AttributeProto *p) {
    if (!a->g)
        return ecc_ctx_error(w->ctx, ECC_E_INTERNAL, "attribute '%s' has no graph", ECC_Q(a->name));
    return ecc_onnx_graph_write(w, a->g, &p->g);
}
static ecc_status wr_floats(ecc_onnx_wr *w, const ecc_attr *a, Onnx__AttributeProto *p) {
    (void)w;
    p->n_floats = a->n;
    p->floats = a->floats;
    return ECC_OK;
}
static ecc_status wr_ints(ecc_onnx_wr *w, const ecc_attr *a, Onnx__AttributeProto *p) {
    (void)w;
    p->n_ints = a->n;
    p->ints = a->ints;
    return ECC_OK;
}
static ecc_status wr_strings(ecc_onnx_wr *w, const ecc_attr *a, Onnx__AttributeProto *p) {
    if (!a->n) return ECC_OK;
    p->strings = ecc_arena_alloc(w->a, a->n * sizeof *p->strings);
    if (!p->strings) return oom(w->ctx);
    p->n_strings = a->n;
    for (size_t i = 0; i < a->n; i++) {
        p->strings[i].len = a->strings[i].len;
        p->strings[i].data = a->strings[i].data;
    }
    return ECC_OK;
}
static ecc_status wr_tensors(ecc_onnx_wr *w, const ecc_attr *a, Onnx__AttributeProto *p) {
    if (!a->n) return ECC_OK;
    p->tensors = ecc_arena_alloc(w->a, a->n * sizeof *p->tensors);
    if (!p->tensors) return oom(w->ctx);
    p->n_tensors = a->n;
    for (size_t i = 0; i < a->n; i++) {
        ecc_status st = tensor_msg(w, a->tensors[i], &p->tensors[i]);
        if (st != ECC_OK) return st;
    }
    return ECC_OK;
}
static ecc_status wr_graphs(ecc_onnx_wr *w, const ecc_attr *a, Onnx__AttributeProto *p) {
    if (!a->n) return ECC_OK;
    p->graphs = ecc_arena_alloc(w->a, a->n * sizeof *p->graphs);
    if (!p->graphs) return oom(w->ctx);
    p->n_graphs = a->n;
    for (size_t i = 0; i < a->n; i++) {
        ecc_status st = ecc_onnx_graph_write(w, a->graphs[i], &p->graphs[i]);
        if (st != ECC_OK) return st;
    }
    return ECC_OK;
}

/* Unpacks the attribute's opaque protos into an arena array of messages. */
static ecc_status wr_opaque(ecc_onnx_wr *w, const ecc_attr *a, const ProtobufCMessageDescriptor *d,
                            void ***out, size_t *n) {
    size_t count = a->opaque ? a->n : 0;
    *n = 0;
    if (!count) return ECC_OK;
    void **arr = ecc_arena_alloc(w->a, count * sizeof *arr);
    if (!arr) return oom(w->ctx);
    for (size_t i = 0; i < count; i++) {
        ProtobufCMessage *m;
        ecc_status st = ecc_onnx_wr_unpack(w, d, &a->opaque[i], &m);
        if (st != ECC_OK) return st;
        arr[i] = m;
    }
    *out = arr;
    *n = count;
    return ECC_OK;
}
static ecc_status wr_sparse(ecc_onnx_wr *w, const ecc_attr *a, Onnx__AttributeProto *p) {
    void **arr = NULL;
    size_t n;
    ecc_status st = wr_opaque(w, a, &onnx__sparse_tensor_proto__descriptor, &arr, &n);
    if (st == ECC_OK && n) p->sparse_tensor = arr[0];
    return st;
}
static ecc_status wr_sparses(ecc_onnx_wr *w, const ecc_attr *a, Onnx__AttributeProto *p) {
    void **arr = NULL;
    ecc_status st =
        wr_opaque(w, a, &onnx__sparse_tensor_proto__descriptor, &arr, &p->n_sparse_tensors);
    p->sparse_tensors = (Onnx__SparseTensorProto **)arr;
    return st;
}
static ecc_status wr_tp(ecc_onnx_wr *w, const ecc_attr *a, Onnx__AttributeProto *p) {
    void **arr = NULL;
    size_t n;
    ecc_status st = wr_opaque(w, a, &onnx__type_proto__descriptor, &arr, &n);
    if (st == ECC_OK && n) p->tp = arr[0];
    return st;
}
static ecc_status wr_tps(ecc_onnx_wr *w, const ecc_attr *a, Onnx__AttributeProto *p) {
    void **arr = NULL;
    ecc_status st = wr_opaque(w, a, &onnx__type_proto__descriptor, &arr, &p->n_type_protos);
    p->type_protos = (Onnx__TypeProto **)arr;
    return st;
}

/* ---------------- the table ---------------- */

static const attr_kind k_kinds[] = {
    [ECC_ATTR_UNDEFINED] = {"UNDEFINED", has_none, rd_none, wr_none},
    [ECC_ATTR_FLOAT] = {"FLOAT", has_f, rd_f, wr_f},
    [ECC_ATTR_INT] = {"INT", has_i, rd_i, wr_i},
    [ECC_ATTR_STRING] = {"STRING", has_s, rd_s, wr_s},
    [ECC_ATTR_TENSOR] = {"TENSOR", has_t, rd_t, wr_t},
    [ECC_ATTR_GRAPH] = {"GRAPH", has_g, rd_g, wr_g},
    [ECC_ATTR_FLOATS] = {"FLOATS", has_floats, rd_floats, wr_floats},
    [ECC_ATTR_INTS] = {"INTS", has_ints, rd_ints, wr_ints},
    [ECC_ATTR_STRINGS] = {"STRINGS", has_strings, rd_strings, wr_strings},
    [ECC_ATTR_TENSORS] = {"TENSORS", has_tensors, rd_tensors, wr_tensors},
    [ECC_ATTR_GRAPHS] = {"GRAPHS", has_graphs, rd_graphs, wr_graphs},
    [ECC_ATTR_SPARSE_TENSOR] = {"SPARSE_TENSOR", has_sparse, rd_sparse, wr_sparse},
    [ECC_ATTR_SPARSE_TENSORS] = {"SPARSE_TENSORS", has_sparses, rd_sparses, wr_sparses},
    [ECC_ATTR_TYPE_PROTO] = {"TYPE_PROTO", has_tp, rd_tp, wr_tp},
    [ECC_ATTR_TYPE_PROTOS] = {"TYPE_PROTOS", has_tps, rd_tps, wr_tps},
};
#define N_KINDS ((int)(sizeof k_kinds / sizeof k_kinds[0]))
_Static_assert(sizeof k_kinds / sizeof k_kinds[0] == ECC_ATTR_TYPE_PROTOS + 1,
               "one row per attribute type");

/* Singular kinds must carry their value; lists may be empty. */
static bool kind_is_singular(int t) {
    return t == ECC_ATTR_FLOAT || t == ECC_ATTR_INT || t == ECC_ATTR_STRING ||
           t == ECC_ATTR_TENSOR || t == ECC_ATTR_GRAPH || t == ECC_ATTR_SPARSE_TENSOR ||
           t == ECC_ATTR_TYPE_PROTO;
}

/* Declared type (or the one inferred from the set field in old files),
 * checked against the fields that are actually present. */
static ecc_status attr_type(ecc_ctx *ctx, const Onnx__AttributeProto *p, const char *where,
                            int *out) {
    ecc_status st = ECC_OK;
    int type = p->has_type ? (int)p->type : 0, present = 0, n_present = 0;
    for (int k = 1; k < N_KINDS; k++)
        if (k_kinds[k].present(p)) present = k, n_present++;
    ECC_FAIL_IF(type < 0 || type >= N_KINDS, ctx, ECC_E_INPUT, "%s: unknown type %d", where, type);
    if (!p->has_type && n_present == 1) type = present;
    ECC_FAIL_IF(type && kind_is_singular(type) && !k_kinds[type].present(p), ctx, ECC_E_INPUT,
                "%s: type %s does not match its value", where, k_kinds[type].name);
    ECC_FAIL_IF(n_present > 1 || (n_present == 1 && present != type), ctx, ECC_E_INPUT,
                "%s: type %s does not match its value (field for %s is set)", where,
                k_kinds[type].name, k_kinds[present].name);
    *out = type;
fail:
    return st;
}

ecc_status ecc_onnx_attr_read(ecc_onnx_rd *r, ecc_node *n, Onnx__AttributeProto *p, ecc_attr *a) {
    ecc_status st = ECC_OK;
    ecc_arena *ar = r->m->arena;
    char where[340];
    snprintf(where, sizeof where, "attribute '%s' of node '%s' (%s)", ECC_Q(p->name),
             ECC_Q(n->name), ECC_Q(n->op_type));
    ECC_FAIL_IF(!p->name || !*p->name, r->ctx, ECC_E_INPUT,
                "node '%s' (%s): attribute without a name", ECC_Q(n->name), ECC_Q(n->op_type));
    int type = 0;
    ECC_TRY(attr_type(r->ctx, p, where, &type));
    a->type = type;
    a->name = ecc_arena_strdup(ar, p->name);
    a->doc_string = ecc_arena_strdup(ar, p->doc_string);
    a->ref_attr_name = ecc_arena_strdup(ar, p->ref_attr_name);
    ECC_FAIL_IF(!a->name || (p->doc_string && !a->doc_string) ||
                    (p->ref_attr_name && !a->ref_attr_name),
                r->ctx, ECC_E_INTERNAL, "out of memory");
    ECC_TRY(ecc_onnx_unknown_save(r->ctx, &p->base, &a->unknown));
    ECC_TRY(k_kinds[type].read(r, n, p, a));
fail:
    return st;
}

ecc_status ecc_onnx_attr_write(ecc_onnx_wr *w, const ecc_attr *a, Onnx__AttributeProto *p) {
    ecc_status st = ECC_OK;
    onnx__attribute_proto__init(p);
    ECC_FAIL_IF(a->type < 0 || a->type >= N_KINDS, w->ctx, ECC_E_INTERNAL,
                "attribute '%s' has invalid type %d", ECC_Q(a->name), (int)a->type);
    p->name = (char *)a->name;
    p->doc_string = a->doc_string && *a->doc_string ? (char *)a->doc_string : NULL;
    p->ref_attr_name = a->ref_attr_name && *a->ref_attr_name ? (char *)a->ref_attr_name : NULL;
    p->has_type = a->type != 0;
    p->type = (Onnx__AttributeProto__AttributeType)a->type;
    ECC_TRY(k_kinds[a->type].write(w, a, p));
    ECC_TRY(ecc_onnx_unknown_load(w->ctx, w->a, &a->unknown, &p->base));
fail:
    return st;
}
