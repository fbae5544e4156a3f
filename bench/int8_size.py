#!/usr/bin/python3
"""INT8 file size against the float file, with the lower bounds that ONNX sets.

    /usr/bin/python3 bench/int8_size.py FLOAT.onnx [--graph G.onnx] NAME=EMITTED.onnx ...

For the float model it prints its size and two floors, each the graph G (the
float model by default; bench/quant_size.sh gives it with BatchNormalization
folded, as every INT8 form folds it) with some float32 initializers stored as
int8 instead (one byte an element, no scale, no Q/DQ node, every name and
node kept). Ratios are always to the float file:

  floor_weights  only the weights a quantizer turns into int8 (input B of
                 every Conv, ConvTranspose, Gemm and MatMul): what no
                 quantization of those layers can go below;
  floor_all      every float32 initializer (LayerNorm scales, biases,
                 positional tables too): what no int8 ONNX model that keeps
                 the graph can go below.

Then one line for each emitted file: its size and ratio, and where its bytes
go (initializers, nodes, the rest). `bench/quant_size.sh` runs it on the
testdata models. Python reads the files only; ecc never runs it.
"""
import sys

import onnx

WEIGHT_OPS = {"Conv", "ConvTranspose", "Gemm", "MatMul"}


def nbytes(proto):
    return len(proto.SerializeToString())


def float_bytes(t):
    n = 1
    for d in t.dims:
        n *= d
    return 4 * n if t.data_type == onnx.TensorProto.FLOAT else 0


def constant_tensors(g):
    """Float tensors held by Constant nodes, by output name."""
    out = {}
    for n in g.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value" and a.type == onnx.AttributeProto.TENSOR:
                    out[n.output[0]] = a.t
    return out


def floors(m):
    g = m.graph
    inits = {t.name: t for t in g.initializer}
    inits.update(constant_tensors(g))
    weights = {n.input[1] for n in g.node if n.op_type in WEIGHT_OPS and len(n.input) > 1}
    total = nbytes(m)
    w = sum(float_bytes(t) for k, t in inits.items() if k in weights)
    a = sum(float_bytes(t) for t in inits.values())
    return total, total - 3 * w // 4, total - 3 * a // 4


def parts(m):
    g = m.graph
    init = sum(nbytes(t) for t in g.initializer)
    nodes = sum(nbytes(n) for n in g.node)
    total = nbytes(m)
    return total, init, nodes, total - init - nodes


def main():
    args = sys.argv[1:]
    if not args:
        raise SystemExit(__doc__.split("\n\n")[1])
    graph = args[0]
    if len(args) > 2 and args[1] == "--graph":
        graph = args[2]
        del args[1:3]
    total = nbytes(onnx.load(args[0]))
    _, fw, fa = floors(onnx.load(graph))
    print("%s: float %d bytes; floor_weights %d (%.3fx), floor_all %d (%.3fx)"
          % (args[0], total, fw, fw / total, fa, fa / total))
    for arg in args[1:]:
        name, _, path = arg.partition("=")
        size, init, nodes, rest = parts(onnx.load(path))
        print("  %-26s %7d bytes %.3fx  (initializers %d, nodes %d, rest %d)"
              % (name, size, size / total, init, nodes, rest))


if __name__ == "__main__":
    main()
