/* init_fails.c — test plugin whose init reports an error with a message. */
#include "ecc_plugin.h"

static int failing_init(const ecc_host_api *host, ecc_plugin_reg *reg) {
    (void)reg;
    return host->error(NULL, ECC_PLUGIN_E_INPUT, "license file %s not found (tried %d places)",
                       "/etc/foo.lic", 3);
}

static const ecc_plugin_info info = {sizeof(ecc_plugin_info), ECC_PLUGIN_ABI_MAJOR,
                                     ECC_PLUGIN_ABI_MINOR, "init_fails", "0", failing_init};

const ecc_plugin_info *ecc_plugin_entry(void) { return &info; }
