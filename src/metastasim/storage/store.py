"""Results in an embedded DuckDB database: one file, no server, plain table names for SQL.

Tables: ``runs`` (one row per run: seed, parameters, version, times, status), ``patients``, ``lesions``,
``events`` and ``timeseries`` (rows keyed by ``run_id`` and ``patient_id``). Each chunk of patients is
written in one transaction, and a run is marked ``complete`` only after its last chunk; an interrupted or
failed run keeps the status that says so, so partial results never look complete.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from metastasim.errors import MetastasimError, unknown_key_message

RESULT_TABLES: tuple[str, ...] = ("patients", "lesions", "events", "timeseries")

_RUNS_DDL = """
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY,
    created_at TIMESTAMP,
    finished_at TIMESTAMP,
    status VARCHAR,
    cancer VARCHAR,
    patients BIGINT,
    years INTEGER,
    seed BIGINT,
    chunk_size INTEGER,
    workers INTEGER,
    version VARCHAR,
    parameters JSON,
    scenario JSON,
    summary JSON,
    elapsed_seconds DOUBLE,
    patients_written BIGINT
)
"""


class RunStore:
    """A DuckDB file holding any number of runs."""

    def __init__(self, path: str | Path, must_exist: bool = False) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            if must_exist and not Path(self.path).is_file():
                raise MetastasimError(f"no database at {self.path} (run 'metastasim run' first, or pass --db PATH)")
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(self.path)
        except duckdb.Error as exc:
            raise MetastasimError(f"cannot open database {self.path}: {exc}") from exc
        # Bound DuckDB's cache: results stream through in chunks, nothing needs to stay in memory.
        self.con.execute("SET memory_limit = '1GB'")
        self.con.execute(_RUNS_DDL)

    def close(self) -> None:
        """Close the database connection."""
        self.con.close()

    def start_run(self, run_id: str, meta: dict[str, Any]) -> None:
        """Register a new run with status ``running``."""
        self.con.execute(
            "INSERT INTO runs (run_id, created_at, status, cancer, patients, years, seed, chunk_size, workers, "
            "version, parameters, scenario, patients_written) "
            "VALUES (?, now(), 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
            [
                run_id,
                meta["cancer"],
                meta["patients"],
                meta["years"],
                meta["seed"],
                meta["chunk_size"],
                meta["workers"],
                meta["version"],
                json.dumps(meta["parameters"]),
                json.dumps(meta.get("scenario", {})),
            ],
        )

    def append(self, run_id: str, tables: dict[str, pd.DataFrame]) -> None:
        """Write one chunk's tables in a single transaction."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            for name, df in tables.items():
                if df is None or df.empty:
                    continue
                self.con.register("chunk_df", df)
                exists = self.con.execute(
                    "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
                ).fetchone()
                if not exists or exists[0] == 0:
                    # Categorical columns become plain VARCHAR so later chunks with other categories fit.
                    cols = ", ".join(
                        f'CAST("{c}" AS VARCHAR) AS "{c}"'
                        if isinstance(df[c].dtype, pd.CategoricalDtype) or df[c].dtype == "string"
                        else f'"{c}"'
                        for c in df.columns
                    )
                    self.con.execute(f"CREATE TABLE {name} AS SELECT {cols} FROM chunk_df")
                else:
                    self.con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM chunk_df")
                self.con.unregister("chunk_df")
            n = len(tables.get("patients", []))
            self.con.execute("UPDATE runs SET patients_written = patients_written + ? WHERE run_id = ?", [n, run_id])
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise

    def finish(self, run_id: str, status: str, summary: dict[str, Any] | None, elapsed: float) -> None:
        """Set a run's final status (complete, interrupted or failed) and its summary."""
        self.con.execute(
            "UPDATE runs SET status = ?, finished_at = now(), summary = ?, elapsed_seconds = ? WHERE run_id = ?",
            [status, json.dumps(summary) if summary is not None else None, elapsed, run_id],
        )

    def runs(self) -> pd.DataFrame:
        """All runs, newest first."""
        return self.con.execute(
            "SELECT run_id, created_at, status, cancer, patients, patients_written, years, seed, version, "
            "round(elapsed_seconds, 1) AS elapsed_seconds FROM runs ORDER BY created_at DESC"
        ).df()

    def run_info(self, run_id: str) -> dict[str, Any]:
        """The ``runs`` row of one run as a dict (raises for an unknown run)."""
        df = self.con.execute("SELECT * FROM runs WHERE run_id = ?", [run_id]).df()
        if df.empty:
            known = [r[0] for r in self.con.execute("SELECT run_id FROM runs").fetchall()]
            if not known:
                raise MetastasimError(f"unknown run '{run_id}': {self.path} holds no runs")
            raise MetastasimError(unknown_key_message("run", run_id, known))
        return df.iloc[0].to_dict()

    def table(self, run_id: str, name: str) -> pd.DataFrame:
        """One result table of one run, ordered by patient."""
        if name not in RESULT_TABLES:
            raise MetastasimError(f"unknown table '{name}'; tables: {', '.join(RESULT_TABLES)}")
        exists = self.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
        ).fetchone()
        if not exists or exists[0] == 0:
            return pd.DataFrame()
        order = {
            "patients": "patient_id",
            "lesions": "patient_id, lesion_id",
            "events": "patient_id, day",
            "timeseries": "patient_id, year",
        }[name]
        return self.con.execute(f"SELECT * FROM {name} WHERE run_id = ? ORDER BY {order}", [run_id]).df()

    def export_parquet(self, run_id: str, directory: str | Path) -> list[Path]:
        """Write the run's tables (and its runs row) as Parquet files in `directory`."""
        self.run_info(run_id)
        out = Path(directory)
        if out.exists() and not out.is_dir():
            raise MetastasimError(f"--parquet {out} is a file; give a directory for the Parquet files")
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for name in ("runs", *RESULT_TABLES):
            exists = self.con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
            ).fetchone()
            if not exists or exists[0] == 0:
                continue
            path = out / f"{name}.parquet"
            tmp = out / f".{name}.parquet.tmp"
            safe_id = run_id.replace("'", "''")
            self.con.execute(f"COPY (SELECT * FROM {name} WHERE run_id = '{safe_id}') TO '{tmp}' (FORMAT PARQUET)")
            tmp.replace(path)
            written.append(path)
        return written
