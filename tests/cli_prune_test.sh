#!/bin/sh
# CLI tests of the pruning passes and `ecc sensitivity`: bad options refused
# (exit 1, one line quoting what is allowed, no output left), N:M property of
# every pruned layer in the written ONNX (python3-onnx), exact sparsity in the
# report, calibrated methods on .npy calibration data, determinism,
# prune-channel shrinking the CNN by >= 40% params and FLOPs and running in
# ONNX Runtime (also on Constant-node weights and depthwise/grouped convs),
# the sensitivity table / JSON, and every pass on weight layers without weights.
. "$(dirname "$0")/lib.sh"
CAL=testdata/fmnist_64.npy
HAVE_ORT=0; [ -d tests/interop/node_modules/onnxruntime-node ] && HAVE_ORT=1
HAVE_PY=0; /usr/bin/python3 -c 'import onnx, numpy' 2>/dev/null && HAVE_PY=1

# --- listed, documented
expect 0 "passes" -- "$ECC" passes
for p in prune prune-channel; do grep -q "^  $p " "$T/out" && ok || bad "ecc passes lists $p"; done
expect 0 "help sensitivity" -- "$ECC" help sensitivity

# --- bad options: usage errors quoting what is allowed, nothing written
mkdir -p "$T/o"
refuse() { # DESCRIPTION PASSES TEXT [extra args]
    d=$1; p=$2; txt=$3; shift 3
    expect 1 "$d" -- "$ECC" compress testdata/cnn.onnx -o "$T/o/x.onnx" --passes "$p" "$@"
    says "$d" "$txt"
}
refuse "sparsity=1.5" "prune:sparsity=1.5" "[0, 0.99]"
refuse "pattern=5:4" "prune:pattern=5:4" "1 <= N < M"
refuse "unknown method" "prune:method=obs" "magnitude"
refuse "glob matching nothing" "prune:include=conv9*" "matches no layer"
refuse "sparsity with N:M" "prune:pattern=2:4:sparsity=0.3" "give one or the other"
refuse "wanda without --calib" "prune:method=wanda" "--calib"
refuse "auto without --calib" "prune:scope=auto" "--calib"
refuse "prune-channel ratio" "prune-channel:ratio=2" "[0, 0.95]"
refuse "prune-channel criterion" "prune-channel:criterion=taylor" "l1"
refuse "activation without --calib" "prune-channel:criterion=activation" "--calib"
refuse "glob matching nothing (channel)" "prune-channel:exclude=nothing*" "matches no layer"
[ -z "$(ls -A "$T/o")" ] && ok || bad "refused runs left files: $(ls "$T/o")"
# option needs are checked before the model is even read (exit 1, not 2)
expect 1 "refused before any work" -- "$ECC" compress "$T/missing.onnx" -o "$T/o/x.onnx" \
    --passes fold-bn,prune:method=sparsegpt
says "refused before any work" "pass 'prune'"

# --- N:M along the reduction axis of every pruned layer, in the written ONNX
nm_check() { # MODEL N M
    [ "$HAVE_PY" = 1 ] || { echo "skip: python3-onnx missing (N:M file check)"; return 0; }
    /usr/bin/python3 - "$1" "$2" "$3" <<'EOF'
import sys, numpy as np, onnx
from onnx import numpy_helper
m = onnx.load(sys.argv[1]); n, M = int(sys.argv[2]), int(sys.argv[3])
w = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
pruned = 0
for node in m.graph.node:
    if node.op_type not in ("Conv", "Gemm", "MatMul") or node.input[1] not in w: continue
    a = w[node.input[1]]
    tb = any(x.name == "transB" and x.i for x in node.attribute)
    rows = a.reshape(a.shape[0], -1) if node.op_type == "Conv" or tb else a.T  # [out, k]
    if rows.shape[1] % M: continue
    nz = (rows.reshape(rows.shape[0], -1, M) != 0).sum(axis=2)
    if (nz == M).all(): continue  # left dense (head, tiny)
    if nz.max() > n: sys.exit("%s: a group has %d nonzeros" % (node.name, nz.max()))
    pruned += 1
sys.exit(0 if pruned else "no layer was pruned")
EOF
}
for m in mlp cnn; do
    expect 0 "prune:pattern=2:4 $m" -- "$ECC" compress testdata/$m.onnx -o "$T/${m}_24.onnx" \
        --passes prune:pattern=2:4 --report "$T/${m}_24.json" -q
    nm_check "$T/${m}_24.onnx" 2 4 && ok || bad "2:4 property on $m"
done
expect 0 "sparsegpt 2:4 cnn" -- "$ECC" compress testdata/cnn.onnx -o "$T/cnn_sg24.onnx" \
    --passes prune:method=sparsegpt:pattern=2:4 --calib $CAL -q
nm_check "$T/cnn_sg24.onnx" 2 4 && ok || bad "2:4 property after sparsegpt"
expect 0 "wanda 1:4 mlp" -- "$ECC" compress testdata/mlp.onnx -o "$T/mlp_w14.onnx" \
    --passes prune:method=wanda:pattern=1:4 --calib $CAL -q
nm_check "$T/mlp_w14.onnx" 1 4 && ok || bad "1:4 property after wanda"

# --- unstructured zeros take full space in ONNX: a note says where they do not
expect 0 "prune 0.9 to onnx" -- "$ECC" compress testdata/mlp.onnx -o "$T/m90.onnx" \
    --passes prune:sparsity=0.9
grep -q "note: 90% of the weights are zeros, stored dense in ONNX; -o FILE.ecc" "$T/err" && ok ||
    bad "no note on zeros stored dense: $(cat "$T/err")"
expect 0 "prune 0.9 to ecc" -- "$ECC" compress testdata/mlp.onnx -o "$T/m90.ecc" \
    --passes prune:sparsity=0.9
grep -q "stored dense" "$T/err" && bad "the zeros note on an .ecc output" || ok

# --- exact sparsity in the report, defaults reported
expect 0 "prune 0.5 layer" -- "$ECC" compress testdata/cnn.onnx -o "$T/c50.onnx" \
    --passes prune:sparsity=0.5:scope=layer --report "$T/c50.json"
holds "$T/c50.json" 'r.passes[0].stats["layer./conv2/Conv.sparsity"] === 0.5 &&
    r.passes[0].stats["excluded.head./fc/Gemm"] === 15680 &&
    r.passes[0].stats["excluded.small./conv1/Conv"] === 144' && ok || bad "layer table in report"
# magnitude's default scope is global: one ranking, layers end up uneven, total exact
expect 0 "prune 0.5 default scope" -- "$ECC" compress testdata/cnn.onnx -o "$T/c50g.onnx" \
    --passes prune:sparsity=0.5 --report "$T/c50g.json"
grep -q "magnitude, unstructured 50%, global scope" "$T/err" && ok || bad "magnitude defaults to global scope"
holds "$T/c50g.json" 'const s = r.passes[0].stats; s.sparsity === 0.5 &&
    s["layer./conv2/Conv.sparsity"] !== 0.5' && ok || bad "global scope: exact total, uneven layers"
grep -q "classifier head" "$T/err" && ok || bad "the table names the head exclusion"
expect 0 "prune 0.7 global" -- "$ECC" compress testdata/cnn.onnx -o "$T/g70.onnx" \
    --passes prune:sparsity=0.7:scope=global --report "$T/g70.json" -q
holds "$T/g70.json" 'r.passes[0].stats.zeros === Math.round(0.7 * r.passes[0].stats.weights_in_pruned_layers)' \
    && ok || bad "global sparsity exact"
expect 0 "prune 0.6 auto" -- "$ECC" compress testdata/cnn.onnx -o "$T/a60.onnx" \
    --passes prune:sparsity=0.6:scope=auto --calib $CAL --report "$T/a60.json" -q
holds "$T/a60.json" 'r.passes[0].stats.zeros === Math.round(0.6 * r.passes[0].stats.weights_in_pruned_layers)' \
    && ok || bad "auto sparsity exact"

# --- calibrated methods, determinism
for meth in wanda sparsegpt; do
    expect 0 "$meth mlp" -- "$ECC" compress testdata/mlp.onnx -o "$T/m_$meth.onnx" \
        --passes prune:method=$meth:sparsity=0.7 --calib $CAL -q
    expect 0 "$meth mlp again" -- "$ECC" compress testdata/mlp.onnx -o "$T/m_${meth}2.onnx" \
        --passes prune:method=$meth:sparsity=0.7 --calib $CAL -q
    cmp -s "$T/m_$meth.onnx" "$T/m_${meth}2.onnx" && ok || bad "$meth output is not deterministic"
done
expect 0 "eval sparsegpt 70% mlp" -- "$ECC" eval "$T/m_sparsegpt.onnx" --data $CAL \
    --labels testdata/fmnist_64_labels.npy -q
acc=$(sed -n 's/^accuracy: \([0-9.]*\).*/\1/p' "$T/out")
awk "BEGIN { exit !($acc >= 0.75) }" && ok || bad "sparsegpt 70% mlp accuracy $acc on fmnist_64"

# compress SRC with SPEC into OUT, then ecc runs it and (with ORT) ONNX Runtime
# runs it to the same outputs. DESC names the case in failures.
compress_runs_like_ort() { # DESC SRC SPEC OUT
    d=$1; src=$2; spec=$3; out=$4
    rm -rf "$T/run_c" "$T/ort_c"
    expect 0 "$d" -- "$ECC" compress "$src" -o "$out" --passes "$spec" --calib $CAL -q
    expect 0 "$d: ecc runs it" -- "$ECC" run "$out" --data $CAL -o "$T/run_c" -q
    [ "$HAVE_ORT" = 1 ] || return 0
    expect 0 "$d: ORT runs it" -- node tests/interop/ort_run.js "$out" --fmnist 64 -o "$T/ort_c"
    expect 0 "$d: ecc and ORT agree" -- "$ECC" compare "$T/run_c" "$T/ort_c" --report "$T/cmp.json"
    if holds "$T/cmp.json" 'r.outputs.every(o => o.max_abs_error_rel_to_max < 1e-4)' ||
        { case $spec in *quant*) ort_int_inexact "$d" ;; *) false ;; esac; }; then ok
    else bad "$d: ecc and ORT outputs differ: $(head -c 300 "$T/out")"; fi
}

# --- prune-channel: CNN down >= 40% in params and FLOPs, valid, runs in ORT
expect 0 "prune-channel cnn" -- "$ECC" compress testdata/cnn.onnx -o "$T/ch.onnx" \
    --passes prune-channel:ratio=0.5 --report "$T/ch.json" -q
holds "$T/ch.json" 'const s = r.passes[0].stats; s.params_after <= 0.6 * s.params_before &&
    s.flops_after <= 0.6 * s.flops_before' && ok || bad "prune-channel: params/FLOPs down 40%"
# the second spec also moves biases (bias_correct: BN means, Gemm C, new Adds)
for spec in prune-channel:ratio=0.5:round_to=2 \
            prune:sparsity=0.6:min_params=0:bias_correct=true,prune-channel:bias_correct=true; do
for src in testdata/cnn.onnx testdata/edge/const_weights.onnx testdata/edge/depthwise.onnx \
           testdata/transformer.onnx; do
    b=$(basename "$src" .onnx)
    compress_runs_like_ort "$spec $b" "$src" "$spec" "$T/ch_$b.onnx"
done
done
expect 0 "inspect depthwise" -- "$ECC" inspect "$T/ch_depthwise.onnx"
expect 0 "prune-channel activation" -- "$ECC" compress testdata/cnn.onnx -o "$T/cha.onnx" \
    --passes prune-channel:criterion=activation:target_flops=0.5 --calib $CAL --report "$T/cha.json" -q
holds "$T/cha.json" 'const s = r.passes[0].stats; s.flops_after <= 0.52 * s.flops_before' \
    && ok || bad "target_flops=0.5 met"
expect 0 "prune then prune-channel" -- "$ECC" compress testdata/cnn.onnx -o "$T/both.onnx" \
    --passes prune:sparsity=0.5,prune-channel:ratio=0.25 -q

# --- sensitivity
expect 0 "sensitivity" -- "$ECC" sensitivity testdata/cnn.onnx --data $CAL \
    --labels testdata/fmnist_64_labels.npy --levels 0.5,0.9
grep -q "/res_a/Conv" "$T/out" && grep -q "dense accuracy" "$T/out" && ok || bad "sensitivity table"
expect 0 "sensitivity --json" -- "$ECC" sensitivity testdata/mlp.onnx --data $CAL \
    --pass prune:method=wanda --json --report "$T/sens.json"
holds "$T/sens.json" 'r.layers.length === 3 && r.layers[0].error.length === 5 && r.method === "wanda"' \
    && ok || bad "sensitivity JSON"
# sensitivity measures what the pass emits: the layer pruned alone by the pass
# (bias correction included: the default for wanda and sparsegpt) has the
# output error and agreement the table reports for it (bias_corrected: true)
expect 0 "dense run" -- "$ECC" run testdata/cnn.onnx --data $CAL -o "$T/dense" -q
for spec in prune:method=wanda prune:method=sparsegpt prune:bias_correct=true \
            prune:method=wanda:bias_correct=false; do
    one="$spec:include=/res_a/Conv"
    expect 0 "sensitivity $one" -- "$ECC" sensitivity testdata/cnn.onnx --data $CAL --pass "$one" \
        --levels 0.8 --json --report "$T/s1.json"
    expect 0 "prune $one" -- "$ECC" compress testdata/cnn.onnx -o "$T/one.onnx" \
        --passes "$one:sparsity=0.8:scope=layer" --calib $CAL -q
    rm -rf "$T/one_out"
    expect 0 "run $one" -- "$ECC" run "$T/one.onnx" --data $CAL -o "$T/one_out" -q
    expect 0 "compare $one" -- "$ECC" compare "$T/dense" "$T/one_out" --report "$T/c1.json"
    node -e 'const fs = require("fs");
        const s = JSON.parse(fs.readFileSync(process.argv[1])), c = JSON.parse(fs.readFileSync(process.argv[2]));
        const L = s.layers.find(l => l.name === "/res_a/Conv"), o = c.outputs[0];
        const err = Math.pow(10, -o.sqnr_db / 10), bc = !process.argv[3].includes("bias_correct=false");
        process.exit(L.bias_corrected === bc && Math.abs(L.error[0] - err) <= 1e-4 * err &&
                     L.agreement[0] === o.top1_agreement ? 0 : 1)' "$T/s1.json" "$T/c1.json" "$spec" &&
        ok || bad "sensitivity of $one is not the pruned model's: $(head -c 400 "$T/s1.json")"
done
# biases in Constant nodes are not rewritten to measure: such layers are
# measured without the correction, and the table and JSON say so
expect 0 "sensitivity, Constant-node biases" -- "$ECC" sensitivity testdata/edge/const_weights.onnx \
    --data $CAL --pass prune:method=wanda:min_params=0:head=true --levels 0.5 --report "$T/s2.json"
grep -q "bias correction: applied while measuring on 0 of 2 layers" "$T/out" && ok ||
    bad "sensitivity table does not say the Constant-node biases were not corrected"
holds "$T/s2.json" 'r.bias_correct && r.layers.every(l => l.bias_corrected === false)' && ok ||
    bad "Constant-node biases reported as corrected"
expect 1 "sensitivity of another pass" -- "$ECC" sensitivity testdata/mlp.onnx --data $CAL --pass dce
says "sensitivity of another pass" "one 'prune' invocation"
expect 1 "sensitivity bad levels" -- "$ECC" sensitivity testdata/mlp.onnx --data $CAL --levels 0.5,2
expect 1 "sensitivity without data" -- "$ECC" sensitivity testdata/mlp.onnx

# --- weight layers without weights (a [0,1,3,3] Conv, a [0,10] Gemm, a [10,0]
# MatMul: testdata/edge/empty_layers.onnx): every pass leaves them alone, the
# output still runs and matches ONNX Runtime (these divided by zero once)
E=testdata/edge/empty_layers.onnx
for spec in prune:min_params=0:head=true prune:pattern=2:4:min_params=0:head=true \
            prune:method=wanda:min_params=0:head=true prune:method=sparsegpt:min_params=0:head=true \
            prune:scope=auto:min_params=0 prune-channel:ratio=0.5 prune-channel:criterion=activation \
            equalize,quant quant:mode=dynamic quant-weight:method=gptq cluster:min_size=1 \
            quant-weight:bits=8:block=tensor,quant-const:min_size=2; do
    compress_runs_like_ort "empty layers: $spec" $E "$spec" "$T/e.onnx"
done

summary "cli-prune"
