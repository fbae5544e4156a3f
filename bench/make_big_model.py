"""Writes a ~100 MB float32 MLP (6 Gemm layers of 2048x2048) for the identity
round-trip benchmark. Deterministic. Usage: make_big_model.py OUT.onnx [MB]"""
import sys
import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

out = sys.argv[1]
mb = int(sys.argv[2]) if len(sys.argv) > 2 else 100
width = 2048
layers = max(1, round(mb * 1e6 / (width * width * 4)))
rng = np.random.default_rng(0)
nodes, inits = [], []
prev = "input"
for i in range(layers):
    w = (rng.standard_normal((width, width), dtype=np.float32) * 0.02)
    b = np.zeros(width, np.float32)
    inits += [numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(b, f"b{i}")]
    y = "output" if i == layers - 1 else f"h{i}"
    nodes.append(helper.make_node("Gemm", [prev, f"w{i}", f"b{i}"], [f"g{i}" if i < layers - 1 else y], name=f"fc{i}"))
    if i < layers - 1:
        nodes.append(helper.make_node("Relu", [f"g{i}"], [y], name=f"relu{i}"))
    prev = y
g = helper.make_graph(nodes, "big_mlp",
                      [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", width])],
                      [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", width])], inits)
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="ecc-bench")
onnx.save(m, out)
