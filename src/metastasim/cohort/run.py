"""Run a cohort: simulate in chunks, store each chunk as it completes, summarise.

Chunks run in this process, in local worker processes or on a Dask cluster (metastasim.parallel); the run's
seed, parameters, version and status are recorded, and every stored chunk is recorded with its tables in one
transaction, so a killed run resumes where it stopped (`resume_run`).

Patient ids are global and each patient's draws depend only on (seed, patient id), so any chunking and
any number of processes give identical per-patient tables.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pyarrow as pa
from tqdm import tqdm

from metastasim.cohort.chunks import chunk_bounds, simulate_tables
from metastasim.cohort.summary import summarise
from metastasim.errors import MetastasimError, RunInterrupted, ScenarioError
from metastasim.parallel import Executor, make_executor
from metastasim.params.load import Parameters, load_parameters
from metastasim.storage.store import RunStore
from metastasim.version import __version__

DEFAULT_DB = "metastasim.duckdb"
MAX_YEARS = 100
MAX_PATIENTS = 2**32 - 1


@dataclass
class CohortConfig:
    """What to simulate. ``overrides`` are parameter changes by dotted name (validated on load)."""

    cancer: str = "colorectal"
    patients: int = 1000
    years: int = 20
    seed: int = 1
    chunk_size: int | None = None  # None: default_chunk_size(patients, workers)
    workers: int = 1
    overrides: dict[str, Any] = field(default_factory=dict)
    events: bool = True
    scenario: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        """Raise ScenarioError for impossible settings, naming the valid range."""
        if not isinstance(self.events, bool):
            raise ScenarioError(f"events = {self.events!r} must be true or false")
        checks = (
            ("patients", self.patients, 1, MAX_PATIENTS),
            ("years", self.years, 1, MAX_YEARS),
            ("seed", self.seed, 0, 2**63 - 1),
            ("chunk_size", self.chunk_size if self.chunk_size is not None else 1, 1, 10**7),
            ("workers", self.workers, 1, 256),
        )
        for name, value, low, high in checks:
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ScenarioError(
                    f"{name} = {value!r} is out of range; valid range is [{low}, {high}] (whole number)"
                )


def default_chunk_size(patients: int, workers: int) -> int:
    """Patients per chunk when none is given: 4,000, or fewer so that each worker gets at least four chunks.

    A chunk of 4,000 default colorectal patients holds about 160,000 lesion rows, more than a DuckDB row group
    (122,880 rows), so DuckDB writes it straight to the database file instead of through its write-ahead log.
    200,000 patients on 2 workers (2026-11-24): 55 s in chunks of 2,000, 44 s in 4,000, 40 s in 8,000 and in
    16,000. 8,000 is faster still but each worker then peaks at about 0.73 GB (1,000,000 patients in 195 s), so
    the default keeps the smaller chunk for bounded memory. Small cohorts get smaller chunks so that the
    workers share the work.
    """
    return max(250, min(4000, -(-patients // (4 * workers))))


@dataclass
class CohortResult:
    """A finished (or interrupted) run: its id, status, summary, and its tables from the store."""

    run_id: str
    status: str
    summary: dict[str, Any] | None
    store: RunStore

    def table(self, name: str) -> pd.DataFrame:
        """One of: patients, lesions, events, timeseries."""
        return self.store.table(self.run_id, name)

    @property
    def patients(self) -> pd.DataFrame:
        """One row per patient."""
        return self.table("patients")

    @property
    def lesions(self) -> pd.DataFrame:
        """One row per lesion."""
        return self.table("lesions")

    @property
    def events(self) -> pd.DataFrame:
        """The event log of every patient."""
        return self.table("events")

    @property
    def timeseries(self) -> pd.DataFrame:
        """Yearly census of every patient."""
        return self.table("timeseries")


def new_run_id(cancer: str) -> str:
    """A readable unique run id: cancer, UTC time, random suffix."""
    return f"{cancer}-{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


@dataclass(frozen=True)
class ChunkTask:
    """One chunk of a run: what a worker process or a Dask worker needs to simulate it."""

    params: Parameters
    seed: int
    index: int
    first_patient_id: int
    n_patients: int
    years: int
    run_id: str
    events: bool


def simulate_chunk_task(task: ChunkTask) -> dict[str, pa.Table]:
    """Simulate one chunk and return its tables (a top-level function, so workers can unpickle it).

    The tables go back as Arrow tables: the conversion runs in the worker, and the process that writes every
    chunk to DuckDB then spends half the time per chunk that a DataFrame costs it. They leave out the run_id
    column, which the store fills with one constant (RunStore.append).
    """
    tables = simulate_tables(
        task.params, task.seed, task.first_patient_id, task.n_patients, task.years, task.run_id, task.events
    )
    return {
        name: pa.Table.from_pandas(df, columns=[c for c in df.columns if c != "run_id"], preserve_index=False)
        for name, df in tables.items()
    }


def run_cohort(
    config: CohortConfig, db: str | RunStore = DEFAULT_DB, progress: bool = True, cluster: str | None = None
) -> CohortResult:
    """Simulate a cohort, store it chunk by chunk, and return the result with its summary.

    Chunks run in this process, in `config.workers` local processes, or on the Dask cluster whose scheduler
    address is `cluster`. Each chunk is written with its bookkeeping row in one transaction, so a run that
    is killed at any moment can be finished by `resume_run` without redoing or duplicating a chunk.

    Raises:
        ScenarioError: bad settings or parameters (nothing is written).
        MetastasimError: an unreachable cluster (nothing is written).
        RunInterrupted: (a KeyboardInterrupt) after marking the run ``interrupted`` in the store.
    """
    config.validate()
    if config.chunk_size is None:
        config = replace(config, chunk_size=default_chunk_size(config.patients, config.workers))
    params = load_parameters(config.cancer, config.overrides)
    executor = make_executor(config.workers, cluster)
    store = db if isinstance(db, RunStore) else RunStore(db)
    run_id = new_run_id(config.cancer)
    store.start_run(
        run_id,
        {
            "cancer": config.cancer,
            "patients": config.patients,
            "years": config.years,
            "seed": config.seed,
            "chunk_size": config.chunk_size,
            "workers": config.workers,
            "events": config.events,
            "version": __version__,
            "parameters": params.values,
            "scenario": config.scenario,
        },
    )
    return _simulate_missing_chunks(store, run_id, config, params, executor, progress)


def resume_run(
    run_id: str, db: str | RunStore = DEFAULT_DB, workers: int | None = None, cluster: str | None = None,
    progress: bool = True,
) -> CohortResult:
    """Finish a run that stopped (killed, interrupted, failed): simulate only the chunks it has not stored.

    The run's stored seed, parameters and chunking are used, so the finished tables are identical to those
    of a run that was never stopped.

    Raises:
        MetastasimError: unknown run, a run that is already complete, or one stored by another version.
    """
    store = db if isinstance(db, RunStore) else RunStore(db, must_exist=True)
    info = store.run_info(run_id)
    if info["status"] == "complete":
        raise MetastasimError(f"run {run_id} is already complete; nothing to resume")
    if info["version"] != __version__:
        raise MetastasimError(
            f"run {run_id} was simulated by metastasim {info['version']}, this is {__version__}; resume it with "
            "that version (a different version could simulate its remaining patients differently)"
        )
    stored_values = json.loads(info["parameters"])
    params = load_parameters(str(info["cancer"])).with_overrides(stored_values)
    if json.loads(json.dumps(params.values)) != stored_values:
        raise MetastasimError(f"run {run_id}: its stored parameters cannot be restored exactly")
    config = CohortConfig(
        cancer=str(info["cancer"]),
        patients=int(info["patients"]),
        years=int(info["years"]),
        seed=int(info["seed"]),
        chunk_size=int(info["chunk_size"]),
        workers=workers if workers is not None else int(info["workers"]),
        events=bool(info["events"]),
        scenario=json.loads(info["scenario"]) if info["scenario"] else {},
    )
    config.validate()
    executor = make_executor(config.workers, cluster)
    store.mark_running(run_id)
    return _simulate_missing_chunks(store, run_id, config, params, executor, progress)


def _simulate_missing_chunks(
    store: RunStore, run_id: str, config: CohortConfig, params: Parameters, executor: Executor, progress: bool
) -> CohortResult:
    """Simulate and store every chunk of the run not yet stored, then summarise and mark it complete."""
    assert config.chunk_size is not None  # set by run_cohort and resume_run
    bounds = chunk_bounds(config.patients, config.chunk_size)
    done = store.chunks_done(run_id)
    tasks = [
        ChunkTask(params, config.seed, k, first, n, config.years, run_id, config.events)
        for k, (first, n) in enumerate(bounds)
        if k not in done
    ]
    started = time.perf_counter()
    bar = tqdm(
        total=config.patients, initial=config.patients - sum(t.n_patients for t in tasks), unit="patient",
        disable=not progress, desc=f"{config.cancer}", leave=False,
    )
    try:
        for k, tables in executor.stream(simulate_chunk_task, tasks):
            task = tasks[k]
            store.append(run_id, tables, (task.index, task.first_patient_id, task.n_patients))
            bar.update(task.n_patients)
        bar.close()
        missing = len(bounds) - len(store.chunks_done(run_id))
        if missing:
            raise MetastasimError(f"run {run_id}: {missing} chunks are missing after the run")  # pragma: no cover
        summary = summarise(store.run_info(run_id), store.con)
        store.finish(run_id, "complete", summary, time.perf_counter() - started)
    except KeyboardInterrupt:
        store.finish(run_id, "interrupted", None, time.perf_counter() - started)
        raise RunInterrupted(run_id) from None
    except BaseException:
        store.finish(run_id, "failed", None, time.perf_counter() - started)
        raise
    finally:
        bar.close()
        executor.close()
    return CohortResult(run_id, "complete", summary, store)
