"""Colonisation: what a cell that has left the vessel does next.

Luzzi et al. (1998, Am J Pathol 153:865) followed single cells in the mouse liver: most extravasate, a few
start dividing at once (micrometastases), very few of those persist into macroscopic tumours, and many
remain as solitary dormant cells. The engine keeps only arrivals that will found a growing lesion; for
those this module draws whether growth starts at once or after dormancy, and when a dormant cell wakes
(conditioned on waking before dying, the wait is exponential with the sum of the wake and death rates).
"""

from __future__ import annotations

import math

from metastasim._jit import kernel
from metastasim.rng.philox import exponential, uniform
from metastasim.rng.streams import ST_COLONISATION_PATH, ST_DORMANCY_DURATION

# How a lesion's founding cell started growing.
PATH_ORIGIN, PATH_DIRECT, PATH_DORMANT = 0, 1, 2


@kernel
def growth_start(P, site: int, t_arrival: float, patient_id: int, key) -> tuple[float, int]:
    """Return (day growth starts, PATH_DIRECT or PATH_DORMANT) for a cell that arrived at `site`."""
    if uniform(P.stream_keys[ST_COLONISATION_PATH], patient_id, key, 0) < P.direct_growth_probability[site]:
        return t_arrival, PATH_DIRECT
    rate = P.dormancy_exit_rate_per_day
    if rate <= 0.0:
        return math.inf, PATH_DORMANT
    return t_arrival + exponential(P.stream_keys[ST_DORMANCY_DURATION], patient_id, key, 0) / rate, PATH_DORMANT
