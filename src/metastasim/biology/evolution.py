"""Evolution inside each lesion: traits acquired over time and drug-resistant subclones.

Traits (invasion, motility, circulation survival, colonisation ability, immune evasion) arise as rare
heritable changes: a lineage acquires trait i when the cells it has produced pass a threshold drawn as
Exp(1)/u_i, so a trait's acquisition time is drawn once, when the lesion starts growing, and found in
closed form from the growth law. A clonal sweep is assumed to be fast compared with growth, so the whole
lesion carries the trait from then on. A metastasis inherits its seeding lesion's traits at the moment of
seeding. Resistance to one targeted drug follows Bozic et al. 2013 (eLife 2:e00747): surviving resistant
lineages are founded at the rate u = (point mutation rate) × (resistance mutations) per net new cell.
"""

from __future__ import annotations

import math

from metastasim._jit import kernel
from metastasim.biology.growth import size_after, time_to_size
from metastasim.biology.traits import N_TRAITS
from metastasim.rng.philox import exponential, uniform
from metastasim.rng.streams import ST_RESISTANCE_THRESHOLD, ST_RESISTANT_FOUNDER, ST_TRAIT_THRESHOLD


@kernel
def draw_trait_times(st, P, L: int, patient_id: int) -> None:
    """Draw when lesion L acquires each trait it did not inherit (closed form from its growth law)."""
    for i in range(N_TRAITS):
        if st.inherited[L] & (1 << i):
            st.trait_time[L, i] = st.t_born[L]
            continue
        u = P.trait_rate_per_cell[i]
        if u <= 0.0:
            st.trait_time[L, i] = math.inf
            continue
        threshold = exponential(P.stream_keys[ST_TRAIT_THRESHOLD], patient_id, st.key[L], i) / u
        dt = time_to_size(P.law, st.rate[L], P.capacity_arg, P.exponent_arg, 1.0, 1.0 + threshold)
        st.trait_time[L, i] = st.t_start[L] + dt


@kernel
def draw_resistance_time(st, P, L: int, patient_id: int) -> None:
    """Draw when the first surviving resistant subclone arises in lesion L (unless founded resistant)."""
    if st.t_resistant[L] == -math.inf:
        return
    u = P.resistance_rate_per_cell
    if u <= 0.0:
        st.t_resistant[L] = math.inf
        return
    threshold = exponential(P.stream_keys[ST_RESISTANCE_THRESHOLD], patient_id, st.key[L], 0) / u
    dt = time_to_size(P.law, st.rate[L], P.capacity_arg, P.exponent_arg, 1.0, 1.0 + threshold)
    st.t_resistant[L] = st.t_start[L] + dt


@kernel
def resistant_fraction(st, P, L: int, t: float) -> float:
    """Share of lesion L's cells resistant to the targeted drug at day t.

    The first surviving resistant clone is established at about 1/(1 - d/b) cells and, growing by the same
    law as its lesion, keeps its share; a lesion founded by a resistant cell is entirely resistant.
    """
    if st.t_resistant[L] == -math.inf:
        return 1.0
    if t < st.t_resistant[L]:
        return 0.0
    x = size_after(P.law, st.rate[L], P.capacity_arg, P.exponent_arg, 1.0, st.t_resistant[L] - st.t_start[L])
    return min(1.0, P.resistant_clone_founding_cells / x)


@kernel
def founder_is_resistant(st, P, source: int, t: float, patient_id: int, child_key) -> bool:
    """Whether the single cell that founds a new lesion carries the source's resistance mutation."""
    f = resistant_fraction(st, P, source, t)
    if f <= 0.0:
        return False
    return uniform(P.stream_keys[ST_RESISTANT_FOUNDER], patient_id, child_key, 0) < f
