#!/usr/bin/env bash
# The Python side of the output: README's pandas lines load a run with numeric columns (and ∞ back
# from the flags), and scripts/examples/robustness_curve.py pipes a NumPy array of images through
# `snn evaluate` and draws its plot. pandas and matplotlib come from PyPI into the private venv of
# scripts/plot.py ($SNN_PLOT_VENV). Needs $SNN or builds it.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/cli-harness.sh
venv=${SNN_PLOT_VENV:-/tmp/snn-plot-venv}

# README's loading lines, run as written on a real run (one line's radius turned ∞ the way the
# writer encodes it), from the venv that the example fills
"$SNN" evaluate --labels "$labels" --limit 4 --eta 0,1 --attack-samples 2 --inference-samples 3 < "$tmp/images.idx" > "$tmp/run.jsonl" 2>/dev/null
python3 -c '
import json, sys
L = [json.loads(l) for l in open(sys.argv[1])]
a = next(l for l in L if l["eta"] > 0)
a["min_r_linear"], a["min_r_linear_infinite"] = None, True
open(sys.argv[1], "w").write("".join(json.dumps(l) + "\n" for l in L))
' "$tmp/run.jsonl"
code=$(python3 -c '
import re, sys
text = open("README.md").read()
block = re.search(r"Loading a run in Python.*?```python\n(.*?)```", text, re.S).group(1)
print(block.replace("out/evaluate.jsonl", sys.argv[1]))
' "$tmp/run.jsonl")
SNN="$SNN" SNN_PLOT_VENV="$venv" python3 scripts/examples/robustness_curve.py --images 6 --eta 0.5,1.5 --attack-samples 1,5 \
  --inference-samples 5 --out "$tmp/curve.png" 2>"$tmp/example.err"; rc=$?
if [[ $rc -eq 0 && -s $tmp/curve.png ]] && grep -q "wrote" "$tmp/example.err"; then ok "example: NumPy images → snn evaluate → pandas → robustness curve ($(grep -o 'as [A-Za-z]*$' "$tmp/example.err" | head -1))"
else bad "example failed (exit $rc): $(tail -3 "$tmp/example.err")"; fi
if "$venv/bin/python" -c "$code
strings = {'model', 'attack', 'norm', 'loss', 'target_mode', 'sampler'}
bad = [c for c in df.columns if c not in strings and df[c].dtype.kind not in 'fiub']
assert not bad, ('columns that are not numeric:', {c: str(df[c].dtype) for c in bad})
flags = df.min_r_linear_infinite
assert len(df) == 8 and r.notna().sum() == (df.eta > 0).sum() == 4, r.tolist()
assert np.isinf(r).sum() == (flags == 1).sum() >= 1 and np.isfinite(r[flags == 0]).all(), (r.tolist(), flags.tolist())
"; then ok "README's pandas lines: every column but the six categorical ones is numeric, ∞ restored from the flag"
else bad "README's pandas lines"; fi

echo "examples: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
