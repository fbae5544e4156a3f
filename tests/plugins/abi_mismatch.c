/* abi_mismatch.c — test plugin built "for ABI 99.0": the host must refuse it. */
#include "ecc_plugin.h"

static int never_init(const ecc_host_api *host, ecc_plugin_reg *reg) {
    (void)host;
    (void)reg;
    return ECC_PLUGIN_E_INTERNAL;
}

static const ecc_plugin_info info = {sizeof(ecc_plugin_info), 99, 0, "abi_mismatch", "0",
                                     never_init};

const ecc_plugin_info *ecc_plugin_entry(void) { return &info; }
