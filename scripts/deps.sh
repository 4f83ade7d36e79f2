#!/usr/bin/env bash
# Installs the Debian 12 packages ctq builds with (idempotent: installs only what is missing).
set -euo pipefail
PKGS=(cmake ninja-build g++ ccache pkg-config libtorch-dev libopenblas0-openmp libboost-dev
      libboost-program-options-dev nlohmann-json3-dev doctest-dev)
PKGS+=("$@")
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "ctq: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
