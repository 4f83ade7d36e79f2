#!/usr/bin/env bash
# The whole test suite, as CI runs it:
#   1. the release build (CUDA kernels compiled where nvcc exists) and every doctest suite via ctest;
#   2. the same suites built with AddressSanitizer + UndefinedBehaviorSanitizer (build-asan);
#   3. each libFuzzer target for CTQ_FUZZ_SECONDS (default 60) seconds (build-fuzz).
# CTQ_QUICK=1 runs step 1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)}
# ctest runs $(nproc) suites at once, each with $(nproc) OpenMP threads. Spinning idle threads
# (libgomp's default) then take the cores from the other suites: on 2 cores two suites ran 3x
# slower side by side than one after the other, and a slower CI machine hit the 1200 s timeout.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
jobs=$(nproc)
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
# ctest's own count of one stage ("... out of N"); the stages' sum is printed at the end.
count() { grep -oE "tests failed out of [0-9]+" "$1" | grep -oE "[0-9]+$" | tail -1; }

echo "== 1/3 release build and tests"
bash scripts/build.sh
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure -j"$jobs" | tee "$logs/release.log"
release=$(count "$logs/release.log")
if [ "${CTQ_QUICK:-0}" = 1 ]; then
    echo "tests: $release passed, 0 failed"
    exit 0
fi

echo "== 2/3 ASan + UBSan build and tests"
bash scripts/deps.sh clang libclang-rt-14-dev
# Leak checking stays on for our code; LibTorch's one-time allocations at exit are not leaks
# of ours, so they are suppressed by library name.
export LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp:print_suppressions=0"
export ASAN_OPTIONS="abort_on_error=0:detect_odr_violation=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
BUILD_DIR=build-asan BUILD_TYPE=RelWithDebInfo CTQ_CMAKE_ARGS="-DCTQ_SANITIZE=ON -DCTQ_CUDA=OFF" bash scripts/build.sh
ctest --test-dir build-asan --output-on-failure -j"$jobs" | tee "$logs/asan.log"
asan=$(count "$logs/asan.log")

echo "== 3/3 fuzzing, ${CTQ_FUZZ_SECONDS:-60} s per target"
bash scripts/fuzz.sh "${CTQ_FUZZ_SECONDS:-60}"
# Every stage above stops the script on a failure, so reaching here means all passed.
echo "release build $release, sanitizer build $asan, fuzz targets 2"
echo "tests: $((release + asan + 2)) passed, 0 failed"
