"""The paper's claims tested on the reproduction's summaries (scripts/plot.py writes them into the report).

Every claim is split into parts; each part is tested on the whole grid it speaks about (every model,
η, S_A or S_I of the run, not the end points), with one of these stated rules (level 5 %):

- **grid** (a direction or trend over a grid of cells). A cell compares two settings on the same
  images. With per-image outcomes (accuracies, condition rates) it is McNemar's exact test on the
  discordant images: "for" when significant in the claimed direction, "against" when significant
  the other way, else "not shown". With medians only (cos α, gradient norms: no per-image values in
  the summaries) it is the sign of the change; equal medians are "not shown". Verdict: the one-sided
  sign test on the k "for" among the m cells that are "for" or "against" (ties and non-significant
  cells are not shown: they count neither way), P(Bin(m, ½) ≥ k) < 5 % → supported; the same on
  the "against" cells → contradicted; else not shown. So at least five cells must show the claimed
  direction (significantly, where a test exists) and few or none the opposite. Grids of fewer than
  five cells, where a sign test cannot reach 5 %, use Holm's correction over the cells' McNemar
  p-values instead and need every cell significant in the claimed direction.
  The cells share images, so the sign test's independence is an approximation; each cell's McNemar
  test is exact.
- **equivalence** ("hardly changes", "behaves like", "tracks"): each cell's paired difference of two
  rates on the same images has a conservative 95 % interval (each discordant share b/n, c/n with a
  Clopper–Pearson interval at 97.5 %, Bonferroni: `stats.paired_difference`); the
  cell is equal when the interval lies within ±MARGIN, different when it lies wholly outside.
  Supported: every cell equal; contradicted: some cell different; else not shown.
- **bound** ("goes to zero"): the 95 % Wilson upper bound of the rate at the largest η is at most
  5 % (supported), its lower bound above 5 % (contradicted), and no step to a larger η raises it
  significantly (McNemar; a significant rise contradicts).
- **descriptive** (only where the summaries hold no per-image values): medians within ±10 % of the
  reference median; supported or not shown, never contradicted.
"""
import os, sys

RULES = ("**grid** — a direction over a grid of cells (two settings on the same images): McNemar's exact test per cell "
         "where the summaries hold per-image outcomes, else the sign of the change of the median; the one-sided sign test "
         "on the cells that show the claimed direction among those that show either (ties and non-significant cells count "
         "neither way) must give p < 5 % (the same the other way contradicts the claim); grids of fewer than five cells need every cell "
         "significant after Holm's correction. **equivalence** — \"hardly changes\", \"behaves like\", \"tracks\": each cell's "
         "conservative 95 % interval of the paired difference (Clopper–Pearson on each discordant share, Bonferroni) lies within ±3 points (one wholly outside contradicts). **bound** — "
         "\"goes to zero\": 95 % Wilson upper bound at the largest η ≤ 5 % and no significant rise with η. **descriptive** — "
         "medians within ±10 % (no per-image values; never contradicts). The cells of a grid share images, so the sign test's "
         "independence is an approximation; each McNemar test is exact. Verdicts: supported, contradicted, or not shown; "
         "a claim with several parts is partly supported when some parts are.")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stats

ALPHA = 0.05
MARGIN = 0.03           # equivalence margin for rates (3 points), fixed before the data were seen
FLAT = 0.10             # descriptive flatness: ±10 % of the reference median
NOT_TESTABLE = "not testable"


def outcomes(c, key):
    o = c.get("outcomes")
    return o.get(key) if isinstance(o, dict) else None


def stat(c, key, field="median"):
    v = c.get(key)
    return v[field] if isinstance(v, dict) and v.get(field) is not None else None


def rate(c, key):
    v = c.get(key)
    return v["rate"] if isinstance(v, dict) and v.get("rate") is not None else None


def pick(configs, eta=None, sa=None, si=None):
    for c in configs:
        if (eta is None or abs(c["eta"] - eta) < 1e-6) and (sa is None or c["attack_samples"] == sa) \
                and (si is None or c["inference_samples"] == si):
            return c
    return None


def pct(v, d=1):
    return "–" if v is None else f"{100 * v:.{d}f} %"


def fmt_p(p):
    return f"{p:.2g}" if p >= 1e-4 else f"{p:.1e}"


# ------------------------------------------------------------ cells

def mcnemar_cell(label, a, b, key, claimed_a_higher=True, mask_key=None):
    """A vs B on the same images: outcome vector `key` (e.g. adversarial_correct); with `mask_key`
    only the images where both have it (e.g. clean_correct under both models)."""
    ha, hb = outcomes(a, key), outcomes(b, key)
    if ha is None or hb is None:
        return None
    mask = None
    if mask_key:
        ma, mb = outcomes(a, mask_key), outcomes(b, mask_key)
        if ma is None or mb is None:
            return None
        mask = stats.bits(ma) & stats.bits(mb)
    bb, cc = stats.discordant(ha, hb, mask)
    kind, _, _, p = stats.cell(bb, cc, claimed_a_higher, ALPHA)
    return dict(label=label, kind=kind, b=bb, c=cc, p=p)


def median_cell(label, va, vb, claimed_a_higher=True):
    """Medians only: the sign of the change (no test possible)."""
    if va is None or vb is None:
        return None
    kind = "none" if va == vb else ("for" if (va > vb) == claimed_a_higher else "against")
    return dict(label=label, kind=kind, a=va, b=vb, p=None)


# ------------------------------------------------------------ rules

def grid(name, cells, what):
    """The grid rule over `cells` (None entries: not testable from these summaries)."""
    if not cells:
        return dict(name=name, verdict="not measured", detail="no cells in this run")
    if any(c is None for c in cells):
        return dict(name=name, verdict=NOT_TESTABLE,
                    detail="the summaries lack per-image outcomes or runner-up statistics (made before `snn summarize --outcomes`): re-run scripts/reproduce")
    n = len(cells)
    k_for = sum(c["kind"] == "for" for c in cells)
    k_against = sum(c["kind"] == "against" for c in cells)
    paired = all(c["p"] is not None for c in cells)
    if n < 5 and paired:
        adj = stats.holm([c["p"] for c in cells])
        sig_for = sum(a < ALPHA and c["kind"] == "for" for a, c in zip(adj, cells))
        sig_against = sum(a < ALPHA and c["kind"] == "against" for a, c in zip(adj, cells))
        verdict = "supported" if sig_for == n else "contradicted" if sig_against > 0 else "not shown"
        detail = (f"{what}: significant in the claimed direction in {sig_for} of {n} cells after Holm's correction, "
                  f"against it in {sig_against} (smallest adjusted p = {fmt_p(min(adj))}; rule: every cell)")
        return dict(name=name, verdict=verdict, detail=detail, cells=cells)
    shown = k_for + k_against
    p_for, p_against = stats.sign_test(k_for, shown), stats.sign_test(k_against, shown)
    verdict = "supported" if p_for < ALPHA else "contradicted" if p_against < ALPHA else "not shown"
    test = "McNemar significant" if paired else "median strictly"
    detail = (f"{what}: {test} in the claimed direction in {k_for} of {n} cells, against it in {k_against}, "
              f"{n - shown} not shown; sign test p = {fmt_p(p_for)} (against: {fmt_p(p_against)})")
    return dict(name=name, verdict=verdict, detail=detail, cells=cells)


def equivalence(name, pairs, what):
    """`pairs`: [(label, b, c, n)] or None entries; the paired difference (b − c)/n per cell."""
    if not pairs:
        return dict(name=name, verdict="not measured", detail="no cells in this run")
    if any(p is None for p in pairs):
        return dict(name=name, verdict=NOT_TESTABLE,
                    detail="the summaries lack per-image outcomes (made before `snn summarize --outcomes`): re-run scripts/reproduce")
    equal = different = 0
    worst = None
    for label, b, c, n in pairs:
        d, (lo, hi) = stats.paired_difference(b, c, n)
        if -MARGIN <= lo and hi <= MARGIN:
            equal += 1
        elif hi < -MARGIN or lo > MARGIN:
            different += 1
        if worst is None or max(abs(lo), abs(hi)) > max(abs(worst[2]), abs(worst[3])):
            worst = (label, d, lo, hi)
    verdict = "supported" if equal == len(pairs) else "contradicted" if different else "not shown"
    detail = (f"{what}: the 95 % interval of the paired difference lies within ±{100 * MARGIN:.0f} points in {equal} of "
              f"{len(pairs)} cells and wholly outside in {different}; widest: {worst[0]}, {100 * worst[1]:+.1f} points "
              f"[{100 * worst[2]:+.1f}, {100 * worst[3]:+.1f}]")
    return dict(name=name, verdict=verdict, detail=detail)


def combine(parts):
    vs = [p["verdict"] for p in parts if p["verdict"] != "not measured"]     # parts this run did not measure
    if not vs:
        return "not measured in this run"
    if any(v == NOT_TESTABLE for v in vs):
        return "not testable from these summaries"
    if all(v == "supported" for v in vs):
        return "supported"
    if all(v == "contradicted" for v in vs):
        return "contradicted"
    s = sum(v == "supported" for v in vs)
    if s:
        return f"partly supported ({s} of {len(vs)} parts)"
    if any(v == "contradicted" for v in vs):
        return "contradicted"
    return "not shown"


# ------------------------------------------------------------ the claims

STOCHASTIC_PAIRS = (("im-fmnist", "vmg-fmnist"), ("wrn-fmnist-p06", "wrn-fmnist-p03"))


def etas(configs):
    return sorted({c["eta"] for c in configs if c["eta"] > 0})


def claim_attack_samples(data):
    """Claim 1: accuracy falls as S_A grows (FGM, FGSM, PGD)."""
    parts = []
    for part, name in (("fgm", "FGM"), ("fgsm", "FGSM"), ("pgd", "PGD")):
        cells = []
        for m, configs in sorted(data.get(part, {}).items()):
            if m.endswith("dropout-off"):
                continue                                  # deterministic: every S_A is the same attack
            sas = sorted({c["attack_samples"] for c in configs})
            for eta in etas(configs):
                for lo, hi in zip(sas, sas[1:]):
                    a, b = pick(configs, eta, lo), pick(configs, eta, hi)
                    if a and b:
                        cells.append(mcnemar_cell(f"{m} η={eta} S_A {lo}→{hi}", a, b, "adversarial_correct"))
        parts.append(grid(f"{name}: adversarial accuracy at S_A = s above that at the next larger S_A", cells,
                          f"{len(cells)} cells (model × η × adjacent S_A)"))
    return parts


def claim_variance(data):
    """Claim 2: the higher-variance twin is more robust at similar clean accuracy."""
    parts = []
    var = {m: stat(c[0], "prediction_variance", "mean") for m, c in data.get("variance", {}).items() if c}
    for hi_m, lo_m in STOCHASTIC_PAIRS:
        a_cfg, b_cfg = data.get("fgm", {}).get(hi_m), data.get("fgm", {}).get(lo_m)
        if not a_cfg or not b_cfg:
            continue
        cells = []
        for ca in a_cfg:
            cb = pick(b_cfg, ca["eta"], ca["attack_samples"]) if ca["eta"] > 0 else None
            if cb:
                cells.append(mcnemar_cell(f"η={ca['eta']} S_A={ca['attack_samples']}", ca, cb, "adversarial_correct",
                                          mask_key="clean_correct"))
        va, vb = var.get(hi_m), var.get(lo_m)
        order = "" if va is None or vb is None else (f" (prediction variance {va:.4g} vs {vb:.4g}"
                                                      + ("" if va > vb else "; NB: not the higher-variance one here") + ")")
        parts.append(grid(f"{hi_m} more robust than {lo_m}{order}, among the images both classify correctly", cells,
                          f"{len(cells)} cells (η × S_A)"))
    return parts


def claim_deterministic(data):
    """Claim 3: the dropout-off ResNet is less robust than the MC-dropout one under the strongest attack."""
    det, sto = data.get("fgm", {}).get("wrn-fmnist-p03-dropout-off"), data.get("fgm", {}).get("wrn-fmnist-p03")
    if not det or not sto:
        return [dict(name="dropout off vs MC dropout", verdict="not measured", detail="no dropout-off run")]
    top = max(c["attack_samples"] for c in sto)
    cells = []
    for eta in etas(sto):
        a, b = pick(sto, eta, top), pick(det, eta)
        if a and b:
            cells.append(mcnemar_cell(f"η={eta}", a, b, "adversarial_correct"))
    return [grid(f"wrn-fmnist-p03 with MC dropout (S_A = {top}) more robust than with dropout off", cells, f"{len(cells)} η")]


def claim_cos_alpha(data):
    """Claim 4: median cos α_j falls as S_A grows (FGM)."""
    cells = []
    for m, configs in sorted(data.get("fgm", {}).items()):
        if m.endswith("dropout-off"):
            continue
        sas = sorted({c["attack_samples"] for c in configs})
        for eta in etas(configs):
            for lo, hi in zip(sas, sas[1:]):
                a, b = pick(configs, eta, lo), pick(configs, eta, hi)
                if a and b:
                    cells.append(median_cell(f"{m} η={eta} S_A {lo}→{hi}", stat(a, "cos_alpha"), stat(b, "cos_alpha")))
    return [grid("median cos α_j at S_A = s above that at the next larger S_A", cells, f"{len(cells)} cells (model × η × adjacent S_A)")]


def claim_conditions(data):
    """Claim 5: the linear condition tracks adversarial accuracy for small η; the smooth one goes to 0."""
    pairs, parts = [], []
    runs = data.get("smoothed", {})
    for m, configs in sorted(runs.items()):
        for eta in etas(configs):
            if eta > 0.5:
                continue
            c = pick(configs, eta)
            lin, adv = outcomes(c, "linear_condition"), outcomes(c, "adversarial_correct")
            pairs.append(None if lin is None or adv is None else (f"{m} η={eta}", *stats.discordant(lin, adv), c["images"]))
    parts.append(equivalence("linear-condition rate equals adversarial accuracy at η ≤ 0.5", pairs,
                             f"{len(pairs)} cells (smoothed model × η ≤ 0.5)"))
    for m, configs in sorted(runs.items()):
        es = etas(configs)
        if not es:
            continue
        top = pick(configs, es[-1])
        sm = top.get("smooth_condition_rate")
        if not isinstance(sm, dict):
            parts.append(dict(name=f"{m}: smooth condition → 0", verdict="not measured", detail="no smoothness constant"))
            continue
        lo, hi = stats.wilson(sm["count"], sm["n"])
        rises = []
        for e0, e1 in zip(es, es[1:]):
            c = mcnemar_cell(f"η {e0}→{e1}", pick(configs, e1), pick(configs, e0), "smooth_condition")
            rises.append(c)
        if any(c is None for c in rises):
            parts.append(dict(name=f"{m}: smooth-condition rate → 0 as η grows", verdict=NOT_TESTABLE,
                              detail="the summaries lack per-image outcomes: re-run scripts/reproduce"))
            continue
        up = sum(c["kind"] == "for" for c in rises)
        verdict = "contradicted" if lo > 0.05 or up else "supported" if hi <= 0.05 else "not shown"
        parts.append(dict(name=f"{m}: smooth-condition rate → 0 as η grows", verdict=verdict,
                          detail=f"at η = {es[-1]}: {pct(sm['rate'])} (95 % Wilson [{pct(lo)}, {pct(hi)}]; rule: upper bound ≤ 5 %); "
                                 f"significant rises between consecutive η: {up} of {len(rises)}"))
    return parts


def claim_inference_samples(data):
    """Claim 6: S_I ≥ 5 hardly changes robustness; only S_I = 1 hurts."""
    pairs, cells = [], []
    for m, configs in sorted(data.get("inference", {}).items()):
        sis = sorted({c["inference_samples"] for c in configs})
        big = [s for s in sis if s >= 5]
        for eta in etas(configs):
            for lo, hi in zip(big, big[1:]):
                a, b = pick(configs, eta, si=lo), pick(configs, eta, si=hi)
                ha, hb = outcomes(a, "adversarial_correct"), outcomes(b, "adversarial_correct")
                pairs.append(None if ha is None or hb is None else (f"{m} η={eta} S_I {lo}→{hi}", *stats.discordant(hb, ha), a["images"]))
            if 1 in sis and 5 in sis:
                cells.append(mcnemar_cell(f"{m} η={eta}", pick(configs, eta, si=5), pick(configs, eta, si=1), "adversarial_correct"))
    return [equivalence("adversarial accuracy unchanged between adjacent S_I ≥ 5", pairs, f"{len(pairs)} cells (model × η × adjacent S_I ≥ 5)"),
            grid("adversarial accuracy lower at S_I = 1 than at S_I = 5", cells, f"{len(cells)} cells (model × η)")]


def claim_gradient(data):
    """Claim 7: ‖∇m_j′‖ (j′ = argmin_c m_c) and its spread fall as S_I grows; ‖∇m_j′‖·cos α_j′ flat beyond 5."""
    norm_cells, iqr_cells, flat = [], [], []
    for m, configs in sorted(data.get("inference", {}).items()):
        sis = sorted({c["inference_samples"] for c in configs})
        for eta in etas(configs):
            cs = [pick(configs, eta, si=s) for s in sis]
            for a, b in zip(cs, cs[1:]):
                label = f"{m} η={eta} S_I {a['inference_samples']}→{b['inference_samples']}"
                norm_cells.append(median_cell(label, stat(a, "runner_up_grad_norm"), stat(b, "runner_up_grad_norm")))
                qa = [stat(a, "runner_up_grad_norm", q) for q in ("q1", "q3")]
                qb = [stat(b, "runner_up_grad_norm", q) for q in ("q1", "q3")]
                iqr_cells.append(None if None in qa + qb else median_cell(label, qa[1] - qa[0], qb[1] - qb[0]))
            ref = pick(configs, eta, si=5)
            if ref:
                r0 = stat(ref, "runner_up_grad_norm_times_cos_alpha")
                for c in cs:
                    if c["inference_samples"] > 5:
                        v = stat(c, "runner_up_grad_norm_times_cos_alpha")
                        flat.append(None if r0 is None or v is None else abs(v - r0) <= FLAT * abs(r0))
    parts = [grid("median ‖∇m_j′‖ falls from each S_I to the next", norm_cells, f"{len(norm_cells)} cells (model × η × adjacent S_I)"),
             grid("interquartile range of ‖∇m_j′‖ over images falls from each S_I to the next", iqr_cells, f"{len(iqr_cells)} cells")]
    if not flat:
        parts.append(dict(name="‖∇m_j′‖·cos α_j′ flat beyond S_I = 5", verdict="not measured", detail="no S_I > 5 beside S_I = 5"))
    elif any(f is None for f in flat):
        parts.append(dict(name="‖∇m_j′‖·cos α_j′ flat beyond S_I = 5", verdict=NOT_TESTABLE,
                          detail="the summaries lack runner-up statistics: re-run scripts/reproduce"))
    else:
        k = sum(flat)
        parts.append(dict(name="median ‖∇m_j′‖·cos α_j′ flat beyond S_I = 5 (descriptive)",
                          verdict="supported" if k == len(flat) else "not shown",
                          detail=f"within ±{100 * FLAT:.0f} % of the S_I = 5 median in {k} of {len(flat)} cells (model × η × S_I > 5)"))
    return parts


def claim_losses(data):
    """Claim 8: CW strengthens the attack on IM and weakens it on the BNN; margin behaves like CE."""
    parts = []
    for m, cw_stronger in (("im-fmnist", True), ("vmg-fmnist", False)):
        ce, cw = data.get("fgm", {}).get(m, []), data.get("cw", {}).get(m, [])
        cells = []
        for b in (c for c in cw if c["eta"] > 0):
            a = pick(ce, b["eta"], b["attack_samples"], b["inference_samples"])
            if a:     # A = CE, B = CW on the same images and sets: CW stronger ⇔ accuracy under CE higher
                cells.append(mcnemar_cell(f"η={b['eta']}", a, b, "adversarial_correct", claimed_a_higher=cw_stronger))
        sa = sorted({c["attack_samples"] for c in cw})
        parts.append(grid(f"{m}: CW {'stronger' if cw_stronger else 'weaker'} than cross-entropy (S_A = {', '.join(map(str, sa))})",
                          cells, f"{len(cells)} η"))
    pairs = []
    for m in ("im-fmnist", "vmg-fmnist"):
        ce = data.get("fgm", {}).get(m, [])
        for c in data.get("margin", {}).get(m, []):
            a = pick(ce, c["eta"], c["attack_samples"], c["inference_samples"]) if c["eta"] > 0 else None
            if a:
                ha, hb = outcomes(c, "adversarial_correct"), outcomes(a, "adversarial_correct")
                pairs.append(None if ha is None or hb is None else (f"{m} η={c['eta']}", *stats.discordant(ha, hb), c["images"]))
    parts.append(equivalence("margin loss gives the cross-entropy's adversarial accuracy", pairs, f"{len(pairs)} cells (model × η)"))
    return parts


CLAIMS = [claim_attack_samples, claim_variance, claim_deterministic, claim_cos_alpha, claim_conditions,
          claim_inference_samples, claim_gradient, claim_losses]


def evaluate(data):
    """[(claim index, verdict, parts)] for the eight claims of the reference data."""
    out = []
    for i, f in enumerate(CLAIMS):
        parts = f(data)
        out.append((i, combine(parts), parts))
    return out
