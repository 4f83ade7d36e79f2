#!/usr/bin/env bash
# Installs what the build needs and builds ctq into build/ (executable build/bin/ctq, plugins in
# build/bin/plugins). Extra CMake arguments: CTQ_CMAKE_ARGS="-DCTQ_CUDA=OFF" scripts/build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
BUILD_DIR=${BUILD_DIR:-build}
# shellcheck disable=SC2086
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-Release} ${CTQ_CMAKE_ARGS:-} >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
