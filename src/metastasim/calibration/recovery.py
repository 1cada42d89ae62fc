"""Parameter recovery: simulate data from known parameters, fit them back, see whether the truth is recovered.

This is how the calibration itself is tested (tests/test_calibrate.py): the synthetic "published" value of
each target is the share simulated with the true parameters in a cohort of `patients`, with the binomial 95%
Wilson interval of that share as its uncertainty, exactly as a published share with its study's n.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from metastasim.calibration.model import Task, evaluate
from metastasim.calibration.spec import CalibrationSpec
from metastasim.validation.targets import Target, wilson_interval


def synthetic_targets(spec: CalibrationSpec, truth: dict[str, Any], patients: int, seed: int) -> list[Target]:
    """The spec's targets with published values simulated from `truth` (a cohort of `patients`, `seed`)."""
    stats = evaluate(Task(spec.cancer, {**spec.fixed, **truth}, tuple(spec.targets), patients, seed))
    out = []
    for t in spec.targets:
        share, n = stats[t.id]
        low, high = wilson_interval(share * n, n)
        out.append(
            dataclasses.replace(
                t,
                published=share,
                low=low,
                high=high,
                uncertainty=f"binomial 95% interval of a synthetic cohort, n={n}",
                source=f"simulated with {truth} (seed {seed}, {patients} patients)",
            )
        )
    return out


def recovery_spec(spec: CalibrationSpec, truth: dict[str, Any], patients: int, seed: int) -> CalibrationSpec:
    """A copy of `spec` fitted to synthetic targets simulated from `truth` (named so it is stored apart)."""
    return dataclasses.replace(
        spec, name=f"{spec.name}-recovery", targets=synthetic_targets(spec, truth, patients, seed)
    )
