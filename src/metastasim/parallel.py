"""Where independent simulations run: in this process, in local worker processes, or on a Dask cluster.

Each executor maps a top-level function over picklable tasks and returns the results in task order, so the
caller's result never depends on which worker ran what or in which order they finished.

A Dask cluster is one started with Dask's own commands, e.g. ``dask scheduler`` on one machine and
``dask worker tcp://HOST:8786`` on each machine (each with metastasim installed); pass its address.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import shutil
import signal
import tempfile
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol, TypeVar

from metastasim.errors import MetastasimError

T = TypeVar("T")
R = TypeVar("R")


def ignore_interrupts() -> None:
    """Worker initialiser: leave Ctrl-C to the main process, which records the interruption and stops.

    SIGTERM gets its default action back: a forked worker inherits the command line's handler, which turns
    SIGTERM into KeyboardInterrupt, and a worker that caught it could block forever on a queue lock left by a
    dead sibling when the pool terminates its workers after one of them was killed.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _result_to_file(fn: Callable[[T], R], task: T, directory: str) -> str:
    """In a worker: run ``fn(task)``, leave its pickled result in a file in `directory`, return the file's path.

    The result then crosses the pool's result pipe as a short path, sent in one write below the pipe's atomic
    size. A worker killed while sending a large result through the pipe leaves half a message there, and the
    pool's reader thread then waits for the rest for ever instead of noticing the dead worker (seen once in
    about twenty runs whose worker was killed by SIGKILL).
    """
    result = fn(task)
    fd, path = tempfile.mkstemp(dir=directory, suffix=".pickle")
    with os.fdopen(fd, "wb") as f:
        pickle.dump(result, f, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def _result_from_file(path: str) -> Any:
    """In the main process: the result `_result_to_file` left at `path` (the file is removed)."""
    with open(path, "rb") as f:
        result = pickle.load(f)
    os.unlink(path)
    return result


RESULTS_PREFIX = "metastasim-results-"


def _remove_results_of_dead_runs() -> None:
    """Remove the result directories that runs killed before closing their pool left in the temporary directory.

    Each directory is named after the process that made it; one whose process no longer exists is stale.
    """
    root = tempfile.gettempdir()
    for name in os.listdir(root):
        if not name.startswith(RESULTS_PREFIX):
            continue
        owner = name[len(RESULTS_PREFIX) :].split("-", 1)[0]
        if owner.isdigit() and not _process_exists(int(owner)):
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)


def _process_exists(process_id: int) -> bool:
    try:
        os.kill(process_id, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


class Executor(Protocol):
    """Runs a function over tasks: all at once in task order (`map`) or streamed as they finish (`stream`)."""

    description: str

    def map(self, fn: Callable[[T], R], tasks: Sequence[T], on_done: Callable[[], None] | None = None) -> list[R]:
        """Run `fn` on every task; results in the order of `tasks`; `on_done()` after each finishes."""
        ...

    def stream(self, fn: Callable[[T], R], tasks: Sequence[T], window: int = 0) -> Iterator[tuple[int, R]]:
        """Yield (task index, result) as tasks finish, with at most `window` tasks in flight (0: the default)."""
        ...

    def close(self) -> None:
        """Release workers and connections."""
        ...


def _map_by_stream(
    executor: Executor, fn: Callable[[T], R], tasks: Sequence[T], on_done: Callable[[], None] | None
) -> list[R]:
    out: list[Any] = [None] * len(tasks)
    for k, result in executor.stream(fn, tasks, window=len(tasks)):
        out[k] = result
        if on_done is not None:
            on_done()
    return out


class InProcess:
    """Run every task here, one after another."""

    description = "1 process"

    def map(self, fn: Callable[[T], R], tasks: Sequence[T], on_done: Callable[[], None] | None = None) -> list[R]:
        """Run `fn` on every task in this process."""
        return _map_by_stream(self, fn, tasks, on_done)

    def stream(self, fn: Callable[[T], R], tasks: Sequence[T], window: int = 0) -> Iterator[tuple[int, R]]:
        """Run the tasks one by one, yielding each result."""
        for k, t in enumerate(tasks):
            yield k, fn(t)

    def close(self) -> None:
        """Nothing to release."""


class LocalProcesses:
    """A pool of forked worker processes on this machine (they inherit compiled kernels from this process).

    A worker that dies (killed, out of memory) breaks the whole pool; the pool is then replaced and the tasks
    that had not returned are run again, up to `max_restarts` times, so a lost worker loses no task and,
    since results are only taken from tasks that returned, duplicates none.
    """

    def __init__(self, workers: int, max_restarts: int = 3) -> None:
        self.workers = workers
        self.max_restarts = max_restarts
        self.restarts = 0
        self.description = f"{workers} local processes"
        self._pool = self._new_pool()
        self._pool_shut_down = False
        _remove_results_of_dead_runs()
        self._results_dir = tempfile.mkdtemp(prefix=f"{RESULTS_PREFIX}{os.getpid()}-")  # see _result_to_file

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers, mp_context=multiprocessing.get_context("fork"), initializer=ignore_interrupts
        )

    def map(self, fn: Callable[[T], R], tasks: Sequence[T], on_done: Callable[[], None] | None = None) -> list[R]:
        """Run `fn` on every task in the pool."""
        return _map_by_stream(self, fn, tasks, on_done)

    def stream(self, fn: Callable[[T], R], tasks: Sequence[T], window: int = 0) -> Iterator[tuple[int, R]]:
        """Yield results as workers finish, keeping at most `window` (default 2 per worker) tasks in flight."""
        limit = window if window > 0 else 2 * self.workers
        queue = deque(range(len(tasks)))
        pending: dict[Future[Any], int] = {}
        while queue or pending:
            broken = False
            try:
                while queue and len(pending) < limit:
                    k = queue.popleft()
                    pending[self._pool.submit(_result_to_file, fn, tasks[k], self._results_dir)] = k
            except BrokenProcessPool:
                queue.appendleft(k)
                broken = True
            if not broken:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    k = pending.pop(fut)
                    try:
                        path = fut.result()
                    except BrokenProcessPool:
                        queue.appendleft(k)
                        broken = True
                        continue
                    yield k, _result_from_file(path)
            if broken:
                self._restart(pending, queue)

    def _restart(self, pending: dict[Future[Any], int], queue: deque[int]) -> None:
        """Replace a broken pool; every task that had not returned goes back to the front of the queue."""
        self.restarts += 1
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self.restarts > self.max_restarts:
            self._pool_shut_down = True
            raise MetastasimError(
                f"worker processes died {self.restarts} times (killed, or out of memory?); "
                "try fewer --workers or a smaller --chunk-size"
            )
        queue.extendleft(sorted(pending.values(), reverse=True))
        pending.clear()
        self._pool = self._new_pool()

    def close(self) -> None:
        """Stop the worker processes (cancelling tasks not yet started)."""
        if not self._pool_shut_down:
            self._pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(self._results_dir, ignore_errors=True)  # with any result a killed worker left half-written


class DaskCluster:
    """Tasks on a running Dask distributed cluster, given its scheduler address (tcp://HOST:PORT).

    Dask reruns the tasks of a worker it loses; results are only taken from tasks that returned.
    """

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
        self.workers = len(self._client.scheduler_info().get("workers", {}))
        self.description = f"Dask cluster {address} ({self.workers} workers)"

    def map(self, fn: Callable[[T], R], tasks: Sequence[T], on_done: Callable[[], None] | None = None) -> list[R]:
        """Run `fn` on every task on the cluster."""
        return _map_by_stream(self, fn, tasks, on_done)

    def stream(self, fn: Callable[[T], R], tasks: Sequence[T], window: int = 0) -> Iterator[tuple[int, R]]:
        """Yield results as the cluster finishes them, with at most `window` (default 2 per worker) in flight."""
        from distributed import as_completed as dask_as_completed

        limit = window if window > 0 else 2 * max(1, self.workers)
        queue = deque(range(len(tasks)))
        index: dict[str, int] = {}
        running = dask_as_completed([])
        while queue and len(index) < limit:
            k = queue.popleft()
            fut = self._client.submit(fn, tasks[k], pure=False)
            index[fut.key] = k
            running.add(fut)
        for fut in running:
            k = index.pop(fut.key)
            result = fut.result()
            fut.release()
            if queue:
                nxt = queue.popleft()
                new = self._client.submit(fn, tasks[nxt], pure=False)
                index[new.key] = nxt
                running.add(new)
            yield k, result

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
