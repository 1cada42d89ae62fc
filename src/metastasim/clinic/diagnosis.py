"""Reaching a diagnosis: visits, screening rounds, incidental imaging, biopsy and staging."""

from __future__ import annotations

import math

import numpy as np

from metastasim._jit import kernel
from metastasim.anatomy.sites import LUNG, PRIMARY, REGIONAL_NODES
from metastasim.biology.growth import diameter_mm
from metastasim.biology.shedding import lesion_size
from metastasim.clinic.burden import is_alive
from metastasim.clinic.codes import (
    CARE_SURVEILLANCE,
    CARE_TREATMENT,
    CARE_UNDIAGNOSED,
    CE_INCIDENTAL,
    CE_SCREEN,
    CE_TREAT,
    CE_VISIT,
    CT,
    LOG_BIOPSY,
    LOG_DIAGNOSIS,
    LOG_SCREEN,
    LOG_SENTINEL,
    LOG_STAGE,
    LOG_TARGET_TEST,
    LOG_VISIT,
    MAMMOGRAPHY,
    ROUTE_INCIDENTAL,
    ROUTE_SCREENING,
    ROUTE_SYMPTOMS,
    TR_SURGERY,
)
from metastasim.clinic.imaging import scan, sensitivity
from metastasim.clinic.log import log
from metastasim.clinic.staging import n_category, observed_m, seer_stage, stage_group, t_category, true_nodes_and_m
from metastasim.clinic.start import schedule_screen
from metastasim.clinic.therapy import STEP_CHOOSE, follow_up_scan
from metastasim.clinic.workup import BODY_SCAN, symptom_mask, workup_scans
from metastasim.engine.scheduling import pid
from metastasim.engine.state import (
    C_CARE,
    C_DRAW_N,
    C_GROUP_OBS,
    C_GROUP_TRUE,
    C_M_OBS,
    C_M_TRUE,
    C_N_OBS,
    C_N_TRUE,
    C_NODES_OBS,
    C_NODES_TRUE,
    C_ROUTE,
    C_SCREEN_N,
    C_SEER_OBS,
    C_SEER_TRUE,
    C_SITES_AT_DX,
    C_STEP,
    C_STOP_AT_DIAGNOSIS,
    C_STOPPED,
    C_SYMPTOMS_AT_DX,
    C_T_DIAGNOSIS,
    C_T_OBS,
    C_T_TRUE,
    C_TARGET_POSITIVE,
    C_VISIT_N,
    C_VISIT_REASON,
    S_N_LESIONS,
)
from metastasim.rng.philox import exponential, uniform
from metastasim.rng.streams import (
    ST_INCIDENTAL,
    ST_PATHOLOGY,
    ST_SCREEN_TEST,
)

ROOT = np.uint64(1)


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
    st.clinic[C_SYMPTOMS_AT_DX] = symptom_mask(st)
    if C.target_share > 0.0:
        log(st, t, LOG_TARGET_TEST, 0, int(st.clinic[C_TARGET_POSITIVE]), 0.0, 0.0)
    st.clinic[C_STEP] = STEP_CHOOSE
    st.clinic_t[CE_TREAT] = t + C.treatment_delay_days
    if st.clinic[C_STOP_AT_DIAGNOSIS]:
        st.clinic[C_STOPPED] = 1.0


@kernel
def visit(st, P, C, t: float) -> None:
    """A visit: the diagnostic workup before diagnosis, a follow-up scan after treatment."""
    st.clinic_t[CE_VISIT] = math.inf
    st.clinic[C_VISIT_N] += 1
    reason = int(st.clinic[C_VISIT_REASON])
    log(st, t, LOG_VISIT, reason, 0, 0.0, 0.0)
    care = int(st.clinic[C_CARE])
    if care == CARE_UNDIAGNOSED:
        if workup_scans(st, P, C, t, reason) > 0:
            diagnose(st, P, C, t, reason)
        elif reason == ROUTE_SYMPTOMS:
            st.clinic_t[CE_VISIT] = t + C.revisit_days
    elif care == CARE_SURVEILLANCE:
        follow_up_scan(st, P, C, t, True)


@kernel
def screen(st, P, C, t: float) -> None:
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
    adheres = uniform(P.stream_keys[ST_SCREEN_TEST], patient, ROOT, 2 * n + 1) < C.screen_followup_adherence
    follow_up = positive and adheres
    log(st, t, LOG_SCREEN, C.screen_test, (1 if follow_up else 2) if positive else 0, 0.0, 0.0)
    if follow_up:
        if st.clinic_t[CE_VISIT] == math.inf or st.clinic_t[CE_VISIT] > t + C.screen_followup_days:
            st.clinic_t[CE_VISIT] = t + C.screen_followup_days
            st.clinic[C_VISIT_REASON] = ROUTE_SCREENING
    schedule_screen(st, C, t)


@kernel
def incidental(st, P, C, t: float) -> None:
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
        workup_scans(st, P, C, t, ROUTE_INCIDENTAL)
        diagnose(st, P, C, t, ROUTE_INCIDENTAL)
