/* options.c — typed pass options and the pipeline string. Owns the grammar
 * "name(:key=value)*" joined by ",", typed value parsing with bounds (never
 * clamped), default filling, the checks on option declarations used by the
 * registry, and the "did you mean" edit distance. */
#include "pipeline.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---------------- option tables ---------------- */

typedef ecc_status (*opt_parse_fn)(ecc_ctx *ctx, const char *pass, const ecc_opt_desc *d,
                                   const char *text, ecc_opt_value *out);

static ecc_status opt_parse_bool(ecc_ctx *, const char *, const ecc_opt_desc *, const char *,
                                 ecc_opt_value *);
static ecc_status opt_parse_int(ecc_ctx *, const char *, const ecc_opt_desc *, const char *,
                                ecc_opt_value *);
static ecc_status opt_parse_float(ecc_ctx *, const char *, const ecc_opt_desc *, const char *,
                                  ecc_opt_value *);
static ecc_status opt_parse_enum(ecc_ctx *, const char *, const ecc_opt_desc *, const char *,
                                 ecc_opt_value *);
static ecc_status opt_parse_string(ecc_ctx *, const char *, const ecc_opt_desc *, const char *,
                                   ecc_opt_value *);

/*  X(ENUM, "name", parse_fn) */
#define ECC_OPT_TYPES(X)                                                                 \
    X(BOOL, "bool", opt_parse_bool)                                                      \
    X(INT, "int", opt_parse_int)                                                         \
    X(FLOAT, "float", opt_parse_float)                                                   \
    X(ENUM, "enum", opt_parse_enum)                                                      \
    X(STRING, "string", opt_parse_string)

static const struct {
    const char *name;
    opt_parse_fn parse;
} opt_types[] = {
#define ECC_X_OPT(e, nm, fn) [ECC_OPT_##e] = {nm, fn},
    ECC_OPT_TYPES(ECC_X_OPT)
#undef ECC_X_OPT
};
static_assert(sizeof opt_types / sizeof opt_types[0] == ECC_OPT_TYPE_COUNT,
              "one row per ecc_opt_type");

static const struct {
    const char *word;
    bool value;
} bool_words[] = {
    {"true", true}, {"false", false}, {"1", true}, {"0", false},
    {"yes", true},  {"no", false},    {"on", true}, {"off", false},
};

const char *ecc_opt_type_name(uint32_t type) {
    return type < ECC_OPT_TYPE_COUNT ? opt_types[type].name : "?";
}

/* ---------------- descriptor access ---------------- */

const ecc_opt_desc *ecc_pass_opt(const ecc_pass_desc *desc, uint32_t i) {
    if (!desc->options || i >= desc->n_options) return NULL;
    size_t stride = desc->options[0].struct_size;
    if (stride < sizeof(ecc_opt_desc)) stride = sizeof(ecc_opt_desc);
    return (const ecc_opt_desc *)((const char *)desc->options + stride * i);
}

/* Declared names use '_'; users may type '-' for it. */
static bool opt_name_eq(const char *decl, const char *user) {
    for (; *decl && *user; decl++, user++) {
        char u = *user == '-' ? '_' : *user;
        if (*decl != u) return false;
    }
    return *decl == *user;
}

int ecc_pass_opt_index(const ecc_pass_desc *desc, const char *name) {
    for (uint32_t i = 0; i < desc->n_options; i++)
        if (opt_name_eq(ecc_pass_opt(desc, i)->name, name)) return (int)i;
    return -1;
}

/* ---------------- formatting ---------------- */

void ecc_opt_format_number(double x, char *buf, size_t size) {
    if (x == trunc(x) && fabs(x) < 1e15)
        snprintf(buf, size, "%.0f", x);
    else
        snprintf(buf, size, "%g", x);
}

/* Shortest %g text that reads back as the same double. */
static void format_double(double x, char *buf, size_t size) {
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, x);
        if (strtod(buf, NULL) == x) return;
    }
}

void ecc_opt_value_format(const ecc_opt_value *v, char *buf, size_t size) {
    if (size == 0) return;
    buf[0] = '\0';
    if (!v->set) return;
    switch (v->desc->type) {
    case ECC_OPT_BOOL: snprintf(buf, size, "%s", v->b ? "true" : "false"); break;
    case ECC_OPT_INT: snprintf(buf, size, "%lld", (long long)v->i); break;
    case ECC_OPT_FLOAT: format_double(v->f, buf, size); break;
    default: snprintf(buf, size, "%s", v->s ? v->s : ""); break;
    }
}

void ecc_opt_value_clear(ecc_opt_value *v) {
    free(v->s);
    const ecc_opt_desc *d = v->desc;
    memset(v, 0, sizeof *v);
    v->desc = d;
}

/* ---------------- typed parsing ---------------- */

static ecc_status out_of_range(ecc_ctx *ctx, const char *pass, const ecc_opt_desc *d,
                               const char *text) {
    char lo[64], hi[64];
    ecc_opt_format_number(d->min, lo, sizeof lo);
    ecc_opt_format_number(d->max, hi, sizeof hi);
    return ecc_ctx_error(ctx, ECC_E_USAGE, "%s: option '%s' = %s is out of range [%s, %s]",
                         pass, d->name, text, lo, hi);
}

static ecc_status opt_parse_bool(ecc_ctx *ctx, const char *pass, const ecc_opt_desc *d,
                                 const char *text, ecc_opt_value *out) {
    for (size_t k = 0; k < sizeof bool_words / sizeof bool_words[0]; k++) {
        if (strcasecmp(text, bool_words[k].word) == 0) {
            out->b = bool_words[k].value;
            return ECC_OK;
        }
    }
    return ecc_ctx_error(ctx, ECC_E_USAGE,
                         "%s: option '%s' = '%s' is not a boolean "
                         "(true/false, 1/0, yes/no, on/off)",
                         pass, d->name, text);
}

static ecc_status opt_parse_int(ecc_ctx *ctx, const char *pass, const ecc_opt_desc *d,
                                const char *text, ecc_opt_value *out) {
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (end == text || *end != '\0' || isspace((unsigned char)text[0]))
        return ecc_ctx_error(ctx, ECC_E_USAGE, "%s: option '%s' = '%s' is not an integer",
                             pass, d->name, text);
    if (errno == ERANGE || (double)v < d->min || (double)v > d->max)
        return out_of_range(ctx, pass, d, text);
    out->i = v;
    out->f = (double)v;
    return ECC_OK;
}

static ecc_status opt_parse_float(ecc_ctx *ctx, const char *pass, const ecc_opt_desc *d,
                                  const char *text, ecc_opt_value *out) {
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || isspace((unsigned char)text[0]) || isnan(v))
        return ecc_ctx_error(ctx, ECC_E_USAGE, "%s: option '%s' = '%s' is not a number",
                             pass, d->name, text);
    if (!isfinite(v) || v < d->min || v > d->max) return out_of_range(ctx, pass, d, text);
    out->f = v;
    return ECC_OK;
}

/* Calls fn on each '|'-separated choice; stops when fn returns true. */
static bool choices_each(const char *choices, bool (*fn)(const char *c, size_t n, void *arg),
                         void *arg) {
    const char *p = choices;
    for (;;) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (fn(p, n, arg)) return true;
        if (!bar) return false;
        p = bar + 1;
    }
}

static bool choice_matches(const char *c, size_t n, void *arg) {
    const char *text = arg;
    return strlen(text) == n && strncmp(c, text, n) == 0;
}

static bool choice_empty(const char *c, size_t n, void *arg) {
    (void)c;
    (void)arg;
    return n == 0;
}

static ecc_status opt_parse_enum(ecc_ctx *ctx, const char *pass, const ecc_opt_desc *d,
                                 const char *text, ecc_opt_value *out) {
    if (!choices_each(d->choices, choice_matches, (void *)text))
        return ecc_ctx_error(ctx, ECC_E_USAGE, "%s: option '%s' = '%s' is not one of: %s", pass,
                             d->name, text, d->choices);
    return opt_parse_string(ctx, pass, d, text, out);
}

static ecc_status opt_parse_string(ecc_ctx *ctx, const char *pass, const ecc_opt_desc *d,
                                   const char *text, ecc_opt_value *out) {
    (void)pass;
    (void)d;
    char *s = strdup(text);
    if (!s) return ECC_OOM(ctx);
    free(out->s);
    out->s = s;
    return ECC_OK;
}

ecc_status ecc_opt_parse(ecc_ctx *ctx, const char *pass, const ecc_opt_desc *d,
                         const char *text, ecc_opt_value *out) {
    assert(d->type < ECC_OPT_TYPE_COUNT);
    out->desc = d;
    ecc_status st = opt_types[d->type].parse(ctx, pass, d, text, out);
    if (st == ECC_OK) out->set = true;
    return st;
}

/* ---------------- declaration checks ---------------- */

static bool name_ok(const char *s, const char *extra) {
    if (!s || !*s) return false;
    for (; *s; s++)
        if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && !strchr(extra, *s))
            return false;
    return true;
}

static ecc_status opt_check_default(ecc_ctx *ctx, const char *pass, const ecc_opt_desc *d) {
    if (!d->default_value) return ECC_OK;
    ecc_opt_value v = {.desc = d};
    ecc_status st = ecc_opt_parse(ctx, pass, d, d->default_value, &v);
    ecc_opt_value_clear(&v);
    if (st != ECC_OK && st != ECC_E_INTERNAL) {
        char why[ECC_MSG_MAX];
        snprintf(why, sizeof why, "%s", ctx->message);
        st = ecc_ctx_error(ctx, ECC_E_INPUT, "pass '%s': invalid default for option '%s' (%s)",
                           pass, d->name, why);
    }
    return st;
}

static ecc_status opt_check_one(ecc_ctx *ctx, const char *pass, uint32_t i,
                                const ecc_opt_desc *d) {
    ecc_status st = ECC_OK;
    ECC_FAIL_IF(d->struct_size < sizeof(ecc_opt_desc) ||
                    d->struct_size % _Alignof(ecc_opt_desc) != 0,
                ctx, ECC_E_INPUT, "pass '%s': option %u has struct_size %u (expected %zu)", pass,
                i, d->struct_size, sizeof(ecc_opt_desc));
    ECC_FAIL_IF(!name_ok(d->name, "_"), ctx, ECC_E_INPUT,
                "pass '%s': option %u has an invalid name '%s' (expected [a-z0-9_]+)", pass, i,
                d->name ? d->name : "(null)");
    ECC_FAIL_IF(d->type >= ECC_OPT_TYPE_COUNT, ctx, ECC_E_INPUT,
                "pass '%s': option '%s' has unknown type %u", pass, d->name, d->type);
    if (d->type == ECC_OPT_INT || d->type == ECC_OPT_FLOAT)
        ECC_FAIL_IF(isnan(d->min) || isnan(d->max) || d->min > d->max, ctx, ECC_E_INPUT,
                    "pass '%s': option '%s' has bounds [%g, %g] (need min <= max)", pass,
                    d->name, d->min, d->max);
    if (d->type == ECC_OPT_ENUM)
        ECC_FAIL_IF(!d->choices || choices_each(d->choices, choice_empty, NULL), ctx,
                    ECC_E_INPUT, "pass '%s': enum option '%s' has empty choices '%s'", pass,
                    d->name, d->choices ? d->choices : "(null)");
    ECC_TRY(opt_check_default(ctx, pass, d));
fail:
    return st;
}

ecc_status ecc_pass_opts_check(ecc_ctx *ctx, const ecc_pass_desc *desc) {
    ecc_status st = ECC_OK;
    ECC_FAIL_IF(desc->n_options > 0 && !desc->options, ctx, ECC_E_INPUT,
                "pass '%s': n_options is %u but options is NULL", desc->name, desc->n_options);
    for (uint32_t i = 0; i < desc->n_options; i++) {
        const ecc_opt_desc *d = ecc_pass_opt(desc, i);
        ECC_TRY(opt_check_one(ctx, desc->name, i, d));
        ECC_FAIL_IF(i > 0 && d->struct_size != desc->options[0].struct_size, ctx, ECC_E_INPUT,
                    "pass '%s': option '%s' has struct_size %u, option 0 has %u", desc->name,
                    d->name, d->struct_size, desc->options[0].struct_size);
        for (uint32_t j = 0; j < i; j++)
            ECC_FAIL_IF(strcmp(ecc_pass_opt(desc, j)->name, d->name) == 0, ctx, ECC_E_INPUT,
                        "pass '%s': option '%s' is declared twice", desc->name, d->name);
    }
fail:
    return st;
}

/* ---------------- edit distance ---------------- */

#define EDIT_MAX 64

size_t ecc_edit_distance(const char *a, const char *b) {
    size_t n = strlen(a), m = strlen(b);
    if (n >= EDIT_MAX || m >= EDIT_MAX) return SIZE_MAX;
    size_t d[EDIT_MAX + 1][EDIT_MAX + 1];
    for (size_t i = 0; i <= n; i++) d[i][0] = i;
    for (size_t j = 0; j <= m; j++) d[0][j] = j;
    for (size_t i = 1; i <= n; i++) {
        for (size_t j = 1; j <= m; j++) {
            size_t cost = a[i - 1] != b[j - 1];
            size_t best = d[i - 1][j - 1] + cost;
            if (d[i - 1][j] + 1 < best) best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[n][m];
}

/* A suggestion is offered only when it is plausibly a typo. */
static bool close_enough(const char *typed, size_t dist) {
    return dist <= 2 && 2 * dist <= strlen(typed);
}

/* ---------------- pipeline string ---------------- */

static char *trim(char *s) {
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
    return s;
}

static ecc_status unknown_pass(ecc_ctx *ctx, const ecc_registry *reg, const char *name) {
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    for (size_t i = 0; i < reg->n; i++) {
        size_t dist = ecc_edit_distance(name, reg->passes[i].desc->name);
        if (dist < best_d) best_d = dist, best = reg->passes[i].desc->name;
    }
    if (best && close_enough(name, best_d))
        return ecc_ctx_error(ctx, ECC_E_USAGE,
                             "unknown pass '%s' (see 'ecc passes'); did you mean '%s'?", name,
                             best);
    return ecc_ctx_error(ctx, ECC_E_USAGE, "unknown pass '%s' (see 'ecc passes')", name);
}

static ecc_status unknown_option(ecc_ctx *ctx, const ecc_pass_desc *desc, const char *key) {
    char list[512] = "";
    size_t used = 0, best_d = SIZE_MAX;
    const char *best = NULL;
    for (uint32_t i = 0; i < desc->n_options; i++) {
        const char *nm = ecc_pass_opt(desc, i)->name;
        int w = snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", nm);
        if (w > 0 && (size_t)w < sizeof list - used) used += (size_t)w;
        size_t dist = ecc_edit_distance(key, nm);
        if (dist < best_d) best_d = dist, best = nm;
    }
    if (desc->n_options == 0)
        return ecc_ctx_error(ctx, ECC_E_USAGE,
                             "unknown option '%s' for pass '%s' (it takes no options)", key,
                             desc->name);
    if (best && close_enough(key, best_d))
        return ecc_ctx_error(ctx, ECC_E_USAGE,
                             "unknown option '%s' for pass '%s' (options: %s); did you mean '%s'?",
                             key, desc->name, list, best);
    return ecc_ctx_error(ctx, ECC_E_USAGE, "unknown option '%s' for pass '%s' (options: %s)", key,
                         desc->name, list);
}

/* Appends ":piece" to the raw text of an option (a ':' segment without '='). */
static ecc_status raw_append(ecc_ctx *ctx, char **raw, const char *piece) {
    size_t n = strlen(*raw), k = strlen(piece);
    char *s = realloc(*raw, n + k + 2);
    if (!s) return ECC_OOM(ctx);
    s[n] = ':';
    memcpy(s + n + 1, piece, k + 1);
    *raw = s;
    return ECC_OK;
}

/* Splits the ':' segments of one pass into raw option texts (raw[i] for option i). */
static ecc_status collect_raw(ecc_ctx *ctx, const ecc_pass_desc *desc, char *rest, char **raw) {
    ecc_status st = ECC_OK;
    int last = -1;
    while (rest) {
        char *seg = rest, *colon = strchr(rest, ':');
        if (colon) *colon = '\0';
        rest = colon ? colon + 1 : NULL;
        seg = trim(seg);
        char *eq = strchr(seg, '=');
        ECC_FAIL_IF(*seg == '\0', ctx, ECC_E_USAGE,
                    "pass '%s': empty option segment (expected key=value)", desc->name);
        if (!eq) {
            ECC_FAIL_IF(last < 0, ctx, ECC_E_USAGE,
                        "pass '%s': '%s' is not an option (expected key=value)", desc->name, seg);
            ECC_TRY(raw_append(ctx, &raw[last], seg));
            continue;
        }
        *eq = '\0';
        char *key = trim(seg), *val = trim(eq + 1);
        ECC_FAIL_IF(*key == '\0', ctx, ECC_E_USAGE, "pass '%s': option with an empty name",
                    desc->name);
        last = ecc_pass_opt_index(desc, key);
        if (last < 0) ECC_TRY(unknown_option(ctx, desc, key));
        ECC_FAIL_IF(raw[last] != NULL, ctx, ECC_E_USAGE, "pass '%s': option '%s' given twice",
                    desc->name, ecc_pass_opt(desc, (uint32_t)last)->name);
        raw[last] = strdup(val);
        ECC_FAIL_IF(!raw[last], ctx, ECC_E_INTERNAL, "out of memory");
    }
fail:
    return st;
}

/* Parses given values and fills declared defaults. */
static ecc_status fill_values(ecc_ctx *ctx, ecc_pass_inv *inv, char **raw) {
    ecc_status st = ECC_OK;
    for (uint32_t i = 0; i < inv->desc->n_options; i++) {
        const ecc_opt_desc *d = ecc_pass_opt(inv->desc, i);
        inv->opts[i].desc = d;
        const char *text = raw[i] ? raw[i] : d->default_value;
        if (!text) continue;
        ECC_TRY(ecc_opt_parse(ctx, inv->desc->name, d, text, &inv->opts[i]));
        inv->opts[i].given = raw[i] != NULL;
    }
fail:
    return st;
}

/* "name:key=value…" with the given options in declaration order. */
static ecc_status inv_make_text(ecc_ctx *ctx, ecc_pass_inv *inv) {
    size_t cap = strlen(inv->desc->name) + 1, used = 0;
    char val[256];
    for (uint32_t i = 0; i < inv->desc->n_options; i++) {
        if (!inv->opts[i].given) continue;
        ecc_opt_value_format(&inv->opts[i], val, sizeof val);
        cap += strlen(inv->opts[i].desc->name) + strlen(val) + 2;
    }
    inv->text = malloc(cap);
    if (!inv->text) return ECC_OOM(ctx);
    used = (size_t)snprintf(inv->text, cap, "%s", inv->desc->name);
    for (uint32_t i = 0; i < inv->desc->n_options; i++) {
        if (!inv->opts[i].given) continue;
        ecc_opt_value_format(&inv->opts[i], val, sizeof val);
        used += (size_t)snprintf(inv->text + used, cap - used, ":%s=%s",
                                 inv->opts[i].desc->name, val);
    }
    return ECC_OK;
}

static ecc_status pipeline_grow(ecc_ctx *ctx, ecc_pipeline *pl) {
    ecc_pass_inv *p = realloc(pl->passes, (pl->n + 1) * sizeof *p);
    if (!p) return ECC_OOM(ctx);
    pl->passes = p;
    memset(&p[pl->n], 0, sizeof *p);
    return ECC_OK;
}

/* One ','-separated pass segment, e.g. " prune : pattern=2:4 ". */
static ecc_status parse_pass(ecc_ctx *ctx, const ecc_registry *reg, ecc_pipeline *pl, char *seg,
                             size_t pos, const char *spec) {
    ecc_status st = ECC_OK;
    char **raw = NULL;
    const ecc_pass_entry *e = NULL;
    ecc_pass_inv *inv = NULL;
    char *colon = strchr(seg, ':');
    if (colon) *colon = '\0';
    char *name = trim(seg);
    ECC_FAIL_IF(*name == '\0', ctx, ECC_E_USAGE, "empty pass name at position %zu in '%s'",
                pos + 1, spec);
    e = ecc_registry_find(reg, name);
    if (!e) ECC_TRY(unknown_pass(ctx, reg, name));
    ECC_TRY(pipeline_grow(ctx, pl));
    inv = &pl->passes[pl->n++];
    inv->desc = e->desc;
    inv->origin = e->origin;
    uint32_t n = e->desc->n_options;
    inv->opts = calloc(n ? n : 1, sizeof *inv->opts);
    raw = calloc(n ? n : 1, sizeof *raw);
    ECC_FAIL_IF(!inv->opts || !raw, ctx, ECC_E_INTERNAL, "out of memory");
    if (colon) ECC_TRY(collect_raw(ctx, e->desc, colon + 1, raw));
    ECC_TRY(fill_values(ctx, inv, raw));
    ECC_TRY(inv_make_text(ctx, inv));
fail:
    for (uint32_t i = 0; raw && i < e->desc->n_options; i++) free(raw[i]);
    free(raw);
    return st;
}

static ecc_status pipeline_make_text(ecc_ctx *ctx, ecc_pipeline *pl) {
    size_t cap = 1;
    for (size_t i = 0; i < pl->n; i++) cap += strlen(pl->passes[i].text) + 1;
    pl->text = malloc(cap);
    if (!pl->text) return ECC_OOM(ctx);
    pl->text[0] = '\0';
    for (size_t i = 0; i < pl->n; i++) {
        if (i) strcat(pl->text, ",");
        strcat(pl->text, pl->passes[i].text);
    }
    return ECC_OK;
}

ecc_status ecc_pipeline_parse(ecc_ctx *ctx, const ecc_registry *reg, const char *spec,
                              ecc_pipeline **out) {
    ecc_status st = ECC_OK;
    ecc_pipeline *pl = NULL;
    char *buf = NULL;
    ECC_FAIL_IF(!reg || !spec || !out, ctx, ECC_E_USAGE, "ecc_pipeline_parse: NULL argument");
    *out = NULL;
    pl = calloc(1, sizeof *pl);
    buf = strdup(spec);
    ECC_FAIL_IF(!pl || !buf, ctx, ECC_E_INTERNAL, "out of memory");
    char *rest = *trim(buf) ? buf : NULL; /* an empty spec is an empty pipeline */
    for (size_t pos = 0; rest; pos++) {
        char *seg = rest, *comma = strchr(rest, ',');
        if (comma) *comma = '\0';
        rest = comma ? comma + 1 : NULL;
        ECC_TRY(parse_pass(ctx, reg, pl, seg, pos, spec));
    }
    ECC_TRY(pipeline_make_text(ctx, pl));
    *out = pl;
    free(buf);
    return ECC_OK;
fail:
    ecc_pipeline_free(pl);
    free(buf);
    return st;
}
