/* tmpdir.h — temporary directories and whole-file I/O shared by the C tests
 * that write files (test_artifact, test_data, test_ecc_load, test_onnx_io,
 * test_pipeline). It owns: making a private directory under /tmp, removing it
 * with everything in it, naming a file inside it, reading a whole file and
 * writing bytes to one, and file_fixture (a context and a private directory,
 * the whole fixture of test_data and test_onnx_io). Failures fail the current
 * cmocka test. Include after
 * <cmocka.h>; the helpers are `static inline` so that a test using only some
 * of them compiles without unused-function warnings. */
#ifndef ECC_TESTS_TMPDIR_H
#define ECC_TESTS_TMPDIR_H

#include "ecc.h"
#include "file_bytes.h"

#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

/* Makes the directory /tmp/<name>_XXXXXX; its path goes into dir. */
static inline void tmpdir_make(char *dir, size_t cap, const char *name) {
    snprintf(dir, cap, "/tmp/%s_XXXXXX", name);
    assert_non_null(mkdtemp(dir));
}

static inline int tmpdir_remove_entry(const char *path, const struct stat *sb, int flag,
                                      struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

/* Removes dir and everything below it. */
static inline void tmpdir_remove(const char *dir) {
    assert_int_equal(nftw(dir, tmpdir_remove_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
}

/* "dir/rel" in one of 8 rotating static buffers (valid for the next 7 calls). */
static inline char *tmpdir_path(const char *dir, const char *rel) {
    static char buf[8][512];
    static int k;
    char *p = buf[k++ % 8];
    snprintf(p, 512, "%s/%s", dir, rel);
    return p;
}

/* The whole file (malloc'd, *len bytes); it must exist. */
static inline uint8_t *read_file(const char *path, size_t *len) {
    uint8_t *b = file_bytes(path, SIZE_MAX, len);
    if (!b) fail_msg("cannot open '%s'", path);
    return b;
}

static inline void write_file(const char *path, const void *data, size_t len) {
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    fclose(fp);
}

/* ---------------- a context and a private directory ---------------- */

typedef struct file_fixture {
    ecc_ctx *ctx;
    char dir[64];
} file_fixture;

/* The directory is /tmp/<name>_XXXXXX. */
static inline int file_fixture_setup(void **state, const char *name) {
    file_fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->ctx = ecc_ctx_create();
    tmpdir_make(f->dir, sizeof f->dir, name);
    *state = f;
    return 0;
}

static inline int file_fixture_teardown(void **state) {
    file_fixture *f = *state;
    tmpdir_remove(f->dir);
    ecc_ctx_free(f->ctx);
    free(f);
    return 0;
}

#endif
