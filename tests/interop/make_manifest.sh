#!/bin/sh
# make_manifest.sh [NEWROOT] > manifest.tsv
# Lists every ONNX conformance model of libonnx-testdata as
#   orig_model <TAB> new_model <TAB> test_data_set_0
# new_model is NEWROOT/<suite>/<case>/model.onnx (e.g. where `ecc` wrote its round-tripped
# copies), or the original itself when NEWROOT is not given (self-check of the harness).
set -eu
DATA=${ONNX_TESTDATA:-/usr/share/libonnx-testdata/data}
NEWROOT=${1:-}
for m in "$DATA"/*/*/model.onnx; do
  d=${m%/model.onnx}
  [ -d "$d/test_data_set_0" ] || continue
  if [ -n "$NEWROOT" ]; then
    rel=${d#"$DATA"/}
    n="$NEWROOT/$rel/model.onnx"
  else
    n=$m
  fi
  printf '%s\t%s\t%s\n' "$m" "$n" "$d/test_data_set_0"
done
