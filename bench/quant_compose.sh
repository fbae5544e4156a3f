#!/bin/sh
# Composed quantization pipelines on the testdata models: `quant-weight`
# first gives `quant` its weights (W4A8 with blocks of 32 or one scale per
# channel, GPTQ INT8 weights under static activations, INT8 per-channel
# weights under dynamic activations), beside plain `quant`. Per pipeline:
# file bytes and ratio to the float file, the output SQNR `quant` reports on
# its 256 calibration images, and top-1 accuracy on the 10,000 test images
# scored by `ecc eval` and by ONNX Runtime (tests/interop/ort_run.js) on the
# same file, with their top-1 agreement (`ecc compare` of the two outputs).
set -e
BUILD=${BUILD:-build}
ECC="$BUILD/ecc"
. bench/lib.sh
ort_setup quant_compose

printf '%-12s %-52s %8s %6s %8s %7s %7s %7s\n' model pipeline bytes ratio "SQNR dB" ecc ORT agree
for m in mlp cnn transformer; do
    flt=$(wc -c <testdata/$m.onnx)
    for p in quant "quant-weight:bits=4:block=32,quant" "quant-weight:bits=4:block=channel,quant" \
        "quant-weight:bits=8:block=channel:method=gptq,quant" \
        "quant-weight:bits=8:block=channel,quant:mode=dynamic"; do
        "$ECC" compress testdata/$m.onnx -o "$D/q.onnx" --passes "$p" $CAL 2>"$D/log"
        sq=$(sed -n 's/.*quant: on .* has SQNR \([0-9.]*\) dB.*/\1/p' "$D/log")
        ecc_and_ort "$D/q.onnx"
        printf '%-12s %-52s %8d %5.3fx %8s %6.2f%% %6.2f%% %6.2f%%\n' "$m" "$p" \
            "$(wc -c <"$D/q.onnx")" "$(echo "$(wc -c <"$D/q.onnx") / $flt" | bc -l)" "${sq:--}" \
            "$(echo "100 * $A_ECC" | bc -l)" "$(echo "100 * $A_ORT" | bc -l)" \
            "$(echo "100 * $AGREE" | bc -l)"
    done
done
