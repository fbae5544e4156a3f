#!/bin/sh
# Interpreter throughput against ONNX Runtime (npm onnxruntime-node, default
# graph optimisations, intraOpNumThreads 1 and 2), measured in the same run on
# the same 64 Fashion-MNIST images (batch 64) for every testdata model, printed
# as ecc/ORT ratios. Goals (issue 3): >= 0.5x ORT on the CNN, >= 0.8x on the
# MLP and the transformer.
# Then the peak RSS of `ecc eval` over the 10,000-image test set against the
# budget "model file + two batches of activations" (activations = the
# interpreter's planned workspace + the input batch), above the resident size
# of `ecc ops` (the process baseline: code, libraries, BLAS buffers).
set -e
BUILD=${BUILD:-build}
D="$BUILD/bench"
SECONDS_PER=${BENCH_SECONDS:-2}
mkdir -p "$D"
make --no-print-directory BUILD="$BUILD" "$D/interp_bench" >/dev/null
ROOT=$(pwd)

echo "OpenBLAS kernels: $("$D/interp_bench" --blas)${OPENBLAS_CORETYPE:+ (forced by OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE)}"
echo "throughput at batch 64, samples/s (ratio ecc/ORT; goal >= 0.5 CNN, >= 0.8 MLP/transformer)"
printf "  %-14s %7s %12s %12s %7s\n" model threads ecc ORT ratio
for m in mlp cnn transformer; do
    for t in 1 2; do
        e=$("$D/interp_bench" "testdata/$m.onnx" 64 "$t" "$SECONDS_PER" | cut -d' ' -f1)
        o=$(node bench/ort_bench.js "testdata/$m.onnx" 64 "$t" "$SECONDS_PER" "$ROOT")
        printf "  %-14s %7s %12s %12s" "$m" "$t" "$e" "$o"
        awk -v e="$e" -v o="$o" 'BEGIN { printf " %7.2f\n", e / o }'
    done
done

echo
echo "peak RSS of ecc eval on the 10,000 Fashion-MNIST test images (.gz IDX, batch 64, 2 threads), kB"
echo "  budget: model file + 2 batches of activations (planned workspace + input batch)"
echo "  above the process baseline (peak RSS of 'ecc ops': code, libraries)"
FM=/usr/share/datasets/fashion-mnist
printf "  %-12s %7s %7s %7s %9s %9s %10s %10s %s\n" model model acts base "peak@64" "peak@10k" "10k-64" "10k-base" budget
evalrss() { # model limit-args... → peak RSS kB
    m=$1; shift
    /usr/bin/time -f "%M" -o "$D/rss.txt" "$BUILD/ecc" eval "testdata/$m.onnx" --threads 2 \
        --data "$FM/t10k-images-idx3-ubyte.gz" --labels "$FM/t10k-labels-idx1-ubyte.gz" -q "$@" >/dev/null
    cat "$D/rss.txt"
}
for m in mlp cnn transformer; do
    size=$(stat -c %s "testdata/$m.onnx")
    set -- $("$D/interp_bench" "testdata/$m.onnx" 64 2 0.01)
    acts=$(($2 + $3))
    /usr/bin/time -f "%M" -o "$D/rss.txt" "$BUILD/ecc" ops >/dev/null
    base=$(cat "$D/rss.txt")
    p64=$(evalrss "$m" --limit 64)
    p10k=$(evalrss "$m")
    awk -v s="$size" -v a="$acts" -v b="$base" -v p64="$p64" -v p="$p10k" -v m="$m" 'BEGIN {
        budget = (s + 2 * a) / 1024; growth = p - b
        printf "  %-12s %7.0f %7.0f %7d %9d %9d %10d %10d %.0f %s\n", m, s / 1024, a / 1024, b,
               p64, p, p - p64, growth, budget, growth <= budget ? "met" : "NOT met" }'
done
