#!/usr/bin/env bash
# Installs what snn needs on a fresh Debian machine of this kind: jemalloc (allocation counter,
# linked into every binary), zlib headers (gzip'd IDX), the FashionMNIST data set and GNU parallel
# (the sharded-evaluation example of README), python3-venv (matplotlib for the plots comes from PyPI
# into a private venv). Nothing is
# fetched from anywhere but Debian's registry.
set -euo pipefail
need=()
for pkg in libjemalloc-dev zlib1g-dev dataset-fashion-mnist parallel python3-venv; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if ((${#need[@]})); then
  SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  echo "setup: installing ${need[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
