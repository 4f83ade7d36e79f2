#!/usr/bin/env bash
# CPU round-to-nearest throughput on the 690M-parameter Flux-like bench model (1.38 GB BF16),
# beside the floors: reading the file, copying it (one pass in, one pass out) and memcpy.
# Usage: bench/cpu_rtn.sh [WORKDIR]   (needs ~5 GB free in WORKDIR; default build/bench)
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/bin/ctq ] || bash scripts/build.sh
W=${1:-build/bench}
mkdir -p "$W"
M="$W/flux_bench.safetensors"
[ -f "$M" ] || build/bin/ctq demo-model "$M" --hidden 3072 --double_blocks 2 --single_blocks 0
SIZE=$(stat -c %s "$M")
secs() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); awk "BEGIN{print $e - $s}"; }
rate() { awk "BEGIN{printf \"%.3f\", $SIZE / $1 / 1e9}"; }
cat "$M" >/dev/null  # warm the page cache: every figure below reads from memory
echo "model: $M ($SIZE bytes), $(nproc) cores, $(date -u +%F)"
t=$(secs cat "$M"); echo "floor: read input            $(printf %.3f "$t") s  $(rate "$t") GB/s"
t=$(secs cp "$M" "$W/copy.safetensors"); echo "floor: copy input (cp)       $(printf %.3f "$t") s  $(rate "$t") GB/s"
rm -f "$W/copy.safetensors"
# memcpy of the model's size between two buffers already in memory (one read + one write pass)
python3 - "$SIZE" <<'PY'
import sys, time
n = int(sys.argv[1]); a = bytearray(n); b = bytearray(n)
b[:] = a  # touch both once
t = time.perf_counter(); b[:] = a; t = time.perf_counter() - t
print(f"memcpy of the same bytes      {t:.3f} s  {n / t / 1e9:.3f} GB/s")
PY
for args in "--simple" "--simple --scaling_mode row" "--simple --scaling_mode block" "--simple --int8 --scaling_mode row" "--simple --int8"; do
  for rep in 1 2; do
    t=$(secs build/bin/ctq -i "$M" -o "$W/out.safetensors" $args --no_progress)
    echo "ctq $args (run $rep)  $(printf %.3f "$t") s  $(rate "$t") GB/s of input"
  done
  rm -f "$W/out.safetensors"
done
