#!/bin/sh
# Regenerates testdata/artifact/ (the .ecc seed corpus and its bad inputs)
# with the current build: sh testdata/gen/make_artifact_seeds.sh [BUILD]
# Run from the repository root after `make` (needs BUILD/tests/tools/make_artifact_seeds).
set -e
BUILD=${1:-build}
make --no-print-directory "$BUILD/tests/tools/make_artifact_seeds" >/dev/null
rm -f testdata/artifact/*.ecc testdata/artifact/bad/*.ecc testdata/artifact/payload/*.bin
mkdir -p testdata/artifact/bad testdata/artifact/payload
"$BUILD/tests/tools/make_artifact_seeds" testdata/artifact
ls -l testdata/artifact testdata/artifact/bad testdata/artifact/payload
