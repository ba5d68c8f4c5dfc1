#!/usr/bin/env python3
"""Plots (PNG and SVG) and docs/REPORT.md from the summary JSON files of scripts/reproduce alone.

    python3 scripts/plot.py OUT_DIR [--report docs/REPORT.md] [--figures docs/figures]

The default reproduction's summaries are committed in docs/results, so `python3 scripts/plot.py
docs/results` re-makes docs/REPORT.md and docs/figures without re-running anything; a --full run's
(the paper's grid) go to docs/results-full, and `python3 scripts/plot.py docs/results-full` makes
docs/REPORT-full.md and docs/figures-full (the default report and path follow the summaries'
settings). Every figure and table states its grid, read from the summaries. The claims' verdicts
come from scripts/verdicts.py (stated rules, paired tests on the per-image outcome bits that
`snn summarize --outcomes` puts in the summaries; scripts/stats.py holds the tests). Every figure
in the report's prose is read from the summaries, the model cards, the settings or the reference data.

matplotlib comes from PyPI into a private venv on first use ($SNN_PLOT_VENV, default
/tmp/snn-plot-venv), like the PyTorch scripts do for torch.
"""
import argparse, glob, json, math, os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stats, verdicts

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.environ.get("SNN_PLOT_VENV", "/tmp/snn-plot-venv")


def ensure_matplotlib():
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from private_venv import ensure
    ensure("matplotlib", ["matplotlib"], VENV, __file__)


# ---------------------------------------------------------------- data

def load(out):
    """{part: {model: [configuration summaries]}} and the per-image lines where needed."""
    data = {}
    for path in sorted(glob.glob(os.path.join(out, "*", "*.summary.json"))):
        part = os.path.basename(os.path.dirname(path))
        model = os.path.basename(path)[: -len(".summary.json")]
        configs = json.load(open(path))["configurations"]
        for c in configs:                       # η is a float32 in the JSON: 0.1 → 0.10000000149…
            c["eta"] = float(f"{c['eta']:.6g}")
        data.setdefault(part, {})[model] = configs
    return data


def rate(c, key):
    v = c.get(key)
    return v["rate"] if isinstance(v, dict) and v.get("rate") is not None else float("nan")


def stat(c, key, field="median"):
    v = c.get(key)
    return v[field] if isinstance(v, dict) and v.get(field) is not None else float("nan")


def series(configs, by, x="eta", y=lambda c: rate(c, "adversarial_accuracy"), where=lambda c: True):
    """{value of `by`: ([x], [y])} over configurations with η > 0."""
    out = {}
    for c in configs:
        if c["eta"] <= 0 or not where(c):
            continue
        xs, ys = out.setdefault(c[by], ([], []))
        xs.append(c[x]); ys.append(y(c))
    return {k: (list(zip(*sorted(zip(*v))))) for k, v in out.items()}


# ---------------------------------------------------------------- figures

PAIRS = [("MLP: IM (solid) vs VMG/BNN (dashed)", "im-fmnist", "vmg-fmnist"),
         ("WRN: p = 0.6 (solid) vs p = 0.3 (dashed)", "wrn-fmnist-p06", "wrn-fmnist-p03")]


def figure_by_samples(plt, data, part, name, title, by="attack_samples", y=lambda c: rate(c, "adversarial_accuracy"),
                      ylabel="adversarial accuracy", pairs=PAIRS, extra=None):
    runs = data.get(part, {})
    panels = [p for p in pairs if p[1] in runs or p[2] in runs]
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4), squeeze=False)
    for ax, (label, solid, dashed) in zip(axes[0], panels):
        colours = {}
        for model, style in ((solid, "-"), (dashed, "--")):
            for k, (xs, ys) in sorted(series(runs.get(model, []), by, y=y).items()):
                colour = colours.setdefault(k, f"C{len(colours)}")
                name = "S_A" if by == "attack_samples" else "S_I"
                ax.plot(xs, ys, style, color=colour, marker="o", ms=3, label=f"{name}={k}" if style == "-" else None)
        if extra and solid.startswith("wrn") and extra in runs:
            # deterministic (dropout off): every S_A gives the same attack, one curve
            for k, (xs, ys) in sorted(series(runs[extra], by, y=y).items())[:1]:
                ax.plot(xs, ys, ":", color="k", label="dropout off (deterministic)")
        ax.set_title(label, fontsize=9); ax.set_xlabel("η"); ax.set_ylabel(ylabel); ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def figure_vs_inference_samples(plt, data, key, ylabel, title, eta=1.5):
    """Median (and quartiles) of `key` against S_I at η = `eta`, one line per model (figure 7)."""
    runs = data.get("inference", {})
    if not runs:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), squeeze=False)
    for ax, family in zip(axes[0], ("mlp", "wrn")):
        for n, (model, configs) in enumerate(sorted(runs.items())):
            if model.startswith("wrn") != (family == "wrn"):
                continue
            cs = sorted((c for c in configs if abs(c["eta"] - eta) < 1e-6), key=lambda c: c["inference_samples"])
            if not cs:
                continue
            xs = [c["inference_samples"] for c in cs]
            ax.plot(xs, [stat(c, key) for c in cs], "-o", ms=3, color=f"C{n}", label=model)
            ax.fill_between(xs, [stat(c, key, "q1") for c in cs], [stat(c, key, "q3") for c in cs], color=f"C{n}", alpha=0.15)
        ax.set_xscale("log"); ax.set_xlabel("S_I (inference samples)"); ax.set_ylabel(ylabel); ax.grid(alpha=0.3)
        ax.set_title(("MLPs" if family == "mlp" else "WRNs") + f", η = {eta} (median, quartile band)", fontsize=9)
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def figure_smoothed(plt, data):
    runs = data.get("smoothed", {})
    if not runs:
        return None
    fig, axes = plt.subplots(1, len(runs), figsize=(5.5 * len(runs), 4), squeeze=False)
    for ax, (model, configs) in zip(axes[0], sorted(runs.items())):
        cs = sorted((c for c in configs if c["eta"] > 0), key=lambda c: c["eta"])
        xs = [c["eta"] for c in cs]
        ax.plot(xs, [rate(c, "adversarial_accuracy") for c in cs], "-o", ms=3, label="adversarial accuracy")
        ax.plot(xs, [rate(c, "linear_condition_rate") for c in cs], "--s", ms=3, label="linear condition (Thm 3.2)")
        ax.plot(xs, [rate(c, "smooth_condition_rate") for c in cs], ":^", ms=3, label="smooth condition (Thm 3.4)")
        ax.set_title(model, fontsize=9); ax.set_xlabel("η"); ax.set_ylabel("rate"); ax.grid(alpha=0.3); ax.legend(fontsize=7)
    fig.suptitle("Figure 3: condition rates beside adversarial accuracy (randomized smoothing)", fontsize=10)
    fig.tight_layout()
    return fig


def figure_variance(plt, data):
    """Box plot of the per-image prediction variance from the summaries' quartiles (so the figure
    needs only the committed summary files): box q1–q3, line at the median, dot at the mean."""
    runs = data.get("variance", {})
    if not runs:
        return None
    models = sorted(runs)
    stats = []
    for m in models:
        c = runs[m][0]
        q1, med, q3 = stat(c, "prediction_variance", "q1"), stat(c, "prediction_variance"), stat(c, "prediction_variance", "q3")
        stats.append(dict(label=m, q1=q1, med=med, q3=q3, whislo=q1, whishi=q3, mean=stat(c, "prediction_variance", "mean")))
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.bxp(stats, showfliers=False, showmeans=True)
    ax.tick_params(axis="x", labelsize=8)
    ax.set_ylabel("prediction variance of f_y (per image)")
    ax.set_title("Figure 4: prediction variance per model (quartiles over images; dot = mean)", fontsize=10)
    fig.tight_layout()
    return fig


def figure_losses(plt, data):
    models = [m for m in ("im-fmnist", "vmg-fmnist") if m in data.get("cw", {}) or m in data.get("margin", {})]
    if not models:
        return None
    fig, axes = plt.subplots(1, len(models), figsize=(5.5 * len(models), 4), squeeze=False)
    for ax, m in zip(axes[0], models):
        for part, style, label in (("fgm", "-o", "cross-entropy"), ("cw", "--s", "CW (averaged logits)"), ("margin", ":*", "margin")):
            cs = [c for c in data.get(part, {}).get(m, []) if c["eta"] > 0 and c["attack_samples"] == 10]
            cs.sort(key=lambda c: c["eta"])
            if cs:
                ax.plot([c["eta"] for c in cs], [rate(c, "adversarial_accuracy") for c in cs], style, ms=4, label=label)
        ax.set_title(m + " (S_A = 10)", fontsize=9); ax.set_xlabel("η"); ax.set_ylabel("adversarial accuracy"); ax.grid(alpha=0.3); ax.legend(fontsize=7)
    fig.suptitle("Figure 15: losses", fontsize=10)
    fig.tight_layout()
    return fig


def save(fig, figdir, name):
    if fig is None:
        return None
    os.makedirs(figdir, exist_ok=True)
    for ext in ("png", "svg"):
        # no date, fixed ids: the same summaries give the same files
        fig.savefig(os.path.join(figdir, f"{name}.{ext}"), dpi=110, metadata={"Date": None} if ext == "svg" else {})
    return name


# ---------------------------------------------------------------- report

def fmt(v, digits=2):
    return "–" if v is None or v != v else f"{v:.{digits}f}"


GRID_LABELS = {"default": "reduced grid (default)", "full": "the paper's grid (--full)",
               "quick": "quick grid (--quick)", "quick-full": "tiny version of the paper's grid (--quick --full)"}


def grid_kind(settings):
    """'default', 'full', 'quick' or 'quick-full' from the run's settings (settings from before
    --full have no `grid`: quick or default)."""
    return settings.get("grid") or ("quick" if settings.get("quick") else "default")


def grid_label(settings):
    return GRID_LABELS.get(grid_kind(settings), grid_kind(settings))


def values(vs):
    vs = sorted(vs)
    text = ", ".join(f"{v:g}" for v in vs)
    return text if len(vs) == 1 else "{" + text + "}"


def describe_run(model, configs, settings, what=("eta", "sa", "si")):
    """One model's grid in a part, read from its summary: η, S_A, S_I, variance samples, attack."""
    attacked = [c for c in configs if c["eta"] > 0]
    bits = []
    if "eta" in what and attacked:
        bits.append("η " + ("= " if len({c["eta"] for c in attacked}) == 1 else "∈ ") + values({c["eta"] for c in attacked}))
    if "sa" in what and attacked:
        sas = {c["attack_samples"] for c in attacked}
        bits.append("S_A " + ("= " if len(sas) == 1 else "∈ ") + values(sas))
    if "si" in what:
        sis = {c["inference_samples"] for c in configs}
        bits.append("S_I " + ("= " if len(sis) == 1 else "∈ ") + values(sis))
    if "variance" in what:
        v = {c.get("variance_samples") for c in configs} - {None}
        if not v:       # summaries from before `variance_samples` was summarised: the run's settings
            v = {settings.get("variance_wrn" if model.startswith("wrn") else "variance")} - {None}
        bits.append(f"{values(v) if v else '?'} variance samples")
    steps = {c.get("pgd_steps") for c in attacked} - {None}
    if steps and "eta" in what:
        bits.append(f"{values(steps)} PGD steps")
    return "; ".join(bits)


def grid_note(data, settings, uses, models=None):
    """The grid under a figure or table, read from the summaries: `uses` is a list of (part, what);
    models with the same grid are listed together."""
    groups, images = {}, set()
    for part, what in uses:
        for m, configs in sorted(data.get(part, {}).items()):
            if models is not None and m not in models or not configs:
                continue
            images |= {c["images"] for c in configs}
            d = describe_run(m, configs, settings, what)
            groups.setdefault((part if len(uses) > 1 else "", d), []).append(m)
    if not groups:
        return ""
    body = "; ".join((f"{part}: " if part else "") + ", ".join(ms) + (f" ({d})" if d else "") for (part, d), ms in groups.items())
    return f"*Grid — {grid_label(settings)}, {values(images)} images:* {body}."


def parameter_count(model):
    """Parameters of a bundled model, from its safetensors header (the sum of the tensors' sizes)."""
    path = os.path.join(ROOT, "models", model, "weights.safetensors")
    if not os.path.exists(path):
        return None
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
    total = 0
    for k, v in header.items():
        if k != "__metadata__" and "running" not in k:       # batch-norm running statistics are not parameters
            size = 1
            for d in v["shape"]:
                size *= d
            total += size
    return total


def card(model):
    path = os.path.join(ROOT, "models", model, "model.json")
    return json.load(open(path)) if os.path.exists(path) else {}


def saturation(ref):
    """How often our MLPs' single-sample predictions saturate against the paper's, from the model
    cards (extreme predictions per 10,000 test images, the paper's measure): (phrase, as_often)."""
    ex = ref["extreme_single_sample_predictions_on_10k_test_images"]
    pairs = [(m, card(m).get("evaluation", {}).get("extreme_predictions"), ex.get(p)) for m, p in (("vmg-fmnist", "BNN"), ("im-fmnist", "IM"))]
    pairs = [(m, o, p) for m, o, p in pairs if o is not None and p]
    if not pairs:
        return "not measured", False
    # "as often" = within a factor of 3 of the paper's count (log10 distance ≤ 0.48)
    as_often = all(abs(math.log10((o + 1) / (p + 1))) <= math.log10(3) for _, o, p in pairs)
    text = "; ".join(f"{m} {o} per 10,000 test images (paper {p})" for m, o, p in pairs)
    return text, as_often


def why(i, data, ref, settings):
    """Our reading of a difference from the paper under a claim our numbers do not support (keyed by
    claim index); every figure in it comes from the summaries, the model cards or the reference data."""
    ex = ref["extreme_single_sample_predictions_on_10k_test_images"]
    var = data.get("variance", {})
    if i == 1:
        ours = "; ".join(f"{m}: {c[0].get('extreme_samples', '–')} of {c[0]['images'] * c[0]['inference_samples']} samples"
                         for m, c in sorted(var.items()) if not m.startswith("wrn") and c)
        return ("the paper explains the higher-variance models' robustness by extreme predictions (section 4.4): single-sample "
                "outputs saturated at exactly 1 have zero gradient, so the averaged attack gradient comes from fewer samples. "
                + (f"Our MLPs saturate about as often as the paper's (model cards: {saturation(ref)[0]}; in this run: {ours or 'not measured'}), "
                   "so saturation alone does not explain the difference." if saturation(ref)[1] else
                   f"Our MLPs hardly saturate (the extreme-prediction table: {ours or 'not measured'}; the paper: {ex.get('IM')} (IM) and "
                   f"{ex.get('BNN')} (BNN) single-sample predictions on its test set), so our IM's larger variance buys it no gradient masking."))
    if i == 6:
        sis = settings.get("si_list_wrn")
        return (f"the WRNs' S_I sweep stops at {max(sis) if sis else '?'} samples (the MLPs' at "
                f"{max(settings.get('si_list') or ['?'])}), and a median over images says nothing per image: the summaries hold "
                "no per-image gradient norms, so these parts rest on medians and a sign test over the grid.")
    if i == 7:
        text, as_often = saturation(ref)
        if as_often:
            return ("the losses differ where single samples saturate (a saturated probability has no gradient, its logit does). "
                    f"Our MLPs saturate about as often as the paper's (model cards: {text}), so the mechanism is there; on our grid "
                    "its effect on the two losses is not consistent in sign across η (the cells above), which a 1000-image run "
                    "cannot tell from a small effect: we do not know why the paper's contrast does not show.")
        return ("the losses differ where single samples saturate (a saturated probability has no gradient, its logit does). "
                f"With few saturated samples in our MLPs (model cards: {text}), CW on averaged logits and "
                "cross-entropy on averaged probabilities point the same way for both models, so the paper's contrast between "
                "IM and BNN has little to act on.")
    return None


def fresh_table(data, settings=None):
    """Adversarial accuracy judged by the same inference set I and by a fresh one (FGM), for every
    model whose runs have a fresh set: one row per model and S_A, one column per η, each cell
    "same / fresh" with McNemar's p for the difference on the same images."""
    runs = {m: [c for c in configs if c["eta"] > 0 and isinstance(c.get("fresh_adversarial_accuracy"), dict)]
            for m, configs in sorted(data.get("fgm", {}).items())}
    with_fresh = {m: cs for m, cs in runs.items() if cs}
    if not with_fresh:
        return []
    etas = sorted({c["eta"] for cs in with_fresh.values() for c in cs})
    rows = []
    for m, cs in with_fresh.items():
        for sa in sorted({c["attack_samples"] for c in cs}):
            cells = []
            for eta in etas:
                c = next((c for c in cs if c["attack_samples"] == sa and abs(c["eta"] - eta) < 1e-6), None)
                if c is None:
                    cells.append("–")
                    continue
                same, fresh = c["adversarial_accuracy"]["rate"], c["fresh_adversarial_accuracy"]["rate"]
                o = c.get("outcomes") or {}
                p = ""
                if o.get("adversarial_correct") and o.get("fresh_adversarial_correct"):
                    b, cc = stats.discordant(o["adversarial_correct"], o["fresh_adversarial_correct"])
                    p = f" (p {stats.mcnemar(b, cc):.2g}; {b}:{cc})"
                cells.append(f"{100 * same:.1f} / {100 * fresh:.1f}{p}")
            si = values({c["inference_samples"] for c in cs if c["attack_samples"] == sa})
            rows.append(f"| {m} | {sa} | {si} | " + " | ".join(cells) + " |")
    without = [m for m, cs in runs.items() if not cs and not m.endswith("dropout-off")]
    note = grid_note(data, settings or {}, [("fgm", ("eta", "sa", "si"))], models=set(with_fresh))
    return ["## Adversarial accuracy (%) with the same and with a fresh inference set (FGM)", "",
            "The same x_adv judged by the inference set I used for the conditions (as in the paper) and by an independent "
            "set of the same size (role `fresh`). Each cell: same set / fresh set, then McNemar's exact p on the same images "
            "with the counts of images right only under the same set : only under the fresh one.", "",
            "| model | S_A | S_I | " + " | ".join(f"η = {e:g}" for e in etas) + " |", "|---|---|---|" + "---|" * len(etas)] + rows + [""] \
        + ([note, ""] if note else []) \
        + ([f"No fresh set in this grid for {', '.join(without)} (`scripts/reproduce --full` adds it).", ""] if without else [])


def differences(data, ref, settings):
    """The list of differences from the paper's setup; every figure in it is read from the model
    cards, the weights, the settings, the summaries or the reference data."""
    t2 = ref["table2_test_accuracy_percent_by_inference_samples"]
    cards = {m: card(m) for m in ("vmg-fmnist", "im-fmnist", "wrn-fmnist-p03", "wrn-fmnist-p06")}
    acc = {m: (c.get("evaluation") or {}).get("test_accuracy_percent", {}) for m, c in cards.items()}
    out = []
    w3, w6 = cards["wrn-fmnist-p03"], cards["wrn-fmnist-p06"]
    if w3 and w6:
        arch = w3["architecture"]
        a3, a6 = acc["wrn-fmnist-p03"].get("100"), acc["wrn-fmnist-p06"].get("100")
        p3, p6 = t2["WRN-28-10 dropout 0.3 (CIFAR-10)"][-1], t2["WRN-28-10 dropout 0.6 (CIFAR-10)"][-1]
        params = parameter_count("wrn-fmnist-p03")
        out.append(f"- **The ResNets.** The paper's: {ref['setups']['cifar_models']}. Ours: WRN-{arch['depth']}-{arch['widen']} "
                   f"({params:,} parameters) trained "
                   + (f"{w3['training']['epochs']} epochs each" if w3['training']['epochs'] == w6['training']['epochs']
                      else f"{w3['training']['epochs']} and {w6['training']['epochs']} epochs") + " on FashionMNIST "
                   f"(zero-padded to {arch['padded_to'][0]}×{arch['padded_to'][1]}) with MC dropout {arch['dropout']} / {w6['architecture']['dropout']}, "
                   "all this 2-core machine could train within a session (models/wrn-fmnist-*/model.json). "
                   f"Their clean accuracies at S_I = 100 differ by {abs(a3 - a6):.1f} points ({a3:.2f} vs {a6:.2f} %; the paper's pair by "
                   f"{abs(p3 - p6):.2f}, the p = 0.6 one {'the more' if p6 > p3 else 'the less'} accurate), and their attack lengths are "
                   f"FashionMNIST's η (the paper's Table 1:{ref['table1_mean_attack_length']['note'].split(';')[1]}). So only trends carry over, and claim 2 is judged "
                   "among the images both models classify correctly.")
    rows = {"vmg-fmnist": "BNN (VMG, FashionMNIST)", "im-fmnist": "IM (FashionMNIST)"}
    gaps = []
    for m, prow in rows.items():
        d = [acc[m].get(str(s)) - p for s, p in zip(t2["samples"], t2[prow]) if p is not None and acc[m].get(str(s)) is not None]
        if d:
            gaps.append(f"{m} {min(d):+.2f} to {max(d):+.2f} points" if len(d) > 1 else f"{m} {d[0]:+.2f} points")
    if gaps:
        out.append("- **The MLPs** (VMG and IM, the paper's architecture: " + ref["setups"]["fashion_mnist_models"].split(",")[0]
                   + ") were trained here with the paper's recipe and the choices it leaves open settled by a pre-registered study (models/*/model.json); their test accuracies against the paper's "
                   f"(Table 2, ours minus the paper's over S_I): {'; '.join(gaps)}; "
                   + ("their single-sample predictions saturate about as often as the paper's"
                      if saturation(ref)[1] else "their single-sample predictions saturate far less often, which makes f(x, θ) smoother than the paper's")
                   + f" (extreme predictions: {saturation(ref)[0]}). The study that chose their parameterisation: docs/MLP-STUDY.md.")
    s = settings
    if s and grid_kind(s).startswith("quick"):
        out.append(f"- **Grids**: {grid_label(s)}, a check of the chain (each figure's and table's grid note).")
    elif s and grid_kind(s) == "full":
        out.append(f"- **Grids** (each figure's and table's grid note): the paper's (S_A up to {max(s.get('sa') or ['?'])} for the MLPs "
                   f"and {max(s.get('sa_wrn') or ['?'])} for the WRNs, as Table 1; the paper: {ref['setups']['attack_sample_counts']}; "
                   f"S_I = {s.get('si')}; {s.get('variance')} variance samples), except: the η axes of the paper's figures are printed only "
                   f"as plots, so every model and L2 attack uses η ∈ {s.get('etas')} (the paper's ResNets are CIFAR-10's, with CIFAR-10's η); "
                   f"the WRNs' PGD stops at S_A = {max(s.get('sa_pgd_wrn') or ['?'])}; the CW and margin losses use S_A = {s.get('sa_fixed')} "
                   "(the paper's text: 10, its figure 15 caption: one sample).")
    elif s:
        out.append(f"- **Grids** (each figure's and table's grid note): the MLPs get S_A ∈ {s.get('sa')} (the paper: "
                   f"{ref['setups']['attack_sample_counts']}) and S_I = {s.get('si')} (the paper: {ref['setups']['default_inference_samples']}); "
                   f"to fit the time budget the WRNs use S_I = {s.get('si_wrn')}, η ∈ {s.get('etas_wrn')} and S_I ∈ {s.get('si_list_wrn')} in the "
                   f"S_I sweep, PGD η ∈ {s.get('etas_pgd')} and S_A ∈ {s.get('sa_pgd')}, the smoothed MLPs S_I = {s.get('si_smoothed')}, "
                   f"the MLPs' prediction variance {s.get('variance')} samples, part `inference` S_A = {s.get('sa_inference', 10)} "
                   "(the paper: one sample), no FGSM or PGD on the WRNs and no fresh set for them; "
                   "`scripts/reproduce --full` runs the paper's grid.")
    widths = [(c["adversarial_accuracy"]["wilson95"][1] - c["adversarial_accuracy"]["wilson95"][0]) / 2
              for part in data.values() for configs in part.values() for c in configs if isinstance(c.get("adversarial_accuracy"), dict)]
    if widths:
        out.append(f"- **Noise.** {s.get('images', '?')} images give 95 % Wilson half-widths of up to ±{100 * max(widths):.1f} points on an "
                   "adversarial accuracy (the summaries hold the intervals). Comparisons on the same images are tested on the "
                   "discordant images (McNemar), which is far more sensitive than comparing intervals; a difference that is not "
                   "significant counts as not shown.")
    return out


def load_settings(out):
    path = os.path.join(out, "settings.json")
    return json.load(open(path)) if os.path.exists(path) else {}


def report(out, data, figures, path, figdir):
    ref = json.load(open(os.path.join(ROOT, "docs", "paper", "reference.json")))
    settings = load_settings(out)
    timings = json.load(open(os.path.join(out, "timings.json"))) if os.path.exists(os.path.join(out, "timings.json")) else {}
    rel = os.path.relpath(figdir, os.path.dirname(path))
    kind = grid_kind(settings)
    results = os.path.relpath(out, ROOT) if os.path.abspath(out).startswith(ROOT + os.sep) else out
    L = ["# Reproduction report" + (" (the paper's grid)" if kind == "full" else ""), "",
         "Generated by `scripts/reproduce" + (" --full" if kind == "full" else "") + "`; plots and this file by `scripts/plot.py` "
         f"from the summary files alone (`python3 scripts/plot.py {results}` re-makes both).",
         f"**Grid: {grid_label(settings)}.** " + (
             "The paper's sample sizes and η grids for every figure and table where the machine allows (the differences at the end say "
             "where not); the default 30-minute grid's results stay in `docs/results` and `docs/REPORT.md`." if kind == "full" else
             "Sample sizes and η grids reduced to fit 30 minutes on two cores; `scripts/reproduce --full` runs the paper's grid "
             "(hours) into `docs/results-full` and `docs/REPORT-full.md`"
             + (" (present: [REPORT-full.md](REPORT-full.md))" if os.path.exists(os.path.join(ROOT, "docs", "REPORT-full.md"))
                and os.path.abspath(os.path.dirname(path)) == os.path.join(ROOT, "docs") else "") + "." if kind == "default" else
             "A CI check of the chain; the numbers are not meaningful.")
         + f" {settings.get('images', '?')} first FashionMNIST test images, {settings.get('threads', '?')} threads; "
         "each figure and table states the grid it used, read from its summary files.",
         "", "Time per part (s): " + ", ".join(f"{k} {v}" for k, v in timings.items()) + f"; total {sum(timings.values()):.0f} s.", ""]
    # Table 2 from the model cards
    t2 = ref["table2_test_accuracy_percent_by_inference_samples"]
    paper_rows = {"vmg-fmnist": "BNN (VMG, FashionMNIST)", "im-fmnist": "IM (FashionMNIST)",
                  "wrn-fmnist-p03": "WRN-28-10 dropout 0.3 (CIFAR-10)", "wrn-fmnist-p06": "WRN-28-10 dropout 0.6 (CIFAR-10)"}
    card_images = {(card(m).get("evaluation") or {}).get("images") for m in paper_rows} - {None}
    L += [f"## Table 2: test accuracy (%) by S_I (model cards, {', '.join(f'{n:,}' for n in sorted(card_images))} test images)", "",
          "| model | S_I=1 | 5 | 10 | 100 | paper (row) |", "|---|---|---|---|---|---|"]
    for m, prow in paper_rows.items():
        card_path = os.path.join(ROOT, "models", m, "model.json")
        if not os.path.exists(card_path):
            continue
        acc = (json.load(open(card_path)).get("evaluation") or {}).get("test_accuracy_percent", {})
        p = t2.get(prow, [])
        L.append(f"| {m} | " + " | ".join(fmt(acc.get(s)) for s in ("1", "5", "10", "100")) + " | "
                 + "/".join(fmt(v) for v in p) + f" ({prow}) |")
    L += ["", "The WRN rows of the paper are WRN-28-10 on CIFAR-10; ours are the compact WRNs trained here on FashionMNIST, so only the trend in S_I compares.", ""]
    # Table 1
    t1 = ref["table1_mean_attack_length"]
    t1_models = (("vmg-fmnist", "BNN"), ("im-fmnist", "IM"), ("wrn-fmnist-p03", "WRN dropout 0.3"), ("wrn-fmnist-p06", "WRN dropout 0.6"))
    t1_sas = sorted({c["attack_samples"] for m, _ in t1_models for c in data.get("fgm", {}).get(m, []) if abs(c["eta"] - 1.5) < 1e-6})
    L += ["## Table 1: mean attack length ‖δ‖₂ at η = 1.5 (FGM) by S_A", "", "| model | " + " | ".join(f"S_A={s}" for s in t1_sas) + f" | paper (S_A = {'/'.join(map(str, t1['samples']))}) |",
          "|---|" + "---|" * (len(t1_sas) + 1)]
    for m, prow in t1_models:
        configs = data.get("fgm", {}).get(m)
        if not configs:
            continue
        by = {c["attack_samples"]: stat(c, "delta_norm", "mean") for c in configs if abs(c["eta"] - 1.5) < 1e-6}
        L.append(f"| {m} | " + " | ".join(fmt(by.get(s), 3) for s in t1_sas) + " | " + "/".join(fmt(v, 3) for v in t1.get(prow, [])) + " |")
    note = grid_note(data, settings, [("fgm", ("sa", "si"))], models={m for m, _ in t1_models})
    L += ["", note] if note else []
    L += ["", f"The paper's note: {t1['note']}.", ""]
    # extreme predictions
    ex = ref["extreme_single_sample_predictions_on_10k_test_images"]
    L += ["## Extreme predictions (section 4.4)", "", "| model | images | inference samples with max_c f_c == 1 | images with at least one | paper (10k images) |", "|---|---|---|---|---|"]
    for m, configs in sorted(data.get("variance", {}).items()):
        c = configs[0]
        paper = ex.get("BNN") if m.startswith("vmg") else ex.get("IM") if m.startswith("im") else ex.get("WRN (both)")
        L.append(f"| {m} | {c['images']} | {c.get('extreme_samples', '–')} (of {c['images'] * c['inference_samples']}) | {c.get('images_with_extreme_samples', '–')} | {paper} |")
    note = grid_note(data, settings, [("variance", ("si", "variance"))])
    L += ["", note] if note else []
    L.append("")
    L += ["## Figures", ""]
    for name, caption, note in figures:
        L += [f"### {caption}", "", f"![{caption}]({rel}/{name}.png)", ""] + ([note, ""] if note else [])
    L += fresh_table(data, settings)
    L += ["## The paper's claims against our measurements", "",
          "Each claim is split into parts, each tested on the whole grid of the run with a stated rule (level 5 %): "
          + verdicts.RULES, ""]
    for i, verdict, parts in verdicts.evaluate(data):
        L += [f"{i + 1}. *{ref['claims'][i]}* — **{verdict}**"]
        for part in parts:
            L += [f"   - {part['name']} — *{part['verdict']}*: {part['detail']}"]
        reason = why(i, data, ref, settings)
        if verdict != "supported" and not verdict.startswith("not") and reason:
            L += [f"   - *Why we think we differ:* {reason}"]
    L += ["", "## Where our setup differs from the paper's", ""] + differences(data, ref, settings) + [""]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    open(tmp, "w").write("\n".join(L))
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--report", help="default docs/REPORT.md; docs/REPORT-full.md for a --full run's summaries")
    ap.add_argument("--figures", help="default: figures/ next to the report (figures-full/ for a --full run's summaries)")
    args = ap.parse_args()
    ensure_matplotlib()
    import matplotlib
    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "snn"
    import matplotlib.pyplot as plt
    full = grid_kind(load_settings(args.out)) == "full"
    if args.report is None:
        args.report = os.path.join(ROOT, "docs", "REPORT-full.md" if full else "REPORT.md")
    figdir = args.figures or os.path.join(os.path.dirname(args.report), "figures-full" if full else "figures")
    data = load(args.out)
    if not data:
        sys.exit(f"{args.out}: no *.summary.json files (run scripts/reproduce first)")
    runner_up = any("runner_up_grad_norm" in c for configs in data.get("inference", {}).values() for c in configs)
    key7, j7 = ("runner_up_", "j′") if runner_up else ("", "j")
    ALL, FGM_GRID = ("eta", "sa", "si"), [("fgm", ("eta", "sa", "si"))]
    at15 = " Figure 7 uses η = 1.5 only."
    specs = [
        ("fig05_fgm_accuracy", "Figures 5 and 9: FGM adversarial accuracy vs η by S_A",
         lambda: figure_by_samples(plt, data, "fgm", "fig05", "Figures 5, 9: FGM (L2), CE loss — adversarial accuracy by S_A", extra="wrn-fmnist-p03-dropout-off"),
         FGM_GRID, ""),
        ("fig06_cos_alpha", "Figures 6 and 10: median cos α_j vs η by S_A",
         lambda: figure_by_samples(plt, data, "fgm", "fig06", "Figures 6, 10: median cos α_j by S_A", y=lambda c: stat(c, "cos_alpha"), ylabel="median cos α_j"),
         FGM_GRID, ""),
        ("fig03_smoothed_conditions", "Figure 3: condition rates and adversarial accuracy on the smoothed models", lambda: figure_smoothed(plt, data),
         [("smoothed", ALL)], " Each sample averages the model card's noise draws."),
        ("fig04_prediction_variance", "Figure 4: prediction variance per model", lambda: figure_variance(plt, data),
         [("variance", ("si", "variance"))], ""),
        # figure 7 is about the runner-up class j′ = argmin_c m_c (summaries from before it was summarised: class j)
        ("fig07_grad_norm", f"Figure 7: ‖∇m_{j7}‖ vs S_I at η = 1.5",
         lambda: figure_vs_inference_samples(plt, data, key7 + "grad_norm", f"‖∇m_{j7}‖", f"Figure 7: margin gradient norm (class {j7}) by S_I"),
         [("inference", ALL)], at15),
        ("fig07b_grad_norm_cos", f"Figure 7: ‖∇m_{j7}‖·cos α_{j7} vs S_I at η = 1.5",
         lambda: figure_vs_inference_samples(plt, data, key7 + "grad_norm_times_cos_alpha", f"‖∇m_{j7}‖·cos α_{j7}",
                                             f"Figure 7: ‖∇m_{j7}‖·cos α_{j7} by S_I"),
         [("inference", ALL)], at15),
        ("fig11_fgsm", "Figures 11 and 12: FGSM (L∞) adversarial accuracy vs η by S_A",
         lambda: figure_by_samples(plt, data, "fgsm", "fig11", "Figures 11, 12: FGSM (L∞)"), [("fgsm", ALL)], ""),
        ("fig13_pgd", "Figures 13 and 14: PGD (L2) adversarial accuracy vs η by S_A",
         lambda: figure_by_samples(plt, data, "pgd", "fig13", "Figures 13, 14: PGD (L2, ν = η/5, a fresh attack set per step)"),
         [("pgd", ALL)], ""),
        ("fig15_losses", "Figure 15: cross-entropy, CW and margin losses", lambda: figure_losses(plt, data),
         [("cw", ALL), ("margin", ALL)], " Cross-entropy: part fgm's runs at S_A = 10."),
        ("fig16_inference_samples", "Figures 16 and 17: adversarial accuracy vs η by S_I",
         lambda: figure_by_samples(plt, data, "inference", "fig16", "Figures 16, 17: adversarial accuracy by S_I", by="inference_samples"),
         [("inference", ALL)], ""),
    ]
    settings = load_settings(args.out)
    figures = []
    for name, caption, make, uses, extra in specs:
        fig = make()
        if save(fig, figdir, name):
            figures.append((name, caption, grid_note(data, settings, uses) + extra))
            plt.close(fig)
    report(args.out, data, figures, args.report, figdir)
    print(f"wrote {args.report} and {len(figures)} figures in {figdir}", file=sys.stderr)


if __name__ == "__main__":
    main()
