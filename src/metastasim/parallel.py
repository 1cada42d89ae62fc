"""Where independent simulations run: in this process, in local worker processes, or on a Dask cluster.

Each executor maps a top-level function over picklable tasks and returns the results in task order, so the
caller's result never depends on which worker ran what or in which order they finished.

A Dask cluster is one started with Dask's own commands, e.g. ``dask scheduler`` on one machine and
``dask worker tcp://HOST:8786`` on each machine (each with metastasim installed); pass its address.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Protocol, TypeVar

from metastasim.errors import MetastasimError

T = TypeVar("T")
R = TypeVar("R")


def ignore_interrupts() -> None:
    """Worker initialiser: leave Ctrl-C to the main process, which records the interruption and stops."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class Executor(Protocol):
    """Maps a function over tasks and returns the results in task order."""

    description: str

    def map(self, fn: Callable[[T], R], tasks: Sequence[T], on_done: Callable[[], None] | None = None) -> list[R]:
        """Run `fn` on every task; results in the order of `tasks`; `on_done()` after each finishes."""
        ...

    def close(self) -> None:
        """Release workers and connections."""
        ...


class InProcess:
    """Run every task here, one after another."""

    description = "1 process"

    def map(self, fn: Callable[[T], R], tasks: Sequence[T], on_done: Callable[[], None] | None = None) -> list[R]:
        """Run `fn` on every task in this process."""
        out = []
        for t in tasks:
            out.append(fn(t))
            if on_done is not None:
                on_done()
        return out

    def close(self) -> None:
        """Nothing to release."""


class LocalProcesses:
    """A pool of forked worker processes on this machine (they inherit compiled kernels from this process)."""

    def __init__(self, workers: int) -> None:
        self.description = f"{workers} local processes"
        self._pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("fork"), initializer=ignore_interrupts
        )

    def map(self, fn: Callable[[T], R], tasks: Sequence[T], on_done: Callable[[], None] | None = None) -> list[R]:
        """Run `fn` on every task in the pool."""
        futures = {self._pool.submit(fn, t): k for k, t in enumerate(tasks)}
        out: list[Any] = [None] * len(futures)
        for fut in as_completed(futures):
            out[futures[fut]] = fut.result()
            if on_done is not None:
                on_done()
        return out

    def close(self) -> None:
        """Stop the worker processes (cancelling tasks not yet started)."""
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskCluster:
    """Tasks on a running Dask distributed cluster, given its scheduler address (tcp://HOST:PORT)."""

    def __init__(self, address: str, timeout_seconds: float = 10.0) -> None:
        try:
            from distributed import Client
        except ImportError as exc:  # pragma: no cover - distributed is a dependency
            raise MetastasimError("--cluster needs the 'distributed' package (pip install distributed)") from exc
        try:
            self._client: Any = Client(address, timeout=f"{timeout_seconds}s")
        except (OSError, TimeoutError) as exc:
            raise MetastasimError(
                f"cannot reach a Dask scheduler at {address} ({exc}); start one with 'dask scheduler' and workers "
                "with 'dask worker ADDRESS'"
            ) from exc
        workers = len(self._client.scheduler_info().get("workers", {}))
        self.description = f"Dask cluster {address} ({workers} workers)"

    def map(self, fn: Callable[[T], R], tasks: Sequence[T], on_done: Callable[[], None] | None = None) -> list[R]:
        """Run `fn` on every task on the cluster (a lost worker's tasks are rerun by Dask)."""
        from distributed import as_completed as dask_as_completed

        futures = self._client.map(fn, list(tasks), pure=False)
        index = {f.key: k for k, f in enumerate(futures)}
        out: list[Any] = [None] * len(futures)
        for fut in dask_as_completed(futures):
            out[index[fut.key]] = fut.result()
            if on_done is not None:
                on_done()
        return out

    def close(self) -> None:
        """Disconnect from the scheduler (the cluster keeps running)."""
        self._client.close()


def make_executor(workers: int = 1, cluster: str | None = None) -> Executor:
    """The executor for `cluster` (a Dask scheduler address) if given, else `workers` local processes."""
    if cluster:
        return DaskCluster(cluster)
    if workers <= 1:
        return InProcess()
    return LocalProcesses(workers)
