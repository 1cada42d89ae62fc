"""Load, merge and validate parameters: defaults, then a cancer type's file, then a user's overrides."""

from __future__ import annotations

import copy
import itertools
import json
import math
from dataclasses import dataclass, field
from typing import Any

from metastasim.data import read_toml
from metastasim.errors import ScenarioError, unknown_key_message
from metastasim.params.schema import SPECS, ParamSpec

CANCER_TYPES: tuple[str, ...] = (
    "colorectal",
    "pancreas",
    "stomach",
    "breast",
    "lung_nsclc",
    "lung_sclc",
    "prostate",
    "melanoma",
    "kidney",
)

Value = float | int | str | list[float] | list[str] | dict[str, float]


@dataclass
class Parameters:
    """A complete, validated parameter set for one cancer type.

    Attributes:
        cancer: cancer type key, e.g. "colorectal".
        meta: descriptive fields of the cancer file (label, primary organ).
        values: parameter name -> value (tables are dicts keyed by site or bed).
        sources: parameter name (or ``name.key`` for table entries) -> cited source.
    """

    cancer: str
    meta: dict[str, str]
    values: dict[str, Value]
    sources: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def with_overrides(self, overrides: dict[str, Any]) -> Parameters:
        """Return a copy with `overrides` (dotted names or nested tables) applied and validated."""
        values = copy.deepcopy(self.values)
        sources = dict(self.sources)
        for name, value in flatten_overrides(overrides).items():
            _apply(values, sources, name, value, "user override")
        _validate_all(values)
        return Parameters(self.cancer, dict(self.meta), values, sources)

    def to_json(self) -> str:
        """Serialise values (not sources) for storage with a run."""
        return json.dumps({"cancer": self.cancer, "values": self.values}, sort_keys=True)


def _is_leaf(node: Any) -> bool:
    return isinstance(node, dict) and "value" in node


def _walk(tree: dict[str, Any], prefix: str = "") -> list[tuple[str, Any, str]]:
    """Flatten a data file into (dotted name, value, source) triples; table parameters stay whole."""
    out: list[tuple[str, Any, str]] = []
    for key, node in tree.items():
        name = f"{prefix}{key}"
        if _is_leaf(node):
            out.append((name, node["value"], str(node.get("source", ""))))
        elif isinstance(node, dict):
            if name in SPECS and SPECS[name].kind == "table":
                for sub, leaf in node.items():
                    if not _is_leaf(leaf):
                        raise ScenarioError(f"{name}.{sub} needs a value and a source")
                    out.append((f"{name}.{sub}", leaf["value"], str(leaf.get("source", ""))))
            else:
                out.extend(_walk(node, name + "."))
        else:
            raise ScenarioError(f'{name} in a parameter file needs the form {{ value = ..., source = "..." }}')
    return out


def flatten_overrides(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten user overrides given as nested tables or dotted keys into dotted names."""
    out: dict[str, Any] = {}
    for key, node in tree.items():
        name = f"{prefix}{key}"
        if isinstance(node, dict) and not (name in SPECS and SPECS[name].kind != "table"):
            out.update(flatten_overrides(node, name + "."))
        else:
            out[name] = node
    return out


def _spec_for(name: str) -> tuple[ParamSpec, str | None]:
    if name in SPECS:
        return SPECS[name], None
    head, _, key = name.rpartition(".")
    if head in SPECS and SPECS[head].kind == "table":
        spec = SPECS[head]
        if key not in spec.keys:
            raise ScenarioError(unknown_key_message(f"key of {head}", key, spec.keys))
        return spec, key
    valid = list(SPECS) + [f"{s.name}.{k}" for s in SPECS.values() if s.kind == "table" for k in s.keys]
    raise ScenarioError(unknown_key_message("parameter", name, valid))


def _check_value(spec: ParamSpec, name: str, value: Any) -> Value:
    if spec.kind == "choice":
        if value not in spec.choices:
            raise ScenarioError(f"{name} = {value!r} is not valid; choose one of: {', '.join(spec.choices)}")
        return str(value)
    if spec.kind == "plan":
        if not isinstance(value, list) or any(v not in spec.choices for v in value):
            raise ScenarioError(
                f"{name} must be a list of treatments chosen from: {', '.join(spec.choices)}; got {value!r}"
            )
        return [str(v) for v in value]
    if spec.kind == "list":
        if not isinstance(value, list) or not value:
            raise ScenarioError(f"{name} must be a list of increasing numbers, got {value!r}")
        nums = [_check_number(spec, name, v) for v in value]
        if any(b <= a for a, b in itertools.pairwise(nums)):
            raise ScenarioError(f"{name} must be increasing, got {value!r}")
        return nums
    num = _check_number(spec, name, value)
    return int(num) if spec.kind == "int" else num


def _check_number(spec: ParamSpec, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScenarioError(f"{name} must be a number, got {value!r}")
    num = float(value)
    if not math.isfinite(num) or num < spec.low or num > spec.high:
        unit = "" if spec.unit in ("", "1") else f" {spec.unit}"
        raise ScenarioError(f"{name} = {value} is out of range; valid range is [{spec.low:g}, {spec.high:g}]{unit}")
    if spec.kind == "int" and num != int(num):
        raise ScenarioError(f"{name} must be a whole number, got {value!r}")
    return num


def _apply(values: dict[str, Value], sources: dict[str, str], name: str, value: Any, source: str) -> None:
    spec, key = _spec_for(name)
    if key is None and spec.kind == "table":
        if not isinstance(value, dict):
            raise ScenarioError(f"{name} is a table keyed by {', '.join(spec.keys)}")
        for sub, v in value.items():
            _apply(values, sources, f"{name}.{sub}", v, source)
        return
    if key is not None:
        table = values.setdefault(spec.name, {})
        assert isinstance(table, dict)
        table[key] = _check_number(spec, name, value)
    else:
        values[name] = _check_value(spec, name, value)
    sources[name] = source


def _validate_all(values: dict[str, Value]) -> None:
    missing = [n for n in SPECS if n not in values]
    if missing:
        raise ScenarioError(f"parameters missing a value: {', '.join(missing)}")
    for spec in SPECS.values():
        if spec.kind == "table":
            table = values[spec.name]
            assert isinstance(table, dict)
            absent = [k for k in spec.keys if k not in table]
            if absent:
                raise ScenarioError(f"{spec.name} has no value for: {', '.join(absent)}")
    drainage = values["anatomy.primary_drainage"]
    assert isinstance(drainage, dict)
    if abs(sum(drainage.values()) - 1.0) > 1e-6:
        raise ScenarioError(f"anatomy.primary_drainage must sum to 1, got {sum(drainage.values()):g}")
    flow = values["anatomy.flow_fraction"]
    assert isinstance(flow, dict)
    if abs(sum(flow.values()) - 1.0) > 1e-6:
        raise ScenarioError(f"anatomy.flow_fraction must sum to 1, got {sum(flow.values()):g}")
    if float(values["evolution.death_rate_per_day"]) >= float(values["evolution.birth_rate_per_day"]):  # type: ignore[arg-type]
        raise ScenarioError("evolution.death_rate_per_day must be below evolution.birth_rate_per_day")
    if len(values["staging.t_thresholds_mm"]) != 3:  # type: ignore[arg-type]
        raise ScenarioError("staging.t_thresholds_mm needs three values: the smallest T2, T3 and T4")


def check_cancer(cancer: str) -> str:
    """Return `cancer` if it is a known type, else raise an error listing the valid ones."""
    if cancer not in CANCER_TYPES:
        msg = unknown_key_message("cancer type", cancer, CANCER_TYPES)
        raise ScenarioError(f"{msg} (valid: {', '.join(CANCER_TYPES)})" if "did you mean" in msg else msg)
    return cancer


def load_parameters(cancer: str = "colorectal", overrides: dict[str, Any] | None = None) -> Parameters:
    """Return the validated parameters of `cancer`, with optional overrides (dotted names or tables).

    Raises:
        ScenarioError: for an unknown cancer type, an unknown key, or a value out of its valid range.
    """
    check_cancer(cancer)
    values: dict[str, Value] = {}
    sources: dict[str, str] = {}
    for name, value, source in _walk(read_toml("defaults.toml")):
        _apply(values, sources, name, value, source)
    cancer_tree = read_toml(f"cancers/{cancer}.toml")
    meta = {k: str(v) for k, v in cancer_tree.pop("meta", {}).items()}
    cancer_tree.pop("calibration", None)  # the record of how calibrated values were obtained, not a parameter
    for name, value, source in _walk(cancer_tree):
        _apply(values, sources, name, value, source)
    _validate_all(values)
    params = Parameters(cancer, meta, values, sources)
    return params.with_overrides(overrides) if overrides else params
