"""Treatments acting on the lesions they reach: cell kill, resistant subclones, removal.

Every treatment is a kill of some lesions at some day. Growth between treatments stays in closed form:
a lesion reduced to x cells continues exactly as a lesion of x cells would, which is done by moving the
day its growth (from one cell) began. Few survivors die out by chance (Poisson extinction).

- chemotherapy: fractional log-kill per cycle, proportional to the lesion's own growth rate (Norton-Simon);
  dormant cells, not cycling, are spared; a lesion whose chemotherapy-resistant subclone has arisen (Goldie and
  Coldman 1979) is split into a sensitive part and a resistant lesion that chemotherapy no longer touches;
- targeted therapy: sensitive cells regress at a fixed net rate; a lesion whose resistant subclone has arisen
  (Bozic et al. 2013) is split into a sensitive part and a resistant lesion that keeps growing;
- immunotherapy: responders' lesions lose a fixed log of cells per cycle;
- radiation: the linear-quadratic surviving fraction of the course on the irradiated lesions;
- surgery: removes the primary with its regional nodes, or a few resectable metastases.
"""

from __future__ import annotations

import math

import numpy as np

from metastasim._jit import kernel
from metastasim.anatomy.sites import BRAIN
from metastasim.biology.evolution import draw_resistance_time, reschedule_resistance, resistant_fraction
from metastasim.biology.growth import operational_time, size_before, specific_rate_at, time_to_size
from metastasim.biology.shedding import flush, init_thresholds, lesion_size
from metastasim.biology.traits import RESIST_CHEMO, RESIST_TARGETED
from metastasim.clinic.burden import is_alive
from metastasim.clinic.codes import LOG_TREATMENT_EFFECT
from metastasim.clinic.log import log
from metastasim.engine.scheduling import (
    add_lesion_row,
    defer_seeding,
    leave_node,
    pid,
    refresh_seeding,
    schedule,
)
from metastasim.engine.state import (
    C_TARGETED_REGRESSION,
    ENDED_TREATMENT,
    PHASE_CLEARED,
    PHASE_GROWING,
    S_DOUBLING_TIME,
    S_N_LESIONS,
)
from metastasim.rng.philox import mix64, uniform
from metastasim.rng.streams import ST_EXTINCTION

#: Below this many expected survivors, extinction is drawn (survivors are Poisson distributed).
EXTINCTION_CELLS = 50.0
#: Salts of a split subclone's lineage key, per drug class (biology.traits.RESIST_*).
CLONE_SALTS = np.array([0x5EED_C10E, 0x5EED_C4E0], np.uint64)


@kernel
def eradicate(st, P, L: int, t: float, cause: int) -> None:
    """Lesion L is gone at day t (killed or removed)."""
    flush(st, P, L, t)
    was_growing = st.phase[L] == PHASE_GROWING
    st.phase[L] = PHASE_CLEARED
    st.t_clear[L] = t
    st.end_cause[L] = cause
    if st.t_treated[L] == math.inf:
        st.t_treated[L] = t
    schedule(st, P, L)
    leave_node(st, P, L, t, was_growing)


@kernel
def set_size(st, P, L: int, t: float, cells: float) -> None:
    """Lesion L has `cells` cells at day t and grows on from there (moves the start of its growth)."""
    flush(st, P, L, t)
    dt = time_to_size(P.law, st.rate[L], P.capacity_arg, P.exponent_arg, 1.0, max(cells, 1.0))
    smaller = t - dt >= st.t_start[L]  # set back along its growth curve: smaller at every later day
    st.t_start[L] = t - dt
    st.t_flush[L] = t
    st.clock_at_flush[L] = operational_time(P.law, st.rate[L], P.capacity_arg, P.exponent_arg, P.alpha, P.e1_origin, dt)
    reschedule_resistance(st, P, L, t)
    if smaller:
        defer_seeding(st, P, L, t)
    else:
        refresh_seeding(st, P, L, t)


@kernel
def kill(st, P, L: int, t: float, ln_kill: float) -> float:
    """Kill a fraction 1 - exp(-ln_kill) of lesion L's cells at day t; return the cells left (0 if gone)."""
    if ln_kill <= 0.0 or not is_alive(st, L, t):
        return lesion_size(st, P, L, t) if is_alive(st, L, t) else 0.0
    x = lesion_size(st, P, L, t)
    left = x * math.exp(-ln_kill)
    st.n_kills[L] += 1
    if st.t_treated[L] == math.inf:
        st.t_treated[L] = t
    if left < EXTINCTION_CELLS:
        u = uniform(P.stream_keys[ST_EXTINCTION], pid(st), st.key[L], st.n_kills[L])
        if u < math.exp(-left):
            eradicate(st, P, L, t, ENDED_TREATMENT)
            return 0.0
        left = max(left, 1.0)
    set_size(st, P, L, t, left)
    return left


@kernel
def split_resistant(st, P, L: int, t: float, drug: int) -> int:
    """Split lesion L's subclone resistant to `drug` off as its own lesion (its row; -1 if none or no room).

    The subclone has the share of cells given by biology.evolution.resistant_fraction; it shares the
    lesion's place and traits, is not subject to immune elimination (it grows inside an established
    tumour) and its cells were already counted in the parent's shedding up to day t. It resists the other
    drug class too if the whole lesion did; otherwise that resistance is drawn anew for it (and, if the draw
    falls before day t, it has arisen by then).
    """
    if st.t_resistant[L, drug] == -math.inf or st.t_resistant[L, drug] > t:
        return -1
    x = lesion_size(st, P, L, t)
    r = max(1.0, resistant_fraction(st, P, L, t, drug) * x)
    dt = time_to_size(P.law, st.rate[L], P.capacity_arg, P.exponent_arg, 1.0, r)
    key = mix64(st.key[L], CLONE_SALTS[drug])
    n = add_lesion_row(st, key, L, st.site[L], -1, st.route[L], st.path[L], t, t - dt, st.rate[L], st.traits[L])
    if n < 0:
        return -1
    st.clone_of[n] = L
    st.clone_resists[n] = drug
    st.t_origin[n] = st.t_resistant[L, drug]  # the subclone's own growth began when its founding mutant arose
    st.phase[n] = PHASE_GROWING
    for i in range(st.trait_time.shape[1]):
        st.trait_time[n, i] = st.trait_time[L, i]
    for other in range(st.t_resistant.shape[1]):
        if other == drug or st.t_resistant[L, other] == -math.inf:
            st.t_resistant[n, other] = -math.inf
        else:
            draw_resistance_time(st, P, n, pid(st), other)
            st.t_resistant[n, other] = max(st.t_resistant[n, other], t)
    st.t_treated[n] = t
    st.t_detected[n] = st.t_detected[L]
    st.cells_before[n] = r
    init_thresholds(st, P, n, pid(st))
    st.t_flush[n] = t
    st.clock_at_flush[n] = operational_time(P.law, st.rate[n], P.capacity_arg, P.exponent_arg, P.alpha, P.e1_origin, dt)
    refresh_seeding(st, P, n, t)
    # The parent keeps its sensitive cells only (the day the subclone arose is now the subclone's t_origin).
    st.t_resistant[L, drug] = math.inf
    set_size(st, P, L, t, max(1.0, x - r))
    return n


@kernel
def chemo_ln_kill(st, P, C, L: int, t: float, factor: float) -> float:
    """Norton-Simon log-kill of one cycle: proportional to the lesion's specific growth rate (none if resistant)."""
    if st.t_resistant[L, RESIST_CHEMO] == -math.inf:
        return 0.0
    x = lesion_size(st, P, L, t)
    g = specific_rate_at(P.law, st.rate[L], P.capacity_arg, P.exponent_arg, x)
    g_ref = math.log(2.0) / st.scalars[S_DOUBLING_TIME]
    k = min(C.chemo_ln_kill * g / g_ref, C.chemo_max_ln_kill) * factor
    if st.site[L] == BRAIN:
        k *= C.brain_penetration
    return k


@kernel
def targeted_ln_kill(st, P, C, L: int, t: float) -> float:
    """Targeted-therapy kill of one cycle on sensitive cells: net regression at the patient's own rate.

    The kill is sized so that the cells left regrow, by the lesion's own law, to exactly x·exp(-rate·cycle)
    by the next cycle: sensitive cells shrink at the net rate whatever their growth speed. A lesion of
    resistant cells (a split subclone, or founded resistant) is not touched.
    """
    if st.t_resistant[L, RESIST_TARGETED] == -math.inf:
        return 0.0
    x = lesion_size(st, P, L, t)
    target = x * math.exp(-st.clinic[C_TARGETED_REGRESSION] * C.cycle_days)
    start = size_before(P.law, st.rate[L], P.capacity_arg, P.exponent_arg, target, C.cycle_days)
    if start <= 0.0:
        # Fewer cells than the smallest double would regrow to the target (a Gompertz lesion growing several
        # e-folds a day, from a doubling time drawn in the far tail): the kill leaves no cell.
        return math.inf
    return math.log(x / start) if start < x else 0.0


@kernel
def begin_course(st, P, t: float) -> None:
    """Remember every living lesion's size at the start of a course (for the effect rows of the log)."""
    for L in range(int(st.scalars[S_N_LESIONS])):
        st.cells_before[L] = lesion_size(st, P, L, t) if is_alive(st, L, t) else 0.0


@kernel
def log_course_effect(st, P, C, t: float, treatment: int) -> None:
    """Log each lesion's cells before and after a course (lesions of at least 0.2 mm at its start)."""
    for L in range(int(st.scalars[S_N_LESIONS])):
        before = st.cells_before[L]
        if before < C.micro_cells or st.t_treated[L] > t:
            continue
        after = lesion_size(st, P, L, t) if is_alive(st, L, t) else 0.0
        log(st, t, LOG_TREATMENT_EFFECT, treatment, L, before, after)
        st.cells_before[L] = 0.0
