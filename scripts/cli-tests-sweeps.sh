#!/usr/bin/env bash
# Sweeps, nested sample sets, shards and `snn summarize`: a sweep's lines equal standalone runs,
# two shards run with GNU parallel merge into the single run's lines and summary byte for byte,
# and bad lists / mixed runs / overlapping shards are clear errors. Needs $SNN or builds it.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/cli-harness.sh

run=(evaluate --labels "$labels" --limit 9 --eta 0.5,1.5 --attack-samples 1,3 --inference-samples 2,5 --variance-samples 10 --extreme)
"$SNN" "${run[@]}" --summary "$tmp/full.json" < "$tmp/images.idx" > "$tmp/full.jsonl" 2>/dev/null
# --limit 9 stops before the end of the stream, which the summary records and summarize cannot
# know: drop "input": {"limited": true} before the byte-for-byte comparisons below
grep -q '"limited" : true' "$tmp/full.json" && sed -i '/^  "input" : {$/,/^  },$/d' "$tmp/full.json" || bad "summary without \"input\": {\"limited\": true}"
if [[ $(wc -l < "$tmp/full.jsonl") -eq 72 ]] && python3 -c '
import json, sys
L = [json.loads(l) for l in open(sys.argv[1])]
order = [(l["index"], l["eta"], l["attack_samples"], l["inference_samples"]) for l in L]
assert order == [(i, e, a, s) for i in range(9) for e in (0.5, 1.5) for a in (1, 3) for s in (2, 5)], order[:8]
assert all(l["prediction_variance"] is not None and l["extreme_samples"] is not None for l in L)
S = json.load(open(sys.argv[2])); assert S["images"] == 9 and len(S["configurations"]) == 8
' "$tmp/full.jsonl" "$tmp/full.json"; then ok "sweep: 9 images × 8 configurations in order, one summary per configuration"; else bad "sweep output"; fi

# nested sets: the (η 1.5, S_A 3, S_I 5) lines are those of a standalone run with that configuration
# (explicit sampler: byte for byte; lazy: what the first query of each realization decides)
"$SNN" evaluate --labels "$labels" --limit 9 --eta 1.5 --attack-samples 3 --inference-samples 5 --variance-samples 10 --extreme < "$tmp/images.idx" > "$tmp/one.jsonl" 2>/dev/null
"$SNN" evaluate "${run[@]:1}" --sampler explicit < "$tmp/images.idx" > "$tmp/full-explicit.jsonl" 2>/dev/null
"$SNN" evaluate --labels "$labels" --limit 9 --eta 1.5 --attack-samples 3 --inference-samples 5 --variance-samples 10 --extreme --sampler explicit < "$tmp/images.idx" > "$tmp/one-explicit.jsonl" 2>/dev/null
if python3 -c '
import json, sys
def pick(path):
    return [l for l in map(json.loads, open(path)) if l["eta"] == 1.5 and l["attack_samples"] == 3 and l["inference_samples"] == 5]
one = [json.loads(l) for l in open(sys.argv[4])]
assert pick(sys.argv[3]) == one and all(l["sampler"] == "explicit" for l in one)
first = ["clean_prediction", "clean_probability", "attack_prediction", "delta_norm", "delta_linf", "prediction_variance", "extreme_samples"]
lazy = [json.loads(l) for l in open(sys.argv[2])]
assert len(lazy) == 9 and all(l["sampler"] == "lazy" for l in lazy)
assert [[l[k] for k in first] for l in pick(sys.argv[1])] == [[l[k] for k in first] for l in lazy]
' "$tmp/full.jsonl" "$tmp/one.jsonl" "$tmp/full-explicit.jsonl" "$tmp/one-explicit.jsonl"; then ok "nested sets: a sweep's configuration equals the standalone run (explicit: every field; lazy: the first-query fields)"; else bad "nested sets differ from a standalone run"; fi
"$SNN" "${run[@]}" --independent-sets < "$tmp/images.idx" > "$tmp/ind.jsonl" 2>/dev/null
if python3 -c '
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]; b = [json.loads(l) for l in open(sys.argv[2])]
assert all(x["independent_sets"] for x in b)
assert sum(x["clean_probability"] != y["clean_probability"] for x, y in zip(a, b)) > 30
' "$tmp/full.jsonl" "$tmp/ind.jsonl"; then ok "--independent-sets draws other samples"; else bad "--independent-sets"; fi

# two shards with GNU parallel, merged by summarize: the single run's lines byte for byte, and its
# summary except the quartiles (summarize's are exact, evaluate's P² estimates)
same_but_quartiles() { python3 -c '
import json, sys
def strip(path):
    S = json.load(open(path))
    for c in S["configurations"]:
        c.pop("quartiles")
        for v in c.values():
            if isinstance(v, dict) and "median" in v:
                for q in ("q1", "median", "q3"):
                    v.pop(q)
    return S
a, b = strip(sys.argv[1]), strip(sys.argv[2])
assert a == b, "summaries differ"
' "$1" "$2"; }
if command -v parallel >/dev/null; then
  parallel --will-cite "'$SNN' ${run[*]} --shard {}/2 < '$tmp/images.idx' > '$tmp/shard{}.jsonl' 2>/dev/null" ::: 0 1
  "$SNN" summarize "$tmp/shard1.jsonl" "$tmp/shard0.jsonl" -o "$tmp/merged.json" --lines "$tmp/merged.jsonl" 2>/dev/null
  cmp -s "$tmp/merged.jsonl" "$tmp/full.jsonl" && ok "GNU parallel shards merge into the single run's lines" || bad "merged shard lines differ"
  same_but_quartiles "$tmp/merged.json" "$tmp/full.json" && ok "summary of the shards equals the single run's summary (but for the exact quartiles)" || bad "merged summary differs"
else
  bad "GNU parallel not installed (scripts/setup.sh installs it)"
fi
"$SNN" summarize "$tmp/full.jsonl" > "$tmp/again.json" 2>/dev/null
same_but_quartiles "$tmp/again.json" "$tmp/full.json" && ok "summarize of a run's lines equals its --summary (but for the exact quartiles)" || bad "summarize differs from --summary"
cmp -s "$tmp/again.json" "$tmp/merged.json" && ok "summarize: the shards' summary equals the single file's, byte for byte" || bad "summarize of shards differs from summarize of the run"

# errors
expect "empty list" 2 "eta" -- "$SNN" evaluate --labels "$labels" --eta ""
expect "duplicate in a list" 2 "attack-samples" -- "$SNN" evaluate --labels "$labels" --attack-samples 5,5
expect "bad shard" 2 "shard" -- "$SNN" evaluate --labels "$labels" --shard 2/2
expect "overlapping shards" 1 "appears twice" -- "$SNN" summarize "$tmp/full.jsonl" "$tmp/shard0.jsonl"
"$SNN" evaluate --model models/vmg-fmnist --labels "$labels" --limit 2 --attack-samples 1 --inference-samples 2 < "$tmp/images.idx" > "$tmp/vmg.jsonl" 2>/dev/null
expect "lines of two models" 1 "vmg.jsonl:1: line from model \"vmg-fmnist\"" -- "$SNN" summarize "$tmp/one.jsonl" "$tmp/vmg.jsonl"
head -c 300 "$tmp/one.jsonl" > "$tmp/cut.jsonl"
expect "truncated line names file and line" 1 "cut.jsonl:1: not a JSON object" -- "$SNN" summarize "$tmp/cut.jsonl"
expect "summary not written on error" 1 "" -- "$SNN" summarize "$tmp/cut.jsonl" -o "$tmp/never.json"
[[ ! -e $tmp/never.json && ! -e $tmp/never.json.tmp ]] && ok "no summary file left behind after an error" || bad "half-written summary"

echo "cli-sweeps: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
