#!/bin/sh
# `make demo`: inspect the bundled CNN, fold its BatchNorms away, show what
# changed and check in ONNX Runtime that the outputs did not.
set -e
BUILD=${1:-build}
OUT="$BUILD/demo"
mkdir -p "$OUT"
echo "== ecc inspect testdata/cnn.onnx"
"$BUILD/ecc" inspect testdata/cnn.onnx
echo
echo "== ecc compress testdata/cnn.onnx -o $OUT/cnn_folded.onnx --passes normalize,fold-bn,fold-constants,dce"
"$BUILD/ecc" compress testdata/cnn.onnx -o "$OUT/cnn_folded.onnx" \
    --passes normalize,fold-bn,fold-constants,dce --report "$OUT/report.json"
echo
echo "== ecc inspect $OUT/cnn_folded.onnx"
"$BUILD/ecc" inspect "$OUT/cnn_folded.onnx"
echo
echo "== report ($OUT/report.json), passes:"
node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
for (const p of r.passes) console.log("  " + p.name.padEnd(16) + (p.seconds * 1e3).toFixed(2).padStart(8) + " ms  " + JSON.stringify(p.stats));
' "$OUT/report.json"
if [ -d tests/interop/node_modules/onnxruntime-node ]; then
    echo
    echo "== ONNX Runtime: original vs compressed on 1,000 Fashion-MNIST test images"
    node tests/interop/ort_diff.js testdata/cnn.onnx "$OUT/cnn_folded.onnx" --fmnist 1000 --labels --tol 1e-5
fi
