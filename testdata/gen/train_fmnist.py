#!/usr/bin/python3
"""Train three small Fashion-MNIST classifiers with torch and export them to ONNX.

Run from anywhere with Debian's Python (it has torch + onnx):

    /usr/bin/python3 testdata/gen/train_fmnist.py            # all three models
    /usr/bin/python3 testdata/gen/train_fmnist.py mlp cnn    # a subset

Outputs (paths relative to the repository root):
    testdata/mlp.onnx          opset 13, Flatten/Gemm/Relu
    testdata/cnn.onnx          opset 13, Conv + (unfolded) BatchNormalization + residual Add
    testdata/transformer.onnx  opset 17, patch embedding, 2 pre-LN encoder layers, hand-written attention
    testdata/fmnist_64.npy         float32 [64,1,28,28] in [0,1]: the first 64 t10k test images
    testdata/fmnist_64_labels.npy  int64 [64]
    testdata/expected/<model>_logits_64.npy  float32 [64,10]: torch logits of each model on fmnist_64
    testdata/gen/train_results.json          measured accuracy / params / size per model

Contract of every exported model: input `input` float32 [N,1,28,28] (pixels / 255, no
other normalisation outside the model), output `logits` float32 [N,10], N symbolic.
Python is only used to (re)generate test data; nothing in ecc runs it.
"""
import gzip
import json
import os
import random
import sys
import time

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
TESTDATA = os.path.dirname(HERE)
DATA_DIR = "/usr/share/datasets/fashion-mnist"
SEED = 1234

torch.set_num_threads(2)
torch.use_deterministic_algorithms(True)


def seed_all(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


# --------------------------------------------------------------------------- data
def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    ndim = magic & 0xFF
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    return arr.reshape(dims)


def load_split(kind):
    x = read_idx(os.path.join(DATA_DIR, "%s-images-idx3-ubyte.gz" % kind))
    y = read_idx(os.path.join(DATA_DIR, "%s-labels-idx1-ubyte.gz" % kind))
    x = torch.from_numpy(x.astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)
    y = torch.from_numpy(y.astype(np.int64))
    return x, y


# --------------------------------------------------------------------------- models
class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(784, 256)
        self.fc2 = nn.Linear(256, 128)
        self.fc3 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.flatten(x)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3, stride=2, padding=1, bias=False)  # 28 -> 14
        self.bn2 = nn.BatchNorm2d(32)
        # residual block at 14x14
        self.res_a = nn.Conv2d(32, 32, 3, padding=1, bias=False)
        self.res_bn_a = nn.BatchNorm2d(32)
        self.res_b = nn.Conv2d(32, 32, 3, padding=1, bias=False)
        self.res_bn_b = nn.BatchNorm2d(32)
        self.pool = nn.MaxPool2d(2)  # 14 -> 7
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(32 * 7 * 7, 10)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        skip = x
        y = F.relu(self.res_bn_a(self.res_a(x)))
        y = self.res_bn_b(self.res_b(y))
        x = F.relu(y + skip)
        x = self.pool(x)
        return self.fc(self.flatten(x))


class Attention(nn.Module):
    """Multi-head self-attention written out by hand (exports as MatMul/Softmax)."""

    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.head_dim = dim // heads
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.v = nn.Linear(dim, dim)
        self.proj = nn.Linear(dim, dim)
        self.scale = 1.0 / float(np.sqrt(self.head_dim))

    def forward(self, x):  # x: [N, T, D]
        # T and D are Python ints (not x.shape[...]) so the export has constant Reshape
        # targets [-1, T, H, Hd] instead of Shape/Gather/Concat subgraphs.
        T, D = Transformer.TOKENS, self.heads * self.head_dim
        H, Hd = self.heads, self.head_dim
        q = self.q(x).reshape(-1, T, H, Hd).transpose(1, 2)  # [N,H,T,Hd]
        k = self.k(x).reshape(-1, T, H, Hd).transpose(1, 2)
        v = self.v(x).reshape(-1, T, H, Hd).transpose(1, 2)
        att = torch.matmul(q, k.transpose(2, 3)) * self.scale  # [N,H,T,T]
        att = torch.softmax(att, dim=-1)
        out = torch.matmul(att, v)  # [N,H,T,Hd]
        out = out.transpose(1, 2).reshape(-1, T, D)
        return self.proj(out)


class EncoderLayer(nn.Module):
    def __init__(self, dim, heads, mlp_dim):
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.ln2 = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, mlp_dim)
        self.fc2 = nn.Linear(mlp_dim, dim)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        x = x + self.fc2(F.gelu(self.fc1(self.ln2(x))))
        return x


class Transformer(nn.Module):
    PATCH = 7
    GRID = 4  # 28 / 7
    TOKENS = 16

    def __init__(self, dim=64, heads=4, mlp_dim=128, layers=2):
        super().__init__()
        self.embed = nn.Linear(self.PATCH * self.PATCH, dim)
        self.pos = nn.Parameter(torch.zeros(1, self.TOKENS, dim))
        nn.init.normal_(self.pos, std=0.02)
        self.layers = nn.ModuleList([EncoderLayer(dim, heads, mlp_dim) for _ in range(layers)])
        self.ln = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, 10)

    def forward(self, x):  # [N,1,28,28]
        P, G = self.PATCH, self.GRID
        x = x.reshape(-1, G, P, G, P)            # [N, gy, py, gx, px]
        x = x.permute(0, 1, 3, 2, 4)             # [N, gy, gx, py, px]
        x = x.reshape(-1, self.TOKENS, P * P)    # [N, 16, 49]
        x = self.embed(x) + self.pos
        for layer in self.layers:
            x = layer(x)
        x = self.ln(x)
        x = x.mean(dim=1)
        return self.head(x)


# name -> (constructor, opset, epochs, lr, batch, do_constant_folding)
# cnn is exported without constant folding (as the spec asks); the transformer with it, so
# nn.Linear weights on 3-D inputs are stored pre-transposed instead of behind Transpose nodes.
MODELS = {
    "mlp": (MLP, 13, 8, 1e-3, 128, True),
    "cnn": (CNN, 13, 5, 2e-3, 128, False),
    "transformer": (Transformer, 17, 10, 2e-3, 128, True),
}


# --------------------------------------------------------------------------- train / eval
def evaluate(model, x, y, batch=1000):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, x.shape[0], batch):
            logits = model(x[i:i + batch])
            correct += int((logits.argmax(dim=1) == y[i:i + batch]).sum())
    return correct / x.shape[0]


def train(name, model, xtr, ytr, xte, yte, epochs, lr, batch):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps_per_epoch = (xtr.shape[0] + batch - 1) // batch
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=lr, total_steps=epochs * steps_per_epoch, pct_start=0.15)
    gen = torch.Generator()
    gen.manual_seed(SEED)
    for epoch in range(epochs):
        model.train()
        t0 = time.time()
        perm = torch.randperm(xtr.shape[0], generator=gen)
        total = 0.0
        for i in range(0, xtr.shape[0], batch):
            idx = perm[i:i + batch]
            opt.zero_grad()
            loss = F.cross_entropy(model(xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss) * idx.shape[0]
        acc = evaluate(model, xte, yte)
        print("  %s epoch %d/%d loss %.4f test acc %.4f (%.1fs)" % (
            name, epoch + 1, epochs, total / xtr.shape[0], acc, time.time() - t0), flush=True)
    return acc


# --------------------------------------------------------------------------- export / verify
def export(model, path, opset, fold):
    model.eval()
    dummy = torch.zeros(1, 1, 28, 28)
    # TrainingMode.EVAL runs torch's eval peephole pass, which fuses Conv+BatchNormalization.
    # PRESERVE with the module already in eval() mode exports inference-mode BatchNormalization
    # nodes (running mean/var as initializers) and skips that fusion.
    torch.onnx.export(
        model, dummy, path,
        export_params=True,
        opset_version=opset,
        do_constant_folding=fold,
        training=torch.onnx.TrainingMode.PRESERVE,
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
    )


def verify(path, opset, name):
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    ops = {}
    for n in m.graph.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
    got_opset = [o.version for o in m.opset_import if o.domain in ("", "ai.onnx")][0]
    assert got_opset == opset, (got_opset, opset)
    assert [i.name for i in m.graph.input][:1] == ["input"], m.graph.input
    assert [o.name for o in m.graph.output] == ["logits"], m.graph.output
    in_dims = m.graph.input[0].type.tensor_type.shape.dim
    assert in_dims[0].dim_param and [d.dim_value for d in in_dims[1:]] == [1, 28, 28]
    if name == "cnn":
        assert ops.get("BatchNormalization", 0) == 4, ops
        assert ops.get("Add", 0) >= 1, ops
    if name == "transformer":
        assert ops.get("LayerNormalization", 0) == 5, ops
        assert ops.get("Softmax", 0) == 2, ops
    return ops


def main(argv):
    names = argv[1:] or list(MODELS)
    for n in names:
        if n not in MODELS:
            sys.exit("unknown model %r (choose from %s)" % (n, ", ".join(MODELS)))
    xtr, ytr = load_split("train")
    xte, yte = load_split("t10k")
    os.makedirs(os.path.join(TESTDATA, "expected"), exist_ok=True)

    # calibration / eval sample: first 64 test images
    np.save(os.path.join(TESTDATA, "fmnist_64.npy"), xte[:64].numpy().astype(np.float32))
    np.save(os.path.join(TESTDATA, "fmnist_64_labels.npy"), yte[:64].numpy().astype(np.int64))

    results_path = os.path.join(HERE, "train_results.json")
    results = {}
    if os.path.exists(results_path):
        with open(results_path) as f:
            results = json.load(f)

    for name in names:
        ctor, opset, epochs, lr, batch, fold = MODELS[name]
        seed_all(SEED)
        model = ctor()
        params = sum(p.numel() for p in model.parameters())
        print("%s: %d parameters, %d epochs" % (name, params, epochs), flush=True)
        t0 = time.time()
        acc = train(name, model, xtr, ytr, xte, yte, epochs, lr, batch)
        train_s = time.time() - t0
        path = os.path.join(TESTDATA, name + ".onnx")
        export(model, path, opset, fold)
        ops = verify(path, opset, name)
        model.eval()
        with torch.no_grad():
            logits = model(xte[:64]).numpy().astype(np.float32)
        np.save(os.path.join(TESTDATA, "expected", name + "_logits_64.npy"), logits)
        size = os.path.getsize(path)
        print("%s: test accuracy %.4f, %d params, opset %d, %d bytes, ops %s, %.0fs" % (
            name, acc, params, opset, size, json.dumps(ops, sort_keys=True), train_s), flush=True)
        results[name] = {
            "test_accuracy": round(acc, 4),
            "parameters": params,
            "opset": opset,
            "file_bytes": size,
            "epochs": epochs,
            "ops": ops,  # no timings here: this file is deterministic
        }
        with open(results_path, "w") as f:
            json.dump(results, f, indent=2, sort_keys=True)
            f.write("\n")


if __name__ == "__main__":
    main(sys.argv)
