/* threshold_weights.c — example plugin: the `threshold-weights` pass zeroes
 * float32 Conv/Gemm/MatMul weights whose magnitude is below `min_abs`.
 * It uses only ecc_plugin.h (see plugins/README.md):
 *   cc -std=c11 -O2 -fPIC -shared -Icompress -o threshold_weights.so plugins/threshold_weights.c
 *   ecc compress in.onnx -o out.onnx --plugin ./threshold_weights.so \
 *       --passes threshold-weights:min_abs=0.01 */
#include "ecc_plugin.h"

#include <stdlib.h>
#include <string.h>

#define ONNX_FLOAT 1 /* TensorProto.DataType FLOAT */

/* The ops whose input 1 is a weight. */
static const char *const weight_ops[] = {"Conv", "Gemm", "MatMul"};

static int is_weight_op(const ecc_host_api *host, const ecc_node *n) {
    const char *domain = host->node_domain(n);
    if (domain[0] && strcmp(domain, "ai.onnx") != 0) return 0;
    for (size_t i = 0; i < sizeof weight_ops / sizeof weight_ops[0]; i++)
        if (strcmp(host->node_op(n), weight_ops[i]) == 0) return 1;
    return 0;
}

/* A weight read by several nodes is thresholded (and counted) once. */
typedef struct seen_list {
    const ecc_tensor **items;
    size_t n, cap;
} seen_list;

static int seen_add(seen_list *s, const ecc_tensor *t) {
    for (size_t i = 0; i < s->n; i++)
        if (s->items[i] == t) return 0;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 32;
        const ecc_tensor **p = realloc(s->items, cap * sizeof *p);
        if (!p) return -1;
        s->items = p;
        s->cap = cap;
    }
    s->items[s->n++] = t;
    return 1;
}

static int64_t threshold(float *w, int64_t n, double min_abs) {
    int64_t zeroed = 0;
    for (int64_t i = 0; i < n; i++) {
        double a = w[i] < 0 ? -(double)w[i] : (double)w[i];
        if (a < min_abs && w[i] != 0.0f) {
            w[i] = 0.0f;
            zeroed++;
        }
    }
    return zeroed;
}

static int threshold_run(const ecc_host_api *host, ecc_pass_run *run) {
    double min_abs = host->opt_float(run, "min_abs");
    ecc_graph *g = host->graph(run);
    seen_list seen = {0};
    int64_t zeroed = 0, weights = 0, elements = 0;
    int rc = ECC_PLUGIN_OK;
    for (size_t i = 0; i < host->graph_node_count(g) && rc == ECC_PLUGIN_OK; i++) {
        ecc_node *n = host->graph_node(g, i);
        if (!is_weight_op(host, n) || host->node_input_count(n) < 2) continue;
        ecc_value *v = host->node_input(n, 1);
        ecc_tensor *t = v ? host->value_initializer(v) : NULL;
        if (!t || host->tensor_dtype(t) != ONNX_FLOAT) continue;
        int fresh = seen_add(&seen, t);
        if (fresh < 0) rc = host->error(run, ECC_PLUGIN_E_INTERNAL, "out of memory");
        if (fresh <= 0) continue;
        float *w = host->tensor_f32_mut(run, t); /* copy-on-write if shared */
        if (!w) {
            rc = host->error(run, ECC_PLUGIN_E_INTERNAL, "weight '%s' of node '%s' is not writable",
                             host->value_name(v), host->node_name(n));
            continue;
        }
        int64_t z = threshold(w, host->tensor_numel(t), min_abs);
        host->log(run, "%s: zeroed %lld of %lld", host->value_name(v), (long long)z,
                  (long long)host->tensor_numel(t));
        zeroed += z;
        elements += host->tensor_numel(t);
        weights++;
    }
    free(seen.items);
    host->stat(run, "weights", (double)weights);
    host->stat(run, "elements", (double)elements);
    host->stat(run, "zeroed", (double)zeroed);
    return rc;
}

static const ecc_opt_desc threshold_opts[] = {
    {
        .struct_size = sizeof(ecc_opt_desc),
        .type = ECC_OPT_FLOAT,
        .name = "min_abs",
        .help = "weights with |w| below this become 0",
        .default_value = "1e-3",
        .min = 0,
        .max = 1e6,
    },
};

static const ecc_pass_desc threshold_pass = {
    .struct_size = sizeof(ecc_pass_desc),
    .name = "threshold-weights",
    .summary = "zero float32 Conv/Gemm/MatMul weights with |w| < min_abs (example plugin)",
    .needs = 0,
    .options = threshold_opts,
    .n_options = sizeof threshold_opts / sizeof threshold_opts[0],
    .run = threshold_run,
};

static int threshold_init(const ecc_host_api *host, ecc_plugin_reg *reg) {
    /* The table only grows: make sure the host has the last function we call. */
    if (host->struct_size < offsetof(ecc_host_api, tensor_f32_mut) + sizeof host->tensor_f32_mut)
        return host->error(NULL, ECC_PLUGIN_E_INPUT, "host function table too old");
    return host->register_pass(reg, &threshold_pass);
}

static const ecc_plugin_info threshold_info = {
    .struct_size = sizeof(ecc_plugin_info),
    .abi_major = ECC_PLUGIN_ABI_MAJOR,
    .abi_minor = ECC_PLUGIN_ABI_MINOR,
    .name = "threshold_weights",
    .version = "1.0",
    .init = threshold_init,
};

const ecc_plugin_info *ecc_plugin_entry(void) { return &threshold_info; }
