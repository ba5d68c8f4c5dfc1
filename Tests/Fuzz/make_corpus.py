#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets (Tests/Fuzz/corpus/<target>/): small valid inputs of
each format, so that libFuzzer starts past the magic numbers. Standard library only. The files are
committed; rerun this only to change the seeds. (summarize and model-json seeds also hold lines and
cards written by snn itself; see Tests/Fuzz/README.md.)"""
import gzip, json, os, struct

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    os.makedirs(os.path.join(root, target), exist_ok=True)
    with open(os.path.join(root, target, name), "wb") as f:
        f.write(data)


def idx(magic, dims, payload):
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims) + payload


def npy(descr, shape, payload):
    shape_text = "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape_text)
    pad = 64 - (10 + len(header) + 1) % 64
    header = header + " " * (pad % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1") + payload


def gz(data):
    return gzip.compress(data, mtime=0)


images = idx(0x803, [3, 2, 2], bytes(range(12)))
labels = idx(0x801, [3], bytes([0, 1, 9]))
cifar = bytes([3]) + bytes(i % 256 for i in range(3072))
put("idx-images", "three-2x2.idx", images)
put("idx-images", "three-2x2.idx.gz", gz(images))
put("idx-images", "empty-28x28.idx", idx(0x803, [0, 28, 28], b""))
put("idx-labels", "three.idx", labels)
put("idx-labels", "three.idx.gz", gz(labels))
put("idx-labels", "u1.npy", npy("|u1", [3], bytes([0, 1, 9])))
put("idx-labels", "i4.npy", npy("<i4", [2], struct.pack("<2i", 1, 7)))
put("idx-labels", "i8.npy", npy("<i8", [2], struct.pack("<2q", 4, 5)))
put("cifar10", "one-record.bin", cifar)
put("cifar10", "one-record.bin.gz", gz(cifar))
u8 = bytes(range(24))
put("npy", "u1-nhw.npy", npy("|u1", [2, 3, 4], u8))
put("npy", "u1-nhwc.npy", npy("|u1", [1, 6, 5, 3], bytes(range(90))))
put("npy", "u1-nchw.npy", npy("|u1", [1, 3, 5, 6], bytes(range(90))))
put("npy", "f4-nhw.npy", npy("<f4", [1, 2, 2], struct.pack("<4f", 0.0, 0.25, 0.5, 1.0)))
put("npy", "f4-nhw.npy.gz", gz(npy("<f4", [1, 2, 2], struct.pack("<4f", 0.0, 0.25, 0.5, 1.0))))
for name in os.listdir(os.path.join(root, "idx-images")) + ["../cifar10/one-record.bin", "../npy/u1-nhw.npy"]:
    with open(os.path.join(root, "idx-images", name), "rb") as f:
        put("auto", os.path.basename(name), f.read())


def safetensors(tensors, metadata=None):
    header, data = {}, b""
    for name, shape, values in tensors:
        raw = struct.pack("<%df" % len(values), *values)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


# the tiny MLP of the model-json target: sizes [4, 3, 2] (each layer's rows: its inputs and a bias row)
mlp = [("layer0.M", [5, 3], [0.1] * 15), ("layer0.log_sqrt_u", [5], [-1.0] * 5), ("layer0.log_sqrt_v", [3], [-1.0] * 3),
       ("layer1.M", [4, 2], [0.2] * 8), ("layer1.log_sqrt_u", [4], [-1.0] * 4), ("layer1.log_sqrt_v", [2], [-1.0] * 2)]
put("safetensors", "tiny-mlp.safetensors", safetensors(mlp, {"format": "snn-model/1"}))
put("safetensors", "empty.safetensors", safetensors([]))
card = {"format": "snn-model/1", "name": "fuzz-mlp", "classes": 2,
        "architecture": {"kind": "matrix-gaussian-mlp", "sizes": [4, 3, 2]},
        "input": {"height": 2, "width": 2, "channels": 1}}
put("model-json", "tiny-mlp.json", json.dumps(card, indent=1).encode())
card["smoothing"] = {"variance": 0.25, "noise_samples": 4, "lipschitz": 8}
put("model-json", "tiny-mlp-smooth.json", json.dumps(card, indent=1).encode())
flags = [
    ["--labels", "l.idx", "--eta", "0,0.5,1.5", "--attack", "pgd", "--pgd-steps", "3", "--random-start"],
    ["--format", "npy", "--layout", "nhwc", "--labels", "l.npy", "--attack-samples", "1,10", "--inference-samples", "100"],
    ["--format", "cifar10", "--attack", "fgsm", "--norm", "inf", "--loss", "margin", "--target", "next"],
    ["--shard", "1/4", "--limit", "10", "--memory-budget", "64MiB", "--threads", "2", "--seed", "7"],
    ["--variance-samples", "10", "--extreme", "--share-samples", "--independent-sets", "--no-fresh", "--dry-run"],
    ["--target", "3", "--loss", "cw", "--pgd-step-size", "0.1", "--summary", "s.json", "--progress-interval", "5"],
    ["--adversarial-out", "adv.npy", "--adversarial-format", "idx", "--progress", "always", "--model", "m"],
]
for i, f in enumerate(flags):
    put("evaluate-flags", "flags-%d.txt" % i, "\n".join(f).encode())
# the weights headers of the bundled models (Tests/SNNModelsTests/Fixtures/fuzz), without their data
fixtures = os.path.join(os.path.dirname(root), "..", "SNNModelsTests", "Fixtures", "fuzz")
for name in sorted(os.listdir(fixtures)):
    if name.endswith(".header.json"):
        with open(os.path.join(fixtures, name), "rb") as f:
            text = f.read()
        put("safetensors", name.replace(".header.json", "-header-only.safetensors"), struct.pack("<Q", len(text)) + text)
