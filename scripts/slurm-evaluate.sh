#!/usr/bin/env bash
# Sharded `snn evaluate` on a Slurm cluster: one shard per array task, then one job that merges
# the shards with `snn summarize` (lines in image order + the summary, identical to a single run).
#
#   sbatch --array=0-15 scripts/slurm-evaluate.sh OUTDIR [snn evaluate flags…]      (16 shards)
#   then, once the array is done:  SHARDS=16 bash scripts/slurm-evaluate.sh --merge OUTDIR
#   or chain it: jid=$(sbatch --parsable --array=0-15 …); sbatch --dependency=afterok:$jid \
#                  --export=ALL,SHARDS=16 scripts/slurm-evaluate.sh --merge OUTDIR
#
# Environment: SNN (the snn binary; default .build release path via scripts/build.sh), DATA (IDX
# images, default the FashionMNIST test set), LABELS (default its labels).
#SBATCH --job-name=snn-evaluate
#SBATCH --cpus-per-task=2
#SBATCH --mem=1G
#SBATCH --time=02:00:00
set -euo pipefail
SNN=${SNN:-$(bash scripts/build.sh)}
DATA=${DATA:-/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz}
LABELS=${LABELS:-/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz}

if [[ ${1:-} == --merge ]]; then
  out=$2; n=${SHARDS:?set SHARDS to the number of array tasks}
  files=(); for ((i = 0; i < n; i++)); do files+=("$out/shard-$i.jsonl"); done
  exec "$SNN" summarize "${files[@]}" --output "$out/summary.json" --lines "$out/evaluate.jsonl"
fi

out=${1:?usage: sbatch --array=0-N scripts/slurm-evaluate.sh OUTDIR [flags]}; shift
i=${SLURM_ARRAY_TASK_ID:?run as a Slurm array job (sbatch --array=…)}
n=${SLURM_ARRAY_TASK_COUNT:?}
mkdir -p "$out"
# write to a temporary name, rename when complete: a failed task never leaves a plausible shard
"$SNN" evaluate --labels "$LABELS" --threads "${SLURM_CPUS_PER_TASK:-1}" --shard "$i/$n" "$@" \
  < "$DATA" > "$out/shard-$i.jsonl.tmp"
mv "$out/shard-$i.jsonl.tmp" "$out/shard-$i.jsonl"
