#!/usr/bin/env python3
"""PyTorch half of scripts/bench-vs-pytorch for the matrix-Gaussian MLP: the per-image work of
`snn evaluate` (FGM, cross-entropy; docs/METHOD.md §Matrix-Gaussian MLP, §Attacks, §Conditions)
as a careful CPU loop.

Model (read from model.json + weights.safetensors): layer ℓ with n inputs, c outputs, r = n + 1,
h = x̃ W, x̃ = s·[x, 1], s = 1/√r (or 1 if the card's architecture.input_scaling is "1"),
W = M + diag(exp(log_sqrt_u)) E diag(exp(log_sqrt_v)), E iid N(0, 1) (W = M for a layer that
architecture.stochastic_layers marks deterministic); ReLU between layers, softmax at the end.

Per image (or per batch of images sharing realizations, --share-samples), as snn's Evaluator
does it for the MLP (its "full Jacobian" strategy):
  attack     S_A realizations: forward x, VJP of −f_y (cotangent −e_y on the probabilities),
             g = Σ_s; x_adv = clip(x + η g/‖g‖, 0, 1) (δ = 0 when g = 0)
  inference  S_I realizations: forward of the rows x and x_adv, the full k×d input Jacobian of
             the probabilities at x (k VJPs); averages f^I(x), f^I(x_adv), J̄;
             d_c = (J̄_y − J̄_c)·δ, ‖∇m_c‖ = ‖J̄_y − J̄_c‖, the linear condition
  fresh      (--fresh) S_I new realizations: forward x_adv
Realizations come from torch's generator (not snn's Philox addresses), so the numbers agree with
snn's statistically, not bit for bit; accuracy and the condition rate are printed as a sanity check.

Styles (--style):
  fused  every realization of a chunk batched: E drawn as one (S, r, c) tensor, W = M + sc ⊙ E in
         place, forward as baddbmm over the S samples, the VJPs hand-written (softmax Jacobian
         diag(p) − ppᵀ, then bmm with Wᵀ and the ReLU masks), summed over S
  func   torch.func: vmap over the samples of jacrev(f, has_aux=True) (Jacobian + probabilities)
         and of grad(−f_y), the same batched weights

    python3 scripts/pytorch/bench_mlp.py --model models/vmg-fmnist --limit 200 --threads 2 [--style fused]

Prints one JSON line (images/s over the timed loop, accuracies) on stdout, a note on stderr.
torch comes from torch_env.ensure_torch (a private venv, created on first use).
"""
import argparse
import gzip
import json
import math
import os
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from torch_env import ensure_torch  # noqa: E402

ensure_torch(__file__)

import numpy as np  # noqa: E402
import torch  # noqa: E402

FMNIST = "/usr/share/datasets/fashion-mnist"


def read_safetensors(path):
    """name → float32 tensor (F32 only, as snn writes them)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            sys.exit(f"{path}: tensor {name} has dtype {info['dtype']}, expected F32")
        a, b = info["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[a:b], dtype="<f4").copy()).reshape(info["shape"])
    return out


def read_idx(path, limit=None):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    magic = struct.unpack(">I", raw[:4])[0]
    dims = [struct.unpack(">I", raw[4 + 4 * i:8 + 4 * i])[0] for i in range(magic & 0xFF)]
    body = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * len(dims)).reshape(dims)
    return body[:limit] if limit is not None else body


class Layer:
    def __init__(self, n, c, M, log_u, log_v, scale, stochastic):
        self.n, self.c, self.r = n, c, n + 1
        self.M = M.contiguous()
        self.s = scale
        self.stochastic = stochastic
        self.sc = (log_u.exp()[:, None] * log_v.exp()[None, :]).contiguous()   # √u_i √v_j


def load_model(d):
    card = json.load(open(os.path.join(d, "model.json")))
    arch = card["architecture"]
    if arch.get("kind") != "matrix-gaussian-mlp":
        sys.exit(f"{d}: kind {arch.get('kind')}, expected matrix-gaussian-mlp")
    sizes = arch["sizes"]
    scaling = arch.get("input_scaling", "1/sqrt(r)")
    stochastic = arch.get("stochastic_layers", [True] * (len(sizes) - 1))
    w = read_safetensors(os.path.join(d, "weights.safetensors"))
    layers = []
    for i, (n, c) in enumerate(zip(sizes, sizes[1:])):
        s = 1 / math.sqrt(n + 1) if scaling == "1/sqrt(r)" else 1.0
        layers.append(Layer(n, c, w[f"layer{i}.M"], w[f"layer{i}.log_sqrt_u"], w[f"layer{i}.log_sqrt_v"], s, stochastic[i]))
    return card, layers


_buffers = {}


def realize(layers, S):
    """S realizations: one (S, r, c) weight tensor per layer, W = M + sc ⊙ E computed in place in a
    buffer that is reused by the next call (normal_ into a warm buffer is markedly faster than
    torch.randn's fresh allocation; drawing E dominates the MLP's cost)."""
    out = []
    for i, L in enumerate(layers):
        if L.stochastic:
            key = (i, S)
            if key not in _buffers:
                _buffers[key] = torch.empty(S, L.r, L.c)
            E = _buffers[key].normal_()
            out.append(E.mul_(L.sc).add_(L.M))
        else:
            out.append(L.M.expand(S, L.r, L.c))
    return out


# ---- fused style ------------------------------------------------------------------------------

def forward(layers, Ws, X):
    """X (R, d) shared by all samples, or (S, R, d). Returns p (S, R, k) and the ReLU masks."""
    S = Ws[0].shape[0]
    h = X if X.dim() == 3 else X.expand(S, *X.shape)
    masks = []
    for i, (L, W) in enumerate(zip(layers, Ws)):
        z = torch.baddbmm(W[:, L.n:L.r, :], h, W[:, :L.n, :], beta=L.s, alpha=L.s)
        if i + 1 < len(layers):
            m = z > 0
            masks.append(m)
            h = z.mul_(m)
        else:
            h = z
    return torch.softmax(h, dim=-1), masks


def backward(layers, Ws, masks, dz, B):
    """dz (S, B, Q, k): Q cotangent rows on the logits for each of the first B primal rows.
    Returns Σ_s of the input gradients, (B, Q, d)."""
    S, _, Q, _ = dz.shape
    g = dz
    for i in range(len(layers) - 1, -1, -1):
        L, W = layers[i], Ws[i]
        g = torch.bmm(g.reshape(S, B * Q, L.c), W[:, :L.n, :].transpose(1, 2)).reshape(S, B, Q, L.n)
        g.mul_(L.s)
        if i > 0:
            g.mul_(masks[i - 1][:, :B, None, :])
    return g.sum(0)


def attack_direction_fused(layers, x, y, S):
    """x (B, d), y (B,): Σ_s ∇_x(−f_y) and Σ_s f(x) over S new realizations."""
    B = x.shape[0]
    Ws = realize(layers, S)
    p, masks = forward(layers, Ws, x)
    py = p.gather(2, y.view(1, B, 1).expand(S, B, 1))
    dz = p * py                                           # −p_y (e_y − p) = p_y p − p_y e_y
    dz.scatter_add_(2, y.view(1, B, 1).expand(S, B, 1), -py)
    return backward(layers, Ws, masks, dz.unsqueeze(2), B).squeeze(1), p.sum(0)


def inference_fused(layers, x, xadv, S):
    """Σ_s f(x), Σ_s f(x_adv), Σ_s J(x) (B, k, d) over S new realizations."""
    B = x.shape[0]
    Ws = realize(layers, S)
    p, masks = forward(layers, Ws, torch.cat([x, xadv]))
    px = p[:, :B]
    dz = torch.diag_embed(px) - px.unsqueeze(3) * px.unsqueeze(2)     # softmax Jacobian per row
    J = backward(layers, Ws, masks, dz, B)
    return px.sum(0), p[:, B:].sum(0), J


def fresh_fused(layers, xadv, S):
    p, _ = forward(layers, realize(layers, S), xadv)
    return p.sum(0)


# ---- torch.func style -------------------------------------------------------------------------

def make_func(layers):
    from torch.func import grad, jacrev, vmap

    def f(x, Ws):
        h = x
        for i, (L, W) in enumerate(zip(layers, Ws)):
            h = L.s * (h @ W[:L.n] + W[L.n])
            if i + 1 < len(layers):
                h = torch.relu(h)
        return torch.softmax(h, dim=-1)

    def f_aux(x, Ws):
        p = f(x, Ws)
        return p, p

    def neg_fy(x, Ws, oh):
        p = f(x, Ws)
        return -(p * oh).sum(), p

    # samples outermost (weights batched), images inside (weights shared)
    jac = vmap(vmap(jacrev(f_aux, has_aux=True), in_dims=(0, None)), in_dims=(None, 0))
    fwd = vmap(vmap(f, in_dims=(0, None)), in_dims=(None, 0))
    gry = vmap(vmap(grad(neg_fy, has_aux=True), in_dims=(0, None, 0)), in_dims=(None, 0, None))

    def attack(x, y, S):
        Ws = realize(layers, S)
        g, p = gry(x, Ws, torch.nn.functional.one_hot(y, layers[-1].c).to(x.dtype))
        return g.sum(0), p.sum(0)

    def inference(x, xadv, S):
        Ws = realize(layers, S)
        J, px = jac(x, Ws)
        return px.sum(0), fwd(xadv, Ws).sum(0), J.sum(0)

    def fresh(xadv, S):
        return fwd(xadv, realize(layers, S)).sum(0)

    return attack, inference, fresh


# ---- per image / per batch --------------------------------------------------------------------

def chunks(S, size):
    s = 0
    while s < S:
        yield min(size, S - s)
        s += size


def evaluate(fns, x, y, eta, SA, SI, fresh, chunk):
    """One image (B = 1) or a batch sharing realizations. Returns per-image outcome tensors."""
    attack, inference, fresh_fn = fns
    B, d = x.shape
    g = pA = 0
    for S in chunks(SA, chunk):
        gs, ps = attack(x, y, S)
        g = g + gs; pA = pA + ps
    # FGM step; g scaled by its largest entry first so ‖g‖ does not underflow (as snn's scaled norm)
    gmax = g.abs().amax(1, keepdim=True)
    gs = torch.where(gmax > 0, g / gmax.clamp_min(1e-38), torch.zeros_like(g))
    n = gs.norm(dim=1, keepdim=True)
    xadv = torch.where(n > 0, x + eta * gs / n.clamp_min(1e-38), x).clamp_(0, 1)
    delta = xadv - x
    k = pA.shape[1]
    pI = torch.zeros(B, k); pIa = torch.zeros(B, k); J = torch.zeros(B, k, d)
    for S in chunks(SI, chunk):
        a, b, j = inference(x, xadv, S)
        pI += a; pIa += b; J += j
    pI /= SI; pIa /= SI; J /= SI
    out = {"clean": pI.argmax(1) == y, "adv": pIa.argmax(1) == y}
    if fresh:
        pF = torch.zeros(B, k)
        for S in chunks(SI, chunk):
            pF += fresh_fn(xadv, S)
        out["fresh"] = pF.argmax(1) == y
    idx = torch.arange(B)
    m = pI[idx, y].unsqueeze(1) - pI                                  # m_c
    jd = torch.bmm(J, delta.unsqueeze(2)).squeeze(2)                  # J̄δ
    dirs = jd[idx, y].unsqueeze(1) - jd                               # d_c
    norms = (J[idx, y].unsqueeze(1) - J).norm(dim=2)                  # ‖∇m_c‖
    dn = delta.norm(dim=1)
    r = torch.where(dirs < 0, -m * dn.unsqueeze(1) / torch.where(dirs < 0, dirs, -1.0), torch.inf)
    r[idx, y] = torch.inf
    r[dn == 0] = torch.inf
    premise = (pA.argmax(1) == y) & out["clean"]
    out["linear"] = premise & (r.amin(1) > dn)
    out["delta_norm"] = dn
    out["grad_norm_sum"] = norms.sum(1)        # keeps the norms live (they are part of the work)
    return out


def check(layers):
    """The fused VJP/Jacobian against torch.func on a few realizations (an independent autodiff)."""
    torch.manual_seed(3)
    x = torch.rand(2, layers[0].n); y = torch.tensor([1, 7])
    Ws = realize(layers, 3)
    p, masks = forward(layers, Ws, torch.cat([x, x.flip(1)]))
    px = p[:, :2]
    J = backward(layers, Ws, masks, torch.diag_embed(px) - px.unsqueeze(3) * px.unsqueeze(2), 2)
    from torch.func import jacrev, vmap

    def f(xx, W):
        h = xx
        for i, (L, Wl) in enumerate(zip(layers, W)):
            h = L.s * (h @ Wl[:L.n] + Wl[L.n])
            if i + 1 < len(layers):
                h = torch.relu(h)
        return torch.softmax(h, dim=-1)
    Jref = vmap(vmap(jacrev(f), in_dims=(0, None)), in_dims=(None, 0))(x, Ws).sum(0)
    pref = vmap(vmap(f, in_dims=(0, None)), in_dims=(None, 0))(x, Ws)
    err_j = float((J - Jref).abs().max() / Jref.abs().max())
    err_p = float((px - pref).abs().max())
    # attack direction: −Σ_s ∇f_y against Jref rows
    g, _ = attack_direction_fused_given(layers, Ws, x, y)
    err_g = float((g + Jref[torch.arange(2), y]).abs().max() / Jref.abs().max())
    ok = err_j < 1e-4 and err_p < 1e-5 and err_g < 1e-4
    print(f"check fused vs torch.func: max rel. error Jacobian {err_j:.2e}, attack gradient {err_g:.2e}, "
          f"probabilities {err_p:.2e}: {'ok' if ok else 'FAILED'}", file=sys.stderr)
    return ok


def attack_direction_fused_given(layers, Ws, x, y):
    S, B = Ws[0].shape[0], x.shape[0]
    p, masks = forward(layers, Ws, x)
    py = p.gather(2, y.view(1, B, 1).expand(S, B, 1))
    dz = p * py
    dz.scatter_add_(2, y.view(1, B, 1).expand(S, B, 1), -py)
    return backward(layers, Ws, masks, dz.unsqueeze(2), B).squeeze(1), p.sum(0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="models/vmg-fmnist")
    ap.add_argument("--images", default=f"{FMNIST}/t10k-images-idx3-ubyte.gz")
    ap.add_argument("--labels", default=f"{FMNIST}/t10k-labels-idx1-ubyte.gz")
    ap.add_argument("--limit", type=int, default=200)
    ap.add_argument("--eta", type=float, default=1.5)
    ap.add_argument("--attack-samples", type=int, default=10)
    ap.add_argument("--inference-samples", type=int, default=100)
    ap.add_argument("--fresh", action="store_true", help="also predict x_adv with a fresh set (snn without --no-fresh)")
    ap.add_argument("--share-samples", action="store_true",
                    help="batches of --batch images share one set of realizations (every GEMM has --batch rows)")
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--chunk", type=int, default=0,
                    help="realizations per batched pass (default: all for one image, 8 for a batch)")
    ap.add_argument("--style", choices=["fused", "func"], default="fused")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--check", action="store_true", help="compare the fused gradients with torch.func first")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    card, layers = load_model(args.model)
    if args.check and not check(layers):
        sys.exit(1)
    torch.manual_seed(args.seed)
    imgs = torch.from_numpy(read_idx(args.images, args.limit).reshape(-1, layers[0].n).astype(np.float32) / 255)
    labels = torch.from_numpy(read_idx(args.labels, args.limit).astype(np.int64))
    N = imgs.shape[0]
    B = args.batch if args.share_samples else 1
    chunk = args.chunk or (8 if B > 1 else max(args.attack_samples, args.inference_samples))
    if args.style == "fused":
        fns = (lambda x, y, S: attack_direction_fused(layers, x, y, S),
               lambda x, xa, S: inference_fused(layers, x, xa, S),
               lambda xa, S: fresh_fused(layers, xa, S))
    else:
        fns = make_func(layers)
    mode = f"batched ({B} images share realizations)" if B > 1 else "streaming (own realizations per image)"
    print(f"torch {torch.__version__} ({torch.backends.cpu.get_cpu_capability()}), {args.style}, {mode}, "
          f"{N} images, S_A {args.attack_samples}, S_I {args.inference_samples}, fresh {args.fresh}, "
          f"{torch.get_num_threads()} thread(s), chunk {chunk}", file=sys.stderr)
    # warm-up (not timed): one image / batch
    with torch.no_grad() if args.style == "fused" else torch.enable_grad():
        evaluate(fns, imgs[:B], labels[:B], args.eta, args.attack_samples, args.inference_samples, args.fresh, chunk)
    tot = {"clean": 0, "adv": 0, "fresh": 0, "linear": 0}
    dsum, sink = 0.0, 0.0
    t0 = time.perf_counter()
    with torch.no_grad() if args.style == "fused" else torch.enable_grad():
        for i in range(0, N, B):
            o = evaluate(fns, imgs[i:i + B], labels[i:i + B], args.eta, args.attack_samples,
                         args.inference_samples, args.fresh, chunk)
            for key in tot:
                if key in o:
                    tot[key] += int(o[key].sum())
            dsum += float(o["delta_norm"].sum()); sink += float(o["grad_norm_sum"].sum())
    secs = time.perf_counter() - t0
    row = {"impl": "pytorch", "style": args.style, "mode": "batched" if B > 1 else "streaming", "images": N,
           "threads": args.threads, "seconds": secs, "images_per_s": N / secs, "ms_per_image": 1e3 * secs / N,
           "clean_accuracy": tot["clean"] / N, "adversarial_accuracy": tot["adv"] / N,
           "fresh_adversarial_accuracy": tot["fresh"] / N if args.fresh else None,
           "linear_condition_rate": tot["linear"] / N, "mean_delta_norm": dsum / N,
           "torch": torch.__version__, "cpu_capability": torch.backends.cpu.get_cpu_capability()}
    if not math.isfinite(sink):
        print("(non-finite gradient norms)", file=sys.stderr)
    print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
