#!/bin/sh
# The test suite (`make test`, `make asan`): dependency rule, cmocka unit
# tests, CLI and bad-input tests, running models (run/eval/compare, agreement
# with ONNX Runtime), the ONNX conformance runner (as read and renamed by
# --short-names), round trip of the ONNX conformance models with ONNX Runtime
# agreement (both ways too), fold-bn exactness, replays of
# the fuzz harnesses over their seeds and mutations. Ends with "N passed, N failed".
BUILD=${BUILD:-build}
export BUILD
passed=0
failed=0
failures=""
step() { # name, command...
    name=$1; shift
    echo "=== $name"
    if "$@"; then passed=$((passed + 1)); echo "--- ok: $name"
    else failed=$((failed + 1)); failures="$failures $name"; echo "--- FAILED: $name"; fi
}
step dependency-rule sh tools/check_deps_rule.sh
for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    step "$(basename "$t")" "$t"
done
step fuzz-replay "$BUILD/tests/fuzz/fuzz_onnx_read" --mutate 2000 testdata/bad testdata/edge testdata/mlp.onnx
step fuzz-artifact "$BUILD/tests/fuzz/fuzz_artifact" --mutate 2000 testdata/artifact
step fuzz-pipeline "$BUILD/tests/fuzz/fuzz_pipeline" --mutate 300 testdata/edge testdata/cnn.onnx \
    testdata/transformer.onnx
step fuzz-pipeline-conformance "$BUILD/tests/fuzz/fuzz_pipeline" --mutate 20 \
    "${ONNX_TESTDATA:-/usr/share/libonnx-testdata/data}"
step cli-artifact sh tests/cli_artifact_test.sh
step cli sh tests/cli_test.sh
step cli-run sh tests/cli_run_test.sh
step cli-prune sh tests/cli_prune_test.sh
step cli-quant sh tests/cli_quant_test.sh
step cli-distill sh tests/cli_distill_test.sh
step cli-sweep sh tests/cli_sweep_test.sh
step conformance "$BUILD/tests/tools/conformance"
step conformance-short-names "$BUILD/tests/tools/conformance" --short-names
step conformance-roundtrip sh tests/roundtrip_test.sh
# sanitizer builds cannot run under valgrind; the plain build must be clean
if [ -z "${ECC_SANITIZED:-}" ] && command -v valgrind >/dev/null 2>&1; then
    step valgrind sh tests/valgrind.sh
fi
echo
[ -n "$failures" ] && echo "failed steps:$failures"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
