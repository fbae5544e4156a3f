/* interp.c — the interpreter's planner and runner: node order, value slots,
 * input checks, kernel dispatch, the workspace plan and the services kernels
 * use (allocation, views, scratch, errors, the thread pool).
 *
 * Memory: initializers, Constant attributes and caller inputs are referenced
 * in place, except a float initializer carrying a pruning mask (ecc_mask):
 * it is bound to a masked copy the interpreter owns (the model's tensor is
 * never written), so a run sees the weights lowering will produce.
 * Activations are sized by the kernels at run time. The first run for an
 * input shape signature records every allocation (malloc'd, freed at
 * its last use, so that run's peak is the live set too); the plan then lays
 * the recorded buffers out in one arena by lifetime (greedy by size) and
 * later runs with the same signature reuse that arena. An allocation that
 * does not match the plan (data-dependent shapes) gets its own memory and
 * marks the plan stale; the next run records again. Graph outputs and kept
 * values are never reused. */
#include "interp_internal.h"
#include "op_traits.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Data pointer for empty tensors that came without one. */
static uint64_t ecc_empty_data[1];
/* Options struct from a caller that may be older: is `field` inside it? */
#define ECC_OPT_HAS(o, field)                                                            \
    ((o)->struct_size >= offsetof(ecc_interp_options, field) + sizeof((o)->field))

/* ================= thread pool ================= */

/* Workers and the caller spin a little (ECC_POOL_SPIN pause instructions,
 * about 35 us on the 2-core test machine) before they sleep on a condition
 * variable: a model runs many short regions back to back, and a futex wake
 * per region costs as much as a small GEMM. Spinning longer wins nothing
 * when idle and loses badly when another process holds a core (20,000
 * polls made the CNN's eval 1.6x slower beside a busy loop). gen and
 * remaining are written under mu and polled without it. */
#define ECC_POOL_SPIN 1000

struct ecc_pool {
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    pthread_t *th;
    int n;                /* worker threads (threads - 1) */
    _Atomic uint64_t gen;
    _Atomic int remaining;
    bool quit;
    ecc_par_fn fn;
    void *arg;
    int64_t total;
    int chunks;
};

typedef struct ecc_worker_arg {
    ecc_pool *p;
    int tid;
} ecc_worker_arg;

static void ecc_chunk(int64_t n, int chunks, int c, int64_t *b, int64_t *e) {
    *b = n * c / chunks;
    *e = n * (c + 1) / chunks;
}

static inline void ecc_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void *ecc_pool_main(void *arg_) {
    ecc_worker_arg wa = *(ecc_worker_arg *)arg_;
    free(arg_);
    ecc_pool *p = wa.p;
    uint64_t seen = 0;
    for (;;) {
        for (int i = 0; i < ECC_POOL_SPIN && atomic_load(&p->gen) == seen; i++) ecc_cpu_relax();
        pthread_mutex_lock(&p->mu);
        while (!p->quit && p->gen == seen) pthread_cond_wait(&p->wake, &p->mu);
        if (p->quit) break;
        seen = p->gen;
        ecc_par_fn fn = p->fn;
        void *a = p->arg;
        int64_t total = p->total;
        int chunks = p->chunks;
        pthread_mutex_unlock(&p->mu);
        if (wa.tid < chunks) {
            int64_t b, e;
            ecc_chunk(total, chunks, wa.tid, &b, &e);
            if (b < e) fn(a, b, e, wa.tid);
        }
        pthread_mutex_lock(&p->mu);
        if (--p->remaining == 0) pthread_cond_signal(&p->done);
        pthread_mutex_unlock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void ecc_pool_free(ecc_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->quit = true;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n; i++) pthread_join(p->th[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    free(p->th);
    free(p);
}

/* threads >= 2; on failure the interpreter runs single-threaded. */
static ecc_pool *ecc_pool_create(int threads) {
    ecc_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->th = calloc((size_t)threads, sizeof *p->th);
    if (!p->th) {
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    for (int i = 1; i < threads; i++) {
        ecc_worker_arg *wa = malloc(sizeof *wa);
        if (!wa) break;
        wa->p = p;
        wa->tid = i;
        if (pthread_create(&p->th[p->n], NULL, ecc_pool_main, wa) != 0) {
            free(wa);
            break;
        }
        p->n++;
    }
    if (p->n == 0) {
        ecc_pool_free(p);
        return NULL;
    }
    return p;
}

static void ecc_pool_run(ecc_pool *p, int64_t n, ecc_par_fn fn, void *arg) {
    int chunks = p->n + 1;
    if (n < chunks) chunks = (int)n;
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->arg = arg;
    p->total = n;
    p->chunks = chunks;
    p->remaining = p->n;
    p->gen++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    int64_t b, e;
    ecc_chunk(n, chunks, 0, &b, &e);
    if (b < e) fn(arg, b, e, 0);
    for (int i = 0; i < ECC_POOL_SPIN && atomic_load(&p->remaining) > 0; i++) ecc_cpu_relax();
    pthread_mutex_lock(&p->mu);
    while (p->remaining > 0) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

/* Below this much work a parallel region costs more than it saves. */
#define ECC_PAR_WORK_MIN ((int64_t)1 << 14)

void ecc_kernel_parallel(ecc_kernel_ctx *k, int64_t n, int64_t work, ecc_par_fn fn, void *arg) {
    ecc_pool *p = k->it->pool;
    if (n <= 0) return;
    if (!p || n == 1 || work < ECC_PAR_WORK_MIN) {
        fn(arg, 0, n, 0);
        return;
    }
    ecc_pool_run(p, n, fn, arg);
}

/* ================= kernel services ================= */

const char *ecc_node_label(const ecc_node *n) {
    if (n->name && n->name[0]) return n->name;
    for (uint32_t i = 0; i < n->n_outputs; i++)
        if (n->outputs[i]) return n->outputs[i]->name;
    return "?";
}

ecc_status ecc_kernel_fail(ecc_kernel_ctx *k, const char *fmt, ...) {
    char detail[ECC_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return ecc_ctx_error(k->ctx, ECC_E_INPUT, "node '%s' (%s): %s", ecc_node_label(k->node),
                         k->node->op_type, detail);
}

ecc_ctx *ecc_kernel_ectx(const ecc_kernel_ctx *k) { return k->ctx; }
const ecc_node *ecc_kernel_node(const ecc_kernel_ctx *k) { return k->node; }
int64_t ecc_kernel_opset(const ecc_kernel_ctx *k) { return k->it->opset; }
int ecc_kernel_threads(const ecc_kernel_ctx *k) { return k->it->threads; }


/* Output index of out, or -1. */
static int32_t ecc_out_index(const ecc_kernel_ctx *k, const ecc_rt_tensor *out) {
    for (size_t j = 0; j < k->n_outs; j++)
        if (k->outs[j] == out) return (int32_t)j;
    return -1;
}

static ecc_slot *ecc_out_slot(ecc_kernel_ctx *k, int32_t j) {
    int32_t s = k->it->io[k->in_node->io + k->node->n_inputs + (uint32_t)j];
    return s >= 0 ? &k->it->slots[s] : NULL;
}

static ecc_status ecc_grow(ecc_ctx *ctx, void **items, size_t *cap, size_t need, size_t size) {
    if (need <= *cap) return ECC_OK;
    size_t ncap = *cap ? *cap * 2 : 16;
    while (ncap < need) ncap *= 2;
    void *p = realloc(*items, ncap * size);
    if (!p) return ECC_OOM(ctx);
    *items = p;
    *cap = ncap;
    return ECC_OK;
}

static ecc_status ecc_fallback_alloc(ecc_kernel_ctx *k, size_t bytes, void **out) {
    ecc_interp *it = k->it;
    ecc_status st = ecc_grow(k->ctx, (void **)&it->fallback, &it->cap_fallback,
                             it->n_fallback + 1, sizeof *it->fallback);
    if (st) return st;
    void *p = aligned_alloc(ECC_ALIGN, ecc_align_up(bytes ? bytes : 1));
    if (!p) return ecc_ctx_error(k->ctx, ECC_E_INTERNAL, "out of memory allocating %zu bytes",
                                 bytes);
    it->fallback[it->n_fallback++] = p;
    it->fallback_bytes += bytes;
    it->live_bytes += bytes;
    it->stale = true;
    *out = p;
    return ECC_OK;
}

/* Record mode: a new buffer of `bytes`, live from now. */
static ecc_status ecc_record_alloc(ecc_kernel_ctx *k, size_t bytes, int32_t out_slot,
                                   int32_t *buf, void **mem) {
    ecc_interp *it = k->it;
    ecc_status st = ecc_grow(k->ctx, (void **)&it->bufs, &it->cap_bufs, it->n_bufs + 1,
                             sizeof *it->bufs);
    if (!st) st = ecc_grow(k->ctx, (void **)&it->recs, &it->cap_recs, it->n_recs + 1,
                           sizeof *it->recs);
    if (st) return st;
    size_t size = ecc_align_up(bytes ? bytes : 1);
    void *p = aligned_alloc(ECC_ALIGN, size);
    if (!p) return ecc_ctx_error(k->ctx, ECC_E_INTERNAL, "out of memory allocating %zu bytes",
                                 bytes);
    ecc_buffer *b = &it->bufs[it->n_bufs];
    memset(b, 0, sizeof *b);
    it->live_bytes += size;
    b->size = size;
    b->first = b->last = k->pos;
    b->mem = p;
    it->recs[it->n_recs++] = (ecc_alloc_rec){.buf = (int32_t)it->n_bufs, .out_slot = out_slot,
                                             .size = size};
    k->in_node->plan_n++;
    *buf = (int32_t)it->n_bufs++;
    *mem = p;
    return ECC_OK;
}

/* Planned mode: does the next recorded allocation of this node match? */
static bool ecc_plan_fits(const ecc_kernel_ctx *k, size_t bytes, int32_t out_slot) {
    const ecc_inode *in = k->in_node;
    if (k->n_allocs >= in->plan_n) return false;
    const ecc_alloc_rec *r = &k->it->recs[in->plan_off + k->n_allocs];
    return r->out_slot == out_slot && r->size >= bytes;
}

/* Planned mode: the next recorded allocation of this node if it matches. */
static bool ecc_plan_take(ecc_kernel_ctx *k, size_t bytes, int32_t out_slot, int32_t *buf,
                          void **mem) {
    ecc_interp *it = k->it;
    ecc_inode *in = k->in_node;
    if (k->n_allocs >= in->plan_n) return false;
    const ecc_alloc_rec *r = &it->recs[in->plan_off + k->n_allocs];
    if (r->out_slot != out_slot || r->size < bytes) return false;
    *buf = r->buf;
    *mem = it->arena + it->bufs[r->buf].offset;
    return true;
}

static ecc_status ecc_get_memory(ecc_kernel_ctx *k, size_t bytes, int32_t out_slot,
                                 int32_t *buf, void **mem) {
    ecc_status st = ECC_OK;
    ecc_interp *it = k->it;
    if (bytes > (size_t)ECC_KERNEL_MAX_BYTES)
        return ecc_kernel_fail(k, "a buffer of %zu bytes is too large", bytes);
    bool fits = it->recording ? true : ecc_plan_fits(k, bytes, out_slot);
    if (!fits && it->live_bytes + it->arena_size + bytes > it->mem_limit)
        return ecc_kernel_fail(k, "activations would need more than %zu bytes (half the RAM)",
                               it->mem_limit);
    if (it->recording && it->live_bytes + bytes > it->mem_limit)
        return ecc_kernel_fail(k, "activations would need more than %zu bytes (half the RAM)",
                               it->mem_limit);
    if (k->it->recording) {
        st = ecc_record_alloc(k, bytes, out_slot, buf, mem);
    } else if (!ecc_plan_take(k, bytes, out_slot, buf, mem)) {
        *buf = ECC_BUF_FALLBACK;
        st = ecc_fallback_alloc(k, bytes, mem);
    }
    k->n_allocs++;
    return st;
}

static ecc_status ecc_set_dims(ecc_kernel_ctx *k, ecc_rt_tensor *out, int32_t dtype,
                               int32_t rank, const int64_t *dims, size_t *bytes) {
    if (rank < 0 || rank > ECC_MAX_RANK)
        return ecc_kernel_fail(k, "output rank %d exceeds the interpreter's limit of %d",
                               (int)rank, ECC_MAX_RANK);
    int64_t numel = 1;
    for (int32_t i = 0; i < rank; i++) {
        if (dims[i] < 0)
            return ecc_kernel_fail(k, "negative output dimension %lld", (long long)dims[i]);
        if (!ecc_mul_i64(numel, dims[i], &numel))
            return ecc_kernel_fail(k, "output size overflows");
    }
    if (!ecc_dtype_nbytes(dtype, numel, bytes) || (int64_t)*bytes > ECC_KERNEL_MAX_BYTES)
        return ecc_kernel_fail(k, "output of %lld %s elements is too large or not storable",
                               (long long)numel, ecc_dtype_name(dtype));
    if (rank) memmove(out->dims, dims, (size_t)rank * sizeof *dims);
    out->dtype = dtype;
    out->rank = rank;
    out->nbytes = *bytes;
    return ECC_OK;
}

/* Bookkeeping once output j holds memory of buffer buf. */
static void ecc_mark_produced(ecc_kernel_ctx *k, int32_t j, int32_t buf) {
    ecc_slot *s = ecc_out_slot(k, j);
    if (!s) return;
    s->buf = buf;
    s->produced = true;
    if (k->it->recording && buf >= 0) {
        ecc_buffer *b = &k->it->bufs[buf];
        b->pending += s->n_uses;
        if (s->pinned) b->pinned = true;
    }
}

ecc_status ecc_kernel_alloc(ecc_kernel_ctx *k, ecc_rt_tensor *out, int32_t dtype, int32_t rank,
                            const int64_t *dims) {
    if (k->backward) return ecc_ctx_error(k->ctx, ECC_E_INTERNAL, "backward kernel allocated");
    int32_t j = ecc_out_index(k, out);
    if (j < 0) return ecc_ctx_error(k->ctx, ECC_E_INTERNAL, "kernel allocated a non-output");
    size_t bytes;
    ecc_status st = ecc_set_dims(k, out, dtype, rank, dims, &bytes);
    if (st) return st;
    int32_t buf = ECC_BUF_NONE;
    void *mem = NULL;
    st = ecc_get_memory(k, bytes, j, &buf, &mem);
    if (st) return st;
    out->data = mem;
    ecc_mark_produced(k, j, buf);
    return ECC_OK;
}

ecc_status ecc_kernel_scratch(ecc_kernel_ctx *k, size_t bytes, void **out) {
    int32_t buf = ECC_BUF_NONE;
    if (k->backward) return ecc_backward_scratch(k, bytes, out);
    return ecc_get_memory(k, bytes, -1, &buf, out);
}

static ecc_status ecc_alias_copy(ecc_kernel_ctx *k, ecc_rt_tensor *out, const void *src,
                                 int32_t dtype, int32_t rank, const int64_t *dims) {
    ecc_status st = ecc_kernel_alloc(k, out, dtype, rank, dims);
    if (st == ECC_OK && out->nbytes) memcpy(out->data, src, out->nbytes);
    return st;
}

ecc_status ecc_kernel_alias(ecc_kernel_ctx *k, ecc_rt_tensor *out, size_t in_index,
                            int32_t rank, const int64_t *dims) {
    int32_t j = ecc_out_index(k, out);
    if (j < 0 || in_index >= k->n_ins || !k->ins[in_index])
        return ecc_ctx_error(k->ctx, ECC_E_INTERNAL, "bad kernel view");
    const ecc_rt_tensor *src = k->ins[in_index];
    const ecc_slot *is = &k->it->slots[k->it->io[k->in_node->io + in_index]];
    ecc_slot *os = ecc_out_slot(k, j);
    int32_t *rec = &k->it->out_alias[k->in_node->io + k->node->n_inputs + (uint32_t)j];
    size_t bytes;
    ecc_rt_tensor tmp;
    memset(&tmp, 0, sizeof tmp);
    ecc_status st = ecc_set_dims(k, &tmp, src->dtype, rank, dims, &bytes);
    if (st) return st;
    if (bytes != src->nbytes)
        return ecc_ctx_error(k->ctx, ECC_E_INTERNAL, "kernel view changes the byte size");
    bool view = !os->pinned && !os->own_data;
    if (view && !k->it->recording && is->buf >= 0) view = *rec == is->buf;
    if (!view) return ecc_alias_copy(k, out, src->data, src->dtype, rank, dims);
    *out = tmp;
    out->data = src->data;
    if (k->it->recording) *rec = is->buf;
    ecc_mark_produced(k, j, is->buf);
    return ECC_OK;
}

ecc_status ecc_kernel_const(ecc_kernel_ctx *k, ecc_rt_tensor *out, const void *data,
                            int32_t dtype, int32_t rank, const int64_t *dims) {
    int32_t j = ecc_out_index(k, out);
    if (j < 0) return ecc_ctx_error(k->ctx, ECC_E_INTERNAL, "bad kernel constant");
    ecc_slot *os = ecc_out_slot(k, j);
    if (!data) data = ecc_empty_data;
    if (os->pinned || os->own_data) return ecc_alias_copy(k, out, data, dtype, rank, dims);
    size_t bytes;
    ecc_status st = ecc_set_dims(k, out, dtype, rank, dims, &bytes);
    if (st) return st;
    if (bytes && data == ecc_empty_data)
        return ecc_ctx_error(k->ctx, ECC_E_INTERNAL, "constant without data");
    out->data = (void *)data;
    ecc_mark_produced(k, j, ECC_BUF_EXTERNAL);
    return ECC_OK;
}

/* ================= create ================= */

static bool ecc_is_default_domain(const char *d) {
    return !d || !d[0] || strcmp(d, "ai.onnx") == 0;
}

static ecc_status ecc_index_values(ecc_ctx *ctx, ecc_interp *it) {
    ecc_status st = ECC_OK;
    const ecc_graph *g = it->g;
    uint32_t max_id = 0;
    for (size_t i = 0; i < g->values.n; i++) {
        const ecc_value *v = g->values.items[i];
        if (v->id > max_id) max_id = v->id;
    }
    it->n_ids = max_id + 1;
    it->slot_of_id = malloc(it->n_ids * sizeof *it->slot_of_id);
    it->slots = calloc(g->values.n + 1, sizeof *it->slots);
    ECC_FAIL_IF(!it->slot_of_id || !it->slots, ctx, ECC_E_INTERNAL, "out of memory");
    for (uint32_t i = 0; i < it->n_ids; i++) it->slot_of_id[i] = -1;
    for (size_t i = 0; i < g->values.n; i++) {
        const ecc_value *v = g->values.items[i];
        ECC_FAIL_IF(it->slot_of_id[v->id] >= 0, ctx, ECC_E_INTERNAL,
                    "two values share id %u", v->id);
        it->slot_of_id[v->id] = (int32_t)i;
        it->slots[i].v = v;
        it->slots[i].buf = ECC_BUF_NONE;
    }
    it->n_slots = g->values.n;
fail:
    return st;
}

static int32_t ecc_slot_of(const ecc_interp *it, const ecc_value *v) {
    if (!v || v->graph != it->g || v->id >= it->n_ids) return -1;
    return it->slot_of_id[v->id];
}

/* A float initializer read through a view (weight_view.h): s->copy gets the
 * weights with the mask applied, as lowering will make them; a quantizer the
 * run simulates stays open in s->wview until the parameters are known
 * (ecc_finish_views). Otherwise the stored tensor is read in place. */
static ecc_status ecc_view_initializer(ecc_ctx *ctx, const ecc_interp *it, ecc_slot *s) {
    const ecc_tensor *t = s->v->init;
    ecc_wview w;
    bool active;
    ecc_status st = ecc_wview_open(ctx, s->v, it->fake_quant, &w, &active);
    if (st || !active) return st;
    s->copy = malloc(t->nbytes + 1);
    if (ecc_wview_quantizes(&w) && s->copy) s->wview = malloc(sizeof w);
    if (!s->copy || (ecc_wview_quantizes(&w) && !s->wview)) {
        ecc_wview_close(&w);
        return ECC_OOM(ctx);
    }
    ecc_wview_mask(&w, t->data, s->copy);
    if (s->wview) *s->wview = w;
    else ecc_wview_close(&w);
    return ECC_OK;
}

/* A trained weight's scales become parameters: the view reads s->scale. */
static bool ecc_learn_scales(ecc_slot *s) {
    s->n_scale = ecc_wview_groups(s->wview);
    s->scale = malloc((size_t)s->n_scale * sizeof *s->scale + 1);
    s->scale_grad = calloc((size_t)s->n_scale + 1, sizeof *s->scale_grad);
    if (!s->scale || !s->scale_grad) return false;
    memcpy(s->scale, s->wview->scale, (size_t)s->n_scale * sizeof *s->scale);
    s->wview->scale = s->scale;
    return true;
}

/* Once the parameters are known: a trained weight with a simulated
 * quantizer is read from s->view, rebuilt from its float copy each run; any
 * other is quantized in place once. */
static ecc_status ecc_finish_views(ecc_ctx *ctx, ecc_interp *it) {
    for (size_t i = 0; i < it->n_slots; i++) {
        ecc_slot *s = &it->slots[i];
        if (!s->wview) continue;
        if (s->trainable) {
            s->view = malloc(s->t.nbytes + 1);
            if (!s->view) return ECC_OOM(ctx);
            s->t.data = s->view;
            if (it->learn_scales && !ecc_learn_scales(s)) return ECC_OOM(ctx);
            continue;
        }
        ecc_wview_read(s->wview, s->copy, s->copy);
        ecc_wview_close(s->wview);
        free(s->wview);
        s->wview = NULL;
    }
    return ECC_OK;
}

/* learn_scales: the learned scale of quantizer q, one per scale tensor (tied
 * values share it), appended on first sight. */
static int32_t ecc_act_scale_of(ecc_interp *it, const ecc_quantizer *q) {
    for (size_t k = 0; k < it->n_act_scales; k++)
        if (it->act_scale_q[k]->scale == q->scale) return (int32_t)k;
    size_t k = it->n_act_scales++;
    it->act_scale_q[k] = q;
    it->act_scale[k] = ((const float *)q->scale->data)[0];
    return (int32_t)k;
}

/* With fake_quant: float activations and graph inputs whose quantizer the
 * run can simulate are rounded as produced, in memory of their own. */
static ecc_status ecc_bind_act_quant(ecc_ctx *ctx, ecc_interp *it) {
    if (it->learn_scales) {
        it->act_scale = calloc(it->n_slots + 1, sizeof *it->act_scale);
        it->act_scale_grad = calloc(it->n_slots + 1, sizeof *it->act_scale_grad);
        it->act_scale_q = calloc(it->n_slots + 1, sizeof *it->act_scale_q);
        if (!it->act_scale || !it->act_scale_grad || !it->act_scale_q) return ECC_OOM(ctx);
    }
    for (size_t i = 0; i < it->n_slots; i++) {
        ecc_slot *s = &it->slots[i];
        s->act_scale = -1;
        if (!it->fake_quant || s->v->init || !ecc_act_quantizable(s->v->quant)) continue;
        s->act_q = s->v->quant;
        s->own_data = true;
        if (it->learn_scales && s->needs_grad) s->act_scale = ecc_act_scale_of(it, s->act_q);
    }
    return ECC_OK;
}

static ecc_status ecc_bind_initializer(ecc_ctx *ctx, const ecc_interp *it, ecc_slot *s) {
    const ecc_tensor *t = s->v->init;
    if (t->rank > ECC_MAX_RANK)
        return ecc_ctx_error(ctx, ECC_E_INPUT,
                             "initializer '%s' has rank %d; the interpreter supports up to %d",
                             s->v->name, (int)t->rank, ECC_MAX_RANK);
    ecc_status st = ecc_view_initializer(ctx, it, s);
    if (st) return st;
    s->t.dtype = t->dtype;
    s->t.rank = t->rank;
    for (int32_t d = 0; d < t->rank; d++) s->t.dims[d] = t->dims[d];
    s->t.data = s->copy ? s->copy : t->data;
    s->t.nbytes = t->nbytes;
    s->is_const = s->produced = true;
    s->buf = ECC_BUF_EXTERNAL;
    return ECC_OK;
}

static ecc_status ecc_bind_graph_io(ecc_ctx *ctx, ecc_interp *it) {
    ecc_status st = ECC_OK;
    const ecc_graph *g = it->g;
    it->inputs = calloc(g->inputs.n + 1, sizeof *it->inputs);
    it->outputs = calloc(g->outputs.n + 1, sizeof *it->outputs);
    ECC_FAIL_IF(!it->inputs || !it->outputs, ctx, ECC_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < it->n_slots; i++)
        if (it->slots[i].v->init) ECC_TRY(ecc_bind_initializer(ctx, it, &it->slots[i]));
    for (size_t i = 0; i < g->inputs.n; i++) {
        const ecc_value *v = g->inputs.items[i];
        int32_t s = ecc_slot_of(it, v);
        ECC_FAIL_IF(s < 0, ctx, ECC_E_INPUT, "graph input %zu is not a value of the graph", i);
        if (v->init) continue; /* an initializer listed as input: its default is used */
        it->slots[s].is_input = true;
        it->inputs[it->n_inputs++] = s;
    }
    for (size_t i = 0; i < g->outputs.n; i++) {
        const ecc_value *v = g->outputs.items[i];
        int32_t s = ecc_slot_of(it, v);
        ECC_FAIL_IF(s < 0, ctx, ECC_E_INPUT, "graph output %zu is not a value of the graph", i);
        ECC_FAIL_IF(!v->producer && !v->init && !it->slots[s].is_input, ctx, ECC_E_INPUT,
                    "graph output '%s' is never produced", v->name);
        it->slots[s].pinned = true;
        it->outputs[it->n_outputs++] = s;
    }
fail:
    return st;
}

/* The slots of a NULL-terminated list of value names (`what` names the list
 * in errors): *out is malloc'd with *n entries. */
static ecc_status ecc_slots_named(ecc_ctx *ctx, ecc_interp *it, const char *const *names,
                                  const char *what, int32_t **out, size_t *n) {
    ecc_status st = ECC_OK;
    size_t count = 0;
    while (names && names[count]) count++;
    *n = 0;
    *out = calloc(count + 1, sizeof **out);
    ECC_FAIL_IF(!*out, ctx, ECC_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < count; i++) {
        int32_t s = ecc_slot_of(it, ecc_graph_find(it->g, names[i]));
        ECC_FAIL_IF(s < 0, ctx, ECC_E_USAGE, "%s: the model has no value named '%s'", what,
                    names[i]);
        (*out)[(*n)++] = s;
    }
fail:
    return st;
}

static ecc_status ecc_bind_keep(ecc_ctx *ctx, ecc_interp *it, const char *const *keep) {
    ecc_status st = ecc_slots_named(ctx, it, keep, "keep", &it->kept, &it->n_kept);
    for (size_t i = 0; !st && i < it->n_kept; i++) it->slots[it->kept[i]].pinned = true;
    return st;
}

/* Training parameters: each named float32 initializer reads from a copy the
 * interpreter owns (the masked copy when it has a mask). */
static ecc_status ecc_bind_params(ecc_ctx *ctx, ecc_interp *it, const char *const *names) {
    ecc_status st = ECC_OK;
    ECC_TRY(ecc_slots_named(ctx, it, names, "params", &it->params, &it->n_params));
    for (size_t i = 0; i < it->n_params; i++) {
        ecc_slot *sl = &it->slots[it->params[i]];
        const char *name = sl->v->name;
        ECC_FAIL_IF(!sl->v->init, ctx, ECC_E_USAGE, "params: '%s' is not an initializer", name);
        ECC_FAIL_IF(sl->t.dtype != ECC_DTYPE_FLOAT, ctx, ECC_E_USAGE,
                    "params: '%s' is %s; only float32 weights train", name,
                    ecc_dtype_name(sl->t.dtype));
        ECC_FAIL_IF(sl->trainable, ctx, ECC_E_USAGE, "params: '%s' is named twice", name);
        if (!sl->copy) {
            sl->copy = malloc(sl->t.nbytes + 1);
            ECC_FAIL_IF(!sl->copy, ctx, ECC_E_INTERNAL, "out of memory");
            memcpy(sl->copy, sl->t.data, sl->t.nbytes);
            sl->t.data = sl->copy;
        }
        sl->trainable = sl->needs_grad = true;
    }
fail:
    return st;
}

/* keep_all: no activation is reused (the reference training is checked against). */
static void ecc_keep_all(ecc_interp *it) {
    for (size_t i = 0; i < it->n_slots; i++)
        if (it->slots[i].v->producer) it->slots[i].pinned = true;
}

/* Kahn's algorithm over the main graph; ties keep file order. */
static ecc_status ecc_order_nodes(ecc_ctx *ctx, ecc_interp *it) {
    ecc_status st = ECC_OK;
    const ecc_graph *g = it->g;
    size_t n = g->nodes.n;
    uint32_t *missing = calloc(n + 1, sizeof *missing);
    size_t *queue = calloc(n + 1, sizeof *queue);
    uint32_t max_node_id = 0;
    for (size_t i = 0; i < n; i++) {
        const ecc_node *nd = g->nodes.items[i];
        if (nd->id > max_node_id) max_node_id = nd->id;
    }
    int32_t *index_of_node = malloc(((size_t)max_node_id + 1) * sizeof *index_of_node);
    int32_t *index_of_slot = malloc((it->n_slots + 1) * sizeof *index_of_slot);
    it->nodes = calloc(n + 1, sizeof *it->nodes);
    ECC_FAIL_IF(!missing || !queue || !index_of_slot || !index_of_node || !it->nodes, ctx,
                ECC_E_INTERNAL, "out of memory");
    for (size_t i = 0; i <= it->n_slots; i++) index_of_slot[i] = -1;
    for (size_t i = 0; i <= max_node_id; i++) index_of_node[i] = -1;
    for (size_t i = 0; i < n; i++) {
        const ecc_node *nd = g->nodes.items[i];
        ECC_FAIL_IF(index_of_node[nd->id] >= 0, ctx, ECC_E_INTERNAL, "two nodes share id %u",
                    nd->id);
        index_of_node[nd->id] = (int32_t)i;
    }
    for (size_t i = 0; i < n; i++) {
        const ecc_node *nd = g->nodes.items[i];
        for (uint32_t j = 0; j < nd->n_outputs; j++) {
            int32_t s = ecc_slot_of(it, nd->outputs[j]);
            if (nd->outputs[j] && s < 0)
                ECC_FAIL_IF(true, ctx, ECC_E_INPUT, "node '%s' (%s): output %u is not a value "
                            "of the graph", ecc_node_label(nd), nd->op_type, j);
            if (s < 0) continue;
            ECC_FAIL_IF(index_of_slot[s] >= 0 || it->slots[s].is_const ||
                            it->slots[s].is_input,
                        ctx, ECC_E_INPUT, "value '%s' is defined more than once",
                        nd->outputs[j]->name);
            index_of_slot[s] = (int32_t)i;
        }
    }
    for (size_t i = 0; i < n; i++) {
        const ecc_node *nd = g->nodes.items[i];
        for (uint32_t j = 0; j < nd->n_inputs; j++) {
            const ecc_value *v = nd->inputs[j];
            if (!v) continue;
            int32_t s = ecc_slot_of(it, v);
            ECC_FAIL_IF(s < 0, ctx, ECC_E_INPUT,
                        "node '%s' (%s): input '%s' comes from an enclosing graph",
                        ecc_node_label(nd), nd->op_type, v->name);
            if (index_of_slot[s] >= 0) missing[i]++;
            else
                ECC_FAIL_IF(!it->slots[s].is_const && !it->slots[s].is_input, ctx,
                            ECC_E_INPUT, "node '%s' (%s): input '%s' is never defined",
                            ecc_node_label(nd), nd->op_type, v->name);
        }
    }
    size_t head = 0, tail = 0;
    for (size_t i = 0; i < n; i++)
        if (!missing[i]) queue[tail++] = i;
    while (head < tail) {
        const ecc_node *nd = g->nodes.items[queue[head++]];
        it->nodes[it->n_nodes++].node = nd;
        for (uint32_t j = 0; j < nd->n_outputs; j++) {
            const ecc_value *v = nd->outputs[j];
            if (!v) continue;
            for (uint32_t u = 0; u < v->n_uses; u++) {
                const ecc_node *c = v->uses[u].node;
                if (!c || c->graph != g || v->uses[u].slot == ECC_SLOT_CAPTURE) continue;
                if (c->id > max_node_id || index_of_node[c->id] < 0) continue;
                size_t ci = (size_t)index_of_node[c->id];
                if (missing[ci] > 0 && --missing[ci] == 0) queue[tail++] = ci;
            }
        }
    }
    for (size_t i = 0; i < n && it->n_nodes < n; i++) {
        const ecc_node *nd = g->nodes.items[i];
        ECC_FAIL_IF(missing[i] > 0, ctx, ECC_E_INPUT,
                    "node '%s' (%s) is on a cycle or reads a value that is never produced",
                    ecc_node_label(nd), nd->op_type);
    }
fail:
    free(missing);
    free(queue);
    free(index_of_slot);
    free(index_of_node);
    return st;
}

/* Slot table per node (inputs then outputs) and use counts. */
static ecc_status ecc_wire_nodes(ecc_ctx *ctx, ecc_interp *it) {
    ecc_status st = ECC_OK;
    size_t total = 0;
    for (size_t i = 0; i < it->n_nodes; i++)
        total += (size_t)it->nodes[i].node->n_inputs + it->nodes[i].node->n_outputs;
    uint32_t max_in = 0, max_out = 0;
    for (size_t i = 0; i < it->n_nodes; i++) {
        const ecc_node *nd = it->nodes[i].node;
        if (nd->n_inputs > max_in) max_in = nd->n_inputs;
        if (nd->n_outputs > max_out) max_out = nd->n_outputs;
    }
    it->max_args = max_in > max_out ? max_in : max_out;
    it->n_io = total;
    it->io = malloc((total + 1) * sizeof *it->io);
    it->out_alias = malloc((total + 1) * sizeof *it->out_alias);
    it->in_ptrs = calloc((size_t)max_in + 1, sizeof *it->in_ptrs);
    it->out_ptrs = calloc((size_t)max_out + 1, sizeof *it->out_ptrs);
    ECC_FAIL_IF(!it->io || !it->out_alias || !it->in_ptrs || !it->out_ptrs, ctx,
                ECC_E_INTERNAL, "out of memory");
    uint32_t at = 0;
    for (size_t i = 0; i < it->n_nodes; i++) {
        const ecc_node *nd = it->nodes[i].node;
        it->nodes[i].io = at;
        for (uint32_t j = 0; j < nd->n_inputs; j++, at++) {
            it->io[at] = ecc_slot_of(it, nd->inputs[j]);
            it->out_alias[at] = ECC_BUF_NONE;
            if (it->io[at] >= 0) it->slots[it->io[at]].n_uses++;
        }
        for (uint32_t j = 0; j < nd->n_outputs; j++, at++) {
            it->io[at] = ecc_slot_of(it, nd->outputs[j]);
            it->out_alias[at] = ECC_BUF_NONE;
        }
    }
fail:
    return st;
}

static bool ecc_has_subgraph(const ecc_node *n) {
    for (uint32_t i = 0; i < n->n_attrs; i++)
        if (n->attrs[i].type == ECC_ATTR_GRAPH || n->attrs[i].type == ECC_ATTR_GRAPHS)
            return true;
    return false;
}

/* Every node must have a kernel before anything runs. */
static ecc_status ecc_check_kernels(ecc_ctx *ctx, ecc_interp *it) {
    for (size_t i = 0; i < it->n_nodes; i++) {
        const ecc_node *n = it->nodes[i].node;
        const char *label = ecc_node_label(n);
        if (!ecc_is_default_domain(n->domain))
            return ecc_ctx_error(ctx, ECC_E_INPUT, "node '%s' (%s): no kernel for %s::%s",
                                 label, n->op_type, n->domain, n->op_type);
        if (ecc_has_subgraph(n))
            return ecc_ctx_error(ctx, ECC_E_INPUT,
                                 "node '%s' (%s): ops with subgraphs (If, Loop, Scan) are not "
                                 "supported by the interpreter",
                                 label, n->op_type);
        if (it->opset <= 0)
            return ecc_ctx_error(ctx, ECC_E_INPUT, "node '%s' (%s): the model imports no "
                                 "ai.onnx opset", label, n->op_type);
        const ecc_value *first = NULL;
        for (uint32_t j = 0; j < n->n_inputs && !first; j++) first = n->inputs[j];
        int32_t dt = first ? first->dtype : 0;
        if (dt && !ecc_kernel_find(n->op_type, dt, it->opset))
            return ecc_ctx_error(ctx, ECC_E_INPUT, "node '%s' (%s): no kernel for %s (%s)",
                                 label, n->op_type, n->op_type, ecc_dtype_name(dt));
        if (!dt && !ecc_kernel_op_known(n->op_type, it->opset))
            return ecc_ctx_error(ctx, ECC_E_INPUT, "node '%s' (%s): no kernel for %s", label,
                                 n->op_type, n->op_type);
    }
    return ECC_OK;
}

/* Half the physical memory (1 TiB when unknown). */
static size_t ecc_memory_limit(void) {
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0) return (size_t)1 << 40;
    return (size_t)pages / 2 * (size_t)page;
}

/* The CPUs this process may run on (taskset, cgroups' cpusets), else the
 * online ones: a pool wider than that only spins and switches. */
static int ecc_default_threads(void) {
    cpu_set_t set;
    long n = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set)
                                                          : sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 256 ? 256 : (int)n;
}


/* ================= constant folding at create ================= */

static ecc_status ecc_run_node(ecc_ctx *ctx, ecc_interp *it, uint32_t pos);
static void ecc_free_fallback(ecc_interp *it);

/* Ops whose result is not a function of their inputs (RANDOM in ops.def). */
static bool ecc_op_random(const char *op) { return ecc_op_has(op, ECC_OPF_RANDOM); }

static bool ecc_inputs_const(const ecc_interp *it, const ecc_inode *in) {
    for (uint32_t j = 0; j < in->node->n_inputs; j++) {
        int32_t s = it->io[in->io + j];
        if (s >= 0 && (!it->slots[s].is_const || it->slots[s].trainable)) return false;
    }
    return true;
}

/* Runs node pos once; on success its outputs become constants the slots
 * own. A failure is forgotten: the node stays and fails again, in its
 * run, with the run's context. */
static bool ecc_fold_node(ecc_ctx *ctx, ecc_interp *it, uint32_t pos) {
    const ecc_inode *in = &it->nodes[pos];
    uint32_t n_in = in->node->n_inputs, n_out = in->node->n_outputs;
    bool ok = ecc_run_node(ctx, it, pos) == ECC_OK;
    for (uint32_t j = 0; j < n_out && ok; j++) {
        int32_t s = it->io[in->io + n_in + j];
        if (s < 0) continue;
        ecc_slot *sl = &it->slots[s];
        sl->folded = malloc(sl->t.nbytes + 1);
        ok = sl->folded != NULL;
        if (ok && sl->t.nbytes) memcpy(sl->folded, sl->t.data, sl->t.nbytes);
    }
    for (uint32_t j = 0; j < n_out; j++) {
        int32_t s = it->io[in->io + n_in + j];
        if (s < 0) continue;
        ecc_slot *sl = &it->slots[s];
        if (ok) {
            sl->t.data = sl->folded;
            sl->is_const = sl->produced = true;
            sl->buf = ECC_BUF_EXTERNAL;
        } else {
            free(sl->folded);
            sl->folded = NULL;
            sl->produced = false;
            sl->buf = ECC_BUF_NONE;
            memset(&sl->t, 0, sizeof sl->t);
        }
    }
    ecc_free_fallback(it);
    if (!ok) ecc_ctx_clear(ctx);
    return ok;
}

/* A node whose inputs are all constants (DequantizeLinear of a quantized
 * weight, a Reshape of an initializer, a Constant) gives the same result
 * every run: it runs once here and leaves the execution order. Not with an
 * observer, which expects every node's output in every run. */
static void ecc_fold_constants(ecc_ctx *ctx, ecc_interp *it) {
    int blas_threads = ecc_blas_single();
    size_t kept = 0;
    for (uint32_t pos = 0; pos < it->n_nodes; pos++) {
        ecc_inode *in = &it->nodes[pos];
        bool fold = !ecc_op_random(in->node->op_type) && ecc_inputs_const(it, in) &&
                    ecc_fold_node(ctx, it, pos);
        if (!fold) it->nodes[kept++] = *in;
    }
    it->n_nodes = kept;
    ecc_blas_restore(blas_threads);
}

ecc_status ecc_interp_create(ecc_ctx *ctx, const ecc_model *model,
                             const ecc_interp_options *opts, ecc_interp **out) {
    ecc_status st = ECC_OK;
    ecc_interp *it = NULL;
    *out = NULL;
    ECC_FAIL_IF(!model || !model->graph, ctx, ECC_E_USAGE, "interpreter: no model");
    ecc_ctx_set_subject(ctx, model->path);
    ECC_FAIL_IF(opts && !ECC_OPT_HAS(opts, max_batch), ctx, ECC_E_USAGE,
                "interpreter: options struct_size %u is too small", (unsigned)opts->struct_size);
    ECC_FAIL_IF(opts && (opts->threads < 0 || opts->threads > 256), ctx, ECC_E_USAGE,
                "interpreter: threads %d out of range [0, 256]", opts ? opts->threads : 0);
    it = calloc(1, sizeof *it);
    ECC_FAIL_IF(!it, ctx, ECC_E_INTERNAL, "out of memory");
    it->model = model;
    it->g = model->graph;
    it->opset = ecc_model_opset(model, "");
    it->threads = opts && opts->threads ? opts->threads : ecc_default_threads();
    it->mem_limit = ecc_memory_limit();
    if (opts) {
        it->max_batch = opts->max_batch;
        it->fake_quant = ECC_OPT_HAS(opts, fake_quant) && opts->fake_quant;
        it->learn_scales = it->fake_quant && ECC_OPT_HAS(opts, learn_scales) &&
                           opts->learn_scales;
        if (ECC_OPT_HAS(opts, observe_user)) {
            it->observe = opts->observe;
            it->observe_user = opts->observe_user;
        }
    }
    ECC_TRY(ecc_index_values(ctx, it));
    ECC_TRY(ecc_bind_graph_io(ctx, it));
    ECC_TRY(ecc_bind_keep(ctx, it, opts && ECC_OPT_HAS(opts, keep) ? opts->keep : NULL));
    ECC_TRY(ecc_bind_params(ctx, it, opts && ECC_OPT_HAS(opts, params) ? opts->params : NULL));
    ECC_TRY(ecc_finish_views(ctx, it));
    if (opts && ECC_OPT_HAS(opts, keep_all) && opts->keep_all) ecc_keep_all(it);
    ECC_TRY(ecc_order_nodes(ctx, it));
    ECC_TRY(ecc_wire_nodes(ctx, it));
    ECC_TRY(ecc_check_kernels(ctx, it));
    if (it->n_params) ECC_TRY(ecc_backward_plan(ctx, it));
    ECC_TRY(ecc_bind_act_quant(ctx, it)); /* after the plan: which values need gradients */
    if (it->threads > 1) it->pool = ecc_pool_create(it->threads);
    if (!it->pool) it->threads = 1;
    if (!it->observe) ecc_fold_constants(ctx, it);
    *out = it;
    return ECC_OK;
fail:
    ecc_interp_free(it);
    return st;
}

static void ecc_free_fallback(ecc_interp *it) {
    for (size_t i = 0; i < it->n_fallback; i++) free(it->fallback[i]);
    it->n_fallback = 0;
    it->live_bytes -= it->fallback_bytes;
    it->fallback_bytes = 0;
}

/* Record mode: buffer b is dead. */
static void ecc_buffer_drop(ecc_interp *it, ecc_buffer *b) {
    if (!b->mem) return;
    free(b->mem);
    b->mem = NULL;
    it->live_bytes -= b->size;
}

static void ecc_free_record_mem(ecc_interp *it) {
    for (size_t i = 0; i < it->n_bufs; i++) ecc_buffer_drop(it, &it->bufs[i]);
}

void ecc_interp_free(ecc_interp *it) {
    if (!it) return;
    ecc_pool_free(it->pool);
    ecc_free_fallback(it);
    ecc_free_record_mem(it);
    free(it->fallback);
    free(it->bufs);
    free(it->recs);
    free(it->arena);
    free(it->sig);
    free(it->io);
    free(it->out_alias);
    free(it->in_ptrs);
    free(it->out_ptrs);
    free(it->nodes);
    free(it->kept);
    free(it->inputs);
    free(it->outputs);
    for (size_t i = 0; it->slots && i < it->n_slots; i++) {
        free(it->slots[i].copy);
        free(it->slots[i].folded);
        free(it->slots[i].view);
        free(it->slots[i].scale);
        free(it->slots[i].scale_grad);
        free(it->slots[i].clip);
        free(it->slots[i].lsq);
        if (it->slots[i].wview) ecc_wview_close(it->slots[i].wview);
        free(it->slots[i].wview);
    }
    free(it->slots);
    free(it->slot_of_id);
    free(it->act_scale);
    free(it->act_scale_grad);
    free(it->act_scale_q);
    ecc_backward_release(it);
    free(it->params);
    free(it);
}

size_t ecc_interp_input_count(const ecc_interp *it) { return it->n_inputs; }
const ecc_value *ecc_interp_input(const ecc_interp *it, size_t i) {
    return i < it->n_inputs ? it->slots[it->inputs[i]].v : NULL;
}
size_t ecc_interp_output_count(const ecc_interp *it) { return it->n_outputs; }
const ecc_value *ecc_interp_output(const ecc_interp *it, size_t i) {
    return i < it->n_outputs ? it->slots[it->outputs[i]].v : NULL;
}

const ecc_rt_tensor *ecc_interp_result(const ecc_interp *it, size_t i) {
    if (i >= it->n_outputs) return NULL;
    const ecc_slot *s = &it->slots[it->outputs[i]];
    return s->produced ? &s->t : NULL;
}

const ecc_rt_tensor *ecc_interp_value(const ecc_interp *it, const char *name) {
    for (size_t i = 0; i < it->n_kept; i++) {
        const ecc_slot *s = &it->slots[it->kept[i]];
        if (strcmp(s->v->name, name) == 0) return s->produced ? &s->t : NULL;
    }
    return NULL;
}

size_t ecc_interp_workspace_bytes(const ecc_interp *it) {
    return it->arena_size + it->fallback_bytes;
}

/* ================= run ================= */

typedef struct ecc_symbind {
    const char *param;
    int64_t value;
    const char *input;
} ecc_symbind;

static ecc_status ecc_check_input(ecc_ctx *ctx, const ecc_interp *it, const ecc_value *v,
                                  const ecc_rt_tensor *t, ecc_symbind *binds, size_t *n_binds) {
    ecc_status st = ECC_OK;
    ECC_FAIL_IF(v->dtype && t->dtype != v->dtype, ctx, ECC_E_INPUT,
                "input '%s': expected %s, got %s", v->name, ecc_dtype_name(v->dtype),
                ecc_dtype_name(t->dtype));
    ECC_FAIL_IF(t->rank < 0 || t->rank > ECC_MAX_RANK, ctx, ECC_E_INPUT,
                "input '%s': rank %d out of range", v->name, (int)t->rank);
    ECC_FAIL_IF(v->rank >= 0 && t->rank != v->rank, ctx, ECC_E_INPUT,
                "input '%s': expected rank %d, got rank %d", v->name, (int)v->rank,
                (int)t->rank);
    int64_t numel = 1;
    for (int32_t d = 0; d < t->rank; d++) {
        ECC_FAIL_IF(t->dims[d] < 0 || !ecc_mul_i64(numel, t->dims[d], &numel), ctx,
                    ECC_E_INPUT, "input '%s': bad dimension %d (%lld)", v->name, (int)d,
                    (long long)t->dims[d]);
        if (v->rank < 0) continue;
        const ecc_dim *md = &v->dims[d];
        ECC_FAIL_IF(md->value >= 0 && md->value != t->dims[d], ctx, ECC_E_INPUT,
                    "input '%s': dimension %d must be %lld, got %lld", v->name, (int)d,
                    (long long)md->value, (long long)t->dims[d]);
        if (md->value >= 0 || !md->param) continue;
        if (d == 0 && it->max_batch > 0)
            ECC_FAIL_IF(t->dims[d] > it->max_batch, ctx, ECC_E_INPUT,
                        "input '%s': batch %lld exceeds the planned maximum %lld", v->name,
                        (long long)t->dims[d], (long long)it->max_batch);
        size_t b = 0;
        while (b < *n_binds && strcmp(binds[b].param, md->param) != 0) b++;
        if (b == *n_binds) {
            binds[(*n_binds)++] = (ecc_symbind){md->param, t->dims[d], v->name};
            continue;
        }
        ECC_FAIL_IF(binds[b].value != t->dims[d], ctx, ECC_E_INPUT,
                    "input '%s': dimension %d ('%s') is %lld but input '%s' sets '%s' = %lld",
                    v->name, (int)d, md->param, (long long)t->dims[d], binds[b].input,
                    md->param, (long long)binds[b].value);
    }
    size_t need;
    ECC_FAIL_IF(!ecc_dtype_nbytes(t->dtype, numel, &need), ctx, ECC_E_INPUT,
                "input '%s': %s tensors cannot be fed", v->name, ecc_dtype_name(t->dtype));
    ECC_FAIL_IF(t->nbytes < need || (need && !t->data), ctx, ECC_E_INPUT,
                "input '%s': %zu bytes of data for a tensor that needs %zu", v->name, t->nbytes,
                need);
fail:
    return st;
}

static ecc_status ecc_check_inputs(ecc_ctx *ctx, ecc_interp *it, const ecc_rt_tensor *inputs,
                                   size_t n_inputs) {
    ecc_status st = ECC_OK;
    size_t max_binds = 0;
    for (size_t i = 0; i < n_inputs; i++)
        max_binds += (size_t)(inputs[i].rank > 0 ? inputs[i].rank : 0);
    ecc_symbind *binds = calloc(max_binds + 1, sizeof *binds);
    size_t n_binds = 0;
    ECC_FAIL_IF(!binds, ctx, ECC_E_INTERNAL, "out of memory");
    ECC_FAIL_IF(n_inputs != it->n_inputs, ctx, ECC_E_INPUT,
                "the model takes %zu inputs, %zu given", it->n_inputs, n_inputs);
    for (size_t i = 0; i < n_inputs; i++)
        ECC_TRY(ecc_check_input(ctx, it, it->slots[it->inputs[i]].v, &inputs[i], binds,
                                &n_binds));
fail:
    free(binds);
    return st;
}

/* Input signature: dtype, rank and dims of every input. */
static ecc_status ecc_signature(ecc_ctx *ctx, ecc_interp *it, const ecc_rt_tensor *inputs,
                                size_t n, bool *same) {
    size_t len = 0;
    for (size_t i = 0; i < n; i++) len += 2 + (size_t)inputs[i].rank;
    int64_t *sig = malloc((len + 1) * sizeof *sig);
    if (!sig) return ECC_OOM(ctx);
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        sig[at++] = inputs[i].dtype;
        sig[at++] = inputs[i].rank;
        for (int32_t d = 0; d < inputs[i].rank; d++) sig[at++] = inputs[i].dims[d];
    }
    *same = it->sig && it->n_sig == len && memcmp(it->sig, sig, len * sizeof *sig) == 0;
    free(it->sig);
    it->sig = sig;
    it->n_sig = len;
    return ECC_OK;
}

static void ecc_reset_slots(ecc_interp *it, const ecc_rt_tensor *inputs) {
    for (size_t i = 0; i < it->n_slots; i++) {
        ecc_slot *s = &it->slots[i];
        if (s->is_const) continue;
        s->produced = false;
        s->buf = ECC_BUF_NONE;
        memset(&s->t, 0, sizeof s->t);
    }
    for (size_t i = 0; i < it->n_inputs; i++) {
        ecc_slot *s = &it->slots[it->inputs[i]];
        s->t = inputs[i];
        if (!s->t.data) s->t.data = ecc_empty_data; /* only when it holds no bytes */
        s->buf = ECC_BUF_EXTERNAL;
        s->produced = true;
    }
}

static void ecc_start_recording(ecc_interp *it) {
    ecc_free_record_mem(it);
    it->n_bufs = it->n_recs = 0;
    for (size_t i = 0; i < it->n_nodes; i++) it->nodes[i].plan_off = it->nodes[i].plan_n = 0;
    for (size_t i = 0; i < it->n_io; i++) it->out_alias[i] = ECC_BUF_NONE;
    free(it->arena);
    it->arena = NULL;
    it->arena_size = 0;
    it->recording = true;
    it->planned = false;
    it->stale = false;
}

static ecc_status ecc_resolve_kernel(ecc_kernel_ctx *k, ecc_inode *in,
                                     const ecc_rt_tensor *const *ins) {
    const ecc_node *n = in->node;
    int32_t dt = 0;
    for (uint32_t j = 0; j < n->n_inputs && !dt; j++)
        if (ins[j]) dt = ins[j]->dtype;
    if (in->kern && in->kern_dtype == dt) return ECC_OK;
    in->kern = ecc_kernel_find(n->op_type, dt, k->it->opset);
    in->kern_dtype = dt;
    if (!in->kern)
        return ecc_kernel_fail(k, "no kernel for %s (%s)", n->op_type, ecc_dtype_name(dt));
    return ECC_OK;
}

/* Record mode: one use of every input is done; buffers without pending
 * uses are freed. */
static void ecc_release(ecc_interp *it, const ecc_inode *in, uint32_t pos) {
    const ecc_node *n = in->node;
    for (uint32_t j = 0; j < n->n_inputs + n->n_outputs; j++) {
        int32_t s = it->io[in->io + j];
        if (s < 0 || it->slots[s].buf < 0) continue;
        ecc_buffer *b = &it->bufs[it->slots[s].buf];
        if (j < n->n_inputs) b->pending--;
        if (b->last < pos) b->last = pos;
    }
    for (size_t r = in->plan_off; r < in->plan_off + in->plan_n; r++) {
        ecc_buffer *b = &it->bufs[it->recs[r].buf];
        if (b->last < pos) b->last = pos;
    }
    for (uint32_t j = 0; j < n->n_inputs + n->n_outputs; j++) {
        int32_t s = it->io[in->io + j];
        if (s < 0 || it->slots[s].buf < 0) continue;
        ecc_buffer *b = &it->bufs[it->slots[s].buf];
        if (!b->pinned && b->pending <= 0) ecc_buffer_drop(it, b);
    }
    for (size_t r = in->plan_off; r < in->plan_off + in->plan_n; r++) {
        ecc_buffer *b = &it->bufs[it->recs[r].buf];
        if (!b->pinned && b->pending <= 0) ecc_buffer_drop(it, b);
    }
}

static ecc_status ecc_observe(ecc_ctx *ctx, ecc_interp *it, const ecc_inode *in) {
    const ecc_node *n = in->node;
    for (uint32_t j = 0; j < n->n_outputs; j++) {
        int32_t s = it->io[in->io + n->n_inputs + j];
        if (s < 0) continue;
        if (it->observe(it->observe_user, n, j, it->slots[s].v, &it->slots[s].t))
            return ecc_ctx_error(ctx, ECC_E_INTERNAL, "node '%s' (%s): observer stopped the run",
                                 ecc_node_label(n), n->op_type);
    }
    return ECC_OK;
}

/* s's data moved into memory the interpreter owns until the next run. */
static ecc_status ecc_own_copy(ecc_ctx *ctx, ecc_interp *it, ecc_slot *s) {
    ecc_status st = ecc_grow(ctx, (void **)&it->fallback, &it->cap_fallback, it->n_fallback + 1,
                             sizeof *it->fallback);
    void *p = st ? NULL : malloc(s->t.nbytes);
    if (!p) return st ? st : ECC_OOM(ctx);
    memcpy(p, s->t.data, s->t.nbytes);
    it->fallback[it->n_fallback++] = p;
    s->t.data = p;
    return ECC_OK;
}

/* Outputs and kept values that are graph inputs get a copy the interpreter
 * owns, so results never point into the caller's buffers. */
static ecc_status ecc_own_passthrough(ecc_ctx *ctx, ecc_interp *it) {
    for (size_t i = 0; i < it->n_inputs; i++) {
        ecc_slot *s = &it->slots[it->inputs[i]];
        if (!s->pinned || !s->t.nbytes) continue;
        ecc_status st = ecc_own_copy(ctx, it, s);
        if (st) return st;
    }
    return ECC_OK;
}

/* ---------------- simulated quantization (fake_quant) ---------------- */

/* Each trained weight with a quantizer is read anew from its float copy. */
static void ecc_refresh_views(ecc_interp *it) {
    for (size_t i = 0; i < it->n_params; i++) {
        ecc_slot *s = &it->slots[it->params[i]];
        if (s->wview) ecc_wview_read(s->wview, s->copy, s->view);
    }
}

/* buf grown to at least n elements of size el. */
static bool ecc_grow_to(void **buf, size_t *cap, size_t n, size_t el) {
    if (n <= *cap) return true;
    void *p = realloc(*buf, n * el);
    if (!p) return false;
    *buf = p;
    *cap = n;
    return true;
}

/* A produced activation with a quantizer rounded in place, with the clip
 * bits its gradient needs (and, for a learned scale, d value / d scale). */
static ecc_status ecc_round_slot(ecc_ctx *ctx, ecc_interp *it, ecc_slot *s) {
    if (!s->act_q || !s->produced || s->t.dtype != ECC_DTYPE_FLOAT || !s->t.nbytes)
        return ECC_OK;
    int64_t n = ecc_rt_numel(&s->t);
    bool learn = s->act_scale >= 0;
    if (s->needs_grad && !ecc_grow_to((void **)&s->clip, &s->clip_cap, (size_t)(n + 7) / 8, 1))
        return ECC_OOM(ctx);
    if (learn && !ecc_grow_to((void **)&s->lsq, &s->lsq_cap, (size_t)n, sizeof(float)))
        return ECC_OOM(ctx);
    float scale = learn ? it->act_scale[s->act_scale] : ((const float *)s->act_q->scale->data)[0];
    ecc_act_fake_quant(s->act_q, scale, s->t.data, n, s->needs_grad ? s->clip : NULL,
                       learn ? s->lsq : NULL);
    return ECC_OK;
}

/* Graph inputs with a quantizer: rounded in a copy (the caller's data stays). */
static ecc_status ecc_round_inputs(ecc_ctx *ctx, ecc_interp *it) {
    for (size_t i = 0; it->fake_quant && i < it->n_inputs; i++) {
        ecc_slot *s = &it->slots[it->inputs[i]];
        if (!s->act_q || s->t.dtype != ECC_DTYPE_FLOAT || !s->t.nbytes) continue;
        ecc_status st = ecc_own_copy(ctx, it, s);
        if (!st) st = ecc_round_slot(ctx, it, s);
        if (st) return st;
    }
    return ECC_OK;
}

static ecc_status ecc_run_node(ecc_ctx *ctx, ecc_interp *it, uint32_t pos) {
    ecc_status st = ECC_OK;
    ecc_inode *in = &it->nodes[pos];
    const ecc_node *n = in->node;
    const ecc_rt_tensor **ins = it->in_ptrs;
    ecc_rt_tensor **outs = it->out_ptrs;
    for (uint32_t j = 0; j < n->n_inputs; j++) {
        int32_t s = it->io[in->io + j];
        ins[j] = s >= 0 ? &it->slots[s].t : NULL;
    }
    for (uint32_t j = 0; j < n->n_outputs; j++) {
        int32_t s = it->io[in->io + n->n_inputs + j];
        outs[j] = s >= 0 ? &it->slots[s].t : NULL;
    }
    ecc_kernel_ctx k = {.ctx = ctx, .it = it, .node = n, .pos = pos, .in_node = in,
                        .outs = outs, .n_outs = n->n_outputs, .ins = ins,
                        .n_ins = n->n_inputs};
    if (it->recording) in->plan_off = (uint32_t)it->n_recs;
    ECC_TRY(ecc_resolve_kernel(&k, in, ins));
    ECC_TRY(in->kern->forward(&k, n, ins, n->n_inputs, outs, n->n_outputs));
    for (uint32_t j = 0; j < n->n_outputs; j++) {
        int32_t s = it->io[in->io + n->n_inputs + j];
        ECC_FAIL_IF(s >= 0 && !it->slots[s].produced, ctx, ECC_E_INTERNAL,
                    "node '%s' (%s): kernel did not produce output %u", ecc_node_label(n),
                    n->op_type, j);
    }
    for (uint32_t j = 0; it->fake_quant && j < n->n_outputs; j++) {
        int32_t s = it->io[in->io + n->n_inputs + j];
        if (s >= 0) ECC_TRY(ecc_round_slot(ctx, it, &it->slots[s]));
    }
    if (it->observe) ECC_TRY(ecc_observe(ctx, it, in));
    if (it->recording) ecc_backward_keep(it, in);
fail:
    if (it->recording) ecc_release(it, in, pos);
    return st;
}

static int ecc_cmp_offset(const void *a, const void *b) {
    const ecc_buffer *x = *(const ecc_buffer *const *)a, *y = *(const ecc_buffer *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static int ecc_cmp_size_desc(const void *a, const void *b) {
    const ecc_buffer *x = *(const ecc_buffer *const *)a, *y = *(const ecc_buffer *const *)b;
    if (x->size != y->size) return x->size > y->size ? -1 : 1;
    return x->first < y->first ? -1 : x->first > y->first; /* deterministic */
}

/* Lowest offset where b fits between the placed buffers whose lifetimes
 * overlap its own (`live` is scratch for n pointers). */
static size_t ecc_first_fit(const ecc_buffer *b, ecc_buffer *const *placed, size_t n_placed,
                            ecc_buffer **live) {
    size_t n = 0, off = 0;
    for (size_t p = 0; p < n_placed; p++)
        if (!(placed[p]->last < b->first || b->last < placed[p]->first)) live[n++] = placed[p];
    qsort(live, n, sizeof *live, ecc_cmp_offset);
    for (size_t i = 0; i < n; i++) {
        if (live[i]->offset >= off + b->size) break;
        size_t end = live[i]->offset + live[i]->size;
        if (end > off) off = end;
    }
    return off;
}

/* Greedy layout: biggest buffers first, each at the lowest offset free
 * during its whole lifetime. */
static ecc_status ecc_layout(ecc_ctx *ctx, ecc_interp *it) {
    ecc_status st = ECC_OK;
    size_t n = it->n_bufs, total = 0;
    ecc_buffer **order = malloc((n + 1) * sizeof *order);
    ecc_buffer **live = malloc((n + 1) * sizeof *live);
    ECC_FAIL_IF(!order || !live, ctx, ECC_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        order[i] = &it->bufs[i];
        if (order[i]->pinned) order[i]->last = ECC_LIFE_END;
    }
    qsort(order, n, sizeof *order, ecc_cmp_size_desc);
    for (size_t i = 0; i < n; i++) {
        order[i]->offset = ecc_first_fit(order[i], order, i, live);
        if (order[i]->offset + order[i]->size > total) total = order[i]->offset + order[i]->size;
    }
    it->arena = total ? aligned_alloc(ECC_ALIGN, total) : NULL;
    ECC_FAIL_IF(total && !it->arena, ctx, ECC_E_INTERNAL,
                "out of memory allocating a %zu-byte workspace", total);
    it->arena_size = total;
fail:
    free(order);
    free(live);
    return st;
}

/* After recording: move the buffers still alive (outputs, kept values) into
 * the arena and point their slots there. */
static void ecc_relocate(ecc_interp *it) {
    for (size_t i = 0; i < it->n_slots; i++) {
        ecc_slot *s = &it->slots[i];
        if (s->is_const || !s->produced || s->buf < 0) continue;
        ecc_buffer *b = &it->bufs[s->buf];
        if (!b->mem) continue;
        s->t.data = it->arena + b->offset + ((uint8_t *)s->t.data - (uint8_t *)b->mem);
    }
    for (size_t i = 0; i < it->n_bufs; i++) {
        ecc_buffer *b = &it->bufs[i];
        if (!b->mem) continue;
        memcpy(it->arena + b->offset, b->mem, b->size);
        ecc_buffer_drop(it, b);
    }
}

static ecc_status ecc_finish_recording(ecc_ctx *ctx, ecc_interp *it) {
    ecc_status st = ecc_layout(ctx, it);
    if (st) return st;
    ecc_relocate(it);
    it->recording = false;
    it->planned = true;
    return ECC_OK;
}

ecc_status ecc_interp_run(ecc_ctx *ctx, ecc_interp *it, const ecc_rt_tensor *inputs,
                          size_t n_inputs) {
    ecc_status st = ECC_OK;
    bool same = false;
    int blas_threads = 0;
    ecc_ctx_set_subject(ctx, it->model->path);
    ECC_TRY(ecc_check_inputs(ctx, it, inputs, n_inputs));
    ECC_TRY(ecc_signature(ctx, it, inputs, n_inputs, &same));
    ecc_free_fallback(it);
    if (!same || !it->planned || it->stale) ecc_start_recording(it);
    it->stale = false;
    ecc_reset_slots(it, inputs);
    ecc_refresh_views(it);
    ECC_TRY(ecc_round_inputs(ctx, it));
    blas_threads = ecc_blas_single();
    for (uint32_t pos = 0; pos < it->n_nodes; pos++) ECC_TRY(ecc_run_node(ctx, it, pos));
    if (it->recording) ECC_TRY(ecc_finish_recording(ctx, it));
    ECC_TRY(ecc_own_passthrough(ctx, it));
    ecc_blas_restore(blas_threads);
    return ECC_OK;
fail:
    ecc_blas_restore(blas_threads);
    /* A failed run leaves no plan: the next run records again. */
    if (it->recording) ecc_free_record_mem(it);
    it->recording = it->planned = false;
    free(it->sig);
    it->sig = NULL;
    it->n_sig = 0;
    for (size_t i = 0; i < it->n_slots; i++)
        if (!it->slots[i].is_const) it->slots[i].produced = false;
    return st;
}
