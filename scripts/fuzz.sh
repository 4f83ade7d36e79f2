#!/usr/bin/env bash
# Usage: scripts/fuzz.sh SECONDS [extra libFuzzer flags...]
# Builds the libFuzzer targets with clang in build-fuzz and runs each for SECONDS. The committed
# seeds (fuzz/corpus/) and the golden files are copied into build-fuzz/corpus first, so the
# repository is never modified; a crash makes the script fail and leaves crash-* in build-fuzz/.
set -euo pipefail

seconds=${1:?usage: scripts/fuzz.sh SECONDS [libFuzzer flags...]}
shift
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build-fuzz
cd "$root"

CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCTQ_FUZZ=ON \
    -DCTQ_CUDA=OFF -DCTQ_TORCH=OFF -DCTQ_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j2 --target fuzz_safetensors_reader fuzz_safetensors_roundtrip

mkdir -p "$build/corpus/reader" "$build/corpus/roundtrip"
cp -n fuzz/corpus/reader/* "$build/corpus/reader/"
cp -n fuzz/corpus/roundtrip/* "$build/corpus/roundtrip/"
# The golden files are large; libFuzzer truncates them to -max_len, which keeps their headers.
for f in ../shared/golden/*.safetensors; do
    [ -e "$f" ] && cp -n "$f" "$build/corpus/reader/golden_$(basename "$f")"
done

status=0
for target in reader roundtrip; do
    echo "== fuzz_safetensors_$target for ${seconds}s"
    (cd "$build" && "./bin/fuzz_safetensors_$target" -max_total_time="$seconds" -max_len=65536 \
        -rss_limit_mb=2048 -print_final_stats=1 "$@" "corpus/$target") || status=1
done
exit $status
