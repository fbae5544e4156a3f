/* roundtrip.c — round-trip ONNX models through the reader and writer.
 *
 *   roundtrip IN OUT               read IN, write OUT; exit code = ecc_status,
 *                                  the error message on stderr
 *   roundtrip --manifest LIST DIR  for every path in LIST (one per line): read,
 *                                  write to DIR/<last 3 path components> (for
 *                                  conformance models DIR/<suite>/<case>/model.onnx,
 *                                  the layout tests/interop expects), read back, compare
 *                                  structurally, and check that writing the
 *                                  re-read model gives the same bytes. Prints
 *                                  "loaded N, written N, reread-identical N,
 *                                  failed N"; exit 0 only when none failed.
 *   roundtrip --short-names --manifest LIST DIR
 *                                  the same, with the tensors renamed first
 *                                  (`compress --short-names`). */
#include "model_equal.h"
#include "onnx_io.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct counts {
    size_t loaded, written, identical, failed;
} counts;

static int single(ecc_ctx *ctx, const char *in, const char *out) {
    ecc_model *m = NULL;
    ecc_status st = ecc_model_read(ctx, in, &m);
    if (st == ECC_OK) st = ecc_model_write(ctx, m, out, NULL);
    if (st != ECC_OK) fprintf(stderr, "roundtrip: %s\n", ecc_ctx_message(ctx));
    ecc_model_free(m);
    return (int)st;
}

/* Same bytes when both models are packed (everything inline). */
static bool same_bytes(ecc_ctx *ctx, const ecc_model *a, const ecc_model *b) {
    uint8_t *pa = NULL, *pb = NULL;
    size_t la = 0, lb = 0;
    bool same = ecc_onnx_write_buffer(ctx, a, &pa, &la) == ECC_OK &&
                ecc_onnx_write_buffer(ctx, b, &pb, &lb) == ECC_OK && la == lb &&
                memcmp(pa, pb, la) == 0;
    free(pa);
    free(pb);
    return same;
}

static void one(ecc_ctx *ctx, const char *in, const char *out, bool short_names,
                counts *c) {
    ecc_model *m1 = NULL, *m2 = NULL;
    char why[300];
    const char *stage = "read";
    if (ecc_model_read(ctx, in, &m1) != ECC_OK) goto fail;
    c->loaded++;
    stage = "short names";
    if (short_names && ecc_model_shorten_names(ctx, m1) != ECC_OK) goto fail;
    stage = "write";
    if (ecc_model_write(ctx, m1, out, NULL) != ECC_OK) goto fail;
    c->written++;
    stage = "re-read";
    if (ecc_model_read(ctx, out, &m2) != ECC_OK) goto fail;
    if (!ecc_test_model_equal(m1, m2, why, sizeof why)) {
        fprintf(stderr, "FAIL %s: re-read model differs: %s\n", in, why);
        goto done;
    }
    if (!same_bytes(ctx, m1, m2)) {
        fprintf(stderr, "FAIL %s: second write is not byte-identical\n", in);
        goto done;
    }
    c->identical++;
    ecc_model_free(m1);
    ecc_model_free(m2);
    return;
fail:
    fprintf(stderr, "FAIL %s (%s): %s\n", in, stage, ecc_ctx_message(ctx));
done:
    c->failed++;
    ecc_model_free(m1);
    ecc_model_free(m2);
}

/* DIR/ + the last three components of in (suite/case/model.onnx). */
static void out_path(const char *dir, const char *in, char *out, size_t cap) {
    const char *p = in + strlen(in);
    for (int slashes = 0; p > in; p--)
        if (p[-1] == '/' && ++slashes == 3) break;
    snprintf(out, cap, "%s/%s", dir, p);
}

/* mkdir -p of the directory part of path. */
static bool make_parents(char *path) {
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        bool ok = mkdir(path, 0755) == 0 || errno == EEXIST;
        *p = '/';
        if (!ok) return false;
    }
    return true;
}

static int manifest(ecc_ctx *ctx, const char *list, const char *dir, bool short_names) {
    FILE *fp = fopen(list, "r");
    if (!fp) {
        fprintf(stderr, "roundtrip: cannot open manifest %s\n", list);
        return ECC_E_USAGE;
    }
    counts c = {0};
    char line[4096], out[4200];
    while (fgets(line, sizeof line, fp)) {
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0] || line[0] == '#') continue;
        out_path(dir, line, out, sizeof out);
        if (!make_parents(out)) {
            fprintf(stderr, "FAIL %s: cannot create the directory of %s\n", line, out);
            c.failed++;
            continue;
        }
        one(ctx, line, out, short_names, &c);
    }
    fclose(fp);
    printf("loaded %zu, written %zu, reread-identical %zu, failed %zu\n", c.loaded, c.written,
           c.identical, c.failed);
    return c.failed ? ECC_E_INPUT : ECC_OK;
}

int main(int argc, char **argv) {
    ecc_ctx *ctx = ecc_ctx_create();
    int rc = ECC_E_USAGE;
    if (!ctx) return ECC_E_INTERNAL;
    char **a = argv + 1; /* the arguments after an optional --short-names */
    bool short_names = argc > 1 && !strcmp(a[0], "--short-names");
    a += short_names;
    int left = argc - 1 - short_names;
    if (left == 3 && !strcmp(a[0], "--manifest"))
        rc = manifest(ctx, a[1], a[2], short_names);
    else if (argc == 3)
        rc = single(ctx, argv[1], argv[2]);
    else
        fprintf(stderr, "usage: roundtrip IN OUT | roundtrip [--short-names] --manifest LIST "
                        "OUTDIR\n");
    ecc_ctx_free(ctx);
    return rc;
}
