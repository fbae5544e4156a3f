/* trials.c — the trials of a spec: the axes' grid (last axis fastest) or a
 * seeded random sample of it (Floyd's algorithm, no grid materialised),
 * option values edited into pipeline texts, each trial's canonical JSON and
 * key (FNV-1a 64 of it; equal trials collapse into one), and the check of
 * every trial's pipeline with the library's parser before any work. */
#include "sweep.h"

#include <stdlib.h>
#include <string.h>

/* ---------------- editing a pipeline text ---------------- */

/* Option names as the pipeline parser compares them: '-' reads as '_'. */
static bool opt_eq(const char *a, size_t na, const char *b) {
    size_t nb = strlen(b);
    if (na != nb) return false;
    for (size_t i = 0; i < na; i++) {
        char x = a[i] == '-' ? '_' : a[i], y = b[i] == '-' ? '_' : b[i];
        if (x != y) return false;
    }
    return true;
}

static void trim(const char **s, size_t *n) {
    while (*n && (**s == ' ' || **s == '\t')) (*s)++, (*n)--;
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t')) (*n)--;
}

/* Writes pass segment seg (n bytes, name already matched) without option
 * opt (and the ':' continuations of its value), then ":opt=val". */
static void rewrite_segment(FILE *o, const char *seg, size_t n, const char *opt,
                            const char *val) {
    const char *end = seg + n, *p = memchr(seg, ':', n);
    fwrite(seg, 1, p ? (size_t)(p - seg) : n, o);
    bool skipping = false;
    while (p && p < end) {
        const char *tok = p + 1, *next = memchr(tok, ':', (size_t)(end - tok));
        size_t len = (size_t)((next ? next : end) - tok);
        const char *eq = memchr(tok, '=', len);
        if (eq) {
            const char *k = tok;
            size_t kn = (size_t)(eq - tok);
            trim(&k, &kn);
            skipping = opt_eq(k, kn, opt);
        }
        if (!skipping) fprintf(o, ":%.*s", (int)len, tok);
        p = next;
    }
    fprintf(o, ":%s=%s", opt, val);
}

bool sweep_pipeline_set(const char *pl, const char *pass, const char *opt, const char *val,
                        char **out) {
    char *buf = NULL;
    size_t size = 0;
    bool found = false;
    FILE *o = open_memstream(&buf, &size);
    *out = NULL;
    if (!o) return true;
    for (const char *seg = pl; seg;) {
        const char *comma = strchr(seg, ','), *colon;
        size_t n = comma ? (size_t)(comma - seg) : strlen(seg), nn;
        colon = memchr(seg, ':', n);
        const char *name = seg;
        nn = colon ? (size_t)(colon - seg) : n;
        trim(&name, &nn);
        if (seg != pl) fputc(',', o);
        if (nn == strlen(pass) && !memcmp(name, pass, nn)) {
            found = true;
            rewrite_segment(o, seg, n, opt, val);
        } else {
            fwrite(seg, 1, n, o);
        }
        seg = comma ? comma + 1 : NULL;
    }
    if (fclose(o) != 0 || !found) {
        free(buf);
        return found;
    }
    *out = buf;
    return true;
}

/* ---------------- the grid and the random sample ---------------- */

static ecc_status grid_total(ecc_ctx *ctx, const ecc_sweep *sw, uint64_t *total) {
    uint64_t t = 1;
    for (size_t a = 0; a < sw->n_axes; a++)
        if (__builtin_mul_overflow(t, (uint64_t)sw->axes[a].n, &t))
            return ecc_ctx_error(ctx, ECC_E_INPUT, "the grid has more than 2^64 trials");
    *total = t;
    return ECC_OK;
}

/* Open-addressing set of indices (Floyd's sample). */
typedef struct idx_set {
    uint64_t *slot; /* value + 1; 0 = empty */
    size_t cap;
} idx_set;

static bool set_add(idx_set *s, uint64_t v) { /* false when already there */
    size_t i = (size_t)((v * 0x9e3779b97f4a7c15ull) >> 20) & (s->cap - 1);
    while (s->slot[i] && s->slot[i] != v + 1) i = (i + 1) & (s->cap - 1);
    if (s->slot[i]) return false;
    s->slot[i] = v + 1;
    return true;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* n distinct indices in [0, total), sorted: Floyd's algorithm on a seeded stream. */
static ecc_status sample_indices(ecc_ctx *ctx, uint64_t total, uint64_t n, uint64_t seed,
                                 uint64_t *out) {
    idx_set s = {NULL, 16};
    while (s.cap < 2 * n) s.cap *= 2;
    s.slot = calloc(s.cap, sizeof *s.slot);
    if (!s.slot) return ECC_OOM(ctx);
    uint64_t state = seed, k = 0;
    for (uint64_t j = total - n; j < total; j++) {
        uint64_t t = ecc_splitmix64(&state) % (j + 1);
        out[k++] = set_add(&s, t) ? t : (set_add(&s, j), j);
    }
    free(s.slot);
    qsort(out, (size_t)n, sizeof *out, cmp_u64);
    return ECC_OK;
}

/* ---------------- one trial ---------------- */

static uint64_t fnv1a(const char *s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return h;
}

static void add_str(cJSON *o, const char *key, const char *v) {
    if (v) cJSON_AddStringToObject(o, key, v);
    else cJSON_AddNullToObject(o, key);
}

/* Everything that determines a trial's result, in a fixed order. */
static char *canonical(const ecc_sweep *sw, const char *pipeline) {
    cJSON *o = cJSON_CreateObject(), *lat = cJSON_CreateObject(), *pl = cJSON_CreateArray();
    char *text = NULL;
    if (o && lat && pl) {
        add_str(o, "model", sw->model);
        add_str(o, "pipeline", pipeline);
        add_str(o, "calib", sw->calib);
        cJSON_AddNumberToObject(o, "calib_size", (double)sw->calib_size);
        add_str(o, "train", sw->train);
        cJSON_AddNumberToObject(o, "seed", (double)sw->seed);
        cJSON_AddBoolToObject(o, "short_names", sw->short_names);
        for (size_t i = 0; i < sw->n_plugins; i++)
            cJSON_AddItemToArray(pl, cJSON_CreateString(sw->plugins[i]));
        cJSON_AddItemToObject(o, "plugins", pl), pl = NULL;
        cJSON_AddBoolToObject(o, "ecc", sw->ecc);
        add_str(o, "data", sw->data);
        add_str(o, "labels", sw->labels);
        cJSON_AddNumberToObject(o, "limit", (double)sw->limit);
        cJSON_AddNumberToObject(lat, "batch", (double)sw->lat_batch);
        cJSON_AddNumberToObject(lat, "runs", sw->lat_runs);
        cJSON_AddNumberToObject(lat, "threads", sw->lat_threads);
        cJSON_AddItemToObject(o, "latency", lat), lat = NULL;
        text = cJSON_PrintUnformatted(o);
    }
    cJSON_Delete(o);
    cJSON_Delete(lat);
    cJSON_Delete(pl);
    return text;
}

/* Trial number idx of the grid; applies[a] is set when option axis a found its pass. */
static ecc_status make_trial(ecc_ctx *ctx, const ecc_sweep *sw, uint64_t idx, sweep_trial *t,
                             bool *applies) {
    ecc_status st = ECC_OK;
    size_t digit[64] = {0};
    FILE *as = NULL;
    size_t as_size = 0;
    char *pl = NULL;
    for (size_t a = sw->n_axes; a-- > 0;) {
        digit[a] = (size_t)(idx % sw->axes[a].n);
        idx /= sw->axes[a].n;
    }
    for (size_t a = 0; a < sw->n_axes; a++)
        if (!sw->axes[a].pass) pl = strdup(sw->axes[a].values[digit[a]]);
    if (!pl) pl = strdup(sw->base);
    as = open_memstream(&t->assign, &as_size);
    ECC_FAIL_IF(!pl || !as, ctx, ECC_E_INTERNAL, "out of memory");
    for (size_t a = 0; a < sw->n_axes; a++) {
        const sweep_axis *ax = &sw->axes[a];
        char *edited = NULL;
        if (!ax->pass || !sweep_pipeline_set(pl, ax->pass, ax->option, ax->values[digit[a]],
                                             &edited))
            continue;
        ECC_FAIL_IF(!edited, ctx, ECC_E_INTERNAL, "out of memory");
        free(pl);
        pl = edited;
        applies[a] = true;
        fprintf(as, "%s%s=%s", as_size ? " " : "", ax->name, ax->values[digit[a]]);
        fflush(as);
    }
    ECC_FAIL_IF(fclose(as) != 0, ctx, ECC_E_INTERNAL, "out of memory");
    as = NULL;
    t->pipeline = pl, pl = NULL;
    t->canon = canonical(sw, t->pipeline);
    ECC_FAIL_IF(!t->canon, ctx, ECC_E_INTERNAL, "out of memory");
    snprintf(t->key, sizeof t->key, "%016llx", (unsigned long long)fnv1a(t->canon));
fail:
    if (as) fclose(as);
    free(pl);
    return st;
}

static ecc_status check_axes_apply(ecc_ctx *ctx, const ecc_sweep *sw, const bool *applies) {
    for (size_t a = 0; a < sw->n_axes; a++)
        if (sw->axes[a].pass && !applies[a])
            return ecc_ctx_error(ctx, ECC_E_USAGE,
                                 "axis \"%s\": no trial's pipeline has the pass '%s'",
                                 sw->axes[a].name, sw->axes[a].pass);
    return ECC_OK;
}

static void trial_clear(sweep_trial *t) {
    free(t->pipeline);
    free(t->assign);
    free(t->canon);
    memset(t, 0, sizeof *t);
}

ecc_status sweep_trials_expand(ecc_ctx *ctx, ecc_sweep *sw) {
    ecc_status st = ECC_OK;
    uint64_t total = 0, n = 0, *idx = NULL;
    bool applies[64] = {false};
    ecc_strmap seen = {0};
    ECC_FAIL_IF(sw->n_axes > 64, ctx, ECC_E_INPUT, "at most 64 axes");
    ECC_TRY(grid_total(ctx, sw, &total));
    n = sw->random && sw->sample_n < total ? sw->sample_n : total;
    ECC_FAIL_IF(n > SWEEP_MAX_TRIALS, ctx, ECC_E_INPUT,
                "the grid has %llu trials (at most %u): sample it with "
                "\"sample\": {\"random\": N, \"seed\": S}", (unsigned long long)n,
                SWEEP_MAX_TRIALS);
    idx = malloc((size_t)n * sizeof *idx);
    sw->trials = calloc((size_t)n, sizeof *sw->trials);
    ECC_FAIL_IF(!idx || !sw->trials, ctx, ECC_E_INTERNAL, "out of memory");
    if (n < total) ECC_TRY(sample_indices(ctx, total, n, sw->sample_seed, idx));
    else
        for (uint64_t i = 0; i < n; i++) idx[i] = i;
    for (uint64_t i = 0; i < n; i++) {
        sweep_trial *t = &sw->trials[sw->n_trials];
        ECC_TRY(make_trial(ctx, sw, idx[i], t, applies));
        if (ecc_strmap_get(&seen, t->key)) {
            trial_clear(t); /* the same trial twice (an axis that does not apply) */
            continue;
        }
        ECC_FAIL_IF(!ecc_strmap_put(&seen, t->key, t), ctx, ECC_E_INTERNAL, "out of memory");
        sw->n_trials++;
    }
    ECC_TRY(check_axes_apply(ctx, sw, applies));
fail:
    if (st && sw->trials && sw->n_trials < n) trial_clear(&sw->trials[sw->n_trials]);
    ecc_strmap_free(&seen);
    free(idx);
    return st;
}

/* ---------------- checking every trial before any work ---------------- */

static ecc_status check_inputs(ecc_ctx *ctx, const ecc_sweep *sw) {
    const char *files[] = {sw->model, sw->data, sw->labels, sw->calib, sw->train};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        if (!files[i]) continue;
        ecc_ctx_set_subject(ctx, files[i]);
        ecc_status st = ecc_input_check(ctx, files[i]);
        if (st) return st;
    }
    return ECC_OK;
}

/* A library error about trial i, rewritten as "SPEC: trial i (axes): message". */
static ecc_status trial_error(ecc_ctx *ctx, const ecc_sweep *sw, size_t i, ecc_status st) {
    char msg[ECC_MSG_MAX];
    snprintf(msg, sizeof msg, "%s", ecc_ctx_message(ctx));
    const sweep_trial *t = &sw->trials[i];
    ecc_ctx_set_subject(ctx, sw->spec_path);
    return ecc_ctx_error(ctx, st, "trial %zu (%s): %s", i + 1,
                         *t->assign ? t->assign : t->pipeline, msg);
}

ecc_status sweep_trials_check(ecc_ctx *ctx, const ecc_sweep *sw) {
    ecc_status st = ECC_OK;
    ecc_registry *reg = NULL;
    ECC_TRY(check_inputs(ctx, sw));
    ecc_ctx_set_subject(ctx, NULL);
    ECC_TRY(ecc_registry_create(ctx, &reg));
    for (size_t i = 0; i < sw->n_plugins; i++)
        ECC_TRY(ecc_registry_load_plugin(ctx, reg, sw->plugins[i]));
    ecc_run_env env = {sizeof env, sw->calib, (uint32_t)sw->calib_size, sw->train, NULL};
    for (size_t i = 0; i < sw->n_trials; i++) {
        ecc_pipeline *pl = NULL;
        ecc_ctx_set_subject(ctx, NULL);
        st = ecc_pipeline_parse(ctx, reg, sw->trials[i].pipeline, &pl);
        if (!st) st = ecc_pipeline_check(ctx, pl, &env);
        ecc_pipeline_free(pl);
        if (st) {
            st = trial_error(ctx, sw, i, st);
            goto fail;
        }
    }
fail:
    ecc_registry_free(reg);
    return st;
}
