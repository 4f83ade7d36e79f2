#!/usr/bin/env bash
# How a learned run scales with layers in flight, ON the GPU machine in one call: wall and CPU time
# of the FP8 bench run at 1-8 layers in flight (/usr/bin/time: user, sys, context switches), and,
# where Nsight Systems is installed (it was not on the H200 of 2026-12-04), its CUDA API, OS
# runtime and kernel summaries (CSV under $OUT).
#   run(command="bash bench/inflight_profile.sh", carry=[".vendor"])
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/ctq-out}; mkdir -p "$OUT"
L=/tmp/logs; mkdir -p $L
CTQ_SKIP_CTEST=1 CTQ_GPU_TESTS='^$' OUT=$L bash scripts/gpu/build_and_test.sh ctq > $L/b.log 2>&1 || { tail -30 $L/b.log; exit 1; }
C=build-gpu/bin/ctq; M=/tmp/ctq-bench/flux_bench.safetensors; mkdir -p /tmp/ctq-bench
[ -f $M ] || $C demo-model $M --hidden 3072 --double_blocks 2 --single_blocks 0 > /dev/null
cat $M > /dev/null
run() { /usr/bin/time -f "%e s wall, %U s user, %S s sys, %c involuntary / %w voluntary switches" env "$@" $C -i $M -o /tmp/o.safetensors --device cuda --manual_seed 1 --no_progress 2>&1 | tail -1; }
echo "== layers in flight, FP8"
for d in 1 2 4 6 8; do echo "inflight $d: $(run CTQ_LEARNED_INFLIGHT=$d)"; done
NSYS=$(command -v nsys || ls /usr/local/cuda/bin/nsys /opt/nvidia/nsight-systems/*/bin/nsys 2>/dev/null | head -1)
echo "== nsys: ${NSYS:-none}"
if [ -n "$NSYS" ]; then
    $NSYS profile -q --trace=cuda,osrt --sample=none --cpuctxsw=none -o /tmp/prof -f true $C -i $M -o /tmp/o.safetensors --device cuda --manual_seed 1 --no_progress > /dev/null 2>&1
    $NSYS stats -q --report cuda_api_sum --report osrt_sum --report cuda_gpu_kern_sum --format csv -o $OUT/nsys /tmp/prof.nsys-rep > /dev/null 2>&1
    ls $OUT
    for f in $OUT/nsys*cuda_api_sum*.csv $OUT/nsys*osrt_sum*.csv; do echo "-- $f"; head -12 "$f" | cut -d, -f1-9; done
fi
