#!/bin/sh
# quant_draws.sh — W8A8 static accuracy, ecc against PyTorch FX, over K
# disjoint calibration sets instead of one: set k is training images
# [256k, 256k+256) (set 0 is the one every other bench uses), both tools
# calibrate on the same images and are scored on the 10,000 test images.
# One set's result moves by a few images with the draw; the mean over the
# sets, and the paired difference ecc - FX with its standard error, say
# which tool is more accurate beyond that noise. Nothing here chooses a
# setting: ecc runs its defaults.
#   sh bench/quant_draws.sh [K] [test|heldout]
# K defaults to 10; `heldout` scores on training images 50,000-59,999 (the
# set the defaults were chosen on) instead of the test set. ECC=path/to/ecc.
set -e
ECC=${ECC:-${BUILD:-build}/ecc}
. bench/lib.sh
K=${1:-10}
EVAL=${2:-test}
case "$K:$EVAL" in
    *[!0-9]*:* | 0:* | :*) echo "quant_draws: K must be a positive integer" >&2; exit 1 ;;
    *:test | *:heldout) ;;
    *) echo "quant_draws: the second argument is test or heldout" >&2; exit 1 ;;
esac
PY=/usr/bin/python3
FM=/usr/share/datasets/fashion-mnist
TEST="$FM/t10k-images-idx3-ubyte.gz"
LABELS="$FM/t10k-labels-idx1-ubyte.gz"
if [ ! -f "$TEST" ] || ! $PY -c 'import torch' 2>/dev/null; then
    echo "quant_draws: skip (Fashion-MNIST or python3-torch missing)"
    exit 0
fi
D=$(mktemp -d /tmp/ecc_draws.XXXXXX)
trap 'rm -rf "$D"' EXIT
$PY bench/torch_ptq.py mlp cnn transformer --draws "$K" --draw-dir "$D" --eval "$EVAL" >"$D/fx.txt"
if [ "$EVAL" = heldout ]; then
    TEST="$D/eval_images.idx" LABELS="$D/eval_labels.idx"
    WHAT="held-out accuracy (training images 50,000-59,999)"
else
    WHAT="test accuracy (10,000 test images)"
fi
for m in mlp cnn transformer; do
    k=0
    while [ "$k" -lt "$K" ]; do
        "$ECC" compress testdata/$m.onnx -o "$D/q.onnx" --passes quant \
            --calib "$D/calib_$k.idx" -q
        echo "draw $m $k ecc $(accuracy "$D/q.onnx" --data "$TEST" --labels "$LABELS")"
        k=$((k + 1))
    done
done >"$D/ecc.txt"
echo "== W8A8 static, $WHAT in %, over $K disjoint 256-image calibration sets"
echo "| model | float | ecc mean | FX mean | ecc - FX (mean ± s.e.) | sets ecc > / = / < FX |"
echo "|---|---|---|---|---|---|"
for m in mlp cnn transformer; do
    f=$(accuracy testdata/$m.onnx --data "$TEST" --labels "$LABELS")
    grep "^draw $m " "$D/ecc.txt" "$D/fx.txt" | sed 's/^[^:]*://' |
        awk -v m="$m" -v f="$f" '
        $4 == "ecc" { e[$3] = 100 * $5 } $4 == "fx" { x[$3] = 100 * $5 }
        END {
            for (k in e) { n++; se += e[k]; sx += x[k]; d = e[k] - x[k]; sd += d; sdd += d * d
                           w += d > 0.0001; t += d >= -0.0001 && d <= 0.0001; l += d < -0.0001 }
            md = sd / n; v = n > 1 ? (sdd - n * md * md) / (n - 1) : 0
            printf "| %s | %.2f | %.3f | %.3f | %+.3f ± %.3f | %d / %d / %d |\n",
                m, 100 * f, se / n, sx / n, md, sqrt(v / n), w, t, l }'
done
echo
echo "per set (ecc / FX):"
for m in mlp cnn transformer; do
    printf '  %-12s' "$m"
    k=0
    while [ "$k" -lt "$K" ]; do
        e=$(sed -n "s/^draw $m $k ecc //p" "$D/ecc.txt")
        x=$(sed -n "s/^draw $m $k fx //p" "$D/fx.txt")
        printf ' %.2f/%.2f' "$(echo "100 * $e" | bc -l)" "$(echo "100 * $x" | bc -l)"
        k=$((k + 1))
    done
    echo
done
