#!/bin/sh
# Round trip of every model in Debian's libonnx-testdata: ecc reads and
# rewrites each one, the rewrite is re-read identically (the tool checks),
# passes onnx.checker, and gives bit-identical outputs in ONNX Runtime
# wherever ORT runs the original.
BUILD=${BUILD:-build}
DATA=${ONNX_TESTDATA:-/usr/share/libonnx-testdata/data}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
rc=0
ls "$DATA"/*/*/model.onnx >"$T/list"
echo "models: $(wc -l <"$T/list")"
"$BUILD/tests/tools/roundtrip" --manifest "$T/list" "$T/rt" || rc=1
ONNX_TESTDATA="$DATA" sh tests/interop/make_manifest.sh "$T/rt" >"$T/manifest.tsv"
node tests/interop/ort_roundtrip.js "$T/manifest.tsv" || rc=1
find "$T/rt" -name model.onnx | sort >"$T/written"
/usr/bin/python3 tests/interop/check_models.py --skip-newer-ir $(cat "$T/written") >"$T/checker" 2>&1 || rc=1
tail -n 5 "$T/checker"
exit $rc
