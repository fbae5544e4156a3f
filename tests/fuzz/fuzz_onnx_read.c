/* fuzz_onnx_read.c — fuzz harness for the ONNX reader (and, for inputs it
 * accepts, writer + re-read). Built with libFuzzer when ECC_LIBFUZZER is
 * defined; otherwise a plain main() replays files and directories, and with
 * --mutate N also replays N deterministic mutations (bit flips, byte
 * overwrites, truncations, duplicated spans) of every file, so CI runs the
 * seeds as ordinary tests under ASan/UBSan.
 *   usage: fuzz_onnx_read [--mutate N] [--seed S] FILE|DIR...            */
#include "onnx_io.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
static unsigned long fuzz_accepted, fuzz_rejected;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ecc_ctx *ctx = ecc_ctx_create();
    ecc_model *m = NULL;
    if (ecc_onnx_read_buffer(ctx, data, size, "fuzz", NULL, &m) == ECC_OK) {
        fuzz_accepted++;
        uint8_t *out = NULL;
        size_t out_len = 0;
        if (ecc_onnx_write_buffer(ctx, m, &out, &out_len) == ECC_OK) {
            ecc_model *again = NULL;
            /* what we wrote must read back */
            if (ecc_onnx_read_buffer(ctx, out, out_len, "fuzz-rewrite", NULL, &again) != ECC_OK) {
                fprintf(stderr, "rewrite does not read back: %s\n", ecc_ctx_message(ctx));
                abort();
            }
            ecc_model_free(again);
        }
        free(out);
    } else {
        fuzz_rejected++;
    }
    const char *msg = ecc_ctx_message(ctx);
    if (strchr(msg, '\n')) abort(); /* errors are one line */
    ecc_model_free(m);
    ecc_ctx_free(ctx);
    return 0;
}

#ifndef ECC_LIBFUZZER
static uint64_t rng_state;
static uint64_t rng(void) { /* splitmix64 */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static size_t mutate(const uint8_t *src, size_t n, uint8_t *dst, size_t cap) {
    size_t len = n < cap ? n : cap;
    memcpy(dst, src, len);
    if (!len) return 0;
    int edits = 1 + (int)(rng() % 4);
    for (int e = 0; e < edits; e++) {
        size_t at = rng() % len;
        switch (rng() % 4) {
        case 0: dst[at] ^= (uint8_t)(1u << (rng() % 8)); break;
        case 1: dst[at] = (uint8_t)rng(); break;
        case 2: len = at + 1; break;
        default: { /* copy a span over another place */
            size_t from = rng() % len, span = 1 + rng() % 16;
            if (from + span > len) span = len - from;
            if (at + span > len) span = len - at;
            memmove(dst + at, dst + from, span);
        }
        }
    }
    return len;
}

static int replay_file(const char *path, unsigned mutations) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (n < 0 || n > (64 << 20)) {
        fclose(f);
        return 0;
    }
    uint8_t *buf = malloc((size_t)n + 1), *mut = malloc((size_t)n + 1);
    size_t got = fread(buf, 1, (size_t)n, f);
    fclose(f);
    LLVMFuzzerTestOneInput(buf, got);
    for (unsigned i = 0; i < mutations; i++)
        LLVMFuzzerTestOneInput(mut, mutate(buf, got, mut, got));
    free(buf);
    free(mut);
    return 1;
}

static int replay_path(const char *path, unsigned mutations) {
    struct stat sb;
    if (lstat(path, &sb) != 0) return 0;
    if (S_ISREG(sb.st_mode)) return replay_file(path, mutations);
    if (!S_ISDIR(sb.st_mode)) return 0;
    DIR *d = opendir(path);
    int count = 0;
    char sub[4096];
    struct dirent **list = NULL;
    int k = d ? scandir(path, &list, NULL, alphasort) : 0; /* sorted: deterministic */
    for (int i = 0; i < k; i++) {
        if (list[i]->d_name[0] != '.') {
            snprintf(sub, sizeof sub, "%s/%s", path, list[i]->d_name);
            count += replay_path(sub, mutations);
        }
        free(list[i]);
    }
    free(list);
    if (d) closedir(d);
    return count;
}

int main(int argc, char **argv) {
    unsigned mutations = 0;
    rng_state = 1;
    int files = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--mutate") && i + 1 < argc) mutations = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc) rng_state = strtoull(argv[++i], NULL, 10);
        else files += replay_path(argv[i], mutations);
    }
    printf("fuzz_onnx_read: replayed %d files with %u mutations each: %lu accepted, %lu "
           "rejected, 0 crashes\n",
           files, mutations, fuzz_accepted, fuzz_rejected);
    return files ? 0 : 1;
}
#endif
