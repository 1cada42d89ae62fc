"""The ``metastasim`` command line, run as a subprocess: run, runs, export, patient, experiment, bad input
and Ctrl-C."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from clitools import CLI, TIMEOUT, cli, ok, one_line_error, sql
from metastasim.params.load import CANCER_TYPES
from metastasim.version import __version__

PATIENTS, YEARS, SEED = 200, 10, 5


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    db = tmp_path_factory.mktemp("cli") / "sub" / "cohort.duckdb"
    out = ok(cli("run", "--cancer", "colorectal", "--patients", PATIENTS, "--years", YEARS, "--seed", SEED,
                 "--db", db, "--json"))
    return db, json.loads(out)


# --- run --------------------------------------------------------------------------------------------------


def test_run_json_has_the_summary_keys_and_types(cohort: tuple[Path, dict]) -> None:
    _, summary = cohort
    assert {"run_id", "patients", "distant_metastasis_fraction", "site_distribution"} <= set(summary)
    assert isinstance(summary["run_id"], str) and summary["run_id"]
    assert summary["patients"] == PATIENTS
    fractions = summary["distant_metastasis_fraction"]
    assert isinstance(fractions, dict) and fractions
    years = [int(k) for k in fractions]  # keys are years
    assert all(1 <= y <= YEARS for y in years)
    assert YEARS in years
    values = [fractions[str(y)] for y in sorted(years)]
    assert all(isinstance(v, float) and 0.0 <= v <= 1.0 for v in values)
    assert values == sorted(values), "a cumulative fraction cannot decrease with time"
    sites = summary["site_distribution"]
    assert isinstance(sites, dict) and {"liver", "lung"} <= set(sites)
    assert all(isinstance(v, float) and 0.0 <= v <= 1.0 for v in sites.values())


def test_run_summary_agrees_with_the_stored_patients(cohort: tuple[Path, dict]) -> None:
    db, summary = cohort
    patients = sql(db, "SELECT * FROM patients WHERE run_id = ?", [summary["run_id"]])
    assert len(patients) == summary["patients"]
    for year, fraction in summary["distant_metastasis_fraction"].items():
        expected = (patients["day_first_distant_metastasis"] <= int(year) * 365.25).mean()
        assert fraction == pytest.approx(expected)
    metastatic = patients[patients["day_first_distant_detectable"].notna()]
    if len(metastatic):
        liver = metastatic["sites_at_first_detectable_metastasis"].fillna("").str.split(",").map(
            lambda s: "liver" in s).mean()
        assert summary["site_distribution"]["liver"] == pytest.approx(liver)


def test_run_creates_the_db_at_the_given_path_with_a_complete_run(cohort: tuple[Path, dict]) -> None:
    db, summary = cohort
    assert db.is_file()
    row = sql(db, "SELECT * FROM runs WHERE run_id = ?", [summary["run_id"]]).iloc[0]
    assert row["status"] == "complete"
    assert row["seed"] == SEED and row["patients"] == PATIENTS and row["years"] == YEARS
    assert row["cancer"] == "colorectal"
    assert row["version"] == __version__
    assert row["patients_written"] == PATIENTS
    assert "growth.doubling_time_days_median" in json.loads(row["parameters"])
    assert pd.notna(row["created_at"]) and pd.notna(row["finished_at"])
    assert row["finished_at"] >= row["created_at"]


def test_progress_bar_and_text_summary(tmp_path: Path) -> None:
    db = tmp_path / "text.duckdb"
    res = cli("run", "--patients", 100, "--years", 5, "--seed", 2, "--db", db)
    out = ok(res)
    assert "patient" in res.stderr, "a progress bar on stderr"
    run_id = sql(db, "SELECT run_id FROM runs")["run_id"].iloc[0]
    assert run_id in out
    assert "medical advice" in out.lower()


def test_default_db_is_a_file_in_the_working_directory(tmp_path: Path) -> None:
    ok(cli("run", "--patients", 100, "--years", 5, "--seed", 3, "--quiet", cwd=tmp_path))
    dbs = list(tmp_path.glob("*.duckdb"))
    assert len(dbs) == 1
    runs = sql(dbs[0], "SELECT status, patients FROM runs")
    assert runs["status"].tolist() == ["complete"] and runs["patients"].tolist() == [100]


# --- runs and export --------------------------------------------------------------------------------------


def test_runs_lists_the_run(cohort: tuple[Path, dict]) -> None:
    db, summary = cohort
    text = ok(cli("runs", "--db", db))
    assert summary["run_id"] in text and "complete" in text
    listed = json.loads(ok(cli("runs", "--db", db, "--json")))
    mine = [r for r in listed if r["run_id"] == summary["run_id"]]
    assert len(mine) == 1 and mine[0]["status"] == "complete" and mine[0]["seed"] == SEED


def test_export_writes_parquet_tables_with_the_db_row_counts(cohort: tuple[Path, dict], tmp_path: Path) -> None:
    db, summary = cohort
    run_id = summary["run_id"]
    out_dir = tmp_path / "parquet"
    ok(cli("export", run_id, "--parquet", out_dir, "--db", db))
    for name in ("runs", "patients", "lesions", "events"):
        path = out_dir / f"{name}.parquet"
        assert path.is_file(), f"{name}.parquet missing; have {sorted(p.name for p in out_dir.iterdir())}"
        df = pd.read_parquet(path)
        n_db = sql(db, f"SELECT count(*) AS n FROM {name} WHERE run_id = ?", [run_id])["n"].iloc[0]
        assert len(df) == n_db
        assert set(df["run_id"]) == {run_id}
    assert len(pd.read_parquet(out_dir / "patients.parquet")) == PATIENTS


def test_export_of_an_unknown_run_names_the_nearest(cohort: tuple[Path, dict], tmp_path: Path) -> None:
    db, summary = cohort
    run_id = summary["run_id"]
    line = one_line_error(cli("export", run_id[:-1], "--parquet", tmp_path / "x", "--db", db))
    assert run_id in line
    line = one_line_error(cli("export", "no-such-run", "--parquet", tmp_path / "x", "--db", db))
    assert "no-such-run" in line and run_id in line
    assert not (tmp_path / "x").exists()


# --- bad input --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cancer", ["colon", "xyz"])
def test_unknown_cancer_lists_the_valid_ones(cancer: str, tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    line = one_line_error(cli("run", "--cancer", cancer, "--patients", 100, "--db", db))
    assert f"'{cancer}'" in line
    for valid in CANCER_TYPES:
        assert valid in line
    assert not db.exists(), "nothing is written for bad input"


@pytest.mark.parametrize(("flag", "value"), [("--patients", 0), ("--years", 101)])
def test_out_of_range_run_settings_name_the_valid_range(flag: str, value: int, tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    line = one_line_error(cli("run", flag, value, "--db", db))
    assert "range" in line and re.search(r"\[\d+, \d+\]", line), line
    assert flag.lstrip("-") in line
    assert not db.exists(), "nothing is written for bad input"


def test_patient_bad_input() -> None:
    line = one_line_error(cli("patient", "--cancer", "nope"))
    assert all(valid in line for valid in CANCER_TYPES)


def test_argparse_errors_are_one_line() -> None:
    one_line_error(cli("run", "--patients", "many"))


# --- patient ----------------------------------------------------------------------------------------------

DISEASE = re.compile(r"(metastatic colorectal cancer: \S.*|colorectal cancer, no distant metastasis)")


def test_patient_story_has_the_disclaimer_and_ends_with_the_disease() -> None:
    text = ok(cli("patient", "--cancer", "colorectal", "--seed", 7))
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) > 5
    data = json.loads(ok(cli("patient", "--cancer", "colorectal", "--seed", 7, "--json")))
    disease = data["disease"]
    assert DISEASE.fullmatch(disease), disease
    assert any(disease in line for line in lines[-2:]), "the story ends by naming the disease"
    assert "not medical advice" in text.lower(), "the disclaimer"


def test_patient_json_is_structured_and_reproducible() -> None:
    first = ok(cli("patient", "--cancer", "colorectal", "--seed", 7, "--json"))
    second = ok(cli("patient", "--cancer", "colorectal", "--seed", 7, "--json"))
    assert first == second
    data = json.loads(first)
    assert isinstance(data["patient"], dict) and data["patient"]["patient_id"] == 0
    assert data["patient"]["disease"] == data["disease"]
    events, lesions = data["events"], data["lesions"]
    assert isinstance(events, list) and events and isinstance(lesions, list) and lesions
    for ev in events:
        assert {"day", "event", "site", "cells", "diameter_mm", "route", "detail"} <= set(ev)
    days = [ev["day"] for ev in events]
    assert days == sorted(days) and days[0] >= 0
    assert events[0]["site"] == "primary"
    check_disease(data)
    assert "not medical advice" in data["disclaimer"].lower()


def check_disease(data: dict) -> None:
    """The disease is named after its primary and agrees with the patient's distant lesions."""
    disease, patient = data["disease"], data["patient"]
    assert DISEASE.fullmatch(disease), disease
    if patient["n_distant_metastases_end"] > 0:
        assert disease == f"metastatic colorectal cancer: {patient['sites_end']}"
        growing = {le["site"] for le in data["lesions"]
                   if le["site"] not in ("primary", "regional_nodes") and le["status_end"] != "eliminated"}
        assert growing, "a metastatic disease needs a distant lesion"
    else:
        assert disease == "colorectal cancer, no distant metastasis"


def test_patient_disease_name_matches_the_lesions_early_on() -> None:
    check_disease(json.loads(ok(cli("patient", "--seed", 7, "--years", 3, "--json"))))


# --- experiment -------------------------------------------------------------------------------------------


def test_experiment_inefficiency_json() -> None:
    data = json.loads(ok(cli("experiment", "inefficiency", "--json")))
    assert data["timecourse"] and data["comparison"]
    text = json.dumps(data["comparison"])
    assert "Luzzi" in text
    for row in data["comparison"]:
        assert {"published", "simulated"} <= set(row)
        assert 0.0 <= row["simulated"] <= 1.0


# --- Ctrl-C -----------------------------------------------------------------------------------------------


def test_interrupted_run_is_stored_as_interrupted(tmp_path: Path) -> None:
    db = tmp_path / "interrupted.duckdb"
    total = 200_000
    proc = subprocess.Popen([*CLI, "run", "--patients", str(total), "--years", "20", "--db", str(db),
                             "--chunk-size", "500"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stderr is not None and proc.stdout is not None
    err = bytearray()

    def pump() -> None:
        assert proc.stderr is not None
        while chunk := proc.stderr.read1(4096):
            err.extend(chunk)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        # Wait until the progress bar shows a stored chunk (DuckDB locks the file while the writer runs).
        deadline = time.monotonic() + TIMEOUT
        while not re.search(rb"\b[1-9]\d*/200000", bytes(err)):
            assert proc.poll() is None, f"run ended early: {bytes(err)[-2000:]!r}"
            assert time.monotonic() < deadline, "no progress"
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=120)
        reader.join(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stderr = bytes(err).decode(errors="replace")
    assert proc.returncode == 130, stderr[-2000:]
    assert "Traceback" not in stderr
    assert "interrupted" in stderr

    runs = sql(db, "SELECT * FROM runs")
    assert len(runs) == 1
    row = runs.iloc[0]
    assert row["status"] == "interrupted"
    assert 0 < row["patients_written"] < total
    assert pd.notna(row["finished_at"])
    # Every chunk is one transaction: the stored patients are exactly the ones counted.
    stored = sql(db, "SELECT count(*) AS n, count(DISTINCT patient_id) AS d FROM patients WHERE run_id = ?",
                   [row["run_id"]]).iloc[0]
    assert stored["n"] == stored["d"] == row["patients_written"]

    listed = ok(cli("runs", "--db", db))
    assert "interrupted" in listed and "complete" not in listed
