# Sourced by the scripts/cli-tests*.sh files: the binary, a temporary folder, the FashionMNIST test
# set unpacked, and the pass/fail helpers. Callers set `set -uo pipefail` and cd to the repo root.
SNN=${SNN:-$(bash scripts/build.sh)}
data=/usr/share/datasets/fashion-mnist
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
ok()  { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
# expect NAME STATUS PATTERN -- command…  (stderr must match PATTERN, exit status must be STATUS)
expect() {
  local name=$1 status=$2 pattern=$3; shift 4
  "$@" >"$tmp/out" 2>"$tmp/err"; local rc=$?
  if [[ $rc -eq $status ]] && { [[ -z $pattern ]] || grep -qE -- "$pattern" "$tmp/err"; }; then ok "$name"
  else bad "$name (exit $rc, stderr: $(head -c 300 "$tmp/err"))"; fi
}
valid_jsonl() { python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$1"; }

zcat "$data/t10k-images-idx3-ubyte.gz" > "$tmp/images.idx"
labels="$data/t10k-labels-idx1-ubyte.gz"
small=(--attack-samples 2 --inference-samples 3)
