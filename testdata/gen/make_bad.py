#!/usr/bin/python3
"""Generate testdata/bad/: hostile inputs that a correct ONNX loader must REJECT.

    /usr/bin/python3 testdata/gen/make_bad.py

Every `testdata/bad/*.onnx` entry (file or directory) is one case; `ecc` is expected to
exit 2 with a one-line message naming the problem and to write no output.  Side files
that are not cases do not end in `.onnx`:
    valid_base.pb   the small VALID model most cases are derived from (a control: it must load)
    ext_small.bin   a 64-byte external-data file
    ext_link.bin    a symlink to /etc/hostname (escapes the model directory)
The generator also writes testdata/bad/README.md (the table of cases) from the CASES list
below, so the two never disagree.  Deterministic: two runs give byte-identical output.
"""
import os
import shutil
import warnings

import numpy as np
import onnx
from google.protobuf.message import DecodeError
from onnx import TensorProto, helper

HERE = os.path.dirname(os.path.abspath(__file__))
BAD = os.path.join(os.path.dirname(HERE), "bad")

CASES = []  # (file, what is wrong, what the loader should say)


# --------------------------------------------------------------------------- wire helpers
def varint(n):
    if n < 0:
        n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def key(field, wt):
    return varint((field << 3) | wt)


def f_varint(field, n):
    return key(field, 0) + varint(n)


def f_bytes(field, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return key(field, 2) + varint(len(data)) + data


# --------------------------------------------------------------------------- base model
def base_model():
    """input [N,1,28,28] -> MaxPool 4x4/4 -> Flatten -> Gemm(fc.w [10,49], fc.b) ->
    Mul(Cast(scale_u8 [1] uint8)) -> logits [N,10].  ~2.2 KB, opset 13."""
    r = np.random.RandomState(7)
    w = (r.uniform(-1, 1, (10, 49)) / 7).astype(np.float32)
    b = (r.uniform(-1, 1, 10) / 10).astype(np.float32)
    inits = [
        helper.make_tensor("fc.w", TensorProto.FLOAT, [10, 49], w.tobytes(), raw=True),
        helper.make_tensor("fc.b", TensorProto.FLOAT, [10], b.tobytes(), raw=True),
        helper.make_tensor("scale_u8", TensorProto.UINT8, [1], b"\x02", raw=True),
    ]
    nodes = [
        helper.make_node("MaxPool", ["input"], ["pool"], kernel_shape=[4, 4], strides=[4, 4],
                         name="pool"),
        helper.make_node("Flatten", ["pool"], ["flat"], axis=1, name="flatten"),
        helper.make_node("Gemm", ["flat", "fc.w", "fc.b"], ["gemm"], transB=1, name="fc"),
        helper.make_node("Cast", ["scale_u8"], ["scale"], to=TensorProto.FLOAT, name="cast"),
        helper.make_node("Mul", ["gemm", "scale"], ["logits"], name="mul"),
    ]
    g = helper.make_graph(
        nodes, "bad_base",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 1, 28, 28])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])],
        initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_operatorsetid("", 13)], ir_version=8,
                          producer_name="ecc-testdata")
    onnx.checker.check_model(m, full_check=True)
    return m


def copy(m):
    c = onnx.ModelProto()
    c.CopyFrom(m)
    return c


def init(m, name):
    for t in m.graph.initializer:
        if t.name == name:
            return t
    raise KeyError(name)


def node(m, name):
    for n in m.graph.node:
        if n.name == name:
            return n
    raise KeyError(name)


# --------------------------------------------------------------------------- writing
def write(name, data, what, expect):
    assert name.endswith(".onnx") and all(c[0] != name for c in CASES), name
    with open(os.path.join(BAD, name), "wb") as f:
        f.write(data)
    CASES.append((name, what, expect))


def write_model(name, m, what, expect):
    write(name, m.SerializeToString(), what, expect)


def parses(data):
    m = onnx.ModelProto()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError):
        return None
    return m


# --------------------------------------------------------------------------- cases
def truncations(base_bytes):
    n = len(base_bytes)
    offsets = [1, 2, 7, 16, 100, n // 4, n // 2, (3 * n) // 4, n - 8, n - 2, n - 1]
    for k in sorted(set(offsets)):
        data = base_bytes[:k]
        pm = parses(data)
        # Either protobuf decoding fails, or the prefix is a complete message without a graph.
        assert pm is None or not pm.HasField("graph"), k
        if pm is None:
            expect = "truncated / malformed protobuf (unexpected end of data)"
        else:
            expect = "model has no graph (the prefix happens to end on a field boundary)"
        write("truncated_at_%d.onnx" % k, data,
              "valid_base.pb (%d bytes) cut after %d bytes" % (n, k), expect)


def random_files():
    for seed, size in ((1, 256), (2, 4096)):
        data = np.random.RandomState(seed).bytes(size)
        assert parses(data) is None
        write("random_%d_bytes.onnx" % size, data,
              "%d random bytes (numpy RandomState(%d))" % (size, seed), "malformed protobuf")


def wire_cases(m):
    """Hand-encoded ModelProtos whose fields use wrong wire types or broken encodings."""
    graph = m.graph.SerializeToString()
    opset = f_bytes(1, "") + f_varint(2, 13)
    good_tail = f_bytes(7, graph) + f_bytes(8, opset)
    write("wire_graph_as_varint.onnx",
          f_varint(1, 8) + f_varint(7, 5) + f_bytes(8, opset),
          "ModelProto.graph (field 7, a message) encoded as a varint",
          "wrong wire type for ModelProto.graph")
    write("wire_ir_version_as_bytes.onnx",
          f_bytes(1, b"\x08") + good_tail,
          "ModelProto.ir_version (field 1, int64) encoded as length-delimited",
          "wrong wire type for ModelProto.ir_version")
    write("wire_dims_as_fixed64.onnx",
          f_varint(1, 8) + f_bytes(7, wire_graph_with_bad_dims(m)) + f_bytes(8, opset),
          "TensorProto.dims of an initializer encoded as fixed64 (wire type 1)",
          "wrong wire type for TensorProto.dims")
    write("varint_overlong.onnx",
          key(1, 0) + b"\xff" * 10 + b"\x01" + good_tail,
          "ir_version varint is 11 bytes long (max is 10)", "malformed varint")
    write("length_huge.onnx",
          f_varint(1, 8) + key(7, 2) + varint(1 << 62) + graph + f_bytes(8, opset),
          "graph length prefix is 2^62, far past the end of the file",
          "length exceeds the remaining input (truncated)")
    write("field_number_zero.onnx",
          f_varint(1, 8) + key(0, 0) + varint(1) + good_tail,
          "a field with number 0 (invalid in protobuf)", "malformed protobuf (field number 0)")
    write("wire_type_7.onnx",
          f_varint(1, 8) + key(20, 7) + b"\x00" * 8 + good_tail,
          "a field with wire type 7 (undefined)", "malformed protobuf (invalid wire type)")
    write("wire_group_unterminated.onnx",
          f_varint(1, 8) + good_tail + key(21, 3) + f_varint(1, 1),
          "a deprecated start-group (wire type 3) with no matching end-group",
          "malformed protobuf (unterminated group / unsupported wire type)")
    write("graph_length_past_model.onnx",
          f_varint(1, 8) + f_bytes(8, opset) + key(7, 2) + varint(len(graph) + 1) + graph,
          "graph length prefix is one byte longer than the data that follows",
          "truncated protobuf")
    write("nested_length_inconsistent.onnx",
          f_varint(1, 8) + f_bytes(8, opset) + key(7, 2) + varint(len(graph)) +
          graph_with_overlong_node(m),
          "a NodeProto's length prefix runs past the end of its enclosing GraphProto",
          "malformed protobuf (sub-message overruns its parent)")
    for name in ("wire_graph_as_varint.onnx", "varint_overlong.onnx", "length_huge.onnx",
                 "field_number_zero.onnx", "wire_type_7.onnx", "wire_group_unterminated.onnx",
                 "graph_length_past_model.onnx", "nested_length_inconsistent.onnx"):
        with open(os.path.join(BAD, name), "rb") as f:
            pm = parses(f.read())
        assert pm is None or not pm.HasField("graph"), name


def wire_graph_with_bad_dims(m):
    g = onnx.GraphProto()
    g.CopyFrom(m.graph)
    t = g.initializer[0]
    dims = list(t.dims)
    del t.dims[:]
    body = b"".join(key(1, 1) + d.to_bytes(8, "little") for d in dims) + \
        t.SerializeToString()
    del g.initializer[0]
    return g.SerializeToString() + f_bytes(5, body)


def graph_with_overlong_node(m):
    """Re-encode the graph with its first node's length prefix enlarged by 64 bytes
    (the outer graph length still says the original size)."""
    out = b""
    for i, n in enumerate(m.graph.node):
        nb = n.SerializeToString()
        out += key(1, 2) + varint(len(nb) + (64 if i == 0 else 0)) + nb
    g = onnx.GraphProto()
    g.CopyFrom(m.graph)
    del g.node[:]
    rest = g.SerializeToString()
    data = out + rest
    return data


def tensor_cases(base):
    m = copy(base)
    t = init(m, "fc.w")
    del t.dims[:]
    t.dims.extend([-10, -49])
    write_model("dims_negative.onnx", m,
                "initializer fc.w has dims [-10, -49] (product 490 matches the 1960-byte raw_data)",
                "negative dimension in tensor fc.w")

    m = copy(base)
    t = init(m, "fc.w")
    del t.dims[:]
    t.dims.extend([1 << 40, 1 << 40])
    t.raw_data = b""
    write_model("dims_overflow.onnx", m,
                "initializer fc.w has dims [2^40, 2^40] and empty raw_data (element count "
                "overflows int64; a wrapping 64-bit product is 0, matching the empty data)",
                "tensor fc.w size overflows")

    m = copy(base)
    t = init(m, "fc.w")
    del t.dims[:]
    t.dims.extend([1 << 62])
    t.raw_data = b""
    write_model("dims_bytes_overflow.onnx", m,
                "fc.w float dims [2^62] and empty raw_data: the element count fits int64 but "
                "x4 bytes does not (wraps to 0 in 64 bits, matching the empty data)",
                "tensor fc.w size overflows")

    m = copy(base)
    t = init(m, "fc.w")
    t.raw_data = t.raw_data[:-4]
    write_model("raw_data_short.onnx", m, "fc.w raw_data is 1956 bytes, dims [10,49] need 1960",
                "raw_data size mismatch for tensor fc.w (expected 1960 bytes, got 1956)")

    m = copy(base)
    t = init(m, "fc.w")
    t.raw_data = t.raw_data + b"\0\0\0\0"
    write_model("raw_data_long.onnx", m, "fc.w raw_data is 1964 bytes, dims [10,49] need 1960",
                "raw_data size mismatch for tensor fc.w (expected 1960 bytes, got 1964)")

    m = copy(base)
    t = init(m, "fc.w")
    t.ClearField("raw_data")
    t.float_data.extend([0.5] * 7)
    write_model("float_data_count.onnx", m, "fc.w stored in float_data with 7 values, dims [10,49]",
                "float_data has 7 values, tensor fc.w needs 490")

    m = copy(base)
    t = init(m, "fc.b")
    t.float_data.extend([0.0] * 10)
    write_model("raw_and_typed_data.onnx", m, "fc.b has both raw_data and float_data set",
                "tensor fc.b has both raw_data and a typed data field")

    m = copy(base)
    init(m, "fc.b").data_type = 99
    write_model("dtype_unknown_99.onnx", m, "initializer fc.b has data_type 99",
                "unknown data type 99 in tensor fc.b")

    m = copy(base)
    init(m, "fc.b").data_type = TensorProto.UNDEFINED
    write_model("dtype_undefined_0.onnx", m, "initializer fc.b has data_type 0 (UNDEFINED)",
                "undefined data type in tensor fc.b")

    m = copy(base)
    init(m, "fc.b").ClearField("name")
    write_model("initializer_no_name.onnx", m, "an initializer with an empty name",
                "initializer without a name")


def graph_cases(base):
    m = copy(base)
    del m.graph.node[2].input[2]
    node(m, "fc").input.append("no_such_value")
    write_model("undefined_input.onnx", m, "node fc reads `no_such_value`, which nothing defines",
                "node fc: input no_such_value is not defined")

    m = copy(base)
    node(m, "flatten").input[0] = "gemm"  # flatten <- gemm <- flatten
    write_model("cycle.onnx", m, "flatten reads gemm's output and gemm reads flatten's output",
                "graph has a cycle (flatten, fc)")

    m = copy(base)
    node(m, "cast").output[0] = "gemm"
    node(m, "mul").input[1] = "gemm"
    write_model("dup_node_output.onnx", m, "nodes fc and cast both produce `gemm`",
                "value gemm is defined twice")

    m = copy(base)
    t = m.graph.initializer.add()
    t.CopyFrom(helper.make_tensor("flat", TensorProto.FLOAT, [1, 49], [0.0] * 49))
    write_model("dup_initializer_node_output.onnx", m,
                "an initializer named `flat` and node flatten's output `flat`",
                "value flat is defined twice")

    m = copy(base)
    node(m, "flatten").output[0] = "input"
    node(m, "fc").input[0] = "input"
    write_model("dup_input_node_output.onnx", m,
                "node flatten produces `input`, which is also the graph input",
                "value input is defined twice")

    m = copy(base)
    t = m.graph.initializer.add()
    t.CopyFrom(helper.make_tensor("fc.b", TensorProto.FLOAT, [10], [0.0] * 10))
    write_model("dup_initializer.onnx", m, "two initializers named fc.b",
                "value fc.b is defined twice")

    m = copy(base)
    m.graph.output.add().CopyFrom(
        helper.make_tensor_value_info("ghost", TensorProto.FLOAT, ["N", 10]))
    write_model("output_not_produced.onnx", m, "graph output `ghost` is produced by no node",
                "graph output ghost is not produced")

    m = copy(base)
    node(m, "mul").ClearField("op_type")
    write_model("node_no_op_type.onnx", m, "node mul has an empty op_type",
                "node mul has no op_type")

    m = copy(base)
    a = [a for a in node(m, "fc").attribute if a.name == "transB"][0]
    a.type = onnx.AttributeProto.FLOAT  # but the value is in field i
    write_model("attr_type_mismatch.onnx", m,
                "Gemm attribute transB says type FLOAT but carries an int (field i)",
                "attribute transB of node fc: type FLOAT does not match its value")

    m = copy(base)
    m.graph.node.append(helper.make_node(
        "If", ["cond"], ["if_out"], name="if",
        then_branch=helper.make_graph(
            [helper.make_node("Identity", ["nowhere"], ["t"])], "then", [],
            [helper.make_tensor_value_info("t", TensorProto.FLOAT, [1])]),
        else_branch=helper.make_graph(
            [helper.make_node("Identity", ["scale"], ["e"])], "else", [],
            [helper.make_tensor_value_info("e", TensorProto.FLOAT, [1])])))
    m.graph.input.append(helper.make_tensor_value_info("cond", TensorProto.BOOL, []))
    m.graph.output.append(helper.make_tensor_value_info("if_out", TensorProto.FLOAT, [1]))
    write_model("subgraph_undefined_input.onnx", m,
                "If then_branch reads `nowhere`, defined neither in the branch nor outside",
                "node if/then_branch: input nowhere is not defined")

    m = copy(base)
    m.ClearField("graph")
    write_model("no_graph.onnx", m, "a ModelProto with ir_version and opset_import but no graph",
                "model has no graph")


def external_cases(base):
    with open(os.path.join(BAD, "ext_small.bin"), "wb") as f:
        f.write(bytes(range(64)))
    link = os.path.join(BAD, "ext_link.bin")
    if os.path.lexists(link):
        os.remove(link)
    os.symlink("/etc/hostname", link)

    def ext(name, kv, what, expect, tensor="scale_u8"):
        m = copy(base)
        t = init(m, tensor)
        t.ClearField("raw_data")
        t.data_location = TensorProto.EXTERNAL
        for k, v in kv:
            e = t.external_data.add()
            e.key, e.value = k, v
        write_model(name, m, what, expect)

    ext("ext_dotdot.onnx", [("location", "../README.md"), ("offset", "0"), ("length", "1")],
        "scale_u8 external location `../README.md` (exists, outside the model directory)",
        "external data location escapes the model directory")
    ext("ext_absolute.onnx", [("location", "/etc/passwd"), ("offset", "0"), ("length", "1")],
        "scale_u8 external location is the absolute path /etc/passwd",
        "external data location is absolute")
    ext("ext_symlink.onnx", [("location", "ext_link.bin"), ("offset", "0"), ("length", "1")],
        "scale_u8 external location ext_link.bin, a symlink to /etc/hostname",
        "external data location escapes the model directory (symlink)")
    ext("ext_directory.onnx", [("location", "a_directory.onnx"), ("offset", "0"), ("length", "1")],
        "scale_u8 external location names a directory", "external data file is not a regular file")
    ext("ext_missing_file.onnx", [("location", "does_not_exist.bin"), ("length", "1")],
        "scale_u8 external location does not exist", "cannot open external data does_not_exist.bin")
    ext("ext_no_location.onnx", [("offset", "0"), ("length", "1")],
        "data_location EXTERNAL without a `location` key", "external tensor scale_u8 has no location")
    ext("ext_offset_at_end.onnx",
        [("location", "ext_small.bin"), ("offset", "64"), ("length", "1")],
        "offset 64 + length 1 into the 64-byte ext_small.bin (one byte past the end)",
        "external data range [64, 65) exceeds ext_small.bin (64 bytes)")
    ext("ext_past_end.onnx",
        [("location", "ext_small.bin"), ("offset", "16"), ("length", "1960")],
        "fc.w (1960 bytes) at offset 16 of the 64-byte ext_small.bin",
        "external data range [16, 1976) exceeds ext_small.bin (64 bytes)", tensor="fc.w")
    ext("ext_offset_overflow.onnx",
        [("location", "ext_small.bin"), ("offset", "9223372036854775807"), ("length", "1")],
        "offset INT64_MAX + length 1 overflows int64", "external data offset/length overflow")
    ext("ext_length_overflow.onnx",
        [("location", "ext_small.bin"), ("offset", "8"), ("length", "18446744073709551615")],
        "length 2^64-1 (does not fit int64)", "external data length out of range")
    ext("ext_offset_negative.onnx",
        [("location", "ext_small.bin"), ("offset", "-1"), ("length", "1")],
        "negative external offset", "invalid external data offset -1")
    ext("ext_offset_not_number.onnx",
        [("location", "ext_small.bin"), ("offset", "12abc"), ("length", "1")],
        "external offset `12abc` is not a decimal integer", "invalid external data offset 12abc")
    ext("ext_length_mismatch.onnx",
        [("location", "ext_small.bin"), ("offset", "0"), ("length", "8")],
        "length 8 but scale_u8 (uint8 [1]) needs 1 byte",
        "external data length 8 does not match tensor scale_u8 (1 byte)")


def encode_nested(depth):
    """ModelProto bytes: an If whose then_branch holds an If whose then_branch holds ...
    `depth` Ifs deep; every else_branch and the innermost then_branch is a leaf graph
    `o = Identity(c)` that reads the outer-scope bool `c`.  Encoded by hand from the inside
    out (python protobuf stops at a recursion depth of 100)."""
    bool_scalar = f_bytes(1, f_varint(1, TensorProto.BOOL) + f_bytes(2, b""))  # TypeProto
    out_vi = f_bytes(12, f_bytes(1, "o") + f_bytes(2, bool_scalar))            # graph output o
    leaf = f_bytes(1, f_bytes(1, "c") + f_bytes(2, "o") + f_bytes(4, "Identity")) + \
        f_bytes(2, "leaf") + out_vi
    else_attr = f_bytes(5, f_bytes(1, "else_branch") + f_varint(20, 5) + f_bytes(6, leaf))
    node_head = f_bytes(1, "c") + f_bytes(2, "o") + f_bytes(4, "If") + else_attr
    then_attr_head = f_bytes(1, "then_branch") + f_varint(20, 5)
    graph_tail = f_bytes(2, "g") + out_vi
    # G_k = key(node) len(node) node_head key(attr) len(attr) then_attr_head key(g) len(G_k+1)
    #       [G_k+1] graph_tail
    prefixes = []
    inner_len = len(leaf)
    for _ in range(depth):
        attr_len = len(then_attr_head) + len(key(6, 2)) + len(varint(inner_len)) + inner_len
        node_len = len(node_head) + len(key(5, 2)) + len(varint(attr_len)) + attr_len
        p = (key(1, 2) + varint(node_len) + node_head + key(5, 2) + varint(attr_len) +
             then_attr_head + key(6, 2) + varint(inner_len))
        prefixes.append(p)
        inner_len = len(p) + inner_len + len(graph_tail)
    # prefixes[-1] belongs to the outermost graph
    graph = b"".join(reversed(prefixes)) + leaf + graph_tail * depth
    assert len(graph) == inner_len
    graph += f_bytes(11, f_bytes(1, "c") + f_bytes(2, bool_scalar))  # top-level input c
    return (f_varint(1, 8) + f_bytes(2, "ecc-testdata") + key(7, 2) + varint(len(graph)) +
            graph + f_bytes(8, f_bytes(1, "") + f_varint(2, 13)))


def nested_case(depth=10000):
    # self-test of the encoder: a shallow instance is a valid model of the intended shape
    small = onnx.ModelProto()
    small.ParseFromString(encode_nested(3))
    onnx.checker.check_model(small, full_check=True)
    g, levels = small.graph, 0
    while g.node[0].op_type == "If":
        levels += 1
        g = [a for a in g.node[0].attribute if a.name == "then_branch"][0].g
    assert levels == 3
    model = encode_nested(depth)
    assert parses(model) is None  # python protobuf refuses: recursion limit
    write("nested_%d.onnx" % depth, model,
          "If nodes nested %d levels deep through then_branch subgraphs (otherwise valid)" % depth,
          "subgraph nesting too deep")


def directory_case():
    d = os.path.join(BAD, "a_directory.onnx")
    os.makedirs(d, exist_ok=True)
    open(os.path.join(d, ".keep"), "wb").close()
    CASES.append(("a_directory.onnx/", "a directory (holding only .keep), not a file",
                  "not a regular file"))


def readme():
    lines = [
        "# testdata/bad — inputs a correct ONNX loader must reject",
        "",
        "Generated by `/usr/bin/python3 testdata/gen/make_bad.py` (deterministic; do not edit",
        "by hand, edit the generator). Every `*.onnx` entry here is a case: `ecc inspect FILE`",
        "(and every other subcommand that loads a model) must exit 2, print one line naming",
        "the problem, and write no output. The right-hand column is the gist of the message;",
        "exact wording is up to the loader.",
        "",
        "Side files that are not cases:",
        "",
        "- `valid_base.pb` — the small **valid** model (MaxPool → Flatten → Gemm → Mul by",
        "  Cast(uint8 initializer `scale_u8`), opset 13) that the truncations and most semantic",
        "  cases are derived from. Control: it must load.",
        "- `ext_small.bin` — 64 bytes (0x00..0x3f), a real external-data file.",
        "- `ext_link.bin` — symlink to `/etc/hostname` (committed as a git symlink).",
        "",
        "External-data cases make `scale_u8` (1 byte) or `fc.w` external. Paths are relative",
        "to this directory; `../README.md` and `/etc/passwd` exist, so only a containment",
        "check (not a failed open) rejects them.",
        "",
        "| file | what is wrong | the loader should say |",
        "|---|---|---|",
    ]
    for name, what, expect in sorted(CASES):
        lines.append("| `%s` | %s | %s |" % (name, what, expect))
    lines.append("")
    lines.append("%d cases." % len(CASES))
    with open(os.path.join(BAD, "README.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    if os.path.isdir(BAD):
        # regenerate from scratch so that renamed cases do not linger
        shutil.rmtree(BAD)
    os.makedirs(BAD)
    base = base_model()
    base_bytes = base.SerializeToString()
    with open(os.path.join(BAD, "valid_base.pb"), "wb") as f:
        f.write(base_bytes)

    truncations(base_bytes)
    random_files()
    with open(os.path.join(BAD, "empty.onnx"), "wb"):
        pass
    CASES.append(("empty.onnx", "zero-byte file", "empty file / model has no graph"))
    directory_case()
    wire_cases(base)
    tensor_cases(base)
    graph_cases(base)
    external_cases(base)
    nested_case(10000)
    readme()

    # informational: which cases onnx 1.12's own parser/checker already rejects
    stats = {"parse": 0, "checker": 0, "onnx-1.12-accepts": []}
    for name, _, _ in CASES:
        path = os.path.join(BAD, name)
        if os.path.isdir(path):
            continue
        with open(path, "rb") as f:
            pm = parses(f.read())
        if pm is None:
            stats["parse"] += 1
            continue
        try:
            onnx.checker.check_model(path)
            stats["onnx-1.12-accepts"].append(name)
        except Exception:
            stats["checker"] += 1
    print("%d cases written to %s" % (len(CASES), BAD))
    print("onnx 1.12 rejects %d at parse time, %d in check_model; it accepts: %s" % (
        stats["parse"], stats["checker"], ", ".join(stats["onnx-1.12-accepts"])))


if __name__ == "__main__":
    main()
