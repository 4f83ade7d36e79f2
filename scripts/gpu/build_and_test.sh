#!/usr/bin/env bash
# Run ON the GPU machine (Ubuntu 24.04, gcc 13, nvcc 13, PyTorch with CUDA, no network), from
# the repository root, after scripts/gpu/prepare_vendor.sh has filled .vendor/ here (the device
# tool must carry it: carry=[".vendor"]).
#   scripts/gpu/build_and_test.sh [cmake targets...]     default: everything
# Environment:
#   CTQ_GPU_BUILD_DIR  build folder (default build-gpu)
#   CTQ_GPU_TESTS      regex of gpu_test_* binaries to run (default: all built)
#   CTQ_CTEST_REGEX    ctest -R filter (default: all); CTQ_SKIP_CTEST=1 skips ctest
#   OUT                when set, full logs are written there too
#   CTQ_CMAKE_ARGS     extra configure arguments (e.g. -DCTQ_KINETO_PROFILE=ON)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${CTQ_GPU_BUILD_DIR:-$root/build-gpu}
jobs=$(nproc)
log_dir=${OUT:-$build/logs}
mkdir -p "$log_dir"

torch_prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
vendor=$root/.vendor/boost_program_options
args=(-S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCTQ_CUDA=ON
      -DCMAKE_CUDA_ARCHITECTURES=90 -DCMAKE_PREFIX_PATH="$torch_prefix" ${CTQ_CMAKE_ARGS:-})
if [ -f "$vendor/src/cmdline.cpp" ]; then
    args+=(-DCTQ_VENDOR_PROGRAM_OPTIONS="$vendor")
else
    echo "build_and_test: no $vendor (run scripts/gpu/prepare_vendor.sh first); trying the system library"
fi
# LibTorch's CMake config looks for nvcc through CUDA_TOOLKIT_ROOT_DIR / PATH.
[ -x /usr/local/cuda/bin/nvcc ] && export PATH=/usr/local/cuda/bin:$PATH

echo "== configure"
cmake "${args[@]}" > "$log_dir/configure.log" 2>&1 || { tail -40 "$log_dir/configure.log"; exit 1; }
grep -E "ctq: CUDA|Found Torch|Boost" "$log_dir/configure.log" || true

echo "== build ($jobs jobs${1:+, targets: $*})"
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$build" -j "$jobs" "${targets[@]}" > "$log_dir/build.log" 2>&1 ||
    { grep -E "error|FAILED" "$log_dir/build.log" | head -40; tail -20 "$log_dir/build.log"; exit 1; }
echo "build ok"

status=0
echo "== GPU tests"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
for t in "$build"/bin/gpu_test_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    [[ -n "${CTQ_GPU_TESTS:-}" && ! "$name" =~ $CTQ_GPU_TESTS ]] && continue
    echo "-- $name"
    if (cd "$root" && "$t" 2>&1 | tee "$log_dir/$name.log" | grep -E "RESULT|test cases|assertions|ERROR|FAILED|Status"); then
        grep -q "Status: SUCCESS" "$log_dir/$name.log" || status=1
    else
        status=1
    fi
done

if [ "${CTQ_SKIP_CTEST:-0}" != 1 ]; then
    echo "== ctest"
    ctest_args=(--test-dir "$build" --output-on-failure -j "$jobs")
    [ -n "${CTQ_CTEST_REGEX:-}" ] && ctest_args+=(-R "$CTQ_CTEST_REGEX")
    ctest "${ctest_args[@]}" > "$log_dir/ctest.log" 2>&1 || status=1
    grep -E "tests passed|Failed|\*\*\*|Not Run" "$log_dir/ctest.log" | head -40
fi
exit $status
