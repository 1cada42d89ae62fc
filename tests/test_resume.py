"""Crash safety: runs killed with SIGKILL (the main process or a worker) finish by `metastasim resume` with
tables identical to an uninterrupted run, never duplicate a patient, and never look complete before they are.

Also: the same cohort on 1 or 2 local processes and on a real Dask cluster gives identical tables.
"""

from __future__ import annotations

import random
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pandas as pd
import pandas.testing as pdt
import psutil
import pytest

from clitools import CLI, TIMEOUT, cli, ok, one_line_error, sql
from conftest import free_port
from metastasim.cohort.run import CohortConfig, resume_run, run_cohort
from metastasim.errors import MetastasimError
from metastasim.storage.store import RunStore

PATIENTS, CHUNK, YEARS, SEED = 1600, 100, 15, 5
RUN_ARGS = ["--patients", PATIENTS, "--chunk-size", CHUNK, "--years", YEARS, "--seed", SEED]
TABLES = ("patients", "lesions", "events", "timeseries")


def _tables(db: Path | str | RunStore, run_id: str) -> dict[str, pd.DataFrame]:
    store = db if isinstance(db, RunStore) else RunStore(db, must_exist=True)
    out = {name: store.table(run_id, name).drop(columns="run_id") for name in TABLES}
    # Events of one patient and day keep their order within a chunk; sort fully to compare across runs.
    out["events"] = out["events"].sort_values(list(out["events"].columns)).reset_index(drop=True)
    if not isinstance(db, RunStore):
        store.close()
    return out


def _assert_same_tables(got: dict[str, pd.DataFrame], expected: dict[str, pd.DataFrame]) -> None:
    for name in TABLES:
        pdt.assert_frame_equal(got[name], expected[name], check_dtype=False, obj=name)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    """The uninterrupted run, in this process."""
    db = tmp_path_factory.mktemp("reference") / "ref.duckdb"
    config = CohortConfig(patients=PATIENTS, chunk_size=CHUNK, years=YEARS, seed=SEED)
    result = run_cohort(config, db=str(db), progress=False)
    tables = _tables(result.store, result.run_id)
    result.store.close()
    return tables


class _Progress:
    """A `metastasim run` or `resume` subprocess whose progress bar (stderr) is read as it runs."""

    def __init__(self, args: list[object]) -> None:
        self.proc = subprocess.Popen([*CLI, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.err = bytearray()
        self._reader = threading.Thread(target=self._pump, daemon=True)
        self._reader.start()

    def _pump(self) -> None:
        assert self.proc.stderr is not None
        while chunk := self.proc.stderr.read1(4096):
            self.err.extend(chunk)

    def patients_done(self) -> int:
        """The latest count of the progress bar (patients stored, including those of earlier attempts)."""
        counts = re.findall(rb"\b(\d+)/%d\b" % PATIENTS, bytes(self.err))
        return int(counts[-1]) if counts else 0

    def wait_for(self, patients: int) -> bool:
        """Wait until at least `patients` are stored; False if the process ended first."""
        deadline = time.monotonic() + TIMEOUT
        while self.patients_done() < patients:
            if self.proc.poll() is not None:
                return False
            assert time.monotonic() < deadline, "no progress"
            time.sleep(0.05)
        return True

    def stderr(self) -> str:
        self._reader.join(timeout=10)
        return bytes(self.err).decode(errors="replace")


def _run_id(db: Path) -> str:
    runs = sql(db, "SELECT run_id FROM runs")
    assert len(runs) == 1
    return str(runs["run_id"].iloc[0])


def _assert_consistent_and_incomplete(db: Path) -> None:
    """After a kill: not complete, and the stored patients are exactly those of the stored chunks."""
    row = sql(db, "SELECT * FROM runs").iloc[0]
    assert row["status"] == "running"  # killed: never 'complete'
    stored = sql(db, "SELECT count(*) AS n, count(DISTINCT patient_id) AS d FROM patients").iloc[0]
    chunked = sql(db, "SELECT coalesce(sum(n_patients), 0) AS n FROM chunks").iloc[0]["n"]
    assert stored["n"] == stored["d"] == chunked == row["patients_written"]
    assert "complete" not in ok(cli("runs", "--db", db))


def test_a_run_killed_with_sigkill_at_random_moments_resumes_to_identical_tables(tmp_path, reference):
    db = tmp_path / "killed.duckdb"
    rng = random.Random(20261124)
    kills = 0
    proc = _Progress(["run", *RUN_ARGS, "--db", db])
    run_id = None
    while True:
        # Kill once a random number of patients is stored, after a random extra moment (sometimes mid-write).
        target = min(PATIENTS - CHUNK, proc.patients_done() + rng.randrange(CHUNK, 5 * CHUNK))
        if kills >= 4 or not proc.wait_for(target):
            break
        time.sleep(rng.uniform(0.0, 0.4))
        if proc.proc.poll() is not None:
            break
        proc.proc.send_signal(signal.SIGKILL)
        proc.proc.wait(timeout=60)
        kills += 1
        run_id = run_id or _run_id(db)
        _assert_consistent_and_incomplete(db)
        proc = _Progress(["resume", run_id, "--db", db])
    proc.proc.wait(timeout=TIMEOUT)
    assert proc.proc.returncode == 0, proc.stderr()[-3000:]
    assert kills >= 3, f"the run ended after {kills} kills; make it longer"
    run_id = run_id or _run_id(db)
    row = sql(db, "SELECT * FROM runs").iloc[0]
    assert row["status"] == "complete" and row["resumed"] == kills
    assert row["patients_written"] == PATIENTS
    assert sql(db, "SELECT count(*) AS n FROM chunks").iloc[0]["n"] == PATIENTS // CHUNK
    _assert_same_tables(_tables(db, run_id), reference)


def test_a_worker_killed_mid_chunk_is_retried_without_duplicates(tmp_path, reference):
    db = tmp_path / "worker.duckdb"
    proc = _Progress(["run", *RUN_ARGS, "--db", db, "--workers", "2"])
    assert proc.wait_for(2 * CHUNK), proc.stderr()[-3000:]
    workers = psutil.Process(proc.proc.pid).children()
    assert len(workers) >= 2
    workers[0].send_signal(signal.SIGKILL)  # both workers are busy with a chunk all the time
    proc.proc.wait(timeout=TIMEOUT)
    assert proc.proc.returncode == 0, proc.stderr()[-3000:]
    row = sql(db, "SELECT * FROM runs").iloc[0]
    assert row["status"] == "complete" and row["patients_written"] == PATIENTS
    _assert_same_tables(_tables(db, _run_id(db)), reference)


def test_results_pass_through_files_that_are_removed_and_dead_runs_leave_none(tmp_path, monkeypatch):
    """Worker results cross the pool as files (see parallel._result_to_file); none outlives its run."""
    import os
    import sys
    import tempfile

    from metastasim import parallel

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f"{parallel.RESULTS_PREFIX}{dead.pid}-abc"
    live = tmp_path / f"{parallel.RESULTS_PREFIX}{os.getpid()}-abc"
    for d in (stale, live):
        d.mkdir()
        (d / "half-written.pickle").write_bytes(b"x")
    pool = parallel.LocalProcesses(2)
    try:
        assert not stale.exists() and live.exists()
        assert pool.map(abs, [-3, 4, -5]) == [3, 4, 5]
        own = [p for p in tmp_path.iterdir() if p != live]
        assert len(own) == 1 and list(own[0].iterdir()) == []  # each result file is removed once read
    finally:
        pool.close()
    assert [p.name for p in tmp_path.iterdir()] == [live.name]


def test_an_interrupted_run_resumes_in_process_and_a_stored_chunk_is_never_written_twice(tmp_path, reference):
    store = RunStore(tmp_path / "i.duckdb")
    config = CohortConfig(patients=PATIENTS, chunk_size=CHUNK, years=YEARS, seed=SEED)
    from metastasim.cohort import run as run_module

    calls = {"n": 0}
    original = run_module.simulate_chunk_task

    def interrupt_after_three(task):
        calls["n"] += 1
        if calls["n"] > 3:
            raise KeyboardInterrupt
        return original(task)

    run_module.simulate_chunk_task = interrupt_after_three
    try:
        with pytest.raises(KeyboardInterrupt):
            run_cohort(config, db=store, progress=False)
    finally:
        run_module.simulate_chunk_task = original
    run_id = str(store.runs()["run_id"].iloc[0])
    assert store.run_info(run_id)["status"] == "interrupted"
    assert store.chunks_done(run_id) == {0, 1, 2}
    # Writing a stored chunk again is refused and adds nothing.
    params = run_module.load_parameters("colorectal")
    again = original(run_module.ChunkTask(params, SEED, 0, 0, CHUNK, YEARS, run_id, True))
    assert store.append(run_id, again, (0, 0, CHUNK)) is False
    assert store.run_info(run_id)["patients_written"] == 3 * CHUNK
    result = resume_run(run_id, db=store, workers=2, progress=False)
    assert result.status == "complete" and result.summary is not None
    assert result.summary["patients"] == PATIENTS
    _assert_same_tables(_tables(store, run_id), reference)


def test_resume_errors_are_one_line(tmp_path):
    db = tmp_path / "e.duckdb"
    assert "no database" in one_line_error(cli("resume", "colorectal-x", "--db", db))
    ok(cli("run", "--patients", 20, "--years", 5, "--db", db, "--quiet"))
    run_id = _run_id(db)
    assert "already complete" in one_line_error(cli("resume", run_id, "--db", db))
    assert f"did you mean '{run_id}'" in one_line_error(cli("resume", run_id[:-1] + "x", "--db", db))
    store = RunStore(db)
    store.con.execute("UPDATE runs SET status = 'running', version = '0.0.1'")
    store.close()
    line = one_line_error(cli("resume", run_id, "--db", db))
    assert "0.0.1" in line and "version" in line
    assert "--workers = 0" in one_line_error(cli("resume", run_id, "--db", db, "--workers", 0))


def test_resume_refuses_a_run_whose_parameters_cannot_be_restored(tmp_path):
    store = RunStore(tmp_path / "p.duckdb")
    result = run_cohort(CohortConfig(patients=20, years=5, chunk_size=10), db=store, progress=False)
    store.con.execute("UPDATE runs SET status = 'running', "
                      "parameters = json_merge_patch(parameters, '{\"growth.law\": \"no such law\"}')")
    with pytest.raises(MetastasimError, match=r"growth\.law"):
        resume_run(result.run_id, db=store, progress=False)


def test_one_or_two_processes_and_a_dask_cluster_give_identical_tables(tmp_path, dask_cluster):
    results = {}
    for label, workers, cluster in (("1 process", 1, None), ("2 processes", 2, None), ("dask", 1, dask_cluster)):
        config = CohortConfig(patients=300, chunk_size=40, years=YEARS, seed=SEED, workers=workers)
        results[label] = run_cohort(config, db=str(tmp_path / f"{workers}{label}.duckdb"), progress=False,
                                    cluster=cluster)
    expected = _tables(results["1 process"].store, results["1 process"].run_id)
    for label in ("2 processes", "dask"):
        result = results[label]
        _assert_same_tables(_tables(result.store, result.run_id), expected)
        assert result.summary == {**results["1 process"].summary, "run_id": result.run_id}


def test_an_unreachable_cluster_is_a_one_line_error_and_writes_nothing(tmp_path):
    db = tmp_path / "c.duckdb"
    line = one_line_error(cli("run", "--patients", 10, "--db", db, "--cluster", f"tcp://127.0.0.1:{free_port()}"))
    assert "cannot reach a Dask scheduler" in line
    assert not db.exists() or sql(db, "SELECT count(*) AS n FROM runs").iloc[0]["n"] == 0
