#!/bin/sh
# Runs the cmocka unit tests, the fuzz replay and the CLI on good and hostile
# inputs under valgrind (memcheck): any error or definite/indirect leak fails.
BUILD=${BUILD:-build}
VG="valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite,indirect"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0; fail=0
run() { # desc, command...
    desc=$1; shift
    $VG "$@" >"$T/log" 2>&1; rc=$?
    if [ "$rc" = 9 ]; then fail=$((fail + 1)); echo "FAIL (valgrind): $desc"; tail -n 30 "$T/log"
    else pass=$((pass + 1)); fi
}
for t in "$BUILD"/tests/test_*; do [ -x "$t" ] && run "$(basename "$t")" "$t"; done
run fuzz-replay "$BUILD/tests/fuzz/fuzz_onnx_read" --mutate 100 testdata/bad testdata/edge
for f in testdata/bad/*.onnx; do run "compress $f" "$BUILD/ecc" compress "$f" -o "$T/out.onnx" -q; done
run "compress cnn" "$BUILD/ecc" compress testdata/cnn.onnx -o "$T/cnn.onnx" \
    --passes normalize,fold-bn,fold-constants,dce --report "$T/r.json" -q
run "inspect transformer" "$BUILD/ecc" inspect --json testdata/transformer.onnx
run "plugin" "$BUILD/ecc" compress testdata/mlp.onnx -o "$T/m.onnx" \
    --plugin "$BUILD/plugins/threshold_weights.so" --passes threshold-weights -q
echo "valgrind: $pass passed, $fail failed"
[ "$fail" = 0 ]
