/* minor_newer.c — test plugin built for a newer minor ABI than the host's. */
#include "ecc_plugin.h"

static int never_init(const ecc_host_api *host, ecc_plugin_reg *reg) {
    (void)host;
    (void)reg;
    return ECC_PLUGIN_E_INTERNAL;
}

static const ecc_plugin_info info = {sizeof(ecc_plugin_info), ECC_PLUGIN_ABI_MAJOR,
                                     ECC_PLUGIN_ABI_MINOR + 7, "minor_newer", "0", never_init};

const ecc_plugin_info *ecc_plugin_entry(void) { return &info; }
