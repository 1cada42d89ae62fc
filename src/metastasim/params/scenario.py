"""Scenario files: TOML a person writes to describe a run, validated with clear errors.

```toml
[run]
cancer = "colorectal"
patients = 10000
years = 10
seed = 1

[parameters]
"growth.doubling_time_days_median" = 180     # dotted names ...
[parameters.colonisation.soil_affinity]        # ... or nested tables
lung = 1.2
```
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from metastasim.errors import ScenarioError, unknown_key_message
from metastasim.params.load import flatten_overrides, load_parameters

#: ``calibration`` records how a calibrated parameter file was made (metastasim calibrate); runs ignore it.
SECTIONS = ("name", "description", "run", "parameters", "calibration")
RUN_KEYS = ("cancer", "patients", "years", "seed", "chunk_size", "workers", "events")


def read_toml_file(path: str | Path, sections: tuple[str, ...], what: str = "scenario") -> dict[str, Any]:
    """Read a TOML file a person wrote, with one-line errors for a missing file, bad TOML or unknown sections."""
    p = Path(path)
    if not p.exists():
        raise ScenarioError(f"{what} file not found: {p}")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{p}: not valid TOML: {exc}") from exc
    for key in data:
        if key not in sections:
            raise ScenarioError(f"{p}: " + unknown_key_message(f"{what} section", key, sections))
    return data


def read_scenario(path: str | Path) -> dict[str, Any]:
    """Read and validate a scenario file; returns {"run": {...}, "parameters": {dotted name: value}}."""
    p = Path(path)
    data = read_toml_file(p, SECTIONS)
    run = data.get("run", {})
    if not isinstance(run, dict):
        raise ScenarioError(f"{p}: [run] must be a table")
    for key in run:
        if key not in RUN_KEYS:
            raise ScenarioError(f"{p}: " + unknown_key_message("key in [run]", key, RUN_KEYS))
    parameters = data.get("parameters", {})
    if not isinstance(parameters, dict):
        raise ScenarioError(f"{p}: [parameters] must be a table of parameter names and values")
    for key in ("name", "description"):
        if key in data and not isinstance(data[key], str):
            raise ScenarioError(f"{p}: '{key}' must be a string (put it in quotes)")
    overrides = flatten_overrides(parameters)
    try:
        load_parameters(str(run.get("cancer", "colorectal")), overrides)  # validates every key and value
    except ScenarioError as exc:
        raise ScenarioError(f"{p}: {exc}") from exc
    return {
        "name": data.get("name", p.stem),
        "description": data.get("description", ""),
        "run": run,
        "parameters": overrides,
    }


def read_parameter_file(path: str | Path) -> tuple[str, dict[str, Any]]:
    """The cancer type and parameter changes of a parameter file (a scenario, e.g. one `metastasim calibrate` wrote).

    Only ``[run] cancer`` and ``[parameters]`` are used: a parameter file changes what is simulated, not how
    many patients or which seed.
    """
    scenario = read_scenario(path)
    return str(scenario["run"].get("cancer", "colorectal")), scenario["parameters"]


def merge_parameter_file(path: str | Path | None, cancer: str | None, overrides: dict[str, Any]) -> tuple[str, dict]:
    """Apply a --params file under the given cancer type and overrides (which win); the types must agree."""
    if path is None:
        return cancer or "colorectal", overrides
    file_cancer, file_overrides = read_parameter_file(path)
    if cancer is not None and cancer != file_cancer:
        raise ScenarioError(f"--params {path} is for {file_cancer}, but the run is for {cancer}")
    return file_cancer, {**file_overrides, **overrides}
