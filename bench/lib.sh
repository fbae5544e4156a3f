# lib.sh — what the bench scripts share (sourced; they set ECC first).
#   accuracy MODEL EVAL-ARGS...   the top-1 accuracy `ecc eval` prints (0..1)
accuracy() {
    model=$1
    shift
    "$ECC" eval "$model" "$@" -q | sed -n 's/^accuracy: \([0-9.]*\).*/\1/p'
}
