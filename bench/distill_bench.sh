#!/bin/sh
# Distillation throughput against PyTorch, measured in the same run: images/s
# of one epoch of `ecc compress --passes distill` (the report's distill
# samples_per_second: the training loop only, teacher logits and model I/O
# excluded) beside bench/torch_distill.py doing the same epoch (same model and
# weights, eval-mode BatchNorm, every parameter trained, batch 64, AdamW lr
# 1e-3 without weight decay, T^2 KL at T=2 against teacher logits computed
# once, the first 10,000 Fashion-MNIST training images, constant rate, no
# held-out split), at 1 and 2 threads, for mlp, cnn and transformer.
#
#   sh bench/distill_bench.sh [mlp|cnn|transformer ...]    (BUILD=build-g ...)
#
# Threads: the CLI has no thread flag and the interpreter's pool takes every
# online core (sysconf), so ecc's 1-thread run is `taskset -c 0` (its pool's
# threads then share core 0) and the 2-thread run `taskset -c 0,1`; PyTorch
# runs under the same taskset with torch.set_num_threads(N). Both sides count
# samples/s as steps x 64 / seconds (157 steps: the last, partial batch counts
# as 64). Each side's best of BENCH_REPEAT (3) epochs, a process per ecc
# epoch, one process for PyTorch's (each epoch from the loaded weights). Skips (exit 0, a 'skip:' line) without python3-torch or the dataset.
set -e
BUILD=${BUILD:-build}
ECC="$BUILD/ecc"
. bench/lib.sh
PY=/usr/bin/python3
FM=/usr/share/datasets/fashion-mnist
CAL="$FM/train-images-idx3-ubyte.gz"
SIZE=${DISTILL_SIZE:-10000}
REPEAT=${BENCH_REPEAT:-3}
if [ ! -f "$CAL" ] || ! $PY -c 'import torch, onnx' 2>/dev/null; then
    echo "skip: Fashion-MNIST or python3-torch missing (PyTorch comparison)"
    exit 0
fi
command -v taskset >/dev/null 2>&1 || { echo "skip: taskset (util-linux) missing"; exit 0; }
[ -x "$ECC" ] || { echo "distill_bench: $ECC missing (make BUILD=$BUILD all)"; exit 1; }
ncpu=$(nproc)
D=$(mktemp -d /tmp/ecc_distill_bench.XXXXXX)
trap 'rm -rf "$D"' EXIT

cores() { [ "$1" = 1 ] && echo 0 || echo "0-$(($1 - 1))"; }

# ecc_sps MODEL THREADS: samples/s of one distillation epoch in ecc, best of $REPEAT.
ecc_sps() {
    best=0
    for i in $(seq "$REPEAT"); do
        taskset -c "$(cores "$2")" "$ECC" compress "testdata/$1.onnx" -o "$D/$1_d.onnx" -q \
            --passes distill:epochs=1:batch=64:val=0:schedule=constant \
            --calib "$CAL" --calib-size "$SIZE" --report "$D/r.json"
        s=$($PY -c 'import json, sys
r = json.load(open(sys.argv[1]))
print(next(p for p in r["passes"] if p["name"] == "distill")["stats"]["samples_per_second"])' \
            "$D/r.json")
        best=$(echo "$s $best" | awk '{ print ($1 > $2) ? $1 : $2 }')
    done
    echo "$best"
}

# torch_sps MODEL THREADS: the same in PyTorch, best of $REPEAT epochs.
torch_sps() {
    taskset -c "$(cores "$2")" $PY bench/torch_distill.py "$1" --threads "$2" --size "$SIZE" \
        --repeat "$REPEAT" | sed -n 's/.*samples_per_second \([0-9.]*\).*/\1/p'
}

models=${*:-mlp cnn transformer}
threads="1"
[ "$ncpu" -ge 2 ] && threads="1 2"
echo "== one distillation epoch: $SIZE images, batch 64, AdamW, KL T=2"
echo "   (images/s, best of $REPEAT epochs per side; higher is better)"
printf '%-12s %7s %12s %12s %14s\n' model threads ecc PyTorch "ecc/PyTorch"
for m in $models; do
    for t in $threads; do
        e=$(ecc_sps "$m" "$t")
        p=$(torch_sps "$m" "$t")
        echo "$m $t $e $p" | awk '{ printf "%-12s %7d %12.0f %12.0f %13.2fx\n", $1, $2, $3, $4,
            ($4 > 0) ? $3 / $4 : 0 }'
    done
done
