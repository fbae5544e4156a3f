#!/usr/bin/python3
"""check_models.py [--skip-newer-ir] FILE...

Runs onnx.checker.check_model(full_check=False) on each ONNX file. Prints one line per
failure ("FAIL <file>: <message>") and closes with "N passed, N failed" (", N skipped"
with --skip-newer-ir). Exit 1 if any file failed, 0 otherwise, 2 on usage error.

--skip-newer-ir  skip (and count separately) models whose ir_version or ai.onnx /
                 ai.onnx.ml / ai.onnx.preview.training opset is newer than this onnx
                 package supports; they are listed with -v.
"""
import sys

import onnx
import onnx.checker
import onnx.helper


def supported_versions():
    """(max ir_version, {domain: max opset}) for the installed onnx package."""
    row = onnx.helper.VERSION_TABLE[-1]  # (release, ir, ai.onnx, ai.onnx.ml[, training])
    ops = {"": row[2], "ai.onnx": row[2], "ai.onnx.ml": row[3]}
    if len(row) > 4 and row[4] is not None:
        ops["ai.onnx.preview.training"] = row[4]
    ir = max(onnx.IR_VERSION, row[1])
    ops[""] = max(ops[""], onnx.defs.onnx_opset_version())
    ops["ai.onnx"] = ops[""]
    return ir, ops


def one_line(msg, limit=300):
    s = " ".join(str(msg).split())
    return s if len(s) <= limit else s[: limit - 3] + "..."


def newer_reason(model, max_ir, max_ops):
    if model.ir_version > max_ir:
        return "ir_version %d > %d" % (model.ir_version, max_ir)
    for op in model.opset_import:
        lim = max_ops.get(op.domain)
        if lim is not None and op.version > lim:
            return "opset %s %d > %d" % (op.domain or "ai.onnx", op.version, lim)
    return None


def main(argv):
    skip_newer = False
    verbose = False
    files = []
    for a in argv:
        if a == "--skip-newer-ir":
            skip_newer = True
        elif a in ("-v", "--verbose"):
            verbose = True
        elif a in ("-h", "--help"):
            print(__doc__.strip())
            return 0
        elif a.startswith("-") and a != "-":
            print("check_models: unknown option %s" % a, file=sys.stderr)
            return 2
        else:
            files.append(a)
    if not files:
        print("usage: check_models.py [--skip-newer-ir] [-v] FILE...", file=sys.stderr)
        return 2

    max_ir, max_ops = supported_versions()
    passed = failed = skipped = 0
    for f in files:
        try:
            if skip_newer:
                why = None
                try:
                    # no external data: only ir_version and opset_import are needed
                    model = onnx.load(f, load_external_data=False)
                    why = newer_reason(model, max_ir, max_ops)
                except Exception:  # noqa: BLE001 - let the checker report it
                    pass
                if why:
                    skipped += 1
                    if verbose:
                        print("SKIP %s: %s" % (f, why))
                    continue
            # By path: the C++ checker resolves external data next to the model and is
            # not limited by Python protobuf's 2 GB message size.
            onnx.checker.check_model(f, full_check=False)
            passed += 1
        except Exception as e:  # noqa: BLE001 - every failure is reported, never fatal
            failed += 1
            print("FAIL %s: %s" % (f, one_line(e)))
    tail = ", %d skipped" % skipped if skip_newer else ""
    print("%d passed, %d failed%s" % (passed, failed, tail))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
