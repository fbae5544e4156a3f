/* fuzz_artifact.c — fuzz harness for the .ecc readers: the stand-alone loader
 * (open from memory and from a FILE, every entry decoded in every form with
 * buffers of exactly the announced sizes), `verify`, and the full reader
 * that restores the ONNX model; an artifact that restores is written again
 * and must read back. Checksums would stop most mutations at the door, so
 * each input is also tried twice more: "resealed" (header, directory and
 * footer CRCs recomputed over the mutated bytes, reaching the field and
 * bounds checks) and "wrapped" (the first 128 bytes taken as a directory
 * entry, the rest as its payload, put in a valid container with a fresh
 * zstd frame, reaching every payload decoder with arbitrary fields).
 * Built with libFuzzer when ECC_LIBFUZZER is defined
 * (`make fuzz`); otherwise a plain main() replays files and directories and,
 * with --mutate N, N deterministic mutations of each (bit flips, byte
 * overwrites, truncations, copied spans), so `make test` runs the seed
 * corpus (testdata/artifact) under ASan/UBSan and valgrind.
 *   usage: fuzz_artifact [--mutate N] [--seed S] FILE|DIR...              */
#include "../../formats/artifact/artifact_internal.h"
#include "fuzz_checks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
static unsigned long fuzz_accepted, fuzz_rejected;

#define MAX_DECODE ((uint64_t)64 << 20) /* skip decodes announcing more */

/* Every entry in every form; returns the number of failed decodes. */
static int loader_pass(ecc_loader *L) {
    int bad = 0;
    uint64_t scratch_size = ecc_load_max_scratch(L);
    if (scratch_size > MAX_DECODE) return 1;
    uint8_t *scratch = malloc((size_t)scratch_size + 8);
    for (uint32_t i = 0; i < ecc_load_count(L); i++) {
        ecc_load_info in;
        if (ecc_load_info_at(L, i, &in)) {
            bad++;
            continue;
        }
        const uint64_t sizes[5] = {in.stored_bytes, in.float_bytes, in.scales_bytes,
                                   in.zero_points_bytes, in.e.raw_size};
        for (int w = 0; w < 5; w++) {
            if (sizes[w] > MAX_DECODE) continue;
            uint8_t *out = malloc((size_t)sizes[w] + 1);
            size_t got = 0;
            if (ecc_load_decode(L, i, (ecc_load_what)w, out, (size_t)sizes[w], scratch,
                                (size_t)scratch_size, &got)) {
                bad++;
                fuzz_one_line(ecc_load_error(L));
            } else if (got != sizes[w]) {
                abort();
            }
            free(out);
        }
    }
    free(scratch);
    return bad;
}

static void loader_try(const uint8_t *data, size_t size, void *work) {
    ecc_loader L;
    if (ecc_load_open_memory(&L, data, size, work, ecc_load_workspace_size()) == ECC_LOAD_OK)
        loader_pass(&L);
    else fuzz_one_line(ecc_load_error(&L));
}

static void put32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint64_t get64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}
static uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

/* The input with its header, directory and footer CRCs recomputed. */
static void resealed(const uint8_t *data, size_t size, void *work) {
    if (size < ECC_ART_HEADER_SIZE + ECC_ART_FOOTER_SIZE) return;
    uint8_t *c = malloc(size);
    memcpy(c, data, size);
    uint8_t *f = c + size - ECC_ART_FOOTER_SIZE;
    put32(c + 60, ecc_load_crc32(0, c, 60));
    uint64_t dir = get64(f), n = get32(f + 16) & 0xffffffu, strings = get32(f + 20) & 0xffffffu;
    uint64_t end = dir + n * ECC_ART_ENTRY_SIZE + strings;
    if (dir <= size && end <= size - ECC_ART_FOOTER_SIZE && end >= dir)
        put32(f + 24, ecc_load_crc32(0, c + dir, (size_t)(end - dir)));
    put32(f + 60, ecc_load_crc32(0, f, 60));
    loader_try(c, size, work);
    free(c);
}

/* data = 128-byte entry + payload, wrapped into a valid one-entry container. */
static void wrapped(const uint8_t *data, size_t size, void *work, ecc_ctx *ctx) {
    if (size < ECC_ART_ENTRY_SIZE) return;
    ecc_art_entry e;
    ecc_art_entry_read(data, &e);
    ecc_art_encoder *enc = NULL;
    uint8_t *frame = NULL;
    size_t fsize = 0, plen = size - ECC_ART_ENTRY_SIZE;
    if (ecc_art_encoder_create(ctx, 1, &enc) ||
        ecc_art_compress(ctx, enc, data + ECC_ART_ENTRY_SIZE, plen, &frame, &fsize)) {
        ecc_art_encoder_free(enc);
        return;
    }
    e.kind = ECC_ART_KIND_TENSOR;
    e.offset = ECC_ART_HEADER_SIZE;
    e.comp_size = fsize;
    e.raw_size = plen;
    e.name_offset = 1;
    e.name_len = 1;
    uint64_t dir = (ECC_ART_HEADER_SIZE + fsize + ECC_ART_ALIGN - 1) / ECC_ART_ALIGN * ECC_ART_ALIGN;
    size_t total = (size_t)dir + ECC_ART_ENTRY_SIZE + 3 + ECC_ART_FOOTER_SIZE;
    uint8_t *c = calloc(1, total);
    ecc_art_header h = {{0}, ECC_ART_VERSION_MAJOR, ECC_ART_VERSION_MINOR, 0, ECC_ART_HEADER_SIZE,
                        ECC_ART_ENTRY_SIZE, ECC_ART_ALIGN, {0}, 0};
    memcpy(h.magic, ECC_ART_MAGIC, 8);
    ecc_art_header_write(&h, c);
    memcpy(c + ECC_ART_HEADER_SIZE, frame, fsize);
    ecc_art_entry_write(&e, c + dir);
    memcpy(c + dir + ECC_ART_ENTRY_SIZE, "\0t", 3);
    ecc_art_footer ft;
    memset(&ft, 0, sizeof ft);
    ft.directory_offset = dir;
    ft.file_size = total;
    ft.n_entries = 1;
    ft.strings_size = 3;
    ft.directory_crc = ecc_load_crc32(0, c + dir, ECC_ART_ENTRY_SIZE + 3);
    memcpy(ft.magic, ECC_ART_FOOTER_MAGIC, 8);
    ecc_art_footer_write(&ft, c + total - ECC_ART_FOOTER_SIZE);
    loader_try(c, total, work);
    free(c);
    free(frame);
    ecc_art_encoder_free(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ecc_ctx *ctx = ecc_ctx_create();
    ecc_model *m = NULL;
    ecc_loader L;
    void *work = malloc(ecc_load_workspace_size());
    /* the loader from memory (as is, resealed, wrapped), then from a FILE */
    loader_try(data, size, work);
    resealed(data, size, work);
    wrapped(data, size, work, ctx);
    FILE *fp = size ? fmemopen((void *)data, size, "rb") : NULL;
    if (fp && ecc_load_open_file(&L, fp, work, ecc_load_workspace_size()) == ECC_LOAD_OK)
        loader_pass(&L);
    if (fp) fclose(fp);
    /* verify, and the full reader */
    (void)ecc_artifact_verify_buffer(ctx, data, size, "fuzz", NULL);
    fuzz_one_line(ecc_ctx_message(ctx));
    if (ecc_artifact_read_buffer(ctx, data, size, "fuzz", NULL, &m) == ECC_OK) {
        fuzz_accepted++;
        char *out = NULL;
        size_t out_len = 0;
        FILE *mem = open_memstream(&out, &out_len);
        ecc_status st = mem ? ecc_artifact_write_stream(ctx, m, NULL, mem) : ECC_E_INTERNAL;
        if (mem) fclose(mem);
        if (st == ECC_OK) { /* what we wrote must read back */
            ecc_model *again = NULL;
            fuzz_reads_back(ctx, ecc_artifact_read_buffer(ctx, out, out_len, "fuzz-rewrite", NULL,
                                                          &again),
                            "the rewrite");
            ecc_model_free(again);
        }
        free(out);
    } else {
        fuzz_rejected++;
        fuzz_one_line(ecc_ctx_message(ctx));
    }
    ecc_model_free(m);
    free(work);
    ecc_ctx_free(ctx);
    return 0;
}

#ifndef ECC_LIBFUZZER
#define FUZZ_REPLAY_NAME "fuzz_artifact"
#define FUZZ_REPLAY_MAX_BYTES (16 << 20)
#include "fuzz_replay.h"
#endif
