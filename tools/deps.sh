#!/bin/sh
# Installs the Debian packages (and the npm package for interop tests) that
# are missing. Runs `apt-get update` once, only when something is missing.
set -e
PKGS="gcc make libc6-dev libprotobuf-c-dev protobuf-c-compiler libonnx-dev \
liblapacke-dev libopenblas-dev libzstd-dev libcmocka-dev libcjson-dev zlib1g-dev libpng-dev libjpeg-dev libmd-dev \
libonnx-testdata dataset-fashion-mnist python3-onnx python3-numpy nodejs npm valgrind time"
missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed"; then
        # nodesource's nodejs bundles npm: accept a working npm binary
        if [ "$p" = npm ] && command -v npm >/dev/null 2>&1; then continue; fi
        missing="$missing $p"
    fi
done
if [ -n "$missing" ]; then
    echo "deps: installing:$missing"
    SUDO=""
    if [ "$(id -u)" != 0 ]; then
        if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
            echo "deps: error: missing packages:$missing (run as root)" >&2; exit 3; fi
    fi
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q $missing
fi
ORT=tests/interop/node_modules/onnxruntime-node/package.json
if [ ! -f "$ORT" ] && [ -f tests/interop/package.json ]; then
    echo "deps: npm install onnxruntime-node (interop tests)"
    (cd tests/interop && npm install --ignore-scripts --no-audit --no-fund --loglevel=error)
fi
