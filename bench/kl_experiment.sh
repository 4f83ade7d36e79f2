#!/usr/bin/env bash
# The real-weights experiment (issue 5 item 7): train a small byte-level GPT on text found on this
# machine, quantize it with ctq and the reference, report held-out loss and KL against the original.
# Run from anywhere after `bash bench/gpu_bench.sh build` (CTQ defaults to build-gpu/bin/ctq, then
# build/bin/ctq), with the reference in .ref (scripts/gpu/prepare_reference.sh), e.g. on the device:
#   run(command="bash bench/kl_experiment.sh", carry=[".ref", ...the build...])
# Extra arguments go to bench/kl_experiment.py (--tiny, --train_seconds S, --formats fp8, ...).
# Results: $OUT/kl_results.md, $OUT/kl_results.json (both rewritten after every quantizer run),
# $OUT/kl.log and $OUT/quantize_logs.txt. On an H200: 120 s training + about 240 s of quantizing and
# evaluating (the reference's learned rounding is 30-45 s of it per format); the ctq build is ~45 s.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
OUT=${OUT:-/tmp/kl-out}
PY=${PYTHON:-python3}
mkdir -p "$OUT"
if [ -z "${CTQ:-}" ]; then
    for c in build-gpu/bin/ctq build/bin/ctq; do [ -x "$c" ] && { CTQ=$root/$c; break; }; done
fi
[ -x "${CTQ:-}" ] || { echo "no ctq binary: run 'bash bench/gpu_bench.sh build' first or set CTQ" >&2; exit 1; }
device=cpu
"$PY" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)" && device=cuda
export PYTHONUNBUFFERED=1
"$PY" bench/kl_experiment.py --device "$device" --ctq "$CTQ" --ref "$root/.ref" --out "$OUT" \
    "$@" 2>&1 | tee "$OUT/kl.log"
exit "${PIPESTATUS[0]}"
