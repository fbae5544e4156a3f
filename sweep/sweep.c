/* sweep.c — the public entry points of sweeps (ecc_sweep.h): loading a spec
 * (read, expand, check every trial), listing trials, running the missing
 * ones into DIR with progress on stderr, and finishing (CSV, summary, plots). */
#include "sweep.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

ecc_status ecc_sweep_load(ecc_ctx *ctx, const char *spec_path, ecc_sweep **out) {
    ecc_status st = ECC_OK;
    ecc_sweep *sw = calloc(1, sizeof *sw);
    *out = NULL;
    ECC_FAIL_IF(!sw, ctx, ECC_E_INTERNAL, "out of memory");
    ECC_TRY(sweep_spec_read(ctx, spec_path, sw));
    ECC_TRY(sweep_trials_expand(ctx, sw));
    ECC_TRY(sweep_trials_check(ctx, sw));
    ecc_ctx_set_subject(ctx, NULL);
    *out = sw, sw = NULL;
fail:
    ecc_sweep_free(sw);
    return st;
}

void ecc_sweep_free(ecc_sweep *sw) {
    if (!sw) return;
    sweep_spec_clear(sw);
    free(sw);
}

size_t ecc_sweep_trial_count(const ecc_sweep *sw) { return sw ? sw->n_trials : 0; }

/* Results already in dir (res[i] NULL for trials not run); dir may be NULL. */
static ecc_status load_results(ecc_ctx *ctx, const ecc_sweep *sw, const char *dir,
                               cJSON **root, const cJSON ***res) {
    *root = NULL;
    *res = calloc(sw->n_trials ? sw->n_trials : 1, sizeof **res);
    if (!*res) return ECC_OOM(ctx);
    return dir ? sweep_store_load(ctx, sw, dir, root, *res) : ECC_OK;
}

static const char *state_word(const cJSON *r) {
    return !r ? "pending" : sweep_ok(r) ? "done" : "failed";
}

ecc_status ecc_sweep_list(ecc_ctx *ctx, const ecc_sweep *sw, const char *dir, FILE *out) {
    ecc_status st = ECC_OK;
    cJSON *root = NULL;
    const cJSON **res = NULL;
    ECC_TRY(load_results(ctx, sw, dir, &root, &res));
    fprintf(out, "%zu trial(s)%s\n", sw->n_trials, sw->random ? " (random sample)" : "");
    for (size_t i = 0; i < sw->n_trials; i++) {
        const sweep_trial *t = &sw->trials[i];
        fprintf(out, "%4zu  %s  %-7s  %s%s%s\n", i + 1, t->key, state_word(res[i]), t->assign,
                *t->assign ? "  " : "", *t->pipeline ? t->pipeline : "(no passes)");
    }
fail:
    cJSON_Delete(root);
    free(res);
    return st;
}

/* ---------------- running ---------------- */

static ecc_status make_dir(ecc_ctx *ctx, const char *path) {
    struct stat sb;
    ecc_ctx_set_subject(ctx, path);
    if (mkdir(path, 0777) != 0 && errno != EEXIST)
        return ecc_ctx_error(ctx, ECC_E_INTERNAL, "cannot create the folder: %s",
                             strerror(errno));
    if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return ecc_ctx_error(ctx, ECC_E_USAGE, "exists and is not a folder");
    return ECC_OK;
}

/* One sweep at a time in a folder: an exclusive lock on DIR/.lock. */
static ecc_status lock_dir(ecc_ctx *ctx, const char *dir, int *fd) {
    char *path = sweep_path(dir, ".lock");
    if (!path) return ECC_OOM(ctx);
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    ecc_ctx_set_subject(ctx, dir);
    free(path);
    if (*fd < 0)
        return ecc_ctx_error(ctx, ECC_E_INTERNAL, "cannot open its lock: %s", strerror(errno));
    if (flock(*fd, LOCK_EX | LOCK_NB) != 0)
        return ecc_ctx_error(ctx, ECC_E_USAGE, "another sweep is running in this folder");
    return ECC_OK;
}

static void progress(const ecc_sweep_options *opts, size_t k, size_t todo, size_t failed,
                     double t0, const sweep_trial *t) {
    if (!opts || !opts->progress) return;
    double el = ecc_now_seconds() - t0;
    fprintf(stderr, "\r\033[Ksweep: trial %zu/%zu", k + 1, todo);
    if (failed) fprintf(stderr, ", %zu failed", failed);
    if (k) fprintf(stderr, ", ETA %.0f s", el / (double)k * (double)(todo - k));
    fprintf(stderr, "  %.60s", *t->assign ? t->assign : t->pipeline);
    fflush(stderr);
}

static bool wanted(const cJSON *r, const ecc_sweep_options *opts) {
    return !r || (!sweep_ok(r) && opts && opts->retry_failed);
}

static ecc_status run_missing(ecc_ctx *ctx, const ecc_sweep *sw, const char *dir,
                              const ecc_sweep_options *opts, const cJSON *const *res,
                              ecc_sweep_stats *s) {
    ecc_status st = ECC_OK;
    size_t todo = 0, k = 0;
    double t0 = ecc_now_seconds();
    for (size_t i = 0; i < sw->n_trials; i++) todo += wanted(res[i], opts);
    s->done_before = sw->n_trials - todo;
    for (size_t i = 0; i < sw->n_trials; i++) {
        bool failed = false;
        if (!wanted(res[i], opts)) continue;
        progress(opts, k++, todo, s->failed, t0, &sw->trials[i]);
        ECC_TRY(ecc_sweep_run_trial(ctx, sw, i, dir, opts, &failed));
        s->ran++;
        s->failed += failed;
    }
fail:
    if (opts && opts->progress && todo) fputs("\r\033[K", stderr);
    return st;
}

ecc_status ecc_sweep_run(ecc_ctx *ctx, const ecc_sweep *sw, const char *dir,
                         const ecc_sweep_options *opts, ecc_sweep_stats *stats) {
    ecc_status st = ECC_OK;
    cJSON *root = NULL;
    const cJSON **res = NULL;
    ecc_sweep_stats s = {sw->n_trials, 0, 0, 0, 0};
    char *models = sweep_path(dir, "models");
    int lock = -1;
    ECC_FAIL_IF(!models, ctx, ECC_E_INTERNAL, "out of memory");
    ECC_TRY(make_dir(ctx, dir));
    ECC_TRY(make_dir(ctx, models));
    ECC_TRY(lock_dir(ctx, dir, &lock));
    ECC_TRY(load_results(ctx, sw, dir, &root, &res));
    ECC_TRY(run_missing(ctx, sw, dir, opts, res, &s));
    ECC_TRY(ecc_sweep_finish(ctx, sw, dir, &s.front));
    ecc_ctx_set_subject(ctx, NULL);
fail:
    if (stats) *stats = s;
    if (lock >= 0) close(lock);
    cJSON_Delete(root);
    free(res);
    free(models);
    return st;
}

ecc_status ecc_sweep_finish(ecc_ctx *ctx, const ecc_sweep *sw, const char *dir, size_t *front) {
    ecc_status st = ECC_OK;
    cJSON *root = NULL;
    const cJSON **res = NULL;
    ECC_TRY(load_results(ctx, sw, dir, &root, &res));
    ECC_TRY(sweep_store_csv(ctx, sw, dir, res));
    ECC_TRY(sweep_summary(ctx, sw, dir, res, front));
fail:
    cJSON_Delete(root);
    free(res);
    return st;
}
