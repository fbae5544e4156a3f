/* garbage_info.c — test plugin whose info struct is garbage: a huge
 * struct_size, a nonsense ABI version and pointers into nowhere. The host
 * must refuse it from struct_size and the version alone, never reading the
 * name (issue 25, class 7). */
#include "ecc_plugin.h"

#include <stdint.h>

static const ecc_plugin_info info = {
    .struct_size = 0xdeadbeefu, .abi_major = 0x41414141u, .abi_minor = 0x42424242u,
    .name = (const char *)(uintptr_t)16, .version = (const char *)(uintptr_t)24, .init = NULL};

const ecc_plugin_info *ecc_plugin_entry(void) { return &info; }
