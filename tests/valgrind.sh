#!/bin/sh
# Runs the cmocka unit tests, the fuzz replays and the CLI on good and hostile
# inputs under valgrind (memcheck): any error or definite/indirect leak fails.
. "$(dirname "$0")/lib.sh"
VG="valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite,indirect"
run() { # desc, command...
    desc=$1; shift
    $VG "$@" >"$T/log" 2>&1; rc=$?
    if [ "$rc" = 9 ]; then bad "(valgrind) $desc"; tail -n 30 "$T/log"
    else ok; fi
}
# the whole-model SGD curves (100 steps) take over 15 minutes under valgrind:
# their first 4 steps run here, all of them in the plain suite
export GRAD_MODELS_SGD_STEPS=4
for t in "$BUILD"/tests/test_*; do [ -x "$t" ] && run "$(basename "$t")" "$t"; done
unset GRAD_MODELS_SGD_STEPS
run fuzz-replay "$BUILD/tests/fuzz/fuzz_onnx_read" --mutate 100 testdata/bad testdata/edge
# calibrated pipelines off here: under valgrind a handful take minutes (their
# passes run under valgrind in test_quant / test_prune, and in the harness
# under ASan in `make asan`)
FUZZ_CALIB_EVERY=0 run fuzz-pipeline "$BUILD/tests/fuzz/fuzz_pipeline" --mutate 20 testdata/edge testdata/cnn.onnx
for f in testdata/bad/*.onnx; do run "compress $f" "$ECC" compress "$f" -o "$T/out.onnx" -q; done
run "compress cnn" "$ECC" compress testdata/cnn.onnx -o "$T/cnn.onnx" \
    --passes normalize,fold-bn,fold-constants,dce --report "$T/r.json" -q
run "inspect transformer" "$ECC" inspect --json testdata/transformer.onnx
run "distill" "$ECC" compress testdata/cnn.onnx -o "$T/d.onnx" --calib testdata/fmnist_64.npy \
    --passes prune:sparsity=0.7,distill:steps=2:batch=16 -q
# joint training: gradual masks, INT4 fake quantization with learned scales,
# a tied codebook, W8A8 activations (a few steps on the small MLP)
run "joint distill" "$ECC" compress testdata/mlp.onnx -o "$T/j.onnx" \
    --calib testdata/fmnist_64.npy -q \
    --passes prune:sparsity=0.5:schedule=gradual,quant-weight:bits=4,distill:steps=3:batch=8:lsq=true
run "cluster distill" "$ECC" compress testdata/mlp.onnx -o "$T/c.ecc" \
    --calib testdata/fmnist_64.npy --passes cluster:bits=4,distill:steps=2:batch=8 -q
run "quant distill" "$ECC" compress testdata/mlp.onnx -o "$T/q.onnx" \
    --calib testdata/fmnist_64.npy --passes quant,distill:steps=2:batch=8:lsq=true -q
run "plugin" "$ECC" compress testdata/mlp.onnx -o "$T/m.onnx" \
    --plugin "$BUILD/plugins/threshold_weights.so" --passes threshold-weights -q
summary valgrind
