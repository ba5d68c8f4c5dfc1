#!/usr/bin/env python3
"""Robustness curve from Python: FashionMNIST images as a NumPy array → `snn evaluate` → pandas → a plot.

    python3 scripts/examples/robustness_curve.py [--images 50] [--out robustness.png] [--model models/im-fmnist]

The images go to `snn evaluate` on stdin as a NumPy array. With a build whose `snn evaluate --help`
mentions npy, that is `np.save` of the uint8 array [N, 28, 28] piped in and the labels as a .npy
file; an older build reads IDX, so the script writes the same array as IDX bytes (a 16-byte header
and the pixels, `idx_bytes` below) instead. The JSON lines come back on stdout and load into pandas
with one call; adversarial accuracy by η and S_A is a group-by; matplotlib draws the curve.

pandas and matplotlib come from PyPI into the private venv of scripts/plot.py on first use
($SNN_PLOT_VENV, default /tmp/snn-plot-venv).
"""
import argparse, gzip, io, os, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))
from private_venv import ensure
ensure("pandas", ["pandas", "matplotlib"], os.environ.get("SNN_PLOT_VENV", "/tmp/snn-plot-venv"), __file__)

import numpy as np
import pandas as pd
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

DATA = "/usr/share/datasets/fashion-mnist"     # Debian's dataset-fashion-mnist


def read_idx(path):
    """An IDX file (gzip'd) as a NumPy array: dims from the header, uint8 values."""
    raw = gzip.open(path).read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape)


def idx_bytes(a):
    """A uint8 array as IDX: 00 00 08 <dims>, each dimension as a big-endian uint32, the values."""
    a = np.ascontiguousarray(a, dtype=np.uint8)
    header = bytes([0, 0, 8, a.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in a.shape)
    return header + a.tobytes()


def evaluate(snn, images, labels, flags):
    """Runs `snn evaluate` on the arrays and returns its JSON lines as a DataFrame."""
    npy = "npy" in subprocess.run([snn, "evaluate", "--help"], capture_output=True, text=True).stdout.lower()
    with tempfile.TemporaryDirectory() as tmp:
        if npy:
            stdin = io.BytesIO(); np.save(stdin, images); stdin = stdin.getvalue()
            label_file = os.path.join(tmp, "labels.npy"); np.save(label_file, labels)
        else:
            stdin = idx_bytes(images)
            label_file = os.path.join(tmp, "labels.idx"); open(label_file, "wb").write(idx_bytes(labels))
        r = subprocess.run([snn, "evaluate", "--labels", label_file, *flags], input=stdin, capture_output=True)
    if r.returncode != 0:
        sys.exit(f"snn evaluate failed ({r.returncode}): {r.stderr.decode().strip()}")
    print(f"snn evaluate read the images as {'npy' if npy else 'IDX'}", file=sys.stderr)
    return pd.read_json(io.StringIO(r.stdout.decode()), lines=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=50)
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "im-fmnist"))
    ap.add_argument("--eta", default="0.25,0.5,1,1.5,2,3")
    ap.add_argument("--attack-samples", default="1,10")
    ap.add_argument("--inference-samples", default="20")
    ap.add_argument("--out", default="robustness.png")
    args = ap.parse_args()
    snn = os.environ.get("SNN") or subprocess.check_output(["bash", os.path.join(ROOT, "scripts", "build.sh")], text=True).strip()

    images = read_idx(os.path.join(DATA, "t10k-images-idx3-ubyte.gz"))[: args.images]     # [N, 28, 28] uint8
    labels = read_idx(os.path.join(DATA, "t10k-labels-idx1-ubyte.gz"))[: args.images]     # [N] uint8
    df = evaluate(snn, images, labels, ["--model", args.model, "--eta", args.eta, "--attack-samples", args.attack_samples,
                                        "--inference-samples", args.inference_samples, "--no-fresh"])

    # adversarial accuracy by (η, S_A); the Boolean column reads as 1.0/0.0
    curve = df.groupby(["attack_samples", "eta"])["adversarial_correct"].mean().unstack(0)
    print(curve.round(3).to_string(), file=sys.stderr)
    # the radius r̃ with ∞ restored where the flag says so (JSON has no infinity)
    r = df.min_r_linear.mask(df.min_r_linear_infinite == 1, np.inf)
    print(f"{len(df)} lines, {int(np.isinf(r).sum())} with r̃ = ∞; median r̃ / ‖δ‖ = {(r / df.delta_norm).median():.3f}", file=sys.stderr)

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for sa in curve.columns:
        ax.plot(curve.index, curve[sa], "-o", ms=3, label=f"S_A = {sa}")
    clean = df.clean_correct.mean()
    ax.axhline(clean, color="k", ls=":", lw=1, label="clean accuracy")
    ax.set_xlabel("η (L2 attack length)"); ax.set_ylabel("adversarial accuracy"); ax.set_ylim(0, 1); ax.grid(alpha=0.3)
    ax.set_title(f"{df.model.iloc[0]}, FGM, {len(images)} test images", fontsize=9); ax.legend(fontsize=7)
    fig.tight_layout(); fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
