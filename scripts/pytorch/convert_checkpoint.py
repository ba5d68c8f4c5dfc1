#!/usr/bin/env python3
"""Convert a PyTorch wide-ResNet checkpoint into an `snn` model directory (docs/METHOD.md §Wide ResNet).

    python3 scripts/pytorch/convert_checkpoint.py CHECKPOINT OUTDIR \
        [--depth 28 --widen 10 --dropout 0.3 --dataset cifar10|cifar100|fashion-mnist --name NAME] \
        [--mean M1,M2,M3 --std S1,S2,S3] [--trust-pickle]

CHECKPOINT is one of
  (a) a checkpoint of the paper's code base, github.com/meliketoy/wide-resnet.pytorch (main.py:
      `torch.save({'net': net, 'acc': acc, 'epoch': epoch}, 'checkpoint/cifar10/wide-resnet-28x10.t7')`),
      where `net` is the whole pickled `networks.wide_resnet.Wide_ResNet`, possibly wrapped in
      `nn.DataParallel`. A minimal compatible definition of `Wide_ResNet`/`wide_basic` is installed
      as a stand-in `networks.wide_resnet` module, so the code base need not be on the path;
  (b) a plain state_dict (.pt/.pth/.t7, or a dict holding it under 'state_dict', 'model' or 'net')
      with that layout; `module.` (DataParallel) and `_orig_mod.` (torch.compile) prefixes are removed;
  (c) a .safetensors file holding such a state_dict (read by hand, no `safetensors` package needed;
      its `__metadata__` depth/widen/dropout/mean/std are used when present).

OUTDIR receives weights.safetensors (F32 tensors in state_dict order, without num_batches_tracked;
`__metadata__` format, kind, depth, widen, dropout, mean, std, padded_height, padded_width) and
model.json (architecture kind "wide-resnet", input size, classes), which `snn info --model OUTDIR` loads.

Every expected tensor must be present with the shape implied by depth and widen (inferred from the
tensor shapes when not given), and nothing else may be present except `num_batches_tracked`;
otherwise the script prints one line naming the tensor and exits with status 1.

Datasets (the normalisation becomes the model's first layer in `snn`; images are pixels in [0, 1]):
  cifar10        32×32×3, mean (0.4914, 0.4822, 0.4465), std (0.2023, 0.1994, 0.2010) — config.py of
                 the code base (the transforms.Normalize of its main.py)
  cifar100       32×32×3, mean (0.5071, 0.4867, 0.4408), std (0.2675, 0.2565, 0.2761) — same config.py
  fashion-mnist  28×28×1 zero-padded (2 pixels each side) to 32×32, mean 0.2860, std 0.3530: the
                 statistics of the 60 000 unpadded training images. `snn` pads BEFORE normalising, so
                 the matching torchvision pipeline is Pad(2) → ToTensor() → Normalize((0.2860,), (0.3530,)).
The default is cifar10 for a 3-channel stem and fashion-mnist for a 1-channel stem.

SECURITY: (a) is a pickle, and unpickling an untrusted file can run arbitrary code. The script first
loads with `torch.load(weights_only=True)`, allowing only the classes such a checkpoint needs (the
stand-in Wide_ResNet/wide_basic and torch's Conv2d, BatchNorm2d, Dropout, Sequential, Linear,
DataParallel). Only with --trust-pickle does it fall back to a full `torch.load(weights_only=False)`
— use that only for files from a source you trust. Safetensors files (c) involve no pickle at all.

PyTorch is needed only here: without it the script creates a private virtual environment and
installs the CPU wheel (`pip install torch==2.13.0+cpu`, ~16 s, ~1 GB), then re-runs itself there.
"""
import argparse
import json
import math
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_env import VENV, TORCH, ensure_torch, write_safetensors  # noqa: E402,F401

DATASETS = {
    # name: (height, width, channels, padded_height, padded_width, mean, std)
    "cifar10": (32, 32, 3, 32, 32, (0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)),
    "cifar100": (32, 32, 3, 32, 32, (0.5071, 0.4867, 0.4408), (0.2675, 0.2565, 0.2761)),
    "fashion-mnist": (28, 28, 1, 32, 32, (0.2860,), (0.3530,)),
}


class ConversionError(Exception):
    pass


def fail(message):
    raise ConversionError(message)


def parse_args():
    ap = argparse.ArgumentParser(description="Convert a PyTorch wide-ResNet checkpoint into an snn model directory.",
                                 epilog="See the module docstring / scripts/pytorch/README.md for details.")
    ap.add_argument("checkpoint", help="code-base checkpoint (.t7), state_dict (.pt/.pth) or .safetensors")
    ap.add_argument("outdir", help="model directory to write (weights.safetensors + model.json)")
    ap.add_argument("--depth", type=int, help="6n+4 (inferred from the tensors when omitted)")
    ap.add_argument("--widen", type=int, help="widen factor k (inferred from the tensors when omitted)")
    ap.add_argument("--dropout", type=float,
                    help="dropout probability p (default: from the pickled module or safetensors metadata, else 0.3)")
    ap.add_argument("--dataset", choices=sorted(DATASETS),
                    help="input size and normalisation (default: cifar10 for 3 input channels, fashion-mnist for 1)")
    ap.add_argument("--mean", help="override the normalisation mean, comma-separated, one per channel")
    ap.add_argument("--std", help="override the normalisation std, comma-separated, one per channel")
    ap.add_argument("--name", help="model name in model.json (default: the OUTDIR base name)")
    ap.add_argument("--trust-pickle", action="store_true",
                    help="allow a full, unrestricted unpickle (can run arbitrary code: trusted files only)")
    return ap.parse_args()


# ---------------------------------------------------------------------------------------------
# A minimal stand-in for networks/wide_resnet.py of meliketoy/wide-resnet.pytorch, so that pickled
# Wide_ResNet modules load without that code base. Same attributes and submodule names.

def install_codebase_stub(torch):
    import types
    nn, F = torch.nn, torch.nn.functional

    def conv3x3(in_planes, out_planes, stride=1):
        return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=True)

    class wide_basic(nn.Module):
        def __init__(self, in_planes, planes, dropout_rate, stride=1):
            super().__init__()
            self.bn1 = nn.BatchNorm2d(in_planes)
            self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=3, padding=1, bias=True)
            self.dropout = nn.Dropout(p=dropout_rate)
            self.bn2 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=stride, padding=1, bias=True)
            self.shortcut = nn.Sequential()
            if stride != 1 or in_planes != planes:
                self.shortcut = nn.Sequential(nn.Conv2d(in_planes, planes, kernel_size=1, stride=stride, bias=True))

        def forward(self, x):
            out = self.dropout(self.conv1(F.relu(self.bn1(x))))
            out = self.conv2(F.relu(self.bn2(out)))
            return out + self.shortcut(x)

    class Wide_ResNet(nn.Module):
        def __init__(self, depth, widen_factor, dropout_rate, num_classes, in_channels=3):
            super().__init__()
            self.in_planes = 16
            assert (depth - 4) % 6 == 0, "Wide-resnet depth should be 6n+4"
            n, k = (depth - 4) // 6, widen_factor
            stages = [16, 16 * k, 32 * k, 64 * k]
            self.conv1 = conv3x3(in_channels, stages[0])
            self.layer1 = self._wide_layer(wide_basic, stages[1], n, dropout_rate, stride=1)
            self.layer2 = self._wide_layer(wide_basic, stages[2], n, dropout_rate, stride=2)
            self.layer3 = self._wide_layer(wide_basic, stages[3], n, dropout_rate, stride=2)
            self.bn1 = nn.BatchNorm2d(stages[3], momentum=0.9)
            self.linear = nn.Linear(stages[3], num_classes)

        def _wide_layer(self, block, planes, num_blocks, dropout_rate, stride):
            layers = []
            for s in [stride] + [1] * (int(num_blocks) - 1):
                layers.append(block(self.in_planes, planes, dropout_rate, s))
                self.in_planes = planes
            return nn.Sequential(*layers)

        def forward(self, x):
            out = self.layer3(self.layer2(self.layer1(self.conv1(x))))
            out = F.relu(self.bn1(out))
            out = F.adaptive_avg_pool2d(out, 1).flatten(1)  # = avg_pool2d(out, 8) at 32×32
            return self.linear(out)

    if "networks.wide_resnet" not in sys.modules:
        pkg = types.ModuleType("networks")
        pkg.__path__ = []  # a package, so `networks.wide_resnet` resolves
        mod = types.ModuleType("networks.wide_resnet")
        for obj in (wide_basic, Wide_ResNet):
            obj.__module__ = mod.__name__
            obj.__qualname__ = obj.__name__
        mod.conv3x3, mod.wide_basic, mod.Wide_ResNet = conv3x3, wide_basic, Wide_ResNet
        pkg.wide_resnet = mod
        for name in ("Wide_ResNet", "wide_basic", "conv3x3"):
            setattr(pkg, name, getattr(mod, name))  # `from networks import *` re-exports them
        sys.modules["networks"], sys.modules["networks.wide_resnet"] = pkg, mod
    mod = sys.modules["networks.wide_resnet"]
    return [mod.Wide_ResNet, mod.wide_basic]


def allowed_globals(torch):
    nn = torch.nn
    allowed = install_codebase_stub(torch) + [nn.Conv2d, nn.BatchNorm2d, nn.Dropout, nn.Sequential, nn.Linear,
                                              nn.ReLU, nn.DataParallel, torch.device, set]
    try:  # modules pickled by PyTorch < 1.x carry a reference to this backend getter
        from torch.nn.backends.thnn import _get_thnn_function_backend
        allowed.append(_get_thnn_function_backend)
    except ImportError:
        pass
    return allowed


# ---------------------------------------------------------------------------------------------
# Reading

SAFETENSORS_DTYPES = {"F32": "float32", "F64": "float64", "F16": "float16", "BF16": "bfloat16",
                      "I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8", "U8": "uint8", "BOOL": "bool"}


def is_safetensors(path):
    with open(path, "rb") as f:
        head = f.read(9)
    if len(head) < 9:
        return False
    n = struct.unpack("<Q", head[:8])[0]
    return 0 < n < (1 << 30) and head[8:9] == b"{"


def read_safetensors(torch, path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        try:
            header = json.loads(f.read(n))
        except ValueError as e:
            fail(f"{path}: invalid safetensors header ({e})")
        data = f.read()
    meta = header.pop("__metadata__", None) or {}
    tensors = {}
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        dtype = SAFETENSORS_DTYPES.get(info.get("dtype"))
        if dtype is None:
            fail(f"{path}: tensor {name} has unsupported dtype {info.get('dtype')}")
        a, b = info["data_offsets"]
        if not 0 <= a <= b <= len(data):
            fail(f"{path}: tensor {name} lies outside the file")
        t = torch.frombuffer(bytearray(data[a:b]), dtype=getattr(torch, dtype)) if b > a else \
            torch.empty(0, dtype=getattr(torch, dtype))
        if t.numel() != math.prod(info["shape"]):
            fail(f"{path}: tensor {name} has {t.numel()} elements for shape {info['shape']}")
        tensors[name] = t.reshape(info["shape"])
    return tensors, meta


def load_pickle(torch, path, trust):
    import pickle
    allowed = allowed_globals(torch)
    try:
        with torch.serialization.safe_globals(allowed):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        restricted_error = e
    if not trust:
        unsafe = []
        try:
            names = {f"{g.__module__}.{g.__qualname__}" for g in allowed if hasattr(g, "__qualname__")}
            unsafe = [g for g in torch.serialization.get_unsafe_globals_in_checkpoint(path) if g not in names]
        except Exception:
            pass
        why = ("it references " + ", ".join(unsafe)) if unsafe else str(restricted_error).splitlines()[-1].strip()[:200]
        fail(f"{path}: cannot be loaded safely ({why}); rerun with --trust-pickle ONLY if you trust its source "
             "(unpickling can run arbitrary code), or export a state_dict / safetensors instead")
    print(f"warning: {path}: full unpickle (--trust-pickle)", file=sys.stderr)
    return torch.load(path, map_location="cpu", weights_only=False)


def strip_prefixes(name):
    changed = True
    while changed:
        changed = False
        for prefix in ("module.", "_orig_mod."):
            if name.startswith(prefix):
                name, changed = name[len(prefix):], True
    return name


def extract(torch, obj, path):
    """(state_dict with plain names, dropout p found in a pickled module or None)."""
    nn = torch.nn
    if isinstance(obj, dict):
        for key in ("net", "state_dict", "model", "model_state_dict"):
            if key in obj and (isinstance(obj[key], (nn.Module, dict))):
                obj = obj[key]
                break
    dropout = None
    if isinstance(obj, nn.Module):
        ps = {float(m.p) for m in obj.modules() if isinstance(m, nn.Dropout)}
        if len(ps) == 1:
            dropout = ps.pop()
        obj = obj.state_dict()
    if not isinstance(obj, dict):
        fail(f"{path}: holds a {type(obj).__name__}, not a state_dict, a module or a {{'net': …}} checkpoint")
    out = {}
    for name, t in obj.items():
        if not isinstance(name, str) or not isinstance(t, torch.Tensor):
            fail(f"{path}: entry {name!r} is a {type(t).__name__}, not a tensor")
        plain = strip_prefixes(name)
        if plain in out:
            fail(f"{path}: tensor {plain} appears twice (as {name})")
        out[plain] = t
    return out, dropout


# ---------------------------------------------------------------------------------------------
# Layout (the same as WideResNet.layout in Sources/SNNModels/WideResNet.swift)

def layout(depth, widen, in_channels, classes):
    t = []

    def conv(n, cin, cout, k):
        t.append((n + ".weight", [cout, cin, k, k]))
        t.append((n + ".bias", [cout]))

    def bn(n, ch):
        for s in ("weight", "bias", "running_mean", "running_var"):
            t.append((f"{n}.{s}", [ch]))

    conv("conv1", in_channels, 16, 3)
    in_planes, n = 16, (depth - 4) // 6
    for g, (width, stride) in enumerate(((16, 1), (32, 2), (64, 2)), 1):
        planes = width * widen
        for i in range(n):
            s = stride if i == 0 else 1
            name = f"layer{g}.{i}"
            bn(name + ".bn1", in_planes)
            conv(name + ".conv1", in_planes, planes, 3)
            bn(name + ".bn2", planes)
            conv(name + ".conv2", planes, planes, 3)
            if s != 1 or in_planes != planes:
                conv(name + ".shortcut.0", in_planes, planes, 1)
            in_planes = planes
    bn("bn1", in_planes)
    t.append(("linear.weight", [classes, in_planes]))
    t.append(("linear.bias", [classes]))
    return t


def infer(sd, path):
    """depth, widen, input channels and classes from the tensor shapes."""
    def shape(name, rank):
        if name not in sd:
            fail(f"{path}: missing tensor {name} (needed to infer the architecture)")
        s = list(sd[name].shape)
        if len(s) != rank:
            fail(f"{path}: tensor {name} has shape {s}, expected rank {rank}")
        return s
    stem = shape("conv1.weight", 4)
    first = shape("layer1.0.conv1.weight", 4)
    head = shape("linear.weight", 2)
    blocks = {int(k.split(".")[1]) for k in sd if k.startswith("layer1.") and k.split(".")[1].isdigit()}
    n = max(blocks) + 1
    if first[0] % 16 != 0:
        fail(f"{path}: tensor layer1.0.conv1.weight has {first[0]} output channels, not a multiple of 16 (16·widen)")
    return 6 * n + 4, first[0] // 16, stem[1], head[0]


def validate(sd, expected, path, arch):
    names = {n for n, _ in expected}
    for name, shape in expected:
        if name not in sd:
            fail(f"{path}: missing tensor {name} (expected shape {shape} for {arch})")
        got = list(sd[name].shape)
        if got != shape:
            fail(f"{path}: tensor {name} has shape {got}, expected {shape} for {arch}")
        if not sd[name].is_floating_point():
            fail(f"{path}: tensor {name} has dtype {sd[name].dtype}, expected floating point")
        if not bool(sd[name].isfinite().all()):
            fail(f"{path}: tensor {name} holds non-finite values")
    for name in sd:
        if name not in names and not name.endswith("num_batches_tracked"):
            fail(f"{path}: unexpected tensor {name} (shape {list(sd[name].shape)}) for {arch}")


# ---------------------------------------------------------------------------------------------
# Writing

def write_json(path, value):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(value, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def floats(text, what, channels):
    try:
        v = tuple(float(s) for s in str(text).split(","))
    except ValueError:
        fail(f"--{what} {text!r}: not a comma-separated list of numbers")
    if len(v) != channels or not all(math.isfinite(x) for x in v) or (what == "std" and min(v) <= 0):
        fail(f"--{what} {text!r}: need {channels} finite number(s){' > 0' if what == 'std' else ''}")
    return v


def convert(args):
    import torch
    path = args.checkpoint
    if not os.path.isfile(path):
        fail(f"{path}: file not found")
    meta_in, dropout_found = {}, None
    if is_safetensors(path):
        sd, meta_in = read_safetensors(torch, path)
        sd = {strip_prefixes(k): v for k, v in sd.items()}
        kind = "safetensors"
    else:
        obj = load_pickle(torch, path, args.trust_pickle)
        sd, dropout_found = extract(torch, obj, path)
        kind = "checkpoint" if dropout_found is not None else "state_dict"

    def meta_int(k):
        try:
            return int(meta_in[k]) if k in meta_in else None
        except ValueError:
            return None

    depth0, widen0, in_channels, classes = infer(sd, path)
    depth = args.depth or meta_int("depth") or depth0
    widen = args.widen or meta_int("widen") or widen0
    if depth < 10 or (depth - 4) % 6 != 0:
        fail(f"depth must be 6n + 4 with n ≥ 1, got {depth}")
    if widen < 1:
        fail(f"widen factor must be ≥ 1, got {widen}")
    if args.dropout is not None:
        dropout = args.dropout
    elif dropout_found is not None:
        dropout = dropout_found
    elif "dropout" in meta_in:
        dropout = float(meta_in["dropout"])
    else:
        dropout = None
    if dropout is not None and not 0 <= dropout < 1:
        fail(f"dropout probability must be in [0, 1), got {dropout}")

    dataset = args.dataset or ("fashion-mnist" if in_channels == 1 else "cifar10")
    height, width, channels, ph, pw, mean, std = DATASETS[dataset]
    if in_channels != channels:
        fail(f"{path}: tensor conv1.weight has {in_channels} input channel(s) but dataset {dataset} has {channels}")
    if args.mean is None and "mean" in meta_in and args.dataset is None:
        mean = floats(meta_in["mean"], "mean", channels)
    if args.std is None and "std" in meta_in and args.dataset is None:
        std = floats(meta_in["std"], "std", channels)
    if args.mean is not None:
        mean = floats(args.mean, "mean", channels)
    if args.std is not None:
        std = floats(args.std, "std", channels)

    arch = f"WRN-{depth}-{widen}, {in_channels} input channel(s), {classes} classes"
    expected = layout(depth, widen, in_channels, classes)
    validate(sd, expected, path, arch)

    if dropout is None:
        dropout = 0.3
        print("note: dropout p is not recorded in the checkpoint; using 0.3 (set --dropout)", file=sys.stderr)
    os.makedirs(args.outdir, exist_ok=True)
    name = args.name or os.path.basename(os.path.normpath(os.path.abspath(args.outdir)))
    metadata = {"format": "snn-model/1", "kind": "wide-resnet", "depth": str(depth), "widen": str(widen),
                "dropout": repr(float(dropout)), "mean": ",".join(repr(float(x)) for x in mean),
                "std": ",".join(repr(float(x)) for x in std), "padded_height": str(ph), "padded_width": str(pw),
                "dataset": dataset, "source": os.path.basename(path),
                "generator": "scripts/pytorch/convert_checkpoint.py", "torch": torch.__version__}
    write_safetensors(os.path.join(args.outdir, "weights.safetensors"), [(n, sd[n]) for n, _ in expected],
                      metadata)
    card = {"format": "snn-model/1", "name": name, "architecture": {"kind": "wide-resnet"},
            "input": {"height": height, "width": width, "channels": channels}, "classes": classes}
    write_json(os.path.join(args.outdir, "model.json"), card)
    params = sum(math.prod(s) for n, s in expected if not n.endswith(("running_mean", "running_var")))
    print(f"{path} ({kind}) → {args.outdir}: {arch}, p = {dropout}, {dataset} "
          f"{height}×{width}×{channels}{' padded to %d×%d' % (ph, pw) if (ph, pw) != (height, width) else ''}, "
          f"{params:,} parameters")


def main():
    args = parse_args()
    ensure_torch(__file__)
    try:
        convert(args)
    except ConversionError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
