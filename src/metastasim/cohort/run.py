"""Run a cohort: simulate in chunks, store each chunk as it completes, summarise.

Chunks run in this process or several; the run's seed, parameters, version and status are recorded.

Patient ids are global and each patient's draws depend only on (seed, patient id), so any chunking and
any number of processes give identical per-patient tables.
"""

from __future__ import annotations

import secrets
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd
from tqdm import tqdm

from metastasim.cohort.chunks import chunk_bounds, simulate_tables
from metastasim.cohort.summary import summarise
from metastasim.errors import ScenarioError
from metastasim.parallel import ignore_interrupts
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
    chunk_size: int = 2000
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
            ("chunk_size", self.chunk_size, 1, 10**7),
            ("workers", self.workers, 1, 256),
        )
        for name, value, low, high in checks:
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ScenarioError(
                    f"{name} = {value!r} is out of range; valid range is [{low}, {high}] (whole number)"
                )


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
    return f"{cancer}-{datetime.utcnow():%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def _chunks_in_order(config: CohortConfig, params: Parameters, run_id: str):
    """Yield chunk tables, computed here or in worker processes."""
    bounds = chunk_bounds(config.patients, config.chunk_size)
    args = [(params, config.seed, first, n, config.years, run_id, config.events) for first, n in bounds]
    if config.workers == 1 or len(bounds) == 1:
        for a in args:
            yield simulate_tables(*a)
        return
    with ProcessPoolExecutor(max_workers=config.workers, initializer=ignore_interrupts) as pool:
        pending: set[Future[dict[str, pd.DataFrame]]] = set()
        queue = list(args)
        while queue or pending:
            while queue and len(pending) < 2 * config.workers:
                pending.add(pool.submit(simulate_tables, *queue.pop(0)))
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                yield fut.result()


def run_cohort(config: CohortConfig, db: str | RunStore = DEFAULT_DB, progress: bool = True) -> CohortResult:
    """Simulate a cohort, store it, and return the result with its summary.

    Raises:
        ScenarioError: bad settings or parameters (nothing is written).
        KeyboardInterrupt: after marking the run ``interrupted`` in the store.
    """
    config.validate()
    params = load_parameters(config.cancer, config.overrides)
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
            "version": __version__,
            "parameters": params.values,
            "scenario": config.scenario,
        },
    )
    started = time.perf_counter()
    bar = tqdm(total=config.patients, unit="patient", disable=not progress, desc=f"{config.cancer}", leave=False)
    try:
        for tables in _chunks_in_order(config, params, run_id):
            store.append(run_id, tables)
            bar.update(len(tables["patients"]))
        bar.close()
        info = store.run_info(run_id)
        summary = summarise(info, store.table(run_id, "patients"), store.table(run_id, "timeseries"))
        store.finish(run_id, "complete", summary, time.perf_counter() - started)
    except KeyboardInterrupt:
        store.finish(run_id, "interrupted", None, time.perf_counter() - started)
        raise
    except BaseException:
        store.finish(run_id, "failed", None, time.perf_counter() - started)
        raise
    finally:
        bar.close()
    return CohortResult(run_id, "complete", summary, store)
