"""Calibration scenarios: which parameters to fit, within which priors, to which validation targets.

```toml
name = "colorectal"
description = "Organotropism and stage at diagnosis of colorectal cancer"

[calibration]
cancer = "colorectal"
targets = ["stage_at_diagnosis.colorectal.*", "metastatic_sites.colorectal.*"]   # ids or patterns
patients = 1000            # patients per simulated cohort (one cohort per particle)
population = 100           # accepted particles per generation
max_generations = 8
min_epsilon = 0.5          # stop once the distance threshold is this small
min_acceptance_rate = 0.02 # stop once fewer proposals than this are accepted
max_minutes = 55           # stop after the generation that passes this wall time
seed = 1

[priors]
"shedding.lymph_rate" = { distribution = "loguniform", low = 5e-4, high = 8e-3 }
"colonisation.soil_affinity.lung" = { distribution = "uniform", low = 0.1, high = 3 }

[parameters]               # optional fixed changes to the defaults, as in a run scenario
```

Every name is checked against the parameter schema and every prior bound against the parameter's valid
range, so a typo or an impossible prior fails before any simulation, with the nearest valid name.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from metastasim.engine.kernel_params import build_kernel_params
from metastasim.errors import ScenarioError, unknown_key_message
from metastasim.params.load import check_cancer, flatten_overrides, load_parameters
from metastasim.params.scenario import read_toml_file
from metastasim.validation.targets import Target, targets_for

SECTIONS = ("name", "description", "calibration", "priors", "parameters")
DISTRIBUTIONS = ("uniform", "loguniform")
#: Target kinds a calibration can fit: those simulate_cohort_targets computes from a cohort.
FITTABLE_KINDS = ("stage", "site")


@dataclass(frozen=True)
class Prior:
    """A prior on one parameter: uniform on [low, high], or uniform in log10 on [low, high] (loguniform)."""

    name: str
    distribution: str
    low: float
    high: float

    def to_abc(self, value: float) -> float:
        """The parameter value in the space the sampler works in (log10 for a loguniform prior)."""
        return math.log10(value) if self.distribution == "loguniform" else value

    def from_abc(self, x: float) -> float:
        """The parameter value of a point in the sampler's space."""
        return 10.0**x if self.distribution == "loguniform" else x

    @property
    def abc_bounds(self) -> tuple[float, float]:
        """The prior's support in the sampler's space."""
        return self.to_abc(self.low), self.to_abc(self.high)

    def describe(self) -> str:
        """E.g. 'loguniform(0.0005, 0.008)'."""
        return f"{self.distribution}({self.low:g}, {self.high:g})"


@dataclass
class CalibrationSpec:
    """A validated calibration scenario."""

    name: str
    description: str
    cancer: str
    priors: list[Prior]
    target_patterns: list[str]
    fixed: dict[str, Any] = field(default_factory=dict)
    patients: int = 1000
    population: int = 100
    max_generations: int = 8
    min_epsilon: float = 0.0
    min_acceptance_rate: float = 0.02
    max_minutes: float = 55.0
    seed: int = 1
    #: Targets to fit; set by read_calibration from target_patterns (or given directly, e.g. synthetic data).
    targets: list[Target] = field(default_factory=list)

    def config_hash(self) -> str:
        """A short hash of everything that determines the result (a resumed calibration must match it)."""
        doc = {k: v for k, v in asdict(self).items() if k not in ("name", "description", "max_minutes",
                                                                  "max_generations", "min_epsilon",
                                                                  "min_acceptance_rate")}
        return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:10]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able record of the scenario (stored with the calibration)."""
        return json.loads(json.dumps(asdict(self), default=str))


#: [calibration] keys: name -> (type, low, high).
_SETTINGS: dict[str, tuple[type, float, float]] = {
    "patients": (int, 50, 1_000_000),
    "population": (int, 10, 100_000),
    "max_generations": (int, 1, 1000),
    "min_epsilon": (float, 0.0, 1e9),
    "min_acceptance_rate": (float, 0.0, 1.0),
    "max_minutes": (float, 0.0, 1e6),
    "seed": (int, 0, 2**63 - 1),
}
CALIBRATION_KEYS = ("cancer", "targets", *_SETTINGS)


def _check_setting(where: str, key: str, value: Any) -> int | float:
    kind, low, high = _SETTINGS[key]
    ok = not isinstance(value, bool) and isinstance(value, int | float) and (kind is float or value == int(value))
    if not ok or not low <= value <= high:
        what = "a whole number" if kind is int else "a number"
        raise ScenarioError(f"{where}: {key} = {value!r} must be {what} in [{low:g}, {high:g}]")
    return kind(value)


def select_targets(cancer: str, patterns: list[str]) -> list[Target]:
    """The cancer type's stage and site targets whose ids match any of `patterns` (fnmatch), in table order."""
    available = [t for t in targets_for(cancer) if t.kind in FITTABLE_KINDS]
    ids = [t.id for t in available]
    chosen: list[Target] = []
    for pattern in patterns:
        hits = [t for t in available if fnmatch.fnmatchcase(t.id, pattern)]
        if not hits:
            raise ScenarioError(unknown_key_message(f"target (or pattern) for {cancer}", pattern, ids))
        chosen.extend(t for t in hits if t not in chosen)
    return chosen


def _read_prior(where: str, name: str, table: Any) -> Prior:
    if not isinstance(table, dict):
        raise ScenarioError(f'{where}: prior "{name}" must be a table like {{ distribution = "uniform", low = 0.1, '
                            "high = 2 }")
    for key in table:
        if key not in ("distribution", "low", "high"):
            raise ScenarioError(f"{where}: " + unknown_key_message(f'key in prior "{name}"', key,
                                                                    ("distribution", "low", "high")))
    dist = table.get("distribution", "uniform")
    if dist not in DISTRIBUTIONS:
        raise ScenarioError(f'{where}: prior "{name}": distribution = {dist!r}; choose one of: '
                            f"{', '.join(DISTRIBUTIONS)}")
    try:
        low, high = float(table["low"]), float(table["high"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ScenarioError(f'{where}: prior "{name}" needs numeric low and high') from exc
    if not low < high:
        raise ScenarioError(f'{where}: prior "{name}": low ({low:g}) must be below high ({high:g})')
    if dist == "loguniform" and low <= 0:
        raise ScenarioError(f'{where}: prior "{name}": a loguniform prior needs low > 0, got {low:g}')
    return Prior(name, dist, low, high)


def read_calibration(path: str | Path) -> CalibrationSpec:
    """Read and check a calibration scenario (clear one-line errors; nothing is simulated on a bad file)."""
    p = Path(path)
    data = read_toml_file(p, SECTIONS, "calibration scenario")
    settings = data.get("calibration", {})
    if not isinstance(settings, dict):
        raise ScenarioError(f"{p}: [calibration] must be a table")
    for key in settings:
        if key not in CALIBRATION_KEYS:
            raise ScenarioError(f"{p}: " + unknown_key_message("key in [calibration]", key, CALIBRATION_KEYS))
    cancer = check_cancer(str(settings.get("cancer", "colorectal")))
    patterns = settings.get("targets", [f"stage_at_diagnosis.{cancer}.*", f"metastatic_sites.{cancer}.*"])
    if isinstance(patterns, str):
        patterns = [patterns]
    if not isinstance(patterns, list) or not all(isinstance(x, str) for x in patterns) or not patterns:
        raise ScenarioError(f"{p}: targets must be a list of target ids or patterns (see metastasim validate --json)")
    priors_table = data.get("priors", {})
    if not isinstance(priors_table, dict) or not priors_table:
        raise ScenarioError(f"{p}: [priors] must name at least one parameter to fit")
    priors = [_read_prior(str(p), name, table) for name, table in priors_table.items()]
    fixed = flatten_overrides(data.get("parameters", {}))
    try:  # every prior name and both bounds must be valid values of a known parameter
        load_parameters(cancer, fixed)
        for prior in priors:
            if prior.name in fixed:
                raise ScenarioError(f"{prior.name} is both fixed in [parameters] and fitted in [priors]")
            for bound in (prior.low, prior.high):  # kernel-level checks too (e.g. probabilities <= 1)
                build_kernel_params(load_parameters(cancer, {**fixed, prior.name: bound}), 0)
    except ScenarioError as exc:
        raise ScenarioError(f"{p}: {exc}") from exc
    spec = CalibrationSpec(
        name=str(data.get("name", p.stem)),
        description=str(data.get("description", "")),
        cancer=cancer,
        priors=priors,
        target_patterns=list(patterns),
        fixed=fixed,
        **{k: _check_setting(str(p), k, v) for k, v in settings.items() if k in _SETTINGS},  # type: ignore[arg-type]
    )
    try:
        spec.targets = select_targets(cancer, spec.target_patterns)
    except ScenarioError as exc:
        raise ScenarioError(f"{p}: {exc}") from exc
    return spec
