#!/usr/bin/env bash
# `snn evaluate --share-samples` in chunks (SharedBatchEvaluator, --share-chunk): the lines do not
# depend on --threads, --share-chunk or --shard (every GEMM row is computed by the same arithmetic
# whatever the chunk), --adversarial-out / --summary / --limit work, a data error mid-chunk keeps
# the complete lines of the images before it, unsupported configurations fall back to one image at
# a time, and the flag's limits. (Agreement with the per-image path, field by field: the XCTest
# SharedBatchEvaluatorTests.) Needs $SNN or builds it.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/cli-harness.sh

share=(evaluate --model models/vmg-fmnist --labels "$labels" --share-samples --eta 0,1.5 --attack-samples 2,4
       --inference-samples 3,6 --variance-samples 5 --extreme --progress never)
"$SNN" "${share[@]}" --limit 40 --threads 1 --share-chunk 7 --summary "$tmp/t1.json" --adversarial-out "$tmp/t1.npy" \
  < "$tmp/images.idx" > "$tmp/t1.jsonl" 2>/dev/null
"$SNN" "${share[@]}" --limit 40 --threads 2 --share-chunk 7 --summary "$tmp/t2.json" --adversarial-out "$tmp/t2.npy" \
  < "$tmp/images.idx" > "$tmp/t2.jsonl" 2>/dev/null
if [[ $(wc -l < "$tmp/t1.jsonl") -eq 320 ]] && python3 -c '
import json, sys
L = [json.loads(l) for l in open(sys.argv[1])]
order = [(l["index"], l["eta"], l["attack_samples"], l["inference_samples"]) for l in L]
assert order == [(i, e, a, s) for i in range(40) for e in (0, 1.5) for a in (2, 4) for s in (3, 6)], order[:8]
assert all(l["share_samples"] and l["sampler"] == "explicit" and l["prediction_variance"] is not None for l in L)
assert all(l["min_r_linear"] is not None for l in L if l["eta"] > 0)
' "$tmp/t1.jsonl"; then ok "--share-samples in chunks: 40 images × 8 configurations in input order"; else bad "--share-samples output"; fi
cmp -s "$tmp/t1.jsonl" "$tmp/t2.jsonl" && ok "--share-samples: lines identical for --threads 1 and 2" || bad "--share-samples lines depend on --threads"
cmp -s "$tmp/t1.npy" "$tmp/t2.npy" && ok "--share-samples: --adversarial-out identical for --threads 1 and 2" || bad "--adversarial-out depends on --threads"
cmp -s "$tmp/t1.json" "$tmp/t2.json" && ok "--share-samples: summary identical for --threads 1 and 2" || bad "summary depends on --threads"
python3 -c '
import json, sys
S = json.load(open(sys.argv[1])); assert S["images"] == 40 and len(S["configurations"]) == 8
' "$tmp/t1.json" && ok "--share-samples: summary of 40 images, 8 configurations" || bad "--share-samples summary"

for chunk in 1 13 100; do
  "$SNN" "${share[@]}" --limit 40 --threads 2 --share-chunk $chunk --adversarial-out "$tmp/c$chunk.npy" \
    < "$tmp/images.idx" > "$tmp/c$chunk.jsonl" 2>/dev/null
  cmp -s "$tmp/t1.jsonl" "$tmp/c$chunk.jsonl" && cmp -s "$tmp/t1.npy" "$tmp/c$chunk.npy" \
    && ok "--share-chunk $chunk: the same lines and x_adv as chunks of 7" || bad "--share-chunk $chunk changes the results"
done
"$SNN" "${share[@]}" --limit 40 < "$tmp/images.idx" > "$tmp/default.jsonl" 2>/dev/null
cmp -s "$tmp/t1.jsonl" "$tmp/default.jsonl" && ok "--share-samples with the default chunk and threads: the same lines" || bad "default chunk differs"

# shards: other images share a chunk, an image's lines do not change
for i in 0 1 2; do
  "$SNN" "${share[@]}" --limit 40 --shard $i/3 --share-chunk 5 < "$tmp/images.idx" > "$tmp/s$i.jsonl" 2>/dev/null
done
if python3 -c '
import json, sys
full = open(sys.argv[1]).read().splitlines()
shards = [open(p).read().splitlines() for p in sys.argv[2:]]
for i, lines in enumerate(shards):
    assert lines == [l for l in full if json.loads(l)["index"] % 3 == i], i
' "$tmp/t1.jsonl" "$tmp/s0.jsonl" "$tmp/s1.jsonl" "$tmp/s2.jsonl"; then ok "--shard i/3 with --share-samples: each shard's lines are the full run's lines of its images"
else bad "--shard changes --share-samples lines"; fi

# a data error mid-chunk (record 13 has label 3 = --target 3): the 13 images before it are written,
# complete (8 lines each, equal to a --limit 13 run), exit 1
tgt=(evaluate --model models/vmg-fmnist --labels "$labels" --share-samples --eta 0.5,1.5 --attack-samples 2,4 --inference-samples 3
     --target 3 --progress never)
"$SNN" "${tgt[@]}" --summary "$tmp/err.json" < "$tmp/images.idx" > "$tmp/err.jsonl" 2> "$tmp/err.err"; rc=$?
"$SNN" "${tgt[@]}" --limit 13 < "$tmp/images.idx" > "$tmp/l13.jsonl" 2>/dev/null
if [[ $rc -eq 1 ]] && grep -q "record 13 has label 3, the same as --target 3" "$tmp/err.err" && [[ $(wc -l < "$tmp/err.jsonl") -eq 52 ]] \
  && cmp -s "$tmp/err.jsonl" "$tmp/l13.jsonl" && grep -q '"complete" : false' "$tmp/err.json"; then
  ok "data error mid-chunk: the 13 images before it written complete, summary marked incomplete, exit 1"
else bad "data error mid-chunk (exit $rc, $(wc -l < "$tmp/err.jsonl") lines, stderr: $(head -c 300 "$tmp/err.err"))"; fi

# --dry-run: the chunk evaluator's plan; configurations it does not take run one image at a time
"$SNN" evaluate --model models/vmg-fmnist --share-samples --share-chunk 50 --dry-run > "$tmp/dry.txt" 2>&1
grep -q "share.jacobian" "$tmp/dry.txt" && grep -q "chunks of 50 images" "$tmp/dry.txt" \
  && ok "--dry-run shows the chunk evaluator's plan" || bad "--dry-run with --share-samples: $(head -c 300 "$tmp/dry.txt")"
big=$(sed -n 's/^memory plan  \([0-9]*\) bytes.*/\1/p' "$tmp/dry.txt")
"$SNN" evaluate --model models/vmg-fmnist --share-samples --share-chunk 100 --dry-run > "$tmp/dry100.txt" 2>&1
[[ -n $big ]] && [[ $(sed -n 's/^memory plan  \([0-9]*\) bytes.*/\1/p' "$tmp/dry100.txt") -gt $big ]] \
  && ok "--dry-run: the plan grows with --share-chunk" || bad "plan does not follow --share-chunk"
"$SNN" evaluate --model models/vmg-fmnist --share-samples --attack pgd --dry-run > "$tmp/drypgd.txt" 2>&1
grep -q "one image at a time per worker (--share-samples is batched only for .*here: PGD)" "$tmp/drypgd.txt" \
  && ok "--dry-run names the fallback to one image at a time (PGD)" || bad "fallback not named: $(grep evaluation "$tmp/drypgd.txt")"
"$SNN" evaluate --model models/vmg-fmnist --labels "$labels" --share-samples --attack pgd --pgd-steps 2 "${small[@]}" --limit 3 \
  --progress never < "$tmp/images.idx" > "$tmp/pgd.jsonl" 2>/dev/null && [[ $(wc -l < "$tmp/pgd.jsonl") -eq 3 ]] \
  && ok "--share-samples with PGD runs one image at a time" || bad "--share-samples with PGD"

expect "--share-chunk without --share-samples" 2 "--share-chunk applies with --share-samples only" -- "$SNN" evaluate --share-chunk 10
expect "--share-chunk 0" 2 "--share-chunk must be between 1 and 10000, got 0" -- "$SNN" evaluate --share-samples --share-chunk 0
expect "--share-chunk above the limit" 2 "--share-chunk must be between 1 and 10000, got 10001" -- "$SNN" evaluate --share-samples --share-chunk 10001

echo "cli-tests-share: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
