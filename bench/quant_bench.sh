#!/bin/sh
# Quantization benchmarks, each against a peer measured in the same run:
#  1. the quantization arithmetic (bench/quant_bench.c): M weights/s per
#     scheme, goal >= 150 M weights/s (calibration forward passes excluded);
#  2. `ecc compress --passes quant` (it folds BN first) on the CNN with 256
#     Fashion-MNIST training images, wall time of the whole command (read, calibrate,
#     quantize, lower, write; best of 3) against PyTorch's FX post-training
#     quantization of the same model and images (bench/torch_ptq.py:
#     prepare_fx + calibration + convert_fx), printed as a ratio;
#  3. unless BENCH_ACCURACY=0: W8A8 accuracy on the 10,000 test images, ecc
#     (`ecc eval` of the emitted QDQ model) beside PyTorch FX PTQ, per model,
#     and the two paired image by image: each one's top-1 agreement with the
#     float model, the images only one of them gets right, McNemar's p.
set -e
BUILD=${BUILD:-build}
ECC="$BUILD/ecc"
. bench/lib.sh
D="$BUILD/bench"
PY=/usr/bin/python3
FM=/usr/share/datasets/fashion-mnist
CAL="$FM/train-images-idx3-ubyte.gz"
mkdir -p "$D"
[ -x "$D/quant_bench" ] || make --no-print-directory "$D/quant_bench" >/dev/null

echo "== quantization arithmetic"
"$D/quant_bench"

if [ ! -f "$CAL" ] || ! $PY -c 'import torch' 2>/dev/null; then
    echo "skip: Fashion-MNIST or python3-torch missing (PyTorch comparison)"
    exit 0
fi

now() { date +%s.%N; }
best=""
for i in 1 2 3; do
    t0=$(now)
    "$ECC" compress testdata/cnn.onnx -o "$D/cnn_w8a8.onnx" --passes quant \
        --calib "$CAL" --calib-size 256 -q
    t=$(echo "$(now) - $t0" | bc -l)
    best=$(echo "$t" "$best" | awk '{ print ($2 == "" || $1 < $2) ? $1 : $2 }')
done
t0=$(now)
torch_line=$($PY bench/torch_ptq.py cnn --test-size 1000 --calib-size 256 --repeat 3 |
    grep '^torch_ptq cnn')
t_py=$(echo "$(now) - $t0" | bc -l)
t_ptq=$(echo "$torch_line" | sed -n 's/.*ptq_seconds \([0-9.]*\).*/\1/p')
echo
echo "== whole compress on the CNN, 256 calibration images"
printf '  ecc compress --passes quant           %.3f s (best of 3, whole command)\n' "$best"
printf '  PyTorch FX PTQ (prepare+calib+convert) %.3f s (best of 3; python process %.1f s)\n' \
    "$t_ptq" "$t_py"
echo "$t_ptq $best" | awk '{ printf "  ratio PyTorch FX PTQ / ecc: %.2fx (ecc %s)\n", $1 / $2,
    ($1 >= $2) ? "faster" : "slower" }'

[ "${BENCH_ACCURACY:-1}" = 0 ] && exit 0
echo
echo "== W8A8 accuracy, 10,000 test images (calibration: first 256 training images)"
TEST="$FM/t10k-images-idx3-ubyte.gz"
LABELS="$FM/t10k-labels-idx1-ubyte.gz"
logits=""
for m in mlp cnn transformer; do
    "$ECC" compress testdata/$m.onnx -o "$D/${m}_w8a8.onnx" --passes quant \
        --calib "$CAL" --calib-size 256 -q
    "$ECC" run "$D/${m}_w8a8.onnx" --data "$TEST" -o "$D/${m}_w8a8_out" -q
    logits="$logits --ecc-logits $m=$D/${m}_w8a8_out/logits.npy"
done
$PY bench/torch_ptq.py mlp cnn transformer --calib-size 256 $logits >"$D/torch_ptq.txt"
for m in mlp cnn transformer; do
    a0=$(accuracy testdata/$m.onnx --data "$TEST" --labels "$LABELS")
    a1=$(accuracy "$D/${m}_w8a8.onnx" --data "$TEST" --labels "$LABELS")
    tq=$(sed -n "s/^torch_ptq $m: float \([0-9.]*\) int8 \([0-9.]*\).*/\1 \2/p" "$D/torch_ptq.txt")
    echo "$m $a0 $a1 $tq" | awk '{ printf "  %-12s float %.4f  ecc W8A8 %.4f (drop %5.2f)  PyTorch FX %.4f (drop %5.2f)\n",
        $1, $2, $3, 100 * ($2 - $3), $5, 100 * ($4 - $5) }'
done
echo
echo "== paired, image by image (McNemar p: how likely a split this uneven is by chance)"
sed -n 's/^paired /  /p' "$D/torch_ptq.txt"
