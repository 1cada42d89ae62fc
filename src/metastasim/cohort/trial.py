"""In-silico trials: two or more arms on the same virtual patients, with common random numbers.

Every arm simulates the same patient ids with the same seed. Each random decision draws from its own
named stream keyed by patient and lesion (rng.streams), so arms that differ only in the clinic (treatment
policy, screening programme, imaging) have identical disease histories until the first place they differ.
Arms may therefore change only clinic parameters; changing biology would compare different patients.

```toml
name = "adjuvant-colon"
[trial]
cancer = "colorectal"
patients = 20000
years = 30
seed = 1
population_stage = "III"     # optional: patients diagnosed at this stage group in the first arm
endpoint = "diagnosis"       # survival from diagnosis ("diagnosis") or from onset ("onset")
[arms.surgery_alone.parameters]
"treatment.plan_stage_III" = ["surgery"]
[arms.adjuvant_chemo.parameters]
"treatment.plan_stage_III" = ["surgery", "adjuvant_chemotherapy"]
```
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metastasim.clinic.codes import SEER_STAGES, STAGE_GROUPS
from metastasim.cohort.run import CohortConfig, run_cohort
from metastasim.errors import ScenarioError, unknown_key_message
from metastasim.params.load import flatten_overrides, load_parameters
from metastasim.params.scenario import read_toml_file
from metastasim.report.survival import hazard_ratios, km_plot_html, km_plot_png, survival_at
from metastasim.storage.store import RunStore
from metastasim.units import DAYS_PER_YEAR

#: Parameter sections an arm may change: the clinic, never the biology.
CLINIC_SECTIONS = ("symptoms", "clinic", "screening", "treatment", "organs", "patient")
#: Biology parameters an arm may change because they act only under treatment: resistance to the targeted
#: drug and to chemotherapy (resistant subclones have their own random streams and change nothing else in an
#: untreated course).
TREATMENT_ONLY_BIOLOGY = (
    "evolution.point_mutation_rate_per_bp",
    "evolution.resistance_mutations",
    "evolution.chemo_resistance_rate_per_cell",
)
TRIAL_KEYS = ("cancer", "patients", "years", "seed", "chunk_size", "workers", "population_stage", "endpoint")
SECTIONS = ("name", "description", "trial", "arms")
ENDPOINTS = ("diagnosis", "onset")


@dataclass
class TrialSpec:
    """A validated trial scenario."""

    name: str
    description: str
    cancer: str = "colorectal"
    patients: int = 5000
    years: int = 30
    seed: int = 1
    chunk_size: int = 2000
    workers: int = 1
    population_stage: str | None = None
    endpoint: str = "diagnosis"
    arms: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Parameter changes shared by every arm (e.g. a calibrated parameter file), applied before the arm's own.
    base_parameters: dict[str, Any] = field(default_factory=dict)


def read_trial(path: str | Path) -> TrialSpec:
    """Read and validate a trial scenario file (clear one-line errors, nothing run on a bad file)."""
    p = Path(path)
    data = read_toml_file(p, SECTIONS, "trial scenario")
    trial = data.get("trial", {})
    for key in trial:
        if key not in TRIAL_KEYS:
            raise ScenarioError(f"{p}: " + unknown_key_message("key in [trial]", key, TRIAL_KEYS))
    spec = TrialSpec(name=str(data.get("name", p.stem)), description=str(data.get("description", "")))
    for key, value in trial.items():
        setattr(spec, key, value)
    if spec.endpoint not in ENDPOINTS:
        raise ScenarioError(f"{p}: endpoint = {spec.endpoint!r}; choose one of: {', '.join(ENDPOINTS)}")
    if spec.population_stage is not None and spec.population_stage not in STAGE_GROUPS:
        raise ScenarioError(
            f"{p}: population_stage = {spec.population_stage!r}; choose one of: {', '.join(STAGE_GROUPS)}"
        )
    arms = data.get("arms", {})
    if not isinstance(arms, dict) or len(arms) < 2:
        raise ScenarioError(f"{p}: a trial needs at least two arms ([arms.NAME] tables)")
    for arm, table in arms.items():
        if not isinstance(table, dict):
            raise ScenarioError(f"{p}: [arms.{arm}] must be a table")
        for key in table:
            if key not in ("parameters", "label"):
                raise ScenarioError(
                    f"{p}: " + unknown_key_message(f"key in [arms.{arm}]", key, ("parameters", "label"))
                )
        overrides = flatten_overrides(table.get("parameters", {}))
        for name in overrides:
            if name.split(".")[0] not in CLINIC_SECTIONS and name not in TREATMENT_ONLY_BIOLOGY:
                raise ScenarioError(
                    f"{p}: arm '{arm}' changes {name}, a biology parameter; arms may change only clinic "
                    f"parameters ({', '.join(s + '.*' for s in CLINIC_SECTIONS)}) so that they share their patients"
                )
        try:
            load_parameters(str(spec.cancer), overrides)
        except ScenarioError as exc:
            raise ScenarioError(f"{p}: arm '{arm}': {exc}") from exc
        spec.arms[arm] = {"label": str(table.get("label", arm)), "parameters": overrides}
    CohortConfig(spec.cancer, spec.patients, spec.years, spec.seed, spec.chunk_size, spec.workers).validate()
    return spec


@dataclass
class TrialResult:
    """Per-patient outcomes of every arm and the comparisons between them."""

    spec: TrialSpec
    run_ids: dict[str, str]
    outcomes: pd.DataFrame  # one row per arm and patient in the trial population
    summary: dict[str, Any]


def _outcomes(arm: str, patients: pd.DataFrame, endpoint: str) -> pd.DataFrame:
    df = patients[
        [
            "patient_id",
            "day_diagnosis",
            "seer_stage_observed",
            "stage_observed",
            "died",
            "death_cause",
            "day_death",
            "day_end",
        ]
    ].copy()
    df["arm"] = arm
    end = df["day_death"].fillna(df["day_end"])
    origin = df["day_diagnosis"] if endpoint == "diagnosis" else 0.0
    df["years"] = (end - origin) / DAYS_PER_YEAR
    df["died"] = df["died"].astype(int)
    df["cancer_death"] = df["death_cause"].isin(
        [
            "liver failure",
            "respiratory failure",
            "brain metastases",
            "overall tumour burden",
            "complication of treatment",
        ]
    )
    return df


def run_trial(spec: TrialSpec, db: str = "metastasim.duckdb", progress: bool = True) -> TrialResult:
    """Simulate every arm (each stored as a run in the DuckDB file) and compare them."""
    store = RunStore(db)
    run_ids: dict[str, str] = {}
    frames = []
    for arm, table in spec.arms.items():
        config = CohortConfig(
            spec.cancer,
            spec.patients,
            spec.years,
            spec.seed,
            spec.chunk_size,
            spec.workers,
            {**spec.base_parameters, **table["parameters"]},
            events=False,
            scenario={"trial": spec.name, "arm": arm, "base_parameters": spec.base_parameters},
        )
        result = run_cohort(config, db=store, progress=progress)
        run_ids[arm] = result.run_id
        frames.append(_outcomes(arm, store.table(result.run_id, "patients"), spec.endpoint))
    all_arms = pd.concat(frames, ignore_index=True)
    first = next(iter(spec.arms))
    base = all_arms[all_arms["arm"] == first]
    population = base["patient_id"]
    if spec.population_stage is not None:
        population = base.loc[base["stage_observed"] == spec.population_stage, "patient_id"]
    if spec.endpoint == "diagnosis":
        # Survival from diagnosis: patients diagnosed in the arm (screening arms diagnose earlier).
        keep = all_arms["patient_id"].isin(population) & all_arms["day_diagnosis"].notna()
    else:
        keep = all_arms["patient_id"].isin(population)
    outcomes = all_arms[keep].reset_index(drop=True)
    return TrialResult(spec, run_ids, outcomes, _compare(spec, all_arms, outcomes, first))


def _compare(spec: TrialSpec, all_arms: pd.DataFrame, outcomes: pd.DataFrame, reference: str) -> dict[str, Any]:
    hr = hazard_ratios(outcomes, arm="arm", reference=reference)
    surv = survival_at(outcomes, (1, 2, 5, 10), group="arm")
    arms = {}
    n = spec.patients
    ref_cancer = int(all_arms.loc[all_arms["arm"] == reference, "cancer_death"].sum())
    for arm in spec.arms:
        a = all_arms[all_arms["arm"] == arm]
        dx = a[a["day_diagnosis"].notna()]
        cancer_deaths = int(a["cancer_death"].sum())
        arms[arm] = {
            "label": spec.arms[arm]["label"],
            "diagnosed": len(dx),
            "stage_at_diagnosis": {
                s: float((dx["seer_stage_observed"] == s).mean()) if len(dx) else None for s in SEER_STAGES
            },
            "patients_in_analysis": int((outcomes["arm"] == arm).sum()),
            "deaths_any_cause": int(a["died"].sum()),
            "cancer_deaths": cancer_deaths,
            "cancer_deaths_averted_per_1000": 1000.0 * (ref_cancer - cancer_deaths) / n,
        }
    return {
        "name": spec.name,
        "description": spec.description,
        "cancer": spec.cancer,
        "patients": spec.patients,
        "years": spec.years,
        "seed": spec.seed,
        "population_stage": spec.population_stage,
        "endpoint": f"death from any cause, years from {spec.endpoint}",
        "reference_arm": reference,
        "arms": arms,
        "hazard_ratios": hr.replace({np.nan: None}).to_dict(orient="records"),
        "survival": surv.replace({np.nan: None}).to_dict(orient="records"),
        "disclaimer": "Educational and research simulation on virtual patients; not medical advice.",
    }


def write_trial_outputs(result: TrialResult, directory: str | Path) -> list[Path]:
    """Write the KM curves (PNG and interactive HTML) and the summary JSON into `directory`."""
    import json

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    title = f"{result.spec.name}: survival from {result.spec.endpoint} ({result.spec.cancer})"
    png, html, js = out / "km.png", out / "km.html", out / "summary.json"
    km_plot_png(result.outcomes, png, group="arm", title=title)
    km_plot_html(result.outcomes, html, group="arm", title=title)
    tmp = js.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result.summary, indent=1, default=str), encoding="utf-8")
    tmp.replace(js)
    return [png, html, js]


def format_trial(summary: dict[str, Any], files: list[Path]) -> str:
    """The trial's results as text."""
    from metastasim.report.story import COHORT_DISCLAIMER

    lines = [
        f"metastasim trial '{summary['name']}': {summary['cancer']}, {summary['patients']} virtual patients "
        f"per arm, {summary['years']} years, seed {summary['seed']} (common random numbers)",
        COHORT_DISCLAIMER,
    ]
    if summary["description"]:
        lines.append(summary["description"])
    pop = (
        f"diagnosed at stage {summary['population_stage']} in the reference arm"
        if summary["population_stage"]
        else "all patients"
    )
    lines += [
        "",
        f"Population: {pop}; endpoint: {summary['endpoint']}.",
        "",
        f"{'arm':<24}{'analysed':>9}{'localized':>10}{'regional':>9}{'distant':>8}"
        f"{'cancer deaths':>14}{'averted/1000':>13}",
    ]
    for a in summary["arms"].values():
        st = a["stage_at_diagnosis"]
        f = lambda x: "    —" if x is None else f"{100 * x:6.1f}%"  # noqa: E731
        lines.append(
            f"{a['label'][:23]:<24}{a['patients_in_analysis']:>9}{f(st['localized']):>10}"
            f"{f(st['regional']):>9}{f(st['distant']):>8}{a['cancer_deaths']:>14}"
            f"{a['cancer_deaths_averted_per_1000']:>13.1f}"
        )
    lines += ["", f"Hazard ratios (Cox model) against '{summary['reference_arm']}':"]
    for r in summary["hazard_ratios"]:
        if r["hazard_ratio"] is None:
            lines.append(f"  {r['arm']}: not estimable ({r['note']})")
        else:
            lines.append(
                f"  {r['arm']}: HR {r['hazard_ratio']:.3f} (95% CI {r['lower_95']:.3f}-{r['upper_95']:.3f}), "
                f"p = {r['p_value']:.3g}, {r['deaths']} deaths in {r['n']}"
            )
    lines.append("Kaplan-Meier survival:")
    for r in summary["survival"]:
        if r["years"] in (1, 5, 10) and r["survival"] is not None:
            lines.append(
                f"  {r['group']:<24} {r['years']:>2} y: {100 * r['survival']:5.1f}% "
                f"({100 * r['lower_95']:.1f}-{100 * r['upper_95']:.1f})"
            )
    lines += ["", "Written: " + ", ".join(str(f) for f in files)]
    return "\n".join(lines)


__all__ = ["TrialResult", "TrialSpec", "format_trial", "read_trial", "run_trial", "write_trial_outputs"]
