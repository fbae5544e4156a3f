#!/bin/sh
# Identity `ecc compress` of a ~100 MB model: wall time and peak RSS, against
# the reference ONNX Python library doing the same load+save in the same run.
# Goal: ecc peak RSS <= 2.5x the model size.
set -e
BUILD=${BUILD:-build}
D="$BUILD/bench"
mkdir -p "$D"
[ -f "$D/big.onnx" ] || /usr/bin/python3 bench/make_big_model.py "$D/big.onnx" 100
size=$(stat -c %s "$D/big.onnx")
measure() { # label, command... -> "seconds maxrss_kb"
    label=$1; shift
    /usr/bin/time -f "%e %M" -o "$D/time.txt" "$@" >/dev/null
    cat "$D/time.txt"
}
set -- $(measure ecc "$BUILD/ecc" compress "$D/big.onnx" -o "$D/big_out.onnx" -q)
ecc_s=$1; ecc_kb=$2
set -- $(measure onnx /usr/bin/python3 -c "import onnx,sys; onnx.save(onnx.load(sys.argv[1]), sys.argv[2])" "$D/big.onnx" "$D/big_py.onnx")
py_s=$1; py_kb=$2
cmp -s "$D/big_out.onnx" "$D/big.onnx" && same="byte-identical to input" || same="differs from input bytes"
awk -v size="$size" -v es="$ecc_s" -v ek="$ecc_kb" -v ps="$py_s" -v pk="$py_kb" -v same="$same" 'BEGIN {
    mb = size / 1e6
    printf "identity round trip of a %.1f MB model (output %s)\n", mb, same
    printf "  %-22s %8.2f s   peak RSS %8.1f MB  (%.2fx model)\n", "ecc compress", es, ek * 1.024 / 1000, ek * 1024 / size
    printf "  %-22s %8.2f s   peak RSS %8.1f MB  (%.2fx model)\n", "python onnx load+save", ps, pk * 1.024 / 1000, pk * 1024 / size
    printf "  ratio ecc/onnx: time %.2fx, peak RSS %.2fx\n", es / ps, ek / pk
    printf "  goal peak RSS <= 2.5x model: %s\n", (ek * 1024 / size <= 2.5) ? "met" : "NOT met"
}'
rm -f "$D/big_out.onnx" "$D/big_py.onnx"
