#!/bin/sh
# One-shot pruning accuracy table (issue 4's acceptance): the MLP and the CNN
# pruned at 50/70/80 % unstructured by each criterion, and 2:4,
# scored on the 10,000 Fashion-MNIST test images by `ecc eval` and by ONNX
# Runtime (tests/interop/ort_run.js) on the same emitted file. Calibration:
# 256 training images. The peer is magnitude pruning (the default, global
# scope) in the same run: each row prints its difference to it. Wanda and
# SparseGPT fold the mean shift of the removed weights into the bias by
# default (bias_correct, chosen on held-out data by bench/prune_val.sh); the
# bias_correct=false rows show their masks alone, the magnitude
# bias_correct=true row magnitude with the same correction. A last table
# prunes one CNN layer at a time (ecc eval only).
#
#   sh bench/prune_table.sh            (ECC=path/to/ecc to use another binary)
set -e
ECC=${ECC:-${BUILD:-build}/ecc}
FM=/usr/share/datasets/fashion-mnist
CAL="--calib $FM/train-images-idx3-ubyte.gz --calib-size 256"
EVAL="--data $FM/t10k-images-idx3-ubyte.gz --labels $FM/t10k-labels-idx1-ubyte.gz"
D=$(mktemp -d /tmp/ecc_prune_table.XXXXXX)
trap 'rm -rf "$D"' EXIT
have_ort() { command -v node >/dev/null 2>&1 && [ -d tests/interop/node_modules/onnxruntime-node ]; }

. bench/lib.sh
acc_ecc() { accuracy "$1" $EVAL; }
acc_ort() {
    if have_ort; then node tests/interop/ort_run.js "$1" --fmnist 10000 --accuracy |
        sed -n 's/^accuracy: \([0-9.]*\).*/\1/p'; else echo "-"; fi
}
pts() { node -e "console.log(((process.argv[1]-process.argv[2])*100).toFixed(2))" "$1" "$2"; }

printf '| model | spec | ecc eval | ORT | drop vs float (pts) | vs magnitude (pts) |\n|---|---|---|---|---|---|\n'
for m in mlp cnn; do
    float=$(acc_ecc testdata/$m.onnx)
    printf '| %s | float | %s | %s | 0 | |\n' $m "$float" "$(acc_ort testdata/$m.onnx)"
    for s in 0.5 0.7 0.8; do
        mag=""
        for spec in "prune:sparsity=$s" "prune:sparsity=$s:scope=layer" \
            "prune:sparsity=$s:method=wanda" "prune:sparsity=$s:method=sparsegpt" \
            "prune:sparsity=$s:method=wanda:bias_correct=false" \
            "prune:sparsity=$s:method=sparsegpt:bias_correct=false" \
            "prune:sparsity=$s:bias_correct=true"; do
            "$ECC" compress testdata/$m.onnx -o "$D/p.onnx" --passes "$spec" $CAL -q
            a=$(acc_ecc "$D/p.onnx")
            [ -n "$mag" ] || mag=$a
            printf '| %s | `%s` | %s | %s | %s | %s |\n' $m "$spec" "$a" "$(acc_ort "$D/p.onnx")" \
                "$(pts "$float" "$a")" "$(pts "$a" "$mag")"
        done
    done
    for spec in "prune:pattern=2:4" "prune:pattern=2:4:method=sparsegpt" \
        "prune:pattern=2:4:method=wanda" "prune:pattern=2:4:method=wanda:bias_correct=false"; do
        "$ECC" compress testdata/$m.onnx -o "$D/p.onnx" --passes "$spec" $CAL -q
        a=$(acc_ecc "$D/p.onnx")
        printf '| %s | `%s` | %s | %s | %s | |\n' $m "$spec" "$a" "$(acc_ort "$D/p.onnx")" \
            "$(pts "$float" "$a")"
    done
done

# Where Wanda's mask alone loses on the CNN: one layer at a time at 80 % (the
# rest dense).
printf '\n| cnn, one layer at 80 %% | magnitude | magnitude + bias_correct | wanda, mask alone | wanda | sparsegpt |\n'
printf '|---|---|---|---|---|---|\n'
for layer in conv2 res_a res_b; do
    row="| $layer |"
    for method in magnitude magnitude:bias_correct=true wanda:bias_correct=false wanda sparsegpt; do
        "$ECC" compress testdata/cnn.onnx -o "$D/p.onnx" $CAL -q \
            --passes "prune:sparsity=0.8:scope=layer:method=$method:include=$layer.weight"
        row="$row $(acc_ecc "$D/p.onnx") |"
    done
    echo "$row"
done
