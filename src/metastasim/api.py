"""The public Python API: a patient or a cohort in a few lines, results as pandas DataFrames.

>>> import metastasim as ms
>>> story = ms.simulate_patient("colorectal", seed=7)       # doctest: +SKIP
>>> story.events.head()                                      # doctest: +SKIP
>>> cohort = ms.run_cohort("colorectal", patients=1000, years=10, seed=1)   # doctest: +SKIP
>>> cohort.summary["distant_metastasis_fraction"]            # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from metastasim.cohort.run import DEFAULT_DB, CohortConfig, CohortResult
from metastasim.cohort.run import run_cohort as _run_cohort
from metastasim.data import read_toml
from metastasim.engine.patient import PatientSimulation
from metastasim.errors import ScenarioError, unknown_key_message
from metastasim.params.load import flatten_overrides, load_parameters
from metastasim.report.story import format_story
from metastasim.storage.store import RunStore


@dataclass
class PatientStory:
    """One simulated patient: a one-row ``patient`` summary, ``lesions``, ``events`` and ``timeseries``."""

    patient: pd.Series
    lesions: pd.DataFrame
    events: pd.DataFrame
    timeseries: pd.DataFrame
    label: str

    @property
    def disease(self) -> str:
        """The disease named after its primary, with its metastatic sites."""
        return str(self.patient["disease"])

    def text(self) -> str:
        """The readable timeline."""
        return format_story(self.patient, self.lesions, self.events, self.label)


def simulate_patient(
    cancer: str = "colorectal",
    seed: int = 1,
    patient_id: int = 0,
    years: int = 40,
    overrides: dict[str, Any] | None = None,
    natural_history: bool = False,
) -> PatientStory:
    """Simulate one virtual patient from the first malignant cell for `years` years.

    With `natural_history`, the clinic is off: the disease runs untreated (no diagnosis, no other-cause death).
    """
    params = load_parameters(cancer, overrides)
    sim = PatientSimulation(params, seed, patient_id, years, natural_history=natural_history).advance_to()
    tables = sim.tables()
    return PatientStory(
        tables["patients"].iloc[0],
        tables["lesions"],
        tables["events"],
        tables["timeseries"],
        params.meta.get("label", cancer),
    )


def branch_patient(
    cancer: str,
    arms: list[str],
    seed: int = 1,
    patient_id: int = 0,
    years: int = 40,
) -> dict[str, PatientStory]:
    """Simulate one patient up to diagnosis, save that state, and continue it under each named policy.

    Policies are named in ``data/policies.toml``; the branches share everything before diagnosis.
    """
    policies = load_policies()
    for arm in arms:
        if arm not in policies:
            raise ScenarioError(unknown_key_message("treatment policy", arm, tuple(policies)))
    params = load_parameters(cancer)
    sim = PatientSimulation(params, seed, patient_id, years)
    if not sim.advance_to_diagnosis():
        raise ScenarioError(f"patient {patient_id} (seed {seed}) is not diagnosed within {years} years; try another")
    stories = {}
    for arm in arms:
        branch = sim.with_params(load_parameters(cancer, policies[arm])).advance_to()
        t = branch.tables()
        stories[arm] = PatientStory(
            t["patients"].iloc[0], t["lesions"], t["events"], t["timeseries"], params.meta.get("label", cancer)
        )
    return stories


def load_policies() -> dict[str, dict[str, Any]]:
    """Named treatment policies (parameter overrides of the clinic) from data/policies.toml."""
    data = read_toml("policies.toml")
    return {name: flatten_overrides(table.get("parameters", {})) for name, table in data.items()}


def run_cohort(
    cancer: str = "colorectal",
    patients: int = 1000,
    years: int = 20,
    seed: int = 1,
    db: str | RunStore = DEFAULT_DB,
    workers: int = 1,
    chunk_size: int | None = None,
    overrides: dict[str, Any] | None = None,
    events: bool = True,
    progress: bool = False,
) -> CohortResult:
    """Simulate and store a cohort; the result gives its summary and its tables as DataFrames.

    Use ``db=":memory:"`` to keep nothing on disk. `chunk_size` None: the default of
    cohort.run.default_chunk_size (4,000 patients, fewer for small cohorts); results do not depend on it.
    """
    config = CohortConfig(
        cancer=cancer,
        patients=patients,
        years=years,
        seed=seed,
        chunk_size=chunk_size,
        workers=workers,
        overrides=overrides or {},
        events=events,
    )
    return _run_cohort(config, db=db, progress=progress)


__all__ = [
    "PatientSimulation",
    "PatientStory",
    "branch_patient",
    "load_parameters",
    "load_policies",
    "run_cohort",
    "simulate_patient",
]
