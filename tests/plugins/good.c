/* good.c — test plugin exercising the host table: one pass with an option of
 * every type that records what it read as statistics, logs, and fails on
 * request with a message. */
#include "ecc_plugin.h"

#include <string.h>

static int probe_run(const ecc_host_api *host, ecc_pass_run *run) {
    if (host->opt_bool(run, "fail"))
        return host->error(run, ECC_PLUGIN_E_INPUT, "asked to fail (level=%lld)",
                           (long long)host->opt_int(run, "level"));
    ecc_graph *g = host->graph(run);
    host->stat(run, "level", (double)host->opt_int(run, "level"));
    host->stat(run, "ratio", host->opt_float(run, "ratio"));
    const char *mode = host->opt_string(run, "mode");
    host->stat(run, "mode_is_fast", mode && strcmp(mode, "fast") == 0);
    const char *tag = host->opt_string(run, "tag");
    host->stat(run, "tag_len", tag ? (double)strlen(tag) : -1);
    host->stat(run, "nodes", (double)host->graph_node_count(g));
    host->stat(run, "seed", (double)host->seed(run));
    host->log(run, "probe ran on %zu nodes", host->graph_node_count(g));
    return ECC_PLUGIN_OK;
}

static const ecc_opt_desc probe_opts[] = {
    {sizeof(ecc_opt_desc), ECC_OPT_BOOL, "fail", "fail on purpose", "false", 0, 0, NULL},
    {sizeof(ecc_opt_desc), ECC_OPT_INT, "level", "an integer", "3", -5, 10, NULL},
    {sizeof(ecc_opt_desc), ECC_OPT_FLOAT, "ratio", "a fraction", "0.25", 0, 1, NULL},
    {sizeof(ecc_opt_desc), ECC_OPT_ENUM, "mode", "how", "slow", 0, 0, "slow|fast"},
    {sizeof(ecc_opt_desc), ECC_OPT_STRING, "tag", "free text", NULL, 0, 0, NULL},
};

static const ecc_pass_desc probe = {sizeof(ecc_pass_desc), "probe", "test probe", 0, probe_opts,
                                    sizeof probe_opts / sizeof probe_opts[0], probe_run};

static int good_init(const ecc_host_api *host, ecc_plugin_reg *reg) {
    return host->register_pass(reg, &probe);
}

static const ecc_plugin_info info = {sizeof(ecc_plugin_info), ECC_PLUGIN_ABI_MAJOR,
                                     ECC_PLUGIN_ABI_MINOR, "good", "1.2.3", good_init};

const ecc_plugin_info *ecc_plugin_entry(void) { return &info; }
