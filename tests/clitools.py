"""Shared helpers for tests that run the ``metastasim`` command as a subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd

_SCRIPT = Path(sys.executable).parent / "metastasim"
CLI = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "metastasim.cli.main"]
TIMEOUT = 600  # the first run after a change to the engine compiles the numba kernels


def cli(*args: object, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``metastasim ARGS`` and capture its output."""
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=TIMEOUT)


def ok(res: subprocess.CompletedProcess[str]) -> str:
    """Assert success and return stdout."""
    assert res.returncode == 0, f"exit {res.returncode}\nstdout:\n{res.stdout[-2000:]}\nstderr:\n{res.stderr[-4000:]}"
    return res.stdout


def one_line_error(res: subprocess.CompletedProcess[str]) -> str:
    """Exit code 2 and exactly one non-empty line on stderr, no traceback; returns that line."""
    assert res.returncode == 2, f"exit {res.returncode}\nstdout:\n{res.stdout[-2000:]}\nstderr:\n{res.stderr[-4000:]}"
    assert "Traceback" not in res.stderr
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, res.stderr
    return lines[0]


def sql(db: Path, query: str, params: list[object] | None = None) -> pd.DataFrame:
    """Run a query on a database file, read-only."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(query, params or []).df()
    finally:
        con.close()
