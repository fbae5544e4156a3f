/* make_artifact_seeds.c — writes the .ecc seed corpus (testdata/artifact):
 * small artifacts that together use every encoding, plus hostile ones that
 * must be refused (testdata/artifact/bad). Deterministic: the same build
 * writes the same bytes.
 *
 *   make_artifact_seeds OUT_DIR      (testdata/gen/make_artifact_seeds.sh)
 *
 * good: small.ecc (raw, bitmask, 2:4, codebook, int4 block + zero points,
 * int64), quant.ecc (int8 per-channel + zero points + f16 scales, uint4
 * per-block sparse, int8 per-tensor scalar scale), dq.ecc (the
 * DequantizeLinear pattern of ONNX quantizers, int8 per-channel and int4
 * per-tensor), cluster.ecc (codebook + bitmask, codebook + N:M), typed.ecc
 * (testdata/edge/typed_fields.onnx), shared_zp.ecc (two int8 weights whose
 * DequantizeLinear nodes share a zero point). bad: truncated.ecc,
 * header_crc.ecc, directory_crc.ecc, frame_checksum.ecc, padding.ecc,
 * trailing.ecc, empty.ecc, onnx.ecc (an ONNX file), shared_zp_differs.ecc
 * (an entry fills the shared zero point with other values). payload: <artifact>_<k>.bin, the
 * 128-byte directory entry of each tensor followed by its decompressed
 * payload (what fuzz_artifact's "wrapped" mode feeds the payload decoders). */
#include "art_quant.h"
#include "../file_bytes.h"
#include "../../formats/artifact/artifact_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ecc_ctx *ctx;
static uint64_t rng = 7;

static float frand(void) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng >> 40) & 0xffffff) / (float)0xffffff * 2.0f - 1.0f;
}

static void check(ecc_status st) {
    if (st) {
        fprintf(stderr, "make_artifact_seeds: %s\n", ecc_ctx_message(ctx));
        exit(2);
    }
}

static ecc_model *new_model(void) {
    ecc_model *m = NULL;
    check(ecc_model_create(ctx, &m));
    m->ir_version = 10;
    m->producer_name = "ecc-testdata";
    check(ecc_model_set_opset(ctx, m, "", 21));
    return m;
}

/* Graph output reading v through an Identity. */
static void expose(ecc_model *m, ecc_value *v) {
    char name[256];
    ecc_value *out = NULL;
    ecc_node *n = NULL;
    snprintf(name, sizeof name, "%s_out", v->name);
    check(ecc_graph_add_value(ctx, m->graph, name, &out));
    check(ecc_graph_add_node(ctx, m->graph, "Identity", "", name, &v, 1, &out, 1, &n));
    out->flags |= ECC_VALUE_OUTPUT;
    if (!ecc_ptrvec_push(&m->graph->outputs, out)) check(ECC_E_INTERNAL);
}

static ecc_value *tensor(ecc_model *m, const char *name, int32_t dtype, int32_t rank,
                         const int64_t *dims, bool random) {
    ecc_value *v = NULL;
    ecc_tensor *t = NULL;
    check(ecc_graph_add_value(ctx, m->graph, name, &v));
    check(ecc_tensor_create(ctx, dtype, rank, dims, &t));
    if (random && dtype == ECC_DTYPE_FLOAT)
        for (int64_t i = 0; i < t->numel; i++) ((float *)t->data)[i] = frand();
    check(ecc_graph_set_initializer(ctx, m->graph, v, t));
    ecc_tensor_unref(t);
    return v;
}

static ecc_value *weight(ecc_model *m, const char *name, int32_t rank, const int64_t *dims) {
    ecc_value *v = tensor(m, name, ECC_DTYPE_FLOAT, rank, dims, true);
    expose(m, v);
    return v;
}

static void nm24(ecc_value *v) { /* 2 of every 4 along the last axis, varying positions */
    float *w = v->init->data;
    for (int64_t g = 0; g < v->init->numel / 4; g++) {
        int a = (int)(g % 4), b = (a + 1 + (int)(g / 4 % 3)) % 4;
        for (int j = 0; j < 4; j++)
            if (j != a && j != b) w[g * 4 + j] = 0.0f;
    }
}

static void write_to(ecc_model *m, const char *dir, const char *name) {
    char path[1024];
    ecc_write_options wo = {sizeof wo, false, 0, NULL, ECC_FORMAT_ECC, "seed", 0};
    snprintf(path, sizeof path, "%s/%s", dir, name);
    check(ecc_model_write(ctx, m, path, &wo));
    ecc_model_free(m);
}

static void small(const char *dir) {
    ecc_model *m = new_model();
    int64_t d[2] = {8, 16}, d1[1] = {5};
    weight(m, "raw", 1, d1);
    ecc_value *b = weight(m, "bitmask", 2, d);
    for (int64_t i = 0; i < 128; i++)
        if (i % 9) ((float *)b->init->data)[i] = 0;
    nm24(weight(m, "nm", 2, d));
    ecc_value *c = weight(m, "codebook", 2, d);
    for (int64_t i = 0; i < 128; i++) ((float *)c->init->data)[i] = (float)(i % 3) * 0.5f;
    check(aq_attach(ctx, weight(m, "int4_block", 2, d), 4, ECC_QUANT_BLOCK, 8, false, true));
    ecc_value *i = tensor(m, "int64", ECC_DTYPE_INT64, 1, d1, false);
    ((int64_t *)i->init->data)[2] = -7;
    expose(m, i);
    write_to(m, dir, "small.ecc");
}

static void quant(const char *dir) {
    ecc_model *m = new_model();
    int64_t d[2] = {6, 20};
    check(aq_attach(ctx, weight(m, "int8_channel", 2, d), 8, ECC_QUANT_CHANNEL, 0, true, true));
    ecc_value *u = weight(m, "uint4_block_sparse", 2, d);
    check(aq_prune(ctx, u, 0.75));
    check(aq_attach(ctx, u, 4, ECC_QUANT_BLOCK, 6, false, true));
    u->quant->is_signed = false;
    for (int64_t k = 0; k < u->quant->zero_point->numel; k++) ecc_tensor_set_f64(u->quant->zero_point, k, 0);
    u->quant->zero_point->dtype = ECC_DTYPE_UINT4;
    check(aq_attach(ctx, weight(m, "int8_tensor", 2, d), 8, ECC_QUANT_TENSOR, 0, false, false));
    write_to(m, dir, "quant.ecc");
}

/* x (integers), scale, zero point → DequantizeLinear → Identity → output.
 * With shared_zp the DequantizeLinear reads that zero point instead of its
 * own. */
static void dq(ecc_model *m, const char *name, int32_t qt, int64_t rows, int axis, bool per_channel,
               bool zp, ecc_value *shared_zp) {
    char n[128];
    int64_t d[2] = {rows, 6}, sd[1] = {rows};
    snprintf(n, sizeof n, "%s_q", name);
    ecc_value *x = tensor(m, n, qt, 2, d, false);
    for (int64_t i = 0; i < x->init->numel; i++) ecc_tensor_set_f64(x->init, i, (double)((i * 5) % 7) - 3);
    snprintf(n, sizeof n, "%s_scale", name);
    ecc_value *s = tensor(m, n, ECC_DTYPE_FLOAT, per_channel ? 1 : 0, sd, false);
    for (int64_t i = 0; i < s->init->numel; i++) ((float *)s->init->data)[i] = 0.01f * (float)(i + 1);
    ecc_value *z = shared_zp;
    if (zp && !z) {
        snprintf(n, sizeof n, "%s_zp", name);
        z = tensor(m, n, qt, per_channel ? 1 : 0, sd, false);
        for (int64_t i = 0; i < z->init->numel; i++) ecc_tensor_set_f64(z->init, i, (double)(i % 3) - 1);
    }
    ecc_value *y = NULL, *ins[3] = {x, s, z};
    ecc_node *node = NULL;
    check(ecc_graph_add_value(ctx, m->graph, name, &y));
    check(ecc_graph_add_node(ctx, m->graph, "DequantizeLinear", "", name, ins, zp ? 3 : 2, &y, 1, &node));
    if (per_channel) check(ecc_node_set_attr_int(ctx, node, "axis", axis));
    expose(m, y);
}

static void dqs(const char *dir) {
    ecc_model *m = new_model();
    dq(m, "w8", ECC_DTYPE_INT8, 12, 0, true, true, NULL);
    dq(m, "w4", ECC_DTYPE_INT4, 5, 0, false, false, NULL);
    write_to(m, dir, "dq.ecc");
}

static void cluster(const char *dir) {
    ecc_model *m = new_model();
    int64_t d[2] = {16, 24};
    const float lv[4] = {-0.75f, -0.25f, 0.5f, 1.0f};
    ecc_value *a = weight(m, "codebook_bitmask", 2, d), *b = weight(m, "codebook_nm", 2, d);
    for (int64_t i = 0; i < 384; i++) {
        ((float *)a->init->data)[i] = i % 7 ? 0.0f : lv[i % 4];
        ((float *)b->init->data)[i] = lv[(i * 3) % 4];
    }
    nm24(b);
    write_to(m, dir, "cluster.ecc");
}

static void spit(const char *dir, const char *name, const uint8_t *p, size_t n) {
    char path[1024];
    snprintf(path, sizeof path, "%s/bad/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(p, 1, n, f) != n)) {
        fprintf(stderr, "make_artifact_seeds: cannot write %s\n", path);
        exit(3);
    }
    fclose(f);
}

static void bad(const char *dir) {
    char path[1024];
    size_t n, on;
    snprintf(path, sizeof path, "%s/small.ecc", dir);
    uint8_t *good = file_bytes(path, SIZE_MAX, &n), *c = malloc(n + 64);
    uint8_t *onnx = file_bytes("testdata/edge/typed_fields.onnx", SIZE_MAX, &on);
    ecc_loader L;
    void *work = malloc(ecc_load_workspace_size());
    if (!good || !onnx || ecc_load_open_memory(&L, good, n, work, ecc_load_workspace_size())) exit(2);
    ecc_load_info in;
    uint32_t last = ecc_load_count(&L) - 1;
    if (ecc_load_info_at(&L, last, &in)) exit(2);
    spit(dir, "truncated.ecc", good, n / 2);
    memcpy(c, good, n);
    c[9] ^= 1;
    spit(dir, "header_crc.ecc", c, n);
    memcpy(c, good, n);
    c[L.dir_offset + 3] ^= 0x40;
    spit(dir, "directory_crc.ecc", c, n);
    memcpy(c, good, n);
    c[in.e.offset + in.e.comp_size / 2] ^= 0x08;
    spit(dir, "frame_checksum.ecc", c, n);
    memcpy(c, good, n);
    c[in.e.offset + in.e.comp_size] = 0x55; /* between frames */
    spit(dir, "padding.ecc", c, n);
    memcpy(c, good, n);
    memset(c + n, 0, 64);
    spit(dir, "trailing.ecc", c, n + 64);
    spit(dir, "empty.ecc", c, 0);
    spit(dir, "onnx.ecc", onnx, on);
    free(work);
    free(good);
    free(onnx);
    free(c);
}

/* Two int8 per-channel weights whose DequantizeLinear nodes share one
 * all-zero zero point (as ecc's lowering writes symmetric weights); with
 * `differs`, the second reads a zero point of its own, 0 but for a 1. */
static ecc_model *shared_zp_model(bool differs) {
    ecc_model *m = new_model();
    int64_t sd[1] = {4};
    ecc_value *zp = tensor(m, "zp", ECC_DTYPE_INT8, 1, sd, false);
    dq(m, "a", ECC_DTYPE_INT8, 4, 0, true, true, zp);
    if (differs) {
        ecc_value *other = tensor(m, "b_zp", ECC_DTYPE_INT8, 1, sd, false);
        ((int8_t *)other->init->data)[2] = 1;
        zp = other;
    }
    dq(m, "b", ECC_DTYPE_INT8, 4, 0, true, true, zp);
    /* b's integers scattered over the int8 range: its frame does not
     * compress, so it has the same size with either zero point */
    int8_t *b = ecc_graph_find(m->graph, "b_q")->init->data;
    for (int64_t i = 0; i < 24; i++) b[i] = (int8_t)((i * 97 + 31) % 251 - 125);
    return m;
}

/* shared_zp.ecc, and bad/shared_zp_differs.ecc: the same file with b_q's
 * frame taken from the artifact of shared_zp_model(true). The frame has the
 * same size and its own checksum, so the container stays valid; only the
 * restore can tell that entry b_q fills the shared zero point with other
 * values. */
static void shared_zp(const char *dir) {
    char path[1024], tmp[1024];
    size_t n, on;
    write_to(shared_zp_model(false), dir, "shared_zp.ecc");
    write_to(shared_zp_model(true), dir, "bad/shared_zp.tmp");
    snprintf(path, sizeof path, "%s/shared_zp.ecc", dir);
    snprintf(tmp, sizeof tmp, "%s/bad/shared_zp.tmp", dir);
    uint8_t *good = file_bytes(path, SIZE_MAX, &n), *other = file_bytes(tmp, SIZE_MAX, &on);
    ecc_loader L, LO;
    void *work = malloc(ecc_load_workspace_size()), *work_o = malloc(ecc_load_workspace_size());
    uint32_t i, io;
    ecc_load_info in, ino;
    if (!good || !other || ecc_load_open_memory(&L, good, n, work, ecc_load_workspace_size()) ||
        ecc_load_open_memory(&LO, other, on, work_o, ecc_load_workspace_size()) ||
        ecc_load_find(&L, "b_q", &i) || ecc_load_find(&LO, "b_q", &io) ||
        ecc_load_info_at(&L, i, &in) || ecc_load_info_at(&LO, io, &ino) ||
        in.e.comp_size != ino.e.comp_size) {
        fprintf(stderr, "make_artifact_seeds: cannot splice b_q's frame into shared_zp.ecc\n");
        exit(3);
    }
    memcpy(good + in.e.offset, other + ino.e.offset, (size_t)in.e.comp_size);
    spit(dir, "shared_zp_differs.ecc", good, n);
    remove(tmp);
    free(work);
    free(work_o);
    free(good);
    free(other);
}

/* Entry record + decompressed payload of every tensor of dir/name. */
static void payloads(const char *dir, const char *name) {
    char path[1024];
    size_t n;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    uint8_t *buf = file_bytes(path, SIZE_MAX, &n);
    void *work = malloc(ecc_load_workspace_size());
    ecc_loader L;
    if (!buf || ecc_load_open_memory(&L, buf, n, work, ecc_load_workspace_size())) exit(2);
    uint8_t *scratch = malloc((size_t)ecc_load_max_scratch(&L) + 8);
    for (uint32_t i = 0; i < ecc_load_count(&L); i++) {
        ecc_load_info in;
        if (ecc_load_info_at(&L, i, &in)) exit(2);
        if (in.e.kind != ECC_ART_KIND_TENSOR) continue;
        uint8_t *rec = malloc(ECC_ART_ENTRY_SIZE + (size_t)in.e.raw_size);
        ecc_art_entry_write(&in.e, rec);
        if (ecc_load_decode(&L, i, ECC_LOAD_PAYLOAD, rec + ECC_ART_ENTRY_SIZE, (size_t)in.e.raw_size,
                            scratch, (size_t)ecc_load_max_scratch(&L), NULL))
            exit(2);
        snprintf(path, sizeof path, "%s/payload/%.*s_%u.bin", dir, (int)(strlen(name) - 4), name,
                 (unsigned)i);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(rec, 1, ECC_ART_ENTRY_SIZE + (size_t)in.e.raw_size, f) !=
                      ECC_ART_ENTRY_SIZE + (size_t)in.e.raw_size) {
            fprintf(stderr, "make_artifact_seeds: cannot write %s\n", path);
            exit(3);
        }
        fclose(f);
        free(rec);
    }
    free(scratch);
    free(work);
    free(buf);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: make_artifact_seeds OUT_DIR\n");
        return 1;
    }
    ctx = ecc_ctx_create();
    small(argv[1]);
    quant(argv[1]);
    dqs(argv[1]);
    cluster(argv[1]);
    shared_zp(argv[1]);
    ecc_model *typed = NULL;
    check(ecc_model_read(ctx, "testdata/edge/typed_fields.onnx", &typed));
    write_to(typed, argv[1], "typed.ecc");
    bad(argv[1]);
    static const char *const good[] = {"small.ecc", "quant.ecc", "dq.ecc", "cluster.ecc",
                                       "shared_zp.ecc"};
    for (size_t k = 0; k < sizeof good / sizeof good[0]; k++) payloads(argv[1], good[k]);
    ecc_ctx_free(ctx);
    return 0;
}
