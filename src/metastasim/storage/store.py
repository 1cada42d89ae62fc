"""Results in an embedded DuckDB database: one file, no server, plain table names for SQL.

Tables: ``runs`` (one row per run: seed, parameters, version, times, status), ``chunks`` (one row per stored
chunk of a run), ``patients``, ``lesions``, ``events`` and ``timeseries`` (rows keyed by ``run_id`` and
``patient_id``). Each chunk of patients is written with its ``chunks`` row in one transaction, and a run is
marked ``complete`` only after its last chunk; an interrupted, failed or killed run keeps a status that is
not ``complete`` (a killed one stays ``running``), so partial results never look complete, and
``metastasim resume`` finishes it from the chunks it lacks.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

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

# Columns added after the first release: older database files gain them when opened.
_RUNS_ADDED_COLUMNS = ("events BOOLEAN", "resumed INTEGER DEFAULT 0")

_CHUNKS_DDL = """
CREATE TABLE IF NOT EXISTS chunks (
    run_id VARCHAR,
    chunk_index INTEGER,
    first_patient_id BIGINT,
    n_patients INTEGER,
    written_at TIMESTAMP,
    PRIMARY KEY (run_id, chunk_index)
)
"""


def _text_columns(table: pd.DataFrame | pa.Table) -> list[tuple[str, bool]]:
    """Each column's name and whether it holds categorical (dictionary-encoded) or string values."""
    if isinstance(table, pa.Table):
        return [(f.name, pa.types.is_dictionary(f.type) or pa.types.is_string(f.type)) for f in table.schema]
    return [
        (str(c), isinstance(table[c].dtype, pd.CategoricalDtype) or table[c].dtype == "string")
        for c in table.columns
    ]


def _is_interrupt(exc: BaseException) -> bool:
    """Whether `exc` is DuckDB's report of a query stopped by SIGINT (its own exception, or the Arrow scan's)."""
    if isinstance(exc, duckdb.InterruptException):
        return True
    return isinstance(exc, RuntimeError) and str(exc).strip() == "Query interrupted"


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
        self.con.execute("SET memory_limit = '512MB'")
        self.con.execute(_RUNS_DDL)
        for column in _RUNS_ADDED_COLUMNS:
            self.con.execute(f"ALTER TABLE runs ADD COLUMN IF NOT EXISTS {column}")
        self.con.execute(_CHUNKS_DDL)
        self._columns_checked: set[str] = set()

    def _has_table(self, name: str) -> bool:
        rows = self.con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name])
        return bool(rows.fetchall()[0][0])

    def close(self) -> None:
        """Close the database connection."""
        self.con.close()

    def start_run(self, run_id: str, meta: dict[str, Any]) -> None:
        """Register a new run with status ``running``."""
        self.con.execute(
            "INSERT INTO runs (run_id, created_at, status, cancer, patients, years, seed, chunk_size, workers, "
            "events, version, parameters, scenario, patients_written) "
            "VALUES (?, now(), 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
            [
                run_id,
                meta["cancer"],
                meta["patients"],
                meta["years"],
                meta["seed"],
                meta["chunk_size"],
                meta["workers"],
                bool(meta.get("events", True)),
                meta["version"],
                json.dumps(meta["parameters"]),
                json.dumps(meta.get("scenario", {})),
            ],
        )

    def append(
        self, run_id: str, tables: dict[str, pd.DataFrame | pa.Table], chunk: tuple[int, int, int]
    ) -> bool:
        """Write one chunk's tables and its ``chunks`` row, (index, first patient id, patients), in one transaction.

        Tables are pandas DataFrames or Arrow tables (DuckDB reads Arrow columns without converting them, which
        halves the writing process's time per chunk: cohort runs send Arrow tables from their workers). A table
        may leave out its ``run_id`` column; every row then gets `run_id`.

        A chunk already stored is not written again (returns False), so a chunk that was simulated twice, by
        a resumed run or a retried worker, can never duplicate patients. A crash at any moment leaves either
        the whole chunk with its row or nothing of it.
        """
        index, first_patient_id, n_patients = chunk
        self.con.execute("BEGIN TRANSACTION")
        try:
            stored = self.con.execute(
                "SELECT count(*) FROM chunks WHERE run_id = ? AND chunk_index = ?", [run_id, index]
            ).fetchall()[0][0]
            if stored:
                self.con.execute("ROLLBACK")
                return False
            for name, df in tables.items():
                if df is None or len(df) == 0:
                    continue
                self.con.register("chunk_df", df)
                # A table without its run_id column gets the run's id as a constant: DuckDB then stores one
                # value per row group instead of converting a string per row (a fifth of a lesions chunk's cost).
                has_run_id = "run_id" in (df.column_names if isinstance(df, pa.Table) else df.columns)
                run_id_column = "" if has_run_id else "?::VARCHAR AS run_id, "
                bound = [] if has_run_id else [run_id]
                if not self._has_table(name):
                    # Categorical columns become plain VARCHAR so later chunks with other categories fit.
                    cols = ", ".join(
                        f'CAST("{c}" AS VARCHAR) AS "{c}"' if cast else f'"{c}"' for c, cast in _text_columns(df)
                    )
                    self.con.execute(f"CREATE TABLE {name} AS SELECT {run_id_column}{cols} FROM chunk_df", bound)
                else:
                    self._add_missing_columns(name, df)
                    self.con.execute(f"INSERT INTO {name} BY NAME SELECT {run_id_column}* FROM chunk_df", bound)
                self.con.unregister("chunk_df")
            self.con.execute(
                "INSERT INTO chunks VALUES (?, ?, ?, ?, now())", [run_id, index, first_patient_id, n_patients]
            )
            n = len(tables.get("patients", []))
            self.con.execute("UPDATE runs SET patients_written = patients_written + ? WHERE run_id = ?", [n, run_id])
            self.con.execute("COMMIT")
        except BaseException as exc:
            # An interrupt that lands during COMMIT ends the transaction itself (committed whole, or not at all:
            # the chunk and its chunks row are in it together), so there may be nothing left to roll back.
            with contextlib.suppress(duckdb.TransactionException):
                self.con.execute("ROLLBACK")
            self._columns_checked.clear()  # columns added in the rolled-back transaction are gone again
            if _is_interrupt(exc):
                # Ctrl-C that lands while DuckDB scans the chunk is reported as a failed query: it is the user's
                # interrupt, and the run must be stored as interrupted, not failed.
                raise KeyboardInterrupt from exc
            raise
        return True

    def _add_missing_columns(self, name: str, table: pd.DataFrame | pa.Table) -> None:
        """Add the columns this version writes that a table made by an earlier version lacks (NULL in its rows).

        Checked once per table and connection, so a database shared by versions keeps taking new runs.
        """
        if name in self._columns_checked:
            return
        have = {r[0] for r in self.con.execute(f"DESCRIBE {name}").fetchall()}
        for column, text in _text_columns(table):
            if column not in have:
                kind = "VARCHAR"
                if not text:
                    kind = self.con.execute(f'SELECT typeof("{column}") FROM chunk_df LIMIT 1').fetchall()[0][0]
                self.con.execute(f'ALTER TABLE {name} ADD COLUMN "{column}" {kind}')
        self._columns_checked.add(name)

    def chunks_done(self, run_id: str) -> set[int]:
        """Indices of the run's chunks that are stored."""
        rows = self.con.execute("SELECT chunk_index FROM chunks WHERE run_id = ?", [run_id]).fetchall()
        return {int(r[0]) for r in rows}

    def mark_running(self, run_id: str) -> None:
        """Mark a stopped run as running again (it is being resumed)."""
        self.con.execute(
            "UPDATE runs SET status = 'running', finished_at = NULL, resumed = coalesce(resumed, 0) + 1 "
            "WHERE run_id = ?",
            [run_id],
        )

    def finish(self, run_id: str, status: str, summary: dict[str, Any] | None, elapsed: float) -> None:
        """Set a run's final status (complete, interrupted or failed) and its summary; add `elapsed` seconds."""
        self.con.execute(
            "UPDATE runs SET status = ?, finished_at = now(), summary = ?, "
            "elapsed_seconds = coalesce(elapsed_seconds, 0) + ? WHERE run_id = ?",
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
        if not self._has_table(name):
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
            if not self._has_table(name):
                continue
            path = out / f"{name}.parquet"
            tmp = out / f".{name}.parquet.tmp"
            safe_id = run_id.replace("'", "''")
            self.con.execute(f"COPY (SELECT * FROM {name} WHERE run_id = '{safe_id}') TO '{tmp}' (FORMAT PARQUET)")
            tmp.replace(path)
            written.append(path)
        return written
