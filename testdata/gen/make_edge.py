#!/usr/bin/python3
"""Hand-built ONNX edge-case models (valid, but unusual) for loader/writer/interpreter tests.

    /usr/bin/python3 testdata/gen/make_edge.py

Writes testdata/edge/*.onnx and testdata/edge/external/{model.onnx,weights.bin}.
Fully deterministic: fixed seeds, no timestamps; two runs give byte-identical files.
Uses only onnx 1.12 + numpy (Debian's python3-onnx); INT4 / opset 21 / IR 10 are built by
hand because onnx 1.12 predates them.
"""
import os
import struct

import numpy as np
import onnx
from onnx import AttributeProto, TensorProto, helper

HERE = os.path.dirname(os.path.abspath(__file__))
EDGE = os.path.join(os.path.dirname(HERE), "edge")

FLOAT = TensorProto.FLOAT
INT4 = 22  # TensorProto.INT4 (onnx >= 1.16); unknown to onnx 1.12


def rng(seed):
    return np.random.RandomState(seed)


def raw_tensor(name, arr, dtype=FLOAT):
    """TensorProto with little-endian raw_data."""
    t = TensorProto()
    t.name = name
    t.data_type = dtype
    t.dims.extend(arr.shape)
    t.raw_data = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<")).tobytes()
    return t


def weights(r, *shape, scale=None):
    fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else shape[0]
    s = scale if scale is not None else 1.0 / np.sqrt(fan_in)
    return (r.uniform(-1, 1, size=shape) * s).astype(np.float32)


def fmnist_io(batch="N"):
    inp = helper.make_tensor_value_info("input", FLOAT, [batch, 1, 28, 28])
    out = helper.make_tensor_value_info("logits", FLOAT, [batch, 10])
    return inp, out


def opset(version, domain=""):
    return helper.make_operatorsetid(domain, version)


def save(model, relpath, check=True):
    path = os.path.join(EDGE, relpath)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if check:
        onnx.checker.check_model(model, full_check=True)
    with open(path, "wb") as f:
        f.write(model.SerializeToString())
    print("wrote %s (%d bytes)" % (os.path.relpath(path, os.path.dirname(EDGE)), os.path.getsize(path)))
    return path


# --------------------------------------------------------------------------- const_weights
def make_const_weights():
    """Conv+Relu+Flatten+Gemm whose weights are Constant nodes, not initializers (opset 11)."""
    r = rng(11)
    w = weights(r, 4, 1, 3, 3)
    b = weights(r, 4, scale=0.1)
    fw = weights(r, 10, 4 * 13 * 13)
    fb = weights(r, 10, scale=0.1)
    nodes = [
        helper.make_node("Constant", [], ["conv.w"], value=raw_tensor("conv.w", w)),
        helper.make_node("Constant", [], ["conv.b"], value=raw_tensor("conv.b", b)),
        helper.make_node("Conv", ["input", "conv.w", "conv.b"], ["conv"], kernel_shape=[3, 3],
                         strides=[2, 2], name="conv"),                # [N,4,13,13]
        helper.make_node("Relu", ["conv"], ["relu"], name="relu"),
        helper.make_node("Flatten", ["relu"], ["flat"], axis=1, name="flatten"),
        # the fc weight Constant is placed late (still before its consumer) on purpose
        helper.make_node("Constant", [], ["fc.w"], value=raw_tensor("fc.w", fw)),
        # typed-field constant (float_data) for variety
        helper.make_node("Constant", [], ["fc.b"],
                         value=helper.make_tensor("fc.b", FLOAT, [10], fb.tolist())),
        helper.make_node("Gemm", ["flat", "fc.w", "fc.b"], ["logits"], transB=1, name="fc"),
    ]
    inp, out = fmnist_io()
    g = helper.make_graph(nodes, "const_weights", [inp], [out])
    m = helper.make_model(g, opset_imports=[opset(11)], ir_version=6,
                          producer_name="ecc-testdata")
    save(m, "const_weights.onnx")


# --------------------------------------------------------------------------- opset9
def make_opset9():
    """Opset-9 model: Conv, BatchNormalization (v9 form), Relu, Flatten, Gemm, Reshape, Softmax.

    IR 4. Initializers are also listed as graph inputs, as pre-IR-4 exporters did.
    Softmax(axis=1) is applied to a [N,2,5] tensor: with pre-13 semantics the input is
    coerced to [N, 10] and normalised over all 10 values (opset-13 semantics would
    normalise over the axis of size 2 only)."""
    r = rng(9)
    inits = [
        raw_tensor("conv.w", weights(r, 8, 1, 3, 3)),
        raw_tensor("conv.b", weights(r, 8, scale=0.1)),
        raw_tensor("bn.scale", (1.0 + 0.1 * r.randn(8)).astype(np.float32)),
        raw_tensor("bn.bias", (0.1 * r.randn(8)).astype(np.float32)),
        raw_tensor("bn.mean", (0.1 * r.randn(8)).astype(np.float32)),
        raw_tensor("bn.var", (0.5 + r.rand(8)).astype(np.float32)),
        raw_tensor("fc.w", weights(r, 8 * 7 * 7, 10)),       # Gemm without transB
        raw_tensor("fc.b", weights(r, 10, scale=0.1)),
        raw_tensor("shape", np.array([-1, 2, 5], dtype=np.int64), TensorProto.INT64),
    ]
    nodes = [
        helper.make_node("Conv", ["input", "conv.w", "conv.b"], ["conv"], kernel_shape=[3, 3],
                         pads=[1, 1, 1, 1], strides=[4, 4], name="conv"),   # [N,8,7,7]
        helper.make_node("BatchNormalization",
                         ["conv", "bn.scale", "bn.bias", "bn.mean", "bn.var"], ["bn"],
                         epsilon=1e-5, momentum=0.9, name="bn"),
        helper.make_node("Relu", ["bn"], ["relu"], name="relu"),
        helper.make_node("Flatten", ["relu"], ["flat"], name="flatten"),  # default axis=1
        helper.make_node("Gemm", ["flat", "fc.w", "fc.b"], ["logits"], alpha=1.0, beta=1.0,
                         name="fc"),
        helper.make_node("Reshape", ["logits", "shape"], ["grouped"], name="reshape"),
        helper.make_node("Softmax", ["grouped"], ["probs"], axis=1, name="softmax"),
    ]
    inp, out = fmnist_io()
    init_inputs = [helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)) for t in inits]
    probs = helper.make_tensor_value_info("probs", FLOAT, ["N", 2, 5])
    g = helper.make_graph(nodes, "opset9", [inp] + init_inputs, [out, probs], initializer=inits)
    m = helper.make_model(g, opset_imports=[opset(9)], ir_version=4, producer_name="ecc-testdata")
    save(m, "opset9.onnx")


# --------------------------------------------------------------------------- opset21_int4
def pack_int4(values):
    """Signed 4-bit values in [-8, 7] -> bytes, two per byte, low nibble = element 2i."""
    v = np.asarray(values, dtype=np.int64).reshape(-1)
    assert v.min() >= -8 and v.max() <= 7
    nib = (v & 0xF).astype(np.uint8)
    if nib.size % 2:
        nib = np.concatenate([nib, np.zeros(1, np.uint8)])
    return (nib[0::2] | (nib[1::2] << 4)).tobytes()


def int4_tensor(name, q):
    t = TensorProto()
    t.name = name
    t.data_type = INT4
    t.dims.extend(q.shape)
    t.raw_data = pack_int4(q)
    return t


def make_opset21_int4():
    """Flatten -> MatMul(float W0) -> Add -> Relu -> MatMul(DequantizeLinear(INT4 W1)) -> Add.

    W1 is int4 [64,10] with blocked quantization along axis 0, block_size 32: scale and
    zero point are [2,10] (zero point also int4).  Expected dequantized values are
    (q - zp) * scale with q/zp/scale exactly as stored (also saved in the README)."""
    r = rng(21)
    w0 = weights(r, 784, 64)
    b0 = weights(r, 64, scale=0.1)
    w1 = weights(r, 64, 10)
    b1 = weights(r, 10, scale=0.1)
    block = 32
    wb = w1.reshape(2, block, 10)
    lo, hi = wb.min(axis=1), wb.max(axis=1)                      # [2,10]
    scale = ((hi - lo) / 15.0).astype(np.float32)
    scale[scale == 0] = 1.0
    zp = np.clip(np.round(-8 - lo / scale), -8, 7).astype(np.int64)  # [2,10]
    q = np.clip(np.round(wb / scale[:, None, :]) + zp[:, None, :], -8, 7).astype(np.int64)
    q = q.reshape(64, 10)
    inits = [
        raw_tensor("fc0.w", w0),
        raw_tensor("fc0.b", b0),
        int4_tensor("fc1.w_q", q),
        raw_tensor("fc1.w_scale", scale),
        int4_tensor("fc1.w_zp", zp),
        raw_tensor("fc1.b", b1),
        raw_tensor("flat_shape", np.array([-1, 784], dtype=np.int64), TensorProto.INT64),
    ]
    nodes = [
        helper.make_node("Reshape", ["input", "flat_shape"], ["flat"], name="flatten"),
        helper.make_node("MatMul", ["flat", "fc0.w"], ["mm0"], name="fc0"),
        helper.make_node("Add", ["mm0", "fc0.b"], ["fc0"], name="fc0_bias"),
        helper.make_node("Relu", ["fc0"], ["relu0"], name="relu0"),
        helper.make_node("DequantizeLinear", ["fc1.w_q", "fc1.w_scale", "fc1.w_zp"], ["fc1.w"],
                         axis=0, block_size=block, name="dq_fc1"),
        helper.make_node("MatMul", ["relu0", "fc1.w"], ["mm1"], name="fc1"),
        helper.make_node("Add", ["mm1", "fc1.b"], ["logits"], name="fc1_bias"),
    ]
    inp, out = fmnist_io()
    g = helper.make_graph(nodes, "opset21_int4", [inp], [out], initializer=inits)
    m = helper.make_model(g, opset_imports=[opset(21)], producer_name="ecc-testdata")
    m.ir_version = 10
    # onnx 1.12's checker knows neither INT4 nor opset 21: no check_model here.
    save(m, "opset21_int4.onnx", check=False)
    # sanity: the file parses with onnx 1.12 and keeps data_type 22
    m2 = onnx.load(os.path.join(EDGE, "opset21_int4.onnx"))
    assert m2.graph.initializer[2].data_type == INT4 and len(m2.graph.initializer[2].raw_data) == 320
    deq = ((q.reshape(2, block, 10) - zp[:, None, :]) * scale[:, None, :]).reshape(64, 10)
    assert np.abs(deq - w1).max() <= scale.max() * 0.5 + 1e-6


# --------------------------------------------------------------------------- dynamic_batch
def make_dynamic_batch():
    """Symbolic batch "batch"; Reshape target computed with Shape/Gather/Unsqueeze/Concat;
    value_info entries with a symbolic and an unknown dim; Clip with an empty optional input."""
    r = rng(13)
    inits = [
        raw_tensor("fc.w", weights(r, 784, 10)),
        raw_tensor("fc.b", weights(r, 10, scale=0.1)),
        raw_tensor("zero", np.array(0, dtype=np.int64), TensorProto.INT64),  # scalar
        raw_tensor("axes0", np.array([0], dtype=np.int64), TensorProto.INT64),
        raw_tensor("feat", np.array([784], dtype=np.int64), TensorProto.INT64),
        raw_tensor("clip_max", np.array(6.0, dtype=np.float32)),
    ]
    nodes = [
        helper.make_node("Shape", ["input"], ["in_shape"], name="shape"),
        helper.make_node("Gather", ["in_shape", "zero"], ["n"], axis=0, name="gather_batch"),
        helper.make_node("Unsqueeze", ["n", "axes0"], ["n1"], name="unsqueeze"),
        helper.make_node("Concat", ["n1", "feat"], ["flat_shape"], axis=0, name="concat"),
        helper.make_node("Reshape", ["input", "flat_shape"], ["flat"], name="reshape"),
        helper.make_node("MatMul", ["flat", "fc.w"], ["mm"], name="fc"),
        helper.make_node("Add", ["mm", "fc.b"], ["pre"], name="fc_bias"),
        # empty optional input: min omitted, max given
        helper.make_node("Clip", ["pre", "", "clip_max"], ["logits"], name="clip"),
    ]
    inp, out = fmnist_io("batch")
    vi = [
        helper.make_tensor_value_info("flat", FLOAT, ["batch", 784]),
        helper.make_tensor_value_info("flat_shape", TensorProto.INT64, [2]),
        helper.make_tensor_value_info("pre", FLOAT, ["batch", None]),  # unknown 2nd dim
    ]
    g = helper.make_graph(nodes, "dynamic_batch", [inp], [out], initializer=inits, value_info=vi)
    m = helper.make_model(g, opset_imports=[opset(13)], ir_version=7, producer_name="ecc-testdata")
    save(m, "dynamic_batch.onnx")


# --------------------------------------------------------------------------- typed_fields
def f16_bits(vals):
    return np.asarray(vals, dtype=np.float16).view(np.uint16).astype(np.int32).tolist()


def bf16_bits(vals):
    u32 = np.asarray(vals, dtype=np.float32).view(np.uint32)
    return (u32 >> 16).astype(np.int32).tolist()  # truncation (round toward zero)


def make_typed_fields():
    """Round-trip torture model: typed-field initializers, every attribute kind, custom domain,
    doc strings, metadata, If with subgraphs that capture outer-scope values."""
    T = TensorProto
    inits = []

    def typed(name, dtype, dims, field, vals, doc=None):
        t = T()
        t.name = name
        t.data_type = dtype
        t.dims.extend(dims)
        getattr(t, field).extend(vals)
        if doc:
            t.doc_string = doc
        inits.append(t)
        return t

    typed("w_float", T.FLOAT, [2, 3], "float_data", [0.5, -1.25, 3.0, 1e-8, -0.0, 65504.0],
          doc="float via float_data")
    typed("w_int64", T.INT64, [3], "int64_data", [-(2 ** 63), 0, 2 ** 63 - 1])
    typed("w_int32", T.INT32, [2, 2], "int32_data", [-(2 ** 31), -1, 0, 2 ** 31 - 1])
    typed("w_int8", T.INT8, [4], "int32_data", [-128, -1, 0, 127])
    typed("w_uint8", T.UINT8, [3], "int32_data", [0, 128, 255])
    typed("w_bool", T.BOOL, [3], "int32_data", [1, 0, 1])
    typed("w_float16", T.FLOAT16, [2, 3], "int32_data",
          f16_bits([1.0, -2.0, 0.5, 65504.0, 6.1035156e-05, 0.0]), doc="fp16 bit patterns")
    typed("w_bfloat16", T.BFLOAT16, [4], "int32_data",
          bf16_bits([1.0, -2.0, 3.140625, 1e30]), doc="bf16 bit patterns")
    typed("w_double", T.DOUBLE, [2], "double_data", [3.141592653589793, -1e-300])
    typed("w_uint64", T.UINT64, [2], "uint64_data", [0, 2 ** 64 - 1])
    typed("w_uint32", T.UINT32, [2], "uint64_data", [0, 2 ** 32 - 1])
    typed("w_string", T.STRING, [3], "string_data",
          [b"hello", "h\u00e9llo \u2603".encode("utf-8"), b""], doc="strings incl. UTF-8 and empty")
    typed("w_scalar", T.FLOAT, [], "float_data", [42.0])
    typed("w_empty", T.FLOAT, [0, 3], "float_data", [])

    # ---- attributes of every kind on a custom-domain node
    def attr(name, atype, **fields):
        a = AttributeProto()
        a.name = name
        a.type = atype
        for k, v in fields.items():
            cur = getattr(a, k)
            if isinstance(v, list):
                cur.extend(v)
            elif hasattr(cur, "CopyFrom"):
                cur.CopyFrom(v)
            else:
                setattr(a, k, v)
        return a

    A = AttributeProto
    t_attr = helper.make_tensor("t", T.INT32, [3], [1, 2, 3])
    sub_attr = helper.make_graph(
        [helper.make_node("Neg", ["sx"], ["sy"], name="neg_in_attr")], "attr_graph",
        [helper.make_tensor_value_info("sx", T.FLOAT, [None])],
        [helper.make_tensor_value_info("sy", T.FLOAT, [None])])
    sp = onnx.SparseTensorProto()
    sp.values.CopyFrom(helper.make_tensor("sp_values", T.FLOAT, [2], [1.5, -2.5]))
    sp.indices.CopyFrom(helper.make_tensor("sp_indices", T.INT64, [2], [1, 4]))
    sp.dims.extend([6])
    tp = helper.make_tensor_type_proto(T.FLOAT, ["d0", 4])
    tp2 = helper.make_tensor_type_proto(T.INT64, [])
    myop_attrs = [
        attr("a_float", A.FLOAT, f=0.25),
        attr("a_int", A.INT, i=-7),
        attr("a_string", A.STRING, s="h\u00e9llo".encode("utf-8")),
        attr("a_tensor", A.TENSOR, t=t_attr),
        attr("a_graph", A.GRAPH, g=sub_attr),
        attr("a_sparse", A.SPARSE_TENSOR, sparse_tensor=sp),
        attr("a_type", A.TYPE_PROTO, tp=tp),
        attr("a_floats", A.FLOATS, floats=[1.0, -0.5, 1e-3]),
        attr("a_ints", A.INTS, ints=[0, -1, 2 ** 62]),
        attr("a_strings", A.STRINGS, strings=[b"a", b"", b"ccc"]),
        attr("a_tensors", A.TENSORS, tensors=[helper.make_tensor("t0", T.FLOAT, [1], [1.0]),
                                              helper.make_tensor("t1", T.INT64, [2], [5, 6])]),
        attr("a_graphs", A.GRAPHS, graphs=[sub_attr]),
        attr("a_sparses", A.SPARSE_TENSORS, sparse_tensors=[sp]),
        attr("a_types", A.TYPE_PROTOS, type_protos=[tp, tp2]),
        attr("a_empty_ints", A.INTS),
    ]
    myop_attrs[0].doc_string = "attribute doc string"
    myop = helper.make_node(
        "MyOp",
        ["x", "w_float", "w_int64", "w_int32", "w_int8", "w_uint8", "w_bool", "w_float16",
         "w_bfloat16", "w_double", "w_uint64", "w_uint32", "w_string", "w_scalar", "w_empty"],
        ["y", "aux"], name="my_op", domain="com.example", doc_string="a custom-domain node")
    myop.attribute.extend(myop_attrs)

    # ---- If: then/else subgraphs capture outer-scope `y`; each has its own initializer
    then_g = helper.make_graph(
        [helper.make_node("Add", ["y", "one"], ["then_out"], name="then_add")],
        "then_branch", [], [helper.make_tensor_value_info("then_out", T.FLOAT, [2, 3])],
        initializer=[helper.make_tensor("one", T.FLOAT, [], [1.0])], doc_string="then doc")
    else_g = helper.make_graph(
        [helper.make_node("Mul", ["y", "two"], ["else_out"], name="else_mul")],
        "else_branch", [], [helper.make_tensor_value_info("else_out", T.FLOAT, [2, 3])],
        initializer=[helper.make_tensor("two", T.FLOAT, [], [2.0])])
    if_node = helper.make_node("If", ["cond"], ["out"], name="if",
                               then_branch=then_g, else_branch=else_g,
                               doc_string="If with two subgraphs")
    g = helper.make_graph(
        [myop, if_node], "typed_fields",
        [helper.make_tensor_value_info("x", T.FLOAT, [2, 3]),
         helper.make_tensor_value_info("cond", T.BOOL, [])],
        [helper.make_tensor_value_info("out", T.FLOAT, [2, 3]),
         helper.make_tensor_value_info("aux", T.FLOAT, [None])],
        initializer=inits, doc_string="graph doc string",
        value_info=[helper.make_tensor_value_info("y", T.FLOAT, [2, 3])])
    m = helper.make_model(
        g, opset_imports=[opset(13), opset(1, "com.example")], ir_version=8,
        producer_name="ecc-testdata", producer_version="1.0", domain="org.ecc.test",
        model_version=3, doc_string="model doc string")
    helper.set_model_props(m, {"author": "ecc", "license": "CC0", "k\u00e9y": "v\u00e4lue"})
    # the checker does not know com.example::MyOp; validate everything else by hand
    try:
        onnx.checker.check_model(m)
        print("  (checker accepted typed_fields)")
    except onnx.checker.ValidationError as e:
        print("  (checker, expected for custom op: %s)" % str(e).splitlines()[0])
    save(m, "typed_fields.onnx", check=False)
    m2 = onnx.load(os.path.join(EDGE, "typed_fields.onnx"))
    assert m2 == m
    assert len(m2.graph.node[0].attribute) == len(myop_attrs)


# --------------------------------------------------------------------------- external
def make_external():
    """Flatten -> Gemm with both weights in external/weights.bin at 4096-aligned offsets."""
    r = rng(17)
    w = weights(r, 10, 784)
    b = weights(r, 10, scale=0.1)
    align = 4096
    blobs = [("fc.w", w), ("fc.b", b)]
    data = b""
    inits = []
    for name, arr in blobs:
        pad = (-len(data)) % align
        data += b"\0" * pad
        off = len(data)
        raw = arr.astype("<f4").tobytes()
        data += raw
        t = TensorProto()
        t.name = name
        t.data_type = FLOAT
        t.dims.extend(arr.shape)
        t.data_location = TensorProto.EXTERNAL
        for k, v in (("location", "weights.bin"), ("offset", str(off)), ("length", str(len(raw)))):
            e = t.external_data.add()
            e.key, e.value = k, v
        inits.append(t)
    nodes = [
        helper.make_node("Flatten", ["input"], ["flat"], axis=1, name="flatten"),
        helper.make_node("Gemm", ["flat", "fc.w", "fc.b"], ["logits"], transB=1, name="fc"),
    ]
    inp, out = fmnist_io()
    g = helper.make_graph(nodes, "external", [inp], [out], initializer=inits)
    m = helper.make_model(g, opset_imports=[opset(13)], ir_version=8, producer_name="ecc-testdata")
    d = os.path.join(EDGE, "external")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "weights.bin"), "wb") as f:
        f.write(data)
    path = save(m, "external/model.onnx", check=False)
    onnx.checker.check_model(path)  # path form: checks the external file is reachable
    m2 = onnx.load(path)  # loads external data
    got = np.frombuffer(m2.graph.initializer[0].raw_data, "<f4").reshape(10, 784)
    assert np.array_equal(got, w)
    print("  external/weights.bin: %d bytes, offsets %s" % (
        len(data), [t.external_data[1].value for t in inits]))


# --------------------------------------------------------------------------- empty_layers
def make_empty_layers():
    """Weight layers with no weights: a Conv with 0 output channels feeds, through
    Flatten ([N, 0]), a Gemm whose weight is [0, 10] (so it adds only its bias), and a
    MatMul weight [10, 0] makes an empty branch that is summed away by ReduceSum.
    Beside them a real Gemm over the pixels. Valid ONNX that runs; every pass must
    leave the empty layers alone rather than divide by their sizes."""
    r = rng(13)
    inits = [
        raw_tensor("empty_conv.w", np.zeros((0, 1, 3, 3), np.float32)),
        raw_tensor("empty_fc.w", np.zeros((0, 10), np.float32)),
        raw_tensor("empty_fc.b", weights(r, 10, scale=0.1)),
        raw_tensor("fc.w", weights(r, 784, 10)),
        raw_tensor("fc.b", weights(r, 10, scale=0.1)),
        raw_tensor("empty_mm.w", np.zeros((10, 0), np.float32)),
        raw_tensor("axes", np.array([1], dtype=np.int64), TensorProto.INT64),
    ]
    nodes = [
        helper.make_node("Conv", ["input", "empty_conv.w"], ["e"], kernel_shape=[3, 3],
                         pads=[1, 1, 1, 1], name="empty_conv"),             # [N,0,28,28]
        helper.make_node("Flatten", ["e"], ["e_flat"], name="e_flatten"),   # [N,0]
        helper.make_node("Gemm", ["e_flat", "empty_fc.w", "empty_fc.b"], ["g"],
                         name="empty_fc"),                                  # [N,10] = bias
        helper.make_node("Flatten", ["input"], ["x"], name="flatten"),
        helper.make_node("Gemm", ["x", "fc.w", "fc.b"], ["h"], name="fc"),
        helper.make_node("MatMul", ["h", "empty_mm.w"], ["z"], name="empty_mm"),  # [N,0]
        helper.make_node("ReduceSum", ["z", "axes"], ["zs"], keepdims=1,
                         name="sum"),                                       # [N,1] zeros
        helper.make_node("Add", ["g", "h"], ["gh"], name="add"),
        helper.make_node("Add", ["gh", "zs"], ["logits"], name="add_zero"),
    ]
    inp, out = fmnist_io()
    g = helper.make_graph(nodes, "empty_layers", [inp], [out], initializer=inits)
    m = helper.make_model(g, opset_imports=[opset(13)], ir_version=7, producer_name="ecc-testdata")
    save(m, "empty_layers.onnx")


def make_nonfinite_weights():
    """A valid model whose weights are not all finite: Flatten → Gemm fc1 (784→16, two
    NaNs in its weight, the first at [3,100]) → Relu → Gemm fc2 (16→10, -inf in its bias
    at [4]). It loads and runs; the lossy passes must refuse it with a message naming the
    tensor and the first bad element instead of computing scales, rankings or codebooks
    from NaN."""
    r = rng(17)
    w1 = weights(r, 16, 784)
    w1[3, 100] = np.nan
    w1[9, 5] = np.nan
    b2 = weights(r, 10, scale=0.1)
    b2[4] = -np.inf
    inits = [
        raw_tensor("fc1.w", w1),
        raw_tensor("fc1.b", weights(r, 16, scale=0.1)),
        raw_tensor("fc2.w", weights(r, 10, 16)),
        raw_tensor("fc2.b", b2),
    ]
    nodes = [
        helper.make_node("Flatten", ["input"], ["x"], name="flatten"),
        helper.make_node("Gemm", ["x", "fc1.w", "fc1.b"], ["h"], transB=1, name="fc1"),
        helper.make_node("Relu", ["h"], ["a"], name="relu"),
        helper.make_node("Gemm", ["a", "fc2.w", "fc2.b"], ["logits"], transB=1, name="fc2"),
    ]
    inp, out = fmnist_io()
    g = helper.make_graph(nodes, "nonfinite_weights", [inp], [out], initializer=inits)
    m = helper.make_model(g, opset_imports=[opset(13)], ir_version=7, producer_name="ecc-testdata")
    save(m, "nonfinite_weights.onnx")


def main():
    os.makedirs(EDGE, exist_ok=True)
    make_const_weights()
    make_opset9()
    make_opset21_int4()
    make_dynamic_batch()
    make_typed_fields()
    make_external()
    make_empty_layers()
    make_nonfinite_weights()


if __name__ == "__main__":
    main()
