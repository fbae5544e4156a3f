/* registry.c — the pass registry: built-in passes (passes/passes.def) are
 * registered through the same host->register_pass that plugins call; every
 * descriptor is validated; passes are kept sorted by name and duplicates are
 * refused. Also writes the `ecc passes` text (ecc_registry_describe). */
#include "pipeline.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define KNOWN_NEEDS (ECC_NEED_CALIB | ECC_NEED_TRAIN | ECC_NEED_TEACHER)

/* ---------------- lookup ---------------- */

/* Index of name, or of the slot where it would be inserted (*found = false). */
static size_t registry_slot(const ecc_registry *reg, const char *name, bool *found) {
    size_t lo = 0, hi = reg->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(reg->passes[mid].desc->name, name);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

const ecc_pass_entry *ecc_registry_find(const ecc_registry *reg, const char *name) {
    bool found = false;
    size_t i = registry_slot(reg, name, &found);
    return found ? &reg->passes[i] : NULL;
}

/* ---------------- registration ---------------- */

static bool pass_name_ok(const char *s) {
    if (!s || !*s) return false;
    for (; *s; s++)
        if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '-') return false;
    return true;
}

/* "built-in" or "plugin NAME", for messages. */
static void origin_text(const char *origin, char *buf, size_t size) {
    if (strcmp(origin, ECC_ORIGIN_BUILTIN) == 0)
        snprintf(buf, size, "%s", origin);
    else
        snprintf(buf, size, "plugin %s", origin);
}

static ecc_status desc_check(ecc_ctx *ctx, const ecc_pass_desc *desc, const char *from) {
    ecc_status st = ECC_OK;
    ECC_FAIL_IF(!desc, ctx, ECC_E_INPUT, "%s registered a NULL pass descriptor", from);
    ECC_FAIL_IF(desc->struct_size < ECC_PASS_DESC_SIZE_V1_0, ctx, ECC_E_INPUT,
                "%s: pass descriptor has struct_size %u, need at least %zu", from,
                desc->struct_size, (size_t)ECC_PASS_DESC_SIZE_V1_0);
    ECC_FAIL_IF(!pass_name_ok(desc->name), ctx, ECC_E_INPUT,
                "%s: invalid pass name '%s' (expected lowercase-hyphen [a-z0-9-]+)", from,
                desc->name ? desc->name : "(null)");
    ECC_FAIL_IF(!desc->run, ctx, ECC_E_INPUT, "%s: pass '%s' has no run function", from,
                desc->name);
    ECC_FAIL_IF(desc->needs & ~KNOWN_NEEDS, ctx, ECC_E_INPUT,
                "%s: pass '%s' declares unknown needs 0x%x", from, desc->name,
                desc->needs & ~KNOWN_NEEDS);
    st = ecc_pass_opts_check(ctx, desc);
    if (st == ECC_E_INPUT) {
        char why[ECC_MSG_MAX];
        snprintf(why, sizeof why, "%s", ctx->message);
        st = ecc_ctx_error(ctx, ECC_E_INPUT, "%s: %s", from, why);
    }
fail:
    return st;
}

static ecc_status registry_insert(ecc_ctx *ctx, ecc_registry *reg, size_t at,
                                  const ecc_pass_entry *e) {
    if (reg->n == reg->cap) {
        size_t cap = reg->cap ? 2 * reg->cap : 16;
        ecc_pass_entry *p = realloc(reg->passes, cap * sizeof *p);
        if (!p) return ECC_OOM(ctx);
        reg->passes = p;
        reg->cap = cap;
    }
    memmove(&reg->passes[at + 1], &reg->passes[at], (reg->n - at) * sizeof *e);
    reg->passes[at] = *e;
    reg->n++;
    return ECC_OK;
}

ecc_status ecc_registry_add(ecc_ctx *ctx, ecc_registry *reg, const ecc_pass_desc *desc,
                            const char *origin) {
    ecc_status st = ECC_OK;
    char from[300], other[300];
    origin_text(origin, from, sizeof from);
    ECC_TRY(desc_check(ctx, desc, from));
    bool found = false;
    size_t at = registry_slot(reg, desc->name, &found);
    if (found) origin_text(reg->passes[at].origin, other, sizeof other);
    ECC_FAIL_IF(found, ctx, ECC_E_INPUT, "pass '%s' from %s already registered by %s",
                desc->name, from, other);
    ECC_TRY(registry_insert(ctx, reg, at, &(ecc_pass_entry){desc, origin}));
fail:
    return st;
}

void ecc_registry_remove_origin(ecc_registry *reg, const char *origin) {
    size_t k = 0;
    for (size_t i = 0; i < reg->n; i++)
        if (reg->passes[i].origin != origin) reg->passes[k++] = reg->passes[i];
    reg->n = k;
}

int ecc_registry_register(ecc_plugin_reg *preg, const ecc_pass_desc *desc) {
    if (!preg) return ECC_PLUGIN_E_USAGE;
    if (!preg->open) return ECC_PLUGIN_E_USAGE; /* after init: the ctx may be gone */
    if (preg->status != ECC_OK) return preg->status;
    preg->status = (int)ecc_registry_add(preg->ctx, preg->reg, desc, preg->origin);
    return preg->status;
}

/* ---------------- lifecycle ---------------- */

ecc_status ecc_registry_create(ecc_ctx *ctx, ecc_registry **out) {
    ecc_status st = ECC_OK;
    ecc_registry *reg = calloc(1, sizeof *reg);
    ECC_FAIL_IF(!reg, ctx, ECC_E_INTERNAL, "out of memory");
    ecc_plugin_reg preg = {.ctx = ctx, .reg = reg, .origin = ECC_ORIGIN_BUILTIN, .open = true};
    for (size_t i = 0; i < ecc_builtin_pass_count; i++) {
        int rc = ecc_host_api_table.register_pass(&preg, ecc_builtin_passes[i]);
        if (rc != ECC_PLUGIN_OK) {
            char why[ECC_MSG_MAX];
            snprintf(why, sizeof why, "%s", ctx->message);
            ECC_FAIL_IF(true, ctx, ECC_E_INTERNAL, "built-in passes: %s", why);
        }
    }
    *out = reg;
    return ECC_OK;
fail:
    ecc_registry_free(reg);
    return st;
}

void ecc_registry_free(ecc_registry *reg) {
    if (!reg) return;
    ecc_plugins_unload(reg);
    free(reg->passes);
    free(reg);
}

/* ---------------- `ecc passes` ---------------- */

/* "NAME=TYPE" placeholder: enums show their choices. */
static void opt_usage(const ecc_opt_desc *d, char *buf, size_t size) {
    static const char *const placeholder[ECC_OPT_TYPE_COUNT] = {
        [ECC_OPT_BOOL] = "BOOL",   [ECC_OPT_INT] = "INT",      [ECC_OPT_FLOAT] = "FLOAT",
        [ECC_OPT_ENUM] = NULL,     [ECC_OPT_STRING] = "TEXT",
    };
    const char *ph = placeholder[d->type] ? placeholder[d->type] : d->choices;
    snprintf(buf, size, ":%s=%s", d->name, ph);
}

/* "default X, range [a, b]" */
static void opt_facts(const ecc_opt_desc *d, char *buf, size_t size) {
    char lo[64], hi[64], dflt[300];
    if (d->default_value)
        snprintf(dflt, sizeof dflt, "default %s", *d->default_value ? d->default_value : "''");
    else
        snprintf(dflt, sizeof dflt, "optional, no default");
    if (d->type == ECC_OPT_INT || d->type == ECC_OPT_FLOAT) {
        ecc_opt_format_number(d->min, lo, sizeof lo);
        ecc_opt_format_number(d->max, hi, sizeof hi);
        snprintf(buf, size, "%s, range [%s, %s]", dflt, lo, hi);
    } else {
        snprintf(buf, size, "%s", dflt);
    }
}

static const struct {
    uint32_t flag;
    const char *text;
} need_texts[] = {
    {ECC_NEED_CALIB, "calibration data (--calib)"},
    {ECC_NEED_TRAIN, "training"},
    {ECC_NEED_TEACHER, "the original model as teacher"},
};

static void describe_needs(const ecc_pass_desc *desc, FILE *out) {
    if (!desc->needs) return;
    fprintf(out, "    needs:");
    const char *sep = " ";
    for (size_t k = 0; k < sizeof need_texts / sizeof need_texts[0]; k++) {
        if (!(desc->needs & need_texts[k].flag)) continue;
        fprintf(out, "%s%s", sep, need_texts[k].text);
        sep = ", ";
    }
    fprintf(out, "\n");
}

typedef struct describe_widths {
    int name, option;
} describe_widths;

static void describe_pass(const ecc_pass_entry *e, describe_widths w, FILE *out) {
    const ecc_pass_desc *d = e->desc;
    fprintf(out, "  %-*s  %s", w.name, d->name, d->summary ? d->summary : "(no summary)");
    if (strcmp(e->origin, ECC_ORIGIN_BUILTIN) != 0) fprintf(out, "  [plugin %s]", e->origin);
    fprintf(out, "\n");
    describe_needs(d, out);
    for (uint32_t i = 0; i < d->n_options; i++) {
        const ecc_opt_desc *o = ecc_pass_opt(d, i);
        char usage[300], facts[600];
        opt_usage(o, usage, sizeof usage);
        opt_facts(o, facts, sizeof facts);
        fprintf(out, "      %-*s  %s\n", w.option, usage, o->help ? o->help : "");
        fprintf(out, "      %-*s  %s\n", w.option, "", facts);
    }
}

static void widen(int *w, size_t n) {
    if (n > (size_t)*w) *w = n > 40 ? 40 : (int)n;
}

static describe_widths describe_width(const ecc_registry *reg) {
    describe_widths w = {16, 16};
    for (size_t i = 0; i < reg->n; i++) {
        const ecc_pass_desc *d = reg->passes[i].desc;
        widen(&w.name, strlen(d->name));
        for (uint32_t k = 0; k < d->n_options; k++) {
            char usage[300];
            opt_usage(ecc_pass_opt(d, k), usage, sizeof usage);
            widen(&w.option, strlen(usage));
        }
    }
    return w;
}

ecc_status ecc_registry_describe(ecc_ctx *ctx, const ecc_registry *reg, const char *name,
                                 FILE *out) {
    ecc_status st = ECC_OK;
    describe_widths width = describe_width(reg);
    if (name) {
        const ecc_pass_entry *e = ecc_registry_find(reg, name);
        ECC_FAIL_IF(!e, ctx, ECC_E_USAGE, "unknown pass '%s' (see 'ecc passes')", name);
        describe_pass(e, width, out);
        return ECC_OK;
    }
    fprintf(out, "Passes run in the order given: --passes name:key=value,name2,...\n"
                 "A ':' part without '=' continues the previous value (prune:pattern=2:4).\n\n");
    for (size_t i = 0; i < reg->n; i++) describe_pass(&reg->passes[i], width, out);
fail:
    return st;
}
