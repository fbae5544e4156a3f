#!/usr/bin/python3
"""PyTorch's side of bench/distill_bench.sh: one distillation epoch of a
testdata model against itself as teacher, timed the way ecc's distill pass
times its loop.

    /usr/bin/python3 bench/torch_distill.py MODEL --threads N [--size 10000]
                                            [--batch 64] [--repeat 1]

The torch module of testdata/gen/train_fmnist.py is loaded with the ONNX
file's weights (bench/torch_ptq.py's onnx_state) and kept in eval mode
(BatchNorm on its running statistics, as ecc trains it); every parameter
trains (ecc's train=all: BatchNorm statistics are buffers, not trained). The
first --size Fashion-MNIST training images (pixels / 255), the teacher's
logits computed once before the clock starts, then one epoch of shuffled
mini-batches (torch.randperm, seed 0): forward, T^2 KL(softmax(t/T) ||
softmax(s/T)) at T=2 mean over the batch, backward, AdamW (lr 1e-3, betas
0.9/0.999, eps 1e-8, no weight decay: ecc's distill defaults). Prints

    torch_distill cnn: threads 1 samples_per_second 1234.5 seconds 8.10

with samples/s = steps x batch / seconds, ecc's formula (the last partial
batch counts as a full one on both sides). Best of --repeat epochs, each from
the loaded weights.
"""
import argparse
import os
import sys
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "testdata", "gen"))
import train_fmnist as tf  # noqa: E402
from torch_ptq import onnx_state  # noqa: E402


def epoch(name, x, teacher, batch, temperature, seed):
    model = tf.MODELS[name][0]()
    model.load_state_dict(onnx_state(name, model))
    model.eval()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                            weight_decay=0.0)
    gen = torch.Generator()
    gen.manual_seed(seed)
    t0 = time.perf_counter()
    perm = torch.randperm(x.shape[0], generator=gen)
    steps = 0
    for i in range(0, x.shape[0], batch):
        idx = perm[i:i + batch]
        opt.zero_grad(set_to_none=True)
        s = model(x[idx]) / temperature
        t = teacher[idx] / temperature
        loss = temperature * temperature * F.kl_div(
            F.log_softmax(s, dim=1), F.log_softmax(t, dim=1), reduction="batchmean",
            log_target=True)
        loss.backward()
        opt.step()
        steps += 1
    return steps, time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", choices=sorted(tf.MODELS))
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--size", type=int, default=10000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--temperature", type=float, default=2.0)
    ap.add_argument("--repeat", type=int, default=1)
    a = ap.parse_args()
    warnings.filterwarnings("ignore")
    torch.set_num_threads(a.threads)
    raw = tf.read_idx(os.path.join(tf.DATA_DIR, "train-images-idx3-ubyte.gz"))[:a.size]
    x = torch.from_numpy(raw.astype(np.float32) / 255.0).reshape(-1, 1, 28, 28).contiguous()
    teacher_model = tf.MODELS[a.model][0]()
    teacher_model.load_state_dict(onnx_state(a.model, teacher_model))
    teacher_model.eval()
    with torch.no_grad():
        teacher = torch.cat([teacher_model(x[i:i + 1000]) for i in range(0, x.shape[0], 1000)])
    best = None
    for r in range(max(1, a.repeat)):
        steps, secs = epoch(a.model, x, teacher, a.batch, a.temperature, r)
        if best is None or secs < best[1]:
            best = (steps, secs)
    steps, secs = best
    print("torch_distill %s: threads %d samples_per_second %.1f seconds %.3f"
          % (a.model, a.threads, steps * a.batch / secs, secs), flush=True)


if __name__ == "__main__":
    main()
