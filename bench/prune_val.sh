#!/bin/sh
# prune_val.sh — chooses `prune`'s bias_correct default for the criteria that
# read calibration data (wanda, sparsegpt) on held-out data, never on the test
# set. Held-out set: Fashion-MNIST training images 50,000–59,999 (lib.sh's
# heldout_set), disjoint from the 256 calibration images and from the test
# set. For the MLP and the CNN at 50 / 70 / 80 % unstructured and at 2:4,
# every criterion with and without bias correction, each written out (so the
# table does not move when a default does), prints held-out accuracy.
# Rule: for wanda and for sparsegpt, the default is the bias_correct setting
# with the higher mean held-out accuracy over those 8 cells. Magnitude's
# default stays data-free (bias correction needs --calib); its rows are
# shown for comparison.
#   sh bench/prune_val.sh            (ECC=path/to/ecc to use another binary)
set -e
ECC=${ECC:-${BUILD:-build}/ecc}
. bench/lib.sh
heldout_setup prune_val
echo "== held-out accuracy, train images 50000-59999"
printf '| setting | mlp 50 %% | mlp 70 %% | mlp 80 %% | mlp 2:4 | cnn 50 %% | cnn 70 %% | cnn 80 %% | cnn 2:4 | mean |\n'
printf '|---|---|---|---|---|---|---|---|---|---|\n'
printf '| float | %s | | | | %s | | | | |\n' "$(acc testdata/mlp.onnx)" "$(acc testdata/cnn.onnx)"
for method in magnitude wanda sparsegpt; do
    for bc in false true; do
        row="| method=$method:bias_correct=$bc |" sum=0
        for m in mlp cnn; do
            for shape in sparsity=0.5 sparsity=0.7 sparsity=0.8 pattern=2:4; do
                "$ECC" compress testdata/$m.onnx -o "$D/p.onnx" $CAL -q \
                    --passes "prune:$shape:method=$method:bias_correct=$bc"
                a=$(acc "$D/p.onnx")
                row="$row $a |"
                sum=$(awk "BEGIN { print $sum + $a }")
            done
        done
        echo "$row $(awk "BEGIN { printf \"%.5f\", $sum / 8 }") |"
    done
done
