/* fuzz_replay.h — the plain main() shared by the fuzz harnesses when they are
 * not built for libFuzzer: replays files and directories (sorted, so runs are
 * deterministic) through LLVMFuzzerTestOneInput, and with --mutate N also N
 * deterministic mutations of every file (bit flips, byte overwrites,
 * truncations, copied spans). The including harness defines
 * FUZZ_REPLAY_NAME, FUZZ_REPLAY_MAX_BYTES and the counters fuzz_accepted /
 * fuzz_rejected.
 *   usage: NAME [--mutate N] [--seed S] FILE|DIR...                         */
#ifndef ECC_FUZZ_REPLAY_H
#define ECC_FUZZ_REPLAY_H

#include "../file_bytes.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static uint64_t fuzz_rng_state = 1;

static uint64_t fuzz_rng(void) { /* splitmix64 */
    uint64_t z = (fuzz_rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static size_t fuzz_mutate(const uint8_t *src, size_t n, uint8_t *dst) {
    size_t len = n;
    memcpy(dst, src, len);
    if (!len) return 0;
    int edits = 1 + (int)(fuzz_rng() % 4);
    for (int e = 0; e < edits; e++) {
        size_t at = fuzz_rng() % len;
        switch (fuzz_rng() % 4) {
        case 0: dst[at] ^= (uint8_t)(1u << (fuzz_rng() % 8)); break;
        case 1: dst[at] = (uint8_t)fuzz_rng(); break;
        case 2: len = at + 1; break;
        default: { /* copy a span over another place */
            size_t from = fuzz_rng() % len, span = 1 + fuzz_rng() % 16;
            if (from + span > len) span = len - from;
            if (at + span > len) span = len - at;
            memmove(dst + at, dst + from, span);
        }
        }
    }
    return len;
}

static int fuzz_replay_file(const char *path, unsigned mutations) {
    size_t got;
    uint8_t *buf = file_bytes(path, FUZZ_REPLAY_MAX_BYTES, &got);
    if (!buf) return 0;
    uint8_t *mut = malloc(got + 1);
    if (mut) {
        LLVMFuzzerTestOneInput(buf, got);
        for (unsigned i = 0; i < mutations; i++)
            LLVMFuzzerTestOneInput(mut, fuzz_mutate(buf, got, mut));
    }
    free(buf);
    free(mut);
    return 1;
}

static int fuzz_replay_path(const char *path, unsigned mutations) {
    struct stat sb;
    if (lstat(path, &sb) != 0) return 0;
    if (S_ISREG(sb.st_mode)) return fuzz_replay_file(path, mutations);
    if (!S_ISDIR(sb.st_mode)) return 0;
    int count = 0;
    char sub[4096];
    struct dirent **list = NULL;
    int k = scandir(path, &list, NULL, alphasort);
    for (int i = 0; i < k; i++) {
        if (list[i]->d_name[0] != '.') {
            snprintf(sub, sizeof sub, "%s/%s", path, list[i]->d_name);
            count += fuzz_replay_path(sub, mutations);
        }
        free(list[i]);
    }
    free(list);
    return count;
}

int main(int argc, char **argv) {
    unsigned mutations = 0;
    int files = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--mutate") && i + 1 < argc) mutations = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            fuzz_rng_state = strtoull(argv[++i], NULL, 10);
        else files += fuzz_replay_path(argv[i], mutations);
    }
    printf("%s: replayed %d files with %u mutations each: %lu accepted, %lu rejected, "
           "0 crashes\n",
           FUZZ_REPLAY_NAME, files, mutations, fuzz_accepted, fuzz_rejected);
    return files ? 0 : 1;
}

#endif
