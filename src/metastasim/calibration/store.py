"""Calibrations in the DuckDB database, so that an interrupted calibration resumes where it stopped.

Tables (all keyed by ``calibration_id``):

- ``calibrations``: one row per calibration: scenario, seed, version, status, stop reason, totals.
- ``calibration_evaluations``: every simulated cohort: generation, proposal number, parameter values,
  the targets' simulated statistics and the distance. A batch of proposals is written in one transaction.
- ``calibration_generations``: one row per finished generation: threshold epsilon, accepted, simulated.
- ``calibration_particles``: the accepted particles of each finished generation with weights and distances.

A generation's row and its particles are written in one transaction, so a generation is either wholly
stored or not at all; the status says whether the calibration is ``running``, ``interrupted``, ``failed``
or ``complete``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from metastasim.errors import MetastasimError, unknown_key_message

_DDL = (
    """CREATE TABLE IF NOT EXISTS calibrations (
        calibration_id VARCHAR PRIMARY KEY, name VARCHAR, cancer VARCHAR, created_at TIMESTAMP,
        finished_at TIMESTAMP, status VARCHAR, seed BIGINT, version VARCHAR, config_hash VARCHAR,
        scenario JSON, stop_reason VARCHAR, simulations BIGINT, elapsed_seconds DOUBLE)""",
    """CREATE TABLE IF NOT EXISTS calibration_evaluations (
        calibration_id VARCHAR, generation INTEGER, proposal INTEGER, parameters JSON, statistics JSON,
        distance DOUBLE, PRIMARY KEY (calibration_id, generation, proposal))""",
    """CREATE TABLE IF NOT EXISTS calibration_generations (
        calibration_id VARCHAR, generation INTEGER, epsilon DOUBLE, accepted INTEGER, simulated INTEGER,
        acceptance_rate DOUBLE, elapsed_seconds DOUBLE, finished_at TIMESTAMP,
        PRIMARY KEY (calibration_id, generation))""",
    """CREATE TABLE IF NOT EXISTS calibration_particles (
        calibration_id VARCHAR, generation INTEGER, particle INTEGER, proposal INTEGER, weight DOUBLE,
        distance DOUBLE, parameters JSON, PRIMARY KEY (calibration_id, generation, particle))""",
)


@dataclass
class Evaluation:
    """One simulated cohort of a calibration."""

    generation: int
    proposal: int
    parameters: dict[str, float]  # in the parameters' own units
    statistics: dict[str, tuple[float, int]]
    distance: float


class CalibrationStore:
    """Calibration tables in a DuckDB file (the same file can hold runs)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(self.path)
        except duckdb.Error as exc:
            raise MetastasimError(f"cannot open database {self.path}: {exc}") from exc
        for ddl in _DDL:
            self.con.execute(ddl)

    def close(self) -> None:
        """Close the connection."""
        self.con.close()

    def find(self, name: str, config_hash: str) -> dict[str, Any] | None:
        """The newest calibration of this scenario with these settings, if any."""
        df = self.con.execute(
            "SELECT * FROM calibrations WHERE name = ? AND config_hash = ? ORDER BY created_at DESC LIMIT 1",
            [name, config_hash],
        ).df()
        return None if df.empty else df.iloc[0].to_dict()

    def info(self, calibration_id: str) -> dict[str, Any]:
        """The ``calibrations`` row of one calibration (raises for an unknown id, naming the nearest)."""
        df = self.con.execute("SELECT * FROM calibrations WHERE calibration_id = ?", [calibration_id]).df()
        if df.empty:
            known = [r[0] for r in self.con.execute("SELECT calibration_id FROM calibrations").fetchall()]
            raise MetastasimError(unknown_key_message("calibration", calibration_id, known))
        return df.iloc[0].to_dict()

    def start(self, calibration_id: str, meta: dict[str, Any]) -> None:
        """Register a new calibration with status ``running``."""
        self.con.execute(
            "INSERT INTO calibrations (calibration_id, name, cancer, created_at, status, seed, version, config_hash, "
            "scenario, simulations, elapsed_seconds) VALUES (?, ?, ?, now(), 'running', ?, ?, ?, ?, 0, 0)",
            [calibration_id, meta["name"], meta["cancer"], meta["seed"], meta["version"], meta["config_hash"],
             json.dumps(meta["scenario"])],
        )

    def set_status(self, calibration_id: str, status: str, elapsed: float, stop_reason: str | None = None) -> None:
        """Record the status, total wall time and (when finished) why the calibration stopped."""
        self.con.execute(
            "UPDATE calibrations SET status = ?, elapsed_seconds = ?, stop_reason = coalesce(?, stop_reason), "
            "finished_at = CASE WHEN ? = 'running' THEN NULL ELSE now() END, "
            "simulations = (SELECT count(*) FROM calibration_evaluations WHERE calibration_id = ?) "
            "WHERE calibration_id = ?",
            [status, elapsed, stop_reason, status, calibration_id, calibration_id],
        )

    def add_evaluations(self, calibration_id: str, evaluations: list[Evaluation]) -> None:
        """Store a batch of simulated cohorts in one transaction."""
        rows = [
            (calibration_id, e.generation, e.proposal, json.dumps(e.parameters), json.dumps(e.statistics), e.distance)
            for e in evaluations
        ]
        self.con.execute("BEGIN TRANSACTION")
        try:
            self.con.executemany("INSERT INTO calibration_evaluations VALUES (?, ?, ?, ?, ?, ?)", rows)
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise

    def evaluations(self, calibration_id: str, generation: int | None = None) -> dict[tuple[int, int], Evaluation]:
        """Stored simulated cohorts by (generation, proposal)."""
        query = "SELECT generation, proposal, parameters, statistics, distance FROM calibration_evaluations " \
                "WHERE calibration_id = ?"
        args: list[Any] = [calibration_id]
        if generation is not None:
            query += " AND generation = ?"
            args.append(generation)
        out = {}
        for g, i, params, stats, dist in self.con.execute(query, args).fetchall():
            statistics = {k: (float(v[0]), int(v[1])) for k, v in json.loads(stats).items()}
            out[(g, i)] = Evaluation(g, i, json.loads(params), statistics, float(dist))
        return out

    def add_generation(self, calibration_id: str, row: dict[str, Any], particles: pd.DataFrame) -> None:
        """Store a finished generation and its particles in one transaction."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            self.con.execute(
                "INSERT INTO calibration_generations VALUES (?, ?, ?, ?, ?, ?, ?, now())",
                [calibration_id, row["generation"], row["epsilon"], row["accepted"], row["simulated"],
                 row["acceptance_rate"], row["elapsed_seconds"]],
            )
            self.con.executemany(
                "INSERT INTO calibration_particles VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (calibration_id, row["generation"], k, int(p.proposal), float(p.weight), float(p.distance),
                     json.dumps(p.parameters))
                    for k, p in enumerate(particles.itertuples())
                ],
            )
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise

    def generations(self, calibration_id: str) -> pd.DataFrame:
        """The finished generations, in order."""
        return self.con.execute(
            "SELECT generation, epsilon, accepted, simulated, acceptance_rate, elapsed_seconds "
            "FROM calibration_generations WHERE calibration_id = ? ORDER BY generation",
            [calibration_id],
        ).df()

    def particles(self, calibration_id: str, generation: int) -> pd.DataFrame:
        """One finished generation's particles: proposal, weight, distance, parameters (a dict per row)."""
        df = self.con.execute(
            "SELECT proposal, weight, distance, parameters FROM calibration_particles "
            "WHERE calibration_id = ? AND generation = ? ORDER BY particle",
            [calibration_id, generation],
        ).df()
        df["parameters"] = [json.loads(p) for p in df["parameters"]]
        return df

    def calibrations(self) -> pd.DataFrame:
        """All calibrations, newest first."""
        return self.con.execute(
            "SELECT calibration_id, name, cancer, created_at, status, stop_reason, simulations, "
            "round(elapsed_seconds, 1) AS elapsed_seconds FROM calibrations ORDER BY created_at DESC"
        ).df()
