"""Run the validation suite: simulate each cancer type's default cohorts and compare them with every target.

Stage at diagnosis comes from the full model (cascade and clinic); metastatic sites from the untreated natural
history (the site of the first distant metastasis to reach 10 mm, a proxy for first metastatic diagnosis, as
in the organotropism test). Each simulated share carries a binomial 95% Wilson interval; a target passes when
that interval overlaps the published interval (validation/targets.py says how each published interval is set).
`validate_all` adds the mechanism targets (Luzzi, imaging, growth, circulation, treatment) of
validation/mechanisms.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from metastasim.cohort.chunks import simulate_tables
from metastasim.cohort.summary import recorded_site_shares, site_patterns, site_shares
from metastasim.params.load import Parameters, load_parameters
from metastasim.validation.targets import Target, targets_for, wilson_interval

#: Years simulated for stage at diagnosis (from the first cell, as `metastasim run`) and for the natural history.
STAGE_YEARS = 30
SITE_YEARS = 20


@dataclass(frozen=True)
class Result:
    """A target with its simulated value, the 95% interval of that value, and the verdict."""

    target: Target
    simulated: float
    sim_low: float
    sim_high: float
    n: int  # patients the simulated share is a share of

    @property
    def passed(self) -> bool:
        """The simulated 95% interval overlaps the published interval."""
        return self.sim_low <= self.target.high and self.sim_high >= self.target.low

    def row(self) -> dict[str, object]:
        """A flat record (for JSON and tables)."""
        return {**asdict(self.target), "simulated": self.simulated, "simulated_low": self.sim_low,
                "simulated_high": self.sim_high, "simulated_n": self.n, "passed": self.passed}


def _share(hits: float, n: int) -> tuple[float, float, float]:
    low, high = wilson_interval(hits, n)
    return (hits / n if n else float("nan")), low, high


def validate_cancer(
    cancer: str, patients: int, seed: int, progress: Callable[[str], None] | None = None,
    params: Parameters | None = None,
) -> list[Result]:
    """Compare one cancer type's cohorts of `patients` patients with each of its targets.

    `params` replaces the shipped defaults (e.g. a calibrated parameter file); it must be of this cancer type.
    """
    return simulate_cohort_targets(params or load_parameters(cancer), targets_for(cancer), patients, seed, progress)


def simulate_cohort_targets(
    params: Parameters, targets: list[Target], patients: int, seed: int,
    progress: Callable[[str], None] | None = None,
) -> list[Result]:
    """Simulate the cohorts the stage and site `targets` need (with `params`) and compare each target.

    The calibration (metastasim.calibration) calls this for every particle, so that it fits exactly the
    quantities `metastasim validate` reports.
    """
    cancer = params.cancer
    results = []
    if any(t.kind == "stage" for t in targets):
        if progress:
            progress(f"{cancer}: {patients} patients, full model, {STAGE_YEARS} years")
        table = simulate_tables(params, seed, 0, patients, STAGE_YEARS, "validate", with_events=False)["patients"]
        stage = table.loc[table["day_diagnosis"].notna(), "seer_stage_observed"]
        for t in (t for t in targets if t.kind == "stage"):
            results.append(Result(t, *_share(float((stage == t.key).sum()), len(stage)), len(stage)))
    if any(t.kind == "site" for t in targets):
        if progress:
            progress(f"{cancer}: {patients} patients, untreated natural history, {SITE_YEARS} years")
        table = simulate_tables(
            params, seed, 0, patients, SITE_YEARS, "validate", with_events=False, natural_history=True
        )["patients"]
        patterns = site_patterns(table)
        shares, _, n = site_shares(patterns)
        for t in (t for t in targets if t.kind == "site"):
            if t.recorded_sites:
                alone, n_recorded = recorded_site_shares(patterns, t.recorded_sites)
                results.append(Result(t, *_share(alone[t.key] * n_recorded, n_recorded), n_recorded))
            else:
                results.append(Result(t, *_share(shares[t.key] * n, n), n))
    return results


def results_frame(results: list[Result]) -> pd.DataFrame:
    """All results as one table, a row per target."""
    return pd.DataFrame([r.row() for r in results])


def validate_all(
    cancers: list[str], patients: int, seed: int, progress: Callable[[str], None] | None = None,
    overrides: Mapping[str, dict[str, Any]] | None = None,
) -> list[Result]:
    """Every target of the cancer types in `cancers`: stage and sites per type, then the mechanism targets.

    The mechanism targets (inefficiency, imaging, growth, circulation, treatment) are those of
    validation/mechanisms.py that belong to the listed types. `overrides` holds parameter changes per cancer
    type (e.g. a calibrated parameter file) applied to every simulation of that type.
    """
    from metastasim.validation.mechanisms import mechanism_results  # imports this module: import when needed

    base = overrides or {}
    results = [
        r for c in cancers
        for r in validate_cancer(c, patients, seed, progress, load_parameters(c, base[c]) if c in base else None)
    ]
    return results + mechanism_results(cancers, patients, seed, progress, base)


#: How values of each Target.unit are printed: (scale, format, suffix). Shares are percentages.
UNIT_FORMATS: dict[str, tuple[float, str, str]] = {
    "share": (100.0, ".1f", "%"),
    "days": (1.0, ".1f", " d"),
    "hours": (1.0, ".2f", " h"),
    "per day": (1.0, ".3f", "/d"),
    "hazard ratio": (1.0, ".2f", ""),
}


def format_value(x: float, unit: str) -> str:
    """One value in its unit: 0.409 share -> "40.9%", 98 days -> "98.0 d", 0.69 hazard ratio -> "0.69"."""
    scale, fmt, suffix = UNIT_FORMATS.get(unit, (1.0, ".3g", f" {unit}"))
    return f"{scale * x:{fmt}}{suffix}"


def format_range(low: float, high: float, unit: str) -> str:
    """An interval in its unit, the unit written once: "38.0-45.0%", "112.0-404.0 d", "0.55-0.87".

    With a negative bound the two are joined by " to " ("-0.006 to -0.003/d"), not by a dash.
    """
    scale, fmt, suffix = UNIT_FORMATS.get(unit, (1.0, ".3g", f" {unit}"))
    joint = " to " if min(low, high) < 0 else "-"
    return f"{scale * low:{fmt}}{joint}{scale * high:{fmt}}{suffix}"


def format_table(results: list[Result]) -> str:
    """The validation table as text: target, published value and interval, simulated value and interval, verdict.

    Values are printed in each target's unit (shares as percent, days as "d", hazard ratios bare).
    """
    width = max([44, *(len(r.target.id) for r in results)])
    lines = [
        f"{'target':<{width}} {'published':>9} {'interval':>15} {'simulated':>9} {'95% interval':>15}  result",
    ]
    for r in results:
        t = r.target
        lines.append(
            f"{t.id:<{width}} {format_value(t.published, t.unit):>9} {format_range(t.low, t.high, t.unit):>15} "
            f"{format_value(r.simulated, t.unit):>9} {format_range(r.sim_low, r.sim_high, t.unit):>15}  "
            f"{'pass' if r.passed else 'FAIL'}"
        )
    passed = sum(r.passed for r in results)
    lines.append(f"{passed} of {len(results)} targets pass (pass: the simulated 95% interval overlaps the published "
                 "interval, which comes from the data's own uncertainty).")
    lines.append("Sources and how each published interval was set: metastasim validate --json.")
    return "\n".join(lines)
