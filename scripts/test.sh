#!/usr/bin/env bash
# Builds (if needed) and runs the whole test suite through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)}
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure -j"$(nproc)"
