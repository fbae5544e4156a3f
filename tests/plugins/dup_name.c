/* dup_name.c — test plugin that registers a pass named like a built-in ("dce")
 * and ignores the error register_pass returns: the host must still refuse. */
#include "ecc_plugin.h"

static int noop_run(const ecc_host_api *host, ecc_pass_run *run) {
    (void)host;
    (void)run;
    return ECC_PLUGIN_OK;
}

static const ecc_pass_desc fresh = {sizeof(ecc_pass_desc), "dup-name-fresh", "a pass", 0, NULL,
                                    0, noop_run};
static const ecc_pass_desc dce = {sizeof(ecc_pass_desc), "dce", "a second dce", 0, NULL, 0,
                                  noop_run};

static int dup_init(const ecc_host_api *host, ecc_plugin_reg *reg) {
    host->register_pass(reg, &fresh);
    host->register_pass(reg, &dce);
    return ECC_PLUGIN_OK;
}

static const ecc_plugin_info info = {sizeof(ecc_plugin_info), ECC_PLUGIN_ABI_MAJOR,
                                     ECC_PLUGIN_ABI_MINOR, "dup_name", "0", dup_init};

const ecc_plugin_info *ecc_plugin_entry(void) { return &info; }
