#!/usr/bin/env python3
"""PyTorch half of scripts/bench-wrn.sh: per-sample speed of an MC-dropout wide ResNet on the CPU.

The model is the meliketoy/wide-resnet.pytorch layout, imported from make_wrn_fixture.py (`WRN`,
normalisation as its first layer), with He-normal weights and default batch-norm statistics.
As in the fixture script and in snn, batch norm runs in evaluation mode (running statistics)
while dropout stays active: `model.eval()`, then every block's `dropout` module is put back in
training mode, so each call draws fresh masks (a new realization). One 3×32×32 input.

  forward      torch.no_grad(): logits = model(x)                       (masks drawn inside)
  forward+vjp  x.requires_grad_(); p = softmax(model(x)); grad of <c, p> w.r.t. x only
               (parameters have requires_grad = False, so no weight gradients are computed,
               as in snn's `vjp`), c = e_0 − e_1

`--batch S` runs S realizations at once (S copies of the input as one batch: dropout draws an
independent mask per element, so each row is its own realization, and the input VJP of the sum
over rows gives every row's own gradient); times are then per sample (call time / S).
`--channels-last` converts the model and the input to torch.channels_last (NHWC), usually
PyTorch's fastest CPU convolution layout.

Each: `--warmup` untimed calls, then the median of `--iterations` timed calls. FLOPs: forward
= 2 · multiply-adds of the convolutions and the linear layer (the same count as snn's
`WideResNet.multiplyAdds`); forward+vjp is credited with 3× that (VJP counted as 2× forward).

    python3 scripts/pytorch/bench_wrn.py [--depth 28 --widen 10 --threads 1 --iterations 5 --warmup 1]
                                         [--batch 10 --channels-last]

Prints one JSON object per line (same fields as bench/Tools/wrn-speed). torch comes from
torch_env.ensure_torch (a private venv, created on first use).
"""
import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from torch_env import ensure_torch  # noqa: E402

# Must come before importing make_wrn_fixture: its own ensure_torch(__file__) would otherwise
# re-exec *that* script in the venv.
ensure_torch(__file__)

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from make_wrn_fixture import WRN  # noqa: E402


def multiply_adds(model, size=32):
    """Multiply-adds of one forward of one image (convolutions + linear), by forward hooks."""
    total = [0]

    def conv_hook(mod, inp, out):
        kh, kw = mod.kernel_size
        total[0] += out.numel() * (mod.in_channels // mod.groups) * kh * kw

    def linear_hook(mod, inp, out):
        total[0] += mod.in_features * mod.out_features

    hooks = [m.register_forward_hook(conv_hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    hooks += [m.register_forward_hook(linear_hook) for m in model.modules() if isinstance(m, nn.Linear)]
    with torch.no_grad():
        model(torch.zeros(1, 3, size, size))
    for h in hooks:
        h.remove()
    return total[0]


def timed(fn, warmup, iterations):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--depth", type=int, default=28)
    ap.add_argument("--widen", type=int, default=10)
    ap.add_argument("--dropout", type=float, default=0.3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--iterations", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--batch", type=int, default=1, help="realizations per call (one batch); times per sample")
    ap.add_argument("--channels-last", action="store_true", help="model and input in torch.channels_last")
    args = ap.parse_args()
    if args.batch < 1:
        ap.error("--batch must be at least 1")

    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    model = WRN(args.depth, args.widen, args.dropout, 10)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                m.weight.normal_(0, (2 / m.weight[0].numel()) ** 0.5)
                m.bias.zero_()
    model.eval()                      # batch norm: running statistics
    for _, block in model.blocks():
        block.dropout.train()         # dropout: active, fresh masks per call
        assert block.mask is None
    for p in model.parameters():
        p.requires_grad_(False)       # input gradient only (as snn's VJP)

    macs = multiply_adds(model)
    flops = 2 * macs
    x = (0.5 + 0.2 * torch.randn(1, 3, 32, 32)).clamp(0, 1).expand(args.batch, 3, 32, 32).contiguous()
    cot = torch.zeros(args.batch, 10)
    cot[:, 0], cot[:, 1] = 1, -1
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    name = f"WRN-{args.depth}-{args.widen}"
    print(f"torch {torch.__version__} {name}: {sum(p.numel() for p in model.parameters())} trainable parameters, "
          f"{macs} multiply-adds per forward; {torch.get_num_threads()} thread(s), "
          f"{args.warmup} warm-up + {args.iterations} timed; batch {args.batch}, "
          f"{'channels-last' if args.channels_last else 'contiguous (NCHW)'}; {torch.backends.cpu.get_cpu_capability()}",
          file=sys.stderr)

    def forward():
        with torch.no_grad():
            return model(x)

    def forward_vjp():
        xi = x.clone().requires_grad_(True)
        p = F.softmax(model(xi), dim=1)
        (g,) = torch.autograd.grad((p * cot).sum(), xi)
        return g

    sink = 0.0
    for op, fn, fl in (("forward", forward, flops), ("forward+vjp", forward_vjp, 3 * flops)):
        times = [t / args.batch for t in timed(lambda: fn(), args.warmup, args.iterations)]
        med = statistics.median(times)
        sink += float(fn().sum())
        print(json.dumps({"impl": "pytorch", "model": name, "threads": args.threads, "op": op,
                          "ms": med * 1e3, "min_ms": min(times) * 1e3, "gflops": fl / med / 1e9,
                          "flops": fl, "iterations": args.iterations, "batch": args.batch,
                          "channels_last": args.channels_last,
                          "times_ms": [round(t * 1e3, 4) for t in times]}), flush=True)


if __name__ == "__main__":
    main()
