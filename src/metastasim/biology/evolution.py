"""Evolution inside each lesion: traits acquired over time and drug-resistant subclones.

Traits (invasion, motility, circulation survival, colonisation ability, immune evasion) arise as rare
heritable changes: a lineage acquires trait i when the cells it has produced pass a threshold drawn as
Exp(1)/u_i, so a trait's acquisition time is drawn once, when the lesion starts growing, and found in
closed form from the growth law. A clonal sweep is assumed to be fast compared with growth, so the whole
lesion carries the trait from then on. A metastasis inherits its seeding lesion's traits at the moment of
seeding. Resistance to one targeted drug follows Bozic et al. 2013 (eLife 2:e00747): surviving resistant
lineages are founded at the rate u = (point mutation rate) × (resistance mutations) per net new cell.
Resistance to chemotherapy follows Goldie and Coldman 1979 (Cancer Treat Rep 63:1727): resistant cells arise
at a constant rate per new cell, so large tumours almost surely hold some before treatment and
micrometastases mostly do not; chemotherapy then kills the sensitive cells and spares the resistant ones.
"""

from __future__ import annotations

import math

from metastasim._jit import kernel
from metastasim.biology.growth import time_to_size
from metastasim.biology.traits import N_RESISTANCES, N_TRAITS
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
def draw_resistance_time(st, P, L: int, patient_id: int, drug: int) -> None:
    """Draw when the first surviving subclone resistant to `drug` arises in lesion L (unless founded resistant).

    As for traits, the lesion must first produce Exp(1)/u new cells; the day it reaches 1 + that many cells on
    its growth curve is the day, and that size is kept, so the subclone's share of the lesion stays known after
    treatment moves the curve (biology.evolution.resistant_fraction).
    """
    if st.t_resistant[L, drug] == -math.inf:
        return
    u = P.resistance_rate_per_cell[drug]
    if u <= 0.0:
        st.t_resistant[L, drug] = math.inf
        st.resistance_cells[L, drug] = math.inf
        return
    cells = 1.0 + exponential(P.stream_keys[ST_RESISTANCE_THRESHOLD], patient_id, st.key[L], drug) / u
    st.resistance_cells[L, drug] = cells
    dt = time_to_size(P.law, st.rate[L], P.capacity_arg, P.exponent_arg, 1.0, cells)
    st.t_resistant[L, drug] = st.t_start[L] + dt


@kernel
def draw_resistance_times(st, P, L: int, patient_id: int) -> None:
    """Draw the arising of a resistant subclone for every drug class (a lesion starting to grow)."""
    for drug in range(N_RESISTANCES):
        draw_resistance_time(st, P, L, patient_id, drug)


@kernel
def reschedule_resistance(st, P, L: int, t: float) -> None:
    """Lesion L's growth curve was moved at day t (treatment): resistance not yet arisen arises at the same size.

    A kill removes cells, not the need for further divisions, so the subclone still appears when the lesion
    has grown back to the size drawn for it.
    """
    for drug in range(N_RESISTANCES):
        if st.t_resistant[L, drug] > t and st.t_resistant[L, drug] < math.inf:
            dt = time_to_size(P.law, st.rate[L], P.capacity_arg, P.exponent_arg, 1.0, st.resistance_cells[L, drug])
            st.t_resistant[L, drug] = max(t, st.t_start[L] + dt)


@kernel
def resistant_fraction(st, P, L: int, t: float, drug: int) -> float:
    """Share of lesion L's cells resistant to `drug` at day t.

    The first surviving resistant clone is established at about 1/(1 - d/b) cells when the lesion has
    resistance_cells cells and, growing by the same law as its lesion, keeps that share, also through kills
    that spare it no more than the rest (another drug, radiation); a lesion founded by a resistant cell is
    entirely resistant.
    """
    if st.t_resistant[L, drug] == -math.inf:
        return 1.0
    if t < st.t_resistant[L, drug]:
        return 0.0
    return min(1.0, P.resistant_clone_founding_cells / st.resistance_cells[L, drug])


@kernel
def inherit_resistance(st, P, source: int, n: int, t: float, patient_id: int) -> None:
    """New lesion n, seeded by `source` at day t, is founded by a resistant cell with the source's share.

    Founder draws are keyed by the new lesion's key and the drug class (class 0, targeted, as before there
    were two classes).
    """
    for drug in range(N_RESISTANCES):
        f = resistant_fraction(st, P, source, t, drug)
        if f > 0.0 and uniform(P.stream_keys[ST_RESISTANT_FOUNDER], patient_id, st.key[n], drug) < f:
            st.t_resistant[n, drug] = -math.inf
