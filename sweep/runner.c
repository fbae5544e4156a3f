/* runner.c — one trial, isolated from the sweep: a child process runs
 * `EXE compress ...` (stdout and stderr to DIR/models/KEY.log; killed at the
 * deadline; it dies with the sweep), then another runs `EXE sweep SPEC
 * --measure-trial KEY -o DIR`, which measures the model and prints its numbers
 * as JSON on a pipe (a crash there is the trial's, not the sweep's). The
 * parent waits for each child in turn, so measurements of two trials never
 * overlap. The result — measured, or failed with exit code
 * and first error line — is appended as one line to DIR/trials.jsonl. */
#include "sweep.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define ARGV_MAX 64

/* ---------------- the compress command ---------------- */

typedef struct trial_argv {
    const char *v[ARGV_MAX + 1];
    size_t n;
    char seed[24], calib_size[24];
} trial_argv;

static void arg(trial_argv *a, const char *s) {
    if (a->n < ARGV_MAX) a->v[a->n++] = s;
}

/* argv of `EXE compress ...` writing trial t to out (without --report and -q). */
static bool build_argv(const ecc_sweep *sw, const sweep_trial *t, const char *exe,
                       const char *out, trial_argv *a) {
    memset(a, 0, sizeof *a);
    arg(a, exe), arg(a, "compress"), arg(a, sw->model), arg(a, "-o"), arg(a, out);
    arg(a, "--passes"), arg(a, t->pipeline);
    if (sw->calib) arg(a, "--calib"), arg(a, sw->calib);
    if (sw->calib_size) {
        snprintf(a->calib_size, sizeof a->calib_size, "%llu",
                 (unsigned long long)sw->calib_size);
        arg(a, "--calib-size"), arg(a, a->calib_size);
    }
    if (sw->train) arg(a, "--train"), arg(a, sw->train);
    for (size_t i = 0; i < sw->n_plugins; i++) arg(a, "--plugin"), arg(a, sw->plugins[i]);
    snprintf(a->seed, sizeof a->seed, "%llu", (unsigned long long)sw->seed);
    arg(a, "--seed"), arg(a, a->seed);
    if (sw->short_names) arg(a, "--short-names");
    return a->n + 4 < ARGV_MAX; /* room for --report FILE -q */
}

static void shell_quote(FILE *o, const char *s) {
    if (*s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                        "_./:=,+-@%") == strlen(s)) {
        fputs(s, o);
        return;
    }
    fputc('\'', o);
    for (; *s; s++) *s == '\'' ? fputs("'\\''", o) : fputc(*s, o);
    fputc('\'', o);
}

char *sweep_compress_command(const ecc_sweep *sw, const sweep_trial *t, const char *exe,
                             const char *out_path) {
    trial_argv a;
    char *buf = NULL;
    size_t size = 0;
    if (!build_argv(sw, t, exe, out_path, &a)) return NULL;
    FILE *o = open_memstream(&buf, &size);
    if (!o) return NULL;
    for (size_t i = 0; i < a.n; i++) {
        if (i) fputc(' ', o);
        shell_quote(o, a.v[i]);
    }
    if (fclose(o) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* ---------------- child processes ---------------- */

/* In a child: die with the parent (the sweep killed leaves no trial running). */
static void die_with_parent(pid_t parent) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
}

/* Runs argv with standard input from /dev/null, standard error to log_path
 * (truncated, or appended to), standard output to out_fd (or the log when -1). */
static pid_t spawn(const char *const *argv, int out_fd, const char *log_path, bool append) {
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid != 0) return pid;
    die_with_parent(parent);
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC);
    int log = open(log_path, flags, 0666), null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (log < 0 || null < 0 || dup2(null, 0) < 0 || dup2(out_fd >= 0 ? out_fd : log, 1) < 0 ||
        dup2(log, 2) < 0)
        _exit(127);
    execv(argv[0], (char *const *)argv);
    dprintf(2, "ecc: error: %s: cannot run: %s\n", argv[0], strerror(errno));
    _exit(127);
}

/* Waits for pid until deadline (0: none); kills it then. *status as waitpid's. */
static bool wait_until(pid_t pid, double deadline, int *status) {
    for (;;) {
        pid_t r = waitpid(pid, status, deadline > 0 ? WNOHANG : 0);
        if (r == pid) return true;
        if (r < 0 && errno != EINTR) {
            *status = 0;
            return true;
        }
        if (deadline > 0 && ecc_now_seconds() >= deadline) {
            kill(pid, SIGKILL);
            while (waitpid(pid, status, 0) < 0 && errno == EINTR) {}
            return false;
        }
        if (r == 0) usleep(2000);
    }
}

/* ---------------- failure details ---------------- */

/* The first "ecc: error:" line of the log, else its first line. */
static void first_error(const char *log_path, char *buf, size_t cap) {
    char line[1024];
    FILE *fp = fopen(log_path, "r");
    buf[0] = 0;
    while (fp && fgets(line, sizeof line, fp)) {
        line[strcspn(line, "\n")] = 0;
        if (!buf[0]) snprintf(buf, cap, "%s", line);
        if (!strncmp(line, "ecc: error: ", 12)) {
            snprintf(buf, cap, "%s", line);
            break;
        }
    }
    if (fp) fclose(fp);
}

static const char *signal_name(int sig) {
    const char *s = sigabbrev_np(sig);
    return s ? s : "?";
}

/* Describes a child that did not exit 0: code (exit code or 128+signal) and error text. */
static void describe(int status, bool in_time, double timeout, const char *phase, int *code,
                     char *err, size_t cap) {
    if (!in_time) {
        *code = 128 + SIGKILL;
        snprintf(err, cap, "%s timed out after %g s", phase, timeout);
    } else if (WIFSIGNALED(status)) {
        *code = 128 + WTERMSIG(status);
        snprintf(err, cap, "%s killed by signal %d (SIG%s)", phase, WTERMSIG(status),
                 signal_name(WTERMSIG(status)));
    } else {
        *code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        if (!err[0]) snprintf(err, cap, "%s exited with %d", phase, *code);
    }
}

/* ---------------- a trial's files ---------------- */

typedef struct trial_paths {
    char *onnx, *ecc, *report, *log;
} trial_paths;

static void paths_free(trial_paths *p) {
    free(p->onnx), free(p->ecc), free(p->report), free(p->log);
}

static bool paths_make(const char *dir, const sweep_trial *t, bool ecc, trial_paths *p) {
    char name[SWEEP_KEY_LEN + 32];
    static const char *const ext[] = {".onnx", ".ecc", ".report.json", ".log"};
    char **slot[] = {&p->onnx, &p->ecc, &p->report, &p->log};
    memset(p, 0, sizeof *p);
    for (size_t i = 0; i < 4; i++) {
        if (i == 1 && !ecc) continue;
        snprintf(name, sizeof name, "models/%s%s", t->key, ext[i]);
        if (!(*slot[i] = sweep_path(dir, name))) return false;
    }
    return true;
}

/* ---------------- measuring in a child ---------------- */

ecc_status ecc_sweep_measure_trial(ecc_ctx *ctx, const ecc_sweep *sw, const char *key,
                                   const char *dir, FILE *out) {
    ecc_status st = ECC_OK;
    trial_paths p = {0};
    cJSON *obj = cJSON_CreateObject();
    char *text = NULL;
    size_t i = 0;
    while (i < sw->n_trials && strcmp(sw->trials[i].key, key)) i++;
    ECC_FAIL_IF(i == sw->n_trials, ctx, ECC_E_USAGE, "no trial of %s has the key '%s'",
                sw->spec_path, key);
    ECC_FAIL_IF(!obj || !paths_make(dir, &sw->trials[i], sw->ecc, &p), ctx, ECC_E_INTERNAL,
                "out of memory");
    ECC_TRY(sweep_measure(ctx, sw, &sw->trials[i], p.onnx, p.ecc, obj));
    text = cJSON_PrintUnformatted(obj);
    ECC_FAIL_IF(!text, ctx, ECC_E_INTERNAL, "out of memory");
    ECC_FAIL_IF(fputs(text, out) < 0 || fflush(out) != 0, ctx, ECC_E_INTERNAL,
                "cannot write the measurements: %s", strerror(errno));
fail:
    cJSON_free(text);
    cJSON_Delete(obj);
    paths_free(&p);
    return st;
}

/* Reads everything the child sends until EOF or the deadline. */
static char *read_pipe(int fd, double deadline) {
    char *buf = NULL;
    size_t size = 0;
    FILE *o = open_memstream(&buf, &size);
    char chunk[4096];
    for (;;) {
        double left = deadline > 0 ? deadline - ecc_now_seconds() : 1e9;
        struct pollfd p = {fd, POLLIN, 0};
        if (left <= 0) break;
        int r = poll(&p, 1, left > 3600 ? 3600000 : (int)(left * 1000) + 1);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        if (o) fwrite(chunk, 1, (size_t)n, o);
    }
    if (!o || fclose(o) != 0) {
        free(o ? buf : NULL);
        return NULL;
    }
    return buf;
}

/* Runs `EXE sweep SPEC --measure-trial KEY -o DIR` (its standard error appended
 * to the trial's log); merges the numbers it prints into line, or fills code
 * and err when it failed. */
static bool measure_isolated(const ecc_sweep *sw, const sweep_trial *t, const char *exe,
                             const char *dir, const char *log, double deadline, double timeout,
                             cJSON *line, int *code, char *err, size_t cap) {
    int fds[2], status = 0;
    const char *argv[] = {exe, "sweep", sw->spec_path, "--measure-trial", t->key, "-o", dir,
                          NULL};
    if (pipe2(fds, O_CLOEXEC) != 0) {
        snprintf(err, cap, "cannot create a pipe: %s", strerror(errno));
        *code = -1;
        return false;
    }
    pid_t pid = spawn(argv, fds[1], log, true);
    close(fds[1]);
    char *text = pid > 0 ? read_pipe(fds[0], deadline) : NULL;
    close(fds[0]);
    bool in_time = pid > 0 ? wait_until(pid, deadline, &status) : true;
    cJSON *res = text ? cJSON_Parse(text) : NULL;
    free(text);
    bool ok = pid > 0 && in_time && WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
              cJSON_IsObject(res);
    err[0] = 0;
    if (pid < 0) snprintf(err, cap, "cannot fork: %s", strerror(errno)), *code = -1;
    else if (!ok) first_error(log, err, cap), describe(status, in_time, timeout, "measurement",
                                                       code, err, cap);
    for (cJSON *it = ok ? res->child : NULL; it; it = it->next)
        cJSON_AddItemToObject(line, it->string, cJSON_Duplicate(it, true));
    cJSON_Delete(res);
    return ok;
}

/* ---------------- one trial ---------------- */

/* Seconds the compress run itself took, from its report (wall time when absent). */
static double compress_seconds(const char *report, double wall) {
    FILE *fp = fopen(report, "r");
    long size = fp && fseek(fp, 0, SEEK_END) == 0 ? ftell(fp) : -1;
    char *buf = size > 0 && size < (16l << 20) ? malloc((size_t)size + 1) : NULL;
    size_t n = buf && fseek(fp, 0, SEEK_SET) == 0 ? fread(buf, 1, (size_t)size, fp) : 0;
    if (fp) fclose(fp);
    if (buf) buf[n] = 0;
    cJSON *r = n ? cJSON_Parse(buf) : NULL;
    double s = sweep_num(r, "seconds");
    cJSON_Delete(r);
    free(buf);
    return isnan(s) ? wall : s;
}

static cJSON *line_start(const ecc_sweep *sw, size_t i, const char *cmd) {
    const sweep_trial *t = &sw->trials[i];
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "key", t->key);
    cJSON_AddNumberToObject(o, "trial", (double)(i + 1));
    cJSON_AddStringToObject(o, "status", "failed");
    cJSON_AddStringToObject(o, "axes", t->assign);
    cJSON_AddStringToObject(o, "pipeline", t->pipeline);
    cJSON_AddStringToObject(o, "command", cmd);
    return o;
}

static void line_fail(cJSON *o, const char *phase, int code, const char *err) {
    cJSON_AddStringToObject(o, "phase", phase);
    cJSON_AddNumberToObject(o, "exit_code", code);
    cJSON_AddStringToObject(o, "error", err);
}

static void line_ok(cJSON *o) {
    cJSON_ReplaceItemInObjectCaseSensitive(o, "status", cJSON_CreateString("ok"));
    cJSON_AddNumberToObject(o, "exit_code", 0);
}

/* Compress then measure; fills line. */
static void run_phases(const ecc_sweep *sw, const sweep_trial *t, const trial_argv *a,
                       const trial_paths *p, const char *dir, double timeout, cJSON *line) {
    char err[1024] = "";
    int status = 0, code = 0;
    double t0 = ecc_now_seconds(), deadline = timeout > 0 ? t0 + timeout : 0;
    pid_t pid = spawn(a->v, -1, p->log, false);
    bool in_time = pid > 0 ? wait_until(pid, deadline, &status) : true;
    double wall = ecc_now_seconds() - t0;
    cJSON_AddNumberToObject(line, "compress_seconds", compress_seconds(p->report, wall));
    if (pid < 0 || !in_time || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        first_error(p->log, err, sizeof err);
        if (pid < 0) snprintf(err, sizeof err, "cannot fork: %s", strerror(errno));
        describe(status, in_time, timeout, "compress", &code, err, sizeof err);
        line_fail(line, "compress", code, err);
        return;
    }
    double m0 = ecc_now_seconds();
    if (!measure_isolated(sw, t, a->v[0], dir, p->log, deadline, timeout, line, &code, err,
                          sizeof err)) {
        line_fail(line, "measure", code, err);
        return;
    }
    cJSON_AddNumberToObject(line, "measure_seconds", ecc_now_seconds() - m0);
    line_ok(line);
}

static const char *self_exe(char *buf, size_t cap) {
    ssize_t n = readlink("/proc/self/exe", buf, cap - 1);
    if (n <= 0) return NULL;
    buf[n] = 0;
    return buf;
}

ecc_status ecc_sweep_run_trial(ecc_ctx *ctx, const ecc_sweep *sw, size_t i, const char *dir,
                               const ecc_sweep_options *opts, bool *failed) {
    ecc_status st = ECC_OK;
    trial_paths p = {0};
    trial_argv a;
    char exe_buf[4096];
    char *cmd = NULL;
    cJSON *line = NULL;
    ECC_FAIL_IF(i >= sw->n_trials, ctx, ECC_E_USAGE, "trial %zu: the spec has %zu trials",
                i + 1, sw->n_trials);
    const sweep_trial *t = &sw->trials[i];
    const char *exe = opts && opts->exe ? opts->exe : self_exe(exe_buf, sizeof exe_buf);
    ECC_FAIL_IF(!exe, ctx, ECC_E_INTERNAL, "cannot find the ecc executable: %s",
                strerror(errno));
    ECC_FAIL_IF(!paths_make(dir, t, sw->ecc, &p), ctx, ECC_E_INTERNAL, "out of memory");
    ECC_FAIL_IF(!build_argv(sw, t, exe, p.onnx, &a), ctx, ECC_E_USAGE,
                "too many plugins for one command line");
    cmd = sweep_compress_command(sw, t, exe, p.onnx);
    line = cmd ? line_start(sw, i, cmd) : NULL;
    ECC_FAIL_IF(!line, ctx, ECC_E_INTERNAL, "out of memory");
    arg(&a, "--report"), arg(&a, p.report), arg(&a, "-q");
    run_phases(sw, t, &a, &p, dir, opts ? opts->timeout : 0, line);
    if (failed) *failed = !sweep_ok(line);
    ECC_TRY(sweep_store_append(ctx, dir, line));
fail:
    paths_free(&p);
    cJSON_Delete(line);
    free(cmd);
    return st;
}
