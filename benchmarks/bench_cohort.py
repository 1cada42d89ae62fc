"""Benchmark the cascade engine on the default colorectal cohort (not a test: it prints figures).

Prints patient-years simulated per second per core (engine alone, and engine plus result tables), the
wall time of a stored cohort run (default 100,000 patients x 20 years on 2 worker processes, as the
issue's floor asks), and peak memory. Usage:

    python benchmarks/bench_cohort.py [--patients 100000] [--years 20] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time

from metastasim.cohort.chunks import simulate_tables
from metastasim.cohort.run import CohortConfig, run_cohort
from metastasim.engine.chunk import simulate_chunk
from metastasim.engine.kernel_params import build_kernel_params
from metastasim.params.load import load_parameters


def _peak_mb() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cancer", default="colorectal")
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--years", type=int, default=20)
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
    t0 = time.perf_counter()
    out = simulate_chunk(P, 0, n, args.years)
    engine_s = time.perf_counter() - t0
    py = n * args.years
    print(
        f"engine alone, 1 core: {n} patients x {args.years} y in {engine_s:.2f} s = "
        f"{py / engine_s:,.0f} patient-years/s/core ({len(out.site) / n:.0f} lesions per patient, "
        f"{len(out.site) / engine_s:,.0f} lesions/s)"
    )
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
    total_py = args.patients * args.years
    print(
        f"stored cohort run (DuckDB, no event log): {args.patients:,} patients x {args.years} y on "
        f"{args.workers} workers in {wall:.1f} s = {total_py / wall:,.0f} patient-years/s "
        f"({total_py / wall / args.workers:,.0f} per core); database {size_mb:.0f} MB; run {result.run_id}"
    )
    own, children = _peak_mb()
    print(f"peak resident memory: main process {own:,.0f} MB, largest worker {children:,.0f} MB")


if __name__ == "__main__":
    main()
