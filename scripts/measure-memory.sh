#!/usr/bin/env bash
# Peak RSS of `snn evaluate` for the first 100 and for all 10,000 FashionMNIST test images, per
# bundled model: memory must be flat in the length of the stream (issue: within 5 MB).
# Uses small sample sets (S_A = 1, S_I = 1) since the memory plan does not depend on them.
set -euo pipefail
cd "$(dirname "$0")/.."
snn=$(bash scripts/build.sh)
data=/usr/share/datasets/fashion-mnist
echo "| model | peak RSS, 100 images | peak RSS, 10000 images | difference |"
echo "|---|---|---|---|"
for model in models/*/; do
  model=${model%/}
  [[ -f $model/model.json ]] || continue      # models/training holds checkpoints only
  rss() {
    /usr/bin/time -f "%M" "$snn" evaluate --model "$model" --labels "$data/t10k-labels-idx1-ubyte.gz" \
      --attack-samples 1 --inference-samples 1 --limit "$1" < "$data/t10k-images-idx3-ubyte.gz" 2>&1 >/dev/null | tail -n 1
  }
  a=$(rss 100); b=$(rss 10000)
  echo "| $(basename "$model") | $a KiB | $b KiB | $((b - a)) KiB |"
done
