/* plot.c — hand-written SVG scatter plots: labelled axes with round ticks,
 * one circle per trial (a tooltip naming it), the Pareto front drawn larger,
 * in colour and joined by a line in x order. Written atomically. */
#include "sweep.h"
#include "atomic.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { W = 640, H = 420, ML = 80, MR = 24, MT = 40, MB = 60 };

typedef struct axis {
    double lo, hi, step;
} axis;

/* Round tick step (1, 2 or 5 × 10^k) giving about five ticks over [lo, hi]. */
static axis nice_axis(double lo, double hi) {
    axis a;
    if (!(hi > lo)) {
        double pad = lo != 0 ? fabs(lo) * 0.1 : 1;
        lo -= pad, hi += pad;
    }
    double raw = (hi - lo) / 5, mag = pow(10, floor(log10(raw))), f = raw / mag;
    a.step = (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
    a.lo = floor(lo / a.step) * a.step;
    a.hi = ceil(hi / a.step) * a.step;
    return a;
}

static double px(const axis *a, double v) {
    return ML + (v - a->lo) / (a->hi - a->lo) * (W - ML - MR);
}
static double py(const axis *a, double v) {
    return H - MB - (v - a->lo) / (a->hi - a->lo) * (H - MT - MB);
}

static void xml_text(FILE *o, const char *s) {
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", o); break;
        case '<': fputs("&lt;", o); break;
        case '>': fputs("&gt;", o); break;
        case '"': fputs("&quot;", o); break;
        default:
            if ((unsigned char)*s >= 0x20) fputc(*s, o);
        }
    }
}

static void ticks(FILE *o, const axis *x, const axis *y) {
    for (double v = x->lo; v <= x->hi + x->step * 1e-9; v += x->step) {
        double p = px(x, v);
        fprintf(o, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#eee\"/>\n", p, MT,
                p, H - MB);
        fprintf(o, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.4g</text>\n", p,
                H - MB + 16, fabs(v) < x->step * 1e-9 ? 0.0 : v);
    }
    for (double v = y->lo; v <= y->hi + y->step * 1e-9; v += y->step) {
        double p = py(y, v);
        fprintf(o, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#eee\"/>\n", ML, p,
                W - MR, p);
        fprintf(o, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.4g</text>\n", ML - 6, p + 4,
                fabs(v) < y->step * 1e-9 ? 0.0 : v);
    }
}

static void frame(FILE *o, const sweep_plot *p) {
    fprintf(o, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
               "stroke=\"#333\"/>\n", ML, MT, W - ML - MR, H - MT - MB);
    fprintf(o, "<text x=\"%d\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">", W / 2);
    xml_text(o, p->title);
    fprintf(o, "</text>\n<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">", (W + ML - MR) / 2,
            H - 18);
    xml_text(o, p->xlabel);
    fprintf(o, "</text>\n<text x=\"18\" y=\"%d\" text-anchor=\"middle\" "
               "transform=\"rotate(-90 18 %d)\">", (H + MT - MB) / 2, (H + MT - MB) / 2);
    xml_text(o, p->ylabel);
    fputs("</text>\n", o);
}

static int cmp_x(const void *a, const void *b) {
    const sweep_point *p = *(const sweep_point *const *)a, *q = *(const sweep_point *const *)b;
    return p->x < q->x ? -1 : p->x > q->x;
}

/* The front joined in x order. */
static bool front_line(FILE *o, const sweep_plot *p, const axis *x, const axis *y) {
    const sweep_point **f = malloc((p->n ? p->n : 1) * sizeof *f);
    size_t n = 0;
    if (!f) return false;
    for (size_t i = 0; i < p->n; i++)
        if (p->pts[i].front) f[n++] = &p->pts[i];
    qsort(f, n, sizeof *f, cmp_x);
    if (n > 1) {
        fputs("<polyline fill=\"none\" stroke=\"#d62728\" stroke-width=\"1.5\" points=\"", o);
        for (size_t i = 0; i < n; i++)
            fprintf(o, "%s%.1f,%.1f", i ? " " : "", px(x, f[i]->x), py(y, f[i]->y));
        fputs("\"/>\n", o);
    }
    free(f);
    return true;
}

static void points(FILE *o, const sweep_plot *p, const axis *x, const axis *y) {
    for (int pass = 0; pass < 2; pass++) /* the front on top */
        for (size_t i = 0; i < p->n; i++) {
            const sweep_point *q = &p->pts[i];
            if (q->front != (pass == 1)) continue;
            fprintf(o, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%d\" fill=\"%s\"><title>",
                    px(x, q->x), py(y, q->y), q->front ? 5 : 4,
                    q->front ? "#d62728" : "#7f7f7f");
            xml_text(o, q->label);
            fprintf(o, " (%.4g, %.4g)</title></circle>\n", q->x, q->y);
            fprintf(o, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" fill=\"#555\">%zu</text>\n",
                    px(x, q->x) + 6, py(y, q->y) - 6, q->num);
        }
}

static void bounds(const sweep_plot *p, axis *x, axis *y) {
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (size_t i = 0; i < p->n; i++) {
        x0 = fmin(x0, p->pts[i].x), x1 = fmax(x1, p->pts[i].x);
        y0 = fmin(y0, p->pts[i].y), y1 = fmax(y1, p->pts[i].y);
    }
    if (!p->n) x0 = y0 = 0, x1 = y1 = 1;
    *x = nice_axis(x0, x1);
    *y = nice_axis(y0, y1);
}

ecc_status sweep_plot_write(ecc_ctx *ctx, const char *path, const sweep_plot *p) {
    ecc_status st = ECC_OK;
    ecc_atomic_file f = {0};
    axis x, y;
    bounds(p, &x, &y);
    ECC_TRY(ecc_atomic_open(ctx, path, &f));
    fprintf(f.fp, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                  "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n"
                  "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n", W, H, W, H);
    ticks(f.fp, &x, &y);
    frame(f.fp, p);
    ECC_FAIL_IF(p->connect_front && !front_line(f.fp, p, &x, &y), ctx, ECC_E_INTERNAL,
                "out of memory");
    points(f.fp, p, &x, &y);
    if (!p->n)
        fprintf(f.fp, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">no measured trial</text>\n",
                W / 2, H / 2);
    fputs("</svg>\n", f.fp);
    ECC_FAIL_IF(ferror(f.fp), ctx, ECC_E_INTERNAL, "cannot write %s: %s", path, strerror(errno));
    ECC_TRY(ecc_atomic_commit(ctx, &f));
fail:
    ecc_atomic_abort(&f);
    return st;
}
