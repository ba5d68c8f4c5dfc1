#!/usr/bin/env bash
# Workflow flags of `snn evaluate` through the command line: --adversarial-out (npy checked with
# NumPy against the JSON lines, IDX against NumPy's round half to even, the round trip of the
# written x_adv through a second evaluation), --progress, the model lookup from any working
# directory (SNN_MODELS, the repository, bare names), scripts/install.sh into a temporary prefix,
# and (SNN_STATIC=1 or SNN_STATIC_BIN=FILE) the self-contained static build in a scrubbed
# environment. Needs $SNN or builds it.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/cli-harness.sh
repo=$PWD
SNN=$(readlink -f "$SNN")   # the tests below change the working directory
have_numpy=0; python3 -c 'import numpy' 2>/dev/null && have_numpy=1

# ---------------------------------------------------------------- --adversarial-out
# two configurations per image (η 0 and 1.5), 2 threads, 21 images (not a multiple of a batch)
adv=(evaluate --labels "$labels" --limit 21 "${small[@]}" --eta 0,1.5 --threads 2)
"$SNN" "${adv[@]}" --adversarial-out "$tmp/a.npy" < "$tmp/images.idx" > "$tmp/a.jsonl" 2>/dev/null
"$SNN" "${adv[@]}" --adversarial-out "$tmp/a.idx" --adversarial-format idx < "$tmp/images.idx" > "$tmp/a2.jsonl" 2>/dev/null
cmp -s "$tmp/a.jsonl" "$tmp/a2.jsonl" && ok "the JSON lines do not depend on --adversarial-out" || bad "--adversarial-out changed the lines"
if [[ $have_numpy == 1 ]]; then
  if python3 - "$tmp/a.npy" "$tmp/a.idx" "$tmp/a.jsonl" "$tmp/images.idx" <<'PY'
import json, sys
import numpy as np
npy, idx, lines, images = sys.argv[1:]
a = np.load(npy)
L = [json.loads(l) for l in open(lines)]
assert a.dtype == np.float32 and a.shape == (42, 28, 28), (a.dtype, a.shape)
x = np.fromfile(images, dtype=np.uint8, offset=16).reshape(-1, 28, 28)[:21].astype(np.float32) / np.float32(255)
assert a.min() >= 0 and a.max() <= 1
for j, l in enumerate(L):   # line order: image, then configuration
    assert l["index"] == j // 2 and l["eta"] == [0, 1.5][j % 2]
    d = np.linalg.norm((a[j].astype(np.float64) - x[l["index"]]).ravel())
    want = 0.0 if l["eta"] == 0 else l["delta_norm"]
    assert abs(d - want) < 1e-5, (j, d, want)
# IDX: magic 00 00 08 03, N, 28, 28 big-endian, then round half to even of x_adv·255 (np.rint)
raw = np.fromfile(idx, dtype=np.uint8)
assert list(raw[:4]) == [0, 0, 8, 3] and list(raw[4:16].view(">u4")) == [42, 28, 28]
want = np.rint(np.clip(a * np.float32(255), 0, 255)).astype(np.uint8)
assert (raw[16:].reshape(42, 28, 28) == want).all(), int((raw[16:].reshape(42, 28, 28) != want).sum())
PY
  then ok "npy: float32 42×28×28 in line order, ‖x_adv − x‖ = delta_norm of each line; IDX = rint(x_adv·255)"
  else bad "adversarial npy/IDX contents"; fi
else
  # no NumPy: the header and the size
  head -c 128 "$tmp/a.npy" | grep -qa "'shape': (42, 28, 28)" && [[ $(stat -c %s "$tmp/a.npy") -eq $((128 + 42 * 784 * 4)) ]] \
    && ok "npy header and size (NumPy not installed)" || bad "npy header or size"
fi

# CIFAR-10 records (3 channels): N×3×32×32, channel-major as the records; a tiny random 3072-16-10 MLP
python3 - "$tmp" <<'PY'
import json, os, random, struct, sys
t = sys.argv[1]; rng = random.Random(3)
open(t + "/c.bin", "wb").write(b"".join(bytes([i % 10]) + bytes(rng.randrange(256) for _ in range(3072)) for i in range(5)))
os.makedirs(t + "/cm"); sizes = [3072, 16, 10]
json.dump({"format": "snn-model/1", "name": "cm", "classes": 10, "architecture": {"kind": "matrix-gaussian-mlp", "sizes": sizes},
           "input": {"channels": 3, "height": 32, "width": 32}}, open(t + "/cm/model.json", "w"))
header, blobs, off = {"__metadata__": {"format": "snn-model/1", "kind": "matrix-gaussian-mlp"}}, [], 0
for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
    for name, shape, vals in [(f"layer{i}.M", [a + 1, b], [rng.gauss(0, 0.05) for _ in range((a + 1) * b)]),
                              (f"layer{i}.log_sqrt_u", [a + 1], [-1.5] * (a + 1)), (f"layer{i}.log_sqrt_v", [b], [-1.5] * b)]:
        blob = struct.pack("<%df" % len(vals), *vals)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [off, off + len(blob)]}; blobs.append(blob); off += len(blob)
h = json.dumps(header).encode(); h += b" " * (-len(h) % 8)
open(t + "/cm/weights.safetensors", "wb").write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
PY
"$SNN" evaluate --model "$tmp/cm" "${small[@]}" --eta 0.5 --threads 1 --adversarial-out "$tmp/c.npy" --progress always \
  < "$tmp/c.bin" > "$tmp/c.jsonl" 2> "$tmp/c.err"
if [[ $have_numpy == 1 ]]; then
  python3 - "$tmp/c.npy" "$tmp/c.jsonl" "$tmp/c.bin" <<'PY' && ok "npy of CIFAR-10 input: float32 5×3×32×32, channel-major, ‖x_adv − x‖ = delta_norm" || bad "CIFAR npy"
import json, sys
import numpy as np
a = np.load(sys.argv[1]); L = [json.loads(l) for l in open(sys.argv[2])]
assert a.dtype == np.float32 and a.shape == (5, 3, 32, 32), a.shape
x = np.fromfile(sys.argv[3], dtype=np.uint8).reshape(5, 3073)[:, 1:].reshape(5, 3, 32, 32).astype(np.float32) / np.float32(255)
for j, l in enumerate(L):
    assert abs(np.linalg.norm((a[j].astype(np.float64) - x[j]).ravel()) - l["delta_norm"]) < 1e-5, j
PY
fi
# a stream without a declared count (CIFAR-10, no --limit): no total, no time left
grep -qE '^progress: 5 images, [0-9]+\.[0-9] images/s, [0-9]+:[0-9]{2} elapsed$' "$tmp/c.err" \
  && ok "--progress without a known total: 'progress: 5 images, r images/s, m:ss elapsed'" || bad "progress without total: $(head -c 300 "$tmp/c.err")"

# round trip: the written x_adv, evaluated again with --eta 0 (same seed, S_I and index: the same
# inference realizations), give the lines' adversarial_prediction. IDX rounds x_adv to bytes, so
# the exact comparison uses FGSM with η = 8/255 (x_adv lies on the byte grid: x ± 8/255, clipped)
# on a deterministic model (the dropout-off copy of wrn-fmnist-p03); a stochastic MLP with FGM
# (x_adv off the grid) must agree on most images.
labels_of() {  # labels_of LINES OUT: an idx1-ubyte label file of the lines' labels
  python3 - "$1" "$2" <<'PY'
import json, struct, sys
ys = [json.loads(l)["label"] for l in open(sys.argv[1])]
open(sys.argv[2], "wb").write(struct.pack(">II", 0x801, len(ys)) + bytes(ys))
PY
}
agreement() {  # agreement FIRST SECOND: fraction of lines with adversarial_prediction(first) == clean_prediction(second)
  python3 - "$1" "$2" <<'PY'
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
assert len(a) == len(b) and len(a) > 0
print(sum(x["adversarial_prediction"] == y["clean_prediction"] for x, y in zip(a, b)) / len(a))
PY
}
if [[ -f models/wrn-fmnist-p03/weights.safetensors ]]; then
  python3 - models/wrn-fmnist-p03 "$tmp/wrn-off" <<'PY'
import json, os, struct, sys
src, dst = sys.argv[1:]
os.makedirs(dst, exist_ok=True)
raw = open(os.path.join(src, "weights.safetensors"), "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n]); header["__metadata__"]["dropout"] = "0.0"
h = json.dumps(header).encode()
open(os.path.join(dst, "weights.safetensors"), "wb").write(struct.pack("<Q", len(h)) + h + raw[8 + n:])
card = json.load(open(os.path.join(src, "model.json")))
card["name"] = "wrn-off"; card["architecture"]["dropout"] = 0.0; card.pop("evaluation", None)
json.dump(card, open(os.path.join(dst, "model.json"), "w"))
PY
  w=(evaluate --model "$tmp/wrn-off" --labels "$labels" --limit 24 --attack-samples 1 --inference-samples 1 --no-fresh)
  "$SNN" "${w[@]}" --attack fgsm --eta 0.031372549 --adversarial-out "$tmp/w.idx" --adversarial-format idx \
    < "$tmp/images.idx" > "$tmp/w.jsonl" 2>/dev/null
  labels_of "$tmp/w.jsonl" "$tmp/w-labels.idx"
  "$SNN" evaluate --model "$tmp/wrn-off" --labels "$tmp/w-labels.idx" --eta 0 --attack-samples 1 --inference-samples 1 \
    < "$tmp/w.idx" > "$tmp/w-again.jsonl" 2>/dev/null
  [[ $(agreement "$tmp/w.jsonl" "$tmp/w-again.jsonl") == 1.0 ]] \
    && grep -q '"adversarial_correct":false' "$tmp/w.jsonl" \
    && ok "round trip (deterministic WRN, FGSM 8/255, IDX): every adversarial_prediction is reproduced from the file" \
    || bad "round trip on the deterministic WRN: agreement $(agreement "$tmp/w.jsonl" "$tmp/w-again.jsonl")"
else
  echo "skip round trip on the WRN (models/wrn-fmnist-p03 absent)"
fi
# with .npy input (when this snn reads it: `--format` lists npy) the float32 file itself round-trips:
# FGM x_adv off the byte grid, every prediction of the deterministic WRN reproduced exactly
if "$SNN" evaluate --help | grep -A3 -- '--format <format>' | grep -q npy && [[ -d $tmp/wrn-off ]]; then
  "$SNN" "${w[@]}" --eta 1.5 --adversarial-out "$tmp/wf.npy" < "$tmp/images.idx" > "$tmp/wf.jsonl" 2>/dev/null
  labels_of "$tmp/wf.jsonl" "$tmp/wf-labels.idx"
  "$SNN" evaluate --model "$tmp/wrn-off" --labels "$tmp/wf-labels.idx" --eta 0 --attack-samples 1 --inference-samples 1 \
    < "$tmp/wf.npy" > "$tmp/wf-again.jsonl" 2>"$tmp/wf.err"
  [[ $(agreement "$tmp/wf.jsonl" "$tmp/wf-again.jsonl") == 1.0 ]] && grep -q '"adversarial_correct":false' "$tmp/wf.jsonl" \
    && ok "round trip (deterministic WRN, FGM 1.5, float32 .npy): every adversarial_prediction is reproduced" \
    || bad "float round trip on the WRN: $(agreement "$tmp/wf.jsonl" "$tmp/wf-again.jsonl" 2>&1) $(head -c 200 "$tmp/wf.err")"
  m=(evaluate --labels "$labels" --limit 60 --attack-samples 2 --inference-samples 10 --no-fresh --seed 7)
  "$SNN" "${m[@]}" --adversarial-out "$tmp/mf.npy" < "$tmp/images.idx" > "$tmp/mf.jsonl" 2>/dev/null
  labels_of "$tmp/mf.jsonl" "$tmp/mf-labels.idx"
  "$SNN" evaluate --labels "$tmp/mf-labels.idx" --eta 0 --inference-samples 10 --seed 7 < "$tmp/mf.npy" > "$tmp/mf-again.jsonl" 2>/dev/null
  python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= 0.95 else 1)' "$(agreement "$tmp/mf.jsonl" "$tmp/mf-again.jsonl")" \
    && ok "round trip (stochastic IM, FGM, float32 .npy): $(agreement "$tmp/mf.jsonl" "$tmp/mf-again.jsonl") of the predictions reproduced (≥ 0.95)" \
    || bad "float round trip on the IM: $(agreement "$tmp/mf.jsonl" "$tmp/mf-again.jsonl")"
else
  echo "skip the float32 .npy round trip (this snn reads no .npy input)"
fi
m=(evaluate --labels "$labels" --limit 60 --attack-samples 2 --inference-samples 10 --no-fresh --seed 7)
"$SNN" "${m[@]}" --adversarial-out "$tmp/m.idx" --adversarial-format idx < "$tmp/images.idx" > "$tmp/m.jsonl" 2>/dev/null
labels_of "$tmp/m.jsonl" "$tmp/m-labels.idx"
"$SNN" evaluate --labels "$tmp/m-labels.idx" --eta 0 --inference-samples 10 --seed 7 < "$tmp/m.idx" > "$tmp/m-again.jsonl" 2>/dev/null
python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= 0.9 else 1)' "$(agreement "$tmp/m.jsonl" "$tmp/m-again.jsonl")" \
  && ok "round trip (stochastic IM, FGM, IDX bytes): $(agreement "$tmp/m.jsonl" "$tmp/m-again.jsonl") of the predictions reproduced (≥ 0.9)" \
  || bad "round trip on the IM: agreement $(agreement "$tmp/m.jsonl" "$tmp/m-again.jsonl")"

# refusals: usage errors (exit 2), before any output
expect "--adversarial-out - is refused" 2 "needs a regular file" -- "$SNN" evaluate --labels "$labels" --adversarial-out - --limit 1
expect "--adversarial-out /dev/stdout (stdout a file) is refused" 2 "same file as stdout" -- \
  "$SNN" evaluate --labels "$labels" --adversarial-out /dev/stdout --limit 1
mkfifo "$tmp/fifo"
expect "--adversarial-out to a pipe is refused" 2 "is a pipe; the adversarial output must be a regular file" -- \
  "$SNN" evaluate --labels "$labels" --adversarial-out "$tmp/fifo" --limit 1
expect "--adversarial-out to a directory is refused" 2 "is a directory" -- "$SNN" evaluate --labels "$labels" --adversarial-out "$tmp" --limit 1
expect "--adversarial-format without --adversarial-out" 2 "applies with --adversarial-out only" -- \
  "$SNN" evaluate --labels "$labels" --adversarial-format idx --limit 1
expect "--adversarial-format idx needs IDX input" 2 "adversarial-format idx needs IDX" -- \
  "$SNN" evaluate --model "$tmp/cm" --format cifar10 --adversarial-out "$tmp/c.idx" --adversarial-format idx < "$tmp/c.bin"
expect "unwritable --adversarial-out" 1 "cannot open for writing" -- \
  "$SNN" evaluate --labels "$labels" --limit 1 --adversarial-out "$tmp/no/such/a.npy" < "$tmp/images.idx"

# ---------------------------------------------------------------- --progress
"$SNN" evaluate --labels "$labels" --limit 40 --threads 1 "${small[@]}" --progress always --progress-interval 0.001 \
  < "$tmp/images.idx" > /dev/null 2> "$tmp/p.err"
prog='^progress: [0-9]+/40 images \([0-9]+\.[0-9]%\), [0-9]+\.[0-9] images/s, [0-9]+:[0-9]{2} elapsed, ([0-9]+:)?[0-9]+:[0-9]{2} left$'
n=$(grep -c '^progress:' "$tmp/p.err"); nok=$(grep -cE "$prog" "$tmp/p.err")
if [[ $n -ge 2 && $n -eq $nok ]] && grep '^progress:' "$tmp/p.err" | tail -1 | grep -q '^progress: 40/40 images (100.0%)' \
   && ! grep -q $'\r' "$tmp/p.err"; then ok "--progress always (not a terminal): $n lines 'progress: k/40 images (p%), r images/s, m:ss elapsed, m:ss left', no \\r"
else bad "--progress always lines: $(head -c 300 "$tmp/p.err")"; fi
"$SNN" evaluate --labels "$labels" --limit 40 --threads 1 "${small[@]}" --progress never --progress-interval 0.001 \
  < "$tmp/images.idx" > /dev/null 2> "$tmp/p.err"
! grep -q 'progress' "$tmp/p.err" && grep -q "40 images in" "$tmp/p.err" && ok "--progress never prints no progress" || bad "--progress never printed progress"
"$SNN" evaluate --labels "$labels" --limit 40 --threads 1 "${small[@]}" < "$tmp/images.idx" > /dev/null 2> "$tmp/p.err"
! grep -q 'progress' "$tmp/p.err" && ok "--progress auto, not a terminal: nothing within the first 30 s" || bad "auto printed progress early"
if command -v script >/dev/null; then   # a pseudo-terminal: the live line with \r
  script -qec "$SNN evaluate --labels $labels --limit 40 --threads 1 ${small[*]} --progress always < $tmp/images.idx > /dev/null" /dev/null > "$tmp/tty.out" 2>&1
  grep -q $'\rprogress: [0-9]*/40 images' "$tmp/tty.out" && ok "--progress on a terminal: a live line rewritten with \\r" || bad "no live progress line on a terminal"
fi
expect "--progress-interval 0 is refused" 2 "progress-interval must be" -- "$SNN" evaluate --labels "$labels" --progress-interval 0
expect "--progress sometimes is refused" 2 "progress" -- "$SNN" evaluate --labels "$labels" --progress sometimes

# ---------------------------------------------------------------- finding models
# from / without --model: the default model from the repository (walking up from the executable)
(cd / && env -u SNN_MODELS "$SNN" evaluate --labels "$labels" --limit 2 "${small[@]}" < "$tmp/images.idx" > "$tmp/r.jsonl" 2>"$tmp/r.err")
grep -q '"model":"im-fmnist"' "$tmp/r.jsonl" && [[ $(wc -l < "$tmp/r.jsonl") -eq 2 ]] \
  && ok "from / without --model: im-fmnist found via the executable's repository" || bad "default model from /: $(cat "$tmp/r.err")"
(cd / && env -u SNN_MODELS "$SNN" evaluate --model vmg-fmnist --labels "$labels" --limit 1 "${small[@]}" < "$tmp/images.idx" > "$tmp/r.jsonl" 2>/dev/null)
grep -q '"model":"vmg-fmnist"' "$tmp/r.jsonl" && ok "bare --model vmg-fmnist from /" || bad "bare --model name from /"
# SNN_MODELS wins over the repository: a folder whose im-fmnist is a copy of vmg-fmnist
mkdir -p "$tmp/mods" && cp -r models/vmg-fmnist "$tmp/mods/im-fmnist"
(cd / && SNN_MODELS="$tmp/mods" "$SNN" evaluate --labels "$labels" --limit 1 "${small[@]}" < "$tmp/images.idx" > "$tmp/r.jsonl" 2>/dev/null)
grep -q '"model":"vmg-fmnist"' "$tmp/r.jsonl" && ok "SNN_MODELS: the default model comes from \$SNN_MODELS/im-fmnist" || bad "SNN_MODELS ignored"
(cd / && SNN_MODELS="$tmp/nothing" "$SNN" evaluate --labels "$labels" --limit 1 < "$tmp/images.idx" >/dev/null 2>"$tmp/r.err"); rc=$?
[[ $rc -eq 1 ]] && grep -q "model 'im-fmnist' not found (looked in ./im-fmnist, $tmp/nothing); SNN_MODELS is set" "$tmp/r.err" \
  && ok "SNN_MODELS without the model: exit 1 naming the folder and SNN_MODELS" || bad "SNN_MODELS miss: exit $rc $(cat "$tmp/r.err")"
expect "unknown bare model name names --model and SNN_MODELS" 1 "model 'nope' not found .*pass --model DIR .* or set SNN_MODELS" -- \
  env -u SNN_MODELS "$SNN" info --model nope
# a copy of the executable outside any repository, no models anywhere near
mkdir -p "$tmp/lone/bin" && cp "$SNN" "$tmp/lone/bin/snn"
(cd "$tmp/lone" && env -u SNN_MODELS ./bin/snn evaluate --labels "$labels" --limit 1 < "$tmp/images.idx" >/dev/null 2>"$tmp/r.err"); rc=$?
[[ $rc -eq 1 ]] && grep -q "looked in ./im-fmnist, $tmp/lone/share/snn/models, $tmp/lone/models" "$tmp/r.err" \
  && ok "no model found: exit 1 listing where it looked" || bad "lone executable: exit $rc $(cat "$tmp/r.err")"
# a path with a slash is used as given (relative to the working directory)
expect "a path with a slash is not looked up" 1 "x/im-fmnist: model directory not found" -- "$SNN" info --model x/im-fmnist

# ---------------------------------------------------------------- scripts/install.sh
bash scripts/install.sh --prefix "$tmp/prefix" --binary "$SNN" 2>/dev/null
(cd / && env -u SNN_MODELS "$tmp/prefix/bin/snn" evaluate --labels "$labels" --limit 2 "${small[@]}" < "$tmp/images.idx" > "$tmp/i.jsonl" 2>/dev/null)
[[ -f $tmp/prefix/share/snn/models/wrn-fmnist-p06/weights.safetensors ]] && grep -q '"model":"im-fmnist"' "$tmp/i.jsonl" \
  && (cd / && env -u SNN_MODELS "$tmp/prefix/bin/snn" info --model wrn-fmnist-p03 | grep -q "WRN-10-1") \
  && ok "install.sh --prefix: the installed snn runs from / with its share/snn/models" || bad "installed snn"
expect "install.sh: unknown argument" 2 "unknown argument" -- bash scripts/install.sh --frob

# ---------------------------------------------------------------- the static build (opt-in)
if [[ -n ${SNN_STATIC_BIN:-} || ${SNN_STATIC:-0} == 1 ]]; then
  static=${SNN_STATIC_BIN:-$(bash scripts/build-static.sh)}
  mkdir -p "$tmp/static" && cp "$static" "$tmp/static/snn"
  libs=$(ldd "$tmp/static/snn" 2>/dev/null | awk '{print $1}' | grep -vE '^(linux-vdso\.so|libc\.so|libm\.so|libpthread\.so|libdl\.so|/lib64/ld-linux-x86-64\.so)' || true)
  deps=$(ldd "$tmp/static/snn" 2>/dev/null | awk '{print $1}' | tr '\n' ' ')
  [[ -z $libs ]] && ok "static build: ldd lists only the C library (${deps:-none: fully static})" \
    || bad "static build links $libs"
  (cd / && env -i "$tmp/static/snn" evaluate --model "$repo/models/im-fmnist" --labels "$labels" --limit 3 "${small[@]}" \
     --adversarial-out "$tmp/static/a.npy" < "$tmp/images.idx" > "$tmp/s.jsonl" 2>"$tmp/s.err")
  "$SNN" evaluate --labels "$labels" --limit 3 "${small[@]}" < "$tmp/images.idx" > "$tmp/s-ref.jsonl" 2>/dev/null
  cmp -s "$tmp/s.jsonl" "$tmp/s-ref.jsonl" && [[ -s $tmp/static/a.npy ]] \
    && ok "static build copied to a temp folder, env -i: the same lines as the normal build" || bad "static build run: $(cat "$tmp/s.err")"
  (cd / && env -i SNN_MODELS="$repo/models" "$tmp/static/snn" info --model vmg-fmnist | grep -q "matrix-gaussian-mlp") \
    && ok "static build, env -i SNN_MODELS=…: a bare --model name found" || bad "static build: SNN_MODELS lookup"
  (cd / && env -i "$tmp/static/snn" info --model im-fmnist >/dev/null 2>"$tmp/s.err"); rc=$?
  [[ $rc -eq 1 ]] && grep -q "model 'im-fmnist' not found" "$tmp/s.err" \
    && ok "static build away from the repository, no SNN_MODELS: exit 1, model not found" || bad "static build lone: exit $rc"
  # the other command-line suites (summarize, info, errors, formats, sweeps) with the static copy
  for suite in cli-tests.sh cli-tests-formats.sh cli-tests-sweeps.sh; do
    SNN="$tmp/static/snn" bash "scripts/$suite" > "$tmp/suite.out" 2>&1 \
      && ok "static build passes scripts/$suite ($(tail -1 "$tmp/suite.out"))" || bad "static build fails scripts/$suite: $(grep FAIL "$tmp/suite.out" | head -3)"
  done
else
  echo "skip the static build (SNN_STATIC=1 builds it, SNN_STATIC_BIN=FILE uses one)"
fi

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
