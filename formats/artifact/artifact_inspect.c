/* artifact_inspect.c — `ecc inspect` and `ecc verify` for .ecc artifacts.
 * Inspect lists the metadata, the sections and every tensor with its
 * encoding, dense / packed / stored bytes and ratio (text, or JSON through
 * the same cJSON document). Verify opens the artifact (header, footer and
 * directory checksums, every entry's bounds), decodes every frame in every
 * form (zstd checksums, payload checks) and restores the model (graph,
 * placeholders, zero bytes between frames). Inspect checks the container and
 * the metadata frame only. */
#include "artifact_internal.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

typedef struct art_view {
    ecc_ctx *ctx;
    ecc_loader L;
    void *work;
    uint8_t *scratch;
} art_view;

static ecc_status view_open(art_view *a, const uint8_t *p, size_t n) {
    a->work = malloc(ecc_load_workspace_size());
    if (!a->work) return ECC_OOM(a->ctx);
    int rc = ecc_load_open_memory(&a->L, p, n, a->work, ecc_load_workspace_size());
    if (rc) return ecc_art_load_status(a->ctx, &a->L, rc);
    a->scratch = malloc((size_t)ecc_load_max_scratch(&a->L) + 8);
    return a->scratch ? ECC_OK : ECC_OOM(a->ctx);
}

static void view_close(art_view *a) {
    free(a->work);
    free(a->scratch);
}

/* ---------------- description of an encoding ---------------- */

static void describe(const ecc_load_info *in, char *buf, size_t size) {
    const ecc_art_entry *e = &in->e;
    size_t n = 0;
    const char *dt = ecc_dtype_name(e->dtype);
    if (e->repr == ECC_ART_REPR_QUANT) {
        n += (size_t)snprintf(buf + n, size - n, "%s per-%s", dt, ecc_art_gran_name(e->granularity));
        if (e->granularity == ECC_ART_GRAN_BLOCK)
            n += (size_t)snprintf(buf + n, size - n, " %u", (unsigned)e->block_size);
        if (e->granularity != ECC_ART_GRAN_TENSOR)
            n += (size_t)snprintf(buf + n, size - n, " axis %u", (unsigned)e->axis);
        if (e->scale_store != ECC_ART_SCALE_ASIS)
            n += (size_t)snprintf(buf + n, size - n, ", %s scales", ecc_art_scale_store_name(e->scale_store));
        if (e->flags & ECC_ART_EF_ZERO_POINT) n += (size_t)snprintf(buf + n, size - n, ", zp");
    } else if (e->repr == ECC_ART_REPR_CODEBOOK) {
        n += (size_t)snprintf(buf + n, size - n, "codebook %u x %s, %u-bit indices",
                              (unsigned)e->codebook_size, dt, (unsigned)e->bits);
    } else {
        n += (size_t)snprintf(buf + n, size - n, "raw %s", dt);
    }
    if (n >= size) return;
    if (e->layout == ECC_ART_LAYOUT_BITMASK)
        snprintf(buf + n, size - n, " + bitmask (%.1f%% stored)",
                 100.0 * (double)e->count / (double)in->numel);
    else if (e->layout == ECC_ART_LAYOUT_NM)
        snprintf(buf + n, size - n, " + %u:%u axis %u", (unsigned)e->nm_n, (unsigned)e->nm_m,
                 (unsigned)e->nm_axis);
}

/* Bytes of the tensor as a dense float (QUANT: its scale type) or its own type. */
static double dense_bytes(const ecc_load_info *in) {
    int32_t dt = in->e.repr == ECC_ART_REPR_QUANT ? in->e.scale_dtype : in->e.dtype;
    return (double)in->numel * (double)ecc_art_dtype_bits(dt) / 8.0;
}

/* ---------------- the document ---------------- */

static ecc_status add_metadata(art_view *a, uint32_t i, const ecc_load_info *in, cJSON *meta) {
    uint8_t *buf = malloc((size_t)in->e.raw_size + 1);
    if (!buf) return ECC_OOM(a->ctx);
    int rc = ecc_load_decode(&a->L, i, ECC_LOAD_PAYLOAD, buf, (size_t)in->e.raw_size, a->scratch,
                             (size_t)ecc_load_max_scratch(&a->L), NULL);
    size_t pos = 0, kl, vl;
    const char *k, *v;
    char key[256], *val;
    int more;
    while (!rc && (more = ecc_load_meta_next(buf, (size_t)in->e.raw_size, &pos, &k, &kl, &v, &vl)) != 0) {
        if (more < 0) {
            free(buf);
            return ecc_ctx_error(a->ctx, ECC_E_INPUT, "malformed metadata section");
        }
        snprintf(key, sizeof key, "%.*s", (int)(kl < 255 ? kl : 255), k);
        val = malloc(vl + 1);
        if (val) {
            memcpy(val, v, vl);
            val[vl] = 0;
            cJSON_AddStringToObject(meta, key, val);
        }
        free(val);
    }
    free(buf);
    return rc ? ecc_art_load_status(a->ctx, &a->L, rc) : ECC_OK;
}

static void add_tensor(const ecc_load_info *in, cJSON *arr, double *tot) {
    cJSON *o = cJSON_CreateObject(), *dims = cJSON_CreateArray();
    char enc[200];
    describe(in, enc, sizeof enc);
    cJSON_AddStringToObject(o, "name", in->name);
    cJSON_AddStringToObject(o, "dtype", ecc_dtype_name(in->e.dtype));
    for (unsigned d = 0; d < in->e.rank; d++) cJSON_AddItemToArray(dims, cJSON_CreateNumber((double)in->e.dims[d]));
    cJSON_AddItemToObject(o, "dims", dims);
    cJSON_AddStringToObject(o, "encoding", enc);
    cJSON_AddStringToObject(o, "repr", ecc_art_repr_name(in->e.repr));
    cJSON_AddStringToObject(o, "layout", ecc_art_layout_name(in->e.layout));
    cJSON_AddNumberToObject(o, "bits", in->e.bits);
    cJSON_AddNumberToObject(o, "stored_values", (double)in->e.count);
    double dense = dense_bytes(in);
    cJSON_AddNumberToObject(o, "dense_bytes", dense);
    cJSON_AddNumberToObject(o, "packed_bytes", (double)in->e.raw_size);
    cJSON_AddNumberToObject(o, "stored_bytes", (double)in->e.comp_size);
    cJSON_AddNumberToObject(o, "ratio", dense / (double)in->e.comp_size);
    cJSON_AddItemToArray(arr, o);
    tot[0] += dense;
    tot[1] += (double)in->e.raw_size;
    tot[2] += (double)in->e.comp_size;
}

static ecc_status build_doc(art_view *a, const char *path, size_t size, cJSON *doc) {
    ecc_status st = ECC_OK;
    cJSON *meta = cJSON_AddObjectToObject(doc, "metadata");
    cJSON *sections = cJSON_AddArrayToObject(doc, "sections");
    cJSON *tensors = cJSON_AddArrayToObject(doc, "tensors");
    double tot[3] = {0, 0, 0};
    cJSON_AddStringToObject(doc, "artifact", path);
    cJSON_AddNumberToObject(doc, "bytes", (double)size);
    cJSON_AddStringToObject(doc, "format_version", "1.0");
    for (uint32_t i = 0; i < ecc_load_count(&a->L); i++) {
        ecc_load_info in;
        int rc = ecc_load_info_at(&a->L, i, &in);
        if (rc) return ecc_art_load_status(a->ctx, &a->L, rc);
        if (in.e.kind == ECC_ART_KIND_TENSOR) {
            add_tensor(&in, tensors, tot);
            continue;
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "kind", ecc_art_kind_name(in.e.kind));
        cJSON_AddNumberToObject(o, "offset", (double)in.e.offset);
        cJSON_AddNumberToObject(o, "raw_bytes", (double)in.e.raw_size);
        cJSON_AddNumberToObject(o, "stored_bytes", (double)in.e.comp_size);
        cJSON_AddItemToArray(sections, o);
        if (in.e.kind == ECC_ART_KIND_METADATA) ECC_TRY(add_metadata(a, i, &in, meta));
    }
    cJSON *t = cJSON_AddObjectToObject(doc, "totals");
    cJSON_AddNumberToObject(t, "tensors", cJSON_GetArraySize(tensors));
    cJSON_AddNumberToObject(t, "dense_bytes", tot[0]);
    cJSON_AddNumberToObject(t, "packed_bytes", tot[1]);
    cJSON_AddNumberToObject(t, "stored_bytes", tot[2]);
    cJSON_AddNumberToObject(t, "zstd_saving", tot[1] > 0 ? 1.0 - tot[2] / tot[1] : 0.0);
    cJSON_AddNumberToObject(t, "ratio_tensors", tot[2] > 0 ? tot[0] / tot[2] : 0.0);
    cJSON_AddNumberToObject(t, "ratio_file", size ? tot[0] / (double)size : 0.0);
fail:
    return st;
}

static const char *str_of(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItem(o, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static double num_of(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItem(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0.0;
}

static void print_text(const cJSON *doc, FILE *out) {
    const cJSON *meta = cJSON_GetObjectItem(doc, "metadata"), *o;
    fprintf(out, "artifact   %s  (%.0f bytes, format %s)\n", str_of(doc, "artifact"),
            num_of(doc, "bytes"), str_of(doc, "format_version"));
    fprintf(out, "producer   %s\npipeline   %s\n", str_of(meta, "producer"),
            *str_of(meta, "pipeline") ? str_of(meta, "pipeline") : "(none)");
    if (*str_of(meta, "source_sha256"))
        fprintf(out, "source     sha256 %s (%s bytes)\n", str_of(meta, "source_sha256"),
                str_of(meta, "source_bytes"));
    fprintf(out, "opsets     %s\n\nsections:\n", str_of(meta, "opsets"));
    cJSON_ArrayForEach(o, cJSON_GetObjectItem(doc, "sections"))
        fprintf(out, "  %-10s at %-10.0f %10.0f bytes stored %10.0f raw\n", str_of(o, "kind"),
                num_of(o, "offset"), num_of(o, "stored_bytes"), num_of(o, "raw_bytes"));
    fprintf(out, "\ntensors:\n  %-28s %-16s %10s %10s %10s %7s  %s\n", "name", "dims", "dense",
            "packed", "stored", "ratio", "encoding");
    cJSON_ArrayForEach(o, cJSON_GetObjectItem(doc, "tensors")) {
        char dims[64] = "[";
        const cJSON *d;
        cJSON_ArrayForEach(d, cJSON_GetObjectItem(o, "dims")) {
            size_t n = strlen(dims);
            snprintf(dims + n, sizeof dims - n, "%s%.0f", n > 1 ? "," : "", d->valuedouble);
        }
        strncat(dims, "]", sizeof dims - strlen(dims) - 1);
        fprintf(out, "  %-28s %-16s %10.0f %10.0f %10.0f %6.1fx  %s\n", str_of(o, "name"), dims,
                num_of(o, "dense_bytes"), num_of(o, "packed_bytes"), num_of(o, "stored_bytes"),
                num_of(o, "ratio"), str_of(o, "encoding"));
    }
    const cJSON *t = cJSON_GetObjectItem(doc, "totals");
    fprintf(out,
            "\ntotals: %.0f tensors: dense %.0f bytes -> packed %.0f -> stored %.0f (zstd saves "
            "%.1f%% over packed)\n        %.1fx smaller than the dense tensors; the file is %.0f "
            "bytes\n",
            num_of(t, "tensors"), num_of(t, "dense_bytes"), num_of(t, "packed_bytes"),
            num_of(t, "stored_bytes"), 100.0 * num_of(t, "zstd_saving"), num_of(t, "ratio_tensors"),
            num_of(doc, "bytes"));
}

ecc_status ecc_artifact_inspect(ecc_ctx *ctx, const char *path, bool json, FILE *out) {
    ecc_status st = ECC_OK;
    const uint8_t *p = NULL;
    size_t n = 0;
    art_view a = {ctx, {0}, NULL, NULL};
    cJSON *doc = cJSON_CreateObject();
    ecc_ctx_set_subject(ctx, path);
    ECC_FAIL_IF(!doc, ctx, ECC_E_INTERNAL, "out of memory");
    ECC_TRY(ecc_art_map(ctx, path, &p, &n));
    ECC_TRY(view_open(&a, p, n));
    ECC_TRY(build_doc(&a, path, n, doc));
    if (json) {
        char *s = cJSON_Print(doc);
        ECC_FAIL_IF(!s, ctx, ECC_E_INTERNAL, "out of memory");
        fprintf(out, "%s\n", s);
        free(s);
    } else {
        print_text(doc, out);
    }
fail:
    cJSON_Delete(doc);
    view_close(&a);
    ecc_art_unmap(p, n);
    return st;
}

/* ---------------- verify ---------------- */

/* Decodes entry i in every form it has. */
static ecc_status check_entry(art_view *a, uint32_t i, size_t *tensors) {
    ecc_status st = ECC_OK;
    ecc_load_info in;
    uint8_t *buf = NULL;
    int rc = ecc_load_info_at(&a->L, i, &in);
    if (rc) return ecc_art_load_status(a->ctx, &a->L, rc);
    uint64_t need = in.e.raw_size;
    if (in.stored_bytes > need) need = in.stored_bytes;
    if (in.scales_bytes > need) need = in.scales_bytes;
    buf = malloc((size_t)need + 8);
    ECC_FAIL_IF(!buf, a->ctx, ECC_E_INTERNAL, "out of memory");
    size_t scratch = (size_t)ecc_load_max_scratch(&a->L);
    if (in.e.kind != ECC_ART_KIND_TENSOR) {
        rc = ecc_load_decode(&a->L, i, ECC_LOAD_PAYLOAD, buf, (size_t)need, a->scratch, scratch, NULL);
    } else {
        (*tensors)++;
        rc = ecc_load_decode(&a->L, i, ECC_LOAD_STORED, buf, (size_t)need, a->scratch, scratch, NULL);
        if (!rc && in.e.repr == ECC_ART_REPR_QUANT)
            rc = ecc_load_decode(&a->L, i, ECC_LOAD_SCALES, buf, (size_t)need, a->scratch, scratch, NULL);
        if (!rc && (in.e.flags & ECC_ART_EF_ZERO_POINT))
            rc = ecc_load_decode(&a->L, i, ECC_LOAD_ZERO_POINTS, buf, (size_t)need, a->scratch, scratch, NULL);
    }
    if (rc) st = ecc_art_load_status(a->ctx, &a->L, rc);
fail:
    free(buf);
    return st;
}

ecc_status ecc_artifact_verify_buffer(ecc_ctx *ctx, const void *buf, size_t len,
                                      const char *display_name, FILE *out) {
    ecc_status st = ECC_OK;
    art_view a = {ctx, {0}, NULL, NULL};
    ecc_model *m = NULL;
    size_t tensors = 0;
    ecc_ctx_set_subject(ctx, display_name);
    ECC_TRY(view_open(&a, buf, len));
    for (uint32_t i = 0; i < ecc_load_count(&a.L); i++) ECC_TRY(check_entry(&a, i, &tensors));
    ECC_TRY(ecc_artifact_read_buffer(ctx, buf, len, display_name, NULL, &m));
    if (out)
        fprintf(out,
                "%s: ok: %u entries (%zu tensors), %zu bytes; header, footer, directory and "
                "frame checksums, bounds, payloads and graph verified\n",
                display_name ? display_name : "artifact", (unsigned)ecc_load_count(&a.L),
                tensors, len);
fail:
    ecc_model_free(m);
    view_close(&a);
    return st;
}

ecc_status ecc_artifact_verify(ecc_ctx *ctx, const char *path, FILE *out) {
    const uint8_t *p;
    size_t n;
    ecc_ctx_set_subject(ctx, path);
    ecc_status st = ecc_art_map(ctx, path, &p, &n);
    if (st) return st;
    st = ecc_artifact_verify_buffer(ctx, p, n, path, out);
    ecc_art_unmap(p, n);
    return st;
}
