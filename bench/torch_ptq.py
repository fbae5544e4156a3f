#!/usr/bin/python3
"""PyTorch's own post-training quantization of the testdata models: the peer
that bench/quant_bench.sh measures `ecc compress --passes quant` against.

    /usr/bin/python3 bench/torch_ptq.py [mlp|cnn|transformer ...] [--calib-size 256]
                                        [--test-size 10000] [--threads N]

For each model: the torch module is rebuilt from testdata/gen/train_fmnist.py
and loaded with the ONNX file's weights (so both sides start from the same
float model; its float accuracy is printed to prove it), quantized with
torch.ao.quantization FX mode (default qconfig mapping of the fbgemm backend:
per-channel int8 weights, uint8 activations with histogram observers) on the
first N Fashion-MNIST *training* images, and evaluated on the test set.
Prints one line per model:

    torch_ptq cnn: float 0.9184 int8 0.9180 drop 0.04 calib 256 ptq_seconds 0.41

ptq_seconds covers prepare_fx + calibration forward passes + convert_fx (not
the import of torch or the evaluation), the best of --repeat runs.

--ecc-logits MODEL=FILE.npy (repeatable) adds a paired comparison on the same
test images with ecc's quantized model (its logits from `ecc run`): each
side's top-1 agreement with the float model, the images only one side gets
right, and the exact two-sided McNemar p-value of that split (the chance of a
split at least this uneven if both were equally accurate):

    paired cnn: agree-with-float ecc 0.9970 fx 0.9918 only-ecc-right 31 only-fx-right 36 mcnemar_p 0.63

--draws K --draw-dir DIR repeats the FX quantization on K disjoint
calibration sets (training images [k*N, (k+1)*N) for k < K, N = --calib-size),
writes each set as DIR/calib_<k>.idx (raw IDX, the same uint8 images, for ecc's
--calib) and prints one line per model and set. With --eval heldout the
models are scored on training images 50,000-59,999 instead of the test set
(written as DIR/eval_images.idx and DIR/eval_labels.idx for `ecc eval`):

    draw cnn 3 fx 0.9181

Python is only used by benchmarks and test-data generation; ecc never runs it.
"""
import argparse
import math
import os
import struct
import sys
import time
import warnings

import numpy as np
import onnx
import torch
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "testdata", "gen"))
import train_fmnist as tf  # noqa: E402  (model classes and the IDX reader)

from torch.ao.quantization import get_default_qconfig_mapping  # noqa: E402
from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx  # noqa: E402


def onnx_state(model_name, module):
    """A state_dict for module from testdata/<model>.onnx: initializers whose
    names match torch keys, plus MatMul weights (stored transposed under
    onnx:: names) found through the node names /<module path>/MatMul."""
    m = onnx.load(os.path.join(ROOT, "testdata", model_name + ".onnx"))
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    keys = module.state_dict().keys()
    state = {k: torch.from_numpy(inits[k].copy()) for k in keys if k in inits}
    for node in m.graph.node:
        if node.op_type != "MatMul" or node.input[1] not in inits:
            continue
        path = node.name.strip("/").rsplit("/", 1)[0].replace("/", ".")
        state[path + ".weight"] = torch.from_numpy(inits[node.input[1]].T.copy())
    missing = [k for k in keys if k not in state and not k.endswith("num_batches_tracked")]
    if missing:
        raise SystemExit("torch_ptq: %s: no ONNX weight for %s" % (model_name, missing))
    for k in keys:
        if k.endswith("num_batches_tracked"):
            state[k] = torch.tensor(0)
    return state


def evaluate(model, x, y, batch=1000):
    correct = 0
    with torch.no_grad():
        for i in range(0, x.shape[0], batch):
            correct += int((model(x[i:i + batch]).argmax(dim=1) == y[i:i + batch]).sum())
    return correct / x.shape[0]


def ptq(name, calib):
    """FX post-training quantization of a fresh float model; (model, seconds)."""
    cls = tf.MODELS[name][0]
    model = cls()
    model.load_state_dict(onnx_state(name, model))
    model.eval()
    t0 = time.perf_counter()
    qmap = get_default_qconfig_mapping("fbgemm")
    prepared = prepare_fx(model, qmap, (calib[:1],))
    with torch.no_grad():
        for i in range(0, calib.shape[0], 64):
            prepared(calib[i:i + 64])
    quantized = convert_fx(prepared)
    return quantized, time.perf_counter() - t0


def mcnemar_p(b, c):
    """Exact two-sided McNemar p-value for b vs c discordant pairs."""
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(b, c) + 1))
    return min(1.0, 2.0 * tail / 2 ** n)


def paired(name, ecc_logits, model, quantized, x_test, y_test):
    """ecc's predictions (from its logits file) against FX's, image by image."""
    logits = np.load(ecc_logits)
    if logits.shape[0] != x_test.shape[0]:
        raise SystemExit("torch_ptq: %s: %d rows, expected %d (one per test image)"
                         % (ecc_logits, logits.shape[0], x_test.shape[0]))
    e = torch.from_numpy(logits.reshape(logits.shape[0], -1)).argmax(dim=1)
    with torch.no_grad():
        f = quantized(x_test).argmax(dim=1)
        ref = model(x_test).argmax(dim=1)
    b = int(((e == y_test) & (f != y_test)).sum())
    c = int(((e != y_test) & (f == y_test)).sum())
    print("paired %s: agree-with-float ecc %.4f fx %.4f only-ecc-right %d only-fx-right %d "
          "mcnemar_p %.2f" % (name, float((e == ref).float().mean()), float((f == ref).float().mean()),
                              b, c, mcnemar_p(b, c)), flush=True)


def run(name, calib, x_test, y_test, repeat, ecc_logits=None):
    model = tf.MODELS[name][0]()
    model.load_state_dict(onnx_state(name, model))
    model.eval()
    acc_float = evaluate(model, x_test, y_test)
    quantized, secs = ptq(name, calib)
    for _ in range(repeat - 1):
        secs = min(secs, ptq(name, calib)[1])
    acc_int8 = evaluate(quantized, x_test, y_test)
    print("torch_ptq %s: float %.4f int8 %.4f drop %.2f calib %d ptq_seconds %.3f"
          % (name, acc_float, acc_int8, 100 * (acc_float - acc_int8), calib.shape[0], secs),
          flush=True)
    if ecc_logits:
        paired(name, ecc_logits, model, quantized, x_test, y_test)


def write_idx(path, array):
    """A uint8 array (images [n, 28, 28] or labels [n]) as an uncompressed IDX file."""
    with open(path, "wb") as f:
        f.write(struct.pack(">i", 0x800 + array.ndim))
        f.write(struct.pack(">%di" % array.ndim, *array.shape))
        f.write(np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def draws(names, k, size, out_dir, x_train, x_test, y_test, heldout):
    """FX on k disjoint calibration sets; each set also written for ecc."""
    raw = tf.read_idx(os.path.join(tf.DATA_DIR, "train-images-idx3-ubyte.gz"))
    if k * size > (50000 if heldout else raw.shape[0]):
        raise SystemExit("torch_ptq: %d draws of %d images need more training images than %s"
                         % (k, size, "the 50,000 before the held-out ones" if heldout
                            else "there are"))
    if heldout:
        labels = tf.read_idx(os.path.join(tf.DATA_DIR, "train-labels-idx1-ubyte.gz"))
        write_idx(os.path.join(out_dir, "eval_images.idx"), raw[50000:60000])
        write_idx(os.path.join(out_dir, "eval_labels.idx"), labels[50000:60000])
        x_test = x_train[50000:60000]
        y_test = torch.from_numpy(labels[50000:60000].astype(np.int64))
    for d in range(k):
        write_idx(os.path.join(out_dir, "calib_%d.idx" % d), raw[d * size:(d + 1) * size])
    for name in names:
        for d in range(k):
            quantized, _ = ptq(name, x_train[d * size:(d + 1) * size].contiguous())
            print("draw %s %d fx %.4f" % (name, d, evaluate(quantized, x_test, y_test)), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="*", default=["mlp", "cnn", "transformer"])
    ap.add_argument("--calib-size", type=int, default=256)
    ap.add_argument("--test-size", type=int, default=10000)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: all cores)")
    ap.add_argument("--repeat", type=int, default=1, help="best ptq_seconds of this many runs")
    ap.add_argument("--ecc-logits", action="append", default=[], metavar="MODEL=FILE.npy",
                    help="ecc's quantized logits on the test images, for a paired comparison")
    ap.add_argument("--draws", type=int, default=0, metavar="K",
                    help="quantize on K disjoint calibration sets (needs --draw-dir)")
    ap.add_argument("--draw-dir", help="where the --draws calibration sets are written")
    ap.add_argument("--eval", choices=["test", "heldout"], default="test",
                    help="--draws: score on the test set or on training images 50,000-59,999")
    a = ap.parse_args()
    if a.draws and not a.draw_dir:
        raise SystemExit("torch_ptq: --draws needs --draw-dir")
    ecc_logits = dict(kv.split("=", 1) for kv in a.ecc_logits if "=" in kv)
    if len(ecc_logits) != len(a.ecc_logits):
        raise SystemExit("torch_ptq: --ecc-logits takes MODEL=FILE.npy")
    torch.use_deterministic_algorithms(False)
    if a.threads:
        torch.set_num_threads(a.threads)
    else:
        torch.set_num_threads(os.cpu_count() or 1)
    warnings.filterwarnings("ignore")
    x_train, _ = tf.load_split("train")
    x_test, y_test = tf.load_split("t10k")
    calib = x_train[:a.calib_size].contiguous()
    for name in a.models:
        if name not in tf.MODELS:
            raise SystemExit("torch_ptq: unknown model '%s' (mlp, cnn, transformer)" % name)
    if a.draws:
        os.makedirs(a.draw_dir, exist_ok=True)
        draws(a.models, a.draws, a.calib_size, a.draw_dir, x_train, x_test[:a.test_size],
              y_test[:a.test_size], a.eval == "heldout")
        return
    for name in a.models:
        run(name, calib, x_test[:a.test_size], y_test[:a.test_size], max(1, a.repeat),
            ecc_logits.get(name))


if __name__ == "__main__":
    main()
