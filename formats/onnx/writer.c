/* writer.c — writing ONNX files: IR → protobuf-c messages built in one arena
 * (tensor bytes are referenced, never copied) → packed bytes streamed into
 * an atomic output file. With external data, large tensors go to an atomic
 * side file at 4096-aligned offsets. A model over protobuf's 2 GB limit is
 * refused with a hint. (The public ecc_model_write, which also writes .ecc
 * artifacts, is in formats/artifact/model_io.c.) */
#include "onnx_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static ecc_status oom(ecc_ctx *ctx) { return ECC_OOM(ctx); }

/* Optional string fields are left out when empty. */
static char *opt_str(const char *s) { return s && *s ? (char *)s : NULL; }

static void *msg_new(ecc_onnx_wr *w, size_t size) { return ecc_arena_alloc(w->a, size); }

ecc_status ecc_onnx_wr_unpack(ecc_onnx_wr *w, const ProtobufCMessageDescriptor *d,
                              const ecc_bytes *b, ProtobufCMessage **out) {
    *out = protobuf_c_message_unpack(d, NULL, b->len, b->data);
    if (!*out)
        return ecc_ctx_error(w->ctx, ECC_E_INTERNAL, "corrupt packed %s kept in the IR", d->name);
    if (!ecc_ptrvec_push(&w->unpacked, *out)) {
        protobuf_c_message_free_unpacked(*out, NULL);
        return oom(w->ctx);
    }
    return ECC_OK;
}

/* Unpacks every item of a blob: an arena array of messages. */
static ecc_status blob_unpack(ecc_onnx_wr *w, const ecc_blob *b,
                              const ProtobufCMessageDescriptor *d, void ***out, size_t *n) {
    *n = 0;
    *out = NULL;
    if (!b->n) return ECC_OK;
    void **arr = ecc_arena_alloc(w->a, b->n * sizeof *arr);
    if (!arr) return oom(w->ctx);
    for (size_t i = 0; i < b->n; i++) {
        ProtobufCMessage *m;
        ecc_status st = ecc_onnx_wr_unpack(w, d, &b->items[i], &m);
        if (st != ECC_OK) return st;
        arr[i] = m;
    }
    *out = arr;
    *n = b->n;
    return ECC_OK;
}

/* ---------------- value types ---------------- */

static ecc_status shape_write(ecc_onnx_wr *w, const ecc_value *v, Onnx__TensorShapeProto **out) {
    Onnx__TensorShapeProto *s = msg_new(w, sizeof *s);
    if (!s) return oom(w->ctx);
    onnx__tensor_shape_proto__init(s);
    if (v->rank > 0) {
        s->dim = ecc_arena_alloc(w->a, (size_t)v->rank * sizeof *s->dim);
        if (!s->dim) return oom(w->ctx);
    }
    for (int32_t i = 0; i < v->rank; i++) {
        Onnx__TensorShapeProto__Dimension *d = msg_new(w, sizeof *d);
        if (!d) return oom(w->ctx);
        onnx__tensor_shape_proto__dimension__init(d);
        const ecc_dim *e = &v->dims[i];
        if (e->value >= 0) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = e->value;
        } else if (e->param) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d->dim_param = (char *)e->param;
        }
        d->denotation = (char *)e->denotation;
        s->dim[i] = d;
    }
    s->n_dim = v->rank > 0 ? (size_t)v->rank : 0;
    *out = s;
    return ECC_OK;
}

static ecc_status type_write(ecc_onnx_wr *w, const ecc_value *v, Onnx__TypeProto **out) {
    ecc_status st = ECC_OK;
    if (v->type_opaque.data) {
        ProtobufCMessage *m;
        ECC_TRY(ecc_onnx_wr_unpack(w, &onnx__type_proto__descriptor, &v->type_opaque, &m));
        *out = (Onnx__TypeProto *)m;
        return ECC_OK;
    }
    Onnx__TypeProto *tp = msg_new(w, sizeof *tp);
    Onnx__TypeProto__Tensor *tt = msg_new(w, sizeof *tt);
    ECC_FAIL_IF(!tp || !tt, w->ctx, ECC_E_INTERNAL, "out of memory");
    onnx__type_proto__init(tp);
    onnx__type_proto__tensor__init(tt);
    tt->has_elem_type = v->dtype != 0;
    tt->elem_type = v->dtype;
    if (v->rank >= 0) ECC_TRY(shape_write(w, v, &tt->shape));
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    tp->denotation = (char *)v->type_denotation;
    *out = tp;
fail:
    return st;
}

static ecc_status vi_write(ecc_onnx_wr *w, const ecc_value *v, Onnx__ValueInfoProto **out) {
    ecc_status st = ECC_OK;
    Onnx__ValueInfoProto *vi = msg_new(w, sizeof *vi);
    ECC_FAIL_IF(!vi, w->ctx, ECC_E_INTERNAL, "out of memory");
    onnx__value_info_proto__init(vi);
    vi->name = (char *)v->name;
    vi->doc_string = opt_str(v->doc_string);
    if (v->type_opaque.data || (v->flags & ECC_VALUE_TYPED)) ECC_TRY(type_write(w, v, &vi->type));
    ECC_TRY(ecc_onnx_unknown_load(w->ctx, w->a, &v->vi_unknown, &vi->base));
    *out = vi;
fail:
    return st;
}

static ecc_status vi_list(ecc_onnx_wr *w, const ecc_ptrvec *list, Onnx__ValueInfoProto ***out,
                          size_t *n) {
    *n = 0;
    if (!list->n) return ECC_OK;
    *out = ecc_arena_alloc(w->a, list->n * sizeof **out);
    if (!*out) return oom(w->ctx);
    for (size_t i = 0; i < list->n; i++) {
        ecc_status st = vi_write(w, list->items[i], &(*out)[i]);
        if (st != ECC_OK) return st;
    }
    *n = list->n;
    return ECC_OK;
}

/* ---------------- nodes and graphs ---------------- */

static ecc_status names_write(ecc_onnx_wr *w, ecc_value *const *vals, uint32_t n, char ***out) {
    if (!n) return ECC_OK;
    *out = ecc_arena_alloc(w->a, n * sizeof **out);
    if (!*out) return oom(w->ctx);
    for (uint32_t i = 0; i < n; i++)
        (*out)[i] = (char *)(vals[i] ? vals[i]->name : "");
    return ECC_OK;
}

static ecc_status node_write(ecc_onnx_wr *w, const ecc_node *n, Onnx__NodeProto **out) {
    ecc_status st = ECC_OK;
    Onnx__NodeProto *np = msg_new(w, sizeof *np);
    ECC_FAIL_IF(!np, w->ctx, ECC_E_INTERNAL, "out of memory");
    onnx__node_proto__init(np);
    ECC_TRY(names_write(w, n->inputs, n->n_inputs, &np->input));
    np->n_input = n->n_inputs;
    ECC_TRY(names_write(w, n->outputs, n->n_outputs, &np->output));
    np->n_output = n->n_outputs;
    np->name = opt_str(n->name);
    np->op_type = (char *)n->op_type;
    np->domain = opt_str(n->domain);
    np->doc_string = opt_str(n->doc_string);
    if (n->n_attrs) {
        np->attribute = ecc_arena_alloc(w->a, n->n_attrs * sizeof *np->attribute);
        ECC_FAIL_IF(!np->attribute, w->ctx, ECC_E_INTERNAL, "out of memory");
    }
    for (uint32_t i = 0; i < n->n_attrs; i++) {
        np->attribute[i] = msg_new(w, sizeof *np->attribute[i]);
        ECC_FAIL_IF(!np->attribute[i], w->ctx, ECC_E_INTERNAL, "out of memory");
        ECC_TRY(ecc_onnx_attr_write(w, &n->attrs[i], np->attribute[i]));
    }
    np->n_attribute = n->n_attrs;
    ECC_TRY(ecc_onnx_unknown_load(w->ctx, w->a, &n->unknown, &np->base));
    *out = np;
fail:
    return st;
}

static ecc_status nodes_and_inits(ecc_onnx_wr *w, const ecc_graph *g, Onnx__GraphProto *gp) {
    ecc_status st = ECC_OK;
    if (g->nodes.n) {
        gp->node = ecc_arena_alloc(w->a, g->nodes.n * sizeof *gp->node);
        ECC_FAIL_IF(!gp->node, w->ctx, ECC_E_INTERNAL, "out of memory");
    }
    for (size_t i = 0; i < g->nodes.n; i++)
        ECC_TRY(node_write(w, g->nodes.items[i], &gp->node[i]));
    gp->n_node = g->nodes.n;
    if (g->inits.n) {
        gp->initializer = ecc_arena_alloc(w->a, g->inits.n * sizeof *gp->initializer);
        ECC_FAIL_IF(!gp->initializer, w->ctx, ECC_E_INTERNAL, "out of memory");
    }
    for (size_t i = 0; i < g->inits.n; i++) {
        const ecc_value *v = g->inits.items[i];
        Onnx__TensorProto *tp = msg_new(w, sizeof *tp);
        ECC_FAIL_IF(!tp, w->ctx, ECC_E_INTERNAL, "out of memory");
        ECC_TRY(ecc_onnx_tensor_write(w, v->init, v->name, tp));
        gp->initializer[i] = tp;
    }
    gp->n_initializer = g->inits.n;
fail:
    return st;
}

ecc_status ecc_onnx_graph_write(ecc_onnx_wr *w, const ecc_graph *g, Onnx__GraphProto **out) {
    ecc_status st = ECC_OK;
    Onnx__GraphProto *gp = msg_new(w, sizeof *gp);
    void **arr;
    ECC_FAIL_IF(!gp, w->ctx, ECC_E_INTERNAL, "out of memory");
    onnx__graph_proto__init(gp);
    gp->name = opt_str(g->name);
    gp->doc_string = opt_str(g->doc_string);
    ECC_TRY(nodes_and_inits(w, g, gp));
    ECC_TRY(vi_list(w, &g->inputs, &gp->input, &gp->n_input));
    ECC_TRY(vi_list(w, &g->outputs, &gp->output, &gp->n_output));
    ECC_TRY(vi_list(w, &g->value_infos, &gp->value_info, &gp->n_value_info));
    ECC_TRY(blob_unpack(w, &g->sparse_inits, &onnx__sparse_tensor_proto__descriptor, &arr,
                        &gp->n_sparse_initializer));
    gp->sparse_initializer = (Onnx__SparseTensorProto **)arr;
    ECC_TRY(blob_unpack(w, &g->quant_annots, &onnx__tensor_annotation__descriptor, &arr,
                        &gp->n_quantization_annotation));
    gp->quantization_annotation = (Onnx__TensorAnnotation **)arr;
    ECC_TRY(ecc_onnx_unknown_load(w->ctx, w->a, &g->unknown, &gp->base));
    *out = gp;
fail:
    return st;
}

/* ---------------- model ---------------- */

static ecc_status opsets_write(ecc_onnx_wr *w, const ecc_model *m, Onnx__ModelProto *mp) {
    if (!m->n_opsets) return ECC_OK;
    mp->opset_import = ecc_arena_alloc(w->a, m->n_opsets * sizeof *mp->opset_import);
    if (!mp->opset_import) return oom(w->ctx);
    for (size_t i = 0; i < m->n_opsets; i++) {
        Onnx__OperatorSetIdProto *o = msg_new(w, sizeof *o);
        if (!o) return oom(w->ctx);
        onnx__operator_set_id_proto__init(o);
        o->domain = (char *)(m->opsets[i].domain ? m->opsets[i].domain : "");
        o->has_version = 1;
        o->version = m->opsets[i].version;
        mp->opset_import[i] = o;
    }
    mp->n_opset_import = m->n_opsets;
    return ECC_OK;
}

static ecc_status metadata_write(ecc_onnx_wr *w, const ecc_model *m, Onnx__ModelProto *mp) {
    if (!m->n_metadata) return ECC_OK;
    mp->metadata_props = ecc_arena_alloc(w->a, m->n_metadata * sizeof *mp->metadata_props);
    if (!mp->metadata_props) return oom(w->ctx);
    for (size_t i = 0; i < m->n_metadata; i++) {
        Onnx__StringStringEntryProto *e = msg_new(w, sizeof *e);
        if (!e) return oom(w->ctx);
        onnx__string_string_entry_proto__init(e);
        e->key = (char *)m->metadata[i].key;
        e->value = (char *)m->metadata[i].value;
        mp->metadata_props[i] = e;
    }
    mp->n_metadata_props = m->n_metadata;
    return ECC_OK;
}

static ecc_status model_build(ecc_onnx_wr *w, const ecc_model *m, Onnx__ModelProto *mp) {
    ecc_status st = ECC_OK;
    void **arr;
    onnx__model_proto__init(mp);
    ECC_FAIL_IF(!m->graph, w->ctx, ECC_E_INTERNAL, "model has no graph");
    mp->has_ir_version = m->ir_version != 0;
    mp->ir_version = m->ir_version;
    mp->producer_name = opt_str(m->producer_name);
    mp->producer_version = opt_str(m->producer_version);
    mp->domain = opt_str(m->domain);
    mp->has_model_version = m->model_version != 0;
    mp->model_version = m->model_version;
    mp->doc_string = opt_str(m->doc_string);
    ECC_TRY(opsets_write(w, m, mp));
    ECC_TRY(ecc_onnx_graph_write(w, m->graph, &mp->graph));
    ECC_TRY(metadata_write(w, m, mp));
    ECC_TRY(blob_unpack(w, &m->training_info, &onnx__training_info_proto__descriptor, &arr,
                        &mp->n_training_info));
    mp->training_info = (Onnx__TrainingInfoProto **)arr;
    ECC_TRY(
        blob_unpack(w, &m->functions, &onnx__function_proto__descriptor, &arr, &mp->n_functions));
    mp->functions = (Onnx__FunctionProto **)arr;
    ECC_TRY(ecc_onnx_unknown_load(w->ctx, w->a, &m->unknown, &mp->base));
    size_t size = protobuf_c_message_get_packed_size(&mp->base);
    ECC_FAIL_IF((uint64_t)size > ECC_ONNX_MAX_PACKED, w->ctx, ECC_E_INPUT,
                "the model would be %zu bytes, over protobuf's 2 GB limit for one file; "
                "store the weights in a side file (--external-data)",
                size);
fail:
    return st;
}

/* ---------------- writer state ---------------- */

/* Reads field f of opts only when the caller's struct has it. */
#define OPT_HAS(o, f) ((o) && (o)->struct_size >= offsetof(ecc_write_options, f) + sizeof((o)->f))

static bool side_name_ok(const char *s) {
    return *s && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..");
}

/* Side file name and path for output `path`. */
static ecc_status wr_side(ecc_onnx_wr *w, const char *path, const ecc_write_options *o) {
    ecc_status st = ECC_OK;
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
    const char *name = OPT_HAS(o, external_name) ? o->external_name : NULL;
    size_t dlen = slash ? (size_t)(slash - path) + 1 : 0;
    char *n = NULL;
    if (name) {
        ECC_FAIL_IF(!side_name_ok(name), w->ctx, ECC_E_USAGE,
                    "external data name '%s' must be a plain file name", name);
        n = ecc_arena_strdup(w->a, name);
    } else {
        n = ecc_arena_alloc(w->a, strlen(base) + 6);
        if (n) sprintf(n, "%s.data", base);
    }
    ECC_FAIL_IF(!n, w->ctx, ECC_E_INTERNAL, "out of memory");
    ECC_FAIL_IF(!strcmp(n, base), w->ctx, ECC_E_USAGE,
                "external data file '%s' would overwrite the model itself", n);
    char *p = ecc_arena_alloc(w->a, dlen + strlen(n) + 1);
    ECC_FAIL_IF(!p, w->ctx, ECC_E_INTERNAL, "out of memory");
    memcpy(p, path, dlen);
    strcpy(p + dlen, n);
    w->side_name = n;
    w->side_path = p;
fail:
    return st;
}

static ecc_status wr_init(ecc_ctx *ctx, ecc_onnx_wr *w, const char *path,
                          const ecc_write_options *o) {
    ecc_status st = ECC_OK;
    memset(w, 0, sizeof *w);
    w->ctx = ctx;
    w->a = ecc_arena_create();
    ECC_FAIL_IF(!w->a, ctx, ECC_E_INTERNAL, "out of memory");
    w->external_all = OPT_HAS(o, external_data) && o->external_data;
    /* a stream has no directory to put a side file in: every tensor inline */
    bool stream = path && ecc_output_is_stream(path);
    ECC_FAIL_IF(stream && w->external_all, ctx, ECC_E_USAGE,
                "external data needs a file output, not the stream %s", path);
    w->allow_external = path != NULL && !stream;
    w->external_min =
        OPT_HAS(o, external_min_bytes) && o->external_min_bytes ? o->external_min_bytes : 1024;
    if (path) ECC_TRY(wr_side(w, path, o));
fail:
    return st;
}

static void wr_done(ecc_onnx_wr *w) {
    for (size_t i = 0; i < w->unpacked.n; i++)
        protobuf_c_message_free_unpacked(w->unpacked.items[i], NULL);
    ecc_ptrvec_free(&w->unpacked);
    if (w->side_open) ecc_atomic_abort(&w->side);
    ecc_arena_free(w->a);
}

/* ---------------- output ---------------- */

typedef struct file_sink {
    ProtobufCBuffer base;
    FILE *fp;
    int err; /* errno of the first failed write, 0 while none failed */
} file_sink;

static void sink_append(ProtobufCBuffer *b, size_t len, const uint8_t *data) {
    file_sink *s = (file_sink *)b;
    if (!s->err && len && fwrite(data, 1, len, s->fp) != len) s->err = errno ? errno : EIO;
}

/* Streams the packed model into the atomic file, then commits side file and
 * model (the side file first, so a committed model never lacks its data). */
static ecc_status emit(ecc_onnx_wr *w, const Onnx__ModelProto *mp, const char *path) {
    ecc_status st = ECC_OK;
    ecc_atomic_file out = {0};
    bool side_committed = false;
    ECC_TRY(ecc_atomic_open(w->ctx, path, &out));
    file_sink sink = {{sink_append}, out.fp, 0};
    protobuf_c_message_pack_to_buffer(&mp->base, &sink.base);
    ECC_FAIL_IF(sink.err, w->ctx, ECC_E_INTERNAL, "cannot write %s: %s", out.final_path,
                strerror(sink.err));
    if (w->side_open) {
        w->side_open = false;
        ECC_TRY(ecc_atomic_commit(w->ctx, &w->side));
        side_committed = true;
    }
    st = ecc_atomic_commit(w->ctx, &out);
    if (st != ECC_OK && side_committed) unlink(w->side_path);
    return st;
fail:
    ecc_atomic_abort(&out);
    return st;
}

ecc_status ecc_onnx_write_file(ecc_ctx *ctx, const ecc_model *model, const char *path,
                               const ecc_write_options *opts) {
    ecc_status st = ECC_OK;
    ecc_onnx_wr w;
    Onnx__ModelProto mp;
    ecc_ctx_set_subject(ctx, path);
    ECC_TRY(wr_init(ctx, &w, path, opts));
    ECC_TRY(model_build(&w, model, &mp));
    ECC_TRY(emit(&w, &mp, path));
fail:
    wr_done(&w);
    return st;
}

ecc_status ecc_onnx_write_buffer(ecc_ctx *ctx, const ecc_model *model, uint8_t **out,
                                 size_t *out_len) {
    ecc_status st = ECC_OK;
    ecc_onnx_wr w;
    Onnx__ModelProto mp;
    *out = NULL;
    *out_len = 0;
    ECC_TRY(wr_init(ctx, &w, NULL, NULL));
    ECC_TRY(model_build(&w, model, &mp));
    size_t size = protobuf_c_message_get_packed_size(&mp.base);
    *out = malloc(size ? size : 1);
    ECC_FAIL_IF(!*out, ctx, ECC_E_INTERNAL, "out of memory (%zu bytes)", size);
    *out_len = protobuf_c_message_pack(&mp.base, *out);
fail:
    wr_done(&w);
    return st;
}
