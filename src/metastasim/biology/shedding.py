"""Intravasation and seeding: each lesion sheds cells at a rate m·x^α (Iwata et al. 2000).

Cells go into blood, lymph and, once the serosa is breached, the body cavity.

Only cells that will found a growing lesion are simulated one by one; all others (the vast majority die
in circulation, fail to extravasate, or stay dormant until they die) are thinned away analytically. The
thinned process to each destination is Poisson with rate c_d·x(t)^α, and all destinations of a lesion
share the operational time I(t) = ∫ x^α dt, so each destination keeps a unit-exponential threshold
``remaining[d]`` that is worked down by c_d·ΔI; the next seeding is the first threshold to run out, found
by inverting I(t) in closed form. Traits change c_d; the thresholds carry over (memorylessness).
"""

from __future__ import annotations

import math

import numpy as np

from metastasim._jit import kernel
from metastasim.anatomy.sites import DEST_COELOMIC, N_DEST, PRIMARY
from metastasim.biology.growth import operational_time, operational_time_inverse, shed_time, size_after
from metastasim.biology.traits import CIRC_SURVIVAL_BIT, COLONISATION_BIT, INVASION_BIT, MOTILITY_BIT
from metastasim.rng.philox import exponential
from metastasim.rng.streams import ST_DESTINATION_THRESHOLD, ST_FIRST_ENTRY


@kernel
def lesion_size(st, P, L: int, t: float) -> float:
    """Cells in lesion L at day t (1 cell before it starts growing)."""
    return size_after(P.law, st.rate[L], P.capacity_arg, P.exponent_arg, 1.0, t - st.t_start[L])


@kernel
def trait_factor(P, traits: int) -> float:
    """Multiplier of all seeding coefficients from a lesion's acquired traits."""
    f = 1.0
    if traits & MOTILITY_BIT:
        f *= P.motility_factor
    if traits & CIRC_SURVIVAL_BIT:
        f *= P.circulation_survival_factor
    if traits & COLONISATION_BIT:
        f *= P.colonisation_factor
    return f


@kernel
def set_coefficients(st, P, L: int, breached: bool) -> None:
    """Recompute lesion L's seeding coefficients from its class, traits and (for the primary) invasion."""
    k = st.site[L]
    if k == PRIMARY and not (st.traits[L] & INVASION_BIT):
        for d in range(N_DEST):
            st.coefficient[L, d] = 0.0
        return
    f = trait_factor(P, st.traits[L])
    for d in range(N_DEST):
        st.coefficient[L, d] = P.base_coefficient[k, d] * f
    if k == PRIMARY and not breached:
        st.coefficient[L, DEST_COELOMIC] = 0.0


@kernel
def init_thresholds(st, P, L: int, patient_id: int) -> None:
    """Draw a fresh unit-exponential threshold for every destination of a lesion that starts growing."""
    for d in range(N_DEST):
        st.remaining[L, d] = exponential(P.stream_keys[ST_DESTINATION_THRESHOLD], patient_id, st.key[L], d)


@kernel
def flush(st, P, L: int, t: float) -> None:
    """Work every threshold of lesion L down by the shedding that happened since its last flush."""
    if t <= st.t_flush[L]:
        return
    clock = operational_time(P.law, st.rate[L], P.capacity_arg, P.exponent_arg, P.alpha, P.e1_origin, t - st.t_start[L])
    d_op = clock - st.clock_at_flush[L]
    for d in range(N_DEST):
        st.remaining[L, d] -= st.coefficient[L, d] * d_op
    st.t_flush[L] = t
    st.clock_at_flush[L] = clock


@kernel
def next_seeding(st, P, L: int) -> tuple[float, int]:
    """Return (day, destination) of lesion L's next seeding, from its thresholds and coefficients."""
    best = math.inf
    dest = -1
    for d in range(N_DEST):
        c = st.coefficient[L, d]
        if c > 0.0:
            need = max(st.remaining[L, d], 0.0) / c
            if need < best:
                best = need
                dest = d
    if dest < 0:
        return math.inf, -1
    dt = operational_time_inverse(
        P.law, st.rate[L], P.capacity_arg, P.exponent_arg, P.alpha, P.e1_origin, st.clock_at_flush[L] + best
    )
    return max(st.t_start[L] + dt, st.t_flush[L]), dest


@kernel
def redraw_threshold(st, P, L: int, d: int, patient_id: int) -> None:
    """After a seeding to destination d, draw that destination's next threshold.

    The counter counts seedings to d only, so other destinations' draws never shift this one's.
    """
    counter = N_DEST * st.n_seeded_dest[L, d] + N_DEST + d
    st.remaining[L, d] = exponential(P.stream_keys[ST_DESTINATION_THRESHOLD], patient_id, st.key[L], counter)


@kernel
def first_entry_time(
    P, rate: float, t_from: float, route_rate: float, factor: float, patient_id: int, which: int
) -> float:
    """Day the first cell (of any fate) enters a route after the primary became invasive at t_from."""
    if route_rate <= 0.0:
        return math.inf
    target = exponential(P.stream_keys[ST_FIRST_ENTRY], patient_id, np.uint64(1), which) / (route_rate * factor)
    x0 = size_after(P.law, rate, P.capacity_arg, P.exponent_arg, 1.0, t_from)
    return t_from + shed_time(P.law, rate, P.capacity_arg, P.exponent_arg, x0, P.alpha, target)
