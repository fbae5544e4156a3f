# lib.sh — what the bench scripts share (sourced; they set ECC first).
#   accuracy MODEL EVAL-ARGS...   the top-1 accuracy `ecc eval` prints (0..1)
#   heldout_set FM DIR            writes DIR/x.npy, DIR/y.npy: Fashion-MNIST
#                                 training images 50,000-59,999 and labels, the
#                                 held-out set defaults are chosen on (disjoint
#                                 from the calibration images, the first 256,
#                                 and from the test set)
accuracy() {
    model=$1
    shift
    "$ECC" eval "$model" "$@" -q | sed -n 's/^accuracy: \([0-9.]*\).*/\1/p'
}

heldout_set() {
    /usr/bin/python3 - "$1" "$2" <<'PY'
import gzip, sys
import numpy as np
fm, d = sys.argv[1], sys.argv[2]
im = np.frombuffer(gzip.open(fm + "/train-images-idx3-ubyte.gz").read()[16:], np.uint8)
lb = np.frombuffer(gzip.open(fm + "/train-labels-idx1-ubyte.gz").read()[8:], np.uint8)
np.save(d + "/x.npy", im.reshape(-1, 1, 28, 28)[50000:60000].astype(np.float32) / 255)
np.save(d + "/y.npy", lb[50000:60000].astype(np.int64))
PY
}
