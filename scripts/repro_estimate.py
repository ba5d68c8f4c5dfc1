"""Run-time estimate of a scripts/reproduce grid from a measured run of another grid (work ratios).

The estimate of a part is the measured time of that part in the reference run (the default grid's,
REFERENCE below) times the ratio of the part's work under the two grids. The work of one image is
counted from the `snn evaluate` flags of each run with a plain cost model (milliseconds of one core;
only ratios within a part matter, so the constants need to be right only relative to each other):

- an MLP realization (its noise, forward and VJP rows) 0.3 ms, one more input row through a drawn
  realization 0.01 ms (the batched rows of the attacks' x_adv); a smoothed MLP ten times both (ten
  noise draws per sample);
- a compact-WRN forward row 1.2 ms, a VJP or JVP row 0.8 ms (the docstring of scripts/reproduce);
- FGM/FGSM: the attack draws max S_A realizations once (nested sets); PGD draws Σ_{η, S_A} S_A per
  step (every trajectory its own);
- inference: max S_I realizations, each with 1 + A rows (A = the η × S_A configurations) and, on
  the WRN, a JVP per configuration and two VJP rows (classes j and j′); the fresh set max S_I
  realizations with A rows; the prediction variance V realizations with one row.

Checked against the reference run itself: the model puts the WRN's FGM run at 3.4× an MLP's, the
measured ratio is 4.3× (196 s vs 46 s), so WRN work is scaled by their ratio; the README's 60-image bench of IM (24 configurations at S_A =
S_I = 100 cost ~1.1× one configuration) agrees with the row cost.
"""

# the default grid's part times (s) on this 2-core machine, idle, 2 threads (README, "Reproduction")
REFERENCE = {"fgm": 492.1, "variance": 228.3, "smoothed": 143.1, "fgsm": 89.4, "pgd": 192.9, "cw": 53.7,
             "margin": 53.7, "inference": 189.8}

MLP_REALIZATION, MLP_ROW = 0.3, 0.01
WRN_FORWARD, WRN_VJP = 1.2, 0.8
# the model's WRN:MLP ratio of the default grid's FGM runs (3.37) against the measured one (196 s vs
# 46 s per run: 4.26); WRN work is scaled by this, so parts that gain WRN runs (FGSM, PGD) are fair
WRN_CALIBRATION = 4.26 / 3.37


def _flag(flags, name, default=None):
    return flags[flags.index(name) + 1] if name in flags else default


def _ints(v):
    return [int(x) for x in str(v).split(",")]


def work(model, flags):
    """Cost of one image of one `snn evaluate` run (ms of one core, by the model above)."""
    etas = [float(x) for x in _flag(flags, "--eta", "0").split(",")]
    sa = _ints(_flag(flags, "--attack-samples", "1"))
    si = max(_ints(_flag(flags, "--inference-samples", "1")))
    v = int(_flag(flags, "--variance-samples", "0"))
    attack = _flag(flags, "--attack", "fgm")
    steps = int(_flag(flags, "--pgd-steps", "10")) if attack == "pgd" else 1
    attacked = [e for e in etas if e > 0]
    a = len(attacked) * len(sa)
    fresh = "--no-fresh" not in flags and a > 0
    if attack == "pgd":
        attack_draws = sum(sa) * len(attacked) * steps
    else:
        attack_draws = max(sa) if a else 0
    if model.startswith("wrn"):
        w = attack_draws * (WRN_FORWARD + WRN_VJP)
        w += si * ((1 + a) * WRN_FORWARD + a * WRN_VJP + 2 * WRN_VJP)
        w += si * a * WRN_FORWARD if fresh else 0
        w += v * WRN_FORWARD
        return WRN_CALIBRATION * w
    scale = 10 if model.endswith("smooth") else 1
    draws = attack_draws + si + (si if fresh else 0) + v
    rows = si * (1 + a) + (si * a if fresh else 0) + v
    return scale * (draws * MLP_REALIZATION + rows * MLP_ROW)


def part_work(runs, images):
    return images * sum(work(m, flags) for m, flags in runs)


def estimate(target_parts, reference_parts, target_images, reference_images, reference=REFERENCE):
    """{part: estimated seconds} of the target grid's parts, scaled from the reference grid's measured times."""
    ref = {p: part_work(r, reference_images) for p, r in reference_parts}
    out = {}
    for p, runs in target_parts:
        if p in reference and ref.get(p):
            out[p] = reference[p] * part_work(runs, target_images) / ref[p]
    return out
