#!/usr/bin/env bash
# Installs snn: PREFIX/bin/snn and the bundled models in PREFIX/share/snn/models/<name>/
# (model.json + weights.safetensors), where `snn evaluate` finds its default model and bare
# `--model NAME`s from any working directory.
#
#   bash scripts/install.sh [--prefix DIR] [--static] [--binary FILE]
#
#   --prefix DIR    where to install (default /usr/local; use sudo for system folders)
#   --static        build with scripts/build-static.sh (Swift runtime, Foundation, jemalloc and
#                   zlib linked in: the binary needs only the C library); default: the release
#                   build of scripts/build.sh (links the Swift runtime in /opt/swift dynamically)
#   --binary FILE   install this already built snn instead of building
#
# Both builds use -target-cpu native (Package.swift): the binary runs on CPUs with the build
# machine's instruction set. Set SNN_PORTABLE=1 for a binary without CPU-specific code.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=/usr/local static=0 binary=
while [[ $# -gt 0 ]]; do
  case $1 in
    --prefix) prefix=${2:?--prefix needs a folder}; shift 2 ;;
    --prefix=*) prefix=${1#--prefix=}; shift ;;
    --static) static=1; shift ;;
    --binary) binary=${2:?--binary needs a file}; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
if [[ -z $binary ]]; then
  if [[ $static == 1 ]]; then binary=$(bash scripts/build-static.sh); else binary=$(bash scripts/build.sh); fi
fi
[[ -x $binary ]] || { echo "install.sh: $binary is not an executable" >&2; exit 1; }

install -d "$prefix/bin" "$prefix/share/snn/models"
install -m 755 "$binary" "$prefix/bin/snn"
for m in models/*/; do
  name=$(basename "$m")
  [[ -f $m/model.json && -f $m/weights.safetensors ]] || continue   # skips checkpoints-only folders
  install -d "$prefix/share/snn/models/$name"
  install -m 644 "$m/model.json" "$m/weights.safetensors" "$prefix/share/snn/models/$name/"
done
install -m 644 models/README.md "$prefix/share/snn/models/README.md"
echo "installed $prefix/bin/snn and $(ls -d "$prefix"/share/snn/models/*/ | wc -l) models in $prefix/share/snn/models" >&2
