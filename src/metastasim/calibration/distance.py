"""The distance between a simulated cohort and the published targets it is fitted to.

Each target contributes a z-score: the simulated share minus the published share, divided by the standard
deviation of that difference, sqrt(s_pub^2 + s_sim^2). s_pub is the published interval's half-width / 1.96
(the data's own uncertainty, as validation/targets.py sets it); s_sim = sqrt(p (1 - p) / n) is the binomial
sampling error of a simulated share of n patients, at the published share p. The distance is the root mean
square of the z-scores, so 1 means "one standard deviation off on average", whatever the number of targets.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from metastasim.validation.targets import Z95, Target

#: Smallest standard deviation of a difference (a share of 0 or 1 published without uncertainty).
MIN_SD = 1e-3


def target_sd(target: Target, n: int) -> float:
    """Standard deviation of (simulated - published) for a share of `n` simulated patients."""
    published_sd = (target.high - target.low) / (2 * Z95)
    p = target.published
    sim_sd = math.sqrt(p * (1 - p) / n) if n > 0 else 1.0
    return max(MIN_SD, math.hypot(published_sd, sim_sd))


def distance(statistics: Mapping[str, tuple[float, int]], targets: list[Target]) -> float:
    """Root mean square z-score of the simulated shares {target id: (share, n)} against `targets`.

    A target the cohort could not measure (no diagnosed or no metastatic patient: n = 0 or NaN) counts as
    10 standard deviations off, so such parameter sets are never accepted before any that can be measured.
    """
    total = 0.0
    for t in targets:
        value, n = statistics[t.id]
        z = 10.0 if n <= 0 or math.isnan(value) else (value - t.published) / target_sd(t, n)
        total += z * z
    return math.sqrt(total / len(targets))
