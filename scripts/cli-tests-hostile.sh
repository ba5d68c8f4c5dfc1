#!/usr/bin/env bash
# Hostile inputs (issue 11): absurd sizes, names, budgets and weights in model directories and flags.
# Each must end in a one-line error (exit 2 usage, 1 data) naming the field and the stated limit
# (README, "Limits"), never a trap, a hang, an unbounded allocation or a NaN line with exit 0.
# Needs $SNN (path of the binary) or builds it.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/cli-harness.sh

# model directories derived from the bundled ones by editing model.json / the weights
mk() {  # mk NAME SOURCE PYTHON-EDIT-OF-card (card is the model.json dict)
  local dir="$tmp/$1"; mkdir -p "$dir"; cp "models/$2/weights.safetensors" "$dir/"
  python3 - "models/$2/model.json" "$dir/model.json" "$3" <<'PY'
import json, sys
card = json.load(open(sys.argv[1]))
exec(sys.argv[3])
json.dump(card, open(sys.argv[2], "w"))
PY
}
# rewrite the weights' header metadata (the data offsets are relative, so only the header changes)
meta() {  # meta DIR KEY VALUE
  python3 - "$1/weights.safetensors" "$2" "$3" <<'PY'
import json, struct, sys
path, key, value = sys.argv[1:]
raw = open(path, "rb").read(); n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n]); header["__metadata__"][key] = value
h = json.dumps(header).encode()
open(path, "wb").write(struct.pack("<Q", len(h)) + h + raw[8 + n:])
PY
}
# overwrite F32 elements of one tensor: poke DIR TENSOR VALUE [FIRST COUNT]
poke() {
  python3 - "$1/weights.safetensors" "$2" "$3" "${4:-0}" "${5:-all}" <<'PY'
import json, struct, sys
path, name, value, first, count = sys.argv[1:]
raw = bytearray(open(path, "rb").read()); n = struct.unpack("<Q", raw[:8])[0]
e = json.loads(raw[8:8 + n])[name]; assert e["dtype"] == "F32"
b, end = (8 + n + o for o in e["data_offsets"])
first = int(first); count = (end - b) // 4 - first if count == "all" else int(count)
for i in range(first, first + count): raw[b + 4 * i: b + 4 * i + 4] = struct.pack("<f", float(value))
open(path, "wb").write(bytes(raw))
PY
}
run() { sh -c "'$SNN' evaluate --model '$1' --labels '$labels' --limit 2 ${small[*]} ${2:-} < '$tmp/images.idx'"; }

# names: bounded at load (the JSON line writer is also sized from the line prefix)
mk long im-fmnist 'card["name"] = "n" * 5000'
expect "a 5000-character name is refused with the limit" 1 "model.json: invalid model card: name has 5000 characters; the limit is 1 to 256" -- run "$tmp/long"
mk ctl im-fmnist 'card["name"] = "\x01" * 300'
expect "control characters in the name are refused" 1 "name has 300 characters|name contains the control character U\+0001" -- run "$tmp/ctl"
mk ctl2 im-fmnist 'card["name"] = "a\x07b"'
expect "a bell in the name is refused" 1 "name contains the control character U\+0007" -- run "$tmp/ctl2"
mk name256 im-fmnist 'card["name"] = "\\\"" * 128'
"$SNN" evaluate --model "$tmp/name256" --labels "$labels" --limit 2 "${small[@]}" < "$tmp/images.idx" > "$tmp/n.jsonl" 2>/dev/null
if [[ $(wc -l < "$tmp/n.jsonl") -eq 2 ]] && python3 -c 'import json,sys; assert all(json.loads(l)["model"] == "\\\"" * 128 for l in open(sys.argv[1]))' "$tmp/n.jsonl"
then ok "a 256-character name of escaped quotes and backslashes gives 2 valid lines"; else bad "longest name"; fi

# memory budgets
expect "--memory-budget 100000G is refused before allocating" 1 "cannot allocate --memory-budget 100000G: 100000000000000 bytes \(90\.9 TiB\) were asked, more than the machine's physical memory" -- run models/im-fmnist "--memory-budget 100000G"
expect "--eta -1 (a separate argument) is a usage error about η" 2 "--eta must be finite numbers ≥ 0" -- "$SNN" evaluate --labels "$labels" --eta -1
expect "--memory-budget 10^17 bytes is refused, not 'not a size'" 1 "cannot allocate --memory-budget 100000000G: 100000000000000000 bytes .* more than the machine's physical memory" -- run models/im-fmnist "--memory-budget 100000000G"
expect "a file as --model says it is a file" 1 "models/im-fmnist/model.json: is a file, not a model directory" -- "$SNN" info --model models/im-fmnist/model.json
expect "--memory-budget -1 is a usage error" 2 "--memory-budget must be a size ≥ 0, got '-1'" -- run models/im-fmnist "--memory-budget -1"

# sizes from files: limits before any multiplication
mk wide im-fmnist 'card["input"]["width"] = 2**62'
expect "input.width 2^62 is refused" 1 "input.width is 4611686018427387904, outside the limit 1…4096" -- run "$tmp/wide"
mk chans im-fmnist 'card["input"]["channels"] = 2**40'
expect "input.channels 2^40 is refused" 1 "input.channels is 1099511627776, outside the limit 1…64" -- run "$tmp/chans"
mk classes im-fmnist 'card["classes"] = 1'
expect "one class is refused" 1 "classes is 1, outside the limit 2…100000" -- run "$tmp/classes"
for v in 3037000500 4611686018427387904 100000 1000000000; do
  mk "pad$v" wrn-fmnist-p03 'card["architecture"].pop("padded_to", None)'
  meta "$tmp/pad$v" padded_height "$v"
  expect "WRN metadata padded_height $v is refused" 1 "weights.safetensors: invalid model card: metadata \"padded_height\" is $v, outside the limit 28…4096" -- run "$tmp/pad$v"
done
mk padw wrn-fmnist-p03 'card["architecture"].pop("padded_to", None)'; meta "$tmp/padw" padded_width 0
expect "WRN metadata padded_width 0 is refused" 1 "metadata \"padded_width\" is 0, outside the limit 28…4096" -- run "$tmp/padw"
mk deep wrn-fmnist-p03 'card["architecture"].pop("depth", None)'; meta "$tmp/deep" depth 1000000000
expect "WRN metadata depth 10^9 is refused" 1 "metadata \"depth\" is 1000000000, outside the limit 10…1000" -- run "$tmp/deep"
# within the limits but beyond the machine: the plan is checked against physical memory first
mk huge wrn-fmnist-p03 'card["architecture"].pop("padded_to", None)'; meta "$tmp/huge" padded_height 4096; meta "$tmp/huge" padded_width 4096
expect "a 4096×4096 WRN plan beyond physical memory is refused before allocating" 1 "cannot allocate the load-time probe of wrn-fmnist-p03: [0-9]+ bytes .* were asked, more than the machine's physical memory" -- run "$tmp/huge"

# the informative sections are printed by info / --dry-run: they must be printable
mk secs im-fmnist 'card["training"]["seconds"] = 1e300'
expect "training.seconds 1e300 is refused (info printed it as an Int)" 1 "training.seconds must be a finite number of seconds in 0…1e12, got 1e\+300" -- "$SNN" info --model "$tmp/secs"
mk acckey im-fmnist 'card["evaluation"]["test_accuracy_percent"]["many"] = 50.0'
expect "an accuracy key that is not a sample count is refused" 1 "evaluation.test_accuracy_percent key \"many\" is not a sample count" -- "$SNN" info --model "$tmp/acckey"

# not regular files: no hang on a FIFO, a directory is named as one
mkdir -p "$tmp/fifo" && cp models/im-fmnist/model.json "$tmp/fifo/" && mkfifo "$tmp/fifo/weights.safetensors"
expect "a FIFO as weights is refused at once" 1 "weights.safetensors: is a FIFO \(named pipe\), not a regular file" -- timeout 20 sh -c "'$SNN' info --model '$tmp/fifo'"
mkdir -p "$tmp/dircard/model.json"
expect "a directory as model.json is named a directory" 1 "model.json: is a directory, not a regular file" -- "$SNN" info --model "$tmp/dircard"
mkdir -p "$tmp/dirw/weights.safetensors" && cp models/im-fmnist/model.json "$tmp/dirw/"
expect "a directory as weights is named a directory" 1 "weights.safetensors: is a directory, not a regular file" -- "$SNN" info --model "$tmp/dirw"

# work flags: stated limits, usage errors; --dry-run prints the work per image
expect "--inference-samples above the limit" 2 "--inference-samples 100001 is above the limit of 100000" -- "$SNN" evaluate --labels "$labels" --inference-samples 100001
expect "--attack-samples 2^63-1" 2 "--attack-samples 9223372036854775807 is above the limit of 100000" -- "$SNN" evaluate --labels "$labels" --attack-samples 9223372036854775807
expect "--variance-samples above the limit" 2 "--variance-samples 100001 is above the limit of 100000" -- "$SNN" evaluate --labels "$labels" --variance-samples 100001
expect "--pgd-steps above the limit" 2 "--pgd-steps 10001 is above the limit of 10000" -- "$SNN" evaluate --labels "$labels" --attack pgd --pgd-steps 10001
expect "--independent-sets with 256 values" 2 "--attack-samples lists 256 values; with --independent-sets at most 255" -- "$SNN" evaluate --labels "$labels" --independent-sets --attack-samples "$(seq -s, 1 256)"
expect "info --threads beyond 256" 2 "--threads must be between 1 and 256" -- "$SNN" info --model models/im-fmnist --threads 9223372036854775807
expect "card --variance-samples above the limit" 2 "--variance-samples must be between 0 and 100000, got 100001" -- "$SNN" card --model "$tmp/none" --variance-samples 100001
expect "too many sweep configurations" 2 "the sweep has 10201 configurations .* above the limit of 10000" -- "$SNN" evaluate --labels "$labels" --eta 1 --attack-samples "$(seq -s, 1 101)" --inference-samples "$(seq -s, 1 101)"
expect "dry run with the largest sample counts" 0 "" -- "$SNN" evaluate --labels "$labels" --attack pgd --pgd-steps 10000 --attack-samples 100000 --inference-samples 100000 --dry-run
grep -qE "^work per image  at most 1000200000 realizations: attack 1000000000 \(1 distinct attack\(s\), S_A × steps\), inference 100000, fresh 100000, variance 0" "$tmp/out" \
  && ok "dry run prints the work per image" || bad "dry run work line: $(grep work "$tmp/out")"

# card and weights must agree; unknown formats and impossible smoothing are refused
mk p06on03 wrn-fmnist-p03 'card["architecture"]["dropout"] = 0.6'
expect "dropout 0.6 on p = 0.3 weights is refused" 1 "model.json: invalid model card: architecture.dropout is 0.6 but the weights were made with dropout = 0.3" -- run "$tmp/p06on03"
mk depth9 wrn-fmnist-p03 'card["architecture"]["depth"] = 10**9'
expect "card depth 10^9 is refused" 1 "architecture.depth is 1000000000, outside the limit 10…1000" -- run "$tmp/depth9"
mk depth16 wrn-fmnist-p03 'card["architecture"]["depth"] = 16'
expect "card depth 16 on WRN-10 weights is refused" 1 "architecture.depth is 16 but the weights were made with depth = 10" -- run "$tmp/depth16"
mk widen0 wrn-fmnist-p03 'card["architecture"]["widen"] = 0'
expect "card widen 0 is refused" 1 "architecture.widen is 0, outside the limit 1…64" -- run "$tmp/widen0"
mk negdrop wrn-fmnist-p03 'card["architecture"]["dropout"] = -0.1'
expect "negative card dropout is refused" 1 "architecture.dropout must be in \[0, 1\), got -0.1" -- run "$tmp/negdrop"
mk fmt im-fmnist 'card["format"] = "snn-model/2"'
expect "unknown format version is refused" 1 "invalid model card: format \"snn-model/2\" is not supported \(this version reads \"snn-model/1\"\)" -- run "$tmp/fmt"
mk wfmt wrn-fmnist-p03 'pass'; meta "$tmp/wfmt" format snn-model/9
expect "unknown weights format is refused" 1 "metadata \"format\" is \"snn-model/9\"" -- run "$tmp/wfmt"
mk negL im-fmnist-smooth 'card["smoothing"]["lipschitz"] = -20'
expect "negative smoothing Lipschitz constant is refused" 1 "smoothing.lipschitz must be 2/variance = 20.0 \(L = 2/σ²\), got -20.0" -- run "$tmp/negL"
mk negV im-fmnist-smooth 'card["smoothing"]["variance"] = -0.1'
expect "negative smoothing variance is refused" 1 "smoothing.variance must be positive and finite, got -0.1" -- run "$tmp/negV"

# finite but absurd weights: refused at load by the probe or the BN check
mk logstd im-fmnist 'pass'; poke "$tmp/logstd" layer0.log_sqrt_u 100
expect "log-std 100 is refused at load" 1 "weights.safetensors: unusable weights: the probe \(a mid-grey image, realization 0\) gives the non-finite" -- run "$tmp/logstd"
mk bigM im-fmnist 'pass'; for i in 0 1 2; do poke "$tmp/bigM" layer$i.M 1e30; done
expect "M = 1e30 is refused at load" 1 "unusable weights: the probe" -- run "$tmp/bigM"
mk negvar wrn-fmnist-p03 'pass'; poke "$tmp/negvar" layer1.0.bn1.running_var -1 0 1
expect "negative BN running variance is refused" 1 "unusable weights: tensor \"layer1.0.bn1.running_var\" has the negative running variance -1.0 at element 0" -- run "$tmp/negvar"
# weights that are finite on the probe but not on image 2: exit 1 naming the image, lines before kept
mk trap im-fmnist 'pass'
poke "$tmp/trap" layer0.M 4e30 $((0 * 128)) 128          # pixel 0 → every hidden unit
poke "$tmp/trap" layer0.M -3e30 $((784 * 128)) 128       # bias row
poke "$tmp/trap" layer1.M 1e10
python3 - "$tmp" <<'PY'
import struct, sys
t = sys.argv[1]
imgs = [bytes(784), bytes(784), bytes([255]) + bytes(783)]
open(t + "/trap.idx", "wb").write(struct.pack(">IIII", 0x803, 3, 28, 28) + b"".join(imgs))
open(t + "/trap-labels.idx", "wb").write(struct.pack(">II", 0x801, 3) + bytes([1, 2, 3]))
PY
expect "a non-finite result names the image" 1 "image 2: model im-fmnist gives a non-finite clean_probability" -- sh -c "'$SNN' evaluate --model '$tmp/trap' --labels '$tmp/trap-labels.idx' ${small[*]} --threads 2 < '$tmp/trap.idx' > '$tmp/trap.jsonl'"
if python3 -c 'import json,sys; L=[json.loads(l) for l in open(sys.argv[1])]; assert [l["index"] for l in L]==[0,1] and all(l["clean_probability"] is not None for l in L)' "$tmp/trap.jsonl"
then ok "the lines of images 0 and 1 are kept, no line for image 2"; else bad "lines before the non-finite image"; fi

# minor: what failed when the summary cannot be written; --eta -0 is 0
expect "summary into /dev/full/x says what failed" 1 "/dev/full/x: cannot create /dev/full/x.tmp: Not a directory" -- run models/im-fmnist "--summary /dev/full/x"
"$SNN" evaluate --labels "$labels" --limit 1 --eta -0,1 --inference-samples 2 --summary "$tmp/z.json" < "$tmp/images.idx" > "$tmp/z.jsonl" 2>/dev/null
if grep -q '"eta":0.0,' "$tmp/z.jsonl" && ! grep -q '"eta":-0' "$tmp/z.jsonl" && python3 -c 'import json,math,sys; assert all(math.copysign(1, c["eta"]) == 1 for c in json.load(open(sys.argv[1]))["configurations"])' "$tmp/z.json"; then ok "--eta -0 is written as 0"; else bad "--eta -0: $(head -c 200 "$tmp/z.jsonl")"; fi

expect "train: --samples beyond its limit" 2 "samples ≤ 1000" -- "$SNN" train --objective im --output "$tmp/t" --samples 5000
echo "cli-hostile: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
