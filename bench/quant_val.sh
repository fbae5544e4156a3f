#!/bin/sh
# quant_val.sh — chooses W8A8 calibration settings on held-out data, never on
# the test set. The held-out set is Fashion-MNIST training images
# 50,000–59,999: disjoint from the calibration images (the first 256) and
# from the 10,000 test images the other benches score. For each testdata
# model and each setting it prints top-1 agreement with the float model and
# accuracy on the held-out set, for every calibration method with and
# without bias correction, each written out (so the table does not move when
# a default does). Rule: `quant`'s default is the setting with the highest
# mean agreement over the three models.
#   sh bench/quant_val.sh            (ECC=path/to/ecc to use another binary)
set -e
ECC=${ECC:-${BUILD:-build}/ecc}
. bench/lib.sh
heldout_setup quant_val
agree() { "$ECC" compare "$D/float_$1" "$2" --data "$D/x.npy" |
          sed -n 's/.*top-1 agreement [0-9]*\/[0-9]* (\([0-9.]*\)).*/\1/p'; }
for m in mlp cnn transformer; do
    "$ECC" run testdata/$m.onnx --data "$D/x.npy" -o "$D/float_$m" -q
done
echo "== held-out agreement with float (accuracy), train images 50000-59999"
printf '| setting | mlp | cnn | transformer | mean agreement |\n|---|---|---|---|---|\n'
for method in minmax mse percentile:percentile=99.999 entropy; do
    for bc in false true; do
        opts=":method=$method:bias_correction=$bc"
        row="| quant$opts |" sum=0
        for m in mlp cnn transformer; do
            "$ECC" compress testdata/$m.onnx -o "$D/q.onnx" --passes "quant$opts" $CAL -q
            a=$(agree $m "$D/q.onnx")
            row="$row $a ($(acc "$D/q.onnx")) |"
            sum=$(awk "BEGIN { print $sum + $a }")
        done
        echo "$row $(awk "BEGIN { printf \"%.5f\", $sum / 3 }") |"
    done
done
