/* null_info.c — test plugin whose entry point returns NULL. */
#include "ecc_plugin.h"

#include <stddef.h>

const ecc_plugin_info *ecc_plugin_entry(void) { return NULL; }
