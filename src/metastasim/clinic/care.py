"""The care pathway of one patient: symptoms, visits, scans, diagnosis, treatment, follow-up, death.

Step order (each a dated event; the engine's loop interleaves them with the cascade's lesion events):

1. health check (adaptive, up to weekly near a limit): burden by site; lethal total burden or a failing
   vital organ ends the course at the day the limit was crossed; new symptoms are noted and lead to a visit
   after a delay;
2. death from other causes, drawn at onset from the life table for the person's age and sex;
3. screening rounds, for participants in the programme's age range; a positive test leads to a workup;
4. incidental imaging (scans done for other reasons);
5. visit: the workup (primary test, staging scan, MRI for brain symptoms, bone scan for bone pain),
   biopsy, and diagnosis with staging; after treatment a visit looks for recurrence instead;
6. treatment steps, by the plan for the diagnosed stage: surgery, radiation, adjuvant or palliative
   systemic therapy with response scans, then surveillance;
7. surveillance scans after curative treatment; a finding is a recurrence and is treated as metastatic.
"""

from __future__ import annotations

import math

import numpy as np

from metastasim._jit import kernel
from metastasim.anatomy.sites import BONE, BRAIN, LIVER, LUNG, N_SITES, PRIMARY, REGIONAL_NODES
from metastasim.biology.growth import diameter_mm
from metastasim.biology.shedding import lesion_size
from metastasim.clinic.burden import crossing_day, is_alive, masked, update_site_cells
from metastasim.clinic.codes import (
    BONE_SCAN,
    CARE_SUPPORTIVE,
    CARE_SURVEILLANCE,
    CARE_SYSTEMIC,
    CARE_TREATMENT,
    CARE_UNDIAGNOSED,
    CAUSE_BURDEN,
    CAUSE_OTHER,
    CAUSE_TREATMENT,
    CE_INCIDENTAL,
    CE_OTHER_DEATH,
    CE_SCREEN,
    CE_SURVEIL,
    CE_TREAT,
    CE_VISIT,
    CT,
    LOG_BIOPSY,
    LOG_DEATH,
    LOG_DIAGNOSIS,
    LOG_FRACTURE,
    LOG_ORGAN_FAILURE,
    LOG_PLAN,
    LOG_RECURRENCE,
    LOG_REMISSION,
    LOG_RESPONSE,
    LOG_SCREEN,
    LOG_SENTINEL,
    LOG_STAGE,
    LOG_SURGERY,
    LOG_SYMPTOM,
    LOG_TARGET_TEST,
    LOG_TREATMENT_END,
    LOG_TREATMENT_START,
    LOG_VISIT,
    MAMMOGRAPHY,
    MRI,
    N_CLINIC_EVENTS,
    N_SYMPTOMS,
    ROUTE_INCIDENTAL,
    ROUTE_SCREENING,
    ROUTE_SYMPTOMS,
    SYM_FRACTURE,
    TOTAL,
    TR_ADJUVANT,
    TR_CHEMO,
    TR_IMMUNO,
    TR_METASTASECTOMY,
    TR_PALLIATIVE_RT,
    TR_RADIATION,
    TR_SURGERY,
    TR_TARGETED,
)
from metastasim.clinic.demography import other_cause_death_age
from metastasim.clinic.imaging import scan, sensitivity
from metastasim.clinic.log import log
from metastasim.clinic.staging import n_category, observed_m, seer_stage, stage_group, t_category, true_nodes_and_m
from metastasim.clinic.treatment import (
    begin_course,
    chemo_ln_kill,
    eradicate,
    kill,
    log_course_effect,
    split_resistant,
    targeted_ln_kill,
)
from metastasim.engine.scheduling import finish, pid
from metastasim.engine.state import (
    C_AGE_ONSET,
    C_CARE,
    C_COURSE,
    C_CYCLE,
    C_DEATH_CAUSE,
    C_DRAW_N,
    C_GROUP_OBS,
    C_GROUP_TRUE,
    C_IMMUNO_RESPONDER,
    C_LINE,
    C_M_OBS,
    C_M_TRUE,
    C_N_FRACTURES,
    C_N_OBS,
    C_N_TRUE,
    C_NADIR,
    C_NODES_OBS,
    C_NODES_TRUE,
    C_PLAN,
    C_PRIMARY_REMOVED,
    C_ROUTE,
    C_SCREEN_N,
    C_SCREEN_PARTICIPANT,
    C_SCREEN_PHASE,
    C_SEER_OBS,
    C_SEER_TRUE,
    C_SEX,
    C_SITES_AT_DX,
    C_STEP,
    C_STOP_AT_DIAGNOSIS,
    C_STOPPED,
    C_SYMPTOMS_AT_DX,
    C_T_DEATH,
    C_T_DIAGNOSIS,
    C_T_FIRST_SYMPTOM,
    C_T_FIRST_TREATMENT,
    C_T_OBS,
    C_T_RECURRENCE,
    C_T_REMISSION,
    C_T_SURVEIL_END,
    C_T_TRUE,
    C_TARGET_POSITIVE,
    C_VISIT_N,
    C_VISIT_REASON,
    END_DEATH,
    END_LETHAL,
    END_RUNNING,
    ENDED_SURGERY,
    S_END_REASON,
    S_N_LESIONS,
    S_T_LAST_CHECK,
)
from metastasim.rng.philox import exponential, standard_normal, uniform
from metastasim.rng.streams import (
    ST_AGE,
    ST_IMMUNE_RESPONSE,
    ST_INCIDENTAL,
    ST_OTHER_DEATH,
    ST_PATHOLOGY,
    ST_SCREEN_PARTICIPATION,
    ST_SCREEN_TEST,
    ST_SEX,
    ST_SURGERY,
    ST_SYMPTOM_THRESHOLD,
    ST_TARGET,
    ST_TOXICITY,
    ST_VISIT_DELAY,
)
from metastasim.units import DAYS_PER_YEAR

ROOT = np.uint64(1)
# Coverage bitmasks (burden indices) of the scans.
BODY_SCAN = ((1 << N_SITES) - 1) & ~(1 << BRAIN) | (1 << PRIMARY)
PRIMARY_ONLY = 1 << PRIMARY
# Step of the treatment plan (C_STEP).
STEP_CHOOSE, STEP_SURGERY, STEP_RADIATION, STEP_ADJUVANT, STEP_SYSTEMIC, STEP_DONE = 0, 1, 2, 3, 4, 5
RECIST_PROGRESSION = 1.2
RECOVERY_DAYS = 28.0
SURVEILLANCE_OF_METASTATIC_DAYS = 91.0


# --- start ----------------------------------------------------------------------------------------------
@kernel
def start_clinic(st, P, C) -> None:
    """Draw the person's age, sex, other-cause death, symptom thresholds and programme participation."""
    st.clinic[:] = 0.0
    st.clinic_t[:] = math.inf
    st.symptom_day[:] = math.inf
    st.symptom_threshold[:] = math.inf
    st.site_cells[:] = 0.0
    st.site_cells_prev[:] = 0.0
    for i in (C_T_FIRST_SYMPTOM, C_T_DIAGNOSIS, C_T_REMISSION, C_T_RECURRENCE, C_T_FIRST_TREATMENT, C_T_DEATH):
        st.clinic[i] = math.inf
    for i in (C_T_OBS, C_N_OBS, C_M_OBS, C_GROUP_OBS, C_SEER_OBS, C_T_TRUE, C_N_TRUE, C_M_TRUE, C_GROUP_TRUE):
        st.clinic[i] = -1.0
    st.clinic[C_SEER_TRUE] = -1.0
    if not C.active:
        return
    patient = pid(st)
    keys = P.stream_keys
    age = C.age_at_onset_median_years + C.age_sd_years * standard_normal(keys[ST_AGE], patient, ROOT, 0)
    age = min(max(age, 18.0), 100.0)
    sex = 1 if uniform(keys[ST_SEX], patient, ROOT, 0) < C.share_male else 0
    st.clinic[C_AGE_ONSET] = age
    st.clinic[C_SEX] = sex
    e = exponential(keys[ST_OTHER_DEATH], patient, ROOT, 0)
    st.clinic_t[CE_OTHER_DEATH] = (other_cause_death_age(C.cumulative_hazard, sex, age, e) - age) * DAYS_PER_YEAR
    for s in range(N_SYMPTOMS):
        z = standard_normal(keys[ST_SYMPTOM_THRESHOLD], patient, ROOT, s)
        st.symptom_threshold[s] = C.symptom_threshold_cells[s] * math.exp(C.symptom_log_sd * z)
    st.clinic[C_TARGET_POSITIVE] = 1.0 if uniform(keys[ST_TARGET], patient, ROOT, 0) < C.target_share else 0.0
    st.clinic[C_IMMUNO_RESPONDER] = (
        1.0 if uniform(keys[ST_IMMUNE_RESPONSE], patient, ROOT, 0) < C.immuno_response else 0.0
    )
    if C.screen_test > 0 and uniform(keys[ST_SCREEN_PARTICIPATION], patient, ROOT, 0) < C.screen_uptake:
        st.clinic[C_SCREEN_PARTICIPANT] = 1.0
        st.clinic[C_SCREEN_PHASE] = uniform(keys[ST_SCREEN_PARTICIPATION], patient, ROOT, 1)
        _schedule_screen(st, C, 0.0)
    if C.incidental_rate_per_day > 0.0:
        st.clinic_t[CE_INCIDENTAL] = exponential(keys[ST_INCIDENTAL], patient, ROOT, 0) / C.incidental_rate_per_day


@kernel
def _age_at(st, t: float) -> float:
    return st.clinic[C_AGE_ONSET] + t / DAYS_PER_YEAR


@kernel
def _schedule_screen(st, C, t: float) -> None:
    """Next screening round after day t within the programme's ages (rounds at the person's own phase)."""
    interval = C.screen_interval_days
    start_day = (C.screen_start_age - st.clinic[C_AGE_ONSET]) * DAYS_PER_YEAR
    k = math.floor((t - start_day) / interval - st.clinic[C_SCREEN_PHASE]) + 1.0
    k = max(k, 0.0)
    day = start_day + (k + st.clinic[C_SCREEN_PHASE]) * interval
    if day <= t:
        day += interval
    if _age_at(st, day) > C.screen_stop_age:
        st.clinic_t[CE_SCREEN] = math.inf
    else:
        st.clinic_t[CE_SCREEN] = day


# --- death ---------------------------------------------------------------------------------------------
@kernel
def die(st, t: float, cause: int) -> None:
    """The patient dies at day t of `cause` (clinic.codes.CAUSE_*)."""
    st.clinic[C_DEATH_CAUSE] = cause
    st.clinic[C_T_DEATH] = t
    log(st, t, LOG_DEATH, cause, 0, 0.0, 0.0)
    st.clinic_t[:] = math.inf
    finish(st, t, END_LETHAL if cause == CAUSE_BURDEN else END_DEATH)


# --- health check --------------------------------------------------------------------------------------
@kernel
def health_check(st, P, C, t: float, interval_min: float, interval_max: float) -> float:
    """Burden, death by burden or organ failure, and new symptoms at day t; return the next check's interval.

    A limit crossed since the last check is located by root finding, so death falls on the crossing day.
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
    update_site_cells(st, P, t)  # previous = current: no growth estimate across a treatment
    st.scalars[S_T_LAST_CHECK] = t


# --- diagnosis -----------------------------------------------------------------------------------------
@kernel
def _symptom_mask(st) -> int:
    m = 0
    for s in range(N_SYMPTOMS):
        if st.symptom_day[s] < math.inf:
            m |= 1 << s
    return m


@kernel
def _has_symptom_of(st, C, site: int) -> bool:
    for s in range(N_SYMPTOMS):
        if st.symptom_day[s] < math.inf and C.symptom_mask[s] & (1 << site):
            return True
    return False


@kernel
def _workup_scans(st, P, C, t: float, purpose: int) -> int:
    """The diagnostic scans: primary test, staging scan, and scans directed by symptoms."""
    found = scan(st, P, C, t, C.primary_modality, PRIMARY_ONLY, purpose, True)[0]
    found += scan(st, P, C, t, C.staging_modality, BODY_SCAN, purpose, True)[0]
    if _has_symptom_of(st, C, BRAIN):
        found += scan(st, P, C, t, MRI, 1 << BRAIN, purpose, True)[0]
    if _has_symptom_of(st, C, BONE):
        found += scan(st, P, C, t, BONE_SCAN, 1 << BONE, purpose, True)[0]
    return found


@kernel
def _largest_found(st, P, t: float) -> int:
    best = -1
    size = 0.0
    for L in range(int(st.scalars[S_N_LESIONS])):
        if st.t_detected[L] <= t and is_alive(st, L, t):
            x = lesion_size(st, P, L, t)
            if st.site[L] == PRIMARY:
                return L
            if x > size:
                best, size = L, x
    return best


@kernel
def _pathology_nodes(st, P, C, t: float) -> int:
    """Involved nodes found by the pathologist in the resected basin (deposits of 0.2 mm or more)."""
    found = 0
    for L in range(int(st.scalars[S_N_LESIONS])):
        if st.site[L] != REGIONAL_NODES or not is_alive(st, L, t):
            continue
        if st.node[L] < 0 or st.node_lesion[st.node[L]] != L:
            continue
        x = lesion_size(st, P, L, t)
        if x < C.micro_cells:
            continue
        p = C.pathology_macro if diameter_mm(x, P.cells_per_cm3) >= 2.0 else C.pathology_micro
        if uniform(P.stream_keys[ST_PATHOLOGY], pid(st), st.key[L], 0) < p:
            found += 1
            st.t_detected[L] = min(st.t_detected[L], t)
    return found


@kernel
def _imaged_nodes(st, t: float) -> int:
    found = 0
    for L in range(int(st.scalars[S_N_LESIONS])):
        if st.site[L] == REGIONAL_NODES and st.t_detected[L] <= t and is_alive(st, L, t):
            found += 1
    return found


@kernel
def _sentinel_positive(st, P, C, t: float) -> bool:
    """Sentinel node biopsy: finds a deposit of 0.2 mm or more in node 0 with the published sensitivity."""
    L = st.node_lesion[0]
    if L < 0 or not is_alive(st, L, t) or lesion_size(st, P, L, t) < C.micro_cells:
        return False
    return uniform(P.stream_keys[ST_PATHOLOGY], pid(st), st.key[L], 1) < C.sentinel_sensitivity


@kernel
def diagnose(st, P, C, t: float, route: int) -> None:
    """Biopsy confirms the cancer; stage it (observed and true) and book the first treatment."""
    L = _largest_found(st, P, t)
    log(st, t, LOG_BIOPSY, L, 1, 0.0, 0.0)
    st.clinic[C_CARE] = CARE_TREATMENT
    st.clinic[C_T_DIAGNOSIS] = t
    st.clinic[C_ROUTE] = route
    st.clinic_t[CE_SCREEN] = math.inf
    st.clinic_t[CE_INCIDENTAL] = math.inf
    log(st, t, LOG_DIAGNOSIS, route, 0, 0.0, 0.0)
    T = t_category(st, P, C, t)
    m_obs = observed_m(st, t)
    nodes_obs = _imaged_nodes(st, t)
    group = stage_group(C.group_rule, T, n_category(C, nodes_obs), m_obs)
    if not m_obs and C.plan[group] & (1 << TR_SURGERY):
        if C.sentinel_node_biopsy and nodes_obs == 0:
            positive = _sentinel_positive(st, P, C, t)
            log(st, t, LOG_SENTINEL, 0, 1 if positive else 0, 0.0, 0.0)
            nodes_obs = _pathology_nodes(st, P, C, t) if positive else 0
            if positive and nodes_obs == 0:
                nodes_obs = 1
        else:
            nodes_obs = max(nodes_obs, _pathology_nodes(st, P, C, t))
    n_obs = n_category(C, nodes_obs)
    nodes_true, m_true = true_nodes_and_m(st, P, C, t)
    n_true = n_category(C, nodes_true)
    st.clinic[C_T_OBS] = T
    st.clinic[C_T_TRUE] = T
    st.clinic[C_N_OBS] = n_obs
    st.clinic[C_N_TRUE] = n_true
    st.clinic[C_M_OBS] = m_obs
    st.clinic[C_M_TRUE] = m_true
    st.clinic[C_NODES_OBS] = nodes_obs
    st.clinic[C_NODES_TRUE] = nodes_true
    g_obs = stage_group(C.group_rule, T, n_obs, m_obs)
    g_true = stage_group(C.group_rule, T, n_true, m_true)
    st.clinic[C_GROUP_OBS] = g_obs
    st.clinic[C_GROUP_TRUE] = g_true
    st.clinic[C_SEER_OBS] = seer_stage(T, n_obs, m_obs)
    st.clinic[C_SEER_TRUE] = seer_stage(T, n_true, m_true)
    log(st, t, LOG_STAGE, g_obs, g_true, st.clinic[C_SEER_OBS], st.clinic[C_SEER_TRUE])
    sites = 0
    for K in range(int(st.scalars[S_N_LESIONS])):
        if st.t_detected[K] <= t and is_alive(st, K, t) and st.site[K] != PRIMARY and st.site[K] != REGIONAL_NODES:
            sites |= 1 << st.site[K]
    st.clinic[C_SITES_AT_DX] = sites
    st.clinic[C_SYMPTOMS_AT_DX] = _symptom_mask(st)
    if C.target_share > 0.0:
        log(st, t, LOG_TARGET_TEST, 0, int(st.clinic[C_TARGET_POSITIVE]), 0.0, 0.0)
    st.clinic[C_STEP] = STEP_CHOOSE
    st.clinic_t[CE_TREAT] = t + C.treatment_delay_days
    if st.clinic[C_STOP_AT_DIAGNOSIS]:
        st.clinic[C_STOPPED] = 1.0


@kernel
def _visit(st, P, C, t: float) -> None:
    st.clinic_t[CE_VISIT] = math.inf
    st.clinic[C_VISIT_N] += 1
    reason = int(st.clinic[C_VISIT_REASON])
    log(st, t, LOG_VISIT, reason, 0, 0.0, 0.0)
    care = int(st.clinic[C_CARE])
    if care == CARE_UNDIAGNOSED:
        if _workup_scans(st, P, C, t, reason) > 0:
            diagnose(st, P, C, t, reason)
        elif reason == ROUTE_SYMPTOMS:
            st.clinic_t[CE_VISIT] = t + C.revisit_days
    elif care == CARE_SURVEILLANCE:
        _follow_up_scan(st, P, C, t, True)


@kernel
def _screen(st, P, C, t: float) -> None:
    """One screening round: the test finds the primary with its sensitivity by size and T category."""
    st.clinic_t[CE_SCREEN] = math.inf
    if st.clinic[C_CARE] != CARE_UNDIAGNOSED:
        return
    n = int(st.clinic[C_SCREEN_N])
    st.clinic[C_SCREEN_N] = n + 1
    s = 0.0
    if is_alive(st, 0, t):
        x = lesion_size(st, P, 0, t)
        d = diameter_mm(x, P.cells_per_cm3)
        if C.screen_test == 3:  # mammography: imaging table
            s = sensitivity(C, MAMMOGRAPHY, PRIMARY, d)
        elif C.screen_test == 4:  # low-dose CT: lung nodule table
            s = sensitivity(C, CT, LUNG, d)
        elif x >= C.screen_min_cells:
            s = C.screen_sens_early if t_category(st, P, C, t) <= 2 else C.screen_sens_advanced
    patient = pid(st)
    positive = uniform(P.stream_keys[ST_SCREEN_TEST], patient, ROOT, 2 * n) < s
    log(st, t, LOG_SCREEN, C.screen_test, 1 if positive else 0, 0.0, 0.0)
    if positive and uniform(P.stream_keys[ST_SCREEN_TEST], patient, ROOT, 2 * n + 1) < C.screen_followup_adherence:
        if st.clinic_t[CE_VISIT] == math.inf or st.clinic_t[CE_VISIT] > t + C.screen_followup_days:
            st.clinic_t[CE_VISIT] = t + C.screen_followup_days
            st.clinic[C_VISIT_REASON] = ROUTE_SCREENING
    _schedule_screen(st, C, t)


@kernel
def _incidental(st, P, C, t: float) -> None:
    """Imaging done for another reason may find the cancer (CT of chest and abdomen)."""
    n = int(st.clinic[C_DRAW_N]) + 1
    st.clinic[C_DRAW_N] = n
    st.clinic_t[CE_INCIDENTAL] = (
        t + exponential(P.stream_keys[ST_INCIDENTAL], pid(st), ROOT, n) / C.incidental_rate_per_day
    )
    if st.clinic[C_CARE] != CARE_UNDIAGNOSED:
        st.clinic_t[CE_INCIDENTAL] = math.inf
        return
    if scan(st, P, C, t, CT, BODY_SCAN, ROUTE_INCIDENTAL, False)[0] > 0:
        log(st, t, LOG_VISIT, ROUTE_INCIDENTAL, 0, 0.0, 0.0)
        _workup_scans(st, P, C, t, ROUTE_INCIDENTAL)
        diagnose(st, P, C, t, ROUTE_INCIDENTAL)


# --- treatment -----------------------------------------------------------------------------------------
@kernel
def _fit_for_systemic(st, C, t: float) -> bool:
    return _age_at(st, t) <= C.max_age_systemic


@kernel
def _choose_plan(st, C, t: float) -> None:
    metastatic = st.clinic[C_LINE] > 0 or st.clinic[C_T_RECURRENCE] < math.inf
    group = 4 if metastatic else max(int(st.clinic[C_GROUP_OBS]), 0)
    plan = C.plan[group]
    if not _fit_for_systemic(st, C, t):
        plan &= ~((1 << TR_CHEMO) | (1 << TR_ADJUVANT))
    if not st.clinic[C_TARGET_POSITIVE]:
        plan &= ~(1 << TR_TARGETED)
    st.clinic[C_PLAN] = plan
    log(st, t, LOG_PLAN, plan, group, 0.0, 0.0)


@kernel
def _resectable_organ(st, C, t: float) -> int:
    """The organ (liver or lung) holding every detected distant lesion, if there are few enough; else -1."""
    organ = -1
    count = 0
    for L in range(int(st.scalars[S_N_LESIONS])):
        s = st.site[L]
        if s == PRIMARY or s == REGIONAL_NODES or st.t_detected[L] > t or not is_alive(st, L, t):
            continue
        if s != LIVER and s != LUNG:
            return -1
        if organ >= 0 and s != organ:
            return -1
        organ = s
        count += 1
    if count == 0 or count > C.max_resectable:
        return -1
    return organ


@kernel
def _operate(st, P, C, t: float, organ: int) -> bool:
    """Remove the primary with its regional nodes (if present), and the detected metastases of `organ` (>= 0).

    Returns False if the patient died of the operation.
    """
    patient = pid(st)
    removed = 0
    margin = 0
    if st.clinic[C_PRIMARY_REMOVED] == 0.0:
        st.clinic[C_PRIMARY_REMOVED] = 1.0
        margin = 1 if uniform(P.stream_keys[ST_SURGERY], patient, ROOT, 1) < C.margin_positive else 0
        for L in range(int(st.scalars[S_N_LESIONS])):
            if st.t_clear[L] <= t or st.t_born[L] > t:
                continue
            if st.site[L] == PRIMARY:
                if margin and st.clone_of[L] < 0:
                    kill(st, P, L, t, -math.log(C.residual_fraction))
                else:
                    eradicate(st, P, L, t, ENDED_SURGERY)
                removed += 1
            elif st.site[L] == REGIONAL_NODES:
                eradicate(st, P, L, t, ENDED_SURGERY)
                removed += 1
    mortality = C.surgery_mortality
    if organ >= 0:
        mortality = max(mortality, C.metastasectomy_mortality)
        for L in range(int(st.scalars[S_N_LESIONS])):
            if st.site[L] == organ and st.t_detected[L] <= t and is_alive(st, L, t):
                eradicate(st, P, L, t, ENDED_SURGERY)
                removed += 1
    log(st, t, LOG_SURGERY, removed, margin, float(organ), 0.0)
    _first_treatment(st, t)
    rebase_checks(st, P, t)
    if uniform(P.stream_keys[ST_SURGERY], patient, ROOT, 2 + int(st.clinic[C_DRAW_N])) < mortality:
        die(st, t, CAUSE_TREATMENT)
        return False
    return True


@kernel
def _first_treatment(st, t: float) -> None:
    if st.clinic[C_T_FIRST_TREATMENT] == math.inf:
        st.clinic[C_T_FIRST_TREATMENT] = t


@kernel
def _radiate(st, P, C, t: float, palliative: bool) -> None:
    """Curative course on the primary and regional nodes, or palliative on detected bone and brain lesions."""
    treatment = TR_PALLIATIVE_RT if palliative else TR_RADIATION
    log(st, t, LOG_TREATMENT_START, treatment, 0, 0.0, 0.0)
    begin_course(st, P, t)
    ln_kill = -(C.rt_ln_survival_palliative if palliative else C.rt_ln_survival_curative)
    for L in range(int(st.scalars[S_N_LESIONS])):
        if not is_alive(st, L, t):
            continue
        s = st.site[L]
        if palliative:
            hit = (s == BONE or s == BRAIN) and st.t_detected[L] <= t
        else:
            hit = s == PRIMARY or s == REGIONAL_NODES
        if hit:
            kill(st, P, L, t, ln_kill)
    log_course_effect(st, P, C, t, treatment)
    log(st, t, LOG_TREATMENT_END, treatment, 1, 0.0, 0.0)
    _first_treatment(st, t)
    rebase_checks(st, P, t)


@kernel
def _course_agents(st, C, t: float, adjuvant: bool) -> int:
    plan = int(st.clinic[C_PLAN])
    agents = 0
    if adjuvant:
        # After resection: adjuvant chemotherapy (or the plan's chemotherapy after a metastasectomy),
        # immunotherapy, and a targeted drug where it is part of an adjuvant plan (e.g. endocrine therapy).
        if plan & ((1 << TR_ADJUVANT) | (1 << TR_CHEMO)) and _fit_for_systemic(st, C, t):
            agents |= 1 << TR_CHEMO
        if plan & (1 << TR_IMMUNO):
            agents |= 1 << TR_IMMUNO
        if plan & (1 << TR_TARGETED) and not plan & (1 << TR_CHEMO):
            agents |= 1 << TR_TARGETED
        return agents
    line = int(st.clinic[C_LINE])
    if line == 1:
        return plan & ((1 << TR_CHEMO) | (1 << TR_TARGETED) | (1 << TR_IMMUNO))
    if line == 2 and _fit_for_systemic(st, C, t):
        return 1 << TR_CHEMO
    return 0


@kernel
def _cycle(st, P, C, t: float, agents: int) -> None:
    """One cycle of systemic therapy on every growing lesion (dormant cells are spared)."""
    factor = C.second_line_factor if st.clinic[C_LINE] >= 2 else 1.0
    responder = st.clinic[C_IMMUNO_RESPONDER] > 0.0
    n = int(st.scalars[S_N_LESIONS])
    for L in range(n):
        if not is_alive(st, L, t):
            continue
        ln_kill = 0.0
        if agents & (1 << TR_CHEMO):
            ln_kill += chemo_ln_kill(st, P, C, L, t, factor)
        if agents & (1 << TR_IMMUNO) and responder:
            ln_kill += C.immuno_ln_kill
        if agents & (1 << TR_TARGETED) and st.t_resistant[L] != -math.inf:
            split_resistant(st, P, L, t)
            ln_kill += targeted_ln_kill(st, P, C, L, t)
        kill(st, P, L, t, ln_kill)
    rebase_checks(st, P, t)


@kernel
def _start_course(st, P, C, t: float, agents: int) -> bool:
    st.clinic[C_COURSE] = agents
    st.clinic[C_CYCLE] = 0
    begin_course(st, P, t)
    _first_treatment(st, t)
    for a in (TR_CHEMO, TR_TARGETED, TR_IMMUNO):
        if agents & (1 << a):
            log(st, t, LOG_TREATMENT_START, a, int(st.clinic[C_LINE]), 0.0, 0.0)
    n = int(st.clinic[C_DRAW_N]) + 1
    st.clinic[C_DRAW_N] = n
    if agents & (1 << TR_CHEMO) and uniform(P.stream_keys[ST_TOXICITY], pid(st), ROOT, n) < C.chemo_death:
        die(st, t + C.cycle_days, CAUSE_TREATMENT)
        return False
    return True


@kernel
def _end_course(st, P, C, t: float) -> None:
    agents = int(st.clinic[C_COURSE])
    for a in (TR_CHEMO, TR_TARGETED, TR_IMMUNO):
        if agents & (1 << a):
            log_course_effect(st, P, C, t, a)
            log(st, t, LOG_TREATMENT_END, a, int(st.clinic[C_CYCLE]), 0.0, 0.0)
    st.clinic[C_COURSE] = 0


@kernel
def _start_surveillance(st, C, t: float) -> None:
    st.clinic[C_CARE] = CARE_SURVEILLANCE
    st.clinic[C_T_SURVEIL_END] = t + (C.surveillance_days if st.clinic[C_LINE] == 0 else 1e9)
    interval = C.surveillance_interval_days if st.clinic[C_LINE] == 0 else SURVEILLANCE_OF_METASTATIC_DAYS
    st.clinic_t[CE_SURVEIL] = t + interval
    st.clinic_t[CE_TREAT] = math.inf


@kernel
def _start_systemic_line(st, P, C, t: float) -> None:
    """Begin the next line of palliative therapy (or supportive care when none is left)."""
    st.clinic[C_LINE] += 1
    agents = _course_agents(st, C, t, False)
    plan = int(st.clinic[C_PLAN])
    if (
        st.clinic[C_LINE] == 1
        and plan & (1 << TR_PALLIATIVE_RT)
        and (_has_symptom_of(st, C, BONE) or _has_symptom_of(st, C, BRAIN))
    ):
        _radiate(st, P, C, t, True)
    if agents == 0:
        st.clinic[C_CARE] = CARE_SUPPORTIVE
        st.clinic_t[CE_TREAT] = math.inf
        st.clinic_t[CE_SURVEIL] = math.inf
        return
    st.clinic[C_CARE] = CARE_SYSTEMIC
    st.clinic_t[CE_SURVEIL] = math.inf
    total_mm = scan(st, P, C, t, C.staging_modality, BODY_SCAN, 0, False)[1]
    st.clinic[C_NADIR] = total_mm
    if _start_course(st, P, C, t, agents):
        st.clinic_t[CE_TREAT] = t


@kernel
def _treat(st, P, C, t: float) -> None:
    """The next step of the treatment plan."""
    st.clinic_t[CE_TREAT] = math.inf
    step = int(st.clinic[C_STEP])
    if step == STEP_CHOOSE:
        _choose_plan(st, C, t)
        step = STEP_SURGERY
    plan = int(st.clinic[C_PLAN])
    metastatic = observed_m(st, t) == 1
    if step == STEP_SURGERY:
        st.clinic[C_STEP] = STEP_RADIATION
        organ = -1
        if metastatic:
            organ = _resectable_organ(st, C, t) if plan & (1 << TR_METASTASECTOMY) else -1
            if organ < 0:
                st.clinic[C_STEP] = STEP_SYSTEMIC
                step = STEP_SYSTEMIC
        if step == STEP_SURGERY and (plan & (1 << TR_SURGERY) or organ >= 0):
            if not _operate(st, P, C, t, organ):
                return
            st.clinic_t[CE_TREAT] = t + RECOVERY_DAYS
            return
        if step == STEP_SURGERY:
            step = STEP_RADIATION
    if step == STEP_RADIATION:
        st.clinic[C_STEP] = STEP_ADJUVANT
        if plan & (1 << TR_RADIATION) and not metastatic:
            _radiate(st, P, C, t, False)
            st.clinic_t[CE_TREAT] = t + C.rt_days_curative
            return
        step = STEP_ADJUVANT
    if step == STEP_ADJUVANT:
        if metastatic:
            st.clinic[C_STEP] = STEP_SYSTEMIC
            step = STEP_SYSTEMIC
        else:
            cycle = int(st.clinic[C_CYCLE])
            agents = int(st.clinic[C_COURSE])
            if cycle == 0 and agents == 0:
                agents = _course_agents(st, C, t, True)
                if agents == 0:
                    st.clinic[C_STEP] = STEP_DONE
                    _start_surveillance(st, C, t)
                    return
                if not _start_course(st, P, C, t, agents):
                    return
            _cycle(st, P, C, t, agents)
            st.clinic[C_CYCLE] = cycle + 1
            if cycle + 1 >= C.adjuvant_cycles:
                _end_course(st, P, C, t + C.cycle_days)
                st.clinic[C_STEP] = STEP_DONE
                _start_surveillance(st, C, t + C.cycle_days)
            else:
                st.clinic_t[CE_TREAT] = t + C.cycle_days
            return
    if step == STEP_SYSTEMIC:
        st.clinic[C_STEP] = STEP_DONE
        _start_systemic_line(st, P, C, t)
        return
    if step == STEP_DONE and st.clinic[C_CARE] == CARE_SYSTEMIC:
        _palliative_cycle(st, P, C, t)


@kernel
def _palliative_cycle(st, P, C, t: float) -> None:
    agents = int(st.clinic[C_COURSE])
    cycle = int(st.clinic[C_CYCLE])
    if cycle > 0 and cycle % C.assess_every == 0:
        if _assess(st, P, C, t):
            _end_course(st, P, C, t)
            _start_systemic_line(st, P, C, t)
            return
    max_cycles = C.immuno_max_cycles if agents == (1 << TR_IMMUNO) else C.palliative_max_cycles
    if cycle >= max_cycles:
        _end_course(st, P, C, t)
        _start_surveillance(st, C, t)
        return
    _cycle(st, P, C, t, agents)
    st.clinic[C_CYCLE] = cycle + 1
    st.clinic_t[CE_TREAT] = t + C.cycle_days


@kernel
def _assess(st, P, C, t: float) -> bool:
    """Response scan (RECIST-like): True on progression.

    Progression is a sum of diameters up 20% (and 5 mm) from the nadir, or a new lesion of 10 mm or more.
    """
    found, total_mm, new = scan(st, P, C, t, C.staging_modality, BODY_SCAN, 0, False)
    nadir = st.clinic[C_NADIR]
    progression = (total_mm > RECIST_PROGRESSION * nadir and total_mm - nadir >= 5.0) or _new_large(st, P, t, new)
    status = 2 if progression else (3 if found == 0 else (0 if total_mm < 0.7 * nadir else 1))
    log(st, t, LOG_RESPONSE, status, found, total_mm, nadir)
    st.clinic[C_NADIR] = min(nadir, total_mm)
    return progression


@kernel
def _new_large(st, P, t: float, new: int) -> bool:
    if new == 0:
        return False
    for L in range(int(st.scalars[S_N_LESIONS])):
        if st.t_detected[L] == t and is_alive(st, L, t):
            if diameter_mm(lesion_size(st, P, L, t), P.cells_per_cm3) >= 10.0:
                return True
    return False


@kernel
def _follow_up_scan(st, P, C, t: float, from_visit: bool) -> None:
    """Surveillance (or symptom-driven) scan after treatment: recurrence or progression, else remission."""
    if st.clinic[C_LINE] > 0:
        if _assess(st, P, C, t):
            st.clinic[C_T_RECURRENCE] = min(st.clinic[C_T_RECURRENCE], t)
            _start_systemic_line(st, P, C, t)
            return
    else:
        found = _workup_scans(st, P, C, t, 4)
        if found > 0:
            site = -1
            for L in range(int(st.scalars[S_N_LESIONS])):
                if st.t_detected[L] == t and is_alive(st, L, t):
                    site = st.site[L]
                    break
            st.clinic[C_T_RECURRENCE] = t
            log(st, t, LOG_RECURRENCE, site, found, 0.0, 0.0)
            st.clinic[C_STEP] = STEP_CHOOSE
            st.clinic[C_CARE] = CARE_TREATMENT
            st.clinic_t[CE_SURVEIL] = math.inf
            _choose_plan(st, C, t)
            st.clinic[C_STEP] = STEP_SURGERY
            st.clinic_t[CE_TREAT] = t + C.treatment_delay_days
            return
        if st.clinic[C_T_REMISSION] == math.inf:
            st.clinic[C_T_REMISSION] = t
            log(st, t, LOG_REMISSION, 0, 0, 0.0, 0.0)
    if not from_visit:
        nxt = t + (C.surveillance_interval_days if st.clinic[C_LINE] == 0 else SURVEILLANCE_OF_METASTATIC_DAYS)
        st.clinic_t[CE_SURVEIL] = nxt if nxt <= st.clinic[C_T_SURVEIL_END] else math.inf


# --- dispatch ------------------------------------------------------------------------------------------
@kernel
def next_clinic_event(st) -> tuple[float, int]:
    """(day, kind) of the earliest pending clinical event."""
    best = math.inf
    kind = -1
    for k in range(N_CLINIC_EVENTS):
        if st.clinic_t[k] < best:
            best = st.clinic_t[k]
            kind = k
    return best, kind


@kernel
def process_clinic_event(st, P, C, kind: int, t: float) -> None:
    """Apply the pending clinical event `kind` at day t (see the module docstring for the order)."""
    if kind == CE_OTHER_DEATH:
        die(st, t, CAUSE_OTHER)
    elif kind == CE_VISIT:
        _visit(st, P, C, t)
    elif kind == CE_SCREEN:
        _screen(st, P, C, t)
    elif kind == CE_INCIDENTAL:
        _incidental(st, P, C, t)
    elif kind == CE_TREAT:
        _treat(st, P, C, t)
    elif kind == CE_SURVEIL:
        st.clinic_t[CE_SURVEIL] = math.inf
        _follow_up_scan(st, P, C, t, False)


@kernel
def is_over(st) -> bool:
    """Whether the course has ended (death or horizon) or stopped at a requested milestone."""
    return st.scalars[S_END_REASON] != END_RUNNING or st.clinic[C_STOPPED] > 0.0


__all__ = ["health_check", "is_over", "next_clinic_event", "process_clinic_event", "start_clinic"]
