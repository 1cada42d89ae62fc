"""Treatment by plan, then surveillance.

Surgery, radiation, adjuvant or palliative systemic therapy with response scans; a recurrence found in
surveillance is treated as metastatic disease.
"""

from __future__ import annotations

import math

import numpy as np

from metastasim._jit import kernel
from metastasim.anatomy.sites import BONE, BRAIN, LIVER, LUNG, PRIMARY, REGIONAL_NODES
from metastasim.biology.growth import diameter_mm
from metastasim.biology.shedding import lesion_size
from metastasim.biology.traits import RESIST_CHEMO, RESIST_TARGETED
from metastasim.clinic.burden import is_alive
from metastasim.clinic.checks import rebase_checks
from metastasim.clinic.codes import (
    CARE_SUPPORTIVE,
    CARE_SURVEILLANCE,
    CARE_SYSTEMIC,
    CARE_TREATMENT,
    CAUSE_TREATMENT,
    CE_SURVEIL,
    CE_TREAT,
    LOG_PLAN,
    LOG_RECURRENCE,
    LOG_REMISSION,
    LOG_RESPONSE,
    LOG_SURGERY,
    LOG_TREATMENT_END,
    LOG_TREATMENT_START,
    TR_ADJUVANT,
    TR_CHEMO,
    TR_IMMUNO,
    TR_METASTASECTOMY,
    TR_PALLIATIVE_RT,
    TR_RADIATION,
    TR_SURGERY,
    TR_TARGETED,
)
from metastasim.clinic.death import die
from metastasim.clinic.imaging import scan
from metastasim.clinic.log import log
from metastasim.clinic.staging import observed_m
from metastasim.clinic.start import age_at
from metastasim.clinic.treatment import (
    begin_course,
    chemo_ln_kill,
    eradicate,
    kill,
    log_course_effect,
    split_resistant,
    targeted_ln_kill,
)
from metastasim.clinic.workup import BODY_SCAN, has_symptom_of, workup_scans
from metastasim.engine.scheduling import pid
from metastasim.engine.state import (
    C_CARE,
    C_COURSE,
    C_CYCLE,
    C_DRAW_N,
    C_GROUP_OBS,
    C_IMMUNO_RESPONDER,
    C_LINE,
    C_NADIR,
    C_PLAN,
    C_PRIMARY_REMOVED,
    C_STEP,
    C_T_FIRST_TREATMENT,
    C_T_RECURRENCE,
    C_T_REMISSION,
    C_T_SURVEIL_END,
    C_TARGET_POSITIVE,
    ENDED_SURGERY,
    S_N_LESIONS,
)
from metastasim.rng.philox import uniform
from metastasim.rng.streams import (
    ST_RESECTION_CANDIDATE,
    ST_SURGERY,
    ST_TOXICITY,
)

ROOT = np.uint64(1)
# Step of the treatment plan (C_STEP).
STEP_CHOOSE, STEP_SURGERY, STEP_RADIATION, STEP_ADJUVANT, STEP_SYSTEMIC, STEP_DONE = 0, 1, 2, 3, 4, 5
RECIST_PROGRESSION = 1.2
RECOVERY_DAYS = 28.0
SURVEILLANCE_OF_METASTATIC_DAYS = 91.0


@kernel
def _fit_for_systemic(st, C, t: float) -> bool:
    return age_at(st, t) <= C.max_age_systemic


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
def _resectable_organ(st, P, C, t: float) -> int:
    """The organ (liver or lung) holding every detected distant lesion, if there are few enough; else -1.

    Only a resection candidate is considered: a share of patients (one draw per patient, so a patient resected
    once stays a candidate at recurrence) whose tumour's position, the liver left after resection and whose
    fitness allow the operation, which a count of lesions does not capture.
    """
    if uniform(P.stream_keys[ST_RESECTION_CANDIDATE], pid(st), ROOT, 0) >= C.resection_candidate_share:
        return -1
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
    # Resistant subclones split off in this cycle are appended and visited too (a subclone resistant to one
    # drug of the course still meets the others).
    L = 0
    while int(st.scalars[S_N_LESIONS]) > L:
        if not is_alive(st, L, t):
            L += 1
            continue
        if agents & (1 << TR_CHEMO):
            split_resistant(st, P, L, t, RESIST_CHEMO)
        if agents & (1 << TR_TARGETED):
            split_resistant(st, P, L, t, RESIST_TARGETED)
        ln_kill = 0.0
        if agents & (1 << TR_CHEMO):
            ln_kill += chemo_ln_kill(st, P, C, L, t, factor)
        if agents & (1 << TR_IMMUNO) and responder:
            ln_kill += C.immuno_ln_kill
        if agents & (1 << TR_TARGETED):
            ln_kill += targeted_ln_kill(st, P, C, L, t)
        kill(st, P, L, t, ln_kill)
        L += 1
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
        and (has_symptom_of(st, C, BONE) or has_symptom_of(st, C, BRAIN))
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
def treat(st, P, C, t: float) -> None:
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
            organ = _resectable_organ(st, P, C, t) if plan & (1 << TR_METASTASECTOMY) else -1
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
def follow_up_scan(st, P, C, t: float, from_visit: bool) -> None:
    """Surveillance (or symptom-driven) scan after treatment: recurrence or progression, else remission."""
    if st.clinic[C_LINE] > 0:
        if _assess(st, P, C, t):
            st.clinic[C_T_RECURRENCE] = min(st.clinic[C_T_RECURRENCE], t)
            _start_systemic_line(st, P, C, t)
            return
    else:
        found = workup_scans(st, P, C, t, 4)
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
