/* file_bytes.h — a whole file in memory, for every C test program: the
 * cmocka tests (through tmpdir.h), the tools in tests/tools and the fuzz
 * replays. No cmocka here: the caller decides what a missing file means. */
#ifndef ECC_TESTS_FILE_BYTES_H
#define ECC_TESTS_FILE_BYTES_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* The whole file at path (malloc'd with one spare byte; *len bytes read), or
 * NULL when it cannot be opened or sized, holds more than max bytes, or
 * memory runs out. */
static inline uint8_t *file_bytes(const char *path, size_t max, size_t *len) {
    *len = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    long n = fseek(fp, 0, SEEK_END) == 0 ? ftell(fp) : -1;
    uint8_t *b = NULL;
    if (n >= 0 && (unsigned long)n <= max && fseek(fp, 0, SEEK_SET) == 0)
        b = malloc((size_t)n + 1);
    if (b) *len = fread(b, 1, (size_t)n, fp);
    fclose(fp);
    return b;
}

#endif
