#!/usr/bin/env bash
# `snn evaluate --format idx|cifar10|npy|auto`: CIFAR-10 binary records and NumPy .npy arrays on
# stdin, format sniffing, --labels rules (required for IDX and .npy, refused for CIFAR-10), size,
# truncation and end-of-stream errors (trailing bytes, gzip trailers), streamed labels.
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
expect "CIFAR into the 784-input model (auto)" 1 "<stdin>: images are 3×32×32 \(3072 values\) but model im-fmnist expects 28×28 images \(784 inputs\)" -- sh -c "'$SNN' evaluate < '$tmp/c.bin'"
expect "CIFAR into the 784-input model (--format cifar10)" 1 "images are 3×32×32 .* expects 28×28 images" -- sh -c "'$SNN' evaluate --format cifar10 < '$tmp/c.bin'"
expect "IDX into the 3072-input model" 1 "<stdin>: images are 28×28 \(784 pixels\) but model cifar-test-mlp expects 3×32×32 images \(3072 inputs\)" -- sh -c "'$SNN' evaluate --model '$cm' --labels '$labels' < '$tmp/images.idx'"

# --labels rules: usage errors, exit 2
expect "idx without --labels" 2 "labels is required" -- sh -c "'$SNN' evaluate --format idx < '$tmp/images.idx'"
expect "auto-detected IDX without --labels" 2 "labels is required for IDX images" -- sh -c "'$SNN' evaluate < '$tmp/images.idx'"
expect "cifar10 with --labels" 2 "labels come from the records" -- sh -c "'$SNN' evaluate --model '$cm' --format cifar10 --labels '$labels' < '$tmp/c.bin'"
expect "auto-detected CIFAR with --labels" 2 "labels come from the records" -- sh -c "'$SNN' evaluate --model '$cm' --labels '$labels' < '$tmp/c.bin'"
expect "unknown --format" 2 "format" -- sh -c "'$SNN' evaluate --format png --labels '$labels' < '$tmp/images.idx'"

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
expect "empty CIFAR-10 stream is an error (as empty IDX is)" 1 "<stdin>: the input is empty \(no images\)" -- sh -c "'$SNN' evaluate --model '$cm' --format cifar10 ${small[*]} < '$tmp/empty'"
[[ ! -s "$tmp/out" ]] && ok "empty CIFAR-10 stream writes no line" || bad "empty CIFAR-10 output"
expect "empty stream with --format auto" 1 "<stdin>: the input is empty" -- sh -c "'$SNN' evaluate --labels '$labels' < '$tmp/empty'"

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


# ---------------------------------------------------------------- streams read exactly (issue 11)
# Small inputs: the first 3 test images (IDX, plain and gzip'd) with their 3 labels, and variants
# that break the end of the stream. .npy files come from a tiny writer (no numpy needed); numpy,
# where installed, checks the writer and the `np.save(sys.stdout.buffer, x) | snn` pipe.
python3 - "$tmp" "$data" <<'PY'
import gzip, struct, sys, zlib
t, data = sys.argv[1], sys.argv[2]
img = gzip.open(data + "/t10k-images-idx3-ubyte.gz").read()
lab = gzip.open(data + "/t10k-labels-idx1-ubyte.gz").read()
px = img[16:16 + 3 * 784]
idx3 = struct.pack(">IIII", 0x803, 3, 28, 28) + px
lab3 = struct.pack(">II", 0x801, 3) + lab[8:11]
w = lambda name, b: open(t + "/" + name, "wb").write(b)
w("s.idx", idx3); w("s.idx.gz", gzip.compress(idx3)); w("l3.idx", lab3); w("l3.idx.gz", gzip.compress(lab3))
w("trail.idx", idx3 + b"\0")
w("l3trail.idx", lab3 + b"\x07")
gz = gzip.compress(idx3)
w("notrailer.idx.gz", gz[:-8])                          # deflate data complete, CRC32 + ISIZE missing
w("garbage.idx.gz", gz + b"garbage")
crc = bytearray(gz); crc[-8] ^= 0xff; w("badcrc.idx.gz", bytes(crc))
size = bytearray(gz); size[-1] ^= 0x01; w("badsize.idx.gz", bytes(size))
half = len(idx3) // 2                                     # two members, the second with a bad CRC
m2 = bytearray(gzip.compress(idx3[half:])); m2[-5] ^= 0x10
w("badcrc2.idx.gz", gzip.compress(idx3[:half]) + bytes(m2))
lcrc = bytearray(gzip.compress(lab3)); lcrc[-7] ^= 0x01; w("l3badcrc.idx.gz", bytes(lcrc))
w("dims.bin", bytes([0, 0, 8, 0xFF]) + bytes(3073 * 2 - 4))   # an IDX-looking magic with a bad dims byte
w("flat784x1.idx", struct.pack(">IIII", 0x803, 3, 784, 1) + px)
w("flat1x784.idx", struct.pack(">IIII", 0x803, 3, 1, 784) + px)
# 2^31 - 1 labels in a ~2 MB gzip (members of 16 MiB zeros), and IDX images declaring as many (5 present)
n = 2**31 - 1
chunk = gzip.compress(bytes(1 << 24), 9)
with open(t + "/huge-labels.idx.gz", "wb") as f:
    f.write(gzip.compress(struct.pack(">II", 0x801, n)))
    for _ in range(n >> 24): f.write(chunk)
    f.write(gzip.compress(bytes(n & ((1 << 24) - 1)), 9))
w("huge-images.idx", struct.pack(">IIII", 0x803, n, 28, 28) + img[16:16 + 5 * 784])

# .npy writer: version 1.0, 2.0 or 3.0, header padded to a multiple of 64 like numpy's
def npy(descr, shape, payload, version=1, fortran=False, header=None):
    h = header if header is not None else "{'descr': '%s', 'fortran_order': %s, 'shape': (%s), }" % (
        descr, fortran, "%d," % shape[0] if len(shape) == 1 else ", ".join(map(str, shape)))
    lenfmt = "<H" if version == 1 else "<I"
    pre = 8 + struct.calcsize(lenfmt)
    h = h.encode() + b" " * ((-(pre + len(h) + 1)) % 64) + b"\n"
    return b"\x93NUMPY" + bytes([version, 0]) + struct.pack(lenfmt, len(h)) + h + payload
def f32(vals): return struct.pack("<%df" % len(vals), *vals)
def over255(b): return struct.unpack("<f", struct.pack("<f", 1 / 255))[0] * b   # Float(b) * (1/255), one rounding
w("u8_nhw.npy", npy("|u1", (3, 28, 28), px, 1))
w("u8_nhwc.npy", npy("|u1", (3, 28, 28, 1), px, 2))
w("u8_nchw.npy", npy("|u1", (3, 1, 28, 28), px, 3))
w("u8_nhw.npy.gz", gzip.compress(npy("|u1", (3, 28, 28), px)))
w("f32_nhw.npy", npy("<f4", (3, 28, 28), f32([over255(b) for b in px])))
w("l3_u1.npy", npy("|u1", (3,), lab[8:11])); w("l3_i4.npy", npy("<i4", (3,), struct.pack("<3i", *lab[8:11])))
w("l3_i8.npy", npy("<i8", (3,), struct.pack("<3q", *lab[8:11])))
# CIFAR-10 records as .npy, channels first and last, uint8 and float32, with .npy labels
recs = open(t + "/c.bin", "rb").read()
labs = [recs[i * 3073] for i in range(8)]
chw = [recs[i * 3073 + 1:(i + 1) * 3073] for i in range(8)]
hwc = [bytes(r[c * 1024 + p] for p in range(1024) for c in range(3)) for r in chw]
w("c_nchw.npy", npy("|u1", (8, 3, 32, 32), b"".join(chw)))
w("c_nhwc.npy", npy("|u1", (8, 32, 32, 3), b"".join(hwc)))
w("c_nhwc_f32.npy", npy("<f4", (8, 32, 32, 3), f32([over255(b) for r in hwc for b in r])))
w("c_labels.npy", npy("<i8", (8,), struct.pack("<8q", *labs)))
# malformed .npy streams, one problem each
bad = {
  "bigendian": npy(">f4", (3, 28, 28), bytes(3 * 784 * 4)),
  "float64": npy("<f8", (3, 28, 28), bytes(3 * 784 * 8)),
  "object": npy("|O", (3, 28, 28), b""),
  "fortran": npy("|u1", (3, 28, 28), px, fortran=True),
  "twodims": npy("|u1", (3, 784), px),
  "version": npy("|u1", (3, 28, 28), px)[:6] + b"\x04\x00" + npy("|u1", (3, 28, 28), px)[8:],
  "notdict": npy("|u1", (), px, header="['descr', '|u1']"),
  "nokey": npy("|u1", (), px, header="{'descr': '|u1', 'fortran_order': False}"),
  "truncheader": npy("|u1", (3, 28, 28), px)[:40],
  "truncdata": npy("|u1", (3, 28, 28), px[:-10]),
  "trailing": npy("|u1", (3, 28, 28), px + b"\0"),
  "ambiguous": npy("|u1", (3, 3, 28, 3), bytes(3 * 3 * 28 * 3)),
  "shape": npy("|u1", (3, 28, 27), bytes(3 * 28 * 27)),
  "range": npy("<f4", (3, 28, 28), f32([0.5] * 784 + [0.5] * 17 + [1.5] + [0.5] * 766 + [0.5] * 784)),
  "nan": npy("<f4", (3, 28, 28), f32([float("nan")] + [0.0] * (3 * 784 - 1))),
  "labels2d": npy("<i8", (3, 1), struct.pack("<3q", *lab[8:11])),
  "labelsf4": npy("<f4", (3,), f32([1, 2, 3])),
  "labelsneg": npy("<i4", (3,), struct.pack("<3i", lab[8], -1, lab[10])),
}
for k, v in bad.items(): w("bad_" + k + ".npy", v)
PY
s3=(--labels "$tmp/l3.idx" "${small[@]}")

# trailing bytes and gzip trailers: exit 1 naming the problem, after the lines of the declared images
expect "IDX: a byte after the declared images" 1 "<stdin>: unexpected data after the 3 records declared in the header" -- sh -c "'$SNN' evaluate ${s3[*]} < '$tmp/trail.idx' > '$tmp/t3.jsonl'"
[[ $(wc -l < "$tmp/t3.jsonl") -eq 3 ]] && valid_jsonl "$tmp/t3.jsonl" && ok "lines of the declared images are kept" || bad "lines before the trailing-data error"
expect "labels: a byte after the declared labels" 1 "l3trail.idx: unexpected data after the 3 records" -- sh -c "'$SNN' evaluate --labels '$tmp/l3trail.idx' ${small[*]} < '$tmp/s.idx'"
expect "gzip without its trailer" 1 "<stdin>: corrupt gzip data \\(unexpected end of compressed data: truncated, or the trailer is missing\\)" -- sh -c "'$SNN' evaluate ${s3[*]} < '$tmp/notrailer.idx.gz'"
expect "garbage after the gzip member" 1 "<stdin>: corrupt gzip data \\(unexpected data after the end of the gzip member\\)" -- sh -c "'$SNN' evaluate ${s3[*]} < '$tmp/garbage.idx.gz'"
expect "gzip CRC-32 corrupt" 1 "<stdin>: corrupt gzip data \\(CRC-32 mismatch" -- sh -c "'$SNN' evaluate ${s3[*]} < '$tmp/badcrc.idx.gz'"
expect "gzip length corrupt" 1 "<stdin>: corrupt gzip data \\(length mismatch" -- sh -c "'$SNN' evaluate ${s3[*]} < '$tmp/badsize.idx.gz'"
expect "gzip CRC-32 corrupt in the second member" 1 "CRC-32 mismatch" -- sh -c "'$SNN' evaluate ${s3[*]} < '$tmp/badcrc2.idx.gz'"
expect "labels gzip CRC-32 corrupt" 1 "l3badcrc.idx.gz: corrupt gzip data \\(CRC-32 mismatch" -- sh -c "'$SNN' evaluate --labels '$tmp/l3badcrc.idx.gz' ${small[*]} < '$tmp/s.idx.gz'"
expect "intact gzip'd images and labels: exit 0" 0 "" -- sh -c "'$SNN' evaluate --labels '$tmp/l3.idx.gz' ${small[*]} < '$tmp/s.idx.gz'"
# 2 GB of zeros after the data: reported at the first trailing byte, not after reading them all
expect "2 GB of zeros after the images fail fast" 1 "<stdin>: unexpected data after the 3 records" -- timeout 60 sh -c "{ cat '$tmp/s.idx'; head -c 2147483648 /dev/zero; } | '$SNN' evaluate ${s3[*]}"
expect "2 GB of zeros after a gzip member fail fast" 1 "unexpected data after the end of the gzip member" -- timeout 60 sh -c "{ cat '$tmp/s.idx.gz'; head -c 2147483648 /dev/zero; } | '$SNN' evaluate ${s3[*]}"

# --limit stops on purpose: the end is not checked, and the summary says so
expect "--limit 2 before trailing bytes: exit 0" 0 "" -- sh -c "'$SNN' evaluate ${s3[*]} --limit 2 --summary '$tmp/lim.json' < '$tmp/trail.idx'"
"$SNN" evaluate "${s3[@]}" --summary "$tmp/all.json" < "$tmp/s.idx" > /dev/null 2>&1
"$SNN" evaluate "${s3[@]}" --limit 3 --summary "$tmp/lim3.json" < "$tmp/s.idx" > /dev/null 2>&1
if python3 -c '
import json, sys
lim, full, lim3 = (json.load(open(p)) for p in sys.argv[1:])
assert lim["input"] == {"limited": True} and lim["images"] == 2, lim.get("input")
assert "input" not in full and "input" not in lim3 and full["images"] == lim3["images"] == 3
' "$tmp/lim.json" "$tmp/all.json" "$tmp/lim3.json"; then ok "summary: \"input\": {\"limited\": true} only when --limit stopped before the end"; else bad "summary input.limited"; fi
expect "--limit 3 = the declared count: the end is checked" 1 "unexpected data after the 3 records" -- sh -c "'$SNN' evaluate ${s3[*]} --limit 3 < '$tmp/trail.idx'"

# labels are streamed: 2^31 - 1 declared labels with --limit 5 need no memory for them
/usr/bin/time -f "%M" -o "$tmp/rss" "$SNN" evaluate --labels "$tmp/huge-labels.idx.gz" --limit 5 "${small[@]}" < "$tmp/huge-images.idx" > "$tmp/huge.jsonl" 2>"$tmp/err"; rc=$?
if [[ $rc -eq 0 && $(wc -l < "$tmp/huge.jsonl") -eq 5 && $(tail -n 1 "$tmp/rss") -lt 200000 ]]; then ok "2^31-1 labels, --limit 5: peak RSS $(tail -n 1 "$tmp/rss") KiB"
else bad "2^31-1 labels with --limit 5 (exit $rc, peak RSS $(tail -n 1 "$tmp/rss") KiB, $(head -c 200 "$tmp/err"))"; fi
expect "label count ≠ image count, found from the headers" 1 "l3.idx: header declares 3 records but 10000 were expected" -- sh -c "'$SNN' evaluate --labels '$tmp/l3.idx' --limit 1 ${small[*]} < '$tmp/images.idx'"

# format sniffing and image shapes
expect "00 00 08 FF is an IDX error, not CIFAR-10" 1 "<stdin>: unsupported IDX file \\(255 dimensions, expected 3\\)" -- sh -c "'$SNN' evaluate --labels '$labels' < '$tmp/dims.bin'"
printf 'not an image file at all' > "$tmp/text"
expect "unrecognised stdin lists the accepted formats" 1 "<stdin>: unrecognised image format \\(starts with 6e 6f 74 20 61 6e 20 69\\); accepted: IDX images .*NumPy \\.npy .*CIFAR-10" -- sh -c "'$SNN' evaluate --labels '$labels' < '$tmp/text'"
expect "MLP: IDX 784×1 is not 28×28" 1 "<stdin>: images are 784×1 \\(784 pixels\\) but model im-fmnist expects 28×28 images" -- sh -c "'$SNN' evaluate ${s3[*]} < '$tmp/flat784x1.idx'"
expect "WRN: IDX 784×1 is not 28×28" 1 "images are 784×1 .* expects 28×28 images" -- sh -c "'$SNN' evaluate --model models/wrn-fmnist-p03 ${s3[*]} < '$tmp/flat784x1.idx'"
expect "WRN: IDX 1×784 is not 28×28" 1 "images are 1×784 .* expects 28×28 images" -- sh -c "'$SNN' evaluate --model models/wrn-fmnist-p03 ${s3[*]} < '$tmp/flat1x784.idx'"

# ---------------------------------------------------------------- NumPy .npy input (issue 12)
"$SNN" evaluate "${s3[@]}" < "$tmp/s.idx" > "$tmp/ref.jsonl" 2>/dev/null
for f in u8_nhw.npy u8_nhwc.npy u8_nchw.npy u8_nhw.npy.gz f32_nhw.npy; do
  for l in l3.idx l3_u1.npy l3_i4.npy l3_i8.npy; do
    "$SNN" evaluate --labels "$tmp/$l" "${small[@]}" < "$tmp/$f" > "$tmp/n.jsonl" 2>"$tmp/err"
    cmp -s "$tmp/n.jsonl" "$tmp/ref.jsonl" || { bad "$f with labels $l differs from IDX ($(head -c 200 "$tmp/err"))"; continue 2; }
  done
  ok "$f (labels IDX, |u1, <i4, <i8) = the IDX stream, byte for byte"
done
"$SNN" evaluate --format npy "${s3[@]}" < "$tmp/u8_nhw.npy" > "$tmp/n.jsonl" 2>/dev/null
cmp -s "$tmp/n.jsonl" "$tmp/ref.jsonl" && ok "--format npy = auto" || bad "--format npy"
for f in c_nchw.npy c_nhwc.npy c_nhwc_f32.npy; do
  "$SNN" evaluate --model "$cm" --labels "$tmp/c_labels.npy" "${small[@]}" < "$tmp/$f" > "$tmp/n.jsonl" 2>"$tmp/err"
  cmp -s "$tmp/n.jsonl" "$tmp/c1.jsonl" && ok "$f (3 channels) = the CIFAR-10 records, byte for byte" || bad "$f differs from CIFAR-10 ($(head -c 200 "$tmp/err"))"
done
"$SNN" evaluate --model "$cm" --labels "$tmp/c_labels.npy" --layout nhwc "${small[@]}" < "$tmp/c_nhwc.npy" > "$tmp/n.jsonl" 2>/dev/null
cmp -s "$tmp/n.jsonl" "$tmp/c1.jsonl" && ok "--layout nhwc stated = auto" || bad "--layout nhwc"
expect "--layout nchw on NHWC data: a shape error" 1 "images are 32×32×3 \\(3072 values\\) but model cifar-test-mlp expects 3×32×32" -- sh -c "'$SNN' evaluate --model '$cm' --labels '$tmp/c_labels.npy' --layout nchw < '$tmp/c_nhwc.npy'"
if python3 -c 'import numpy' 2>/dev/null; then
  python3 -c '
import numpy as np, sys
t = sys.argv[1]
import io
for f in ("u8_nhw", "f32_nhw", "c_nchw", "c_nhwc_f32", "l3_i4", "l3_i8"):   # version 1.0 files
    o = io.BytesIO(); np.save(o, np.load(t + "/" + f + ".npy"))
    assert o.getvalue() == open(t + "/" + f + ".npy", "rb").read(), f
x = np.load(t + "/u8_nhw.npy"); assert (x == np.frombuffer(open(t + "/s.idx", "rb").read()[16:], np.uint8).reshape(3, 28, 28)).all()
assert (np.load(t + "/u8_nhwc.npy")[..., 0] == x).all() and (np.load(t + "/u8_nchw.npy")[:, 0] == x).all()   # 2.0, 3.0
assert (np.load(t + "/c_nhwc.npy").transpose(0, 3, 1, 2) == np.load(t + "/c_nchw.npy")).all()
assert (np.load(t + "/f32_nhw.npy") == x.astype(np.float32) * np.float32(1 / 255)).all()
' "$tmp" && ok "the test .npy files are byte-identical to numpy's np.save" || bad "test .npy writer differs from numpy"
  python3 -c "import numpy as np, sys; np.save(sys.stdout.buffer, np.load('$tmp/u8_nhw.npy').astype(np.float32) * np.float32(1 / 255))" \
    | "$SNN" evaluate "${s3[@]}" > "$tmp/n.jsonl" 2>"$tmp/err"
  cmp -s "$tmp/n.jsonl" "$tmp/ref.jsonl" && ok "np.save(sys.stdout.buffer, x) | snn evaluate = IDX" || bad "numpy pipe ($(head -c 200 "$tmp/err"))"
else
  ok "numpy not installed: the np.save pipe check is skipped (the tiny writer's files are used)"
fi
# malformed .npy: exit 1 naming the problem
npyerr() { expect ".npy $1" 1 "$3" -- sh -c "'$SNN' evaluate --labels '${4:-$tmp/l3.idx}' ${small[*]} < '$tmp/bad_$2.npy'"; }
npyerr "big-endian float32" bigendian "bad .npy file \\(dtype '>f4' is not supported for images: use '\\|u1' \\(uint8\\) or '<f4' \\(float32\\) \\(big-endian"
npyerr "float64" float64 "dtype '<f8' is not supported .*float64"
npyerr "object dtype" object "dtype '\\|O' is not supported .*Python objects"
npyerr "fortran_order True" fortran "fortran_order is True"
npyerr "2-D shape" twodims "shape \\(3, 784\\) has 2 dimensions"
npyerr "version 4.0" version "format version 4.0 is not supported"
npyerr "header not a dict" notdict "header is not a Python dict literal"
npyerr "header without shape" nokey "the header has no 'shape'"
npyerr "truncated header" truncheader "header is truncated"
npyerr "truncated data" truncdata "<stdin>: record 2 is truncated \\(got 774 of 784 bytes\\)"
npyerr "trailing bytes" trailing "<stdin>: unexpected data after the 3 records declared"
npyerr "ambiguous layout" ambiguous "layout of shape \\(3, 3, 28, 3\\) is ambiguous"
npyerr "shape ≠ the model's" shape "images are 28×27 \\(756 pixels\\) but model im-fmnist expects 28×28"
npyerr "float pixel above 1" range "<stdin>: record 1 has pixel value 1.5, outside \\[0, 1\\] \\(at position 17\\)"
npyerr "NaN pixel" nan "<stdin>: record 0 has pixel value nan, not finite"
expect ".npy labels of 2 dimensions" 1 "labels have shape \\(3, 1\\)" -- sh -c "'$SNN' evaluate --labels '$tmp/bad_labels2d.npy' ${small[*]} < '$tmp/u8_nhw.npy'"
expect ".npy float labels" 1 "dtype '<f4' is not supported for labels" -- sh -c "'$SNN' evaluate --labels '$tmp/bad_labelsf4.npy' ${small[*]} < '$tmp/u8_nhw.npy'"
expect ".npy negative label" 1 "bad_labelsneg.npy: record 1 has label -1, but the model has 10 classes" -- sh -c "'$SNN' evaluate --labels '$tmp/bad_labelsneg.npy' ${small[*]} < '$tmp/u8_nhw.npy'"
expect ".npy without --labels" 2 "labels is required for NPY images" -- sh -c "'$SNN' evaluate < '$tmp/u8_nhw.npy'"
expect "--layout with IDX" 2 "layout applies to .npy images only" -- sh -c "'$SNN' evaluate --labels '$labels' --layout nhwc < '$tmp/s.idx'"
expect "IDX forced as npy" 1 "does not start with the magic" -- sh -c "'$SNN' evaluate --format npy --labels '$labels' < '$tmp/s.idx'"

# scripts/images_to_npy.py: PNGs (written here by a tiny PNG writer) → .npy pair → the same lines
# as the IDX stream (Pillow comes into a private venv on first use)
python3 - "$tmp" <<'PY'
import os, struct, sys, zlib
t = sys.argv[1]
px = open(t + "/s.idx", "rb").read()[16:]
lab = open(t + "/l3.idx", "rb").read()[8:]
def png(path, w, h, rows):
    chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\0" + r for r in rows)
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
for d in ("flat", "classes/7", "classes/3", "odd"): os.makedirs(t + "/png/" + d, exist_ok=True)
with open(t + "/png/labels.csv", "w") as f:
    f.write("file,label\n")
    for i in range(3):
        img = px[i * 784:(i + 1) * 784]
        png(f"{t}/png/flat/{i:03d}.png", 28, 28, [img[r * 28:(r + 1) * 28] for r in range(28)])
        f.write(f"{i:03d}.png,{lab[i]}\n")
        png(f"{t}/png/classes/{(7, 3, 7)[i]}/{i}.png", 28, 28, [img[r * 28:(r + 1) * 28] for r in range(28)])
png(t + "/png/odd/a.png", 28, 28, [bytes(28)] * 28); png(t + "/png/odd/b.png", 27, 28, [bytes(27)] * 28)
# the 8 CIFAR-10 records as RGB PNGs (colour type 2), one subfolder per label
recs = open(t + "/c.bin", "rb").read()
for i in range(8):
    r = recs[i * 3073:(i + 1) * 3073]
    rgb = bytes(r[1 + c * 1024 + p] for p in range(1024) for c in range(3))
    os.makedirs(f"{t}/png/rgb/{r[0]}", exist_ok=True)
    chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\0" + rgb[y * 96:(y + 1) * 96] for y in range(32))
    open(f"{t}/png/rgb/{r[0]}/{i}.png", "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 32, 32, 8, 2, 0, 0, 0))
                                                   + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
PY
if python3 scripts/images_to_npy.py "$tmp/png/flat" "$tmp/png/i.npy" "$tmp/png/l.npy" --labels-csv "$tmp/png/labels.csv" 2>"$tmp/err" \
   && "$SNN" evaluate --labels "$tmp/png/l.npy" "${small[@]}" < "$tmp/png/i.npy" > "$tmp/n.jsonl" 2>>"$tmp/err" && cmp -s "$tmp/n.jsonl" "$tmp/ref.jsonl"
then ok "images_to_npy.py: PNGs + labels CSV evaluate like the IDX stream"; else bad "images_to_npy.py with a CSV ($(tail -c 300 "$tmp/err"))"; fi
python3 scripts/images_to_npy.py "$tmp/png/classes" "$tmp/png/ci.npy" "$tmp/png/cl.npy" 2>/dev/null
if python3 -c '
import struct, sys
b = open(sys.argv[1], "rb").read(); n = struct.unpack("<H", b[8:10])[0]
assert b"(3,)" in b[10:10 + n] and struct.unpack("<3q", b[10 + n:]) == (3, 7, 7), b
i = open(sys.argv[2], "rb").read(); m = struct.unpack("<H", i[8:10])[0]
assert b"(3, 28, 28)" in i[10:10 + m] and len(i) == 10 + m + 3 * 784
' "$tmp/png/cl.npy" "$tmp/png/ci.npy"; then ok "images_to_npy.py: class subfolders give the labels (by folder name)"; else bad "images_to_npy.py class subfolders"; fi
for layout in nhwc nchw; do
  python3 scripts/images_to_npy.py "$tmp/png/rgb" "$tmp/png/rgb.npy" "$tmp/png/rgbl.npy" --mode RGB --layout $layout 2>/dev/null
  "$SNN" evaluate --model "$cm" --labels "$tmp/png/rgbl.npy" "${small[@]}" < "$tmp/png/rgb.npy" > "$tmp/n.jsonl" 2>"$tmp/err"
  # records 0..7 have labels 0..7, one per class folder, so the sorted paths keep the record order
  cmp -s "$tmp/n.jsonl" "$tmp/c1.jsonl" && ok "images_to_npy.py --mode RGB --layout $layout = the CIFAR-10 records" || bad "images_to_npy.py RGB $layout ($(head -c 200 "$tmp/err"))"
done
printf 'odd/a.png,1\nodd/b.png,2\n' > "$tmp/png/odd.csv"
expect "images_to_npy.py: images of two sizes" 1 "b.png: image is 27x28, the first is 28x28 \\(pass --size WxH" -- python3 scripts/images_to_npy.py "$tmp/png" "$tmp/png/x.npy" "$tmp/png/y.npy" --labels-csv "$tmp/png/odd.csv"

echo "cli-formats: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
