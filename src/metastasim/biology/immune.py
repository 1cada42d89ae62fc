"""Immune surveillance: small lesions can be eliminated until they grow past an escape size.

A new lesion faces a constant elimination hazard h while it is below ``immune.escape_cells``; it escapes
with probability exp(-h·T_escape), where T_escape is its time to grow to that size, so fast-growing
lesions escape more often. Immune evasion lowers h by ``evolution.immune_evasion_strength``. The time of
elimination is drawn once, when the lesion starts growing.
"""

from __future__ import annotations

import math

from metastasim._jit import kernel
from metastasim.biology.growth import time_to_size
from metastasim.biology.traits import IMMUNE_EVASION_BIT
from metastasim.rng.philox import exponential
from metastasim.rng.streams import ST_IMMUNE_CLEARANCE


@kernel
def clearance_time(st, P, L: int, patient_id: int) -> float:
    """Day lesion L is eliminated by the immune system, or infinity if it escapes."""
    h = P.immune_clearance_rate_per_day
    if st.inherited[L] & IMMUNE_EVASION_BIT:
        h *= 1.0 - P.immune_evasion_strength
    if h <= 0.0:
        return math.inf
    t_escape = time_to_size(P.law, st.rate[L], P.capacity_arg, P.exponent_arg, 1.0, P.immune_escape_cells)
    wait = exponential(P.stream_keys[ST_IMMUNE_CLEARANCE], patient_id, st.key[L], 0) / h
    return st.t_start[L] + wait if wait < t_escape else math.inf
