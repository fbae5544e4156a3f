#!/bin/sh
# Checks the dependency rule between folders (README, "Layout"): every
# #include "..." must name a header the including folder may use.
set -u
fail=0
allowed() { # folder -> space-separated folders whose headers it may include
    case "$1" in
        compress) echo "compress" ;;
        formats/onnx) echo "formats/onnx compress" ;;
        formats/artifact) echo "formats/artifact formats/onnx compress" ;;  # the graph section is ONNX
        calibrate) echo "calibrate compress" ;;
        calibrate/train) echo "calibrate/train calibrate compress" ;;
        passes) echo "passes compress calibrate calibrate/train" ;;
        sweep) echo "sweep compress calibrate" ;;
        cli) echo "cli public" ;;
        plugins|tests/plugins) echo "plugin" ;;
        *) echo "any" ;;
    esac
}
for f in $(find compress formats calibrate passes sweep cli plugins tests/plugins -name '*.[ch]' 2>/dev/null); do
    dir=$(dirname "$f")
    rules=$(allowed "$dir")
    [ "$rules" = any ] && continue
    for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f"); do
        base=$(basename "$inc")
        ok=0
        for r in $rules; do
            case "$r" in
                public) case "$base" in ecc.h|ecc_plugin.h|ecc_sweep.h) ok=1 ;; esac ;;
                plugin) [ "$base" = ecc_plugin.h ] && ok=1 ;;
                *) [ -f "$r/$base" ] && ok=1
                   [ "$r" = formats/onnx ] && [ "$base" = onnx.pb-c.h ] && ok=1 ;;
            esac
        done
        if [ $ok = 0 ]; then echo "dependency rule: $f includes \"$inc\" (allowed: $rules)"; fail=1; fi
    done
done
[ $fail = 0 ] && echo "dependency rule: ok"
exit $fail
