#!/bin/sh
# Round trip of every model in Debian's libonnx-testdata: ecc reads and
# rewrites each one, the rewrite is re-read identically (the tool checks),
# passes onnx.checker, and gives bit-identical outputs in ONNX Runtime
# wherever ORT runs the original. Done twice: as read, and with the tensors
# renamed first (`compress --short-names`; subgraphs and captured values
# included).
BUILD=${BUILD:-build}
DATA=${ONNX_TESTDATA:-/usr/share/libonnx-testdata/data}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
rc=0
ls "$DATA"/*/*/model.onnx >"$T/list"
echo "models: $(wc -l <"$T/list")"
round_trip() { # OUTDIR [--short-names]
    echo "== round trip ${2:-as read}"
    "$BUILD/tests/tools/roundtrip" $2 --manifest "$T/list" "$T/$1" || rc=1
    ONNX_TESTDATA="$DATA" sh tests/interop/make_manifest.sh "$T/$1" >"$T/manifest.tsv"
    node tests/interop/ort_roundtrip.js "$T/manifest.tsv" || rc=1
    find "$T/$1" -name model.onnx | sort >"$T/written"
    /usr/bin/python3 tests/interop/check_models.py --skip-newer-ir $(cat "$T/written") \
        >"$T/checker" 2>&1 || rc=1
    tail -n 5 "$T/checker"
}
round_trip rt
round_trip sn --short-names
exit $rc
