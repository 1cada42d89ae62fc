"""Health checks: burden by site, death by burden or organ failure, and new symptoms.

Checks are adaptive: quarterly far from every limit and threshold, up to weekly near one.
"""

from __future__ import annotations

import math

import numpy as np

from metastasim._jit import kernel
from metastasim.clinic.burden import crossing_day, masked, update_site_cells
from metastasim.clinic.codes import (
    CARE_SURVEILLANCE,
    CARE_UNDIAGNOSED,
    CAUSE_BURDEN,
    CE_VISIT,
    LOG_FRACTURE,
    LOG_ORGAN_FAILURE,
    LOG_SYMPTOM,
    N_SYMPTOMS,
    ROUTE_SYMPTOMS,
    SYM_FRACTURE,
    TOTAL,
)
from metastasim.clinic.death import die
from metastasim.clinic.log import log
from metastasim.engine.scheduling import pid
from metastasim.engine.state import (
    C_CARE,
    C_N_FRACTURES,
    C_T_FIRST_SYMPTOM,
    C_VISIT_N,
    C_VISIT_REASON,
    S_T_LAST_CHECK,
    S_T_LAST_CLINICAL_EVENT,
)
from metastasim.rng.philox import standard_normal
from metastasim.rng.streams import (
    ST_VISIT_DELAY,
)

ROOT = np.uint64(1)


@kernel
def health_check(st, P, C, t: float, interval_min: float, interval_max: float) -> float:
    """Burden, death by burden or organ failure, and new symptoms at day t; return the next check's interval.

    A limit crossed since the last check is located by root finding, so death falls on the crossing day, or on the
    day of the last clinical event if the crossing came before it (that event stays part of the course).
    """
    update_site_cells(st, P, t)
    cells = st.site_cells
    lo = st.scalars[S_T_LAST_CHECK]
    best_day = math.inf
    cause = 0
    if cells[TOTAL] >= P.lethal_burden_cells:
        best_day = crossing_day(st, P, lo, t, P.lethal_burden_cells, 1 << TOTAL)
        cause = CAUSE_BURDEN
    if C.active:
        for j in range(C.organ_failure_cells.shape[0]):
            limit = C.organ_failure_cells[j]
            if masked(cells, C.organ_mask[j]) >= limit:
                day = crossing_day(st, P, lo, t, limit, C.organ_mask[j])
                if day < best_day:
                    best_day = day
                    cause = C.organ_cause[j]
    if cause:
        # Not before a clinical event the loop has already applied (a scan, a diagnosis): the crossing is located
        # since the last check, and clinical events since then stay true.
        best_day = max(best_day, st.scalars[S_T_LAST_CLINICAL_EVENT])
        if cause != CAUSE_BURDEN:
            log(st, best_day, LOG_ORGAN_FAILURE, cause, 0, 0.0, 0.0)
        die(st, best_day, cause)
        return 0.0
    # Time to the nearest limit at the recent growth rate of its burden (half of it, within bounds).
    elapsed = t - lo
    interval = interval_max
    if elapsed > 0.0:
        interval = min(interval, _time_to_limit(cells, st.site_cells_prev, 1 << TOTAL, P.lethal_burden_cells, elapsed))
    if not C.active:
        return min(interval_max, max(interval_min, interval))
    for j in range(C.organ_failure_cells.shape[0]):
        if elapsed > 0.0:
            interval = min(
                interval, _time_to_limit(cells, st.site_cells_prev, C.organ_mask[j], C.organ_failure_cells[j], elapsed)
            )
    for s in range(N_SYMPTOMS):
        if st.symptom_day[s] < math.inf:
            continue
        b = masked(cells, C.symptom_mask[s])
        if b >= st.symptom_threshold[s]:
            _symptom_onset(st, P, C, t, s, b)
        elif elapsed > 0.0:
            interval = min(
                interval, _time_to_limit(cells, st.site_cells_prev, C.symptom_mask[s], st.symptom_threshold[s], elapsed)
            )
    return min(interval_max, max(interval_min, interval))


@kernel
def _time_to_limit(cells, prev, mask: int, limit: float, elapsed: float) -> float:
    now = masked(cells, mask)
    before = masked(prev, mask)
    if now <= 0.0 or before <= 0.0 or now <= before or now >= limit:
        return math.inf
    growth = math.log(now / before) / elapsed
    return 0.5 * math.log(limit / now) / growth


@kernel
def _symptom_onset(st, P, C, t: float, s: int, cells: float) -> None:
    st.symptom_day[s] = t
    log(st, t, LOG_SYMPTOM, s, 0, cells, 0.0)
    if st.clinic[C_T_FIRST_SYMPTOM] == math.inf:
        st.clinic[C_T_FIRST_SYMPTOM] = t
    if s == SYM_FRACTURE:
        st.clinic[C_N_FRACTURES] += 1
        log(st, t, LOG_FRACTURE, 0, 0, cells, 0.0)
    care = int(st.clinic[C_CARE])
    if (care == CARE_UNDIAGNOSED or care == CARE_SURVEILLANCE) and st.clinic_t[CE_VISIT] == math.inf:
        n = int(st.clinic[C_VISIT_N])
        z = standard_normal(P.stream_keys[ST_VISIT_DELAY], pid(st), ROOT, n)
        st.clinic_t[CE_VISIT] = t + C.visit_delay_median_days * math.exp(C.visit_delay_log_sd * z)
        st.clinic[C_VISIT_REASON] = ROUTE_SYMPTOMS


@kernel
def rebase_checks(st, P, t: float) -> None:
    """After a treatment changed the burden, restart the check history from day t."""
    update_site_cells(st, P, t)
    for i in range(st.site_cells.shape[0]):
        st.site_cells_prev[i] = st.site_cells[i]  # no growth estimate across a treatment
    st.scalars[S_T_LAST_CHECK] = t
