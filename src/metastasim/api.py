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
from metastasim.engine.patient import PatientSimulation
from metastasim.params.load import load_parameters
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
    years: int = 20,
    overrides: dict[str, Any] | None = None,
) -> PatientStory:
    """Simulate one virtual patient from the first malignant cell for `years` years."""
    params = load_parameters(cancer, overrides)
    sim = PatientSimulation(params, seed, patient_id, years).advance_to()
    tables = sim.tables()
    return PatientStory(
        tables["patients"].iloc[0],
        tables["lesions"],
        tables["events"],
        tables["timeseries"],
        params.meta.get("label", cancer),
    )


def run_cohort(
    cancer: str = "colorectal",
    patients: int = 1000,
    years: int = 20,
    seed: int = 1,
    db: str | RunStore = DEFAULT_DB,
    workers: int = 1,
    chunk_size: int = 2000,
    overrides: dict[str, Any] | None = None,
    events: bool = True,
    progress: bool = False,
) -> CohortResult:
    """Simulate and store a cohort; the result gives its summary and its tables as DataFrames.

    Use ``db=":memory:"`` to keep nothing on disk.
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


__all__ = ["PatientSimulation", "PatientStory", "load_parameters", "run_cohort", "simulate_patient"]
