/* reader.c — reading ONNX files: map the file (refusing directories, empty
 * and unreadable files), scan the wire format, unpack with protobuf-c,
 * convert ModelProto-level fields, hand the graph to graph_read.c and verify
 * the result. (The public ecc_model_read, which also reads .ecc artifacts,
 * is in formats/artifact/model_io.c.) */
#include "onnx_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static ecc_status sdup(ecc_onnx_rd *r, const char *s, const char **out) {
    *out = NULL;
    if (!s) return ECC_OK;
    *out = ecc_arena_strdup(r->m->arena, s);
    return *out ? ECC_OK : ECC_OOM(r->ctx);
}

static bool same_domain(const char *a, const char *b) {
    if (!strcmp(a, "ai.onnx")) a = "";
    if (!strcmp(b, "ai.onnx")) b = "";
    return !strcmp(a, b);
}

/* The ai.onnx opset must be one ecc knows: the rules of a newer opset (or a
 * nonsense one, 2^62) are unknown, and passes would write new nodes under
 * it. Other domains only need a positive version. */
static ecc_status opset_check(ecc_ctx *ctx, const char *domain, int64_t version) {
    if (same_domain(domain, "") && (version < 1 || version > ECC_ONNX_OPSET_MAX))
        return ecc_ctx_error(ctx, ECC_E_INPUT,
                             "ai.onnx opset %lld is not one ecc knows (1 to %d); export the "
                             "model at opset %d or lower",
                             (long long)version, ECC_ONNX_OPSET_MAX, ECC_ONNX_OPSET_MAX);
    if (version < 1)
        return ecc_ctx_error(ctx, ECC_E_INPUT, "opset %lld of domain '%s' is not positive",
                             (long long)version, domain);
    return ECC_OK;
}

static ecc_status opsets_read(ecc_onnx_rd *r, const Onnx__ModelProto *mp) {
    ecc_status st = ECC_OK;
    ecc_model *m = r->m;
    if (!mp->n_opset_import) return ECC_OK;
    m->opsets = ecc_arena_alloc(m->arena, mp->n_opset_import * sizeof *m->opsets);
    ECC_FAIL_IF(!m->opsets, r->ctx, ECC_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < mp->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = mp->opset_import[i];
        const char *domain = o->domain ? o->domain : "";
        ECC_TRY(opset_check(r->ctx, domain, o->version));
        for (size_t k = 0; k < i; k++)
            ECC_FAIL_IF(same_domain(m->opsets[k].domain, domain), r->ctx, ECC_E_INPUT,
                        "opset_import lists domain '%s' twice", domain);
        ECC_TRY(sdup(r, domain, &m->opsets[i].domain));
        m->opsets[i].version = o->version;
    }
    m->n_opsets = mp->n_opset_import;
fail:
    return st;
}

static ecc_status metadata_read(ecc_onnx_rd *r, const Onnx__ModelProto *mp) {
    ecc_status st = ECC_OK;
    ecc_model *m = r->m;
    if (!mp->n_metadata_props) return ECC_OK;
    m->metadata = ecc_arena_alloc(m->arena, mp->n_metadata_props * sizeof *m->metadata);
    ECC_FAIL_IF(!m->metadata, r->ctx, ECC_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < mp->n_metadata_props; i++) {
        const Onnx__StringStringEntryProto *e = mp->metadata_props[i];
        ECC_TRY(sdup(r, e->key ? e->key : "", &m->metadata[i].key));
        ECC_TRY(sdup(r, e->value ? e->value : "", &m->metadata[i].value));
    }
    m->n_metadata = mp->n_metadata_props;
fail:
    return st;
}

static ecc_status model_read(ecc_onnx_rd *r, Onnx__ModelProto *mp) {
    ecc_status st = ECC_OK;
    ecc_model *m = r->m;
    ECC_FAIL_IF(!mp->graph, r->ctx, ECC_E_INPUT, "model has no graph");
    m->ir_version = mp->has_ir_version ? mp->ir_version : 0;
    m->model_version = mp->has_model_version ? mp->model_version : 0;
    ECC_TRY(sdup(r, mp->producer_name, &m->producer_name));
    ECC_TRY(sdup(r, mp->producer_version, &m->producer_version));
    ECC_TRY(sdup(r, mp->domain, &m->domain));
    ECC_TRY(sdup(r, mp->doc_string, &m->doc_string));
    ECC_TRY(opsets_read(r, mp));
    ECC_TRY(metadata_read(r, mp));
    ECC_TRY(ecc_onnx_blob_from(r->ctx, (ProtobufCMessage *const *)mp->functions, mp->n_functions,
                               &m->functions));
    ECC_TRY(ecc_onnx_blob_from(r->ctx, (ProtobufCMessage *const *)mp->training_info,
                               mp->n_training_info, &m->training_info));
    ECC_TRY(ecc_onnx_unknown_save(r->ctx, &mp->base, &m->unknown));
    ECC_TRY(ecc_onnx_graph_read(r, m->graph, mp->graph));
fail:
    return st;
}

/* protobuf-c returns NULL both for bytes it cannot decode and for a failed
 * allocation: an allocator that remembers the failure tells them apart, so
 * out of memory is reported as such (exit 3), never as a corrupt model. */
static void *pb_alloc(void *data, size_t size) {
    void *p = malloc(size);
    if (!p) *(bool *)data = true;
    return p;
}

static void pb_free(void *data, void *p) {
    (void)data;
    free(p);
}

ecc_status ecc_onnx_read_buffer(ecc_ctx *ctx, const void *buf, size_t len, const char *display_name,
                                const char *base_dir, ecc_model **out) {
    ecc_status st = ECC_OK;
    Onnx__ModelProto *mp = NULL;
    ecc_model *m = NULL;
    *out = NULL;
    if (display_name) ecc_ctx_set_subject(ctx, display_name);
    ECC_FAIL_IF(len == 0, ctx, ECC_E_INPUT, "empty file (0 bytes), not an ONNX model");
    ECC_TRY(ecc_onnx_wire_scan(ctx, &onnx__model_proto__descriptor, buf, len));
    bool oom = false;
    ProtobufCAllocator alloc = {pb_alloc, pb_free, &oom};
    mp = onnx__model_proto__unpack(&alloc, len, buf);
    ECC_FAIL_IF(!mp && oom, ctx, ECC_E_INTERNAL, "out of memory");
    ECC_FAIL_IF(!mp, ctx, ECC_E_INPUT, "protobuf-c could not decode the model");
    ECC_TRY(ecc_model_create(ctx, &m));
    ecc_onnx_rd r = {ctx, m, base_dir};
    ECC_TRY(sdup(&r, display_name, &m->path));
    ECC_TRY(sdup(&r, base_dir, &m->dir));
    ECC_TRY(model_read(&r, mp));
    onnx__model_proto__free_unpacked(mp, &alloc);
    mp = NULL;
    ECC_TRY(ecc_graph_verify(ctx, m->graph));
    *out = m;
    return ECC_OK;
fail:
    if (mp) onnx__model_proto__free_unpacked(mp, NULL); /* pb_free is plain free */
    ecc_model_free(m);
    return st;
}

/* Directory part of path ("." when there is none). malloc'd. */
static char *dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return strdup(".");
    if (slash == path) return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

/* Opens and checks the file: regular (ecc_input_open), non-empty. */
static ecc_status file_open(ecc_ctx *ctx, const char *path, int *fd, size_t *size) {
    ecc_status st = ECC_OK;
    int64_t n = 0;
    ECC_TRY(ecc_input_open(ctx, path, fd, &n));
    ECC_FAIL_IF(n == 0, ctx, ECC_E_INPUT, "empty file (0 bytes), not an ONNX model");
    ECC_FAIL_IF((uint64_t)n > SIZE_MAX, ctx, ECC_E_INPUT, "file too large");
    *size = (size_t)n;
    return ECC_OK;
fail:
    if (*fd >= 0) close(*fd);
    *fd = -1;
    return st;
}

ecc_status ecc_onnx_read_file(ecc_ctx *ctx, const char *path, ecc_model **out) {
    ecc_status st = ECC_OK;
    int fd = -1;
    size_t size = 0;
    void *map = MAP_FAILED;
    char *dir = NULL;
    *out = NULL;
    ecc_ctx_set_subject(ctx, path);
    ECC_TRY(file_open(ctx, path, &fd, &size));
    map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    ECC_FAIL_IF(map == MAP_FAILED, ctx, ECC_E_INTERNAL, "cannot map the file: %s", strerror(errno));
    (void)madvise(map, size, MADV_SEQUENTIAL);
    dir = dir_of(path);
    ECC_FAIL_IF(!dir, ctx, ECC_E_INTERNAL, "out of memory");
    ECC_TRY(ecc_onnx_read_buffer(ctx, map, size, path, dir, out));
fail:
    if (map != MAP_FAILED) munmap(map, size);
    if (fd >= 0) close(fd);
    free(dir);
    return st;
}
