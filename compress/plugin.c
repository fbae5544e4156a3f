/* plugin.c — the plugin loader: dlopen(RTLD_NOW|RTLD_LOCAL) only when asked
 * and only of a regular file (a FIFO would block dlopen), the entry point,
 * ABI checks (struct_size and the version first, before any other field is
 * read: major must match, minor may not be newer than the host), init() with
 * a registration handle, rollback of a failed load, and dlclose when the
 * registry is freed. Every failure is ECC_E_INPUT with a message naming the
 * plugin. */
#include "pipeline.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

typedef struct ecc_plugin_handle {
    void *dl;
    char *path;
    char *name;        /* info->name (malloc'd): the origin of its passes */
    ecc_plugin_reg reg;
} ecc_plugin_handle;

/* The plugin whose init() runs on this thread (host->error/log with run == NULL). */
static _Thread_local ecc_plugin_reg *loading;

ecc_plugin_reg *ecc_plugin_loading(void) { return loading; }

static void plugin_handle_free(ecc_plugin_handle *h) {
    if (!h) return;
    if (h->dl) dlclose(h->dl);
    free(h->path);
    free(h->name);
    free(h);
}

void ecc_plugins_unload(ecc_registry *reg) {
    for (size_t i = reg->plugins.n; i-- > 0;) plugin_handle_free(reg->plugins.items[i]);
    ecc_ptrvec_free(&reg->plugins);
}

/* dlopen searches the library path for names without '/': make it a file path. */
static ecc_status plugin_open(ecc_ctx *ctx, ecc_plugin_handle *h, const ecc_plugin_info **info) {
    ecc_status st = ECC_OK;
    char file[4096];
    snprintf(file, sizeof file, "%s%s", strchr(h->path, '/') ? "" : "./", h->path);
    if (ecc_input_check(ctx, file) != ECC_OK) { /* checked before dlopen can block on it */
        char why[ECC_MSG_MAX];
        snprintf(why, sizeof why, "%s", ctx->message);
        ECC_FAIL_IF(true, ctx, ECC_E_INPUT, "cannot load plugin '%s': %s", h->path, why);
    }
    dlerror();
    h->dl = dlopen(file, RTLD_NOW | RTLD_LOCAL);
    if (!h->dl) {
        const char *why = dlerror();
        ECC_FAIL_IF(true, ctx, ECC_E_INPUT, "cannot load plugin '%s': %s", h->path,
                    why ? why : "unknown dlopen error");
    }
    void *sym = dlsym(h->dl, ECC_PLUGIN_ENTRY_SYMBOL);
    ECC_FAIL_IF(!sym, ctx, ECC_E_INPUT,
                "plugin '%s' has no entry point '%s' (is it an ecc plugin?)", h->path,
                ECC_PLUGIN_ENTRY_SYMBOL);
    ecc_plugin_entry_fn entry;
    memcpy(&entry, &sym, sizeof entry); /* object → function pointer, C11-clean */
    *info = entry();
    ECC_FAIL_IF(!*info, ctx, ECC_E_INPUT, "plugin '%s': %s() returned NULL", h->path,
                ECC_PLUGIN_ENTRY_SYMBOL);
fail:
    return st;
}

/* The plugin's file name without directory and extension: how a plugin whose
 * info cannot be trusted yet is named (its name field is not read before the
 * ABI version is known). */
static void file_stem(const char *path, char *out, size_t cap) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strcspn(base, ".");
    snprintf(out, cap, "%.*s", (int)(n ? n : strlen(base)), base);
}

/* struct_size and the version, then the rest: nothing else is read from a
 * struct whose size or version is wrong (a garbage struct must not crash). */
static ecc_status plugin_check_info(ecc_ctx *ctx, const char *path,
                                    const ecc_plugin_info *info) {
    ecc_status st = ECC_OK;
    const size_t abi_end = offsetof(ecc_plugin_info, abi_minor) + sizeof info->abi_minor;
    char who[256];
    file_stem(path, who, sizeof who);
    ECC_FAIL_IF(info->struct_size < abi_end, ctx, ECC_E_INPUT,
                "plugin '%s': info struct_size %u is too small (host expects %zu)", path,
                info->struct_size, sizeof(ecc_plugin_info));
    ECC_FAIL_IF(info->abi_major != ECC_PLUGIN_ABI_MAJOR, ctx, ECC_E_INPUT,
                "plugin %s built for ABI %u.%u, host supports %d.%d", who, info->abi_major,
                info->abi_minor, ECC_PLUGIN_ABI_MAJOR, ECC_PLUGIN_ABI_MINOR);
    ECC_FAIL_IF(info->abi_minor > ECC_PLUGIN_ABI_MINOR, ctx, ECC_E_INPUT,
                "plugin %s built for ABI %u.%u, host supports %d.%d (minor version newer "
                "than the host: upgrade ecc)",
                who, info->abi_major, info->abi_minor, ECC_PLUGIN_ABI_MAJOR,
                ECC_PLUGIN_ABI_MINOR);
    ECC_FAIL_IF(info->struct_size < sizeof(ecc_plugin_info), ctx, ECC_E_INPUT,
                "plugin '%s': info struct_size %u is too small (host expects %zu)", path,
                info->struct_size, sizeof(ecc_plugin_info));
    /* the info struct only grows with the minor version, which is not newer */
    ECC_FAIL_IF(info->struct_size > sizeof(ecc_plugin_info), ctx, ECC_E_INPUT,
                "plugin '%s': info struct_size %u is larger than ABI %u.%u defines (%zu)", path,
                info->struct_size, info->abi_major, info->abi_minor, sizeof(ecc_plugin_info));
    ECC_FAIL_IF(!info->name || !*info->name, ctx, ECC_E_INPUT, "plugin '%s' has no name",
                path);
    ECC_FAIL_IF(!info->init, ctx, ECC_E_INPUT, "plugin %s has no init function", info->name);
fail:
    return st;
}

static ecc_status plugin_init(ecc_ctx *ctx, ecc_registry *reg, ecc_plugin_handle *h,
                              const ecc_plugin_info *info) {
    ecc_status st = ECC_OK;
    h->reg = (ecc_plugin_reg){.ctx = ctx, .reg = reg, .origin = h->name, .open = true};
    ecc_plugin_reg *outer = loading;
    loading = &h->reg;
    int rc = info->init(&ecc_host_api_table, &h->reg);
    loading = outer;
    h->reg.open = false;
    if (h->reg.status != ECC_OK) return (ecc_status)h->reg.status; /* message is on ctx */
    if (rc != ECC_PLUGIN_OK) {
        char why[ECC_MSG_MAX];
        snprintf(why, sizeof why, "%s", h->reg.reported ? ctx->message : "(no message)");
        ECC_FAIL_IF(true, ctx, ECC_E_INPUT, "plugin %s failed to initialise (code %d): %s",
                    h->name, rc, why);
    }
fail:
    return st;
}

ecc_status ecc_registry_load_plugin(ecc_ctx *ctx, ecc_registry *reg, const char *path) {
    ecc_status st = ECC_OK;
    ecc_plugin_handle *h = NULL;
    const ecc_plugin_info *info = NULL;
    ECC_FAIL_IF(!reg || !path || !*path, ctx, ECC_E_USAGE, "no plugin path given");
    h = calloc(1, sizeof *h);
    ECC_FAIL_IF(!h || !(h->path = strdup(path)), ctx, ECC_E_INTERNAL, "out of memory");
    ECC_TRY(plugin_open(ctx, h, &info));
    ECC_TRY(plugin_check_info(ctx, path, info));
    h->name = strdup(info->name);
    ECC_FAIL_IF(!h->name, ctx, ECC_E_INTERNAL, "out of memory");
    ECC_TRY(plugin_init(ctx, reg, h, info));
    ECC_FAIL_IF(!ecc_ptrvec_push(&reg->plugins, h), ctx, ECC_E_INTERNAL, "out of memory");
    ecc_log(ctx, 1, "plugin %s %s loaded from %s", h->name,
            info->version ? info->version : "", path);
    return ECC_OK;
fail:
    if (reg && h && h->name) ecc_registry_remove_origin(reg, h->name);
    plugin_handle_free(h);
    return st;
}
