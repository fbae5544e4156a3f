#!/usr/bin/python3
"""A MobileNet-style model for structured-pruning tests: testdata/edge/depthwise.onnx.

    /usr/bin/python3 testdata/gen/make_depthwise.py

Random (seeded) weights, opset 13, input `input` [N,1,28,28], output `logits` [N,10]:

    stem   Conv 1->16 3x3 s2 + BN + Relu
    dw1    depthwise Conv 16 (group 16) 3x3 + BN + Relu         (channels tied to stem)
    pw1    Conv 16->32 1x1 (weight in a Constant node) + BN
    se     GlobalAveragePool -> Conv 32->8 + Relu -> Conv 8->32 -> Sigmoid, Mul with pw1 (gate)
    a, b   Conv 32->16 3x3 + Relu  |  Conv 32->16 1x1 + Relu, Concat on channels
    dw2    depthwise Conv 32 (group 32) 3x3 s2 + BN + Relu over the concatenation,
           Add with AveragePool(concat) (a residual over two concatenated segments)
    pw2    grouped Conv 32->24 1x1 (group 2) + BN + Relu
    head   Reshape to [-1, 1176] (explicit feature count) -> Gemm 1176->10

Deterministic: two runs give byte-identical files. Uses onnx 1.12 + numpy only.
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(os.path.dirname(HERE), "edge", "depthwise.onnx")
R = np.random.RandomState(2024)

inits, nodes = [], []


def w(name, *shape):
    fan_in = int(np.prod(shape[1:]))
    arr = (R.uniform(-1, 1, size=shape) / np.sqrt(fan_in)).astype(np.float32)
    inits.append(numpy_helper.from_array(arr, name))
    return name


def conv(name, x, cin, cout, k, stride=1, group=1, const_weight=False):
    shape = (cout, cin // group, k, k)
    if const_weight:
        arr = (R.uniform(-1, 1, size=shape) / np.sqrt(np.prod(shape[1:]))).astype(np.float32)
        nodes.append(helper.make_node("Constant", [], [name + ".w"],
                                      value=numpy_helper.from_array(arr, name + ".w")))
        wname = name + ".w"
    else:
        wname = w(name + ".w", *shape)
    p = k // 2
    nodes.append(helper.make_node("Conv", [x, wname], [name], name=name, kernel_shape=[k, k],
                                  strides=[stride, stride], pads=[p, p, p, p], group=group))
    return name


def bn(name, x, c):
    for suffix, lo, hi in (("scale", 0.5, 1.5), ("bias", -0.2, 0.2), ("mean", -0.2, 0.2),
                           ("var", 0.5, 1.5)):
        inits.append(numpy_helper.from_array(R.uniform(lo, hi, size=c).astype(np.float32),
                                             f"{name}.{suffix}"))
    nodes.append(helper.make_node("BatchNormalization",
                                  [x] + [f"{name}.{s}" for s in ("scale", "bias", "mean", "var")],
                                  [name], name=name))
    return name


def op(kind, ins, name, **attrs):
    nodes.append(helper.make_node(kind, ins, [name], name=name, **attrs))
    return name


x = op("Relu", [bn("stem_bn", conv("stem", "input", 1, 16, 3, stride=2), 16)], "stem_relu")
x = op("Relu", [bn("dw1_bn", conv("dw1", x, 16, 16, 3, group=16), 16)], "dw1_relu")
x = bn("pw1_bn", conv("pw1", x, 16, 32, 1, const_weight=True), 32)
g = op("GlobalAveragePool", [x], "se_pool")
g = op("Relu", [conv("se_reduce", g, 32, 8, 1)], "se_relu")
g = op("Sigmoid", [conv("se_expand", g, 8, 32, 1)], "se_gate")
x = op("Relu", [op("Mul", [x, g], "se_mul")], "pw1_relu")
a = op("Relu", [conv("a", x, 32, 16, 3)], "a_relu")
b = op("Relu", [conv("b", x, 32, 16, 1)], "b_relu")
cat = op("Concat", [a, b], "cat", axis=1)
d = op("Relu", [bn("dw2_bn", conv("dw2", cat, 32, 32, 3, stride=2, group=32), 32)], "dw2_relu")
skip = op("AveragePool", [cat], "skip_pool", kernel_shape=[2, 2], strides=[2, 2])
x = op("Add", [d, skip], "res_add")
x = op("Relu", [bn("pw2_bn", conv("pw2", x, 32, 24, 1, group=2), 24)], "pw2_relu")
inits.append(numpy_helper.from_array(np.array([-1, 24 * 7 * 7], dtype=np.int64), "flat_shape"))
x = op("Reshape", [x, "flat_shape"], "flat")
inits.append(numpy_helper.from_array(
    (R.uniform(-1, 1, size=(10, 24 * 7 * 7)) / np.sqrt(24 * 7 * 7)).astype(np.float32), "fc.w"))
inits.append(numpy_helper.from_array(np.zeros(10, np.float32), "fc.b"))
nodes.append(helper.make_node("Gemm", [x, "fc.w", "fc.b"], ["logits"], name="fc", transB=1))

graph = helper.make_graph(
    nodes, "depthwise",
    [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 1, 28, 28])],
    [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])], inits)
model = helper.make_model(graph, opset_imports=[helper.make_operatorsetid("", 13)],
                          producer_name="make_depthwise.py")
model.ir_version = 7
onnx.checker.check_model(model, full_check=True)
with open(OUT, "wb") as f:
    f.write(model.SerializeToString())
print("wrote", OUT)
