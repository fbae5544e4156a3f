#!/bin/sh
# CLI tests: exit codes, one-line errors, the bad-input corpus (exit 2, no
# output), atomic outputs, determinism, reports, plugins, and fold-bn
# exactness checked in ONNX Runtime.
. "$(dirname "$0")/lib.sh"

# --- basics
expect 0 "--version" -- "$ECC" --version
grep -q "^ecc " "$T/out" && ok || bad "--version prints the version"
expect 1 "no arguments" -- "$ECC"
expect 0 "help" -- "$ECC" help
expect 0 "help compress" -- "$ECC" help compress
grep -q -- "--passes" "$T/out" && ok || bad "help compress documents --passes"
expect 1 "unknown command" -- "$ECC" frobnicate
expect 1 "compress without -o" -- "$ECC" compress testdata/mlp.onnx
expect 1 "compress unknown option" -- "$ECC" compress testdata/mlp.onnx -o "$T/x.onnx" --bogus
expect 0 "passes" -- "$ECC" passes
for p in dce fold-bn fold-constants normalize; do
    grep -q "$p" "$T/out" && ok || bad "ecc passes lists $p"
done
mkdir -p "$T/o"
expect 1 "unknown pass" -- "$ECC" compress testdata/mlp.onnx -o "$T/o/x.onnx" --passes frobnicate
grep -q "unknown pass" "$T/err" && ok || bad "unknown pass message: $(cat "$T/err")"
expect 1 "unknown pass option" -- "$ECC" compress testdata/mlp.onnx -o "$T/o/x.onnx" --passes dce:bogus=1
no_output_left "usage errors" "$T/o"
expect 2 "missing input file" -- "$ECC" compress "$T/nope.onnx" -o "$T/o/x.onnx"
one_line_error "missing input file" "$T/nope.onnx"
expect 3 "output directory missing" -- "$ECC" compress testdata/mlp.onnx -o "$T/no/such/dir/x.onnx"

# --- the bad-input corpus: exit 2, one line naming the file, no output
for f in testdata/bad/*.onnx; do
    rm -rf "$T/o"; mkdir -p "$T/o"
    expect 2 "bad input $f" -- "$ECC" compress "$f" -o "$T/o/out.onnx"
    one_line_error "bad input $f" "$f"
    no_output_left "bad input $f" "$T/o"
    expect 2 "inspect bad input $f" -- "$ECC" inspect "$f"
done

# --- inspect
for m in testdata/*.onnx testdata/edge/*.onnx testdata/edge/external/model.onnx; do
    [ -f "$m" ] || continue
    expect 0 "inspect $m" -- "$ECC" inspect "$m"
    expect 0 "inspect --json $m" -- "$ECC" inspect --json "$m"
    [ "$(json "$T/out" true)" = true ] && ok || bad "inspect --json $m is not JSON"
done

# --- identity rewrite, determinism, report
expect 0 "identity compress" -- "$ECC" compress testdata/cnn.onnx -o "$T/id1.onnx" -q
expect 0 "identity compress again" -- "$ECC" compress testdata/cnn.onnx -o "$T/id2.onnx" -q
cmp -s "$T/id1.onnx" "$T/id2.onnx" && ok || bad "output is not deterministic"
ls "$T" | grep -q '\.tmp\.' && bad "temp file left behind" || ok

# --- fold-bn: no BatchNormalization left, ORT outputs equal within 1e-5
expect 0 "fold-bn,dce" -- "$ECC" compress testdata/cnn.onnx -o "$T/folded.onnx" \
    --passes fold-bn,dce --report "$T/report.json"
expect 0 "inspect folded" -- "$ECC" inspect --json "$T/folded.onnx"
grep -q '"BatchNormalization"' "$T/out" && bad "BatchNormalization left after fold-bn" || ok
[ "$(json "$T/report.json" 'Array.isArray(r.passes) && r.passes.length === 2 && r.passes[0].name === "fold-bn"')" = true ] &&
    ok || bad "report lists the passes in order: $(head -c 400 "$T/report.json")"
if [ -d tests/interop/node_modules/onnxruntime-node ]; then
    expect 0 "ORT: folded CNN equals original within 1e-5" -- \
        node tests/interop/ort_diff.js testdata/cnn.onnx "$T/folded.onnx" --fmnist 512 --tol 1e-5
    [ "$rc" = 0 ] && cat "$T/out"
else
    bad "onnxruntime-node missing (run make deps)"
fi

# --- external data: side file written atomically beside the model, ORT loads it
mkdir -p "$T/ext"
expect 0 "compress --external-data" -- "$ECC" compress testdata/mlp.onnx -o "$T/ext/mlp.onnx" --external-data -q
[ -s "$T/ext/mlp.onnx.data" ] && ok || bad "--external-data writes mlp.onnx.data"
[ "$(stat -c %s "$T/ext/mlp.onnx")" -lt 100000 ] && ok || bad "--external-data moves weights out of the model"
expect 0 "re-read external model" -- "$ECC" compress "$T/ext/mlp.onnx" -o "$T/mlp_inline.onnx" -q
if [ -d tests/interop/node_modules/onnxruntime-node ]; then
    expect 0 "ORT runs the external-data model identically" -- \
        node tests/interop/ort_diff.js testdata/mlp.onnx "$T/ext/mlp.onnx" --fmnist 64 --tol 0
fi

# --- output targets: devices and pipes are streams, symlinks and modes kept,
# write errors exit 3 and leave no temp file. Device nodes are made in $T
# first, so a binary that replaces them never touches the real /dev.
case $ECC in /*) ECCA=$ECC ;; *) ECCA=$PWD/$ECC ;; esac
MLP=$PWD/testdata/mlp.onnx
mkdir -p "$T/t" "$T/w"
in_w() { (cd "$T/w" && "$@"); } # where a binary that writes a file named '-' leaves it
expect 0 "reference output" -- "$ECC" compress testdata/mlp.onnx -o "$T/ref.onnx" -q
expect 0 "-o onto a FIFO" -- sh -c '
    mkfifo "$1/t/fifo"; timeout 20 cat "$1/t/fifo" >"$1/fifo.out" &
    "$2" compress "$3" -o "$1/t/fifo" -q; rc=$?; wait; exit $rc' \
    sh "$T" "$ECCA" "$MLP"
[ -p "$T/t/fifo" ] && ok || bad "-o FIFO replaced the FIFO"
cmp -s "$T/fifo.out" "$T/ref.onnx" && ok || bad "-o FIFO: the reader did not get the model"
devnull_ok=false
if mknod "$T/t/null" c 1 3 2>/dev/null; then
    expect 0 "-o onto a character device" -- "$ECC" compress testdata/mlp.onnx -o "$T/t/null" -q
    [ -c "$T/t/null" ] && devnull_ok=true && ok || bad "-o DEVICE replaced the device node"
    mknod "$T/t/full" c 1 7
    expect 3 "-o onto a full device (ENOSPC)" -- "$ECC" compress testdata/mlp.onnx -o "$T/t/full" -q
    says "ENOSPC message" "No space left on device"
    mknod "$T/t/blk" b 7 0
    expect 1 "-o onto a block device" -- "$ECC" compress testdata/mlp.onnx -o "$T/t/blk" -q
    one_line_error "block device refused" "$T/t/blk" "block device"
    [ -b "$T/t/blk" ] && ok || bad "-o BLOCKDEV replaced the node"
    expect 1 "--external-data onto a device" -- "$ECC" compress testdata/mlp.onnx \
        -o "$T/t/null" --external-data -q
    [ -e "$T/t/null.data" ] && bad "--external-data created null.data" || ok
fi
if $devnull_ok; then # the real devices, only once the binary is known to keep a device node
    expect 0 "-o /dev/null" -- "$ECC" compress testdata/mlp.onnx -o /dev/null -q
    [ -c /dev/null ] && ok || bad "-o /dev/null: /dev/null is no longer a character device"
    "$ECC" compress testdata/mlp.onnx -o /dev/stdout -q | cat >"$T/devstdout.onnx"
    cmp -s "$T/devstdout.onnx" "$T/ref.onnx" && ok || bad "-o /dev/stdout into a pipe"
    [ -L /dev/stdout ] && ok || bad "-o /dev/stdout: /dev/stdout is no longer a symlink"
fi
# '-' is standard output, and nothing else goes there
expect 0 "-o -" -- in_w "$ECCA" compress "$MLP" -o -
cmp -s "$T/out" "$T/ref.onnx" && ok || bad "-o - writes the model, only the model, to stdout"
expect 0 "--report -" -- in_w "$ECCA" compress "$MLP" -o "$T/t/r.onnx" --report -
[ "$(json "$T/out" 'r.output')" = "$T/t/r.onnx" ] && ok || bad "--report - writes JSON to stdout"
(cd "$T/w" && { "$ECCA" compress "$MLP" -o - 2>"$T/err"; echo $? >"$T/rc"; } | head -c 1 >/dev/null)
[ "$(cat "$T/rc")" = 3 ] && grep -q "Broken pipe" "$T/err" && ok ||
    bad "-o - into a closed pipe: exit $(cat "$T/rc"), $(cat "$T/err")"
no_output_left "stdout outputs" "$T/w"
expect 1 "--external-data -o -" -- in_w "$ECCA" compress "$MLP" -o - --external-data -q
expect 0 "compress to .ecc" -- "$ECC" compress testdata/mlp.onnx -o "$T/t/m.ecc" -q
expect 0 "unpack -o FILE" -- "$ECC" unpack "$T/t/m.ecc" -o "$T/t/u.onnx" -q
expect 0 "unpack -o -" -- in_w "$ECCA" unpack "$T/t/m.ecc" -o -
cmp -s "$T/out" "$T/t/u.onnx" && ok || bad "unpack -o - writes the model, only the model, to stdout"
expect 1 "eval --report - (would mix with the results)" -- in_w "$ECCA" eval "$MLP" \
    --data "$PWD/testdata/fmnist_64.npy" --labels "$PWD/testdata/fmnist_64_labels.npy" --report -
expect 1 "-o - --report -" -- in_w "$ECCA" compress "$MLP" -o - --report - -q
script -qec "cd $T/w && $ECCA compress $MLP -o - -q" /dev/null >"$T/tty.out" 2>&1; rc=$?
[ "$rc" = 1 ] && grep -q "terminal" "$T/tty.out" && ok || bad "-o - onto a terminal: exit $rc"
# symlinks stay links; modes are kept (or follow the umask)
mkdir -p "$T/s"; echo old >"$T/s/real.onnx"; ln -s real.onnx "$T/s/link.onnx"
expect 0 "-o onto a symlink" -- "$ECC" compress testdata/mlp.onnx -o "$T/s/link.onnx" -q
[ -L "$T/s/link.onnx" ] && cmp -s "$T/s/real.onnx" "$T/ref.onnx" && ok || bad "-o SYMLINK: the link was replaced"
echo secret >"$T/s/secret.onnx"; chmod 600 "$T/s/secret.onnx"
expect 0 "-o onto a 0600 file" -- "$ECC" compress testdata/mlp.onnx -o "$T/s/secret.onnx" -q
[ "$(stat -c %a "$T/s/secret.onnx")" = 600 ] && ok || bad "0600 target became $(stat -c %a "$T/s/secret.onnx")"
(umask 077; "$ECC" compress testdata/mlp.onnx -o "$T/s/new.onnx" -q)
[ "$(stat -c %a "$T/s/new.onnx")" = 600 ] && ok || bad "umask 077: new file is $(stat -c %a "$T/s/new.onnx")"
# a file size limit: exit 3 with a message, no temp file (not a SIGXFSZ kill)
mkdir -p "$T/lim"
(ulimit -f 1; exec "$ECC" compress testdata/mlp.onnx -o "$T/lim/x.onnx" -q) 2>"$T/err"; rc=$?
[ "$rc" = 3 ] && grep -q "too large" "$T/err" && ok || bad "ulimit -f: exit $rc, $(cat "$T/err")"
no_output_left "ulimit -f" "$T/lim"

# --- plugins
PLUG="$BUILD/plugins/threshold_weights.so"
expect 0 "passes --plugin" -- "$ECC" passes --plugin "$PLUG"
grep -q "threshold-weights" "$T/out" && ok || bad "plugin pass listed"
expect 0 "compress with plugin" -- "$ECC" compress testdata/mlp.onnx -o "$T/thr.onnx" \
    --plugin "$PLUG" --passes threshold-weights:min_abs=0.01 -q
expect 2 "plugin that does not exist" -- "$ECC" compress testdata/mlp.onnx -o "$T/o/x.onnx" \
    --plugin "$T/nope.so" --passes dce
expect 1 "plugin option out of range" -- "$ECC" compress testdata/mlp.onnx -o "$T/o/x.onnx" \
    --plugin "$PLUG" --passes threshold-weights:min_abs=-1
grep -q "range" "$T/err" && ok || bad "out-of-range message quotes the bounds: $(cat "$T/err")"

# --- non-regular inputs (issue 25, class 2): a FIFO, directory or device
# given as data, labels, an image, a .pb of a test_data_set folder or a plugin
# is refused with exit 2 naming it, never opened and waited on (timeout: a
# regression fails here instead of hanging the suite)
mkdir -p "$T/nr/img" "$T/nr/pbs"
mkfifo "$T/nr/fifo.npy" "$T/nr/fifo.gz" "$T/nr/fifo.so" "$T/nr/img/a.png" "$T/nr/pbs/input_0.pb"
FM64="testdata/fmnist_64.npy"; FL64="testdata/fmnist_64_labels.npy"
fifo_refused() { # desc path command...: exit 2, one line naming the FIFO
    desc=$1; path=$2; shift 2
    expect 2 "$desc" -- timeout 10 "$@"
    one_line_error "$desc" "$path" "is a FIFO, not a regular file"
}
fifo_refused "--data FIFO" "$T/nr/fifo.npy" \
    "$ECC" eval testdata/mlp.onnx --data "$T/nr/fifo.npy" --labels "$FL64"
fifo_refused "--labels FIFO" "$T/nr/fifo.npy" \
    "$ECC" eval testdata/mlp.onnx --data "$FM64" --labels "$T/nr/fifo.npy"
fifo_refused "--calib FIFO" "$T/nr/fifo.gz" \
    "$ECC" compress testdata/cnn.onnx -o "$T/nr/q.onnx" --passes quant --calib "$T/nr/fifo.gz"
[ -e "$T/nr/q.onnx" ] && bad "--calib FIFO left an output" || ok
fifo_refused "image folder holding a FIFO" "$T/nr/img/a.png" \
    "$ECC" run testdata/cnn.onnx --data "$T/nr/img" -o "$T/nr/out"
fifo_refused "test_data_set folder holding a FIFO" "$T/nr/pbs/input_0.pb" \
    "$ECC" run testdata/mlp.onnx --data "$T/nr/pbs" -o "$T/nr/out"
fifo_refused "sensitivity --data FIFO" "$T/nr/fifo.npy" \
    "$ECC" sensitivity testdata/mlp.onnx --data "$T/nr/fifo.npy" --pass prune
expect 2 "--plugin FIFO" -- timeout 10 "$ECC" passes --plugin "$T/nr/fifo.so"
one_line_error "--plugin FIFO" "$T/nr/fifo.so" "is a FIFO, not a regular file"
expect 2 "model FIFO" -- timeout 10 "$ECC" inspect "$T/nr/fifo.npy"
one_line_error "model FIFO" "$T/nr/fifo.npy" "is a FIFO, not a regular file"
expect 2 "--data directory of nothing" -- timeout 10 "$ECC" eval testdata/mlp.onnx \
    --data "$T/nr/out" --labels "$FL64"
if [ -c /dev/zero ]; then # a device that never ends: refused, not read forever
    expect 2 "--data /dev/zero" -- timeout 10 "$ECC" eval testdata/mlp.onnx --data /dev/zero \
        --labels "$FL64"
    one_line_error "--data /dev/zero" "/dev/zero" "is a character device, not a regular file"
fi

# --- plugins with a garbage info struct (issue 25, class 7): refused from
# struct_size and the ABI version alone, before any pointer in it is read
GARBAGE="$BUILD/tests/plugins/garbage_info.so"
if [ -f "$GARBAGE" ]; then
    expect 2 "plugin with a garbage info struct" -- "$ECC" passes --plugin "$GARBAGE"
    one_line_error "garbage plugin info" "garbage_info" "built for ABI"
else
    bad "$GARBAGE missing (make test-only builds it)"
fi

# --- unpack and verify agree (issue 25, class 8): an artifact whose metadata
# frame is corrupt is refused by both, exit 2, the same one-line message
mkdir -p "$T/c8/o"
expect 0 "artifact for the metadata check" -- "$ECC" compress testdata/mlp.onnx -o "$T/c8/m.ecc" -q
expect 0 "inspect --json artifact" -- "$ECC" inspect --json "$T/c8/m.ecc"
META_AT=$(json "$T/out" 'r.sections.filter(s => s.kind === "metadata").map(s => s.offset + (s.stored_bytes >> 1))[0]')
if [ -n "$META_AT" ]; then
    cp "$T/c8/m.ecc" "$T/c8/meta.ecc"
    printf '\377\377\377\377' | dd of="$T/c8/meta.ecc" bs=1 seek="$META_AT" conv=notrunc 2>/dev/null
    expect 2 "verify: corrupt metadata frame" -- "$ECC" verify "$T/c8/meta.ecc"
    one_line_error "verify: corrupt metadata frame" "$T/c8/meta.ecc" "metadata"
    cp "$T/err" "$T/c8/verify.err"
    expect 2 "unpack: corrupt metadata frame" -- "$ECC" unpack "$T/c8/meta.ecc" -o "$T/c8/o/u.onnx"
    one_line_error "unpack: corrupt metadata frame" "$T/c8/meta.ecc" "metadata"
    cmp -s "$T/err" "$T/c8/verify.err" && ok || bad "unpack and verify say different things: $(cat "$T/err" "$T/c8/verify.err")"
    no_output_left "unpack: corrupt metadata frame" "$T/c8/o"
    expect 2 "eval: corrupt metadata frame" -- "$ECC" eval "$T/c8/meta.ecc" --data "$FM64" \
        --labels "$FL64"
    expect 2 "run: corrupt metadata frame" -- "$ECC" run "$T/c8/meta.ecc" --data "$FM64" \
        -o "$T/c8/o/run"
else
    bad "inspect --json lists no metadata section"
fi

# --- control characters from files are escaped (issue 25, class 5): a value
# name holding ESC, BEL and a newline reaches the error as \xNN, one line
python3 - "$T/esc.onnx" <<'PY'
import sys
b = open("testdata/mlp.onnx", "rb").read()
at = b.index(b"/Relu_output_0", b.index(b"/Relu_output_0") + 1)  # fc2's input only
open(sys.argv[1], "wb").write(b[:at] + b"/R\x1b[31m\x07\nput_0" + b[at + 14:])
PY
expect 2 "name with control characters" -- "$ECC" compress "$T/esc.onnx" -o "$T/o/x.onnx"
one_line_error "escaped name" "$T/esc.onnx" '/R\x1b[31m\x07\x0aput_0'
LC_ALL=C grep -q "$(printf '[\001-\011\013-\037\177]')" "$T/err" && bad "raw control characters reached stderr" || ok

# --- opsets ecc does not know (issue 25, class 5): refused when read, exit 2,
# never written back with new nodes under them
python3 - "$T" <<'PY'
import sys
b = open("testdata/mlp.onnx", "rb").read()
assert b.endswith(b"\x42\x02\x10\x0d")  # opset_import { version: 13 }, the last field
def varint(v):
    out = b""
    while v > 0x7f:
        out += bytes([v & 0x7f | 0x80]); v >>= 7
    return out + bytes([v])
for name, v in (("op99", 99), ("op2e62", 1 << 62), ("op0", 0)):
    body = b"\x10" + varint(v)
    open(f"{sys.argv[1]}/{name}.onnx", "wb").write(b[:-4] + b"\x42" + bytes([len(body)]) + body)
PY
for v in 99 2e62 0; do
    rm -rf "$T/o"; mkdir -p "$T/o"
    expect 2 "opset $v: compress" -- "$ECC" compress "$T/op$v.onnx" -o "$T/o/x.onnx" \
        --passes quant:mode=dynamic
    one_line_error "opset $v" "$T/op$v.onnx" "is not one ecc knows"
    no_output_left "opset $v" "$T/o"
    expect 2 "opset $v: inspect" -- "$ECC" inspect "$T/op$v.onnx"
done
expect 2 "opset 2^62: inspect" -- "$ECC" inspect "$T/op2e62.onnx"
says "opset 2^62 quoted" "ai.onnx opset 4611686018427387904 is not one ecc knows (1 to 23)"

# --- Conv groups (issue 25, class 5): a group that is not positive or does
# not divide the channels is refused by every command, naming the node
python3 - "$T" <<'PY'
import sys
b = open("testdata/cnn.onnx", "rb").read()
attr = b"\x0a\x05group\x18\x01"  # AttributeProto name "group", i = 1
first = b.index(attr); second = b.index(attr, first + 1)
for name, at, g in (("g0", second, 0), ("g3", first, 3)):
    c = bytearray(b); c[at + len(attr) - 1] = g
    open(f"{sys.argv[1]}/{name}.onnx", "wb").write(bytes(c))
PY
for g in g0:"'/conv2/Conv' (Conv): group 0 is not positive" \
         g3:"'/conv1/Conv' (Conv): group 3 does not divide the 1 input channels"; do
    f=${g%%:*}; msg=${g#*:}
    rm -rf "$T/o"; mkdir -p "$T/o"
    expect 2 "conv $f: compress" -- "$ECC" compress "$T/$f.onnx" -o "$T/o/x.onnx"
    one_line_error "conv $f: compress" "$T/$f.onnx" "$msg"
    no_output_left "conv $f" "$T/o"
    expect 2 "conv $f: inspect" -- "$ECC" inspect "$T/$f.onnx"
    expect 2 "conv $f: run" -- "$ECC" run "$T/$f.onnx" --data "$FM64" -o "$T/o/run"
done

# --- data with 0 samples (issue 25, class 5): exit 2 naming the file, for
# every command that reads data (run used to exit 3, compare to succeed)
python3 - "$T" <<'PY'
import struct, sys
for name, descr, shape in (("zero", "<f4", "(0, 1, 28, 28)"), ("zerol", "<i8", "(0,)")):
    h = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)
    h = h.ljust(118) + "\n"
    open(f"{sys.argv[1]}/{name}.npy", "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode())
PY
ZMSG="holds no samples"
expect 2 "0 samples: run" -- "$ECC" run testdata/mlp.onnx --data "$T/zero.npy" -o "$T/o/z"
one_line_error "0 samples: run" "$T/zero.npy" "$ZMSG"
expect 2 "0 samples: eval" -- "$ECC" eval testdata/mlp.onnx --data "$T/zero.npy" --labels "$T/zerol.npy"
one_line_error "0 samples: eval" "$T/zero.npy" "$ZMSG"
expect 2 "0 labels: eval" -- "$ECC" eval testdata/mlp.onnx --data "$FM64" --labels "$T/zerol.npy"
one_line_error "0 labels: eval" "$T/zerol.npy" "$ZMSG"
expect 2 "0 samples: compare" -- "$ECC" compare testdata/mlp.onnx testdata/mlp.onnx --data "$T/zero.npy"
one_line_error "0 samples: compare" "$T/zero.npy" "$ZMSG"
expect 2 "0 samples: --calib" -- "$ECC" compress testdata/cnn.onnx -o "$T/o/q.onnx" --passes quant \
    --calib "$T/zero.npy"
one_line_error "0 samples: --calib" "$T/zero.npy" "$ZMSG"
expect 2 "0 samples: sensitivity" -- "$ECC" sensitivity testdata/mlp.onnx --data "$T/zero.npy" --pass prune

# --- out of memory while decoding (issue 25, class 3): with the N-th
# allocation failing, verify of a sound artifact and inspect of a model exit
# 0 or 3 with "out of memory", never 2 (they reported a corrupt file).
# N starts past the allocations of the libraries' constructors (OpenBLAS
# exits 1 on its own there). Then whole runs: inspect (its report's cJSON
# allocations), and compress with calibration and with training (prune,quant
# on the CNN; prune,distill on the MLP), at every 7th allocation to the end.
cat >"$T/failn.c" <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
static long at = -1, count;
static int fail(void) {
    if (at < 0) { const char *e = getenv("ECC_FAIL_AT"); at = e ? atol(e) : 0; }
    return at > 0 && ++count == at;
}
void *malloc(size_t n) {
    static void *(*real)(size_t);
    if (!real) real = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
    if (fail()) { errno = ENOMEM; return NULL; }
    return real(n);
}
void *realloc(void *p, size_t n) {
    static void *(*real)(void *, size_t);
    if (!real) real = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
    if (fail()) { errno = ENOMEM; return NULL; }
    return real(p, n);
}
C
if ${CC:-cc} -shared -fPIC -O1 -o "$T/failn.so" "$T/failn.c" -ldl 2>"$T/cc"; then
    oom_bad=""
    oom_run() { # N CMD...: exit 0, or 3 saying "out of memory"
        n=$1; shift
        ECC_FAIL_AT=$n LD_PRELOAD="$T/failn.so" "$ECC" "$@" >/dev/null 2>"$T/err"; rc=$?
        [ "$rc" = 0 ] || { [ "$rc" = 3 ] && grep -q "out of memory" "$T/err"; } ||
            oom_bad="$oom_bad [$*, N=$n: exit $rc $(head -c 120 "$T/err")]"
    }
    for n in $(seq 12 3 360); do
        oom_run "$n" verify -q testdata/artifact/small.ecc
        oom_run "$n" inspect testdata/mlp.onnx
    done
    for n in $(seq 12 7 950); do
        oom_run "$n" compress testdata/cnn.onnx -o "$T/oom.onnx" -q \
            --passes prune:sparsity=0.5,quant --calib testdata/fmnist_64.npy
    done
    for n in $(seq 12 7 520); do
        oom_run "$n" compress testdata/mlp.onnx -o "$T/oom.onnx" -q \
            --passes prune:sparsity=0.5,distill:steps=2:batch=8 --calib testdata/fmnist_64.npy
    done
    [ -z "$oom_bad" ] && ok || bad "allocation failure not reported as out of memory:$oom_bad"
else
    bad "cannot build the allocation-failure shim: $(head -c 300 "$T/cc")"
fi

summary cli
