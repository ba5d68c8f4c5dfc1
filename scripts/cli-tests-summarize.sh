#!/usr/bin/env bash
# The JSON-line encoding (numbers only) and `snn summarize`'s checks: every kind of broken input is
# an error (exit 1) naming the file, the line and the problem; summarize's quartiles are exact and
# its outcome vectors match the lines; a --summary cut short by a data error says so.
# Needs $SNN or builds it.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/cli-harness.sh

run=(evaluate --labels "$labels" --limit 6 --eta 0.5,1.5 --attack-samples 1,3 --inference-samples 4)
"$SNN" "${run[@]}" --summary "$tmp/run.json" < "$tmp/images.idx" > "$tmp/a.jsonl" 2>/dev/null
for i in 0 1; do "$SNN" "${run[@]}" --shard $i/2 < "$tmp/images.idx" > "$tmp/s$i.jsonl" 2>/dev/null; done

# encoding: every value is a number, a Boolean, null or one of the documented strings
if python3 -c '
import json, sys
strings = {"model", "attack", "norm", "loss", "target_mode", "sampler"}
for line in open(sys.argv[1]):
    l = json.loads(line)
    for k, v in l.items():
        assert (isinstance(v, str)) == (k in strings and v is not None), (k, v)
    assert l["norm"] == "l2" and l["classes"] == 10 and l["target_mode"] is None
    assert (l["min_r_linear"] is None) == l["min_r_linear_infinite"]
    assert l["min_r_smooth"] is None and l["min_r_smooth_infinite"] is None     # no L known
' "$tmp/a.jsonl"; then ok "lines hold numbers, Booleans and null (strings only for model, attack, norm, loss, target_mode, sampler)"; else bad "line encoding"; fi

# exact quartiles (linear interpolation between order statistics) and outcome vectors from the lines
"$SNN" summarize --outcomes "$tmp/a.jsonl" -o "$tmp/sum.json" 2>/dev/null
if python3 -c '
import json, sys
L = [json.loads(l) for l in open(sys.argv[1])]
S = json.load(open(sys.argv[2]))
def q(v, p):
    v = sorted(v); r = p * (len(v) - 1); lo = int(r); hi = min(lo + 1, len(v) - 1)
    return v[lo] + (r - lo) * (v[hi] - v[lo])
assert S["complete"] is True and S["images"] == 6
for c in S["configurations"]:
    assert c["quartiles"] == "exact"
    mine = [l for l in L if (l["eta"], l["attack_samples"]) == (round(c["eta"], 6), c["attack_samples"])]
    assert len(mine) == 6
    for field, values in (("delta_norm", [l["delta_norm"] for l in mine]),
                          ("runner_up_grad_norm", [l["runner_up_grad_norm"] for l in mine])):
        for name, p in (("q1", 0.25), ("median", 0.5), ("q3", 0.75)):
            assert abs(c[field][name] - q(values, p)) <= 1e-6 * abs(q(values, p)), (field, name)
    bits = bin(int(c["outcomes"]["adversarial_correct"], 16))[2:].zfill(4 * len(c["outcomes"]["adversarial_correct"]))[:6]
    assert [b == "1" for b in bits] == [l["adversarial_correct"] for l in sorted(mine, key=lambda l: l["index"])], bits
    assert c["adversarial_accuracy"]["count"] == bits.count("1")
E = json.load(open(sys.argv[3]))
assert all(c["quartiles"] == "p2-streaming" for c in E["configurations"]) and E["complete"] is True
' "$tmp/a.jsonl" "$tmp/sum.json" "$tmp/run.json"; then ok "summarize: exact quartiles, outcome bits equal the lines, evaluate marks its quartiles p2-streaming"; else bad "exact quartiles / outcomes"; fi

# broken input: each is exit 1 with file:line and the problem; no output file is written
edit() {  # edit OUT PYTHON-EXPRESSION-ON-L (L: list of parsed lines, from a.jsonl)
  python3 -c '
import json, sys
L = [json.loads(l) for l in open(sys.argv[1])]
exec(sys.argv[3])
open(sys.argv[2], "w").write("".join(json.dumps(l) + "\n" for l in L))
' "$tmp/a.jsonl" "$1" "$2"
}
expect "a single shard of two" 1 "s0.jsonl:[0-9]+: image index 4, but the lines hold 3 images and image 1 has none.*0 mod 2" -- "$SNN" summarize "$tmp/s0.jsonl"
expect "the other shard alone" 1 "s1.jsonl:[0-9]+: image index 5.*1 mod 2" -- "$SNN" summarize "$tmp/s1.jsonl"
sed 7d "$tmp/a.jsonl" > "$tmp/gap.jsonl"      # image 1's third configuration
expect "a line missing" 1 "gap.jsonl:5: image 1 has no line for configuration \(eta 1.5, S_A 1, S_I 4, fgm l2 ce; first at .*gap.jsonl:3\)" -- "$SNN" summarize "$tmp/gap.jsonl"
sed 5,8d "$tmp/a.jsonl" > "$tmp/noimage.jsonl"  # every line of image 1
expect "an image missing" 1 "noimage.jsonl:[0-9]+: image index 5, but the lines hold 5 images and image 1 has none" -- "$SNN" summarize "$tmp/noimage.jsonl"
edit "$tmp/nodelta.jsonl" 'del L[2]["delta_norm"]'
expect "delta_norm missing" 1 'nodelta.jsonl:3: field "delta_norm" missing' -- "$SNN" summarize "$tmp/nodelta.jsonl"
edit "$tmp/abc.jsonl" 'L[3]["delta_norm"] = "abc"'
expect "delta_norm a string" 1 'abc.jsonl:4: field "delta_norm" is "abc", expected a number' -- "$SNN" summarize "$tmp/abc.jsonl"
edit "$tmp/nulldelta.jsonl" 'L[3]["delta_norm"] = None'
expect "delta_norm null in an attack" 1 'nulldelta.jsonl:4: field "delta_norm" is null, expected a number' -- "$SNN" summarize "$tmp/nulldelta.jsonl"
edit "$tmp/huge.jsonl" 'L[9]["index"] = 10**12'
expect "index 10^12" 1 "huge.jsonl:10: image index 1000000000000" -- "$SNN" summarize "$tmp/huge.jsonl"
edit "$tmp/neg.jsonl" 'L[0]["index"] = -1'
expect "index -1" 1 'neg.jsonl:1: field "index" is -1, expected an integer ≥ 0' -- "$SNN" summarize "$tmp/neg.jsonl"
edit "$tmp/frac.jsonl" 'L[0]["index"] = 0.5'
expect "index 0.5" 1 'frac.jsonl:1: field "index" is 0.5, expected an integer' -- "$SNN" summarize "$tmp/frac.jsonl"
edit "$tmp/label.jsonl" 'L[4]["label"] = 12'
expect "label outside the classes" 1 'label.jsonl:5: field "label" is 12, expected 0…9' -- "$SNN" summarize "$tmp/label.jsonl"
edit "$tmp/relabel.jsonl" 'L[5]["label"] = (L[5]["label"] + 1) % 10'
expect "labels disagree within an image" 1 "relabel.jsonl:6: image 1 has label .*, but .*relabel.jsonl:5 gives it label" -- "$SNN" summarize "$tmp/relabel.jsonl"
edit "$tmp/pred.jsonl" 'L[1]["adversarial_prediction"] = 10'
expect "prediction outside the classes" 1 'pred.jsonl:2: field "adversarial_prediction" is 10, expected 0…9' -- "$SNN" summarize "$tmp/pred.jsonl"
edit "$tmp/oldinf.jsonl" 'L[0]["min_r_linear"] = "inf"'
expect "old \"inf\" string" 1 'oldinf.jsonl:1: field "min_r_linear" is "inf", expected a number or null' -- "$SNN" summarize "$tmp/oldinf.jsonl"
edit "$tmp/flag.jsonl" 'L[0]["min_r_linear"] = None; L[0]["min_r_linear_infinite"] = False'
expect "null radius not flagged infinite" 1 'flag.jsonl:1: field "min_r_linear" is null but "min_r_linear_infinite" is false' -- "$SNN" summarize "$tmp/flag.jsonl"
# two unrelated runs of the same model: different sweeps, not a missing shard
"$SNN" evaluate --labels "$labels" --limit 6 --eta 1 --attack-samples 1 --inference-samples 4 < "$tmp/images.idx" > "$tmp/other.jsonl" 2>/dev/null
expect "two unrelated runs" 1 "other.jsonl: configuration \(eta 1.0, S_A 1, S_I 4, fgm l2 ce; first at .*other.jsonl:1\) is not in .*a.jsonl: the files are not shards of one run" -- "$SNN" summarize "$tmp/a.jsonl" "$tmp/other.jsonl"
expect "no output after an error" 1 "" -- "$SNN" summarize "$tmp/abc.jsonl" -o "$tmp/never.json"
[[ ! -e $tmp/never.json ]] && ok "no summary written after a data error" || bad "summary written despite an error"
expect "the shards together are fine" 0 "" -- "$SNN" summarize "$tmp/s1.jsonl" "$tmp/s0.jsonl"

# a targeted run: target_mode "fixed" with the class in each line's target, rebuilt by summarize
"$SNN" evaluate --labels "$labels" --limit 4 --target 0 "${small[@]}" < "$tmp/images.idx" > "$tmp/t.jsonl" 2>/dev/null
"$SNN" summarize "$tmp/t.jsonl" -o "$tmp/t.json" 2>/dev/null
if python3 -c '
import json, sys
L = [json.loads(l) for l in open(sys.argv[1])]
assert all(l["target_mode"] == "fixed" and l["target"] == 0 for l in L)
assert json.load(open(sys.argv[2]))["configurations"][0]["target"] == 0
' "$tmp/t.jsonl" "$tmp/t.json"; then ok "targeted run: target_mode fixed, summarize keeps the target class"; else bad "targeted run lines/summary"; fi

# --summary after a data error covers the images before it and says so
head -c $((16 + 784 * 4 + 100)) "$tmp/images.idx" > "$tmp/cut.idx"
expect "truncated input is a data error" 1 "record 4 is truncated" -- "$SNN" evaluate --labels "$labels" --limit 6 "${small[@]}" --summary "$tmp/partial.json" < "$tmp/cut.idx"
if python3 -c '
import json, sys
S = json.load(open(sys.argv[1]))
assert S["complete"] is False and S["images"] == 4 and "record 4 is truncated" in S["reason"], S.get("reason")
' "$tmp/partial.json"; then ok "--summary after a data error: complete false, the reason, 4 images"; else bad "partial summary not marked"; fi

echo "cli-summarize: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
