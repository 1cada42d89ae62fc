"""Benchmark the full model (cascade + clinic) on the default colorectal cohort (prints figures, not a test).

Prints patient-years simulated per second per core (engine alone, natural history and full model, and
engine plus result tables), the wall time of a stored cohort run (default 100,000 patients from onset to
death or 30 years on 2 worker processes, as issue 3's floor asks), and peak memory. Usage:

    python benchmarks/bench_cohort.py [--patients 100000] [--years 30] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time

from metastasim.clinic.clinic_params import build_clinic_params
from metastasim.cohort.chunks import simulate_tables
from metastasim.cohort.run import CohortConfig, run_cohort
from metastasim.engine.chunk import simulate_chunk
from metastasim.engine.kernel_params import build_kernel_params
from metastasim.engine.state import S_T_END
from metastasim.params.load import load_parameters
from metastasim.units import DAYS_PER_YEAR


def _peak_mb() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cancer", default="colorectal")
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--years", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--single-core-patients", type=int, default=10_000)
    parser.add_argument("--chunk-size", type=int, default=2000, help="patients per chunk (the CLI default)")
    args = parser.parse_args()
    params = load_parameters(args.cancer)
    P = build_kernel_params(params, 1)

    t0 = time.perf_counter()
    simulate_tables(params, 1, 0, 50, args.years, "warmup", with_events=True)
    print(f"warm-up (loads or compiles the numba cache): {time.perf_counter() - t0:.1f} s")

    n = args.single_core_patients
    for label, active in (("natural history (no clinic)", False), ("full model (cascade + clinic)", True)):
        C = build_clinic_params(params, active=active)
        t0 = time.perf_counter()
        out = simulate_chunk(P, C, 0, n, args.years)
        engine_s = time.perf_counter() - t0
        lived = float(out.scalars[:, S_T_END].sum()) / DAYS_PER_YEAR
        print(
            f"engine alone, {label}, 1 core: {n} patients x up to {args.years} y in {engine_s:.2f} s = "
            f"{n / engine_s:,.0f} patients/s, {lived / engine_s:,.0f} simulated patient-years/s/core "
            f"({lived / n:.1f} years and {len(out.site) / n:.0f} lesions per patient)"
        )
    py = float(out.scalars[:, S_T_END].sum()) / DAYS_PER_YEAR
    t0 = time.perf_counter()
    simulate_tables(params, 1, 0, n, args.years, "bench", with_events=False)
    tables_s = time.perf_counter() - t0
    print(f"engine + patient/lesion/timeseries tables, 1 core: {py / tables_s:,.0f} patient-years/s/core")
    t0 = time.perf_counter()
    simulate_tables(params, 1, 0, n, args.years, "bench", with_events=True)
    events_s = time.perf_counter() - t0
    print(f"engine + all tables incl. event log, 1 core: {py / events_s:,.0f} patient-years/s/core")

    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "bench.duckdb")
        config = CohortConfig(
            cancer=args.cancer,
            patients=args.patients,
            years=args.years,
            seed=1,
            chunk_size=args.chunk_size,
            workers=args.workers,
            events=False,
        )
        t0 = time.perf_counter()
        result = run_cohort(config, db=db, progress=False)
        wall = time.perf_counter() - t0
        size_mb = os.path.getsize(db) / 2**20
    print(
        f"stored cohort run, full model (DuckDB, no event log): {args.patients:,} patients from onset to death "
        f"or {args.years} y on {args.workers} workers in {wall:.1f} s = {args.patients / wall:,.0f} patients/s; "
        f"database {size_mb:.0f} MB; run {result.run_id}"
    )
    own, children = _peak_mb()
    print(f"peak resident memory: main process {own:,.0f} MB, largest worker {children:,.0f} MB")


if __name__ == "__main__":
    main()
