#!/bin/sh
# Recovery by fine-tuning (docs/training.md): each model pruned one-shot, then
# the same pruning followed by `distill` (no labels: the input model is the
# teacher) on the 60,000 Fashion-MNIST training images, full and bias-only.
# Scored on the 10,000 test images by `ecc eval` and by ONNX Runtime on the
# same file. The peer is the one-shot row of the same run: "recovered" is the
# share of the points pruning lost that fine-tuning won back. Also prints the
# training time, samples/s and peak bytes from each run's report.
#
#   EPOCHS=2 sh bench/distill_table.sh [mlp|cnn|transformer ...]   (ECC=path/to/ecc)
set -e
ECC=${ECC:-${BUILD:-build}/ecc}
FM=/usr/share/datasets/fashion-mnist
TRAIN="--calib $FM/train-images-idx3-ubyte.gz"
EVAL="--data $FM/t10k-images-idx3-ubyte.gz --labels $FM/t10k-labels-idx1-ubyte.gz"
D=$(mktemp -d /tmp/ecc_distill_table.XXXXXX)
trap 'rm -rf "$D"' EXIT
. bench/lib.sh
have_ort() { command -v node >/dev/null 2>&1 && [ -d tests/interop/node_modules/onnxruntime-node ]; }
acc_ort() {
    if have_ort; then node tests/interop/ort_run.js "$1" --fmnist 10000 --accuracy |
        sed -n 's/^accuracy: \([0-9.]*\).*/\1/p'; else echo "-"; fi
}
stat() { node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const p = r.passes.find(x => x.name === "distill");
    const v = !p ? undefined : process.argv[2] === "seconds" ? p.seconds : p.stats[process.argv[2]]; console.log(v === undefined ? "-" : v)' "$1" "$2"; }
prune_of() { case $1 in mlp) echo prune:sparsity=0.9 ;; *) echo prune:sparsity=0.7 ;; esac; }

models=${*:-mlp cnn}
EPOCHS=${EPOCHS:-2}
printf '| model | spec | ecc eval | ORT | recovered | train s | samples/s | peak MB |\n'
printf '|---|---|---|---|---|---|---|---|\n'
for m in $models; do
    float=$(accuracy testdata/$m.onnx $EVAL)
    printf '| %s | float | %s | %s | | | | |\n' $m "$float" "$(acc_ort testdata/$m.onnx)"
    p=$(prune_of $m)
    "$ECC" compress testdata/$m.onnx -o "$D/p.onnx" --passes "$p" -q
    one=$(accuracy "$D/p.onnx" $EVAL)
    printf '| %s | %s | %s | %s | | | | |\n' $m "$p" "$one" "$(acc_ort "$D/p.onnx")"
    for d in distill:epochs=$EPOCHS distill:epochs=$EPOCHS:train=bias; do
        "$ECC" compress testdata/$m.onnx -o "$D/d.onnx" --passes "$p,$d" $TRAIN -q \
            --report "$D/r.json"
        a=$(accuracy "$D/d.onnx" $EVAL)
        rec=$(node -e "const [f,o,a]=process.argv.slice(1).map(Number);
            console.log(f>o ? ((a-o)/(f-o)*100).toFixed(0)+' %' : '-')" "$float" "$one" "$a")
        printf '| %s | %s,%s | %s | %s | %s | %s | %s | %s |\n' $m "$p" "$d" "$a" \
            "$(acc_ort "$D/d.onnx")" "$rec" "$(node -e "console.log((+process.argv[1]).toFixed(1))" \
            "$(stat "$D/r.json" seconds)")" "$(stat "$D/r.json" samples_per_second | cut -d. -f1)" \
            "$(node -e "console.log((process.argv[1]/1e6).toFixed(1))" "$(stat "$D/r.json" peak_bytes)")"
    done
done
