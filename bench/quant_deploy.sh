#!/bin/sh
# The quantized testdata models as a deployment runs them: ONNX Runtime with
# its default graph optimisations, which fuse Q/DQ groups into integer
# kernels. Per model and form (float, static W8A8 `quant`, dynamic
# `quant:mode=dynamic`, INT4 weight-only `quant-weight`, blocks of 32):
#   kernels  the weight layers of the graph ORT runs (tests/interop/ort_run.js
#            --optimize --ops): integer kernels (QLinearConv, QGemm,
#            QLinearMatMul, DynamicQuantizeMatMul, MatMulIntegerToFloat,
#            ConvInteger, MatMulNBits) / float ones (Conv, Gemm, MatMul and
#            ORT's Fused* forms of them)
#   accuracy top-1 on the 10,000 test images in `ecc eval` and in optimised ORT,
#            and their top-1 agreement (`ecc compare` of the two outputs)
#   speed    ORT samples/s at batch 64 on 1 and 2 threads (bench/ort_bench.js),
#            as a ratio to the float model measured in the same run
# Calibration: the first 256 training images.
set -e
BUILD=${BUILD:-build}
ECC="$BUILD/ecc"
. bench/lib.sh
SECONDS_PER=${BENCH_SECONDS:-2}
ort_setup quant_deploy
ROOT=$(pwd)

# kernels MODEL → "integer/float" weight layers in the graph ORT runs
kernels() {
    node tests/interop/ort_run.js "$1" --optimize --ops | tr ' ' '\n' | awk -F= '
        $1 ~ /^(QLinearConv|QGemm|QLinearMatMul|DynamicQuantizeMatMul|MatMulIntegerToFloat|ConvInteger|MatMulInteger|MatMulNBits)$/ { i += $2 }
        $1 ~ /^(Fused)?(Conv|Gemm|MatMul)$/ { f += $2 }
        END { printf "%d/%d", i, f }'
}

speed() { node bench/ort_bench.js "$1" 64 "$2" "$SECONDS_PER" "$ROOT"; }

printf '%-12s %-8s %8s %6s %8s %7s %7s %7s %10s %6s %10s %6s\n' model form bytes ratio \
    kernels ecc ORT agree "ORT 1t/s" "x flt" "ORT 2t/s" "x flt"
for m in mlp cnn transformer; do
    flt=$(wc -c <testdata/$m.onnx)
    f1=$(speed testdata/$m.onnx 1)
    f2=$(speed testdata/$m.onnx 2)
    for form in float static dynamic int4; do
        case $form in
        float) cp testdata/$m.onnx "$D/q.onnx" ;;
        static) "$ECC" compress testdata/$m.onnx -o "$D/q.onnx" --passes quant $CAL -q ;;
        dynamic) "$ECC" compress testdata/$m.onnx -o "$D/q.onnx" --passes quant:mode=dynamic -q ;;
        int4) "$ECC" compress testdata/$m.onnx -o "$D/q.onnx" --passes quant-weight -q ;;
        esac
        ecc_and_ort "$D/q.onnx" --optimize
        if [ $form = float ]; then s1=$f1 s2=$f2; else s1=$(speed "$D/q.onnx" 1) s2=$(speed "$D/q.onnx" 2); fi
        b=$(wc -c <"$D/q.onnx")
        awk -v m="$m" -v f="$form" -v b="$b" -v flt="$flt" -v k="$(kernels "$D/q.onnx")" \
            -v ae="$A_ECC" -v ao="$A_ORT" -v ag="$AGREE" -v s1="$s1" -v s2="$s2" -v f1="$f1" -v f2="$f2" \
            'BEGIN { printf "%-12s %-8s %8d %5.3fx %8s %6.2f%% %6.2f%% %6.2f%% %10.0f %5.2fx %10.0f %5.2fx\n",
                     m, f, b, b / flt, k, 100 * ae, 100 * ao, 100 * ag, s1, s1 / f1, s2, s2 / f2 }'
    done
done
