#!/bin/sh
# cli_distill_test.sh — `ecc compress --passes ...,distill` end to end on small
# runs: a 90%-pruned MLP recovers agreement with its teacher on held-out
# samples and accuracy on the test images, the pruned weights stay zero, the
# report carries the loss curve, the same seed gives the same bytes, ONNX
# Runtime runs the result with ecc's top-1; quantizers before distill train
# jointly (INT4 weights, W8A8) and ONNX Runtime scores the lowered file as ecc
# does; a cluster codebook trains tied; bad options, missing data, a dynamic
# quantizer before distill and a diverging run are refused with one-line errors, documented
# exit codes and no output file.
. "$(dirname "$0")/lib.sh"
FM=/usr/share/datasets/fashion-mnist
TRAIN=$FM/train-images-idx3-ubyte.gz
TEST=$FM/t10k-images-idx3-ubyte.gz
LAB=$FM/t10k-labels-idx1-ubyte.gz
HAVE_ORT=0
[ -f tests/interop/node_modules/onnxruntime-node/package.json ] && HAVE_ORT=1
if [ ! -f "$TRAIN" ]; then echo "skip: Fashion-MNIST missing"; summary cli-distill; exit; fi
acc() { "$ECC" eval "$1" --data "$TEST" --labels "$LAB" -q 2>/dev/null |
    sed -n 's/^accuracy: \([0-9.]*\).*/\1/p'; }
sparsity() { "$ECC" inspect --json "$1" | node -e '
    const r = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const w = (r.weights || []).find(x => x.name === process.argv[1]);
    console.log(w ? w.sparsity : "none")' "$2"; }

# --- a 90%-pruned MLP, fine-tuned on 4,000 training images for 2 epochs
expect 0 "prune" -- "$ECC" compress testdata/mlp.onnx -o "$T/p.onnx" --passes prune:sparsity=0.9
expect 0 "prune,distill" -- "$ECC" compress testdata/mlp.onnx -o "$T/pd.onnx" \
    --passes prune:sparsity=0.9,distill:epochs=2 --calib "$TRAIN" --calib-size 4000 \
    --report "$T/pd.json"
holds "$T/pd.json" 'r.passes[1].stats["epoch2.val_agreement"] > r.passes[1].stats.val_agreement_before + 0.2' &&
    ok || bad "held-out agreement did not rise: $(json "$T/pd.json" 'JSON.stringify(r.passes[1].stats)')"
holds "$T/pd.json" 'r.passes[1].stats["epoch2.loss"] < r.passes[1].stats["epoch1.loss"]' &&
    ok || bad "training loss did not fall"
holds "$T/pd.json" 'r.passes[1].stats.train_samples == 3600 && r.passes[1].stats.val_samples == 400' &&
    ok || bad "train/held-out split is not 3600/400 of --calib-size 4000"
a_p=$(acc "$T/p.onnx"); a_pd=$(acc "$T/pd.onnx")
node -e "process.exit($a_pd > $a_p + 0.2 ? 0 : 1)" && ok || bad "accuracy $a_p -> $a_pd did not recover"
for w in fc1.weight fc2.weight; do
    z1=$(sparsity "$T/p.onnx" $w); z2=$(sparsity "$T/pd.onnx" $w)
    [ -n "$z1" ] && [ "$z1" = "$z2" ] && ok || bad "$w: zeros $z1 after prune, $z2 after distill"
done

# --- same seed, same bytes; another seed, other bytes
expect 0 "again" -- "$ECC" compress testdata/mlp.onnx -o "$T/pd2.onnx" \
    --passes prune:sparsity=0.9,distill:epochs=2 --calib "$TRAIN" --calib-size 4000
cmp -s "$T/pd.onnx" "$T/pd2.onnx" && ok || bad "same seed gave different bytes"
expect 0 "seed 7" -- "$ECC" compress testdata/mlp.onnx -o "$T/pd3.onnx" --seed 7 \
    --passes prune:sparsity=0.9,distill:epochs=2 --calib "$TRAIN" --calib-size 4000
cmp -s "$T/pd.onnx" "$T/pd3.onnx" && bad "another seed gave the same bytes" || ok

# --- bias-only fine-tuning trains only biases
expect 0 "train=bias" -- "$ECC" compress testdata/mlp.onnx -o "$T/pb.onnx" \
    --passes prune:sparsity=0.9,distill:epochs=1:train=bias --calib "$TRAIN" --calib-size 2000 \
    --report "$T/pb.json"
holds "$T/pb.json" 'r.passes[1].stats.trained_params == 256 + 128 + 10' && ok ||
    bad "train=bias trained $(json "$T/pb.json" 'r.passes[1].stats.trained_params') params"

# --- ONNX Runtime runs the fine-tuned model with ecc's top-1
if [ "$HAVE_ORT" = 1 ]; then
    expect 0 "ecc runs it" -- "$ECC" run "$T/pd.onnx" --data testdata/fmnist_64.npy -o "$T/run" -q
    expect 0 "ORT runs it" -- node tests/interop/ort_run.js "$T/pd.onnx" --fmnist 64 -o "$T/ort"
    expect 0 "compare" -- "$ECC" compare "$T/ort" "$T/run"
    grep -q "top-1 agreement 64/64" "$T/out" && ok || bad "ecc and ORT top-1 differ: $(cat "$T/out")"
fi

# --- labels: cross-entropy joins the loss, the report has held-out accuracy per epoch;
# alpha=0 is the label-free loss, so the same bytes as without --labels
TRLAB=$FM/train-labels-idx1-ubyte.gz
expect 0 "labels" -- "$ECC" compress testdata/mlp.onnx -o "$T/pl.onnx" \
    --passes prune:sparsity=0.9,distill:epochs=2 --calib "$TRAIN" --calib-size 4000 \
    --labels "$TRLAB" --report "$T/pl.json"
holds "$T/pl.json" 'r.passes[1].stats["epoch2.val_accuracy"] > r.passes[1].stats.val_accuracy_before + 0.2' &&
    ok || bad "held-out accuracy did not rise: $(json "$T/pl.json" 'JSON.stringify(r.passes[1].stats)')"
holds "$T/pd.json" 'r.passes[1].stats["epoch1.val_accuracy"] === undefined' && ok ||
    bad "held-out accuracy reported without labels"
a_pl=$(acc "$T/pl.onnx")
node -e "process.exit($a_pl > $a_p + 0.2 ? 0 : 1)" && ok || bad "accuracy $a_p -> $a_pl with labels"
expect 0 "alpha=0" -- "$ECC" compress testdata/mlp.onnx -o "$T/pa0.onnx" \
    --passes prune:sparsity=0.9,distill:epochs=2:alpha=0 --calib "$TRAIN" --calib-size 4000 \
    --labels "$TRLAB"
cmp -s "$T/pd.onnx" "$T/pa0.onnx" && ok || bad "alpha=0 with labels differs from no labels"

# --- --train: distill trains on it (all of it), calibration passes keep reading --calib
expect 0 "--train" -- "$ECC" compress testdata/mlp.onnx -o "$T/pt.onnx" -v \
    --passes prune:method=wanda,distill:steps=2 --calib "$TRAIN" --calib-size 300 \
    --train testdata/fmnist_64.npy --report "$T/pt.json"
holds "$T/pt.json" 'r.passes[1].stats.train_samples == 58 && r.passes[1].stats.val_samples == 6' &&
    ok || bad "distill did not train on the 64 --train samples"
grep -q 'data: read 300 samples of .*train-images' "$T/err" &&
    grep -q 'data: read 64 samples of testdata/fmnist_64.npy' "$T/err" && ok ||
    bad "--calib and --train not read as given: $(grep 'data:' "$T/err")"
expect 0 "--train alone" -- "$ECC" compress testdata/mlp.onnx -o "$T/pt2.onnx" \
    --passes prune,distill:steps=2 --train testdata/fmnist_64.npy \
    --labels testdata/fmnist_64_labels.npy --report "$T/pt2.json"
holds "$T/pt2.json" 'r.passes[1].stats.val_accuracy_before >= 0' && ok ||
    bad "--train with --labels reported no accuracy"

# --- feature pairs: beta·MSE of a student value against the teacher's joins the loss and
# its gradient changes the training; beta=0 trains exactly as without
F2=/Relu_1_output_0:/Relu_1_output_0
expect 0 "features" -- "$ECC" compress testdata/mlp.onnx -o "$T/pf.onnx" \
    --passes prune:sparsity=0.9,distill:epochs=2:features=$F2 --calib "$TRAIN" \
    --calib-size 4000 --report "$T/pf.json"
holds "$T/pf.json" 'r.passes[1].stats["epoch1.loss"] > 1.5 * '"$(json "$T/pd.json" \
    'r.passes[1].stats["epoch1.loss"]')" && ok || bad "feature MSE not in the loss"
cmp -s "$T/pd.onnx" "$T/pf.onnx" && bad "features did not change the training" || ok
holds "$T/pf.json" 'r.passes[1].stats["epoch2.val_agreement"] > r.passes[1].stats.val_agreement_before + 0.2' &&
    ok || bad "agreement did not rise with features"
expect 0 "beta=0" -- "$ECC" compress testdata/mlp.onnx -o "$T/pf0.onnx" \
    --passes prune:sparsity=0.9,distill:epochs=2:features=$F2:beta=0 --calib "$TRAIN" \
    --calib-size 4000
cmp -s "$T/pd.onnx" "$T/pf0.onnx" && ok || bad "beta=0 trained differently from no features"

# --- the pipeline reads --calib once: Wanda's 256 samples are a prefix of what distill trains
# on, GPTQ takes them again from the run's cache
expect 0 "read once" -- "$ECC" compress testdata/mlp.onnx -o "$T/r1.onnx" -v \
    --passes prune:method=wanda,distill:steps=2,quant-weight:method=gptq --calib "$TRAIN"
[ "$(grep -c 'data: read 60000 samples' "$T/err")" = 1 ] &&
    [ "$(grep -c "data: .* from the run's cache" "$T/err")" = 2 ] && ok ||
    bad "--calib not read once: $(grep 'data:' "$T/err")"

# --- joint: quantizers before distill train through fake quantization (INT4
# weights; W8A8 weights and activations) and keep their grids: the lowered
# file computes what was trained (ecc eval = ONNX Runtime), far above one-shot
expect 0 "prune,quant-weight" -- "$ECC" compress testdata/mlp.onnx -o "$T/pq.onnx" \
    --passes prune:sparsity=0.9,quant-weight:bits=4
expect 0 "prune,quant-weight,distill" -- "$ECC" compress testdata/mlp.onnx -o "$T/pqd.onnx" \
    --passes prune:sparsity=0.9,quant-weight:bits=4,distill:epochs=2 --calib "$TRAIN" \
    --calib-size 4000
a_pq=$(acc "$T/pq.onnx"); a_pqd=$(acc "$T/pqd.onnx")
node -e 'process.exit(+process.argv[2] > +process.argv[1] + 0.2 ? 0 : 1)' "$a_pq" "$a_pqd" &&
    ok || bad "INT4 joint training: $a_pq one-shot, $a_pqd after distill"
"$ECC" inspect "$T/pqd.onnx" | grep -q "DequantizeLinear" && ok ||
    bad "the trained INT4 model lost its DequantizeLinear weights"
expect 0 "prune,quant,distill (W8A8, learned scales)" -- "$ECC" compress testdata/cnn.onnx \
    -o "$T/cqd.onnx" --passes prune:sparsity=0.5,quant,distill:steps=20:batch=32:lsq=true \
    --calib "$TRAIN" --calib-size 1000 --report "$T/cqd.json"
holds "$T/cqd.json" 'r.passes[2].stats["lsq.activation_scales"] >= 4' && ok ||
    bad "W8A8 lsq learned no activation scale: $(json "$T/cqd.json" 'JSON.stringify(r.passes[2].stats)')"
"$ECC" inspect "$T/cqd.onnx" | grep -q "QuantizeLinear" && ok ||
    bad "the trained W8A8 model has no QuantizeLinear"
if [ $HAVE_ORT = 1 ]; then
    for f in pqd cqd; do
        a_ort=$(node tests/interop/ort_run.js "$T/$f.onnx" --fmnist 2000 --accuracy |
            sed -n 's/^accuracy: \([0-9.]*\).*/\1/p')
        a_ecc2=$("$ECC" eval "$T/$f.onnx" --data "$TEST" --labels "$LAB" --limit 2000 -q \
            2>/dev/null | sed -n 's/^accuracy: \([0-9.]*\).*/\1/p')
        node -e 'process.exit(Math.abs(process.argv[1] - process.argv[2]) <= 0.005 ? 0 : 1)' \
            "$a_ecc2" "$a_ort" && ok || bad "$f: ecc $a_ecc2, ONNX Runtime $a_ort on 2000 images"
    done
fi

# --- learned scales (lsq=true): the INT4 scales in the written file change,
# and the file still scores above one-shot in ecc and ONNX Runtime alike
expect 0 "prune,quant-weight,distill:lsq" -- "$ECC" compress testdata/mlp.onnx \
    -o "$T/pql.onnx" --passes prune:sparsity=0.9,quant-weight:bits=4,distill:epochs=2:lsq=true \
    --calib "$TRAIN" --calib-size 4000 --report "$T/pql.json"
holds "$T/pql.json" 'r.passes[2].stats["lsq.scales"] > 100 &&
    r.passes[2].stats["lsq.mean_relative_change"] > 0.001' && ok ||
    bad "lsq=true did not change the scales: $(json "$T/pql.json" 'JSON.stringify(r.passes[2].stats)')"
cmp -s "$T/pql.onnx" "$T/pqd.onnx" && bad "lsq=true wrote the same file as without" || ok
a_pql=$(acc "$T/pql.onnx")
node -e 'process.exit(+process.argv[2] > +process.argv[1] + 0.2 ? 0 : 1)' "$a_pq" "$a_pql" &&
    ok || bad "learned scales: $a_pq one-shot, $a_pql after distill"

# --- weight sharing: a cluster codebook trains tied (Deep Compression): the
# .ecc still stores codebook indices, above one-shot (only the 16 centroids
# per layer and the biases move: it recovers slower than free weights)
expect 0 "prune,cluster" -- "$ECC" compress testdata/mlp.onnx -o "$T/pc.ecc" \
    --passes prune:sparsity=0.9,cluster:bits=4
expect 0 "prune,cluster,distill" -- "$ECC" compress testdata/mlp.onnx -o "$T/pcd.ecc" \
    --passes prune:sparsity=0.9,cluster:bits=4,distill:epochs=2 --calib "$TRAIN" \
    --calib-size 4000
"$ECC" inspect "$T/pcd.ecc" | grep -q "fc1.weight .*codebook" && ok ||
    bad "the trained clustered weight is no longer stored as a codebook"
a_pc=$(acc "$T/pc.ecc"); a_pcd=$(acc "$T/pcd.ecc")
node -e 'process.exit(+process.argv[2] > +process.argv[1] + 0.1 ? 0 : 1)' "$a_pc" "$a_pcd" &&
    ok || bad "tied codebook training: $a_pc one-shot, $a_pcd after distill"

# --- gradual pruning: the mask ramps during distill to the sparsity the
# prune pass chose per layer (one-shot ranking replaced by the last one)
expect 0 "prune gradual,distill" -- "$ECC" compress testdata/mlp.onnx -o "$T/pg.onnx" \
    --passes prune:sparsity=0.9:schedule=gradual,distill:epochs=2 --calib "$TRAIN" \
    --calib-size 4000
[ "$(sparsity "$T/pg.onnx" fc1.weight)" = "$(sparsity "$T/p.onnx" fc1.weight)" ] && ok ||
    bad "gradual fc1 sparsity $(sparsity "$T/pg.onnx" fc1.weight), one-shot $(sparsity "$T/p.onnx" fc1.weight)"
a_p=$(acc "$T/p.onnx"); a_pg=$(acc "$T/pg.onnx")
node -e 'process.exit(+process.argv[2] > +process.argv[1] + 0.2 ? 0 : 1)' "$a_p" "$a_pg" &&
    ok || bad "gradual pruning: $a_p one-shot, $a_pg after distill"

# --- refusals: exit code, one line, no output file
mkdir -p "$T/o"
refuse() { # CODE DESCRIPTION NEEDLE -- compress args...
    code=$1; desc=$2; needle=$3; shift 4
    expect "$code" "$desc" -- "$ECC" compress testdata/mlp.onnx -o "$T/o/x.onnx" "$@"
    one_line_error "$desc" "$needle"
}
refuse 1 "lr 0" "lr" -- --passes distill:lr=0 --calib "$TRAIN" --calib-size 100
refuse 1 "lr nan" "lr" -- --passes distill:lr=nan --calib "$TRAIN" --calib-size 100
refuse 1 "bad train=" "train=weights" -- --passes distill:train=weights --calib "$TRAIN"
refuse 1 "no data" "--calib" -- --passes prune,distill
refuse 1 "--train is not --calib" "--calib" -- --passes prune:method=wanda,distill \
    --train testdata/fmnist_64.npy
refuse 1 "dynamic quant first" "quant:mode=dynamic" -- --passes quant:mode=dynamic,distill \
    --calib "$TRAIN" --calib-size 100
refuse 1 "gradual without distill" "needs a training pass after it" -- \
    --passes prune:schedule=gradual,quant --calib "$TRAIN" --calib-size 100
refuse 1 "gradual wanda" "re-ranks by magnitude" -- \
    --passes prune:method=wanda:schedule=gradual,distill --calib "$TRAIN" --calib-size 100
refuse 2 "wrong shape" "input" -- --passes distill --calib "$LAB"
refuse 2 "labels count" "64 labels for 60000 samples" -- --passes prune,distill \
    --calib "$TRAIN" --labels testdata/fmnist_64_labels.npy
printf '\0\0\10\1\0\0\0\100' >"$T/lab12.idx"
i=0; while [ $i -lt 64 ]; do printf '\14' >>"$T/lab12.idx"; i=$((i + 1)); done
refuse 2 "label range" "label 12 of sample 0 is outside [0, 10)" -- --passes distill \
    --calib testdata/fmnist_64.npy --labels "$T/lab12.idx"
grep -qF "$T/lab12.idx" "$T/err" && ok || bad "label range error does not name the file"
refuse 2 "labels not indices" "one class index per sample" -- --passes distill \
    --calib testdata/fmnist_64.npy --labels testdata/fmnist_64.npy
refuse 1 "features syntax" "features=" -- --passes distill:features=/Relu_output_0 \
    --calib testdata/fmnist_64.npy
refuse 1 "features name" "no activation named 'nope'" -- --passes distill:features=nope:logits \
    --calib testdata/fmnist_64.npy
refuse 2 "features shape" "same shape" -- \
    --passes distill:features=/Relu_output_0:/Relu_1_output_0 --calib testdata/fmnist_64.npy
refuse 3 "diverges" "diverged" -- \
    --passes distill:lr=10:optimizer=sgd:momentum=0.99:schedule=constant:steps=40 \
    --calib "$TRAIN" --calib-size 1000
no_output_left "refusals" "$T/o"

summary cli-distill
