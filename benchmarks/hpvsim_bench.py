"""Time HPVsim's default simulation; runs inside benchmarks/.hpvsim-venv and prints one JSON object on stdout.

For each repetition a fresh ``hpv.Sim()`` with every default is built, initialised (``sim.init()``, timed
as *init*) and run (``sim.run()``, timed as *run*). HPVsim's chatter goes to stderr.

Agent-years simulated = sum over timesteps of the living agents (``sim.results.n_alive``, which starsim
records at every step) × the timestep in years (``sim.t.dt_year``). If a version has no ``n_alive``
result, the fallback is n_agents × timesteps × dt, and ``agent_years_method`` says so.

Usage (the parent benchmark does this): ``.hpvsim-venv/bin/python hpvsim_bench.py [--repeats 3]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import time
import warnings
from typing import Any


def _alive_agent_years(sim: Any) -> tuple[float, str]:
    """Agent-years lived by the simulated agents, and how they were computed."""
    dt_years = float(sim.t.dt_year)
    try:
        n_alive = sim.results["n_alive"]
        return float(sum(float(x) for x in n_alive)) * dt_years, "sum of results.n_alive over timesteps x dt"
    except (KeyError, AttributeError):
        n_steps = int(sim.t.npts)
        return float(sim.pars.n_agents) * n_steps * dt_years, "fallback: n_agents x timesteps x dt"


def run_once() -> dict[str, Any]:
    """One default simulation: init and run wall times and what was simulated."""
    import hpvsim as hpv

    t0 = time.perf_counter()
    sim = hpv.Sim()
    sim.init()
    init_seconds = time.perf_counter() - t0
    t0, cpu0 = time.perf_counter(), time.process_time()
    sim.run()
    run_seconds = time.perf_counter() - t0
    run_cpu_seconds = time.process_time() - cpu0
    agent_years, method = _alive_agent_years(sim)
    return {
        "init_seconds": init_seconds,
        "run_seconds": run_seconds,
        "run_cpu_seconds": run_cpu_seconds,
        "n_agents": int(sim.pars.n_agents),
        "start": float(sim.t.yearvec[0]),
        "stop": float(sim.t.yearvec[-1]),
        "dt_years": float(sim.t.dt_year),
        "timesteps": int(sim.t.npts),
        "genotypes": [d.name for d in sim.diseases.values()],
        "agent_years": agent_years,
        "agent_years_method": method,
    }


def _versions() -> dict[str, str]:
    """Versions of HPVsim and the libraries it runs on."""
    import hpvsim
    import numba
    import numpy
    import sciris
    import starsim

    return {
        "hpvsim": hpvsim.__version__,
        "starsim": starsim.__version__,
        "sciris": sciris.__version__,
        "numpy": numpy.__version__,
        "numba": numba.__version__,
        "python": sys.version.split()[0],
    }


def main() -> None:
    """Run the repetitions and print the JSON summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):
        import hpvsim  # noqa: F401

        import_seconds = time.perf_counter() - t0
        runs = [run_once() for _ in range(args.repeats)]
    run_s = [r["run_seconds"] for r in runs]
    best = min(runs, key=lambda r: r["run_seconds"])
    result = {
        **{k: v for k, v in best.items() if k not in ("init_seconds", "run_seconds", "run_cpu_seconds")},
        "versions": _versions(),
        "repeats": args.repeats,
        "import_seconds": import_seconds,
        "init_seconds": [r["init_seconds"] for r in runs],
        "run_seconds": run_s,
        "run_cpu_seconds": [r["run_cpu_seconds"] for r in runs],
        "best_run_seconds": min(run_s),
        "median_run_seconds": statistics.median(run_s),
        "agent_years_per_second_best": best["agent_years"] / min(run_s),
        "agent_years_per_second_median": best["agent_years"] / statistics.median(run_s),
        "cpu_affinity": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "threads_env": {k: os.environ.get(k) for k in _THREAD_VARIABLES},
    }
    print(json.dumps(result))


_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")

if __name__ == "__main__":
    main()
