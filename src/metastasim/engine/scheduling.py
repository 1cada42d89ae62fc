"""Moving a lesion's pending event, and ending a patient's course: shared by the cascade and the clinic.

A lesion's next event is recomputed whenever something changes it (a trait, a seeding, a treatment kill);
the old heap entry is cancelled by a version bump (engine.queue).
"""

from __future__ import annotations

import math

import numpy as np

from metastasim._jit import kernel
from metastasim.anatomy.sites import PRIMARY
from metastasim.biology.shedding import flush, next_seeding, set_coefficients
from metastasim.biology.traits import N_TRAITS
from metastasim.engine.queue import push
from metastasim.engine.state import (
    PHASE_CLEARED,
    PHASE_DORMANT,
    S_END_REASON,
    S_N_LESIONS,
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
def refresh_seeding(st, P, L: int, t: float) -> None:
    """Bring lesion L's thresholds up to day t, recompute its coefficients and its next seeding."""
    flush(st, P, L, t)
    breached = st.scalars[S_T_BREACH] <= t
    set_coefficients(st, P, L, breached)
    st.t_shed[L], st.dest_next[L] = next_seeding(st, P, L)
    schedule(st, P, L)


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
