#!/bin/sh
# CLI tests: exit codes, one-line errors, the bad-input corpus (exit 2, no
# output), atomic outputs, determinism, reports, plugins, and fold-bn
# exactness checked in ONNX Runtime.
. "$(dirname "$0")/lib.sh"

# --- basics
expect 0 "--version" -- "$ECC" --version
grep -q "^ecc " "$T/out" && ok || bad "--version prints the version"
expect 1 "no arguments" -- "$ECC"
expect 0 "help" -- "$ECC" help
expect 0 "help compress" -- "$ECC" help compress
grep -q -- "--passes" "$T/out" && ok || bad "help compress documents --passes"
expect 1 "unknown command" -- "$ECC" frobnicate
expect 1 "compress without -o" -- "$ECC" compress testdata/mlp.onnx
expect 1 "compress unknown option" -- "$ECC" compress testdata/mlp.onnx -o "$T/x.onnx" --bogus
expect 0 "passes" -- "$ECC" passes
for p in dce fold-bn fold-constants normalize; do
    grep -q "$p" "$T/out" && ok || bad "ecc passes lists $p"
done
mkdir -p "$T/o"
expect 1 "unknown pass" -- "$ECC" compress testdata/mlp.onnx -o "$T/o/x.onnx" --passes frobnicate
grep -q "unknown pass" "$T/err" && ok || bad "unknown pass message: $(cat "$T/err")"
expect 1 "unknown pass option" -- "$ECC" compress testdata/mlp.onnx -o "$T/o/x.onnx" --passes dce:bogus=1
no_output_left "usage errors" "$T/o"
expect 2 "missing input file" -- "$ECC" compress "$T/nope.onnx" -o "$T/o/x.onnx"
one_line_error "missing input file" "$T/nope.onnx"
expect 3 "output directory missing" -- "$ECC" compress testdata/mlp.onnx -o "$T/no/such/dir/x.onnx"

# --- the bad-input corpus: exit 2, one line naming the file, no output
for f in testdata/bad/*.onnx; do
    rm -rf "$T/o"; mkdir -p "$T/o"
    expect 2 "bad input $f" -- "$ECC" compress "$f" -o "$T/o/out.onnx"
    one_line_error "bad input $f" "$f"
    no_output_left "bad input $f" "$T/o"
    expect 2 "inspect bad input $f" -- "$ECC" inspect "$f"
done

# --- inspect
for m in testdata/*.onnx testdata/edge/*.onnx testdata/edge/external/model.onnx; do
    [ -f "$m" ] || continue
    expect 0 "inspect $m" -- "$ECC" inspect "$m"
    expect 0 "inspect --json $m" -- "$ECC" inspect --json "$m"
    [ "$(json "$T/out" true)" = true ] && ok || bad "inspect --json $m is not JSON"
done

# --- identity rewrite, determinism, report
expect 0 "identity compress" -- "$ECC" compress testdata/cnn.onnx -o "$T/id1.onnx" -q
expect 0 "identity compress again" -- "$ECC" compress testdata/cnn.onnx -o "$T/id2.onnx" -q
cmp -s "$T/id1.onnx" "$T/id2.onnx" && ok || bad "output is not deterministic"
ls "$T" | grep -q '\.tmp\.' && bad "temp file left behind" || ok

# --- fold-bn: no BatchNormalization left, ORT outputs equal within 1e-5
expect 0 "fold-bn,dce" -- "$ECC" compress testdata/cnn.onnx -o "$T/folded.onnx" \
    --passes fold-bn,dce --report "$T/report.json"
expect 0 "inspect folded" -- "$ECC" inspect --json "$T/folded.onnx"
grep -q '"BatchNormalization"' "$T/out" && bad "BatchNormalization left after fold-bn" || ok
[ "$(json "$T/report.json" 'Array.isArray(r.passes) && r.passes.length === 2 && r.passes[0].name === "fold-bn"')" = true ] &&
    ok || bad "report lists the passes in order: $(head -c 400 "$T/report.json")"
if [ -d tests/interop/node_modules/onnxruntime-node ]; then
    expect 0 "ORT: folded CNN equals original within 1e-5" -- \
        node tests/interop/ort_diff.js testdata/cnn.onnx "$T/folded.onnx" --fmnist 512 --tol 1e-5
    [ "$rc" = 0 ] && cat "$T/out"
else
    bad "onnxruntime-node missing (run make deps)"
fi

# --- external data: side file written atomically beside the model, ORT loads it
mkdir -p "$T/ext"
expect 0 "compress --external-data" -- "$ECC" compress testdata/mlp.onnx -o "$T/ext/mlp.onnx" --external-data -q
[ -s "$T/ext/mlp.onnx.data" ] && ok || bad "--external-data writes mlp.onnx.data"
[ "$(stat -c %s "$T/ext/mlp.onnx")" -lt 100000 ] && ok || bad "--external-data moves weights out of the model"
expect 0 "re-read external model" -- "$ECC" compress "$T/ext/mlp.onnx" -o "$T/mlp_inline.onnx" -q
if [ -d tests/interop/node_modules/onnxruntime-node ]; then
    expect 0 "ORT runs the external-data model identically" -- \
        node tests/interop/ort_diff.js testdata/mlp.onnx "$T/ext/mlp.onnx" --fmnist 64 --tol 0
fi

# --- plugins
PLUG="$BUILD/plugins/threshold_weights.so"
expect 0 "passes --plugin" -- "$ECC" passes --plugin "$PLUG"
grep -q "threshold-weights" "$T/out" && ok || bad "plugin pass listed"
expect 0 "compress with plugin" -- "$ECC" compress testdata/mlp.onnx -o "$T/thr.onnx" \
    --plugin "$PLUG" --passes threshold-weights:min_abs=0.01 -q
expect 2 "plugin that does not exist" -- "$ECC" compress testdata/mlp.onnx -o "$T/o/x.onnx" \
    --plugin "$T/nope.so" --passes dce
expect 1 "plugin option out of range" -- "$ECC" compress testdata/mlp.onnx -o "$T/o/x.onnx" \
    --plugin "$PLUG" --passes threshold-weights:min_abs=-1
grep -q "range" "$T/err" && ok || bad "out-of-range message quotes the bounds: $(cat "$T/err")"

summary cli
