#!/usr/bin/env bash
# The wide ResNet through the command line: training with a checkpoint per epoch, --stop-after and
# --resume (bit-identical to a straight run), the model card, info / evaluate on the result, and
# the one-line errors for bad settings, checkpoints and cards. Needs $SNN or builds it.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/cli-harness.sh

w=(train --architecture wide-resnet --depth 10 --widen 1 --dropout 0.3 --epochs 2 --limit 256 --test-limit 20 --batch-size 64)
"$SNN" "${w[@]}" --output "$tmp/wa" 2>"$tmp/wa.log"
"$SNN" "${w[@]}" --output "$tmp/wb" --stop-after 1 2>/dev/null
if [[ -f $tmp/wb/checkpoint.safetensors && ! -f $tmp/wb/weights.safetensors ]]; then ok "--stop-after 1 leaves a checkpoint and no model"
else bad "--stop-after"; fi
"$SNN" "${w[@]}" --output "$tmp/wb" --resume 2>/dev/null
if cmp -s "$tmp/wa/weights.safetensors" "$tmp/wb/weights.safetensors"; then ok "stopped + resumed training equals the straight run byte for byte"
else bad "resume differs from the straight run"; fi
[[ ! -f $tmp/wb/checkpoint.safetensors ]] && ok "checkpoint removed once the model is written" || bad "checkpoint left behind"
if python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))
assert c["architecture"] == {"kind": "wide-resnet", "depth": 10, "widen": 1, "dropout": 0.3, "padded_to": [32, 32]}, c["architecture"]
assert sorted(c["evaluation"]["test_accuracy_percent"], key=int) == ["1", "5", "10", "100"]
assert c["training"]["epochs"] == 2 and c["evaluation"]["images"] == 20 and c["evaluation"]["mean_prediction_variance"] > 0
' "$tmp/wa/model.json"; then ok "model card: architecture, accuracies for S_I = 1/5/10/100, variance"; else bad "model card contents"; fi

expect "info on a trained WRN" 0 "" -- "$SNN" info --model "$tmp/wa"
grep -q "WRN-10-1, MC dropout p = 0.3" "$tmp/out" && grep -q "zero-padded to 32×32" "$tmp/out" && grep -q "memory plan" "$tmp/out" \
  && ok "info: architecture, padding, memory plan" || bad "info output for a WRN"
"$SNN" evaluate --model "$tmp/wa" --labels "$labels" --limit 2 "${small[@]}" < "$tmp/images.idx" > "$tmp/w.jsonl" 2>/dev/null
if [[ $(wc -l < "$tmp/w.jsonl") -eq 2 ]] && valid_jsonl "$tmp/w.jsonl"; then ok "evaluate runs unchanged on the trained WRN (28×28 IDX stream)"
else bad "evaluate on a WRN"; fi

# usage errors: exit 2
expect "dropout 1 is refused" 2 "dropout probability must be in \[0, 1\)" -- "$SNN" train --architecture wide-resnet --dropout 1 --output "$tmp/x"
expect "negative dropout is refused" 2 "dropout" -- "$SNN" train --architecture wide-resnet --dropout=-0.1 --output "$tmp/x"
expect "depth not 6n+4" 2 "depth must be 6n \+ 4" -- "$SNN" train --architecture wide-resnet --depth 12 --output "$tmp/x"
expect "objective is MLP-only" 2 "MLP only" -- "$SNN" train --architecture wide-resnet --objective im --output "$tmp/x"
expect "unknown architecture" 2 "architecture" -- "$SNN" train --architecture resnet --output "$tmp/x"

# data errors: exit 1
expect "resume without a checkpoint" 1 "no checkpoint to resume" -- "$SNN" "${w[@]}" --output "$tmp/none" --resume
"$SNN" "${w[@]}" --output "$tmp/wc" --stop-after 1 2>/dev/null
expect "existing checkpoint needs --resume" 1 "exists: pass --resume" -- "$SNN" "${w[@]}" --output "$tmp/wc"
expect "resume with other settings names the setting" 1 "batch_size = 64, this run has 32" -- "$SNN" "${w[@]/64/32}" --output "$tmp/wc" --resume
expect "another --epochs needs --reschedule" 1 "epochs = 2, this run has 3" -- "$SNN" "${w[@]}" --epochs 3 --output "$tmp/wc" --resume
"$SNN" "${w[@]}" --epochs 3 --output "$tmp/wc" --resume --reschedule 2>/dev/null
if python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); t=c["training"]; assert t["epochs"]==3 and "epochs changed from 2 to 3 after epoch 1" in t["notes"], t' "$tmp/wc/model.json"
then ok "--reschedule continues with the new epoch count and the card says so"; else bad "--reschedule"; fi
expect "--reschedule without --resume" 2 "reschedule applies with --resume" -- "$SNN" "${w[@]}" --output "$tmp/x" --reschedule
mkdir -p "$tmp/wd" && cp "$tmp/wa/model.json" "$tmp/wd/"
python3 - "$tmp/wa/weights.safetensors" "$tmp/wd/weights.safetensors" <<'PY'
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n]); header["__metadata__"]["dropout"] = "1.5"
h = json.dumps(header).encode()
open(sys.argv[2], "wb").write(struct.pack("<Q", len(h)) + h + raw[8 + n:])
PY
expect "card with dropout 1.5 is refused" 1 "dropout probability must be in \[0, 1\), got 1.5" -- "$SNN" info --model "$tmp/wd"

echo "cli-wrn: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
