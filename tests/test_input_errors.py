"""Bad input found in review: each is one line on stderr, exit code 2, no traceback, nothing written."""

import subprocess
from pathlib import Path

import pytest

from clitools import cli, one_line_error
from metastasim.cohort.run import CohortConfig
from metastasim.errors import ScenarioError
from metastasim.params.scenario import read_scenario


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return cli(*args, cwd=cwd)


def _assert_one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    line = one_line_error(proc)
    for needle in needles:
        assert needle in line


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("parameters = 5\n[run]\npatients = 10\n", "[parameters] must be a table"),
        ("name = 2024-01-01\n[run]\npatients = 10\n", "'name' must be a string"),
    ],
)
def test_malformed_scenarios_are_rejected(tmp_path, text, needle):
    path = tmp_path / "s.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError, match=needle.replace("[", r"\[").replace("]", r"\]")):
        read_scenario(path)
    proc = _cli("run", str(path), "--db", "x.duckdb", cwd=tmp_path)
    _assert_one_line_error(proc, needle)
    assert not (tmp_path / "x.duckdb").exists()


def test_events_setting_must_be_boolean():
    with pytest.raises(ScenarioError, match="true or false"):
        CohortConfig(events="no").validate()  # type: ignore[arg-type]


def test_runs_and_export_need_an_existing_database(tmp_path):
    _assert_one_line_error(_cli("runs", "--db", "none.duckdb", cwd=tmp_path), "no database at none.duckdb")
    _assert_one_line_error(_cli("export", "r1", "--parquet", "out", "--db", "none.duckdb", cwd=tmp_path), "no database")
    assert not (tmp_path / "none.duckdb").exists()


def test_export_refuses_a_file_as_directory_and_names_empty_databases(tmp_path):
    proc = _cli("run", "--patients", "20", "--years", "3", "--db", "t.duckdb", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    run_id = __import__("json").loads(proc.stdout)["run_id"]
    (tmp_path / "afile").write_text("x")
    _assert_one_line_error(_cli("export", run_id, "--parquet", "afile", "--db", "t.duckdb", cwd=tmp_path), "is a file")
    from metastasim.storage.store import RunStore

    RunStore(tmp_path / "empty.duckdb").close()
    _assert_one_line_error(
        _cli("export", "nope", "--parquet", "o", "--db", "empty.duckdb", cwd=tmp_path), "holds no runs"
    )
