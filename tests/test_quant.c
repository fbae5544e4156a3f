/* test_quant.c — quantization: the arithmetic (round half to even, ranges,
 * scale/zero point, INT4 packing low nibble first, grouped layouts, the
 * measured fake quantization), the calibration observers (entropy ties
 * included), `quant-weight` (RTN annotations, lowering to opset-21 blocked
 * DequantizeLinear that reproduces the pass's fake quantization bit for
 * bit, per-channel and per-tensor INT8, GPTQ beating RTN), `quant-const`
 * (which constants it takes, bit-exact lowering, excludes, an annotated
 * tensor final for later passes), `quant` (static: activation quantizers,
 * one shared Q/DQ per tensor, int32 biases, simulation matching the lowered
 * graph; dynamic: the integer-op form), misuse and non-finite weights
 * refused before any work, the opset upgrade rewrites, `equalize`, bias
 * correction and exclude/fallback — on graphs built with the IR API and run
 * with the interpreter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "quant_common.h"
#include "observers.h"
#include "weight_view.h"
#include "fixtures.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------- fixture and graph building ---------------- */

/* Passes are checked before they run, as the pipeline does. */
static int setup_opset(void **state, int64_t opset) {
    fixture_setup(state, opset);
    fixture *f = *state;
    f->m->ir_version = 7;
    f->check_first = true;
    return 0;
}
static int setup(void **state) { return setup_opset(state, 13); }
static int setup11(void **state) { return setup_opset(state, 11); }

/* A fresh fixture (opset 13) in place of the one in state. */
static fixture *restart(void **state) {
    fixture_teardown(state);
    setup(state);
    return *state;
}

/* Calibration samples in [0, 1) (per-channel offsets make ranges differ). */
static void write_calib(fixture *f, int32_t rank, const int64_t *dims) {
    int64_t n = numel_of(rank, dims);
    float *samples = malloc((size_t)n * sizeof *samples), common = 0;
    assert_non_null(samples);
    for (int64_t i = 0; i < n; i++) {
        if (i % 4 == 0) common = frand(f, 0, 1); /* correlated neighbours (GPTQ has work) */
        samples[i] = 0.5f * common + 0.5f * frand(f, 0, 1);
    }
    write_calib_samples(f, rank, dims, samples);
    free(samples);
}

/* The first n floats of the calibration file (after its header). */
static void read_calib(fixture *f, float *x, size_t n) {
    FILE *fp = fopen(f->calib, "rb");
    uint8_t pre[10];
    assert_non_null(fp);
    assert_int_equal(fread(pre, 1, 10, fp), 10);
    fseek(fp, 10 + (long)(pre[8] | pre[9] << 8), SEEK_SET);
    assert_int_equal(fread(x, sizeof *x, n, fp), n);
    fclose(fp);
}

/* x[2,8,6,6] → Conv 8→8 3×3 (+bias) → Relu → Flatten → Gemm transB=1 [16,288] (+bias)
 * → Relu → MatMul [16,40] → Add bias → y; the Relu output is also read by a Sigmoid
 * whose output is a second graph output (two consumers of one quantized tensor). */
static const int64_t XD[4] = {2, 8, 6, 6};

static void net(fixture *f) {
    int64_t wc[4] = {8, 8, 3, 3}, bc = 8, wg[2] = {16, 288}, bg = 16, wm[2] = {16, 40}, bm = 40;
    input(f, "x", 4, XD);
    init_f32(f, "conv.w", 4, wc, -0.5f, 0.5f);
    init_f32(f, "conv.b", 1, &bc, -0.1f, 0.1f);
    ecc_node *c = add(f, "Conv", "x conv.w conv.b", "c");
    assert_int_equal(ecc_node_set_attr_ints(f->ctx, c, "pads", (int64_t[]){1, 1, 1, 1}, 4), 0);
    add(f, "Relu", "c", "r");
    add(f, "Flatten", "r", "fl");
    init_f32(f, "fc.w", 2, wg, -0.1f, 0.1f);
    init_f32(f, "fc.b", 1, &bg, -0.1f, 0.1f);
    ecc_node *g = add(f, "Gemm", "fl fc.w fc.b", "g");
    assert_int_equal(ecc_node_set_attr_int(f->ctx, g, "transB", 1), ECC_OK);
    add(f, "Relu", "g", "gr");
    init_f32(f, "mm.w", 2, wm, -0.3f, 0.3f);
    init_f32(f, "mm.b", 1, &bm, -0.1f, 0.1f);
    add(f, "MatMul", "gr mm.w", "mm");
    add(f, "Add", "mm mm.b", "y");
    add(f, "Sigmoid", "gr", "side");
    output(f, "y");
    output(f, "side");
}

/* Calibration samples for net: 32 of x's shape. */
static const int64_t CALIB_DIMS[4] = {32, 8, 6, 6};

/* net with its calibration file written. */
static void net_calibrated(fixture *f) {
    net(f);
    write_calib(f, 4, CALIB_DIMS);
}

static void sample_x(fixture *f, float *x) {
    for (int64_t i = 0; i < 2 * 8 * 6 * 6; i++) x[i] = frand(f, 0, 1);
}

/* ---------------- arithmetic ---------------- */

static void test_round_half_even(void **state) {
    (void)state;
    const float in[] = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 0.49999997f, 3.7f, -3.7f, 1e9f};
    const float want[] = {0, 2, 2, 0, -2, -2, 0, 4, -4, 4194304.0f};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) assert_true(ecc_qround(in[i]) == want[i]);
    assert_true(ecc_qround(NAN) == 0.0f);
    assert_int_equal(ecc_qone(1000.0f, 1.0f, 0, -127, 127), 127);
    assert_int_equal(ecc_qone(-2.5f, 1.0f, 3, 0, 255), 1);
}

/* ecc_qfake_measured against ecc_qone value by value, at every length
 * around its lanes: NaN to 0, clamping at both ends, ties to even; the
 * sums are Σ x² and Σ (x - q)². */
static void test_qfake_measured(void **state) {
    (void)state;
    const float src[21] = {0.3f, -5.0f, 300.0f, NAN,  1.25f, 0.75f, -0.01f, 2.0f, 99.0f, -1.0f, 0.5f,
                           7.4f, -300.0f, 0.2f, 64.0f, 3.3f,  -2.6f, 0.0f,   1e9f, 4.9f,  -0.7f};
    const float s = 0.5f;
    const int32_t zp = 3, lo = 0, hi = 255;
    for (int64_t n = 0; n <= 21; n++) {
        float x[21];
        double sig = 1.0, noise = 2.0, want_sig = 1.0, want_noise = 2.0;
        memcpy(x, src, sizeof x);
        ecc_qfake_measured(x, n, s, zp, lo, hi, &sig, &noise);
        for (int64_t i = 0; i < 21; i++) {
            if (i >= n) {
                assert_memory_equal(&x[i], &src[i], sizeof x[i]); /* past n: untouched */
                continue;
            }
            float q = (float)(ecc_qone(src[i], s, zp, lo, hi) - zp) * s;
            assert_true(x[i] == q);
            double d = (double)src[i] - q;
            want_sig += (double)src[i] * src[i];
            want_noise += d * d;
        }
        if (n <= 3) { /* before the NaN: the sums are finite */
            assert_true(fabs(sig - want_sig) <= 1e-9 * want_sig);
            assert_true(fabs(noise - want_noise) <= 1e-9 * want_noise);
        } else {
            assert_true(isnan(sig) && isnan(noise));
        }
    }
    float x[3] = {-3.0f, 0.75f, 200.0f}; /* -3 clamps to lo, 200 to hi; 0.75/0.5 = 1.5 -> 2 */
    double sig = 0, noise = 0;
    ecc_qfake_measured(x, 3, s, zp, lo, hi, &sig, &noise);
    assert_true(x[0] == -1.5f && x[1] == 1.0f && x[2] == 126.0f);
}

static void test_formats_and_choose(void **state) {
    (void)state;
    int32_t lo, hi, zp;
    float s;
    ecc_qformat i8 = {8, true, true}, u8 = {8, false, false}, i4 = {4, true, true};
    ecc_qformat u4 = {4, false, false};
    ecc_qformat_range(&i8, &lo, &hi);
    assert_int_equal(lo, -127), assert_int_equal(hi, 127);
    ecc_qformat_range(&i4, &lo, &hi);
    assert_int_equal(lo, -7), assert_int_equal(hi, 7);
    ecc_qformat_range(&u4, &lo, &hi);
    assert_int_equal(lo, 0), assert_int_equal(hi, 15);
    assert_int_equal(ecc_qformat_dtype(&i4), ECC_DTYPE_INT4);
    assert_int_equal(ecc_qformat_dtype(&u8), ECC_DTYPE_UINT8);
    ecc_qformat_choose(&i8, -2.54, 1.0, &s, &zp);
    assert_float_equal(s, 0.02f, 1e-7), assert_int_equal(zp, 0);
    ecc_qformat_choose(&u8, -1.0, 1.0, &s, &zp); /* zp = round(127.5) = 128 (half to even) */
    assert_float_equal(s, 2.0f / 255, 1e-7), assert_int_equal(zp, 128);
    ecc_qformat_choose(&u8, 0.5, 2.0, &s, &zp); /* widened to hold 0 */
    assert_float_equal(s, 2.0f / 255, 1e-7), assert_int_equal(zp, 0);
    ecc_qformat_choose(&u8, 0, 0, &s, &zp); /* degenerate */
    assert_true(s == 1.0f), assert_int_equal(zp, 0);
    ecc_qformat_choose(&u4, -3, 0, &s, &zp);
    assert_float_equal(s, 0.2f, 1e-7), assert_int_equal(zp, 15);
}

static void test_pack_int4(void **state) {
    fixture *f = *state;
    const uint8_t codes[5] = {0x1, 0x2, 0xF, 0x7, 0x8};
    uint8_t packed[3] = {0xAA, 0xAA, 0xAA}, back[5];
    ecc_qpack4(codes, 5, packed);
    assert_int_equal(packed[0], 0x21), assert_int_equal(packed[1], 0x7F);
    assert_int_equal(packed[2], 0x08);
    ecc_qunpack4(packed, 5, back);
    assert_memory_equal(back, codes, 5);
    /* the IR's INT4 element access agrees (low nibble first, sign-extended) */
    ecc_tensor *t = NULL;
    int64_t n = 5;
    assert_int_equal(ecc_tensor_create(f->ctx, ECC_DTYPE_INT4, 1, &n, &t), ECC_OK);
    memcpy(t->data, packed, 3);
    ecc_qformat i4 = {4, true, true};
    for (int64_t i = 0; i < n; i++)
        assert_int_equal((int)ecc_tensor_get_f64(t, i), ecc_qcode_value(&i4, codes[i]));
    ecc_tensor_unref(t);
}

static void test_layout_groups(void **state) {
    fixture *f = *state;
    ecc_qlayout L;
    int64_t d2[2] = {4, 70}, dk[2] = {70, 3}, d4[4] = {5, 4, 3, 3}, sd[4];
    assert_int_equal(ecc_qlayout_make(f->ctx, 2, d2, ECC_QUANT_BLOCK, 1, 32, false, &L), 0);
    assert_int_equal(ecc_qlayout_groups(&L), 12);
    assert_int_equal(ecc_qlayout_group(&L, 1 * 70 + 65), 5);
    assert_int_equal(ecc_qlayout_scale_dims(&L, 2, d2, 1, false, sd), 2);
    assert_int_equal(sd[0], 4), assert_int_equal(sd[1], 3);
    assert_int_equal(ecc_qlayout_make(f->ctx, 2, dk, ECC_QUANT_BLOCK, 0, 32, false, &L), 0);
    assert_int_equal(ecc_qlayout_group(&L, 40 * 3 + 2), 1 * 3 + 2); /* [nb, N] */
    assert_int_equal(ecc_qlayout_make(f->ctx, 2, dk, ECC_QUANT_CHANNEL, 1, 0, false, &L), 0);
    assert_int_equal(ecc_qlayout_groups(&L), 3);
    assert_int_equal(ecc_qlayout_group(&L, 7), 1);
    /* flattened Conv blocks: [5, 36] with blocks of 32 */
    assert_int_equal(ecc_qlayout_make(f->ctx, 4, d4, ECC_QUANT_BLOCK, 1, 32, true, &L), 0);
    assert_int_equal(ecc_qlayout_groups(&L), 10);
    assert_int_equal(ecc_qlayout_group(&L, 36 + 33), 3);
    assert_int_equal(ecc_qlayout_scale_dims(&L, 4, d4, 1, true, sd), 2);
    /* quantize/dequantize agree with the QuantizeLinear formula */
    float w[280], s[12], back[280];
    int32_t zp[12];
    uint8_t codes[280];
    ecc_qformat u4 = {4, false, false};
    assert_int_equal(ecc_qlayout_make(f->ctx, 2, d2, ECC_QUANT_BLOCK, 1, 32, false, &L), 0);
    for (int i = 0; i < 280; i++) w[i] = frand(f, -1, 1);
    assert_true(ecc_qlayout_choose(w, &L, &u4, s, zp));
    ecc_qlayout_quantize(w, &L, &u4, s, zp, codes);
    ecc_qlayout_dequantize(codes, &L, &u4, s, zp, back);
    for (int i = 0; i < 280; i++) {
        int64_t g = ecc_qlayout_group(&L, i);
        double r = nearbyint((double)(w[i] / s[g])) + zp[g];
        r = r < 0 ? 0 : r > 15 ? 15 : r;
        assert_int_equal(codes[i], (int)r);
        assert_true(back[i] == (float)((int)r - zp[g]) * s[g]);
        assert_true(fabsf(back[i] - w[i]) <= s[g] * 0.5f + 1e-6f);
    }
}

/* ---------------- observers ---------------- */

static ecc_observer *observer(fixture *f, int method, double pct) {
    ecc_observer *o = NULL;
    ecc_observer_options oo = {sizeof oo, method, pct, 8, false};
    assert_int_equal(ecc_observer_create(f->ctx, &oo, &o), ECC_OK);
    return o;
}

/* 100000 values: 99.9% uniform in [0, 1], 0.1% outliers at 50. */
static void feed(fixture *f, ecc_observer *o, float *buf) {
    for (int pass = 0; pass < 2; pass++) {
        f->rng = 42;
        for (int chunk = 0; chunk < 10; chunk++) {
            for (int i = 0; i < 10000; i++) buf[i] = i % 1000 == 7 ? 50.0f : frand(f, 0, 1);
            ecc_observer_update(o, buf, 10000);
        }
        ecc_observer_next_pass(o);
    }
}

static void test_observers(void **state) {
    fixture *f = *state;
    float *buf = malloc(10000 * sizeof *buf);
    double lo, hi;
    ecc_observer *o = observer(f, ECC_OBS_MINMAX, 0);
    feed(f, o, buf);
    ecc_observer_range(o, &lo, &hi);
    assert_true(lo >= 0 && lo < 1e-3 && hi == 50.0);
    assert_int_equal(ecc_observer_count(o), 200000); /* minmax keeps counting */
    ecc_observer_free(o);
    o = observer(f, ECC_OBS_PERCENTILE, 99.0);
    feed(f, o, buf);
    ecc_observer_range(o, &lo, &hi);
    assert_true(hi > 0.9 && hi < 1.1);
    ecc_observer_free(o);
    o = observer(f, ECC_OBS_MSE, 0); /* the outliers are clipped, the bulk kept */
    feed(f, o, buf);
    ecc_observer_range(o, &lo, &hi);
    assert_true(hi >= 0.9 && hi <= 50.0); /* 8-bit rounding is cheap: it keeps the outliers */
    ecc_observer_free(o);
    o = observer(f, ECC_OBS_ENTROPY, 0); /* isolated outliers: KL is infinite below them */
    feed(f, o, buf);
    ecc_observer_range(o, &lo, &hi);
    assert_true(hi >= 0.9 && hi <= 50.0);
    ecc_observer_free(o);
    /* a few distinct values (0..4): the divergence is 0 (in exact arithmetic)
     * at every threshold that keeps each value alone in its level, and the
     * largest such threshold wins, keeping the whole range */
    static const int counts[5] = {813, 891, 2496, 1333, 1366}; /* rounding broke this tie */
    int n = 0;
    for (int v = 0; v < 5; v++)
        for (int k = 0; k < counts[v]; k++) buf[n++] = (float)v;
    o = observer(f, ECC_OBS_ENTROPY, 0);
    for (int pass = 0; pass < 2; pass++) {
        ecc_observer_update(o, buf, n);
        if (pass == 0) ecc_observer_next_pass(o);
    }
    ecc_observer_range(o, &lo, &hi);
    assert_true(lo == 0.0 && hi == 4.0);
    ecc_observer_free(o);
    /* minmax skips NaN and ±inf; the extremes may sit in any lane or the tail */
    o = observer(f, ECC_OBS_MINMAX, 0);
    float odd[19] = {1, NAN, 2, INFINITY, 3, -INFINITY, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
                     -3.5f, 42.0f};
    ecc_observer_update(o, odd, 19);
    ecc_observer_update(o, odd + 2, 5); /* a call shorter than the lanes */
    ecc_observer_range(o, &lo, &hi);
    assert_true(lo == -3.5 && hi == 42.0);
    assert_int_equal(ecc_observer_count(o), 16 + 3);
    float small[3] = {-7, NAN, 100};
    ecc_observer_update(o, small, 3);
    ecc_observer_range(o, &lo, &hi);
    assert_true(lo == -7.0 && hi == 100.0);
    ecc_observer_free(o);
    assert_int_equal(ecc_obs_method_find("entropy"), ECC_OBS_ENTROPY);
    assert_int_equal(ecc_obs_method_find("kl"), -1);
    ecc_observer_options bad = {sizeof bad, ECC_OBS_PERCENTILE, 20.0, 8, false};
    assert_int_equal(ecc_observer_create(f->ctx, &bad, &o), ECC_E_USAGE);
    assert_non_null(strstr(ecc_ctx_message(f->ctx), "(50, 100]"));
    free(buf);
}

/* ---------------- quant-weight ---------------- */

/* The output of net on x with each named tensor replaced by the fake
 * quantization through its quantizer (the tensors are restored after):
 * what the lowered model must compute bit for bit. */
static int64_t fake_quant_output(fixture *f, const char *const *names, int count, const float *x,
                                 float *ref) {
    ecc_tensor *orig[12];
    assert_true(count <= 12);
    for (int i = 0; i < count; i++) {
        ecc_value *w = V(names[i]);
        orig[i] = ecc_tensor_ref(w->init);
        ecc_tensor *c = NULL;
        assert_int_equal(ecc_tensor_clone(f->ctx, w->init, &c), ECC_OK);
        assert_int_equal(qc_fake_quant_weight(f->ctx, w->quant, w->init, c->data), ECC_OK);
        assert_int_equal(ecc_graph_set_initializer(f->ctx, f->m->graph, w, c), ECC_OK);
        ecc_tensor_unref(c);
    }
    int64_t n = run_model(f, x, 4, XD, ref, 160);
    for (int i = 0; i < count; i++) {
        assert_int_equal(ecc_graph_set_initializer(f->ctx, f->m->graph, V(names[i]), orig[i]), 0);
        ecc_tensor_unref(orig[i]);
    }
    return n;
}

static void test_quant_weight_rtn(void **state) {
    fixture *f = *state;
    net(f);
    run_pass(f, "quant-weight:block=32");
    const ecc_quantizer *q = V("fc.w")->quant;
    assert_non_null(q);
    assert_int_equal(q->bits, 4), assert_true(q->is_signed && q->symmetric);
    assert_int_equal(q->granularity, ECC_QUANT_BLOCK), assert_int_equal(q->block_size, 32);
    assert_int_equal(q->scale->rank, 2);
    assert_int_equal(q->scale->dims[0], 16), assert_int_equal(q->scale->dims[1], 9);
    assert_int_equal(V("conv.w")->quant->scale->rank, 2); /* flattened [8, 72] → [8, 3] */
    assert_int_equal(V("mm.w")->quant->axis, 0);          /* [K, N]: blocks along K */
    assert_true(stat(f, "weights.ratio") < 0.2); /* small rows: more scales per weight */
    assert_int_equal(ecc_model_opset(f->m, ""), 13); /* annotations only */
    float x[576], ref[160], got[160];
    sample_x(f, x);
    const char *ws[] = {"conv.w", "fc.w", "mm.w"};
    int64_t n = fake_quant_output(f, ws, 3, x, ref);
    lower(f);
    assert_int_equal(ecc_model_opset(f->m, ""), 21);
    assert_true(f->m->ir_version >= 10);
    assert_int_equal(count_op(f->m->graph, "DequantizeLinear"), 3);
    assert_int_equal(count_op(f->m->graph, "Reshape"), 1); /* the flattened Conv weight */
    ecc_node *dq = find_op(f->m->graph, "DequantizeLinear");
    assert_int_equal(ecc_node_attr_int(dq, "block_size", 0), 32);
    assert_int_equal(dq->inputs[0]->init->dtype, ECC_DTYPE_INT4);
    assert_null(V("fc.w")->init); /* the float weight is gone */
    assert_int_equal(run_model(f, x, 4, XD, got, 160), n);
    assert_memory_equal(got, ref, (size_t)n * sizeof(float)); /* bit for bit */
}

/* block=auto (the default): about 32 kept weights per scale. */
static void test_quant_weight_auto_block(void **state) {
    fixture *f = *state;
    net(f);
    /* kept 25%: blocks of 128 hold 32 kept weights; fc (k 288) gets them, conv
     * (k 72) and mm (k 16) would have one block per row: per channel */
    run_pass(f, "prune:sparsity=0.75:head=true:min_params=0:scope=layer");
    run_pass(f, "quant-weight");
    assert_true(V("fc.w")->mask && V("conv.w")->mask && V("mm.w")->mask);
    assert_int_equal(V("fc.w")->quant->granularity, ECC_QUANT_BLOCK);
    assert_int_equal(V("fc.w")->quant->block_size, 128);
    assert_int_equal(V("conv.w")->quant->granularity, ECC_QUANT_CHANNEL);
    assert_int_equal(V("mm.w")->quant->granularity, ECC_QUANT_CHANNEL);
    assert_int_equal(V("mm.w")->quant->axis, 1);
    lower(f);
    assert_int_equal(count_op(f->m->graph, "DequantizeLinear"), 3);
}

static void test_quant_weight_auto_dense(void **state) {
    fixture *f = *state;
    net(f);
    run_pass(f, "quant-weight:bits=8");
    assert_int_equal(V("fc.w")->quant->block_size, 32);
    assert_int_equal(V("conv.w")->quant->block_size, 32);
    assert_int_equal(V("mm.w")->quant->granularity, ECC_QUANT_CHANNEL); /* k 16 < 32 */
}

static void test_quant_weight_channel8(void **state) {
    fixture *f = *state;
    net(f);
    run_pass(f, "quant-weight:bits=8:block=channel:scheme=asym");
    const ecc_quantizer *q = V("fc.w")->quant;
    assert_int_equal(q->granularity, ECC_QUANT_CHANNEL), assert_int_equal(q->axis, 0);
    assert_false(q->is_signed);
    assert_non_null(q->zero_point);
    assert_int_equal(V("mm.w")->quant->axis, 1);
    lower(f);
    assert_int_equal(ecc_model_opset(f->m, ""), 13);
    ecc_node *dq = find_op(f->m->graph, "DequantizeLinear");
    assert_int_equal(dq->n_inputs, 3);
    assert_int_equal(dq->inputs[0]->init->dtype, ECC_DTYPE_UINT8);
    float x[576], y[160];
    sample_x(f, x);
    run_model(f, x, 4, XD, y, 160);
}

/* Mean squared output error of the MatMul layer over calibration-like inputs. */
static double mm_error(fixture *f, const char *spec) {
    int64_t xd[2] = {64, 48}, wd[2] = {48, 24};
    input(f, "x", 2, xd);
    init_f32(f, "w", 2, wd, -1, 1);
    add(f, "MatMul", "x w", "y");
    output(f, "y");
    write_calib(f, 2, xd);
    float *x = malloc(64 * 48 * sizeof *x), ref[64 * 24], got[64 * 24];
    read_calib(f, x, 64 * 48);
    run_model(f, x, 2, xd, ref, 64 * 24);
    run_pass(f, spec);
    lower(f);
    run_model(f, x, 2, xd, got, 64 * 24);
    double e = 0;
    for (int i = 0; i < 64 * 24; i++) e += (got[i] - ref[i]) * (got[i] - ref[i]);
    free(x);
    return e / (64 * 24);
}

/* block=tensor: one scale per weight, RTN and GPTQ; 8 bits lower at opset 10
 * (the fixture's 13 stays) with no axis, reproducing the annotation. */
static void test_quant_weight_tensor(void **state) {
    const char *specs[] = {"quant-weight:bits=8:block=tensor",
                           "quant-weight:bits=8:block=tensor:method=gptq"};
    for (int k = 0; k < 2; k++) {
        fixture *f = k ? restart(state) : *state;
        net_calibrated(f);
        run_pass(f, specs[k]);
        const char *ws[] = {"conv.w", "fc.w", "mm.w"};
        for (int i = 0; i < 3; i++) {
            const ecc_quantizer *q = V(ws[i])->quant;
            assert_int_equal(q->granularity, ECC_QUANT_TENSOR);
            assert_int_equal(q->scale->numel, 1);
            assert_null(q->zero_point);
            assert_true(stat(f, "opset") == 13);
        }
        float x[576], ref[160], got[160];
        sample_x(f, x);
        int64_t n = fake_quant_output(f, ws, 3, x, ref);
        lower(f);
        assert_int_equal(ecc_model_opset(f->m, ""), 13);
        ecc_node *dq = find_op(f->m->graph, "DequantizeLinear");
        assert_int_equal(ecc_node_attr_int(dq, "axis", -99), -99);
        assert_int_equal(dq->inputs[1]->init->numel, 1);
        assert_int_equal(run_model(f, x, 4, XD, got, 160), n);
        assert_memory_equal(got, ref, (size_t)n * sizeof(float));
    }
}

/* out = BatchNormalization(in) with parameters bn.s, bn.b, bn.m, bn.v of d
 * elements. */
static void add_bn(fixture *f, const char *in, const char *out, int64_t d) {
    char ins[128];
    init_f32(f, "bn.s", 1, &d, 0.5f, 1.5f);
    init_f32(f, "bn.b", 1, &d, -0.2f, 0.2f);
    init_f32(f, "bn.m", 1, &d, -0.5f, 0.5f);
    init_f32(f, "bn.v", 1, &d, 0.5f, 2.0f);
    snprintf(ins, sizeof ins, "%s bn.s bn.b bn.m bn.v", in);
    add(f, "BatchNormalization", ins, out);
}

/* net plus the constants quant-const looks at: x → … → y, then
 * z = BatchNormalization(y + tab, bn.s, bn.b, bn.m, bn.v) / div, tab from a
 * Constant node; the variance bn.v and the divisor div are not data and
 * stay float. */
static void const_net(fixture *f) {
    int64_t d = 40;
    net(f);
    ecc_tensor *t = tensor(f, ECC_DTYPE_FLOAT, 1, &d);
    for (int64_t i = 0; i < d; i++) ((float *)t->data)[i] = frand(f, -2, 2);
    ecc_node *c = add(f, "Constant", "", "tab");
    ecc_attr a = {.name = "value", .type = ECC_ATTR_TENSOR, .t = t};
    assert_int_equal(ecc_node_set_attr(f->ctx, c, &a), ECC_OK);
    ecc_tensor_unref(t);
    add(f, "Add", "y tab", "yt");
    add_bn(f, "yt", "bn", d);
    init_f32(f, "div", 1, &d, 1.0f, 2.0f);
    add(f, "Div", "bn div", "z");
    output(f, "z");
}

static void test_quant_const(void **state) {
    fixture *f = *state;
    const_net(f);
    run_pass(f, "quant-weight:bits=8:block=channel");
    const ecc_quantizer *wq = V("mm.w")->quant;
    run_pass(f, "quant-const:min_size=16");
    assert_ptr_equal(V("mm.w")->quant, wq); /* a weight's annotation is left alone */
    const char *taken[] = {"tab", "bn.s", "bn.b", "bn.m", "mm.b"};
    for (int i = 0; i < 5; i++) {
        const ecc_quantizer *q = V(taken[i])->quant;
        assert_non_null(q);
        assert_int_equal(q->bits, 8), assert_true(q->is_signed && q->symmetric);
        assert_int_equal(q->granularity, ECC_QUANT_TENSOR);
        assert_non_null(V(taken[i])->init); /* the Constant node became an initializer */
        assert_true(stat(f, "tensor.bn.s.sqnr_db") > 30);
    }
    assert_null(V("div")->quant), assert_null(V("bn.v")->quant);
    assert_null(V("conv.b")->quant); /* 8 elements < min_size */
    assert_true(stat(f, "constants.quantized") == 6); /* and fc.b (16) */
    assert_true(stat(f, "constants.float") == 2);
    assert_true(stat(f, "constants.bytes_after") < stat(f, "constants.bytes_before") / 3);
    assert_int_equal(count_op(f->m->graph, "Constant"), 0);
    float x[576], ref[160], got[160];
    sample_x(f, x);
    const char *qs[] = {"conv.w", "fc.w", "mm.w", "tab", "bn.s", "bn.b", "bn.m", "mm.b", "fc.b"};
    int64_t n = fake_quant_output(f, qs, 9, x, ref);
    lower(f);
    assert_int_equal(count_op(f->m->graph, "DequantizeLinear"), 9);
    assert_null(V("tab")->init);
    assert_int_equal(run_model(f, x, 4, XD, got, 160), n);
    assert_memory_equal(got, ref, (size_t)n * sizeof(float));
    /* exclude by constant or reading-node name; a glob matching nothing is refused */
    f = restart(state);
    const_net(f);
    run_pass(f, "quant-const:min_size=16:exclude=bn|tab");
    assert_null(V("bn.s")->quant), assert_null(V("tab")->quant);
    assert_non_null(V("mm.b")->quant);
    assert_int_equal(try_pass(f, "quant-const:exclude=nothing*"), ECC_E_USAGE);
    assert_non_null(strstr(ecc_ctx_message(f->ctx), "nothing*"));
}

/* scale=auto: a table whose rows differ in magnitude (×1 … ×128) gets one
 * scale per row, a table of even rows and a vector stay per tensor; lowered,
 * the model computes what the annotations say, with per-axis
 * DequantizeLinear; with calibration data the first output's fidelity is
 * reported (y2 reads row 5 of both tables). */
static void test_quant_const_scale_auto(void **state) {
    fixture *f = *state;
    int64_t td[2] = {32, 40}, one = 1, idx = 5;
    net_calibrated(f);
    float *r = init_f32(f, "rows", 2, td, -1, 1)->init->data;
    for (int64_t i = 0; i < 32 * 40; i++) r[i] *= (float)(1 << (i / 40 % 8));
    init_f32(f, "even", 2, td, -1, 1);
    init_i64(f, "idx", 1, &one, &idx);
    add(f, "Gather", "rows idx", "g_rows");
    add(f, "Gather", "even idx", "g_even");
    add(f, "Add", "y g_rows", "y1");
    add(f, "Add", "y1 g_even", "y2");
    V("y")->flags &= ~ECC_VALUE_OUTPUT;
    V("y2")->flags |= ECC_VALUE_OUTPUT;
    f->m->graph->outputs.items[0] = V("y2");
    run_pass(f, "quant-const:min_size=16:scale=auto");
    const ecc_quantizer *q = V("rows")->quant;
    assert_int_equal(q->granularity, ECC_QUANT_CHANNEL);
    assert_int_equal(q->axis, 0);
    assert_int_equal(q->scale->numel, 32);
    assert_int_equal(V("even")->quant->granularity, ECC_QUANT_TENSOR);
    assert_int_equal(V("mm.b")->quant->granularity, ECC_QUANT_TENSOR); /* rank 1 */
    double auto_rows = stat(f, "tensor.rows.sqnr_db"), sq = stat(f, "calib.output_sqnr_db");
    assert_true(isfinite(sq) && sq > 20 && sq < 200);
    assert_true(stat(f, "calib.top1_agreement") >= 0.9);
    float x[576], ref[160], got[160];
    sample_x(f, x);
    const char *qs[] = {"rows", "even", "mm.b", "fc.b"};
    int64_t n = fake_quant_output(f, qs, 4, x, ref);
    lower(f);
    ecc_node *dq = V("g_rows")->producer->inputs[0]->producer;
    assert_string_equal(dq->op_type, "DequantizeLinear");
    assert_int_equal(ecc_node_attr_int(dq, "axis", -1), 0);
    assert_int_equal(run_model(f, x, 4, XD, got, 160), n);
    assert_memory_equal(got, ref, (size_t)n * sizeof(float));
    /* per tensor (the default) stores the uneven table worse */
    f = restart(state);
    net(f);
    r = init_f32(f, "rows", 2, td, -1, 1)->init->data;
    for (int64_t i = 0; i < 32 * 40; i++) r[i] *= (float)(1 << (i / 40 % 8));
    add(f, "Gather", "rows idx", "g_rows");
    init_i64(f, "idx", 1, &one, &idx);
    add(f, "Add", "y g_rows", "y1");
    output(f, "y1");
    run_pass(f, "quant-const:min_size=16");
    assert_int_equal(V("rows")->quant->granularity, ECC_QUANT_TENSOR);
    assert_true(stat(f, "tensor.rows.sqnr_db") < auto_rows - 5); /* 7.8 dB in theory */
    assert_false(has_stat(f, "calib.output_sqnr_db")); /* no data, no fidelity line */
}

/* An annotated tensor is final: quant after quant-const neither corrects
 * nor makes int32 the biases quant-const took, and equalize does not rescale
 * them. */
static void test_quant_const_is_final(void **state) {
    fixture *f = *state;
    net_calibrated(f);
    run_pass(f, "quant-const:min_size=8");
    float b0[40];
    memcpy(b0, V("mm.b")->init->data, sizeof b0);
    const ecc_quantizer *cq = V("conv.b")->quant;
    run_pass(f, "quant");
    assert_ptr_equal(V("conv.b")->quant, cq);
    assert_int_equal(V("conv.b")->quant->bits, 8);
    assert_memory_equal(V("mm.b")->init->data, b0, sizeof b0);
    f = restart(state);
    net_calibrated(f);
    run_pass(f, "quant");
    assert_int_equal(V("conv.b")->quant->bits, 32); /* the other order: int32 */
    run_pass(f, "quant-const:min_size=8");
    assert_int_equal(V("conv.b")->quant->bits, 32);
    assert_non_null(V("mm.b")->quant);
    lower(f);
    float x[576], y[160];
    sample_x(f, x);
    run_model(f, x, 4, XD, y, 160);
    /* fold-bn would fold annotated BatchNormalization parameters or write an
     * annotated Conv bias: it leaves the BN in place and says why */
    int64_t cw[4] = {8, 8, 3, 3}, c8 = 8;
    for (int k = 0; k < 2; k++) {
        f = restart(state);
        input(f, "x", 4, XD);
        init_f32(f, "conv.w", 4, cw, -0.5f, 0.5f);
        init_f32(f, "conv.b", 1, &c8, -0.1f, 0.1f);
        add(f, "Conv", "x conv.w conv.b", "c");
        add_bn(f, "c", "y", c8);
        output(f, "y");
        run_pass(f, k ? "quant-const:min_size=8:exclude=bn*"
                      : "quant-const:min_size=8:exclude=conv.b");
        assert_non_null(V(k ? "conv.b" : "bn.s")->quant);
        run_pass(f, "fold-bn");
        assert_true(stat(f, "folded") == 0 && stat(f, "skipped") == 1);
        assert_int_equal(count_op(f->m->graph, "BatchNormalization"), 1);
        assert_non_null(V(k ? "conv.b" : "bn.s")->quant);
    }
    /* equalize would rescale a quantized bias: it leaves the pair alone */
    f = restart(state);
    net(f);
    run_pass(f, "quant-const:min_size=8");
    float c0[8];
    memcpy(c0, V("conv.b")->init->data, sizeof c0);
    run_pass(f, "equalize");
    assert_true(stat(f, "pairs") == 0);
    assert_memory_equal(V("conv.b")->init->data, c0, sizeof c0);
}

static void test_gptq_beats_rtn(void **state) {
    fixture *f = *state;
    double rtn = mm_error(f, "quant-weight:bits=4:block=32");
    f = restart(state);
    double gptq = mm_error(f, "quant-weight:bits=4:block=32:method=gptq");
    f = restart(state);
    double ao = mm_error(f, "quant-weight:bits=4:block=32:method=gptq:act_order=true");
    if (!(gptq < rtn && ao < rtn)) fail_msg("rtn %g, gptq %g, act-order %g", rtn, gptq, ao);
}

/* ---------------- quant: static and dynamic ---------------- */

static void test_quant_static(void **state) {
    fixture *f = *state;
    net(f);
    write_calib(f, 4, CALIB_DIMS);
    float x[576], ref[160], got[160];
    sample_x(f, x);
    int64_t n = run_model(f, x, 4, XD, ref, 160);
    run_pass(f, "quant");
    /* annotations: x, r (conv+relu absorbed), fl (tied to r), gr (absorbed), mm
     * (MatMul output before its bias Add); not y (a graph output) */
    const char *act[] = {"x", "r", "fl", "gr", "mm"};
    for (int i = 0; i < 5; i++) {
        const ecc_quantizer *q = V(act[i])->quant;
        if (!q || !q->scale) fail_msg("no activation quantizer on '%s'", act[i]);
        assert_int_equal(q->bits, 8), assert_false(q->is_signed);
    }
    assert_null(V("y")->quant);
    assert_null(V("c")->quant);
    assert_true(V("fl")->quant->scale == V("r")->quant->scale); /* shared range */
    assert_int_equal(V("conv.b")->quant->bits, 32);
    assert_int_equal(V("fc.w")->quant->granularity, ECC_QUANT_CHANNEL);
    double sim = stat(f, "calib.output_sqnr_db");
    lower(f);
    assert_int_equal(count_op(f->m->graph, "QuantizeLinear"), 5);
    /* gr feeds MatMul and Sigmoid through one pair */
    ecc_value *gdq = find_op(f->m->graph, "MatMul")->inputs[0];
    assert_string_equal(gdq->producer->op_type, "DequantizeLinear");
    assert_true(V("side")->producer->inputs[0] == gdq);
    ecc_node *conv = find_op(f->m->graph, "Conv");
    const ecc_tensor *bq = conv->inputs[2]->producer->inputs[0]->init;
    assert_int_equal(bq->dtype, ECC_DTYPE_INT32);
    int64_t m = run_model(f, x, 4, XD, got, 160);
    assert_int_equal(m, n);
    double e = qc_sqnr_db(ref, got, 80); /* output y */
    if (!(e > 20.0)) fail_msg("static W8A8 output SQNR %.1f dB", e);
    (void)sim;
}

/* Output y over all calibration samples, two at a time (the input is [2, …]). */
static void run_calib(fixture *f, float *y) {
    float *x = malloc(32 * 288 * sizeof *x);
    read_calib(f, x, 32 * 288);
    float out[160];
    for (int s = 0; s < 32; s += 2) {
        run_model(f, x + s * 288, 4, XD, out, 160);
        memcpy(y + s * 40, out, 80 * sizeof *out);
    }
    free(x);
}

static void test_quant_sim_matches_lowering(void **state) {
    fixture *f = *state;
    float *ref = malloc(32 * 40 * sizeof *ref), *got = malloc(32 * 40 * sizeof *got);
    net_calibrated(f);
    run_calib(f, ref);
    run_pass(f, "quant");
    double sim = stat(f, "calib.output_sqnr_db");
    assert_true(stat(f, "activations.quantized") == 5);
    assert_true(stat(f, "tensor.r.sqnr_db") > 20.0);
    lower(f);
    run_calib(f, got);
    double real = qc_sqnr_db(ref, got, 32 * 40);
    if (!(fabs(real - sim) < 0.5)) fail_msg("simulated %.2f dB, lowered %.2f dB", sim, real);
    free(ref);
    free(got);
}

static void test_quant_dynamic(void **state) {
    fixture *f = *state;
    net(f);
    float x[576], ref[160], got[160];
    sample_x(f, x);
    run_model(f, x, 4, XD, ref, 160);
    run_pass(f, "quant:mode=dynamic");
    assert_non_null(V("x")->quant), assert_null(V("x")->quant->scale);
    lower(f);
    assert_int_equal(count_op(f->m->graph, "DynamicQuantizeLinear"), 3);
    assert_int_equal(count_op(f->m->graph, "ConvInteger"), 1);
    assert_int_equal(count_op(f->m->graph, "MatMulInteger"), 2); /* Gemm and MatMul */
    assert_int_equal(count_op(f->m->graph, "QuantizeLinear"), 0);
    run_model(f, x, 4, XD, got, 160);
    double e = qc_sqnr_db(ref, got, 80);
    if (!(e > 25.0)) fail_msg("dynamic output SQNR %.1f dB", e);
}

/* ---------------- misuse ---------------- */

static void expect_refused(fixture *f, const char *spec, ecc_status code, const char *text) {
    int rc = try_pass(f, spec);
    if (rc != (int)code) fail_msg("%s: got %d, want %d (%s)", spec, rc, code, ecc_ctx_message(f->ctx));
    if (!strstr(ecc_ctx_message(f->ctx), text))
        fail_msg("%s: message '%s' lacks '%s'", spec, ecc_ctx_message(f->ctx), text);
}

static void test_misuse(void **state) {
    fixture *f = *state;
    net(f);
    expect_refused(f, "quant", ECC_E_USAGE, "--calib");
    expect_refused(f, "quant-weight:method=gptq", ECC_E_USAGE, "--calib");
    expect_refused(f, "quant-weight:bits=3", ECC_E_USAGE, "4|8");
    expect_refused(f, "quant:bits=4", ECC_E_USAGE, "8");
    expect_refused(f, "quant-weight:max_opset=13", ECC_E_USAGE, "max_opset");
    expect_refused(f, "quant:mode=dynamic:max_opset=12", ECC_E_USAGE, "per_channel=false");
    expect_refused(f, "quant:mode=dynamic:fallback=auto", ECC_E_USAGE, "mode=static");
    expect_refused(f, "quant-weight:act_order=true", ECC_E_USAGE, "gptq");
    expect_refused(f, "quant:mode=dynamic:exclude=zz*", ECC_E_USAGE, "matches no layer");
    int64_t bad[3] = {4, 5, 5};
    write_calib(f, 3, bad);
    expect_refused(f, "quant", ECC_E_INPUT, "do not fit");
    for (size_t i = 0; i < f->m->graph->values.n; i++) /* nothing annotated */
        assert_null(((ecc_value *)f->m->graph->values.items[i])->quant);
}

/* A non-finite weight is refused before any annotation, naming the tensor,
 * its layer and the first bad element; a non-finite bias of a layer `quant`
 * takes likewise. Report numbers for SQNRs JSON cannot hold. */
static void test_nonfinite(void **state) {
    fixture *f = *state;
    net_calibrated(f);
    float *w = ecc_graph_find(f->m->graph, "fc.w")->init->data;
    w[2 * 288 + 7] = NAN;
    w[5 * 288] = INFINITY;
    const char *want = "weight 'fc.w' of g holds 2 non-finite values (the first, NaN, at [2,7])";
    expect_refused(f, "quant-weight", ECC_E_INPUT, want);
    expect_refused(f, "quant", ECC_E_INPUT, want);
    expect_refused(f, "prune:head=true", ECC_E_INPUT, want);
    for (size_t i = 0; i < f->m->graph->values.n; i++) /* nothing annotated */
        assert_null(((ecc_value *)f->m->graph->values.items[i])->quant);
    w[2 * 288 + 7] = w[5 * 288] = 0.0f;
    ((float *)ecc_graph_find(f->m->graph, "conv.b")->init->data)[6] = -INFINITY;
    expect_refused(f, "quant", ECC_E_INPUT, "bias 'conv.b' of c holds 1 non-finite value (the first, -inf, at [6])");
    assert_true(qc_db_stat(INFINITY) == 999.0);
    assert_true(qc_db_stat(-INFINITY) == -999.0);
    assert_true(qc_db_stat(NAN) == -999.0);
    assert_true(qc_db_stat(42.5) == 42.5);
}

/* ---------------- opset upgrade ---------------- */

static void test_opset_upgrade(void **state) {
    fixture *f = *state; /* opset 11 */
    int64_t xd[3] = {2, 4, 6};
    input(f, "x", 3, xd);
    ecc_node *rm = add(f, "ReduceMean", "x", "m");
    assert_int_equal(ecc_node_set_attr_ints(f->ctx, rm, "axes", (int64_t[]){2}, 1), 0);
    ecc_node *un = add(f, "Unsqueeze", "m", "u");
    assert_int_equal(ecc_node_set_attr_ints(f->ctx, un, "axes", (int64_t[]){2}, 1), 0);
    add(f, "Softmax", "u", "s"); /* axis 1 over [2,4,1]: exact */
    output(f, "s");
    float x[48], ref[8], got[8];
    for (int i = 0; i < 48; i++) x[i] = frand(f, -2, 2);
    run_model(f, x, 3, xd, ref, 8);
    assert_int_equal(ecc_model_upgrade_opset(f->ctx, f->m, 21, true), ECC_OK);
    assert_int_equal(ecc_model_opset(f->m, ""), 11); /* dry run */
    assert_int_equal(ecc_model_upgrade_opset(f->ctx, f->m, 21, false), ECC_OK);
    assert_int_equal(ecc_model_opset(f->m, ""), 21);
    assert_int_equal(find_op(f->m->graph, "ReduceMean")->n_inputs, 2);
    assert_null(ecc_node_attr(find_op(f->m->graph, "Unsqueeze"), "axes"));
    assert_int_equal(ecc_node_attr_int(find_op(f->m->graph, "Softmax"), "axis", 99), 1);
    run_model(f, x, 3, xd, got, 8);
    for (int i = 0; i < 8; i++) assert_float_equal(got[i], ref[i], 1e-6);
}

static void test_opset_upgrade_refuses(void **state) {
    fixture *f = *state;
    int64_t xd[3] = {2, 4, 6};
    input(f, "x", 3, xd);
    add(f, "Softmax", "x", "s"); /* pre-13 axis 1 normalizes over 24 values */
    output(f, "s");
    assert_int_equal(ecc_model_upgrade_opset(f->ctx, f->m, 13, false), ECC_E_INPUT);
    assert_non_null(strstr(ecc_ctx_message(f->ctx), "node 's' (Softmax)"));
    assert_int_equal(ecc_model_opset(f->m, ""), 11);
}

/* ---------------- equalize, bias correction, exclude, fallback ---------------- */

/* The lowest SQNR over the 6 output channels of a [6, 36] weight. */
static double worst_row_sqnr(const float *w, const float *fq) {
    double worst = INFINITY;
    for (int r = 0; r < 6; r++) worst = fmin(worst, qc_sqnr_db(w + 36 * r, fq + 36 * r, 36));
    return worst;
}

static void test_equalize(void **state) {
    fixture *f = *state;
    int64_t xd[4] = {2, 4, 5, 5}, w1[4] = {6, 4, 3, 3}, w2[4] = {3, 6, 1, 1}, b1 = 6;
    input(f, "x", 4, xd);
    ecc_value *a = init_f32(f, "a.w", 4, w1, -1, 1);
    init_f32(f, "a.b", 1, &b1, -0.2f, 0.2f);
    for (int64_t i = 0; i < 36; i++) ((float *)a->init->data)[36 * 2 + i] *= 50.0f; /* loud channel */
    add(f, "Conv", "x a.w a.b", "a");
    add(f, "Relu", "a", "ar");
    init_f32(f, "b.w", 4, w2, -1, 1);
    add(f, "Conv", "ar b.w", "y");
    output(f, "y");
    float x[200], ref[150], got[150];
    for (int i = 0; i < 200; i++) x[i] = frand(f, -1, 1);
    int64_t n = run_model(f, x, 4, xd, ref, 150);
    ecc_quantizer *q = NULL;
    ecc_qformat i8 = {8, true, true};
    float *fq = malloc(216 * sizeof *fq);
    assert_int_equal(qc_weight_quantizer(f->ctx, a, &i8, ECC_QUANT_TENSOR, 0, 0, false, "t", &q), 0);
    qc_fake_quant_weight(f->ctx, q, a->init, fq);
    double before = worst_row_sqnr(a->init->data, fq);
    ecc_quantizer_free(q);
    run_pass(f, "equalize");
    assert_true(stat(f, "pairs") == 1);
    assert_int_equal(run_model(f, x, 4, xd, got, 150), n);
    for (int64_t i = 0; i < n; i++) assert_float_equal(got[i], ref[i], 1e-4 * (1 + fabsf(ref[i])));
    a = V("a.w");
    assert_int_equal(qc_weight_quantizer(f->ctx, a, &i8, ECC_QUANT_TENSOR, 0, 0, false, "t", &q), 0);
    qc_fake_quant_weight(f->ctx, q, a->init, fq);
    double after = worst_row_sqnr(a->init->data, fq);
    ecc_quantizer_free(q);
    free(fq);
    if (!(after > before + 6.0)) fail_msg("per-tensor SQNR %.1f -> %.1f dB", before, after);
}

static void test_bias_correction(void **state) {
    fixture *f = *state;
    int64_t xd[2] = {2, 40}, wd[2] = {5, 40}, bd = 5, cd[2] = {16, 40};
    input(f, "x", 2, xd);
    init_f32(f, "w", 2, wd, -1, 1);
    ecc_value *b = init_f32(f, "b", 1, &bd, -0.1f, 0.1f);
    ecc_node *g = add(f, "Gemm", "x w b", "y");
    assert_int_equal(ecc_node_set_attr_int(f->ctx, g, "transB", 1), ECC_OK);
    output(f, "y");
    write_calib(f, 2, cd);
    float b0[5];
    memcpy(b0, b->init->data, sizeof b0);
    /* E[x] per feature from the calibration file */
    double mean[40] = {0};
    float all[16 * 40];
    read_calib(f, all, 16 * 40);
    for (int s = 0; s < 16; s++)
        for (int j = 0; j < 40; j++) mean[j] += all[s * 40 + j] / 16.0;
    run_pass(f, "quant:bias_correction=true");
    const ecc_value *w = V("w");
    float fq[200];
    assert_int_equal(qc_fake_quant_weight(f->ctx, w->quant, w->init, fq), ECC_OK);
    for (int r = 0; r < 5; r++) {
        double shift = 0;
        for (int j = 0; j < 40; j++)
            shift += ((double)fq[r * 40 + j] - ((const float *)w->init->data)[r * 40 + j]) * mean[j];
        assert_float_equal(((const float *)b->init->data)[r], b0[r] - shift, 1e-5);
    }
}

static void test_exclude_and_fallback(void **state) {
    fixture *f = *state;
    net_calibrated(f);
    run_pass(f, "quant:exclude=fc*:sensitivity=true");
    assert_null(V("fc.w")->quant);
    assert_non_null(V("conv.w")->quant);
    assert_true(stat(f, "units.float") == 1);
    assert_true(stat(f, "layer.c.sqnr_db") > 0);
    f = restart(state);
    net_calibrated(f);
    run_pass(f, "quant:fallback=auto:max_drop=0");
    double agree = stat(f, "calib.top1_agreement"), floats = stat(f, "fallback.float_units");
    assert_true(agree >= 1.0 - 1e-12 || floats == stat(f, "units.float"));
    assert_true(stat(f, "units.quantized") + stat(f, "units.float") == 3);
}

/* ---------------- the interpreter's quantization view (fake_quant) ---------------- */

/* An interpreter on net simulating its quantizers or not, with the named
 * parameters (NULL-terminated, or NULL) trained. */
static ecc_interp *view_interp(fixture *f, const char *const *params, bool fake_quant) {
    ecc_interp_options o = {.struct_size = sizeof o, .threads = 1, .max_batch = XD[0],
                            .params = params, .fake_quant = fake_quant};
    ecc_interp *it = NULL;
    if (ecc_interp_create(f->ctx, f->m, &o, &it)) fail_msg("interp: %s", ecc_ctx_message(f->ctx));
    return it;
}

/* Output y of net on x (160 floats) through it. */
static const float *view_run(fixture *f, ecc_interp *it, const float *x) {
    ecc_rt_tensor in = {ECC_DTYPE_FLOAT, 4, {2, 8, 6, 6}, (void *)x, 576 * sizeof(float)};
    if (ecc_interp_run(f->ctx, it, &in, 1)) fail_msg("run: %s", ecc_ctx_message(f->ctx));
    const ecc_rt_tensor *y = ecc_interp_result(it, 0);
    assert_int_equal(y->nbytes, 80 * sizeof(float));
    return y->data;
}

/* quant-weight's annotations read through the view compute what the lowered
 * model computes, bit for bit. */
static void test_view_quant_weight(void **state) {
    fixture *f = *state;
    net(f);
    run_pass(f, "quant-weight:block=32");
    float x[576], sim[80], plain[80], got[160];
    sample_x(f, x);
    ecc_interp *it = view_interp(f, NULL, true);
    memcpy(sim, view_run(f, it, x), sizeof sim);
    ecc_interp_free(it);
    it = view_interp(f, NULL, false);
    memcpy(plain, view_run(f, it, x), sizeof plain);
    ecc_interp_free(it);
    assert_true(memcmp(sim, plain, sizeof sim) != 0); /* the view does quantize */
    lower(f);
    assert_int_equal(run_model(f, x, 4, XD, got, 160), 80);
    assert_memory_equal(got, sim, sizeof sim);
}

/* quant (static W8A8) simulated through the view agrees with the lowered
 * model up to its int32 bias rounding. */
static void test_view_quant_static(void **state) {
    fixture *f = *state;
    net_calibrated(f);
    float x[576], ref[160], sim[80], got[160];
    sample_x(f, x);
    run_model(f, x, 4, XD, ref, 160);
    run_pass(f, "quant");
    ecc_interp *it = view_interp(f, NULL, true);
    memcpy(sim, view_run(f, it, x), sizeof sim);
    ecc_interp_free(it);
    lower(f);
    run_model(f, x, 4, XD, got, 160);
    double vs_lowered = qc_sqnr_db(got, sim, 80), vs_float = qc_sqnr_db(ref, sim, 80);
    printf("  view vs lowered %.1f dB, vs float %.1f dB\n", vs_lowered, vs_float);
    if (!(vs_lowered > 50.0)) fail_msg("simulated vs lowered W8A8: %.1f dB", vs_lowered);
    assert_true(vs_float < vs_lowered - 10.0); /* it is the quantized model, not the float one */
}

/* net with quant-weight's INT4 annotations and fc.w's stored weights scaled
 * 1.6x past their fixed scales, so rounding clips some of them. */
static ecc_value *clipped_fc_weight(fixture *f) {
    net(f);
    run_pass(f, "quant-weight:block=32");
    ecc_value *w = V("fc.w");
    assert_int_equal(ecc_tensor_make_unique(f->ctx, &w->init), ECC_OK);
    float *stored = w->init->data;
    for (int64_t i = 0; i < w->init->numel; i++) stored[i] *= 1.6f;
    return w;
}

/* Straight-through gradients: a trained weight with a quantizer gets the
 * gradient at its quantized values where it lies inside the clipping range,
 * and zero where rounding clips it. */
static void test_view_straight_through(void **state) {
    fixture *f = *state;
    ecc_value *w = clipped_fc_weight(f);
    float *stored = w->init->data;
    int64_t n = w->init->numel;
    float *on_grid = malloc((size_t)n * sizeof *on_grid);
    float *grads[2] = {malloc((size_t)n * sizeof(float)), malloc((size_t)n * sizeof(float))};
    assert_int_equal(qc_fake_quant_weight(f->ctx, w->quant, w->init, on_grid), ECC_OK);
    float x[576], dy[80], y[2][80];
    sample_x(f, x);
    for (int i = 0; i < 80; i++) dy[i] = frand(f, -1, 1);
    ecc_rt_tensor d = {ECC_DTYPE_FLOAT, 2, {2, 40}, dy, sizeof dy};
    const ecc_rt_tensor *douts[2] = {&d, NULL};
    const char *params[] = {"fc.w", NULL};
    for (int pass = 0; pass < 2; pass++) { /* 0: the stored weights; 1: them on the grid */
        ecc_interp *it = view_interp(f, params, true);
        if (pass) memcpy(ecc_interp_param(it, 0), on_grid, (size_t)n * sizeof *on_grid);
        memcpy(y[pass], view_run(f, it, x), sizeof y[pass]);
        if (ecc_interp_backward(f->ctx, it, douts)) fail_msg("%s", ecc_ctx_message(f->ctx));
        memcpy(grads[pass], ecc_interp_param_grad(it, 0), (size_t)n * sizeof(float));
        ecc_interp_free(it);
    }
    assert_memory_equal(y[0], y[1], sizeof y[0]); /* the same view: the same forward */
    const float *g_stored = grads[0], *g_view = grads[1];
    const float *scale = w->quant->scale->data;
    ecc_qlayout L;
    assert_int_equal(ecc_qlayout_of(f->ctx, w->quant, w->init->rank, w->init->dims, &L), ECC_OK);
    int64_t clipped = 0, passed = 0;
    for (int64_t i = 0; i < n; i++) {
        float r = ecc_qround(stored[i] / scale[ecc_qlayout_group(&L, i)]);
        bool outside = r < -7.0f || r > 7.0f;
        clipped += outside;
        passed += !outside && g_view[i] != 0.0f;
        assert_true(g_stored[i] == (outside ? 0.0f : g_view[i]));
    }
    printf("  %lld of %lld weights clipped (zero gradient), %lld passed straight through\n",
           (long long)clipped, (long long)n, (long long)passed);
    assert_true(clipped > 0 && passed > 0);
    free(on_grid);
    free(grads[0]);
    free(grads[1]);
}

/* LSQ: a learned scale's gradient is, per group, the sum over its weights of
 * d loss / d view times round(w/s) - w/s inside the clipping range or the
 * clipped code outside, scaled by 1/sqrt(weights per group * largest code);
 * d loss / d view comes from a run whose weights already lie on the grid. */
static void test_view_learned_scales(void **state) {
    fixture *f = *state;
    ecc_value *w = clipped_fc_weight(f);
    float *stored = w->init->data;
    int64_t n = w->init->numel;
    float *on_grid = malloc((size_t)n * sizeof *on_grid), *dview = malloc((size_t)n * 4);
    assert_int_equal(qc_fake_quant_weight(f->ctx, w->quant, w->init, on_grid), ECC_OK);
    float x[576], dy[80];
    sample_x(f, x);
    for (int i = 0; i < 80; i++) dy[i] = frand(f, -1, 1);
    ecc_rt_tensor d = {ECC_DTYPE_FLOAT, 2, {2, 40}, dy, sizeof dy};
    const ecc_rt_tensor *douts[2] = {&d, NULL};
    const char *params[] = {"fc.w", NULL};
    ecc_interp_options o = {.struct_size = sizeof o, .threads = 1, .max_batch = 2,
                            .params = params, .fake_quant = true, .learn_scales = true};
    ecc_interp *it = NULL;
    assert_int_equal(ecc_interp_create(f->ctx, f->m, &o, &it), ECC_OK);
    int64_t groups = 0;
    float *scales = ecc_interp_param_scales(it, 0, &groups);
    assert_non_null(scales);
    assert_int_equal(groups, w->quant->scale->numel);
    view_run(f, it, x);
    assert_int_equal(ecc_interp_backward(f->ctx, it, douts), ECC_OK);
    const float *got = ecc_interp_param_scale_grad(it, 0);
    ecc_interp *ref = view_interp(f, params, true); /* d loss / d view, all on the grid */
    memcpy(ecc_interp_param(ref, 0), on_grid, (size_t)n * sizeof *on_grid);
    view_run(f, ref, x);
    assert_int_equal(ecc_interp_backward(f->ctx, ref, douts), ECC_OK);
    memcpy(dview, ecc_interp_param_grad(ref, 0), (size_t)n * sizeof *dview);
    ecc_qlayout L;
    assert_int_equal(ecc_qlayout_of(f->ctx, w->quant, w->init->rank, w->init->dims, &L), ECC_OK);
    double *want = calloc((size_t)groups, sizeof *want), worst = 0, norm = 0;
    int64_t clipped = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t g = ecc_qlayout_group(&L, i);
        double v = (double)(stored[i] / scales[g]), r = ecc_qround((float)v);
        bool out = r < -7 || r > 7;
        clipped += out;
        want[g] += dview[i] * (out ? (r < -7 ? -7.0 : 7.0) : r - v);
    }
    double k = 1.0 / sqrt((double)n / (double)groups * 7.0);
    for (int64_t g = 0; g < groups; g++) {
        worst = fmax(worst, fabs(got[g] - want[g] * k));
        norm = fmax(norm, fabs(want[g] * k));
    }
    printf("  %lld scales, %lld weights clipped: worst |LSQ gradient - formula| %.2e of %.2e\n",
           (long long)groups, (long long)clipped, worst, norm);
    assert_true(clipped > 0 && norm > 0 && worst <= 1e-5 * norm);
    ecc_interp_free(it);
    ecc_interp_free(ref);
    free(want);
    free(on_grid);
    free(dview);
}

/* An activation rounded with a given (learned) scale: the values, the clip
 * bits and d out / d s (LSQ: round(x/s) - x/s inside, the clipped code
 * outside) on hand-picked inputs; uint8 asymmetric, zero point 10. */
static void test_view_activation_lsq(void **state) {
    fixture *f = *state;
    ecc_tensor *sc = NULL, *zp = NULL;
    int64_t one = 1;
    assert_int_equal(ecc_tensor_create(f->ctx, ECC_DTYPE_FLOAT, 1, &one, &sc), ECC_OK);
    assert_int_equal(ecc_tensor_create(f->ctx, ECC_DTYPE_UINT8, 1, &one, &zp), ECC_OK);
    ((float *)sc->data)[0] = 0.5f;
    ((uint8_t *)zp->data)[0] = 10;
    ecc_quantizer q = {.bits = 8, .is_signed = false, .symmetric = false,
                       .granularity = ECC_QUANT_TENSOR, .scale = sc, .zero_point = zp};
    assert_true(ecc_act_quantizable(&q));
    float x[5] = {0.3f, -4.9f, -6.0f, 200.0f, 1.26f}, lsq[5];
    uint8_t clip[1];
    ecc_act_fake_quant(&q, 0.25f, x, 5, clip, lsq); /* the learned 0.25, not q's 0.5 */
    /* codes: round(x/0.25)+10 = 11 (1.2 -> 1), -10 (-19.6 -> -20 +10 = -10: clipped to 0),
     * -14 (clipped), 810 (clipped to 255), 15 (5.04 -> 5) */
    const float want_x[5] = {0.25f, -2.5f, -2.5f, 61.25f, 1.25f};
    const float want_lsq[5] = {1.0f - 1.2f, -10.0f, -10.0f, 245.0f, 5.0f - 5.04f};
    for (int i = 0; i < 5; i++) {
        assert_true(x[i] == want_x[i]);
        if (fabsf(lsq[i] - want_lsq[i]) > 1e-5f) fail_msg("lsq[%d] %g, want %g", i, lsq[i],
                                                          want_lsq[i]);
    }
    assert_int_equal(clip[0], 0x0e); /* elements 1, 2, 3 */
    ecc_tensor_unref(sc);
    ecc_tensor_unref(zp);
}

int main(void) {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, fixture_teardown)
    const struct CMUnitTest tests[] = {
        T(test_round_half_even),
        T(test_qfake_measured),
        T(test_formats_and_choose),
        T(test_pack_int4),
        T(test_layout_groups),
        T(test_observers),
        T(test_quant_weight_rtn),
        T(test_quant_weight_auto_block),
        T(test_quant_weight_auto_dense),
        T(test_quant_weight_channel8),
        T(test_quant_weight_tensor),
        T(test_quant_const),
        T(test_quant_const_scale_auto),
        T(test_quant_const_is_final),
        T(test_gptq_beats_rtn),
        T(test_quant_static),
        T(test_quant_sim_matches_lowering),
        T(test_quant_dynamic),
        T(test_misuse),
        T(test_nonfinite),
        cmocka_unit_test_setup_teardown(test_opset_upgrade, setup11, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_opset_upgrade_refuses, setup11, fixture_teardown),
        T(test_equalize),
        T(test_bias_correction),
        T(test_exclude_and_fallback),
        T(test_view_quant_weight),
        T(test_view_quant_static),
        T(test_view_straight_through),
        T(test_view_learned_scales),
        T(test_view_activation_lsq),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
