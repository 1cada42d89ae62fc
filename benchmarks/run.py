"""One benchmark command for the "Scale" figures of metastasim (prints figures; not a test).

Every figure is for the full model (cascade + clinic) on the default colorectal cohort: default parameters,
seed 1, 30 simulated years from the first malignant cell (``--years``), like ``bench_cohort.py``.

1. **Patient-years per second per core.** One process simulates patients 0..N-1 (``--patients``, default
   10,000) after a warm-up that loads the compiled code. Patient-years = the sum over patients of their
   simulated days (to death or the horizon, ``scalars[:, S_T_END]``) / 365.25. Three levels are timed:
   the engine alone (``simulate_chunk``), engine + result tables without the event log
   (``simulate_tables(..., with_events=False)``, what a stored ``--no-events`` run computes: the headline
   figure) and engine + all tables including the event log. Each is the best of ``--repeats`` runs;
   the rate is given per wall second and per CPU second of this process (the latter is less distorted
   when other jobs share the cores).
2. **One patient's whole course with its event log.** *Warm*: the median wall time of
   ``metastasim.api.simulate_patient("colorectal", seed=1, patient_id=i, years=Y)`` over patients
   i = 0..R-1 after a warm-up; it returns the patient row, lesions, event log and yearly census as
   DataFrames. *Cold, compiling*: a fresh Python process with ``NUMBA_CACHE_DIR`` set to an empty
   temporary directory (numba then neither reads nor writes the package's ``__pycache__``, so every
   kernel is compiled again; the number of cache index files it wrote is shown as proof) imports
   metastasim and simulates one patient; its whole wall time is reported, with its import and simulate
   parts. *Cold, cached*: the same fresh process with the normal on-disk cache.
3. **Peak memory of stored cohorts.** For each of ``--memory-sizes`` (default 1,000,000 and 10,000,000;
   ``--quick``: 10,000 and 20,000) ``metastasim run --patients N --no-events --workers W --quiet --db
   TMP/x.duckdb --years Y`` runs under a small wrapper process. The wrapper's
   ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` is the kernel's peak RSS of the largest single process
   (the main process or a worker); psutil polling of ``VmHWM`` gives the peak of the main process and of
   each worker separately, and the peak of their sum. That sum counts the pages the forked workers share with
   the main process (compiled code, libraries) once per process, so the peak of the summed proportional set
   sizes (PSS, ``/proc/PID/smaps_rollup``: shared pages divided among the processes sharing them) is printed
   beside it as the memory the run takes from the machine. Wall time, patients/s and the database size are
   reported; a progress line is printed every ``--progress-seconds``. Before each size the database size
   is estimated from a 2,000-patient probe run, and the size is skipped if the disk of ``--db-dir``
   has too little free space.
4. **Share of time spent drawing random numbers.** See ``rng_share.py``: every patient of the throughput
   cohort is timed compiled; ``--rng-patients`` patients are drawn with probability proportional to their
   time; their draws are recorded in a pure-Python run of the engine (checked to give the same output as the
   compiled engine) and replayed compiled with the same arguments; the share is the mean of the sampled
   patients' draw time / engine time, an estimate of the cohort's. Independent replays give a lower
   bound, chained replays an upper one.
5. **HPVsim side by side.** HPVsim is installed into ``benchmarks/.hpvsim-venv`` on first use and reused
   after. ``hpvsim_bench.py`` runs its default simulation (``hpv.Sim()`` with every default,
   ``sim.run()``) ``--hpvsim-repeats`` times in a subprocess pinned to core 0 (``taskset -c 0`` when
   available) with OMP/OpenBLAS/MKL/numba threads set to 1. Agent-years = living agents summed over
   timesteps × dt (``sim.results.n_alive``); agent-years per second per core uses the best run's
   ``run()`` time (initialisation excluded and reported separately). The ratio metastasim / HPVsim is
   printed with the target (≥ 2).
6. A summary table of every figure, the machine (CPU model, cores, load average at start) and versions;
   ``--json FILE`` writes everything as JSON.

Usage::

    python benchmarks/run.py [--quick] [--skip-hpvsim] [--skip-memory] [--skip-cold] [--skip-rng]
                             [--patients 10000] [--years 30] [--workers 2] [--memory-sizes 1000000,10000000]
                             [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numba
import numpy as np

import metastasim
from metastasim.api import simulate_patient
from metastasim.clinic.clinic_params import build_clinic_params
from metastasim.cohort.chunks import simulate_tables
from metastasim.engine.chunk import simulate_chunk
from metastasim.engine.kernel_params import build_kernel_params
from metastasim.engine.state import S_T_END
from metastasim.params.load import load_parameters
from metastasim.units import DAYS_PER_YEAR

BENCH_DIR = Path(__file__).resolve().parent
HPVSIM_VENV = BENCH_DIR / ".hpvsim-venv"
HPVSIM_REQUIREMENT = "hpvsim==3.2.1"
TARGET_RATIO = 2.0
CANCER = "colorectal"
SEED = 1
PROBE_PATIENTS = 2000
DISK_MARGIN = 1.25  # the free space a stored run needs, as a multiple of its estimated database size
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")

# --------------------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------------------


def say(text: str) -> None:
    """Print a progress line at once."""
    print(text, flush=True)


def timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """Call `fn`; return its result, wall seconds and CPU seconds of this process."""
    wall0, cpu0 = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall0, time.process_time() - cpu0


def machine_info() -> dict[str, Any]:
    """CPU model, cores, memory, load average and the versions that matter."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30 if hasattr(os, "sysconf") else None
    import duckdb

    return {
        "cpu_model": model,
        "cores": os.cpu_count(),
        "memory_gb": memory_gb,
        "load_average_at_start": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "platform": platform.platform(),
        "versions": {
            "python": platform.python_version(),
            "metastasim": metastasim.__version__,
            "numba": numba.__version__,
            "numpy": np.__version__,
            "duckdb": duckdb.__version__,
        },
    }


# --------------------------------------------------------------------------------------------------------------
# 1. Throughput
# --------------------------------------------------------------------------------------------------------------


def measure_throughput(n_patients: int, years: int, repeats: int) -> dict[str, Any]:
    """Patient-years per second on one core: engine alone, + tables, + tables and event log (best of repeats)."""
    params = load_parameters(CANCER)
    P = build_kernel_params(params, SEED)
    C = build_clinic_params(params, active=True)
    _, warm_s, _ = timed(lambda: simulate_tables(params, SEED, 0, 50, years, "warmup", with_events=True))
    say(f"  warm-up (loads the compiled code from the numba cache, or compiles it): {warm_s:.1f} s")
    out = simulate_chunk(P, C, 0, n_patients, years)
    patient_years = float(out.scalars[:, S_T_END].sum()) / DAYS_PER_YEAR
    levels: dict[str, Callable[[], Any]] = {
        "engine": lambda: simulate_chunk(P, C, 0, n_patients, years),
        "engine_tables": lambda: simulate_tables(params, SEED, 0, n_patients, years, "bench", with_events=False),
        "engine_tables_events": lambda: simulate_tables(params, SEED, 0, n_patients, years, "bench", with_events=True),
    }
    result: dict[str, Any] = {
        "patients": n_patients,
        "years": years,
        "patient_years": patient_years,
        "years_per_patient": patient_years / n_patients,
        "lesions_per_patient": len(out.site) / n_patients,
    }
    for name, fn in levels.items():
        runs = [timed(fn)[1:] for _ in range(repeats)]
        wall_s = min(r[0] for r in runs)
        cpu_s = min(r[1] for r in runs)
        result[name] = {
            "wall_seconds": wall_s,
            "cpu_seconds": cpu_s,
            "patients_per_second": n_patients / wall_s,
            "patient_years_per_second": patient_years / wall_s,
            "patient_years_per_cpu_second": patient_years / cpu_s,
        }
        say(
            f"  {name.replace('_', ' + ')}: {n_patients:,} patients ({patient_years:,.0f} patient-years) in "
            f"{wall_s:.2f} s = {patient_years / wall_s:,.0f} patient-years/s/core "
            f"({patient_years / cpu_s:,.0f} per CPU second; {n_patients / wall_s:,.0f} patients/s)"
        )
    return result


# --------------------------------------------------------------------------------------------------------------
# 2. One patient
# --------------------------------------------------------------------------------------------------------------


def measure_single_patient(years: int, repeats: int) -> dict[str, Any]:
    """Median wall time of simulate_patient (whole course, with its event log) after a warm-up."""
    simulate_patient(CANCER, seed=SEED, patient_id=0, years=years)
    times_s: list[float] = []
    events: list[int] = []
    for i in range(repeats):
        story, wall_s, _ = timed(lambda i=i: simulate_patient(CANCER, seed=SEED, patient_id=i, years=years))
        times_s.append(wall_s)
        events.append(len(story.events))
    result = {
        "repeats": repeats,
        "median_seconds": statistics.median(times_s),
        "min_seconds": min(times_s),
        "max_seconds": max(times_s),
        "median_events": statistics.median(events),
    }
    say(
        f"  warm: median {1e3 * result['median_seconds']:.1f} ms over patients 0..{repeats - 1} "
        f"(min {1e3 * result['min_seconds']:.1f}, max {1e3 * result['max_seconds']:.1f} ms; "
        f"median {result['median_events']:.0f} events in the log)"
    )
    return result


_COLD_CHILD = """
import json, sys, time
t0 = time.perf_counter()
import metastasim
from metastasim.api import simulate_patient
t1 = time.perf_counter()
story = simulate_patient("colorectal", seed=1, patient_id=0, years=int(sys.argv[1]))
t2 = time.perf_counter()
print(json.dumps({"import_seconds": t1 - t0, "simulate_seconds": t2 - t1, "events": len(story.events)}))
"""


def _cold_run(years: int, cache_dir: str | None) -> dict[str, Any]:
    """A fresh interpreter that imports metastasim and simulates one patient; its wall time and parts."""
    env = dict(os.environ)
    env.pop("NUMBA_DISABLE_JIT", None)
    if cache_dir is None:
        env.pop("NUMBA_CACHE_DIR", None)
    else:
        env["NUMBA_CACHE_DIR"] = cache_dir
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _COLD_CHILD, str(years)], env=env, capture_output=True, text=True, check=False
    )
    wall_s = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"cold-start child failed:\n{proc.stderr[-2000:]}")
    return {"wall_seconds": wall_s, **json.loads(proc.stdout.strip().splitlines()[-1])}


def measure_cold_start(years: int) -> dict[str, Any]:
    """Fresh processes: with an empty numba cache (compiles everything) and with the normal cache."""
    with tempfile.TemporaryDirectory(prefix="metastasim-numba-cache-") as cache_dir:
        say("  cold start with an empty numba cache (compiles every kernel; minutes) ...")
        compiling = _cold_run(years, cache_dir)
        compiling["cache_index_files_written"] = sum(1 for _ in Path(cache_dir).rglob("*.nbi"))
    say(
        f"  cold, compiling: {compiling['wall_seconds']:.1f} s wall (import {compiling['import_seconds']:.1f} s, "
        f"simulate incl. compilation {compiling['simulate_seconds']:.1f} s; "
        f"{compiling['cache_index_files_written']} functions compiled into the empty cache)"
    )
    cached = _cold_run(years, None)
    say(
        f"  cold, with cache: {cached['wall_seconds']:.1f} s wall (import {cached['import_seconds']:.1f} s, "
        f"simulate incl. loading the cache {cached['simulate_seconds']:.1f} s)"
    )
    return {"compiling": compiling, "cached": cached}


# --------------------------------------------------------------------------------------------------------------
# 3. Memory of stored cohorts
# --------------------------------------------------------------------------------------------------------------

_RUSAGE_WRAPPER = """
import json, resource, subprocess, sys
code = subprocess.call(sys.argv[2:], stdout=subprocess.DEVNULL)
peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
with open(sys.argv[1], "w") as f:
    json.dump({"returncode": code, "largest_process_peak_kb": peak_kb}, f)
"""


def _hwm_mb(proc: Any) -> float:
    """Peak resident memory (VmHWM) of a process in MB, or its current RSS where /proc has no VmHWM."""
    try:
        for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float(proc.memory_info().rss) / 2**20


def _pss_mb(pid: int, fallback_mb: float) -> float:
    """Proportional set size of a process in MB (pages shared with other processes counted by share), else RSS.

    Forked workers share the pages of the compiled code and libraries with the main process; a sum of RSS counts
    those pages once per process, a sum of PSS counts them once in all.
    """
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return fallback_mb


class TreeMonitor:
    """Polls a process tree (wrapper → `metastasim run` → workers) for peak memory with psutil."""

    def __init__(self, wrapper_pid: int) -> None:
        try:
            import psutil
        except ImportError:  # the kernel's rusage figure is still reported
            self.psutil = None
            return
        self.psutil = psutil
        self.wrapper = psutil.Process(wrapper_pid)
        self.main_pid: int | None = None
        self.peak_mb: dict[int, float] = {}
        self.peak_total_mb = 0.0
        self.peak_total_pss_mb = 0.0
        self.current_mb: dict[int, float] = {}

    def poll(self) -> None:
        """Read the peak and current memory of every process below the wrapper."""
        if self.psutil is None:
            return
        try:
            procs = self.wrapper.children(recursive=True)
        except self.psutil.Error:
            return
        total = 0.0
        total_pss = 0.0
        current: dict[int, float] = {}
        for proc in procs:
            try:
                if self.main_pid is None and proc.ppid() == self.wrapper.pid:
                    self.main_pid = proc.pid
                if "resource_tracker" in " ".join(proc.cmdline()):
                    continue
                rss = float(proc.memory_info().rss) / 2**20
                self.peak_mb[proc.pid] = max(self.peak_mb.get(proc.pid, 0.0), _hwm_mb(proc), rss)
                current[proc.pid] = rss
                total += rss
                total_pss += _pss_mb(proc.pid, rss)
            except self.psutil.Error:
                continue
        self.current_mb = current
        self.peak_total_mb = max(self.peak_total_mb, total)
        self.peak_total_pss_mb = max(self.peak_total_pss_mb, total_pss)

    def main_peak_mb(self) -> float | None:
        """Peak RSS of the `metastasim run` process."""
        if self.psutil is None or self.main_pid is None:
            return None
        return self.peak_mb.get(self.main_pid)

    def worker_peaks_mb(self) -> list[float]:
        """Peak RSS of each worker process."""
        if self.psutil is None:
            return []
        return sorted((mb for pid, mb in self.peak_mb.items() if pid != self.main_pid), reverse=True)

    def describe_now(self) -> str:
        """Current memory of the main process and the workers, for a progress line."""
        if self.psutil is None:
            return ""
        main = self.current_mb.get(self.main_pid or -1, 0.0)
        workers = [mb for pid, mb in self.current_mb.items() if pid != self.main_pid]
        workers_text = f"workers {', '.join(f'{mb:,.0f}' for mb in workers)} MB" if workers else "no workers"
        return f"main {main:,.0f} MB, {workers_text}"


def _db_bytes(db: Path) -> int:
    """Size of a DuckDB file and its write-ahead log."""
    return sum(p.stat().st_size for p in (db, db.with_name(db.name + ".wal")) if p.exists())


def stored_run(n_patients: int, years: int, workers: int, db_dir: str, progress_seconds: float) -> dict[str, Any]:
    """Run `metastasim run` for `n_patients` under the rusage wrapper; wall time, peaks and database size."""
    exe = shutil.which("metastasim", path=str(Path(sys.executable).parent)) or shutil.which("metastasim")
    if exe is None:
        raise RuntimeError("the metastasim command is not installed in this environment")
    with tempfile.TemporaryDirectory(prefix="metastasim-bench-", dir=db_dir) as tmp:
        db = Path(tmp) / "x.duckdb"
        report = Path(tmp) / "rusage.json"
        command = [exe, "run", "--cancer", CANCER, "--seed", str(SEED), "--patients", str(n_patients)]
        command += ["--no-events", "--workers", str(workers), "--quiet", "--db", str(db), "--years", str(years)]
        stderr_path = Path(tmp) / "stderr.txt"
        t0 = time.perf_counter()
        with open(stderr_path, "w") as stderr:
            wrapper = subprocess.Popen([sys.executable, "-c", _RUSAGE_WRAPPER, str(report), *command], stderr=stderr)
            monitor = TreeMonitor(wrapper.pid)
            next_line = t0 + progress_seconds
            while wrapper.poll() is None:
                monitor.poll()
                now = time.perf_counter()
                if now >= next_line:
                    say(
                        f"    [{n_patients:,} patients] {now - t0:,.0f} s: {monitor.describe_now()}, "
                        f"database {_db_bytes(db) / 2**30:.2f} GB"
                    )
                    next_line = now + progress_seconds
                time.sleep(0.25)
        wall_s = time.perf_counter() - t0
        rusage = json.loads(report.read_text())
        if rusage["returncode"] != 0:
            raise RuntimeError(f"metastasim run failed ({rusage['returncode']}):\n{stderr_path.read_text()[-2000:]}")
        db_bytes = _db_bytes(db)
    return {
        "patients": n_patients,
        "years": years,
        "workers": workers,
        "wall_seconds": wall_s,
        "patients_per_second": n_patients / wall_s,
        "largest_process_peak_mb": rusage["largest_process_peak_kb"] / 1024,
        "main_peak_mb": monitor.main_peak_mb(),
        "worker_peaks_mb": monitor.worker_peaks_mb(),
        "sum_of_processes_peak_mb": monitor.peak_total_mb if monitor.psutil else None,
        "sum_of_processes_pss_peak_mb": monitor.peak_total_pss_mb if monitor.psutil else None,
        "database_mb": db_bytes / 2**20,
    }


def measure_memory(
    sizes: list[int], years: int, workers: int, db_dir: str, progress_seconds: float
) -> list[dict[str, Any]]:
    """Stored runs of each size (after a probe that sizes the database); skip a size the disk cannot hold."""
    say(f"  probe: {PROBE_PATIENTS:,} patients to estimate the database size per patient ...")
    probe = stored_run(PROBE_PATIENTS, years, workers, db_dir, progress_seconds)
    bytes_per_patient = probe["database_mb"] * 2**20 / PROBE_PATIENTS
    say(f"  probe: {bytes_per_patient / 1024:.1f} KB of database per patient")
    results: list[dict[str, Any]] = []
    for n in sizes:
        need = n * bytes_per_patient * DISK_MARGIN
        free = shutil.disk_usage(db_dir).free
        if need > free:
            say(
                f"  {n:,} patients: SKIPPED, the database would need about {n * bytes_per_patient / 2**30:,.0f} GB "
                f"and {db_dir} has {free / 2**30:,.0f} GB free (choose another disk with --db-dir)"
            )
            estimated_gb = n * bytes_per_patient / 2**30
            results.append({"patients": n, "skipped": "not enough disk", "estimated_database_gb": estimated_gb})
            continue
        say(f"  {n:,} patients, {workers} workers, {years} y, no event log ...")
        r = stored_run(n, years, workers, db_dir, progress_seconds)
        workers_text = ", ".join(f"{mb:,.0f}" for mb in r["worker_peaks_mb"]) or "n/a"
        say(
            f"  {n:,} patients: {r['wall_seconds']:,.1f} s = {r['patients_per_second']:,.0f} patients/s; "
            f"peak RSS main {_mb(r['main_peak_mb'])}, workers {workers_text} MB, largest process "
            f"{r['largest_process_peak_mb']:,.0f} MB (rusage), "
            f"all processes together {_mb(r['sum_of_processes_peak_mb'])} RSS, "
            f"{_mb(r['sum_of_processes_pss_peak_mb'])} PSS (shared pages counted once); "
            f"database {r['database_mb'] / 1024:,.2f} GB"
        )
        bytes_per_patient = max(bytes_per_patient, r["database_mb"] * 2**20 / n)
        results.append(r)
    return results


def _load_text(machine: dict[str, Any]) -> str:
    """The 1-, 5- and 15-minute load averages at start, or n/a."""
    load = machine["load_average_at_start"]
    return " / ".join(f"{x:.2f}" for x in load) if load else "n/a"


def _mb(value: float | None) -> str:
    """A memory figure in MB, or n/a."""
    return "n/a" if value is None else f"{value:,.0f} MB"


# --------------------------------------------------------------------------------------------------------------
# 5. HPVsim
# --------------------------------------------------------------------------------------------------------------


def ensure_hpvsim(venv: Path, requirement: str) -> Path:
    """The Python of a virtual environment with HPVsim, created and installed on first use."""
    python = venv / "bin" / "python"
    if python.exists() and subprocess.run([python, "-c", "import hpvsim"], capture_output=True).returncode == 0:
        return python
    say(f"  installing {requirement} into {venv} (first use; a minute or two) ...")
    base = getattr(sys, "_base_executable", None) or sys.executable
    subprocess.run([base, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run(
        [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", requirement],
        capture_output=True,
        text=True,
        check=False,
    )
    if pip.returncode != 0:
        raise RuntimeError(f"pip install {requirement} failed:\n{pip.stdout[-2000:]}{pip.stderr[-2000:]}")
    return python


def measure_hpvsim(repeats: int, venv: Path, requirement: str) -> dict[str, Any]:
    """HPVsim's default simulation in its own environment, pinned to one core."""
    python = ensure_hpvsim(venv, requirement)
    env = dict(os.environ)
    env.update({name: "1" for name in THREAD_VARIABLES})
    env["STARSIM_INSTALL_FONTS"] = "0"
    for name in ("NUMBA_DISABLE_JIT", "NUMBA_CACHE_DIR", "PYTHONPATH", "VIRTUAL_ENV"):
        env.pop(name, None)
    command = [str(python), str(BENCH_DIR / "hpvsim_bench.py"), "--repeats", str(repeats)]
    taskset = shutil.which("taskset")
    pinned = taskset is not None
    if pinned:
        command = [taskset, "-c", "0", *command]
    say(f"  hpv.Sim() defaults, {repeats} runs, " + ("pinned with taskset -c 0" if pinned else "not pinned") + " ...")
    proc = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"HPVsim benchmark failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["pinned_with_taskset"] = pinned
    say(
        f"  HPVsim {result['versions']['hpvsim']}: {result['n_agents']:,} agents, "
        f"{result['start']:.0f}-{result['stop']:.0f} "
        f"every {result['dt_years']} y ({', '.join(result['genotypes'])}), {result['agent_years']:,.0f} agent-years; "
        f"run() best {result['best_run_seconds']:.2f} s, median {result['median_run_seconds']:.2f} s, "
        f"init {min(result['init_seconds']):.2f} s, import {result['import_seconds']:.1f} s -> "
        f"{result['agent_years_per_second_best']:,.0f} agent-years/s/core (best)"
    )
    return result


# --------------------------------------------------------------------------------------------------------------
# Summary
# --------------------------------------------------------------------------------------------------------------


def summary_rows(results: dict[str, Any]) -> list[tuple[str, str]]:
    """(figure, value) rows of every measured figure."""
    rows: list[tuple[str, str]] = []
    t = results.get("throughput")
    if t:
        for key, label in (
            ("engine_tables", "patient-years/s/core, engine + tables (headline)"),
            ("engine", "patient-years/s/core, engine alone"),
            ("engine_tables_events", "patient-years/s/core, engine + tables + event log"),
        ):
            rows.append(
                (
                    label,
                    f"{t[key]['patient_years_per_second']:,.0f} "
                    f"({t[key]['patient_years_per_cpu_second']:,.0f} per CPU s; "
                    f"{t[key]['patients_per_second']:,.0f} patients/s)",
                )
            )
    s = results.get("single_patient")
    if s:
        rows.append(("one patient with event log, warm (median)", f"{1e3 * s['median_seconds']:.1f} ms"))
    c = results.get("cold_start")
    if c:
        rows.append(("one patient, fresh process, empty numba cache", f"{c['compiling']['wall_seconds']:.1f} s"))
        rows.append(("one patient, fresh process, with cache", f"{c['cached']['wall_seconds']:.1f} s"))
    for m in results.get("memory", []):
        if "skipped" in m:
            rows.append((f"stored run {m['patients']:,} patients", f"skipped ({m['skipped']})"))
            continue
        workers = ", ".join(f"{mb:,.0f}" for mb in m["worker_peaks_mb"]) or "n/a"
        rows.append(
            (
                f"stored run {m['patients']:,} patients, {m['workers']} workers",
                f"{m['wall_seconds']:,.0f} s, {m['patients_per_second']:,.0f} patients/s; peak RSS main "
                f"{_mb(m['main_peak_mb'])}, workers {workers} MB, largest {m['largest_process_peak_mb']:,.0f} MB, "
                f"sum {_mb(m['sum_of_processes_peak_mb'])} RSS, {_mb(m['sum_of_processes_pss_peak_mb'])} PSS",
            )
        )
    r = results.get("rng")
    if r:
        rows.append(
            (
                "share of engine time drawing random numbers",
                f"{100 * r['rng_share_low']:.1f}-{100 * r['rng_share_high']:.1f} % "
                f"(+/- {100 * r['rng_share_high_se']:.1f}; {r['sample_draws']} patients drawn by time)",
            )
        )
    h = results.get("hpvsim")
    if h:
        rows.append(("HPVsim agent-years/s/core (best run)", f"{h['agent_years_per_second_best']:,.0f}"))
    cmp_ = results.get("comparison")
    if cmp_:
        rows.append(
            (
                "metastasim / HPVsim (target >= 2)",
                f"{cmp_['ratio']:.2f} ({'met' if cmp_['ratio'] >= TARGET_RATIO else 'NOT met'}); "
                f"per CPU second {cmp_['ratio_cpu']:.2f}",
            )
        )
    return rows


def print_summary(results: dict[str, Any]) -> None:
    """The machine, the versions and the table of figures."""
    m = results["machine"]
    load = m["load_average_at_start"]
    say("\n== Summary ==")
    say(
        f"machine: {m['cpu_model']}, {m['cores']} cores, {m['memory_gb']:.0f} GB; load average at start "
        + (f"{load[0]:.2f}" if load else "n/a")
        + (" (other jobs were running: timings are distorted)" if load and load[0] > 0.5 else "")
    )
    versions = dict(m["versions"])
    if results.get("hpvsim"):
        versions["hpvsim"] = results["hpvsim"]["versions"]["hpvsim"]
        versions["starsim"] = results["hpvsim"]["versions"]["starsim"]
    say("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    rows = summary_rows(results)
    width = max(len(label) for label, _ in rows) if rows else 0
    for label, value in rows:
        say(f"  {label:<{width}}  {value}")


# --------------------------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options; --quick shrinks every size."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small sizes, to check the benchmark works (minutes)")
    p.add_argument("--patients", type=int, default=None, help="patients for the throughput figure (default 10000)")
    p.add_argument("--years", type=int, default=30, help="simulated years from the first cell (default 30)")
    p.add_argument("--workers", type=int, default=2, help="worker processes for the stored runs (default 2)")
    p.add_argument("--repeats", type=int, default=None, help="throughput repetitions, best taken (default 3)")
    p.add_argument("--memory-sizes", default=None, help="comma-separated cohort sizes (default 1000000,10000000)")
    p.add_argument("--db-dir", default=tempfile.gettempdir(), help="where the stored runs' databases go")
    p.add_argument("--progress-seconds", type=float, default=None, help="progress line interval of stored runs")
    p.add_argument("--single-patient-repeats", type=int, default=None, help="patients timed warm (default 50)")
    p.add_argument("--rng-patients", type=int, default=None, help="patients in the RNG sample (default 30)")
    p.add_argument("--hpvsim-repeats", type=int, default=None, help="HPVsim runs, best taken (default 3)")
    p.add_argument("--hpvsim-venv", type=Path, default=HPVSIM_VENV, help="HPVsim's virtual environment")
    p.add_argument("--hpvsim-requirement", default=HPVSIM_REQUIREMENT, help="what pip installs there")
    p.add_argument("--skip-hpvsim", action="store_true")
    p.add_argument("--skip-memory", action="store_true")
    p.add_argument("--skip-cold", action="store_true", help="skip the fresh-process (compilation) timings")
    p.add_argument("--skip-rng", action="store_true")
    p.add_argument("--json", metavar="FILE", default=None, help="write every figure as JSON")
    args = p.parse_args(argv)
    quick = args.quick
    defaults = {
        "patients": 2000 if quick else 10_000,
        "repeats": 1 if quick else 3,
        "memory_sizes": "10000,20000" if quick else "1000000,10000000",
        "progress_seconds": 10.0 if quick else 60.0,
        "single_patient_repeats": 20 if quick else 50,
        "rng_patients": 10 if quick else 30,
        "hpvsim_repeats": 2 if quick else 3,
    }
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.memory_sizes = [int(x.replace("_", "")) for x in str(args.memory_sizes).split(",") if x.strip()]
    return args


def run_section(title: str, results: dict[str, Any], key: str, fn: Callable[[], Any]) -> None:
    """Run one benchmark section; a failure is recorded and reported, and the others still run."""
    say(f"\n== {title} ==")
    t0 = time.perf_counter()
    try:
        results[key] = fn()
    except Exception as exc:  # a benchmark prints what it could measure
        results.setdefault("errors", {})[key] = f"{type(exc).__name__}: {exc}"
        say(f"  FAILED: {type(exc).__name__}: {exc}")
    say(f"  ({time.perf_counter() - t0:,.0f} s)")


def main(argv: list[str] | None = None) -> int:
    """Run the selected sections, print the summary, write JSON if asked; exit 1 if a section failed."""
    args = parse_args(argv)
    results: dict[str, Any] = {"machine": machine_info(), "settings": {k: str(v) for k, v in vars(args).items()}}
    m = results["machine"]
    say(
        f"metastasim {metastasim.__version__} benchmark: {CANCER}, seed {SEED}, {args.years} y, full model "
        f"(cascade + clinic); {m['cpu_model']}, {m['cores']} cores, load average {_load_text(m)}"
    )
    run_section(
        "1. Patient-years per second per core (one process)",
        results,
        "throughput",
        lambda: measure_throughput(args.patients, args.years, args.repeats),
    )
    run_section(
        "2. One patient's whole course with its event log",
        results,
        "single_patient",
        lambda: measure_single_patient(args.years, args.single_patient_repeats),
    )
    if not args.skip_cold:
        run_section("2b. Cold start in a fresh process", results, "cold_start", lambda: measure_cold_start(args.years))
    if not args.skip_memory:
        run_section(
            "3. Peak memory of stored cohorts (metastasim run --no-events)",
            results,
            "memory",
            lambda: measure_memory(args.memory_sizes, args.years, args.workers, args.db_dir, args.progress_seconds),
        )
    if not args.skip_rng:
        sys.path.insert(0, str(BENCH_DIR))
        import rng_share

        def rng() -> dict[str, Any]:
            say(
                f"  timing {args.patients:,} patients one by one, then counting the draws of {args.rng_patients} "
                "drawn by time in pure Python (slow) ..."
            )
            r = rng_share.measure_rng_share(CANCER, SEED, args.rng_patients, args.years, args.patients)
            say("  " + rng_share.format_report(r).replace("\n", "\n  "))
            return r

        run_section("4. Share of time spent drawing random numbers", results, "rng", rng)
    if not args.skip_hpvsim:
        run_section(
            "5. HPVsim side by side",
            results,
            "hpvsim",
            lambda: measure_hpvsim(args.hpvsim_repeats, args.hpvsim_venv, args.hpvsim_requirement),
        )
    if results.get("throughput") and results.get("hpvsim"):
        ours = results["throughput"]["engine_tables"]
        theirs = results["hpvsim"]
        theirs_cpu = theirs["agent_years"] / min(theirs["run_cpu_seconds"]) if "run_cpu_seconds" in theirs else None
        results["comparison"] = {
            "metastasim_patient_years_per_second": ours["patient_years_per_second"],
            "hpvsim_agent_years_per_second": theirs["agent_years_per_second_best"],
            "ratio": ours["patient_years_per_second"] / theirs["agent_years_per_second_best"],
            "ratio_cpu": ours["patient_years_per_cpu_second"] / theirs_cpu if theirs_cpu else float("nan"),
            "target": TARGET_RATIO,
        }
        c = results["comparison"]
        say(
            f"\nmetastasim {c['metastasim_patient_years_per_second']:,.0f} patient-years/s/core vs HPVsim "
            f"{c['hpvsim_agent_years_per_second']:,.0f} agent-years/s/core: ratio {c['ratio']:.2f} "
            f"(target >= {TARGET_RATIO:g}: {'met' if c['ratio'] >= TARGET_RATIO else 'NOT met'})"
        )
    print_summary(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
        say(f"\nwritten: {args.json}")
    return 1 if results.get("errors") else 0


if __name__ == "__main__":
    sys.exit(main())
