/* pareto.c — the trials that no other beats: quality (accuracy with labels,
 * else top-1 agreement with the float model) against bytes and against
 * batch-1 latency; the plots of both fronts and of FLOPs against latency
 * (with the pairs the two rank differently), DIR/summary.md and
 * DIR/pareto.json (the fronts' trials, for programs). */
#include "sweep.h"
#include "atomic.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void sweep_pareto(const double *q, const double *c, size_t n, bool *front) {
    for (size_t i = 0; i < n; i++) {
        front[i] = !isnan(q[i]) && !isnan(c[i]);
        for (size_t j = 0; front[i] && j < n; j++) {
            if (j == i || isnan(q[j]) || isnan(c[j])) continue;
            if (q[j] >= q[i] && c[j] <= c[i] && (q[j] > q[i] || c[j] < c[i])) front[i] = false;
        }
    }
}

/* ---------------- the measured columns ---------------- */

typedef struct cols {
    size_t n;
    double *q, *bytes, *lat, *flops;
    bool *fb, *fl;
    char **label;
} cols;

static void cols_free(cols *c) {
    for (size_t i = 0; c->label && i < c->n; i++) free(c->label[i]);
    free(c->q), free(c->bytes), free(c->lat), free(c->flops), free(c->fb), free(c->fl);
    free(c->label);
}

static const char *quality_field(const ecc_sweep *sw) {
    return sw->labels ? "accuracy" : "agreement";
}

static bool cols_fill(const ecc_sweep *sw, const cJSON *const *res, cols *c) {
    size_t n = sw->n_trials ? sw->n_trials : 1;
    memset(c, 0, sizeof *c);
    c->n = sw->n_trials;
    c->q = calloc(n, sizeof *c->q), c->bytes = calloc(n, sizeof *c->bytes);
    c->lat = calloc(n, sizeof *c->lat), c->flops = calloc(n, sizeof *c->flops);
    c->fb = calloc(n, sizeof *c->fb), c->fl = calloc(n, sizeof *c->fl);
    c->label = calloc(n, sizeof *c->label);
    if (!c->q || !c->bytes || !c->lat || !c->flops || !c->fb || !c->fl || !c->label) return false;
    for (size_t i = 0; i < sw->n_trials; i++) {
        const cJSON *r = sweep_ok(res[i]) ? res[i] : NULL;
        c->q[i] = sweep_num(r, quality_field(sw));
        c->bytes[i] = sweep_num(r, sw->ecc ? "ecc_bytes" : "onnx_bytes");
        c->lat[i] = sweep_num(r, "latency_b1_ms");
        c->flops[i] = sweep_num(r, "flops");
        const char *what = *sw->trials[i].assign ? sw->trials[i].assign : sw->trials[i].pipeline;
        size_t len = strlen(what) + 32;
        if (!(c->label[i] = malloc(len))) return false;
        snprintf(c->label[i], len, "trial %zu: %s", i + 1, what);
    }
    sweep_pareto(c->q, c->bytes, sw->n_trials, c->fb);
    sweep_pareto(c->q, c->lat, sw->n_trials, c->fl);
    return true;
}

/* ---------------- plots ---------------- */

static ecc_status plot(ecc_ctx *ctx, const char *dir, const char *name, const cols *c,
                       const double *x, double xscale, const double *y, const bool *front,
                       sweep_plot *p) {
    ecc_status st = ECC_OK;
    sweep_point *pts = calloc(c->n ? c->n : 1, sizeof *pts);
    char *path = sweep_path(dir, name);
    ECC_FAIL_IF(!pts || !path, ctx, ECC_E_INTERNAL, "out of memory");
    p->n = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (isnan(x[i]) || isnan(y[i])) continue;
        pts[p->n++] = (sweep_point){x[i] * xscale, y[i], front ? front[i] : false, c->label[i],
                                    i + 1};
    }
    p->pts = pts;
    ECC_TRY(sweep_plot_write(ctx, path, p));
fail:
    free(pts);
    free(path);
    return st;
}

static ecc_status plots(ecc_ctx *ctx, const ecc_sweep *sw, const char *dir, const cols *c) {
    ecc_status st = ECC_OK;
    const char *ql = sw->labels ? "accuracy (held-out, labelled)"
                                : "top-1 agreement with the float model";
    char xb[64];
    snprintf(xb, sizeof xb, "%s file (KB)", sw->ecc ? ".ecc" : "ONNX");
    sweep_plot pb = {"quality vs size (front in red)", xb, ql, NULL, 0, true};
    sweep_plot pl = {"quality vs latency (front in red)", "latency, batch 1 (ms)", ql, NULL, 0,
                     true};
    sweep_plot pf = {"FLOPs vs measured latency", "MFLOPs per sample", "latency, batch 1 (ms)",
                     NULL, 0, false};
    ECC_TRY(plot(ctx, dir, "pareto_bytes.svg", c, c->bytes, 1e-3, c->q, c->fb, &pb));
    ECC_TRY(plot(ctx, dir, "pareto_latency.svg", c, c->lat, 1, c->q, c->fl, &pl));
    ECC_TRY(plot(ctx, dir, "flops_latency.svg", c, c->flops, 1e-6, c->lat, NULL, &pf));
fail:
    return st;
}

/* ---------------- summary.md ---------------- */

static void md_cell(FILE *o, const char *s) {
    for (; s && *s; s++) *s == '|' ? fputs("\\|", o) : fputc(*s, o);
}

static void md_num(FILE *o, double x, const char *fmt) {
    if (isnan(x)) fputs(" | –", o);
    else fputs(" | ", o), fprintf(o, fmt, x);
}

static void table_row(FILE *o, const ecc_sweep *sw, size_t i, const cJSON *r, const cols *c) {
    const sweep_trial *t = &sw->trials[i];
    bool ok = sweep_ok(r);
    fprintf(o, "| %zu | ", i + 1);
    md_cell(o, *t->assign ? t->assign : "–");
    fputs(" | `", o);
    md_cell(o, t->pipeline);
    fprintf(o, "` | %s", ok ? "ok" : r ? "**failed**" : "not run");
    md_num(o, c->bytes[i], "%.0f");
    md_num(o, c->q[i], "%.4f");
    double sq = sweep_num(r, "sqnr_db");
    if (ok && isnan(sq)) fputs(" | ∞", o);
    else md_num(o, sq, "%.1f");
    md_num(o, c->lat[i], "%.3f");
    md_num(o, sweep_num(r, "latency_bn_ms"), "%.3f");
    md_num(o, c->flops[i] * 1e-6, "%.3f");
    md_num(o, sweep_num(r, "params"), "%.0f");
    md_num(o, sweep_num(r, "compress_seconds"), "%.2f");
    fprintf(o, " | %s%s |\n", c->fb[i] ? "B" : "", c->fl[i] ? "L" : "");
}

/* Pairs FLOPs and latency rank differently (latency differing by more than 5 %). */
static void flops_vs_latency(FILE *o, const cols *c) {
    size_t pairs = 0, bi = 0, bj = 0;
    double worst = 0;
    for (size_t i = 0; i < c->n; i++)
        for (size_t j = 0; j < c->n; j++) {
            if (isnan(c->flops[i]) || isnan(c->flops[j]) || isnan(c->lat[i]) ||
                isnan(c->lat[j]) || !(c->flops[i] < c->flops[j]) ||
                !(c->lat[i] > 1.05 * c->lat[j]))
                continue;
            pairs++;
            if (c->lat[i] / c->lat[j] > worst) worst = c->lat[i] / c->lat[j], bi = i, bj = j;
        }
    fputs("\n## FLOPs against measured latency\n\n![FLOPs vs latency](flops_latency.svg)\n\n", o);
    if (!pairs) {
        fputs("No pair of trials is ranked differently by FLOPs and by latency "
              "(beyond 5 % of latency).\n", o);
        return;
    }
    fprintf(o, "%zu pair(s) of trials are ranked differently: the largest, trial %zu has fewer "
               "FLOPs than trial %zu (%.3f vs %.3f M) but runs %.2f× slower "
               "(%.3f vs %.3f ms).\n", pairs, bi + 1, bj + 1, c->flops[bi] * 1e-6,
            c->flops[bj] * 1e-6, worst, c->lat[bi], c->lat[bj]);
}

static void failures(FILE *o, const ecc_sweep *sw, const cJSON *const *res) {
    bool any = false;
    for (size_t i = 0; i < sw->n_trials; i++) {
        if (!res[i] || sweep_ok(res[i])) continue;
        if (!any) fputs("\n## Failed trials\n\n", o), any = true;
        fprintf(o, "- trial %zu (%s, exit %.0f): ", i + 1, sweep_str(res[i], "phase"),
                sweep_num(res[i], "exit_code"));
        md_cell(o, sweep_str(res[i], "error"));
        fputc('\n', o);
    }
}

static void header(FILE *o, const ecc_sweep *sw, const cJSON *const *res) {
    size_t ok = 0, failed = 0;
    for (size_t i = 0; i < sw->n_trials; i++) ok += sweep_ok(res[i]), failed += res[i] != NULL;
    failed -= ok;
    fprintf(o, "# Sweep `%s`\n\nModel `%s`; measured on `%s`%s%s%s. %zu trials: %zu ok, "
               "%zu failed, %zu not run.\n\n", sw->spec_path, sw->model, sw->data,
            sw->labels ? " with labels `" : " (no labels: quality is top-1 agreement with the"
                                            " float model)",
            sw->labels ? sw->labels : "", sw->labels ? "`" : "", sw->n_trials, ok, failed,
            sw->n_trials - ok - failed);
    fprintf(o, "Latency: ecc's interpreter, %d thread(s), median of %u runs after one warm-up, "
               "batch 1 and batch %lld. Bytes: the %s file. Front: **B** on the quality-vs-bytes "
               "front, **L** on the quality-vs-latency front.\n\n", sw->lat_threads,
            sw->lat_runs, (long long)sw->lat_batch, sw->ecc ? ".ecc" : "ONNX");
    fprintf(o, "| # | axes | pipeline | status | bytes | %s | SQNR dB | ms b1 | ms b%lld | MFLOPs "
               "| params | compress s | front |\n|---|---|---|---|---|---|---|---|---|---|---|---"
               "|---|\n", quality_field(sw), (long long)sw->lat_batch);
}

typedef struct md_arg {
    const ecc_sweep *sw;
    const cJSON *const *res;
    const cols *c;
} md_arg;

static bool md_body(FILE *fp, const void *arg) {
    const md_arg *a = arg;
    header(fp, a->sw, a->res);
    for (size_t i = 0; i < a->sw->n_trials; i++) table_row(fp, a->sw, i, a->res[i], a->c);
    fputs("\n![quality vs bytes](pareto_bytes.svg) ![quality vs latency](pareto_latency.svg)\n",
          fp);
    flops_vs_latency(fp, a->c);
    failures(fp, a->sw, a->res);
    fputs("\nEvery trial's `command` in trials.jsonl / trials.csv reproduces its model.\n", fp);
    return true;
}

static ecc_status write_md(ecc_ctx *ctx, const ecc_sweep *sw, const char *dir,
                           const cJSON *const *res, const cols *c) {
    md_arg a = {sw, res, c};
    return sweep_write_file(ctx, dir, "summary.md", md_body, &a);
}

/* ---------------- pareto.json ---------------- */

static cJSON *front_json(const ecc_sweep *sw, const bool *front) {
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < sw->n_trials; i++) {
        if (!front[i]) continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "trial", (double)(i + 1));
        cJSON_AddStringToObject(o, "key", sw->trials[i].key);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

static bool text_body(FILE *fp, const void *arg) { /* write errors: ferror */
    fputs(arg, fp);
    fputc('\n', fp);
    return true;
}

/* The fronts for programs: which fields were compared and the trials on each. */
static ecc_status write_json(ecc_ctx *ctx, const ecc_sweep *sw, const char *dir, const cols *c) {
    ecc_status st = ECC_OK;
    char *text = NULL;
    cJSON *o = cJSON_CreateObject();
    ECC_FAIL_IF(!o, ctx, ECC_E_INTERNAL, "out of memory");
    cJSON_AddStringToObject(o, "quality", quality_field(sw));
    cJSON_AddStringToObject(o, "bytes", sw->ecc ? "ecc_bytes" : "onnx_bytes");
    cJSON_AddStringToObject(o, "latency", "latency_b1_ms");
    cJSON_AddItemToObject(o, "front_bytes", front_json(sw, c->fb));
    cJSON_AddItemToObject(o, "front_latency", front_json(sw, c->fl));
    text = cJSON_Print(o);
    ECC_FAIL_IF(!text, ctx, ECC_E_INTERNAL, "out of memory");
    ECC_TRY(sweep_write_file(ctx, dir, "pareto.json", text_body, text));
fail:
    cJSON_free(text);
    cJSON_Delete(o);
    return st;
}

ecc_status sweep_summary(ecc_ctx *ctx, const ecc_sweep *sw, const char *dir,
                         const cJSON *const *res, size_t *n_front) {
    ecc_status st = ECC_OK;
    cols c;
    ECC_FAIL_IF(!cols_fill(sw, res, &c), ctx, ECC_E_INTERNAL, "out of memory");
    ECC_TRY(plots(ctx, sw, dir, &c));
    ECC_TRY(write_md(ctx, sw, dir, res, &c));
    ECC_TRY(write_json(ctx, sw, dir, &c));
    if (n_front) {
        *n_front = 0;
        for (size_t i = 0; i < c.n; i++) *n_front += c.fb[i] || c.fl[i];
    }
fail:
    cols_free(&c);
    return st;
}
