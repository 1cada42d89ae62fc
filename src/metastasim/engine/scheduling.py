"""Moving a lesion's pending event, and ending a patient's course: shared by the cascade and the clinic.

A lesion's next event is recomputed whenever something changes it (a trait, a seeding, a treatment kill);
the old heap entry is cancelled by a version bump (engine.queue).
"""

from __future__ import annotations

import math

import numpy as np

from metastasim._jit import kernel
from metastasim.anatomy.sites import DEST_REGIONAL, DEST_SENTINEL, PRIMARY
from metastasim.biology.shedding import flush, next_seeding, set_coefficients
from metastasim.biology.traits import N_TRAITS
from metastasim.engine.queue import push
from metastasim.engine.state import (
    ENDED_NOT,
    PHASE_CLEARED,
    PHASE_DORMANT,
    PHASE_GROWING,
    S_END_REASON,
    S_N_LESIONS,
    S_OVERFLOW,
    S_PATIENT_ID,
    S_T_BREACH,
    S_T_END,
    S_T_FIRST_BLOOD,
    S_T_FIRST_LYMPH,
    S_T_INVASION,
)


@kernel
def pid(st) -> np.int64:
    """The patient's id (keys every random draw)."""
    return np.int64(st.scalars[S_PATIENT_ID])


#: `dest_next` of a lesion whose pending seeding day is a lower bound to recompute, not a seeding (defer_seeding).
STALE_SEEDING = -2


@kernel
def schedule(st, P, L: int) -> None:
    """Recompute lesion L's earliest pending event (this is how events are moved or cancelled)."""
    if st.phase[L] == PHASE_CLEARED:
        t = math.inf
    elif st.phase[L] == PHASE_DORMANT:
        t = st.t_start[L]
    else:
        t = min(st.t_clear[L], st.t_shed[L])
        for i in range(N_TRAITS):
            if not (st.traits[L] & (1 << i)):
                t = min(t, st.trait_time[L, i])
        if st.site[L] == PRIMARY and st.scalars[S_T_BREACH] > st.t_flush[L]:
            t = min(t, st.scalars[S_T_BREACH])
    st.t_next[L] = t
    push(st, L, int(st.scalars[S_N_LESIONS]))


@kernel
def sentinel_involved(st) -> bool:
    """Whether the sentinel node holds a growing deposit (a cell lodging there then only joins it)."""
    L = st.node_lesion[0]
    return L >= 0 and st.phase[L] == PHASE_GROWING


@kernel
def refresh_seeding(st, P, L: int, t: float) -> None:
    """Bring lesion L's thresholds up to day t, recompute its coefficients and its next seeding.

    While the sentinel node holds a growing deposit, the primary's seeding to it is thinned away: such a cell
    would only join the deposit (two of every three seedings of a default colorectal patient were these), and
    the primary's other destinations are unaffected because each has its own threshold. `sentinel_changed`
    re-times the primary when the sentinel's state changes.
    """
    flush(st, P, L, t)
    breached = st.scalars[S_T_BREACH] <= t
    set_coefficients(st, P, L, breached)
    if st.site[L] == PRIMARY and sentinel_involved(st):
        st.coefficient[L, DEST_SENTINEL] = 0.0
        if st.node_lesion.shape[0] == 1:  # a one-node basin: the other regional route leads to the same node
            st.coefficient[L, DEST_REGIONAL] = 0.0
    st.t_shed[L], st.dest_next[L] = next_seeding(st, P, L)
    schedule(st, P, L)


@kernel
def leave_node(st, P, L: int, t: float, was_growing: bool) -> None:
    """Lesion L is gone from its regional node at day t: free the node.

    If it was the sentinel's growing deposit, the primary is re-timed: cells bound for the sentinel found lesions
    again.
    """
    node = st.node[L]
    if node >= 0 and st.node_lesion[node] == L:
        st.node_lesion[node] = -1
        if node == 0 and was_growing:
            sentinel_changed(st, P, t)


@kernel
def sentinel_changed(st, P, t: float) -> None:
    """The sentinel node became involved or free at day t: re-time the next seeding of the primary's lesions."""
    for L in range(int(st.scalars[S_N_LESIONS])):
        if st.site[L] == PRIMARY and st.phase[L] == PHASE_GROWING:
            refresh_seeding(st, P, L, t)


@kernel
def defer_seeding(st, P, L: int, t: float) -> None:
    """Lesion L has just lost cells at day t (treatment): mark its pending seeding stale instead of recomputing it.

    Losing cells only slows a metastasis's shedding (its coefficients do not change), so its next seeding is no
    earlier than the one pending. When that day comes, the event loop recomputes it (refresh_seeding) instead
    of seeding. This spares one inversion of the shedding clock per lesion per treatment cycle. The primary,
    whose coefficients change when it breaches the serosa, and a lesion with nothing pending are refreshed now.
    """
    if st.site[L] == PRIMARY or st.t_shed[L] == math.inf:
        refresh_seeding(st, P, L, t)
        return
    st.dest_next[L] = STALE_SEEDING


@kernel
def reset_clinical_lesion(st, L: int) -> None:
    """Clear row L's clinical fields (never treated, never detected, not a subclone, not ended)."""
    st.t_treated[L] = math.inf
    st.t_detected[L] = math.inf
    st.clone_of[L] = -1
    st.clone_resists[L] = -1
    st.end_cause[L] = ENDED_NOT
    st.n_kills[L] = 0
    st.cells_before[L] = 0.0


@kernel
def add_lesion_row(
    st,
    key,
    parent: int,
    site: int,
    node: int,
    route: int,
    path: int,
    t_born: float,
    t_start: float,
    rate: float,
    traits: int,
) -> int:
    """Append a lesion row with nothing yet drawn or pending; return its row, or -1 when the state is full.

    Callers (a new seeding, a resistant subclone split off by treatment) then set what differs.
    """
    n = int(st.scalars[S_N_LESIONS])
    if n >= st.key.shape[0]:
        st.scalars[S_OVERFLOW] += 1
        return -1
    st.key[n] = key
    st.parent[n] = parent
    st.site[n] = site
    st.node[n] = node
    st.route[n] = route
    st.path[n] = path
    st.t_born[n] = t_born
    st.t_start[n] = t_start
    st.t_origin[n] = t_start
    st.rate[n] = rate
    st.inherited[n] = traits
    st.traits[n] = traits
    for i in range(st.trait_time.shape[1]):
        st.trait_time[n, i] = math.inf
    st.t_resistant[n, :] = math.inf
    st.resistance_cells[n, :] = math.inf
    st.t_clear[n] = math.inf
    st.n_seeded[n] = 0
    st.n_seeded_dest[n, :] = 0
    st.t_shed[n] = math.inf
    st.dest_next[n] = -1
    st.version[n] = 0
    reset_clinical_lesion(st, n)
    st.scalars[S_N_LESIONS] = n + 1
    return n


@kernel
def finish(st, t_end: float, reason: int) -> None:
    """End the course at t_end: drop lesions seeded after it."""
    st.scalars[S_T_END] = t_end
    st.scalars[S_END_REASON] = reason
    n = int(st.scalars[S_N_LESIONS])
    while n > 1 and st.t_born[n - 1] > t_end:
        n -= 1
    st.scalars[S_N_LESIONS] = n
    for s in (S_T_INVASION, S_T_BREACH, S_T_FIRST_BLOOD, S_T_FIRST_LYMPH):
        if st.scalars[s] > t_end:
            st.scalars[s] = math.inf
