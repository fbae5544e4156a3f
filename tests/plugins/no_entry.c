/* no_entry.c — test plugin without the ecc_plugin_entry symbol. */
#include "ecc_plugin.h"

int not_an_entry_point(void);
int not_an_entry_point(void) { return ECC_PLUGIN_ABI_MAJOR; }
