/* small_info.c — test plugin whose info struct_size is smaller than the ABI's. */
#include "ecc_plugin.h"

static const ecc_plugin_info info = {
    .struct_size = 16, .abi_major = ECC_PLUGIN_ABI_MAJOR, .abi_minor = ECC_PLUGIN_ABI_MINOR,
    .name = "small_info", .version = "0", .init = NULL};

const ecc_plugin_info *ecc_plugin_entry(void) { return &info; }
