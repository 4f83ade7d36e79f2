#!/usr/bin/env bash
# Prepares, HERE, the git-ignored folders bench/gpu_bench.sh carries to the GPU machine:
#   .ref     convert_to_quant at ee83a4d + prodigyplus (the reference tool, run beside ours) and a
#            scipy stand-in (the GPU machine has no scipy; the reference imports it at module top
#            and uses only scipy.linalg.hadamard)
#   .comfy   ComfyUI + comfy-kitchen sources for check_comfy_load.py, and the checker itself
#   .shared  a copy of ../shared/golden (../shared does not travel)
# Usage: scripts/gpu/prepare_reference.sh CONVERT_TO_QUANT_GIT PRODIGY_GIT COMFYUI_GIT KITCHEN_GIT
# (git dirs of mirrors of silveroxides/convert_to_quant, LoganBooker/prodigy-plus-schedule-free,
#  silveroxides/ComfyUI and Comfy-Org/comfy-kitchen). .vendor comes from prepare_vendor.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
ctq_git=$1 prodigy_git=$2 comfy_git=$3 kitchen_git=$4
for d in .ref .comfy .shared; do grep -qx "/$d/" .git/info/exclude 2>/dev/null || echo "/$d/" >> .git/info/exclude; done

rm -rf .ref && mkdir -p .ref/shims/scipy
git -C "$ctq_git" archive ee83a4d convert_to_quant | tar -x -C .ref
git -C "$prodigy_git" archive HEAD prodigyplus | tar -x -C .ref
echo 'from . import linalg  # noqa: F401  (stand-in: only scipy.linalg.hadamard is used)' > .ref/shims/scipy/__init__.py
cat > .ref/shims/scipy/linalg.py <<'PY'
import numpy as np


def hadamard(n, dtype=int):
    if n < 1 or n & (n - 1):
        raise ValueError("n must be a positive power of 2")
    h = np.array([[1]], dtype=dtype)
    while h.shape[0] < n:
        h = np.block([[h, h], [h, -h]])
    return h
PY

rm -rf .comfy && mkdir -p .comfy
bash ../shared/comfy_check/assemble_comfyui_src.sh "$comfy_git" "$kitchen_git" .comfy/comfyui_src
cp ../shared/comfy_check/check_comfy_load.py ../shared/comfy_check/make_reference_quant.py .comfy/

rm -rf .shared && mkdir -p .shared && cp -r ../shared/golden .shared/
du -sh .ref .comfy .shared
