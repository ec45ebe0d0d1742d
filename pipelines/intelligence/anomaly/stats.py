"""Robust baselines and the tail probabilities the anomaly checks judge counts with, and
prefix sums for O(1) window counts."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median

__all__ = ["Baseline", "binomial_tail", "poisson_cdf", "poisson_tail", "robust_baseline"]

_MAD_SCALE = 1.4826

@dataclass(frozen=True, slots=True)
class Baseline:
    """Median and robust spread of earlier values, and how many there were."""

    median: float
    spread: float
    samples: int

    def z(self, value: float) -> float:
        return (value - self.median) / self.spread


def robust_baseline(values: Sequence[float], *, counts: bool = True, floor: float = 1.0) -> Baseline:
    """Median and ``max(MAD × 1.4826, floor)``; for counts also at least ``√median``.

    Usage:
        >>> robust_baseline([170, 180, 185, 160, 200, 175])
        Baseline(median=177.5, spread=13.3229, samples=6)
    """
    m = median(values)
    spread = max(_MAD_SCALE * median(abs(v - m) for v in values), floor)
    if counts:
        spread = max(spread, math.sqrt(m))
    return Baseline(m, round(spread, 4), len(values))


def poisson_tail(k: int, lam: float) -> float:
    """P(X ≥ k) for X ~ Poisson(lam), summed upward in log space (no cancellation)."""
    if k <= 0:
        return 1.0
    if lam <= 0:
        return 0.0
    if k <= lam:
        return 1.0 - poisson_cdf(k - 1, lam)
    total, i = 0.0, k
    while True:  # terms fall from the first one on, since k > lam
        term = math.exp(-lam + i * math.log(lam) - math.lgamma(i + 1))
        total += term
        if term <= total * 1e-12 or term == 0.0:
            return min(total, 1.0)
        i += 1


def binomial_tail(k: int, n: int, p: float) -> float:
    """P(X ≥ k) for X ~ Binomial(n, p), summed in log space.

    Usage:
        >>> round(binomial_tail(3, 10, 0.1), 4)
        0.0702
    """
    if k <= 0:
        return 1.0
    if k > n or p <= 0:
        return 0.0
    if p >= 1:
        return 1.0
    log_p, log_q = math.log(p), math.log1p(-p)

    def term(i: int) -> float:
        return math.exp(math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1)
                        + i * log_p + (n - i) * log_q)

    if k <= n * p:  # the upper tail holds most of the mass: one minus the lower part
        return max(0.0, 1.0 - sum(term(i) for i in range(k)))
    total = 0.0
    for i in range(k, n + 1):  # terms fall from the first one on, since k > n·p
        t = term(i)
        total += t
        if t <= total * 1e-12:
            break
    return min(total, 1.0)


def poisson_cdf(k: int, lam: float) -> float:
    """P(X ≤ k) for X ~ Poisson(lam), summed in log space."""
    if k < 0:
        return 0.0
    if lam <= 0:
        return 1.0
    return min(1.0, sum(math.exp(-lam + i * math.log(lam) - math.lgamma(i + 1)) for i in range(k + 1)))


def _prefix(values: list[int]) -> list[int]:
    out = [0]
    for v in values:
        out.append(out[-1] + v)
    return out


def _between(prefix: list[int], start: int, end: int) -> int:
    """Sum over hours ``[start, end)`` from prefix sums; hours after the last row are zero."""
    last = len(prefix) - 1
    return prefix[min(max(end, 0), last)] - prefix[min(max(start, 0), last)]
