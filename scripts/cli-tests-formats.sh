#!/usr/bin/env bash
# `snn evaluate --format idx|cifar10|auto`: CIFAR-10 binary records on stdin, format sniffing,
# --labels rules (required for IDX, refused for CIFAR-10), size and truncation errors.
# Needs $SNN (path of the binary) or builds it.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/cli-harness.sh

# CIFAR-10 records (labels 0..9, then 12 for the range check), truncated and gzip'd copies, an IDX
# label file, and a tiny random 3072-16-10 matrix-Gaussian MLP that takes 3×32×32 inputs.
python3 - "$tmp" <<'PY'
import gzip, json, os, random, struct, sys
t = sys.argv[1]
rng = random.Random(7)
recs = b"".join(bytes([i % 10]) + bytes(rng.randrange(256) for _ in range(3072)) for i in range(8))
open(t + "/c.bin", "wb").write(recs)
open(t + "/c.bin.gz", "wb").write(gzip.compress(recs))
open(t + "/trunc.bin", "wb").write(recs[:3 * 3073 + 1000])
open(t + "/badlabel.bin", "wb").write(recs[:3073] + bytes([12]) + recs[3074:2 * 3073])
open(t + "/labels3.idx", "wb").write(struct.pack(">II", 0x801, 3) + bytes([1, 2, 3]))
os.makedirs(t + "/cifar-mlp")
sizes = [3072, 16, 10]
card = {"format": "snn-model/1", "name": "cifar-test-mlp", "classes": 10,
        "architecture": {"kind": "matrix-gaussian-mlp", "sizes": sizes},
        "input": {"channels": 3, "height": 32, "width": 32}}
json.dump(card, open(t + "/cifar-mlp/model.json", "w"))
tensors = []
for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
    tensors.append((f"layer{i}.M", [a + 1, b], [rng.gauss(0, 0.05) for _ in range((a + 1) * b)]))
    tensors.append((f"layer{i}.log_sqrt_u", [a + 1], [-1.5] * (a + 1)))
    tensors.append((f"layer{i}.log_sqrt_v", [b], [-1.5] * b))
header, blobs, off = {"__metadata__": {"format": "snn-model/1", "kind": "matrix-gaussian-mlp"}}, [], 0
for name, shape, vals in tensors:
    blob = struct.pack("<%df" % len(vals), *vals)
    header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [off, off + len(blob)]}
    blobs.append(blob); off += len(blob)
h = json.dumps(header).encode(); h += b" " * (-len(h) % 8)
open(t + "/cifar-mlp/weights.safetensors", "wb").write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
PY
cm="$tmp/cifar-mlp"

# sizes: CIFAR records into the bundled 784-input model name the image size (auto and explicit)
expect "CIFAR into the 784-input model (auto)" 1 "<stdin>: images are 3×32×32 \(3072 values\) but model im-fmnist expects 784 inputs" -- sh -c "'$SNN' evaluate < '$tmp/c.bin'"
expect "CIFAR into the 784-input model (--format cifar10)" 1 "images are 3×32×32 .* expects 784 inputs" -- sh -c "'$SNN' evaluate --format cifar10 < '$tmp/c.bin'"
expect "IDX into the 3072-input model" 1 "<stdin>: images are 28×28 \(784 pixels\) but model cifar-test-mlp expects 3072 inputs" -- sh -c "'$SNN' evaluate --model '$cm' --labels '$labels' < '$tmp/images.idx'"

# --labels rules: usage errors, exit 2
expect "idx without --labels" 2 "labels is required" -- sh -c "'$SNN' evaluate --format idx < '$tmp/images.idx'"
expect "auto-detected IDX without --labels" 2 "labels is required for IDX images" -- sh -c "'$SNN' evaluate < '$tmp/images.idx'"
expect "cifar10 with --labels" 2 "labels come from the records" -- sh -c "'$SNN' evaluate --model '$cm' --format cifar10 --labels '$labels' < '$tmp/c.bin'"
expect "auto-detected CIFAR with --labels" 2 "labels come from the records" -- sh -c "'$SNN' evaluate --model '$cm' --labels '$labels' < '$tmp/c.bin'"
expect "unknown --format" 2 "format" -- sh -c "'$SNN' evaluate --format npy --labels '$labels' < '$tmp/images.idx'"

# CIFAR-10 evaluation: labels from the records, gzip'd = plain, auto = explicit, --limit
"$SNN" evaluate --model "$cm" "${small[@]}" --format cifar10 --summary "$tmp/s.json" < "$tmp/c.bin" > "$tmp/c1.jsonl" 2>/dev/null
if [[ $(wc -l < "$tmp/c1.jsonl") -eq 8 ]] && valid_jsonl "$tmp/c1.jsonl" \
   && python3 -c 'import json,sys; L=[json.loads(l) for l in open(sys.argv[1])]; assert [l["index"] for l in L]==list(range(8)); assert [l["label"] for l in L]==[i%10 for i in range(8)]; assert json.load(open(sys.argv[2]))["images"]==8' "$tmp/c1.jsonl" "$tmp/s.json"
then ok "CIFAR-10: 8 lines, labels from the records, summary"; else bad "CIFAR-10 evaluation"; fi
"$SNN" evaluate --model "$cm" "${small[@]}" < "$tmp/c.bin.gz" > "$tmp/c2.jsonl" 2>/dev/null
cmp -s "$tmp/c1.jsonl" "$tmp/c2.jsonl" && ok "CIFAR-10 gzip'd + auto = plain + --format cifar10" || bad "CIFAR-10 gzip/auto"
"$SNN" evaluate --model "$cm" "${small[@]}" --limit 3 < "$tmp/c.bin" > "$tmp/c3.jsonl" 2>/dev/null
cmp -s "$tmp/c3.jsonl" <(head -n 3 "$tmp/c1.jsonl") && ok "CIFAR-10 --limit 3" || bad "CIFAR-10 --limit"
: > "$tmp/empty"
expect "empty CIFAR-10 stream: zero images" 0 "" -- sh -c "'$SNN' evaluate --model '$cm' --format cifar10 ${small[*]} < '$tmp/empty'"
[[ ! -s "$tmp/out" ]] && ok "empty CIFAR-10 stream writes no line" || bad "empty CIFAR-10 output"

# CIFAR-10 data errors: exit 1, one line naming the record; lines before the error stay valid
expect "truncated CIFAR stream names the record" 1 "<stdin>: record 3 is truncated \(got 1000 of 3073 bytes\)" -- sh -c "'$SNN' evaluate --model '$cm' ${small[*]} < '$tmp/trunc.bin' > '$tmp/t.jsonl'"
if [[ $(wc -l < "$tmp/t.jsonl") -eq 3 ]] && valid_jsonl "$tmp/t.jsonl"; then ok "lines before the CIFAR truncation stay valid"; else bad "lines before CIFAR truncation"; fi
expect "CIFAR label outside the classes" 1 "<stdin>: record 1 has label 12, but the model has 10 classes" -- sh -c "'$SNN' evaluate --model '$cm' ${small[*]} < '$tmp/badlabel.bin'"

# auto never misreads IDX: the IDX test set evaluates identically with auto and --format idx
"$SNN" evaluate --labels "$labels" --limit 3 "${small[@]}" < "$tmp/images.idx" > "$tmp/a.jsonl" 2>/dev/null
"$SNN" evaluate --labels "$labels" --limit 3 "${small[@]}" --format idx < "$tmp/images.idx" > "$tmp/b.jsonl" 2>/dev/null
"$SNN" evaluate --labels "$labels" --limit 3 "${small[@]}" < "$data/t10k-images-idx3-ubyte.gz" > "$tmp/g.jsonl" 2>/dev/null
if [[ $(wc -l < "$tmp/a.jsonl") -eq 3 ]] && cmp -s "$tmp/a.jsonl" "$tmp/b.jsonl" && cmp -s "$tmp/a.jsonl" "$tmp/g.jsonl"
then ok "auto = --format idx on the IDX test set (plain and gzip'd), byte-identical"; else bad "auto vs --format idx"; fi
# an IDX label file on stdin is reported as IDX (not read as CIFAR records of label 0)
expect "IDX label file on stdin (auto)" 1 "unsupported IDX file" -- sh -c "'$SNN' evaluate --labels '$labels' < '$tmp/labels3.idx'"
# forcing the wrong format gives the other reader's error
expect "IDX stream forced as cifar10" 1 "images are 3×32×32" -- sh -c "'$SNN' evaluate --format cifar10 < '$tmp/images.idx'"
expect "CIFAR stream forced as idx" 1 "bad magic" -- sh -c "'$SNN' evaluate --format idx --labels '$labels' < '$tmp/c.bin'"

echo "cli-formats: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
