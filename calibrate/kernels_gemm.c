/* kernels_gemm.c — matrix products on OpenBLAS: Gemm (alpha, beta,
 * transposes, broadcast C), MatMul (NumPy semantics: 1-D promotion, batched
 * with broadcast batch dims; one big GEMM when B is a plain matrix) and
 * MatMulInteger (exact: integer-valued doubles through dgemm). */
#include "kernels.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

void ecc_k_dgemm(int64_t m, int64_t n, int64_t kk, const double *a, const double *b, double *c) {
    if (m <= 0 || n <= 0) return;
    if (kk <= 0) {
        memset(c, 0, (size_t)(m * n) * sizeof *c);
        return;
    }
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)kk, 1.0, a,
                (int)kk, b, (int)n, 0.0, c, (int)n);
}

/* BLAS takes int sizes. */
static ecc_status ecc_blas_dims(ecc_kernel_ctx *k, int64_t m, int64_t n, int64_t kk) {
    if (m > INT32_MAX || n > INT32_MAX || kk > INT32_MAX)
        return ecc_kernel_fail(k, "matrix dimension exceeds 2^31");
    return ECC_OK;
}

/* ================= Gemm ================= */

typedef struct ecc_gemm_args {
    bool ta, tb;
    float alpha, beta;
    int64_t m, n, kk;
} ecc_gemm_args;

static ecc_status ecc_gemm_prepare(ecc_kernel_ctx *k, const ecc_rt_tensor *a,
                                   const ecc_rt_tensor *b, ecc_gemm_args *g) {
    ecc_status st = ECC_OK;
    int64_t ta, tb;
    ECC_TRY(ecc_ka_int(k, "transA", 0, &ta));
    ECC_TRY(ecc_ka_int(k, "transB", 0, &tb));
    ECC_TRY(ecc_ka_float(k, "alpha", 1.0f, &g->alpha));
    ECC_TRY(ecc_ka_float(k, "beta", 1.0f, &g->beta));
    ECC_KFAIL_IF(a->rank != 2 || b->rank != 2, k, "A and B must be 2-D, got ranks %d and %d",
                 (int)a->rank, (int)b->rank);
    g->ta = ta != 0;
    g->tb = tb != 0;
    g->m = g->ta ? a->dims[1] : a->dims[0];
    g->kk = g->ta ? a->dims[0] : a->dims[1];
    int64_t kb = g->tb ? b->dims[1] : b->dims[0];
    g->n = g->tb ? b->dims[0] : b->dims[1];
    ECC_KFAIL_IF(g->kk != kb, k, "inner dimensions differ: A gives K=%lld, B gives K=%lld",
                 (long long)g->kk, (long long)kb);
    ECC_TRY(ecc_blas_dims(k, g->m, g->n, g->kk));
fail:
    return st;
}

static void ecc_sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t kk, float alpha,
                      const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                      float *c, int64_t ldc) {
    if (m <= 0 || n <= 0) return;
    if (kk <= 0) {
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j];
        return;
    }
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                (int)m, (int)n, (int)kk, alpha, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
}

/* One product cut into `parts` along C's rows (by_rows) or columns. The
 * cut depends on the shape alone, never on the thread count: OpenBLAS
 * rounds an element differently when its product is cut elsewhere, and
 * the bytes must not depend on the threads. */
typedef struct ecc_sgemm_job {
    bool ta, tb, by_rows;
    int64_t m, n, kk, lda, ldb, ldc, parts;
    float alpha, beta;
    const float *a, *b;
    float *c;
} ecc_sgemm_job;

/* Below this many multiply-adds one call; above, 2 or 4 parts of at least
 * 32 rows or columns of the longer side. */
#define ECC_SGEMM_SPLIT_WORK ((int64_t)1 << 21)

static int64_t ecc_sgemm_parts(int64_t m, int64_t n, int64_t kk) {
    int64_t side = m >= n ? m : n;
    if (ecc_k_work(ecc_k_work(m, n), kk) < ECC_SGEMM_SPLIT_WORK) return 1;
    return side >= 4 * 32 ? 4 : side >= 2 * 32 ? 2 : 1;
}

static void ecc_sgemm_part(void *arg, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const ecc_sgemm_job *j = arg;
    int64_t side = j->by_rows ? j->m : j->n;
    for (int64_t p = begin; p < end; p++) {
        int64_t lo = side * p / j->parts, hi = side * (p + 1) / j->parts;
        if (j->by_rows) /* rows of op(A): rows of A, or columns when transposed */
            ecc_sgemm(j->ta, j->tb, hi - lo, j->n, j->kk, j->alpha,
                      j->a + lo * (j->ta ? 1 : j->lda), j->lda, j->b, j->ldb, j->beta,
                      j->c + lo * j->ldc, j->ldc);
        else /* columns of op(B): columns of B, or rows when transposed */
            ecc_sgemm(j->ta, j->tb, j->m, hi - lo, j->kk, j->alpha, j->a, j->lda,
                      j->b + lo * (j->tb ? j->ldb : 1), j->ldb, j->beta, j->c + lo, j->ldc);
    }
}

void ecc_k_sgemm(ecc_kernel_ctx *k, bool ta, bool tb, int64_t m, int64_t n, int64_t kk,
                 float alpha, const float *a, int64_t lda, const float *b, int64_t ldb,
                 float beta, float *c, int64_t ldc) {
    int64_t parts = k ? ecc_sgemm_parts(m, n, kk) : 1;
    if (parts == 1) {
        ecc_sgemm(ta, tb, m, n, kk, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    ecc_sgemm_job j = {ta, tb, m >= n, m, n, kk, lda, ldb, ldc, parts, alpha, beta, a, b, c};
    ecc_kernel_parallel(k, parts, ecc_k_work(ecc_k_work(m, n), kk), ecc_sgemm_part, &j);
}

ECC_KERNEL_PROTO(ecc_k_gemm_f32) {
    (void)node;
    ecc_status st = ECC_OK;
    ecc_gemm_args g;
    ECC_TRY(ecc_k_need(k, in, n_in, 0, "A"));
    ECC_TRY(ecc_k_need(k, in, n_in, 1, "B"));
    ECC_TRY(ecc_k_out0(k, out, n_out));
    ECC_TRY(ecc_k_dtype(k, in[1], ECC_DTYPE_FLOAT, "B"));
    ECC_TRY(ecc_gemm_prepare(k, in[0], in[1], &g));
    const ecc_rt_tensor *c = ecc_k_in(in, n_in, 2);
    int64_t dims[2] = {g.m, g.n};
    ECC_TRY(ecc_kernel_alloc(k, out[0], ECC_DTYPE_FLOAT, 2, dims));
    float beta = 0.0f;
    if (c && g.beta != 0.0f) {
        ECC_TRY(ecc_k_dtype(k, c, ECC_DTYPE_FLOAT, "C"));
        ECC_TRY(ecc_k_broadcast_copy(k, c, out[0]));
        beta = g.beta;
    }
    int64_t lda = g.ta ? g.m : g.kk, ldb = g.tb ? g.kk : g.n;
    ecc_k_sgemm(k, g.ta, g.tb, g.m, g.n, g.kk, g.alpha, in[0]->data, lda, in[1]->data, ldb,
                beta, out[0]->data, g.n);
fail:
    return st;
}

/* ================= MatMul ================= */

/* Shapes of a NumPy matmul: operands promoted to >= 2-D, batch dims
 * broadcast; per output matrix the offsets (in matrices) of A and B. */
typedef struct ecc_mm_plan {
    int64_t m, kk, n;
    int32_t rank;                   /* output rank */
    int64_t dims[ECC_MAX_RANK];
    int64_t batch;                  /* output matrices */
    bool b_shared;                  /* B is one matrix used by every batch */
    ecc_bcast bc;                   /* over batch dims */
} ecc_mm_plan;

static ecc_status ecc_mm_plan_make(ecc_kernel_ctx *k, const ecc_rt_tensor *a,
                                   const ecc_rt_tensor *b, ecc_mm_plan *p) {
    ecc_status st = ECC_OK;
    ECC_KFAIL_IF(a->rank < 1 || b->rank < 1, k, "MatMul operands must have rank >= 1");
    int32_t ra = a->rank, rb = b->rank;
    p->m = ra == 1 ? 1 : a->dims[ra - 2];
    p->kk = a->dims[ra - 1];
    int64_t kb = rb == 1 ? b->dims[0] : b->dims[rb - 2];
    p->n = rb == 1 ? 1 : b->dims[rb - 1];
    ECC_KFAIL_IF(p->kk != kb, k, "inner dimensions differ: A [...,%lld] vs B [%lld,...]",
                 (long long)p->kk, (long long)kb);
    ECC_TRY(ecc_blas_dims(k, p->m, p->n, p->kk));
    int32_t ranks[2] = {ra > 2 ? ra - 2 : 0, rb > 2 ? rb - 2 : 0};
    const int64_t *dims[2] = {a->dims, b->dims};
    ECC_TRY(ecc_k_bcast_dims(k, 2, ranks, dims, &p->bc));
    p->rank = 0;
    for (int32_t d = 0; d < p->bc.out_rank; d++) p->dims[p->rank++] = p->bc.out_dims[d];
    ECC_KFAIL_IF(p->rank + (ra > 1) + (rb > 1) > ECC_MAX_RANK, k, "result rank too large");
    if (ra > 1) p->dims[p->rank++] = p->m;
    if (rb > 1) p->dims[p->rank++] = p->n;
    p->batch = p->bc.numel;
    p->b_shared = ecc_k_prod(b->dims, 0, ranks[1]) == 1;
fail:
    return st;
}

typedef struct ecc_mm_offsets {
    int64_t *ao, *bo;
    int64_t at;
} ecc_mm_offsets;

static void ecc_mm_offsets_row(void *arg, int64_t out_off, const int64_t *in_off, int64_t len,
                               const int64_t *s) {
    (void)out_off;
    ecc_mm_offsets *o = arg;
    for (int64_t i = 0; i < len; i++, o->at++) {
        o->ao[o->at] = in_off[0] + i * s[0];
        o->bo[o->at] = in_off[1] + i * s[1];
    }
}

/* Offsets (in matrices) of A and B for each output matrix, in scratch. */
static ecc_status ecc_mm_offsets_make(ecc_kernel_ctx *k, const ecc_mm_plan *p,
                                      ecc_mm_offsets *o) {
    int64_t *buf;
    ecc_status st = ecc_kernel_scratch(k, (size_t)p->batch * 2 * sizeof(int64_t), (void **)&buf);
    if (st) return st;
    o->ao = buf;
    o->bo = buf + p->batch;
    o->at = 0;
    ecc_bc_each(&p->bc, ecc_mm_offsets_row, o);
    return ECC_OK;
}

typedef struct ecc_mm_job {
    const ecc_mm_plan *p;
    const ecc_mm_offsets *o;
    const float *a, *b;
    float *c;
    ecc_kernel_ctx *split; /* non-NULL: matrices in turn, each product split over the pool */
} ecc_mm_job;

/* C = A B for matrices so small that a BLAS call costs more than the work;
 * the inner loop runs along rows of B and C and vectorises. */
#define ECC_SMALL_GEMM (32 * 32 * 32)
static void ecc_small_gemm(int64_t m, int64_t n, int64_t kk, const float *a, const float *b,
                           float *c) {
    for (int64_t i = 0; i < m; i++) {
        float *ci = c + i * n;
        for (int64_t j = 0; j < n; j++) ci[j] = 0;
        for (int64_t l = 0; l < kk; l++) {
            float av = a[i * kk + l];
            const float *bl = b + l * n;
            for (int64_t j = 0; j < n; j++) ci[j] += av * bl[j];
        }
    }
}

static void ecc_mm_batch(void *arg, int64_t begin, int64_t end, int tid) {
    (void)tid;
    ecc_mm_job *j = arg;
    const ecc_mm_plan *p = j->p;
    bool small = ecc_k_work(p->m * p->n, p->kk) <= ECC_SMALL_GEMM;
    for (int64_t i = begin; i < end; i++) {
        const float *a = j->a + j->o->ao[i] * p->m * p->kk, *b = j->b + j->o->bo[i] * p->kk * p->n;
        float *c = j->c + i * p->m * p->n;
        if (small) ecc_small_gemm(p->m, p->n, p->kk, a, b, c);
        else ecc_k_sgemm(j->split, false, false, p->m, p->n, p->kk, 1.0f, a, p->kk, b, p->n,
                         0.0f, c, p->n);
    }
}

ECC_KERNEL_PROTO(ecc_k_matmul_f32) {
    (void)node;
    ecc_status st = ECC_OK;
    ecc_mm_plan p;
    ECC_TRY(ecc_k_need(k, in, n_in, 0, "A"));
    ECC_TRY(ecc_k_need(k, in, n_in, 1, "B"));
    ECC_TRY(ecc_k_out0(k, out, n_out));
    ECC_TRY(ecc_k_dtype(k, in[1], ECC_DTYPE_FLOAT, "B"));
    ECC_TRY(ecc_mm_plan_make(k, in[0], in[1], &p));
    ECC_TRY(ecc_kernel_alloc(k, out[0], ECC_DTYPE_FLOAT, p.rank, p.dims));
    if (ecc_rt_numel(out[0]) == 0) return ECC_OK;
    if (p.b_shared && ecc_rt_numel(in[0]) == p.batch * p.m * p.kk) {
        /* every batch of A against the same B: one GEMM over all rows */
        ECC_TRY(ecc_blas_dims(k, p.batch * p.m, p.n, p.kk));
        ecc_k_sgemm(k, false, false, p.batch * p.m, p.n, p.kk, 1.0f, in[0]->data, p.kk,
                    in[1]->data, p.n, 0.0f, out[0]->data, p.n);
        return ECC_OK;
    }
    ecc_mm_offsets o;
    ECC_TRY(ecc_mm_offsets_make(k, &p, &o));
    ecc_mm_job j = {&p, &o, in[0]->data, in[1]->data, out[0]->data, NULL};
    int64_t per = ecc_k_work(p.m * p.n, p.kk);
    if (per < (int64_t)1 << 20) /* small matrices: parallel over the batch */
        ecc_kernel_parallel(k, p.batch, ecc_k_work(p.batch, per), ecc_mm_batch, &j);
    else { /* big ones: each product split over the pool */
        j.split = k;
        ecc_mm_batch(&j, 0, p.batch, 0);
    }
fail:
    return st;
}

/* ================= backward ================= */

/* Y = alpha op(A) op(B) + beta C: dA = alpha dY op(B)^T (as stored: transposed
 * back when transA), dB = alpha op(A)^T dY (likewise), dC = beta dY summed
 * over C's broadcast dimensions. */
ECC_BACKWARD_PROTO(ecc_k_gemm_back_f32) {
    (void)node, (void)out, (void)n_out;
    ecc_status st = ECC_OK;
    ecc_gemm_args g;
    ECC_TRY(ecc_gemm_prepare(k, in[0], in[1], &g));
    const float *dy = dout[0]->data, *a = in[0]->data, *b = in[1]->data;
    int64_t lda = g.ta ? g.m : g.kk, ldb = g.tb ? g.kk : g.n;
    if (din[0] && !g.ta) /* [m,kk] = dY [m,n] op(B)^T */
        ecc_k_sgemm(k, false, !g.tb, g.m, g.kk, g.n, g.alpha, dy, g.n, b, ldb, 1.0f,
                    din[0]->data, g.kk);
    else if (din[0]) /* [kk,m] = op(B) [kk,n] dY^T */
        ecc_k_sgemm(k, g.tb, true, g.kk, g.m, g.n, g.alpha, b, ldb, dy, g.n, 1.0f,
                    din[0]->data, g.m);
    if (din[1] && !g.tb) /* [kk,n] = op(A)^T [kk,m] dY */
        ecc_k_sgemm(k, !g.ta, false, g.kk, g.n, g.m, g.alpha, a, lda, dy, g.n, 1.0f,
                    din[1]->data, g.n);
    else if (din[1]) /* [n,kk] = dY^T [n,m] op(A) */
        ecc_k_sgemm(k, true, g.ta, g.n, g.kk, g.m, g.alpha, dy, g.n, a, lda, 1.0f,
                    din[1]->data, g.kk);
    if (n_in > 2 && din[2]) ECC_TRY(ecc_k_unbroadcast_add(k, dout[0], din[2], g.beta));
fail:
    return st;
}

/* Y[i] = A[ao[i]] B[bo[i]] per output matrix i: dA[ao[i]] += dY[i] B^T,
 * dB[bo[i]] += A^T dY[i], matrix after matrix (a broadcast operand sums in a
 * fixed order). A plain-matrix B takes one GEMM over all rows. */
ECC_BACKWARD_PROTO(ecc_k_matmul_back_f32) {
    (void)node, (void)out, (void)n_out, (void)n_in;
    ecc_status st = ECC_OK;
    ecc_mm_plan p;
    ecc_mm_offsets o;
    ECC_TRY(ecc_mm_plan_make(k, in[0], in[1], &p));
    const float *dy = dout[0]->data, *a = in[0]->data, *b = in[1]->data;
    int64_t am = p.m * p.kk, bm = p.kk * p.n, ym = p.m * p.n;
    if (p.batch * ym == 0) return ECC_OK;
    if (p.b_shared && ecc_rt_numel(in[0]) == p.batch * am) {
        ECC_TRY(ecc_blas_dims(k, p.batch * p.m, p.n, p.kk));
        if (din[0])
            ecc_k_sgemm(k, false, true, p.batch * p.m, p.kk, p.n, 1.0f, dy, p.n, b, p.n, 1.0f,
                        din[0]->data, p.kk);
        if (din[1])
            ecc_k_sgemm(k, true, false, p.kk, p.n, p.batch * p.m, 1.0f, a, p.kk, dy, p.n, 1.0f,
                        din[1]->data, p.n);
        return ECC_OK;
    }
    ECC_TRY(ecc_mm_offsets_make(k, &p, &o));
    for (int64_t i = 0; i < p.batch; i++) {
        const float *dyi = dy + i * ym;
        if (din[0])
            ecc_k_sgemm(k, false, true, p.m, p.kk, p.n, 1.0f, dyi, p.n, b + o.bo[i] * bm, p.n,
                        1.0f, (float *)din[0]->data + o.ao[i] * am, p.kk);
        if (din[1])
            ecc_k_sgemm(k, true, false, p.kk, p.n, p.m, 1.0f, a + o.ao[i] * am, p.kk, dyi, p.n,
                        1.0f, (float *)din[1]->data + o.bo[i] * bm, p.n);
    }
fail:
    return st;
}

/* ================= MatMulInteger ================= */

/* (x - zp) as doubles; zp scalar, or one per row (per_row, `rows` of them,
 * each row `cols` long) or one per column. */
static ecc_status ecc_mm_int_operand(ecc_kernel_ctx *k, const ecc_rt_tensor *x,
                                     const ecc_rt_tensor *zp, bool per_row, int64_t rows,
                                     int64_t cols, const char *what, double **out) {
    ecc_status st = ECC_OK;
    int64_t n = ecc_rt_numel(x);
    double *d;
    ECC_TRY(ecc_kernel_scratch(k, (size_t)(n ? n : 1) * sizeof *d, (void **)&d));
    int64_t zn = zp ? ecc_rt_numel(zp) : 0;
    int64_t along = per_row ? rows : cols;
    if (zp) {
        ECC_KFAIL_IF(zp->dtype != x->dtype, k, "%s zero point must be %s", what,
                     ecc_dtype_name(x->dtype));
        ECC_KFAIL_IF(zn != 1 && zn != along, k,
                     "%s zero point must be a scalar or have %lld entries, has %lld", what,
                     (long long)along, (long long)zn);
    }
    for (int64_t i = 0; i < n; i++) {
        int64_t r = (i / cols) % (rows ? rows : 1), c = i % cols;
        double z = zn == 0 ? 0 : ecc_rt_get_f64(zp, zn == 1 ? 0 : per_row ? r : c);
        d[i] = ecc_rt_get_f64(x, i) - z;
    }
    *out = d;
fail:
    return st;
}

static ecc_status ecc_matmul_integer(ecc_kernel_ctx *k, const ecc_rt_tensor *const *in,
                                     size_t n_in, ecc_rt_tensor *const *out, size_t n_out) {
    ecc_status st = ECC_OK;
    ecc_mm_plan p;
    double *a, *b, *c;
    ECC_TRY(ecc_k_need(k, in, n_in, 0, "A"));
    ECC_TRY(ecc_k_need(k, in, n_in, 1, "B"));
    ECC_TRY(ecc_k_out0(k, out, n_out));
    ECC_KFAIL_IF(in[1]->dtype != ECC_DTYPE_UINT8 && in[1]->dtype != ECC_DTYPE_INT8, k,
                 "B must be uint8 or int8, got %s", ecc_dtype_name(in[1]->dtype));
    ECC_TRY(ecc_mm_plan_make(k, in[0], in[1], &p));
    ECC_TRY(ecc_mm_int_operand(k, in[0], ecc_k_in(in, n_in, 2), true, p.m, p.kk, "A", &a));
    ECC_TRY(ecc_mm_int_operand(k, in[1], ecc_k_in(in, n_in, 3), false, p.kk, p.n, "B", &b));
    ECC_TRY(ecc_kernel_alloc(k, out[0], ECC_DTYPE_INT32, p.rank, p.dims));
    if (ecc_rt_numel(out[0]) == 0) return ECC_OK;
    ECC_TRY(ecc_kernel_scratch(k, (size_t)(p.m * p.n) * sizeof *c, (void **)&c));
    ecc_mm_offsets o;
    ECC_TRY(ecc_mm_offsets_make(k, &p, &o));
    int32_t *y = out[0]->data;
    for (int64_t i = 0; i < p.batch; i++) {
        ecc_k_dgemm(p.m, p.n, p.kk, a + o.ao[i] * p.m * p.kk, b + o.bo[i] * p.kk * p.n, c);
        for (int64_t e = 0; e < p.m * p.n; e++)
            y[i * p.m * p.n + e] = (int32_t)(uint32_t)(int64_t)c[e];
    }
fail:
    return st;
}

ECC_KERNEL_U8_I8(matmulinteger, ecc_matmul_integer)

/* ================= QLinearMatMul ================= */

/* Scale: scalar or one per row (a) / column (b). */
static ecc_status ecc_qmm_scale(ecc_kernel_ctx *k, const ecc_rt_tensor *s, int64_t per,
                                const char *what) {
    ecc_status st = ecc_k_dtype(k, s, ECC_DTYPE_FLOAT, what);
    if (st) return st;
    int64_t n = ecc_rt_numel(s);
    if (n != 1 && n != per)
        return ecc_kernel_fail(k, "%s must be a scalar or have %lld entries, has %lld", what,
                               (long long)per, (long long)n);
    return ECC_OK;
}

static ecc_status ecc_qlinear_matmul(ecc_kernel_ctx *k, const ecc_rt_tensor *const *in,
                                     size_t n_in, ecc_rt_tensor *const *out, size_t n_out) {
    ecc_status st = ECC_OK;
    ecc_mm_plan p;
    double *a, *b, *c, y_scale, y_zp;
    int32_t lo, hi;
    static const char *const names[] = {"a", "a_scale", "a_zero_point", "b", "b_scale",
                                        "b_zero_point", "y_scale", "y_zero_point"};
    for (size_t i = 0; i < 8; i++) ECC_TRY(ecc_k_need(k, in, n_in, i, names[i]));
    ECC_TRY(ecc_k_out0(k, out, n_out));
    ECC_KFAIL_IF(in[3]->dtype != ECC_DTYPE_UINT8 && in[3]->dtype != ECC_DTYPE_INT8, k,
                 "b must be uint8 or int8, got %s", ecc_dtype_name(in[3]->dtype));
    ECC_TRY(ecc_mm_plan_make(k, in[0], in[3], &p));
    ECC_TRY(ecc_qmm_scale(k, in[1], p.m, "a_scale"));
    ECC_TRY(ecc_qmm_scale(k, in[4], p.n, "b_scale"));
    ECC_TRY(ecc_k_dtype(k, in[6], ECC_DTYPE_FLOAT, "y_scale"));
    ECC_TRY(ecc_k_scalar(k, in[6], "y_scale", &y_scale));
    ECC_TRY(ecc_k_scalar(k, in[7], "y_zero_point", &y_zp));
    int32_t odt = in[7]->dtype;
    ECC_KFAIL_IF(!ecc_q_range(odt, &lo, &hi) || ecc_rt_elsize(odt) != 1, k,
                 "output type %s is not supported", ecc_dtype_name(odt));
    ECC_TRY(ecc_mm_int_operand(k, in[0], in[2], true, p.m, p.kk, "a", &a));
    ECC_TRY(ecc_mm_int_operand(k, in[3], in[5], false, p.kk, p.n, "b", &b));
    ECC_TRY(ecc_kernel_alloc(k, out[0], odt, p.rank, p.dims));
    if (ecc_rt_numel(out[0]) == 0) return ECC_OK;
    ECC_TRY(ecc_kernel_scratch(k, (size_t)(p.m * p.n) * sizeof *c, (void **)&c));
    ecc_mm_offsets o;
    ECC_TRY(ecc_mm_offsets_make(k, &p, &o));
    const float *as = in[1]->data, *bs = in[4]->data;
    int64_t na = ecc_rt_numel(in[1]), nb = ecc_rt_numel(in[4]);
    for (int64_t i = 0; i < p.batch; i++) {
        ecc_k_dgemm(p.m, p.n, p.kk, a + o.ao[i] * p.m * p.kk, b + o.bo[i] * p.kk * p.n, c);
        for (int64_t r = 0; r < p.m; r++)
            for (int64_t col = 0; col < p.n; col++) {
                float mult = as[na == 1 ? 0 : r] * bs[nb == 1 ? 0 : col] / (float)y_scale;
                double v = ecc_round_even(c[r * p.n + col] * (double)mult) + y_zp;
                v = v < lo ? lo : v > hi ? hi : v;
                int64_t e = i * p.m * p.n + r * p.n + col;
                if (odt == ECC_DTYPE_UINT8) ((uint8_t *)out[0]->data)[e] = (uint8_t)v;
                else ((int8_t *)out[0]->data)[e] = (int8_t)v;
            }
    }
fail:
    return st;
}

ECC_KERNEL_U8_I8(qlinearmatmul, ecc_qlinear_matmul)
