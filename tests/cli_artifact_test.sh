#!/bin/sh
# CLI tests of the .ecc artifact: compress picks the format by extension
# (--format overrides), inspect/verify/unpack, determinism, lossless and QDQ
# round trips (byte-identical ONNX, equal ONNX Runtime outputs), eval/run/
# compare reading .ecc directly, the 30x size goal with cluster, corrupt and
# truncated artifacts (exit 2, one-line error naming the file, no output
# left), the stand-alone loader built as C99 against libzstd alone, and
# valgrind on the commands that read artifacts.
. "$(dirname "$0")/lib.sh"
size() { wc -c <"$1" | tr -d ' '; }
ORT=tests/interop/ort_diff.js
have_ort() { command -v node >/dev/null 2>&1 && [ -d tests/interop/node_modules/onnxruntime-node ]; }
PQ=prune:sparsity=0.9,quant-weight:bits=4

# --- commands and formats
expect 0 "help" -- "$ECC" help
for c in unpack verify; do grep -q "^  $c " "$T/out" && ok || bad "help lists $c"; done
expect 0 "help unpack" -- "$ECC" help unpack
grep -q -- "--dequantize" "$T/out" && ok || bad "help unpack documents --dequantize"
expect 0 "help compress" -- "$ECC" help compress
grep -q -- "--format onnx|ecc" "$T/out" && ok || bad "help compress documents --format"
expect 0 "compress to .ecc" -- "$ECC" compress testdata/mlp.onnx -o "$T/mlp.ecc" -q
head -c 4 "$T/mlp.ecc" | od -An -c | grep -q "E   C   C" && ok || bad ".ecc output has the artifact magic"
expect 0 "--format onnx overrides .ecc" -- "$ECC" compress testdata/mlp.onnx -o "$T/x.ecc" --format onnx -q
expect 0 "inspect of an ONNX named .ecc" -- "$ECC" inspect "$T/x.ecc"
grep -q "^model " "$T/out" && ok || bad "an ONNX file named .ecc is read as ONNX (magic, not extension)"
expect 0 "--format ecc overrides .bin" -- "$ECC" compress testdata/mlp.onnx -o "$T/x.bin" --format ecc -q
expect 0 "verify .bin artifact" -- "$ECC" verify "$T/x.bin"
expect 1 "bad --format" -- "$ECC" compress testdata/mlp.onnx -o "$T/y.ecc" --format zip
expect 1 "bad --level" -- "$ECC" compress testdata/mlp.onnx -o "$T/y.ecc" --level 40
expect 1 "external data with .ecc" -- "$ECC" compress testdata/mlp.onnx -o "$T/y.ecc" --external-data
[ -e "$T/y.ecc" ] && bad "usage errors leave no output" || ok
expect 1 "unpack without -o" -- "$ECC" unpack "$T/mlp.ecc"
expect 1 "verify without file" -- "$ECC" verify

# --- determinism, inspect, verify
expect 0 "compress again" -- "$ECC" compress testdata/mlp.onnx -o "$T/mlp2.ecc" -q
cmp -s "$T/mlp.ecc" "$T/mlp2.ecc" && ok || bad "artifact output is not deterministic"
expect 0 "inspect .ecc" -- "$ECC" inspect "$T/mlp.ecc"
for w in sections: metadata graph fc1.weight "zstd saves"; do
    grep -q "$w" "$T/out" && ok || bad "inspect .ecc shows $w"
done
expect 0 "inspect --json .ecc" -- "$ECC" inspect --json "$T/mlp.ecc"
node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
if (!r.tensors.length || !r.totals.stored_bytes || r.metadata.producer.indexOf("ecc") !== 0) process.exit(1);
' "$T/out" && ok || bad "inspect --json .ecc is JSON with tensors, totals and metadata"
expect 0 "verify .ecc" -- "$ECC" verify "$T/mlp.ecc"
grep -q ": ok:" "$T/out" && ok || bad "verify prints ok"
for f in testdata/artifact/*.ecc; do expect 0 "verify $f" -- "$ECC" verify -q "$f"; done

# --- lossless round trip: unpack gives the ONNX an identity rewrite writes
expect 0 "identity onnx" -- "$ECC" compress testdata/mlp.onnx -o "$T/id.onnx" -q
expect 0 "unpack" -- "$ECC" unpack "$T/mlp.ecc" -o "$T/rt.onnx" -q
cmp -s "$T/id.onnx" "$T/rt.onnx" && ok || bad "lossless unpack differs from the ONNX rewrite"
[ "$(size "$T/mlp.ecc")" -lt "$(size testdata/mlp.onnx)" ] && ok || bad "lossless .ecc is smaller than the ONNX"

# --- static W8A8 on the CNN: weights of the same width share one all-zero
# zero point initializer; .ecc stores it with each and restores the ONNX
# exactly (also with --dequantize, which drops it)
expect 0 "w8a8 onnx" -- "$ECC" compress testdata/cnn.onnx -o "$T/s8.onnx" --passes quant \
    --calib testdata/fmnist_64.npy -q
expect 0 "w8a8 ecc" -- "$ECC" compress testdata/cnn.onnx -o "$T/s8.ecc" --passes quant \
    --calib testdata/fmnist_64.npy -q
expect 0 "unpack w8a8" -- "$ECC" unpack "$T/s8.ecc" -o "$T/s8_rt.onnx" -q
cmp -s "$T/s8.onnx" "$T/s8_rt.onnx" && ok || bad "W8A8 unpack differs from the pipeline's ONNX"
expect 0 "unpack w8a8 --dequantize" -- "$ECC" unpack "$T/s8.ecc" -o "$T/s8_f.onnx" --dequantize -q
expect 0 "inspect w8a8 dequantized" -- "$ECC" inspect --json "$T/s8_f.onnx"
grep -q 'int8_32_zero_point' "$T/out" && bad "--dequantize kept the shared zero point" || ok

# --- prune + 4-bit weights: .ecc restores the pipeline's ONNX exactly
expect 0 "pq onnx" -- "$ECC" compress testdata/mlp.onnx -o "$T/pq.onnx" --passes "$PQ" -q
expect 0 "pq ecc" -- "$ECC" compress testdata/mlp.onnx -o "$T/pq.ecc" --passes "$PQ" -q --report "$T/pq.json"
expect 0 "unpack pq (QDQ)" -- "$ECC" unpack "$T/pq.ecc" -o "$T/pq_qdq.onnx" -q
cmp -s "$T/pq.onnx" "$T/pq_qdq.onnx" && ok || bad "QDQ unpack differs from the pipeline's ONNX output"
expect 0 "unpack pq --dequantize" -- "$ECC" unpack "$T/pq.ecc" -o "$T/pq_float.onnx" --dequantize -q
expect 0 "inspect dequantized" -- "$ECC" inspect --json "$T/pq_float.onnx"
grep -q '"DequantizeLinear"' "$T/out" && bad "--dequantize leaves no DequantizeLinear" || ok
expect 0 "inspect pq .ecc" -- "$ECC" inspect "$T/pq.ecc"
grep -q "int4 per-block 32" "$T/out" && grep -q "bitmask" "$T/out" && ok ||
    bad "the QDQ pattern is packed as int4 per-block + bitmask"
echo "mlp $PQ: onnx $(size testdata/mlp.onnx) B -> ecc $(size "$T/pq.ecc") B ($(node -e "console.log((process.argv[1]/process.argv[2]).toFixed(1))" "$(size testdata/mlp.onnx)" "$(size "$T/pq.ecc")")x); QDQ onnx $(size "$T/pq.onnx") B"
# eval / run / compare read .ecc directly, with the same results as the ONNX
expect 0 "compare onnx vs ecc" -- "$ECC" compare "$T/pq.onnx" "$T/pq.ecc" --data testdata/fmnist_64.npy
grep -q "max abs 0 " "$T/out" && ok || bad "compare: the .ecc runs exactly like the pipeline's ONNX: $(cat "$T/out")"
expect 0 "compare qdq vs float" -- "$ECC" compare "$T/pq.onnx" "$T/pq_float.onnx" --data testdata/fmnist_64.npy
grep -q "max abs 0 " "$T/out" && ok || bad "compare: dequantized weights are bit-identical in the interpreter"
expect 0 "eval .ecc" -- "$ECC" eval "$T/pq.ecc" --data testdata/fmnist_64.npy --labels testdata/fmnist_64_labels.npy
expect 0 "run .ecc" -- "$ECC" run "$T/pq.ecc" --data testdata/fmnist_64.npy -o "$T/run" -q
[ -f "$T/run/logits.npy" ] && ok || bad "run .ecc writes logits.npy"
if have_ort; then
    node "$ORT" "$T/pq.onnx" "$T/pq_qdq.onnx" --fmnist 1000 --tol 0 >"$T/ort" 2>&1 && ok ||
        bad "ORT: QDQ unpack differs from the pipeline output: $(tail -n 2 "$T/ort")"
    node "$ORT" "$T/pq.onnx" "$T/pq_float.onnx" --fmnist 1000 --tol 1e-5 >"$T/ort" 2>&1 && ok ||
        bad "ORT: dequantized unpack differs: $(tail -n 2 "$T/ort")"
    node "$ORT" testdata/mlp.onnx "$T/rt.onnx" --fmnist 1000 --tol 0 >"$T/ort" 2>&1 && ok ||
        bad "ORT: lossless unpack differs: $(tail -n 2 "$T/ort")"
fi

# --- the size goal: prune 90% + 4-bit weights (quant-weight's block=auto puts
# one scale per channel on the 90%-sparse layers), and prune 90% + 4-bit
# cluster: each >= 30x smaller than the float ONNX
ratio=$(node -e "console.log(Math.floor(process.argv[1]/process.argv[2]))" "$(size testdata/mlp.onnx)" "$(size "$T/pq.ecc")")
[ "$ratio" -ge 30 ] && ok || bad "$PQ .ecc is ${ratio}x smaller, goal 30x"
expect 0 "prune+cluster ecc" -- "$ECC" compress testdata/mlp.onnx -o "$T/pc.ecc" --passes prune:sparsity=0.9,cluster:bits=4 -q
ratio=$(node -e "console.log(Math.floor(process.argv[1]/process.argv[2]))" "$(size testdata/mlp.onnx)" "$(size "$T/pc.ecc")")
echo "mlp prune:sparsity=0.9,cluster:bits=4: ecc $(size "$T/pc.ecc") B (${ratio}x)"
[ "$ratio" -ge 30 ] && ok || bad "prune+cluster .ecc is ${ratio}x smaller, goal 30x"
expect 0 "unpack clustered" -- "$ECC" unpack "$T/pc.ecc" -o "$T/pc.onnx" -q
expect 0 "clustered onnx" -- "$ECC" compress testdata/mlp.onnx -o "$T/pc_direct.onnx" --passes prune:sparsity=0.9,cluster:bits=4 -q
cmp -s "$T/pc.onnx" "$T/pc_direct.onnx" && ok || bad "clustered unpack differs from the pipeline's ONNX"

# --- corrupt and truncated artifacts: exit 2, one line naming the file, nothing written
for f in testdata/artifact/bad/*.ecc; do
    rm -rf "$T/o"; mkdir -p "$T/o"
    expect 2 "verify $f" -- "$ECC" verify "$f"
    one_line_error "verify $f" "$f"
    expect 2 "unpack $f" -- "$ECC" unpack "$f" -o "$T/o/x.onnx"
    [ -z "$(ls -A "$T/o")" ] && ok || bad "unpack $f left output behind"
done
for f in truncated frame_checksum directory_crc padding; do
    expect 2 "eval bad/$f" -- "$ECC" eval "testdata/artifact/bad/$f.ecc" --data testdata/fmnist_64.npy --labels testdata/fmnist_64_labels.npy
done
for f in truncated directory_crc header_crc empty; do  # inspect reads the container, not every frame
    expect 2 "inspect bad/$f" -- "$ECC" inspect "testdata/artifact/bad/$f.ecc"
done
head -c 5000 "$T/pq.ecc" >"$T/cut.ecc"
expect 2 "truncated pq" -- "$ECC" verify "$T/cut.ecc"
one_line_error "truncated pq" "$T/cut.ecc"

# --- the loader as embedded code builds it: C99, libzstd alone
CC=${CC:-cc}
if $CC -std=c99 -Wall -Wextra -Werror -pedantic -O2 -o "$T/load99" tests/tools/load_example.c \
    formats/artifact/ecc_load.c -lzstd 2>"$T/cc"; then ok; else bad "loader does not build as C99: $(head -c 500 "$T/cc")"; fi
nm "$T/load99" | grep -q "ecc_" && ! nm "$T/load99" | grep -qi "protobuf\|cjson" && ok ||
    bad "the C99 loader links nothing but libc and libzstd"
for f in "$T/pq.ecc" "$T/pc.ecc" testdata/artifact/*.ecc; do
    "$T/load99" "$f" >"$T/a" 2>&1 || bad "C99 loader on $f: $(head -c 200 "$T/a")"
    "$BUILD/tests/tools/load_example" "$f" >"$T/b" 2>&1
    cmp -s "$T/a" "$T/b" && ok || bad "C99 and C11 loader builds disagree on $f"
done
"$T/load99" "$T/pq.ecc" fc1.weight_quantized >"$T/a" && grep -q "float32 crc" "$T/a" && ok || bad "C99 loader finds a tensor by name"
"$T/load99" testdata/artifact/bad/frame_checksum.ecc >/dev/null 2>"$T/e"; [ $? = 2 ] && ok || bad "C99 loader: corrupt frame exits 2"

# --- valgrind on the commands that read artifacts (plain builds only)
if [ -z "${ECC_SANITIZED:-}" ] && command -v valgrind >/dev/null 2>&1; then
    VG="valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite,indirect"
    for cmd in "verify $T/pq.ecc" "inspect --json $T/pc.ecc" "unpack $T/pq.ecc -o $T/vg.onnx --dequantize -q" \
               "verify testdata/artifact/bad/frame_checksum.ecc" "unpack testdata/artifact/bad/truncated.ecc -o $T/vg2.onnx"; do
        # shellcheck disable=SC2086
        $VG "$ECC" $cmd >/dev/null 2>"$T/vg"; [ $? = 9 ] && bad "valgrind: ecc $cmd: $(tail -n 20 "$T/vg")" || ok
    done
    $VG "$T/load99" "$T/pq.ecc" >/dev/null 2>"$T/vg"; [ $? = 9 ] && bad "valgrind: C99 loader: $(tail -n 20 "$T/vg")" || ok
    $VG "$BUILD/tests/fuzz/fuzz_artifact" --mutate 20 testdata/artifact >/dev/null 2>"$T/vg"
    [ $? = 9 ] && bad "valgrind: fuzz_artifact replay: $(tail -n 20 "$T/vg")" || ok
fi

summary "cli artifact"
