#!/usr/bin/python3
"""PyTorch autograd references for ecc's gradient engine on the three testdata models.

Run from anywhere with Debian's Python (torch 1.13, onnx, numpy); never at test time:

    /usr/bin/python3 testdata/gen/grad_reference.py

For each of testdata/{mlp,cnn,transformer}.onnx the torch module of
testdata/gen/train_fmnist.py is rebuilt from the ONNX initializers (the
transformer's MatMul weights are stored transposed under onnx:: names and are
found through their node names, as bench/torch_ptq.py does), in eval mode
(no dropout exists; BatchNormalization uses its running statistics, which are
made leaf tensors here so that they get a gradient too), and run in float64
(weights and images are float32 values widened exactly). Its logits on the
first 8 images of testdata/fmnist_64.npy are checked against
testdata/expected/<model>_logits_64.npy before anything is written.

Writes, under testdata/grad/:
  dout.npy            float32 [8,10]: d(loss)/d(logits), normal(0,1), numpy seed 21
  target.npy          float32 [64,10]: fixed "teacher" logits for the SGD run,
                      normal(0,2), numpy seed 2121
  <model>_grad.npy    float32 [P]: d(sum(dout * logits))/d(initializer), for every
                      float32 initializer in the ONNX file's initializer order, each
                      flattened in C order and concatenated (computed in float64,
                      rounded to float32 on writing)
  <model>_logits.npy  float32 [8,10]: the float64 forward on those 8 images
  <model>_loss.npy    float64 [100]: the loss of each of 100 plain SGD steps (lr SGD_LR,
                      momentum 0, no weight decay), batch k = images 16*(k mod 4) ..
                      +15 of fmnist_64.npy, loss = KL(softmax(target) || softmax(logits))
                      at T=1, mean over the batch (ecc_loss_kl with temperature 1),
                      recorded before the step's update; trained: every float
                      initializer except BatchNormalization's mean and variance
                      (as the distill pass's train=all), in float64
  <model>_names.txt   one line per initializer: name numel offset trained(0/1)
"""
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
TESTDATA = os.path.dirname(HERE)
OUT = os.path.join(TESTDATA, "grad")
sys.path.insert(0, HERE)
import train_fmnist as tf  # noqa: E402  (the model classes)

BATCH = 8
SGD_STEPS = 100
SGD_BATCH = 16
# Plain SGD's learning rate per model. The CNN's float32 trajectory at 0.01 is
# chaotic: two float32 runs that differ only in BLAS summation order part by
# 1e-2 in loss after 90 steps (2e-7 at 0.001), so no float32 engine can follow
# a float64 reference there; at 0.001 they agree to 2e-7.
SGD_LR = {"mlp": 0.01, "cnn": 0.001, "transformer": 0.01}

torch.set_num_threads(2)
torch.use_deterministic_algorithms(True)


class FrozenBN(nn.Module):
    """Inference-mode BatchNorm2d with the running statistics as leaf parameters."""

    def __init__(self, bn):
        super().__init__()
        self.eps = bn.eps
        self.weight = nn.Parameter(bn.weight.detach().clone())
        self.bias = nn.Parameter(bn.bias.detach().clone())
        self.running_mean = nn.Parameter(bn.running_mean.detach().clone())
        self.running_var = nn.Parameter(bn.running_var.detach().clone())

    def forward(self, x):
        s = (1, -1, 1, 1)
        inv = torch.rsqrt(self.running_var.view(s) + self.eps)
        return (x - self.running_mean.view(s)) * inv * self.weight.view(s) + self.bias.view(s)


def build(name):
    """(module in float64 eval mode, onnx model, [(init name, torch param, transposed)])."""
    path = os.path.join(TESTDATA, name + ".onnx")
    m = onnx.load(path)
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    module = tf.MODELS[name][0]()
    keys = module.state_dict().keys()
    # torch key -> (onnx name, transposed)
    where = {k: (k, False) for k in keys if k in inits}
    for node in m.graph.node:
        if node.op_type == "MatMul" and node.input[1] in inits:
            key = node.name.strip("/").rsplit("/", 1)[0].replace("/", ".") + ".weight"
            where[key] = (node.input[1], True)
    state = {}
    for k in keys:
        if k.endswith("num_batches_tracked"):
            state[k] = torch.tensor(0)
            continue
        if k not in where:
            raise SystemExit("grad_reference: %s: no ONNX initializer for %s" % (name, k))
        src, tr = where[k]
        a = inits[src].T if tr else inits[src]
        state[k] = torch.from_numpy(np.array(a, copy=True, order="C"))
    module.load_state_dict(state)
    for n, mod in list(module.named_modules()):
        for cn, child in list(mod.named_children()):
            if isinstance(child, nn.BatchNorm2d):
                setattr(mod, cn, FrozenBN(child))
    module = module.double().eval()
    for node in m.graph.node:  # the eps the graph uses must be torch's
        if node.op_type in ("BatchNormalization", "LayerNormalization"):
            eps = [a.f for a in node.attribute if a.name == "epsilon"]
            assert not eps or abs(eps[0] - 1e-5) < 1e-12, (node.name, eps)
    params = dict(module.named_parameters())
    back = {v[0]: k for k, v in where.items()}
    table = []
    for t in m.graph.initializer:
        if t.data_type != onnx.TensorProto.FLOAT:
            continue
        key = back.get(t.name)
        if key is None or key not in params:
            raise SystemExit("grad_reference: %s: initializer %s has no torch parameter"
                             % (name, t.name))
        table.append((t.name, params[key], where[key][1]))
    assert len(table) == len(params), (name, len(table), len(params))
    return module, m, table


def frozen_stats(m):
    """Names of BatchNormalization mean/variance inputs (not trained by SGD)."""
    s = set()
    for node in m.graph.node:
        if node.op_type == "BatchNormalization":
            s.update(node.input[3:5])
    return s


def onnx_grad(p, transposed):
    g = p.grad.detach()
    return (g.T if transposed else g).contiguous().numpy().ravel()


def kl_t1(logits, target):
    """ecc_loss_kl at T=1: mean over rows of KL(softmax(target) || softmax(logits))."""
    pt = F.softmax(target, dim=1)
    return (pt * (F.log_softmax(target, dim=1) - F.log_softmax(logits, dim=1))).sum(1).mean()


def main():
    os.makedirs(OUT, exist_ok=True)
    x64 = np.load(os.path.join(TESTDATA, "fmnist_64.npy"))
    assert x64.dtype == np.float32 and x64.shape == (64, 1, 28, 28)
    dout = np.random.RandomState(21).standard_normal((BATCH, 10)).astype(np.float32)
    target = (2 * np.random.RandomState(2121).standard_normal((64, 10))).astype(np.float32)
    np.save(os.path.join(OUT, "dout.npy"), dout)
    np.save(os.path.join(OUT, "target.npy"), target)
    x = torch.from_numpy(x64).double()
    for name in ("mlp", "cnn", "transformer"):
        module, m, table = build(name)
        # --- gradients of sum(dout * logits) on 8 images
        module.zero_grad()
        logits = module(x[:BATCH])
        ref = np.load(os.path.join(TESTDATA, "expected", name + "_logits_64.npy"))[:BATCH]
        err = np.abs(logits.detach().numpy() - ref).max()
        assert err < 1e-4, (name, "rebuilt module disagrees with the exported logits", err)
        (logits * torch.from_numpy(dout).double()).sum().backward()
        grads = np.concatenate([onnx_grad(p, tr) for _, p, tr in table]).astype(np.float32)
        np.save(os.path.join(OUT, name + "_grad.npy"), grads)
        np.save(os.path.join(OUT, name + "_logits.npy"), logits.detach().numpy().astype(np.float32))
        frozen = frozen_stats(m)
        with open(os.path.join(OUT, name + "_names.txt"), "w") as f:
            off = 0
            for n, p, _ in table:
                f.write("%s %d %d %d\n" % (n, p.numel(), off, 0 if n in frozen else 1))
                off += p.numel()
        # --- 100 plain SGD steps
        trained = [p for n, p, _ in table if n not in frozen]
        opt = torch.optim.SGD(trained, lr=SGD_LR[name], momentum=0.0)
        tgt = torch.from_numpy(target).double()
        losses = []
        for k in range(SGD_STEPS):
            a = SGD_BATCH * (k % (64 // SGD_BATCH))
            opt.zero_grad()
            loss = kl_t1(module(x[a:a + SGD_BATCH]), tgt[a:a + SGD_BATCH])
            loss.backward()
            opt.step()
            losses.append(float(loss))
        np.save(os.path.join(OUT, name + "_loss.npy"), np.array(losses, dtype=np.float64))
        print("%s: %d initializers, %d gradient values (|g| max %.3g), forward vs expected %.1e, "
              "SGD loss %.5f -> %.5f" % (name, len(table), grads.size, np.abs(grads).max(), err,
                                          losses[0], losses[-1]), flush=True)


if __name__ == "__main__":
    main()
