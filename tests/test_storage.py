"""The DuckDB store written by ``metastasim run``, read with plain SQL through the duckdb package."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pandas.testing as pdt
import pytest

from clitools import cli, sql
from metastasim.params.load import load_parameters
from metastasim.version import __version__

PATIENTS, YEARS = 150, 8
TABLES = ("patients", "lesions", "events")
ORDER = {"patients": "patient_id", "lesions": "patient_id, lesion_id",
         "events": "patient_id, day, lesion_id, event, site"}


def run_json(db: Path, *args: object) -> dict:
    res = cli("run", "--cancer", "colorectal", "--patients", PATIENTS, "--years", YEARS, "--db", db, "--json",
              *args)
    assert res.returncode == 0, res.stderr[-4000:]
    return json.loads(res.stdout)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """One database holding four runs: seed 11 twice, seed 11 in small chunks, and seed 12."""
    db = tmp_path_factory.mktemp("store") / "runs.duckdb"
    ids = {
        "a": run_json(db, "--seed", 11)["run_id"],
        "b": run_json(db, "--seed", 11)["run_id"],
        "chunked": run_json(db, "--seed", 11, "--chunk-size", 37)["run_id"],
        "other": run_json(db, "--seed", 12)["run_id"],
    }
    return db, ids


def table(db: Path, name: str, run_id: str) -> pd.DataFrame:
    df = sql(db, f"SELECT * FROM {name} WHERE run_id = ? ORDER BY {ORDER[name]}", [run_id])
    return df.drop(columns="run_id").reset_index(drop=True)


def test_tables_have_plain_names(store: tuple[Path, dict[str, str]]) -> None:
    db, _ = store
    names = set(sql(db, "SELECT table_name FROM information_schema.tables")["table_name"])
    assert {"runs", *TABLES} <= names


def test_runs_is_keyed_by_run_id(store: tuple[Path, dict[str, str]]) -> None:
    db, ids = store
    runs = sql(db, "SELECT run_id FROM runs")
    assert sorted(runs["run_id"]) == sorted(ids.values())
    assert runs["run_id"].is_unique
    constraints = sql(db, "SELECT constraint_type, constraint_column_names FROM duckdb_constraints() "
                          "WHERE table_name = 'runs'")
    keys = constraints[constraints["constraint_type"].isin(["PRIMARY KEY", "UNIQUE"])]
    assert any(list(cols) == ["run_id"] for cols in keys["constraint_column_names"])


def test_patients_has_one_row_per_patient(store: tuple[Path, dict[str, str]]) -> None:
    db, ids = store
    counts = sql(db, "SELECT run_id, count(*) AS n, count(DISTINCT patient_id) AS d, min(patient_id) AS lo, "
                     "max(patient_id) AS hi FROM patients GROUP BY run_id")
    assert sorted(counts["run_id"]) == sorted(ids.values())
    assert (counts["n"] == PATIENTS).all() and (counts["d"] == PATIENTS).all()
    assert (counts["lo"] == 0).all() and (counts["hi"] == PATIENTS - 1).all()


def test_lesions_and_events_belong_to_stored_patients(store: tuple[Path, dict[str, str]]) -> None:
    db, ids = store
    for name in ("lesions", "events"):
        cols = set(sql(db, f"SELECT * FROM {name} LIMIT 0").columns)
        assert {"run_id", "patient_id"} <= cols
        orphans = sql(db, f"SELECT count(*) AS n FROM {name} t ANTI JOIN patients p "
                          "ON t.run_id = p.run_id AND t.patient_id = p.patient_id")["n"].iloc[0]
        assert orphans == 0
        # every patient has a primary tumour and its onset
        covered = sql(db, f"SELECT count(DISTINCT (run_id, patient_id)) AS n FROM {name}")["n"].iloc[0]
        assert covered == PATIENTS * len(ids)
    assert {"day", "event", "site", "cells", "diameter_mm", "route", "detail"} <= set(
        sql(db, "SELECT * FROM events LIMIT 0").columns)


def test_each_run_stores_seed_parameters_version_times_and_status(store: tuple[Path, dict[str, str]]) -> None:
    db, ids = store
    runs = sql(db, "SELECT * FROM runs").set_index("run_id")
    expected_parameters = json.loads(json.dumps(load_parameters("colorectal").values))
    for key, run_id in ids.items():
        row = runs.loc[run_id]
        assert row["status"] == "complete"
        assert row["seed"] == (12 if key == "other" else 11)
        assert row["version"] == __version__
        assert row["cancer"] == "colorectal" and row["patients"] == PATIENTS and row["years"] == YEARS
        assert row["patients_written"] == PATIENTS
        assert json.loads(row["parameters"]) == expected_parameters, "the full parameter set is stored"
        assert pd.notna(row["created_at"]) and pd.notna(row["finished_at"])
        assert row["created_at"] <= row["finished_at"]
        assert row["elapsed_seconds"] >= 0
        summary = json.loads(row["summary"])
        assert summary["run_id"] == run_id and summary["patients"] == PATIENTS
    assert runs.loc[ids["chunked"], "chunk_size"] == 37


@pytest.mark.parametrize("name", TABLES)
def test_same_seed_gives_identical_tables(store: tuple[Path, dict[str, str]], name: str) -> None:
    db, ids = store
    a = table(db, name, ids["a"])
    assert len(a) > 0
    pdt.assert_frame_equal(a, table(db, name, ids["b"]))


@pytest.mark.parametrize("name", TABLES)
def test_chunking_does_not_change_the_tables(store: tuple[Path, dict[str, str]], name: str) -> None:
    db, ids = store
    pdt.assert_frame_equal(table(db, name, ids["a"]), table(db, name, ids["chunked"]))


def test_another_seed_gives_other_patients(store: tuple[Path, dict[str, str]]) -> None:
    db, ids = store
    a, other = table(db, "patients", ids["a"]), table(db, "patients", ids["other"])
    assert not a["doubling_time_days"].equals(other["doubling_time_days"])


def test_runs_of_one_db_are_listed_newest_first(store: tuple[Path, dict[str, str]]) -> None:
    db, ids = store
    res = cli("runs", "--db", db, "--json")
    assert res.returncode == 0, res.stderr
    listed = [r["run_id"] for r in json.loads(res.stdout)]
    assert listed == [ids["other"], ids["chunked"], ids["b"], ids["a"]]


def test_a_chunk_is_stored_the_same_from_dataframes_or_arrow_tables(tmp_path: Path) -> None:
    # Workers send Arrow tables (cohort.run.simulate_chunk_task); RunStore.append also takes DataFrames.
    import pyarrow as pa

    from metastasim.cohort.chunks import simulate_tables
    from metastasim.storage.store import RunStore

    params = load_parameters("colorectal")
    stored = {}
    for kind in ("pandas", "arrow"):
        store = RunStore(str(tmp_path / f"{kind}.duckdb"))
        store.start_run("r", {"cancer": "colorectal", "patients": 40, "years": YEARS, "seed": 3, "chunk_size": 20,
                              "workers": 1, "events": True, "version": __version__, "parameters": {}, "scenario": {}})
        for index, first in enumerate((0, 20)):
            tables = simulate_tables(params, 3, first, 20, YEARS, "r")
            if kind == "arrow":
                tables = {name: pa.Table.from_pandas(df, preserve_index=False) for name, df in tables.items()}
            assert store.append("r", tables, (index, first, 20))
        stored[kind] = {
            name: store.con.execute(f"SELECT * FROM {name} ORDER BY {ORDER[name]}").df() for name in TABLES
        }
        store.con.close()
    for name in TABLES:
        assert len(stored["pandas"][name]) > 0
        pdt.assert_frame_equal(stored["pandas"][name], stored["arrow"][name])


def test_the_default_chunk_is_4000_patients_or_four_per_worker_for_small_cohorts() -> None:
    from metastasim.cohort.run import default_chunk_size

    assert default_chunk_size(1_000_000, 2) == 4000
    assert default_chunk_size(10_000, 1) == 2500
    assert default_chunk_size(10_000, 2) == 1250
    assert default_chunk_size(10_001, 2) == 1251  # rounded up: never a fifth chunk for a worker
    assert default_chunk_size(100, 2) == 250


def test_a_run_without_a_chunk_size_records_the_default_it_used(store: tuple[Path, dict[str, str]]) -> None:
    db, ids = store
    sizes = sql(db, "SELECT run_id, chunk_size FROM runs").set_index("run_id")["chunk_size"]
    assert sizes[ids["a"]] == 250  # 150 patients, 1 worker
    assert sizes[ids["chunked"]] == 37


def test_a_database_of_an_earlier_version_gets_the_columns_this_version_adds(tmp_path: Path) -> None:
    """A lesions table written without this version's newest columns (as an earlier version wrote it) takes a
    new run: the columns are added, NULL in the old rows and filled in the new ones, and no old row is lost."""
    from metastasim.cohort.chunks import simulate_tables
    from metastasim.storage.store import RunStore

    params = load_parameters("colorectal")
    new = ["chemo_resistant_fraction_end", "subclone_resists"]
    store = RunStore(str(tmp_path / "old.duckdb"))
    meta = {"cancer": "colorectal", "patients": 20, "years": YEARS, "seed": 3, "chunk_size": 20, "workers": 1,
            "events": False, "version": __version__, "parameters": {}, "scenario": {}}
    store.start_run("old", meta)
    old = simulate_tables(params, 3, 0, 20, YEARS, "old", with_events=False)
    assert store.append("old", {**old, "lesions": old["lesions"].drop(columns=new)}, (0, 0, 20))
    store.start_run("new", meta)
    tables = simulate_tables(params, 3, 0, 20, YEARS, "new", with_events=False)
    assert store.append("new", tables, (0, 0, 20))
    got = store.con.execute("SELECT * FROM lesions ORDER BY run_id, patient_id, lesion_id").df()
    store.close()
    assert (got.run_id == "old").sum() == len(old["lesions"]) and (got.run_id == "new").sum() == len(tables["lesions"])
    assert got.loc[got.run_id == "old", new].isna().all().all()
    fresh = got[got.run_id == "new"].reset_index(drop=True)
    pdt.assert_series_equal(fresh.chemo_resistant_fraction_end, tables["lesions"].chemo_resistant_fraction_end)
    assert (fresh.subclone_resists.fillna("") == tables["lesions"].subclone_resists.astype(str)).all()
