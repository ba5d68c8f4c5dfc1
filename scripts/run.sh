#!/usr/bin/env bash
# The main job: stream the FashionMNIST test set (Debian's dataset-fashion-mnist) through the
# bundled IM model with the default attack (FGM, eta 1.5, S_A = 10, S_I = 100) and print the summary.
# Extra arguments go to `snn evaluate` (e.g. --limit 1000, --model models/vmg-fmnist).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
snn=$(bash scripts/build.sh)
data=/usr/share/datasets/fashion-mnist
mkdir -p out
"$snn" evaluate --model models/im-fmnist --labels "$data/t10k-labels-idx1-ubyte.gz" \
  --summary out/summary.json "$@" < "$data/t10k-images-idx3-ubyte.gz" > out/evaluate.jsonl
echo "per-image results: out/evaluate.jsonl; summary: out/summary.json" >&2
