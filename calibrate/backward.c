/* backward.c — reverse-mode gradients over the interpreter's last run: which
 * values depend on a trainable parameter (planned at create), one gradient
 * buffer per value while the reverse walk needs it, the walk that calls each
 * node's backward kernel (the same table row as its forward), and the
 * parameter gradients it leaves. Gradients of a value read by several nodes
 * are summed in reverse execution order, so the bytes never depend on the
 * thread count. */
#include "interp_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

size_t ecc_interp_param_count(const ecc_interp *it) { return it->n_params; }

const ecc_value *ecc_interp_param_value(const ecc_interp *it, size_t i) {
    return i < it->n_params ? it->slots[it->params[i]].v : NULL;
}

float *ecc_interp_param(ecc_interp *it, size_t i) {
    return i < it->n_params ? it->slots[it->params[i]].copy : NULL;
}

float *ecc_interp_param_scales(ecc_interp *it, size_t i, int64_t *n) {
    ecc_slot *s = i < it->n_params ? &it->slots[it->params[i]] : NULL;
    *n = s && s->scale ? s->n_scale : 0;
    return *n ? s->scale : NULL;
}

float *ecc_interp_param_scale_grad(const ecc_interp *it, size_t i) {
    return i < it->n_params ? it->slots[it->params[i]].scale_grad : NULL;
}

size_t ecc_interp_act_scale_count(const ecc_interp *it) { return it->n_act_scales; }
float *ecc_interp_act_scales(ecc_interp *it) { return it->act_scale; }
float *ecc_interp_act_scale_grads(const ecc_interp *it) { return it->act_scale_grad; }
const ecc_quantizer *ecc_interp_act_scale_quantizer(const ecc_interp *it, size_t i) {
    return i < it->n_act_scales ? it->act_scale_q[i] : NULL;
}

float *ecc_interp_param_grad(const ecc_interp *it, size_t i) {
    return i < it->n_params && it->param_grads ? it->param_grads[i] : NULL;
}

size_t ecc_interp_grad_peak_bytes(const ecc_interp *it) { return it->grad_peak; }

/* ---------------- planning (at create) ---------------- */

static int32_t value_dtype(const ecc_slot *s) { return s->v->dtype ? s->v->dtype : s->t.dtype; }

static bool node_reads_grad(const ecc_interp *it, const ecc_inode *in) {
    for (uint32_t j = 0; j < in->node->n_inputs; j++) {
        int32_t s = it->io[in->io + j];
        if (s >= 0 && it->slots[s].needs_grad) return true;
    }
    return false;
}

/* Input j's gradient is computed: it depends on a parameter and is float. */
static bool grad_wanted(const ecc_interp *it, const ecc_inode *in, uint32_t j) {
    int32_t s = j < in->node->n_inputs ? it->io[in->io + j] : -1;
    return s >= 0 && it->slots[s].needs_grad && it->slots[s].t.dtype == ECC_DTYPE_FLOAT;
}

/* Does the node's backward kernel read input j's data (rule `saves`)? */
static bool reads_input(const ecc_interp *it, const ecc_inode *in, ecc_saves saves, uint32_t j) {
    if (it->slots[it->io[in->io + j]].t.dtype != ECC_DTYPE_FLOAT)
        return true; /* indices, shapes, conditions */
    switch (saves) {
    case ECC_SAVES_SHAPES:
    case ECC_SAVES_OUTPUTS: return false;
    case ECC_SAVES_OTHER_OPERAND: return j < 2 && grad_wanted(it, in, 1 - j);
    case ECC_SAVES_X_FOR_SCALE: return j > 0 || grad_wanted(it, in, 1) || grad_wanted(it, in, 4);
    default: return true;
    }
}

/* Does a kernel under rule `saves` read its outputs? */
static bool reads_outputs(ecc_saves saves) {
    return saves == ECC_SAVES_ALL || saves == ECC_SAVES_OUTPUTS;
}

/* The buffer holding slot s lives to the end of the run (the layout never
 * reuses it); initializers, caller inputs and memory outside the plan stay
 * valid until the next run anyway. */
static void keep_slot(ecc_interp *it, int32_t s) {
    if (s >= 0 && it->slots[s].buf >= 0) it->bufs[it->slots[s].buf].pinned = true;
}

void ecc_backward_keep(ecc_interp *it, const ecc_inode *in) {
    const ecc_node *n = in->node;
    if (!in->grad_path) return;
    ecc_saves saves = in->kern && in->kern->backward ? in->kern->saves : ECC_SAVES_ALL;
    for (uint32_t j = 0; j < n->n_inputs; j++)
        if (it->io[in->io + j] >= 0 && reads_input(it, in, saves, j))
            keep_slot(it, it->io[in->io + j]);
    if (!reads_outputs(saves)) return;
    for (uint32_t j = 0; j < n->n_outputs; j++) keep_slot(it, it->io[in->io + n->n_inputs + j]);
}

/* The node's float outputs carry gradients; it needs a backward kernel. */
static ecc_status plan_node(ecc_ctx *ctx, ecc_interp *it, ecc_inode *in) {
    const ecc_node *n = in->node;
    bool any = false;
    for (uint32_t j = 0; j < n->n_outputs; j++) {
        int32_t s = it->io[in->io + n->n_inputs + j];
        if (s < 0) continue;
        int32_t dt = value_dtype(&it->slots[s]);
        if (dt != ECC_DTYPE_FLOAT && dt != 0) continue;
        it->slots[s].needs_grad = any = true;
    }
    if (!any) return ECC_OK;
    in->grad_path = true;
    int32_t dt = 0;
    for (uint32_t j = 0; j < n->n_inputs && !dt; j++) {
        int32_t s = it->io[in->io + j];
        if (s >= 0) dt = value_dtype(&it->slots[s]);
    }
    const ecc_kernel_entry *e = dt ? ecc_kernel_find(n->op_type, dt, it->opset) : NULL;
    if (dt && (!e || !e->backward))
        return ecc_ctx_error(ctx, ECC_E_INPUT,
                             "node '%s' (%s): no gradient for %s, and it lies on a path from "
                             "a trained weight to the outputs",
                             ecc_node_label(n), n->op_type, n->op_type);
    return ECC_OK;
}

ecc_status ecc_backward_plan(ecc_ctx *ctx, ecc_interp *it) {
    ecc_status st = ECC_OK;
    for (size_t pos = 0; pos < it->n_nodes; pos++)
        if (node_reads_grad(it, &it->nodes[pos])) ECC_TRY(plan_node(ctx, it, &it->nodes[pos]));
    it->param_grads = calloc(it->n_params + 1, sizeof *it->param_grads);
    it->grads = calloc(it->n_slots + 1, sizeof *it->grads);
    ECC_FAIL_IF(!it->param_grads || !it->grads, ctx, ECC_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < it->n_params; i++) {
        const ecc_slot *s = &it->slots[it->params[i]];
        it->param_grads[i] = calloc((size_t)ecc_rt_numel(&s->t) + 1, sizeof(float));
        ECC_FAIL_IF(!it->param_grads[i], ctx, ECC_E_INTERNAL, "out of memory");
    }
fail:
    return st;
}

/* ---------------- backward memory ---------------- */

/* Gradient buffers and kernel scratch come from a pool kept across steps:
 * every step asks for the same sizes in the same order, so after the first
 * one nothing is allocated and no page is faulted in again. A request takes
 * the smallest pooled block that fits. Counted: blocks in use (grad_bytes)
 * plus pooled ones, the memory actually held. */
static bool gblock_push(ecc_gblock **arr, size_t *n, size_t *cap, ecc_gblock b) {
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 16;
        ecc_gblock *g = realloc(*arr, c * sizeof *g);
        if (!g) return false;
        *arr = g;
        *cap = c;
    }
    (*arr)[(*n)++] = b;
    return true;
}

/* Smallest pooled block of at least want bytes (first of equals), or -1. */
static int64_t gpool_fit(const ecc_interp *it, size_t want) {
    int64_t best = -1;
    for (size_t i = 0; i < it->n_gpool; i++)
        if (it->gpool[i].bytes >= want && (best < 0 || it->gpool[i].bytes < it->gpool[best].bytes))
            best = (int64_t)i;
    return best;
}

static void *gmem_take(ecc_interp *it, size_t bytes) {
    size_t want = ecc_align_up(bytes ? bytes : 1);
    int64_t at = gpool_fit(it, want);
    ecc_gblock b = {NULL, want};
    if (at >= 0) {
        b = it->gpool[at];
        it->gpool[at] = it->gpool[--it->n_gpool];
        it->gpool_bytes -= b.bytes;
    } else {
        b.p = aligned_alloc(ECC_ALIGN, want);
    }
    if (!b.p) return NULL;
    if (!gblock_push(&it->glive, &it->n_glive, &it->cap_glive, b)) {
        free(b.p);
        return NULL;
    }
    it->grad_bytes += b.bytes;
    if (it->grad_bytes + it->gpool_bytes > it->grad_peak)
        it->grad_peak = it->grad_bytes + it->gpool_bytes;
    if (it->n_act_scales) memset(it->act_scale_grad, 0, it->n_act_scales * sizeof(float));
    return b.p;
}

static void gmem_give(ecc_interp *it, void *p) {
    size_t i = it->n_glive;
    while (p && i-- > 0 && it->glive[i].p != p) {}
    if (!p || i >= it->n_glive) return;
    ecc_gblock b = it->glive[i];
    it->glive[i] = it->glive[--it->n_glive];
    it->grad_bytes -= b.bytes;
    if (!gblock_push(&it->gpool, &it->n_gpool, &it->cap_gpool, b)) free(b.p);
    else it->gpool_bytes += b.bytes;
}

/* A gradient tensor's memory back to the pool. */
static void grad_release(ecc_interp *it, ecc_rt_tensor *g) {
    gmem_give(it, g->data);
    memset(g, 0, sizeof *g);
}

static void grads_drop_all(ecc_interp *it) {
    for (size_t s = 0; it->grads && s < it->n_slots; s++)
        if (it->grads[s].data) grad_release(it, &it->grads[s]);
}

void ecc_backward_release(ecc_interp *it) {
    grads_drop_all(it);
    free(it->grads);
    for (size_t i = 0; it->param_grads && i < it->n_params; i++) free(it->param_grads[i]);
    free(it->param_grads);
    for (size_t i = 0; i < it->n_gpool; i++) free(it->gpool[i].p);
    for (size_t i = 0; i < it->n_glive; i++) free(it->glive[i].p);
    free(it->gpool);
    free(it->glive);
}

/* A zeroed float tensor shaped like t. */
static ecc_status grad_new(ecc_ctx *ctx, ecc_interp *it, const ecc_rt_tensor *t,
                           ecc_rt_tensor *out) {
    memset(out, 0, sizeof *out);
    out->dtype = ECC_DTYPE_FLOAT;
    out->rank = t->rank;
    memcpy(out->dims, t->dims, sizeof out->dims);
    out->nbytes = (size_t)ecc_rt_numel(t) * sizeof(float);
    out->data = gmem_take(it, out->nbytes);
    if (!out->data) return ecc_ctx_error(ctx, ECC_E_INTERNAL, "out of memory for gradients");
    memset(out->data, 0, out->nbytes);
    return ECC_OK;
}

/* grads[s] += g; g's memory is taken over (pooled or moved). */
static void grad_accumulate(ecc_interp *it, int32_t s, ecc_rt_tensor *g) {
    ecc_rt_tensor *dst = &it->grads[s];
    if (!dst->data) {
        *dst = *g;
        memset(g, 0, sizeof *g);
        return;
    }
    float *d = dst->data;
    const float *x = g->data;
    int64_t n = ecc_rt_numel(dst);
    for (int64_t i = 0; i < n; i++) d[i] += x[i];
    grad_release(it, g);
}

/* ---------------- the reverse walk ---------------- */

ecc_status ecc_backward_scratch(ecc_kernel_ctx *k, size_t bytes, void **out) {
    if (bytes > (size_t)ECC_KERNEL_MAX_BYTES)
        return ecc_kernel_fail(k, "a buffer of %zu bytes is too large", bytes);
    if (k->n_scratch == k->cap_scratch) {
        size_t cap = k->cap_scratch ? 2 * k->cap_scratch : 8;
        void **p = realloc(k->scratch, cap * sizeof *p);
        if (!p) return ECC_OOM(k->ctx);
        k->scratch = p;
        k->cap_scratch = cap;
    }
    void *p = gmem_take(k->it, bytes);
    if (!p) return ecc_ctx_error(k->ctx, ECC_E_INTERNAL, "out of memory allocating %zu bytes",
                                 bytes);
    k->scratch[k->n_scratch++] = p;
    *out = p;
    return ECC_OK;
}

static void scratch_free(ecc_kernel_ctx *k) {
    for (size_t i = 0; i < k->n_scratch; i++) gmem_give(k->it, k->scratch[i]);
    free(k->scratch);
}

/* Argument arrays for one node's backward call, sized for the widest node
 * (it->max_args, from the interpreter's wiring). */
typedef struct bw_args {
    const ecc_rt_tensor **in, **out, **dout;
    ecc_rt_tensor **din_ptr;
    ecc_rt_tensor *din;
    ecc_rt_tensor *in_view, *out_view; /* what the kernel sees: data only if kept */
} bw_args;

static ecc_status args_alloc(ecc_ctx *ctx, const ecc_interp *it, bw_args *a) {
    size_t w = it->max_args ? it->max_args : 1;
    a->in = calloc(w, sizeof *a->in);
    a->out = calloc(w, sizeof *a->out);
    a->dout = calloc(w, sizeof *a->dout);
    a->din_ptr = calloc(w, sizeof *a->din_ptr);
    a->din = calloc(w, sizeof *a->din);
    a->in_view = calloc(w, sizeof *a->in_view);
    a->out_view = calloc(w, sizeof *a->out_view);
    if (!a->in || !a->out || !a->dout || !a->din_ptr || !a->din || !a->in_view || !a->out_view)
        return ECC_OOM(ctx);
    return ECC_OK;
}

static void args_free(bw_args *a) {
    free(a->in);
    free(a->out);
    free(a->dout);
    free(a->din_ptr);
    free(a->din);
    free(a->in_view);
    free(a->out_view);
}

static bool has_output_grad(const ecc_interp *it, const ecc_inode *in) {
    const ecc_node *n = in->node;
    for (uint32_t j = 0; j < n->n_outputs; j++) {
        int32_t s = it->io[in->io + n->n_inputs + j];
        if (s >= 0 && it->grads[s].data) return true;
    }
    return false;
}

/* din[j] for each float input that depends on a parameter; false if none. */
static ecc_status wanted_inputs(ecc_ctx *ctx, ecc_interp *it, const ecc_inode *in, bw_args *a,
                                bool *any) {
    const ecc_node *n = in->node;
    *any = false;
    for (uint32_t j = 0; j < n->n_inputs; j++) {
        int32_t s = it->io[in->io + j];
        a->in[j] = s >= 0 ? &it->slots[s].t : NULL;
        a->din_ptr[j] = NULL;
        memset(&a->din[j], 0, sizeof a->din[j]);
        if (s < 0 || !it->slots[s].needs_grad || it->slots[s].t.dtype != ECC_DTYPE_FLOAT)
            continue;
        ecc_status st = grad_new(ctx, it, &it->slots[s].t, &a->din[j]);
        if (st) return st;
        a->din_ptr[j] = &a->din[j];
        *any = true;
    }
    return ECC_OK;
}

/* The kernel's view of the node's tensors: shapes always, data only where
 * the row's saves rule keeps it (the rest may be freed or reused), so a
 * kernel reading more than its rule says fails loudly. */
static void set_views(ecc_interp *it, const ecc_inode *in, bw_args *a) {
    const ecc_node *n = in->node;
    ecc_saves saves = in->kern->saves;
    bool outs = reads_outputs(saves);
    for (uint32_t j = 0; j < n->n_inputs; j++) {
        int32_t s = it->io[in->io + j];
        if (s < 0) continue;
        a->in_view[j] = it->slots[s].t;
        if (!reads_input(it, in, saves, j)) a->in_view[j].data = NULL;
        a->in[j] = &a->in_view[j];
    }
    for (uint32_t j = 0; j < n->n_outputs; j++) {
        int32_t s = it->io[in->io + n->n_inputs + j];
        a->out[j] = NULL;
        a->dout[j] = s >= 0 && it->grads[s].data ? &it->grads[s] : NULL;
        if (s < 0) continue;
        a->out_view[j] = it->slots[s].t;
        if (!outs) a->out_view[j].data = NULL;
        a->out[j] = &a->out_view[j];
    }
}

static ecc_status call_kernel(ecc_ctx *ctx, ecc_interp *it, uint32_t pos, bw_args *a) {
    ecc_inode *in = &it->nodes[pos];
    const ecc_node *n = in->node;
    if (in->kern && in->kern->backward) set_views(it, in, a);
    ecc_kernel_ctx k = {.ctx = ctx, .it = it, .node = n, .pos = pos, .in_node = in,
                        .ins = a->in, .n_ins = n->n_inputs, .backward = true};
    ecc_status st;
    if (!in->kern || !in->kern->backward)
        st = ecc_kernel_fail(&k, "no gradient for %s", n->op_type);
    else
        st = in->kern->backward(&k, n, a->in, n->n_inputs, a->out, a->dout, n->n_outputs,
                                a->din_ptr);
    scratch_free(&k);
    return st;
}

/* LSQ for a learned activation scale: d loss / d s += sum_i g_i d out_i / d s,
 * scaled by 1/sqrt(features per sample * largest code). */
static void act_scale_grad(ecc_interp *it, const ecc_slot *sl, const ecc_rt_tensor *g) {
    int64_t n = ecc_rt_numel(g), per = g->rank > 0 && g->dims[0] > 0 ? n / g->dims[0] : n;
    const float *x = g->data;
    double sum = 0;
    for (int64_t i = 0; i < n; i++) sum += (double)x[i] * sl->lsq[i];
    ecc_qformat f = ecc_qformat_of(sl->act_q);
    int32_t lo, hi;
    ecc_qformat_range(&f, &lo, &hi);
    double k = 1.0 / sqrt((double)(per > 0 ? per : 1) * (double)hi);
    it->act_scale_grad[sl->act_scale] += (float)(sum * k);
}

static ecc_status backward_node(ecc_ctx *ctx, ecc_interp *it, uint32_t pos, bw_args *a) {
    ecc_status st = ECC_OK;
    const ecc_inode *in = &it->nodes[pos];
    const ecc_node *n = in->node;
    bool any = false;
    if (!has_output_grad(it, in)) return ECC_OK;
    for (uint32_t j = 0; j < n->n_outputs; j++) { /* straight through rounded outputs */
        int32_t s = it->io[in->io + n->n_inputs + j];
        if (s < 0 || !it->grads[s].data) continue;
        if (it->slots[s].act_scale >= 0) act_scale_grad(it, &it->slots[s], &it->grads[s]);
        if (it->slots[s].clip)
            ecc_act_grad(it->slots[s].clip, it->grads[s].data, ecc_rt_numel(&it->grads[s]));
    }
    ECC_TRY(wanted_inputs(ctx, it, in, a, &any));
    if (any) ECC_TRY(call_kernel(ctx, it, pos, a));
    for (uint32_t j = 0; j < n->n_inputs; j++)
        if (a->din_ptr[j]) grad_accumulate(it, it->io[in->io + j], &a->din[j]);
fail:
    for (uint32_t j = 0; j < n->n_inputs; j++)
        if (a->din[j].data) grad_release(it, &a->din[j]);
    for (uint32_t j = 0; j < n->n_outputs; j++) {
        int32_t s = it->io[in->io + n->n_inputs + j];
        if (s >= 0 && !it->slots[s].trainable && it->grads[s].data)
            grad_release(it, &it->grads[s]);
    }
    return st;
}

/* grads of the graph outputs from dout (checked against what the run made). */
static ecc_status seed_outputs(ecc_ctx *ctx, ecc_interp *it, const ecc_rt_tensor *const *dout) {
    ecc_status st = ECC_OK;
    for (size_t i = 0; i < it->n_outputs; i++) {
        const ecc_rt_tensor *d = dout ? dout[i] : NULL;
        int32_t s = it->outputs[i];
        const ecc_slot *sl = &it->slots[s];
        if (!d || !sl->needs_grad) continue;
        ECC_FAIL_IF(!sl->produced, ctx, ECC_E_USAGE, "backward: run the model first");
        bool same = d->dtype == ECC_DTYPE_FLOAT && d->rank == sl->t.rank &&
                    memcmp(d->dims, sl->t.dims, (size_t)d->rank * sizeof *d->dims) == 0;
        ECC_FAIL_IF(!same || !d->data, ctx, ECC_E_USAGE,
                    "backward: the gradient of output '%s' does not match its shape",
                    sl->v->name);
        ecc_rt_tensor g;
        ECC_TRY(grad_new(ctx, it, &sl->t, &g));
        memcpy(g.data, d->data, g.nbytes);
        grad_accumulate(it, s, &g);
    }
fail:
    return st;
}

static void collect_params(ecc_interp *it) {
    for (size_t i = 0; i < it->n_params; i++) {
        const ecc_rt_tensor *g = &it->grads[it->params[i]];
        size_t bytes = (size_t)ecc_rt_numel(&it->slots[it->params[i]].t) * sizeof(float);
        if (g->data) memcpy(it->param_grads[i], g->data, bytes);
        else memset(it->param_grads[i], 0, bytes);
        const ecc_slot *s = &it->slots[it->params[i]];
        if (s->scale_grad)
            ecc_wview_scale_grad(s->wview, s->copy, it->param_grads[i], s->scale_grad);
        if (s->wview) ecc_wview_grad(s->wview, s->copy, it->param_grads[i]);
    }
}

ecc_status ecc_interp_backward(ecc_ctx *ctx, ecc_interp *it, const ecc_rt_tensor *const *dout) {
    ecc_status st = ECC_OK;
    bw_args a = {0};
    int blas_threads = 0;
    ECC_FAIL_IF(!it->n_params, ctx, ECC_E_USAGE, "backward: the interpreter has no parameters");
    grads_drop_all(it);
    it->grad_bytes = 0;
    for (size_t i = 0; i < it->n_params; i++)
        it->grad_bytes += (size_t)ecc_rt_numel(&it->slots[it->params[i]].t) * sizeof(float);
    it->grad_peak = it->grad_bytes + it->gpool_bytes;
    if (it->n_act_scales) memset(it->act_scale_grad, 0, it->n_act_scales * sizeof(float));
    ECC_TRY(args_alloc(ctx, it, &a));
    ECC_TRY(seed_outputs(ctx, it, dout));
    blas_threads = ecc_blas_single(); /* as the forward run: the pool splits the work */
    for (uint32_t pos = (uint32_t)it->n_nodes; pos-- > 0;) ECC_TRY(backward_node(ctx, it, pos, &a));
    collect_params(it);
fail:
    ecc_blas_restore(blas_threads);
    grads_drop_all(it);
    args_free(&a);
    return st;
}
