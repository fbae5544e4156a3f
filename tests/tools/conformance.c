/* conformance.c — the ONNX conformance runner over Debian's libonnx-testdata.
 *
 *   conformance [-v] [--threads N] [--min-rate R] [--only SUBSTR] [--short-names] [ROOT]
 *
 * ROOT (default /usr/share/libonnx-testdata/data) holds the suites node,
 * pytorch-converted, pytorch-operator and simple; each case is a folder with
 * model.onnx and test_data_set_K/{input,output}_J.pb. A case whose model the
 * interpreter refuses at planning time (an op or dtype without a kernel), or
 * whose test data we cannot represent (sequences, strings), is skipped;
 * every other case runs every data set and compares each output with the
 * expected one under per-dtype tolerances (|got - want| <= atol + rtol·|want|,
 * NaN matches NaN; integers and bool exactly). Each case runs in a child
 * process so a crash or a hang (60 s) is a failure of that case, not of the
 * run. Prints one line per failure, then
 *   conformance: N passed, N failed, N skipped
 *   pass rate among supported cases: P% (N/M)
 * and, with -v, every skip with its reason plus the missing operators by
 * frequency. Exit 1 when the pass rate is below --min-rate (default 0.95).
 * --short-names first renames the model's tensors (ecc_model_shorten_names,
 * `compress --short-names`), serializes it and reads it back: the renamed
 * model must compute the same outputs. */
#include "../../calibrate/data.h"
#include "onnx_io.h"

#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define CASE_TIMEOUT 60
#define MAX_IO 64

enum { R_PASS = 0, R_FAIL = 1, R_SKIP = 2 };

/* Per-dtype tolerances: X(dtype, rtol, atol); exact for everything else. */
#define TOLERANCES(X)                                                                    \
    X(ECC_DTYPE_FLOAT, 1e-3, 1e-5)                                                       \
    X(ECC_DTYPE_DOUBLE, 1e-6, 1e-8)                                                      \
    X(ECC_DTYPE_FLOAT16, 1e-2, 1e-3)                                                     \
    X(ECC_DTYPE_BFLOAT16, 2e-2, 1e-2)

typedef struct tolerance {
    int32_t dtype;
    double rtol, atol;
} tolerance;

static const tolerance tolerances[] = {
#define X(d, r, a) {d, r, a},
    TOLERANCES(X)
#undef X
};

static const tolerance *tolerance_of(int32_t dtype) {
    for (size_t i = 0; i < sizeof tolerances / sizeof tolerances[0]; i++)
        if (tolerances[i].dtype == dtype) return &tolerances[i];
    return NULL; /* exact */
}

typedef struct options {
    const char *root, *only;
    int threads;
    bool verbose, short_names;
    double min_rate;
} options;

/* ---------------- one case (runs in the child) ---------------- */

typedef struct io_set {
    ecc_tensor *t[MAX_IO];
    size_t n;
} io_set;

static void io_free(io_set *s) {
    for (size_t i = 0; i < s->n; i++) ecc_tensor_unref(s->t[i]);
    s->n = 0;
}

/* Reads PREFIX_0.pb, PREFIX_1.pb, … of dir. */
static ecc_status read_set(ecc_ctx *ctx, const char *dir, const char *prefix, io_set *s) {
    char p[4096];
    for (s->n = 0; s->n < MAX_IO; s->n++) {
        snprintf(p, sizeof p, "%s/%s_%zu.pb", dir, prefix, s->n);
        if (access(p, F_OK) != 0) break;
        ecc_status st = ecc_pb_tensor_read(ctx, p, &s->t[s->n]);
        if (st) return st;
    }
    return ECC_OK;
}

/* Index in the set of the tensor for graph value v at position pos. */
static size_t match(const io_set *s, const ecc_value *v, size_t pos) {
    for (size_t i = 0; i < s->n; i++)
        if (s->t[i]->name && v->name && !strcmp(s->t[i]->name, v->name)) return i;
    return pos < s->n ? pos : SIZE_MAX;
}

static bool close_enough(double got, double want, const tolerance *tol) {
    if (isnan(want) || isnan(got)) return isnan(want) && isnan(got);
    if (isinf(want) || isinf(got)) return got == want;
    if (!tol) return got == want;
    return fabs(got - want) <= tol->atol + tol->rtol * fabs(want);
}

static bool same_shape(const ecc_rt_tensor *r, const ecc_tensor *t) {
    if (r->rank != t->rank) return false;
    for (int32_t i = 0; i < r->rank; i++)
        if (r->dims[i] != t->dims[i]) return false;
    return true;
}

static const char *fmt_dims(char *buf, size_t cap, const int64_t *dims, int32_t rank) {
    size_t n = (size_t)snprintf(buf, cap, "[");
    for (int32_t i = 0; i < rank && n + 24 < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? "," : "", (long long)dims[i]);
    snprintf(buf + n, cap - n, "]");
    return buf;
}

/* The test data stores bfloat16 values as uint16 bit patterns (numpy has no
 * bfloat16): read them as the bfloat16 the model declares. */
static int32_t data_dtype(int32_t data, int32_t model) {
    return data == ECC_DTYPE_UINT16 && model == ECC_DTYPE_BFLOAT16 ? model : data;
}

/* Compares one output; prints a FAIL line (returns false) on mismatch. */
static bool compare_output(const char *name, const char *out, const ecc_rt_tensor *got,
                           ecc_tensor *want) {
    char a[256], b[256];
    want->dtype = data_dtype(want->dtype, got->dtype);
    if (got->dtype != want->dtype || !same_shape(got, want)) {
        printf("FAIL %s: output '%s': got %s %s, want %s %s\n", name, out,
               ecc_dtype_name(got->dtype), fmt_dims(a, sizeof a, got->dims, got->rank),
               ecc_dtype_name(want->dtype), fmt_dims(b, sizeof b, want->dims, want->rank));
        return false;
    }
    ecc_tensor view = *want; /* element access through the IR helper */
    view.data = got->data;
    const tolerance *tol = tolerance_of(want->dtype);
    const ecc_dtype_traits *tr = ecc_dtype_get(want->dtype);
    bool exact = !tr || tr->dclass != ECC_DC_FLOAT;
    if (exact && got->nbytes == want->nbytes && !memcmp(got->data, want->data, want->nbytes))
        return true;
    int64_t bad = 0, first = -1;
    double worst = 0;
    for (int64_t i = 0; i < want->numel; i++) {
        double g = ecc_tensor_get_f64(&view, i), w = ecc_tensor_get_f64(want, i);
        if (close_enough(g, w, tol)) continue;
        if (first < 0) first = i;
        bad++;
        if (fabs(g - w) > worst || isnan(g - w)) worst = fabs(g - w);
    }
    if (!bad && !exact) return true;
    if (!bad) {
        printf("FAIL %s: output '%s' %s: bytes differ\n", name, out, ecc_dtype_name(want->dtype));
        return false;
    }
    printf("FAIL %s: output '%s' %s: %lld/%lld elements differ, max abs diff %.3g; first at %lld: "
           "got %.9g, want %.9g\n", name, out, ecc_dtype_name(want->dtype), (long long)bad,
           (long long)want->numel, worst, (long long)first,
           ecc_tensor_get_f64(&view, first), ecc_tensor_get_f64(want, first));
    return false;
}

/* A few cases ship data that contradicts the model's own input shape
 * (castlike: 'like' [1] for a declared [3,4]); the interpreter rightly refuses
 * them, so they are skipped, not failed. */
static bool fits_declared(const ecc_tensor *t, const ecc_value *v) {
    if (v->rank < 0) return true;
    if (v->rank != t->rank) return false;
    for (int32_t i = 0; i < t->rank; i++)
        if (v->dims[i].value >= 0 && v->dims[i].value != t->dims[i]) return false;
    return true;
}

/* Runs one test_data_set; R_PASS / R_FAIL / R_SKIP (reason to *why). */
static int run_set(ecc_ctx *ctx, ecc_interp *it, const char *name, const char *set,
                   char *why, size_t why_len) {
    io_set in = {0}, out = {0};
    ecc_rt_tensor feed[MAX_IO];
    int rc = R_FAIL;
    if (read_set(ctx, set, "input", &in) || read_set(ctx, set, "output", &out)) {
        snprintf(why, why_len, "test data: %s", ecc_ctx_message(ctx));
        rc = R_SKIP;
        goto done;
    }
    size_t n_in = ecc_interp_input_count(it);
    if (n_in > MAX_IO || n_in != in.n) {
        printf("FAIL %s: the model has %zu inputs, the data set %zu\n", name, n_in, in.n);
        goto done;
    }
    for (size_t i = 0; i < n_in; i++) {
        size_t k = match(&in, ecc_interp_input(it, i), i);
        const ecc_tensor *t = in.t[k == SIZE_MAX ? i : k];
        if (t->rank > ECC_MAX_RANK) {
            snprintf(why, why_len, "input rank %d", (int)t->rank);
            rc = R_SKIP;
            goto done;
        }
        if (!fits_declared(t, ecc_interp_input(it, i))) {
            snprintf(why, why_len, "test data for input '%s' does not have the model's declared "
                     "shape", ecc_interp_input(it, i)->name);
            rc = R_SKIP;
            goto done;
        }
        memset(&feed[i], 0, sizeof feed[i]);
        feed[i].dtype = data_dtype(t->dtype, ecc_interp_input(it, i)->dtype);
        feed[i].rank = t->rank;
        memcpy(feed[i].dims, t->dims, sizeof(int64_t) * (size_t)t->rank);
        feed[i].data = t->data;
        feed[i].nbytes = t->nbytes;
    }
    ecc_ctx_set_subject(ctx, NULL); /* run errors name the node */
    if (ecc_interp_run(ctx, it, feed, n_in)) {
        printf("FAIL %s: run: %s\n", name, ecc_ctx_message(ctx));
        goto done;
    }
    bool ok = true;
    for (size_t j = 0; j < ecc_interp_output_count(it); j++) {
        const ecc_value *v = ecc_interp_output(it, j);
        size_t k = match(&out, v, j);
        if (k == SIZE_MAX) continue; /* no expected value given */
        const ecc_rt_tensor *got = ecc_interp_result(it, j);
        if (!got) {
            printf("FAIL %s: output '%s' was not produced\n", name, v->name);
            ok = false;
            continue;
        }
        ok = compare_output(name, v->name, got, out.t[k]) && ok;
    }
    rc = ok ? R_PASS : R_FAIL;
done:
    io_free(&in);
    io_free(&out);
    return rc;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted entries of dir starting with prefix (full paths, malloc'd). */
static size_t list_dir(const char *dir, const char *prefix, char ***out) {
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t n = 0, cap = 0;
    char **v = NULL;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.' || strncmp(e->d_name, prefix, strlen(prefix))) continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **g = realloc(v, cap * sizeof *g);
            if (!g) break;
            v = g;
        }
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        if (!(v[n] = malloc(len))) break;
        snprintf(v[n++], len, "%s/%s", dir, e->d_name);
    }
    if (d) closedir(d);
    if (n) qsort(v, n, sizeof *v, cmp_str);
    *out = v;
    return n;
}

static void free_list(char **v, size_t n) {
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

/* Renames *m's tensors, serializes it and reads it back (dir: the case's,
 * for external data). */
static ecc_status reread_short(ecc_ctx *ctx, const char *dir, ecc_model **m) {
    uint8_t *buf = NULL;
    size_t len = 0;
    ecc_status st = ecc_model_shorten_names(ctx, *m);
    if (!st) st = ecc_onnx_write_buffer(ctx, *m, &buf, &len);
    ecc_model_free(*m);
    *m = NULL;
    if (!st) st = ecc_onnx_read_buffer(ctx, buf, len, "short-names", dir, m);
    free(buf);
    return st;
}

static int run_case(const options *o, const char *dir, const char *name, char *why,
                    size_t why_len) {
    ecc_ctx *ctx = ecc_ctx_create();
    ecc_model *m = NULL;
    ecc_interp *it = NULL;
    char path[4096], **sets = NULL;
    size_t n_sets = 0;
    int rc = R_FAIL;
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    if (ecc_model_read(ctx, path, &m)) {
        printf("FAIL %s: read: %s\n", name, ecc_ctx_message(ctx));
        goto done;
    }
    if (o->short_names && reread_short(ctx, dir, &m)) {
        printf("FAIL %s: short names: %s\n", name, ecc_ctx_message(ctx));
        goto done;
    }
    ecc_interp_options io = {sizeof io, o->threads, 1, NULL, NULL, NULL};
    ecc_status st = ecc_interp_create(ctx, m, &io, &it);
    if (st == ECC_E_INPUT) {
        snprintf(why, why_len, "%s", ecc_ctx_message(ctx));
        rc = R_SKIP;
        goto done;
    }
    if (st) {
        printf("FAIL %s: plan: %s\n", name, ecc_ctx_message(ctx));
        goto done;
    }
    n_sets = list_dir(dir, "test_data_set_", &sets);
    rc = n_sets ? R_PASS : R_SKIP;
    if (!n_sets) snprintf(why, why_len, "no test data sets");
    for (size_t i = 0; i < n_sets && rc == R_PASS; i++)
        rc = run_set(ctx, it, name, sets[i], why, why_len);
done:
    free_list(sets, n_sets);
    ecc_interp_free(it);
    ecc_model_free(m);
    ecc_ctx_free(ctx);
    fflush(stdout);
    return rc;
}

/* ---------------- the driver: one child per case ---------------- */

typedef struct tally {
    size_t pass, fail, skip;
    char **ops;      /* missing ops seen in skip reasons */
    size_t *op_count;
    size_t n_ops, cap_ops;
} tally;

/* "… no kernel for Foo (…)" → count Foo. */
static void note_missing_op(tally *t, const char *why) {
    const char *p = strstr(why, "no kernel for ");
    if (!p) return;
    p += strlen("no kernel for ");
    size_t len = strcspn(p, " (:,");
    for (size_t i = 0; i < t->n_ops; i++)
        if (strlen(t->ops[i]) == len && !strncmp(t->ops[i], p, len)) {
            t->op_count[i]++;
            return;
        }
    if (t->n_ops == t->cap_ops) {
        size_t cap = t->cap_ops ? 2 * t->cap_ops : 32;
        char **o = realloc(t->ops, cap * sizeof *o);
        size_t *c = o ? realloc(t->op_count, cap * sizeof *c) : NULL;
        if (o) t->ops = o;
        if (!c) return;
        t->op_count = c;
        t->cap_ops = cap;
    }
    t->ops[t->n_ops] = strndup(p, len);
    t->op_count[t->n_ops++] = 1;
}

static void on_alarm(int sig) {
    (void)sig;
    _exit(3);
}

/* Forks, runs the case in the child, returns its result; skip reason via a pipe. */
static int fork_case(const options *o, const char *dir, const char *name, char *why,
                     size_t why_len) {
    int fds[2];
    why[0] = 0;
    fflush(stdout);
    if (pipe(fds) != 0) return R_FAIL;
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]), close(fds[1]);
        printf("FAIL %s: fork failed\n", name);
        return R_FAIL;
    }
    if (pid == 0) {
        close(fds[0]);
        signal(SIGALRM, on_alarm);
        alarm(CASE_TIMEOUT);
        int rc = run_case(o, dir, name, why, why_len);
        if (rc == R_SKIP && write(fds[1], why, strlen(why)) < 0) rc = R_FAIL;
        _exit(rc);
    }
    close(fds[1]);
    ssize_t got, total = 0;
    while ((got = read(fds[0], why + total, why_len - 1 - (size_t)total)) > 0) total += got;
    why[total > 0 ? total : 0] = 0;
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status)) {
        printf("FAIL %s: crashed (signal %d)\n", name, WTERMSIG(status));
        return R_FAIL;
    }
    int code = WEXITSTATUS(status);
    if (code == 3) printf("FAIL %s: timed out after %d s\n", name, CASE_TIMEOUT);
    return code == R_PASS || code == R_SKIP ? code : R_FAIL;
}

static void run_suite(const options *o, const char *suite, tally *t) {
    char dir[4096], **cases = NULL, why[2048];
    snprintf(dir, sizeof dir, "%s/%s", o->root, suite);
    size_t n = list_dir(dir, "", &cases);
    for (size_t i = 0; i < n; i++) {
        const char *base = strrchr(cases[i], '/') + 1;
        char name[512];
        snprintf(name, sizeof name, "%s/%s", suite, base);
        if (o->only && !strstr(name, o->only)) continue;
        int rc = fork_case(o, cases[i], name, why, sizeof why);
        if (rc == R_PASS) t->pass++;
        else if (rc == R_FAIL) t->fail++;
        else {
            t->skip++;
            note_missing_op(t, why);
            if (o->verbose) printf("skip %s: %s\n", name, why);
        }
    }
    free_list(cases, n);
}

static void print_missing(const tally *t) {
    printf("missing operators (cases skipped):");
    for (size_t printed = 0; printed < t->n_ops; printed++) {
        size_t best = 0;
        for (size_t i = 1; i < t->n_ops; i++)
            if (t->op_count[i] > t->op_count[best]) best = i;
        printf(" %s %zu", t->ops[best], t->op_count[best]);
        t->op_count[best] = 0;
    }
    printf("\n");
}

static int parse_args(int argc, char **argv, options *o) {
    o->root = "/usr/share/libonnx-testdata/data";
    o->min_rate = 0.95;
    o->threads = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-v")) o->verbose = true;
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) o->threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--min-rate") && i + 1 < argc) o->min_rate = atof(argv[++i]);
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) o->only = argv[++i];
        else if (!strcmp(argv[i], "--short-names")) o->short_names = true;
        else if (argv[i][0] != '-') o->root = argv[i];
        else {
            fprintf(stderr, "usage: conformance [-v] [--threads N] [--min-rate R] "
                            "[--only SUBSTR] [--short-names] [ROOT]\n");
            return 2;
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    static const char *const suites[] = {"node", "pytorch-converted", "pytorch-operator",
                                         "simple"};
    options o = {0};
    tally t = {0};
    if (parse_args(argc, argv, &o)) return 2;
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++) run_suite(&o, suites[i], &t);
    if (o.verbose && t.n_ops) print_missing(&t);
    size_t supported = t.pass + t.fail;
    double rate = supported ? (double)t.pass / (double)supported : 0;
    printf("conformance: %zu passed, %zu failed, %zu skipped\n", t.pass, t.fail, t.skip);
    printf("pass rate among supported cases: %.1f%% (%zu/%zu), required %.1f%%\n", 100 * rate,
           t.pass, supported, 100 * o.min_rate);
    for (size_t i = 0; i < t.n_ops; i++) free(t.ops[i]);
    free(t.ops);
    free(t.op_count);
    return rate >= o.min_rate && supported > 0 ? 0 : 1;
}
