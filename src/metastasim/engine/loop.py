"""The event loop of one patient: the order in which the cascade happens, written down once.

Every state change is an event with a time drawn when its state was entered; between events, growth is
solved in closed form. Each lesion holds one pending time, ``t_next``: the earliest of

1. waking, for a dormant cell (colonisation);
2. immune elimination (immune);
3. acquiring its next trait, and for the primary the serosal breach (evolution, invasion);
4. its next seeding (shedding → circulation → extravasation → colonisation, thinned to the cells that
   will found a growing lesion).

The loop takes the earliest pending time over all lesions, or the yearly census if that comes first
(census: burden, circulating tumour cells, the lethal-burden check), and applies it. Ties go to the census,
then to the lesion seeded first. An event is cancelled or moved by changing that lesion's time, and the
whole state is arrays, so it can be saved at any day and continued (engine.state).
"""

from __future__ import annotations

import math
from typing import Any

import numba as nb
import numpy as np

from metastasim._jit import kernel
from metastasim.anatomy.sites import (
    DEST_DISTANT_NODES,
    DEST_REGIONAL,
    DEST_SENTINEL,
    DISTANT_NODES,
    N_BLOOD_DEST,
    PRIMARY,
    REGIONAL_NODES,
    ROUTE_LYMPHATIC,
    ROUTE_ORIGIN,
    ROUTE_TRANSCOELOMIC,
)
from metastasim.biology.circulation import choose_route, ctc_mean_per_7_5ml
from metastasim.biology.colonisation import PATH_DORMANT, PATH_ORIGIN, growth_start
from metastasim.biology.evolution import draw_resistance_times, draw_trait_times, inherit_resistance
from metastasim.biology.growth import rate_for_doubling
from metastasim.biology.immune import clearance_time
from metastasim.biology.invasion import breach_time
from metastasim.biology.lymph import choose_node
from metastasim.biology.shedding import (
    first_entry_time,
    flush,
    init_thresholds,
    lesion_size,
    redraw_threshold,
)
from metastasim.biology.traits import INVASION, INVASION_BIT, MOTILITY_BIT, N_TRAITS
from metastasim.clinic.care import health_check, is_over, next_clinic_event, process_clinic_event, start_clinic
from metastasim.clinic.clinic_params import ClinicParams, clinic_reference
from metastasim.engine.kernel_params import KernelParams, params_reference
from metastasim.engine.queue import clear, peek
from metastasim.engine.scheduling import (
    STALE_SEEDING,
    add_lesion_row,
    finish,
    leave_node,
    refresh_seeding,
    reset_clinical_lesion,
    schedule,
    sentinel_changed,
)
from metastasim.engine.scheduling import pid as patient_of
from metastasim.engine.state import (
    END_HORIZON,
    END_RUNNING,
    ENDED_IMMUNE,
    PHASE_CLEARED,
    PHASE_DORMANT,
    PHASE_GROWING,
    S_ABSORBED,
    S_CENSUS_DONE,
    S_DEPTH_PER_RADIUS,
    S_DORMANT_ARRIVALS,
    S_DOUBLING_TIME,
    S_END_REASON,
    S_GROWTH_RATE,
    S_N_LESIONS,
    S_PATIENT_ID,
    S_T_BREACH,
    S_T_CHECK,
    S_T_END,
    S_T_FIRST_BLOOD,
    S_T_FIRST_LYMPH,
    S_T_INVASION,
    S_T_LAST_CHECK,
    S_T_LAST_CLINICAL_EVENT,
    S_T_NOW,
    PatientState,
    state_reference,
)
from metastasim.rng.philox import mix64, poisson, standard_normal
from metastasim.rng.streams import ST_CTC_COUNT, ST_DOUBLING_TIME, ST_INVASION_DEPTH
from metastasim.units import DAYS_PER_YEAR

ROOT_KEY = np.uint64(1)
# The lethal-burden check runs every quarter while the burden is far from lethal, and up to weekly near it.
BURDEN_CHECK_MAX_DAYS = DAYS_PER_YEAR / 4
BURDEN_CHECK_MIN_DAYS = 7.0


@kernel
def _start_growth(st, P, L: int, t: float) -> None:
    """A lesion starts growing: draw the times of everything that will happen to it."""
    pid = patient_of(st)
    st.phase[L] = PHASE_GROWING
    st.t_flush[L] = t
    st.clock_at_flush[L] = 0.0
    draw_trait_times(st, P, L, pid)
    draw_resistance_times(st, P, L, pid)
    st.t_clear[L] = clearance_time(st, P, L, pid) if st.site[L] != PRIMARY else math.inf
    init_thresholds(st, P, L, pid)
    refresh_seeding(st, P, L, t)


@kernel
def start_patient(st, P, C, patient_id: int) -> None:
    """Reset the state to one malignant cell at day 0 and draw the patient's own parameters."""
    n_old = int(st.scalars[S_N_LESIONS])
    for L in range(n_old):
        reset_clinical_lesion(st, L)
        st.trait_time[L, :] = math.inf
        st.t_resistant[L, :] = math.inf
        st.resistance_cells[L, :] = math.inf
        st.t_clear[L] = math.inf
        st.n_seeded[L] = 0
        st.n_seeded_dest[L, :] = 0
        st.traits[L] = 0
    st.scalars[:] = 0.0
    st.scalars[S_PATIENT_ID] = patient_id
    clear(st)
    st.node_lesion[:] = -1
    st.census_total_cells[:] = 0.0
    st.census_primary_cells[:] = 0.0
    st.census_ctc[:] = 0
    st.census_ctc_mean[:] = 0.0
    pid = np.int64(patient_id)
    z = standard_normal(P.stream_keys[ST_DOUBLING_TIME], pid, ROOT_KEY, 0)
    doubling = P.doubling_time_days_median * math.exp(P.doubling_time_log_sd * z)
    z = standard_normal(P.stream_keys[ST_INVASION_DEPTH], pid, ROOT_KEY, 0)
    st.scalars[S_DEPTH_PER_RADIUS] = P.depth_per_radius_median * math.exp(P.depth_per_radius_log_sd * z)
    st.scalars[S_DOUBLING_TIME] = doubling
    rate = rate_for_doubling(P.law, doubling, P.reference_cells, P.capacity_arg, P.exponent_arg)
    st.scalars[S_GROWTH_RATE] = rate
    for s in (S_T_INVASION, S_T_BREACH, S_T_FIRST_BLOOD, S_T_FIRST_LYMPH, S_T_END):
        st.scalars[s] = math.inf
    st.scalars[S_END_REASON] = END_RUNNING
    L = 0
    st.key[L] = ROOT_KEY
    st.parent[L] = -1
    st.site[L] = PRIMARY
    st.node[L] = -1
    st.route[L] = ROUTE_ORIGIN
    st.path[L] = PATH_ORIGIN
    st.t_born[L] = 0.0
    st.t_start[L] = 0.0
    st.rate[L] = rate
    st.inherited[L] = 0
    st.traits[L] = 0
    st.version[L] = 0
    st.scalars[S_N_LESIONS] = 1
    st.scalars[S_T_CHECK] = BURDEN_CHECK_MAX_DAYS
    st.t_origin[L] = 0.0
    reset_clinical_lesion(st, L)
    start_clinic(st, P, C)
    _start_growth(st, P, L, 0.0)


@kernel
def _on_invasion(st, P, t: float) -> None:
    """The primary breaks through its basement membrane: lymph and blood routes open."""
    pid = patient_of(st)
    rate = st.rate[0]
    st.scalars[S_T_INVASION] = t
    st.scalars[S_T_BREACH] = breach_time(P, rate, t, st.scalars[S_DEPTH_PER_RADIUS])
    factor = P.motility_factor if st.traits[0] & MOTILITY_BIT else 1.0
    st.scalars[S_T_FIRST_BLOOD] = first_entry_time(P, rate, t, P.blood_rate, factor, pid, 0)
    st.scalars[S_T_FIRST_LYMPH] = first_entry_time(P, rate, t, P.lymph_rate, factor, pid, 1)


@kernel
def _new_lesion(st, P, source: int, dest: int, t: float) -> None:
    """A cell from `source` arrives at `dest` and will found a growing lesion: add it."""
    pid = patient_of(st)
    # The child's key depends on its parent, its destination and how many cells went there before it,
    # so a change at another destination never changes this lesion's draws.
    child_key = mix64(
        st.key[source], (np.uint64(dest) << np.uint64(32)) + np.uint64(st.n_seeded_dest[source, dest]) + np.uint64(1)
    )
    node = -1
    if dest < N_BLOOD_DEST:
        site = dest
        route = choose_route(P, st.site[source], dest, pid, child_key)
    elif dest in (DEST_SENTINEL, DEST_REGIONAL):
        site = REGIONAL_NODES
        route = ROUTE_LYMPHATIC
        node = choose_node(P, dest, st.node[source], pid, child_key)
        occupant = st.node_lesion[node]
        if occupant >= 0 and st.phase[occupant] == PHASE_GROWING:
            st.scalars[S_ABSORBED] += 1  # joins the growing deposit already in that node
            return
    elif dest == DEST_DISTANT_NODES:
        site = DISTANT_NODES
        route = ROUTE_LYMPHATIC
    else:
        site = P.coelomic_site
        route = ROUTE_TRANSCOELOMIC
    t_start, path = growth_start(P, site, t, pid, child_key)
    rate = st.scalars[S_GROWTH_RATE] * P.site_rate_factor[site]
    traits = st.traits[source] | INVASION_BIT
    n = add_lesion_row(st, child_key, source, site, node, route, path, t, t_start, rate, traits)
    if n < 0:
        return
    inherit_resistance(st, P, source, n, t, pid)
    if node >= 0:
        st.node_lesion[node] = n
    if path == PATH_DORMANT:
        st.phase[n] = PHASE_DORMANT
        st.scalars[S_DORMANT_ARRIVALS] += 1
        schedule(st, P, n)
    else:
        _start_growth(st, P, n, t)
        if node == 0:
            sentinel_changed(st, P, t)


@kernel
def _process(st, P, L: int, t: float) -> None:
    """Apply lesion L's pending event at day t (see the module docstring for the order)."""
    if st.phase[L] == PHASE_DORMANT:
        _start_growth(st, P, L, t)
        if st.node[L] == 0 and st.node_lesion[0] == L:
            sentinel_changed(st, P, t)
        return
    if t >= st.t_clear[L]:
        flush(st, P, L, t)
        st.phase[L] = PHASE_CLEARED
        st.end_cause[L] = ENDED_IMMUNE
        leave_node(st, P, L, t, True)
        schedule(st, P, L)
        return
    for i in range(N_TRAITS):
        if not (st.traits[L] & (1 << i)) and st.trait_time[L, i] <= t:
            flush(st, P, L, t)
            st.traits[L] |= 1 << i
            if L == 0 and i == INVASION:
                _on_invasion(st, P, t)
            refresh_seeding(st, P, L, t)
            return
    if L == 0 and st.scalars[S_T_BREACH] <= t and st.scalars[S_T_BREACH] > st.t_flush[L]:
        refresh_seeding(st, P, L, t)
        return
    dest = int(st.dest_next[L])
    if dest == STALE_SEEDING:  # the lesion lost cells since this day was computed: recompute, do not seed
        refresh_seeding(st, P, L, t)
        return
    flush(st, P, L, t)
    pid = patient_of(st)
    _new_lesion(st, P, L, dest, t)
    redraw_threshold(st, P, L, dest, pid)
    st.n_seeded[L] += 1
    st.n_seeded_dest[L, dest] += 1
    refresh_seeding(st, P, L, t)


@kernel
def burden(st, P, t: float) -> tuple[float, float]:
    """Total and primary tumour cells at day t (lesions growing at t and not yet eliminated)."""
    total = 0.0
    primary = 0.0
    for L in range(int(st.scalars[S_N_LESIONS])):
        if st.t_start[L] <= t < st.t_clear[L] and st.t_born[L] <= t:
            x = lesion_size(st, P, L, t)
            total += x
            if L == 0:
                primary = x
    return total, primary


@kernel
def _blood_entry_rate(st, P, t: float) -> float:
    """Cells entering the blood per day at day t, from the invasive primary and non-nodal metastases."""
    rate = 0.0
    for L in range(int(st.scalars[S_N_LESIONS])):
        if st.phase[L] != PHASE_GROWING or st.site[L] == REGIONAL_NODES or st.site[L] == DISTANT_NODES:
            continue
        if L == 0 and not (st.traits[0] & INVASION_BIT):
            continue
        factor = P.motility_factor if st.traits[L] & MOTILITY_BIT else 1.0
        rate += P.blood_rate * factor * lesion_size(st, P, L, t) ** P.alpha
    return rate


@kernel
def _check(st, P, C, t: float) -> None:
    """Health check at day t (clinic.care): death by burden or organ failure, symptoms; book the next one."""
    interval = health_check(st, P, C, t, BURDEN_CHECK_MIN_DAYS, BURDEN_CHECK_MAX_DAYS)
    st.scalars[S_T_LAST_CHECK] = t
    st.scalars[S_T_CHECK] = t + interval


@kernel
def _census(st, P, k: int, t: float) -> None:
    """Yearly census k at day t: burden and circulating tumour cells."""
    total, primary = burden(st, P, t)
    mean = ctc_mean_per_7_5ml(_blood_entry_rate(st, P, t), P)
    st.census_total_cells[k] = total
    st.census_primary_cells[k] = primary
    st.census_ctc_mean[k] = mean
    st.census_ctc[k] = poisson(P.stream_keys[ST_CTC_COUNT], patient_of(st), ROOT_KEY, k, mean)
    st.scalars[S_CENSUS_DONE] = k + 1


@kernel
def advance(st, P, C, t_stop: float, horizon_days: float) -> None:
    """Run the patient's events up to day `t_stop` (at most the horizon); resumable from a saved state.

    Order at equal times: health check, census, clinical event, lesion event.
    """
    if is_over(st):
        return
    t_stop = min(t_stop, horizon_days)
    n_census = int(horizon_days / DAYS_PER_YEAR + 1e-9)
    while True:
        best, bi = peek(st)
        t_clinic, kind = next_clinic_event(st)
        t_next = min(best, t_clinic)
        t_check = st.scalars[S_T_CHECK]
        k = int(st.scalars[S_CENSUS_DONE])
        t_census = (k + 1) * DAYS_PER_YEAR if k < n_census else math.inf
        # A check after a pending census waits for it: health checks come every few weeks, and a run of them
        # must not carry the patient past the census day (or into death) before the census is taken.
        if t_check <= t_next and t_check <= t_census and t_check <= t_stop:
            st.scalars[S_T_NOW] = t_check
            _check(st, P, C, t_check)
            if is_over(st):
                return
            continue
        if t_census <= t_next and t_census <= t_stop:
            _census(st, P, k, t_census)
            continue
        if t_next > t_stop:
            break
        st.scalars[S_T_NOW] = t_next
        if t_clinic <= best:
            process_clinic_event(st, P, C, kind, t_clinic)
            st.scalars[S_T_LAST_CLINICAL_EVENT] = t_clinic
            if is_over(st):
                return
        else:
            _process(st, P, bi, best)
    st.scalars[S_T_NOW] = t_stop
    if t_stop >= horizon_days:
        finish(st, horizon_days, END_HORIZON)


# Entry points from Python. Kernels run without numba's reference counting, so a by-reference state
# (metastasim.by_reference) enters them through a compiled function with it on, which holds the reference.
@nb.njit(cache=True)
def _start_from_python(st, P, C, patient_id: int) -> None:
    start_patient(st, P, C, patient_id)


@nb.njit(cache=True)
def _advance_from_python(st, P, C, t_stop: float, horizon_days: float) -> None:
    advance(st, P, C, t_stop, horizon_days)


def handles(state: PatientState, P: KernelParams, C: ClinicParams) -> tuple[Any, Any, Any]:
    """The by-reference handles of a state and its parameters, for `start_patient_state` and `advance_state`.

    Building them costs about a millisecond (the type of every field is looked up), so a caller that advances
    one patient many times builds them once; they share the arrays, so the state changes in place.
    """
    return state_reference(state), params_reference(P), clinic_reference(C)


def start_patient_state(refs: tuple[Any, Any, Any], patient_id: int) -> None:
    """`start_patient` called from Python, on the state and parameters behind `refs` (see `handles`)."""
    _start_from_python(*refs, patient_id)


def advance_state(refs: tuple[Any, Any, Any], t_stop: float, horizon_days: float) -> None:
    """`advance` called from Python, on the state and parameters behind `refs` (see `handles`)."""
    _advance_from_python(*refs, float(t_stop), float(horizon_days))


__all__ = ["advance", "advance_state", "burden", "handles", "start_patient", "start_patient_state"]
