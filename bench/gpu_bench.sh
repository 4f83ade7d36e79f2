#!/usr/bin/env bash
# Builds, tests and benchmarks ctq ON the GPU machine in one call, from the repository root.
# The device call carries what the machine cannot fetch (all git-ignored, prepared here):
#   .vendor  Boost.Program_options sources   (scripts/gpu/prepare_vendor.sh)
#   .shared  a copy of ../shared/golden       (cp -r ../shared/golden .shared/)
#   .comfy   ComfyUI + comfy-kitchen sources and the checker (../shared/comfy_check/assemble_comfyui_src.sh)
#   .ref     the reference tool convert_to_quant at ee83a4d + prodigyplus, and a scipy stand-in
#            (.ref, .comfy and .shared: scripts/gpu/prepare_reference.sh)
# e.g. run(command="bash bench/gpu_bench.sh", carry=[".vendor", ".shared", ".comfy", ".ref"])
#   bench/gpu_bench.sh [sections...]   sections: build tests rtn gemm comfy learned inflight (default: all
#   but inflight)
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
OUT=${OUT:-/tmp/ctq-out}
mkdir -p "$OUT"
# Everything printed also lands in $OUT/bench.log, which comes back even if the call times out.
exec > >(tee "$OUT/bench.log") 2>&1
sections=${*:-build tests rtn gemm comfy learned}
has() { [[ " $sections " == *" $1 "* ]]; }
CTQ=$root/build-gpu/bin/ctq
W=/tmp/ctq-bench
mkdir -p "$W"
# Tests read ../shared/golden relative to the repository root, as in CI.
[ -e ../shared/golden ] || { mkdir -p ../shared && ln -sfn "$root/.shared/golden" ../shared/golden; }
export PYTHONUNBUFFERED=1

now() { date +%s.%N; }
# timed LABEL CMD...: one end-to-end run (process start included), its seconds and exit status.
timed() {
    local label=$1 s e rc; shift
    s=$(now); "$@" > "$OUT/run.log" 2>&1; rc=$?; e=$(now)
    printf '%-58s %8.3f s  rc=%d\n' "$label" "$(awk "BEGIN{print $e - $s}")" "$rc"
    [ $rc -eq 0 ] || tail -5 "$OUT/run.log"
    grep -E "^Time:" "$OUT/run.log" | sed 's/^/    /'
    return 0
}
reference() { PYTHONPATH="$root/.ref:$root/.ref/shims" python3 -m convert_to_quant.convert_to_quant "$@"; }

if has build; then
    echo "== build"; nproc; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
    # CTQ_BENCH_TARGETS=ctq builds the tool alone (plugins and engine come with it).
    CTQ_SKIP_CTEST=1 CTQ_GPU_TESTS='^$' bash scripts/gpu/build_and_test.sh ${CTQ_BENCH_TARGETS:-} || exit 1
fi
if has tests; then
    echo "== GPU tests and ctest"
    CTQ_GPU_BUILD_DIR=$root/build-gpu bash scripts/gpu/build_and_test.sh
    for t in $(grep -oE "[0-9]+ - test_[a-z0-9_]+ \(SEGFAULT\)" "$OUT/ctest.log" | awk '{print $3}'); do
        echo "-- backtrace of $t"
        cuda-gdb -batch -ex run -ex bt "$root/build-gpu/bin/$t" 2>&1 | grep -E "^#|signal" | head -25
    done
fi
if has rtn; then
    M=$W/flux_bench.safetensors
    [ -f "$M" ] || "$CTQ" demo-model "$M" --hidden 3072 --double_blocks 2 --single_blocks 0
    ls -l "$M"; sync; cat "$M" > /dev/null
    echo "== floors (input in the page cache)"
    timed "read input (cat > /dev/null)" cat "$M"
    timed "copy input (cp)" cp "$M" "$W/copy.safetensors"; rm -f "$W/copy.safetensors"
    echo "== round-to-nearest, end to end"
    for mode in "" "--int8 --scaling_mode row" "--int8 --scaling_mode block"; do
        for dev in cuda cpu; do
            for rep in 1 2; do
                timed "ctq --simple $mode --device $dev (#$rep)" "$CTQ" -i "$M" -o "$W/ours.safetensors" --simple $mode --device "$dev" --no_progress
            done
        done
        # The reference refuses block-wise INT8 for shapes not divisible by 128 (the 64-wide in/out
        # layers) unless --heur skips them; ctq quantizes them with partial tiles.
        heur=""; [[ "$mode" == *block* ]] && heur="--heur"
        [ "${CTQ_BENCH_REFERENCE:-1}" != 0 ] && timed "reference --simple $mode $heur (cuda)" reference -i "$M" -o "$W/ref.safetensors" --simple --comfy_quant $mode $heur --optimizer original
        if [ -f "$W/ref.safetensors" ]; then
            "$CTQ" verify --orig "$M" --quant "$W/ours.safetensors" --no_subspace | tail -1 | sed 's/^/  ours: /'
            "$CTQ" verify --orig "$M" --quant "$W/ref.safetensors" --no_subspace | tail -1 | sed 's/^/  reference: /'
        fi
        rm -f "$W/ours.safetensors" "$W/ref.safetensors"
    done
fi
if has gemm; then
    echo "== BF16 matmul of the INT8 block GEMM's shapes (torch, CUDA events after warm-up)"
    python3 - <<'PY'
import torch
for m, k, n in [(256, 3072, 3072), (4096, 3072, 3072)]:
    x = torch.randn(m, k, device="cuda", dtype=torch.bfloat16)
    w = torch.randn(n, k, device="cuda", dtype=torch.bfloat16)
    for _ in range(10): x @ w.T
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    s.record()
    for _ in range(50): x @ w.T
    e.record(); torch.cuda.synchronize()
    ms = s.elapsed_time(e) / 50
    print(f"RESULT bf16 matmul {m}x{k}x{n}: {ms:.4f} ms, {2*m*k*n/ms/1e9:.1f} TFLOP/s")
PY
    "$root/build-gpu/bin/gpu_test_int8_kernels" 2>&1 | grep -o "RESULT int8 block GEMM.*"
fi
if has comfy; then
    echo "== ComfyUI load check (tiny_flux)"
    G=$root/.shared/golden/tiny_flux.safetensors
    while read -r name args; do
        "$CTQ" -i "$G" -o "$W/c_$name.safetensors" --simple --no_progress $args > "$OUT/convert_$name.log" 2>&1 || { echo "$name: convert failed"; tail -3 "$OUT/convert_$name.log"; continue; }
        python3 .comfy/check_comfy_load.py --comfy-src .comfy/comfyui_src --quant "$W/c_$name.safetensors" --orig "$G" \
            --json "$OUT/comfy_$name.json" > "$OUT/comfy_$name.log" 2>&1
        echo "$name ($args): $(grep RESULT "$OUT/comfy_$name.log")"
    done <<'LIST'
fp8_e4m3fn
fp8_e5m2 --format float8_e5m2
int8_tensorwise --int8 --scaling_mode tensor
int8_rowwise --int8 --scaling_mode row
int8_rowwise_convrot --int8 --scaling_mode row --dynamic_convrot
LIST
fi
if has learned; then
    # CTQ_BENCH_REFERENCE=0 skips the reference's learned runs (minutes) when only ctq changed.
    echo "== learned rounding on the bench model"
    M=$W/flux_bench.safetensors
    [ -f "$M" ] || "$CTQ" demo-model "$M" --hidden 3072 --double_blocks 2 --single_blocks 0
    # Quality is measured in the exact top-k subspace (the randomized one can flatter a rounding).
    verify() { "$CTQ" verify --full_matrix --device cuda "$@"; }
    modes=()  # CTQ_BENCH_LEARNED=fp8 or int8 runs one format only
    [ "${CTQ_BENCH_LEARNED:-both}" != int8 ] && modes+=("")
    [ "${CTQ_BENCH_LEARNED:-both}" != fp8 ] && modes+=("--int8 --scaling_mode row")
    for mode in "${modes[@]}"; do
        tag=${mode// /_}
        "$CTQ" -i "$M" -o "$W/n.safetensors" --simple $mode --no_progress > /dev/null 2>&1 &&
            verify --orig "$M" --quant "$W/n.safetensors" > "$W/verify_rtn.txt" 2>&1
        # Timed without the engine trace (it waits for the device at every phase); CTQ_BENCH_TRACE=1
        # adds an untimed traced run, CTQ_BENCH_BOUND=1 one with --subspace_bound (the certified floor).
        # CTQ_BENCH_REPS runs of ours (default 3): one H200 call varies by a few %, more between calls.
        # They are the user's plain command, as the reference's is; a last run adds --report, which
        # measures every layer against the original on the CPU (its cost is shown, not compared).
        for rep in $(seq "${CTQ_BENCH_REPS:-3}"); do
            timed "ctq learned $mode --device cuda (#$rep)" "$CTQ" -i "$M" -o "$W/l.safetensors" $mode --device cuda --manual_seed 1 --no_progress ${CTQ_BENCH_LEARNED_FLAGS:-}
        done
        timed "ctq learned $mode --device cuda --report" "$CTQ" -i "$M" -o "$W/l.safetensors" $mode --device cuda --manual_seed 1 --report "$OUT/learned$tag.json" --no_progress ${CTQ_BENCH_LEARNED_FLAGS:-}
        if [ "${CTQ_BENCH_TRACE:-0}" = 1 ]; then
            CTQ_ENGINE_TRACE=1 "$CTQ" -i "$M" -o "$W/t.safetensors" $mode --device cuda --manual_seed 1 --no_progress > "$OUT/ours_learned$tag.log" 2>&1
            grep "^\[engine\]" "$OUT/ours_learned$tag.log" | tail -1 | grep -o "run so far.*" | sed 's/^/  trace: /'
        fi
        if [ "${CTQ_BENCH_BOUND:-0}" = 1 ]; then
            "$CTQ" -i "$M" -o "$W/t.safetensors" $mode --device cuda --manual_seed 1 --no_progress --subspace_bound \
                --report "$OUT/bound$tag.json" > /dev/null 2>&1 &&
                python3 - "$OUT/bound$tag.json" <<'PY'
import json, statistics, sys
layers = json.load(open(sys.argv[1]))["layers"]
b = [l["subspace_bound_vs_nearest"] for l in layers]
r = [l["subspace_vs_nearest"] for l in layers]
print(f"  bound: {len(b)} layers; certified floor median {statistics.median(b):.3f}x, highest {max(b):.3f}x; "
      f"{sum(x > 0.6 for x in b)} layers where no rounding within the cap reaches 0.6x; "
      f"ours / floor median {statistics.median([x / y for x, y in zip(r, b) if y > 0]):.3f}")
print(f"  {sum(x > 0.6 for x in r)} layers above 0.6x (each below, with its floor):")
for l in layers:
    if l["subspace_vs_nearest"] > 0.6 or l["subspace_bound_vs_nearest"] > 0.6:
        print(f"    {l['name']} {l['shape']}: ours {l['subspace_vs_nearest']:.3f}x, floor {l['subspace_bound_vs_nearest']:.3f}x")
PY
        fi
        rm -f "$W/t.safetensors"
        [ -f "$W/l.safetensors" ] && verify --orig "$M" --quant "$W/l.safetensors" > "$W/verify_ours.txt" 2>&1
        compare=(ours="$W/verify_ours.txt")
        if [ "${CTQ_BENCH_REFERENCE:-1}" != 0 ]; then
            timed "reference learned $mode (prodigy defaults)" reference -i "$M" -o "$W/r.safetensors" --comfy_quant $mode --manual_seed 1
            [ -f "$W/r.safetensors" ] && verify --orig "$M" --quant "$W/r.safetensors" > "$W/verify_ref.txt" 2>&1 &&
                compare+=(reference="$W/verify_ref.txt")
        fi
        python3 bench/compare_verify.py "$W/verify_rtn.txt" "${compare[@]}" | sed 's/^/  /'
        rm -f "$W/l.safetensors" "$W/r.safetensors" "$W/n.safetensors" "$W"/verify_*.txt
    done
fi
if has inflight; then
    # Learned layers in flight at once (CTQ_LEARNED_INFLIGHT), compared in one call; same bytes.
    echo "== learned rounding, layers in flight"
    M=$W/flux_bench.safetensors
    [ -f "$M" ] || "$CTQ" demo-model "$M" --hidden 3072 --double_blocks 2 --single_blocks 0
    for mode in "" "--int8 --scaling_mode row"; do
        for depth in ${CTQ_BENCH_DEPTHS:-1 2 3}; do
            CTQ_LEARNED_INFLIGHT=$depth timed "ctq learned $mode --device cuda, $depth in flight" \
                "$CTQ" -i "$M" -o "$W/l$depth.safetensors" $mode --device cuda --manual_seed 1 --no_progress
        done
        for depth in ${CTQ_BENCH_DEPTHS:-1 2 3}; do
            cmp -s "$W/l1.safetensors" "$W/l$depth.safetensors" || echo "  $depth in flight: output DIFFERS from 1 in flight"
        done
        rm -f "$W"/l?.safetensors
    done
fi
