"""Clinical summaries of a cohort.

Stage at diagnosis beside SEER, survival by stage, causes of death, symptoms at presentation by site.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from metastasim.clinic.codes import SEER_STAGES, STAGE_GROUPS
from metastasim.data.reference import load_reference
from metastasim.report.survival import survival_at, survival_by_group_at

#: Cancer types whose reference row in stage_at_diagnosis.csv has another name.
STAGE_REFERENCE_NAME = {"lung_nsclc": "lung"}


def stage_reference(cancer: str) -> dict[str, float | None]:
    """Published SEER stage shares (percent of cases) for `cancer`, renormalised to staged cases.

    The published shares of some rows leave out unstaged cases (they sum to less than 100); the model
    stages everyone, so when all three shares are given they are rescaled to sum to 100. Missing shares
    stay missing.
    """
    ref = load_reference("stage_at_diagnosis")
    name = STAGE_REFERENCE_NAME.get(cancer, cancer)
    row = ref[ref["cancer"] == name]
    if row.empty:
        return {s: None for s in SEER_STAGES}
    r = row.iloc[0]
    values = {s: (None if pd.isna(r[f"{s}_pct"]) else float(r[f"{s}_pct"])) for s in SEER_STAGES}
    if all(v is not None for v in values.values()):
        total = sum(v for v in values.values() if v is not None)
        values = {k: 100.0 * v / total for k, v in values.items() if v is not None}
    return values


def _diagnosed_only(patients: pd.DataFrame) -> pd.DataFrame:
    """The diagnosed rows (the frame itself, not a copy, when every row is diagnosed)."""
    diagnosed = patients["day_diagnosis"].notna()
    return patients if bool(diagnosed.all()) else patients[diagnosed]


def stage_table(cancer: str, patients: pd.DataFrame) -> pd.DataFrame:
    """Observed and true SEER stage at diagnosis (percent of diagnosed patients) beside the reference."""
    dx = _diagnosed_only(patients)
    ref = stage_reference(cancer)
    rows = []
    for s in SEER_STAGES:
        obs = 100.0 * float((dx["seer_stage_observed"] == s).mean()) if len(dx) else np.nan
        true = 100.0 * float((dx["seer_stage_true"] == s).mean()) if len(dx) else np.nan
        published = ref[s]
        rows.append(
            {
                "stage": s,
                "simulated_percent": obs,
                "true_percent": true,
                "published_percent": published,
                "difference_points": (obs - published) if published is not None else np.nan,
            }
        )
    return pd.DataFrame(rows)


def survival_frame(patients: pd.DataFrame) -> pd.DataFrame:
    """Diagnosed patients with years from diagnosis and death (any cause) as the event.

    Only the columns the summary reads are kept (a cohort of millions is summarised in bounded memory).
    """
    dx = _diagnosed_only(patients)
    return pd.DataFrame(
        {
            "years": dx["years_from_diagnosis"].astype(float),
            "died": dx["died"].astype(np.int8),
            **{c: dx[c] for c in SURVIVAL_GROUP_COLUMNS if c in dx},
        }
    )


#: The columns `survival_frame` keeps beside the follow-up and the event.
SURVIVAL_GROUP_COLUMNS = (
    "age_at_diagnosis", "diagnosis_route", "seer_stage_observed", "stage_observed", "sites_at_diagnosis",
    "symptoms_at_diagnosis",
)


#: The patient columns `clinical_summary` reads.
CLINICAL_COLUMNS = (
    "patient_id", "day_diagnosis", "years_from_diagnosis", "died", "age_at_diagnosis", "diagnosis_route",
    "seer_stage_observed", "seer_stage_true", "stage_observed", "sites_at_diagnosis", "symptoms_at_diagnosis",
)


def clinical_summary(
    cancer: str, diagnosed: pd.DataFrame, n_patients: int, death_causes: dict[str, int], deaths: int
) -> dict[str, Any]:
    """JSON-ready clinical summary (see the module docstring).

    Args:
        cancer: cancer type.
        diagnosed: the diagnosed patients (at least the CLINICAL_COLUMNS).
        n_patients: all patients of the cohort.
        death_causes: deaths by recorded cause.
        deaths: all deaths.
    """
    dx = survival_frame(diagnosed)
    n_dx = len(dx)
    stages = stage_table(cancer, diagnosed)
    stage_share = {r.stage: (r.simulated_percent / 100.0 if n_dx else None) for r in stages.itertuples()}
    by_seer = survival_by_group_at(dx, "seer_stage_observed", 5.0) if n_dx else {}
    by_group = survival_by_group_at(dx, "stage_observed", 5.0) if n_dx else {}
    km = survival_at(dx, (1, 2, 5, 10), group="seer_stage_observed") if n_dx else pd.DataFrame()
    recorded = sum(death_causes.values())
    causes = {c: k / recorded for c, k in sorted(death_causes.items(), key=lambda kv: -kv[1])}
    # Columns may be categorical (as the run store loads them): string work is done on the few metastatic rows.
    sites = dx["sites_at_diagnosis"]
    metastatic = dx.loc[sites.notna() & (sites != ""), ["sites_at_diagnosis", "symptoms_at_diagnosis"]].astype(object)
    presentation: dict[str, dict[str, float]] = {}
    for site in ("liver", "lung", "bone", "brain", "peritoneum"):
        has = metastatic[metastatic["sites_at_diagnosis"].str.split(",").apply(lambda x, s=site: s in x)]
        if len(has):
            syms = has["symptoms_at_diagnosis"].fillna("").str.split(",").explode()
            counts = syms[syms != ""].value_counts() / len(has)
            presentation[site] = {k: round(float(v), 3) for k, v in counts.head(6).items()}
    routes = dx["diagnosis_route"].value_counts(normalize=True)
    return {
        "patients_diagnosed": n_dx,
        "diagnosed_fraction": n_dx / n_patients if n_patients else 0.0,
        "diagnosis_route": {str(k): float(v) for k, v in routes.items() if v > 0},  # no empty categories
        "median_age_at_diagnosis": float(dx["age_at_diagnosis"].median()) if n_dx else None,
        "stage_at_diagnosis": stage_share,
        "stage_at_diagnosis_true": {r.stage: r.true_percent / 100.0 for r in stages.itertuples()} if n_dx else {},
        "stage_at_diagnosis_published_percent": stage_reference(cancer),
        "stage_group_at_diagnosis": {g: float((dx["stage_observed"] == g).mean()) for g in STAGE_GROUPS}
        if n_dx
        else {},
        "survival_5y_by_stage": {s: _finite(by_seer.get(s)) for s in SEER_STAGES},
        "survival_5y_by_stage_group": {g: _finite(by_group.get(g)) for g in STAGE_GROUPS},
        "survival_km_by_stage": km.replace({np.nan: None}).to_dict(orient="records") if len(km) else [],
        "causes_of_death": {str(k): float(v) for k, v in causes.items() if v > 0},
        "deaths": deaths,
        "symptoms_at_presentation_by_site": presentation,
    }


def _finite(x: float | None) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


__all__ = ["clinical_summary", "stage_reference", "stage_table", "survival_frame"]
