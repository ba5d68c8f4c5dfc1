#!/usr/bin/env python3
"""Checks scripts/stats.py on cases with known answers (textbook values, closed forms, symmetry,
and simulated data whose truth is known). Run: python3 scripts/test_stats.py"""
import os, random, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stats

passed = failed = 0


def check(name, cond):
    global passed, failed
    if cond:
        passed += 1; print("ok  ", name)
    else:
        failed += 1; print("FAIL", name)


close = lambda a, b, tol=1e-9: abs(a - b) <= tol
rng = random.Random(1)

# binomial tails: closed forms
check("P(Bin(10, ½) ≥ 10) = 1/1024", close(stats.binom_sf(10, 10), 1 / 1024))
check("P(Bin(10, ½) ≥ 8) = 56/1024", close(stats.binom_sf(8, 10), 56 / 1024))
check("P(Bin(5, 0.3) ≤ 0) = 0.7^5", close(stats.binom_cdf(0, 5, 0.3), 0.7 ** 5))
check("P(Bin(20, 0.2) ≤ 20) = 1", stats.binom_cdf(20, 20, 0.2) == 1.0)
check("tiny tail: P(Bin(54, ½) ≥ 54) = 2^-54", stats.binom_sf(54, 54) == 2.0 ** -54)
check("cdf + sf = 1 (n 37, p 0.37)", close(stats.binom_cdf(12, 37, 0.37) + stats.binom_sf(13, 37, 0.37), 1, 1e-12))

# McNemar exact: b = 10, c = 2 → 2·P(Bin(12, ½) ≤ 2) = 2·79/4096
check("McNemar b=10 c=2: p = 158/4096", close(stats.mcnemar(10, 2), 158 / 4096))
check("McNemar symmetric in b, c", stats.mcnemar(3, 9) == stats.mcnemar(9, 3))
check("McNemar b = c → p = 1", stats.mcnemar(7, 7) == 1.0)
check("McNemar no discordant pairs → p = 1", stats.mcnemar(0, 0) == 1.0)
check("McNemar 6 vs 0 is significant (p = 1/32), 5 vs 0 is not (p = 1/16)",
      close(stats.mcnemar(6, 0), 1 / 32) and close(stats.mcnemar(5, 0), 1 / 16))

# sign test: ties / non-significant cells count against
check("sign test 5 of 5: p = 1/32", close(stats.sign_test(5, 5), 1 / 32))
check("sign test 5 of 6 (one tie): p = 7/64", close(stats.sign_test(5, 6), 7 / 64))
check("sign test 0 of 4: p = 1", stats.sign_test(0, 4) == 1.0)

# Holm: known example p = (0.01, 0.04, 0.03, 0.005) → (0.03, 0.06, 0.06, 0.02)
adj = stats.holm([0.01, 0.04, 0.03, 0.005])
check("Holm adjusted p-values", all(close(a, b) for a, b in zip(adj, [0.03, 0.06, 0.06, 0.02])))

# Clopper–Pearson: k = 0 → upper 1 − (α/2)^(1/n); k = n → lower (α/2)^(1/n); 7 of 10 (table value)
lo, hi = stats.clopper_pearson(0, 10)
check("Clopper–Pearson 0/10 upper = 1 − 0.025^(1/10)", lo == 0 and close(hi, 1 - 0.025 ** 0.1, 1e-9))
lo, hi = stats.clopper_pearson(10, 10)
check("Clopper–Pearson 10/10 lower = 0.025^(1/10)", hi == 1 and close(lo, 0.025 ** 0.1, 1e-9))
lo, hi = stats.clopper_pearson(7, 10)
check("Clopper–Pearson 7/10 = [0.3475, 0.9333]", close(lo, 0.3475, 1e-4) and close(hi, 0.9333, 1e-4))
lo, hi = stats.wilson(8, 10)
check("Wilson 8/10 = [0.4902, 0.9433]", close(lo, 0.4902, 1e-4) and close(hi, 0.9433, 1e-4))

# paired difference: b = c → 0 inside a symmetric interval; all discordant one way → interval > 0
d, (lo, hi) = stats.paired_difference(5, 5, 100)
check("paired difference b = c: 0 in a symmetric interval", d == 0 and close(lo, -hi, 1e-9) and lo < 0 < hi)
d, (lo, hi) = stats.paired_difference(20, 0, 100)
check("paired difference 20 vs 0 of 100: 0.2, interval above 0", close(d, 0.2) and 0 < lo < 0.2 < hi)
d, (lo, hi) = stats.paired_difference(0, 0, 1000)
check("paired difference 0 vs 0 of 1000: ±(1 − 0.0125^(1/1000))", d == 0 and close(hi, 1 - 0.0125 ** 0.001, 1e-9) and close(lo, -hi, 1e-12))
d, (lo, hi) = stats.paired_difference(0, 0, 12)
check("paired difference 0 vs 0 of 12 images is not precise (interval wider than ±3 points)", hi > 0.03)
# coverage on simulated paired data with a known difference (0.04): at least the nominal 95 %
cover = 0
for _ in range(300):
    r = [rng.random() for _ in range(400)]             # each image: A only (6 %), B only (2 %), else concordant
    b, c = sum(x < 0.06 for x in r), sum(0.06 <= x < 0.08 for x in r)
    _, (lo, hi) = stats.paired_difference(b, c, 400)
    cover += lo <= 0.04 <= hi
check(f"paired difference interval covers the truth ({cover}/300)", cover >= 285)

# outcome vectors: hex bits as snn summarize writes them (image i = bit i from the left)
def to_hex(flags):
    s = "".join("1" if f else "0" for f in flags)
    s += "0" * (-len(s) % 4)
    return "".join(f"{int(s[i:i + 4], 2):x}" for i in range(0, len(s), 4))
a = [1, 1, 0, 1, 0, 0, 1, 1, 1]
b = [1, 0, 0, 0, 1, 0, 1, 0, 1]
check("discordant pairs from hex vectors", stats.discordant(to_hex(a), to_hex(b)) == (3, 1))
both = stats.bits(to_hex([1, 1, 1, 1, 0, 0, 0, 0, 0]))
check("discordant pairs within a mask", stats.discordant(to_hex(a), to_hex(b), both) == (2, 0))

# simulated paired data with a known truth: a real 10-point difference on 1000 images is found in
# (nearly) every replicate, no difference gives the nominal rate of false positives
def simulate(delta, n=1000):
    # x ~ B(½); y = x with probability 0.7, else B(q) with 0.7·½ + 0.3·q = ½ + delta: P(y) − P(x) = delta
    q = (0.15 + delta) / 0.3
    x = [rng.random() < 0.5 for _ in range(n)]
    y = [xi if rng.random() < 0.7 else (rng.random() < q) for xi in x]
    return stats.discordant(to_hex(y), to_hex(x))
hits = sum(stats.cell(*simulate(0.10))[0] == "for" for _ in range(40))
check(f"McNemar finds a 10-point paired difference ({hits}/40 replicates)", hits >= 38)
false = sum(stats.cell(*simulate(0.0))[0] != "none" for _ in range(200))
check(f"McNemar false positives under no difference ({false}/200, nominal 10)", false <= 22)
check("cell: direction against the claim", stats.cell(0, 30, claimed_a_higher=True)[0] == "against")

# the verdict rules of scripts/verdicts.py on synthetic grids whose answer is known
import verdicts
def C(kind, p=0.001):
    return dict(kind=kind, p=p)
check("grid: 6 cells significant for → supported", verdicts.grid("x", [C("for")] * 6, "w")["verdict"] == "supported")
check("grid: 6 against → contradicted", verdicts.grid("x", [C("against")] * 6, "w")["verdict"] == "contradicted")
check("grid: 3 for, 3 against → not shown", verdicts.grid("x", [C("for")] * 3 + [C("against")] * 3, "w")["verdict"] == "not shown")
check("grid: 4 for among 20 (16 not shown) → not shown (sign test p = 1/16)",
      verdicts.grid("x", [C("for")] * 4 + [C("none", 0.5)] * 16, "w")["verdict"] == "not shown")
check("grid: 3 cells, all significant after Holm → supported", verdicts.grid("x", [C("for", 0.001)] * 3, "w")["verdict"] == "supported")
check("grid: 3 cells, one not significant after Holm → not shown",
      verdicts.grid("x", [C("for", 0.001), C("for", 0.03), C("for", 0.04)], "w")["verdict"] == "not shown")
check("grid: summaries without outcomes → not testable", verdicts.grid("x", [None, C("for")], "w")["verdict"] == verdicts.NOT_TESTABLE)
check("equivalence: no discordant image of 2000 → supported", verdicts.equivalence("x", [("c", 0, 0, 2000)], "w")["verdict"] == "supported")
check("equivalence: 100 vs 0 of 1000 → contradicted", verdicts.equivalence("x", [("c", 100, 0, 1000)], "w")["verdict"] == "contradicted")
check("equivalence: 0 vs 0 of 50 → not shown (too few images)", verdicts.equivalence("x", [("c", 0, 0, 50)], "w")["verdict"] == "not shown")
# a whole claim from synthetic summaries: accuracy falls by 10 points per step of S_A on 500 images
def summary(eta, sa, correct):
    return dict(eta=eta, attack_samples=sa, inference_samples=10, images=len(correct), outcomes=dict(adversarial_correct=to_hex(correct)))
grid_data = {"fgm": {"m": []}}
for eta in (0.5, 1.0, 1.5):
    base = [rng.random() < 0.8 for _ in range(500)]
    for step, sa in enumerate((1, 5, 10)):
        grid_data["fgm"]["m"].append(summary(eta, sa, [x and (i % 10 >= step) for i, x in enumerate(base)]))
parts = verdicts.claim_attack_samples(grid_data)
check("claim 1 on synthetic summaries with a known fall: FGM supported", parts[0]["verdict"] == "supported")
check("claim 1: parts a run did not measure leave the verdict alone", verdicts.combine(parts) == "supported")
for configs in grid_data["fgm"].values():
    for c in configs:
        c["outcomes"]["adversarial_correct"] = to_hex([1] * 500)
check("claim 1 on synthetic summaries with no change: not shown",
      verdicts.claim_attack_samples(grid_data)[0]["verdict"] == "not shown")

print(f"stats: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
