#!/bin/sh
# CLI tests of running models: `ecc run`, `ecc eval`, `ecc compare`, `ecc ops`.
# Agreement with ONNX Runtime (tests/interop/ort_run.js): Fashion-MNIST test-set
# accuracy of every trained model equals ORT's exactly, and `ecc run` outputs
# match ORT's (cosine >= 0.99999, max abs error <= 1e-4 of the largest output
# value) on the trained models and the Constant-weights / opset-9 edge models.
# Error cases exit 2 with one line naming the file; nothing partial is left.
. "$(dirname "$0")/lib.sh"
FM=/usr/share/datasets/fashion-mnist
IMAGES="$FM/t10k-images-idx3-ubyte.gz"
LABELS="$FM/t10k-labels-idx1-ubyte.gz"
ORT="node tests/interop/ort_run.js"

# --- help, ops, usage
for c in run eval compare ops; do
    expect 0 "help $c" -- "$ECC" help "$c"
done
expect 0 "help eval" -- "$ECC" help eval
grep -q -- "--labels" "$T/out" && grep -q -- "--topk" "$T/out" && ok || bad "help eval documents --labels/--topk"
expect 0 "ops" -- "$ECC" ops
for op in Conv Gemm MatMul Relu Softmax LayerNormalization QuantizeLinear; do
    grep -q "^  $op " "$T/out" && ok || bad "ecc ops lists $op"
done
expect 0 "ops --json" -- "$ECC" ops --json
node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
         if (!(r.ops.length > 40 && r.ops.every(o => o.op && o.dtypes.length))) process.exit(1)' \
    "$T/out" && ok || bad "ops --json is not a list of ops with dtypes"
expect 1 "run without -o" -- "$ECC" run testdata/mlp.onnx --data testdata/fmnist_64.npy
expect 1 "run without --data" -- "$ECC" run testdata/mlp.onnx -o "$T/x"
expect 1 "eval without --labels" -- "$ECC" eval testdata/mlp.onnx --data testdata/fmnist_64.npy
expect 1 "eval bad --topk" -- "$ECC" eval testdata/mlp.onnx --data testdata/fmnist_64.npy \
    --labels testdata/fmnist_64_labels.npy --topk 0
expect 1 "batch 0" -- "$ECC" eval testdata/mlp.onnx --data testdata/fmnist_64.npy \
    --labels testdata/fmnist_64_labels.npy --batch 0
expect 1 "compare one operand" -- "$ECC" compare testdata/mlp.onnx
expect 1 "unknown option" -- "$ECC" run testdata/mlp.onnx --data x -o y --frob

# --- Fashion-MNIST accuracy: ecc equals ORT exactly (10,000 images, IDX .gz)
for m in mlp cnn transformer; do
    expect 0 "eval $m" -- "$ECC" eval "testdata/$m.onnx" --data "$IMAGES" --labels "$LABELS" \
        --topk 1,5 --report "$T/$m.json"
    [ -s "$T/err" ] && bad "eval $m: stderr not silent without a terminal: $(head -c 200 "$T/err")" || ok
    ecc_acc=$(json "$T/$m.json" 'r.accuracy.toFixed(4)')
    samples=$(json "$T/$m.json" 'r.samples')
    top5=$(json "$T/$m.json" 'r.topk["5"] >= r.accuracy && r.topk["1"] === r.accuracy && r.seconds > 0')
    ort_acc=$($ORT "testdata/$m.onnx" --fmnist 10000 --accuracy | sed -n 's/^accuracy: //p')
    echo "accuracy $m: ecc $ecc_acc  ort $ort_acc"
    [ "$samples" = 10000 ] && ok || bad "eval $m: samples $samples"
    [ "$top5" = true ] && ok || bad "eval $m: topk in the report"
    [ -n "$ecc_acc" ] && [ "$ecc_acc" = "$ort_acc" ] && ok || bad "eval $m: ecc $ecc_acc != ORT $ort_acc"
done

# --- outputs vs ORT (first 2,000 images; edge models with Constant weights, opset 9)
N=2000
agree() { # desc ecc-dir ort-dir
    rm -f "$T/cmp.json"
    expect 0 "$1: compare" -- "$ECC" compare "$2" "$3" --report "$T/cmp.json"
    res=$(json "$T/cmp.json" 'r.outputs.length > 0 && r.outputs.every(o =>
            o.cosine >= 0.99999 && o.max_abs_error_rel_to_max <= 1e-4) && r.samples')
    echo "$1: $(json "$T/cmp.json" 'r.outputs.map(o => o.name + " cosine " + o.cosine.toFixed(9) +
            " max-abs/max " + o.max_abs_error_rel_to_max.toExponential(2) +
            " top1 " + o.top1_agreement).join("; ")')"
    [ "$res" = "$N" ] && ok || bad "$1: outputs disagree with ORT: $(cat "$T/cmp.json")"
}
for m in testdata/mlp.onnx testdata/cnn.onnx testdata/transformer.onnx \
         testdata/edge/const_weights.onnx testdata/edge/opset9.onnx; do
    b=$(basename "$m" .onnx)
    expect 0 "run $b" -- "$ECC" run "$m" --data "$IMAGES" --limit $N -o "$T/ecc_$b" --batch 100
    $ORT "$m" --fmnist $N -o "$T/ort_$b" >/dev/null || bad "ORT run $b"
    agree "run $b vs ORT" "$T/ecc_$b" "$T/ort_$b"
done
[ -f "$T/ecc_opset9/probs.npy" ] && [ -f "$T/ecc_opset9/logits.npy" ] && ok ||
    bad "run opset9: one .npy per output"
# a model compared with ORT's outputs directly, on the same data
expect 0 "compare model vs ORT outputs" -- "$ECC" compare testdata/cnn.onnx "$T/ort_cnn" \
    --data "$IMAGES" --limit $N --report "$T/cmp.json"
[ "$(json "$T/cmp.json" 'r.outputs[0].cosine >= 0.99999 && r.outputs[0].top1_agreement')" = 1 ] &&
    ok || bad "compare cnn.onnx vs ORT outputs: $(cat "$T/cmp.json")"
# torch's reference logits of the first 64 images
for m in mlp cnn transformer; do
    expect 0 "run $m on fmnist_64.npy" -- "$ECC" run "testdata/$m.onnx" \
        --data testdata/fmnist_64.npy -o "$T/r64_$m"
    expect 0 "vs torch $m" -- "$ECC" compare "$T/r64_$m/logits.npy" \
        "testdata/expected/${m}_logits_64.npy" --report "$T/cmp.json"
    [ "$(json "$T/cmp.json" 'r.outputs[0].cosine >= 0.99999 && r.outputs[0].max_abs_error < 1e-4')" = true ] &&
        ok || bad "$m vs torch logits: $(cat "$T/cmp.json")"
done

# --- compare two models, determinism, batch independence
expect 0 "compare a model with itself" -- "$ECC" compare testdata/mlp.onnx testdata/mlp.onnx \
    --data testdata/fmnist_64.npy --report "$T/self.json"
[ "$(json "$T/self.json" 'r.outputs[0].max_abs_error === 0 && r.outputs[0].sqnr_db === null && r.outputs[0].cosine')" = 1 ] &&
    ok || bad "self compare: $(cat "$T/self.json")"
grep -q "SQNR inf" "$T/out" && ok || bad "self compare prints SQNR inf: $(cat "$T/out")"
expect 0 "run again" -- "$ECC" run testdata/cnn.onnx --data "$IMAGES" --limit $N -o "$T/again" --batch 100
cmp -s "$T/again/logits.npy" "$T/ecc_cnn/logits.npy" && ok || bad "run is not deterministic"
expect 0 "run batch 7" -- "$ECC" run testdata/mlp.onnx --data testdata/fmnist_64.npy -o "$T/b7" --batch 7
expect 0 "batch 7 vs 64" -- "$ECC" compare "$T/b7" "$T/r64_mlp" --report "$T/cmp.json"
[ "$(json "$T/cmp.json" 'r.outputs[0].max_abs_error_rel_to_max <= 1e-6')" = true ] && ok ||
    bad "batch size changes outputs: $(cat "$T/cmp.json")"
expect 0 "eval npy labels" -- "$ECC" eval testdata/mlp.onnx --data testdata/fmnist_64.npy \
    --labels testdata/fmnist_64_labels.npy --threads 1
grep -q "^accuracy: " "$T/out" && ok || bad "eval prints accuracy: $(cat "$T/out")"

# --- a folder of PNG images (written here from fmnist_64.npy) equals the .npy input
mkdir -p "$T/png"
node -e '
const fs = require("fs"), zlib = require("zlib"), path = require("path");
const pb = require(path.resolve("tests/interop/onnx_pb"));
const { tensor } = pb.readNpy("testdata/fmnist_64.npy");
function chunk(type, data) {
  const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, "latin1"), data]);
  const crc = Buffer.alloc(4); crc.writeUInt32BE(zlib.crc32(td) >>> 0);
  return Buffer.concat([len, td, crc]);
}
for (let i = 0; i < 64; i++) {
  const ihdr = Buffer.alloc(13); ihdr.writeUInt32BE(28, 0); ihdr.writeUInt32BE(28, 4);
  ihdr[8] = 8; ihdr[9] = 0;                       /* 8-bit gray */
  const raw = Buffer.alloc(28 * 29);
  for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++)
    raw[y * 29 + 1 + x] = Math.round(tensor.data[i * 784 + y * 28 + x] * 255);
  const png = Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", ihdr),
    chunk("IDAT", zlib.deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]);
  fs.writeFileSync(process.argv[1] + "/img_" + String(i).padStart(3, "0") + ".png", png);
}' "$T/png" && ok || bad "writing PNG files"
expect 0 "run on PNG folder" -- "$ECC" run testdata/cnn.onnx --data "$T/png" -o "$T/png_out"
expect 0 "PNG vs npy" -- "$ECC" compare "$T/png_out" "$T/r64_cnn" --report "$T/cmp.json"
[ "$(json "$T/cmp.json" 'r.outputs[0].max_abs_error_rel_to_max <= 1e-6 && r.samples')" = 64 ] && ok ||
    bad "PNG folder gives other outputs than the .npy: $(cat "$T/cmp.json")"
expect 0 "eval on PNG folder" -- "$ECC" eval testdata/cnn.onnx --data "$T/png" \
    --labels testdata/fmnist_64_labels.npy --report "$T/png.json"
[ "$(json "$T/png.json" 'r.samples')" = 64 ] && ok || bad "eval PNG folder: $(cat "$T/png.json")"
expect 0 "PNG folder into a symbolic-batch model" -- "$ECC" run testdata/edge/dynamic_batch.onnx \
    --data "$T/png" -o "$T/png_dyn" --batch 10

# --- error cases: exit 2, one line naming the file, nothing partial left behind
node -e '
const fs = require("fs"), dir = process.argv[1];
function npy(name, dict, bytes) {
  let h = dict; const pad = 64 - ((10 + h.length + 1) % 64);
  h += " ".repeat(pad % 64) + "\n";
  const pre = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, h.length & 255, h.length >> 8]);
  fs.writeFileSync(dir + "/" + name, Buffer.concat([pre, Buffer.from(h, "latin1"), Buffer.alloc(bytes)]));
}
npy("shape.npy", "{\x27descr\x27: \x27<f4\x27, \x27fortran_order\x27: False, \x27shape\x27: (4, 3, 28, 28), }", 4 * 3 * 784 * 4);
npy("dtype.npy", "{\x27descr\x27: \x27<f8\x27, \x27fortran_order\x27: False, \x27shape\x27: (4, 1, 28, 28), }", 4 * 784 * 8);
npy("fortran.npy", "{\x27descr\x27: \x27<f4\x27, \x27fortran_order\x27: True, \x27shape\x27: (4, 1, 28, 28), }", 4 * 784 * 4);
npy("object.npy", "{\x27descr\x27: \x27|O\x27, \x27fortran_order\x27: False, \x27shape\x27: (4,), }", 32);
npy("labels3.npy", "{\x27descr\x27: \x27<i8\x27, \x27fortran_order\x27: False, \x27shape\x27: (3,), }", 24);
npy("badlabel.npy", "{\x27descr\x27: \x27<f4\x27, \x27fortran_order\x27: False, \x27shape\x27: (64,), }", 256);
' "$T" || bad "making bad .npy files"
head -c 100000 testdata/fmnist_64.npy >"$T/truncated.npy"
run_fails() { # desc data needle...
    desc=$1; data=$2; shift 2
    rm -rf "$T/o"
    expect 2 "$desc" -- "$ECC" run testdata/mlp.onnx --data "$data" -o "$T/o"
    one_line_error "$desc" "$data" "$@"
    no_output_left "$desc" "$T/o"
}
run_fails "wrong input shape" "$T/shape.npy" "do not fit" "[N,1,28,28]"
run_fails "wrong input dtype" "$T/dtype.npy" "float64" "float32"
run_fails "truncated .npy" "$T/truncated.npy" "truncated"
run_fails "Fortran-order .npy" "$T/fortran.npy" "Fortran"
run_fails "object .npy" "$T/object.npy" "object"
run_fails "missing data" "$T/none.npy" "cannot open"
run_fails "labels as data" testdata/fmnist_64_labels.npy "int64"
expect 2 "label count mismatch" -- "$ECC" eval testdata/mlp.onnx --data testdata/fmnist_64.npy \
    --labels "$T/labels3.npy"
one_line_error "label count mismatch" "$T/labels3.npy" "3 labels for 64 samples"
expect 2 "label count mismatch (IDX)" -- "$ECC" eval testdata/mlp.onnx --data testdata/fmnist_64.npy \
    --labels "$LABELS"
one_line_error "label count mismatch (IDX)" "$LABELS" "10000 labels for 64 samples"
expect 2 "float labels" -- "$ECC" eval testdata/mlp.onnx --data testdata/fmnist_64.npy \
    --labels "$T/badlabel.npy"
one_line_error "float labels" "$T/badlabel.npy" "integers"
expect 1 "top-k beyond classes" -- "$ECC" eval testdata/mlp.onnx --data testdata/fmnist_64.npy \
    --labels testdata/fmnist_64_labels.npy --topk 11
expect 2 "model without kernels" -- "$ECC" run testdata/edge/typed_fields.onnx \
    --data testdata/fmnist_64.npy -o "$T/o"
one_line_error "model without kernels" "typed_fields.onnx" "no kernel"
expect 2 "compare rows mismatch" -- "$ECC" compare "$T/r64_mlp/logits.npy" "$T/ecc_mlp/logits.npy"
one_line_error "compare rows mismatch" "rows"
expect 3 "run into an unwritable place" -- "$ECC" run testdata/mlp.onnx \
    --data testdata/fmnist_64.npy -o "$T/no/such/dir"

summary "cli run tests"
