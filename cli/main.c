/* main.c — `ecc` entry point: the subcommand table, `help`, `--version`. */
#include "cli.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static int ecc_cmd_help(int argc, char **argv);

static const char ecc_help_help[] =
    "usage: ecc help [COMMAND]\n\nShows the commands, or the full help of one command.\n";

static const ecc_cli_cmd ecc_commands[] = {
    {"compare", "compare two models (or reference outputs) output by output", ecc_help_compare,
     ecc_cmd_compare},
    {"compress", "run a pipeline of compression passes and write the result", ecc_help_compress,
     ecc_cmd_compress},
    {"eval", "classification accuracy (top-1, top-k) of a model on labelled data",
     ecc_help_eval, ecc_cmd_eval},
    {"help", "show help for a command", ecc_help_help, ecc_cmd_help},
    {"inspect", "summarize a model: interface, ops, parameters, sparsity, quantization",
     ecc_help_inspect, ecc_cmd_inspect},
    {"ops", "list the operators and element types the interpreter runs", ecc_help_ops,
     ecc_cmd_ops},
    {"passes", "list the available passes with their options", ecc_help_passes, ecc_cmd_passes},
    {"run", "run a model on data and write every output as .npy", ecc_help_run, ecc_cmd_run},
    {"sensitivity", "per-layer output error when each layer alone is pruned (table, JSON)",
     ecc_help_sensitivity, ecc_cmd_sensitivity},
    {"sweep", "compress and measure a grid of pipelines; results, Pareto fronts, plots",
     ecc_help_sweep, ecc_cmd_sweep},
    {"unpack", "restore the ONNX model (QDQ or float) from a .ecc artifact", ecc_help_unpack,
     ecc_cmd_unpack},
    {"verify", "check every checksum and bound of a .ecc artifact (exit 0 or 2)",
     ecc_help_verify, ecc_cmd_verify},
};
enum { ECC_N_COMMANDS = sizeof ecc_commands / sizeof ecc_commands[0] };

static const ecc_cli_cmd *ecc_find_command(const char *name) {
    for (size_t i = 0; i < ECC_N_COMMANDS; i++)
        if (strcmp(ecc_commands[i].name, name) == 0) return &ecc_commands[i];
    return NULL;
}

static void ecc_print_overview(FILE *out) {
    fprintf(out,
            "ecc %s — model compression compiler for ONNX\n\n"
            "usage: ecc COMMAND [ARGS]\n\ncommands:\n",
            ECC_VERSION_STRING);
    for (size_t i = 0; i < ECC_N_COMMANDS; i++)
        fprintf(out, "  %-10s %s\n", ecc_commands[i].name, ecc_commands[i].summary);
    fprintf(out,
            "\nexamples:\n"
            "  ecc inspect model.onnx\n"
            "  ecc compress model.onnx -o out.onnx --passes normalize,fold-bn,dce\n"
            "  ecc passes\n"
            "  ecc eval model.onnx --data images.idx3-ubyte.gz --labels labels.idx1-ubyte.gz\n"
            "  ecc compare model.onnx out.onnx --data x.npy\n\n"
            "exit codes: 0 ok, 1 usage, 2 bad input or unsupported, 3 internal or I/O error\n"
            "'ecc help COMMAND' shows a command's options.\n");
}

static int ecc_cmd_help(int argc, char **argv) {
    if (argc < 2) {
        ecc_print_overview(stdout);
        return ECC_EXIT_OK;
    }
    const ecc_cli_cmd *c = ecc_find_command(argv[1]);
    if (!c) return ecc_cli_fail(ECC_EXIT_USAGE, "unknown command '%s' (see 'ecc help')", argv[1]);
    fputs(c->usage, stdout);
    return ECC_EXIT_OK;
}

int main(int argc, char **argv) {
    /* a closed pipe (EPIPE) or ulimit -f (EFBIG) becomes a write error that is
     * reported with exit 3 and cleaned up, not a silent kill */
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN);
    if (argc < 2) {
        ecc_print_overview(stderr);
        return ECC_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
        printf("ecc %s\n", ECC_VERSION_STRING);
        return ECC_EXIT_OK;
    }
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) return ecc_cmd_help(1, argv);
    const ecc_cli_cmd *c = ecc_find_command(name);
    if (!c) return ecc_cli_fail(ECC_EXIT_USAGE, "unknown command '%s' (see 'ecc help')", name);
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(c->usage, stdout);
            return ECC_EXIT_OK;
        }
    return c->run(argc - 1, argv + 1);
}
