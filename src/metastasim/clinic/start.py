"""The person behind a patient: age, sex, death from other causes, symptom thresholds, programmes.

Drawn once at onset from the patient's own streams, so every arm of a trial shares them.
"""

from __future__ import annotations

import math

import numpy as np

from metastasim._jit import kernel
from metastasim.clinic.codes import (
    CE_INCIDENTAL,
    CE_OTHER_DEATH,
    CE_SCREEN,
    N_SYMPTOMS,
)
from metastasim.clinic.demography import other_cause_death_age
from metastasim.engine.scheduling import pid
from metastasim.engine.state import (
    C_AGE_ONSET,
    C_GROUP_OBS,
    C_GROUP_TRUE,
    C_IMMUNO_RESPONDER,
    C_M_OBS,
    C_M_TRUE,
    C_N_OBS,
    C_N_TRUE,
    C_SCREEN_PARTICIPANT,
    C_SCREEN_PHASE,
    C_SEER_OBS,
    C_SEER_TRUE,
    C_SEX,
    C_T_DEATH,
    C_T_DIAGNOSIS,
    C_T_FIRST_SYMPTOM,
    C_T_FIRST_TREATMENT,
    C_T_OBS,
    C_T_RECURRENCE,
    C_T_REMISSION,
    C_T_TRUE,
    C_TARGET_POSITIVE,
    C_TARGETED_REGRESSION,
)
from metastasim.rng.philox import exponential, standard_normal, uniform
from metastasim.rng.streams import (
    ST_AGE,
    ST_IMMUNE_RESPONSE,
    ST_INCIDENTAL,
    ST_OTHER_DEATH,
    ST_SCREEN_PARTICIPATION,
    ST_SEX,
    ST_SYMPTOM_THRESHOLD,
    ST_TARGET,
    ST_TARGETED_SENSITIVITY,
)
from metastasim.units import DAYS_PER_YEAR

ROOT = np.uint64(1)


@kernel
def start_clinic(st, P, C) -> None:
    """Draw the person's age, sex, other-cause death, symptom thresholds, screening and drug sensitivity."""
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
    z = standard_normal(keys[ST_TARGETED_SENSITIVITY], patient, ROOT, 0)
    st.clinic[C_TARGETED_REGRESSION] = C.targeted_regression * math.exp(C.targeted_regression_log_sd * z)
    st.clinic[C_IMMUNO_RESPONDER] = (
        1.0 if uniform(keys[ST_IMMUNE_RESPONSE], patient, ROOT, 0) < C.immuno_response else 0.0
    )
    if C.screen_test > 0 and uniform(keys[ST_SCREEN_PARTICIPATION], patient, ROOT, 0) < C.screen_uptake:
        st.clinic[C_SCREEN_PARTICIPANT] = 1.0
        st.clinic[C_SCREEN_PHASE] = uniform(keys[ST_SCREEN_PARTICIPATION], patient, ROOT, 1)
        schedule_screen(st, C, 0.0)
    if C.incidental_rate_per_day > 0.0:
        st.clinic_t[CE_INCIDENTAL] = exponential(keys[ST_INCIDENTAL], patient, ROOT, 0) / C.incidental_rate_per_day


@kernel
def age_at(st, t: float) -> float:
    """The person's age (years) at day t."""
    return st.clinic[C_AGE_ONSET] + t / DAYS_PER_YEAR


@kernel
def schedule_screen(st, C, t: float) -> None:
    """Next screening round after day t within the programme's ages (rounds at the person's own phase)."""
    interval = C.screen_interval_days
    start_day = (C.screen_start_age - st.clinic[C_AGE_ONSET]) * DAYS_PER_YEAR
    k = math.floor((t - start_day) / interval - st.clinic[C_SCREEN_PHASE]) + 1.0
    k = max(k, 0.0)
    day = start_day + (k + st.clinic[C_SCREEN_PHASE]) * interval
    if day <= t:
        day += interval
    if age_at(st, day) > C.screen_stop_age:
        st.clinic_t[CE_SCREEN] = math.inf
    else:
        st.clinic_t[CE_SCREEN] = day
