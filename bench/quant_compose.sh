#!/bin/sh
# Composed quantization pipelines on the testdata models: `quant-weight`
# first gives `quant` its weights (W4A8 with blocks of 32 or one scale per
# channel, GPTQ INT8 weights under static activations, INT8 per-channel
# weights under dynamic activations), beside plain `quant`. Per pipeline:
# file bytes and ratio to the float file, the output SQNR `quant` reports on
# its 256 calibration images, and top-1 accuracy on the 10,000 test images
# scored by `ecc eval` and by ONNX Runtime (tests/interop/ort_run.js) on the
# same file, with their top-1 agreement.
set -e
BUILD=${BUILD:-build}
ECC="$BUILD/ecc"
PY=/usr/bin/python3
FM=/usr/share/datasets/fashion-mnist
if [ ! -f "$FM/t10k-images-idx3-ubyte.gz" ] || ! $PY -c 'import numpy' 2>/dev/null ||
    ! command -v node >/dev/null 2>&1 || [ ! -d tests/interop/node_modules/onnxruntime-node ]; then
    echo "quant_compose: skip (Fashion-MNIST, python3-numpy or onnxruntime-node missing)"
    exit 0
fi
CAL="--calib $FM/train-images-idx3-ubyte.gz --calib-size 256"
D=$(mktemp -d /tmp/ecc_compose.XXXXXX)
trap 'rm -rf "$D"' EXIT

printf '%-12s %-52s %8s %6s %8s %7s %7s %7s\n' model pipeline bytes ratio "SQNR dB" ecc ORT agree
for m in mlp cnn transformer; do
    flt=$(wc -c <testdata/$m.onnx)
    for p in quant "quant-weight:bits=4:block=32,quant" "quant-weight:bits=4:block=channel,quant" \
        "quant-weight:bits=8:block=channel:method=gptq,quant" \
        "quant-weight:bits=8:block=channel,quant:mode=dynamic"; do
        "$ECC" compress testdata/$m.onnx -o "$D/q.onnx" --passes "$p" $CAL -q --report "$D/q.json"
        rm -rf "$D/e" "$D/o"
        "$ECC" run "$D/q.onnx" --data "$FM/t10k-images-idx3-ubyte.gz" -o "$D/e" -q
        node tests/interop/ort_run.js "$D/q.onnx" --fmnist 10000 -o "$D/o" >/dev/null
        bytes=$(wc -c <"$D/q.onnx")
        $PY - "$FM" "$D" "$m" "$p" "$bytes" "$flt" <<'PY'
import gzip, json, sys
import numpy as np
fm, d, m, p, b, f = sys.argv[1:]
y = np.frombuffer(gzip.open(fm + "/t10k-labels-idx1-ubyte.gz").read()[8:], np.uint8)
e = np.load(d + "/e/logits.npy").argmax(1)
o = np.load(d + "/o/logits.npy").argmax(1)
stats = json.load(open(d + "/q.json"))["passes"][-1]["stats"]
sq = stats.get("calib.output_sqnr_db")
sq = "-" if sq is None else "%.1f" % sq
print("%-12s %-52s %8s %5.3fx %8s %6.2f%% %6.2f%% %6.2f%%" % (
    m, p, b, int(b) / int(f), sq, 100 * (e == y).mean(), 100 * (o == y).mean(),
    100 * (e == o).mean()))
PY
    done
done
