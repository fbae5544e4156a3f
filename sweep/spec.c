/* spec.c — reading a sweep spec: the JSON file (a regular file, at most
 * 1 MiB), its keys checked against a table (an unknown key is refused, so a
 * typo never silently means a default), paths resolved against the spec's
 * folder, axis values turned into the texts that go into a pipeline. */
#include "sweep.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SPEC_MAX_BYTES (1u << 20)

enum { T_STR = 1, T_INT = 2, T_BOOL = 4, T_OBJ = 8, T_ARR = 16 };
static const struct {
    const char *name;
    unsigned types;
    bool required;
} spec_keys[] = {
    {"model", T_STR, true},   {"data", T_STR, true},      {"labels", T_STR, false},
    {"calib", T_STR, false},  {"calib_size", T_INT, false}, {"train", T_STR, false},
    {"plugins", T_ARR, false}, {"seed", T_INT, false},    {"limit", T_INT, false},
    {"pipeline", T_STR, false}, {"axes", T_OBJ, false},   {"sample", T_OBJ, false},
    {"ecc", T_BOOL, false},   {"short_names", T_BOOL, false}, {"latency", T_OBJ, false},
};
enum { N_SPEC_KEYS = sizeof spec_keys / sizeof spec_keys[0] };

static bool type_ok(const cJSON *v, unsigned types) {
    if ((types & T_STR) && cJSON_IsString(v)) return true;
    if ((types & T_BOOL) && cJSON_IsBool(v)) return true;
    if ((types & T_OBJ) && cJSON_IsObject(v)) return true;
    if ((types & T_ARR) && cJSON_IsArray(v)) return true;
    if ((types & T_INT) && cJSON_IsNumber(v))
        return v->valuedouble >= 0 && v->valuedouble <= 9007199254740992.0 &&
               v->valuedouble == floor(v->valuedouble);
    return false;
}

static const char *type_words(unsigned types) {
    switch (types) {
    case T_STR: return "a string";
    case T_INT: return "a non-negative integer";
    case T_BOOL: return "true or false";
    case T_OBJ: return "an object";
    default: return "an array";
    }
}

static ecc_status check_keys(ecc_ctx *ctx, const cJSON *root) {
    ecc_status st = ECC_OK;
    for (const cJSON *it = root->child; it; it = it->next) {
        size_t k = 0;
        while (k < N_SPEC_KEYS && strcmp(spec_keys[k].name, it->string)) k++;
        ECC_FAIL_IF(k == N_SPEC_KEYS, ctx, ECC_E_INPUT,
                    "unknown key \"%s\" (see 'ecc help sweep')", it->string);
        ECC_FAIL_IF(!type_ok(it, spec_keys[k].types), ctx, ECC_E_INPUT,
                    "\"%s\" must be %s", it->string, type_words(spec_keys[k].types));
    }
    for (size_t k = 0; k < N_SPEC_KEYS; k++)
        ECC_FAIL_IF(spec_keys[k].required && !cJSON_GetObjectItemCaseSensitive(root,
                                                                            spec_keys[k].name),
                    ctx, ECC_E_INPUT, "missing \"%s\"", spec_keys[k].name);
fail:
    return st;
}

/* path relative to the spec's folder (absolute paths stay). */
static char *resolve(const char *spec_path, const char *p) {
    const char *slash = strrchr(spec_path, '/');
    if (p[0] == '/' || !slash) return strdup(p);
    return sweep_path_n(spec_path, (size_t)(slash - spec_path), p);
}

static ecc_status get_path(ecc_ctx *ctx, const cJSON *root, const char *key, const char *spec,
                           char **out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!v) return ECC_OK;
    if (!*v->valuestring) return ecc_ctx_error(ctx, ECC_E_INPUT, "\"%s\" is empty", key);
    *out = resolve(spec, v->valuestring);
    return *out ? ECC_OK : ECC_OOM(ctx);
}

static uint64_t get_u64(const cJSON *o, const char *key, uint64_t dflt) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return v ? (uint64_t)v->valuedouble : dflt;
}

static bool get_bool(const cJSON *o, const char *key) {
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key));
}

/* Shortest text that reads back as the same double (as pass options print). */
static void format_number(double x, char *buf, size_t size) {
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, x);
        if (strtod(buf, NULL) == x) return;
    }
}

/* One axis value as pipeline text: a number, a string or a boolean. */
static ecc_status value_text(ecc_ctx *ctx, const char *axis, const cJSON *v, bool whole,
                             char **out) {
    char buf[64];
    const char *text = buf;
    if (cJSON_IsString(v)) text = v->valuestring;
    else if (!whole && cJSON_IsBool(v)) text = cJSON_IsTrue(v) ? "true" : "false";
    else if (!whole && cJSON_IsNumber(v) && isfinite(v->valuedouble))
        format_number(v->valuedouble, buf, sizeof buf);
    else
        return ecc_ctx_error(ctx, ECC_E_INPUT, "axis \"%s\": values must be %s", axis,
                             whole ? "pipeline strings" : "numbers, strings or booleans");
    if (!whole && (strchr(text, ',') || !*text))
        return ecc_ctx_error(ctx, ECC_E_INPUT, "axis \"%s\": value '%s' is empty or holds ','",
                             axis, text);
    *out = strdup(text);
    return *out ? ECC_OK : ECC_OOM(ctx);
}

/* "pipeline" or "PASS.OPTION" → an axis with its values. */
static ecc_status read_axis(ecc_ctx *ctx, const cJSON *it, sweep_axis *ax) {
    ecc_status st = ECC_OK;
    const char *name = it->string, *dot = strrchr(name, '.');
    bool whole = !strcmp(name, "pipeline");
    ECC_FAIL_IF(!whole && (!dot || dot == name || !dot[1]), ctx, ECC_E_INPUT,
                "axis \"%s\": name it PASS.OPTION (e.g. prune.sparsity) or \"pipeline\"", name);
    int n = cJSON_GetArraySize(it);
    ECC_FAIL_IF(!cJSON_IsArray(it) || n < 1, ctx, ECC_E_INPUT,
                "axis \"%s\" must be a non-empty array of values", name);
    ax->name = strdup(name);
    ax->values = calloc((size_t)n, sizeof *ax->values);
    if (!whole) {
        ax->pass = strndup(name, (size_t)(dot - name));
        ax->option = strdup(dot + 1);
        ECC_FAIL_IF(!ax->pass || !ax->option, ctx, ECC_E_INTERNAL, "out of memory");
    }
    ECC_FAIL_IF(!ax->name || !ax->values, ctx, ECC_E_INTERNAL, "out of memory");
    for (const cJSON *v = it->child; v; v = v->next)
        ECC_TRY(value_text(ctx, name, v, whole, &ax->values[ax->n++]));
fail:
    return st;
}

static ecc_status read_axes(ecc_ctx *ctx, const cJSON *axes, ecc_sweep *sw) {
    ecc_status st = ECC_OK;
    int n = axes ? cJSON_GetArraySize(axes) : 0;
    bool seen_pipeline = false;
    if (n == 0) return ECC_OK;
    sw->axes = calloc((size_t)n, sizeof *sw->axes);
    ECC_FAIL_IF(!sw->axes, ctx, ECC_E_INTERNAL, "out of memory");
    for (const cJSON *it = axes->child; it; it = it->next) {
        sweep_axis *ax = &sw->axes[sw->n_axes++];
        ECC_TRY(read_axis(ctx, it, ax));
        ECC_FAIL_IF(!ax->pass && seen_pipeline, ctx, ECC_E_INPUT,
                    "axes: only one \"pipeline\" axis");
        seen_pipeline |= !ax->pass;
    }
fail:
    return st;
}

static ecc_status read_sample(ecc_ctx *ctx, const cJSON *s, ecc_sweep *sw) {
    ecc_status st = ECC_OK;
    if (!s) return ECC_OK;
    for (const cJSON *it = s->child; it; it = it->next) {
        ECC_FAIL_IF(strcmp(it->string, "random") && strcmp(it->string, "seed"), ctx,
                    ECC_E_INPUT, "\"sample\": unknown key \"%s\" (random, seed)", it->string);
        ECC_FAIL_IF(!type_ok(it, T_INT), ctx, ECC_E_INPUT,
                    "\"sample\": \"%s\" must be a non-negative integer", it->string);
    }
    sw->random = cJSON_GetObjectItemCaseSensitive(s, "random") != NULL;
    sw->sample_n = get_u64(s, "random", 0);
    sw->sample_seed = get_u64(s, "seed", 0);
    ECC_FAIL_IF(sw->random && (sw->sample_n < 1 || sw->sample_n > SWEEP_MAX_TRIALS), ctx,
                ECC_E_INPUT, "\"sample\": \"random\" must be in [1, %u]", SWEEP_MAX_TRIALS);
fail:
    return st;
}

static ecc_status read_latency(ecc_ctx *ctx, const cJSON *l, ecc_sweep *sw) {
    ecc_status st = ECC_OK;
    static const char *const keys[] = {"batch", "runs", "threads"};
    for (const cJSON *it = l ? l->child : NULL; it; it = it->next) {
        size_t k = 0;
        while (k < 3 && strcmp(keys[k], it->string)) k++;
        ECC_FAIL_IF(k == 3, ctx, ECC_E_INPUT,
                    "\"latency\": unknown key \"%s\" (batch, runs, threads)", it->string);
        ECC_FAIL_IF(!type_ok(it, T_INT), ctx, ECC_E_INPUT,
                    "\"latency\": \"%s\" must be a non-negative integer", it->string);
    }
    sw->lat_batch = (int64_t)get_u64(l, "batch", 16);
    sw->lat_runs = (uint32_t)(get_u64(l, "runs", 5) > 1000 ? 1001 : get_u64(l, "runs", 5));
    uint64_t th = get_u64(l, "threads", 1);
    sw->lat_threads = th > 1024 ? -1 : (int)th;
    ECC_FAIL_IF(sw->lat_batch < 1 || sw->lat_batch > 65536, ctx, ECC_E_INPUT,
                "\"latency\": \"batch\" must be in [1, 65536]");
    ECC_FAIL_IF(sw->lat_runs < 1 || sw->lat_runs > 1000, ctx, ECC_E_INPUT,
                "\"latency\": \"runs\" must be in [1, 1000]");
    ECC_FAIL_IF(sw->lat_threads < 0, ctx, ECC_E_INPUT,
                "\"latency\": \"threads\" must be in [0, 1024] (0: all cores)");
fail:
    return st;
}

static ecc_status read_plugins(ecc_ctx *ctx, const cJSON *arr, const char *spec, ecc_sweep *sw) {
    ecc_status st = ECC_OK;
    int n = arr ? cJSON_GetArraySize(arr) : 0;
    if (n == 0) return ECC_OK;
    sw->plugins = calloc((size_t)n, sizeof *sw->plugins);
    ECC_FAIL_IF(!sw->plugins, ctx, ECC_E_INTERNAL, "out of memory");
    for (const cJSON *v = arr->child; v; v = v->next) {
        ECC_FAIL_IF(!cJSON_IsString(v) || !*v->valuestring, ctx, ECC_E_INPUT,
                    "\"plugins\" must be an array of paths");
        sw->plugins[sw->n_plugins] = resolve(spec, v->valuestring);
        ECC_FAIL_IF(!sw->plugins[sw->n_plugins++], ctx, ECC_E_INTERNAL, "out of memory");
    }
fail:
    return st;
}

static ecc_status read_fields(ecc_ctx *ctx, const cJSON *root, const char *path, ecc_sweep *sw) {
    ecc_status st = ECC_OK;
    ECC_TRY(check_keys(ctx, root));
    ECC_TRY(get_path(ctx, root, "model", path, &sw->model));
    ECC_TRY(get_path(ctx, root, "data", path, &sw->data));
    ECC_TRY(get_path(ctx, root, "labels", path, &sw->labels));
    ECC_TRY(get_path(ctx, root, "calib", path, &sw->calib));
    ECC_TRY(get_path(ctx, root, "train", path, &sw->train));
    ECC_TRY(read_plugins(ctx, cJSON_GetObjectItemCaseSensitive(root, "plugins"), path, sw));
    sw->calib_size = get_u64(root, "calib_size", 0);
    ECC_FAIL_IF(sw->calib_size > UINT32_MAX, ctx, ECC_E_INPUT, "\"calib_size\" is too large");
    sw->seed = get_u64(root, "seed", 0);
    sw->limit = (int64_t)get_u64(root, "limit", 0);
    sw->ecc = get_bool(root, "ecc");
    sw->short_names = get_bool(root, "short_names");
    const cJSON *pl = cJSON_GetObjectItemCaseSensitive(root, "pipeline");
    sw->base = strdup(pl ? pl->valuestring : "");
    ECC_FAIL_IF(!sw->base, ctx, ECC_E_INTERNAL, "out of memory");
    ECC_TRY(read_axes(ctx, cJSON_GetObjectItemCaseSensitive(root, "axes"), sw));
    ECC_TRY(read_sample(ctx, cJSON_GetObjectItemCaseSensitive(root, "sample"), sw));
    ECC_TRY(read_latency(ctx, cJSON_GetObjectItemCaseSensitive(root, "latency"), sw));
fail:
    return st;
}

static ecc_status read_text(ecc_ctx *ctx, const char *path, char **out) {
    ecc_status st = ECC_OK;
    FILE *fp = NULL;
    int64_t size = 0;
    ECC_TRY(ecc_input_fopen(ctx, path, &fp, &size));
    ECC_FAIL_IF(size < 0 || size > SPEC_MAX_BYTES, ctx, ECC_E_INPUT,
                "a spec is at most %u bytes", SPEC_MAX_BYTES);
    *out = malloc((size_t)size + 1);
    ECC_FAIL_IF(!*out, ctx, ECC_E_INTERNAL, "out of memory");
    size_t got = fread(*out, 1, (size_t)size, fp);
    (*out)[got] = 0;
    ECC_FAIL_IF(got != (size_t)size || ferror(fp), ctx, ECC_E_INTERNAL, "cannot read: %s",
                strerror(errno));
fail:
    if (fp) fclose(fp);
    return st;
}

ecc_status sweep_spec_read(ecc_ctx *ctx, const char *path, ecc_sweep *sw) {
    ecc_status st = ECC_OK;
    char *text = NULL;
    cJSON *root = NULL;
    ecc_ctx_set_subject(ctx, path);
    sw->spec_path = strdup(path);
    ECC_FAIL_IF(!sw->spec_path, ctx, ECC_E_INTERNAL, "out of memory");
    ECC_TRY(read_text(ctx, path, &text));
    const char *where = NULL;
    root = cJSON_ParseWithOpts(text, &where, true);
    ECC_FAIL_IF(!root, ctx, ECC_E_INPUT, "not valid JSON (near byte %td)",
                where ? where - text : (ptrdiff_t)0);
    ECC_FAIL_IF(!cJSON_IsObject(root), ctx, ECC_E_INPUT, "the spec must be a JSON object");
    ECC_TRY(read_fields(ctx, root, path, sw));
fail:
    cJSON_Delete(root);
    free(text);
    return st;
}

void sweep_spec_clear(ecc_sweep *sw) {
    free(sw->spec_path);
    free(sw->model);
    free(sw->calib);
    free(sw->data);
    free(sw->labels);
    free(sw->train);
    for (size_t i = 0; i < sw->n_plugins; i++) free(sw->plugins[i]);
    free(sw->plugins);
    free(sw->base);
    for (size_t a = 0; a < sw->n_axes; a++) {
        for (size_t i = 0; i < sw->axes[a].n; i++) free(sw->axes[a].values[i]);
        free(sw->axes[a].values);
        free(sw->axes[a].name);
        free(sw->axes[a].pass);
        free(sw->axes[a].option);
    }
    free(sw->axes);
    for (size_t i = 0; i < sw->n_trials; i++) {
        free(sw->trials[i].pipeline);
        free(sw->trials[i].assign);
        free(sw->trials[i].canon);
    }
    free(sw->trials);
}
