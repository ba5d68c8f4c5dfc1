#!/usr/bin/env bash
# The pre-registered MLP parameterisation study (docs/MLP-STUDY.md): trains VMG (ELBO) and IM with
# identical hyper-parameters under each set-up, two at a time, into OUT/<set-up>-<seed>/{vmg,im}.
# A model whose model.json exists is skipped, so the script resumes where it stopped.
# Usage: SNN=path/to/snn bash scripts/mlp-study.sh OUT [SETUP[:SEED] ...]   (default: B C A)
set -euo pipefail
out=${1:?usage: mlp-study.sh OUT [SETUP[:SEED] ...]}; shift
snn=${SNN:-$(bash "$(dirname "$0")/build.sh")}
setups=("$@"); ((${#setups[@]})) || setups=(B C A)
flags_of() {
  case $1 in
    A) echo "--input-scaling sqrt-r --kl-weight 1" ;;
    B) echo "--input-scaling none --kl-weight 1" ;;
    C) echo "--input-scaling none --kl-weight 1 --deterministic-output" ;;
    D) echo "--input-scaling sqrt-r --kl-weight 0.1" ;;
    *) echo "unknown set-up $1" >&2; exit 2 ;;
  esac
}
for spec in "${setups[@]}"; do
  setup=${spec%%:*}; seed=1; [[ $spec == *:* ]] && seed=${spec#*:}
  dir="$out/$setup-$seed"; mkdir -p "$dir"
  pids=()
  for objective in elbo im; do
    name=$([[ $objective == elbo ]] && echo vmg || echo im)
    [[ -f $dir/$name/model.json ]] && continue
    # shellcheck disable=SC2046
    "$snn" train --objective "$objective" --output "$dir/$name" --name "$name-fmnist" --seed "$seed" \
      --mean-scale 1.414 --log-std=-6 $(flags_of "$setup") > "$dir/$name.log" 2>&1 &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || echo "mlp-study: a training of set-up $setup failed (see $dir/*.log)" >&2; done
  echo "mlp-study: set-up $setup seed $seed done" >&2
done
