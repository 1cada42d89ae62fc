"""The clinical course as table columns and event rows, from the compiled clinic's scalars and log.

Texts depend only on small codes (which symptom, which modality, which stage), so each is built once and
stored as a categorical: a cohort's millions of clinical events cost little.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from metastasim.anatomy.sites import N_SITES, SITES
from metastasim.clinic.codes import (
    CARE_STATES,
    DEATH_CAUSES,
    DIAGNOSIS_ROUTES,
    LOG_KINDS,
    MODALITIES,
    SCREENING_TESTS,
    SEER_STAGES,
    STAGE_GROUPS,
    SYMPTOM_LABELS,
    SYMPTOM_NAMES,
    TREATMENTS,
)
from metastasim.engine.state import (
    C_AGE_ONSET,
    C_CARE,
    C_DEATH_CAUSE,
    C_GROUP_OBS,
    C_GROUP_TRUE,
    C_IMMUNO_RESPONDER,
    C_M_OBS,
    C_M_TRUE,
    C_N_FRACTURES,
    C_N_OBS,
    C_N_TRUE,
    C_NODES_OBS,
    C_NODES_TRUE,
    C_ROUTE,
    C_SCREEN_PARTICIPANT,
    C_SEER_OBS,
    C_SEER_TRUE,
    C_SEX,
    C_SITES_AT_DX,
    C_SYMPTOMS_AT_DX,
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
from metastasim.units import DAYS_PER_YEAR

T_LABELS = ("Tis", "T1", "T2", "T3", "T4")
RESPONSES = ("partial response", "stable disease", "progression", "complete response (nothing visible)")
MISSED_WHY = ("", "too small for this test", "not covered by this test")
SCAN_PURPOSE = (
    "response assessment",
    "workup after symptoms",
    "workup after a positive screen",
    "incidental imaging",
    "surveillance",
)
DEATH_PHRASES = {
    "liver failure": "liver failure from liver metastases",
    "respiratory failure": "respiratory failure from lung and pleural disease",
    "brain metastases": "brain metastases",
    "overall tumour burden": "the overall tumour burden (about 1 kg of tumour)",
    "complication of treatment": "a complication of treatment",
    "other cause": "another cause, at the rate of people of the same age and sex",
}


def _nan_inf(a: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(a), a, np.nan)


def _labels(codes: np.ndarray, names: tuple[str, ...]) -> pd.Categorical:
    """Codes (-1 for none) as a categorical with missing values."""
    c = np.asarray(codes, np.int64)
    return pd.Categorical.from_codes(np.where((c >= 0) & (c < len(names)), c, -1), categories=list(names))


def _mask_names(masks: np.ndarray, names: list[str]) -> list[str]:
    out = []
    cache: dict[int, str] = {}
    for m in masks.astype(np.int64):
        key = int(m)
        if key not in cache:
            cache[key] = ",".join(names[i] for i in range(len(names)) if key & (1 << i))
        out.append(cache[key])
    return out


def plan_text(mask: int) -> str:
    """Treatments of a plan bitmask, in words."""
    names = [TREATMENTS[i].replace("_", " ") for i in range(len(TREATMENTS)) if mask & (1 << i)]
    return " + ".join(names) if names else "best supportive care"


def clinical_columns(clinic: np.ndarray, t_end: np.ndarray, symptom_day: np.ndarray) -> dict[str, object]:
    """Patient-table columns of the clinical course: who, how diagnosed, stage observed and true, outcome."""
    c = clinic
    age = c[:, C_AGE_ONSET]
    day_dx = _nan_inf(c[:, C_T_DIAGNOSIS])
    day_death = _nan_inf(c[:, C_T_DEATH])
    diagnosed = ~np.isnan(day_dx)
    end = np.where(np.isnan(day_death), t_end, day_death)
    died = ~np.isnan(day_death)
    cause = c[:, C_DEATH_CAUSE].astype(np.int64)
    staged = lambda i, names: _labels(np.where(diagnosed, c[:, i], -1), names)  # noqa: E731
    n_names = tuple(f"N{i}" for i in range(4))
    return {
        "sex": _labels(np.where(age > 0, c[:, C_SEX], -1), ("female", "male")),
        "age_at_onset": np.where(age > 0, age, np.nan),
        "screening_participant": c[:, C_SCREEN_PARTICIPANT] > 0,
        "day_first_symptom": _nan_inf(c[:, C_T_FIRST_SYMPTOM]),
        "first_symptom": _first_symptom(symptom_day),
        "day_diagnosis": day_dx,
        "age_at_diagnosis": age + day_dx / DAYS_PER_YEAR,
        "diagnosis_route": _labels(c[:, C_ROUTE], DIAGNOSIS_ROUTES),
        "symptoms_at_diagnosis": _mask_names(c[:, C_SYMPTOMS_AT_DX], list(SYMPTOM_NAMES)),
        "sites_at_diagnosis": _mask_names(c[:, C_SITES_AT_DX], list(SITES)),
        "t_observed": staged(C_T_OBS, T_LABELS),
        "n_observed": staged(C_N_OBS, n_names),
        "m_observed": staged(C_M_OBS, ("M0", "M1")),
        "stage_observed": staged(C_GROUP_OBS, STAGE_GROUPS),
        "seer_stage_observed": staged(C_SEER_OBS, SEER_STAGES),
        "t_true": staged(C_T_TRUE, T_LABELS),
        "n_true": staged(C_N_TRUE, n_names),
        "m_true": staged(C_M_TRUE, ("M0", "M1")),
        "stage_true": staged(C_GROUP_TRUE, STAGE_GROUPS),
        "seer_stage_true": staged(C_SEER_TRUE, SEER_STAGES),
        "nodes_involved_observed": np.where(diagnosed, c[:, C_NODES_OBS], np.nan),
        "nodes_involved_true": np.where(diagnosed, c[:, C_NODES_TRUE], np.nan),
        "target_positive": c[:, C_TARGET_POSITIVE] > 0,
        "targeted_regression_per_day": c[:, C_TARGETED_REGRESSION],
        "immunotherapy_responder": c[:, C_IMMUNO_RESPONDER] > 0,
        "day_first_treatment": _nan_inf(c[:, C_T_FIRST_TREATMENT]),
        "day_remission": _nan_inf(c[:, C_T_REMISSION]),
        "day_recurrence": _nan_inf(c[:, C_T_RECURRENCE]),
        "n_fractures": c[:, C_N_FRACTURES].astype(np.int64),
        "care_at_end": _labels(c[:, C_CARE], CARE_STATES),
        "died": died,
        "death_cause": _labels(np.where(died, cause, 0), DEATH_CAUSES),
        "day_death": day_death,
        "age_at_death": age + day_death / DAYS_PER_YEAR,
        "years_from_diagnosis": np.where(diagnosed, (end - np.nan_to_num(day_dx)) / DAYS_PER_YEAR, np.nan),
    }


def _first_symptom(symptom_day: np.ndarray) -> pd.Categorical:
    first = np.argmin(symptom_day, axis=1)
    has = np.isfinite(symptom_day.min(axis=1)) if symptom_day.size else np.zeros(len(symptom_day), bool)
    return _labels(np.where(has, first, -1), SYMPTOM_NAMES)


def _detail(kind: str, a: int, b: int, y: int, primary_symptom: str) -> str:
    """One clinical log row in words (numbers are in the cells, diameter_mm and value columns)."""
    if kind == "symptom":
        if SYMPTOM_NAMES[a] == "primary":
            return f"symptom: {primary_symptom} (from the primary tumour)"
        return f"symptom: {SYMPTOM_LABELS[SYMPTOM_NAMES[a]]} (from disease in the organs that cause it)"
    if kind == "visit":
        reasons = ("", "because of symptoms", "after a positive screening test", "incidental finding")
        return f"visit to a doctor ({reasons[a]})"
    if kind == "scan_found":
        return f"{MODALITIES[a]} finds this lesion"
    if kind == "scan_missed":
        return f"{MODALITIES[a]} misses this lesion ({MISSED_WHY[y]})"
    if kind == "scan_summary":
        return f"{MODALITIES[a]} ({SCAN_PURPOSE[y] if 0 <= y < len(SCAN_PURPOSE) else 'scan'}): {b} lesion(s) found"
    if kind == "biopsy":
        return "biopsy confirms the cancer and its type (a metastasis keeps its primary's identity)"
    if kind == "sentinel_node_biopsy":
        return "sentinel node biopsy: " + ("positive" if b else "negative")
    if kind == "diagnosis":
        return f"diagnosis ({DIAGNOSIS_ROUTES[a]})"
    if kind == "stage":
        return (
            f"stage {STAGE_GROUPS[a]} as observed (true stage {STAGE_GROUPS[b]}); "
            f"SEER {SEER_STAGES[int(y) // 8]} observed, {SEER_STAGES[int(y) % 8]} true"
        )
    if kind == "plan":
        return f"treatment plan (stage {STAGE_GROUPS[b]} policy): {plan_text(a)}"
    if kind == "treatment_start":
        return f"{TREATMENTS[a].replace('_', ' ')} begins" + (f" (line {b})" if b else "")
    if kind == "treatment_effect":
        return f"{TREATMENTS[a].replace('_', ' ')}: " + ("lesion eradicated" if y else "lesion shrinks or grows")
    if kind == "treatment_end":
        return f"{TREATMENTS[a].replace('_', ' ')} ends after {b} cycle(s) or course(s)"
    if kind == "surgery":
        margin = "; cells left at the margin" if b else "; margins clear"
        return f"surgery removes {a} lesion(s){margin}"
    if kind == "response":
        return f"response scan: {RESPONSES[a]}"
    if kind == "remission":
        return "no evidence of disease on the first surveillance scan (remission)"
    if kind == "recurrence":
        return "recurrence found" + (f" ({SITES[a] if a < N_SITES else 'primary site'})" if a >= 0 else "")
    if kind == "screen":
        outcome = ("negative", "positive", "positive, but the follow-up was not done")[b]
        return f"screening test ({SCREENING_TESTS[a]}): {outcome}"
    if kind == "organ_failure":
        return f"organ failure: {DEATH_CAUSES[a]}"
    if kind == "death":
        return f"death from {DEATH_PHRASES.get(DEATH_CAUSES[a], DEATH_CAUSES[a])}"
    if kind == "fracture":
        return "pathological fracture (skeletal event)"
    if kind == "target_test":
        return "tumour tested for the drug target: " + ("present" if b else "absent")
    return kind


LESION_KINDS = {"scan_found", "scan_missed", "treatment_effect"}


def clinic_event_columns(o, rb, first_code: int) -> dict[str, np.ndarray]:
    """The clinical log of a chunk as event columns, those of the cascade's events.

    Event codes start at `first_code`; site and route codes are -1 where there is none.
    """
    n = len(o.log_day)
    kind = o.log_kind.astype(np.int64)
    a = o.log_a.astype(np.int64)
    b = o.log_b.astype(np.int64)
    x, yv = o.log_x, o.log_y
    # y packs small codes for some kinds: missed-why and scan purpose; stage packs both SEER stages.
    y_code = np.where(kind == LOG_KINDS.index("stage"), (x.astype(np.int64) * 8 + yv.astype(np.int64)), 0)
    y_code = np.where(
        np.isin(kind, [LOG_KINDS.index("scan_missed"), LOG_KINDS.index("scan_summary")]), yv.astype(np.int64), y_code
    )
    eradicated = (kind == LOG_KINDS.index("treatment_effect")) & (yv <= 0)
    y_code = np.where(kind == LOG_KINDS.index("treatment_effect"), eradicated.astype(np.int64), y_code)
    b_text = np.where(
        np.isin(kind, [LOG_KINDS.index(k) for k in ("scan_found", "scan_missed", "treatment_effect")]), 0, b
    )
    primary_symptom = rb.params.meta.get("primary_symptom", "a symptom of the primary tumour")
    combo = np.stack([kind, a, b_text, y_code], axis=1) if n else np.zeros((0, 4), np.int64)
    uniq, inverse = np.unique(combo, axis=0, return_inverse=True) if n else (combo, np.zeros(0, np.int64))
    combo_texts = [_detail(LOG_KINDS[k], int(aa), int(bb), int(yy), primary_symptom) for k, aa, bb, yy in uniq]
    texts, text_of_combo = np.unique(np.array(combo_texts, dtype=object), return_inverse=True) if n else ([], [])
    inverse = np.asarray(text_of_combo, np.int64)[np.asarray(inverse, np.int64).ravel()] if n else inverse
    is_lesion = np.isin(kind, [LOG_KINDS.index(k) for k in LESION_KINDS])
    lesion = np.where(is_lesion, b, -1)
    pidx = (o.log_patient - rb.pid0).astype(np.int64)
    rows = np.where(is_lesion, rb.base[pidx] + np.maximum(lesion, 0), 0)
    site = np.where(is_lesion, o.site[rows] if len(o.site) else 0, -1)
    node = np.where(is_lesion, o.node[rows] if len(o.node) else -1, -1)
    cells = np.where(kind == LOG_KINDS.index("treatment_effect"), yv, np.nan)
    diameter = np.where(
        np.isin(kind, [LOG_KINDS.index("scan_found"), LOG_KINDS.index("scan_missed")]),
        x,
        rb.diameter_mm(np.nan_to_num(cells)),
    )
    diameter = np.where(
        np.isnan(cells) & ~np.isin(kind, [LOG_KINDS.index("scan_found"), LOG_KINDS.index("scan_missed")]),
        np.nan,
        diameter,
    )
    value = np.where(
        np.isin(kind, [LOG_KINDS.index(k) for k in ("symptom", "treatment_effect", "response")]), x, np.nan
    )
    return {
        "patient_id": o.log_patient,
        "day": o.log_day,
        "event": (first_code + kind).astype(np.int16),
        "lesion_id": lesion.astype(np.int32),
        "site": site,
        "node": node.astype(np.int16),
        "cells": cells,
        "diameter_mm": diameter,
        "route": np.full(n, -1),
        "source_lesion_id": np.full(n, -1, np.int32),
        "detail": np.asarray(texts, dtype=object)[inverse] if n else np.zeros(0, dtype=object),
        "value": value,
    }


__all__ = ["clinic_event_columns", "clinical_columns", "plan_text"]
