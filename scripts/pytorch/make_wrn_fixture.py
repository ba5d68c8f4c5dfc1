#!/usr/bin/env python3
"""Reference fixture for the Swift WideResNet (docs/METHOD.md §Wide ResNet), computed with PyTorch.

Builds a small wide ResNet in the layout of github.com/meliketoy/wide-resnet.pytorch
(networks/wide_resnet.py; same state_dict names) -- depth 10, widen 2, p = 0.3, 3×32×32 inputs,
10 classes, CIFAR-10 normalisation as the first layer -- with random weights AND random batch-norm
running statistics, draws fixed dropout masks as explicit tensors (already scaled by 1/(1 − p)),
and writes one safetensors file holding

    <state_dict names>          the weights (num_batches_tracked left out)
    fixture.inputs   [2,3,32,32] two images in pixel space [0, 1]
    fixture.mask.<block>        one mask per dropout layer, e.g. fixture.mask.layer1.0 [planes,H,W]
    fixture.logits   [2,10]     logits per image (BN in evaluation mode, the masks above)
    fixture.probs    [2,10]     softmax probabilities per image
    fixture.cotangents [2,10]   two cotangent rows c_q
    fixture.vjp      [2,3,32,32] ∂⟨c_q, softmax(f(x_0))⟩/∂x_0 for each row q (image 0)
    fixture.tangent  [3,32,32]  a tangent t
    fixture.jvp      [10]       ∂softmax(f(x_0))/∂x_0 · t (image 0)

References are computed in float64 from the float32 weights, inputs and masks, then stored as F32.
The file is written by hand (8-byte little-endian header length, JSON header, raw data) so no
`safetensors` package is needed.

PyTorch is needed only here: without it the script creates a private virtual environment and
installs the CPU wheel (`pip install torch==2.13.0+cpu`, ~16 s, ~1 GB), then re-runs itself there.

    python3 scripts/pytorch/make_wrn_fixture.py [output]   # default: Tests/SNNModelsTests/Fixtures/wrn-10-2.safetensors
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_env import VENV, TORCH, ensure_torch, write_safetensors  # noqa: E402,F401


ensure_torch(__file__)

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

DEPTH, WIDEN, P, CLASSES, SIZE = 10, 2, 0.3, 10, 32
MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2023, 0.1994, 0.2010)


class Block(nn.Module):
    """Pre-activation block; `mask` (if set) replaces the random dropout by a fixed scaled mask."""

    def __init__(self, in_planes, planes, p, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, planes, 3, padding=1, bias=True)
        self.dropout = nn.Dropout(p)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=True)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride=stride, bias=True))
        self.mask = None

    def forward(self, x):
        h = self.conv1(F.relu(self.bn1(x)))
        h = h * self.mask if self.mask is not None else self.dropout(h)
        return self.conv2(F.relu(self.bn2(h))) + self.shortcut(x)


class WRN(nn.Module):
    def __init__(self, depth, k, p, classes, in_channels=3):
        super().__init__()
        n = (depth - 4) // 6
        self.conv1 = nn.Conv2d(in_channels, 16, 3, padding=1, bias=True)
        planes, groups = 16, []
        for width, stride in ((16 * k, 1), (32 * k, 2), (64 * k, 2)):
            blocks = []
            for i in range(n):
                blocks.append(Block(planes, width, p, stride if i == 0 else 1))
                planes = width
            groups.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = groups
        self.bn1 = nn.BatchNorm2d(planes, momentum=0.9)
        self.linear = nn.Linear(planes, classes)
        # normalisation is the model's first layer (not in the state_dict)
        self.register_buffer("mean", torch.tensor(MEAN).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(STD).view(1, -1, 1, 1), persistent=False)

    def blocks(self):
        return [(f"layer{g}.{i}", b) for g, layer in enumerate((self.layer1, self.layer2, self.layer3), 1)
                for i, b in enumerate(layer)]

    def forward(self, x):
        out = self.conv1((x - self.mean) / self.std)
        out = self.layer3(self.layer2(self.layer1(out)))
        out = F.relu(self.bn1(out))
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)  # = avg_pool2d(out, 8) at 32×32
        return self.linear(out)


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "Tests/SNNModelsTests/Fixtures/wrn-10-2.safetensors")
    torch.manual_seed(20260701)
    model = WRN(DEPTH, WIDEN, P, CLASSES)
    with torch.no_grad():
        for name, m in model.named_modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                fan_in = m.weight[0].numel()
                m.weight.normal_(0, (2 / fan_in) ** 0.5)
                m.bias.uniform_(-0.1, 0.1)
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.6, 1.4)
                m.bias.normal_(0, 0.1)
                m.running_mean.normal_(0, 0.3)
                m.running_var.uniform_(0.5, 2.0)
    model.eval()

    x = torch.rand(2, 3, SIZE, SIZE)
    masks = {}
    # mask shapes: conv1 of a block keeps the block's input size
    with torch.no_grad():
        sizes = {}
        hooks = [b.conv1.register_forward_hook(lambda mod, i, o, n=n: sizes.__setitem__(n, o.shape[1:]))
                 for n, b in model.blocks()]
        model(x[:1])
        for hk in hooks:
            hk.remove()
    for name, b in model.blocks():
        keep = torch.bernoulli(torch.full(sizes[name], 1 - P))
        masks[name] = (keep / torch.tensor(1 - P, dtype=torch.float32)).to(torch.float32)

    # Rescale the linear layer so the logits spread by about 1.5: unsaturated probabilities.
    with torch.no_grad():
        for name, b in model.blocks():
            b.mask = masks[name]
        spread = model(x).std(dim=1).mean()
        model.linear.weight.mul_(1.5 / spread)
        model.linear.bias.mul_(1.5 / spread)
        for name, b in model.blocks():
            b.mask = None

    cot = torch.randn(2, CLASSES)
    tangent = torch.randn(3, SIZE, SIZE) * 0.1

    # References in float64 from the float32 values.
    ref = WRN(DEPTH, WIDEN, P, CLASSES).double()
    ref.load_state_dict({k: v.double() if v.is_floating_point() else v for k, v in model.state_dict().items()})
    ref.eval()
    for name, b in ref.blocks():
        b.mask = masks[name].double()
    xd = x.double()
    with torch.no_grad():
        logits = ref(xd)
        probs = torch.softmax(logits, dim=1)

    def f(img):
        return torch.softmax(ref(img.unsqueeze(0)), dim=1)[0]

    vjps = []
    for q in range(2):
        x0 = xd[0].clone().requires_grad_(True)
        (g,) = torch.autograd.grad((f(x0) * cot[q].double()).sum(), x0)
        vjps.append(g)
    _, jvp = torch.func.jvp(f, (xd[0],), (tangent.double(),))

    tensors = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    tensors["fixture.inputs"] = x
    for name, m in masks.items():
        tensors[f"fixture.mask.{name}"] = m
    tensors["fixture.logits"] = logits
    tensors["fixture.probs"] = probs
    tensors["fixture.cotangents"] = cot
    tensors["fixture.vjp"] = torch.stack(vjps)
    tensors["fixture.tangent"] = tangent
    tensors["fixture.jvp"] = jvp
    meta = {"format": "snn-model/1", "kind": "wide-resnet", "depth": str(DEPTH), "widen": str(WIDEN),
            "dropout": str(P), "mean": ",".join(map(str, MEAN)), "std": ",".join(map(str, STD)),
            "padded_height": str(SIZE), "padded_width": str(SIZE),
            "generator": "scripts/pytorch/make_wrn_fixture.py", "torch": torch.__version__}
    write_safetensors(out, tensors.items(), meta)
    print(f"wrote {out} ({os.path.getsize(out)} bytes)")
    print("probs:", probs.numpy().round(4))
    print("max |vjp|:", float(torch.stack(vjps).abs().max()), " jvp:", jvp.detach().numpy())


if __name__ == "__main__":
    main()
