#!/usr/bin/env bash
# The main job. With arguments: builds if needed and runs `ctq ARGS...`.
# Without: makes a small demo model and quantizes it (round-to-nearest and learned FP8), then
# verifies the result against the original, printing what it did.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/bin/ctq ] || bash scripts/build.sh
CTQ=build/bin/ctq
if (($#)); then exec "$CTQ" "$@"; fi
mkdir -p build/demo
echo "== 1. a synthetic Flux-like demo model"
"$CTQ" demo-model build/demo/demo.safetensors --hidden 256
echo "== 2. FP8 round-to-nearest"
"$CTQ" -i build/demo/demo.safetensors -o build/demo/demo_fp8.safetensors --simple --report build/demo/demo_fp8.json
echo "== 3. FP8 with learned rounding (a small subspace: the demo's layers are only 256 wide)"
"$CTQ" -i build/demo/demo.safetensors -o build/demo/demo_fp8_learned.safetensors --min_k 32 --top_p 0.1 \
    --manual_seed 0 --report build/demo/demo_fp8_learned.json
echo "== 4. verify both against the original"
"$CTQ" verify --orig build/demo/demo.safetensors --quant build/demo/demo_fp8.safetensors --min_k 32 --top_p 0.1
"$CTQ" verify --orig build/demo/demo.safetensors --quant build/demo/demo_fp8_learned.safetensors --min_k 32 --top_p 0.1
echo "Outputs and JSON reports are in build/demo/"
