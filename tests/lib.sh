# tests/lib.sh — scaffolding shared by the shell tests, sourced with
#   . "$(dirname "$0")/lib.sh"
# It owns: BUILD and ECC (the binary under test), a temporary directory $T
# removed on exit, the pass/fail counters with ok and bad, expect (runs a
# command, checks its exit code, keeps its output in $T/out and $T/err),
# one_line_error, says, no_output_left, json, holds, and summary (the final
# "NAME: N passed, N failed" line, whose status is the script's).
BUILD=${BUILD:-build}
ECC="$BUILD/ecc"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0; fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
# expect CODE DESCRIPTION -- command...   (sets rc; stdout/stderr kept in $T/out, $T/err)
expect() {
    code=$1; desc=$2; shift 3
    "$@" >"$T/out" 2>"$T/err"; rc=$?
    if [ "$rc" = "$code" ]; then ok; else bad "$desc: exit $rc, expected $code: $(head -c 400 "$T/err")"; fi
}
one_line_error() { # desc needle...: $T/err is one "ecc: error:" line containing every needle
    desc=$1; shift
    n=$(wc -l <"$T/err")
    if [ "$n" != 1 ] || ! grep -q "^ecc: error: " "$T/err"; then
        bad "$desc: not a one-line error: $(head -c 300 "$T/err")"; return; fi
    for needle in "$@"; do
        grep -qF -- "$needle" "$T/err" || { bad "$desc: error lacks '$needle': $(cat "$T/err")"; return; }
    done
    ok
}
says() { # desc text: $T/err is one line and quotes text
    if [ "$(wc -l <"$T/err")" = 1 ] && grep -qF -- "$2" "$T/err"; then ok
    else bad "$1: error does not say '$2': $(head -c 300 "$T/err")"; fi
}
no_output_left() { # desc dir: the directory is empty (or absent)
    if [ -z "$(ls -A "$2" 2>/dev/null)" ]; then ok; else bad "$1: left files behind: $(ls -A "$2")"; fi
}
json() { # file js-expression-over-r → prints the value ("" when the file is missing)
    node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
             console.log(eval(process.argv[2]))' "$1" "$2" 2>/dev/null
}
holds() { # file js-expression-over-r: exit status 0 when the expression is true
    node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
             process.exit(eval(process.argv[2]) ? 0 : 1)' "$1" "$2"
}
# ORT's integer kernels on x86 CPUs without VNNI add pairs of u8 x s8 products
# in saturating 16-bit lanes (vpmaddubsw), so ORT's integer models there differ
# from the exact arithmetic ecc computes (ORT's documentation: quantize with
# reduce_range on such CPUs). ORT_INT_EXACT=0 on such a CPU; ort_int_inexact
# DESC says so in the log and counts the exactness check as not applicable.
ORT_INT_EXACT=1
if grep -q '^flags.* avx2' /proc/cpuinfo 2>/dev/null &&
    ! grep -qE '^flags.*(avx512_vnni|avx_vnni)' /proc/cpuinfo; then ORT_INT_EXACT=0; fi
ort_int_inexact() { # desc: true (and a note) when an ecc/ORT difference is ORT's saturation
    [ "$ORT_INT_EXACT" = 0 ] || return 1
    echo "note: $1: ecc and ORT differ; this CPU has AVX2 without VNNI, where ORT's integer kernels saturate: exactness not checkable here"
}
summary() { # name: the last line of the script; fails when any check failed
    echo "$1: $pass passed, $fail failed"
    [ "$fail" = 0 ]
}
