"""Scenario files: ``metastasim run FILE.toml``, the shipped example, and clear one-line errors."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pandas as pd
import pandas.testing as pdt
import pytest

from clitools import cli, one_line_error, sql
from metastasim.params.scenario import RUN_KEYS, SECTIONS, read_scenario
from metastasim.params.schema import SPECS

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "colorectal.toml"

PATIENTS = 120


def run_json(*args: object) -> dict:
    res = cli("run", *args, "--json")
    assert res.returncode == 0, res.stderr[-4000:]
    return json.loads(res.stdout)


def patients(db: Path, run_id: str) -> pd.DataFrame:
    df = sql(db, "SELECT * FROM patients WHERE run_id = ? ORDER BY patient_id", [run_id])
    return df.drop(columns="run_id")


# --- the shipped example ----------------------------------------------------------------------------------


def test_example_matches_the_documented_command() -> None:
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    assert data["run"] == {"cancer": "colorectal", "patients": 10000, "years": 10, "seed": 1}
    assert data.get("parameters", {}) == {}
    assert isinstance(data["description"], str) and data["description"]
    assert '# "growth.doubling_time_days_median" = 180' in EXAMPLE.read_text(encoding="utf-8")
    scenario = read_scenario(EXAMPLE)
    assert scenario["run"]["patients"] == 10000 and scenario["parameters"] == {}


def test_example_commented_overrides_are_valid(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    lines = [line[2:] if line.startswith('# "') else line for line in text.splitlines()]
    edited = tmp_path / "edited.toml"
    edited.write_text("\n".join(lines) + "\n", encoding="utf-8")
    overrides = read_scenario(edited)["parameters"]
    assert overrides.get("growth.doubling_time_days_median") == 180


def test_example_run_equals_the_flag_run(tmp_path: Path) -> None:
    """The example (with fewer patients given as a flag) and the same settings as flags give one result."""
    db = tmp_path / "example.duckdb"
    from_file = run_json(EXAMPLE, "--patients", PATIENTS, "--db", db)
    from_flags = run_json("--cancer", "colorectal", "--patients", PATIENTS, "--years", 10, "--seed", 1, "--db", db)
    runs = sql(db, "SELECT * FROM runs").set_index("run_id")
    a, b = runs.loc[from_file["run_id"]], runs.loc[from_flags["run_id"]]
    for key in ("cancer", "patients", "years", "seed", "status"):
        assert a[key] == b[key], key
    assert a["patients"] == PATIENTS and a["years"] == 10 and a["seed"] == 1 and a["status"] == "complete"
    assert json.loads(a["parameters"]) == json.loads(b["parameters"])
    assert json.loads(a["scenario"])["description"], "the scenario is stored with the run"
    pdt.assert_frame_equal(patients(db, from_file["run_id"]), patients(db, from_flags["run_id"]))
    for key in ("distant_metastasis_fraction", "site_distribution"):
        assert from_file[key] == from_flags[key]


def test_scenario_file_settings_and_overrides_are_used(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    plain = tmp_path / "plain.toml"
    plain.write_text(f'[run]\ncancer = "colorectal"\npatients = {PATIENTS}\nyears = 6\nseed = 4\n', encoding="utf-8")
    slow = tmp_path / "slow.toml"
    slow.write_text(plain.read_text(encoding="utf-8")
                    + '\n[parameters]\n"growth.doubling_time_days_median" = 400\n'
                    + "[parameters.colonisation.soil_affinity]\nlung = 1.5\n", encoding="utf-8")
    base = run_json(plain, "--db", db)
    changed = run_json(slow, "--db", db)
    runs = sql(db, "SELECT * FROM runs").set_index("run_id")
    row = runs.loc[changed["run_id"]]
    assert (row["patients"], row["years"], row["seed"]) == (PATIENTS, 6, 4)
    stored = json.loads(row["parameters"])
    assert stored["growth.doubling_time_days_median"] == 400
    assert stored["colonisation.soil_affinity"]["lung"] == 1.5
    assert json.loads(runs.loc[base["run_id"], "parameters"])["growth.doubling_time_days_median"] != 400
    # the override changes the simulated patients
    assert not patients(db, base["run_id"])["doubling_time_days"].equals(
        patients(db, changed["run_id"])["doubling_time_days"])


# --- errors -----------------------------------------------------------------------------------------------


def scenario_error(tmp_path: Path, text: str) -> str:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    db = tmp_path / "bad.duckdb"
    line = one_line_error(cli("run", path, "--db", db))
    assert not db.exists(), "nothing is written for a bad scenario"
    return line


def test_unknown_run_key_names_it_and_the_nearest(tmp_path: Path) -> None:
    line = scenario_error(tmp_path, '[run]\ncancer = "colorectal"\npatiens = 5\n')
    assert "'patiens'" in line and "'patients'" in line
    assert "patients" in RUN_KEYS


def test_unknown_section_names_it_and_the_nearest(tmp_path: Path) -> None:
    line = scenario_error(tmp_path, '[run]\npatients = 5\n\n[paramters]\n"growth.doubling_time_days_median" = 9\n')
    assert "'paramters'" in line and "'parameters'" in line
    assert "parameters" in SECTIONS


def test_unknown_parameter_names_the_nearest_valid_name(tmp_path: Path) -> None:
    line = scenario_error(tmp_path, '[run]\npatients = 5\n[parameters]\n"growth.doubling_time_days_medain" = 90\n')
    assert "growth.doubling_time_days_medain" in line and "'growth.doubling_time_days_median'" in line


def test_unknown_table_key_names_the_nearest(tmp_path: Path) -> None:
    line = scenario_error(tmp_path, "[run]\npatients = 5\n[parameters.colonisation.soil_affinity]\nlugn = 1.2\n")
    assert "lugn" in line and "'lung'" in line


@pytest.mark.parametrize("value", ["-1", "1e9"])
def test_out_of_range_parameter_names_the_valid_range(tmp_path: Path, value: str) -> None:
    spec = SPECS["growth.doubling_time_days_median"]
    text = f'[run]\npatients = 5\n[parameters]\n"growth.doubling_time_days_median" = {value}\n'
    line = scenario_error(tmp_path, text)
    assert "growth.doubling_time_days_median" in line and "range" in line
    assert f"{spec.low:g}" in line and f"{spec.high:g}" in line


@pytest.mark.parametrize(("setting", "name"), [("patients = 0", "patients"), ("years = 1000", "years")])
def test_out_of_range_run_setting_names_the_valid_range(tmp_path: Path, setting: str, name: str) -> None:
    line = scenario_error(tmp_path, f"[run]\n{setting}\n")
    assert name in line and "range" in line and re.search(r"\[\d+, \d+\]", line), line


def test_unknown_cancer_in_scenario_lists_the_valid_ones(tmp_path: Path) -> None:
    from metastasim.params.load import CANCER_TYPES

    line = scenario_error(tmp_path, '[run]\ncancer = "colon"\npatients = 5\n')
    assert all(valid in line for valid in CANCER_TYPES)


@pytest.mark.parametrize("text", ["[run\npatients = 5\n", "[run]\npatients = 5\npatients = 6\n"])
def test_invalid_toml_is_one_line(tmp_path: Path, text: str) -> None:
    line = scenario_error(tmp_path, text)
    assert "bad.toml" in line


def test_missing_scenario_file(tmp_path: Path) -> None:
    line = one_line_error(cli("run", tmp_path / "nope.toml", "--db", tmp_path / "x.duckdb"))
    assert "nope.toml" in line
