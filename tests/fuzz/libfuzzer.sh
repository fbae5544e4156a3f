#!/bin/sh
# `make fuzz`: builds every tests/fuzz/*.c harness with clang's libFuzzer
# against the library in $BUILD (already compiled with -fsanitize=fuzzer-no-link
# and ASan/UBSan by the Makefile), then runs each for $FUZZ_SECONDS seconds on
# a working copy of its seed corpus ($BUILD/corpus/<harness>, kept between
# runs so coverage accumulates). Crashes land in $BUILD/crashes/<harness>/.
# Seeds: fuzz_onnx_read testdata/bad + testdata/edge; fuzz_artifact testdata/artifact;
# fuzz_pipeline testdata/edge + the CNN and transformer.
set -u
BUILD=${BUILD:-build-fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
SAN=${SAN:-"-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"}
LDLIBS=${LDLIBS:-"-lprotobuf-c -lcjson -lzstd -llapacke -lopenblas -lz -lpng -ljpeg -lm -ldl -lpthread"}
WARN="-std=c11 -Wall -Wextra -Wshadow -Werror -Wno-missing-field-initializers -D_GNU_SOURCE"
status=0
mkdir -p "$BUILD/fuzz"
for src in tests/fuzz/*.c; do
    h=$(basename "$src" .c)
    case $h in
        fuzz_onnx_read) seeds="testdata/bad testdata/edge" ;;
        fuzz_artifact) seeds="testdata/artifact" ;;
        fuzz_pipeline) seeds="testdata/edge testdata/cnn.onnx testdata/transformer.onnx" ;;
        *) seeds="testdata" ;;
    esac
    echo "=== $h ($FUZZ_SECONDS s, seeds: $seeds)"
    # shellcheck disable=SC2086
    clang $WARN -O1 -g $SAN -fsanitize=fuzzer -DECC_LIBFUZZER -Icompress -I"$BUILD/gen" \
        -Iformats/onnx -o "$BUILD/fuzz/$h" "$src" "$BUILD/libecc.a" $LDLIBS || exit 3
    corpus="$BUILD/corpus/$h"
    mkdir -p "$corpus" "$BUILD/crashes/$h"
    for s in $seeds; do find "$s" -type f ! -name '*.md' -exec cp -n {} "$corpus/" \; ; done
    if ! "$BUILD/fuzz/$h" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -timeout=20 \
        -artifact_prefix="$BUILD/crashes/$h/" -print_final_stats=1 "$corpus" 2>"$BUILD/fuzz/$h.log"; then
        echo "FAILED: $h (see $BUILD/fuzz/$h.log and $BUILD/crashes/$h/)"
        tail -n 40 "$BUILD/fuzz/$h.log"
        status=1
    else
        grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb)" "$BUILD/fuzz/$h.log"
    fi
done
exit $status
