"""One simulation of a calibration: a cohort with one parameter set, reduced to the targets' statistics.

`evaluate` is a plain top-level function of picklable arguments, so a process pool or a Dask worker can run
it; it simulates exactly what `metastasim validate` simulates (validation.suite.simulate_cohort_targets).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from metastasim.params.load import load_parameters
from metastasim.validation.suite import simulate_cohort_targets
from metastasim.validation.targets import Target


@dataclass(frozen=True)
class Task:
    """Everything one simulation needs."""

    cancer: str
    overrides: dict[str, Any]  # fixed changes and the particle's values, by dotted name
    targets: tuple[Target, ...]
    patients: int
    seed: int


def evaluate(task: Task) -> dict[str, tuple[float, int]]:
    """Simulate the task's cohorts; return {target id: (simulated share, patients it is a share of)}."""
    params = load_parameters(task.cancer, task.overrides)
    results = simulate_cohort_targets(params, list(task.targets), task.patients, task.seed)
    return {r.target.id: (float(r.simulated), int(r.n)) for r in results}
