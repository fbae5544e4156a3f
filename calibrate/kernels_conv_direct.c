/* kernels_conv_direct.c — direct float convolution for Conv (1-D and 2-D;
 * any kernel, stride, dilation and pads; per group). Each image-group is
 * copied into a zero-padded plane, the weights are packed in blocks of
 * output channels, and a register tile of one block × P output columns
 * accumulates over (input channel, kh, kw): one weight load per block
 * vector, one broadcast per column, then fused multiply-adds. Every output
 * sums its terms in that order from the bias, whatever the threads and
 * whatever the tile's width: a row of OW columns is cut into tiles as
 * even as the widest tile allows (OW = 14 at width 6: 5 + 5 + 4), so few
 * columns go through narrow, latency-bound tiles. With `accumulate` the
 * tile adds its sums into y (a Conv's dX in the backward pass, into a
 * zeroed gradient) instead of storing them. The backward's dW uses the
 * same planes and a mirrored tile: a block of output channels × Q weight
 * columns (c, kh, kw), summing dY^T (one vector load per block vector)
 * times the plane (one broadcast per column) over an image's positions.
 *
 * The vectors are GCC vector extensions; the tile is compiled once per
 * instruction set (AVX-512, AVX2 with FMA, the x86-64 baseline) and the
 * variant is chosen from the CPU at the first use. On the testdata CNN's
 * 3x3 convolutions this is 2-4x faster than im2col + OpenBLAS sgemm
 * (bench/interp_throughput.sh). */
#include "kernels_conv_direct.h"

#include <pthread.h>
#include <string.h>

/* a += w * x as one fused multiply-add where the instruction set has it
 * (ISO C mode would otherwise keep the multiply and the add apart) */
#if defined(__clang__)
#pragma clang fp contract(fast)
#else
#pragma GCC optimize("fp-contract=fast")
#endif

typedef float ecc_v4 __attribute__((vector_size(16)));
typedef float ecc_v8 __attribute__((vector_size(32)));
typedef float ecc_v16 __attribute__((vector_size(64)));

/* What a tile needs of the geometry (floats, strides in elements). */
typedef struct ecc_dc_geom {
    int64_t c, chan, wp, kh, kw, sw, dh, dw, plane;
} ecc_dc_geom;

/* x: the padded plane at the tile's first input row and column; w: the
 * block's packed weights; bias: the block's first channel (or NULL); mv:
 * channels of the block that exist; y: output of the block's first channel
 * at the tile's first column; acc: add into y rather than store. */
typedef void (*ecc_dc_tile_fn)(const ecc_dc_geom *t, const float *x, const void *w,
                               const float *bias, int64_t mv, float *y, bool acc);

/* A tile of 2 vectors of output channels × P columns. */
#define ECC_DC_TILE(name, VT, P, ATTR)                                                   \
    ATTR static void name(const ecc_dc_geom *t, const float *x, const void *wv,          \
                          const float *bias, int64_t mv, float *y, bool acc) {           \
        enum { L = sizeof(VT) / sizeof(float) };                                         \
        const VT *w = wv;                                                                \
        VT a0[P], a1[P], b0 = {0}, b1 = {0};                                             \
        for (int64_t v = 0; bias && v < mv; v++) {                                       \
            if (v < L) b0[v] = bias[v];                                                  \
            else b1[v - L] = bias[v];                                                    \
        }                                                                                \
        _Pragma("GCC unroll 16") for (int p = 0; p < P; p++) a0[p] = b0, a1[p] = b1;     \
        for (int64_t c = 0; c < t->c; c++)                                               \
            for (int64_t kh = 0; kh < t->kh; kh++) {                                     \
                const float *row = x + c * t->chan + kh * t->dh * t->wp;                 \
                for (int64_t kw = 0; kw < t->kw; kw++, w += 2) {                         \
                    const VT w0 = w[0], w1 = w[1];                                       \
                    const float *r = row + kw * t->dw;                                   \
                    _Pragma("GCC unroll 16") for (int p = 0; p < P; p++) {               \
                        float xv = r[p * t->sw];                                         \
                        a0[p] += w0 * xv;                                                \
                        a1[p] += w1 * xv;                                                \
                    }                                                                    \
                }                                                                        \
            }                                                                            \
        float out[P][2 * L] __attribute__((aligned(64)));                               \
        _Pragma("GCC unroll 16") for (int p = 0; p < P; p++) {                           \
            memcpy(out[p], &a0[p], sizeof(VT));                                          \
            memcpy(out[p] + L, &a1[p], sizeof(VT));                                      \
        }                                                                                \
        for (int64_t v = 0; v < mv; v++)                                                 \
            for (int p = 0; p < P; p++)                                                  \
                y[v * t->plane + p] = acc ? y[v * t->plane + p] + out[p][v] : out[p][v]; \
    }

/* What a dW tile needs: output rows and columns, the plane's row step
 * (stride x padded width) and column stride, floats per position of dY^T. */
typedef struct ecc_dw_geom {
    int64_t oh, ow, rstep, sw, ld;
} ecc_dw_geom;

/* dy: dY^T of one image-group at the block's first channel, [OH*OW][ld];
 * x: its padded plane; off: the plane offsets of the tile's Q weight
 * columns (c, kh, kw); dw: dW of the block's first channel at the first
 * column, rows ldw apart; mv: channels of the block that exist. */
typedef void (*ecc_dw_tile_fn)(const ecc_dw_geom *t, const float *dy, const float *x,
                               const int64_t *off, int64_t mv, float *dw, int64_t ldw);

/* dW of 2 vectors of output channels x Q weight columns over one image:
 * sums over the output positions in order in registers, then added to dw. */
#define ECC_DW_TILE(name, VT, Q, ATTR)                                                   \
    ATTR static void name(const ecc_dw_geom *t, const float *dy, const float *x,         \
                          const int64_t *off, int64_t mv, float *dw, int64_t ldw) {      \
        enum { L = sizeof(VT) / sizeof(float) };                                         \
        VT a0[Q], a1[Q];                                                                 \
        _Pragma("GCC unroll 16") for (int q = 0; q < Q; q++) a0[q] = a1[q] = (VT){0};    \
        for (int64_t oh = 0; oh < t->oh; oh++) {                                         \
            const float *xr = x + oh * t->rstep;                                         \
            const VT *d = (const VT *)(dy + oh * t->ow * t->ld);                         \
            for (int64_t ow = 0; ow < t->ow; ow++, d += t->ld / L) {                     \
                const VT d0 = d[0], d1 = d[1];                                           \
                const float *xc = xr + ow * t->sw;                                       \
                _Pragma("GCC unroll 16") for (int q = 0; q < Q; q++) {                   \
                    float xv = xc[off[q]];                                               \
                    a0[q] += d0 * xv;                                                    \
                    a1[q] += d1 * xv;                                                    \
                }                                                                        \
            }                                                                            \
        }                                                                                \
        float out[Q][2 * L] __attribute__((aligned(64)));                               \
        _Pragma("GCC unroll 16") for (int q = 0; q < Q; q++) {                           \
            memcpy(out[q], &a0[q], sizeof(VT));                                          \
            memcpy(out[q] + L, &a1[q], sizeof(VT));                                      \
        }                                                                                \
        for (int64_t v = 0; v < mv; v++)                                                 \
            for (int q = 0; q < Q; q++) dw[v * ldw + q] += out[q][v];                    \
    }

/* Tiles of width 1..ECC_DC_PMAX columns; a variant fills 1..p. */
#define ECC_DC_PMAX 7

typedef struct ecc_dc_variant {
    const char *name;
    int64_t block, p;        /* output channels per tile; columns of the widest tile */
    ecc_dc_tile_fn tile[ECC_DC_PMAX + 1]; /* tile[w]: w columns, 1 <= w <= p */
    ecc_dw_tile_fn dw[ECC_DC_PMAX + 1];   /* dw[w]: w weight columns, 1 <= w <= p */
    bool (*cpu_runs)(void);  /* NULL: every CPU */
} ecc_dc_variant;

/* The tiles of one instruction set, widths 1 to 7 (a variant uses 1..p). */
#define ECC_DC_TILES(pre, VT, ATTR)                                                      \
    ECC_DC_TILE(pre##1, VT, 1, ATTR)                                                     \
    ECC_DC_TILE(pre##2, VT, 2, ATTR)                                                     \
    ECC_DC_TILE(pre##3, VT, 3, ATTR)                                                     \
    ECC_DC_TILE(pre##4, VT, 4, ATTR)                                                     \
    ECC_DC_TILE(pre##5, VT, 5, ATTR)                                                     \
    ECC_DC_TILE(pre##6, VT, 6, ATTR)                                                     \
    ECC_DC_TILE(pre##7, VT, 7, ATTR)                                                     \
    ECC_DW_TILE(pre##dw1, VT, 1, ATTR)                                                   \
    ECC_DW_TILE(pre##dw2, VT, 2, ATTR)                                                   \
    ECC_DW_TILE(pre##dw3, VT, 3, ATTR)                                                   \
    ECC_DW_TILE(pre##dw4, VT, 4, ATTR)                                                   \
    ECC_DW_TILE(pre##dw5, VT, 5, ATTR)                                                   \
    ECC_DW_TILE(pre##dw6, VT, 6, ATTR)                                                   \
    ECC_DW_TILE(pre##dw7, VT, 7, ATTR)

#if defined(__x86_64__) || defined(__i386__)
#define ECC_DC_AVX512 __attribute__((target("avx512f")))
#define ECC_DC_AVX2 __attribute__((target("avx2,fma")))
ECC_DC_TILES(ecc_dc_avx512_, ecc_v16, ECC_DC_AVX512)
ECC_DC_TILES(ecc_dc_avx2_, ecc_v8, ECC_DC_AVX2)

static bool ecc_dc_has_avx512(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
}
static bool ecc_dc_has_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#endif
ECC_DC_TILES(ecc_dc_base_, ecc_v4, )

#define ECC_DC_LIST(pre)                                                                 \
    {NULL, pre##1, pre##2, pre##3, pre##4, pre##5, pre##6, pre##7},                      \
    {NULL, pre##dw1, pre##dw2, pre##dw3, pre##dw4, pre##dw5, pre##dw6, pre##dw7}

/* Best first; "off" last. */
static const ecc_dc_variant ecc_dc_variants[] = {
#if defined(__x86_64__) || defined(__i386__)
    {"avx512", 32, 7, ECC_DC_LIST(ecc_dc_avx512_), ecc_dc_has_avx512},
    {"avx2", 16, 6, ECC_DC_LIST(ecc_dc_avx2_), ecc_dc_has_avx2},
#endif
    {"base", 8, 4, ECC_DC_LIST(ecc_dc_base_), NULL},
    {"off", 0, 0, {NULL}, {NULL}, NULL},
};
#define ECC_DC_N (sizeof ecc_dc_variants / sizeof ecc_dc_variants[0])

static bool ecc_dc_cpu_runs(const ecc_dc_variant *v) { return !v->cpu_runs || v->cpu_runs(); }

static const ecc_dc_variant *ecc_dc_current;
static pthread_once_t ecc_dc_once = PTHREAD_ONCE_INIT;

static void ecc_dc_choose(void) {
    for (size_t i = 0; i < ECC_DC_N; i++)
        if (ecc_dc_cpu_runs(&ecc_dc_variants[i])) {
            ecc_dc_current = &ecc_dc_variants[i];
            return;
        }
}

static const ecc_dc_variant *ecc_dc_get(void) {
    pthread_once(&ecc_dc_once, ecc_dc_choose);
    return ecc_dc_current;
}

const char *ecc_conv_direct_variant(void) { return ecc_dc_get()->name; }

bool ecc_conv_direct_select(const char *name) {
    ecc_dc_get();
    if (strcmp(name, "auto") == 0) {
        ecc_dc_choose();
        return true;
    }
    for (size_t i = 0; i < ECC_DC_N; i++)
        if (strcmp(ecc_dc_variants[i].name, name) == 0) {
            if (!ecc_dc_cpu_runs(&ecc_dc_variants[i])) return false;
            ecc_dc_current = &ecc_dc_variants[i];
            return true;
        }
    return false;
}

/* ---------------- geometry ---------------- */

static int64_t ecc_dc_hp(const ecc_window *g) { return g->in[1] + g->pb[1] + g->pe[1]; }
static int64_t ecc_dc_wp(const ecc_window *g) { return g->in[2] + g->pb[2] + g->pe[2]; }
static int64_t ecc_dc_blocks(const ecc_window *g) {
    int64_t b = ecc_dc_get()->block;
    return (g->mg + b - 1) / b;
}

bool ecc_conv_direct_applies(const ecc_window *g) {
    if (!ecc_dc_get()->tile[1] || g->sp > 2 || ecc_window_pointwise(g)) return false;
    return g->cg > 0 && g->mg > 0 && g->out[1] > 0 && g->out[2] > 0;
}

bool ecc_conv_direct_sizes(const ecc_window *g, int64_t *packed, int64_t *plane) {
    int64_t n;
    if (!ecc_mul_i64(g->cg, g->k_sz, &n) || !ecc_mul_i64(n, ecc_dc_get()->block, &n) ||
        !ecc_mul_i64(n, ecc_dc_blocks(g), &n) || !ecc_mul_i64(n, g->group, packed))
        return false;
    return ecc_mul_i64(g->cg, ecc_dc_hp(g), &n) && ecc_mul_i64(n, ecc_dc_wp(g), plane);
}

void ecc_conv_direct_pack(const ecc_window *g, const float *w, float *packed) {
    int64_t b = ecc_dc_get()->block, nb = ecc_dc_blocks(g), kdim = g->cg * g->k_sz;
    for (int64_t gr = 0; gr < g->group; gr++)
        for (int64_t blk = 0; blk < nb; blk++) {
            float *dst = packed + (gr * nb + blk) * kdim * b;
            for (int64_t v = 0; v < b; v++) {
                int64_t m = blk * b + v;
                const float *src = m < g->mg ? w + (gr * g->mg + m) * kdim : NULL;
                for (int64_t i = 0; i < kdim; i++) dst[i * b + v] = src ? src[i] : 0.0f;
            }
        }
}

void ecc_conv_direct_pad(const ecc_window *g, const float *x, float *plane) {
    int64_t hp = ecc_dc_hp(g), wp = ecc_dc_wp(g), h = g->in[1], w = g->in[2];
    for (int64_t c = 0; c < g->cg; c++) {
        float *dst = plane + c * hp * wp;
        memset(dst, 0, (size_t)(g->pb[1] * wp) * sizeof *dst);
        for (int64_t i = 0; i < h; i++) {
            float *r = dst + (g->pb[1] + i) * wp;
            memset(r, 0, (size_t)g->pb[2] * sizeof *r);
            memcpy(r + g->pb[2], x + (c * h + i) * w, (size_t)w * sizeof *r);
            memset(r + g->pb[2] + w, 0, (size_t)g->pe[2] * sizeof *r);
        }
        memset(dst + (g->pb[1] + h) * wp, 0, (size_t)(g->pe[1] * wp) * sizeof *dst);
    }
}

int64_t ecc_conv_direct_rows(const ecc_window *g) { return ecc_dc_blocks(g) * g->out[1]; }

/* One output row of a block: OW columns in ceil(OW / p) tiles, the first
 * OW % tiles of them one column wider than the rest. */
static void ecc_dc_row(const ecc_dc_variant *v, const ecc_dc_geom *t, int64_t ow_n,
                       const float *x, const float *w, const float *b, int64_t mv, float *y,
                       bool acc) {
    int64_t tiles = (ow_n + v->p - 1) / v->p, narrow = ow_n / tiles, wide = ow_n % tiles;
    int64_t ow = 0;
    for (int64_t i = 0; i < tiles; i++) {
        int64_t width = narrow + (i < wide);
        v->tile[width](t, x + ow * t->sw, w, b, mv, y + ow, acc);
        ow += width;
    }
}

void ecc_conv_direct_run(const ecc_window *g, int64_t gr, const float *plane,
                         const float *packed, const float *bias, float *y, int64_t row_begin,
                         int64_t row_end, bool accumulate) {
    const ecc_dc_variant *v = ecc_dc_get();
    int64_t oh_n = g->out[1], ow_n = g->out[2], wp = ecc_dc_wp(g), kdim = g->cg * g->k_sz;
    packed += gr * ecc_dc_blocks(g) * v->block * kdim;
    bias = bias ? bias + gr * g->mg : NULL;
    ecc_dc_geom t = {g->cg, ecc_dc_hp(g) * wp, wp, g->k[1], g->k[2], g->s[2], g->d[1], g->d[2],
                     oh_n * ow_n};
    for (int64_t row = row_begin; row < row_end; row++) {
        int64_t blk = row / oh_n, oh = row % oh_n, m0 = blk * v->block;
        int64_t mv = g->mg - m0 < v->block ? g->mg - m0 : v->block;
        ecc_dc_row(v, &t, ow_n, plane + oh * g->s[1] * wp, packed + blk * kdim * v->block,
                   bias ? bias + m0 : NULL, mv, y + m0 * t.plane + oh * ow_n, accumulate);
    }
}

/* ---------------- dW ---------------- */

int64_t ecc_conv_direct_dw_ld(const ecc_window *g) {
    return ecc_dc_blocks(g) * ecc_dc_get()->block;
}

void ecc_conv_direct_dyt(const ecc_window *g, const float *dy, float *dyt) {
    int64_t ld = ecc_conv_direct_dw_ld(g), sz = g->out_sz;
    for (int64_t p = 0; p < sz; p++) {
        float *row = dyt + p * ld;
        for (int64_t m = 0; m < g->mg; m++) row[m] = dy[m * sz + p];
        for (int64_t m = g->mg; m < ld; m++) row[m] = 0.0f;
    }
}

/* Weight columns (c, kh, kw) per task: the widest tile's. */
static int64_t ecc_dw_groups(const ecc_window *g) {
    int64_t q = ecc_dc_get()->p;
    return (g->cg * g->k_sz + q - 1) / q;
}

int64_t ecc_conv_direct_dw_tasks(const ecc_window *g) {
    return g->group * ecc_dc_blocks(g) * ecc_dw_groups(g);
}

void ecc_conv_direct_dw_run(const ecc_window *g, const float *planes, const float *dyt,
                            float *dw, int64_t task_begin, int64_t task_end) {
    const ecc_dc_variant *v = ecc_dc_get();
    int64_t wp = ecc_dc_wp(g), chan = ecc_dc_hp(g) * wp, plane = g->cg * chan;
    int64_t kdim = g->cg * g->k_sz, ld = ecc_conv_direct_dw_ld(g), sz = g->out_sz;
    int64_t cols = ecc_dw_groups(g), blocks = ecc_dc_blocks(g);
    ecc_dw_geom t = {g->out[1], g->out[2], g->s[1] * wp, g->s[2], ld};
    for (int64_t task = task_begin; task < task_end; task++) {
        int64_t gr = task / (blocks * cols), blk = task / cols % blocks;
        int64_t c0 = task % cols * v->p, m0 = blk * v->block, off[ECC_DC_PMAX];
        int64_t width = kdim - c0 < v->p ? kdim - c0 : v->p;
        int64_t mv = g->mg - m0 < v->block ? g->mg - m0 : v->block;
        for (int64_t q = 0; q < width; q++) {
            int64_t r = c0 + q, kw = r % g->k[2], kh = r / g->k[2] % g->k[1];
            off[q] = r / g->k_sz * chan + kh * g->d[1] * wp + kw * g->d[2];
        }
        float *out = dw + (gr * g->mg + m0) * kdim + c0;
        for (int64_t n = 0; n < g->n; n++) {
            int64_t ig = n * g->group + gr;
            v->dw[width](&t, dyt + ig * sz * ld + m0, planes + ig * plane, off, mv, out, kdim);
        }
    }
}
