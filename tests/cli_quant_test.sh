#!/bin/sh
# CLI tests of the quantization passes (`quant`, `quant-weight`,
# `quant-const`, `equalize`):
# misuse refused before any work (exit 1 with one line quoting what is
# allowed, exit 2 for calibration samples of the wrong shape, no output left),
# non-finite weights, biases and calibration samples and calibration data
# that overflows the model refused (exit 2 naming the first bad element),
# INT4 blocked and INT8 per-channel weight-only models (opset raised and said
# so, weight bytes in the report), static W8A8 and dynamic models, GPTQ,
# determinism, per-tensor report keys, the smallest INT8 file (per-tensor
# weights and 8-bit constants), models with Constant-node weights and
# depthwise convolutions; every emitted model runs in ecc's interpreter and,
# when onnxruntime-node is installed, in ONNX Runtime with the same top-1.
. "$(dirname "$0")/lib.sh"
CAL=testdata/fmnist_64.npy
LAB=testdata/fmnist_64_labels.npy
HAVE_ORT=0; [ -d tests/interop/node_modules/onnxruntime-node ] && HAVE_ORT=1

# --- listed, documented
expect 0 "passes" -- "$ECC" passes
for p in quant quant-weight quant-const equalize; do grep -q "^  $p " "$T/out" && ok || bad "ecc passes lists $p"; done

# --- misuse: refused before any work, nothing written
mkdir -p "$T/o"
refuse() { # CODE DESCRIPTION PASSES TEXT [extra args]
    c=$1; d=$2; p=$3; txt=$4; shift 4
    expect "$c" "$d" -- "$ECC" compress testdata/cnn.onnx -o "$T/o/x.onnx" --passes "$p" "$@"
    says "$d" "$txt"
}
refuse 1 "static without --calib" "quant" "--calib"
refuse 1 "static without --calib, after prune" "prune,quant" "--calib"
refuse 1 "gptq without --calib" "quant-weight:method=gptq" "--calib"
refuse 1 "bits=3" "quant-weight:bits=3" "4|8"
refuse 1 "quant bits=4" "quant:bits=4" "one of: 8"
refuse 1 "unknown method" "quant:method=kl" "minmax|percentile|entropy|mse"
refuse 1 "percentile out of range" "quant:method=percentile:percentile=20" "50.001"
refuse 1 "int4 below opset 21" "quant-weight:max_opset=17" "max_opset"
refuse 1 "fallback with dynamic" "quant:mode=dynamic:fallback=auto" "mode=static"
refuse 1 "exclude glob matching nothing" "quant:mode=dynamic:exclude=zz*" "matches no layer"
refuse 1 "quant-const exclude glob matching nothing" "quant-const:exclude=zz*" "matches no constant"
refuse 1 "quant-const min_size=1" "quant-const:min_size=1" "min_size"
refuse 1 "quant-const unknown scale" "quant-const:scale=row" "tensor|auto"
refuse 2 "wrong-shape calibration samples" "quant" "do not fit" --calib testdata/expected/cnn_logits_64.npy
[ -z "$(ls -A "$T/o")" ] && ok || bad "refused runs left files: $(ls "$T/o")"
expect 2 "opset9 softmax" -- "$ECC" compress testdata/edge/opset9.onnx -o "$T/o/y.onnx" --passes quant-weight
says "opset9 softmax" "node 'softmax' (Softmax)"

# --- non-finite values: exit 2 naming the tensor and its first bad element, nothing written
NF=testdata/edge/nonfinite_weights.onnx
nonfinite() { # DESCRIPTION MODEL PASSES TEXT [extra args]
    d=$1; m=$2; p=$3; txt=$4; shift 4
    expect 2 "$d" -- "$ECC" compress "$m" -o "$T/o/nf.onnx" --passes "$p" "$@"
    says "$d" "$txt"
}
W1="weight 'fc1.w' of fc1 holds 2 non-finite values (the first, NaN, at [3,100])"
for p in quant quant:mode=dynamic quant-weight quant-weight:method=gptq equalize prune:head=true prune-channel \
         prune:method=wanda; do
    nonfinite "NaN weight, $p" $NF "$p" "$W1" --calib $CAL
done
nonfinite "NaN weight, cluster" $NF cluster "weight 'fc1.w' holds 2 non-finite values"
nonfinite "-inf bias, quant" $NF quant:exclude=fc1 "bias 'fc2.b' of fc2 holds 1 non-finite value (the first, -inf, at [4])" --calib $CAL
expect 0 "non-finite model still runs" -- "$ECC" run $NF --data $CAL -o "$T/nf_run" -q
# calibration data: a NaN written into sample 3 at [0,5,5] of a copy of the 64 samples
off=$(( $(wc -c <$CAL) - 64 * 784 * 4 + (3 * 784 + 5 * 28 + 5) * 4 ))
cp $CAL "$T/nan.npy"
printf '\000\000\300\177' | dd of="$T/nan.npy" bs=1 seek=$off conv=notrunc 2>/dev/null
for p in quant quant-weight:method=gptq prune:method=sparsegpt; do
    nonfinite "NaN calibration sample, $p" testdata/mlp.onnx "$p" \
        "calibration sample 3 of input 'input' holds NaN at [0,5,5]" --calib "$T/nan.npy"
done
# calibration data the float model overflows on: every sample scaled by 3e37
node -e 'const fs = require("fs"), b = fs.readFileSync(process.argv[1]);
         const d = 64 * 784 * 4, o = b.length - d;
         for (let i = o; i < b.length; i += 4) b.writeFloatLE(b.readFloatLE(i) * 3e37, i);
         fs.writeFileSync(process.argv[2], b)' $CAL "$T/huge.npy"
nonfinite "overflowing calibration, quant" testdata/mlp.onnx quant \
    "the float model's first output is infinite on calibration sample" --calib "$T/huge.npy"
nonfinite "overflowing calibration, gptq" testdata/cnn.onnx quant-weight:method=gptq \
    "the layer input statistics (mean x xT) overflow float32" --calib "$T/huge.npy"
nonfinite "overflowing calibration, sparsegpt" testdata/cnn.onnx prune:method=sparsegpt \
    "layer '/conv2/Conv': the layer input statistics (mean x xT) overflow float32" --calib "$T/huge.npy"
no_output_left "non-finite inputs" "$T/o"

# --- runs a model in ecc (and ORT when present) on the 64 samples; same top-1
runs() { # MODEL DESCRIPTION [ORT-ARGS: to ort_run.js, e.g. --optimize]
    rm_=$1; rd_=$2; shift 2
    expect 0 "$rd_: ecc runs it" -- "$ECC" run "$rm_" --data $CAL -o "$T/run" -q
    [ "$HAVE_ORT" = 1 ] || return 0
    expect 0 "$rd_: ORT runs it" -- node tests/interop/ort_run.js "$rm_" --fmnist 64 -o "$T/ort" "$@"
    expect 0 "$rd_: compare" -- "$ECC" compare "$T/ort" "$T/run"
    if grep -q "top-1 agreement 64/64" "$T/out" || ort_int_inexact "$rd_"; then ok
    else bad "$rd_: ecc and ORT top-1 differ: $(cat "$T/out")"; fi
}
acc() { # MODEL: accuracy on the 64 samples (ecc eval)
    "$ECC" eval "$1" --data $CAL --labels $LAB -q 2>/dev/null | sed -n 's/^accuracy: \([0-9.]*\).*/\1/p'
}

# --- weight-only INT4 blocks (RTN): opset 21 said, bytes in the report
expect 0 "int4 mlp" -- "$ECC" compress testdata/mlp.onnx -o "$T/w4.onnx" --passes quant-weight \
    --report "$T/w4.json"
grep -q "raised the ai.onnx opset from 13 to 21" "$T/err" && ok || bad "opset raise not said"
holds "$T/w4.json" 'const s = r.passes[0].stats; s["weights.ratio"] <= 0.16 &&
    s["tensor.fc1.weight.bits"] === 4 && s["tensor.fc1.weight.block"] === 32 &&
    s["tensor.fc1.weight.sqnr_db"] > 10 && s["tensor.fc1.weight.bytes_after"] > 0 &&
    s.opset === 21' && ok || bad "int4 report"
runs "$T/w4.onnx" "int4 mlp"
a0=$(acc testdata/mlp.onnx); a1=$(acc "$T/w4.onnx")
awk "BEGIN { exit !($a1 >= $a0 - 0.05) }" && ok || bad "int4 mlp accuracy $a1 vs $a0"

# --- GPTQ, act-order, asymmetric, per-channel INT8
expect 0 "gptq cnn" -- "$ECC" compress testdata/cnn.onnx -o "$T/g4.onnx" \
    --passes quant-weight:method=gptq:act_order=true --calib $CAL -q
runs "$T/g4.onnx" "gptq cnn"
expect 0 "uint4 asym transformer" -- "$ECC" compress testdata/transformer.onnx -o "$T/u4.onnx" \
    --passes quant-weight:scheme=asym:block=64 -q
runs "$T/u4.onnx" "uint4 transformer"
expect 0 "int8 per channel cnn" -- "$ECC" compress testdata/cnn.onnx -o "$T/w8.onnx" \
    --passes quant-weight:bits=8:block=channel:max_opset=13 -q
runs "$T/w8.onnx" "int8 per channel"

# --- static W8A8 and dynamic
for m in mlp cnn transformer; do
    expect 0 "static $m" -- "$ECC" compress testdata/$m.onnx -o "$T/s8_$m.onnx" \
        --passes fold-bn,quant --calib $CAL --report "$T/s8_$m.json"
    runs "$T/s8_$m.onnx" "static $m"
    a0=$(acc testdata/$m.onnx); a1=$(acc "$T/s8_$m.onnx")
    awk "BEGIN { exit !($a1 >= $a0 - 0.05) }" && ok || bad "static $m accuracy $a1 vs $a0"
    expect 0 "dynamic $m" -- "$ECC" compress testdata/$m.onnx -o "$T/d8_$m.onnx" \
        --passes quant:mode=dynamic -q
    runs "$T/d8_$m.onnx" "dynamic $m"
done
# --- static W8A8 as a deployment runs it: ORT's QDQ fusions turn every
# quantized layer into an integer kernel (no float Conv, Gemm or MatMul left;
# a Gemm's weight needs its zero point written for that) with the same top-1
deployed() { # MODEL DESCRIPTION INTEGER-OP=COUNT...
    [ "$HAVE_ORT" = 1 ] || return 0
    dm_=$1; dd_=$2; shift 2
    expect 0 "$dd_: ORT fuses it" -- node tests/interop/ort_run.js "$dm_" --optimize --ops
    for op in "$@"; do grep -q "[ :]$op\( \|\$\)" "$T/out" && ok || bad "$dd_: no $op in $(cat "$T/out")"; done
    grep -q " \(Conv\|Gemm\|MatMul\)=" "$T/out" && bad "$dd_: float layers left: $(cat "$T/out")" || ok
    runs "$dm_" "$dd_ fused" --optimize
}
# dynamic Conv layers become ConvInteger (slow in ORT): said once, with the way out
expect 0 "dynamic cnn note" -- "$ECC" compress testdata/cnn.onnx -o "$T/d8n.onnx" --passes quant:mode=dynamic
grep -q "4 Conv layers quantized dynamically run as ConvInteger.*mode=static" "$T/err" && ok ||
    bad "dynamic cnn: no ConvInteger note: $(cat "$T/err")"
expect 0 "dynamic mlp" -- "$ECC" compress testdata/mlp.onnx -o "$T/d8n.onnx" --passes quant:mode=dynamic
grep -q "ConvInteger" "$T/err" && bad "dynamic mlp: ConvInteger note without Conv" || ok
deployed "$T/s8_mlp.onnx" "static mlp" QGemm=3
deployed "$T/s8_cnn.onnx" "static cnn" QLinearConv=4 QGemm=1
deployed "$T/s8_transformer.onnx" "static transformer" QLinearMatMul=17 QGemm=1

holds "$T/s8_cnn.json" 'const s = r.passes[1].stats; s["calib.top1_agreement"] >= 0.95 &&
    s["tensor.input.scale"] > 0 && s["tensor.input.zero_point"] === 0 &&
    s["tensor./Relu_output_0.sqnr_db"] > 20 && s["weights.bytes_after"] < s["weights.bytes_before"] / 3'\
    && ok || bad "static report"
for meth in percentile entropy mse; do
    expect 0 "static $meth" -- "$ECC" compress testdata/cnn.onnx -o "$T/m_$meth.onnx" \
        --passes fold-bn,quant:method=$meth:activations=int8 --calib $CAL -q
done
runs "$T/m_entropy.onnx" "entropy int8 cnn"

# --- --short-names: same outputs bit for bit, same input/output names, a smaller
# file (the static CNN within issue 5's 0.27x of the float file)
for m in mlp cnn; do
    expect 0 "short names $m" -- "$ECC" compress testdata/$m.onnx -o "$T/sn_$m.onnx" \
        --passes fold-bn,quant --calib $CAL --short-names -q
    runs "$T/sn_$m.onnx" "short names $m"
    expect 0 "short names $m: compare" -- "$ECC" compare "$T/s8_$m.onnx" "$T/sn_$m.onnx" \
        --data $CAL --report "$T/sn.json"
    holds "$T/sn.json" 'r.outputs.length === 1 && r.outputs[0].max_abs_error === 0' && ok ||
        bad "short names $m: outputs differ: $(cat "$T/out")"
    "$ECC" inspect "$T/s8_$m.onnx" | sed -n '/^inputs:/,/^nodes:/p' >"$T/io_long"
    "$ECC" inspect "$T/sn_$m.onnx" | sed -n '/^inputs:/,/^nodes:/p' >"$T/io_short"
    [ -s "$T/io_long" ] && cmp -s "$T/io_long" "$T/io_short" && ok ||
        bad "short names $m: graph inputs/outputs changed: $(cat "$T/io_short")"
    long=$(wc -c <"$T/s8_$m.onnx"); short=$(wc -c <"$T/sn_$m.onnx")
    flt=$(wc -c <testdata/$m.onnx)
    echo "short names $m: $long -> $short bytes ($(awk "BEGIN { printf \"%.3f\", $short / $flt }")x of float)"
    [ "$short" -lt "$long" ] && ok || bad "short names $m: $short bytes, not below $long"
    awk "BEGIN { exit !($short <= 0.27 * $flt) }" && ok || bad "short names $m: $short > 0.27x $flt"
done

# --- the smallest INT8 file: weights per tensor and the remaining constants
# (biases, LayerNorm parameters, the positional table) in 8 bits; the
# transformer within issue 5's 0.27x of the float file. Per channel and in
# static W8A8 form the constants run in ORT too.
expect 0 "int8 per tensor + quant-const transformer" -- "$ECC" compress testdata/transformer.onnx \
    -o "$T/qc_tr.onnx" --passes quant-weight:bits=8:block=tensor,quant-const --short-names \
    --report "$T/qc_tr.json" -q
holds "$T/qc_tr.json" 'const s = r.passes[1].stats; s["constants.quantized"] === 24 &&
    s["constants.float"] === 0 && s["tensor.pos.bits"] === 8 && s["tensor.pos.block"] === -1 &&
    s["tensor.pos.sqnr_db"] > 30 && r.passes[0].stats["tensor.head.weight.block"] === -1 &&
    r.passes[0].stats.opset === 17' && ok || bad "quant-const report: $(cat "$T/qc_tr.json")"
runs "$T/qc_tr.onnx" "int8 per tensor + quant-const transformer"
"$ECC" inspect "$T/qc_tr.onnx" --json >"$T/qc_tr_inspect.json"
holds "$T/qc_tr_inspect.json" 'const f = r.per_dtype.float32; f.tensors === 39 && f.params === 48' &&
    ok || bad "float32 left: 38 scales and the 10-element head bias: $(cat "$T/qc_tr_inspect.json")"
q=$(wc -c <"$T/qc_tr.onnx"); flt=$(wc -c <testdata/transformer.onnx)
echo "int8 per tensor + quant-const transformer: $q bytes ($(awk "BEGIN { printf \"%.3f\", $q / $flt }")x of float)"
awk "BEGIN { exit !($q <= 0.27 * $flt) }" && ok || bad "quant-const transformer: $q > 0.27x $flt"
a0=$(acc testdata/transformer.onnx); a1=$(acc "$T/qc_tr.onnx")
awk "BEGIN { exit !($a1 >= $a0 - 0.05) }" && ok || bad "quant-const transformer accuracy $a1 vs $a0"
# scale=auto: the positional table gets one scale per position (16 scales), the
# vectors stay per tensor; with --calib the output's fidelity is reported and
# beats one scale per table
expect 0 "quant-const scale=auto transformer" -- "$ECC" compress testdata/transformer.onnx \
    -o "$T/qca.onnx" --passes quant-const:scale=auto --calib $CAL --report "$T/qca.json" -q
expect 0 "quant-const per tensor transformer" -- "$ECC" compress testdata/transformer.onnx \
    -o "$T/qct.onnx" --passes quant-const --calib $CAL --report "$T/qct.json" -q
sq_tensor=$(node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1]));
    console.log(r.passes[0].stats["calib.output_sqnr_db"])' "$T/qct.json")
holds "$T/qca.json" "const s = r.passes[0].stats; s['tensor.pos.block'] === 0 &&
    s['tensor.ln.weight.block'] === -1 && s['calib.top1_agreement'] === 1 &&
    s['tensor.pos.bytes_after'] === 1024 + 16 * 4 &&
    s['calib.output_sqnr_db'] > $sq_tensor + 1" && ok ||
    bad "quant-const scale=auto report (per tensor: $sq_tensor dB): $(cat "$T/qca.json")"
runs "$T/qca.onnx" "quant-const scale=auto transformer"
for p in "quant-weight:bits=8:block=channel,quant-const" "fold-bn,quant,quant-const:scheme=asym" \
         "quant:mode=dynamic,quant-const:min_size=8"; do
    for m in cnn transformer; do
        expect 0 "$p $m" -- "$ECC" compress testdata/$m.onnx -o "$T/qc.onnx" --passes "$p" \
            --calib $CAL -q
        runs "$T/qc.onnx" "$p $m"
    done
done

# --- accuracy tools
expect 0 "equalize + bias correction + fallback" -- "$ECC" compress testdata/cnn.onnx \
    -o "$T/tools.onnx" --passes fold-bn,equalize,quant:bias_correction=true:fallback=auto:max_drop=0 \
    --calib $CAL --report "$T/tools.json" -q
holds "$T/tools.json" 'const s = r.passes[2].stats; s["calib.top1_agreement"] === 1 &&
    s["layer./conv1/Conv.sqnr_db"] > 0 && r.passes[1].stats.pairs >= 1' && ok || bad "tools report"
runs "$T/tools.onnx" "equalize/bias correction/fallback"
expect 0 "exclude" -- "$ECC" compress testdata/mlp.onnx -o "$T/ex.onnx" \
    --passes "quant:exclude=/fc3/*" --calib $CAL --report "$T/ex.json" -q
holds "$T/ex.json" 'r.passes[0].stats["float./fc3/Gemm"] === 1 &&
    r.passes[0].stats["tensor.fc3.weight.bits"] === undefined' && ok || bad "exclude report"

# --- composition: quant-weight first gives quant its weights (W4A8, GPTQ
# weights under static activations). The simulation quantizes them as
# emitted: the reported output SQNR is the one `ecc compare` measures; biases
# are int32 under per-channel weights and stay float under blocked ones.
# quant-weight after quant has nothing left to quantize: refused, no output.
for w in "bits=4:block=32" "bits=4:block=channel"; do
    expect 0 "w4a8 $w" -- "$ECC" compress testdata/cnn.onnx -o "$T/wa.onnx" \
        --passes "quant-weight:$w,quant" --calib $CAL --report "$T/wa.json" -q
    runs "$T/wa.onnx" "w4a8 $w"
    expect 0 "w4a8 $w: compare" -- "$ECC" compare testdata/cnn.onnx "$T/wa.onnx" --data $CAL
    sq=$(sed -n 's/.* SQNR \([0-9.]*\) dB.*/\1/p' "$T/out")
    holds "$T/wa.json" "const s = r.passes[1].stats; Math.abs(s['calib.output_sqnr_db'] - $sq) < 0.5 &&
        s['calib.output_sqnr_db'] < 35 && r.passes[0].stats.folded === 4" && ok ||
        bad "w4a8 $w: reported SQNR is not the measured $sq dB: $(cat "$T/wa.json")"
    "$ECC" inspect "$T/wa.onnx" >"$T/wa.txt" 2>&1
    case $w in
        *channel) grep -q "fc.bias_quantized .*int32" "$T/wa.txt" && ok || bad "w4a8 $w: bias not int32" ;;
        *) grep -q "int32" "$T/wa.txt" && bad "w4a8 $w: int32 bias under blocked scales" || ok ;;
    esac
done
expect 1 "quant-weight after quant" -- "$ECC" compress testdata/cnn.onnx -o "$T/o/qq.onnx" \
    --passes quant,quant-weight:bits=4 --calib $CAL -q
says "quant-weight after quant" "put quant-weight before quant"
[ ! -e "$T/o/qq.onnx" ] && ok || bad "quant-weight after quant left a file"
expect 1 "quant twice" -- "$ECC" compress testdata/cnn.onnx -o "$T/o/qq.onnx" \
    --passes quant,quant --calib $CAL -q
says "quant twice" "nothing left to quantize"
expect 0 "quant of a QDQ model" -- "$ECC" compress "$T/s8_cnn.onnx" -o "$T/qdq2.onnx" --passes quant \
    --calib $CAL
grep -q "nothing to quantize" "$T/err" && ok || bad "quant of a QDQ model: not said"
cmp -s "$T/s8_cnn.onnx" "$T/qdq2.onnx" && ok || bad "quant of a QDQ model changed it"
expect 0 "quant-weight after quant with exclude" -- "$ECC" compress testdata/cnn.onnx \
    -o "$T/qx.onnx" --passes "quant:exclude=/fc/*,quant-weight:bits=4" --calib $CAL \
    --report "$T/qx.json"
grep -q "4 of 5 selected weights were already quantized" "$T/err" && ok || bad "given weights not said"
holds "$T/qx.json" 'r.passes[1].stats["tensor.fc.weight.bits"] === 4' && ok || bad "fc not int4"
runs "$T/qx.onnx" "quant-weight after quant with exclude"

# --- determinism
# GPTQ and SparseGPT: the same bytes whatever OpenBLAS's thread count
for t in 1 2; do
    expect 0 "gptq+sparsegpt, OpenBLAS $t" -- env OPENBLAS_NUM_THREADS=$t "$ECC" compress \
        testdata/transformer.onnx -o "$T/ob$t.onnx" --calib $CAL -q \
        --passes prune:method=sparsegpt,quant-weight:method=gptq
done
cmp -s "$T/ob1.onnx" "$T/ob2.onnx" && ok || bad "GPTQ/SparseGPT bytes depend on OPENBLAS_NUM_THREADS"
# quant and quant-weight fold BatchNormalization first unless told not to
expect 0 "quant folds bn" -- "$ECC" compress testdata/cnn.onnx -o "$T/fb.onnx" --passes quant \
    --calib $CAL --report "$T/fb.json" -q
holds "$T/fb.json" 'r.passes[0].stats.folded === 4' && ok || bad "quant folded 4 BatchNormalization"
cmp -s "$T/fb.onnx" "$T/s8_cnn.onnx" && ok || bad "quant equals fold-bn,quant"
# a pruning mask does not stop the fold (scaling keeps zeros zero)
expect 0 "prune,quant folds bn" -- "$ECC" compress testdata/cnn.onnx -o "$T/pfb.onnx" \
    --passes prune:sparsity=0.5,quant --calib $CAL --report "$T/pfb.json" -q
holds "$T/pfb.json" 'r.passes[1].stats.folded === 4' && ok || bad "prune,quant folded 4 BN"
"$ECC" inspect "$T/pfb.onnx" | grep -q "BatchNormalization" && bad "prune,quant left BN" || ok
expect 0 "quant fold_bn=false" -- "$ECC" compress testdata/cnn.onnx -o "$T/nfb.onnx" \
    --passes quant:fold_bn=false --calib $CAL -q
"$ECC" inspect "$T/nfb.onnx" | grep -q "BatchNormalization" && ok || bad "fold_bn=false keeps BN"
expect 0 "quant-weight folds bn" -- "$ECC" compress testdata/cnn.onnx -o "$T/wfb.onnx" \
    --passes quant-weight --report "$T/wfb.json" -q
holds "$T/wfb.json" 'r.passes[0].stats.folded === 4' && ok || bad "quant-weight folded 4 BN"
"$ECC" inspect "$T/wfb.onnx" | grep -q "BatchNormalization" && bad "quant-weight left BN" || ok
expect 0 "quant-weight fold_bn=false" -- "$ECC" compress testdata/cnn.onnx -o "$T/wnfb.onnx" \
    --passes quant-weight:fold_bn=false -q
"$ECC" inspect "$T/wnfb.onnx" | grep -q "BatchNormalization" && ok || bad "fold_bn=false keeps BN"
expect 0 "static again" -- "$ECC" compress testdata/cnn.onnx -o "$T/s8_cnn2.onnx" \
    --passes fold-bn,quant --calib $CAL -q
cmp -s "$T/s8_cnn.onnx" "$T/s8_cnn2.onnx" && ok || bad "static output is not deterministic"

# --- Constant-node weights (opset 11 raised to 13) and depthwise convolutions
for src in testdata/edge/const_weights.onnx testdata/edge/depthwise.onnx; do
    b=$(basename "$src" .onnx)
    for p in quant quant-weight quant:mode=dynamic quant-weight:bits=8,quant-const:min_size=2; do
        expect 0 "$p $b" -- "$ECC" compress "$src" -o "$T/e_$b.onnx" --passes "fold-bn,$p" \
            --calib $CAL -q
        runs "$T/e_$b.onnx" "$p $b"
    done
done

summary "cli-quant"
