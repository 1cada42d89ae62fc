"""Make a calibration's result the shipped default of a cancer type, recording where each value came from.

``python scripts/install_calibration.py calibration-colorectal/colorectal.calibrated.toml`` rewrites each
fitted parameter's line in ``data/cancers/colorectal.toml`` to the posterior median, with a source naming
the calibration, its date and command, the 90% posterior interval, the prior and the targets. The cancer
file's ``[calibration]`` table records the calibration as a whole. Other lines, comments and order stay.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

from metastasim.errors import ScenarioError
from metastasim.params.schema import SPECS


def _section_and_key(name: str) -> tuple[str, str]:
    """'colonisation.soil_affinity.lung' -> ('colonisation.soil_affinity', 'lung'); 'a.b' -> ('a', 'b')."""
    head, _, key = name.rpartition(".")
    if not head:
        raise ScenarioError(f"parameter {name!r} has no section")
    return head, key


def _toml_number(value: float) -> str:
    return repr(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(float(value))


def _set_line(lines: list[str], section: str, key: str, text: str) -> None:
    """Replace `key = ...` inside [section] with `text`, or add it (and the section) if missing."""
    header = f"[{section}]"
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == header)
    except StopIteration:
        lines += ["", header, text]
        return
    end = next((i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines))
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
    for i in range(start + 1, end):
        if pattern.match(lines[i]):
            lines[i] = text
            return
    insert = end
    while insert > start + 1 and not lines[insert - 1].strip():
        insert -= 1
    lines.insert(insert, text)


RECORD_COMMENT = "# How the calibrated values above were obtained (metastasim calibrate; see docs/calibration.md)."


def _drop_calibration_table(lines: list[str]) -> list[str]:
    """The lines without the ``[calibration]`` table and the comment that introduces it."""
    out: list[str] = []
    skipping = False
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("["):
            skipping = stripped == "[calibration]" or stripped.startswith("[calibration.")
        if not skipping and stripped != RECORD_COMMENT:
            out.append(line)
    while out and not out[-1].strip():
        out.pop()
    return out


def install(calibrated_file: str | Path, cancer_file: str | Path) -> list[str]:
    """Write a calibrated parameter file's values and provenance into a cancer type's parameter file.

    Returns the names of the parameters written.
    """
    data: dict[str, Any] = tomllib.loads(Path(calibrated_file).read_text(encoding="utf-8"))
    cal = data.get("calibration")
    if not isinstance(cal, dict) or "posterior" not in cal:
        raise ScenarioError(f"{calibrated_file} has no [calibration] record; is it written by metastasim calibrate?")
    target = Path(cancer_file)
    cancer = data.get("run", {}).get("cancer")
    if target.stem != cancer:
        raise ScenarioError(f"{calibrated_file} is for {cancer}, not {target.stem}")
    lines = _drop_calibration_table(target.read_text(encoding="utf-8").splitlines())
    targets = ", ".join(cal["targets"])
    written = []
    for name, post in cal["posterior"].items():
        head, _key = _section_and_key(name)
        if name not in SPECS and not (head in SPECS and SPECS[head].kind == "table"):
            raise ScenarioError(f"unknown parameter {name!r} in {calibrated_file}")
        value = data["parameters"][name]
        source = (
            f"ABC-SMC calibration {cal['id']} ({cal['date']}, `{cal['command']}`): posterior median; 90% interval "
            f"{post['q05']:g}-{post['q95']:g}, prior {post['prior']}; fitted to {targets}"
        )
        section, key = _section_and_key(name)
        _set_line(lines, section, key, f"{key} = {{ value = {_toml_number(value)}, source = {json.dumps(source)} }}")
        written.append(name)
    record = {k: cal[k] for k in ("id", "date", "command", "version", "seed", "method", "targets",
                                  "patients_per_cohort", "population", "generations", "final_epsilon",
                                  "simulated_cohorts", "elapsed_seconds", "stop_reason") if k in cal}
    lines += ["", RECORD_COMMENT, "[calibration]"]
    for k, v in record.items():
        lines.append(f"{k} = {json.dumps(v)}")
    text = "\n".join(lines) + "\n"
    tomllib.loads(text)  # never write a file that does not parse
    tmp = target.with_suffix(".toml.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(target)
    return written
