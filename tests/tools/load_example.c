/* load_example.c — the stand-alone loader as embedded code uses it: C99 and
 * libzstd only, no allocation inside the loader (this program allocates the
 * workspace, scratch and output buffers itself, once).
 *
 *   cc -std=c99 -Iformats/artifact tests/tools/load_example.c \
 *      formats/artifact/ecc_load.c -lzstd -o load_example
 *   load_example MODEL.ecc [NAME]
 *
 * Opens MODEL.ecc through a FILE, prints the metadata, then one line per
 * entry: kind, name, element type, dims, encoding, and for tensors the
 * CRC-32 of the float32 decode (the stored form when there is no float32
 * form). With NAME, only that tensor (found by name) is decoded.
 * Exit 0 ok, 2 on a corrupt artifact, 1 on usage, 3 on I/O errors. The suite
 * builds it with -std=c99 and checks it agrees with the C11 build. */
#include "../../formats/artifact/ecc_load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const ecc_loader *L, int rc) {
    fprintf(stderr, "load_example: %s\n", ecc_load_error(L));
    return rc == ECC_LOAD_E_NOT_FOUND ? 2 : rc;
}

static void print_meta(ecc_loader *L, void *scratch, size_t scratch_size) {
    uint32_t mi;
    ecc_load_info in;
    if (ecc_load_find_kind(L, ECC_ART_KIND_METADATA, &mi) || ecc_load_info_at(L, mi, &in)) return;
    char *buf = malloc((size_t)in.e.raw_size + 1);
    size_t pos = 0, kl, vl;
    const char *k, *v;
    if (buf && ecc_load_decode(L, mi, ECC_LOAD_PAYLOAD, buf, (size_t)in.e.raw_size, scratch,
                               scratch_size, NULL) == ECC_LOAD_OK)
        while (ecc_load_meta_next(buf, (size_t)in.e.raw_size, &pos, &k, &kl, &v, &vl) == 1)
            printf("meta %.*s = %.*s\n", (int)kl, k, (int)vl, v);
    free(buf);
}

static int print_entry(ecc_loader *L, uint32_t i, void *scratch, size_t scratch_size) {
    ecc_load_info in;
    int rc = ecc_load_info_at(L, i, &in);
    if (rc) return fail(L, rc);
    printf("%-8s %-24s", ecc_art_kind_name(in.e.kind), in.name);
    if (in.e.kind != ECC_ART_KIND_TENSOR) {
        printf(" %llu bytes\n", (unsigned long long)in.e.raw_size);
        return 0;
    }
    printf(" type %2d [", (int)in.e.dtype);
    for (unsigned d = 0; d < in.e.rank; d++) printf("%s%lld", d ? "," : "", (long long)in.e.dims[d]);
    printf("] %s/%s %2u bits", ecc_art_repr_name(in.e.repr), ecc_art_layout_name(in.e.layout),
           (unsigned)in.e.bits);
    size_t size = (size_t)(in.float_bytes > in.stored_bytes ? in.float_bytes : in.stored_bytes);
    void *out = malloc(size + 8);
    if (!out) return 3;
    size_t got = 0;
    rc = ecc_load_decode(L, i, ECC_LOAD_FLOAT32, out, size, scratch, scratch_size, &got);
    const char *form = "float32";
    if (rc == ECC_LOAD_E_USAGE) { /* no float32 form: the stored bytes */
        rc = ecc_load_decode(L, i, ECC_LOAD_STORED, out, size, scratch, scratch_size, &got);
        form = "stored";
    }
    if (rc) {
        free(out);
        printf("\n");
        return fail(L, rc);
    }
    printf(" %s crc %08lx\n", form, (unsigned long)ecc_load_crc32(0, out, got));
    free(out);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: load_example MODEL.ecc [NAME]\n");
        return 1;
    }
    FILE *fp = fopen(argv[1], "rb");
    if (!fp) {
        fprintf(stderr, "load_example: cannot open %s\n", argv[1]);
        return 2;
    }
    static ecc_loader L; /* storage chosen by the caller */
    size_t work_size = ecc_load_workspace_size();
    void *work = malloc(work_size), *scratch = NULL;
    int rc = work ? ecc_load_open_file(&L, fp, work, work_size) : 3;
    size_t scratch_size = 0;
    if (rc == ECC_LOAD_OK) {
        scratch_size = (size_t)ecc_load_max_scratch(&L);
        scratch = malloc(scratch_size + 8);
        if (!scratch) rc = 3;
    } else if (work) {
        rc = fail(&L, rc);
    }
    if (rc == ECC_LOAD_OK) {
        print_meta(&L, scratch, scratch_size);
        if (argc == 3) {
            uint32_t i;
            rc = ecc_load_find(&L, argv[2], &i);
            rc = rc ? fail(&L, rc) : print_entry(&L, i, scratch, scratch_size);
        } else {
            for (uint32_t i = 0; rc == 0 && i < ecc_load_count(&L); i++)
                rc = print_entry(&L, i, scratch, scratch_size);
        }
    }
    free(scratch);
    free(work);
    fclose(fp);
    return rc;
}
