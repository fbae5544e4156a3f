/* cmd_verify.c — `ecc verify MODEL.ecc`: checks every checksum, bound and
 * payload of an artifact; exit 0 when sound, 2 when corrupt. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

const char ecc_help_verify[] =
    "usage: ecc verify MODEL.ecc [-q]\n"
    "\n"
    "Checks a .ecc artifact: header, footer and directory checksums, every entry's\n"
    "offsets, sizes and fields, every zstd frame (decoded, content checksum), every\n"
    "payload (indices, counts, padding), zero bytes between frames, and that the\n"
    "graph restores. Prints one line: ok, or the first problem found.\n"
    "\n"
    "  -q, --quiet    print nothing on success\n"
    "\n"
    "exit codes: 0 sound, 1 usage, 2 corrupt, truncated or not an artifact, 3 I/O error\n";

int ecc_cmd_verify(int argc, char **argv) {
    ecc_args a = {argc, 1, argv, "verify"};
    const char *w, *path = NULL;
    bool opt, quiet = false;
    while ((w = ecc_args_next(&a, &opt))) {
        if (!opt && !path) path = w;
        else if (!strcmp(w, "-q") || !strcmp(w, "--quiet")) quiet = true;
        else return ecc_cli_usage("verify", "unexpected argument '%s'", w);
    }
    if (!path) return ecc_cli_usage("verify", "missing artifact");
    ecc_ctx *ctx = ecc_ctx_create();
    if (!ctx) return ecc_cli_fail(ECC_EXIT_INTERNAL, "out of memory");
    ecc_status st = ecc_artifact_verify(ctx, path, quiet ? NULL : stdout);
    int rc = st ? ecc_cli_ctx_fail(ctx, st) : ECC_EXIT_OK;
    ecc_ctx_free(ctx);
    return rc;
}
