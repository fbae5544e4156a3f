#!/bin/sh
# quant_size.sh — the INT8 model file against the float file (issue 5's
# "INT8 file <= 0.27x"), for each testdata model and each INT8 form ecc
# emits: static W8A8 QDQ (`quant`), dynamic (`quant:mode=dynamic`) and
# weight-only int8 per channel (`quant-weight:bits=8:block=channel`), and
# the smallest form: weight-only int8 per tensor with the remaining float
# constants in 8 bits (`quant-weight:bits=8:block=tensor,quant-const`), plus
# the static form with those constants. Beside them,
# the floors ONNX itself sets (bench/int8_size.py): the float file with only
# the quantized weights as int8 and nothing added, and with every float
# initializer as int8, both on the graph with BatchNormalization folded (every
# form folds it first: quant and quant-weight default to fold_bn=true). Each
# form also with --short-names (tensors
# renamed to short ids, node names dropped: the same computation in fewer
# bytes). Calibration: 256 training images.
set -e
BUILD=${BUILD:-build}
ECC="$BUILD/ecc"
PY=/usr/bin/python3
CAL=/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
if [ ! -f "$CAL" ] || ! $PY -c 'import onnx' 2>/dev/null; then
    echo "quant_size: skip (Fashion-MNIST or python3-onnx missing)"
    exit 0
fi
D=$(mktemp -d /tmp/ecc_quant_size.XXXXXX)
trap 'rm -rf "$D"' EXIT
echo "== INT8 file size / float file size (goal <= 0.27x)"
for m in mlp cnn transformer; do
    for names in "" --short-names; do
        sfx=${names:+-short}
        "$ECC" compress testdata/$m.onnx -o "$D/static$sfx.onnx" --passes quant \
            --calib "$CAL" --calib-size 256 -q $names
        "$ECC" compress testdata/$m.onnx -o "$D/dynamic$sfx.onnx" --passes quant:mode=dynamic \
            -q $names
        "$ECC" compress testdata/$m.onnx -o "$D/weight$sfx.onnx" \
            --passes quant-weight:bits=8:block=channel -q $names
        "$ECC" compress testdata/$m.onnx -o "$D/const$sfx.onnx" \
            --passes quant-weight:bits=8:block=tensor,quant-const -q $names
        "$ECC" compress testdata/$m.onnx -o "$D/static-const$sfx.onnx" \
            --passes quant,quant-const --calib "$CAL" --calib-size 256 -q $names
    done
    "$ECC" compress testdata/$m.onnx -o "$D/folded.onnx" --passes fold-bn -q
    $PY bench/int8_size.py testdata/$m.onnx --graph "$D/folded.onnx" "static=$D/static.onnx" \
        "dynamic=$D/dynamic.onnx" "weight-only=$D/weight.onnx" \
        "static --short-names=$D/static-short.onnx" \
        "dynamic --short-names=$D/dynamic-short.onnx" \
        "weight-only --short-names=$D/weight-short.onnx" \
        "per-tensor+quant-const=$D/const.onnx" \
        "per-tensor+quant-const --short-names=$D/const-short.onnx" \
        "static+quant-const=$D/static-const.onnx" \
        "static+quant-const --short-names=$D/static-const-short.onnx"
done
