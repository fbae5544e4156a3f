#!/bin/sh
# Joint versus sequential compression (issue 22, item 7). For each model and
# target, the same data and the same number of training steps in every arm:
#   (a) prune,Q                           prune then PTQ, no training
#   (b) prune,distill,Q                   fine-tune, then PTQ (sequential)
#   (c) prune,Q,distill                   joint: one fine-tune through the masks
#                                         and the fake-quantized weights/activations
#   (d) prune:schedule=gradual,Q,distill  gradual pruning during the fine-tune
#   (e) (c) with learned scales           distill:lsq=true
# Targets: "2:4 + INT8" (prune:pattern=2:4, Q = quant) and "90 % + INT4"
# (prune:sparsity=0.9, Q = quant-weight:bits=4). An arm whose option this
# build lacks prints "n/a (not in this build)".
#
# Every arm compresses to a .ecc with --calib = the first SIZE Fashion-MNIST
# training images (quant calibrates on them, distill trains on them: val=0.1
# holds a tenth out) and distill:steps=EPOCHS*ceil(0.9*SIZE/64), once per seed
# (--seed 1..SEEDS: the shuffling). The .ecc is unpacked to ONNX and scored on
# the 10,000 test images by ONNX Runtime (Q/DQ as written) and by `ecc eval`.
# Accuracy is the ONNX Runtime one, mean and min–max over the seeds; "Δ vs (b)"
# is the per-seed difference to arm (b) of the same seed, and its mean. Arm (a)
# has no random choice (the seed only shuffles training): it runs once.
#
#   SEEDS=3 SIZE=10000 EPOCHS=1 TARGETS="24int8 90int4" ARMS="a b c d e" \
#       sh bench/joint_vs_sequential.sh [mlp cnn transformer]     (ECC=path/to/ecc)
# Models from the arguments, else MODELS, else "mlp cnn". Progress goes to
# stderr, the markdown table to stdout. docs/results.md has the measured table.
set -e
ECC=${ECC:-${BUILD:-build}/ecc}
. bench/lib.sh
ort_setup joint_vs_sequential
SEEDS=${SEEDS:-3}
SIZE=${SIZE:-10000}
EPOCHS=${EPOCHS:-1}
TARGETS=${TARGETS:-24int8 90int4}
ARMS=${ARMS:-a b c d e}
want() { case " $ARMS " in *" $1 "*) return 0 ;; esac; return 1; }
models=${*:-${MODELS:-mlp cnn}}
TRAIN="--calib $FM/train-images-idx3-ubyte.gz --calib-size $SIZE"
STEPS=$(( EPOCHS * ((SIZE - SIZE / 10 + 63) / 64) ))
D_OPT="distill:steps=$STEPS"

# Arms (d) and (e) need prune:schedule= and distill:lsq=; a build that does
# not list them prints n/a for the arm (so does a run refused with exit 1,
# "unknown option").
GRADUAL=0; LSQ=0
"$ECC" passes prune 2>/dev/null | grep -q ':schedule=' && GRADUAL=1
"$ECC" passes distill 2>/dev/null | grep -q ':lsq=' && LSQ=1

log() { echo "joint_vs_sequential: $*" >&2; }
acc_ort() { node tests/interop/ort_run.js "$1" --fmnist 10000 --accuracy |
    sed -n 's/^accuracy: \([0-9.]*\).*/\1/p'; }
distill_stat() { node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const p = r.passes.find(x => x.name === "distill");
    const v = !p ? undefined : process.argv[2] === "seconds" ? p.seconds : p.stats[process.argv[2]];
    console.log(v === undefined ? "-" : v)' "$1" "$2"; }

# run MODEL PASSES SEED OUTFILE: one arm, one seed; appends
# "seed ort ecc bytes train_s steps" to OUTFILE, or writes "na"/"fail N" there.
run() {
    if [ -f "$4" ] && head -n 1 "$4" | grep -qE '^(na|fail)'; then return; fi
    rm -f "$D/x.ecc" "$D/x.onnx" "$D/r.json"
    rc=0
    "$ECC" compress "testdata/$1.onnx" -o "$D/x.ecc" --passes "$2" $TRAIN --seed "$3" \
        --report "$D/r.json" -q 2>"$D/err" || rc=$?
    if [ $rc = 1 ] && grep -q 'unknown option' "$D/err"; then echo na >"$4"; return; fi
    if [ $rc != 0 ]; then
        cat "$D/err" >&2
        log "$1 $2 seed $3: exit $rc"
        echo "fail $rc" >"$4"
        return
    fi
    "$ECC" unpack "$D/x.ecc" -o "$D/x.onnx" -q
    o=$(acc_ort "$D/x.onnx")
    e=$(accuracy "$D/x.onnx" --data "$TEST" --labels "$LABELS")
    b=$(wc -c <"$D/x.ecc")
    echo "$3 $o $e $b $(distill_stat "$D/r.json" seconds) $(distill_stat "$D/r.json" steps)" >>"$4"
    log "$1 $2 seed $3: ORT $o, ecc $e, $b bytes"
}

# row MODEL TARGET ARM PASSES FILE: one table row from FILE (and $D/res.b).
row() {
    if [ "$(head -n 1 "$5")" = na ]; then
        printf '| %s | %s | %s | `%s` | n/a (not in this build) | | | | | | |\n' "$1" "$2" "$3" "$4"
        return
    fi
    if head -n 1 "$5" | grep -q '^fail'; then
        printf '| %s | %s | %s | `%s` | failed (exit %s) | | | | | | |\n' "$1" "$2" "$3" "$4" \
            "$(head -n 1 "$5" | cut -d' ' -f2)"
        return
    fi
    paired=-
    if [ "$3" != "(a)" ] && [ "$3" != "(b)" ] && [ -f "$D/res.b" ] &&
        ! head -n 1 "$D/res.b" | grep -qE '^(na|fail)'; then
        paired=$(awk 'NR == FNR { b[$1] = $2; next } ($1 in b) {
                d = ($2 - b[$1]) * 100; s = s (n ? ", " : "") sprintf("%+.2f", d); t += d; n++ }
            END { if (n) { m = sprintf("%+.2f", t / n); if (m == "-0.00") m = "+0.00"
                printf "%s (mean %s)", s, m } else printf "-" }' "$D/res.b" "$5" | sed 's/-0\.00/+0.00/g')
    fi
    awk -v m="$1" -v tg="$2" -v arm="$3" -v p="$4" -v fb="$FLOAT_BYTES" -v pd="$paired" '
        { o = $2 * 100; e += $3 * 100; by += $4; n++; s += o
          if (n == 1 || o < lo) lo = o; if (n == 1 || o > hi) hi = o
          if ($5 != "-") { ts += $5; tn++ }
          st = (n == 1) ? $6 : (st == $6 ? st : st "/" $6) }
        END {
          spread = (n > 1) ? sprintf(" (%.2f–%.2f)", lo, hi) : ""
          printf "| %s | %s | %s | `%s` | %.2f%s | %.2f | %s | %d | %.1f× | %s | %s |\n",
              m, tg, arm, p, s / n, spread, e / n, pd, by / n, fb / (by / n),
              st == "-" ? "0" : st, tn ? sprintf("%.1f", ts / tn) : "-" }' "$5"
}

log "$ECC, seeds 1..$SEEDS, $SIZE images, $STEPS distill steps per training arm, gradual=$GRADUAL lsq=$LSQ"
printf '| model | target | arm | pipeline | ORT top-1 %%, mean (min–max) | ecc eval %% | Δ vs (b) per seed, points | .ecc bytes | vs float .onnx | distill steps | train s |\n'
printf '|---|---|---|---|---|---|---|---|---|---|---|\n'
for m in $models; do
    FLOAT_BYTES=$(wc -c <"testdata/$m.onnx")
    fo=$(acc_ort "testdata/$m.onnx")
    fe=$(accuracy "testdata/$m.onnx" --data "$TEST" --labels "$LABELS")
    printf '| %s | float | | | %.2f | %.2f | | %d (.onnx) | 1× | | |\n' "$m" \
        "$(echo "$fo" | awk '{ print $1 * 100 }')" "$(echo "$fe" | awk '{ print $1 * 100 }')" "$FLOAT_BYTES"
    for t in $TARGETS; do
        case $t in
        24int8) P=prune:pattern=2:4; Q=quant; tn="2:4 + INT8" ;;
        90int4) P=prune:sparsity=0.9; Q=quant-weight:bits=4; tn="90 % + INT4" ;;
        *) log "unknown target $t (24int8, 90int4)"; exit 1 ;;
        esac
        A="$P,$Q"
        B="$P,$D_OPT,$Q"
        C="$P,$Q,$D_OPT"
        G="$P:schedule=gradual,$Q,$D_OPT"
        L="$P,$Q,$D_OPT:lsq=true"
        rm -f "$D"/res.*
        if want a; then run "$m" "$A" 1 "$D/res.a"; fi
        s=1
        while [ $s -le "$SEEDS" ]; do
            if want b; then run "$m" "$B" $s "$D/res.b"; fi
            if want c; then run "$m" "$C" $s "$D/res.c"; fi
            if ! want d; then :; elif [ $GRADUAL = 1 ]; then run "$m" "$G" $s "$D/res.d"; else echo na >"$D/res.d"; fi
            if ! want e; then :; elif [ $LSQ = 1 ]; then run "$m" "$L" $s "$D/res.e"; else echo na >"$D/res.e"; fi
            s=$((s + 1))
        done
        if want a; then row "$m" "$tn" "(a)" "$A" "$D/res.a"; fi
        if want b; then row "$m" "$tn" "(b)" "$B" "$D/res.b"; fi
        if want c; then row "$m" "$tn" "(c)" "$C" "$D/res.c"; fi
        if want d; then row "$m" "$tn" "(d)" "$G" "$D/res.d"; fi
        if want e; then row "$m" "$tn" "(e)" "$L" "$D/res.e"; fi
    done
done
