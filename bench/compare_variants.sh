#!/usr/bin/env bash
# Compares variants of ctq's learned rounding in ONE call on the GPU machine (machines differ by
# ~10 %, so only figures from one call compare). A variant is a set of environment assignments,
# commas between them; X=1 is the plain run. Each variant runs REPS times, the variants taking
# turns (timed by bench/tsrun.py end to end), is checked by `ctq verify --full_matrix` against
# round-to-nearest (VERIFY=0 skips it) and its output compared byte for byte with the first
# variant's.
#   run(command="VARIANTS='X=1 CTQ_LEARNED_INFLIGHT=8' MODES='fp8 int8' bash bench/compare_variants.sh",
#       carry=[".vendor"])
# BASE=.base also builds the tree in .base (an older commit, here: `mkdir .base && git archive REV |
# tar -x -C .base`; carry it with .vendor) into build-gpu-base, and the variant BASE=1 runs that
# ctq: BASE=.base VARIANTS='BASE=1 X=1' REPS=3 bash bench/compare_variants.sh
# PROFILE=1 adds one run of the first variant under kineto (a second build with
# -DCTQ_KINETO_PROFILE=ON, in build-gpu-prof) and prints bench/kineto_summary.py's table.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export OUT=${OUT:-/tmp/ctq-out}
mkdir -p "$OUT"
CTQ_SKIP_CTEST=1 CTQ_GPU_TESTS='^$' bash scripts/gpu/build_and_test.sh ctq ${EXTRA_TARGETS:-} > "$OUT/build.log" 2>&1 ||
    { tail -30 "$OUT/build.log"; exit 1; }
C=build-gpu/bin/ctq
if [ -n "${BASE:-}" ]; then
    ln -sfn "$root/.vendor" "$BASE/.vendor"
    CTQ_GPU_BUILD_DIR=$root/build-gpu-base CTQ_SKIP_CTEST=1 CTQ_GPU_TESTS='^$' bash "$BASE/scripts/gpu/build_and_test.sh" ctq \
        > "$OUT/build_base.log" 2>&1 || { tail -30 "$OUT/build_base.log"; exit 1; }
fi
ctq_for() { [ "$1" = BASE=1 ] && echo build-gpu-base/bin/ctq || echo $C; }
M=/tmp/ctq-bench/flux_bench.safetensors
mkdir -p /tmp/ctq-bench
[ -f $M ] || $C demo-model $M --hidden 3072 --double_blocks 2 --single_blocks 0 > /dev/null
cat $M > /dev/null
verify() { $C verify --full_matrix --device cuda "$@"; }
variants=(${VARIANTS:-X=1})
for mode in ${MODES:-fp8}; do
    flags=""
    [ "$mode" = int8 ] && flags="--int8 --scaling_mode row"
    [ "${VERIFY:-1}" = 1 ] && $C -i $M -o /tmp/n.safetensors --simple $flags --no_progress > /dev/null 2>&1 &&
        verify --orig $M --quant /tmp/n.safetensors > /tmp/v_rtn.txt 2>&1
    # Repetitions interleave the variants, so that a drift of the shared machine hits all alike.
    for rep in $(seq "${REPS:-1}"); do
        for var in "${variants[@]}"; do
            out=/tmp/ctq-bench/out_${mode}_${var//[=,]/_}.safetensors
            env ${var//,/ } python3 bench/tsrun.py $(ctq_for "$var") -i $M -o "$out" $flags --device cuda --manual_seed 1 > /tmp/run.log 2>&1
            echo "$mode $var #$rep: $(grep -E 'Conversion complete' /tmp/run.log | cut -c1-8) s to the output, $(tail -1 /tmp/run.log);" \
                "$(grep -oE '[0-9.]+ s flushing' /tmp/run.log)"
        done
    done
    first=/tmp/ctq-bench/out_${mode}_${variants[0]//[=,]/_}.safetensors
    for var in "${variants[@]}"; do
        out=/tmp/ctq-bench/out_${mode}_${var//[=,]/_}.safetensors
        cmp -s "$first" "$out" || echo "$mode $var: output differs from ${variants[0]}'s"
        [ "${VERIFY:-1}" = 1 ] && verify --orig $M --quant "$out" > /tmp/v_l.txt 2>&1 &&
            python3 bench/compare_verify.py /tmp/v_rtn.txt "${var//=/:}=/tmp/v_l.txt" | sed "s/^/    $mode /"
    done
done
if [ "${PROFILE:-0}" = 1 ]; then
    CTQ_GPU_BUILD_DIR=$root/build-gpu-prof CTQ_CMAKE_ARGS=-DCTQ_KINETO_PROFILE=ON CTQ_SKIP_CTEST=1 CTQ_GPU_TESTS='^$' \
        bash scripts/gpu/build_and_test.sh ctq > "$OUT/build_prof.log" 2>&1 || { tail -30 "$OUT/build_prof.log"; exit 1; }
    env ${variants[0]//,/ } CTQ_KINETO=/tmp/trace.json build-gpu-prof/bin/ctq -i $M -o /tmp/p.safetensors \
        --device cuda --manual_seed 1 --no_progress > /dev/null 2>&1
    python3 bench/kineto_summary.py /tmp/trace.json
fi
