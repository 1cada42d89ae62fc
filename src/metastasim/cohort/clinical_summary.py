"""Clinical summaries of a cohort.

Stage at diagnosis beside SEER, survival by stage, causes of death, symptoms at presentation by site.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from metastasim.clinic.codes import SEER_STAGES, STAGE_GROUPS
from metastasim.data.reference import load_reference
from metastasim.report.survival import KaplanMeierCurve, kaplan_meier

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


#: The diagnosed patients of one run, as a SQL condition on the ``patients`` table (its parameter: the run id).
DIAGNOSED = "run_id = ? AND day_diagnosis IS NOT NULL"


def _shares(con: duckdb.DuckDBPyConnection, run_id: str, column: str, values: tuple[str, ...]) -> dict[str, float]:
    """Share of the diagnosed patients whose `column` equals each of `values` (missing values count as none)."""
    picks = ", ".join(f"avg(({column} = ?)::INTEGER::DOUBLE)" for _ in values)
    row = con.execute(f"SELECT {picks} FROM patients WHERE {DIAGNOSED}", [*values, run_id]).fetchall()[0]
    return {v: float(x) if x is not None else 0.0 for v, x in zip(values, row, strict=True)}


def _curves(con: duckdb.DuckDBPyConnection, run_id: str, group: str) -> Iterator[KaplanMeierCurve]:
    """Kaplan–Meier curve of survival from diagnosis for each value of `group`, in order of first patient.

    Only one group's follow-up times and events are in memory at a time (two numbers a patient), so a cohort
    of ten million is summarised in bounded memory.
    """
    labels = con.execute(
        f"SELECT {group} FROM patients WHERE {DIAGNOSED} AND {group} IS NOT NULL GROUP BY 1 ORDER BY min(patient_id)",
        [run_id],
    ).fetchall()
    for (label,) in labels:
        arrays = con.execute(
            f"SELECT years_from_diagnosis::DOUBLE AS years, died::DOUBLE AS died FROM patients "
            f"WHERE {DIAGNOSED} AND {group} = ?",
            [run_id, label],
        ).fetchnumpy()
        yield kaplan_meier(str(label), np.asarray(arrays["years"], float), np.asarray(arrays["died"], float))


def _presentation(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, dict[str, float]]:
    """The six commonest symptoms at diagnosis (share of patients) among those diagnosed with each site involved."""
    out: dict[str, dict[str, float]] = {}
    for site in ("liver", "lung", "bone", "brain", "peritoneum"):
        has = f"{DIAGNOSED} AND list_contains(string_split(sites_at_diagnosis, ','), ?)"
        n = con.execute(f"SELECT count(*) FROM patients WHERE {has}", [run_id, site]).fetchall()[0][0]
        if not n:
            continue
        rows = con.execute(
            "SELECT symptom, count(*) AS k FROM (SELECT unnest(string_split(coalesce(symptoms_at_diagnosis, ''), ',')) "
            f"AS symptom FROM patients WHERE {has}) WHERE symptom <> '' GROUP BY 1 ORDER BY k DESC, symptom LIMIT 6",
            [run_id, site],
        ).fetchall()
        out[site] = {str(k): round(c / n, 3) for k, c in rows}
    return out


def clinical_summary(
    cancer: str,
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    n_patients: int,
    death_causes: dict[str, int],
    deaths: int,
) -> dict[str, Any]:
    """JSON-ready clinical summary (see the module docstring) of one run in the ``patients`` table of `con`.

    Shares, the median age and symptom counts are computed in DuckDB; survival curves load one stage's follow-up
    times at a time, so memory stays bounded for cohorts of millions.

    Args:
        cancer: cancer type.
        con: DuckDB connection with a ``patients`` table (the run store's, or registered frames).
        run_id: the run to summarise.
        n_patients: all patients of the cohort.
        death_causes: deaths by recorded cause.
        deaths: all deaths.
    """
    n_dx, age = con.execute(f"SELECT count(*), median(age_at_diagnosis) FROM patients WHERE {DIAGNOSED}",
                            [run_id]).fetchall()[0]
    n_dx = int(n_dx)
    observed = _shares(con, run_id, "seer_stage_observed", SEER_STAGES) if n_dx else {}
    true = _shares(con, run_id, "seer_stage_true", SEER_STAGES) if n_dx else {}
    by_seer: dict[str, float] = {}
    km_rows = []
    for c in _curves(con, run_id, "seer_stage_observed") if n_dx else ():
        by_seer[c.label] = c.at(5.0)[0]
        for t in (1.0, 2.0, 5.0, 10.0):
            s, lo, hi = c.at(t)
            km_rows.append((c.label, t, s, lo, hi, c.n_at_risk(t)))
    by_group = {c.label: c.at(5.0)[0] for c in _curves(con, run_id, "stage_observed")} if n_dx else {}
    km = pd.DataFrame(km_rows, columns=["group", "years", "survival", "lower_95", "upper_95", "n_at_risk"])
    recorded = sum(death_causes.values())
    causes = {c: k / recorded for c, k in sorted(death_causes.items(), key=lambda kv: -kv[1])}
    routes = con.execute(
        f"SELECT diagnosis_route, count(*) FROM patients WHERE {DIAGNOSED} AND diagnosis_route IS NOT NULL "
        "GROUP BY 1 ORDER BY 2 DESC, 1",
        [run_id],
    ).fetchall()
    n_routes = sum(k for _, k in routes)
    return {
        "patients_diagnosed": n_dx,
        "diagnosed_fraction": n_dx / n_patients if n_patients else 0.0,
        "diagnosis_route": {str(r): k / n_routes for r, k in routes if k > 0},
        "median_age_at_diagnosis": float(age) if n_dx and age is not None else None,
        "stage_at_diagnosis": {s: (observed[s] if n_dx else None) for s in SEER_STAGES},
        "stage_at_diagnosis_true": true,
        "stage_at_diagnosis_published_percent": stage_reference(cancer),
        "stage_group_at_diagnosis": _shares(con, run_id, "stage_observed", STAGE_GROUPS) if n_dx else {},
        "survival_5y_by_stage": {s: _finite(by_seer.get(s)) for s in SEER_STAGES},
        "survival_5y_by_stage_group": {g: _finite(by_group.get(g)) for g in STAGE_GROUPS},
        "survival_km_by_stage": km.replace({np.nan: None}).to_dict(orient="records") if len(km) else [],
        "causes_of_death": {str(k): float(v) for k, v in causes.items() if v > 0},
        "deaths": deaths,
        "symptoms_at_presentation_by_site": _presentation(con, run_id) if n_dx else {},
    }


def _finite(x: float | None) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


__all__ = ["clinical_summary", "stage_reference"]
