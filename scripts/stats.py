"""Exact tests for the report's verdicts, in pure Python (no SciPy): binomial tails, McNemar's exact
test, the sign test, Holm's correction, Clopper–Pearson and Wilson intervals, and a paired difference
of two rates on the same images. scripts/test_stats.py checks them on cases with known answers.

Per-image outcomes come from `snn summarize --outcomes` as hex strings whose bits, from the left,
are the images in index order; `discordant(a, b)` counts the images where exactly one is correct.
"""
from math import comb, exp, lgamma, log, sqrt


def binom_pmf(i, n, p):
    if p <= 0:
        return 1.0 if i == 0 else 0.0
    if p >= 1:
        return 1.0 if i == n else 0.0
    return exp(lgamma(n + 1) - lgamma(i + 1) - lgamma(n - i + 1) + i * log(p) + (n - i) * log(1 - p))


def binom_cdf(k, n, p=0.5):
    """P(X ≤ k) for X ~ Bin(n, p); exact integer arithmetic when p = ½."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    if p == 0.5:
        return sum(comb(n, i) for i in range(k + 1)) / 2 ** n
    return min(1.0, sum(binom_pmf(i, n, p) for i in range(k + 1)))


def binom_sf(k, n, p=0.5):
    """P(X ≥ k) for X ~ Bin(n, p), summed over the upper tail (no cancellation for tiny tails)."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    if p == 0.5:
        return sum(comb(n, i) for i in range(k, n + 1)) / 2 ** n
    return min(1.0, sum(binom_pmf(i, n, p) for i in range(k, n + 1)))


def sign_test(k, n):
    """One-sided sign test: P(at least k of n signs go the claimed way) when each goes either way
    with probability ½ (n: the cells that show a direction; ties are left out)."""
    return binom_sf(k, n, 0.5)


def mcnemar(b, c):
    """McNemar's exact two-sided test for paired binary outcomes: b images right under A only, c
    under B only. Conditional on b + c, b ~ Bin(b + c, ½) under H0; p = 2·P(X ≤ min(b, c)), at most 1."""
    n = b + c
    if n == 0:
        return 1.0
    return min(1.0, 2 * binom_cdf(min(b, c), n, 0.5))


def holm(pvalues):
    """Holm–Bonferroni adjusted p-values (valid whatever the dependence between the tests)."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted, running = [0.0] * m, 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def clopper_pearson(k, n, alpha=0.05):
    """Exact (Clopper–Pearson) 1 − alpha interval for a binomial proportion, by bisection."""
    if n == 0:
        return 0.0, 1.0
    def solve(f):       # f increasing in p on [0, 1]; root by bisection
        lo, hi = 0.0, 1.0
        for _ in range(60):
            mid = (lo + hi) / 2
            if f(mid) < 0:
                lo = mid
            else:
                hi = mid
        return (lo + hi) / 2
    lower = 0.0 if k == 0 else solve(lambda p: binom_sf(k, n, p) - alpha / 2)
    upper = 1.0 if k == n else solve(lambda p: alpha / 2 - binom_cdf(k, n, p))
    return lower, upper


def wilson(k, n, z=1.959963984540054):
    if n == 0:
        return 0.0, 1.0
    p = k / n
    d = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / d
    half = z * sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, centre - half), min(1.0, centre + half)


def paired_difference(b, c, n, alpha=0.05):
    """Rate under A minus rate under B on the same n images, (b − c)/n, where b images are right
    under A only and c under B only, with a conservative 1 − alpha interval: each discordant share
    b/n and c/n gets a Clopper–Pearson interval at level 1 − alpha/2 (Bonferroni: both hold at once
    with probability ≥ 1 − alpha), and the difference spans [lo_b − hi_c, hi_b − lo_c]. Unlike an
    interval conditional on b + c, it stays honest when few images are discordant."""
    lb, hb = clopper_pearson(b, n, alpha / 2)
    lc, hc = clopper_pearson(c, n, alpha / 2)
    return (b - c) / n, (lb - hc, hb - lc)


# ------------------------------------------------------------ per-image outcome vectors

def bits(h):
    """A hex outcome string as an int (bit order is irrelevant for the counts below, the same
    length for the same images)."""
    return int(h, 16)


def popcount(x):
    return bin(x).count("1")


def discordant(a, b, mask=None):
    """(images right under a only, under b only), optionally among the images of `mask`."""
    a, b = bits(a), bits(b)
    if mask is not None:
        a &= mask; b &= mask
    return popcount(a & ~b), popcount(b & ~a)


def cell(b, c, claimed_a_higher=True, alpha=0.05):
    """One paired comparison: ("for" | "against" | "none", b, c, p). "for": A significantly better
    than B (McNemar, two-sided, level alpha) when the claim is that A is better; ties and
    non-significant differences are "none"."""
    p = mcnemar(b, c)
    if p < alpha and b != c:
        better_a = b > c
        return ("for" if better_a == claimed_a_higher else "against"), b, c, p
    return "none", b, c, p
