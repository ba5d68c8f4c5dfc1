#!/usr/bin/env bash
# Command-line behaviour of `snn`: outputs, exit statuses (2 usage, 1 data) and the one-line
# errors of the README's error catalogue. Needs $SNN (path of the binary) or builds it.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/cli-harness.sh

# a normal run: one valid JSON line per image, in input order, summary file written
"$SNN" evaluate --labels "$labels" --limit 6 "${small[@]}" --summary "$tmp/s.json" < "$tmp/images.idx" > "$tmp/a.jsonl" 2>/dev/null
if [[ $(wc -l < "$tmp/a.jsonl") -eq 6 ]] && valid_jsonl "$tmp/a.jsonl" \
   && python3 -c 'import json,sys; L=[json.loads(l) for l in open(sys.argv[1])]; assert [l["index"] for l in L]==list(range(6)); s=json.load(open(sys.argv[2])); assert s["images"]==6' "$tmp/a.jsonl" "$tmp/s.json"
then ok "evaluate writes 6 ordered JSON lines and a summary"; else bad "evaluate output"; fi

# gzip'd stdin is accepted and gives the same lines; results do not depend on --threads
"$SNN" evaluate --labels "$labels" --limit 6 "${small[@]}" --threads 1 < "$data/t10k-images-idx3-ubyte.gz" > "$tmp/b.jsonl" 2>/dev/null
"$SNN" evaluate --labels "$labels" --limit 6 "${small[@]}" --threads 2 < "$tmp/images.idx" > "$tmp/c.jsonl" 2>/dev/null
if cmp -s "$tmp/a.jsonl" "$tmp/b.jsonl" && cmp -s "$tmp/b.jsonl" "$tmp/c.jsonl"; then ok "gzip stdin, 1 and 2 threads: identical lines"; else bad "thread/gzip determinism"; fi
# the samplers (docs/METHOD.md §Lazy sampler): auto is lazy for a plain MLP and says so in every
# line; explicit is deterministic across threads too, draws other numbers, and is recorded
"$SNN" evaluate --labels "$labels" --limit 6 "${small[@]}" --sampler explicit --threads 1 < "$tmp/images.idx" > "$tmp/e1.jsonl" 2>/dev/null
"$SNN" evaluate --labels "$labels" --limit 6 "${small[@]}" --sampler explicit --threads 2 < "$tmp/images.idx" > "$tmp/e2.jsonl" 2>/dev/null
"$SNN" evaluate --labels "$labels" --limit 6 "${small[@]}" --sampler lazy --threads 2 < "$tmp/images.idx" > "$tmp/l2.jsonl" 2>/dev/null
if cmp -s "$tmp/e1.jsonl" "$tmp/e2.jsonl" && cmp -s "$tmp/a.jsonl" "$tmp/l2.jsonl" && ! cmp -s "$tmp/a.jsonl" "$tmp/e1.jsonl" \
   && grep -q '"sampler":"lazy"' "$tmp/a.jsonl" && grep -q '"sampler":"explicit"' "$tmp/e1.jsonl"
then ok "--sampler: auto = lazy for the MLP, explicit deterministic across threads, both recorded"; else bad "--sampler lines"; fi
expect "--sampler lazy with --share-samples is refused" 2 "--sampler lazy cannot share realizations between images" -- \
  "$SNN" evaluate --labels "$labels" --sampler lazy --share-samples
"$SNN" evaluate --labels "$labels" --limit 2 "${small[@]}" --share-samples < "$tmp/images.idx" > "$tmp/sh.jsonl" 2>/dev/null
grep -q '"sampler":"explicit"' "$tmp/sh.jsonl" && ok "--share-samples draws explicitly (auto)" || bad "--share-samples sampler"

# eta 0: clean accuracy only
"$SNN" evaluate --labels "$labels" --limit 3 --eta 0 --inference-samples 5 < "$tmp/images.idx" > "$tmp/d.jsonl" 2>/dev/null
if python3 -c 'import json,sys; L=[json.loads(l) for l in open(sys.argv[1])]; assert len(L)==3 and all(l["adversarial_correct"] is None and l["delta_norm"] is None for l in L)' "$tmp/d.jsonl"
then ok "--eta 0 evaluates clean accuracy only"; else bad "--eta 0"; fi

# a smoothed model reports the smooth condition (L = 2/σ² = 20)
if [[ -d models/im-fmnist-smooth ]]; then
  "$SNN" evaluate --model models/im-fmnist-smooth --labels "$labels" --limit 3 "${small[@]}" < "$tmp/images.idx" > "$tmp/sm.jsonl" 2>/dev/null
  if python3 -c 'import json,sys; L=[json.loads(l) for l in open(sys.argv[1])]; assert len(L)==3 and all((l["min_r_smooth"] is not None or l["min_r_smooth_infinite"]) and l["smooth_condition"] is not None for l in L)' "$tmp/sm.jsonl"
  then ok "smoothed model reports min_r_smooth and the smooth condition"; else bad "smoothed model output"; fi
  grep -q '"sampler":"explicit"' "$tmp/sm.jsonl" && ok "a smoothed MLP draws explicitly (auto)" || bad "smoothed sampler"
fi

# dry run and info print the memory plan
expect "info prints the plan" 0 "" -- "$SNN" info --model models/im-fmnist
grep -q "memory plan" "$tmp/out" && ok "info names the memory plan" || bad "info output"
expect "dry run" 0 "" -- "$SNN" evaluate --labels "$labels" --dry-run
grep -q "total arena" "$tmp/out" && ok "dry run prints the total arena" || bad "dry run output"

# usage errors: exit 2
expect "negative eta" 2 "eta" -- "$SNN" evaluate --labels "$labels" --eta=-1
expect "bad budget syntax" 2 "memory-budget" -- "$SNN" evaluate --labels "$labels" --memory-budget lots
expect "unknown flag" 2 "Unknown option" -- "$SNN" evaluate --labels "$labels" --frobnicate
expect "zero samples" 2 "at least 1" -- "$SNN" evaluate --labels "$labels" --attack-samples 0

# attacks (docs/METHOD.md §Attacks): the JSON lines name the attack; conflicting flags are usage errors
"$SNN" evaluate --labels "$labels" --limit 3 "${small[@]}" --attack pgd --norm inf --eta 0.05 --pgd-steps 3 --loss margin --target next --no-fresh < "$tmp/images.idx" > "$tmp/p.jsonl" 2>/dev/null
if python3 -c 'import json,sys; L=[json.loads(l) for l in open(sys.argv[1])]; assert len(L)==3 and all(l["attack"]=="pgd" and l["norm"]=="linf" and l["loss"]=="margin" and l["pgd_steps"]==3 and l["target"]==(l["label"]+1)%10 and l["delta_linf"]<=0.05+1e-6 for l in L)' "$tmp/p.jsonl"
then ok "pgd L∞ margin targeted: lines name the attack, ‖δ‖∞ ≤ η"; else bad "pgd output"; fi
expect "fgm with --norm inf" 2 "fgm is the L2 attack" -- "$SNN" evaluate --labels "$labels" --norm inf
expect "cw with --norm inf" 2 "conflicts with --norm inf" -- "$SNN" evaluate --labels "$labels" --attack pgd --norm inf --loss cw
expect "pgd flags without pgd" 2 "apply to --attack pgd only" -- "$SNN" evaluate --labels "$labels" --pgd-steps 3
expect "attack flags with eta 0" 2 "conflict" -- "$SNN" evaluate --labels "$labels" --eta 0 --attack fgsm
expect "bad target" 2 "--target must be" -- "$SNN" evaluate --labels "$labels" --target cat
expect "target beyond the classes" 2 "not a class" -- sh -c "'$SNN' evaluate --labels '$labels' --target 12 < '$tmp/images.idx'"
expect "target equal to a label names the record" 1 "record 1 has label 2, the same as --target 2" -- sh -c "'$SNN' evaluate --labels '$labels' ${small[*]} --target 2 < '$tmp/images.idx' > '$tmp/tg.jsonl'"
[[ $(wc -l < "$tmp/tg.jsonl") -eq 1 ]] && ok "the line before the conflicting record is kept" || bad "lines before the target conflict"

# data errors: exit 1, one line naming the file / record
printf 'not an idx file at all' > "$tmp/garbage"
expect "stdin in no known format lists the accepted ones" 1 "<stdin>: unrecognised image format .*; accepted: IDX images" -- sh -c "'$SNN' evaluate --labels '$labels' < '$tmp/garbage'"
expect "bad magic with --format idx" 1 "bad magic" -- sh -c "'$SNN' evaluate --format idx --labels '$labels' < '$tmp/garbage'"
head -c $((16 + 784 * 5 + 100)) "$tmp/images.idx" > "$tmp/trunc.idx"
expect "truncated stream names the record" 1 "record 5" -- sh -c "'$SNN' evaluate --labels '$labels' ${small[*]} < '$tmp/trunc.idx' > '$tmp/t.jsonl'"
if [[ $(wc -l < "$tmp/t.jsonl") -eq 5 ]] && valid_jsonl "$tmp/t.jsonl"; then ok "lines before the truncation stay valid"; else bad "lines before truncation"; fi
python3 - "$tmp" <<'PY'
import struct, sys, gzip
t = sys.argv[1]
open(t + "/labels7.idx", "wb").write(struct.pack(">II", 0x801, 7) + bytes(7))
open(t + "/big.idx", "wb").write(struct.pack(">IIII", 0x803, 2, 32, 32) + bytes(2 * 1024))
open(t + "/labels2bad.idx", "wb").write(struct.pack(">II", 0x801, 2) + bytes([3, 12]))
open(t + "/two.idx", "wb").write(open(t + "/images.idx", "rb").read()[16:16 + 2 * 784] and struct.pack(">IIII", 0x803, 2, 28, 28) + open(t + "/images.idx", "rb").read()[16:16 + 2 * 784])
PY
expect "label count mismatch" 1 "labels7.idx: header declares 7 records but 10000" -- sh -c "'$SNN' evaluate --labels '$tmp/labels7.idx' < '$tmp/images.idx'"
expect "image size mismatch" 1 "32×32" -- sh -c "'$SNN' evaluate --labels '$tmp/labels2bad.idx' < '$tmp/big.idx'"
expect "label out of range" 1 "record 1 has label 12" -- sh -c "'$SNN' evaluate --labels '$tmp/labels2bad.idx' ${small[*]} < '$tmp/two.idx'"
expect "missing model directory" 1 "model directory not found" -- sh -c "'$SNN' evaluate --model '$tmp/nope' --labels '$labels' < '$tmp/images.idx'"
mkdir -p "$tmp/m1" && echo '{"format": "snn-model/1", "name": ' > "$tmp/m1/model.json"
expect "corrupt model.json" 1 "invalid model card" -- sh -c "'$SNN' evaluate --model '$tmp/m1' --labels '$labels' < '$tmp/images.idx'"
mkdir -p "$tmp/m2" && cp models/im-fmnist/model.json "$tmp/m2/" && head -c 1000 models/im-fmnist/weights.safetensors > "$tmp/m2/weights.safetensors"
expect "truncated weights" 1 "weights.safetensors" -- sh -c "'$SNN' evaluate --model '$tmp/m2' --labels '$labels' < '$tmp/images.idx'"
expect "budget too small names the size" 1 "needs an arena of [0-9]+ bytes.*--memory-budget [0-9]+MiB" -- sh -c "'$SNN' evaluate --labels '$labels' --memory-budget 100KiB < '$tmp/images.idx'"
expect "missing label file" 1 "cannot open" -- sh -c "'$SNN' evaluate --labels '$tmp/none.idx' < '$tmp/images.idx'"

# --version prints the one version string of Sources/snn/Version.swift; help is actionable
version=$(sed -n 's/.*static let string = "\(.*\)".*/\1/p' Sources/snn/Version.swift)
expect "--version exits 0" 0 "" -- "$SNN" --version
[[ -n $version && $(cat "$tmp/out") == "$version" ]] && ok "--version prints $version" || bad "--version printed '$(cat "$tmp/out")', Version.swift has '$version'"
"$SNN" evaluate --help > "$tmp/help" 2>&1
grep -q "stdin" "$tmp/help" && grep -q "IDX" "$tmp/help" && grep -q "CIFAR-10" "$tmp/help" \
  && ok "evaluate --help says images come on stdin and names the formats" || bad "evaluate --help: stdin formats"
# every option that takes a value shows its default in --help, unless it is required
for cmd in evaluate summarize train info card; do
  "$SNN" $cmd --help > "$tmp/help" 2>&1
  if missing=$(python3 - "$tmp/help" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
usage = re.search(r"USAGE: (.*)", text).group(1)
required = set(re.findall(r"(--[\w-]+) <", re.sub(r"\[[^\]]*\]", "", usage)))
entries, cur = [], None
for line in text.split("OPTIONS:")[1].splitlines():
    if re.match(r"  (-\w, )?--", line):
        cur = [line]; entries.append(cur)
    elif cur is not None and line.startswith("    "):
        cur.append(line)
    else:
        cur = None
bad = []
for e in entries:
    body = " ".join(x.strip() for x in e)
    m = re.match(r"(?:-\w, )?(--[\w-]+)( <)?", body)
    if m.group(2) and m.group(1) not in required and "default" not in body.lower():
        bad.append(m.group(1))
print(" ".join(bad))
sys.exit(1 if bad else 0)
PY
  ); then ok "$cmd --help shows every option's default"; else bad "$cmd --help: no default shown for $missing"; fi
  grep -q "S[P]EC" "$tmp/help" && bad "$cmd --help cites a file outside the repository" || true
done

# scripts/bench-vs-pytorch parses its options without PyTorch or a build (the benchmark is run by hand)
expect "bench-vs-pytorch --help" 0 "" -- scripts/bench-vs-pytorch --help
grep -q -- "--only" "$tmp/out" && grep -q "bench_mlp.py" "$tmp/out" && ok "bench-vs-pytorch --help lists its options and cases" \
  || bad "bench-vs-pytorch --help output"
expect "bench-vs-pytorch: unknown case is a usage error" 2 "invalid choice" -- scripts/bench-vs-pytorch --only foo


# streaming latency: a slow producer (one image every 0.5 s) sees the first line long before a
# batch (8 × threads images) has arrived; the line is written when its image is done
python3 -c 'import gzip, sys; d = gzip.open(sys.argv[1]).read(); sys.stdout.buffer.write(d[:4] + (12).to_bytes(4, "big") + d[8:20])' \
  "$labels" > "$tmp/labels12.idx"
python3 -c '
import sys, time
data = open(sys.argv[1], "rb").read()
sys.stdout.buffer.write(data[:4] + (12).to_bytes(4, "big") + data[8:16]); sys.stdout.flush()
for i in range(12):
    sys.stdout.buffer.write(data[16 + 784 * i: 16 + 784 * (i + 1)]); sys.stdout.flush(); time.sleep(0.5)
' "$tmp/images.idx" | "$SNN" evaluate --labels "$tmp/labels12.idx" --threads 2 "${small[@]}" --progress never 2>/dev/null \
  | python3 -c '
import sys, time
t0 = time.monotonic(); first = None; n = 0
for line in sys.stdin:
    n += 1
    if first is None: first = time.monotonic() - t0
print(f"{first:.2f} {n}")
' > "$tmp/latency"
read -r first_line lines < "$tmp/latency"
if [[ $lines == 12 ]] && python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < 3.0 else 1)" "$first_line"; then
  ok "slow producer: first line after ${first_line} s (12 images at 0.5 s each; a whole batch would wait ≥ 6 s)"
else bad "slow producer: first line after ${first_line:-?} s, $lines lines"; fi


# SIGTERM mid-run: stops at once, every written line is complete JSON, no summary file
"$SNN" evaluate --labels "$labels" --limit 2000 "${small[@]}" --threads 1 --progress never --summary "$tmp/term.json" \
  < "$tmp/images.idx" > "$tmp/term.jsonl" 2>/dev/null &
pid=$!
for _ in $(seq 100); do [[ -s $tmp/term.jsonl ]] && break; sleep 0.1; done
kill -TERM "$pid"; wait "$pid"; rc=$?
n=$(wc -l < "$tmp/term.jsonl")
if [[ $rc -eq 143 && $n -ge 1 && $n -lt 2000 && ! -e $tmp/term.json ]] && valid_jsonl "$tmp/term.jsonl" \
   && [[ $(tail -c 1 "$tmp/term.jsonl" | od -An -c | tr -d ' ') == '\n' ]]; then
  ok "SIGTERM: exit 143 after $n complete lines, no summary file"
else bad "SIGTERM: exit $rc, $n lines, summary $( [[ -e $tmp/term.json ]] && echo present || echo absent)"; fi

echo "cli: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
