# lib.sh — what the bench scripts share (sourced; they set ECC first).
#   accuracy MODEL EVAL-ARGS...   the top-1 accuracy `ecc eval` prints (0..1)
#   heldout_setup NAME            for the *_val.sh benches: exits 0 with a skip
#                                 line when Fashion-MNIST or numpy is missing;
#                                 else sets FM, CAL (--calib: the first 256
#                                 training images) and D (a temporary folder,
#                                 removed on exit) holding D/x.npy, D/y.npy:
#                                 training images 50,000-59,999 and labels, the
#                                 held-out set defaults are chosen on (disjoint
#                                 from the calibration images and the test
#                                 set; the models were trained on them)
#   acc MODEL                     accuracy on that held-out set
#   ort_setup NAME                for the benches that score in ONNX Runtime:
#                                 exits 0 with a skip line when Fashion-MNIST,
#                                 node or onnxruntime-node is missing; else sets
#                                 FM, TEST and LABELS (the 10,000 test images),
#                                 CAL (--calib: the first 256 training images)
#                                 and D (a temporary folder, removed on exit)
#   ecc_and_ort MODEL [ORT-ARGS]  top-1 on the test set in `ecc eval` (A_ECC)
#                                 and in ONNX Runtime (A_ORT; ORT-ARGS go to
#                                 tests/interop/ort_run.js, e.g. --optimize),
#                                 and their top-1 agreement (AGREE, `ecc
#                                 compare` of the two outputs), all in 0..1
accuracy() {
    model=$1
    shift
    "$ECC" eval "$model" "$@" -q | sed -n 's/^accuracy: \([0-9.]*\).*/\1/p'
}

heldout_setup() {
    FM=/usr/share/datasets/fashion-mnist
    if [ ! -f "$FM/train-images-idx3-ubyte.gz" ] || ! /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
        echo "$1: skip (Fashion-MNIST or python3-numpy missing)"
        exit 0
    fi
    CAL="--calib $FM/train-images-idx3-ubyte.gz --calib-size 256"
    D=$(mktemp -d "/tmp/ecc_$1.XXXXXX")
    trap 'rm -rf "$D"' EXIT
    /usr/bin/python3 - "$FM" "$D" <<'PY'
import gzip, sys
import numpy as np
fm, d = sys.argv[1], sys.argv[2]
im = np.frombuffer(gzip.open(fm + "/train-images-idx3-ubyte.gz").read()[16:], np.uint8)
lb = np.frombuffer(gzip.open(fm + "/train-labels-idx1-ubyte.gz").read()[8:], np.uint8)
np.save(d + "/x.npy", im.reshape(-1, 1, 28, 28)[50000:60000].astype(np.float32) / 255)
np.save(d + "/y.npy", lb[50000:60000].astype(np.int64))
PY
}

acc() { accuracy "$1" --data "$D/x.npy" --labels "$D/y.npy"; }

ort_setup() {
    FM=/usr/share/datasets/fashion-mnist
    TEST="$FM/t10k-images-idx3-ubyte.gz"
    LABELS="$FM/t10k-labels-idx1-ubyte.gz"
    if [ ! -f "$TEST" ] || ! command -v node >/dev/null 2>&1 ||
        [ ! -d tests/interop/node_modules/onnxruntime-node ]; then
        echo "$1: skip (Fashion-MNIST or onnxruntime-node missing)"
        exit 0
    fi
    CAL="--calib $FM/train-images-idx3-ubyte.gz --calib-size 256"
    D=$(mktemp -d "/tmp/ecc_$1.XXXXXX")
    trap 'rm -rf "$D"' EXIT
}

ecc_and_ort() {
    model=$1
    shift
    A_ECC=$(accuracy "$model" --data "$TEST" --labels "$LABELS")
    rm -rf "$D/e" "$D/o"
    "$ECC" run "$model" --data "$TEST" -o "$D/e" -q
    A_ORT=$(node tests/interop/ort_run.js "$model" --fmnist 10000 --accuracy "$@" -o "$D/o" |
        sed -n 's/^accuracy: \([0-9.]*\).*/\1/p')
    AGREE=$("$ECC" compare "$D/o" "$D/e" |
        sed -n 's/.*top-1 agreement [0-9]*\/[0-9]* (\([0-9.]*\)).*/\1/p')
}
